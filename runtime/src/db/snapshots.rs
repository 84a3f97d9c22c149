//! A [`Db`](super::Db)'s snapshots: SAVE in the calling thread, BGSAVE and the automatic
//! trigger on a background thread, and the counters INFO and [`DbStats`](super::DbStats)
//! report.
//!
//! A snapshot has a **cut** and a **walk**. The cut locks every shard at once, appends what
//! is pending and reads the last LSN `L` (so everything applied is at or below `L`), begins
//! the file and marks every shard; then it unlocks them all. The walk streams each marked
//! shard into the file, block by block, under that shard's lock alone: the snapshot's own
//! thread goes through the shards in order, and a write that finds its shard still marked
//! walks it first (`snapshot_walk`), before it changes anything. So every shard is written
//! exactly as it was at the cut, and the file holds exactly the changes up to `L`, while
//! writes pause at most for one shard's walk (the cut itself is short: it copies nothing).
//! Then the file is committed and the log compacted, with no lock held.
//!
//! Between the cut and its walk a shard may lose keys without a write: keys that expire
//! (lazily on a read, or by another shard's expiry step, which skips marked shards anyway).
//! The file leaves out what expired by the cut's time; a key that expires later is gone
//! either way once it is read back, so the two agree on every key that is live.
//!
//! Invariants: one snapshot at a time (`serial` is held for the whole of one); a shard is
//! marked only by the cut and unmarked only by its walk, with its lock held both times, and
//! every shard is walked before the snapshot ends; at most one
//! background thread (`running` is set before it is spawned and cleared when it ends);
//! `log_size_at_snapshot` only grows; the automatic trigger waits for at least
//! `snapshot_log_size` log bytes and at least as many as the last snapshot held.
//!
//! Fault assumptions: as in [`crate::log::snapshot`]: a failed snapshot leaves the previous
//! snapshot and the log intact, and its error is returned (or, in the background, logged and
//! kept for [`Db::bgsave_wait`](super::Db::bgsave_wait)).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{DbError, Inner, MutexGuard, Shard, lock};
use crate::error::{Error, Operation};
use crate::io::Clock;
use crate::log::snapshot::{Compaction, SnapshotFile, SnapshotStream, SnapshotTarget, compact};

/// What a snapshot did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotReport {
    /// The snapshot file.
    pub file: PathBuf,
    /// It holds every change up to this LSN.
    pub lsn: u64,
    /// Items written.
    pub item_count: u64,
    /// Bytes written.
    pub size: u64,
    /// The longest a write could wait: the cut (every shard locked) plus the longest walk of
    /// one shard (that shard locked).
    pub pause: Duration,
    /// How long the whole snapshot took, compaction included.
    pub duration: Duration,
    /// What compaction deleted.
    pub compaction: Compaction,
}

/// The snapshot state of a [`Db`](super::Db), held by its `Inner`.
#[derive(Debug, Default)]
pub(super) struct Snapshots {
    /// Held for the whole of a snapshot: one at a time.
    serial: Mutex<()>,
    /// A background snapshot is running or about to.
    running: AtomicBool,
    /// The background snapshot's thread, and the result of a finished one not yet asked for.
    background: Mutex<Background>,
    /// An append took the log past the automatic snapshot trigger; whoever made it starts
    /// the snapshot once the store lock is released.
    wanted: AtomicBool,
    /// `Appender::log_size` when the last snapshot started.
    log_size_at_snapshot: AtomicU64,
    /// Snapshots taken since open.
    count: AtomicU64,
    /// Bytes of the last snapshot written (the automatic trigger waits for as many log
    /// bytes).
    size_last: AtomicU64,
    /// The snapshot being streamed, between its cut and the end of its walk.
    in_progress: Mutex<Option<InProgress>>,
}

/// A snapshot between its cut and its end: where it goes, the stream, and the longest time
/// one shard's walk held that shard.
#[derive(Debug)]
struct InProgress {
    target: SnapshotTarget,
    stream: SnapshotStream,
    walk_ns_max: u64,
}

/// A snapshot streamed whole, not yet committed.
struct Streamed {
    target: SnapshotTarget,
    header: floe_core::codec::snapshot::SnapshotHeader,
    /// `Appender::log_size` at the cut.
    log_size: u64,
    /// The cut plus the longest walk of one shard.
    pause: Duration,
}

#[derive(Debug, Default)]
struct Background {
    thread: Option<JoinHandle<Result<SnapshotReport, DbError>>>,
    finished: Option<Result<SnapshotReport, DbError>>,
}

impl Snapshots {
    /// Bytes logged since the last snapshot started, at `log_size`.
    pub(super) fn log_size_since_snapshot(&self, log_size: u64) -> u64 {
        log_size.saturating_sub(self.log_size_at_snapshot.load(Ordering::Acquire))
    }

