//! Slot migration end to end, and the DUMP/RESTORE it is built on.
//!
//! Pins: DUMP payloads cross between floe and a real `redis-server` 7.0 both ways
//! (strings in every encoding Redis writes, hashes as listpacks and as tables, sets as
//! intsets and tables, lists of one and many quicklist nodes, sorted sets as listpacks and
//! skiplists, with TTLs);
//! `CLUSTER SETSLOT` and the `-ASK`/`-TRYAGAIN` routing, compared with a Redis node in
//! cluster mode; `floe cluster move-slots` under a writing cluster client loses no
//! acknowledged write; a source killed -9 mid-migration and the migration re-run loses
//! nothing.

mod common;

use common::server::{Client, Server};

fn text(reply: &[u8]) -> String {
    String::from_utf8_lossy(reply).into_owned()
}

fn command(client: &mut Client, args: &[&str]) -> String {
    let args: Vec<&[u8]> = args.iter().map(|arg| arg.as_bytes()).collect();
    text(&client.command(&args))
}

/// The payload of a bulk reply (`$n\r\n<payload>\r\n`).
fn bulk_bytes(reply: &[u8]) -> Vec<u8> {
    assert_eq!(reply.first(), Some(&b'$'), "{}", text(reply));
    let start = reply
        .iter()
        .position(|&byte| byte == b'\n')
        .expect("header")
        + 1;
    reply[start..reply.len() - 2].to_vec()
}

/// Writes the same values into `client`: strings Redis int-encodes, keeps raw and
/// compresses, a small hash (a listpack in Redis) and a large one (a table in Redis), and
/// sets, lists and sorted sets small and large (each of Redis's encodings).
fn write_values(client: &mut Client) {
    let long = "ab".repeat(200);
    let mut args: Vec<String> = vec!["HSET".into(), "big-hash".into()];
    for index in 0..200 {
        args.push(format!("field-{index}"));
        args.push(format!("{}", index * 1000));
    }
    let big: Vec<&str> = args.iter().map(String::as_str).collect();
    let many = |command: &str, key: &str, count: usize, item: &dyn Fn(usize) -> Vec<String>| {
        let mut args = vec![command.to_owned(), key.to_owned()];
        for index in 0..count {
            args.extend(item(index));
        }
        args
    };
    let big_set = many("SADD", "big-set", 600, &|index| {
        vec![format!("member-{index}")]
    });
    let big_list = many("RPUSH", "big-list", 3000, &|index| {
        vec![format!("element-{}", index % 7)]
    });
    let big_zset = many("ZADD", "big-zset", 200, &|index| {
        vec![format!("{}.5", index % 50), format!("m-{index}")]
    });
    let collections: Vec<Vec<&str>> = [&big_set, &big_list, &big_zset]
        .iter()
        .map(|args| args.iter().map(String::as_str).collect())
        .collect();
    for args in [
        &["SET", "small", "hello"][..],
        &["SET", "int", "123"],
        &["SET", "int32", "-2000000000"],
        &["SET", "int64", "12345678901234"],
        &["SET", "long", &long],
        &["SET", "ttl", "x", "PX", "100000"],
        &["HSET", "hash", "a", "1", "b", "two", "c", &long],
        &big,
        &["SADD", "set-ints", "3", "-70000", "1", "5000000000"],
        &["SADD", "set-words", "b", "a", "7", &long],
        &collections[0],
        &["RPUSH", "list", "a", "12", "-300", &long],
        &collections[1],
        &[
            "ZADD", "zset", "1", "a", "2.5", "b", "-1", "c", "inf", &long,
        ],
        &collections[2],
        &["EXPIRE", "zset", "100000"],
    ] {
        let reply = command(client, args);
        assert!(!reply.starts_with('-'), "{args:?}: {reply}");
    }
}

const KEYS: [&str; 15] = [
    "small",
    "int",
    "int32",
    "int64",
    "long",
    "ttl",
    "hash",
    "big-hash",
    "set-ints",
    "set-words",
    "big-set",
    "list",
    "big-list",
    "zset",
    "big-zset",
];

