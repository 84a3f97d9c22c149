//! The portable backend: every [`Storage`] operation as a plain blocking `std::fs` call.
//!
//! Used where io_uring cannot be set up (old kernels, a container's seccomp profile), when
//! asked for, and by the io_uring backend itself for the cold paths (open, read, list,
//! rename, ...) where one system call per operation costs nothing that matters.
//!
//! Invariants:
//! - Writes go through `write_all_at` (`pwrite` in a loop), so a short write is continued and
//!   a write that makes no progress is an error, never ignored.
//! - Files are opened without `O_APPEND`: every write names its offset, so the caller (the log
//!   writer) owns the layout and a retried or reordered write cannot land at the wrong place.
//! - The data directory's lock is `flock(LOCK_EX | LOCK_NB)` on `<dir>/LOCK` (std's
//!   `File::try_lock`), held by the open file for as long as the [`DirLock`] lives. `flock`
//!   locks belong to the open file description, so a second lock attempt fails even inside
//!   the same process, and the kernel drops the lock when the process dies (no stale locks).
//!
//! Fault assumptions: as in [`crate::io`]. `sync_data` is `fdatasync(2)`; its error is
//! reported once and never retried here.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Operation};
use crate::io::{AppendFile, DirLock, Storage};

/// Name of the lock file inside a data directory.
pub const LOCK_FILE_NAME: &str = "LOCK";

/// [`Storage`] over blocking `std::fs` calls.
#[derive(Debug, Default, Clone, Copy)]
pub struct BlockingStorage;

impl BlockingStorage {
    /// The blocking backend; it has no state and cannot fail to start.
    #[must_use]
    pub fn new() -> Self {
        Self
    }
}

/// A file written with `pwrite` and synced with `fdatasync`.
#[derive(Debug)]
pub struct BlockingFile {
    file: File,
    path: PathBuf,
}

impl BlockingFile {
    /// Opens (creating if missing, never truncating) `path` for positioned writes.
    ///
    /// # Errors
    /// [`Error::Io`] with [`Operation::Open`].
    pub fn open(path: &Path) -> Result<Self, Error> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|source| Error::io(Operation::Open, path, source))?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
        })
    }

    /// The open file, for backends that submit their own I/O on its descriptor.
    pub(crate) fn file(&self) -> &File {
        &self.file
    }
}

impl AppendFile for BlockingFile {
    fn path(&self) -> &Path {
        &self.path
    }

    fn size(&self) -> Result<u64, Error> {
        self.file
            .metadata()
            .map(|metadata| metadata.len())
            .map_err(|source| Error::io(Operation::Size, &self.path, source))
    }

    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> Result<(), Error> {
        // `write_all_at` continues short writes, retries EINTR, and turns a write of zero
        // bytes into `WriteZero` instead of spinning.
        self.file
            .write_all_at(bytes, offset)
            .map_err(|source| Error::io(Operation::Write, &self.path, source))
    }

    fn sync_data(&mut self) -> Result<(), Error> {
        self.file
            .sync_data()
            .map_err(|source| Error::io(Operation::SyncData, &self.path, source))
    }
}

impl Storage for BlockingStorage {
    fn name(&self) -> &'static str {
        "blocking"
    }

    fn create_dir_all(&self, dir: &Path) -> Result<(), Error> {
        fs::create_dir_all(dir).map_err(|source| Error::io(Operation::CreateDir, dir, source))
    }

    fn lock_dir(&self, dir: &Path) -> Result<DirLock, Error> {
        lock_dir(dir)
    }

    fn open_append(&self, path: &Path) -> Result<Box<dyn AppendFile>, Error> {
        Ok(Box::new(BlockingFile::open(path)?))
    }

    fn read(&self, path: &Path) -> Result<Vec<u8>, Error> {
        fs::read(path).map_err(|source| Error::io(Operation::Read, path, source))
    }

    fn read_range(&self, path: &Path, offset: u64, size: u64) -> Result<Vec<u8>, Error> {
        let read = || -> std::io::Result<Vec<u8>> {
            let mut file = File::open(path)?;
            file.seek(SeekFrom::Start(offset))?;
            let mut bytes = Vec::new();
            file.take(size).read_to_end(&mut bytes)?;
            Ok(bytes)
        };
        read().map_err(|source| Error::io(Operation::Read, path, source))
    }

    fn size(&self, path: &Path) -> Result<u64, Error> {
        fs::metadata(path)
            .map(|metadata| metadata.len())
            .map_err(|source| Error::io(Operation::Size, path, source))
    }

    fn list(&self, dir: &Path) -> Result<Vec<String>, Error> {
        let list = || -> std::io::Result<Vec<String>> {
            let mut names = Vec::new();
            for entry in fs::read_dir(dir)? {
                if let Ok(name) = entry?.file_name().into_string() {
                    names.push(name);
                }
            }
            names.sort_unstable();
            Ok(names)
        };
        list().map_err(|source| Error::io(Operation::List, dir, source))
    }

    fn truncate(&self, path: &Path, size: u64) -> Result<(), Error> {
        let truncate = || -> std::io::Result<()> {
            let file = OpenOptions::new().write(true).open(path)?;
            file.set_len(size)?;
            file.sync_all()
        };
        truncate().map_err(|source| Error::io(Operation::Truncate, path, source))
    }

    fn rename(&self, source: &Path, target: &Path) -> Result<(), Error> {
        fs::rename(source, target).map_err(|error| {
            let operation = Operation::Rename {
                target: target.to_path_buf(),
            };
            Error::io(operation, source, error)
        })
    }

    fn remove(&self, path: &Path) -> Result<(), Error> {
        fs::remove_file(path).map_err(|source| Error::io(Operation::Remove, path, source))
    }

    fn sync_dir(&self, dir: &Path) -> Result<(), Error> {
        File::open(dir)
            .and_then(|directory| directory.sync_all())
            .map_err(|source| Error::io(Operation::SyncDir, dir, source))
    }
}

