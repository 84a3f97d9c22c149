//! The static arena: every byte the engine will use is carved here at start, then the arena
//! is frozen and refuses every further request (TigerBeetle's "no allocation after
//! start-up", Poro's static allocator).
//!
//! ```text
//!   from_buffer / from_bump
//!            |
//!            v          freeze()             release()
//!       [Building] -----------------> [Frozen] -----------> [Released]
//!   alloc_* carves              alloc_* -> Frozen        alloc_*, freeze -> Released
//!                               freeze  -> AlreadyFrozen
//!   release -> NotFrozen
//! ```
//!
//! Two backings: a caller's buffer (a `&'static mut [u8]` on a host with no allocator) or,
//! with the `alloc` feature, a `bumpalo::Bump`. Either way the arena counts what it hands
//! out against `capacity_size` itself: a bump would happily keep carving from its current
//! chunk, so its own allocation limit is not what refuses.
//!
//! Invariants (this is the one module of floe-core that may use `unsafe`):
//!
//! - `used_size <= capacity_size`, and `used_size` only grows, by exactly the bytes taken
//!   from the backing (alignment padding included) on each successful request.
//! - A request is served only in `Building`; a refused request changes nothing.
//! - Every carved region is taken whole from the backing, so regions never overlap: the
//!   buffer backing splits its unused tail off with `split_at_mut`, and the bump never
//!   hands out the same bytes twice. A region lives for `'a`, the backing's borrow.
//! - The only `unsafe` is [`cast_slice`]: it turns such a region, zero-filled and aligned
//!   for `T`, into `&mut [T]`. That is sound because [`Plain`] promises all-zero bytes are
//!   a valid `T`; the cast asserts alignment and size before it.
#![allow(unsafe_code)]

use crate::error::ArenaError;

/// Where an arena is in its life; see the module diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArenaState {
    /// Start-up: requests are carved.
    Building,
    /// Steady state: every request is refused with [`ArenaError::Frozen`].
    Frozen,
    /// Shut down: every request, and `freeze`, is refused with [`ArenaError::Released`].
    Released,
}

/// Types the arena may hand out as typed slices, zero-filled.
///
/// # Safety
///
/// Implement this only for a type that:
///
/// - is valid when every byte of it is zero (the arena creates values that way), and
/// - has no padding bytes, so every byte of a slice of it stays initialized whatever is
///   stored, and a slice may later be viewed as bytes (to persist or checksum it).
///
/// Being `Copy + 'static`, such a type has no drop glue and borrows nothing.
pub unsafe trait Plain: Copy + 'static {}

// SAFETY: an integer has no padding and zero is a valid value.
unsafe impl Plain for u8 {}
// SAFETY: an integer has no padding and zero is a valid value.
unsafe impl Plain for u16 {}
// SAFETY: an integer has no padding and zero is a valid value.
unsafe impl Plain for u32 {}
// SAFETY: an integer has no padding and zero is a valid value.
unsafe impl Plain for u64 {}
// SAFETY: an integer has no padding and zero is a valid value.
unsafe impl Plain for i64 {}

/// A region of memory carved once at start, then frozen.
///
/// # Examples
///
/// ```
/// use floe_core::arena::{Arena, ArenaState};
/// use floe_core::error::ArenaError;
///
/// let mut memory = [0u8; 1024];
/// let mut arena = Arena::from_buffer(&mut memory);
/// let slots = arena.alloc_slice::<u64>(16)?;
/// let keys = arena.alloc_bytes(256)?;
/// arena.freeze()?;
///
/// slots[0] = 42; // carved memory stays usable after the freeze...
/// keys[0] = b'k';
/// assert_eq!(arena.alloc_bytes(1), Err(ArenaError::Frozen)); // ...but nothing new is carved
/// assert_eq!(arena.state(), ArenaState::Frozen);
/// # Ok::<(), ArenaError>(())
/// ```
pub struct Arena<'a> {
    backing: Backing<'a>,
    /// The caller promised the buffer is all zero bytes: regions are not filled again.
    zeroed: bool,
    state: ArenaState,
    capacity_size: usize,
    used_size: usize,
}

