//! The simulated disk's faces to the log: [`Storage`] for [`SimDisk`], and the
//! [`AppendFile`] and directory lock it hands out.
//!
//! Each operation starts with [`SimDisk::begin`] (power check, scheduled crash, latency),
//! then rolls its own faults; a handle from before a restart belongs to a dead process and
//! fails as if the power were off.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::PoisonError;

use crate::error::{Error, Operation};
use crate::io::{AppendFile, DirLock, Storage};

use super::{
    DiskState, Fate, FaultKind, Inode, Pending, SimDisk, clip_pending, forge_checksums,
    is_log_segment, len_u64, os_error, power_off, to_usize,
};

impl Storage for SimDisk {
    fn name(&self) -> &'static str {
        "sim"
    }

    fn create_dir_all(&self, dir: &Path) -> Result<(), Error> {
        let operation = Operation::CreateDir;
        let (mut state, _) = self.begin(b"mkdir", &operation, dir)?;
        if state.crashed {
            return Err(power_off(&operation, dir));
        }
        if state.roll(FaultKind::PermissionDenied, |faults| {
            faults.permission_error_probability
        }) {
            return Err(os_error(&operation, dir, libc::EACCES));
        }
        for ancestor in dir.ancestors() {
            if ancestor.as_os_str().is_empty() {
                continue;
            }
            if state.names.contains_key(ancestor) {
                return Err(os_error(&operation, dir, libc::ENOTDIR));
            }
            state.dirs.insert(ancestor.to_path_buf());
        }
        Ok(())
    }

    fn lock_dir(&self, dir: &Path) -> Result<DirLock, Error> {
        let operation = Operation::Lock;
        let (mut state, _) = self.begin(b"lock", &operation, dir)?;
        if state.crashed {
            return Err(power_off(&operation, dir));
        }
        if !state.dirs.contains(dir) {
            return Err(os_error(&operation, dir, libc::ENOENT));
        }
        if state.roll(FaultKind::PermissionDenied, |faults| {
            faults.permission_error_probability
        }) {
            return Err(os_error(&operation, dir, libc::EACCES));
        }
        if !state.locks.insert(dir.to_path_buf()) {
            return Err(Error::Locked {
                dir: dir.to_path_buf(),
                holder: "another simulated process".to_owned(),
            });
        }
        Ok(DirLock::new(Box::new(SimLock {
            disk: self.clone(),
            dir: dir.to_path_buf(),
        })))
    }

    fn open_append(&self, path: &Path) -> Result<Box<dyn AppendFile>, Error> {
        let operation = Operation::Open;
        let (mut state, _) = self.begin(b"open", &operation, path)?;
        if state.crashed {
            return Err(power_off(&operation, path));
        }
        if state.roll(FaultKind::PermissionDenied, |faults| {
            faults.permission_error_probability
        }) {
            return Err(os_error(&operation, path, libc::EACCES));
        }
        if state.dirs.contains(path) {
            return Err(os_error(&operation, path, libc::EISDIR));
        }
        if !state.parent_exists(path) {
            return Err(os_error(&operation, path, libc::ENOENT));
        }
        let inode_id = match state.names.get(path) {
            Some(&inode_id) => inode_id,
            None => {
                let inode_id = state.inode_next;
                state.inode_next += 1;
                state.inodes.insert(inode_id, Inode::default());
                state.names.insert(path.to_path_buf(), inode_id);
                inode_id
            }
        };
        let generation = state.generation;
        drop(state);
        Ok(Box::new(SimFile {
            disk: self.clone(),
            inode_id,
            generation,
            path: path.to_path_buf(),
        }))
    }

    fn read(&self, path: &Path) -> Result<Vec<u8>, Error> {
        self.read_range(path, 0, u64::MAX)
    }

    fn read_range(&self, path: &Path, offset: u64, size: u64) -> Result<Vec<u8>, Error> {
        let operation = Operation::Read;
        let (mut state, _) = self.begin(b"read", &operation, path)?;
        if state.crashed {
            return Err(power_off(&operation, path));
        }
        let inode_id = state.inode_of(path, &operation)?;
        if state.roll(FaultKind::ReadError, |faults| faults.read_error_probability) {
            return Err(os_error(&operation, path, libc::EIO));
        }
        if state.roll(FaultKind::PermissionDenied, |faults| {
            faults.permission_error_probability
        }) {
            return Err(os_error(&operation, path, libc::EACCES));
        }
        let written = state
            .inodes
            .get(&inode_id)
            .map(|inode| inode.written.as_slice())
            .unwrap_or_default();
        let start = to_usize(offset).min(written.len());
        let end = to_usize(offset.saturating_add(size)).min(written.len());
        let mut bytes = written[start..end].to_vec();
        if state.checksums_forged && start == 0 && is_log_segment(path) {
            forge_checksums(&mut bytes);
        }
        Ok(bytes)
    }

    fn size(&self, path: &Path) -> Result<u64, Error> {
        let operation = Operation::Size;
        let (state, _) = self.begin(b"stat", &operation, path)?;
        if state.crashed {
            return Err(power_off(&operation, path));
        }
        let inode_id = state.inode_of(path, &operation)?;
        Ok(state
            .inodes
            .get(&inode_id)
            .map_or(0, |inode| len_u64(&inode.written)))
    }

    fn list(&self, dir: &Path) -> Result<Vec<String>, Error> {
        let operation = Operation::List;
        let (mut state, _) = self.begin(b"list", &operation, dir)?;
        if state.crashed {
            return Err(power_off(&operation, dir));
        }
        if !state.dirs.contains(dir) {
            return Err(os_error(&operation, dir, libc::ENOENT));
        }
        if state.roll(FaultKind::ReadError, |faults| faults.read_error_probability) {
            return Err(os_error(&operation, dir, libc::EIO));
        }
        let in_dir = |path: &&PathBuf| path.parent() == Some(dir);
        let mut names: Vec<String> = state
            .names
            .keys()
            .filter(in_dir)
            .chain(state.dirs.iter().filter(in_dir))
            .filter_map(|path| path.file_name()?.to_str().map(str::to_owned))
            .collect();
        names.sort_unstable();
        Ok(names)
    }

    fn truncate(&self, path: &Path, size: u64) -> Result<(), Error> {
        let operation = Operation::Truncate;
        let (mut state, _) = self.begin(b"truncate", &operation, path)?;
        if state.crashed {
            return Err(power_off(&operation, path));
        }
        let inode_id = state.inode_of(path, &operation)?;
        if state.roll(FaultKind::WriteError, |faults| {
            faults.write_error_probability
        }) {
            return Err(os_error(&operation, path, libc::EIO));
        }
        let Some(inode) = state.inodes.get_mut(&inode_id) else {
            unreachable!("named inode {inode_id} missing");
        };
        inode.written.resize(to_usize(size), 0);
        for pending in &mut inode.pending {
            clip_pending(pending, size);
        }
        inode.pending.retain(|pending| !pending.bytes.is_empty());
        // The new size is durable (the contract: recovery must not see a cut tail again).
        inode.durable.resize(to_usize(size), 0);
        state.truncate_count += 1;
        state.trace(b"truncated", path, size, 0);
        Ok(())
    }

    fn rename(&self, source: &Path, target: &Path) -> Result<(), Error> {
        let operation = Operation::Rename {
            target: target.to_path_buf(),
        };
        let (mut state, _) = self.begin(b"rename", &operation, source)?;
        if state.crashed {
            return Err(power_off(&operation, source));
        }
        let inode_id = state.inode_of(source, &operation)?;
        if state.roll(FaultKind::PermissionDenied, |faults| {
            faults.permission_error_probability
        }) {
            return Err(os_error(&operation, source, libc::EACCES));
        }
        if !state.parent_exists(target) {
            return Err(os_error(&operation, source, libc::ENOENT));
        }
        state.names.remove(source);
        state.names.insert(target.to_path_buf(), inode_id);
        state.trace(b"renamed", target, inode_id, 0);
        Ok(())
    }

    fn remove(&self, path: &Path) -> Result<(), Error> {
        let operation = Operation::Remove;
        let (mut state, _) = self.begin(b"remove", &operation, path)?;
        if state.crashed {
            return Err(power_off(&operation, path));
        }
        state.inode_of(path, &operation)?;
        if state.roll(FaultKind::PermissionDenied, |faults| {
            faults.permission_error_probability
        }) {
            return Err(os_error(&operation, path, libc::EACCES));
        }
        state.names.remove(path);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> Result<(), Error> {
        let operation = Operation::SyncDir;
        let (mut state, _) = self.begin(b"syncdir", &operation, dir)?;
        if state.crashed {
            // Half the time the directory made it before the power went.
            if state.rng.chance(0.5) {
                sync_names(&mut state, dir);
            }
            return Err(power_off(&operation, dir));
        }
        if !state.dirs.contains(dir) {
            return Err(os_error(&operation, dir, libc::ENOENT));
        }
        if state.roll(FaultKind::SyncError, |faults| faults.sync_error_probability) {
            return Err(os_error(&operation, dir, libc::EIO));
        }
        sync_names(&mut state, dir);
        Ok(())
    }
}

