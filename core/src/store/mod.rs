//! The store: the table and segment storage behind one API, with expiry and eviction.
//!
//! Every method takes `now` (milliseconds since the Unix epoch): the core has no clock.
//! Every write reports the idempotent [`Record`]s that make it durable to a [`LogSink`]:
//! a counter increment is logged as the value it produced, a relative TTL as an absolute
//! time, an eviction as a delete (SWAPDB's record is the one that is not idempotent; see
//! [`Record::SwapDb`]). An error leaves the store unchanged.
//!
//! Keys of the 16 numbered databases share one table; a key's identity is `(db, bytes)`.
//! The table hashes only the key's bytes, so a key's home slot is the same in every
//! database; that is what lets SWAPDB relabel items in place.
//!
//! ```
//! use floe_core::arena::Arena;
//! use floe_core::store::{Config, SetOptions, Store};
//!
//! let config = Config::new(64 * 1024, 1000);
//! let mut memory = vec![0u8; config.arena_size()];
//! let mut arena = Arena::from_buffer(&mut memory);
//! let mut store = Store::new(&mut arena, config).expect("config fits the arena");
//! arena.freeze().expect("first freeze");
//!
//! let now = 1_700_000_000_000;
//! store.set(0, b"greeting", b"hello", SetOptions::default(), now, &mut ()).expect("room");
//! assert_eq!(store.get(0, b"greeting", now), Some(&b"hello"[..]));
//! ```

mod compact;
mod config;
pub mod event;
pub mod hash;
pub mod index;
mod keyspace;
pub mod large;
pub mod list;
mod probation;
mod reclaim;
mod restore;
pub mod set;
pub mod shards;
pub mod sort;
mod strings;
mod transfer;
mod write;
pub mod zset;

pub use compact::{TYPE_HASH, TYPE_LIST, TYPE_SET, TYPE_ZSET, ValueType};
pub use config::{CLEAN_DEAD_PERCENT_DEFAULT, Config, LIST_MAX_LISTPACK_SIZE_DEFAULT, Stats};
pub use index::PrefixIndex;
pub use keyspace::{Encoding, ExpireCondition, ObjectInfo, Ttl};
pub use shards::{SHARD_COUNT_MAX, Shards, shard_of};
pub use strings::{GetExpiry, parse_float, parse_integer};
pub use transfer::Transfer;

use core::ops::Range;

use crate::arena::Arena;
use crate::codec::record::Record;
use crate::constants::{DATABASE_COUNT, SLOT_SIZE, TAG_SIZE};
use crate::error::{ConfigError, StoreError};
use crate::hash::wyhash;
use crate::storage::ghost::Ghost;
use crate::storage::item::{self, ItemKind, ItemLayout};
use crate::storage::policy::{EvictionPolicy, POLICY_MASK, VOLATILE};
use crate::storage::segment::{SegmentMemory, Segments};
use crate::table::{Location, Table};
use crate::time::Timestamp;

/// Receives the log records of a write, in the order they must be replayed, and, when it
/// asks for them, the keyspace events of what changed (see [`event`]).
pub trait LogSink {
    /// Called once per record.
    fn record(&mut self, record: Record<'_>);

    /// Whether this sink wants [`LogSink::event`] calls (keyspace notifications are on);
    /// when not, nobody composes them.
    fn events(&self) -> bool {
        false
    }

    /// One keyspace event, in the order the changes happened; called only while
    /// [`LogSink::events`] is true.
    fn event(&mut self, _event: event::Event<'_>) {}
}

/// Discards records: a pure cache with no persistence.
impl LogSink for () {
    fn record(&mut self, _record: Record<'_>) {}
}

/// When a SET applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SetCondition {
    /// Always.
    #[default]
    Always,
    /// Only if the key does not exist (`NX`).
    IfAbsent,
    /// Only if the key exists (`XX`).
    IfPresent,
}

/// The expiry a SET gives its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SetExpiry {
    /// No expiry (a plain SET removes any previous one).
    #[default]
    Persist,
    /// Keep the key's current expiry (`KEEPTTL`).
    Keep,
    /// Expire at this absolute time (`EX`/`PX`/`EXAT`/`PXAT`, made absolute by the caller).
    At(Timestamp),
}

impl SetExpiry {
    /// `EX`/`PX`: an expiry `ttl_ms` after `now`.
    ///
    /// # Errors
    /// [`StoreError::InvalidExpire`] if `ttl_ms` is not positive or the time overflows.
    pub fn after(now: Timestamp, ttl_ms: i64) -> Result<Self, StoreError> {
        let ttl_ms = u64::try_from(ttl_ms).map_err(|_| StoreError::InvalidExpire)?;
        if ttl_ms == 0 {
            return Err(StoreError::InvalidExpire);
        }
        now.checked_add(ttl_ms)
            .map(Self::At)
            .ok_or(StoreError::InvalidExpire)
    }

