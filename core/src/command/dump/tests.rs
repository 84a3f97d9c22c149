//! DUMP and RESTORE through the command table: round trips, Redis's payload bytes, and
//! every error in Redis's order and words.

use std::string::String;
use std::vec::Vec;

use super::super::harness::Harness;
use crate::codec::resp::Protocol;

/// Redis 7.0.15's DUMP of the string "hello".
const HELLO: &[u8] = b"\x00\x05hello\x0a\x00\x63\x72\xdf\x76\x65\x34\x20\x0a";

fn text(reply: &[u8]) -> String {
    String::from_utf8_lossy(reply).into_owned()
}

/// The payload of a DUMP reply (a bulk string).
fn payload(reply: &[u8]) -> Vec<u8> {
    let start = reply
        .iter()
        .position(|&byte| byte == b'\n')
        .expect("header")
        + 1;
    reply[start..reply.len() - 2].to_vec()
}

#[test]
fn dump_gives_redis_bytes_and_restore_reads_them() {
    let mut harness = Harness::new(Protocol::Resp2);
    assert_eq!(text(&harness.run("SET greeting hello")), "+OK\r\n");
    let reply = harness.run("DUMP greeting");
    assert_eq!(payload(&reply), HELLO);
    assert_eq!(text(&harness.run("DUMP missing")), "$-1\r\n");
    assert_eq!(
        text(&harness.run_args(&[b"RESTORE", b"copy", b"0", HELLO])),
        "+OK\r\n"
    );
    assert_eq!(text(&harness.run("GET copy")), "$5\r\nhello\r\n");
    assert_eq!(text(&harness.run("PTTL copy")), ":-1\r\n");
}

#[test]
fn hashes_round_trip_with_their_ttl() {
    let mut harness = Harness::new(Protocol::Resp2);
    harness.run("HSET h a 1 b two c 300");
    let dumped = payload(&harness.run("DUMP h"));
    let reply = harness.run_args(&[b"RESTORE", b"h2", b"5000", &dumped]);
    assert_eq!(text(&reply), "+OK\r\n");
    assert_eq!(
        text(&harness.run("HGETALL h2")),
        "*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\ntwo\r\n$1\r\nc\r\n$3\r\n300\r\n"
    );
    assert_eq!(text(&harness.run("PTTL h2")), ":5000\r\n");
    assert_eq!(text(&harness.run("TYPE h2")), "+hash\r\n");
    // ABSTTL: an absolute time in milliseconds; one already past deletes the key.
    let at = (harness.now + 9000).to_string();
    let args: [&[u8]; 6] = [
        b"RESTORE",
        b"h3",
        at.as_bytes(),
        &dumped,
        b"ABSTTL",
        b"REPLACE",
    ];
    assert_eq!(text(&harness.run_args(&args)), "+OK\r\n");
    assert_eq!(text(&harness.run("PTTL h3")), ":9000\r\n");
    let args: [&[u8]; 6] = [b"RESTORE", b"h3", b"1", &dumped, b"ABSTTL", b"REPLACE"];
    assert_eq!(text(&harness.run_args(&args)), "+OK\r\n");
    assert_eq!(text(&harness.run("EXISTS h3")), ":0\r\n");
}

