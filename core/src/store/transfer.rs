//! Moving values between keys and databases: RENAME, RENAMENX, COPY and MOVE (one call,
//! [`Store::transfer`]), and SWAPDB ([`Store::swap_db`]).
//!
//! A transfer writes the target's item with the source's value and expiry, copied inside
//! segment memory, and then (for RENAME and MOVE) removes the source. Its records are one
//! `Set` of the target (carrying the value and the absolute expiry) and, when the source
//! goes, one `Del` of it, reported by the same call, so the runtime logs them as one group
//! and recovery applies both or neither.
//!
//! Invariants: room for the target's item (and its key) is made before anything changes,
//! as for SET; the target is written before the source is removed, so a failure leaves
//! both as they were. The only change that can come with a refusal is Redis's too: the
//! evictions made while looking for room stay made (and logged as deletes); if they
//! evicted the source itself, the transfer fails as out of memory.

use core::iter;

use super::large::{Header, PartKey, SizeList};
use super::{LogSink, Lookup, Splice, Store};
use crate::codec::record::Record;
use crate::constants::DATABASE_COUNT;
use crate::error::StoreError;
use crate::storage::item;
use crate::time::Timestamp;

/// What [`Store::transfer`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer {
    /// The target holds the source's value and expiry (and the source is gone, unless it
    /// was kept). Also the answer for a source and target that are the same key, which
    /// changes nothing.
    Done,
    /// The source does not exist (or expired); nothing changed.
    SourceMissing,
    /// The target exists and `replace` was not asked for; nothing changed.
    TargetExists,
}

