//! Sorted sets built from other sorted sets, possibly in other shards: ZUNION, ZINTER and
//! ZDIFF (and their STORE forms, ZINTERCARD) and ZRANGESTORE. As in Redis, the
//! combinations also take plain sets as sources, each member with score 1 (times its
//! weight); ZRANGESTORE takes a sorted set only.
//!
//! The sources are read in place, in their own stores, through [`Shards::with_all`]; a
//! STORE form composes the result straight into the destination's segment memory in two
//! passes (size, then write), as every compact write does, with no allocation.
//!
//! Cost: each member of the result is found once per other source, by a walk (the
//! compact form has no index): O(N × T) comparisons for N candidate members and T members
//! in all the sources. Ordering the result by score needs no scratch memory either: it is
//! emitted in chunks of [`CHUNK`](super::CHUNK) members, each chunk the smallest members above the last
//! one emitted, found by one pass over the candidates; so O(N / CHUNK + 1) passes of
//! O(N × T). Fine for compact sets (Redis's listpack limit is 128 members); slow for sets
//! of many thousands, which the large encoding is for.
//!
//! A SUM adds the weighted scores in the order the keys are given; Redis adds them in the
//! order of the sets' sizes (smallest first), which can differ in the last bit when the
//! scores are not exact in binary.

use core::cmp::Ordering;
use core::ops::Range;

use super::{Chunk, TYPE_ZSET, ZsetRead, entry_size, push_entry};
use crate::codec::record::Record;
use crate::error::StoreError;
use crate::storage::item::{self, ItemKind};
use crate::store::compact::{Out, ValueType};
use crate::store::large::{PartSource, SplitMemory};
use crate::store::set::SetRead;
use crate::store::shards::{Shards, shard_of};
use crate::store::{LogSink, Store, expired};
use crate::time::Timestamp;

/// The most input keys a STORE form takes (the sources in the destination's own shard
/// are found again by key, through its table, in each pass; this bounds the passes'
/// cost, and is the limit the commands have always announced).
pub const STORE_KEYS_MAX: usize = 256;

/// How the sources combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Members in any source.
    Union,
    /// Members in every source.
    Inter,
    /// Members of the first source in no other.
    Diff,
}

/// How the scores of a member in several sources combine (AGGREGATE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    /// Their sum (NaN, from `inf` and `-inf`, becomes 0, as in Redis).
    Sum,
    /// The least.
    Min,
    /// The greatest.
    Max,
}

/// A combination of sources: what, how, and each source's weight.
pub struct Combine<'w> {
    /// Union, intersection or difference.
    pub operation: Operation,
    /// How scores combine.
    pub aggregate: Aggregate,
    /// The weight of source `i` (1 without WEIGHTS; unused by a difference).
    pub weight: &'w dyn Fn(usize) -> f64,
}

/// The sorted set (or set) of each source by index (`None`: absent), as a combination
/// reads it.
pub type Sources<'s, 'v> = &'s dyn Fn(usize) -> Option<Source<'v>>;

/// One source of a combination, read in place: a sorted set, or a plain set whose
/// members count with score 1 (Redis's rule for ZUNION, ZINTER, ZDIFF and ZINTERCARD).
#[derive(Debug, Clone, Copy)]
pub enum Source<'v> {
    /// A sorted set (compact or large).
    Zset(ZsetRead<'v>),
    /// A set (compact or large): every member scores 1.
    Set(SetRead<'v>),
}

impl<'v> Source<'v> {
    /// The source of the key item at `owner` in `db` whose value is `value` (a compact
    /// value, type byte included, or a large set's header), whose type was checked to be
    /// a sorted set or a set; a large set's parts are read from `parts`.
    #[must_use]
    pub fn of(parts: &'v dyn PartSource, db: u8, owner: &'v [u8], value: &'v [u8]) -> Self {
        if ValueType::of(ItemKind::Compact, value) == ValueType::Set {
            Self::Set(SetRead::of(parts, db, owner, value))
        } else {
            Self::Zset(ZsetRead::of(parts, db, owner, value))
        }
    }

    /// `member`'s score, if the source holds it (1 in a set).
    #[must_use]
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Self::Zset(zset) => zset.score(member),
            Self::Set(set) => set.contains(member).then_some(1.0),
        }
    }

    /// The members and their scores, in stored order.
    pub fn entries(&self) -> impl Iterator<Item = (&'v [u8], f64)> + use<'v> {
        let (zset, set) = match *self {
            Self::Zset(zset) => (Some(zset), None),
            Self::Set(set) => (None, Some(set)),
        };
        let scored = zset.into_iter().flat_map(|zset| zset.entries());
        let scored = scored.map(|entry| (entry.member, entry.score));
        scored.chain(
            set.into_iter()
                .flat_map(|set| set.members().map(|member| (member, 1.0))),
        )
    }
}

