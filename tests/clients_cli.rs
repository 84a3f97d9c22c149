//! Redis's own command-line clients, which nobody here wrote, against a server: `redis-cli`
//! one-shot commands, its reply formats (`--no-raw`), piped scripts, `-x`, `-r`, `-n`,
//! RESP3 (`-3`), `--scan`, and mass insertion with `--pipe` (which ends on an ECHO of a
//! random marker); then `redis-benchmark -q -n 2000 -t set,get,incr,mset`, whose counter
//! must reach exactly 2000. Nothing here measures speed.
//!
//! Each check takes the server as a parameter and runs against Redis and against floe on
//! each of its event loops (io_uring and epoll).

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::server::{Server, Target, require_redis_binary};

common::server::against_both!(
    cli_one_shot_commands,
    cli_reply_formats,
    cli_piped_script,
    cli_stdin_repeat_and_database,
    cli_resp3,
    cli_scan,
    cli_pipe_mass_insert,
    benchmark_set_get_incr_mset,
);

/// Runs `program -h 127.0.0.1 -p PORT args`, with `input` on stdin; panics if it cannot
/// start. Its output is returned whatever the exit code.
fn run_tool(server: &Server, program: &str, args: &[&str], input: &[u8]) -> Output {
    require_redis_binary(program);
    let mut child = Command::new(program)
        .args(["-h", "127.0.0.1", "-p", &server.port.to_string()])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("start {program}: {error}"));
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin.write_all(input).expect("write the tool's input");
    drop(stdin);
    child.wait_with_output().expect("wait for the tool")
}

/// `redis-cli ARGS` with no input; returns stdout, asserting exit code 0.
fn cli(server: &Server, args: &[&str]) -> String {
    cli_with_input(server, args, b"")
}

fn cli_with_input(server: &Server, args: &[&str], input: &[u8]) -> String {
    let output = run_tool(server, "redis-cli", args, input);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "redis-cli {args:?} failed ({}): stdout {stdout:?} stderr {:?}; server log {}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
        server.log.display()
    );
    stdout
}

/// One-shot commands print the raw reply (no type decoration when not on a terminal).
fn cli_one_shot_commands(target: Target) {
    let server = target.start();
    assert_eq!(cli(&server, &["PING"]), "PONG\n");
    assert_eq!(cli(&server, &["SET", "greeting", "hello world"]), "OK\n");
    assert_eq!(cli(&server, &["GET", "greeting"]), "hello world\n");
    assert_eq!(cli(&server, &["GET", "missing"]), "\n");
    assert_eq!(cli(&server, &["INCRBY", "n", "41"]), "41\n");
    assert_eq!(
        cli(&server, &["MGET", "greeting", "missing", "n"]),
        "hello world\n\n41\n"
    );
    assert_eq!(cli(&server, &["EXISTS", "greeting", "n", "missing"]), "2\n");
    let error = cli(&server, &["INCR", "greeting"]);
    assert!(
        error.starts_with("ERR value is not an integer or out of range"),
        "{error:?}"
    );
}

/// `--no-raw` prints replies as an interactive session does: `(nil)`, `(integer) N`,
/// quoted strings, numbered array elements and `(error)`.
fn cli_reply_formats(target: Target) {
    let server = target.start();
    let no_raw = |args: &[&str]| {
        let mut all = vec!["--no-raw"];
        all.extend_from_slice(args);
        cli(&server, &all)
    };
    assert_eq!(no_raw(&["SET", "k", "a\"b"]), "OK\n");
    assert_eq!(no_raw(&["GET", "k"]), "\"a\\\"b\"\n");
    assert_eq!(no_raw(&["GET", "missing"]), "(nil)\n");
    assert_eq!(no_raw(&["INCR", "counter"]), "(integer) 1\n");
    assert_eq!(
        no_raw(&["MGET", "k", "missing", "counter"]),
        "1) \"a\\\"b\"\n2) (nil)\n3) \"1\"\n"
    );
    assert_eq!(no_raw(&["KEYS", "nothing*"]), "(empty array)\n");
    let error = no_raw(&["GET"]);
    assert_eq!(
        error,
        "(error) ERR wrong number of arguments for 'get' command\n"
    );
}

/// Commands piped one per line run in order on one connection, each reply on its line.
fn cli_piped_script(target: Target) {
    let server = target.start();
    let script = b"SET a 1\nINCR a\nGET a\nGET nope\nMULTI\nINCR a\nINCR a\nEXEC\nDEL a\n";
    let printed = cli_with_input(&server, &[], script);
    assert_eq!(printed, "OK\n2\n2\n\nOK\nQUEUED\nQUEUED\n3\n4\n1\n");
}

