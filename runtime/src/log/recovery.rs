//! Recovery: rebuilds the store from a data directory at start, from the newest valid
//! snapshot and the log records above it.
//!
//! The steps, and the decision at each (the per-record decisions are floe-core's recovery
//! decision table, `docs/FORMAT.md`, applied by [`LogScanner`]):
//!
//! 1. **Snapshot.** Snapshots are tried newest first. The first that validates whole
//!    (`SnapshotView::new_checked`: every checksum, count and index) and whose header LSN
//!    matches its name is the base, `B`; with none, `B = 0` (the empty store). A damaged
//!    snapshot is skipped only if the log still covers what it held: the log must hold every
//!    LSN from `B + 1` through the damaged snapshot's LSN. Otherwise recovery refuses: the
//!    data exists nowhere else, and floe never silently loses it. A snapshot of a newer
//!    format version is never skipped: recovery refuses and names it.
//! 2. **Log.** Segments are read in LSN order (their names), skipping those whose records
//!    are all at or below `B`. Records at or below `B` are skipped; the others are applied in
//!    LSN order, a group only whole and only once its commit record is read. LSNs are dense
//!    (the writer hands them out one by one), so a jump above `max(B, last LSN)` + 1 means
//!    records are missing: recovery refuses, naming where.
//! 3. **Torn tails.** A segment ending in an incomplete record, or a damaged record with
//!    nothing intact after it, or intents without their commit, is what a crash leaves:
//!    the tail is cut at the last whole record or group, and reported (stderr and the
//!    [`RecoveryReport`]). If records follow in a later segment without a gap (the cut LSNs
//!    are covered by the snapshot), the cut is harmless there too; with a gap, recovery
//!    refuses (only the newest segment can be torn by a crash under `always`/`everysec`,
//!    which sync before starting a new segment).
//! 4. **Corruption.** A damaged record with intact records after it, an impossible record
//!    (checksum fine, fields invalid), or LSNs going backwards: recovery refuses with
//!    [`Error::Corrupt`] naming the file and offset; `floe check --repair <dir>` cuts there
//!    when the user asks. An intact record of a newer format version or an unknown kind:
//!    recovery refuses and names it, and never suggests cutting it.
//! 5. **Changes**, only once recovery has succeeded: torn tails are truncated (durably),
//!    empty segments and leftover temporary snapshot files removed, the directory fsync'ed.
//!    A refusal changes nothing on disk.
//!
//! Invariants: nothing that failed its checksum is applied; a group is applied whole or
//! not at all; records are applied in strictly increasing LSN order; the LSN reported as
//! last is at least every LSN on disk that was read and at least `B`, so the writer that
//! continues from it never reuses an LSN.
//!
//! Fault assumptions: as in [`crate::io`] and `docs/FORMAT.md`: a crash leaves any prefix of
//! unsynced writes; bits may flip anywhere; files may be truncated. Recovery reads a snapshot a
//! block at a time, twice (check whole, then load), and a log segment whole (at most the
//! configured segment size plus one batch).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use floe_core::codec::log::Corruption;
use floe_core::codec::record::{
    DecodeError, GROUP_RECORD_COUNT_MAX, RECORD_VERSION, Record, Timestamp,
};
use floe_core::codec::snapshot::{
    SNAPSHOT_VERSION, SnapshotDecodeError, SnapshotError, SnapshotHeader, header_field,
};
use floe_core::error::StoreError;
use floe_core::store::Shards;

use crate::error::{Error, Operation};
use crate::io::{Clock, Storage};
use crate::log::segment_file_lsn;
use crate::log::snapshot::{SnapshotReadError, is_snapshot_temp, snapshot_file_lsn, snapshot_read};

mod replay;

use replay::LogReplay;

/// Bytes of a log segment read at a time: recovery's memory for the log, whatever the
/// segment size (a window is longer only while one entry, or damage that what follows
/// must judge, runs past it).
const LOG_READ_WINDOW_SIZE: u64 = 1 << 20;
/// Records between two looks at the clock for progress lines.
const PROGRESS_RECORD_STRIDE: u64 = 1 << 12;
/// Recovery reports progress once it has run this long, and then this often.
const PROGRESS_INTERVAL_NS: u64 = 1_000_000_000;

