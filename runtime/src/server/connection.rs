//! One client's protocol state, independent of the event loop that moves its bytes: parse
//! every complete request in the input, run each through the durable command path, and
//! keep each reply until the write it answers is durable.
//!
//! ```text
//!  input ─► parse_request ─► connection commands (AUTH, MULTI/EXEC, WATCH, CLIENT LIST ...)
//!                         └► Db::prepare ─► Db::apply ─► reply
//!  reply ─► output                      (nothing to wait for, and nothing held before it)
//!        └► held + a gate on the write  (released in order once the gate's ticket settled)
//! ```
//!
//! Invariants: replies leave in request order (a read's reply behind a held write waits
//! too); a held reply is released only when the log says its write is as durable as the
//! fsync policy promises, and replaced by an error when the log failed first; a request
//! that breaks a limit gets an error and the connection closes, with nothing stored lost;
//! parsing pauses once the queued replies reach the output limit (so they stay within it
//! plus one reply), and the event loop resumes it as the client reads: only a client that
//! reads nothing for a whole housekeeping tick while at the limit is closed as a slow reader.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use floe_core::codec::resp::{
    ARRAY_COUNT_MAX_DEFAULT, ArgRange, DEPTH_MAX_DEFAULT, INLINE_SIZE_MAX_DEFAULT, Limits,
    Protocol, ReplyWriter, Request, RespErrorKind, parse_request,
};
use floe_core::command::{Outcome, RuntimeCommand, Session};

use super::Worker;
use super::clients::ClientInfo;
use crate::admin::Finish;
use crate::db::{Durability, WatchMark};

/// A connection's input or output buffer keeps at most this much capacity once empty.
pub(super) const BUFFER_RETAIN_SIZE: usize = 1 << 20;

/// Argument ranges a connection starts with; doubled (up to the request limit) when a
/// request has more.
const RANGES_INITIAL_COUNT: usize = 64;

/// The commands [`Connection::connection_command`] may answer itself.
const CONNECTION_COMMANDS: [&str; 10] = [
    "auth", "hello", "quit", "reset", "multi", "exec", "discard", "watch", "unwatch", "client",
];

/// What the event loop does with the connection after [`Connection::process`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Control {
    /// Keep reading.
    Continue,
    /// Send what is released, then close (QUIT, a protocol error, a broken limit).
    CloseAfterFlush,
}

/// Where a held write stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// Its records wait in the Db's buffer for the end of the loop pass's commit.
    Uncommitted,
    /// Released once the log settled everything up to this LSN.
    Lsn(u64),
    /// The log failed before it settled: the reply becomes an error.
    Failed,
}

/// A held reply of a write: its bytes `held[start..end]`.
#[derive(Debug, Clone, Copy)]
struct Held {
    start: usize,
    end: usize,
    gate: Gate,
}

/// A MULTI block being queued.
#[derive(Debug, Default)]
struct Transaction {
    queued: Vec<Vec<Vec<u8>>>,
    /// A queued command was refused (unknown, wrong arity): EXEC aborts.
    failed: bool,
}

/// One client.
#[derive(Debug)]
pub(super) struct Connection {
    pub(super) info: Arc<ClientInfo>,
    /// Its index in the worker's table.
    token: usize,
    /// Bytes received and not yet parsed into a whole request.
    pub(super) input: Vec<u8>,
    /// Replies ready to send.
    pub(super) output: Vec<u8>,
    /// Replies waiting for durability (and any reply behind one), in order.
    held: Vec<u8>,
    gates: VecDeque<Held>,
    session: Session,
    transaction: Option<Transaction>,
    watched: Vec<WatchMark>,
    authenticated: bool,
    /// Closing: no more requests are read; what is released is still sent.
    pub(super) closing: bool,
    pub(super) last_active: Instant,
    /// Parsing stopped because the replies queued reached the output limit: the rest of
    /// the input waits until the client has read enough (the loop resumes it).
    pub(super) paused: bool,
    /// Reply bytes left for this client since the last housekeeping tick: a client over
    /// the output limit that made no progress for a whole tick is a slow reader.
    pub(super) progress: bool,
    ranges: Vec<ArgRange>,
    scratch: Vec<u8>,
}

