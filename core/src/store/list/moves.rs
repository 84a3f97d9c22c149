//! LMOVE and RPOPLPUSH: one element from one end of a source list to one end of a target
//! list, in one store or across two shards ([`list_move`]).
//!
//! Two distinct keys: room for both new items is made first (the target's, with the
//! element, and the source's, without it), then the target is written with the element
//! copied inside segment memory from the source's item (so the element never needs a
//! buffer), then the source is written (or removed, with its last element). The records
//! are the target's `Set` then the source's `Set` or `Del`, reported by one call, so the
//! runtime logs them as one group. The same key rotates the list in one rewrite.

use core::ops::Range;

use super::large::{Pushed, node_count, pop_rules};
use super::{End, ListView, TYPE_LIST, keep_only};
use crate::codec::record::Record;
use crate::error::StoreError;
use crate::storage::item::{self, ItemKind, varint_size};
use crate::store::compact::{Out, ValueType, split};
use crate::store::large::{HEADER_SIZE_MAX, Header, PartKey, SizeList};
use crate::store::shards::{Shards, shard_of};
use crate::store::{Found, LogSink, Store, expired};
use crate::time::Timestamp;

/// Where the moved element lies in the source's value, and what the source keeps.
#[derive(Debug, Clone)]
struct Plan {
    /// The element's bytes (without its size), relative to the source's value.
    element: Range<usize>,
    /// The source elements that stay (empty: the source goes).
    kept: Range<usize>,
    /// The source's new value size (0 if it goes).
    source_size: usize,
}

/// [`Store::list_move`] across the shards: in one store when both keys live in the same
/// shard, else from the source's store to the target's (LMOVE, RPOPLPUSH, BLMOVE).
///
/// # Errors
/// As [`Store::list_move`].
#[expect(clippy::too_many_arguments, reason = "two keys, each with its end")]
pub fn list_move(
    shards: &mut dyn Shards<'_>,
    db: u8,
    source: &[u8],
    target: &[u8],
    from: End,
    to: End,
    now: Timestamp,
    log: &mut impl LogSink,
    visit: impl FnOnce(&[u8]),
) -> Result<bool, StoreError> {
    let count = shards.count();
    let (source_shard, target_shard) = (shard_of(source, count), shard_of(target, count));
    if source_shard == target_shard {
        return shards
            .store(source_shard)
            .list_move(db, source, target, from, to, now, log, visit);
    }
    let mut result = Err(StoreError::OutOfMemory);
    let mut visit = Some(visit);
    shards.with_pair(
        source_shard,
        target_shard,
        &mut |source_store, target_store| {
            result = move_across(
                source_store,
                target_store,
                db,
                (source, target),
                (from, to),
                now,
                log,
                &mut |element| {
                    if let Some(visit) = visit.take() {
                        visit(element);
                    }
                },
            );
        },
    );
    result
}

