//! Measures `floe_runtime::Db`: single-thread set throughput with the log on, acknowledged
//! writes per second under fsync `always` with many threads against the disk's raw
//! fdatasync rate, and recovery speed of a large log. Prints numbers; asserts nothing.
//!
//! ```text
//! cargo run --release -p floe-runtime --example db_bench -- [WHAT] [DIR]
//! ```
//!
//! `WHAT` is `all` (default), `set`, `set-log` (only the log-on part of `set`), `always` or
//! `recovery`. `DIR` (default: a fresh
//! directory under the system temp dir) should be on the disk you care about.
//!
//! - `set`: 10M `Db::set` calls on one thread, 8-16 byte keys over 1M distinct keys,
//!   16-32 byte values, fsync `no`, log on (blocking and io_uring backends); beside it the
//!   same loop with persistence off and straight on a floe-core `Store`, to show what the
//!   log costs.
//! - `always`: 64 threads each setting its own keys in a loop under fsync `always`,
//!   interleaved in rounds with a raw `pwrite` + `fdatasync` loop on the same disk (shared
//!   and virtual disks drift, so both are measured over the same stretch of time).
//! - `recovery`: writes 1M keys (fsync `no`), closes, and times `Db::open` replaying the
//!   log; then again from a snapshot plus a short log.
//!
//! Fault assumptions: none; any error ends the run.
#![allow(
    unsafe_code,
    reason = "one clock_gettime call for the thread's CPU time"
)]

use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use floe_core::store::SetOptions;
use floe_runtime::io::Backend;
use floe_runtime::log::FsyncPolicy;
use floe_runtime::memory::OwnedStore;
use floe_runtime::{Db, DbConfig};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const KEY_COUNT: usize = 100_000;
const SET_COUNT: usize = 10_000_000;
const RECOVERY_KEY_COUNT: usize = 1_000_000;
const ALWAYS_THREADS: usize = 64;
const ALWAYS_ROUNDS: usize = 4;
const ALWAYS_PHASE: Duration = Duration::from_millis(750);

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_else(|| "all".to_owned());
    let root = args.next().map_or_else(
        || std::env::temp_dir().join(format!("floe-db-bench-{}", std::process::id())),
        PathBuf::from,
    );
    fs::create_dir_all(&root)?;
    let backends: Vec<Backend> = [Backend::Blocking, Backend::Uring]
        .into_iter()
        .filter(|backend| backend.open().is_ok())
        .collect();
    if what == "all" || what == "set" {
        set(&root, &backends)?;
    }
    if what == "set-log" {
        let (keys, values) = workload(KEY_COUNT);
        set_logged(&root, &backends, &keys, &values)?;
    }
    if what == "all" || what == "always" {
        always(&root, &backends)?;
    }
    if what == "all" || what == "recovery" {
        recovery(&root)?;
    }
    fs::remove_dir_all(&root)?;
    Ok(())
}

/// Keys of 8 to 16 bytes and values of 16 to 32 bytes.
fn workload(count: usize) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let keys = (0..count)
        .map(|index| format!("k{index:0width$}", width = 7 + index % 9).into_bytes())
        .collect();
    let values = (0..count)
        .map(|index| {
            let size = 16 + index % 17;
            (0..size)
                .map(|byte| b"abcdefghijklmnopqrstuvwxyz"[(index + byte) % 26])
                .collect()
        })
        .collect();
    (keys, values)
}

fn db_config(fsync: FsyncPolicy, backend: Backend) -> DbConfig {
    DbConfig {
        fsync,
        backend,
        snapshot_log_size: 0,
        ..DbConfig::new(256 << 20, 2 * KEY_COUNT)
    }
}

fn fresh(root: &Path, name: &str) -> Result<PathBuf> {
    let dir = root.join(name);
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    Ok(dir)
}

fn set(root: &Path, backends: &[Backend]) -> Result<()> {
    let (keys, values) = workload(KEY_COUNT);
    println!(
        "set: {SET_COUNT} sets on one thread, {KEY_COUNT} distinct keys of 8-16 B, values of \
         16-32 B"
    );
    // Straight on the store: the ceiling.
    let mut store = OwnedStore::new(db_config(FsyncPolicy::No, Backend::Blocking).store)
        .map_err(|error| format!("{error:?}"))?;
    let cpu_started = thread_cpu_ns();
    let started = Instant::now();
    store.with(|store| {
        for operation in 0..SET_COUNT {
            let index = operation % KEY_COUNT;
            let set = store.set(
                0,
                &keys[index],
                &values[index],
                SetOptions::default(),
                1,
                &mut (),
            );
            assert!(set.is_ok());
        }
    });
    report_cpu(
        "  floe-core Store::set (no Db, no log)",
        SET_COUNT,
        (started.elapsed(), thread_cpu_ns() - cpu_started),
    );
    drop(store);

    let db = Db::open(
        root,
        DbConfig {
            persistence: false,
            ..db_config(FsyncPolicy::No, Backend::Blocking)
        },
    )?;
    let measured = set_loop(&db, &keys, &values)?;
    report_cpu("  Db::set, persistence off", SET_COUNT, measured);
    drop(db);
    set_logged(root, backends, &keys, &values)
}

