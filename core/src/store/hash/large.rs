//! Large hashes: a header item and parts that are compact hashes (`store/large.rs` has
//! the layout and the rules every large collection follows).
//!
//! A write touches the parts of the fields it names: each is composed anew from its old
//! bytes and the request (the compact encoding's composer, restricted to the part's
//! fields), then the header with the new field count. Growth is one split at a time,
//! after the write: part `split_source` is rewritten and the new part written, both
//! composed from the source's old bytes. Every part write, the header and a split are
//! logged as `Set` records in the command's one group.

use super::{Entries, Entry, HashView, compose_delete, compose_set, compose_set_all};
use crate::codec::record::Record;
use crate::error::StoreError;
use crate::storage::item::{self, PART_NUMBER_SIZE};
use crate::storage::policy::EvictionPolicy;
use crate::store::compact::{Out, RandomCopy, TYPE_HASH};
use crate::store::large::{
    Header, LargeRef, PART_ELEMENTS_TARGET, PartKey, PartSource, STEP_ELEMENTS_MAX, SizeList,
    TYPE_LARGE_HASH, address, in_steps,
};
use crate::store::{LogSink, Store};
use crate::time::Timestamp;

/// A large hash read in place: its header, and the store its parts are read from.
#[derive(Debug, Clone, Copy)]
pub struct LargeHash<'s> {
    large: LargeRef<'s>,
}

impl<'s> LargeHash<'s> {
    pub(super) fn new(parts: &'s dyn PartSource, db: u8, owner: &'s [u8], header: Header) -> Self {
        Self {
            large: LargeRef::new(parts, db, owner, header),
        }
    }

    /// Number of fields.
    #[must_use]
    pub fn len(&self) -> usize {
        self.large.len()
    }

    /// Whether it has no field (never true of a stored hash).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.large.is_empty()
    }

    /// Number of parts: HSCAN's cursor runs over them.
    #[must_use]
    pub fn part_count(&self) -> u32 {
        self.large.header().part_count
    }

    /// Part `number` (empty if it is missing, which a stored hash never has).
    #[must_use]
    pub fn part(&self, number: u32) -> HashView<'s> {
        HashView::new(self.large.part_bytes(number))
    }

    /// The value of `field`: one part read.
    #[must_use]
    pub fn get(&self, field: &[u8]) -> Option<&'s [u8]> {
        let part = self.part(self.large.header().part_of(field));
        if part.bytes.is_empty() {
            return None;
        }
        part.get(field)
    }

    /// Every entry, part by part.
    #[must_use]
    pub fn entries(&self) -> LargeEntries<'s> {
        LargeEntries {
            hash: *self,
            next_part: 0,
            current: HashView::new(&[]).entries(),
        }
    }

    /// An entry picked at random: a random part, then a random entry of it (uniform
    /// when the parts are equally full; an entry of a sparse part is likelier).
    pub(in crate::store) fn random_entry(&self, random: &mut RandomCopy) -> Option<Entry<'s>> {
        let (number, index) = self
            .large
            .random_place(random, |bytes| HashView::new(bytes).len())?;
        self.part(number).nth(index)
    }
}

/// The entries of a [`LargeHash`], part by part.
#[derive(Debug, Clone)]
pub struct LargeEntries<'s> {
    hash: LargeHash<'s>,
    next_part: u32,
    current: Entries<'s>,
}

impl<'s> Iterator for LargeEntries<'s> {
    type Item = Entry<'s>;

    fn next(&mut self) -> Option<Entry<'s>> {
        loop {
            if let Some(entry) = self.current.next() {
                return Some(entry);
            }
            if self.next_part >= self.hash.part_count() {
                return None;
            }
            self.current = self.hash.part(self.next_part).entries();
            self.next_part += 1;
        }
    }
}

/// The first time each field of `pairs` appears (so repeated fields count once).
pub(super) fn first_of<'p, P>(pairs: &P, index: usize, field: &[u8]) -> bool
where
    P: Iterator<Item = (&'p [u8], &'p [u8])> + Clone,
{
    pairs.clone().position(|(other, _)| other == field) == Some(index)
}

