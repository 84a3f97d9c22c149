//! Store tests: each command's semantics and errors, the log records writes report, and
//! proptest models of long random op sequences with expiry and eviction.

use super::model::{Op, run_model};
use super::*;
use crate::storage::policy::EvictionPolicy;
use proptest::prelude::*;
use std::vec::Vec;

const NOW: Timestamp = 1_700_000_000_000;

/// An owned copy of a record, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Logged {
    Set {
        db: u8,
        key: Vec<u8>,
        value: Vec<u8>,
        expires_at: Timestamp,
    },
    Del {
        db: u8,
        key: Vec<u8>,
    },
    ExpireAt {
        db: u8,
        key: Vec<u8>,
        expires_at: Timestamp,
    },
    Clear {
        db: Option<u8>,
    },
    SwapDb {
        db_first: u8,
        db_second: u8,
    },
}

#[derive(Debug, Default)]
struct Log(Vec<Logged>);

impl LogSink for Log {
    fn record(&mut self, record: Record<'_>) {
        self.0.push(match record {
            Record::Set {
                db,
                key,
                value,
                expires_at,
                ..
            } => Logged::Set {
                db,
                key: key.to_vec(),
                value: value.to_vec(),
                expires_at,
            },
            Record::Del { db, key } => Logged::Del {
                db,
                key: key.to_vec(),
            },
            Record::ExpireAt {
                db,
                key,
                expires_at,
            } => Logged::ExpireAt {
                db,
                key: key.to_vec(),
                expires_at,
            },
            Record::Clear { db } => Logged::Clear { db },
            Record::SwapDb {
                db_first,
                db_second,
            } => Logged::SwapDb {
                db_first,
                db_second,
            },
        });
    }
}

/// Builds a store over leaked memory (tests only) and freezes its arena.
fn store_with(config: Config) -> Store<'static> {
    let memory = Vec::leak(vec![0u8; config.arena_size()]);
    let mut arena = Arena::from_buffer(memory);
    let store = Store::new(&mut arena, config).expect("config fits");
    arena.freeze().expect("freeze");
    store
}

fn store() -> Store<'static> {
    store_with(Config::new(1 << 20, 10_000))
}

fn set(store: &mut Store<'_>, key: &[u8], value: &[u8]) {
    store
        .set(0, key, value, SetOptions::default(), NOW, &mut ())
        .expect("set");
}

#[test]
fn configuration_errors_name_the_limit() {
    let valid = Config::new(1 << 20, 1000);
    assert_eq!(valid.validate(), Ok(4));
    let cases = [
        (
            Config {
                segment_size: 1000,
                ..valid
            },
            ConfigError::SegmentSize,
        ),
        (
            Config {
                segment_size: 128,
                ..valid
            },
            ConfigError::SegmentSize,
        ),
        (
            Config {
                memory_size: 1 << 19,
                ..valid
            },
            ConfigError::MemoryTooSmall,
        ),
        (
            Config {
                value_size_max: 1 << 20,
                ..valid
            },
            ConfigError::ItemLargerThanSegment,
        ),
        (
            Config {
                keys_max: usize::MAX / 2,
                ..valid
            },
            ConfigError::KeysMaxTooLarge,
        ),
    ];
    for (config, error) in cases {
        assert_eq!(config.validate(), Err(error), "{config:?}");
    }
    let mut small = [0u8; 64];
    let mut arena = Arena::from_buffer(&mut small);
    assert!(matches!(
        Store::new(&mut arena, valid),
        Err(ConfigError::Arena(_))
    ));
}

#[test]
fn set_get_delete() {
    let mut store = store();
    assert_eq!(store.get(0, b"k", NOW), None);
    set(&mut store, b"k", b"v1");
    set(&mut store, b"k", b"v2");
    assert_eq!(store.get(0, b"k", NOW), Some(&b"v2"[..]));
    assert_eq!(store.len(), 1);
    assert!(store.delete(0, b"k", NOW, &mut ()));
    assert!(!store.delete(0, b"k", NOW, &mut ()));
    assert_eq!(store.get(0, b"k", NOW), None);
    let stats = store.stats();
    assert_eq!((stats.hits, stats.misses, stats.keys), (1, 2, 0));
}

#[test]
fn empty_key_and_value_work() {
    let mut store = store();
    set(&mut store, b"", b"");
    assert_eq!(store.get(0, b"", NOW), Some(&b""[..]));
    assert!(store.exists(0, b"", NOW));
}

