//! The index: a fixed-capacity Robin Hood hash table of 8-byte slots, probed linearly.
//!
//! A slot refers to an item in segment memory; keys live there, not here. It also keeps 8
//! policy bits (a volatile flag and 7 bits for the eviction policy).
//!
//! ```text
//!  63      56 55                      40 39                                       0
//! +----------+--------------------------+------------------------------------------+
//! |  policy  |           zero           |          location + 1 (0 = empty)        |
//! +----------+--------------------------+------------------------------------------+
//! ```
//!
//! Beside each slot, a 2-byte tag holds 8 bits of the key's hash and the entry's probe
//! distance from its home (0: empty), much as SwissTable's control bytes do. A probe reads
//! only this small array (2 bytes per key, which stays in cache): it stops at the first
//! entry closer to its home than the probe is (Robin Hood order), and reads an 8-byte slot
//! only where the hash bits match, so a miss rarely leaves the cache. Entries move (on
//! insert and delete) by their distance alone, without rehashing a key.
//!
//! Layout: `home_count` home slots, followed by [`PROBE_DISTANCE_MAX`] overflow slots, and no
//! wrap-around. A key's home is `hash * home_count >> 64` (Lemire's fast range reduction,
//! a multiply instead of a modulo), so `home_count` need not be a power of two and the table
//! is sized to `keys_max` at the load factor, not to the next power of two: 1M keys take
//! 1.14M slots (11.4 bytes per key: an 8-byte slot and a 2-byte tag each), not 2M.
//!
//! Invariants:
//! - Between an occupied slot's home and its index every slot is occupied, and its stored
//!   distance is exactly that gap, at most [`PROBE_DISTANCE_MAX`].
//! - Robin Hood order: along a cluster, distances grow by at most one per slot, so a probe
//!   stops as soon as it meets an entry closer to its home than the probe is (a miss costs
//!   about as much as a hit), and no entry is far from home at high load.
//! - Insertion moves entries only forward; deletion shifts the rest of the cluster back by
//!   one, never before an entry's home. With no wrap-around, [`Table::scan`] relies on these
//!   to return every key present for a whole scan at least once.

use crate::constants::{
    LOAD_DENOMINATOR, LOAD_NUMERATOR, PROBE_DISTANCE_MAX, SCAN_EMPTY_FACTOR, SCAN_SLOT_BUDGET_MAX,
    SLOT_COUNT_MAX,
};

/// Bit layout of a slot.
mod field {
    pub const LOCATION_MASK: u64 = (1 << crate::constants::LOCATION_BITS) - 1;
    pub const POLICY_SHIFT: u32 = 56;
}

/// Overflow slots after the last home slot: room for the longest probe from the last home.
const OVERFLOW_SLOT_COUNT: usize = PROBE_DISTANCE_MAX;

/// A location in segment memory: the byte offset of an item.
pub type Location = usize;

/// The table has no room for another key (or its probe sequence would be too long).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableFull;

/// A fixed-capacity Robin Hood table over slots carved from the arena.
#[derive(Debug)]
pub struct Table<'a> {
    slots: &'a mut [u64],
    /// `tags[i]` is the hash bits and distance of `slots[i]`, or 0 when it is empty.
    tags: &'a mut [u16],
    home_count: usize,
    len: usize,
    len_max: usize,
}

impl<'a> Table<'a> {
    /// The number of slots (home slots plus overflow) a table needs to hold `keys_max` keys
    /// at the maximum load factor.
    #[must_use]
    pub fn slot_count_for(keys_max: usize) -> usize {
        let home_count = keys_max.saturating_mul(LOAD_DENOMINATOR) / LOAD_NUMERATOR + 1;
        home_count.clamp(2, SLOT_COUNT_MAX) + OVERFLOW_SLOT_COUNT
    }

