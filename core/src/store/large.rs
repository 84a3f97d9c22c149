//! Large collections: a collection past its type's compact thresholds is split into
//! **parts**, each an ordinary item of kind [`ItemKind::Part`] holding some of its
//! elements in the compact encoding, so that a write to one element rewrites one part
//! (a bounded number of elements), never the whole collection.
//!
//! - **The key item** holds a fixed-size [`Header`] instead of the elements: the compact
//!   type of its parts, the element count, the part count and a hash seed.
//! - **A part's key** is the owner's key followed by the part's number (4 bytes,
//!   little-endian), in the owner's database. Lookups of keys never see parts and lookups of
//!   parts see nothing else (`Store::find_hashed`), so user keys cannot collide with them.
//!   Because a part is named by its owner's key, it lives in the owner's shard
//!   ([`Record::route_key`](crate::codec::record::Record::route_key)), and RENAME, COPY
//!   and MOVE write the parts again under the new name.
//! - **Which part holds an element** (hashes and sets): linear hashing (Litwin) on the
//!   element's hash with the collection's seed. The collection grows one part at a time
//!   while it averages more than [`PART_ELEMENTS_TARGET`] elements a part: the next part
//!   in order splits into itself and one new part (`Store::large_grow`). A split moves
//!   elements only to a higher-numbered part, and parts never merge, so a cursor that
//!   walks parts in order (HSCAN, SSCAN) sees every element present for the whole scan.
//! - **A write of many elements** goes in steps of [`STEP_ELEMENTS_MAX`] ([`in_steps`]),
//!   and makes room for the parts it rewrites before it changes anything
//!   (`Store::header_room`, which also refuses a write whose room-making evicted the
//!   collection itself).
//! - **Everything else comes free**: parts are items, so the log (one physical,
//!   idempotent `Set` record per changed part, with the header's, in one group),
//!   snapshots, recovery, replication and cleaning treat them as they treat any item.
//!   A part has no expiry of its own; eviction of a part evicts its owner whole, by the
//!   owner's policy state (`reclaim.rs`); removing the owner (DEL, expiry, eviction, an
//!   overwrite by another value) removes its parts, except that replay keeps the parts
//!   of a key it finds expired for a later record of it, and recovery then collects what
//!   nothing claimed ([`Store::parts_collect`]).
//!
//! Hashes (`hash/large.rs`), sets (`set/large.rs`), lists (`list/large.rs`) and sorted
//! sets (`zset/large.rs`) have a large form. A list's parts are not found by hashing but linked: each node names
//! its neighbours, and the header names the head, the tail, the next number to try for a
//! new node and the bound of the numbers in use (see [`Chain`]); what visits every part
//! (removal, transfers, MEMORY USAGE) visits the numbers below [`Header::part_bound`].
//! A sorted set's parts are its member index (hashed, as a hash's parts, on the even
//! numbers) and the nodes of a counted B+ tree ordered by score (on the odd numbers; see
//! [`Tree`] and `zset/large.rs`).

use core::ops::Range;

use super::compact::Out;
use super::{Found, LogSink, Lookup, Store};
use crate::error::StoreError;
use crate::hash::wyhash;
use crate::storage::item::{self, ItemKind, PART_NUMBER_SIZE};
use crate::time::Timestamp;

