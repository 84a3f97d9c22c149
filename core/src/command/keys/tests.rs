//! Tests of the keyspace commands (`keys.rs`): their replies, their errors, and the
//! records they log.

use super::super::harness::{Harness, NOW, differ, same};
use super::*;
use crate::codec::resp::Protocol;
use crate::storage::policy::EvictionPolicy;
use crate::store::Config;
use std::string::String;
use std::vec::Vec;

#[test]
fn del_unlink_exists() {
    Harness::check(&[
        same("MSET a 1 b 2 c 3", "+OK\r\n"),
        same("EXISTS a b missing", ":2\r\n"),
        same("EXISTS a a a", ":3\r\n"),
        same("DEL a missing", ":1\r\n"),
        same("UNLINK b c c", ":2\r\n"),
        same("EXISTS a b c", ":0\r\n"),
        same("DEL a", ":0\r\n"),
    ]);
}

#[test]
fn expire_family() {
    Harness::check(&[
        same("SET k v", "+OK\r\n"),
        same("EXPIRE k 100", ":1\r\n"),
        same("TTL k", ":100\r\n"),
        same("PEXPIRE k 1500", ":1\r\n"),
        same("PTTL k", ":1500\r\n"),
        same("TTL k", ":2\r\n"),
        same("EXPIREAT k 1700000050", ":1\r\n"),
        same("TTL k", ":50\r\n"),
        same("EXPIRETIME k", ":1700000050\r\n"),
        same("PEXPIREAT k 1700000000300", ":1\r\n"),
        same("PEXPIRETIME k", ":1700000000300\r\n"),
        same("EXPIRETIME k", ":1700000000\r\n"),
        same("PERSIST k", ":1\r\n"),
        same("PERSIST k", ":0\r\n"),
        same("TTL k", ":-1\r\n"),
        same("PTTL k", ":-1\r\n"),
        same("EXPIRETIME k", ":-1\r\n"),
        same("PEXPIRETIME k", ":-1\r\n"),
        same("EXPIRE missing 10", ":0\r\n"),
        same("PEXPIREAT missing 99999999999999", ":0\r\n"),
        same("TTL missing", ":-2\r\n"),
        same("PTTL missing", ":-2\r\n"),
        same("EXPIRETIME missing", ":-2\r\n"),
        same("PEXPIRETIME missing", ":-2\r\n"),
        same("PERSIST missing", ":0\r\n"),
    ]);
}

#[test]
fn ttl_rounds_to_the_nearest_second() {
    Harness::check(&[
        same("SET k v PX 1499", "+OK\r\n"),
        same("TTL k", ":1\r\n"),
        same("PEXPIRE k 1500", ":1\r\n"),
        same("TTL k", ":2\r\n"),
        same("PEXPIRE k 499", ":1\r\n"),
        same("TTL k", ":0\r\n"),
        same("@+498", ""),
        same("PTTL k", ":1\r\n"),
        same("@+1", ""),
        same("PTTL k", ":-2\r\n"),
    ]);
}

#[test]
fn expire_in_the_past_deletes() {
    Harness::check(&[
        same("MSET a 1 b 2 c 3", "+OK\r\n"),
        same("PEXPIRE a -1", ":1\r\n"),
        same("EXISTS a", ":0\r\n"),
        same("EXPIRE b 0", ":1\r\n"),
        same("EXISTS b", ":0\r\n"),
        same("EXPIREAT c 1", ":1\r\n"),
        differ("GET c", "$-1\r\n", "_\r\n"),
    ]);
}

#[test]
fn expire_conditions() {
    Harness::check(&[
        same("SET k v", "+OK\r\n"),
        // No expiry counts as an infinite one.
        same("EXPIRE k 100 XX", ":0\r\n"),
        same("EXPIRE k 100 GT", ":0\r\n"),
        same("EXPIRE k 100 XX LT", ":0\r\n"),
        same("TTL k", ":-1\r\n"),
        same("EXPIRE k 100 LT", ":1\r\n"),
        same("EXPIRE k 50 NX", ":0\r\n"),
        same("EXPIRE k 200 gt", ":1\r\n"),
        same("EXPIRE k 150 GT", ":0\r\n"),
        same("EXPIRE k 150 XX LT", ":1\r\n"),
        same("PEXPIRE k 300000 LT", ":0\r\n"),
        same("EXPIRE k 100 XX", ":1\r\n"),
        same("TTL k", ":100\r\n"),
        same("EXPIRE k 100 NX NX", ":0\r\n"),
        same("SET other v", "+OK\r\n"),
        same("EXPIRE other 10 NX", ":1\r\n"),
        same("TTL other", ":10\r\n"),
    ]);
}

