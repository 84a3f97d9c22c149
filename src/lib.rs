//! floe: a fast, durable, embeddable key-value store and cache.
//!
//! This is the crate to add (`cargo add floe`). It re-exports the embedded API, which
//! lives in `floe-runtime` (the durable [`Db`]) and `floe-core` (the store's limits,
//! policies, errors and counters), under one name, so a program never needs to know how
//! floe is split. `cargo install floe` installs the `floe` binary (the CLI) from the same
//! package.
//!
//! A [`Db`] is a store in one directory, used from any number of threads, with no server:
//! every write goes to a write-ahead log and is recovered at the next open. With
//! `persistence: false` it is a pure in-memory cache with no files at all.
//!
//! ```
//! use std::time::Duration;
//!
//! use floe::{Db, DbConfig, EvictionPolicy, FsyncPolicy};
//!
//! let dir = std::env::temp_dir().join(format!("floe-lib-doc-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! let mut config = DbConfig::new(4 << 20, 10_000); // 4 MiB of items, up to 10,000 keys
//! config.fsync = FsyncPolicy::Everysec;
//! config.store.policy = EvictionPolicy::AllKeysLru;
//! let db = Db::open(&dir, config.clone())?;
//!
//! db.set(b"user:1", b"ada")?;
//! db.set_with_ttl(b"session:1", b"token", Duration::from_secs(60))?;
//! assert_eq!(db.get(b"user:1"), Some(b"ada".to_vec()));
//! assert!(db.exists(b"session:1"));
//! assert_eq!(db.len(), 2);
//! db.close()?; // flushes and fdatasyncs the log under every fsync policy
//! drop(db);
//!
//! // What was written is there after a reopen.
//! let db = Db::open(&dir, config)?;
//! assert_eq!(db.get(b"user:1"), Some(b"ada".to_vec()));
//! assert_eq!(db.stats().store.keys, 2);
//! # drop(db);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The API by item
//!
//! ZeekDB's names are [`Db`]'s methods: `get`, `set`, `delete`, `clear`, `exists`, `len`,
//! `set_with_ttl`, `get_many`, `set_many`, `keys`, `values`, `scan_prefix`, `stats`; and
//! `flush`, `save`, `close` for durability.
//!
//! [`DbConfig`]: how a [`Db`] is opened. [`DbConfig::new`] takes the item memory and the
//! most keys; the store's fields ([`StoreConfig`]) set the key and value limits and the
//! eviction policy.
//!
//! ```
//! use floe::{Backend, DbConfig, EvictionPolicy, FsyncPolicy};
//!
//! let mut config = DbConfig::new(64 << 20, 1_000_000);
//! config.persistence = true;
//! config.fsync = FsyncPolicy::Always; // a write returns once it is on disk
//! config.backend = Backend::Blocking; // or Auto: io_uring when it can be set up
//! config.store.policy = EvictionPolicy::NoEviction;
//! config.store.value_size_max = 4096;
//! assert!(config.validate().is_ok());
//!
//! config.segment_size_max = 0;
//! assert!(config.validate().is_err()); // the error names the limit
//! ```
//!
//! [`DbError`]: why an operation failed. A refused write changed nothing; [`StoreError`]
//! says which limit (in Redis's words), [`Error`] is the runtime's (I/O, a locked
//! directory, a poisoned log, corrupt data).
//!
//! ```
//! use floe::{Db, DbConfig, DbError, StoreError};
//!
//! let mut config = DbConfig::new(1 << 20, 100);
//! config.persistence = false; // a pure cache: no directory, no files
//! config.store.key_size_max = 8;
//! let db = Db::open("unused", config)?;
//!
//! let refused = db.set(b"a key longer than eight bytes", b"value");
//! assert!(matches!(refused, Err(DbError::Store(StoreError::KeyTooLarge))));
//! assert_eq!(db.len(), 0); // nothing changed
//! # Ok::<(), DbError>(())
//! ```
//!
//! A directory that another [`Db`] or process holds is refused with [`Error::Locked`]:
//!
//! ```
//! use floe::{Db, DbConfig, DbError, Error};
//!
//! let dir = std::env::temp_dir().join(format!("floe-lib-lock-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! let first = Db::open(&dir, DbConfig::new(1 << 20, 100))?;
//! let second = Db::open(&dir, DbConfig::new(1 << 20, 100));
//! assert!(matches!(second, Err(DbError::Runtime(Error::Locked { .. }))));
//! # drop(first);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`DbStats`]: the counters of [`Db::stats`]: the store's ([`StoreStats`]: hits,
//! misses, expired, evicted, keys, memory) and, with persistence on, the log's
//! ([`LogStats`]).
//!
//! ```
//! use floe::{Db, DbConfig, DbStats};
//!
//! let db = Db::open("unused", DbConfig { persistence: false, ..DbConfig::new(1 << 20, 100) })?;
//! db.set(b"k", b"v")?;
//! let _ = db.get(b"k");
//! let _ = db.get(b"absent");
//! let stats: DbStats = db.stats();
//! assert_eq!((stats.store.hits, stats.store.misses, stats.store.keys), (1, 1, 1));
//! assert!(stats.log.is_none()); // no log with persistence off
//! # Ok::<(), floe::DbError>(())
//! ```
//!
//! [`FsyncPolicy`] and [`EvictionPolicy`] have Redis's names (`appendfsync`,
//! `maxmemory-policy`):
//!
//! ```
//! use floe::{EvictionPolicy, FsyncPolicy};
//!
//! assert_eq!("everysec".parse::<FsyncPolicy>(), Ok(FsyncPolicy::Everysec));
//! assert_eq!(EvictionPolicy::from_name(b"allkeys-lfu"), Some(EvictionPolicy::AllKeysLfu));
//! assert_eq!(EvictionPolicy::Sieve.name(), "sieve");
//! ```
//!
//! An eviction policy other than `noeviction` makes the [`Db`] a cache that never refuses a
//! write for lack of room:
//!
//! ```
//! use floe::{Db, DbConfig, EvictionPolicy};
//!
//! let mut config = DbConfig::new(64 << 10, 100); // 100 keys at most
//! config.persistence = false;
//! config.store.policy = EvictionPolicy::AllKeysLru;
//! let db = Db::open("unused", config)?;
//! for index in 0..1000_u32 {
//!     db.set(&index.to_le_bytes(), b"value")?;
//! }
//! assert!(db.len() <= 100);
//! assert!(db.stats().store.evicted >= 900);
//! # Ok::<(), floe::DbError>(())
//! ```
//!
//! For a host with no operating system, [`core`] (floe-core) is the `#![no_std]` engine
//! with no allocation: a [`core::store::Store`] over a buffer the caller gives. The C ABI
//! lives in the `floe-capi` crate.
#![deny(unsafe_code)]

