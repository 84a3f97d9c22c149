//! Tests of [`super`]: the log codec's round trips, limits and malformed input.

use super::*;
use crate::codec::record::{FLAG_INTENT, RECORD_VERSION, encode_group, field, group_encoded_size};
use proptest::prelude::*;

const SET: Record<'static> = Record::Set {
    db: 0,
    key: b"key",
    value: b"value",
    expires_at: 0,
    value_kind: crate::codec::record::ItemKind::String,
};
const DEL: Record<'static> = Record::Del { db: 1, key: b"key" };

/// A log under construction, remembering where each record starts.
#[derive(Debug, Clone, Default)]
struct Log {
    bytes: Vec<u8>,
    offsets: Vec<usize>,
}

impl Log {
    fn push(&mut self, lsn: u64, body: Body<'_>) -> &mut Self {
        let record = LogRecord { lsn, body };
        let start = self.bytes.len();
        self.offsets.push(start);
        self.bytes.resize(start + record.encoded_size() as usize, 0);
        record.encode(&mut self.bytes[start..]);
        self
    }

    fn standalone(&mut self, lsn: u64) -> &mut Self {
        self.push(lsn, Body::Standalone(SET))
    }

    fn group(&mut self, lsn_first: u64, record_count: u32) -> &mut Self {
        for index in 0..record_count {
            self.push(lsn_first + u64::from(index), Body::Intent(DEL));
        }
        let commit = Commit {
            lsn_first,
            record_count,
        };
        self.push(lsn_first + u64::from(record_count), Body::Commit(commit))
    }

    /// Edits the record that starts at `offsets[index]` and fixes its checksum, so the
    /// edit looks like something a writer wrote.
    fn edit(&mut self, index: usize, edit: impl FnOnce(&mut [u8])) -> &mut Self {
        let start = self.offsets[index];
        let record = &mut self.bytes[start..];
        edit(record);
        let size = u32::from_le_bytes(record[field::SIZE].try_into().unwrap()) as usize;
        let checksum = crc32fast::hash(&record[field::CHECKSUM.end..size]);
        record[field::CHECKSUM].copy_from_slice(&checksum.to_le_bytes());
        self
    }
}

fn verdict(bytes: &[u8]) -> Verdict {
    scan(bytes, None).verdict
}

#[test]
fn log_clean() {
    assert_eq!(verdict(&[]), Verdict::Clean { end: 0 });
    let mut log = Log::default();
    log.standalone(1).standalone(2).group(3, 2).standalone(10);
    let summary = scan(&log.bytes, None);
    assert_eq!(
        summary.verdict,
        Verdict::Clean {
            end: log.bytes.len() as u64
        }
    );
    assert_eq!(summary.accepted_size, log.bytes.len() as u64);
    assert_eq!(summary.lsn_last, Some(10));
    assert_eq!(
        (
            summary.record_count,
            summary.group_count,
            summary.intent_count
        ),
        (3, 1, 2)
    );
}

#[test]
fn log_entries() {
    let mut log = Log::default();
    log.standalone(1).group(5, 3);
    let mut scanner = LogScanner::new(&log.bytes, None);
    assert_eq!(
        scanner.next(),
        Some(Entry::Record {
            offset: 0,
            lsn: 1,
            record: SET
        })
    );
    let Some(Entry::Group(group)) = scanner.next() else {
        panic!("no group")
    };
    assert_eq!(group.offset, log.offsets[1] as u64);
    assert_eq!(
        (group.lsn_first, group.commit_lsn, group.record_count),
        (5, 8, 3)
    );
    assert_eq!(
        group.records().collect::<Vec<_>>(),
        [(5, DEL), (6, DEL), (7, DEL)]
    );
    assert_eq!(scanner.next(), None);
    assert_eq!(scanner.next(), None, "a finished scanner stays finished");
    assert_eq!(
        scanner.verdict(),
        Some(Verdict::Clean {
            end: log.bytes.len() as u64
        })
    );
}

