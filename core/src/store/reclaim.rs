//! Making room: cleaning segments with holes and evicting a segment at a time, or, when
//! only the key table is full, just the keys it lacks from the oldest segment.
//!
//! A write first asks [`Store::ensure_room`] for room for all of its items (and keys); only
//! then does it change anything, so a write that cannot fit fails whole. Room comes from,
//! in order: the head's tail, free segments beyond the reserve, cleaning the segment with
//! the most dead bytes (copy its live items to the head, free it), and, unless the policy
//! is `noeviction` or the store is replaying its log ([`Store::apply`]), evicting a victim
//! segment chosen by the policy.
//!
//! Every loop is bounded: each step frees a segment, frees at least one key (a partial
//! eviction, see `evict_step`) or fails; a sweep that keeps every item takes one off each
//! item's chances, and after `2 * segment_count` steps sweeps stop granting second chances
//! at all. Every evicted key is logged as a delete and remembered by the ghost filter.

use super::event::Event;
use super::large::PartKey;
use super::{Found, Store, expired};
use crate::codec::record::Record;
use crate::constants::SEGMENT_RESERVE_COUNT;
use crate::error::StoreError;
use crate::storage::ghost::Ghost;
use crate::storage::item::{self, ItemKind};
use crate::storage::policy::{EvictionPolicy, POLICY_MASK, VOLATILE};
use crate::storage::segment::{SegmentIndex, Segments};
use crate::table::Location;
use crate::time::Timestamp;

