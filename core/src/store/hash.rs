//! Hashes in the compact encoding (Redis's listpack): the whole hash is the value of one
//! key item of kind [`ItemKind::Compact`], a type byte followed by its fields and values
//! back to back, in insertion order:
//!
//! ```text
//! +------+-------------+-------+-------------+-------+-----
//! | 'h'  | varint size | field | varint size | value | ...
//! +------+-------------+-------+-------------+-------+-----
//! ```
//!
//! A write (HSET, HDEL, HINCRBY, ...) composes the new value straight into segment memory
//! from the old one and the request's arguments, then the old item becomes a hole: O(n)
//! in the hash's size, no allocation. It is logged as one `Set` record of the whole new
//! item (kind compact), which is physical and idempotent. Past `hash-max-listpack-*` a
//! hash takes the large form (`hash/large.rs`), whose parts are compact hashes too.
//!
//! Reading is total: [`HashView`] walks the bytes with checked lengths and stops at the
//! first malformed entry, and [`is_valid`] is what recovery checks before it loads a
//! compact value from a record or a snapshot.

use core::ops::Range;

use super::compact::{Out, RandomCopy, TYPE_HASH, ValueType, varint_read};
use super::large::{Header, LARGE_KEY_SIZE_MAX, in_steps};
use super::{Found, LogSink, Store};
use crate::codec::record::Record;
use crate::error::StoreError;
use crate::storage::item::varint_size;
use crate::text::{DOUBLE_HUMAN_SIZE_MAX, I64_TEXT_SIZE_MAX, format_double_human, format_i64};
use crate::text::{parse_double_finite, parse_integer_strict};
use crate::time::Timestamp;

/// Hashes of at most this many fields get O(1) picks in HRANDFIELD with repetition.
const RANDOM_OFFSETS_MAX: usize = 512;

/// Bytes one entry takes in the encoding.
#[must_use]
pub fn entry_size(field_size: usize, value_size: usize) -> usize {
    varint_size(field_size) + field_size + varint_size(value_size) + value_size
}

/// A compact hash's value, read in place.
#[derive(Debug, Clone, Copy)]
pub struct HashView<'v> {
    bytes: &'v [u8],
}

/// One entry of a hash: where it lies in the value, its field and its value.
#[derive(Debug, Clone)]
pub struct Entry<'v> {
    /// The entry's bytes in the hash's value (for copying it unchanged).
    pub range: Range<usize>,
    /// The field.
    pub field: &'v [u8],
    /// The value.
    pub value: &'v [u8],
}

/// The entries of a [`HashView`], in insertion order.
#[derive(Debug, Clone)]
pub struct Entries<'v> {
    bytes: &'v [u8],
    offset: usize,
}

impl<'v> Iterator for Entries<'v> {
    type Item = Entry<'v>;

    fn next(&mut self) -> Option<Entry<'v>> {
        let start = self.offset;
        let read = |offset: usize| -> Option<(&'v [u8], usize)> {
            let (size, varint) = varint_read(self.bytes.get(offset..)?)?;
            let from = offset + varint;
            let part = self.bytes.get(from..from.checked_add(size)?)?;
            Some((part, from + size))
        };
        let (field, after_field) = read(start)?;
        let (value, end) = read(after_field)?;
        self.offset = end;
        Some(Entry {
            range: start..end,
            field,
            value,
        })
    }
}

impl<'v> HashView<'v> {
    /// A view of a compact hash's value (type byte included).
    #[must_use]
    pub const fn new(bytes: &'v [u8]) -> Self {
        Self { bytes }
    }

    /// The entries in insertion order.
    #[must_use]
    pub fn entries(&self) -> Entries<'v> {
        Entries {
            bytes: self.bytes,
            offset: 1,
        }
    }

    /// Number of fields (HLEN).
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries().count()
    }

    /// Whether the hash has no field (never true of a stored hash).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries().next().is_none()
    }

    /// The entry of `field`, if the hash has it.
    #[must_use]
    pub fn find(&self, field: &[u8]) -> Option<Entry<'v>> {
        self.entries().find(|entry| entry.field == field)
    }

    /// The value of `field` (HGET).
    #[must_use]
    pub fn get(&self, field: &[u8]) -> Option<&'v [u8]> {
        self.find(field).map(|entry| entry.value)
    }

    /// The entry at position `index` in insertion order.
    #[must_use]
    pub fn nth(&self, index: usize) -> Option<Entry<'v>> {
        self.entries().nth(index)
    }
}

