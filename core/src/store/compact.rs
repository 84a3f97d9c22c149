//! What every collection in the compact encoding shares (hashes today; lists, sets and
//! sorted sets follow the same shape): its [`ValueType`], read from the item's kind and
//! the type byte that starts a compact value; the lookup that answers `WRONGTYPE` for a
//! key of another type; the two-pass composer ([`Out`]: a sizing pass, then a writing
//! pass straight into segment memory, no allocation); and [`Store::compact_put`], the
//! write that every collection command ends in. See `docs/types.md`.

use core::ops::Range;

use super::{Found, LogSink, Lookup, Store, expired};
use crate::error::StoreError;
use crate::storage::item::{self, ItemKind, varint_write};
use crate::time::Timestamp;

/// The type byte that starts a compact hash's value.
pub const TYPE_HASH: u8 = b'h';
/// The type byte that starts a compact list's value.
pub const TYPE_LIST: u8 = b'l';
/// The type byte that starts a compact set's value.
pub const TYPE_SET: u8 = b's';
/// The type byte that starts a compact sorted set's value.
pub const TYPE_ZSET: u8 = b'z';

/// The type of a key's value, as TYPE names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// Bytes (kind [`ItemKind::String`]).
    String,
    /// A hash.
    Hash,
    /// A list.
    List,
    /// A set.
    Set,
    /// A sorted set.
    SortedSet,
}

impl ValueType {
    /// The type of an item of `kind` whose value is `value`. A compact value's first byte
    /// says which collection it is; recovery refuses one with an unknown byte
    /// ([`is_valid`]), so the fallback arm is never taken for a stored item.
    #[must_use]
    pub fn of(kind: ItemKind, value: &[u8]) -> Self {
        match (kind, value.first()) {
            (ItemKind::String | ItemKind::Part, _) => Self::String,
            (ItemKind::Compact, Some(&super::large::TYPE_LARGE_HASH)) => Self::Hash,
            (ItemKind::Compact, Some(&super::large::TYPE_LARGE_SET)) => Self::Set,
            (ItemKind::Compact, Some(&TYPE_LIST | &super::large::TYPE_LARGE_LIST)) => Self::List,
            (ItemKind::Compact, Some(&TYPE_SET)) => Self::Set,
            (ItemKind::Compact, Some(&(TYPE_ZSET | super::large::TYPE_LARGE_ZSET))) => {
                Self::SortedSet
            }
            (ItemKind::Compact, _) => Self::Hash,
        }
    }

    /// The type byte of a compact value of this type; `None` for a string.
    #[must_use]
    pub const fn type_byte(self) -> Option<u8> {
        match self {
            Self::String => None,
            Self::Hash => Some(TYPE_HASH),
            Self::List => Some(TYPE_LIST),
            Self::Set => Some(TYPE_SET),
            Self::SortedSet => Some(TYPE_ZSET),
        }
    }

    /// The name TYPE replies with (and SCAN's TYPE option takes).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Hash => "hash",
            Self::List => "list",
            Self::Set => "set",
            Self::SortedSet => "zset",
        }
    }

    /// The type TYPE calls `name` (ASCII case-insensitive), if any.
    #[must_use]
    pub fn from_name(name: &[u8]) -> Option<Self> {
        [
            Self::String,
            Self::Hash,
            Self::List,
            Self::Set,
            Self::SortedSet,
        ]
        .into_iter()
        .find(|value_type| name.eq_ignore_ascii_case(value_type.name().as_bytes()))
    }
}

/// Whether `value` is a well-formed compact collection of a type floe knows. Recovery
/// refuses anything else (`CollectionInvalid`).
#[must_use]
pub fn is_valid(value: &[u8]) -> bool {
    match value.first() {
        Some(&TYPE_HASH) => super::hash::is_valid(value),
        Some(&TYPE_SET) => super::set::is_valid(value),
        Some(&TYPE_LIST) => super::list::is_valid(value),
        Some(&TYPE_ZSET) => super::zset::is_valid(value),
        Some(
            &(super::large::TYPE_LARGE_HASH
            | super::large::TYPE_LARGE_SET
            | super::large::TYPE_LARGE_LIST
            | super::large::TYPE_LARGE_ZSET),
        ) => super::large::Header::read(value).is_some(),
        _ => false,
    }
}

/// Reads a varint at the front of `bytes`: its value and size, or `None` if it is cut
/// short or longer than 5 bytes.
#[must_use]
pub fn varint_read(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for (index, &byte) in bytes.iter().take(5).enumerate() {
        value |= usize::from(byte & 0x7f) << (7 * index);
        if byte < 0x80 {
            return Some((value, index + 1));
        }
    }
    None
}

/// Appends `bytes` to a value being composed, or only counts them (the sizing pass).
pub(super) struct Out<'o> {
    /// Where the bytes go; `None` in the sizing pass.
    pub(super) target: Option<&'o mut [u8]>,
    /// Bytes pushed so far.
    pub(super) size: usize,
}

impl Out<'_> {
    /// Pushes `bytes`.
    pub(super) fn push(&mut self, bytes: &[u8]) {
        if let Some(target) = &mut self.target {
            target[self.size..self.size + bytes.len()].copy_from_slice(bytes);
        }
        self.size += bytes.len();
    }

    /// Pushes `value` as a varint.
    pub(super) fn push_varint(&mut self, value: usize) {
        let mut buffer = [0u8; 5];
        let size = varint_write(&mut buffer, value);
        self.push(&buffer[..size]);
    }

    /// Pushes a field and a value (or a member and its score), each after its size.
    pub(super) fn push_entry(&mut self, field: &[u8], value: &[u8]) {
        self.push_varint(field.len());
        self.push(field);
        self.push_varint(value.len());
        self.push(value);
    }
}

