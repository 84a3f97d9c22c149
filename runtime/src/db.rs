//! `floe::Db`: the embedded API. A durable key-value store and cache in one directory, used
//! from any number of threads, with no server.
//!
//! A [`Db`] splits its keyspace into shards ([`DbConfig::shards`]): each a floe-core
//! [`Store`](floe_core::store::Store) in heap memory of its own (see [`crate::memory`])
//! behind its own [`Mutex`], with an even share of the memory and key limits. A key's shard
//! follows from its bytes ([`floe_core::store::shard_of`]); an operation locks only the
//! shards it touches (`db/route.rs`), several in ascending order, so threads that touch
//! different shards run in parallel. With persistence on, one [`LogWriter`] over the data
//! directory takes every shard's records: one log, one LSN sequence.
//!
//! A write to one shard (below, "store" is that shard's):
//!
//! ```text
//!  lock store   ─► run the store op; its LogSink (a LogBuffer) copies the records' bytes
//!  lock append  ─► swap the filled LogBuffer with the appender's empty spare
//!  unlock store ─► LogWriter::append: LSNs assigned, records encoded into the log's queue,
//!                  one record standalone, several as a group (intents + commit)
//!  unlock append ─► fsync `always`: wait for the ticket (many threads share one fdatasync)
//!                ─► reply
//! ```
//!
//! The append-order lock is taken before the store lock is released (lock coupling), so
//! appends happen in the order the store applied the changes: file order = LSN order =
//! apply order, which is what recovery replays; and the encoding runs while the next
//! write already holds the store. A write that produces several
//! records (MSET, a SET that evicted keys) is one group, so recovery applies it whole or not
//! at all. The records' bytes are copied once into a buffer the [`Db`] keeps and then
//! encoded once, with their real LSN and checksum, straight into the log's queue: no
//! allocation per operation once the buffers have grown (a test with a counting allocator
//! pins this).
//!
//! Order across shards: records of different shards name different keys, so their relative
//! order in the file does not matter to recovery, which replays the one log in LSN order
//! and routes each record to its key's shard (a FLUSH or SWAPDB record to every shard).
//! Within a shard, file order = apply order, as above. A write to several shards (MSET of
//! keys in different shards, RENAME across shards, FLUSHALL, SWAPDB, a MULTI block) holds
//! all of their locks, logs its group through the first one's buffer, and appends before it
//! unlocks: first the other shards' pending records, then the first shard's (its pending
//! records, then the group). So each shard's earlier records precede the group in the file,
//! and its later ones follow it.
//!
//! Under `everysec` and `no` nobody waits for the disk, so a write leaves its records in
//! that buffer (still in apply order, under the store lock) and a flusher thread
//! (`db/flusher.rs`) appends whatever gathered 100 µs after the first of them
//! (`FLUSH_DELAY`), or the write that fills the buffer to 64 KiB appends it at once.
//! Appending every write on its own would wake the log writer thread once per write:
//! measured, that context switch cost several times the store operation itself.
//!
//! Durability per [`FsyncPolicy`]:
//! - `always`: a write returns only after an fdatasync covered its records. Nothing
//!   acknowledged is lost, even on power loss.
//! - `everysec`: a write returns once its records are in the [`Db`]'s buffer; they reach
//!   the log writer within about 100 µs, which writes them at once and fdatasyncs about
//!   once a second. A crash of the machine may lose about the last second; a crash of the
//!   process, what was not yet written (the last ~100 µs).
//! - `no`: as `everysec`, but the operating system flushes when it likes.
//! - `persistence: false`: a pure cache; no directory, no files, nothing survives.
//!
//! [`Db::flush`] waits until everything written so far is as durable as the policy says;
//! [`Db::close`] (and dropping the [`Db`]) writes and fdatasyncs everything, under every
//! policy.
//!
//! A failed write or fdatasync poisons the log (see [`crate::log::writer`]): every later
//! write returns [`Error::Poisoned`] with the first cause; reads keep working. The write
//! that met the failure was applied in memory before the failure was known, so reads may
//! see it although it was refused; a restart recovers exactly what is on disk. Under
//! `everysec` and `no` the append comes after the write returned, so a failure there is
//! returned by the next write (the one it hit was acknowledged already, as those policies
//! allow).
//!
//! Invariants: records are appended under their shard's lock, in the order the shard applied
//! them (LSN order = apply order per shard; a multi-shard group as above); records are
//! never dropped between the op and the append
//! (only a poisoned or closed log refuses them, and then the write or the next one says
//! so); a snapshot (`db/snapshots.rs`) appends what is pending, then reads the last LSN
//! under the store lock, so the snapshot at that LSN holds exactly the changes up to it;
//! `close` appends what is pending after the flusher stopped and before the log closes.
//!
//! Layout: this file holds the public types and `Db`'s key-value methods; `db/write.rs`
//! the write path (route, lock, run, append); `db/command.rs` the prepare/apply/commit path
//! every door shares, `db/route.rs` which shards an operation locks, `db/watch.rs` WATCH's
//! key versions, `db/snapshots.rs` SAVE, BGSAVE and the automatic trigger, and
//! `db/flusher.rs` the flusher thread.
//!
//! Fault assumptions: as in [`crate::io`]; recovery at open handles whatever a crash left
//! ([`crate::log::recovery`]).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use floe_core::constants::DATABASE_COUNT;
use floe_core::error::StoreError;
use floe_core::store::{SetOptions, Stats, shards};