#[test]
fn expire_errors_change_nothing() {
    Harness::check(&[
        same("SET k v", "+OK\r\n"),
        same(
            "EXPIRE k 100 GT LT",
            "-ERR GT and LT options at the same time are not compatible\r\n",
        ),
        same(
            "EXPIRE k 100 NX GT",
            "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
        ),
        same(
            "PEXPIRE k 100 XX NX",
            "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
        ),
        same("EXPIRE k 100 FOO", "-ERR Unsupported option FOO\r\n"),
        // Options are checked before the number.
        same("EXPIRE k soon FOO", "-ERR Unsupported option FOO\r\n"),
        same(
            "EXPIRE k soon",
            "-ERR value is not an integer or out of range\r\n",
        ),
        same(
            "EXPIRE k 99999999999999999",
            "-ERR invalid expire time in 'expire' command\r\n",
        ),
        same(
            "PEXPIRE k 9223372036854775807",
            "-ERR invalid expire time in 'pexpire' command\r\n",
        ),
        same(
            "EXPIREAT k -9223372036854775808",
            "-ERR invalid expire time in 'expireat' command\r\n",
        ),
        same("TTL k", ":-1\r\n"),
        same("GET k", "$1\r\nv\r\n"),
    ]);
}

#[test]
fn type_and_dbsize() {
    Harness::check(&[
        same("TYPE k", "+none\r\n"),
        same("SET k v", "+OK\r\n"),
        same("TYPE k", "+string\r\n"),
        same("DBSIZE", ":1\r\n"),
        same("SELECT 1", "+OK\r\n"),
        same("DBSIZE", ":0\r\n"),
        same("TYPE k", "+none\r\n"),
    ]);
}

#[test]
fn keys_lists_matches() {
    let mut harness = Harness::new(Protocol::Resp3);
    assert_eq!(harness.run("KEYS *"), b"*0\r\n");
    assert_eq!(harness.run("MSET one 1 two 2 three 3"), b"+OK\r\n");
    let mut keys = parse_array(&harness.run("KEYS *"));
    keys.sort();
    assert_eq!(keys, ["one", "three", "two"]);
    let mut keys = parse_array(&harness.run("KEYS t*"));
    keys.sort();
    assert_eq!(keys, ["three", "two"]);
    assert_eq!(harness.run("KEYS o?e"), b"*1\r\n$3\r\none\r\n");
    assert_eq!(harness.run("KEYS nothing"), b"*0\r\n");
    // Expired keys are not listed.
    assert_eq!(harness.run("PEXPIRE one 10"), b":1\r\n");
    harness.now += 10;
    assert_eq!(harness.run("KEYS o*"), b"*0\r\n");
}

#[test]
fn scan_walks_every_key_once_per_cursor_round() {
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let mut harness = Harness::new(protocol);
        let keys: Vec<String> = (0..100).map(|n| format!("key{n}")).collect();
        for key in &keys {
            harness.run_args(&[b"SET", key.as_bytes(), b"v"]);
        }
        harness.run("SET other v");
        let mut seen = Vec::new();
        let mut cursor = String::from("0");
        let mut rounds = 0;
        loop {
            let command = format!("SCAN {cursor} MATCH key* COUNT 7");
            let reply = harness.run(&command);
            let (next, batch) = parse_scan(&reply);
            seen.extend(batch);
            rounds += 1;
            cursor = next;
            if cursor == "0" {
                break;
            }
        }
        assert!(rounds > 1);
        seen.sort();
        seen.dedup();
        let mut expected = keys.clone();
        expected.sort();
        assert_eq!(seen, expected);
    }
}

