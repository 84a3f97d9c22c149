//! The write path of a [`Db`]: which shards an operation locks, running it under those
//! locks with the time and a log sink, and handing its records to the log (see the module
//! documentation of `db.rs` for the order this keeps).
//!
//! Invariants: an operation on one shard leaves its records in that shard's buffer (marked
//! dirty) or appends them before the shard is unlocked, taking the append-order lock first
//! (lock coupling); an operation on several shards appends every held shard's pending
//! records, its own group last, before it unlocks any of them; reads are never refused.

use std::sync::MutexGuard;
use std::sync::atomic::Ordering;

use floe_core::constants::EXPIRE_STEP_SLOTS_DEFAULT;
use floe_core::store::Shards;
use floe_core::time::Timestamp;

use super::command::{Access, Hand};
use super::notify::Events;
use super::route::{Route, ShardSet};
use super::watch::ShardLog;
use super::{
    Appender, Db, DbError, Durability, EXPIRE_WRITE_INTERVAL, Inner, PENDING_SIZE_MAX, Shard, lock,
};
use crate::log::{FsyncPolicy, LogBuffer, Ticket};
use crate::memory::with_shards;

impl Db {
    /// The shard of `key`.
    pub(super) fn route_key(&self, key: &[u8]) -> Route {
        Route::of_key(self.shard_count(), key)
    }

    /// Every shard.
    pub(super) fn route_all(&self) -> Route {
        Route::all(self.shard_count())
    }

    /// Runs a read under the locks of `route`'s shards.
    pub(super) fn read<R>(
        &self,
        route: Route,
        operation: impl for<'s> FnOnce(&mut dyn Shards<'s>, Timestamp) -> R,
    ) -> R {
        let ran = self.run(Access::Read, Hand::Embedded, route, |shards, now, _| {
            operation(shards, now)
        });
        match ran {
            Ok((result, _)) => result,
            Err(error) => unreachable!("a read is never refused: {error}"),
        }
    }

    /// The write path of the key-value methods; see the module documentation. Under
    /// `always` it returns once its records are fdatasync'ed; under `everysec` and `no`, once
    /// they are in the Db's buffer (the flusher appends them within [`flusher::FLUSH_DELAY`]).
    pub(super) fn write<R>(
        &self,
        route: Route,
        operation: impl for<'s> FnOnce(&mut dyn Shards<'s>, Timestamp, &mut ShardLog<'_>) -> R,
    ) -> Result<R, DbError> {
        let (result, durability) = self.run(Access::Write, Hand::Embedded, route, operation)?;
        if let Durability::Appended(ticket) = durability
            && self.inner.config.fsync == FsyncPolicy::Always
        {
            self.wait(ticket)?;
        }
        Ok(result)
    }

    /// Runs `operation` under the locks of `route`'s shards with the time and the log sink
    /// to use, then hands its records on as `hand` says. Writes are refused before they run
    /// when the log has failed or the Db is closed; reads always run.
    pub(super) fn run<R>(
        &self,
        access: Access,
        hand: Hand,
        route: Route,
        operation: impl for<'s> FnOnce(&mut dyn Shards<'s>, Timestamp, &mut ShardLog<'_>) -> R,
    ) -> Result<(R, Durability), DbError> {
        let inner = &*self.inner;
        if access == Access::Write {
            inner.check_writable()?;
        }
        let count = self.shard_count();
        let mut events = inner.notify.events();
        let (result, durability) = match route {
            Route::None => {
                // Nothing of the store is touched, so nothing is logged: a disabled buffer
                // drops whatever would come.
                let mut buffer = LogBuffer::new(false);
                let mut log = ShardLog {
                    buffer: &mut buffer,
                    watch: &inner.watch,
                    events: &mut events,
                };
                let now = inner.clock.now_ms();
                let result = with_shards(count, &mut [], |shards| operation(shards, now, &mut log));
                (result, Durability::Done)
            }
            Route::One(index) => self.run_one(index, (access, hand), &mut events, operation)?,
            Route::Many(set) => inner.run_many(set, access, &mut events, operation)?,
        };
        // Every lock is released: subscribers' mailboxes are not filled under a shard's.
        inner.notify.publish(&events);
        if durability != Durability::Done {
            Inner::snapshot_start_if_wanted(&self.inner);
        }
        Ok((result, durability))
    }

    /// [`Db::run`] on one shard: the common case, with no allocation.
    pub(super) fn run_one<R>(
        &self,
        index: usize,
        (access, hand): (Access, Hand),
        events: &mut Events,
        operation: impl for<'s> FnOnce(&mut dyn Shards<'s>, Timestamp, &mut ShardLog<'_>) -> R,
    ) -> Result<(R, Durability), DbError> {
        let inner = &*self.inner;
        let mut guard = lock(&inner.shards[index]);
        let shard = &mut *guard;
        if access == Access::Write {
            inner.snapshot_walk(shard);
        }
        let now = inner.clock.now_ms();
        // Active expiry rides on writes, a bounded step every EXPIRE_WRITE_INTERVAL of a
        // shard's writes: memory is reclaimed where it is needed, with no timer thread (which
        // would also make the simulator's runs depend on thread timing). Reads expire lazily
        // and do not count. Every other step goes to another shard in turn (below), so a
        // shard that nobody writes still has its expired keys removed.
        let (mut expire_here, mut expire_other) = (false, false);
        if access == Access::Write {
            shard.writes_since_expiry += 1;
            if shard.writes_since_expiry >= EXPIRE_WRITE_INTERVAL {
                shard.writes_since_expiry = 0;
                shard.expire_steps = shard.expire_steps.wrapping_add(1);
                expire_other = inner.shards.len() > 1 && shard.expire_steps.is_multiple_of(2);
                expire_here = !expire_other;
            }
        }
        let mut log = ShardLog {
            buffer: &mut shard.buffer,
            watch: &inner.watch,
            events,
        };
        let append_count_before = log.buffer.append_count;
        let mut locked = [(index, &mut shard.store)];
        let result = with_shards(inner.shards.len(), &mut locked, |shards| {
            if expire_here {
                let store = shards.store(index);
                store.expire_step(now, EXPIRE_STEP_SLOTS_DEFAULT);
                store.take_expired(&mut log);
            }
            let result = operation(shards, now, &mut log);
            // What the operation expired outside a command (the command table took its own).
            shards.store(index).take_expired(&mut log);
            result
        });
        // Records are logged even when the operation returned an error: an eviction may
        // have happened before the store refused.
        shard.buffer.seal();
        let logged = shard.buffer.append_count != append_count_before;
        let small = shard.buffer.encoded_size < PENDING_SIZE_MAX;
        let durability = if !logged {
            // This operation logged nothing (records of earlier ones may wait).
            drop(guard);
            Durability::Done
        } else {
            match hand {
                // A door commits once per batch of requests (Db::commit). With persistence
                // off (records kept for a backlog only) there is nothing to wait for: the
                // append below copies them to the backlog at once, and the reply goes.
                Hand::Door if small && inner.log.is_some() => {
                    inner.dirty.mark(index);
                    drop(guard);
                    Durability::Buffered
                }
                Hand::Embedded if small && inner.deferred.load(Ordering::Acquire) => {
                    inner.dirty.mark(index);
                    let wake = inner.flusher.request_wanted();
                    drop(guard);
                    if wake {
                        inner.flusher.request();
                    }
                    Durability::Buffered
                }
                _ => match inner.append(guard)? {
                    Some(ticket) => Durability::Appended(ticket),
                    None => Durability::Done,
                },
            }
        };
        if expire_other {
            inner.expire_other_shard(index, now, events);
        }
        Ok((result, durability))
    }
}