/// `-x` takes the last argument from stdin, `-r N` repeats, `-n DB` selects a database.
fn cli_stdin_repeat_and_database(target: Target) {
    let server = target.start();
    assert_eq!(
        cli_with_input(&server, &["-x", "SET", "body"], b"from\nstdin"),
        "OK\n"
    );
    assert_eq!(cli(&server, &["STRLEN", "body"]), "10\n");
    assert_eq!(cli(&server, &["-r", "3", "INCR", "repeat"]), "1\n2\n3\n");
    assert_eq!(cli(&server, &["-n", "2", "SET", "in-two", "v"]), "OK\n");
    assert_eq!(cli(&server, &["-n", "2", "DBSIZE"]), "1\n");
    assert_eq!(cli(&server, &["-n", "0", "EXISTS", "in-two"]), "0\n");
}

/// `-3` says HELLO 3 first: replies are then RESP3, and redis-cli prints them the same way.
fn cli_resp3(target: Target) {
    let server = target.start();
    assert_eq!(cli(&server, &["-3", "SET", "k", "v"]), "OK\n");
    assert_eq!(cli(&server, &["-3", "GET", "k"]), "v\n");
    assert_eq!(
        cli(&server, &["-3", "--no-raw", "GET", "missing"]),
        "(nil)\n"
    );
    assert_eq!(
        cli(&server, &["-3", "--no-raw", "INCR", "n"]),
        "(integer) 1\n"
    );
    let hello = cli(&server, &["-3", "--no-raw", "HELLO", "3"]);
    assert!(hello.contains("\"proto\" => (integer) 3"), "{hello}");
}

/// `--scan --pattern` follows SCAN cursors to the end and lists every matching key.
fn cli_scan(target: Target) {
    let server = target.start();
    let mut script = String::new();
    for index in 0..200 {
        script.push_str(&format!("SET user:{index} x\nSET other:{index} y\n"));
    }
    cli_with_input(&server, &[], script.as_bytes());
    let printed = cli(&server, &["--scan", "--pattern", "user:*"]);
    let mut keys: Vec<&str> = printed.lines().collect();
    keys.sort_unstable();
    keys.dedup(); // SCAN may return a key twice; it must not miss one.
    let mut expected: Vec<String> = (0..200).map(|index| format!("user:{index}")).collect();
    expected.sort_unstable();
    assert_eq!(keys, expected);
}

/// `--pipe` streams RESP as fast as it can, appends an ECHO of a random marker, and waits
/// for that marker to count the replies and the errors among them.
fn cli_pipe_mass_insert(target: Target) {
    let server = target.start();
    let mut protocol = Vec::new();
    for index in 0..1000 {
        let key = format!("mass:{index}");
        let value = format!("value {index}");
        protocol.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n{value}\r\n",
                key.len(),
                value.len()
            )
            .as_bytes(),
        );
    }
    protocol.extend_from_slice(b"*2\r\n$4\r\nINCR\r\n$6\r\nmass:0\r\n");
    // The one INCR of text is an error: redis-cli counts it, prints it on stderr and exits 1.
    let output = run_tool(&server, "redis-cli", &["--pipe"], &protocol);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stdout.contains("errors: 1, replies: 1001"),
        "{stdout} {stderr}"
    );
    assert!(
        stderr.contains("ERR value is not an integer"),
        "{stdout} {stderr}"
    );
    assert_eq!(output.status.code(), Some(1), "{stdout} {stderr}");
    assert_eq!(cli(&server, &["DBSIZE"]), "1000\n");
    assert_eq!(cli(&server, &["GET", "mass:999"]), "value 999\n");
}

/// redis-benchmark runs each test to completion and the data it wrote is exact: 2000
/// INCRs of one counter make 2000.
fn benchmark_set_get_incr_mset(target: Target) {
    let server = target.start();
    let output = run_tool(
        &server,
        "redis-benchmark",
        &["-q", "-n", "2000", "-t", "set,get,incr,mset"],
        b"",
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "redis-benchmark failed ({}): {stdout} {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    // With -q each test ends on one line (after \r-separated progress): "NAME: N requests
    // per second, ...".
    let finished: Vec<&str> = stdout
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|line| line.contains("requests per second"))
        .collect();
    let names: Vec<&str> = finished
        .iter()
        .map(|line| line.split(':').next().unwrap_or(""))
        .collect();
    assert_eq!(names, ["SET", "GET", "INCR", "MSET (10 keys)"], "{stdout}");
    assert_eq!(cli(&server, &["GET", "counter:__rand_int__"]), "2000\n");
    assert_eq!(cli(&server, &["STRLEN", "key:__rand_int__"]), "3\n");
    let keys = cli(&server, &["KEYS", "*"]);
    let mut keys: Vec<&str> = keys.lines().collect();
    keys.sort_unstable();
    assert_eq!(keys, ["counter:__rand_int__", "key:__rand_int__"]);
}