#[test]
fn scan_options() {
    let mut harness = Harness::new(Protocol::Resp2);
    assert_eq!(harness.run("SCAN 0"), b"*2\r\n$1\r\n0\r\n*0\r\n");
    harness.run("SET k v");
    assert_eq!(
        harness.run("SCAN 0 COUNT 100000 MATCH *"),
        b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n"
    );
    assert_eq!(
        harness.run("scan 0 type STRING count 100000"),
        b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n"
    );
    assert_eq!(
        harness.run("SCAN 0 TYPE hash COUNT 100000"),
        b"*2\r\n$1\r\n0\r\n*0\r\n"
    );
    assert_eq!(
        harness.run("SCAN 0 TYPE nonsense COUNT 100000"),
        b"*2\r\n$1\r\n0\r\n*0\r\n"
    );
    assert_eq!(
        harness.run("SCAN 0 MATCH x* COUNT 100000"),
        b"*2\r\n$1\r\n0\r\n*0\r\n"
    );
    assert_eq!(
        harness.run("SCAN +0 COUNT 100000"),
        b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n"
    );
    // A cursor past the table ends the scan.
    assert_eq!(
        harness.run("SCAN 18446744073709551615"),
        b"*2\r\n$1\r\n0\r\n*0\r\n"
    );
    for (command, reply) in [
        ("SCAN x", "-ERR invalid cursor\r\n"),
        ("SCAN -1", "-ERR invalid cursor\r\n"),
        ("SCAN 18446744073709551616", "-ERR invalid cursor\r\n"),
        ("SCAN 0 COUNT 0", "-ERR syntax error\r\n"),
        ("SCAN 0 COUNT -1", "-ERR syntax error\r\n"),
        (
            "SCAN 0 COUNT x",
            "-ERR value is not an integer or out of range\r\n",
        ),
        ("SCAN 0 COUNT", "-ERR syntax error\r\n"),
        ("SCAN 0 MATCH", "-ERR syntax error\r\n"),
        ("SCAN 0 FOO bar", "-ERR syntax error\r\n"),
    ] {
        assert_eq!(String::from_utf8_lossy(&harness.run(command)), reply);
    }
}

#[test]
fn flushdb_and_flushall() {
    let mut harness = Harness::new(Protocol::Resp2);
    harness.run("SET a 1");
    harness.run("SELECT 2");
    harness.run("SET b 2");
    assert_eq!(harness.run("FLUSHDB SYNC"), b"+OK\r\n");
    assert_eq!(harness.run("DBSIZE"), b":0\r\n");
    harness.run("SET b 2");
    harness.run("SELECT 0");
    assert_eq!(harness.run("FLUSHDB nope"), b"-ERR syntax error\r\n");
    assert_eq!(harness.run("FLUSHALL ASYNC SYNC"), b"-ERR syntax error\r\n");
    assert_eq!(harness.run("DBSIZE"), b":1\r\n");
    assert_eq!(harness.run("FLUSHDB async"), b"+OK\r\n");
    assert_eq!(harness.run("DBSIZE"), b":0\r\n");
    assert_eq!(harness.store.db_len(2), 1);
    assert_eq!(harness.run("FLUSHALL"), b"+OK\r\n");
    assert_eq!(harness.store.len(), 0);
    assert_eq!(
        harness.log.0,
        [
            "set 0 a 1 0",
            "set 2 b 2 0",
            "clear Some(2)",
            "set 2 b 2 0",
            "clear Some(0)",
            "clear None"
        ]
    );
}

#[test]
fn expire_logs_absolute_times() {
    let mut harness = Harness::new(Protocol::Resp2);
    harness.run("SET k v");
    harness.run("EXPIRE k 10");
    harness.run("PEXPIRE k 20000");
    harness.run("PEXPIRE k 5000");
    harness.run("DEL k");
    // A later expiry carries the whole item (replay may have dropped the first record
    // as expired); a sooner one is an expiry record alone.
    assert_eq!(
        harness.log.0,
        [
            "set 0 k v 0".into(),
            format!("set 0 k v {}", NOW + 10_000),
            format!("set 0 k v {}", NOW + 20_000),
            format!("expire 0 k {}", NOW + 5_000),
            "del 0 k".into(),
        ]
    );
}

#[test]
fn cursors_and_targets() {
    assert_eq!(parse_cursor(b"0"), Some(0));
    assert_eq!(parse_cursor(b"007"), Some(7));
    assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
    for bad in [&b""[..], b"+", b"-1", b" 1", b"1x"] {
        assert_eq!(parse_cursor(bad), None);
    }
    assert_eq!(expire_target(10, Unit::Seconds, 5), Some(10_005));
    assert_eq!(expire_target(-10, Unit::Seconds, 5), Some(1));
    assert_eq!(expire_target(i64::MAX / 1000 + 1, Unit::Seconds, 0), None);
    assert_eq!(expire_target(i64::MAX, Unit::Milliseconds, 1), None);
}

