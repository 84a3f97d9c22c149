//! Set commands through the command table: reply shapes in both protocols, every error
//! path, and random commands that keep the table's invariants.

use super::super::harness::{Harness, differ, same};
use crate::codec::resp::Protocol;

#[test]
fn replies_in_both_protocols() {
    Harness::check(&[
        same("SADD s 3 1 2 1", ":3\r\n"),
        same("SADD s 2", ":0\r\n"),
        differ(
            "SMEMBERS s",
            "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n",
            "~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n",
        ),
        same("OBJECT ENCODING s", "$6\r\nintset\r\n"),
        same("TYPE s", "+set\r\n"),
        same("SCARD s", ":3\r\n"),
        same("SCARD missing", ":0\r\n"),
        same("SISMEMBER s 2", ":1\r\n"),
        same("SISMEMBER s 9", ":0\r\n"),
        same("SMISMEMBER s 1 9 3", "*3\r\n:1\r\n:0\r\n:1\r\n"),
        same("SMISMEMBER missing 1", "*1\r\n:0\r\n"),
        same("SADD s b a", ":2\r\n"),
        same("OBJECT ENCODING s", "$9\r\nhashtable\r\n"),
        same("SREM s b a 9", ":2\r\n"),
        same("OBJECT ENCODING s", "$6\r\nintset\r\n"),
        same("SADD t 2 3 4", ":3\r\n"),
        differ(
            "SINTER s t",
            "*2\r\n$1\r\n2\r\n$1\r\n3\r\n",
            "~2\r\n$1\r\n2\r\n$1\r\n3\r\n",
        ),
        differ(
            "SUNION t s",
            "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n",
            "~4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n",
        ),
        differ("SDIFF s t", "*1\r\n$1\r\n1\r\n", "~1\r\n$1\r\n1\r\n"),
        differ("SINTER s missing", "*0\r\n", "~0\r\n"),
        differ("SMEMBERS missing", "*0\r\n", "~0\r\n"),
        same("SINTERCARD 2 s t", ":2\r\n"),
        same("SINTERCARD 2 s t LIMIT 1", ":1\r\n"),
        same("SINTERCARD 2 s t limit 0", ":2\r\n"),
        same("SINTERSTORE d s t", ":2\r\n"),
        differ(
            "SMEMBERS d",
            "*2\r\n$1\r\n2\r\n$1\r\n3\r\n",
            "~2\r\n$1\r\n2\r\n$1\r\n3\r\n",
        ),
        same("SUNIONSTORE d d s", ":3\r\n"),
        same("SDIFFSTORE d s s", ":0\r\n"),
        same("EXISTS d", ":0\r\n"),
        same("SMOVE s t 1", ":1\r\n"),
        same("SMOVE s t 1", ":0\r\n"),
        same("SMOVE missing t 1", ":0\r\n"),
        same("SMOVE t t 1", ":1\r\n"),
        same(
            "SSCAN t 0 MATCH [12]",
            "*2\r\n$1\r\n0\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n",
        ),
        same("SSCAN missing 0", "*2\r\n$1\r\n0\r\n*0\r\n"),
        differ(
            "SPOP t 10",
            "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n",
            "~4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n",
        ),
        same("EXISTS t", ":0\r\n"),
        differ("SPOP t", "$-1\r\n", "_\r\n"),
        differ("SPOP t 2", "*0\r\n", "~0\r\n"),
        same("SADD one x", ":1\r\n"),
        same("SPOP one", "$1\r\nx\r\n"),
        differ("SRANDMEMBER one", "$-1\r\n", "_\r\n"),
        same("SRANDMEMBER one 5", "*0\r\n"),
        same("SADD one x", ":1\r\n"),
        same("SRANDMEMBER one", "$1\r\nx\r\n"),
        same("SRANDMEMBER one -2", "*2\r\n$1\r\nx\r\n$1\r\nx\r\n"),
        same("SRANDMEMBER one 2", "*1\r\n$1\r\nx\r\n"),
        same("SRANDMEMBER one 0", "*0\r\n"),
        differ("SPOP one 0", "*0\r\n", "~0\r\n"),
    ]);
}

