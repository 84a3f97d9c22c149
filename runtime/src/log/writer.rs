//! The log writer: LSN assignment, group commit, segment rollover, fsync policies, poisoning.
//!
//! Callers on any thread [`LogWriter::append`] encoded records and get a [`Ticket`]; one
//! writer thread takes everything queued since its last turn and persists it as ONE write
//! (plus ONE fdatasync under [`FsyncPolicy::Always`], linked to the write on io_uring), then
//! wakes the callers, who return from [`LogWriter::wait`]. While a batch is on its way to disk
//! the next one fills up, so the number of syncs per record falls as load rises.
//!
//! ```text
//!  append ──► queue (LSNs assigned here, in order) ──► writer thread ──► segment file
//!  wait   ◄── unpark ◄── progress: lsn_written_end / lsn_synced_end ◄──┘
//! ```
//!
//! Why `append` takes an `encode` closure: a record's LSN is inside its encoded bytes and
//! covered by its CRC, so the caller must encode with the LSN it is given, and LSN order must
//! equal byte order in the file. `append` runs `encode(lsn_first, queue)` while holding the
//! queue's lock, which makes "take the next LSNs" and "put the bytes in the queue" one step.
//!
//! Why waiters park instead of sharing a condvar: after each turn the writer wakes exactly the
//! threads its progress satisfied (one `unpark` each), and they check that progress in
//! atomics, so tens of woken callers do not queue up on the lock the appenders and the writer
//! need; that lock contention, not the disk, was what bounded the batch rate.
//!
//! Invariants:
//! - LSNs are dense and assigned in queue order; the file holds batches in the same order.
//!   `lsn_synced_end <= lsn_written_end <= lsn_next` at all times, all only increase.
//! - A ticket is reported durable ([`FsyncPolicy::Always`]) only once an fdatasync that
//!   started after its bytes were written has succeeded: `lsn_synced_end` moves only after
//!   such a sync returned success.
//! - At most one batch is in flight; a batch never straddles two segments.
//! - The queue is bounded by [`LogConfig::queue_size_max`] (one append may overshoot it):
//!   appenders wait for space, so memory stays bounded even when nobody waits on tickets.
//!
//! Fault assumptions and what the writer does (see [`crate::io`]):
//! - A failed write or fdatasync POISONS the log: the writer stops, records the first cause,
//!   and every later `append` and every `wait` whose ticket was not already synced returns
//!   [`Error::Poisoned`] with that cause. The sync is never retried (fsyncgate), and no ticket
//!   of the failed batch, nor any later one, is ever reported durable or written.
//! - A crash may lose everything after the last successful sync; under `always` that is only
//!   unacknowledged records. Torn tails are recovery's business (the record CRC catches them).
//! - New segment names are made durable with an fsync of the directory before any record is
//!   written to them.

use std::mem;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError};
use std::task::{Poll, Waker};
use std::time::Duration;

use crate::error::{Error, Operation};
use crate::io::{AppendFile, Clock, DirLock, Storage};
use crate::log::{FsyncPolicy, segment_file_name};
// Through the sync facade, so `--cfg loom` model-checks these handoffs (tests/loom_log.rs).
use crate::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use crate::sync::thread::{self, JoinHandle, Thread};
use crate::sync::{Condvar, Mutex, MutexGuard};

/// How a log is opened: where, how durable, and its limits.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// The data directory; created (with missing parents) if missing.
    pub dir: PathBuf,
    /// When to fdatasync.
    pub fsync: FsyncPolicy,
    /// LSN of the first record this writer appends: recovery's last LSN + 1, or 1 for a new
    /// log. A segment with this name must not exist yet, or must be empty.
    pub lsn_next: u64,
    /// A segment is closed and a new one started before a batch would make it larger than
    /// this (a single larger batch gets a segment of its own).
    pub segment_size_max: u64,
    /// Appenders wait while this many bytes are queued and not yet taken by the writer.
    pub queue_size_max: usize,
    /// Under [`FsyncPolicy::Everysec`], the least time between two background syncs.
    pub everysec_interval: Duration,
}