    /// Snapshots taken since open.
    pub(super) fn count(&self) -> u64 {
        self.count.load(Ordering::Acquire)
    }

    /// Asks for an automatic snapshot, started by [`Inner::snapshot_start_if_wanted`].
    pub(super) fn want(&self) {
        self.wanted.store(true, Ordering::Release);
    }
}

impl Inner {
    /// Starts a background snapshot if an append asked for one (best effort: a failure to
    /// start is reported by the next attempt).
    pub(super) fn snapshot_start_if_wanted(inner: &Arc<Self>) {
        if inner.snapshots.wanted.load(Ordering::Acquire)
            && inner.snapshots.wanted.swap(false, Ordering::AcqRel)
        {
            let _started = Self::background_start(inner);
        }
    }

    /// Whether the automatic trigger fires at `log_size`.
    pub(super) fn snapshot_due(&self, log_size: u64) -> bool {
        // Like Redis's auto-aofrewrite-percentage 100: wait for at least as many log bytes as
        // the last snapshot held, so writing snapshots never costs more than writing the log
        // (a fixed trigger snapshotted a large store over and over, holding its lock).
        let snapshots = &self.snapshots;
        let configured = self.config.snapshot_log_size;
        let trigger = configured.max(snapshots.size_last.load(Ordering::Acquire));
        configured > 0
            && log_size.saturating_sub(snapshots.log_size_at_snapshot.load(Ordering::Acquire))
                >= trigger
            && !snapshots.running.load(Ordering::Acquire)
    }

    /// A snapshot and compaction; see [`crate::log::snapshot`].
    pub(super) fn snapshot(&self) -> Result<SnapshotReport, DbError> {
        let Some(storage) = &self.storage else {
            return Err(DbError::PersistenceOff);
        };
        let _serial = lock(&self.snapshots.serial);
        let started_ns = self.clock.monotonic_ns();
        let Streamed {
            target,
            header,
            log_size,
            pause,
        } = self.snapshot_stream(|lsn| {
            SnapshotFile::create(&**storage, &self.dir, lsn).map(SnapshotTarget::File)
        })?;
        let SnapshotTarget::File(file) = target else {
            unreachable!("a snapshot to a file is streamed to a file");
        };
        let size = file.size();
        let file = file.commit(&**storage, &self.dir)?;
        let compaction = compact(&**storage, &self.dir, header.lsn)?;
        self.snapshots
            .log_size_at_snapshot
            .fetch_max(log_size, Ordering::AcqRel);
        self.snapshots.size_last.store(size, Ordering::Release);
        self.snapshots.count.fetch_add(1, Ordering::AcqRel);
        Ok(SnapshotReport {
            file,
            lsn: header.lsn,
            item_count: header.item_count,
            size,
            pause,
            duration: elapsed(&*self.clock, started_ns),
            compaction,
        })
    }

    /// A snapshot in memory, cut and walked as [`Inner::snapshot`] does (writes pause for
    /// one shard's walk at most): its LSN and bytes. For a replica's full sync from a Db
    /// with persistence off; it changes no counter and writes no file.
    pub(super) fn snapshot_image(&self) -> Result<(u64, Vec<u8>), DbError> {
        let _serial = lock(&self.snapshots.serial);
        let streamed = self.snapshot_stream(|_| Ok(SnapshotTarget::Memory(Vec::new())))?;
        match streamed.target {
            SnapshotTarget::Memory(bytes) => Ok((streamed.header.lsn, bytes)),
            SnapshotTarget::File(_) => unreachable!("a snapshot to memory is streamed to memory"),
        }
    }

