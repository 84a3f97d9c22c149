//! No heap allocation per operation on `Db`'s data path (issue 4, DESIGN.md "Arena"): after
//! a warm-up, 100,000 `Db::set` and `Db::get_into` calls with the log on (fsync `no`) make no
//! allocation on the calling thread, counted by a global allocator.
//!
//! What is counted: allocations made by the test thread while it runs the measured loop,
//! which covers the store op, the log buffer, the clock, the locks and the append into the
//! log's queue. The log writer thread's allocations are counted separately and printed: it
//! writes whole batches, so whatever it does is per batch, not per operation.
//!
//! Measured with the prefix index on (the default: SETs here overwrite existing keys, which
//! leaves the index untouched) and off (`DbConfig::prefix_index`; then a SET of a new key
//! allocates nothing either).
//!
//! The counter lives in this test file alone because a `#[global_allocator]` is global to
//! the test binary.
#![allow(
    unsafe_code,
    clippy::unwrap_used,
    reason = "a global allocator is an unsafe impl; a test fails loudly"
)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use common::TempDir;
use floe_runtime::db::PrefixIndexMode;
use floe_runtime::io::Backend;
use floe_runtime::log::FsyncPolicy;
use floe_runtime::{Db, DbConfig};

/// Counts allocations: per thread while that thread's switch is on, and in total.
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

static TOTAL: AtomicU64 = AtomicU64::new(0);

fn count_one() {
    TOTAL.fetch_add(1, Ordering::Relaxed);
    // `try_with`: the thread-locals have no destructor, but a thread being torn down may
    // still allocate; it is simply not counted then.
    let _counted = COUNTING.try_with(|counting| {
        if counting.get() {
            let _ignored = COUNT.try_with(|count| count.set(count.get() + 1));
        }
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees are this allocator's; the counting touches only atomics and
// const-initialized thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: forwarded as is (see the impl).
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: forwarded as is (see the impl).
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: forwarded as is (see the impl).
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is (see the impl).
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const KEY_COUNT: usize = 10_000;
const OPERATION_COUNT: usize = 100_000;

/// Keys of 8 to 16 bytes and values of 16 to 32, made before anything is measured.
fn workload() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let keys = (0..KEY_COUNT)
        .map(|index| format!("k{index:0width$}", width = 7 + index % 9).into_bytes())
        .collect();
    let values = (0..KEY_COUNT)
        .map(|index| vec![b"abcdefghijklmnopqrstuvwxyz"[index % 26]; 16 + index % 17])
        .collect();
    (keys, values)
}

/// One pass: a set then a get for each of `count / 2` keys in turn.
fn run(db: &Db, keys: &[Vec<u8>], values: &[Vec<u8>], buffer: &mut Vec<u8>, count: usize) {
    for operation in 0..count / 2 {
        let index = operation % KEY_COUNT;
        db.set(&keys[index], &values[index]).unwrap();
        assert!(db.get_into(&keys[index], buffer));
        assert_eq!(buffer.len(), values[index].len());
    }
}

fn measure(backend: Backend, prefix_index: bool) {
    let dir = TempDir::new("alloc");
    let db = Db::open(
        dir.path(),
        DbConfig {
            fsync: FsyncPolicy::No,
            backend,
            snapshot_log_size: 0,
            prefix_index: if prefix_index {
                PrefixIndexMode::On
            } else {
                PrefixIndexMode::Off
            },
            ..DbConfig::new(16 << 20, 2 * KEY_COUNT)
        },
    )
    .unwrap();
    let (keys, values) = workload();
    let mut buffer = Vec::with_capacity(64);
    // Warm-up: every key exists, every buffer has grown to its working size.
    for _ in 0..5 {
        run(&db, &keys, &values, &mut buffer, OPERATION_COUNT);
        db.flush().unwrap();
    }

    let total_before = TOTAL.load(Ordering::Relaxed);
    COUNT.with(|count| count.set(0));
    COUNTING.with(|counting| counting.set(true));
    run(&db, &keys, &values, &mut buffer, OPERATION_COUNT);
    COUNTING.with(|counting| counting.set(false));
    let calling_thread = COUNT.with(Cell::get);
    let process = TOTAL.load(Ordering::Relaxed) - total_before;
    let batches = db.stats().log.unwrap().write_count;
    println!(
        "{backend}, prefix index {prefix_index}: {OPERATION_COUNT} operations: {calling_thread} allocations on the calling \
         thread, {process} in the whole process ({batches} log batches since open)"
    );
    assert_eq!(
        calling_thread, 0,
        "the data path allocated {calling_thread} times in {OPERATION_COUNT} operations"
    );
    db.close().unwrap();
}

#[test]
fn steady_state_set_and_get_allocate_nothing() {
    for prefix_index in [true, false] {
        measure(Backend::Blocking, prefix_index);
        if Backend::Uring.open().is_ok() {
            measure(Backend::Uring, prefix_index);
        }
    }
}