use crate::error::{Error, Operation};
use crate::io::{Clock, Storage, SystemClock};
use crate::log::buffer::LOG_BUFFER_RETAIN_SIZE;
use crate::log::recovery::{RecoveryReport, recover};
use crate::log::{FsyncPolicy, LogBuffer, LogConfig, LogStats, LogWriter, Ticket};
use crate::memory::{OwnedStore, with_shards};

mod command;
mod config;
mod flusher;
mod notify;
mod replica;
mod route;
mod snapshots;
mod watch;
mod write;

pub use command::{Applied, Durability, Prepared};
pub use config::{DbConfig, DbConfigError, PrefixIndexMode};
use flusher::Flusher;
pub use notify::{
    KeyEvent, NOTIFY_KEYEVENT, NOTIFY_KEYSPACE, Publisher, format_flags, parse_flags,
};
use route::{DirtyShards, Route};
pub use snapshots::SnapshotReport;
use snapshots::Snapshots;
pub use watch::WatchMark;
use watch::WatchTable;

/// The database the key-value methods of [`Db`] use; [`Db::apply`] reaches all 16.
pub const DB_INDEX: u8 = 0;

/// Writes between two active-expiry steps (each examines
/// [`EXPIRE_STEP_SLOTS_DEFAULT`] table slots and removes the expired keys it finds).
const EXPIRE_WRITE_INTERVAL: u32 = 16;

/// Under `everysec` and `no`, a write whose records take the pending buffer to this size
/// appends them to the log itself instead of leaving them to the flusher.
const PENDING_SIZE_MAX: u64 = 64 << 10;

/// [`PENDING_SIZE_MAX`] as a size in memory.
const PENDING_SIZE_MAX_USIZE: usize = 64 << 10;

/// Room reserved in each log buffer above [`PENDING_SIZE_MAX`]: the write that crosses it
/// adds its own records first (a larger one grows the buffer once).
const PENDING_HEADROOM: usize = 16 << 10;

/// Why a [`Db`] operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum DbError {
    /// The store refused the operation (a size limit, out of memory under `noeviction`, ...);
    /// nothing changed. [`StoreError::message`] is Redis's wording.
    Store(StoreError),
    /// The configuration is invalid.
    Config(DbConfigError),
    /// `save`/`bgsave` on a [`Db`] opened with `persistence: false`.
    PersistenceOff,
    /// The runtime failed: I/O, a poisoned or closed log, a locked directory, corrupt data.
    Runtime(Error),
    /// A client's write to a replica (`docs/replication.md`): only its primary writes.
    ReadOnly,
    /// A client's write to a primary with fewer replicas acknowledging within
    /// `min-replicas-max-lag` than `min-replicas-to-write` asks for.
    NoReplicas,
}

impl DbError {
    /// The runtime error inside, if this is one.
    #[must_use]
    pub fn runtime(&self) -> Option<&Error> {
        match self {
            Self::Runtime(error) => Some(error),
            _ => None,
        }
    }
}

impl From<Error> for DbError {
    fn from(error: Error) -> Self {
        Self::Runtime(error)
    }
}

impl From<StoreError> for DbError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Store(error) => f.write_str(error.message()),
            Self::Config(message) => write!(f, "invalid configuration: {message}"),
            Self::PersistenceOff => {
                f.write_str("persistence is off: this Db has no directory to save to")
            }
            Self::Runtime(error) => write!(f, "{error}"),
            Self::ReadOnly => f.write_str("You can't write against a read only replica."),
            Self::NoReplicas => f.write_str("Not enough good replicas to write."),
        }
    }
}

impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Runtime(error) => Some(error),
            _ => None,
        }
    }
}

/// Counters and gauges of a [`Db`] (ZeekDB's `stats()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbStats {
    /// The store's counters: hits, misses, evictions, keys, memory.
    pub store: Stats,
    /// The log's counters, with persistence on.
    pub log: Option<LogStats>,
    /// The LSN of the last record appended to the log (or recovered). Under `everysec`
    /// and `no`, the records of the last ~100 µs may still be waiting for their append
    /// ([`Db::flush`] appends them).
    pub lsn_last: u64,
    /// Bytes logged since the last snapshot started (what the automatic trigger watches).
    pub log_size_since_snapshot: u64,
    /// Snapshots taken since open.
    pub snapshot_count: u64,
}

/// An embedded, durable key-value store; see the module documentation.
///
/// Thread-safe (`Send + Sync`): share it with `Arc<Db>`. The key-value methods use
/// database [`DB_INDEX`]; [`Db::prepare`] and [`Db::apply`] run any command of floe-core's
/// command table against the whole store, and [`Db::commit`], [`Db::poll`] and [`Db::wait`]
/// make its writes durable (see [`command`]).
///
/// # Examples
///
/// ```
/// use floe_runtime::{Db, DbConfig};
///
/// let dir = std::env::temp_dir().join(format!("floe-db-doc-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let db = Db::open(&dir, DbConfig::new(1 << 20, 10_000))?;
/// db.set(b"greeting", b"hello")?;
/// db.set_many(&[(b"a".as_slice(), b"1".as_slice()), (b"b", b"2")])?;
/// assert_eq!(db.get(b"greeting"), Some(b"hello".to_vec()));
/// assert!(db.delete(b"a")?);
/// db.close()?;
/// drop(db);
///
/// // Everything acknowledged is there after a reopen.
/// let db = Db::open(&dir, DbConfig::new(1 << 20, 10_000))?;
/// assert_eq!(db.get(b"greeting"), Some(b"hello".to_vec()));
/// assert_eq!(db.get(b"a"), None);
/// assert_eq!(db.len(), 2);
/// # drop(db);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Db {
    inner: Arc<Inner>,
}

const _: () = {
    const fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<Db>();
};

#[derive(Debug)]
struct Inner {
    /// The keyspace's shards, each behind its own lock (see `db/route.rs` for the order).
    shards: Box<[Mutex<Shard>]>,
    /// Shards whose buffers hold records not yet appended.
    dirty: DirtyShards,
    /// Versions of watched keys (WATCH), bumped by every record a store reports.
    watch: WatchTable,
    /// Writes may leave their records in their shard's buffer for the flusher (`everysec`
    /// and `no`, until `close`).
    deferred: AtomicBool,
    /// The shard the next cross-shard active-expiry step examines.
    expire_next: AtomicUsize,
    /// The append order: taken while the store lock is held, kept while encoding and
    /// appending after the store lock is released (lock coupling, see [`Inner::append`]).
    appender: Mutex<Appender>,
    /// `None` with persistence off.
    log: Option<LogWriter>,
    storage: Option<Arc<dyn Storage>>,
    clock: Arc<dyn Clock>,
    dir: PathBuf,
    config: DbConfig,
    /// `close` was called.
    closed: AtomicBool,
    /// The first failure that poisoned the log, once seen by the Db.
    failure: Mutex<Option<Arc<Error>>>,
    failed: AtomicBool,
    /// Snapshots: SAVE, BGSAVE, the automatic trigger and their counters.
    snapshots: Snapshots,
    /// Capacity the log's queue buffers are given on first use (see [`Db::write`]).
    queue_reserve: usize,
    /// The flusher thread (`everysec` and `no` with persistence on).
    flusher: Flusher,
    recovery: Option<RecoveryReport>,
    /// A replica: clients' writes are refused with [`DbError::ReadOnly`] (`db/replica.rs`).
    read_only: AtomicBool,
    /// Set once the first replica asked for a full sync: every append is copied into it.
    backlog: std::sync::OnceLock<Arc<crate::replication::Backlog>>,
    /// `min-replicas-to-write`: clients' writes are refused with [`DbError::NoReplicas`]
    /// while too few replicas acknowledged lately (`db/replica.rs`).
    write_quorum: replica::WriteQuorum,
    /// `notify-keyspace-events` and where events go (`db/notify.rs`).
    notify: notify::Notify,
}

