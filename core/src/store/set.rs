//! Sets in the compact encoding: the whole set is the value of one key item of kind
//! [`ItemKind::Compact`], a type byte followed by its members back to back:
//!
//! ```text
//! +------+-------------+--------+-------------+--------+-----
//! | 's'  | varint size | member | varint size | member | ...
//! +------+-------------+--------+-------------+--------+-----
//! ```
//!
//! Members are distinct. A set whose members are all canonical 64-bit integers, and at
//! most [`INTSET_ENTRIES_MAX`] of them, is kept in numeric order (Redis's intset, whose
//! SMEMBERS order is numeric); any other set keeps insertion order. Every write composes
//! the new value straight into segment memory (a sizing pass, then a writing pass: no
//! allocation), so the order rule is applied once per write: the members are listed,
//! and if they are all integers (at most 512 of them) they are sorted on the stack.
//!
//! A write (SADD, SREM, SPOP, SMOVE, the STORE forms) is logged as one `Set` record of the
//! whole new item (kind compact), physical and idempotent; a set emptied is a `Del`.
//!
//! Past its thresholds (`Config::set_max_intset_entries` for a set of integers,
//! `set_max_listpack_entries`/`_value` for any other) or the item size limit, a set takes
//! the **large form** (`set/large.rs`, `store/large.rs`): a header at the key and parts of
//! about 16 members each, so a write rewrites one part. [`SetRead`] reads either form. A
//! STORE form composes its result as a compact value first (so a result must fit one
//! item, or the write is refused with [`StoreError::CollectionTooLarge`]), then converts
//! it to the large form if it is past the thresholds.
//!
//! Set algebra over several keys (SINTER, SUNION, SDIFF and their STORE forms) reads the
//! source sets in place, in whichever shards they live: the caller holds every shard
//! ([`Shards::with_all`]). A STORE form composes its result straight into the target's new
//! item; sources in the target's own shard are found through its table in the segment
//! memory around that item ([`Store::put_found_reading`]).
//!
//! Reading is total: [`SetView`] walks the bytes with checked lengths and stops at the
//! first malformed member, and [`is_valid`] is what recovery checks before it loads a
//! compact value from a record or a snapshot.

use super::compact::{Out, RandomCopy, TYPE_SET, ValueType, varint_read};
use super::large::{Header, LARGE_KEY_SIZE_MAX, PartSource, SplitMemory};
use super::shards::{Shards, shard_of};
use super::{Found, LogSink, Store, expired};
use crate::codec::record::Record;
use crate::error::StoreError;
use crate::storage::item::{self, ItemKind};
use crate::text::{I64_TEXT_SIZE_MAX, format_i64, parse_integer_strict};
use crate::time::Timestamp;

/// Redis's `set-max-intset-entries` (its default): a set of at most this many integer
/// members is an intset, kept in numeric order.
pub const INTSET_ENTRIES_MAX: usize = 512;

/// Sets of at most this many members get O(1) picks in SRANDMEMBER with repetition.
const RANDOM_OFFSETS_MAX: usize = 512;

/// A compact set's value, read in place.
#[derive(Debug, Clone, Copy)]
pub struct SetView<'v> {
    bytes: &'v [u8],
}

/// The members of a [`SetView`], in stored order.
#[derive(Debug, Clone)]
pub struct Members<'v> {
    bytes: &'v [u8],
    offset: usize,
}

impl<'v> Iterator for Members<'v> {
    type Item = &'v [u8];

    fn next(&mut self) -> Option<&'v [u8]> {
        let (size, varint) = varint_read(self.bytes.get(self.offset..)?)?;
        let from = self.offset + varint;
        let member = self.bytes.get(from..from.checked_add(size)?)?;
        self.offset = from + size;
        Some(member)
    }
}

impl<'v> SetView<'v> {
    /// A view of a compact set's value (type byte included).
    #[must_use]
    pub const fn new(bytes: &'v [u8]) -> Self {
        Self { bytes }
    }

