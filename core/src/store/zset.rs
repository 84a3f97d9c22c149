//! Sorted sets in the compact encoding (Redis's listpack): the whole sorted set is the
//! value of one key item of kind [`crate::storage::item::ItemKind::Compact`], a type byte
//! followed by its entries, kept sorted by `(score, member)` as Redis orders them (score,
//! then the member's bytes):
//!
//! ```text
//! +------+-------------+--------+-------------------+-----
//! | 'z'  | varint size | member | score (8 bytes)   | ...
//! +------+-------------+--------+-------------------+-----
//! ```
//!
//! The score is an `f64`'s bits, little-endian; it is never NaN, and `-0` is stored as
//! `0` (as Redis's listpack keeps it). A write (ZADD, ZREM, ZPOPMIN, ZREMRANGEBY*, the
//! store forms) composes the new value straight into segment memory from the old one and
//! the request's arguments in two passes (sizing, then writing: no allocation), and the old
//! item becomes a hole, as hashes do: O(n) in the set's size at least. It is logged as
//! one `Set` record of the whole item (kind compact), physical and idempotent. Past
//! `zset-max-listpack-entries` (128) members or a member longer than
//! `zset-max-listpack-value` (64), a write converts the set to the **large form**
//! (`zset/large.rs`): a member index and a counted B+ tree of parts, O(log n) a member.
//! [`ZsetRead`] reads either form.
//!
//! Reading is total: [`ZsetView`] walks the bytes with checked lengths and stops at the
//! first malformed entry (a NaN score included), and [`is_valid`] is what recovery checks
//! before it loads a compact value.

use core::cmp::Ordering;
use core::ops::Range;

use super::compact::{Out, RandomCopy, TYPE_ZSET, ValueType, varint_read};
use super::large::Header;
use super::{LogSink, Store};
use crate::codec::record::Record;
use crate::error::StoreError;
use crate::storage::item::{self, varint_size};
use crate::time::Timestamp;

/// Bytes of a score in the encoding.
pub const SCORE_SIZE: usize = 8;

/// Entries whose starts fit the stack table that reverse walks use per chunk.
const OFFSETS_CHUNK: usize = 512;

/// Bytes one entry takes in the encoding.
#[must_use]
pub fn entry_size(member_size: usize) -> usize {
    varint_size(member_size) + member_size + SCORE_SIZE
}

/// Redis's order of sorted set entries: by score, then by the member's bytes (shorter
/// first on a common prefix). Scores are never NaN here.
#[must_use]
pub fn order(score: f64, member: &[u8], other_score: f64, other_member: &[u8]) -> Ordering {
    score
        .partial_cmp(&other_score)
        .unwrap_or(Ordering::Equal)
        .then_with(|| member.cmp(other_member))
}

/// A score range (ZRANGEBYSCORE, ZCOUNT, ZREMRANGEBYSCORE): `min` and `max`, each
/// inclusive unless marked exclusive (`(`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    /// The lower bound.
    pub min: f64,
    /// Whether the lower bound itself is outside.
    pub min_exclusive: bool,
    /// The upper bound.
    pub max: f64,
    /// Whether the upper bound itself is outside.
    pub max_exclusive: bool,
}

impl ScoreRange {
    /// Whether `score` is not below the range.
    #[must_use]
    pub fn above_min(&self, score: f64) -> bool {
        if self.min_exclusive {
            score > self.min
        } else {
            score >= self.min
        }
    }

    /// Whether `score` is not above the range.
    #[must_use]
    pub fn below_max(&self, score: f64) -> bool {
        if self.max_exclusive {
            score < self.max
        } else {
            score <= self.max
        }
    }
}