    /// A table over `slots` and their `tags` (made empty) holding at most `len_max` keys.
    ///
    /// # Panics
    /// If there are no home slots beyond the overflow, more than [`SLOT_COUNT_MAX`], the
    /// tags are not one per slot, or `len_max` exceeds the load factor.
    pub fn new(slots: &'a mut [u64], tags: &'a mut [u16], len_max: usize) -> Self {
        assert!(
            tags.len() == slots.len(),
            "tags={} slots={}",
            tags.len(),
            slots.len()
        );
        assert!(
            slots.len() > OVERFLOW_SLOT_COUNT + 1,
            "slot_count={}",
            slots.len()
        );
        let home_count = slots.len() - OVERFLOW_SLOT_COUNT;
        assert!(home_count <= SLOT_COUNT_MAX, "home_count={home_count}");
        let load_max = home_count / LOAD_DENOMINATOR * LOAD_NUMERATOR
            + home_count % LOAD_DENOMINATOR * LOAD_NUMERATOR / LOAD_DENOMINATOR;
        assert!(
            len_max <= load_max.max(1),
            "len_max={len_max} home_count={home_count}"
        );
        slots.fill(0);
        tags.fill(0);
        Self {
            slots,
            tags,
            home_count,
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

    /// Slots in the table, overflow included: slot indexes are below this.
    #[must_use]
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// The slot index of the entry with `hash` for which `matches(location)` holds.
    ///
    /// `matches` is called only for slots whose hash bits equal the hash's.
    #[inline]
    pub fn find(&self, hash: u64, mut matches: impl FnMut(Location) -> bool) -> Option<usize> {
        self.probe(hash)
            .find(|&(_, location)| matches(location))
            .map(|(slot_index, _)| slot_index)
    }

    /// The slots where an entry with `hash` may be, nearest first: each one's index and
    /// location, for the slots whose hash bits equal the hash's.
    #[inline]
    #[must_use]
    pub fn probe(&self, hash: u64) -> Probe<'_, 'a> {
        Probe {
            table: self,
            bits: hash_bits(hash),
            home: self.home(hash),
            distance: 0,
        }
    }

    /// Inserts an entry for a key the caller has checked is absent, and returns its slot.
    ///
    /// # Errors
    /// [`TableFull`] when the table holds `len_max` keys or a probe would be too long; the
    /// table is unchanged then.
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
        let home = self.home(hash);
        // The new entry goes to the first slot that is empty or holds an entry closer to
        // its home; the entries from there to the next empty slot shift forward by one.
        let mut target = home;
        while target < self.tags.len() {
            let tag = self.tags[target];
            if tag == 0 || tag_distance(tag) < target - home {
                break;
            }
            target += 1;
        }
        let mut empty = target;
        while empty < self.tags.len() && self.tags[empty] != 0 {
            empty += 1;
        }
        if empty >= self.tags.len() || target - home > PROBE_DISTANCE_MAX {
            return Err(TableFull);
        }
        let shifted = &self.tags[target..empty];
        if shifted
            .iter()
            .any(|&tag| tag_distance(tag) >= PROBE_DISTANCE_MAX)
        {
            return Err(TableFull);
        }
        for index in (target..empty).rev() {
            self.slots[index + 1] = self.slots[index];
            let tag = self.tags[index];
            self.tags[index + 1] = tag_encode(tag_bits(tag), tag_distance(tag) + 1);
        }
        self.slots[target] = slot_encode(location, policy);
        self.tags[target] = tag_encode(hash_bits(hash), target - home);
        self.len += 1;
        assert!(self.len <= self.len_max);
        Ok(target)
    }

    /// Removes the entry at `slot_index`, shifting the rest of its cluster back by one.
    pub fn remove(&mut self, slot_index: usize) {
        assert!(
            self.tags[slot_index] != 0,
            "remove of empty slot {slot_index}"
        );
        let mut hole = slot_index;
        while let Some(&next) = self.tags.get(hole + 1) {
            if next == 0 || tag_distance(next) == 0 {
                break;
            }
            self.slots[hole] = self.slots[hole + 1];
            self.tags[hole] = tag_encode(tag_bits(next), tag_distance(next) - 1);
            hole += 1;
        }
        self.slots[hole] = 0;
        self.tags[hole] = 0;
        self.len -= 1;
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.slots.fill(0);
        self.tags.fill(0);
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
    /// `count` entries (or looked at `count * SCAN_EMPTY_FACTOR` slots per entry the table's
    /// density predicts there, at most [`SCAN_SLOT_BUDGET_MAX`]: a sparse table costs
    /// bounded work per step, as Redis's `maxiterations` bounds it, yet a step still returns
    /// about `count` keys although this table is sized for `keys_max`, not for the keys it
    /// holds, as Redis's is), then up to the next empty slot, and returns the next cursor
    /// (0: done).
    ///
    /// A key present for the whole scan is visited at least once, even when keys are
    /// inserted and removed between steps: a step ends where a slot is empty, so an entry
    /// beyond it has its home beyond it; deletion never moves an entry before its home, and
    /// insertion only moves entries forward (a visited entry may be visited again).
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(usize)) -> u64 {
        let slot_count = self.slots.len();
        let Ok(start) = usize::try_from(cursor) else {
            return 0;
        };
        if start >= slot_count {
            return 0;
        }
        let count = count.max(1);
        let slots_per_entry = slot_count / self.len().max(1);
        let slot_budget = count
            .saturating_mul(SCAN_EMPTY_FACTOR)
            .saturating_mul(slots_per_entry.max(1))
            .min(SCAN_SLOT_BUDGET_MAX.max(count.saturating_mul(SCAN_EMPTY_FACTOR)));
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

    /// The home slot of `hash`: `hash * home_count / 2^64`.
    #[inline]
    fn home(&self, hash: u64) -> usize {
        let home = (u128::from(hash) * self.home_count as u128) >> 64;
        // NOTE: below home_count, a usize.
        #[expect(clippy::cast_possible_truncation, reason = "below home_count")]
        let home = home as usize;
        home
    }
}

/// The candidate slots of one hash ([`Table::probe`]).
#[derive(Debug)]
pub struct Probe<'t, 'a> {
    table: &'t Table<'a>,
    bits: u8,
    home: usize,
    distance: usize,
}

impl Iterator for Probe<'_, '_> {
    type Item = (usize, Location);

    #[inline]
    fn next(&mut self) -> Option<(usize, Location)> {
        while self.distance <= PROBE_DISTANCE_MAX {
            let slot_index = self.home + self.distance;
            let tag = *self.table.tags.get(slot_index)?;
            // An empty slot, or an entry closer to its home than we are to ours, ends the
            // part of the cluster where the key could be.
            if tag == 0 || tag_distance(tag) < self.distance {
                self.distance = PROBE_DISTANCE_MAX + 1;
                return None;
            }
            self.distance += 1;
            if tag_bits(tag) == self.bits {
                return Some((slot_index, slot_location(self.table.slots[slot_index])));
            }
        }
        None
    }
}

/// The 8 hash bits a tag keeps: the low ones, since the home comes from the high ones and
/// neighbours share those.
#[inline]
#[expect(clippy::cast_possible_truncation, reason = "takes the low 8 bits")]
fn hash_bits(hash: u64) -> u8 {
    hash as u8
}

/// A tag: hash bits in the low byte, distance + 1 in the high byte (so 0 means empty).
#[inline]
#[expect(
    clippy::cast_possible_truncation,
    reason = "distance + 1 <= 255, asserted"
)]
fn tag_encode(bits: u8, distance: usize) -> u16 {
    assert!(distance <= PROBE_DISTANCE_MAX, "distance={distance}");
    u16::from(bits) | (u16::from((distance + 1) as u8) << 8)
}