/// What recovery found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The data directory.
    pub dir: PathBuf,
    /// The snapshot loaded, if any.
    pub snapshot: Option<SnapshotLoaded>,
    /// Newer snapshots that were damaged and skipped (the log covered them).
    pub snapshots_skipped: Vec<SnapshotSkipped>,
    /// Log segments read.
    pub segment_count: u64,
    /// Standalone records applied.
    pub record_count: u64,
    /// Committed groups applied.
    pub group_count: u64,
    /// Records inside the applied groups.
    pub intent_count: u64,
    /// Records (and groups) read but skipped because the snapshot already held them.
    pub skipped_count: u64,
    /// Bytes of snapshot and log read.
    pub byte_count: u64,
    /// Bytes of log segments read (the part of `byte_count` a new snapshot would compact).
    pub log_byte_count: u64,
    /// Torn tails cut off.
    pub cuts: Vec<TornCut>,
    /// Files removed: empty segments and leftover temporary snapshots.
    pub removed: Vec<String>,
    /// The last LSN in use: the snapshot's, or the last record's if above it. The log
    /// continues from the next one.
    pub lsn_last: u64,
    /// How long recovery took.
    pub duration: Duration,
    /// Progress lines printed on stderr (recovery took longer than a second).
    pub progress_line_count: u64,
}

/// The snapshot recovery started from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotLoaded {
    /// Its path.
    pub file: PathBuf,
    /// Every change up to this LSN is in it.
    pub lsn: u64,
    /// Items in the file.
    pub item_count: u64,
    /// Items that had expired by the time they were loaded, and were left out.
    pub expired_count: u64,
}

/// A damaged snapshot recovery skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotSkipped {
    /// Its path.
    pub file: PathBuf,
    /// The LSN its name gives.
    pub lsn: u64,
    /// Offset of the damage.
    pub offset: u64,
    /// What is wrong.
    pub reason: String,
}

/// A torn tail cut off a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornCut {
    /// The segment.
    pub file: PathBuf,
    /// Where it was cut: its new size.
    pub offset: u64,
    /// Bytes dropped.
    pub size_dropped: u64,
    /// What the dropped bytes were.
    pub what: String,
}

/// Rebuilds the `stores` (a keyspace's shards, or one store) from the data directory `dir` (see the module documentation) and makes
/// the directory ready for a log writer starting at `report.lsn_last + 1`. The caller holds
/// the directory's lock.
///
/// Prints a line on stderr for each torn tail cut (as it is cut) and damaged snapshot
/// skipped, and progress lines when recovery takes longer than a second.
///
/// # Errors
/// [`Error::Corrupt`] for damage recovery must not guess about (file and offset named; the
/// message points to `floe check --repair`), [`Error::Io`] for a failed read, truncate or
/// remove, for a file of a newer format version ([`io::ErrorKind::Unsupported`]), and for
/// data that does not fit the store ([`io::ErrorKind::OutOfMemory`]). Nothing on disk has
/// changed when recovery refuses.
pub fn recover(
    storage: &dyn Storage,
    clock: &dyn Clock,
    dir: &Path,
    stores: &mut dyn Shards<'_>,
) -> Result<RecoveryReport, Error> {
    let now = clock.now_ms();
    let mut replay = StoreReplay { stores, now };
    let options = Options {
        load: true,
        change: true,
        progress: true,
    };
    let report =
        run(storage, clock, dir, &mut replay, options).map_err(|refusal| match refusal {
            Refusal::Cut {
                error:
                    Error::Corrupt {
                        file,
                        offset,
                        reason,
                    },
                ..
            } => Error::Corrupt {
                file,
                offset,
                reason: format!(
                    "{reason}. `floe check {dir}` lists what `floe check --repair {dir}` would cut",
                    dir = dir.display()
                ),
            },
            other => other.into_error(),
        })?;
    // Parts of large collections that replay found expired and no later record brought
    // back (`Store::remove_expired`).
    for shard in 0..stores.count() {
        stores.store(shard).parts_collect(now);
    }
    for skipped in &report.snapshots_skipped {
        tracing::warn!(
            "recovery skipped damaged snapshot `{}` (offset {}: {}); the log covers it",
            skipped.file.display(),
            skipped.offset,
            skipped.reason
        );
    }
    Ok(report)
}

