//! A deterministic, seeded, fault-injecting disk: the simulator's [`Storage`](crate::io::Storage).
//!
//! Every file keeps two images, as redb's crash tests do:
//!
//! ```text
//!   write_at ──► written image (what the process reads back: the page cache)
//!            └─► pending queue (unsynced writes, in order, each with its fate)
//!   sync_data ─► pending writes reach the durable image (what survives power loss)
//!   crash     ─► pending writes are dropped, kept whole, or kept as a torn
//!                sector-granular prefix; names fall back to the last synced directory
//! ```
//!
//! Names have two images too: a created, renamed or removed name is durable only after
//! [`Storage::sync_dir`](crate::io::Storage::sync_dir) of its directory, exactly as [`crate::io`] says.
//!
//! Faults, each with a named probability in [`FaultConfig`] (see `docs/fault-model.md` for
//! what floe promises under each): crash at any operation, torn writes, bit flips, lost and
//! misdirected writes, truncation, ENOSPC, EIO on read, write and fsync (with fsyncgate
//! semantics: the failed sync's data may or may not be on disk, and a later sync will not
//! write it), permission errors, and slow I/O as virtual latency on the [`SimClock`].
//!
//! Invariants:
//! - Determinism: every choice comes from one [`Prng`] drawn in operation order. The
//!   simulator keeps that order fixed (one workload thread, and it waits for the log writer
//!   to settle before it acts); [`SimDisk::trace_hash`] fingerprints the order and outcome
//!   of every operation, so a replay can prove it was bit for bit.
//! - After [`SimDisk::restart`] every pending queue is empty, the written image equals the
//!   durable one, and the live names equal the durable names (asserted).
//! - Once crashed, every operation fails with EIO and changes nothing, until `restart`.
//!
//! Fault assumptions: this module *is* the fault model; it assumes nothing of the host.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use floe_core::codec::record::{RecordView, field};

use crate::error::{Error, Operation};
use crate::log::segment_file_lsn;
use crate::sim::clock::SimClock;
use crate::sim::rng::Prng;

mod media;
mod storage;

/// The probability of each fault. All zero ([`FaultConfig::none`]) is a perfect disk.
///
/// Probabilities are per operation of the kind named, unless the doc line says otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    /// Power is lost during any one disk operation (the operation may or may not take
    /// effect); every later operation fails until [`SimDisk::restart`].
    pub crash_probability: f64,
    /// At a crash, per file with unsynced writes: a sector-granular prefix of them persists
    /// (a torn write). Otherwise they are all dropped or, with equal odds, all kept.
    pub torn_write_probability: f64,
    /// Bytes per sector: a torn write is cut at a multiple of this file offset.
    pub sector_size: u64,
    /// A write reaches the media with one bit flipped (silent; caught only by checksums).
    pub bit_flip_probability: f64,
    /// At a restart, per file with durable bytes: one bit flips at rest (bit rot).
    pub bit_flip_at_rest_probability: f64,
    /// A write returns success but never reaches the media (a lost write).
    pub lost_write_probability: f64,
    /// A write returns success but reaches the media some sectors away from its offset.
    pub misdirected_write_probability: f64,
    /// At a restart, per file with durable bytes: the file is cut at a random offset.
    pub truncation_probability: f64,
    /// A write fails with ENOSPC after writing a random sector prefix.
    pub no_space_probability: f64,
    /// A read (whole file, range, or directory list) fails with EIO.
    pub read_error_probability: f64,
    /// A write or truncate fails with EIO after writing a random sector prefix.
    pub write_error_probability: f64,
    /// An fdatasync or directory fsync fails with EIO; the file's unsynced writes are then
    /// each kept, dropped or torn, and a later sync will not write them (fsyncgate).
    pub sync_error_probability: f64,
    /// Creating, opening, locking, renaming or removing fails with EACCES.
    pub permission_error_probability: f64,
    /// An operation is slow: it takes up to [`FaultConfig::slow_io_latency_ns_max`] of
    /// virtual time instead of [`FaultConfig::io_latency_ns`].
    pub slow_io_probability: f64,
    /// Virtual time every operation takes.
    pub io_latency_ns: u64,
    /// Longest virtual time a slow operation takes.
    pub slow_io_latency_ns_max: u64,
    /// Which files the silent data faults (bit flips, lost, misdirected, truncation) hit.
    pub damage_files: FileClass,
}

