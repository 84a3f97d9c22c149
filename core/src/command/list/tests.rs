//! List command tests: reply shapes in both protocols, and random list commands with
//! edge-case arguments keeping the command table's invariants.

use super::super::harness::{Harness, differ, same};
use crate::codec::resp::Protocol;
use crate::storage::policy::EvictionPolicy;
use crate::store::Config;

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

/// An element a list node cannot hold (one as large as an item) is refused with the
/// list's own text by a push, an insert and a set, and nothing changes; a move into a
/// list near the item limit makes it large instead.
#[test]
fn a_list_element_past_the_item_limit_names_itself() {
    use std::string::String;

    let mut harness = Harness::new(Protocol::Resp2);
    let limit = harness.store.config().value_size_max as usize;
    let big = "e".repeat(limit);
    let near = "n".repeat(limit - 64);
    assert_eq!(harness.run(&std::format!("RPUSH full {near}")), b":1\r\n");
    assert_eq!(harness.run("RPUSH small a"), b":1\r\n");
    let small = "s".repeat(128);
    assert_eq!(
        harness.run(&std::format!("RPUSH source {small} {small}")),
        b":2\r\n"
    );
    for line in [
        std::format!("RPUSH l {big}"),
        std::format!("LPUSH small {big}"),
        std::format!("LINSERT small BEFORE a {big}"),
        std::format!("LSET small 0 {big}"),
    ] {
        let reply = String::from_utf8(harness.run(&line)).expect("text");
        assert!(
            reply.starts_with("-ERR list element or node exceeds the maximum size of an item"),
            "{line:.40}: {reply}"
        );
    }
    assert_eq!(harness.run("EXISTS l"), b":0\r\n");
    assert_eq!(harness.run("LRANGE small 0 -1"), b"*1\r\n$1\r\na\r\n");
    let moved = std::format!("${}\r\n{small}\r\n", small.len()).into_bytes();
    assert_eq!(harness.run("LMOVE source full LEFT RIGHT"), moved);
    assert_eq!(harness.run("RPOPLPUSH source full"), moved);
    assert_eq!(harness.run("EXISTS source"), b":0\r\n");
    assert_eq!(harness.run("LLEN full"), b":3\r\n");
    // RPOPLPUSH pushes at the head.
    assert_eq!(harness.run("LINDEX full 0"), moved);
    let near_reply = std::format!("${}\r\n{near}\r\n", near.len()).into_bytes();
    assert_eq!(harness.run("LINDEX full 1"), near_reply);
    assert_eq!(harness.run("LINDEX full -1"), moved);
}

/// The bulk strings of a RESP2 array reply (nil elements as `None`).
fn bulks(reply: &[u8]) -> std::vec::Vec<Option<std::vec::Vec<u8>>> {
    let text = reply;
    let mut at = text.iter().position(|&b| b == b'\n').expect("header") + 1;
    assert_eq!(text[0], b'*', "{:?}", String::from_utf8_lossy(reply));
    let mut out = std::vec::Vec::new();
    while at < text.len() {
        let end = at + text[at..].iter().position(|&b| b == b'\n').expect("line");
        let line = std::str::from_utf8(&text[at + 1..end - 1]).expect("ascii");
        let size: i64 = line.parse().expect("size");
        at = end + 1;
        if size < 0 {
            out.push(None);
            continue;
        }
        let size = usize::try_from(size).expect("size");
        out.push(Some(text[at..at + size].to_vec()));
        at += size + 2;
    }
    out
}

