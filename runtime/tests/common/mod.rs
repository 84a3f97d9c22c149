//! Helpers shared by the `Db` durability tests: temporary directories, the backends to run
//! on, and `FaultStorage`, a `Storage` wrapper that models power loss (unsynced bytes and
//! unsynced new names are lost) and fails the n-th write or fdatasync.
//!
//! Fault model of `FaultStorage::crash`: every file is cut back to the size its last
//! successful sync covered (data written after it is lost; the test's own torn-tail cases cut
//! files by hand), and every file created since the last fsync of its directory disappears.
//! Renames and removals are treated as durable at once (the runtime fsyncs the directory
//! right after each, so the window is not what these tests are about).
#![allow(
    dead_code,
    clippy::unwrap_used,
    reason = "shared by several test crates, each using a part; tests fail loudly"
)]

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use floe_core::codec::resp::SliceSink;
use floe_core::command::{Outcome, Session};
use floe_runtime::error::{Error, Operation};
use floe_runtime::io::{AppendFile, Backend, DirLock, Storage, SystemClock};
use floe_runtime::log::FsyncPolicy;
use floe_runtime::log::check::check;
use floe_runtime::log::segment_file_lsn;
use floe_runtime::{Db, DbConfig};

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("floe-db-{name}-{}-{unique}", std::process::id()));
        let _ignored = fs::remove_dir_all(&path); // A leftover of an earlier run, if any.
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ignored = fs::remove_dir_all(&self.0); // Best effort.
    }
}

/// The backends durability tests run on; io_uring is skipped with a message where the
/// kernel or sandbox lacks it.
pub fn backends() -> Vec<Backend> {
    let mut backends = vec![Backend::Blocking];
    match Backend::Uring.open() {
        Ok(_) => backends.push(Backend::Uring),
        Err(error) => eprintln!("skipping the io_uring backend: {error}"),
    }
    backends
}

/// A small configuration for tests: 1 MiB of items, 10,000 keys.
pub fn config(backend: Backend, fsync: FsyncPolicy) -> DbConfig {
    DbConfig {
        backend,
        fsync,
        snapshot_log_size: 0,
        ..DbConfig::new(1 << 20, 10_000)
    }
}

/// Opens `dir` over `storage` with the system clock.
pub fn open_with(dir: &Path, config: DbConfig, storage: Arc<dyn Storage>) -> Db {
    Db::open_with(dir, config, Some(storage), Arc::new(SystemClock::new())).unwrap()
}

/// The segment files of `dir`, in LSN order.
pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| segment_file_lsn(name).is_some())
        .collect();
    names.sort();
    names.into_iter().map(|name| dir.join(name)).collect()
}

/// Every file name in `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Copies every regular file of `source` into a fresh `target`.
pub fn copy_dir(source: &Path, target: &Path) {
    let _ignored = fs::remove_dir_all(target);
    fs::create_dir_all(target).unwrap();
    for entry in fs::read_dir(source).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            fs::copy(entry.path(), target.join(entry.file_name())).unwrap();
        }
    }
}

/// Which call fails, counted from 1 over the whole storage; 0 = never.
#[derive(Debug, Default)]
pub struct Faults {
    pub write_failing: AtomicU64,
    pub sync_failing: AtomicU64,
}

/// A `Storage` wrapper that models power loss and injects write and sync failures.
#[derive(Debug, Clone)]
pub struct FaultStorage {
    inner: Arc<dyn Storage>,
    shared: Arc<FaultShared>,
}

#[derive(Debug, Default)]
struct FaultShared {
    /// Held for reading by every operation, for writing by `crash`: no operation straddles
    /// a crash.
    gate: RwLock<()>,
    crashed: AtomicBool,
    /// Bytes of each file covered by a successful sync (or a truncate).
    synced: Mutex<HashMap<PathBuf, u64>>,
    /// Files created since their directory was last fsync'ed.
    unsynced_names: Mutex<HashSet<PathBuf>>,
    faults: Faults,
    write_count: AtomicU64,
    sync_count: AtomicU64,
}

impl FaultStorage {
    pub fn new(inner: Arc<dyn Storage>) -> Self {
        Self {
            inner,
            shared: Arc::new(FaultShared::default()),
        }
    }

    pub fn over(backend: Backend) -> Self {
        Self::new(backend.open().unwrap())
    }

    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Power loss: every later call fails, unsynced bytes and names are gone from disk.
    pub fn crash(&self) {
        let shared = &*self.shared;
        let _gate = shared.gate.write().unwrap();
        shared.crashed.store(true, Ordering::SeqCst);
        for path in shared.unsynced_names.lock().unwrap().drain() {
            let _ignored = fs::remove_file(&path); // It may have been renamed or removed.
        }
        for (path, size) in shared.synced.lock().unwrap().iter() {
            if let Ok(file) = fs::OpenOptions::new().write(true).open(path) {
                file.set_len(*size).unwrap();
            }
        }
    }