impl LogConfig {
    /// Defaults: `always`, LSNs from 1, 64 MiB segments, 16 MiB queue, 1 s everysec interval.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            fsync: FsyncPolicy::Always,
            lsn_next: 1,
            segment_size_max: 64 * 1024 * 1024,
            queue_size_max: 16 * 1024 * 1024,
            everysec_interval: Duration::from_secs(1),
        }
    }
}

/// A receipt for appended records: their LSNs, and what [`LogWriter::wait`] waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a ticket must be waited on before the write is acknowledged"]
pub struct Ticket {
    lsn_first: u64,
    lsn_end: u64,
    /// Which log handed it out (a ticket of another log would wait for the wrong LSNs).
    log_id: u64,
}

impl Ticket {
    /// The LSN of the first record of the append.
    #[must_use]
    pub fn lsn_first(&self) -> u64 {
        self.lsn_first
    }

    /// The LSN of the last record of the append.
    #[must_use]
    pub fn lsn_last(&self) -> u64 {
        self.lsn_end - 1
    }
}

/// Counters since the log was opened, for metrics, tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogStats {
    /// Calls to [`LogWriter::append`] that succeeded.
    pub append_count: u64,
    /// Records appended (the sum of their `record_count`).
    pub record_count: u64,
    /// Batches written (one write each).
    pub write_count: u64,
    /// fdatasyncs that succeeded.
    pub sync_count: u64,
    /// Bytes written to segments.
    pub byte_count: u64,
    /// Segments created (the first one included).
    pub segment_count: u64,
}

/// A durable, append-only log with group commit. Thread-safe: share it by reference or `Arc`.
#[derive(Debug)]
pub struct LogWriter {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    queue_size_max: usize,
    /// Distinguishes logs in one process, to catch a ticket waited on at the wrong log.
    log_id: u64,
    dir: PathBuf,
    // Dropped after `Drop::drop` has joined the writer thread: the directory stays locked
    // until nothing can write to it any more.
    _lock: DirLock,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// The writer thread waits here for queued bytes, `closing`, or an everysec deadline.
    work: Condvar,
    /// Appenders wait here for queue space.
    space: Condvar,
    /// Every LSN below this is written (in the OS's page cache at least). Only the writer
    /// thread stores it (`Release`, after the write returned); waiters load it (`Acquire`).
    lsn_written_end: AtomicU64,
    /// Every LSN below this is on disk: covered by a successful fdatasync. Stored like
    /// `lsn_written_end`, after the sync returned success, never before.
    lsn_synced_end: AtomicU64,
    /// Set after `State::failure`: the log is poisoned.
    poisoned: AtomicBool,
    /// Threads parked in `wait`, each with the LSN end it waits for. An entry may outlive its
    /// waiter (who saw the progress before the writer drained it); the writer drains it when
    /// progress covers it, and the stray `unpark` is harmless (parking always loops).
    waiters: Mutex<Vec<Waiter>>,
    fsync: FsyncPolicy,
}

/// A caller waiting for progress: a thread parked in [`LogWriter::wait`], or an event loop
/// that polled with [`LogWriter::poll`] and asked to be woken.
#[derive(Debug)]
struct Waiter {
    lsn_end: u64,
    wake: Wake,
}

/// How a [`Waiter`] is woken.
#[derive(Debug)]
enum Wake {
    Thread(Thread),
    Waker(Waker),
}

impl Wake {
    fn wake(self) {
        match self {
            Self::Thread(thread) => thread.unpark(),
            Self::Waker(waker) => waker.wake(),
        }
    }
}

