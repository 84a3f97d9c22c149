//! The prefix index against a `BTreeMap` model with binary, multi-byte keys: random writes,
//! deletes, expiries (lazy and active), evictions, transfers, FLUSHDB/FLUSHALL, SWAPDB,
//! the index turned off and on, and replay into a second store. The model is fed only by
//! the store's log records (as recovery is) and knows each key's expiry; after every
//! operation every prefix query from the index must list exactly the model's live keys
//! with that prefix, in byte order, and the same set as the table walk.

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use proptest::prelude::*;

use crate::arena::Arena;
use crate::codec::record::Record;
use crate::storage::policy::EvictionPolicy;
use crate::store::{Config, ExpireCondition, LogSink, SetOptions, Store};
use crate::time::Timestamp;

const START: Timestamp = 1_700_000_000_000;
/// Key bytes: few, so keys share prefixes; binary on purpose (0x00, 0xff, and a glob byte).
const ALPHABET: [u8; 5] = [0x00, b'a', b'b', b'*', 0xff];
const DB_COUNT: u8 = 3;

/// Live keys and expiries, fed by records; plus every record, to replay.
#[derive(Debug, Default)]
struct Model {
    entries: BTreeMap<(u8, Vec<u8>), Timestamp>,
    records: Vec<OwnedRecord>,
}

#[derive(Debug, Clone)]
enum OwnedRecord {
    Set(u8, Vec<u8>, Vec<u8>, Timestamp),
    Del(u8, Vec<u8>),
    ExpireAt(u8, Vec<u8>, Timestamp),
    Clear(Option<u8>),
    SwapDb(u8, u8),
}

impl LogSink for Model {
    fn record(&mut self, record: Record<'_>) {
        let owned = match record {
            Record::Set {
                db,
                key,
                value,
                expires_at,
                ..
            } => {
                self.entries.insert((db, key.to_vec()), expires_at);
                OwnedRecord::Set(db, key.to_vec(), value.to_vec(), expires_at)
            }
            Record::Del { db, key } => {
                self.entries.remove(&(db, key.to_vec()));
                OwnedRecord::Del(db, key.to_vec())
            }
            Record::ExpireAt {
                db,
                key,
                expires_at,
            } => {
                if let Some(at) = self.entries.get_mut(&(db, key.to_vec())) {
                    *at = expires_at;
                }
                OwnedRecord::ExpireAt(db, key.to_vec(), expires_at)
            }
            Record::Clear { db } => {
                self.entries
                    .retain(|(entry_db, _), _| db.is_some_and(|db| db != *entry_db));
                OwnedRecord::Clear(db)
            }
            Record::SwapDb {
                db_first,
                db_second,
            } => {
                let swapped = |db: u8| match db {
                    db if db == db_first => db_second,
                    db if db == db_second => db_first,
                    db => db,
                };
                self.entries = core::mem::take(&mut self.entries)
                    .into_iter()
                    .map(|((db, key), at)| ((swapped(db), key), at))
                    .collect();
                OwnedRecord::SwapDb(db_first, db_second)
            }
        };
        self.records.push(owned);
    }
}

impl Model {
    fn live(&self, db: u8, prefix: &[u8], now: Timestamp) -> Vec<Vec<u8>> {
        self.entries
            .iter()
            .filter(|((entry_db, key), at)| {
                *entry_db == db && key.starts_with(prefix) && (**at == 0 || **at > now)
            })
            .map(|((_, key), _)| key.clone())
            .collect()
    }
}

#[derive(Debug, Clone)]
enum Op {
    Set {
        db: u8,
        key: Vec<u8>,
        size: u16,
        ttl: Option<u8>,
    },
    Get {
        db: u8,
        key: Vec<u8>,
    },
    Delete {
        db: u8,
        key: Vec<u8>,
    },
    Expire {
        db: u8,
        key: Vec<u8>,
        ttl: u8,
    },
    Transfer {
        source: Vec<u8>,
        target: Vec<u8>,
        target_db: u8,
        keep_source: bool,
    },
    Clear {
        db: Option<u8>,
    },
    SwapDb {
        first: u8,
        second: u8,
    },
    Advance {
        ms: u8,
    },
    ExpireStep,
    Toggle,
}

