//! Tests of [`super`]: the record codec's round trips, limits and malformed input.

use super::*;
use proptest::prelude::*;

// Golden records: the bytes of format version 1, written out by hand from the layout
// in docs/FORMAT.md and checked against an independent CRC-32 (Python's zlib.crc32).
// If one of these changes, the on-disk format changed.
const GOLDEN_SET: [u8; 44] = [
    0x2c, 0x00, 0x00, 0x00, 0x1e, 0xf7, 0x31, 0x1e, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x01, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x6b, 0x31, 0x76, 0x31,
];
const GOLDEN_DEL: [u8; 43] = [
    0x2b, 0x00, 0x00, 0x00, 0x13, 0xd3, 0x55, 0x28, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x02, 0x00, 0x02, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x6b, 0x65, 0x79,
];
const GOLDEN_EXPIRE_AT: [u8; 41] = [
    0x29, 0x00, 0x00, 0x00, 0xc8, 0xcf, 0xa7, 0x83, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x03, 0x00, 0x03, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x68, 0xe5, 0xcf, 0x8b, 0x01, 0x00, 0x00, 0x6b,
];
const GOLDEN_CLEAR_ONE: [u8; 40] = [
    0x28, 0x00, 0x00, 0x00, 0xf4, 0xf3, 0xcc, 0x5e, 0x13, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x04, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];
const GOLDEN_CLEAR_ALL: [u8; 40] = [
    0x28, 0x00, 0x00, 0x00, 0x92, 0x8d, 0xcb, 0xa2, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x04, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];
const GOLDEN_SWAP_DB: [u8; 40] = [
    0x28, 0x00, 0x00, 0x00, 0xcf, 0x29, 0x67, 0x13, 0x15, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x06, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];
const GOLDEN_INTENT_SET: [u8; 41] = [
    0x29, 0x00, 0x00, 0x00, 0x05, 0xf6, 0x29, 0x08, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x61,
];
const GOLDEN_COMMIT: [u8; 40] = [
    0x28, 0x00, 0x00, 0x00, 0x8c, 0x8d, 0xbb, 0xaa, 0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

fn encode_to_vec(record: &LogRecord<'_>) -> Vec<u8> {
    let mut bytes = vec![0; record.encoded_size() as usize];
    record.encode(&mut bytes);
    bytes
}

fn decode(bytes: &[u8]) -> Result<LogRecord<'_>, DecodeError> {
    LogRecord::decode_bytes(bytes).map(|(record, size)| {
        assert!(size as usize <= bytes.len());
        record
    })
}

/// Recomputes the checksum after a test edits a field, so the edit is seen as intact.
fn checksum_fix(bytes: &mut [u8]) {
    let size = read_u32(bytes, field::SIZE) as usize;
    let checksum = crc32fast::hash(&bytes[field::CHECKSUM.end..size]);
    bytes[field::CHECKSUM].copy_from_slice(&checksum.to_le_bytes());
}

fn golden_cases() -> [(LogRecord<'static>, &'static [u8]); 8] {
    let standalone = |lsn, record| LogRecord {
        lsn,
        body: Body::Standalone(record),
    };
    [
        (
            standalone(
                0x10,
                Record::Set {
                    db: 1,
                    key: b"k1",
                    value: b"v1",
                    expires_at: 0x0102_0304_0506_0708,
                    value_kind: ItemKind::String,
                },
            ),
            &GOLDEN_SET,
        ),
        (
            standalone(0x11, Record::Del { db: 2, key: b"key" }),
            &GOLDEN_DEL,
        ),
        (
            standalone(
                0x12,
                Record::ExpireAt {
                    db: 3,
                    key: b"k",
                    expires_at: 1_700_000_000_000,
                },
            ),
            &GOLDEN_EXPIRE_AT,
        ),
        (
            standalone(0x13, Record::Clear { db: Some(4) }),
            &GOLDEN_CLEAR_ONE,
        ),
        (
            standalone(0x14, Record::Clear { db: None }),
            &GOLDEN_CLEAR_ALL,
        ),
        (
            standalone(
                0x15,
                Record::SwapDb {
                    db_first: 2,
                    db_second: 9,
                },
            ),
            &GOLDEN_SWAP_DB,
        ),
        (
            LogRecord {
                lsn: 0x20,
                body: Body::Intent(Record::Set {
                    db: 0,
                    key: b"a",
                    value: b"",
                    expires_at: 0,
                    value_kind: ItemKind::String,
                }),
            },
            &GOLDEN_INTENT_SET,
        ),
        (
            LogRecord {
                lsn: 0x21,
                body: Body::Commit(Commit {
                    lsn_first: 0x20,
                    record_count: 1,
                }),
            },
            &GOLDEN_COMMIT,
        ),
    ]
}

