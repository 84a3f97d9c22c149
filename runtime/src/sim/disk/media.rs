//! The simulated disk's media: what happens to bytes between `write_at` and the platter.
//!
//! [`DiskState`]'s write path (the written image and each pending write's fate), syncs
//! (pending writes reach the durable image, or fail with fsyncgate semantics), crash and
//! kill resolution, and the at-rest faults a restart may find. Every choice is drawn from
//! the disk's one [`Prng`](crate::sim::rng::Prng), in operation order.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::error::{Error, Operation};

use super::{
    Damage, DiskState, Fate, FaultConfig, FaultKind, Pending, len_u64, os_error, splice, to_usize,
};

impl DiskState {
    /// Counts a fault that damaged stored bytes and remembers where.
    pub(super) fn record_damage(
        &mut self,
        kind: FaultKind,
        inode_id: u64,
        path: &Path,
        offset: u64,
        size: u64,
    ) {
        if kind != FaultKind::SyncError {
            // A failed sync was counted when it was injected.
            self.counts.bump(kind);
        }
        let damage = Damage {
            kind,
            path: path.to_path_buf(),
            offset,
            size,
        };
        if kind != FaultKind::Truncation {
            // A cut leaves no damaged bytes behind, only missing ones.
            self.damage_live.push((inode_id, damage.clone()));
        }
        self.damage.push(damage);
    }

    pub(super) fn trace(&mut self, name: &[u8], path: &Path, a: u64, b: u64) {
        let mut bytes = Vec::with_capacity(name.len() + 16 + path.as_os_str().len());
        bytes.extend_from_slice(name);
        bytes.extend_from_slice(&a.to_le_bytes());
        bytes.extend_from_slice(&b.to_le_bytes());
        bytes.extend_from_slice(path.as_os_str().as_encoded_bytes());
        self.trace_hash = floe_core::hash::wyhash(&bytes, self.trace_hash);
    }

    /// Rolls for an error fault; counts and traces it.
    pub(super) fn roll(&mut self, kind: FaultKind, probability: fn(&FaultConfig) -> f64) -> bool {
        if self.faults_enabled && self.rng.chance(probability(&self.faults)) {
            self.counts.bump(kind);
            let tag = [u8::try_from(kind.index()).unwrap_or(u8::MAX)];
            self.trace(b"fault", Path::new(""), u64::from(tag[0]), 0);
            true
        } else {
            false
        }
    }

    pub(super) fn inode_of(&self, path: &Path, operation: &Operation) -> Result<u64, Error> {
        self.names
            .get(path)
            .copied()
            .ok_or_else(|| os_error(operation, path, libc::ENOENT))
    }

    pub(super) fn parent_exists(&self, path: &Path) -> bool {
        path.parent()
            .is_none_or(|parent| parent.as_os_str().is_empty() || self.dirs.contains(parent))
    }

    /// Applies `bytes` at `offset` to the written image and queues it for the media.
    pub(super) fn write(&mut self, inode_id: u64, path: &Path, offset: u64, bytes: &[u8]) {
        let fate = self.write_fate(path, offset, bytes);
        let Some(inode) = self.inodes.get_mut(&inode_id) else {
            unreachable!("write to a missing inode {inode_id}");
        };
        splice(&mut inode.written, offset, bytes);
        inode.pending.push(Pending {
            offset,
            bytes: bytes.to_vec(),
            fate,
        });
    }

    /// Decides a write's silent fate.
    pub(super) fn write_fate(&mut self, path: &Path, offset: u64, bytes: &[u8]) -> Fate {
        if !self.faults_enabled || bytes.is_empty() || !self.faults.damage_files.contains(path) {
            return Fate::Stored;
        }
        let faults = &self.faults;
        let (flip, lost, misdirected) = (
            faults.bit_flip_probability,
            faults.lost_write_probability,
            faults.misdirected_write_probability,
        );
        if self.rng.chance(flip) {
            let bit_index = self.rng.below(len_u64(bytes) * 8);
            return Fate::BitFlip { bit_index };
        }
        if self.rng.chance(lost) {
            return Fate::Lost;
        }
        if self.rng.chance(misdirected) {
            let sector = self.faults.sector_size;
            let shift = sector * self.rng.between(1, 8);
            let target = if offset >= shift && self.rng.chance(0.5) {
                offset - shift
            } else {
                offset.saturating_add(shift)
            };
            return Fate::Misdirected { offset: target };
        }
        Fate::Stored
    }

