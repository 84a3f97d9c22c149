//! Sorted set command tests: replies in both protocols, the score parsers, and random
//! commands that must keep the table's invariants (one frame per reply, no log record with
//! an error). Redis's exact replies are checked by `tests/differential/zsets.redis`.

use super::super::harness::{Harness, differ, same};
use super::{parse_lex_bound, parse_score, parse_score_bound};
use crate::codec::resp::Protocol;
use crate::storage::policy::EvictionPolicy;
use crate::store::Config;
use crate::store::zset::LexBound;

#[test]
fn scores_parse_as_strtod_reads_them() {
    for (text, score) in [
        ("1", Some(1.0)),
        ("-1.5", Some(-1.5)),
        ("+2", Some(2.0)),
        (".5", Some(0.5)),
        ("5.", Some(5.0)),
        ("1e3", Some(1000.0)),
        ("inf", Some(f64::INFINITY)),
        ("-Infinity", Some(f64::NEG_INFINITY)),
        ("+INF", Some(f64::INFINITY)),
        ("1e-310", Some(1e-310)),
        ("0e5", Some(0.0)),
        ("", None),
        (" 1", None),
        ("1 ", None),
        ("nan", None),
        ("1e400", None),
        ("1e-400", None),
        ("abc", None),
        ("0x10", None),
    ] {
        assert_eq!(parse_score(text.as_bytes()), score, "{text:?}");
    }
    assert_eq!(parse_score_bound(b"(1"), Some((1.0, true)));
    assert_eq!(parse_score_bound(b"("), Some((0.0, true)));
    assert_eq!(parse_score_bound(b""), Some((0.0, false)));
    assert_eq!(parse_score_bound(b" 2"), Some((2.0, false)));
    assert_eq!(parse_score_bound(b"1e400"), Some((f64::INFINITY, false)));
    assert_eq!(parse_score_bound(b"2 "), None);
    assert_eq!(parse_score_bound(b"  "), None);
    assert_eq!(parse_score_bound(b"(nan"), None);
    assert_eq!(parse_lex_bound(b"-"), Some(LexBound::Lowest));
    assert_eq!(parse_lex_bound(b"+"), Some(LexBound::Highest));
    assert_eq!(parse_lex_bound(b"[a"), Some(LexBound::Inclusive(b"a")));
    assert_eq!(parse_lex_bound(b"("), Some(LexBound::Exclusive(b"")));
    assert_eq!(parse_lex_bound(b"a"), None);
    assert_eq!(parse_lex_bound(b"-a"), None);
    assert_eq!(parse_lex_bound(b""), None);
}

#[test]
fn replies_in_both_protocols() {
    Harness::check(&[
        same("ZADD z 1.1 a 2 b 3 c", ":3\r\n"),
        differ(
            "ZSCORE z a",
            "$18\r\n1.1000000000000001\r\n",
            ",1.1000000000000001\r\n",
        ),
        differ(
            "ZRANGE z 0 1 WITHSCORES",
            "*4\r\n$1\r\na\r\n$18\r\n1.1000000000000001\r\n$1\r\nb\r\n$1\r\n2\r\n",
            "*2\r\n*2\r\n$1\r\na\r\n,1.1000000000000001\r\n*2\r\n$1\r\nb\r\n,2\r\n",
        ),
        differ(
            "ZPOPMAX z",
            "*2\r\n$1\r\nc\r\n$1\r\n3\r\n",
            "*2\r\n$1\r\nc\r\n,3\r\n",
        ),
        differ(
            "ZPOPMAX z 1",
            "*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
            "*1\r\n*2\r\n$1\r\nb\r\n,2\r\n",
        ),
        differ(
            "ZMSCORE z a x",
            "*2\r\n$18\r\n1.1000000000000001\r\n$-1\r\n",
            "*2\r\n,1.1000000000000001\r\n_\r\n",
        ),
        differ("ZADD z XX INCR 1 x", "$-1\r\n", "_\r\n"),
        differ("ZADD z INCR inf a", "$3\r\ninf\r\n", ",inf\r\n"),
        same(
            "ZINCRBY z -inf a",
            "-ERR resulting score is not a number (NaN)\r\n",
        ),
        same(
            "ZSCAN z 0",
            "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$3\r\ninf\r\n",
        ),
        same("ZUNIONSTORE d 2 z z", ":1\r\n"),
        same("TYPE d", "+zset\r\n"),
        same("OBJECT ENCODING d", "$8\r\nlistpack\r\n"),
        same("ZRANGESTORE e d 1 2", ":0\r\n"),
        same("ZREM z a", ":1\r\n"),
        same("EXISTS z", ":0\r\n"),
    ]);
}

