//! `floe serve` killed with SIGKILL while clients change lists, hashes, sets and sorted
//! sets, then restarted on the same data directory: each collection must be exactly what
//! the acknowledged commands made of it, give or take the one command a client had in
//! flight when the server died.
//!
//! Each writer owns one key of each type and keeps a model of it: pushes and pops, field
//! writes and deletes, member adds and removes, score changes. Values run from 1 to 120
//! bytes and collections to a few hundred elements, so both the compact forms and the
//! large ones (parts, list nodes, a sorted set's tree) are written, rewritten and
//! replayed. Rounds run on one directory, so each restart replays what every earlier kill
//! left, and the next round goes on from what was found. Reads go through the `redis`
//! crate, a client nobody here wrote.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::replication::connect;
use common::server::{Client, Server, escape};

/// Writer threads, each on its own connection with its own four keys.
const WRITER_COUNT: usize = 3;
/// Acknowledged commands (all writers together) before the kill.
const ACKNOWLEDGED_PER_ROUND: usize = 3_000;
/// How long the writers may take to reach [`ACKNOWLEDGED_PER_ROUND`].
const WRITE_WAIT_MAX: Duration = Duration::from_secs(120);

#[test]
fn sigkill_always_uring() {
    rounds("uring", "always", 3);
}

#[test]
fn sigkill_everysec_epoll() {
    rounds("epoll", "everysec", 3);
}

#[test]
fn sigkill_no_uring() {
    rounds("uring", "no", 3);
}

/// What one writer's four keys hold.
#[derive(Debug, Clone, Default, PartialEq)]
struct Model {
    list: Vec<Vec<u8>>,
    hash: BTreeMap<Vec<u8>, Vec<u8>>,
    set: BTreeSet<Vec<u8>>,
    zset: BTreeMap<Vec<u8>, i64>,
}

/// One command of a writer, as sent, and how it changes the model.
#[derive(Debug, Clone)]
enum Op {
    Push(Vec<u8>),
    Pop,
    HashSet(Vec<u8>, Vec<u8>),
    HashDelete(Vec<u8>),
    SetAdd(Vec<u8>),
    SetRemove(Vec<u8>),
    ZsetAdd(Vec<u8>, i64),
    ZsetRemove(Vec<u8>),
}

impl Op {
    fn apply(&self, model: &mut Model) {
        match self {
            Self::Push(value) => model.list.push(value.clone()),
            Self::Pop => {
                if !model.list.is_empty() {
                    model.list.remove(0);
                }
            }
            Self::HashSet(field, value) => {
                model.hash.insert(field.clone(), value.clone());
            }
            Self::HashDelete(field) => {
                model.hash.remove(field);
            }
            Self::SetAdd(member) => {
                model.set.insert(member.clone());
            }
            Self::SetRemove(member) => {
                model.set.remove(member);
            }
            Self::ZsetAdd(member, score) => {
                model.zset.insert(member.clone(), *score);
            }
            Self::ZsetRemove(member) => {
                model.zset.remove(member);
            }
        }
    }

    fn command(&self, writer: usize) -> Vec<Vec<u8>> {
        let key = |kind: &str| format!("{kind}:w{writer}").into_bytes();
        let words = |words: &[&[u8]]| words.iter().map(|word| word.to_vec()).collect();
        match self {
            Self::Push(value) => words(&[b"RPUSH", &key("list"), value]),
            Self::Pop => words(&[b"LPOP", &key("list")]),
            Self::HashSet(field, value) => words(&[b"HSET", &key("hash"), field, value]),
            Self::HashDelete(field) => words(&[b"HDEL", &key("hash"), field]),
            Self::SetAdd(member) => words(&[b"SADD", &key("set"), member]),
            Self::SetRemove(member) => words(&[b"SREM", &key("set"), member]),
            Self::ZsetAdd(member, score) => {
                words(&[b"ZADD", &key("zset"), score.to_string().as_bytes(), member])
            }
            Self::ZsetRemove(member) => words(&[b"ZREM", &key("zset"), member]),
        }
    }
}

/// xorshift64*, seeded per round and writer.
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let value = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % bound as u64;
        usize::try_from(value).expect("below a usize")
    }

    /// An element of 1 to 120 bytes: past 64 bytes a collection takes its large form.
    fn element(&mut self, space: usize) -> Vec<u8> {
        let name = self.below(space);
        let length = 1 + self.below(120);
        let mut bytes = format!("e{name}-").into_bytes();
        let filler = b"abcdefghijklmnopqrstuvwxyz"[name % 26];
        bytes.resize(length.max(bytes.len()), filler);
        bytes
    }

    fn op(&mut self, model: &Model) -> Op {
        match self.below(8) {
            0 | 1 => Op::Push(self.element(1 << 20)),
            2 if model.list.len() > 200 => Op::Pop,
            2 => Op::Push(self.element(1 << 20)),
            3 => Op::HashSet(self.element(300), self.element(1 << 20)),
            4 => Op::HashDelete(self.element(300)),
            5 => Op::SetAdd(self.element(400)),
            6 if self.below(3) == 0 => Op::SetRemove(self.element(400)),
            6 => Op::ZsetRemove(self.element(300)),
            _ => {
                let score = i64::try_from(self.below(2_000)).expect("small") - 1_000;
                Op::ZsetAdd(self.element(300), score)
            }
        }
    }
}