#[test]
fn touch_counts_existing_keys() {
    Harness::check(&[
        same("MSET a 1 b 2", "+OK\r\n"),
        same("TOUCH a b missing a", ":3\r\n"),
        same("TOUCH missing", ":0\r\n"),
    ]);
    let mut harness = Harness::new(Protocol::Resp2);
    harness.run("SET a 1");
    harness.log.0.clear();
    harness.run("TOUCH a");
    assert!(harness.log.0.is_empty(), "TOUCH is not a write");
}

/// Under LRU a TOUCH sets the visited bit, under LFU it may raise the counter: what a
/// GET does, and what OBJECT FREQ shows.
#[test]
fn touch_updates_the_policy() {
    let mut config = Config::new(1 << 20, 100);
    config.policy = EvictionPolicy::AllKeysLru;
    let mut harness = Harness::with_config(config, Protocol::Resp2);
    harness.run("SET a 1");
    let before = harness.store.object(0, b"a", NOW).expect("a").policy_bits;
    // A new key starts on probation with no access counted.
    let probation = crate::storage::policy::PROBATION;
    assert_eq!(before, probation);
    harness.run("TOUCH a");
    let after = harness.store.object(0, b"a", NOW).expect("a").policy_bits;
    assert_eq!(after, probation | crate::storage::policy::VISITED);

    config.policy = EvictionPolicy::AllKeysLfu;
    let mut harness = Harness::with_config(config, Protocol::Resp2);
    harness.run("SET a 1");
    assert_eq!(harness.run("OBJECT FREQ a"), b":5\r\n");
    for _ in 0..50 {
        harness.run("TOUCH a");
    }
    let reply = String::from_utf8(harness.run("OBJECT FREQ a")).expect("text");
    let frequency: i64 = reply[1..reply.len() - 2].parse().expect("integer");
    assert!(frequency > 5, "{frequency}");
}

#[test]
fn randomkey_picks_live_keys_of_the_database() {
    Harness::check(&[
        differ("RANDOMKEY", "$-1\r\n", "_\r\n"),
        same("SET only v", "+OK\r\n"),
        same("RANDOMKEY", "$4\r\nonly\r\n"),
        same("SELECT 1", "+OK\r\n"),
        differ("RANDOMKEY", "$-1\r\n", "_\r\n"),
        same("SET short v PX 10", "+OK\r\n"),
        same("@+10", ""),
        differ("RANDOMKEY", "$-1\r\n", "_\r\n"),
    ]);
    let mut harness = Harness::new(Protocol::Resp2);
    for index in 0..20 {
        harness.run(&format!("SET key{index} v"));
    }
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let reply = String::from_utf8(harness.run("RANDOMKEY")).expect("text");
        let key = reply.split("\r\n").nth(1).expect("bulk").to_string();
        assert!(key.starts_with("key"), "{key}");
        seen.insert(key);
    }
    assert!(seen.len() > 10, "{seen:?}");
}

#[test]
fn object_subcommands() {
    let long = "x".repeat(45);
    let mut harness = Harness::new(Protocol::Resp2);
    harness.run("MSET int 12345 negative -7 padded 007 text hello");
    harness.run_args(&[b"SET", b"embstr", "x".repeat(44).as_bytes()]);
    harness.run_args(&[b"SET", b"raw", long.as_bytes()]);
    harness.run_args(&[b"SET", b"big", b"99999999999999999999"]);
    for (key, encoding) in [
        ("int", "int"),
        ("negative", "int"),
        ("padded", "embstr"),
        ("text", "embstr"),
        ("embstr", "embstr"),
        ("raw", "raw"),
        ("big", "embstr"),
    ] {
        let reply = harness.run(&format!("OBJECT ENCODING {key}"));
        let expected = format!("${}\r\n{encoding}\r\n", encoding.len());
        assert_eq!(String::from_utf8_lossy(&reply), expected, "{key}");
    }
    Harness::check(&[
        same("SET k v", "+OK\r\n"),
        same("object refcount k", ":1\r\n"),
        same("OBJECT IDLETIME k", ":0\r\n"),
        same(
            "OBJECT FREQ k",
            "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. \
             Please note that when switching between policies at runtime LRU and LFU data \
             will take some time to adjust.\r\n",
        ),
        // A missing key is null, before the policy is looked at.
        differ("OBJECT FREQ missing", "$-1\r\n", "_\r\n"),
        differ("OBJECT ENCODING missing", "$-1\r\n", "_\r\n"),
        differ("OBJECT IDLETIME missing", "$-1\r\n", "_\r\n"),
        differ("OBJECT REFCOUNT missing", "$-1\r\n", "_\r\n"),
        same(
            "OBJECT NOPE k",
            "-ERR unknown subcommand 'NOPE'. Try OBJECT HELP.\r\n",
        ),
        same(
            "OBJECT ENCODING",
            "-ERR wrong number of arguments for 'object|encoding' command\r\n",
        ),
        same(
            "OBJECT ENCODING k extra",
            "-ERR wrong number of arguments for 'object|encoding' command\r\n",
        ),
        same(
            "OBJECT HELP extra",
            "-ERR wrong number of arguments for 'object|help' command\r\n",
        ),
    ]);
    let reply = harness.run("OBJECT HELP");
    assert!(reply.starts_with(b"*15\r\n+OBJECT <subcommand>"));
}

