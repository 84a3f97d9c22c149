//! The index: a fixed-capacity, linear-probing hash table of 8-byte slots.
//!
//! A slot refers to an item in segment memory; keys live there, not here. Each slot also
//! keeps 8 bits of the key's hash, so a miss rarely touches item memory, the slot's probe
//! distance from its home, so deletion can shift entries back without rehashing a key, and
//! 8 policy bits (a volatile flag and 7 bits for the eviction policy).
//!
//! ```text
//!  63      56 55      48 47      40 39                                       0
//! +----------+----------+----------+------------------------------------------+
//! |  policy  | distance |   tag    |          location + 1 (0 = empty)        |
//! +----------+----------+----------+------------------------------------------+
//! ```
//!
//! Invariants:
//! - The slot count is a power of two and the table holds at most `len_max` keys, which is
//!   below the slot count, so at least one slot is empty and every probe loop ends.
//! - Between an occupied slot's home (`hash & mask`) and its index, every slot is occupied
//!   (linear probing), and its stored distance is exactly that gap (at most
//!   [`PROBE_DISTANCE_MAX`]).
//! - Deletion shifts later entries of the cluster back (Knuth's algorithm R); an entry never
//!   moves before its home and insertion never moves an entry. [`Table::scan`] relies on both
//!   to return every key present for a whole scan at least once.

use crate::constants::{
    LOAD_DENOMINATOR, LOAD_NUMERATOR, PROBE_DISTANCE_MAX, SCAN_EMPTY_FACTOR, SLOT_COUNT_MAX,
};

/// Bit layout of a slot.
mod field {
    pub const LOCATION_MASK: u64 = (1 << crate::constants::LOCATION_BITS) - 1;
    pub const TAG_SHIFT: u32 = 40;
    pub const DISTANCE_SHIFT: u32 = 48;
    pub const POLICY_SHIFT: u32 = 56;
}

/// A location in segment memory: the byte offset of an item.
pub type Location = usize;

/// The table has no room for another key (or its probe sequence would be too long).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableFull;

/// A fixed-capacity linear-probing table over slots carved from the arena.
#[derive(Debug)]
pub struct Table<'a> {
    slots: &'a mut [u64],
    mask: usize,
    len: usize,
    len_max: usize,
}

impl<'a> Table<'a> {
    /// The number of slots a table needs to hold `keys_max` keys at the maximum load factor.
    #[must_use]
    pub fn slot_count_for(keys_max: usize) -> usize {
        let wanted = keys_max.saturating_mul(LOAD_DENOMINATOR) / LOAD_NUMERATOR + 1;
        wanted
            .max(2)
            .checked_next_power_of_two()
            .unwrap_or(SLOT_COUNT_MAX)
            .min(SLOT_COUNT_MAX)
    }

    /// A table over `slots` (all zero: empty) holding at most `len_max` keys.
    ///
    /// # Panics
    /// If the slot count is not a power of two, or `len_max` leaves no slot empty.
    pub fn new(slots: &'a mut [u64], len_max: usize) -> Self {
        assert!(slots.len().is_power_of_two(), "slot_count={}", slots.len());
        assert!(slots.len() <= SLOT_COUNT_MAX, "slot_count={}", slots.len());
        assert!(
            len_max < slots.len(),
            "len_max={} slot_count={}",
            len_max,
            slots.len()
        );
        slots.fill(0);
        let mask = slots.len() - 1;
        Self {
            slots,
            mask,
            len: 0,
            len_max,
        }
    }

    /// Keys in the table.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table holds no key.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The most keys the table accepts.
    #[must_use]
    pub fn len_max(&self) -> usize {
        self.len_max
    }

    /// Slots in the table (a power of two).
    #[must_use]
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// The slot index of the entry with `hash` for which `matches(location)` holds.
    ///
    /// `matches` is called only for slots whose tag equals the hash's tag.
    #[inline]
    pub fn find(&self, hash: u64, mut matches: impl FnMut(Location) -> bool) -> Option<usize> {
        let tag = tag_of(hash);
        let mut slot_index = self.home(hash);
        for _ in 0..=PROBE_DISTANCE_MAX {
            let slot = self.slots[slot_index];
            if slot == 0 {
                return None;
            }
            if slot_tag(slot) == tag && matches(slot_location(slot)) {
                return Some(slot_index);
            }
            slot_index = (slot_index + 1) & self.mask;
        }
        None // Entries never sit further than PROBE_DISTANCE_MAX from home.
    }