#[test]
fn databases_are_separate() {
    let mut store = store();
    store
        .set(3, b"k", b"three", SetOptions::default(), NOW, &mut ())
        .expect("set");
    set(&mut store, b"k", b"zero");
    assert_eq!(store.get(3, b"k", NOW), Some(&b"three"[..]));
    assert_eq!((store.db_len(0), store.db_len(3), store.len()), (1, 1, 2));
    let mut log = Log::default();
    store.clear(Some(3), &mut log);
    assert_eq!(store.get(3, b"k", NOW), None);
    assert_eq!(store.get(0, b"k", NOW), Some(&b"zero"[..]));
    assert_eq!(log.0, [Logged::Clear { db: Some(3) }]);
    store.clear(None, &mut ());
    assert!(store.is_empty());
}

#[test]
fn set_conditions_and_get_option() {
    let mut store = store();
    let nx = SetOptions {
        condition: SetCondition::IfAbsent,
        ..SetOptions::default()
    };
    let xx = SetOptions {
        condition: SetCondition::IfPresent,
        ..SetOptions::default()
    };
    let outcome = store.set(0, b"k", b"a", xx, NOW, &mut ()).expect("set");
    assert_eq!(
        outcome,
        SetOutcome {
            written: false,
            previous: None
        }
    );
    let outcome = store.set(0, b"k", b"a", nx, NOW, &mut ()).expect("set");
    assert_eq!(
        outcome,
        SetOutcome {
            written: true,
            previous: None
        }
    );
    let outcome = store.set(0, b"k", b"b", nx, NOW, &mut ()).expect("set");
    assert_eq!(
        outcome,
        SetOutcome {
            written: false,
            previous: Some(&b"a"[..])
        }
    );
    let outcome = store.set(0, b"k", b"c", xx, NOW, &mut ()).expect("set");
    assert_eq!(
        outcome,
        SetOutcome {
            written: true,
            previous: Some(&b"a"[..])
        }
    );
    assert_eq!(store.get(0, b"k", NOW), Some(&b"c"[..]));
}

#[test]
fn expiry_is_absolute_lazy_and_kept_or_cleared() {
    let mut store = store();
    let mut log = Log::default();
    store
        .set_with_ttl(0, b"k", b"v", 1000, NOW, &mut log)
        .expect("set");
    assert_eq!(
        log.0,
        [Logged::Set {
            db: 0,
            key: b"k".to_vec(),
            value: b"v".to_vec(),
            expires_at: NOW + 1000
        }]
    );
    assert_eq!(store.ttl(0, b"k", NOW + 400), Ttl::Remaining(600));
    let keep = SetOptions {
        expiry: SetExpiry::Keep,
        ..SetOptions::default()
    };
    store.set(0, b"k", b"w", keep, NOW, &mut ()).expect("set");
    assert_eq!(store.ttl(0, b"k", NOW), Ttl::Remaining(1000));
    assert_eq!(store.get(0, b"k", NOW + 999), Some(&b"w"[..]));
    assert_eq!(store.get(0, b"k", NOW + 1000), None);
    assert_eq!(store.ttl(0, b"k", NOW), Ttl::Missing, "lazily removed");
    assert_eq!(store.stats().expired, 1);
    store
        .set_with_ttl(0, b"k", b"v", 1000, NOW, &mut ())
        .expect("set");
    set(&mut store, b"k", b"plain");
    assert_eq!(
        store.ttl(0, b"k", NOW),
        Ttl::Persistent,
        "plain SET clears the expiry"
    );
}

#[test]
fn invalid_and_past_expiries() {
    let mut store = store();
    assert_eq!(SetExpiry::after(NOW, 0), Err(StoreError::InvalidExpire));
    assert_eq!(SetExpiry::after(NOW, -5), Err(StoreError::InvalidExpire));
    assert_eq!(
        SetExpiry::after(u64::MAX, 5),
        Err(StoreError::InvalidExpire)
    );
    assert_eq!(SetExpiry::at(0), Err(StoreError::InvalidExpire));
    set(&mut store, b"k", b"v");
    let mut log = Log::default();
    let past = SetOptions {
        expiry: SetExpiry::At(NOW - 1),
        ..SetOptions::default()
    };
    store.set(0, b"k", b"v2", past, NOW, &mut log).expect("set");
    assert_eq!(
        store.get(0, b"k", NOW),
        None,
        "an expiry in the past deletes the key"
    );
    assert_eq!(
        log.0,
        [Logged::Del {
            db: 0,
            key: b"k".to_vec()
        }]
    );
}

