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
use floe_core::store::Config;

use super::DbError;
use crate::io::Backend;
use crate::log::FsyncPolicy;

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
