//! Large lists (Redis's quicklist): a header item and a chain of **nodes**, each a part
//! (`store/large.rs`) holding a run of the list's elements in the compact encoding after
//! a small header of its own:
//!
//! ```text
//! +-----+----------+----------+----------+-----------+-------------+---------+-----
//! | 'n' | seed u64 | prev u32 | next u32 | count u32 | varint size | element | ...
//! +-----+----------+----------+----------+-----------+-------------+---------+-----
//! ```
//!
//! `seed` is its list's (drawn when the list takes the large form: replay tells a node of
//! an expired list from one of a new list under the same key by it), `prev` and `next`
//! the neighbours' part numbers ([`NODE_NONE`] at the ends), `count` its elements (never
//! zero). The list's header names the head node, the tail node, the
//! node count and the next number to try for a new node (`large::Chain`).
//!
//! A node holds at most `list-max-listpack-size` ([`NodeLimit`]), or one element if that
//! one is larger. Pushes and pops touch the end node only: a full end node gets a new
//! node beside it, an emptied one is unlinked and removed. The other writes (LSET,
//! LINSERT, LREM, LTRIM) go through one walk over a window of nodes ([`Store::
//! list_rewrite_large`]) that rewrites only the nodes whose elements or links change,
//! splits a node that grows past the limit and removes the nodes it empties. Every node
//! write is a `Set` record of the part; a removed node is a `Set` of the part with no
//! value (`Store::part_remove_logged`); the header is written last, all in the
//! command's group.

use core::ops::Range;

use super::{End, ListView, Step, push_element};
use crate::codec::record::Record;
use crate::error::StoreError;
use crate::storage::item::{self, PART_NUMBER_SIZE, varint_size};
use crate::store::compact::Out;
use crate::store::large::{Chain, Header, PartKey, PartSource, SizeList, TYPE_LARGE_LIST};
use crate::store::{Config, LogSink, Store};
use crate::time::Timestamp;

/// The type byte of a large list's node.
pub const TYPE_NODE: u8 = b'n';

/// The link of an end node to the neighbour it does not have.
pub const NODE_NONE: u32 = u32::MAX;

/// Bytes of a node's header: type byte, seed, prev, next, count.
pub const NODE_HEADER_SIZE: usize = 1 + 8 + 4 + 4 + 4;

/// Redis's cap on a node of a count-limited list (`SIZE_SAFETY_LIMIT`).
const SIZE_SAFETY_LIMIT: usize = 8192;

/// Redis's cap on a positive `list-max-listpack-size` (`FILL_MAX`).
const FILL_MAX: usize = 1 << 15;

/// Nodes one node may become in a rewrite (an insert into a full node makes at most three).
const PIECES_MAX: usize = 4;

/// Elements a reverse walk of a node keeps offsets for at a time.
const REVERSE_BLOCK: usize = 256;

fn u32_at(value: &[u8], at: usize) -> u32 {
    value
        .get(at..at + 4)
        .and_then(|bytes| bytes.try_into().ok())
        .map_or(NODE_NONE, u32::from_le_bytes)
}

/// A node's previous node, if it has one.
#[must_use]
pub fn node_prev(value: &[u8]) -> Option<u32> {
    Some(u32_at(value, 9)).filter(|&number| number != NODE_NONE)
}

/// A node's next node, if it has one.
#[must_use]
pub fn node_next(value: &[u8]) -> Option<u32> {
    Some(u32_at(value, 13)).filter(|&number| number != NODE_NONE)
}

/// A node's list seed (0 for a malformed node).
#[must_use]
pub fn node_seed(value: &[u8]) -> u64 {
    value
        .get(1..9)
        .and_then(|bytes| bytes.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// A node's element count (0 for a missing or malformed one).
#[must_use]
pub fn node_count(value: &[u8]) -> usize {
    if value.len() < NODE_HEADER_SIZE {
        return 0;
    }
    u32_at(value, 17) as usize
}

/// The link of `end`'s side of a node.
pub(super) fn node_link(value: &[u8], end: End) -> u32 {
    match end {
        End::Head => u32_at(value, 9),
        End::Tail => u32_at(value, 13),
    }
}

/// Whether `value` is a well-formed node: its header, then as many elements as it says
/// (at least one) ending exactly at its end.
#[must_use]
pub fn node_is_valid(value: &[u8]) -> bool {
    if value.first() != Some(&TYPE_NODE) || value.len() < NODE_HEADER_SIZE {
        return false;
    }
    let mut elements = ListView::node(value).ranges();
    let mut count = 0usize;
    while elements.next().is_some() {
        count += 1;
    }
    count > 0 && count == node_count(value) && elements.offset == value.len()
}

/// Pushes a node's header.
pub(super) fn push_node_header(out: &mut Out<'_>, seed: u64, prev: u32, next: u32, count: usize) {
    out.push(&[TYPE_NODE]);
    out.push(&seed.to_le_bytes());
    out.push(&prev.to_le_bytes());
    out.push(&next.to_le_bytes());
    out.push(&u32::try_from(count).unwrap_or(u32::MAX).to_le_bytes());
}

/// How much one node holds (`list-max-listpack-size`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeLimit {
    /// Bytes of a node's value.
    pub bytes: usize,
    /// Elements of a node.
    pub count: usize,
}

impl NodeLimit {
    /// The limit `config` sets, as Redis's quicklist reads `list-max-listpack-size`: -1 to
    /// -5 (and below) for 4 to 64 KiB, a positive count (at most 32768) with nodes of at
    /// most 8 KiB; 0 holds one element a node. Never more than the item size limit.
    #[must_use]
    pub fn of(config: &Config) -> Self {
        let size = config.list_max_listpack_size;
        let (bytes, count) = if size < 0 {
            let shift = size.unsigned_abs().min(5) - 1;
            (4096usize << shift, usize::MAX)
        } else {
            let count = usize::try_from(size).unwrap_or(FILL_MAX).clamp(1, FILL_MAX);
            (SIZE_SAFETY_LIMIT, count)
        };
        Self {
            bytes: bytes.min(config.value_size_max as usize),
            count,
        }
    }

    /// Whether a node of `bytes` bytes and `count` elements is within the limit.
    #[must_use]
    pub fn fits(&self, bytes: usize, count: usize) -> bool {
        bytes <= self.bytes && count <= self.count
    }
}

/// A large list read in place: its header, and the store its nodes are read from.
#[derive(Clone, Copy)]
pub struct LargeList<'s> {
    parts: &'s dyn PartSource,
    db: u8,
    owner: &'s [u8],
    header: Header,
}

