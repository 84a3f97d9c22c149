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
//!   update removes the old entry and inserts the new one), then the header: O(log n)
//!   parts of bounded size. A node splits in two past [`NODE_ENTRIES_MAX`] entries or
//!   [`Store`]'s node byte cap; an emptied node goes, and a root left with one child
//!   hands over to it. Nodes never merge otherwise (as a list's nodes do not).
//! - **Node sizes are bounded** by the longest member ever added (the header's
//!   `member_max`): the cap is `max(NODE_BYTES, 2 × entry + 2)`, so a split half fits
//!   under the cap plus one entry, and every write fits [`node_write_bound`]. A write makes
//!   room for that bound on each level before it changes anything, so an update is never
//!   half applied. A member longer than [`MEMBER_SIZE_MAX`] keeps its set compact.
//! - **Conversion** from the compact form loads the tree bottom up from the sorted
//!   entries (nodes three quarters full) and the index as one part that then splits.
//!
//! Lex ranges are found by descent as Redis's skiplist finds them: the result is defined
//! when every score is equal, as Redis defines it.

use core::cmp::Ordering;
use core::ops::Range;

use super::{Entries, Entry, LexRange, SCORE_SIZE, ScoreRange, ZsetView, entry_size, order};
use crate::codec::record::Record;
use crate::error::StoreError;
use crate::storage::item::{self, PART_NUMBER_SIZE, varint_size};
use crate::store::compact::{Out, RandomCopy, TYPE_HASH, TYPE_ZSET, varint_read};
use crate::store::hash::HashView;
use crate::store::large::{
    Header, LargeRef, PartKey, PartSource, SizeList, TREE_HEIGHT_MAX, TYPE_LARGE_ZSET, Tree,
    address,
};
use crate::store::{LogSink, Store};
use crate::time::Timestamp;

/// The type byte of an inner node of a sorted set's tree.
pub const TYPE_INNER: u8 = b'y';

/// Entries a node holds before it splits (4 in this crate's tests, so that a model test of
/// a few dozen members splits nodes, grows and shrinks the tree's height).
pub const NODE_ENTRIES_MAX: usize = if cfg!(test) { 4 } else { 64 };

/// Bytes a node holds before it splits (when its members are short).
pub const NODE_BYTES: usize = 2048;

/// Entries a node takes when a conversion loads the tree (room for later inserts).
const LOAD_ENTRIES: usize = NODE_ENTRIES_MAX * 3 / 4;

/// The longest member a large sorted set takes (a node must hold a few).
pub const MEMBER_SIZE_MAX: usize = 64 * 1024;

/// Bytes of an inner entry's fixed fields: child, count, score.
const INNER_FIXED_SIZE: usize = 4 + 8 + SCORE_SIZE;

/// Bytes of an inner entry with a member of `member_size` bytes.
#[must_use]
pub fn inner_entry_size(member_size: usize) -> usize {
    INNER_FIXED_SIZE + varint_size(member_size) + member_size
}

/// The largest entry (leaf or inner) of a tree whose longest member is `member_max`.
const fn entry_bound(member_max: u32) -> usize {
    INNER_FIXED_SIZE + 5 + member_max as usize
}

/// The byte cap past which a node of a tree with `tree`'s longest member splits.
const fn node_cap(tree: &Tree) -> usize {
    let twice = 2 * entry_bound(tree.member_max) + 2;
    if twice > NODE_BYTES {
        twice
    } else {
        NODE_BYTES
    }
}

/// The most bytes one node write of `tree` can take: a node at its cap plus one entry,
/// with one more entry inserted.
#[must_use]
pub const fn node_write_bound(tree: &Tree) -> usize {
    node_cap(tree) + 2 * entry_bound(tree.member_max) + 1
}

/// One entry of an inner node.
#[derive(Debug, Clone, Copy)]
pub struct InnerEntry<'v> {
    /// The child's node number.
    pub child: u32,
    /// Entries under the child.
    pub count: u64,
    /// The separator's score.
    pub score: f64,
    /// The separator's member.
    pub member: &'v [u8],
}

/// The entries of an inner node, in order; stops at the first malformed one.
#[derive(Debug, Clone)]
pub struct InnerEntries<'v> {
    bytes: &'v [u8],
    offset: usize,
}

impl<'v> InnerEntries<'v> {
    /// The entries of the inner node `node` (none if it is not one).
    #[must_use]
    pub fn new(node: &'v [u8]) -> Self {
        let offset = if node.first() == Some(&TYPE_INNER) {
            1
        } else {
            node.len()
        };
        Self {
            bytes: node,
            offset,
        }
    }
}

impl<'v> Iterator for InnerEntries<'v> {
    type Item = InnerEntry<'v>;

