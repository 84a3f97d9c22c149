//! Codecs: the byte formats floe writes to disk and speaks on the wire.
//!
//! Every decoder here is total: for any input it returns a value, "need more bytes", or a
//! typed error with an offset. None panics, reads out of bounds, or reserves memory from a
//! length it was told. Each one has a fuzz target in `fuzz/`.

pub mod log;
pub mod rdb;
pub mod record;
pub mod resp;
pub mod snapshot;

/// A growable reply buffer, for hosts with an allocator (the runtime's doors).
#[cfg(feature = "alloc")]
impl resp::ReplySink for alloc::vec::Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

// Little-endian field access shared by the on-disk codecs (records and snapshots).

/// Converts an on-disk size (a `u32`) to an in-memory index, losslessly.
#[must_use]
pub fn usize_from(size: u32) -> usize {
    // NOTE: lossless: floe supports only 32- and 64-bit targets.
    const _: () = assert!(usize::BITS >= 32);
    size as usize
}

/// Converts an in-memory length to the on-disk `u32`, asserting it is at most `max`.
fn size_u32(size: usize, max: u32) -> u32 {
    let Ok(size) = u32::try_from(size) else {
        panic!("size={size} max={max}");
    };
    assert!(size <= max, "size={size} max={max}");
    size
}

/// The little-endian `u32` at `range` (4 bytes) of `bytes`.
fn read_u32(bytes: &[u8], range: core::ops::Range<usize>) -> u32 {
    let mut array = [0; 4];
    array.copy_from_slice(&bytes[range]);
    u32::from_le_bytes(array)
}

/// The little-endian `u64` at `range` (8 bytes) of `bytes`.
#[inline]
pub(crate) fn read_u64(bytes: &[u8], range: core::ops::Range<usize>) -> u64 {
    let mut array = [0; 8];
    array.copy_from_slice(&bytes[range]);
    u64::from_le_bytes(array)
}
