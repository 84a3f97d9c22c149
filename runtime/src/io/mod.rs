//! What the log, snapshots and recovery need from a disk and a clock, and the real backends.
//!
//! [`Storage`] and [`Clock`] are the seams the simulator plugs into: the same log code runs on
//! io_uring ([`uring`]), on plain `std::fs` ([`blocking`]), and on a deterministic, seeded,
//! fault-injecting disk and clock in tests. Both traits are object-safe so a test can wrap any
//! backend (`Arc<dyn Storage>`) to count, reorder or fail calls; the dynamic call costs nothing
//! next to a disk write.
//!
//! Invariants every [`Storage`] keeps:
//! - A call either fully succeeds or returns an [`Error`]; a write is never silently short.
//! - Success of [`AppendFile::sync_data`] (or [`AppendFile::write_at_and_sync`]) means every
//!   byte written to that file before the call is durable.
//!
//! Fault assumptions (what the callers must survive, and what the simulator injects):
//! - A crash may drop any write that no successful sync covers, or keep only a prefix of it
//!   (a torn write); synced bytes survive.
//! - A failed write leaves the written range unspecified: some prefix may be on disk.
//! - A failed sync leaves everything written since the last good sync unspecified, and a later
//!   sync of the same file may "succeed" without having written it (the kernel may have
//!   dropped the dirty pages: fsyncgate). Callers never retry a sync; the log poisons itself.
//! - A new, renamed or removed name is durable only after [`Storage::sync_dir`] of its
//!   directory.
//! - Bytes read back may differ from bytes written (bit flips, misdirected writes): readers
//!   check every record's CRC and never trust a length they were told.

pub mod blocking;
pub mod uring;

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::error::Error;

/// A disk as the log, snapshots and recovery see it: a few whole-file operations plus
/// append-only files. Paths are absolute or relative to the process's working directory.
pub trait Storage: Send + Sync + fmt::Debug {
    /// A short name for messages: `io_uring`, `blocking`, `sim`, ...
    fn name(&self) -> &'static str;

    /// Creates `dir` and any missing parents; succeeds if it already exists.
    ///
    /// # Errors
    /// [`Error::Io`] with [`crate::error::Operation::CreateDir`], e.g. when a path component
    /// is a regular file.
    fn create_dir_all(&self, dir: &Path) -> Result<(), Error>;

    /// Takes the exclusive lock of data directory `dir` (its `LOCK` file) for as long as the
    /// returned guard lives, and records this process as the holder.
    ///
    /// # Errors
    /// [`Error::Locked`] naming `dir` and the holder when another holder has it.
    fn lock_dir(&self, dir: &Path) -> Result<DirLock, Error>;

    /// Opens `path` for writing at explicit offsets, creating it (empty) if missing. Never
    /// truncates; the caller reads [`AppendFile::size`] to see what is there.
    ///
    /// # Errors
    /// [`Error::Io`] with [`crate::error::Operation::Open`].
    fn open_append(&self, path: &Path) -> Result<Box<dyn AppendFile>, Error>;

    /// Reads the whole file.
    ///
    /// # Errors
    /// [`Error::Io`] with [`crate::error::Operation::Read`].
    fn read(&self, path: &Path) -> Result<Vec<u8>, Error>;

    /// Reads up to `size` bytes starting at `offset`; fewer only when the file ends first.
    /// Allocates as bytes arrive, never `size` up front (the size may come from disk).
    ///
    /// # Errors
    /// [`Error::Io`] with [`crate::error::Operation::Read`].
    fn read_range(&self, path: &Path, offset: u64, size: u64) -> Result<Vec<u8>, Error>;

    /// The file's size in bytes.
    ///
    /// # Errors
    /// [`Error::Io`] with [`crate::error::Operation::Size`].
    fn size(&self, path: &Path) -> Result<u64, Error>;

    /// The names (not paths) of the entries in `dir`, sorted bytewise. Names that are not
    /// UTF-8 are left out: floe never creates them.
    ///
    /// # Errors
    /// [`Error::Io`] with [`crate::error::Operation::List`].
    fn list(&self, dir: &Path) -> Result<Vec<String>, Error>;

