//! Lists in the compact encoding (Redis's quicklist of one listpack node): the whole list
//! is the value of one key item of kind [`ItemKind::Compact`], a type byte followed by its
//! elements from head to tail:
//!
//! ```text
//! +------+-------------+---------+-------------+---------+-----
//! | 'l'  | varint size | element | varint size | element | ...
//! +------+-------------+---------+-------------+---------+-----
//! ```
//!
//! Every write (LPUSH, LPOP, LSET, LINSERT, LREM, LTRIM, LMOVE, ...) of a compact list
//! composes the new value straight into segment memory from the old one and the request's
//! arguments (a sizing pass, then a writing pass: no allocation), and the old item becomes
//! a hole: O(n) in the list's size. It is logged as one `Set` record of the whole new
//! item, physical and idempotent; a write that empties the list removes the key and logs
//! a `Del`. A list whose compact value would pass `list-max-listpack-size` takes the
//! large form, a chain of nodes (`list/large.rs`), read like a compact one
//! through [`ListRead`]; an element no node can hold is refused with
//! [`StoreError::CollectionTooLarge`] and nothing changes.
//!
//! Reading is total: [`ListView`] walks the bytes with checked lengths and stops at the
//! first malformed element, and [`is_valid`] is what recovery checks before it loads one.
//!
//! [`ItemKind::Compact`]: crate::storage::item::ItemKind::Compact

use core::ops::Range;

use super::compact::{Out, TYPE_LIST, ValueType, varint_read};
use super::large::{Header, LARGE_KEY_SIZE_MAX};
use super::{Found, LogSink, Lookup, Store};
use crate::codec::record::Record;
use crate::error::StoreError;
use crate::storage::item;
use crate::time::Timestamp;

/// One end of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The head (LPUSH, LPOP, LEFT).
    Head,
    /// The tail (RPUSH, RPOP, RIGHT).
    Tail,
}

/// A compact list's value, read in place.
#[derive(Debug, Clone, Copy)]
pub struct ListView<'v> {
    bytes: &'v [u8],
    /// Where the elements start: after the type byte, or after a node's header.
    start: usize,
}

/// The elements of a [`ListView`], head to tail, each with its bytes' range in the value
/// (size prefix included).
#[derive(Debug, Clone)]
pub struct Elements<'v> {
    bytes: &'v [u8],
    offset: usize,
}

impl<'v> Iterator for Elements<'v> {
    type Item = (Range<usize>, &'v [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let start = self.offset;
        let (size, varint) = varint_read(self.bytes.get(start..)?)?;
        let from = start + varint;
        let element = self.bytes.get(from..from.checked_add(size)?)?;
        self.offset = from + size;
        Some((start..self.offset, element))
    }
}

impl<'v> ListView<'v> {
    /// A view of a compact list's value (type byte included).
    #[must_use]
    pub const fn new(bytes: &'v [u8]) -> Self {
        Self { bytes, start: 1 }
    }

    /// A view of a large list's node (its header included: [`large::NODE_HEADER_SIZE`]).
    #[must_use]
    pub const fn node(bytes: &'v [u8]) -> Self {
        Self {
            bytes,
            start: large::NODE_HEADER_SIZE,
        }
    }

    /// The elements, head to tail, with their ranges in the value.
    #[must_use]
    pub fn ranges(&self) -> Elements<'v> {
        Elements {
            bytes: self.bytes,
            offset: self.start,
        }
    }

    /// The elements, head to tail.
    pub fn iter(&self) -> impl Iterator<Item = &'v [u8]> + Clone + use<'v> {
        self.ranges().map(|(_, element)| element)
    }

    /// Number of elements (LLEN).
    #[must_use]
    pub fn len(&self) -> usize {
        self.ranges().count()
    }

    /// Whether the list has no element (never true of a stored list).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ranges().next().is_none()
    }

    /// The element at `index` from the head.
    #[must_use]
    pub fn nth(&self, index: usize) -> Option<&'v [u8]> {
        self.iter().nth(index)
    }
}

