//! List command tests: reply shapes in both protocols, and random list commands with
//! edge-case arguments keeping the command table's invariants.

use super::super::harness::{Harness, differ, same};
use crate::codec::resp::Protocol;

#[test]
fn replies_in_both_protocols() {
    Harness::check(&[
        same("RPUSH l a b c", ":3\r\n"),
        same("LPOP l 0", "*0\r\n"),
        differ("LPOP none 1", "*-1\r\n", "_\r\n"),
        differ("LPOP none", "$-1\r\n", "_\r\n"),
        same("RPOP l 2", "*2\r\n$1\r\nc\r\n$1\r\nb\r\n"),
        differ("LMPOP 1 none LEFT", "*-1\r\n", "_\r\n"),
        same(
            "LMPOP 1 l RIGHT COUNT 5",
            "*2\r\n$1\r\nl\r\n*1\r\n$1\r\na\r\n",
        ),
        same("EXISTS l", ":0\r\n"),
        differ("LPOS none a", "$-1\r\n", "_\r\n"),
        same("LPOS none a COUNT 0", "*0\r\n"),
        same("LSET none 0 x", "-ERR no such key\r\n"),
        same("RPUSH l a", ":1\r\n"),
        same("LSET l 1 x", "-ERR index out of range\r\n"),
        same(
            "LPOP l x",
            "-ERR value is out of range, must be positive\r\n",
        ),
        same("LMOVE l l LEFT RIGHT", "$1\r\na\r\n"),
        differ("RPOPLPUSH none l", "$-1\r\n", "_\r\n"),
        same("OBJECT ENCODING l", "$9\r\nquicklist\r\n"),
        same("TYPE l", "+list\r\n"),
    ]);
}

