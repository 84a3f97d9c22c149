//! loom model tests of the log writer's thread handoffs, run on the real [`LogWriter`].
//!
//! The writer's locks, condvars, atomics, parking and thread spawn come from
//! `floe_runtime::sync`, which is loom's under `--cfg loom`; its files are the simulator's
//! in-memory disk (no OS I/O, no blocking outside loom's view). So loom explores every
//! interleaving of appenders, the writer thread, waiters and `close`, and these properties
//! hold in all of them:
//!
//! - **Ack after sync** (`always`): when `wait` returns `Ok`, the ticket's record is in the
//!   disk's *durable* image, i.e. a sync covering it returned before the ack.
//! - **Group commit order**: concurrent appends land once each, in LSN order.
//! - **Poisoning wakes everyone**: when the first sync fails, every appender and waiter
//!   returns (no lost wakeup, no deadlock) with `Poisoned`, and nothing unsynced is acked.
//! - **Shutdown with appends in flight**: `close` racing an append either flushes the
//!   append (its wait returns `Ok` and it is durable) or refuses it with `Closed`.
//! - **`Db`'s write path** (`runtime/src/db.rs`): apply under the store lock, append while
//!   still holding it, unlock, then wait. Racing writers leave the file in apply order,
//!   which is what recovery replays. `db.rs` uses `std` locks, so this models its protocol
//!   with a loom mutex standing in for the store lock, around the real log writer.
//!
//! Run (CI does):
//!
//! ```text
//! RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=/work/main/target-loom \
//!     cargo test -p floe-runtime --test loom_log --release
//! ```
//!
//! `LOOM_MAX_PREEMPTIONS` (default 3 here) bounds the search; 3 finds all the bugs the
//! classic papers on bounded preemption report as needing few context switches.
#![cfg(loom)]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use floe_runtime::error::Error;
use floe_runtime::io::{Clock, Storage};
use floe_runtime::log::{FsyncPolicy, LogConfig, LogWriter, segment_file_name};
use floe_runtime::sim::clock::SimClock;
use floe_runtime::sim::disk::{FaultConfig, SimDisk};

/// Bytes of one test record: 8 bytes of LSN, then 8 of payload.
const RECORD_SIZE: usize = 16;

fn dir() -> PathBuf {
    PathBuf::from("/loom")
}

fn model(test: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(test);
}

fn open(disk: &SimDisk, policy: FsyncPolicy) -> LogWriter {
    let storage: Arc<dyn Storage> = Arc::new(disk.clone());
    let clock: Arc<dyn Clock> = Arc::new(SimClock::new(0));
    let mut config = LogConfig::new(dir());
    config.fsync = policy;
    LogWriter::open(storage, clock, config).unwrap()
}

fn append(log: &LogWriter, payload: u64) -> Result<floe_runtime::log::Ticket, Error> {
    log.append(1, |lsn, target| {
        target.extend_from_slice(&lsn.to_le_bytes());
        target.extend_from_slice(&payload.to_le_bytes());
    })
}

/// `(lsn, payload)` of every whole record in `bytes`.
fn records(bytes: &[u8]) -> Vec<(u64, u64)> {
    bytes
        .chunks_exact(RECORD_SIZE)
        .map(|chunk| {
            let lsn = u64::from_le_bytes(chunk[..8].try_into().unwrap());
            let payload = u64::from_le_bytes(chunk[8..].try_into().unwrap());
            (lsn, payload)
        })
        .collect()
}

fn durable_records(disk: &SimDisk) -> Vec<(u64, u64)> {
    let path = dir().join(segment_file_name(1));
    records(&disk.durable_image(&path).unwrap_or_default())
}

fn segment(dir: &Path) -> PathBuf {
    dir.join(segment_file_name(1))
}

#[test]
fn always_acks_only_durable_records_in_lsn_order() {
    model(|| {
        let disk = SimDisk::new(1, FaultConfig::none(), None);
        let log = Arc::new(open(&disk, FsyncPolicy::Always));
        let appenders: Vec<_> = (1..=2u64)
            .map(|payload| {
                let log = Arc::clone(&log);
                let disk = disk.clone();
                loom::thread::spawn(move || {
                    let ticket = append(&log, payload).unwrap();
                    log.wait(ticket).unwrap();
                    // Acked: the record must already be durable.
                    let durable = durable_records(&disk);
                    assert!(
                        durable.contains(&(ticket.lsn_first(), payload)),
                        "acked lsn {} not durable: {durable:?}",
                        ticket.lsn_first()
                    );
                })
            })
            .collect();
        for appender in appenders {
            appender.join().unwrap();
        }
        log.close().unwrap();
        let durable = durable_records(&disk);
        let lsns: Vec<u64> = durable.iter().map(|&(lsn, _)| lsn).collect();
        assert_eq!(lsns, vec![1, 2], "{durable:?}");
        let mut payloads: Vec<u64> = durable.iter().map(|&(_, payload)| payload).collect();
        payloads.sort_unstable();
        assert_eq!(payloads, vec![1, 2]);
    });
}