/// The group the runtime writes with `encode_group` is the group the scanner reads.
#[test]
fn log_group_from_encode_group() {
    let records = [SET, DEL, Record::Clear { db: None }];
    let mut bytes = vec![0; group_encoded_size(records.iter().copied()) as usize];
    let commit_lsn = encode_group(records.iter().copied(), 100, &mut bytes);
    let mut scanner = LogScanner::new(&bytes, Some(99));
    let Some(Entry::Group(group)) = scanner.next() else {
        panic!("no group")
    };
    assert_eq!(group.commit_lsn, commit_lsn);
    assert_eq!(
        group
            .records()
            .map(|(_, record)| record)
            .collect::<Vec<_>>(),
        records
    );
    assert_eq!(scanner.next(), None);
    assert!(scanner.verdict().is_some_and(|verdict| verdict.is_clean()));
}

/// Preallocated (zero-filled) space after the last record is a clean end, whatever
/// its length.
#[test]
fn log_zero_tail() {
    let mut log = Log::default();
    log.standalone(1).standalone(2);
    let end = log.bytes.len() as u64;
    for zero_count in [1, 7, 39, 40, 41, 4096] {
        let mut bytes = log.bytes.clone();
        bytes.resize(bytes.len() + zero_count, 0);
        let summary = scan(&bytes, None);
        assert_eq!(
            summary.verdict,
            Verdict::Clean { end },
            "zeros={zero_count}"
        );
        assert_eq!(summary.record_count, 2);
    }
}

/// Row 3: a record cut anywhere, or with a bad checksum, at the end is a torn tail.
#[test]
fn log_torn_tail() {
    let mut log = Log::default();
    log.standalone(1).standalone(2).standalone(3);
    let last = log.offsets[2];
    for size in last + 1..log.bytes.len() {
        let summary = scan(&log.bytes[..size], None);
        let error = DecodeError::Truncated;
        assert_eq!(
            summary.verdict,
            Verdict::TornTail {
                offset: last as u64,
                error
            },
            "size={size}"
        );
        assert_eq!(summary.accepted_size, last as u64);
        assert_eq!(summary.record_count, 2);
    }
    // A whole last record with a flipped payload bit: its checksum fails.
    let mut bytes = log.bytes.clone();
    *bytes.last_mut().unwrap() ^= 0x10;
    let error = DecodeError::ChecksumMismatch;
    assert_eq!(
        verdict(&bytes),
        Verdict::TornTail {
            offset: last as u64,
            error
        }
    );
    // Garbage in place of a header at the end.
    let mut bytes = log.bytes[..last].to_vec();
    bytes.extend_from_slice(&[0xFF; 50]);
    let error = DecodeError::SizeInvalid;
    assert_eq!(
        verdict(&bytes),
        Verdict::TornTail {
            offset: last as u64,
            error
        }
    );
    // A torn record followed by zeros (a preallocated file) is still a torn tail.
    let mut bytes = log.bytes[..log.bytes.len() - 3].to_vec();
    bytes.resize(bytes.len() + 100, 0);
    let error = DecodeError::ChecksumMismatch;
    assert_eq!(
        verdict(&bytes),
        Verdict::TornTail {
            offset: last as u64,
            error
        }
    );
}

/// Row 5: damage followed by an intact record is corruption, not a torn tail.
#[test]
fn log_corrupt_checksum_mid_log() {
    let mut log = Log::default();
    log.standalone(1).standalone(2).standalone(3);
    let (bad, next) = (log.offsets[1], log.offsets[2]);
    log.bytes[next - 1] ^= 0x01;
    let summary = scan(&log.bytes, None);
    let reason = Corruption::Damaged {
        error: DecodeError::ChecksumMismatch,
        intact_offset: next as u64,
    };
    assert_eq!(
        summary.verdict,
        Verdict::Corrupt {
            offset: bad as u64,
            reason
        }
    );
    assert_eq!(summary.accepted_size, bad as u64);
    assert_eq!(summary.record_count, 1);
}