impl Connection {
    pub(super) fn new(info: Arc<ClientInfo>, password_required: bool, token: usize) -> Self {
        Self {
            token,
            session: Session::new(info.id),
            info,
            input: Vec::new(),
            output: Vec::new(),
            held: Vec::new(),
            gates: VecDeque::new(),
            transaction: None,
            watched: Vec::new(),
            authenticated: !password_required,
            closing: false,
            last_active: Instant::now(),
            paused: false,
            progress: false,
            ranges: vec![ArgRange::EMPTY; RANGES_INITIAL_COUNT],
            // Grown to the inline limit by the first quoted inline argument only: most
            // clients never send one, and 64 KiB each would add up over many clients.
            scratch: Vec::new(),
        }
    }

    /// The peer's address.
    pub(super) fn peer(&self) -> SocketAddr {
        self.info.addr
    }

    /// Whether some reply waits for the log.
    pub(super) fn is_waiting(&self) -> bool {
        !self.gates.is_empty()
    }

    /// Reply bytes queued (released and held): what the output limit bounds.
    pub(super) fn output_size(&self) -> usize {
        self.output.len() + self.held.len()
    }

    /// Runs every complete request in `input`, leaving a partial one there; stops early
    /// (and sets `paused`) once the replies queued, with `in_flight` bytes the loop is
    /// still sending, reach the output limit. So a pipeline of many large replies is
    /// answered as fast as the client reads, never queued whole.
    pub(super) fn process(&mut self, worker: &mut Worker, in_flight: usize) -> Control {
        let output_limit = worker
            .admin
            .limits
            .output_buffer_size_max
            .load(Ordering::Relaxed);
        self.paused = false;
        let input = std::mem::take(&mut self.input);
        let mut ranges = std::mem::take(&mut self.ranges);
        let mut scratch = std::mem::take(&mut self.scratch);
        let limits = Limits {
            bulk_size_max: usize::try_from(
                worker.admin.limits.bulk_size_max.load(Ordering::Relaxed),
            )
            .unwrap_or(usize::MAX),
            array_count_max: ARRAY_COUNT_MAX_DEFAULT,
            depth_max: DEPTH_MAX_DEFAULT,
            inline_size_max: INLINE_SIZE_MAX_DEFAULT,
        };
        let mut position = 0;
        let mut control = Control::Continue;
        while position < input.len() && !self.closing {
            if (self.output_size() + in_flight) as u64 >= output_limit {
                self.paused = true;
                break;
            }
            let rest = &input[position..];
            let ranges_count = ranges.len();
            let scratch_size = scratch.len();
            let request = match parse_request(rest, &limits, &mut ranges, &mut scratch) {
                Ok(request) => request,
                Err(error) if error.is_incomplete() => break,
                Err(error)
                    if error.kind == RespErrorKind::ScratchFull
                        && scratch_size < INLINE_SIZE_MAX_DEFAULT =>
                {
                    scratch.resize(INLINE_SIZE_MAX_DEFAULT, 0);
                    continue;
                }
                Err(error)
                    if error.kind == RespErrorKind::TooManyArguments
                        && ranges_count < limits.array_count_max =>
                {
                    let grown = (ranges_count * 2).min(limits.array_count_max);
                    ranges.resize(grown, ArgRange::EMPTY);
                    continue;
                }
                Err(error) => {
                    // Redis answers a protocol error and closes the connection.
                    let text = format!("ERR {}", error.message());
                    self.reply_now(|reply| reply.error(text.as_bytes()));
                    control = Control::CloseAfterFlush;
                    self.closing = true;
                    break;
                }
            };
            position += request.consumed_size();
            if request.is_empty() {
                continue;
            }
            if self.request(&request, worker) == Control::CloseAfterFlush {
                control = Control::CloseAfterFlush;
                self.closing = true;
            }
        }
        // Keep the partial request; reuse the buffer's capacity, unless one huge request
        // grew it.
        let mut input = input;
        input.drain(..position);
        if input.is_empty() && input.capacity() > BUFFER_RETAIN_SIZE {
            input = Vec::new();
        }
        self.input = input;
        self.ranges = ranges;
        self.scratch = scratch;
        control
    }

