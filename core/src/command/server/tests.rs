//! Tests of the server and connection commands (`server.rs`): replies, errors, and what
//! they hand to the runtime.

use super::super::harness::{Harness, NOW, same};
use super::*;
use std::string::String;

#[test]
fn ping_echo_time() {
    Harness::check(&[
        same("PING", "+PONG\r\n"),
        same("ping hello", "$5\r\nhello\r\n"),
        same(
            "PING a b",
            "-ERR wrong number of arguments for 'ping' command\r\n",
        ),
        same("ECHO \"\"", "$0\r\n\r\n"),
        same("ECHO hi", "$2\r\nhi\r\n"),
    ]);
    let mut harness = Harness::new(Protocol::Resp3);
    harness.now = NOW + 123;
    assert_eq!(
        harness.run("TIME"),
        b"*2\r\n$10\r\n1700000000\r\n$6\r\n123000\r\n"
    );
}

#[test]
fn select_switches_databases() {
    Harness::check(&[
        same("SET k zero", "+OK\r\n"),
        same("SELECT 15", "+OK\r\n"),
        same("SET k fifteen", "+OK\r\n"),
        same("GET k", "$7\r\nfifteen\r\n"),
        same("SELECT 16", "-ERR DB index is out of range\r\n"),
        same("SELECT -1", "-ERR DB index is out of range\r\n"),
        same("SELECT 2147483647", "-ERR DB index is out of range\r\n"),
        same("SELECT 2147483648", INT_RANGE),
        same("SELECT -2147483649", INT_RANGE),
        same(
            "SELECT one",
            "-ERR value is not an integer or out of range\r\n",
        ),
        same("GET k", "$7\r\nfifteen\r\n"),
        same("SELECT 0", "+OK\r\n"),
        same("GET k", "$4\r\nzero\r\n"),
    ]);
}

const INT_RANGE: &str =
    "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n";

const HELLO_2: &str = "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n\
    $5\r\n7.2.0\r\n$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:42\r\n$4\r\nmode\r\n\
    $10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n";
const HELLO_3: &str = "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n\
    $5\r\n7.2.0\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:42\r\n$4\r\nmode\r\n\
    $10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n";

#[test]
fn hello_switches_protocol_and_replies_in_the_new_one() {
    let mut harness = Harness::new(Protocol::Resp2);
    assert_eq!(String::from_utf8_lossy(&harness.run("HELLO")), HELLO_2);
    assert_eq!(String::from_utf8_lossy(&harness.run("HELLO 3")), HELLO_3);
    assert_eq!(harness.session.protocol, Protocol::Resp3);
    assert_eq!(harness.run("GET missing"), b"_\r\n");
    assert_eq!(String::from_utf8_lossy(&harness.run("HELLO")), HELLO_3);
    assert_eq!(String::from_utf8_lossy(&harness.run("hello 2")), HELLO_2);
    assert_eq!(harness.run("GET missing"), b"$-1\r\n");
}

#[test]
fn hello_options() {
    let mut harness = Harness::new(Protocol::Resp2);
    let reply = harness.run("HELLO 3 AUTH default secret SETNAME app-1");
    assert_eq!(String::from_utf8_lossy(&reply), HELLO_3);
    assert_eq!(harness.session.name(), Some(&b"app-1"[..]));
    assert_eq!(harness.run("CLIENT GETNAME"), b"$5\r\napp-1\r\n");
}

#[test]
fn hello_errors_change_nothing() {
    for (command, reply) in [
        ("HELLO 4", "-NOPROTO unsupported protocol version\r\n"),
        ("HELLO 1", "-NOPROTO unsupported protocol version\r\n"),
        (
            "HELLO three",
            "-ERR Protocol version is not an integer or out of range\r\n",
        ),
        ("HELLO 3 FOO", "-ERR Syntax error in HELLO option 'FOO'\r\n"),
        (
            "HELLO 3 AUTH default",
            "-ERR Syntax error in HELLO option 'AUTH'\r\n",
        ),
        (
            "HELLO 3 SETNAME",
            "-ERR Syntax error in HELLO option 'SETNAME'\r\n",
        ),
        (
            "HELLO 3 SETNAME a\nb",
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
        ),
        (
            "HELLO 3 AUTH alice secret",
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
        ),
        (
            "HELLO 3 SETNAME ok AUTH alice secret",
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
        ),
    ] {
        let mut harness = Harness::new(Protocol::Resp2);
        assert_eq!(String::from_utf8_lossy(&harness.run(command)), reply);
        assert_eq!(harness.session, Session::new(42), "{command}");
    }
}

