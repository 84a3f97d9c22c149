//! Durability tests of the log writer, each run once per backend (io_uring and blocking).
//!
//! They pin the promises of `floe_runtime::log::writer`: every acknowledged byte is in the
//! segments exactly once and in LSN order; under `always` a ticket is acknowledged only after
//! an fdatasync that covered it; a failed write or sync poisons the log and nothing after it is
//! acknowledged; a directory is used by one writer at a time; group commit batches.
//!
//! Faults are injected by `Recorder`, a `Storage` wrapper that logs every write and sync (and
//! the test logs every acknowledgement) in one sequence, and fails the n-th write or sync.
//! Records use a test-only format that carries their LSN, so the recorder can tell which LSNs
//! each write held: `lsn u64 | thread u32 | seq u32 | payload_size u32 | payload`.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::fs;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use floe_runtime::error::{Error, Operation};
use floe_runtime::io::{AppendFile, Backend, DirLock, Storage, SystemClock};
use floe_runtime::log::{
    FsyncPolicy, LogConfig, LogWriter, Ticket, segment_file_lsn, segment_file_name,
};

// ---------------------------------------------------------------------------------------------
// Harness.

/// The backends every durability test runs on; io_uring is skipped (with a message) where the
/// kernel or sandbox does not offer it.
fn backends() -> Vec<Arc<dyn Storage>> {
    let mut backends = vec![Backend::Blocking.open().unwrap()];
    match Backend::Uring.open() {
        Ok(storage) => backends.push(storage),
        Err(error) => eprintln!("skipping the io_uring backend: {error}"),
    }
    backends
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "floe-log-writer-{name}-{}-{unique}",
            std::process::id()
        ));
        let _ignored = fs::remove_dir_all(&path); // A leftover from an earlier run, if any.
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ignored = fs::remove_dir_all(&self.0); // Best effort.
    }
}

fn open(storage: &Arc<dyn Storage>, config: LogConfig) -> Result<LogWriter, Error> {
    LogWriter::open(Arc::clone(storage), Arc::new(SystemClock::new()), config)
}

const HEADER_SIZE: usize = 20;

/// Appends `record_count` test records for (thread, seq); payload sizes vary with the LSN.
fn append(log: &LogWriter, thread: u32, seq: u32, record_count: u64) -> Result<Ticket, Error> {
    log.append(record_count, |lsn_first, target| {
        for lsn in lsn_first..lsn_first + record_count {
            let payload_size = u32::try_from(lsn % 37).unwrap();
            target.extend_from_slice(&lsn.to_le_bytes());
            target.extend_from_slice(&thread.to_le_bytes());
            target.extend_from_slice(&seq.to_le_bytes());
            target.extend_from_slice(&payload_size.to_le_bytes());
            target.extend(std::iter::repeat_n(
                payload_byte(lsn),
                payload_size as usize,
            ));
        }
    })
}

/// The byte a record's payload is filled with: the low byte of its LSN.
fn payload_byte(lsn: u64) -> u8 {
    lsn.to_le_bytes()[0]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Record {
    lsn: u64,
    thread: u32,
    seq: u32,
}

/// Parses test records; panics on anything malformed (the files must hold exactly what was
/// written).
fn parse(bytes: &[u8]) -> Vec<Record> {
    let mut records = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let header = &bytes[at..at + HEADER_SIZE];
        let lsn = u64::from_le_bytes(header[0..8].try_into().unwrap());
        let thread = u32::from_le_bytes(header[8..12].try_into().unwrap());
        let seq = u32::from_le_bytes(header[12..16].try_into().unwrap());
        let payload_size = u32::from_le_bytes(header[16..20].try_into().unwrap()) as usize;
        assert_eq!(payload_size as u64, lsn % 37, "garbage at offset {at}");
        let payload = &bytes[at + HEADER_SIZE..at + HEADER_SIZE + payload_size];
        assert!(
            payload.iter().all(|&b| b == payload_byte(lsn)),
            "payload of lsn={lsn}"
        );
        records.push(Record { lsn, thread, seq });
        at += HEADER_SIZE + payload_size;
    }
    records
}

