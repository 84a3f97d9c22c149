//! A store's configuration ([`Config`]: limits, policy, thresholds, fixed at start) and its
//! counters ([`Stats`]).

use crate::constants::{
    ITEM_HEADER_SIZE_MAX, KEY_SIZE_MAX_DEFAULT, LOAD_DENOMINATOR, LOAD_NUMERATOR,
    SEGMENT_COUNT_MIN, SEGMENT_MEMORY_SIZE_MAX, SEGMENT_SIZE_DEFAULT, SEGMENT_SIZE_MIN,
    SLOT_COUNT_MAX, SLOT_SIZE, TAG_SIZE, VALUE_SIZE_MAX_DEFAULT,
};
use crate::error::ConfigError;
use crate::storage::ghost::Ghost;
use crate::storage::policy::EvictionPolicy;
use crate::table::Table;

/// The limits and policy of a store, fixed at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Bytes of item memory (keys, values and their headers), cut into segments.
    pub memory_size: usize,
    /// The most keys the store holds, across all databases; sizes the table.
    pub keys_max: usize,
    /// Bytes per segment, a power of two; every item must fit in one.
    pub segment_size: u32,
    /// Largest key, in bytes.
    pub key_size_max: u32,
    /// Largest value, in bytes (Redis's `proto-max-bulk-len` for strings).
    pub value_size_max: u32,
    /// What to do when memory or the table is full.
    pub policy: EvictionPolicy,
    /// Seed of the table's hash and of the policies' random choices.
    pub seed: u64,
    /// A hash takes the large form (`large.rs`) when it would hold more fields than this
    /// (Redis's `hash-max-listpack-entries`)...
    pub hash_max_listpack_entries: u32,
    /// ... or a field or value longer than this, in bytes (`hash-max-listpack-value`).
    pub hash_max_listpack_value: u32,
    /// A set of integers only takes the large form when it would hold more members than
    /// this (Redis's `set-max-intset-entries`; up to
    /// [`set::INTSET_ENTRIES_MAX`] of them are kept in numeric order)...
    pub set_max_intset_entries: u32,
    /// ... any other set when it would hold more than this (Redis 7.2's
    /// `set-max-listpack-entries`)...
    pub set_max_listpack_entries: u32,
    /// ... or a member longer than this, in bytes (`set-max-listpack-value`).
    pub set_max_listpack_value: u32,
    /// The most a list node holds (Redis's `list-max-listpack-size`): -1 to -5 for 4, 8,
    /// 16, 32 or 64 KiB of elements, a positive number for that many elements (each node
    /// then also at most 8 KiB, as Redis). A list whose compact value would pass it takes
    /// the large form, a chain of such nodes (`list/large.rs`).
    pub list_max_listpack_size: i32,
    /// A sorted set takes the large form (`zset/large.rs`) when it holds more members
    /// than this (Redis's `zset-max-listpack-entries`)...
    pub zset_max_listpack_entries: u32,
    /// ... or a member longer than this, in bytes (`zset-max-listpack-value`).
    pub zset_max_listpack_value: u32,
    /// Before a write takes a segment whose memory was never used, the store cleans the
    /// segment with the most holes if at least this percent of it is holes (0: never), so
    /// the memory a process touches follows its live data rather than every rewrite.
    pub clean_dead_percent: u8,
}

/// Default of [`Config::clean_dead_percent`].
pub const CLEAN_DEAD_PERCENT_DEFAULT: u8 = 50;

/// Redis's default `list-max-listpack-size`: nodes of at most 8 KiB.
pub const LIST_MAX_LISTPACK_SIZE_DEFAULT: i32 = -2;

impl Config {
    /// A configuration with `memory_size` bytes of item memory and room for `keys_max` keys;
    /// small memories get smaller segments (at least 4 segments when possible).
    #[must_use]
    pub fn new(memory_size: usize, keys_max: usize) -> Self {
        let mut segment_size = SEGMENT_SIZE_DEFAULT;
        while segment_size > SEGMENT_SIZE_MIN && (segment_size as usize) * 4 > memory_size {
            segment_size /= 2;
        }
        let item_max = segment_size - ITEM_HEADER_SIZE_MAX;
        let key_size_max = KEY_SIZE_MAX_DEFAULT.min(item_max / 4);
        Self {
            memory_size,
            keys_max,
            segment_size,
            key_size_max,
            value_size_max: VALUE_SIZE_MAX_DEFAULT.min(item_max - key_size_max),
            policy: EvictionPolicy::NoEviction,
            seed: 0x666c_6f65_5eed_0001,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            set_max_listpack_entries: 128,
            set_max_listpack_value: 64,
            list_max_listpack_size: LIST_MAX_LISTPACK_SIZE_DEFAULT,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            clean_dead_percent: CLEAN_DEAD_PERCENT_DEFAULT,
        }
    }