#[test]
fn replace_overwrites_and_options_are_checked_as_redis_does() {
    let mut harness = Harness::new(Protocol::Resp2);
    harness.run("SET k old");
    let restore = |harness: &mut Harness, options: &[&[u8]]| {
        let mut args: Vec<&[u8]> = std::vec![b"RESTORE", b"k", b"0", HELLO];
        args.extend_from_slice(options);
        text(&harness.run_args(&args))
    };
    let busy = "-BUSYKEY Target key name already exists.\r\n";
    assert_eq!(restore(&mut harness, &[]), busy);
    assert_eq!(restore(&mut harness, &[b"IDLETIME", b"10"]), busy);
    assert_eq!(restore(&mut harness, &[b"FREQ", b"5"]), busy);
    let syntax = "-ERR syntax error\r\n";
    assert_eq!(restore(&mut harness, &[b"NOPE"]), syntax);
    assert_eq!(restore(&mut harness, &[b"IDLETIME"]), syntax);
    assert_eq!(
        restore(&mut harness, &[b"IDLETIME", b"1", b"FREQ", b"1"]),
        syntax
    );
    assert_eq!(
        restore(&mut harness, &[b"IDLETIME", b"-1"]),
        "-ERR Invalid IDLETIME value, must be >= 0\r\n"
    );
    assert_eq!(
        restore(&mut harness, &[b"FREQ", b"256"]),
        "-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n"
    );
    assert_eq!(
        restore(&mut harness, &[b"FREQ", b"x"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(text(&harness.run("GET k")), "$3\r\nold\r\n");
    assert_eq!(
        restore(&mut harness, &[b"REPLACE", b"IDLETIME", b"3"]),
        "+OK\r\n"
    );
    assert_eq!(text(&harness.run("GET k")), "$5\r\nhello\r\n");
}

#[test]
fn bad_ttls_and_payloads_change_nothing() {
    let mut harness = Harness::new(Protocol::Resp2);
    let run = |harness: &mut Harness, ttl: &[u8], payload: &[u8]| {
        text(&harness.run_args(&[b"RESTORE", b"k", ttl, payload]))
    };
    assert_eq!(
        run(&mut harness, b"-1", HELLO),
        "-ERR Invalid TTL value, must be >= 0\r\n"
    );
    assert_eq!(
        run(&mut harness, b"x", HELLO),
        "-ERR value is not an integer or out of range\r\n"
    );
    let mut flipped = HELLO.to_vec();
    flipped[2] ^= 0x20;
    assert_eq!(
        run(&mut harness, b"0", &flipped),
        "-ERR DUMP payload version or checksum are wrong\r\n"
    );
    assert_eq!(
        run(&mut harness, b"0", b"short"),
        "-ERR DUMP payload version or checksum are wrong\r\n"
    );
    // A list (type 18, quicklist 2) of no nodes with a valid footer: no list is empty.
    let mut list = std::vec![18u8, 0];
    list.extend_from_slice(&crate::codec::rdb::RDB_VERSION.to_le_bytes());
    let crc = crate::codec::rdb::crc64(0, &list);
    list.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(run(&mut harness, b"0", &list), "-ERR Bad data format\r\n");
    assert_eq!(text(&harness.run("EXISTS k")), ":0\r\n");
    assert_eq!(
        text(&harness.run("RESTORE k 0")),
        "-ERR wrong number of arguments for 'restore' command\r\n"
    );
}

#[test]
fn a_value_past_the_size_limit_is_refused() {
    let mut harness = Harness::new(Protocol::Resp2);
    let limit = harness.store.config().value_size_max as usize;
    let big = std::vec![b'x'; limit + 1];
    let mut payload = std::vec![0u8];
    // 32-bit length.
    let size = u32::try_from(big.len()).expect("fits");
    payload.push(0x80);
    let mut length = size.to_le_bytes();
    length.reverse();
    payload.extend_from_slice(&length);
    payload.extend_from_slice(&big);
    payload.extend_from_slice(&crate::codec::rdb::RDB_VERSION.to_le_bytes());
    let crc = crate::codec::rdb::crc64(0, &payload);
    payload.extend_from_slice(&crc.to_le_bytes());
    let reply = text(&harness.run_args(&[b"RESTORE", b"k", b"0", &payload]));
    assert!(reply.starts_with("-ERR"), "{reply}");
    assert_eq!(text(&harness.run("EXISTS k")), ":0\r\n");
}

/// RESTORE writes any type, so a collection past the item size limit gets the text that
/// names no type (each family's own commands name theirs).
#[test]
fn a_collection_past_the_size_limit_is_refused_by_its_generic_text() {
    use crate::store::Config;

    let mut source = Harness::new(Protocol::Resp2);
    let mut target = Harness::with_config(Config::new(64 * 1024, 64), Protocol::Resp2);
    let limit = target.store.config().value_size_max as usize;
    let member = "m".repeat(limit / 4);
    for index in 0..5 {
        let line = std::format!("HSET s {index} {member}");
        assert_eq!(source.run(&line), b":1\r\n");
    }
    let dump = source.run("DUMP s");
    assert!(dump.starts_with(b"$"), "{}", text(&dump));
    // The bulk string's payload: after `$<size>\r\n`, before the final `\r\n`.
    let start = dump
        .iter()
        .position(|&byte| byte == b'\n')
        .expect("a header")
        + 1;
    let payload = &dump[start..dump.len() - 2];
    let reply = text(&target.run_args(&[b"RESTORE", b"s", b"0", payload]));
    assert!(
        reply.starts_with("-ERR collection exceeds the maximum size of an item (value-size-max"),
        "{reply}"
    );
    assert_eq!(text(&target.run("EXISTS s")), ":0\r\n");
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(&text[index..index + 2], 16).expect("hex"))
        .collect()
}

/// Sets, lists and sorted sets: DUMP then RESTORE gives the same value and type, and
/// redis-server 7.0.15's own payloads of each load.
#[test]
fn collections_round_trip_and_load_from_redis() {
    let mut harness = Harness::new(Protocol::Resp2);
    harness.run("SADD s b a 7");
    harness.run("SADD ints 3 -1 2");
    harness.run("RPUSH l x 12 y");
    harness.run("ZADD z 2 b 1 a 1.5 c");
    for (key, read) in [
        ("s", "SMEMBERS"),
        ("ints", "SMEMBERS"),
        ("l", "LRANGE {} 0 -1"),
        ("z", "ZRANGE {} 0 -1 WITHSCORES"),
    ] {
        let dumped = payload(&harness.run(&std::format!("DUMP {key}")));
        let copy = std::format!("{key}-copy");
        let reply = harness.run_args(&[b"RESTORE", copy.as_bytes(), b"0", &dumped]);
        assert_eq!(text(&reply), "+OK\r\n", "{key}");
        let read_of = |key: &str| {
            if read.contains("{}") {
                read.replace("{}", key)
            } else {
                std::format!("{read} {key}")
            }
        };
        assert_eq!(
            harness.run(&read_of(&copy)),
            harness.run(&read_of(key)),
            "{key}"
        );
        assert_eq!(
            harness.run(&std::format!("TYPE {copy}")),
            harness.run(&std::format!("TYPE {key}"))
        );
        let busy = harness.run_args(&[b"RESTORE", copy.as_bytes(), b"0", &dumped]);
        assert_eq!(text(&busy), "-BUSYKEY Target key name already exists.\r\n");
    }
    assert_eq!(
        text(&harness.run("OBJECT ENCODING ints-copy")),
        "$6\r\nintset\r\n"
    );
    // redis-server's DUMP of SADD si 1 2 3 -5 100000, RPUSH l a b 12 -300, and
    // ZADD z 1 a 2.5 b -1 c 3 d.
    let golden = [
        (
            "0b1c0400000005000000fbffffff010000000200000003000000a08601000a00d365f8d8af8752ac",
            "SMEMBERS r",
            "*5\r\n$2\r\n-5\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$6\r\n100000\r\n",
        ),
        (
            "120102121200000004008161028162020c01ded402ff0a00daca15c7303d5d50",
            "LRANGE r 0 -1",
            "*4\r\n$1\r\na\r\n$1\r\nb\r\n$2\r\n12\r\n$4\r\n-300\r\n",
        ),
        (
            "111f1f0000000800816302dfff02816102010181620283322e35048164020301ff0a00305ca5b3dbad0d9a",
            "ZRANGE r 0 -1 WITHSCORES",
            "*8\r\n$1\r\nc\r\n$2\r\n-1\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n$1\r\nd\r\n$1\r\n3\r\n",
        ),
    ];
    for (payload, read, expected) in golden {
        let args: [&[u8]; 5] = [b"RESTORE", b"r", b"0", &hex(payload), b"REPLACE"];
        assert_eq!(text(&harness.run_args(&args)), "+OK\r\n");
        assert_eq!(text(&harness.run(read)), expected, "{read}");
    }
}

/// A set payload with a repeated member is refused, and the key keeps its old value.
#[test]
fn a_repeated_member_is_bad_data_and_changes_nothing() {
    let mut harness = Harness::new(Protocol::Resp2);
    harness.run("SADD s keep");
    let mut body = std::vec![2u8, 2, 1, b'a', 1, b'a'];
    body.extend_from_slice(&crate::codec::rdb::RDB_VERSION.to_le_bytes());
    let crc = crate::codec::rdb::crc64(0, &body);
    body.extend_from_slice(&crc.to_le_bytes());
    let reply = harness.run_args(&[b"RESTORE", b"s", b"0", &body, b"REPLACE"]);
    assert_eq!(text(&reply), "-ERR Bad data format\r\n");
    assert_eq!(text(&harness.run("SMEMBERS s")), "*1\r\n$4\r\nkeep\r\n");
}
