//! Test harness for the command families: a small store over a `Vec`, a session, a log that
//! keeps its records, and scripts whose replies are compared byte for byte in RESP2 and
//! RESP3.
//!
//! Every call checks two invariants of [`execute`]: the reply is exactly one valid frame
//! (nothing for [`Outcome::Runtime`]), and an error reply comes with no log record.

use std::string::{String, ToString};
use std::vec::Vec;

use super::{Arguments, Outcome, Session, execute};
use crate::arena::Arena;
use crate::codec::record::Record;
use crate::codec::resp::{Frame, Limits, Protocol, ReplySink, Request};
use crate::store::{Config, LogSink, Store};
use crate::time::Timestamp;

/// The time of the first command of every script.
pub(super) const NOW: Timestamp = 1_700_000_000_000;

/// One step of a script: a command (space-separated; `""` is an empty argument; `@+N`
/// advances the clock by `N` milliseconds and expects nothing) and its reply per protocol.
#[derive(Debug, Clone, Copy)]
pub(super) struct Step {
    command: &'static str,
    resp2: &'static str,
    resp3: &'static str,
}

/// A step whose reply is the same in RESP2 and RESP3.
pub(super) const fn same(command: &'static str, reply: &'static str) -> Step {
    Step {
        command,
        resp2: reply,
        resp3: reply,
    }
}

/// A step whose reply differs between RESP2 and RESP3.
pub(super) const fn differ(
    command: &'static str,
    resp2: &'static str,
    resp3: &'static str,
) -> Step {
    Step {
        command,
        resp2,
        resp3,
    }
}

/// Collects the reply bytes.
#[derive(Debug, Default)]
pub(super) struct VecSink(pub Vec<u8>);

impl ReplySink for VecSink {
    fn put(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
}

/// Keeps the log records as text: `set db key value expires_at`, `del db key`,
/// `expire db key at`, `clear db`, `swapdb first second`.
#[derive(Debug, Default)]
pub(super) struct TextLog(pub Vec<String>);

impl LogSink for TextLog {
    fn record(&mut self, record: Record<'_>) {
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        self.0.push(match record {
            Record::Set {
                db,
                key,
                value,
                expires_at,
                ..
            } => format!("set {db} {} {} {expires_at}", text(key), text(value)),
            Record::Del { db, key } => format!("del {db} {}", text(key)),
            Record::ExpireAt {
                db,
                key,
                expires_at,
            } => format!("expire {db} {} {expires_at}", text(key)),
            Record::Clear { db } => format!("clear {db:?}"),
            Record::SwapDb {
                db_first,
                db_second,
            } => format!("swapdb {db_first} {db_second}"),
        });
    }
}

/// A store, a session and a clock.
#[derive(Debug)]
pub(super) struct Harness {
    pub store: Store<'static>,
    pub session: Session,
    pub now: Timestamp,
    pub log: TextLog,
    pub outcome: Outcome,
}

impl Harness {
    /// A harness over a 1 MiB store, speaking `protocol`.
    pub fn new(protocol: Protocol) -> Self {
        Self::with_config(Config::new(1 << 20, 1000), protocol)
    }

    /// A harness over a store built from `config`.
    pub fn with_config(config: Config, protocol: Protocol) -> Self {
        let memory = Vec::leak(vec![0u8; config.arena_size()]);
        let mut arena = Arena::from_buffer(memory);
        let store = Store::new(&mut arena, config).expect("config fits");
        arena.freeze().expect("freeze");
        let mut session = Session::new(42);
        session.protocol = protocol;
        Self {
            store,
            session,
            now: NOW,
            log: TextLog::default(),
            outcome: Outcome::Done,
        }
    }

    /// Runs a space-separated command (`""` is an empty argument).
    pub fn run(&mut self, command: &str) -> Vec<u8> {
        let words: Vec<&[u8]> = command
            .split(' ')
            .map(|word| {
                if word == "\"\"" {
                    &b""[..]
                } else {
                    word.as_bytes()
                }
            })
            .collect();
        self.run_args(&words)
    }

    /// Runs a command given as byte strings.
    pub fn run_args(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.run_any(args)
    }

    /// Runs a parsed RESP request.
    pub fn run_request(&mut self, request: &Request<'_>) -> Vec<u8> {
        self.run_any(request)
    }

    fn run_any<A: Arguments + ?Sized>(&mut self, args: &A) -> Vec<u8> {
        let logged_before = self.log.0.len();
        let mut sink = VecSink::default();
        self.outcome = execute(
            &mut self.store,
            &mut self.session,
            args,
            self.now,
            &mut sink,
            &mut self.log,
        );
        let reply = sink.0;
        if let Outcome::Runtime(_) = self.outcome {
            assert!(reply.is_empty(), "a runtime command writes nothing");
        } else {
            assert_eq!(
                Frame::check(&reply, &Limits::DEFAULT),
                Ok(reply.len()),
                "not one frame: {:?}",
                String::from_utf8_lossy(&reply)
            );
        }
        if reply.first() == Some(&b'-') {
            assert_eq!(
                self.log.0.len(),
                logged_before,
                "an error reply logged records: {:?}",
                &self.log.0[logged_before..]
            );
        }
        reply
    }

    /// Runs `steps` in a fresh harness per protocol and compares every reply.
    pub fn check(steps: &[Step]) {
        for protocol in [Protocol::Resp2, Protocol::Resp3] {
            Self::new(protocol).check_steps(steps);
        }
    }

    /// Runs `steps` in this harness, comparing replies for its protocol.
    pub fn check_steps(&mut self, steps: &[Step]) {
        for step in steps {
            if let Some(advance) = step.command.strip_prefix("@+") {
                self.now += advance.parse::<u64>().expect("@+milliseconds");
                continue;
            }
            let expected = match self.session.protocol {
                Protocol::Resp2 => step.resp2,
                Protocol::Resp3 => step.resp3,
            };
            let reply = self.run(step.command);
            assert_eq!(
                String::from_utf8_lossy(&reply),
                expected.to_string(),
                "{:?} {} (now={})",
                self.session.protocol,
                step.command,
                self.now
            );
        }
    }
}
