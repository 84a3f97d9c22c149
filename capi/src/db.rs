//! `FloeDb`: the durable [`Db`] behind a handle number, with its options, its stats and
//! its last error message. Safe code only; [`crate::abi`] turns the C pointers into the
//! slices and references these functions take.
//!
//! Handles: a `FloeDb *` the C side holds is a number in a process-wide table of open
//! handles, counted up from 1 and never reused, so it is never dereferenced: a closed
//! handle, a made-up one, or one from another library instance is simply not in the table
//! and is refused with [`FloeStatus::BadHandle`]. A call looks its handle up, clones the
//! `Arc`, and lets go of the table before it touches the store, so calls on different
//! handles (and on the same one: [`Db`] is thread-safe) run in parallel. `floe_close`
//! removes the handle first; a call already running on it finishes, and the [`Db`] is
//! dropped with the last clone.
//!
//! Messages: a failed call on a handle keeps its message on the handle; a failure with no
//! handle to keep it on (`floe_open`, `floe_close`, a bad handle) keeps it per thread.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Display;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use floe_core::storage::policy::EvictionPolicy;
use floe_runtime::log::FsyncPolicy;
use floe_runtime::{Db, DbConfig};

use crate::status::FloeStatus;

/// An open durable store. Opaque: C code holds only pointers to it.
pub struct FloeDb {
    _private: [u8; 0],
}

/// `fsync`: a write returns once an fdatasync covered it (nothing acknowledged is lost).
pub const FLOE_FSYNC_ALWAYS: u32 = 0;
/// `fsync`: written at once, fdatasync'ed about once a second.
pub const FLOE_FSYNC_EVERYSEC: u32 = 1;
/// `fsync`: written at once, never fdatasync'ed but on close.
pub const FLOE_FSYNC_NO: u32 = 2;

/// `eviction`: refuse writes when full (`FLOE_STATUS_FULL`).
pub const FLOE_EVICTION_NOEVICTION: u32 = 0;
/// `eviction`: evict the least recently used keys.
pub const FLOE_EVICTION_ALLKEYS_LRU: u32 = 1;
/// `eviction`: evict the least frequently used keys.
pub const FLOE_EVICTION_ALLKEYS_LFU: u32 = 2;
/// `eviction`: evict random keys.
pub const FLOE_EVICTION_ALLKEYS_RANDOM: u32 = 3;
/// `eviction`: least recently used, among keys with a TTL.
pub const FLOE_EVICTION_VOLATILE_LRU: u32 = 4;
/// `eviction`: least frequently used, among keys with a TTL.
pub const FLOE_EVICTION_VOLATILE_LFU: u32 = 5;
/// `eviction`: random, among keys with a TTL.
pub const FLOE_EVICTION_VOLATILE_RANDOM: u32 = 6;
/// `eviction`: the soonest to expire first.
pub const FLOE_EVICTION_VOLATILE_TTL: u32 = 7;
/// `eviction`: the oldest writes first.
pub const FLOE_EVICTION_FIFO: u32 = 8;
/// `eviction`: SIEVE.
pub const FLOE_EVICTION_SIEVE: u32 = 9;

/// How `floe_open` opens a store; `floe_options_default` fills in the defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloeOptions {
    /// Bytes of item memory (keys, values and their headers). Default 64 MiB.
    pub memory_size: u64,
    /// The most keys the store holds. Default 1,048,576.
    pub keys_max: u64,
    /// 1: a write-ahead log in the directory, recovered at open; 0: a pure cache with no
    /// files (the directory may be null). Default 1.
    pub persistence: u32,
    /// One of the `FLOE_FSYNC_*` codes. Default `FLOE_FSYNC_ALWAYS`.
    pub fsync: u32,
    /// One of the `FLOE_EVICTION_*` codes. Default `FLOE_EVICTION_NOEVICTION`.
    pub eviction: u32,
}

impl Default for FloeOptions {
    fn default() -> Self {
        let config = DbConfig::default();
        Self {
            memory_size: config.store.memory_size as u64,
            keys_max: config.store.keys_max as u64,
            persistence: 1,
            fsync: FLOE_FSYNC_ALWAYS,
            eviction: FLOE_EVICTION_NOEVICTION,
        }
    }
}

