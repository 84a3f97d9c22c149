//! WATCH support: a small table of versions that every change to the store bumps, and the
//! log sink that does the bumping on its way to the [`LogBuffer`].
//!
//! Every change the store makes reports a log record (a set, delete, expiry change, clear),
//! evictions included, so the sink sees every write without the store knowing about WATCH.
//! A key's version is the counter of the bucket its `(db, key)` hashes to, plus an epoch that
//! every whole-database change (FLUSHDB, FLUSHALL, SWAPDB) bumps.
//!
//! The table is one for all shards, of atomic counters: a key's bucket is bumped under its
//! shard's lock, and read by WATCH and EXEC under that lock too, so the lock orders them.
//!
//! Invariants: a change to a key always bumps that key's version (no false "unchanged").
//! A change to another key in the same bucket bumps it too: EXEC may abort although the
//! watched key itself did not change. With [`WATCH_BUCKET_COUNT`] buckets that is rare, and
//! a client retries an aborted EXEC anyway; it is the one place floe is more conservative
//! than Redis. Expiry that nobody observed yet reports no record, so EXEC also checks that a
//! watched key that was alive at WATCH is still alive (as Redis 7 does).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use floe_core::codec::record::Record;
use floe_core::hash::wyhash;
use floe_core::store::LogSink;
use floe_core::store::event::Event;

use super::notify::Events;
use crate::log::LogBuffer;

/// Buckets of the version table (a power of two).
pub const WATCH_BUCKET_COUNT: usize = 4096;

/// Seed of the bucket hash (any constant; not the table's, so collisions there and here
/// are independent).
const WATCH_HASH_SEED: u64 = 0x5741_5443_4845_5321;

/// The version counters.
#[derive(Debug)]
pub(super) struct WatchTable {
    buckets: Box<[AtomicU32]>,
    epoch: AtomicU64,
}

impl WatchTable {
    pub(super) fn new() -> Self {
        Self {
            buckets: (0..WATCH_BUCKET_COUNT).map(|_| AtomicU32::new(0)).collect(),
            epoch: AtomicU64::new(0),
        }
    }

    fn bucket(db: u8, key: &[u8]) -> usize {
        // NOTE: the bucket count is a power of two below 2^32, so the mask fits usize.
        #[expect(
            clippy::cast_possible_truncation,
            reason = "masked to WATCH_BUCKET_COUNT"
        )]
        let index =
            (wyhash(key, WATCH_HASH_SEED ^ u64::from(db)) as usize) & (WATCH_BUCKET_COUNT - 1);
        index
    }

    /// The version of `key` in `db` now.
    pub(super) fn version(&self, db: u8, key: &[u8]) -> (u64, u32) {
        let bucket = Self::bucket(db, key);
        (
            self.epoch.load(Ordering::Relaxed),
            self.buckets[bucket].load(Ordering::Relaxed),
        )
    }

    fn touch(&self, db: u8, key: &[u8]) {
        let bucket = Self::bucket(db, key);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
    }
}

/// What WATCH remembers of one key; EXEC compares it with the key's state then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchMark {
    pub(super) db: u8,
    pub(super) key: Vec<u8>,
    pub(super) version: (u64, u32),
    /// The key existed (and had not expired) at WATCH.
    pub(super) alive: bool,
}

/// The store's log sink inside a [`crate::Db`]: bumps the version of every key a record
/// names, then hands the record to the log buffer.
#[derive(Debug)]
pub(crate) struct ShardLog<'b> {
    pub(super) buffer: &'b mut LogBuffer,
    pub(super) watch: &'b WatchTable,
    /// The keyspace events of the operation, published after it (`db/notify.rs`).
    pub(super) events: &'b mut Events,
}

impl LogSink for ShardLog<'_> {
    fn record(&mut self, record: Record<'_>) {
        match &record {
            Record::Set { db, key, .. }
            | Record::Del { db, key }
            | Record::ExpireAt { db, key, .. } => self.watch.touch(*db, key),
            // Whole-database changes: every watch may be affected.
            Record::Clear { .. } | Record::SwapDb { .. } => {
                self.watch.epoch.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.buffer.record(record);
    }

    fn events(&self) -> bool {
        self.events.wanted()
    }

    fn event(&mut self, event: Event<'_>) {
        self.events.push(&event);
    }
}