    /// Cuts the file to `size` bytes and makes the new size durable (recovery cuts a torn
    /// tail and must not see it again after a crash).
    ///
    /// # Errors
    /// [`Error::Io`] with [`crate::error::Operation::Truncate`].
    fn truncate(&self, path: &Path, size: u64) -> Result<(), Error>;

    /// Atomically renames `source` to `target`, replacing `target`. Durable only after
    /// [`Storage::sync_dir`] of the directory.
    ///
    /// # Errors
    /// [`Error::Io`] with [`crate::error::Operation::Rename`].
    fn rename(&self, source: &Path, target: &Path) -> Result<(), Error>;

    /// Removes a file. Durable only after [`Storage::sync_dir`] of the directory.
    ///
    /// # Errors
    /// [`Error::Io`] with [`crate::error::Operation::Remove`].
    fn remove(&self, path: &Path) -> Result<(), Error>;

    /// `fsync` of directory `dir`, making names created, renamed or removed in it durable.
    ///
    /// # Errors
    /// [`Error::Io`] with [`crate::error::Operation::SyncDir`].
    fn sync_dir(&self, dir: &Path) -> Result<(), Error>;
}

/// A file open for writing at explicit offsets: a log segment or a snapshot being written.
/// One owner at a time (`&mut self`), so an implementation needs no locking of its own.
pub trait AppendFile: Send + fmt::Debug {
    /// The path it was opened with, for messages.
    fn path(&self) -> &Path;

    /// The file's current size in bytes.
    ///
    /// # Errors
    /// [`Error::Io`] with [`crate::error::Operation::Size`].
    fn size(&self) -> Result<u64, Error>;

    /// Writes all of `bytes` at `offset`. A short write is continued, never ignored.
    ///
    /// # Errors
    /// [`Error::Io`] with [`crate::error::Operation::Write`]; a prefix may have been written.
    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> Result<(), Error>;

    /// `fdatasync`: makes every byte written so far durable.
    ///
    /// # Errors
    /// [`Error::Io`] with [`crate::error::Operation::SyncData`]. After that error nothing
    /// written since the last good sync may be trusted, and a retry proves nothing.
    fn sync_data(&mut self) -> Result<(), Error>;

    /// Writes all of `bytes` at `offset`, then `fdatasync`. io_uring submits both together,
    /// linked, in one system call; the sync never runs if the write failed.
    ///
    /// # Errors
    /// As [`AppendFile::write_at`], then as [`AppendFile::sync_data`].
    fn write_at_and_sync(&mut self, offset: u64, bytes: &[u8]) -> Result<(), Error> {
        self.write_at(offset, bytes)?;
        self.sync_data()
    }
}

/// Holds a data directory's exclusive lock; dropping it releases the lock.
pub struct DirLock {
    // Whatever keeps the lock (an open, `flock`ed file; a simulator's entry); only its drop
    // matters.
    _holder: Box<dyn Send + Sync>,
}

impl DirLock {
    /// Wraps whatever keeps a lock held until it is dropped.
    pub fn new(holder: Box<dyn Send + Sync>) -> Self {
        Self { _holder: holder }
    }
}

impl fmt::Debug for DirLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DirLock")
    }
}

/// Time as the runtime sees it. The simulator supplies a virtual clock that only moves when
/// told, so timed behaviour (everysec syncs, expiry) replays exactly from a seed.
///
/// Fault assumptions: the wall clock may jump in either direction (NTP, a user), so it is used
/// only for timestamps stored in records (expiry); intervals use the monotonic clock, which
/// never goes backwards.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Wall-clock time in milliseconds since the Unix epoch (0 if the clock is before it).
    fn now_ms(&self) -> u64;

    /// Monotonic time in nanoseconds since an arbitrary origin fixed when the clock was made.
    /// Never decreases.
    fn monotonic_ns(&self) -> u64;

    /// Blocks the calling thread until [`Clock::monotonic_ns`] is at least `deadline_ns`;
    /// returns at once if that time has passed.
    fn sleep_until(&self, deadline_ns: u64);
}

