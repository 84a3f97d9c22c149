//! DUMP's read of a key and RESTORE's write: the value (a string or a compact collection) goes
//! between the store and a payload in Redis's format ([`crate::codec::rdb`]) without a
//! copy in between. RESTORE composes the decoded value straight into segment memory and
//! logs it as one `Set` record, like any other write.

use super::compact::ValueType;
use super::{LogSink, Store, expired};
use crate::codec::rdb::{Object, Value};
use crate::codec::record::Record;
use crate::error::StoreError;
use crate::storage::item::{self, ItemKind};
use crate::time::Timestamp;

impl Store<'_> {
    /// The value of the live key `key` as DUMP writes it: `None` if absent. Not counted
    /// as an access.
    pub fn dump_value(&mut self, db: u8, key: &[u8], now: Timestamp) -> Option<Value<'_>> {
        let found = self.find_live(db, key, now)?;
        let value = self.value_of(&found);
        Some(match ValueType::of(found.layout.kind, value) {
            ValueType::String => Value::String(value),
            ValueType::Hash => Value::Hash(self.hash_read(&found)),
            ValueType::Set => Value::Set(self.set_read(&found)),
            ValueType::List => Value::List(self.list_read(&found)),
            ValueType::SortedSet => Value::SortedSet(self.zset_read(&found)),
        })
    }

    /// Stores the value of a checked payload under `key`, replacing any value it has,
    /// expiring at `expires_at` (0: never). An expiry already past deletes the key instead,
    /// as Redis's RESTORE does.
    ///
    /// # Errors
    /// Size limits, or out of memory; nothing changes then.
    pub fn restore(
        &mut self,
        db: u8,
        key: &[u8],
        object: &Object<'_>,
        expires_at: Timestamp,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        let size = object.value_size();
        let kind = if object.is_string() {
            ItemKind::String
        } else {
            ItemKind::Compact
        };
        if key.len() > self.config.key_size_max as usize {
            return Err(StoreError::KeyTooLarge);
        }
        if size > self.config.value_size_max as usize {
            return Err(if object.is_string() {
                StoreError::ValueTooLarge
            } else {
                StoreError::CollectionTooLarge
            });
        }
        let lookup = self.lookup(db, key, now);
        if expires_at != 0 && expired(expires_at, now) {
            if let Some(found) = lookup.found {
                self.remove(&found);
                log.record(Record::Del { db, key });
            }
            return Ok(());
        }
        let item_size = item::item_size(key.len(), size, expires_at);
        let new_key_count = usize::from(lookup.found.is_none());
        self.ensure_room(core::iter::once(item_size), new_key_count, now, log)?;
        let hash = lookup.hash;
        let found = self.refind(db, key, lookup);
        self.put_found(
            db,
            key,
            hash,
            found,
            kind,
            size,
            expires_at,
            log,
            |memory, _old, start| object.compose(&mut memory[start..start + size]),
        )?;
        if kind == ItemKind::Compact {
            debug_assert!(
                super::compact::is_valid(self.value_of_key(db, key)),
                "O(n) check"
            );
            // Best effort: without room the set stays compact (correct, only slower).
            let _ = self.zset_convert_if_large(db, key, now, log);
        }
        Ok(())
    }

    fn value_of_key(&self, db: u8, key: &[u8]) -> &[u8] {
        self.find(db, key)
            .map_or(&[], |found| self.value_of(&found))
    }
}