/// Where carved bytes come from.
enum Backing<'a> {
    /// The part of the caller's buffer not handed out yet.
    Buffer(&'a mut [u8]),
    /// A bump allocator; the arena counts bytes against `capacity_size` itself.
    #[cfg(feature = "alloc")]
    Bump(&'a bumpalo::Bump),
}

impl<'a> Arena<'a> {
    /// An arena over the caller's memory; its capacity is the whole buffer.
    ///
    /// The buffer need not be zeroed or aligned: each region is zero-filled and aligned as
    /// it is carved. On a host with no allocator, pass a `&'static mut [u8]`.
    #[must_use]
    pub fn from_buffer(buffer: &'a mut [u8]) -> Self {
        let capacity_size = buffer.len();
        Self {
            backing: Backing::Buffer(buffer),
            zeroed: false,
            state: ArenaState::Building,
            capacity_size,
            used_size: 0,
        }
    }

    /// [`Arena::from_buffer`] over a buffer the caller knows is all zero bytes (fresh from
    /// a zeroing allocation, which the operating system backs with pages only when they
    /// are first written): regions are handed out without filling them again, so memory
    /// the store never writes is never touched, and a process's resident size follows its
    /// data instead of its `maxmemory`.
    ///
    /// A buffer that is not all zero breaks the store built on it (empty table slots must
    /// read as zero); it cannot make the program unsound.
    #[must_use]
    pub fn from_zeroed_buffer(buffer: &'a mut [u8]) -> Self {
        Self {
            zeroed: true,
            ..Self::from_buffer(buffer)
        }
    }

    /// An arena that carves from `bump`, at most `capacity_size` bytes in all.
    ///
    /// Memory is taken from the bump as requests come, not up front. Each typed request
    /// takes `align_of::<T>() - 1` bytes of slack so it can be aligned inside a byte
    /// allocation, and that slack counts against `capacity_size`.
    #[cfg(feature = "alloc")]
    #[must_use]
    pub fn from_bump(bump: &'a bumpalo::Bump, capacity_size: usize) -> Self {
        Self {
            backing: Backing::Bump(bump),
            zeroed: false,
            state: ArenaState::Building,
            capacity_size,
            used_size: 0,
        }
    }

    /// Carves a zero-filled slice of `count` values of `T`, aligned for `T`.
    ///
    /// A `count` of zero gives an empty slice and takes nothing (but is still refused once
    /// the arena is frozen). Zero-sized `T` is rejected at compile time.
    ///
    /// # Errors
    ///
    /// [`ArenaError::Frozen`] or [`ArenaError::Released`] outside `Building`;
    /// [`ArenaError::Exhausted`] when the request, padding included, does not fit in what is
    /// left (a size that overflows `usize` is reported as `requested_size: usize::MAX`), or
    /// when the bump backing cannot get memory from the system (`available_size: 0`).
    pub fn alloc_slice<T: Plain>(&mut self, count: usize) -> Result<&'a mut [T], ArenaError> {
        const { assert!(size_of::<T>() > 0, "zero-sized types are not carved") };
        if count == 0 {
            // An empty byte region may sit anywhere; an empty `[T]` must still be aligned.
            self.check_building()?;
            return Ok(&mut []);
        }
        let bytes = self.carve(count.checked_mul(size_of::<T>()), align_of::<T>())?;
        Ok(cast_slice(bytes))
    }

    /// Carves `size` zero-filled bytes (alignment 1).
    ///
    /// # Errors
    ///
    /// As [`Arena::alloc_slice`].
    pub fn alloc_bytes(&mut self, size: usize) -> Result<&'a mut [u8], ArenaError> {
        self.carve(Some(size), 1)
    }

    /// Ends start-up: from now on every request is refused. Regions already carved stay
    /// valid and writable.
    ///
    /// # Errors
    ///
    /// [`ArenaError::AlreadyFrozen`] when frozen, [`ArenaError::Released`] when released.
    pub fn freeze(&mut self) -> Result<(), ArenaError> {
        match self.state {
            ArenaState::Building => {
                self.state = ArenaState::Frozen;
                Ok(())
            }
            ArenaState::Frozen => Err(ArenaError::AlreadyFrozen),
            ArenaState::Released => Err(ArenaError::Released),
        }
    }

    /// Ends the arena's life: nothing may be carved or frozen again, and the unused rest of
    /// a buffer backing is let go. The memory itself goes back when the buffer or bump
    /// does, which the borrow checker allows only once every carved region is gone.
    ///
    /// # Errors
    ///
    /// [`ArenaError::NotFrozen`] while building (freeze first, so shutting down is never
    /// mistaken for start-up), [`ArenaError::Released`] when already released.
    pub fn release(&mut self) -> Result<(), ArenaError> {
        match self.state {
            ArenaState::Building => Err(ArenaError::NotFrozen),
            ArenaState::Frozen => {
                match &mut self.backing {
                    Backing::Buffer(buffer) => *buffer = &mut [],
                    #[cfg(feature = "alloc")]
                    Backing::Bump(_) => {} // a shared bump frees only when dropped
                }
                self.state = ArenaState::Released;
                Ok(())
            }
            ArenaState::Released => Err(ArenaError::Released),
        }
    }

    /// Where the arena is in its life.
    #[must_use]
    pub fn state(&self) -> ArenaState {
        self.state
    }

    /// Bytes handed out so far, alignment padding included.
    #[must_use]
    pub fn used_size(&self) -> usize {
        self.used_size
    }

    /// Bytes the arena may hand out in all.
    #[must_use]
    pub fn capacity_size(&self) -> usize {
        self.capacity_size
    }

    /// Bytes not handed out yet: `capacity_size() - used_size()`. A request may need more
    /// than its own size (alignment padding, or slack on the bump backing).
    #[must_use]
    pub fn available_size(&self) -> usize {
        self.capacity_size - self.used_size
    }

    /// Takes `size` zero-filled bytes aligned to `align` from the backing; `None` is a size
    /// that overflowed.
    fn carve(&mut self, size: Option<usize>, align: usize) -> Result<&'a mut [u8], ArenaError> {
        assert!(align.is_power_of_two(), "align={align}");
        assert!(
            self.used_size <= self.capacity_size,
            "used={} capacity={}",
            self.used_size,
            self.capacity_size
        );
        self.check_building()?;
        let available_size = self.available_size();
        let Some(size) = size else {
            return Err(ArenaError::Exhausted {
                requested_size: usize::MAX,
                available_size,
            });
        };
        if size == 0 {
            return Ok(&mut []);
        }
        let (region, taken_size) = match &mut self.backing {
            Backing::Buffer(buffer) => carve_buffer(buffer, size, align, !self.zeroed)?,
            #[cfg(feature = "alloc")]
            Backing::Bump(bump) => carve_bump(bump, size, align, available_size)?,
        };
        assert!(region.len() == size, "region={} size={size}", region.len());
        assert!(
            region.as_ptr().addr().is_multiple_of(align),
            "align={align}"
        );
        assert!(
            taken_size <= available_size,
            "taken={taken_size} available={available_size}"
        );
        self.used_size += taken_size;
        Ok(region)
    }

    /// Requests are served only while building.
    fn check_building(&self) -> Result<(), ArenaError> {
        match self.state {
            ArenaState::Building => Ok(()),
            ArenaState::Frozen => Err(ArenaError::Frozen),
            ArenaState::Released => Err(ArenaError::Released),
        }
    }
}