/// Short keys (kept in the tree's nodes) and, one time in four, keys past the inline size
/// (boxed), which share a long prefix.
fn key() -> impl Strategy<Value = Vec<u8>> {
    let short = proptest::collection::vec(proptest::sample::select(&ALPHABET[..]), 0..5);
    prop_oneof![
        3 => short.clone(),
        1 => short.prop_map(|tail| [&[b'a'; 24][..], &tail].concat()),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let db = 0..DB_COUNT;
    prop_oneof![
        8 => (db.clone(), key(), 0u16..400, proptest::option::of(1u8..50))
            .prop_map(|(db, key, size, ttl)| Op::Set { db, key, size, ttl }),
        2 => (db.clone(), key()).prop_map(|(db, key)| Op::Get { db, key }),
        3 => (db.clone(), key()).prop_map(|(db, key)| Op::Delete { db, key }),
        2 => (db.clone(), key(), 0u8..50).prop_map(|(db, key, ttl)| Op::Expire { db, key, ttl }),
        2 => (key(), key(), db.clone(), any::<bool>()).prop_map(
            |(source, target, target_db, keep_source)| Op::Transfer { source, target, target_db, keep_source }
        ),
        1 => proptest::option::of(db.clone()).prop_map(|db| Op::Clear { db }),
        1 => (db.clone(), db).prop_map(|(first, second)| Op::SwapDb { first, second }),
        3 => (0u8..40).prop_map(|ms| Op::Advance { ms }),
        2 => Just(Op::ExpireStep),
        1 => Just(Op::Toggle),
    ]
}

/// Every prefix of up to two alphabet bytes, the empty one, and some of the long keys'.
fn prefixes() -> Vec<Vec<u8>> {
    let mut prefixes = vec![
        Vec::new(),
        vec![b'a'; 20],
        vec![b'a'; 25],
        [&[b'a'; 24][..], b"b"].concat(),
    ];
    for &first in &ALPHABET {
        prefixes.push(vec![first]);
        for &second in &ALPHABET {
            prefixes.push(vec![first, second]);
        }
    }
    prefixes
}

/// A glob pattern matching exactly the keys that start with `prefix` (special bytes
/// escaped, as the doors build it).
fn pattern_of(prefix: &[u8]) -> Vec<u8> {
    let mut pattern = Vec::new();
    for &byte in prefix {
        if matches!(byte, b'*' | b'?' | b'[' | b']' | b'\\') {
            pattern.push(b'\\');
        }
        pattern.push(byte);
    }
    pattern.push(b'*');
    pattern
}

fn check(store: &Store<'_>, model: &Model, now: Timestamp) -> Result<(), TestCaseError> {
    let index = store.prefix_index();
    if index.enabled() {
        prop_assert_eq!(index.len(), store.len());
    } else {
        prop_assert_eq!(index.len(), 0);
        prop_assert_eq!(index.size(), 0);
    }
    for db in 0..DB_COUNT {
        for prefix in prefixes() {
            let expected = model.live(db, &prefix, now);
            // scan_prefix: from the index when on (in byte order), else the table walk.
            let mut listed = Vec::new();
            store.scan_prefix(db, &prefix, now, |key, _| listed.push(key.to_vec()));
            if !index.enabled() || prefix.is_empty() {
                listed.sort();
            }
            prop_assert_eq!(
                &listed,
                &expected,
                "scan_prefix db={} prefix={:?}",
                db,
                prefix
            );
            // KEYS: the same set whether answered by the index or by the table walk.
            let pattern = pattern_of(&prefix);
            let mut keys = Vec::new();
            store.keys(db, &pattern, now, |key| keys.push(key.to_vec()));
            keys.sort();
            let mut walked = Vec::new();
            store.entries(db, now, |key, _| {
                if crate::glob::glob_match(&pattern, key) {
                    walked.push(key.to_vec());
                }
            });
            walked.sort();
            prop_assert_eq!(&keys, &walked, "KEYS db={} pattern={:?}", db, pattern);
            prop_assert_eq!(&keys, &expected);
        }
    }
    Ok(())
}

fn new_store(memory: &mut [u8], config: Config) -> Store<'_> {
    let mut arena = Arena::from_buffer(memory);
    let store = Store::new(&mut arena, config).expect("config fits");
    arena.freeze().expect("first freeze");
    store
}