#[test]
fn object_idletime_under_lfu_is_refused() {
    let mut config = Config::new(1 << 20, 100);
    config.policy = EvictionPolicy::VolatileLfu;
    let mut harness = Harness::with_config(config, Protocol::Resp3);
    harness.run("SET k v");
    assert_eq!(
        String::from_utf8_lossy(&harness.run("OBJECT IDLETIME k")),
        "-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that \
         when switching between policies at runtime LRU and LFU data will take some time \
         to adjust.\r\n"
    );
    assert_eq!(harness.run("OBJECT FREQ k"), b":5\r\n");
    // Looking is not an access.
    assert_eq!(harness.run("OBJECT FREQ k"), b":5\r\n");
}

#[test]
fn memory_usage_counts_header_key_value_and_slot() {
    let slot = crate::constants::SLOT_SIZE + crate::constants::TAG_SIZE;
    let mut harness = Harness::new(Protocol::Resp2);
    harness.run("SET key value");
    // 3 bytes of header, 3 of key, 5 of value.
    let expected = format!(":{}\r\n", 3 + 3 + 5 + slot);
    assert_eq!(
        String::from_utf8_lossy(&harness.run("MEMORY USAGE key")),
        expected
    );
    assert_eq!(
        String::from_utf8_lossy(&harness.run("memory usage key samples 0")),
        expected
    );
    harness.run("EXPIRE key 100");
    let expected = format!(":{}\r\n", 3 + 8 + 3 + 5 + slot);
    assert_eq!(
        String::from_utf8_lossy(&harness.run("MEMORY USAGE key SAMPLES 5 SAMPLES 9")),
        expected
    );
    Harness::check(&[
        differ("MEMORY USAGE missing", "$-1\r\n", "_\r\n"),
        same("MEMORY USAGE k SAMPLES", "-ERR syntax error\r\n"),
        same("MEMORY USAGE k SAMPLES -1", "-ERR syntax error\r\n"),
        same(
            "MEMORY USAGE k SAMPLES x",
            "-ERR value is not an integer or out of range\r\n",
        ),
        same("MEMORY USAGE k FOO 1", "-ERR syntax error\r\n"),
        same(
            "MEMORY USAGE",
            "-ERR wrong number of arguments for 'memory|usage' command\r\n",
        ),
        same(
            "MEMORY DOCTOR",
            "-ERR unknown subcommand 'DOCTOR'. Try MEMORY HELP.\r\n",
        ),
    ]);
    assert!(
        harness
            .run("MEMORY HELP")
            .starts_with(b"*6\r\n+MEMORY <subcommand>")
    );
}

/// The bulk strings of a flat RESP array of bulk strings.
fn parse_array(reply: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(reply).into_owned();
    let mut lines = text.split("\r\n");
    let header = lines.next().expect("header");
    let count: usize = header[1..].parse().expect("count");
    let mut items = Vec::new();
    for _ in 0..count {
        lines.next().expect("bulk header");
        items.push(lines.next().expect("bulk").to_string());
    }
    items
}

/// The cursor and keys of a SCAN reply.
fn parse_scan(reply: &[u8]) -> (String, Vec<String>) {
    let text = String::from_utf8_lossy(reply).into_owned();
    let mut lines = text.split("\r\n");
    assert_eq!(lines.next(), Some("*2"));
    lines.next().expect("cursor header");
    let cursor = lines.next().expect("cursor").to_string();
    let rest: Vec<&str> = lines.collect();
    let keys = parse_array(rest.join("\r\n").as_bytes());
    (cursor, keys)
}
