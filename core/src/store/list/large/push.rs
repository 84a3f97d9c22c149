//! Pushes onto a large list (LPUSH, RPUSH and a move's push): the end node takes what
//! fits, new nodes beside it the rest, packed into bins of at most [`NodeLimit`]. Like
//! the rewrite walk, a push is planned (item sizes and new keys, so room is made first)
//! and then applied.

use super::{
    Chain, End, Header, LogSink, NODE_HEADER_SIZE, NODE_NONE, NodeLimit, PartKey, Range, SizeList,
    Store, StoreError, TYPE_LARGE_LIST, Timestamp, after, end_number, node_count, node_link,
    opposite, push_element, push_node_header,
};
use crate::storage::item::{self, PART_NUMBER_SIZE, varint_size};

/// Elements a push writes: the command's, or one lying in this store's memory (a
/// move's, copied without a buffer).
#[derive(Debug, Clone)]
pub(in crate::store::list) enum Pushed<E> {
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
    pub(in crate::store::list) fn count(&self) -> usize {
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
    /// Pushes `pushed` at `end` of the large list at `key` (`header`), or makes a new
    /// large list of them (`header` `None`): the end node takes what fits, new nodes the
    /// rest. Makes room first (unless `room_made`).
    ///
    /// # Errors
    /// [`StoreError::KeyTooLarge`], [`StoreError::CollectionTooLarge`] (an element larger
    /// than an item), or a memory error; nothing changes then.
    #[expect(clippy::too_many_arguments, reason = "a key, an end and its elements")]
    pub(in crate::store::list) fn list_push_large<'e, E>(
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
    pub(in crate::store::list) fn push_plan<'e, E>(
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
    pub(in crate::store::list) fn push_apply<'e, E>(
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
}