    /// Runs one request and queues its reply.
    fn request(&mut self, request: &Request<'_>, worker: &mut Worker) -> Control {
        let started = Instant::now();
        worker.stats.started();
        self.last_active = started;
        let name = request.arg(0).unwrap_or_default();
        let spec;
        let start = self.reply_position();
        let mut control = Control::Continue;
        let mut durability = Durability::Done;
        if let Some(handled) = self.connection_command(name, request, worker) {
            control = handled;
            // Counted in INFO commandstats under the table's name, as the rest.
            spec = floe_core::command::lookup(name);
        } else if let Some(transaction) = &mut self.transaction {
            let prepared = worker.db.prepare(request);
            spec = prepared.spec();
            if spec.is_some() {
                transaction
                    .queued
                    .push(request.args().map(<[u8]>::to_vec).collect());
                self.reply_now(|reply| reply.simple(b"QUEUED"));
            } else {
                transaction.failed = true;
                // The table writes the unknown-command or arity error.
                let mut reply = Vec::new();
                let _applied = worker.db.apply(&prepared, &mut self.session, &mut reply);
                self.queue_reply(&reply);
            }
        } else {
            let prepared = worker.db.prepare(request);
            spec = prepared.spec();
            let mut reply = std::mem::take(&mut worker.reply);
            reply.clear();
            match worker.db.apply(&prepared, &mut self.session, &mut reply) {
                Ok(applied) => {
                    durability = applied.durability;
                    match applied.outcome {
                        Outcome::Done => {}
                        Outcome::Close => control = Control::CloseAfterFlush,
                        Outcome::Runtime(command) => {
                            control = self.runtime(command, request, worker, &mut reply);
                        }
                    }
                    if name.eq_ignore_ascii_case(b"reset") {
                        self.reset(worker);
                    }
                }
                Err(error) => {
                    ReplyWriter::new(&mut reply, self.session.protocol)
                        .error(error.reply_text().as_bytes());
                }
            }
            self.queue_gated(&reply, durability, worker);
            worker.reply = reply;
        }
        self.info.db.store(self.session.db, Ordering::Relaxed);
        if name.eq_ignore_ascii_case(b"client")
            || name.eq_ignore_ascii_case(b"hello")
            || name.eq_ignore_ascii_case(b"reset")
        {
            let current = String::from_utf8_lossy(self.session.name().unwrap_or_default());
            self.info.set_name(&current);
            let resp = match self.session.protocol {
                Protocol::Resp2 => 2,
                Protocol::Resp3 => 3,
            };
            self.info.resp.store(resp, Ordering::Relaxed);
        }
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let error = self.reply_error_since(start);
        worker.stats.record(spec, nanos, error.as_deref());
        let micros = nanos / 1000;
        if micros >= worker.slow_threshold_us() {
            let args: Vec<&[u8]> = request.args().collect();
            let client = self.peer().to_string();
            let client_name =
                String::from_utf8_lossy(self.session.name().unwrap_or_default()).into_owned();
            worker
                .admin
                .slowlog_offer(micros, &args, &client, &client_name);
        }
        control
    }