    fn next(&mut self) -> Option<InnerEntry<'v>> {
        let at = self.offset;
        let fixed = self.bytes.get(at..at.checked_add(INNER_FIXED_SIZE)?)?;
        let child = u32::from_le_bytes(fixed[..4].try_into().ok()?);
        let count = u64::from_le_bytes(fixed[4..12].try_into().ok()?);
        let score = f64::from_le_bytes(fixed[12..20].try_into().ok()?);
        if score.is_nan() {
            return None;
        }
        let (size, varint) = varint_read(self.bytes.get(at + INNER_FIXED_SIZE..)?)?;
        let start = at + INNER_FIXED_SIZE + varint;
        let member = self.bytes.get(start..start.checked_add(size)?)?;
        self.offset = start + size;
        Some(InnerEntry {
            child,
            count,
            score,
            member,
        })
    }
}

fn push_inner(out: &mut Out<'_>, entry: &InnerEntry<'_>) {
    out.push(&entry.child.to_le_bytes());
    out.push(&entry.count.to_le_bytes());
    out.push(&entry.score.to_le_bytes());
    out.push_varint(entry.member.len());
    out.push(entry.member);
}

/// Whether `value` is a well-formed inner node: the type byte, at least one entry, each
/// counting at least one, separators after the first in strictly increasing order,
/// ending exactly at its end.
#[must_use]
pub fn inner_is_valid(value: &[u8]) -> bool {
    if value.first() != Some(&TYPE_INNER) {
        return false;
    }
    let mut entries = InnerEntries::new(value);
    let mut previous: Option<InnerEntry<'_>> = None;
    let mut count = 0usize;
    for entry in entries.by_ref() {
        if entry.count == 0 {
            return false;
        }
        if count >= 2
            && let Some(previous) = previous
            && order(previous.score, previous.member, entry.score, entry.member) != Ordering::Less
        {
            return false;
        }
        previous = Some(entry);
        count += 1;
    }
    count > 0 && entries.offset == value.len()
}

/// The first key of a node (a leaf's first entry, an inner node's first separator).
fn first_key(node: &[u8]) -> Option<(f64, &[u8])> {
    match node.first() {
        Some(&TYPE_ZSET) => ZsetView::new(node)
            .entries()
            .next()
            .map(|entry| (entry.score, entry.member)),
        Some(&TYPE_INNER) => InnerEntries::new(node)
            .next()
            .map(|entry| (entry.score, entry.member)),
        _ => None,
    }
}

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
            stack: [const {
                InnerEntries {
                    bytes: &[],
                    offset: 0,
                }
            }; TREE_HEIGHT_MAX as usize],
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

/// A leaf's change: an entry inserted at an index, or the entry at an index removed.
#[derive(Debug, Clone, Copy)]
enum LeafEdit<'m> {
    Insert(usize, f64, &'m [u8]),
    Remove(usize),
}

/// A leaf's entries with an edit applied.
#[derive(Clone)]
struct LeafEdited<'a> {
    old: Entries<'a>,
    position: usize,
    edit: LeafEdit<'a>,
    pending: bool,
}

impl<'a> LeafEdited<'a> {
    fn new(old: &'a [u8], edit: LeafEdit<'a>) -> Self {
        Self {
            old: ZsetView::new(old).entries(),
            position: 0,
            edit,
            pending: true,
        }
    }
}

impl<'a> Iterator for LeafEdited<'a> {
    type Item = (f64, &'a [u8]);

    fn next(&mut self) -> Option<(f64, &'a [u8])> {
        loop {
            if let LeafEdit::Insert(at, score, member) = self.edit
                && self.pending
                && self.position == at
            {
                self.pending = false;
                return Some((score, member));
            }
            let entry = self.old.next()?;
            let index = self.position;
            self.position += 1;
            if matches!(self.edit, LeafEdit::Remove(at) if at == index) {
                continue;
            }
            return Some((entry.score, entry.member));
        }
    }
}

/// An inner node's change at entry `at`.
#[derive(Debug, Clone, Copy)]
enum InnerEdit<'a> {
    /// The child's count changes by this much.
    Delta(usize, i64),
    /// The child is gone.
    Remove(usize),
    /// The child split: it keeps `left` entries, and a new child follows it.
    Split {
        at: usize,
        left: u64,
        right: u32,
        right_count: u64,
        key: (f64, &'a [u8]),
    },
}

/// An inner node's entries with an edit applied.
#[derive(Clone)]
struct InnerEdited<'a> {
    old: InnerEntries<'a>,
    position: usize,
    edit: InnerEdit<'a>,
    inserted: bool,
}

impl<'a> InnerEdited<'a> {
    fn new(old: &'a [u8], edit: InnerEdit<'a>) -> Self {
        Self {
            old: InnerEntries::new(old),
            position: 0,
            edit,
            inserted: false,
        }
    }
}

impl<'a> Iterator for InnerEdited<'a> {
    type Item = InnerEntry<'a>;

    fn next(&mut self) -> Option<InnerEntry<'a>> {
        if let InnerEdit::Split {
            at,
            right,
            right_count,
            key,
            ..
        } = self.edit
            && !self.inserted
            && self.position == at + 1
        {
            self.inserted = true;
            return Some(InnerEntry {
                child: right,
                count: right_count,
                score: key.0,
                member: key.1,
            });
        }
        loop {
            let mut entry = self.old.next()?;
            let index = self.position;
            self.position += 1;
            match self.edit {
                InnerEdit::Delta(at, delta) if at == index => {
                    entry.count = entry.count.saturating_add_signed(delta);
                }
                InnerEdit::Remove(at) if at == index => continue,
                InnerEdit::Split { at, left, .. } if at == index => entry.count = left,
                _ => {}
            }
            return Some(entry);
        }
    }
}

