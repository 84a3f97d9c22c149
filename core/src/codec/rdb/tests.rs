//! Golden payloads from redis-server 7.0.15 (`DUMP` over a socket, as hex): floe reads
//! each, and writes the same bytes where it chooses Redis's encoding.

use std::vec::Vec;

use super::*;
use crate::store::hash::{HashRead, HashView};
use crate::store::list::{ListRead, ListView};
use crate::store::set::{SetRead, SetView};
use crate::store::zset::ZsetView;

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
    let payload = dumped(Value::Hash(HashRead::Compact(HashView::new(&value))));
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
    let payload = dumped(Value::Hash(HashRead::Compact(HashView::new(&big))));
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
        &[3, 0],                                          // a zset with text scores: not read
        &[TYPE_STRING, 5, b'a'],                          // cut short
        &[TYPE_STRING, 0xc4],                             // unknown special encoding
        &[TYPE_STRING, 0x82, 0],                          // unknown length prefix
        &[TYPE_STRING, 0xc3, 2, 3, 0, b'a'],              // LZF: back-reference before the start
        &[TYPE_STRING, 0xc3, 2, 5, 1, b'a', b'b'],        // LZF: expands short of its size
        &[TYPE_STRING, 0xc3, 3, 1, 0, b'a', b'b'],        // LZF: input left over
        &[TYPE_HASH_PAIRS, 0],                            // an empty hash
        &[TYPE_HASH_PAIRS, 1, 1, b'f'],                   // a field without a value
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

/// Every truncation and every single-bit flip of every golden payload is refused; resealed
/// so the parser sees it, decode never panics, and what decodes composes into a valid
/// value (distinct members, an intset in order).
#[test]
fn mangled_payloads_never_panic_and_never_half_decode() {
    let goldens = [
        STRING,
        INT8,
        INT16,
        INT32,
        LZF,
        LISTPACK,
        LISTPACK_LZF,
        SET_INTSET,
        SET_INTSET_WIDE,
        SET_INTSET_NEGATIVE,
        SET_STRINGS,
        SET_INTEGER_STRINGS,
        LIST_QUICKLIST,
        LIST_QUICKLIST_LZF,
        LIST_QUICKLIST_NODES,
        ZSET_LISTPACK,
        ZSET_LISTPACK_LZF,
        ZSET_PAIRS,
        ZSET_PAIRS_LZF,
    ];
    for golden in goldens {
        let golden = hex(golden);
        // Unsealed, every truncation and every bit flip fails the footer.
        for size in 0..golden.len() {
            assert_eq!(
                restored(&golden[..size]).err(),
                Some(PayloadError::VersionOrChecksum)
            );
        }
        for index in 0..golden.len() {
            for bit in 0..8 {
                let mut flipped = golden.clone();
                flipped[index] ^= 1 << bit;
                assert!(restored(&flipped).is_err(), "byte {index} bit {bit}");
            }
        }
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
                    assert!(compact_valid(&value), "{body:?}");
                }
            }
        }
    }
}

const SET_INTSET: &str =
    "0b1c0400000005000000fbffffff010000000200000003000000a08601000a00d365f8d8af8752ac";
const SET_INTSET_WIDE: &str =
    "0b2008000000030000000100000000000000701101000000000000f2052a010000000a0021eeb1abeaf7dade";
const SET_INTSET_NEGATIVE: &str =
    "0b14040000000300000090eefeffffffffff000000000a0003acd2af2c0d1cf5";
const SET_STRINGS: &str = "02030162016301610a00b294da2e4ecda6fc";
/// A hash-table set of integers (Redis's order 6, 7, 5), integer-encoded strings.
const SET_INTEGER_STRINGS: &str = "0203c006c007c0050a00acd973c3066adcd5";
const LIST_QUICKLIST: &str = "120102121200000004008161028162020c01ded402ff0a00daca15c7303d5d50";
const LIST_QUICKLIST_LZF: &str = "120102c31f406c076c00000003009e61e01400011fa1e0141e40000122a04005e013000121ff0a00426d6245a71e132f";
const LIST_QUICKLIST_NODES: &str = "1203020d0d0000000200816102816202ff020d0d0000000200816302816402ff020a0a0000000100816502ff0a00ec5236a76020a1db";
const ZSET_LISTPACK: &str =
    "111f1f0000000800816302dfff02816102010181620283322e35048164020301ff0a00305ca5b3dbad0d9a";