impl Store<'_> {
    /// Makes room to append items of `sizes` (in order) and to add `new_key_count` keys.
    pub(super) fn ensure_room(
        &mut self,
        sizes: impl Iterator<Item = usize> + Clone,
        new_key_count: usize,
        now: Timestamp,
        log: &mut impl super::LogSink,
    ) -> Result<(), StoreError> {
        let segment_count = self.segments.count();
        let slack_size = self.replay_slack_size(sizes.clone().max().unwrap_or(0));
        let usable_size =
            (segment_count - SEGMENT_RESERVE_COUNT - 1) * self.segments.segment_size();
        if sizes.clone().sum::<usize>() + slack_size > usable_size {
            return Err(StoreError::OutOfMemory);
        }
        if new_key_count > self.table.len_max() {
            return Err(StoreError::KeysFull);
        }
        let step_count_max = 4 * segment_count + 16;
        for step in 0..step_count_max {
            let keys_fit = self.table.len() + new_key_count <= self.table.len_max();
            let bytes_fit = self.fits(sizes.clone(), slack_size);
            if keys_fit && bytes_fit {
                if self.clean_before_growing(sizes.clone(), now) {
                    continue;
                }
                return Ok(());
            }
            let force = step >= 2 * segment_count;
            if !bytes_fit && self.clean_step(now) {
                continue;
            }
            if self.config.policy == EvictionPolicy::NoEviction || self.replaying {
                return Err(if bytes_fit {
                    StoreError::KeysFull
                } else {
                    StoreError::OutOfMemory
                });
            }
            // When only the key table is short, evict just the keys it lacks.
            let keys_short = if bytes_fit {
                (self.table.len() + new_key_count).saturating_sub(self.table.len_max())
            } else {
                0
            };
            if !self.evict_step(force, keys_short, now, log) {
                return Err(StoreError::OutOfMemory);
            }
        }
        Err(StoreError::OutOfMemory)
    }

    /// Bytes a live store keeps unused so that replaying its log always fits.
    ///
    /// Replay holds the same items as the live store but packs them differently (see
    /// [`Store::apply`]): where an item does not fit a head's tail, the tail is wasted, and
    /// which items meet which tails depends on the order they were written in. Cleaning
    /// lets replay pack everything back to back, so its only extra cost is that tail waste:
    /// less than one item per segment. The live store leaves that much free (at most one
    /// segment, so stores of large items keep most of their memory; they might then not
    /// replay, and recovery says so and names the setting); replay itself keeps none.
    fn replay_slack_size(&self, item_size_next: usize) -> usize {
        if self.replaying {
            return 0;
        }
        let item_size_max = self.item_size_max_seen.max(item_size_next);
        let tail_count = self.segments.count() - SEGMENT_RESERVE_COUNT - 1;
        (tail_count * item_size_max).min(self.segments.segment_size())
    }

    /// Whether items of `sizes` can be appended now without reclaiming anything, leaving
    /// `slack_size` bytes free.
    fn fits(&self, sizes: impl Iterator<Item = usize>, slack_size: usize) -> bool {
        let segment_size = self.segments.segment_size();
        let mut remaining = self.segments.head_remaining();
        let mut spare_count = self
            .segments
            .free_count()
            .saturating_sub(SEGMENT_RESERVE_COUNT);
        for size in sizes {
            if size <= remaining {
                remaining -= size;
            } else if spare_count > 0 {
                spare_count -= 1;
                remaining = segment_size - size;
            } else {
                return false;
            }
        }
        remaining + spare_count * segment_size >= slack_size
    }

    /// Cleans the segment with the most dead bytes if that gains room; whether it did.
    ///
    /// Cleaning is worth it when the victim's live items fit in the head's tail (a whole
    /// segment is gained), or when its dead bytes exceed that tail (which a head switch
    /// may waste). Under eviction policies a segment must also be at least a quarter dead,
    /// so a store full of live data evicts rather than copying much to gain little.
    fn clean_step(&mut self, now: Timestamp) -> bool {
        let remaining = self.segments.head_remaining();
        let Some(victim) = self.dirtiest() else {
            return false;
        };
        let dead_size = self.segments.dead_size(victim);
        // Replay may not evict, so any dead bytes are worth copying for: the head gains
        // them (less at most one item's tail where the head switches), and the bounded
        // loop of `ensure_room` stops a run of cleanings that gains nothing.
        let gains = dead_size > 0
            && (self.replaying
                || self.segments.live_size(victim) <= remaining
                || dead_size > remaining);
        let worth = self.config.policy == EvictionPolicy::NoEviction
            || self.replaying
            || dead_size * 4 >= self.segments.segment_size();
        if !(gains && worth) {
            return false;
        }
        self.sweep(victim, Sweep::Clean, now, &mut ());
        self.stats.segments_cleaned += 1;
        true
    }

    /// Cleans the segment with the most holes into the head while the next head would be
    /// a segment never used before; whether it did.
    ///
    /// Without this, memory is reclaimed only when it runs short, so a store far below
    /// `maxmemory` keeps every rewritten item as a hole and the process's resident memory
    /// grows with all it ever wrote (a large collection rewrites a part per element). The
    /// victim must be at least `clean_dead_percent` holes, so each cleaning copies at most
    /// `100 - percent` of a segment to gain at least `percent` of one, and its live items
    /// must fit in the head beside the write: a cleaning that opened a fresh head for its
    /// copies would grow the store as much as it saves. The head gets room for a victim
    /// while it is still empty enough, so the look (a walk over the segments' counters)
    /// happens when the head has filled by another sixteenth, not at every write.
    fn clean_before_growing(&mut self, sizes: impl Iterator<Item = usize>, now: Timestamp) -> bool {
        let percent = usize::from(self.config.clean_dead_percent);
        if percent == 0 || !self.segments.next_head_is_fresh() {
            return false;
        }
        let head = self.segments.head();
        let remaining = self.segments.head_remaining();
        let (check_head, check_at) = self.clean_check;
        if check_head == head && remaining > check_at {
            return false;
        }
        let segment_size = self.segments.segment_size();
        self.clean_check = (head, remaining.saturating_sub(segment_size / 16));
        let Some(victim) = self.dirtiest() else {
            return false;
        };
        let room = remaining.saturating_sub(sizes.sum());
        if self.segments.dead_size(victim) * 100 < percent * segment_size
            || self.segments.live_size(victim) > room
        {
            return false;
        }
        self.sweep(victim, Sweep::Clean, now, &mut ());
        self.stats.segments_cleaned += 1;
        true
    }

    /// The retired segment with the most dead bytes, other than one a partial eviction is
    /// emptying: cleaning that one would copy its oldest, not yet examined items to the
    /// head behind the survivors already moved there, so eviction would meet those
    /// survivors again first (see `evict_step`). Replay never leaves it out: it must clean
    /// whatever it can.
    fn dirtiest(&self) -> Option<SegmentIndex> {
        let head = self.segments.head();
        let evicting = if self.replaying {
            None
        } else {
            self.cursor_victim()
        };
        (0..self.segments.count())
            .filter(|&segment| {
                segment != head && self.segments.in_use(segment) && Some(segment) != evicting
            })
            .max_by_key(|&segment| self.segments.dead_size(segment))
    }

    /// Evicts from a victim segment chosen by the policy; `false` if there is none.
    ///
    /// Normally the whole victim is swept and freed. When only the key table is short
    /// (`keys_short` > 0, memory fits) and the policy evicts the oldest segment first, the
    /// sweep stops as soon as that many keys are gone and resumes there next time
    /// (`evict_cursor`): the store then stays full of keys instead of losing a segment's
    /// worth at once. Such a partial step still frees at least one key or the victim,
    /// and it never relocates a survivor into the reserve segment: where it would have to,
    /// the rest of the victim is swept whole, as before.
    fn evict_step(
        &mut self,
        force: bool,
        keys_short: usize,
        now: Timestamp,
        log: &mut impl super::LogSink,
    ) -> bool {
        let partial = !force && keys_short > 0 && self.config.policy.evicts_oldest_first();
        if partial && self.evict_probation(keys_short, now, log) {
            return true;
        }
        let resumed = if partial { self.cursor_victim() } else { None };
        let Some((victim, ttl_cutoff)) = resumed
            .map(|v| (v, Timestamp::MAX))
            .or_else(|| self.victim())
        else {
            return false;
        };
        if partial {
            let from = match resumed {
                Some(_) => self.evict_cursor.2,
                None => self.segments.start(victim),
            };
            match self.sweep_from(
                victim,
                from,
                Sweep::Evict { ttl_cutoff },
                keys_short,
                now,
                log,
            ) {
                Walk::Stopped(next) => {
                    self.evict_cursor = (victim, self.segments.seq(victim), next);
                    return true;
                }
                Walk::Emptied => {
                    self.stats.segments_evicted += 1;
                    return true;
                }
                Walk::NoRoom => {}
            }
        }
        let sweep = if force {
            Sweep::EvictAll
        } else {
            Sweep::Evict { ttl_cutoff }
        };
        self.sweep(victim, sweep, now, log);
        self.stats.segments_evicted += 1;
        true
    }

    /// The segment a partial eviction stopped in, while it is still the same opening of
    /// that segment, still has live items, and the policy still evicts oldest first.
    fn cursor_victim(&self) -> Option<SegmentIndex> {
        let (segment, seq, _) = self.evict_cursor;
        (self.config.policy.evicts_oldest_first()
            && segment < self.segments.count()
            && segment != self.segments.head()
            && self.segments.in_use(segment)
            && self.segments.seq(segment) == seq
            && self.segments.live_size(segment) > 0)
            .then_some(segment)
    }

    /// The segment the policy evicts from next and, for `volatile-ttl`, the expiry up to
    /// which its keys are evicted: the soonest expiry in any other segment, so that keys
    /// expiring later than something elsewhere survive.
    ///
    /// When every evictable item is in the head, the head is retired first so it can be
    /// swept (a store of few small items fills its table before its memory).
    fn victim(&mut self) -> Option<(SegmentIndex, Timestamp)> {
        let policy = self.config.policy;
        if policy == EvictionPolicy::NoEviction {
            return None;
        }
        let segment_count = self.segments.count();
        let random_start = self.random_below(segment_count);
        let evictable = |segments: &Segments<'_>, segment: SegmentIndex| {
            segments.in_use(segment)
                && segments.live_size(segment) > 0
                && (!policy.volatile_only() || segments.volatile_count(segment) > 0)
        };
        let head = self.segments.head();
        let others = (0..segment_count).any(|s| s != head && evictable(&self.segments, s));
        if !others {
            let head_evictable = evictable(&self.segments, head);
            let spare = self.segments.free_count() > SEGMENT_RESERVE_COUNT;
            if !(head_evictable && spare && self.segments.open_head()) {
                return None;
            }
        }
        let head = self.segments.head();
        let segments = &self.segments;
        let candidates =
            (0..segment_count).filter(|&segment| segment != head && evictable(segments, segment));
        let victim = match policy {
            EvictionPolicy::AllKeysRandom | EvictionPolicy::VolatileRandom => {
                let mut first = None;
                let mut chosen = None;
                for segment in candidates {
                    first = first.or(Some(segment));
                    if segment >= random_start {
                        chosen = Some(segment);
                        break;
                    }
                }
                chosen.or(first)
            }
            EvictionPolicy::VolatileTtl => candidates.min_by_key(|&s| segments.expiry_min(s)),
            _ => candidates.min_by_key(|&segment| segments.seq(segment)),
        }?;
        let ttl_cutoff = (0..segment_count)
            .filter(|&s| s != victim && s != head && evictable(segments, s))
            .map(|s| segments.expiry_min(s))
            .min()
            .unwrap_or(Timestamp::MAX)
            .max(segments.expiry_min(victim));
        Some((victim, ttl_cutoff))
    }

    /// Empties `victim` and frees it: live items are copied to the head, or evicted as
    /// `sweep` and the policy decide; expired items are dropped.
    fn sweep(
        &mut self,
        victim: SegmentIndex,
        sweep: Sweep,
        now: Timestamp,
        log: &mut impl super::LogSink,
    ) {
        let start = self.segments.start(victim);
        let walk = self.sweep_from(victim, start, sweep, usize::MAX, now, log);
        assert!(walk == Walk::Emptied, "a whole sweep stopped early");
    }

    /// Sweeps `victim` from `from` (everything before it is holes) until `keys_wanted`
    /// keys have left the table or the segment is empty (then it is freed). With a finite
    /// `keys_wanted` the walk stops instead of moving a survivor into the reserve segment.
    fn sweep_from(
        &mut self,
        victim: SegmentIndex,
        from: Location,
        sweep: Sweep,
        keys_wanted: usize,
        now: Timestamp,
        log: &mut impl super::LogSink,
    ) -> Walk {
        assert!(victim != self.segments.head(), "sweep of the head");
        let partial = keys_wanted != usize::MAX;
        let keys_before = self.table.len();
        let end = self.segments.start(victim) + self.segments.used_size(victim);
        let mut location = from;
        // Holes are marked, so only live items cost a table lookup, and the walk ends as
        // soon as nothing live is left in the segment.
        while location < end && self.segments.live_size(victim) > 0 {
            let bytes = self.segments.bytes(location);
            let layout = item::layout(bytes);
            let size = layout.size();
            if !item::is_dead(bytes) {
                if partial
                    && size > self.segments.head_remaining()
                    && self.segments.free_count() <= SEGMENT_RESERVE_COUNT
                {
                    return Walk::NoRoom;
                }
                let key = &bytes[layout.key.clone()];
                let hash = self.hash(key);
                let slot_index = self.table.find(hash, |candidate| candidate == location);
                let slot_index = slot_index
                    .unwrap_or_else(|| panic!("live item at {location} is not in the table"));
                let found = Found {
                    slot_index,
                    location,
                    layout,
                };
                self.sweep_item(&found, sweep, now, log);
            }
            location += size;
            if partial
                && keys_before.saturating_sub(self.table.len()) >= keys_wanted
                && self.segments.live_size(victim) > 0
            {
                return Walk::Stopped(location);
            }
        }
        assert!(
            self.segments.live_size(victim) == 0,
            "segment {victim} still has live items"
        );
        self.segments.release(victim);
        Walk::Emptied
    }

    fn sweep_item(
        &mut self,
        found: &Found,
        sweep: Sweep,
        now: Timestamp,
        log: &mut impl super::LogSink,
    ) {
        if found.layout.kind == ItemKind::Part {
            self.sweep_part(found, sweep, now, log);
            return;
        }
        let bits = self.table.policy(found.slot_index);
        let volatile = bits & VOLATILE != 0;
        if expired(found.layout.expires_at, now) {
            if log.events() && !self.replaying {
                let key = &self.segments.bytes(found.location)[found.layout.key.clone()];
                log.event(Event::expired(found.layout.db, key));
            }
            self.remove_expired(found);
            self.stats.expired += 1;
            return;
        }
        let survivor_bits = match sweep {
            Sweep::Clean => Some(bits & POLICY_MASK),
            Sweep::Evict { ttl_cutoff } => {
                let policy = self.config.policy;
                let later =
                    policy == EvictionPolicy::VolatileTtl && found.layout.expires_at > ttl_cutoff;
                if later {
                    Some(bits & POLICY_MASK)
                } else {
                    policy.survives(bits & POLICY_MASK, volatile)
                }
            }
            Sweep::EvictAll => {
                let policy = self.config.policy;
                (policy.volatile_only() && !volatile).then_some(bits & POLICY_MASK)
            }
        };
        match survivor_bits {
            Some(policy_bits) => self.relocate(found, (bits & VOLATILE) | policy_bits),
            None => self.evict_found(found, log),
        }
    }

    /// Evicts a live key (not a part): removes it, counts it, remembers it in the ghost
    /// filter, announces it and logs it as a delete.
    pub(super) fn evict_found(&mut self, found: &Found, log: &mut impl super::LogSink) {
        self.remove(found);
        self.stats.evicted += 1;
        let key = &self.segments.bytes(found.location)[found.layout.key.clone()];
        let hash = self.hash(key);
        evicted(&mut self.ghost, hash, found.layout.db, key, log);
    }

    /// Sweeps a part of a large collection: cleaning copies it to the head; eviction
    /// decides by its owner's expiry and policy state (a part has neither of its own),
    /// keeping the part or removing the owner with all its parts (some of them perhaps
    /// later in this very segment, which the walk then skips as holes).
    fn sweep_part(
        &mut self,
        found: &Found,
        sweep: Sweep,
        now: Timestamp,
        log: &mut impl super::LogSink,
    ) {
        if sweep == Sweep::Clean {
            // Cleaning keeps every item (and is all replay does: a part whose owner replay
            // has not brought back yet must stay).
            let part_bits = self.table.policy(found.slot_index);
            self.relocate(found, part_bits);
            return;
        }
        let part_key = &self.segments.bytes(found.location)[found.layout.key.clone()];
        let owner_key = PartKey::new(item::part_owner(part_key));
        let owner = owner_key
            .as_ref()
            .and_then(|key| self.find(found.layout.db, key.owner()));
        let Some(owner) = owner.filter(|owner| self.header_of(owner).is_some()) else {
            // No collection owns it (a leftover of a failed recovery): nothing reads it.
            self.remove_item(found);
            return;
        };
        let bits = self.table.policy(owner.slot_index);
        let volatile = bits & VOLATILE != 0;
        if expired(owner.layout.expires_at, now) {
            if log.events() {
                let key = owner_key.as_ref().map_or(&[][..], PartKey::owner);
                log.event(Event::expired(found.layout.db, key));
            }
            self.remove(&owner);
            self.stats.expired += 1;
            return;
        }
        let keep = match sweep {
            Sweep::Clean => unreachable!("handled above"),
            Sweep::Evict { ttl_cutoff } => {
                let policy = self.config.policy;
                (policy == EvictionPolicy::VolatileTtl && owner.layout.expires_at > ttl_cutoff)
                    || policy.survives(bits & POLICY_MASK, volatile).is_some()
            }
            Sweep::EvictAll => self.config.policy.volatile_only() && !volatile,
        };
        if keep {
            let part_bits = self.table.policy(found.slot_index);
            self.relocate(found, part_bits);
            return;
        }
        self.remove(&owner);
        self.stats.evicted += 1;
        let key = owner_key.as_ref().map_or(&[][..], PartKey::owner);
        let hash = self.hash(key);
        evicted(&mut self.ghost, hash, found.layout.db, key, log);
    }

    /// Copies a live item to the head and points its slot there.
    fn relocate(&mut self, found: &Found, bits: u8) {
        self.epoch += 1;
        let size = found.layout.size();
        let location = self.append_relocated(size);
        let source = found.location;
        self.segments
            .memory_mut()
            .copy_within(source..source + size, location);
        let volatile = found.layout.expires_at != 0;
        self.segments.item_dead(found.location, size, volatile);
        if volatile {
            self.segments
                .volatile_added(location, found.layout.expires_at);
        }
        self.table.set_location(found.slot_index, location);
        self.table.set_policy(found.slot_index, bits);
    }

    /// Appends during a sweep, which may use the reserve: the victim is freed right after.
    fn append_relocated(&mut self, size: usize) -> Location {
        if self.segments.head_remaining() < size {
            let opened = self.segments.open_head();
            assert!(opened, "the reserve segment is free during a sweep");
        }
        self.segments.append(size)
    }
}

