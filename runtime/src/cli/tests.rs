//! The CLI's session logic over a Db with persistence off: aliases, quoting, redis-cli's
//! reply formats, and the commands the CLI answers itself.

use std::path::PathBuf;

use floe_core::storage::policy::EvictionPolicy;

use super::*;
use crate::config::{parse_key_count, parse_policy, parse_size, parse_switch};
use crate::io::Backend;
use crate::log::FsyncPolicy;

fn settings() -> Settings {
    Settings {
        dir: PathBuf::from("unused"),
        fsync: FsyncPolicy::Always,
        persistence: false,
        memory_size: 1 << 20,
        keys_max: 1000,
        policy: EvictionPolicy::NoEviction,
        backend: Backend::Blocking,
        ..Settings::default()
    }
}

fn shell() -> Shell {
    let settings = settings();
    let db = Db::open(&settings.dir, settings.db_config().unwrap()).unwrap();
    Shell::new(Arc::new(Admin::new(Arc::new(db), settings, None, "stdin")))
}

/// Runs the lines and returns everything printed.
fn run(shell: &mut Shell, lines: &[&str]) -> String {
    let mut out = Vec::new();
    for line in lines {
        let _flow = shell.line(line.as_bytes(), &mut out);
    }
    String::from_utf8(out).unwrap()
}

/// Formats a raw RESP reply.
fn formatted(resp: &str) -> String {
    let mut out = Vec::new();
    let size = format_reply(resp.as_bytes(), &mut out).unwrap();
    assert_eq!(size, resp.len());
    String::from_utf8(out).unwrap()
}

#[test]
fn poros_session() {
    let mut shell = shell();
    let mut out = Vec::new();
    for line in [
        "SET mykey \"Hello, World!\"",
        "GET mykey",
        "DEL mykey",
        "GET mykey",
    ] {
        assert_eq!(shell.line(line.as_bytes(), &mut out), Flow::Continue);
    }
    assert_eq!(shell.line(b"QUIT", &mut out), Flow::Exit);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "OK\n\"Hello, World!\"\n(integer) 1\n(nil)\nGoodbye!\n"
    );
}

#[test]
fn orchiddb_aliases() {
    let mut shell = shell();
    assert_eq!(
        run(
            &mut shell,
            &[
                "PUT x y", "GET x", "DELETE x", "GET x", "put a b", "delete a"
            ]
        ),
        "OK\n\"y\"\n(integer) 1\n(nil)\nOK\n(integer) 1\n"
    );
    let help = run(&mut shell, &["help"]);
    assert!(
        help.contains("PUT key value") && help.contains("EXPIRE"),
        "{help}"
    );
    let mut out = Vec::new();
    assert_eq!(shell.line(b"exit", &mut out), Flow::Exit);
    assert_eq!(out, b"Goodbye!\n");
}

#[test]
fn blank_lines_print_nothing_and_bad_quotes_change_nothing() {
    let mut shell = shell();
    assert_eq!(run(&mut shell, &["", "   "]), "");
    assert_eq!(
        run(&mut shell, &["SET k \"abc", "GET k", "SET k 'x'y"]),
        "Invalid argument(s)\n(nil)\nInvalid argument(s)\n"
    );
}

#[test]
fn errors_look_like_redis_cli() {
    let mut shell = shell();
    assert_eq!(
        run(&mut shell, &["FOO a b", "GET", "SET n x", "INCR n"]),
        "(error) ERR unknown command 'FOO', with args beginning with: 'a' 'b' \n\
         (error) ERR wrong number of arguments for 'get' command\n\
         OK\n\
         (error) ERR value is not an integer or out of range\n"
    );
}