#[test]
fn auth_without_passwords() {
    Harness::check(&[
        same(
            "AUTH secret",
            "-ERR AUTH <password> called without any password configured for the \
             default user. Are you sure your configuration is correct?\r\n",
        ),
        same("AUTH default anything", "+OK\r\n"),
        same(
            "AUTH alice secret",
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
        ),
        same("AUTH a b c", "-ERR syntax error\r\n"),
    ]);
}

#[test]
fn quit_and_reset() {
    let mut harness = Harness::new(Protocol::Resp2);
    assert_eq!(harness.run("QUIT"), b"+OK\r\n");
    assert_eq!(harness.outcome, Outcome::Close);
    harness.run("HELLO 3 SETNAME me");
    harness.run("SELECT 4");
    assert_eq!(harness.run("RESET"), b"+RESET\r\n");
    assert_eq!(harness.outcome, Outcome::Done);
    assert_eq!(harness.session, Session::new(42));
}

#[test]
fn client_subcommands() {
    Harness::check(&[
        same("CLIENT ID", ":42\r\n"),
        super::super::harness::differ("CLIENT GETNAME", "$-1\r\n", "_\r\n"),
        same("CLIENT SETNAME worker", "+OK\r\n"),
        same("client getname", "$6\r\nworker\r\n"),
        same(
            "CLIENT SETNAME a\tb",
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
        ),
        same("CLIENT SETINFO LIB-NAME redis-py", "+OK\r\n"),
        same("CLIENT SETINFO lib-ver 5.0.1", "+OK\r\n"),
        same(
            "CLIENT SETINFO LIB-FOO x",
            "-ERR Unrecognized option 'LIB-FOO'\r\n",
        ),
        same(
            "CLIENT SETINFO LIB-NAME a\nb",
            "-ERR LIB-NAME cannot contain spaces, newlines or special characters.\r\n",
        ),
        same(
            "CLIENT SETINFO LIB-NAME",
            "-ERR wrong number of arguments for 'client|setinfo' command\r\n",
        ),
        same(
            "CLIENT SETNAME",
            "-ERR wrong number of arguments for 'client|setname' command\r\n",
        ),
        same(
            "CLIENT FOO",
            "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n",
        ),
        same(
            "CLIENT",
            "-ERR wrong number of arguments for 'client' command\r\n",
        ),
        same("CLIENT SETNAME \"\"", "+OK\r\n"),
        super::super::harness::differ("CLIENT GETNAME", "$-1\r\n", "_\r\n"),
    ]);
    let mut harness = Harness::new(Protocol::Resp2);
    let long = [b'n'; CLIENT_NAME_SIZE_MAX + 1];
    assert_eq!(
        harness.run_args(&[b"CLIENT", b"SETNAME", &long]),
        b"-ERR Client names are limited to 128 bytes\r\n"
    );
    assert!(harness.run("CLIENT HELP").starts_with(b"*11\r\n+CLIENT"));
}

