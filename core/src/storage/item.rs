//! The byte layout of one item in segment memory.
//!
//! ```text
//! +-------+-------------+---------------+----------------------+-------+---------+
//! | flags | key size    | value size    | expires_at (u64 LE)  | key   | value   |
//! | 1 B   | varint 1-5B | varint 1-5B   | 8 B, only if EXPIRES | bytes | bytes   |
//! +-------+-------------+---------------+----------------------+-------+---------+
//! flags: bits 0-3 database, bit 4 EXPIRES, bit 5 DEAD (a hole), bits 6-7 the kind
//! (0 a string, 1 a compact collection or a large one's header, 2 a part of a large
//! collection; see [`ItemKind`] and `docs/types.md`).
//! ```
//!
//! A 16-byte key with a 32-byte value and no expiry takes 51 bytes: 3 bytes of header.
//! Items are written only by the store, so decoding trusts the layout but still checks
//! every length against the segment it lies in (a broken invariant panics, it never reads
//! another item's bytes).

use core::ops::Range;

use crate::codec::read_u64;
use crate::time::Timestamp;

const FLAG_DATABASE_MASK: u8 = 0x0f;
const FLAG_EXPIRES: u8 = 0x10;
const FLAG_DEAD: u8 = 0x20;
const KIND_SHIFT: u32 = 6;

/// What an item's value holds (flags bits 6-7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ItemKind {
    /// A string: the value is its bytes.
    #[default]
    String = 0,
    /// A compact collection: the value is a type byte and the elements back to back
    /// (`store/compact.rs`), or the header of a large collection (`store/large.rs`).
    Compact = 1,
    /// A part of a large collection (`store/large.rs`): never a key. Its key is the
    /// owner's key followed by the part's number; lookups of keys never see it, and
    /// lookups of parts see nothing else.
    Part = 2,
}

impl ItemKind {
    /// The kind with these two bits, if it is one floe knows.
    #[must_use]
    pub const fn from_bits(bits: u8) -> Option<Self> {
        match bits {
            0 => Some(Self::String),
            1 => Some(Self::Compact),
            2 => Some(Self::Part),
            _ => None,
        }
    }
}

/// Bytes of the part number that ends a part's key (little-endian `u32`).
pub const PART_NUMBER_SIZE: usize = 4;

/// The owner's key within a part's key: the key a part is routed and evicted by.
#[must_use]
pub fn part_owner(part_key: &[u8]) -> &[u8] {
    &part_key[..part_key.len().saturating_sub(PART_NUMBER_SIZE)]
}

/// Where an item's parts lie, relative to the start of the item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemLayout {
    /// Database index.
    pub db: u8,
    /// Absolute expiry, `0` for none.
    pub expires_at: Timestamp,
    /// The key's bytes.
    pub key: Range<usize>,
    /// The value's bytes.
    pub value: Range<usize>,
    /// What the value holds.
    pub kind: ItemKind,
}

impl ItemLayout {
    /// Bytes the whole item occupies.
    #[must_use]
    pub fn size(&self) -> usize {
        self.value.end
    }
}

/// Bytes an item with these sizes occupies.
#[must_use]
pub fn item_size(key_size: usize, value_size: usize, expires_at: Timestamp) -> usize {
    let expiry_size = if expires_at == 0 { 0 } else { 8 };
    1 + varint_size(key_size) + varint_size(value_size) + expiry_size + key_size + value_size
}

/// Writes an item's header into the front of `target` and returns the header size; the
/// caller writes the key and value right after it.
///
/// # Panics
/// If `target` is shorter than the header, or `db` does not fit in 4 bits.
pub fn header_write(
    target: &mut [u8],
    db: u8,
    key_size: usize,
    value_size: usize,
    expires_at: Timestamp,
    kind: ItemKind,
) -> usize {
    assert!(db <= FLAG_DATABASE_MASK, "db={db}");
    let mut flags = db | ((kind as u8) << KIND_SHIFT);
    if expires_at != 0 {
        flags |= FLAG_EXPIRES;
    }
    target[0] = flags;
    let mut offset = 1;
    offset += varint_write(&mut target[offset..], key_size);
    offset += varint_write(&mut target[offset..], value_size);
    if expires_at != 0 {
        target[offset..offset + 8].copy_from_slice(&expires_at.to_le_bytes());
        offset += 8;
    }
    offset
}

/// Reads the layout of the item at the front of `bytes` (which may run past the item).
///
/// # Panics
/// If the bytes are not an item the store wrote: segment memory is never given to this
/// function from outside, so that is a broken invariant.
#[must_use]
#[inline(always)]
pub fn layout(bytes: &[u8]) -> ItemLayout {
    let flags = bytes[0];
    let Some(kind) = ItemKind::from_bits(flags >> KIND_SHIFT) else {
        panic!("item flags={flags:#x}");
    };
    let mut offset = 1;
    let (key_size, size) = varint_read(&bytes[offset..]);
    offset += size;
    let (value_size, size) = varint_read(&bytes[offset..]);
    offset += size;
    let mut expires_at = 0;
    if flags & FLAG_EXPIRES != 0 {
        expires_at = read_u64(bytes, offset..offset + 8);
        assert!(expires_at != 0, "stored expiry is zero");
        offset += 8;
    }
    let key = offset..offset + key_size;
    let value = key.end..key.end + value_size;
    assert!(value.end <= bytes.len(), "item runs past its segment");
    ItemLayout {
        db: flags & FLAG_DATABASE_MASK,
        expires_at,
        key,
        value,
        kind,
    }
}