#[test]
fn errors_change_nothing() {
    const WRONGTYPE: &str =
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    Harness::check(&[
        same("SET str v", "+OK\r\n"),
        same("SADD s 1", ":1\r\n"),
        same("SADD str 1", WRONGTYPE),
        same("SREM str 1", WRONGTYPE),
        same("SISMEMBER str 1", WRONGTYPE),
        same("SMISMEMBER str 1", WRONGTYPE),
        same("SMEMBERS str", WRONGTYPE),
        same("SCARD str", WRONGTYPE),
        same("SPOP str", WRONGTYPE),
        same("SPOP str 1", WRONGTYPE),
        same("SRANDMEMBER str", WRONGTYPE),
        same("SRANDMEMBER str 1", WRONGTYPE),
        same("SMOVE str s 1", WRONGTYPE),
        same("SMOVE s str 1", WRONGTYPE),
        same("SMOVE missing str 1", ":0\r\n"),
        same("SINTER s str", WRONGTYPE),
        same("SINTER missing str", WRONGTYPE),
        same("SUNION s str", WRONGTYPE),
        same("SDIFF s str", WRONGTYPE),
        same("SINTERSTORE d s str", WRONGTYPE),
        same("SUNIONSTORE d s str", WRONGTYPE),
        same("SDIFFSTORE d s str", WRONGTYPE),
        same("SINTERCARD 2 s str", WRONGTYPE),
        same("SSCAN str 0", WRONGTYPE),
        same("GET s", WRONGTYPE),
        same("SPOP s 1 2", "-ERR syntax error\r\n"),
        same(
            "SPOP s x",
            "-ERR value is out of range, must be positive\r\n",
        ),
        same(
            "SPOP s -1",
            "-ERR value is out of range, must be positive\r\n",
        ),
        same(
            "SPOP str x",
            "-ERR value is out of range, must be positive\r\n",
        ),
        same("SRANDMEMBER s 1 2", "-ERR syntax error\r\n"),
        same(
            "SRANDMEMBER s x",
            "-ERR value is not an integer or out of range\r\n",
        ),
        same(
            "SRANDMEMBER s -9223372036854775808",
            "-ERR value is out of range, value must between -9223372036854775807 and \
             9223372036854775807\r\n",
        ),
        same(
            "SRANDMEMBER s -1048577",
            "-ERR count is out of range: SRANDMEMBER returns at most 1048576 members with \
             repetition\r\n",
        ),
        same(
            "SINTERCARD 0 s",
            "-ERR numkeys should be greater than 0\r\n",
        ),
        same(
            "SINTERCARD x s",
            "-ERR numkeys should be greater than 0\r\n",
        ),
        same(
            "SINTERCARD 3 s s",
            "-ERR Number of keys can't be greater than number of args\r\n",
        ),
        same(
            "SINTERCARD 1 s LIMIT -1",
            "-ERR LIMIT can't be negative\r\n",
        ),
        same("SINTERCARD 1 s LIMIT x", "-ERR LIMIT can't be negative\r\n"),
        same("SINTERCARD 1 s LIMIT", "-ERR syntax error\r\n"),
        same("SINTERCARD 1 s FOO 1", "-ERR syntax error\r\n"),
        same("SSCAN s x", "-ERR invalid cursor\r\n"),
        same("SSCAN s 0 COUNT 0", "-ERR syntax error\r\n"),
        same("SSCAN s 0 MATCH", "-ERR syntax error\r\n"),
        same("SSCAN s 0 TYPE set", "-ERR syntax error\r\n"),
        same(
            "SADD s",
            "-ERR wrong number of arguments for 'sadd' command\r\n",
        ),
        same("SCARD s", ":1\r\n"),
        same("GET str", "$1\r\nv\r\n"),
    ]);
}

