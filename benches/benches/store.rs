//! Store operations on 1M keys of 16 bytes with 32-byte values, floe against a plain map and
//! two concurrent caches, each operation one criterion group:
//!
//! - `set`: overwrite an existing key drawn uniformly at random (from a precomputed
//!   sequence), so the item a set replaces is anywhere in memory.
//! - `get_hit`: read an existing key drawn from another such sequence; the value is copied
//!   out, as a server would. (Cycling one shuffled order for both, as this bench first did,
//!   flattered floe: it appends, so after a pass of sets its items lay in exactly the order
//!   the next pass and the reads walked.)
//! - `get_miss`: read a key that was never inserted.
//! - `delete`: remove an existing key. Keys are deleted in chunks of [`DELETE_CHUNK`] with the
//!   clock running, then put back with the clock stopped, so only deletes are timed and the
//!   contender never holds fewer than `KEY_COUNT - DELETE_CHUNK` keys.
//! - `zipf_90_10`: 90% gets and 10% sets of keys drawn from a Zipf distribution (s = 0.99)
//!   over all keys, from a precomputed sequence so the sampling is not timed.
//!
//! Contenders, all pre-sized for 1M keys and pre-filled with the same keys in the same order:
//!
//! - `floe`: `floe_core::store::Store`, policy `noeviction`, `FLOE_MEMORY_SIZE` bytes of
//!   item memory (about 2.6x the live items, so overwrites never run out of room; the cost of
//!   cleaning the holes they leave is part of `set`).
//! - `hashbrown`: `HashMap<Box<[u8]>, Box<[u8]>>` with foldhash. A set of an existing key
//!   replaces the value box (one allocation and one free); a new key allocates both boxes.
//! - `moka`: `moka::sync::Cache<Box<[u8]>, Arc<[u8]>>`, capacity [`CACHE_CAPACITY`] so nothing
//!   is evicted or refused admission. `Arc` values, since a get returns a clone.
//! - `quick_cache`: `quick_cache::sync::Cache<Box<[u8]>, Arc<[u8]>>`, same capacity and value
//!   type.
//!
//! - `floe_huge`: `floe` in memory advised `MADV_HUGEPAGE` (`floe serve --huge-pages yes`,
//!   through the runtime's own `zeroed_buffer`): what 2 MiB pages save on random access.
//!
//! Both caches use their default hashers. Everything runs on one thread.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use floe_benches::contender::{Contender, FLOE_MEMORY_SIZE, Floe, Hashbrown, filled};
use floe_benches::store::{
    KEY_COUNT, Key, PREFIX_ABSENT, PREFIX_PRESENT, SplitMix64, VALUE_SIZE, Value, Zipf,
    floe_store_in, shuffled_keys,
};
use floe_core::store::Config;
use floe_runtime::memory::zeroed_buffer;

/// Capacity of moka and quick_cache: above `KEY_COUNT`, so neither evicts.
const CACHE_CAPACITY: usize = KEY_COUNT + KEY_COUNT / 4;
/// Keys deleted per timed stretch of the `delete` group before they are put back.
const DELETE_CHUNK: u64 = 1 << 16;
/// Length of the precomputed Zipf operation sequence (a power of two, to wrap by mask).
const ZIPF_OP_COUNT: usize = 1 << 20;
/// Length of the precomputed uniform sequences of `set` and `get_hit` (a power of two).
const UNIFORM_OP_COUNT: usize = 1 << 22;
/// Zipf exponent of the mixed workload.
const ZIPF_EXPONENT: f64 = 0.99;
/// Marks a set in the Zipf sequence; the other bits are the key's rank.
const ZIPF_SET: u32 = 1 << 31;
/// Percent of the mixed workload's operations that are sets.
const ZIPF_SET_PERCENT: usize = 10;
/// The value every `set` writes.
const SET_VALUE: Value = [b's'; VALUE_SIZE];

type MokaCache = moka::sync::Cache<Box<[u8]>, Arc<[u8]>>;
type QuickCache = quick_cache::sync::Cache<Box<[u8]>, Arc<[u8]>>;

struct Moka(MokaCache);

impl Contender for Moka {
    fn get(&mut self, key: &[u8], target: &mut Value) -> bool {
        match self.0.get(key) {
            Some(value) => {
                target.copy_from_slice(&value);
                true
            }
            None => false,
        }
    }

    fn set(&mut self, key: &[u8], value: &[u8]) {
        self.0.insert(Box::from(key), Arc::from(value));
    }

    fn delete(&mut self, key: &[u8]) -> bool {
        self.0.remove(key).is_some()
    }

    fn key_count(&self) -> usize {
        // Pending writes are applied first, so the count is exact.
        self.0.run_pending_tasks();
        usize::try_from(self.0.entry_count()).expect("at most KEY_COUNT entries")
    }
}

