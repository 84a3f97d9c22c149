//! A keyspace split into shards: several [`Store`]s, each holding the keys whose bytes hash
//! to it ([`shard_of`]), seen through one trait, [`Shards`], so that the command table runs
//! the same against one store (a [`Store`] is a keyspace of one shard) or many.
//!
//! A key's shard depends on its bytes only, not its database: MOVE and SWAPDB stay inside
//! each shard. The functions here are the commands that touch more than one shard: keys in
//! several shards (MSET, MSETNX, RENAME, COPY, ...) and the whole keyspace (DBSIZE, KEYS,
//! SCAN, RANDOMKEY, FLUSHDB, FLUSHALL, SWAPDB). The caller holds every shard they touch:
//! the runtime locks them, in shard order, before it calls the command.
//!
//! Invariants:
//! - A multi-shard write is all or nothing, like its one-store form: every check in every
//!   shard comes before any change, and room is made in every shard (evictions, which are
//!   logged) before any key is written, so the writes that follow cannot fail.
//! - A change of a whole database (FLUSHDB, FLUSHALL, SWAPDB) logs one record, through the
//!   first shard; recovery applies such a record to every shard. (SWAPDB's record must be
//!   replayed exactly once, so the other shards report theirs to nothing.)
//! - A SCAN cursor is `store cursor × shard count + shard`: each shard's table is walked
//!   whole, one shard after the other, so SCAN's guarantee (every key present for the whole
//!   scan is returned) holds across shards.
//!   A SCAN from cursor 0 whose pattern has a literal prefix is answered whole from the
//!   shards' prefix indexes when they are on and at most `SCAN_INDEX_KEYS_MAX` keys
//!   match (cursor 0 back), so the guarantee holds there too.
//! - [`Shards`] never hands out two stores that could be swapped: [`Shards::store`]
//!   borrows the whole keyspace, and [`Shards::with_pair`] gives two stores of unrelated
//!   lifetimes.

use super::{LogSink, Store, Transfer, ValueType};
use crate::constants::SCAN_INDEX_KEYS_MAX;
use crate::error::StoreError;
use crate::hash::wyhash;

use crate::time::Timestamp;

/// The most shards a keyspace may have.
pub const SHARD_COUNT_MAX: usize = 256;

/// Seed of the shard hash: not the table's seed, so a key's shard and its slot in the
/// shard's table are independent.
const SHARD_HASH_SEED: u64 = 0x7368_6172_6465_6421;

/// The shard of `key` in a keyspace of `count` shards.
#[must_use]
pub fn shard_of(key: &[u8], count: usize) -> usize {
    if count <= 1 {
        return 0;
    }
    // Lemire's range reduction: the high half of hash × count, below count.
    let reduced = (u128::from(wyhash(key, SHARD_HASH_SEED)) * count as u128) >> 64;
    // NOTE: below count, a usize.
    #[expect(clippy::cast_possible_truncation, reason = "below count")]
    let shard = reduced as usize;
    shard
}