/// Whether `value` is a well-formed compact hash: the type byte, at least one entry, and
/// entries that end exactly at its end. Recovery refuses anything else.
#[must_use]
pub fn is_valid(value: &[u8]) -> bool {
    if value.first() != Some(&TYPE_HASH) {
        return false;
    }
    let mut entries = HashView::new(value).entries();
    let mut count = 0usize;
    while entries.next().is_some() {
        count += 1;
    }
    count > 0 && entries.offset == value.len()
}

/// HSET's new value: `old` (empty for a new hash) with every pair set, the last value of
/// a repeated field winning; new fields go at the end, in the order they first appear.
/// Only the entries and pairs whose field `keep` accepts take part (all of them for a
/// compact hash; one part's when a conversion composes its parts from the whole hash).
pub(super) fn compose_set<'p, P>(
    old: &[u8],
    pairs: &P,
    keep: impl Fn(&[u8]) -> bool,
    out: &mut Out<'_>,
) where
    P: Iterator<Item = (&'p [u8], &'p [u8])> + Clone,
{
    let pairs = pairs.clone().filter(|(field, _)| keep(field));
    let last_value = |field: &[u8]| {
        pairs
            .clone()
            .filter(|(other, _)| *other == field)
            .last()
            .map(|(_, value)| value)
    };
    out.push(&[TYPE_HASH]);
    let view = HashView::new(old);
    if !old.is_empty() {
        for entry in view.entries().filter(|entry| keep(entry.field)) {
            match last_value(entry.field) {
                Some(value) => out.push_entry(entry.field, value),
                None => out.push(&old[entry.range]),
            }
        }
    }
    for (index, (field, _)) in pairs.clone().enumerate() {
        let first = pairs.clone().position(|(other, _)| other == field) == Some(index);
        if first && (old.is_empty() || view.find(field).is_none()) {
            out.push_entry(field, last_value(field).unwrap_or_default());
        }
    }
}

/// [`compose_set`] over every entry of `old`. One pair, HSET's usual request, is a splice:
/// `old` copied in at most two pieces around the pair's entry instead of entry by entry.
pub(super) fn compose_set_all<'p, P>(old: &[u8], pairs: &P, out: &mut Out<'_>)
where
    P: Iterator<Item = (&'p [u8], &'p [u8])> + Clone,
{
    let mut one = pairs.clone();
    if let (Some((field, value)), None) = (one.next(), one.next())
        && !old.is_empty()
    {
        match HashView::new(old).find(field) {
            Some(entry) => {
                out.push(&old[..entry.range.start]);
                out.push_entry(field, value);
                out.push(&old[entry.range.end..]);
            }
            None => {
                out.push(old);
                out.push_entry(field, value);
            }
        }
        return;
    }
    compose_set(old, pairs, |_| true, out);
}

/// HDEL's new value: `old` without the entries of `fields`.
pub(super) fn compose_delete<'f, F>(old: &[u8], fields: &F, out: &mut Out<'_>)
where
    F: Iterator<Item = &'f [u8]> + Clone,
{
    out.push(&[TYPE_HASH]);
    for entry in HashView::new(old).entries() {
        if !fields.clone().any(|field| field == entry.field) {
            out.push(&old[entry.range]);
        }
    }
}

