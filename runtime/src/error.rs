//! The runtime's one error type.
//!
//! Every operating error the runtime can meet is a value of [`Error`]: a failed system call
//! (with the operation and the path, so the message can be acted on without a debugger), a
//! poisoned log, a data directory held by another process, corrupt bytes on disk. Only broken
//! invariants panic (STYLE §6).
//!
//! Invariants:
//! - [`Error::Poisoned`] always carries the *first* failure that poisoned the log, shared by
//!   `Arc` so every caller that is refused sees the same original cause.
//! - Every message says what happened, where, and what the user can do about it.
//!
//! Fault assumptions: none; this module only describes faults found elsewhere.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// Why a runtime operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A system call failed: `operation` on `path` returned `source`.
    Io {
        /// What was being done.
        operation: Operation,
        /// The file or directory it was done to.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The io_uring backend was asked for explicitly and cannot be set up here (old kernel,
    /// seccomp profile, locked-memory limit).
    UringUnavailable {
        /// What `io_uring_setup` or the opcode probe said.
        source: io::Error,
    },
    /// An earlier write or fdatasync failed, so the log refuses all further writes and never
    /// retries the sync (fsyncgate: after a failed fsync the kernel may have dropped the dirty
    /// pages, so a later "successful" fsync proves nothing).
    Poisoned {
        /// The failure that poisoned the log.
        cause: Arc<Error>,
    },
    /// Another process (or another log in this process) holds the data directory's lock.
    Locked {
        /// The data directory.
        dir: PathBuf,
        /// Who holds it, as written in the lock file (e.g. `pid 1234`), or `unknown`.
        holder: String,
    },
    /// Bytes on disk are not what was written (bad checksum, impossible length, ...).
    Corrupt {
        /// The file that holds the bad bytes.
        file: PathBuf,
        /// Byte offset of the first bad byte or record in `file`.
        offset: u64,
        /// What is wrong there.
        reason: String,
    },
    /// The log was closed; nothing more can be appended to it.
    Closed,
}

/// What the runtime was doing when a system call failed; names the failing step in messages.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// Creating a directory (and its missing parents).
    CreateDir,
    /// Opening or locking the data directory's lock file.
    Lock,
    /// Opening (or creating) a file.
    Open,
    /// Writing bytes to a file.
    Write,
    /// `fdatasync` of a file.
    SyncData,
    /// `fsync` of a directory (makes created, renamed and removed names durable).
    SyncDir,
    /// Reading a file.
    Read,
    /// Reading a file's size.
    Size,
    /// Listing a directory.
    List,
    /// Truncating a file.
    Truncate,
    /// Renaming a file to `target`.
    Rename {
        /// The new name.
        target: PathBuf,
    },
    /// Removing a file.
    Remove,
    /// Starting the log writer thread, or the thread stopping unexpectedly.
    WriterThread,
}