#[derive(Debug)]
struct State {
    /// Encoded records appended since the writer's last turn.
    queue: Vec<u8>,
    /// The LSN the next appended record gets.
    lsn_next: u64,
    /// The first failure; once set, the log is poisoned.
    failure: Option<Arc<Error>>,
    /// `close` was called: no more appends; the writer drains, syncs and stops.
    closing: bool,
    /// The writer is waiting on `work` and needs a notify to see new bytes.
    writer_idle: bool,
    stats: LogStats,
}

impl LogWriter {
    /// Creates the data directory if missing, locks it, creates the segment for
    /// `config.lsn_next`, and starts the writer thread.
    ///
    /// # Errors
    /// [`Error::Locked`] when another process or log holds the directory; [`Error::Io`] when
    /// the directory or segment cannot be created (e.g. a path component is a file), or the
    /// segment for `lsn_next` already holds bytes.
    pub fn open(
        storage: Arc<dyn Storage>,
        clock: Arc<dyn Clock>,
        config: LogConfig,
    ) -> Result<Self, Error> {
        let dir = config.dir.clone();
        storage.create_dir_all(&dir)?;
        let lock = storage.lock_dir(&dir)?;
        if let Some(parent) = dir.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            // Makes the directory's own name durable if it was just created.
            storage.sync_dir(parent)?;
        }
        let segment = Segment::create(&*storage, &dir, config.lsn_next)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: Vec::new(),
                lsn_next: config.lsn_next,
                failure: None,
                closing: false,
                writer_idle: false,
                stats: LogStats {
                    segment_count: 1,
                    ..LogStats::default()
                },
            }),
            work: Condvar::new(),
            space: Condvar::new(),
            lsn_written_end: AtomicU64::new(config.lsn_next),
            lsn_synced_end: AtomicU64::new(config.lsn_next),
            poisoned: AtomicBool::new(false),
            waiters: Mutex::new(Vec::new()),
            fsync: config.fsync,
        });
        let writer = Writer {
            shared: Arc::clone(&shared),
            storage,
            sync_last_ns: clock.monotonic_ns(),
            clock,
            dir: dir.clone(),
            segment,
            segment_size_max: config.segment_size_max,
            everysec_interval_ns: u64::try_from(config.everysec_interval.as_nanos())
                .unwrap_or(u64::MAX),
            batch: Vec::new(),
            woken: Vec::new(),
            lsn_written_end: config.lsn_next,
            lsn_synced_end: config.lsn_next,
        };
        let thread = thread::Builder::new()
            .name("floe-log-writer".to_owned())
            .spawn(move || writer.run())
            .map_err(|source| Error::io(Operation::WriterThread, &dir, source))?;
        Ok(Self {
            shared,
            thread: Mutex::new(Some(thread)),
            queue_size_max: config.queue_size_max,
            log_id: LOG_ID_NEXT.fetch_add(1, Ordering::Relaxed),
            dir,
            _lock: lock,
        })
    }

    /// Appends `record_count` records: calls `encode(lsn_first, target)`, which must push the
    /// records with LSNs `lsn_first .. lsn_first + record_count` onto `target`, in that order.
    /// Returns at once (unless the queue is full); [`LogWriter::wait`] on the ticket before
    /// acknowledging the write.
    ///
    /// `encode` runs under the log's queue lock: keep it to encoding, and never call the log
    /// from it (that deadlocks). If it panics, the bytes it pushed are removed and no LSN is
    /// used.
    ///
    /// # Errors
    /// [`Error::Poisoned`] after a failed write or sync; [`Error::Closed`] after `close`.
    ///
    /// # Panics
    /// If `record_count` is 0 or `encode` pushes no bytes (programmer errors).
    pub fn append(
        &self,
        record_count: u64,
        encode: impl FnOnce(u64, &mut Vec<u8>),
    ) -> Result<Ticket, Error> {
        assert!(record_count > 0, "an append needs at least one record");
        let shared = &*self.shared;
        let mut state = lock(&shared.state);
        loop {
            if let Some(cause) = &state.failure {
                return Err(Error::Poisoned {
                    cause: Arc::clone(cause),
                });
            }
            if state.closing {
                return Err(Error::Closed);
            }
            if state.queue.len() < self.queue_size_max || state.queue.is_empty() {
                break;
            }
            state = shared
                .space
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let lsn_first = state.lsn_next;
        let Some(lsn_end) = lsn_first.checked_add(record_count) else {
            panic!("LSN space exhausted: lsn_first={lsn_first} record_count={record_count}");
        };
        let queue_size_before = state.queue.len();
        {
            let mut rollback = Rollback {
                queue: &mut state.queue,
                size: queue_size_before,
            };
            encode(lsn_first, &mut *rollback.queue);
            rollback.size = usize::MAX; // Disarmed: keep the bytes.
        }
        assert!(
            state.queue.len() > queue_size_before,
            "encode pushed no bytes for lsn_first={lsn_first} record_count={record_count}"
        );
        state.lsn_next = lsn_end;
        state.stats.append_count += 1;
        state.stats.record_count += record_count;
        let ticket = Ticket {
            lsn_first,
            lsn_end,
            log_id: self.log_id,
        };
        let wake_writer = mem::replace(&mut state.writer_idle, false);
        drop(state);
        if wake_writer {
            shared.work.notify_one();
        }
        Ok(ticket)
    }

    /// Blocks until the ticket's records are as durable as the fsync policy promises:
    /// fdatasync'ed under `always`; written under `everysec` and `no`.
    ///
    /// # Errors
    /// [`Error::Poisoned`] if the log failed before that point. After a failure only tickets
    /// that an fdatasync already covered are reported `Ok`, under every policy.
    ///
    /// Waiting parks the thread; a waiter that found its answer before the writer got to it
    /// may later receive one stray `unpark`, which `std::thread::park` allows for.
    ///
    /// # Panics
    /// If the ticket is from another log (its LSNs were never handed out here).
    pub fn wait(&self, ticket: Ticket) -> Result<(), Error> {
        assert!(
            ticket.log_id == self.log_id,
            "ticket of log {} waited on at log {}",
            ticket.log_id,
            self.log_id
        );
        let shared = &*self.shared;
        if let Some(outcome) = shared.outcome(ticket.lsn_end) {
            return outcome;
        }
        lock(&shared.waiters).push(Waiter {
            lsn_end: ticket.lsn_end,
            wake: Wake::Thread(thread::current()),
        });
        // Registered before this check: progress published after the check finds the entry
        // and unparks us, progress published before it is seen here (the waiters mutex orders
        // the writer's store before its drain, and our push before our load).
        loop {
            if let Some(outcome) = shared.outcome(ticket.lsn_end) {
                return outcome;
            }
            thread::park();
        }
    }

    /// The non-blocking twin of [`LogWriter::wait`], for event loops that must not park:
    /// `Ready` with what `wait` would return if the ticket is settled, else `Pending`, and
    /// `waker` is woken (once, from the writer thread) when progress may have settled it.
    /// A woken caller polls again; a waker may also fire for a ticket that was already
    /// settled when `poll` returned (harmless, as a stray `unpark` is for `wait`).
    ///
    /// # Errors
    /// As [`LogWriter::wait`], inside `Ready`.
    ///
    /// # Panics
    /// If the ticket is from another log.
    pub fn poll(&self, ticket: Ticket, waker: &Waker) -> Poll<Result<(), Error>> {
        assert!(
            ticket.log_id == self.log_id,
            "ticket of log {} polled at log {}",
            ticket.log_id,
            self.log_id
        );
        let shared = &*self.shared;
        if let Some(outcome) = shared.outcome(ticket.lsn_end) {
            return Poll::Ready(outcome);
        }
        lock(&shared.waiters).push(Waiter {
            lsn_end: ticket.lsn_end,
            wake: Wake::Waker(waker.clone()),
        });
        // Checked again after registering, for the reason `wait` gives.
        match shared.outcome(ticket.lsn_end) {
            Some(outcome) => Poll::Ready(outcome),
            None => Poll::Pending,
        }
    }

    /// Counters since the log was opened.
    #[must_use]
    pub fn stats(&self) -> LogStats {
        lock(&self.shared.state).stats
    }

    /// The data directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops accepting appends, writes and fdatasyncs everything queued (under every policy,
    /// `no` included: this is the graceful-shutdown path), and stops the writer thread. Later
    /// calls return the same outcome; waiters on queued tickets are released.
    ///
    /// # Errors
    /// [`Error::Poisoned`] if the log failed, before or during the final flush.
    pub fn close(&self) -> Result<(), Error> {
        let shared = &*self.shared;
        lock(&shared.state).closing = true;
        shared.work.notify_one();
        shared.space.notify_all();
        {
            // Held while joining, so a concurrent `close` returns only after the flush.
            let mut thread = lock(&self.thread);
            if let Some(handle) = thread.take() {
                // A panic in the writer was already turned into a failure by its guard.
                let _panicked = handle.join();
            }
        }
        let state = lock(&shared.state);
        match &state.failure {
            Some(cause) => Err(Error::Poisoned {
                cause: Arc::clone(cause),
            }),
            None => {
                assert!(state.queue.is_empty(), "queue={}", state.queue.len());
                let lsn_synced_end = shared.lsn_synced_end.load(Ordering::Acquire);
                assert!(lsn_synced_end == state.lsn_next, "synced={lsn_synced_end}");
                Ok(())
            }
        }
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        // A failure was already returned to every appender and waiter; Drop cannot return it.
        let _outcome = self.close();
    }
}