impl core::fmt::Debug for LargeList<'_> {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter
            .debug_struct("LargeList")
            .field("owner", &self.owner)
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl<'s> LargeList<'s> {
    pub(in crate::store) fn new(
        parts: &'s dyn PartSource,
        db: u8,
        owner: &'s [u8],
        header: Header,
    ) -> Self {
        Self {
            parts,
            db,
            owner,
            header,
        }
    }

    /// Number of elements (LLEN): O(1).
    #[must_use]
    pub fn len(&self) -> usize {
        usize::try_from(self.header.len).unwrap_or(usize::MAX)
    }

    /// Whether it has no element (never true of a stored list).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.header.len == 0
    }

    /// Number of nodes.
    #[must_use]
    pub fn node_count(&self) -> u32 {
        self.header.part_count
    }

    /// The header.
    #[must_use]
    pub fn header(&self) -> Header {
        self.header
    }

    /// The value of node `number` (empty if it is missing, which a stored list never has).
    #[must_use]
    pub fn node(&self, number: u32) -> &'s [u8] {
        PartKey::new(self.owner)
            .and_then(|mut key| self.parts.part(self.db, key.of(number)))
            .unwrap_or_default()
    }

    /// The node that holds element `index` and the index of its first element, walked to
    /// from the nearer end (reading each node's count from its header): O(nodes).
    #[must_use]
    pub fn locate(&self, index: usize) -> Option<(u32, usize)> {
        let len = self.len();
        if index >= len {
            return None;
        }
        if index < len / 2 {
            let (mut number, mut start) = (self.header.chain.head, 0usize);
            for _ in 0..self.header.part_count {
                let node = self.node(number);
                let count = node_count(node);
                if index < start + count {
                    return Some((number, start));
                }
                start += count;
                number = node_next(node)?;
            }
        } else {
            let (mut number, mut end) = (self.header.chain.tail, len);
            for _ in 0..self.header.part_count {
                let node = self.node(number);
                let start = end.checked_sub(node_count(node))?;
                if index >= start {
                    return Some((number, start));
                }
                end = start;
                number = node_prev(node)?;
            }
        }
        None
    }

    /// The elements from `index` on, head to tail.
    #[must_use]
    pub fn iter_from(&self, index: usize) -> LargeElements<'s> {
        let mut elements = LargeElements {
            list: *self,
            next: None,
            current: ListView::node(&[]).ranges(),
            left: self.header.part_count,
        };
        if let Some((number, start)) = self.locate(index) {
            let node = self.node(number);
            elements.current = ListView::node(node).ranges();
            if index > start {
                elements.current.nth(index - start - 1);
            }
            elements.next = node_next(node);
        }
        elements
    }

    /// The elements, head to tail.
    #[must_use]
    pub fn iter(&self) -> LargeElements<'s> {
        self.iter_from(0)
    }

    /// The element at `index` from the head.
    #[must_use]
    pub fn nth(&self, index: usize) -> Option<&'s [u8]> {
        self.iter_from(index).next()
    }

    /// Calls `visit` with the last `count` elements, tail first (RPOP's order).
    pub(in crate::store) fn each_from_tail(&self, count: usize, visit: &mut dyn FnMut(&[u8])) {
        let mut number = Some(self.header.chain.tail);
        let mut left = count;
        for _ in 0..self.header.part_count {
            let Some(current) = number.filter(|_| left > 0) else {
                return;
            };
            let node = self.node(current);
            let take = left.min(node_count(node));
            each_reversed(ListView::node(node), node_count(node), take, visit);
            left -= take;
            number = node_prev(node);
        }
    }
}

/// Calls `visit` with the last `take` of the `count` elements of `view`, last first: in
/// blocks of offsets, since sizes only let a walk go forward.
fn each_reversed(view: ListView<'_>, count: usize, take: usize, visit: &mut dyn FnMut(&[u8])) {
    let low_limit = count - take.min(count);
    let mut high = count;
    let mut block = [(0usize, 0usize); REVERSE_BLOCK];
    while high > low_limit {
        let low = high.saturating_sub(REVERSE_BLOCK).max(low_limit);
        for (slot, (range, element)) in block.iter_mut().zip(view.ranges().skip(low)) {
            *slot = (range.end - element.len(), range.end);
        }
        for &(from, to) in block[..high - low].iter().rev() {
            visit(view.bytes.get(from..to).unwrap_or_default());
        }
        high = low;
    }
}

/// The elements of a [`LargeList`], node by node.
#[derive(Debug, Clone)]
pub struct LargeElements<'s> {
    list: LargeList<'s>,
    next: Option<u32>,
    current: super::Elements<'s>,
    left: u32,
}

impl<'s> Iterator for LargeElements<'s> {
    type Item = &'s [u8];

    fn next(&mut self) -> Option<&'s [u8]> {
        loop {
            if let Some((_, element)) = self.current.next() {
                return Some(element);
            }
            if self.left == 0 {
                return None;
            }
            self.left -= 1;
            let node = self.list.node(self.next?);
            self.current = ListView::node(node).ranges();
            self.next = node_next(node);
        }
    }
}