    /// Makes every pending write of `inode_id` reach the media, with its fate.
    pub(super) fn persist_all(&mut self, inode_id: u64, path: &Path) {
        let Some(inode) = self.inodes.get_mut(&inode_id) else {
            return;
        };
        let pending = std::mem::take(&mut inode.pending);
        for write in pending {
            self.persist(inode_id, path, write);
        }
    }

    /// One pending write reaches the media.
    pub(super) fn persist(&mut self, inode_id: u64, path: &Path, write: Pending) {
        let size = len_u64(&write.bytes);
        let damage = match write.fate {
            Fate::Stored => None,
            Fate::Lost => Some((FaultKind::LostWrite, write.offset, size)),
            Fate::Misdirected { offset } => {
                // Both the hole and the landing place are damaged.
                let low = offset.min(write.offset);
                let high = offset.max(write.offset) + size;
                Some((FaultKind::MisdirectedWrite, low, high - low))
            }
            Fate::BitFlip { bit_index } => {
                Some((FaultKind::BitFlip, write.offset + bit_index / 8, 1))
            }
        };
        let Some(inode) = self.inodes.get_mut(&inode_id) else {
            return;
        };
        match write.fate {
            Fate::Stored => splice(&mut inode.durable, write.offset, &write.bytes),
            Fate::Lost => {
                // The size still grows (metadata made it), the data did not: a hole.
                let end = to_usize(write.offset + size);
                if inode.durable.len() < end {
                    inode.durable.resize(end, 0);
                }
            }
            Fate::Misdirected { offset } => {
                let end = to_usize(write.offset + size);
                if inode.durable.len() < end {
                    inode.durable.resize(end, 0);
                }
                splice(&mut inode.durable, offset, &write.bytes);
            }
            Fate::BitFlip { bit_index } => {
                let mut bytes = write.bytes;
                let byte_index = to_usize(bit_index / 8);
                if let Some(byte) = bytes.get_mut(byte_index) {
                    *byte ^= 1 << (bit_index % 8);
                }
                splice(&mut inode.durable, write.offset, &bytes);
            }
        }
        if let Some((kind, offset, size)) = damage {
            self.record_damage(kind, inode_id, path, offset, size);
        }
    }

    /// A failed sync: each pending write is kept, dropped or torn now, and forgotten, so a
    /// later sync does not write it (the kernel marked the pages clean: fsyncgate).
    pub(super) fn fail_sync(&mut self, inode_id: u64, path: &Path) {
        let Some(inode) = self.inodes.get_mut(&inode_id) else {
            return;
        };
        let pending = std::mem::take(&mut inode.pending);
        let pending_count = pending.len();
        let mut fates = Vec::with_capacity(pending_count);
        for write in pending {
            let (offset, size) = (write.offset, len_u64(&write.bytes));
            let fate = self.rng.below(3);
            match fate {
                0 => self.persist(inode_id, path, write),
                1 => {}
                _ => {
                    let torn = self.torn(write);
                    self.persist(inode_id, path, torn);
                }
            }
            fates.push((fate, offset, size));
        }
        // Anything but "a prefix persisted" can leave a damaged record before an intact one,
        // which recovery must refuse (it cannot tell it from damage to synced data).
        let prefix_only = fates
            .windows(2)
            .all(|pair| pair[0].0 == 0 || pair[1].0 == 1);
        if !prefix_only && let (Some(first), Some(last)) = (fates.first(), fates.last()) {
            let end = last.1 + last.2;
            self.record_damage(FaultKind::SyncError, inode_id, path, first.1, end - first.1);
        }
    }

    /// A sector-granular prefix of `write` (possibly empty).
    pub(super) fn torn(&mut self, mut write: Pending) -> Pending {
        let sector = self.faults.sector_size;
        let end = write.offset + len_u64(&write.bytes);
        let first_boundary = write.offset.div_ceil(sector) * sector;
        let mut cuts = vec![write.offset];
        let mut boundary = first_boundary;
        while boundary < end && cuts.len() < 4096 {
            if boundary > write.offset {
                cuts.push(boundary);
            }
            boundary += sector;
        }
        let cut = cuts[self.rng.index(cuts.len())];
        write.bytes.truncate(to_usize(cut - write.offset));
        write
    }

