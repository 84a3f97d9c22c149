//! Keyspace notifications end to end: a subscriber with `PSUBSCRIBE __key*@*__:*` while
//! another connection runs a series of commands (strings, keys, hashes, lists, sets, sorted
//! sets, SORT STORE, expiry lazy and active, class filters, the setting turned off), against
//! a real redis-server and against floe on each event loop: the messages received must be
//! the same, in the same order. Then what Redis cannot be compared on: eviction (memory is
//! counted differently), where every evicted key must be announced exactly once.

mod common;

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::server::{Server, Target};
use redis::Commands;

/// The channel the end marker is published on (the pattern matches it).
const END_CHANNEL: &str = "__keyspace@0__:~end";

/// How long a check waits for a message before failing.
const SETTLE_MAX: Duration = Duration::from_secs(30);

#[test]
fn floe_events_match_redis() {
    events_match_redis(Target::Floe);
}

#[test]
fn floe_epoll_events_match_redis() {
    events_match_redis(Target::FloeEpoll);
}

#[test]
fn floe_evictions_are_announced() {
    evictions_are_announced(Target::Floe);
}

#[test]
fn floe_epoll_evictions_are_announced() {
    evictions_are_announced(Target::FloeEpoll);
}

/// Starts `target` with two workers (so the subscriber and the writer may be on
/// different ones) and `extra` options.
fn start(target: Target, extra: &[&str]) -> Server {
    let mut args = vec!["--workers", "2"];
    args.extend_from_slice(extra);
    target.start_with(&args)
}

fn connect(server: &Server) -> redis::Connection {
    redis::Client::open(server.url(""))
        .expect("a valid URL")
        .get_connection()
        .unwrap_or_else(|error| panic!("connect to {}: {error}", server.name))
}

/// One received message: the channel and the payload.
type Message = (String, String);

/// A subscriber of `pattern` on its own thread: every message, until the end marker,
/// arrives on the returned channel.
fn subscribe(server: &Server, pattern: &str) -> (mpsc::Receiver<Message>, thread::JoinHandle<()>) {
    let mut connection = connect(server);
    let pattern = pattern.to_owned();
    let (ready_sender, ready) = mpsc::channel();
    let (sender, receiver) = mpsc::channel();
    let handle = thread::spawn(move || {
        let mut pubsub = connection.as_pubsub();
        pubsub.psubscribe(&pattern).expect("PSUBSCRIBE");
        ready_sender.send(()).expect("tell the test");
        loop {
            let message = pubsub.get_message().expect("a message");
            let channel = message.get_channel_name().to_owned();
            let payload: String = message.get_payload().expect("a payload");
            let end = channel == END_CHANNEL;
            if sender.send((channel, payload)).is_err() || end {
                return;
            }
        }
    });
    ready.recv().expect("the subscriber is ready");
    (receiver, handle)
}

/// Every message before the end marker (which `commands` publishes last).
fn collect(receiver: &mpsc::Receiver<Message>) -> Vec<Message> {
    let mut messages = Vec::new();
    loop {
        let message = receiver
            .recv_timeout(SETTLE_MAX)
            .expect("a message (or the end marker) within the wait");
        if message.0 == END_CHANNEL {
            return messages;
        }
        messages.push(message);
    }
}

/// Waits until the subscriber got `(channel, payload)`, keeping what came before in
/// `seen`.
fn wait_for(receiver: &mpsc::Receiver<Message>, seen: &mut Vec<Message>, wanted: &Message) {
    let started = Instant::now();
    while !seen.contains(wanted) {
        let left = SETTLE_MAX.saturating_sub(started.elapsed());
        let message = receiver
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("{wanted:?} within {SETTLE_MAX:?}; got {seen:#?}"));
        seen.push(message);
    }
}

