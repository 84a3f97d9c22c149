//! Segment bookkeeping: which segments are free, which one takes appends, and how many
//! live and dead bytes each holds.
//!
//! Invariants:
//! - Every segment is exactly one of: the head (takes appends), in use (retired head),
//!   or free (on the free list, `seq == 0`).
//! - `live_size[s] <= item_end[s] <= segment_size`; for a retired segment the unused tail
//!   after `item_end` counts as dead, since nothing will be appended there again.
//! - Items are laid back to back from offset 0 to `item_end`; nothing else is stored.

use crate::storage::item;
use crate::table::Location;

/// Index of a segment.
pub type SegmentIndex = usize;

/// Memory that [`Segments`] carves into equal segments, plus per-segment metadata.
#[derive(Debug)]
pub struct SegmentMemory<'a> {
    /// `segment_count * segment_size` bytes of item memory.
    pub memory: &'a mut [u8],
    /// Bytes appended to each segment.
    pub item_end: &'a mut [u32],
    /// Bytes of live items in each segment.
    pub live_size: &'a mut [u32],
    /// Live items with an expiry in each segment.
    pub volatile_count: &'a mut [u32],
    /// Smallest expiry ever written to each segment (`0`: none since it was opened).
    pub expiry_min: &'a mut [u64],
    /// Opening order of each segment (`0`: free).
    pub seq: &'a mut [u64],
    /// The free list (a stack of segment indexes).
    pub free: &'a mut [u32],
}

/// Append-only segments with a free list.
#[derive(Debug)]
pub struct Segments<'a> {
    memory: SegmentMemory<'a>,
    segment_size: usize,
    /// `log2(segment_size)`: locating an item's segment is a shift, not a division.
    segment_shift: u32,
    free_count: usize,
    head: SegmentIndex,
    seq_next: u64,
    /// One past the highest segment ever opened. Free segments never opened are taken in
    /// ascending order, after every freed one (the free list is a stack), so the segments
    /// below this bound are exactly those whose memory the store has touched.
    touched_end: usize,
    /// Live items with an expiry, in all segments (the sum of `volatile_count`).
    volatile_total: usize,
}

impl<'a> Segments<'a> {
    /// Segments over `memory`, all empty, with segment 0 as the head.
    ///
    /// # Panics
    /// If the metadata slices do not have one entry per segment, memory is not a whole
    /// number of segments, or the segment size is not a power of two.
    pub fn new(memory: SegmentMemory<'a>, segment_size: usize) -> Self {
        let segment_count = memory.seq.len();
        assert!(segment_count >= 2, "segment_count={segment_count}");
        assert!(
            memory.memory.len() == segment_count * segment_size,
            "memory size"
        );
        for size in [
            memory.item_end.len(),
            memory.live_size.len(),
            memory.volatile_count.len(),
        ] {
            assert!(
                size == segment_count,
                "metadata size {size} != {segment_count}"
            );
        }
        assert!(memory.expiry_min.len() == segment_count && memory.free.len() == segment_count);
        assert!(
            u32::try_from(segment_size).is_ok(),
            "segment_size={segment_size}"
        );
        let segment_shift = segment_size.trailing_zeros();
        let mut segments = Self {
            memory,
            segment_size,
            segment_shift,
            free_count: 0,
            head: 0,
            seq_next: 1,
            touched_end: 0,
            volatile_total: 0,
        };
        segments.clear();
        segments
    }

    /// Frees every segment and opens segment 0 as the head.
    pub fn clear(&mut self) {
        let segment_count = self.count();
        self.free_count = 0;
        self.volatile_total = 0;
        for segment in (0..segment_count).rev() {
            self.memory.item_end[segment] = 0;
            self.memory.live_size[segment] = 0;
            self.memory.volatile_count[segment] = 0;
            self.memory.expiry_min[segment] = 0;
            self.memory.seq[segment] = 0;
            self.memory.free[self.free_count] = to_u32(segment);
            self.free_count += 1;
        }
        let opened = self.open_head();
        assert!(opened, "a store has at least two segments");
    }

