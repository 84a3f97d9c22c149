//! What replication needs of a [`Db`] (`crate::replication`, `docs/replication.md`): on a
//! primary, the backlog every append is copied into; on a replica, the read-only switch
//! and [`Db::replicate`], which applies the primary's records through the write path, so
//! the replica logs them in its own log like any write.
//!
//! Invariants: records given to one [`Db::replicate`] call are applied under every lock
//! they need at once and logged as one group, so a primary's group is applied whole or not
//! at all, on the replica and in its log; clients' writes are refused while read-only, the
//! primary's never.
//!
//! `min-replicas-to-write` (Redis's): a primary refuses clients' writes with `NOREPLICAS`
//! while fewer than that many replicas acknowledged within `min-replicas-max-lag` seconds
//! ([`WriteQuorum`]). Off (the default) it costs a write one atomic load.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use floe_core::codec::log::Entry;
use floe_core::codec::record::Record;
use floe_core::error::StoreError;

use super::command::{Access, Hand};
use super::route::Route;
use super::{Db, DbError};
use crate::log::FsyncPolicy;
use crate::replication::Backlog;

/// Redis's `min-replicas-to-write` and `min-replicas-max-lag`, and when each replica last
/// acknowledged (a `FLOESYNC PULL`, which a following replica sends at least every 100 ms).
#[derive(Debug, Default)]
pub(super) struct WriteQuorum {
    /// `min-replicas-to-write`; 0: off.
    replica_count_min: AtomicU64,
    /// `min-replicas-max-lag`, seconds; 0: off (as in Redis, both must be set).
    lag_seconds_max: AtomicU64,
    /// The last acknowledgement of each replica, by `ip:port`.
    acks: Mutex<BTreeMap<String, Instant>>,
}

impl Db {
    /// Sets `min-replicas-to-write` and `min-replicas-max-lag` (seconds); either 0 turns
    /// the refusal off.
    pub fn set_write_quorum(&self, replica_count_min: u64, lag_seconds_max: u64) {
        let quorum = &self.inner.write_quorum;
        quorum
            .lag_seconds_max
            .store(lag_seconds_max, Ordering::Release);
        quorum
            .replica_count_min
            .store(replica_count_min, Ordering::Release);
    }

    /// Records that the replica `name` (`ip:port`) acknowledged just now.
    pub fn replica_acked(&self, name: &str) {
        let mut acks = super::lock(&self.inner.write_quorum.acks);
        match acks.get_mut(name) {
            Some(seen) => *seen = Instant::now(),
            None => {
                acks.insert(name.to_owned(), Instant::now());
            }
        }
    }

    /// `min_slaves_good_slaves`: replicas that acknowledged within `min-replicas-max-lag`
    /// seconds; `None` while the refusal is off (Redis then omits the INFO field).
    #[must_use]
    pub fn good_replica_count(&self) -> Option<u64> {
        let quorum = &self.inner.write_quorum;
        let lag_seconds_max = quorum.lag_seconds_max.load(Ordering::Acquire);
        if quorum.replica_count_min.load(Ordering::Acquire) == 0 || lag_seconds_max == 0 {
            return None;
        }
        let lag_max = Duration::from_secs(lag_seconds_max);
        let acks = super::lock(&quorum.acks);
        let good = acks
            .values()
            .filter(|seen| seen.elapsed() <= lag_max)
            .count();
        Some(u64::try_from(good).unwrap_or(u64::MAX))
    }

    /// Whether a client may write: not on a replica ([`DbError::ReadOnly`]), nor on a
    /// primary short of good replicas ([`DbError::NoReplicas`]).
    pub(super) fn writable_by_clients(&self) -> Result<(), DbError> {
        if self.read_only() {
            return Err(DbError::ReadOnly);
        }
        let wanted = self
            .inner
            .write_quorum
            .replica_count_min
            .load(Ordering::Acquire);
        if wanted > 0
            && let Some(good) = self.good_replica_count()
            && good < wanted
        {
            return Err(DbError::NoReplicas);
        }
        Ok(())
    }