/// The operating system's clocks.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose monotonic origin is now.
    #[must_use]
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        // A clock set before 1970 reads as 0 rather than failing: expiry then errs on the
        // side of keeping data.
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
    }

    fn monotonic_ns(&self) -> u64 {
        // 2^64 ns is 584 years of uptime; saturate rather than wrap.
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn sleep_until(&self, deadline_ns: u64) {
        let now_ns = self.monotonic_ns();
        if deadline_ns > now_ns {
            std::thread::sleep(Duration::from_nanos(deadline_ns - now_ns));
        }
    }
}

/// Which I/O backend to use for the log's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// io_uring when it can be set up, otherwise blocking `std::fs`; says once which.
    #[default]
    Auto,
    /// io_uring, or fail with [`Error::UringUnavailable`].
    Uring,
    /// Blocking `std::fs` calls (`pwrite` + `fdatasync`).
    Blocking,
}

impl Backend {
    /// Sets up the chosen backend.
    ///
    /// # Errors
    /// [`Error::UringUnavailable`] for [`Backend::Uring`] when io_uring cannot be set up.
    pub fn open(self) -> Result<Arc<dyn Storage>, Error> {
        match self {
            Self::Blocking => Ok(Arc::new(blocking::BlockingStorage::new())),
            Self::Uring => match uring::UringStorage::new() {
                Ok(storage) => Ok(Arc::new(storage)),
                Err(source) => Err(Error::UringUnavailable { source }),
            },
            Self::Auto => match uring::UringStorage::new() {
                Ok(storage) => {
                    log_once(&USING_URING, "log I/O uses io_uring");
                    Ok(Arc::new(storage))
                }
                Err(source) => {
                    log_once(
                        &USING_BLOCKING,
                        &format!(
                            "io_uring is not available ({source}); log I/O falls back \
                             to blocking std::fs"
                        ),
                    );
                    Ok(Arc::new(blocking::BlockingStorage::new()))
                }
            },
        }
    }
}

impl FromStr for Backend {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "auto" => Ok(Self::Auto),
            "uring" | "io_uring" => Ok(Self::Uring),
            "blocking" => Ok(Self::Blocking),
            other => Err(format!(
                "unknown I/O backend `{other}`: expected `auto`, `uring` or `blocking`"
            )),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Uring => "uring",
            Self::Blocking => "blocking",
        })
    }
}

static USING_URING: AtomicBool = AtomicBool::new(false);
static USING_BLOCKING: AtomicBool = AtomicBool::new(false);

/// Reports `message` as an info event the first time `flag` is seen clear: which backend
/// the log uses is worth saying once per process, not once per open.
fn log_once(flag: &AtomicBool, message: &str) {
    if !flag.swap(true, Ordering::Relaxed) {
        tracing::info!("{message}");
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;

    #[test]
    fn backend_parses_its_names() {
        for backend in [Backend::Auto, Backend::Uring, Backend::Blocking] {
            assert_eq!(backend.to_string().parse::<Backend>(), Ok(backend));
        }
        assert!("epoll".parse::<Backend>().is_err());
    }

    #[test]
    fn auto_picks_a_working_backend() {
        let storage = Backend::Auto.open().unwrap();
        assert!(["io_uring", "blocking"].contains(&storage.name()));
        let blocking = Backend::Blocking.open().unwrap();
        assert_eq!(blocking.name(), "blocking");
        match Backend::Uring.open() {
            Ok(uring) => assert_eq!(uring.name(), "io_uring"),
            Err(error) => assert!(matches!(error, Error::UringUnavailable { .. })),
        }
    }

    #[test]
    fn system_clock_is_monotonic_and_sleeps() {
        let clock = SystemClock::new();
        let before = clock.monotonic_ns();
        clock.sleep_until(before + 2_000_000);
        let after = clock.monotonic_ns();
        assert!(after >= before + 2_000_000, "before={before} after={after}");
        // Some time after 2020-01-01.
        assert!(clock.now_ms() > 1_577_836_800_000);
    }
}