const ZSET_LISTPACK_LZF: &str = "11c325405e075e00000006009861e00d0006631983302e3504e00f1e0361190101e00f1b0062201b00ff0a00571617f9ba0d2dad";
/// A skiplist sorted set, written highest score first.
const ZSET_PAIRS: &str = "0502017900000000000000400178000000000000f83f0a000e68fd67d0e51383";
const ZSET_PAIRS_LZF: &str = "0502c3092c016161e01f000161620000000000000040c3092c016161e01f00016161000000000000f03f0a00fabc39f9974f9b58";

/// Whether `value` is a compact collection with every invariant floe's encodings promise,
/// the O(n²) ones included: distinct set and sorted set members, an intset in order.
fn compact_valid(value: &[u8]) -> bool {
    if crate::store::set::is_valid(value) {
        let members: Vec<&[u8]> = SetView::new(value).members().collect();
        let distinct = std::collections::BTreeSet::from_iter(&members).len() == members.len();
        let ordered = !crate::store::set::all_integers(value)
            || members.windows(2).all(|pair| {
                let number = |text: &[u8]| crate::text::parse_integer_strict(text);
                number(pair[0]) < number(pair[1])
            });
        return distinct && ordered;
    }
    if crate::store::zset::is_valid(value) {
        let members: Vec<&[u8]> = ZsetView::new(value)
            .entries()
            .map(|entry| entry.member)
            .collect();
        return std::collections::BTreeSet::from_iter(&members).len() == members.len();
    }
    crate::store::hash::is_valid(value) || crate::store::list::is_valid(value)
}

fn set_members(value: &[u8]) -> Vec<Vec<u8>> {
    assert!(crate::store::set::is_valid(value));
    SetView::new(value).members().map(<[u8]>::to_vec).collect()
}

fn list_elements(value: &[u8]) -> Vec<Vec<u8>> {
    assert!(crate::store::list::is_valid(value));
    ListView::new(value).iter().map(<[u8]>::to_vec).collect()
}

fn zset_entries(value: &[u8]) -> Vec<(Vec<u8>, f64)> {
    assert!(crate::store::zset::is_valid(value));
    ZsetView::new(value)
        .entries()
        .map(|entry| (entry.member.to_vec(), entry.score))
        .collect()
}

fn texts(items: &[&str]) -> Vec<Vec<u8>> {
    items.iter().map(|item| item.as_bytes().to_vec()).collect()
}

#[test]
fn sets_from_redis_load_in_every_encoding() {
    let members = |golden| set_members(&restored(&hex(golden)).expect(golden));
    assert_eq!(members(SET_INTSET), texts(&["-5", "1", "2", "3", "100000"]));
    assert_eq!(
        members(SET_INTSET_WIDE),
        texts(&["1", "70000", "5000000000"])
    );
    assert_eq!(members(SET_INTSET_NEGATIVE), texts(&["-70000", "-1", "0"]));
    assert_eq!(members(SET_STRINGS), texts(&["b", "c", "a"]));
    // Integers in a hash-table payload are put in numeric order, floe's intset rule.
    assert_eq!(members(SET_INTEGER_STRINGS), texts(&["5", "6", "7"]));
}