#[test]
fn floe_limits_name_themselves() {
    use crate::store::Config;
    use std::string::String;

    let mut harness = Harness::with_config(Config::new(64 * 1024, 64), Protocol::Resp2);
    let big = "m".repeat(64 * 1024);
    let reply = harness.run(&std::format!("ZADD z 1 {big}"));
    assert!(
        reply.starts_with(b"-ERR sorted set exceeds the maximum size of an item"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    assert_eq!(harness.run("EXISTS z"), b":0\r\n");
    let mut line = String::from("ZUNIONSTORE d 257");
    for _ in 0..257 {
        line.push_str(" k");
    }
    assert_eq!(
        harness.run(&line),
        b"-ERR floe: a STORE form takes at most 256 input keys\r\n"
    );
    let line = line.replace(" 257", " 256").replacen(" k", "", 1);
    assert_eq!(harness.run(&line), b":0\r\n");
}

#[test]
fn counted_keys_are_keys() {
    use super::super::{Scope, lookup};
    use std::vec::Vec;

    let keys = |args: &[&[u8]]| -> Vec<usize> {
        let spec = lookup(args[0]).expect("known");
        assert_eq!(spec.scope(), Scope::Keys);
        spec.key_indexes_of(args).collect()
    };
    assert_eq!(
        keys(&[
            b"ZUNIONSTORE",
            b"d",
            b"2",
            b"a",
            b"b",
            b"WEIGHTS",
            b"1",
            b"2"
        ]),
        [1, 3, 4]
    );
    assert_eq!(keys(&[b"ZUNION", b"2", b"a", b"b", b"WITHSCORES"]), [2, 3]);
    assert_eq!(keys(&[b"ZINTERCARD", b"1", b"a", b"LIMIT", b"1"]), [2]);
    // A count that is not a number, negative, or past the arguments names no key.
    assert_eq!(keys(&[b"ZUNIONSTORE", b"d", b"x", b"a"]), [1]);
    assert_eq!(keys(&[b"ZUNION", b"-1", b"a"]), Vec::<usize>::new());
    assert_eq!(keys(&[b"ZUNION", b"3", b"a", b"b"]), Vec::<usize>::new());
    assert_eq!(keys(&[b"ZRANGESTORE", b"d", b"s", b"0", b"1"]), [1, 2]);
}

#[test]
fn inf_doubles_in_resp3() {
    Harness::check(&[
        same("ZADD z -inf a", ":1\r\n"),
        differ("ZSCORE z a", "$4\r\n-inf\r\n", ",-inf\r\n"),
    ]);
}

/// ZMPOP and the blocking pops in a session that may not block (MULTI, the doors without
/// parking): a member is popped as Redis 7.0 replies it, none gives the timeout's null
/// array at once; arguments are read in Redis's order (keys, end and count before the
/// timeout); a key of another type before a non-empty one replies WRONGTYPE.
#[test]
fn pops_over_several_keys() {
    const WRONGTYPE: &str =
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    Harness::check(&[
        differ("ZMPOP 1 none MIN", "*-1\r\n", "_\r\n"),
        differ("BZPOPMIN none other 0", "*-1\r\n", "_\r\n"),
        differ("BZPOPMAX none 0.5", "*-1\r\n", "_\r\n"),
        differ("BZMPOP 0 2 none other MAX", "*-1\r\n", "_\r\n"),
        same("ZADD z 1 a 2 b 3 c 1.5 d", ":4\r\n"),
        differ(
            "BZPOPMIN none z 0",
            "*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n",
            "*3\r\n$1\r\nz\r\n$1\r\na\r\n,1\r\n",
        ),
        differ(
            "BZPOPMAX z 0",
            "*3\r\n$1\r\nz\r\n$1\r\nc\r\n$1\r\n3\r\n",
            "*3\r\n$1\r\nz\r\n$1\r\nc\r\n,3\r\n",
        ),
        differ(
            "ZMPOP 2 none z MIN COUNT 5",
            "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nd\r\n$3\r\n1.5\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
            "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nd\r\n,1.5\r\n*2\r\n$1\r\nb\r\n,2\r\n",
        ),
        same("EXISTS z", ":0\r\n"),
        same("ZADD z 1 a 2 b", ":2\r\n"),
        differ(
            "BZMPOP 0 1 z max",
            "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
            "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nb\r\n,2\r\n",
        ),
        same("SET s v", "+OK\r\n"),
        same("ZMPOP 2 s z MIN", WRONGTYPE),
        same("BZPOPMIN none s z 0", WRONGTYPE),
        same("BZMPOP 0 2 s z MIN", WRONGTYPE),
        same("ZCARD z", ":1\r\n"),
        same("ZMPOP 0 z MIN", "-ERR numkeys should be greater than 0\r\n"),
        same(
            "ZMPOP -1 z MIN",
            "-ERR numkeys should be greater than 0\r\n",
        ),
        same("ZMPOP x z MIN", "-ERR numkeys should be greater than 0\r\n"),
        same("ZMPOP 3 z MIN", "-ERR syntax error\r\n"),
        same("ZMPOP 1 z LEFT", "-ERR syntax error\r\n"),
        same("ZMPOP 1 z MIN COUNT", "-ERR syntax error\r\n"),
        same("ZMPOP 1 z MIN COUNT 1 COUNT 2", "-ERR syntax error\r\n"),
        same("ZMPOP 1 z MIN LIMIT 2", "-ERR syntax error\r\n"),
        same(
            "ZMPOP 1 z MIN COUNT 0",
            "-ERR count should be greater than 0\r\n",
        ),
        same(
            "ZMPOP 1 z MIN COUNT -3",
            "-ERR count should be greater than 0\r\n",
        ),
        same(
            "BZMPOP x 0 z MIN",
            "-ERR numkeys should be greater than 0\r\n",
        ),
        same("BZMPOP x 1 z FOO", "-ERR syntax error\r\n"),
        same(
            "BZMPOP x 1 z MIN",
            "-ERR timeout is not a float or out of range\r\n",
        ),
        same("BZMPOP -1 1 z MIN", "-ERR timeout is negative\r\n"),
        same(
            "BZPOPMIN z x",
            "-ERR timeout is not a float or out of range\r\n",
        ),
        same("BZPOPMAX z -1", "-ERR timeout is negative\r\n"),
        same(
            "ZMPOP 1 z",
            "-ERR wrong number of arguments for 'zmpop' command\r\n",
        ),
        same(
            "BZPOPMIN z",
            "-ERR wrong number of arguments for 'bzpopmin' command\r\n",
        ),
        same(
            "BZMPOP 0 1 z",
            "-ERR wrong number of arguments for 'bzmpop' command\r\n",
        ),
        same("ZCARD z", ":1\r\n"),
    ]);
}

/// ZMPOP's and BZMPOP's keys follow their count (at argument 1, and at 2 after BZMPOP's
/// timeout); BZPOPMIN's are every argument but the last.
#[test]
fn counted_keys_are_found_after_their_count() {
    use crate::command::lookup;
    use std::vec::Vec;

    let keys = |args: &[&[u8]]| {
        let name = std::str::from_utf8(args[0]).expect("ascii");
        let spec = lookup(name.as_bytes()).expect("in the table");
        spec.key_indexes_of(args).collect::<Vec<_>>()
    };
    assert_eq!(keys(&[b"ZMPOP", b"2", b"a", b"b", b"MIN"]), [2, 3]);
    assert!(keys(&[b"ZMPOP", b"3", b"a", b"MIN"]).is_empty(), "too few");
    assert_eq!(
        keys(&[b"BZMPOP", b"0", b"1", b"a", b"MAX", b"COUNT", b"2"]),
        [3]
    );
    assert_eq!(keys(&[b"BZPOPMIN", b"a", b"b", b"0"]), [1, 2]);
    assert_eq!(keys(&[b"BZPOPMAX", b"a", b"0"]), [1]);
    for name in ["ZMPOP", "BZMPOP"] {
        let info = Harness::new(Protocol::Resp2).run(&std::format!("COMMAND INFO {name}"));
        let text = std::string::String::from_utf8_lossy(&info);
        assert!(text.contains("movablekeys"), "{text}");
    }
}

/// Plain sets are sources of the combinations, each member with score 1 times its
/// weight, in both shards of a key and as the destination; ZRANGESTORE refuses them.
#[test]
fn sets_are_sources_of_the_combinations() {
    Harness::check(&[
        same("SADD s a b 5", ":3\r\n"),
        same("ZADD z 2 a 0.5 b 10 x", ":3\r\n"),
        same(
            "ZUNION 2 s z WEIGHTS 3 1",
            "*4\r\n$1\r\n5\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nx\r\n",
        ),
        differ(
            "ZINTER 2 s z WITHSCORES",
            "*4\r\n$1\r\nb\r\n$3\r\n1.5\r\n$1\r\na\r\n$1\r\n3\r\n",
            "*2\r\n*2\r\n$1\r\nb\r\n,1.5\r\n*2\r\n$1\r\na\r\n,3\r\n",
        ),
        same("ZDIFF 2 s z", "*1\r\n$1\r\n5\r\n"),
        same("ZINTERCARD 2 z s", ":2\r\n"),
        same(
            "ZRANGESTORE d s 0 -1",
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        same("ZDIFFSTORE s 2 s z", ":1\r\n"),
        same("TYPE s", "+zset\r\n"),
        differ("ZSCORE s 5", "$1\r\n1\r\n", ",1\r\n"),
    ]);
}

/// Random sorted set (and a few string) commands with arguments from a pool of edge
/// cases: every reply is one frame, and no error reply comes with a log record (the
/// harness checks both on every call), in both protocols, in a small store that fills up.
#[test]
fn random_commands_keep_the_table_invariants() {
    use crate::store::Config;
    use proptest::prelude::*;
    use std::vec::Vec;

    const NAMES: [&str; 35] = [
        "ZADD",
        "SADD",
        "ZMPOP",
        "BZPOPMIN",
        "BZPOPMAX",
        "BZMPOP",
        "ZINCRBY",
        "ZREM",
        "ZSCORE",
        "ZMSCORE",
        "ZCARD",
        "ZCOUNT",
        "ZLEXCOUNT",
        "ZRANGE",
        "ZRANGEBYSCORE",
        "ZREVRANGEBYLEX",
        "ZRANK",
        "ZPOPMIN",
        "ZPOPMAX",
        "ZREMRANGEBYRANK",
        "ZREMRANGEBYSCORE",
        "ZREMRANGEBYLEX",
        "ZRANDMEMBER",
        "ZSCAN",
        "ZRANGESTORE",
        "ZUNIONSTORE",
        "ZINTER",
        "ZDIFF",
        "ZINTERCARD",
        "ZUNION",
        "SET",
        "GET",
        "EXPIRE",
        "DEL",
        "TYPE",
    ];
    const WORDS: [&str; 27] = [
        "k",
        "MIN",
        "MAX",
        "COUNT",
        "z",
        "a",
        "b",
        "0",
        "1",
        "2",
        "-1",
        "(1",
        "inf",
        "-inf",
        "nan",
        "[a",
        "-",
        "+",
        "x",
        "WITHSCORES",
        "LIMIT",
        "REV",
        "BYSCORE",
        "BYLEX",
        "NX",
        "INCR",
        "WEIGHTS",
    ];
    let command = (0..NAMES.len(), prop::collection::vec(0..WORDS.len(), 0..8));
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
                let _: Vec<u8> = harness.run("ZRANGE z 0 -1 WITHSCORES");
            }
            Ok(())
        })
        .expect("invariants hold");
}