/// Makes the names (and subdirectories) directly inside `dir` durable.
fn sync_names(state: &mut DiskState, dir: &Path) {
    let in_dir = |path: &PathBuf| path.parent() == Some(dir);
    state.names_durable.retain(|path, _| !in_dir(path));
    let live: Vec<(PathBuf, u64)> = state
        .names
        .iter()
        .filter(|(path, _)| in_dir(path))
        .map(|(path, &inode)| (path.clone(), inode))
        .collect();
    state.names_durable.extend(live);
    state.dirs_durable.retain(|path| !in_dir(path));
    let dirs: Vec<PathBuf> = state
        .dirs
        .iter()
        .filter(|path| in_dir(path))
        .cloned()
        .collect();
    state.dirs_durable.extend(dirs);
}

/// A file of the simulated disk open for writing.
struct SimFile {
    disk: SimDisk,
    inode_id: u64,
    /// The disk generation it was opened in; a restart makes it a dead process's handle.
    generation: u64,
    path: PathBuf,
}

impl SimFile {
    fn stale(&self, operation: &Operation) -> Option<Error> {
        (self.disk.generation() != self.generation).then(|| power_off(operation, &self.path))
    }
}

impl AppendFile for SimFile {
    fn path(&self) -> &Path {
        &self.path
    }