#[inline]
#[expect(clippy::cast_possible_truncation, reason = "takes the low byte")]
fn tag_bits(tag: u16) -> u8 {
    tag as u8
}

#[inline]
fn tag_distance(tag: u16) -> usize {
    usize::from(tag >> 8) - 1
}

#[inline]
fn slot_encode(location: Location, policy: u8) -> u64 {
    (location as u64 + 1) | (u64::from(policy) << field::POLICY_SHIFT)
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
fn slot_policy(slot: u64) -> u8 {
    (slot >> field::POLICY_SHIFT) as u8
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

    /// A hash whose home is `home`.
    fn hash_for_home(table: &Table<'_>, home: usize) -> u64 {
        let hash = ((home as u128) << 64).div_ceil(table.home_count as u128);
        let hash = u64::try_from(hash).expect("home below home_count");
        assert_eq!(table.home(hash), home);
        hash
    }

    fn table_for(keys_max: usize) -> Table<'static> {
        let slots = Vec::leak(vec![0u64; Table::slot_count_for(keys_max)]);
        let tags = Vec::leak(vec![0u16; Table::slot_count_for(keys_max)]);
        Table::new(slots, tags, keys_max)
    }

    #[test]
    fn insert_find_remove() {
        let mut table = table_for(14);
        let hash = hash_for_home(&table, 5);
        for key in 0..3usize {
            assert_eq!(table.insert(hash, key, 0), Ok(5 + key));
        }
        assert_eq!(find_key(&table, hash, 2), Some(7));
        table.remove(5);
        assert_eq!(find_key(&table, hash, 0), None);
        assert_eq!(find_key(&table, hash, 1), Some(5));
        assert_eq!(find_key(&table, hash, 2), Some(6));
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn robin_hood_places_the_poorer_entry_first() {
        let mut table = table_for(14);
        let (five, six) = (hash_for_home(&table, 5), hash_for_home(&table, 6));
        table.insert(six, 60, 0).expect("room"); // slot 6, distance 0
        table.insert(five, 50, 0).expect("room"); // slot 5
        table.insert(five, 51, 0).expect("room"); // slot 6 (distance 1 beats 0): 60 moves on
        assert_eq!(find_key(&table, five, 51), Some(6));
        assert_eq!(find_key(&table, six, 60), Some(7));
        assert_eq!(find_key(&table, six, 61), None, "a miss stops early");
        table.remove(5);
        assert_eq!(find_key(&table, five, 51), Some(5));
        assert_eq!(
            find_key(&table, six, 60),
            Some(6),
            "shifted back to its home"
        );
    }

    #[test]
    fn full_table_is_a_value() {
        let mut table = table_for(3);
        for key in 0..3 {
            table.insert(key as u64, key, 0).expect("room");
        }
        assert_eq!(table.insert(9, 9, 0), Err(TableFull));
        assert_eq!(table.len(), 3);
    }

    #[test]
    fn the_last_home_spills_into_overflow_slots() {
        let mut table = table_for(100);
        let last = hash_for_home(&table, table.home_count - 1);
        for key in 0..50 {
            table.insert(last, key, 0).expect("room");
        }
        assert_eq!(find_key(&table, last, 49), Some(table.home_count - 1 + 49));
        let mut seen = 0;
        assert_eq!(table.scan(0, usize::MAX, |_| seen += 1), 0);
        assert_eq!(seen, 50);
    }

    #[test]
    fn slot_count_for_keeps_load_below_seven_eighths() {
        assert_eq!(Table::slot_count_for(0), 2 + OVERFLOW_SLOT_COUNT);
        assert_eq!(
            Table::slot_count_for(1_000_000),
            1_142_858 + OVERFLOW_SLOT_COUNT
        );
        for keys in [1usize, 6, 7, 100, 917_503] {
            let homes = Table::slot_count_for(keys) - OVERFLOW_SLOT_COUNT;
            assert!(keys * 8 <= homes * 7, "keys={keys} homes={homes}");
        }
    }

    /// At the maximum load a table takes exactly `len_max` random keys: probes stay far
    /// below `PROBE_DISTANCE_MAX` (plain linear probing ran past it at loads near 0.8).
    #[test]
    fn fills_to_the_maximum_load() {
        let keys_max = 200_000;
        let mut table = table_for(keys_max);
        let mut hash = 0x1234_5678_9abc_def0u64;
        for key in 0..keys_max {
            hash = crate::hash::wyhash(&hash.to_le_bytes(), 7);
            table
                .insert(hash, key, 0)
                .expect("no key refused below len_max");
        }
        let distance_max = table
            .tags
            .iter()
            .filter(|&&tag| tag != 0)
            .map(|&tag| tag_distance(tag))
            .max();
        assert!(
            distance_max < Some(PROBE_DISTANCE_MAX / 2),
            "{distance_max:?}"
        );
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

    /// Hashes crowd a small table into few homes so clusters are long, and some homes sit
    /// at the end so clusters spill into the overflow slots.
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
            let mut table = table_for(56);
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
            // Robin Hood order holds everywhere: distances grow by at most one per slot.
            for pair in table.tags.windows(2) {
                if pair[1] != 0 {
                    let before = if pair[0] == 0 { 0 } else { tag_distance(pair[0]) + 1 };
                    prop_assert!(tag_distance(pair[1]) <= before);
                }
            }
        }
    }
}
