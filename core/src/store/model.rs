//! The model check shared by the store's proptests and the `store_ops` fuzz target.
//!
//! A run applies random operations to a store and to a model that is fed *only* by the
//! store's log records, then reads every key of every database it uses back from both.
//! So it checks two things at once: the store behaves like a map with expiry (under
//! eviction, minus exactly the keys its records say it evicted), and the records a write
//! reports describe it fully (which is what recovery will replay). Built for tests and
//! under the `_test-internals` feature; it needs `alloc`.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::list::End;
use super::zset::AddOptions;
use super::{Config, ExpireCondition, LogSink, SetOptions, Store, Transfer, ValueType};
use crate::arena::Arena;
use crate::codec::record::Record;
use crate::error::StoreError;
use crate::storage::item::ItemKind;
use crate::storage::policy::EvictionPolicy;
use crate::time::Timestamp;

/// The time a model run starts at.
const START: Timestamp = 1_700_000_000_000;

/// Fails the run with a message when a condition does not hold.
macro_rules! check {
    ($condition:expr) => {
        if !$condition {
            return Err(format!("check failed: {}", stringify!($condition)));
        }
    };
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            return Err(format!("check failed: {}: {}", stringify!($condition), format!($($message)+)));
        }
    };
}

/// Fails the run when two values differ.
macro_rules! check_eq {
    ($left:expr, $right:expr) => {
        check_eq!($left, $right, "")
    };
    ($left:expr, $right:expr, $($message:tt)+) => {{
        let (left, right) = (&$left, &$right);
        if left != right {
            return Err(format!("{left:?} != {right:?}: {}", format!($($message)+)));
        }
    }};
}

/// One operation of a model run.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "_test-internals", derive(arbitrary::Arbitrary))]
#[allow(missing_docs)]
pub enum Op {
    Set {
        key: u8,
        size: u16,
        ttl: Option<u16>,
    },
    Get {
        key: u8,
    },
    Delete {
        key: u8,
    },
    Incr {
        key: u8,
    },
    Append {
        key: u8,
        size: u8,
    },
    Expire {
        key: u8,
        ttl: u16,
    },
    Persist {
        key: u8,
    },
    SetMany {
        first: u8,
        count: u8,
        size: u16,
    },
    Advance {
        ms: u16,
    },
    ExpireStep,
    /// RENAME (`keep_source` false) or COPY from database 0 to `target_db`.
    Transfer {
        source: u8,
        target: u8,
        target_db: u8,
        replace: bool,
        keep_source: bool,
    },
    SwapDb {
        first: u8,
        second: u8,
    },
    /// HSET of one field.
    HashSet {
        key: u8,
        field: u8,
        size: u8,
    },
    /// HDEL of one field.
    HashDelete {
        key: u8,
        field: u8,
    },
    /// SADD of one member (members below 8 are integers: the intset order).
    SetAdd {
        key: u8,
        member: u8,
    },
    /// SREM of one member.
    SetRemove {
        key: u8,
        member: u8,
    },
    /// LPUSH (`head`) or RPUSH of one element.
    ListPush {
        key: u8,
        head: bool,
        size: u8,
    },
    /// LPOP (`head`) or RPOP of up to `count` elements.
    ListPop {
        key: u8,
        head: bool,
        count: u8,
    },
    /// ZADD of one member.
    ZsetAdd {
        key: u8,
        member: u8,
        score: i16,
    },
    /// ZREM of one member.
    ZsetRemove {
        key: u8,
        member: u8,
    },
}

/// Fields a hash op names: few, to collide, but more than 32, so a hash past the
/// model's threshold of 4 can split into parts (a part holds about 16 fields).
const FIELD_COUNT: u8 = 40;
/// Members a set or sorted set op names (the same reasoning).
const MEMBER_COUNT: u8 = 40;

/// Keys a run uses: few, so that operations collide.
const KEY_COUNT: u8 = 64;
/// Databases a run uses; ops other than transfers and swaps write database 0.
const DB_COUNT: u8 = 3;