/// LPUSH of 10,000 elements in one command makes a large list (a chain of nodes); then
/// random LINDEX, LRANGE, LSET, LINSERT, LREM, LTRIM, LPOS, LPOP and RPOP agree with a
/// `VecDeque`, under Redis's default node size and under nodes of 16 elements.
#[test]
fn a_large_list_follows_a_model_through_every_command() {
    use crate::store::Config;
    use std::collections::VecDeque;
    for size in [-2, 16] {
        let config = Config {
            list_max_listpack_size: size,
            ..Config::new(4 << 20, 1000)
        };
        let mut harness = Harness::with_config(config, Protocol::Resp2);
        let elements: std::vec::Vec<std::vec::Vec<u8>> = (0..10_000u32)
            .map(|n| format!("e{}", n % 977).into_bytes())
            .collect();
        let mut args: std::vec::Vec<&[u8]> = std::vec![b"LPUSH", b"l"];
        args.extend(elements.iter().map(std::vec::Vec::as_slice));
        assert_eq!(harness.run_args(&args), b":10000\r\n");
        let mut model: VecDeque<std::vec::Vec<u8>> = elements.iter().rev().cloned().collect();
        assert_eq!(harness.run("OBJECT ENCODING l"), b"$9\r\nquicklist\r\n");
        assert_eq!(harness.run("LLEN l"), b":10000\r\n");
        let now = harness.now;
        let list = harness
            .store
            .list_view(0, b"l", now)
            .expect("list")
            .expect("l");
        let crate::store::list::ListRead::Large(large) = list else {
            panic!("10,000 elements make a large list");
        };
        assert!(large.node_count() > 5, "{} nodes", large.node_count());
        let mut random = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |bound: usize| {
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            usize::try_from(random % bound as u64).expect("fits")
        };
        let index_of = |model: &VecDeque<std::vec::Vec<u8>>, index: i64| {
            crate::store::list::resolve_index(index, model.len())
        };
        for round in 0..400 {
            let len = i64::try_from(model.len()).expect("len");
            let index = i64::try_from(next(model.len() * 2 + 2)).expect("i") - len - 1;
            let element = format!("e{}", next(977)).into_bytes();
            let element_text = String::from_utf8(element.clone()).expect("ascii");
            match next(9) {
                0 => {
                    let reply = harness.run(&format!("LINDEX l {index}"));
                    let expected = index_of(&model, index).map(|at| model[at].clone());
                    let expected = expected.map_or_else(
                        || b"$-1\r\n".to_vec(),
                        |e| {
                            format!("${}\r\n{}\r\n", e.len(), String::from_utf8_lossy(&e))
                                .into_bytes()
                        },
                    );
                    assert_eq!(reply, expected, "round {round} LINDEX {index}");
                }
                1 => {
                    let stop = index + i64::try_from(next(300)).expect("n");
                    let got = bulks(&harness.run(&format!("LRANGE l {index} {stop}")));
                    let range = crate::store::list::resolve_range(index, stop, model.len());
                    let expected: std::vec::Vec<_> =
                        model.range(range).cloned().map(Some).collect();
                    assert_eq!(got, expected, "round {round} LRANGE {index} {stop}");
                }
                2 => {
                    let reply = harness.run(&format!("LSET l {index} {element_text}"));
                    match index_of(&model, index) {
                        Some(at) => {
                            assert_eq!(reply, b"+OK\r\n");
                            model[at] = element.clone();
                        }
                        None => assert_eq!(reply, b"-ERR index out of range\r\n"),
                    }
                }
                3 => {
                    let before = next(2) == 0;
                    let pivot = format!("e{}", next(977)).into_bytes();
                    let word = if before { "BEFORE" } else { "AFTER" };
                    let command = format!(
                        "LINSERT l {word} {} {element_text}",
                        String::from_utf8_lossy(&pivot)
                    );
                    let reply = harness.run(&command);
                    match model.iter().position(|e| *e == pivot) {
                        Some(at) => {
                            model.insert(if before { at } else { at + 1 }, element.clone());
                            assert_eq!(reply, format!(":{}\r\n", model.len()).into_bytes());
                        }
                        None => assert_eq!(reply, b":-1\r\n"),
                    }
                }
                4 => {
                    let count = i64::try_from(next(7)).expect("n") - 3;
                    let reply = harness.run(&format!("LREM l {count} {element_text}"));
                    let limit = if count == 0 {
                        usize::MAX
                    } else {
                        usize::try_from(count.unsigned_abs()).expect("small")
                    };
                    let mut removed = 0;
                    let mut kept: std::vec::Vec<_> = model.iter().cloned().collect();
                    if count < 0 {
                        kept.reverse();
                    }
                    kept.retain(|e| {
                        let drop = *e == element && removed < limit;
                        removed += usize::from(drop);
                        !drop
                    });
                    if count < 0 {
                        kept.reverse();
                    }
                    model = kept.into();
                    assert_eq!(
                        reply,
                        format!(":{removed}\r\n").into_bytes(),
                        "round {round}"
                    );
                }
                5 if round % 10 == 0 => {
                    // Now and then a trim of a few elements at either end.
                    let start = i64::try_from(next(40)).expect("n");
                    let stop = -1 - i64::try_from(next(40)).expect("n");
                    assert_eq!(harness.run(&format!("LTRIM l {start} {stop}")), b"+OK\r\n");
                    let range = crate::store::list::resolve_range(start, stop, model.len());
                    model = model.range(range).cloned().collect();
                }
                6 => {
                    let count = next(30) + 1;
                    let got = bulks(&harness.run(&format!("LPOP l {count}")));
                    let expected: std::vec::Vec<_> = (0..count)
                        .filter_map(|_| model.pop_front())
                        .map(Some)
                        .collect();
                    assert_eq!(got, expected, "round {round} LPOP {count}");
                }
                7 => {
                    let count = next(30) + 1;
                    let got = bulks(&harness.run(&format!("RPOP l {count}")));
                    let expected: std::vec::Vec<_> = (0..count)
                        .filter_map(|_| model.pop_back())
                        .map(Some)
                        .collect();
                    assert_eq!(got, expected, "round {round} RPOP {count}");
                }
                _ => {
                    let reply = harness.run(&format!("LPOS l {element_text} RANK -1"));
                    let expected = model.iter().rposition(|e| *e == element);
                    let expected = expected.map_or_else(
                        || b"$-1\r\n".to_vec(),
                        |at| format!(":{at}\r\n").into_bytes(),
                    );
                    assert_eq!(reply, expected, "round {round} LPOS");
                }
            }
            assert_eq!(
                harness.run("LLEN l"),
                format!(":{}\r\n", model.len()).into_bytes(),
                "round {round}"
            );
        }
        let got = bulks(&harness.run("LRANGE l 0 -1"));
        let expected: std::vec::Vec<_> = model.iter().cloned().map(Some).collect();
        assert_eq!(got, expected, "the whole list");
    }
}