#[test]
fn sets_dump_as_intsets_when_floe_keeps_an_intset() {
    for golden in [SET_INTSET, SET_INTSET_WIDE, SET_INTSET_NEGATIVE] {
        let value = restored(&hex(golden)).expect(golden);
        assert_eq!(
            dumped(Value::Set(SetRead::Compact(SetView::new(&value)))),
            hex(golden)
        );
    }
    for golden in [SET_STRINGS, SET_INTEGER_STRINGS] {
        let value = restored(&hex(golden)).expect(golden);
        let payload = dumped(Value::Set(SetRead::Compact(SetView::new(&value))));
        assert_eq!(restored(&payload).expect("round trip"), value);
    }
    // 513 integers: not an intset in floe, so type 2 in stored order, loaded unchanged.
    let mut big = std::vec![crate::store::TYPE_SET];
    for index in (0..513u32).rev() {
        let text = std::format!("{index}");
        big.push(u8::try_from(text.len()).expect("small"));
        big.extend_from_slice(text.as_bytes());
    }
    let payload = dumped(Value::Set(SetRead::Compact(SetView::new(&big))));
    assert_eq!(payload[0], TYPE_SET_STRINGS);
    assert_eq!(restored(&payload).expect("513 members"), big);
}

#[test]
fn lists_from_redis_load_in_every_node_kind() {
    let elements = |golden| list_elements(&restored(&hex(golden)).expect(golden));
    assert_eq!(elements(LIST_QUICKLIST), texts(&["a", "b", "12", "-300"]));
    let long: Vec<Vec<u8>> = [30, 33, 32].iter().map(|&n| std::vec![b'a'; n]).collect();
    assert_eq!(elements(LIST_QUICKLIST_LZF), long);
    assert_eq!(
        elements(LIST_QUICKLIST_NODES),
        texts(&["a", "b", "c", "d", "e"])
    );
    // A plain node holds one element; an empty packed node is skipped.
    let empty_listpack = [7, 7, 0, 0, 0, 0, 0, 0xff];
    let mut body = std::vec![TYPE_LIST_QUICKLIST, 2, 1, 3, b'x', b'y', b'z', 2];
    body.extend_from_slice(&empty_listpack);
    let value = restored(&sealed(&body)).expect("plain node");
    assert_eq!(list_elements(&value), texts(&["xyz"]));
}

#[test]
fn lists_dump_as_plain_lists_and_load_back() {
    for golden in [LIST_QUICKLIST, LIST_QUICKLIST_LZF, LIST_QUICKLIST_NODES] {
        let value = restored(&hex(golden)).expect(golden);
        let payload = dumped(Value::List(ListRead::Compact(ListView::new(&value))));
        assert_eq!(payload[0], TYPE_LIST_STRINGS);
        assert_eq!(restored(&payload).expect("round trip"), value);
    }
}

#[test]
fn sorted_sets_from_redis_load_sorted() {
    let entries = |golden| zset_entries(&restored(&hex(golden)).expect(golden));
    let expected = std::vec![
        (b"c".to_vec(), -1.0),
        (b"a".to_vec(), 1.0),
        (b"b".to_vec(), 2.5),
        (b"d".to_vec(), 3.0),
    ];
    assert_eq!(entries(ZSET_LISTPACK), expected);
    let a24 = |last: u8| {
        let mut member = std::vec![b'a'; 23];
        member.push(last);
        member
    };
    assert_eq!(
        entries(ZSET_LISTPACK_LZF),
        std::vec![(a24(b'c'), 0.5), (a24(b'a'), 1.0), (a24(b'b'), 1.0)]
    );
    assert_eq!(
        entries(ZSET_PAIRS),
        std::vec![(b"x".to_vec(), 1.5), (b"y".to_vec(), 2.0)]
    );
    let mut a44 = std::vec![b'a'; 44];
    let low = a44.clone();
    *a44.last_mut().expect("44") = b'b';
    assert_eq!(entries(ZSET_PAIRS_LZF), std::vec![(low, 1.0), (a44, 2.0)]);
}