/// Removes what a panicking `encode` pushed, unless disarmed (`size == usize::MAX`).
struct Rollback<'a> {
    queue: &'a mut Vec<u8>,
    size: usize,
}

impl Drop for Rollback<'_> {
    fn drop(&mut self) {
        if self.size != usize::MAX {
            self.queue.truncate(self.size);
        }
    }
}

/// The open segment: where the next batch goes.
#[derive(Debug)]
struct Segment {
    file: Box<dyn AppendFile>,
    size: u64,
}

impl Segment {
    /// Creates (or reuses, if empty) the segment whose first LSN is `lsn_first`, and makes its
    /// name durable.
    fn create(storage: &dyn Storage, dir: &Path, lsn_first: u64) -> Result<Self, Error> {
        let path = dir.join(segment_file_name(lsn_first));
        let file = storage.open_append(&path)?;
        let size = file.size()?;
        if size != 0 {
            // An empty one is left by a crash between creating a segment and writing to it.
            return Err(Error::io(
                Operation::Open,
                &path,
                std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    format!(
                        "segment already holds {size} bytes; the log must be recovered before \
                         appending from LSN {lsn_first}"
                    ),
                ),
            ));
        }
        storage.sync_dir(dir)?;
        Ok(Self { file, size })
    }
}

/// What the writer thread does next.
enum Turn {
    /// Write (and under `always`, sync) the batch just taken from the queue.
    Batch { lsn_end: u64 },
    /// An everysec deadline passed with unsynced bytes.
    Sync,
    /// `close` was called and the queue is empty.
    Close,
}

