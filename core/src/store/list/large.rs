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
//!
//! This file holds the node layout, the reader ([`LargeList`]), conversion from the
//! compact form, pops, and the large-form paths of LSET, LINSERT and LREM (which set up
//! the rewrite walk); pushes are in `large/push.rs`, the rewrite walk in
//! `large/rewrite.rs`.

use core::ops::Range;

use super::{End, ListView, Step, push_element};
use crate::codec::record::Record;
use crate::error::StoreError;
use crate::storage::item::{self, PART_NUMBER_SIZE};
use crate::store::compact::Out;
use crate::store::large::{Chain, Header, PartKey, PartSource, SizeList, TYPE_LARGE_LIST};
use crate::store::{Config, Found, LogSink, Store};
use crate::time::Timestamp;

mod push;
mod rewrite;

pub(super) use push::Pushed;
pub(super) use rewrite::{NodeAction, Window, pop_rules};

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

    /// Rewrites the one node of the large list at `key` that holds element `index` by
    /// `step` (LSET, LINSERT), splitting it if it passes the node limit.
    #[expect(clippy::too_many_arguments, reason = "a key, an element and its step")]
    pub(super) fn list_one_node<'e, S>(
        &mut self,
        db: u8,
        key: &[u8],
        header: Header,
        index: usize,
        step: &S,
        new_len: u64,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError>
    where
        S: Fn(usize, &[u8]) -> Step<'e>,
    {
        let list = LargeList::new(self, db, key, header);
        let (first, start) = list.locate(index).ok_or(StoreError::CollectionInvalid)?;
        let window = Window {
            first,
            start,
            nodes: 1,
        };
        let action = |_: usize, _: usize| NodeAction::Scan;
        self.list_rewrite_large(db, key, header, window, &action, step, new_len, now, log)
    }

    /// LREM on a large list: the removed matches lie between two indexes, and only the
    /// nodes between them are scanned.
    #[expect(clippy::too_many_arguments, reason = "LREM's arguments and the header")]
    pub(super) fn list_remove_large(
        &mut self,
        db: u8,
        key: &[u8],
        header: Header,
        count: i64,
        element: &[u8],
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<usize, StoreError> {
        let list = LargeList::new(self, db, key, header);
        let matches = list.iter().filter(|other| *other == element).count();
        let removed_ordinals = super::removed_matches(matches, count);
        let removed = removed_ordinals.len();
        if removed == 0 {
            return Ok(0);
        }
        let first_removed = removed_ordinals.start;
        let mut positions = list
            .iter()
            .enumerate()
            .filter(|(_, other)| *other == element)
            .map(|(at, _)| at)
            .skip(first_removed);
        let low = positions.next().unwrap_or(0);
        let high = positions.nth(removed.saturating_sub(2)).unwrap_or(low);
        let high = if removed == 1 { low } else { high };
        let window = Window {
            first: header.chain.head,
            start: 0,
            nodes: header.part_count,
        };
        let action = |start: usize, node_count: usize| {
            if start + node_count <= low || start > high {
                NodeAction::Keep
            } else {
                NodeAction::Scan
            }
        };
        let step = |at: usize, bytes: &[u8]| {
            if bytes == element && (low..=high).contains(&at) {
                Step::Drop
            } else {
                Step::Keep
            }
        };
        let new_len = header.len - removed as u64;
        self.list_rewrite_large(db, key, header, window, &action, &step, new_len, now, log)?;
        Ok(removed)
    }

    /// LPOP and RPOP on a large list: see [`Store::list_pop`].
    #[expect(
        clippy::too_many_arguments,
        reason = "a key, an end, a count, a visitor"
    )]
    pub(super) fn list_pop_large_visiting(
        &mut self,
        db: u8,
        key: &[u8],
        found: &Found,
        header: Header,
        end: End,
        count: usize,
        now: Timestamp,
        log: &mut impl LogSink,
        mut visit: impl FnMut(usize, &[u8]),
    ) -> Result<usize, StoreError> {
        let len = usize::try_from(header.len).unwrap_or(usize::MAX);
        let popped = count.min(len);
        if popped == 0 {
            return Ok(0);
        }
        let visit_popped = |store: &Self, visit: &mut dyn FnMut(usize, &[u8])| {
            let list = LargeList::new(store, db, key, header);
            match end {
                End::Head => list.iter().take(popped).for_each(|e| visit(popped, e)),
                End::Tail => list.each_from_tail(popped, &mut |e| visit(popped, e)),
            }
        };
        if popped == len {
            visit_popped(self, &mut visit);
            self.remove(found);
            log.record(Record::Del { db, key });
            return Ok(popped);
        }
        if self.list_pop_in_end_node(db, key, header, end, popped, now, log, &mut |store| {
            visit_popped(store, &mut visit);
        })? {
            return Ok(popped);
        }
        let (window, kept) = self.pop_window(db, key, &header, end, popped);
        let (action, step) = pop_rules(kept);
        let (sizes, new_keys) = self.rewrite_plan(db, key, header, window, &action, &step)?;
        self.header_room(db, key, sizes.iter(), new_keys, now, log)?;
        visit_popped(self, &mut visit);
        let new_len = header.len - popped as u64;
        self.rewrite_apply(db, key, header, window, &action, &step, new_len, now, log)?;
        Ok(popped)
    }

    /// A pop of `popped` elements that all lie in the end node, which keeps at least one:
    /// that node is rewritten as its header and the bytes of the elements it keeps, in
    /// one copy (the general rewrite walks every element of the node), then the header.
    /// Calls `visit_popped` once the write can no longer fail; whether it applied.
    #[expect(
        clippy::too_many_arguments,
        reason = "a key, an end, a count, a visitor"
    )]
    fn list_pop_in_end_node(
        &mut self,
        db: u8,
        key: &[u8],
        header: Header,
        end: End,
        popped: usize,
        now: Timestamp,
        log: &mut impl LogSink,
        visit_popped: &mut dyn FnMut(&Self),
    ) -> Result<bool, StoreError> {
        let number = match end {
            End::Head => header.chain.head,
            End::Tail => header.chain.tail,
        };
        let node = self.part_bytes(db, key, number);
        let count = node_count(node);
        if popped == 0 || popped >= count {
            return Ok(false);
        }
        let mut ranges = ListView::node(node).ranges();
        let kept = match end {
            End::Head => ranges
                .nth(popped - 1)
                .map(|(range, _)| range.end..node.len()),
            End::Tail => ranges
                .nth(count - popped - 1)
                .map(|(range, _)| NODE_HEADER_SIZE..range.end),
        };
        let Some(kept) = kept else {
            return Ok(false);
        };
        let (seed, prev, next) = (
            node_seed(node),
            node_link(node, End::Head),
            node_link(node, End::Tail),
        );
        let size = NODE_HEADER_SIZE + kept.len();
        let item_size = item::item_size(key.len() + item::PART_NUMBER_SIZE, size, 0);
        self.header_room(db, key, core::iter::once(item_size), 0, now, log)?;
        visit_popped(self);
        let mut part_key = PartKey::new(key).ok_or(StoreError::KeyTooLarge)?;
        self.part_write(db, &mut part_key, number, None, size, log, |old, out| {
            push_node_header(out, seed, prev, next, count - popped);
            out.push(old.get(kept).unwrap_or_default());
        })?;
        let shrunk = Header {
            len: header.len - popped as u64,
            ..header
        };
        self.header_write(db, key, shrunk, None, now, log)?;
        Ok(true)
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