#[test]
fn a_store_form_replaces_any_type_and_drops_the_expiry() {
    Harness::check(&[
        same("SADD a x y", ":2\r\n"),
        same("SET d v EX 100", "+OK\r\n"),
        same("SUNIONSTORE d a", ":2\r\n"),
        same("TYPE d", "+set\r\n"),
        same("TTL d", ":-1\r\n"),
        same("SINTERSTORE d a missing", ":0\r\n"),
        same("EXISTS d", ":0\r\n"),
        same("EXPIRE a 100", ":1\r\n"),
        same("SADD a z", ":1\r\n"),
        same("TTL a", ":100\r\n"),
        same("RENAME a b", "+OK\r\n"),
        same("SCARD b", ":3\r\n"),
        same("COPY b c", ":1\r\n"),
        same("SREM c x y z", ":3\r\n"),
        same("EXISTS c", ":0\r\n"),
        same("SCARD b", ":3\r\n"),
    ]);
}

#[test]
fn pop_and_random_members_come_from_the_set() {
    let mut harness = Harness::new(Protocol::Resp2);
    harness.run("SADD s a b c d e");
    let reply = harness.run("SPOP s 2");
    assert!(reply.starts_with(b"*2\r\n"), "{reply:?}");
    assert_eq!(harness.run("SCARD s"), b":3\r\n");
    for _ in 0..20 {
        let reply = harness.run("SRANDMEMBER s -3");
        assert!(reply.starts_with(b"*3\r\n"), "{reply:?}");
        let reply = harness.run("SRANDMEMBER s 2");
        assert!(reply.starts_with(b"*2\r\n"), "{reply:?}");
    }
    assert_eq!(harness.run("SPOP s 3").len(), b"*3\r\n".len() + 3 * 7);
    assert_eq!(harness.run("EXISTS s"), b":0\r\n");
}

/// Random set (and a few string) commands with arguments from a pool of edge cases:
/// every reply is one frame, and no error reply comes with a log record (the harness
/// checks both on every call), in both protocols, in a small store that fills up.
#[test]
fn random_commands_keep_the_table_invariants() {
    use crate::store::Config;
    use proptest::prelude::*;
    use std::vec::Vec;

    const NAMES: [&str; 22] = [
        "SADD",
        "SREM",
        "SISMEMBER",
        "SMISMEMBER",
        "SMEMBERS",
        "SCARD",
        "SPOP",
        "SRANDMEMBER",
        "SMOVE",
        "SINTER",
        "SUNION",
        "SDIFF",
        "SINTERSTORE",
        "SUNIONSTORE",
        "SDIFFSTORE",
        "SINTERCARD",
        "SSCAN",
        "SET",
        "GET",
        "EXPIRE",
        "DEL",
        "TYPE",
    ];
    const WORDS: [&str; 20] = [
        "k",
        "s",
        "t",
        "a",
        "0",
        "1",
        "-1",
        "2",
        "5",
        "2.5",
        "x",
        "9223372036854775807",
        "-9223372036854775808",
        "LIMIT",
        "MATCH",
        "COUNT",
        "*",
        "\"\"",
        "-0",
        "01",
    ];
    let command = (0..NAMES.len(), prop::collection::vec(0..WORDS.len(), 0..7));
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    runner
        .run(&prop::collection::vec(command, 1..40), |commands| {
            // The default thresholds, and thresholds so low that most sets are large.
            let low = Config {
                set_max_intset_entries: 2,
                set_max_listpack_entries: 2,
                set_max_listpack_value: 1,
                ..Config::new(16 * 1024, 64)
            };
            for (protocol, config) in [
                (Protocol::Resp2, Config::new(16 * 1024, 64)),
                (Protocol::Resp3, Config::new(16 * 1024, 64)),
                (Protocol::Resp2, low),
            ] {
                let mut harness = Harness::with_config(config, protocol);
                for (name, words) in &commands {
                    let mut line = std::string::String::from(NAMES[*name]);
                    for word in words {
                        line.push(' ');
                        line.push_str(WORDS[*word]);
                    }
                    let _ = harness.run(&line);
                }
                let _: Vec<u8> = harness.run("SMEMBERS s");
            }
            Ok(())
        })
        .expect("invariants hold");
}