/// The readers of a large list besides the list commands: SORT (also storing into the
/// list itself, read through the memory split around the new item), DUMP and RESTORE,
/// OBJECT ENCODING, MEMORY USAGE (which counts the nodes).
#[test]
fn sort_dump_and_memory_read_a_large_list() {
    use crate::store::Config;
    let config = Config {
        list_max_listpack_size: 4,
        ..Config::new(1 << 20, 1000)
    };
    let mut harness = Harness::with_config(config, Protocol::Resp2);
    let numbers: std::vec::Vec<u32> = (0..200u32).map(|n| (n * 7919) % 1000).collect();
    let mut command = String::from("RPUSH l");
    for number in &numbers {
        command.push_str(&std::format!(" {number}"));
    }
    assert_eq!(harness.run(&command), b":200\r\n");
    let now = harness.now;
    let list = harness
        .store
        .list_view(0, b"l", now)
        .expect("list")
        .expect("l");
    assert!(matches!(list, crate::store::list::ListRead::Large(_)));
    let mut sorted = numbers.clone();
    sorted.sort_unstable();
    let expected: std::vec::Vec<_> = sorted
        .iter()
        .map(|n| Some(n.to_string().into_bytes()))
        .collect();
    assert_eq!(bulks(&harness.run("SORT l")), expected);
    let limited = bulks(&harness.run("SORT l LIMIT 10 5 DESC"));
    let desc: std::vec::Vec<_> = expected.iter().rev().skip(10).take(5).cloned().collect();
    assert_eq!(limited, desc);
    assert_eq!(harness.run("SORT l STORE m"), b":200\r\n");
    assert_eq!(bulks(&harness.run("LRANGE m 0 -1")), expected);
    assert_eq!(harness.run("SORT l STORE l"), b":200\r\n");
    assert_eq!(bulks(&harness.run("LRANGE l 0 -1")), expected);
    // Back to a large list, then DUMP and RESTORE it under another name.
    assert_eq!(
        harness.run(&command.replacen("RPUSH l", "RPUSH big", 1)),
        b":200\r\n"
    );
    let in_order: std::vec::Vec<_> = numbers
        .iter()
        .map(|n| Some(n.to_string().into_bytes()))
        .collect();
    let dump = harness.run("DUMP big");
    let size_end = dump.iter().position(|&b| b == b'\r').expect("size");
    let size: usize = std::str::from_utf8(&dump[1..size_end])
        .expect("ascii")
        .parse()
        .expect("n");
    let payload = dump[size_end + 2..size_end + 2 + size].to_vec();
    let restore: [&[u8]; 4] = [b"RESTORE", b"copy", b"0", &payload];
    assert_eq!(harness.run_args(&restore), b"+OK\r\n");
    assert_eq!(bulks(&harness.run("LRANGE copy 0 -1")), in_order);
    assert_eq!(harness.run("OBJECT ENCODING big"), b"$9\r\nquicklist\r\n");
    let usage = |harness: &mut Harness, key: &str| -> i64 {
        let reply = harness.run(&std::format!("MEMORY USAGE {key}"));
        std::str::from_utf8(&reply[1..reply.len() - 2])
            .expect("ascii")
            .parse()
            .expect("integer")
    };
    assert!(
        usage(&mut harness, "big") > 200 * 4,
        "the nodes are counted"
    );
}