impl core::fmt::Debug for Arena<'_> {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter
            .debug_struct("Arena")
            .field("state", &self.state)
            .field("used_size", &self.used_size)
            .field("capacity_size", &self.capacity_size)
            .finish_non_exhaustive()
    }
}

/// Splits an aligned, zero-filled region of `size` bytes off the front of `buffer`, and
/// returns it with the bytes taken (padding included). With `fill` false the caller knows
/// the bytes are zero already.
fn carve_buffer<'a>(
    buffer: &mut &'a mut [u8],
    size: usize,
    align: usize,
    fill: bool,
) -> Result<(&'a mut [u8], usize), ArenaError> {
    let available_size = buffer.len();
    let padding_size = buffer.as_ptr().addr().wrapping_neg() & (align - 1);
    let taken_size = match padding_size.checked_add(size) {
        Some(taken_size) if taken_size <= available_size => taken_size,
        requested_size => {
            let requested_size = requested_size.unwrap_or(usize::MAX);
            return Err(ArenaError::Exhausted {
                requested_size,
                available_size,
            });
        }
    };
    let (_padding, rest) = core::mem::take(buffer).split_at_mut(padding_size);
    let (region, rest) = rest.split_at_mut(size);
    *buffer = rest;
    if fill {
        region.fill(0);
    }
    Ok((region, taken_size))
}