impl FaultConfig {
    /// A perfect disk: no faults, a fixed small latency.
    #[must_use]
    pub fn none() -> Self {
        Self {
            crash_probability: 0.0,
            torn_write_probability: 0.0,
            sector_size: 512,
            bit_flip_probability: 0.0,
            bit_flip_at_rest_probability: 0.0,
            lost_write_probability: 0.0,
            misdirected_write_probability: 0.0,
            truncation_probability: 0.0,
            no_space_probability: 0.0,
            read_error_probability: 0.0,
            write_error_probability: 0.0,
            sync_error_probability: 0.0,
            permission_error_probability: 0.0,
            slow_io_probability: 0.0,
            io_latency_ns: 10_000,
            slow_io_latency_ns_max: 0,
            damage_files: FileClass::All,
        }
    }
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self::none()
    }
}

/// Which files a fault may hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileClass {
    /// Every file.
    All,
    /// Log segments only (`log-<lsn>.floe`).
    LogSegments,
    /// Every file that is not a log segment (snapshots, temporary files, ...).
    NotLogSegments,
}

impl FileClass {
    fn contains(self, path: &Path) -> bool {
        match self {
            Self::All => true,
            Self::LogSegments => is_log_segment(path),
            Self::NotLogSegments => !is_log_segment(path),
        }
    }
}

/// Whether `path` names a log segment.
#[must_use]
pub fn is_log_segment(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .and_then(segment_file_lsn)
        .is_some()
}

/// Each kind of fault the disk injects, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Power lost.
    Crash,
    /// A crash kept a torn prefix of unsynced writes.
    TornWrite,
    /// Unsynced writes dropped by a crash (counted per file).
    DroppedWrite,
    /// A bit flipped on its way to the media, or at rest.
    BitFlip,
    /// A write acknowledged but never stored.
    LostWrite,
    /// A write stored at the wrong offset.
    MisdirectedWrite,
    /// A file cut short at rest.
    Truncation,
    /// ENOSPC.
    NoSpace,
    /// EIO on a read.
    ReadError,
    /// EIO on a write or truncate.
    WriteError,
    /// EIO on a sync.
    SyncError,
    /// EACCES.
    PermissionDenied,
    /// A slow operation.
    SlowIo,
}

impl FaultKind {
    /// Every kind, in display order.
    pub const ALL: [Self; 13] = [
        Self::Crash,
        Self::TornWrite,
        Self::DroppedWrite,
        Self::BitFlip,
        Self::LostWrite,
        Self::MisdirectedWrite,
        Self::Truncation,
        Self::NoSpace,
        Self::ReadError,
        Self::WriteError,
        Self::SyncError,
        Self::PermissionDenied,
        Self::SlowIo,
    ];

    /// The kind's name in reports.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Crash => "crash",
            Self::TornWrite => "torn_write",
            Self::DroppedWrite => "dropped_write",
            Self::BitFlip => "bit_flip",
            Self::LostWrite => "lost_write",
            Self::MisdirectedWrite => "misdirected_write",
            Self::Truncation => "truncation",
            Self::NoSpace => "enospc",
            Self::ReadError => "eio_read",
            Self::WriteError => "eio_write",
            Self::SyncError => "eio_fsync",
            Self::PermissionDenied => "eacces",
            Self::SlowIo => "slow_io",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// How many faults of each kind were injected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    counts: [u64; FaultKind::ALL.len()],
}

impl FaultCounts {
    /// The count of one kind.
    #[must_use]
    pub fn get(&self, kind: FaultKind) -> u64 {
        self.counts[kind.index()]
    }

