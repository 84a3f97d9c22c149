//! Durability of `floe_runtime::Db`: what survives a clean close, a crash, torn and damaged
//! files, snapshots taken while writes run, compaction, a failing disk and bad directories.
//!
//! Each test that touches the log runs on both backends (io_uring where the kernel has it,
//! and blocking std::fs). Crashes are modelled by `common::FaultStorage::crash` (unsynced
//! bytes and names are lost) or by cutting and flipping bytes in the files by hand; the
//! expected state is kept in a `BTreeMap` model and compared key by key after recovery.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    reason = "a test fails loudly on an unexpected error; its sizes are small"
)]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::{
    FaultStorage, Faults, TempDir, backends, config, copy_dir, names, open_with, segments,
};
use floe_core::codec::log::{Entry, LogScanner};
use floe_core::codec::record::{Record, RecordView, field};
use floe_core::storage::policy::EvictionPolicy;
use floe_runtime::error::Error;
use floe_runtime::io::{Backend, Storage};
use floe_runtime::log::FsyncPolicy;
use floe_runtime::log::snapshot::snapshot_file_lsn;
use floe_runtime::{Db, DbConfig, DbError};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn key(index: u32) -> Vec<u8> {
    format!("key-{index:05}").into_bytes()
}

fn value(index: u32, round: u32) -> Vec<u8> {
    format!("value-{index}-{round}-{}", "x".repeat((index % 7) as usize)).into_bytes()
}

/// Asserts that `db` holds exactly `model`.
fn assert_state(db: &Db, model: &Model) {
    let mut keys = db.keys();
    keys.sort();
    let expected: Vec<Vec<u8>> = model.keys().cloned().collect();
    assert_eq!(keys.len(), expected.len(), "key count");
    assert_eq!(keys, expected);
    for (key, value) in model {
        assert_eq!(
            db.get(key).as_ref(),
            Some(value),
            "{}",
            String::from_utf8_lossy(key)
        );
    }
    assert_eq!(db.len(), model.len());
}

fn open(dir: &Path, config: DbConfig) -> Db {
    Db::open(dir, config).unwrap()
}

fn open_error(dir: &Path, config: DbConfig) -> DbError {
    match Db::open(dir, config) {
        Ok(_) => panic!("open of {} succeeded", dir.display()),
        Err(error) => error,
    }
}

/// `(offset, first LSN)` of every entry (record or group) in a segment file.
fn entry_offsets(path: &Path) -> Vec<(u64, u64)> {
    let bytes = fs::read(path).unwrap();
    LogScanner::new(&bytes, None)
        .map(|entry| match entry {
            Entry::Record { offset, lsn, .. } => (offset, lsn),
            Entry::Group(group) => (group.offset, group.lsn_first),
        })
        .collect()
}

fn truncate(path: &Path, size: u64) {
    fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(size)
        .unwrap();
}

fn flip_bit(path: &Path, offset: u64) {
    let mut bytes = fs::read(path).unwrap();
    bytes[offset as usize] ^= 0x10;
    fs::write(path, bytes).unwrap();
}