impl FloeOptions {
    /// The runtime's configuration for these options.
    ///
    /// # Errors
    /// A message naming the first option out of range.
    pub fn config(&self) -> Result<DbConfig, String> {
        let memory_size = usize::try_from(self.memory_size)
            .map_err(|_| format!("memory_size {} does not fit here", self.memory_size))?;
        let keys_max = usize::try_from(self.keys_max)
            .map_err(|_| format!("keys_max {} does not fit here", self.keys_max))?;
        let mut config = DbConfig::new(memory_size, keys_max);
        config.persistence = match self.persistence {
            0 => false,
            1 => true,
            other => return Err(format!("persistence {other} is neither 0 nor 1")),
        };
        config.fsync = match self.fsync {
            FLOE_FSYNC_ALWAYS => FsyncPolicy::Always,
            FLOE_FSYNC_EVERYSEC => FsyncPolicy::Everysec,
            FLOE_FSYNC_NO => FsyncPolicy::No,
            other => return Err(format!("fsync {other} is not a FLOE_FSYNC_* code")),
        };
        config.store.policy = eviction_policy(self.eviction)?;
        Ok(config)
    }
}

/// The policy of a `FLOE_EVICTION_*` code.
///
/// # Errors
/// A message for a code that names none.
pub fn eviction_policy(code: u32) -> Result<EvictionPolicy, String> {
    usize::try_from(code)
        .ok()
        .and_then(|index| EvictionPolicy::ALL.get(index).copied())
        .ok_or_else(|| format!("eviction {code} is not a FLOE_EVICTION_* code"))
}

/// Counters and gauges of a store (`floe_stats`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FloeStats {
    /// Reads that found a live key.
    pub hits: u64,
    /// Reads that found nothing (or an expired key).
    pub misses: u64,
    /// Keys removed because their TTL passed.
    pub expired: u64,
    /// Keys removed by the eviction policy.
    pub evicted: u64,
    /// Keys stored.
    pub keys: u64,
    /// Bytes of live items (keys, values, headers).
    pub memory_live_size: u64,
    /// Bytes in use: the table plus the segment bytes written (live items and holes).
    pub memory_used_size: u64,
    /// Bytes the store may ever use.
    pub memory_limit_size: u64,
    /// The sequence number of the last record logged (0 with persistence off).
    pub lsn_last: u64,
    /// fdatasyncs of the log since open.
    pub log_sync_count: u64,
    /// Bytes written to the log since open.
    pub log_byte_count: u64,
    /// Snapshots taken since open.
    pub snapshot_count: u64,
}

/// An open handle: the store and the message of its last failed call.
#[derive(Debug)]
pub struct Handle {
    db: Db,
    message: Mutex<String>,
}

/// The open handles, by number.
struct HandleTable {
    /// The number the next open handle gets; never reused.
    id_next: usize,
    open: BTreeMap<usize, Arc<Handle>>,
}

static HANDLES: Mutex<HandleTable> = Mutex::new(HandleTable {
    id_next: 1,
    open: BTreeMap::new(),
});