/// The stores of a keyspace, one per shard, of which a command may use those its caller
/// holds.
pub trait Shards<'a> {
    /// Number of shards of the keyspace.
    fn count(&self) -> usize;

    /// The store of shard `shard`.
    ///
    /// # Panics
    /// If the caller does not hold that shard (a routing bug in the caller).
    fn store(&mut self, shard: usize) -> &mut Store<'a>;

    /// Calls `operation` with the stores of two different shards.
    ///
    /// # Panics
    /// As [`Shards::store`], or if `first == second`.
    fn with_pair(
        &mut self,
        first: usize,
        second: usize,
        operation: &mut dyn FnMut(&mut Store<'_>, &mut Store<'_>),
    );

    /// Calls `operation` with every shard's store, indexed by shard: `Some` for the shards
    /// the caller holds, `None` for the others (a command over several keys, such as
    /// SINTERSTORE, reads some stores while it writes another).
    fn with_all(&mut self, operation: &mut dyn FnMut(&mut [Option<&mut Store<'_>>]));

    /// The store that holds `key`.
    fn store_for(&mut self, key: &[u8]) -> &mut Store<'a> {
        let shard = shard_of(key, self.count());
        self.store(shard)
    }
}

/// A store is a keyspace of one shard.
impl<'a> Shards<'a> for Store<'a> {
    fn count(&self) -> usize {
        1
    }

    fn store(&mut self, shard: usize) -> &mut Store<'a> {
        assert!(shard == 0, "a store is shard 0 of 1, not {shard}");
        self
    }

    fn with_pair(
        &mut self,
        first: usize,
        second: usize,
        _operation: &mut dyn FnMut(&mut Store<'_>, &mut Store<'_>),
    ) {
        unreachable!("a store of one shard has no pair ({first}, {second})");
    }

    fn with_all(&mut self, operation: &mut dyn FnMut(&mut [Option<&mut Store<'_>>])) {
        operation(&mut [Some(self)]);
    }
}

/// Keys stored in database `db` across the shards (DBSIZE).
pub fn db_len(shards: &mut dyn Shards<'_>, db: u8) -> usize {
    (0..shards.count())
        .map(|shard| shards.store(shard).db_len(db))
        .sum()
}

/// Keys stored in every database across the shards.
pub fn len(shards: &mut dyn Shards<'_>) -> usize {
    (0..shards.count())
        .map(|shard| shards.store(shard).len())
        .sum()
}

/// Removes every key of `db`, or of every database, in every shard (FLUSHDB, FLUSHALL);
/// logs one record.
pub fn clear(shards: &mut dyn Shards<'_>, db: Option<u8>, log: &mut impl LogSink) {
    shards.store(0).clear(db, log);
    for shard in 1..shards.count() {
        shards.store(shard).clear(db, &mut ());
    }
}

/// Swaps two databases in every shard (SWAPDB); logs one record.
///
/// # Errors
/// [`StoreError::InvalidDatabase`], from the first shard, before anything changed.
pub fn swap_db(
    shards: &mut dyn Shards<'_>,
    db_first: u8,
    db_second: u8,
    log: &mut impl LogSink,
) -> Result<(), StoreError> {
    shards.store(0).swap_db(db_first, db_second, log)?;
    for shard in 1..shards.count() {
        shards.store(shard).swap_db(db_first, db_second, &mut ())?;
    }
    Ok(())
}

/// Calls `visit` with every live key of `db` matching `pattern`, shard by shard (KEYS).
pub fn keys(
    shards: &mut dyn Shards<'_>,
    db: u8,
    pattern: &[u8],
    now: Timestamp,
    mut visit: impl FnMut(&[u8]),
) {
    for shard in 0..shards.count() {
        let store = shards.store(shard);
        store.prefix_index_for(pattern);
        store.keys(db, pattern, now, &mut visit);
    }
}

/// One SCAN step across the shards: walks shards from the cursor's one until `count` keys
/// were visited or the last shard is done, and returns the next cursor (0 at the end). See
/// the module's invariants for the cursor's form. Every cursor names a shard (a client's
/// made-up one too) and a scan from it ends.
pub fn scan(
    shards: &mut dyn Shards<'_>,
    db: u8,
    cursor: u64,
    count: usize,
    pattern: Option<&[u8]>,
    now: Timestamp,
    visit: impl FnMut(&[u8]),
) -> u64 {
    scan_kind(shards, db, cursor, count, pattern, None, now, visit)
}

/// [`scan`] of the keys of one kind only (`None`: every key), for SCAN's TYPE option.
#[expect(clippy::too_many_arguments, reason = "SCAN's options")]
pub fn scan_kind(
    shards: &mut dyn Shards<'_>,
    db: u8,
    cursor: u64,
    count: usize,
    pattern: Option<&[u8]>,
    kind: Option<ValueType>,
    now: Timestamp,
    mut visit: impl FnMut(&[u8]),
) -> u64 {
    if cursor == 0
        && kind.is_none()
        && let Some(pattern) = pattern
        && scan_from_index(shards, db, pattern, now, &mut visit)
    {
        return 0;
    }
    let shard_count = shards.count() as u64;
    let (mut shard, mut inner) = (cursor % shard_count, cursor / shard_count);
    let mut visited = 0;
    while shard < shard_count {
        // NOTE: below the shard count, a usize.
        #[expect(clippy::cast_possible_truncation, reason = "below the shard count")]
        let store = shards.store(shard as usize);
        let next = store.scan_kind(db, inner, count, pattern, kind, now, |key| {
            visited += 1;
            visit(key);
        });
        if next != 0 {
            return next.saturating_mul(shard_count).saturating_add(shard);
        }
        shard += 1;
        inner = 0;
        if visited >= count {
            break;
        }
    }
    if shard >= shard_count { 0 } else { shard }
}

/// A whole SCAN from the prefix index, when every shard has it on, the pattern has a
/// literal prefix, and at most [`SCAN_INDEX_KEYS_MAX`] live keys match: `visit` sees each
/// once and the scan is complete (cursor 0). That keeps SCAN's guarantee trivially (every
/// key present for the whole scan is returned). Returns whether it answered; it visited
/// nothing otherwise.
fn scan_from_index(
    shards: &mut dyn Shards<'_>,
    db: u8,
    pattern: &[u8],
    now: Timestamp,
    visit: &mut impl FnMut(&[u8]),
) -> bool {
    let mut match_count = 0_usize;
    for shard in 0..shards.count() {
        shards.store(shard).prefix_index_for(pattern);
    }
    for shard in 0..shards.count() {
        let answered = shards.store(shard).keys_from_index(db, pattern, now, |_| {
            match_count += 1;
            match_count <= SCAN_INDEX_KEYS_MAX
        });
        if !answered || match_count > SCAN_INDEX_KEYS_MAX {
            return false;
        }
    }
    for shard in 0..shards.count() {
        shards
            .store(shard)
            .keys_from_index(db, pattern, now, |key| {
                visit(key);
                true
            });
    }
    true
}

/// A random live key of `db` (RANDOMKEY): a shard is drawn with a chance proportional to
/// its keys in `db`, then a key of it as [`Store::random_key`] draws one.
pub fn random_key<'s>(shards: &'s mut dyn Shards<'_>, db: u8, now: Timestamp) -> Option<&'s [u8]> {
    let total = db_len(shards, db);
    if total == 0 {
        return None;
    }
    let mut draw = shards.store(0).random_below(total);
    let mut chosen = 0;
    for shard in 0..shards.count() {
        let size = shards.store(shard).db_len(db);
        if draw < size {
            chosen = shard;
            break;
        }
        draw -= size;
    }
    shards.store(chosen).random_key(db, now)
}

/// Stores every pair, all or none, across the shards (MSET); with `only_if_none_exist`,
/// nothing when any key exists, returning `false` (MSETNX). The three phases of
/// [`Store::set_many_iter`] run shard by shard: every check, then room in every shard, then
/// the writes, so a refusal changes nothing but the evictions it logged.
///
/// # Errors
/// As [`Store::set_many`].
pub fn set_many<'p, P>(
    shards: &mut dyn Shards<'_>,
    db: u8,
    pairs: P,
    only_if_none_exist: bool,
    now: Timestamp,
    log: &mut impl LogSink,
) -> Result<bool, StoreError>
where
    P: Iterator<Item = (&'p [u8], &'p [u8])> + Clone,
{
    let count = shards.count();
    if count == 1 {
        return shards
            .store(0)
            .set_many_iter(db, pairs, only_if_none_exist, now, log);
    }
    let of_shard = |shard: usize| {
        pairs
            .clone()
            .filter(move |(key, _)| shard_of(key, count) == shard)
    };
    let mut pair_counts = [0_usize; SHARD_COUNT_MAX];
    for (shard, pair_count) in pair_counts.iter_mut().enumerate().take(count) {
        // A shard with no pair of the request is not held: skip it.
        if of_shard(shard).next().is_none() {
            continue;
        }
        let checked =
            shards
                .store(shard)
                .check_pairs(db, of_shard(shard), only_if_none_exist, now)?;
        let Some(checked) = checked else {
            return Ok(false);
        };
        *pair_count = checked;
    }
    for (shard, &pair_count) in pair_counts.iter().enumerate().take(count) {
        if pair_count > 0 {
            shards
                .store(shard)
                .make_room_for_pairs(db, of_shard(shard), pair_count, now, log)?;
        }
    }
    for (shard, &pair_count) in pair_counts.iter().enumerate().take(count) {
        if pair_count > 0 {
            shards.store(shard).put_pairs(db, of_shard(shard), log)?;
        }
    }
    Ok(true)
}