/// SINTERCARD's keys follow their count: the table names them from the request (for the
/// runtime's shard locks, ACL key patterns and cluster slots), never LIMIT or its value.
#[test]
fn sintercard_keys_come_from_numkeys() {
    use crate::command::{Scope, lookup};
    use std::vec::Vec;

    let spec = lookup(b"SINTERCARD").expect("in the table");
    assert_eq!(spec.scope(), Scope::Keys);
    assert_eq!(spec.key_indexes(6).count(), 0, "COMMAND INFO's 0 0 0");
    let keys = |args: &[&[u8]]| spec.key_indexes_of(args).collect::<Vec<_>>();
    assert_eq!(
        keys(&[b"SINTERCARD", b"2", b"a", b"b", b"LIMIT", b"1"]),
        [2, 3]
    );
    assert_eq!(keys(&[b"SINTERCARD", b"1", b"a"]), [2]);
    assert!(
        keys(&[b"SINTERCARD", b"3", b"a", b"b"]).is_empty(),
        "too few"
    );
    assert!(keys(&[b"SINTERCARD", b"0", b"a"]).is_empty());
    assert!(keys(&[b"SINTERCARD", b"-1", b"a"]).is_empty());
    assert!(keys(&[b"SINTERCARD", b"x", b"a"]).is_empty());
    let sinter = lookup(b"SINTER").expect("in the table");
    assert_eq!(
        sinter
            .key_indexes_of(&[&b"SINTER"[..], b"a", b"b"][..])
            .collect::<Vec<_>>(),
        [1, 2]
    );
    let info = Harness::new(Protocol::Resp2).run("COMMAND INFO sintercard");
    let text = std::string::String::from_utf8_lossy(&info);
    assert!(text.contains("movablekeys"), "{text}");
}

/// The bulk strings of a RESP2 reply, in order (arrays flattened; integers skipped).
fn bulks(reply: &[u8]) -> std::vec::Vec<std::vec::Vec<u8>> {
    let mut found = std::vec::Vec::new();
    let mut rest = reply;
    while let Some(line_end) = rest.windows(2).position(|pair| pair == b"\r\n") {
        let line = &rest[..line_end];
        rest = &rest[line_end + 2..];
        if line.first() == Some(&b'$') {
            let size: usize = std::str::from_utf8(&line[1..])
                .expect("ascii")
                .parse()
                .expect("a size");
            found.push(rest[..size].to_vec());
            rest = &rest[size + 2..];
        }
    }
    found
}

