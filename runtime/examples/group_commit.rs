//! Measures group commit: acknowledged writes per second under `always` with many writer
//! threads, against the raw fdatasync rate of the same disk. Prints numbers; asserts nothing.
//!
//! ```text
//! cargo run --release -p floe-runtime --example group_commit -- [SECONDS] [THREADS] [DIR]
//! ```
//!
//! Defaults: 6 seconds in all, 64 threads, a fresh directory under the system temp dir (which
//! should be on the disk you care about). The time is cut into rounds; each round runs, each
//! on a fresh directory:
//! 1. raw: one thread, `pwrite` 50 bytes at the end + `fdatasync`, in a loop (std::fs);
//! 2. per backend (io_uring, blocking): one thread, then THREADS threads, each appending one
//!    50-byte record and waiting for it, in a loop (one thread: the log's own unbatched rate).
//!
//! Interleaving matters on shared or virtual disks, whose fdatasync rate can move by 10x from
//! one second to the next: the ratio compares the log and the raw loop over the same time.
//!
//! Fault assumptions: none; a failure ends the run with its error.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use floe_runtime::error::Error;
use floe_runtime::io::{Backend, Storage, SystemClock};
use floe_runtime::log::{FsyncPolicy, LogConfig, LogWriter};

const RECORD_SIZE: usize = 50;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().map_or(Ok(6.0), |text| text.parse())?;
    let thread_count: usize = args.next().map_or(Ok(64), |text| text.parse())?;
    let root = args.next().map_or_else(
        || std::env::temp_dir().join(format!("floe-group-commit-{}", std::process::id())),
        PathBuf::from,
    );
    let backends: Vec<Arc<dyn Storage>> = [Backend::Uring, Backend::Blocking]
        .into_iter()
        .filter_map(|backend| match backend.open() {
            Ok(storage) => Some(storage),
            Err(error) => {
                println!("{backend} skipped: {error}");
                None
            }
        })
        .collect();
    // A shared virtual disk's fdatasync rate drifts by 10x within seconds, so the phases are
    // interleaved in short rounds and the ratio compares totals over the same stretch of time.
    let phase = Duration::from_secs_f64(seconds / (ROUND_COUNT as f64 * 2.0));
    let phase_log = phase.div_f64(2.0 * backends.len().max(1) as f64);
    println!(
        "group commit: {thread_count} threads, {RECORD_SIZE}-byte records, fsync=always, \
         {ROUND_COUNT} rounds of raw {:.2} s + log {:.2} s per backend and thread count, dir {}",
        phase.as_secs_f64(),
        phase_log.as_secs_f64(),
        root.display()
    );
    let mut raw = Totals::default();
    let mut logs: Vec<Totals> = backends.iter().map(|_| Totals::default()).collect();
    let mut singles: Vec<Totals> = backends.iter().map(|_| Totals::default()).collect();
    let mut ratios: Vec<Vec<f64>> = backends.iter().map(|_| Vec::new()).collect();
    for round in 0..ROUND_COUNT {
        let raw_round = raw_sync_rate(&root.join(format!("raw-{round}")), phase)?;
        raw.add(&raw_round);
        for (index, storage) in backends.iter().enumerate() {
            let dir = root.join(format!("{}-{round}", storage.name()));
            let single_round = group_commit(storage, &dir.join("single"), 1, phase_log)?;
            singles[index].add(&single_round);
            let log_round = group_commit(storage, &dir, thread_count, phase_log)?;
            ratios[index].push(log_round.acked_per_second() / raw_round.syncs_per_second());
            logs[index].add(&log_round);
        }
    }
    println!(
        "raw       std::fs write 50 B + fdatasync loop: {:>9.0} fdatasyncs/s",
        raw.syncs_per_second()
    );
    for (index, storage) in backends.iter().enumerate() {
        let (log, single, ratios) = (&logs[index], &singles[index], &mut ratios[index]);
        ratios.sort_by(f64::total_cmp);
        println!(
            "{:<9} log, 1 thread:  {:>9.0} acked writes/s, {:>7.0} fdatasyncs/s (no batching \
             possible: the same code path's own sync rate)",
            storage.name(),
            single.acked_per_second(),
            single.syncs_per_second(),
        );
        println!(
            "{:<9} log, {thread_count} threads: {:>9.0} acked writes/s, {:>7.0} fdatasyncs/s, \
             {:>4.1} records/sync; acked/s / raw fdatasyncs/s = {:.1}x (per round: {})",
            storage.name(),
            log.acked_per_second(),
            log.syncs_per_second(),
            log.acked_count as f64 / log.sync_count.max(1) as f64,
            log.acked_per_second() / raw.syncs_per_second(),
            ratios
                .iter()
                .map(|ratio| format!("{ratio:.0}"))
                .collect::<Vec<_>>()
                .join(" "),
        );
        println!(
            "{:<9} log, {thread_count} threads vs 1 thread: {:.1}x acked writes/s",
            storage.name(),
            log.acked_per_second() / single.acked_per_second(),
        );
    }
    let _ignored = std::fs::remove_dir_all(&root); // Best effort.
    Ok(())
}

