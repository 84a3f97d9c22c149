//! What replication needs of a [`Db`] (`crate::replication`, `docs/replication.md`): on a
//! primary, the backlog every append is copied into; on a replica, the read-only switch
//! and [`Db::replicate`], which applies the primary's records through the write path, so
//! the replica logs them in its own log like any write.
//!
//! Invariants: records given to one [`Db::replicate`] call are applied under every lock
//! they need at once and logged as one group, so a primary's group is applied whole or not
//! at all, on the replica and in its log; clients' writes are refused while read-only, the
//! primary's never.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use floe_core::codec::record::Record;
use floe_core::error::StoreError;

use super::command::{Access, Hand};
use super::route::Route;
use super::{Db, DbError};
use crate::log::FsyncPolicy;
use crate::replication::Backlog;

impl Db {
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
    /// append is copied into it, in LSN order.
    #[must_use]
    pub fn backlog_enable(&self, size_max: u64) -> Arc<Backlog> {
        Arc::clone(
            self.inner
                .backlog
                .get_or_init(|| Arc::new(Backlog::new(size_max))),
        )
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

/// The key a record names; `None` for a FLUSH or SWAPDB.
fn record_key<'r>(record: &Record<'r>) -> Option<&'r [u8]> {
    match *record {
        Record::Set { key, .. } | Record::Del { key, .. } | Record::ExpireAt { key, .. } => {
            Some(key)
        }
        Record::Clear { .. } | Record::SwapDb { .. } => None,
    }
}

impl Db {
    /// The LSN of the last record appended to the log (0 with persistence off).
    #[must_use]
    pub fn lsn_last(&self) -> u64 {
        super::lock(&self.inner.appender).lsn_last
    }
}