/// What a rewrite does to a whole node, decided from its first element's index and count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NodeAction {
    /// Its elements stay as they are.
    Keep,
    /// All its elements go.
    Drop,
    /// Each element goes through the step.
    Scan,
}

/// The nodes a rewrite walks: `nodes` nodes from node `first`, whose first element is
/// the list's element `start`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    pub(super) first: u32,
    pub(super) start: usize,
    pub(super) nodes: u32,
}

/// One node of a rewrite's output: a run of its source node's output elements.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Piece {
    /// Output ordinals (within the source node's output) it holds.
    first: usize,
    end: usize,
    /// Its value's bytes.
    size: usize,
}

/// What a node of the output holds.
#[derive(Debug, Clone, Copy)]
enum Content {
    /// Its source node's elements, unchanged.
    Same,
    /// A piece of its source node's output.
    Piece(Piece),
}

/// An output node whose links are not all known yet.
#[derive(Debug, Clone, Copy)]
struct Pending {
    number: u32,
    source: u32,
    /// The list's index of the source node's first element.
    start: usize,
    content: Content,
    prev: u32,
    /// Its elements differ from what node `number` holds (or it is a new node).
    changed: bool,
}

/// A rewrite's two passes: the sizes of its writes, then the writes.
#[expect(
    clippy::large_enum_variant,
    reason = "one on the stack per rewrite; boxing needs an allocator"
)]
enum Pass {
    Sizing { sizes: SizeList, new_keys: usize },
    Writing,
}

/// One output entry: its size, and its new bytes (`None`: the old entry, copied).
type Output<'e> = (usize, Option<&'e [u8]>);

/// The output entries one old element becomes under `step`.
fn outputs<'e>(step: Step<'e>, entry_size: usize) -> [Option<Output<'e>>; 2] {
    let new = |bytes: &'e [u8]| Some((varint_size(bytes.len()) + bytes.len(), Some(bytes)));
    let old = Some((entry_size, None));
    match step {
        Step::Keep => [old, None],
        Step::Drop => [None, None],
        Step::Replace(bytes) => [new(bytes), None],
        Step::Before(bytes) => [new(bytes), old],
        Step::After(bytes) => [old, new(bytes)],
    }
}

/// A node's output under `step`, cut into pieces that fit `limit` (the last takes the
/// rest past [`PIECES_MAX`]); the piece count, and whether any element changed.
fn node_pieces<'e, S>(
    node: &[u8],
    start: usize,
    step: &S,
    limit: NodeLimit,
) -> ([Piece; PIECES_MAX], usize, bool)
where
    S: Fn(usize, &[u8]) -> Step<'e>,
{
    let mut pieces = [Piece::default(); PIECES_MAX];
    let mut count = 0usize;
    let mut changed = false;
    let mut current = Piece {
        first: 0,
        end: 0,
        size: NODE_HEADER_SIZE,
    };
    for (index, (range, element)) in ListView::node(node).ranges().enumerate() {
        let step = step(start + index, element);
        changed |= !matches!(step, Step::Keep);
        for (size, _) in outputs(step, range.len()).into_iter().flatten() {
            let held = current.end - current.first;
            if held > 0 && !limit.fits(current.size + size, held + 1) && count + 1 < PIECES_MAX {
                pieces[count] = current;
                count += 1;
                current = Piece {
                    first: current.end,
                    end: current.end,
                    size: NODE_HEADER_SIZE,
                };
            }
            current.end += 1;
            current.size += size;
        }
    }
    if current.end > current.first {
        pieces[count] = current;
        count += 1;
    }
    (pieces, count, changed)
}

/// Composes an output node from its source node `old`.
#[expect(
    clippy::too_many_arguments,
    reason = "a node, its content and its links"
)]
fn compose_node<'e, S>(
    old: &[u8],
    seed: u64,
    start: usize,
    content: Content,
    step: &S,
    prev: u32,
    next: u32,
    out: &mut Out<'_>,
) where
    S: Fn(usize, &[u8]) -> Step<'e>,
{
    match content {
        Content::Same => {
            push_node_header(out, seed, prev, next, node_count(old));
            out.push(old.get(NODE_HEADER_SIZE..).unwrap_or_default());
        }
        Content::Piece(piece) => {
            push_node_header(out, seed, prev, next, piece.end - piece.first);
            let mut ordinal = 0usize;
            // Kept elements that lie next to each other in `old` go in one copy (a pop
            // keeps the rest of its node whole).
            let mut run = 0..0;
            for (index, (range, element)) in ListView::node(old).ranges().enumerate() {
                let step = step(start + index, element);
                for (_, bytes) in outputs(step, range.len()).into_iter().flatten() {
                    if (piece.first..piece.end).contains(&ordinal) {
                        match bytes {
                            Some(bytes) => {
                                out.push(&old[core::mem::replace(&mut run, 0..0)]);
                                push_element(out, bytes);
                            }
                            None if !run.is_empty() && run.end == range.start => {
                                run.end = range.end;
                            }
                            None => {
                                out.push(&old[core::mem::replace(&mut run, range.clone())]);
                            }
                        }
                    }
                    ordinal += 1;
                }
            }
            out.push(&old[run]);
        }
    }
}

/// The number after `number` to try for a new node.
fn after(number: u32) -> u32 {
    number.saturating_add(1)
}

/// New nodes of a list of `count` nodes take numbers below this: at least half of them
/// are free, so the search from the header's cursor is short, and the numbers in use
/// stay below twice the list's largest node count.
fn number_cap(count: u32) -> u32 {
    count
        .saturating_mul(2)
        .saturating_add(2)
        .clamp(8, NODE_NONE - 1)
}

