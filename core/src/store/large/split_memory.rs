//! Segment memory around an item being written, read as the table saw it before: the
//! STORE forms read their sources (a large source's parts included) through it.

use super::PartSource;
use crate::hash::wyhash;
use crate::storage::item::{self, ItemKind, ItemLayout};
use crate::table::Table;

/// Segment memory split around an item being written (`before` it, and `after` it from
/// `after_start` on), with the table as it was before the write: finds live items by key
/// without the `&mut` the write holds. The STORE forms read their sources in the
/// destination's own shard so, a large source's parts included.
#[derive(Clone, Copy)]
pub(in crate::store) struct SplitMemory<'m, 't> {
    /// The shard's table.
    pub(in crate::store) table: &'m Table<'t>,
    /// The seed of the table's hash.
    pub(in crate::store) seed: u64,
    /// Memory before the new item.
    pub(in crate::store) before: &'m [u8],
    /// Memory after the new item.
    pub(in crate::store) after: &'m [u8],
    /// Where `after` starts in segment memory.
    pub(in crate::store) after_start: usize,
}

impl<'m> SplitMemory<'m, '_> {
    /// The item of `key` in `db` (a part's with `part`, a key's otherwise), expired or not:
    /// its layout and its bytes from its start.
    pub(in crate::store) fn find(
        &self,
        db: u8,
        key: &[u8],
        part: bool,
    ) -> Option<(ItemLayout, &'m [u8])> {
        let mut result = None;
        self.table.find(wyhash(key, self.seed), |location| {
            let bytes = if location < self.before.len() {
                self.before.get(location..)
            } else {
                location
                    .checked_sub(self.after_start)
                    .and_then(|offset| self.after.get(offset..))
            };
            let Some(bytes) = bytes else {
                return false;
            };
            let layout = item::layout(bytes);
            let matched = layout.db == db
                && (layout.kind == ItemKind::Part) == part
                && bytes.get(layout.key.clone()) == Some(key);
            if matched {
                result = Some((layout, bytes));
            }
            matched
        });
        result
    }
}

impl PartSource for SplitMemory<'_, '_> {
    fn part(&self, db: u8, key: &[u8]) -> Option<&[u8]> {
        let (layout, bytes) = self.find(db, key, true)?;
        bytes.get(layout.value)
    }
}
