//! The tree of a large sorted set (see `zset/large.rs`): its node encodings, the edits a
//! write makes to one node, and the writes that carry an insert or a removal from a leaf
//! up to the root (splits, emptied nodes, a new root, a root handed to its only child).

use core::cmp::Ordering;
use core::ops::Range;

use crate::error::StoreError;
use crate::storage::item::varint_size;
use crate::store::compact::{Out, TYPE_ZSET, varint_read};
use crate::store::large::{Header, PartKey, TREE_HEIGHT_MAX, Tree};
use crate::store::zset::{Entries, SCORE_SIZE, ZsetView, entry_size, order};
use crate::store::{LogSink, Store};

/// The type byte of an inner node of a sorted set's tree.
pub const TYPE_INNER: u8 = b'y';

/// Entries a node holds before it splits (4 in this crate's tests, so that a model test of
/// a few dozen members splits nodes, grows and shrinks the tree's height).
pub const NODE_ENTRIES_MAX: usize = if cfg!(test) { 4 } else { 64 };

/// Bytes a node holds before it splits (when its members are short), where items may be
/// at least four times as large (a large set's `Tree::node_bytes`, see [`node_bytes_for`]).
pub const NODE_BYTES: u32 = 2048;

/// The node byte cap of a set that takes the large form in a store whose values are at
/// most `value_size_max` bytes: [`NODE_BYTES`], or a quarter of the limit if that is less.
#[must_use]
pub fn node_bytes_for(value_size_max: u32) -> u32 {
    (value_size_max / 4).clamp(64, NODE_BYTES)
}

/// Entries a node takes when a conversion loads the tree (room for later inserts).
pub(super) const LOAD_ENTRIES: usize = NODE_ENTRIES_MAX * 3 / 4;

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

