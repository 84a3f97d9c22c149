//! How a [`Db`](super::Db) is opened ([`DbConfig`]) and why a configuration is refused
//! ([`DbConfigError`]).
//!
//! Invariants: [`DbConfig::validate`] names the first limit that does not hold, checked in
//! a fixed order (the store's own limits, then the log's key and value limits, then the
//! segment size); each [`DbConfigError`] displays as one sentence, the text that
//! `DbError::Config` has always shown after "invalid configuration: ".

use std::fmt;

use floe_core::codec::record::{RECORD_KEY_SIZE_MAX, RECORD_VALUE_SIZE_MAX};
use floe_core::error::ConfigError;
use floe_core::store::{Config, SHARD_COUNT_MAX};

use super::DbError;
use crate::io::Backend;
use crate::log::FsyncPolicy;

/// The automatic shard count gives each shard at least this many segments, so eviction,
/// which frees a segment at a time, never frees a large part of a shard at once.
const SHARD_SEGMENT_COUNT_MIN: usize = 16;

/// The automatic shard count gives each shard room for at least this many keys.
const SHARD_KEY_COUNT_MIN: usize = 1024;

/// The automatic shard count is this many per available core (capped by the two minimums
/// above): enough that threads rarely meet on one shard's lock.
const SHARDS_PER_CORE: usize = 4;

/// How a [`Db`](super::Db) is opened.
#[derive(Debug, Clone)]
pub struct DbConfig {
    /// The store: item memory, `keys_max`, key and value size limits, eviction policy.
    /// Build it with [`Config::new`], then adjust fields.
    pub store: Config,
    /// `false`: a pure cache with no files at all; the directory is not even created.
    pub persistence: bool,
    /// When the log calls fdatasync (Redis's `appendfsync`).
    pub fsync: FsyncPolicy,
    /// Which I/O backend the log uses.
    pub backend: Backend,
    /// A log segment is closed and a new one started before it grows past this.
    pub segment_size_max: u64,
    /// Take a snapshot (and compact the log) in the background once this many bytes were
    /// logged since the last one, and at least as many as the last snapshot held (so a
    /// large store is not snapshotted over and over); `0` turns the automatic trigger off.
    pub snapshot_log_size: u64,
    /// Shards the keyspace is split into, each with its own lock and an even share of
    /// `store.memory_size` and `store.keys_max`; `0` picks a count from the cores and the
    /// limits ([`DbConfig::shard_count`]). One shard is one lock for the whole store.
    pub shards: usize,
    /// When to keep an ordered index of each shard's keys, so prefix searches (KEYS
    /// `prefix*`, SCAN MATCH `prefix*` from cursor 0,
    /// [`Db::scan_prefix`](super::Db::scan_prefix), Pizzaria's `reads`, HTTP's
    /// `/kv?prefix=`) seek instead of walking the table. It costs heap memory per key
    /// (`DbStats::store.prefix_index_size`) and work per new key.
    pub prefix_index: PrefixIndexMode,
    /// Ask the kernel to back the store's memory with transparent huge pages
    /// ([`crate::memory::zeroed_buffer`]): fewer TLB misses on random lookups over a large
    /// store, memory committed 2 MiB at a time. Off by default.
    pub huge_pages: bool,
}

/// When a [`Db`](super::Db) keeps its prefix index ([`DbConfig::prefix_index`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrefixIndexMode {
    /// Built at open (after recovery) and kept.
    On,
    /// Never: every prefix search walks the table.
    Off,
    /// Built by the first prefix search (which walks the table once to build it), then
    /// kept: a store never searched by prefix pays nothing for it.
    #[default]
    OnDemand,
}

