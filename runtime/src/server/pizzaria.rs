//! The Pizzaria door: PizzaKV's `\r`-delimited line protocol (`--pizzaria-port`, off
//! unless given).
//!
//! ```text
//!  write key|value\r   ─► SET key value        ─► success\r | error\r
//!  read key\r          ─► GET key              ─► <value>\r | error\r (no such key)
//!  delete key\r        ─► DEL key              ─► success\r | error\r (no such key)
//!  keys\r              ─► KEYS *               ─► key1\rkey2\r...\r  (items joined by \r)
//!  reads prefix\r      ─► KEYS prefix*, MGET   ─► value1\rvalue2\r...\r
//!  status\r            ─►                      ─► success\r
//!  auth [user] pass\r  ─► (when the default user has a password: the first line) success\r | error\r
//! ```
//!
//! Unlike PizzaKV, every request in one read is answered, in order (pipelining), and a
//! value may contain `|`: only the first `|` splits key from value. A request may start
//! with `\n` (clients that end lines with `\r\n`): it is skipped. An unknown or malformed
//! request gets `error\r` and the connection stays open; a line longer than
//! `proto-max-bulk-len` plus [`LINE_OVERHEAD_SIZE`] gets `error\r` and the connection closes.
//!
//! The protocol cannot frame a value or key that holds `\r` (written through another door):
//! such a reply is ambiguous, as in PizzaKV. Requests use database 0.
//!
//! Invariants: one reply per request, in request order; a write's reply is gated on its
//! durability like every door's ([`Connection::queue_gated`]).

use std::sync::atomic::Ordering;

use floe_core::codec::resp::Frame;
use floe_core::command::Session;

use super::Worker;
use super::acl;
use super::connection::{Connection, Control, ReplyFrames, Step, execute, prefix_pattern};
use crate::acl::{Acl, Caller};
use crate::db::Durability;

/// Bytes a line may hold beyond the largest value (`proto-max-bulk-len`): the command word
/// and the key.
const LINE_OVERHEAD_SIZE: u64 = 64 << 10;

/// The reply to a request that succeeded.
const SUCCESS: &[u8] = b"success\r";
/// The reply to a request that failed, or named nothing.
const ERROR: &[u8] = b"error\r";

/// One Pizzaria client's state.
#[derive(Debug)]
pub(super) struct Pizzaria {
    session: Session,
    /// Who the client is logged in as (see [`crate::acl`]).
    caller: Caller,
    /// Scratch for the command table's reply frame.
    frame: Vec<u8>,
    /// Scratch for this door's reply.
    reply: Vec<u8>,
}

impl Pizzaria {
    pub(super) fn new(id: u64, acl: &Acl) -> Self {
        Self {
            session: Session::new(id),
            caller: Caller::new(acl),
            frame: Vec::new(),
            reply: Vec::new(),
        }
    }

    /// Runs the request at the start of `input`, if its `\r` has arrived.
    pub(super) fn step(
        &mut self,
        connection: &mut Connection,
        input: &[u8],
        worker: &mut Worker,
    ) -> Step {
        let line_size_max = worker
            .admin
            .limits
            .bulk_size_max
            .load(Ordering::Relaxed)
            .saturating_add(LINE_OVERHEAD_SIZE);
        let Some(end) = input.iter().position(|byte| *byte == b'\r') else {
            if input.len() as u64 > line_size_max {
                connection.queue_reply(ERROR);
                return Step::Ran {
                    consumed: input.len(),
                    control: Control::CloseAfterFlush,
                };
            }
            return Step::Incomplete;
        };
        let line = &input[..end];
        let line = line.strip_prefix(b"\n").unwrap_or(line);
        connection.last_active = std::time::Instant::now();
        self.request(connection, line, worker);
        Step::Ran {
            consumed: end + 1,
            control: Control::Continue,
        }
    }

    /// Runs one line and queues its reply.
    fn request(&mut self, connection: &mut Connection, line: &[u8], worker: &mut Worker) {
        let (word, rest) = match line.iter().position(|byte| *byte == b' ') {
            Some(space) => (&line[..space], Some(&line[space + 1..])),
            None => (line, None),
        };
        self.reply.clear();
        let mut durability = Durability::Done;
        if word == b"auth" {
            self.auth(connection, rest.unwrap_or_default(), worker);
        } else if !self.caller.authenticated(&worker.admin.acl) {
            self.reply.extend_from_slice(ERROR);
        } else {
            durability = match (word, rest) {
                (b"write", Some(rest)) => match rest.iter().position(|byte| *byte == b'|') {
                    Some(bar) if bar > 0 => {
                        self.write(worker, &[b"SET", &rest[..bar], &rest[bar + 1..]])
                    }
                    _ => self.failed(),
                },
                (b"read", Some(key)) if !key.is_empty() => self.read(worker, key),
                (b"delete", Some(key)) if !key.is_empty() => self.write(worker, &[b"DEL", key]),
                (b"keys", None) => self.keys(worker),
                (b"reads", Some(prefix)) => self.reads(worker, prefix),
                (b"status", None) => {
                    self.reply.extend_from_slice(SUCCESS);
                    Durability::Done
                }
                _ => self.failed(),
            };
        }
        let reply = std::mem::take(&mut self.reply);
        connection.queue_gated(&reply, durability, worker);
        self.reply = reply;
    }