thread_local! {
    /// The message of this thread's last failure that had no handle to keep it on.
    static THREAD_MESSAGE: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Opens a store; the new handle's number.
///
/// # Errors
/// The status, with the message kept for this thread.
pub fn open(dir: Option<&Path>, options: &FloeOptions) -> Result<usize, FloeStatus> {
    let config = options
        .config()
        .map_err(|message| thread_fail(FloeStatus::InvalidArgument, message))?;
    let dir = match dir {
        Some(dir) => dir,
        None if !config.persistence => Path::new(""),
        None => {
            return Err(thread_fail(
                FloeStatus::NullPointer,
                "the directory is null and persistence is on",
            ));
        }
    };
    let db = Db::open(dir, config)
        .map_err(|error| thread_fail(FloeStatus::from_db_error(&error), error))?;
    let handle = Arc::new(Handle {
        db,
        message: Mutex::new(String::new()),
    });
    let mut table = lock(&HANDLES);
    let id = table.id_next;
    table.id_next += 1;
    table.open.insert(id, handle);
    Ok(id)
}

/// Closes handle `id`: removes it from the table, then flushes and closes its store. The
/// handle is gone whatever the status.
pub fn close(id: usize) -> FloeStatus {
    let removed = {
        let mut table = lock(&HANDLES);
        let removed = table.open.remove(&id);
        if table.open.is_empty() {
            // An emptied map keeps its root node; a new one holds no memory, so a program
            // that closed every handle has nothing of floe's left on its heap.
            table.open = BTreeMap::new();
        }
        removed
    };
    let Some(handle) = removed else {
        return bad_handle(id);
    };
    match handle.db.close() {
        Ok(()) => FloeStatus::Ok,
        Err(error) => thread_fail(FloeStatus::from_db_error(&error), error),
    }
}

/// Runs `operation` on handle `id`; [`FloeStatus::BadHandle`] if it is not open.
pub fn with_handle(id: usize, operation: impl FnOnce(&Handle) -> FloeStatus) -> FloeStatus {
    let handle = lock(&HANDLES).open.get(&id).cloned();
    match handle {
        Some(handle) => operation(&handle),
        None => bad_handle(id),
    }
}

/// Copies this thread's last handle-less message into `buffer` (see [`message_copy`]).
pub fn thread_message_copy(buffer: &mut [u8], size: &mut usize) -> FloeStatus {
    THREAD_MESSAGE.with(|message| message_copy(&message.borrow(), buffer, size))
}

/// Copies `message` and a terminating NUL into `buffer`, and its size with the NUL into
/// `size`; [`FloeStatus::BufferTooSmall`] (buffer untouched) if it does not fit.
pub fn message_copy(message: &str, buffer: &mut [u8], size: &mut usize) -> FloeStatus {
    // A message never holds a NUL of its own: C would see it cut there.
    let bytes = message.as_bytes();
    *size = bytes.len() + 1;
    let Some(target) = buffer.get_mut(..bytes.len() + 1) else {
        return FloeStatus::BufferTooSmall;
    };
    let (text, nul) = target.split_at_mut(bytes.len());
    text.copy_from_slice(bytes);
    nul.fill(0);
    FloeStatus::Ok
}

impl Handle {
    /// Copies the value of `key` into `buffer` and its size into `value_size`; the needed
    /// size and [`FloeStatus::BufferTooSmall`] when it does not fit.
    pub fn get(&self, key: &[u8], buffer: &mut [u8], value_size: &mut usize) -> FloeStatus {
        self.db.get_with(key, |value| {
            let Some(value) = value else {
                return FloeStatus::NotFound;
            };
            *value_size = value.len();
            match buffer.get_mut(..value.len()) {
                Some(target) => {
                    target.copy_from_slice(value);
                    FloeStatus::Ok
                }
                None => FloeStatus::BufferTooSmall,
            }
        })
    }

    /// Stores `value` under `key`, with no expiry.
    pub fn set(&self, key: &[u8], value: &[u8]) -> FloeStatus {
        self.status(self.db.set(key, value))
    }

    /// Stores `value` under `key`, expiring `ttl_ms` milliseconds from now (at least 1).
    pub fn set_with_ttl(&self, key: &[u8], value: &[u8], ttl_ms: u64) -> FloeStatus {
        if ttl_ms == 0 {
            return self.fail(FloeStatus::InvalidArgument, "ttl_ms is 0");
        }
        self.status(
            self.db
                .set_with_ttl(key, value, Duration::from_millis(ttl_ms)),
        )
    }

    /// Removes `key`; whether it existed goes to `existed`.
    pub fn delete(&self, key: &[u8], existed: &mut bool) -> FloeStatus {
        match self.db.delete(key) {
            Ok(found) => {
                *existed = found;
                FloeStatus::Ok
            }
            Err(error) => self.fail(FloeStatus::from_db_error(&error), error),
        }
    }

    /// Whether `key` exists (and has not expired).
    #[must_use]
    pub fn exists(&self, key: &[u8]) -> bool {
        self.db.exists(key)
    }

    /// Keys stored.
    #[must_use]
    pub fn len(&self) -> usize {
        self.db.len()
    }

    /// Whether no key is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.db.is_empty()
    }

    /// Waits until everything written is as durable as the fsync policy says.
    pub fn flush(&self) -> FloeStatus {
        self.status(self.db.flush())
    }

    /// The store's counters.
    #[must_use]
    pub fn stats(&self) -> FloeStats {
        let stats = self.db.stats();
        let log = stats.log.unwrap_or_default();
        FloeStats {
            hits: stats.store.hits,
            misses: stats.store.misses,
            expired: stats.store.expired,
            evicted: stats.store.evicted,
            keys: stats.store.keys,
            memory_live_size: stats.store.memory_live_size,
            memory_used_size: stats.store.memory_used_size,
            memory_limit_size: stats.store.memory_limit_size,
            lsn_last: stats.lsn_last,
            log_sync_count: log.sync_count,
            log_byte_count: log.byte_count,
            snapshot_count: stats.snapshot_count,
        }
    }

    /// Copies the message of this handle's last failed call (see [`message_copy`]).
    pub fn message_copy(&self, buffer: &mut [u8], size: &mut usize) -> FloeStatus {
        message_copy(&lock(&self.message), buffer, size)
    }

    /// Keeps `message` as this handle's last error; returns `status`.
    pub fn fail(&self, status: FloeStatus, message: impl Display) -> FloeStatus {
        *lock(&self.message) = message_text(message);
        status
    }

    fn status(&self, result: Result<(), floe_runtime::DbError>) -> FloeStatus {
        match result {
            Ok(()) => FloeStatus::Ok,
            Err(error) => self.fail(FloeStatus::from_db_error(&error), error),
        }
    }
}

