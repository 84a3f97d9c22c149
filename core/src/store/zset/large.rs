//! Large sorted sets: a header item, a member index and a counted B+ tree, all parts
//! (`store/large.rs` has the rules every large collection follows).
//!
//! - **The member index** (ZSCORE, and finding a member's entry for ZADD, ZREM, ZRANK):
//!   compact hashes of member → score (8 bytes, little-endian), hashed to parts as a
//!   large hash's fields are, on the even part numbers ([`Header::index_part`]).
//! - **The tree** orders the entries by `(score, member)`. A leaf is a compact sorted set
//!   (`'z'` and its entries); an inner node is `'y'` and entries of `child (u32 LE) |
//!   count (u64 LE) | score (f64 LE) | varint size | member`: each child's number, how
//!   many entries lie under it, and a separator: every key under child `i` is at least
//!   its separator, and every key under child `i - 1` is below it (child 0's separator
//!   is not used to route). Nodes take the odd part numbers ([`Header::node_part`]).
//!   Counts make rank reads O(log n): ZRANK, ZRANGE by rank, and the window of a score
//!   or lex range is two descents.
//! - **A write** of one member rewrites its index part and the nodes on its path (an
//!   update inserts the new entry, then removes the old one), then the header: O(log n)
//!   parts of bounded size (`large/tree.rs`). A node splits in two past
//!   [`NODE_ENTRIES_MAX`] entries or its byte cap; an emptied node goes, and a root left
//!   with one child hands over to it. Nodes never merge otherwise (as a list's nodes do
//!   not).
//! - **Node sizes are bounded** by the longest member ever added (the header's
//!   `member_max`): the cap is `max(node_bytes, 2 × entry + 2)` (`node_bytes` is
//!   [`NODE_BYTES`], or less in a store of small items), so a split half fits
//!   under the cap plus one entry, and every write fits [`node_write_bound`]. A write makes
//!   room for that bound on each level before it changes anything, so an update is never
//!   half applied. A member longer than [`MEMBER_SIZE_MAX`] keeps its set compact.
//! - **Conversion** from the compact form loads the tree bottom up from the sorted
//!   entries (nodes three quarters full) and the index as one part that then splits
//!   (`large/load.rs`).
//!
//! Lex ranges are found by descent as Redis's skiplist finds them: the result is defined
//! when every score is equal, as Redis defines it.

use core::cmp::Ordering;
use core::ops::Range;

use crate::codec::record::Record;
use crate::error::StoreError;
use crate::storage::item::{self, PART_NUMBER_SIZE};
use crate::store::compact::{Out, RandomCopy, TYPE_HASH};
use crate::store::hash::HashView;
use crate::store::large::{Header, LargeRef, PartKey, PartSource, TREE_HEIGHT_MAX, Tree};
use crate::store::zset::{Entries, Entry, LexRange, ScoreRange, ZsetView, order};
use crate::store::{LogSink, Store};
use crate::time::Timestamp;

/// Members of one write that make room all at once (see `Store::zset_room_for_all`).
const ROOM_ALL_MAX: usize = 16;

mod load;
#[cfg(test)]
mod tests;
mod tree;

pub(in crate::store::zset) use load::compose_index_split;
pub use tree::{
    InnerEntries, InnerEntry, MEMBER_SIZE_MAX, NODE_BYTES, NODE_ENTRIES_MAX, TYPE_INNER,
    inner_entry_size, inner_is_valid, node_write_bound,
};

/// A large sorted set read in place: its header, and the store its parts are read from.
#[derive(Debug, Clone, Copy)]
pub struct LargeZset<'s> {
    large: LargeRef<'s>,
}

impl<'s> LargeZset<'s> {
    /// The large sorted set at `owner` in `db` whose header is `header`, its parts read
    /// from `parts`.
    #[must_use]
    pub fn new(parts: &'s dyn PartSource, db: u8, owner: &'s [u8], header: Header) -> Self {
        Self {
            large: LargeRef::new(parts, db, owner, header),
        }
    }

    /// Number of members.
    #[must_use]
    pub fn len(&self) -> usize {
        self.large.len()
    }