impl Op {
    /// The op with its fields brought into the ranges a run uses (fuzz input is raw).
    fn normalized(&self) -> Self {
        let key = |key: u8| key % KEY_COUNT;
        match *self {
            Self::Set { key: k, size, ttl } => Self::Set {
                key: key(k),
                size: size % 1024,
                ttl,
            },
            Self::Get { key: k } => Self::Get { key: key(k) },
            Self::Delete { key: k } => Self::Delete { key: key(k) },
            Self::Incr { key: k } => Self::Incr { key: key(k) },
            Self::Append { key: k, size } => Self::Append { key: key(k), size },
            Self::Expire { key: k, ttl } => Self::Expire { key: key(k), ttl },
            Self::Persist { key: k } => Self::Persist { key: key(k) },
            Self::SetMany { first, count, size } => Self::SetMany {
                first: key(first),
                count: count % 6 + 1,
                size: size % 512,
            },
            Self::Advance { ms } => Self::Advance { ms },
            Self::ExpireStep => Self::ExpireStep,
            Self::Transfer {
                source,
                target,
                target_db,
                replace,
                keep_source,
            } => Self::Transfer {
                source: key(source),
                target: key(target),
                target_db: target_db % DB_COUNT,
                replace,
                keep_source,
            },
            Self::SwapDb { first, second } => Self::SwapDb {
                first: first % DB_COUNT,
                second: second % DB_COUNT,
            },
            Self::HashSet {
                key: k,
                field,
                size,
            } => Self::HashSet {
                key: key(k),
                field: field % FIELD_COUNT,
                size,
            },
            Self::HashDelete { key: k, field } => Self::HashDelete {
                key: key(k),
                field: field % FIELD_COUNT,
            },
            Self::SetAdd { key: k, member } => Self::SetAdd {
                key: key(k),
                member: member % MEMBER_COUNT,
            },
            Self::SetRemove { key: k, member } => Self::SetRemove {
                key: key(k),
                member: member % MEMBER_COUNT,
            },
            Self::ListPush { key: k, head, size } => Self::ListPush {
                key: key(k),
                head,
                size,
            },
            Self::ListPop {
                key: k,
                head,
                count,
            } => Self::ListPop {
                key: key(k),
                head,
                count: count % 4 + 1,
            },
            Self::ZsetAdd {
                key: k,
                member,
                score,
            } => Self::ZsetAdd {
                key: key(k),
                member: member % MEMBER_COUNT,
                score,
            },
            Self::ZsetRemove { key: k, member } => Self::ZsetRemove {
                key: key(k),
                member: member % MEMBER_COUNT,
            },
        }
    }
}

/// A set or sorted set member: an integer below 8 (so a set of them is an intset, kept
/// in numeric order), a word otherwise.
fn member_for(member: u8) -> Vec<u8> {
    if member < 8 {
        format!("{member}").into_bytes()
    } else {
        format!("m{member}").into_bytes()
    }
}

/// A value unique to the key and write, so a stale or mixed-up value is detected.
fn value_for(key: u8, serial: u32, size: u16) -> Vec<u8> {
    let mut value: Vec<u8> = format!("{key}:{serial}:").into_bytes();
    value.resize(usize::from(size).max(value.len()), b'a' + key % 26);
    value
}

/// The model: what each `(db, key)` holds and when it expires (0: never), fed only by the
/// store's log records, plus the keys deleted by the current op's records (evictions
/// included).
#[derive(Debug, Clone, Default)]
struct Model {
    entries: BTreeMap<(u8, u8), (Vec<u8>, Timestamp, ItemKind)>,
    deleted: BTreeSet<(u8, u8)>,
}