    /// Number of segments.
    #[must_use]
    pub fn count(&self) -> usize {
        self.memory.seq.len()
    }

    /// Bytes in one segment.
    #[must_use]
    pub fn segment_size(&self) -> usize {
        self.segment_size
    }

    /// The segment taking appends.
    #[must_use]
    pub fn head(&self) -> SegmentIndex {
        self.head
    }

    /// Segments on the free list.
    #[must_use]
    pub fn free_count(&self) -> usize {
        self.free_count
    }

    /// Bytes that may still be appended to the head.
    #[must_use]
    pub fn head_remaining(&self) -> usize {
        self.segment_size - self.memory.item_end[self.head] as usize
    }

    /// Retires the head and opens a free segment as the new head; `false` if none is free.
    pub fn open_head(&mut self) -> bool {
        if self.free_count == 0 {
            return false;
        }
        self.free_count -= 1;
        let segment = self.memory.free[self.free_count] as usize;
        assert!(
            self.memory.seq[segment] == 0,
            "free segment {segment} in use"
        );
        assert!(self.memory.live_size[segment] == 0 && self.memory.item_end[segment] == 0);
        self.memory.seq[segment] = self.seq_next;
        self.seq_next += 1;
        self.head = segment;
        self.touched_end = self.touched_end.max(segment + 1);
        true
    }

    /// Segments ever opened (see `touched_end`).
    #[must_use]
    pub fn touched_count(&self) -> usize {
        self.touched_end
    }

    /// Whether the next head would be a segment never opened before: memory the process
    /// has not touched yet, which would grow its resident size.
    #[must_use]
    pub fn next_head_is_fresh(&self) -> bool {
        self.free_count > 0 && self.memory.free[self.free_count - 1] as usize >= self.touched_end
    }

    /// Appends `size` bytes to the head and returns where; the caller writes the item.
    ///
    /// # Panics
    /// If the head has less than `size` bytes left.
    pub fn append(&mut self, size: usize) -> Location {
        assert!(
            size <= self.head_remaining(),
            "size={size} remaining={}",
            self.head_remaining()
        );
        let offset = self.memory.item_end[self.head] as usize;
        self.memory.item_end[self.head] += to_u32(size);
        self.memory.live_size[self.head] += to_u32(size);
        self.head * self.segment_size + offset
    }

    /// Records that the item at `location` has an expiry.
    pub fn volatile_added(&mut self, location: Location, expires_at: u64) {
        let segment = self.segment_of(location);
        self.memory.volatile_count[segment] += 1;
        self.volatile_total += 1;
        self.expiry_written(location, expires_at);
    }

    /// Records an expiry written to the item at `location` (new, or changed in place).
    pub fn expiry_written(&mut self, location: Location, expires_at: u64) {
        let segment = self.segment_of(location);
        let minimum = &mut self.memory.expiry_min[segment];
        if *minimum == 0 || expires_at < *minimum {
            *minimum = expires_at;
        }
    }

    /// Records that the item at `location`, `size` bytes, is no longer live.
    pub fn item_dead(&mut self, location: Location, size: usize, volatile: bool) {
        let segment = self.segment_of(location);
        assert!(
            self.memory.live_size[segment] as usize >= size,
            "segment {segment} live size"
        );
        self.memory.live_size[segment] -= to_u32(size);
        item::mark_dead(&mut self.memory.memory[location..]);
        if volatile {
            assert!(
                self.memory.volatile_count[segment] > 0,
                "segment {segment} volatile count"
            );
            self.memory.volatile_count[segment] -= 1;
            self.volatile_total -= 1;
        }
    }

