//! Slot migration end to end, and the DUMP/RESTORE it is built on.
//!
//! Pins: DUMP payloads cross between floe and a real `redis-server` 7.0 both ways
//! (strings in every encoding Redis writes, hashes as listpacks and as tables, with TTLs);
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
/// compresses, a small hash (a listpack in Redis) and a large one (a table in Redis).
fn write_values(client: &mut Client) {
    let long = "ab".repeat(200);
    let mut args: Vec<String> = vec!["HSET".into(), "big-hash".into()];
    for index in 0..200 {
        args.push(format!("field-{index}"));
        args.push(format!("{}", index * 1000));
    }
    let big: Vec<&str> = args.iter().map(String::as_str).collect();
    for args in [
        &["SET", "small", "hello"][..],
        &["SET", "int", "123"],
        &["SET", "int32", "-2000000000"],
        &["SET", "int64", "12345678901234"],
        &["SET", "long", &long],
        &["SET", "ttl", "x", "PX", "100000"],
        &["HSET", "hash", "a", "1", "b", "two", "c", &long],
        &big,
    ] {
        let reply = command(client, args);
        assert!(!reply.starts_with('-'), "{args:?}: {reply}");
    }
}

const KEYS: [&str; 8] = [
    "small", "int", "int32", "int64", "long", "ttl", "hash", "big-hash",
];

/// What a key reads back as, the same on floe and Redis.
fn read_back(client: &mut Client, key: &str) -> String {
    let kind = command(client, &["TYPE", key]);
    let value = if kind == "+hash\r\n" {
        let mut fields: Vec<String> = command(client, &["HGETALL", key])
            .split("\r\n")
            .map(str::to_owned)
            .collect();
        fields.sort();
        fields.join(",")
    } else {
        command(client, &["GET", key])
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
        if matches!(key, "small" | "int" | "int32" | "int64" | "ttl") {
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