/// Where recovery sends what it reads: a store, or nothing (a dry run).
pub(crate) trait Replay {
    /// Applies one record, in LSN order.
    fn apply(&mut self, record: &Record<'_>) -> Result<(), StoreError>;
    /// The time expiries are compared with.
    fn now(&self) -> Timestamp;
}

/// Replays into a keyspace's shards: a record naming a key to the key's shard, a FLUSH or
/// SWAPDB to every shard (each shard holds its part of every database).
struct StoreReplay<'r, 's> {
    stores: &'r mut dyn Shards<'s>,
    now: Timestamp,
}

impl Replay for StoreReplay<'_, '_> {
    fn apply(&mut self, record: &Record<'_>) -> Result<(), StoreError> {
        match record.route_key() {
            Some(key) => self.stores.store_for(key).apply(record, self.now),
            None => (0..self.stores.count())
                .try_for_each(|shard| self.stores.store(shard).apply(record, self.now)),
        }
    }

    fn now(&self) -> Timestamp {
        self.now
    }
}

/// Replays into nothing: a dry run that only validates and decides (`floe check`).
pub(crate) struct NoReplay {
    pub(crate) now: Timestamp,
}

impl Replay for NoReplay {
    fn apply(&mut self, _record: &Record<'_>) -> Result<(), StoreError> {
        Ok(())
    }

    fn now(&self) -> Timestamp {
        self.now
    }
}

/// How [`run`] runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    /// Load the snapshot's items into the replay target (a dry run only validates them).
    pub(crate) load: bool,
    /// Cut torn tails and remove leftovers once recovery succeeded.
    pub(crate) change: bool,
    /// Print progress lines when recovery takes longer than a second.
    pub(crate) progress: bool,
}

/// Why recovery refuses.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The log is damaged at `file`; cutting it at `offset` and setting every later segment
    /// aside would let recovery go on (what `floe check --repair` does, when asked).
    Cut {
        file: PathBuf,
        offset: u64,
        error: Error,
    },
    /// Nothing a cut can fix: an I/O error, a newer format, a damaged snapshot the log does
    /// not cover, data that does not fit.
    Fatal(Error),
}

impl Refusal {
    pub(crate) fn into_error(self) -> Error {
        match self {
            Self::Cut { error, .. } | Self::Fatal(error) => error,
        }
    }
}

impl From<Error> for Refusal {
    fn from(error: Error) -> Self {
        Self::Fatal(error)
    }
}

/// The files of a data directory that recovery cares about, sorted by LSN.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    /// `(first LSN, name)` of every log segment, ascending.
    pub(crate) segments: Vec<(u64, String)>,
    /// `(LSN, name)` of every snapshot, ascending.
    pub(crate) snapshots: Vec<(u64, String)>,
    /// Leftover temporary snapshot files.
    pub(crate) temps: Vec<String>,
}

impl Listing {
    pub(crate) fn read(storage: &dyn Storage, dir: &Path) -> Result<Self, Error> {
        let mut listing = Self::default();
        for name in storage.list(dir)? {
            if let Some(lsn) = segment_file_lsn(&name) {
                listing.segments.push((lsn, name));
            } else if let Some(lsn) = snapshot_file_lsn(&name) {
                listing.snapshots.push((lsn, name));
            } else if is_snapshot_temp(&name) {
                listing.temps.push(name);
            }
        }
        listing.segments.sort_unstable();
        listing.snapshots.sort_unstable();
        Ok(listing)
    }