    /// All faults injected.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Adds another run's counts.
    pub fn add(&mut self, other: &Self) {
        for (count, more) in self.counts.iter_mut().zip(other.counts) {
            *count += more;
        }
    }

    fn bump(&mut self, kind: FaultKind) {
        self.counts[kind.index()] += 1;
    }
}

impl fmt::Display for FaultCounts {
    /// `kind=count` for every kind injected at least once, or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for kind in FaultKind::ALL {
            let count = self.get(kind);
            if count > 0 {
                if !first {
                    f.write_str(" ")?;
                }
                write!(f, "{}={count}", kind.name())?;
                first = false;
            }
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// Damage done to bytes on the media (not to a write in flight): what recovery may have to
/// report. The checker uses it to tell an explained loss from a bug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// What happened.
    pub kind: FaultKind,
    /// The file.
    pub path: PathBuf,
    /// First byte affected.
    pub offset: u64,
    /// Bytes affected (for a truncation: the bytes cut off).
    pub size: u64,
}

/// The simulated disk; cheap to clone (clones share one disk).
#[derive(Clone)]
pub struct SimDisk {
    shared: Arc<DiskShared>,
}

struct DiskShared {
    state: Mutex<DiskState>,
    /// Signalled after every sync attempt on a log segment.
    log_synced: Condvar,
    /// Signalled when the sync gate opens.
    gate_opened: Condvar,
    clock: Option<Arc<SimClock>>,
}

struct DiskState {
    rng: Prng,
    faults: FaultConfig,
    /// Faults are injected only while this is set (the simulator pauses them to look).
    faults_enabled: bool,
    inodes: HashMap<u64, Inode>,
    inode_next: u64,
    names: BTreeMap<PathBuf, u64>,
    names_durable: BTreeMap<PathBuf, u64>,
    dirs: BTreeSet<PathBuf>,
    dirs_durable: BTreeSet<PathBuf>,
    locks: BTreeSet<PathBuf>,
    /// Bumped by every restart; handles of an older generation belong to a dead process.
    generation: u64,
    crashed: bool,
    /// The crash was a process kill, not a power loss: the page cache survives it.
    killed: bool,
    /// Power is lost at this many operations from now (a crash scheduled mid-operation).
    crash_countdown: Option<u64>,
    /// A log segment sync failed since the last restart (its writes' fate is unknown).
    log_sync_failed: bool,
    /// Log segment syncs that follow a segment write wait while this is set.
    gate_closed: bool,
    /// A segment was written since the gate closed.
    gate_write_seen: bool,
    /// Test-only sabotage: reads of log segments come back with every record's checksum
    /// recomputed, as if recovery did not check checksums.
    checksums_forged: bool,
    counts: FaultCounts,
    /// Damage since the last [`SimDisk::take_damage`].
    damage: Vec<Damage>,
    /// Damaged regions still on the media (not yet cut off or removed with their file), by
    /// inode, since a file can be renamed after it was damaged (a snapshot's temporary
    /// file): recovery may meet them at any later start.
    damage_live: Vec<(u64, Damage)>,
    /// Files the program truncated: recovery's cuts of torn tails, each of which it
    /// announces on stderr as it makes it.
    truncate_count: u64,
    operation_count: u64,
    trace_hash: u64,
    log_sync: LogSync,
}

/// What the everysec check needs to know about the log writer's syncs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogSync {
    /// fdatasync attempts on log segments (failed ones included).
    pub attempts: u64,
    /// Device time after the last such attempt: the writer's "last sync" time.
    pub last_ns: u64,
    /// Device time after the last write to a log segment.
    pub write_ns: u64,
    /// Sync attempts on log segments that failed.
    pub failures: u64,
}

#[derive(Debug, Default)]
struct Inode {
    written: Vec<u8>,
    durable: Vec<u8>,
    pending: Vec<Pending>,
}