impl DbConfig {
    /// A configuration with `memory_size` bytes of item memory and room for `keys_max`
    /// keys; persistence on, fsync `always`, automatic backend, 64 MiB segments, a snapshot
    /// every 64 MiB of log.
    #[must_use]
    pub fn new(memory_size: usize, keys_max: usize) -> Self {
        Self {
            store: Config::new(memory_size, keys_max),
            persistence: true,
            fsync: FsyncPolicy::Always,
            backend: Backend::Auto,
            segment_size_max: 64 << 20,
            snapshot_log_size: 64 << 20,
            shards: 0,
            prefix_index: PrefixIndexMode::OnDemand,
            huge_pages: false,
        }
    }

    /// The shards a [`Db`](super::Db) opened with this configuration has: `shards`, or when
    /// it is 0, [`SHARDS_PER_CORE`] per available core, as many as leave each shard at
    /// least [`SHARD_SEGMENT_COUNT_MIN`] segments and room for [`SHARD_KEY_COUNT_MIN`] keys
    /// (small stores get one shard, so their limits stay exact).
    #[must_use]
    pub fn shard_count(&self) -> usize {
        if self.shards > 0 {
            return self.shards;
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let segment_count = self.store.memory_size / (self.store.segment_size.max(1) as usize);
        (SHARDS_PER_CORE * cores)
            .min(segment_count / SHARD_SEGMENT_COUNT_MIN)
            .min(self.store.keys_max / SHARD_KEY_COUNT_MIN)
            .clamp(1, SHARD_COUNT_MAX)
    }

    /// The store configuration of each of `count` shards: an even share of the memory, the
    /// same size limits and policy, and an even share of the keys plus a margin for uneven
    /// hashing. Keys fall into shards at random, so the fullest shard holds about
    /// `sqrt(share)` more than its share; the margin is four times that (and 16), so that
    /// `keys_max` keys fit whatever the shards with overwhelming probability (a shard
    /// overflows its margin once in tens of thousands of stores), at the price of the store
    /// holding up to about `4 * sqrt(keys_max * count)` keys more (1% at a million keys and
    /// 8 shards). Without it, a store of 8 shards refused keys at about 99% of `keys_max`.
    #[must_use]
    pub fn shard_store_config(&self, count: usize) -> Config {
        let count = count.max(1);
        let share = self.store.keys_max.div_ceil(count);
        let margin = if count > 1 { 4 * share.isqrt() + 16 } else { 0 };
        Config {
            memory_size: self.store.memory_size / count,
            keys_max: share + margin,
            ..self.store
        }
    }

    /// Checks the configuration.
    ///
    /// # Errors
    /// [`DbError::Config`] naming the first limit that does not hold.
    pub fn validate(&self) -> Result<(), DbError> {
        self.store
            .validate()
            .map_err(|error| DbError::Config(DbConfigError::Store(error)))?;
        if self.store.key_size_max > RECORD_KEY_SIZE_MAX {
            return Err(DbError::Config(DbConfigError::KeySizeAboveLog {
                key_size_max: self.store.key_size_max,
            }));
        }
        if self.store.value_size_max > RECORD_VALUE_SIZE_MAX {
            return Err(DbError::Config(DbConfigError::ValueSizeAboveLog {
                value_size_max: self.store.value_size_max,
            }));
        }
        if self.segment_size_max == 0 {
            return Err(DbError::Config(DbConfigError::SegmentSizeZero));
        }
        let shards = self.shard_count();
        if shards > SHARD_COUNT_MAX {
            return Err(DbError::Config(DbConfigError::ShardsTooMany { shards }));
        }
        if shards > 1 && self.shard_store_config(shards).validate().is_err() {
            return Err(DbError::Config(DbConfigError::ShardsTooSmall { shards }));
        }
        Ok(())
    }
}

impl Default for DbConfig {
    /// 64 MiB of item memory and up to a million keys.
    fn default() -> Self {
        Self::new(64 << 20, 1 << 20)
    }
}

/// Why a [`DbConfig`] (or the storage given with it) cannot open a [`Db`](super::Db).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DbConfigError {
    /// The store's own configuration is invalid (floe-core's limits).
    Store(ConfigError),
    /// `key_size_max` is above what a log record can hold ([`RECORD_KEY_SIZE_MAX`]).
    KeySizeAboveLog {
        /// The configured limit.
        key_size_max: u32,
    },
    /// `value_size_max` is above what a log record can hold ([`RECORD_VALUE_SIZE_MAX`]).
    ValueSizeAboveLog {
        /// The configured limit.
        value_size_max: u32,
    },
    /// `segment_size_max` is 0.
    SegmentSizeZero,
    /// Persistence is on but `Db::open_with` was given no storage.
    StorageMissing,
    /// `shards` is above [`SHARD_COUNT_MAX`].
    ShardsTooMany {
        /// The configured count.
        shards: usize,
    },
    /// A shard's share of the memory or keys is below what a store needs.
    ShardsTooSmall {
        /// The configured count.
        shards: usize,
    },
}

