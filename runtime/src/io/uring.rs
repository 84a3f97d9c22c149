//! The io_uring backend: the log's hot path as one write and one fdatasync, submitted
//! together and linked (`IOSQE_IO_LINK`), in a single `io_uring_enter` per group commit.
//!
//! Only the hot path ([`AppendFile::write_at`], [`AppendFile::sync_data`],
//! [`AppendFile::write_at_and_sync`]) goes through the ring. Cold paths (open, read, list,
//! rename, lock, ...) run once per segment or at start-up and use [`BlockingStorage`].
//!
//! This is one of the few modules allowed `unsafe` (pushing an SQE that points at our buffer).
//! Invariants it upholds:
//! - **Buffer lifetime.** A buffer handed to an SQE stays alive and unmoved until its CQE
//!   arrives: [`Ring::submit`] borrows the buffer for the whole call and returns only after it
//!   has reaped the CQE of every SQE it pushed. There is no path that returns or unwinds with
//!   an SQE in flight: where the kernel breaks the ring protocol (an unknown completion tag, an
//!   `io_uring_enter` error other than EINTR/EAGAIN/EBUSY), the process aborts ([`fatal`]),
//!   because returning would let the kernel read freed memory later.
//! - **File lifetime.** The file descriptor is borrowed from the [`UringFile`] for the same
//!   call, so it cannot be closed while an SQE names it.
//! - **Routing.** Completions are routed by `user_data` tags ([`TAG_WRITE`], [`TAG_SYNC`]);
//!   each call expects exactly one CQE per tag it submitted, and one call runs at a time per
//!   ring (the ring sits behind a mutex), so a completion can never belong to someone else.
//! - **Capacity.** At most two SQEs are in flight, and `in_flight_count <= RING_ENTRIES` is
//!   asserted before submitting; the submission queue is empty at the start of every call.
//!
//! Fault assumptions: as in [`crate::io`]. Besides those:
//! - A short write is possible (e.g. a file-size limit, a signal). The kernel then cancels the
//!   linked sync (`-ECANCELED`); the rest is resubmitted, again linked with a sync. A write that
//!   makes no progress is an error (`WriteZero`), so the loop always ends.
//! - A failed write cancels the linked sync, so a sync never runs over a failed write and
//!   "succeeds". A failed sync is reported as a sync error and never retried.
//! - Setup may fail (old kernel, seccomp, `RLIMIT_MEMLOCK`); [`UringStorage::new`] reports it
//!   and [`crate::io::Backend::Auto`] falls back to the blocking backend.
#![allow(unsafe_code)]

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use io_uring::{IoUring, Probe, opcode, squeue, types};

use crate::error::{Error, Operation};
use crate::io::blocking::{BlockingFile, BlockingStorage};
use crate::io::{AppendFile, DirLock, Storage};

/// Submission queue size. Each call has at most two SQEs in flight (write + sync); a little
/// room costs nothing and keeps `push` from ever meeting a full queue.
const RING_ENTRIES: u32 = 8;

/// `user_data` of a write SQE.
const TAG_WRITE: u64 = 0x5752_4954; // "WRIT"
/// `user_data` of an fdatasync SQE.
const TAG_SYNC: u64 = 0x5359_4e43; // "SYNC"

/// Largest write in one SQE (an SQE's length is a `u32`); larger buffers go in chunks.
const CHUNK_SIZE_MAX: usize = 1 << 30;
const _: () = assert!(CHUNK_SIZE_MAX <= u32::MAX as usize);

/// How many times an `io_uring_enter` that says EAGAIN or EBUSY (kernel short of resources,
/// completion queue overflow) is retried, 1 ms apart, before giving up.
const ENTER_BUSY_RETRY_MAX: u32 = 10_000;

/// [`Storage`] whose append files write and sync through io_uring.
///
/// One ring per `UringStorage`, shared by the files it opens: their calls take turns. Give
/// each log (each worker, later) its own `UringStorage` so their syncs do not queue behind
/// one another.
#[derive(Debug, Clone)]
pub struct UringStorage {
    ring: Arc<Mutex<Ring>>,
    blocking: BlockingStorage,
}

