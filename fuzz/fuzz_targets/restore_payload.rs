//! Fuzz target: a RESTORE payload (DUMP's format: RDB type, object, version, CRC64) from
//! raw bytes, the trust boundary of RESTORE and of slot migration.
//!
//! Checks that decoding never panics, and that whatever decodes composes into exactly the
//! size it measured: a compact hash that is valid for recovery, or a string.
//!
//! Input: a mode byte, then the payload. With bit 0 of the mode set, the footer (RDB
//! version 10 and the CRC64) is appended, so that mutations reach the object's parser
//! instead of all dying at the checksum.
#![no_main]

use floe_core::codec::rdb::{FOOTER_SIZE, Object, RDB_VERSION, crc64};

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    let Some((&mode, data)) = input.split_first() else {
        return;
    };
    let mut payload = data.to_vec();
    if mode & 1 == 1 {
        payload.extend_from_slice(&RDB_VERSION.to_le_bytes());
        let crc = crc64(0, &payload);
        payload.extend_from_slice(&crc.to_le_bytes());
    }
    let Ok(object) = Object::decode(&payload) else {
        return;
    };
    assert!(payload.len() >= FOOTER_SIZE);
    let mut value = vec![0u8; object.value_size()];
    object.compose(&mut value);
    if !object.is_string() {
        assert!(floe_core::store::hash::is_valid(&value), "{value:?}");
    }
});
