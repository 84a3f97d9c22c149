//! `floe check [--repair] DIR`: verifies every snapshot and log segment of a data directory,
//! says what opening it would do, and (only when asked) repairs the log, like
//! `redis-check-aof --fix`.
//!
//! [`check`] reads every file and changes nothing: no truncation, and no lock file where
//! there is none (an existing one is locked for a moment, to learn whether a floe has the
//! directory open: then a temporary snapshot file may be one it is writing, and is reported
//! as skipped rather than as a problem). It reports
//! each snapshot (valid with its item count, or where and why it is damaged), each segment
//! (records, groups, LSN range, and its verdict from floe-core's recovery decision table:
//! clean, torn tail, torn group, corrupt, or written by a newer floe), leftover files, and
//! the outcome of a dry run of recovery: the very code [`crate::db::Db::open`] runs, with
//! nothing applied and nothing changed.
//!
//! With `repair`, it takes the directory's lock (so never while a floe has it open) and
//! repeats: dry-run recovery; if it would refuse at a point a cut can fix (damage in the log,
//! LSNs missing between segments), cut the segment there and set every later segment aside;
//! if it would succeed, cut the torn tails it would cut. Every action is listed in the report
//! with exactly what it drops (bytes, intact records and their LSNs), and nothing is thrown
//! away: cut bytes are saved next to the segment as `<segment>.dropped` and later segments
//! renamed to `<segment>.dropped` (recovery ignores both), so an operator can still look at
//! them. What a cut cannot fix (a damaged snapshot the log does not cover, a file of a newer
//! format version) is reported and left alone.
//!
//! Invariants: without `repair` nothing in the directory changes; with it, only log segments
//! are cut or renamed, each action after the previous one was durable (files synced, the
//! directory fsync'ed), and the number of rounds is bounded by the number of segments.
//!
//! Fault assumptions: as recovery's ([`crate::log::recovery`]); a crash during a repair
//! leaves a directory a second repair finishes.

use std::fmt;
use std::path::{Path, PathBuf};

use floe_core::codec::log::{ScanSummary, Verdict, scan};
use floe_core::codec::record::{LogRecord, RECORD_HEADER_SIZE};
use floe_core::codec::snapshot::{SnapshotDecodeError, header_field};

use crate::error::Error;
use crate::io::blocking::{BlockingStorage, LOCK_FILE_NAME};
use crate::io::{Clock, Storage, SystemClock};
use crate::log::recovery::{
    self, Listing, NoReplay, Options, RecoveryReport, Refusal, corruption_reason, snapshot_reason,
};
use crate::log::snapshot::{SnapshotReadError, snapshot_read};

/// Suffix of what a repair set aside: cut bytes, or whole segments after a cut.
pub const DROPPED_SUFFIX: &str = ".dropped";

/// Everything [`check`] found, and what a repair did.
#[derive(Debug)]
pub struct CheckReport {
    /// The data directory.
    pub dir: PathBuf,
    /// Every snapshot, oldest first.
    pub snapshots: Vec<SnapshotCheck>,
    /// Every log segment, in LSN order.
    pub segments: Vec<SegmentCheck>,
    /// Temporary snapshot files: leftovers (opening removes them), or, when `in_use`,
    /// possibly a snapshot being written right now.
    pub temps: Vec<String>,
    /// A floe process had the directory open (its lock was held) during the check: a
    /// temporary snapshot file may be one it is writing, and is not counted as a problem.
    pub in_use: bool,
    /// What opening the directory would do, before any repair.
    pub open: OpenOutcome,
    /// What `repair` did, if it was asked for.
    pub repair: Option<RepairReport>,
}

/// One snapshot's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotCheck {
    /// Its path.
    pub file: PathBuf,
    /// The LSN its name gives.
    pub lsn: u64,
    /// Its size in bytes.
    pub size: u64,
    /// Valid or not.
    pub status: SnapshotStatus,
}

/// Whether a snapshot validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotStatus {
    /// Every checksum and count agrees.
    Valid {
        /// Items in it.
        item_count: u64,
        /// Blocks in it.
        block_count: u32,
    },
    /// Damaged (or not a snapshot, or its header's LSN is not its name's).
    Damaged {
        /// Offset of the damage.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// Intact but of a format version this floe does not read.
    Unsupported {
        /// The version found.
        version: u32,
    },
}