    /// `EXAT`/`PXAT`: an absolute expiry in milliseconds.
    ///
    /// # Errors
    /// [`StoreError::InvalidExpire`] if `at_ms` is not positive.
    pub fn at(at_ms: i64) -> Result<Self, StoreError> {
        match u64::try_from(at_ms) {
            Ok(at) if at > 0 => Ok(Self::At(at)),
            _ => Err(StoreError::InvalidExpire),
        }
    }
}

/// Options of [`Store::set`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetOptions {
    /// When the write applies.
    pub condition: SetCondition,
    /// The expiry it gives.
    pub expiry: SetExpiry,
}

/// What [`Store::set`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetOutcome<'s> {
    /// Whether the value was written (false when `NX`/`XX` did not hold).
    pub written: bool,
    /// The value the key held before, if it existed (for `SET ... GET`).
    pub previous: Option<&'s [u8]>,
}

/// The result of looking a key up before a write: its hash, its entry if live, and the
/// table's epoch then. The entry stays valid while the epoch is unchanged.
#[derive(Debug, Clone)]
struct Lookup {
    hash: u64,
    found: Option<Found>,
    epoch: u64,
    /// Whether it looked up a part of a large collection (`large.rs`) rather than a key.
    part: bool,
}

/// A live key found in the table.
#[derive(Debug, Clone)]
struct Found {
    slot_index: usize,
    location: Location,
    layout: ItemLayout,
}

/// How the value of an item being written is made: `old[..prefix] ++ zeros ++ bytes ++
/// old[suffix]`, where `old` is the key's current value (empty when it has none), or the
/// bytes at `from` in segment memory when that is set. A plain SET uses only `bytes`;
/// APPEND, SETRANGE and expiry changes splice the old value in place, and RENAME, COPY and
/// MOVE copy another key's value (`from`), all without copying out of segment memory.
#[derive(Debug, Clone)]
struct Splice<'v> {
    prefix: usize,
    zeros: usize,
    bytes: &'v [u8],
    suffix: Range<usize>,
    /// Prefix bytes the old value lacks become zeros (SETRANGE) rather than nothing.
    pad: bool,
    /// Write nothing if the key is gone by the time the item is written (an eviction made
    /// room by evicting the key itself): an expiry change must not recreate it.
    only_if_present: bool,
    /// Where `old` lies in segment memory, if not at the key's current value. Only
    /// [`Store::put_prepared`] reads it, after room was made, so the range is current.
    from: Option<Range<usize>>,
    /// The new item's kind; `None` keeps the current item's (an expiry change).
    kind: Option<ItemKind>,
}

impl<'v> Splice<'v> {
    fn bytes(bytes: &'v [u8]) -> Self {
        Self {
            prefix: 0,
            zeros: 0,
            bytes,
            suffix: 0..0,
            pad: false,
            only_if_present: false,
            from: None,
            kind: Some(ItemKind::String),
        }
    }

    /// The whole old value followed by `bytes` (APPEND; with empty `bytes`, a rewrite).
    fn after_old(bytes: &'v [u8]) -> Self {
        Self {
            prefix: usize::MAX,
            kind: None,
            ..Self::bytes(bytes)
        }
    }

    /// The splice clipped to an old value of `old_size` bytes.
    fn clipped(&self, old_size: usize) -> Self {
        let prefix = self.prefix.min(old_size);
        let padding = if self.pad { self.prefix - prefix } else { 0 };
        let suffix = self.suffix.start.min(old_size)..self.suffix.end.min(old_size);
        Self {
            prefix,
            zeros: self.zeros + padding,
            suffix,
            from: self.from.clone(),
            ..*self
        }
    }

    fn size(&self) -> usize {
        self.prefix + self.zeros + self.bytes.len() + self.suffix.len()
    }
}

