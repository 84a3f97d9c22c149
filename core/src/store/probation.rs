//! The probationary hand of `allkeys-lru`: S3-FIFO's small queue over segments.
//!
//! A key written for the first time (not remembered by the ghost filter) is *on probation*
//! (the [`PROBATION`] policy bit). While the items written after the hand take more than a
//! twentieth of the live bytes, eviction for a full key table walks this hand forward in write
//! order instead of sweeping the oldest segment: a probationary key read since it was
//! written leaves probation in place (it joins the main queue, the CLOCK of the oldest
//! segment); one never read is evicted. So a key read once ("one-hit wonder") is gone after
//! a small part of a round instead of a whole one. Items stay where they are: the hand
//! only evicts or clears a bit, so it may walk the head too.

use super::{Found, Store, expired};
use crate::storage::item::{self, ItemKind};
use crate::storage::policy::PROBATION;
use crate::storage::segment::SegmentIndex;
use crate::time::Timestamp;

/// The region after the hand may take a twentieth of the live bytes before the hand evicts.
/// S3-FIFO's small queue is a tenth; the region here also holds survivors the main sweep
/// moved to the head, and on `floe-hit-ratio` a twentieth gained +0.000 to +0.004 over a
/// tenth (a fortieth: up to +0.002 more, a fifth: up to -0.007). Smaller shares favour
/// frequency over recency more, which a static Zipf rewards; not tuned further.
const PROBATION_DENOMINATOR: usize = 20;

