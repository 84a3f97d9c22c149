//! The end of every write: the new item appended with its header and key, its value
//! written by the caller's closure (a splice of the old value for strings, a composed
//! encoding for hashes), the table pointed at it, and its `Set` record logged.

use core::ops::Range;

use super::{Found, LogSink, Lookup, Store};
use crate::codec::record::Record;
use crate::error::StoreError;
use crate::storage::item::{self, ItemKind};
use crate::storage::policy::VOLATILE;
use crate::table::Table;
use crate::time::Timestamp;

impl Store<'_> {
    /// The entry for `key` as `lookup` found it, or found again if the table changed since.
    pub(super) fn refind(&self, db: u8, key: &[u8], lookup: Lookup) -> Option<Found> {
        if lookup.epoch == self.epoch {
            lookup.found
        } else {
            self.find_hashed(db, key, lookup.hash, lookup.part)
        }
    }

    /// Appends the item of `key` (whose current entry is `found`) with a value of
    /// `value_size` bytes, which `write(memory, old value, new value start)` fills in
    /// segment memory, then points the table at it and logs it. Room was made.
    #[expect(clippy::too_many_arguments, reason = "the private core of every write")]
    pub(super) fn put_found(
        &mut self,
        db: u8,
        key: &[u8],
        hash: u64,
        found: Option<Found>,
        kind: ItemKind,
        value_size: usize,
        expires_at: Timestamp,
        log: &mut impl LogSink,
        write: impl FnOnce(&mut [u8], Range<usize>, usize),
    ) -> Result<(), StoreError> {
        self.put_found_reading(
            db,
            key,
            hash,
            found,
            kind,
            value_size,
            expires_at,
            log,
            |memory, _, old, start| write(memory, old, start),
        )
    }

    /// [`Store::put_found`] whose `write` also gets the table, unchanged since the
    /// caller's last look, to find other live items in segment memory (a set composed
    /// from other sets of the same shard).
    #[expect(clippy::too_many_arguments, reason = "the private core of every write")]
    pub(super) fn put_found_reading(
        &mut self,
        db: u8,
        key: &[u8],
        hash: u64,
        found: Option<Found>,
        kind: ItemKind,
        value_size: usize,
        expires_at: Timestamp,
        log: &mut impl LogSink,
        write: impl FnOnce(&mut [u8], &Table<'_>, Range<usize>, usize),
    ) -> Result<(), StoreError> {
        let old_value = found.as_ref().map_or(0..0, |found| {
            let start = found.location;
            found.layout.value.start + start..found.layout.value.end + start
        });
        // A large collection's parts go when its key gets a value other than a header
        // (SET over it, a STORE or RESTORE target, a replayed record): see below.
        let old_parts = found.as_ref().and_then(|found| self.parts_of(found));
        let size = item::item_size(key.len(), value_size, expires_at);
        let location = self.append_item(size);
        let start = location;
        let table = &self.table;
        let memory = self.segments.memory_mut();
        let header_size = item::header_write(
            &mut memory[start..],
            db,
            key.len(),
            value_size,
            expires_at,
            kind,
        );
        let key_start = start + header_size;
        memory[key_start..key_start + key.len()].copy_from_slice(key);
        let value_start = key_start + key.len();
        write(memory, table, old_value, value_start);

        let volatile_bits = if expires_at != 0 { VOLATILE } else { 0 };
        let bits = volatile_bits | self.config.policy.initial_bits();
        match &found {
            Some(found) => {
                let volatile = found.layout.expires_at != 0;
                self.segments
                    .item_dead(found.location, found.layout.size(), volatile);
                self.table.set_location(found.slot_index, location);
                self.table.set_policy(found.slot_index, bits);
            }
            None => {
                let bits = if kind != ItemKind::Part && self.ghost.take(hash) {
                    volatile_bits | self.config.policy.returning_bits()
                } else {
                    bits
                };
                if self.table.insert(hash, location, bits).is_err() {
                    // Only a probe longer than PROBE_DISTANCE_MAX gets here (ensure_room
                    // made room in the table): leave the new item as a hole.
                    self.segments.item_dead(location, size, false);
                    return Err(StoreError::KeysFull);
                }
                if kind != ItemKind::Part {
                    self.db_key_count[usize::from(db)] += 1;
                    self.index.insert(db, key);
                }
            }
        }
        if expires_at != 0 {
            self.segments.volatile_added(location, expires_at);
        }
        if let Some(parts) = old_parts {
            let value = &self.segments.memory_mut()[value_start..value_start + value_size];
            if !(kind == ItemKind::Compact && super::large::Header::read(value).is_some()) {
                self.parts_remove(&parts);
            }
        }
        let value = &self.segments.memory_mut()[value_start..value_start + value_size];
        log.record(Record::Set {
            db,
            key,
            value,
            expires_at,
            value_kind: kind,
        });
        Ok(())
    }
}