    /// Index of the first segment that may hold a record above `lsn`: segment `k` holds LSNs
    /// below the first LSN of segment `k + 1`.
    pub(crate) fn segment_first_needed(&self, lsn: u64) -> usize {
        let segments = &self.segments;
        (0..segments.len())
            .find(|&index| {
                segments
                    .get(index + 1)
                    .is_none_or(|(next_first, _)| *next_first > lsn.saturating_add(1))
            })
            .unwrap_or(segments.len())
    }
}

/// Recovery proper; see the module documentation. `replay` receives the snapshot's items
/// (as `Set` records, if `options.load`) and then the log's records.
pub(crate) fn run(
    storage: &dyn Storage,
    clock: &dyn Clock,
    dir: &Path,
    replay: &mut dyn Replay,
    options: Options,
) -> Result<RecoveryReport, Refusal> {
    run_windowed(storage, clock, dir, replay, options, LOG_READ_WINDOW_SIZE)
}

/// [`run`], reading log segments `window_size` bytes at a time (tests use tiny windows).
fn run_windowed(
    storage: &dyn Storage,
    clock: &dyn Clock,
    dir: &Path,
    replay: &mut dyn Replay,
    options: Options,
    window_size: u64,
) -> Result<RecoveryReport, Refusal> {
    assert!(window_size > 0, "window_size=0");
    let started_ns = clock.monotonic_ns();
    let listing = Listing::read(storage, dir)?;
    let mut report = RecoveryReport {
        dir: dir.to_path_buf(),
        ..RecoveryReport::default()
    };
    let mut progress = Progress::new(clock, options.progress, dir);
    progress.byte_total = byte_total(storage, dir, &listing)?;

    let base = recover_snapshot(
        storage,
        dir,
        &listing,
        replay,
        options,
        &mut report,
        &mut progress,
    )?;
    progress.add_bytes(report.byte_count);
    let first_needed = listing.segment_first_needed(base);
    if let Some((first, name)) = listing.segments.get(first_needed)
        && *first > base.saturating_add(1)
    {
        return Err(Refusal::Fatal(missing_before(
            dir, &report, base, *first, name,
        )));
    }
    if listing.segments.is_empty()
        && let Some(skipped) = report.snapshots_skipped.first()
    {
        return Err(Refusal::Fatal(snapshot_uncovered(
            skipped,
            "the log holds no records",
        )));
    }

    let mut log = LogReplay {
        base,
        lsn_last: base,
        lsn_scan_previous: None,
        previous: None,
        window_size,
    };
    let mut empty: Vec<String> = Vec::new();
    for (first, name) in &listing.segments[first_needed..] {
        let path = dir.join(name);
        let (accepted, size_read) =
            log.segment(storage, &path, *first, replay, &mut report, &mut progress)?;
        report.segment_count += 1;
        report.byte_count += size_read;
        report.log_byte_count += size_read;
        progress.add_bytes(size_read);
        if accepted == 0 {
            empty.push(name.clone());
        }
    }
    // Empty segments the listing put before the needed ones are covered, and harmless.
    if let Some(skipped) = report
        .snapshots_skipped
        .iter()
        .find(|skipped| skipped.lsn > log.lsn_last)
    {
        let log_holds = if log.lsn_last > base {
            format!("the log ends at LSN {}", log.lsn_last)
        } else {
            format!("the log holds no records after LSN {base}")
        };
        return Err(Refusal::Fatal(snapshot_uncovered(skipped, &log_holds)));
    }
    report.lsn_last = log.lsn_last;

    if options.change {
        recover_change(storage, dir, &listing, &empty, &mut report)?;
    }
    report.duration = Duration::from_nanos(clock.monotonic_ns().saturating_sub(started_ns));
    progress.finish(&mut report);
    Ok(report)
}