    /// Commands that belong to the connection rather than the store; `None` for others.
    fn connection_command(
        &mut self,
        name: &[u8],
        request: &Request<'_>,
        worker: &mut Worker,
    ) -> Option<Control> {
        let is = |word: &str| name.eq_ignore_ascii_case(word.as_bytes());
        // The common case in a few length compares: a store command from a logged-in client.
        let connection_level = CONNECTION_COMMANDS
            .iter()
            .any(|word| word.len() == name.len() && is(word));
        if !connection_level && self.authenticated {
            return None;
        }
        let count = request.arg_count();
        let password_required = worker
            .admin
            .limits
            .password_required
            .load(Ordering::Relaxed);
        if is("auth") && password_required {
            let password = match count {
                2 => request.arg(1),
                3 if request.arg(1).is_some_and(|user| user == b"default") => request.arg(2),
                3 => None,
                _ => {
                    self.reply_now(|reply| {
                        reply.error(b"ERR wrong number of arguments for 'auth' command");
                    });
                    return Some(Control::Continue);
                }
            };
            if password.is_some_and(|password| worker.admin.password_matches(password)) {
                self.authenticated = true;
                self.reply_now(|reply| reply.simple(b"OK"));
            } else {
                self.reply_now(|reply| {
                    reply.error(b"WRONGPASS invalid username-password pair or user is disabled.");
                });
            }
            return Some(Control::Continue);
        }
        if !self.authenticated && password_required && !is("hello") && !is("quit") && !is("reset") {
            self.reply_now(|reply| reply.error(b"NOAUTH Authentication required."));
            return Some(Control::Continue);
        }
        if is("hello") && !self.authenticated && password_required {
            // HELLO <proto> AUTH <user> <pass>: authenticate, then let the table reply.
            let auth = (2..count).find(|&index| {
                request
                    .arg(index)
                    .is_some_and(|word| word.eq_ignore_ascii_case(b"auth"))
            });
            let accepted = auth.is_some_and(|index| {
                request.arg(index + 1) == Some(b"default".as_slice())
                    && request
                        .arg(index + 2)
                        .is_some_and(|password| worker.admin.password_matches(password))
            });
            if !accepted {
                let message: &[u8] = if auth.is_some() {
                    b"WRONGPASS invalid username-password pair or user is disabled."
                } else {
                    b"NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
                };
                self.reply_now(|reply| reply.error(message));
                return Some(Control::Continue);
            }
            self.authenticated = true;
            return None;
        }
        // The transaction commands' arity comes first, as in Redis; a wrong EXEC discards
        // the transaction.
        let arity_wrong = match () {
            () if is("multi") || is("exec") || is("discard") || is("unwatch") => count != 1,
            () if is("watch") => count < 2,
            () => false,
        };
        if arity_wrong {
            let lowered = String::from_utf8_lossy(name).to_ascii_lowercase();
            let text = format!("wrong number of arguments for '{lowered}' command");
            if is("exec") {
                // Redis aborts (and discards any transaction) on a malformed EXEC, in MULTI
                // or not.
                self.transaction = None;
                self.watched.clear();
                let text = format!("EXECABORT Transaction discarded because of: {text}");
                self.reply_now(|reply| reply.error(text.as_bytes()));
            } else {
                if let Some(transaction) = &mut self.transaction {
                    transaction.failed = true;
                }
                let text = format!("ERR {text}");
                self.reply_now(|reply| reply.error(text.as_bytes()));
            }
            return Some(Control::Continue);
        }
        if is("reset") {
            // RESET runs at once, inside MULTI too, and ends the transaction.
            self.transaction = None;
            return None;
        }
        if is("multi") {
            let nested = self.transaction.is_some();
            if nested {
                self.reply_now(|reply| reply.error(b"ERR MULTI calls can not be nested"));
            } else if count != 1 {
                self.reply_now(|reply| {
                    reply.error(b"ERR wrong number of arguments for 'multi' command")
                });
            } else {
                self.transaction = Some(Transaction::default());
                self.reply_now(|reply| reply.simple(b"OK"));
            }
            return Some(Control::Continue);
        }
        if is("exec") || is("discard") {
            let Some(transaction) = self.transaction.take() else {
                let text: &[u8] = if is("exec") {
                    b"ERR EXEC without MULTI"
                } else {
                    b"ERR DISCARD without MULTI"
                };
                self.reply_now(|reply| reply.error(text));
                return Some(Control::Continue);
            };
            let watched = std::mem::take(&mut self.watched);
            if is("discard") {
                self.reply_now(|reply| reply.simple(b"OK"));
            } else if transaction.failed {
                self.reply_now(|reply| {
                    reply.error(b"EXECABORT Transaction discarded because of previous errors.");
                });
            } else {
                let mut reply = Vec::new();
                let durability = match worker.db.apply_transaction(
                    &transaction.queued,
                    &watched,
                    &mut self.session,
                    &mut reply,
                ) {
                    Ok(durability) => durability,
                    Err(error) => {
                        reply.clear();
                        ReplyWriter::new(&mut reply, self.session.protocol)
                            .error(error.reply_text().as_bytes());
                        Durability::Done
                    }
                };
                self.queue_gated(&reply, durability, worker);
            }
            return Some(Control::Continue);
        }
        if is("watch") {
            if self.transaction.is_some() {
                self.reply_now(|reply| reply.error(b"ERR WATCH inside MULTI is not allowed"));
            } else if count < 2 {
                self.reply_now(|reply| {
                    reply.error(b"ERR wrong number of arguments for 'watch' command")
                });
            } else {
                for key in request.args().skip(1) {
                    let mark = worker.db.watch(self.session.db, key);
                    self.watched.push(mark);
                }
                self.reply_now(|reply| reply.simple(b"OK"));
            }
            return Some(Control::Continue);
        }
        if is("unwatch") {
            self.watched.clear();
            self.reply_now(|reply| reply.simple(b"OK"));
            return Some(Control::Continue);
        }
        if self.transaction.is_some() {
            return None;
        }
        if is("client") && count >= 2 {
            return self.client_command(request, worker);
        }
        None
    }

