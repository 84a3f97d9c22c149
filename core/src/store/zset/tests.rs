//! Sorted set tests: the encoding's reader on bad bytes, the ordered walk of a combination
//! past one chunk, and a model-based proptest of random ZADD/ZREM/ZPOP/ZREMRANGEBYSCORE/
//! ZUNIONSTORE/ZRANGESTORE/DEL/EXPIRE/SET sequences against std collections, whose log
//! (encoded and decoded, as recovery reads it) replays into a fresh store with the same
//! state.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "a test fails loudly; model indexes are small and checked non-negative"
)]

use super::combine::{self, Aggregate, Combine, Operation, RangeCopy, Recipe};
use super::*;
use crate::arena::Arena;
use crate::codec::record::{Body, LogRecord};
use crate::storage::item::ItemKind;
use crate::store::{Config, ExpireCondition, SetOptions};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::vec::Vec;

pub(in crate::store::zset) const NOW: Timestamp = 1_700_000_000_000;

/// Keeps every record encoded, as the log would hold it.
#[derive(Debug, Default)]
pub(in crate::store::zset) struct EncodedLog {
    pub(in crate::store::zset) bytes: Vec<u8>,
    pub(in crate::store::zset) lsn: u64,
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
    with_config(memory_size, false, body)
}

/// A store whose sorted sets of more than two members take the large form with `large`,
/// and stay compact (up to the item limit) without.
pub(in crate::store::zset) fn with_config<R>(
    memory_size: usize,
    large: bool,
    body: impl FnOnce(&mut Store<'_>) -> R,
) -> R {
    let mut config = Config::new(memory_size, 256);
    if large {
        config.zset_max_listpack_entries = 2;
    } else {
        config.zset_max_listpack_entries = u32::MAX;
        config.zset_max_listpack_value = u32::MAX;
    }
    let mut memory = std::vec![0u8; config.arena_size()];
    let mut arena = Arena::from_buffer(&mut memory);
    let mut store = Store::new(&mut arena, config).expect("config fits");
    arena.freeze().expect("freeze");
    body(&mut store)
}

/// A sorted set's entries, in order: `(member, score)`.
pub(in crate::store::zset) type Entries = Vec<(Vec<u8>, f64)>;

/// What a key holds in the model.
#[derive(Debug, Clone, PartialEq)]
pub(in crate::store::zset) enum Value {
    String(Vec<u8>),
    Zset(Entries),
}

/// The scores the proptest draws from: infinities, a negative zero, repeats.
const SCORES: [f64; 8] = [
    f64::NEG_INFINITY,
    -1.5,
    -0.0,
    0.0,
    1.0,
    2.5,
    1e300,
    f64::INFINITY,
];

#[derive(Debug, Clone)]
pub(in crate::store::zset) enum Op {
    Add(u8, Vec<(usize, u8)>, AddOptions),
    Rem(u8, Vec<u8>),
    Pop(u8, usize, bool),
    RemoveByScore(u8, usize, usize),
    UnionStore(u8, Vec<u8>, Aggregate),
    RangeStore(u8, u8, i64, i64),
    Del(u8),
    Expire(u8, u64),
    Set(u8, Vec<u8>),
    Advance(u64),
}

fn options() -> impl Strategy<Value = AddOptions> {
    // Only the combinations ZADD accepts (the command refuses the others first).
    (0u8..3, 0u8..3, any::<bool>()).prop_map(|(exist, compare, increment)| AddOptions {
        only_new: exist == 1,
        only_existing: exist == 2,
        greater: compare == 1 && exist != 1,
        less: compare == 2 && exist != 1,
        increment,
    })
}

fn op(members: u8) -> impl Strategy<Value = Op> {
    let key = 0u8..4;
    let member = 0u8..members;
    let score = 0usize..SCORES.len();
    let aggregate = prop_oneof![
        Just(Aggregate::Sum),
        Just(Aggregate::Min),
        Just(Aggregate::Max)
    ];
    prop_oneof![
        5 => (key.clone(), prop::collection::vec((score.clone(), member.clone()), 1..4), options())
            .prop_map(|(k, pairs, o)| {
                // INCR takes one pair.
                let pairs = if o.increment { pairs[..1].to_vec() } else { pairs };
                Op::Add(k, pairs, o)
            }),
        2 => (key.clone(), prop::collection::vec(member, 1..4)).prop_map(|(k, m)| Op::Rem(k, m)),
        2 => (key.clone(), 0usize..4, any::<bool>()).prop_map(|(k, c, max)| Op::Pop(k, c, max)),
        1 => (key.clone(), score.clone(), score).prop_map(|(k, a, b)| Op::RemoveByScore(k, a, b)),
        2 => (key.clone(), prop::collection::vec(key.clone(), 1..4), aggregate)
            .prop_map(|(k, sources, a)| Op::UnionStore(k, sources, a)),
        1 => (key.clone(), key.clone(), -3i64..3, -3i64..3)
            .prop_map(|(k, s, a, b)| Op::RangeStore(k, s, a, b)),
        1 => key.clone().prop_map(Op::Del),
        1 => (key.clone(), 1u64..30).prop_map(|(k, ms)| Op::Expire(k, ms)),
        1 => (key, prop::collection::vec(any::<u8>(), 0..4)).prop_map(|(k, v)| Op::Set(k, v)),
        1 => (1u64..20).prop_map(Op::Advance),
    ]
}

fn key_name(key: u8) -> [u8; 2] {
    [b'k', b'0' + key]
}

fn member_name(member: u8) -> [u8; 2] {
    [b'm', b'0' + member]
}

/// Sorts a model set as the encoding keeps it.
fn sorted(mut entries: Entries) -> Entries {
    entries.sort_by(|(a, x), (b, y)| order(*x, a, *y, b));
    entries
}

/// Checks a large sorted set's structure: every node's counts, order and separators, the
/// tree's height and size, and the index against the tree; returns its entries.
pub(in crate::store::zset) fn large_entries(
    store: &Store<'_>,
    key: &[u8],
    header: Header,
) -> Entries {
    fn walk(
        store: &Store<'_>,
        key: &[u8],
        node: u32,
        height: u32,
        bound: Option<(f64, Vec<u8>)>,
        out: &mut Entries,
    ) -> u64 {
        let bytes = store.part_bytes(0, key, Header::node_part(node));
        if height == 0 {
            assert!(is_valid(bytes), "leaf {node} valid: {bytes:?}");
            let before = out.len();
            for entry in ZsetView::new(bytes).entries() {
                if let Some((score, member)) = &bound {
                    assert!(order(entry.score, entry.member, *score, member).is_ge());
                }
                out.push((entry.member.to_vec(), entry.score));
            }
            return (out.len() - before) as u64;
        }
        assert!(large::inner_is_valid(bytes), "inner {node} valid");
        let mut total = 0;
        for (index, entry) in large::InnerEntries::new(bytes).enumerate() {
            let bound = if index == 0 {
                bound.clone()
            } else {
                Some((entry.score, entry.member.to_vec()))
            };
            let count = walk(store, key, entry.child, height - 1, bound, out);
            assert_eq!(
                count, entry.count,
                "count of child {} of {node}",
                entry.child
            );
            total += count;
        }
        total
    }
    let mut entries = Vec::new();
    let tree = header.tree;
    let total = walk(store, key, tree.root, tree.height, None, &mut entries);
    assert_eq!(total, header.len);
    for pair in entries.windows(2) {
        assert!(order(pair[0].1, &pair[0].0, pair[1].1, &pair[1].0).is_lt());
    }
    let zset = LargeZset::new(store, 0, key, header);
    let mut indexed: Entries = (0..header.part_count)
        .flat_map(|part| zset.index_entries(part).map(|(m, s)| (m.to_vec(), s)))
        .collect();
    indexed.sort_by(|(a, x), (b, y)| order(*x, a, *y, b));
    assert_eq!(indexed, entries, "the index holds the tree's entries");
    let walked: Entries = zset
        .entries()
        .map(|entry| (entry.member.to_vec(), entry.score))
        .collect();
    assert_eq!(walked, entries, "the in-order walk");
    entries
}

/// Every live item of a store, as the model holds it.
pub(in crate::store::zset) fn state(
    store: &Store<'_>,
    now: Timestamp,
) -> BTreeMap<Vec<u8>, (Value, Timestamp)> {
    let mut items = BTreeMap::new();
    store.items(now, |_, key, value, expires_at, kind| {
        let value = match kind {
            ItemKind::String => Value::String(value.to_vec()),
            ItemKind::Part => return,
            ItemKind::Compact if Header::read(value).is_some() => {
                let header = Header::read(value).unwrap();
                Value::Zset(large_entries(store, key, header))
            }
            ItemKind::Compact => {
                assert!(is_valid(value), "a stored sorted set is valid: {value:?}");
                Value::Zset(
                    ZsetView::new(value)
                        .entries()
                        .map(|entry| (entry.member.to_vec(), entry.score))
                        .collect(),
                )
            }
        };
        items.insert(key.to_vec(), (value, expires_at));
    });
    items
}

/// ZADD on the model: the pairs in order, as Redis applies them.
fn model_add(entries: &mut Entries, pairs: &[(f64, Vec<u8>)], o: AddOptions) -> AddResult {
    let mut result = AddResult::default();
    for (score, member) in pairs {
        match entries.iter_mut().find(|(m, _)| m == member) {
            Some(entry) => {
                if o.only_new {
                    result.score = None;
                    continue;
                }
                let new = if o.increment { entry.1 + score } else { *score };
                if (o.less && new >= entry.1) || (o.greater && new <= entry.1) {
                    result.score = None;
                    continue;
                }
                if new != entry.1 {
                    result.updated += 1;
                    entry.1 = new + 0.0;
                }
                result.score = Some(entry.1);
            }
            None => {
                if o.only_existing {
                    result.score = None;
                    continue;
                }
                entries.push((member.clone(), score + 0.0));
                result.added += 1;
                result.score = Some(score + 0.0);
            }
        }
    }
    result
}

/// Whether ZADD's pairs would make a NaN on the model (the store refuses the command).
fn model_makes_nan(entries: &Entries, pairs: &[(f64, Vec<u8>)], o: AddOptions) -> bool {
    o.increment
        && pairs.iter().any(|(score, member)| {
            !o.only_new
                && entries
                    .iter()
                    .any(|(m, current)| m == member && (current + score).is_nan())
        })
}

/// The model's union of `sources` (absent: empty) under `aggregate`.
fn model_union(sources: &[Option<Entries>], aggregate: Aggregate) -> Entries {
    let mut result: Entries = Vec::new();
    for source in sources.iter().flatten() {
        for (member, score) in source {
            match result.iter_mut().find(|(m, _)| m == member) {
                Some(entry) => {
                    entry.1 = match aggregate {
                        Aggregate::Sum => {
                            let sum = entry.1 + score;
                            if sum.is_nan() { 0.0 } else { sum }
                        }
                        Aggregate::Min => score.min(entry.1),
                        Aggregate::Max => score.max(entry.1),
                    };
                }
                None => result.push((member.clone(), *score)),
            }
        }
    }
    sorted(
        result
            .into_iter()
            .map(|(member, score)| (member, score + 0.0))
            .collect(),
    )
}

#[expect(clippy::too_many_lines, reason = "one arm per operation of the model")]
pub(in crate::store::zset) fn run(ops: &[Op], large: bool) {
    let mut log = EncodedLog::default();
    let (final_state, now) = with_config(256 * 1024, large, |store| {
        let mut model: BTreeMap<u8, (Value, Timestamp)> = BTreeMap::new();
        let mut now = NOW;
        for op in ops {
            model.retain(|_, (_, at)| *at == 0 || *at > now);
            let zset = |model: &BTreeMap<u8, (Value, Timestamp)>, key: u8| match model.get(&key) {
                Some((Value::Zset(entries), _)) => Some(Some(entries.clone())),
                Some((Value::String(_), _)) => None,
                None => Some(None),
            };
            let set_zset = |model: &mut BTreeMap<u8, (Value, Timestamp)>, key: u8, e: Entries| {
                if e.is_empty() {
                    model.remove(&key);
                } else {
                    let at = model.get(&key).map_or(0, |(_, at)| *at);
                    model.insert(key, (Value::Zset(sorted(e)), at));
                }
            };
            match op {
                Op::Add(key, pairs, options) => {
                    let pairs: Vec<(f64, Vec<u8>)> = pairs
                        .iter()
                        .map(|(score, member)| (SCORES[*score], member_name(*member).to_vec()))
                        .collect();
                    let result = store.zset_add(
                        0,
                        &key_name(*key),
                        pairs
                            .iter()
                            .map(|(score, member)| (*score, member.as_slice())),
                        *options,
                        now,
                        &mut log,
                    );
                    match zset(&model, *key) {
                        None => assert_eq!(result, Err(StoreError::WrongType)),
                        Some(current) => {
                            let mut entries = current.unwrap_or_default();
                            if model_makes_nan(&entries, &pairs, *options) {
                                assert_eq!(result, Err(StoreError::ScoreNotANumber));
                            } else {
                                let expected = model_add(&mut entries, &pairs, *options);
                                let result = result.expect("room");
                                assert_eq!(
                                    (result.added, result.updated),
                                    (expected.added, expected.updated)
                                );
                                if options.increment {
                                    assert_eq!(result.score, expected.score);
                                }
                                set_zset(&mut model, *key, entries);
                            }
                        }
                    }
                }
                Op::Rem(key, members) => {
                    let names: Vec<[u8; 2]> = members.iter().map(|m| member_name(*m)).collect();
                    let result = store.zset_remove(
                        0,
                        &key_name(*key),
                        names.iter().map(|name| &name[..]),
                        now,
                        &mut log,
                    );
                    match zset(&model, *key) {
                        None => assert_eq!(result, Err(StoreError::WrongType)),
                        Some(current) => {
                            let mut entries = current.unwrap_or_default();
                            let before = entries.len();
                            entries.retain(|(m, _)| !names.iter().any(|name| m[..] == name[..]));
                            assert_eq!(result, Ok(before - entries.len()));
                            set_zset(&mut model, *key, entries);
                        }
                    }
                }
                Op::Pop(key, count, max) => {
                    let mut popped = Vec::new();
                    let result = store.zset_remove_window(
                        0,
                        &key_name(*key),
                        |zset| {
                            let length = zset.len();
                            let count = (*count).min(length);
                            if *max {
                                length - count..length
                            } else {
                                0..count
                            }
                        },
                        *max,
                        now,
                        &mut log,
                        |member, score| popped.push((member.to_vec(), score)),
                    );
                    match zset(&model, *key) {
                        None => assert_eq!(result, Err(StoreError::WrongType)),
                        Some(current) => {
                            let mut entries = current.unwrap_or_default();
                            let count = (*count).min(entries.len());
                            let mut expected: Entries = if *max {
                                entries.split_off(entries.len() - count)
                            } else {
                                entries.drain(..count).collect()
                            };
                            if *max {
                                expected.reverse();
                            }
                            assert_eq!(result, Ok(count));
                            assert_eq!(popped, expected);
                            set_zset(&mut model, *key, entries);
                        }
                    }
                }
                Op::RemoveByScore(key, min, max) => {
                    let range = ScoreRange {
                        min: SCORES[*min],
                        min_exclusive: false,
                        max: SCORES[*max],
                        max_exclusive: true,
                    };
                    let result = store.zset_remove_window(
                        0,
                        &key_name(*key),
                        |zset| zset.score_window(&range),
                        false,
                        now,
                        &mut log,
                        |_, _| {},
                    );
                    match zset(&model, *key) {
                        None => assert_eq!(result, Err(StoreError::WrongType)),
                        Some(current) => {
                            let mut entries = current.unwrap_or_default();
                            let before = entries.len();
                            entries.retain(|(_, s)| !(range.above_min(*s) && range.below_max(*s)));
                            assert_eq!(result, Ok(before - entries.len()));
                            set_zset(&mut model, *key, entries);
                        }
                    }
                }
                Op::UnionStore(destination, sources, aggregate) => {
                    let names: Vec<[u8; 2]> = sources.iter().map(|k| key_name(*k)).collect();
                    let weight = |_: usize| 1.0;
                    let union = Combine {
                        operation: Operation::Union,
                        aggregate: *aggregate,
                        weight: &weight,
                    };
                    let result = combine::store(
                        store,
                        0,
                        &key_name(*destination),
                        &|index| &names[index][..],
                        names.len(),
                        &Recipe::Combine(&union),
                        now,
                        &mut log,
                    );
                    let inputs: Option<Vec<Option<Entries>>> =
                        sources.iter().map(|k| zset(&model, *k)).collect();
                    match inputs {
                        None => assert_eq!(result, Err(StoreError::WrongType)),
                        Some(inputs) => {
                            let union = model_union(&inputs, *aggregate);
                            assert_eq!(result, Ok(union.len()));
                            model.remove(destination);
                            if !union.is_empty() {
                                model.insert(*destination, (Value::Zset(union), 0));
                            }
                        }
                    }
                }
                Op::RangeStore(destination, source, start, stop) => {
                    let window = |zset: &ZsetRead<'_>| zset.rank_window(*start, *stop);
                    let source_name = key_name(*source);
                    let result = combine::store(
                        store,
                        0,
                        &key_name(*destination),
                        &|_| &source_name[..],
                        1,
                        &Recipe::Range(RangeCopy { window: &window }),
                        now,
                        &mut log,
                    );
                    match zset(&model, *source) {
                        None => assert_eq!(result, Err(StoreError::WrongType)),
                        Some(entries) => {
                            let entries = entries.unwrap_or_default();
                            let length = i64::try_from(entries.len()).unwrap();
                            let from = if *start < 0 { start + length } else { *start }.max(0);
                            let to =
                                (if *stop < 0 { stop + length } else { *stop }).min(length - 1);
                            let range: Entries = if from > to || from >= length {
                                Vec::new()
                            } else {
                                entries[from as usize..=to as usize].to_vec()
                            };
                            assert_eq!(result, Ok(range.len()));
                            model.remove(destination);
                            if !range.is_empty() {
                                model.insert(*destination, (Value::Zset(range), 0));
                            }
                        }
                    }
                }
                Op::Del(key) => {
                    let existed = model.contains_key(key);
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
                    assert_eq!(result, Ok(model.contains_key(key)));
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
            model.retain(|_, (_, at)| *at == 0 || *at > now);
            let expected: BTreeMap<Vec<u8>, (Value, Timestamp)> = model
                .iter()
                .map(|(key, entry)| (key_name(*key).to_vec(), entry.clone()))
                .collect();
            assert_eq!(state(store, now), expected, "after {op:?}");
        }
        (state(store, now), now)
    });
    // Replaying the decoded log into a fresh store gives the same state.
    with_config(256 * 1024, large, |replica| {
        let mut offset = 0;
        while offset < log.bytes.len() {
            let (record, size) = LogRecord::decode_bytes(&log.bytes[offset..]).expect("decodes");
            match record.body {
                Body::Standalone(record) | Body::Intent(record) => {
                    replica.apply(&record, now).expect("replays");
                }
                Body::Commit(_) => {}
            }
            offset += size as usize;
        }
        replica.parts_collect(now);
        assert_eq!(state(replica, now), final_state);
    });
}

/// 200 cases, or `PROPTEST_CASES` when set (the explicit config would otherwise hide it).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(200)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn sorted_sets_follow_the_model_and_replay(ops in prop::collection::vec(op(6), 1..60)) {
        run(&ops, false);
    }

    #[test]
    fn large_sorted_sets_follow_the_model_and_replay(
        ops in prop::collection::vec(op(40), 1..120)
    ) {
        run(&ops, true);
    }
}

#[test]
fn reader_is_total_on_bad_bytes() {
    let nan = f64::NAN.to_le_bytes();
    let mut with_nan = std::vec![b'z', 1, b'a'];
    with_nan.extend_from_slice(&nan);
    let mut unsorted = std::vec![b'z', 1, b'b'];
    unsorted.extend_from_slice(&1.0f64.to_le_bytes());
    unsorted.extend_from_slice(&[1, b'a']);
    unsorted.extend_from_slice(&1.0f64.to_le_bytes());
    let mut good = std::vec![b'z', 1, b'a'];
    good.extend_from_slice(&1.0f64.to_le_bytes());
    let mut trailing = good.clone();
    trailing.push(0);
    for bytes in [
        &b""[..],
        b"z",
        b"z\x05ab",
        b"z\x01a\x00\x00",
        b"z\xff\xff\xff\xff\xff\xff",
        &with_nan,
        &unsorted,
        &trailing,
        b"x\x01a\x00\x00\x00\x00\x00\x00\xf0\x3f",
    ] {
        assert!(!is_valid(bytes), "{bytes:?}");
        let view = ZsetView::new(bytes);
        let _ = (view.len(), view.score(b"a"), view.rank_window(0, -1));
        view.visit(0..5, true, |_| {});
    }
    assert!(is_valid(&good));
    assert!(crate::store::compact::is_valid(&good));
    assert_eq!(ZsetView::new(&trailing).len(), 1);
}

#[test]
fn an_invalid_compact_record_is_refused_and_changes_nothing() {
    with_store(64 * 1024, |store| {
        let record = Record::Set {
            db: 0,
            key: b"k",
            value: b"z\x05ab",
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
fn a_sorted_set_past_the_item_limit_is_refused_whole() {
    with_store(64 * 1024, |store| {
        let big = std::vec![b'm'; store.config().value_size_max as usize];
        let mut log = EncodedLog::default();
        let result = store.zset_add(
            0,
            b"k",
            core::iter::once((1.0, &big[..])),
            AddOptions::default(),
            NOW,
            &mut log,
        );
        assert_eq!(result, Err(StoreError::CollectionTooLarge));
        assert!(store.is_empty());
        assert!(log.bytes.is_empty());
    });
}

/// Adds members `0..count` (4-byte little-endian names) with score `score(index)`.
fn fill(store: &mut Store<'_>, key: &[u8], count: u32, score: impl Fn(u32) -> f64) {
    for index in 0..count {
        let member = index.to_le_bytes();
        store
            .zset_add(
                0,
                key,
                core::iter::once((score(index), &member[..])),
                AddOptions::default(),
                NOW,
                &mut (),
            )
            .expect("room");
    }
}

#[test]
fn ordered_walks_span_several_chunks_and_reverse_reads_cross_the_offset_table() {
    with_store(1 << 20, |store| {
        // 700 members: past the reverse walk's 512-entry chunk and the combination's 128.
        fill(store, b"a", 700, |index| f64::from((index * 7919) % 700));
        fill(store, b"b", 300, f64::from);
        let zset = store.zset_view(0, b"a", NOW).unwrap().unwrap();
        let mut reversed = Vec::new();
        zset.visit(0..700, true, |entry| reversed.push(entry.score));
        let mut forward: Vec<f64> = zset.entries().map(|entry| entry.score).collect();
        forward.reverse();
        assert_eq!(reversed, forward);
        let weight = |index: usize| if index == 0 { 1.0 } else { 2.0 };
        let union = Combine {
            operation: Operation::Union,
            aggregate: Aggregate::Sum,
            weight: &weight,
        };
        let names: [&[u8]; 2] = [b"a", b"b"];
        let mut seen: Vec<(Vec<u8>, f64)> = Vec::new();
        combine::read(store, 0, &|index| names[index], 2, NOW, &mut |sources| {
            union.visit_in_order(sources, 2, |member, score| {
                seen.push((member.to_vec(), score))
            });
        })
        .unwrap();
        assert_eq!(seen.len(), 700);
        assert_eq!(seen, sorted(seen.clone()));
        let stored = combine::store(
            store,
            0,
            b"c",
            &|index| names[index],
            2,
            &Recipe::Combine(&union),
            NOW,
            &mut (),
        );
        assert_eq!(stored, Ok(700));
        let c = store.zset_view(0, b"c", NOW).unwrap().unwrap();
        let stored: Vec<(Vec<u8>, f64)> = c
            .entries()
            .map(|entry| (entry.member.to_vec(), entry.score))
            .collect();
        assert_eq!(stored, seen);
    });
}

#[test]
fn a_zadd_of_many_pairs_spans_several_chunks() {
    with_store(1 << 20, |store| {
        fill(store, b"z", 300, |index| f64::from((index * 37) % 300));
        let mut model: Entries = (0..300u32)
            .map(|index| (index.to_le_bytes().to_vec(), f64::from((index * 37) % 300)))
            .collect();
        // 500 pairs: 400 members (half of them new), some named twice (the last wins).
        let pairs: Vec<(f64, Vec<u8>)> = (0..500u32)
            .map(|step| {
                let index = (step * 7919) % 400 + 100;
                (
                    f64::from((step * 13) % 97) - 40.0,
                    index.to_le_bytes().to_vec(),
                )
            })
            .collect();
        let result = store
            .zset_add(
                0,
                b"z",
                pairs
                    .iter()
                    .map(|(score, member)| (*score, member.as_slice())),
                AddOptions::default(),
                NOW,
                &mut (),
            )
            .unwrap();
        let expected = model_add(&mut model, &pairs, AddOptions::default());
        assert_eq!(
            (result.added, result.updated),
            (expected.added, expected.updated)
        );
        let stored: Entries = store
            .zset_view(0, b"z", NOW)
            .unwrap()
            .unwrap()
            .entries()
            .map(|entry| (entry.member.to_vec(), entry.score))
            .collect();
        assert_eq!(stored, sorted(model));
    });
}

#[test]
fn random_members_come_from_the_set() {
    with_store(1 << 20, |store| {
        // 600 members: past the offset table, then 100: within it.
        for count in [600u32, 100] {
            let key = count.to_le_bytes();
            fill(store, &key, count, |index| f64::from(index) * 0.5);
            for distinct in [false, true] {
                let mut seen = Vec::new();
                store
                    .zset_random_members(0, &key, 250, distinct, NOW, |member, score| {
                        let index = u32::from_le_bytes(member.try_into().expect("4 bytes"));
                        assert_eq!(score, f64::from(index) * 0.5);
                        seen.push(index);
                    })
                    .expect("a sorted set");
                let expected = if distinct {
                    250.min(count as usize)
                } else {
                    250
                };
                assert_eq!(seen.len(), expected);
                if distinct {
                    let mut unique = seen.clone();
                    unique.dedup();
                    assert_eq!(unique.len(), seen.len(), "distinct members, in order");
                }
            }
        }
    });
}

#[test]
fn eviction_and_cleaning_keep_sorted_sets_whole() {
    let mut config = Config::new(64 * 1024, 256);
    config.policy = crate::storage::policy::EvictionPolicy::AllKeysLru;
    let mut memory = std::vec![0u8; config.arena_size()];
    let mut arena = Arena::from_buffer(&mut memory);
    let mut store = Store::new(&mut arena, config).expect("config fits");
    arena.freeze().expect("freeze");
    // (Members of 200 bytes would make these sets large: this test is of the compact form.)
    let (first, second) = ([b'x'; 60], [b'y'; 60]);
    for round in 0..2000u32 {
        let key = round.to_le_bytes();
        let pairs = [(2.0, &first[..]), (1.0, &second[..])];
        store
            .zset_add(
                0,
                &key,
                pairs.into_iter(),
                AddOptions::default(),
                NOW,
                &mut (),
            )
            .expect("eviction makes room");
    }
    assert!(store.stats().evicted > 0);
    store.items(NOW, |_, _, value, _, kind| {
        assert_eq!(kind, ItemKind::Compact);
        assert!(is_valid(value));
    });
}

#[test]
fn a_store_form_refuses_when_making_room_evicts_its_source() {
    // Under allkeys-random, making room for a copy of `s` sooner or later evicts `s`
    // itself: that copy is refused with OOM (the result would differ from what was
    // measured), its destination is not written, and every item left is whole.
    let mut config = Config::new(64 * 1024, 256);
    config.policy = crate::storage::policy::EvictionPolicy::AllKeysRandom;
    let mut memory = std::vec![0u8; config.arena_size()];
    let mut arena = Arena::from_buffer(&mut memory);
    let mut store = Store::new(&mut arena, config).expect("config fits");
    arena.freeze().expect("freeze");
    let member = std::vec![b'm'; 64];
    let mut refused = None;
    for round in 0..400u32 {
        if store.zset_view(0, b"s", NOW).unwrap().is_none() {
            store
                .zset_add(
                    0,
                    b"s",
                    core::iter::once((1.0, &member[..])),
                    AddOptions::default(),
                    NOW,
                    &mut (),
                )
                .expect("room");
        }
        let destination = round.to_le_bytes();
        let window = |zset: &ZsetRead<'_>| 0..zset.len();
        let result = combine::store(
            &mut store,
            0,
            &destination,
            &|_| &b"s"[..],
            1,
            &Recipe::Range(RangeCopy { window: &window }),
            NOW,
            &mut (),
        );
        match result {
            Ok(copied) => assert_eq!(copied, 1),
            Err(error) => {
                assert_eq!(error, StoreError::OutOfMemory);
                assert!(store.zset_view(0, &destination, NOW).unwrap().is_none());
                assert!(
                    store.zset_view(0, b"s", NOW).unwrap().is_none(),
                    "s was evicted"
                );
                refused = Some(round);
                break;
            }
        }
    }
    assert!(refused.is_some(), "random eviction never took the source");
    store.items(NOW, |_, _, value, _, _| assert!(is_valid(value)));
}