/// One end of a lexicographic range (`-`, `+`, `[member`, `(member`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LexBound<'b> {
    /// `-`: below every member.
    Lowest,
    /// `+`: above every member.
    Highest,
    /// `[member`: the member itself is inside.
    Inclusive(&'b [u8]),
    /// `(member`: the member itself is outside.
    Exclusive(&'b [u8]),
}

/// A lexicographic range (ZRANGEBYLEX, ZLEXCOUNT, ZREMRANGEBYLEX), meaningful when every
/// score is equal, as Redis's is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LexRange<'b> {
    /// The lower bound.
    pub min: LexBound<'b>,
    /// The upper bound.
    pub max: LexBound<'b>,
}

impl LexRange<'_> {
    /// Whether `member` is not below the range.
    #[must_use]
    pub fn above_min(&self, member: &[u8]) -> bool {
        match self.min {
            LexBound::Lowest => true,
            LexBound::Highest => false,
            LexBound::Inclusive(bound) => member >= bound,
            LexBound::Exclusive(bound) => member > bound,
        }
    }

    /// Whether `member` is not above the range.
    #[must_use]
    pub fn below_max(&self, member: &[u8]) -> bool {
        match self.max {
            LexBound::Lowest => false,
            LexBound::Highest => true,
            LexBound::Inclusive(bound) => member <= bound,
            LexBound::Exclusive(bound) => member < bound,
        }
    }
}

/// A compact sorted set's value, read in place.
#[derive(Debug, Clone, Copy)]
pub struct ZsetView<'v> {
    bytes: &'v [u8],
}

/// One entry of a sorted set: where it lies in the value, its member and its score.
#[derive(Debug, Clone)]
pub struct Entry<'v> {
    /// The entry's bytes in the value (for copying it unchanged).
    pub range: Range<usize>,
    /// The member.
    pub member: &'v [u8],
    /// The score (never NaN).
    pub score: f64,
}

/// The entries of a [`ZsetView`], in order.
#[derive(Debug, Clone)]
pub struct Entries<'v> {
    bytes: &'v [u8],
    offset: usize,
}

impl<'v> Iterator for Entries<'v> {
    type Item = Entry<'v>;

    fn next(&mut self) -> Option<Entry<'v>> {
        let start = self.offset;
        let (size, varint) = varint_read(self.bytes.get(start..)?)?;
        let member_start = start + varint;
        let member_end = member_start.checked_add(size)?;
        let member = self.bytes.get(member_start..member_end)?;
        let score_bytes = self.bytes.get(member_end..member_end + SCORE_SIZE)?;
        let score = f64::from_le_bytes(score_bytes.try_into().ok()?);
        if score.is_nan() {
            return None;
        }
        let end = member_end + SCORE_SIZE;
        self.offset = end;
        Some(Entry {
            range: start..end,
            member,
            score,
        })
    }
}

impl<'v> ZsetView<'v> {
    /// A view of a compact sorted set's value (type byte included).
    #[must_use]
    pub const fn new(bytes: &'v [u8]) -> Self {
        Self { bytes }
    }