struct Quick(QuickCache);

impl Contender for Quick {
    fn get(&mut self, key: &[u8], target: &mut Value) -> bool {
        match self.0.get(key) {
            Some(value) => {
                target.copy_from_slice(&value);
                true
            }
            None => false,
        }
    }

    fn set(&mut self, key: &[u8], value: &[u8]) {
        self.0.insert(Box::from(key), Arc::from(value));
    }

    fn delete(&mut self, key: &[u8]) -> bool {
        self.0.remove(key).is_some()
    }

    fn key_count(&self) -> usize {
        self.0.len()
    }
}

/// The keys and operation sequences every contender is run with.
struct Workload {
    /// The inserted keys, shuffled: the access order of `set`, `get_hit` and `delete`, and
    /// the rank order of the Zipf distribution (so hot keys are scattered, not adjacent).
    present: Vec<Key>,
    /// Keys never inserted, shuffled.
    absent: Vec<Key>,
    /// Indexes into `present` drawn uniformly: the keys of `set`.
    set_ranks: Vec<u32>,
    /// Indexes into `present` drawn uniformly, independently of `set_ranks`: `get_hit`'s.
    get_ranks: Vec<u32>,
    /// Ranks into `present`, with [`ZIPF_SET`] on the sets.
    zipf_ops: Vec<u32>,
}

impl Workload {
    fn new() -> Self {
        let mut rng = SplitMix64::new(0x666c_6f65_6265_6e63);
        let present = shuffled_keys(PREFIX_PRESENT, KEY_COUNT, &mut rng);
        let absent = shuffled_keys(PREFIX_ABSENT, KEY_COUNT, &mut rng);
        let mut uniform = || -> Vec<u32> {
            (0..UNIFORM_OP_COUNT)
                .map(|_| u32::try_from(rng.below(KEY_COUNT)).expect("below KEY_COUNT"))
                .collect()
        };
        let set_ranks = uniform();
        let get_ranks = uniform();
        let zipf = Zipf::new(KEY_COUNT, ZIPF_EXPONENT);
        let zipf_ops = (0..ZIPF_OP_COUNT)
            .map(|_| {
                let rank = u32::try_from(zipf.sample(&mut rng)).expect("rank below KEY_COUNT");
                assert!(rank < ZIPF_SET, "rank={rank}");
                if rng.below(100) < ZIPF_SET_PERCENT {
                    rank | ZIPF_SET
                } else {
                    rank
                }
            })
            .collect();
        Self {
            present,
            absent,
            set_ranks,
            get_ranks,
            zipf_ops,
        }
    }
}

/// The four contenders, pre-filled.
struct Contenders {
    floe: Floe,
    floe_huge: Floe,
    hashbrown: Hashbrown,
    moka: Moka,
    quick: Quick,
}

impl Contenders {
    fn new() -> Self {
        let moka = MokaCache::builder()
            .max_capacity(CACHE_CAPACITY as u64)
            .initial_capacity(KEY_COUNT)
            .build();
        Self {
            floe: filled(Floe::presized()),
            floe_huge: filled(Floe(floe_store_in(
                Box::leak(zeroed_buffer(
                    Config::new(FLOE_MEMORY_SIZE, KEY_COUNT).arena_size(),
                    true,
                )),
                FLOE_MEMORY_SIZE,
                KEY_COUNT,
            ))),
            hashbrown: filled(Hashbrown::presized()),
            moka: filled(Moka(moka)),
            quick: filled(Quick(QuickCache::new(CACHE_CAPACITY))),
        }
    }

    /// Checks that a group left every contender with the keys it started with.
    fn check_len(&self, group_name: &str) {
        for len in [
            self.floe.key_count(),
            self.floe_huge.key_count(),
            self.hashbrown.key_count(),
            self.moka.key_count(),
            self.quick.key_count(),
        ] {
            assert_eq!(len, KEY_COUNT, "group {group_name} changed a key count");
        }
    }
}

/// One criterion group named `$name` running the generic benchmark `$bench` on each
/// contender: a macro, so every contender gets its own monomorphized, inlined loop.
macro_rules! group {
    ($criterion:expr, $contenders:expr, $workload:expr, $name:literal, $bench:ident) => {{
        let mut group = $criterion.benchmark_group($name);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(3));
        group.throughput(Throughput::Elements(1));
        $bench(&mut group, "floe", &mut $contenders.floe, $workload);
        $bench(
            &mut group,
            "floe_huge",
            &mut $contenders.floe_huge,
            $workload,
        );
        $bench(
            &mut group,
            "hashbrown",
            &mut $contenders.hashbrown,
            $workload,
        );
        $bench(&mut group, "moka", &mut $contenders.moka, $workload);
        $bench(&mut group, "quick_cache", &mut $contenders.quick, $workload);
        group.finish();
        $contenders.check_len($name);
    }};
}