/// The writer thread's own state; only it touches the segment.
struct Writer {
    shared: Arc<Shared>,
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
    dir: PathBuf,
    segment: Segment,
    segment_size_max: u64,
    everysec_interval_ns: u64,
    /// The batch being written; swapped with the queue each turn, so its capacity is reused.
    batch: Vec<u8>,
    /// Waiters to wake after a turn; kept to reuse its capacity.
    woken: Vec<Wake>,
    /// Local copies of the shared progress (only this thread moves them).
    lsn_written_end: u64,
    lsn_synced_end: u64,
    sync_last_ns: u64,
}

impl Writer {
    /// The writer thread's body. Ends on close or on the first failure.
    fn run(mut self) {
        let _guard = PanicGuard {
            shared: Arc::clone(&self.shared),
            dir: self.dir.clone(),
        };
        // Each turn either writes a batch, syncs, or returns; the loop ends with the log.
        loop {
            let outcome = match self.next_turn() {
                Turn::Batch { lsn_end } => self.commit(lsn_end).and_then(|()| {
                    let due = self.clock.monotonic_ns()
                        >= self.sync_last_ns.saturating_add(self.everysec_interval_ns);
                    if self.shared.fsync == FsyncPolicy::Everysec && due {
                        self.sync()
                    } else {
                        Ok(())
                    }
                }),
                Turn::Sync => self.sync(),
                Turn::Close => {
                    if let Err(error) = self.sync() {
                        self.fail(error);
                    }
                    return;
                }
            };
            if let Err(error) = outcome {
                self.fail(error);
                return;
            }
        }
    }

