//! The simulator's collections: the model of one hash, list, set or sorted set (a Rust std
//! collection), the commands the workload changes one with and the exact reply each owes
//! ([`plan`]), and reading one back through the `Db`'s command path ([`read`]).
//!
//! The checker compares collections as **canonical bytes**: `#`, the type letter (`h`,
//! `l`, `s`, `z`), then the elements, each as a u32 LE size and its bytes: a hash's fields
//! in byte order, each followed by its value; a list's elements head to tail; a set's
//! members in byte order; a sorted set's members in byte order, each followed by the 8
//! bytes of its score (`f64::to_bits`, LE). Two collections are equal exactly when their
//! canonical bytes are, whatever order the store keeps them in (a large hash's parts, an
//! intset's numeric order, a list's chain of nodes). The workload's strings start with
//! their op's digits, never with `#`.
//!
//! Reading back checks more than the elements: the count the store keeps (HLEN, LLEN,
//! SCARD, ZCARD: a large collection's header) must equal the elements its parts hold, no
//! field or member may come twice, and ZRANGE must return Redis's order.
//!
//! Invariants: a collection the model keeps is never empty (Redis removes an emptied
//! key: an emptied collection is the key's removal); every element a plan writes is named
//! by its op, so a stale element shows.
//!
//! Fault assumptions: none; the workload runs these against the simulated disk's faults.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;

use floe_core::codec::resp::{Frame, Limits};
use floe_core::command::Session;
use floe_core::error::StoreError;
use floe_core::store::Config;

use crate::db::{Db, DbError};
use crate::sim::rng::Prng;

/// Distinct hash fields, set members and sorted set members a key's ops choose from: more
/// than enough for a collection to pass every threshold and split into many parts (a part
/// holds about 16 elements).
const ELEMENT_SPACE: u64 = 240;
/// Most elements one write adds.
const ADD_COUNT_MAX: u64 = 6;
/// Most elements one write removes (fewer than it adds: collections grow).
const REMOVE_COUNT_MAX: u64 = 3;
/// Longest element or value a write makes (past every `*-max-listpack-value` drawn).
const ELEMENT_SIZE_MAX: u64 = 96;

/// The four collection types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionType {
    /// A hash: fields and values.
    Hash,
    /// A list: elements in order.
    List,
    /// A set: members.
    Set,
    /// A sorted set: members and scores.
    Zset,
}

impl CollectionType {
    /// Every type, in the order the workload's collection keys take them.
    pub const ALL: [Self; 4] = [Self::Hash, Self::List, Self::Set, Self::Zset];

    /// What `TYPE` replies.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Hash => "hash",
            Self::List => "list",
            Self::Set => "set",
            Self::Zset => "zset",
        }
    }

    /// An empty collection of this type.
    #[must_use]
    pub fn empty(self) -> Collection {
        match self {
            Self::Hash => Collection::Hash(BTreeMap::new()),
            Self::List => Collection::List(VecDeque::new()),
            Self::Set => Collection::Set(BTreeSet::new()),
            Self::Zset => Collection::Zset(BTreeMap::new()),
        }
    }

    fn of_name(name: &[u8]) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.name().as_bytes() == name)
    }
}

/// The type of the workload's collection key number `slot`: each type in turn.
#[must_use]
pub fn slot_type(slot: usize) -> CollectionType {
    CollectionType::ALL[slot % CollectionType::ALL.len()]
}

/// One collection's elements, as the model knows them.
#[derive(Debug, Clone, PartialEq)]
pub enum Collection {
    /// Field to value.
    Hash(BTreeMap<Vec<u8>, Vec<u8>>),
    /// Head to tail.
    List(VecDeque<Vec<u8>>),
    /// Members.
    Set(BTreeSet<Vec<u8>>),
    /// Member to score (never NaN).
    Zset(BTreeMap<Vec<u8>, f64>),
}

impl Collection {
    /// Its type.
    #[must_use]
    pub fn kind(&self) -> CollectionType {
        match self {
            Self::Hash(_) => CollectionType::Hash,
            Self::List(_) => CollectionType::List,
            Self::Set(_) => CollectionType::Set,
            Self::Zset(_) => CollectionType::Zset,
        }
    }