#[test]
fn expire_conditions_ttl_and_persist() {
    let mut store = store();
    let mut log = Log::default();
    assert!(
        !store
            .expire_in(0, b"k", 10, ExpireCondition::Always, NOW, &mut log)
            .expect("ok")
    );
    set(&mut store, b"k", b"v");
    let apply = |store: &mut Store<'_>, at, condition| {
        store
            .expire_at(0, b"k", at, condition, NOW, &mut ())
            .expect("ok")
    };
    assert!(!apply(&mut store, NOW + 50, ExpireCondition::IfSome));
    assert!(
        !apply(&mut store, NOW + 50, ExpireCondition::IfLater),
        "no TTL is infinite"
    );
    assert!(apply(&mut store, NOW + 50, ExpireCondition::IfSooner));
    assert!(!apply(&mut store, NOW + 40, ExpireCondition::IfNone));
    assert!(!apply(&mut store, NOW + 60, ExpireCondition::IfSooner));
    assert!(apply(&mut store, NOW + 60, ExpireCondition::IfLater));
    assert!(apply(&mut store, NOW + 70, ExpireCondition::IfSome));
    assert_eq!(store.ttl(0, b"k", NOW), Ttl::Remaining(70));
    assert_eq!(store.get(0, b"k", NOW), Some(&b"v"[..]));
    assert!(store.persist(0, b"k", NOW, &mut log).expect("ok"));
    assert!(!store.persist(0, b"k", NOW, &mut log).expect("ok"));
    assert_eq!(store.ttl(0, b"k", NOW + 100), Ttl::Persistent);
    // Removing the expiry rewrites the item without its expiry field: a Set says so.
    assert_eq!(
        log.0,
        [Logged::Set {
            db: 0,
            key: b"k".to_vec(),
            value: b"v".to_vec(),
            expires_at: 0
        }]
    );
    assert!(
        store
            .expire_in(0, b"k", -1, ExpireCondition::Always, NOW, &mut ())
            .expect("ok")
    );
    assert!(
        !store.exists(0, b"k", NOW),
        "a negative TTL deletes the key"
    );
}

#[test]
fn xx_with_lt_needs_an_expiry() {
    let mut store = store();
    set(&mut store, b"k", b"v");
    let condition = ExpireCondition::IfSomeAndSooner;
    let mut apply = |at| {
        store
            .expire_at(0, b"k", at, condition, NOW, &mut ())
            .expect("ok")
    };
    assert!(
        !apply(NOW + 50),
        "no expiry: XX fails although LT alone would pass"
    );
    store
        .expire_at(0, b"k", NOW + 60, ExpireCondition::Always, NOW, &mut ())
        .expect("ok");
    let mut apply = |at| {
        store
            .expire_at(0, b"k", at, condition, NOW, &mut ())
            .expect("ok")
    };
    assert!(!apply(NOW + 70));
    assert!(apply(NOW + 50));
    assert_eq!(store.ttl(0, b"k", NOW), Ttl::Remaining(50));
}

#[test]
fn reads_that_change_nothing_log_nothing() {
    let mut store = store();
    set(&mut store, b"k", b"v");
    let mut log = Log::default();
    let got = store
        .getex(0, b"k", GetExpiry::Persist, NOW, &mut log)
        .expect("ok");
    assert_eq!(got, Some(&b"v"[..]));
    assert_eq!(
        store.setrange(0, b"k", usize::MAX, b"", NOW, &mut log),
        Ok(1)
    );
    assert_eq!(
        store.setrange(0, b"none", usize::MAX, b"", NOW, &mut log),
        Ok(0)
    );
    assert!(log.0.is_empty(), "{:?}", log.0);
}