    /// The entries in order (lowest score first).
    #[must_use]
    pub fn entries(&self) -> Entries<'v> {
        Entries {
            bytes: self.bytes,
            offset: 1,
        }
    }

    /// Number of members (ZCARD).
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries().count()
    }

    /// Whether the set has no member (never true of a stored one).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries().next().is_none()
    }

    /// The rank (0-based, lowest score first) and entry of `member`, if present.
    #[must_use]
    pub fn find(&self, member: &[u8]) -> Option<(usize, Entry<'v>)> {
        self.entries()
            .enumerate()
            .find(|(_, entry)| entry.member == member)
    }

    /// The score of `member` (ZSCORE).
    #[must_use]
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.find(member).map(|(_, entry)| entry.score)
    }

    /// Redis's window of ranks for `start` and `stop` (see [`rank_window`]).
    #[must_use]
    pub fn rank_window(&self, start: i64, stop: i64) -> Range<usize> {
        rank_window(self.len(), start, stop)
    }

    /// The ranks of the entries whose scores are in `range` (they are consecutive).
    #[must_use]
    pub fn score_window(&self, range: &ScoreRange) -> Range<usize> {
        let first = self
            .entries()
            .take_while(|entry| !range.above_min(entry.score))
            .count();
        let count = self
            .entries()
            .skip(first)
            .take_while(|entry| range.below_max(entry.score))
            .count();
        first..first + count
    }

    /// The ranks of the entries in the lexicographic `range`: from the first member not
    /// below it, while members are not above it (Redis's forward walk), or with `reverse`,
    /// from the last member not above it, back while members are not below it. The two
    /// agree when every score is equal, the only case Redis defines.
    #[must_use]
    pub fn lex_window(&self, range: &LexRange<'_>, reverse: bool) -> Range<usize> {
        if !reverse {
            let first = self
                .entries()
                .take_while(|entry| !range.above_min(entry.member))
                .count();
            let count = self
                .entries()
                .skip(first)
                .take_while(|entry| range.below_max(entry.member))
                .count();
            return first..first + count;
        }
        let Some(last) = self
            .entries()
            .enumerate()
            .filter(|(_, entry)| range.below_max(entry.member))
            .map(|(rank, _)| rank)
            .last()
        else {
            return 0..0;
        };
        let mut run_start = 0;
        for (rank, entry) in self.entries().enumerate().take(last + 1) {
            if !range.above_min(entry.member) {
                run_start = rank + 1;
            }
        }
        run_start..last + 1
    }

    /// The bytes of the entries of ranks `window` in the value.
    #[must_use]
    pub fn bytes_of(&self, window: &Range<usize>) -> Range<usize> {
        let mut range = 0..0;
        for (rank, entry) in self.entries().enumerate().take(window.end) {
            if rank == window.start {
                range.start = entry.range.start;
            }
            range.end = entry.range.end;
        }
        if window.is_empty() {
            return 0..0;
        }
        range
    }

    /// Calls `visit` with the entries of ranks `window`, in order, or from the last with
    /// `reverse`. A reverse walk records entry starts on the stack in chunks of
    /// [`OFFSETS_CHUNK`], so it costs O(n × (1 + m / 512)) for m entries of n.
    pub fn visit(&self, window: Range<usize>, reverse: bool, mut visit: impl FnMut(Entry<'v>)) {
        if !reverse {
            for entry in self
                .entries()
                .skip(window.start)
                .take(window.end.saturating_sub(window.start))
            {
                visit(entry);
            }
            return;
        }
        let mut end = window.end;
        while end > window.start {
            let start = end.saturating_sub(OFFSETS_CHUNK).max(window.start);
            let mut starts = [0usize; OFFSETS_CHUNK];
            let mut count = 0;
            for (slot, entry) in starts
                .iter_mut()
                .zip(self.entries().skip(start).take(end - start))
            {
                *slot = entry.range.start;
                count += 1;
            }
            for &offset in starts[..count].iter().rev() {
                let mut entries = Entries {
                    bytes: self.bytes,
                    offset,
                };
                if let Some(entry) = entries.next() {
                    visit(entry);
                }
            }
            end = start;
        }
    }
}

/// Whether `value` is a well-formed compact sorted set: the type byte, at least one entry,
/// no NaN score, entries in strictly increasing `(score, member)` order, ending exactly at
/// its end. Recovery refuses anything else. (A member repeated with two different scores
/// is not looked for: that would cost O(n²), and reads stay total with one.)
#[must_use]
pub fn is_valid(value: &[u8]) -> bool {
    if value.first() != Some(&TYPE_ZSET) {
        return false;
    }
    let mut entries = ZsetView::new(value).entries();
    let mut previous: Option<Entry<'_>> = None;
    for entry in entries.by_ref() {
        if let Some(previous) = &previous
            && order(previous.score, previous.member, entry.score, entry.member) != Ordering::Less
        {
            return false;
        }
        previous = Some(entry);
    }
    previous.is_some() && entries.offset == value.len()
}

/// Pushes one entry.
fn push_entry(out: &mut Out<'_>, member: &[u8], score: f64) {
    out.push_varint(member.len());
    out.push(member);
    out.push(&score.to_le_bytes());
}