/// RPOPLPUSH into a compact list that the push takes past `list-max-listpack-size`, in a
/// store filled a little further each time: the move is made whole, or refused with OOM
/// before anything is written (the harness checks an error reply logs nothing). The
/// fuzzer found the target converted and logged, then the move refused for memory.
#[test]
fn a_move_that_converts_its_target_goes_whole_or_not_at_all() {
    let mut outcomes = [0; 2];
    for policy in [EvictionPolicy::NoEviction, EvictionPolicy::VolatileLfu] {
        for filler in (0..).step_by(2) {
            let mut config = Config::new(64 * 1024, 1024);
            config.policy = policy;
            config.list_max_listpack_size = 2;
            let mut harness = Harness::with_config(config, Protocol::Resp2);
            let element = "e".repeat(40);
            harness.run(&format!(
                "RPUSH src {element}1 {element}2 {element}3 {element}4"
            ));
            harness.run(&format!("RPUSH dst {element}5 {element}6"));
            let mut full = false;
            for index in 0..filler {
                let reply = harness.run(&format!("SET filler{index} {}", "v".repeat(100)));
                full |= reply.starts_with(b"-OOM ");
            }
            let lengths =
                |harness: &mut Harness| (harness.run("LLEN src"), harness.run("LLEN dst"));
            let before = lengths(&mut harness);
            let reply = harness.run("RPOPLPUSH src dst");
            let after = lengths(&mut harness);
            if reply.starts_with(b"-OOM ") {
                assert_eq!(after, before, "{policy:?} {filler}");
                outcomes[1] += 1;
            } else {
                assert_eq!(reply, format!("$41\r\n{element}4\r\n").into_bytes());
                assert_eq!(after, (b":3\r\n".to_vec(), b":3\r\n".to_vec()));
                outcomes[0] += 1;
            }
            if full || harness.run("LLEN src") == b":0\r\n" {
                break;
            }
        }
    }
    assert!(
        outcomes[0] > 0 && outcomes[1] > 0,
        "both outcomes: {outcomes:?}"
    );
}