    /// Its element count.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Self::Hash(fields) => fields.len(),
            Self::List(elements) => elements.len(),
            Self::Set(members) => members.len(),
            Self::Zset(members) => members.len(),
        }
    }

    /// Whether it has no element (then the key does not exist).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Its canonical bytes (see the module documentation).
    #[must_use]
    pub fn canonical(&self) -> Vec<u8> {
        fn put(bytes: &mut Vec<u8>, element: &[u8]) {
            let size = u32::try_from(element.len()).unwrap_or(u32::MAX);
            bytes.extend_from_slice(&size.to_le_bytes());
            bytes.extend_from_slice(element);
        }
        let letter = match self {
            Self::Hash(_) => b'h',
            Self::List(_) => b'l',
            Self::Set(_) => b's',
            Self::Zset(_) => b'z',
        };
        let mut bytes = vec![b'#', letter];
        match self {
            Self::Hash(fields) => {
                for (field, value) in fields {
                    put(&mut bytes, field);
                    put(&mut bytes, value);
                }
            }
            Self::List(elements) => elements.iter().for_each(|element| put(&mut bytes, element)),
            Self::Set(members) => members.iter().for_each(|member| put(&mut bytes, member)),
            Self::Zset(members) => {
                for (member, score) in members {
                    put(&mut bytes, member);
                    bytes.extend_from_slice(&score.to_bits().to_le_bytes());
                }
            }
        }
        bytes
    }

    /// Whether the store keeps it in the large form by now (a header and parts): past its
    /// type's entry threshold in `config` (a large collection never converts back, so this
    /// is a lower bound). A list limited in bytes is not counted.
    #[must_use]
    pub fn is_large(&self, config: &Config) -> bool {
        let count = u64::try_from(self.len()).unwrap_or(u64::MAX);
        match self {
            Self::Hash(_) => count > u64::from(config.hash_max_listpack_entries),
            Self::Set(_) => {
                count
                    > u64::from(
                        config
                            .set_max_listpack_entries
                            .max(config.set_max_intset_entries),
                    )
            }
            Self::List(_) => u64::try_from(config.list_max_listpack_size)
                .is_ok_and(|size| size > 0 && count > size),
            Self::Zset(_) => count > u64::from(config.zset_max_listpack_entries),
        }
    }

    /// A short description for messages: the type, the count and the first elements.
    #[must_use]
    pub fn describe(&self) -> String {
        let mut text = format!("{} of {}: ", self.kind().name(), self.len());
        let lossy = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let shown: Vec<String> = match self {
            Self::Hash(fields) => fields
                .iter()
                .map(|(field, value)| format!("{}={}", lossy(field), lossy(value)))
                .collect(),
            Self::List(elements) => elements.iter().map(|element| lossy(element)).collect(),
            Self::Set(members) => members.iter().map(|member| lossy(member)).collect(),
            Self::Zset(members) => members
                .iter()
                .map(|(member, score)| format!("{}={score}", lossy(member)))
                .collect(),
        };
        for element in shown.iter().take(12) {
            let _ = write!(text, "{element} "); // Writing to a String cannot fail.
        }
        if shown.len() > 12 {
            text.push_str("...");
        }
        text
    }
}

/// The store thresholds a run draws: low, so collections take the large form (and split
/// into parts, and chain list nodes) within a few dozen writes.
pub fn thresholds_draw(rng: &mut Prng, config: &mut Config) {
    let small = |rng: &mut Prng| u32::try_from(rng.between(2, 16)).unwrap_or(8);
    config.hash_max_listpack_entries = small(rng);
    config.hash_max_listpack_value = u32::try_from(rng.between(16, 64)).unwrap_or(64);
    config.set_max_intset_entries = small(rng);
    config.set_max_listpack_entries = small(rng);
    config.set_max_listpack_value = u32::try_from(rng.between(16, 64)).unwrap_or(64);
    // Nodes of a few elements, or (one run in four) of 4 KiB.
    config.list_max_listpack_size = if rng.chance(0.25) {
        -1
    } else {
        i32::try_from(rng.between(2, 8)).unwrap_or(4)
    };
    config.zset_max_listpack_entries = small(rng);
    config.zset_max_listpack_value = u32::try_from(rng.between(16, 64)).unwrap_or(64);
}