    /// The value's bytes (type byte included).
    #[must_use]
    pub const fn bytes(&self) -> &'v [u8] {
        self.bytes
    }

    /// The members in stored order (numeric for an intset).
    #[must_use]
    pub fn members(&self) -> Members<'v> {
        Members {
            bytes: self.bytes,
            offset: 1,
        }
    }

    /// Number of members (SCARD).
    #[must_use]
    pub fn len(&self) -> usize {
        self.members().count()
    }

    /// Whether the set has no member (never true of a stored set).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.members().next().is_none()
    }

    /// Whether `member` is in the set (SISMEMBER).
    #[must_use]
    pub fn contains(&self, member: &[u8]) -> bool {
        self.members().any(|other| other == member)
    }
}

/// Whether `value` is a well-formed compact set: the type byte, at least one member, and
/// members that end exactly at its end. Recovery refuses anything else.
#[must_use]
pub fn is_valid(value: &[u8]) -> bool {
    if value.first() != Some(&TYPE_SET) {
        return false;
    }
    let mut members = SetView::new(value).members();
    let mut count = 0usize;
    while members.next().is_some() {
        count += 1;
    }
    count > 0 && members.offset == value.len()
}

/// Whether every member of the compact set `value` is a canonical integer and there are
/// at most [`INTSET_ENTRIES_MAX`] of them (OBJECT ENCODING's `intset`, Redis's rule).
#[must_use]
pub fn all_integers(value: &[u8]) -> bool {
    let mut count = 0usize;
    for member in SetView::new(value).members() {
        count += 1;
        if count > INTSET_ENTRIES_MAX || parse_integer_strict(member).is_none() {
            return false;
        }
    }
    count > 0
}

/// A set read in place, in either form.
#[derive(Debug, Clone, Copy)]
pub enum SetRead<'s> {
    /// A compact set: one item.
    Compact(SetView<'s>),
    /// A large set: a header and its parts.
    Large(LargeSet<'s>),
}

impl<'s> SetRead<'s> {
    /// The set whose key item at `owner` in `db` has the value `value` (a compact set or a
    /// large one's header), its parts read from `parts`.
    #[must_use]
    pub fn of(parts: &'s dyn PartSource, db: u8, owner: &'s [u8], value: &'s [u8]) -> Self {
        match Header::read(value) {
            Some(header) => Self::Large(LargeSet::new(parts, db, owner, header)),
            None => Self::Compact(SetView::new(value)),
        }
    }

    /// Whether `member` is in the set (SISMEMBER).
    #[must_use]
    pub fn contains(&self, member: &[u8]) -> bool {
        match self {
            Self::Compact(view) => view.contains(member),
            Self::Large(large) => large.contains(member),
        }
    }

    /// Number of members (SCARD): O(1) for a large set, O(n) for a compact one.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Self::Compact(view) => view.len(),
            Self::Large(large) => large.len(),
        }
    }

    /// Whether the set has no member (never true of a stored set).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every member: in stored order for a compact set (numeric for an intset), part by
    /// part for a large one.
    #[must_use]
    pub fn members(&self) -> SetMembers<'s> {
        match self {
            Self::Compact(view) => SetMembers::Compact(view.members()),
            Self::Large(large) => SetMembers::Large(large.members()),
        }
    }
}

/// The members of a [`SetRead`].
#[derive(Debug, Clone)]
pub enum SetMembers<'s> {
    /// A compact set's.
    Compact(Members<'s>),
    /// A large set's.
    Large(LargeMembers<'s>),
}

impl<'s> Iterator for SetMembers<'s> {
    type Item = &'s [u8];

    fn next(&mut self) -> Option<&'s [u8]> {
        match self {
            Self::Compact(members) => members.next(),
            Self::Large(members) => members.next(),
        }
    }
}

/// What the thresholds look at in a set being composed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Shape {
    /// Members.
    count: usize,
    /// Whether every member is a canonical integer.
    integers: bool,
    /// Bytes of the longest member.
    longest: usize,
}