#[test]
fn log_corrupt_size_mid_log() {
    let mut log = Log::default();
    log.standalone(1).standalone(2).standalone(3);
    let (bad, next) = (log.offsets[1], log.offsets[2]);
    // Consistent sizes that run past the end look truncated; what follows decides.
    log.bytes[bad..bad + 4].copy_from_slice(&1000_u32.to_le_bytes());
    log.bytes[bad + field::VALUE_SIZE.start..bad + field::VALUE_SIZE.end]
        .copy_from_slice(&(1000_u32 - 43).to_le_bytes());
    let reason = Corruption::Damaged {
        error: DecodeError::Truncated,
        intact_offset: next as u64,
    };
    assert_eq!(
        verdict(&log.bytes),
        Verdict::Corrupt {
            offset: bad as u64,
            reason
        }
    );
    // A hole of zeros (a lost write) before an intact record.
    log.bytes[bad..next].fill(0);
    let reason = Corruption::Damaged {
        error: DecodeError::SizeInvalid,
        intact_offset: next as u64,
    };
    assert_eq!(
        verdict(&log.bytes),
        Verdict::Corrupt {
            offset: bad as u64,
            reason
        }
    );
}

/// Intact records with an LSN at or below the last one read are not evidence of
/// corruption after damage (stale bytes cannot belong after it).
#[test]
fn log_torn_tail_before_stale_record() {
    let mut log = Log::default();
    log.standalone(5).standalone(6).standalone(2);
    let (bad, stale) = (log.offsets[1], log.offsets[2]);
    log.bytes[stale - 1] ^= 0x01;
    let error = DecodeError::ChecksumMismatch;
    assert_eq!(
        verdict(&log.bytes),
        Verdict::TornTail {
            offset: bad as u64,
            error
        }
    );
}

/// Row 6: an intact record of a newer version, or of an unknown kind, stops the scan.
#[test]
fn log_unsupported() {
    for (index, edit, error) in [
        (
            1,
            field::VERSION,
            DecodeError::UnsupportedVersion(RECORD_VERSION + 1),
        ),
        (1, field::KIND, DecodeError::UnknownKind(9)),
    ] {
        let mut log = Log::default();
        log.standalone(1).standalone(2).standalone(3);
        log.edit(index, |record| {
            record[edit] = if edit == field::KIND {
                9
            } else {
                RECORD_VERSION + 1
            }
        });
        let summary = scan(&log.bytes, None);
        let offset = log.offsets[index] as u64;
        assert_eq!(summary.verdict, Verdict::Unsupported { offset, error });
        assert_eq!(summary.accepted_size, offset);
    }
    // Also as the last record: intact bytes are never a torn tail.
    let mut log = Log::default();
    log.standalone(1).standalone(2);
    log.edit(1, |record| record[field::KIND] = 200);
    let offset = log.offsets[1] as u64;
    let error = DecodeError::UnknownKind(200);
    assert_eq!(verdict(&log.bytes), Verdict::Unsupported { offset, error });
}

/// Row 7: an intact record with an invalid field is corruption, even at the end.
#[test]
fn log_corrupt_invalid_field() {
    let mut log = Log::default();
    log.standalone(1).standalone(2);
    log.edit(1, |record| record[field::DB] = 77);
    let reason = Corruption::Invalid(DecodeError::DatabaseInvalid(77));
    assert_eq!(
        verdict(&log.bytes),
        Verdict::Corrupt {
            offset: log.offsets[1] as u64,
            reason
        }
    );
}