/// An inner node's edit for its child at `at` reporting `up`, the new entry's key read
/// from `extra` (the new right child's bytes).
fn inner_edit(up: Up, at: usize, extra: &[u8]) -> Option<InnerEdit<'_>> {
    Some(match up {
        Up::Delta(delta) => InnerEdit::Delta(at, delta),
        Up::Gone => InnerEdit::Remove(at),
        Up::Split {
            left,
            right,
            right_count,
        } => InnerEdit::Split {
            at,
            left,
            right,
            right_count,
            key: first_key(extra)?,
        },
    })
}

/// Where a node splits, given its entries' sizes: `None` if it stays whole.
fn split_point(sizes: impl Iterator<Item = usize> + Clone, cap: usize) -> Option<usize> {
    let count = sizes.clone().count();
    let total = 1 + sizes.clone().sum::<usize>();
    if count < 2 || (count <= NODE_ENTRIES_MAX && total <= cap) {
        return None;
    }
    if total <= cap {
        return Some(count / 2);
    }
    let mut prefix = 1;
    for (index, size) in sizes.enumerate() {
        if prefix >= total / 2 {
            return Some(index.clamp(1, count - 1));
        }
        prefix += size;
    }
    Some(count - 1)
}

/// What a node's write tells its parent.
#[derive(Debug, Clone, Copy)]
enum Up {
    /// Its count changed by this much.
    Delta(i64),
    /// It split: it keeps `left` entries under it, and node `right` has the rest.
    Split {
        left: u64,
        right: u32,
        right_count: u64,
    },
    /// It was emptied and removed.
    Gone,
}

/// The inner nodes on a descent, from the root, with the index of the child taken.
struct Path {
    steps: [(u32, usize); TREE_HEIGHT_MAX as usize],
    depth: usize,
    leaf: u32,
}