#[test]
fn command_introspection() {
    let count = format!(":{}\r\n", COMMANDS.len());
    let mut harness = Harness::new(Protocol::Resp2);
    assert_eq!(
        String::from_utf8_lossy(&harness.run("COMMAND COUNT")),
        count
    );
    assert_eq!(harness.run("COMMAND DOCS"), b"*0\r\n");
    assert_eq!(harness.run("COMMAND DOCS get set"), b"*0\r\n");
    assert_eq!(
        harness.run("COMMAND INFO get nosuch"),
        b"*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*1\r\n+readonly\r\n:1\r\n:1\r\n:1\r\n\
          *0\r\n*0\r\n*0\r\n*0\r\n$-1\r\n"
    );
    let header = format!("*{}\r\n", COMMANDS.len());
    let starts = |reply: Vec<u8>, rest: &str| {
        String::from_utf8_lossy(&reply).starts_with(&format!("{header}{rest}"))
    };
    assert!(starts(harness.run("COMMAND"), "*10\r\n$3\r\nacl\r\n"));
    assert!(starts(harness.run("COMMAND LIST"), "$3\r\nacl\r\n"));
    assert!(starts(harness.run("COMMAND INFO"), ""));
    assert_eq!(
        harness.run("COMMAND INFO rename move"),
        b"*2\r\n*10\r\n$6\r\nrename\r\n:3\r\n*1\r\n+write\r\n:1\r\n:2\r\n:1\r\n\
          *0\r\n*0\r\n*0\r\n*0\r\n\
          *10\r\n$4\r\nmove\r\n:3\r\n*1\r\n+write\r\n:1\r\n:1\r\n:1\r\n\
          *0\r\n*0\r\n*0\r\n*0\r\n"
    );
    assert_eq!(
        harness.run("COMMAND FOO"),
        b"-ERR unknown subcommand 'FOO'. Try COMMAND HELP.\r\n"
    );
    assert_eq!(
        harness.run("COMMAND COUNT x"),
        b"-ERR wrong number of arguments for 'command|count' command\r\n"
    );
    let mut harness = Harness::new(Protocol::Resp3);
    assert_eq!(harness.run("COMMAND DOCS"), b"%0\r\n");
    assert_eq!(
        harness.run("COMMAND INFO mset"),
        b"*1\r\n*10\r\n$4\r\nmset\r\n:-3\r\n~1\r\n+write\r\n:1\r\n:-1\r\n:2\r\n\
          ~0\r\n~0\r\n*0\r\n*0\r\n"
    );
}

#[test]
fn runtime_commands_write_nothing() {
    let cases = [
        ("SAVE", RuntimeCommand::Save),
        ("BGSAVE", RuntimeCommand::BackgroundSave { schedule: false }),
        (
            "bgsave schedule",
            RuntimeCommand::BackgroundSave { schedule: true },
        ),
        ("BGREWRITEAOF", RuntimeCommand::BackgroundRewriteLog),
        ("INFO", RuntimeCommand::Info),
        ("INFO memory stats", RuntimeCommand::Info),
        ("CONFIG GET maxmemory*", RuntimeCommand::ConfigGet),
        ("CONFIG SET a 1 b 2", RuntimeCommand::ConfigSet),
        ("CONFIG RESETSTAT", RuntimeCommand::ConfigResetStat),
        ("CONFIG REWRITE", RuntimeCommand::ConfigRewrite),
        ("SHUTDOWN", RuntimeCommand::Shutdown(Shutdown::default())),
        (
            "SHUTDOWN NOSAVE NOW",
            RuntimeCommand::Shutdown(Shutdown {
                save: Some(false),
                now: true,
                ..Shutdown::default()
            }),
        ),
        (
            "shutdown save force",
            RuntimeCommand::Shutdown(Shutdown {
                save: Some(true),
                force: true,
                ..Shutdown::default()
            }),
        ),
        (
            "SHUTDOWN ABORT",
            RuntimeCommand::Shutdown(Shutdown {
                abort: true,
                ..Shutdown::default()
            }),
        ),
        ("MULTI", RuntimeCommand::Multi),
        ("exec", RuntimeCommand::Exec),
        ("DISCARD", RuntimeCommand::Discard),
        ("WATCH a b c", RuntimeCommand::Watch),
        ("UNWATCH", RuntimeCommand::Unwatch),
        ("LASTSAVE", RuntimeCommand::LastSave),
        ("CLUSTER INFO", RuntimeCommand::Cluster),
        ("readonly", RuntimeCommand::Cluster),
        ("LATENCY LATEST", RuntimeCommand::Latency),
        ("latency anything at all", RuntimeCommand::Latency),
        ("SLOWLOG GET 10", RuntimeCommand::SlowLog),
        ("SLOWLOG nonsense", RuntimeCommand::SlowLog),
        ("FUNCTION FLUSH", RuntimeCommand::FunctionFlush),
        ("function flush async", RuntimeCommand::FunctionFlush),
        ("FUNCTION FLUSH SYNC", RuntimeCommand::FunctionFlush),
        (
            "WAIT 0 0",
            RuntimeCommand::Wait {
                replica_count: 0,
                timeout_ms: 0,
            },
        ),
        (
            "WAIT -3 1500",
            RuntimeCommand::Wait {
                replica_count: -3,
                timeout_ms: 1500,
            },
        ),
    ];
    for (command, expected) in cases {
        let mut harness = Harness::new(Protocol::Resp2);
        assert_eq!(harness.run(command), b"", "{command}");
        assert_eq!(harness.outcome, Outcome::Runtime(expected), "{command}");
    }
}

