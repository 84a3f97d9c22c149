//! The prefix index: the keys of one store in byte order, so that a prefix search (KEYS
//! `prefix*`, SCAN MATCH `prefix*` from cursor 0, Pizzaria's `reads prefix`, HTTP's
//! `/kv?prefix=`, `Db::scan_prefix`) seeks to its first match instead of walking the table.
//!
//! Design:
//!
//! - **What it holds.** One entry per key in the table (live, or expired and not yet
//!   removed): the database byte followed by the key's bytes, so entries sort by database,
//!   then by key bytes as unsigned bytes (binary keys welcome). A prefix query for `(db,
//!   prefix)` is one range: from `[db] ++ prefix` while entries start with it.
//! - **Where it lives.** In a `BTreeSet` on the heap, behind floe-core's `alloc` feature,
//!   one per [`Store`](super::Store), so the shard lock that guards a store guards its index.
//!   Not in the arena: an arena region must be sized at start for the worst case, which is
//!   `keys_max × (key_size_max + overhead)` (64 KiB keys allowed: terabytes for a million
//!   keys), and referring to the keys in segment memory instead would need a stable handle
//!   per item, which the store has not (cleaning moves items, removal shifts table slots).
//!   The heap index is exact in size instead: it grows with the keys actually stored.
//! - **How it stays exact.** The store reports to it at the only three places the table
//!   gains or loses a key: `Store::remove` (DEL, eviction, active and lazy expiry,
//!   FLUSHDB, the source of MOVE/RENAME, an expiry in the past), the insert of a new key
//!   (SET, MSET, COPY/RENAME/MOVE targets, replay), and the two wholesale changes
//!   (FLUSHALL clears it, SWAPDB relabels the two databases' entries). An overwrite, an
//!   expiry change and cleaning (which moves items) leave the key set unchanged and the
//!   index untouched. So expired keys are reported when the store removes them, lazily
//!   or actively; one that has expired but is not yet removed is still in the index, and
//!   a query filters it out by looking the key up in the table (each candidate is one
//!   hash lookup, which also gives the value).
//! - **Rebuilt, not logged.** The index is derived state: nothing about it is in the log
//!   or a snapshot. [`Store::set_prefix_index`](super::Store::set_prefix_index) builds it
//!   from the table in one sorted bulk load (after recovery, or when it is turned on) and
//!   drops it when turned off; on demand
//!   ([`Store::set_prefix_index_on_demand`](super::Store::set_prefix_index_on_demand)), the
//!   first query that could use it builds it.
//! - **Entries inline.** An entry of up to 22 bytes (a key of up to 21) is stored inside
//!   the B-tree's node (24 bytes a slot); a longer one is boxed. Short keys then cost no
//!   allocation of their own, and descending the tree compares bytes already in the node
//!   instead of chasing a pointer per comparison.
//! - **Cost.** A new key may allocate (a node split, a long key's box); an overwrite
//!   allocates nothing, so the steady-state no-allocation promise for SET and GET of
//!   existing keys holds with the index on, and entirely with it off. Memory is reported
//!   by [`PrefixIndex::size`]: see there for what is counted.
//!
//! - **Without `alloc`.** The index is a stub that is always off, and every query walks
//!   the table: a host with no heap loses nothing but the speed-up.
//!
//! Invariants (checked after every operation by `index/tests.rs` and by the store's model
//! check, `store/model.rs`, which the `store_ops` fuzz target also runs):
//! - with the index on, its entries are exactly the `(db, key)` pairs in the table;
//! - `entry_count` and `key_size_total` equal the count and summed sizes of the entries.

#[cfg(any(test, feature = "alloc"))]
use alloc::boxed::Box;
#[cfg(any(test, feature = "alloc"))]
use alloc::collections::BTreeSet;
#[cfg(any(test, feature = "alloc"))]
use alloc::vec::Vec;
#[cfg(any(test, feature = "alloc"))]
use core::ops::Bound;

/// Heap bytes the index counts per entry besides a long key's box: the entry's 24-byte
/// slot in a B-tree leaf of 11 slots (280 bytes, a 288-byte chunk) that random inserts
/// leave about two thirds full, plus the internal nodes above. Measured by
/// `benches/benches/prefix_index.rs` with a counting allocator at 1M keys of 16 bytes:
/// 47.3 bytes after shuffled inserts, 26.9 after a sorted bulk load (which fills the
/// leaves); the figure reported is the larger, an upper bound for a freshly rebuilt index.
pub const INDEX_ENTRY_OVERHEAD_SIZE: usize = 48;

/// Heap bytes a typical allocator (glibc's malloc) spends on a block of `size` bytes: an
/// 8-byte header, 16-byte granularity, 32 bytes at least.
#[must_use]
pub const fn allocation_size(size: usize) -> usize {
    let chunk = (size + 8).div_ceil(16) * 16;
    if chunk < 32 { 32 } else { chunk }
}