/// `round_count` rounds of: start on the shared directory, check every writer's keys
/// against its model (or the model with its in-flight command), write, SIGKILL. Then one
/// last start and check.
fn rounds(io: &str, fsync: &str, round_count: usize) {
    let data = common::scratch(&format!(
        "server-crash-collections-{io}-{fsync}-{}",
        std::process::id()
    ))
    .join("data");
    let mut models = vec![(Model::default(), None::<Op>); WRITER_COUNT];
    for round in 0..=round_count {
        let mut server = start(io, fsync, &data);
        for (writer, (model, in_flight)) in models.iter_mut().enumerate() {
            *model = check(&server, writer, model, in_flight.take(), round);
        }
        if round == round_count {
            // The large forms were written and replayed, not only the compact ones.
            let mut client = server.client();
            for (key, encoding) in [
                ("list:w0", "quicklist"),
                ("hash:w0", "hashtable"),
                ("set:w0", "hashtable"),
                ("zset:w0", "skiplist"),
            ] {
                let reply = client.command(&[b"OBJECT", b"ENCODING", key.as_bytes()]);
                let expected = format!("${}\r\n{encoding}\r\n", encoding.len());
                assert_eq!(reply, expected.into_bytes(), "{key}: {}", escape(&reply));
            }
            break;
        }
        models = write_and_kill(&mut server, round, models);
    }
}

fn start(io: &str, fsync: &str, data: &Path) -> Server {
    let data = data.to_str().expect("a UTF-8 path");
    Server::floe(&["--io", io, "--appendfsync", fsync, "--dir", data])
}

/// Runs the writers until [`ACKNOWLEDGED_PER_ROUND`] commands are acknowledged, kills the
/// server while they keep writing, and returns each writer's model with the command it
/// had in flight.
fn write_and_kill(
    server: &mut Server,
    round: usize,
    models: Vec<(Model, Option<Op>)>,
) -> Vec<(Model, Option<Op>)> {
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = models
        .into_iter()
        .enumerate()
        .map(|(writer, (model, _))| {
            let client = server.client();
            let count = Arc::clone(&acknowledged);
            thread::spawn(move || write_until_refused(client, round, writer, model, &count))
        })
        .collect();
    let started = Instant::now();
    while acknowledged.load(Ordering::Relaxed) < ACKNOWLEDGED_PER_ROUND {
        assert!(
            started.elapsed() < WRITE_WAIT_MAX,
            "round {round}: only {} commands acknowledged in {WRITE_WAIT_MAX:?}; log {}",
            acknowledged.load(Ordering::Relaxed),
            server.log.display()
        );
        thread::sleep(Duration::from_millis(5));
    }
    server.kill();
    writers
        .into_iter()
        .map(|writer| writer.join().expect("a writer thread panicked"))
        .collect()
}

/// Sends commands until the server stops answering; every reply must be an integer or a
/// bulk string (LPOP), never an error. Returns the model of what was acknowledged and the
/// command in flight when the connection failed.
fn write_until_refused(
    mut client: Client,
    round: usize,
    writer: usize,
    mut model: Model,
    count: &AtomicUsize,
) -> (Model, Option<Op>) {
    let seed = format!("{round}/{writer}")
        .bytes()
        .fold(0x9e37_79b9_7f4a_7c15, |seed, byte| {
            (seed ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    let mut rng = Rng(seed | 1);
    loop {
        let op = rng.op(&model);
        let command = op.command(writer);
        let arguments: Vec<&[u8]> = command.iter().map(Vec::as_slice).collect();
        match client.try_command(&arguments) {
            Ok(reply) if matches!(reply.first(), Some(b':' | b'$')) => {
                op.apply(&mut model);
                count.fetch_add(1, Ordering::Relaxed);
            }
            Ok(reply) => panic!("{op:?} got {}", escape(&reply)),
            // The server is gone: this command may or may not have been applied.
            Err(_) => return (model, Some(op)),
        }
    }
}

/// Reads writer `writer`'s four keys and compares them with `model`, or with `model` and
/// the command in flight at the kill; returns the model that matched.
fn check(
    server: &Server,
    writer: usize,
    model: &Model,
    in_flight: Option<Op>,
    round: usize,
) -> Model {
    let mut connection = connect(server);
    let list: Vec<Vec<u8>> = redis::cmd("LRANGE")
        .arg(format!("list:w{writer}"))
        .arg(0)
        .arg(-1)
        .query(&mut connection)
        .expect("LRANGE");
    let hash: BTreeMap<Vec<u8>, Vec<u8>> = redis::cmd("HGETALL")
        .arg(format!("hash:w{writer}"))
        .query(&mut connection)
        .expect("HGETALL");
    let set: BTreeSet<Vec<u8>> = redis::cmd("SMEMBERS")
        .arg(format!("set:w{writer}"))
        .query(&mut connection)
        .expect("SMEMBERS");
    let zset: Vec<(Vec<u8>, i64)> = redis::cmd("ZRANGE")
        .arg(format!("zset:w{writer}"))
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(&mut connection)
        .expect("ZRANGE");
    let found = Model {
        list,
        hash,
        set,
        zset: zset.into_iter().collect(),
    };
    if &found == model {
        return found;
    }
    if let Some(op) = &in_flight {
        let mut with = model.clone();
        op.apply(&mut with);
        if found == with {
            return found;
        }
    }
    panic!(
        "start of round {round}, writer {writer}: the keys disagree with the acknowledged \
         commands (in flight: {:?});\nlist {} found, {} expected; hash {} / {}; \
         set {} / {}; zset {} / {}; first differences: list {:?}, hash {:?}; log {}",
        in_flight.map(|op| op
            .command(writer)
            .iter()
            .map(|word| escape(word))
            .collect::<Vec<_>>()),
        found.list.len(),
        model.list.len(),
        found.hash.len(),
        model.hash.len(),
        found.set.len(),
        model.set.len(),
        found.zset.len(),
        model.zset.len(),
        found.list.iter().zip(&model.list).position(|(a, b)| a != b),
        found.hash.iter().zip(&model.hash).find(|(a, b)| a != b),
        server.log.display()
    );
}
