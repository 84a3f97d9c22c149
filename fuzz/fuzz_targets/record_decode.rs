//! Fuzz target: one log record decoded from raw bytes.
//!
//! Checks that decoding never panics, that a view's accessors stay in bounds once
//! `new_checked` accepted it, and that whatever decodes re-encodes to exactly the bytes it
//! came from (the encoding is canonical).
//!
//! Input: a mode byte, then the record bytes. With bit 0 of the mode set, the checksum is
//! recomputed before decoding, so that mutations reach the checks after the checksum
//! (version, kind, flags, database, fields, commit) instead of all dying at the CRC.
#![no_main]

use floe_core::codec::record::{LogRecord, RecordView, field};

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    let Some((&mode, data)) = input.split_first() else {
        return;
    };
    let mut bytes = data.to_vec();
    if mode & 1 == 1 {
        checksum_fix(&mut bytes);
    }
    let data = &bytes[..];

    if let Ok(view) = RecordView::new_checked(data) {
        let size = view.size() as usize;
        assert!(size <= data.len(), "size={size} len={}", data.len());
        assert_eq!(view.as_bytes().len(), size);
        assert_eq!(
            field::KEY_START + view.key().len() + view.value().len(),
            size
        );
        let _ = view.checksum_verify();
    }
    if let Ok((record, size)) = LogRecord::decode_bytes(data) {
        let size = size as usize;
        assert_eq!(record.encoded_size() as usize, size);
        let mut encoded = vec![0; size];
        record.encode(&mut encoded);
        assert_eq!(
            encoded,
            &data[..size],
            "{record:?} does not re-encode to its bytes"
        );
    }
});

/// Recomputes the CRC of the record at the start of `bytes`, if its size field fits.
fn checksum_fix(bytes: &mut [u8]) {
    if bytes.len() < field::KEY_START {
        return;
    }
    let size = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    if size < field::KEY_START || size > bytes.len() {
        return;
    }
    let checksum = crc32(&bytes[field::CHECKSUM.end..size]);
    bytes[field::CHECKSUM].copy_from_slice(&checksum.to_le_bytes());
}

/// CRC-32 (IEEE), bit by bit: independent of the crate under test on purpose.
fn crc32(bytes: &[u8]) -> u32 {
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