impl Store<'_> {
    /// Moves one element from `from` of the list at `source` to `to` of the list at
    /// `target`, both in this store, calling `visit` with it once the move is done; returns
    /// whether there was one (LMOVE, RPOPLPUSH). The same key rotates the list.
    ///
    /// # Errors
    /// [`StoreError::WrongType`] (of the source or the target, checked before anything
    /// changes), [`StoreError::CollectionTooLarge`], or a memory error; nothing changes
    /// then (but evictions made while looking for room).
    #[expect(clippy::too_many_arguments, reason = "two keys, each with its end")]
    pub fn list_move(
        &mut self,
        db: u8,
        source: &[u8],
        target: &[u8],
        from: End,
        to: End,
        now: Timestamp,
        log: &mut impl LogSink,
        visit: impl FnOnce(&[u8]),
    ) -> Result<bool, StoreError> {
        let source_lookup = self.collection_lookup(db, source, now, ValueType::List)?;
        let Some(source_found) = source_lookup.found.clone() else {
            return Ok(false);
        };
        let target_lookup = self.collection_lookup(db, target, now, ValueType::List)?;
        if self.move_is_large(&source_found, target, target_lookup.found.as_ref(), from) {
            return self.list_move_large(db, source, target, from, to, now, log, visit);
        }
        let plan = plan(self.value_of(&source_found), from);
        if source == target {
            let view = ListView::new(self.value_of(&source_found));
            if from == to || view.len() == 1 {
                // Popped and pushed back at the same end: the list is as it was.
                visit(
                    view.nth(if from == End::Head { 0 } else { view.len() - 1 })
                        .unwrap_or_default(),
                );
                return Ok(true);
            }
            let size = source_found.layout.value.len();
            let element = plan.element.clone();
            self.compact_put(db, source, source_lookup, size, now, log, |old, out| {
                visit(old.get(element).unwrap_or_default());
                let mut out = Out {
                    target: Some(out),
                    size: 0,
                };
                compose_rotate(old, from, &mut out);
                assert!(out.size == size, "list size {size} != written {}", out.size);
            })?;
            return Ok(true);
        }
        let size_before = target_size(self, target_lookup.found.as_ref(), plan.element.len());
        self.check_move_sizes(target, size_before)?;
        let sizes = [
            item::item_size(
                target.len(),
                size_before,
                expiry(target_lookup.found.as_ref()),
            ),
            item::item_size(
                source.len(),
                plan.source_size,
                source_found.layout.expires_at,
            ),
        ];
        let source_item_count = usize::from(plan.source_size > 0);
        let new_key_count = usize::from(target_lookup.found.is_none());
        self.ensure_room(
            sizes.into_iter().take(1 + source_item_count),
            new_key_count,
            now,
            log,
        )?;
        let source_found = self.refind_live(db, source, now)?;
        let target_found = self.find_live(db, target, now);
        let size = target_size(self, target_found.as_ref(), plan.element.len());
        let element_start = source_found.location + source_found.layout.value.start;
        let element = element_start + plan.element.start..element_start + plan.element.end;
        self.put_target(db, target, target_found, to, Copy::Here(element), size, log)?;
        let source_found = self.refind_live(db, source, now)?;
        self.put_source(db, source, source_found, &plan, log)?;
        let target_found = self.refind_live(db, target, now)?;
        let view = ListView::new(self.value_of(&target_found));
        visit(
            view.nth(if to == End::Head { 0 } else { view.len() - 1 })
                .unwrap_or_default(),
        );
        Ok(true)
    }

    /// The live entry of `key`, which the caller made sure of before making room: gone
    /// now means making room evicted it.
    fn refind_live(&mut self, db: u8, key: &[u8], now: Timestamp) -> Result<Found, StoreError> {
        let found = self
            .find(db, key)
            .filter(|found| !expired(found.layout.expires_at, now));
        found.ok_or(StoreError::OutOfMemory)
    }

    /// The limits a move's target item must keep.
    fn check_move_sizes(&self, target: &[u8], target_size: usize) -> Result<(), StoreError> {
        if target.len() > self.config.key_size_max as usize {
            return Err(StoreError::KeyTooLarge);
        }
        if target_size > self.config.value_size_max as usize {
            return Err(StoreError::CollectionTooLarge);
        }
        Ok(())
    }

    /// Writes the target list (`found`, or a new one) with the element pushed at `to`; the
    /// element is copied from `copy`. Room was made.
    #[expect(clippy::too_many_arguments, reason = "the private core of a move")]
    fn put_target(
        &mut self,
        db: u8,
        target: &[u8],
        found: Option<Found>,
        to: End,
        copy: Copy<'_>,
        size: usize,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        let hash = self.hash(target);
        let expires_at = expiry(found.as_ref());
        self.put_found(
            db,
            target,
            hash,
            found,
            ItemKind::Compact,
            size,
            expires_at,
            log,
            |memory, old, start| {
                let element_size = match &copy {
                    Copy::Here(range) => range.len(),
                    Copy::From(bytes) => bytes.len(),
                };
                let mut varint = [0u8; 5];
                let varint_length = item::varint_write(&mut varint, element_size);
                let entry_size = varint_length + element_size;
                let old_size = old.len();
                let body_old = old_size.saturating_sub(1);
                // Layout of the new value: type byte, then the old elements and the new
                // one in the order `to` says.
                let (old_at, element_at) = match to {
                    End::Head => (1 + entry_size, 1),
                    End::Tail => (1, 1 + body_old),
                };
                assert!(1 + body_old + entry_size == size, "target size {size}");
                memory[start] = TYPE_LIST;
                if body_old > 0 {
                    memory.copy_within(old.start + 1..old.end, start + old_at);
                }
                let entry_start = start + element_at;
                memory[entry_start..entry_start + varint_length]
                    .copy_from_slice(&varint[..varint_length]);
                let bytes_start = entry_start + varint_length;
                match copy {
                    Copy::Here(range) => memory.copy_within(range, bytes_start),
                    Copy::From(bytes) => {
                        memory[bytes_start..bytes_start + bytes.len()].copy_from_slice(bytes);
                    }
                }
            },
        )
    }

    /// Writes the source list without the moved element, or removes it with its last one.
    /// Room was made.
    fn put_source(
        &mut self,
        db: u8,
        source: &[u8],
        found: Found,
        plan: &Plan,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        if plan.kept.is_empty() {
            self.remove(&found);
            log.record(Record::Del { db, key: source });
            return Ok(());
        }
        let hash = self.hash(source);
        let expires_at = found.layout.expires_at;
        let size = plan.source_size;
        let rewrite = keep_only(plan.kept.clone());
        self.put_found(
            db,
            source,
            hash,
            Some(found),
            ItemKind::Compact,
            size,
            expires_at,
            log,
            |memory, old, start| {
                let (old, target) = split(memory, old, start, size);
                let mut out = Out {
                    target: Some(target),
                    size: 0,
                };
                rewrite.compose(old, &mut out);
                assert!(out.size == size, "list size {size} != written {}", out.size);
            },
        )
    }
}