fn corrupt_at(error: &DbError) -> (PathBuf, u64, String) {
    match error {
        DbError::Runtime(Error::Corrupt {
            file,
            offset,
            reason,
        }) => (file.clone(), *offset, reason.clone()),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

/// Writes keys `0..count` one by one (each its own record) and returns the model.
fn write_keys(db: &Db, count: u32, round: u32, model: &mut Model) {
    for index in 0..count {
        db.set(&key(index), &value(index, round)).unwrap();
        model.insert(key(index), value(index, round));
    }
}

#[test]
fn clean_close_and_reopen_keeps_everything() {
    for backend in backends() {
        for fsync in [FsyncPolicy::Always, FsyncPolicy::Everysec, FsyncPolicy::No] {
            let dir = TempDir::new("clean");
            let mut model = Model::new();
            {
                let db = open(dir.path(), config(backend, fsync));
                write_keys(&db, 200, 0, &mut model);
                for index in (0..200).step_by(3) {
                    assert!(db.delete(&key(index)).unwrap());
                    model.remove(&key(index));
                }
                let pairs: Vec<(Vec<u8>, Vec<u8>)> = (500..520)
                    .map(|index| (key(index), value(index, 1)))
                    .collect();
                let borrowed: Vec<(&[u8], &[u8])> = pairs
                    .iter()
                    .map(|(key, value)| (key.as_slice(), value.as_slice()))
                    .collect();
                db.set_many(&borrowed).unwrap();
                model.extend(pairs);
                db.set_with_ttl(b"ttl-long", b"stays", Duration::from_secs(3600))
                    .unwrap();
                model.insert(b"ttl-long".to_vec(), b"stays".to_vec());
                db.set_with_ttl(b"ttl-short", b"goes", Duration::from_millis(1))
                    .unwrap();
                assert!(!db.delete(b"never-there").unwrap());
                db.close().unwrap();
                // Writes after close are refused; reads still work.
                assert!(matches!(
                    db.set(b"late", b"no"),
                    Err(DbError::Runtime(Error::Closed))
                ));
                assert_eq!(db.get(&key(1)), Some(value(1, 0)));
            }
            std::thread::sleep(Duration::from_millis(5)); // Let `ttl-short` expire.
            let db = open(dir.path(), config(backend, fsync));
            assert_state(&db, &model);
            let report = db.recovery().unwrap();
            assert!(report.cuts.is_empty(), "{report}");
            assert_eq!(report.group_count, 1, "{report}");
            // And again, after writing on top of the recovered log.
            db.clear().unwrap();
            db.set(b"after-clear", b"1").unwrap();
            drop(db);
            let db = open(dir.path(), config(backend, fsync));
            assert_state(
                &db,
                &Model::from([(b"after-clear".to_vec(), b"1".to_vec())]),
            );
        }
    }
}

#[test]
fn crash_under_always_loses_no_acknowledged_write() {
    for backend in backends() {
        let dir = TempDir::new("crash-always");
        let storage = FaultStorage::over(backend);
        let mut model = Model::new();
        {
            let db = open_with(
                dir.path(),
                config(backend, FsyncPolicy::Always),
                Arc::new(storage.clone()),
            );
            write_keys(&db, 100, 0, &mut model);
            db.delete(&key(7)).unwrap();
            model.remove(&key(7));
            storage.crash();
            // Dropped without a successful close: the final flush fails against the dead
            // disk, as a killed process would never have run it.
        }
        let db = open(dir.path(), config(backend, FsyncPolicy::Always));
        assert_state(&db, &model);
    }
}

#[test]
fn crash_under_no_recovers_the_last_durable_state() {
    for backend in backends() {
        let dir = TempDir::new("crash-no");
        let storage = FaultStorage::over(backend);
        let mut model = Model::new();
        {
            let db = open_with(
                dir.path(),
                config(backend, FsyncPolicy::No),
                Arc::new(storage.clone()),
            );
            write_keys(&db, 100, 0, &mut model);
            // Nothing of the log is synced under `no`; the snapshot is.
            db.save().unwrap();
            let mut lost = model.clone();
            write_keys(&db, 150, 1, &mut lost);
            db.flush().unwrap();
            storage.crash();
        }
        let db = open(dir.path(), config(backend, FsyncPolicy::No));
        assert_state(&db, &model);
        // The log continues above the snapshot: new writes survive the next reopen.
        db.set(b"next", b"1").unwrap();
        model.insert(b"next".to_vec(), b"1".to_vec());
        drop(db);
        let db = open(dir.path(), config(backend, FsyncPolicy::No));
        assert_state(&db, &model);
    }
}

/// A clock whose monotonic time moves only when the test moves it; wall time is the system's.
#[derive(Debug, Default)]
struct ManualClock {
    ns: std::sync::atomic::AtomicU64,
}

impl ManualClock {
    fn set_ns(&self, ns: u64) {
        self.ns.store(ns, std::sync::atomic::Ordering::SeqCst);
    }
}

impl floe_runtime::io::Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        floe_runtime::io::SystemClock::new().now_ms()
    }

    fn monotonic_ns(&self) -> u64 {
        self.ns.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn sleep_until(&self, deadline_ns: u64) {
        while self.monotonic_ns() < deadline_ns {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// The background sync interval under `everysec` (`LogConfig::everysec_interval`'s default).
const EVERYSEC_INTERVAL_NS: u64 = 1_000_000_000;

/// Story: this test used to sleep 1,500 ms and hope the background sync had run, and it could
/// not tell "synced within a second" from "synced at close" or "synced whenever". Now the
/// log's monotonic clock is the test's: writes land at time 0, and
/// - at one nanosecond short of a second (and after the writer has looked at that clock) no
///   sync has run, so a crash loses them: a sync that comes early fails here, and the crash
///   model is seen to drop unsynced bytes, so the second half cannot pass vacuously;
/// - at exactly one second the writer must sync (waited for on `sync_count`, not on a sleep),
///   and a crash then keeps every write: "loses at most the last second".
#[test]
fn crash_under_everysec_loses_at_most_the_last_second() {
    for backend in backends() {
        for (clock_ns, survives) in [
            (EVERYSEC_INTERVAL_NS - 1, false),
            (EVERYSEC_INTERVAL_NS, true),
        ] {
            let dir = TempDir::new("crash-everysec");
            let storage = FaultStorage::over(backend);
            let clock = Arc::new(ManualClock::default());
            let mut model = Model::new();
            {
                let db = Db::open_with(
                    dir.path(),
                    config(backend, FsyncPolicy::Everysec),
                    Some(Arc::new(storage.clone())),
                    clock.clone(),
                )
                .unwrap();
                write_keys(&db, 50, 0, &mut model);
                // Written to the file, not synced: the clock has not moved since open.
                db.flush().unwrap();
                let sync_count_written = db.stats().log.unwrap().sync_count;
                clock.set_ns(clock_ns);
                if survives {
                    wait_for_sync(&db, sync_count_written, backend);
                } else {
                    // The writer looks at the clock after each batch, and writes the next
                    // batch only after that look: once the second append is written, it
                    // has seen the clock one nanosecond short of the interval.
                    for round in 0..2 {
                        db.set(b"probe", &round.to_string().into_bytes()).unwrap();
                        db.flush().unwrap();
                    }
                    assert_eq!(
                        db.stats().log.unwrap().sync_count,
                        sync_count_written,
                        "{backend:?}: synced before the interval"
                    );
                }
                storage.crash();
            }
            let db = open(dir.path(), config(backend, FsyncPolicy::Everysec));
            if survives {
                assert_state(&db, &model);
            } else {
                assert_state(&db, &Model::new());
            }
        }
    }
}

/// Waits (bounded) until the log has synced more often than `sync_count_before`.
fn wait_for_sync(db: &Db, sync_count_before: u64, backend: Backend) {
    // The writer rechecks the clock at least once per interval of real time; 30 s is far
    // beyond that on any machine, so only a writer that never syncs runs into it.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while db.stats().log.unwrap().sync_count <= sync_count_before {
        assert!(
            std::time::Instant::now() < deadline,
            "{backend:?}: no background sync within 30 s of the clock reaching the interval \
             (sync_count still {sync_count_before})"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A clock whose monotonic time jumps by a second at every look: recovery thinks it is slow.
#[derive(Debug)]
struct SlowClock {
    inner: floe_runtime::io::SystemClock,
    ns: std::sync::atomic::AtomicU64,
}

impl floe_runtime::io::Clock for SlowClock {
    fn now_ms(&self) -> u64 {
        self.inner.now_ms()
    }

    fn monotonic_ns(&self) -> u64 {
        self.ns
            .fetch_add(1_000_000_000, std::sync::atomic::Ordering::Relaxed)
    }

    fn sleep_until(&self, deadline_ns: u64) {
        self.inner.sleep_until(deadline_ns);
    }
}

#[test]
fn slow_recovery_prints_progress_lines() {
    let dir = TempDir::new("progress");
    let mut model = Model::new();
    {
        let db = open(dir.path(), config(Backend::Blocking, FsyncPolicy::No));
        write_keys(&db, 5000, 0, &mut model);
        db.save().unwrap();
        write_keys(&db, 5000, 1, &mut model);
    }
    let clock = Arc::new(SlowClock {
        inner: floe_runtime::io::SystemClock::new(),
        ns: std::sync::atomic::AtomicU64::new(0),
    });
    let storage = Backend::Blocking.open().unwrap();
    let db = Db::open_with(
        dir.path(),
        config(Backend::Blocking, FsyncPolicy::No),
        Some(storage),
        clock,
    )
    .unwrap();
    assert_state(&db, &model);
    let report = db.recovery().unwrap();
    // 5000 snapshot items and 5000 records, a look at the clock every 4096 of them.
    assert!(report.progress_line_count >= 2, "{report:?}");
}

/// Ten single-key writes, closed cleanly: one segment holding ten records.
fn ten_records(dir: &Path, backend: Backend) -> (Model, PathBuf) {
    let db = open(dir, config(backend, FsyncPolicy::No));
    let mut model = Model::new();
    write_keys(&db, 10, 0, &mut model);
    db.close().unwrap();
    drop(db);
    let segment = segments(dir).pop().unwrap();
    (model, segment)
}

#[test]
fn torn_last_record_is_cut_at_every_offset() {
    for backend in backends() {
        let source = TempDir::new("torn-source");
        let (mut model, segment) = ten_records(source.path(), backend);
        let offsets = entry_offsets(&segment);
        assert_eq!(offsets.len(), 10);
        let last_start = offsets[9].0;
        let size = fs::metadata(&segment).unwrap().len();
        model.remove(&key(9));
        for cut in last_start..size {
            let dir = TempDir::new("torn");
            copy_dir(source.path(), dir.path());
            let torn = dir.path().join(segment.file_name().unwrap());
            truncate(&torn, cut);
            let db = open(dir.path(), config(backend, FsyncPolicy::No));
            assert_state(&db, &model);
            let report = db.recovery().unwrap();
            if cut == last_start {
                assert!(report.cuts.is_empty(), "cut={cut}: {report}");
            } else {
                assert_eq!(report.cuts.len(), 1, "cut={cut}: {report}");
                assert_eq!(report.cuts[0].offset, last_start);
                assert_eq!(report.cuts[0].size_dropped, cut - last_start);
            }
            assert_eq!(fs::metadata(&torn).unwrap().len(), last_start);
            // The log goes on from the cut.
            db.set(b"more", b"1").unwrap();
            drop(db);
            let db = open(dir.path(), config(backend, FsyncPolicy::No));
            assert_eq!(db.get(b"more"), Some(b"1".to_vec()));
            assert!(db.recovery().unwrap().cuts.is_empty());
        }
    }
}

#[test]
fn flipped_bit_in_the_middle_refuses_and_at_the_tail_is_cut() {
    for backend in backends() {
        let source = TempDir::new("flip-source");
        let (model, segment) = ten_records(source.path(), backend);
        let offsets = entry_offsets(&segment);
        let name = segment.file_name().unwrap();

        // A bit in the value of record 4: damage with intact records after it.
        let dir = TempDir::new("flip-middle");
        copy_dir(source.path(), dir.path());
        let path = dir.path().join(name);
        flip_bit(&path, offsets[4].0 + 45);
        let before = fs::read(&path).unwrap();
        let error = open_error(dir.path(), config(backend, FsyncPolicy::No));
        let (file, offset, reason) = corrupt_at(&error);
        assert_eq!(file, path);
        assert_eq!(offset, offsets[4].0);
        assert!(reason.contains("checksum"), "{reason}");
        let message = error.to_string();
        let repair = format!("floe check --repair {}", dir.path().display());
        assert!(message.contains(&repair), "{message}");
        assert!(
            message.contains(&format!("offset {}", offsets[4].0)),
            "{message}"
        );
        // A refusal changes nothing.
        assert_eq!(fs::read(&path).unwrap(), before);

        // A bit in the last record: indistinguishable from a torn write, cut and reported.
        let dir = TempDir::new("flip-tail");
        copy_dir(source.path(), dir.path());
        let path = dir.path().join(name);
        flip_bit(&path, offsets[9].0 + 20);
        let db = open(dir.path(), config(backend, FsyncPolicy::No));
        let mut expected = model.clone();
        expected.remove(&key(9));
        assert_state(&db, &expected);
        let report = db.recovery().unwrap();
        assert_eq!(report.cuts.len(), 1, "{report}");
        assert_eq!(report.cuts[0].offset, offsets[9].0);
        assert!(report.to_string().contains("torn tail"), "{report}");
    }
}

/// Many small segments: `segment_size_max` of 512 bytes, 60 single-key writes.
fn many_segments(dir: &Path, backend: Backend) -> Model {
    let db = open(
        dir,
        DbConfig {
            segment_size_max: 512,
            ..config(backend, FsyncPolicy::Always)
        },
    );
    let mut model = Model::new();
    write_keys(&db, 60, 0, &mut model);
    drop(db);
    assert!(segments(dir).len() > 4, "{:?}", names(dir));
    model
}

#[test]
fn truncated_segments_refuse_in_the_middle_and_cut_at_the_end() {
    for backend in backends() {
        let source = TempDir::new("trunc-source");
        let model = many_segments(source.path(), backend);
        let all = segments(source.path());

        // A middle segment loses its last record: LSNs are missing before the next one.
        let dir = TempDir::new("trunc-middle");
        copy_dir(source.path(), dir.path());
        let middle = dir.path().join(all[2].file_name().unwrap());
        let offsets = entry_offsets(&middle);
        let cut = offsets.last().unwrap().0 + 3;
        truncate(&middle, cut);
        let error = open_error(dir.path(), config(backend, FsyncPolicy::Always));
        let (file, offset, reason) = corrupt_at(&error);
        assert_eq!(file, middle);
        assert_eq!(offset, offsets.last().unwrap().0);
        assert!(reason.contains("missing"), "{reason}");

        // A middle segment cut to nothing: the gap is named at the next segment.
        let dir = TempDir::new("trunc-empty");
        copy_dir(source.path(), dir.path());
        truncate(&dir.path().join(all[2].file_name().unwrap()), 0);
        let error = open_error(dir.path(), config(backend, FsyncPolicy::Always));
        let (file, offset, _) = corrupt_at(&error);
        assert_eq!(file, dir.path().join(all[3].file_name().unwrap()));
        assert_eq!(offset, 0);

        // The last segment cut inside its first record: a torn tail.
        let dir = TempDir::new("trunc-last");
        copy_dir(source.path(), dir.path());
        let last = dir.path().join(all.last().unwrap().file_name().unwrap());
        let offsets = entry_offsets(&last);
        truncate(&last, 10);
        let db = open(dir.path(), config(backend, FsyncPolicy::Always));
        let mut expected = model.clone();
        let lost = u32::try_from(offsets.len()).unwrap();
        for index in 60 - lost..60 {
            expected.remove(&key(index));
        }
        assert_state(&db, &expected);
        assert_eq!(db.recovery().unwrap().cuts.len(), 1);
    }
}

#[test]
fn group_torn_before_its_commit_is_not_applied() {
    for backend in backends() {
        let source = TempDir::new("group-source");
        let mut model = Model::new();
        {
            let db = open(source.path(), config(backend, FsyncPolicy::No));
            write_keys(&db, 1, 0, &mut model);
            let pairs: Vec<(Vec<u8>, Vec<u8>)> = (100..105)
                .map(|index| (key(index), value(index, 0)))
                .collect();
            let borrowed: Vec<(&[u8], &[u8])> = pairs
                .iter()
                .map(|(key, value)| (key.as_slice(), value.as_slice()))
                .collect();
            db.set_many(&borrowed).unwrap();
        }
        let segment = segments(source.path()).pop().unwrap();
        let offsets = entry_offsets(&segment);
        assert_eq!(offsets.len(), 2, "one record, one group");
        let group_start = offsets[1].0;
        let size = fs::metadata(&segment).unwrap().len();
        for cut in group_start + 1..size {
            let dir = TempDir::new("group");
            copy_dir(source.path(), dir.path());
            truncate(&dir.path().join(segment.file_name().unwrap()), cut);
            let db = open(dir.path(), config(backend, FsyncPolicy::No));
            assert_state(&db, &model);
            let report = db.recovery().unwrap();
            assert_eq!(report.cuts.len(), 1, "cut={cut}");
            assert_eq!(report.cuts[0].offset, group_start, "cut={cut}");
            assert_eq!(report.group_count, 0);
        }
    }
}

#[test]
fn snapshot_plus_log_recovers_with_writes_during_snapshots() {
    const THREADS: u32 = 4;
    const WRITES: u32 = 3000;
    for backend in backends() {
        let dir = TempDir::new("snapshot-writes");
        let db = Arc::new(open(
            dir.path(),
            DbConfig {
                segment_size_max: 16 * 1024,
                ..config(backend, FsyncPolicy::Everysec)
            },
        ));
        let writers: Vec<_> = (0..THREADS)
            .map(|thread| {
                let db = Arc::clone(&db);
                std::thread::spawn(move || {
                    for round in 0..WRITES {
                        let index = thread * 1000 + round % 97;
                        if round % 11 == 10 {
                            db.delete(&key(index)).unwrap();
                        } else {
                            db.set(&key(index), &value(index, round)).unwrap();
                        }
                    }
                })
            })
            .collect();
        let mut snapshot_count = 0;
        while !writers.iter().all(|writer| writer.is_finished()) {
            let report = db.save().unwrap();
            snapshot_count += 1;
            assert!(report.file.exists());
            if db.bgsave().unwrap() {
                db.bgsave_wait().unwrap().unwrap();
                snapshot_count += 1;
            }
        }
        for writer in writers {
            writer.join().unwrap();
        }
        // The model: each thread's keys end with the last thing that thread did to them.
        let mut model = Model::new();
        for thread in 0..THREADS {
            for round in 0..WRITES {
                let index = thread * 1000 + round % 97;
                if round % 11 == 10 {
                    model.remove(&key(index));
                } else {
                    model.insert(key(index), value(index, round));
                }
            }
        }
        assert_state(&db, &model);
        let last = db.save().unwrap();
        db.set(b"after", b"snapshot").unwrap();
        model.insert(b"after".to_vec(), b"snapshot".to_vec());
        db.close().unwrap();
        drop(db);
        assert!(snapshot_count > 0);
        let db = open(dir.path(), config(backend, FsyncPolicy::Everysec));
        assert_state(&db, &model);
        let report = db.recovery().unwrap();
        assert_eq!(report.snapshot.as_ref().unwrap().lsn, last.lsn, "{report}");
        assert_eq!(report.record_count, 1, "{report}");
    }
}

#[test]
fn compaction_deletes_exactly_the_covered_segments_and_older_snapshots() {
    for backend in backends() {
        let dir = TempDir::new("compaction");
        let db = open(
            dir.path(),
            DbConfig {
                segment_size_max: 1024,
                ..config(backend, FsyncPolicy::Always)
            },
        );
        let mut model = Model::new();
        write_keys(&db, 100, 0, &mut model);
        let before: Vec<String> = names(dir.path());
        let first = db.save().unwrap();
        assert!(!first.compaction.segments_removed.is_empty());
        write_keys(&db, 100, 1, &mut model);
        let second = db.save().unwrap();
        assert_eq!(
            second.compaction.snapshots_removed,
            [first.file.file_name().unwrap().to_str().unwrap()]
        );
        write_keys(&db, 30, 2, &mut model);
        let after = names(dir.path());
        // What is left: one snapshot, and segments each holding something above it (the
        // first may start at or below it).
        let snapshots: Vec<u64> = after
            .iter()
            .filter_map(|name| snapshot_file_lsn(name))
            .collect();
        assert_eq!(snapshots, [second.lsn]);
        let left = segments(dir.path());
        let firsts: Vec<u64> = left
            .iter()
            .map(|path| {
                floe_runtime::log::segment_file_lsn(path.file_name().unwrap().to_str().unwrap())
                    .unwrap()
            })
            .collect();
        assert!(firsts[0] <= second.lsn + 1, "{firsts:?} lsn={}", second.lsn);
        assert!(firsts.get(1).is_none_or(|next| *next > second.lsn + 1));
        let first_left = left[0].file_name().unwrap().to_str().unwrap().to_owned();
        for removed in first
            .compaction
            .segments_removed
            .iter()
            .chain(&second.compaction.segments_removed)
        {
            assert!(!after.contains(removed));
            assert!(*removed < first_left, "{removed} {first_left}");
        }
        assert!(
            first
                .compaction
                .segments_removed
                .iter()
                .all(|removed| before.contains(removed))
        );
        drop(db);
        let db = open(dir.path(), config(backend, FsyncPolicy::Always));
        assert_state(&db, &model);
    }
}

#[test]
fn automatic_snapshot_by_log_size() {
    let dir = TempDir::new("auto-snapshot");
    let db = open(
        dir.path(),
        DbConfig {
            snapshot_log_size: 8 * 1024,
            segment_size_max: 4 * 1024,
            ..config(Backend::Blocking, FsyncPolicy::No)
        },
    );
    let mut model = Model::new();
    for round in 0..5 {
        write_keys(&db, 100, round, &mut model);
    }
    db.flush().unwrap(); // Appends what waits, which crosses the trigger.
    if let Some(outcome) = db.bgsave_wait() {
        outcome.unwrap();
    }
    assert!(db.stats().snapshot_count >= 1, "{:?}", db.stats());
    assert!(
        names(dir.path())
            .iter()
            .any(|name| snapshot_file_lsn(name).is_some())
    );
    drop(db);
    let db = open(dir.path(), config(Backend::Blocking, FsyncPolicy::No));
    assert_state(&db, &model);
}

#[test]
fn damaged_snapshot_is_skipped_only_when_the_log_covers_it() {
    for backend in backends() {
        let dir = TempDir::new("bad-snapshot");
        let keep = TempDir::new("bad-snapshot-log");
        let mut model = Model::new();
        {
            let db = open(dir.path(), config(backend, FsyncPolicy::Always));
            write_keys(&db, 50, 0, &mut model);
        }
        copy_dir(dir.path(), keep.path()); // The whole log, before compaction.
        let snapshot = {
            let db = open(dir.path(), config(backend, FsyncPolicy::Always));
            let report = db.save().unwrap();
            assert!(!report.compaction.segments_removed.is_empty());
            report.file
        };
        flip_bit(&snapshot, 100);

        // The log no longer holds what the snapshot covered: refuse, naming the snapshot,
        // and say only what helps. (The message said the log held "LSNs up to 0 from LSN 1"
        // and ended in advice to cut the log with `floe check --repair`, right after saying
        // no repair could rebuild it.)
        let error = open_error(dir.path(), config(backend, FsyncPolicy::Always));
        let DbError::Runtime(Error::Io { path, source, .. }) = &error else {
            panic!("expected an I/O refusal, got {error:?}");
        };
        assert_eq!(path, &snapshot);
        assert_eq!(source.kind(), std::io::ErrorKind::InvalidData);
        let message = error.to_string();
        assert!(
            message.contains("restore this snapshot from a backup"),
            "{message}"
        );
        assert!(message.contains("the log starts at LSN"), "{message}");
        assert!(!message.contains("--repair"), "{message}");
        assert!(!message.contains("up to 0"), "{message}");

        // Put the compacted segments back: now the log covers it, and it is skipped.
        for path in segments(keep.path()) {
            let target = dir.path().join(path.file_name().unwrap());
            if !target.exists() {
                fs::copy(&path, &target).unwrap();
            }
        }
        let db = open(dir.path(), config(backend, FsyncPolicy::Always));
        assert_state(&db, &model);
        let report = db.recovery().unwrap();
        assert!(report.snapshot.is_none());
        assert_eq!(report.snapshots_skipped.len(), 1, "{report}");
        assert_eq!(report.snapshots_skipped[0].file, snapshot);
    }
}

#[test]
fn log_of_a_newer_format_version_is_refused_and_kept() {
    let dir = TempDir::new("newer");
    let (_, segment) = ten_records(dir.path(), Backend::Blocking);
    // Append an intact record that says version 2 (as a newer floe would write it).
    let record = Record::Set {
        db: 0,
        key: b"future",
        value: b"v",
        expires_at: 0,
        value_kind: floe_core::codec::record::ItemKind::String,
    };
    let mut bytes = vec![0; record.encoded_size() as usize];
    record.encode(11, &mut bytes);
    bytes[field::VERSION] = 2;
    let checksum = RecordView::new_unchecked(&bytes[..]).checksum_compute();
    bytes[field::CHECKSUM].copy_from_slice(&checksum.to_le_bytes());
    let mut file = fs::read(&segment).unwrap();
    let offset = file.len() as u64;
    file.extend_from_slice(&bytes);
    fs::write(&segment, &file).unwrap();

    let error = open_error(dir.path(), config(Backend::Blocking, FsyncPolicy::No));
    let message = error.to_string();
    assert!(
        message.contains(&segment.display().to_string()),
        "{message}"
    );
    assert!(message.contains(&format!("offset {offset}")), "{message}");
    assert!(message.contains("version 2"), "{message}");
    assert!(message.contains("newer floe"), "{message}");
    assert!(!message.contains("--repair"), "{message}");
    assert_eq!(fs::read(&segment).unwrap(), file, "nothing changed");
}

#[test]
fn two_dbs_on_one_directory_are_refused() {
    for backend in backends() {
        let dir = TempDir::new("locked");
        let first = open(dir.path(), config(backend, FsyncPolicy::Always));
        let error = open_error(dir.path(), config(backend, FsyncPolicy::Always));
        assert!(
            matches!(error, DbError::Runtime(Error::Locked { .. })),
            "{error:?}"
        );
        assert!(error.to_string().contains("in use"), "{error}");
        drop(first);
        let _second = open(dir.path(), config(backend, FsyncPolicy::Always));
    }
}

#[test]
fn directory_under_a_regular_file_is_refused_clearly() {
    let dir = TempDir::new("not-a-dir");
    fs::create_dir_all(dir.path()).unwrap();
    let file = dir.path().join("plain-file");
    fs::write(&file, b"not a directory").unwrap();
    let error = open_error(
        &file.join("data"),
        config(Backend::Blocking, FsyncPolicy::Always),
    );
    let message = error.to_string();
    assert!(
        matches!(error, DbError::Runtime(Error::Io { .. })),
        "{error:?}"
    );
    assert!(message.contains("plain-file"), "{message}");
    assert!(message.contains("not a directory"), "{message}");
    assert_eq!(fs::read(&file).unwrap(), b"not a directory");
}

/// A regression test: a data directory that is itself a file was refused with "cannot
/// create directory: File exists", which reads as if floe tried to overwrite something.
/// The message says the path is a file, not a directory, and the file is untouched.
#[test]
fn data_directory_that_is_a_file_is_refused_clearly() {
    let dir = TempDir::new("dir-is-a-file");
    fs::create_dir_all(dir.path()).unwrap();
    let file = dir.path().join("plain-file");
    fs::write(&file, b"not a directory").unwrap();
    let error = open_error(&file, config(Backend::Blocking, FsyncPolicy::Always));
    let message = error.to_string();
    assert!(message.contains("plain-file"), "{message}");
    assert!(message.contains("is a file, not a directory"), "{message}");
    assert!(!message.contains("File exists"), "{message}");
    assert_eq!(fs::read(&file).unwrap(), b"not a directory");
}

/// A `Db` over a `FaultStorage` whose `fault` counter (`write_failing` or `sync_failing`)
/// makes the `nth` such call fail.
fn open_failing(
    dir: &Path,
    backend: Backend,
    fsync: FsyncPolicy,
    fault: impl FnOnce(&Faults) -> &std::sync::atomic::AtomicU64,
    nth: u64,
) -> Db {
    let storage = FaultStorage::over(backend);
    fault(storage.faults()).store(nth, std::sync::atomic::Ordering::SeqCst);
    open_with(dir, config(backend, fsync), Arc::new(storage))
}

#[test]
fn failed_fsync_poisons_writes_but_not_reads() {
    for backend in backends() {
        let dir = TempDir::new("poison");
        let db = open_failing(
            dir.path(),
            backend,
            FsyncPolicy::Always,
            |faults| &faults.sync_failing,
            3,
        );
        db.set(b"a", b"1").unwrap();
        db.set(b"b", b"2").unwrap();
        let error = db.set(b"c", b"3").unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, DbError::Runtime(Error::Poisoned { .. })),
            "{error:?}"
        );
        assert!(message.contains("injected EIO"), "{message}");
        assert!(message.contains("fdatasync"), "{message}");
        // Every later write is refused with the same cause, before it touches the store.
        for _ in 0..3 {
            let later = db.set(b"d", b"4").unwrap_err();
            assert!(later.to_string().contains("injected EIO"), "{later}");
        }
        assert_eq!(db.get(b"d"), None);
        assert!(db.delete(b"a").is_err());
        assert!(db.save().is_err());
        let mut session = floe_core::command::Session::new(1);
        let mut reply = Vec::new();
        let set: [&[u8]; 3] = [b"SET", b"e", b"5"];
        assert!(
            db.apply(&db.prepare(&set), &mut session, &mut reply)
                .is_err()
        );
        assert!(reply.is_empty(), "a refused write runs nothing");
        // Reads keep working, through the command path too.
        assert_eq!(db.get(b"a"), Some(b"1".to_vec()));
        for read in [&[b"GET".as_slice(), b"a"][..], &[b"PING"], &[b"DBSIZE"]] {
            let applied = db
                .apply(&db.prepare(read), &mut session, &mut reply)
                .unwrap();
            assert_eq!(applied.durability, floe_runtime::db::Durability::Done);
        }
        assert_eq!(reply, b"$1\r\n1\r\n+PONG\r\n:3\r\n");
        assert!(db.close().is_err());
        drop(db);
        let db = open(dir.path(), config(backend, FsyncPolicy::Always));
        assert_eq!(db.get(b"a"), Some(b"1".to_vec()));
        assert_eq!(db.get(b"b"), Some(b"2".to_vec()));
        assert_eq!(db.get(b"d"), None);
    }
}

#[test]
fn failed_write_poisons_too() {
    for backend in backends() {
        let dir = TempDir::new("poison-write");
        let db = open_failing(
            dir.path(),
            backend,
            FsyncPolicy::Always,
            |faults| &faults.write_failing,
            2,
        );
        db.set(b"a", b"1").unwrap();
        let error = db.set(b"b", b"2").unwrap_err();
        assert!(
            error.to_string().contains("injected write failure"),
            "{error}"
        );
        assert!(db.set(b"c", b"3").is_err());
        drop(db);
        let db = open(dir.path(), config(backend, FsyncPolicy::Always));
        assert_eq!(db.get(b"a"), Some(b"1".to_vec()));
        assert_eq!(db.get(b"c"), None);
    }
}

/// A regression test: a SAVE that failed on a full disk left its temporary file behind,
/// holding the space the log needed next, so the next write failed and poisoned the log
/// (and the CLI then refused every command). A snapshot whose write or fdatasync fails
/// removes its temporary file, leaves the log writable, and a later SAVE works.
#[test]
fn failed_snapshot_removes_its_temporary_file_and_keeps_the_log_writable() {
    type Counter = fn(&Faults) -> &std::sync::atomic::AtomicU64;
    let faults: [(&str, Counter); 2] = [
        ("injected write failure", |faults| &faults.write_failing),
        ("injected EIO", |faults| &faults.sync_failing),
    ];
    for backend in backends() {
        for (message, fault) in faults {
            let dir = TempDir::new("snapshot-fails");
            // Each SET under `always` is one write and one fdatasync; the third of each
            // is the snapshot's.
            let db = open_failing(dir.path(), backend, FsyncPolicy::Always, fault, 3);
            db.set(b"a", b"1").unwrap();
            db.set(b"b", b"2").unwrap();
            let error = db.save().unwrap_err();
            assert!(error.to_string().contains(message), "{error}");
            let names = names(dir.path());
            assert!(
                names.iter().all(|name| !name.ends_with(".tmp")),
                "{message}: {names:?}"
            );
            db.set(b"c", b"3").unwrap();
            assert_eq!(db.get(b"a"), Some(b"1".to_vec()));
            db.save().unwrap();
            db.close().unwrap();
            drop(db);
            let db = open(dir.path(), config(backend, FsyncPolicy::Always));
            for (key, value) in [(b"a", b"1"), (b"b", b"2"), (b"c", b"3")] {
                assert_eq!(db.get(key), Some(value.to_vec()));
            }
        }
    }
}

/// A regression test: under `everysec` the flusher thread appends writes in the
/// background; when its append failed, `flush` waited on the last good ticket and said Ok.
#[test]
fn flush_reports_a_failed_background_append() {
    for backend in backends() {
        let dir = TempDir::new("poison-flusher");
        let db = open_failing(
            dir.path(),
            backend,
            FsyncPolicy::Everysec,
            |faults| &faults.write_failing,
            2,
        );
        db.set(b"a", b"1").unwrap();
        db.flush().unwrap();
        db.set(b"b", b"2").unwrap(); // Appended by the flusher or by flush: either fails.
        let error = db.flush().unwrap_err();
        assert!(
            error.to_string().contains("injected write failure"),
            "{error}"
        );
        assert!(db.set(b"c", b"3").is_err());
    }
}

#[test]
fn eviction_is_logged_as_one_group_and_recovers() {
    let dir = TempDir::new("eviction");
    let mut db_config = config(Backend::Blocking, FsyncPolicy::No);
    db_config.store = floe_core::store::Config {
        policy: EvictionPolicy::AllKeysLru,
        ..floe_core::store::Config::new(64 * 1024, 1000)
    };
    let live: Model = {
        let db = open(dir.path(), db_config.clone());
        for index in 0..2000 {
            db.set(&key(index), &[b'v'; 200]).unwrap();
        }
        db.keys()
            .into_iter()
            .map(|key| {
                let value = db.get(&key).unwrap();
                (key, value)
            })
            .collect()
    };
    let summary = {
        let bytes = fs::read(segments(dir.path()).pop().unwrap()).unwrap();
        floe_core::codec::log::scan(&bytes, None)
    };
    assert!(summary.group_count > 0, "evictions are groups: {summary:?}");
    let db = open(dir.path(), db_config);
    // Exactly the live keys: replay never evicts on its own (its segments fill differently,
    // so it cleans where the live store evicted, and the live store keeps slack for that).
    assert_state(&db, &live);
    assert_eq!(db.stats().store.evicted, 0);
}

#[test]
fn persistence_off_writes_no_files() {
    let dir = TempDir::new("no-persistence");
    let db = open(
        dir.path(),
        DbConfig {
            persistence: false,
            ..config(Backend::Blocking, FsyncPolicy::Always)
        },
    );
    db.set(b"a", b"1").unwrap();
    assert_eq!(db.get(b"a"), Some(b"1".to_vec()));
    assert!(matches!(db.save(), Err(DbError::PersistenceOff)));
    assert!(db.recovery().is_none());
    drop(db);
    assert!(!dir.path().exists());
}

#[test]
fn store_errors_change_nothing_and_say_why() {
    let dir = TempDir::new("store-errors");
    let db = open(dir.path(), config(Backend::Blocking, FsyncPolicy::Always));
    let too_big = vec![0u8; db.config().store.value_size_max as usize + 1];
    let error = db.set(b"k", &too_big).unwrap_err();
    assert!(matches!(error, DbError::Store(_)), "{error:?}");
    assert!(error.to_string().contains("maximum"), "{error}");
    assert!(db.set_with_ttl(b"k", b"v", Duration::ZERO).is_err());
    assert_eq!(db.get(b"k"), None);
    assert_eq!(db.stats().lsn_last, 0, "nothing was logged");
}

#[test]
fn api_reads_and_stats() {
    let dir = TempDir::new("api");
    let db = open(dir.path(), config(Backend::Blocking, FsyncPolicy::No));
    db.set(b"user:1", b"ann").unwrap();
    db.set(b"user:2", b"bob").unwrap();
    db.set(b"item:1", b"pen").unwrap();
    assert!(db.exists(b"user:1"));
    assert!(!db.exists(b"user:3"));
    assert_eq!(
        db.get_many(&[b"user:1".as_slice(), b"nope", b"item:1"]),
        [Some(b"ann".to_vec()), None, Some(b"pen".to_vec())]
    );
    let mut users = db.scan_prefix(b"user:");
    users.sort();
    assert_eq!(
        users,
        [
            (b"user:1".to_vec(), b"ann".to_vec()),
            (b"user:2".to_vec(), b"bob".to_vec())
        ]
    );
    let mut matching = db.keys_matching(b"*:1");
    matching.sort();
    assert_eq!(matching, [b"item:1".to_vec(), b"user:1".to_vec()]);
    let mut values = db.values();
    values.sort();
    assert_eq!(values, [b"ann".to_vec(), b"bob".to_vec(), b"pen".to_vec()]);
    let mut buffer = Vec::new();
    assert!(db.get_into(b"user:2", &mut buffer));
    assert_eq!(buffer, b"bob");
    assert!(!db.get_into(b"user:9", &mut buffer));
    db.flush().unwrap();
    let stats = db.stats();
    assert_eq!(stats.store.keys, 3);
    assert_eq!(stats.lsn_last, 3);
    assert_eq!(stats.log.unwrap().record_count, 3);
    assert!(stats.store.hits >= 3, "{stats:?}");
}

/// The storage seam: a Db can run over any `Storage`, here the fault wrapper with no fault.
#[test]
fn db_runs_over_a_wrapped_storage() {
    let dir = TempDir::new("wrapped");
    let storage: Arc<dyn Storage> = Arc::new(FaultStorage::over(Backend::Blocking));
    let db = open_with(
        dir.path(),
        config(Backend::Blocking, FsyncPolicy::Always),
        storage,
    );
    db.set(b"a", b"1").unwrap();
    drop(db);
    let db = open(dir.path(), config(Backend::Blocking, FsyncPolicy::Always));
    assert_eq!(db.get(b"a"), Some(b"1".to_vec()));
}

/// The path the CLI and servers use: floe-core's command table run through `Db::prepare`,
/// `Db::apply` and `Db::settle`, with the same durability as the `Db`'s own methods.
#[test]
fn command_table_through_the_hook_is_durable() {
    use floe_core::codec::resp::SliceSink;
    use floe_core::command::{Outcome, Session};

    for backend in backends() {
        let dir = TempDir::new("hook");
        let run = |db: &Db, session: &mut Session, args: &[&[u8]]| -> Vec<u8> {
            let mut buffer = [0u8; 256];
            let mut reply = SliceSink::new(&mut buffer);
            let applied = db.apply(&db.prepare(args), session, &mut reply).unwrap();
            db.settle(applied.durability).unwrap();
            assert_eq!(applied.outcome, Outcome::Done);
            reply.written().to_vec()
        };
        {
            let db = open(dir.path(), config(backend, FsyncPolicy::Always));
            let mut session = Session::new(1);
            assert_eq!(
                run(&db, &mut session, &[b"SET", b"greeting", b"hello"]),
                b"+OK\r\n"
            );
            assert_eq!(
                run(&db, &mut session, &[b"MSET", b"a", b"1", b"b", b"2"]),
                b"+OK\r\n"
            );
            assert_eq!(run(&db, &mut session, &[b"INCR", b"a"]), b":2\r\n");
            assert_eq!(run(&db, &mut session, &[b"SELECT", b"3"]), b"+OK\r\n");
            assert_eq!(
                run(&db, &mut session, &[b"SET", b"other", b"db3"]),
                b"+OK\r\n"
            );
            assert_eq!(
                run(&db, &mut session, &[b"GET", b"other"]),
                b"$3\r\ndb3\r\n"
            );
        }
        let db = open(dir.path(), config(backend, FsyncPolicy::Always));
        assert_eq!(db.get(b"greeting"), Some(b"hello".to_vec()));
        assert_eq!(db.get(b"a"), Some(b"2".to_vec()));
        assert_eq!(db.get(b"b"), Some(b"2".to_vec()));
        assert_eq!(
            db.get(b"other"),
            None,
            "database 3, not the Db's database 0"
        );
        let report = db.recovery().unwrap();
        assert_eq!(report.group_count, 1, "MSET is one group: {report}");
        let mut session = Session::new(2);
        assert_eq!(run(&db, &mut session, &[b"SELECT", b"3"]), b"+OK\r\n");
        assert_eq!(
            run(&db, &mut session, &[b"GET", b"other"]),
            b"$3\r\ndb3\r\n"
        );
    }
}

/// An event loop's door: prepare and apply several requests, commit once, then poll the
/// ticket without ever blocking; the waker fires when the log's writer thread settles it.
/// Replies are held until then, and every acknowledged write is there after a reopen.
#[test]
fn a_door_that_never_blocks_commits_once_and_polls() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Poll, Wake, Waker};

    use floe_core::command::Session;
    use floe_runtime::db::Durability;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    for policy in [FsyncPolicy::Always, FsyncPolicy::Everysec, FsyncPolicy::No] {
        for backend in backends() {
            let dir = TempDir::new("door");
            {
                let db = open(dir.path(), config(backend, policy));
                let mut session = Session::new(1);
                let mut replies = Vec::new();
                let requests: [&[&[u8]]; 4] = [
                    &[b"SET", b"a", b"1"],
                    &[b"GET", b"a"],
                    &[b"MSET", b"b", b"2", b"c", b"3"],
                    &[b"INCR", b"a"],
                ];
                let mut buffered = 0;
                for request in requests {
                    let applied = db
                        .apply(&db.prepare(request), &mut session, &mut replies)
                        .unwrap();
                    match applied.durability {
                        Durability::Buffered => buffered += 1,
                        Durability::Done => {}
                        Durability::Appended(_) => panic!("small writes stay buffered"),
                    }
                }
                assert_eq!(buffered, 3, "three writes, one read");
                assert_eq!(replies, b"+OK\r\n$1\r\n1\r\n+OK\r\n:2\r\n");
                let ticket = db.commit().unwrap().expect("records were buffered");
                let count = Arc::new(Count(AtomicUsize::new(0)));
                let waker = Waker::from(Arc::clone(&count));
                let mut context = Context::from_waker(&waker);
                let mut polls = 0;
                loop {
                    polls += 1;
                    match db.poll(ticket, context.waker()) {
                        Poll::Ready(outcome) => {
                            outcome.unwrap();
                            break;
                        }
                        // The waker fires when progress may have settled it; spin on it
                        // rather than sleep (the test must not block in the Db).
                        Poll::Pending => {
                            while count.0.load(Ordering::SeqCst) == 0 {
                                std::thread::yield_now();
                            }
                            count.0.store(0, Ordering::SeqCst);
                        }
                    }
                    assert!(polls < 1000, "the ticket never settled");
                }
                // An empty buffer still gives a ticket covering everything before.
                let again = db.commit().unwrap().expect("the last append's ticket");
                assert!(again.lsn_last() >= ticket.lsn_last());
                let _ = &mut context;
                drop(db);
            }
            let db = open(dir.path(), config(backend, policy));
            assert_eq!(db.get(b"a"), Some(b"2".to_vec()), "{policy} {backend}");
            assert_eq!(db.get(b"c"), Some(b"3".to_vec()));
        }
    }
}

/// RENAME, COPY ... DB, MOVE and SWAPDB through the command table: their groups and the
/// SwapDb record recover to the same databases, across a snapshot taken between them
/// (recovery applies each record above the snapshot exactly once, which SwapDb, an
/// involution, needs), and `floe check` reads the log as clean.
#[test]
fn keyspace_commands_recover_across_a_snapshot() {
    use floe_core::codec::resp::SliceSink;
    use floe_core::command::{Outcome, Session};
    use floe_runtime::log::check::check;

    for backend in backends() {
        let dir = TempDir::new("keyspace");
        let run = |db: &Db, session: &mut Session, command: &str| -> String {
            let args: Vec<&[u8]> = command.split(' ').map(str::as_bytes).collect();
            let mut buffer = [0u8; 256];
            let mut reply = SliceSink::new(&mut buffer);
            let applied = db
                .apply(&db.prepare(&args[..]), session, &mut reply)
                .unwrap();
            db.settle(applied.durability).unwrap();
            assert_eq!(applied.outcome, Outcome::Done);
            String::from_utf8_lossy(reply.written()).into_owned()
        };
        let expected = [
            ("GET renamed", "$1\r\n1\r\n"),
            ("GET source", "$-1\r\n"),
            ("GET moved", "$-1\r\n"),
            ("SELECT 2", "+OK\r\n"),
            ("GET copy", "$1\r\n1\r\n"),
            ("GET moved", "$1\r\n2\r\n"),
            ("TTL moved", ":3600\r\n"),
            ("SELECT 5", "+OK\r\n"),
            ("GET five", "$4\r\nfive\r\n"),
            ("DBSIZE", ":1\r\n"),
            ("SELECT 6", "+OK\r\n"),
            ("GET late", "$1\r\nx\r\n"),
        ];
        {
            let db = open(dir.path(), config(backend, FsyncPolicy::Always));
            let mut session = Session::new(1);
            for (command, reply) in [
                ("MSET source 1 moved 2", "+OK\r\n"),
                ("EXPIRE moved 3600", ":1\r\n"),
                ("RENAME source renamed", "+OK\r\n"),
                ("COPY renamed copy DB 7", ":1\r\n"),
                ("MOVE moved 7", ":1\r\n"),
                ("SELECT 2", "+OK\r\n"),
                ("SET five five", "+OK\r\n"),
            ] {
                assert_eq!(run(&db, &mut session, command), reply, "{command}");
            }
            db.save().unwrap();
            for (command, reply) in [
                ("SWAPDB 2 7", "+OK\r\n"),
                ("SWAPDB 7 5", "+OK\r\n"),
                ("SELECT 6", "+OK\r\n"),
                ("SET late x", "+OK\r\n"),
                ("SWAPDB 9 9", "+OK\r\n"),
            ] {
                assert_eq!(run(&db, &mut session, command), reply, "{command}");
            }
            let mut session = Session::new(2);
            for (command, reply) in expected {
                assert_eq!(run(&db, &mut session, command), reply, "live: {command}");
            }
        }
        let report = check(dir.path(), false).unwrap();
        assert!(report.is_clean(), "{report}");
        for _ in 0..2 {
            let db = open(dir.path(), config(backend, FsyncPolicy::Always));
            let report = db.recovery().unwrap();
            assert!(report.snapshot.is_some(), "{report}");
            let mut session = Session::new(3);
            for (command, reply) in expected {
                assert_eq!(
                    run(&db, &mut session, command),
                    reply,
                    "recovered: {command}"
                );
            }
        }
    }
}