/// What a shard's lock guards.
#[derive(Debug)]
struct Shard {
    /// Its index in [`Inner::shards`].
    index: usize,
    store: OwnedStore,
    /// Records of writes applied to the store and not yet handed to the appender.
    buffer: LogBuffer,
    /// Writes since the last active-expiry step.
    writes_since_expiry: u32,
    /// Active-expiry steps this shard's writes have triggered.
    expire_steps: u32,
    /// A snapshot's cut marked this shard and nobody has streamed it into the file yet: a
    /// write must call `snapshot_walk` before it changes the store (`db/snapshots.rs`).
    snapshot_pending: bool,
}

/// What the append-order lock guards.
#[derive(Debug)]
struct Appender {
    /// The buffer being encoded into the log: swapped with [`Shard::buffer`], so neither
    /// ever allocates in the steady state.
    spare: LogBuffer,
    /// LSN of the last record appended (or recovered).
    lsn_last: u64,
    /// Bytes appended to the log since open, plus the log bytes recovery replayed.
    log_size: u64,
    /// The last append's ticket, for [`Db::flush`].
    ticket_last: Option<Ticket>,
    /// With persistence off and a backlog: where an append is encoded before the backlog
    /// copies it (kept, so it does not allocate each time).
    backlog_bytes: Vec<u8>,
}

impl Db {
    /// Opens (creating if needed) the data directory `dir` with the system clock and the
    /// configured backend, recovering what it holds.
    ///
    /// # Errors
    /// [`DbError::Config`] for an invalid configuration; [`DbError::Runtime`] with
    /// [`Error::Locked`] if another `Db` or process has `dir`, [`Error::Corrupt`] if the
    /// log is damaged where recovery must not guess (run `floe check --repair <dir>`),
    /// [`Error::Io`] if `dir` cannot be created or read (e.g. a path component is a file),
    /// holds files of a newer format, holds a damaged snapshot whose changes the log no
    /// longer has ([`std::io::ErrorKind::InvalidData`]: restore it from a backup), or holds
    /// more than the store can (raise memory or keys).
    pub fn open(dir: impl AsRef<Path>, config: DbConfig) -> Result<Self, DbError> {
        config.validate()?;
        let storage = if config.persistence {
            Some(config.backend.open()?)
        } else {
            None
        };
        Self::open_with(dir, config, storage, Arc::new(SystemClock::new()))
    }