impl Store<'_> {
    fn node_bytes(&self, db: u8, key: &[u8], node: u32) -> &[u8] {
        self.part_bytes(db, key, Header::node_part(node))
    }

    fn node_range(&self, db: u8, key: &[u8], node: u32) -> Range<usize> {
        self.part_range(db, key, Header::node_part(node))
    }

    /// The path to the leaf where `(score, member)` belongs.
    fn path_to_key(&self, db: u8, key: &[u8], tree: &Tree, score: f64, member: &[u8]) -> Path {
        let mut path = Path {
            steps: [(0, 0); TREE_HEIGHT_MAX as usize],
            depth: 0,
            leaf: tree.root,
        };
        let mut node = tree.root;
        for _ in 0..tree.height.min(TREE_HEIGHT_MAX) {
            let mut chosen = (0, 0);
            for (index, entry) in InnerEntries::new(self.node_bytes(db, key, node)).enumerate() {
                if index > 0 && order(entry.score, entry.member, score, member) == Ordering::Greater
                {
                    break;
                }
                chosen = (index, entry.child);
            }
            path.steps[path.depth] = (node, chosen.0);
            path.depth += 1;
            node = chosen.1;
        }
        path.leaf = node;
        path
    }

    /// The path to the leaf holding the entry of `rank`, and its index there.
    fn path_to_rank(&self, db: u8, key: &[u8], tree: &Tree, rank: u64) -> (Path, usize) {
        let mut path = Path {
            steps: [(0, 0); TREE_HEIGHT_MAX as usize],
            depth: 0,
            leaf: tree.root,
        };
        let mut node = tree.root;
        let mut rest = rank;
        for _ in 0..tree.height.min(TREE_HEIGHT_MAX) {
            let mut chosen = (0, node);
            for (index, entry) in InnerEntries::new(self.node_bytes(db, key, node)).enumerate() {
                chosen = (index, entry.child);
                if rest < entry.count {
                    break;
                }
                rest -= entry.count;
            }
            path.steps[path.depth] = (node, chosen.0);
            path.depth += 1;
            node = chosen.1;
        }
        path.leaf = node;
        (path, usize::try_from(rest).unwrap_or(usize::MAX))
    }

    /// A free node number (new nodes take numbers below twice the node count, so at
    /// least half the numbers tried are free).
    fn node_alloc(&self, db: u8, part_key: &mut PartKey, tree: &mut Tree) -> u32 {
        let bound = tree.end.max(2 * tree.nodes + 2);
        let mut number = tree.next % bound;
        while self
            .find_part(db, part_key.of(Header::node_part(number)))
            .is_some()
        {
            number = (number + 1) % bound;
        }
        tree.next = number + 1;
        tree.end = tree.end.max(number + 1);
        tree.nodes += 1;
        number
    }

    /// Removes node `node` (emptied) and logs it.
    fn node_remove(
        &mut self,
        db: u8,
        part_key: &mut PartKey,
        tree: &mut Tree,
        node: u32,
        log: &mut impl LogSink,
    ) {
        self.part_remove_logged(db, part_key.of(Header::node_part(node)), log);
        tree.nodes = tree.nodes.saturating_sub(1);
    }

    /// Writes leaf `leaf` with `edit`, splitting it if it passes the cap.
    #[expect(
        clippy::too_many_arguments,
        reason = "a tree write: the set, its tree and the change"
    )]
    fn leaf_write(
        &mut self,
        db: u8,
        key: &[u8],
        part_key: &mut PartKey,
        tree: &mut Tree,
        leaf: u32,
        edit: LeafEdit<'_>,
        log: &mut impl LogSink,
    ) -> Result<Up, StoreError> {
        let delta = if matches!(edit, LeafEdit::Insert(..)) {
            1
        } else {
            -1
        };
        let (count, split) = {
            let old = self.node_bytes(db, key, leaf);
            let sizes = LeafEdited::new(old, edit).map(|(_, member)| entry_size(member.len()));
            (sizes.clone().count(), split_point(sizes, node_cap(tree)))
        };
        if count == 0 {
            self.node_remove(db, part_key, tree, leaf, log);
            return Ok(Up::Gone);
        }
        let size_of = |store: &Self, range: Range<usize>| {
            1 + LeafEdited::new(store.node_bytes(db, key, leaf), edit)
                .skip(range.start)
                .take(range.len())
                .map(|(_, member)| entry_size(member.len()))
                .sum::<usize>()
        };
        let compose = |old: &[u8], range: Range<usize>, out: &mut Out<'_>| {
            out.push(&[TYPE_ZSET]);
            for (score, member) in LeafEdited::new(old, edit)
                .skip(range.start)
                .take(range.len())
            {
                super::push_entry(out, member, score);
            }
        };
        let Some(middle) = split else {
            let size = size_of(self, 0..count);
            self.part_write(
                db,
                part_key,
                Header::node_part(leaf),
                None,
                size,
                log,
                |old, out| {
                    compose(old, 0..count, out);
                },
            )?;
            return Ok(Up::Delta(delta));
        };
        let right = self.node_alloc(db, part_key, tree);
        let source = self.node_range(db, key, leaf);
        let size = size_of(self, middle..count);
        self.part_write(
            db,
            part_key,
            Header::node_part(right),
            Some(source),
            size,
            log,
            |old, out| {
                compose(old, middle..count, out);
            },
        )?;
        let size = size_of(self, 0..middle);
        self.part_write(
            db,
            part_key,
            Header::node_part(leaf),
            None,
            size,
            log,
            |old, out| {
                compose(old, 0..middle, out);
            },
        )?;
        Ok(Up::Split {
            left: middle as u64,
            right,
            right_count: (count - middle) as u64,
        })
    }

    /// Writes inner node `node` with what its child at `at` reported, splitting it if it
    /// passes the cap; `delta` is the change in the tree's entry count.
    #[expect(
        clippy::too_many_arguments,
        reason = "a node, its child's report and the tree"
    )]
    fn inner_write(
        &mut self,
        db: u8,
        key: &[u8],
        part_key: &mut PartKey,
        tree: &mut Tree,
        (node, at): (u32, usize),
        up: Up,
        delta: i64,
        log: &mut impl LogSink,
    ) -> Result<Up, StoreError> {
        let (extra, right_child) = match up {
            Up::Split { right, .. } => (self.node_range(db, key, right), Some(right)),
            _ => (0..0, None),
        };
        let (count, split, counts) = {
            let extra = right_child.map_or(&[][..], |right| self.node_bytes(db, key, right));
            let edit = inner_edit(up, at, extra).ok_or(StoreError::CollectionInvalid)?;
            let entries = InnerEdited::new(self.node_bytes(db, key, node), edit);
            let sizes = entries
                .clone()
                .map(|entry| inner_entry_size(entry.member.len()));
            let split = split_point(sizes.clone(), node_cap(tree));
            let left: u64 = entries
                .clone()
                .take(split.unwrap_or(usize::MAX))
                .map(|entry| entry.count)
                .sum();
            let total: u64 = entries.map(|entry| entry.count).sum();
            (sizes.count(), split, (left, total - left))
        };
        if count == 0 {
            self.node_remove(db, part_key, tree, node, log);
            return Ok(Up::Gone);
        }
        let size_of = |store: &Self, range: Range<usize>| {
            let extra = right_child.map_or(&[][..], |right| store.node_bytes(db, key, right));
            let edit = inner_edit(up, at, extra).ok_or(StoreError::CollectionInvalid)?;
            Ok::<usize, StoreError>(
                1 + InnerEdited::new(store.node_bytes(db, key, node), edit)
                    .skip(range.start)
                    .take(range.len())
                    .map(|entry| inner_entry_size(entry.member.len()))
                    .sum::<usize>(),
            )
        };
        let compose = |old: &[u8], extra: &[u8], range: Range<usize>, out: &mut Out<'_>| {
            out.push(&[TYPE_INNER]);
            if let Some(edit) = inner_edit(up, at, extra) {
                for entry in InnerEdited::new(old, edit)
                    .skip(range.start)
                    .take(range.len())
                {
                    push_inner(out, &entry);
                }
            }
        };
        let Some(middle) = split else {
            let size = size_of(self, 0..count)?;
            self.part_write_with(
                db,
                part_key,
                Header::node_part(node),
                None,
                extra,
                size,
                log,
                |old, extra, out| compose(old, extra, 0..count, out),
            )?;
            return Ok(Up::Delta(delta));
        };
        let right = self.node_alloc(db, part_key, tree);
        let source = self.node_range(db, key, node);
        let size = size_of(self, middle..count)?;
        self.part_write_with(
            db,
            part_key,
            Header::node_part(right),
            Some(source),
            extra.clone(),
            size,
            log,
            |old, extra, out| compose(old, extra, middle..count, out),
        )?;
        // The first write may have moved nothing, but `extra` is read again: the right
        // child's bytes stay where they are (writes only append).
        let size = size_of(self, 0..middle)?;
        self.part_write_with(
            db,
            part_key,
            Header::node_part(node),
            None,
            extra,
            size,
            log,
            |old, extra, out| compose(old, extra, 0..middle, out),
        )?;
        Ok(Up::Split {
            left: counts.0,
            right,
            right_count: counts.1,
        })
    }

    /// Carries a leaf's report up `path`, then grows a new root over a split one or
    /// hands a one-child root over to its child.
    #[expect(
        clippy::too_many_arguments,
        reason = "a tree write: the set, its tree and the change"
    )]
    fn tree_finish(
        &mut self,
        db: u8,
        key: &[u8],
        part_key: &mut PartKey,
        tree: &mut Tree,
        path: &Path,
        mut up: Up,
        delta: i64,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        for level in (0..path.depth).rev() {
            up = self.inner_write(db, key, part_key, tree, path.steps[level], up, delta, log)?;
        }
        match up {
            Up::Split {
                left,
                right,
                right_count,
            } => {
                let root = self.node_alloc(db, part_key, tree);
                let old_root = tree.root;
                let extra = self.node_range(db, key, right);
                let size = 1 + 2 * inner_entry_size(
                    first_key(self.node_bytes(db, key, right))
                        .ok_or(StoreError::CollectionInvalid)?
                        .1
                        .len(),
                );
                self.part_write_with(
                    db,
                    part_key,
                    Header::node_part(root),
                    None,
                    extra,
                    size,
                    log,
                    |_, extra, out| {
                        out.push(&[TYPE_INNER]);
                        if let Some((score, member)) = first_key(extra) {
                            for (child, count) in [(old_root, left), (right, right_count)] {
                                push_inner(
                                    out,
                                    &InnerEntry {
                                        child,
                                        count,
                                        score,
                                        member,
                                    },
                                );
                            }
                        }
                    },
                )?;
                tree.root = root;
                tree.height += 1;
            }
            Up::Gone => return Err(StoreError::CollectionInvalid),
            Up::Delta(_) => {}
        }
        while tree.height > 0 {
            let mut entries = InnerEntries::new(self.node_bytes(db, key, tree.root));
            let (Some(only), None) = (entries.next(), entries.next()) else {
                break;
            };
            let old_root = tree.root;
            tree.root = only.child;
            tree.height -= 1;
            self.node_remove(db, part_key, tree, old_root, log);
        }
        Ok(())
    }

    /// Inserts `(score, member)` (not present) into the tree. Room was made.
    #[expect(
        clippy::too_many_arguments,
        reason = "a tree write: the set, its tree and the change"
    )]
    fn tree_insert(
        &mut self,
        db: u8,
        key: &[u8],
        part_key: &mut PartKey,
        tree: &mut Tree,
        score: f64,
        member: &[u8],
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        let path = self.path_to_key(db, key, tree, score, member);
        let at = ZsetView::new(self.node_bytes(db, key, path.leaf))
            .entries()
            .take_while(|entry| order(entry.score, entry.member, score, member) == Ordering::Less)
            .count();
        let up = self.leaf_write(
            db,
            key,
            part_key,
            tree,
            path.leaf,
            LeafEdit::Insert(at, score, member),
            log,
        )?;
        self.tree_finish(db, key, part_key, tree, &path, up, 1, log)
    }

    /// Removes the entry of `rank` from the tree (which holds more than it). Room was made.
    fn tree_remove(
        &mut self,
        db: u8,
        key: &[u8],
        part_key: &mut PartKey,
        tree: &mut Tree,
        rank: u64,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        let (path, index) = self.path_to_rank(db, key, tree, rank);
        let up = self.leaf_write(
            db,
            key,
            part_key,
            tree,
            path.leaf,
            LeafEdit::Remove(index),
            log,
        )?;
        self.tree_finish(db, key, part_key, tree, &path, up, -1, log)
    }

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
        index_sizes: &[usize],
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        let part_key_size = key.len() + PART_NUMBER_SIZE;
        let node = item::item_size(part_key_size, node_write_bound(&header.tree), 0);
        let levels = header.tree.height as usize + 1;
        let nodes = inserts * (2 * levels + 1) + removes * levels;
        let index = index_sizes
            .iter()
            .map(|&size| item::item_size(part_key_size, size, 0));
        let sizes = core::iter::repeat_n(node, nodes).chain(index);
        self.header_room(db, key, sizes, inserts * (levels + 1), now, log)
    }

    /// The header of the large sorted set at `key` (which the caller found).
    fn zset_header(&self, db: u8, key: &[u8]) -> Result<Header, StoreError> {
        self.find(db, key)
            .and_then(|found| self.header_of(&found))
            .filter(Header::is_zset)
            .ok_or(StoreError::OutOfMemory)
    }

    /// Sets `member`'s score to `score` in the large sorted set at `key` (adding it if
    /// `old` is `None`): the index part, the tree, then the header. Returns whether the
    /// member was new.
    pub(super) fn zset_set_large(
        &mut self,
        db: u8,
        key: &[u8],
        member: &[u8],
        score: f64,
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
            crate::store::hash::compose_set(
                self.part_bytes(db, key, index_part),
                &pairs,
                |_| true,
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
        self.zset_room(
            db,
            key,
            &header,
            (1, usize::from(old.is_some())),
            &[index_size],
            now,
            log,
        )?;
        self.part_write(
            db,
            &mut part_key,
            index_part,
            None,
            index_size,
            log,
            |old, out| {
                crate::store::hash::compose_set(old, &pairs, |_| true, out);
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
    pub(super) fn zset_remove_rank_large(
        &mut self,
        db: u8,
        key: &[u8],
        rank: usize,
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
        self.zset_room(db, key, &header, (0, 1), &[index_size], now, log)?;
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
            self.zset_remove_rank_large(db, key, rank, now, log, &mut |_, _| {})?;
            removed += 1;
        }
        Ok(removed)
    }

    /// Removes the entries of ranks `window` from the large sorted set at `key`, one write
    /// each, calling `visit` with each (in order, or from the last with `reverse`) once
    /// its write can no longer fail; the key goes with its last member. If memory runs
    /// out after the first, returns how many went (each visited).
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
        for done in 0..window.len() {
            let rank = if reverse {
                window.end - 1 - done
            } else {
                window.start
            };
            if let Err(error) = self.zset_remove_rank_large(db, key, rank, now, log, &mut visit) {
                return if done == 0 { Err(error) } else { Ok(done) };
            }
        }
        Ok(window.len())
    }

    /// Converts the compact sorted set at `key` to the large form if it passed the
    /// thresholds (`zset-max-listpack-entries`, `-value`) and its key is short enough.
    /// Best effort: without room it stays compact (correct, only slower).
    pub(in crate::store) fn zset_convert_if_large(
        &mut self,
        db: u8,
        key: &[u8],
        now: Timestamp,
        log: &mut impl LogSink,
    ) {
        let Some(found) = self.find(db, key) else {
            return;
        };
        let value = self.value_of(&found);
        if value.first() != Some(&TYPE_ZSET) || PartKey::new(key).is_none() {
            return;
        }
        let (entries_max, value_max) = (
            self.config.zset_max_listpack_entries as usize,
            self.config.zset_max_listpack_value as usize,
        );
        let view = ZsetView::new(value);
        let mut count = 0usize;
        let mut member_max = 0usize;
        for entry in view.entries() {
            count += 1;
            member_max = member_max.max(entry.member.len());
        }
        if (count <= entries_max && member_max <= value_max) || member_max > MEMBER_SIZE_MAX {
            return;
        }
        let tree = Tree {
            member_max: u32::try_from(member_max).unwrap_or(u32::MAX),
            ..Tree::default()
        };
        if node_write_bound(&tree) > self.config.value_size_max as usize {
            return;
        }
        let _ = self.zset_convert(db, key, count, member_max, now, log);
    }

    /// [`Store::zset_convert_if_large`]'s conversion of a set of `count` entries: room for
    /// every part first (so the compact value stays where it is while the parts are read
    /// from it), the index parts, the tree loaded bottom up, the header, then index splits.
    fn zset_convert(
        &mut self,
        db: u8,
        key: &[u8],
        count: usize,
        member_max: usize,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        let tree = Tree {
            member_max: u32::try_from(member_max).unwrap_or(u32::MAX),
            ..Tree::default()
        };
        let index_size = 1 + ZsetView::new(self.compact_old_value(db, key, true))
            .entries()
            .map(|entry| crate::store::hash::entry_size(entry.member.len(), SCORE_SIZE))
            .sum::<usize>();
        let part_limit = (self.config.value_size_max as usize / 2).max(1);
        let index_parts = u32::try_from(index_size.div_ceil(part_limit).max(1))
            .map_err(|_| StoreError::CollectionTooLarge)?;
        let mut header = Header {
            type_byte: TYPE_LARGE_ZSET,
            len: count as u64,
            part_count: index_parts,
            seed: self.random(),
            chain: crate::store::large::Chain::default(),
            tree,
        };
        let part_key_size = key.len() + PART_NUMBER_SIZE;
        let mut sizes = SizeList::new((0..index_parts).map(|part| {
            let size = index_part_size(self.compact_old_value(db, key, true), &header, part);
            item::item_size(part_key_size, size, 0)
        }));
        let built = self.zset_load(db, key, &header, &mut |_, node| {
            sizes.push(item::item_size(part_key_size, node.size, 0));
            Ok(())
        })?;
        let new_keys = built.nodes as usize + index_parts as usize;
        self.header_room(db, key, sizes.iter(), new_keys, now, log)?;
        let mut part_key = PartKey::new(key).ok_or(StoreError::KeyTooLarge)?;
        let source = self.compact_old_range(db, key, true);
        for part in 0..index_parts {
            let size = index_part_size(self.compact_old_value(db, key, true), &header, part);
            self.part_write(
                db,
                &mut part_key,
                header.index_part(part),
                Some(source.clone()),
                size,
                log,
                |old, out| compose_index_part(old, &header, part, out),
            )?;
        }
        let built = self.zset_load(db, key, &header, &mut |store, node| {
            store.part_write(
                db,
                &mut part_key,
                Header::node_part(node.number),
                Some(source.clone()),
                node.size,
                log,
                |old, out| node.compose(old, out),
            )
        })?;
        header.tree = Tree {
            root: built.root,
            height: built.height,
            nodes: built.nodes,
            next: built.nodes,
            end: built.nodes,
            member_max: header.tree.member_max,
        };
        self.header_write(db, key, header, None, now, log)?;
        self.large_grow(db, key, compose_index_split, now, log);
        Ok(())
    }

    /// Loads the tree of the compact sorted set at `key` bottom up, calling `on_node`
    /// with each node as it closes (numbered from 0 in that order); returns the root.
    fn zset_load(
        &mut self,
        db: u8,
        key: &[u8],
        header: &Header,
        on_node: &mut dyn FnMut(&mut Self, &Closed<'_>) -> Result<(), StoreError>,
    ) -> Result<Built, StoreError> {
        let mut loader = Loader::new(node_cap(&header.tree) * 3 / 4);
        let mut offset = 1;
        loop {
            let next = {
                let value = self.compact_old_value(db, key, true);
                let mut entries = Entries {
                    bytes: value,
                    offset,
                };
                entries
                    .next()
                    .map(|entry| (entry.range, entry.member.len()))
            };
            let Some((range, member_size)) = next else {
                break;
            };
            offset = range.end;
            loader.leaf_add(range, member_size, &mut |node| on_node(self, node))?;
        }
        loader.finish(&mut |node| on_node(self, node))
    }
}

/// An entry of a node being loaded: its child, the entries under it, and where its first
/// key's entry lies in the compact value.
#[derive(Debug, Clone, Copy, Default)]
struct LoadEntry {
    child: u32,
    count: u64,
    key: usize,
    member_size: usize,
}

/// A node the loader closed.
struct Closed<'l> {
    number: u32,
    size: usize,
    count: u64,
    first: usize,
    first_member_size: usize,
    entries: Closing<'l>,
}

/// A closed node's entries: a leaf's are a range of the compact value.
enum Closing<'l> {
    Leaf(Range<usize>),
    Inner(&'l [LoadEntry]),
}

impl Closed<'_> {
    /// Writes the node from the compact value.
    fn compose(&self, value: &[u8], out: &mut Out<'_>) {
        match &self.entries {
            Closing::Leaf(range) => {
                out.push(&[TYPE_ZSET]);
                out.push(value.get(range.clone()).unwrap_or_default());
            }
            Closing::Inner(entries) => {
                out.push(&[TYPE_INNER]);
                for load in *entries {
                    let mut read = Entries {
                        bytes: value,
                        offset: load.key,
                    };
                    if let Some(entry) = read.next() {
                        push_inner(
                            out,
                            &InnerEntry {
                                child: load.child,
                                count: load.count,
                                score: entry.score,
                                member: entry.member,
                            },
                        );
                    }
                }
            }
        }
    }
}