/// One log segment's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentCheck {
    /// Its path.
    pub file: PathBuf,
    /// The first LSN its name gives.
    pub lsn_first: u64,
    /// Its size in bytes.
    pub size: u64,
    /// What the scanner found (verdict, counts, accepted size, last LSN).
    pub scan: ScanSummary,
    /// Whether the newest valid snapshot covers all of it (opening does not read it).
    pub covered: bool,
}

/// What opening the directory does.
#[derive(Debug)]
pub enum OpenOutcome {
    /// It opens; the dry run's report (torn tails it would cut included).
    Opens(RecoveryReport),
    /// It refuses with this error.
    Refuses(Error),
}

/// What a repair did.
#[derive(Debug)]
pub struct RepairReport {
    /// The actions, in order.
    pub actions: Vec<RepairAction>,
    /// What opening does after the repair.
    pub open: OpenOutcome,
}

/// One change a repair made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepairAction {
    /// A segment cut at `offset`; the bytes after it saved to `saved_to`.
    Cut {
        /// The segment.
        file: PathBuf,
        /// Its new size.
        offset: u64,
        /// Bytes dropped.
        size_dropped: u64,
        /// What they held.
        dropped: String,
        /// Where they were saved.
        saved_to: PathBuf,
    },
    /// A whole segment after a cut renamed aside.
    SetAside {
        /// The segment.
        file: PathBuf,
        /// Its new name.
        to: PathBuf,
        /// What it held.
        dropped: String,
    },
}

/// Checks the data directory `dir` with the blocking file backend and the system clock;
/// repairs the log if `repair` (see the module documentation).
///
/// # Errors
/// [`Error::Io`] if the directory cannot be listed or a file read, or (repair) changed;
/// [`Error::Locked`] if `repair` and a floe process has the directory open. Damage is not an
/// error: it is what the report is for.
pub fn check(dir: &Path, repair: bool) -> Result<CheckReport, Error> {
    check_with(&BlockingStorage::new(), &SystemClock::new(), dir, repair)
}

/// [`check`] over any storage and clock (the simulator's, a fault-injecting wrapper).
///
/// # Errors
/// As [`check`].
pub fn check_with(
    storage: &dyn Storage,
    clock: &dyn Clock,
    dir: &Path,
    repair: bool,
) -> Result<CheckReport, Error> {
    // A repair takes the lock itself (and fails while a floe has the directory open).
    let in_use = !repair && directory_in_use(storage, dir)?;
    let listing = Listing::read(storage, dir)?;
    let snapshots = check_snapshots(storage, dir, &listing)?;
    let base = snapshots
        .iter()
        .rev()
        .find(|snapshot| matches!(snapshot.status, SnapshotStatus::Valid { .. }))
        .map_or(0, |snapshot| snapshot.lsn);
    let segments = check_segments(storage, dir, &listing, base)?;
    let open = open_dry(storage, clock, dir)?;
    let repair = if repair {
        Some(repair_run(storage, clock, dir, listing.segments.len())?)
    } else {
        None
    };
    Ok(CheckReport {
        dir: dir.to_path_buf(),
        snapshots,
        segments,
        temps: listing.temps,
        in_use,
        open,
        repair,
    })
}

/// Whether a floe has `dir` open: its lock file exists and is locked. Checking takes the
/// lock for a moment only if it is free, and creates no lock file where there is none.
fn directory_in_use(storage: &dyn Storage, dir: &Path) -> Result<bool, Error> {
    if storage.size(&dir.join(LOCK_FILE_NAME)).is_err() {
        return Ok(false); // No lock file (or none readable): no floe holds it.
    }
    match storage.lock_dir(dir) {
        Ok(_lock) => Ok(false),
        Err(Error::Locked { .. }) => Ok(true),
        Err(error) => Err(error),
    }
}

impl CheckReport {
    /// Whether nothing at all was found: every file valid, no torn tail, no leftover, and the
    /// directory opens without cutting anything (as it was before any repair).
    #[must_use]
    pub fn is_clean(&self) -> bool {
        let snapshots_valid = self
            .snapshots
            .iter()
            .all(|snapshot| matches!(snapshot.status, SnapshotStatus::Valid { .. }));
        let segments_clean = self
            .segments
            .iter()
            .all(|segment| segment.scan.verdict.is_clean());
        let temps_clean = self.temps.is_empty() || self.in_use;
        snapshots_valid && segments_clean && temps_clean && opens_clean(&self.open)
    }