/// Writes the part `keep` of a split to `grown`'s part count from the bytes of the part
/// that splits (a hash's or a set's, each keeping the elements whose address is `keep`).
pub(super) type SplitCompose = fn(&[u8], Header, u32, &mut Out<'_>);

/// The type byte of a large hash's header (its parts are compact hashes).
pub const TYPE_LARGE_HASH: u8 = b'H';

/// The type byte of a large set's header (its parts are compact sets).
pub const TYPE_LARGE_SET: u8 = b'S';

/// The type byte of a large list's header (its parts are list nodes, `list/large.rs`).
pub const TYPE_LARGE_LIST: u8 = b'L';

/// Bytes of a hash's or a set's header: type byte, element count (`u64` LE), part count
/// (`u32` LE), seed (`u64` LE).
pub const HEADER_SIZE: usize = 1 + 8 + 4 + 8;

/// Bytes of a list's header: type byte, element count (`u64` LE), node count (`u32` LE),
/// seed (`u64` LE: drawn when the list takes the large form, it tells this list from a
/// later one under the same key), then the head node's number, the tail node's, the
/// next number to try for a new node and the bound of the numbers in use (`u32` LE each).
pub const LIST_HEADER_SIZE: usize = 1 + 8 + 4 + 8 + 4 + 4 + 4 + 4;

/// The type byte of a large sorted set's header (its parts are the member index's compact
/// hashes and the nodes of its tree, `zset/large.rs`).
pub const TYPE_LARGE_ZSET: u8 = b'Z';

/// Bytes of a sorted set's header: a hash's (its member index), then its [`Tree`]: the
/// root's node number, the height, the node count, the next number to try for a new
/// node, the bound of the numbers in use, the longest member ever added and the node
/// byte cap (`u32` LE each).
pub const ZSET_HEADER_SIZE: usize = HEADER_SIZE + 7 * 4;

/// Bytes of the largest header.
pub const HEADER_SIZE_MAX: usize = ZSET_HEADER_SIZE;

/// The most levels a sorted set's tree may have (a root split past it is refused).
pub const TREE_HEIGHT_MAX: u32 = 32;

/// The longest key a large collection may have: its parts' keys are built on the stack.
/// A collection under a longer key keeps the compact form (up to the item size limit).
pub const LARGE_KEY_SIZE_MAX: usize = 1024;

/// Elements a part holds on average before the collection grows by a part: a write
/// rewrites about this many elements.
pub const PART_ELEMENTS_TARGET: u64 = 16;

/// The links of a large list's chain of nodes (zero for a hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Chain {
    /// The head node's number.
    pub head: u32,
    /// The tail node's number.
    pub tail: u32,
    /// The next number to try for a new node.
    pub next: u32,
    /// Every node's number is below this: removals, transfers and MEMORY USAGE visit
    /// the numbers below it, so they find every node even of a broken chain (a replay
    /// that dropped its owner halfway). New nodes take numbers below twice the node
    /// count (`list/large.rs`), so it stays within twice the list's largest node count.
    pub end: u32,
}

/// The tree of a large sorted set (zero for other types): its nodes are numbered apart
/// from the member index's parts (see [`Header::node_part`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tree {
    /// The root node's number.
    pub root: u32,
    /// Levels above the leaves (0: the root is a leaf).
    pub height: u32,
    /// Nodes in the tree.
    pub nodes: u32,
    /// The next node number to try for a new node.
    pub next: u32,
    /// Every node's number is below this (new nodes take numbers below twice the node
    /// count, as a list's do).
    pub end: u32,
    /// The longest member ever added: with `node_bytes` it bounds every node's size
    /// (`zset/large.rs`).
    pub member_max: u32,
    /// The bytes a node holds before it splits (when its members are short), set when the
    /// set takes the large form from the store's item size limit, so that a store with
    /// small items still can; kept, so a restart with other limits sees the same bound.
    pub node_bytes: u32,
}

/// The header of a large collection: the value of its key item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The header's type byte ([`TYPE_LARGE_HASH`], [`TYPE_LARGE_SET`] or
    /// [`TYPE_LARGE_LIST`]).
    pub type_byte: u8,
    /// Elements in the collection (never zero for a stored one).
    pub len: u64,
    /// Parts (at least one): numbered from 0 for a hash; a list's nodes, in its chain.
    pub part_count: u32,
    /// Seed of the element hash that picks a part (a hash's); drawn at random for a list.
    /// Either way it tells this collection from a later one under the same key.
    pub seed: u64,
    /// A list's chain (zero for other types).
    pub chain: Chain,
    /// A sorted set's tree (zero for other types).
    pub tree: Tree,
}

/// A header's bytes (as many as its type has).
#[derive(Debug, Clone, Copy)]
pub struct HeaderBytes {
    bytes: [u8; HEADER_SIZE_MAX],
    size: usize,
}

impl core::ops::Deref for HeaderBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes[..self.size]
    }
}

