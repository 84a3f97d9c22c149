//! Keyspace events: what changed a key, in Redis's terms (`notify-keyspace-events`).
//!
//! An [`Event`] names a class (one of Redis's flag letters), an event name as Redis spells
//! it (`set`, `lpush`, `expired`, ...), and the key with its database. Two sources make
//! them, both through the caller's [`LogSink`](super::LogSink), and only when
//! [`LogSink::events`](super::LogSink::events) says someone listens (so a store with
//! notifications off pays one branch per removal):
//!
//! - the store, for what it removes on its own: `expired` (lazy expiry on a write's lookup,
//!   active expiry, a segment clean) and `evicted` (a sweep for room, reported just before
//!   the eviction's `Del` record);
//! - the command table (`command/notify.rs`), for what a command did, read from the records
//!   the command's store calls report.
//!
//! The runtime publishes them on `__keyspace@<db>__:<key>` and `__keyevent@<db>__:<event>`.

/// Class `g`: generic commands (DEL, EXPIRE, RENAME, ...).
pub const CLASS_GENERIC: u16 = 1 << 2;
/// Class `$`: string commands.
pub const CLASS_STRING: u16 = 1 << 3;
/// Class `l`: list commands.
pub const CLASS_LIST: u16 = 1 << 4;
/// Class `s`: set commands.
pub const CLASS_SET: u16 = 1 << 5;
/// Class `h`: hash commands.
pub const CLASS_HASH: u16 = 1 << 6;
/// Class `z`: sorted set commands.
pub const CLASS_ZSET: u16 = 1 << 7;
/// Class `x`: a key expired and was removed.
pub const CLASS_EXPIRED: u16 = 1 << 8;
/// Class `e`: a key was evicted for room.
pub const CLASS_EVICTED: u16 = 1 << 9;

/// One change to one key, as a keyspace notification names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    /// Which class of events it belongs to (one `CLASS_*` bit).
    pub class: u16,
    /// Redis's name for it (`set`, `del`, `expired`, ...).
    pub name: &'static str,
    /// The key's database.
    pub db: u8,
    /// The key's bytes.
    pub key: &'a [u8],
}

impl<'a> Event<'a> {
    /// `expired`: the store removed `key` because its time passed.
    #[must_use]
    pub const fn expired(db: u8, key: &'a [u8]) -> Self {
        Self {
            class: CLASS_EXPIRED,
            name: "expired",
            db,
            key,
        }
    }

    /// `evicted`: the store removed `key` to make room.
    #[must_use]
    pub const fn evicted(db: u8, key: &'a [u8]) -> Self {
        Self {
            class: CLASS_EVICTED,
            name: "evicted",
            db,
            key,
        }
    }
}

#[cfg(any(test, feature = "alloc"))]
use alloc::vec::Vec;

/// Keys the store removed on its own where no sink was at hand (lazy expiry in a lookup,
/// active expiry), kept for the caller to take as `expired` events. On the heap, behind
/// the `alloc` feature, as the prefix index is; off (and empty) until
/// [`Store::set_events`](super::Store::set_events) turns it on, and without `alloc`, where
/// such removals are not reported.
#[derive(Debug, Default)]
pub(super) struct ExpiredQueue {
    #[cfg(any(test, feature = "alloc"))]
    keys: Option<Vec<(u8, Vec<u8>)>>,
}

impl ExpiredQueue {
    /// Turns the queue on or off (off drops what it holds).
    pub(super) fn enable(&mut self, enabled: bool) {
        #[cfg(any(test, feature = "alloc"))]
        {
            self.keys = enabled.then(Vec::new);
        }
        #[cfg(not(any(test, feature = "alloc")))]
        let _ = enabled;
    }

    /// Notes that `key` of `db` expired and was removed (nothing while off).
    pub(super) fn push(&mut self, db: u8, key: &[u8]) {
        #[cfg(any(test, feature = "alloc"))]
        if let Some(keys) = &mut self.keys {
            keys.push((db, key.to_vec()));
        }
        #[cfg(not(any(test, feature = "alloc")))]
        let _ = (db, key);
    }

    /// Hands every noted key to `log` as an `expired` event, oldest first, and forgets it.
    pub(super) fn drain(&mut self, log: &mut impl super::LogSink) {
        #[cfg(any(test, feature = "alloc"))]
        if let Some(keys) = &mut self.keys {
            for (db, key) in keys.drain(..) {
                log.event(Event::expired(db, &key));
            }
        }
        #[cfg(not(any(test, feature = "alloc")))]
        let _ = log;
    }
}
