//! Helpers the fuzz targets share: an independent CRC, resealing mutated records so the
//! fuzzer's changes get past the checksum into the decoders' deeper checks, and the checks
//! of a collection's value (compact, a large collection's header, or one of its parts).

use floe_core::codec::record::field;

/// CRC-32 (IEEE), bit by bit: independent of the crate under test on purpose.
#[must_use]
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0_u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Recomputes the CRC of the log record at the start of `bytes` if its size field fits,
/// and returns that size.
pub fn record_checksum_fix(bytes: &mut [u8]) -> Option<usize> {
    if bytes.len() < field::KEY_START {
        return None;
    }
    let size = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    if size < field::KEY_START || size > bytes.len() {
        return None;
    }
    let checksum = crc32(&bytes[field::CHECKSUM.end..size]);
    bytes[field::CHECKSUM].copy_from_slice(&checksum.to_le_bytes());
    Some(size)
}

/// Checks a value that a record or a snapshot marks compact: its type's validator and
/// reader never panic, and a value the validator accepts reads back as a non-empty
/// collection of its type (a sorted set's entries strictly in Redis's order).
pub fn compact_check(value: &[u8]) {
    use floe_core::store::{hash, large, list, set, zset};
    match value.first() {
        Some(b'h') => {
            let view = hash::HashView::new(value);
            let count = view.entries().count();
            if hash::is_valid(value) {
                assert!(count > 0 && view.len() == count, "hash count={count}");
            }
        }
        Some(b's') => {
            let view = set::SetView::new(value);
            let count = view.members().count();
            if set::is_valid(value) {
                assert!(count > 0, "an accepted set is empty");
            }
        }
        Some(b'l') => {
            let view = list::ListView::new(value);
            let count = view.iter().count();
            if list::is_valid(value) {
                assert!(count > 0 && view.len() == count, "list count={count}");
                assert_eq!(view.nth(count - 1), view.iter().last());
            }
        }
        Some(b'z') => {
            let view = zset::ZsetView::new(value);
            let entries: Vec<_> = view.entries().collect();
            if zset::is_valid(value) {
                assert!(!entries.is_empty(), "an accepted sorted set is empty");
                for pair in entries.windows(2) {
                    let order =
                        zset::order(pair[0].score, pair[0].member, pair[1].score, pair[1].member);
                    assert_eq!(order, core::cmp::Ordering::Less, "entries out of order");
                }
            }
        }
        Some(b'H' | b'S' | b'L') => {
            // A large collection's header: its reader never panics, and one it accepts
            // writes back to exactly its bytes (nothing in it went unread).
            if let Some(header) = large::Header::read(value) {
                assert_eq!(&*header.bytes(), value, "header {header:?}");
            }
        }
        _ => {
            let kinds = [
                hash::is_valid(value),
                set::is_valid(value),
                list::is_valid(value),
                zset::is_valid(value),
            ];
            assert!(
                !kinds.contains(&true),
                "a value with an unknown type byte was accepted"
            );
        }
    }
}

/// Checks a value that a record or a snapshot marks as a large collection's part: the
/// validator never panics; a hash or set part it accepts reads as its compact type (an
/// emptied part is just its type byte), and a list node it accepts holds as many elements
/// as its header says.
pub fn part_check(value: &[u8]) {
    use floe_core::store::{large, list};
    if !large::part_is_valid(value) {
        return;
    }
    match value.first() {
        Some(b'n') => {
            let count = list::node_count(value);
            assert!(count > 0, "an accepted node is empty");
            let _links = (list::node_prev(value), list::node_next(value));
        }
        _ if value.len() > 1 => compact_check(value),
        _ => {}
    }
}

/// Checks a record's or a snapshot item's value by its kind: [`compact_check`] for a
/// compact collection or a large one's header, [`part_check`] for a part; a string's bytes
/// are anything.
pub fn item_value_check(kind: floe_core::codec::record::ItemKind, value: &[u8]) {
    use floe_core::codec::record::ItemKind;
    match kind {
        ItemKind::Compact => compact_check(value),
        ItemKind::Part => part_check(value),
        ItemKind::String => {}
    }
}