impl Combine<'_> {
    /// The weighted score of source `index`'s `score` (NaN becomes 0, as in Redis).
    fn weighted(&self, index: usize, score: f64) -> f64 {
        let value = (self.weight)(index) * score;
        if value.is_nan() { 0.0 } else { value }
    }

    /// `member`'s combined score, given that source `first` holds it with `score` and no
    /// source before it does.
    fn score_of(
        &self,
        sources: Sources<'_, '_>,
        count: usize,
        first: usize,
        member: &[u8],
        score: f64,
    ) -> f64 {
        if self.operation == Operation::Diff {
            return score;
        }
        let mut total = self.weighted(first, score);
        for index in first + 1..count {
            let Some(score) = sources(index).and_then(|source| source.score(member)) else {
                continue;
            };
            let value = self.weighted(index, score);
            total = match self.aggregate {
                Aggregate::Sum => {
                    let sum = total + value;
                    if sum.is_nan() { 0.0 } else { sum }
                }
                Aggregate::Min => value.min(total),
                Aggregate::Max => value.max(total),
            };
        }
        total
    }

    /// Calls `visit` with each member of the result once, and its combined score, in no
    /// particular order; stops when `visit` returns `false`.
    pub fn candidates<'v>(
        &self,
        sources: Sources<'_, 'v>,
        count: usize,
        mut visit: impl FnMut(&'v [u8], f64) -> bool,
    ) {
        let holds = |index: usize, member: &[u8]| {
            sources(index).is_some_and(|source| source.score(member).is_some())
        };
        let firsts = match self.operation {
            Operation::Union => 0..count,
            Operation::Inter | Operation::Diff => 0..count.min(1),
        };
        for first in firsts {
            let Some(source) = sources(first) else {
                continue;
            };
            for (member, score) in source.entries() {
                let taken = match self.operation {
                    Operation::Union => !(0..first).any(|index| holds(index, member)),
                    Operation::Inter => (1..count).all(|index| holds(index, member)),
                    Operation::Diff => !(1..count).any(|index| holds(index, member)),
                };
                if taken {
                    let score = self.score_of(sources, count, first, member, score);
                    if !visit(member, score) {
                        return;
                    }
                }
            }
        }
    }

    /// Calls `visit` with each member of the result and its score, lowest first (by
    /// score, then member), in chunks of [`CHUNK`](super::CHUNK) (see the module's costs).
    pub fn visit_in_order<'v>(
        &self,
        sources: Sources<'_, 'v>,
        count: usize,
        mut visit: impl FnMut(&'v [u8], f64),
    ) {
        let mut after = None;
        loop {
            let mut chunk = Chunk::above(after);
            self.candidates(sources, count, |member, score| {
                chunk.offer(score, member);
                true
            });
            for &(score, member) in chunk.entries() {
                visit(member, score);
            }
            after = chunk.next_bound();
            if after.is_none() {
                return;
            }
        }
    }

    /// The number of members of the result and the size of its encoding.
    #[must_use]
    pub fn measure(&self, sources: Sources<'_, '_>, count: usize) -> (usize, usize) {
        let (mut members, mut size) = (0, 1);
        self.candidates(sources, count, |member, _| {
            members += 1;
            size += entry_size(member.len());
            true
        });
        (members, size)
    }

    /// Writes the result's encoding (scores of -0 stored as 0, as Redis's listpack does).
    fn write(&self, sources: Sources<'_, '_>, count: usize, out: &mut Out<'_>) {
        out.push(&[TYPE_ZSET]);
        self.visit_in_order(sources, count, |member, score| {
            push_entry(out, member, score + 0.0);
        });
    }
}

/// The source at `key` in `store` if it is a live key (not counted as an access).
fn value_in<'s>(store: &'s Store<'_>, db: u8, key: &[u8], now: Timestamp) -> Option<Source<'s>> {
    let found = store.find(db, key)?;
    if expired(found.layout.expires_at, now) {
        return None;
    }
    let owner = &store.segments.bytes(found.location)[found.layout.key.clone()];
    Some(Source::of(store, db, owner, store.value_of(&found)))
}

/// The source at `key` in segment memory split around the item being written, if it is
/// a live key.
fn value_in_split<'m>(
    split: &'m SplitMemory<'m, '_>,
    db: u8,
    key: &[u8],
    now: Timestamp,
) -> Option<Source<'m>> {
    let (layout, bytes) = split.find(db, key, false)?;
    if expired(layout.expires_at, now) {
        return None;
    }
    let owner = bytes.get(layout.key.clone())?;
    let value = bytes.get(layout.value.clone())?;
    Some(Source::of(split, db, owner, value))
}