    /// Waits for work and takes it: the whole queue as one batch, a due sync, or close.
    fn next_turn(&mut self) -> Turn {
        let shared = &*self.shared;
        let mut state = lock(&shared.state);
        loop {
            assert!(
                state.failure.is_none(),
                "only the writer poisons, and then it stops"
            );
            if !state.queue.is_empty() {
                assert!(self.batch.is_empty());
                mem::swap(&mut state.queue, &mut self.batch);
                let lsn_end = state.lsn_next;
                drop(state);
                shared.space.notify_all();
                return Turn::Batch { lsn_end };
            }
            if state.closing {
                return Turn::Close;
            }
            state.writer_idle = true;
            let dirty = self.lsn_synced_end < self.lsn_written_end;
            state = if shared.fsync == FsyncPolicy::Everysec && dirty {
                let now_ns = self.clock.monotonic_ns();
                let deadline_ns = self.sync_last_ns.saturating_add(self.everysec_interval_ns);
                if now_ns >= deadline_ns {
                    state.writer_idle = false;
                    return Turn::Sync;
                }
                let timeout = Duration::from_nanos(deadline_ns - now_ns);
                shared
                    .work
                    .wait_timeout(state, timeout)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            } else {
                shared
                    .work
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner)
            };
            state.writer_idle = false;
        }
    }

    /// Writes the taken batch (LSNs `lsn_written_end .. lsn_end`) in one write, synced in the
    /// same submission under `always`, then tells its waiters.
    fn commit(&mut self, lsn_end: u64) -> Result<(), Error> {
        let lsn_first = self.lsn_written_end;
        assert!(
            lsn_first < lsn_end,
            "lsn_first={lsn_first} lsn_end={lsn_end}"
        );
        assert!(!self.batch.is_empty());
        let batch_size = u64::try_from(self.batch.len()).unwrap_or(u64::MAX);
        if self.segment.size > 0
            && self.segment.size.saturating_add(batch_size) > self.segment_size_max
        {
            self.roll(lsn_first)?;
        }
        let synced = self.shared.fsync == FsyncPolicy::Always;
        if synced {
            self.segment
                .file
                .write_at_and_sync(self.segment.size, &self.batch)?;
            self.sync_last_ns = self.clock.monotonic_ns();
        } else {
            self.segment.file.write_at(self.segment.size, &self.batch)?;
        }
        self.segment.size += batch_size;
        self.batch.clear();
        self.lsn_written_end = lsn_end;
        if synced {
            self.lsn_synced_end = lsn_end;
        }
        {
            let mut state = lock(&self.shared.state);
            state.stats.write_count += 1;
            state.stats.sync_count += u64::from(synced);
            state.stats.byte_count += batch_size;
        }
        let shared = &*self.shared;
        let lsn_written_before = shared.lsn_written_end.swap(lsn_end, Ordering::Release);
        assert!(
            lsn_written_before == lsn_first,
            "written={lsn_written_before}"
        );
        if synced {
            shared.lsn_synced_end.store(lsn_end, Ordering::Release);
        }
        shared.wake(false, &mut self.woken);
        Ok(())
    }

    /// Closes the current segment (syncing it first unless the policy is `no`) and starts the
    /// one for `lsn_first`.
    fn roll(&mut self, lsn_first: u64) -> Result<(), Error> {
        if self.shared.fsync != FsyncPolicy::No {
            self.sync()?;
        }
        self.segment = Segment::create(&*self.storage, &self.dir, lsn_first)?;
        lock(&self.shared.state).stats.segment_count += 1;
        Ok(())
    }

    /// fdatasync of the current segment if anything written is not yet synced; then tells
    /// every waiter.
    fn sync(&mut self) -> Result<(), Error> {
        if self.lsn_synced_end == self.lsn_written_end {
            return Ok(());
        }
        self.segment.file.sync_data()?;
        self.sync_last_ns = self.clock.monotonic_ns();
        self.lsn_synced_end = self.lsn_written_end;
        lock(&self.shared.state).stats.sync_count += 1;
        let shared = &*self.shared;
        shared
            .lsn_synced_end
            .store(self.lsn_synced_end, Ordering::Release);
        shared.wake(false, &mut self.woken);
        Ok(())
    }

    /// Poisons the log with its first failure and releases everyone waiting.
    fn fail(&self, error: Error) {
        poison(&self.shared, error);
    }
}