/// Every segment in `dir` in name order, with its records; checks that each segment's name is
/// its first record's LSN.
fn read_log(dir: &Path) -> Vec<(String, u64, Vec<Record>)> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| segment_file_lsn(name).is_some())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let bytes = fs::read(dir.join(&name)).unwrap();
            let size = bytes.len() as u64;
            let records = parse(&bytes);
            if let Some(first) = records.first() {
                assert_eq!(segment_file_lsn(&name), Some(first.lsn), "{name}");
            }
            (name, size, records)
        })
        .collect()
}

/// One line of the shared history of storage calls and acknowledgements.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    /// A write that succeeded, holding LSNs `lsn_first..lsn_end` of `path`.
    Write {
        path: PathBuf,
        lsn_first: u64,
        lsn_end: u64,
    },
    /// An fdatasync of `path` that succeeded.
    Sync { path: PathBuf },
    /// An fdatasync that was attempted and failed (injected).
    SyncFailed,
    /// The test saw `wait` return Ok for a ticket ending at `lsn_last`.
    Ack { lsn_last: u64 },
}

/// Which call fails, counted from 1 over the whole storage; 0 = never.
#[derive(Debug, Default)]
struct Faults {
    write_failing: u64,
    sync_failing: u64,
    /// Hold the first synced write until this many appends were acknowledged as queued
    /// (`queued`), so later appends pile up behind it; 0 = no gate.
    gate_appends: u64,
}

#[derive(Debug)]
struct Recorder {
    inner: Arc<dyn Storage>,
    shared: Arc<RecorderShared>,
}

#[derive(Debug, Default)]
struct RecorderShared {
    events: Mutex<Vec<Event>>,
    faults: Faults,
    write_count: AtomicU64,
    sync_count: AtomicU64,
    queued: AtomicU64,
}

impl RecorderShared {
    fn push(&self, event: Event) {
        self.events.lock().unwrap().push(event);
    }

    fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }

    fn syncs_attempted(&self) -> u64 {
        self.sync_count.load(Ordering::SeqCst)
    }
}

impl Recorder {
    fn wrap(inner: &Arc<dyn Storage>, faults: Faults) -> (Arc<dyn Storage>, Arc<RecorderShared>) {
        let shared = Arc::new(RecorderShared {
            faults,
            ..RecorderShared::default()
        });
        let storage: Arc<dyn Storage> = Arc::new(Self {
            inner: Arc::clone(inner),
            shared: Arc::clone(&shared),
        });
        (storage, shared)
    }
}

impl Storage for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }
    fn create_dir_all(&self, dir: &Path) -> Result<(), Error> {
        self.inner.create_dir_all(dir)
    }
    fn lock_dir(&self, dir: &Path) -> Result<DirLock, Error> {
        self.inner.lock_dir(dir)
    }
    fn open_append(&self, path: &Path) -> Result<Box<dyn AppendFile>, Error> {
        Ok(Box::new(RecordingFile {
            inner: self.inner.open_append(path)?,
            shared: Arc::clone(&self.shared),
        }))
    }
    fn read(&self, path: &Path) -> Result<Vec<u8>, Error> {
        self.inner.read(path)
    }
    fn read_range(&self, path: &Path, offset: u64, size: u64) -> Result<Vec<u8>, Error> {
        self.inner.read_range(path, offset, size)
    }
    fn size(&self, path: &Path) -> Result<u64, Error> {
        self.inner.size(path)
    }
    fn list(&self, dir: &Path) -> Result<Vec<String>, Error> {
        self.inner.list(dir)
    }
    fn truncate(&self, path: &Path, size: u64) -> Result<(), Error> {
        self.inner.truncate(path, size)
    }
    fn rename(&self, source: &Path, target: &Path) -> Result<(), Error> {
        self.inner.rename(source, target)
    }
    fn remove(&self, path: &Path) -> Result<(), Error> {
        self.inner.remove(path)
    }
    fn sync_dir(&self, dir: &Path) -> Result<(), Error> {
        self.inner.sync_dir(dir)
    }
}

#[derive(Debug)]
struct RecordingFile {
    inner: Box<dyn AppendFile>,
    shared: Arc<RecorderShared>,
}