    /// CLIENT LIST | INFO | KILL | NO-EVICT | NO-TOUCH here; the rest in the table.
    fn client_command(&mut self, request: &Request<'_>, worker: &mut Worker) -> Option<Control> {
        let sub = request.arg(1).unwrap_or_default().to_ascii_lowercase();
        let count = request.arg_count();
        match sub.as_slice() {
            b"list" => {
                let text = worker.shared.clients.list(None);
                self.reply_now(|reply| reply.verbatim(*b"txt", text.as_bytes()));
            }
            b"info" if count == 2 => {
                let text = worker.shared.clients.list(Some(self.info.id));
                self.reply_now(|reply| reply.verbatim(*b"txt", text.as_bytes()));
            }
            b"kill" if count >= 3 => {
                let args: Vec<&[u8]> = request.args().skip(2).collect();
                let result = worker.shared.clients.kill(&args, self.info.id);
                let old_form = count == 3;
                self.reply_now(|reply| match result {
                    Ok(killed) if old_form && killed == 0 => reply.error(b"ERR No such client"),
                    Ok(_) if old_form => reply.simple(b"OK"),
                    Ok(killed) => reply.integer(i64::try_from(killed).unwrap_or(i64::MAX)),
                    Err(message) => reply.error(message.as_bytes()),
                });
                if self.info.killed.load(Ordering::Acquire) {
                    return Some(Control::CloseAfterFlush);
                }
            }
            b"no-evict" | b"no-touch" if count == 3 => {
                let on = request.arg(2).unwrap_or_default();
                let valid = on.eq_ignore_ascii_case(b"on") || on.eq_ignore_ascii_case(b"off");
                self.reply_now(|reply| {
                    if valid {
                        // Accepted; floe does not exempt clients from eviction or recency.
                        reply.simple(b"OK");
                    } else {
                        reply.error(b"ERR syntax error");
                    }
                });
            }
            _ => return None,
        }
        Some(Control::Continue)
    }

    /// A command the table handed back: runs it through [`crate::admin::Admin`].
    fn runtime(
        &mut self,
        command: RuntimeCommand,
        request: &Request<'_>,
        worker: &mut Worker,
        reply: &mut Vec<u8>,
    ) -> Control {
        let args: Vec<&[u8]> = request.args().collect();
        let mut writer = ReplyWriter::new(reply, self.session.protocol);
        match worker.admin.run(command, &args, &mut writer) {
            Finish::Done => Control::Continue,
            Finish::Shutdown => {
                worker.shutdown_all();
                Control::CloseAfterFlush
            }
        }
    }

    /// RESET also ends a transaction, forgets watches and (with a password) logs out.
    fn reset(&mut self, worker: &Worker) {
        self.transaction = None;
        self.watched.clear();
        self.authenticated = !worker
            .admin
            .limits
            .password_required
            .load(Ordering::Relaxed);
    }

    /// Where the next reply starts, for reading its first bytes back.
    fn reply_position(&self) -> (bool, usize) {
        if self.gates.is_empty() {
            (false, self.output.len())
        } else {
            (true, self.held.len())
        }
    }

    /// The error code and text of the reply written since `start`, if it is an error.
    fn reply_error_since(&self, (held, start): (bool, usize)) -> Option<Vec<u8>> {
        let buffer = if held { &self.held } else { &self.output };
        let reply = buffer.get(start..)?;
        let text = reply.strip_prefix(b"-")?;
        let end = text
            .iter()
            .position(|byte| *byte == b'\r')
            .unwrap_or(text.len());
        Some(text[..end].to_vec())
    }

