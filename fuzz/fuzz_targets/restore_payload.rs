//! Fuzz target: a RESTORE payload (DUMP's format: RDB type, object, version, CRC64) from
//! raw bytes, the trust boundary of RESTORE and of slot migration.
//!
//! Checks that decoding never panics, and that whatever decodes composes into exactly the
//! size it measured: a string, or a compact hash, set, list or sorted set that is valid
//! for recovery (with distinct members in a set or sorted set, which recovery's check
//! does not look for).
//!
//! Input: a mode byte, then the payload. With bit 0 of the mode set, the footer (RDB
//! version 10 and the CRC64) is appended, so that mutations reach the object's parser
//! instead of all dying at the checksum.
#![no_main]

use floe_core::codec::rdb::{FOOTER_SIZE, Object, RDB_VERSION, crc64};
use floe_core::store;

fn assert_distinct(members: &[&[u8]]) {
    let distinct: std::collections::HashSet<&[u8]> = members.iter().copied().collect();
    assert_eq!(distinct.len(), members.len(), "{members:?}");
}

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
    if object.is_string() {
        return;
    }
    match value.first() {
        Some(&floe_core::store::TYPE_HASH) => assert!(store::hash::is_valid(&value)),
        Some(&floe_core::store::TYPE_LIST) => assert!(store::list::is_valid(&value)),
        Some(&floe_core::store::TYPE_SET) => {
            assert!(store::set::is_valid(&value), "{value:?}");
            let members: Vec<&[u8]> = store::set::SetView::new(&value).members().collect();
            assert_distinct(&members);
        }
        Some(&floe_core::store::TYPE_ZSET) => {
            assert!(store::zset::is_valid(&value), "{value:?}");
            let view = store::zset::ZsetView::new(&value);
            let members: Vec<&[u8]> = view.entries().map(|entry| entry.member).collect();
            assert_distinct(&members);
        }
        _ => panic!("not a compact value: {value:?}"),
    }
});