/// Poisons the log if it is not already, and wakes every appender and waiter to see it.
fn poison(shared: &Shared, error: Error) {
    {
        let mut state = lock(&shared.state);
        if state.failure.is_none() {
            state.failure = Some(Arc::new(error));
        }
    }
    shared.poisoned.store(true, Ordering::Release);
    shared.space.notify_all();
    shared.wake(true, &mut Vec::new());
}

impl Shared {
    /// What `wait` returns for a ticket ending at `lsn_end`, or `None` while it must wait:
    /// `Ok` once synced (even after a failure: it is on disk), else the poison if the log
    /// failed, else `Ok` once written when the policy promises no more than that.
    fn outcome(&self, lsn_end: u64) -> Option<Result<(), Error>> {
        if self.lsn_synced_end.load(Ordering::Acquire) >= lsn_end {
            return Some(Ok(()));
        }
        if self.poisoned.load(Ordering::Acquire) {
            let cause = lock(&self.state).failure.clone();
            let Some(cause) = cause else {
                unreachable!("poisoned is set only after failure");
            };
            return Some(Err(Error::Poisoned { cause }));
        }
        if self.fsync != FsyncPolicy::Always
            && self.lsn_written_end.load(Ordering::Acquire) >= lsn_end
        {
            return Some(Ok(()));
        }
        None
    }

    /// Unparks the waiters that the published progress satisfies (all of them if `all`, after
    /// a failure). `woken` is scratch space, left empty: the unparks happen after the waiters
    /// lock is released, so new waiters are not held up by them.
    fn wake(&self, all: bool, woken: &mut Vec<Wake>) {
        let lsn_done_end = if all {
            u64::MAX
        } else if self.fsync == FsyncPolicy::Always {
            self.lsn_synced_end.load(Ordering::Acquire)
        } else {
            self.lsn_written_end.load(Ordering::Acquire)
        };
        {
            let mut waiters = lock(&self.waiters);
            let done = waiters.extract_if(.., |waiter| waiter.lsn_end <= lsn_done_end);
            woken.extend(done.map(|waiter| waiter.wake));
        }
        for wake in woken.drain(..) {
            wake.wake();
        }
    }
}

/// The next log's id.
static LOG_ID_NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Turns a panic of the writer thread into a poisoned log, so no caller waits forever.
struct PanicGuard {
    shared: Arc<Shared>,
    dir: PathBuf,
}

impl Drop for PanicGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let source = std::io::Error::other("the log writer thread panicked");
            poison(
                &self.shared,
                Error::io(Operation::WriterThread, &self.dir, source),
            );
        }
    }
}

/// Locks a mutex, going on after a panic elsewhere: every critical section here leaves the
/// state consistent even when it unwinds (see `Rollback`).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