    /// Whether a repair ran and the directory now opens without cutting anything.
    #[must_use]
    pub fn is_repaired(&self) -> bool {
        self.repair
            .as_ref()
            .is_some_and(|repair| opens_clean(&repair.open))
    }
}

fn opens_clean(open: &OpenOutcome) -> bool {
    matches!(open, OpenOutcome::Opens(report)
        if report.cuts.is_empty() && report.snapshots_skipped.is_empty())
}

fn check_snapshots(
    storage: &dyn Storage,
    dir: &Path,
    listing: &Listing,
) -> Result<Vec<SnapshotCheck>, Error> {
    let mut checks = Vec::with_capacity(listing.snapshots.len());
    for (lsn, name) in &listing.snapshots {
        let file = dir.join(name);
        // A block at a time, as recovery reads it: memory holds one block.
        let mut block_count = 0;
        let checked = snapshot_read::<()>(storage, &file, &mut |_| {
            block_count += 1;
            Ok(())
        });
        let status = match checked {
            Ok(header) if header.lsn == *lsn => SnapshotStatus::Valid {
                item_count: header.item_count,
                block_count,
            },
            Ok(header) => SnapshotStatus::Damaged {
                offset: header_field::LSN.start as u64,
                reason: format!("its header says LSN {} but its name says {lsn}", header.lsn),
            },
            Err(SnapshotReadError::Invalid(error)) => match error.reason {
                SnapshotDecodeError::UnsupportedVersion(version) => {
                    SnapshotStatus::Unsupported { version }
                }
                reason => SnapshotStatus::Damaged {
                    offset: error.offset,
                    reason: snapshot_reason(reason),
                },
            },
            Err(SnapshotReadError::Io(error)) => return Err(error),
            Err(SnapshotReadError::Visit(())) => unreachable!("the visit never fails"),
        };
        let size = storage.size(&file)?;
        checks.push(SnapshotCheck {
            file,
            lsn: *lsn,
            size,
            status,
        });
    }
    Ok(checks)
}

fn check_segments(
    storage: &dyn Storage,
    dir: &Path,
    listing: &Listing,
    base: u64,
) -> Result<Vec<SegmentCheck>, Error> {
    let first_needed = listing.segment_first_needed(base);
    let mut checks = Vec::with_capacity(listing.segments.len());
    let mut lsn_previous = None;
    for (index, (lsn_first, name)) in listing.segments.iter().enumerate() {
        let file = dir.join(name);
        let bytes = storage.read(&file)?;
        let summary = scan(&bytes, lsn_previous);
        lsn_previous = summary.lsn_last;
        checks.push(SegmentCheck {
            file,
            lsn_first: *lsn_first,
            size: bytes.len() as u64,
            scan: summary,
            covered: index < first_needed,
        });
    }
    Ok(checks)
}

/// Recovery's dry run: what opening would do, changing nothing.
fn open_dry(storage: &dyn Storage, clock: &dyn Clock, dir: &Path) -> Result<OpenOutcome, Error> {
    let options = Options {
        load: false,
        change: false,
        progress: false,
    };
    let mut replay = NoReplay {
        now: clock.now_ms(),
    };
    match recovery::run(storage, clock, dir, &mut replay, options) {
        Ok(report) => Ok(OpenOutcome::Opens(report)),
        Err(refusal) => Ok(OpenOutcome::Refuses(refusal.into_error())),
    }
}

/// The repair loop; see the module documentation. `segment_count` bounds the rounds: each
/// round that does not end the loop sets at least one segment aside or cuts one shorter.
fn repair_run(
    storage: &dyn Storage,
    clock: &dyn Clock,
    dir: &Path,
    segment_count: usize,
) -> Result<RepairReport, Error> {
    let _lock = storage.lock_dir(dir)?;
    let options = Options {
        load: false,
        change: false,
        progress: false,
    };
    let mut actions = Vec::new();
    for _ in 0..segment_count.saturating_mul(2) + 2 {
        let mut replay = NoReplay {
            now: clock.now_ms(),
        };
        match recovery::run(storage, clock, dir, &mut replay, options) {
            Ok(report) => {
                if report.cuts.is_empty() {
                    break;
                }
                for cut in &report.cuts {
                    actions.extend(repair_cut(storage, dir, &cut.file, cut.offset)?);
                }
            }
            Err(Refusal::Cut { file, offset, .. }) => {
                actions.extend(repair_cut(storage, dir, &file, offset)?);
                repair_set_aside_after(storage, dir, &file, &mut actions)?;
            }
            Err(Refusal::Fatal(_)) => break,
        }
    }
    let open = open_dry(storage, clock, dir)?;
    Ok(RepairReport { actions, open })
}