    /// Entries of the filter of recently evicted keys ([`Ghost`]): none for a store built
    /// under `noeviction` (a policy set later evicts without it), else about one per key.
    #[must_use]
    pub const fn ghost_len(&self) -> usize {
        if matches!(self.policy, EvictionPolicy::NoEviction) {
            0
        } else {
            Ghost::len_for(self.keys_max)
        }
    }

    /// Bytes of arena this configuration needs (metadata alignment included).
    #[must_use]
    pub fn arena_size(&self) -> usize {
        let segment_count = self.memory_size / (self.segment_size.max(1) as usize);
        let slot_count = Table::slot_count_for(self.keys_max);
        slot_count * (SLOT_SIZE + TAG_SIZE)
            + self.ghost_len() * 2
            + self.memory_size
            + segment_count * (4 * 4 + 8 * 2)
            + 64
    }

    /// Checks the configuration and returns the number of segments.
    ///
    /// # Errors
    /// The [`ConfigError`] naming the first limit that does not hold.
    pub fn validate(&self) -> Result<usize, ConfigError> {
        if self.segment_size < SEGMENT_SIZE_MIN || !self.segment_size.is_power_of_two() {
            return Err(ConfigError::SegmentSize);
        }
        if self.memory_size as u64 > SEGMENT_MEMORY_SIZE_MAX {
            return Err(ConfigError::MemoryTooLarge);
        }
        let segment_count = self.memory_size / self.segment_size as usize;
        if segment_count < SEGMENT_COUNT_MIN || u32::try_from(segment_count).is_err() {
            return Err(ConfigError::MemoryTooSmall);
        }
        let item_size_max = u64::from(ITEM_HEADER_SIZE_MAX)
            + u64::from(self.key_size_max)
            + u64::from(self.value_size_max);
        if item_size_max > u64::from(self.segment_size) {
            return Err(ConfigError::ItemLargerThanSegment);
        }
        if self.keys_max > SLOT_COUNT_MAX / LOAD_DENOMINATOR * LOAD_NUMERATOR {
            return Err(ConfigError::KeysMaxTooLarge);
        }
        Ok(segment_count)
    }
}

/// Counters and gauges of a store (ZeekDB's `stats()`, Redis's `INFO stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Reads that found a live key.
    pub hits: u64,
    /// Reads that found nothing (or an expired key).
    pub misses: u64,
    /// Keys removed because their expiry passed.
    pub expired: u64,
    /// Keys removed by the eviction policy.
    pub evicted: u64,
    /// Segments freed by copying their live items to the head.
    pub segments_cleaned: u64,
    /// Segments freed by eviction.
    pub segments_evicted: u64,
    /// Keys stored, in all databases.
    pub keys: u64,
    /// Bytes of live items (keys, values, headers).
    pub memory_live_size: u64,
    /// Bytes in use: the table plus appended segment bytes (live items and holes).
    pub memory_used_size: u64,
    /// Bytes the store may ever use: the table plus all segments.
    pub memory_limit_size: u64,
    /// Bytes of the segments ever opened: the item memory the process has touched (see
    /// [`Config::clean_dead_percent`]).
    pub memory_touched_size: u64,
    /// Heap bytes of the prefix index (0 when it is off); outside the arena, so in none
    /// of the figures above (see [`PrefixIndex::size`]).
    pub prefix_index_size: u64,
    /// Keys in the prefix index (0 when it is off).
    pub prefix_index_keys: u64,
}

impl Stats {
    /// These counters and gauges plus `other`'s: the stats of a keyspace of several shards.
    #[must_use]
    pub fn merged(self, other: Self) -> Self {
        Self {
            hits: self.hits + other.hits,
            misses: self.misses + other.misses,
            expired: self.expired + other.expired,
            evicted: self.evicted + other.evicted,
            segments_cleaned: self.segments_cleaned + other.segments_cleaned,
            segments_evicted: self.segments_evicted + other.segments_evicted,
            keys: self.keys + other.keys,
            memory_live_size: self.memory_live_size + other.memory_live_size,
            memory_used_size: self.memory_used_size + other.memory_used_size,
            memory_limit_size: self.memory_limit_size + other.memory_limit_size,
            memory_touched_size: self.memory_touched_size + other.memory_touched_size,
            prefix_index_size: self.prefix_index_size + other.prefix_index_size,
            prefix_index_keys: self.prefix_index_keys + other.prefix_index_keys,
        }
    }
}