#[test]
fn record_golden_encode() {
    for (record, golden) in golden_cases() {
        assert_eq!(encode_to_vec(&record), golden, "{record:?}");
    }
}

#[test]
fn record_golden_decode() {
    for (record, golden) in golden_cases() {
        assert_eq!(
            LogRecord::decode_bytes(golden),
            Ok((record, golden.len() as u32))
        );
        let view = RecordView::new_checked(golden).unwrap();
        assert_eq!(view.size() as usize, golden.len());
        assert_eq!(view.lsn(), record.lsn);
        assert_eq!(view.version(), RECORD_VERSION);
        assert_eq!(Kind::try_from(view.kind_tag()), Ok(record.kind()));
        assert!(view.checksum_verify());
    }
}

#[test]
fn record_golden_convenience_encoders() {
    let set = Record::Set {
        db: 1,
        key: b"k1",
        value: b"v1",
        expires_at: 0x0102_0304_0506_0708,
        value_kind: ItemKind::String,
    };
    let mut bytes = vec![0; set.encoded_size() as usize];
    set.encode(0x10, &mut bytes);
    assert_eq!(bytes, GOLDEN_SET);

    let intent = Record::Set {
        db: 0,
        key: b"a",
        value: b"",
        expires_at: 0,
        value_kind: ItemKind::String,
    };
    let mut group = vec![0; group_encoded_size([intent]) as usize];
    assert_eq!(encode_group([intent], 0x20, &mut group), 0x21);
    assert_eq!(group[..GOLDEN_INTENT_SET.len()], GOLDEN_INTENT_SET);
    assert_eq!(group[GOLDEN_INTENT_SET.len()..], GOLDEN_COMMIT);

    let mut commit = [0; Commit::ENCODED_SIZE as usize];
    Commit {
        lsn_first: 0x20,
        record_count: 1,
    }
    .encode(0x21, &mut commit);
    assert_eq!(commit, GOLDEN_COMMIT);
}

#[test]
fn record_kind_tags() {
    for tag in 0..=u8::MAX {
        match Kind::try_from(tag) {
            Ok(kind) => assert_eq!(u8::from(kind), tag),
            Err(error) => {
                assert!(tag == 0 || tag > 6, "tag={tag}");
                assert_eq!(error, DecodeError::UnknownKind(tag));
            }
        }
    }
}

#[test]
fn record_decode_truncated() {
    for size in 0..GOLDEN_SET.len() {
        assert_eq!(
            decode(&GOLDEN_SET[..size]),
            Err(DecodeError::Truncated),
            "size={size}"
        );
    }
    // Trailing bytes after the record are not part of it.
    let mut longer = GOLDEN_SET.to_vec();
    longer.extend_from_slice(&[0xAA; 9]);
    assert_eq!(
        LogRecord::decode_bytes(&longer).map(|(_, size)| size),
        Ok(44)
    );
}

