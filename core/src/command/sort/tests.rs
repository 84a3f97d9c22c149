//! SORT and SORT_RO through the command table: reply shapes in both protocols, sorts of
//! several selection passes against a model, the element limit, STORE's errors, and the
//! keys and shards the table names for a request. Redis's own replies are pinned by
//! `tests/differential/sort.redis`.

use std::format;
use std::string::String;
use std::vec::Vec;

use super::super::harness::{Harness, differ, same};
use super::super::{Scope, lookup};
use crate::codec::resp::Protocol;
use crate::constants::{SORT_CHUNK_SIZE, SORT_ELEMENTS_MAX};
use crate::store::Config;

#[test]
fn replies_in_both_protocols() {
    Harness::check(&[
        same("RPUSH l 3 1 2", ":3\r\n"),
        same("SORT l", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"),
        same("SORT_RO l DESC LIMIT 0 1", "*1\r\n$1\r\n3\r\n"),
        same("SET k_1 x", "+OK\r\n"),
        differ(
            "SORT l GET k_* GET #",
            "*6\r\n$1\r\nx\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n$-1\r\n$1\r\n3\r\n",
            "*6\r\n$1\r\nx\r\n$1\r\n1\r\n_\r\n$1\r\n2\r\n_\r\n$1\r\n3\r\n",
        ),
        same("SORT missing", "*0\r\n"),
        same("SORT l STORE d", ":3\r\n"),
        same("LRANGE d 0 -1", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"),
        same("SORT_RO l STORE d", "-ERR syntax error\r\n"),
        same(
            "SORT l LIMIT x 1",
            "-ERR value is not an integer or out of range\r\n",
        ),
        same(
            "SORT l LIMIT x 1 junk",
            "-ERR value is not an integer or out of range\r\n",
        ),
        same("SORT l junk LIMIT x 1", "-ERR syntax error\r\n"),
        same("RPUSH w a", ":1\r\n"),
        same(
            "SORT w",
            "-ERR One or more scores can't be converted into double\r\n",
        ),
        same(
            "SORT w STORE d",
            "-ERR One or more scores can't be converted into double\r\n",
        ),
        same("LLEN d", ":3\r\n"),
        same("HSET h f v", ":1\r\n"),
        same(
            "SORT h",
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        same(
            "SORT",
            "-ERR wrong number of arguments for 'sort' command\r\n",
        ),
    ]);
}

/// A deterministic shuffle of `0..count` (an LCG), as decimal strings.
fn shuffled(count: usize) -> Vec<String> {
    let mut state = 0x2545_f491_u64;
    let mut values: Vec<usize> = (0..count).collect();
    for index in (1..count).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let other = usize::try_from(state >> 33).expect("31 bits fit") % (index + 1);
        values.swap(index, other);
    }
    values.iter().map(|value| format!("{value}")).collect()
}

fn push_all(harness: &mut Harness, key: &str, values: &[String]) {
    let mut args: Vec<&[u8]> = vec![b"RPUSH", key.as_bytes()];
    args.extend(values.iter().map(String::as_bytes));
    let reply = harness.run_args(&args);
    assert_eq!(reply, format!(":{}\r\n", values.len()).into_bytes());
}

fn bulk_array(values: &[String]) -> Vec<u8> {
    let mut reply = format!("*{}\r\n", values.len()).into_bytes();
    for value in values {
        reply.extend_from_slice(format!("${}\r\n{value}\r\n", value.len()).as_bytes());
    }
    reply
}

/// A sort of several chunks (numeric, ALPHA, DESC, windows across chunk edges, duplicates,
/// BY nosort DESC) equals the model's.
#[test]
fn sorts_of_several_passes_match_a_model() {
    let count = 2 * SORT_CHUNK_SIZE + 77;
    let mut values = shuffled(count);
    values.extend(["5", "5", "1000"].map(String::from)); // duplicates
    let mut harness = Harness::new(Protocol::Resp2);
    push_all(&mut harness, "l", &values);
    let mut numeric = values.clone();
    numeric.sort_by_key(|value| value.parse::<u64>().expect("a number"));
    let mut alpha = values.clone();
    alpha.sort();
    let windows = [
        (0, usize::MAX),
        (SORT_CHUNK_SIZE - 3, 10),
        (SORT_CHUNK_SIZE, SORT_CHUNK_SIZE + 1),
        (count - 5, 100),
    ];
    for (start, size) in windows {
        let take = |model: &[String]| -> Vec<String> {
            model.iter().skip(start).take(size).cloned().collect()
        };
        let limit = if size == usize::MAX {
            String::new()
        } else {
            format!(" LIMIT {start} {size}")
        };
        let reversed = |model: &[String]| model.iter().rev().cloned().collect::<Vec<_>>();
        let cases = [
            ("", take(&numeric)),
            (" DESC", take(&reversed(&numeric))),
            (" ALPHA", take(&alpha)),
            (" ALPHA DESC", take(&reversed(&alpha))),
            (" BY nosort", take(&values)),
            (" BY nosort DESC", take(&reversed(&values))),
        ];
        for (options, expected) in cases {
            let command = format!("SORT l{options}{limit}");
            assert_eq!(
                String::from_utf8_lossy(&harness.run(&command)),
                String::from_utf8_lossy(&bulk_array(&expected)),
                "{command}"
            );
        }
    }
}

/// Past `SORT_ELEMENTS_MAX` elements SORT is refused with an error naming the limit,
/// unless it keeps the collection's order going forward (BY nosort, which sorts nothing).
#[test]
fn sorts_past_the_element_limit_are_refused() {
    let config = Config::new(4 << 20, 1000);
    let mut harness = Harness::with_config(config, Protocol::Resp2);
    let values: Vec<String> = (0..=SORT_ELEMENTS_MAX).map(|_| String::from("7")).collect();
    push_all(&mut harness, "l", &values);
    let refused = "-ERR SORT sorts at most 65536 elements (sort-elements-max)\r\n";
    for command in ["SORT l", "SORT l ALPHA LIMIT 0 1", "SORT l BY nosort DESC"] {
        assert_eq!(String::from_utf8_lossy(&harness.run(command)), refused);
    }
    assert_eq!(
        harness.run("SORT l BY nosort LIMIT 0 1"),
        b"*1\r\n$1\r\n7\r\n"
    );
    assert_eq!(harness.run("RPOP l"), b"$1\r\n7\r\n");
    assert_eq!(harness.run("SORT l LIMIT 0 1"), b"*1\r\n$1\r\n7\r\n");
}

/// STORE's store errors change nothing: a destination key past `key-size-max`, and a
/// list past the item size limit.
#[test]
fn store_errors_change_nothing() {
    let mut config = Config::new(1 << 20, 1000);
    config.key_size_max = 8;
    config.value_size_max = 64;
    let mut harness = Harness::with_config(config, Protocol::Resp2);
    assert_eq!(harness.run("RPUSH l 3 1 2"), b":3\r\n");
    assert_eq!(
        harness.run("SORT l STORE longer-than-8"),
        b"-ERR key is larger than key-size-max\r\n"
    );
    assert_eq!(
        harness.run("SET v_1 0123456789012345678901234567890123456789"),
        b"+OK\r\n"
    );
    assert_eq!(
        harness.run("SET v_2 0123456789012345678901234567890123456789"),
        b"+OK\r\n"
    );
    let reply = harness.run("SORT l GET v_* STORE d");
    assert!(
        reply.starts_with(b"-ERR"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    assert_eq!(harness.run("EXISTS d"), b":0\r\n");
    assert_eq!(harness.run("SORT l GET v_* LIMIT 0 1 STORE d"), b":1\r\n");
    assert_eq!(harness.run("LLEN d"), b":1\r\n");
}

/// SORT's keys: its key and the last STORE's destination (Redis's `sortGetKeys`); a BY
/// or GET pattern makes it need every shard, and SORT_RO never writes.
#[test]
fn the_table_names_sorts_keys_and_shards() {
    let sort = lookup(b"SORT").expect("in the table");
    let sort_ro = lookup(b"sort_ro").expect("in the table");
    assert!(sort.is_write() && !sort.is_readonly() && sort.keys_counted());
    assert!(sort_ro.is_readonly() && !sort_ro.is_write() && sort_ro.keys_counted());
    let keys = |args: &[&[u8]]| sort.key_indexes_of(args).collect::<Vec<_>>();
    assert_eq!(keys(&[b"SORT", b"k"]), [1]);
    assert_eq!(keys(&[b"SORT", b"k", b"STORE", b"d"]), [1, 3]);
    assert_eq!(
        keys(&[
            b"SORT", b"k", b"STORE", b"d", b"LIMIT", b"0", b"1", b"store", b"e"
        ]),
        [1, 8]
    );
    // A STORE that is LIMIT's or GET's argument names no key.
    assert_eq!(keys(&[b"SORT", b"k", b"LIMIT", b"store", b"x"]), [1]);
    assert_eq!(keys(&[b"SORT", b"k", b"GET", b"store", b"x"]), [1]);
    assert_eq!(keys(&[b"SORT", b"k", b"STORE"]), [1]);
    let scope = |args: &[&[u8]]| sort.scope_of(args);
    assert_eq!(scope(&[b"SORT", b"k"]), Scope::Keys);
    assert_eq!(
        scope(&[b"SORT", b"k", b"DESC", b"STORE", b"d"]),
        Scope::Keys
    );
    assert_eq!(scope(&[b"SORT", b"k", b"by", b"w_*"]), Scope::All);
    assert_eq!(scope(&[b"SORT", b"k", b"GET", b"#"]), Scope::All);
    assert_eq!(scope(&[b"SORT", b"k", b"LIMIT", b"by", b"1"]), Scope::Keys);
    assert_eq!(
        sort_ro.scope_of(&[&b"SORT_RO"[..], b"k", b"GET", b"n_*"][..]),
        Scope::All
    );
}