/// One write the workload makes to a collection: the command, the exact RESP2 reply it
/// owes, and the collection after it.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The command's name, as the checker's history names the op.
    pub name: &'static str,
    /// The arguments, the command's name and key included.
    pub args: Vec<Vec<u8>>,
    /// The exact reply.
    pub reply: Vec<u8>,
    /// The collection afterwards (empty: the key is removed).
    pub after: Collection,
    /// A move's target afterwards (SMOVE, LMOVE to another key); `None` for a write to one
    /// key.
    pub target_after: Option<Collection>,
    /// A move's target afterwards had the move found it missing (the element alone):
    /// what the store holds if the room it made for the move evicted the target first.
    pub target_fresh: Option<Collection>,
}

/// A write to `base` (the key's collection now; empty if the key does not exist) under
/// `key` by op `op_id`: mostly adds, so collections grow past the thresholds.
#[must_use]
pub fn plan(rng: &mut Prng, base: &Collection, key: &[u8], op_id: u64) -> Plan {
    let adding = base.is_empty() || rng.chance(0.6);
    let mut after = base.clone();
    let (name, args, reply): (&'static str, Vec<Vec<u8>>, Vec<u8>) = match &mut after {
        Collection::Hash(fields) if adding => {
            let mut args = vec![b"HSET".to_vec(), key.to_vec()];
            let mut added = 0;
            for index in 0..rng.between(1, ADD_COUNT_MAX) {
                let field = format!("f{}", rng.below(ELEMENT_SPACE)).into_bytes();
                if args.iter().skip(2).step_by(2).any(|named| *named == field) {
                    continue; // One field once per command: the reply counts it once.
                }
                let value = element(rng, format!("v{op_id}.{index}"));
                added += i64::from(fields.insert(field.clone(), value.clone()).is_none());
                args.extend([field, value]);
            }
            ("hset", args, integer(added))
        }
        Collection::Hash(fields) => {
            let chosen = choose(rng, fields.keys(), |rng| {
                format!("f{}", rng.below(ELEMENT_SPACE)).into_bytes()
            });
            let removed = |field: &Vec<u8>| fields.remove(field).is_some();
            removal(chosen, removed, ("hdel", "HDEL"), key)
        }
        Collection::Set(members) if adding => {
            let chosen: Vec<Vec<u8>> = (0..rng.between(1, ADD_COUNT_MAX))
                .map(|_| member_name(rng.below(ELEMENT_SPACE)))
                .collect();
            let chosen = distinct(chosen);
            let added = chosen
                .iter()
                .filter(|member| members.insert((*member).clone()))
                .count();
            ("sadd", command_args("SADD", key, chosen), integer(added))
        }
        Collection::Set(members) => {
            let chosen = choose(rng, members.iter(), |rng| {
                member_name(rng.below(ELEMENT_SPACE))
            });
            removal(
                chosen,
                |member| members.remove(member),
                ("srem", "SREM"),
                key,
            )
        }
        Collection::Zset(members) if adding => {
            let mut args = vec![b"ZADD".to_vec(), key.to_vec()];
            let mut added = 0;
            for _ in 0..rng.between(1, ADD_COUNT_MAX) {
                let member = format!("z{}", rng.below(ELEMENT_SPACE)).into_bytes();
                if args.iter().skip(3).step_by(2).any(|named| *named == member) {
                    continue;
                }
                // Quarters: exact in binary, printed and parsed back exactly.
                let quarters = i32::try_from(rng.below(1_601)).unwrap_or(0) - 800;
                let score = f64::from(quarters) / 4.0;
                added += i64::from(members.insert(member.clone(), score).is_none());
                args.extend([format!("{score}").into_bytes(), member]);
            }
            ("zadd", args, integer(added))
        }
        Collection::Zset(members) => {
            let chosen = choose(rng, members.keys(), |rng| {
                format!("z{}", rng.below(ELEMENT_SPACE)).into_bytes()
            });
            let removed = |member: &Vec<u8>| members.remove(member).is_some();
            removal(chosen, removed, ("zrem", "ZREM"), key)
        }
        Collection::List(elements) => list_plan(rng, elements, key, op_id, adding),
    };
    Plan {
        name,
        args,
        reply,
        after,
        target_after: None,
        target_fresh: None,
    }
}