/// A key-value store over arena memory.
#[derive(Debug)]
pub struct Store<'a> {
    table: Table<'a>,
    segments: Segments<'a>,
    config: Config,
    stats: Stats,
    db_key_count: [usize; DATABASE_COUNT as usize],
    random_state: u64,
    expire_cursor: usize,
    /// Counts every change that can move or remove table entries (removal shifts
    /// entries back; cleaning relocates items). A [`Lookup`] taken at the same epoch is
    /// still valid, so a write need not look its key up twice.
    epoch: u64,
    /// The head and the free bytes left in it at or below which a write next looks for a
    /// segment to clean before the store grows (`reclaim.rs`, `clean_before_growing`).
    clean_check: (usize, usize),
    /// Where the last partial eviction stopped: the victim segment, its opening sequence
    /// (so a freed and reopened segment is not mistaken for it) and the next item to look
    /// at (`reclaim.rs`, `evict_step`).
    evict_cursor: (usize, u64, Location),
    /// Where the probationary hand of `allkeys-lru` stands: segment, its opening sequence
    /// and the next item (`probation.rs`).
    probation_cursor: (usize, u64, Location),
    /// For the probationary hand's segment and the head opened as given: the bytes of the
    /// segments between them and the region's share (`probation.rs`, `region_over_share`).
    probation_newer: (u64, u64, usize, usize),
    /// Hashes of recently evicted keys: one written again starts with an access's credit.
    ghost: Ghost<'a>,
    /// Set while [`Store::apply`] replays a record: room then comes only from cleaning,
    /// never from eviction (the log already holds every eviction as a delete).
    replaying: bool,
    /// The largest item appended since the store was built: sizes the slack a live store
    /// keeps for replay (see `reclaim.rs`).
    item_size_max_seen: usize,
    /// The keys in byte order, for prefix searches; off until [`Store::set_prefix_index`].
    /// Told of every key the table gains or loses (`remove`, `put_prepared`, `clear`,
    /// `swap_db`), so with it on its entries are exactly the table's keys.
    index: PrefixIndex,
    /// The prefix index waits for the first query that could use it
    /// ([`Store::set_prefix_index_on_demand`]).
    #[cfg_attr(
        not(any(test, feature = "alloc")),
        expect(dead_code, reason = "without alloc the index is always off")
    )]
    index_on_demand: bool,
    /// Keys removed as expired where no sink was at hand, for [`Store::take_expired`];
    /// off until [`Store::set_events`].
    expired_queue: event::ExpiredQueue,
}

impl<'a> Store<'a> {
    /// Carves a store from `arena`, which the caller freezes afterwards.
    ///
    /// # Errors
    /// [`ConfigError`] if the configuration is invalid or the arena is too small or frozen.
    pub fn new(arena: &mut Arena<'a>, config: Config) -> Result<Self, ConfigError> {
        let segment_count = config.validate()?;
        let slot_count = Table::slot_count_for(config.keys_max);
        let segment_size = config.segment_size as usize;
        let slots = arena.alloc_slice::<u64>(slot_count)?;
        let tags = arena.alloc_slice::<u16>(slot_count)?;
        let ghost = arena.alloc_slice::<u16>(config.ghost_len())?;
        let memory = SegmentMemory {
            memory: arena.alloc_bytes(segment_count * segment_size)?,
            item_end: arena.alloc_slice::<u32>(segment_count)?,
            live_size: arena.alloc_slice::<u32>(segment_count)?,
            volatile_count: arena.alloc_slice::<u32>(segment_count)?,
            expiry_min: arena.alloc_slice::<u64>(segment_count)?,
            seq: arena.alloc_slice::<u64>(segment_count)?,
            free: arena.alloc_slice::<u32>(segment_count)?,
        };
        Ok(Self {
            table: Table::new(slots, tags, config.keys_max),
            segments: Segments::new(memory, segment_size),
            config,
            stats: Stats::default(),
            db_key_count: [0; DATABASE_COUNT as usize],
            random_state: config.seed | 1,
            expire_cursor: 0,
            epoch: 0,
            clean_check: (usize::MAX, 0),
            evict_cursor: (usize::MAX, 0, 0),
            probation_cursor: (usize::MAX, 0, 0),
            probation_newer: (0, 0, 0, 0),
            ghost: Ghost::new(ghost),
            replaying: false,
            item_size_max_seen: 0,
            index: PrefixIndex::default(),
            index_on_demand: false,
            expired_queue: event::ExpiredQueue::default(),
        })
    }

    /// The configuration the store was built with.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Changes the eviction policy (Redis's `CONFIG SET maxmemory-policy`).
    pub fn set_policy(&mut self, policy: EvictionPolicy) {
        self.config.policy = policy;
    }