/// Where a move's element comes from.
enum Copy<'b> {
    /// A range of this store's segment memory (the source lives in the same store).
    Here(Range<usize>),
    /// Bytes of another store's segment memory.
    From(&'b [u8]),
}

/// The expiry of an entry (0 for none or absent).
fn expiry(found: Option<&Found>) -> Timestamp {
    found.map_or(0, |found| found.layout.expires_at)
}

/// The target's new value size: its old value (or a type byte) plus the element's entry.
fn target_size(store: &Store<'_>, found: Option<&Found>, element_size: usize) -> usize {
    let old = found.map_or(1, |found| store.value_of(found).len());
    old + varint_size(element_size) + element_size
}

/// What moving the element at `from` does to the source `value`.
fn plan(value: &[u8], from: End) -> Plan {
    let view = ListView::new(value);
    let len = view.len();
    let index = if from == End::Head {
        0
    } else {
        len.saturating_sub(1)
    };
    let (range, element) = view.ranges().nth(index).unwrap_or((0..0, &[]));
    let element_start = range.end - element.len();
    let kept = match from {
        End::Head => 1..len,
        End::Tail => 0..len.saturating_sub(1),
    };
    let source_size = if kept.is_empty() {
        0
    } else {
        value.len() - range.len()
    };
    Plan {
        element: element_start..range.end,
        kept,
        source_size,
    }
}

/// The value of a list rotated by one (LMOVE with the same source and target): the
/// element at `from` moves to the other end.
fn compose_rotate(old: &[u8], from: End, out: &mut Out<'_>) {
    let view = ListView::new(old);
    let len = view.len();
    out.push(&[TYPE_LIST]);
    let ranges = || view.ranges().map(|(range, _)| range);
    match from {
        End::Head => {
            for range in ranges().skip(1).chain(ranges().take(1)) {
                out.push(&old[range]);
            }
        }
        End::Tail => {
            for range in ranges().skip(len - 1).chain(ranges().take(len - 1)) {
                out.push(&old[range]);
            }
        }
    }
}