/// The commands of the comparison, one per line, split on spaces.
const SCRIPT: &str = "
SET s 1
SET s 2 EX 100
SET s 3 KEEPTTL
SETEX s2 100 v
PSETEX s3 100000 v
SETNX s 4
SETNX s4 v
GETSET s 5
MSET m1 a m2 b
MSETNX m1 x m3 y
MSETNX m3 x m4 y
INCR n
DECR n
INCRBY n 5
DECRBY n 2
INCRBYFLOAT f 1.5
APPEND s 9
SETRANGE s 0 x
GETDEL m1
GETDEL m1
GETEX m2 EX 100
GETEX m2 PERSIST
GETEX m2
EXPIRE s 100
PEXPIRE s 100000
EXPIREAT s 9999999999
PERSIST s
PERSIST s
EXPIRE s2 0
DEL m2 m3 nokey
UNLINK m4
RENAME s r
RENAMENX r s4
RENAME r r
COPY r c
COPY r c
COPY r c REPLACE
COPY r c DB 2
MOVE c 1
HSET h a 1 b 2
HSET h a 1
HSETNX h a 9
HSETNX h c 3
HMSET h d 4
HINCRBY h n 1
HINCRBYFLOAT h f 1.5
HDEL h a nope
HDEL h nope
HDEL h b c d n f
RPUSH l a b c d
LPUSH l z
LPUSHX nol x
RPUSHX l e
LINSERT l BEFORE a y
LSET l 0 q
LPOP l
RPOP l 2
LREM l 1 y
LTRIM l 0 0
LMOVE l l2 LEFT RIGHT
RPUSH l2 w
RPOPLPUSH l2 l2
LMOVE l2 l2 LEFT LEFT
LMPOP 1 l2 LEFT
LMPOP 1 l2 RIGHT
RPUSH l3 a b
BRPOP l3 1
BLMOVE l3 l4 RIGHT LEFT 1
BLPOP l4 1
SADD st a b c
SADD st a
SREM st a nope
SMOVE st st2 b
SMOVE st st2 c
SPOP st2
SADD x1 1 2
SADD x2 2 3
SINTERSTORE d1 x1 x2
SUNIONSTORE d1 x1 x2
SDIFFSTORE d1 x1 x1
SDIFFSTORE d1 x1 x1
ZADD z 1 a 2 b
ZADD z 1 a
ZADD z INCR 5 a
ZINCRBY z 1 b
ZADD z XX CH 3 c
ZREM z nope
ZREM z a
ZADD z 3 c 4 d 5 e
ZPOPMIN z
ZPOPMAX z
ZREMRANGEBYSCORE z 0 3
ZADD z 1 a 2 b
ZREMRANGEBYRANK z 0 0
ZREMRANGEBYLEX z - +
ZADD z1 1 a
ZADD z2 1 a 2 b
ZUNIONSTORE zu 2 z1 z2
ZINTERSTORE zu 2 z1 z2
ZDIFFSTORE zu 2 z1 z2
ZRANGESTORE zr z2 0 -1
ZMPOP 1 z2 MIN
BZPOPMAX z2 1
RPUSH sl 3 1 2
SORT sl STORE so
SORT nol STORE so
MULTI
SET t 1
LPUSH tl a
DEL t
EXEC
SET past2 v
GETEX past2 PXAT 1
SET past3 v
EXPIRE past3 -1
SET g 1 GET
SET g 2 XX GET
SET g2 1 XX
INCRBYFLOAT g 0.5
FLUSHDB
SET gone v PX 1
";

