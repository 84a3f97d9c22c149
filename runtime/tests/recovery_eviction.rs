//! Recovery after eviction: a restart must reproduce exactly the state the log describes.
//!
//! The story: with `--maxmemory 8mb --maxmemory-policy allkeys-lru`, 200,000 SETs, a SAVE,
//! 20,000 more SETs and a clean QUIT came back with 110,435 keys instead of 126,380, and no
//! message. Evictions are logged as deletes, so the log already says which keys went;
//! replay evicted again on its own because its segments filled differently from the live
//! store's (the snapshot loads in table order, so the logged deletes leave holes in every
//! segment instead of freeing whole ones, and eviction won over cleaning). These tests pin
//! the promise under every policy: after eviction, a snapshot, more eviction and a restart
//! (clean or crash), the recovered keys and values are exactly the live ones, and a store
//! opened too small for its data refuses to start and names the setting.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    reason = "a test fails loudly on an unexpected error; its sizes are small"
)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{TempDir, config};
use floe_core::storage::policy::EvictionPolicy;
use floe_runtime::io::Backend;
use floe_runtime::log::FsyncPolicy;
use floe_runtime::{Db, DbConfig};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// Every policy that evicts.
const POLICIES: [EvictionPolicy; 9] = [
    EvictionPolicy::Fifo,
    EvictionPolicy::AllKeysLru,
    EvictionPolicy::AllKeysRandom,
    EvictionPolicy::AllKeysLfu,
    EvictionPolicy::VolatileLru,
    EvictionPolicy::VolatileLfu,
    EvictionPolicy::VolatileRandom,
    EvictionPolicy::VolatileTtl,
    EvictionPolicy::Sieve,
];

/// 256 KiB of items in 64 KiB segments: a few thousand small keys fill it many times over.
fn tight(policy: EvictionPolicy) -> DbConfig {
    let mut db_config = config(Backend::Blocking, FsyncPolicy::No);
    db_config.store = floe_core::store::Config {
        policy,
        ..floe_core::store::Config::new(256 * 1024, 20_000)
    };
    db_config
}

/// Everything `db` holds.
fn contents(db: &Db) -> Model {
    db.keys()
        .into_iter()
        .map(|key| {
            let value = db.get(&key).unwrap();
            (key, value)
        })
        .collect()
}

/// Writes keys `from..to`, values of varied sizes; under the volatile policies all but
/// one key in 50 get a long TTL (so there is something to evict), and a few are read back
/// and overwritten (so LRU, LFU and SIEVE have bits to keep).
fn write(db: &Db, policy: EvictionPolicy, from: u32, to: u32) {
    let set = |key: &[u8], value: &[u8], index: u32| {
        let result = if policy.volatile_only() && !index.is_multiple_of(50) {
            db.set_with_ttl(key, value, Duration::from_secs(3600 + u64::from(index)))
        } else {
            db.set(key, value)
        };
        result.unwrap_or_else(|error| panic!("{policy:?} write {index}: {error}"));
    };
    for index in from..to {
        let key = format!("key-{index:07}");
        let value = vec![b'a' + (index % 26) as u8; 20 + (index % 97) as usize];
        set(key.as_bytes(), &value, index);
        if index.is_multiple_of(5) {
            let earlier = format!("key-{:07}", index / 2);
            let _value = db.get(earlier.as_bytes());
        }
        if index.is_multiple_of(11) {
            let earlier = format!("key-{:07}", index / 3);
            set(earlier.as_bytes(), b"rewritten", index + 1);
        }
    }
}