    /// Inserts an entry for a key the caller has checked is absent.
    ///
    /// # Errors
    /// [`TableFull`] when the table holds `len_max` keys or the probe would be too long.
    pub fn insert(
        &mut self,
        hash: u64,
        location: Location,
        policy: u8,
    ) -> Result<usize, TableFull> {
        assert!(
            (location as u64) < field::LOCATION_MASK,
            "location={location}"
        );
        if self.len >= self.len_max {
            return Err(TableFull);
        }
        let mut slot_index = self.home(hash);
        for distance in 0..=PROBE_DISTANCE_MAX {
            if self.slots[slot_index] == 0 {
                self.slots[slot_index] = slot_encode(location, tag_of(hash), distance, policy);
                self.len += 1;
                assert!(self.len <= self.len_max);
                return Ok(slot_index);
            }
            slot_index = (slot_index + 1) & self.mask;
        }
        Err(TableFull)
    }

    /// Removes the entry at `slot_index`, shifting later entries of its cluster back.
    pub fn remove(&mut self, slot_index: usize) {
        assert!(
            self.slots[slot_index] != 0,
            "remove of empty slot {slot_index}"
        );
        let mut hole = slot_index;
        let mut next = (hole + 1) & self.mask;
        // Bounded: the table always has an empty slot, and every step advances `next`.
        for _ in 0..self.slots.len() {
            let slot = self.slots[next];
            if slot == 0 {
                break;
            }
            let gap = next.wrapping_sub(hole) & self.mask;
            let distance = slot_distance(slot);
            if distance >= gap {
                // The entry's home is at or before the hole: move it back by `gap`.
                self.slots[hole] = slot_with_distance(slot, distance - gap);
                hole = next;
            }
            next = (next + 1) & self.mask;
        }
        self.slots[hole] = 0;
        self.len -= 1;
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.slots.fill(0);
        self.len = 0;
    }

    /// Whether the slot at `slot_index` holds an entry.
    #[must_use]
    #[inline]
    pub fn occupied(&self, slot_index: usize) -> bool {
        self.slots[slot_index] != 0
    }

    /// The location stored at an occupied slot.
    #[must_use]
    #[inline]
    pub fn location(&self, slot_index: usize) -> Location {
        let slot = self.slots[slot_index];
        assert!(slot != 0, "empty slot {slot_index}");
        slot_location(slot)
    }

    /// Points an occupied slot at a new location (after a rewrite or relocation).
    #[inline]
    pub fn set_location(&mut self, slot_index: usize, location: Location) {
        let slot = self.slots[slot_index];
        assert!(slot != 0, "empty slot {slot_index}");
        assert!(
            (location as u64) < field::LOCATION_MASK,
            "location={location}"
        );
        self.slots[slot_index] = (slot & !field::LOCATION_MASK) | (location as u64 + 1);
    }

    /// The policy bits of an occupied slot.
    #[must_use]
    #[inline]
    pub fn policy(&self, slot_index: usize) -> u8 {
        slot_policy(self.slots[slot_index])
    }

    /// Replaces the policy bits of an occupied slot.
    #[inline]
    pub fn set_policy(&mut self, slot_index: usize, policy: u8) {
        let slot = self.slots[slot_index];
        assert!(slot != 0, "empty slot {slot_index}");
        let cleared = slot & !(0xff << field::POLICY_SHIFT);
        self.slots[slot_index] = cleared | (u64::from(policy) << field::POLICY_SHIFT);
    }

