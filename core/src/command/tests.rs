//! Tests of the command table (`mod.rs`): lookup, arity, and the replies every command
//! shares.

use super::harness::{Harness, differ, same};
use super::*;
use std::string::String;
use std::vec::Vec;

#[test]
fn table_is_sorted_and_unique() {
    for pair in COMMANDS.windows(2) {
        assert!(
            pair[0].name < pair[1].name,
            "{} !< {}",
            pair[0].name,
            pair[1].name
        );
    }
    for spec in &COMMANDS {
        assert!(spec.name.len() <= NAME_SIZE_MAX, "{}", spec.name);
        assert_eq!(spec.name, spec.name.to_ascii_lowercase());
        assert!(spec.arity != 0, "{}", spec.name);
    }
}

#[test]
fn lookup_ignores_case() {
    assert_eq!(lookup(b"GET").map(CommandSpec::name), Some("get"));
    assert_eq!(lookup(b"gEt").map(CommandSpec::name), Some("get"));
    assert_eq!(
        lookup(b"IncrByFloat").map(CommandSpec::name),
        Some("incrbyfloat")
    );
    assert!(lookup(b"").is_none());
    assert!(lookup(b"gett").is_none());
    assert!(lookup(&[b'a'; 100]).is_none());
    // Outside the letters' index: no panic, no command.
    for name in [&b"_get"[..], b"1", b"{", b"\xff", b"\x00"] {
        assert!(lookup(name).is_none(), "{name:?}");
    }
}

/// Every command in the table is reachable by name, in any case, and answers a request
/// with too few (or, for fixed arities, too many) arguments with Redis's arity error,
/// writing nothing to the store.
#[test]
fn every_command_is_reachable_and_checks_arity() {
    for spec in &COMMANDS {
        let upper = spec.name.to_ascii_uppercase();
        let expected = format!(
            "-ERR wrong number of arguments for '{}' command\r\n",
            spec.name
        );
        let required = usize::from(spec.arity.unsigned_abs());
        let mut counts = Vec::new();
        if required > 1 {
            counts.push(required - 1);
        }
        if spec.arity > 0 {
            counts.push(required + 1);
        }
        for count in counts {
            let mut args: Vec<&[u8]> = vec![upper.as_bytes()];
            args.resize(count, b"x");
            let mut harness = Harness::new(Protocol::Resp2);
            let reply = harness.run_args(&args);
            assert_eq!(String::from_utf8_lossy(&reply), expected, "{args:?}");
        }
    }
}

#[test]
fn unknown_commands_list_their_first_arguments() {
    Harness::check(&[
        same(
            "foo",
            "-ERR unknown command 'foo', with args beginning with: \r\n",
        ),
        same(
            "FOO a b",
            "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n",
        ),
    ]);
    let mut harness = Harness::new(Protocol::Resp3);
    let long = [b'x'; 200];
    let args: [&[u8]; 4] = [b"nope\r\nx", &long, b"b\0hidden", b"c"];
    let reply = harness.run_args(&args);
    let expected = format!(
        "-ERR unknown command 'nope  x', with args beginning with: '{}' \r\n",
        "x".repeat(128)
    );
    assert_eq!(String::from_utf8_lossy(&reply), expected);
    let args: [&[u8]; 4] = [b"nope", b"a", b"b\0hidden", &long];
    let reply = harness.run_args(&args);
    let expected = format!(
        "-ERR unknown command 'nope', with args beginning with: 'a' 'b' '{}' \r\n",
        "x".repeat(128 - 8)
    );
    assert_eq!(String::from_utf8_lossy(&reply), expected);
    let name = [b'n'; 300];
    let args: [&[u8]; 1] = [&name];
    let reply = harness.run_args(&args);
    let expected = format!(
        "-ERR unknown command '{}', with args beginning with: \r\n",
        "n".repeat(128)
    );
    assert_eq!(String::from_utf8_lossy(&reply), expected);
}

#[test]
fn empty_requests_get_one_frame() {
    let mut harness = Harness::new(Protocol::Resp2);
    let reply = harness.run_args(&[]);
    assert_eq!(
        reply,
        b"-ERR unknown command '', with args beginning with: \r\n"
    );
}

#[test]
fn request_arguments_work() {
    use crate::codec::resp::{ArgRange, Limits, parse_request};
    let input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\nGET k\r\n";
    let mut ranges = [ArgRange::EMPTY; 8];
    let mut scratch = [0; 64];
    let mut harness = Harness::new(Protocol::Resp2);
    let request =
        parse_request(input, &Limits::DEFAULT, &mut ranges, &mut scratch).expect("multibulk");
    assert_eq!(harness.run_request(&request), b"+OK\r\n");
    let consumed = request.consumed_size();
    let request = parse_request(
        &input[consumed..],
        &Limits::DEFAULT,
        &mut ranges,
        &mut scratch,
    )
    .expect("inline");
    assert_eq!(harness.run_request(&request), b"$1\r\nv\r\n");
}

#[test]
fn key_indexes_follow_the_table() {
    let keys = |name: &str, count| -> Vec<usize> {
        lookup(name.as_bytes())
            .expect("known")
            .key_indexes(count)
            .collect()
    };
    assert_eq!(keys("get", 2), [1]);
    assert_eq!(keys("mset", 5), [1, 3]);
    assert_eq!(keys("del", 4), [1, 2, 3]);
    assert_eq!(keys("set", 5), [1]);
    assert!(keys("scan", 3).is_empty());
    assert!(keys("ping", 1).is_empty());
}

#[test]
fn sessions_keep_names_within_limit() {
    let mut session = Session::new(7);
    assert_eq!(session.name(), None);
    assert!(session.set_name(b"worker"));
    assert_eq!(session.name(), Some(&b"worker"[..]));
    assert!(!session.set_name(&[b'n'; CLIENT_NAME_SIZE_MAX + 1]));
    assert_eq!(session.name(), Some(&b"worker"[..]));
    assert!(session.set_name(b""));
    assert_eq!(session.name(), None);
    session.db = 3;
    session.protocol = Protocol::Resp3;
    session.reset();
    assert_eq!(session, Session::new(7));
}

#[test]
fn null_replies_follow_the_protocol() {
    Harness::check(&[differ("GET missing", "$-1\r\n", "_\r\n")]);
}