    /// Puts an in-use segment whose items are all dead back on the free list.
    pub fn release(&mut self, segment: SegmentIndex) {
        assert!(segment != self.head, "release of the head");
        assert!(
            self.memory.seq[segment] != 0,
            "release of free segment {segment}"
        );
        assert!(
            self.memory.live_size[segment] == 0,
            "release of segment with live items"
        );
        assert!(self.memory.volatile_count[segment] == 0);
        self.memory.item_end[segment] = 0;
        self.memory.expiry_min[segment] = 0;
        self.memory.seq[segment] = 0;
        self.memory.free[self.free_count] = to_u32(segment);
        self.free_count += 1;
        assert!(self.free_count <= self.count());
    }

    /// The segment holding `location`.
    #[must_use]
    #[inline]
    pub fn segment_of(&self, location: Location) -> SegmentIndex {
        let segment = location >> self.segment_shift;
        assert!(segment < self.count(), "location={location}");
        segment
    }

    /// The bytes from `location` to the end of its segment.
    #[must_use]
    #[inline]
    pub fn bytes(&self, location: Location) -> &[u8] {
        let segment = self.segment_of(location);
        let start = location;
        let end = segment * self.segment_size + self.memory.item_end[segment] as usize;
        &self.memory.memory[start..end]
    }

    /// All of segment memory.
    #[must_use]
    pub fn memory(&self) -> &[u8] {
        self.memory.memory
    }

    /// All of segment memory, for writing an item just appended and for copies within it.
    #[must_use]
    pub fn memory_mut(&mut self) -> &mut [u8] {
        self.memory.memory
    }

    /// Bytes of a segment that hold no live item (for a retired segment, the unused tail
    /// too).
    #[must_use]
    pub fn dead_size(&self, segment: SegmentIndex) -> usize {
        let used = if segment == self.head {
            self.memory.item_end[segment] as usize
        } else {
            self.segment_size
        };
        used - self.memory.live_size[segment] as usize
    }

    /// Bytes of live items in a segment.
    #[must_use]
    pub fn live_size(&self, segment: SegmentIndex) -> usize {
        self.memory.live_size[segment] as usize
    }

    /// Bytes of live items in all segments.
    #[must_use]
    pub fn live_size_total(&self) -> usize {
        self.memory
            .live_size
            .iter()
            .map(|&size| size as usize)
            .sum()
    }

    /// Bytes appended to segments in use (live items and holes).
    #[must_use]
    pub fn used_size_total(&self) -> usize {
        (0..self.count())
            .filter(|&segment| self.in_use(segment))
            .map(|s| self.used_size(s))
            .sum()
    }

    /// Bytes appended to a segment.
    #[must_use]
    pub fn used_size(&self, segment: SegmentIndex) -> usize {
        self.memory.item_end[segment] as usize
    }

    /// Whether a segment holds items (or is the head).
    #[must_use]
    pub fn in_use(&self, segment: SegmentIndex) -> bool {
        self.memory.seq[segment] != 0
    }

    /// Opening order of a segment in use.
    #[must_use]
    pub fn seq(&self, segment: SegmentIndex) -> u64 {
        self.memory.seq[segment]
    }

    /// Live items with an expiry in a segment.
    #[must_use]
    pub fn volatile_count(&self, segment: SegmentIndex) -> u32 {
        self.memory.volatile_count[segment]
    }

    /// Live items with an expiry, in all segments.
    #[must_use]
    pub fn volatile_total(&self) -> usize {
        self.volatile_total
    }

    /// Smallest expiry written to a segment since it was opened (`0`: none).
    #[must_use]
    pub fn expiry_min(&self, segment: SegmentIndex) -> u64 {
        self.memory.expiry_min[segment]
    }

    /// The first location of a segment.
    #[must_use]
    pub fn start(&self, segment: SegmentIndex) -> Location {
        segment * self.segment_size
    }
}

/// Converts a size or index within a segment to its stored `u32` form.
///
/// # Panics
/// If it does not fit, which `Segments::new` rules out (segment size and count fit u32).
fn to_u32(value: usize) -> u32 {
    match u32::try_from(value) {
        Ok(value) => value,
        Err(_) => panic!("segment value {value} above u32"),
    }
}