#[test]
fn record_decode_size_invalid() {
    let size_set = |size: u32| {
        let mut bytes = GOLDEN_SET.to_vec();
        bytes[field::SIZE].copy_from_slice(&size.to_le_bytes());
        bytes
    };
    for size in [0, 39, 43, 45, RECORD_SIZE_MAX + 1, u32::MAX] {
        assert_eq!(
            decode(&size_set(size)),
            Err(DecodeError::SizeInvalid),
            "size={size}"
        );
    }
    let mut key_large = GOLDEN_SET.to_vec();
    key_large[field::KEY_SIZE].copy_from_slice(&(RECORD_KEY_SIZE_MAX + 1).to_le_bytes());
    assert_eq!(decode(&key_large), Err(DecodeError::SizeInvalid));
    let mut value_large = GOLDEN_SET.to_vec();
    value_large[field::VALUE_SIZE].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(decode(&value_large), Err(DecodeError::SizeInvalid));
}

#[test]
fn record_decode_checksum_mismatch() {
    // Every single bit flip after the size field is caught (flips in SIZE are size
    // errors, see record_decode_size_invalid).
    for bit in field::CHECKSUM.start * 8..GOLDEN_SET.len() * 8 {
        let mut bytes = GOLDEN_SET.to_vec();
        bytes[bit / 8] ^= 1 << (bit % 8);
        let error = decode(&bytes).unwrap_err();
        assert!(
            matches!(
                error,
                DecodeError::ChecksumMismatch | DecodeError::SizeInvalid
            ),
            "bit={bit} {error:?}"
        );
    }
    let mut bytes = GOLDEN_SET.to_vec();
    bytes[42] ^= 0x01;
    assert_eq!(decode(&bytes), Err(DecodeError::ChecksumMismatch));
}

#[test]
fn record_decode_unsupported_version() {
    for version in [0, 2, 255] {
        let mut bytes = GOLDEN_DEL.to_vec();
        bytes[field::VERSION] = version;
        checksum_fix(&mut bytes);
        assert_eq!(
            decode(&bytes),
            Err(DecodeError::UnsupportedVersion(version))
        );
    }
}

#[test]
fn record_decode_unknown_kind() {
    for tag in [0, 7, 0x80, 255] {
        let mut bytes = GOLDEN_CLEAR_ONE.to_vec();
        bytes[field::KIND] = tag;
        checksum_fix(&mut bytes);
        assert_eq!(decode(&bytes), Err(DecodeError::UnknownKind(tag)));
    }
}

#[test]
fn record_decode_flags_invalid() {
    for flags in [0x08, 0x80, 0xFF, FLAG_COMPACT | FLAG_PART] {
        let mut bytes = GOLDEN_SET.to_vec();
        bytes[field::FLAGS] = flags;
        checksum_fix(&mut bytes);
        assert_eq!(decode(&bytes), Err(DecodeError::FlagsInvalid(flags)));
    }
    // FLAG_COMPACT belongs to Set records only.
    let mut del = GOLDEN_DEL.to_vec();
    del[field::FLAGS] = FLAG_COMPACT;
    checksum_fix(&mut del);
    assert_eq!(decode(&del), Err(DecodeError::FlagsInvalid(FLAG_COMPACT)));
    // On a Set it says the value is a compact collection, and round-trips.
    for flags in [FLAG_COMPACT, FLAG_COMPACT | FLAG_INTENT] {
        let mut bytes = GOLDEN_SET.to_vec();
        bytes[field::FLAGS] = flags;
        checksum_fix(&mut bytes);
        let decoded = decode(&bytes).unwrap();
        let (Body::Standalone(record) | Body::Intent(record)) = decoded.body else {
            panic!("a Set decodes to a change");
        };
        assert!(matches!(
            record,
            Record::Set {
                value_kind: ItemKind::Compact,
                ..
            }
        ));
        assert_eq!(encode_to_vec(&decoded), bytes);
    }
    let mut commit = GOLDEN_COMMIT.to_vec();
    commit[field::FLAGS] = FLAG_INTENT;
    checksum_fix(&mut commit);
    assert_eq!(decode(&commit), Err(DecodeError::FlagsInvalid(FLAG_INTENT)));
}