/// What a key reads back as, the same on floe and Redis.
fn read_back(client: &mut Client, key: &str) -> String {
    let kind = command(client, &["TYPE", key]);
    let sorted = |reply: String| {
        let mut items: Vec<String> = reply.split("\r\n").map(str::to_owned).collect();
        items.sort();
        items.join(",")
    };
    let value = match kind.as_str() {
        "+hash\r\n" => sorted(command(client, &["HGETALL", key])),
        "+set\r\n" => sorted(command(client, &["SMEMBERS", key])),
        "+list\r\n" => command(client, &["LRANGE", key, "0", "-1"]),
        "+zset\r\n" => command(client, &["ZRANGE", key, "0", "-1", "WITHSCORES"]),
        _ => command(client, &["GET", key]),
    };
    let ttl = command(client, &["PTTL", key]);
    let ttl = if ttl == ":-1\r\n" { "none" } else { "some" };
    format!("{kind}{value}{ttl}")
}

#[test]
fn dump_payloads_cross_between_floe_and_redis_both_ways() {
    let floe = Server::floe(&[]);
    let redis = Server::redis();
    let (mut floe, mut redis) = (floe.client(), redis.client());
    write_values(&mut redis);
    write_values(&mut floe);
    for key in KEYS {
        let expected = read_back(&mut redis, key);
        assert_eq!(read_back(&mut floe, key), expected, "{key}");
        let from_redis = bulk_bytes(&redis.command(&[b"DUMP", key.as_bytes()]));
        let from_floe = bulk_bytes(&floe.command(&[b"DUMP", key.as_bytes()]));
        if matches!(
            key,
            "small" | "int" | "int32" | "int64" | "ttl" | "set-ints"
        ) {
            // floe chooses Redis's encoding for these: the same bytes.
            assert_eq!(from_floe, from_redis, "{key}");
        }
        for (client, payload, name) in [
            (&mut floe, &from_redis, "redis->floe"),
            (&mut redis, &from_floe, "floe->redis"),
        ] {
            let copy = format!("{key}-copy");
            let reply = client.command(&[b"RESTORE", copy.as_bytes(), b"100000", payload]);
            assert_eq!(text(&reply), "+OK\r\n", "{name} {key}");
            let got = read_back(client, &copy);
            let want = read_back(client, key);
            assert_eq!(
                got.replace("none", "some"),
                want.replace("none", "some"),
                "{name} {key}"
            );
        }
    }
    // Both refuse a payload with a flipped byte in the same words.
    let mut payload = bulk_bytes(&redis.command(&[b"DUMP", b"small"]));
    payload[3] ^= 1;
    for client in [&mut floe, &mut redis] {
        let reply = client.command(&[b"RESTORE", b"bad", b"0", &payload]);
        assert_eq!(
            text(&reply),
            "-ERR DUMP payload version or checksum are wrong\r\n"
        );
        let reply = client.command(&[b"RESTORE", b"small", b"0", &payload]);
        assert_eq!(text(&reply), "-BUSYKEY Target key name already exists.\r\n");
        let reply = client.command(&[b"RESTORE", b"bad", b"-5", &payload]);
        assert_eq!(text(&reply), "-ERR Invalid TTL value, must be >= 0\r\n");
    }
}

/// Runs `floe cluster <args>`; returns stdout, stderr and success.
fn floe_cluster(args: &[String]) -> (String, String, bool) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_floe"))
        .arg("cluster")
        .args(args)
        .output()
        .expect("run floe cluster");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        output.status.success(),
    )
}

fn address(node: &Server) -> String {
    format!("127.0.0.1:{}", node.port)
}

/// `count` cluster-mode floe nodes with the slots split evenly by `floe cluster create`.
fn floe_cluster_of(count: usize) -> Vec<Server> {
    let nodes: Vec<Server> = (0..count)
        .map(|_| Server::floe(&["--cluster-enabled", "--workers", "2"]))
        .collect();
    let mut args = vec!["create".to_owned()];
    args.extend(nodes.iter().map(address));
    let (_, stderr, success) = floe_cluster(&args);
    assert!(success, "floe cluster create: {stderr}");
    nodes
}