/// A move between two stores: the target written first with a copy of the element, then
/// the source.
#[expect(clippy::too_many_arguments, reason = "two stores, two keys, two ends")]
fn move_across(
    source_store: &mut Store<'_>,
    target_store: &mut Store<'_>,
    db: u8,
    (source, target): (&[u8], &[u8]),
    (from, to): (End, End),
    now: Timestamp,
    log: &mut impl LogSink,
    visit: &mut dyn FnMut(&[u8]),
) -> Result<bool, StoreError> {
    let source_lookup = source_store.collection_lookup(db, source, now, ValueType::List)?;
    let Some(source_found) = source_lookup.found else {
        return Ok(false);
    };
    let target_lookup = target_store.collection_lookup(db, target, now, ValueType::List)?;
    let element_size = source_store.list_end_element(&source_found, from).len();
    if source_store.header_of(&source_found).is_some()
        || target_store.target_is_large(target, target_lookup.found.as_ref(), element_size)
    {
        return move_across_large(
            source_store,
            target_store,
            db,
            (source, target),
            (from, to),
            now,
            log,
            visit,
        );
    }
    let plan = plan(source_store.value_of(&source_found), from);
    let size_before = target_size(
        target_store,
        target_lookup.found.as_ref(),
        plan.element.len(),
    );
    target_store.check_move_sizes(target, size_before)?;
    // Room in the source first (its smaller item), then in the target: the target's write
    // is the first change, and nothing after it can fail for room.
    if plan.source_size > 0 {
        let size = item::item_size(
            source.len(),
            plan.source_size,
            source_found.layout.expires_at,
        );
        source_store.ensure_room(core::iter::once(size), 0, now, log)?;
    }
    let target_item = item::item_size(
        target.len(),
        size_before,
        expiry(target_lookup.found.as_ref()),
    );
    let new_key_count = usize::from(target_lookup.found.is_none());
    target_store.ensure_room(core::iter::once(target_item), new_key_count, now, log)?;
    let source_found = source_store.refind_live(db, source, now)?;
    let target_found = target_store.find_live(db, target, now);
    let size = target_size(target_store, target_found.as_ref(), plan.element.len());
    let value = source_store.value_of(&source_found);
    let element = value.get(plan.element.clone()).unwrap_or_default();
    target_store.put_target(db, target, target_found, to, Copy::From(element), size, log)?;
    visit(element);
    source_store.put_source(db, source, source_found, &plan, log)?;
    Ok(true)
}