pub use floe_core::error::StoreError;
pub use floe_core::storage::policy::EvictionPolicy;
pub use floe_core::store::{Config as StoreConfig, Stats as StoreStats};
pub use floe_core::time::Timestamp;
pub use floe_runtime::db::{
    Applied, DB_INDEX, DbStats, Durability, PrefixIndexMode, Prepared, SnapshotReport, WatchMark,
};
pub use floe_runtime::error::Error;
pub use floe_runtime::io::Backend;
pub use floe_runtime::log::recovery::RecoveryReport;
pub use floe_runtime::log::{FsyncPolicy, LogStats};
pub use floe_runtime::{Db, DbConfig, DbConfigError, DbError};

/// floe-core, the `#![no_std]` engine: arena, table, store and codecs, with no I/O.
///
/// ```
/// use floe::core::arena::Arena;
/// use floe::core::store::{Config, SetOptions, Store};
///
/// let config = Config::new(64 * 1024, 1000);
/// let mut memory = vec![0u8; config.arena_size()];
/// let mut arena = Arena::from_buffer(&mut memory);
/// let mut store = Store::new(&mut arena, config).expect("config fits the arena");
/// arena.freeze().expect("first freeze");
///
/// let now = 1_700_000_000_000; // the caller's clock, in ms since the Unix epoch
/// store.set(0, b"greeting", b"hello", SetOptions::default(), now, &mut ()).expect("room");
/// assert_eq!(store.get(0, b"greeting", now), Some(&b"hello"[..]));
/// ```
pub mod core {
    pub use floe_core::*;
}