/// Applies the log records to the model: this is exactly what recovery would replay, so
/// the model checks that the records describe the store.
impl LogSink for Model {
    fn record(&mut self, record: Record<'_>) {
        match record {
            // A large collection's part (a hash's part, a list's node; an empty value is a
            // removed node): the keys' values and expiries are what the model checks, and
            // a large collection's is its header (the list tests check the parts).
            Record::Set {
                value_kind: ItemKind::Part,
                ..
            } => {}
            Record::Set {
                db,
                key,
                value,
                expires_at,
                value_kind,
            } => {
                self.entries
                    .insert((db, key[0]), (value.to_vec(), expires_at, value_kind));
            }
            Record::Del { db, key } => {
                self.entries.remove(&(db, key[0]));
                self.deleted.insert((db, key[0]));
            }
            Record::ExpireAt {
                db,
                key,
                expires_at,
            } => {
                if let Some(entry) = self.entries.get_mut(&(db, key[0])) {
                    entry.1 = expires_at;
                }
            }
            Record::Clear { db: None } => self.entries.clear(),
            Record::Clear { db: Some(db) } => {
                self.entries.retain(|&(entry_db, _), _| entry_db != db)
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
                    .map(|((db, key), entry)| ((swapped(db), key), entry))
                    .collect();
            }
        }
    }
}

fn live(model: &Model, key: u8, now: Timestamp) -> Option<&Vec<u8>> {
    live_in(model, 0, key, now)
}

/// The string at `(db, key)` if it is live (a collection has none, as GET reads it).
fn live_in(model: &Model, db: u8, key: u8, now: Timestamp) -> Option<&Vec<u8>> {
    live_any(model, db, key, now)
        .filter(|(value_type, _)| *value_type == ValueType::String)
        .map(|(_, value)| value)
}

/// The value of any type at `(db, key)` if it is live.
fn live_any(model: &Model, db: u8, key: u8, now: Timestamp) -> Option<(ValueType, &Vec<u8>)> {
    let entry = model.entries.get(&(db, key));
    entry
        .filter(|(_, at, _)| *at == 0 || *at > now)
        .map(|(value, _, kind)| (ValueType::of(*kind, value), value))
}

/// Whether `(0, key)` holds a live value of another type than `wanted`.
fn holds_other(model: &Model, key: u8, now: Timestamp, wanted: ValueType) -> bool {
    live_any(model, 0, key, now).is_some_and(|(value_type, _)| value_type != wanted)
}