    /// Whether clients' writes are refused (this Db is a replica's).
    #[must_use]
    pub fn read_only(&self) -> bool {
        self.inner.read_only.load(Ordering::Acquire)
    }

    /// Refuses (`true`) or accepts again (`false`, a promotion) clients' writes.
    pub fn set_read_only(&self, read_only: bool) {
        self.inner.read_only.store(read_only, Ordering::Release);
    }

    /// The backlog, made on the first call (`size_max` bytes) and kept: from then on every
    /// append is copied into it, in LSN order. With persistence off the shards' buffers,
    /// which dropped every record, keep them from now on (under every shard's lock, so no
    /// write after this call is missed) and each append goes to the backlog alone, with
    /// LSNs from 1.
    #[must_use]
    pub fn backlog_enable(&self, size_max: u64) -> Arc<Backlog> {
        let inner = &*self.inner;
        let backlog = Arc::clone(
            inner
                .backlog
                .get_or_init(|| Arc::new(Backlog::new(size_max))),
        );
        if inner.log.is_none() {
            let mut shards: Vec<_> = inner.shards.iter().map(super::lock).collect();
            let mut appender = super::lock(&inner.appender);
            appender.spare.enable();
            for shard in &mut shards {
                shard.buffer.enable();
            }
        }
        backlog
    }

    /// Turns the backlog on and fills it with the newest entries of the log, up to about
    /// `size_max` bytes: for a primary restarted cleanly with its replication ID
    /// (`replication/resume.rs`), so its replicas resume from where they were. Nothing is
    /// appended meanwhile (the append-order lock is held).
    ///
    /// # Errors
    /// [`DbError::Runtime`] if a segment cannot be listed or read: the backlog then holds
    /// what was pushed before (its replicas further behind sync in full).
    pub fn backlog_fill(&self, size_max: u64) -> Result<(), DbError> {
        let backlog = self.backlog_enable(size_max);
        let inner = &*self.inner;
        let Some(storage) = &inner.storage else {
            return Ok(());
        };
        let appender = super::lock(&inner.appender);
        let listing = crate::log::recovery::Listing::read(&**storage, &inner.dir)?;
        // The newest segments holding at least `size_max` bytes, oldest first.
        let mut chosen = Vec::new();
        let mut size = 0;
        for (_, name) in listing.segments.iter().rev() {
            if size >= size_max {
                break;
            }
            let path = inner.dir.join(name);
            size += storage.size(&path)?;
            chosen.push(path);
        }
        for path in chosen.iter().rev() {
            let bytes = storage.read(path)?;
            let mut scanner = floe_core::codec::log::LogScanner::new(&bytes, None);
            let mut start = 0;
            while let Some(entry) = scanner.next() {
                let end = usize::try_from(scanner.accepted_size()).unwrap_or(bytes.len());
                let (lsn_first, lsn_end) = match entry {
                    Entry::Record { lsn, .. } => (lsn, lsn),
                    Entry::Group(group) => (group.lsn_first, group.commit_lsn),
                };
                if lsn_end <= appender.lsn_last {
                    backlog.push(lsn_first, lsn_end - lsn_first + 1, &bytes[start..end]);
                }
                start = end;
            }
        }
        Ok(())
    }

    /// A snapshot for a replica's full sync on a Db with persistence off, held in memory
    /// (such a Db writes no file): its LSN and its bytes, as a snapshot file would hold
    /// them. Cut and walked as [`Db::save`] does, so writes pause at most for one shard.
    ///
    /// # Errors
    /// [`DbError::Runtime`] if the Db is closed.
    pub fn snapshot_image(&self) -> Result<(u64, Vec<u8>), DbError> {
        self.inner.snapshot_image()
    }

    /// The backlog, if a replica ever asked for one.
    #[must_use]
    pub fn backlog(&self) -> Option<&Arc<Backlog>> {
        self.inner.backlog.get()
    }

