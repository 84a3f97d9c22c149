//! Hash tests: the encoding's reader on bad bytes, and a model-based proptest of random
//! HSET/HDEL/HINCRBY/HGET/DEL/EXPIRE/SET sequences against std collections, whose log
//! (encoded and decoded, as recovery reads it) replays into a fresh store with the same
//! state.

use super::*;
use crate::arena::Arena;
use crate::codec::record::{Body, LogRecord};
use crate::storage::item::ItemKind;
use crate::store::{Config, ExpireCondition, SetOptions, Transfer};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::string::ToString;
use std::vec::Vec;

const NOW: Timestamp = 1_700_000_000_000;

/// Keeps every record encoded, as the log would hold it.
#[derive(Debug, Default)]
struct EncodedLog {
    bytes: Vec<u8>,
    lsn: u64,
}

impl LogSink for EncodedLog {
    fn record(&mut self, record: Record<'_>) {
        self.lsn += 1;
        let start = self.bytes.len();
        self.bytes.resize(start + record.encoded_size() as usize, 0);
        record.encode(self.lsn, &mut self.bytes[start..]);
    }
}

fn with_store<R>(memory_size: usize, body: impl FnOnce(&mut Store<'_>) -> R) -> R {
    with_config(Config::new(memory_size, 256), body)
}

fn with_config<R>(config: Config, body: impl FnOnce(&mut Store<'_>) -> R) -> R {
    let mut memory = std::vec![0u8; config.arena_size()];
    let mut arena = Arena::from_buffer(&mut memory);
    let mut store = Store::new(&mut arena, config).expect("config fits");
    arena.freeze().expect("freeze");
    body(&mut store)
}

/// A hash's fields and values, in insertion order.
type Fields = Vec<(Vec<u8>, Vec<u8>)>;

/// What a key holds in the model: a string, or a hash's entries in insertion order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    String(Vec<u8>),
    Hash(Fields),
}

#[derive(Debug, Clone)]
enum Op {
    HSet(u8, Vec<(u8, Vec<u8>)>),
    HSetNx(u8, u8, Vec<u8>),
    HDel(u8, Vec<u8>),
    HIncrBy(u8, u8, i64),
    HGet(u8, u8),
    Del(u8),
    Expire(u8, u64),
    Set(u8, Vec<u8>),
    Advance(u64),
}

fn op(field_count: u8) -> impl Strategy<Value = Op> {
    let key = 0u8..4;
    let field = 0u8..field_count;
    let value = prop::collection::vec(any::<u8>(), 0..6);
    prop_oneof![
        4 => (key.clone(), prop::collection::vec((field.clone(), value.clone()), 1..4))
            .prop_map(|(k, pairs)| Op::HSet(k, pairs)),
        1 => (key.clone(), field.clone(), value.clone()).prop_map(|(k, f, v)| Op::HSetNx(k, f, v)),
        2 => (key.clone(), prop::collection::vec(field.clone(), 1..4)).prop_map(|(k, f)| Op::HDel(k, f)),
        2 => (key.clone(), field.clone(), -5i64..5).prop_map(|(k, f, d)| Op::HIncrBy(k, f, d)),
        2 => (key.clone(), field).prop_map(|(k, f)| Op::HGet(k, f)),
        1 => key.clone().prop_map(Op::Del),
        1 => (key.clone(), 1u64..30).prop_map(|(k, ms)| Op::Expire(k, ms)),
        1 => (key, value).prop_map(|(k, v)| Op::Set(k, v)),
        1 => (1u64..20).prop_map(Op::Advance),
    ]
}

fn key_name(key: u8) -> [u8; 2] {
    [b'k', b'0' + key]
}

fn field_name(field: u8) -> [u8; 2] {
    [b'f', b'0' + field]
}

/// The model's live keys at `now`.
fn live(model: &BTreeMap<u8, (Value, Timestamp)>, key: u8, now: Timestamp) -> Option<&Value> {
    model
        .get(&key)
        .filter(|(_, at)| *at == 0 || *at > now)
        .map(|(value, _)| value)
}

/// Every live key of a store, as the model holds it (a hash's entries sorted: a large
/// hash keeps them part by part, not in insertion order). Parts are read through their
/// owners, and every part must have one.
fn state(store: &Store<'_>, now: Timestamp) -> BTreeMap<Vec<u8>, (Value, Timestamp)> {
    let mut items = BTreeMap::new();
    let mut part_count = 0u64;
    store.items(now, |db, key, value, expires_at, kind| {
        let value = match kind {
            ItemKind::String => Value::String(value.to_vec()),
            ItemKind::Part => {
                assert!(
                    crate::store::large::part_is_valid(value),
                    "a stored part is valid"
                );
                part_count += 1;
                return;
            }
            ItemKind::Compact => {
                assert!(
                    crate::store::compact::is_valid(value),
                    "a stored hash is valid"
                );
                let found = store.find(db, key).expect("an item is in the table");
                let mut entries: Fields = store
                    .hash_read(&found)
                    .entries()
                    .map(|entry| (entry.field.to_vec(), entry.value.to_vec()))
                    .collect();
                assert_eq!(entries.len(), store.hash_read(&found).len(), "the count");
                entries.sort();
                Value::Hash(entries)
            }
        };
        items.insert(key.to_vec(), (value, expires_at));
    });
    let owned: u64 = items
        .keys()
        .filter_map(|key| store.find(0, key))
        .filter_map(|found| store.header_of(&found))
        .map(|header| u64::from(header.part_count))
        .sum();
    assert_eq!(part_count, owned, "every part belongs to a large hash");
    items
}

/// The model's entries as [`state`] reads them.
fn sorted(mut entries: Fields) -> Fields {
    entries.sort();
    entries
}

fn run(ops: &[Op], config: Config) {
    let mut log = EncodedLog::default();
    let (final_state, now) = with_config(config, |store| {
        let mut model: BTreeMap<u8, (Value, Timestamp)> = BTreeMap::new();
        let mut now = NOW;
        for op in ops {
            // Keys past their expiry are gone for the model as for the store.
            model.retain(|_, (_, at)| *at == 0 || *at > now);
            match op {
                Op::HSet(key, pairs) => {
                    let names: Vec<([u8; 2], &[u8])> = pairs
                        .iter()
                        .map(|(field, value)| (field_name(*field), value.as_slice()))
                        .collect();
                    let result = store.hash_set(
                        0,
                        &key_name(*key),
                        names.iter().map(|(field, value)| (&field[..], *value)),
                        false,
                        now,
                        &mut log,
                    );
                    match live(&model, *key, now).cloned() {
                        Some(Value::String(_)) => assert_eq!(result, Err(StoreError::WrongType)),
                        current => {
                            let mut entries = match current {
                                Some(Value::Hash(entries)) => entries,
                                _ => Vec::new(),
                            };
                            let mut added = 0;
                            for (field, value) in &names {
                                match entries.iter_mut().find(|(f, _)| f[..] == field[..]) {
                                    Some(entry) => entry.1 = value.to_vec(),
                                    None => {
                                        entries.push((field.to_vec(), value.to_vec()));
                                        added += 1;
                                    }
                                }
                            }
                            assert_eq!(result, Ok(added));
                            let at = model.get(key).map_or(0, |(_, at)| *at);
                            model.insert(*key, (Value::Hash(entries), at));
                        }
                    }
                }
                Op::HSetNx(key, field, value) => {
                    let name = field_name(*field);
                    let result = store.hash_set(
                        0,
                        &key_name(*key),
                        core::iter::once((&name[..], value.as_slice())),
                        true,
                        now,
                        &mut log,
                    );
                    match live(&model, *key, now).cloned() {
                        Some(Value::String(_)) => assert_eq!(result, Err(StoreError::WrongType)),
                        current => {
                            let mut entries = match current {
                                Some(Value::Hash(entries)) => entries,
                                _ => Vec::new(),
                            };
                            if entries.iter().any(|(f, _)| f[..] == name[..]) {
                                assert_eq!(result, Ok(0));
                            } else {
                                assert_eq!(result, Ok(1));
                                entries.push((name.to_vec(), value.clone()));
                                let at = model.get(key).map_or(0, |(_, at)| *at);
                                model.insert(*key, (Value::Hash(entries), at));
                            }
                        }
                    }
                }
                Op::HDel(key, fields) => {
                    let names: Vec<[u8; 2]> = fields.iter().map(|f| field_name(*f)).collect();
                    let result = store.hash_delete(
                        0,
                        &key_name(*key),
                        names.iter().map(|name| &name[..]),
                        now,
                        &mut log,
                    );
                    match live(&model, *key, now).cloned() {
                        Some(Value::String(_)) => assert_eq!(result, Err(StoreError::WrongType)),
                        None => assert_eq!(result, Ok(0)),
                        Some(Value::Hash(mut entries)) => {
                            let before = entries.len();
                            entries.retain(|(f, _)| !names.iter().any(|name| f[..] == name[..]));
                            assert_eq!(result, Ok(before - entries.len()));
                            if entries.is_empty() {
                                model.remove(key);
                            } else if let Some(entry) = model.get_mut(key) {
                                entry.0 = Value::Hash(entries);
                            }
                        }
                    }
                }
                Op::HIncrBy(key, field, delta) => {
                    let name = field_name(*field);
                    let result =
                        store.hash_incr_by(0, &key_name(*key), &name, *delta, now, &mut log);
                    match live(&model, *key, now).cloned() {
                        Some(Value::String(_)) => assert_eq!(result, Err(StoreError::WrongType)),
                        current => {
                            let mut entries = match current {
                                Some(Value::Hash(entries)) => entries,
                                _ => Vec::new(),
                            };
                            let position = entries.iter().position(|(f, _)| f[..] == name[..]);
                            let old = position.map(|index| entries[index].1.clone());
                            let parsed = match &old {
                                Some(text) => parse_integer_strict(text),
                                None => Some(0),
                            };
                            match parsed {
                                None => assert_eq!(result, Err(StoreError::HashValueNotInteger)),
                                Some(number) => {
                                    let sum = number + delta;
                                    assert_eq!(result, Ok(sum));
                                    let text = sum.to_string().into_bytes();
                                    match position {
                                        Some(index) => entries[index].1 = text,
                                        None => entries.push((name.to_vec(), text)),
                                    }
                                    let at = model.get(key).map_or(0, |(_, at)| *at);
                                    model.insert(*key, (Value::Hash(entries), at));
                                }
                            }
                        }
                    }
                }
                Op::HGet(key, field) => {
                    let name = field_name(*field);
                    let expected = live(&model, *key, now).cloned();
                    let got = store
                        .hash_view(0, &key_name(*key), now)
                        .map(|hash| hash.and_then(|hash| hash.get(&name)).map(<[u8]>::to_vec));
                    match expected {
                        Some(Value::String(_)) => assert_eq!(got, Err(StoreError::WrongType)),
                        Some(Value::Hash(entries)) => {
                            let value = entries.iter().find(|(f, _)| f[..] == name[..]);
                            assert_eq!(got, Ok(value.map(|(_, v)| v.clone())));
                        }
                        None => assert_eq!(got, Ok(None)),
                    }
                }
                Op::Del(key) => {
                    let existed = live(&model, *key, now).is_some();
                    assert_eq!(store.delete(0, &key_name(*key), now, &mut log), existed);
                    model.remove(key);
                }
                Op::Expire(key, ms) => {
                    let at = now + ms;
                    let result = store.expire_at(
                        0,
                        &key_name(*key),
                        at,
                        ExpireCondition::Always,
                        now,
                        &mut log,
                    );
                    let existed = live(&model, *key, now).is_some();
                    assert_eq!(result, Ok(existed));
                    if let Some(entry) = model.get_mut(key) {
                        entry.1 = at;
                    }
                }
                Op::Set(key, value) => {
                    let options = SetOptions::default();
                    store
                        .set(0, &key_name(*key), value, options, now, &mut log)
                        .expect("room");
                    model.insert(*key, (Value::String(value.clone()), 0));
                }
                Op::Advance(ms) => now += ms,
            }
            // The store holds what the model holds.
            model.retain(|_, (_, at)| *at == 0 || *at > now);
            let expected: BTreeMap<Vec<u8>, (Value, Timestamp)> = model
                .iter()
                .map(|(key, (value, at))| {
                    let value = match value {
                        Value::Hash(entries) => Value::Hash(sorted(entries.clone())),
                        Value::String(bytes) => Value::String(bytes.clone()),
                    };
                    (key_name(*key).to_vec(), (value, *at))
                })
                .collect();
            assert_eq!(state(store, now), expected, "after {op:?}");
        }
        (state(store, now), now)
    });
    // Replaying the decoded log into a fresh store gives the same state.
    with_config(config, |replica| {
        let mut offset = 0;
        while offset < log.bytes.len() {
            let (record, size) = LogRecord::decode_bytes(&log.bytes[offset..]).expect("decodes");
            let Body::Standalone(record) = record.body else {
                panic!("single-key writes are standalone records");
            };
            replica.apply(&record, now).expect("replays");
            offset += size as usize;
        }
        // As recovery does once the log is replayed: parts no record brought back go.
        replica.parts_collect(now);
        assert_eq!(state(replica, now), final_state);
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn hashes_follow_the_model_and_replay(ops in prop::collection::vec(op(6), 1..60)) {
        run(&ops, Config::new(256 * 1024, 256));
    }

    /// The same with thresholds so low that most hashes take the large form, and enough
    /// fields that large ones split.
    #[test]
    fn large_hashes_follow_the_model_and_replay(ops in prop::collection::vec(op(60), 1..120)) {
        let config = Config {
            hash_max_listpack_entries: 3,
            hash_max_listpack_value: 4,
            ..Config::new(256 * 1024, 256)
        };
        run(&ops, config);
    }

    /// Conversions of hashes of dozens of fields, into several parts at once.
    #[test]
    fn conversions_into_many_parts_follow_the_model(ops in prop::collection::vec(op(80), 1..150)) {
        let config = Config {
            hash_max_listpack_entries: 40,
            ..Config::new(256 * 1024, 256)
        };
        run(&ops, config);
    }
}

#[test]
fn reader_is_total_on_bad_bytes() {
    for bytes in [
        &b""[..],
        b"h",
        b"h\x05ab",
        b"h\x01a",
        b"h\x01a\x01",
        b"h\xff\xff\xff\xff\xff\xff",
        b"x\x01a\x01b",
        b"h\x01a\x01bz",
    ] {
        assert!(!is_valid(bytes), "{bytes:?}");
        let view = HashView::new(bytes);
        let _ = (view.len(), view.get(b"a"), view.nth(3));
    }
    assert!(is_valid(b"h\x01a\x01b"));
    assert_eq!(HashView::new(b"h\x01a\x01b\x00\x00").len(), 2);
}

#[test]
fn an_invalid_compact_record_is_refused_and_changes_nothing() {
    with_store(64 * 1024, |store| {
        let record = Record::Set {
            db: 0,
            key: b"k",
            value: b"h\x05ab",
            expires_at: 0,
            value_kind: ItemKind::Compact,
        };
        assert_eq!(
            store.apply(&record, NOW),
            Err(StoreError::CollectionInvalid)
        );
        assert!(store.is_empty());
    });
}

#[test]
fn a_hash_past_the_item_limit_is_refused_whole() {
    with_store(64 * 1024, |store| {
        let big = std::vec![b'v'; store.config().value_size_max as usize];
        let mut log = EncodedLog::default();
        assert_eq!(
            store.hash_set(
                0,
                b"k",
                core::iter::once((&b"f"[..], &big[..])),
                false,
                NOW,
                &mut log
            ),
            Err(StoreError::CollectionTooLarge)
        );
        assert!(store.is_empty());
        assert!(log.bytes.is_empty());
    });
}

#[test]
fn eviction_takes_a_hash_whole() {
    let mut config = Config::new(64 * 1024, 256);
    config.policy = crate::storage::policy::EvictionPolicy::AllKeysLru;
    let mut memory = std::vec![0u8; config.arena_size()];
    let mut arena = Arena::from_buffer(&mut memory);
    let mut store = Store::new(&mut arena, config).expect("config fits");
    arena.freeze().expect("freeze");
    let value = [b'x'; 200];
    let value_bytes = value;
    for key in 0..2000u32 {
        let name = key.to_le_bytes();
        store
            .hash_set(
                0,
                &name,
                core::iter::once((&b"f"[..], &value[..])),
                false,
                NOW,
                &mut (),
            )
            .expect("eviction makes room");
    }
    assert!(store.stats().evicted > 0);
    // Every hash left is whole: a large one (the value is past the threshold) with all
    // its parts, and no part is left of an evicted one.
    let left = state(&store, NOW);
    assert!(!left.is_empty());
    for (value, _) in left.values() {
        assert_eq!(
            *value,
            Value::Hash(std::vec![(b"f".to_vec(), value_bytes.to_vec())])
        );
    }
}

#[test]
fn cleaning_moves_hashes_whole() {
    with_store(64 * 1024, |store| {
        let mut model: BTreeMap<u8, Fields> = BTreeMap::new();
        for round in 0..3000u32 {
            let key = (round % 4) as u8;
            let field = field_name((round % 6) as u8);
            let value = round.to_le_bytes();
            store
                .hash_set(
                    0,
                    &key_name(key),
                    core::iter::once((&field[..], &value[..])),
                    false,
                    NOW,
                    &mut (),
                )
                .expect("cleaning makes room");
            let entries = model.entry(key).or_default();
            match entries.iter_mut().find(|(f, _)| f[..] == field[..]) {
                Some(entry) => entry.1 = value.to_vec(),
                None => entries.push((field.to_vec(), value.to_vec())),
            }
        }
        assert!(store.stats().segments_cleaned > 0, "{:?}", store.stats());
        let expected: BTreeMap<Vec<u8>, (Value, Timestamp)> = model
            .into_iter()
            .map(|(key, entries)| (key_name(key).to_vec(), (Value::Hash(sorted(entries)), 0)))
            .collect();
        assert_eq!(state(store, NOW), expected);
    });
}

#[test]
fn random_fields_come_from_the_hash() {
    with_store(256 * 1024, |store| {
        // 600 fields: past the offset table, then 100 fields: within it.
        for field_count in [600u32, 100] {
            let key = field_count.to_le_bytes();
            for index in 0..field_count {
                let field = index.to_le_bytes();
                let value = (index * 7).to_le_bytes();
                store
                    .hash_set(
                        0,
                        &key,
                        core::iter::once((&field[..], &value[..])),
                        false,
                        NOW,
                        &mut (),
                    )
                    .expect("room");
            }
            for distinct in [false, true] {
                let mut seen = Vec::new();
                store
                    .hash_random_fields(0, &key, 250, distinct, NOW, |field, value| {
                        let index = u32::from_le_bytes(field.try_into().expect("4 bytes"));
                        assert_eq!(value, (index * 7).to_le_bytes());
                        seen.push(index);
                    })
                    .expect("a hash");
                let expected = if distinct {
                    250.min(field_count as usize)
                } else {
                    250
                };
                assert_eq!(seen.len(), expected);
                if distinct {
                    let mut unique = seen.clone();
                    unique.dedup();
                    assert_eq!(unique.len(), seen.len(), "distinct fields, in hash order");
                }
            }
        }
    });
}

/// RENAME, COPY and MOVE carry a large hash's parts to the new name; SET over it and DEL
/// take them away, so the table ends as empty as it began.
#[test]
fn transfers_carry_the_parts_and_removals_take_them() {
    let config = Config {
        hash_max_listpack_entries: 2,
        ..Config::new(256 * 1024, 256)
    };
    with_config(config, |store| {
        let mut log = EncodedLog::default();
        let fields: Vec<[u8; 4]> = (0..100u32).map(u32::to_le_bytes).collect();
        let pairs = fields.iter().map(|field| (&field[..], &b"v"[..]));
        assert_eq!(
            store.hash_set(0, b"a", pairs, false, NOW, &mut log),
            Ok(100)
        );
        let whole = |store: &mut Store<'_>, db: u8, key: &[u8]| {
            let hash = store
                .hash_view(db, key, NOW)
                .expect("a hash")
                .expect("present");
            assert!(matches!(hash, HashRead::Large(_)));
            assert_eq!(hash.len(), 100);
            assert_eq!(hash.entries().count(), 100);
            assert!(
                fields
                    .iter()
                    .all(|field| hash.get(field) == Some(&b"v"[..]))
            );
        };
        whole(store, 0, b"a");
        let parts = store.table.len() - 1;
        assert!(parts > 1, "{parts} parts");
        let transfer = |store: &mut Store<'_>, from: (u8, &[u8]), to: (u8, &[u8]), keep| {
            let mut log = ();
            store.transfer(from.0, from.1, to.0, to.1, true, keep, NOW, &mut log)
        };
        assert_eq!(
            transfer(store, (0, b"a"), (0, b"b"), false),
            Ok(Transfer::Done)
        );
        whole(store, 0, b"b");
        assert_eq!(store.table.len(), parts + 1);
        assert_eq!(
            transfer(store, (0, b"b"), (0, b"c"), true),
            Ok(Transfer::Done)
        );
        whole(store, 0, b"b");
        whole(store, 0, b"c");
        assert_eq!(
            transfer(store, (0, b"c"), (3, b"c"), false),
            Ok(Transfer::Done)
        );
        whole(store, 3, b"c");
        // A large hash replaced by another: the old one's parts go first.
        assert_eq!(
            transfer(store, (0, b"b"), (3, b"c"), true),
            Ok(Transfer::Done)
        );
        whole(store, 3, b"c");
        assert_eq!(store.table.len(), 2 * (parts + 1));
        store
            .set(0, b"b", b"x", SetOptions::default(), NOW, &mut ())
            .expect("room");
        assert_eq!(store.table.len(), parts + 2);
        assert!(store.delete(3, b"c", NOW, &mut ()));
        assert_eq!(store.table.len(), 1);
        assert_eq!(store.len(), 1);
    });
}

/// HSET of a thousand fields at a time into a large hash under `noeviction` fills most of
/// memory (some of which the store keeps free for cleaning) before it is refused (each write needs room for the parts it rewrites, about a
/// part per field, not a multiple of that), and the refusal changes nothing.
#[test]
fn large_writes_fill_memory_before_they_are_refused() {
    let memory_size = 8 << 20;
    with_config(Config::new(memory_size, 200_000), |store| {
        let value = b"value-of-thirty-two-bytes-xxxxxx";
        let mut total = 0usize;
        for command in 0..400u32 {
            let fields: Vec<Vec<u8>> = (0..1000u32)
                .map(|i| std::format!("mem:{:012}", command * 1000 + i).into_bytes())
                .collect();
            let pairs = fields.iter().map(|field| (&field[..], &value[..]));
            let mut log = EncodedLog::default();
            match store.hash_set(0, b"big", pairs, false, NOW, &mut log) {
                Ok(added) => total += added,
                Err(error) => {
                    assert_eq!(error, StoreError::OutOfMemory);
                    assert!(log.bytes.is_empty(), "a refused write logs nothing");
                    break;
                }
            }
        }
        let live = store.stats().memory_live_size;
        assert!(
            live * 20 >= memory_size as u64 * 11,
            "refused at {live} live bytes of {memory_size}"
        );
        let hash = store
            .hash_view(0, b"big", NOW)
            .expect("a hash")
            .expect("present");
        assert_eq!(hash.len(), total);
    });
}