impl Store<'_> {
    /// The element at `from` of the live list `found` (either form).
    fn list_end_element(&self, found: &Found, from: End) -> &[u8] {
        let list = self.list_read(found);
        let index = match from {
            End::Head => 0,
            End::Tail => list.len().saturating_sub(1),
        };
        list.nth(index).unwrap_or_default()
    }

    /// Where the element at `from` of the live list at `key` lies in segment memory.
    fn list_end_range(&self, db: u8, key: &[u8], from: End) -> Option<Range<usize>> {
        let found = self.find(db, key)?;
        let Some(header) = self.header_of(&found) else {
            let value_start = found.location + found.layout.value.start;
            let plan = plan(self.value_of(&found), from);
            return Some(value_start + plan.element.start..value_start + plan.element.end);
        };
        let number = match from {
            End::Head => header.chain.head,
            End::Tail => header.chain.tail,
        };
        let part = self.find_part(db, PartKey::new(key)?.of(number))?;
        let node = self.value_of(&part);
        let index = match from {
            End::Head => 0,
            End::Tail => node_count(node).checked_sub(1)?,
        };
        let (range, element) = ListView::node(node).ranges().nth(index)?;
        let value_start = part.location + part.layout.value.start;
        Some(value_start + range.end - element.len()..value_start + range.end)
    }

    /// Whether a move from the list `source` to `target` takes the large form's path:
    /// either list is large, or the target would pass `list-max-listpack-size`.
    fn move_is_large(
        &self,
        source: &Found,
        target: &[u8],
        target_found: Option<&Found>,
        from: End,
    ) -> bool {
        let element_size = self.list_end_element(source, from).len();
        self.header_of(source).is_some() || self.target_is_large(target, target_found, element_size)
    }

    /// Whether the target of a move of an element of `element_size` bytes is a large
    /// list, or a compact one (or none) that would pass `list-max-listpack-size`.
    fn target_is_large(&self, target: &[u8], found: Option<&Found>, element_size: usize) -> bool {
        if found.is_some_and(|found| self.header_of(found).is_some()) {
            return true;
        }
        let size = target_size(self, found, element_size);
        let count = found.map_or(0, |found| self.list_read(found).len()) + 1;
        self.list_passes(target, size, count)
    }

    /// The header of the target of a move once it is large: a compact one that the push
    /// would take past the limit is converted first, once room for the conversion, the
    /// push and `source`'s pop (`source_sizes`, when the source is in this store) is made;
    /// `None` if it stays compact.
    fn move_target_header(
        &mut self,
        db: u8,
        target: &[u8],
        element_size: usize,
        source: Option<(&[u8], &SizeList)>,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<Option<Header>, StoreError> {
        let found = self.find_live(db, target, now);
        if let Some(header) = found.as_ref().and_then(|found| self.header_of(found)) {
            return Ok(Some(header));
        }
        if let Some(found) = &found
            && self.target_is_large(target, Some(found), element_size)
        {
            let size = target_size(self, Some(found), element_size);
            let count = self.list_read(found).len() + 1;
            let also = source.map(|(_, sizes)| sizes.iter()).into_iter().flatten();
            self.conversion_room(db, target, (size, count), also, now, log)?;
            if let Some((source, _)) = source {
                // Making room must not have evicted the source either.
                self.refind_live(db, source, now)?;
            }
            self.list_convert(db, target, now, log)?;
            return self
                .list_header(db, target)
                .map(Some)
                .ok_or(StoreError::OutOfMemory);
        }
        Ok(None)
    }

    /// The room the removal of one element from `from` of the source takes: item sizes
    /// and new keys (a large source's pop rewrite, or a compact source's new value).
    fn source_room(
        &mut self,
        db: u8,
        source: &[u8],
        from: End,
    ) -> Result<(crate::store::large::SizeList, usize), StoreError> {
        let found = self.find(db, source).ok_or(StoreError::OutOfMemory)?;
        match self.header_of(&found) {
            Some(header) if header.len > 1 => {
                let (window, kept) = self.pop_window(db, source, &header, from, 1);
                let (action, step) = pop_rules(kept);
                self.rewrite_plan(db, source, header, window, &action, &step)
            }
            Some(_) => Ok((SizeList::new(core::iter::empty()), 0)),
            None => {
                let plan = plan(self.value_of(&found), from);
                let sizes = (plan.source_size > 0).then(|| {
                    item::item_size(source.len(), plan.source_size, found.layout.expires_at)
                });
                Ok((SizeList::new(sizes.into_iter()), 0))
            }
        }
    }

    /// Removes the element at `from` of the source list (either form), or the key with
    /// its last element. Room was made.
    fn source_pop(
        &mut self,
        db: u8,
        source: &[u8],
        from: End,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        let found = self.refind_live(db, source, now)?;
        match self.header_of(&found) {
            Some(header) if header.len > 1 => {
                let (window, kept) = self.pop_window(db, source, &header, from, 1);
                let (action, step) = pop_rules(kept);
                let new_len = header.len - 1;
                self.rewrite_apply(
                    db, source, header, window, &action, &step, new_len, now, log,
                )
            }
            Some(_) => {
                self.remove(&found);
                log.record(Record::Del { db, key: source });
                Ok(())
            }
            None => {
                let plan = plan(self.value_of(&found), from);
                self.put_source(db, source, found, &plan, log)
            }
        }
    }

    /// [`Store::list_move`] when a list is (or becomes) large: the target is converted
    /// if it passes the limit (once room for the conversion and both writes is made, so a
    /// refused move changes nothing), room is made for both writes, then the target takes the
    /// element (copied in segment memory from the source's node) and the source loses
    /// it. The same key rotates: a push at `to`, then a pop at `from`.
    #[expect(clippy::too_many_arguments, reason = "two keys, each with its end")]
    fn list_move_large(
        &mut self,
        db: u8,
        source: &[u8],
        target: &[u8],
        from: End,
        to: End,
        now: Timestamp,
        log: &mut impl LogSink,
        visit: impl FnOnce(&[u8]),
    ) -> Result<bool, StoreError> {
        let source_found = self.refind_live(db, source, now)?;
        let len = self.list_read(&source_found).len();
        let element_size = self.list_end_element(&source_found, from).len();
        if source == target && (from == to || len == 1) {
            visit(self.list_end_element(&source_found, from));
            return Ok(true);
        }
        if source != target {
            self.check_move_sizes(target, 0)?;
        }
        let (source_sizes, source_keys) = self.source_room(db, source, from)?;
        let header = self.move_target_header(
            db,
            target,
            element_size,
            Some((source, &source_sizes)),
            now,
            log,
        )?;
        let target_found = self.find_live(db, target, now);
        let target_new = target_found.is_none();
        let pushed = Pushed::<core::iter::Empty<&[u8]>>::Here(0..element_size);
        let large =
            header.is_some() || (target_new && self.target_is_large(target, None, element_size));
        let (mut sizes, mut new_keys) = match large {
            true => self.push_plan(db, target, header, to, &pushed)?,
            false => {
                let size = target_size(self, target_found.as_ref(), element_size);
                self.check_move_sizes(target, size)?;
                let expires_at = expiry(target_found.as_ref());
                let item = item::item_size(target.len(), size, expires_at);
                (SizeList::new(core::iter::once(item)), 0)
            }
        };
        new_keys += usize::from(target_new && !large);
        sizes.extend(&source_sizes);
        new_keys += source_keys;
        let header_sizes =
            [source, target].map(|key| item::item_size(key.len(), HEADER_SIZE_MAX, 0));
        self.ensure_room(sizes.iter().chain(header_sizes), new_keys, now, log)?;
        self.refind_live(db, source, now)?;
        if !target_new {
            self.refind_live(db, target, now)?;
        }
        let range = self
            .list_end_range(db, source, from)
            .ok_or(StoreError::OutOfMemory)?;
        if large {
            let header = self.list_header(db, target);
            let pushed = Pushed::<core::iter::Empty<&[u8]>>::Here(range);
            self.push_apply(db, target, header, to, &pushed, now, log)?;
        } else {
            let found = self.find_live(db, target, now);
            let size = target_size(self, found.as_ref(), element_size);
            self.put_target(db, target, found, to, Copy::Here(range), size, log)?;
        }
        // A rotation pushes at `to` first: the element to pop is still at `from`.
        self.source_pop(db, source, from, now, log)?;
        let target_found = self.refind_live(db, target, now)?;
        let moved = self.list_end_element(&target_found, to);
        visit(moved);
        Ok(true)
    }
}