    /// Writes a reply that needs no durability, behind anything held.
    fn reply_now(&mut self, write: impl FnOnce(&mut ReplyWriter<'_, Vec<u8>>)) {
        let protocol = self.session.protocol;
        let target = if self.gates.is_empty() {
            &mut self.output
        } else {
            &mut self.held
        };
        write(&mut ReplyWriter::new(target, protocol));
    }

    fn queue_reply(&mut self, reply: &[u8]) {
        if self.gates.is_empty() {
            self.output.extend_from_slice(reply);
        } else {
            self.held.extend_from_slice(reply);
        }
    }

    /// Queues a reply that may be sent only once `durability` is met.
    fn queue_gated(&mut self, reply: &[u8], durability: Durability, worker: &mut Worker) {
        let gate = match durability {
            Durability::Done => {
                self.queue_reply(reply);
                return;
            }
            Durability::Buffered => {
                worker.pass_buffered = true;
                if !self.gates.iter().any(|held| held.gate == Gate::Uncommitted) {
                    worker.touched.push(self.token);
                }
                Gate::Uncommitted
            }
            Durability::Appended(ticket) => {
                worker.note_ticket(ticket);
                Gate::Lsn(ticket.lsn_last())
            }
        };
        if self.gates.is_empty() {
            worker.waiting.push(self.token);
        }
        let start = self.held.len();
        self.held.extend_from_slice(reply);
        self.gates.push_back(Held {
            start,
            end: self.held.len(),
            gate,
        });
    }

    /// Gives every write still waiting for the pass's commit that commit's LSN (`Err`: the
    /// commit failed, with the error text).
    pub(super) fn committed(&mut self, outcome: Result<u64, &str>) {
        for held in &mut self.gates {
            if held.gate == Gate::Uncommitted {
                held.gate = match outcome {
                    Ok(lsn) => Gate::Lsn(lsn),
                    Err(_) => Gate::Failed,
                };
            }
        }
        if let Err(text) = outcome {
            self.release(u64::MAX, Some(text));
        }
    }

    /// Moves to `output` every held reply the log has settled (`settled`: the last LSN it
    /// settled), in order; with `failure`, every write past `settled` gets that error.
    pub(super) fn release(&mut self, settled: u64, failure: Option<&str>) {
        let mut copied = 0;
        while let Some(held) = self.gates.front().copied() {
            let failed = match held.gate {
                Gate::Lsn(lsn) if lsn <= settled => false,
                Gate::Lsn(_) if failure.is_some() => true,
                Gate::Failed => true,
                _ => break,
            };
            self.output
                .extend_from_slice(&self.held[copied..held.start]);
            if failed {
                let text =
                    failure.unwrap_or("MISCONF the log failed before this write was durable");
                let protocol = self.session.protocol;
                ReplyWriter::new(&mut self.output, protocol).error(text.as_bytes());
            } else {
                self.output
                    .extend_from_slice(&self.held[held.start..held.end]);
            }
            copied = held.end;
            self.gates.pop_front();
        }
        if self.gates.is_empty() {
            self.output.extend_from_slice(&self.held[copied..]);
            self.held.clear();
        } else if copied > 0 {
            self.held.drain(..copied);
            for held in &mut self.gates {
                held.start -= copied;
                held.end -= copied;
            }
        }
    }

    /// Releases the output buffer's memory once a large reply went out.
    pub(super) fn output_sent(&mut self) {
        if self.output.is_empty() && self.output.capacity() > BUFFER_RETAIN_SIZE {
            self.output = Vec::new();
        }
    }

    /// Answers a broken limit with `message` and closes after sending what is released.
    pub(super) fn refuse(&mut self, message: &[u8]) {
        self.input.clear();
        let protocol = self.session.protocol;
        let target = if self.gates.is_empty() {
            &mut self.output
        } else {
            &mut self.held
        };
        ReplyWriter::new(target, protocol).error(message);
        self.closing = true;
    }
}

/// What a refused connection is told before it is closed.
pub(super) fn refusal_text(reason: Refusal) -> &'static [u8] {
    match reason {
        Refusal::MaxClients => b"-ERR max number of clients reached\r\n",
        Refusal::Protected => b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n",
    }
}

/// Why a new connection is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// `maxclients` are connected.
    MaxClients,
    /// Protected mode, no password, and the peer is not on loopback.
    Protected,
}