/// A set of 1000 members is large: SSCAN's cursor walks its parts and returns every
/// member; the commands read it, and the STORE forms of two large sets write large sets.
#[test]
fn large_sets_through_the_commands() {
    use std::collections::BTreeSet;
    use std::string::String;
    let mut harness = super::super::harness::Harness::new(Protocol::Resp2);
    let mut line = String::from("SADD big");
    for n in 0..1000 {
        line.push_str(&std::format!(" m{n}"));
    }
    assert_eq!(harness.run(&line), b":1000\r\n");
    let mut line = String::from("SADD other");
    for n in 500..1300 {
        line.push_str(&std::format!(" m{n}"));
    }
    assert_eq!(harness.run(&line), b":800\r\n");
    assert_eq!(harness.run("OBJECT ENCODING big"), b"$9\r\nhashtable\r\n");
    assert_eq!(harness.run("SCARD big"), b":1000\r\n");
    assert_eq!(harness.run("SISMEMBER big m999"), b":1\r\n");
    assert_eq!(harness.run("SISMEMBER big m1000"), b":0\r\n");
    assert_eq!(harness.run("SMISMEMBER big m1 x"), b"*2\r\n:1\r\n:0\r\n");
    let all: BTreeSet<std::vec::Vec<u8>> = (0..1000)
        .map(|n| std::format!("m{n}").into_bytes())
        .collect();
    let members = bulks(&harness.run("SMEMBERS big"));
    assert_eq!(members.len(), 1000);
    assert_eq!(members.into_iter().collect::<BTreeSet<_>>(), all);
    // SSCAN with a cursor: several calls, every member at least once.
    let mut cursor = String::from("0");
    let (mut seen, mut calls) = (BTreeSet::new(), 0);
    loop {
        let reply = bulks(&harness.run(&std::format!("SSCAN big {cursor} COUNT 50")));
        calls += 1;
        cursor = String::from_utf8(reply[0].clone()).expect("digits");
        seen.extend(reply[1..].iter().cloned());
        if cursor == "0" {
            break;
        }
        assert!(calls < 1000, "the cursor ends");
    }
    assert!(calls > 2, "a large set is scanned in steps: {calls}");
    assert_eq!(seen, all);
    let matched = bulks(&harness.run("SSCAN big 0 COUNT 100000 MATCH m99*"));
    assert_eq!(matched[0], b"0");
    assert_eq!(matched.len() - 1, 11, "m99 and m990..m999");
    assert_eq!(harness.run("SSCAN big x"), b"-ERR invalid cursor\r\n");
    assert_eq!(harness.run("SSCAN big 0 COUNT 0"), b"-ERR syntax error\r\n");
    // The algebra over two large sets, and its STORE forms.
    assert_eq!(harness.run("SINTERCARD 2 big other"), b":500\r\n");
    assert_eq!(harness.run("SINTERSTORE both big other"), b":500\r\n");
    assert_eq!(harness.run("OBJECT ENCODING both"), b"$9\r\nhashtable\r\n");
    assert_eq!(harness.run("SCARD both"), b":500\r\n");
    let both = bulks(&harness.run("SMEMBERS both"));
    let expected: BTreeSet<std::vec::Vec<u8>> = (500..1000)
        .map(|n| std::format!("m{n}").into_bytes())
        .collect();
    assert_eq!(both.into_iter().collect::<BTreeSet<_>>(), expected);
    assert_eq!(harness.run("SUNIONSTORE any big other"), b":1300\r\n");
    assert_eq!(harness.run("SDIFFSTORE only big other"), b":500\r\n");
    assert_eq!(harness.run("SISMEMBER only m499"), b":1\r\n");
    assert_eq!(harness.run("SISMEMBER only m500"), b":0\r\n");
    assert_eq!(bulks(&harness.run("SDIFF big other")).len(), 500);
    // A STORE form whose target is one of its large sources.
    assert_eq!(harness.run("SDIFFSTORE big big other"), b":500\r\n");
    assert_eq!(harness.run("SCARD big"), b":500\r\n");
    // Writes, random reads and pops on a large set.
    assert_eq!(harness.run("SREM other m500 m501 nothing"), b":2\r\n");
    assert_eq!(harness.run("SMOVE other big m1299"), b":1\r\n");
    assert_eq!(harness.run("SISMEMBER big m1299"), b":1\r\n");
    assert_eq!(harness.run("SCARD other"), b":797\r\n");
    assert_eq!(bulks(&harness.run("SRANDMEMBER other 10")).len(), 10);
    assert_eq!(bulks(&harness.run("SRANDMEMBER other -30")).len(), 30);
    assert_eq!(bulks(&harness.run("SPOP other 97")).len(), 97);
    assert_eq!(bulks(&harness.run("SPOP other")).len(), 1);
    assert_eq!(harness.run("SCARD other"), b":699\r\n");
    // ZUNIONSTORE and SORT read a large set as a source.
    assert_eq!(harness.run("ZUNIONSTORE z 1 both"), b":500\r\n");
    assert_eq!(harness.run("ZSCORE z m777"), b"$1\r\n1\r\n");
    assert_eq!(
        bulks(&harness.run("SORT both ALPHA LIMIT 0 3")),
        [b"m500".to_vec(), b"m501".to_vec(), b"m502".to_vec()]
    );
    assert_eq!(harness.run("SORT both ALPHA STORE sorted"), b":500\r\n");
    // DUMP writes a large set's members; RESTORE reads them back.
    let payload = bulks(&harness.run("DUMP big")).remove(0);
    assert_eq!(
        harness.run_args(&[b"RESTORE", b"copy", b"0", &payload]),
        b"+OK\r\n"
    );
    assert_eq!(harness.run("SCARD copy"), b":501\r\n");
    assert_eq!(harness.run("SISMEMBER copy m1299"), b":1\r\n");
    assert_eq!(harness.run("DEL both other"), b":2\r\n");
    // A member too long for one part is refused, naming sets.
    let huge = std::vec![b'x'; harness.store.config().value_size_max as usize];
    let reply = harness.run_args(&[b"SADD", b"big", &huge]);
    assert!(
        reply.starts_with(b"-ERR set exceeds the maximum size of an item"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    assert_eq!(harness.run("SCARD big"), b":501\r\n");
}