#[test]
fn record_decode_database_invalid() {
    for golden in [
        &GOLDEN_SET[..],
        &GOLDEN_DEL,
        &GOLDEN_EXPIRE_AT,
        &GOLDEN_CLEAR_ONE,
        &GOLDEN_SWAP_DB,
    ] {
        for db in [DATABASE_COUNT, 100, DB_ALL - 1] {
            let mut bytes = golden.to_vec();
            bytes[field::DB] = db;
            checksum_fix(&mut bytes);
            assert_eq!(decode(&bytes), Err(DecodeError::DatabaseInvalid(db)));
        }
    }
    // DB_ALL is a valid database byte only for a Clear.
    let mut set_all = GOLDEN_SET.to_vec();
    set_all[field::DB] = DB_ALL;
    checksum_fix(&mut set_all);
    assert_eq!(decode(&set_all), Err(DecodeError::DatabaseInvalid(DB_ALL)));
    // A SwapDb's second database is checked as its first is.
    for db_second in [16_u64, 255, 256, u64::MAX] {
        let mut bytes = GOLDEN_SWAP_DB.to_vec();
        bytes[field::DB_SECOND].copy_from_slice(&db_second.to_le_bytes());
        checksum_fix(&mut bytes);
        let shown = u8::try_from(db_second).unwrap_or(u8::MAX);
        assert_eq!(decode(&bytes), Err(DecodeError::DatabaseInvalid(shown)));
    }
}

#[test]
fn record_decode_field_invalid() {
    // A Del with a value: sizes stay consistent, the kind does not carry a value.
    let mut del_value = GOLDEN_SET.to_vec();
    del_value[field::KIND] = Kind::Del.into();
    del_value[field::EXPIRES_AT].fill(0);
    checksum_fix(&mut del_value);
    assert_eq!(decode(&del_value), Err(DecodeError::FieldInvalid));

    let mut del_expiry = GOLDEN_DEL.to_vec();
    del_expiry[field::EXPIRES_AT].copy_from_slice(&7_u64.to_le_bytes());
    checksum_fix(&mut del_expiry);
    assert_eq!(decode(&del_expiry), Err(DecodeError::FieldInvalid));

    let mut clear_key = GOLDEN_DEL.to_vec();
    clear_key[field::KIND] = Kind::Clear.into();
    checksum_fix(&mut clear_key);
    assert_eq!(decode(&clear_key), Err(DecodeError::FieldInvalid));

    let mut swap_key = GOLDEN_DEL.to_vec();
    swap_key[field::KIND] = Kind::SwapDb.into();
    checksum_fix(&mut swap_key);
    assert_eq!(decode(&swap_key), Err(DecodeError::FieldInvalid));

    let mut set_count = GOLDEN_SET.to_vec();
    set_count[field::RECORD_COUNT].copy_from_slice(&1_u32.to_le_bytes());
    checksum_fix(&mut set_count);
    assert_eq!(decode(&set_count), Err(DecodeError::FieldInvalid));

    let mut commit_db = GOLDEN_COMMIT.to_vec();
    commit_db[field::DB] = 1;
    checksum_fix(&mut commit_db);
    assert_eq!(decode(&commit_db), Err(DecodeError::FieldInvalid));

    let mut commit_key = GOLDEN_DEL.to_vec();
    commit_key[field::KIND] = Kind::Commit.into();
    commit_key[field::DB] = 0;
    commit_key[field::RECORD_COUNT].copy_from_slice(&1_u32.to_le_bytes());
    checksum_fix(&mut commit_key);
    assert_eq!(decode(&commit_key), Err(DecodeError::FieldInvalid));
}

#[test]
fn record_decode_commit_invalid() {
    let commit_with = |lsn: u64, lsn_first: u64, record_count: u32| {
        let mut bytes = GOLDEN_COMMIT.to_vec();
        bytes[field::LSN].copy_from_slice(&lsn.to_le_bytes());
        bytes[field::LSN_FIRST].copy_from_slice(&lsn_first.to_le_bytes());
        bytes[field::RECORD_COUNT].copy_from_slice(&record_count.to_le_bytes());
        checksum_fix(&mut bytes);
        bytes
    };
    assert!(decode(&commit_with(10, 5, 5)).is_ok());
    for (lsn, lsn_first, record_count) in [
        (10, 5, 0),
        (10, 10, 1),
        (10, 11, 1),
        (10, 5, 6),
        (u64::MAX, 0, GROUP_RECORD_COUNT_MAX + 1),
    ] {
        assert_eq!(
            decode(&commit_with(lsn, lsn_first, record_count)),
            Err(DecodeError::CommitInvalid),
            "lsn={lsn} first={lsn_first} count={record_count}"
        );
    }
}

