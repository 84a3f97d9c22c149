//! Fuzz target: one log record decoded from raw bytes.
//!
//! Checks that decoding never panics, that a view's accessors stay in bounds once
//! `new_checked` accepted it, and that whatever decodes re-encodes to exactly the bytes it
//! came from (the encoding is canonical). A compact collection's value (hash, set, list,
//! sorted set, or a large collection's header) goes through its type's validator and
//! reader (`compact_check`), and a large collection's part through the part validator and
//! its reader (`part_check`).
//!
//! Input: a mode byte, then the record bytes. With bit 0 of the mode set, the checksum is
//! recomputed before decoding, so that mutations reach the checks after the checksum
//! (version, kind, flags, database, fields, commit) instead of all dying at the CRC.
#![no_main]

use floe_core::codec::record::{Body, LogRecord, Record, RecordView, field};
use floe_fuzz::{item_value_check, record_checksum_fix};

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    let Some((&mode, data)) = input.split_first() else {
        return;
    };
    let mut bytes = data.to_vec();
    if mode & 1 == 1 {
        let _resealed = record_checksum_fix(&mut bytes);
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
        if let Body::Standalone(Record::Set {
            value, value_kind, ..
        })
        | Body::Intent(Record::Set {
            value, value_kind, ..
        }) = record.body
        {
            item_value_check(value_kind, value);
        }
        assert_eq!(
            encoded,
            &data[..size],
            "{record:?} does not re-encode to its bytes"
        );
    }
});
