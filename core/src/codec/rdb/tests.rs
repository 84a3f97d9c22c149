//! Golden payloads from redis-server 7.0.15 (`DUMP` over a socket, as hex): floe reads
//! each, and writes the same bytes where it chooses Redis's encoding.

use std::vec::Vec;

use super::*;
use crate::store::hash::HashView;

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(&text[index..index + 2], 16).expect("hex"))
        .collect()
}

fn restored(payload: &[u8]) -> Result<Vec<u8>, PayloadError> {
    let object = Object::decode(payload)?;
    let mut value = std::vec![0u8; object.value_size()];
    object.compose(&mut value);
    Ok(value)
}

fn dumped(value: Value<'_>) -> Vec<u8> {
    let mut payload = Vec::new();
    encode(value, &mut |bytes| payload.extend_from_slice(bytes));
    assert_eq!(payload.len(), encoded_size(value));
    payload
}

fn hash_pairs(value: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    HashView::new(value)
        .entries()
        .map(|entry| (entry.field.to_vec(), entry.value.to_vec()))
        .collect()
}

const STRING: &str = "000568656c6c6f0a006372df766534200a";
const INT8: &str = "00c07b0a0048e253e1007a67b9";
const INT16: &str = "00c1d08a0a00d57cb019a3f85d10";
const INT32: &str = "00c2a08601000a00f12403506f2fa674";
const LZF: &str = "00c30e404c016161e025000062e010000162620a0021a0da44ac2668a8";
const LISTPACK: &str = "102b2b00000008008266310382763103826632030c01816e02f178ec038362696704f4cb04fb711f01000009ff0a0028f33661e3d58ceb";
const LISTPACK_LZF: &str =
    "10c31b405b075b0000000400a461e01a000225a762e01d0006288178020101ff0a00e2279f23de0a42a1";

#[test]
fn crc64_matches_redis_check_value() {
    assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
}

#[test]
fn strings_from_redis_load_in_every_encoding() {
    assert_eq!(restored(&hex(STRING)).expect("raw"), b"hello");
    assert_eq!(restored(&hex(INT8)).expect("int8"), b"123");
    assert_eq!(restored(&hex(INT16)).expect("int16"), b"-30000");
    assert_eq!(restored(&hex(INT32)).expect("int32"), b"100000");
    let mut long = std::vec![b'a'; 48];
    long.extend_from_slice(&[b'b'; 28]);
    assert_eq!(restored(&hex(LZF)).expect("lzf"), long);
    assert!(Object::decode(&hex(LZF)).expect("lzf").is_string());
}

#[test]
fn strings_dump_as_redis_dumps_them() {
    assert_eq!(dumped(Value::String(b"hello")), hex(STRING));
    assert_eq!(dumped(Value::String(b"123")), hex(INT8));
    assert_eq!(dumped(Value::String(b"-30000")), hex(INT16));
    assert_eq!(dumped(Value::String(b"100000")), hex(INT32));
    // Not canonical integers: raw.
    for text in [&b"0123"[..], b"-0", b"+1", b"12345678901", b""] {
        let payload = dumped(Value::String(text));
        assert_eq!(payload[1] as usize, text.len(), "{text:?}");
        assert_eq!(restored(&payload).expect("round trip"), text);
    }
}

#[test]
fn hashes_from_redis_listpacks_load() {
    let value = restored(&hex(LISTPACK)).expect("listpack");
    let pairs = hash_pairs(&value);
    let expected: [(&[u8], &[u8]); 4] = [
        (b"f1", b"v1"),
        (b"f2", b"12"),
        (b"n", b"-5000"),
        (b"big", b"1234567890123"),
    ];
    assert_eq!(pairs.len(), 4);
    for ((field, value), (want_field, want_value)) in pairs.iter().zip(expected) {
        assert_eq!(
            (field.as_slice(), value.as_slice()),
            (want_field, want_value)
        );
    }
    let value = restored(&hex(LISTPACK_LZF)).expect("compressed listpack");
    let pairs = hash_pairs(&value);
    assert_eq!(pairs[0], (std::vec![b'a'; 36], std::vec![b'b'; 39]));
    assert_eq!(pairs[1], (b"x".to_vec(), b"1".to_vec()));
    assert!(crate::store::hash::is_valid(&value));
}

#[test]
fn hashes_dump_as_pairs_and_load_back() {
    let value = restored(&hex(LISTPACK)).expect("listpack");
    let payload = dumped(Value::Hash(HashView::new(&value)));
    assert_eq!(payload[0], TYPE_HASH_PAIRS);
    assert_eq!(restored(&payload).expect("pairs"), value);
    let mut big = std::vec![TYPE_HASH];
    for index in 0..300u32 {
        let field = std::format!("field-{index}");
        let value = std::format!("{}", index * 7);
        big.push(u8::try_from(field.len()).expect("small"));
        big.extend_from_slice(field.as_bytes());
        big.push(u8::try_from(value.len()).expect("small"));
        big.extend_from_slice(value.as_bytes());
    }
    let payload = dumped(Value::Hash(HashView::new(&big)));
    assert_eq!(restored(&payload).expect("300 pairs"), big);
}

#[test]
fn a_wrong_footer_is_version_or_checksum() {
    let good = hex(STRING);
    assert_eq!(
        restored(&good[..9]).err(),
        Some(PayloadError::VersionOrChecksum)
    );
    let mut flipped = good.clone();
    flipped[3] ^= 1;
    assert_eq!(
        restored(&flipped).err(),
        Some(PayloadError::VersionOrChecksum)
    );
    let mut newer = good.clone();
    let body = newer.len() - FOOTER_SIZE;
    newer[body] = 11;
    assert_eq!(
        restored(&newer).err(),
        Some(PayloadError::VersionOrChecksum)
    );
    assert_eq!(
        PayloadError::VersionOrChecksum.message(),
        "ERR DUMP payload version or checksum are wrong"
    );
    assert_eq!(PayloadError::BadData.message(), "ERR Bad data format");
}