#[derive(Debug)]
struct Pending {
    offset: u64,
    bytes: Vec<u8>,
    fate: Fate,
}

/// What happens to a write when it reaches the media.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Stored,
    Lost,
    Misdirected { offset: u64 },
    BitFlip { bit_index: u64 },
}

impl SimDisk {
    /// An empty disk with faults from `faults`, choices from `seed`, and latency charged to
    /// `clock` (if any).
    #[must_use]
    pub fn new(seed: u64, faults: FaultConfig, clock: Option<Arc<SimClock>>) -> Self {
        assert!(faults.sector_size > 0, "sector_size must be positive");
        let mut dirs = BTreeSet::new();
        dirs.insert(PathBuf::from("/"));
        Self {
            shared: Arc::new(DiskShared {
                state: Mutex::new(DiskState {
                    rng: Prng::derive(seed, "disk"),
                    faults,
                    faults_enabled: true,
                    inodes: HashMap::new(),
                    inode_next: 1,
                    names: BTreeMap::new(),
                    names_durable: BTreeMap::new(),
                    dirs_durable: dirs.clone(),
                    dirs,
                    locks: BTreeSet::new(),
                    generation: 0,
                    crashed: false,
                    killed: false,
                    crash_countdown: None,
                    log_sync_failed: false,
                    gate_closed: false,
                    gate_write_seen: false,
                    checksums_forged: false,
                    counts: FaultCounts::default(),
                    damage: Vec::new(),
                    damage_live: Vec::new(),
                    truncate_count: 0,
                    operation_count: 0,
                    trace_hash: 0,
                    log_sync: LogSync::default(),
                }),
                log_synced: Condvar::new(),
                gate_opened: Condvar::new(),
                clock,
            }),
        }
    }

    /// Turns fault injection on or off (the simulator's own look at the disk is fault-free).
    pub fn set_faults_enabled(&self, enabled: bool) {
        self.lock().faults_enabled = enabled;
    }

    /// Replaces the fault probabilities (a scenario's phases).
    pub fn set_faults(&self, faults: FaultConfig) {
        assert!(faults.sector_size > 0, "sector_size must be positive");
        self.lock().faults = faults;
    }

    /// Whether power was lost and the disk awaits [`SimDisk::restart`].
    #[must_use]
    pub fn crashed(&self) -> bool {
        self.lock().crashed
    }

    /// Cuts the power now. Idempotent.
    pub fn crash(&self) {
        let mut state = self.lock();
        if !state.crashed {
            state.crashed = true;
            state.counts.bump(FaultKind::Crash);
            state.trace(b"crash", Path::new(""), 0, 0);
        }
        drop(state);
        self.shared.log_synced.notify_all();
    }

    /// Schedules a power loss during the `operations`-th disk operation from now (1: the
    /// next one), whichever thread makes it: a crash in the middle of whatever the store is
    /// doing then.
    pub fn crash_after(&self, operations: u64) {
        assert!(operations > 0);
        self.lock().crash_countdown = Some(operations);
    }

    /// Closes (or opens) the sync gate: while it is closed, an fdatasync of a log segment
    /// that follows a segment write waits (a sync before the write, as when the log rolls
    /// over, does not). Under `everysec` the simulator closes it around a write and its
    /// flush, so the flush never races the fdatasync the log writer makes right after the
    /// write: the flush always sees the write done and the sync not yet, on every replay.
    pub fn gate_syncs(&self, closed: bool) {
        let mut state = self.lock();
        state.gate_closed = closed;
        state.gate_write_seen = false;
        drop(state);
        if !closed {
            self.shared.gate_opened.notify_all();
        }
    }

    /// Kills the process now (`kill -9`): every later operation fails until
    /// [`SimDisk::restart`], which then keeps everything written (the page cache survives a
    /// process). Does nothing if the power is already off.
    pub fn kill(&self) {
        let mut state = self.lock();
        if !state.crashed {
            state.crashed = true;
            state.killed = true;
            state.trace(b"kill", Path::new(""), 0, 0);
        }
        drop(state);
        self.shared.log_synced.notify_all();
    }