impl UringStorage {
    /// Sets up a ring and checks that the kernel supports the opcodes the log uses
    /// (`IORING_OP_WRITE`, `IORING_OP_FSYNC`: Linux 5.6+).
    ///
    /// # Errors
    /// Whatever `io_uring_setup` or the probe says (e.g. `ENOSYS`, `EPERM` under seccomp), or
    /// [`io::ErrorKind::Unsupported`] when an opcode is missing.
    pub fn new() -> io::Result<Self> {
        let ring = IoUring::new(RING_ENTRIES)?;
        let mut probe = Probe::new();
        ring.submitter().register_probe(&mut probe)?;
        for (code, name) in [
            (opcode::Write::CODE, "IORING_OP_WRITE"),
            (opcode::Fsync::CODE, "IORING_OP_FSYNC"),
        ] {
            if !probe.is_supported(code) {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("the kernel's io_uring lacks {name}"),
                ));
            }
        }
        Ok(Self {
            ring: Arc::new(Mutex::new(Ring { ring })),
            blocking: BlockingStorage::new(),
        })
    }
}

impl Storage for UringStorage {
    fn name(&self) -> &'static str {
        "io_uring"
    }

    fn create_dir_all(&self, dir: &Path) -> Result<(), Error> {
        self.blocking.create_dir_all(dir)
    }

    fn lock_dir(&self, dir: &Path) -> Result<DirLock, Error> {
        self.blocking.lock_dir(dir)
    }

    fn open_append(&self, path: &Path) -> Result<Box<dyn AppendFile>, Error> {
        Ok(Box::new(UringFile {
            file: BlockingFile::open(path)?,
            ring: Arc::clone(&self.ring),
        }))
    }

    fn read(&self, path: &Path) -> Result<Vec<u8>, Error> {
        self.blocking.read(path)
    }

    fn read_range(&self, path: &Path, offset: u64, size: u64) -> Result<Vec<u8>, Error> {
        self.blocking.read_range(path, offset, size)
    }

    fn size(&self, path: &Path) -> Result<u64, Error> {
        self.blocking.size(path)
    }

    fn list(&self, dir: &Path) -> Result<Vec<String>, Error> {
        self.blocking.list(dir)
    }

    fn truncate(&self, path: &Path, size: u64) -> Result<(), Error> {
        self.blocking.truncate(path, size)
    }

    fn rename(&self, source: &Path, target: &Path) -> Result<(), Error> {
        self.blocking.rename(source, target)
    }

    fn remove(&self, path: &Path) -> Result<(), Error> {
        self.blocking.remove(path)
    }

    fn sync_dir(&self, dir: &Path) -> Result<(), Error> {
        self.blocking.sync_dir(dir)
    }
}

/// An append file whose writes and syncs go through the storage's ring.
#[derive(Debug)]
pub struct UringFile {
    file: BlockingFile,
    ring: Arc<Mutex<Ring>>,
}

impl UringFile {
    fn run(&mut self, offset: u64, bytes: &[u8], sync: bool) -> Result<(), Error> {
        let fd = self.file.file().as_raw_fd();
        // A panic while the ring was held can only come from an assertion made while nothing
        // was in flight (see `Ring::submit`), so the ring is still in a clean state.
        let mut ring: MutexGuard<'_, Ring> =
            self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        ring.write_and_sync(fd, offset, bytes, sync)
            .map_err(|failure| match failure {
                Failure::Write(source) => Error::io(Operation::Write, self.file.path(), source),
                Failure::Sync(source) => Error::io(Operation::SyncData, self.file.path(), source),
            })
    }
}

impl AppendFile for UringFile {
    fn path(&self) -> &Path {
        self.file.path()
    }

    fn size(&self) -> Result<u64, Error> {
        self.file.size()
    }

    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> Result<(), Error> {
        self.run(offset, bytes, false)
    }

    fn sync_data(&mut self) -> Result<(), Error> {
        self.run(0, &[], true)
    }

    fn write_at_and_sync(&mut self, offset: u64, bytes: &[u8]) -> Result<(), Error> {
        self.run(offset, bytes, true)
    }
}

/// Which half of a linked write + sync failed.
enum Failure {
    Write(io::Error),
    Sync(io::Error),
}