fn set_logged(
    root: &Path,
    backends: &[Backend],
    keys: &[Vec<u8>],
    values: &[Vec<u8>],
) -> Result<()> {
    for &backend in backends {
        let dir = fresh(root, &format!("set-{backend}"))?;
        let db = Db::open(&dir, db_config(FsyncPolicy::No, backend))?;
        let measured = set_loop(&db, keys, values)?;
        let started = Instant::now();
        db.close()?;
        let close = started.elapsed();
        let log = db.stats().log.unwrap_or_default();
        report_cpu(
            &format!("  Db::set, log on, fsync no, {backend}"),
            SET_COUNT,
            measured,
        );
        println!(
            "      {} MiB logged in {} writes; close (final write + fdatasync) {:.0} ms",
            log.byte_count >> 20,
            log.write_count,
            close.as_secs_f64() * 1e3
        );
        drop(db);
        fs::remove_dir_all(&dir)?;
    }
    Ok(())
}

/// Runs the set loop; returns the wall time and the calling thread's CPU time.
fn set_loop(db: &Db, keys: &[Vec<u8>], values: &[Vec<u8>]) -> Result<(Duration, u64)> {
    // Warm-up: every key exists once.
    for index in 0..KEY_COUNT {
        db.set(&keys[index], &values[index])?;
    }
    let cpu_started = thread_cpu_ns();
    let started = Instant::now();
    for operation in 0..SET_COUNT {
        let index = operation % KEY_COUNT;
        db.set(&keys[index], &values[index])?;
    }
    Ok((started.elapsed(), thread_cpu_ns() - cpu_started))
}

/// CPU time of the calling thread, in ns: what an operation costs the caller, whatever the
/// other threads (the log's, other processes') do to the wall clock.
fn thread_cpu_ns() -> u64 {
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `time` is a valid, writable timespec; the clock id is a constant the kernel
    // knows.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &raw mut time) };
    assert_eq!(status, 0);
    u64::try_from(time.tv_sec).unwrap_or(0) * 1_000_000_000
        + u64::try_from(time.tv_nsec).unwrap_or(0)
}

fn report(what: &str, count: usize, elapsed: Duration) {
    let rate = count as f64 / elapsed.as_secs_f64();
    println!("{what}: {:.2} M/s ({:.0} ns each)", rate / 1e6, 1e9 / rate);
}

fn report_cpu(what: &str, count: usize, (elapsed, cpu_ns): (Duration, u64)) {
    report(what, count, elapsed);
    println!(
        "      the calling thread's CPU time: {:.0} ns per set",
        cpu_ns as f64 / count as f64
    );
}

fn always(root: &Path, backends: &[Backend]) -> Result<()> {
    println!(
        "always: {ALWAYS_THREADS} threads, fsync always, {ALWAYS_ROUNDS} rounds of raw \
         fdatasync {:.2} s + Db {:.2} s per backend",
        ALWAYS_PHASE.as_secs_f64(),
        ALWAYS_PHASE.as_secs_f64()
    );
    let mut raw = (0u64, Duration::ZERO);
    let mut logged = vec![(0u64, Duration::ZERO, 0u64); backends.len()];
    for round in 0..ALWAYS_ROUNDS {
        let (count, elapsed) = raw_fdatasync(root, ALWAYS_PHASE)?;
        raw.0 += count;
        raw.1 += elapsed;
        for (slot, &backend) in backends.iter().enumerate() {
            let dir = fresh(root, &format!("always-{backend}-{round}"))?;
            let (count, elapsed, syncs) = db_always(&dir, backend, ALWAYS_PHASE)?;
            logged[slot].0 += count;
            logged[slot].1 += elapsed;
            logged[slot].2 += syncs;
            fs::remove_dir_all(&dir)?;
        }
    }
    let raw_rate = raw.0 as f64 / raw.1.as_secs_f64();
    println!("  raw pwrite + fdatasync, one thread: {raw_rate:.0} syncs/s");
    for (slot, backend) in backends.iter().enumerate() {
        let (count, elapsed, syncs) = logged[slot];
        let rate = count as f64 / elapsed.as_secs_f64();
        println!(
            "  Db::set acknowledged, {backend}: {rate:.0} writes/s = {:.0}x raw ({:.1} writes \
             per fdatasync)",
            rate / raw_rate,
            count as f64 / syncs.max(1) as f64
        );
    }
    Ok(())
}