    /// Powers the machine back on after a crash (or cuts the power first if it is on): every
    /// file's unsynced writes are dropped, kept, or kept as a torn prefix; names fall back to
    /// the last synced directories; at-rest faults (bit rot, truncation) are applied. After a
    /// [`SimDisk::kill`] only the process restarts: everything written is kept.
    ///
    /// # Panics
    /// If a directory lock of the dead process is still held: the simulator must drop the
    /// crashed process's objects before restarting (a programmer error).
    pub fn restart(&self) {
        self.crash();
        let mut state = self.lock();
        assert!(
            state.locks.is_empty(),
            "restart while the crashed process still holds locks: {:?}",
            state.locks
        );
        if state.killed {
            state.resolve_kill();
        } else {
            state.resolve_crash();
        }
        state.crashed = false;
        state.killed = false;
        state.crash_countdown = None;
        state.log_sync_failed = false;
        state.generation += 1;
        let generation = state.generation;
        state.trace(b"restart", Path::new(""), generation, 0);
    }

    /// Faults injected so far.
    #[must_use]
    pub fn fault_counts(&self) -> FaultCounts {
        self.lock().counts
    }

    /// Files the program has truncated (recovery's cuts, each announced as it is made).
    #[must_use]
    pub fn truncate_count(&self) -> u64 {
        self.lock().truncate_count
    }

    /// Damage done to stored bytes since the last call, and forgets it.
    pub fn take_damage(&self) -> Vec<Damage> {
        std::mem::take(&mut self.lock().damage)
    }

    /// Damaged regions still on the media: in a file that still exists, below its durable
    /// size. A page cache can hide damage from a clean restart, and a region recovery never
    /// read can surface later, so damage stays relevant until it is cut off or removed.
    #[must_use]
    pub fn damage_live(&self) -> Vec<Damage> {
        let mut state = self.lock();
        let state = &mut *state;
        let name_of: HashMap<u64, &PathBuf> = state
            .names_durable
            .iter()
            .chain(state.names.iter())
            .map(|(path, &inode)| (inode, path))
            .collect();
        let inodes = &state.inodes;
        state.damage_live.retain_mut(|(inode_id, damage)| {
            let Some(path) = name_of.get(inode_id) else {
                return false; // Removed: the damage went with it.
            };
            damage.path.clone_from(path);
            inodes
                .get(inode_id)
                .is_some_and(|inode| len_u64(&inode.durable) > damage.offset)
        });
        state
            .damage_live
            .iter()
            .map(|(_, damage)| damage.clone())
            .collect()
    }

    /// Disk operations so far.
    #[must_use]
    pub fn operation_count(&self) -> u64 {
        self.lock().operation_count
    }

    /// A fingerprint of every operation so far, its arguments and its outcome: two runs with
    /// the same seed must end with the same value.
    #[must_use]
    pub fn trace_hash(&self) -> u64 {
        self.lock().trace_hash
    }

    /// The log writer's sync progress (see [`LogSync`]).
    #[must_use]
    pub fn log_sync(&self) -> LogSync {
        self.lock().log_sync
    }

    /// Whether every byte written to every log segment is durable (no segment has unsynced
    /// writes, and no segment sync failed since the last restart, which may have dropped
    /// some): a fact, whatever the log promised.
    #[must_use]
    pub fn log_durable(&self) -> bool {
        let state = self.lock();
        !state.log_sync_failed
            && state
                .names
                .iter()
                .filter(|(path, _)| is_log_segment(path))
                .all(|(_, inode)| {
                    state
                        .inodes
                        .get(inode)
                        .is_none_or(|inode| inode.pending.is_empty())
                })
    }