/// Step 1: finds the newest valid snapshot, loads it, and returns its LSN (0 without one).
fn recover_snapshot(
    storage: &dyn Storage,
    dir: &Path,
    listing: &Listing,
    replay: &mut dyn Replay,
    options: Options,
    report: &mut RecoveryReport,
    progress: &mut Progress<'_>,
) -> Result<u64, Refusal> {
    for (lsn, name) in listing.snapshots.iter().rev() {
        let path = dir.join(name);
        // Checked whole before anything is loaded (a snapshot is never half-loaded), a block
        // at a time: memory holds one block, whatever the snapshot's size.
        let checked = snapshot_read::<Error>(storage, &path, &mut |_| Ok(()));
        let header = match checked {
            Ok(header) if header.lsn == *lsn => header,
            Ok(header) => {
                report.snapshots_skipped.push(SnapshotSkipped {
                    file: path,
                    lsn: *lsn,
                    offset: header_field::LSN.start as u64,
                    reason: format!("its header says LSN {} but its name says {lsn}", header.lsn),
                });
                continue;
            }
            Err(SnapshotReadError::Invalid(SnapshotError {
                offset,
                reason: SnapshotDecodeError::UnsupportedVersion(version),
            })) => {
                let message = format!(
                    "at offset {offset}: snapshot format version {version}, but this floe \
                     reads version {SNAPSHOT_VERSION}: a newer floe wrote it; open the \
                     directory with that floe (nothing was changed)"
                );
                return Err(Refusal::Fatal(unsupported(&path, message)));
            }
            Err(SnapshotReadError::Invalid(error)) => {
                report.snapshots_skipped.push(SnapshotSkipped {
                    file: path,
                    lsn: *lsn,
                    offset: error.offset,
                    reason: snapshot_reason(error.reason),
                });
                continue;
            }
            Err(SnapshotReadError::Io(error) | SnapshotReadError::Visit(error)) => {
                return Err(Refusal::Fatal(error));
            }
        };
        let size = storage.size(&path)?;
        let mut expired_count = 0;
        if options.load {
            snapshot_load(
                storage,
                &path,
                header,
                size,
                replay,
                progress,
                &mut expired_count,
            )?;
        }
        report.byte_count += size;
        report.snapshot = Some(SnapshotLoaded {
            file: path,
            lsn: header.lsn,
            item_count: header.item_count,
            expired_count,
        });
        return Ok(header.lsn);
    }
    Ok(0)
}

/// Step 1's second read: the checked snapshot's items into `replay`, a block at a time.
fn snapshot_load(
    storage: &dyn Storage,
    path: &Path,
    header: SnapshotHeader,
    size: u64,
    replay: &mut dyn Replay,
    progress: &mut Progress<'_>,
    expired_count: &mut u64,
) -> Result<(), Refusal> {
    let now = replay.now();
    let mut index = 0u64;
    let loaded = snapshot_read(storage, path, &mut |block| {
        for item in block.items() {
            index += 1;
            progress.tick("items", index, size * index / header.item_count.max(1));
            if item.expires_at != 0 && item.expires_at <= now {
                *expired_count += 1;
                continue;
            }
            let record = Record::Set {
                db: item.db,
                key: item.key,
                value: item.value,
                expires_at: item.expires_at,
                value_kind: item.kind,
            };
            replay.apply(&record).map_err(|error| {
                does_not_fit(path, format!("item {index} of the snapshot"), error)
            })?;
        }
        Ok(())
    });
    match loaded {
        Ok(_) => Ok(()),
        Err(SnapshotReadError::Io(error) | SnapshotReadError::Visit(error)) => {
            Err(Refusal::Fatal(error))
        }
        // It checked whole a moment ago, and the directory is locked: something else
        // changed it. Half of it may be loaded, so refuse rather than go on.
        Err(SnapshotReadError::Invalid(error)) => Err(Refusal::Fatal(corrupt(
            path,
            error.offset,
            format!(
                "{} on the second read, after the first found the snapshot whole: is \
                 something else writing to the directory?",
                snapshot_reason(error.reason)
            ),
        ))),
    }
}