#[test]
fn counters_are_logged_as_values() {
    let mut store = store();
    let mut log = Log::default();
    assert_eq!(store.incr_by(0, b"n", 5, NOW, &mut log), Ok(5));
    assert_eq!(store.incr_by(0, b"n", -7, NOW, &mut log), Ok(-2));
    assert_eq!(
        log.0.last(),
        Some(&Logged::Set {
            db: 0,
            key: b"n".to_vec(),
            value: b"-2".to_vec(),
            expires_at: 0
        })
    );
    set(&mut store, b"max", b"9223372036854775807");
    assert_eq!(
        store.incr_by(0, b"max", 1, NOW, &mut ()),
        Err(StoreError::Overflow)
    );
    set(&mut store, b"text", b"abc");
    assert_eq!(
        store.incr_by(0, b"text", 1, NOW, &mut ()),
        Err(StoreError::NotInteger)
    );
    assert_eq!(
        store.get(0, b"text", NOW),
        Some(&b"abc"[..]),
        "failed INCR changes nothing"
    );
    assert_eq!(
        store.incr_by_float(0, b"f", 10.5, NOW, &mut ()),
        Ok(&b"10.5"[..])
    );
    assert_eq!(
        store.incr_by_float(0, b"f", 0.1, NOW, &mut ()),
        Ok(&b"10.6"[..])
    );
    assert_eq!(
        store.incr_by_float(0, b"f", f64::NAN, NOW, &mut ()),
        Err(StoreError::FloatNotFinite)
    );
    set(&mut store, b"big", b"1e308");
    assert_eq!(
        store.incr_by_float(0, b"big", 1e308, NOW, &mut ()),
        Err(StoreError::FloatNotFinite)
    );
    assert_eq!(
        store.incr_by_float(0, b"text", 1.0, NOW, &mut ()),
        Err(StoreError::NotFloat)
    );
}

#[test]
fn counter_keeps_expiry() {
    let mut store = store();
    store
        .set_with_ttl(0, b"n", b"1", 500, NOW, &mut ())
        .expect("set");
    assert_eq!(store.incr_by(0, b"n", 1, NOW, &mut ()), Ok(2));
    assert_eq!(store.ttl(0, b"n", NOW), Ttl::Remaining(500));
}

#[test]
fn append_ranges_getdel_getex() {
    let mut store = store();
    assert_eq!(store.append(0, b"s", b"Hello", NOW, &mut ()), Ok(5));
    assert_eq!(store.append(0, b"s", b" World", NOW, &mut ()), Ok(11));
    assert_eq!(store.getrange(0, b"s", 0, 4, NOW), b"Hello");
    assert_eq!(store.getrange(0, b"s", -5, -1, NOW), b"World");
    assert_eq!(store.getrange(0, b"s", 5, 2, NOW), b"");
    assert_eq!(store.getrange(0, b"s", 0, 100, NOW), b"Hello World");
    assert_eq!(store.setrange(0, b"s", 6, b"Redis", NOW, &mut ()), Ok(11));
    assert_eq!(store.get(0, b"s", NOW), Some(&b"Hello Redis"[..]));
    assert_eq!(store.setrange(0, b"pad", 3, b"x", NOW, &mut ()), Ok(4));
    assert_eq!(store.get(0, b"pad", NOW), Some(&b"\0\0\0x"[..]));
    assert_eq!(store.setrange(0, b"s", 20, b"!", NOW, &mut ()), Ok(21));
    assert_eq!(store.strlen(0, b"s", NOW), 21);
    assert_eq!(store.setrange(0, b"none", 5, b"", NOW, &mut ()), Ok(0));
    assert!(!store.exists(0, b"none", NOW));
    assert_eq!(
        store.setrange(0, b"s", usize::MAX, b"x", NOW, &mut ()),
        Err(StoreError::OffsetOutOfRange)
    );
    let mut log = Log::default();
    assert_eq!(
        store.getdel(0, b"pad", NOW, &mut log),
        Some(&b"\0\0\0x"[..])
    );
    assert_eq!(
        log.0,
        [Logged::Del {
            db: 0,
            key: b"pad".to_vec()
        }]
    );
    assert!(!store.exists(0, b"pad", NOW));
    let got = store
        .getex(0, b"s", GetExpiry::At(NOW + 10), NOW, &mut ())
        .expect("ok");
    assert_eq!(got.map(<[u8]>::len), Some(21));
    assert_eq!(store.ttl(0, b"s", NOW), Ttl::Remaining(10));
    store
        .getex(0, b"s", GetExpiry::Persist, NOW, &mut ())
        .expect("ok");
    assert_eq!(store.ttl(0, b"s", NOW), Ttl::Persistent);
}