    fn failed(&mut self) -> Durability {
        self.reply.extend_from_slice(ERROR);
        Durability::Done
    }

    /// `auth password` (the default user's) or `auth user password`: `success` when it
    /// logs in, or when no password is needed and none was given.
    fn auth(&mut self, connection: &Connection, rest: &[u8], worker: &mut Worker) {
        let acl = &worker.admin.acl;
        let (user, password) = match rest.iter().position(|byte| *byte == b' ') {
            Some(space) => (&rest[..space], &rest[space + 1..]),
            None => (b"default".as_slice(), rest),
        };
        let open = !acl.auth_required() && rest.is_empty();
        if open || acl.authenticate(&mut self.caller, user, password) {
            connection.info.set_user(self.caller.name());
            self.reply.extend_from_slice(SUCCESS);
        } else {
            acl::auth_failed(connection, worker, user, "Pizzaria");
            self.reply.extend_from_slice(ERROR);
        }
    }

    /// `write` and `delete`: `success` when the command stored or removed something.
    fn write(&mut self, worker: &mut Worker, args: &[&[u8]]) -> Durability {
        self.frame.clear();
        let durability = execute(
            worker,
            &mut self.caller,
            &mut self.session,
            args,
            &mut self.frame,
        );
        let succeeded = matches!(
            ReplyFrames::new(&self.frame).next(),
            Some(Frame::Simple(_) | Frame::Integer(1..))
        );
        self.reply
            .extend_from_slice(if succeeded { SUCCESS } else { ERROR });
        durability
    }

    /// `read key`: the value, or `error` when there is none.
    fn read(&mut self, worker: &mut Worker, key: &[u8]) -> Durability {
        self.frame.clear();
        let durability = execute(
            worker,
            &mut self.caller,
            &mut self.session,
            &[b"GET", key],
            &mut self.frame,
        );
        match ReplyFrames::new(&self.frame).next() {
            Some(Frame::Bulk(value)) => {
                self.reply.extend_from_slice(value);
                self.reply.push(b'\r');
            }
            _ => self.reply.extend_from_slice(ERROR),
        }
        durability
    }

    /// `keys`: every key of database 0, each followed by `\r`.
    fn keys(&mut self, worker: &mut Worker) -> Durability {
        self.frame.clear();
        let durability = execute(
            worker,
            &mut self.caller,
            &mut self.session,
            &[b"KEYS", b"*"],
            &mut self.frame,
        );
        self.list_bulks();
        durability
    }

    /// `reads prefix`: the values of the keys that start with `prefix`, each followed by
    /// `\r` (a key removed between the two look-ups is left out).
    fn reads(&mut self, worker: &mut Worker, prefix: &[u8]) -> Durability {
        self.frame.clear();
        let pattern = prefix_pattern(prefix);
        let _keys = execute(
            worker,
            &mut self.caller,
            &mut self.session,
            &[b"KEYS", &pattern],
            &mut self.frame,
        );
        let keys: Vec<Vec<u8>> = ReplyFrames::new(&self.frame)
            .filter_map(|frame| match frame {
                Frame::Bulk(key) => Some(key.to_vec()),
                _ => None,
            })
            .collect();
        if keys.is_empty() {
            self.reply.push(b'\r');
            return Durability::Done;
        }
        let mut args: Vec<&[u8]> = Vec::with_capacity(keys.len() + 1);
        args.push(b"MGET");
        args.extend(keys.iter().map(Vec::as_slice));
        self.frame.clear();
        let durability = execute(
            worker,
            &mut self.caller,
            &mut self.session,
            &args,
            &mut self.frame,
        );
        self.list_bulks();
        durability
    }

    /// The bulk strings of the reply frame, each followed by `\r`; `\r` alone for none.
    fn list_bulks(&mut self) {
        let mut count = 0;
        for frame in ReplyFrames::new(&self.frame) {
            if let Frame::Bulk(item) = frame {
                self.reply.extend_from_slice(item);
                self.reply.push(b'\r');
                count += 1;
            }
        }
        if count == 0 {
            self.reply.push(b'\r');
        }
    }
}

/// The Pizzaria reply to any error that is not a reply to one request.
pub(super) fn error_reply(target: &mut Vec<u8>, _text: &str) {
    target.extend_from_slice(ERROR);
}