#[test]
fn sorted_sets_dump_as_zset2_and_load_back() {
    for golden in [ZSET_LISTPACK, ZSET_LISTPACK_LZF, ZSET_PAIRS, ZSET_PAIRS_LZF] {
        let value = restored(&hex(golden)).expect(golden);
        let payload = dumped(Value::SortedSet(crate::store::zset::ZsetRead::Compact(
            ZsetView::new(&value),
        )));
        assert_eq!(payload[0], TYPE_ZSET_PAIRS);
        assert_eq!(restored(&payload).expect("round trip"), value);
    }
    // Scores in every order, infinities and -0 (stored as 0).
    let mut body = std::vec![TYPE_ZSET_PAIRS, 4];
    for (member, score) in [
        (b"m", 0.0),
        (b"z", f64::INFINITY),
        (b"a", -0.0),
        (b"q", f64::NEG_INFINITY),
    ] {
        body.extend_from_slice(&[1, member[0]]);
        body.extend_from_slice(&score.to_le_bytes());
    }
    let entries = zset_entries(&restored(&sealed(&body)).expect("orders"));
    assert_eq!(
        entries,
        std::vec![
            (b"q".to_vec(), f64::NEG_INFINITY),
            (b"a".to_vec(), 0.0),
            (b"m".to_vec(), 0.0),
            (b"z".to_vec(), f64::INFINITY),
        ]
    );
    assert!(entries[1].1.is_sign_positive());
}

/// One listpack string (size-prefixed for a payload) of `entries`, each already encoded.
fn listpack_string(entries: &[&[u8]]) -> Vec<u8> {
    let mut data = Vec::new();
    for entry in entries {
        data.extend_from_slice(entry);
        data.push(u8::try_from(entry.len()).expect("small"));
    }
    let total = 6 + data.len() + 1;
    let mut string = std::vec![u8::try_from(total).expect("small")];
    string.extend_from_slice(&u32::try_from(total).expect("small").to_le_bytes());
    string.extend_from_slice(&u16::try_from(entries.len()).expect("small").to_le_bytes());
    string.extend_from_slice(&data);
    string.push(0xff);
    string
}

#[test]
fn bad_collections_are_bad_data() {
    let nan = f64::NAN.to_le_bytes();
    let mut zset_nan = std::vec![TYPE_ZSET_PAIRS, 1, 1, b'a'];
    zset_nan.extend_from_slice(&nan);
    let mut zset_repeat = std::vec![TYPE_ZSET_PAIRS, 2, 1, b'a'];
    zset_repeat.extend_from_slice(&1.0f64.to_le_bytes());
    zset_repeat.extend_from_slice(&[1, b'a']);
    zset_repeat.extend_from_slice(&2.0f64.to_le_bytes());
    let mut zset_listpack_repeat = std::vec![TYPE_ZSET_LISTPACK];
    zset_listpack_repeat.extend_from_slice(&listpack_string(&[b"\x81a", &[1], b"\x81a", &[2]]));
    let mut zset_listpack_odd = std::vec![TYPE_ZSET_LISTPACK];
    zset_listpack_odd.extend_from_slice(&listpack_string(&[b"\x81a"]));
    let mut zset_listpack_nan = std::vec![TYPE_ZSET_LISTPACK];
    zset_listpack_nan.extend_from_slice(&listpack_string(&[b"\x81a", b"\x83nan"]));
    let mut zset_listpack_word = std::vec![TYPE_ZSET_LISTPACK];
    zset_listpack_word.extend_from_slice(&listpack_string(&[b"\x81a", b"\x81x"]));
    let mut list_empty_listpack = std::vec![TYPE_LIST_QUICKLIST, 1, 2];
    list_empty_listpack.extend_from_slice(&listpack_string(&[]));
    let intset = |width: u32, count: u32, values: &[u8]| {
        let mut body = std::vec![
            TYPE_SET_INTSET,
            u8::try_from(8 + values.len()).expect("small")
        ];
        body.extend_from_slice(&width.to_le_bytes());
        body.extend_from_slice(&count.to_le_bytes());
        body.extend_from_slice(values);
        body
    };
    let bad: [Vec<u8>; 19] = [
        std::vec![TYPE_SET_STRINGS, 0],                   // an empty set
        std::vec![TYPE_SET_STRINGS, 2, 1, b'a', 1, b'a'], // a repeated member
        std::vec![TYPE_SET_STRINGS, 2, 0xc0, 7, 1, b'7'], // the same member, two encodings
        std::vec![TYPE_SET_STRINGS, 2, 1, b'a'],          // cut short
        intset(2, 0, &[]),                                // an empty intset
        intset(3, 1, &[1, 0, 0]),                         // a width not 2, 4 or 8
        intset(2, 2, &[1, 0]),                            // count and size disagree
        intset(2, 2, &[2, 0, 1, 0]),                      // descending
        intset(2, 2, &[1, 0, 1, 0]),                      // repeated
        std::vec![TYPE_LIST_STRINGS, 0],                  // an empty list
        std::vec![TYPE_LIST_QUICKLIST, 0],                // no nodes
        std::vec![TYPE_LIST_QUICKLIST, 1, 3, 1, b'x'],    // an unknown container
        list_empty_listpack,                              // only an empty node
        zset_nan,                                         // a NaN score
        zset_repeat,                                      // a repeated member
        zset_listpack_repeat,                             // a repeated member (listpack)
        zset_listpack_odd,                                // a member without a score
        zset_listpack_nan,                                // a NaN score (listpack)
        zset_listpack_word,                               // a score that is not a number
    ];
    for body in bad {
        assert_eq!(
            restored(&sealed(&body)).err(),
            Some(PayloadError::BadData),
            "{body:?}"
        );
    }
}