/// A move of one element from `source` (under `source_key`) to `target` (under
/// `target_key`; `None`: the same key): SMOVE of a member (mostly one the source holds),
/// or LMOVE between any ends. The reply is for keys of the right types; the caller owes
/// `WRONGTYPE` instead where one holds a string.
///
/// # Panics
/// If `source` is neither a set nor a list, or `target` is of another type (a programmer
/// error).
#[must_use]
pub fn move_plan(
    rng: &mut Prng,
    source: &Collection,
    target: Option<&Collection>,
    source_key: &[u8],
    target_key: &[u8],
) -> Plan {
    let mut after = source.clone();
    let mut target_after = target.cloned();
    let mut target_fresh = None;
    if let Some(target) = target {
        assert_eq!(target.kind(), source.kind(), "a move between types");
    }
    let (name, args, reply) = match &mut after {
        Collection::Set(members) => {
            let chosen = choose(rng, members.iter(), |rng| {
                member_name(rng.below(ELEMENT_SPACE))
            });
            let member = chosen.into_iter().next().unwrap_or_default();
            let moved = members.remove(&member);
            let into = match &mut target_after {
                Some(Collection::Set(into)) => into,
                _ => members,
            };
            if moved {
                into.insert(member.clone());
                target_fresh = Some(Collection::Set(BTreeSet::from([member.clone()])));
            }
            let args = command_args("SMOVE", source_key, vec![target_key.to_vec(), member]);
            ("smove", args, integer(u8::from(moved)))
        }
        Collection::List(elements) => {
            let from_head = rng.chance(0.5);
            let to_head = rng.chance(0.5);
            let end = |head: bool| {
                if head {
                    b"LEFT".to_vec()
                } else {
                    b"RIGHT".to_vec()
                }
            };
            let args = command_args(
                "LMOVE",
                source_key,
                vec![target_key.to_vec(), end(from_head), end(to_head)],
            );
            let popped = if from_head {
                elements.pop_front()
            } else {
                elements.pop_back()
            };
            let Some(element) = popped else {
                return Plan {
                    name: "lmove",
                    args,
                    reply: b"$-1\r\n".to_vec(),
                    after,
                    target_after,
                    target_fresh,
                };
            };
            let into = match &mut target_after {
                Some(Collection::List(into)) => into,
                _ => elements,
            };
            if to_head {
                into.push_front(element.clone());
            } else {
                into.push_back(element.clone());
            }
            target_fresh = Some(Collection::List(VecDeque::from([element.clone()])));
            ("lmove", args, bulk(&element))
        }
        other => unreachable!("a move of a {}", other.kind().name()),
    };
    Plan {
        name,
        args,
        reply,
        after,
        target_fresh: target_fresh.filter(|_| target_after.is_some()),
        target_after,
    }
}

/// A list write: a push at either end when `adding`, else a pop, LSET, LINSERT or LTRIM.
fn list_plan(
    rng: &mut Prng,
    elements: &mut VecDeque<Vec<u8>>,
    key: &[u8],
    op_id: u64,
    adding: bool,
) -> (&'static str, Vec<Vec<u8>>, Vec<u8>) {
    let head = rng.chance(0.5);
    if adding {
        let pushed: Vec<Vec<u8>> = (0..rng.between(1, ADD_COUNT_MAX))
            .map(|index| element(rng, format!("e{op_id}.{index}")))
            .collect();
        for element in &pushed {
            if head {
                elements.push_front(element.clone());
            } else {
                elements.push_back(element.clone());
            }
        }
        let (name, command) = if head {
            ("lpush", "LPUSH")
        } else {
            ("rpush", "RPUSH")
        };
        return (
            name,
            command_args(command, key, pushed),
            integer(elements.len()),
        );
    }
    let len = elements.len();
    let pick = rng.below(10);
    if pick == 0 {
        // LSET at an index from either end.
        let index = rng.index(len);
        let value = element(rng, format!("s{op_id}"));
        elements[index] = value.clone();
        let named = if rng.chance(0.5) {
            format!("{index}")
        } else {
            format!("-{}", len - index)
        };
        let args = command_args("LSET", key, vec![named.into_bytes(), value]);
        return ("lset", args, b"+OK\r\n".to_vec());
    }
    if pick == 1 {
        // LINSERT next to an element (every element is unique: named by its op).
        let pivot_index = rng.index(len);
        let pivot = elements[pivot_index].clone();
        let value = element(rng, format!("i{op_id}"));
        let before = rng.chance(0.5);
        let at = if before { pivot_index } else { pivot_index + 1 };
        elements.insert(at, value.clone());
        let place: &[u8] = if before { b"BEFORE" } else { b"AFTER" };
        let args = command_args("LINSERT", key, vec![place.to_vec(), pivot, value]);
        return ("linsert", args, integer(elements.len()));
    }
    if pick == 2 && len > 4 {
        // LTRIM dropping a few elements at either end.
        let start = rng.index(3);
        let stop = rng.index(3) + 1; // From the tail: -1 keeps the last element.
        let kept: VecDeque<Vec<u8>> = elements
            .iter()
            .take(len + 1 - stop)
            .skip(start)
            .cloned()
            .collect();
        *elements = kept;
        let args = command_args(
            "LTRIM",
            key,
            vec![
                format!("{start}").into_bytes(),
                format!("-{stop}").into_bytes(),
            ],
        );
        return ("ltrim", args, b"+OK\r\n".to_vec());
    }
    let count = usize::try_from(rng.between(1, REMOVE_COUNT_MAX)).unwrap_or(1);
    let popped: Vec<Vec<u8>> = (0..count.min(len))
        .filter_map(|_| {
            if head {
                elements.pop_front()
            } else {
                elements.pop_back()
            }
        })
        .collect();
    let (name, command) = if head {
        ("lpop", "LPOP")
    } else {
        ("rpop", "RPOP")
    };
    let args = command_args(command, key, vec![format!("{count}").into_bytes()]);
    (name, args, bulk_array(&popped))
}