/// [`Store::transfer`] across the shards (RENAME, RENAMENX, COPY, MOVE): in one store when
/// both keys live in the same shard, else from the source's store to the target's.
///
/// # Errors
/// As [`Store::transfer`].
#[expect(
    clippy::too_many_arguments,
    reason = "two keys, each with its database"
)]
pub fn transfer(
    shards: &mut dyn Shards<'_>,
    source_db: u8,
    source_key: &[u8],
    target_db: u8,
    target_key: &[u8],
    replace: bool,
    keep_source: bool,
    now: Timestamp,
    log: &mut impl LogSink,
) -> Result<Transfer, StoreError> {
    let count = shards.count();
    let (source, target) = (shard_of(source_key, count), shard_of(target_key, count));
    if source == target {
        return shards.store(source).transfer(
            source_db,
            source_key,
            target_db,
            target_key,
            replace,
            keep_source,
            now,
            log,
        );
    }
    let mut result = Err(StoreError::InvalidDatabase);
    shards.with_pair(source, target, &mut |source_store, target_store| {
        result = source_store.transfer_to(
            target_store,
            source_db,
            source_key,
            target_db,
            target_key,
            replace,
            keep_source,
            now,
            log,
        );
    });
    result
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::vec;
    use std::vec::Vec;

    use super::*;
    use crate::arena::Arena;
    use crate::store::{Config, SetOptions};

    const NOW: Timestamp = 1_700_000_000_000;

    /// A keyspace of several stores, each over leaked memory.
    struct Many(Vec<Store<'static>>);

    impl Many {
        fn new(count: usize, config: Config) -> Self {
            Self(
                (0..count)
                    .map(|_| {
                        let memory = Vec::leak(vec![0u8; config.arena_size()]);
                        let mut arena = Arena::from_buffer(memory);
                        let store = Store::new(&mut arena, config).expect("config fits");
                        arena.freeze().expect("freeze");
                        store
                    })
                    .collect(),
            )
        }
    }

    impl Shards<'static> for Many {
        fn count(&self) -> usize {
            self.0.len()
        }

        fn store(&mut self, shard: usize) -> &mut Store<'static> {
            &mut self.0[shard]
        }

        fn with_pair(
            &mut self,
            first: usize,
            second: usize,
            operation: &mut dyn FnMut(&mut Store<'_>, &mut Store<'_>),
        ) {
            let (low, high) = (first.min(second), first.max(second));
            let (head, tail) = self.0.split_at_mut(high);
            if first < second {
                operation(&mut head[low], &mut tail[0]);
            } else {
                operation(&mut tail[0], &mut head[low]);
            }
        }

        fn with_all(&mut self, operation: &mut dyn FnMut(&mut [Option<&mut Store<'_>>])) {
            let mut stores: Vec<Option<&mut Store<'_>>> = self.0.iter_mut().map(Some).collect();
            operation(&mut stores);
        }
    }

    fn key(index: usize) -> Vec<u8> {
        std::format!("key:{index}").into_bytes()
    }

    fn set(shards: &mut Many, key: &[u8], value: &[u8]) {
        shards
            .store_for(key)
            .set(0, key, value, SetOptions::default(), NOW, &mut ())
            .expect("room");
    }

    #[test]
    fn keys_spread_over_every_shard_and_count_once() {
        let mut shards = Many::new(4, Config::new(1 << 20, 1000));
        for index in 0..400 {
            set(&mut shards, &key(index), b"v");
        }
        assert_eq!(db_len(&mut shards, 0), 400);
        assert_eq!(len(&mut shards), 400);
        for shard in 0..4 {
            let held = shards.store(shard).db_len(0);
            assert!(
                (50..150).contains(&held),
                "shard {shard} holds {held} of 400"
            );
        }
        let mut seen = BTreeSet::new();
        keys(&mut shards, 0, b"key:*", NOW, |key| {
            assert!(seen.insert(key.to_vec()));
        });
        assert_eq!(seen.len(), 400);
        let picked = random_key(&mut shards, 0, NOW).expect("a key").to_vec();
        assert!(seen.contains(&picked));
    }

    #[test]
    fn a_scan_across_shards_returns_every_key_and_ends() {
        let mut shards = Many::new(3, Config::new(1 << 20, 1000));
        for index in 0..300 {
            set(&mut shards, &key(index), b"v");
        }
        for count in [1, 7, 500] {
            let (mut cursor, mut seen, mut calls) = (0, BTreeSet::new(), 0);
            loop {
                cursor = scan(&mut shards, 0, cursor, count, None, NOW, |key| {
                    seen.insert(key.to_vec());
                });
                calls += 1;
                assert!(calls < 100_000, "the scan does not end");
                if cursor == 0 {
                    break;
                }
            }
            assert_eq!(seen.len(), 300, "COUNT {count}");
        }
        // A made-up cursor names some shard's place; the scan from it ends.
        let mut cursor = 12_345;
        for _ in 0..100_000 {
            cursor = scan(&mut shards, 0, cursor, 10, None, NOW, |_| {});
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(cursor, 0);
    }

    #[test]
    fn set_many_across_shards_is_all_or_nothing() {
        let mut shards = Many::new(4, Config::new(1 << 20, 1000));
        let pairs: Vec<(Vec<u8>, &[u8])> = (0..8).map(|index| (key(index), &b"v"[..])).collect();
        let iter = pairs.iter().map(|(key, value)| (key.as_slice(), *value));
        assert_eq!(
            set_many(&mut shards, 0, iter.clone(), false, NOW, &mut ()),
            Ok(true)
        );
        assert_eq!(db_len(&mut shards, 0), 8);
        // MSETNX: one key exists, so no shard is written.
        let fresh: Vec<(Vec<u8>, &[u8])> = (7..12).map(|index| (key(index), &b"w"[..])).collect();
        let fresh_iter = fresh.iter().map(|(key, value)| (key.as_slice(), *value));
        assert_eq!(
            set_many(&mut shards, 0, fresh_iter, true, NOW, &mut ()),
            Ok(false)
        );
        assert_eq!(db_len(&mut shards, 0), 8);
        // A value over the limit in any pair refuses the whole request.
        let big = vec![b'x'; shards.store(0).config().value_size_max as usize + 1];
        let mut oversized: Vec<(Vec<u8>, &[u8])> =
            (20..28).map(|index| (key(index), &b"v"[..])).collect();
        oversized.push((key(28), big.as_slice()));
        let oversized_iter = oversized
            .iter()
            .map(|(key, value)| (key.as_slice(), *value));
        assert!(set_many(&mut shards, 0, oversized_iter, false, NOW, &mut ()).is_err());
        assert_eq!(db_len(&mut shards, 0), 8);
    }

    /// RENAME, COPY (onto an existing large target) and MOVE of a large hash, a large set
    /// and a large list between shards: the parts go to the target's shard under the new
    /// name, the source's go with it, and every element reads back.
    #[test]
    fn large_collections_transfer_across_shards_with_their_parts() {
        use crate::store::list::End;
        let config = Config {
            hash_max_listpack_entries: 4,
            set_max_listpack_entries: 4,
            list_max_listpack_size: 4,
            ..Config::new(1 << 20, 1000)
        };
        let mut shards = Many::new(4, config);
        let source = key(0);
        let other = |from: &[u8], skip: usize| {
            (1..)
                .map(key)
                .filter(|candidate| shard_of(candidate, 4) != shard_of(from, 4))
                .nth(skip)
                .expect("a key in another shard")
        };
        let (target, copy) = (other(&source, 0), other(&source, 1));
        let elements: Vec<Vec<u8>> = (0..200u32).map(|i| i.to_le_bytes().to_vec()).collect();
        let read_all = |shards: &mut Many, db: u8, name: &[u8]| {
            let store = shards.store_for(name);
            let mut hash: Vec<Vec<u8>> = store
                .hash_view(db, name, NOW)
                .expect("a hash")
                .map(|hash| hash.entries().map(|entry| entry.field.to_vec()).collect())
                .unwrap_or_default();
            hash.sort();
            hash
        };
        let store = shards.store_for(&source);
        let pairs = elements.iter().map(|e| (&e[..], &b"v"[..]));
        assert_eq!(
            store.hash_set(0, &source, pairs, false, NOW, &mut ()),
            Ok(200)
        );
        let mut sorted = elements.clone();
        sorted.sort();
        for (from, to, keep) in [(&source, &target, false), (&target, &copy, true)] {
            let done = transfer(&mut shards, 0, from, 0, to, true, keep, NOW, &mut ());
            assert_eq!(done, Ok(Transfer::Done));
            assert_eq!(read_all(&mut shards, 0, to), sorted);
            assert_eq!(read_all(&mut shards, 0, from).is_empty(), !keep);
        }
        // Onto an existing large target: its old parts go first.
        let done = transfer(&mut shards, 0, &copy, 0, &target, true, false, NOW, &mut ());
        assert_eq!(done, Ok(Transfer::Done));
        assert_eq!(read_all(&mut shards, 0, &target), sorted);
        // A large set and a large list, renamed across shards.
        let members = elements.iter().map(|e| &e[..]);
        let set_key = key(900);
        let set_store = shards.store_for(&set_key);
        assert_eq!(
            set_store.set_add(0, &set_key, members.clone(), NOW, &mut ()),
            Ok(200)
        );
        let set_target = other(&set_key, 2);
        let done = transfer(
            &mut shards,
            0,
            &set_key,
            1,
            &set_target,
            true,
            false,
            NOW,
            &mut (),
        );
        assert_eq!(done, Ok(Transfer::Done));
        let set = shards.store_for(&set_target).set_view(1, &set_target, NOW);
        assert_eq!(set.expect("a set").map(|set| set.len()), Some(200));
        let list_key = key(901);
        let list_store = shards.store_for(&list_key);
        let pushed = list_store.list_push(0, &list_key, End::Tail, members, false, NOW, &mut ());
        assert_eq!(pushed, Ok(200));
        let list_target = other(&list_key, 3);
        let done = transfer(
            &mut shards,
            0,
            &list_key,
            0,
            &list_target,
            true,
            false,
            NOW,
            &mut (),
        );
        assert_eq!(done, Ok(Transfer::Done));
        let list = shards
            .store_for(&list_target)
            .list_view(0, &list_target, NOW);
        let list: Vec<Vec<u8>> = list
            .expect("a list")
            .expect("present")
            .iter()
            .map(<[u8]>::to_vec)
            .collect();
        assert_eq!(list, elements);
        // No part is left behind in any shard.
        let mut parts = 0usize;
        for store in &shards.0 {
            store.items(NOW, |_, _, _, _, kind| {
                parts += usize::from(kind == crate::storage::item::ItemKind::Part);
            });
        }
        let owned: usize = [(0, &target), (1, &set_target), (0, &list_target)]
            .into_iter()
            .map(|(db, name)| {
                let store = shards.store_for(name);
                store
                    .find(db, name)
                    .and_then(|found| store.header_of(&found))
                    .map_or(0, |header| header.part_count as usize)
            })
            .sum();
        assert_eq!(parts, owned);
    }

    #[test]
    fn transfer_across_shards_moves_value_and_expiry() {
        let mut shards = Many::new(4, Config::new(1 << 20, 1000));
        let source = key(0);
        let target = (1..)
            .map(key)
            .find(|candidate| shard_of(candidate, 4) != shard_of(&source, 4))
            .expect("a key in another shard");
        let options = SetOptions {
            expiry: crate::store::SetExpiry::At(NOW + 60_000),
            ..SetOptions::default()
        };
        shards
            .store_for(&source)
            .set(0, &source, b"value", options, NOW, &mut ())
            .expect("room");
        let moved = transfer(
            &mut shards,
            0,
            &source,
            3,
            &target,
            false,
            false,
            NOW,
            &mut (),
        );
        assert_eq!(moved, Ok(Transfer::Done));
        assert_eq!(shards.store_for(&source).get(0, &source, NOW), None);
        assert_eq!(
            shards.store_for(&target).get(3, &target, NOW),
            Some(&b"value"[..])
        );
        let ttl = shards.store_for(&target).ttl(3, &target, NOW);
        assert_eq!(ttl, crate::store::Ttl::Remaining(60_000));
        // COPY without REPLACE onto an existing target changes nothing.
        let copied = transfer(
            &mut shards,
            3,
            &target,
            3,
            &source,
            false,
            true,
            NOW,
            &mut (),
        );
        assert_eq!(copied, Ok(Transfer::Done));
        let again = transfer(
            &mut shards,
            3,
            &target,
            3,
            &source,
            false,
            true,
            NOW,
            &mut (),
        );
        assert_eq!(again, Ok(Transfer::TargetExists));
    }

    #[test]
    fn flush_and_swap_reach_every_shard_and_log_once() {
        #[derive(Default)]
        struct Count(usize);
        impl LogSink for Count {
            fn record(&mut self, _record: crate::codec::record::Record<'_>) {
                self.0 += 1;
            }
        }
        let mut shards = Many::new(4, Config::new(1 << 20, 1000));
        for index in 0..40 {
            set(&mut shards, &key(index), b"v");
        }
        let mut log = Count::default();
        swap_db(&mut shards, 0, 5, &mut log).expect("valid databases");
        assert_eq!(
            (db_len(&mut shards, 0), db_len(&mut shards, 5), log.0),
            (0, 40, 1)
        );
        assert!(swap_db(&mut shards, 0, 99, &mut log).is_err());
        clear(&mut shards, Some(5), &mut log);
        assert_eq!((db_len(&mut shards, 5), log.0), (0, 2));
    }
}