/// What follows an eviction of `key` (already removed): the ghost filter remembers it, it
/// is announced, and it is logged as a delete.
fn evicted(ghost: &mut Ghost<'_>, hash: u64, db: u8, key: &[u8], log: &mut impl super::LogSink) {
    ghost.remember(hash);
    if log.events() {
        log.event(Event::evicted(db, key));
    }
    log.record(Record::Del { db, key });
}

/// How a sweep of one segment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Walk {
    /// It freed the keys it was asked for; the next item to look at is here.
    Stopped(Location),
    /// The segment is empty and was freed.
    Emptied,
    /// A survivor would have needed the reserve segment (partial sweeps only).
    NoRoom,
}

/// What a sweep does with the live items of its victim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sweep {
    /// Keep every item (cleaning).
    Clean,
    /// Evict the items the policy does not keep; under `volatile-ttl`, keep keys expiring
    /// after `ttl_cutoff`.
    Evict {
        /// See [`Store::victim`].
        ttl_cutoff: Timestamp,
    },
    /// Evict every item the policy may evict, second chances or not.
    EvictAll,
}

#[cfg(test)]
pub(super) mod tests {
    //! Cleaning before growing: what a process touches follows its live data. Partial
    //! eviction: a full key table loses only the keys it lacks.

    use alloc::vec;
    use alloc::vec::Vec;

