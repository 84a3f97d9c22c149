//! The primary's backlog: a copy of the newest appends to its log, bytes exactly as the
//! log holds them (whole, checksummed records and groups), kept in memory up to
//! `repl-backlog-size` so replicas can fetch everything above the LSN they applied.
//!
//! Invariants: appends are pushed in LSN order (the Db pushes under the log's queue lock),
//! each as one chunk covering LSNs `lsn_first .. lsn_end`; the chunks kept are contiguous;
//! the oldest chunk is dropped only while the rest still exceed the size limit (the newest
//! is always kept). A read either returns bytes that start at or before the wanted LSN and
//! hold every LSN from there on, or says the LSN is gone (a full sync is needed).
//!
//! A pull that finds nothing new parks its replica's connection (`server::blocked`): its
//! worker asks [`Backlog::wake_on_push`], and the next push wakes it (once).

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::Waker;

/// The newest appends of the primary's log.
#[derive(Debug)]
pub struct Backlog {
    state: Mutex<State>,
    size_max: u64,
}

#[derive(Debug, Default)]
struct State {
    chunks: VecDeque<Chunk>,
    /// Bytes held in `chunks`.
    size: u64,
    /// One past the last LSN pushed (`None` before the first push).
    lsn_end: Option<u64>,
    /// Workers with a pull parked: woken by the next push.
    wakers: Vec<Waker>,
}

#[derive(Debug)]
struct Chunk {
    lsn_first: u64,
    lsn_end: u64,
    bytes: Vec<u8>,
}

/// What a read of the backlog found.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// Bytes of whole entries starting at or before the wanted LSN (empty: nothing newer
    /// yet); the replica skips the entries it has.
    Bytes(Vec<u8>),
    /// The wanted LSN is no longer (or was never) here: the replica needs a full sync.
    Gone,
}

impl Backlog {
    /// An empty backlog that keeps about `size_max` bytes.
    #[must_use]
    pub fn new(size_max: u64) -> Self {
        Self {
            state: Mutex::new(State::default()),
            size_max,
        }
    }

    /// Copies one append: `record_count` LSNs from `lsn_first`, encoded as `bytes`.
    pub fn push(&self, lsn_first: u64, record_count: u64, bytes: &[u8]) {
        let mut state = self.lock();
        let lsn_end = lsn_first.saturating_add(record_count);
        if state.lsn_end.is_some_and(|end| end != lsn_first) {
            // Not contiguous (never expected): what is kept cannot be served across it.
            state.chunks.clear();
            state.size = 0;
        }
        state.lsn_end = Some(lsn_end);
        state.size += bytes.len() as u64;
        state.chunks.push_back(Chunk {
            lsn_first,
            lsn_end,
            bytes: bytes.to_vec(),
        });
        while state.size > self.size_max && state.chunks.len() > 1 {
            if let Some(dropped) = state.chunks.pop_front() {
                state.size -= dropped.bytes.len() as u64;
            }
        }
        let wakers = std::mem::take(&mut state.wakers);
        drop(state);
        for waker in wakers {
            waker.wake();
        }
    }

    /// Whether a read from `lsn_wanted` would find something: bytes, or that it is gone.
    /// `false` only where a read would return no bytes (a parked pull keeps waiting).
    #[must_use]
    pub fn has_news(&self, lsn_wanted: u64) -> bool {
        self.lock().lsn_end.is_some_and(|end| end != lsn_wanted)
    }

    /// Wakes `waker` at the next push (once).
    pub fn wake_on_push(&self, waker: &Waker) {
        let mut state = self.lock();
        if !state.wakers.iter().any(|known| known.will_wake(waker)) {
            state.wakers.push(waker.clone());
        }
    }

    /// Bytes holding every LSN from `lsn_wanted` on, up to about `size_max` bytes (at least
    /// one chunk). `lsn_next` is the Db's next LSN, for a backlog nothing was pushed to yet.
    #[must_use]
    pub fn read(&self, lsn_wanted: u64, lsn_next: u64, size_max: usize) -> Read {
        let state = self.lock();
        let Some(lsn_end) = state.lsn_end else {
            return if lsn_wanted == lsn_next {
                Read::Bytes(Vec::new())
            } else {
                Read::Gone
            };
        };
        if lsn_wanted == lsn_end {
            return Read::Bytes(Vec::new());
        }
        let kept_first = state
            .chunks
            .front()
            .map_or(lsn_end, |chunk| chunk.lsn_first);
        if lsn_wanted < kept_first || lsn_wanted > lsn_end {
            return Read::Gone;
        }
        let mut bytes = Vec::new();
        for chunk in state
            .chunks
            .iter()
            .filter(|chunk| chunk.lsn_end > lsn_wanted)
        {
            if !bytes.is_empty() && bytes.len() + chunk.bytes.len() > size_max {
                break;
            }
            bytes.extend_from_slice(&chunk.bytes);
        }
        Read::Bytes(bytes)
    }

    /// Bytes held now.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.lock().size
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_serve_what_is_kept_and_say_gone_otherwise() {
        let backlog = Backlog::new(10);
        assert_eq!(backlog.read(5, 5, 100), Read::Bytes(Vec::new()));
        assert_eq!(backlog.read(4, 5, 100), Read::Gone);
        backlog.push(5, 2, b"aaaa"); // LSNs 5, 6.
        backlog.push(7, 1, b"bbbb"); // LSN 7.
        assert_eq!(backlog.read(5, 0, 100), Read::Bytes(b"aaaabbbb".to_vec()));
        assert_eq!(backlog.read(6, 0, 100), Read::Bytes(b"aaaabbbb".to_vec()));
        assert_eq!(backlog.read(7, 0, 100), Read::Bytes(b"bbbb".to_vec()));
        assert_eq!(backlog.read(8, 0, 100), Read::Bytes(Vec::new()));
        assert_eq!(backlog.read(9, 0, 100), Read::Gone, "ahead of the primary");
        assert_eq!(
            backlog.read(5, 0, 4),
            Read::Bytes(b"aaaa".to_vec()),
            "size limit"
        );
        backlog.push(8, 1, b"cccc"); // Over 10 bytes: the oldest goes.
        assert_eq!(backlog.read(5, 0, 100), Read::Gone);
        assert_eq!(backlog.read(7, 0, 100), Read::Bytes(b"bbbbcccc".to_vec()));
        assert_eq!(backlog.size(), 8);
    }

    /// Counts its wakes.
    struct Counter(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Counter {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn a_push_wakes_the_parked_once_and_brings_news() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let backlog = Backlog::new(100);
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&counter));
        assert!(!backlog.has_news(5), "nothing pushed yet");
        backlog.wake_on_push(&waker);
        backlog.wake_on_push(&waker); // The same worker once.
        backlog.push(5, 1, b"aaaa");
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert!(backlog.has_news(5));
        assert!(!backlog.has_news(6), "the replica has it all");
        assert!(backlog.has_news(9), "ahead: a read says gone");
        backlog.push(6, 1, b"bbbb");
        assert_eq!(counter.0.load(Ordering::SeqCst), 1, "woken once per ask");
    }
}