    /// [`Db::open`] over a given storage (`None` with persistence off) and clock: the
    /// simulator's, or a fault-injecting wrapper in tests.
    ///
    /// # Errors
    /// As [`Db::open`]; [`DbError::Config`] if persistence is on and `storage` is `None`.
    pub fn open_with(
        dir: impl AsRef<Path>,
        config: DbConfig,
        storage: Option<Arc<dyn Storage>>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, DbError> {
        config.validate()?;
        let dir = dir.as_ref().to_path_buf();
        let shard_count = config.shard_count();
        let shard_config = config.shard_store_config(shard_count);
        let mut stores = (0..shard_count)
            .map(|_| OwnedStore::new_paged(shard_config, config.huge_pages))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| DbError::Config(DbConfigError::Store(error)))?;
        let storage = if config.persistence {
            let Some(storage) = storage else {
                return Err(DbError::Config(DbConfigError::StorageMissing));
            };
            Some(storage)
        } else {
            None
        };
        let (log, recovery) = match &storage {
            Some(storage) => {
                let (log, report) = open_log(storage, &clock, &dir, &config, &mut stores)?;
                (Some(log), Some(report))
            }
            None => (None, None),
        };
        // The index is derived state: built once from the recovered table, in one sorted
        // load per shard, rather than kept up key by key while the log replays.
        for store in &mut stores {
            store.with(|store| match config.prefix_index {
                PrefixIndexMode::On => store.set_prefix_index(true),
                PrefixIndexMode::Off => store.set_prefix_index(false),
                PrefixIndexMode::OnDemand => store.set_prefix_index_on_demand(),
            });
        }
        let lsn_last = recovery.as_ref().map_or(0, |report| report.lsn_last);
        let log_size = recovery.as_ref().map_or(0, |report| report.log_byte_count);
        // The queue may hold `queue_size_max` bytes plus one append; small records never
        // take it past this, so once both of the log's buffers (it swaps the queue with its
        // batch) have this capacity, appends never reallocate.
        let queue_reserve = LogConfig::new(&dir).queue_size_max + LOG_BUFFER_RETAIN_SIZE;
        let deferred = config.persistence && config.fsync != FsyncPolicy::Always;
        let shards = stores
            .into_iter()
            .enumerate()
            .map(|(index, store)| {
                let mut buffer = LogBuffer::new(config.persistence);
                if config.persistence {
                    // Pending writes (the flusher's, or a door's batch) reach
                    // PENDING_SIZE_MAX plus one write's records.
                    buffer.reserve_for(PENDING_SIZE_MAX_USIZE + PENDING_HEADROOM);
                }
                Mutex::new(Shard {
                    index,
                    store,
                    buffer,
                    writes_since_expiry: 0,
                    expire_steps: 0,
                    snapshot_pending: false,
                })
            })
            .collect();
        let mut spare = LogBuffer::new(config.persistence);
        if config.persistence {
            spare.reserve_for(PENDING_SIZE_MAX_USIZE + PENDING_HEADROOM);
        }
        let appender = Appender {
            spare,
            lsn_last,
            log_size,
            ticket_last: None,
            backlog_bytes: Vec::new(),
        };
        let db = Self {
            inner: Arc::new(Inner {
                shards,
                dirty: DirtyShards::default(),
                watch: WatchTable::new(),
                deferred: AtomicBool::new(deferred),
                expire_next: AtomicUsize::new(0),
                appender: Mutex::new(appender),
                log,
                storage,
                clock,
                dir,
                config,
                closed: AtomicBool::new(false),
                failure: Mutex::new(None),
                failed: AtomicBool::new(false),
                snapshots: Snapshots::default(),
                queue_reserve,
                flusher: Flusher::default(),
                recovery,
                read_only: AtomicBool::new(false),
                backlog: std::sync::OnceLock::new(),
                notify: notify::Notify::default(),
                write_quorum: replica::WriteQuorum::default(),
            }),
        };
        if deferred {
            Inner::flusher_start(&db.inner)?;
        }
        Ok(db)
    }

