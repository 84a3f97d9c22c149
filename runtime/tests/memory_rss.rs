//! A store's memory is reserved at start but touched only as data arrives: the arena used
//! to zero-fill every region of an already zeroed allocation, so a `floe` with
//! `--maxmemory 1gb` had 1 GiB resident before its first key (issue 10's RSS target could
//! only be met by starting floe with the smallest memory that held the data). This pins
//! that an empty store's resident size stays far below its reservation.

use floe_core::store::Config;
use floe_runtime::memory::OwnedStore;

/// Resident bytes of this process (VmRSS).
fn resident_size() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .expect("VmRSS line");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|text| text.parse().ok())
        .expect("VmRSS value");
    kib * 1024
}

#[test]
fn an_empty_store_does_not_touch_its_reserved_memory() {
    let reserved = 512 << 20;
    let before = resident_size();
    let store = OwnedStore::new(Config::new(reserved, 10_000)).expect("config fits");
    let grown = resident_size().saturating_sub(before);
    assert!(
        grown < (reserved as u64) / 8,
        "an empty 512 MiB store made {grown} bytes resident"
    );
    drop(store);
}