/// Cuts `file` at `offset`, saving the cut bytes first; nothing if there is nothing after
/// `offset`.
fn repair_cut(
    storage: &dyn Storage,
    dir: &Path,
    file: &Path,
    offset: u64,
) -> Result<Option<RepairAction>, Error> {
    let bytes = storage.read_range(file, offset, u64::MAX)?;
    if bytes.is_empty() {
        return Ok(None);
    }
    let saved_to = aside_path(storage, dir, file)?;
    let mut saved = storage.open_append(&saved_to)?;
    saved.write_at_and_sync(0, &bytes)?;
    drop(saved);
    storage.sync_dir(dir)?;
    storage.truncate(file, offset)?;
    Ok(Some(RepairAction::Cut {
        file: file.to_path_buf(),
        offset,
        size_dropped: bytes.len() as u64,
        dropped: describe_dropped(&bytes),
        saved_to,
    }))
}

/// Renames every segment after `file` aside.
fn repair_set_aside_after(
    storage: &dyn Storage,
    dir: &Path,
    file: &Path,
    actions: &mut Vec<RepairAction>,
) -> Result<(), Error> {
    let listing = Listing::read(storage, dir)?;
    let name = file
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("");
    let mut renamed = false;
    for (_, later) in listing
        .segments
        .iter()
        .filter(|(_, later)| later.as_str() > name)
    {
        let path = dir.join(later);
        let bytes = storage.read(&path)?;
        let to = aside_path(storage, dir, &path)?;
        storage.rename(&path, &to)?;
        renamed = true;
        actions.push(RepairAction::SetAside {
            file: path,
            to,
            dropped: describe_dropped(&bytes),
        });
    }
    if renamed {
        storage.sync_dir(dir)?;
    }
    Ok(())
}

/// `<file>.dropped`, or `<file>.dropped.<n>` if that exists.
fn aside_path(storage: &dyn Storage, dir: &Path, file: &Path) -> Result<PathBuf, Error> {
    let name = file
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("segment");
    let names = storage.list(dir)?;
    let base = format!("{name}{DROPPED_SUFFIX}");
    let mut candidate = base.clone();
    let mut counter = 0u32;
    while names.contains(&candidate) {
        counter += 1;
        candidate = format!("{base}.{counter}");
    }
    Ok(dir.join(candidate))
}