impl Store<'_> {
    /// HSET on a large hash: see [`Store::hash_set`]. The pairs go in steps of
    /// [`STEP_ELEMENTS_MAX`], whose parts are computed once, on the stack; the hash grows
    /// after the last step. Under `noeviction`, a write of more than one step first makes
    /// room for all of them, counting each pair's whole part (past the first 64 pairs, at
    /// the average size of theirs), so a write that does not fit is refused before it
    /// changes anything; past that estimate a step may still run out of room, leaving the
    /// steps before it applied and logged.
    pub(super) fn hash_set_large<'p, P>(
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
        if self.config.policy == EvictionPolicy::NoEviction
            && pairs.clone().nth(STEP_ELEMENTS_MAX).is_some()
        {
            self.hash_room_bound(db, key, &pairs, now, log)?;
        }
        let added = in_steps(pairs, |step| {
            self.hash_set_step(db, key, step, only_if_new, now, log)
        })?;
        self.large_grow(db, key, compose_split, now, log);
        Ok(added)
    }

    /// Room for every pair of a large write at once, counted from above: each pair's
    /// entry plus the whole part it lands in (the parts past the first 64 at their average
    /// size: an admission check, since each step then makes its own room).
    fn hash_room_bound<'p, P>(
        &mut self,
        db: u8,
        key: &[u8],
        pairs: &P,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError>
    where
        P: Iterator<Item = (&'p [u8], &'p [u8])> + Clone,
    {
        let header = self.large_header(db, key)?;
        let part_key_size = key.len() + PART_NUMBER_SIZE;
        let sizes = SizeList::new(pairs.clone().map(|(field, value)| {
            let part = self.part_bytes(db, key, header.part_of(field)).len();
            item::item_size(
                part_key_size,
                part + super::entry_size(field.len(), value.len()),
                0,
            )
        }));
        self.header_room(db, key, sizes.iter_average(), 0, now, log)
    }

    /// The header of the large hash at `key` (which the caller found).
    fn large_header(&self, db: u8, key: &[u8]) -> Result<Header, StoreError> {
        self.find(db, key)
            .and_then(|found| self.header_of(&found))
            .ok_or(StoreError::OutOfMemory)
    }

    /// One step of [`Store::hash_set_large`]: at most [`STEP_ELEMENTS_MAX`] pairs, each part
    /// they touch rewritten once, then the header.
    fn hash_set_step<'p, P>(
        &mut self,
        db: u8,
        key: &[u8],
        step: P,
        only_if_new: bool,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<usize, StoreError>
    where
        P: Iterator<Item = (&'p [u8], &'p [u8])> + Clone,
    {
        let header = self.large_header(db, key)?;
        let mut part_key = PartKey::new(key).ok_or(StoreError::KeyTooLarge)?;
        let mut parts = [0u32; STEP_ELEMENTS_MAX];
        let mut count = 0;
        for (slot, (field, _)) in parts.iter_mut().zip(step.clone()) {
            *slot = header.part_of(field);
            count += 1;
        }
        // The pairs of part `part`, and the steps' parts each once (where it first appears).
        let of_part = |part: u32| {
            step.clone()
                .enumerate()
                .filter(move |&(index, _)| parts[index] == part)
                .map(|(_, pair)| pair)
        };
        let touched = (0..count)
            .filter(|&index| !parts[..index].contains(&parts[index]))
            .map(|index| parts[index]);
        // Each touched part's new size, in the order `touched` lists them, and the fields
        // new to the hash: one read of each part serves both.
        let mut sizes = [0usize; STEP_ELEMENTS_MAX];
        let mut added = 0;
        for (slot, part) in sizes.iter_mut().zip(touched.clone()) {
            let old = self.part_bytes(db, key, part);
            added += step
                .clone()
                .enumerate()
                .filter(|&(index, (field, _))| {
                    parts[index] == part
                        && first_of(&step, index, field)
                        && (old.is_empty() || HashView::new(old).find(field).is_none())
                })
                .count();
            let mut sizing = Out {
                target: None,
                size: 0,
            };
            compose_set_all(old, &of_part(part), &mut sizing);
            *slot = sizing.size;
        }
        if only_if_new && added == 0 {
            return Ok(0);
        }
        let sizes = &sizes[..touched.clone().count()];
        if sizes
            .iter()
            .any(|&size| size > self.config.value_size_max as usize)
        {
            return Err(StoreError::CollectionTooLarge);
        }
        let part_key_size = key.len() + PART_NUMBER_SIZE;
        let items = sizes
            .iter()
            .map(|&size| item::item_size(part_key_size, size, 0));
        self.header_room(db, key, items, 0, now, log)?;
        for (part, &size) in touched.zip(sizes) {
            self.part_write(db, &mut part_key, part, None, size, log, |old, out| {
                compose_set_all(old, &of_part(part), out);
            })?;
        }
        let grown = Header {
            len: header.len + added as u64,
            ..header
        };
        self.header_write(db, key, grown, None, now, log)?;
        Ok(added)
    }

    /// HDEL on a large hash: see [`Store::hash_delete`].
    pub(super) fn hash_delete_large<'f, F>(
        &mut self,
        db: u8,
        key: &[u8],
        header: Header,
        fields: F,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<usize, StoreError>
    where
        F: Iterator<Item = &'f [u8]> + Clone,
    {
        let mut part_key = PartKey::new(key).ok_or(StoreError::KeyTooLarge)?;
        let first =
            |index: usize, field: &[u8]| fields.clone().position(|f| f == field) == Some(index);
        let removed = {
            let hash = LargeHash::new(self, db, key, header);
            fields
                .clone()
                .enumerate()
                .filter(|&(index, field)| first(index, field) && hash.get(field).is_some())
                .count()
        };
        if removed == 0 {
            return Ok(0);
        }
        if header.len <= removed as u64 {
            if let Some(found) = self.find(db, key) {
                self.remove(&found);
            }
            log.record(Record::Del { db, key });
            return Ok(removed);
        }
        let shrunk = Header {
            len: header.len - removed as u64,
            ..header
        };
        let touched = |index: usize, part: u32| {
            fields
                .clone()
                .position(|field| header.part_of(field) == part)
                == Some(index)
        };
        let parts = fields
            .clone()
            .enumerate()
            .map(|(index, field)| (index, header.part_of(field)))
            .filter(|&(index, part)| touched(index, part))
            .map(|(_, part)| part);
        let part_size = |store: &Self, part: u32| {
            let old = store.part_bytes(db, key, part);
            let mut sizing = Out {
                target: None,
                size: 0,
            };
            compose_delete(old, &fields, &mut sizing);
            sizing.size
        };
        let part_key_size = key.len() + PART_NUMBER_SIZE;
        let sizes = SizeList::new(
            parts
                .clone()
                .map(|part| item::item_size(part_key_size, part_size(self, part), 0)),
        );
        self.header_room(db, key, sizes.iter(), 0, now, log)?;
        for part in parts {
            let size = part_size(self, part);
            self.part_write(db, &mut part_key, part, None, size, log, |old, out| {
                compose_delete(old, &fields, out);
            })?;
        }
        self.header_write(db, key, shrunk, None, now, log)?;
        Ok(removed)
    }

    /// Turns the compact hash `lookup` found (or none) at `key` into a large one holding
    /// its entries with `pairs` set (at most [`STEP_ELEMENTS_MAX`] of them; the caller sets
    /// the rest with [`Store::hash_set_large`]) and returns how many fields were new: one
    /// part per [`PART_ELEMENTS_TARGET`] fields, each composed from the old value and the
    /// pairs, then the header over the old item.
    pub(super) fn hash_convert<'p, P>(
        &mut self,
        db: u8,
        key: &[u8],
        lookup: crate::store::Lookup,
        pairs: &P,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<usize, StoreError>
    where
        P: Iterator<Item = (&'p [u8], &'p [u8])> + Clone,
    {
        let mut part_key = PartKey::new(key).ok_or(StoreError::KeyTooLarge)?;
        let existed = lookup.found.is_some();
        let (length, added) = {
            let old = HashView::new(self.compact_old_value(db, key, existed));
            let length = if existed { old.len() } else { 0 };
            let added = pairs
                .clone()
                .enumerate()
                .filter(|&(index, (field, _))| {
                    first_of(pairs, index, field) && (!existed || old.find(field).is_none())
                })
                .count();
            (length, added)
        };
        let total = (length + added) as u64;
        let part_count = u32::try_from(total.div_ceil(PART_ELEMENTS_TARGET).max(1))
            .map_err(|_| StoreError::CollectionTooLarge)?;
        let header = Header {
            type_byte: TYPE_LARGE_HASH,
            len: total,
            part_count,
            seed: self.random(),
            chain: crate::store::large::Chain::default(),
            tree: crate::store::large::Tree::default(),
        };
        let keep = |field: &[u8], part: u32| header.part_of(field) == part;
        let part_size = |store: &Self, part: u32| {
            let old = store.compact_old_value(db, key, existed);
            let mut sizing = Out {
                target: None,
                size: 0,
            };
            compose_set(old, pairs, |field| keep(field, part), &mut sizing);
            sizing.size
        };
        if (0..part_count).any(|part| part_size(self, part) > self.config.value_size_max as usize) {
            return Err(StoreError::CollectionTooLarge);
        }
        let part_key_size = key.len() + PART_NUMBER_SIZE;
        let sizes = SizeList::new(
            (0..part_count).map(|part| item::item_size(part_key_size, part_size(self, part), 0)),
        );
        let new_keys = part_count as usize + usize::from(!existed);
        self.header_room(db, key, sizes.iter(), new_keys, now, log)?;
        if existed && self.find_live(db, key, now).is_none() {
            // Making room evicted the hash itself: memory cannot hold its new version.
            return Err(StoreError::OutOfMemory);
        }
        for part in 0..part_count {
            let size = part_size(self, part);
            let source = self.compact_old_range(db, key, existed);
            self.part_write(
                db,
                &mut part_key,
                part,
                Some(source),
                size,
                log,
                |old, out| {
                    compose_set(old, pairs, |field| keep(field, part), out);
                },
            )?;
        }
        self.header_write(db, key, header, None, now, log)?;
        Ok(added)
    }
}

/// The part `keep` after a split to `grown`'s part count: the entries of the source part
/// whose address is `keep`.
fn compose_split(old: &[u8], grown: Header, keep: u32, out: &mut Out<'_>) {
    out.push(&[TYPE_HASH]);
    if old.is_empty() {
        return;
    }
    for entry in HashView::new(old).entries() {
        let hash = crate::hash::wyhash(entry.field, grown.seed);
        if address(hash, grown.part_count) == keep {
            out.push(&old[entry.range]);
        }
    }
}
