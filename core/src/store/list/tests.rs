//! List tests: the encoding's reader on bad bytes, index arithmetic, and a model-based
//! proptest of random LPUSH/RPUSH/LPOP/RPOP/LSET/LINSERT/LREM/LTRIM/LMOVE/DEL/EXPIRE/SET
//! sequences against a `VecDeque` model, whose log (encoded and decoded, as recovery reads
//! it) replays into a fresh store with the same state.

use super::*;
use crate::arena::Arena;
use crate::codec::record::{Body, LogRecord};
use crate::storage::item::ItemKind;
use crate::store::{Config, ExpireCondition, SetOptions, Transfer};
use proptest::prelude::*;
use std::collections::{BTreeMap, VecDeque};
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

/// What a key holds in the model.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    String(Vec<u8>),
    List(VecDeque<Vec<u8>>),
}

type Model = BTreeMap<u8, (Value, Timestamp)>;

#[derive(Debug, Clone)]
enum Op {
    Push(u8, End, Vec<u8>, bool),
    Pop(u8, End, usize),
    Set(u8, i64, u8),
    Insert(u8, bool, u8, u8),
    Rem(u8, i64, u8),
    Trim(u8, i64, i64),
    Move(u8, u8, End, End),
    Del(u8),
    Expire(u8, u64),
    SetString(u8),
    Advance(u64),
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![Just(End::Head), Just(End::Tail)]
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0u8..4;
    let element = 0u8..4;
    prop_oneof![
        6 => (key.clone(), end(), prop::collection::vec(element.clone(), 1..4), any::<bool>())
            .prop_map(|(k, e, v, x)| { let only = x && v.len() == 1; Op::Push(k, e, v, only) }),
        3 => (key.clone(), end(), 0usize..4).prop_map(|(k, e, c)| Op::Pop(k, e, c)),
        1 => (key.clone(), -4i64..4, element.clone()).prop_map(|(k, i, v)| Op::Set(k, i, v)),
        1 => (key.clone(), any::<bool>(), element.clone(), element.clone())
            .prop_map(|(k, b, p, v)| Op::Insert(k, b, p, v)),
        1 => (key.clone(), -3i64..3, element.clone()).prop_map(|(k, c, v)| Op::Rem(k, c, v)),
        1 => (key.clone(), -5i64..5, -5i64..5).prop_map(|(k, a, b)| Op::Trim(k, a, b)),
        3 => (key.clone(), key.clone(), end(), end()).prop_map(|(a, b, f, t)| Op::Move(a, b, f, t)),
        1 => key.clone().prop_map(Op::Del),
        1 => (key.clone(), 1u64..30).prop_map(|(k, ms)| Op::Expire(k, ms)),
        1 => key.prop_map(Op::SetString),
        1 => (1u64..20).prop_map(Op::Advance),
    ]
}

fn key_name(key: u8) -> [u8; 2] {
    [b'k', b'0' + key]
}

fn element_name(element: u8) -> Vec<u8> {
    // The empty element is an element too.
    match element {
        0 => Vec::new(),
        other => std::vec![b'a' + other; usize::from(other)],
    }
}

fn live(model: &Model, key: u8) -> Option<Value> {
    model.get(&key).map(|(value, _)| value.clone())
}

