//! Set tests: the encoding's reader on bad bytes, and a model-based proptest of random
//! SADD/SREM/SPOP/SRANDMEMBER/SMOVE/set algebra (and STORE forms)/DEL/EXPIRE/SET sequences
//! against std collections, in a keyspace of one shard and of four (so the algebra reads
//! sources in the target's shard and in others), whose log (encoded and decoded, as
//! recovery reads it) replays into a fresh keyspace with the same state; the same with
//! thresholds so low that most sets take the large form; transfers and eviction of large
//! sets.

use super::*;
use crate::arena::Arena;
use crate::codec::record::{Body, LogRecord};
use crate::store::large::{Header, part_is_valid};
use crate::store::{Config, ExpireCondition, SetOptions, Transfer};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::string::ToString;
use std::vec;
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

/// A keyspace of several stores over leaked memory.
struct Keyspace(Vec<Store<'static>>);

impl Keyspace {
    fn new(count: usize) -> Self {
        Self::with_config(count, Config::new(256 * 1024, 256))
    }

    fn with_config(count: usize, config: Config) -> Self {
        Self(
            (0..count)
                .map(|_| {
                    let memory = Vec::leak(vec![0u8; config.arena_size()]);
                    let mut arena = Arena::from_buffer(memory);
                    let store = Store::new(&mut arena, config).expect("config fits");
                    arena.freeze().expect("freeze");
                    store
                })
                .collect(),
        )
    }
}

impl Shards<'static> for Keyspace {
    fn count(&self) -> usize {
        self.0.len()
    }

    fn store(&mut self, shard: usize) -> &mut Store<'static> {
        &mut self.0[shard]
    }

    fn with_pair(
        &mut self,
        first: usize,
        second: usize,
        operation: &mut dyn FnMut(&mut Store<'_>, &mut Store<'_>),
    ) {
        let (low, high) = (first.min(second), first.max(second));
        let (head, tail) = self.0.split_at_mut(high);
        if first < second {
            operation(&mut head[low], &mut tail[0]);
        } else {
            operation(&mut tail[0], &mut head[low]);
        }
    }

    fn with_all(&mut self, operation: &mut dyn FnMut(&mut [Option<&mut Store<'_>>])) {
        let mut stores: Vec<Option<&mut Store<'_>>> = self.0.iter_mut().map(Some).collect();
        operation(&mut stores);
    }
}

/// What a key holds in the model.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    String(Vec<u8>),
    Set(BTreeSet<Vec<u8>>),
}

const MEMBERS: [&[u8]; 10] = [b"1", b"2", b"3", b"-5", b"10", b"a", b"b", b"c", b"01", b""];

/// Member `index`: one of [`MEMBERS`], then integers (odd) and strings (even, some
/// longer than the low thresholds' value limit), so large runs have many.
fn member_name(index: u8) -> Vec<u8> {
    match index {
        0..10 => MEMBERS[usize::from(index)].to_vec(),
        _ if index % 2 == 1 => index.to_string().into_bytes(),
        _ if index.is_multiple_of(6) => std::format!("member-{index}").into_bytes(),
        _ => std::format!("m{index}").into_bytes(),
    }
}

#[derive(Debug, Clone)]
enum Op {
    Add(u8, Vec<u8>),
    Remove(u8, Vec<u8>),
    Pop(u8, u8),
    Random(u8, i8),
    Move(u8, u8, u8),
    Algebra(u8, Option<u8>, Vec<u8>),
    Del(u8),
    Expire(u8, u64),
    Set(u8, Vec<u8>),
    Advance(u64),
}

fn op(member_count: u8) -> impl Strategy<Value = Op> {
    let key = 0u8..6;
    let member = 0u8..member_count;
    let members = prop::collection::vec(member.clone(), 1..8);
    prop_oneof![
        6 => (key.clone(), members.clone()).prop_map(|(k, m)| Op::Add(k, m)),
        2 => (key.clone(), members).prop_map(|(k, m)| Op::Remove(k, m)),
        1 => (key.clone(), 0u8..4).prop_map(|(k, c)| Op::Pop(k, c)),
        1 => (key.clone(), -4i8..4).prop_map(|(k, c)| Op::Random(k, c)),
        2 => (key.clone(), key.clone(), member).prop_map(|(s, t, m)| Op::Move(s, t, m)),
        3 => (0u8..3, prop::option::of(key.clone()), prop::collection::vec(key.clone(), 1..4))
            .prop_map(|(o, t, k)| Op::Algebra(o, t, k)),
        1 => key.clone().prop_map(Op::Del),
        1 => (key.clone(), 1u64..30).prop_map(|(k, ms)| Op::Expire(k, ms)),
        1 => (key, prop::collection::vec(any::<u8>(), 0..4)).prop_map(|(k, v)| Op::Set(k, v)),
        1 => (1u64..20).prop_map(Op::Advance),
    ]
}

