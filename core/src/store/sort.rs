//! What SORT needs from the store: read any key's live value in any held shard without
//! `&mut` ([`Keyspace`], [`read_across`]), and write a list composed from such reads at a
//! target key that may live in any shard ([`list_store_across`], SORT ... STORE).
//!
//! SORT's BY and GET patterns name keys derived from each element, which may live in any
//! shard; the caller then holds every shard. Reads go through [`Store::value_peek`], which
//! counts no access, so one sort reads the same bytes in every pass. A STORE composes the
//! new list straight into the target's item: a sizing pass, then a writing pass, with the
//! target shard's own keys found through its table in the segment memory around the new
//! item, as the set STORE forms do (see `set.rs`).

use super::compact::{Out, TYPE_LIST, ValueType};
use super::large::{Header, PartSource, SplitMemory};
use super::list::{LargeList, ListRead, ListView};
use super::shards::{Shards, shard_of};
use super::{LogSink, Store, expired};
use crate::codec::record::Record;
use crate::error::StoreError;
use crate::storage::item::{self, ItemKind, part_owner};
use crate::time::Timestamp;

/// Read access to the live values of one database across the shards a command holds.
pub trait Keyspace<'s> {
    /// The type and value of the live key `key`, if it exists in a held shard (a compact
    /// value starts with its type byte). Counts no access.
    fn value(&self, key: &[u8]) -> Option<(ValueType, &'s [u8])>;

    /// The value of the part at `key` (an owner's key and a part number) of a large
    /// collection in a held shard (`store/large.rs`), if it exists.
    fn part(&self, key: &[u8]) -> Option<&'s [u8]>;

    /// The live list at `key`, in either form, if it exists in a held shard. Counts no
    /// access.
    fn list(&self, key: &[u8]) -> Option<ListRead<'s>>;
}

/// A list composer: calls its second argument with each element of the list it composes
/// from what it reads in the keyspace (see [`list_store_across`]).
pub type ListEach<'e> = dyn Fn(&dyn Keyspace<'_>, &mut dyn FnMut(&[u8])) + 'e;

/// A reader of the shards other than a STORE's destination.
type OtherValue<'r, 'o> = dyn Fn(&[u8]) -> Option<(ValueType, &'o [u8])> + 'r;

/// A reader of the parts in the shards other than a STORE's destination.
type OtherPart<'r, 'o> = dyn Fn(&[u8]) -> Option<&'o [u8]> + 'r;

/// A reader of the lists of the shards other than a STORE's destination.
type OtherList<'r, 'o> = dyn Fn(&[u8]) -> Option<ListRead<'o>> + 'r;

/// A STORE's readers of the shards other than its destination: values, parts, lists.
type Others<'r, 'o> = (
    &'r OtherValue<'r, 'o>,
    &'r OtherPart<'r, 'o>,
    &'r OtherList<'r, 'o>,
);

/// A [`Keyspace`] made of three functions: a key's value, a part's, a list.
struct FnKeyspace<F, P, L>(F, P, L);

impl<'s, F, P, L> Keyspace<'s> for FnKeyspace<F, P, L>
where
    F: Fn(&[u8]) -> Option<(ValueType, &'s [u8])>,
    P: Fn(&[u8]) -> Option<&'s [u8]>,
    L: Fn(&[u8]) -> Option<ListRead<'s>>,
{
    fn value(&self, key: &[u8]) -> Option<(ValueType, &'s [u8])> {
        (self.0)(key)
    }

    fn part(&self, key: &[u8]) -> Option<&'s [u8]> {
        (self.1)(key)
    }

    fn list(&self, key: &[u8]) -> Option<ListRead<'s>> {
        (self.2)(key)
    }
}

/// Guides the closures' signatures (their outputs do not borrow from their keys).
fn keyspace<'s, F, P, L>(function: F, part: P, list: L) -> FnKeyspace<F, P, L>
where
    F: Fn(&[u8]) -> Option<(ValueType, &'s [u8])>,
    P: Fn(&[u8]) -> Option<&'s [u8]>,
    L: Fn(&[u8]) -> Option<ListRead<'s>>,
{
    FnKeyspace(function, part, list)
}

impl Store<'_> {
    /// The type and value of the live key `key`, without counting an access (SORT's
    /// reads of its key and of the keys its patterns name).
    #[must_use]
    pub fn value_peek(&self, db: u8, key: &[u8], now: Timestamp) -> Option<(ValueType, &[u8])> {
        let found = self.find(db, key)?;
        if expired(found.layout.expires_at, now) {
            return None;
        }
        let value = self.value_of(&found);
        Some((ValueType::of(found.layout.kind, value), value))
    }

    /// The live list at `key` (either form), without counting an access.
    #[must_use]
    pub fn list_peek(&self, db: u8, key: &[u8], now: Timestamp) -> Option<ListRead<'_>> {
        let found = self.find(db, key)?;
        if expired(found.layout.expires_at, now) {
            return None;
        }
        let value = self.value_of(&found);
        (ValueType::of(found.layout.kind, value) == ValueType::List).then(|| self.list_read(&found))
    }
}