/// The [`Shape`] of the set `each` lists.
fn shape(each: &Each<'_>) -> Shape {
    let mut shape = Shape {
        integers: true,
        ..Shape::default()
    };
    each(&mut |member| {
        shape.count += 1;
        shape.longest = shape.longest.max(member.len());
        shape.integers = shape.integers && parse_integer_strict(member).is_some();
    });
    shape
}

/// Lists the distinct members of a set being built, calling its argument with each.
type Each<'e> = dyn Fn(&mut dyn FnMut(&[u8])) + 'e;

/// Lists the distinct members of a set's new value from its old value (see [`Each`]).
type Rewrite<'e> = dyn Fn(&[u8], &mut dyn FnMut(&[u8])) + 'e;

/// Calls `push` with each member that `each` lists (distinct members): in numeric order
/// when they are all canonical integers and at most [`INTSET_ENTRIES_MAX`], else in the
/// order listed. The same members give the same calls, so the sizing and the writing
/// pass of a composition agree.
fn emit(each: &Each<'_>, push: &mut dyn FnMut(&[u8])) {
    let mut values = [0i64; INTSET_ENTRIES_MAX];
    let (mut count, mut integers) = (0usize, true);
    each(&mut |member| {
        if !integers {
            return;
        }
        match parse_integer_strict(member) {
            Some(value) if count < INTSET_ENTRIES_MAX => {
                values[count] = value;
                count += 1;
            }
            _ => integers = false,
        }
    });
    if integers {
        let values = &mut values[..count];
        values.sort_unstable();
        let mut text = [0u8; I64_TEXT_SIZE_MAX];
        for &value in values.iter() {
            push(format_i64(value, &mut text));
        }
    } else {
        each(push);
    }
}

/// Composes the set that `each` lists into `out` and returns its member count.
fn compose(each: &Each<'_>, out: &mut Out<'_>) -> usize {
    out.push(&[TYPE_SET]);
    let mut count = 0usize;
    emit(each, &mut |member| {
        out.push_varint(member.len());
        out.push(member);
        count += 1;
    });
    count
}

/// What SPOP reports to its caller, in order: the count, then each member popped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Popped<'m> {
    /// How many members are popped.
    Count(usize),
    /// One of them.
    Member(&'m [u8]),
}

/// The operation of SINTER, SUNION and SDIFF (and their STORE forms, and SINTERCARD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOperation {
    /// Members in every set (a missing key is an empty set, so the result is empty).
    Intersection,
    /// Members in any set.
    Union,
    /// Members of the first set in none of the others.
    Difference,
}

/// Calls `visit` with each distinct member of `operation` over the sets at `keys`, where
/// `value_of` gives a key's compact set (`None`: absent, an empty set). Intersection and
/// difference list the first set's members in its order; union lists each set's members
/// not in an earlier set.
fn each_result<'k, 'v, K>(
    keys: &K,
    operation: SetOperation,
    value_of: &dyn Fn(&[u8]) -> Option<SetRead<'v>>,
    visit: &mut dyn FnMut(&[u8]),
) where
    K: Iterator<Item = &'k [u8]> + Clone,
{
    let contains =
        |key: &[u8], member: &[u8]| value_of(key).is_some_and(|set| set.contains(member));
    let mut rest = keys.clone();
    let Some(first) = rest.next() else {
        return;
    };
    match operation {
        SetOperation::Intersection => {
            if keys.clone().any(|key| value_of(key).is_none()) {
                return;
            }
            let Some(first_set) = value_of(first) else {
                return;
            };
            for member in first_set.members() {
                if rest.clone().all(|key| contains(key, member)) {
                    visit(member);
                }
            }
        }
        SetOperation::Union => {
            for (index, key) in keys.clone().enumerate() {
                let Some(set) = value_of(key) else {
                    continue;
                };
                for member in set.members() {
                    if !keys
                        .clone()
                        .take(index)
                        .any(|earlier| contains(earlier, member))
                    {
                        visit(member);
                    }
                }
            }
        }
        SetOperation::Difference => {
            let Some(first_set) = value_of(first) else {
                return;
            };
            for member in first_set.members() {
                if !rest.clone().any(|key| contains(key, member)) {
                    visit(member);
                }
            }
        }
    }
}

