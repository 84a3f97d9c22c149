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

use super::{LogSink, Store, Transfer};
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
        shards.store(shard).keys(db, pattern, now, &mut visit);
    }
}

/// One SCAN step across the shards: walks shards from the cursor's one until `count` keys
/// were visited or the last shard is done, and returns the next cursor (0 at the end). See
/// the module's invariants for the cursor's form. A cursor naming a shard past the last
/// (a client's made-up cursor) ends the scan.
pub fn scan(
    shards: &mut dyn Shards<'_>,
    db: u8,
    cursor: u64,
    count: usize,
    pattern: Option<&[u8]>,
    now: Timestamp,
    mut visit: impl FnMut(&[u8]),
) -> u64 {
    if cursor == 0
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
        let next = store.scan(db, inner, count, pattern, now, |key| {
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