#[test]
fn record_view_accessors() {
    let view = RecordView::new_checked(&GOLDEN_SET[..]).unwrap();
    assert_eq!(view.key(), b"k1");
    assert_eq!(view.value(), b"v1");
    assert_eq!(view.db(), 1);
    assert_eq!(view.flags(), 0);
    assert_eq!(view.key_size(), 2);
    assert_eq!(view.value_size(), 2);
    assert_eq!(view.record_count(), 0);
    assert_eq!(view.expires_at(), 0x0102_0304_0506_0708);
    assert_eq!(view.checksum(), view.checksum_compute());
    assert_eq!(view.as_bytes(), GOLDEN_SET);
    assert_eq!(view.into_inner(), &GOLDEN_SET[..]);
}

/// The largest key and value encode and decode; one byte more is refused by both.
#[test]
fn record_max_sizes() {
    let key = vec![0xA5; RECORD_KEY_SIZE_MAX as usize];
    let value = vec![0x5A; RECORD_VALUE_SIZE_MAX as usize];
    let record = LogRecord {
        lsn: u64::MAX,
        body: Body::Standalone(Record::Set {
            db: 15,
            key: &key,
            value: &value,
            expires_at: 1,
            value_kind: ItemKind::String,
        }),
    };
    assert_eq!(record.encoded_size(), RECORD_SIZE_MAX);
    let bytes = encode_to_vec(&record);
    assert_eq!(decode(&bytes), Ok(record));
}

#[test]
#[should_panic(expected = "size=1048577")]
fn record_encode_key_too_large() {
    let key = vec![0; RECORD_KEY_SIZE_MAX as usize + 1];
    let _ = Record::Del { db: 0, key: &key }.encoded_size();
}

#[test]
#[should_panic(expected = "target=10 size=44")]
fn record_encode_target_size() {
    let set = Record::Set {
        db: 1,
        key: b"k1",
        value: b"v1",
        expires_at: 0,
        value_kind: ItemKind::String,
    };
    set.encode(1, &mut [0; 10]);
}

#[test]
#[should_panic(expected = "db=16")]
fn record_encode_database_invalid() {
    let mut bytes = [0; 40];
    Record::Clear {
        db: Some(DATABASE_COUNT),
    }
    .encode(1, &mut bytes);
}

#[test]
#[should_panic(expected = "db=255")]
fn record_encode_clear_db_all_by_name() {
    let mut bytes = [0; 40];
    Record::Clear { db: Some(DB_ALL) }.encode(1, &mut bytes);
}

#[test]
#[should_panic(expected = "db_second=16")]
fn record_encode_swap_db_second_invalid() {
    let mut bytes = [0; 40];
    Record::SwapDb {
        db_first: 0,
        db_second: DATABASE_COUNT,
    }
    .encode(1, &mut bytes);
}

#[test]
#[should_panic(expected = "empty group")]
fn record_encode_group_empty() {
    encode_group([], 1, &mut [0; 40]);
}

fn record_strategy() -> impl Strategy<Value = (u8, Vec<u8>, Vec<u8>, u64, u8, Option<u8>)> {
    (
        0..DATABASE_COUNT,
        prop::collection::vec(any::<u8>(), 0..64),
        prop::collection::vec(any::<u8>(), 0..300),
        any::<u64>(),
        0..5_u8,
        prop::option::of(0..DATABASE_COUNT),
    )
}