/// Runs `ops` against a store and a model fed only by the store's log records; after every
/// op, every key reads back as the model says. Under `noeviction` with ample memory the
/// model must also match the expected semantics exactly (no record may be missing).
/// Runs `ops` against a store and a model fed only by the store's log records.
///
/// # Errors
/// A description of the first disagreement.
pub fn run_model(policy: EvictionPolicy, memory_size: usize, ops: &[Op]) -> Result<(), String> {
    let mut config = Config::new(memory_size, 48);
    config.policy = policy;
    // Collections of more than 4 elements take the large form: a header and parts for
    // hashes and sets, chains of nodes for lists, an index and a tree for sorted sets
    // (Redis's defaults would need hundreds).
    config.list_max_listpack_size = 4;
    config.zset_max_listpack_entries = 4;
    config.hash_max_listpack_entries = 4;
    config.set_max_listpack_entries = 4;
    config.set_max_intset_entries = 4;
    let mut memory = vec![0u8; config.arena_size()];
    let mut arena = Arena::from_buffer(&mut memory);
    let mut store = Store::new(&mut arena, config).map_err(|error| format!("{error:?}"))?;
    arena.freeze().map_err(|error| format!("{error:?}"))?;
    store.set_prefix_index(true);
    let mut model = Model::default();
    let mut now = START;
    let mut serial = 0u32;
    for op in ops {
        serial += 1;
        model.deleted.clear();
        let op = &op.normalized();
        match *op {
            Op::Set { key, size, ttl } => {
                let value = value_for(key, serial, size);
                let result = match ttl {
                    Some(ttl) => {
                        store.set_with_ttl(0, &[key], &value, i64::from(ttl), now, &mut model)
                    }
                    None => store
                        .set(0, &[key], &value, SetOptions::default(), now, &mut model)
                        .map(|_| ()),
                };
                if result.is_ok() {
                    check_eq!(live(&model, key, now), Some(&value));
                }
            }
            Op::Get { key } => {
                let got = store.get(0, &[key], now).map(<[u8]>::to_vec);
                check_eq!(got.as_ref(), live(&model, key, now), "get key {}", key);
            }
            Op::Delete { key } => {
                let was_live = live_any(&model, 0, key, now).is_some();
                check_eq!(store.delete(0, &[key], now, &mut model), was_live);
            }
            Op::Incr { key } => {
                let before = live(&model, key, now).cloned();
                match store.incr_by(0, &[key], 3, now, &mut model) {
                    Ok(value) => check_eq!(
                        live(&model, key, now),
                        Some(&value.to_string().into_bytes())
                    ),
                    Err(StoreError::NotInteger) => check!(before.is_some()),
                    Err(_) => {}
                }
            }
            Op::Append { key, size } => {
                let suffix = vec![b'+'; usize::from(size)];
                let before = live(&model, key, now).cloned().unwrap_or_default();
                if store.append(0, &[key], &suffix, now, &mut model).is_ok() {
                    // An eviction that made room may have taken the key itself first.
                    let kept = if model.deleted.contains(&(0, key)) {
                        Vec::new()
                    } else {
                        before
                    };
                    let expected = [kept, suffix].concat();
                    check_eq!(live(&model, key, now), Some(&expected));
                }
            }
            Op::Expire { key, ttl } => {
                let _ = store.expire_in(
                    0,
                    &[key],
                    i64::from(ttl),
                    ExpireCondition::Always,
                    now,
                    &mut model,
                );
            }
            Op::Persist { key } => {
                let _ = store.persist(0, &[key], now, &mut model);
            }
            Op::SetMany { first, count, size } => {
                let keys: Vec<u8> = (0..count)
                    .map(|offset| (first + offset) % KEY_COUNT)
                    .collect();
                let values: Vec<Vec<u8>> = keys
                    .iter()
                    .map(|&key| value_for(key, serial, size))
                    .collect();
                let pairs: Vec<(&[u8], &[u8])> = keys
                    .iter()
                    .zip(&values)
                    .map(|(key, value)| (core::slice::from_ref(key), value.as_slice()))
                    .collect();
                match store.set_many(0, &pairs, false, now, &mut model) {
                    Ok(_) => {
                        for key in &keys {
                            // A later pair of the same key wins.
                            let last = keys
                                .iter()
                                .rposition(|k| k == key)
                                .map(|index| &values[index]);
                            check_eq!(live(&model, *key, now), last);
                        }
                    }
                    Err(error) => {
                        // All or nothing: no Set of the batch reached the log (evictions may).
                        for key in &keys {
                            let mark = format!("{key}:{serial}:").into_bytes();
                            let written = model
                                .entries
                                .get(&(0, *key))
                                .is_some_and(|entry| entry.0.starts_with(&mark));
                            check!(
                                !written,
                                "set_many failed with {error:?} but wrote key {key}"
                            );
                        }
                    }
                }
            }
            Op::Advance { ms } => now += u64::from(ms),
            Op::ExpireStep => {
                store.expire_step(now, 16);
            }
            Op::Transfer {
                source,
                target,
                target_db,
                replace,
                keep_source,
            } => {
                let before = live_any(&model, 0, source, now).map(|(t, v)| (t, v.clone()));
                let target_before =
                    live_any(&model, target_db, target, now).map(|(t, v)| (t, v.clone()));
                let any = |model: &Model, db: u8, key: u8| {
                    live_any(model, db, key, now).map(|(t, v)| (t, v.clone()))
                };
                let same = target_db == 0 && source == target;
                let result = store.transfer(
                    0,
                    &[source],
                    target_db,
                    &[target],
                    replace,
                    keep_source,
                    now,
                    &mut model,
                );
                match result {
                    Ok(Transfer::Done) => {
                        check!(before.is_some(), "transfer of a missing key");
                        check_eq!(any(&model, target_db, target), before);
                        if !same && !keep_source {
                            check_eq!(any(&model, 0, source), None);
                        }
                    }
                    Ok(Transfer::SourceMissing) => check!(before.is_none()),
                    Ok(Transfer::TargetExists) => {
                        check!(!replace && target_before.is_some());
                        check_eq!(any(&model, target_db, target), target_before);
                    }
                    Err(error) => {
                        // Nothing but evictions: the target holds what it held, or was
                        // evicted.
                        let target_now = any(&model, target_db, target);
                        let evicted = model.deleted.contains(&(target_db, target));
                        check!(
                            target_now == target_before || (evicted && target_now.is_none()),
                            "transfer failed with {error:?} but changed the target"
                        );
                    }
                }
            }
            Op::SwapDb { first, second } => {
                check_eq!(store.swap_db(first, second, &mut model), Ok(()));
            }
            _ => collection_op(&mut store, &mut model, op, serial, now)?,
        }
        let stats = store.stats();
        check!(stats.memory_used_size <= stats.memory_limit_size);
        check!(store.len() <= 48);
        let volatile_count: u32 = (0..store.segments.count())
            .map(|segment| store.segments.volatile_count(segment))
            .sum();
        check_eq!(store.segments.volatile_total(), volatile_count as usize);
        check_prefix_index(&store, &model, now)
            .map_err(|error| format!("after {op:?}: {error}"))?;
        for db in 0..DB_COUNT {
            for key in 0..KEY_COUNT {
                let any = store
                    .value_peek(db, &[key], now)
                    .map(|(value_type, value)| (value_type, value.to_vec()));
                let expected = live_any(&model, db, key, now).map(|(t, v)| (t, v.clone()));
                check_eq!(
                    any,
                    expected,
                    "after {:?}: db {} key {} (any type)",
                    op,
                    db,
                    key
                );
                let got = store.get(db, &[key], now).map(<[u8]>::to_vec);
                check_eq!(
                    got.as_ref(),
                    live_in(&model, db, key, now),
                    "after {:?}: db {} key {}",
                    op,
                    db,
                    key
                );
            }
        }
    }
    Ok(())
}

