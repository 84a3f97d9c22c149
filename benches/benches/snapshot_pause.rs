//! How long a snapshot makes writes wait: `Db::save` on a store of 1M keys (16-byte keys,
//! 100-byte values) with one shard (one lock: every write waits for the whole walk, as
//! before the shards) and with the automatic count (a write waits for the cut and at most
//! one shard's walk), while a writer thread measures its own longest SET.
//!
//! `cargo bench -p floe-benches --bench snapshot_pause`
//!
//! Prints per row: the report's pause (cut + the longest one-shard walk), the whole save,
//! and the longest SET the writer saw while the save ran.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use floe_benches::numbered_key as key;
use floe_runtime::log::FsyncPolicy;
use floe_runtime::{Db, DbConfig};

const KEY_COUNT: u64 = 1_000_000;

fn main() {
    let root = std::env::temp_dir().join(format!("floe-bench-snapshot-{}", std::process::id()));
    let auto = DbConfig::new(1 << 30, 2 << 20).shard_count();
    println!("snapshot_pause: 1M keys of 16 + 100 bytes, fsync no");
    println!("| shards | pause (report) | save total | longest SET during the save |");
    println!("|---:|---:|---:|---:|");
    for shards in [1, auto] {
        let dir = root.join(format!("{shards}"));
        let _ = std::fs::remove_dir_all(&dir);
        let config = DbConfig {
            shards,
            fsync: FsyncPolicy::No,
            snapshot_log_size: 0,
            ..DbConfig::new(1 << 30, 2 << 20)
        };
        let db = Arc::new(Db::open(&dir, config).expect("open"));
        let value = [b'v'; 100];
        for index in 0..KEY_COUNT {
            db.set(&key(index), &value).expect("preload");
        }
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (db, stop) = (Arc::clone(&db), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut longest = Duration::ZERO;
                let mut index = 0_u64;
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    db.set(&key(index % KEY_COUNT), &[b'w'; 100]).expect("set");
                    longest = longest.max(started.elapsed());
                    index = index.wrapping_add(7919);
                }
                longest
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        let started = Instant::now();
        let report = db.save().expect("save");
        let total = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        let longest = writer.join().expect("writer");
        println!(
            "| {shards} | {:.1} ms | {:.1} ms | {:.1} ms |",
            report.pause.as_secs_f64() * 1e3,
            total.as_secs_f64() * 1e3,
            longest.as_secs_f64() * 1e3
        );
        db.close().expect("close");
    }
    let _ = std::fs::remove_dir_all(&root);
}