    /// Whether it has no member (never true of a stored set).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.large.is_empty()
    }

    fn node(&self, node: u32) -> &'s [u8] {
        self.large.part_bytes(Header::node_part(node))
    }

    /// The index's entry of `member`: its member bytes (in the index part) and score.
    fn indexed(&self, member: &[u8]) -> Option<(&'s [u8], f64)> {
        let part = self.large.part_bytes(self.large.header().part_of(member));
        let entry = HashView::new(part)
            .entries()
            .find(|entry| entry.field == member)?;
        let score = f64::from_le_bytes(entry.value.try_into().ok()?);
        (!score.is_nan()).then_some((entry.field, score))
    }

    /// Number of index parts: ZSCAN's cursor runs over them (they never merge, and a
    /// split moves members only to a later one).
    #[must_use]
    pub fn index_part_count(&self) -> u32 {
        self.large.header().part_count
    }

    /// The members and scores of index part `ordinal` (below the part count).
    pub fn index_entries(&self, ordinal: u32) -> impl Iterator<Item = (&'s [u8], f64)> + use<'s> {
        let part = self
            .large
            .part_bytes(self.large.header().index_part(ordinal));
        HashView::new(part).entries().filter_map(|entry| {
            let score = f64::from_le_bytes(entry.value.try_into().ok()?);
            (!score.is_nan()).then_some((entry.field, score))
        })
    }

    /// The score of `member` (ZSCORE): one index part read.
    #[must_use]
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.indexed(member).map(|(_, score)| score)
    }

    /// The rank and entry of `member`, if present: an index read and a descent.
    #[must_use]
    pub fn find(&self, member: &[u8]) -> Option<(usize, Entry<'s>)> {
        let (member, score) = self.indexed(member)?;
        let rank = self.count_before(|other_score, other| {
            order(other_score, other, score, member) == Ordering::Less
        });
        Some((
            rank,
            Entry {
                range: 0..0,
                member,
                score,
            },
        ))
    }

    /// How many entries `before` holds for, where it holds for a prefix of the order
    /// (every key below one it holds for): one descent.
    pub fn count_before(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        let tree = self.large.header().tree;
        let mut node = tree.root;
        let mut rank = 0u64;
        for _ in 0..tree.height {
            let mut chosen = None;
            let mut sum = 0u64;
            let mut previous = 0u64;
            for (index, entry) in InnerEntries::new(self.node(node)).enumerate() {
                if index > 0 && !before(entry.score, entry.member) {
                    break;
                }
                sum += previous;
                previous = entry.count;
                chosen = Some(entry.child);
            }
            let Some(child) = chosen else {
                return usize::try_from(rank).unwrap_or(usize::MAX);
            };
            rank += sum;
            node = child;
        }
        let in_leaf = ZsetView::new(self.node(node))
            .entries()
            .take_while(|entry| before(entry.score, entry.member))
            .count();
        usize::try_from(rank).unwrap_or(usize::MAX) + in_leaf
    }

    /// The leaf holding the entry of `rank`, and its index there.
    fn select(&self, rank: usize) -> Option<(&'s [u8], usize)> {
        let tree = self.large.header().tree;
        let mut node = tree.root;
        let mut rest = rank as u64;
        for _ in 0..tree.height {
            let mut chosen = None;
            for entry in InnerEntries::new(self.node(node)) {
                if rest < entry.count {
                    chosen = Some(entry.child);
                    break;
                }
                rest -= entry.count;
            }
            node = chosen?;
        }
        Some((self.node(node), usize::try_from(rest).ok()?))
    }

    /// The ranks of the entries whose scores are in `range`: two descents.
    #[must_use]
    pub fn score_window(&self, range: &ScoreRange) -> Range<usize> {
        let first = self.count_before(|score, _| !range.above_min(score));
        let end = self.count_before(|score, _| range.below_max(score));
        first..end.max(first)
    }

    /// The ranks of the entries in the lexicographic `range` (every score equal).
    #[must_use]
    pub fn lex_window(&self, range: &LexRange<'_>) -> Range<usize> {
        let first = self.count_before(|_, member| !range.above_min(member));
        let end = self.count_before(|_, member| range.below_max(member));
        first..end.max(first)
    }

    /// Calls `visit` with the entries of ranks `window`, in order or from the last with
    /// `reverse`: a descent per leaf.
    pub fn visit(&self, window: Range<usize>, reverse: bool, mut visit: impl FnMut(Entry<'s>)) {
        let window = window.start..window.end.min(self.len());
        if !reverse {
            let mut rank = window.start;
            while rank < window.end {
                let Some((leaf, index)) = self.select(rank) else {
                    return;
                };
                let before = rank;
                for entry in ZsetView::new(leaf)
                    .entries()
                    .skip(index)
                    .take(window.end - rank)
                {
                    visit(entry);
                    rank += 1;
                }
                if rank == before {
                    return;
                }
            }
            return;
        }
        let mut end = window.end;
        while end > window.start {
            let Some((leaf, index)) = self.select(end - 1) else {
                return;
            };
            let mut starts = [0usize; 2 * NODE_ENTRIES_MAX];
            let mut held = 0usize;
            for (slot, entry) in starts.iter_mut().zip(ZsetView::new(leaf).entries()) {
                *slot = entry.range.start;
                held += 1;
            }
            let last = index.min(held.saturating_sub(1));
            let take = (end - window.start).min(last + 1);
            if held == 0 || take == 0 {
                return;
            }
            for &offset in starts[last + 1 - take..=last].iter().rev() {
                if let Some(entry) = (Entries {
                    bytes: leaf,
                    offset,
                })
                .next()
                {
                    visit(entry);
                }
            }
            end -= take;
        }
    }

    /// Every entry in order.
    #[must_use]
    pub fn entries(&self) -> LargeEntries<'s> {
        TreeEntries::new(*self, &self.large.header().tree)
    }

    /// The entry of a rank picked at random (uniform).
    pub(in crate::store) fn random_entry(&self, random: &mut RandomCopy) -> Option<Entry<'s>> {
        if self.is_empty() {
            return None;
        }
        let (leaf, index) = self.select(random.below(self.len()))?;
        ZsetView::new(leaf).entries().nth(index)
    }
}