/// Calls `read` with a [`Keyspace`] of database `db` over the shards the caller holds (a
/// key in a shard it does not hold reads as absent).
pub fn read_across(
    shards: &mut dyn Shards<'_>,
    db: u8,
    now: Timestamp,
    read: &mut dyn FnMut(&dyn Keyspace<'_>),
) {
    let shard_count = shards.count();
    shards.with_all(&mut |stores| {
        let stores: &[Option<&mut Store<'_>>] = stores;
        let held = keyspace(
            |key: &[u8]| {
                stores
                    .get(shard_of(key, shard_count))?
                    .as_deref()?
                    .value_peek(db, key, now)
            },
            |key: &[u8]| {
                let store = stores
                    .get(shard_of(part_owner(key), shard_count))?
                    .as_deref()?;
                PartSource::part(store, db, key)
            },
            |key: &[u8]| {
                stores
                    .get(shard_of(key, shard_count))?
                    .as_deref()?
                    .list_peek(db, key, now)
            },
        );
        read(&held);
    });
}

/// Stores the list whose elements `each(keyspace, visit)` lists (calling `visit` once
/// per element, head to tail) at `target_key`, replacing whatever it held and dropping its
/// expiry, or deletes `target_key` if there are none; returns the element count. `each`
/// is called several times and must list the same elements each time it reads the same
/// keyspace.
///
/// # Errors
/// [`StoreError::KeyTooLarge`], [`StoreError::CollectionTooLarge`], or a memory error;
/// nothing changes then.
pub fn list_store_across(
    shards: &mut dyn Shards<'_>,
    db: u8,
    target_key: &[u8],
    now: Timestamp,
    log: &mut impl LogSink,
    each: &ListEach<'_>,
) -> Result<usize, StoreError> {
    let shard_count = shards.count();
    let target_shard = shard_of(target_key, shard_count);
    let mut result = Err(StoreError::OutOfMemory);
    shards.with_all(&mut |stores| {
        let (left, rest) = stores.split_at_mut(target_shard);
        let Some((target_slot, right)) = rest.split_first_mut() else {
            unreachable!("shard {target_shard} of {shard_count}");
        };
        let Some(target) = target_slot.as_deref_mut() else {
            panic!("shard {target_shard} is not held by this command");
        };
        let (left, right): (&[Option<&mut Store<'_>>], &[Option<&mut Store<'_>>]) = (left, right);
        let other_value = |key: &[u8]| -> Option<(ValueType, &[u8])> {
            let shard = shard_of(key, shard_count);
            let store = if shard < target_shard {
                left.get(shard)
            } else {
                right.get(shard.checked_sub(target_shard + 1)?)
            };
            store?.as_deref()?.value_peek(db, key, now)
        };
        let other_part = |key: &[u8]| -> Option<&[u8]> {
            let shard = shard_of(part_owner(key), shard_count);
            let store = if shard < target_shard {
                left.get(shard)
            } else {
                right.get(shard.checked_sub(target_shard + 1)?)
            };
            PartSource::part(store?.as_deref()?, db, key)
        };
        let other_list = |key: &[u8]| -> Option<ListRead<'_>> {
            let shard = shard_of(key, shard_count);
            let store = if shard < target_shard {
                left.get(shard)
            } else {
                right.get(shard.checked_sub(target_shard + 1)?)
            };
            store?.as_deref()?.list_peek(db, key, now)
        };
        let is_local = |key: &[u8]| shard_of(key, shard_count) == target_shard;
        let others = (
            &other_value as &OtherValue<'_, '_>,
            &other_part as &OtherPart<'_, '_>,
            &other_list as &OtherList<'_, '_>,
        );
        result = target.list_store_result(db, target_key, &is_local, others, now, log, each);
    });
    result
}

/// Composes the list `each` lists into `out` (type byte, then each element after its
/// size) and returns its element count.
fn compose(keyspace: &dyn Keyspace<'_>, each: &ListEach<'_>, out: &mut Out<'_>) -> usize {
    let mut count = 0usize;
    out.push(&[TYPE_LIST]);
    each(keyspace, &mut |element| {
        out.push_varint(element.len());
        out.push(element);
        count += 1;
    });
    count
}

impl Store<'_> {
    /// [`list_store_across`] once the shards are split: the target's own keys are read
    /// from this store, the others through `other_value`.
    #[expect(
        clippy::too_many_arguments,
        reason = "the private core of SORT ... STORE"
    )]
    fn list_store_result<'o>(
        &mut self,
        db: u8,
        target_key: &[u8],
        is_local: &dyn Fn(&[u8]) -> bool,
        (other_value, other_part, other_list): Others<'_, 'o>,
        now: Timestamp,
        log: &mut impl LogSink,
        each: &ListEach<'_>,
    ) -> Result<usize, StoreError> {
        let sizing = |store: &Store<'_>| {
            let reader = keyspace(
                |key: &[u8]| {
                    if is_local(key) {
                        store.value_peek(db, key, now)
                    } else {
                        other_value(key)
                    }
                },
                |key: &[u8]| {
                    if is_local(part_owner(key)) {
                        PartSource::part(store, db, key)
                    } else {
                        other_part(key)
                    }
                },
                |key: &[u8]| {
                    if is_local(key) {
                        store.list_peek(db, key, now)
                    } else {
                        other_list(key)
                    }
                },
            );
            let mut out = Out {
                target: None,
                size: 0,
            };
            let count = compose(&reader, each, &mut out);
            (count, out.size)
        };
        let (count, size) = sizing(self);
        let lookup = self.lookup(db, target_key, now);
        if count == 0 {
            if let Some(found) = lookup.found {
                self.remove(&found);
                log.record(Record::Del {
                    db,
                    key: target_key,
                });
            }
            return Ok(0);
        }
        if target_key.len() > self.config.key_size_max as usize {
            return Err(StoreError::KeyTooLarge);
        }
        if size > self.config.value_size_max as usize {
            return Err(StoreError::CollectionTooLarge);
        }
        let item_size = item::item_size(target_key.len(), size, 0);
        let new_key_count = usize::from(lookup.found.is_none());
        self.ensure_room(core::iter::once(item_size), new_key_count, now, log)?;
        // Making room may have moved this shard's keys (they are found again by key) or
        // evicted one, which changes the result: refuse that rare case rather than make
        // room again.
        if sizing(self) != (count, size) {
            return Err(StoreError::OutOfMemory);
        }
        let found = self.refind(db, target_key, lookup);
        let (hash, seed) = (self.hash(target_key), self.config.seed);
        self.put_found_reading(
            db,
            target_key,
            hash,
            found,
            ItemKind::Compact,
            size,
            0,
            log,
            |memory, table, _, start| {
                let (before, rest) = memory.split_at_mut(start);
                let (target, after) = rest.split_at_mut(size);
                let split = SplitMemory {
                    table,
                    seed,
                    before,
                    after,
                    after_start: start + size,
                };
                let reader = keyspace(
                    |key: &[u8]| {
                        if is_local(key) {
                            value_in_split(&split, db, key, now)
                        } else {
                            other_value(key)
                        }
                    },
                    |key: &[u8]| {
                        if is_local(part_owner(key)) {
                            split.part(db, key)
                        } else {
                            other_part(key)
                        }
                    },
                    |key: &[u8]| {
                        if is_local(key) {
                            list_in_split(&split, db, key, now)
                        } else {
                            other_list(key)
                        }
                    },
                );
                let mut out = Out {
                    target: Some(target),
                    size: 0,
                };
                let written = compose(&reader, each, &mut out);
                assert!(out.size == size, "list size {size} != written {}", out.size);
                assert!(written == count, "list count {count} != written {written}");
            },
        )?;
        Ok(count)
    }
}

/// The live value of `key` (any type) in segment memory split around a new item being
/// written.
fn value_in_split<'m>(
    split: &SplitMemory<'m, '_>,
    db: u8,
    key: &[u8],
    now: Timestamp,
) -> Option<(ValueType, &'m [u8])> {
    let (layout, bytes) = split.find(db, key, false)?;
    if expired(layout.expires_at, now) {
        return None;
    }
    let value = bytes.get(layout.value.clone())?;
    Some((ValueType::of(layout.kind, value), value))
}

/// The live list at `key` (either form) in segment memory split around a new item being
/// written.
fn list_in_split<'m>(
    split: &'m SplitMemory<'m, '_>,
    db: u8,
    key: &[u8],
    now: Timestamp,
) -> Option<ListRead<'m>> {
    let (layout, bytes) = split.find(db, key, false)?;
    let value = bytes.get(layout.value.clone())?;
    if expired(layout.expires_at, now) || ValueType::of(layout.kind, value) != ValueType::List {
        return None;
    }
    let owner = bytes.get(layout.key.clone())?;
    Some(match Header::read(value) {
        Some(header) => ListRead::Large(LargeList::new(split, db, owner, header)),
        None => ListRead::Compact(ListView::new(value)),
    })
}