/// Step 5: truncates torn tails, removes empty segments and leftover temporary snapshots.
fn recover_change(
    storage: &dyn Storage,
    dir: &Path,
    listing: &Listing,
    empty: &[String],
    report: &mut RecoveryReport,
) -> Result<(), Error> {
    for cut in &report.cuts {
        storage.truncate(&cut.file, cut.offset)?;
        // Said as each cut is made, so that a recovery failing after it (a later truncate,
        // the log writer's open) still leaves the line behind.
        tracing::warn!(
            "recovery cut a torn tail off `{}` at offset {} ({} bytes: {})",
            cut.file.display(),
            cut.offset,
            cut.size_dropped,
            cut.what
        );
    }
    let mut removed = Vec::new();
    for name in empty.iter().chain(&listing.temps) {
        storage.remove(&dir.join(name))?;
        removed.push(name.clone());
    }
    if !removed.is_empty() {
        storage.sync_dir(dir)?;
    }
    report.removed = removed;
    Ok(())
}

/// Bytes recovery will read at most: the newest snapshot and every segment.
fn byte_total(storage: &dyn Storage, dir: &Path, listing: &Listing) -> Result<u64, Error> {
    let mut total = 0;
    if let Some((_, name)) = listing.snapshots.last() {
        total += storage.size(&dir.join(name))?;
    }
    for (_, name) in &listing.segments {
        total += storage.size(&dir.join(name))?;
    }
    Ok(total)
}

/// Progress lines on stderr for recoveries longer than a second.
struct Progress<'c> {
    clock: &'c dyn Clock,
    enabled: bool,
    dir: PathBuf,
    started_ns: u64,
    report_next_ns: u64,
    line_count: u64,
    byte_total: u64,
    /// Bytes of whole files done; the current segment's offset is added to it.
    byte_done: u64,
    /// Calls to `tick`: the clock is read every `PROGRESS_RECORD_STRIDE` of them.
    tick_count: u64,
}

impl<'c> Progress<'c> {
    fn new(clock: &'c dyn Clock, enabled: bool, dir: &Path) -> Self {
        let started_ns = clock.monotonic_ns();
        Self {
            clock,
            enabled,
            dir: dir.to_path_buf(),
            started_ns,
            report_next_ns: started_ns.saturating_add(PROGRESS_INTERVAL_NS),
            line_count: 0,
            byte_total: 0,
            byte_done: 0,
            tick_count: 0,
        }
    }

    fn add_bytes(&mut self, size: u64) {
        self.byte_done += size;
    }

    /// Called after each record (or snapshot item) with how many were done so far and the
    /// offset reached in the current file; looks at the clock every few thousand.
    fn tick(&mut self, what: &str, done_count: u64, offset: u64) {
        self.tick_count += 1;
        if !self.enabled || !self.tick_count.is_multiple_of(PROGRESS_RECORD_STRIDE) {
            return;
        }
        let now_ns = self.clock.monotonic_ns();
        if now_ns < self.report_next_ns {
            return;
        }
        self.report_next_ns = now_ns.saturating_add(PROGRESS_INTERVAL_NS);
        self.line_count += 1;
        let seconds = seconds(now_ns.saturating_sub(self.started_ns));
        let done = self.byte_done + offset;
        tracing::info!(
            "recovering `{}`: {:.0}% of {:.1} MiB, {done_count} {what} at {:.0} {what}/s",
            self.dir.display(),
            percent(done, self.byte_total),
            mib(self.byte_total),
            done_count as f64 / seconds.max(1e-9),
        );
    }

    fn finish(&self, report: &mut RecoveryReport) {
        report.progress_line_count = self.line_count;
        if self.line_count > 0 {
            tracing::info!("{report}");
        }
    }
}

/// `part / whole` in percent (100 for an empty whole).
fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        100.0
    } else {
        (part as f64 * 100.0 / whole as f64).min(100.0)
    }
}

fn mib(size: u64) -> f64 {
    size as f64 / f64::from(1u32 << 20)
}

fn seconds(ns: u64) -> f64 {
    ns as f64 / 1e9
}