    /// Power comes back: decide every unsynced write, fall back to durable names, apply
    /// at-rest faults, and drop unreachable files.
    pub(super) fn resolve_crash(&mut self) {
        let mut inode_ids: Vec<u64> = self.inodes.keys().copied().collect();
        inode_ids.sort_unstable();
        let path_of: HashMap<u64, PathBuf> = self
            .names
            .iter()
            .chain(self.names_durable.iter())
            .map(|(path, &inode)| (inode, path.clone()))
            .collect();
        for &inode_id in &inode_ids {
            let path = path_of.get(&inode_id).cloned().unwrap_or_default();
            self.resolve_pending(inode_id, &path);
        }
        self.names = self.names_durable.clone();
        self.dirs = self.dirs_durable.clone();
        let reachable: BTreeSet<u64> = self.names.values().copied().collect();
        self.inodes
            .retain(|inode_id, _| reachable.contains(inode_id));
        let durable_paths: Vec<(PathBuf, u64)> = self
            .names_durable
            .iter()
            .map(|(path, &inode)| (path.clone(), inode))
            .collect();
        for (path, inode_id) in durable_paths {
            self.at_rest_faults(inode_id, &path);
        }
        for inode in self.inodes.values_mut() {
            inode.written.clone_from(&inode.durable);
        }
        for (inode_id, inode) in &self.inodes {
            assert!(
                inode.pending.is_empty(),
                "inode {inode_id} has pending writes after a crash"
            );
            assert!(
                inode.written == inode.durable,
                "inode {inode_id} images differ"
            );
        }
        assert!(self.names == self.names_durable);
    }

    /// The process died but the machine did not: the page cache reaches the media whole.
    pub(super) fn resolve_kill(&mut self) {
        let mut inode_ids: Vec<u64> = self.inodes.keys().copied().collect();
        inode_ids.sort_unstable();
        let path_of: HashMap<u64, PathBuf> = self
            .names
            .iter()
            .map(|(path, &inode)| (inode, path.clone()))
            .collect();
        for inode_id in inode_ids {
            let path = path_of.get(&inode_id).cloned().unwrap_or_default();
            self.persist_all(inode_id, &path);
        }
        self.names_durable = self.names.clone();
        self.dirs_durable = self.dirs.clone();
        let reachable: BTreeSet<u64> = self.names.values().copied().collect();
        self.inodes
            .retain(|inode_id, _| reachable.contains(inode_id));
        for inode in self.inodes.values_mut() {
            assert!(inode.pending.is_empty());
            inode.written.clone_from(&inode.durable);
        }
    }

    /// The fate of one file's unsynced writes at a crash.
    pub(super) fn resolve_pending(&mut self, inode_id: u64, path: &Path) {
        let pending = match self.inodes.get_mut(&inode_id) {
            Some(inode) if !inode.pending.is_empty() => std::mem::take(&mut inode.pending),
            _ => return,
        };
        if self.faults_enabled && self.rng.chance(self.faults.torn_write_probability) {
            // Writes before `torn_index` persist whole, that one in part, later ones not.
            let torn_index = self.rng.index(pending.len());
            self.counts.bump(FaultKind::TornWrite);
            for (index, write) in pending.into_iter().enumerate() {
                if index < torn_index {
                    self.persist(inode_id, path, write);
                } else if index == torn_index {
                    let torn = self.torn(write);
                    self.persist(inode_id, path, torn);
                }
            }
        } else if self.rng.chance(0.5) {
            self.counts.bump(FaultKind::DroppedWrite);
        } else {
            for write in pending {
                self.persist(inode_id, path, write);
            }
        }
    }

    /// Bit rot and truncation of a durable file, found at power-on.
    pub(super) fn at_rest_faults(&mut self, inode_id: u64, path: &Path) {
        if !self.faults_enabled || !self.faults.damage_files.contains(path) {
            return;
        }
        let durable_size = match self.inodes.get(&inode_id) {
            Some(inode) if !inode.durable.is_empty() => len_u64(&inode.durable),
            _ => return,
        };
        if self.rng.chance(self.faults.bit_flip_at_rest_probability) {
            let bit_index = self.rng.below(durable_size * 8);
            if let Some(inode) = self.inodes.get_mut(&inode_id)
                && let Some(byte) = inode.durable.get_mut(to_usize(bit_index / 8))
            {
                *byte ^= 1 << (bit_index % 8);
            }
            self.record_damage(FaultKind::BitFlip, inode_id, path, bit_index / 8, 1);
        }
        if self.rng.chance(self.faults.truncation_probability) {
            let size = self.rng.below(durable_size);
            if let Some(inode) = self.inodes.get_mut(&inode_id) {
                inode.durable.truncate(to_usize(size));
            }
            self.record_damage(
                FaultKind::Truncation,
                inode_id,
                path,
                size,
                durable_size - size,
            );
        }
    }
}