/// Interleaved rounds per run.
const ROUND_COUNT: u32 = 6;

/// What one phase counted.
#[derive(Debug, Default)]
struct Totals {
    acked_count: u64,
    sync_count: u64,
    seconds: f64,
}

impl Totals {
    fn add(&mut self, other: &Totals) {
        self.acked_count += other.acked_count;
        self.sync_count += other.sync_count;
        self.seconds += other.seconds;
    }

    fn acked_per_second(&self) -> f64 {
        self.acked_count as f64 / self.seconds
    }

    fn syncs_per_second(&self) -> f64 {
        self.sync_count as f64 / self.seconds
    }
}

/// One thread: `pwrite` 50 bytes at the end, `fdatasync`, repeat; returns syncs per second.
fn raw_sync_rate(dir: &Path, duration: Duration) -> Result<Totals, Box<dyn std::error::Error>> {
    use std::os::unix::fs::FileExt;
    std::fs::create_dir_all(dir)?;
    let file = std::fs::File::create(dir.join("raw.dat"))?;
    let record = [0x5a_u8; RECORD_SIZE];
    let start = Instant::now();
    let mut count: u64 = 0;
    while start.elapsed() < duration {
        file.write_all_at(&record, count * RECORD_SIZE as u64)?;
        file.sync_data()?;
        count += 1;
    }
    Ok(Totals {
        acked_count: count,
        sync_count: count,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// `thread_count` threads append one record and wait for it, in a loop, for `duration`.
fn group_commit(
    storage: &Arc<dyn Storage>,
    dir: &Path,
    thread_count: usize,
    duration: Duration,
) -> Result<Totals, Error> {
    let mut config = LogConfig::new(dir);
    config.fsync = FsyncPolicy::Always;
    let log = LogWriter::open(Arc::clone(storage), Arc::new(SystemClock::new()), config)?;
    let stop = AtomicBool::new(false);
    let acked = AtomicU64::new(0);
    let stats_before = log.stats();
    let start = Instant::now();
    let outcome: Result<(), Error> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..thread_count)
            .map(|_| {
                scope.spawn(|| -> Result<(), Error> {
                    while !stop.load(Ordering::Relaxed) {
                        let ticket = log.append(1, |lsn, target| {
                            // An LSN followed by filler: the shape of a small SET record.
                            target.extend_from_slice(&lsn.to_le_bytes());
                            target.resize(target.len() + RECORD_SIZE - 8, 0x5a);
                        })?;
                        log.wait(ticket)?;
                        acked.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(())
                })
            })
            .collect();
        std::thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
        for worker in workers {
            match worker.join() {
                Ok(result) => result?,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Ok(())
    });
    let elapsed = start.elapsed().as_secs_f64();
    outcome?;
    let stats = log.stats();
    log.close()?;
    Ok(Totals {
        acked_count: acked.load(Ordering::Relaxed),
        sync_count: stats.sync_count - stats_before.sync_count,
        seconds: elapsed,
    })
}
