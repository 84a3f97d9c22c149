//! Real kernel short writes and write errors, on both backends, through the file-size limit.
//!
//! With `RLIMIT_FSIZE` set, a write that crosses the limit is cut short at it (the kernel
//! returns fewer bytes than asked), and the next write past it fails with `EFBIG`. That is the
//! one short write a test can provoke on a regular file, so it pins two things no injected
//! fault can: the io_uring backend notices a short linked write (the kernel cancels the
//! linked fdatasync) and resubmits the rest instead of reporting success, and a real write
//! error poisons the log.
//!
//! The limit is process-wide, so this file holds a single test (its own process).
#![allow(
    unsafe_code,
    reason = "setrlimit and signal are process-wide settings that std does not expose"
)]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::fs;
use std::sync::Arc;

use floe_runtime::error::{Error, Operation};
use floe_runtime::io::{Backend, Storage, SystemClock};
use floe_runtime::log::{LogConfig, LogWriter};

const FILE_SIZE_LIMIT: u64 = 64 * 1024;

/// The process's file-size limit, lowered for as long as this lives. It applies to every
/// file the process writes, its standard output too: the test harness prints its result
/// line after the test returns (or its panic message after it unwinds), into a file that
/// may already be past the limit when the run's output goes to one. So the old limit comes
/// back on drop, also when the test panics.
struct FileSizeLimit(libc::rlimit);

impl FileSizeLimit {
    fn set(size: u64) -> Self {
        let mut previous = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `previous` is a valid rlimit for the call to fill.
        let status = unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &raw mut previous) };
        assert_eq!(status, 0, "getrlimit: {}", std::io::Error::last_os_error());
        let limit = libc::rlimit {
            rlim_cur: size,
            rlim_max: previous.rlim_max,
        };
        // SAFETY: `limit` is a valid, initialized rlimit that outlives the call.
        let status = unsafe { libc::setrlimit(libc::RLIMIT_FSIZE, &raw const limit) };
        assert_eq!(status, 0, "setrlimit: {}", std::io::Error::last_os_error());
        Self(previous)
    }
}

impl Drop for FileSizeLimit {
    fn drop(&mut self) {
        // SAFETY: `self.0` is the valid rlimit getrlimit gave.
        let status = unsafe { libc::setrlimit(libc::RLIMIT_FSIZE, &raw const self.0) };
        assert_eq!(status, 0, "setrlimit: {}", std::io::Error::last_os_error());
    }
}

#[test]
fn short_writes_are_continued_and_a_write_error_poisons_the_log() {
    // SAFETY: `signal` with `SIG_IGN` installs no handler code; ignoring SIGXFSZ makes a write
    // past the limit fail with EFBIG instead of killing the process. Nothing else in this
    // test binary relies on SIGXFSZ.
    let previous = unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    assert_ne!(previous, libc::SIG_ERR);
    let _limit = FileSizeLimit::set(FILE_SIZE_LIMIT);

    let mut storages = vec![Backend::Blocking.open().unwrap()];
    match Backend::Uring.open() {
        Ok(storage) => storages.push(storage),
        Err(error) => eprintln!("skipping the io_uring backend: {error}"),
    }
    for storage in storages {
        let dir = std::env::temp_dir().join(format!(
            "floe-short-write-{}-{}",
            storage.name(),
            std::process::id()
        ));
        let _ignored = fs::remove_dir_all(&dir); // A leftover from an earlier run, if any.
        short_write_is_reported(&storage, &dir);
        write_error_poisons_the_log(&storage, &dir.join("log"));
        fs::remove_dir_all(&dir).unwrap();
    }
}

/// A linked write + sync that crosses the limit: the first `FILE_SIZE_LIMIT - offset` bytes
/// land (the short write), the rest fails with EFBIG, and the call says so as a write error.
fn short_write_is_reported(storage: &Arc<dyn Storage>, dir: &std::path::Path) {
    storage.create_dir_all(dir).unwrap();
    let path = dir.join("segment");
    let mut file = storage.open_append(&path).unwrap();
    let offset = FILE_SIZE_LIMIT - 10;
    file.write_at_and_sync(0, &[1; 100]).unwrap();
    let error = file.write_at_and_sync(offset, &[2; 100]).unwrap_err();
    let Error::Io {
        operation, source, ..
    } = &error
    else {
        panic!("{}: expected Io, got {error:?}", storage.name());
    };
    assert_eq!(*operation, Operation::Write, "{}: {error}", storage.name());
    assert_eq!(
        source.raw_os_error(),
        Some(libc::EFBIG),
        "{}",
        storage.name()
    );
    // The short part was written (and the call did not claim the rest).
    assert_eq!(file.size().unwrap(), FILE_SIZE_LIMIT, "{}", storage.name());
    let bytes = fs::read(&path).unwrap();
    assert!(
        bytes[usize::try_from(offset).unwrap()..]
            .iter()
            .all(|&b| b == 2)
    );
}

/// A log whose segment reaches the limit: the append that crosses it is never acknowledged,
/// the log is poisoned with the kernel's EFBIG, and everything before it is intact.
fn write_error_poisons_the_log(storage: &Arc<dyn Storage>, dir: &std::path::Path) {
    let log = LogWriter::open(
        Arc::clone(storage),
        Arc::new(SystemClock::new()),
        LogConfig::new(dir),
    )
    .unwrap();
    let record = [7_u8; 1000];
    let mut acked_size: u64 = 0;
    let error = loop {
        let ticket = log
            .append(1, |_lsn, target| target.extend_from_slice(&record))
            .unwrap();
        match log.wait(ticket) {
            Ok(()) => acked_size += 1000,
            Err(error) => break error,
        }
        assert!(
            acked_size <= FILE_SIZE_LIMIT,
            "wrote past the file size limit"
        );
    };
    let Error::Poisoned { cause } = &error else {
        panic!("{}: expected Poisoned, got {error:?}", storage.name());
    };
    assert_eq!(
        cause.io_error().and_then(std::io::Error::raw_os_error),
        Some(libc::EFBIG),
        "{}",
        storage.name()
    );
    assert_eq!(
        acked_size,
        FILE_SIZE_LIMIT / 1000 * 1000,
        "{}",
        storage.name()
    );
    assert!(matches!(
        log.append(1, |_lsn, target| target.push(0)),
        Err(Error::Poisoned { .. })
    ));
    assert!(log.close().is_err());
}
