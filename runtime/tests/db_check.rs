//! `floe check [--repair]` as a library: what the report says about clean, torn, damaged and
//! newer-format directories, that checking changes nothing, and that a repair drops exactly
//! what it announced (keeping a copy), after which the directory opens.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

mod common;

use std::fs;
use std::path::Path;

use common::{TempDir, config, names, segments};
use floe_core::codec::log::{Entry, LogScanner, Verdict};
use floe_core::codec::record::{Record, RecordView, field};
use floe_runtime::error::Error;
use floe_runtime::io::Backend;
use floe_runtime::log::FsyncPolicy;
use floe_runtime::log::check::{OpenOutcome, RepairAction, SnapshotStatus, check};
use floe_runtime::{Db, DbConfig};

fn key(index: u32) -> Vec<u8> {
    format!("key-{index:03}").into_bytes()
}

/// `count` single-key writes in segments of at most `segment_size_max` bytes, closed. Under
/// `always` each write is its own batch, so segments roll at the size asked for.
fn write(dir: &Path, count: u32, segment_size_max: u64) {
    let db = Db::open(
        dir,
        DbConfig {
            segment_size_max,
            ..config(Backend::Blocking, FsyncPolicy::Always)
        },
    )
    .unwrap();
    for index in 0..count {
        db.set(&key(index), b"some value").unwrap();
    }
}

fn record_offsets(path: &Path) -> Vec<u64> {
    let bytes = fs::read(path).unwrap();
    LogScanner::new(&bytes, None)
        .map(|entry| match entry {
            Entry::Record { offset, .. } => offset,
            Entry::Group(group) => group.offset,
        })
        .collect()
}

/// Every file and its bytes: to prove that a check changed nothing.
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    names(dir)
        .into_iter()
        .map(|name| {
            let bytes = fs::read(dir.join(&name)).unwrap();
            (name, bytes)
        })
        .collect()
}

fn open(dir: &Path) -> Db {
    Db::open(dir, config(Backend::Blocking, FsyncPolicy::No)).unwrap()
}

#[test]
fn clean_directory_is_clean() {
    let dir = TempDir::new("check-clean");
    write(dir.path(), 20, 64 << 20);
    {
        let db = open(dir.path());
        db.save().unwrap();
        db.set(b"after", b"1").unwrap();
    }
    let report = check(dir.path(), false).unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.snapshots.len(), 1);
    assert!(matches!(
        report.snapshots[0].status,
        SnapshotStatus::Valid { item_count: 20, .. }
    ));
    let text = report.to_string();
    assert!(text.contains("result: clean"), "{text}");
    assert!(text.contains("open: would succeed"), "{text}");
}