fn corrupt(file: &Path, offset: u64, reason: String) -> Error {
    Error::Corrupt {
        file: file.to_path_buf(),
        offset,
        reason,
    }
}

/// A file of a newer format: reported as an unsupported read, so the message never
/// suggests cutting data a newer floe can read.
fn unsupported(file: &Path, message: String) -> Error {
    Error::io(
        Operation::Read,
        file,
        io::Error::new(io::ErrorKind::Unsupported, message),
    )
}

/// The refusal when the recovered data does not fit the store. Recovery never evicts to
/// make it fit (the log already says which keys exist), so it names the setting to raise.
fn does_not_fit(file: &Path, what: String, error: StoreError) -> Error {
    if error == StoreError::CollectionInvalid {
        // An intact record or item whose compact collection does not parse: a writer's
        // bug or a forged file, not a size problem. Refused, never loaded in part.
        return Error::io(
            Operation::Read,
            file,
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{what} ({}): it says it holds a compact collection (a hash) whose \
                     encoding does not parse; recovery refuses it rather than load part of \
                     it (nothing was changed)",
                    error.message()
                ),
            ),
        );
    }
    let why = match error {
        StoreError::OutOfMemory => {
            "the recovered data does not fit the store's item memory (memory_size, the CLI's \
             --maxmemory)"
        }
        StoreError::KeysFull => {
            "the recovered data holds more keys than the store's table (keys_max, the CLI's \
             --max-keys)"
        }
        StoreError::KeyTooLarge | StoreError::ValueTooLarge => {
            "a key or value is larger than the store allows (key_size_max, value_size_max; \
             the CLI sizes them from --maxmemory)"
        }
        _ => "the store refused it",
    };
    Error::io(
        Operation::Read,
        file,
        io::Error::new(
            io::ErrorKind::OutOfMemory,
            format!(
                "{what} ({}): {why}; recovery never evicts or drops data to make it fit: open \
                 again with a larger setting (nothing was changed)",
                error.message()
            ),
        ),
    )
}

fn does_not_fit_record(file: &Path, offset: u64, lsn: u64, error: StoreError) -> Refusal {
    Refusal::Fatal(does_not_fit(
        file,
        format!("at offset {offset}: record LSN {lsn}"),
        error,
    ))
}

/// The refusal when the first segment needed starts above `base + 1`.
fn missing_before(dir: &Path, report: &RecoveryReport, base: u64, first: u64, name: &str) -> Error {
    if let Some(skipped) = report.snapshots_skipped.first() {
        let log_holds = format!(
            "the log starts at LSN {first}, so LSNs {} to {} exist nowhere else",
            base + 1,
            first - 1
        );
        return snapshot_uncovered(skipped, &log_holds);
    }
    let from = if report.snapshot.is_some() {
        format!("the snapshot covers LSNs up to {base}")
    } else {
        "there is no snapshot".to_owned()
    };
    corrupt(
        &dir.join(name),
        0,
        format!(
            "the log starts at LSN {first} but {from}: LSNs {} to {} are missing (a segment \
             or snapshot was deleted?); restore them from a backup",
            base + 1,
            first - 1
        ),
    )
}

/// The refusal when a damaged snapshot holds LSNs the log no longer has; `log_holds` says
/// what the log does hold. Not [`Error::Corrupt`], whose advice is to cut the log: no cut
/// brings those changes back, so the message says only what can (a backup).
fn snapshot_uncovered(skipped: &SnapshotSkipped, log_holds: &str) -> Error {
    Error::io(
        Operation::Read,
        &skipped.file,
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the snapshot is damaged at offset {} ({}), and it alone held the changes up \
                 to LSN {}: {log_holds}. No repair can rebuild them; restore this snapshot \
                 from a backup (nothing was changed)",
                skipped.offset, skipped.reason, skipped.lsn
            ),
        ),
    )
}