/// Whether two keys are equal: short keys (most of them) in two or four word loads, with
/// no call to `bcmp` (which the table's probe otherwise pays on every hit).
#[inline]
#[must_use]
pub fn key_eq(a: &[u8], b: &[u8]) -> bool {
    let size = a.len();
    if size != b.len() {
        return false;
    }
    let word = |bytes: &[u8], at: usize| read_u64(bytes, at..at + 8);
    match size {
        // Two overlapping words cover 8 to 16 bytes.
        8..=16 => word(a, 0) == word(b, 0) && word(a, size - 8) == word(b, size - 8),
        17..=32 => {
            word(a, 0) == word(b, 0)
                && word(a, 8) == word(b, 8)
                && word(a, size - 16) == word(b, size - 16)
                && word(a, size - 8) == word(b, size - 8)
        }
        _ => a == b,
    }
}

/// Moves the item at the front of `bytes` to database `db`, in place (SWAPDB).
///
/// # Panics
/// If `db` does not fit in 4 bits.
pub fn db_write(bytes: &mut [u8], db: u8) {
    assert!(db <= FLAG_DATABASE_MASK, "db={db}");
    bytes[0] = (bytes[0] & !FLAG_DATABASE_MASK) | db;
}

/// Marks the item at the front of `bytes` as a hole, so cleaning skips it without a
/// table lookup. Its bytes stay readable (GETDEL returns them).
pub fn mark_dead(bytes: &mut [u8]) {
    bytes[0] |= FLAG_DEAD;
}

/// Whether the item at the front of `bytes` is a hole.
#[must_use]
#[inline]
pub fn is_dead(bytes: &[u8]) -> bool {
    bytes[0] & FLAG_DEAD != 0
}

pub(crate) fn varint_size(mut value: usize) -> usize {
    let mut size = 1;
    while value >= 0x80 {
        value >>= 7;
        size += 1;
    }
    size
}

#[expect(clippy::cast_possible_truncation, reason = "writes 7 bits at a time")]
pub(crate) fn varint_write(target: &mut [u8], mut value: usize) -> usize {
    assert!(value <= u32::MAX as usize, "item length {value} above u32");
    let mut offset = 0;
    while value >= 0x80 {
        target[offset] = (value as u8) | 0x80;
        value >>= 7;
        offset += 1;
    }
    target[offset] = value as u8;
    offset + 1
}

#[inline]
fn varint_read(bytes: &[u8]) -> (usize, usize) {
    let first = bytes[0];
    if first < 0x80 {
        return (usize::from(first), 1);
    }
    let mut value = 0usize;
    for (index, &byte) in bytes.iter().take(5).enumerate() {
        value |= usize::from(byte & 0x7f) << (7 * index);
        if byte < 0x80 {
            return (value, index + 1);
        }
    }
    panic!("item varint longer than 5 bytes");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn key_eq_agrees_with_slice_equality_at_every_size_and_position() {
        for size in 0..48usize {
            let a: Vec<u8> = (0..size)
                .map(|i| u8::try_from(i % 251).unwrap_or(0))
                .collect();
            assert!(key_eq(&a, &a.clone()), "size {size}");
            for at in 0..size {
                let mut b = a.clone();
                b[at] ^= 0x40;
                assert!(!key_eq(&a, &b), "size {size}, byte {at}");
            }
            let longer: Vec<u8> = a.iter().copied().chain([0]).collect();
            assert!(!key_eq(&a, &longer), "size {size} vs {}", size + 1);
        }
    }

    #[test]
    fn bench_item_has_three_header_bytes() {
        assert_eq!(item_size(16, 32, 0), 51);
        assert_eq!(item_size(16, 32, 1), 59);
        assert_eq!(item_size(0, 0, 0), 3);
        assert_eq!(item_size(128, 0, 0), 132);
    }

    proptest! {
        #[test]
        fn header_round_trip(
            db in 0u8..16,
            key_size in 0usize..100_000,
            value_size in 0usize..5_000_000,
            expires_at in prop_oneof![Just(0u64), 1u64..],
        ) {
            let size = item_size(key_size, value_size, expires_at);
            let mut bytes = vec![0u8; size];
            let header_size = header_write(&mut bytes, db, key_size, value_size, expires_at, ItemKind::Compact);
            let layout = layout(&bytes);
            prop_assert_eq!(layout.db, db);
            prop_assert_eq!(layout.expires_at, expires_at);
            prop_assert_eq!(layout.kind, ItemKind::Compact);
            prop_assert_eq!(layout.key.clone(), header_size..header_size + key_size);
            prop_assert_eq!(layout.size(), size);
        }
    }
}