/// The live set at `key` in segment memory split around an item being written (`None` if
/// absent, expired or of another type).
fn set_in_split<'m>(
    split: &'m SplitMemory<'m, '_>,
    db: u8,
    key: &[u8],
    now: Timestamp,
) -> Option<SetRead<'m>> {
    let (layout, bytes) = split.find(db, key, false)?;
    if layout.kind != ItemKind::Compact || expired(layout.expires_at, now) {
        return None;
    }
    let value = bytes.get(layout.value.clone())?;
    let owner = bytes.get(layout.key.clone())?;
    (ValueType::of(layout.kind, value) == ValueType::Set)
        .then(|| SetRead::of(split, db, owner, value))
}

impl Store<'_> {
    /// The set at `key` for a read (`None` if absent), counted as an access.
    ///
    /// # Errors
    /// [`StoreError::WrongType`] if the key holds another type.
    pub fn set_view(
        &mut self,
        db: u8,
        key: &[u8],
        now: Timestamp,
    ) -> Result<Option<SetRead<'_>>, StoreError> {
        let found = self.collection_found(db, key, now, ValueType::Set)?;
        Ok(found.map(|found| self.set_read(&found)))
    }

    /// The set of the live key item `found`, in either form.
    pub(super) fn set_read(&self, found: &Found) -> SetRead<'_> {
        let owner = &self.segments.bytes(found.location)[found.layout.key.clone()];
        SetRead::of(self, found.layout.db, owner, self.value_of(found))
    }

    /// The set at `key` if it is live, without counting an access.
    pub(super) fn set_value(&self, db: u8, key: &[u8], now: Timestamp) -> Option<SetRead<'_>> {
        let found = self.find(db, key)?;
        if expired(found.layout.expires_at, now) || found.layout.kind != ItemKind::Compact {
            return None;
        }
        let value = self.value_of(&found);
        (ValueType::of(found.layout.kind, value) == ValueType::Set).then(|| self.set_read(&found))
    }

    /// Whether a compact set of `shape` and encoded `size` is past the thresholds (or the
    /// item size limit), so that it takes the large form.
    fn set_past_thresholds(&self, shape: Shape, size: usize) -> bool {
        let config = &self.config;
        let intset = shape.integers && shape.count <= config.set_max_intset_entries as usize;
        let small = shape.count <= config.set_max_listpack_entries as usize
            && shape.longest <= config.set_max_listpack_value as usize;
        !(intset || small) || size > config.value_size_max as usize
    }

    /// Rewrites the set at `key` (which exists, as `lookup` found it) as the members that
    /// `each(old value, visit)` lists, deleting the key if there are none; then calls
    /// `after(old value)`, once the write is certain.
    fn set_rewrite(
        &mut self,
        db: u8,
        key: &[u8],
        now: Timestamp,
        log: &mut impl LogSink,
        each: &Rewrite<'_>,
        after: impl FnOnce(&[u8]),
    ) -> Result<(), StoreError> {
        let lookup = self.collection_lookup(db, key, now, ValueType::Set)?;
        let old: &[u8] = match &lookup.found {
            Some(found) => self.value_of(found),
            None => &[],
        };
        let mut sizing = Out {
            target: None,
            size: 0,
        };
        let count = compose(
            &|visit: &mut dyn FnMut(&[u8])| each(old, visit),
            &mut sizing,
        );
        if count == 0 {
            if let Some(found) = lookup.found {
                after(self.value_of(&found));
                self.remove(&found);
                log.record(Record::Del { db, key });
            }
            return Ok(());
        }
        let size = sizing.size;
        self.compact_put(db, key, lookup, size, now, log, |old, target| {
            let mut out = Out {
                target: Some(target),
                size: 0,
            };
            compose(&|visit: &mut dyn FnMut(&[u8])| each(old, visit), &mut out);
            assert!(out.size == size, "set size {size} != written {}", out.size);
            after(old);
        })
    }

    /// Adds every member of `members` to the set at `key` (creating it) and returns how
    /// many were new (SADD). The key's expiry is kept.
    ///
    /// # Errors
    /// [`StoreError::WrongType`], [`StoreError::CollectionTooLarge`], or a memory error;
    /// nothing changes then.
    pub fn set_add<'m, M>(
        &mut self,
        db: u8,
        key: &[u8],
        members: M,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<usize, StoreError>
    where
        M: Iterator<Item = &'m [u8]> + Clone,
    {
        let lookup = self.collection_lookup(db, key, now, ValueType::Set)?;
        if let Some(found) = &lookup.found
            && self.header_of(found).is_some()
        {
            return self.set_in_steps(db, key, members, |store, header, step| {
                store.set_add_large(db, key, header, step, now, log)
            });
        }
        let old: &[u8] = match &lookup.found {
            Some(found) => self.value_of(found),
            None => &[],
        };
        let is_new = |old: &[u8], index: usize, member: &[u8]| {
            (old.is_empty() || !SetView::new(old).contains(member))
                && members.clone().position(|other| other == member) == Some(index)
        };
        let added = members
            .clone()
            .enumerate()
            .filter(|&(index, member)| is_new(old, index, member))
            .count();
        if added == 0 {
            return Ok(0);
        }
        let each = |old: &[u8], visit: &mut dyn FnMut(&[u8])| {
            if !old.is_empty() {
                SetView::new(old).members().for_each(&mut *visit);
            }
            for (index, member) in members.clone().enumerate() {
                if is_new(old, index, member) {
                    visit(member);
                }
            }
        };
        let listed = |visit: &mut dyn FnMut(&[u8])| each(old, visit);
        let mut sizing = Out {
            target: None,
            size: 0,
        };
        compose(&listed, &mut sizing);
        if self.set_past_thresholds(shape(&listed), sizing.size) && key.len() <= LARGE_KEY_SIZE_MAX
        {
            let length = u64::try_from(shape(&listed).count).unwrap_or(u64::MAX);
            self.set_convert(db, key, lookup, length, &members, now, log)?;
            return Ok(added);
        }
        self.set_rewrite(db, key, now, log, &each, |_| {})?;
        Ok(added)
    }

    /// Removes every member of `members` from the set at `key` and returns how many it
    /// had; the key goes with its last member (SREM).
    ///
    /// # Errors
    /// [`StoreError::WrongType`], or a memory error; nothing changes then.
    pub fn set_remove<'m, M>(
        &mut self,
        db: u8,
        key: &[u8],
        members: M,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<usize, StoreError>
    where
        M: Iterator<Item = &'m [u8]> + Clone,
    {
        let Some(found) = self.collection_lookup(db, key, now, ValueType::Set)?.found else {
            return Ok(0);
        };
        if self.header_of(&found).is_some() {
            return self.set_in_steps(db, key, members, |store, header, step| {
                store.set_remove_large(db, key, header, step, now, log)
            });
        }
        let set = SetView::new(self.value_of(&found));
        let removed = set
            .members()
            .filter(|member| members.clone().any(|other| other == *member))
            .count();
        if removed == 0 {
            return Ok(0);
        }
        self.set_rewrite(
            db,
            key,
            now,
            log,
            &|old, visit| {
                for member in SetView::new(old).members() {
                    if !members.clone().any(|other| other == member) {
                        visit(member);
                    }
                }
            },
            |_| {},
        )?;
        Ok(removed)
    }

    /// Removes `min(count, len)` members of the set at `key` chosen at random (SPOP), and
    /// returns how many, or `None` if the key is absent. Once the removal is certain,
    /// calls `visit` with [`Popped::Count`], then with each removed member (in stored
    /// order); on an error it is not called and nothing changes.
    ///
    /// # Errors
    /// [`StoreError::WrongType`], or a memory error.
    pub fn set_pop(
        &mut self,
        db: u8,
        key: &[u8],
        count: usize,
        now: Timestamp,
        log: &mut impl LogSink,
        mut visit: impl FnMut(Popped<'_>),
    ) -> Result<Option<usize>, StoreError> {
        let Some(found) = self.collection_lookup(db, key, now, ValueType::Set)?.found else {
            return Ok(None);
        };
        let length = self.set_read(&found).len();
        let popped = count.min(length);
        if popped == 0 {
            visit(Popped::Count(0));
            return Ok(Some(0));
        }
        if let Some(header) = self.header_of(&found) {
            if popped == length {
                // Every member goes: read them out, then the key goes with its parts.
                visit(Popped::Count(popped));
                self.set_read(&found)
                    .members()
                    .for_each(|member| visit(Popped::Member(member)));
                self.remove(&found);
                log.record(Record::Del { db, key });
            } else if popped == 1 {
                self.set_pop_one_large(db, key, header, now, log, &mut visit)?;
            } else {
                self.set_pop_large(db, key, header, popped, now, log, &mut visit)?;
            }
            return Ok(Some(popped));
        }
        let seed = self.random();
        // Selection sampling (Knuth's algorithm S) from the same seed in every pass: each
        // member is taken with probability needed / left, which takes exactly `popped`.
        let chosen = |old: &[u8], taken: &mut dyn FnMut(&[u8]), kept: &mut dyn FnMut(&[u8])| {
            let mut random = RandomCopy(seed);
            let mut needed = popped;
            for (index, member) in SetView::new(old).members().enumerate() {
                if needed > 0 && random.below(length - index) < needed {
                    needed -= 1;
                    taken(member);
                } else {
                    kept(member);
                }
            }
        };
        self.set_rewrite(
            db,
            key,
            now,
            log,
            &|old, visit| chosen(old, &mut |_| {}, visit),
            |old| {
                visit(Popped::Count(popped));
                chosen(
                    old,
                    &mut |member| visit(Popped::Member(member)),
                    &mut |_| {},
                );
            },
        )?;
        Ok(Some(popped))
    }

    /// Calls `visit` with `count` members of the set at `key` chosen at random with
    /// repetition (SRANDMEMBER with a negative count), or, with `distinct`, with
    /// `min(count, len)` distinct members (in stored order). Does nothing if the key is
    /// absent.
    ///
    /// # Errors
    /// [`StoreError::WrongType`] if the key holds another type.
    pub fn set_random_members(
        &mut self,
        db: u8,
        key: &[u8],
        count: usize,
        distinct: bool,
        now: Timestamp,
        mut visit: impl FnMut(&[u8]),
    ) -> Result<(), StoreError> {
        let lookup = self.collection_lookup(db, key, now, ValueType::Set)?;
        let Some(found) = lookup.found else {
            return Ok(());
        };
        let length = self.set_read(&found).len();
        if length == 0 {
            return Ok(());
        }
        let mut random = RandomCopy(self.random());
        let set = self.set_read(&found);
        if distinct {
            let mut needed = count.min(length);
            for (index, member) in set.members().enumerate() {
                if needed > 0 && random.below(length.saturating_sub(index).max(1)) < needed {
                    visit(member);
                    needed -= 1;
                }
            }
        } else if let SetRead::Large(large) = set {
            for _ in 0..count {
                if let Some(member) = large.random_member(&mut random) {
                    visit(member);
                }
            }
        } else if length <= RANDOM_OFFSETS_MAX {
            let view = SetView::new(self.value_of(&found));
            // Each member's start in a stack table, so each pick costs O(1).
            let mut starts = [0u32; RANDOM_OFFSETS_MAX];
            let mut members = view.members();
            for slot in starts.iter_mut().take(length) {
                *slot = u32::try_from(members.offset).unwrap_or(u32::MAX);
                members.next();
            }
            for _ in 0..count {
                let mut members = Members {
                    bytes: view.bytes,
                    offset: starts[random.below(length)] as usize,
                };
                if let Some(member) = members.next() {
                    visit(member);
                }
            }
        } else {
            for _ in 0..count {
                if let Some(member) = set.members().nth(random.below(length)) {
                    visit(member);
                }
            }
        }
        self.random_state = random.0 | 1;
        Ok(())
    }

    /// Writes the result of `operation` over the sets at `keys` as the set at
    /// `target_key` (any old value of any type goes, with its expiry), or deletes
    /// `target_key` if the result is empty; returns the result's member count. Sources
    /// for which `is_local` holds live in this store; `other_value` gives the others.
    ///
    /// The result is composed as one compact item (refused past the item size limit),
    /// then, if it is past the thresholds, converted to the large form: best effort, as a
    /// split is (if memory has no room for the parts, the compact result stays, whole).
    #[expect(clippy::too_many_arguments, reason = "the STORE forms' core")]
    fn set_store_result<'k, 'o, K>(
        &mut self,
        db: u8,
        target_key: &[u8],
        keys: &K,
        operation: SetOperation,
        is_local: &dyn Fn(&[u8]) -> bool,
        other_value: &dyn Fn(&[u8]) -> Option<SetRead<'o>>,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<usize, StoreError>
    where
        K: Iterator<Item = &'k [u8]> + Clone,
    {
        let sizing = |store: &Store<'_>| {
            let value_of = |key: &[u8]| -> Option<SetRead<'_>> {
                if is_local(key) {
                    store.set_value(db, key, now)
                } else {
                    other_value(key)
                }
            };
            let each =
                |visit: &mut dyn FnMut(&[u8])| each_result(keys, operation, &value_of, visit);
            let mut out = Out {
                target: None,
                size: 0,
            };
            compose(&each, &mut out);
            (shape(&each), out.size)
        };
        let (result_shape, size) = sizing(self);
        let count = result_shape.count;
        let lookup = self.lookup(db, target_key, now);
        if count == 0 {
            if let Some(found) = lookup.found {
                self.remove(&found);
                log.record(Record::Del {
                    db,
                    key: target_key,
                });
            }
            return Ok(0);
        }
        if target_key.len() > self.config.key_size_max as usize {
            return Err(StoreError::KeyTooLarge);
        }
        if size > self.config.value_size_max as usize {
            return Err(StoreError::CollectionTooLarge);
        }
        let item_size = item::item_size(target_key.len(), size, 0);
        let new_key_count = usize::from(lookup.found.is_none());
        self.ensure_room(core::iter::once(item_size), new_key_count, now, log)?;
        // Making room may have moved this shard's sources (they are found again by key)
        // or evicted one, which changes the result: refuse that rare case rather than
        // make room again.
        if sizing(self) != (result_shape, size) {
            return Err(StoreError::OutOfMemory);
        }
        let found = self.refind(db, target_key, lookup);
        let (hash, seed) = (self.hash(target_key), self.config.seed);
        self.put_found_reading(
            db,
            target_key,
            hash,
            found,
            ItemKind::Compact,
            size,
            0,
            log,
            |memory, table, _, start| {
                let (before, rest) = memory.split_at_mut(start);
                let (target, after) = rest.split_at_mut(size);
                let split = SplitMemory {
                    table,
                    seed,
                    before,
                    after,
                    after_start: start + size,
                };
                let value_of = |key: &[u8]| -> Option<SetRead<'_>> {
                    if is_local(key) {
                        set_in_split(&split, db, key, now)
                    } else {
                        other_value(key)
                    }
                };
                let each =
                    |visit: &mut dyn FnMut(&[u8])| each_result(keys, operation, &value_of, visit);
                let mut out = Out {
                    target: Some(target),
                    size: 0,
                };
                compose(&each, &mut out);
                assert!(out.size == size, "set size {size} != written {}", out.size);
            },
        )?;
        if self.set_past_thresholds(result_shape, size) && target_key.len() <= LARGE_KEY_SIZE_MAX {
            let lookup = self.lookup(db, target_key, now);
            let length = u64::try_from(count).unwrap_or(u64::MAX);
            let none = core::iter::empty::<&[u8]>();
            let _ = self.set_convert(db, target_key, lookup, length, &none, now, log);
        }
        Ok(count)
    }
}