/// Whether `value` is a well-formed compact list: the type byte, at least one element,
/// and elements that end exactly at its end. Recovery refuses anything else.
#[must_use]
pub fn is_valid(value: &[u8]) -> bool {
    if value.first() != Some(&TYPE_LIST) {
        return false;
    }
    let mut elements = ListView::new(value).ranges();
    let mut count = 0usize;
    while elements.next().is_some() {
        count += 1;
    }
    count > 0 && elements.offset == value.len()
}

/// The index `index` names in a list of `len` elements (negative counts from the tail),
/// if it is inside the list.
#[must_use]
pub fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let index = if index < 0 { len + index } else { index };
    if (0..len).contains(&index) {
        usize::try_from(index).ok()
    } else {
        None
    }
}

/// The elements `start..=stop` names in a list of `len` (LRANGE, LTRIM): negative indexes
/// count from the tail, and the range is clipped to the list (empty if it misses it).
#[must_use]
pub fn resolve_range(start: i64, stop: i64, len: usize) -> Range<usize> {
    let len_signed = i64::try_from(len).unwrap_or(i64::MAX);
    let start = if start < 0 {
        len_signed.saturating_add(start)
    } else {
        start
    }
    .max(0);
    let stop = if stop < 0 {
        len_signed.saturating_add(stop)
    } else {
        stop
    };
    if start > stop || start >= len_signed {
        return 0..0;
    }
    let stop = stop.min(len_signed - 1);
    // NOTE: both are within 0..len, a usize.
    #[expect(
        clippy::cast_sign_loss,
        clippy::cast_possible_truncation,
        reason = "0..len"
    )]
    let range = start as usize..stop as usize + 1;
    range
}