/// Members a chunked ordered walk holds per pass (on the stack: 3 KiB).
pub const CHUNK: usize = 128;

/// Up to [`CHUNK`] `(score, member)` pairs: the smallest offered above a bound, sorted,
/// each once. Lets a walk emit members in order without scratch memory: one pass over
/// the candidates per chunk.
pub struct Chunk<'m> {
    entries: [(f64, &'m [u8]); CHUNK],
    held: usize,
    after: Option<(f64, &'m [u8])>,
}

impl<'m> Chunk<'m> {
    /// An empty chunk of the pairs above `after` (`None`: from the lowest).
    #[must_use]
    pub const fn above(after: Option<(f64, &'m [u8])>) -> Self {
        Self {
            entries: [(0.0, &[]); CHUNK],
            held: 0,
            after,
        }
    }

    /// Keeps `(score, member)` if it is above the bound and among the smallest so far.
    pub fn offer(&mut self, score: f64, member: &'m [u8]) {
        let above = |(other_score, other): (f64, &[u8])| {
            order(score, member, other_score, other) == Ordering::Greater
        };
        if self.after.is_some_and(|after| !above(after)) {
            return;
        }
        if self.held == CHUNK && above(self.entries[CHUNK - 1]) {
            return;
        }
        let held = &self.entries[..self.held];
        let position = held.partition_point(|&(other_score, other)| {
            order(other_score, other, score, member) == Ordering::Less
        });
        if held
            .get(position)
            .is_some_and(|&(other_score, other)| order(other_score, other, score, member).is_eq())
        {
            return; // a repeat
        }
        let end = (self.held + 1).min(CHUNK);
        self.entries.copy_within(position..end - 1, position + 1);
        self.entries[position] = (score, member);
        self.held = end;
    }

    /// The pairs kept, lowest first.
    #[must_use]
    pub fn entries(&self) -> &[(f64, &'m [u8])] {
        &self.entries[..self.held]
    }

    /// The bound of the next chunk, if this one is full (more may follow).
    #[must_use]
    pub fn next_bound(&self) -> Option<(f64, &'m [u8])> {
        (self.held == CHUNK).then(|| self.entries[CHUNK - 1])
    }
}

/// The new value of a write that changes the members `candidates` names (repeats
/// allowed): `resolve(member)` is each one's new score, `None` if it is removed (or stays
/// absent). Every other entry of `old` (empty for a new set) is kept as it is. Writes the
/// entries in order by merging `old`'s untouched entries with the changed ones, which are
/// taken [`CHUNK`] at a time, smallest first, by a pass over `candidates`: O(n × k + (k /
/// 128 + 1) × k × r) for k candidates and a `resolve` of cost r. The compact form is meant
/// for small sets.
fn compose<'c, C, R>(old: &[u8], candidates: &C, resolve: &R, out: &mut Out<'_>)
where
    C: Iterator<Item = &'c [u8]> + Clone,
    R: Fn(&[u8]) -> Option<f64>,
{
    out.push(&[TYPE_ZSET]);
    let touched = |member: &[u8]| candidates.clone().any(|candidate| candidate == member);
    let fill = |after: Option<(f64, &'c [u8])>| {
        let mut chunk = Chunk::above(after);
        for member in candidates.clone() {
            if let Some(score) = resolve(member) {
                chunk.offer(score, member);
            }
        }
        chunk
    };
    let mut chunk = fill(None);
    let mut next = 0;
    // The next changed entry to write, refilling the chunk when it is used up.
    let pending = |next: &mut usize, chunk: &mut Chunk<'c>| -> Option<(f64, &'c [u8])> {
        if *next == chunk.entries().len() {
            let bound = chunk.next_bound()?;
            *chunk = fill(Some(bound));
            *next = 0;
        }
        chunk.entries().get(*next).copied()
    };
    for entry in ZsetView::new(old).entries() {
        if touched(entry.member) {
            continue;
        }
        while let Some((score, member)) = pending(&mut next, &mut chunk)
            && order(score, member, entry.score, entry.member) == Ordering::Less
        {
            push_entry(out, member, score);
            next += 1;
        }
        if let Some(bytes) = old.get(entry.range) {
            out.push(bytes);
        }
    }
    while let Some((score, member)) = pending(&mut next, &mut chunk) {
        push_entry(out, member, score);
        next += 1;
    }
}

/// ZADD's conditions (NX, XX, GT, LT) and INCR; the command checked their combination.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "ZADD's flags, as Redis names them"
)]
pub struct AddOptions {
    /// Only add new members.
    pub only_new: bool,
    /// Only update existing members.
    pub only_existing: bool,
    /// Update only to a greater score.
    pub greater: bool,
    /// Update only to a lesser score.
    pub less: bool,
    /// The score is an increment.
    pub increment: bool,
}