/// Takes `size + align - 1` zero-filled bytes from `bump` and returns the aligned region of
/// `size` bytes inside them, with the bytes taken.
#[cfg(feature = "alloc")]
fn carve_bump(
    bump: &bumpalo::Bump,
    size: usize,
    align: usize,
    available_size: usize,
) -> Result<(&mut [u8], usize), ArenaError> {
    let slack_size = align - 1;
    let taken_size = match size.checked_add(slack_size) {
        Some(taken_size) if taken_size <= available_size => taken_size,
        requested_size => {
            let requested_size = requested_size.unwrap_or(usize::MAX);
            return Err(ArenaError::Exhausted {
                requested_size,
                available_size,
            });
        }
    };
    let bytes = bump
        .try_alloc_slice_fill_copy(taken_size, 0u8)
        .map_err(|_| ArenaError::Exhausted {
            requested_size: taken_size,
            available_size: 0,
        })?;
    let padding_size = bytes.as_ptr().addr().wrapping_neg() & slack_size;
    let (_padding, rest) = bytes.split_at_mut(padding_size);
    let (region, _slack) = rest.split_at_mut(size);
    Ok((region, taken_size))
}

/// Views a zero-filled byte region, aligned for `T` and a whole number of `T`s long, as a
/// slice of `T`. The region is moved in, so the result is its only reference.
fn cast_slice<T: Plain>(bytes: &mut [u8]) -> &mut [T] {
    let count = bytes.len() / size_of::<T>();
    assert!(
        bytes.len().is_multiple_of(size_of::<T>()),
        "size={}",
        bytes.len()
    );
    assert!(
        bytes.as_ptr().addr().is_multiple_of(align_of::<T>()),
        "unaligned region"
    );
    debug_assert!(
        bytes.iter().all(|byte| *byte == 0),
        "region not zero-filled"
    ); // O(n)
    // SAFETY: the pointer comes from a live slice, so it is non-null and its `bytes.len()`
    // bytes (`count * size_of::<T>()`, asserted above, at most `isize::MAX`) lie in one
    // allocation; it is aligned for `T` (asserted above); every byte is initialized to zero
    // by `carve`, which `Plain` guarantees is a valid `T`. The byte slice is consumed here,
    // so for its lifetime the returned slice is the only way to reach that memory.
    unsafe { core::slice::from_raw_parts_mut(bytes.as_mut_ptr().cast::<T>(), count) }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::{Arena, ArenaState, Plain};
    use crate::error::ArenaError;
    use proptest::prelude::*;

    /// A backing buffer whose start is 64-byte aligned, so padding sizes are predictable.
    #[repr(C, align(64))]
    struct Aligned<const SIZE: usize>([u8; SIZE]);

    impl<const SIZE: usize> Aligned<SIZE> {
        fn dirty() -> Self {
            Self([0xa5; SIZE])
        }
    }

    #[test]
    fn arena_starts_building_and_empty() {
        let mut memory = Aligned::<128>::dirty();
        let arena = Arena::from_buffer(&mut memory.0);
        assert_eq!(arena.state(), ArenaState::Building);
        assert_eq!(arena.used_size(), 0);
        assert_eq!(arena.capacity_size(), 128);
        assert_eq!(arena.available_size(), 128);
    }

    #[test]
    fn arena_bytes_are_zero_filled_and_disjoint() {
        let mut memory = Aligned::<64>::dirty();
        let mut arena = Arena::from_buffer(&mut memory.0);
        let first = arena.alloc_bytes(10).unwrap();
        let second = arena.alloc_bytes(20).unwrap();
        assert!(first.iter().chain(second.iter()).all(|byte| *byte == 0));
        first.fill(1);
        assert!(second.iter().all(|byte| *byte == 0));
        assert_eq!(arena.used_size(), 30);
    }

    #[test]
    fn arena_aligns_u64_after_odd_offset() {
        let mut memory = Aligned::<128>::dirty();
        let mut arena = Arena::from_buffer(&mut memory.0);
        let odd = arena.alloc_bytes(1).unwrap();
        assert_eq!(odd.len(), 1);
        let words = arena.alloc_slice::<u64>(3).unwrap();
        assert_eq!(words.as_ptr().addr() % 8, 0);
        assert_eq!(words, &[0, 0, 0]);
        words[2] = u64::MAX;
        assert_eq!(arena.used_size(), 1 + 7 + 24, "padding counts as used");
        let halves = arena.alloc_slice::<u16>(1).unwrap();
        assert_eq!(halves.as_ptr().addr() % 2, 0);
        assert_eq!(arena.used_size(), 34);
    }

    fn check_type<T: Plain + core::fmt::Debug + PartialEq>(zero: T) {
        let mut memory = Aligned::<256>::dirty();
        let mut arena = Arena::from_buffer(&mut memory.0);
        arena.alloc_bytes(3).unwrap();
        let slice = arena.alloc_slice::<T>(5).unwrap();
        assert_eq!(slice.len(), 5);
        assert_eq!(slice.as_ptr().addr() % align_of::<T>(), 0);
        assert!(slice.iter().all(|value| *value == zero));
    }

    #[test]
    fn arena_carves_every_plain_type() {
        check_type(0u8);
        check_type(0u16);
        check_type(0u32);
        check_type(0u64);
        check_type(0i64);
    }

    #[test]
    fn arena_exhaustion_is_a_value_and_changes_nothing() {
        let mut memory = Aligned::<16>::dirty();
        let mut arena = Arena::from_buffer(&mut memory.0);
        arena.alloc_bytes(1).unwrap();
        assert_eq!(
            arena.alloc_slice::<u64>(2),
            Err(ArenaError::Exhausted {
                requested_size: 7 + 16,
                available_size: 15
            })
        );
        assert_eq!(arena.used_size(), 1);
        assert_eq!(arena.state(), ArenaState::Building);
        let rest = arena.alloc_bytes(15).unwrap();
        assert_eq!(rest.len(), 15);
        assert_eq!(arena.used_size(), 16);
        assert_eq!(
            arena.alloc_bytes(1),
            Err(ArenaError::Exhausted {
                requested_size: 1,
                available_size: 0
            })
        );
    }

    #[test]
    fn arena_huge_requests_do_not_wrap() {
        let mut memory = Aligned::<64>::dirty();
        let mut arena = Arena::from_buffer(&mut memory.0);
        arena.alloc_bytes(1).unwrap();
        let exhausted = ArenaError::Exhausted {
            requested_size: usize::MAX,
            available_size: 63,
        };
        assert_eq!(arena.alloc_slice::<u64>(usize::MAX), Err(exhausted));
        assert_eq!(arena.alloc_slice::<u64>(usize::MAX / 8 + 1), Err(exhausted));
        assert_eq!(
            arena.alloc_slice::<u64>(usize::MAX / 8),
            Err(exhausted),
            "padding fills usize"
        );
        assert_eq!(
            arena.alloc_bytes(usize::MAX),
            Err(exhausted),
            "1 byte is used"
        );
        assert!(matches!(
            arena.alloc_slice::<u32>(usize::MAX / 4),
            Err(ArenaError::Exhausted { .. })
        ));
        assert_eq!(arena.used_size(), 1);
    }

    #[test]
    fn arena_zero_size_requests_are_fine() {
        let mut memory = Aligned::<8>::dirty();
        let mut arena = Arena::from_buffer(&mut memory.0);
        arena.alloc_bytes(8).unwrap();
        assert_eq!(arena.alloc_bytes(0).unwrap().len(), 0);
        assert_eq!(arena.alloc_slice::<u64>(0).unwrap().len(), 0);
        assert_eq!(arena.used_size(), 8);
        let mut empty: [u8; 0] = [];
        let mut arena = Arena::from_buffer(&mut empty);
        assert_eq!(arena.alloc_slice::<u64>(0).unwrap().len(), 0);
        arena.freeze().unwrap();
        assert_eq!(
            arena.alloc_bytes(0),
            Err(ArenaError::Frozen),
            "refused even when empty"
        );
    }

    #[test]
    fn arena_freeze_refuses_allocation_and_keeps_regions() {
        let mut memory = Aligned::<64>::dirty();
        let mut arena = Arena::from_buffer(&mut memory.0);
        let words = arena.alloc_slice::<u64>(2).unwrap();
        arena.freeze().unwrap();
        assert_eq!(arena.state(), ArenaState::Frozen);
        words[1] = 7;
        assert_eq!(words, &[0, 7]);
        assert_eq!(arena.alloc_bytes(1), Err(ArenaError::Frozen));
        assert_eq!(arena.alloc_slice::<u32>(1), Err(ArenaError::Frozen));
        assert_eq!(
            arena.alloc_bytes(usize::MAX),
            Err(ArenaError::Frozen),
            "state comes first"
        );
        assert_eq!(arena.freeze(), Err(ArenaError::AlreadyFrozen));
        assert_eq!(arena.state(), ArenaState::Frozen);
        assert_eq!(arena.used_size(), 16);
    }

    #[test]
    fn arena_release_needs_freeze_first() {
        let mut memory = Aligned::<64>::dirty();
        let mut arena = Arena::from_buffer(&mut memory.0);
        assert_eq!(arena.release(), Err(ArenaError::NotFrozen));
        assert_eq!(arena.state(), ArenaState::Building);
        arena.alloc_bytes(4).unwrap();
        arena.freeze().unwrap();
        arena.release().unwrap();
        assert_eq!(arena.state(), ArenaState::Released);
        assert_eq!(arena.alloc_bytes(1), Err(ArenaError::Released));
        assert_eq!(arena.alloc_slice::<u64>(0), Err(ArenaError::Released));
        assert_eq!(arena.freeze(), Err(ArenaError::Released));
        assert_eq!(arena.release(), Err(ArenaError::Released));
        assert_eq!(arena.state(), ArenaState::Released);
        assert_eq!(arena.used_size(), 4);
    }

    #[derive(Debug, Clone, Copy)]
    enum Request {
        Bytes(usize),
        U16(usize),
        U32(usize),
        U64(usize),
    }

    fn request_strategy() -> impl Strategy<Value = Request> {
        prop_oneof![
            (0..40usize).prop_map(Request::Bytes),
            (0..20usize).prop_map(Request::U16),
            (0..10usize).prop_map(Request::U32),
            (0..6usize).prop_map(Request::U64),
        ]
    }

    proptest! {
        /// Any sequence of requests: every region is aligned, zero-filled, inside the
        /// buffer and disjoint from the others; `used_size` is the end of the last one; a
        /// refusal happens only when the region would not fit, and changes nothing.
        #[test]
        fn arena_regions_are_aligned_disjoint_and_counted(
            offset in 0..8usize,
            requests in proptest::collection::vec(request_strategy(), 0..24),
        ) {
            let mut memory = Aligned::<264>::dirty();
            let base = memory.0.as_ptr().addr() + offset;
            let mut arena = Arena::from_buffer(&mut memory.0[offset..]);
            let capacity_size = arena.capacity_size();
            let mut end = 0usize; // offset of the first unused byte, relative to `base`
            for request in requests {
                let used_before = arena.used_size();
                let (result, size, align) = match request {
                    Request::Bytes(count) => {
                        let result = arena.alloc_bytes(count).map(|s| (s.as_ptr().addr(), s.iter().all(|v| *v == 0), s.len()));
                        (result, count, 1)
                    }
                    Request::U16(count) => {
                        let result = arena.alloc_slice::<u16>(count).map(|s| (s.as_ptr().addr(), s.iter().all(|v| *v == 0), s.len() * 2));
                        (result, count * 2, 2)
                    }
                    Request::U32(count) => {
                        let result = arena.alloc_slice::<u32>(count).map(|s| (s.as_ptr().addr(), s.iter().all(|v| *v == 0), s.len() * 4));
                        (result, count * 4, 4)
                    }
                    Request::U64(count) => {
                        let result = arena.alloc_slice::<u64>(count).map(|s| (s.as_ptr().addr(), s.iter().all(|v| *v == 0), s.len() * 8));
                        (result, count * 8, 8)
                    }
                };
                let start = (base + end).next_multiple_of(align) - base;
                match result {
                    Ok((_, zeroed, length)) if size == 0 => {
                        prop_assert!(zeroed);
                        prop_assert_eq!(length, 0);
                        prop_assert_eq!(arena.used_size(), used_before);
                    }
                    Ok((address, zeroed, length)) => {
                        prop_assert!(zeroed);
                        prop_assert_eq!(length, size);
                        prop_assert_eq!(address % align, 0);
                        prop_assert_eq!(address - base, start, "region starts right after the last");
                        end = start + size;
                        prop_assert!(end <= capacity_size);
                        prop_assert_eq!(arena.used_size(), end);
                    }
                    Err(error) => {
                        prop_assert!(start + size > capacity_size, "refused a fitting request");
                        prop_assert_eq!(error, ArenaError::Exhausted {
                            requested_size: start + size - end,
                            available_size: capacity_size - end,
                        });
                        prop_assert_eq!(arena.used_size(), used_before);
                    }
                }
            }
        }
    }

    #[cfg(feature = "alloc")]
    mod bump {
        use super::super::{Arena, ArenaState};
        use crate::error::ArenaError;

        #[test]
        fn arena_bump_carves_zeroed_aligned_regions() {
            let bump = bumpalo::Bump::new();
            bump.alloc_slice_fill_copy(100, 0xa5u8); // dirty memory the arena must not see
            let mut arena = Arena::from_bump(&bump, 1024);
            assert_eq!(arena.capacity_size(), 1024);
            let odd = arena.alloc_bytes(1).unwrap();
            assert_eq!(odd, &[0]);
            assert_eq!(arena.used_size(), 1, "bytes take no slack");
            let words = arena.alloc_slice::<u64>(4).unwrap();
            assert_eq!(words.as_ptr().addr() % 8, 0);
            assert_eq!(words, &[0; 4]);
            words[3] = 9;
            assert_eq!(arena.used_size(), 1 + 32 + 7, "slack counts as used");
            let bytes = arena.alloc_bytes(100).unwrap();
            assert!(bytes.iter().all(|byte| *byte == 0));
        }

        /// The bump has room left in its chunk; the arena's own accounting must refuse.
        #[test]
        fn arena_bump_capacity_is_enforced_by_the_arena() {
            let bump = bumpalo::Bump::with_capacity(4096);
            let mut arena = Arena::from_bump(&bump, 64);
            arena.alloc_bytes(60).unwrap();
            let allocated_before = bump.allocated_bytes();
            assert_eq!(
                arena.alloc_bytes(5),
                Err(ArenaError::Exhausted {
                    requested_size: 5,
                    available_size: 4
                })
            );
            assert_eq!(
                arena.alloc_slice::<u32>(1),
                Err(ArenaError::Exhausted {
                    requested_size: 7,
                    available_size: 4
                })
            );
            assert_eq!(
                arena.alloc_slice::<u64>(usize::MAX),
                Err(ArenaError::Exhausted {
                    requested_size: usize::MAX,
                    available_size: 4
                })
            );
            assert_eq!(
                arena.alloc_bytes(usize::MAX),
                Err(ArenaError::Exhausted {
                    requested_size: usize::MAX,
                    available_size: 4
                })
            );
            assert_eq!(arena.alloc_bytes(4).unwrap().len(), 4);
            assert_eq!(arena.used_size(), 64);
            assert_eq!(
                bump.allocated_bytes(),
                allocated_before,
                "refusals took nothing"
            );
        }

        #[test]
        fn arena_bump_state_machine() {
            let bump = bumpalo::Bump::new();
            let mut arena = Arena::from_bump(&bump, 1 << 20);
            assert_eq!(arena.release(), Err(ArenaError::NotFrozen));
            let words = arena.alloc_slice::<u64>(8).unwrap();
            arena.freeze().unwrap();
            words[0] = 1;
            assert_eq!(arena.alloc_bytes(1), Err(ArenaError::Frozen));
            assert_eq!(arena.alloc_slice::<u64>(0), Err(ArenaError::Frozen));
            assert_eq!(arena.freeze(), Err(ArenaError::AlreadyFrozen));
            arena.release().unwrap();
            assert_eq!(arena.state(), ArenaState::Released);
            assert_eq!(arena.alloc_bytes(1), Err(ArenaError::Released));
            assert_eq!(arena.freeze(), Err(ArenaError::Released));
            assert_eq!(arena.release(), Err(ArenaError::Released));
        }
    }
}