/// Every live item of a store, as the model holds it. A large list is read through its
/// header, and its chain is checked: links both ways, counts, ends, node limits; every
/// part must be a node of a live list's chain.
fn state(store: &Store<'_>, now: Timestamp) -> BTreeMap<Vec<u8>, (Value, Timestamp)> {
    let mut items = BTreeMap::new();
    let mut part_count = 0u64;
    store.items(now, |db, key, value, expires_at, kind| {
        let value = match kind {
            ItemKind::String => Value::String(value.to_vec()),
            ItemKind::Part => {
                assert!(node_is_valid(value), "a stored node is valid: {value:?}");
                part_count += 1;
                return;
            }
            ItemKind::Compact => {
                assert!(
                    crate::store::compact::is_valid(value),
                    "a stored list is valid: {value:?}"
                );
                let found = store.find(db, key).expect("an item is in the table");
                let list = store.list_read(&found);
                if let ListRead::Large(large) = list {
                    check_chain(&large);
                }
                let elements: VecDeque<Vec<u8>> = list.iter().map(<[u8]>::to_vec).collect();
                assert_eq!(elements.len(), list.len(), "the count");
                for (index, element) in elements.iter().enumerate() {
                    assert_eq!(list.nth(index), Some(&element[..]), "nth {index}");
                }
                Value::List(elements)
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
    assert_eq!(
        part_count, owned,
        "every node belongs to a large list's chain"
    );
    items
}

/// Checks a large list's chain: each node's prev is the one before it, the counts add up
/// to the length, the ends are the header's, and no node passes the limit unless it
/// holds one element.
fn check_chain(list: &LargeList<'_>) {
    let header = list.header();
    let (mut number, mut prev) = (Some(header.chain.head), NODE_NONE);
    let (mut nodes, mut elements) = (0u32, 0usize);
    while let Some(current) = number {
        let node = list.node(current);
        assert!(
            node_is_valid(node),
            "node {current} is valid: {header:?} {node:?}"
        );
        assert_eq!(
            node_prev(node).unwrap_or(NODE_NONE),
            prev,
            "prev of {current}"
        );
        elements += node_count(node);
        nodes += 1;
        assert!(nodes <= header.part_count, "the chain has no loop");
        prev = current;
        number = node_next(node);
    }
    assert_eq!(prev, header.chain.tail, "the tail");
    assert_eq!(nodes, header.part_count, "the node count");
    assert_eq!(elements, list.len(), "the element count");
}

/// The model's list at `key` for a list command: `Err(WrongType)` for a string.
fn model_list(model: &Model, key: u8) -> Result<Option<VecDeque<Vec<u8>>>, StoreError> {
    match live(model, key) {
        Some(Value::String(_)) => Err(StoreError::WrongType),
        Some(Value::List(list)) => Ok(Some(list)),
        None => Ok(None),
    }
}

/// Stores `list` at `key` in the model (removing the key if it is empty), keeping expiry.
fn model_put(model: &mut Model, key: u8, list: VecDeque<Vec<u8>>) {
    if list.is_empty() {
        model.remove(&key);
        return;
    }
    let at = model.get(&key).map_or(0, |(_, at)| *at);
    model.insert(key, (Value::List(list), at));
}

fn apply_model(model: &mut Model, op: &Op) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut out = Vec::new();
    match op {
        Op::Push(key, end, elements, only_if_exists) => {
            let current = model_list(model, *key)?;
            if *only_if_exists && current.is_none() {
                return Ok(std::vec![b"0".to_vec()]);
            }
            let mut list = current.unwrap_or_default();
            for element in elements {
                match end {
                    End::Head => list.push_front(element_name(*element)),
                    End::Tail => list.push_back(element_name(*element)),
                }
            }
            out.push(list.len().to_string().into_bytes());
            model_put(model, *key, list);
        }
        Op::Pop(key, end, count) => {
            let Some(mut list) = model_list(model, *key)? else {
                return Ok(out);
            };
            for _ in 0..*count {
                let element = match end {
                    End::Head => list.pop_front(),
                    End::Tail => list.pop_back(),
                };
                out.extend(element);
            }
            model_put(model, *key, list);
        }
        Op::Set(key, index, element) => {
            let Some(mut list) = model_list(model, *key)? else {
                return Err(StoreError::NoSuchKey);
            };
            let at = resolve_index(*index, list.len()).ok_or(StoreError::IndexOutOfRange)?;
            list[at] = element_name(*element);
            model_put(model, *key, list);
        }
        Op::Insert(key, before, pivot, element) => {
            let Some(mut list) = model_list(model, *key)? else {
                return Ok(std::vec![b"0".to_vec()]);
            };
            let Some(at) = list.iter().position(|other| *other == element_name(*pivot)) else {
                return Ok(std::vec![b"-1".to_vec()]);
            };
            list.insert(if *before { at } else { at + 1 }, element_name(*element));
            out.push(list.len().to_string().into_bytes());
            model_put(model, *key, list);
        }
        Op::Rem(key, count, element) => {
            let Some(list) = model_list(model, *key)? else {
                return Ok(std::vec![b"0".to_vec()]);
            };
            let name = element_name(*element);
            let mut kept: Vec<Vec<u8>> = list.into_iter().collect();
            let limit = if *count == 0 {
                usize::MAX
            } else {
                usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX)
            };
            let mut removed = 0;
            if *count >= 0 {
                kept.retain(|other| {
                    let drop = *other == name && removed < limit;
                    removed += usize::from(drop);
                    !drop
                });
            } else {
                kept.reverse();
                kept.retain(|other| {
                    let drop = *other == name && removed < limit;
                    removed += usize::from(drop);
                    !drop
                });
                kept.reverse();
            }
            out.push(removed.to_string().into_bytes());
            model_put(model, *key, kept.into());
        }
        Op::Trim(key, start, stop) => {
            let Some(list) = model_list(model, *key)? else {
                return Ok(out);
            };
            let range = resolve_range(*start, *stop, list.len());
            let kept: VecDeque<Vec<u8>> = list
                .into_iter()
                .skip(range.start)
                .take(range.len())
                .collect();
            model_put(model, *key, kept);
        }
        Op::Move(source, target, from, to) => {
            let Some(mut list) = model_list(model, *source)? else {
                return Ok(out);
            };
            let target_list = model_list(model, *target)?;
            let element = match from {
                End::Head => list.pop_front(),
                End::Tail => list.pop_back(),
            }
            .expect("a stored list has an element");
            let mut target_list = if source == target {
                list.clone()
            } else {
                target_list.unwrap_or_default()
            };
            match to {
                End::Head => target_list.push_front(element.clone()),
                End::Tail => target_list.push_back(element.clone()),
            }
            if source != target {
                model_put(model, *source, list);
            }
            model_put(model, *target, target_list);
            out.push(element);
        }
        _ => unreachable!("not a list op"),
    }
    Ok(out)
}

fn apply_store(
    store: &mut Store<'_>,
    op: &Op,
    now: Timestamp,
    log: &mut EncodedLog,
) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut out = Vec::new();
    match op {
        Op::Push(key, end, elements, only_if_exists) => {
            let names: Vec<Vec<u8>> = elements.iter().map(|e| element_name(*e)).collect();
            let length = store.list_push(
                0,
                &key_name(*key),
                *end,
                names.iter().map(Vec::as_slice),
                *only_if_exists,
                now,
                log,
            )?;
            out.push(length.to_string().into_bytes());
        }
        Op::Pop(key, end, count) => {
            store.list_pop(
                0,
                &key_name(*key),
                *end,
                *count,
                now,
                log,
                |total, element| {
                    assert_eq!(total, (*count).min(total));
                    out.push(element.to_vec());
                },
            )?;
        }
        Op::Set(key, index, element) => {
            store.list_set(
                0,
                &key_name(*key),
                *index,
                &element_name(*element),
                now,
                log,
            )?;
        }
        Op::Insert(key, before, pivot, element) => {
            let length = store.list_insert(
                0,
                &key_name(*key),
                *before,
                &element_name(*pivot),
                &element_name(*element),
                now,
                log,
            )?;
            out.push(length.to_string().into_bytes());
        }
        Op::Rem(key, count, element) => {
            let removed = store.list_remove(
                0,
                &key_name(*key),
                *count,
                &element_name(*element),
                now,
                log,
            )?;
            out.push(removed.to_string().into_bytes());
        }
        Op::Trim(key, start, stop) => {
            store.list_trim(0, &key_name(*key), *start, *stop, now, log)?;
        }
        Op::Move(source, target, from, to) => {
            store.list_move(
                0,
                &key_name(*source),
                &key_name(*target),
                *from,
                *to,
                now,
                log,
                |element| out.push(element.to_vec()),
            )?;
        }
        _ => unreachable!("not a list op"),
    }
    Ok(out)
}

fn run(ops: &[Op], config: Config) {
    let mut log = EncodedLog::default();
    let (final_state, now) = with_config(config, |store| {
        let mut model: Model = BTreeMap::new();
        let mut now = NOW;
        for op in ops {
            model.retain(|_, (_, at)| *at == 0 || *at > now);
            match op {
                Op::Del(key) => {
                    let existed = model.remove(key).is_some();
                    assert_eq!(store.delete(0, &key_name(*key), now, &mut log), existed);
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
                Op::SetString(key) => {
                    store
                        .set(
                            0,
                            &key_name(*key),
                            b"s",
                            SetOptions::default(),
                            now,
                            &mut log,
                        )
                        .expect("room");
                    model.insert(*key, (Value::String(b"s".to_vec()), 0));
                }
                Op::Advance(ms) => now += ms,
                list_op => {
                    let expected = apply_model(&mut model, list_op);
                    let got = apply_store(store, list_op, now, &mut log);
                    assert_eq!(got, expected, "{list_op:?}");
                }
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
    with_config(config, |replica| {
        let mut offset = 0;
        while offset < log.bytes.len() {
            let (record, size) = LogRecord::decode_bytes(&log.bytes[offset..]).expect("decodes");
            let Body::Standalone(record) = record.body else {
                panic!("list writes are standalone records");
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
    fn lists_follow_the_model_and_replay(ops in prop::collection::vec(op(), 1..60)) {
        run(&ops, Config::new(256 * 1024, 256));
    }

    #[test]
    fn large_lists_follow_the_model_and_replay(ops in prop::collection::vec(op(), 1..150)) {
        // Nodes of at most 3 elements: most lists are chains of many nodes.
        let config = Config {
            list_max_listpack_size: 3,
            ..Config::new(256 * 1024, 256)
        };
        run(&ops, config);
    }

    #[test]
    fn large_lists_by_bytes_follow_the_model(ops in prop::collection::vec(op(), 1..150)) {
        // Nodes of at most 4 KiB, and an item limit of a few elements: the byte limit
        // is the item limit, so nodes split by size.
        let mut config = Config {
            list_max_listpack_size: -1,
            ..Config::new(256 * 1024, 256)
        };
        config.value_size_max = 64;
        run(&ops, config);
    }
}

#[test]
fn reader_is_total_on_bad_bytes() {
    for bytes in [
        &b""[..],
        b"l",
        b"l\x05ab",
        b"l\x01",
        b"l\xff\xff\xff\xff\xff\xff",
        b"h\x01a",
        b"l\x01az",
    ] {
        assert!(!is_valid(bytes), "{bytes:?}");
        let view = ListView::new(bytes);
        let _ = (view.len(), view.nth(3), view.is_empty());
    }
    assert!(is_valid(b"l\x01a"));
    assert!(is_valid(b"l\x00\x01a"));
    assert_eq!(ListView::new(b"l\x01a\x00\x05").len(), 2);
}

#[test]
fn indexes_and_ranges_follow_redis() {
    assert_eq!(resolve_index(0, 3), Some(0));
    assert_eq!(resolve_index(-1, 3), Some(2));
    assert_eq!(resolve_index(-4, 3), None);
    assert_eq!(resolve_index(3, 3), None);
    assert_eq!(resolve_index(i64::MIN, 3), None);
    assert_eq!(resolve_range(0, -1, 3), 0..3);
    assert_eq!(resolve_range(-100, 100, 3), 0..3);
    assert_eq!(resolve_range(2, 1, 3), 0..0);
    assert_eq!(resolve_range(5, 10, 3), 0..0);
    assert_eq!(resolve_range(i64::MIN, i64::MAX, 3), 0..3);
    assert_eq!(resolve_range(-1, -1, 0), 0..0);
}

#[test]
fn an_element_past_the_item_limit_is_refused_and_large_lists_take_half_ones() {
    with_store(64 * 1024, |store| {
        let big = std::vec![b'v'; store.config().value_size_max as usize];
        let mut log = EncodedLog::default();
        let elements = [&big[..]];
        assert_eq!(
            store.list_push(
                0,
                b"k",
                End::Tail,
                elements.into_iter(),
                false,
                NOW,
                &mut log
            ),
            Err(StoreError::CollectionTooLarge)
        );
        assert!(store.is_empty());
        // A move whose target would pass the limit changes neither list.
        let half = std::vec![b'v'; store.config().value_size_max as usize / 2];
        for key in [&b"a"[..], b"b"] {
            store
                .list_push(
                    0,
                    key,
                    End::Tail,
                    [&half[..]].into_iter(),
                    false,
                    NOW,
                    &mut log,
                )
                .expect("fits");
        }
        // A move whose compact target would pass the item limit makes it large.
        let mut moved = 0;
        let result = store.list_move(0, b"a", b"b", End::Head, End::Tail, NOW, &mut log, |e| {
            moved = e.len();
        });
        assert_eq!(result, Ok(true));
        assert_eq!(moved, half.len());
        assert!(store.list_view(0, b"a", NOW).expect("list").is_none());
        let b = store.list_view(0, b"b", NOW).expect("list").expect("b");
        assert!(matches!(b, ListRead::Large(_)));
        assert_eq!(b.len(), 2);
        assert!(b.iter().all(|element| element == &half[..]));
    });
}

#[test]
fn an_invalid_list_record_is_refused() {
    with_store(64 * 1024, |store| {
        let record = Record::Set {
            db: 0,
            key: b"k",
            value: b"l\x05ab",
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
fn cleaning_and_moves_keep_lists_whole() {
    with_store(64 * 1024, |store| {
        let mut model: [VecDeque<Vec<u8>>; 3] = Default::default();
        for round in 0..4000u32 {
            let key = (round % 3) as u8;
            let element = round.to_le_bytes();
            store
                .list_push(
                    0,
                    &key_name(key),
                    End::Tail,
                    [&element[..]].into_iter(),
                    false,
                    NOW,
                    &mut (),
                )
                .expect("cleaning makes room");
            model[usize::from(key)].push_back(element.to_vec());
            let target = ((round + 1) % 3) as u8;
            store
                .list_move(
                    0,
                    &key_name(key),
                    &key_name(target),
                    End::Head,
                    End::Tail,
                    NOW,
                    &mut (),
                    |_| {},
                )
                .expect("room");
            let moved = model[usize::from(key)].pop_front().expect("an element");
            model[usize::from(target)].push_back(moved);
            if round % 7 == 0 {
                store
                    .list_trim(0, &key_name(key), -20, -1, NOW, &mut ())
                    .expect("trim");
                let list = &mut model[usize::from(key)];
                while list.len() > 20 {
                    list.pop_front();
                }
            }
        }
        assert!(store.stats().segments_cleaned > 0, "{:?}", store.stats());
        let expected: BTreeMap<Vec<u8>, (Value, Timestamp)> = model
            .into_iter()
            .enumerate()
            .filter(|(_, list)| !list.is_empty())
            .map(|(key, list)| {
                (
                    key_name(u8::try_from(key).expect("3 keys")).to_vec(),
                    (Value::List(list), 0),
                )
            })
            .collect();
        assert_eq!(state(store, NOW), expected);
    });
}

/// EXPIRE logs a longer expiry of a large collection as a `Set` of its header alone: a
/// replay past the first expiry keeps the expired header's parts for it (same seed), and
/// a new collection under the key does not inherit them.
#[test]
fn a_longer_expiry_of_a_large_collection_replays_with_its_parts() {
    let config = Config {
        hash_max_listpack_entries: 3,
        list_max_listpack_size: 2,
        ..Config::new(256 * 1024, 256)
    };
    let mut log = EncodedLog::default();
    let elements: Vec<[u8; 1]> = (0..8u8).map(|f| [f]).collect();
    with_config(config, |store| {
        let pairs = elements.iter().map(|f| (&f[..], &b"v"[..]));
        store
            .hash_set(0, b"h", pairs, false, NOW, &mut log)
            .expect("set");
        let pushed = elements.iter().map(|e| &e[..]);
        store
            .list_push(0, b"l", End::Tail, pushed, false, NOW, &mut log)
            .expect("push");
        for key in [&b"h"[..], b"l"] {
            for at in [NOW + 10, NOW + 12] {
                let condition = ExpireCondition::Always;
                store
                    .expire_at(0, key, at, condition, NOW, &mut log)
                    .expect("expire");
            }
        }
        // Expired then made again: a new list, which must not take the old one's nodes.
        store
            .expire_at(0, b"m", NOW + 5, ExpireCondition::Always, NOW, &mut log)
            .expect("x");
        let pushed = elements.iter().map(|e| &e[..]);
        store
            .list_push(0, b"m", End::Tail, pushed, false, NOW, &mut log)
            .expect("push");
        store
            .expire_at(0, b"m", NOW + 5, ExpireCondition::Always, NOW, &mut log)
            .expect("x");
        let pushed = elements.iter().take(3).map(|e| &e[..]);
        store
            .list_push(0, b"m", End::Tail, pushed, false, NOW + 6, &mut log)
            .expect("push");
    });
    with_config(config, |replica| {
        let mut offset = 0;
        while offset < log.bytes.len() {
            let (record, size) = LogRecord::decode_bytes(&log.bytes[offset..]).expect("decodes");
            let Body::Standalone(record) = record.body else {
                panic!("standalone");
            };
            replica.apply(&record, NOW + 11).expect("replays");
            offset += size as usize;
        }
        replica.parts_collect(NOW + 11);
        let hash = replica
            .hash_view(0, b"h", NOW + 11)
            .expect("hash")
            .expect("present");
        assert_eq!(hash.entries().count(), 8);
        let list = replica
            .list_view(0, b"l", NOW + 11)
            .expect("list")
            .expect("present");
        assert!(matches!(list, ListRead::Large(_)));
        assert_eq!(list.iter().count(), 8);
        let m = replica
            .list_view(0, b"m", NOW + 11)
            .expect("list")
            .expect("m");
        let m: Vec<&[u8]> = m.iter().collect();
        assert_eq!(
            m,
            elements.iter().take(3).map(|e| &e[..]).collect::<Vec<_>>()
        );
        let mut parts = 0u32;
        replica.items(NOW + 11, |_, _, _, _, kind| {
            parts += u32::from(kind == ItemKind::Part)
        });
        let owned: u32 = [&b"h"[..], b"l", b"m"]
            .into_iter()
            .filter_map(|key| replica.find(0, key))
            .filter_map(|found| replica.header_of(&found))
            .map(|header| header.part_count)
            .sum();
        assert_eq!(parts, owned, "no part is left of the list that expired");
    });
}

/// RENAME, COPY and MOVE carry a large list's nodes under the new name (in this store:
/// the cross-shard path is the hashes' one); removing, overwriting and trimming take them.
#[test]
fn transfers_carry_the_nodes_and_removals_take_them() {
    let config = Config {
        list_max_listpack_size: 4,
        ..Config::new(256 * 1024, 256)
    };
    with_config(config, |store| {
        let mut log = EncodedLog::default();
        let elements: Vec<[u8; 4]> = (0..100u32).map(u32::to_le_bytes).collect();
        let pushed = elements.iter().map(|e| &e[..]);
        assert_eq!(
            store.list_push(0, b"a", End::Tail, pushed, false, NOW, &mut log),
            Ok(100)
        );
        let whole = |store: &mut Store<'_>, db: u8, key: &[u8]| {
            let list = store
                .list_view(db, key, NOW)
                .expect("a list")
                .expect("present");
            assert!(matches!(list, ListRead::Large(_)));
            let got: Vec<&[u8]> = list.iter().collect();
            assert_eq!(got, elements.iter().map(|e| &e[..]).collect::<Vec<_>>());
        };
        whole(store, 0, b"a");
        let nodes = store.table.len() - 1;
        assert_eq!(nodes, 25, "{nodes} nodes of 4");
        let transfer = |store: &mut Store<'_>, from: (u8, &[u8]), to: (u8, &[u8]), keep| {
            store.transfer(from.0, from.1, to.0, to.1, true, keep, NOW, &mut ())
        };
        assert_eq!(
            transfer(store, (0, b"a"), (0, b"b"), false),
            Ok(Transfer::Done)
        );
        whole(store, 0, b"b");
        assert_eq!(store.table.len(), nodes + 1);
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
        // A large list replaced by another: the old one's nodes go first.
        assert_eq!(
            transfer(store, (0, b"b"), (3, b"c"), true),
            Ok(Transfer::Done)
        );
        whole(store, 3, b"c");
        assert_eq!(store.table.len(), 2 * (nodes + 1));
        // Overwritten by a string, and deleted: the nodes go.
        store
            .set(0, b"b", b"x", SetOptions::default(), NOW, &mut ())
            .expect("room");
        assert_eq!(store.table.len(), nodes + 2);
        assert!(store.delete(3, b"c", NOW, &mut ()));
        assert_eq!(store.table.len(), 1);
        // Trimmed to a few: the nodes outside go, the list stays large and whole.
        let pushed = elements.iter().map(|e| &e[..]);
        store
            .list_push(0, b"d", End::Tail, pushed, false, NOW, &mut log)
            .expect("push");
        store
            .list_trim(0, b"d", 50, 52, NOW, &mut log)
            .expect("trim");
        let list = store.list_view(0, b"d", NOW).expect("list").expect("d");
        assert_eq!(
            list.iter().collect::<Vec<_>>(),
            [&elements[50][..], &elements[51][..], &elements[52][..]]
        );
        // Elements 50 and 51 end one node of 4, element 52 starts the next.
        assert_eq!(store.table.len(), 1 + 1 + 2, "b, d and two nodes");
        // Popped empty: the key and its nodes go.
        store
            .list_pop(0, b"d", End::Head, 10, NOW, &mut log, |_, _| {})
            .expect("pop");
        assert_eq!(store.table.len(), 1);
        assert_eq!(state(store, NOW).len(), 1);
    });
}

/// Under memory pressure with an eviction policy, a large list goes whole: no node of an
/// evicted list is left, and every list left has all its elements.
#[test]
fn eviction_takes_a_list_whole() {
    let mut config = Config::new(64 * 1024, 256);
    config.policy = crate::storage::policy::EvictionPolicy::AllKeysLru;
    config.list_max_listpack_size = 2;
    with_config(config, |store| {
        let element = [b'x'; 100];
        for key in 0..400u32 {
            let name = key.to_le_bytes();
            let pushed = [&element[..]; 5].into_iter();
            store
                .list_push(0, &name, End::Tail, pushed, false, NOW, &mut ())
                .expect("eviction makes room");
        }
        assert!(store.stats().evicted > 0);
        let left = state(store, NOW);
        assert!(!left.is_empty());
        for (value, _) in left.values() {
            assert_eq!(
                *value,
                Value::List(std::iter::repeat_n(element.to_vec(), 5).collect())
            );
        }
    });
}

/// Stores of one keyspace, one per shard.
struct Shards3(Vec<Store<'static>>);

impl crate::store::Shards<'static> for Shards3 {
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

/// LMOVE between shards, with lists small and large on either side (nodes of 3
/// elements): every list follows a model, and every shard's chains stay whole.
#[test]
fn moves_across_shards_follow_the_model() {
    let config = Config {
        list_max_listpack_size: 3,
        ..Config::new(1 << 20, 2048)
    };
    let mut shards = Shards3(
        (0..3)
            .map(|_| {
                let memory = Vec::leak(std::vec![0u8; config.arena_size()]);
                let mut arena = Arena::from_buffer(memory);
                let store = Store::new(&mut arena, config).expect("config fits");
                arena.freeze().expect("freeze");
                store
            })
            .collect(),
    );
    let keys: Vec<Vec<u8>> = (0..6u8).map(|k| std::vec![b'k', b'0' + k]).collect();
    let mut model: Vec<VecDeque<Vec<u8>>> = std::vec![VecDeque::new(); keys.len()];
    let mut random = 0x2545_f491_4f6c_dd1du64;
    let mut next = |bound: usize| {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        usize::try_from(random % bound as u64).expect("fits")
    };
    let shard = |key: &[u8]| crate::store::shard_of(key, 3);
    for round in 0..3000u32 {
        let (source, target) = (next(keys.len()), next(keys.len()));
        if next(4) == 0 {
            let element = round.to_le_bytes();
            let count = next(4) + 1;
            let pushed = std::iter::repeat_n(&element[..], count);
            let key = &keys[source];
            shards.0[shard(key)]
                .list_push(0, key, End::Tail, pushed, false, NOW, &mut ())
                .expect("push");
            model[source].extend(std::iter::repeat_n(element.to_vec(), count));
            continue;
        }
        let (from, to) = (
            if next(2) == 0 { End::Head } else { End::Tail },
            if next(2) == 0 { End::Head } else { End::Tail },
        );
        let mut moved = None;
        let result = list_move(
            &mut shards,
            0,
            &keys[source],
            &keys[target],
            from,
            to,
            NOW,
            &mut (),
            |element| moved = Some(element.to_vec()),
        );
        let expected = match from {
            End::Head => model[source].pop_front(),
            End::Tail => model[source].pop_back(),
        };
        if let Some(element) = &expected {
            match to {
                End::Head => model[target].push_front(element.clone()),
                End::Tail => model[target].push_back(element.clone()),
            }
        }
        assert_eq!(result, Ok(expected.is_some()), "round {round}");
        assert_eq!(moved, expected, "round {round}");
    }
    let mut large = 0;
    for (index, key) in keys.iter().enumerate() {
        let store = &mut shards.0[shard(key)];
        let got: Option<Vec<Vec<u8>>> = store
            .list_view(0, key, NOW)
            .expect("a list")
            .map(|list| list.iter().map(<[u8]>::to_vec).collect());
        let expected: Vec<Vec<u8>> = model[index].iter().cloned().collect();
        assert_eq!(got.unwrap_or_default(), expected, "key {index}");
    }
    for store in &shards.0 {
        large += state(store, NOW)
            .keys()
            .filter(|key| {
                let found = store.find(0, key).expect("a key");
                store.header_of(&found).is_some()
            })
            .count();
    }
    assert!(large > 0, "some lists are large");
}

/// A find of the `store_ops` fuzz target: pushes to the head
/// of a large list in 4 KiB of memory under eviction.
#[test]
fn fuzz_store_ops_head_pushes_in_tight_memory() {
    use crate::store::model::{Op, run_model};
    let policy = crate::storage::policy::EvictionPolicy::ALL
        [42 % crate::storage::policy::EvictionPolicy::ALL.len()];
    let ops = [
        Op::ListPush {
            key: 205,
            head: true,
            size: 255,
        },
        Op::ListPush {
            key: 205,
            head: true,
            size: 42,
        },
        Op::ListPush {
            key: 255,
            head: true,
            size: 255,
        },
        Op::ZsetRemove {
            key: 255,
            member: 0,
        },
        Op::ListPush {
            key: 205,
            head: true,
            size: 205,
        },
        Op::ListPush {
            key: 205,
            head: true,
            size: 205,
        },
        Op::ListPush {
            key: 205,
            head: true,
            size: 205,
        },
    ];
    run_model(policy, 4 * 1024, &ops).expect("the model holds");
}