/// What happens to one old element in a rewrite.
#[derive(Debug, Clone, Copy)]
enum Step<'e> {
    /// Kept as it is.
    Keep,
    /// Dropped (LREM).
    Drop,
    /// Replaced by these bytes (LSET).
    Replace(&'e [u8]),
    /// Kept, with these bytes before it (LINSERT BEFORE).
    Before(&'e [u8]),
    /// Kept, with these bytes after it (LINSERT AFTER).
    After(&'e [u8]),
}

/// A rewrite of a list: `head` elements, the old elements in `keep` each after `step`,
/// then `tail` elements.
struct Rewrite<'e, H, T, S> {
    head: H,
    keep: Range<usize>,
    step: S,
    tail: T,
    _elements: core::marker::PhantomData<&'e [u8]>,
}

impl<'e, H, T, S> Rewrite<'e, H, T, S>
where
    H: Iterator<Item = &'e [u8]> + Clone,
    T: Iterator<Item = &'e [u8]> + Clone,
    S: Fn(usize, &[u8]) -> Step<'e>,
{
    fn compose(&self, old: &[u8], out: &mut Out<'_>) {
        out.push(&[TYPE_LIST]);
        for element in self.head.clone() {
            push_element(out, element);
        }
        let old_elements = ListView::new(old).ranges().enumerate();
        for (index, (range, element)) in old_elements {
            if !self.keep.contains(&index) {
                continue;
            }
            match (self.step)(index, element) {
                Step::Keep => out.push(&old[range]),
                Step::Drop => {}
                Step::Replace(bytes) => push_element(out, bytes),
                Step::Before(bytes) => {
                    push_element(out, bytes);
                    out.push(&old[range]);
                }
                Step::After(bytes) => {
                    out.push(&old[range]);
                    push_element(out, bytes);
                }
            }
        }
        for element in self.tail.clone() {
            push_element(out, element);
        }
    }
}

/// A [`Rewrite`]; a function, so that closures passed as `step` get the signature for any
/// lifetime of the old element.
fn rewrite<'e, H, T, S>(head: H, keep: Range<usize>, step: S, tail: T) -> Rewrite<'e, H, T, S>
where
    S: Fn(usize, &[u8]) -> Step<'e>,
{
    Rewrite {
        head,
        keep,
        step,
        tail,
        _elements: core::marker::PhantomData,
    }
}

fn push_element(out: &mut Out<'_>, element: &[u8]) {
    out.push_varint(element.len());
    out.push(element);
}

/// The [`Rewrite`] of [`keep_only`].
type KeepOnly<'e> = Rewrite<
    'e,
    core::iter::Empty<&'e [u8]>,
    core::iter::Empty<&'e [u8]>,
    fn(usize, &[u8]) -> Step<'e>,
>;

/// A rewrite that changes nothing but keeps the old elements in `keep` (pops, LTRIM).
fn keep_only<'e>(keep: Range<usize>) -> KeepOnly<'e> {
    Rewrite {
        head: core::iter::empty(),
        keep,
        step: |_, _| Step::Keep,
        tail: core::iter::empty(),
        _elements: core::marker::PhantomData,
    }
}

impl Store<'_> {
    /// The list at `key` for a read (`None` if absent), counted as an access.
    ///
    /// # Errors
    /// [`StoreError::WrongType`] if the key holds another type.
    pub fn list_view(
        &mut self,
        db: u8,
        key: &[u8],
        now: Timestamp,
    ) -> Result<Option<ListRead<'_>>, StoreError> {
        let found = self.collection_found(db, key, now, ValueType::List)?;
        Ok(found.map(|found| self.list_read(&found)))
    }

    /// The list of the live key item `found`, in either form.
    pub(super) fn list_read(&self, found: &Found) -> ListRead<'_> {
        let value = self.value_of(found);
        match Header::read(value) {
            Some(header) => {
                let owner = &self.segments.bytes(found.location)[found.layout.key.clone()];
                ListRead::Large(LargeList::new(self, found.layout.db, owner, header))
            }
            None => ListRead::Compact(ListView::new(value)),
        }
    }

    /// Refuses an element no list node can hold (one node of it alone passes the item
    /// size limit), before anything changes.
    fn list_element_check(&self, element: &[u8]) -> Result<(), StoreError> {
        let node = large::NODE_HEADER_SIZE + item::varint_size(element.len()) + element.len();
        if node > self.config.value_size_max as usize {
            return Err(StoreError::CollectionTooLarge);
        }
        Ok(())
    }

    /// Whether a compact list of `size` value bytes and `count` elements would pass
    /// `list-max-listpack-size` (and can take the large form, under a short enough key).
    fn list_passes(&self, key: &[u8], size: usize, count: usize) -> bool {
        let node_size = size.saturating_sub(1) + large::NODE_HEADER_SIZE;
        key.len() <= LARGE_KEY_SIZE_MAX && !NodeLimit::of(&self.config).fits(node_size, count)
    }

    /// The header of the large list at `key`, converting the compact one there first if
    /// `rewrite` of it would pass `list-max-listpack-size`; `None` to keep it compact.
    #[expect(
        clippy::too_many_arguments,
        reason = "a key, its rewrite and the count"
    )]
    fn list_large_for<'e, H, T, S>(
        &mut self,
        db: u8,
        key: &[u8],
        lookup: &Lookup,
        rewrite: &Rewrite<'e, H, T, S>,
        count: usize,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<Option<Header>, StoreError>
    where
        H: Iterator<Item = &'e [u8]> + Clone,
        T: Iterator<Item = &'e [u8]> + Clone,
        S: Fn(usize, &[u8]) -> Step<'e>,
    {
        let Some(found) = &lookup.found else {
            return Ok(None);
        };
        if let Some(header) = self.header_of(found) {
            return Ok(Some(header));
        }
        let mut sizing = Out {
            target: None,
            size: 0,
        };
        rewrite.compose(self.value_of(found), &mut sizing);
        if !self.list_passes(key, sizing.size, count) {
            return Ok(None);
        }
        self.conversion_room(db, key, (sizing.size, count), core::iter::empty(), now, log)?;
        self.list_convert(db, key, now, log)?;
        self.list_header(db, key)
            .map(Some)
            .ok_or(StoreError::OutOfMemory)
    }

    /// Room for converting the compact list at `key` into a large one of `size` bytes and
    /// `count` elements, for the write after it, and for `also`: counted from above (the
    /// result's bytes with a node's overhead per element, three times over), so that a
    /// write that cannot have all of it is refused before it changes anything (the fuzzer
    /// found a push, and later a move, refused for memory after the conversion was
    /// written and logged).
    pub(super) fn conversion_room(
        &mut self,
        db: u8,
        key: &[u8],
        (size, count): (usize, usize),
        also: impl Iterator<Item = usize> + Clone,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        let bound = size + 64 * (count + 1);
        if bound <= self.config.value_size_max as usize {
            let part = item::item_size(key.len() + item::PART_NUMBER_SIZE, bound, 0);
            let sizes = [part, part, part].into_iter().chain(also);
            self.header_room(db, key, sizes, count + 2, now, log)?;
        }
        Ok(())
    }

    /// Pushes `elements` one by one at `end` of the list at `key` (creating it, unless
    /// `only_if_exists`) and returns its new length, 0 if it does not exist and
    /// `only_if_exists` (LPUSH, RPUSH, LPUSHX, RPUSHX). The key's expiry is kept.
    ///
    /// # Errors
    /// [`StoreError::WrongType`], [`StoreError::CollectionTooLarge`], or a memory error;
    /// nothing changes then.
    #[expect(clippy::too_many_arguments, reason = "a key, an end and its elements")]
    pub fn list_push<'e, E>(
        &mut self,
        db: u8,
        key: &[u8],
        end: End,
        elements: E,
        only_if_exists: bool,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<usize, StoreError>
    where
        E: DoubleEndedIterator<Item = &'e [u8]> + Clone,
    {
        let lookup = self.collection_lookup(db, key, now, ValueType::List)?;
        if only_if_exists && lookup.found.is_none() {
            return Ok(0);
        }
        for element in elements.clone() {
            self.list_element_check(element)?;
        }
        let old_len = self.lookup_len(&lookup);
        let added = elements.clone().count();
        let pushed = large::Pushed::Given(elements.clone());
        let (head, tail) = match end {
            End::Head => (Some(elements.clone().rev()), None),
            End::Tail => (None, Some(elements)),
        };
        let rewrite = rewrite(
            head.into_iter().flatten(),
            0..usize::MAX,
            |_, _| Step::Keep,
            tail.into_iter().flatten(),
        );
        if lookup.found.is_none() {
            let mut sizing = Out {
                target: None,
                size: 0,
            };
            rewrite.compose(&[], &mut sizing);
            if self.list_passes(key, sizing.size, added) {
                if key.len() > self.config.key_size_max as usize {
                    return Err(StoreError::KeyTooLarge);
                }
                self.list_push_large(db, key, None, end, &pushed, now, log)?;
                return Ok(added);
            }
        }
        let large = self.list_large_for(db, key, &lookup, &rewrite, old_len + added, now, log)?;
        if let Some(header) = large {
            self.list_push_large(db, key, Some(header), end, &pushed, now, log)?;
            return Ok(old_len + added);
        }
        self.list_rewrite(db, key, lookup, &rewrite, now, log)?;
        Ok(old_len + added)
    }

    /// Pops up to `count` elements from `end` of the list at `key`, calling `visit(total,
    /// element)` for each, in pop order, once the write is done (`total` is how many are
    /// popped); returns that number, 0 if the key is absent. The key goes with its last
    /// element (LPOP, RPOP, LMPOP).
    ///
    /// # Errors
    /// [`StoreError::WrongType`], or a memory error; nothing changes then.
    #[expect(
        clippy::too_many_arguments,
        reason = "a key, an end, a count, a visitor"
    )]
    pub fn list_pop(
        &mut self,
        db: u8,
        key: &[u8],
        end: End,
        count: usize,
        now: Timestamp,
        log: &mut impl LogSink,
        mut visit: impl FnMut(usize, &[u8]),
    ) -> Result<usize, StoreError> {
        let lookup = self.collection_lookup(db, key, now, ValueType::List)?;
        let Some(found) = lookup.found.clone() else {
            return Ok(0);
        };
        if let Some(header) = self.header_of(&found) {
            return self
                .list_pop_large_visiting(db, key, &found, header, end, count, now, log, visit);
        }
        let len = ListView::new(self.value_of(&found)).len();
        let popped = count.min(len);
        if popped == 0 {
            return Ok(0);
        }
        let (taken, kept) = match end {
            End::Head => (0..popped, popped..len),
            End::Tail => (len - popped..len, 0..len - popped),
        };
        let visit_popped = |old: &[u8], visit: &mut dyn FnMut(usize, &[u8])| {
            let view = ListView::new(old);
            match end {
                End::Head => view.iter().take(popped).for_each(|e| visit(popped, e)),
                End::Tail => {
                    // Tail pops come tail first: walk the taken elements backwards.
                    for index in taken.clone().rev() {
                        visit(popped, view.nth(index).unwrap_or_default());
                    }
                }
            }
        };
        if kept.is_empty() {
            visit_popped(self.value_of(&found), &mut visit);
            self.remove(&found);
            log.record(Record::Del { db, key });
            return Ok(popped);
        }
        let rewrite = keep_only(kept);
        let mut sizing = Out {
            target: None,
            size: 0,
        };
        rewrite.compose(self.value_of(&found), &mut sizing);
        let size = sizing.size;
        self.compact_put(db, key, lookup, size, now, log, |old, target| {
            visit_popped(old, &mut visit);
            let mut out = Out {
                target: Some(target),
                size: 0,
            };
            rewrite.compose(old, &mut out);
            assert!(out.size == size, "list size {size} != written {}", out.size);
        })?;
        Ok(popped)
    }

    /// Sets the element at `index` (negative counts from the tail) of the list at `key`
    /// (LSET).
    ///
    /// # Errors
    /// [`StoreError::NoSuchKey`], [`StoreError::IndexOutOfRange`],
    /// [`StoreError::WrongType`], [`StoreError::CollectionTooLarge`], or a memory error;
    /// nothing changes then.
    pub fn list_set(
        &mut self,
        db: u8,
        key: &[u8],
        index: i64,
        element: &[u8],
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        let lookup = self.collection_lookup(db, key, now, ValueType::List)?;
        if lookup.found.is_none() {
            return Err(StoreError::NoSuchKey);
        }
        let len = self.lookup_len(&lookup);
        let target = resolve_index(index, len).ok_or(StoreError::IndexOutOfRange)?;
        self.list_element_check(element)?;
        let step = |at: usize, _: &[u8]| {
            if at == target {
                Step::Replace(element)
            } else {
                Step::Keep
            }
        };
        let rewrite = rewrite(
            core::iter::empty(),
            0..usize::MAX,
            step,
            core::iter::empty(),
        );
        if let Some(header) = self.list_large_for(db, key, &lookup, &rewrite, len, now, log)? {
            return self.list_one_node(db, key, header, target, &step, header.len, now, log);
        }
        self.list_rewrite(db, key, lookup, &rewrite, now, log)
    }

    /// Inserts `element` before (or after) the first element equal to `pivot` in the list
    /// at `key` and returns the new length: -1 if there is no such element, 0 if the key
    /// is absent (LINSERT).
    ///
    /// # Errors
    /// [`StoreError::WrongType`], [`StoreError::CollectionTooLarge`], or a memory error;
    /// nothing changes then.
    #[expect(clippy::too_many_arguments, reason = "a key, a pivot, an element")]
    pub fn list_insert(
        &mut self,
        db: u8,
        key: &[u8],
        before: bool,
        pivot: &[u8],
        element: &[u8],
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<i64, StoreError> {
        let lookup = self.collection_lookup(db, key, now, ValueType::List)?;
        let Some(found) = &lookup.found else {
            return Ok(0);
        };
        let list = self.list_read(found);
        let Some(position) = list.iter().position(|other| other == pivot) else {
            return Ok(-1);
        };
        let len = list.len();
        self.list_element_check(element)?;
        let step = |at: usize, _: &[u8]| match (at == position, before) {
            (true, true) => Step::Before(element),
            (true, false) => Step::After(element),
            (false, _) => Step::Keep,
        };
        let rewrite = rewrite(
            core::iter::empty(),
            0..usize::MAX,
            step,
            core::iter::empty(),
        );
        if let Some(header) = self.list_large_for(db, key, &lookup, &rewrite, len + 1, now, log)? {
            self.list_one_node(db, key, header, position, &step, header.len + 1, now, log)?;
        } else {
            self.list_rewrite(db, key, lookup, &rewrite, now, log)?;
        }
        Ok(i64::try_from(len + 1).unwrap_or(i64::MAX))
    }

    /// Removes elements equal to `element` from the list at `key`: the first `count` from
    /// the head (`count > 0`), the last `-count` from the tail (`count < 0`), or all
    /// (`count == 0`); returns how many. The key goes with its last element (LREM).
    ///
    /// # Errors
    /// [`StoreError::WrongType`], or a memory error; nothing changes then.
    pub fn list_remove(
        &mut self,
        db: u8,
        key: &[u8],
        count: i64,
        element: &[u8],
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<usize, StoreError> {
        let lookup = self.collection_lookup(db, key, now, ValueType::List)?;
        let Some(found) = &lookup.found else {
            return Ok(0);
        };
        if let Some(header) = self.header_of(found) {
            return self.list_remove_large(db, key, header, count, element, now, log);
        }
        let view = ListView::new(self.value_of(found));
        let matches = view.iter().filter(|other| *other == element).count();
        let removed_ordinals = removed_matches(matches, count);
        let removed = removed_ordinals.len();
        if removed == 0 {
            return Ok(0);
        }
        // Each old index's match ordinal, counted as the walk goes: the step closure sees
        // indexes in order, so a running count in a Cell is exact.
        let ordinal = core::cell::Cell::new(0usize);
        let rewrite = rewrite(
            core::iter::empty(),
            0..usize::MAX,
            |at, bytes: &[u8]| {
                if at == 0 {
                    ordinal.set(0);
                }
                if bytes != element {
                    return Step::Keep;
                }
                let this = ordinal.get();
                ordinal.set(this + 1);
                if removed_ordinals.contains(&this) {
                    Step::Drop
                } else {
                    Step::Keep
                }
            },
            core::iter::empty(),
        );
        if removed == view.len() {
            let found = found.clone();
            self.remove(&found);
            log.record(Record::Del { db, key });
            return Ok(removed);
        }
        self.list_rewrite(db, key, lookup, &rewrite, now, log)?;
        Ok(removed)
    }

    /// Keeps only the elements `start..=stop` (Redis's indexes) of the list at `key`; the
    /// key goes if none is left (LTRIM).
    ///
    /// # Errors
    /// [`StoreError::WrongType`], or a memory error; nothing changes then.
    pub fn list_trim(
        &mut self,
        db: u8,
        key: &[u8],
        start: i64,
        stop: i64,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        let lookup = self.collection_lookup(db, key, now, ValueType::List)?;
        let Some(found) = lookup.found.clone() else {
            return Ok(());
        };
        let header = self.header_of(&found);
        let len = self.list_read(&found).len();
        let keep = resolve_range(start, stop, len);
        if keep.is_empty() {
            self.remove(&found);
            log.record(Record::Del { db, key });
            return Ok(());
        }
        if keep.len() == len {
            return Ok(());
        }
        if let Some(header) = header {
            let window = large::Window {
                first: header.chain.head,
                start: 0,
                nodes: header.part_count,
            };
            let new_len = keep.len() as u64;
            let (action, step) = large::pop_rules(keep);
            return self
                .list_rewrite_large(db, key, header, window, &action, &step, new_len, now, log);
        }
        self.list_rewrite(db, key, lookup, &keep_only(keep), now, log)
    }
}

impl Store<'_> {
    /// The number of elements of the list `lookup` found (0 if none).
    fn lookup_len(&self, lookup: &Lookup) -> usize {
        lookup
            .found
            .as_ref()
            .map_or(0, |found| self.list_read(found).len())
    }

    /// Writes the list at `key` as `rewrite` of its current value.
    fn list_rewrite<'e, H, T, S>(
        &mut self,
        db: u8,
        key: &[u8],
        lookup: Lookup,
        rewrite: &Rewrite<'e, H, T, S>,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError>
    where
        H: Iterator<Item = &'e [u8]> + Clone,
        T: Iterator<Item = &'e [u8]> + Clone,
        S: Fn(usize, &[u8]) -> Step<'e>,
    {
        let old: &[u8] = match &lookup.found {
            Some(found) => self.value_of(found),
            None => &[],
        };
        let mut sizing = Out {
            target: None,
            size: 0,
        };
        rewrite.compose(old, &mut sizing);
        let size = sizing.size;
        self.compact_put(db, key, lookup, size, now, log, |old, target| {
            let mut out = Out {
                target: Some(target),
                size: 0,
            };
            rewrite.compose(old, &mut out);
            assert!(out.size == size, "list size {size} != written {}", out.size);
        })
    }
}