/// The old value's bytes and the new value's target, both in segment memory (they never
/// overlap: the new item lies in space no live item uses).
pub(super) fn split(
    memory: &mut [u8],
    old: Range<usize>,
    start: usize,
    size: usize,
) -> (&[u8], &mut [u8]) {
    if old.start < start {
        let (left, right) = memory.split_at_mut(start);
        (&left[old], &mut right[..size])
    } else {
        let (left, right) = memory.split_at_mut(old.start);
        (&right[..old.len()], &mut left[start..start + size])
    }
}

impl Store<'_> {
    /// The type of the live key `key`, if it exists (TYPE, SCAN TYPE, the string commands'
    /// WRONGTYPE check). Not counted as an access.
    pub fn value_type(&mut self, db: u8, key: &[u8], now: Timestamp) -> Option<ValueType> {
        let found = self.find_live(db, key, now)?;
        Some(ValueType::of(found.layout.kind, self.value_of(&found)))
    }

    /// Looks `key` up for a command on collections of type `wanted`: `Ok` with the lookup
    /// if it holds one or is absent, [`StoreError::WrongType`] otherwise.
    pub(super) fn collection_lookup(
        &mut self,
        db: u8,
        key: &[u8],
        now: Timestamp,
        wanted: ValueType,
    ) -> Result<Lookup, StoreError> {
        let lookup = self.lookup(db, key, now);
        match &lookup.found {
            Some(found) if ValueType::of(found.layout.kind, self.value_of(found)) != wanted => {
                Err(StoreError::WrongType)
            }
            _ => Ok(lookup),
        }
    }

    /// The compact value of the collection of type `wanted` at `key` for a read (`None`
    /// if absent), counted as an access: a hit or a miss, and a use for the eviction
    /// policy.
    ///
    /// # Errors
    /// [`StoreError::WrongType`] if the key holds another type.
    pub fn collection_read(
        &mut self,
        db: u8,
        key: &[u8],
        now: Timestamp,
        wanted: ValueType,
    ) -> Result<Option<&[u8]>, StoreError> {
        let found = self.collection_found(db, key, now, wanted)?;
        Ok(found.map(|found| self.value_of(&found)))
    }

    /// [`Store::collection_read`]'s entry rather than its value.
    pub(super) fn collection_found(
        &mut self,
        db: u8,
        key: &[u8],
        now: Timestamp,
        wanted: ValueType,
    ) -> Result<Option<Found>, StoreError> {
        let lookup = self.collection_lookup(db, key, now, wanted)?;
        let Some(found) = lookup.found else {
            self.stats.misses += 1;
            return Ok(None);
        };
        self.stats.hits += 1;
        self.touch_slot(found.slot_index);
        Ok(Some(found))
    }

    /// Writes the collection at `key` as a new item of `size` value bytes, which `write(old
    /// value, target)` composes (the old value is empty for a new collection). Keeps the key's
    /// expiry; makes room first.
    #[expect(
        clippy::too_many_arguments,
        reason = "the private core of collection writes"
    )]
    pub(super) fn compact_put(
        &mut self,
        db: u8,
        key: &[u8],
        lookup: Lookup,
        size: usize,
        now: Timestamp,
        log: &mut impl LogSink,
        write: impl FnOnce(&[u8], &mut [u8]),
    ) -> Result<(), StoreError> {
        if key.len() > self.config.key_size_max as usize {
            return Err(StoreError::KeyTooLarge);
        }
        if size > self.config.value_size_max as usize {
            return Err(StoreError::CollectionTooLarge);
        }
        let existed = lookup.found.is_some();
        let expires_at = lookup
            .found
            .as_ref()
            .map_or(0, |found| found.layout.expires_at);
        let item_size = item::item_size(key.len(), size, expires_at);
        self.ensure_room(core::iter::once(item_size), usize::from(!existed), now, log)?;
        let found: Option<Found> = self.refind(db, key, lookup);
        if existed
            && found
                .as_ref()
                .is_none_or(|f| expired(f.layout.expires_at, now))
        {
            // Making room evicted the collection itself: memory cannot hold its new version.
            return Err(StoreError::OutOfMemory);
        }
        let hash = self.hash(key);
        self.put_found(
            db,
            key,
            hash,
            found,
            ItemKind::Compact,
            size,
            expires_at,
            log,
            |memory, old, start| {
                let (old, target) = split(memory, old, start, size);
                write(old, target);
            },
        )
    }
}
/// A copy of the store's generator (xorshift64*), advanced locally.
pub(super) struct RandomCopy(pub(super) u64);

impl RandomCopy {
    /// A number below `bound` (not zero).
    pub(super) fn below(&mut self, bound: usize) -> usize {
        let mut x = self.0 | 1;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        // NOTE: the remainder is below `bound`, a usize.
        #[expect(clippy::cast_possible_truncation, reason = "below bound")]
        let value = (x.wrapping_mul(0x2545_f491_4f6c_dd1d) % bound as u64) as usize;
        value
    }
}