impl Error {
    /// Wraps an [`io::Error`] with what was being done and to which path.
    pub fn io(operation: Operation, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            operation,
            path: path.into(),
            source,
        }
    }

    /// The operating system's error behind this error, if there is one (following
    /// [`Error::Poisoned`] to its cause).
    #[must_use]
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            Self::Io { source, .. } | Self::UringUnavailable { source } => Some(source),
            Self::Poisoned { cause } => cause.io_error(),
            Self::Locked { .. } | Self::Corrupt { .. } | Self::Closed => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io {
                operation,
                path,
                source,
            } => {
                write!(f, "cannot {operation} `{}`", path.display())?;
                if let Operation::Rename { target } = operation {
                    write!(f, " to `{}`", target.display())?;
                }
                write!(f, ": {source}")?;
                match hint(operation, source) {
                    Some(hint) => write!(f, " ({hint})"),
                    None => Ok(()),
                }
            }
            Self::UringUnavailable { source } => write!(
                f,
                "io_uring is not available here ({source}); choose the `auto` or `blocking` \
                 I/O backend"
            ),
            Self::Poisoned { cause } => write!(
                f,
                "the log refuses writes after an earlier failure: {cause}. Writes acknowledged \
                 before that failure are safe; later ones were not acknowledged. Fix the cause \
                 and restart, so recovery rebuilds the state from what is on disk"
            ),
            Self::Locked { dir, holder } => write!(
                f,
                "data directory `{}` is in use by another floe process ({holder}); stop that \
                 process or choose another directory",
                dir.display()
            ),
            Self::Corrupt {
                file,
                offset,
                reason,
            } => write!(
                f,
                "corrupt data in `{}` at offset {offset}: {reason}; run `floe check --repair` \
                 to cut the log there (records after that point are lost) or restore a backup",
                file.display()
            ),
            Self::Closed => write!(f, "the log is closed; reopen the data directory to write"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } | Self::UringUnavailable { source } => Some(source),
            Self::Poisoned { cause } => Some(&**cause),
            Self::Locked { .. } | Self::Corrupt { .. } | Self::Closed => None,
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CreateDir => f.write_str("create directory"),
            Self::Lock => f.write_str("lock"),
            Self::Open => f.write_str("open"),
            Self::Write => f.write_str("write to"),
            Self::SyncData => f.write_str("fdatasync"),
            Self::SyncDir => f.write_str("fsync directory"),
            Self::Read => f.write_str("read"),
            Self::Size => f.write_str("read the size of"),
            Self::List => f.write_str("list directory"),
            Self::Truncate => f.write_str("truncate"),
            Self::Rename { .. } => f.write_str("rename"),
            Self::Remove => f.write_str("remove"),
            Self::WriterThread => f.write_str("run the log writer for"),
        }
    }
}

/// What the user can do about a failed system call, when the error kind makes it clear.
fn hint(operation: &Operation, source: &io::Error) -> Option<&'static str> {
    match source.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
            Some("the disk is full: free space, then restart")
        }
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            Some("check the permissions and mount options of the data directory")
        }
        io::ErrorKind::NotADirectory => {
            Some("a part of the path is a file, not a directory: choose another data directory")
        }
        _ if *operation == Operation::SyncData => {
            Some("the disk may have lost written data: check the system log and the device")
        }
        _ => None,
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn io_error_names_operation_path_and_hint() {
        let error = Error::io(
            Operation::Write,
            "/data/log-1.floe",
            io::Error::from(io::ErrorKind::StorageFull),
        );
        let message = error.to_string();
        assert!(message.contains("write to `/data/log-1.floe`"), "{message}");
        assert!(message.contains("free space"), "{message}");
        assert!(error.source().is_some());
    }

    #[test]
    fn poisoned_carries_cause_in_message_and_source() {
        let cause = Arc::new(Error::io(
            Operation::SyncData,
            "/data/log-7.floe",
            io::Error::other("injected EIO"),
        ));
        let error = Error::Poisoned { cause };
        let message = error.to_string();
        assert!(
            message.contains("fdatasync `/data/log-7.floe`"),
            "{message}"
        );
        assert!(message.contains("injected EIO"), "{message}");
        let source = error.source().map(ToString::to_string).unwrap_or_default();
        assert!(source.contains("injected EIO"), "{source}");
        assert_eq!(
            error.io_error().map(ToString::to_string).as_deref(),
            Some("injected EIO")
        );
    }

    #[test]
    fn locked_and_corrupt_say_what_to_do() {
        let locked = Error::Locked {
            dir: PathBuf::from("/data"),
            holder: "pid 42".to_owned(),
        };
        let message = locked.to_string();
        assert!(
            message.contains("`/data`") && message.contains("pid 42"),
            "{message}"
        );
        let corrupt = Error::Corrupt {
            file: PathBuf::from("/data/log-1.floe"),
            offset: 4096,
            reason: "checksum mismatch".to_owned(),
        };
        let message = corrupt.to_string();
        assert!(
            message.contains("offset 4096") && message.contains("--repair"),
            "{message}"
        );
    }
}