    /// The value of `key`, if it exists and has not expired.
    ///
    /// A key that holds a hash has no string value: `None` (MGET's rule; GET uses
    /// [`Store::get_string`], which tells the two apart).
    pub fn get(&mut self, db: u8, key: &[u8], now: Timestamp) -> Option<&[u8]> {
        self.get_string(db, key, now).unwrap_or(None)
    }

    /// The string value of `key`, if it exists and has not expired (GET).
    ///
    /// # Errors
    /// [`StoreError::WrongType`] if the key holds a hash.
    pub fn get_string(
        &mut self,
        db: u8,
        key: &[u8],
        now: Timestamp,
    ) -> Result<Option<&[u8]>, StoreError> {
        Ok(match self.find_live(db, key, now) {
            Some(found) if found.layout.kind != ItemKind::String => {
                return Err(StoreError::WrongType);
            }
            Some(found) => {
                self.stats.hits += 1;
                self.touch_slot(found.slot_index);
                Some(self.value_of(&found))
            }
            None => {
                self.stats.misses += 1;
                None
            }
        })
    }

    /// Whether `key` exists and has not expired.
    pub fn exists(&mut self, db: u8, key: &[u8], now: Timestamp) -> bool {
        self.find_live(db, key, now).is_some()
    }

    /// Stores `value` under `key` as `options` say (Redis's SET).
    ///
    /// # Errors
    /// Size limits, or out of memory / keys under `noeviction`; nothing changes then.
    pub fn set(
        &mut self,
        db: u8,
        key: &[u8],
        value: &[u8],
        options: SetOptions,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<SetOutcome<'_>, StoreError> {
        let lookup = self.lookup(db, key, now);
        let found = lookup.found.as_ref();
        let allowed = match options.condition {
            SetCondition::Always => true,
            SetCondition::IfAbsent => found.is_none(),
            SetCondition::IfPresent => found.is_some(),
        };
        if !allowed {
            let previous = found.map(|found| self.value_of(found));
            return Ok(SetOutcome {
                written: false,
                previous,
            });
        }
        let expires_at = match options.expiry {
            SetExpiry::Persist => 0,
            SetExpiry::Keep => found.map_or(0, |found| found.layout.expires_at),
            SetExpiry::At(at) => at,
        };
        let previous = self.put(db, key, lookup, &Splice::bytes(value), expires_at, now, log)?;
        let previous = previous.map(|range| &self.segments.memory()[range]);
        Ok(SetOutcome {
            written: true,
            previous,
        })
    }

    /// Stores `value` under `key`, expiring `ttl_ms` milliseconds after `now`
    /// (ZeekDB's `setWithTTL`).
    ///
    /// # Errors
    /// As [`Store::set`], and [`StoreError::InvalidExpire`] for a TTL that is not positive.
    pub fn set_with_ttl(
        &mut self,
        db: u8,
        key: &[u8],
        value: &[u8],
        ttl_ms: i64,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        let options = SetOptions {
            expiry: SetExpiry::after(now, ttl_ms)?,
            ..SetOptions::default()
        };
        self.set(db, key, value, options, now, log).map(|_| ())
    }

    /// Removes `key`; whether it existed.
    pub fn delete(&mut self, db: u8, key: &[u8], now: Timestamp, log: &mut impl LogSink) -> bool {
        let Some(found) = self.find_live(db, key, now) else {
            return false;
        };
        self.remove(&found);
        log.record(Record::Del { db, key });
        true
    }

    /// Calls `visit(index, value)` for each key of `keys` (ZeekDB's `getMany`, Redis's MGET).
    pub fn get_many(
        &mut self,
        db: u8,
        keys: &[&[u8]],
        now: Timestamp,
        mut visit: impl FnMut(usize, Option<&[u8]>),
    ) {
        for (index, key) in keys.iter().enumerate() {
            visit(index, self.get(db, key, now));
        }
    }