mod large;
mod moves;
pub use large::{
    LargeElements, LargeList, NODE_HEADER_SIZE, NODE_NONE, NodeLimit, TYPE_NODE, node_count,
    node_is_valid, node_next, node_prev, node_seed,
};
pub use moves::list_move;

/// A list read in place, in either form.
#[derive(Debug, Clone, Copy)]
pub enum ListRead<'s> {
    /// A compact list: one item.
    Compact(ListView<'s>),
    /// A large list: a header and its nodes.
    Large(LargeList<'s>),
}

impl<'s> ListRead<'s> {
    /// Number of elements (LLEN): O(1) for a large list, O(n) for a compact one.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Self::Compact(view) => view.len(),
            Self::Large(large) => large.len(),
        }
    }

    /// Whether it has no element (never true of a stored list).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements, head to tail.
    #[must_use]
    pub fn iter(&self) -> ListIter<'s> {
        self.iter_from(0)
    }

    /// The elements from `index` on, head to tail (a large list finds the node of
    /// `index` from the nearer end, reading node counts only).
    #[must_use]
    pub fn iter_from(&self, index: usize) -> ListIter<'s> {
        match self {
            Self::Compact(view) => {
                let mut elements = view.ranges();
                if index > 0 {
                    elements.nth(index - 1);
                }
                ListIter::Compact(elements)
            }
            Self::Large(large) => ListIter::Large(large.iter_from(index)),
        }
    }

    /// The element at `index` from the head.
    #[must_use]
    pub fn nth(&self, index: usize) -> Option<&'s [u8]> {
        self.iter_from(index).next()
    }
}

/// The elements of a [`ListRead`], head to tail.
#[derive(Debug, Clone)]
pub enum ListIter<'s> {
    /// A compact list's.
    Compact(Elements<'s>),
    /// A large list's.
    Large(LargeElements<'s>),
}

impl<'s> Iterator for ListIter<'s> {
    type Item = &'s [u8];

    fn next(&mut self) -> Option<&'s [u8]> {
        match self {
            Self::Compact(elements) => elements.next().map(|(_, element)| element),
            Self::Large(elements) => elements.next(),
        }
    }
}

/// LREM's rule, in both forms: of `matches` elements equal to the one given, the match
/// ordinals (counted from the head) that go: the first `count`, the last `-count`, or all
/// with 0.
pub(super) fn removed_matches(matches: usize, count: i64) -> Range<usize> {
    let limit = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    let removed = if count == 0 {
        matches
    } else {
        matches.min(limit)
    };
    let first = if count < 0 { matches - removed } else { 0 };
    first..first + removed
}

#[cfg(test)]
mod tests;
