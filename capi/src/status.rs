//! The status code every C function returns, and how floe's errors map onto it.
//!
//! The numbers are part of the ABI: a code keeps its number forever, and new codes are
//! added at the end. A C program should treat an unknown code as [`FloeStatus::Error`].

use floe_core::error::StoreError;
use floe_runtime::DbError;
use floe_runtime::error::Error;

/// What a call did. `FLOE_STATUS_OK` is 0; every other code is a refusal or a failure, and
/// `floe_last_error` gives its message (for `FloeDb` calls).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloeStatus {
    /// Done.
    Ok = 0,
    /// The key does not exist (or has expired). Not a failure: no message is kept.
    NotFound = 1,
    /// The caller's buffer is smaller than the value; the needed size was written to the
    /// size out-pointer and the buffer is untouched.
    BufferTooSmall = 2,
    /// A pointer that must not be null was null.
    NullPointer = 3,
    /// The handle is not an open handle: closed, destroyed, or never returned by floe.
    BadHandle = 4,
    /// An argument is out of range: a size above `isize::MAX`, an unknown fsync or
    /// eviction code, an invalid configuration, a TTL of 0, a buffer too small to create a
    /// memory store in.
    InvalidArgument = 5,
    /// The key is longer than the store's key size limit; nothing changed.
    KeyTooLarge = 6,
    /// The value is longer than the store's value size limit; nothing changed.
    ValueTooLarge = 7,
    /// The store is full (memory or keys) and its policy is `noeviction`; nothing changed.
    Full = 8,
    /// Another process or handle holds the data directory's lock file.
    Locked = 9,
    /// A system call failed (creating or reading the directory, writing the log).
    Io = 10,
    /// The data on disk is damaged where recovery must not guess (`floe check --repair`).
    Corrupt = 11,
    /// An earlier write or fdatasync failed: writes are refused from now on; reads work.
    Poisoned = 12,
    /// The store was closed; writes are refused.
    Closed = 13,
    /// floe panicked (a bug): the panic was caught at the boundary. A memory store that
    /// panicked refuses every later call with this code but `floe_memory_destroy`.
    Panic = 14,
    /// Any other failure; the message says what.
    Error = 15,
}

impl FloeStatus {
    /// The code for a refusal of the store (floe-core).
    #[must_use]
    pub fn from_store_error(error: StoreError) -> Self {
        match error {
            StoreError::KeyTooLarge => Self::KeyTooLarge,
            StoreError::ValueTooLarge => Self::ValueTooLarge,
            StoreError::OutOfMemory | StoreError::KeysFull => Self::Full,
            StoreError::InvalidExpire => Self::InvalidArgument,
            _ => Self::Error,
        }
    }

    /// The code for a [`DbError`].
    #[must_use]
    pub fn from_db_error(error: &DbError) -> Self {
        match error {
            DbError::Store(error) => Self::from_store_error(*error),
            DbError::Config(_) | DbError::PersistenceOff => Self::InvalidArgument,
            DbError::Runtime(error) => Self::from_runtime_error(error),
            _ => Self::Error,
        }
    }

    /// The code for a runtime [`Error`].
    fn from_runtime_error(error: &Error) -> Self {
        match error {
            Error::Io { .. } | Error::UringUnavailable { .. } => Self::Io,
            Error::Poisoned { .. } => Self::Poisoned,
            Error::Locked { .. } => Self::Locked,
            Error::Corrupt { .. } => Self::Corrupt,
            Error::Closed => Self::Closed,
            _ => Self::Error,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::path::PathBuf;
    use std::sync::Arc;

    use floe_runtime::DbConfigError;
    use floe_runtime::error::Operation;

    use super::*;

    #[test]
    fn every_error_maps_to_its_code() {
        let cases = [
            (
                DbError::Store(StoreError::KeyTooLarge),
                FloeStatus::KeyTooLarge,
            ),
            (
                DbError::Store(StoreError::ValueTooLarge),
                FloeStatus::ValueTooLarge,
            ),
            (DbError::Store(StoreError::OutOfMemory), FloeStatus::Full),
            (DbError::Store(StoreError::KeysFull), FloeStatus::Full),
            (
                DbError::Store(StoreError::InvalidExpire),
                FloeStatus::InvalidArgument,
            ),
            (DbError::Store(StoreError::Syntax), FloeStatus::Error),
            (
                DbError::Config(DbConfigError::SegmentSizeZero),
                FloeStatus::InvalidArgument,
            ),
            (DbError::PersistenceOff, FloeStatus::InvalidArgument),
            (DbError::Runtime(Error::Closed), FloeStatus::Closed),
            (
                DbError::Runtime(Error::io(
                    Operation::CreateDir,
                    "/x",
                    io::Error::other("no"),
                )),
                FloeStatus::Io,
            ),
            (
                DbError::Runtime(Error::Poisoned {
                    cause: Arc::new(Error::Closed),
                }),
                FloeStatus::Poisoned,
            ),
            (
                DbError::Runtime(Error::Locked {
                    dir: PathBuf::from("/x"),
                    holder: "pid 1".to_owned(),
                }),
                FloeStatus::Locked,
            ),
            (
                DbError::Runtime(Error::Corrupt {
                    file: PathBuf::from("/x"),
                    offset: 0,
                    reason: "bad".to_owned(),
                }),
                FloeStatus::Corrupt,
            ),
            (
                DbError::Runtime(Error::UringUnavailable {
                    source: io::Error::other("no"),
                }),
                FloeStatus::Io,
            ),
        ];
        for (error, status) in cases {
            assert_eq!(FloeStatus::from_db_error(&error), status, "{error}");
        }
    }
}