    fn check(&self, operation: Operation, path: &Path) -> Result<(), Error> {
        if self.shared.crashed.load(Ordering::SeqCst) {
            return Err(Error::io(operation, path, io::Error::other("power lost")));
        }
        Ok(())
    }

    fn injected(counter: &AtomicU64, failing: &AtomicU64) -> bool {
        let count = counter.fetch_add(1, Ordering::SeqCst) + 1;
        failing.load(Ordering::SeqCst) == count
    }
}

impl Storage for FaultStorage {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn create_dir_all(&self, dir: &Path) -> Result<(), Error> {
        let _gate = self.shared.gate.read().unwrap();
        self.check(Operation::CreateDir, dir)?;
        self.inner.create_dir_all(dir)
    }

    fn lock_dir(&self, dir: &Path) -> Result<DirLock, Error> {
        self.inner.lock_dir(dir)
    }

    fn open_append(&self, path: &Path) -> Result<Box<dyn AppendFile>, Error> {
        let _gate = self.shared.gate.read().unwrap();
        self.check(Operation::Open, path)?;
        let existed = path.exists();
        let file = self.inner.open_append(path)?;
        let size = file.size()?;
        let mut synced = self.shared.synced.lock().unwrap();
        synced.entry(path.to_path_buf()).or_insert(size);
        if !existed {
            self.shared
                .unsynced_names
                .lock()
                .unwrap()
                .insert(path.to_path_buf());
        }
        Ok(Box::new(FaultFile {
            inner: file,
            storage: self.clone(),
            path: path.to_path_buf(),
            written: size,
        }))
    }

    fn read(&self, path: &Path) -> Result<Vec<u8>, Error> {
        self.check(Operation::Read, path)?;
        self.inner.read(path)
    }

    fn read_range(&self, path: &Path, offset: u64, size: u64) -> Result<Vec<u8>, Error> {
        self.check(Operation::Read, path)?;
        self.inner.read_range(path, offset, size)
    }

    fn size(&self, path: &Path) -> Result<u64, Error> {
        self.check(Operation::Size, path)?;
        self.inner.size(path)
    }

    fn list(&self, dir: &Path) -> Result<Vec<String>, Error> {
        self.check(Operation::List, dir)?;
        self.inner.list(dir)
    }

    fn truncate(&self, path: &Path, size: u64) -> Result<(), Error> {
        let _gate = self.shared.gate.read().unwrap();
        self.check(Operation::Truncate, path)?;
        self.inner.truncate(path, size)?;
        self.shared
            .synced
            .lock()
            .unwrap()
            .insert(path.to_path_buf(), size);
        Ok(())
    }

    fn rename(&self, source: &Path, target: &Path) -> Result<(), Error> {
        let _gate = self.shared.gate.read().unwrap();
        self.check(
            Operation::Rename {
                target: target.to_path_buf(),
            },
            source,
        )?;
        self.inner.rename(source, target)?;
        let mut synced = self.shared.synced.lock().unwrap();
        if let Some(size) = synced.remove(source) {
            synced.insert(target.to_path_buf(), size);
        }
        let mut names = self.shared.unsynced_names.lock().unwrap();
        if names.remove(source) {
            names.insert(target.to_path_buf());
        }
        Ok(())
    }

    fn remove(&self, path: &Path) -> Result<(), Error> {
        let _gate = self.shared.gate.read().unwrap();
        self.check(Operation::Remove, path)?;
        self.inner.remove(path)?;
        self.shared.synced.lock().unwrap().remove(path);
        self.shared.unsynced_names.lock().unwrap().remove(path);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> Result<(), Error> {
        let _gate = self.shared.gate.read().unwrap();
        self.check(Operation::SyncDir, dir)?;
        self.inner.sync_dir(dir)?;
        self.shared
            .unsynced_names
            .lock()
            .unwrap()
            .retain(|path| path.parent() != Some(dir));
        Ok(())
    }
}

#[derive(Debug)]
struct FaultFile {
    inner: Box<dyn AppendFile>,
    storage: FaultStorage,
    path: PathBuf,
    /// Bytes written so far (the end of the furthest write).
    written: u64,
}

impl FaultFile {
    fn write_checked(&mut self, _offset: u64, _bytes: &[u8]) -> Result<(), Error> {
        let shared = &*self.storage.shared;
        self.storage.check(Operation::Write, &self.path)?;
        if FaultStorage::injected(&shared.write_count, &shared.faults.write_failing) {
            return Err(Error::io(
                Operation::Write,
                &self.path,
                io::Error::other("injected write failure"),
            ));
        }
        Ok(())
    }