/// Takes `<dir>/LOCK` with `flock(LOCK_EX | LOCK_NB)` and writes `pid <pid>` into it, so the
/// next process to try can say who holds the directory. Shared by both OS backends.
///
/// # Errors
/// [`Error::Locked`] when another open file holds the lock; [`Error::Io`] with
/// [`Operation::Lock`] when the file cannot be opened, locked or written.
pub fn lock_dir(dir: &Path) -> Result<DirLock, Error> {
    let path = dir.join(LOCK_FILE_NAME);
    let io_error = |source| Error::io(Operation::Lock, &path, source);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_error)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            // The holder wrote its pid after locking; it may be mid-write, so an empty or odd
            // text is reported as it is rather than trusted.
            let holder = fs::read_to_string(&path)
                .ok()
                .map(|text| text.trim().to_owned())
                .filter(|text| !text.is_empty())
                .unwrap_or_else(|| "holder unknown".to_owned());
            return Err(Error::Locked {
                dir: dir.to_path_buf(),
                holder,
            });
        }
        Err(fs::TryLockError::Error(source)) => return Err(io_error(source)),
    }
    let holder = format!("pid {}\n", std::process::id());
    file.set_len(0).map_err(io_error)?;
    file.write_all_at(holder.as_bytes(), 0).map_err(io_error)?;
    Ok(DirLock::new(Box::new(file)))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("floe-blocking-{name}-{}", std::process::id()));
        let _ignored = fs::remove_dir_all(&dir); // A leftover from an earlier run, if any.
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn whole_file_operations_round_trip() {
        let storage = BlockingStorage::new();
        let dir = temp_dir("ops");
        let path = dir.join("a");
        let mut file = storage.open_append(&path).unwrap();
        assert_eq!(file.size().unwrap(), 0);
        file.write_at(0, b"hello ").unwrap();
        file.write_at_and_sync(6, b"world").unwrap();
        assert_eq!(file.size().unwrap(), 11);
        drop(file);
        assert_eq!(storage.read(&path).unwrap(), b"hello world");
        assert_eq!(storage.read_range(&path, 6, 3).unwrap(), b"wor");
        assert_eq!(storage.read_range(&path, 6, 1000).unwrap(), b"world");
        assert_eq!(storage.read_range(&path, 100, 10).unwrap(), b"");
        assert_eq!(storage.size(&path).unwrap(), 11);
        storage.truncate(&path, 5).unwrap();
        assert_eq!(storage.read(&path).unwrap(), b"hello");
        // Reopening never truncates.
        assert_eq!(storage.open_append(&path).unwrap().size().unwrap(), 5);
        let renamed = dir.join("b");
        storage.rename(&path, &renamed).unwrap();
        storage.sync_dir(&dir).unwrap();
        assert_eq!(storage.list(&dir).unwrap(), vec!["b".to_owned()]);
        storage.remove(&renamed).unwrap();
        assert!(storage.list(&dir).unwrap().is_empty());
        let error = storage.read(&renamed).unwrap_err();
        assert!(error.to_string().contains("cannot read"), "{error}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn lock_is_exclusive_and_names_the_holder() {
        let dir = temp_dir("lock");
        let lock = lock_dir(&dir).unwrap();
        match lock_dir(&dir) {
            Err(Error::Locked {
                dir: locked,
                holder,
            }) => {
                assert_eq!(locked, dir);
                assert_eq!(holder, format!("pid {}", std::process::id()));
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(lock);
        let _again = lock_dir(&dir).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }
}