impl Header {
    /// The header in `value`, if `value` is a well-formed one (its type byte says which
    /// layout it has).
    #[must_use]
    pub fn read(value: &[u8]) -> Option<Self> {
        let u32_at = |at: usize| -> Option<u32> {
            Some(u32::from_le_bytes(value.get(at..at + 4)?.try_into().ok()?))
        };
        let u64_at = |at: usize| -> Option<u64> {
            Some(u64::from_le_bytes(value.get(at..at + 8)?.try_into().ok()?))
        };
        let header = match value.first() {
            Some(&type_byte @ (TYPE_LARGE_HASH | TYPE_LARGE_SET)) if value.len() == HEADER_SIZE => {
                Self {
                    type_byte,
                    len: u64_at(1)?,
                    part_count: u32_at(9)?,
                    seed: u64_at(13)?,
                    chain: Chain::default(),
                    tree: Tree::default(),
                }
            }
            Some(&TYPE_LARGE_ZSET) if value.len() == ZSET_HEADER_SIZE => {
                let tree = Tree {
                    root: u32_at(21)?,
                    height: u32_at(25)?,
                    nodes: u32_at(29)?,
                    next: u32_at(33)?,
                    end: u32_at(37)?,
                    member_max: u32_at(41)?,
                    node_bytes: u32_at(45)?,
                };
                if tree.root >= tree.end
                    || tree.node_bytes == 0
                    || tree.nodes == 0
                    || tree.nodes > tree.end
                    || tree.end > u32::MAX / 2
                    || tree.height >= TREE_HEIGHT_MAX
                {
                    return None;
                }
                Self {
                    type_byte: TYPE_LARGE_ZSET,
                    len: u64_at(1)?,
                    part_count: u32_at(9)?,
                    seed: u64_at(13)?,
                    chain: Chain::default(),
                    tree,
                }
            }
            Some(&TYPE_LARGE_LIST) if value.len() == LIST_HEADER_SIZE => {
                let chain = Chain {
                    head: u32_at(21)?,
                    tail: u32_at(25)?,
                    next: u32_at(29)?,
                    end: u32_at(33)?,
                };
                if chain.head >= chain.end
                    || chain.tail >= chain.end
                    || chain.end == crate::store::list::NODE_NONE
                {
                    return None;
                }
                Self {
                    type_byte: TYPE_LARGE_LIST,
                    len: u64_at(1)?,
                    part_count: u32_at(9)?,
                    seed: u64_at(13)?,
                    chain,
                    tree: Tree::default(),
                }
            }
            _ => return None,
        };
        let valid = header.len > 0
            && header.part_count > 0
            && (!header.is_zset() || header.part_count <= u32::MAX / 2)
            && (header.type_byte != TYPE_LARGE_LIST
                || (u64::from(header.part_count) <= header.len
                    && header.part_count <= header.chain.end));
        valid.then_some(header)
    }

    /// Bytes of the header.
    #[must_use]
    pub const fn size(&self) -> usize {
        match self.type_byte {
            TYPE_LARGE_LIST => LIST_HEADER_SIZE,
            TYPE_LARGE_ZSET => ZSET_HEADER_SIZE,
            _ => HEADER_SIZE,
        }
    }

    /// Whether it is a list's header.
    #[must_use]
    pub const fn is_list(&self) -> bool {
        self.type_byte == TYPE_LARGE_LIST
    }

    /// Whether it is a sorted set's header.
    #[must_use]
    pub const fn is_zset(&self) -> bool {
        self.type_byte == TYPE_LARGE_ZSET
    }

    /// The header's bytes.
    #[must_use]
    pub fn bytes(&self) -> HeaderBytes {
        let mut bytes = [0u8; HEADER_SIZE_MAX];
        bytes[0] = self.type_byte;
        bytes[1..9].copy_from_slice(&self.len.to_le_bytes());
        bytes[9..13].copy_from_slice(&self.part_count.to_le_bytes());
        bytes[13..21].copy_from_slice(&self.seed.to_le_bytes());
        if self.is_list() {
            bytes[21..25].copy_from_slice(&self.chain.head.to_le_bytes());
            bytes[25..29].copy_from_slice(&self.chain.tail.to_le_bytes());
            bytes[29..33].copy_from_slice(&self.chain.next.to_le_bytes());
            bytes[33..37].copy_from_slice(&self.chain.end.to_le_bytes());
        }
        if self.is_zset() {
            let tree = self.tree;
            let fields = [
                tree.root,
                tree.height,
                tree.nodes,
                tree.next,
                tree.end,
                tree.member_max,
                tree.node_bytes,
            ];
            for (slot, field) in bytes[21..ZSET_HEADER_SIZE].chunks_exact_mut(4).zip(fields) {
                slot.copy_from_slice(&field.to_le_bytes());
            }
        }
        HeaderBytes {
            bytes,
            size: self.size(),
        }
    }