#[test]
fn size_limits_are_errors() {
    let mut store = store();
    let config = *store.config();
    let key = vec![b'k'; config.key_size_max as usize + 1];
    let value = vec![b'v'; config.value_size_max as usize + 1];
    let options = SetOptions::default();
    assert_eq!(
        store.set(0, &key, b"v", options, NOW, &mut ()).err(),
        Some(StoreError::KeyTooLarge)
    );
    assert_eq!(
        store.set(0, b"k", &value, options, NOW, &mut ()).err(),
        Some(StoreError::ValueTooLarge)
    );
    let fits = vec![b'v'; config.value_size_max as usize];
    store
        .set(0, b"k", &fits, options, NOW, &mut ())
        .expect("the maximum fits");
    assert_eq!(
        store.append(0, b"k", b"x", NOW, &mut ()),
        Err(StoreError::ValueTooLarge)
    );
    assert_eq!(store.strlen(0, b"k", NOW), fits.len());
}

#[test]
fn noeviction_refuses_writes_when_full_and_keeps_data() {
    let mut store = store_with(Config::new(16 * 1024, 1000));
    let mut written = 0u32;
    let error = loop {
        let key = written.to_le_bytes();
        match store.set(0, &key, &[7u8; 100], SetOptions::default(), NOW, &mut ()) {
            Ok(_) => written += 1,
            Err(error) => break error,
        }
    };
    assert_eq!(error, StoreError::OutOfMemory);
    for index in 0..written {
        assert_eq!(
            store.get(0, &index.to_le_bytes(), NOW),
            Some(&[7u8; 100][..])
        );
    }
    // Deleting makes room again (cleaning reclaims the holes).
    for index in 0..written / 2 {
        store.delete(0, &index.to_le_bytes(), NOW, &mut ());
    }
    store
        .set(
            0,
            b"after",
            &[1u8; 100],
            SetOptions::default(),
            NOW,
            &mut (),
        )
        .expect("room");
    assert!(store.stats().segments_cleaned > 0);
}

#[test]
fn keys_max_under_noeviction_is_an_error() {
    let mut store = store_with(Config::new(1 << 20, 10));
    for index in 0..10u8 {
        set(&mut store, &[index], b"v");
    }
    let error = store.set(0, b"one more", b"v", SetOptions::default(), NOW, &mut ());
    assert_eq!(error.err(), Some(StoreError::KeysFull));
    set(&mut store, &[3], b"overwrite is fine");
}

#[test]
fn set_many_is_all_or_nothing() {
    let mut store = store_with(Config::new(16 * 1024, 1000));
    let big = [9u8; 1000];
    let pairs: Vec<(&[u8], &[u8])> = vec![(b"a", &big), (b"b", &big)];
    assert_eq!(store.set_many(0, &pairs, false, NOW, &mut ()), Ok(true));
    let keys: Vec<[u8; 4]> = (0..40u32).map(u32::to_le_bytes).collect();
    let too_many: Vec<(&[u8], &[u8])> = keys.iter().map(|key| (&key[..], &big[..])).collect();
    assert_eq!(
        store.set_many(0, &too_many, false, NOW, &mut ()),
        Err(StoreError::OutOfMemory)
    );
    assert_eq!(store.len(), 2, "nothing of the failed batch was written");
    let nx: Vec<(&[u8], &[u8])> = vec![(b"c", b"1"), (b"a", b"2")];
    assert_eq!(store.set_many(0, &nx, true, NOW, &mut ()), Ok(false));
    assert!(!store.exists(0, b"c", NOW));
}

#[test]
fn replaying_the_log_rebuilds_the_store() {
    let mut store = store();
    let mut log = Log::default();
    store
        .set(2, b"a", b"1", SetOptions::default(), NOW, &mut log)
        .expect("set");
    store
        .set_with_ttl(0, b"b", b"2", 50, NOW, &mut log)
        .expect("set");
    store
        .set_with_ttl(0, b"short", b"3", 5, NOW, &mut log)
        .expect("set");
    store.incr_by(0, b"n", 7, NOW, &mut log).expect("incr");
    store
        .expire_at(2, b"a", NOW + 99, ExpireCondition::Always, NOW, &mut log)
        .expect("ok");
    store.persist(0, b"b", NOW, &mut log).expect("ok");
    store.delete(0, b"n", NOW, &mut log);
    store
        .set(1, b"gone", b"x", SetOptions::default(), NOW, &mut log)
        .expect("set");
    store.clear(Some(1), &mut log);
    let mut replica = store_with(Config::new(1 << 20, 10_000));
    for _ in 0..2 {
        // Twice: records are idempotent.
        for logged in &log.0 {
            let record = match logged {
                Logged::Set {
                    db,
                    key,
                    value,
                    expires_at,
                } => Record::Set {
                    db: *db,
                    key,
                    value,
                    expires_at: *expires_at,
                    value_kind: ItemKind::String,
                },
                Logged::Del { db, key } => Record::Del { db: *db, key },
                Logged::ExpireAt {
                    db,
                    key,
                    expires_at,
                } => Record::ExpireAt {
                    db: *db,
                    key,
                    expires_at: *expires_at,
                },
                Logged::Clear { db } => Record::Clear { db: *db },
                Logged::SwapDb { .. } => unreachable!("not written above"),
            };
            replica.apply(&record, NOW + 10).expect("apply");
        }
    }
    let mut items = Vec::new();
    replica.items(NOW + 10, |db, key, value, expires_at, _| {
        items.push((db, key.to_vec(), value.to_vec(), expires_at));
    });
    items.sort();
    assert_eq!(
        items,
        [
            (0, b"b".to_vec(), b"2".to_vec(), 0),
            (2, b"a".to_vec(), b"1".to_vec(), NOW + 99)
        ]
    );
    let bad = Record::Del { db: 16, key: b"k" };
    assert_eq!(replica.apply(&bad, NOW), Err(StoreError::InvalidDatabase));
}