fn run(policy: EvictionPolicy, memory_size: usize, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut config = Config::new(memory_size, 40);
    config.policy = policy;
    let mut memory = vec![0u8; config.arena_size()];
    let mut store = new_store(&mut memory, config);
    store.set_prefix_index(true);
    let mut model = Model::default();
    let mut now = START;
    for (serial, op) in ops.iter().enumerate() {
        match op {
            Op::Set { db, key, size, ttl } => {
                let value = vec![b'v'; usize::from(*size) + serial % 3];
                // Errors (out of memory, keys full) change nothing but evictions: fine.
                let _result = match ttl {
                    Some(ttl) => {
                        store.set_with_ttl(*db, key, &value, i64::from(*ttl), now, &mut model)
                    }
                    None => store
                        .set(*db, key, &value, SetOptions::default(), now, &mut model)
                        .map(|_| ()),
                };
            }
            Op::Get { db, key } => {
                let _value = store.get(*db, key, now);
            }
            Op::Delete { db, key } => {
                store.delete(*db, key, now, &mut model);
            }
            Op::Expire { db, key, ttl } => {
                let condition = ExpireCondition::Always;
                let _applied =
                    store.expire_in(*db, key, i64::from(*ttl), condition, now, &mut model);
            }
            Op::Transfer {
                source,
                target,
                target_db,
                keep_source,
            } => {
                let _done = store.transfer(
                    0,
                    source,
                    *target_db,
                    target,
                    true,
                    *keep_source,
                    now,
                    &mut model,
                );
            }
            Op::Clear { db } => store.clear(*db, &mut model),
            Op::SwapDb { first, second } => {
                prop_assert!(store.swap_db(*first, *second, &mut model).is_ok());
            }
            Op::Advance { ms } => now += u64::from(*ms),
            Op::ExpireStep => {
                store.expire_step(now, 16);
            }
            Op::Toggle => {
                let enabled = store.prefix_index().enabled();
                store.set_prefix_index(!enabled);
            }
        }
        check(&store, &model, now)?;
    }
    // Replay every record into a store with the index on from the start (recovery's
    // path, key by key): the same prefix answers.
    let mut replay_memory = vec![0u8; config.arena_size()];
    let mut replayed = new_store(&mut replay_memory, config);
    replayed.set_prefix_index(true);
    for record in &model.records {
        let applied = match record {
            OwnedRecord::Set(db, key, value, at) => replayed.apply(
                &Record::Set {
                    db: *db,
                    key,
                    value,
                    expires_at: *at,
                    value_kind: crate::codec::record::ItemKind::String,
                },
                now,
            ),
            OwnedRecord::Del(db, key) => replayed.apply(&Record::Del { db: *db, key }, now),
            OwnedRecord::ExpireAt(db, key, at) => replayed.apply(
                &Record::ExpireAt {
                    db: *db,
                    key,
                    expires_at: *at,
                },
                now,
            ),
            OwnedRecord::Clear(db) => replayed.apply(&Record::Clear { db: *db }, now),
            OwnedRecord::SwapDb(first, second) => replayed.apply(
                &Record::SwapDb {
                    db_first: *first,
                    db_second: *second,
                },
                now,
            ),
        };
        prop_assert!(applied.is_ok(), "replay failed: {:?}", applied);
    }
    check(&replayed, &model, now)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Ample memory: no eviction, only the operations' own changes.
    #[test]
    fn index_matches_model_ample(ops in proptest::collection::vec(op(), 1..200)) {
        run(EvictionPolicy::NoEviction, 1 << 20, &ops)?;
    }

    /// Tight memory under an evicting policy: evictions (logged as deletes) leave the
    /// index along with the table.
    #[test]
    fn index_matches_model_under_eviction(
        policy_index in 1usize..EvictionPolicy::ALL.len(),
        ops in proptest::collection::vec(op(), 1..200),
    ) {
        run(EvictionPolicy::ALL[policy_index], 4 * 1024, &ops)?;
    }
}

