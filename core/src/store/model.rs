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

use super::{Config, ExpireCondition, LogSink, SetOptions, Store, Transfer};
use crate::arena::Arena;
use crate::codec::record::Record;
use crate::error::StoreError;
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
}

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
        }
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
    entries: BTreeMap<(u8, u8), (Vec<u8>, Timestamp)>,
    deleted: BTreeSet<(u8, u8)>,
}

/// Applies the log records to the model: this is exactly what recovery would replay, so
/// the model checks that the records describe the store.
impl LogSink for Model {
    fn record(&mut self, record: Record<'_>) {
        match record {
            Record::Set {
                db,
                key,
                value,
                expires_at,
                ..
            } => {
                self.entries
                    .insert((db, key[0]), (value.to_vec(), expires_at));
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

fn live_in(model: &Model, db: u8, key: u8, now: Timestamp) -> Option<&Vec<u8>> {
    let entry = model.entries.get(&(db, key));
    entry
        .filter(|(_, at)| *at == 0 || *at > now)
        .map(|(value, _)| value)
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
                let was_live = live(&model, key, now).is_some();
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
                let before = live(&model, source, now).cloned();
                let target_before = live_in(&model, target_db, target, now).cloned();
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
                        check_eq!(live_in(&model, target_db, target, now), before.as_ref());
                        if !same && !keep_source {
                            check_eq!(live(&model, source, now), None);
                        }
                    }
                    Ok(Transfer::SourceMissing) => check!(before.is_none()),
                    Ok(Transfer::TargetExists) => {
                        check!(!replace && target_before.is_some());
                        check_eq!(
                            live_in(&model, target_db, target, now),
                            target_before.as_ref()
                        );
                    }
                    Err(error) => {
                        // Nothing but evictions: the target holds what it held, or was
                        // evicted.
                        let target_now = live_in(&model, target_db, target, now);
                        let evicted = model.deleted.contains(&(target_db, target));
                        check!(
                            target_now == target_before.as_ref()
                                || (evicted && target_now.is_none()),
                            "transfer failed with {error:?} but changed the target"
                        );
                    }
                }
            }
            Op::SwapDb { first, second } => {
                check_eq!(store.swap_db(first, second, &mut model), Ok(()));
            }
        }
        let stats = store.stats();
        check!(stats.memory_used_size <= stats.memory_limit_size);
        check!(store.len() <= 48);
        check_prefix_index(&store, &model, now)
            .map_err(|error| format!("after {op:?}: {error}"))?;
        for db in 0..DB_COUNT {
            for key in 0..KEY_COUNT {
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
            let expected: Vec<Vec<u8>> = live_in(model, db, key, now)
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