/// Runs one op on a hash, set, list or sorted set and checks what it did; the caller
/// then reads every key back against the log-fed model. A key of another type must be
/// refused with `WrongType`.
fn collection_op(
    store: &mut Store<'_>,
    model: &mut Model,
    op: &Op,
    serial: u32,
    now: Timestamp,
) -> Result<(), String> {
    let wrong = |model: &Model, key: u8, wanted: ValueType, error: StoreError| {
        if holds_other(model, key, now, wanted) {
            check_eq!(error, StoreError::WrongType);
        } else {
            check!(error != StoreError::WrongType, "WrongType on key {key}");
        }
        Ok(())
    };
    match *op {
        Op::HashSet { key, field, size } => {
            let field = format!("f{field}").into_bytes();
            let value = value_for(key, serial, u16::from(size));
            let pairs = [(field.as_slice(), value.as_slice())];
            match store.hash_set(0, &[key], pairs.into_iter(), false, now, model) {
                Ok(_) => {
                    let view = store
                        .hash_view(0, &[key], now)
                        .map_err(|e| format!("{e:?}"))?;
                    check_eq!(view.and_then(|view| view.get(&field)), Some(&value[..]));
                }
                Err(error) => wrong(model, key, ValueType::Hash, error)?,
            }
        }
        Op::HashDelete { key, field } => {
            let field = format!("f{field}").into_bytes();
            match store.hash_delete(0, &[key], [&field[..]].into_iter(), now, model) {
                Ok(_) => {
                    let view = store
                        .hash_view(0, &[key], now)
                        .map_err(|e| format!("{e:?}"))?;
                    check_eq!(view.and_then(|view| view.get(&field)), None);
                }
                Err(error) => wrong(model, key, ValueType::Hash, error)?,
            }
        }
        Op::SetAdd { key, member } | Op::SetRemove { key, member } => {
            let adding = matches!(op, Op::SetAdd { .. });
            let member = member_for(member);
            let members = [&member[..]].into_iter();
            let result = if adding {
                store.set_add(0, &[key], members, now, model)
            } else {
                store.set_remove(0, &[key], members, now, model)
            };
            match result {
                Ok(_) => {
                    let view = store
                        .set_view(0, &[key], now)
                        .map_err(|e| format!("{e:?}"))?;
                    check_eq!(view.is_some_and(|view| view.contains(&member)), adding);
                }
                Err(error) => wrong(model, key, ValueType::Set, error)?,
            }
        }
        Op::ListPush { key, head, size } => {
            let element = value_for(key, serial, u16::from(size));
            let end = if head { End::Head } else { End::Tail };
            let elements = [&element[..]].into_iter();
            match store.list_push(0, &[key], end, elements, false, now, model) {
                Ok(len) => {
                    let view = store
                        .list_view(0, &[key], now)
                        .map_err(|e| format!("{e:?}"))?;
                    let view = view.ok_or_else(|| format!("list {key} missing after a push"))?;
                    check_eq!(view.len(), len);
                    let at = if head { 0 } else { len - 1 };
                    check_eq!(view.nth(at), Some(&element[..]));
                }
                Err(error) => wrong(model, key, ValueType::List, error)?,
            }
        }
        Op::ListPop { key, head, count } => {
            let end = if head { End::Head } else { End::Tail };
            let mut visited = 0usize;
            let popped = store.list_pop(0, &[key], end, usize::from(count), now, model, |_, _| {
                visited += 1;
            });
            match popped {
                Ok(popped) => {
                    check_eq!(popped, visited);
                    check!(popped <= usize::from(count));
                }
                Err(error) => wrong(model, key, ValueType::List, error)?,
            }
        }
        Op::ZsetAdd { key, member, score } => {
            let member = member_for(member);
            let pairs = [(f64::from(score), &member[..])].into_iter();
            match store.zset_add(0, &[key], pairs, AddOptions::default(), now, model) {
                Ok(_) => {
                    let owner = [key];
                    let view = store
                        .zset_view(0, &owner, now)
                        .map_err(|e| format!("{e:?}"))?;
                    check_eq!(
                        view.and_then(|view| view.score(&member)),
                        Some(f64::from(score))
                    );
                }
                Err(error) => wrong(model, key, ValueType::SortedSet, error)?,
            }
        }
        Op::ZsetRemove { key, member } => {
            let member = member_for(member);
            match store.zset_remove(0, &[key], [&member[..]].into_iter(), now, model) {
                Ok(_) => {
                    let owner = [key];
                    let view = store
                        .zset_view(0, &owner, now)
                        .map_err(|e| format!("{e:?}"))?;
                    check_eq!(view.and_then(|view| view.score(&member)), None);
                }
                Err(error) => wrong(model, key, ValueType::SortedSet, error)?,
            }
        }
        _ => unreachable!("not a collection op: {op:?}"),
    }
    Ok(())
}