    /// Removes every file under `dir`, durably: the operator gave up on the data.
    pub fn wipe(&self, dir: &Path) {
        let mut state = self.lock();
        state.names.retain(|path, _| !path.starts_with(dir));
        state.names_durable.retain(|path, _| !path.starts_with(dir));
        let reachable: BTreeSet<u64> = state.names.values().copied().collect();
        state
            .inodes
            .retain(|inode_id, _| reachable.contains(inode_id));
        state.trace(b"wipe", dir, 0, 0);
    }

    #[doc(hidden)]
    /// Test-only sabotage: recompute every log record's checksum on read, so recovery
    /// accepts damaged records (what a recovery that skips its CRC check would do).
    pub fn forge_checksums(&self, forge: bool) {
        self.lock().checksums_forged = forge;
    }

    /// Resets the writer's "last sync" time, as a newly opened log writer does.
    pub fn set_log_sync_last_ns(&self, last_ns: u64) {
        self.lock().log_sync.last_ns = last_ns;
    }

    /// Blocks until more than `attempts` log syncs were attempted or the disk crashed.
    /// Returns false if that took longer than `timeout` of real time.
    #[must_use]
    pub fn wait_log_sync(&self, attempts: u64, timeout: Duration) -> bool {
        let state = self.lock();
        let (state, result) = self
            .shared
            .log_synced
            .wait_timeout_while(state, timeout, |state| {
                state.log_sync.attempts <= attempts && !state.crashed
            })
            .unwrap_or_else(PoisonError::into_inner);
        drop(state);
        !result.timed_out()
    }

    /// The durable image of `path` (what a restart would find, before at-rest faults), or
    /// `None` if the name is not durable. For scenarios that aim damage at a record.
    #[must_use]
    pub fn durable_image(&self, path: &Path) -> Option<Vec<u8>> {
        let state = self.lock();
        let inode = state.names_durable.get(path)?;
        state.inodes.get(inode).map(|inode| inode.durable.clone())
    }

    /// The durable names under `dir`, sorted.
    #[must_use]
    pub fn durable_names(&self, dir: &Path) -> Vec<String> {
        let state = self.lock();
        state
            .names_durable
            .keys()
            .filter(|path| path.parent() == Some(dir))
            .filter_map(|path| path.file_name()?.to_str().map(str::to_owned))
            .collect()
    }

    /// Flips bit `bit_index` (counted from the file's first byte) of the durable and written
    /// images of `path`: damage at rest, aimed by a scenario. Returns false if there is no
    /// such durable byte.
    pub fn flip_durable_bit(&self, path: &Path, bit_index: u64) -> bool {
        let mut state = self.lock();
        let Some(&inode_id) = state.names_durable.get(path) else {
            return false;
        };
        let byte_index = to_usize(bit_index / 8);
        let mask = 1u8 << (bit_index % 8);
        let Some(inode) = state.inodes.get_mut(&inode_id) else {
            return false;
        };
        let Some(byte) = inode.durable.get_mut(byte_index) else {
            return false;
        };
        *byte ^= mask;
        if let Some(byte) = inode.written.get_mut(byte_index) {
            *byte ^= mask;
        }
        state.record_damage(FaultKind::BitFlip, inode_id, path, bit_index / 8, 1);
        state.trace(b"flip", path, bit_index, 0);
        true
    }

    /// Cuts the durable and written images of `path` to `size` bytes: a truncation aimed by
    /// a scenario. Returns false if the file is not durable or not longer than `size`.
    pub fn truncate_durable(&self, path: &Path, size: u64) -> bool {
        let mut state = self.lock();
        let Some(&inode_id) = state.names_durable.get(path) else {
            return false;
        };
        let Some(inode) = state.inodes.get_mut(&inode_id) else {
            return false;
        };
        let durable_size = len_u64(&inode.durable);
        if durable_size <= size {
            return false;
        }
        inode.durable.truncate(to_usize(size));
        inode.written.truncate(to_usize(size));
        for pending in &mut inode.pending {
            clip_pending(pending, size);
        }
        state.record_damage(
            FaultKind::Truncation,
            inode_id,
            path,
            size,
            durable_size - size,
        );
        state.trace(b"cut", path, size, 0);
        true
    }