impl RecordingFile {
    /// Counts a write and fails it (ENOSPC, after writing half of it: a torn write) if it is
    /// the one chosen to fail.
    fn write_fault(&mut self, offset: u64, bytes: &[u8]) -> Result<(), Error> {
        let index = self.shared.write_count.fetch_add(1, Ordering::SeqCst) + 1;
        if index == self.shared.faults.write_failing {
            self.inner.write_at(offset, &bytes[..bytes.len() / 2])?;
            let source = io::Error::from_raw_os_error(28); // ENOSPC
            return Err(Error::io(Operation::Write, self.inner.path(), source));
        }
        Ok(())
    }

    /// Counts a sync and fails it (EIO) if it is the one chosen to fail.
    fn sync_fault(&mut self) -> Result<(), Error> {
        let index = self.shared.sync_count.fetch_add(1, Ordering::SeqCst) + 1;
        if index == self.shared.faults.sync_failing {
            self.shared.push(Event::SyncFailed);
            let source = io::Error::other("injected EIO");
            return Err(Error::io(Operation::SyncData, self.inner.path(), source));
        }
        Ok(())
    }

    fn record_write(&self, bytes: &[u8]) {
        let records = parse(bytes);
        self.shared.push(Event::Write {
            path: self.inner.path().to_path_buf(),
            lsn_first: records.first().map_or(0, |r| r.lsn),
            lsn_end: records.last().map_or(0, |r| r.lsn + 1),
        });
    }