/// Many members: the repeat filter's walk-back path and the selection sort at size.
#[test]
fn large_sets_and_sorted_sets_check_and_sort() {
    let mut set = std::vec![TYPE_SET_STRINGS, 0x43, 0xe8]; // 1000 members
    for index in 0..1000u32 {
        let text = std::format!("m{index}");
        set.push(u8::try_from(text.len()).expect("small"));
        set.extend_from_slice(text.as_bytes());
    }
    assert_eq!(
        set_members(&restored(&sealed(&set)).expect("1000")).len(),
        1000
    );
    set[1..3].copy_from_slice(&[0x43, 0xe9]);
    set.extend_from_slice(b"\x04m999");
    assert_eq!(restored(&sealed(&set)).err(), Some(PayloadError::BadData));
    // Descending scores: composed by selection.
    let mut zset = std::vec![TYPE_ZSET_PAIRS, 0x41, 0x2c]; // 300 entries
    for index in (0..300u32).rev() {
        let text = std::format!("m{index}");
        zset.push(u8::try_from(text.len()).expect("small"));
        zset.extend_from_slice(text.as_bytes());
        zset.extend_from_slice(&f64::from(index).to_le_bytes());
    }
    let entries = zset_entries(&restored(&sealed(&zset)).expect("300"));
    assert_eq!(entries.len(), 300);
    assert!(entries.windows(2).all(|pair| pair[0].1 < pair[1].1));
    // Neither ascending nor descending: composed by selection, up to its limit.
    let shuffled = |count: u32| {
        let mut zset = std::vec![TYPE_ZSET_PAIRS, 0x80];
        let mut length = count.to_le_bytes();
        length.reverse(); // RDB lengths are big-endian.
        zset.extend_from_slice(&length);
        for index in 0..count {
            let score = f64::from((index * 7919) % count);
            let text = std::format!("m{index}");
            zset.push(u8::try_from(text.len()).expect("small"));
            zset.extend_from_slice(text.as_bytes());
            zset.extend_from_slice(&score.to_le_bytes());
        }
        restored(&sealed(&zset))
    };
    let entries = zset_entries(&shuffled(1000).expect("shuffled"));
    assert!(entries.windows(2).all(|pair| pair[0].1 < pair[1].1));
    assert_eq!(shuffled(4097).err(), Some(PayloadError::BadData));
}