/// Keeps `message` as this thread's last handle-less error; returns `status`.
pub fn thread_fail(status: FloeStatus, message: impl Display) -> FloeStatus {
    let text = message_text(message);
    THREAD_MESSAGE.with(|message| *message.borrow_mut() = text);
    status
}

fn bad_handle(id: usize) -> FloeStatus {
    thread_fail(
        FloeStatus::BadHandle,
        format!("handle {id:#x} is not an open FloeDb (closed, or never opened)"),
    )
}

/// `message` as text C can read whole: a NUL inside (from a path) becomes `\0`.
fn message_text(message: impl Display) -> String {
    message.to_string().replace('\0', "\\0")
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while a lock is held was caught at the boundary; what the lock guards (a
    // table of handles, a message) is whole after any single statement, so keep going.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eviction_codes_follow_the_policy_list() {
        let codes = [
            (FLOE_EVICTION_NOEVICTION, "noeviction"),
            (FLOE_EVICTION_ALLKEYS_LRU, "allkeys-lru"),
            (FLOE_EVICTION_ALLKEYS_LFU, "allkeys-lfu"),
            (FLOE_EVICTION_ALLKEYS_RANDOM, "allkeys-random"),
            (FLOE_EVICTION_VOLATILE_LRU, "volatile-lru"),
            (FLOE_EVICTION_VOLATILE_LFU, "volatile-lfu"),
            (FLOE_EVICTION_VOLATILE_RANDOM, "volatile-random"),
            (FLOE_EVICTION_VOLATILE_TTL, "volatile-ttl"),
            (FLOE_EVICTION_FIFO, "fifo"),
            (FLOE_EVICTION_SIEVE, "sieve"),
        ];
        for (code, name) in codes {
            assert_eq!(eviction_policy(code).map(EvictionPolicy::name), Ok(name));
        }
        assert!(eviction_policy(10).is_err());
        assert!(eviction_policy(u32::MAX).is_err());
    }

    #[test]
    fn options_out_of_range_are_named() {
        let default = FloeOptions::default();
        assert!(default.config().is_ok());
        let cases = [
            (
                FloeOptions {
                    persistence: 2,
                    ..default
                },
                "persistence 2",
            ),
            (
                FloeOptions {
                    fsync: 3,
                    ..default
                },
                "fsync 3",
            ),
            (
                FloeOptions {
                    eviction: 99,
                    ..default
                },
                "eviction 99",
            ),
        ];
        for (options, expected) in cases {
            let message = options.config().err().unwrap_or_default();
            assert!(message.contains(expected), "{message}");
        }
    }

    #[test]
    fn message_copy_needs_room_for_the_nul() {
        let mut buffer = [0xff_u8; 4];
        let mut size = 0;
        assert_eq!(
            message_copy("abcd", &mut buffer, &mut size),
            FloeStatus::BufferTooSmall
        );
        assert_eq!((size, buffer), (5, [0xff; 4]));
        assert_eq!(message_copy("abc", &mut buffer, &mut size), FloeStatus::Ok);
        assert_eq!((size, &buffer), (4, b"abc\0"));
        assert_eq!(message_text("a\0b"), "a\\0b");
    }
}