impl Store<'_> {
    /// Copies the value and expiry of `source_key` in `source_db` to `target_key` in
    /// `target_db`, and removes the source unless `keep_source` (RENAME and MOVE remove
    /// it, COPY keeps it). An existing target is overwritten only with `replace`.
    ///
    /// The target starts with a new item's policy state (its LRU or LFU history is not
    /// carried over).
    ///
    /// # Errors
    /// [`StoreError::InvalidDatabase`] for a database out of range, a size limit of the
    /// target key, or out of memory / keys under `noeviction`; nothing changes then (but
    /// evictions made while looking for room).
    #[expect(
        clippy::too_many_arguments,
        reason = "two keys, each with its database"
    )]
    pub fn transfer(
        &mut self,
        source_db: u8,
        source_key: &[u8],
        target_db: u8,
        target_key: &[u8],
        replace: bool,
        keep_source: bool,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<Transfer, StoreError> {
        if source_db >= DATABASE_COUNT || target_db >= DATABASE_COUNT {
            return Err(StoreError::InvalidDatabase);
        }
        let Some(source) = self.find_live(source_db, source_key, now) else {
            return Ok(Transfer::SourceMissing);
        };
        if source_db == target_db && source_key == target_key {
            return Ok(Transfer::Done);
        }
        let target_exists = self.find_live(target_db, target_key, now).is_some();
        if target_exists && !replace {
            return Ok(Transfer::TargetExists);
        }
        if self.header_of(&source).is_some() {
            return self.transfer_large(
                None,
                (source_db, source_key),
                (target_db, target_key),
                keep_source,
                now,
                log,
            );
        }
        let (value_size, expires_at) = (source.layout.value.len(), source.layout.expires_at);
        self.check_sizes(target_key.len(), value_size)?;
        // Redis's lookup for a write counts as an access, which also makes the source less
        // likely to be the victim of the room-making below.
        self.touch_slot(source.slot_index);
        let size = item::item_size(target_key.len(), value_size, expires_at);
        self.make_room_for_target(target_db, target_key, size, target_exists, now, log)?;
        // Room-making may have moved the source, or evicted it: then the memory could not
        // hold the copy and its source together, which is an out-of-memory error (with the
        // evictions logged, as for any write that made room and still failed).
        let Some(source) = self.find_live(source_db, source_key, now) else {
            return Err(StoreError::OutOfMemory);
        };
        let value_start = source.location + source.layout.value.start;
        let copied = Splice {
            prefix: value_size,
            from: Some(value_start..value_start + value_size),
            kind: Some(source.layout.kind),
            ..Splice::bytes(&[])
        };
        // Earlier steps may have moved entries: let the write look the target up afresh.
        let lookup = Lookup {
            hash: self.hash(target_key),
            found: None,
            epoch: u64::MAX,
            part: false,
        };
        self.put_prepared(target_db, target_key, lookup, &copied, expires_at, log)?;
        if !keep_source {
            // Inserting the target may have shifted the source's slot: find it again.
            let Some(source) = self.find(source_db, source_key) else {
                unreachable!("the source of a transfer vanished while the target was written");
            };
            self.remove(&source);
            log.record(Record::Del {
                db: source_db,
                key: source_key,
            });
        }
        Ok(Transfer::Done)
    }

    /// [`Store::transfer`] of a source in this store to a target in `target`, another
    /// shard's store (RENAME, RENAMENX and COPY of keys in different shards). The same
    /// checks in the same order: room is made in the target's store before anything
    /// changes, the target is written before the source is removed; room-making there
    /// cannot touch the source, which lives here.
    ///
    /// # Errors
    /// As [`Store::transfer`].
    #[expect(
        clippy::too_many_arguments,
        reason = "two keys, each with its database"
    )]
    pub(crate) fn transfer_to(
        &mut self,
        target: &mut Store<'_>,
        source_db: u8,
        source_key: &[u8],
        target_db: u8,
        target_key: &[u8],
        replace: bool,
        keep_source: bool,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<Transfer, StoreError> {
        if source_db >= DATABASE_COUNT || target_db >= DATABASE_COUNT {
            return Err(StoreError::InvalidDatabase);
        }
        let Some(source) = self.find_live(source_db, source_key, now) else {
            return Ok(Transfer::SourceMissing);
        };
        let target_exists = target.find_live(target_db, target_key, now).is_some();
        if target_exists && !replace {
            return Ok(Transfer::TargetExists);
        }
        if self.header_of(&source).is_some() {
            return self.transfer_large(
                Some(target),
                (source_db, source_key),
                (target_db, target_key),
                keep_source,
                now,
                log,
            );
        }
        let (value_size, expires_at) = (source.layout.value.len(), source.layout.expires_at);
        target.check_sizes(target_key.len(), value_size)?;
        self.touch_slot(source.slot_index);
        let size = item::item_size(target_key.len(), value_size, expires_at);
        target.make_room_for_target(target_db, target_key, size, target_exists, now, log)?;
        // Touching the source may have reordered nothing but its policy bits: its item is
        // where it was.
        let value = self.value_of(&source);
        let lookup = Lookup {
            hash: target.hash(target_key),
            found: None,
            epoch: u64::MAX,
            part: false,
        };
        let copied = Splice {
            kind: Some(source.layout.kind),
            ..Splice::bytes(value)
        };
        target.put_prepared(target_db, target_key, lookup, &copied, expires_at, log)?;
        if !keep_source {
            self.remove(&source);
            log.record(Record::Del {
                db: source_db,
                key: source_key,
            });
        }
        Ok(Transfer::Done)
    }

    /// A transfer of a large collection: its parts are written under the target's key
    /// (in `other`, another shard's store, or in this one), then its header, then the
    /// source goes unless kept. Room for all of them is made first; an existing target
    /// is removed just before the writes (its parts would share the new ones' names).
    /// The checks before it are [`Store::transfer`]'s.
    fn transfer_large(
        &mut self,
        mut other: Option<&mut Store<'_>>,
        (source_db, source_key): (u8, &[u8]),
        (target_db, target_key): (u8, &[u8]),
        keep_source: bool,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<Transfer, StoreError> {
        let Some(source) = self.find_live(source_db, source_key, now) else {
            return Ok(Transfer::SourceMissing);
        };
        let header = self
            .header_of(&source)
            .ok_or(StoreError::CollectionInvalid)?;
        let expires_at = source.layout.expires_at;
        let mut target_parts = PartKey::new(target_key).ok_or(StoreError::KeyTooLarge)?;
        self.touch_slot(source.slot_index);
        let part_key_size = target_key.len() + item::PART_NUMBER_SIZE;
        let sizes = SizeList::new(
            self.part_walk(source_db, source_key, &header)
                .map(|number| {
                    let size = self.part_bytes(source_db, source_key, number).len();
                    item::item_size(part_key_size, size, 0)
                }),
        );
        let header_size = item::item_size(target_key.len(), header.size(), expires_at);
        let all = sizes.iter().chain(iter::once(header_size));
        let new_keys = self.part_walk(source_db, source_key, &header).count() + 1;
        match other.as_deref_mut() {
            Some(target) => target.ensure_room(all, new_keys, now, log)?,
            None => self.ensure_room(all, new_keys, now, log)?,
        }
        if self.find_live(source_db, source_key, now).is_none() {
            return Err(StoreError::OutOfMemory);
        }
        let target = match other {
            Some(target) => target,
            None => {
                if let Some(found) = self.find_live(target_db, target_key, now) {
                    self.remove(&found);
                    log.record(Record::Del {
                        db: target_db,
                        key: target_key,
                    });
                }
                for number in 0..header.part_bound() {
                    let source_part = self.part_range(source_db, source_key, number);
                    if source_part.is_empty() {
                        continue;
                    }
                    let size = source_part.len();
                    self.part_write(
                        target_db,
                        &mut target_parts,
                        number,
                        Some(source_part),
                        size,
                        log,
                        |old, out| out.push(old),
                    )?;
                }
                return self.transfer_finish(
                    None,
                    (source_db, source_key),
                    (target_db, target_key),
                    header,
                    keep_source,
                    now,
                    log,
                );
            }
        };
        if let Some(found) = target.find_live(target_db, target_key, now) {
            target.remove(&found);
            log.record(Record::Del {
                db: target_db,
                key: target_key,
            });
        }
        for number in self.part_walk(source_db, source_key, &header) {
            let bytes = self.part_bytes(source_db, source_key, number);
            target.part_copy(target_db, &mut target_parts, number, bytes, log)?;
        }
        self.transfer_finish(
            Some(target),
            (source_db, source_key),
            (target_db, target_key),
            header,
            keep_source,
            now,
            log,
        )
    }

    /// The end of [`Store::transfer_large`]: the target's header with the source's
    /// expiry, then the source's removal unless it is kept.
    #[expect(clippy::too_many_arguments, reason = "two keys and the header")]
    fn transfer_finish(
        &mut self,
        other: Option<&mut Store<'_>>,
        (source_db, source_key): (u8, &[u8]),
        (target_db, target_key): (u8, &[u8]),
        header: Header,
        keep_source: bool,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<Transfer, StoreError> {
        let expires_at = self
            .find(source_db, source_key)
            .map_or(0, |found| found.layout.expires_at);
        match other {
            Some(target) => {
                target.header_write(target_db, target_key, header, Some(expires_at), now, log)?;
            }
            None => self.header_write(target_db, target_key, header, Some(expires_at), now, log)?,
        }
        if !keep_source && let Some(source) = self.find(source_db, source_key) {
            self.remove(&source);
            log.record(Record::Del {
                db: source_db,
                key: source_key,
            });
        }
        Ok(Transfer::Done)
    }

    /// Makes room for a transfer's target item of `size` bytes. The target is inserted
    /// before the source is removed, so a new target needs a key of room even when the
    /// count comes back. Making room may evict the target (then it needs that key after
    /// all), at most once: a second round then suffices.
    fn make_room_for_target(
        &mut self,
        target_db: u8,
        target_key: &[u8],
        size: usize,
        target_exists: bool,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        let mut new_key_count = usize::from(!target_exists);
        for _ in 0..2 {
            self.ensure_room(iter::once(size), new_key_count, now, log)?;
            if self.find_live(target_db, target_key, now).is_some() || new_key_count == 1 {
                break;
            }
            new_key_count = 1;
        }
        Ok(())
    }

    /// Swaps the keys of databases `db_first` and `db_second` (SWAPDB); logs one
    /// [`Record::SwapDb`], or nothing when they are the same database.
    ///
    /// The table does not hash the database, so every entry stays in its slot: only the
    /// database bits of the items of the two databases are rewritten. That is one pass over
    /// the table (O(slots)), not Redis's O(1) pointer swap.
    ///
    /// # Errors
    /// [`StoreError::InvalidDatabase`] for a database out of range; nothing changes then.
    pub fn swap_db(
        &mut self,
        db_first: u8,
        db_second: u8,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        if db_first >= DATABASE_COUNT || db_second >= DATABASE_COUNT {
            return Err(StoreError::InvalidDatabase);
        }
        if db_first == db_second {
            return Ok(());
        }
        let mut moved_count = [0_usize; 2];
        for slot_index in 0..self.table.slot_count() {
            if !self.table.occupied(slot_index) {
                continue;
            }
            let location = self.table.location(slot_index);
            let layout = item::layout(self.segments.bytes(location));
            let db = layout.db;
            let (target, side) = if db == db_first {
                (db_second, 0)
            } else if db == db_second {
                (db_first, 1)
            } else {
                continue;
            };
            item::db_write(&mut self.segments.memory_mut()[location..], target);
            // A large collection's parts move with it, but are not keys.
            moved_count[side] += usize::from(layout.kind != item::ItemKind::Part);
        }
        let (first, second) = (usize::from(db_first), usize::from(db_second));
        assert!(
            moved_count[0] == self.db_key_count[first],
            "db {db_first} count"
        );
        assert!(
            moved_count[1] == self.db_key_count[second],
            "db {db_second} count"
        );
        self.db_key_count.swap(first, second);
        self.index.swap_db(db_first, db_second);
        log.record(Record::SwapDb {
            db_first,
            db_second,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arena::Arena;
    use crate::storage::policy::EvictionPolicy;
    use crate::store::{Config, SetOptions};
    use std::vec::Vec;

    const NOW: Timestamp = 1_000;

    fn store(config: Config) -> Store<'static> {
        let memory = Vec::leak(vec![0u8; config.arena_size()]);
        let mut arena = Arena::from_buffer(memory);
        let store = Store::new(&mut arena, config).expect("config fits");
        arena.freeze().expect("freeze");
        store
    }

    #[test]
    fn rename_keeps_value_and_expiry_and_logs_set_then_del() {
        let mut store = store(Config::new(1 << 20, 100));
        let mut log = Vec::new();
        let options = SetOptions {
            expiry: crate::store::SetExpiry::At(NOW + 500),
            ..SetOptions::default()
        };
        store
            .set(0, b"a", b"value", options, NOW, &mut ())
            .expect("room");
        let done = store.transfer(0, b"a", 3, b"b", false, false, NOW, &mut Recorder(&mut log));
        assert_eq!(done, Ok(Transfer::Done));
        assert_eq!(store.get(3, b"b", NOW), Some(&b"value"[..]));
        assert_eq!(store.get(0, b"a", NOW), None);
        assert_eq!(store.ttl(3, b"b", NOW), crate::store::Ttl::Remaining(500));
        assert_eq!(store.db_len(0), 0);
        assert_eq!(store.db_len(3), 1);
        assert_eq!(log, ["set 3 b value 1500", "del 0 a"]);
    }

    #[test]
    fn refusals_change_nothing() {
        let mut store = store(Config::new(1 << 20, 100));
        store
            .set(0, b"a", b"1", SetOptions::default(), NOW, &mut ())
            .expect("room");
        store
            .set(0, b"b", b"2", SetOptions::default(), NOW, &mut ())
            .expect("room");
        let mut log = Vec::new();
        let mut recorder = Recorder(&mut log);
        assert_eq!(
            store.transfer(0, b"x", 0, b"b", true, false, NOW, &mut recorder),
            Ok(Transfer::SourceMissing)
        );
        assert_eq!(
            store.transfer(0, b"a", 0, b"b", false, false, NOW, &mut recorder),
            Ok(Transfer::TargetExists)
        );
        assert_eq!(
            store.transfer(0, b"a", 0, b"a", false, false, NOW, &mut recorder),
            Ok(Transfer::Done)
        );
        assert_eq!(
            store.transfer(0, b"a", 16, b"a", false, false, NOW, &mut recorder),
            Err(StoreError::InvalidDatabase)
        );
        let long = vec![b'k'; store.config().key_size_max as usize + 1];
        assert_eq!(
            store.transfer(0, b"a", 0, &long, false, false, NOW, &mut recorder),
            Err(StoreError::KeyTooLarge)
        );
        assert!(log.is_empty());
        assert_eq!(store.get(0, b"a", NOW), Some(&b"1"[..]));
        assert_eq!(store.get(0, b"b", NOW), Some(&b"2"[..]));
    }

    /// A full table under `noeviction`: a COPY to a new key is refused whole, a RENAME
    /// onto an existing key needs no new key and goes through.
    #[test]
    fn full_table_refuses_a_new_key_but_not_a_replace() {
        let mut store = store(Config::new(1 << 20, 2));
        store
            .set(0, b"a", b"1", SetOptions::default(), NOW, &mut ())
            .expect("room");
        store
            .set(0, b"b", b"2", SetOptions::default(), NOW, &mut ())
            .expect("room");
        let mut log = Vec::new();
        assert_eq!(
            store.transfer(0, b"a", 0, b"c", false, true, NOW, &mut Recorder(&mut log)),
            Err(StoreError::KeysFull)
        );
        assert!(log.is_empty());
        assert_eq!(
            store.transfer(0, b"a", 0, b"b", true, false, NOW, &mut Recorder(&mut log)),
            Ok(Transfer::Done)
        );
        assert_eq!(store.get(0, b"b", NOW), Some(&b"1"[..]));
        assert_eq!(store.len(), 1);
    }

    /// Under every policy and in a memory that is nearly full, a transfer either happens
    /// whole or is refused; the store and its log agree at every step.
    #[test]
    fn every_policy_in_tight_memory() {
        for policy in EvictionPolicy::ALL {
            let mut config = Config::new(64 * 1024, 400);
            config.policy = policy;
            let mut store = store(config);
            let value = [b'v'; 900];
            for index in 0..200_u32 {
                let key = index.to_le_bytes();
                let options = SetOptions {
                    expiry: if index % 2 == 0 {
                        crate::store::SetExpiry::At(NOW + 1_000_000)
                    } else {
                        crate::store::SetExpiry::Persist
                    },
                    ..SetOptions::default()
                };
                // NOTE: refused under noeviction once full; that is the point.
                let _ = store.set(0, &key, &value, options, NOW, &mut ());
            }
            for index in 0..200_u32 {
                let source = index.to_le_bytes();
                let target = (index + 1000).to_le_bytes();
                let existed = store.exists(0, &source, NOW);
                let keep = index % 3 == 0;
                let result = store.transfer(0, &source, 1, &target, true, keep, NOW, &mut ());
                match result {
                    Ok(Transfer::Done) => {
                        assert!(store.exists(1, &target, NOW), "{policy:?}");
                        assert_eq!(store.exists(0, &source, NOW), keep, "{policy:?}");
                    }
                    Ok(Transfer::SourceMissing) => {
                        assert!(!existed || policy.name() != "noeviction")
                    }
                    Ok(Transfer::TargetExists) => unreachable!("replace"),
                    Err(error) => {
                        assert!(
                            matches!(error, StoreError::OutOfMemory | StoreError::KeysFull),
                            "{policy:?} {error:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn swap_db_trades_keys_in_place() {
        let mut store = store(Config::new(1 << 20, 100));
        let options = SetOptions {
            expiry: crate::store::SetExpiry::At(NOW + 50),
            ..SetOptions::default()
        };
        store
            .set(0, b"a", b"zero", options, NOW, &mut ())
            .expect("room");
        store
            .set(0, b"same", b"zero", SetOptions::default(), NOW, &mut ())
            .expect("room");
        store
            .set(5, b"same", b"five", SetOptions::default(), NOW, &mut ())
            .expect("room");
        store
            .set(2, b"other", b"two", SetOptions::default(), NOW, &mut ())
            .expect("room");
        let mut log = Vec::new();
        store.swap_db(0, 5, &mut Recorder(&mut log)).expect("valid");
        assert_eq!(log, ["swapdb 0 5"]);
        assert_eq!(store.get(5, b"a", NOW), Some(&b"zero"[..]));
        assert_eq!(store.ttl(5, b"a", NOW), crate::store::Ttl::Remaining(50));
        assert_eq!(store.get(5, b"same", NOW), Some(&b"zero"[..]));
        assert_eq!(store.get(0, b"same", NOW), Some(&b"five"[..]));
        assert_eq!(store.get(0, b"a", NOW), None);
        assert_eq!(store.get(2, b"other", NOW), Some(&b"two"[..]));
        assert_eq!(
            (store.db_len(0), store.db_len(5), store.db_len(2)),
            (1, 2, 1)
        );
        // Swapping back, and with itself, restores and changes nothing.
        store.swap_db(5, 0, &mut ()).expect("valid");
        store.swap_db(3, 3, &mut Recorder(&mut log)).expect("valid");
        assert_eq!(log.len(), 1, "a swap with itself logs nothing");
        assert_eq!(store.get(0, b"same", NOW), Some(&b"zero"[..]));
        assert_eq!(
            store.swap_db(0, 16, &mut Recorder(&mut log)),
            Err(StoreError::InvalidDatabase)
        );
        assert_eq!(log.len(), 1);
    }

    /// Records as text, as the command harness prints them.
    struct Recorder<'v>(&'v mut Vec<std::string::String>);

    impl LogSink for Recorder<'_> {
        fn record(&mut self, record: Record<'_>) {
            let text = |bytes: &[u8]| std::string::String::from_utf8_lossy(bytes).into_owned();
            self.0.push(match record {
                Record::Set {
                    db,
                    key,
                    value,
                    expires_at,
                    ..
                } => format!("set {db} {} {} {expires_at}", text(key), text(value)),
                Record::Del { db, key } => format!("del {db} {}", text(key)),
                Record::SwapDb {
                    db_first,
                    db_second,
                } => format!("swapdb {db_first} {db_second}"),
                other => format!("{other:?}"),
            });
        }
    }
}