/// Checks that every key of `keys` holds a sorted set (or a set, with `sets`) or nothing,
/// in order, as Redis looks them up; counts each as an access.
fn check_types<'k>(
    stores: &mut [Option<&mut Store<'_>>],
    db: u8,
    keys: &dyn Fn(usize) -> &'k [u8],
    key_count: usize,
    sets: bool,
    now: Timestamp,
) -> Result<(), StoreError> {
    let shard_count = stores.len();
    for index in 0..key_count {
        let key = keys(index);
        let store = stores
            .get_mut(shard_of(key, shard_count))
            .and_then(Option::as_deref_mut);
        assert!(store.is_some(), "the shard of an input key is held");
        if let Some(store) = store {
            match store.collection_read(db, key, now, ValueType::SortedSet) {
                Err(StoreError::WrongType) if sets => {
                    store.collection_read(db, key, now, ValueType::Set)?;
                }
                result => {
                    result?;
                }
            }
        }
    }
    Ok(())
}

/// Runs `read` with the sorted sets (or sets) at `keys` (each in its own shard, read in
/// place), after checking their types (ZUNION, ZINTER, ZDIFF, ZINTERCARD).
///
/// # Errors
/// [`StoreError::WrongType`] if a key holds neither a sorted set nor a set; `read` is not
/// called then.
pub fn read<'k>(
    shards: &mut dyn Shards<'_>,
    db: u8,
    keys: &dyn Fn(usize) -> &'k [u8],
    key_count: usize,
    now: Timestamp,
    read: &mut dyn FnMut(Sources<'_, '_>),
) -> Result<(), StoreError> {
    let mut result = Ok(());
    shards.with_all(&mut |stores| {
        result = check_types(stores, db, keys, key_count, true, now);
        if result.is_err() {
            return;
        }
        let shard_count = stores.len();
        let stores: &[Option<&mut Store<'_>>] = stores;
        let sources = |index: usize| {
            let key = keys(index);
            let store = stores.get(shard_of(key, shard_count))?.as_deref()?;
            value_in(store, db, key, now)
        };
        read(&sources);
    });
    result
}

/// What a STORE form stores.
pub enum Recipe<'r> {
    /// A union, intersection or difference of the sources.
    Combine(&'r Combine<'r>),
    /// A range of the one source (ZRANGESTORE).
    Range(RangeCopy<'r>),
}

impl Recipe<'_> {
    /// The number of members of the result and the size of its encoding (type byte
    /// included).
    fn measure(&self, sources: Sources<'_, '_>, count: usize) -> (usize, usize) {
        match self {
            Self::Combine(combine) => combine.measure(sources, count),
            Self::Range(range) => range.measure(sources),
        }
    }

    /// Writes the encoding, of exactly the measured size.
    fn write(&self, sources: Sources<'_, '_>, count: usize, out: &mut Out<'_>) {
        match self {
            Self::Combine(combine) => combine.write(sources, count, out),
            Self::Range(range) => range.write(sources, out),
        }
    }
}

/// ZRANGESTORE's result: the entries of the ranks `window(source)` selects, copied.
pub struct RangeCopy<'w> {
    /// The ranks to copy from the one source.
    pub window: &'w dyn Fn(&ZsetRead<'_>) -> Range<usize>,
}

impl RangeCopy<'_> {
    fn measure(&self, sources: Sources<'_, '_>) -> (usize, usize) {
        let Some(Source::Zset(zset)) = sources(0) else {
            return (0, 1);
        };
        let window = (self.window)(&zset);
        (window.len(), 1 + zset.size_of(window))
    }

    fn write(&self, sources: Sources<'_, '_>, out: &mut Out<'_>) {
        out.push(&[TYPE_ZSET]);
        if let Some(Source::Zset(zset)) = sources(0) {
            zset.visit((self.window)(&zset), false, |entry| {
                push_entry(out, entry.member, entry.score);
            });
        }
    }
}

/// Stores the result `compose` makes of the sorted sets at `keys` as the sorted set at
/// `destination` (whatever it held; without expiry), or deletes it when the result is
/// empty; returns the result's member count (ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE,
/// ZRANGESTORE).
///
/// # Errors
/// [`StoreError::WrongType`] if a source holds another type,
/// [`StoreError::CollectionTooLarge`], [`StoreError::KeyTooLarge`], or a memory error
/// (also when making room evicted a source in the destination's shard); nothing changes
/// then, but the evictions made while looking for room.
///
/// # Panics
/// If `key_count` is above [`STORE_KEYS_MAX`] (the command refuses that first).
#[expect(clippy::too_many_arguments, reason = "a write of one key from many")]
pub fn store<'k>(
    shards: &mut dyn Shards<'_>,
    db: u8,
    destination: &[u8],
    keys: &dyn Fn(usize) -> &'k [u8],
    key_count: usize,
    compose: &Recipe<'_>,
    now: Timestamp,
    log: &mut impl LogSink,
) -> Result<usize, StoreError> {
    assert!(key_count <= STORE_KEYS_MAX, "key_count={key_count}");
    let mut result = Ok(0);
    shards.with_all(&mut |stores| {
        // ZRANGESTORE reads a sorted set only; the combinations take sets too.
        let sets = matches!(compose, Recipe::Combine(_));
        result = check_types(stores, db, keys, key_count, sets, now).and_then(|()| {
            store_checked(stores, db, destination, keys, key_count, compose, now, log)
        });
    });
    result
}

