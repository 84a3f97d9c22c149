//! Damage a scenario aims at chosen records of the durable log after a power loss: a
//! group's commit record flipped or cut off, a random record flipped, the newest segment
//! cut (`ScenarioConfig::aimed`), so that the rarest recovery decisions get their turn.
//!
//! Invariants: only durable images change, through the disk's own damage calls, so the
//! checker sees the damage as evidence like any injected fault.

use floe_core::codec::record::{Body, LogRecord};

use super::Runner;
use crate::log::segment_file_lsn;

impl Runner {
    /// Damage a scenario aims at chosen records after a power loss.
    pub(super) fn aim_damage(&mut self) {
        let aimed = self.config.aimed;
        let mut segments: Vec<(u64, String)> = self
            .disk
            .durable_names(&self.dir)
            .into_iter()
            .filter_map(|name| segment_file_lsn(&name).map(|lsn| (lsn, name)))
            .collect();
        segments.sort_unstable();
        let Some((_, newest)) = segments.last().cloned() else {
            return;
        };
        if self.rng.chance(aimed.commit_damage) {
            let path = self.dir.join(&newest);
            let records = self.durable_records(&path);
            let commits: Vec<(u64, u64)> = records
                .iter()
                .filter(|record| record.2)
                .map(|&(offset, size, _)| (offset, size))
                .collect();
            if !commits.is_empty() {
                let (offset, size) = commits[self.rng.index(commits.len())];
                if self.rng.chance(0.5) {
                    let bit = offset * 8 + self.rng.below(size * 8);
                    self.disk.flip_durable_bit(&path, bit);
                } else {
                    self.disk.truncate_durable(&path, offset);
                }
            }
        }
        if self.rng.chance(aimed.flip_record) {
            let name = segments[self.rng.index(segments.len())].1.clone();
            let path = self.dir.join(name);
            let records = self.durable_records(&path);
            if !records.is_empty() {
                let (offset, size, _) = records[self.rng.index(records.len())];
                let bit = offset * 8 + self.rng.below(size * 8);
                self.disk.flip_durable_bit(&path, bit);
            }
        }
        if self.rng.chance(aimed.truncate_tail) {
            let path = self.dir.join(&newest);
            let size = self
                .disk
                .durable_image(&path)
                .map_or(0, |image| image.len());
            if size > 0 {
                let cut = self.rng.below(u64::try_from(size).unwrap_or(0));
                self.disk.truncate_durable(&path, cut);
            }
        }
    }

    /// `(offset, size, is_commit)` of each intact record at the start of a durable segment.
    fn durable_records(&self, path: &std::path::Path) -> Vec<(u64, u64, bool)> {
        let image = self.disk.durable_image(path).unwrap_or_default();
        let mut records = Vec::new();
        let mut offset = 0usize;
        while let Some(bytes) = image.get(offset..) {
            let Ok((record, size)) = LogRecord::decode_bytes(bytes) else {
                break;
            };
            let is_commit = matches!(record.body, Body::Commit(_));
            records.push((
                u64::try_from(offset).unwrap_or(0),
                u64::from(size),
                is_commit,
            ));
            offset += usize::try_from(size).unwrap_or(usize::MAX);
        }
        records
    }
}