/// A session that may not block (MULTI, the doors without parking) gets the timeout's
/// reply at once; a blocking pop with an element pops it.
#[test]
fn blocking_pops_without_blocking() {
    Harness::check(&[
        differ("BLPOP none other 0", "*-1\r\n", "_\r\n"),
        differ("BRPOP none 0.5", "*-1\r\n", "_\r\n"),
        differ("BLMOVE none b LEFT RIGHT 0", "$-1\r\n", "_\r\n"),
        differ("BRPOPLPUSH none b 0", "$-1\r\n", "_\r\n"),
        differ("BLMPOP 0 2 none other LEFT", "*-1\r\n", "_\r\n"),
        same("RPUSH l a b c", ":3\r\n"),
        same("BLPOP none l 0", "*2\r\n$1\r\nl\r\n$1\r\na\r\n"),
        same("BRPOP l 0", "*2\r\n$1\r\nl\r\n$1\r\nc\r\n"),
        same("BLMOVE l m RIGHT LEFT 1", "$1\r\nb\r\n"),
        same(
            "BLMPOP 0 1 m LEFT COUNT 3",
            "*2\r\n$1\r\nm\r\n*1\r\n$1\r\nb\r\n",
        ),
        same("BLPOP l -1", "-ERR timeout is negative\r\n"),
        same("BLPOP l -inf", "-ERR timeout is negative\r\n"),
        same("BLPOP l inf", "-ERR timeout is negative\r\n"),
        same("BLPOP l 1e400", "-ERR timeout is negative\r\n"),
        same(
            "BLPOP l nan",
            "-ERR timeout is not a float or out of range\r\n",
        ),
        same(
            "BLPOP l x",
            "-ERR timeout is not a float or out of range\r\n",
        ),
        same(
            "BLPOP l \"\"",
            "-ERR timeout is not a float or out of range\r\n",
        ),
        same("BLMOVE l m UP LEFT x", "-ERR syntax error\r\n"),
        same(
            "BLMPOP x 1 l LEFT",
            "-ERR timeout is not a float or out of range\r\n",
        ),
        same(
            "BLMPOP 0 0 l LEFT",
            "-ERR numkeys should be greater than 0\r\n",
        ),
        // Redis 7.0 reads BLMPOP's keys, end and count before its timeout.
        same(
            "BLMPOP x 0 l LEFT",
            "-ERR numkeys should be greater than 0\r\n",
        ),
        same("BLMPOP x 1 l UP", "-ERR syntax error\r\n"),
        same("SET s v", "+OK\r\n"),
        same(
            "BLPOP s 0",
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
    ]);
}

#[test]
fn lpos_from_the_tail_replies_in_walk_order_past_one_block() {
    let mut harness = Harness::new(Protocol::Resp2);
    for _ in 0..600 {
        harness.run("RPUSH l a b");
    }
    let reply = harness.run("LPOS l a RANK -2 COUNT 0");
    let text = String::from_utf8(reply).expect("ascii");
    let numbers: std::vec::Vec<i64> = text
        .lines()
        .skip(1)
        .map(|line| line.trim_start_matches(':').parse().expect("integer"))
        .collect();
    let expected: std::vec::Vec<i64> = (0..599).rev().map(|index| index * 2).collect();
    assert_eq!(numbers, expected);
}

/// Random list (and a few string) commands with arguments from a pool of edge cases:
/// every reply is one frame, and no error reply comes with a log record (the harness
/// checks both on every call), in both protocols, in a small store that fills up.
#[test]
fn random_commands_keep_the_table_invariants() {
    use crate::store::Config;
    use proptest::prelude::*;

    const NAMES: [&str; 22] = [
        "LPUSH",
        "RPUSH",
        "LPUSHX",
        "RPUSHX",
        "LPOP",
        "RPOP",
        "LLEN",
        "LRANGE",
        "LINDEX",
        "LSET",
        "LINSERT",
        "LREM",
        "LTRIM",
        "LPOS",
        "LMOVE",
        "RPOPLPUSH",
        "LMPOP",
        "SET",
        "GET",
        "EXPIRE",
        "DEL",
        "TYPE",
    ];
    const WORDS: [&str; 22] = [
        "k",
        "l",
        "a",
        "0",
        "1",
        "-1",
        "2",
        "-3",
        "5",
        "x",
        "LEFT",
        "RIGHT",
        "BEFORE",
        "AFTER",
        "RANK",
        "COUNT",
        "MAXLEN",
        "9223372036854775807",
        "-9223372036854775808",
        "\"\"",
        "k",
        "l",
    ];
    let command = (0..NAMES.len(), prop::collection::vec(0..WORDS.len(), 0..7));
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    runner
        .run(&prop::collection::vec(command, 1..40), |commands| {
            for protocol in [Protocol::Resp2, Protocol::Resp3] {
                let mut harness = Harness::with_config(Config::new(16 * 1024, 64), protocol);
                for (name, words) in &commands {
                    let mut line = std::string::String::from(NAMES[*name]);
                    for word in words {
                        line.push(' ');
                        line.push_str(WORDS[*word]);
                    }
                    let _ = harness.run(&line);
                }
                let _: std::vec::Vec<u8> = harness.run("LRANGE l 0 -1");
            }
            Ok(())
        })
        .expect("invariants hold");
}

/// LMPOP's and BLMPOP's keys follow their count (at argument 1, and at 2 after BLMPOP's
/// timeout): the shards, ACL key patterns and cluster slots see exactly those.
#[test]
fn counted_keys_are_found_after_their_count() {
    use crate::command::{Scope, lookup};
    use std::vec::Vec;

    let lmpop = lookup(b"LMPOP").expect("in the table");
    assert_eq!(lmpop.scope(), Scope::Keys);
    assert_eq!(lmpop.key_indexes(5).count(), 0, "COMMAND INFO's 0 0 0");
    let keys = |args: &[&[u8]]| lmpop.key_indexes_of(args).collect::<Vec<_>>();
    assert_eq!(keys(&[b"LMPOP", b"2", b"a", b"b", b"LEFT"]), [2, 3]);
    assert!(keys(&[b"LMPOP", b"3", b"a", b"LEFT"]).is_empty(), "too few");
    let blmpop = lookup(b"BLMPOP").expect("in the table");
    let keys = |args: &[&[u8]]| blmpop.key_indexes_of(args).collect::<Vec<_>>();
    assert_eq!(
        keys(&[b"BLMPOP", b"0.5", b"2", b"a", b"b", b"RIGHT"]),
        [3, 4]
    );
    assert_eq!(
        keys(&[b"BLMPOP", b"0", b"1", b"a", b"LEFT", b"COUNT", b"2"]),
        [3]
    );
    let info = Harness::new(Protocol::Resp2).run("COMMAND INFO blmpop");
    let text = std::string::String::from_utf8_lossy(&info);
    assert!(text.contains("movablekeys"), "{text}");
    assert!(text.contains(":0\r\n:0\r\n:0\r\n"), "{text}");
}

/// A list past the item size limit is refused with its own name (it once borrowed the
/// hash's text), by a push, an insert, a set and a move into it; nothing changes.
#[test]
fn a_list_past_the_item_limit_names_itself() {
    use std::string::String;

    let mut harness = Harness::new(Protocol::Resp2);
    let limit = harness.store.config().value_size_max as usize;
    let big = "e".repeat(limit);
    let near = "n".repeat(limit - 64);
    assert_eq!(harness.run(&std::format!("RPUSH full {near}")), b":1\r\n");
    assert_eq!(harness.run("RPUSH small a"), b":1\r\n");
    let small = "s".repeat(128);
    assert_eq!(
        harness.run(&std::format!("RPUSH source {small}")),
        b":1\r\n"
    );
    for line in [
        std::format!("RPUSH l {big}"),
        std::format!("LPUSH small {big}"),
        std::format!("LINSERT small BEFORE a {big}"),
        std::format!("LSET small 0 {big}"),
        String::from("LMOVE source full LEFT RIGHT"),
        String::from("BLMOVE source full LEFT RIGHT 0"),
        String::from("RPOPLPUSH source full"),
    ] {
        let reply = String::from_utf8(harness.run(&line)).expect("text");
        assert!(
            reply.starts_with("-ERR list exceeds the maximum size of an item (value-size-max"),
            "{line:.40}: {reply}"
        );
    }
    assert_eq!(harness.run("EXISTS l"), b":0\r\n");
    assert_eq!(harness.run("LRANGE small 0 -1"), b"*1\r\n$1\r\na\r\n");
    assert_eq!(harness.run("LLEN source"), b":1\r\n");
    assert_eq!(harness.run("LLEN full"), b":1\r\n");
}