/// Elements a push writes: the command's, or one lying in this store's memory (a
/// move's, copied without a buffer).
#[derive(Debug, Clone)]
pub(super) enum Pushed<E> {
    /// Given elements, in push order.
    Given(E),
    /// One element at this range of segment memory.
    Here(Range<usize>),
}

/// The elements of a [`Pushed`], with `here` the bytes of a [`Pushed::Here`].
#[derive(Debug, Clone)]
enum PushedIter<'h, 'e, E> {
    Given(E, core::marker::PhantomData<&'e [u8]>),
    Here(Option<&'h [u8]>),
}

impl<'h, 'e: 'h, E> Iterator for PushedIter<'h, 'e, E>
where
    E: Iterator<Item = &'e [u8]>,
{
    type Item = &'h [u8];

    fn next(&mut self) -> Option<&'h [u8]> {
        match self {
            Self::Given(elements, _) => elements.next(),
            Self::Here(element) => element.take(),
        }
    }
}

impl<'h, 'e: 'h, E> DoubleEndedIterator for PushedIter<'h, 'e, E>
where
    E: DoubleEndedIterator<Item = &'e [u8]>,
{
    fn next_back(&mut self) -> Option<&'h [u8]> {
        match self {
            Self::Given(elements, _) => elements.next_back(),
            Self::Here(element) => element.take(),
        }
    }
}

impl<'e, E> Pushed<E>
where
    E: DoubleEndedIterator<Item = &'e [u8]> + Clone,
{
    fn each<'h>(&self, here: &'h [u8]) -> PushedIter<'h, 'e, E> {
        match self {
            Self::Given(elements) => PushedIter::Given(elements.clone(), core::marker::PhantomData),
            Self::Here(_) => PushedIter::Here(Some(here)),
        }
    }

    /// The memory range of a [`Pushed::Here`] (empty for given elements).
    fn here(&self) -> Range<usize> {
        match self {
            Self::Given(_) => 0..0,
            Self::Here(range) => range.clone(),
        }
    }

    /// Number of elements.
    pub(super) fn count(&self) -> usize {
        match self {
            Self::Given(elements) => elements.clone().count(),
            Self::Here(_) => 1,
        }
    }

    /// Entry sizes (size prefix included), in push order.
    fn entry_sizes(&self) -> impl Iterator<Item = usize> + Clone + use<'e, E> {
        let (given, here) = match self {
            Self::Given(elements) => (Some(elements.clone()), None),
            Self::Here(range) => (None, Some(range.len())),
        };
        given
            .into_iter()
            .flatten()
            .map(<[u8]>::len)
            .chain(here)
            .map(|size| varint_size(size) + size)
    }
}

/// A push's nodes: bin 0 is the end node (or a new one for a new list), the others new
/// nodes outward; each holds a run of the pushed elements (in push order).
#[derive(Debug, Clone, Copy)]
struct Bin {
    index: usize,
    /// Pushed elements (push-order indexes) it takes.
    first: usize,
    end: usize,
    /// Its value's bytes.
    size: usize,
}

/// Calls `visit` with each bin of a push of elements of `sizes` onto an end node of
/// `end_size` bytes and `end_count` elements (0 and [`NODE_HEADER_SIZE`] for a new list).
fn bins(
    limit: NodeLimit,
    end_size: usize,
    end_count: usize,
    sizes: impl Iterator<Item = usize>,
    mut visit: impl FnMut(Bin, usize),
) {
    let mut bin = Bin {
        index: 0,
        first: 0,
        end: 0,
        size: end_size,
    };
    let mut held = end_count;
    for size in sizes {
        if held > 0 && !limit.fits(bin.size + size, held + 1) {
            visit(bin, held);
            bin = Bin {
                index: bin.index + 1,
                first: bin.end,
                end: bin.end,
                size: NODE_HEADER_SIZE,
            };
            held = 0;
        }
        bin.end += 1;
        bin.size += size;
        held += 1;
    }
    visit(bin, held);
}