fn record_from<'a>(
    (db, key, value, expires_at, kind, clear_db): &'a (u8, Vec<u8>, Vec<u8>, u64, u8, Option<u8>),
) -> Record<'a> {
    match kind {
        0 => Record::Set {
            db: *db,
            key,
            value,
            expires_at: *expires_at,
            // Odd expiries mark compact values, so round trips cover FLAG_COMPACT.
            value_kind: if *expires_at % 2 == 1 {
                ItemKind::Compact
            } else {
                ItemKind::String
            },
        },
        1 => Record::Del { db: *db, key },
        2 => Record::ExpireAt {
            db: *db,
            key,
            expires_at: *expires_at,
        },
        3 => Record::Clear { db: *clear_db },
        _ => Record::SwapDb {
            db_first: *db,
            db_second: clear_db.unwrap_or(0),
        },
    }
}

proptest! {
    #[test]
    fn record_roundtrip(fields in record_strategy(), lsn in any::<u64>(), intent in any::<bool>()) {
        let record = record_from(&fields);
        let body = if intent { Body::Intent(record) } else { Body::Standalone(record) };
        let log_record = LogRecord { lsn, body };
        let bytes = encode_to_vec(&log_record);
        prop_assert_eq!(bytes.len(), log_record.encoded_size() as usize);
        prop_assert_eq!(LogRecord::decode_bytes(&bytes), Ok((log_record, bytes.len() as u32)));
    }

    #[test]
    fn record_roundtrip_commit(lsn_first in 0..u64::MAX / 2, record_count in 1..=GROUP_RECORD_COUNT_MAX, gap in 0..1000_u64) {
        let lsn = lsn_first + u64::from(record_count) + gap;
        let log_record = LogRecord { lsn, body: Body::Commit(Commit { lsn_first, record_count }) };
        let bytes = encode_to_vec(&log_record);
        prop_assert_eq!(decode(&bytes), Ok(log_record));
    }

    #[test]
    fn record_roundtrip_group(
        records in prop::collection::vec(record_strategy(), 1..8),
        lsn_first in 0..u64::MAX / 2,
    ) {
        let records: Vec<Record<'_>> = records.iter().map(record_from).collect();
        let mut bytes = vec![0; group_encoded_size(records.iter().copied()) as usize];
        let commit_lsn = encode_group(records.iter().copied(), lsn_first, &mut bytes);
        prop_assert_eq!(commit_lsn, lsn_first + records.len() as u64);
        let mut rest = &bytes[..];
        for (index, record) in records.iter().enumerate() {
            let (decoded, size) = LogRecord::decode_bytes(rest).unwrap();
            prop_assert_eq!(decoded, LogRecord { lsn: lsn_first + index as u64, body: Body::Intent(*record) });
            rest = &rest[size as usize..];
        }
        let commit = Commit { lsn_first, record_count: records.len() as u32 };
        prop_assert_eq!(decode(rest), Ok(LogRecord { lsn: commit_lsn, body: Body::Commit(commit) }));
    }

    /// Decoding is total, and whatever decodes re-encodes to the same bytes.
    #[test]
    fn record_decode_total(bytes in prop::collection::vec(any::<u8>(), 0..128)) {
        if let Ok((record, size)) = LogRecord::decode_bytes(&bytes) {
            prop_assert_eq!(encode_to_vec(&record), &bytes[..size as usize]);
        }
    }

    /// A golden record with one byte changed and its checksum fixed either decodes to
    /// something that re-encodes to the same bytes, or fails with a typed error.
    #[test]
    fn record_decode_field_mutation(case in 0..8_usize, index in 0..41_usize, byte in any::<u8>()) {
        let golden = golden_cases()[case].1;
        let mut bytes = golden.to_vec();
        let index = field::CHECKSUM.end + index % (bytes.len() - field::CHECKSUM.end);
        bytes[index] = byte;
        checksum_fix(&mut bytes);
        if let Ok((record, size)) = LogRecord::decode_bytes(&bytes) {
            prop_assert_eq!(encode_to_vec(&record), &bytes[..size as usize]);
        }
    }
}