/// Looks every key of `keys` up as a set in its shard (expired ones go, each counts as an
/// access), so that what follows may read them without `&mut`.
///
/// # Errors
/// [`StoreError::WrongType`] if any key holds another type.
fn check_sources<'k>(
    shards: &mut dyn Shards<'_>,
    db: u8,
    keys: impl Iterator<Item = &'k [u8]>,
    now: Timestamp,
) -> Result<(), StoreError> {
    for key in keys {
        shards.store_for(key).set_view(db, key, now)?;
    }
    Ok(())
}

/// Runs `operation` over the sets at `keys` across the shards (SINTER, SUNION, SDIFF,
/// SINTERCARD) and calls `read` with a lister of the result: each call of the lister
/// calls its argument with every member (in numeric order for an integer result of at
/// most [`INTSET_ENTRIES_MAX`] members), so a reply can count, then write.
///
/// # Errors
/// [`StoreError::WrongType`] if any key holds another type; `read` is not called then.
pub fn set_operation<'k, K>(
    shards: &mut dyn Shards<'_>,
    db: u8,
    keys: K,
    operation: SetOperation,
    now: Timestamp,
    read: &mut dyn FnMut(&Each<'_>),
) -> Result<(), StoreError>
where
    K: Iterator<Item = &'k [u8]> + Clone,
{
    check_sources(shards, db, keys.clone(), now)?;
    let shard_count = shards.count();
    shards.with_all(&mut |stores| {
        let stores: &[Option<&mut Store<'_>>] = stores;
        let value_of = |key: &[u8]| -> Option<SetRead<'_>> {
            stores
                .get(shard_of(key, shard_count))?
                .as_deref()?
                .set_value(db, key, now)
        };
        let each = |visit: &mut dyn FnMut(&[u8])| each_result(&keys, operation, &value_of, visit);
        read(&|visit: &mut dyn FnMut(&[u8])| emit(&each, visit));
    });
    Ok(())
}