    fn gate(&self) {
        let wanted = self.shared.faults.gate_appends;
        if wanted == 0 || self.shared.sync_count.load(Ordering::SeqCst) > 1 {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.shared.queued.load(Ordering::SeqCst) < wanted {
            assert!(Instant::now() < deadline, "appenders never arrived");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl AppendFile for RecordingFile {
    fn path(&self) -> &Path {
        self.inner.path()
    }
    fn size(&self) -> Result<u64, Error> {
        self.inner.size()
    }
    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> Result<(), Error> {
        self.write_fault(offset, bytes)?;
        self.inner.write_at(offset, bytes)?;
        self.record_write(bytes);
        Ok(())
    }
    fn sync_data(&mut self) -> Result<(), Error> {
        self.sync_fault()?;
        self.inner.sync_data()?;
        self.shared.push(Event::Sync {
            path: self.inner.path().to_path_buf(),
        });
        Ok(())
    }
    fn write_at_and_sync(&mut self, offset: u64, bytes: &[u8]) -> Result<(), Error> {
        self.write_fault(offset, bytes)?;
        if self.shared.faults.sync_failing == self.shared.sync_count.load(Ordering::SeqCst) + 1 {
            // The write happens, its sync fails.
            self.inner.write_at(offset, bytes)?;
            self.record_write(bytes);
            return self.sync_fault();
        }
        self.sync_fault()?;
        self.gate();
        // The backend's own linked write + sync (one io_uring submission).
        self.inner.write_at_and_sync(offset, bytes)?;
        self.record_write(bytes);
        self.shared.push(Event::Sync {
            path: self.inner.path().to_path_buf(),
        });
        Ok(())
    }
}

/// Checks the durability promise on a history: every acknowledged LSN was written, and an
/// fdatasync of the same file succeeded after that write and before the acknowledgement.
fn assert_acks_follow_covering_syncs(events: &[Event]) {
    for (ack_index, event) in events.iter().enumerate() {
        let Event::Ack { lsn_last } = *event else {
            continue;
        };
        let write_index = events[..ack_index]
            .iter()
            .rposition(|e| {
                matches!(e, Event::Write { lsn_first, lsn_end, .. }
                    if *lsn_first <= lsn_last && lsn_last < *lsn_end)
            })
            .unwrap_or_else(|| panic!("lsn={lsn_last} acknowledged but never written"));
        let Event::Write { path, .. } = &events[write_index] else {
            unreachable!()
        };
        let synced = events[write_index + 1..ack_index]
            .iter()
            .any(|e| matches!(e, Event::Sync { path: synced } if synced == path));
        assert!(
            synced,
            "lsn={lsn_last} acknowledged before a sync covered it"
        );
    }
}

/// `thread_count` threads each append-and-wait `append_count` times (every third append has
/// two records); returns the acknowledged (thread, seq) pairs and each thread's first error.
fn hammer(
    log: &LogWriter,
    recorder: Option<&RecorderShared>,
    thread_count: u32,
    append_count: u32,
) -> (Vec<(u32, u32)>, Vec<Error>) {
    let barrier = Barrier::new(thread_count as usize);
    let acked = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for thread in 0..thread_count {
            let (barrier, acked, errors) = (&barrier, &acked, &errors);
            scope.spawn(move || {
                barrier.wait();
                for seq in 0..append_count {
                    let record_count = if seq % 3 == 2 { 2 } else { 1 };
                    let outcome = append(log, thread, seq, record_count).and_then(|ticket| {
                        if let Some(recorder) = recorder {
                            recorder.queued.fetch_add(1, Ordering::SeqCst);
                        }
                        log.wait(ticket)?;
                        if let Some(recorder) = recorder {
                            recorder.push(Event::Ack {
                                lsn_last: ticket.lsn_last(),
                            });
                        }
                        Ok(())
                    });
                    match outcome {
                        Ok(()) => acked.lock().unwrap().push((thread, seq)),
                        Err(error) => {
                            errors.lock().unwrap().push(error);
                            return;
                        }
                    }
                }
            });
        }
    });
    (acked.into_inner().unwrap(), errors.into_inner().unwrap())
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn concurrent_appends_land_once_in_lsn_order_across_segments() {
    for storage in backends() {
        for policy in [FsyncPolicy::Always, FsyncPolicy::Everysec, FsyncPolicy::No] {
            let dir = TempDir::new("concurrent");
            let mut config = LogConfig::new(&dir.0);
            config.fsync = policy;
            config.segment_size_max = 2048;
            let log = open(&storage, config).unwrap();
            let (acked, errors) = hammer(&log, None, 8, 150);
            assert!(errors.is_empty(), "{errors:?}");
            log.close().unwrap();
            let stats = log.stats();
            drop(log);

            let segments = read_log(&dir.0);
            assert!(
                segments.len() > 1,
                "{} {policy}: no rollover",
                storage.name()
            );
            assert_eq!(stats.segment_count, segments.len() as u64);
            let records: Vec<Record> = segments.iter().flat_map(|s| s.2.clone()).collect();
            for (name, size, _) in &segments {
                assert!(*size <= 2048, "{name} has {size} bytes");
            }
            // Dense, in order, from 1.
            for (index, record) in records.iter().enumerate() {
                assert_eq!(record.lsn, index as u64 + 1, "{} {policy}", storage.name());
            }
            assert_eq!(stats.record_count, records.len() as u64);
            // Every acknowledged append exactly once (two records for every third seq).
            let mut appends: Vec<(u32, u32)> = records.iter().map(|r| (r.thread, r.seq)).collect();
            appends.dedup();
            let mut sorted = appends.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), appends.len(), "an append appears twice");
            let mut acked = acked;
            acked.sort_unstable();
            assert_eq!(acked, sorted, "{} {policy}", storage.name());
            let per_append: usize = acked
                .iter()
                .map(|&(_, s)| 1 + usize::from(s % 3 == 2))
                .sum();
            assert_eq!(per_append, records.len());
        }
    }
}

#[test]
fn always_acknowledges_only_after_a_covering_sync() {
    for storage in backends() {
        let dir = TempDir::new("always");
        let (recording, recorder) = Recorder::wrap(&storage, Faults::default());
        let mut config = LogConfig::new(&dir.0);
        config.segment_size_max = 4096;
        let log = open(&recording, config).unwrap();
        let (acked, errors) = hammer(&log, Some(&*recorder), 16, 60);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(acked.len(), 16 * 60);
        let events = recorder.events();
        assert_acks_follow_covering_syncs(&events);
        let stats = log.stats();
        assert_eq!(
            stats.sync_count,
            recorder.syncs_attempted(),
            "{}",
            storage.name()
        );
        assert_eq!(
            stats.write_count, stats.sync_count,
            "one sync per batch under always"
        );
        log.close().unwrap();
    }
}

#[test]
fn group_commit_needs_fewer_syncs_than_appends() {
    // The first synced write is held until all 64 appenders have queued an append, so the
    // appends that arrive meanwhile must share the next batch: fewer syncs than appends is a
    // logical consequence, not a timing accident.
    for storage in backends() {
        let dir = TempDir::new("batching");
        let faults = Faults {
            gate_appends: 64,
            ..Faults::default()
        };
        let (recording, recorder) = Recorder::wrap(&storage, faults);
        let log = open(&recording, LogConfig::new(&dir.0)).unwrap();
        let (acked, errors) = hammer(&log, Some(&*recorder), 64, 10);
        assert!(errors.is_empty(), "{errors:?}");
        let stats = log.stats();
        assert_eq!(acked.len(), 640);
        assert_eq!(stats.append_count, 640);
        assert!(
            stats.sync_count < stats.append_count,
            "{}: {} syncs for {} appends",
            storage.name(),
            stats.sync_count,
            stats.append_count
        );
        eprintln!(
            "{}: 64 threads, {} appends, {} syncs",
            storage.name(),
            stats.append_count,
            stats.sync_count
        );
        assert_acks_follow_covering_syncs(&recorder.events());
        log.close().unwrap();
    }
}

/// Runs appenders against a log whose storage fails as `faults` says, and checks the poison
/// contract. Returns the errors the threads saw.
fn check_poisoning(storage: &Arc<dyn Storage>, faults: Faults, policy: FsyncPolicy) -> Vec<Error> {
    let dir = TempDir::new("poison");
    let (recording, recorder) = Recorder::wrap(storage, faults);
    let mut config = LogConfig::new(&dir.0);
    config.fsync = policy;
    config.everysec_interval = Duration::ZERO; // Sync after every batch: reach the fault fast.
    let log = open(&recording, config).unwrap();
    let (_acked, errors) = hammer(&log, Some(&*recorder), 16, 1_000);
    assert_eq!(errors.len(), 16, "every thread must stop with an error");
    for error in &errors {
        let Error::Poisoned { cause } = error else {
            panic!("expected Poisoned, got {error:?}");
        };
        assert!(matches!(**cause, Error::Io { .. }), "{cause:?}");
        let message = error.to_string();
        assert!(
            message.contains("injected") || message.contains("space"),
            "{message}"
        );
    }
    // Later appends are refused with the same cause; close reports it too.
    let later = append(&log, 99, 0, 1).unwrap_err();
    assert!(matches!(later, Error::Poisoned { .. }), "{later:?}");
    assert!(matches!(log.close(), Err(Error::Poisoned { .. })));
    // Never retried: the failing sync is the last one attempted.
    let sync_failing = recorder.faults.sync_failing;
    if sync_failing != 0 {
        assert_eq!(
            recorder.syncs_attempted(),
            sync_failing,
            "a failed sync was retried"
        );
    }
    let events = recorder.events();
    if policy == FsyncPolicy::Always {
        assert_acks_follow_covering_syncs(&events);
    }
    // Nothing acknowledged after the failure point, under any policy: after the failed call
    // no write or sync succeeds, and no later ack covers an LSN that was not synced.
    let synced_end = events
        .iter()
        .rposition(|e| matches!(e, Event::Sync { .. }))
        .and_then(|sync_index| {
            events[..sync_index].iter().rev().find_map(|e| match e {
                Event::Write { lsn_end, .. } => Some(*lsn_end),
                _ => None,
            })
        })
        .unwrap_or(1);
    if let Some(failed_index) = events.iter().position(|e| *e == Event::SyncFailed) {
        assert!(
            !events[failed_index..]
                .iter()
                .any(|e| matches!(e, Event::Sync { .. })),
            "a sync succeeded after the failed one"
        );
    }
    if policy == FsyncPolicy::Always {
        let acked_after_failure = events
            .iter()
            .filter(|e| matches!(e, Event::Ack { lsn_last } if *lsn_last >= synced_end))
            .count();
        assert_eq!(
            acked_after_failure, 0,
            "acknowledged past the last good sync"
        );
    }
    errors
}

#[test]
fn failed_sync_poisons_the_log_and_is_never_retried() {
    for storage in backends() {
        for policy in [FsyncPolicy::Always, FsyncPolicy::Everysec] {
            let faults = Faults {
                sync_failing: 4,
                ..Faults::default()
            };
            let errors = check_poisoning(&storage, faults, policy);
            let Error::Poisoned { cause } = &errors[0] else {
                unreachable!()
            };
            let Error::Io { operation, .. } = &**cause else {
                unreachable!()
            };
            assert_eq!(*operation, Operation::SyncData, "{}", storage.name());
        }
    }
}

#[test]
fn failed_write_poisons_the_log() {
    for storage in backends() {
        for policy in [FsyncPolicy::Always, FsyncPolicy::No] {
            let faults = Faults {
                write_failing: 5,
                ..Faults::default()
            };
            let errors = check_poisoning(&storage, faults, policy);
            let Error::Poisoned { cause } = &errors[0] else {
                unreachable!()
            };
            assert_eq!(
                cause.io_error().map(io::Error::kind),
                Some(io::ErrorKind::StorageFull),
                "{}",
                storage.name()
            );
            assert!(
                errors[0].to_string().contains("free space"),
                "{}",
                errors[0]
            );
        }
    }
}

#[test]
fn a_ticket_synced_before_a_failure_stays_durable() {
    for storage in backends() {
        let dir = TempDir::new("synced-before");
        let faults = Faults {
            sync_failing: 2,
            ..Faults::default()
        };
        let (recording, _recorder) = Recorder::wrap(&storage, faults);
        let log = open(&recording, LogConfig::new(&dir.0)).unwrap();
        let first = append(&log, 0, 0, 1).unwrap();
        log.wait(first).unwrap();
        let second = append(&log, 0, 1, 1).unwrap();
        assert!(matches!(log.wait(second), Err(Error::Poisoned { .. })));
        // The first was on disk before the failure; saying otherwise would be a lie too.
        log.wait(first).unwrap();
        assert!(log.close().is_err());
    }
}

#[test]
fn second_writer_on_a_directory_is_locked_out() {
    for storage in backends() {
        let dir = TempDir::new("locked");
        let log = open(&storage, LogConfig::new(&dir.0)).unwrap();
        let error = open(&storage, LogConfig::new(&dir.0)).unwrap_err();
        let Error::Locked {
            dir: locked,
            holder,
        } = &error
        else {
            panic!("expected Locked, got {error:?}");
        };
        assert_eq!(locked, &dir.0);
        assert_eq!(holder, &format!("pid {}", std::process::id()));
        let message = error.to_string();
        assert!(message.contains(&dir.0.display().to_string()), "{message}");
        log.close().unwrap();
        drop(log);
        // Released with the writer.
        open(&storage, LogConfig::new(&dir.0))
            .unwrap()
            .close()
            .unwrap();
    }
}

#[test]
fn unusable_directory_is_a_clear_error() {
    // Root ignores permission bits, so provoke the failure with a regular file in the path.
    for storage in backends() {
        let dir = TempDir::new("unusable");
        fs::create_dir_all(&dir.0).unwrap();
        let file = dir.0.join("not-a-directory");
        fs::write(&file, b"x").unwrap();
        let data_dir = file.join("sub");
        let error = open(&storage, LogConfig::new(&data_dir)).unwrap_err();
        let Error::Io {
            operation, path, ..
        } = &error
        else {
            panic!("expected Io, got {error:?}");
        };
        assert_eq!(*operation, Operation::CreateDir);
        assert_eq!(path, &data_dir);
        let message = error.to_string();
        assert!(message.contains("create directory"), "{message}");
        assert!(message.contains("not-a-directory/sub"), "{message}");
    }
}

#[test]
fn everysec_acknowledges_writes_and_syncs_in_the_background() {
    for storage in backends() {
        let dir = TempDir::new("everysec");
        let (recording, recorder) = Recorder::wrap(&storage, Faults::default());
        let mut config = LogConfig::new(&dir.0);
        config.fsync = FsyncPolicy::Everysec;
        config.everysec_interval = Duration::from_millis(50);
        let log = open(&recording, config).unwrap();
        let ticket = append(&log, 0, 0, 1).unwrap();
        log.wait(ticket).unwrap();
        // The background sync comes within a few intervals, with no further appends.
        let deadline = Instant::now() + Duration::from_secs(10);
        while log.stats().sync_count == 0 {
            assert!(
                Instant::now() < deadline,
                "{}: no background sync",
                storage.name()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(log.stats().write_count, 1);
        log.close().unwrap();
        assert_eq!(
            recorder.syncs_attempted(),
            1,
            "close has nothing left to sync"
        );
    }
}

#[test]
fn policy_no_syncs_only_on_close() {
    for storage in backends() {
        let dir = TempDir::new("no");
        let (recording, recorder) = Recorder::wrap(&storage, Faults::default());
        let mut config = LogConfig::new(&dir.0);
        config.fsync = FsyncPolicy::No;
        config.segment_size_max = 1024;
        let log = open(&recording, config).unwrap();
        let (acked, errors) = hammer(&log, None, 4, 50);
        assert!(errors.is_empty() && acked.len() == 200);
        assert_eq!(recorder.syncs_attempted(), 0);
        assert!(log.stats().segment_count > 1, "rolled without syncing");
        log.close().unwrap();
        assert_eq!(recorder.syncs_attempted(), 1, "graceful close syncs once");
    }
}

#[test]
fn close_flushes_what_is_queued() {
    for storage in backends() {
        let dir = TempDir::new("close");
        let log = open(&storage, LogConfig::new(&dir.0)).unwrap();
        let tickets: Vec<Ticket> = (0..200)
            .map(|seq| append(&log, 0, seq, 1).unwrap())
            .collect();
        log.close().unwrap();
        for ticket in &tickets {
            log.wait(*ticket).unwrap();
        }
        let error = append(&log, 0, 200, 1).unwrap_err();
        assert!(matches!(error, Error::Closed), "{error:?}");
        log.close().unwrap(); // Idempotent.
        drop(log);
        let records: Vec<Record> = read_log(&dir.0).into_iter().flat_map(|s| s.2).collect();
        assert_eq!(records.len(), 200);
        assert!(records.iter().enumerate().all(|(i, r)| r.seq as usize == i));
    }
}

#[test]
fn reopening_continues_from_the_given_lsn_and_never_overwrites() {
    for storage in backends() {
        let dir = TempDir::new("reopen");
        let log = open(&storage, LogConfig::new(&dir.0)).unwrap();
        let ticket = append(&log, 0, 0, 3).unwrap();
        log.wait(ticket).unwrap();
        drop(log);
        // Recovery has not run: the segment for LSN 1 holds records, so it is refused.
        let error = open(&storage, LogConfig::new(&dir.0)).unwrap_err();
        assert!(
            matches!(&error, Error::Io { source, .. } if source.kind() == io::ErrorKind::AlreadyExists),
            "{error:?}"
        );
        let config = LogConfig {
            lsn_next: 4,
            ..LogConfig::new(&dir.0)
        };
        let log = open(&storage, config).unwrap();
        let ticket = append(&log, 0, 1, 1).unwrap();
        assert_eq!(ticket.lsn_first(), 4);
        log.wait(ticket).unwrap();
        drop(log);
        let segments = read_log(&dir.0);
        let names: Vec<&str> = segments.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(names, [segment_file_name(1), segment_file_name(4)]);
        let lsns: Vec<u64> = segments.iter().flat_map(|s| &s.2).map(|r| r.lsn).collect();
        assert_eq!(lsns, [1, 2, 3, 4]);
    }
}

#[test]
fn a_panicking_encoder_leaves_no_bytes_and_no_lsn_behind() {
    let storage = Backend::Blocking.open().unwrap();
    let dir = TempDir::new("encode-panic");
    let log = open(&storage, LogConfig::new(&dir.0)).unwrap();
    let first = append(&log, 0, 0, 1).unwrap();
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        log.append(1, |_lsn, target| {
            target.extend_from_slice(b"half a record");
            panic!("encoder bug");
        })
    }));
    assert!(panicked.is_err());
    let second = append(&log, 0, 1, 1).unwrap();
    assert_eq!(second.lsn_first(), first.lsn_first() + 1);
    log.wait(second).unwrap();
    log.close().unwrap();
    drop(log);
    let records: Vec<Record> = read_log(&dir.0).into_iter().flat_map(|s| s.2).collect();
    assert_eq!(records.iter().map(|r| r.lsn).collect::<Vec<_>>(), [1, 2]);
}