/// ZPOPMIN with a count on a large sorted set in a store too small for every removal's
/// writes: the window goes whole, or an out-of-memory error leaves the set as it was. (The
/// reply's length is written before its first entry: a pop that stopped partway gave an
/// array of four pairs holding one, found by the `command_exec` fuzz target; the harness
/// checks every reply is one whole frame.)
#[test]
fn a_counted_pop_goes_whole_or_not_at_all() {
    let mut outcomes = [0; 2];
    for policy in [EvictionPolicy::AllKeysLfu, EvictionPolicy::NoEviction] {
        // Fills memory a few hundred bytes further each time, until a SET fails or evicts.
        for filler in (0..).step_by(3) {
            let mut config = Config::new(256 * 1024, 4096);
            config.policy = policy;
            let mut harness = Harness::with_config(config, Protocol::Resp2);
            let long = "m".repeat(133);
            for (score, member) in ["a", "b", "c", "d", "e", "f", "g", "h", &long]
                .into_iter()
                .enumerate()
            {
                harness.run(&format!("ZADD z {score} {member}"));
            }
            let mut full = false;
            for index in 0..filler {
                let reply = harness.run(&format!("SET filler{index} {}", "v".repeat(100)));
                full |= reply.starts_with(b"-OOM ");
            }
            full |= harness.run("DBSIZE") != format!(":{}\r\n", filler + 1).into_bytes();
            let card = |harness: &mut Harness| {
                let reply = harness.run("ZCARD z");
                let text = String::from_utf8(reply).expect("ascii");
                text.trim_start_matches(':')
                    .trim_end()
                    .parse::<usize>()
                    .expect("integer")
            };
            let before = card(&mut harness);
            let reply = harness.run("ZPOPMIN z 4");
            if reply.starts_with(b"-OOM ") {
                assert_eq!(card(&mut harness), before, "{policy:?} {filler}");
                outcomes[1] += 1;
            } else if before >= 4 {
                assert!(reply.starts_with(b"*8\r\n"), "{reply:?}");
                assert_eq!(card(&mut harness), before - 4, "{policy:?} {filler}");
                outcomes[0] += 1;
            }
            if full {
                break;
            }
        }
    }
    assert!(
        outcomes[0] > 0 && outcomes[1] > 0,
        "both outcomes: {outcomes:?}"
    );
}