/// Row 8: LSNs strictly increase, within a segment and across `lsn_previous`.
#[test]
fn log_lsn_regression() {
    for (lsn_second, lsn_previous) in [(1, None), (0, None), (9, Some(8))] {
        let mut log = Log::default();
        log.standalone(1).standalone(lsn_second);
        let summary = scan(&log.bytes, lsn_previous);
        let (offset, lsn_before, lsn) = match lsn_previous {
            None => (log.offsets[1], 1, lsn_second),
            Some(lsn_previous) => (0, lsn_previous, 1),
        };
        let reason = Corruption::LsnRegression {
            lsn,
            lsn_previous: lsn_before,
        };
        if lsn_previous.is_some() && lsn_second > 1 {
            // 1 is below lsn_previous = 8: the very first record is refused.
            assert_eq!(summary.verdict, Verdict::Corrupt { offset: 0, reason });
        } else {
            assert_eq!(
                summary.verdict,
                Verdict::Corrupt {
                    offset: offset as u64,
                    reason
                }
            );
        }
    }
    let mut log = Log::default();
    log.standalone(5).standalone(6);
    assert!(scan(&log.bytes, Some(4)).verdict.is_clean());
    // Inside a group too.
    let mut log = Log::default();
    log.push(5, Body::Intent(DEL)).push(5, Body::Intent(DEL));
    let reason = Corruption::LsnRegression {
        lsn: 5,
        lsn_previous: 5,
    };
    assert_eq!(
        verdict(&log.bytes),
        Verdict::Corrupt {
            offset: log.offsets[1] as u64,
            reason
        }
    );
}

/// Rows 2 and 4: a group without its intact commit at the end is discarded.
#[test]
fn log_torn_group() {
    let mut log = Log::default();
    log.standalone(1).group(2, 3);
    let commit = *log.offsets.last().unwrap();
    let group_offset = log.offsets[1] as u64;
    let torn = Verdict::TornGroup {
        offset: group_offset,
        lsn_first: 2,
        record_count: 3,
    };
    // Commit missing entirely.
    let summary = scan(&log.bytes[..commit], None);
    assert_eq!(summary.verdict, torn);
    assert_eq!(summary.accepted_size, group_offset);
    assert_eq!((summary.record_count, summary.group_count), (1, 0));
    // Commit cut anywhere, or damaged, or followed by zeros.
    for size in commit + 1..log.bytes.len() {
        assert_eq!(verdict(&log.bytes[..size]), torn, "size={size}");
    }
    let mut bytes = log.bytes.clone();
    bytes[commit + field::LSN_FIRST.start] ^= 0x04;
    assert_eq!(verdict(&bytes), torn);
    let mut bytes = log.bytes[..commit].to_vec();
    bytes.resize(bytes.len() + 512, 0);
    assert_eq!(verdict(&bytes), torn);
    // An intent cut in the middle of the group.
    let cut = log.offsets[3] + 10;
    let torn_two = Verdict::TornGroup {
        offset: group_offset,
        lsn_first: 2,
        record_count: 2,
    };
    assert_eq!(verdict(&log.bytes[..cut]), torn_two);
}

/// Row 10: a standalone record inside a group.
#[test]
fn log_group_interrupted() {
    let mut log = Log::default();
    log.push(1, Body::Intent(DEL)).standalone(2).push(
        3,
        Body::Commit(Commit {
            lsn_first: 1,
            record_count: 1,
        }),
    );
    let reason = Corruption::GroupInterrupted;
    assert_eq!(
        verdict(&log.bytes),
        Verdict::Corrupt {
            offset: log.offsets[1] as u64,
            reason
        }
    );
}

/// Rows 15-16: commits that name no group, or another group.
#[test]
fn log_commit_mismatch() {
    let mut log = Log::default();
    log.standalone(1).push(
        3,
        Body::Commit(Commit {
            lsn_first: 2,
            record_count: 1,
        }),
    );
    let reason = Corruption::CommitUnexpected;
    assert_eq!(
        verdict(&log.bytes),
        Verdict::Corrupt {
            offset: log.offsets[1] as u64,
            reason
        }
    );

    for commit in [
        Commit {
            lsn_first: 1,
            record_count: 1,
        },
        Commit {
            lsn_first: 0,
            record_count: 2,
        },
    ] {
        let mut log = Log::default();
        log.push(1, Body::Intent(DEL))
            .push(2, Body::Intent(DEL))
            .push(3, Body::Commit(commit));
        let reason = Corruption::CommitMismatch {
            commit,
            lsn_first: 1,
            record_count: 2,
        };
        assert_eq!(
            verdict(&log.bytes),
            Verdict::Corrupt {
                offset: log.offsets[2] as u64,
                reason
            }
        );
    }
}

