//! The prefix index (issue 11): time to list the 100 keys under one prefix from a store of
//! 1M and 10M keys, with the index and with the table walk it replaces, plus the index's
//! memory per key and what it adds to a SET of a new key.
//!
//! One floe-core `Store` is one shard: the index is per shard, so these are the figures
//! of one shard holding that many keys (a sharded `Db` asks each shard in turn).
//!
//! Keys are `key:` plus 12 decimal digits (16 bytes), values 8 bytes, written in a
//! shuffled order (a fixed permutation). The prefix `key:0000001234` selects exactly the
//! 100 keys `key:000000123400` to `key:000000123499`.
//!
//! Memory is counted twice: by the index itself (`Stats::prefix_index_size`, what INFO
//! reports) and by this binary's global allocator, which sums the bytes requested and
//! glibc's chunk sizes for them (8-byte header, 16-byte granularity, 32 at least) while
//! the index is built. Run: `cargo bench -p floe-benches --bench prefix_index` (key counts
//! as arguments, default `1000000 10000000`).
#![allow(
    unsafe_code,
    clippy::unwrap_used,
    clippy::cast_precision_loss,
    reason = "a counting global allocator is an unsafe impl; a bench fails loudly; ratios"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use floe_core::arena::Arena;
use floe_core::store::index::allocation_size;
use floe_core::store::{Config, SetOptions, Store};

const NOW: u64 = 1_700_000_000_000;
const PREFIX: &[u8] = b"key:0000001234";
const MATCH_COUNT: usize = 100;

/// Sums the bytes live on the heap: as requested, and as glibc's chunks.
struct Counting;

static REQUESTED: AtomicI64 = AtomicI64::new(0);
static CHUNKS: AtomicI64 = AtomicI64::new(0);

fn counted(size: usize, sign: i64) {
    // NOTE: allocation sizes fit in i64.
    #[expect(clippy::cast_possible_wrap, reason = "sizes below i64::MAX")]
    let (requested, chunk) = (size as i64, allocation_size(size) as i64);
    REQUESTED.fetch_add(sign * requested, Ordering::Relaxed);
    CHUNKS.fetch_add(sign * chunk, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees are this allocator's; the counting touches only atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        counted(layout.size(), 1);
        // SAFETY: forwarded as is (see the impl).
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        counted(layout.size(), 1);
        // SAFETY: forwarded as is (see the impl).
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        counted(layout.size(), -1);
        // SAFETY: forwarded as is (see the impl).
        unsafe { System.dealloc(pointer, layout) }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        counted(layout.size(), -1);
        counted(size, 1);
        // SAFETY: forwarded as is (see the impl).
        unsafe { System.realloc(pointer, layout, size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn heap() -> (i64, i64) {
    (
        REQUESTED.load(Ordering::Relaxed),
        CHUNKS.load(Ordering::Relaxed),
    )
}

fn key(index: usize) -> [u8; 16] {
    let mut key = *b"key:000000000000";
    let digits = format!("{index:012}");
    key[4..].copy_from_slice(digits.as_bytes());
    key
}

/// The `position`th key written: a fixed permutation of `0..count` (7919 is prime and
/// divides neither 10^6 nor 10^7).
fn shuffled(position: usize, count: usize) -> usize {
    (position * 7919 + 13) % count
}

fn main() {
    let counts: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|arg| arg.parse().ok())
        .collect();
    let counts = if counts.is_empty() {
        vec![1_000_000, 10_000_000]
    } else {
        counts
    };
    println!("prefix index bench: one store (one shard), 16-byte keys, 8-byte values");
    for count in counts {
        measure(count);
    }
}

fn measure(key_count: usize) {
    let mut config = Config::new(key_count * 40 + (64 << 20), key_count);
    config.key_size_max = 64;
    config.value_size_max = 64;
    let mut memory = vec![0u8; config.arena_size()];
    let mut arena = Arena::from_buffer(&mut memory);
    let mut store = Store::new(&mut arena, config).unwrap();
    arena.freeze().unwrap();

    // SET of new keys without the index, twice: the first pass touches the arena's pages
    // for the first time (page faults), the second is the figure.
    let mut fill_plain = Duration::ZERO;
    for _ in 0..2 {
        store.clear(None, &mut ());
        fill_plain = fill(&mut store, key_count);
    }
    // The same with the index on (every SET of a new key inserts into it).
    store.clear(None, &mut ());
    store.set_prefix_index(true);
    let heap_before = heap();
    let fill_indexed = fill(&mut store, key_count);
    let heap_filled = heap();
    let reported_filled = store.stats().prefix_index_size;

    // Rebuilt in one sorted load, as after recovery.
    store.set_prefix_index(false);
    let heap_off = heap();
    let started = Instant::now();
    store.set_prefix_index(true);
    let build = started.elapsed();
    let heap_built = heap();
    let reported_built = store.stats().prefix_index_size;
    assert_eq!(store.stats().prefix_index_keys, key_count as u64);
    store.set_prefix_index(false);

    // The query: the table walk (index off), then the index.
    let walk = time_query(&store, 3);
    store.set_prefix_index(true);
    let indexed = time_query(&store, 2000);

    let per_key = |bytes: i64| bytes as f64 / key_count as f64;
    println!("\n{key_count} keys:");
    println!(
        "  prefix query, {MATCH_COUNT} keys: index {:.1} us, table walk {:.1} ms ({:.0}x)",
        indexed.as_secs_f64() * 1e6,
        walk.as_secs_f64() * 1e3,
        walk.as_secs_f64() / indexed.as_secs_f64()
    );
    println!(
        "  memory per key, built key by key (shuffled SETs): reported {:.1} B, allocator \
         {:.1} B requested / {:.1} B in glibc chunks",
        per_key(i64::try_from(reported_filled).unwrap()),
        per_key(heap_filled.0 - heap_before.0),
        per_key(heap_filled.1 - heap_before.1),
    );
    println!(
        "  memory per key, bulk-built (after recovery): reported {:.1} B, allocator {:.1} B \
         requested / {:.1} B in glibc chunks; build {:.0} ms",
        per_key(i64::try_from(reported_built).unwrap()),
        per_key(heap_built.0 - heap_off.0),
        per_key(heap_built.1 - heap_off.1),
        build.as_secs_f64() * 1e3
    );
    println!(
        "  SET of a new key: {:.0} ns with the index, {:.0} ns without",
        fill_indexed.as_secs_f64() * 1e9 / key_count as f64,
        fill_plain.as_secs_f64() * 1e9 / key_count as f64
    );
}

/// Writes every key once, in the shuffled order; the time taken.
fn fill(store: &mut Store<'_>, key_count: usize) -> Duration {
    let started = Instant::now();
    for position in 0..key_count {
        let key = key(shuffled(position, key_count));
        store
            .set(0, &key, b"value:00", SetOptions::default(), NOW, &mut ())
            .unwrap();
    }
    started.elapsed()
}

/// The median time of `runs` prefix queries (`scan_prefix`, with the values), each checked
/// to find the 100 keys.
fn time_query(store: &Store<'_>, runs: usize) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let mut found = 0;
            let started = Instant::now();
            store.scan_prefix(0, black_box(PREFIX), NOW, |key, value| {
                black_box((key, value));
                found += 1;
            });
            let elapsed = started.elapsed();
            assert_eq!(found, MATCH_COUNT);
            elapsed
        })
        .collect();
    times.sort();
    times[runs / 2]
}