    /// One step of a SCAN: visits the occupied slots from `cursor` on until it has visited
    /// `count` entries (or looked at `count * SCAN_EMPTY_FACTOR` slots, so a sparse table
    /// costs bounded work per step, as in Redis), then up to the next empty slot, and
    /// returns the next cursor (0: done).
    ///
    /// A key present for the whole scan is visited at least once, even when keys are
    /// inserted and removed between steps: a step ends where a slot is empty, so an entry
    /// beyond it has its home beyond it, and deletion never moves an entry before its home.
    /// Entries of a cluster that wraps past the last slot are visited by the first step.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(usize)) -> u64 {
        let slot_count = self.slots.len();
        let Ok(start) = usize::try_from(cursor) else {
            return 0;
        };
        if start >= slot_count {
            return 0;
        }
        let count = count.max(1);
        let slot_budget = count.saturating_mul(SCAN_EMPTY_FACTOR);
        let mut slot_index = start;
        let mut visited_count = 0usize;
        while slot_index < slot_count {
            let empty = self.slots[slot_index] == 0;
            let examined_count = slot_index - start;
            if empty && (visited_count >= count || examined_count >= slot_budget) {
                return slot_index as u64;
            }
            if !empty {
                visit(slot_index);
                visited_count += 1;
            }
            slot_index += 1;
        }
        0
    }

    #[inline]
    fn home(&self, hash: u64) -> usize {
        // NOTE: the mask keeps the value below the slot count, which fits in usize.
        #[expect(clippy::cast_possible_truncation, reason = "masked to the slot count")]
        let home = (hash as usize) & self.mask;
        home
    }
}

// NOTE: the casts below keep exactly the bits of a field, which the shifts and masks
// select; truncation is the point.
#[inline]
fn tag_of(hash: u64) -> u8 {
    (hash >> 56) as u8
}

#[inline]
fn slot_encode(location: Location, tag: u8, distance: usize, policy: u8) -> u64 {
    assert!(distance <= PROBE_DISTANCE_MAX, "distance={distance}");
    (location as u64 + 1)
        | (u64::from(tag) << field::TAG_SHIFT)
        | ((distance as u64) << field::DISTANCE_SHIFT)
        | (u64::from(policy) << field::POLICY_SHIFT)
}

#[inline]
#[expect(
    clippy::cast_possible_truncation,
    reason = "locations index segment memory, a usize"
)]
fn slot_location(slot: u64) -> Location {
    ((slot & field::LOCATION_MASK) - 1) as Location
}

#[inline]
#[expect(clippy::cast_possible_truncation, reason = "takes one 8-bit field")]
fn slot_tag(slot: u64) -> u8 {
    (slot >> field::TAG_SHIFT) as u8
}

#[inline]
#[expect(clippy::cast_possible_truncation, reason = "takes one 8-bit field")]
fn slot_distance(slot: u64) -> usize {
    usize::from((slot >> field::DISTANCE_SHIFT) as u8)
}

#[inline]
fn slot_policy(slot: u64) -> u8 {
    (slot >> field::POLICY_SHIFT) as u8
}