fn key_name(key: u8) -> [u8; 2] {
    [b'k', b'0' + key]
}

type Model = BTreeMap<u8, (Value, Timestamp)>;

fn live(model: &Model, key: u8) -> Option<&Value> {
    model.get(&key).map(|(value, _)| value)
}

/// The model's set at `key`: `Err` if it holds a string.
fn model_set(model: &Model, key: u8) -> Result<BTreeSet<Vec<u8>>, StoreError> {
    match live(model, key) {
        Some(Value::String(_)) => Err(StoreError::WrongType),
        Some(Value::Set(set)) => Ok(set.clone()),
        None => Ok(BTreeSet::new()),
    }
}

/// Puts `set` at `key` in the model (removing the key if empty), keeping its expiry.
fn model_put(model: &mut Model, key: u8, set: BTreeSet<Vec<u8>>, keep_expiry: bool) {
    if set.is_empty() {
        model.remove(&key);
        return;
    }
    let at = if keep_expiry {
        model.get(&key).map_or(0, |(_, at)| *at)
    } else {
        0
    };
    model.insert(key, (Value::Set(set), at));
}

/// Every live item of a keyspace, as the model holds it; checks each set's encoding: a
/// compact set is within the thresholds (an intset sorted), a large one is past them, and
/// parts are read through their owners, every part having one.
fn state(keyspace: &Keyspace, now: Timestamp) -> BTreeMap<Vec<u8>, (Value, Timestamp)> {
    let mut items = BTreeMap::new();
    for store in &keyspace.0 {
        let config = *store.config();
        let mut part_count = 0u64;
        store.items(now, |db, key, value, expires_at, kind| {
            let value = match kind {
                ItemKind::String => Value::String(value.to_vec()),
                ItemKind::Part => {
                    assert!(part_is_valid(value), "a stored part is valid");
                    part_count += 1;
                    return;
                }
                ItemKind::Compact if Header::read(value).is_some() => {
                    let found = store.find(db, key).expect("an item is in the table");
                    let set = store.set_read(&found);
                    assert!(matches!(set, SetRead::Large(_)));
                    let members: Vec<Vec<u8>> = set.members().map(<[u8]>::to_vec).collect();
                    let unique: BTreeSet<Vec<u8>> = members.iter().cloned().collect();
                    assert_eq!(unique.len(), members.len(), "members are distinct");
                    assert_eq!(set.len(), members.len(), "the header's count");
                    Value::Set(unique)
                }
                ItemKind::Compact => {
                    assert!(is_valid(value), "a stored set is valid");
                    let members: Vec<Vec<u8>> =
                        SetView::new(value).members().map(<[u8]>::to_vec).collect();
                    let set: BTreeSet<Vec<u8>> = members.iter().cloned().collect();
                    assert_eq!(set.len(), members.len(), "members are distinct");
                    if all_integers(value) {
                        let numbers: Vec<i64> = members
                            .iter()
                            .map(|member| parse_integer_strict(member).expect("integer"))
                            .collect();
                        assert!(numbers.is_sorted(), "an intset is sorted: {numbers:?}");
                    }
                    let integers = members
                        .iter()
                        .all(|member| parse_integer_strict(member).is_some());
                    let longest = members.iter().map(Vec::len).max().unwrap_or(0);
                    let within = (integers
                        && members.len() <= config.set_max_intset_entries as usize)
                        || (members.len() <= config.set_max_listpack_entries as usize
                            && longest <= config.set_max_listpack_value as usize);
                    assert!(
                        within,
                        "a compact set is within the thresholds: {members:?}"
                    );
                    Value::Set(set)
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
        assert_eq!(part_count, owned, "every part belongs to a large set");
    }
    items
}

fn algebra(
    model: &Model,
    operation: SetOperation,
    keys: &[u8],
) -> Result<BTreeSet<Vec<u8>>, StoreError> {
    let sets: Vec<BTreeSet<Vec<u8>>> = keys
        .iter()
        .map(|key| model_set(model, *key))
        .collect::<Result<_, _>>()?;
    let mut result = sets[0].clone();
    for set in &sets[1..] {
        result = match operation {
            SetOperation::Intersection => result.intersection(set).cloned().collect(),
            SetOperation::Union => result.union(set).cloned().collect(),
            SetOperation::Difference => result.difference(set).cloned().collect(),
        };
    }
    Ok(result)
}

#[expect(clippy::too_many_lines, reason = "one arm per operation")]
fn run(ops: &[Op], shard_count: usize, config: Config) {
    let mut log = EncodedLog::default();
    let mut keyspace = Keyspace::with_config(shard_count, config);
    let mut model: Model = BTreeMap::new();
    let mut now = NOW;
    for op in ops {
        model.retain(|_, (_, at)| *at == 0 || *at > now);
        match op {
            Op::Add(key, members) => {
                let name = key_name(*key);
                let names: Vec<Vec<u8>> = members.iter().map(|m| member_name(*m)).collect();
                let list = names.iter().map(Vec::as_slice);
                let result =
                    keyspace
                        .store_for(&name)
                        .set_add(0, &name, list.clone(), now, &mut log);
                match model_set(&model, *key) {
                    Err(error) => assert_eq!(result, Err(error)),
                    Ok(mut set) => {
                        let before = set.len();
                        set.extend(list.map(<[u8]>::to_vec));
                        assert_eq!(result, Ok(set.len() - before));
                        model_put(&mut model, *key, set, true);
                    }
                }
            }
            Op::Remove(key, members) => {
                let name = key_name(*key);
                let names: Vec<Vec<u8>> = members.iter().map(|m| member_name(*m)).collect();
                let list = names.iter().map(Vec::as_slice);
                let result =
                    keyspace
                        .store_for(&name)
                        .set_remove(0, &name, list.clone(), now, &mut log);
                match model_set(&model, *key) {
                    Err(error) => assert_eq!(result, Err(error)),
                    Ok(mut set) => {
                        let before = set.len();
                        for member in list {
                            set.remove(member);
                        }
                        assert_eq!(result, Ok(before - set.len()));
                        model_put(&mut model, *key, set, true);
                    }
                }
            }
            Op::Pop(key, count) => {
                let name = key_name(*key);
                let mut popped = Vec::new();
                let mut reported = None;
                let result = keyspace.store_for(&name).set_pop(
                    0,
                    &name,
                    usize::from(*count),
                    now,
                    &mut log,
                    |event| match event {
                        Popped::Count(count) => reported = Some(count),
                        Popped::Member(member) => popped.push(member.to_vec()),
                    },
                );
                match model_set(&model, *key) {
                    Err(error) => assert_eq!(result, Err(error)),
                    Ok(set) if set.is_empty() => assert_eq!(result, Ok(None)),
                    Ok(mut set) => {
                        let expected = usize::from(*count).min(set.len());
                        assert_eq!(result, Ok(Some(expected)));
                        assert_eq!(reported, Some(expected));
                        assert_eq!(popped.len(), expected);
                        for member in &popped {
                            assert!(set.remove(member), "popped {member:?} from the set");
                        }
                        model_put(&mut model, *key, set, true);
                    }
                }
            }
            Op::Random(key, count) => {
                let name = key_name(*key);
                let mut picked = Vec::new();
                let distinct = *count >= 0;
                let wanted = usize::from(count.unsigned_abs());
                let result = keyspace.store_for(&name).set_random_members(
                    0,
                    &name,
                    wanted,
                    distinct,
                    now,
                    |member| picked.push(member.to_vec()),
                );
                match model_set(&model, *key) {
                    Err(error) => assert_eq!(result, Err(error)),
                    Ok(set) => {
                        assert_eq!(result, Ok(()));
                        let expected = match () {
                            () if set.is_empty() => 0,
                            () if distinct => wanted.min(set.len()),
                            () => wanted,
                        };
                        assert_eq!(picked.len(), expected);
                        assert!(picked.iter().all(|member| set.contains(member)));
                        if distinct {
                            let unique: BTreeSet<_> = picked.iter().collect();
                            assert_eq!(unique.len(), picked.len());
                        }
                    }
                }
            }
            Op::Move(source, target, member) => {
                let member = &member_name(*member)[..];
                let (source_name, target_name) = (key_name(*source), key_name(*target));
                let result = set_move(
                    &mut keyspace,
                    0,
                    &source_name,
                    &target_name,
                    member,
                    now,
                    &mut log,
                );
                match (live(&model, *source).cloned(), model_set(&model, *target)) {
                    (None, _) => assert_eq!(result, Ok(false)),
                    (Some(Value::String(_)), _) | (_, Err(_)) => {
                        assert_eq!(result, Err(StoreError::WrongType));
                    }
                    (Some(Value::Set(mut from)), Ok(mut to)) => {
                        let has = from.contains(member);
                        assert_eq!(result, Ok(has));
                        if has && source != target {
                            from.remove(member);
                            to.insert(member.to_vec());
                            model_put(&mut model, *source, from, true);
                            model_put(&mut model, *target, to, true);
                        }
                    }
                }
            }
            Op::Algebra(operation, target, keys) => {
                let operation = [
                    SetOperation::Intersection,
                    SetOperation::Union,
                    SetOperation::Difference,
                ][usize::from(*operation)];
                let names: Vec<[u8; 2]> = keys.iter().map(|key| key_name(*key)).collect();
                let list = names.iter().map(|name| &name[..]);
                let expected = algebra(&model, operation, keys);
                match target {
                    None => {
                        let mut listed = Vec::new();
                        let result =
                            set_operation(&mut keyspace, 0, list, operation, now, &mut |each| {
                                each(&mut |member| listed.push(member.to_vec()));
                            });
                        match expected {
                            Err(error) => assert_eq!(result, Err(error)),
                            Ok(expected) => {
                                assert_eq!(result, Ok(()));
                                let got: BTreeSet<Vec<u8>> = listed.iter().cloned().collect();
                                assert_eq!(got.len(), listed.len(), "distinct");
                                assert_eq!(got, expected);
                            }
                        }
                    }
                    Some(target) => {
                        let target_name = key_name(*target);
                        let result = set_operation_store(
                            &mut keyspace,
                            0,
                            &target_name,
                            list,
                            operation,
                            now,
                            &mut log,
                        );
                        match expected {
                            Err(error) => assert_eq!(result, Err(error)),
                            Ok(expected) => {
                                assert_eq!(result, Ok(expected.len()));
                                model.remove(target);
                                model_put(&mut model, *target, expected, false);
                            }
                        }
                    }
                }
            }
            Op::Del(key) => {
                let name = key_name(*key);
                let existed = live(&model, *key).is_some();
                assert_eq!(
                    keyspace.store_for(&name).delete(0, &name, now, &mut log),
                    existed
                );
                model.remove(key);
            }
            Op::Expire(key, ms) => {
                let name = key_name(*key);
                let at = now + ms;
                let result = keyspace.store_for(&name).expire_at(
                    0,
                    &name,
                    at,
                    ExpireCondition::Always,
                    now,
                    &mut log,
                );
                assert_eq!(result, Ok(live(&model, *key).is_some()));
                if let Some(entry) = model.get_mut(key) {
                    entry.1 = at;
                }
            }
            Op::Set(key, value) => {
                let name = key_name(*key);
                keyspace
                    .store_for(&name)
                    .set(0, &name, value, SetOptions::default(), now, &mut log)
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
        assert_eq!(state(&keyspace, now), expected, "after {op:?}");
    }
    // Replaying the decoded log into a fresh keyspace gives the same state.
    let final_state = state(&keyspace, now);
    let mut replica = Keyspace::with_config(shard_count, config);
    let mut offset = 0;
    while offset < log.bytes.len() {
        let (record, size) = LogRecord::decode_bytes(&log.bytes[offset..]).expect("decodes");
        let Body::Standalone(record) = record.body else {
            panic!("set writes are standalone records");
        };
        let key = record.route_key().expect("a record of one key");
        replica.store_for(key).apply(&record, now).expect("replays");
        offset += size as usize;
    }
    // As recovery does once the log is replayed: parts no record brought back go.
    for store in &mut replica.0 {
        store.parts_collect(now);
    }
    assert_eq!(state(&replica, now), final_state);
}

proptest! {
    // PROPTEST_CASES, when set, overrides the 100 cases of an ordinary run.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(100)
    ))]

    #[test]
    fn sets_follow_the_model_and_replay_in_one_shard(ops in prop::collection::vec(op(10), 1..60)) {
        run(&ops, 1, Config::new(256 * 1024, 256));
    }

    #[test]
    fn sets_follow_the_model_and_replay_across_shards(ops in prop::collection::vec(op(10), 1..60)) {
        run(&ops, 4, Config::new(256 * 1024, 256));
    }

    /// The same with thresholds so low that most sets take the large form, and enough
    /// members that large ones split.
    #[test]
    fn large_sets_follow_the_model_and_replay(
        ops in prop::collection::vec(op(80), 1..120),
        shard_count in prop::sample::select(vec![1usize, 4]),
    ) {
        run(&ops, shard_count, low_thresholds());
    }
}

/// Thresholds so low that most sets take the large form.
fn low_thresholds() -> Config {
    Config {
        set_max_intset_entries: 4,
        set_max_listpack_entries: 3,
        set_max_listpack_value: 4,
        ..Config::new(256 * 1024, 256)
    }
}

#[test]
fn the_reader_stops_at_malformed_bytes() {
    assert!(is_valid(b"s\x01a\x02bc"));
    assert!(!is_valid(b"s"), "no member");
    assert!(!is_valid(b"h\x01a\x01b"), "a hash");
    assert!(!is_valid(b"s\x05ab"), "a member cut short");
    assert!(!is_valid(b"s\x01a\x80"), "a varint cut short");
    assert!(!is_valid(b"s\xff\xff\xff\xff\xff\x01"), "a varint too long");
    assert_eq!(SetView::new(b"s\x01a\x05ab").len(), 1);
    assert!(!SetView::new(b"s\x01a\x05ab").contains(b"ab"));
    assert!(!all_integers(b"s\x01-\x011"), "a lone minus");
    assert!(!all_integers(b"s\x011\x022\x00"), "a NUL byte");
    assert!(all_integers(b"s\x02-1\x0210"));
    assert!(!all_integers(b"s\x0201"), "not canonical");
}

/// The compact bytes of the set at `key`, which must be compact.
fn compact_bytes<'s>(store: &'s Store<'_>, key: &[u8]) -> &'s [u8] {
    match store.set_value(0, key, NOW) {
        Some(SetRead::Compact(view)) => view.bytes(),
        other => panic!("a compact set: {other:?}"),
    }
}

#[test]
fn more_than_512_integers_take_the_large_form() {
    let mut keyspace = Keyspace::new(1);
    let store = keyspace.store(0);
    let texts: Vec<Vec<u8>> = (0..600)
        .rev()
        .map(|n: i32| n.to_string().into_bytes())
        .collect();
    let first = texts[..512].iter().map(Vec::as_slice);
    assert_eq!(store.set_add(0, b"s", first, NOW, &mut ()), Ok(512));
    let value = compact_bytes(store, b"s");
    assert!(all_integers(value));
    let members: Vec<&[u8]> = SetView::new(value).members().collect();
    assert_eq!(members[0], b"88", "sorted: 88 is the smallest of 599..=88");
    let rest = texts[512..].iter().map(Vec::as_slice);
    assert_eq!(store.set_add(0, b"s", rest, NOW, &mut ()), Ok(88));
    let set = store.set_value(0, b"s", NOW).expect("a set");
    let SetRead::Large(large) = set else {
        panic!("large past 512 integers: {set:?}");
    };
    assert_eq!(set.len(), 600);
    assert!(large.part_count() > 1);
    assert!(texts.iter().all(|text| set.contains(text)));
    assert_eq!(set.members().count(), 600);
}

#[test]
fn a_higher_intset_limit_keeps_insertion_order_past_512() {
    let config = Config {
        set_max_intset_entries: 1000,
        ..Config::new(256 * 1024, 256)
    };
    let mut keyspace = Keyspace::with_config(1, config);
    let store = keyspace.store(0);
    let texts: Vec<Vec<u8>> = (0..600)
        .rev()
        .map(|n: i32| n.to_string().into_bytes())
        .collect();
    let first = texts[..512].iter().map(Vec::as_slice);
    assert_eq!(store.set_add(0, b"s", first, NOW, &mut ()), Ok(512));
    let rest = texts[512..].iter().map(Vec::as_slice);
    assert_eq!(store.set_add(0, b"s", rest, NOW, &mut ()), Ok(88));
    let value = compact_bytes(store, b"s");
    assert!(!all_integers(value));
    assert_eq!(SetView::new(value).len(), 600);
    let members: Vec<&[u8]> = SetView::new(value).members().collect();
    assert_eq!(
        (members[0], members[511], members[512], members[599]),
        (&b"88"[..], &b"599"[..], &b"87"[..], &b"0"[..]),
        "the intset's order, then insertion order once past 512"
    );
}

#[test]
fn a_member_too_large_for_any_part_is_refused_and_changes_nothing() {
    let mut keyspace = Keyspace::new(1);
    let store = keyspace.store(0);
    let limit = store.config().value_size_max as usize;
    let huge = vec![b'x'; limit];
    let mut log = EncodedLog::default();
    assert_eq!(
        store.set_add(0, b"s", core::iter::once(&huge[..]), NOW, &mut log),
        Err(StoreError::CollectionTooLarge)
    );
    assert!(store.is_empty());
    assert_eq!(store.table.len(), 0, "no part is left");
    let members: Vec<Vec<u8>> = (0..200u32).map(|n| n.to_le_bytes().to_vec()).collect();
    let list = members.iter().map(Vec::as_slice);
    assert_eq!(store.set_add(0, b"s", list, NOW, &mut log), Ok(200));
    assert!(matches!(
        store.set_value(0, b"s", NOW),
        Some(SetRead::Large(_))
    ));
    let parts = store.table.len();
    assert_eq!(
        store.set_add(0, b"s", core::iter::once(&huge[..]), NOW, &mut log),
        Err(StoreError::CollectionTooLarge)
    );
    assert_eq!(store.table.len(), parts);
    assert_eq!(
        store.set_value(0, b"s", NOW).map(|set| set.len()),
        Some(200)
    );
}

/// RENAME, COPY and MOVE carry a large set's parts to the new name; SET over it and DEL
/// take them away, so the table ends as empty as it began.
#[test]
fn transfers_carry_the_parts_and_removals_take_them() {
    let config = Config {
        set_max_listpack_entries: 2,
        set_max_intset_entries: 2,
        ..Config::new(256 * 1024, 256)
    };
    let mut keyspace = Keyspace::with_config(1, config);
    let store = keyspace.store(0);
    let mut log = EncodedLog::default();
    let members: Vec<[u8; 4]> = (0..100u32).map(u32::to_le_bytes).collect();
    let list = members.iter().map(|member| &member[..]);
    assert_eq!(store.set_add(0, b"a", list, NOW, &mut log), Ok(100));
    let whole = |store: &mut Store<'_>, db: u8, key: &[u8]| {
        let set = store
            .set_view(db, key, NOW)
            .expect("a set")
            .expect("present");
        assert!(matches!(set, SetRead::Large(_)));
        assert_eq!(set.len(), 100);
        assert_eq!(set.members().count(), 100);
        assert!(members.iter().all(|member| set.contains(member)));
    };
    whole(store, 0, b"a");
    let parts = store.table.len() - 1;
    assert!(parts > 1, "{parts} parts");
    let transfer = |store: &mut Store<'_>, from: (u8, &[u8]), to: (u8, &[u8]), keep| {
        store.transfer(from.0, from.1, to.0, to.1, true, keep, NOW, &mut ())
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
    // A large set replaced by another: the old one's parts go first.
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
}

#[test]
fn eviction_takes_a_set_whole() {
    let mut config = Config::new(64 * 1024, 256);
    config.policy = crate::storage::policy::EvictionPolicy::AllKeysLru;
    let mut keyspace = Keyspace::with_config(1, config);
    let member = [b'x'; 200];
    for key in 0..2000u32 {
        let name = key.to_le_bytes();
        keyspace
            .store(0)
            .set_add(0, &name, core::iter::once(&member[..]), NOW, &mut ())
            .expect("eviction makes room");
    }
    assert!(keyspace.store(0).stats().evicted > 0);
    // Every set left is whole: a large one (the member is past the value threshold) with
    // all its parts, and no part is left of an evicted one.
    let left = state(&keyspace, NOW);
    assert!(!left.is_empty());
    for (value, _) in left.values() {
        assert_eq!(*value, Value::Set(BTreeSet::from([member.to_vec()])));
    }
}

/// SPOP with a count on a large set pops distinct members from several parts, rewrites
/// only the parts it takes from, and a count of all of it removes the key and its parts.
#[test]
fn pops_from_a_large_set_take_distinct_members() {
    let mut keyspace = Keyspace::with_config(1, low_thresholds());
    let store = keyspace.store(0);
    let members: Vec<Vec<u8>> = (0..300u32)
        .map(|n| std::format!("m{n}").into_bytes())
        .collect();
    let list = members.iter().map(Vec::as_slice);
    assert_eq!(store.set_add(0, b"s", list, NOW, &mut ()), Ok(300));
    let mut popped = Vec::new();
    let mut counted = None;
    let result = store.set_pop(0, b"s", 120, NOW, &mut (), |event| match event {
        Popped::Count(count) => counted = Some(count),
        Popped::Member(member) => popped.push(member.to_vec()),
    });
    assert_eq!(result, Ok(Some(120)));
    assert_eq!(counted, Some(120));
    let unique: BTreeSet<Vec<u8>> = popped.iter().cloned().collect();
    assert_eq!(unique.len(), 120);
    let set = store.set_value(0, b"s", NOW).expect("a set");
    assert_eq!(set.len(), 180);
    assert!(popped.iter().all(|member| !set.contains(member)));
    assert_eq!(set.members().count(), 180);
    let mut rest = 0;
    assert_eq!(
        store.set_pop(0, b"s", 500, NOW, &mut (), |event| {
            if let Popped::Member(_) = event {
                rest += 1;
            }
        }),
        Ok(Some(180))
    );
    assert_eq!(rest, 180);
    assert_eq!(store.table.len(), 0, "the key and its parts are gone");
}

#[test]
fn a_set_past_the_item_limit_is_refused_and_unchanged() {
    let mut keyspace = Keyspace::new(1);
    let store = keyspace.store(0);
    let limit = store.config().value_size_max as usize;
    let big = vec![b'x'; limit - 8];
    assert_eq!(
        store.set_add(0, b"s", core::iter::once(&big[..]), NOW, &mut ()),
        Ok(1)
    );
    let other = [b'y'; 64];
    assert_eq!(
        store.set_add(0, b"s", core::iter::once(&other[..]), NOW, &mut ()),
        Err(StoreError::CollectionTooLarge)
    );
    assert_eq!(
        store
            .set_view(0, b"s", NOW)
            .expect("a set")
            .map(|set| set.len()),
        Some(1)
    );
    assert_eq!(
        set_operation_store(
            &mut keyspace,
            0,
            b"d",
            [&b"s"[..], b"s"].into_iter(),
            SetOperation::Union,
            NOW,
            &mut ()
        ),
        Ok(1),
    );
}

#[test]
fn a_store_form_past_the_limits_is_refused_and_changes_nothing() {
    let mut keyspace = Keyspace::new(1);
    let store = keyspace.store(0);
    let limit = store.config().value_size_max as usize;
    let (left, right) = (vec![b'l'; limit * 3 / 5], vec![b'r'; limit * 3 / 5]);
    assert_eq!(
        store.set_add(0, b"a", core::iter::once(&left[..]), NOW, &mut ()),
        Ok(1)
    );
    assert_eq!(
        store.set_add(0, b"b", core::iter::once(&right[..]), NOW, &mut ()),
        Ok(1)
    );
    assert_eq!(
        store.set_add(0, b"d", core::iter::once(&b"old"[..]), NOW, &mut ()),
        Ok(1)
    );
    let sources = [&b"a"[..], b"b"];
    let mut log = EncodedLog::default();
    assert_eq!(
        set_operation_store(
            &mut keyspace,
            0,
            b"d",
            sources.into_iter(),
            SetOperation::Union,
            NOW,
            &mut log
        ),
        Err(StoreError::CollectionTooLarge)
    );
    let long_key = vec![b'k'; keyspace.store(0).config().key_size_max as usize + 1];
    assert_eq!(
        set_operation_store(
            &mut keyspace,
            0,
            &long_key,
            sources.into_iter(),
            SetOperation::Intersection,
            NOW,
            &mut log
        ),
        Ok(0),
        "an empty result writes no key, so its size does not matter"
    );
    assert_eq!(
        set_operation_store(
            &mut keyspace,
            0,
            &long_key,
            sources.into_iter(),
            SetOperation::Difference,
            NOW,
            &mut log
        ),
        Err(StoreError::KeyTooLarge)
    );
    assert!(log.bytes.is_empty(), "no record for a refusal");
    let store = keyspace.store(0);
    let old = store
        .set_view(0, b"d", NOW)
        .expect("a set")
        .map(|set| set.contains(b"old"));
    assert_eq!(old, Some(true));
}