/// The open node of one inner level of a load.
#[derive(Clone, Copy)]
struct OpenInner {
    entries: [LoadEntry; NODE_ENTRIES_MAX],
    held: usize,
    bytes: usize,
    closed: u32,
}

/// The tree a load built.
#[derive(Debug, Clone, Copy)]
struct Built {
    root: u32,
    height: u32,
    nodes: u32,
}

/// A bottom-up load of sorted entries into nodes of at most [`LOAD_ENTRIES`] entries
/// and `cap` bytes (at least two entries each, so the tree's height is logarithmic).
struct Loader {
    cap: usize,
    leaf: Range<usize>,
    leaf_held: usize,
    leaf_first_member: usize,
    leaf_closed: u32,
    inner: [OpenInner; TREE_HEIGHT_MAX as usize],
    nodes: u32,
}

/// Whether a node of `held` entries and `bytes` closes before taking `size` more.
const fn closes(held: usize, bytes: usize, size: usize, cap: usize) -> bool {
    held >= 2 && (held >= LOAD_ENTRIES || bytes + size > cap)
}

impl Loader {
    fn new(cap: usize) -> Self {
        let open = OpenInner {
            entries: [LoadEntry::default(); NODE_ENTRIES_MAX],
            held: 0,
            bytes: 1,
            closed: 0,
        };
        Self {
            cap,
            leaf: 0..0,
            leaf_held: 0,
            leaf_first_member: 0,
            leaf_closed: 0,
            inner: [open; TREE_HEIGHT_MAX as usize],
            nodes: 0,
        }
    }

