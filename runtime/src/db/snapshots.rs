//! A [`Db`](super::Db)'s snapshots: SAVE in the calling thread, BGSAVE and the automatic
//! trigger on a background thread, and the counters INFO and [`DbStats`](super::DbStats)
//! report.
//!
//! A snapshot locks every shard, appends what is pending, then reads the last LSN, so the
//! snapshot at that LSN holds exactly the changes up to it; the shards are streamed to the
//! file one after the other, block by block, while writes wait, then the file is committed
//! and the log compacted with the locks released.
//!
//! Invariants: one snapshot at a time (`serial` is held for the whole of one); at most one
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
use crate::log::snapshot::{Compaction, SnapshotFile, compact};
use crate::memory::with_shards;

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
    /// How long writes waited: the walk that streams the store to the file.
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
        self.check_writable()?;
        let started_ns = self.clock.monotonic_ns();
        let (file, header, log_size) = {
            let mut block = Vec::new();
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
            // Streamed to the file block by block while writes wait: no copy of the store
            // in memory, at the price of the page-cache writes inside the pause.
            let mut file = SnapshotFile::create(&**storage, &self.dir, lsn)?;
            let mut locked: Vec<_> = shards
                .iter_mut()
                .map(|shard| {
                    let shard = &mut **shard;
                    (shard.index, &mut shard.store)
                })
                .collect();
            let written = with_shards(self.shards.len(), &mut locked, |stores| {
                file.write_items(stores, lsn, now, &mut block)
            });
            drop(locked);
            match written {
                Ok(header) => (file, header, log_size),
                Err(error) => {
                    drop(shards);
                    file.abandon(&**storage);
                    return Err(error.into());
                }
            }
        };
        let pause = elapsed(&*self.clock, started_ns);
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
