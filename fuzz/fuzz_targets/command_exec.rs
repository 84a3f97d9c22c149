//! Command table fuzz target: arbitrary requests against a small store, as a hostile
//! client would send them after the RESP parser.
//!
//! Input: one setup byte (eviction policy, memory size, starting protocol, and with bit
//! 0x40 thresholds so low that collections of a few elements take the large form), then
//! commands
//! separated by `0xff`, at most 64. In each command, a first byte below the table's length
//! names a command of the table (so the fuzzer reaches every command without guessing
//! names), and any other first byte starts a raw command name; arguments are separated by
//! `0x00`, at most 16 in all. The clock moves forward between commands.
//!
//! Checks after every command:
//! - `execute` does not panic;
//! - the reply is exactly one frame that passes `Frame::check` at its full length, or
//!   nothing at all for `Outcome::Runtime`;
//! - a RESP2 session gets no RESP3-only element (`_`, `%`, `~`, `#`, `,` ...);
//! - an error reply comes with no log record (an error changes nothing), except for the
//!   deletes of evictions made before an out-of-memory error, as Redis also evicts;
//! - only QUIT closes, and the session's database stays in range.
#![no_main]

use floe_core::arena::Arena;
use floe_core::codec::record::Record;
use floe_core::codec::resp::{Frame, Limits, Protocol, ReplySink};
use floe_core::command::{COMMANDS, Outcome, Session, execute};
use floe_core::constants::DATABASE_COUNT;
use floe_core::storage::policy::EvictionPolicy;
use floe_core::store::{Config, LogSink, Store};
use libfuzzer_sys::fuzz_target;

/// Most arguments of one command, its name included.
const ARG_COUNT_MAX: usize = 16;
/// Most commands of one input.
const COMMAND_COUNT_MAX: usize = 64;

struct VecSink(Vec<u8>);

impl ReplySink for VecSink {
    fn put(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
}

/// Counts records (deletes apart: an eviction is one), and checks each names a database.
#[derive(Default)]
struct CountingLog {
    delete_count: usize,
    other_count: usize,
}

impl LogSink for CountingLog {
    fn record(&mut self, record: Record<'_>) {
        match record {
            Record::Del { db, .. } => {
                assert!(db < DATABASE_COUNT, "db={db}");
                self.delete_count += 1;
            }
            Record::Set { db, .. } | Record::ExpireAt { db, .. } => {
                assert!(db < DATABASE_COUNT, "db={db}");
                self.other_count += 1;
            }
            Record::Clear { db } => {
                assert!(db.is_none_or(|db| db < DATABASE_COUNT));
                self.other_count += 1;
            }
            Record::SwapDb {
                db_first,
                db_second,
            } => {
                assert!(db_first < DATABASE_COUNT, "db_first={db_first}");
                assert!(db_second < DATABASE_COUNT, "db_second={db_second}");
                assert!(db_first != db_second, "a swap with itself was logged");
                self.other_count += 1;
            }
        }
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&setup, script)) = input.split_first() else {
        return;
    };
    let mut config = Config::new(
        if setup & 0x10 == 0 {
            8 * 1024
        } else {
            256 * 1024
        },
        64,
    );
    config.policy = EvictionPolicy::ALL[usize::from(setup & 0x0f) % EvictionPolicy::ALL.len()];
    if setup & 0x40 != 0 {
        // Collections past 2 elements (or 8-byte elements) take the large form: a header
        // and parts, chains of list nodes; 16 arguments and 64 commands reach many parts.
        config.hash_max_listpack_entries = 2;
        config.hash_max_listpack_value = 8;
        config.set_max_intset_entries = 2;
        config.set_max_listpack_entries = 2;
        config.set_max_listpack_value = 8;
        config.list_max_listpack_size = 2;
    }
    let mut memory = vec![0u8; config.arena_size()];
    let mut arena = Arena::from_buffer(&mut memory);
    let mut store = Store::new(&mut arena, config).expect("config fits the arena");
    arena.freeze().expect("first freeze");

    let mut session = Session::new(7);
    if setup & 0x20 != 0 {
        session.protocol = Protocol::Resp3;
    }
    let mut log = CountingLog::default();
    let mut now: u64 = 1_700_000_000_000;

    for command in script.split(|&byte| byte == 0xff).take(COMMAND_COUNT_MAX) {
        let mut args: Vec<&[u8]> = Vec::with_capacity(ARG_COUNT_MAX);
        let rest = match command.split_first() {
            Some((&selector, rest)) if usize::from(selector) < COMMANDS.len() => {
                args.push(COMMANDS[usize::from(selector)].name().as_bytes());
                now += 1 + u64::from(selector) * 97;
                rest
            }
            _ => command,
        };
        if !rest.is_empty() || args.is_empty() {
            args.extend(
                rest.split(|&byte| byte == 0)
                    .take(ARG_COUNT_MAX - args.len()),
            );
        }

        let mut sink = VecSink(Vec::new());
        let (deleted_before, other_before) = (log.delete_count, log.other_count);
        let outcome = execute(
            &mut store,
            &mut session,
            &args[..],
            now,
            &mut sink,
            &mut log,
        );
        let reply = sink.0;

        assert!(session.db < DATABASE_COUNT, "db={}", session.db);
        if let Outcome::Runtime(_) = outcome {
            assert!(reply.is_empty(), "a runtime command wrote {reply:?}");
            continue;
        }
        assert_eq!(
            Frame::check(&reply, &Limits::DEFAULT),
            Ok(reply.len()),
            "not exactly one frame for {args:?}: {:?}",
            String::from_utf8_lossy(&reply)
        );
        if outcome == Outcome::Close {
            assert!(args[0].eq_ignore_ascii_case(b"quit"), "{args:?} closed");
        }
        if reply.first() == Some(&b'-') {
            // An error changes nothing, except that an out-of-memory error may come after
            // evictions made while looking for room (as in Redis), logged as deletes.
            assert_eq!(
                log.other_count, other_before,
                "an error reply logged records: {args:?}"
            );
            if !reply.starts_with(b"-OOM ") {
                assert_eq!(
                    log.delete_count, deleted_before,
                    "an error reply deleted: {args:?}"
                );
            }
        }
        if session.protocol == Protocol::Resp2 {
            check_resp2_only(&reply);
        }
    }
});

/// Walks every element head of a checked frame and refuses RESP3-only ones.
fn check_resp2_only(reply: &[u8]) {
    let mut position = 0;
    while position < reply.len() {
        let (frame, size) =
            Frame::parse_head(&reply[position..], &Limits::DEFAULT).expect("checked frame");
        let resp2 = matches!(
            frame,
            Frame::Simple(_)
                | Frame::Error(_)
                | Frame::Integer(_)
                | Frame::Bulk(_)
                | Frame::NullBulk
                | Frame::NullArray
                | Frame::Array(_)
        );
        assert!(resp2, "RESP3 element in a RESP2 reply: {frame:?}");
        position += size;
    }
}