/// The index's size counts each key's block and the per-entry overhead, and drops to zero
/// when every key is gone or the index is off.
#[test]
fn size_follows_the_keys() {
    let config = Config::new(1 << 20, 100);
    let mut memory = vec![0u8; config.arena_size()];
    let mut store = new_store(&mut memory, config);
    store.set_prefix_index(true);
    for index in 0..10u8 {
        store
            .set(
                0,
                &[b'k', index],
                b"v",
                SetOptions::default(),
                START,
                &mut (),
            )
            .expect("room");
    }
    // Short keys live in the tree's nodes: only the per-entry overhead.
    let expected = 10 * super::INDEX_ENTRY_OVERHEAD_SIZE;
    assert_eq!(store.prefix_index().size(), expected);
    assert_eq!(store.stats().prefix_index_size, expected as u64);
    assert_eq!(store.stats().prefix_index_keys, 10);
    store.set_prefix_index(false);
    assert_eq!(store.stats().prefix_index_size, 0);
    store.set_prefix_index(true);
    assert_eq!(store.prefix_index().size(), expected);
    // A key past the inline size has a block of its own.
    let long = [b'x'; 40];
    store
        .set(1, &long, b"v", SetOptions::default(), START, &mut ())
        .expect("room");
    let long_size = super::allocation_size(41) + super::INDEX_ENTRY_OVERHEAD_SIZE;
    assert_eq!(store.prefix_index().size(), expected + long_size);
    assert!(store.swap_db(1, 2, &mut ()).is_ok());
    assert_eq!(store.prefix_index().size(), expected + long_size);
    store.clear(None, &mut ());
    assert_eq!(store.prefix_index().size(), 0);
}

#[test]
fn on_demand_the_first_query_with_a_literal_prefix_builds_it() {
    let config = Config::new(1 << 20, 100);
    let mut memory = vec![0u8; config.arena_size()];
    let mut store = new_store(&mut memory, config);
    store.set_prefix_index_on_demand();
    for index in 0..10u8 {
        let options = SetOptions::default();
        store
            .set(0, &[b'k', index], b"v", options, START, &mut ())
            .expect("room");
    }
    assert_eq!(store.stats().prefix_index_keys, 0, "nothing until a search");
    // Patterns with no literal prefix could not use it: still nothing.
    for pattern in [&b"*"[..], b"?k", b""] {
        assert!(!store.prefix_index_for(pattern), "{pattern:?}");
    }
    assert_eq!(store.stats().prefix_index_size, 0);
    assert!(store.prefix_index_for(b"k*"));
    assert_eq!(store.stats().prefix_index_keys, 10);
    let mut listed = Vec::new();
    store.keys(0, b"k*", START, |key| listed.push(key.to_vec()));
    assert_eq!(listed.len(), 10);
    assert!(
        listed.windows(2).all(|pair| pair[0] < pair[1]),
        "byte order"
    );
    // Kept from then on, and turned off for good by an explicit switch.
    store
        .set(0, b"kz", b"v", SetOptions::default(), START, &mut ())
        .expect("room");
    assert_eq!(store.stats().prefix_index_keys, 11);
    store.set_prefix_index(false);
    assert!(!store.prefix_index_for(b"k*"));
}