    fn leaf_add(
        &mut self,
        range: Range<usize>,
        member_size: usize,
        on_node: &mut dyn FnMut(&Closed<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        if closes(self.leaf_held, 1 + self.leaf.len(), range.len(), self.cap) {
            self.leaf_close(on_node)?;
        }
        if self.leaf_held == 0 {
            self.leaf = range.start..range.start;
            self.leaf_first_member = member_size;
        }
        self.leaf.end = range.end;
        self.leaf_held += 1;
        Ok(())
    }

    fn leaf_close(
        &mut self,
        on_node: &mut dyn FnMut(&Closed<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let closed = Closed {
            number: self.nodes,
            size: 1 + self.leaf.len(),
            count: self.leaf_held as u64,
            first: self.leaf.start,
            first_member_size: self.leaf_first_member,
            entries: Closing::Leaf(self.leaf.clone()),
        };
        on_node(&closed)?;
        self.nodes += 1;
        self.leaf_closed += 1;
        self.leaf_held = 0;
        self.inner_add(0, &closed, on_node)
    }

    /// Adds a closed node of the level below to inner level `level` (0: above leaves).
    fn inner_add(
        &mut self,
        level: usize,
        child: &Closed<'_>,
        on_node: &mut dyn FnMut(&Closed<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let open = self
            .inner
            .get(level)
            .ok_or(StoreError::CollectionTooLarge)?;
        let size = inner_entry_size(child.first_member_size);
        if closes(open.held, open.bytes, size, self.cap) {
            self.inner_close(level, on_node)?;
        }
        let open = &mut self.inner[level];
        open.entries[open.held] = LoadEntry {
            child: child.number,
            count: child.count,
            key: child.first,
            member_size: child.first_member_size,
        };
        open.held += 1;
        open.bytes += size;
        Ok(())
    }

    fn inner_close(
        &mut self,
        level: usize,
        on_node: &mut dyn FnMut(&Closed<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let open = self.inner[level];
        let entries = &open.entries[..open.held];
        let closed = Closed {
            number: self.nodes,
            size: open.bytes,
            count: entries.iter().map(|entry| entry.count).sum(),
            first: entries.first().map_or(0, |entry| entry.key),
            first_member_size: entries.first().map_or(0, |entry| entry.member_size),
            entries: Closing::Inner(entries),
        };
        on_node(&closed)?;
        self.nodes += 1;
        let open = &mut self.inner[level];
        open.closed += 1;
        open.held = 0;
        open.bytes = 1;
        let parent = Closed {
            entries: Closing::Leaf(0..0),
            ..closed
        };
        self.inner_add(level + 1, &parent, on_node)
    }

    /// Closes what is open, bottom up, and returns the root: a level that closed no node
    /// and holds one child has that child as the root.
    fn finish(
        mut self,
        on_node: &mut dyn FnMut(&Closed<'_>) -> Result<(), StoreError>,
    ) -> Result<Built, StoreError> {
        if self.leaf_closed == 0 {
            let root = self.nodes;
            self.leaf_close(on_node)?;
            return Ok(Built {
                root,
                height: 0,
                nodes: self.nodes,
            });
        }
        self.leaf_close(on_node)?;
        for level in 0..self.inner.len() {
            let open = self.inner[level];
            if open.closed == 0 && open.held == 1 {
                return Ok(Built {
                    root: open.entries[0].child,
                    height: u32::try_from(level).unwrap_or(u32::MAX),
                    nodes: self.nodes,
                });
            }
            self.inner_close(level, on_node)?;
        }
        Err(StoreError::CollectionTooLarge)
    }
}

/// Bytes of index part `part` of a conversion from the compact `value`.
fn index_part_size(value: &[u8], header: &Header, part: u32) -> usize {
    let mut sizing = Out {
        target: None,
        size: 0,
    };
    compose_index_part(value, header, part, &mut sizing);
    sizing.size
}

/// Index part `part` (of the header's part count) of a conversion from the compact
/// sorted set `value`.
fn compose_index_part(value: &[u8], header: &Header, part: u32, out: &mut Out<'_>) {
    out.push(&[TYPE_HASH]);
    for entry in ZsetView::new(value).entries() {
        if address(
            crate::hash::wyhash(entry.member, header.seed),
            header.part_count,
        ) == part
        {
            out.push_entry(entry.member, &entry.score.to_le_bytes());
        }
    }
}

/// Writes the index part `keep` of a split to `grown`'s part count from the bytes of the
/// part that splits (a `large::SplitCompose`).
pub(super) fn compose_index_split(old: &[u8], grown: Header, keep: u32, out: &mut Out<'_>) {
    out.push(&[TYPE_HASH]);
    for entry in HashView::new(old).entries() {
        if grown.part_of(entry.field) == keep {
            out.push(old.get(entry.range).unwrap_or_default());
        }
    }
}