    /// The number of the part that holds `element` (a hash's or a set's, a sorted set's
    /// member index's).
    #[must_use]
    pub fn part_of(&self, element: &[u8]) -> u32 {
        self.index_part(address(wyhash(element, self.seed), self.part_count))
    }

    /// The part number of the `index`th part found by hashing: `index` itself, but a
    /// sorted set's index parts take the even numbers and its tree nodes the odd ones.
    #[must_use]
    pub const fn index_part(&self, index: u32) -> u32 {
        if self.is_zset() { 2 * index } else { index }
    }

    /// The part number of a sorted set's tree node `node`.
    #[must_use]
    pub const fn node_part(node: u32) -> u32 {
        2 * node + 1
    }

    /// Whether the collection should grow by a part (a hash's).
    #[must_use]
    pub fn wants_split(&self) -> bool {
        self.len > PART_ELEMENTS_TARGET * u64::from(self.part_count)
    }

    /// The number of the part that splits when the collection grows from `part_count`
    /// parts (a hash's): the new part [`Header::split_target`] takes some of its elements.
    #[must_use]
    pub fn split_source(&self) -> u32 {
        self.index_part(self.part_count - low_power(self.part_count))
    }

    /// The number of the part a split creates.
    #[must_use]
    pub const fn split_target(&self) -> u32 {
        self.index_part(self.part_count)
    }

    /// Every part's number is below this: a hash's part count, a list's number bound, a
    /// sorted set's index parts' and tree nodes' numbers both.
    #[must_use]
    pub const fn part_bound(&self) -> u32 {
        match self.type_byte {
            TYPE_LARGE_LIST => self.chain.end,
            TYPE_LARGE_ZSET => {
                let index = 2 * self.part_count;
                let nodes = 2 * self.tree.end;
                if index > nodes { index } else { nodes }
            }
            _ => self.part_count,
        }
    }

    /// Whether part `number` belongs to the collection as its header describes it.
    #[must_use]
    pub const fn owns(&self, number: u32) -> bool {
        match self.type_byte {
            TYPE_LARGE_ZSET if number.is_multiple_of(2) => number / 2 < self.part_count,
            TYPE_LARGE_ZSET => number / 2 < self.tree.end,
            _ => number < self.part_bound(),
        }
    }
}

/// The highest power of two at most `count` (which is not zero).
fn low_power(count: u32) -> u32 {
    1 << (31 - count.leading_zeros())
}

/// Linear hashing's address of `hash` among `count` parts: the low bits of the hash, one
/// bit fewer for the parts not yet split in this round.
#[must_use]
pub fn address(hash: u64, count: u32) -> u32 {
    let low = u64::from(low_power(count));
    let wide = hash & (2 * low - 1);
    // NOTE: below 2 * low, which is at most 2^32; below count after the subtraction.
    #[expect(clippy::cast_possible_truncation, reason = "below count")]
    let part = if wide < u64::from(count) {
        wide as u32
    } else {
        (wide - low) as u32
    };
    part
}

/// Elements one step of a large write takes (see [`in_steps`]).
pub const STEP_ELEMENTS_MAX: usize = 64;

/// Runs `step` over `items` (a command's fields or members) [`STEP_ELEMENTS_MAX`] at a
/// time and returns the sum of what the steps return, stopping at the first error. Each
/// step's elements are copied to the stack first (references: a few bytes each), so
/// within a step, finding each element's part and whether it repeats costs O(step) reads
/// of an array: a command of k elements costs O(k) part lookups instead of O(k²) hashes
/// and argument reads. An element repeated in a later step finds the earlier step's
/// result, as one pass would.
///
/// # Errors
/// The first step's error.
pub fn in_steps<I>(
    items: I,
    mut step: impl FnMut(
        core::iter::Copied<core::slice::Iter<'_, I::Item>>,
    ) -> Result<usize, StoreError>,
) -> Result<usize, StoreError>
where
    I: Iterator,
    I::Item: Copy + Default,
{
    let mut items = items.peekable();
    let mut sum = 0;
    while items.peek().is_some() {
        let mut buffer = [I::Item::default(); STEP_ELEMENTS_MAX];
        let mut count = 0;
        for (slot, item) in buffer.iter_mut().zip(&mut items) {
            *slot = item;
            count += 1;
        }
        sum += step(buffer[..count].iter().copied())?;
    }
    Ok(sum)
}