/// [`move_across`] when a list is (or becomes) large: room in the source first, then the
/// target (converted if it passes the limit) takes a copy of the element, then the
/// source loses it.
#[expect(clippy::too_many_arguments, reason = "two stores, two keys, two ends")]
fn move_across_large(
    source_store: &mut Store<'_>,
    target_store: &mut Store<'_>,
    db: u8,
    (source, target): (&[u8], &[u8]),
    (from, to): (End, End),
    now: Timestamp,
    log: &mut impl LogSink,
    visit: &mut dyn FnMut(&[u8]),
) -> Result<bool, StoreError> {
    target_store.check_move_sizes(target, 0)?;
    let (sizes, new_keys) = source_store.source_room(db, source, from)?;
    source_store.header_room(db, source, sizes.iter(), new_keys, now, log)?;
    let source_found = source_store.refind_live(db, source, now)?;
    let element_size = source_store.list_end_element(&source_found, from).len();
    let header = target_store.move_target_header(db, target, element_size, None, now, log)?;
    let target_found = target_store.find_live(db, target, now);
    {
        let element = source_store.list_end_element(&source_found, from);
        let once = core::iter::once(element);
        let target_new = target_found.is_none();
        if header.is_some()
            || (target_new && target_store.target_is_large(target, None, element_size))
        {
            target_store.list_push_large(db, target, header, to, &Pushed::Given(once), now, log)?;
        } else {
            let size = target_size(target_store, target_found.as_ref(), element_size);
            target_store.check_move_sizes(target, size)?;
            let expires_at = expiry(target_found.as_ref());
            let item = item::item_size(target.len(), size, expires_at);
            target_store.ensure_room(core::iter::once(item), usize::from(target_new), now, log)?;
            let found = target_store.find_live(db, target, now);
            if !target_new && found.is_none() {
                return Err(StoreError::OutOfMemory);
            }
            let size = target_size(target_store, found.as_ref(), element_size);
            target_store.put_target(db, target, found, to, Copy::From(element), size, log)?;
        }
        visit(element);
    }
    source_store.source_pop(db, source, from, now, log)?;
    Ok(true)
}