#[test]
fn damage_in_the_middle_is_reported_then_repaired_as_announced() {
    let dir = TempDir::new("check-damage");
    write(dir.path(), 10, 64 << 20);
    let segment = segments(dir.path()).pop().unwrap();
    let offsets = record_offsets(&segment);
    let mut bytes = fs::read(&segment).unwrap();
    bytes[usize::try_from(offsets[4]).unwrap() + 44] ^= 1;
    fs::write(&segment, &bytes).unwrap();
    let before = contents(dir.path());

    let report = check(dir.path(), false).unwrap();
    assert!(!report.is_clean());
    assert!(matches!(
        report.segments[0].scan.verdict,
        Verdict::Corrupt { offset, .. } if offset == offsets[4]
    ));
    match &report.open {
        OpenOutcome::Refuses(Error::Corrupt { file, offset, .. }) => {
            assert_eq!(*file, segment);
            assert_eq!(*offset, offsets[4]);
        }
        other => panic!("{other:?}"),
    }
    let text = report.to_string();
    assert!(
        text.contains(&format!("CORRUPT at offset {}", offsets[4])),
        "{text}"
    );
    assert!(text.contains("would REFUSE"), "{text}");
    assert!(text.contains("PROBLEMS FOUND"), "{text}");
    assert_eq!(contents(dir.path()), before, "a check changes nothing");

    let report = check(dir.path(), true).unwrap();
    let repair = report.repair.as_ref().unwrap();
    assert!(report.is_repaired(), "{report}");
    match &repair.actions[..] {
        [
            RepairAction::Cut {
                file,
                offset,
                size_dropped,
                dropped,
                saved_to,
            },
        ] => {
            assert_eq!(*file, segment);
            assert_eq!(*offset, offsets[4]);
            assert_eq!(*size_dropped, bytes.len() as u64 - offsets[4]);
            // Record 4 (LSN 5) is damaged; records 5..9 (LSNs 6..10) were intact.
            assert!(
                dropped.contains("5 intact record(s), LSNs 6 to 10"),
                "{dropped}"
            );
            assert_eq!(
                fs::read(saved_to).unwrap(),
                &bytes[usize::try_from(offsets[4]).unwrap()..]
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(report.to_string().contains("result: repaired"), "{report}");
    let db = open(dir.path());
    assert_eq!(db.len(), 4);
    for index in 0..4 {
        assert!(db.exists(&key(index)));
    }
    drop(db);
    assert!(check(dir.path(), false).unwrap().is_clean());
}

#[test]
fn repair_of_a_torn_middle_segment_sets_later_segments_aside() {
    let dir = TempDir::new("check-middle");
    write(dir.path(), 40, 400);
    let all = segments(dir.path());
    assert!(all.len() >= 4, "{:?}", names(dir.path()));
    let offsets = record_offsets(&all[1]);
    let cut = offsets.last().unwrap() + 5;
    fs::OpenOptions::new()
        .write(true)
        .open(&all[1])
        .unwrap()
        .set_len(cut)
        .unwrap();

    let report = check(dir.path(), false).unwrap();
    assert!(matches!(
        report.segments[1].scan.verdict,
        Verdict::TornTail { .. }
    ));
    assert!(matches!(report.open, OpenOutcome::Refuses(_)));

    let report = check(dir.path(), true).unwrap();
    let repair = report.repair.as_ref().unwrap();
    assert!(report.is_repaired(), "{report}");
    let set_aside = repair
        .actions
        .iter()
        .filter(|action| matches!(action, RepairAction::SetAside { .. }))
        .count();
    assert_eq!(set_aside, all.len() - 2, "{report}");
    for path in &all[2..] {
        assert!(!path.exists());
        let aside = format!("{}.dropped", path.file_name().unwrap().to_str().unwrap());
        assert!(dir.path().join(aside).exists());
    }
    let db = open(dir.path());
    let kept = u32::try_from(record_offsets(&all[0]).len() + offsets.len() - 1).unwrap();
    assert_eq!(db.len(), kept as usize);
    for index in 0..kept {
        assert!(db.exists(&key(index)), "{index}");
    }
}

#[test]
fn torn_tail_is_reported_and_repaired() {
    let dir = TempDir::new("check-torn");
    write(dir.path(), 5, 64 << 20);
    let segment = segments(dir.path()).pop().unwrap();
    let size = fs::metadata(&segment).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap()
        .set_len(size - 3)
        .unwrap();
    let report = check(dir.path(), false).unwrap();
    assert!(!report.is_clean());
    assert!(report.to_string().contains("TORN TAIL"), "{report}");
    assert!(matches!(&report.open, OpenOutcome::Opens(dry) if dry.cuts.len() == 1));
    let report = check(dir.path(), true).unwrap();
    assert!(report.is_repaired(), "{report}");
    assert!(check(dir.path(), false).unwrap().is_clean());
    assert_eq!(open(dir.path()).len(), 4);
}

#[test]
fn newer_format_is_reported_and_never_cut() {
    let dir = TempDir::new("check-newer");
    write(dir.path(), 3, 64 << 20);
    let segment = segments(dir.path()).pop().unwrap();
    let record = Record::Del { db: 0, key: b"k" };
    let mut bytes = vec![0; record.encoded_size() as usize];
    record.encode(4, &mut bytes);
    bytes[field::VERSION] = 9;
    let checksum = RecordView::new_unchecked(&bytes[..]).checksum_compute();
    bytes[field::CHECKSUM].copy_from_slice(&checksum.to_le_bytes());
    let mut file = fs::read(&segment).unwrap();
    file.extend_from_slice(&bytes);
    fs::write(&segment, &file).unwrap();

    let report = check(dir.path(), true).unwrap();
    assert!(!report.is_clean());
    assert!(!report.is_repaired());
    assert!(report.repair.as_ref().unwrap().actions.is_empty());
    let text = report.to_string();
    assert!(text.contains("newer floe"), "{text}");
    assert!(text.contains("still REFUSES"), "{text}");
    assert_eq!(fs::read(&segment).unwrap(), file);
}

#[test]
fn damaged_snapshot_is_reported() {
    let dir = TempDir::new("check-snapshot");
    write(dir.path(), 5, 64 << 20);
    let snapshot = open(dir.path()).save().unwrap().file;
    let mut bytes = fs::read(&snapshot).unwrap();
    bytes[50] ^= 4;
    fs::write(&snapshot, &bytes).unwrap();
    let report = check(dir.path(), true).unwrap();
    assert!(matches!(
        report.snapshots[0].status,
        SnapshotStatus::Damaged { .. }
    ));
    let text = report.to_string();
    assert!(text.contains("DAMAGED"), "{text}");
    assert!(
        text.contains("restore this snapshot from a backup"),
        "{text}"
    );
    assert!(!text.contains("up to 0"), "{text}");
    assert_eq!(
        fs::read(&snapshot).unwrap(),
        bytes,
        "snapshots are never changed"
    );
}

#[test]
fn repair_refuses_while_a_db_has_the_directory() {
    let dir = TempDir::new("check-locked");
    let db = open(dir.path());
    db.set(b"a", b"1").unwrap();
    assert!(matches!(check(dir.path(), true), Err(Error::Locked { .. })));
    // A read-only check is fine.
    assert!(check(dir.path(), false).is_ok());
}

/// A regression test: `floe check` on a directory a floe has open reported the snapshot
/// that floe was writing (`snapshot-*.floe.tmp`) as a leftover problem. While the
/// directory's lock is held, a temporary snapshot is skipped and the report says why;
/// once the floe is gone, the same file is a leftover again.
#[test]
fn check_of_a_directory_in_use_skips_a_live_temporary_snapshot() {
    let dir = TempDir::new("check-in-use");
    let db = Db::open(dir.path(), config(Backend::Blocking, FsyncPolicy::Always)).unwrap();
    db.set(b"a", b"1").unwrap();
    // What a SAVE in progress looks like from outside.
    let temp = "snapshot-00000000000000000001.floe.tmp";
    fs::write(dir.path().join(temp), b"half a snapshot").unwrap();
    let report = check(dir.path(), false).unwrap();
    let text = report.to_string();
    assert!(report.is_clean(), "{text}");
    assert!(text.contains(&format!("skipped: {temp}")), "{text}");
    assert!(text.contains("in use"), "{text}");
    assert!(!text.contains("leftover"), "{text}");
    assert!(dir.path().join(temp).exists(), "check changes nothing");
    drop(db);
    let report = check(dir.path(), false).unwrap();
    let text = report.to_string();
    assert!(!report.is_clean(), "{text}");
    assert!(text.contains(&format!("leftover: {temp}")), "{text}");
}

/// Offsets of the log records in `path` that write a large collection's part (a `Set` of
/// kind `Part`, inside a group or alone), in file order.
fn part_record_offsets(path: &Path) -> Vec<u64> {
    use floe_core::codec::record::{Body, ItemKind, LogRecord};
    let bytes = fs::read(path).unwrap();
    let mut offsets = Vec::new();
    let mut offset = 0;
    while let Ok((record, size)) = LogRecord::decode_bytes(&bytes[offset..]) {
        if let Body::Standalone(Record::Set {
            value_kind: ItemKind::Part,
            ..
        })
        | Body::Intent(Record::Set {
            value_kind: ItemKind::Part,
            ..
        }) = record.body
        {
            offsets.push(u64::try_from(offset).unwrap());
        }
        offset += usize::try_from(size).unwrap();
    }
    offsets
}

/// A directory holding large collections (a header item and parts: a hash and a set split
/// into several parts, a list of many nodes), in a snapshot and in the log after it, checks
/// clean; a flipped bit in one of a part's log records is reported as corruption at that
/// record, and opening would refuse there, as for any other record.
#[test]
fn large_collections_check_clean_and_damage_in_a_part_is_reported() {
    let dir = TempDir::new("check-large");
    let mut config = config(Backend::Blocking, FsyncPolicy::Always);
    config.store.hash_max_listpack_entries = 4;
    config.store.set_max_listpack_entries = 4;
    config.store.set_max_intset_entries = 4;
    config.store.list_max_listpack_size = 4;
    {
        let db = Db::open(dir.path(), config.clone()).unwrap();
        let run = |line: String| {
            let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
            common::run(&db, &mut floe_core::command::Session::new(1), &args)
        };
        for index in 0..80 {
            run(format!("HSET hash field-{index} value-{index}"));
            run(format!("SADD set member-{index}"));
            run(format!("RPUSH list element-{index}"));
        }
        db.save().unwrap();
        for index in 80..120 {
            run(format!("HSET hash field-{index} value-{index}"));
            run(format!("SADD set member-{index}"));
            run(format!("RPUSH list element-{index}"));
        }
        assert_eq!(run("HLEN hash".to_owned()), b":120\r\n");
        assert_eq!(
            run("OBJECT ENCODING set".to_owned()),
            b"$9\r\nhashtable\r\n"
        );
    }
    let report = check(dir.path(), false).unwrap();
    assert!(report.is_clean(), "{report}");
    // Three keys and their parts: many more items than keys.
    assert!(
        matches!(
            report.snapshots[0].status,
            SnapshotStatus::Valid { item_count, .. } if item_count > 3 + 10
        ),
        "{report}"
    );

    let segment = segments(dir.path()).pop().unwrap();
    let parts = part_record_offsets(&segment);
    assert!(parts.len() > 100, "{} part records", parts.len());
    let target = parts[parts.len() / 2];
    let starts = record_offsets(&segment);
    let mut bytes = fs::read(&segment).unwrap();
    bytes[usize::try_from(target).unwrap() + field::KEY_START + 2] ^= 1;
    fs::write(&segment, &bytes).unwrap();
    let report = check(dir.path(), false).unwrap();
    assert!(!report.is_clean(), "{report}");
    let Verdict::Corrupt { offset, .. } = report.segments[0].scan.verdict else {
        panic!("{report}");
    };
    // Named at the damaged record, or at the start of its group.
    assert!(
        offset == target || (offset < target && starts.contains(&offset)),
        "corrupt at {offset}, damage at {target}"
    );
    assert!(
        matches!(&report.open, OpenOutcome::Refuses(Error::Corrupt { file, .. }) if *file == segment),
        "{report}"
    );
}