/// Reads a large sorted set's tree nodes by number.
pub trait NodeRead<'v> {
    /// Node `node`'s bytes (empty if it is missing).
    fn node(&self, node: u32) -> &'v [u8];
}

impl<'s> NodeRead<'s> for LargeZset<'s> {
    fn node(&self, node: u32) -> &'s [u8] {
        LargeZset::node(self, node)
    }
}

/// The entries of a large sorted set's tree in order: a stack of the inner nodes on the
/// way to the current leaf, so O(1) node reads an entry on average.
#[derive(Debug, Clone)]
pub struct TreeEntries<'v, R> {
    read: R,
    root: u32,
    height: u32,
    stack: [InnerEntries<'v>; TREE_HEIGHT_MAX as usize],
    depth: usize,
    leaf: Entries<'v>,
    started: bool,
}

/// The entries of a [`LargeZset`], in order.
pub type LargeEntries<'s> = TreeEntries<'s, LargeZset<'s>>;

impl<'v, R: NodeRead<'v>> TreeEntries<'v, R> {
    /// The entries of the tree `tree`, its nodes read through `read`.
    pub fn new(read: R, tree: &Tree) -> Self {
        Self {
            read,
            root: tree.root,
            height: tree.height.min(TREE_HEIGHT_MAX - 1),
            stack: [const { InnerEntries::EMPTY }; TREE_HEIGHT_MAX as usize],
            depth: 0,
            leaf: ZsetView::new(&[]).entries(),
            started: false,
        }
    }

    /// Goes down from `node`, `levels` above the leaves, along first children.
    fn descend(&mut self, mut node: u32, levels: u32) -> Option<()> {
        for _ in 0..levels {
            let mut entries = InnerEntries::new(self.read.node(node));
            node = entries.next()?.child;
            self.stack[self.depth] = entries;
            self.depth += 1;
        }
        self.leaf = ZsetView::new(self.read.node(node)).entries();
        Some(())
    }
}