/// The byte cap past which a node of `tree` splits: its `node_bytes`, or room for two of
/// its largest entries.
pub(super) const fn node_cap(tree: &Tree) -> usize {
    let twice = 2 * entry_bound(tree.member_max) + 2;
    let bytes = tree.node_bytes as usize;
    if twice > bytes { twice } else { bytes }
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
    /// The entries of no node.
    pub const EMPTY: Self = Self {
        bytes: &[],
        offset: 0,
    };

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

pub(super) fn push_inner(out: &mut Out<'_>, entry: &InnerEntry<'_>) {
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
pub(super) fn first_key(node: &[u8]) -> Option<(f64, &[u8])> {
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

/// A node's entry count and size (type byte included), given its entries' sizes, and
/// where it splits (`None`: it stays whole). One pass unless it splits by bytes.
fn measure(
    sizes: impl Iterator<Item = usize> + Clone,
    cap: usize,
) -> (usize, usize, Option<usize>) {
    let (count, sum) = sizes.clone().fold((0usize, 0usize), |(count, sum), size| {
        (count + 1, sum + size)
    });
    let total = 1 + sum;
    let split = if count < 2 || (count <= NODE_ENTRIES_MAX && total <= cap) {
        None
    } else if total <= cap {
        Some(count / 2)
    } else {
        let mut prefix = 1;
        let mut at = count - 1;
        for (index, size) in sizes.enumerate() {
            if prefix >= total / 2 {
                at = index.clamp(1, count - 1);
                break;
            }
            prefix += size;
        }
        Some(at)
    };
    (count, total, split)
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

    /// [`Store::leaf_write`] when the leaf neither splits nor empties: its old bytes with
    /// the entry put in or cut out, in two copies; whether it applied.
    #[expect(
        clippy::too_many_arguments,
        reason = "a tree write: the set, its tree and the change"
    )]
    fn leaf_write_in_place(
        &mut self,
        db: u8,
        key: &[u8],
        part_key: &mut PartKey,
        tree: &Tree,
        leaf: u32,
        edit: LeafEdit<'_>,
        log: &mut impl LogSink,
    ) -> Result<bool, StoreError> {
        let (count, at_range, old_size) = {
            let old = self.node_bytes(db, key, leaf);
            let at = match edit {
                LeafEdit::Insert(at, ..) | LeafEdit::Remove(at) => at,
            };
            let mut count = 0usize;
            let mut at_range = None;
            for (index, entry) in ZsetView::new(old).entries().enumerate() {
                if index == at {
                    at_range = Some(entry.range);
                }
                count += 1;
            }
            (count, at_range, old.len())
        };
        let (cut, insert, new_count, new_size) = match edit {
            LeafEdit::Insert(_, score, member) => {
                let at = at_range.map_or(old_size, |range| range.start);
                (
                    at..at,
                    Some((score, member)),
                    count + 1,
                    old_size + entry_size(member.len()),
                )
            }
            LeafEdit::Remove(_) => {
                let Some(range) = at_range else {
                    return Ok(false);
                };
                let size = old_size - range.len();
                (range, None, count.saturating_sub(1), size)
            }
        };
        if new_count == 0 || new_count > NODE_ENTRIES_MAX || new_size > node_cap(tree) {
            return Ok(false);
        }
        self.part_write(
            db,
            part_key,
            Header::node_part(leaf),
            None,
            new_size,
            log,
            |old, out| {
                out.push(old.get(..cut.start).unwrap_or_default());
                if let Some((score, member)) = insert {
                    crate::store::zset::push_entry(out, member, score);
                }
                out.push(old.get(cut.end..).unwrap_or_default());
            },
        )?;
        Ok(true)
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
        if self.leaf_write_in_place(db, key, part_key, tree, leaf, edit, log)? {
            return Ok(Up::Delta(delta));
        }
        let (count, total, split) = {
            let old = self.node_bytes(db, key, leaf);
            let sizes = LeafEdited::new(old, edit).map(|(_, member)| entry_size(member.len()));
            measure(sizes, node_cap(tree))
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
                crate::store::zset::push_entry(out, member, score);
            }
        };
        let Some(middle) = split else {
            self.part_write(
                db,
                part_key,
                Header::node_part(leaf),
                None,
                total,
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
        if let Up::Delta(change) = up {
            // Only the child's count changes: the node is its old bytes with those 8 new.
            let (field, count) = {
                let mut entries = InnerEntries::new(self.node_bytes(db, key, node));
                for _ in 0..at {
                    entries.next().ok_or(StoreError::CollectionInvalid)?;
                }
                let start = entries.offset;
                let entry = entries.next().ok_or(StoreError::CollectionInvalid)?;
                (start + 4, entry.count.saturating_add_signed(change))
            };
            let size = self.node_bytes(db, key, node).len();
            self.part_write(
                db,
                part_key,
                Header::node_part(node),
                None,
                size,
                log,
                |old, out| {
                    out.push(old.get(..field).unwrap_or_default());
                    out.push(&count.to_le_bytes());
                    out.push(old.get(field + 8..).unwrap_or_default());
                },
            )?;
            return Ok(Up::Delta(delta));
        }
        let (extra, right_child) = match up {
            Up::Split { right, .. } => (self.node_range(db, key, right), Some(right)),
            _ => (0..0, None),
        };
        let (count, total, split, counts) = {
            let extra = right_child.map_or(&[][..], |right| self.node_bytes(db, key, right));
            let edit = inner_edit(up, at, extra).ok_or(StoreError::CollectionInvalid)?;
            let entries = InnerEdited::new(self.node_bytes(db, key, node), edit);
            let sizes = entries
                .clone()
                .map(|entry| inner_entry_size(entry.member.len()));
            let (count, total, split) = measure(sizes, node_cap(tree));
            // The entries under each half, counted only for a split.
            let counts = split.map_or((0, 0), |middle| {
                let (mut left, mut right) = (0u64, 0u64);
                for (index, entry) in entries.enumerate() {
                    if index < middle {
                        left += entry.count;
                    } else {
                        right += entry.count;
                    }
                }
                (left, right)
            });
            (count, total, split, counts)
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
            self.part_write_with(
                db,
                part_key,
                Header::node_part(node),
                None,
                extra,
                total,
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
    pub(super) fn tree_insert(
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
    pub(super) fn tree_remove(
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
}
