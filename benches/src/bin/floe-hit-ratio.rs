//! floe-hit-ratio: the hit ratio of floe's eviction policies (the core `Store`, in-process)
//! against moka (W-TinyLFU) and quick_cache (S3-FIFO-like), for the benchmark suite
//! (issue 14).
//!
//! Each workload is a seeded sequence of reads over a working set of `--keys` keys; a miss
//! is followed by a set of that key, as a look-aside cache is used. Caches hold 1%, 10% and
//! 50% of the working set, counted in keys: moka and quick_cache get that entry capacity,
//! floe gets `keys_max` = that count and item memory for twice as many items (so the key
//! table, not memory, is what fills; floe's oldest-first policies then evict just the keys
//! the table lacks, the random ones a whole segment, so those may hold fewer).
//! The first tenth of the requests warms the cache and is not counted.
//!
//! Workloads: Zipf with s = 0.7, 0.99 and 1.2 (rank r is key r; the caches hash keys, so
//! rank order does not help any of them), and `scan`: 70% Zipf 0.99 over the working set,
//! 30% a sequential walk over as many other keys (a scan that pollutes LRU).
//!
//! ```text
//! floe-hit-ratio [--keys 100000] [--requests 1000000]   # prints CSV on stdout
//! ```

use std::process::ExitCode;

use floe_benches::store::{SplitMix64, Zipf, floe_store_with_policy};
use floe_core::storage::policy::EvictionPolicy;
use floe_core::store::{SetOptions, Store};

/// Bytes per value (keys are 16 bytes): small items, so the table sets the capacity.
const VALUE_SIZE: usize = 16;
/// The fixed `now` of every floe call; nothing expires.
const NOW: u64 = 1_700_000_000_000;

/// A cache under test.
trait Cache {
    /// Whether `key` was present; on a miss, inserts it.
    fn access(&mut self, key: &[u8; 16], value: &[u8]) -> bool;
}

struct Floe(Store<'static>);

impl Cache for Floe {
    fn access(&mut self, key: &[u8; 16], value: &[u8]) -> bool {
        if self.0.get(0, key, NOW).is_some() {
            return true;
        }
        // An eviction policy always makes room; an error here would be a floe bug.
        self.0
            .set(0, key, value, SetOptions::default(), NOW, &mut ())
            .expect("policy evicts");
        false
    }
}

struct Moka(moka::sync::Cache<[u8; 16], Box<[u8]>>);

impl Cache for Moka {
    fn access(&mut self, key: &[u8; 16], value: &[u8]) -> bool {
        if self.0.get(key).is_some() {
            return true;
        }
        self.0.insert(*key, value.into());
        false
    }
}

struct QuickCache(quick_cache::unsync::Cache<[u8; 16], Box<[u8]>>);

impl Cache for QuickCache {
    fn access(&mut self, key: &[u8; 16], value: &[u8]) -> bool {
        if self.0.get(key).is_some() {
            return true;
        }
        self.0.insert(*key, value.into());
        false
    }
}

/// floe's policies that evict any key (the volatile ones need TTLs, noeviction refuses).
const FLOE_POLICIES: [EvictionPolicy; 5] = [
    EvictionPolicy::AllKeysLru,
    EvictionPolicy::AllKeysLfu,
    EvictionPolicy::Sieve,
    EvictionPolicy::Fifo,
    EvictionPolicy::AllKeysRandom,
];

fn main() -> ExitCode {
    let mut keys = 100_000usize;
    let mut requests = 1_000_000usize;
    let mut arguments = std::env::args().skip(1);
    while let Some(name) = arguments.next() {
        let value = arguments.next().and_then(|value| value.parse().ok());
        match (name.as_str(), value) {
            ("--keys", Some(value)) => keys = value,
            ("--requests", Some(value)) => requests = value,
            _ => {
                eprintln!("usage: floe-hit-ratio [--keys N] [--requests N]");
                return ExitCode::from(2);
            }
        }
    }
    println!("workload,cache_percent,capacity_keys,cache,hit_ratio,keys_held");
    for workload in ["zipf0.7", "zipf0.99", "zipf1.2", "scan"] {
        let trace = trace(workload, keys, requests);
        for percent in [1usize, 10, 50] {
            let capacity = (keys * percent / 100).max(16);
            let row = |name: &str, cache: &mut dyn Cache, held: &dyn Fn() -> String| {
                let ratio = replay(cache, &trace);
                println!(
                    "{workload},{percent},{capacity},{name},{ratio:.4},{}",
                    held()
                );
            };
            for policy in FLOE_POLICIES {
                let memory_size = capacity * 2 * (16 + VALUE_SIZE + 16);
                let store = floe_store_with_policy(memory_size, capacity, policy);
                let mut floe = Floe(store);
                let ratio = replay(&mut floe, &trace);
                println!(
                    "{workload},{percent},{capacity},floe-{},{ratio:.4},{}",
                    policy.name(),
                    floe.0.len()
                );
            }
            let mut moka = Moka(moka::sync::Cache::new(capacity as u64));
            row("moka", &mut moka, &|| String::from("-"));
            let mut quick = QuickCache(quick_cache::unsync::Cache::new(capacity));
            row("quick_cache", &mut quick, &|| String::from("-"));
        }
    }
    ExitCode::SUCCESS
}

/// The key numbers of one workload, seeded so every cache sees the same sequence.
fn trace(workload: &str, keys: usize, requests: usize) -> Vec<u32> {
    let mut rng = SplitMix64::new(0x005e_ed14);
    let exponent = match workload {
        "zipf0.7" => 0.7,
        "zipf1.2" => 1.2,
        _ => 0.99,
    };
    let zipf = Zipf::new(keys, exponent);
    let mut scan_next = 0usize;
    (0..requests)
        .map(|_| {
            let index = if workload == "scan" && rng.below(10) < 3 {
                scan_next = (scan_next + 1) % keys;
                keys + scan_next
            } else {
                zipf.sample(&mut rng)
            };
            u32::try_from(index).expect("fewer than 2^31 keys")
        })
        .collect()
}

/// Hit ratio over the trace after its first tenth.
fn replay(cache: &mut dyn Cache, trace: &[u32]) -> f64 {
    let value = [b'v'; VALUE_SIZE];
    let warm = trace.len() / 10;
    let mut hits = 0u64;
    let mut key = [0u8; 16];
    for (position, &index) in trace.iter().enumerate() {
        key[..4].copy_from_slice(b"key:");
        let mut number = index;
        for byte in key[4..].iter_mut().rev() {
            let digit = (number % 10) as u8;
            *byte = b'0' + digit;
            number /= 10;
        }
        let hit = cache.access(&key, &value);
        if hit && position >= warm {
            hits += 1;
        }
    }
    hits as f64 / (trace.len() - warm) as f64
}