fn bench_store(criterion: &mut Criterion) {
    let workload = Workload::new();
    let mut contenders = Contenders::new();
    group!(criterion, contenders, &workload, "set", bench_set);
    group!(criterion, contenders, &workload, "get_hit", bench_get_hit);
    group!(criterion, contenders, &workload, "get_miss", bench_get_miss);
    group!(criterion, contenders, &workload, "delete", bench_delete);
    group!(criterion, contenders, &workload, "zipf_90_10", bench_zipf);
}

type Group<'a> = BenchmarkGroup<'a, WallTime>;

fn bench_set<C: Contender>(group: &mut Group<'_>, name: &str, contender: &mut C, load: &Workload) {
    let mut cursor = Cursor::new(load.set_ranks.len());
    group.bench_function(name, |bencher| {
        bencher.iter(|| {
            let key = &load.present[load.set_ranks[cursor.next()] as usize];
            contender.set(black_box(key), black_box(&SET_VALUE));
        });
    });
}

fn bench_get_hit<C: Contender>(
    group: &mut Group<'_>,
    name: &str,
    contender: &mut C,
    load: &Workload,
) {
    let mut cursor = Cursor::new(load.get_ranks.len());
    let mut target = [0u8; VALUE_SIZE];
    group.bench_function(name, |bencher| {
        bencher.iter(|| {
            let key = &load.present[load.get_ranks[cursor.next()] as usize];
            let hit = contender.get(black_box(key), &mut target);
            assert!(hit, "a present key was not found");
            black_box(&target);
        });
    });
}

fn bench_get_miss<C: Contender>(
    group: &mut Group<'_>,
    name: &str,
    contender: &mut C,
    load: &Workload,
) {
    let mut cursor = Cursor::new(load.absent.len());
    let mut target = [0u8; VALUE_SIZE];
    group.bench_function(name, |bencher| {
        bencher.iter(|| {
            let key = &load.absent[cursor.next()];
            let hit = contender.get(black_box(key), &mut target);
            assert!(!hit, "an absent key was found");
        });
    });
}

fn bench_delete<C: Contender>(
    group: &mut Group<'_>,
    name: &str,
    contender: &mut C,
    load: &Workload,
) {
    let mut cursor = Cursor::new(load.present.len());
    group.bench_function(name, |bencher| {
        bencher.iter_custom(|iteration_count| {
            delete_timed(contender, &load.present, &mut cursor, iteration_count)
        });
    });
}

fn bench_zipf<C: Contender>(group: &mut Group<'_>, name: &str, contender: &mut C, load: &Workload) {
    let mut op_index = 0usize;
    let mut target = [0u8; VALUE_SIZE];
    group.bench_function(name, |bencher| {
        bencher.iter(|| {
            let op = load.zipf_ops[op_index & (ZIPF_OP_COUNT - 1)];
            op_index = op_index.wrapping_add(1);
            let rank = usize::try_from(op & !ZIPF_SET).expect("a u32 fits in usize");
            let key = &load.present[rank];
            if op & ZIPF_SET == 0 {
                let hit = contender.get(black_box(key), &mut target);
                assert!(hit, "a present key was not found");
                black_box(&target);
            } else {
                contender.set(black_box(key), black_box(&SET_VALUE));
            }
        });
    });
}

/// Deletes `iteration_count` keys from `cursor` on and returns the time the deletes took;
/// each chunk of deleted keys is put back untimed before the next.
fn delete_timed<C: Contender>(
    contender: &mut C,
    keys: &[Key],
    cursor: &mut Cursor,
    iteration_count: u64,
) -> Duration {
    let mut elapsed = Duration::ZERO;
    let mut remaining = iteration_count;
    while remaining > 0 {
        let chunk = remaining.min(DELETE_CHUNK);
        let chunk_start = cursor.clone();
        let start = Instant::now();
        let mut deleted_count = 0u64;
        for _ in 0..chunk {
            deleted_count += u64::from(contender.delete(black_box(&keys[cursor.next()])));
        }
        elapsed += start.elapsed();
        assert_eq!(deleted_count, chunk, "a present key was not deleted");
        let mut refill = chunk_start;
        for _ in 0..chunk {
            contender.set(&keys[refill.next()], &SET_VALUE);
        }
        remaining -= chunk;
    }
    elapsed
}

/// An index that cycles through `0..count`.
#[derive(Debug, Clone)]
struct Cursor {
    index: usize,
    count: usize,
}

impl Cursor {
    fn new(count: usize) -> Self {
        assert!(count > 0, "count={count}");
        Self { index: 0, count }
    }

    #[inline]
    fn next(&mut self) -> usize {
        let index = self.index;
        self.index += 1;
        if self.index == self.count {
            self.index = 0;
        }
        index
    }
}

criterion_group!(benches, bench_store);
criterion_main!(benches);