/// [`store`] once the sources' types are checked.
#[expect(clippy::too_many_arguments, reason = "a write of one key from many")]
fn store_checked<'k>(
    stores: &mut [Option<&mut Store<'_>>],
    db: u8,
    destination: &[u8],
    keys: &dyn Fn(usize) -> &'k [u8],
    key_count: usize,
    compose: &Recipe<'_>,
    now: Timestamp,
    log: &mut impl LogSink,
) -> Result<usize, StoreError> {
    let shard_count = stores.len();
    let target_shard = shard_of(destination, shard_count);
    let (head, rest) = stores.split_at_mut(target_shard);
    let Some((target_slot, tail)) = rest.split_first_mut() else {
        unreachable!("the destination's shard {target_shard} is below {shard_count}");
    };
    let Some(target) = target_slot.as_deref_mut() else {
        unreachable!("the destination's shard is held");
    };
    let (head, tail): (&[Option<&mut Store<'_>>], &[Option<&mut Store<'_>>]) = (head, tail);
    // The store of a source in another shard than the destination's.
    let other = |shard: usize| -> Option<&Store<'_>> {
        match shard.cmp(&target_shard) {
            Ordering::Less => head.get(shard)?.as_deref(),
            Ordering::Greater => tail.get(shard - target_shard - 1)?.as_deref(),
            Ordering::Equal => None,
        }
    };
    let local = |index: usize| shard_of(keys(index), shard_count) == target_shard;
    let (members, size) = {
        let target: &Store<'_> = target;
        let sources = |index: usize| {
            let key = keys(index);
            let store = if local(index) {
                target
            } else {
                other(shard_of(key, shard_count))?
            };
            value_in(store, db, key, now)
        };
        compose.measure(&sources, key_count)
    };
    let lookup = target.lookup(db, destination, now);
    if members == 0 {
        if let Some(found) = &lookup.found {
            target.remove(found);
            log.record(Record::Del {
                db,
                key: destination,
            });
        }
        return Ok(0);
    }
    if destination.len() > target.config.key_size_max as usize {
        return Err(StoreError::KeyTooLarge);
    }
    if size > target.config.value_size_max as usize {
        return Err(StoreError::CollectionTooLarge);
    }
    let item_size = item::item_size(destination.len(), size, 0);
    let new_key_count = usize::from(lookup.found.is_none());
    target.ensure_room(core::iter::once(item_size), new_key_count, now, log)?;
    let hash = lookup.hash;
    let found = target.refind(db, destination, lookup);
    // The sources in this shard are found again: making room may have moved them.
    let remeasured = {
        let target: &Store<'_> = target;
        let sources = |index: usize| {
            let key = keys(index);
            let store = if local(index) {
                target
            } else {
                other(shard_of(key, shard_count))?
            };
            value_in(store, db, key, now)
        };
        compose.measure(&sources, key_count)
    };
    if remeasured != (members, size) {
        // Making room evicted a source: memory cannot hold the result beside them.
        return Err(StoreError::OutOfMemory);
    }
    let seed = target.config.seed;
    target.put_found_reading(
        db,
        destination,
        hash,
        found,
        ItemKind::Compact,
        size,
        0,
        log,
        |memory, table, _, start| {
            let (before, rest) = memory.split_at_mut(start);
            let (value, after) = rest.split_at_mut(size);
            let split = SplitMemory {
                table,
                seed,
                before,
                after,
                after_start: start + size,
            };
            let sources = |index: usize| {
                let key = keys(index);
                if local(index) {
                    value_in_split(&split, db, key, now)
                } else {
                    value_in(other(shard_of(key, shard_count))?, db, key, now)
                }
            };
            let mut out = Out {
                target: Some(value),
                size: 0,
            };
            compose.write(&sources, key_count, &mut out);
            assert!(out.size == size, "zset size {size} != written {}", out.size);
        },
    )?;
    // Best effort: without room the result stays compact (correct, only slower).
    let _ = target.zset_convert_if_large(db, destination, now, log);
    Ok(members)
}