/// What dropped log bytes hold: how many intact records (found by searching past damage)
/// and their LSNs.
fn describe_dropped(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "nothing".to_owned();
    }
    let mut record_count: u64 = 0;
    let mut lsn_range: Option<(u64, u64)> = None;
    let mut offset = 0;
    let header_size = RECORD_HEADER_SIZE as usize;
    // Each step advances by a record or by one byte, so this ends within `bytes.len()` steps.
    while offset + header_size <= bytes.len() {
        match LogRecord::decode_bytes(&bytes[offset..]) {
            Ok((record, size)) => {
                record_count += 1;
                lsn_range = Some(lsn_range.map_or((record.lsn, record.lsn), |(low, high)| {
                    (low.min(record.lsn), high.max(record.lsn))
                }));
                offset += size as usize;
            }
            Err(_) => offset += 1,
        }
    }
    match lsn_range {
        Some((low, high)) => {
            format!("holding {record_count} intact record(s), LSNs {low} to {high}")
        }
        None => "holding no intact record".to_owned(),
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "floe check `{}`", self.dir.display())?;
        writeln!(f, "snapshots: {}", self.snapshots.len())?;
        for snapshot in &self.snapshots {
            write!(
                f,
                "  {}  LSN {}  {} bytes  ",
                file_name(&snapshot.file),
                snapshot.lsn,
                snapshot.size
            )?;
            match &snapshot.status {
                SnapshotStatus::Valid {
                    item_count,
                    block_count,
                } => writeln!(f, "valid: {item_count} items in {block_count} blocks")?,
                SnapshotStatus::Damaged { offset, reason } => {
                    writeln!(f, "DAMAGED at offset {offset}: {reason}")?;
                }
                SnapshotStatus::Unsupported { version } => writeln!(
                    f,
                    "format version {version}, newer than this floe reads: use a newer floe"
                )?,
            }
        }
        writeln!(f, "log segments: {}", self.segments.len())?;
        for segment in &self.segments {
            write_segment(f, segment)?;
        }
        if self.in_use {
            writeln!(
                f,
                "in use: a floe process has this directory open; what it is writing may look \
                 unfinished"
            )?;
            // The check cannot see the running floe's memory, so it cannot tell a write in
            // flight from one that failed and poisoned the log; it says where to look.
            writeln!(
                f,
                "if that floe refuses writes, `INFO persistence` (floe_writes_refused) says \
                 why: stop it, make room on the disk or fix it, and start it again; opening \
                 cuts an unfinished last record and keeps every acknowledged write"
            )?;
        }
        for temp in &self.temps {
            if self.in_use {
                writeln!(
                    f,
                    "skipped: {temp} (a snapshot the running floe may be writing now)"
                )?;
            } else {
                writeln!(
                    f,
                    "leftover: {temp} (an unfinished snapshot; opening removes it)"
                )?;
            }
        }
        match &self.open {
            OpenOutcome::Opens(report) => writeln!(f, "open: would succeed: {report}")?,
            OpenOutcome::Refuses(error) => writeln!(f, "open: would REFUSE: {error}")?,
        }
        if let Some(repair) = &self.repair {
            writeln!(f, "repair: {} action(s)", repair.actions.len())?;
            for action in &repair.actions {
                match action {
                    RepairAction::Cut {
                        file,
                        offset,
                        size_dropped,
                        dropped,
                        saved_to,
                    } => writeln!(
                        f,
                        "  cut {} at offset {offset}: dropped {size_dropped} bytes ({dropped}), \
                         saved to {}",
                        file_name(file),
                        file_name(saved_to)
                    )?,
                    RepairAction::SetAside { file, to, dropped } => writeln!(
                        f,
                        "  set {} aside as {} ({dropped}): its records come after the cut",
                        file_name(file),
                        file_name(to)
                    )?,
                }
            }
            match &repair.open {
                OpenOutcome::Opens(report) => writeln!(f, "after repair: opens: {report}")?,
                OpenOutcome::Refuses(error) => {
                    writeln!(
                        f,
                        "after repair: still REFUSES (not repairable here): {error}"
                    )?;
                }
            }
        }
        let verdict = if self.is_clean() {
            "clean"
        } else if self.is_repaired() {
            "repaired"
        } else {
            "PROBLEMS FOUND"
        };
        write!(f, "result: {verdict}")
    }
}

fn write_segment(f: &mut fmt::Formatter<'_>, segment: &SegmentCheck) -> fmt::Result {
    let summary = &segment.scan;
    write!(
        f,
        "  {}  {} bytes  {} records, {} groups ({} records)",
        file_name(&segment.file),
        segment.size,
        summary.record_count,
        summary.group_count,
        summary.intent_count
    )?;
    if let Some(lsn_last) = summary.lsn_last
        && summary.accepted_size > 0
    {
        write!(f, ", LSNs {} to {lsn_last}", segment.lsn_first)?;
    }
    if segment.covered {
        f.write_str(" (covered by the snapshot)")?;
    }
    f.write_str(": ")?;
    match summary.verdict {
        Verdict::Clean { end } if end < segment.size => writeln!(
            f,
            "clean, then {} zero bytes (preallocated space)",
            segment.size - end
        ),
        Verdict::Clean { .. } => writeln!(f, "clean"),
        Verdict::TornTail { offset, error } => writeln!(
            f,
            "TORN TAIL at offset {offset} ({} bytes: {error}); opening cuts it",
            segment.size - offset
        ),
        Verdict::TornGroup {
            offset,
            lsn_first,
            record_count,
        } => writeln!(
            f,
            "TORN GROUP at offset {offset}: {record_count} intent(s) from LSN {lsn_first} \
             without a commit; opening drops it"
        ),
        Verdict::Corrupt { offset, reason } => writeln!(
            f,
            "CORRUPT at offset {offset}: {}",
            corruption_reason(reason)
        ),
        Verdict::Unsupported { offset, error } => {
            writeln!(f, "at offset {offset}: {error}: written by a newer floe")
        }
        other => writeln!(f, "{other:?}"),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}