#[test]
fn scan_keys_prefix_and_entries() {
    let mut store = store();
    for index in 0..100u32 {
        set(&mut store, format!("user:{index}").as_bytes(), b"u");
        set(&mut store, format!("item:{index}").as_bytes(), b"i");
    }
    store
        .set_with_ttl(0, b"user:gone", b"x", 1, NOW, &mut ())
        .expect("set");
    let later = NOW + 10;
    let mut scanned = std::collections::BTreeSet::new();
    let mut cursor = 0;
    loop {
        cursor = store.scan(0, cursor, 10, Some(b"user:*"), later, |key| {
            scanned.insert(key.to_vec());
        });
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(scanned.len(), 100);
    let mut count = 0;
    store.keys(0, b"item:1?", later, |_| count += 1);
    assert_eq!(count, 10);
    let mut prefixed = 0;
    store.scan_prefix(0, b"item:", later, |_, value| {
        assert_eq!(value, b"i");
        prefixed += 1;
    });
    assert_eq!(prefixed, 100);
}

#[test]
fn active_expiry_removes_in_bounded_steps() {
    let mut store = store();
    for index in 0..500u32 {
        store
            .set_with_ttl(0, &index.to_le_bytes(), b"v", 10, NOW, &mut ())
            .expect("set");
    }
    set(&mut store, b"stays", b"v");
    let slot_count = store.table.slot_count();
    let removed = store.expire_step(NOW + 10, 64);
    assert!(removed <= 64);
    let mut total = removed;
    // A removal re-examines its slot, so it costs one unit of budget too.
    for _ in 0..(slot_count + 500) / 64 + 1 {
        total += store.expire_step(NOW + 10, 64);
    }
    assert_eq!(total, 500);
    assert_eq!(store.len(), 1);
}

/// Fills a small store far beyond its memory under `policy`, reading `hot` keys between
/// writes; returns how many of the hot keys survived.
fn hot_keys_surviving(policy: EvictionPolicy) -> usize {
    let mut config = Config::new(64 * 1024, 10_000);
    config.policy = policy;
    let mut store = store_with(config);
    let hot: Vec<[u8; 4]> = (0..20u32)
        .map(|index| (index + 1_000_000).to_le_bytes())
        .collect();
    for key in &hot {
        set(&mut store, key, &[1u8; 64]);
    }
    for index in 0..5_000u32 {
        set(&mut store, &index.to_le_bytes(), &[2u8; 64]);
        for key in &hot {
            store.get(0, key, NOW);
        }
    }
    assert!(store.stats().evicted > 0, "{policy:?} evicted nothing");
    hot.iter()
        .filter(|key| store.get(0, &key[..], NOW).is_some())
        .count()
}

#[test]
fn recency_and_frequency_policies_keep_hot_keys() {
    for policy in [
        EvictionPolicy::AllKeysLru,
        EvictionPolicy::AllKeysLfu,
        EvictionPolicy::Sieve,
    ] {
        assert_eq!(hot_keys_surviving(policy), 20, "{policy:?}");
    }
    assert_eq!(
        hot_keys_surviving(EvictionPolicy::Fifo),
        0,
        "FIFO ignores reads"
    );
}

#[test]
fn volatile_policies_evict_only_keys_with_expiry() {
    for policy in [
        EvictionPolicy::VolatileLru,
        EvictionPolicy::VolatileLfu,
        EvictionPolicy::VolatileRandom,
        EvictionPolicy::VolatileTtl,
    ] {
        let mut config = Config::new(16 * 1024, 10_000);
        config.policy = policy;
        let mut store = store_with(config);
        for index in 0..20u32 {
            set(&mut store, &index.to_le_bytes(), &[1u8; 64]);
        }
        let mut log = Log::default();
        for index in 100..2_000u32 {
            store
                .set_with_ttl(
                    0,
                    &index.to_le_bytes(),
                    &[2u8; 64],
                    1_000_000,
                    NOW,
                    &mut log,
                )
                .expect("volatile keys make room");
        }
        for index in 0..20u32 {
            assert!(
                store.exists(0, &index.to_le_bytes(), NOW),
                "{policy:?} evicted key {index}"
            );
        }
        assert!(
            log.0
                .iter()
                .any(|record| matches!(record, Logged::Del { .. })),
            "{policy:?}"
        );
        // With no volatile key left to evict, a persistent write runs out of memory.
        store.clear(None, &mut ());
        let mut result = Ok(());
        for index in 0..2_000u32 {
            result = store
                .set(
                    0,
                    &index.to_le_bytes(),
                    &[3u8; 64],
                    SetOptions::default(),
                    NOW,
                    &mut (),
                )
                .map(|_| ());
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(StoreError::OutOfMemory), "{policy:?}");
    }
}

#[test]
fn volatile_ttl_evicts_soonest_expiry_first() {
    let mut config = Config::new(16 * 1024, 10_000);
    config.policy = EvictionPolicy::VolatileTtl;
    let mut store = store_with(config);
    // Long-lived keys first, so write order alone would evict them first.
    for index in 0..40u32 {
        store
            .set_with_ttl(0, &index.to_le_bytes(), &[1u8; 64], 1_000_000, NOW, &mut ())
            .expect("set");
    }
    for index in 100..3_000u32 {
        store
            .set_with_ttl(0, &index.to_le_bytes(), &[2u8; 64], 1_000, NOW, &mut ())
            .expect("set");
    }
    let surviving = (0..40u32)
        .filter(|index| store.exists(0, &index.to_le_bytes(), NOW))
        .count();
    assert_eq!(surviving, 40);
}

#[test]
fn eviction_also_frees_key_slots() {
    let mut config = Config::new(1 << 20, 100);
    config.policy = EvictionPolicy::AllKeysRandom;
    let mut store = store_with(config);
    for index in 0..1_000u32 {
        set(&mut store, &index.to_le_bytes(), b"v");
        assert!(store.len() <= 100);
    }
    assert!(store.get(0, &999u32.to_le_bytes(), NOW).is_some());
}

// ---- Model tests (the harness is in `super::model`, shared with the fuzzer). ----

fn op() -> impl Strategy<Value = Op> {
    let key = 0u8..64;
    prop_oneof![
        6 => (key.clone(), 0u16..600, proptest::option::of(1u16..2000))
            .prop_map(|(key, size, ttl)| Op::Set { key, size, ttl }),
        4 => key.clone().prop_map(|key| Op::Get { key }),
        2 => key.clone().prop_map(|key| Op::Delete { key }),
        1 => key.clone().prop_map(|key| Op::Incr { key }),
        1 => (key.clone(), 0u8..100).prop_map(|(key, size)| Op::Append { key, size }),
        1 => (key.clone(), 1u16..2000).prop_map(|(key, ttl)| Op::Expire { key, ttl }),
        1 => key.clone().prop_map(|key| Op::Persist { key }),
        1 => (key, 1u8..6, 0u16..300).prop_map(|(first, count, size)| Op::SetMany { first, count, size }),
        2 => (0u16..500).prop_map(|ms| Op::Advance { ms }),
        1 => Just(Op::ExpireStep),
        2 => (0u8..64, 0u8..64, 0u8..3, any::<bool>(), any::<bool>()).prop_map(
            |(source, target, target_db, replace, keep_source)| Op::Transfer {
                source,
                target,
                target_db,
                replace,
                keep_source,
            }
        ),
        1 => (0u8..3, 0u8..3).prop_map(|(first, second)| Op::SwapDb { first, second }),
        2 => (0u8..64, any::<u8>(), any::<u8>())
            .prop_map(|(key, field, size)| Op::HashSet { key, field, size }),
        1 => (0u8..64, any::<u8>()).prop_map(|(key, field)| Op::HashDelete { key, field }),
        2 => (0u8..64, any::<u8>()).prop_map(|(key, member)| Op::SetAdd { key, member }),
        1 => (0u8..64, any::<u8>()).prop_map(|(key, member)| Op::SetRemove { key, member }),
        2 => (0u8..64, any::<bool>(), any::<u8>())
            .prop_map(|(key, head, size)| Op::ListPush { key, head, size }),
        1 => (0u8..64, any::<bool>(), any::<u8>())
            .prop_map(|(key, head, count)| Op::ListPop { key, head, count }),
        2 => (0u8..64, any::<u8>(), any::<i16>())
            .prop_map(|(key, member, score)| Op::ZsetAdd { key, member, score }),
        1 => (0u8..64, any::<u8>()).prop_map(|(key, member)| Op::ZsetRemove { key, member }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Ample memory, no eviction: the log-fed model and the store agree exactly.
    #[test]
    fn model_noeviction_ample(ops in proptest::collection::vec(op(), 1..300)) {
        run_model(EvictionPolicy::NoEviction, 1 << 20, &ops).map_err(TestCaseError::fail)?;
    }

    /// Tight memory under every policy: writes may fail (noeviction) or evict, but every
    /// read agrees with what the log says; memory and key limits always hold.
    #[test]
    fn model_under_memory_pressure(
        policy_index in 0usize..EvictionPolicy::ALL.len(),
        ops in proptest::collection::vec(op(), 1..300),
    ) {
        run_model(EvictionPolicy::ALL[policy_index], 4 * 1024, &ops).map_err(TestCaseError::fail)?;
    }
}

/// RENAME, COPY, MOVE and SWAPDB replayed once from their records (as recovery does, in
/// order and exactly once) rebuild the same items, expiries and database sizes.
#[test]
fn transfers_and_swaps_replay_to_the_same_state() {
    let mut store = store();
    let mut log = Log::default();
    store
        .set_with_ttl(0, b"a", b"1", 5_000, NOW, &mut log)
        .expect("set");
    store
        .set(0, b"b", b"2", SetOptions::default(), NOW, &mut log)
        .expect("set");
    store
        .set(3, b"c", b"3", SetOptions::default(), NOW, &mut log)
        .expect("set");
    store
        .transfer(0, b"a", 0, b"b", true, false, NOW, &mut log)
        .expect("rename");
    store
        .transfer(0, b"b", 3, b"copy", false, true, NOW, &mut log)
        .expect("copy");
    store
        .transfer(3, b"c", 1, b"c", false, false, NOW, &mut log)
        .expect("move");
    store.swap_db(0, 3, &mut log).expect("swap");
    store.swap_db(1, 0, &mut log).expect("swap");
    let mut replica = super::tests::store();
    for logged in &log.0 {
        let record = match logged {
            Logged::Set {
                db,
                key,
                value,
                expires_at,
            } => Record::Set {
                db: *db,
                key,
                value,
                expires_at: *expires_at,
                value_kind: ItemKind::String,
            },
            Logged::Del { db, key } => Record::Del { db: *db, key },
            Logged::ExpireAt {
                db,
                key,
                expires_at,
            } => Record::ExpireAt {
                db: *db,
                key,
                expires_at: *expires_at,
            },
            Logged::Clear { db } => Record::Clear { db: *db },
            Logged::SwapDb {
                db_first,
                db_second,
            } => Record::SwapDb {
                db_first: *db_first,
                db_second: *db_second,
            },
        };
        replica.apply(&record, NOW).expect("apply");
    }
    let items = |store: &Store<'_>| {
        let mut items = Vec::new();
        store.items(NOW, |db, key, value, expires_at, _| {
            items.push((db, key.to_vec(), value.to_vec(), expires_at));
        });
        items.sort();
        items
    };
    assert_eq!(items(&replica), items(&store));
    assert_eq!(
        items(&store),
        [
            (0, b"c".to_vec(), b"3".to_vec(), 0),
            (1, b"copy".to_vec(), b"1".to_vec(), NOW + 5_000),
            (3, b"b".to_vec(), b"1".to_vec(), NOW + 5_000),
        ]
    );
    for db in 0..DATABASE_COUNT {
        assert_eq!(replica.db_len(db), store.db_len(db), "db {db}");
    }
}