/// One io_uring instance. Every call leaves both queues empty.
struct Ring {
    ring: IoUring,
}

impl fmt::Debug for Ring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring")
            .field("entries", &RING_ENTRIES)
            .finish_non_exhaustive()
    }
}

impl Ring {
    /// Writes all of `bytes` at `offset` and then, if `sync`, runs fdatasync, linked to the
    /// write so it never runs over a failed one. Continues short writes.
    fn write_and_sync(
        &mut self,
        fd: RawFd,
        offset: u64,
        bytes: &[u8],
        sync: bool,
    ) -> Result<(), Failure> {
        let mut written_size: usize = 0;
        // Each turn either returns or writes at least one byte, so this bound is never hit.
        for _turn in 0..=bytes.len() {
            let remaining = bytes.get(written_size..).unwrap_or_default();
            let chunk = remaining.get(..CHUNK_SIZE_MAX).unwrap_or(remaining);
            let sync_now = sync && chunk.len() == remaining.len();
            if chunk.is_empty() && !sync_now {
                return Ok(());
            }
            let chunk_offset = offset + u64::try_from(written_size).unwrap_or(u64::MAX);
            let (write_result, sync_result) = self.submit(fd, chunk_offset, chunk, sync_now);
            if let Some(result) = write_result {
                let count = result.map_err(Failure::Write)?;
                if count == 0 {
                    return Err(Failure::Write(io::Error::from(io::ErrorKind::WriteZero)));
                }
                assert!(count <= chunk.len(), "count={count} chunk={}", chunk.len());
                written_size += count;
                if count < chunk.len() {
                    // Short write: the kernel cancels the linked sync; if it ran anyway, it
                    // covered only a prefix, so the rest goes out with another sync.
                    match sync_result {
                        Some(Err(error)) if error.raw_os_error() != Some(libc::ECANCELED) => {
                            return Err(Failure::Sync(error));
                        }
                        _ => continue,
                    }
                }
            }
            if let Some(result) = sync_result {
                // A sync cancelled after a complete write cannot happen; it is still an error.
                return result.map_err(Failure::Sync);
            }
        }
        unreachable!("write made no progress for {} turns", bytes.len() + 1)
    }

    /// Pushes a write of `chunk` at `offset` (if not empty) and an fdatasync (if `sync`,
    /// linked after the write), submits them in one `io_uring_enter`, and returns only when
    /// every pushed SQE has completed: the results of the write (bytes written) and the sync.
    fn submit(
        &mut self,
        fd: RawFd,
        offset: u64,
        chunk: &[u8],
        sync: bool,
    ) -> (Option<io::Result<usize>>, Option<io::Result<()>>) {
        let write_entry = (!chunk.is_empty()).then(|| {
            // The caller cuts chunks at CHUNK_SIZE_MAX, which fits in u32.
            let size = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
            let entry = opcode::Write::new(types::Fd(fd), chunk.as_ptr(), size)
                .offset(offset)
                .build()
                .user_data(TAG_WRITE);
            if sync {
                entry.flags(squeue::Flags::IO_LINK)
            } else {
                entry
            }
        });
        let sync_entry = sync.then(|| {
            opcode::Fsync::new(types::Fd(fd))
                .flags(types::FsyncFlags::DATASYNC)
                .build()
                .user_data(TAG_SYNC)
        });

        let write_expected = write_entry.is_some();
        let sync_expected = sync_entry.is_some();
        let mut in_flight_count: usize = 0;
        {
            let mut queue = self.ring.submission();
            assert!(queue.is_empty(), "stale SQEs: {}", queue.len());
            for entry in [write_entry, sync_entry].iter().flatten() {
                // SAFETY: the write SQE points at `chunk` and names `fd`; both are borrowed
                // for this whole call, and this call returns only after the loop below has
                // reaped the CQE of every SQE pushed here (or aborts the process), so the
                // kernel never touches the buffer or the descriptor after they are released.
                // The fsync SQE points at no memory.
                if unsafe { queue.push(entry) }.is_err() {
                    // Unreachable: the queue was empty and holds RING_ENTRIES >= 2 entries. A
                    // write may already be queued, so unwinding is not safe.
                    fatal("io_uring submission queue full");
                }
                in_flight_count += 1;
            }
        }
        assert!(in_flight_count <= RING_ENTRIES as usize);

        let mut write_result = None;
        let mut sync_result = None;
        let mut busy_count: u32 = 0;
        while in_flight_count > 0 {
            if let Err(error) = self.ring.submit_and_wait(in_flight_count) {
                let busy = matches!(
                    error.raw_os_error(),
                    Some(libc::EAGAIN | libc::EBUSY | libc::EINTR)
                );
                if !busy || busy_count >= ENTER_BUSY_RETRY_MAX {
                    fatal(&format!(
                        "io_uring_enter failed with SQEs in flight: {error}"
                    ));
                }
                if error.raw_os_error() != Some(libc::EINTR) {
                    busy_count += 1;
                    std::thread::sleep(Duration::from_millis(1));
                }
                continue;
            }
            for completion in self.ring.completion() {
                let result = completion.result();
                match completion.user_data() {
                    TAG_WRITE if write_result.is_none() && write_expected => {
                        write_result = Some(completion_result(result).map(|count| {
                            // A non-negative i32 always fits in usize.
                            usize::try_from(count).unwrap_or(0)
                        }));
                    }
                    TAG_SYNC if sync_result.is_none() && sync_expected => {
                        sync_result = Some(completion_result(result).map(|_| ()));
                    }
                    tag => fatal(&format!("io_uring completion with unexpected tag={tag:#x}")),
                }
                in_flight_count -= 1;
            }
        }
        assert!(write_result.is_some() == write_expected);
        assert!(sync_result.is_some() == sync_expected);
        (write_result, sync_result)
    }
}

