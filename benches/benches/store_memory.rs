//! Memory per item: 1M items of a 16-byte key and a 32-byte value in floe, and the same in
//! hashbrown, moka and quick_cache, reported as bytes per item beyond the 48 bytes of key
//! and value.
//!
//! Two measures:
//!
//! - floe's own accounting from `Store::stats()`: the table (slot count x 10 bytes: the
//!   8-byte slot and its 2-byte tag) and the live item bytes (headers, keys, values). This
//!   is exact and needs no process tricks. The table is sized to `keys_max` at load 7/8
//!   (plus a few hundred overflow slots), so its share per key does not depend on where
//!   `keys_max` falls against a power of two.
//! - The process's resident set growth (`VmRSS` in `/proc/self/status`) while one contender
//!   is built and filled. RSS does not shrink reliably after a drop, so each contender runs
//!   in its own child process: `store_memory` with no argument spawns itself once per
//!   contender name and prints the table; `store_memory NAME` measures one.
//!
//! For floe the RSS includes the whole arena, which is carved and zero-filled at start: the
//! item memory here is sized tight (the items plus two spare segments), as a deployment that
//! knows its data would size it.

use std::process::Command;
use std::sync::Arc;

use floe_benches::store::{KEY_COUNT, KEY_SIZE, NOW, PREFIX_PRESENT, VALUE_SIZE, key, value};
use floe_core::constants::{
    LOAD_DENOMINATOR, LOAD_NUMERATOR, SEGMENT_SIZE_DEFAULT, SLOT_SIZE, TAG_SIZE,
};
use floe_core::error::StoreError;
use floe_core::storage::item::item_size;
use floe_core::store::SetOptions;

/// Capacity of moka and quick_cache, as in the `store` bench: above the item count.
const CACHE_CAPACITY: usize = KEY_COUNT + KEY_COUNT / 4;
/// Bytes of key and value per item, which every contender must store.
const PAYLOAD_SIZE: usize = KEY_SIZE + VALUE_SIZE;

/// The contenders a child process can measure.
const CONTENDERS: [&str; 4] = ["floe", "hashbrown", "moka", "quick_cache"];

fn main() {
    // `cargo bench` passes flags such as `--bench`; a bare word names a contender.
    let name = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    match name {
        Some(name) => measure(&name),
        None => report(),
    }
}

/// One measurement, as printed by a child: `key=value` fields.
#[derive(Debug, Default)]
struct Measurement {
    item_count: usize,
    rss_size: usize,
    /// floe only: bytes of table slots.
    table_size: usize,
    /// floe only: bytes of live items (headers, keys and values).
    live_size: usize,
    /// floe only: table plus appended segment bytes.
    used_size: usize,
}

impl Measurement {
    fn print(&self) {
        println!(
            "measurement item_count={} rss_size={} table_size={} live_size={} used_size={}",
            self.item_count, self.rss_size, self.table_size, self.live_size, self.used_size
        );
    }

    fn parse(output: &str) -> Option<Self> {
        let line = output
            .lines()
            .find(|line| line.starts_with("measurement "))?;
        let mut measurement = Self::default();
        for field in line.split_whitespace().skip(1) {
            let (name, number) = field.split_once('=')?;
            let number: usize = number.parse().ok()?;
            match name {
                "item_count" => measurement.item_count = number,
                "rss_size" => measurement.rss_size = number,
                "table_size" => measurement.table_size = number,
                "live_size" => measurement.live_size = number,
                "used_size" => measurement.used_size = number,
                _ => return None,
            }
        }
        Some(measurement)
    }

    /// Resident bytes per item beyond key and value.
    fn rss_overhead(&self) -> f64 {
        self.rss_size as f64 / self.item_count as f64 - PAYLOAD_SIZE as f64
    }
}

/// Child: builds and fills one contender and prints its measurement.
fn measure(name: &str) {
    let rss_before = rss_size();
    let mut measurement = match name {
        "floe" => {
            let measurement = measure_floe(KEY_COUNT);
            assert_eq!(measurement.item_count, KEY_COUNT, "a key was refused");
            measurement
        }
        "hashbrown" => {
            let mut map = hashbrown::HashMap::<Box<[u8]>, Box<[u8]>, _>::with_capacity_and_hasher(
                KEY_COUNT,
                foldhash::fast::RandomState::default(),
            );
            for index in 0..KEY_COUNT {
                map.insert(
                    Box::from(&key(PREFIX_PRESENT, index)[..]),
                    Box::from(&value(index)[..]),
                );
            }
            assert_eq!(map.len(), KEY_COUNT);
            std::mem::forget(map); // Still resident when RSS is read below.
            Measurement::default()
        }
        "moka" => {
            let cache = moka::sync::Cache::<Box<[u8]>, Arc<[u8]>>::builder()
                .max_capacity(CACHE_CAPACITY as u64)
                .initial_capacity(KEY_COUNT)
                .build();
            for index in 0..KEY_COUNT {
                cache.insert(
                    Box::from(&key(PREFIX_PRESENT, index)[..]),
                    Arc::from(&value(index)[..]),
                );
            }
            cache.run_pending_tasks();
            assert_eq!(cache.entry_count(), KEY_COUNT as u64);
            std::mem::forget(cache);
            Measurement::default()
        }
        "quick_cache" => {
            let cache = quick_cache::sync::Cache::<Box<[u8]>, Arc<[u8]>>::new(CACHE_CAPACITY);
            for index in 0..KEY_COUNT {
                cache.insert(
                    Box::from(&key(PREFIX_PRESENT, index)[..]),
                    Arc::from(&value(index)[..]),
                );
            }
            assert_eq!(cache.len(), KEY_COUNT);
            std::mem::forget(cache);
            Measurement::default()
        }
        _ => panic!("unknown contender {name:?}; expected one of {CONTENDERS:?}"),
    };
    if measurement.item_count == 0 {
        measurement.item_count = KEY_COUNT;
    }
    measurement.rss_size = rss_size() - rss_before;
    measurement.print();
}