fn raw_fdatasync(root: &Path, phase: Duration) -> Result<(u64, Duration)> {
    let path = root.join("raw-fdatasync");
    let file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)?;
    let record = [7u8; 64];
    let started = Instant::now();
    let mut count = 0u64;
    while started.elapsed() < phase {
        file.write_all_at(&record, count * 64)?;
        file.sync_data()?;
        count += 1;
    }
    let elapsed = started.elapsed();
    drop(file);
    fs::remove_file(&path)?;
    Ok((count, elapsed))
}

fn db_always(dir: &Path, backend: Backend, phase: Duration) -> Result<(u64, Duration, u64)> {
    let db = Arc::new(Db::open(dir, db_config(FsyncPolicy::Always, backend))?);
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));
    let syncs_before = db.stats().log.unwrap_or_default().sync_count;
    let started = Instant::now();
    let threads: Vec<_> = (0..ALWAYS_THREADS)
        .map(|thread| {
            let (db, stop, acked) = (Arc::clone(&db), Arc::clone(&stop), Arc::clone(&acked));
            std::thread::spawn(move || -> std::result::Result<(), floe_runtime::DbError> {
                let mut index = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let key = format!("t{thread:02}-{:06}", index % 100_000);
                    db.set(key.as_bytes(), b"0123456789abcdef0123")?;
                    acked.fetch_add(1, Ordering::Relaxed);
                    index += 1;
                }
                Ok(())
            })
        })
        .collect();
    std::thread::sleep(phase);
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().map_err(|_| "writer thread panicked")??;
    }
    let elapsed = started.elapsed();
    let syncs = db.stats().log.unwrap_or_default().sync_count - syncs_before;
    db.close()?;
    Ok((acked.load(Ordering::Relaxed), elapsed, syncs))
}

fn recovery(root: &Path) -> Result<()> {
    let (keys, values) = workload(RECOVERY_KEY_COUNT);
    let dir = fresh(root, "recovery")?;
    {
        let db = Db::open(&dir, recovery_config())?;
        for index in 0..RECOVERY_KEY_COUNT {
            db.set(&keys[index], &values[index])?;
        }
        db.close()?;
    }
    let log_size: u64 = fs::read_dir(&dir)?
        .map(|entry| entry.map(|entry| entry.metadata().map(|meta| meta.len()).unwrap_or(0)))
        .sum::<std::io::Result<u64>>()?;
    println!(
        "recovery: {RECOVERY_KEY_COUNT} keys, log of {} MiB",
        log_size >> 20
    );
    let cpu_started = thread_cpu_ns();
    let started = Instant::now();
    let db = Db::open(&dir, recovery_config())?;
    let open = started.elapsed();
    let open_cpu_ns = thread_cpu_ns() - cpu_started;
    let report = db.recovery().cloned().unwrap_or_default();
    assert_eq!(db.len(), RECOVERY_KEY_COUNT);
    println!(
        "  from the log: {} records replayed in {:.0} ms = {:.2} M records/s (Db::open {:.0} \
         ms in all, store allocation included, {:.0} ms of CPU)",
        report.record_count,
        report.duration.as_secs_f64() * 1e3,
        report.record_count as f64 / report.duration.as_secs_f64() / 1e6,
        open.as_secs_f64() * 1e3,
        open_cpu_ns as f64 / 1e6
    );
    let save = db.save()?;
    println!(
        "  save: {} items, {} MiB, writes paused {:.0} ms, {:.0} ms in all",
        save.item_count,
        save.size >> 20,
        save.pause.as_secs_f64() * 1e3,
        save.duration.as_secs_f64() * 1e3
    );
    db.close()?;
    drop(db);
    let started = Instant::now();
    let db = Db::open(&dir, recovery_config())?;
    let open = started.elapsed();
    let report = db.recovery().cloned().unwrap_or_default();
    assert_eq!(db.len(), RECOVERY_KEY_COUNT);
    println!(
        "  from the snapshot: {} items in {:.0} ms = {:.2} M items/s (Db::open {:.0} ms)",
        save.item_count,
        report.duration.as_secs_f64() * 1e3,
        save.item_count as f64 / report.duration.as_secs_f64() / 1e6,
        open.as_secs_f64() * 1e3
    );
    Ok(())
}

fn recovery_config() -> DbConfig {
    DbConfig {
        fsync: FsyncPolicy::No,
        backend: Backend::Blocking,
        snapshot_log_size: 0,
        ..DbConfig::new(256 << 20, 2 * RECOVERY_KEY_COUNT)
    }
}