impl Store<'_> {
    /// Evicts up to `keys_wanted` unread probationary keys if the probationary region is
    /// over its share; whether it freed any.
    pub(super) fn evict_probation(
        &mut self,
        keys_wanted: usize,
        now: Timestamp,
        log: &mut impl super::LogSink,
    ) -> bool {
        if !self.config.policy.has_probation() {
            return false;
        }
        let (mut segment, mut location) = self.probation_start();
        if !self.region_over_share(segment, location) {
            return false;
        }
        let keys_before = self.table.len();
        loop {
            let end = self.segments.start(segment) + self.segments.used_size(segment);
            while location < end {
                let bytes = self.segments.bytes(location);
                let layout = item::layout(bytes);
                let size = layout.size();
                // Expired keys are left to expiry (they go as expired, not evicted).
                if !item::is_dead(bytes)
                    && layout.kind != ItemKind::Part
                    && !expired(layout.expires_at, now)
                {
                    let hash = self.hash(&bytes[layout.key.clone()]);
                    let slot_index = self
                        .table
                        .find(hash, |candidate| candidate == location)
                        .unwrap_or_else(|| panic!("live item at {location} is not in the table"));
                    let bits = self.table.policy(slot_index);
                    if bits & PROBATION != 0 {
                        if self
                            .config
                            .policy
                            .survives(bits & !PROBATION, false)
                            .is_some()
                        {
                            self.table.set_policy(slot_index, bits & !PROBATION);
                        } else {
                            let found = Found {
                                slot_index,
                                location,
                                layout,
                            };
                            self.evict_found(&found, log);
                        }
                    }
                }
                location += size;
                if keys_before - self.table.len() >= keys_wanted {
                    self.probation_cursor = (segment, self.segments.seq(segment), location);
                    return true;
                }
            }
            let next = self.segment_after(self.segments.seq(segment));
            match next {
                Some(next) => {
                    segment = next;
                    location = self.segments.start(next);
                }
                None => {
                    // At the head's end: nothing more to examine now.
                    self.probation_cursor = (segment, self.segments.seq(segment), location);
                    return keys_before > self.table.len();
                }
            }
        }
    }

    /// Where the hand stands: its cursor while that segment opening is still in use, else
    /// the start of the oldest segment opened after it (everything before was passed), or
    /// of the oldest segment.
    fn probation_start(&self) -> (SegmentIndex, usize) {
        let (segment, seq, location) = self.probation_cursor;
        if segment < self.segments.count()
            && self.segments.in_use(segment)
            && self.segments.seq(segment) == seq
        {
            return (segment, location);
        }
        let next = self
            .segment_after(seq)
            .unwrap_or_else(|| self.segments.head());
        (next, self.segments.start(next))
    }

    /// The segment in use opened soonest after the opening `seq`, if any.
    fn segment_after(&self, seq: u64) -> Option<SegmentIndex> {
        (0..self.segments.count())
            .filter(|&segment| self.segments.in_use(segment) && self.segments.seq(segment) > seq)
            .min_by_key(|&segment| self.segments.seq(segment))
    }

    /// Whether the bytes written at or after `location` of `segment` (the probationary
    /// region) are over their share of the live bytes.
    ///
    /// The segments between the hand's and the head change only when either does (a
    /// retired segment never grows; one freed meanwhile is still counted, which only makes
    /// the hand a little eager), so their sum is kept in `probation_newer`, with the share,
    /// and both are recomputed (a walk over the segments' counters) once per new head or
    /// hand segment, not at every eviction.
    fn region_over_share(&mut self, segment: SegmentIndex, location: usize) -> bool {
        let head = self.segments.head();
        let seq = self.segments.seq(segment);
        let head_seq = self.segments.seq(head);
        let (cached_seq, cached_head_seq, mut between, mut share) = self.probation_newer;
        if (cached_seq, cached_head_seq) != (seq, head_seq) {
            between = (0..self.segments.count())
                .filter(|&other| {
                    other != head
                        && other != segment
                        && self.segments.in_use(other)
                        && self.segments.seq(other) > seq
                })
                .map(|other| self.segments.used_size(other))
                .sum::<usize>();
            share = self.segments.live_size_total() / PROBATION_DENOMINATOR;
            self.probation_newer = (seq, head_seq, between, share);
        }
        let head_used = self.segments.used_size(head);
        let region = if segment == head {
            self.segments.start(head) + head_used - location
        } else {
            self.segments.start(segment) + self.segments.used_size(segment) - location
                + between
                + head_used
        };
        region > share
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use super::super::reclaim::tests::Deletes;
    use super::super::{Config, SetOptions, Store};
    use crate::arena::Arena;
    use crate::storage::policy::EvictionPolicy;

    const NOW: u64 = 1_700_000_000_000;

    /// Writes 900 keys and reads each once, then streams 10,000 keys never read through a
    /// store of 1,000; returns how many of the 900 are left.
    fn read_keys_left(policy: EvictionPolicy) -> usize {
        let mut config = Config::new(1 << 20, 1000);
        config.policy = policy;
        let memory = vec![0u8; config.arena_size()].leak();
        let mut arena = Arena::from_buffer(memory);
        let mut store = Store::new(&mut arena, config).expect("config fits");
        arena.freeze().expect("freeze");
        let mut deletes = Deletes::default();
        let options = SetOptions::default();
        for key in 0..900u32 {
            let key = key.to_le_bytes();
            store
                .set(0, &key, b"v", options, NOW, &mut deletes)
                .expect("room");
            assert!(store.get(0, &key, NOW).is_some());
        }
        for key in 1_000_000..1_010_000u32 {
            let key = key.to_le_bytes();
            store
                .set(0, &key, b"v", options, NOW, &mut deletes)
                .expect("room");
            assert!(store.len() <= 1000);
        }
        assert_eq!(store.len(), 1000);
        assert_eq!(deletes.0, 10_900 - 1000, "every eviction is logged");
        (0..900u32)
            .filter(|key| store.get(0, &key.to_le_bytes(), NOW).is_some())
            .count()
    }

    #[test]
    fn keys_never_read_leave_before_keys_read() {
        // The main queue still evicts when the probationary region is at its share (one
        // key here), so nearly all rather than all.
        let left = read_keys_left(EvictionPolicy::AllKeysLru);
        assert!(left >= 890, "{left} of 900 read keys left");
        // Without probation a read buys one round, and the stream makes ten.
        assert_eq!(read_keys_left(EvictionPolicy::Sieve), 0);
    }
}