impl Store<'_> {
    /// The hash at `key` for a read (`None` if absent), counted as an access.
    ///
    /// # Errors
    /// [`StoreError::WrongType`] if the key holds another type.
    pub fn hash_view(
        &mut self,
        db: u8,
        key: &[u8],
        now: Timestamp,
    ) -> Result<Option<HashRead<'_>>, StoreError> {
        let found = self.collection_found(db, key, now, ValueType::Hash)?;
        Ok(found.map(|found| self.hash_read(&found)))
    }

    /// The hash of the live key item `found`, in either form.
    pub(super) fn hash_read(&self, found: &Found) -> HashRead<'_> {
        let value = self.value_of(found);
        match Header::read(value) {
            Some(header) => {
                let owner = &self.segments.bytes(found.location)[found.layout.key.clone()];
                HashRead::Large(LargeHash::new(self, found.layout.db, owner, header))
            }
            None => HashRead::Compact(HashView::new(value)),
        }
    }

    /// Sets every `(field, value)` pair of `pairs` in the hash at `key` (creating it) and
    /// returns how many fields were new (HSET, HMSET). With `only_if_new`, the one pair is
    /// set only if its field is absent (HSETNX). The key's expiry is kept. A compact hash
    /// that would pass a threshold (`hash_max_listpack_*`) or the item size limit takes
    /// the large form.
    ///
    /// # Errors
    /// [`StoreError::WrongType`], [`StoreError::CollectionTooLarge`], or a memory error;
    /// nothing changes then.
    pub fn hash_set<'p, P>(
        &mut self,
        db: u8,
        key: &[u8],
        pairs: P,
        only_if_new: bool,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<usize, StoreError>
    where
        P: Iterator<Item = (&'p [u8], &'p [u8])> + Clone,
    {
        let lookup = self.collection_lookup(db, key, now, ValueType::Hash)?;
        if let Some(found) = &lookup.found
            && self.header_of(found).is_some()
        {
            return self.hash_set_large(db, key, pairs, only_if_new, now, log);
        }
        let old: &[u8] = match &lookup.found {
            Some(found) => self.value_of(found),
            None => &[],
        };
        let view = HashView::new(old);
        let length = if old.is_empty() { 0 } else { view.len() };
        let entries_max = self.config.hash_max_listpack_entries as usize;
        let value_max = self.config.hash_max_listpack_value as usize;
        // New fields, counted until they would pass the threshold (then the hash converts,
        // and the count is the conversion's).
        let mut passed = pairs
            .clone()
            .any(|(field, value)| field.len() > value_max || value.len() > value_max);
        let mut added = 0;
        for (index, (field, _)) in pairs.clone().enumerate() {
            if passed {
                break;
            }
            if (old.is_empty() || view.find(field).is_none()) && first_of(&pairs, index, field) {
                added += 1;
                passed = length + added > entries_max;
            }
        }
        if only_if_new && added == 0 && !passed {
            return Ok(0);
        }
        let mut sizing = Out {
            target: None,
            size: 0,
        };
        let sized = !passed;
        if sized {
            compose_set_all(old, &pairs, &mut sizing);
            passed = sizing.size > self.config.value_size_max as usize;
        }
        if passed && key.len() <= LARGE_KEY_SIZE_MAX {
            // HSETNX of a field the hash has converts it (as Redis does) and sets nothing.
            let present = only_if_new
                && !old.is_empty()
                && pairs.clone().all(|(field, _)| view.find(field).is_some());
            let first = pairs.clone().take(if present {
                0
            } else {
                super::large::STEP_ELEMENTS_MAX
            });
            let mut added = self.hash_convert(db, key, lookup, &first, now, log)?;
            let rest = pairs.skip(super::large::STEP_ELEMENTS_MAX);
            added += self.hash_set_large(db, key, rest, false, now, log)?;
            return Ok(added);
        }
        if !sized {
            // A key too long for the large form: compact as long as it fits an item.
            compose_set_all(old, &pairs, &mut sizing);
        }
        let size = sizing.size;
        self.compact_put(db, key, lookup, size, now, log, |old, target| {
            let mut out = Out {
                target: Some(target),
                size: 0,
            };
            compose_set_all(old, &pairs, &mut out);
            assert!(out.size == size, "hash size {size} != written {}", out.size);
        })?;
        Ok(added)
    }

    /// Removes every field of `fields` from the hash at `key` and returns how many it had;
    /// the key goes with its last field (HDEL).
    ///
    /// # Errors
    /// [`StoreError::WrongType`], or a memory error; nothing changes then.
    pub fn hash_delete<'f, F>(
        &mut self,
        db: u8,
        key: &[u8],
        fields: F,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<usize, StoreError>
    where
        F: Iterator<Item = &'f [u8]> + Clone,
    {
        let lookup = self.collection_lookup(db, key, now, ValueType::Hash)?;
        let Some(found) = lookup.found.clone() else {
            return Ok(0);
        };
        if self.header_of(&found).is_some() {
            return in_steps(fields, |step| match self.find(db, key) {
                Some(found) => match self.header_of(&found) {
                    Some(header) => self.hash_delete_large(db, key, header, step, now, log),
                    None => Ok(0),
                },
                None => Ok(0),
            });
        }
        let old = self.value_of(&found);
        let view = HashView::new(old);
        let (mut removed, mut remaining) = (0usize, 0usize);
        for entry in view.entries() {
            if fields.clone().any(|field| field == entry.field) {
                removed += 1;
            } else {
                remaining += 1;
            }
        }
        if removed == 0 {
            return Ok(0);
        }
        if remaining == 0 {
            self.remove(&found);
            log.record(Record::Del { db, key });
            return Ok(removed);
        }
        let mut sizing = Out {
            target: None,
            size: 0,
        };
        compose_delete(old, &fields, &mut sizing);
        let size = sizing.size;
        self.compact_put(db, key, lookup, size, now, log, |old, target| {
            let mut out = Out {
                target: Some(target),
                size: 0,
            };
            compose_delete(old, &fields, &mut out);
            assert!(out.size == size, "hash size {size} != written {}", out.size);
        })?;
        Ok(removed)
    }

    /// The value of `field` in the hash at `key` for a read-modify-write (not counted as
    /// an access).
    fn hash_field(
        &mut self,
        db: u8,
        key: &[u8],
        field: &[u8],
        now: Timestamp,
    ) -> Result<Option<&[u8]>, StoreError> {
        let lookup = self.collection_lookup(db, key, now, ValueType::Hash)?;
        Ok(lookup
            .found
            .and_then(|found| self.hash_read(&found).get(field)))
    }

    /// Adds `delta` to the integer in `field` of the hash at `key` (0 if absent) and
    /// returns the result (HINCRBY).
    ///
    /// # Errors
    /// [`StoreError::WrongType`], [`StoreError::HashValueNotInteger`],
    /// [`StoreError::Overflow`], or a memory error; nothing changes then.
    pub fn hash_incr_by(
        &mut self,
        db: u8,
        key: &[u8],
        field: &[u8],
        delta: i64,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<i64, StoreError> {
        let current = match self.hash_field(db, key, field, now)? {
            Some(value) => parse_integer_strict(value).ok_or(StoreError::HashValueNotInteger)?,
            None => 0,
        };
        let result = current.checked_add(delta).ok_or(StoreError::Overflow)?;
        let mut text = [0u8; I64_TEXT_SIZE_MAX];
        let digits = format_i64(result, &mut text);
        self.hash_set(db, key, core::iter::once((field, digits)), false, now, log)?;
        Ok(result)
    }

    /// Adds `delta` to the float in `field` of the hash at `key` (0 if absent) and returns
    /// the stored text (HINCRBYFLOAT).
    ///
    /// # Errors
    /// [`StoreError::WrongType`], [`StoreError::HashValueNotFloat`],
    /// [`StoreError::FloatNotFinite`], or a memory error; nothing changes then.
    pub fn hash_incr_by_float(
        &mut self,
        db: u8,
        key: &[u8],
        field: &[u8],
        delta: f64,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<&[u8], StoreError> {
        let current = match self.hash_field(db, key, field, now)? {
            Some(value) => parse_double_finite(value).ok_or(StoreError::HashValueNotFloat)?,
            None => 0.0,
        };
        let result = current + delta;
        if !result.is_finite() {
            return Err(StoreError::FloatNotFinite);
        }
        let mut text = [0u8; DOUBLE_HUMAN_SIZE_MAX];
        let formatted = format_double_human(result, &mut text);
        self.hash_set(
            db,
            key,
            core::iter::once((field, formatted)),
            false,
            now,
            log,
        )?;
        let value = self.hash_field(db, key, field, now)?;
        value.ok_or(StoreError::OutOfMemory)
    }

    /// Calls `visit` with `count` fields of the hash at `key` chosen at random with
    /// repetition (HRANDFIELD with a negative count), or, with `distinct`, with
    /// `min(count, len)` distinct fields (in storage order). Does nothing if the key is
    /// absent.
    ///
    /// # Errors
    /// [`StoreError::WrongType`] if the key holds another type.
    pub fn hash_random_fields(
        &mut self,
        db: u8,
        key: &[u8],
        count: usize,
        distinct: bool,
        now: Timestamp,
        mut visit: impl FnMut(&[u8], &[u8]),
    ) -> Result<(), StoreError> {
        let lookup = self.collection_lookup(db, key, now, ValueType::Hash)?;
        let Some(found) = lookup.found else {
            return Ok(());
        };
        // A copy of the generator, so the hash's bytes can stay borrowed while it runs.
        let mut random = RandomCopy(self.random());
        let hash = self.hash_read(&found);
        let length = hash.len();
        if length == 0 {
            return Ok(());
        }
        match hash {
            _ if distinct => {
                // Selection sampling (Knuth's algorithm S): each entry is taken with
                // probability needed / left, which takes exactly `needed` of them.
                let mut needed = count.min(length);
                for (index, entry) in hash.entries().enumerate() {
                    let left = length - index;
                    if needed > 0 && random.below(left) < needed {
                        visit(entry.field, entry.value);
                        needed -= 1;
                    }
                }
            }
            HashRead::Large(large) => {
                for _ in 0..count {
                    if let Some(entry) = large.random_entry(&mut random) {
                        visit(entry.field, entry.value);
                    }
                }
            }
            HashRead::Compact(view) if length <= RANDOM_OFFSETS_MAX => {
                // Small hashes (all of Redis's listpack ones): each entry's start in a
                // stack table, so each pick costs O(1).
                let mut starts = [0u32; RANDOM_OFFSETS_MAX];
                for (slot, entry) in starts.iter_mut().zip(view.entries()) {
                    *slot = u32::try_from(entry.range.start).unwrap_or(u32::MAX);
                }
                for _ in 0..count {
                    let start = starts[random.below(length)] as usize;
                    let mut entries = Entries {
                        bytes: view.bytes,
                        offset: start,
                    };
                    if let Some(entry) = entries.next() {
                        visit(entry.field, entry.value);
                    }
                }
            }
            HashRead::Compact(view) => {
                for _ in 0..count {
                    if let Some(entry) = view.nth(random.below(length)) {
                        visit(entry.field, entry.value);
                    }
                }
            }
        }
        self.random_state = random.0 | 1;
        Ok(())
    }
}

/// A hash read in place, in either form.
#[derive(Debug, Clone, Copy)]
pub enum HashRead<'s> {
    /// A compact hash: one item.
    Compact(HashView<'s>),
    /// A large hash: a header and its parts.
    Large(LargeHash<'s>),
}

impl<'s> HashRead<'s> {
    /// The value of `field` (HGET).
    #[must_use]
    pub fn get(&self, field: &[u8]) -> Option<&'s [u8]> {
        match self {
            Self::Compact(view) => view.get(field),
            Self::Large(large) => large.get(field),
        }
    }

    /// Number of fields (HLEN): O(1) for a large hash, O(n) for a compact one.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Self::Compact(view) => view.len(),
            Self::Large(large) => large.len(),
        }
    }

    /// Whether the hash has no field (never true of a stored hash).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every entry: in insertion order for a compact hash, part by part for a large one.
    #[must_use]
    pub fn entries(&self) -> HashEntries<'s> {
        match self {
            Self::Compact(view) => HashEntries::Compact(view.entries()),
            Self::Large(large) => HashEntries::Large(large.entries()),
        }
    }
}

/// The entries of a [`HashRead`].
#[derive(Debug, Clone)]
pub enum HashEntries<'s> {
    /// A compact hash's.
    Compact(Entries<'s>),
    /// A large hash's.
    Large(LargeEntries<'s>),
}

impl<'s> Iterator for HashEntries<'s> {
    type Item = Entry<'s>;

    fn next(&mut self) -> Option<Entry<'s>> {
        match self {
            Self::Compact(entries) => entries.next(),
            Self::Large(entries) => entries.next(),
        }
    }
}

mod large;

use large::first_of;
pub use large::{LargeEntries, LargeHash};

#[cfg(test)]
mod tests;
