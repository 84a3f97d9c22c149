//! Log records: the idempotent, physical changes a write makes to the store.
//!
//! [`Record`] is the plain value the store reports for every write. Replaying a record
//! twice gives the same state as replaying it once: a counter increment is logged as the
//! value it produced, a relative TTL as an absolute time, an eviction as a delete.

/// Milliseconds since the Unix epoch; `0` in an expiry field means "never expires".
pub type Timestamp = u64;

/// One idempotent change to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record<'a> {
    /// `key` in database `db` now holds `value`, expiring at `expires_at` (`0`: never).
    Set {
        /// Database index, below [`crate::constants::DATABASE_COUNT`].
        db: u8,
        /// The key's bytes (may be empty).
        key: &'a [u8],
        /// The value's bytes (may be empty).
        value: &'a [u8],
        /// Absolute expiry, or `0` for none.
        expires_at: Timestamp,
    },
    /// `key` in database `db` no longer exists (deleted, or evicted to make room).
    Del {
        /// Database index.
        db: u8,
        /// The key's bytes.
        key: &'a [u8],
    },
    /// `key` in database `db` now expires at `expires_at` (`0`: persists forever).
    ExpireAt {
        /// Database index.
        db: u8,
        /// The key's bytes.
        key: &'a [u8],
        /// Absolute expiry, or `0` to remove the expiry.
        expires_at: Timestamp,
    },
    /// Every key of database `db` is gone; `None` clears every database.
    Clear {
        /// The database cleared, or `None` for all of them.
        db: Option<u8>,
    },
}
