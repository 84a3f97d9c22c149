//! Threads on one embedded `Db`: SET and GET throughput from 1, 2, ... threads with one
//! shard (one lock for the whole store, floe before sharding) and with the automatic shard
//! count, with persistence off and under `everysec`; prints ops/s and the sharded/one-lock
//! ratio per row. Thread counts are the arguments (default `1 2`: this machine has two
//! cores; on a bigger one, `-- 1 2 4 8 16`).
//!
//! `cargo bench -p floe-benches --bench db_threads -- 1 2 4`
//!
//! Each thread works on random keys of a preloaded set of 200,000 (16-byte keys, 32-byte
//! values) for one second per row; ops/s is the total over all threads.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use floe_benches::numbered_key as key;
use floe_runtime::log::FsyncPolicy;
use floe_runtime::{Db, DbConfig};

const KEY_COUNT: u64 = 200_000;
const ROW_TIME: Duration = Duration::from_secs(1);

/// A small xorshift generator per thread: the keys each thread touches.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Operation {
    Set,
    Get,
}

fn open(dir: &std::path::Path, shards: usize, persistence: bool) -> Db {
    let _ = std::fs::remove_dir_all(dir);
    let config = DbConfig {
        shards,
        persistence,
        fsync: FsyncPolicy::Everysec,
        snapshot_log_size: 0,
        ..DbConfig::new(1 << 30, 1 << 20)
    };
    let db = Db::open(dir, config).expect("open the bench's Db");
    for index in 0..KEY_COUNT {
        db.set(&key(index), &[b'v'; 32]).expect("preload");
    }
    db
}

/// Ops/s of `operation` from `threads` threads.
fn measure(db: &Arc<Db>, threads: usize, operation: Operation) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|thread| {
            let (db, stop, total) = (Arc::clone(db), Arc::clone(&stop), Arc::clone(&total));
            std::thread::spawn(move || {
                let mut state = 0x9E37_79B9_7F4A_7C15 ^ (thread as u64 + 1);
                let mut value = Vec::with_capacity(64);
                let mut count = 0_u64;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..256 {
                        let key = key(next(&mut state) % KEY_COUNT);
                        match operation {
                            Operation::Set => db.set(&key, &[b'w'; 32]).expect("set"),
                            Operation::Get => {
                                assert!(db.get_into(&key, &mut value));
                            }
                        }
                    }
                    count += 256;
                }
                total.fetch_add(count, Ordering::Relaxed);
            })
        })
        .collect();
    std::thread::sleep(ROW_TIME);
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().expect("bench thread");
    }
    total.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let mut thread_counts: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|argument| argument.parse().ok())
        .collect();
    if thread_counts.is_empty() {
        thread_counts = vec![1, 2];
    }
    let dir = std::env::temp_dir().join(format!("floe-bench-db-threads-{}", std::process::id()));
    let auto = DbConfig::new(1 << 30, 1 << 20).shard_count();
    println!("db_threads: {auto} shards (automatic) vs 1; Mops/s = millions of operations/s");
    println!("| persistence | op  | threads | 1 shard Mops/s | {auto} shards Mops/s | ratio |");
    println!("|---|---|---|---|---|---|");
    for persistence in [false, true] {
        let dbs = [1, auto]
            .map(|shards| Arc::new(open(&dir.join(format!("{shards}")), shards, persistence)));
        for operation in [Operation::Set, Operation::Get] {
            for &threads in &thread_counts {
                let [one, many] = [&dbs[0], &dbs[1]].map(|db| measure(db, threads, operation));
                println!(
                    "| {} | {} | {threads} | {:.2} | {:.2} | {:.2} |",
                    if persistence { "everysec" } else { "off" },
                    if operation == Operation::Set {
                        "SET"
                    } else {
                        "GET"
                    },
                    one / 1e6,
                    many / 1e6,
                    many / one
                );
            }
        }
        for db in dbs {
            db.close().expect("close");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