#[test]
fn a_failed_sync_wakes_every_waiter_and_acks_nothing() {
    model(|| {
        let faults = FaultConfig {
            sync_error_probability: 1.0,
            ..FaultConfig::none()
        };
        let disk = SimDisk::new(2, FaultConfig::none(), None);
        let log = Arc::new(open(&disk, FsyncPolicy::Always));
        // Every sync from here on fails (the segment's directory sync is done).
        disk.set_faults(faults);
        let appenders: Vec<_> = (1..=2u64)
            .map(|payload| {
                let log = Arc::clone(&log);
                loom::thread::spawn(move || {
                    let outcome = append(&log, payload).and_then(|ticket| log.wait(ticket));
                    match outcome {
                        Err(Error::Poisoned { .. }) => {}
                        other => panic!("expected Poisoned, got {other:?}"),
                    }
                })
            })
            .collect();
        for appender in appenders {
            appender.join().unwrap();
        }
        assert!(matches!(log.close(), Err(Error::Poisoned { .. })));
        assert!(matches!(append(&log, 9), Err(Error::Poisoned { .. })));
    });
}

#[test]
fn close_racing_an_append_flushes_it_or_refuses_it() {
    model(|| {
        let disk = SimDisk::new(3, FaultConfig::none(), None);
        // Policy `no`: only close syncs, so a durable record proves close flushed it.
        let log = Arc::new(open(&disk, FsyncPolicy::No));
        let appender = {
            let log = Arc::clone(&log);
            loom::thread::spawn(move || match append(&log, 7) {
                Ok(ticket) => {
                    log.wait(ticket).unwrap();
                    true
                }
                Err(Error::Closed) => false,
                Err(other) => panic!("unexpected {other}"),
            })
        };
        log.close().unwrap();
        let appended = appender.join().unwrap();
        let durable = durable_records(&disk);
        if appended {
            assert_eq!(durable, vec![(1, 7)]);
        } else {
            assert!(durable.is_empty(), "{durable:?}");
        }
        // Closed for good: later appends are refused too.
        assert!(matches!(append(&log, 8), Err(Error::Closed)));
    });
}

#[test]
fn everysec_acks_after_the_write_and_close_syncs() {
    model(|| {
        let disk = SimDisk::new(4, FaultConfig::none(), None);
        let log = Arc::new(open(&disk, FsyncPolicy::Everysec));
        let appender = {
            let log = Arc::clone(&log);
            let disk = disk.clone();
            loom::thread::spawn(move || {
                let ticket = append(&log, 5).unwrap();
                log.wait(ticket).unwrap();
                // Acked under everysec: written (in the page cache), maybe not yet synced.
                let written = records(&disk.read(&segment(&dir())).unwrap());
                assert!(written.contains(&(ticket.lsn_first(), 5)), "{written:?}");
            })
        };
        appender.join().unwrap();
        log.close().unwrap();
        assert_eq!(durable_records(&disk), vec![(1, 5)]);
    });
}

#[test]
fn appending_under_the_store_lock_keeps_file_order_equal_to_apply_order() {
    model(|| {
        let disk = SimDisk::new(5, FaultConfig::none(), None);
        let log = Arc::new(open(&disk, FsyncPolicy::Always));
        // The store lock of `Db`: the apply order is the order writers held it.
        let store = Arc::new(loom::sync::Mutex::new(Vec::<u64>::new()));
        let writers: Vec<_> = (1..=2u64)
            .map(|payload| {
                let log = Arc::clone(&log);
                let store = Arc::clone(&store);
                loom::thread::spawn(move || {
                    let mut applied = store.lock().unwrap();
                    applied.push(payload);
                    let ticket = append(&log, payload).unwrap();
                    drop(applied);
                    log.wait(ticket).unwrap();
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        log.close().unwrap();
        let applied = store.lock().unwrap().clone();
        let logged: Vec<u64> = durable_records(&disk)
            .into_iter()
            .map(|(_, payload)| payload)
            .collect();
        assert_eq!(logged, applied);
    });
}