impl Inner {
    /// [`Db::run`] on several shards, locked in ascending order. A write's records (one
    /// group) go to the first shard's buffer and are appended before the locks are released,
    /// after every other held shard's pending records (see the module documentation).
    pub(super) fn run_many<R>(
        &self,
        set: ShardSet,
        access: Access,
        events: &mut Events,
        operation: impl for<'s> FnOnce(&mut dyn Shards<'s>, Timestamp, &mut ShardLog<'_>) -> R,
    ) -> Result<(R, Durability), DbError> {
        let mut guards: Vec<MutexGuard<'_, Shard>> =
            set.iter().map(|index| lock(&self.shards[index])).collect();
        if access == Access::Write {
            for shard in &mut guards {
                self.snapshot_walk(shard);
            }
        }
        let now = self.clock.now_ms();
        let (result, logged) = {
            let (first, rest) = guards
                .split_first_mut()
                .expect("a route of several shards holds at least one");
            let first = &mut **first;
            let mut locked = Vec::with_capacity(rest.len() + 1);
            locked.push((first.index, &mut first.store));
            for shard in rest.iter_mut() {
                let shard = &mut **shard;
                locked.push((shard.index, &mut shard.store));
            }
            let mut log = ShardLog {
                buffer: &mut first.buffer,
                watch: &self.watch,
                events,
            };
            let append_count_before = log.buffer.append_count;
            let result = with_shards(self.shards.len(), &mut locked, |shards| {
                let result = operation(shards, now, &mut log);
                shards.with_all(&mut |stores| {
                    for store in stores.iter_mut().flatten() {
                        store.take_expired(&mut log);
                    }
                });
                result
            });
            log.buffer.seal();
            (result, log.buffer.append_count != append_count_before)
        };
        if !logged {
            return Ok((result, Durability::Done));
        }
        let mut appender = lock(&self.appender);
        let mut ticket = None;
        // The first shard's buffer ends with this operation's group: it goes last.
        let order = (1..guards.len()).chain([0]);
        for position in order {
            let shard = &mut *guards[position];
            if let Some(appended) = self.append_locked(shard, &mut appender)? {
                ticket = Some(appended);
            }
        }
        drop(guards);
        Ok((
            result,
            ticket.map_or(Durability::Done, Durability::Appended),
        ))
    }