    /// Applies a primary's `records`, in order, as one write (one group in this Db's log),
    /// as recovery routes them: a record naming a key to the key's shard, a FLUSH or
    /// SWAPDB to every shard. Returns once the write is as durable as this Db's fsync
    /// policy promises.
    ///
    /// # Errors
    /// [`DbError::Store`] if the store cannot hold them (too small for the primary's data):
    /// the records before the failing one stay applied; [`DbError::Runtime`] if the log
    /// failed or is closed.
    pub fn replicate(&self, records: &[Record<'_>]) -> Result<(), DbError> {
        if records.is_empty() {
            return Ok(());
        }
        let every = records
            .iter()
            .any(|record| matches!(record, Record::Clear { .. } | Record::SwapDb { .. }));
        let route = if every {
            self.route_all()
        } else {
            Route::of_keys(self.shard_count(), records.iter().filter_map(record_key))
        };
        let (applied, durability) =
            self.run(Access::Write, Hand::Embedded, route, |shards, now, log| {
                records
                    .iter()
                    .try_for_each(|record| match record_key(record) {
                        Some(key) => shards.store_for(key).apply_logged(record, now, log),
                        None => (0..shards.count()).try_for_each(|shard| {
                            shards.store(shard).apply_logged(record, now, log)
                        }),
                    })
            })?;
        if let super::Durability::Appended(ticket) = durability
            && self.inner.config.fsync == FsyncPolicy::Always
        {
            self.wait(ticket)?;
        }
        applied.map_err(|error: StoreError| DbError::Store(error))
    }
}

/// The key whose shard a record belongs to; `None` for a FLUSH or SWAPDB.
fn record_key<'r>(record: &Record<'r>) -> Option<&'r [u8]> {
    record.route_key()
}

impl Db {
    /// The LSN of the last record appended to the log (with persistence off: to the
    /// backlog, 0 until a replica asked for one).
    #[must_use]
    pub fn lsn_last(&self) -> u64 {
        super::lock(&self.inner.appender).lsn_last
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use floe_core::codec::snapshot::SnapshotView;

    use super::*;
    use crate::db::DbConfig;
    use crate::replication::{Read, decode_entries};

    /// With persistence off, records reach the backlog (with LSNs from 1) only once it is
    /// enabled, and a snapshot in memory holds everything up to its LSN.
    #[test]
    fn persistence_off_feeds_the_backlog_and_cuts_a_snapshot_in_memory() {
        let db = Db::open(
            "unused",
            DbConfig {
                persistence: false,
                ..DbConfig::new(1 << 20, 1000)
            },
        )
        .unwrap();
        db.set(b"before", b"1").unwrap();
        assert_eq!(db.lsn_last(), 0, "nothing is numbered before a backlog");
        let backlog = db.backlog_enable(1 << 20);
        assert_eq!(
            backlog.read(1, db.lsn_last() + 1, 1 << 20),
            Read::Bytes(Vec::new())
        );
        db.set(b"a", b"2").unwrap();
        db.set_many(&[(b"b".as_slice(), b"3".as_slice()), (b"c", b"4")])
            .unwrap();
        // LSN 1: SET a; 2..=4: the MSET's two intents and its commit.
        assert_eq!(db.lsn_last(), 4);
        let Read::Bytes(bytes) = backlog.read(1, db.lsn_last() + 1, 1 << 20) else {
            panic!("the backlog lost LSN 1");
        };
        let (records, last) = decode_entries(&bytes, 0).unwrap();
        assert_eq!((records.len(), last), (3, 4));

        let (lsn, image) = db.snapshot_image().unwrap();
        assert_eq!(lsn, 4);
        let view = SnapshotView::new_checked(&image).unwrap();
        assert_eq!(view.header().lsn, 4);
        let mut keys: Vec<&[u8]> = view.items().map(|item| item.key).collect();
        keys.sort_unstable();
        assert_eq!(keys, [b"a".as_slice(), b"b", b"before", b"c"]);

        db.close().unwrap();
        assert!(db.snapshot_image().is_err(), "a closed Db cuts no snapshot");
    }
}