impl fmt::Display for DbConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Store(error) => match error {
                ConfigError::SegmentSize => f.write_str("segment_size is too small"),
                ConfigError::MemoryTooSmall => {
                    f.write_str("memory_size is too small for the segments the store needs")
                }
                ConfigError::MemoryTooLarge => {
                    f.write_str("memory_size is above the largest supported")
                }
                ConfigError::ItemLargerThanSegment => {
                    f.write_str("key_size_max + value_size_max do not fit one segment")
                }
                ConfigError::KeysMaxTooLarge => {
                    f.write_str("keys_max is above the largest supported")
                }
                other => write!(f, "{other:?}"),
            },
            Self::KeySizeAboveLog { key_size_max } => write!(
                f,
                "key_size_max {key_size_max} is above the log's limit of \
                 {RECORD_KEY_SIZE_MAX} bytes"
            ),
            Self::ValueSizeAboveLog { value_size_max } => write!(
                f,
                "value_size_max {value_size_max} is above the log's limit of \
                 {RECORD_VALUE_SIZE_MAX} bytes"
            ),
            Self::SegmentSizeZero => f.write_str("segment_size_max is 0"),
            Self::StorageMissing => f.write_str("persistence is on but no storage was given"),
            Self::ShardsTooMany { shards } => write!(
                f,
                "shards {shards} is above the largest supported, {SHARD_COUNT_MAX}"
            ),
            Self::ShardsTooSmall { shards } => write!(
                f,
                "{shards} shards leave each too little memory (every shard needs at least 3 \
                 segments of its own): use fewer shards or more memory"
            ),
        }
    }
}

impl std::error::Error for DbConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts are the ones `DbError::Config(String)` carried before the type was typed.
    #[test]
    fn config_errors_keep_their_texts() {
        let mut config = DbConfig::new(1 << 20, 100);
        config.segment_size_max = 0;
        let error = config.validate().map(|()| "valid".to_owned());
        assert_eq!(
            error.map_err(|error| error.to_string()),
            Err("invalid configuration: segment_size_max is 0".to_owned())
        );
        let texts = [
            (
                DbConfigError::KeySizeAboveLog { key_size_max: 7 },
                format!("key_size_max 7 is above the log's limit of {RECORD_KEY_SIZE_MAX} bytes"),
            ),
            (
                DbConfigError::ValueSizeAboveLog { value_size_max: 9 },
                format!(
                    "value_size_max 9 is above the log's limit of {RECORD_VALUE_SIZE_MAX} bytes"
                ),
            ),
            (
                DbConfigError::StorageMissing,
                "persistence is on but no storage was given".to_owned(),
            ),
            (
                DbConfigError::Store(ConfigError::MemoryTooSmall),
                "memory_size is too small for the segments the store needs".to_owned(),
            ),
            (
                DbConfigError::Store(ConfigError::KeysMaxTooLarge),
                "keys_max is above the largest supported".to_owned(),
            ),
        ];
        for (error, text) in texts {
            assert_eq!(error.to_string(), text);
        }
    }
}