fn node_id(client: &mut Client) -> String {
    let reply = command(client, &["CLUSTER", "MYID"]);
    reply.split("\r\n").nth(1).expect("an id").to_owned()
}

/// Two redis-server cluster nodes that know each other; the first serves every slot.
fn redis_pair() -> (Server, Server) {
    let (first, second) = (Server::redis_cluster(), Server::redis_cluster());
    let mut client = first.client();
    let port = second.port.to_string();
    assert_eq!(
        command(&mut client, &["CLUSTER", "MEET", "127.0.0.1", &port]),
        "+OK\r\n"
    );
    assert_eq!(
        command(&mut client, &["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]),
        "+OK\r\n"
    );
    let second_id = node_id(&mut second.client());
    let started = std::time::Instant::now();
    // A bounded wait for the handshake, not a timing assertion.
    loop {
        let nodes = command(&mut client, &["CLUSTER", "NODES"]);
        let known = nodes.contains(&second_id) && !nodes.contains("handshake");
        let ok = command(&mut second.client(), &["CLUSTER", "INFO"]).contains("cluster_state:ok");
        if known && ok {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{nodes}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (first, second)
}

/// The steps both pairs run, `source` owning slot 12182 ("foo") and `target` not; the
/// replies with the ports and ids replaced by names, to compare floe with Redis.
fn migration_replies(source: &Server, target: &Server) -> Vec<String> {
    let (mut from, mut to) = (source.client(), target.client());
    let (from_id, to_id) = (node_id(&mut from), node_id(&mut to));
    let steps: [(bool, &[&str]); 24] = [
        (true, &["SET", "{foo}a", "1"]),
        (true, &["CLUSTER", "SETSLOT", "12182", "MIGRATING", "TO_ID"]),
        (
            false,
            &["CLUSTER", "SETSLOT", "12182", "IMPORTING", "FROM_ID"],
        ),
        // The refusals, in Redis's words.
        (true, &["CLUSTER", "SETSLOT", "12182", "IMPORTING", "TO_ID"]),
        (
            false,
            &["CLUSTER", "SETSLOT", "12182", "MIGRATING", "FROM_ID"],
        ),
        (true, &["CLUSTER", "SETSLOT", "16384", "STABLE"]),
        (true, &["CLUSTER", "SETSLOT", "x", "STABLE"]),
        (true, &["CLUSTER", "SETSLOT", "12182", "MIGRATING", "f00"]),
        (true, &["CLUSTER", "SETSLOT", "12182", "BOGUS"]),
        (true, &["CLUSTER", "SETSLOT", "12182", "STABLE", "extra"]),
        (true, &["CLUSTER", "SETSLOT", "12182", "NODE", "f00"]),
        (true, &["CLUSTER", "SETSLOT", "12182", "NODE", "TO_ID"]),
        // The source: keys here run, keys gone are asked of the target, a mix waits.
        (true, &["GET", "{foo}a"]),
        (true, &["GET", "{foo}b"]),
        (true, &["MGET", "{foo}a", "{foo}b"]),
        (true, &["SET", "{foo}b", "new"]),
        // The target: only after ASKING, for one command.
        (false, &["GET", "{foo}b"]),
        (false, &["ASKING"]),
        (false, &["SET", "{foo}b", "there"]),
        (false, &["GET", "{foo}b"]),
        (false, &["ASKING"]),
        (false, &["MGET", "{foo}a", "{foo}b"]),
        (false, &["ASKING"]),
        (false, &["GET", "{foo}b"]),
    ];
    let mut replies = Vec::new();
    for (on_source, template) in steps {
        let args: Vec<String> = template
            .iter()
            .map(|arg| arg.replace("TO_ID", &to_id).replace("FROM_ID", &from_id))
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let client = if on_source { &mut from } else { &mut to };
        let reply = command(client, &args)
            .replace(&source.port.to_string(), "SOURCE_PORT")
            .replace(&target.port.to_string(), "TARGET_PORT")
            .replace(&to_id, "TO_ID")
            .replace(&from_id, "FROM_ID");
        replies.push(format!("{template:?} -> {reply}"));
    }
    let nodes = command(&mut from, &["CLUSTER", "NODES"]);
    assert!(nodes.contains(&format!("[12182->-{to_id}]")), "{nodes}");
    let nodes = command(&mut to, &["CLUSTER", "NODES"]);
    assert!(nodes.contains(&format!("[12182-<-{from_id}]")), "{nodes}");
    replies
}

#[test]
fn setslot_ask_and_tryagain_match_redis() {
    let floe = floe_cluster_of(2);
    // foo (slot 12182) is the second node's: it is the source.
    let floe_replies = migration_replies(&floe[1], &floe[0]);
    let (redis_source, redis_target) = redis_pair();
    let redis_replies = migration_replies(&redis_source, &redis_target);
    for (floe, redis) in floe_replies.iter().zip(&redis_replies) {
        assert_eq!(floe, redis);
    }
    assert!(
        floe_replies
            .iter()
            .any(|reply| reply.contains("-ASK 12182 127.0.0.1:TARGET_PORT"))
    );
    assert!(floe_replies.iter().any(|reply| reply.contains("-TRYAGAIN")));

    // The states are on disk with the map, and STABLE clears them.
    let conf = std::fs::read_to_string(floe[1].dir.join("data").join("cluster.conf"))
        .expect("cluster.conf");
    assert!(conf.contains("\nmigrating 12182 "), "{conf}");
    let mut source = floe[1].client();
    assert_eq!(
        command(&mut source, &["CLUSTER", "SETSLOT", "12182", "STABLE"]),
        "+OK\r\n"
    );
    assert_eq!(command(&mut source, &["GET", "{foo}c"]), "$-1\r\n");
    let conf = std::fs::read_to_string(floe[1].dir.join("data").join("cluster.conf"))
        .expect("cluster.conf");
    assert!(!conf.contains("migrating"), "{conf}");
}

/// Keys `prefix{i}` whose slots lie in `slots`, `count` of them.
fn keys_in(prefix: &str, slots: std::ops::Range<u16>, count: usize) -> Vec<String> {
    (0..)
        .map(|index| format!("{prefix}{index}"))
        .filter(|key| slots.contains(&floe_core::slot::key_slot(key.as_bytes())))
        .take(count)
        .collect()
}

/// Runs `floe cluster move-slots`; panics with its stderr when it fails.
fn move_slots(from: &str, to: &str, slots: &str) -> String {
    let args = ["move-slots", from, to, slots].map(str::to_owned);
    let (stdout, stderr, success) = floe_cluster(&args);
    assert!(success, "move-slots failed: {stderr}");
    assert!(stdout.starts_with("OK: slots "), "{stdout}");
    stderr
}

fn integer(reply: &str) -> i64 {
    reply
        .trim_start_matches(':')
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("not an integer: {reply}"))
}

#[test]
fn move_slots_under_a_writing_cluster_client_loses_no_acknowledged_write() {
    use redis::Commands as _;
    use std::sync::atomic::{AtomicBool, Ordering};
    let nodes = floe_cluster_of(3);
    let urls: Vec<String> = nodes.iter().map(|node| node.url("")).collect();
    let client = redis::cluster::ClusterClient::new(urls).expect("a cluster client");
    // Slots 0-199 are the first node's; they move to the second.
    let keys = keys_in("key:", 0..200, 200);
    let counters = keys_in("counter:", 0..200, 50);
    let mut connection = client.get_connection().expect("connects");
    for key in &keys {
        let () = connection.set(key, "initial").expect("SET");
    }
    // Keys of every other type, left alone while the slots move.
    let collections = keys_in("collection:", 0..200, 12);
    let mut first = nodes[0].client();
    for (index, key) in collections.iter().enumerate() {
        let args: &[&str] = match index % 4 {
            0 => &["SADD", key, "3", "1", "2"],
            1 => &["SADD", key, "b", "a", "c"],
            2 => &["RPUSH", key, "x", "y", "12"],
            _ => &["ZADD", key, "2", "b", "1", "a", "1.5", "c"],
        };
        assert!(!command(&mut first, args).starts_with('-'), "{args:?}");
    }
    let expected: Vec<String> = collections
        .iter()
        .map(|key| read_back(&mut first, key))
        .collect();
    let stop = AtomicBool::new(false);
    let (last_values, counts, failures) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut connection = client.get_connection().expect("connects");
            let mut last_values = vec![String::from("initial"); keys.len()];
            let mut counts = vec![0i64; counters.len()];
            let mut failures = vec![0i64; counters.len()];
            let mut round = 0u64;
            while !stop.load(Ordering::Relaxed) || round < 3 {
                round += 1;
                for (index, key) in keys.iter().enumerate() {
                    let value = format!("round-{round}");
                    let written: redis::RedisResult<()> = connection.set(key, &value);
                    if written.is_ok() {
                        last_values[index] = value;
                    }
                }
                for (index, counter) in counters.iter().enumerate() {
                    let incremented: redis::RedisResult<i64> = connection.incr(counter, 1);
                    match incremented {
                        Ok(_) => counts[index] += 1,
                        Err(_) => failures[index] += 1,
                    }
                }
            }
            (last_values, counts, failures)
        });
        let stderr = move_slots(&address(&nodes[0]), &address(&nodes[1]), "0-199");
        assert!(stderr.contains("slot 0: done"), "{stderr}");
        stop.store(true, Ordering::Relaxed);
        writer.join().expect("the writer")
    });
    // Every acknowledged write is on the new owner, read without any redirection.
    let mut owner = nodes[1].client();
    for (key, value) in keys.iter().zip(&last_values) {
        assert_eq!(
            command(&mut owner, &["GET", key]),
            format!("${}\r\n{value}\r\n", value.len())
        );
    }
    for (key, expected) in collections.iter().zip(&expected) {
        assert_eq!(&read_back(&mut owner, key), expected, "{key}");
    }
    for ((counter, count), failed) in counters.iter().zip(&counts).zip(&failures) {
        let reply = command(&mut owner, &["GET", counter]);
        let value = integer(reply.split("\r\n").nth(1).unwrap_or("0"));
        assert!(
            value >= *count && value <= count + failed,
            "{counter}: {value} vs {count} acknowledged"
        );
    }
    // The old owner holds none of them and sends clients to the new one.
    let mut old = nodes[0].client();
    for slot in 0..200 {
        let reply = command(&mut old, &["CLUSTER", "COUNTKEYSINSLOT", &slot.to_string()]);
        assert_eq!(reply, ":0\r\n", "slot {slot}");
    }
    let moved = format!(
        "-MOVED {} 127.0.0.1:{}\r\n",
        floe_core::slot::key_slot(keys[0].as_bytes()),
        nodes[1].port
    );
    assert_eq!(command(&mut old, &["GET", &keys[0]]), moved);
    assert_eq!(command(&mut nodes[2].client(), &["GET", &keys[0]]), moved);
    let nodes_text = command(&mut old, &["CLUSTER", "NODES"]);
    assert!(!nodes_text.contains("->-"), "{nodes_text}");
    // Running it again finds nothing to do and changes nothing.
    let stderr = move_slots(&address(&nodes[0]), &address(&nodes[1]), "0-199");
    assert!(!stderr.contains("keys moved"), "{stderr}");

    // Refusals, each before anything changes.
    let (first, second) = (address(&nodes[0]), address(&nodes[1]));
    let third_id = node_id(&mut nodes[2].client());
    let refused = |from: &str, to: &str, slots: &str| {
        let args = ["move-slots", from, to, slots].map(str::to_owned);
        let (_, stderr, success) = floe_cluster(&args);
        assert!(!success, "{from} {to} {slots}");
        stderr
    };
    assert!(refused(&first, &second, "300-200").contains("a range runs"));
    assert!(refused(&first, &second, "x").contains("is not a slot"));
    assert!(refused(&first, &second, "16384").contains("is not a slot"));
    assert!(refused(&first, &first, "300").contains("are the same node"));
    assert!(
        refused(&first, &second, "16000").contains(&format!("slot 16000 is served by {third_id}"))
    );
    assert!(refused("127.0.0.1:1", &second, "300").contains("127.0.0.1:1"));
    assert!(refused("nonsense", &second, "300").contains("is not host:port"));
    let lonely = Server::floe(&["--cluster-enabled"]);
    assert!(refused(&address(&lonely), &second, "300").contains("has no slot map"));
    assert_eq!(
        command(
            &mut nodes[0].client(),
            &["CLUSTER", "COUNTKEYSINSLOT", "300"]
        ),
        ":0\r\n"
    );
}