/// The prefix index holds exactly the table's keys: as many entries as the table, every
/// key the model says is live among them, and a prefix query (which looks each indexed
/// key up in the table, and panics if one is missing) lists exactly the live ones.
fn check_prefix_index(store: &Store<'_>, model: &Model, now: Timestamp) -> Result<(), String> {
    let index = store.prefix_index();
    check_eq!(index.len(), store.len(), "index entries");
    for db in 0..DB_COUNT {
        let mut indexed: Vec<Vec<u8>> = Vec::new();
        index.visit_prefix(db, b"", |key| {
            indexed.push(key.to_vec());
            true
        });
        check!(
            indexed.windows(2).all(|pair| pair[0] < pair[1]),
            "index out of order"
        );
        for key in 0..KEY_COUNT {
            let expected: Vec<Vec<u8>> = live_any(model, db, key, now)
                .map(|_| vec![key])
                .into_iter()
                .collect();
            let mut listed: Vec<Vec<u8>> = Vec::new();
            let answered = store.keys_from_index(db, &[key, b'*'], now, |found| {
                listed.push(found.to_vec());
                true
            });
            if key != b'*' && key != b'?' {
                check!(answered, "the index did not answer for key {key}");
                check_eq!(listed, expected, "db {db} prefix {key}");
            }
            if !expected.is_empty() {
                check!(
                    indexed.contains(&vec![key]),
                    "db {db} key {key} not indexed"
                );
            }
        }
    }
    Ok(())
}