    use super::super::{Config, LogSink, SetOptions, Store};
    use crate::arena::Arena;
    use crate::codec::record::Record;
    use crate::storage::policy::EvictionPolicy;

    const NOW: u64 = 1_700_000_000_000;
    const MIB: u64 = 1 << 20;

    /// A store of 64 segments of 1 MiB, cleaning before growing at `percent`.
    fn store(percent: u8) -> Store<'static> {
        let mut config = Config::new(64 << 20, 100_000);
        config.clean_dead_percent = percent;
        let memory = Vec::leak(vec![0u8; config.arena_size()]);
        let mut arena = Arena::from_buffer(memory);
        let store = Store::new(&mut arena, config).expect("config fits");
        arena.freeze().expect("freeze");
        store
    }

    /// Writes 100 keys of 10 KiB (1 MiB live) 40 times over (40 MiB written).
    fn overwrite(store: &mut Store<'_>) {
        for round in 0..40u8 {
            for key in 0..100u32 {
                let value = vec![round; 10 * 1024];
                let options = SetOptions::default();
                store
                    .set(0, &key.to_le_bytes(), &value, options, NOW, &mut ())
                    .expect("room");
            }
        }
        for key in 0..100u32 {
            assert_eq!(
                store.get(0, &key.to_le_bytes(), NOW),
                Some(&[39u8; 10240][..])
            );
        }
    }

    #[test]
    fn rewrites_reuse_memory_instead_of_touching_more() {
        let mut cleaning = store(50);
        overwrite(&mut cleaning);
        let stats = cleaning.stats();
        assert!(stats.segments_cleaned > 0);
        assert!(
            stats.memory_touched_size <= 4 * MIB,
            "touched {} for 1 MiB live",
            stats.memory_touched_size
        );

        let mut off = store(0);
        overwrite(&mut off);
        let stats = off.stats();
        assert_eq!(stats.segments_cleaned, 0, "memory never ran short");
        assert!(
            stats.memory_touched_size >= 39 * MIB,
            "every rewrite kept as a hole"
        );
    }

    #[test]
    fn segments_below_the_percent_are_not_cleaned_while_memory_is_fresh() {
        // 4 MiB of 1 KiB values, every other key deleted: each retired segment is half holes.
        for (percent, cleaned) in [(60, false), (40, true)] {
            let mut store = store(percent);
            let value = [5u8; 1024];
            for key in 0..4096u32 {
                let options = SetOptions::default();
                store
                    .set(0, &key.to_le_bytes(), &value, options, NOW, &mut ())
                    .expect("room");
            }
            for key in (0..4096u32).step_by(2) {
                assert!(store.delete(0, &key.to_le_bytes(), NOW, &mut ()));
            }
            for key in 4096..6144u32 {
                let options = SetOptions::default();
                store
                    .set(0, &key.to_le_bytes(), &value, options, NOW, &mut ())
                    .expect("room");
            }
            assert_eq!(
                store.stats().segments_cleaned > 0,
                cleaned,
                "percent {percent}"
            );
            for key in (1..6144u32).filter(|key| *key >= 4096 || key % 2 == 1) {
                assert_eq!(store.get(0, &key.to_le_bytes(), NOW), Some(&value[..]));
            }
        }
    }

    /// Counts the deletes a store logs.
    #[derive(Default)]
    pub(in crate::store) struct Deletes(pub(in crate::store) usize);

    impl LogSink for Deletes {
        fn record(&mut self, record: Record<'_>) {
            if matches!(record, Record::Del { .. }) {
                self.0 += 1;
            }
        }
    }

    #[test]
    fn a_full_key_table_evicts_only_the_keys_it_lacks() {
        for policy in [
            EvictionPolicy::AllKeysLru,
            EvictionPolicy::AllKeysLfu,
            EvictionPolicy::Sieve,
            EvictionPolicy::Fifo,
        ] {
            // 1,000 keys of a few bytes fill the table long before 1 MiB of items.
            let mut config = Config::new(1 << 20, 1000);
            config.policy = policy;
            let memory = Vec::leak(vec![0u8; config.arena_size()]);
            let mut arena = Arena::from_buffer(memory);
            let mut store = Store::new(&mut arena, config).expect("config fits");
            arena.freeze().expect("freeze");
            let mut deletes = Deletes::default();
            let options = SetOptions::default();
            store
                .set(0, b"hot", b"v", options, NOW, &mut deletes)
                .expect("room");
            for key in 0..5000u32 {
                store
                    .set(0, &key.to_le_bytes(), b"v", options, NOW, &mut deletes)
                    .expect("room");
                assert_eq!(store.len(), (key as usize + 2).min(1000), "{policy:?}");
                let hot = store.get(0, b"hot", NOW).is_some();
                assert!(
                    hot || policy == EvictionPolicy::Fifo,
                    "{policy:?} lost it at {key}"
                );
            }
            assert_eq!(deletes.0, 5001 - 1000, "{policy:?}: every eviction logged");
            assert_eq!(store.stats().evicted, 5001 - 1000, "{policy:?}");
            assert!(store.get(0, &4999u32.to_le_bytes(), NOW).is_some());
            assert_eq!(
                store.get(0, b"hot", NOW).is_some(),
                policy != EvictionPolicy::Fifo,
                "{policy:?}"
            );
        }
    }

    #[test]
    fn a_key_written_again_after_its_eviction_starts_with_credit() {
        for (policy, credit) in [
            (EvictionPolicy::AllKeysLru, 1),
            (EvictionPolicy::Sieve, 1),
            (
                EvictionPolicy::AllKeysLfu,
                crate::storage::policy::LFU_INIT + 1,
            ),
            (EvictionPolicy::Fifo, 0),
        ] {
            let mut config = Config::new(1 << 20, 1000);
            config.policy = policy;
            assert_eq!(config.ghost_len(), 256);
            let memory = Vec::leak(vec![0u8; config.arena_size()]);
            let mut arena = Arena::from_buffer(memory);
            let mut store = Store::new(&mut arena, config).expect("config fits");
            arena.freeze().expect("freeze");
            let options = SetOptions::default();
            for key in 0..1100u32 {
                store
                    .set(0, &key.to_le_bytes(), b"v", options, NOW, &mut ())
                    .expect("room");
            }
            let evicted = (0..1100u32)
                .find(|key| store.get(0, &key.to_le_bytes(), NOW).is_none())
                .expect("something was evicted");
            store
                .set(0, &evicted.to_le_bytes(), b"v", options, NOW, &mut ())
                .expect("room");
            let bits = |store: &mut Store<'_>, key: &[u8]| {
                store.object(0, key, NOW).map(|info| info.policy_bits)
            };
            assert_eq!(
                bits(&mut store, &evicted.to_le_bytes()),
                Some(credit),
                "{policy:?}"
            );
            store
                .set(0, b"new", b"v", options, NOW, &mut ())
                .expect("room");
            assert_eq!(
                bits(&mut store, b"new"),
                Some(policy.initial_bits()),
                "{policy:?}"
            );
        }
        let config = Config::new(1 << 20, 1000);
        assert_eq!(config.ghost_len(), 0, "noeviction keeps no ghost");
    }
}
