//! Growth of a large hash or set (and a sorted set's member index) by linear hashing: one
//! part splits into itself and a new part while the parts average more than
//! `PART_ELEMENTS_TARGET` elements.

use super::{Header, PartKey, SplitCompose};
use crate::storage::item::{self, PART_NUMBER_SIZE};
use crate::store::compact::Out;
use crate::store::{LogSink, Store};
use crate::time::Timestamp;

impl Store<'_> {
    /// Grows a large hash or set a part at a time while it averages more than
    /// [`PART_ELEMENTS_TARGET`] elements a part, `compose` writing each half of a split.
    /// Best effort: if memory has no room for a split, the collection stays as it is
    /// (correct, only fuller), and a later write tries again.
    pub(in crate::store) fn large_grow(
        &mut self,
        db: u8,
        key: &[u8],
        compose: SplitCompose,
        now: Timestamp,
        log: &mut impl LogSink,
    ) {
        while self.large_split(db, key, compose, now, log) {}
    }

    /// Splits one part of the large collection at `key` if it is too full; whether it did.
    fn large_split(
        &mut self,
        db: u8,
        key: &[u8],
        compose: SplitCompose,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> bool {
        let Some(header) = self.find(db, key).and_then(|found| self.header_of(&found)) else {
            return false;
        };
        if !header.wants_split() || header.part_count == u32::MAX {
            return false;
        }
        let Some(mut part_key) = PartKey::new(key) else {
            return false;
        };
        let (source, target) = (header.split_source(), header.split_target());
        let grown = Header {
            part_count: header.part_count + 1,
            ..header
        };
        let part_size = |store: &Self, keep: u32| {
            let old = store.part_bytes(db, key, source);
            let mut sizing = Out {
                target: None,
                size: 0,
            };
            compose(old, grown, keep, &mut sizing);
            sizing.size
        };
        let part_key_size = key.len() + PART_NUMBER_SIZE;
        let sizes =
            [source, target].map(|keep| item::item_size(part_key_size, part_size(self, keep), 0));
        if self
            .header_room(db, key, sizes.into_iter(), 1, now, log)
            .is_err()
        {
            return false;
        }
        for keep in [target, source] {
            let size = part_size(self, keep);
            let Some(found) = self.find_part(db, part_key.of(source)) else {
                return false;
            };
            let from =
                found.location + found.layout.value.start..found.location + found.layout.value.end;
            let written = self.part_write(
                db,
                &mut part_key,
                keep,
                Some(from),
                size,
                log,
                |old, out| {
                    compose(old, grown, keep, out);
                },
            );
            if written.is_err() {
                return false;
            }
        }
        self.header_write(db, key, grown, None, now, log).is_ok()
    }
}