/// A floe process started by hand on a given port and directory (a restarted node must
/// keep its address: the map names it); killed on drop.
struct Restarted(std::process::Child);

impl Drop for Restarted {
    fn drop(&mut self) {
        // An error means it has already exited.
        let _killed = self.0.kill();
        let _reaped = self.0.wait();
    }
}

fn restart_on(port: u16, dir: &std::path::Path) -> Restarted {
    let log = std::fs::File::create(dir.join("restarted.log")).expect("log");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_floe"))
        .args([
            "serve",
            "--cluster-enabled",
            "--http-port",
            "off",
            "--bind",
            "127.0.0.1",
        ])
        .args([
            "--appendfsync",
            "always",
            "--port",
            &port.to_string(),
            "--dir",
        ])
        .arg(dir.join("data"))
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("restart floe");
    let started = std::time::Instant::now();
    // Bounded: the port accepts once recovery is done.
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "no restart"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Restarted(child)
}

#[test]
fn a_source_killed_mid_migration_loses_nothing_and_the_move_runs_again() {
    let mut nodes: Vec<Server> = (0..2)
        .map(|_| Server::floe(&["--cluster-enabled", "--appendfsync", "always"]))
        .collect();
    let mut args = vec!["create".to_owned()];
    args.extend(nodes.iter().map(address));
    assert!(floe_cluster(&args).2);
    let (from, to) = (address(&nodes[0]), address(&nodes[1]));
    let keys = keys_in("k", 0..1000, 300);
    let mut source = nodes[0].client();
    for key in &keys {
        assert_eq!(
            command(&mut source, &["SET", key, &format!("v-{key}")]),
            "+OK\r\n"
        );
    }
    drop(source);
    let mover = std::process::Command::new(env!("CARGO_BIN_EXE_floe"))
        .args(["cluster", "move-slots", &from, &to, "0-999"])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start move-slots");
    let mut target = nodes[1].client();
    let started = std::time::Instant::now();
    // Bounded: kill the source once some keys moved, well before all did.
    while integer(&command(&mut target, &["DBSIZE"])) < 50 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "no progress"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    nodes[0].kill();
    let output = mover.wait_with_output().expect("move-slots ends");
    assert!(
        !output.status.success(),
        "the move finished before the kill"
    );
    let moved_before = integer(&command(&mut target, &["DBSIZE"]));
    assert!(moved_before < 300, "{moved_before}");

    let _restarted = restart_on(nodes[0].port, &nodes[0].dir);
    let mut source = nodes[0].client();
    // The source came back still migrating (the state is in cluster.conf), so a client
    // asking it for a moved key is sent on.
    let nodes_text = command(&mut source, &["CLUSTER", "NODES"]);
    assert!(nodes_text.contains("->-"), "{nodes_text}");
    let stderr = move_slots(&from, &to, "0-999");
    assert!(stderr.contains("slot 999: done"), "{stderr}");
    for key in &keys {
        let value = format!("v-{key}");
        assert_eq!(
            command(&mut target, &["GET", key]),
            format!("${}\r\n{value}\r\n", value.len()),
            "{key}"
        );
    }
    assert_eq!(integer(&command(&mut target, &["DBSIZE"])), 300);
    assert_eq!(command(&mut source, &["DBSIZE"]), ":0\r\n");
}