/// The keys of one store in byte order (see the module documentation); off until
/// [`PrefixIndex::enable`] and without the `alloc` feature.
#[derive(Debug, Default)]
pub struct PrefixIndex {
    #[cfg(any(test, feature = "alloc"))]
    entries: Option<BTreeSet<IndexKey>>,
    /// Entries held.
    entry_count: usize,
    /// Heap bytes of the entries' keys, each rounded by [`allocation_size`].
    key_size_total: usize,
}

impl PrefixIndex {
    /// Whether the index is on: queries may use it and changes must be reported.
    #[must_use]
    pub fn enabled(&self) -> bool {
        #[cfg(any(test, feature = "alloc"))]
        {
            self.entries.is_some()
        }
        #[cfg(not(any(test, feature = "alloc")))]
        {
            false
        }
    }

    /// Entries held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entry_count
    }

    /// Whether no entry is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entry_count == 0
    }

    /// Heap bytes the index holds, as a typical allocator counts them:
    /// [`INDEX_ENTRY_OVERHEAD_SIZE`] per entry for the tree's nodes, plus the block of
    /// every boxed (long) key ([`allocation_size`] of its bytes and the database byte).
    /// Zero when off.
    #[must_use]
    pub fn size(&self) -> usize {
        self.key_size_total + self.entry_count * INDEX_ENTRY_OVERHEAD_SIZE
    }

    /// Turns the index on, holding `(db, key)` for every pair `keys` yields (each once), or
    /// off (`keys` unused), freeing its memory.
    #[cfg(any(test, feature = "alloc"))]
    pub fn enable<'k>(&mut self, enabled: bool, keys: impl Iterator<Item = (u8, &'k [u8])>) {
        self.entries = None;
        self.entry_count = 0;
        self.key_size_total = 0;
        if !enabled {
            return;
        }
        let mut sorted: Vec<IndexKey> = keys.map(|(db, key)| IndexKey::new(db, key)).collect();
        // A sorted input makes the set's bulk load build full nodes in one pass.
        sorted.sort_unstable();
        self.entry_count = sorted.len();
        self.key_size_total = sorted.iter().map(IndexKey::heap_size).sum();
        let entries: BTreeSet<IndexKey> = sorted.into_iter().collect();
        assert!(entries.len() == self.entry_count, "duplicate keys given");
        self.entries = Some(entries);
    }

    /// Records that `key` of `db` entered the table. Does nothing when off.
    pub fn insert(&mut self, db: u8, key: &[u8]) {
        #[cfg(any(test, feature = "alloc"))]
        if let Some(entries) = &mut self.entries {
            let entry = IndexKey::new(db, key);
            let size = entry.heap_size();
            let inserted = entries.insert(entry);
            assert!(inserted, "key indexed twice (db={db})");
            self.entry_count += 1;
            self.key_size_total += size;
        }
        #[cfg(not(any(test, feature = "alloc")))]
        let _unused = (db, key);
    }

    /// Records that `key` of `db` left the table. Does nothing when off.
    pub fn remove(&mut self, db: u8, key: &[u8]) {
        #[cfg(any(test, feature = "alloc"))]
        if let Some(entries) = &mut self.entries {
            let removed = entries.take(Entry::new(db, key).as_slice());
            let Some(removed) = removed else {
                unreachable!("removed key was not indexed (db={db})");
            };
            self.entry_count -= 1;
            self.key_size_total -= removed.heap_size();
        }
        #[cfg(not(any(test, feature = "alloc")))]
        let _unused = (db, key);
    }

    /// Records that the table was emptied (FLUSHALL). Keeps the index on.
    pub fn clear(&mut self) {
        #[cfg(any(test, feature = "alloc"))]
        if let Some(entries) = &mut self.entries {
            entries.clear();
        }
        self.entry_count = 0;
        self.key_size_total = 0;
    }

    /// Records that databases `db_first` and `db_second` traded keys (SWAPDB): each entry of
    /// one is moved to the other. Costs the two databases' entries, not the whole index.
    pub fn swap_db(&mut self, db_first: u8, db_second: u8) {
        #[cfg(any(test, feature = "alloc"))]
        if let Some(entries) = &mut self.entries {
            assert!(db_first != db_second, "db={db_first}");
            let mut moved = take_db(entries, db_first);
            moved.append(&mut take_db(entries, db_second));
            let count_before = entries.len() + moved.len();
            for entry in moved {
                let bytes = entry.as_slice();
                let db = if bytes[0] == db_first {
                    db_second
                } else {
                    db_first
                };
                entries.insert(IndexKey::new(db, &bytes[1..]));
            }
            assert!(entries.len() == count_before, "swap lost entries");
        }
        #[cfg(not(any(test, feature = "alloc")))]
        let _unused = (db_first, db_second);
    }

    /// Calls `visit` with every indexed key of `db` starting with `prefix`, in byte order,
    /// until it returns `false`. Returns `false` (and calls nothing) when off.
    pub fn visit_prefix(
        &self,
        db: u8,
        prefix: &[u8],
        mut visit: impl FnMut(&[u8]) -> bool,
    ) -> bool {
        #[cfg(any(test, feature = "alloc"))]
        if let Some(entries) = &self.entries {
            let start = Entry::new(db, prefix);
            let start = start.as_slice();
            let range = (Bound::Included(start), Bound::Unbounded);
            for entry in entries.range::<[u8], _>(range) {
                let entry = entry.as_slice();
                if !entry.starts_with(start) || !visit(&entry[1..]) {
                    break;
                }
            }
            return true;
        }
        let _unused = (db, prefix, &mut visit);
        false
    }
}