    fn lock(&self) -> MutexGuard<'_, DiskState> {
        // Every critical section leaves the state consistent (no unwinding mid-update), so a
        // panic elsewhere does not make it unusable.
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts an operation: fails if the power is off, may cut it, and charges latency.
    /// `Err` carries the error to return; the state is locked for the caller on `Ok`.
    fn begin(
        &self,
        name: &'static [u8],
        operation: &Operation,
        path: &Path,
    ) -> Result<(MutexGuard<'_, DiskState>, u64), Error> {
        let mut guard = self.lock();
        let state = &mut *guard;
        state.operation_count += 1;
        if state.crashed {
            return Err(power_off(operation, path));
        }
        let faults_on = state.faults_enabled;
        let scheduled = match state.crash_countdown {
            Some(1) => {
                state.crash_countdown = None;
                true
            }
            Some(count) => {
                state.crash_countdown = Some(count - 1);
                false
            }
            None => false,
        };
        if scheduled || (faults_on && state.rng.chance(state.faults.crash_probability)) {
            state.crashed = true;
            state.counts.bump(FaultKind::Crash);
            state.trace(b"crash", path, 0, 0);
            // Some operations take effect before the power goes; the caller decides (it
            // checks `crashed` and applies or not).
        }
        let mut latency_ns = state.faults.io_latency_ns;
        if faults_on && state.rng.chance(state.faults.slow_io_probability) {
            latency_ns = latency_ns.max(state.rng.between(0, state.faults.slow_io_latency_ns_max));
            state.counts.bump(FaultKind::SlowIo);
        }
        let now_ns = match &self.shared.clock {
            Some(clock) => clock.on_io(latency_ns),
            None => 0,
        };
        state.trace(name, path, 0, 0);
        Ok((guard, now_ns))
    }

    fn generation(&self) -> u64 {
        self.lock().generation
    }
}

impl fmt::Debug for SimDisk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("SimDisk")
            .field("files", &state.names.len())
            .field("crashed", &state.crashed)
            .field("generation", &state.generation)
            .field("faults", &state.counts)
            .finish_non_exhaustive()
    }
}

/// Rewrites the checksum of every record whose sizes are consistent, walking from offset 0
/// (the `SkipChecksums` sabotage).
fn forge_checksums(bytes: &mut [u8]) {
    let mut offset = 0;
    while offset < bytes.len() {
        let Ok(view) = RecordView::new_checked(&bytes[offset..]) else {
            return;
        };
        let size = to_usize(u64::from(view.size()));
        let checksum = view.checksum_compute();
        bytes[offset + field::CHECKSUM.start..offset + field::CHECKSUM.end]
            .copy_from_slice(&checksum.to_le_bytes());
        offset += size;
    }
}

/// The error every operation returns once the power is off.
fn power_off(operation: &Operation, path: &Path) -> Error {
    let source = io::Error::other("simulated power loss");
    Error::io(operation.clone(), path, source)
}

fn os_error(operation: &Operation, path: &Path, errno: i32) -> Error {
    Error::io(operation.clone(), path, io::Error::from_raw_os_error(errno))
}

/// Writes `bytes` into `image` at `offset`, zero-filling any gap past its end.
fn splice(image: &mut Vec<u8>, offset: u64, bytes: &[u8]) {
    let start = to_usize(offset);
    let end = start + bytes.len();
    if image.len() < end {
        image.resize(end, 0);
    }
    image[start..end].copy_from_slice(bytes);
}

/// Drops the part of a pending write at or past `size`.
fn clip_pending(pending: &mut Pending, size: u64) {
    let keep = size.saturating_sub(pending.offset);
    if keep < len_u64(&pending.bytes) {
        pending.bytes.truncate(to_usize(keep));
    }
}

fn len_u64(bytes: &[u8]) -> u64 {
    u64::try_from(bytes.len()).unwrap_or(u64::MAX)
}

fn to_usize(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests;