/// What a ZADD did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AddResult {
    /// Members added.
    pub added: usize,
    /// Existing members whose score changed.
    pub updated: usize,
    /// With INCR: the member's score after the command, `None` if a condition stopped it.
    pub score: Option<f64>,
}

/// What ZADD's `pairs` do to `member`, whose score was `old`: its new score (`None`:
/// absent), whether it was added, how many times its score changed, and whether the last
/// pair naming it was applied (INCR's reply). Pairs apply in order, as Redis applies them.
fn resolve_add<'p, P>(
    pairs: &P,
    member: &[u8],
    old: Option<f64>,
    options: AddOptions,
) -> Result<(Option<f64>, bool, usize, bool), StoreError>
where
    P: Iterator<Item = (f64, &'p [u8])> + Clone,
{
    let (mut score, mut added, mut updated, mut applied) = (old, false, 0, false);
    for (value, _) in pairs.clone().filter(|(_, other)| *other == member) {
        applied = false;
        match score {
            Some(current) => {
                if options.only_new {
                    continue;
                }
                let new = if options.increment {
                    current + value
                } else {
                    value
                };
                if new.is_nan() {
                    return Err(StoreError::ScoreNotANumber);
                }
                if (options.less && new >= current) || (options.greater && new <= current) {
                    continue;
                }
                if new != current {
                    updated += 1;
                    // `+ 0.0` turns -0 into 0, as Redis's listpack stores it.
                    score = Some(new + 0.0);
                }
                applied = true;
            }
            None => {
                if options.only_existing {
                    continue;
                }
                score = Some(value + 0.0);
                added = true;
                applied = true;
            }
        }
    }
    Ok((score, added, updated, applied))
}

impl Store<'_> {
    /// The sorted set at `key` for a read (`None` if absent), counted as an access.
    ///
    /// # Errors
    /// [`StoreError::WrongType`] if the key holds another type.
    pub fn zset_view<'s>(
        &'s mut self,
        db: u8,
        key: &'s [u8],
        now: Timestamp,
    ) -> Result<Option<ZsetRead<'s>>, StoreError> {
        let found = self.collection_found(db, key, now, ValueType::SortedSet)?;
        let store: &'s Self = self;
        Ok(found.map(|found| ZsetRead::of(store, db, key, store.value_of(&found))))
    }

    /// The sorted set of the live key item `found`, in either form.
    pub(super) fn zset_read(&self, found: &super::Found) -> ZsetRead<'_> {
        let owner = &self.segments.bytes(found.location)[found.layout.key.clone()];
        ZsetRead::of(self, found.layout.db, owner, self.value_of(found))
    }

    /// The header of the sorted set `found` if it has the large form.
    fn zset_large_header(&self, found: &super::Found) -> Option<Header> {
        self.header_of(found).filter(Header::is_zset)
    }

    /// Applies ZADD's `(score, member)` pairs to the sorted set at `key` (creating it) under
    /// `options`, in order. The key's expiry is kept; nothing is written if nothing changes.
    ///
    /// # Errors
    /// [`StoreError::WrongType`], [`StoreError::ScoreNotANumber`],
    /// [`StoreError::CollectionTooLarge`], or a memory error; nothing changes then.
    pub fn zset_add<'p, P>(
        &mut self,
        db: u8,
        key: &[u8],
        pairs: P,
        options: AddOptions,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<AddResult, StoreError>
    where
        P: Iterator<Item = (f64, &'p [u8])> + Clone,
    {
        let lookup = self.collection_lookup(db, key, now, ValueType::SortedSet)?;
        if lookup
            .found
            .as_ref()
            .is_some_and(|found| self.zset_large_header(found).is_some())
        {
            return self.zset_add_large(db, key, pairs, options, now, log);
        }
        let old: &[u8] = match &lookup.found {
            Some(found) => self.value_of(found),
            None => &[],
        };
        let view = ZsetView::new(old);
        let mut result = AddResult::default();
        let mut changed = false;
        let mut longest = view
            .entries()
            .map(|entry| entry.member.len())
            .max()
            .unwrap_or(0);
        for (index, (_, member)) in pairs.clone().enumerate() {
            if pairs.clone().position(|(_, other)| other == member) != Some(index) {
                continue;
            }
            let before = view.score(member);
            let (score, added, updated, applied) = resolve_add(&pairs, member, before, options)?;
            result.added += usize::from(added);
            result.updated += updated;
            changed |= score != before;
            if added {
                longest = longest.max(member.len());
            }
            if applied {
                result.score = score;
            }
        }
        if !changed {
            return Ok(result);
        }
        // Past the thresholds the set takes the large form within this write: room is made
        // for the compact result and its conversion first (a write that cannot have it is
        // refused before it writes anything), then the set is written compact and converts.
        let length = view.len() + result.added;
        let large = (length > self.config.zset_max_listpack_entries as usize
            || longest > self.config.zset_max_listpack_value as usize)
            && self.zset_large_possible(key, longest);
        let members = pairs.clone().map(|(_, member)| member);
        let resolve = |member: &[u8]| {
            let before = ZsetView::new(old).score(member);
            resolve_add(&pairs, member, before, options)
                .ok()
                .and_then(|(score, ..)| score)
        };
        let mut sizing = Out {
            target: None,
            size: 0,
        };
        compose(old, &members, &resolve, &mut sizing);
        let size = sizing.size;
        if large {
            // Room for the item and, counted from above, for the conversion's parts.
            let parts = 2 * size + 32 * length + 64;
            if parts <= self.config.value_size_max as usize {
                let part = item::item_size(key.len() + item::PART_NUMBER_SIZE, parts, 0);
                let compact = item::item_size(key.len(), size, 0);
                self.ensure_room([compact, part, part].into_iter(), length + 4, now, log)?;
            }
        }
        self.compact_put(db, key, lookup, size, now, log, |old, target| {
            let resolve = |member: &[u8]| {
                let before = ZsetView::new(old).score(member);
                resolve_add(&pairs, member, before, options)
                    .ok()
                    .and_then(|(score, ..)| score)
            };
            let mut out = Out {
                target: Some(target),
                size: 0,
            };
            compose(old, &members, &resolve, &mut out);
            assert!(out.size == size, "zset size {size} != written {}", out.size);
        })?;
        if large && self.zset_convert(db, key, now, log).is_err() && self.find(db, key).is_none() {
            // Making room for the conversion evicted the set itself: the write is refused.
            // Otherwise a failed conversion leaves the set compact (correct, and a later
            // write converts it) rather than refusing a write it made.
            return Err(StoreError::OutOfMemory);
        }
        Ok(result)
    }

    /// ZADD on a large sorted set: each member's change is its own write of O(log n)
    /// parts (the index part, the tree path, the header).
    fn zset_add_large<'p, P>(
        &mut self,
        db: u8,
        key: &[u8],
        pairs: P,
        options: AddOptions,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<AddResult, StoreError>
    where
        P: Iterator<Item = (f64, &'p [u8])> + Clone,
    {
        let mut result = AddResult::default();
        let members = pairs.clone().map(|(_, member)| member);
        let room_made = self.zset_room_for_all(db, key, members, true, now, log)?;
        for (index, (_, member)) in pairs.clone().enumerate() {
            if pairs.clone().position(|(_, other)| other == member) != Some(index) {
                continue;
            }
            let before = self.zset_score(db, key, member);
            let (score, added, updated, applied) = resolve_add(&pairs, member, before, options)?;
            if let Some(score) = score
                && score != before.unwrap_or(f64::NAN)
            {
                self.zset_set_large(db, key, member, score, room_made, now, log)?;
            }
            result.added += usize::from(added);
            result.updated += updated;
            if applied {
                result.score = score;
            }
        }
        self.large_grow(db, key, large::compose_index_split, now, log);
        Ok(result)
    }

    /// The score of `member` in the sorted set at `key` (found live by the caller).
    fn zset_score(&self, db: u8, key: &[u8], member: &[u8]) -> Option<f64> {
        let found = self.find(db, key)?;
        ZsetRead::of(self, db, key, self.value_of(&found)).score(member)
    }

    /// Removes every member of `members` from the sorted set at `key` and returns how many
    /// it had; the key goes with its last member (ZREM).
    ///
    /// # Errors
    /// [`StoreError::WrongType`], or a memory error; nothing changes then.
    pub fn zset_remove<'m, M>(
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
        let lookup = self.collection_lookup(db, key, now, ValueType::SortedSet)?;
        let Some(found) = lookup.found.clone() else {
            return Ok(0);
        };
        if self.zset_large_header(&found).is_some() {
            return self.zset_remove_large(db, key, members, now, log);
        }
        let view = ZsetView::new(self.value_of(&found));
        let (mut removed, mut remaining) = (0usize, 0usize);
        for entry in view.entries() {
            if members.clone().any(|member| member == entry.member) {
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
        let resolve = |_: &[u8]| None;
        let mut sizing = Out {
            target: None,
            size: 0,
        };
        compose(self.value_of(&found), &members, &resolve, &mut sizing);
        let size = sizing.size;
        self.compact_put(db, key, lookup, size, now, log, |old, target| {
            let mut out = Out {
                target: Some(target),
                size: 0,
            };
            compose(old, &members, &resolve, &mut out);
            assert!(out.size == size, "zset size {size} != written {}", out.size);
        })?;
        Ok(removed)
    }

    /// Removes the entries of ranks `window(view)` (consecutive) from the sorted set at
    /// `key` and returns how many; calls `visit` with each, in order or from the last with
    /// `reverse`, once the write can no longer fail (ZPOPMIN, ZPOPMAX, ZREMRANGEBY*). The
    /// key goes with its last member.
    ///
    /// # Errors
    /// [`StoreError::WrongType`], or a memory error; nothing changes then, and `visit` is
    /// not called.
    #[expect(
        clippy::too_many_arguments,
        reason = "the shared core of four commands"
    )]
    pub fn zset_remove_window(
        &mut self,
        db: u8,
        key: &[u8],
        window: impl FnOnce(&ZsetRead<'_>) -> Range<usize>,
        reverse: bool,
        now: Timestamp,
        log: &mut impl LogSink,
        mut visit: impl FnMut(&[u8], f64),
    ) -> Result<usize, StoreError> {
        let lookup = self.collection_lookup(db, key, now, ValueType::SortedSet)?;
        let Some(found) = lookup.found.clone() else {
            return Ok(0);
        };
        if self.zset_large_header(&found).is_some() {
            let window = {
                let zset = ZsetRead::of(self, db, key, self.value_of(&found));
                let window = window(&zset);
                window.start.min(zset.len())..window.end.min(zset.len())
            };
            return self.zset_remove_window_large(db, key, window, reverse, now, log, visit);
        }
        let view = ZsetView::new(self.value_of(&found));
        let length = view.len();
        let window = window(&ZsetRead::Compact(view));
        let window = window.start.min(length)..window.end.min(length);
        if window.is_empty() {
            return Ok(0);
        }
        let removed = window.len();
        let cut = view.bytes_of(&window);
        if removed == length {
            view.visit(window, reverse, |entry| visit(entry.member, entry.score));
            self.remove(&found);
            log.record(Record::Del { db, key });
            return Ok(removed);
        }
        let size = self.value_of(&found).len() - cut.len();
        self.compact_put(db, key, lookup, size, now, log, |old, target| {
            ZsetView::new(old).visit(window, reverse, |entry| visit(entry.member, entry.score));
            let mut out = Out {
                target: Some(target),
                size: 0,
            };
            out.push(old.get(..cut.start).unwrap_or_default());
            out.push(old.get(cut.end..).unwrap_or_default());
            assert!(out.size == size, "zset size {size} != written {}", out.size);
        })?;
        Ok(removed)
    }

    /// Calls `visit` with `count` members of the sorted set at `key` chosen at random with
    /// repetition (ZRANDMEMBER with a negative count), or, with `distinct`, with
    /// `min(count, len)` distinct members (in order). Does nothing if the key is absent.
    ///
    /// # Errors
    /// [`StoreError::WrongType`] if the key holds another type.
    pub fn zset_random_members(
        &mut self,
        db: u8,
        key: &[u8],
        count: usize,
        distinct: bool,
        now: Timestamp,
        mut visit: impl FnMut(&[u8], f64),
    ) -> Result<(), StoreError> {
        let lookup = self.collection_lookup(db, key, now, ValueType::SortedSet)?;
        let Some(found) = lookup.found else {
            return Ok(());
        };
        if let Some(header) = self.zset_large_header(&found) {
            let mut random = RandomCopy(self.random());
            let zset = LargeZset::new(self, db, key, header);
            if distinct {
                let length = zset.len();
                let mut needed = count.min(length);
                for (index, entry) in zset.entries().enumerate() {
                    if needed > 0 && random.below(length - index) < needed {
                        visit(entry.member, entry.score);
                        needed -= 1;
                    }
                }
            } else {
                for _ in 0..count {
                    if let Some(entry) = zset.random_entry(&mut random) {
                        visit(entry.member, entry.score);
                    }
                }
            }
            self.random_state = random.0 | 1;
            return Ok(());
        }
        let length = ZsetView::new(self.value_of(&found)).len();
        if length == 0 {
            return Ok(());
        }
        // A copy of the generator, so the set's bytes can stay borrowed while it runs.
        let mut random = RandomCopy(self.random());
        let view = ZsetView::new(self.value_of(&found));
        if distinct {
            // Selection sampling (Knuth's algorithm S), as HRANDFIELD does.
            let mut needed = count.min(length);
            for (index, entry) in view.entries().enumerate() {
                if needed > 0 && random.below(length - index) < needed {
                    visit(entry.member, entry.score);
                    needed -= 1;
                }
            }
        } else {
            let mut starts = [0usize; OFFSETS_CHUNK];
            for (slot, entry) in starts.iter_mut().zip(view.entries()) {
                *slot = entry.range.start;
            }
            for _ in 0..count {
                let rank = random.below(length);
                let entry = if length <= OFFSETS_CHUNK {
                    Entries {
                        bytes: view.bytes,
                        offset: starts[rank],
                    }
                    .next()
                } else {
                    view.entries().nth(rank)
                };
                if let Some(entry) = entry {
                    visit(entry.member, entry.score);
                }
            }
        }
        self.random_state = random.0 | 1;
        Ok(())
    }
}

pub mod combine;
pub mod large;
mod read;

pub use large::LargeZset;
pub use read::{ZsetEntries, ZsetRead, node_is_valid, rank_window};
#[cfg(test)]
mod tests;
