//! Helpers the fuzz targets share: an independent CRC, and resealing mutated records so
//! the fuzzer's changes get past the checksum into the decoders' deeper checks.

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