/// Every flag combination is either a valid role or refused as invalid flags.
#[test]
fn log_intent_flag_on_commit() {
    let mut log = Log::default();
    log.push(1, Body::Intent(DEL)).push(
        2,
        Body::Commit(Commit {
            lsn_first: 1,
            record_count: 1,
        }),
    );
    log.edit(1, |record| record[field::FLAGS] = FLAG_INTENT);
    let reason = Corruption::Invalid(DecodeError::FlagsInvalid(FLAG_INTENT));
    assert_eq!(
        verdict(&log.bytes),
        Verdict::Corrupt {
            offset: log.offsets[1] as u64,
            reason
        }
    );
}

/// Writes one fuzz seed: a mode byte (see the fuzz target's doc), then `bytes`.
fn fuzz_seed_write(target: &str, name: &str, mode: u8, bytes: &[u8]) {
    let directory = format!("{}/../fuzz/seeds/{target}", env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(&directory).unwrap();
    let mut seed = vec![mode];
    seed.extend_from_slice(bytes);
    std::fs::write(format!("{directory}/{name}-mode{mode}"), seed).unwrap();
}

/// Seeds the `record_decode` and `log_recover` fuzz targets with real encoded records
/// and segments. Run by hand after a format change:
/// `cargo test -p floe-core --lib -- --ignored fuzz_seeds`.
#[test]
#[ignore = "writes fuzz/seeds/ in the repository"]
fn fuzz_seeds_write_log() {
    let mut log = Log::default();
    log.standalone(1)
        .push(
            2,
            Body::Standalone(Record::ExpireAt {
                db: 3,
                key: b"k",
                expires_at: 99,
            }),
        )
        .push(3, Body::Standalone(Record::Clear { db: None }))
        .group(4, 2)
        .push(10, Body::Standalone(Record::Clear { db: Some(2) }));
    for mode in [0, 1] {
        for (index, &start) in log.offsets.iter().enumerate() {
            let end = log
                .offsets
                .get(index + 1)
                .copied()
                .unwrap_or(log.bytes.len());
            fuzz_seed_write(
                "record_decode",
                &format!("record{index}"),
                mode,
                &log.bytes[start..end],
            );
        }
        fuzz_seed_write("log_recover", "clean", mode, &log.bytes);
        fuzz_seed_write(
            "log_recover",
            "torn-tail",
            mode,
            &log.bytes[..log.bytes.len() - 7],
        );
        let torn_group = log.offsets[5];
        fuzz_seed_write("log_recover", "torn-group", mode, &log.bytes[..torn_group]);
        let mut zero_tail = log.bytes.clone();
        zero_tail.resize(zero_tail.len() + 64, 0);
        fuzz_seed_write("log_recover", "zero-tail", mode, &zero_tail);
        let mut corrupt = log.bytes.clone();
        corrupt[log.offsets[1] + 41] ^= 0x20;
        fuzz_seed_write("log_recover", "corrupt", mode, &corrupt);
    }
    // A compact collection of each type (FLAG_COMPACT Set records), so that mutations
    // start from every type byte and encoding.
    for (name, value) in compact_samples() {
        let mut log = Log::default();
        log.push(
            20,
            Body::Standalone(Record::Set {
                db: 1,
                key: b"collection",
                value: &value,
                expires_at: 0,
                value_kind: crate::storage::item::ItemKind::Compact,
            }),
        );
        for mode in [0, 1] {
            fuzz_seed_write(
                "record_decode",
                &format!("compact-{name}"),
                mode,
                &log.bytes,
            );
        }
    }
    // A large collection's header and parts (FLAG_PART Set records), and a segment of
    // them as one group, as a write to a large collection logs it.
    let mut group = Log::default();
    let mut lsn = 30;
    for (name, kind, key, value) in large_samples() {
        let record = Record::Set {
            db: 0,
            key: &key,
            value: &value,
            expires_at: 0,
            value_kind: kind,
        };
        let mut log = Log::default();
        log.push(lsn, Body::Standalone(record));
        group.push(lsn, Body::Intent(record));
        lsn += 1;
        for mode in [0, 1] {
            fuzz_seed_write("record_decode", name, mode, &log.bytes);
        }
    }
    group.push(
        lsn,
        Body::Commit(Commit {
            lsn_first: 30,
            record_count: 4,
        }),
    );
    for mode in [0, 1] {
        fuzz_seed_write("log_recover", "large-group", mode, &group.bytes);
    }
}

/// A large collection's key item and parts, each `(name, kind, key, value)`: a large
/// hash's header and a part of it (a compact hash), a large list's header and a node.
pub(crate) fn large_samples() -> [(
    &'static str,
    crate::codec::record::ItemKind,
    Vec<u8>,
    Vec<u8>,
); 4] {
    use crate::codec::record::ItemKind;
    use crate::store::large::{Chain, Header, TYPE_LARGE_HASH, TYPE_LARGE_LIST, Tree};
    use crate::store::list::{NODE_NONE, TYPE_NODE};
    let hash_header = Header {
        type_byte: TYPE_LARGE_HASH,
        len: 2,
        part_count: 1,
        seed: 0x5eed,
        chain: Chain::default(),
        tree: Tree::default(),
    };
    let list_header = Header {
        type_byte: TYPE_LARGE_LIST,
        len: 2,
        part_count: 1,
        seed: 0x1157,
        chain: Chain {
            head: 0,
            tail: 0,
            next: 1,
            end: 1,
        },
        tree: Tree::default(),
    };
    let part_key = |owner: &[u8]| [owner, &0_u32.to_le_bytes()].concat();
    let node = [
        &[TYPE_NODE][..],
        &0x1157_u64.to_le_bytes(),
        &NODE_NONE.to_le_bytes(),
        &NODE_NONE.to_le_bytes(),
        &2_u32.to_le_bytes(),
        b"\x03one\x03two",
    ]
    .concat();
    let [(_, hash_part), ..] = compact_samples();
    [
        (
            "header-H",
            ItemKind::Compact,
            b"big".to_vec(),
            hash_header.bytes().to_vec(),
        ),
        ("part-h", ItemKind::Part, part_key(b"big"), hash_part),
        (
            "header-L",
            ItemKind::Compact,
            b"chain".to_vec(),
            list_header.bytes().to_vec(),
        ),
        ("part-n", ItemKind::Part, part_key(b"chain"), node),
    ]
}

#[test]
fn large_samples_are_valid_headers_and_parts() {
    use crate::codec::record::ItemKind;
    use crate::store::large::{Header, part_is_valid};
    for (name, kind, _, value) in large_samples() {
        match kind {
            ItemKind::Compact => {
                let header = Header::read(&value).unwrap_or_else(|| panic!("{name}"));
                assert_eq!(&*header.bytes(), &value[..], "{name}");
            }
            _ => assert!(part_is_valid(&value), "{name}"),
        }
    }
}

/// A valid compact value of each collection type, named after its type byte.
pub(crate) fn compact_samples() -> [(&'static str, Vec<u8>); 4] {
    let score = |score: f64| score.to_le_bytes().to_vec();
    [
        ("h", [&b"h"[..], b"\x05field\x05value\x01f\x00"].concat()),
        ("s", [&b"s"[..], b"\x011\x017\x0212"].concat()),
        ("l", [&b"l"[..], b"\x03one\x00\x03two\x03one"].concat()),
        (
            "z",
            [&b"z"[..], b"\x01a", &score(-1.5), b"\x02bb", &score(2.0)].concat(),
        ),
    ]
}

#[test]
fn compact_samples_are_valid_collections() {
    use crate::store::{hash, list, set, zset};
    let [h, s, l, z] = compact_samples();
    assert!(hash::is_valid(&h.1));
    assert!(set::is_valid(&s.1));
    assert!(list::is_valid(&l.1));
    assert!(zset::is_valid(&z.1));
}

/// A log built from a random sequence of standalone records and groups.
fn log_strategy() -> impl Strategy<Value = Log> {
    prop::collection::vec((0..4_u32, 1..5_u64), 0..12).prop_map(|steps| {
        let mut log = Log::default();
        let mut lsn = 0;
        for (group_size, gap) in steps {
            lsn += gap;
            if group_size == 0 {
                log.standalone(lsn);
            } else {
                log.group(lsn, group_size);
                lsn += u64::from(group_size);
            }
        }
        log
    })
}

/// What the scanner promises for any input: the accepted prefix re-scans clean with
/// the same entries, every entry re-decodes, and the verdict's offsets are in range.
fn scan_consistent(bytes: &[u8]) -> Result<(), TestCaseError> {
    let entries: Vec<Entry<'_>> = LogScanner::new(bytes, None).collect();
    let summary = scan(bytes, None);
    let accepted_size = summary.accepted_size as usize;
    prop_assert!(accepted_size <= bytes.len());
    let prefix = scan(&bytes[..accepted_size], None);
    prop_assert_eq!(
        prefix.verdict,
        Verdict::Clean {
            end: summary.accepted_size
        }
    );
    let prefix_entries: Vec<Entry<'_>> = LogScanner::new(&bytes[..accepted_size], None).collect();
    prop_assert_eq!(&prefix_entries, &entries);
    for entry in &entries {
        if let Entry::Record {
            offset,
            lsn,
            record,
        } = *entry
        {
            let (decoded, _) = LogRecord::decode_bytes(&bytes[offset as usize..]).unwrap();
            prop_assert_eq!(
                decoded,
                LogRecord {
                    lsn,
                    body: Body::Standalone(record)
                }
            );
        } else if let Entry::Group(group) = entry {
            prop_assert_eq!(group.records().count(), group.record_count as usize);
        }
    }
    match summary.verdict {
        Verdict::Clean { end } => {
            prop_assert_eq!(end, summary.accepted_size);
            prop_assert!(bytes[accepted_size..].iter().all(|&byte| byte == 0));
        }
        Verdict::TornTail { offset, .. } | Verdict::TornGroup { offset, .. } => {
            prop_assert_eq!(offset, summary.accepted_size);
        }
        Verdict::Corrupt { offset, .. } | Verdict::Unsupported { offset, .. } => {
            prop_assert!(offset >= summary.accepted_size && (offset as usize) < bytes.len());
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn log_roundtrip(log in log_strategy()) {
        let summary = scan(&log.bytes, None);
        prop_assert_eq!(summary.verdict, Verdict::Clean { end: log.bytes.len() as u64 });
        scan_consistent(&log.bytes)?;
    }

    /// Cut anywhere: a torn tail or torn group at a record boundary, never corruption.
    #[test]
    fn log_cut_anywhere(log in log_strategy(), cut in any::<prop::sample::Index>()) {
        let size = cut.index(log.bytes.len() + 1);
        let summary = scan(&log.bytes[..size], None);
        prop_assert!(
            matches!(summary.verdict, Verdict::Clean { .. } | Verdict::TornTail { .. } | Verdict::TornGroup { .. }),
            "{:?}", summary.verdict
        );
        prop_assert!(log.offsets.contains(&(summary.accepted_size as usize)) || summary.accepted_size as usize == log.bytes.len());
        scan_consistent(&log.bytes[..size])?;
    }

    /// Any damage: the scanner is consistent, and never accepts a byte at or after it.
    #[test]
    fn log_flip_anywhere(log in log_strategy(), at in any::<prop::sample::Index>(), bit in 0..8_u8) {
        prop_assume!(!log.bytes.is_empty());
        let mut bytes = log.bytes.clone();
        let index = at.index(bytes.len());
        bytes[index] ^= 1 << bit;
        let summary = scan(&bytes, None);
        prop_assert!((summary.accepted_size as usize) <= index);
        scan_consistent(&bytes)?;
    }

    #[test]
    fn log_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        scan_consistent(&bytes)?;
    }
}