/// Whether `value` is a well-formed part: a compact value of a type with a large form,
/// which may have no element (a part emptied by deletes stays until its owner goes).
#[must_use]
pub fn part_is_valid(value: &[u8]) -> bool {
    value == [super::compact::TYPE_HASH]
        || value == [super::compact::TYPE_SET]
        || super::hash::is_valid(value)
        || super::set::is_valid(value)
        || super::list::node_is_valid(value)
        || super::zset::node_is_valid(value)
}

/// A part's key: the owner's key and the part's number, built on the stack.
#[derive(Clone)]
pub struct PartKey {
    bytes: [u8; LARGE_KEY_SIZE_MAX + PART_NUMBER_SIZE],
    owner_size: usize,
}

impl core::fmt::Debug for PartKey {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter
            .debug_struct("PartKey")
            .field("owner", &self.owner())
            .finish()
    }
}

impl PartKey {
    /// The key of part 0 of the collection at `owner`; `None` if the key is longer than
    /// [`LARGE_KEY_SIZE_MAX`].
    #[must_use]
    pub fn new(owner: &[u8]) -> Option<Self> {
        if owner.len() > LARGE_KEY_SIZE_MAX {
            return None;
        }
        let mut bytes = [0u8; LARGE_KEY_SIZE_MAX + PART_NUMBER_SIZE];
        bytes[..owner.len()].copy_from_slice(owner);
        Some(Self {
            bytes,
            owner_size: owner.len(),
        })
    }

    /// The key of part `number`.
    pub fn of(&mut self, number: u32) -> &[u8] {
        let end = self.owner_size + PART_NUMBER_SIZE;
        self.bytes[self.owner_size..end].copy_from_slice(&number.to_le_bytes());
        &self.bytes[..end]
    }

    /// The owner's key.
    #[must_use]
    pub fn owner(&self) -> &[u8] {
        &self.bytes[..self.owner_size]
    }
}

/// A large hash or set read in place: its header, and where its parts are read from.
/// [`crate::store::hash::LargeHash`] and [`crate::store::set::LargeSet`] read their
/// parts through it.
#[derive(Clone, Copy)]
pub struct LargeRef<'s> {
    parts: &'s dyn PartSource,
    db: u8,
    owner: &'s [u8],
    header: Header,
}

impl core::fmt::Debug for LargeRef<'_> {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter
            .debug_struct("LargeRef")
            .field("owner", &self.owner)
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

/// Tries of a random pick (HRANDFIELD, SRANDMEMBER, SPOP) to find a part that is not
/// empty before it walks to the next one that is.
const RANDOM_PART_TRIES: usize = 8;

impl<'s> LargeRef<'s> {
    /// The collection at `owner` in `db` whose header is `header`, its parts read from
    /// `parts`.
    #[must_use]
    pub fn new(parts: &'s dyn PartSource, db: u8, owner: &'s [u8], header: Header) -> Self {
        Self {
            parts,
            db,
            owner,
            header,
        }
    }

    /// The header.
    #[must_use]
    pub const fn header(&self) -> Header {
        self.header
    }

    /// Number of elements.
    #[must_use]
    pub fn len(&self) -> usize {
        usize::try_from(self.header.len).unwrap_or(usize::MAX)
    }

    /// Whether it has no element (never true of a stored collection).
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.header.len == 0
    }

    /// The bytes of part `number` (empty if it is missing, which a stored collection
    /// never has).
    #[must_use]
    pub fn part_bytes(&self, number: u32) -> &'s [u8] {
        PartKey::new(self.owner)
            .and_then(|mut key| self.parts.part(self.db, key.of(number)))
            .unwrap_or_default()
    }

    /// Where an element picked at random lies: a random non-empty part (`count_of` says
    /// how many elements a part's bytes hold), and a random index in it. Uniform when the
    /// parts are equally full; an element of a sparse part is likelier.
    pub(super) fn random_place(
        &self,
        random: &mut super::compact::RandomCopy,
        count_of: impl Fn(&[u8]) -> usize,
    ) -> Option<(u32, usize)> {
        let count = self.header.part_count as usize;
        let mut number = random.below(count);
        for attempt in 0..count.max(RANDOM_PART_TRIES) {
            let part_number = u32::try_from(number).unwrap_or(0);
            let bytes = self.part_bytes(part_number);
            let length = if bytes.is_empty() { 0 } else { count_of(bytes) };
            if length > 0 {
                return Some((part_number, random.below(length)));
            }
            number = if attempt < RANDOM_PART_TRIES {
                random.below(count)
            } else {
                (number + 1) % count
            };
        }
        None
    }
}