impl<'v, R: NodeRead<'v>> Iterator for TreeEntries<'v, R> {
    type Item = Entry<'v>;

    fn next(&mut self) -> Option<Entry<'v>> {
        loop {
            if let Some(entry) = self.leaf.next() {
                return Some(entry);
            }
            if !self.started {
                self.started = true;
                self.descend(self.root, self.height)?;
                continue;
            }
            loop {
                let depth = self.depth.checked_sub(1)?;
                if let Some(entry) = self.stack[depth].next() {
                    let levels = self.height - 1 - u32::try_from(depth).ok()?;
                    self.descend(entry.child, levels)?;
                    break;
                }
                self.depth = depth;
            }
        }
    }
}

impl Store<'_> {
    /// Room for `inserts` tree inserts and `removes` tree removals of the sorted set at
    /// `key` (whose header is `header`), each at the bound of a node write on every level,
    /// and for index parts of `index_sizes`.
    #[expect(
        clippy::too_many_arguments,
        reason = "a tree write: the set, its tree and the change"
    )]
    fn zset_room(
        &mut self,
        db: u8,
        key: &[u8],
        header: &Header,
        (inserts, removes): (usize, usize),
        index_sizes: impl Iterator<Item = usize> + Clone,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        let part_key_size = key.len() + PART_NUMBER_SIZE;
        let node = item::item_size(part_key_size, node_write_bound(&header.tree), 0);
        // An insert writes each level's node and maybe a split half, then a new root; a
        // removal after an insert may find the tree a level taller.
        let levels = header.tree.height as usize + 1;
        let nodes = inserts * (2 * levels + 1) + removes * (levels + 1);
        let index = index_sizes.map(|size| item::item_size(part_key_size, size, 0));
        let sizes = core::iter::repeat_n(node, nodes).chain(index);
        // Each member's write rewrites the header.
        let header_writes = (inserts + removes).max(1);
        let new_keys = inserts * (levels + 1);
        self.header_room_writes(db, key, sizes, header_writes, new_keys, now, log)
    }

    /// Room for a write of each of `members` (added or updated with `inserts`, removed
    /// without) at once, each counted from above with its whole index part, when they are
    /// at most [`ROOM_ALL_MAX`]: then the writes need no more room, so a command of a few
    /// members is applied whole or refused whole; whether it made that room. (More
    /// members make room one at a time: memory running out partway leaves the earlier
    /// ones written.)
    pub(in crate::store::zset) fn zset_room_for_all<'m>(
        &mut self,
        db: u8,
        key: &[u8],
        members: impl Iterator<Item = &'m [u8]> + Clone,
        inserts: bool,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<bool, StoreError> {
        if members.clone().nth(ROOM_ALL_MAX).is_some() {
            return Ok(false);
        }
        let mut header = self.zset_header(db, key)?;
        if inserts {
            let longest = members.clone().map(<[u8]>::len).max().unwrap_or(0);
            header.tree.member_max = header
                .tree
                .member_max
                .max(u32::try_from(longest).unwrap_or(u32::MAX));
            if longest > MEMBER_SIZE_MAX
                || node_write_bound(&header.tree) > self.config.value_size_max as usize
            {
                return Err(StoreError::CollectionTooLarge);
            }
        }
        let count = members.clone().count();
        let index = crate::store::large::SizeList::new(members.map(|member| {
            self.part_bytes(db, key, header.part_of(member)).len()
                + crate::store::hash::entry_size(member.len(), crate::store::zset::SCORE_SIZE)
        }));
        let writes = if inserts { (count, count) } else { (0, count) };
        self.zset_room(db, key, &header, writes, index.iter(), now, log)?;
        Ok(true)
    }

    /// The header of the large sorted set at `key` (which the caller found).
    fn zset_header(&self, db: u8, key: &[u8]) -> Result<Header, StoreError> {
        self.find(db, key)
            .and_then(|found| self.header_of(&found))
            .filter(Header::is_zset)
            .ok_or(StoreError::OutOfMemory)
    }

    /// Sets `member`'s score to `score` in the large sorted set at `key` (adding it if
    /// absent): the index part, the tree, then the header; with `room_made`, the caller
    /// made room for it (`zset_room_for_all`). Returns whether the member was new.
    #[expect(
        clippy::too_many_arguments,
        reason = "a member, its score, and whether room was made"
    )]
    pub(super) fn zset_set_large(
        &mut self,
        db: u8,
        key: &[u8],
        member: &[u8],
        score: f64,
        room_made: bool,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<bool, StoreError> {
        if member.len() > MEMBER_SIZE_MAX {
            return Err(StoreError::CollectionTooLarge);
        }
        let mut header = self.zset_header(db, key)?;
        let mut part_key = PartKey::new(key).ok_or(StoreError::KeyTooLarge)?;
        let old = LargeZset::new(self, db, key, header).find(member);
        let old = old.map(|(rank, entry)| (rank, entry.score));
        if old.is_some_and(|(_, old)| old.to_bits() == score.to_bits()) {
            return Ok(false);
        }
        header.tree.member_max = header
            .tree
            .member_max
            .max(u32::try_from(member.len()).unwrap_or(u32::MAX));
        if node_write_bound(&header.tree) > self.config.value_size_max as usize {
            // Nodes that must hold this member could not be items.
            return Err(StoreError::CollectionTooLarge);
        }
        let score_bytes = score.to_le_bytes();
        let pairs = core::iter::once((member, &score_bytes[..]));
        let index_part = header.part_of(member);
        let index_size = {
            let mut sizing = Out {
                target: None,
                size: 0,
            };
            crate::store::hash::compose_set_all(
                self.part_bytes(db, key, index_part),
                &pairs,
                &mut sizing,
            );
            sizing.size
        };
        if index_size > self.config.value_size_max as usize {
            return Err(StoreError::CollectionTooLarge);
        }
        if old.is_none() && header.tree.height + 1 >= TREE_HEIGHT_MAX {
            return Err(StoreError::CollectionTooLarge);
        }
        if !room_made {
            self.zset_room(
                db,
                key,
                &header,
                (1, usize::from(old.is_some())),
                core::iter::once(index_size),
                now,
                log,
            )?;
        }
        self.part_write(
            db,
            &mut part_key,
            index_part,
            None,
            index_size,
            log,
            |old, out| {
                crate::store::hash::compose_set_all(old, &pairs, out);
            },
        )?;
        // The new entry goes in first (an update of the only member never empties the
        // tree), then the old one goes, one rank later if the new one is below it.
        let mut tree = header.tree;
        self.tree_insert(db, key, &mut part_key, &mut tree, score, member, log)?;
        if let Some((rank, old)) = old {
            let rank = rank as u64 + u64::from(score < old);
            self.tree_remove(db, key, &mut part_key, &mut tree, rank, log)?;
        }
        header.tree = tree;
        header.len += u64::from(old.is_none());
        self.header_write(db, key, header, None, now, log)?;
        Ok(old.is_none())
    }

    /// Removes the entry of `rank` from the large sorted set at `key`, which has more
    /// than one, calling `visit` with it once the write can no longer fail.
    #[expect(
        clippy::too_many_arguments,
        reason = "a rank, whether room was made, and a visitor"
    )]
    pub(super) fn zset_remove_rank_large(
        &mut self,
        db: u8,
        key: &[u8],
        rank: usize,
        room_made: bool,
        now: Timestamp,
        log: &mut impl LogSink,
        visit: &mut impl FnMut(&[u8], f64),
    ) -> Result<(), StoreError> {
        let header = self.zset_header(db, key)?;
        let mut part_key = PartKey::new(key).ok_or(StoreError::KeyTooLarge)?;
        let place = |store: &Self| {
            let zset = LargeZset::new(store, db, key, header);
            let (leaf, index) = zset.select(rank)?;
            let entry = ZsetView::new(leaf).entries().nth(index)?;
            let index_part = header.part_of(entry.member);
            let position = HashView::new(store.part_bytes(db, key, index_part))
                .entries()
                .position(|indexed| indexed.field == entry.member)?;
            Some((index_part, position))
        };
        let (index_part, position) = place(self).ok_or(StoreError::CollectionInvalid)?;
        let index_size = {
            let old = HashView::new(self.part_bytes(db, key, index_part));
            let removed = old
                .entries()
                .nth(position)
                .map_or(0, |entry| entry.range.len());
            self.part_bytes(db, key, index_part).len() - removed
        };
        if !room_made {
            self.zset_room(
                db,
                key,
                &header,
                (0, 1),
                core::iter::once(index_size),
                now,
                log,
            )?;
        }
        {
            let zset = LargeZset::new(self, db, key, header);
            let (leaf, index) = zset.select(rank).ok_or(StoreError::CollectionInvalid)?;
            let entry = ZsetView::new(leaf)
                .entries()
                .nth(index)
                .ok_or(StoreError::CollectionInvalid)?;
            visit(entry.member, entry.score);
        }
        self.part_write(
            db,
            &mut part_key,
            index_part,
            None,
            index_size,
            log,
            |old, out| {
                out.push(&[TYPE_HASH]);
                for (at, entry) in HashView::new(old).entries().enumerate() {
                    if at != position {
                        out.push(old.get(entry.range).unwrap_or_default());
                    }
                }
            },
        )?;
        let mut tree = header.tree;
        self.tree_remove(db, key, &mut part_key, &mut tree, rank as u64, log)?;
        let shrunk = Header {
            len: header.len - 1,
            tree,
            ..header
        };
        self.header_write(db, key, shrunk, None, now, log)
    }

    /// ZREM on a large sorted set: each member present is removed by its own write; the
    /// key goes with its last member.
    pub(super) fn zset_remove_large<'m, M>(
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
        let room_made = self.zset_room_for_all(db, key, members.clone(), false, now, log)?;
        let mut removed = 0;
        for (index, member) in members.clone().enumerate() {
            if members.clone().position(|other| other == member) != Some(index) {
                continue;
            }
            let Some(found) = self.find(db, key) else {
                break;
            };
            let Some(header) = self.header_of(&found).filter(Header::is_zset) else {
                break;
            };
            let Some((rank, _)) = LargeZset::new(self, db, key, header).find(member) else {
                continue;
            };
            if header.len <= 1 {
                self.remove(&found);
                log.record(Record::Del { db, key });
                return Ok(removed + 1);
            }
            self.zset_remove_rank_large(db, key, rank, room_made, now, log, &mut |_, _| {})?;
            removed += 1;
        }
        Ok(removed)
    }

    /// Removes the entries of ranks `window` from the large sorted set at `key`, one write
    /// each, calling `visit` with each (in order, or from the last with `reverse`) once
    /// its write can no longer fail; the key goes with its last member. Room for every
    /// write is made first, so the window goes whole or, on a memory error, not at all:
    /// ZPOPMIN's reply gives its length before the first entry.
    #[expect(
        clippy::too_many_arguments,
        reason = "the large half of zset_remove_window"
    )]
    pub(super) fn zset_remove_window_large(
        &mut self,
        db: u8,
        key: &[u8],
        window: Range<usize>,
        reverse: bool,
        now: Timestamp,
        log: &mut impl LogSink,
        mut visit: impl FnMut(&[u8], f64),
    ) -> Result<usize, StoreError> {
        let found = self.find(db, key).ok_or(StoreError::CollectionInvalid)?;
        let header = self
            .header_of(&found)
            .filter(Header::is_zset)
            .ok_or(StoreError::CollectionInvalid)?;
        let length = usize::try_from(header.len).unwrap_or(usize::MAX);
        if window.is_empty() {
            return Ok(0);
        }
        if window.len() >= length {
            LargeZset::new(self, db, key, header).visit(window.clone(), reverse, |entry| {
                visit(entry.member, entry.score);
            });
            self.remove(&found);
            log.record(Record::Del { db, key });
            return Ok(window.len());
        }
        // Each removal rewrites one index part: counted at the largest one's size.
        let index_max = (0..header.part_count)
            .map(|ordinal| self.part_bytes(db, key, header.index_part(ordinal)).len())
            .max()
            .unwrap_or(0);
        let removals = window.len();
        let index_sizes = core::iter::repeat_n(index_max, removals);
        self.zset_room(db, key, &header, (0, removals), index_sizes, now, log)?;
        for done in 0..removals {
            let rank = if reverse {
                window.end - 1 - done
            } else {
                window.start
            };
            self.zset_remove_rank_large(db, key, rank, true, now, log, &mut visit)?;
        }
        Ok(removals)
    }
}