/// `PEXPIRE key ms`.
#[must_use]
pub fn expire_args(key: &[u8], ttl_ms: u64) -> Vec<Vec<u8>> {
    command_args("PEXPIRE", key, vec![format!("{ttl_ms}").into_bytes()])
}

/// A set member by number: mostly integers (so a set starts as an intset), some words,
/// and now and then one longer than any `set-max-listpack-value` drawn.
fn member_name(number: u64) -> Vec<u8> {
    match number % 7 {
        0 => format!("m{number}").into_bytes(),
        1 if number.is_multiple_of(5) => {
            format!("long-member-{number}-{}", "x".repeat(64)).into_bytes()
        }
        _ => format!("{number}").into_bytes(),
    }
}

/// An element or value named `name`, padded with letters: mostly short, now and then
/// longer than the `*-max-listpack-value` thresholds.
fn element(rng: &mut Prng, name: String) -> Vec<u8> {
    let mut bytes = name.into_bytes();
    let size = if rng.chance(0.08) {
        rng.between(48, ELEMENT_SIZE_MAX)
    } else {
        rng.below(12)
    };
    let size = usize::try_from(size).unwrap_or(0);
    let mut letter = b'a';
    while bytes.len() < size {
        bytes.push(letter);
        letter = if letter == b'z' { b'a' } else { letter + 1 };
    }
    bytes
}

/// Elements to remove: mostly present ones, now and then one that is not.
fn choose<'a>(
    rng: &mut Prng,
    present: impl ExactSizeIterator<Item = &'a Vec<u8>> + Clone,
    absent: impl Fn(&mut Prng) -> Vec<u8>,
) -> Vec<Vec<u8>> {
    let count = rng.between(1, REMOVE_COUNT_MAX);
    let len = present.len();
    let chosen = (0..count)
        .map(|_| {
            if len > 0 && rng.chance(0.85) {
                let index = rng.index(len);
                present.clone().nth(index).cloned().unwrap_or_default()
            } else {
                absent(rng)
            }
        })
        .collect();
    distinct(chosen)
}