    /// Stores every pair, all or none (ZeekDB's `setMany`, Redis's MSET). With
    /// `only_if_none_exist` it writes nothing when any key exists and returns `false`
    /// (MSETNX).
    ///
    /// # Errors
    /// Size limits, or out of memory / keys under `noeviction`; nothing is written then.
    pub fn set_many(
        &mut self,
        db: u8,
        pairs: &[(&[u8], &[u8])],
        only_if_none_exist: bool,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<bool, StoreError> {
        self.set_many_iter(db, pairs.iter().copied(), only_if_none_exist, now, log)
    }

    /// [`Store::set_many`] over any cheap, cloneable iterator of pairs (a request's
    /// arguments, say), which is walked several times: checks, sizes, writes.
    ///
    /// # Errors
    /// As [`Store::set_many`].
    pub fn set_many_iter<'p, P>(
        &mut self,
        db: u8,
        pairs: P,
        only_if_none_exist: bool,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<bool, StoreError>
    where
        P: Iterator<Item = (&'p [u8], &'p [u8])> + Clone,
    {
        let Some(pair_count) = self.check_pairs(db, pairs.clone(), only_if_none_exist, now)? else {
            return Ok(false);
        };
        self.make_room_for_pairs(db, pairs.clone(), pair_count, now, log)?;
        self.put_pairs(db, pairs, log)?;
        Ok(true)
    }

    /// MSET's first phase: checks every pair's sizes and, with `only_if_none_exist`, that
    /// no key exists. The number of pairs, or `None` when a key exists (MSETNX writes
    /// nothing then). Changes nothing.
    pub(crate) fn check_pairs<'p>(
        &mut self,
        db: u8,
        pairs: impl Iterator<Item = (&'p [u8], &'p [u8])>,
        only_if_none_exist: bool,
        now: Timestamp,
    ) -> Result<Option<usize>, StoreError> {
        let mut pair_count = 0;
        for (key, value) in pairs {
            self.check_sizes(key.len(), value.len())?;
            if only_if_none_exist && self.find_live(db, key, now).is_some() {
                return Ok(None);
            }
            pair_count += 1;
        }
        Ok(Some(pair_count))
    }

    /// MSET's second phase: makes room for every pair (evicting under an eviction policy),
    /// so that [`Store::put_pairs`] cannot fail. Writes nothing but the evictions.
    pub(crate) fn make_room_for_pairs<'p, P>(
        &mut self,
        db: u8,
        pairs: P,
        pair_count: usize,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError>
    where
        P: Iterator<Item = (&'p [u8], &'p [u8])> + Clone,
    {
        let sizes = pairs
            .clone()
            .map(|(key, value)| item::item_size(key.len(), value.len(), 0));
        // Eviction may take keys of the batch itself, which then need a slot again: count
        // the absent keys after each round. Keys only ever go from present to absent here,
        // so the count grows at most `pair_count` times.
        let absent_count = |store: &mut Self| {
            pairs
                .clone()
                .filter(|(key, _)| store.find_live(db, key, now).is_none())
                .count()
        };
        let mut new_key_count = absent_count(self);
        let mut absent = new_key_count;
        for _ in 0..=pair_count {
            self.ensure_room(sizes.clone(), new_key_count, now, log)?;
            absent = absent_count(self);
            if absent <= new_key_count {
                break;
            }
            new_key_count = absent;
        }
        assert!(self.table.len() + absent <= self.table.len_max());
        Ok(())
    }