#[test]
fn wait_and_function_errors_are_replied_here() {
    Harness::check(&[
        same(
            "WAIT x 0",
            "-ERR value is not an integer or out of range\r\n",
        ),
        same(
            "WAIT 1 x",
            "-ERR timeout is not an integer or out of range\r\n",
        ),
        same("WAIT 1 -1", "-ERR timeout is negative\r\n"),
        // The number of replicas is read first.
        same(
            "WAIT x -1",
            "-ERR value is not an integer or out of range\r\n",
        ),
        // NOW plus this overflows a signed 64-bit millisecond time.
        same(
            "WAIT 1 9223372036854775807",
            "-ERR timeout is out of range\r\n",
        ),
        same(
            "WAIT 1 2.5",
            "-ERR timeout is not an integer or out of range\r\n",
        ),
        same(
            "WAIT 1",
            "-ERR wrong number of arguments for 'wait' command\r\n",
        ),
        same(
            "FUNCTION LIST",
            "-ERR unknown subcommand 'LIST'. Try FUNCTION HELP.\r\n",
        ),
        same(
            "FUNCTION LOAD code",
            "-ERR unknown subcommand 'LOAD'. Try FUNCTION HELP.\r\n",
        ),
        same(
            "FUNCTION FLUSH LATER",
            "-ERR FUNCTION FLUSH only supports SYNC|ASYNC option\r\n",
        ),
        same(
            "FUNCTION FLUSH SYNC ASYNC",
            "-ERR unknown subcommand or wrong number of arguments for 'FLUSH'. \
             Try FUNCTION HELP.\r\n",
        ),
        same(
            "FUNCTION HELP x",
            "-ERR wrong number of arguments for 'function|help' command\r\n",
        ),
        same(
            "WATCH",
            "-ERR wrong number of arguments for 'watch' command\r\n",
        ),
        same(
            "MULTI x",
            "-ERR wrong number of arguments for 'multi' command\r\n",
        ),
        same(
            "LATENCY",
            "-ERR wrong number of arguments for 'latency' command\r\n",
        ),
    ]);
    let mut harness = Harness::new(Protocol::Resp3);
    assert!(
        harness
            .run("FUNCTION HELP")
            .starts_with(b"*9\r\n+FUNCTION <subcommand>")
    );
    // Just below the overflow: accepted.
    let limit = i64::MAX - i64::try_from(NOW).expect("fits");
    harness.run(&format!("WAIT 1 {limit}"));
    assert_eq!(
        harness.outcome,
        Outcome::Runtime(RuntimeCommand::Wait {
            replica_count: 1,
            timeout_ms: u64::try_from(limit).expect("positive"),
        })
    );
}

#[test]
fn runtime_command_errors_are_replied_here() {
    Harness::check(&[
        same("BGSAVE NOW", "-ERR syntax error\r\n"),
        same("SHUTDOWN SAVE NOSAVE", "-ERR syntax error\r\n"),
        same("SHUTDOWN ABORT NOW", "-ERR syntax error\r\n"),
        same("SHUTDOWN LATER", "-ERR syntax error\r\n"),
        same(
            "SAVE now",
            "-ERR wrong number of arguments for 'save' command\r\n",
        ),
        same(
            "CONFIG GET",
            "-ERR wrong number of arguments for 'config|get' command\r\n",
        ),
        same(
            "CONFIG SET a",
            "-ERR wrong number of arguments for 'config|set' command\r\n",
        ),
        same(
            "CONFIG SET a 1 b",
            "-ERR wrong number of arguments for 'config|set' command\r\n",
        ),
        same(
            "CONFIG RESET",
            "-ERR unknown subcommand 'RESET'. Try CONFIG HELP.\r\n",
        ),
    ]);
    let mut harness = Harness::new(Protocol::Resp2);
    assert!(harness.run("CONFIG HELP").starts_with(b"*11\r\n+CONFIG"));
    assert!(harness.run("COMMAND HELP").starts_with(b"*13\r\n+COMMAND"));
}