    fn sync_checked(&mut self) -> Result<(), Error> {
        let shared = &*self.storage.shared;
        self.storage.check(Operation::SyncData, &self.path)?;
        if FaultStorage::injected(&shared.sync_count, &shared.faults.sync_failing) {
            return Err(Error::io(
                Operation::SyncData,
                &self.path,
                io::Error::other("injected EIO"),
            ));
        }
        Ok(())
    }

    fn synced(&self) {
        self.storage
            .shared
            .synced
            .lock()
            .unwrap()
            .insert(self.path.clone(), self.written);
    }
}

impl AppendFile for FaultFile {
    fn path(&self) -> &Path {
        &self.path
    }

    fn size(&self) -> Result<u64, Error> {
        self.inner.size()
    }

    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> Result<(), Error> {
        let storage = self.storage.clone();
        let _gate = storage.shared.gate.read().unwrap();
        self.write_checked(offset, bytes)?;
        self.inner.write_at(offset, bytes)?;
        self.written = self.written.max(offset + bytes.len() as u64);
        Ok(())
    }

    fn sync_data(&mut self) -> Result<(), Error> {
        let storage = self.storage.clone();
        let _gate = storage.shared.gate.read().unwrap();
        self.sync_checked()?;
        self.inner.sync_data()?;
        self.synced();
        Ok(())
    }

    fn write_at_and_sync(&mut self, offset: u64, bytes: &[u8]) -> Result<(), Error> {
        let storage = self.storage.clone();
        let _gate = storage.shared.gate.read().unwrap();
        self.write_checked(offset, bytes)?;
        if let Err(error) = self.sync_checked() {
            // The write happens; only its sync fails, as with a real EIO.
            self.inner.write_at(offset, bytes)?;
            self.written = self.written.max(offset + bytes.len() as u64);
            return Err(error);
        }
        self.inner.write_at_and_sync(offset, bytes)?;
        self.written = self.written.max(offset + bytes.len() as u64);
        self.synced();
        Ok(())
    }
}

/// Runs one command through the door's path (prepare, apply, settle) and returns its reply.
pub fn run(db: &Db, session: &mut Session, args: &[&[u8]]) -> Vec<u8> {
    let mut buffer = vec![0u8; 64 * 1024];
    let mut reply = SliceSink::new(&mut buffer);
    let applied = db.apply(&db.prepare(args), session, &mut reply).unwrap();
    db.settle(applied.durability).unwrap();
    assert_eq!(applied.outcome, Outcome::Done);
    reply.written().to_vec()
}

/// [`run`] of a command line split on spaces, in a fresh session.
pub fn command(db: &Db, line: &str) -> Vec<u8> {
    let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
    run(db, &mut Session::new(1), &args)
}

/// The RESP2 array of `elements` as bulk strings, in order.
pub fn bulks(elements: &[&str]) -> Vec<u8> {
    let mut reply = format!("*{}\r\n", elements.len());
    for element in elements {
        reply.push_str(&format!("${}\r\n{element}\r\n", element.len()));
    }
    reply.into_bytes()
}

/// Redis's reply to a command on a key of another type.
pub const WRONG_TYPE: &[u8] =
    b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

/// Checks that each command line of `expected` replies exactly its reply.
pub fn assert_replies(db: &Db, expected: &[(String, Vec<u8>)]) {
    for (line, reply) in expected {
        let got = command(db, line);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(reply),
            "{line}"
        );
    }
}

/// The crash round of the collection tests, on every backend: `write` makes its keys in a
/// store opened with `config` (under `always`) over [`FaultStorage`] and returns the
/// command lines and replies that must hold; they are checked, the power goes, and they
/// must hold again after recovery, with `floe check` finding the directory clean.
pub fn writes_survive_a_crash(
    name: &str,
    config: impl Fn(Backend) -> DbConfig,
    write: impl Fn(&Db) -> Vec<(String, Vec<u8>)>,
) {
    for backend in backends() {
        let dir = TempDir::new(name);
        let storage = FaultStorage::over(backend);
        let expected = {
            let db = open_with(dir.path(), config(backend), Arc::new(storage.clone()));
            let expected = write(&db);
            assert_replies(&db, &expected);
            storage.crash();
            expected
        };
        let db = Db::open(dir.path(), config(backend)).unwrap();
        assert_replies(&db, &expected);
        drop(db);
        assert!(check(dir.path(), false).unwrap().is_clean());
    }
}