#[test]
fn binary_values_are_escaped() {
    let mut shell = shell();
    assert_eq!(
        run(
            &mut shell,
            &[r#"SET b "a\x00\"\\\n\xe2\x82\xac""#, "GET b", "STRLEN b"]
        ),
        "OK\n\"a\\x00\\\"\\\\\\n\\xe2\\x82\\xac\"\n(integer) 8\n"
    );
}

#[test]
fn arrays_are_numbered_and_nested() {
    let mut shell = shell();
    let printed = run(
        &mut shell,
        &[
            "MSET a 1 b 2",
            "MGET a nope b",
            "KEYS nothing*",
            "SCAN 0 MATCH a COUNT 100000",
        ],
    );
    assert_eq!(
        printed,
        "OK\n1) \"1\"\n2) (nil)\n3) \"2\"\n(empty array)\n1) \"0\"\n2) 1) \"a\"\n"
    );
}

#[test]
fn aggregate_formats_follow_redis_cli() {
    let ten: String = (1..=10).map(|index| format!(":{index}\r\n")).collect();
    assert_eq!(
        formatted(&format!("*10\r\n{ten}")),
        " 1) (integer) 1\n 2) (integer) 2\n 3) (integer) 3\n 4) (integer) 4\n \
         5) (integer) 5\n 6) (integer) 6\n 7) (integer) 7\n 8) (integer) 8\n \
         9) (integer) 9\n10) (integer) 10\n"
    );
    assert_eq!(
        formatted("*2\r\n*2\r\n$1\r\na\r\n*1\r\n+x\r\n$1\r\nb\r\n"),
        "1) 1) \"a\"\n   2) 1) x\n2) \"b\"\n"
    );
    assert_eq!(
        formatted("%2\r\n$1\r\nk\r\n:1\r\n$2\r\nk2\r\n*2\r\n_\r\n#t\r\n"),
        "1# \"k\" => (integer) 1\n2# \"k2\" => 1) (nil)\n   2) (true)\n"
    );
    assert_eq!(formatted("~1\r\n,1.5\r\n"), "1~ (double) 1.5\n");
    assert_eq!(formatted("~0\r\n"), "(empty set)\n");
    assert_eq!(formatted("%0\r\n"), "(empty hash)\n");
    assert_eq!(formatted(">0\r\n"), "(empty push)\n");
    assert_eq!(formatted("*-1\r\n"), "(nil)\n");
    assert_eq!(formatted("(123\r\n"), "(big number) 123\n");
    assert_eq!(formatted("!3\r\nERR\r\n"), "(error) ERR\n");
    assert_eq!(formatted("=7\r\ntxt:abc\r\n"), "abc\n");
    assert_eq!(formatted("|1\r\n+a\r\n+b\r\n:7\r\n"), "(integer) 7\n");
    let mut out = Vec::new();
    assert!(format_reply(b"*2\r\n:1\r\n", &mut out).is_err());
    assert!(out.is_empty());
}

#[test]
fn resp3_after_hello_3() {
    let mut shell = shell();
    let printed = run(
        &mut shell,
        &["HELLO 3", "CONFIG GET maxmemory*", "GET none"],
    );
    assert!(
        printed.starts_with("1# \"server\" => \"redis\"\n"),
        "{printed}"
    );
    assert!(
        printed.ends_with(
            "1# \"maxmemory\" => \"1048576\"\n2# \"maxmemory-policy\" => \"noeviction\"\n(nil)\n"
        ),
        "{printed}"
    );
}

#[test]
fn select_changes_the_prompt_and_the_database() {
    let mut shell = shell();
    assert_eq!(shell.prompt(), "> ");
    assert_eq!(
        run(&mut shell, &["SET k 0", "SELECT 3", "GET k", "SELECT 16"]),
        "OK\nOK\n(nil)\n(error) ERR DB index is out of range\n"
    );
    assert_eq!(shell.prompt(), "[3]> ");
}

#[test]
fn runtime_commands_answer() {
    let mut shell = shell();
    let printed = run(
        &mut shell,
        &["SET a 1", "SELECT 2", "SET b 2", "INFO keyspace"],
    );
    assert_eq!(
        printed,
        "OK\nOK\nOK\n# Keyspace\r\ndb0:keys=1\r\ndb2:keys=1\r\n\n"
    );
    let info = run(&mut shell, &["INFO"]);
    for section in [
        "# Server",
        "# Memory",
        "# Persistence",
        "# Stats",
        "# Keyspace",
    ] {
        assert!(info.contains(section), "{info}");
    }
    assert!(info.contains("redis_version:"), "{info}");
    assert!(info.contains("total_commands_processed:5\r\n"), "{info}");
    assert_eq!(
        run(&mut shell, &["CONFIG GET appendonly", "CONFIG GET nothing"]),
        "1) \"appendonly\"\n2) \"no\"\n(empty array)\n"
    );
    assert_eq!(
        run(&mut shell, &["SAVE", "BGSAVE", "CONFIG SET maxmemory 1"]),
        "(error) ERR persistence is off (--persistence off): there is nowhere to save\n\
         (error) ERR persistence is off (--persistence off): there is nowhere to save\n\
         (error) ERR CONFIG SET failed (possibly related to argument 'maxmemory') - can't set \
         immutable config\n"
    );
    assert_eq!(
        run(&mut shell, &["SHUTDOWN ABORT"]),
        "(error) ERR No shutdown in progress.\n"
    );
    let mut out = Vec::new();
    assert_eq!(shell.line(b"SHUTDOWN NOSAVE", &mut out), Flow::Exit);
}

#[test]
fn sizes_parse_like_redis() {
    assert_eq!(parse_size("1048576"), Ok(1 << 20));
    assert_eq!(parse_size("64mb"), Ok(64 << 20));
    assert_eq!(parse_size("64MB"), Ok(64 << 20));
    assert_eq!(parse_size("1gb"), Ok(1 << 30));
    assert_eq!(parse_size("2k"), Ok(2000));
    assert_eq!(parse_size("3m"), Ok(3_000_000));
    for bad in ["", "mb", "12qb", "-1", "1.5gb", "99999999999tb"] {
        let error = parse_size(bad).unwrap_err();
        assert!(error.contains("64mb"), "{bad}: {error}");
    }
    assert_eq!(parse_switch("on"), Ok(true));
    assert_eq!(parse_switch("OFF"), Ok(false));
    assert!(parse_switch("maybe").unwrap_err().contains("`on` or `off`"));
    assert_eq!(parse_policy("allkeys-lru"), Ok(EvictionPolicy::AllKeysLru));
    assert_eq!(parse_policy("sieve"), Ok(EvictionPolicy::Sieve));
    assert!(parse_policy("lru").unwrap_err().contains("volatile-ttl"));
    assert_eq!(parse_key_count("1_000"), Ok(1000));
    assert!(parse_key_count("0").is_err());
}

#[test]
fn settings_name_the_option_that_cannot_work() {
    let mut settings = settings();
    settings.memory_size = 100;
    let error = settings.db_config().unwrap_err();
    assert!(error.starts_with("--maxmemory 100"), "{error}");
    settings.memory_size = 1 << 50;
    assert!(settings.db_config().unwrap_err().contains("--maxmemory"));
    settings.memory_size = 1 << 20;
    settings.keys_max = 1 << 40;
    assert!(settings.db_config().unwrap_err().starts_with("--max-keys"));
}

#[test]
fn lines_fit_the_largest_escaped_value() {
    let config = settings().db_config().unwrap();
    assert!(line_size_max(&config) >= 4 * config.store.value_size_max as usize);
}

/// `KEYS *` past 1,048,576 keys printed an error: the CLI re-read its own reply with a
/// request's element limit (issue 8). Replies the store wrote are read with no such limit.
#[test]
fn replies_longer_than_a_request_may_be_still_print() {
    let count = 1_048_577;
    let mut reply = format!("*{count}\r\n").into_bytes();
    for _ in 0..count {
        reply.extend_from_slice(b"$1\r\nk\r\n");
    }
    let mut out = Vec::new();
    assert_eq!(format_reply(&reply, &mut out).unwrap(), reply.len());
    assert!(
        out.ends_with(b"1048577) \"k\"\n"),
        "{:?}",
        &out[out.len() - 30..]
    );
}

/// Piped lines run as one batch ([`Held`]): their replies come out in order once one wait
/// covers their writes; when the log fails, every held write's reply is the error instead
/// of `OK` (a read's stays), as a single line's would be.
#[test]
fn held_lines_are_released_in_order_and_a_failed_log_turns_their_writes_into_errors() {
    use crate::io::SystemClock;
    use crate::sim::disk::{FaultConfig, SimDisk};
    let disk = Arc::new(SimDisk::new(1, FaultConfig::none(), None));
    let settings = Settings {
        persistence: true,
        dir: PathBuf::from("/held"),
        ..settings()
    };
    let storage: Arc<dyn crate::io::Storage> = disk.clone();
    let config = settings.db_config().unwrap();
    let db = Db::open_with(
        &settings.dir,
        config,
        Some(storage),
        Arc::new(SystemClock::new()),
    );
    let admin = Admin::new(Arc::new(db.unwrap()), settings, None, "stdin");
    let mut shell = Shell::new(Arc::new(admin));
    let mut held = Held::default();
    for line in ["SET a 1", "GET a", "INCR n", "SET \"open"] {
        assert_eq!(shell.line_held(line.as_bytes(), &mut held), Flow::Continue);
    }
    assert_eq!(held.len(), 4, "nothing printed before the release");
    let mut out = Vec::new();
    shell.release(&mut held, &mut out);
    let printed = String::from_utf8(out).unwrap();
    assert_eq!(printed, "OK\n\"1\"\n(integer) 1\nInvalid argument(s)\n");
    assert!(held.is_empty());

    disk.set_faults(FaultConfig {
        sync_error_probability: 1.0,
        ..FaultConfig::none()
    });
    for line in ["SET b 2", "GET a", "SET c 3"] {
        let _flow = shell.line_held(line.as_bytes(), &mut held);
    }
    let mut out = Vec::new();
    shell.release(&mut held, &mut out);
    let printed = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 3, "{printed}");
    assert!(lines[0].starts_with("(error) MISCONF"), "{printed}");
    assert_eq!(lines[1], "\"1\"", "a read is not refused");
    assert!(lines[2].starts_with("(error) MISCONF"), "{printed}");
}