    /// The value of `key`, copied out (allocates; [`Db::get_into`] and [`Db::get_with`]
    /// do not).
    #[must_use]
    pub fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.get_with(key, |value| value.map(<[u8]>::to_vec))
    }

    /// Copies the value of `key` into `value` (cleared first); whether the key exists.
    /// Allocates nothing once `value` has grown to the values read.
    pub fn get_into(&self, key: &[u8], value: &mut Vec<u8>) -> bool {
        value.clear();
        self.get_with(key, |found| {
            found.map(|bytes| value.extend_from_slice(bytes)).is_some()
        })
    }

    /// Calls `visit` with the value of `key` (borrowed from the store, under its lock: keep
    /// `visit` short and never call the `Db` from it, which deadlocks).
    pub fn get_with<R>(&self, key: &[u8], visit: impl FnOnce(Option<&[u8]>) -> R) -> R {
        self.read(self.route_key(key), |shards, now| {
            visit(shards.store_for(key).get(DB_INDEX, key, now))
        })
    }

    /// Whether `key` exists (and has not expired).
    #[must_use]
    pub fn exists(&self, key: &[u8]) -> bool {
        self.read(self.route_key(key), |shards, now| {
            shards.store_for(key).exists(DB_INDEX, key, now)
        })
    }

    /// Stores `value` under `key`, with no expiry.
    ///
    /// # Errors
    /// [`DbError::Store`] for a key or value over its limit or a full store under
    /// `noeviction` (nothing changed); [`DbError::Runtime`] if the log failed or is closed.
    pub fn set(&self, key: &[u8], value: &[u8]) -> Result<(), DbError> {
        self.write(self.route_key(key), |shards, now, log| {
            shards
                .store_for(key)
                .set(DB_INDEX, key, value, SetOptions::default(), now, log)
                .map(|_| ())
        })?
        .map_err(DbError::Store)
    }

    /// Stores `value` under `key`, expiring `ttl` from now (ZeekDB's `setWithTTL`).
    ///
    /// # Errors
    /// As [`Db::set`]; [`StoreError::InvalidExpire`] for a TTL under a millisecond.
    pub fn set_with_ttl(&self, key: &[u8], value: &[u8], ttl: Duration) -> Result<(), DbError> {
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        self.write(self.route_key(key), |shards, now, log| {
            shards
                .store_for(key)
                .set_with_ttl(DB_INDEX, key, value, ttl_ms, now, log)
        })?
        .map_err(DbError::Store)
    }

    /// Removes `key`; whether it existed.
    ///
    /// # Errors
    /// [`DbError::Runtime`] if the log failed or is closed.
    pub fn delete(&self, key: &[u8]) -> Result<bool, DbError> {
        self.write(self.route_key(key), |shards, now, log| {
            shards.store_for(key).delete(DB_INDEX, key, now, log)
        })
    }

    /// Keys stored (expired keys not yet removed count, as in Redis's DBSIZE).
    #[must_use]
    pub fn len(&self) -> usize {
        self.read(self.route_all(), |shards, _| {
            shards::db_len(shards, DB_INDEX)
        })
    }

    /// Why writes are refused, if they are: the log's first failure (with what to do), or
    /// that the Db is closed. `None` while writes are accepted.
    #[must_use]
    pub fn write_refusal(&self) -> Option<String> {
        self.inner
            .check_writable()
            .err()
            .map(|error| error.reply_text())
    }

    /// Keys stored in each of the 16 databases (INFO's keyspace section).
    #[must_use]
    pub fn db_sizes(&self) -> [usize; DATABASE_COUNT as usize] {
        self.read(self.route_all(), |shards, _| {
            let mut sizes = [0; DATABASE_COUNT as usize];
            for (db, size) in (0..DATABASE_COUNT).zip(sizes.iter_mut()) {
                *size = shards::db_len(shards, db);
            }
            sizes
        })
    }

    /// Whether no key is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every key.
    ///
    /// # Errors
    /// [`DbError::Runtime`] if the log failed or is closed.
    pub fn clear(&self) -> Result<(), DbError> {
        self.write(self.route_all(), |shards, _, log| {
            shards::clear(shards, Some(DB_INDEX), log);
        })
    }

    /// The values of `keys`, in order (ZeekDB's `getMany`, Redis's MGET), read under one
    /// lock.
    #[must_use]
    pub fn get_many(&self, keys: &[&[u8]]) -> Vec<Option<Vec<u8>>> {
        let mut values = vec![None; keys.len()];
        let route = Route::of_keys(self.shard_count(), keys.iter().copied());
        self.read(route, |shards, now| {
            for (key, value) in keys.iter().zip(&mut values) {
                *value = shards
                    .store_for(key)
                    .get(DB_INDEX, key, now)
                    .map(<[u8]>::to_vec);
            }
        });
        values
    }

    /// Stores every pair, all or none, as one atomic group in the log (ZeekDB's
    /// `setMany`, Redis's MSET).
    ///
    /// # Errors
    /// As [`Db::set`]; on a store error nothing was written.
    pub fn set_many(&self, pairs: &[(&[u8], &[u8])]) -> Result<(), DbError> {
        let route = Route::of_keys(self.shard_count(), pairs.iter().map(|(key, _)| *key));
        self.write(route, |shards, now, log| {
            shards::set_many(shards, DB_INDEX, pairs.iter().copied(), false, now, log)
        })?
        .map(|_| ())
        .map_err(DbError::Store)
    }

    /// Every key (ZeekDB's `keys`).
    #[must_use]
    pub fn keys(&self) -> Vec<Vec<u8>> {
        self.keys_matching(b"*")
    }

    /// Every key matching the Redis glob `pattern` (Redis's KEYS).
    #[must_use]
    pub fn keys_matching(&self, pattern: &[u8]) -> Vec<Vec<u8>> {
        let mut keys = Vec::new();
        self.read(self.route_all(), |shards, now| {
            shards::keys(shards, DB_INDEX, pattern, now, |key| {
                keys.push(key.to_vec())
            });
        });
        keys
    }

    /// Calls `visit` with every live key of every type, under the store lock (never call
    /// the `Db` from `visit`): what the cluster's slot commands count and list.
    pub fn keys_with(&self, mut visit: impl FnMut(&[u8])) {
        self.read(self.route_all(), |shards, now| {
            shards::keys(shards, DB_INDEX, b"*", now, &mut visit);
        });
    }

    /// Every value (ZeekDB's `values`).
    #[must_use]
    pub fn values(&self) -> Vec<Vec<u8>> {
        let mut values = Vec::new();
        self.read(self.route_all(), |shards, now| {
            for shard in 0..shards.count() {
                let store = shards.store(shard);
                store.entries(DB_INDEX, now, |_, value| values.push(value.to_vec()));
            }
        });
        values
    }

    /// Every key starting with `prefix`, with its value (PizzaKV's prefix search).
    #[must_use]
    pub fn scan_prefix(&self, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut entries = Vec::new();
        self.scan_prefix_with(prefix, |key, value| {
            entries.push((key.to_vec(), value.to_vec()));
        });
        entries
    }

    /// Calls `visit` with every key starting with `prefix` and its value, under the store
    /// lock (never call the `Db` from `visit`).
    pub fn scan_prefix_with(&self, prefix: &[u8], mut visit: impl FnMut(&[u8], &[u8])) {
        self.read(self.route_all(), |shards, now| {
            for shard in 0..shards.count() {
                let store = shards.store(shard);
                store.prefix_index_for(prefix);
                store.scan_prefix(DB_INDEX, prefix, now, &mut visit);
            }
        });
    }

    /// Counters and gauges.
    #[must_use]
    pub fn stats(&self) -> DbStats {
        let inner = &*self.inner;
        let store = inner
            .shards
            .iter()
            .map(|shard| lock(shard).store.with_ref(|store| store.stats()))
            .reduce(Stats::merged)
            .unwrap_or_default();
        let (lsn_last, log_size) = {
            let appender = lock(&inner.appender);
            (appender.lsn_last, appender.log_size)
        };
        DbStats {
            store,
            log: inner.log.as_ref().map(LogWriter::stats),
            lsn_last,
            log_size_since_snapshot: inner.snapshots.log_size_since_snapshot(log_size),
            snapshot_count: inner.snapshots.count(),
        }
    }

    /// What recovery found when this `Db` was opened (`None` with persistence off).
    #[must_use]
    pub fn recovery(&self) -> Option<&RecoveryReport> {
        self.inner.recovery.as_ref()
    }

    /// The data directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The configuration it was opened with.
    #[must_use]
    pub fn config(&self) -> &DbConfig {
        &self.inner.config
    }

    /// Waits until everything written so far is as durable as the fsync policy promises
    /// (written to the file; under `always`, fdatasync'ed).
    ///
    /// # Errors
    /// [`DbError::Runtime`] with [`Error::Poisoned`] if the log failed first.
    pub fn flush(&self) -> Result<(), DbError> {
        let inner = &*self.inner;
        for shard in &inner.shards {
            inner.append(lock(shard))?;
        }
        let ticket = lock(&inner.appender).ticket_last;
        Inner::snapshot_start_if_wanted(&self.inner);
        if let (Some(log), Some(ticket)) = (&inner.log, ticket) {
            log.wait(ticket).map_err(|error| inner.fail(error))?;
        }
        // The flusher may have failed an append after the last ticket: those writes are not
        // durable, so neither is "everything written so far".
        inner.check_not_failed()
    }

    /// Takes a snapshot now and compacts the log (Redis's SAVE); returns when the snapshot
    /// is durable and the segments it covers are deleted. A write waits only while its own
    /// shard is streamed to the snapshot file ([`SnapshotReport::pause`]), never while the
    /// file is synced; memory holds one block (1 MiB), never a copy of the store.
    ///
    /// # Errors
    /// [`DbError::PersistenceOff`]; [`DbError::Runtime`] if the log failed, the `Db` is
    /// closed, or writing the snapshot failed (the previous snapshot and the log are intact
    /// then).
    pub fn save(&self) -> Result<SnapshotReport, DbError> {
        self.inner.snapshot()
    }

    /// Starts a snapshot on a background thread (Redis's BGSAVE); `Ok(false)` if one is
    /// already running. [`Db::bgsave_wait`] waits for it.
    ///
    /// # Errors
    /// As [`Db::save`] for what can be known before it starts; a thread that cannot start.
    pub fn bgsave(&self) -> Result<bool, DbError> {
        self.inner.check_writable()?;
        if self.inner.storage.is_none() {
            return Err(DbError::PersistenceOff);
        }
        Inner::background_start(&self.inner)
    }

    /// Waits for the background snapshot, if one ran since the last call, and returns its
    /// outcome.
    pub fn bgsave_wait(&self) -> Option<Result<SnapshotReport, DbError>> {
        self.inner.background_wait()
    }

    /// Flushes and closes: waits for a background snapshot, then writes and fdatasyncs
    /// everything logged (under every fsync policy) and stops the log writer. Later writes
    /// return [`Error::Closed`]; reads keep working. Calling it again returns `Ok`.
    ///
    /// # Errors
    /// [`DbError::Runtime`] with [`Error::Poisoned`] if the log failed before or during the
    /// final flush: the writes it refused were never acknowledged.
    pub fn close(&self) -> Result<(), DbError> {
        let inner = &*self.inner;
        if inner.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        // The flusher first: it may start a background snapshot, which is waited for next.
        inner.flusher_end();
        if let Some(Err(error)) = inner.background_wait() {
            tracing::error!(
                "the background snapshot of `{}` failed: {error}",
                inner.dir.display()
            );
        }
        // From here on every write appends its own records; what is pending goes now.
        inner.deferred.store(false, Ordering::Release);
        let pending = inner
            .shards
            .iter()
            .try_for_each(|shard| inner.append(lock(shard)).map(|_| ()));
        if let Some(log) = &inner.log {
            log.close().map_err(|error| inner.fail(error))?;
        }
        pending
    }

    /// Shards of the keyspace ([`DbConfig::shard_count`] of the configuration it was
    /// opened with).
    #[must_use]
    pub fn shard_count(&self) -> usize {
        self.inner.shards.len()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Err(error) = self.close() {
            tracing::error!("closing `{}` failed: {error}", self.inner.dir.display());
        }
    }
}