/// Stores the result of `operation` over the sets at `keys` at `target_key` across the
/// shards (SINTERSTORE, SUNIONSTORE, SDIFFSTORE), or deletes `target_key` when it is
/// empty, and returns its member count. The target loses any expiry, as in Redis.
///
/// # Errors
/// [`StoreError::WrongType`] if a source holds another type, [`StoreError::KeyTooLarge`],
/// [`StoreError::CollectionTooLarge`], or a memory error; nothing changes then.
pub fn set_operation_store<'k, K>(
    shards: &mut dyn Shards<'_>,
    db: u8,
    target_key: &[u8],
    keys: K,
    operation: SetOperation,
    now: Timestamp,
    log: &mut impl LogSink,
) -> Result<usize, StoreError>
where
    K: Iterator<Item = &'k [u8]> + Clone,
{
    check_sources(shards, db, keys.clone(), now)?;
    let shard_count = shards.count();
    let target_shard = shard_of(target_key, shard_count);
    let mut result = Err(StoreError::OutOfMemory);
    shards.with_all(&mut |stores| {
        let (left, rest) = stores.split_at_mut(target_shard);
        let Some((target_slot, right)) = rest.split_first_mut() else {
            unreachable!("shard {target_shard} of {shard_count}");
        };
        let Some(target) = target_slot.as_deref_mut() else {
            panic!("shard {target_shard} is not held by this command");
        };
        let (left, right): (&[Option<&mut Store<'_>>], &[Option<&mut Store<'_>>]) = (left, right);
        let is_local = |key: &[u8]| shard_of(key, shard_count) == target_shard;
        let other_value = |key: &[u8]| -> Option<SetRead<'_>> {
            let shard = shard_of(key, shard_count);
            let store = if shard < target_shard {
                left.get(shard)
            } else {
                right.get(shard.checked_sub(target_shard + 1)?)
            };
            store?.as_deref()?.set_value(db, key, now)
        };
        result = target.set_store_result(
            db,
            target_key,
            &keys,
            operation,
            &is_local,
            &other_value,
            now,
            log,
        );
    });
    result
}

mod large;
mod moves;

pub use large::{LargeMembers, LargeSet};
pub use moves::set_move;

#[cfg(test)]
mod tests;