    /// One active-expiry step on the next shard in turn (skipped when that is `index`, the
    /// caller's own), if nobody holds it: so a shard with no writes of its own still loses
    /// its expired keys.
    pub(super) fn expire_other_shard(&self, index: usize, now: Timestamp, events: &mut Events) {
        let count = self.shards.len();
        if count < 2 {
            return;
        }
        let other = self.expire_next.fetch_add(1, Ordering::Relaxed) % count;
        if other == index {
            return;
        }
        // A shard a snapshot still has to walk is left as the cut saw it.
        if let Ok(mut shard) = self.shards[other].try_lock()
            && !shard.snapshot_pending
        {
            shard.store.with(|store| {
                store.expire_step(now, EXPIRE_STEP_SLOTS_DEFAULT);
                store.take_expired(events);
            });
        }
    }

    /// Appends the records waiting in the shard's buffer, in one append, and releases the
    /// shard's lock as early as order allows: the append-order lock is taken while the shard
    /// lock is still held (so appends happen in the order the shard applied the writes),
    /// the buffers are swapped, and the shard lock is released before encoding. Returns
    /// the append's ticket, `None` if nothing waited.
    pub(super) fn append(
        &self,
        mut shard: MutexGuard<'_, Shard>,
    ) -> Result<Option<Ticket>, DbError> {
        if shard.buffer.pending_is_empty() {
            return Ok(None);
        }
        let mut appender = lock(&self.appender);
        std::mem::swap(&mut shard.buffer, &mut appender.spare);
        self.dirty.clear(shard.index);
        drop(shard);
        self.append_spare(&mut appender)
    }

    /// Appends the pending records of every shard marked dirty (the flusher, a door's
    /// commit).
    pub(super) fn append_dirty(&self) -> Result<(), DbError> {
        for index in self.dirty.get().iter() {
            self.append(lock(&self.shards[index]))?;
        }
        Ok(())
    }

    /// [`Inner::append`] for a caller that keeps both locks (a snapshot, a multi-shard
    /// write).
    pub(super) fn append_locked(
        &self,
        shard: &mut Shard,
        appender: &mut Appender,
    ) -> Result<Option<Ticket>, DbError> {
        if shard.buffer.pending_is_empty() {
            return Ok(None);
        }
        std::mem::swap(&mut shard.buffer, &mut appender.spare);
        self.dirty.clear(shard.index);
        self.append_spare(appender)
    }

    /// Encodes `appender.spare` into the log and empties it. With persistence off there is
    /// no log: once a replica asked for a backlog, the records get the next LSNs and are
    /// encoded into the backlog alone (the buffers keep records only from then on).
    pub(super) fn append_spare(&self, appender: &mut Appender) -> Result<Option<Ticket>, DbError> {
        let Some(log) = &self.log else {
            if let Some(backlog) = self.backlog.get()
                && !appender.spare.pending_is_empty()
            {
                let lsn_first = appender.lsn_last + 1;
                let mut bytes = std::mem::take(&mut appender.backlog_bytes);
                bytes.clear();
                appender.spare.encode(lsn_first, &mut bytes);
                backlog.push(lsn_first, appender.spare.append_count, &bytes);
                appender.lsn_last += appender.spare.append_count;
                appender.backlog_bytes = bytes;
            }
            appender.spare.clear();
            return Ok(None);
        };
        let buffer = &appender.spare;
        let reserve = self.queue_reserve;
        let appended = log.append(buffer.append_count, |lsn_first, target| {
            if target.capacity() < reserve {
                // Once per queue buffer: a batch larger than any seen before must not grow
                // the queue in the steady state (no allocation per operation).
                target.reserve(reserve - target.len());
            }
            let start = target.len();
            buffer.encode(lsn_first, target);
            // Under the log's queue lock, so the backlog gets appends in LSN order, and
            // every append after the backlog was made.
            if let Some(backlog) = self.backlog.get() {
                backlog.push(lsn_first, buffer.append_count, &target[start..]);
            }
        });
        let size = buffer.encoded_size;
        appender.spare.clear();
        match appended {
            Ok(ticket) => {
                appender.lsn_last = ticket.lsn_last();
                appender.log_size += size;
                appender.ticket_last = Some(ticket);
                if self.snapshot_due(appender.log_size) {
                    self.snapshots.want();
                }
                Ok(Some(ticket))
            }
            Err(error) => Err(self.fail(error)),
        }
    }
}