impl Store<'_> {
    /// The list header of the key item at `key`, if it is a large list.
    pub(super) fn list_header(&self, db: u8, key: &[u8]) -> Option<Header> {
        let found = self.find(db, key)?;
        self.header_of(&found).filter(Header::is_list)
    }

    /// The value at `key` and where it lies in segment memory (empty if absent).
    fn list_old_value(&self, db: u8, key: &[u8]) -> (&[u8], Range<usize>) {
        match self.find(db, key) {
            Some(found) => (
                self.value_of(&found),
                found.location + found.layout.value.start..found.location + found.layout.value.end,
            ),
            None => (&[], 0..0),
        }
    }

    /// The first number from `from` on, cycling below [`number_cap`] of `count`, that no
    /// node of the list at `part_key` (of `count` nodes) uses.
    fn node_fresh(&self, db: u8, part_key: &mut PartKey, from: u32, count: u32) -> u32 {
        let cap = number_cap(count);
        let mut number = if from >= cap { 0 } else { from };
        for _ in 0..cap {
            if self.find_part(db, part_key.of(number)).is_none() {
                return number;
            }
            number = if number + 1 >= cap { 0 } else { number + 1 };
        }
        // NOTE: unreachable: fewer than half of the numbers below the cap are in use.
        cap
    }

    /// Turns the compact list at `key` into a large one holding the same elements: its
    /// elements cut into nodes that fit the limit, each copied from the old value, then
    /// the header over the old item.
    ///
    /// # Errors
    /// [`StoreError::KeyTooLarge`] (the key is too long for parts), or a memory error;
    /// nothing changes then.
    pub(super) fn list_convert(
        &mut self,
        db: u8,
        key: &[u8],
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        let mut part_key = PartKey::new(key).ok_or(StoreError::KeyTooLarge)?;
        let limit = NodeLimit::of(&self.config);
        // The nodes: runs of the old value's entries, as (byte range, count) each.
        let runs = |value: &[u8], visit: &mut dyn FnMut(Range<usize>, usize)| {
            let (mut start, mut end, mut count) = (1usize, 1usize, 0usize);
            for (range, _) in ListView::new(value).ranges() {
                let size = NODE_HEADER_SIZE + (end - start) + range.len();
                if count > 0 && !limit.fits(size, count + 1) {
                    visit(start..end, count);
                    (start, count) = (end, 0);
                }
                end = range.end;
                count += 1;
            }
            if count > 0 {
                visit(start..end, count);
            }
        };
        let (value, _) = self.list_old_value(db, key);
        let (mut node_total, mut length) = (0u32, 0u64);
        let mut sizes = SizeList::new(core::iter::empty());
        let part_key_size = key.len() + PART_NUMBER_SIZE;
        runs(value, &mut |range, count| {
            node_total += 1;
            length += count as u64;
            sizes.push(item::item_size(
                part_key_size,
                NODE_HEADER_SIZE + range.len(),
                0,
            ));
        });
        if node_total == 0 {
            return Err(StoreError::CollectionInvalid);
        }
        self.header_room(db, key, sizes.iter(), node_total as usize, now, log)?;
        // Node `number` is the `number`th run of the old value, which stays (and does not
        // move: room was made) until the header replaces it.
        let seed = self.random();
        let mut failed = None;
        for number in 0..node_total {
            let (value, source) = self.list_old_value(db, key);
            let mut run = (0..0, 0usize);
            let mut seen = 0u32;
            runs(value, &mut |range, count| {
                if seen == number {
                    run = (range, count);
                }
                seen += 1;
            });
            let (range, count) = run;
            let prev = if number == 0 { NODE_NONE } else { number - 1 };
            let next = if number + 1 == node_total {
                NODE_NONE
            } else {
                number + 1
            };
            let size = NODE_HEADER_SIZE + range.len();
            let written = self.part_write(
                db,
                &mut part_key,
                number,
                Some(source),
                size,
                log,
                |old, out| {
                    push_node_header(out, seed, prev, next, count);
                    out.push(&old[range]);
                },
            );
            if let Err(error) = written {
                failed = Some(error);
                break;
            }
        }
        if let Some(error) = failed {
            return Err(error);
        }
        let header = Header {
            type_byte: TYPE_LARGE_LIST,
            len: length,
            part_count: node_total,
            seed,
            chain: Chain {
                head: 0,
                tail: node_total - 1,
                next: node_total,
                end: node_total,
            },
            tree: crate::store::large::Tree::default(),
        };
        self.header_write(db, key, header, None, now, log)
    }

    /// Pushes `pushed` at `end` of the large list at `key` (`header`), or makes a new
    /// large list of them (`header` `None`): the end node takes what fits, new nodes the
    /// rest. Makes room first (unless `room_made`).
    ///
    /// # Errors
    /// [`StoreError::KeyTooLarge`], [`StoreError::CollectionTooLarge`] (an element larger
    /// than an item), or a memory error; nothing changes then.
    #[expect(clippy::too_many_arguments, reason = "a key, an end and its elements")]
    pub(super) fn list_push_large<'e, E>(
        &mut self,
        db: u8,
        key: &[u8],
        header: Option<Header>,
        end: End,
        pushed: &Pushed<E>,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError>
    where
        E: DoubleEndedIterator<Item = &'e [u8]> + Clone,
    {
        let (sizes, new_keys) = self.push_plan(db, key, header, end, pushed)?;
        self.header_room(db, key, sizes.iter(), new_keys, now, log)?;
        self.push_apply(db, key, header, end, pushed, now, log)
    }

    /// The item sizes and new keys of [`Store::list_push_large`]'s writes.
    pub(super) fn push_plan<'e, E>(
        &self,
        db: u8,
        key: &[u8],
        header: Option<Header>,
        end: End,
        pushed: &Pushed<E>,
    ) -> Result<(SizeList, usize), StoreError>
    where
        E: DoubleEndedIterator<Item = &'e [u8]> + Clone,
    {
        let limit = NodeLimit::of(&self.config);
        let end_node = header.map_or(&[][..], |header| {
            self.part_bytes(db, key, end_number(&header, end))
        });
        let (end_size, end_count) = if end_node.is_empty() {
            (NODE_HEADER_SIZE, 0)
        } else {
            (end_node.len(), node_count(end_node))
        };
        let part_key_size = key.len() + PART_NUMBER_SIZE;
        let mut sizes = SizeList::new(core::iter::empty());
        // A list taking the large form needs a new key for its first node, and one for its
        // header too when the key is new (the fuzzer found a push refused for max-keys
        // after writing, when that one was not counted).
        let mut new_keys =
            usize::from(header.is_none()) + usize::from(self.find(db, key).is_none());
        let mut too_large = false;
        bins(
            limit,
            end_size,
            end_count,
            pushed.entry_sizes(),
            |bin, _| {
                too_large |= bin.size > self.config.value_size_max as usize;
                new_keys += usize::from(bin.index > 0);
                sizes.push(item::item_size(part_key_size, bin.size, 0));
            },
        );
        if too_large {
            return Err(StoreError::CollectionTooLarge);
        }
        Ok((sizes, new_keys))
    }

    /// The writes of [`Store::list_push_large`]; room was made.
    #[expect(clippy::too_many_arguments, reason = "a key, an end and its elements")]
    pub(super) fn push_apply<'e, E>(
        &mut self,
        db: u8,
        key: &[u8],
        header: Option<Header>,
        end: End,
        pushed: &Pushed<E>,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError>
    where
        E: DoubleEndedIterator<Item = &'e [u8]> + Clone,
    {
        let mut part_key = PartKey::new(key).ok_or(StoreError::KeyTooLarge)?;
        let limit = NodeLimit::of(&self.config);
        let total = pushed.count();
        let (end_size, end_count, end_node, inner) = match header {
            Some(header) => {
                let number = end_number(&header, end);
                let node = self.part_bytes(db, key, number);
                let inner = node_link(node, opposite(end));
                (node.len(), node_count(node), number, inner)
            }
            None => (NODE_HEADER_SIZE, 0, NODE_NONE, NODE_NONE),
        };
        let seed = match header {
            Some(header) => header.seed,
            None => self.random(),
        };
        let mut next_try = header.map_or(0, |header| header.chain.next);
        let mut bound = header.map_or(0, |header| header.chain.end);
        let old_count = header.map_or(0, |header| header.part_count);
        let first = match header {
            Some(_) => end_node,
            None => {
                let number = self.node_fresh(db, &mut part_key, next_try, 0);
                next_try = after(number);
                bound = bound.max(after(number));
                number
            }
        };
        // Each bin is written once the next one's number is known (its outer link).
        let mut pending: Option<(Bin, usize, u32, u32)> = None;
        let mut failed = None;
        let mut created = u32::from(header.is_none());
        let mut last = first;
        let sizes = pushed.entry_sizes();
        bins(limit, end_size, end_count, sizes, |bin, held| {
            if failed.is_some() {
                return;
            }
            let number = if bin.index == 0 {
                first
            } else {
                let fresh = self.node_fresh(db, &mut part_key, next_try, old_count + created);
                next_try = after(fresh);
                bound = bound.max(after(fresh));
                created += 1;
                fresh
            };
            let inner_link = match pending.take() {
                Some((done, done_held, done_number, done_inner)) => {
                    let written = self.bin_write(
                        db,
                        key,
                        &mut part_key,
                        (done, done_held, header.is_some()),
                        (done_number, done_inner, number),
                        (end, seed),
                        pushed,
                        total,
                        log,
                    );
                    if let Err(error) = written {
                        failed = Some(error);
                        return;
                    }
                    done_number
                }
                None => inner,
            };
            pending = Some((bin, held, number, inner_link));
            last = number;
        });
        if let Some(error) = failed {
            return Err(error);
        }
        if let Some((done, done_held, done_number, done_inner)) = pending {
            self.bin_write(
                db,
                key,
                &mut part_key,
                (done, done_held, header.is_some()),
                (done_number, done_inner, NODE_NONE),
                (end, seed),
                pushed,
                total,
                log,
            )?;
        }
        let total = total as u64;
        let new_header = match header {
            Some(header) => {
                let mut chain = header.chain;
                match end {
                    End::Head => chain.head = last,
                    End::Tail => chain.tail = last,
                }
                chain.next = next_try;
                chain.end = bound;
                Header {
                    len: header.len + total,
                    part_count: header.part_count + created,
                    chain,
                    ..header
                }
            }
            None => {
                let first = self.first_pushed(db, key, last, end, created);
                let (head, tail) = match end {
                    End::Head => (last, first),
                    End::Tail => (first, last),
                };
                Header {
                    type_byte: TYPE_LARGE_LIST,
                    len: total,
                    part_count: created,
                    seed,
                    chain: Chain {
                        head,
                        tail,
                        next: next_try,
                        end: bound,
                    },
                    tree: crate::store::large::Tree::default(),
                }
            }
        };
        self.header_write(db, key, new_header, None, now, log)
    }

    /// Writes bin `bin` of a push (holding `held` elements; bin 0 keeps the end node's
    /// elements if `existed`) as node `number` between `inner` (toward the list) and
    /// `outer`.
    #[expect(clippy::too_many_arguments, reason = "a bin, its links and the push")]
    fn bin_write<'e, E>(
        &mut self,
        db: u8,
        key: &[u8],
        part_key: &mut PartKey,
        (bin, held, existed): (Bin, usize, bool),
        (number, inner, outer): (u32, u32, u32),
        (end, seed): (End, u64),
        pushed: &Pushed<E>,
        total: usize,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError>
    where
        E: DoubleEndedIterator<Item = &'e [u8]> + Clone,
    {
        let (prev, next) = match end {
            End::Head => (outer, inner),
            End::Tail => (inner, outer),
        };
        let keeps_old = bin.index == 0 && existed;
        let source = if keeps_old {
            self.part_range(db, key, number)
        } else {
            0..0
        };
        let here = pushed.here();
        let size = bin.size;
        self.part_write_with(
            db,
            part_key,
            number,
            Some(source),
            here,
            size,
            log,
            |old, here, out| {
                push_node_header(out, seed, prev, next, held);
                let elements = pushed.each(here);
                let in_bin = |(at, _): &(usize, &[u8])| (bin.first..bin.end).contains(at);
                let old_elements = if keeps_old {
                    old.get(NODE_HEADER_SIZE..).unwrap_or_default()
                } else {
                    &[]
                };
                match end {
                    End::Head => {
                        let reversed = elements
                            .rev()
                            .enumerate()
                            .map(|(at, element)| (total - 1 - at, element));
                        for (_, element) in reversed.filter(in_bin) {
                            push_element(out, element);
                        }
                        out.push(old_elements);
                    }
                    End::Tail => {
                        out.push(old_elements);
                        for (_, element) in elements.enumerate().filter(in_bin) {
                            push_element(out, element);
                        }
                    }
                }
                assert!(out.size == size, "node size {size} != written {}", out.size);
            },
        )
    }

    /// The first node a new list's push wrote: `created` nodes back from `last`.
    fn first_pushed(&self, db: u8, key: &[u8], last: u32, end: End, created: u32) -> u32 {
        let mut number = last;
        for _ in 1..created {
            let node = self.part_bytes(db, key, number);
            let back = node_link(node, opposite(end));
            if back == NODE_NONE {
                break;
            }
            number = back;
        }
        number
    }

    /// The window of a pop of `count` from `end`, and the list's elements that stay.
    pub(super) fn pop_window(
        &self,
        db: u8,
        key: &[u8],
        header: &Header,
        end: End,
        count: usize,
    ) -> (Window, Range<usize>) {
        let len = usize::try_from(header.len).unwrap_or(usize::MAX);
        let list = LargeList::new(self, db, key, *header);
        let (edge, kept) = match end {
            End::Head => (count - 1, count..len),
            End::Tail => (len - count, 0..len - count),
        };
        let (target, target_start) = list.locate(edge).unwrap_or((end_number(header, end), 0));
        let window = match end {
            End::Head => {
                // From the head to the node of the last popped element.
                let (mut nodes, mut number) = (1u32, header.chain.head);
                while number != target && nodes <= header.part_count {
                    number = node_next(list.node(number)).unwrap_or(target);
                    nodes += 1;
                }
                Window {
                    first: header.chain.head,
                    start: 0,
                    nodes,
                }
            }
            End::Tail => {
                let (mut nodes, mut number) = (1u32, target);
                while number != header.chain.tail && nodes <= header.part_count {
                    number = node_next(list.node(number)).unwrap_or(header.chain.tail);
                    nodes += 1;
                }
                Window {
                    first: target,
                    start: target_start,
                    nodes,
                }
            }
        };
        (window, kept)
    }

    /// Rewrites the nodes of `window` of the large list at `key`: each node as `action`
    /// says from its first element's index and count, and a scanned node's elements each
    /// by `step` (a pure function of the element's index in the list and its bytes). A
    /// node whose elements or links change is rewritten (split if it passes the node
    /// limit: the last piece keeps its number, the others get new ones), a node left
    /// with none is removed, and the neighbours outside the window are relinked if
    /// needed; then the header, with `new_len` elements (the key goes if none). Makes
    /// room first.
    #[expect(
        clippy::too_many_arguments,
        reason = "a window, its rules and the length"
    )]
    pub(super) fn list_rewrite_large<'e, A, S>(
        &mut self,
        db: u8,
        key: &[u8],
        header: Header,
        window: Window,
        action: &A,
        step: &S,
        new_len: u64,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError>
    where
        A: Fn(usize, usize) -> NodeAction,
        S: Fn(usize, &[u8]) -> Step<'e>,
    {
        if new_len == 0 {
            if let Some(found) = self.find(db, key) {
                self.remove(&found);
            }
            log.record(Record::Del { db, key });
            return Ok(());
        }
        let (sizes, new_keys) = self.rewrite_plan(db, key, header, window, action, step)?;
        self.header_room(db, key, sizes.iter(), new_keys, now, log)?;
        self.rewrite_apply(db, key, header, window, action, step, new_len, now, log)
    }

    /// The item sizes and new keys of a rewrite's writes.
    pub(super) fn rewrite_plan<'e, A, S>(
        &mut self,
        db: u8,
        key: &[u8],
        header: Header,
        window: Window,
        action: &A,
        step: &S,
    ) -> Result<(SizeList, usize), StoreError>
    where
        A: Fn(usize, usize) -> NodeAction,
        S: Fn(usize, &[u8]) -> Step<'e>,
    {
        let mut pass = Pass::Sizing {
            sizes: SizeList::new(core::iter::empty()),
            new_keys: 0,
        };
        self.rewrite_walk(db, key, header, window, action, step, &mut pass, &mut ())?;
        match pass {
            Pass::Sizing { sizes, new_keys } => Ok((sizes, new_keys)),
            Pass::Writing => Err(StoreError::CollectionInvalid),
        }
    }

    /// The writes of a rewrite; room was made.
    #[expect(
        clippy::too_many_arguments,
        reason = "a window, its rules and the length"
    )]
    pub(super) fn rewrite_apply<'e, A, S>(
        &mut self,
        db: u8,
        key: &[u8],
        header: Header,
        window: Window,
        action: &A,
        step: &S,
        new_len: u64,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError>
    where
        A: Fn(usize, usize) -> NodeAction,
        S: Fn(usize, &[u8]) -> Step<'e>,
    {
        let mut pass = Pass::Writing;
        let header = self.rewrite_walk(db, key, header, window, action, step, &mut pass, log)?;
        let header = Header {
            len: new_len,
            ..header
        };
        self.header_write(db, key, header, None, now, log)
    }

    /// The walk of a rewrite, in either pass: returns the new header (its length as it
    /// was).
    #[expect(clippy::too_many_arguments, reason = "a window, its rules and a pass")]
    fn rewrite_walk<'e, A, S>(
        &mut self,
        db: u8,
        key: &[u8],
        header: Header,
        window: Window,
        action: &A,
        step: &S,
        pass: &mut Pass,
        log: &mut impl LogSink,
    ) -> Result<Header, StoreError>
    where
        A: Fn(usize, usize) -> NodeAction,
        S: Fn(usize, &[u8]) -> Step<'e>,
    {
        let mut part_key = PartKey::new(key).ok_or(StoreError::KeyTooLarge)?;
        let limit = NodeLimit::of(&self.config);
        let left = node_prev(self.part_bytes(db, key, window.first));
        let mut pending = left.map(|number| Pending {
            number,
            source: number,
            start: 0,
            content: Content::Same,
            prev: node_link(self.part_bytes(db, key, number), End::Head),
            changed: false,
        });
        let mut prev_out = left.unwrap_or(NODE_NONE);
        let mut first_out = None;
        let (mut number, mut start) = (window.first, window.start);
        let mut right = NODE_NONE;
        let mut next_try = header.chain.next;
        let mut bound = header.chain.end;
        let (mut created, mut removed) = (0u32, 0u32);
        for visited in 0..window.nodes {
            let node = self.part_bytes(db, key, number);
            if node.is_empty() {
                return Err(StoreError::CollectionInvalid);
            }
            let count = node_count(node);
            let old_next = node_next(node);
            let (pieces, piece_count, content_changed) = match action(start, count) {
                NodeAction::Keep => ([Piece::default(); PIECES_MAX], 1, false),
                NodeAction::Drop => ([Piece::default(); PIECES_MAX], 0, true),
                NodeAction::Scan => {
                    let (pieces, piece_count, changed) = node_pieces(node, start, step, limit);
                    if changed {
                        (pieces, piece_count, true)
                    } else {
                        (pieces, 1, false)
                    }
                }
            };
            if piece_count == 0 {
                if matches!(pass, Pass::Writing) {
                    self.part_remove_logged(db, part_key.of(number), log);
                }
                removed += 1;
            }
            for (index, piece) in pieces.iter().enumerate().take(piece_count) {
                let this = if index + 1 == piece_count {
                    number
                } else {
                    let count = header.part_count + created;
                    let fresh = self.node_fresh(db, &mut part_key, next_try, count);
                    next_try = after(fresh);
                    bound = bound.max(after(fresh));
                    created += 1;
                    fresh
                };
                if let Some(done) = pending.take() {
                    let links = (this, header.seed);
                    self.node_put(db, key, &mut part_key, done, links, step, pass, log)?;
                }
                pending = Some(Pending {
                    number: this,
                    source: number,
                    start,
                    content: if content_changed {
                        Content::Piece(*piece)
                    } else {
                        Content::Same
                    },
                    prev: prev_out,
                    changed: content_changed || this != number,
                });
                first_out.get_or_insert(this);
                prev_out = this;
            }
            start += count;
            right = old_next.unwrap_or(NODE_NONE);
            if visited + 1 < window.nodes {
                number = old_next.ok_or(StoreError::CollectionInvalid)?;
            }
        }
        if let Some(done) = pending.take() {
            let links = (right, header.seed);
            self.node_put(db, key, &mut part_key, done, links, step, pass, log)?;
        }
        if right != NODE_NONE {
            let next = node_link(self.part_bytes(db, key, right), End::Tail);
            let neighbour = Pending {
                number: right,
                source: right,
                start: 0,
                content: Content::Same,
                prev: prev_out,
                changed: false,
            };
            let links = (next, header.seed);
            self.node_put(db, key, &mut part_key, neighbour, links, step, pass, log)?;
        }
        let mut chain = header.chain;
        if left.is_none() {
            chain.head = first_out.unwrap_or(right);
        }
        if right == NODE_NONE {
            chain.tail = prev_out;
        }
        chain.next = next_try;
        chain.end = bound;
        Ok(Header {
            part_count: (header.part_count + created).saturating_sub(removed),
            chain,
            ..header
        })
    }

    /// Writes (or sizes) the output node `pending` with `next` as its next link (in the
    /// list of `seed`), unless node `pending.number` already holds exactly that.
    #[expect(clippy::too_many_arguments, reason = "a node, its links and a pass")]
    fn node_put<'e, S>(
        &mut self,
        db: u8,
        key: &[u8],
        part_key: &mut PartKey,
        pending: Pending,
        (next, seed): (u32, u64),
        step: &S,
        pass: &mut Pass,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError>
    where
        S: Fn(usize, &[u8]) -> Step<'e>,
    {
        let current = self.part_bytes(db, key, pending.number);
        let unchanged = !pending.changed
            && !current.is_empty()
            && node_link(current, End::Head) == pending.prev
            && node_link(current, End::Tail) == next;
        if unchanged {
            return Ok(());
        }
        let is_new = current.is_empty();
        let source = self.part_bytes(db, key, pending.source);
        let mut sizing = Out {
            target: None,
            size: 0,
        };
        compose_node(
            source,
            seed,
            pending.start,
            pending.content,
            step,
            pending.prev,
            next,
            &mut sizing,
        );
        let size = sizing.size;
        if size > self.config.value_size_max as usize {
            return Err(StoreError::CollectionTooLarge);
        }
        match pass {
            Pass::Sizing { sizes, new_keys } => {
                sizes.push(item::item_size(key.len() + PART_NUMBER_SIZE, size, 0));
                *new_keys += usize::from(is_new);
                Ok(())
            }
            Pass::Writing => {
                let range = self.part_range(db, key, pending.source);
                self.part_write(
                    db,
                    part_key,
                    pending.number,
                    Some(range),
                    size,
                    log,
                    |old, out| {
                        compose_node(
                            old,
                            seed,
                            pending.start,
                            pending.content,
                            step,
                            pending.prev,
                            next,
                            out,
                        );
                        assert!(out.size == size, "node size {size} != written {}", out.size);
                    },
                )
            }
        }
    }
}

/// The end node at `end`.
fn end_number(header: &Header, end: End) -> u32 {
    match end {
        End::Head => header.chain.head,
        End::Tail => header.chain.tail,
    }
}

/// The other end.
fn opposite(end: End) -> End {
    match end {
        End::Head => End::Tail,
        End::Tail => End::Head,
    }
}

/// A pop's (or LTRIM's) rules: nodes wholly outside `kept` go, the ones it cuts are
/// scanned.
#[expect(clippy::type_complexity, reason = "two closures of a rewrite")]
pub(super) fn pop_rules<'e>(
    kept: Range<usize>,
) -> (
    impl Fn(usize, usize) -> NodeAction,
    impl Fn(usize, &[u8]) -> Step<'e>,
) {
    let kept_action = kept.clone();
    let action = move |start: usize, count: usize| {
        if start >= kept_action.start && start + count <= kept_action.end {
            NodeAction::Keep
        } else if start + count <= kept_action.start || start >= kept_action.end {
            NodeAction::Drop
        } else {
            NodeAction::Scan
        }
    };
    let step = move |index: usize, _: &[u8]| {
        if kept.contains(&index) {
            Step::Keep
        } else {
            Step::Drop
        }
    };
    (action, step)
}
