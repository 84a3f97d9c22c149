//! The flusher of a [`Db`](super::Db) under `everysec` and `no`: a thread that appends the
//! records writes left in the shard's buffer, [`FLUSH_DELAY`] after the first of them asked.
//!
//! Appending every write on its own would wake the log writer thread once per write
//! (measured: that context switch cost several times the store operation itself), so writes
//! leave their records pending and ask the flusher once; it lets more gather, then appends
//! them all in one append, in apply order, under the store lock like any other append.
//!
//! Invariants: `requested` is cleared before the append, so a write after that point asks
//! again and its records are never left behind; the thread ends only when `stop` is set, and
//! `close` appends whatever is pending after it ended.
//!
//! Fault assumptions: a failed append poisons the log (`Inner::fail` records it) and the next
//! write returns it; a panic in the flusher leaves the records pending for `close`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{JoinHandle, Thread};
use std::time::Duration;

use super::{DbError, Inner, lock};
use crate::error::{Error, Operation};

/// How long the flusher lets records gather before it appends them: the log writer is
/// woken about once per interval under load, not once per write.
pub(super) const FLUSH_DELAY: Duration = Duration::from_micros(100);

/// The flusher thread's handles and flags, held by the `Db`'s `Inner`.
#[derive(Debug, Default)]
pub(super) struct Flusher {
    /// The flusher thread (`everysec` and `no` with persistence on), to join on close.
    join_handle: Mutex<Option<JoinHandle<()>>>,
    /// The flusher thread, to unpark.
    thread: OnceLock<Thread>,
    /// A write asked the flusher for an append it has not started yet.
    requested: AtomicBool,
    /// The flusher must end.
    stop: AtomicBool,
}

impl Flusher {
    /// Whether a write that left records pending should ask the flusher: no request is
    /// outstanding. Read under the store lock; [`Flusher::request`] follows after it.
    pub(super) fn request_wanted(&self) -> bool {
        !self.requested.load(Ordering::Acquire)
    }

    /// Asks the flusher for an append and wakes it, unless another write asked first.
    pub(super) fn request(&self) {
        if !self.requested.swap(true, Ordering::AcqRel)
            && let Some(flusher) = self.thread.get()
        {
            flusher.unpark();
        }
    }
}

impl Inner {
    /// Starts the flusher thread: it appends what writes left pending, [`FLUSH_DELAY`]
    /// after the first of them asked.
    pub(super) fn flusher_start(inner: &Arc<Self>) -> Result<(), DbError> {
        let worker = Arc::clone(inner);
        let thread = std::thread::Builder::new()
            .name("floe-flusher".to_owned())
            .spawn(move || Self::flusher_run(&worker))
            .map_err(|source| {
                DbError::Runtime(Error::io(Operation::WriterThread, &inner.dir, source))
            })?;
        let _set = inner.flusher.thread.set(thread.thread().clone());
        *lock(&inner.flusher.join_handle) = Some(thread);
        Ok(())
    }

    /// The flusher's loop: park until asked, let records gather, append them. Ends when
    /// `stop` is set (and the thread unparked).
    fn flusher_run(inner: &Arc<Self>) {
        let this = &**inner;
        loop {
            std::thread::park();
            if this.flusher.stop.load(Ordering::Acquire) {
                return;
            }
            if !this.flusher.requested.load(Ordering::Acquire) {
                continue; // A spurious wake-up.
            }
            std::thread::sleep(FLUSH_DELAY);
            // Cleared before the append: a write after this point asks again.
            this.flusher.requested.store(false, Ordering::Release);
            if let Err(error) = this.append_dirty() {
                // `fail` recorded it: the next write returns it.
                tracing::error!(
                    "appending to the log of `{}` failed: {error}",
                    this.dir.display()
                );
            }
            Self::snapshot_start_if_wanted(inner);
        }
    }

    /// Stops the flusher thread, if there is one.
    pub(super) fn flusher_end(&self) {
        self.flusher.stop.store(true, Ordering::Release);
        if let Some(flusher) = self.flusher.thread.get() {
            flusher.unpark();
        }
        if let Some(thread) = lock(&self.flusher.join_handle).take() {
            // A panic in the flusher left the records pending; close appends them.
            let _panicked = thread.join();
        }
    }
}