/// A payload with a valid footer around `body`.
fn sealed(body: &[u8]) -> Vec<u8> {
    let mut payload = body.to_vec();
    payload.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &payload);
    payload.extend_from_slice(&crc.to_le_bytes());
    payload
}

#[test]
fn bad_objects_are_bad_data() {
    let bad: [&[u8]; 14] = [
        b"",                                                       // no type
        &[1, 0],                                   // a list (quicklist): not stored by floe
        &[TYPE_STRING, 5, b'a'],                   // cut short
        &[TYPE_STRING, 0xc4],                      // unknown special encoding
        &[TYPE_STRING, 0x82, 0],                   // unknown length prefix
        &[TYPE_STRING, 0xc3, 2, 3, 0, b'a'],       // LZF: back-reference before the start
        &[TYPE_STRING, 0xc3, 2, 5, 1, b'a', b'b'], // LZF: expands short of its size
        &[TYPE_STRING, 0xc3, 3, 1, 0, b'a', b'b'], // LZF: input left over
        &[TYPE_HASH_PAIRS, 0],                     // an empty hash
        &[TYPE_HASH_PAIRS, 1, 1, b'f'],            // a field without a value
        &[TYPE_HASH_LISTPACK, 7, 7, 0, 0, 0, 0, 0, 0xff], // an empty listpack
        &[TYPE_HASH_LISTPACK, 9, 9, 0, 0, 0, 1, 0, 1, 1, 0xff], // an odd entry count
        &[TYPE_HASH_LISTPACK, 7, 8, 0, 0, 0, 0, 0, 0xff], // a wrong total size
        &[TYPE_HASH_LISTPACK, 9, 9, 0, 0, 0, 2, 0, 0xf5, 1, 0xff], // an unknown entry
    ];
    for body in bad {
        assert_eq!(
            restored(&sealed(body)).err(),
            Some(PayloadError::BadData),
            "{body:?}"
        );
    }
}

#[test]
fn every_length_encoding_reads() {
    for size in [0usize, 63, 64, 16383, 16384, 70_000] {
        let text = std::vec![b'x'; size];
        let payload = dumped(Value::String(&text));
        assert_eq!(restored(&payload).expect("round trip"), text, "size={size}");
    }
    let mut wide = std::vec![TYPE_STRING, 0x81, 0, 0, 0, 0, 0, 0, 0, 2];
    wide.extend_from_slice(b"ab");
    assert_eq!(restored(&sealed(&wide)).expect("64-bit length"), b"ab");
}

#[test]
fn listpack_integers_of_every_width_read() {
    // Entries: 7-bit 5, 13-bit -2, int16 -300, int24 70000, int32 -2^31, int64 2^40.
    let mut entries: Vec<u8> = Vec::new();
    let mut entry = |bytes: &[u8]| {
        entries.extend_from_slice(bytes);
        entries.push(u8::try_from(bytes.len()).expect("small"));
    };
    entry(&[5]);
    entry(&[0xdf, 0xfe]);
    entry(&[0xf1, 0xd4, 0xfe]);
    entry(&[0xf2, 0x70, 0x11, 0x01]);
    entry(&[0xf3, 0, 0, 0, 0x80]);
    entry(&[0xf4, 0, 0, 0, 0, 0, 1, 0, 0]);
    let total = 6 + entries.len() + 1;
    let mut listpack = Vec::new();
    listpack.extend_from_slice(&u32::try_from(total).expect("small").to_le_bytes());
    listpack.extend_from_slice(&6u16.to_le_bytes());
    listpack.extend_from_slice(&entries);
    listpack.push(0xff);
    let mut body = std::vec![TYPE_HASH_LISTPACK, u8::try_from(total).expect("small")];
    body.extend_from_slice(&listpack);
    let value = restored(&sealed(&body)).expect("integers");
    let pairs = hash_pairs(&value);
    assert_eq!(pairs[0], (b"5".to_vec(), b"-2".to_vec()));
    assert_eq!(pairs[1], (b"-300".to_vec(), b"70000".to_vec()));
    assert_eq!(
        pairs[2],
        (b"-2147483648".to_vec(), b"1099511627776".to_vec())
    );
}

/// Every truncation and every single-bit flip of every golden payload, resealed so the
/// parser sees it: decode never panics, and what decodes composes into a valid value.
#[test]
fn mangled_payloads_never_panic_and_never_half_decode() {
    for golden in [STRING, INT8, INT16, INT32, LZF, LISTPACK, LISTPACK_LZF] {
        let golden = hex(golden);
        let body = &golden[..golden.len() - FOOTER_SIZE];
        let mut bodies: Vec<Vec<u8>> = (0..body.len()).map(|size| body[..size].to_vec()).collect();
        for index in 0..body.len() {
            for bit in 0..8 {
                let mut flipped = body.to_vec();
                flipped[index] ^= 1 << bit;
                bodies.push(flipped);
            }
        }
        for body in bodies {
            let payload = sealed(&body);
            if let Ok(object) = Object::decode(&payload) {
                let mut value = std::vec![0u8; object.value_size()];
                object.compose(&mut value);
                if !object.is_string() {
                    assert!(crate::store::hash::is_valid(&value), "{body:?}");
                }
            }
        }
    }
}