#[inline]
fn slot_with_distance(slot: u64, distance: usize) -> u64 {
    assert!(distance <= PROBE_DISTANCE_MAX, "distance={distance}");
    (slot & !(0xff << field::DISTANCE_SHIFT)) | ((distance as u64) << field::DISTANCE_SHIFT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    /// Keys are their own locations here; the hash is chosen by the test.
    fn find_key(table: &Table<'_>, hash: u64, key: usize) -> Option<usize> {
        table.find(hash, |location| location == key)
    }

    #[test]
    fn insert_find_remove() {
        let mut slots = vec![0u64; 16];
        let mut table = Table::new(&mut slots, 14);
        // Three keys with the same home form one cluster.
        for key in 0..3usize {
            table.insert(5, key, 0).expect("room");
        }
        assert_eq!(find_key(&table, 5, 2), Some(7));
        table.remove(5);
        assert_eq!(find_key(&table, 5, 0), None);
        assert_eq!(find_key(&table, 5, 1), Some(5));
        assert_eq!(find_key(&table, 5, 2), Some(6));
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn full_table_is_a_value() {
        let mut slots = vec![0u64; 8];
        let mut table = Table::new(&mut slots, 3);
        for key in 0..3 {
            table.insert(key as u64, key, 0).expect("room");
        }
        assert_eq!(table.insert(9, 9, 0), Err(TableFull));
        assert_eq!(table.len(), 3);
    }

    #[test]
    fn wrapping_cluster_is_found_and_shifted() {
        let mut slots = vec![0u64; 8];
        let mut table = Table::new(&mut slots, 7);
        for key in 0..3 {
            table.insert(7, key, 0).expect("room"); // slots 7, 0, 1
        }
        table.insert(0, 10, 0).expect("room"); // home 0, lands at 2
        table.remove(7);
        assert_eq!(find_key(&table, 7, 1), Some(7));
        assert_eq!(find_key(&table, 7, 2), Some(0));
        assert_eq!(find_key(&table, 0, 10), Some(1));
    }

    #[test]
    fn slot_count_for_keeps_load_below_seven_eighths() {
        assert_eq!(Table::slot_count_for(0), 2);
        assert_eq!(Table::slot_count_for(7), 16);
        assert_eq!(Table::slot_count_for(1_000_000), 1 << 21);
        for keys in [1usize, 6, 100, 917_503] {
            let slots = Table::slot_count_for(keys);
            assert!(keys * 8 <= slots * 7, "keys={keys} slots={slots}");
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8),
        Remove(u8),
        ScanStep,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => any::<u8>().prop_map(Op::Insert),
            2 => any::<u8>().prop_map(Op::Remove),
            1 => Just(Op::ScanStep),
        ]
    }

    /// Hashes crowd 64 slots into few homes so clusters are long and wrap.
    fn hash_of(key: u8) -> u64 {
        u64::from(key % 23)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(7)
            ^ u64::from(key)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// The table agrees with a model set, and a SCAN interleaved with inserts and
        /// removes returns every key present for its whole duration.
        #[test]
        fn model_and_scan_guarantee(
            initial in proptest::collection::vec(any::<u8>(), 0..60),
            ops in proptest::collection::vec(op(), 0..300),
            count in 1usize..6,
        ) {
            let mut slots = vec![0u64; 64];
            let mut table = Table::new(&mut slots, 56);
            let mut model = BTreeSet::new();
            let apply_insert = |table: &mut Table<'_>, model: &mut BTreeSet<u8>, key: u8| {
                if !model.contains(&key) && table.insert(hash_of(key), usize::from(key), 0).is_ok() {
                    model.insert(key);
                }
            };
            for key in initial {
                apply_insert(&mut table, &mut model, key);
            }
            // Keys present at the start; those removed at any time are dropped from it.
            let mut always: BTreeSet<u8> = model.clone();
            let mut seen: BTreeMap<u8, ()> = BTreeMap::new();
            let mut cursor = 0u64;
            let mut done = false;
            for op in ops {
                match op {
                    Op::Insert(key) => apply_insert(&mut table, &mut model, key),
                    Op::Remove(key) => {
                        if let Some(slot_index) = find_key(&table, hash_of(key), usize::from(key)) {
                            table.remove(slot_index);
                            model.remove(&key);
                            always.remove(&key);
                        }
                    }
                    Op::ScanStep if !done => {
                        cursor = table.scan(cursor, count, |slot_index| {
                            let key = u8::try_from(table.location(slot_index)).expect("u8 key");
                            seen.insert(key, ());
                        });
                        done = cursor == 0;
                    }
                    Op::ScanStep => {}
                }
                prop_assert_eq!(table.len(), model.len());
            }
            while !done {
                cursor = table.scan(cursor, count, |slot_index| {
                    let key = u8::try_from(table.location(slot_index)).expect("u8 key");
                    seen.insert(key, ());
                });
                done = cursor == 0;
            }
            for key in &always {
                prop_assert!(seen.contains_key(key), "key {} missed by scan", key);
            }
            for key in 0..=255u8 {
                let found = find_key(&table, hash_of(key), usize::from(key)).is_some();
                prop_assert_eq!(found, model.contains(&key), "key {}", key);
            }
        }
    }
}