    fn size(&self) -> Result<u64, Error> {
        let operation = Operation::Size;
        if let Some(error) = self.stale(&operation) {
            return Err(error);
        }
        let (state, _) = self.disk.begin(b"fstat", &operation, &self.path)?;
        if state.crashed {
            return Err(power_off(&operation, &self.path));
        }
        Ok(state
            .inodes
            .get(&self.inode_id)
            .map_or(0, |inode| len_u64(&inode.written)))
    }

    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> Result<(), Error> {
        let operation = Operation::Write;
        if let Some(error) = self.stale(&operation) {
            return Err(error);
        }
        let path = self.path.clone();
        let (mut state, now_ns) = self.disk.begin(b"write", &operation, &path)?;
        let size = len_u64(bytes);
        state.trace(b"write", &path, offset, size);
        if state.crashed {
            // The power went during the write: it may have reached the page cache.
            if state.rng.chance(0.5) {
                state.write(self.inode_id, &path, offset, bytes);
            }
            return Err(power_off(&operation, &path));
        }
        let failure = if state.roll(FaultKind::NoSpace, |faults| faults.no_space_probability) {
            Some(libc::ENOSPC)
        } else if state.roll(FaultKind::WriteError, |faults| {
            faults.write_error_probability
        }) {
            Some(libc::EIO)
        } else {
            None
        };
        if let Some(errno) = failure {
            // A failed write may have written a prefix.
            let torn = state.torn(Pending {
                offset,
                bytes: bytes.to_vec(),
                fate: Fate::Stored,
            });
            if !torn.bytes.is_empty() {
                state.write(self.inode_id, &path, offset, &torn.bytes);
            }
            return Err(os_error(&operation, &path, errno));
        }
        state.write(self.inode_id, &path, offset, bytes);
        if is_log_segment(&path) {
            state.log_sync.write_ns = now_ns;
            state.gate_write_seen |= state.gate_closed;
        }
        Ok(())
    }

    fn sync_data(&mut self) -> Result<(), Error> {
        let operation = Operation::SyncData;
        if let Some(error) = self.stale(&operation) {
            return Err(error);
        }
        let path = self.path.clone();
        let log = is_log_segment(&path);
        if log {
            let state = self.disk.lock();
            let state = self
                .disk
                .shared
                .gate_opened
                .wait_while(state, |state| state.gate_closed && state.gate_write_seen)
                .unwrap_or_else(PoisonError::into_inner);
            drop(state);
        }
        let (mut state, now_ns) = self.disk.begin(b"sync", &operation, &path)?;
        let outcome = if state.crashed {
            // The power went during the sync: it may or may not have finished.
            if state.rng.chance(0.5) {
                state.persist_all(self.inode_id, &path);
            }
            Err(power_off(&operation, &path))
        } else if state.roll(FaultKind::SyncError, |faults| faults.sync_error_probability) {
            state.fail_sync(self.inode_id, &path);
            Err(os_error(&operation, &path, libc::EIO))
        } else {
            state.persist_all(self.inode_id, &path);
            Ok(())
        };
        if log {
            state.log_sync.attempts += 1;
            state.log_sync.failures += u64::from(outcome.is_err());
            state.log_sync_failed |= outcome.is_err();
            state.log_sync.last_ns = now_ns;
            drop(state);
            self.disk.shared.log_synced.notify_all();
        }
        outcome
    }
}

impl fmt::Debug for SimFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimFile")
            .field("path", &self.path)
            .field("inode", &self.inode_id)
            .finish_non_exhaustive()
    }
}

/// Keeps a simulated directory lock until dropped.
struct SimLock {
    disk: SimDisk,
    dir: PathBuf,
}

impl Drop for SimLock {
    fn drop(&mut self) {
        let removed = self.disk.lock().locks.remove(&self.dir);
        assert!(removed, "lock of {} released twice", self.dir.display());
    }
}