/// A removal of `chosen` (HDEL, SREM, ZREM): `remove` takes one out of the model and
/// says whether it was there; the reply counts those.
fn removal(
    chosen: Vec<Vec<u8>>,
    mut remove: impl FnMut(&Vec<u8>) -> bool,
    (name, command): (&'static str, &str),
    key: &[u8],
) -> (&'static str, Vec<Vec<u8>>, Vec<u8>) {
    let removed = chosen.iter().filter(|element| remove(element)).count();
    (name, command_args(command, key, chosen), integer(removed))
}

/// `elements` without repeats, in first-seen order (a command's reply counts each once).
fn distinct(elements: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut seen = BTreeSet::new();
    elements
        .into_iter()
        .filter(|element| seen.insert(element.clone()))
        .collect()
}

fn command_args(name: &str, key: &[u8], rest: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut args = vec![name.as_bytes().to_vec(), key.to_vec()];
    args.extend(rest);
    args
}

/// `:n` in RESP.
#[must_use]
pub fn integer(value: impl TryInto<i64>) -> Vec<u8> {
    let value: i64 = value.try_into().unwrap_or(i64::MAX);
    format!(":{value}\r\n").into_bytes()
}

/// An array of bulk strings in RESP2 (a pop's reply).
fn bulk_array(elements: &[Vec<u8>]) -> Vec<u8> {
    let mut reply = format!("*{}\r\n", elements.len()).into_bytes();
    for element in elements {
        reply.extend(bulk(element));
    }
    reply
}

/// A bulk string in RESP2.
fn bulk(element: &[u8]) -> Vec<u8> {
    let mut reply = format!("${}\r\n", element.len()).into_bytes();
    reply.extend_from_slice(element);
    reply.extend_from_slice(b"\r\n");
    reply
}

/// Collects a reply in memory.
struct Reply(Vec<u8>);

impl floe_core::codec::resp::ReplySink for Reply {
    fn put(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
}

/// Runs one command through the `Db`'s command path as a door does (prepare, apply,
/// settle) and returns its RESP2 reply. An error reply a write may be refused with (out of
/// memory, a collection past an item's size, the wrong type) is that [`StoreError`].
///
/// # Errors
/// The log failed or refused the write ([`DbError::Runtime`]), or the store refused it.
pub fn command(db: &Db, args: &[Vec<u8>]) -> Result<Vec<u8>, DbError> {
    let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    let mut session = Session::new(1);
    let mut reply = Reply(Vec::new());
    let applied = db.apply(&db.prepare(args.as_slice()), &mut session, &mut reply)?;
    db.settle(applied.durability)?;
    match refusal(&reply.0) {
        Some(error) => Err(DbError::Store(error)),
        None => Ok(reply.0),
    }
}

/// The store error of an error reply a write may legally be refused with.
fn refusal(reply: &[u8]) -> Option<StoreError> {
    if reply.starts_with(b"-OOM ") {
        Some(StoreError::OutOfMemory)
    } else if reply.starts_with(b"-WRONGTYPE ") {
        Some(StoreError::WrongType)
    } else if reply.starts_with(b"-ERR ")
        && reply
            .windows(b"maximum size".len())
            .any(|window| window == b"maximum size")
    {
        Some(StoreError::CollectionTooLarge)
    } else {
        None
    }
}

/// What a key holds, read back.
#[derive(Debug, Clone, PartialEq)]
pub enum Observed {
    /// A string.
    String(Vec<u8>),
    /// A collection (never empty) and its expiry (absolute ms, `0` for none).
    Collection(Collection, u64),
}

impl Observed {
    /// The bytes the checker compares: a string's own; for a collection, [`observed_bytes`].
    #[must_use]
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Self::String(value) => value.clone(),
            Self::Collection(collection, expires_at) => observed_bytes(collection, *expires_at),
        }
    }
}

/// What the checker compares for a collection: its canonical bytes, then its expiry (8
/// bytes LE, `0` for none). The expiry is part of it because an unacknowledged PEXPIRE
/// changes nothing else: without it, a recovery that dropped one would look like one that
/// kept it, and the model would then expect the key to expire.
#[must_use]
pub fn observed_bytes(collection: &Collection, expires_at: u64) -> Vec<u8> {
    let mut bytes = collection.canonical();
    bytes.extend_from_slice(&expires_at.to_le_bytes());
    bytes
}

