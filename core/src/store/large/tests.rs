//! Tests of the large form's shared pieces: linear hashing's splits, headers and part keys.

use super::*;

/// Splitting part `split_source` into itself and part `count` moves each of its
/// elements to one of the two, and no other element moves: the rule HSCAN's cursor
/// and every part write rely on.
#[test]
fn a_split_moves_elements_of_one_part_to_the_new_one() {
    for count in 1..300u32 {
        let header = Header {
            type_byte: TYPE_LARGE_HASH,
            len: 1,
            part_count: count,
            seed: 7,
            chain: Chain::default(),
            tree: Tree::default(),
        };
        let source = header.split_source();
        for hash in (0..2000u64).map(|n| n.wrapping_mul(0x9e37_79b9_7f4a_7c15)) {
            let before = address(hash, count);
            let after = address(hash, count + 1);
            assert!(before < count && after <= count);
            if before == source {
                assert!(after == source || after == count, "{hash} {count}");
            } else {
                assert_eq!(before, after, "{hash} {count}");
            }
        }
    }
}

#[test]
fn headers_round_trip_and_refuse_the_malformed() {
    let header = Header {
        type_byte: TYPE_LARGE_HASH,
        len: 1 << 40,
        part_count: 70_000,
        seed: u64::MAX,
        chain: Chain::default(),
        tree: Tree::default(),
    };
    assert_eq!(Header::read(&header.bytes()), Some(header));
    let mut bytes = header.bytes().to_vec();
    assert_eq!(Header::read(&bytes[..HEADER_SIZE - 1]), None);
    bytes[0] = b'h';
    assert_eq!(Header::read(&bytes), None);
    bytes[0] = TYPE_LARGE_SET;
    assert!(Header::read(&bytes).is_some());
    // A hash's bytes under a list's type byte are too short for a list's header.
    bytes[0] = TYPE_LARGE_LIST;
    assert_eq!(Header::read(&bytes), None);
    let empty = Header { len: 0, ..header };
    assert_eq!(Header::read(&empty.bytes()), None);
    let partless = Header {
        part_count: 0,
        ..header
    };
    assert_eq!(Header::read(&partless.bytes()), None);
}

#[test]
fn list_headers_round_trip_and_refuse_the_malformed() {
    let header = Header {
        type_byte: TYPE_LARGE_LIST,
        len: 10,
        part_count: 4,
        seed: u64::MAX - 1,
        chain: Chain {
            head: 7,
            tail: 3,
            next: 9,
            end: 12,
        },
        tree: Tree::default(),
    };
    assert_eq!(header.bytes().len(), LIST_HEADER_SIZE);
    assert_eq!(Header::read(&header.bytes()), Some(header));
    assert_eq!(header.part_bound(), 12);
    let none = crate::store::list::NODE_NONE;
    for bad in [
        Header { len: 0, ..header },
        Header {
            part_count: 11,
            ..header
        },
        Header {
            chain: Chain {
                head: 12,
                ..header.chain
            },
            ..header
        },
        Header {
            chain: Chain {
                tail: none,
                ..header.chain
            },
            ..header
        },
        Header {
            chain: Chain {
                end: none,
                ..header.chain
            },
            ..header
        },
        Header {
            chain: Chain {
                end: 3,
                head: 0,
                tail: 1,
                ..header.chain
            },
            ..header
        },
    ] {
        assert_eq!(Header::read(&bad.bytes()), None, "{bad:?}");
    }
    let bytes = header.bytes();
    assert_eq!(Header::read(&bytes[..LIST_HEADER_SIZE - 1]), None);
}

#[test]
fn part_keys_end_with_the_number() {
    let mut key = PartKey::new(b"owner").expect("short");
    assert_eq!(key.of(258), b"owner\x02\x01\x00\x00");
    assert_eq!(key.owner(), b"owner");
    assert_eq!(crate::storage::item::part_owner(key.of(3)), b"owner");
    assert!(PartKey::new(&[0u8; LARGE_KEY_SIZE_MAX + 1]).is_none());
}