/// Fills a floe store holding at most `keys_max` keys with up to `keys_max` items, its item
/// memory sized to them plus two spare segments (the head's slack and the reserve). The
/// first refused insert ends the fill (the table refuses a key whose probe would pass
/// `PROBE_DISTANCE_MAX`, which at high load comes before `keys_max`).
fn measure_floe(keys_max: usize) -> Measurement {
    let segment_size = SEGMENT_SIZE_DEFAULT as usize;
    let items_per_segment = segment_size / item_size(KEY_SIZE, VALUE_SIZE, 0);
    let segment_count = keys_max.div_ceil(items_per_segment) + 2;
    let mut store = floe_benches::store::floe_store(segment_count * segment_size, keys_max);
    assert_eq!(store.config().segment_size, SEGMENT_SIZE_DEFAULT);
    let mut item_count = 0;
    for index in 0..keys_max {
        let outcome = store.set(
            0,
            &key(PREFIX_PRESENT, index),
            &value(index),
            SetOptions::default(),
            NOW,
            &mut (),
        );
        match outcome {
            Ok(_) => item_count += 1,
            Err(StoreError::KeysFull) => break,
            Err(error) => panic!("the store is sized for every item: {error:?}"),
        }
    }
    assert_eq!(store.len(), item_count);
    let stats = store.stats();
    // The limit is the table plus every segment, so the table is what is left.
    let segments_size = (segment_count * segment_size) as u64;
    let table_size = stats.memory_limit_size - segments_size;
    Measurement {
        item_count,
        rss_size: 0,
        table_size: usize::try_from(table_size).expect("fits in memory"),
        live_size: usize::try_from(stats.memory_live_size).expect("fits in memory"),
        used_size: usize::try_from(stats.memory_used_size).expect("fits in memory"),
    }
}

/// Resident bytes of this process (`VmRSS`).
fn rss_size() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc is mounted");
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .expect("VmRSS is reported");
    let kib: usize = line
        .split_whitespace()
        .nth(1)
        .and_then(|number| number.parse().ok())
        .expect("VmRSS is a number of kB");
    kib * 1024
}

/// Parent: runs every contender in its own process and prints the tables.
fn report() {
    let exe = std::env::current_exe().expect("the running binary has a path");
    let mut measurements = Vec::new();
    for name in CONTENDERS {
        let output = Command::new(&exe)
            .arg(name)
            .output()
            .expect("the child process starts");
        assert!(
            output.status.success(),
            "{name} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let measurement = Measurement::parse(&stdout).expect("the child prints a measurement");
        measurements.push((name, measurement));
    }

    println!("floe accounting (Store::stats), bytes per item beyond the 48 of key and value:");
    println!("| run | items | slots | load | table B/item | item header B/item | total B/item |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, measurement) in measurements.iter().filter(|(_, m)| m.table_size > 0) {
        let items = measurement.item_count as f64;
        let slot_count = measurement.table_size / (SLOT_SIZE + TAG_SIZE);
        let table = measurement.table_size as f64 / items;
        let header = measurement.live_size as f64 / items - PAYLOAD_SIZE as f64;
        println!(
            "| {name} | {} | {slot_count} | {:.3} | {table:.2} | {header:.2} | {:.2} |",
            measurement.item_count,
            items / slot_count as f64,
            table + header
        );
    }
    let header = (item_size(KEY_SIZE, VALUE_SIZE, 0) - PAYLOAD_SIZE) as f64;
    let slot = (SLOT_SIZE + TAG_SIZE) as f64;
    let load_max = LOAD_NUMERATOR as f64 / LOAD_DENOMINATOR as f64;
    println!(
        "| design, any keys_max | - | - | {load_max} | {:.2} | {header:.2} | {:.2} |",
        slot / load_max,
        slot / load_max + header
    );
    for (name, measurement) in measurements.iter().filter(|(_, m)| m.table_size > 0) {
        let hole_size = measurement.used_size - measurement.table_size - measurement.live_size;
        println!("{name}: {hole_size} bytes appended to segments but not live");
    }
    println!();
    println!("Resident set growth while building and filling, one process per contender:");
    println!("| contender | items | RSS growth MiB | B/item | B/item beyond 48 |");
    println!("|---|---:|---:|---:|---:|");
    for (name, measurement) in &measurements {
        println!(
            "| {name} | {} | {:.1} | {:.1} | {:.1} |",
            measurement.item_count,
            measurement.rss_size as f64 / f64::from(1u32 << 20),
            measurement.rss_size as f64 / measurement.item_count as f64,
            measurement.rss_overhead()
        );
    }
}