/// Eviction, SAVE, more eviction, close, reopen: the same keys and values, for every
/// policy; and once more after a second restart with no new writes.
#[test]
fn restart_after_eviction_and_snapshot_keeps_exactly_the_live_keys() {
    for policy in POLICIES {
        let dir = TempDir::new("recovery-eviction");
        let live = {
            let db = Db::open(dir.path(), tight(policy)).unwrap();
            write(&db, policy, 0, 12_000);
            assert!(db.stats().store.evicted > 0, "{policy:?}: nothing evicted");
            db.save().unwrap();
            let evicted_before = db.stats().store.evicted;
            write(&db, policy, 12_000, 14_000);
            assert!(
                db.stats().store.evicted > evicted_before,
                "{policy:?}: nothing evicted after the snapshot"
            );
            let live = contents(&db);
            db.close().unwrap();
            live
        };
        for restart in 0..2 {
            let db = Db::open(dir.path(), tight(policy))
                .unwrap_or_else(|error| panic!("{policy:?} restart {restart}: {error}"));
            let recovered = contents(&db);
            assert_eq!(
                recovered.len(),
                live.len(),
                "{policy:?} restart {restart}: key count"
            );
            assert!(recovered == live, "{policy:?} restart {restart}: contents");
            assert_eq!(db.stats().store.evicted, 0, "{policy:?}: replay evicted");
            db.close().unwrap();
        }
    }
}

/// Data that does not fit the configured store is refused, naming the setting to raise,
/// and nothing on disk changes: replay never evicts to make it fit.
#[test]
fn recovery_too_small_refuses_and_names_the_setting() {
    let dir = TempDir::new("recovery-too-small");
    let policy = EvictionPolicy::AllKeysLru;
    let live = {
        let db = Db::open(dir.path(), tight(policy)).unwrap();
        write(&db, policy, 0, 6_000);
        let live = contents(&db);
        db.close().unwrap();
        live
    };
    let files_before = common::names(dir.path());
    let mut small_memory = tight(policy);
    small_memory.store = floe_core::store::Config {
        policy,
        ..floe_core::store::Config::new(128 * 1024, 20_000)
    };
    let mut few_keys = tight(policy);
    few_keys.store.keys_max = live.len() / 2;
    for (db_config, setting) in [(small_memory, "--maxmemory"), (few_keys, "--max-keys")] {
        let error = match Db::open(dir.path(), db_config) {
            Ok(db) => panic!("opened {setting} too small with {} keys", db.len()),
            Err(error) => error.to_string(),
        };
        assert!(error.contains(setting), "{error}");
        assert!(error.contains("never evicts"), "{error}");
        assert_eq!(common::names(dir.path()), files_before);
    }
    let db = Db::open(dir.path(), tight(policy)).unwrap();
    assert!(contents(&db) == live);
}

/// Replay after eviction stays cheap: a snapshot lists items segment by segment, so the
/// deletes the live store logged when it evicted a segment empty one or two segments of
/// the restarted store, which cleaning frees with little copying. (In table order they
/// punched holes into every segment, and replay copied most of memory again and again:
/// four times slower than the live writes on a 64 MiB store.)
#[test]
fn replay_after_eviction_copies_little() {
    let dir = TempDir::new("recovery-eviction-cost");
    let policy = EvictionPolicy::Fifo;
    // 64 segments of 16 KiB: enough that where the holes fall matters.
    let mut db_config = tight(policy);
    db_config.store = floe_core::store::Config {
        policy,
        segment_size: 16 * 1024,
        key_size_max: 1024,
        value_size_max: 4096,
        ..floe_core::store::Config::new(1 << 20, 50_000)
    };
    let evicted_segments = {
        let db = Db::open(dir.path(), db_config.clone()).unwrap();
        write(&db, policy, 0, 30_000);
        db.save().unwrap();
        let before = db.stats().store.segments_evicted;
        write(&db, policy, 30_000, 40_000);
        let evicted = db.stats().store.segments_evicted - before;
        db.close().unwrap();
        evicted
    };
    let db = Db::open(dir.path(), db_config).unwrap();
    let cleaned = db.stats().store.segments_cleaned;
    assert!(evicted_segments >= 20, "{evicted_segments}");
    assert!(
        cleaned <= 2 * evicted_segments,
        "replay cleaned {cleaned} segments for {evicted_segments} the live store evicted"
    );
}