/// What a reader of a large collection needs from the store: a part's value by its key.
pub trait PartSource {
    /// The value of the part at `key` in `db`, if it exists.
    fn part(&self, db: u8, key: &[u8]) -> Option<&[u8]>;
}

impl PartSource for Store<'_> {
    fn part(&self, db: u8, key: &[u8]) -> Option<&[u8]> {
        self.find_part(db, key).map(|found| self.value_of(&found))
    }
}

/// The numbers of the parts one large collection has ([`Store::part_walk`]).
pub(super) struct PartWalk<'s, 'a> {
    key: Option<PartKey>,
    store: &'s Store<'a>,
    db: u8,
    next: u32,
    bound: u32,
}

impl Iterator for PartWalk<'_, '_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let key = self.key.as_mut()?;
        while self.next < self.bound {
            let number = self.next;
            self.next += 1;
            if self.store.find_part(self.db, key.of(number)).is_some() {
                return Some(number);
            }
        }
        None
    }
}

/// The parts of one large collection, named for removal.
#[derive(Debug, Clone)]
pub(super) struct Parts {
    db: u8,
    key: PartKey,
    header: Header,
}

impl Store<'_> {
    /// The part at `key` (an owner's key and a part number), if it exists.
    pub(super) fn find_part(&self, db: u8, key: &[u8]) -> Option<Found> {
        self.find_hashed(db, key, self.hash(key), true)
    }

    /// A lookup of the part at `key` for a write.
    pub(super) fn part_lookup(&self, db: u8, key: &[u8]) -> Lookup {
        let hash = self.hash(key);
        Lookup {
            hash,
            found: self.find_hashed(db, key, hash, true),
            epoch: self.epoch,
            part: true,
        }
    }

    /// The header of the key item `found`, if it is a large collection's.
    pub(super) fn header_of(&self, found: &Found) -> Option<Header> {
        if found.layout.kind != ItemKind::Compact {
            return None;
        }
        Header::read(self.value_of(found))
    }

    /// The parts of the key item `found`, if it is a large collection's.
    pub(super) fn parts_of(&self, found: &Found) -> Option<Parts> {
        let header = self.header_of(found)?;
        let key = &self.segments.bytes(found.location)[found.layout.key.clone()];
        Some(Parts {
            db: found.layout.db,
            key: PartKey::new(key)?,
            header,
        })
    }

    /// Removes every part of a collection whose key item is gone or being replaced.
    pub(super) fn parts_remove(&mut self, parts: &Parts) {
        let mut key = parts.key.clone();
        for number in 0..parts.header.part_bound() {
            if let Some(found) = self.find_part(parts.db, key.of(number)) {
                self.remove_item(&found);
            }
        }
    }

    /// The bytes of part `number` of the large collection at `key` (empty if missing).
    pub(super) fn part_bytes(&self, db: u8, key: &[u8], number: u32) -> &[u8] {
        let Some(mut part_key) = PartKey::new(key) else {
            return &[];
        };
        self.find_part(db, part_key.of(number))
            .map_or(&[], |found| self.value_of(&found))
    }

    /// Where the value of part `number` of the collection at `key` lies in segment memory
    /// (empty if the part is missing).
    pub(super) fn part_range(&self, db: u8, key: &[u8], number: u32) -> Range<usize> {
        let Some(mut part_key) = PartKey::new(key) else {
            return 0..0;
        };
        self.find_part(db, part_key.of(number))
            .map_or(0..0, |found| {
                found.location + found.layout.value.start..found.location + found.layout.value.end
            })
    }

    /// Makes room for part items of `sizes` (of which `new_keys` are new keys) and the
    /// header of the collection at `key`, then checks the collection is still there.
    pub(super) fn header_room(
        &mut self,
        db: u8,
        key: &[u8],
        sizes: impl Iterator<Item = usize> + Clone,
        new_keys: usize,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        self.header_room_writes(db, key, sizes, 1, new_keys, now, log)
    }

    /// [`Store::header_room`] for a write that rewrites the header `header_writes` times
    /// (a sorted set's command of several members writes it once per member).
    #[expect(clippy::too_many_arguments, reason = "header_room and a count")]
    pub(super) fn header_room_writes(
        &mut self,
        db: u8,
        key: &[u8],
        sizes: impl Iterator<Item = usize> + Clone,
        header_writes: usize,
        new_keys: usize,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        let found = self.find_live(db, key, now);
        let expires_at = found.as_ref().map_or(0, |found| found.layout.expires_at);
        let header_size = item::item_size(key.len(), HEADER_SIZE_MAX, expires_at);
        let epoch = self.epoch;
        self.ensure_room(
            sizes.chain(core::iter::repeat_n(header_size, header_writes)),
            new_keys,
            now,
            log,
        )?;
        // Every removal moves the epoch: unchanged, nothing was evicted.
        if found.is_some() && self.epoch != epoch && self.find_live(db, key, now).is_none() {
            // Making room evicted the collection itself (the sizes were worked out from
            // its parts): memory cannot hold its new version.
            return Err(StoreError::OutOfMemory);
        }
        Ok(())
    }

    /// Writes part `number` as `size` bytes that `compose(old, out)` makes from the bytes
    /// at `source` in segment memory, or from the part's own old bytes. Room was made.
    #[expect(
        clippy::too_many_arguments,
        reason = "a part, its source and its composer"
    )]
    pub(super) fn part_write(
        &mut self,
        db: u8,
        part_key: &mut PartKey,
        number: u32,
        source: Option<Range<usize>>,
        size: usize,
        log: &mut impl LogSink,
        compose: impl FnOnce(&[u8], &mut Out<'_>),
    ) -> Result<(), StoreError> {
        self.part_write_with(
            db,
            part_key,
            number,
            source,
            0..0,
            size,
            log,
            |old, _, out| compose(old, out),
        )
    }

    /// [`Store::part_write`] with a second range of segment memory, `extra`, that
    /// `compose(old, extra, out)` reads too (an element moved within this store).
    #[expect(
        clippy::too_many_arguments,
        reason = "a part, its sources and its composer"
    )]
    pub(super) fn part_write_with(
        &mut self,
        db: u8,
        part_key: &mut PartKey,
        number: u32,
        source: Option<Range<usize>>,
        extra: Range<usize>,
        size: usize,
        log: &mut impl LogSink,
        compose: impl FnOnce(&[u8], &[u8], &mut Out<'_>),
    ) -> Result<(), StoreError> {
        let key = part_key.of(number);
        let lookup = self.part_lookup(db, key);
        self.put_found(
            db,
            key,
            lookup.hash,
            lookup.found,
            ItemKind::Part,
            size,
            0,
            log,
            |memory, old, start| {
                let source = source.unwrap_or(old);
                // The new item lies in space no live item uses: both sources are wholly
                // before it or wholly after it.
                let (before, rest) = memory.split_at_mut(start);
                let (target, after) = rest.split_at_mut(size);
                let (before, after): (&[u8], &[u8]) = (before, after);
                let read = |range: Range<usize>| -> &[u8] {
                    if range.is_empty() {
                        &[]
                    } else if range.end <= start {
                        &before[range]
                    } else {
                        &after[range.start - start - size..range.end - start - size]
                    }
                };
                let mut out = Out {
                    target: Some(target),
                    size: 0,
                };
                compose(read(source), read(extra), &mut out);
                assert!(out.size == size, "part size {size} != written {}", out.size);
            },
        )
    }

    /// Removes the part at `key` (a list's node a write emptied) and logs it: a `Set` of
    /// the part with no value, which replay reads as the part's removal (no part is
    /// ever empty).
    pub(super) fn part_remove_logged(&mut self, db: u8, key: &[u8], log: &mut impl LogSink) {
        if let Some(found) = self.find_part(db, key) {
            self.remove_item(&found);
        }
        log.record(crate::codec::record::Record::Set {
            db,
            key,
            value: &[],
            expires_at: 0,
            value_kind: ItemKind::Part,
        });
    }

    /// Writes part `number` with the value `bytes` (read in another store). Room was made.
    pub(super) fn part_copy(
        &mut self,
        db: u8,
        part_key: &mut PartKey,
        number: u32,
        bytes: &[u8],
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        let key = part_key.of(number);
        let lookup = self.part_lookup(db, key);
        let size = bytes.len();
        self.put_found(
            db,
            key,
            lookup.hash,
            lookup.found,
            ItemKind::Part,
            size,
            0,
            log,
            |memory, _, start| memory[start..start + size].copy_from_slice(bytes),
        )
    }

    /// Writes the header of the large collection at `key` expiring at `expires_at`
    /// (`None`: keep the key's). Room was made.
    pub(super) fn header_write(
        &mut self,
        db: u8,
        key: &[u8],
        header: Header,
        expires_at: Option<Timestamp>,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        let lookup = self.lookup(db, key, now);
        let kept = lookup
            .found
            .as_ref()
            .map_or(0, |found| found.layout.expires_at);
        let expires_at = expires_at.unwrap_or(kept);
        let bytes = header.bytes();
        let size = bytes.len();
        self.put_found(
            db,
            key,
            lookup.hash,
            lookup.found,
            ItemKind::Compact,
            size,
            expires_at,
            log,
            |memory, _, start| memory[start..start + size].copy_from_slice(&bytes),
        )
    }

    /// Removes the parts no live collection owns, and returns how many: those of owners
    /// that are gone or expired, and those past their owner's part bound. Recovery calls
    /// this once it has replayed everything: replay keeps the parts of a header that came
    /// back expired until a later record claims them or another collection takes the key
    /// (`keyspace.rs`), and leaves those of a key it removed for its expiry
    /// (`Store::remove_expired`).
    /// One pass over the table.
    pub fn parts_collect(&mut self, now: Timestamp) -> usize {
        let mut removed_count = 0;
        let mut slot_index = 0;
        while slot_index < self.table.slot_count() {
            if self.table.occupied(slot_index) {
                let location = self.table.location(slot_index);
                let bytes = self.segments.bytes(location);
                let layout = item::layout(bytes);
                if layout.kind == ItemKind::Part {
                    let key = &bytes[layout.key.clone()];
                    let number = key
                        .get(key.len().saturating_sub(PART_NUMBER_SIZE)..)
                        .and_then(|bytes| bytes.try_into().ok())
                        .map_or(u32::MAX, u32::from_le_bytes);
                    let owned = self
                        .find(layout.db, item::part_owner(key))
                        .filter(|owner| !super::expired(owner.layout.expires_at, now))
                        .and_then(|owner| self.header_of(&owner))
                        .is_some_and(|header| header.owns(number));
                    if !owned {
                        let found = Found {
                            slot_index,
                            location,
                            layout,
                        };
                        self.remove_item(&found);
                        removed_count += 1;
                        continue; // A later entry may have shifted into this slot.
                    }
                }
            }
            slot_index += 1;
        }
        removed_count
    }

    /// The compact value at `key` that a conversion reads (empty for a new collection).
    pub(super) fn compact_old_value(&self, db: u8, key: &[u8], existed: bool) -> &[u8] {
        match self.find(db, key) {
            Some(found) if existed => self.value_of(&found),
            _ => &[],
        }
    }

    /// Where [`Store::compact_old_value`] lies in segment memory.
    pub(super) fn compact_old_range(&self, db: u8, key: &[u8], existed: bool) -> Range<usize> {
        match self.find(db, key) {
            Some(found) if existed => {
                found.location + found.layout.value.start..found.location + found.layout.value.end
            }
            _ => 0..0,
        }
    }

    /// Bytes the parts of the key item `found` take (items, table slots and tags), for
    /// MEMORY USAGE; 0 for any other item.
    pub(super) fn parts_memory_size(&self, found: &Found) -> usize {
        let Some(parts) = self.parts_of(found) else {
            return 0;
        };
        let mut key = parts.key.clone();
        self.part_walk(parts.db, parts.key.owner(), &parts.header)
            .filter_map(|number| self.find_part(parts.db, key.of(number)))
            .map(|part| {
                part.layout.size() + crate::constants::SLOT_SIZE + crate::constants::TAG_SIZE
            })
            .sum()
    }
}

impl<'a> Store<'a> {
    /// The numbers of the parts the collection at `key` whose header is `header` has, in
    /// order (empty if the key is too long to have parts).
    pub(super) fn part_walk<'s>(&'s self, db: u8, key: &[u8], header: &Header) -> PartWalk<'s, 'a> {
        PartWalk {
            key: PartKey::new(key),
            store: self,
            db,
            next: 0,
            bound: header.part_bound(),
        }
    }
}

mod grow;
mod sizes;
mod split_memory;

pub(super) use sizes::SizeList;
pub(super) use split_memory::SplitMemory;

#[cfg(test)]
mod tests;