/// A CQE's `res`: a count on success, `-errno` on failure.
fn completion_result(result: i32) -> io::Result<i32> {
    if result < 0 {
        Err(io::Error::from_raw_os_error(-result))
    } else {
        Ok(result)
    }
}

/// Ends the process when the kernel breaks the ring protocol while a buffer may still be in
/// flight: unwinding would free memory the kernel may still read.
fn fatal(message: &str) -> ! {
    tracing::error!("fatal: {message}; aborting to keep in-flight buffers valid");
    std::process::abort()
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::PathBuf;

    fn storage_or_skip() -> Option<UringStorage> {
        match UringStorage::new() {
            Ok(storage) => Some(storage),
            Err(error) => {
                eprintln!("skipping: io_uring unavailable: {error}");
                None
            }
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("floe-uring-{name}-{}", std::process::id()));
        let _ignored = fs::remove_dir_all(&dir); // A leftover from an earlier run, if any.
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn linked_write_and_sync_round_trip() {
        let Some(storage) = storage_or_skip() else {
            return;
        };
        let dir = temp_dir("round-trip");
        let path = dir.join("segment");
        let mut file = storage.open_append(&path).unwrap();
        file.write_at_and_sync(0, b"0123456789").unwrap();
        file.write_at(10, b"abc").unwrap();
        file.sync_data().unwrap();
        file.write_at_and_sync(13, &[]).unwrap();
        // Positioned: overwrite in the middle, not append.
        file.write_at_and_sync(2, b"XY").unwrap();
        assert_eq!(file.size().unwrap(), 13);
        assert_eq!(fs::read(&path).unwrap(), b"01XY456789abc");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn failed_write_reports_write_error_and_sync_never_runs() {
        let Some(storage) = storage_or_skip() else {
            return;
        };
        let dir = temp_dir("bad-fd");
        // A directory opened read-only: writes fail with EBADF, and the linked sync must come
        // back cancelled, so the error names the write.
        let directory = fs::File::open(&dir).unwrap();
        let mut ring = storage.ring.lock().unwrap();
        let failure = ring
            .write_and_sync(directory.as_raw_fd(), 0, b"data", true)
            .err()
            .unwrap();
        match failure {
            Failure::Write(error) => assert_eq!(error.raw_os_error(), Some(libc::EBADF)),
            Failure::Sync(error) => panic!("expected a write error, got sync error {error}"),
        }
        drop(ring);
        fs::remove_dir_all(&dir).unwrap();
    }
}