    /// The cut and the walk (see the module documentation) into the target `create` makes
    /// for the cut's LSN; the caller holds `serial`. A file is abandoned on failure.
    fn snapshot_stream(
        &self,
        create: impl FnOnce(u64) -> Result<SnapshotTarget, Error>,
    ) -> Result<Streamed, DbError> {
        self.check_writable()?;
        let started_ns = self.clock.monotonic_ns();
        // The cut: every shard locked at once, only long enough to give everything applied
        // its LSN, fix the snapshot's LSN and mark every shard for the walk.
        let log_size = {
            let mut shards: Vec<MutexGuard<'_, Shard>> = self.shards.iter().map(lock).collect();
            // Everything applied must have its LSN before the snapshot names one: append
            // what is pending, and wait for an append in flight (its lock).
            let (lsn, log_size) = {
                let mut appender = lock(&self.appender);
                for shard in &mut shards {
                    self.append_locked(shard, &mut appender)?;
                }
                (appender.lsn_last, appender.log_size)
            };
            let now = self.clock.now_ms();
            let item_count = shards
                .iter()
                .map(|shard| shard.store.with_ref(|store| store.len() as u64))
                .sum();
            let config = shards[0].store.with_ref(|store| *store.config());
            let mut target = create(lsn)?;
            let stream = match target.stream_begin(lsn, now, item_count, &config) {
                Ok(stream) => stream,
                Err(error) => {
                    drop(shards);
                    self.abandon(target);
                    return Err(error.into());
                }
            };
            *lock(&self.snapshots.in_progress) = Some(InProgress {
                target,
                stream,
                walk_ns_max: 0,
            });
            for shard in &mut shards {
                shard.snapshot_pending = true;
            }
            log_size
        };
        let cut_ns = self.clock.monotonic_ns().saturating_sub(started_ns);
        // The walk: each shard in turn, under its own lock only, unless a writer walked it
        // first (see `snapshot_walk`).
        for shard in &*self.shards {
            let mut shard = lock(shard);
            self.snapshot_walk(&mut shard);
        }
        let Some(InProgress {
            mut target,
            stream,
            walk_ns_max,
        }) = lock(&self.snapshots.in_progress).take()
        else {
            unreachable!("the snapshot in progress is taken only here, under `serial`");
        };
        match target.stream_end(stream) {
            Ok(header) => Ok(Streamed {
                target,
                header,
                log_size,
                pause: Duration::from_nanos(cut_ns.saturating_add(walk_ns_max)),
            }),
            Err(error) => {
                self.abandon(target);
                Err(error.into())
            }
        }
    }

    /// Removes a failed snapshot's file (memory just goes).
    fn abandon(&self, target: SnapshotTarget) {
        if let (SnapshotTarget::File(file), Some(storage)) = (target, &self.storage) {
            file.abandon(&**storage);
        }
    }

    /// Streams `shard` into the snapshot in progress if the cut marked it and nobody walked
    /// it since: called, with the shard's lock held, by the snapshot's own walk and by every
    /// write before it changes the shard. So each shard is captured exactly as it was at the
    /// cut, while writes to the shards already walked go on.
    pub(super) fn snapshot_walk(&self, shard: &mut Shard) {
        if !shard.snapshot_pending {
            return;
        }
        shard.snapshot_pending = false;
        let started_ns = self.clock.monotonic_ns();
        let mut in_progress = lock(&self.snapshots.in_progress);
        if let Some(InProgress {
            target,
            stream,
            walk_ns_max,
        }) = in_progress.as_mut()
        {
            shard
                .store
                .with_ref(|store| target.stream_store(stream, store));
            let walk_ns = self.clock.monotonic_ns().saturating_sub(started_ns);
            *walk_ns_max = (*walk_ns_max).max(walk_ns);
        }
    }

    /// Starts a background snapshot unless one is running.
    pub(super) fn background_start(inner: &Arc<Self>) -> Result<bool, DbError> {
        if inner.closed.load(Ordering::Acquire)
            || inner.snapshots.running.swap(true, Ordering::AcqRel)
        {
            return Ok(false);
        }
        let mut background = lock(&inner.snapshots.background);
        // A finished thread's result is kept for `bgsave_wait`.
        if let Some(thread) = background.thread.take() {
            background.finished = Some(join(thread));
        }
        let worker = Arc::clone(inner);
        let spawned = std::thread::Builder::new()
            .name("floe-snapshot".to_owned())
            .spawn(move || {
                let result = worker.snapshot();
                if let Err(error) = &result {
                    tracing::error!(
                        "background snapshot of `{}` failed: {error}",
                        worker.dir.display()
                    );
                }
                worker.snapshots.running.store(false, Ordering::Release);
                result
            });
        match spawned {
            Ok(thread) => {
                background.thread = Some(thread);
                Ok(true)
            }
            Err(source) => {
                inner.snapshots.running.store(false, Ordering::Release);
                Err(DbError::Runtime(Error::io(
                    Operation::WriterThread,
                    &inner.dir,
                    source,
                )))
            }
        }
    }

    /// Waits for the background snapshot, if one ran since the last call; its outcome.
    pub(super) fn background_wait(&self) -> Option<Result<SnapshotReport, DbError>> {
        let mut background = lock(&self.snapshots.background);
        match background.thread.take() {
            Some(thread) => Some(join(thread)),
            None => background.finished.take(),
        }
    }
}

/// Joins a snapshot thread; a panic in it becomes an error.
fn join(thread: JoinHandle<Result<SnapshotReport, DbError>>) -> Result<SnapshotReport, DbError> {
    thread.join().unwrap_or_else(|_| {
        Err(DbError::Runtime(Error::io(
            Operation::WriterThread,
            PathBuf::new(),
            std::io::Error::other("the snapshot thread panicked"),
        )))
    })
}

fn elapsed(clock: &dyn Clock, started_ns: u64) -> Duration {
    Duration::from_nanos(clock.monotonic_ns().saturating_sub(started_ns))
}