impl Inner {
    /// Refuses writes after `close` or a failure.
    fn check_writable(&self) -> Result<(), DbError> {
        self.check_not_failed()?;
        if self.closed.load(Ordering::Acquire) {
            return Err(DbError::Runtime(Error::Closed));
        }
        Ok(())
    }

    /// The log's first failure, if it has failed (a write, or the flusher's append).
    fn check_not_failed(&self) -> Result<(), DbError> {
        if self.failed.load(Ordering::Acquire)
            && let Some(cause) = lock(&self.failure).clone()
        {
            return Err(DbError::Runtime(Error::Poisoned { cause }));
        }
        Ok(())
    }

    /// Remembers a poisoning failure (so later writes are refused before they touch the
    /// store) and wraps the error.
    fn fail(&self, error: Error) -> DbError {
        if let Error::Poisoned { cause } = &error {
            let mut failure = lock(&self.failure);
            if failure.is_none() {
                *failure = Some(Arc::clone(cause));
            }
            self.failed.store(true, Ordering::Release);
        }
        DbError::Runtime(error)
    }
}

/// Recovers the shards' `stores` from `dir` and opens the log after the last recovered LSN.
fn open_log(
    storage: &Arc<dyn Storage>,
    clock: &Arc<dyn Clock>,
    dir: &Path,
    config: &DbConfig,
    stores: &mut [OwnedStore],
) -> Result<(LogWriter, RecoveryReport), DbError> {
    storage.create_dir_all(dir).map_err(|error| match error {
        // `create_dir_all` accepts an existing directory, so this is something else.
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists => {
            Error::io(
                Operation::CreateDir,
                dir,
                std::io::Error::new(
                    std::io::ErrorKind::NotADirectory,
                    "it exists and is not a directory",
                ),
            )
        }
        other => other,
    })?;
    let report = {
        // Held through recovery, then handed to the log writer, which takes it again: a
        // process that grabs the directory in between makes `LogWriter::open` fail with
        // `Locked` after our recovery, whose changes (torn tails cut) were made while we
        // held the lock, so nothing interleaves.
        let _lock = storage.lock_dir(dir)?;
        let count = stores.len();
        let mut locked: Vec<_> = stores.iter_mut().enumerate().collect();
        with_shards(count, &mut locked, |shards| {
            recover(&**storage, &**clock, dir, shards)
        })?
    };
    let log = LogWriter::open(
        Arc::clone(storage),
        Arc::clone(clock),
        LogConfig {
            fsync: config.fsync,
            lsn_next: report.lsn_last + 1,
            segment_size_max: config.segment_size_max,
            ..LogConfig::new(dir)
        },
    )?;
    Ok((log, report))
}

/// Locks a mutex, going on after a panic elsewhere: the store is consistent after any
/// panic in a store op (floe-core asserts before it changes anything it cannot finish), and
/// the other guarded values are plain data.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