/// Reads `key` back through the command path, whatever it holds: its type, then the
/// whole value (a collection's count checked against its elements, and its expiry).
///
/// # Errors
/// A reply that is not what the read command must reply, a count that disagrees with the
/// elements, a repeated field or member, a sorted set out of order, or an empty
/// collection: the store serves a broken value.
pub fn read(db: &Db, key: &[u8]) -> Result<Option<Observed>, String> {
    let read = |args: &[&[u8]]| {
        let args: Vec<Vec<u8>> = args.iter().map(|arg| arg.to_vec()).collect();
        command(db, &args).map_err(|error| format!("{} failed: {error}", lossy(&args[0])))
    };
    let type_reply = read(&[b"TYPE", key])?;
    let name = type_reply
        .strip_prefix(b"+")
        .and_then(|rest| rest.strip_suffix(b"\r\n"))
        .ok_or_else(|| format!("TYPE replied {}", lossy(&type_reply)))?;
    let kind = match name {
        b"none" => return Ok(None),
        b"string" => return Ok(db.get(key).map(Observed::String)),
        other => CollectionType::of_name(other)
            .ok_or_else(|| format!("TYPE replied {}", lossy(&type_reply)))?,
    };
    let (elements_args, count_args): (Vec<&[u8]>, Vec<&[u8]>) = match kind {
        CollectionType::Hash => (vec![b"HGETALL", key], vec![b"HLEN", key]),
        CollectionType::List => (vec![b"LRANGE", key, b"0", b"-1"], vec![b"LLEN", key]),
        CollectionType::Set => (vec![b"SMEMBERS", key], vec![b"SCARD", key]),
        CollectionType::Zset => (
            vec![b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"],
            vec![b"ZCARD", key],
        ),
    };
    let elements = bulks(&read(&elements_args)?)?;
    let collection = collect(kind, elements)?;
    let count_reply = read(&count_args)?;
    if count_reply != integer(collection.len()) {
        return Err(format!(
            "{} replied {} but the {} holds {} elements",
            lossy(count_args[0]),
            lossy(&count_reply),
            kind.name(),
            collection.len()
        ));
    }
    if collection.is_empty() {
        return Err(format!("an empty {} exists", kind.name()));
    }
    let expiry_reply = read(&[b"PEXPIRETIME", key])?;
    let expires_at = match expiry_reply.as_slice() {
        b":-1\r\n" => 0,
        reply => reply
            .strip_prefix(b":")
            .and_then(|rest| rest.strip_suffix(b"\r\n"))
            .and_then(|digits| std::str::from_utf8(digits).ok()?.parse::<u64>().ok())
            .ok_or_else(|| format!("PEXPIRETIME replied {}", lossy(reply)))?,
    };
    Ok(Some(Observed::Collection(collection, expires_at)))
}

/// The elements a read command returned, as a collection of `kind`.
fn collect(kind: CollectionType, elements: Vec<Vec<u8>>) -> Result<Collection, String> {
    let twice = |element: &[u8]| {
        format!(
            "the {} returned {} twice",
            kind.name(),
            lossy(element).chars().take(80).collect::<String>()
        )
    };
    let mut collection = kind.empty();
    match &mut collection {
        Collection::Hash(fields) => {
            for pair in elements.chunks(2) {
                let [field, value] = pair else {
                    return Err("HGETALL returned an odd number of elements".to_owned());
                };
                if fields.insert(field.clone(), value.clone()).is_some() {
                    return Err(twice(field));
                }
            }
        }
        Collection::List(list) => list.extend(elements),
        Collection::Set(members) => {
            for member in elements {
                if !members.insert(member.clone()) {
                    return Err(twice(&member));
                }
            }
        }
        Collection::Zset(members) => {
            let mut previous: Option<(f64, Vec<u8>)> = None;
            for pair in elements.chunks(2) {
                let [member, score_text] = pair else {
                    return Err("ZRANGE returned an odd number of elements".to_owned());
                };
                let score: f64 = std::str::from_utf8(score_text)
                    .ok()
                    .and_then(|text| text.parse().ok())
                    .ok_or_else(|| format!("ZRANGE returned score {}", lossy(score_text)))?;
                if let Some((score_before, member_before)) = &previous
                    && (*score_before, member_before.as_slice()) >= (score, member.as_slice())
                {
                    return Err(format!(
                        "ZRANGE returned {} after {}: out of order",
                        lossy(member),
                        lossy(member_before)
                    ));
                }
                if members.insert(member.clone(), score).is_some() {
                    return Err(twice(member));
                }
                previous = Some((score, member.clone()));
            }
        }
    }
    Ok(collection)
}

/// The bulk strings of an array reply.
fn bulks(reply: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let limits = Limits::DEFAULT;
    let malformed = || format!("a read replied {}", lossy(reply));
    let (head, mut position) = Frame::parse_head(reply, &limits).map_err(|_| malformed())?;
    let Frame::Array(count) = head else {
        return Err(malformed());
    };
    let mut elements = Vec::with_capacity(count);
    for _ in 0..count {
        let rest = reply.get(position..).ok_or_else(malformed)?;
        let (frame, size) = Frame::parse_head(rest, &limits).map_err(|_| malformed())?;
        let Frame::Bulk(bytes) = frame else {
            return Err(malformed());
        };
        elements.push(bytes.to_vec());
        position += size;
    }
    if position != reply.len() {
        return Err(malformed());
    }
    Ok(elements)
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests;