    /// MSET's last phase: writes every pair, in the room [`Store::make_room_for_pairs`]
    /// made.
    pub(crate) fn put_pairs<'p>(
        &mut self,
        db: u8,
        pairs: impl Iterator<Item = (&'p [u8], &'p [u8])>,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        for (key, value) in pairs {
            // Earlier pairs changed the table: look each key up afresh.
            let lookup = Lookup {
                hash: self.hash(key),
                found: None,
                epoch: u64::MAX,
                part: false,
            };
            self.put_prepared(db, key, lookup, &Splice::bytes(value), 0, log)?;
        }
        Ok(())
    }

    /// Keys stored in all databases (a large collection's parts are not keys).
    #[must_use]
    pub fn len(&self) -> usize {
        self.db_key_count.iter().sum()
    }

    /// Whether no key is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Keys stored in database `db` (Redis's DBSIZE); expired keys not yet removed count.
    #[must_use]
    pub fn db_len(&self, db: u8) -> usize {
        self.db_key_count[usize::from(db)]
    }

    /// Turns the prefix index on (built from the table's keys in one sorted load) or off
    /// (its memory freed). The runtime turns it on after recovery, so replay does not pay
    /// for it key by key.
    #[cfg(any(test, feature = "alloc"))]
    pub fn set_prefix_index(&mut self, enabled: bool) {
        self.index_on_demand = false;
        let (table, segments) = (&self.table, &self.segments);
        let keys = (0..table.slot_count())
            .filter(|&slot_index| table.occupied(slot_index))
            .map(|slot_index| {
                let bytes = segments.bytes(table.location(slot_index));
                let layout = item::layout(bytes);
                (layout.db, &bytes[layout.key])
            });
        self.index.enable(enabled, keys);
        assert!(!enabled || self.index.len() == self.table.len());
    }

    /// Leaves the prefix index off until the first query that could use it (a pattern or
    /// prefix with literal bytes first: [`Store::prefix_index_for`]) builds it, in one
    /// sorted load; it is kept from then on. A store that is never searched by prefix pays
    /// neither the index's memory nor its cost per new key.
    #[cfg(any(test, feature = "alloc"))]
    pub fn set_prefix_index_on_demand(&mut self) {
        self.set_prefix_index(false);
        self.index_on_demand = true;
    }

    /// Builds the prefix index now if it waits for its first query and `pattern` (a glob,
    /// or a plain prefix) starts with literal bytes it could seek to. Callers ask before
    /// the queries that read the index ([`Store::keys`], [`Store::scan_prefix`], SCAN from
    /// cursor 0); whether the index is on.
    pub fn prefix_index_for(&mut self, pattern: &[u8]) -> bool {
        #[cfg(any(test, feature = "alloc"))]
        if self.index_on_demand
            && !self.index.enabled()
            && !crate::glob::literal_prefix(pattern).is_empty()
        {
            self.set_prefix_index(true);
            self.index_on_demand = true;
        }
        let _ = pattern;
        self.index.enabled()
    }

    /// Keyspace events on or off. While on, a key the store removes as expired where no
    /// sink is at hand (a write's lookup, [`Store::expire_step`]) waits for
    /// [`Store::take_expired`]; without the `alloc` feature such keys are not kept. (A
    /// sweep for room reports `expired` and `evicted` to its write's sink directly.)
    pub fn set_events(&mut self, enabled: bool) {
        self.expired_queue.enable(enabled);
    }

    /// Hands the keys removed as expired since the last call to `log`, as `expired`
    /// events, oldest first (nothing while [`Store::set_events`] is off).
    pub fn take_expired(&mut self, log: &mut impl LogSink) {
        self.expired_queue.drain(log);
    }

    /// The prefix index (to ask whether it is on, its size and its entry count).
    #[must_use]
    pub fn prefix_index(&self) -> &PrefixIndex {
        &self.index
    }

    /// Counters and memory gauges.
    #[must_use]
    pub fn stats(&self) -> Stats {
        // The ghost filter is table-like metadata: counted with the table.
        let table_size =
            (self.table.slot_count() * (SLOT_SIZE + TAG_SIZE) + self.ghost.size()) as u64;
        let segments_size = (self.segments.count() * self.segments.segment_size()) as u64;
        Stats {
            keys: self.table.len() as u64,
            memory_live_size: self.segments.live_size_total() as u64,
            memory_used_size: table_size + self.segments.used_size_total() as u64,
            memory_limit_size: table_size + segments_size,
            memory_touched_size: (self.segments.touched_count() * self.segments.segment_size())
                as u64,
            prefix_index_size: self.index.size() as u64,
            prefix_index_keys: self.index.len() as u64,
            ..self.stats
        }
    }

    // ---- Internals shared by the command families. ----

    /// The table hash of `key`. The database is not hashed: a key's home slot is the same
    /// in every database (lookups compare the database stored in the item), so SWAPDB can
    /// move whole databases by rewriting each item's database bits in place, without
    /// moving a table entry.
    fn hash(&self, key: &[u8]) -> u64 {
        wyhash(key, self.config.seed)
    }

    /// The entry for `key`, expired or not.
    fn find(&self, db: u8, key: &[u8]) -> Option<Found> {
        self.find_hashed(db, key, self.hash(key), false)
    }

    /// The entry for `key` with its hash, expired or not: a key's, or with `part` a part's
    /// of a large collection. Neither kind of lookup sees the other's items, so a user's
    /// key may have the same bytes as a part's.
    #[inline]
    fn find_hashed(&self, db: u8, key: &[u8], hash: u64, part: bool) -> Option<Found> {
        assert!(db < DATABASE_COUNT, "db={db}");
        for (slot_index, location) in self.table.probe(hash) {
            let bytes = self.segments.bytes(location);
            let layout = item::layout(bytes);
            if layout.db == db
                && (layout.kind == ItemKind::Part) == part
                && item::key_eq(&bytes[layout.key.clone()], key)
            {
                return Some(Found {
                    slot_index,
                    location,
                    layout,
                });
            }
        }
        None
    }

    /// Looks `key` up for a read-modify-write; an expired entry is removed on the way (lazy
    /// expiry, which needs no log record: the logged expiry is absolute).
    #[inline]
    fn lookup(&mut self, db: u8, key: &[u8], now: Timestamp) -> Lookup {
        let hash = self.hash(key);
        let mut found = self.find_hashed(db, key, hash, false);
        if let Some(entry) = &found
            && expired(entry.layout.expires_at, now)
        {
            let entry = entry.clone();
            self.remove_expired(&entry);
            self.stats.expired += 1;
            if !self.replaying {
                self.expired_queue.push(db, key);
            }
            found = None;
        }
        Lookup {
            hash,
            found,
            epoch: self.epoch,
            part: false,
        }
    }

    /// [`Store::lookup`] that leaves an expired entry in place (and finds it).
    fn lookup_keeping_expired(&self, db: u8, key: &[u8]) -> Lookup {
        let hash = self.hash(key);
        Lookup {
            hash,
            found: self.find_hashed(db, key, hash, false),
            epoch: self.epoch,
            part: false,
        }
    }

    /// The entry for `key` if it is live (see [`Store::lookup`]).
    #[inline]
    fn find_live(&mut self, db: u8, key: &[u8], now: Timestamp) -> Option<Found> {
        self.lookup(db, key, now).found
    }

    #[inline]
    fn value_of(&self, found: &Found) -> &[u8] {
        &self.segments.bytes(found.location)[found.layout.value.clone()]
    }

    /// Updates the policy bits of a key that was just read.
    #[inline]
    fn touch_slot(&mut self, slot_index: usize) {
        let bits = self.table.policy(slot_index);
        // Only the LFU counter draws a random number; the other policies skip the cost.
        let random = if self.config.policy.counts_frequency() {
            (self.random() >> 32) as u32
        } else {
            0
        };
        let policy_bits = self.config.policy.accessed_bits(bits & POLICY_MASK, random);
        let touched = (bits & VOLATILE) | (policy_bits & POLICY_MASK);
        if touched != bits {
            // Under `noeviction` (and for a visited bit already set) nothing changes: a read
            // then writes nothing to the table.
            self.table.set_policy(slot_index, touched);
        }
    }

    /// Removes a live entry: the table slot goes, the item becomes a hole, and a large
    /// collection's parts go with its key. Removing the parts shifts other table entries,
    /// so a walk over the table that removes keys uses [`Store::remove_item`].
    fn remove(&mut self, found: &Found) {
        let parts = self.parts_of(found);
        self.remove_item(found);
        if let Some(parts) = parts {
            self.parts_remove(&parts);
        }
    }

    /// Removes a key whose expiry has passed. During replay a large collection's parts
    /// stay: replay runs later than the writes it replays, so a key it finds expired may
    /// have been live when the next record was written, and that record (an expiry moved
    /// later, logged with the header alone) brings the key back on its old parts. What no
    /// later record claims, [`Store::parts_collect`] removes once recovery is done.
    fn remove_expired(&mut self, found: &Found) {
        if self.replaying {
            self.remove_item(found);
        } else {
            self.remove(found);
        }
    }

    /// Removes one item, and nothing else: its table slot goes, it becomes a hole.
    fn remove_item(&mut self, found: &Found) {
        self.epoch += 1;
        let is_key = found.layout.kind != ItemKind::Part;
        if is_key && self.index.enabled() {
            let bytes = self.segments.bytes(found.location);
            self.index
                .remove(found.layout.db, &bytes[found.layout.key.clone()]);
        }
        let volatile = found.layout.expires_at != 0;
        self.segments
            .item_dead(found.location, found.layout.size(), volatile);
        self.table.remove(found.slot_index);
        if is_key {
            self.db_key_count[usize::from(found.layout.db)] -= 1;
        }
    }

    fn check_sizes(&self, key_size: usize, value_size: usize) -> Result<(), StoreError> {
        if key_size > self.config.key_size_max as usize {
            return Err(StoreError::KeyTooLarge);
        }
        if value_size > self.config.value_size_max as usize {
            return Err(StoreError::ValueTooLarge);
        }
        Ok(())
    }

    /// Writes `key` with the value `splice` makes, making room first. `lookup` is the
    /// caller's lookup of `key`. Returns the range of the previous value in segment memory
    /// (still intact until the next write).
    #[expect(clippy::too_many_arguments, reason = "the private core of every write")]
    fn put(
        &mut self,
        db: u8,
        key: &[u8],
        lookup: Lookup,
        splice: &Splice<'_>,
        expires_at: Timestamp,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<Option<Range<usize>>, StoreError> {
        // A range in segment memory would not survive the room-making below.
        assert!(splice.from.is_none(), "put with a copied value");
        let found = lookup.found.as_ref();
        let old_size = found.map_or(0, |found| found.layout.value.len());
        let value_size = splice.clipped(old_size).size();
        self.check_sizes(key.len(), value_size)?;
        if expires_at != 0 && expired(expires_at, now) {
            // An expiry in the past deletes the key, as in Redis.
            if let Some(found) = found {
                let found = found.clone();
                self.remove_expired(&found);
                log.record(Record::Del { db, key });
            }
            return Ok(None);
        }
        let size = item::item_size(key.len(), value_size, expires_at);
        let new_key_count = usize::from(found.is_none());
        self.ensure_room(core::iter::once(size), new_key_count, now, log)?;
        self.put_prepared(db, key, lookup, splice, expires_at, log)
    }

    /// The second half of [`Store::put`]: room for the item is guaranteed.
    fn put_prepared(
        &mut self,
        db: u8,
        key: &[u8],
        lookup: Lookup,
        splice: &Splice<'_>,
        expires_at: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<Option<Range<usize>>, StoreError> {
        // Cleaning, eviction or expiry may have moved or dropped the old item since the
        // lookup: look again unless nothing changed.
        let hash = lookup.hash;
        let found = self.refind(db, key, lookup);
        if found.is_none() && splice.only_if_present {
            return Ok(None);
        }
        let old_value = match &splice.from {
            Some(from) => from.clone(),
            None => found.as_ref().map_or(0..0, |found| {
                let start = found.location;
                found.layout.value.start + start..found.layout.value.end + start
            }),
        };
        let splice = splice.clipped(old_value.len());
        let kind = splice
            .kind
            .or(found.as_ref().map(|found| found.layout.kind))
            .unwrap_or_default();
        let size = splice.size();
        let replaced = found.is_some();
        let old_range = old_value.clone();
        self.put_found(
            db,
            key,
            hash,
            found,
            kind,
            size,
            expires_at,
            log,
            |memory, _, start| {
                let mut cursor = start;
                memory.copy_within(old_value.start..old_value.start + splice.prefix, cursor);
                cursor += splice.prefix;
                memory[cursor..cursor + splice.zeros].fill(0);
                cursor += splice.zeros;
                memory[cursor..cursor + splice.bytes.len()].copy_from_slice(splice.bytes);
                cursor += splice.bytes.len();
                let suffix =
                    old_value.start + splice.suffix.start..old_value.start + splice.suffix.end;
                memory.copy_within(suffix, cursor);
                cursor += splice.suffix.len();
                assert!(
                    cursor == start + size,
                    "value size {size} != written {}",
                    cursor - start
                );
            },
        )?;
        Ok(Some(old_range).filter(|_| replaced))
    }

    /// Appends `size` bytes, opening a new head when the current one is full; the room was
    /// ensured beforehand.
    fn append_item(&mut self, size: usize) -> Location {
        self.item_size_max_seen = self.item_size_max_seen.max(size);
        if self.segments.head_remaining() < size {
            let opened = self.segments.open_head();
            assert!(opened, "ensure_room guaranteed a free segment");
        }
        self.segments.append(size)
    }

    /// A pseudo-random number below `bound` (which is not zero).
    fn random_below(&mut self, bound: usize) -> usize {
        assert!(bound > 0);
        // NOTE: the remainder is below `bound`, a usize.
        #[expect(clippy::cast_possible_truncation, reason = "below bound")]
        let value = (self.random() % bound as u64) as usize;
        value
    }

    /// A pseudo-random number (xorshift64*), seeded from the configuration.
    fn random(&mut self) -> u64 {
        let mut x = self.random_state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.random_state = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Whether an item with this expiry is gone at `now`.
#[inline]
fn expired(expires_at: Timestamp, now: Timestamp) -> bool {
    expires_at != 0 && expires_at <= now
}

#[cfg(any(test, feature = "_test-internals"))]
pub mod model;
#[cfg(test)]
mod tests;