/// A phrase for a [`SnapshotDecodeError`].
pub(crate) fn snapshot_reason(reason: SnapshotDecodeError) -> String {
    match reason {
        SnapshotDecodeError::Truncated => "the file is cut short".to_owned(),
        SnapshotDecodeError::MagicInvalid => "it does not start like a snapshot".to_owned(),
        SnapshotDecodeError::TrailerMissing => "its trailer is missing".to_owned(),
        SnapshotDecodeError::ChecksumMismatch => "checksum mismatch".to_owned(),
        SnapshotDecodeError::SizeInvalid => "a block or item size is invalid".to_owned(),
        SnapshotDecodeError::BlockIndexInvalid => "a block is missing or out of place".to_owned(),
        SnapshotDecodeError::CountMismatch => "its counts disagree".to_owned(),
        SnapshotDecodeError::HeaderMismatch => "its header belongs to another file".to_owned(),
        other => format!("{other:?}"),
    }
}

fn unsupported_reason(offset: u64, error: DecodeError) -> String {
    let what = match error {
        DecodeError::UnsupportedVersion(version) => {
            format!("record format version {version}, but this floe reads version {RECORD_VERSION}")
        }
        DecodeError::UnknownKind(kind) => format!("record kind {kind}, unknown to this floe"),
        other => other.to_string(),
    };
    format!(
        "at offset {offset}: {what}: a newer floe wrote it; open the directory with that floe \
         (nothing was changed)"
    )
}

/// A sentence for a [`Corruption`].
pub(crate) fn corruption_reason(reason: Corruption) -> String {
    match reason {
        Corruption::Damaged {
            error,
            intact_offset,
        } => format!(
            "{error}, and an intact record follows at offset {intact_offset}: damage in the \
             middle of the log, not an interrupted write"
        ),
        Corruption::Invalid(error) => {
            format!("{error} in a record whose checksum matches (a faulty writer?)")
        }
        Corruption::LsnRegression { lsn, lsn_previous } => {
            format!("record LSN {lsn} is not above the LSN before it, {lsn_previous}")
        }
        Corruption::GroupInterrupted => "a standalone record inside an unfinished group".to_owned(),
        Corruption::GroupTooLarge => {
            format!("a group of more than {GROUP_RECORD_COUNT_MAX} records")
        }
        Corruption::CommitUnexpected => "a commit record with no group before it".to_owned(),
        Corruption::CommitMismatch {
            commit,
            lsn_first,
            record_count,
        } => format!(
            "a commit record for {} records from LSN {} after {record_count} intents from LSN \
             {lsn_first}",
            commit.record_count, commit.lsn_first
        ),
        other => format!("{other:?}"),
    }
}

impl fmt::Display for RecoveryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "recovered `{}`: ", self.dir.display())?;
        match &self.snapshot {
            Some(snapshot) => write!(
                f,
                "snapshot `{}` (LSN {}, {} items, {} expired), then ",
                snapshot.file.display(),
                snapshot.lsn,
                snapshot.item_count,
                snapshot.expired_count
            )?,
            None => f.write_str("no snapshot, ")?,
        }
        write!(
            f,
            "{} log segment(s): {} records and {} groups ({} records) applied, {} already in \
             the snapshot; {:.1} MiB in {:.3} s ({:.0} records/s); last LSN {}",
            self.segment_count,
            self.record_count,
            self.group_count,
            self.intent_count,
            self.skipped_count,
            mib(self.byte_count),
            self.duration.as_secs_f64(),
            (self.record_count + self.intent_count) as f64 / self.duration.as_secs_f64().max(1e-9),
            self.lsn_last
        )?;
        for skipped in &self.snapshots_skipped {
            write!(
                f,
                "\n  skipped damaged snapshot `{}` (offset {}: {}); the log covers it",
                skipped.file.display(),
                skipped.offset,
                skipped.reason
            )?;
        }
        for cut in &self.cuts {
            write!(
                f,
                "\n  cut a torn tail off `{}` at offset {} ({} bytes: {})",
                cut.file.display(),
                cut.offset,
                cut.size_dropped,
                cut.what
            )?;
        }
        for name in &self.removed {
            write!(f, "\n  removed `{name}` (empty or unfinished)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests;