/// Removes and returns every entry of database `db`. Splitting and appending cost
/// O(entries) in `std`'s B-tree, like SWAPDB's walk over the table.
#[cfg(any(test, feature = "alloc"))]
fn take_db(entries: &mut BTreeSet<IndexKey>, db: u8) -> BTreeSet<IndexKey> {
    let start: &[u8] = &[db];
    let mut taken = entries.split_off(start);
    if let Some(next) = db.checked_add(1) {
        let next: &[u8] = &[next];
        let mut after = taken.split_off(next);
        entries.append(&mut after);
    }
    taken
}

/// Bytes of an entry (the database byte and the key) kept inside the tree's node.
#[cfg(any(test, feature = "alloc"))]
const INLINE_SIZE_MAX: usize = 22;

/// One entry: the database byte, then the key. Entries up to [`INLINE_SIZE_MAX`] bytes
/// (keys up to 21 bytes, the common case) live inside the B-tree node: no allocation of
/// their own, and comparing them while descending the tree reads no other cache line.
/// Longer ones are boxed. Ordered, equal and borrowed as the byte string they hold.
#[cfg(any(test, feature = "alloc"))]
#[derive(Debug, Clone)]
enum IndexKey {
    Inline {
        size: u8,
        bytes: [u8; INLINE_SIZE_MAX],
    },
    Heap(Box<[u8]>),
}

#[cfg(any(test, feature = "alloc"))]
const _: () = assert!(core::mem::size_of::<IndexKey>() == 24);

#[cfg(any(test, feature = "alloc"))]
impl IndexKey {
    fn new(db: u8, key: &[u8]) -> Self {
        let size = key.len() + 1;
        if size <= INLINE_SIZE_MAX {
            let mut bytes = [0; INLINE_SIZE_MAX];
            bytes[0] = db;
            bytes[1..size].copy_from_slice(key);
            // NOTE: size <= INLINE_SIZE_MAX, below 256.
            #[expect(clippy::cast_possible_truncation, reason = "at most INLINE_SIZE_MAX")]
            let size = size as u8;
            Self::Inline { size, bytes }
        } else {
            Self::Heap(Entry::new(db, key).as_slice().into())
        }
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            Self::Inline { size, bytes } => &bytes[..usize::from(*size)],
            Self::Heap(bytes) => bytes,
        }
    }

    /// Heap bytes of its own, besides its place in the node.
    fn heap_size(&self) -> usize {
        match self {
            Self::Inline { .. } => 0,
            Self::Heap(bytes) => allocation_size(bytes.len()),
        }
    }
}

#[cfg(any(test, feature = "alloc"))]
impl PartialEq for IndexKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

#[cfg(any(test, feature = "alloc"))]
impl Eq for IndexKey {}

#[cfg(any(test, feature = "alloc"))]
impl PartialOrd for IndexKey {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(any(test, feature = "alloc"))]
impl Ord for IndexKey {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

#[cfg(any(test, feature = "alloc"))]
impl core::borrow::Borrow<[u8]> for IndexKey {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

/// A database byte and a key side by side without allocating for short keys: a lookup
/// key for the set.
#[cfg(any(test, feature = "alloc"))]
enum Entry {
    /// Keys up to 63 bytes: on the stack.
    Short([u8; 64], usize),
    /// Longer keys.
    Long(Vec<u8>),
}

#[cfg(any(test, feature = "alloc"))]
impl Entry {
    fn new(db: u8, key: &[u8]) -> Self {
        if key.len() < 64 {
            let mut bytes = [0; 64];
            bytes[0] = db;
            bytes[1..=key.len()].copy_from_slice(key);
            Self::Short(bytes, key.len() + 1)
        } else {
            let mut bytes = Vec::with_capacity(key.len() + 1);
            bytes.push(db);
            bytes.extend_from_slice(key);
            Self::Long(bytes)
        }
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            Self::Short(bytes, size) => &bytes[..*size],
            Self::Long(bytes) => bytes,
        }
    }
}

#[cfg(test)]
mod tests;