/// Waits until INFO says a client is blocked.
fn wait_blocked(commands: &mut redis::Connection) {
    let started = Instant::now();
    loop {
        let info: String = redis::cmd("INFO")
            .arg("clients")
            .query(commands)
            .expect("INFO");
        if info.contains("blocked_clients:1") {
            return;
        }
        assert!(started.elapsed() < SETTLE_MAX, "no client blocked: {info}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// Commands on collections past the compact limits (floe keeps them as parts, each part
/// its own record; still one event per command and key).
fn large_collections() -> Vec<String> {
    let pairs: Vec<String> = (0..600).map(|index| format!("f{index} v{index}")).collect();
    let elements: Vec<String> = (0..1000)
        .map(|index| format!("element-{index:012}"))
        .collect();
    let members: Vec<String> = (0..300).map(|index| format!("m{index}")).collect();
    let scored: Vec<String> = (0..300).map(|index| format!("{index} m{index}")).collect();
    [
        format!("HSET big {}", pairs.join(" ")),
        "HSET big f0 x".to_owned(),
        "HDEL big f1 f2".to_owned(),
        "HINCRBY big n 1".to_owned(),
        "DEL big".to_owned(),
        format!("RPUSH biglist {}", elements.join(" ")),
        "LPOP biglist 10".to_owned(),
        "LSET biglist 500 x".to_owned(),
        "RENAME biglist bl2".to_owned(),
        "LTRIM bl2 0 1".to_owned(),
        "DEL bl2".to_owned(),
        format!("SADD bigset {}", members.join(" ")),
        "SREM bigset m1 m2 m3".to_owned(),
        "SINTERSTORE d9 bigset bigset".to_owned(),
        "COPY d9 d10".to_owned(),
        "DEL d9 bigset d10".to_owned(),
        format!("ZADD bigz {}", scored.join(" ")),
        "ZREM bigz m7".to_owned(),
        "ZREMRANGEBYRANK bigz 0 9".to_owned(),
        "ZPOPMAX bigz 3".to_owned(),
        "MOVE bigz 4".to_owned(),
    ]
    .into()
}

/// The same series, against `target` and against Redis: the same messages.
fn events_match_redis(target: Target) {
    let redis = run_script(Target::Redis);
    let floe = run_script(target);
    assert!(
        redis
            .iter()
            .any(|(channel, _)| channel == "__keyevent@0__:expired"),
        "the series has an expiry: {redis:#?}"
    );
    assert!(
        redis.contains(&("__keyspace@0__:bq".to_owned(), "lpop".to_owned())),
        "the series serves a blocked pop: {redis:#?}"
    );
    assert!(
        redis == floe,
        "{} differs from redis (- redis only, + {} only):\n{}",
        target.name(),
        target.name(),
        diff(&redis, &floe)
    );
}

/// The lines of a minimal edit from `expected` to `got`: `-` dropped, `+` added, with
/// the message number in `expected` of each.
fn diff(expected: &[Message], got: &[Message]) -> String {
    // Longest common subsequence, from the ends.
    let (rows, columns) = (expected.len(), got.len());
    let mut common = vec![vec![0_usize; columns + 1]; rows + 1];
    for row in (0..rows).rev() {
        for column in (0..columns).rev() {
            common[row][column] = if expected[row] == got[column] {
                common[row + 1][column + 1] + 1
            } else {
                common[row + 1][column].max(common[row][column + 1])
            };
        }
    }
    let (mut row, mut column, mut report) = (0, 0, String::new());
    while row < rows || column < columns {
        if row < rows && column < columns && expected[row] == got[column] {
            row += 1;
            column += 1;
        } else if column == columns
            || (row < rows && common[row + 1][column] >= common[row][column + 1])
        {
            report.push_str(&format!("{row:4} - {:?}\n", expected[row]));
            row += 1;
        } else {
            report.push_str(&format!("{row:4} + {:?}\n", got[column]));
            column += 1;
        }
    }
    report
}

/// Runs the comparison's series on a fresh `target` and returns what the subscriber got.
fn run_script(target: Target) -> Vec<Message> {
    let server = start(target, &[]);
    let mut commands = connect(&server);
    // Setting errors change nothing; the setting reads back in Redis's form.
    let refused: redis::RedisResult<()> = redis::cmd("CONFIG")
        .arg(&["SET", "notify-keyspace-events", "KEb"])
        .query(&mut commands);
    let error = refused.expect_err("a bad letter is refused");
    assert!(
        error.to_string().contains("Invalid event class character"),
        "{error}"
    );
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "notify-keyspace-events", "KEA"])
        .query(&mut commands)
        .expect("CONFIG SET");
    let shown: Vec<String> = redis::cmd("CONFIG")
        .arg(&["GET", "notify-keyspace-events"])
        .query(&mut commands)
        .expect("CONFIG GET");
    assert_eq!(shown, ["notify-keyspace-events", "AKE"]);
    let (receiver, handle) = subscribe(&server, "__key*@*__:*");
    // A blocked pop served by another client's push: `lpush`, then the pop's `lpop` and
    // `del`.
    let mut blocked = connect(&server);
    let popper = thread::spawn(move || {
        let popped: (String, String) = redis::cmd("BLPOP")
            .arg(&["bq", "0"])
            .query(&mut blocked)
            .expect("BLPOP");
        popped
    });
    wait_blocked(&mut commands);
    let _: i64 = commands.lpush("bq", "served").expect("LPUSH");
    assert_eq!(
        popper.join().expect("the popping thread"),
        ("bq".to_owned(), "served".to_owned())
    );
    let large = large_collections();
    let lines = SCRIPT
        .lines()
        .filter(|line| !line.is_empty())
        .chain(large.iter().map(String::as_str));
    for line in lines {
        let words: Vec<&str> = line.split(' ').collect();
        let _: redis::Value = redis::cmd(words[0])
            .arg(&words[1..])
            .query(&mut commands)
            .unwrap_or_else(|error| panic!("{}: {line}: {error}", target.name()));
    }
    // `gone` expired within a millisecond: removed lazily by a write (expired, then set),
    let mut seen = Vec::new();
    thread::sleep(Duration::from_millis(20));
    let _: () = commands.set("gone", "again").expect("SET");
    wait_for(
        &receiver,
        &mut seen,
        &("__keyspace@0__:gone".to_owned(), "set".to_owned()),
    );
    // ... and actively, with nobody touching it.
    let _: () = redis::cmd("SET")
        .arg(&["idle", "v", "PX", "1"])
        .query(&mut commands)
        .expect("SET PX");
    wait_for(
        &receiver,
        &mut seen,
        &("__keyspace@0__:idle".to_owned(), "expired".to_owned()),
    );
    // Class filters: generic key events only, then string keyspace events only, then off.
    for (flags, commands_run) in [
        ("Eg", &["SET q 1", "DEL q"][..]),
        ("K$", &["SET q 2", "EXPIRE q 100"][..]),
        ("", &["SET q 3", "DEL q"][..]),
        ("KA", &["SELECT 3", "SET q 4", "SELECT 0"][..]),
    ] {
        let _: () = redis::cmd("CONFIG")
            .arg(&["SET", "notify-keyspace-events", flags])
            .query(&mut commands)
            .expect("CONFIG SET");
        for line in commands_run {
            let words: Vec<&str> = line.split(' ').collect();
            let _: redis::Value = redis::cmd(words[0])
                .arg(&words[1..])
                .query(&mut commands)
                .expect(line);
        }
    }
    let _: i64 = commands.publish(END_CHANNEL, "end").expect("PUBLISH");
    seen.extend(collect(&receiver));
    handle.join().expect("the subscriber thread");
    seen
}

/// Eviction (floe only: Redis counts memory differently): with a small memory and
/// `allkeys-random`, writing many keys evicts some, and the subscriber hears `evicted` for
/// exactly the keys that are gone, once each.
fn evictions_are_announced(target: Target) {
    let server = start(
        target,
        &[
            "--maxmemory",
            "1mb",
            "--maxmemory-policy",
            "allkeys-random",
            "--notify-keyspace-events",
            "Ee",
        ],
    );
    let mut commands = connect(&server);
    let (receiver, handle) = subscribe(&server, "__key*@*__:*");
    const KEY_COUNT: usize = 4000;
    let value = "v".repeat(1000);
    for index in 0..KEY_COUNT {
        let _: () = commands.set(format!("k{index}"), &value).expect("SET");
    }
    let _: i64 = commands.publish(END_CHANNEL, "end").expect("PUBLISH");
    let messages = {
        let mut messages = Vec::new();
        loop {
            let message = receiver.recv_timeout(SETTLE_MAX).expect("a message");
            if message.0 == END_CHANNEL {
                break messages;
            }
            messages.push(message);
        }
    };
    handle.join().expect("the subscriber thread");
    assert!(
        messages
            .iter()
            .all(|(channel, _)| channel == "__keyevent@0__:evicted"),
        "only evicted events (class e): {messages:?}"
    );
    let mut evicted: Vec<&str> = messages.iter().map(|(_, key)| key.as_str()).collect();
    assert!(!evicted.is_empty(), "1mb cannot hold 4mb of values");
    evicted.sort_unstable();
    let count = evicted.len();
    evicted.dedup();
    assert_eq!(evicted.len(), count, "each key evicted once");
    for key in &evicted {
        let exists: bool = commands.exists(*key).expect("EXISTS");
        assert!(!exists, "{key} was announced evicted but exists");
    }
    let size: usize = redis::cmd("DBSIZE").query(&mut commands).expect("DBSIZE");
    assert_eq!(size + count, KEY_COUNT, "every missing key was announced");
}
