//! Fuzz target: recovery's scan of one log segment (the disk image).
//!
//! Checks that the scanner never panics and that its verdict is consistent with what it
//! yielded: every yielded record re-decodes at its offset, LSNs strictly increase, groups
//! hold the records they claim, the accepted prefix re-scans clean with the same entries,
//! and the verdict's offsets agree with the accepted size (decision table in
//! docs/FORMAT.md).
//!
//! Input: a mode byte, then the segment. With bit 0 of the mode set, every record's CRC
//! is recomputed along the chain of size fields first, so that mutations explore the
//! decisions taken on intact records (LSN order, groups, commits, unknown kinds).
#![no_main]

use floe_core::codec::log::{Entry, LogScanner, Verdict, scan};
use floe_core::codec::record::{Body, LogRecord};
use floe_fuzz::record_checksum_fix;

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    let Some((&mode, data)) = input.split_first() else {
        return;
    };
    let mut bytes = data.to_vec();
    if mode & 1 == 1 {
        checksums_fix(&mut bytes);
    }
    let data = &bytes[..];

    let summary = scan(data, None);
    let accepted_size = summary.accepted_size as usize;
    assert!(accepted_size <= data.len());

    let entries: Vec<Entry<'_>> = LogScanner::new(data, None).collect();
    let mut lsn_last: Option<u64> = None;
    let mut end = 0_u64;
    for entry in &entries {
        match *entry {
            Entry::Record {
                offset,
                lsn,
                record,
            } => {
                assert_eq!(offset, end, "entries are contiguous");
                let (decoded, size) = LogRecord::decode_bytes(&data[offset as usize..]).unwrap();
                assert_eq!(
                    decoded,
                    LogRecord {
                        lsn,
                        body: Body::Standalone(record)
                    }
                );
                assert!(
                    lsn_last.is_none_or(|last| lsn > last),
                    "lsn={lsn} last={lsn_last:?}"
                );
                lsn_last = Some(lsn);
                end = offset + u64::from(size);
            }
            Entry::Group(group) => {
                assert_eq!(group.offset, end, "entries are contiguous");
                let mut count = 0;
                for (lsn, _) in group.records() {
                    assert!(
                        lsn_last.is_none_or(|last| lsn > last),
                        "lsn={lsn} last={lsn_last:?}"
                    );
                    if count == 0 {
                        assert_eq!(lsn, group.lsn_first);
                    }
                    lsn_last = Some(lsn);
                    count += 1;
                }
                assert_eq!(count, group.record_count);
                assert!(group.commit_lsn > lsn_last.unwrap_or(0));
                lsn_last = Some(group.commit_lsn);
                // The commit record follows the intents.
                let mut offset = group.offset as usize;
                for _ in 0..count {
                    let (_, size) = LogRecord::decode_bytes(&data[offset..]).unwrap();
                    offset += size as usize;
                }
                let (commit, size) = LogRecord::decode_bytes(&data[offset..]).unwrap();
                assert!(matches!(commit.body, Body::Commit(_)));
                end = (offset + size as usize) as u64;
            }
        }
    }
    assert_eq!(end, summary.accepted_size);
    assert_eq!(lsn_last, summary.lsn_last);

    let prefix = scan(&data[..accepted_size], None);
    assert_eq!(
        prefix.verdict,
        Verdict::Clean {
            end: summary.accepted_size
        }
    );
    assert_eq!(
        (prefix.record_count, prefix.group_count, prefix.intent_count),
        (
            summary.record_count,
            summary.group_count,
            summary.intent_count
        )
    );

    match summary.verdict {
        Verdict::Clean { end } => {
            assert_eq!(end, summary.accepted_size);
            assert!(data[accepted_size..].iter().all(|&byte| byte == 0));
        }
        Verdict::TornTail { offset, .. } | Verdict::TornGroup { offset, .. } => {
            assert_eq!(offset, summary.accepted_size);
        }
        Verdict::Corrupt { offset, .. } | Verdict::Unsupported { offset, .. } => {
            assert!(offset >= summary.accepted_size);
            assert!((offset as usize) < data.len());
        }
        other => panic!("verdict not covered by this target: {other:?}"),
    }
});

/// Recomputes the CRC of each record along the chain of size fields, while they fit.
fn checksums_fix(bytes: &mut [u8]) {
    let mut offset = 0;
    while let Some(size) = record_checksum_fix(&mut bytes[offset..]) {
        offset += size;
    }
}
