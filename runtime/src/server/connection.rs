//! One client's connection, whatever protocol it speaks: the bytes received and not yet
//! parsed, the replies ready to send, and the replies held until the write they answer is
//! durable. The event loops (`uring`, `epoll`) move the bytes; a [`Door`] (RESP, HTTP,
//! Pizzaria) turns them into requests, runs them through the durable command path, and
//! queues each reply here in its own format.
//!
//! ```text
//!  input ─► Door::process ─► drive: one Door step per request ─► Db::prepare/apply
//!  reply ─► output                      (nothing to wait for, and nothing held before it)
//!        └► held + a gate on the write  (released in order once the gate's ticket settled)
//! ```
//!
//! Invariants: replies leave in request order (a read's reply behind a held write waits
//! too); a held reply is released only when the log says its write is as durable as the
//! fsync policy promises, and replaced by the door's error reply when the log failed first;
//! a request that breaks a limit gets an error and the connection closes, with nothing
//! stored lost; parsing pauses once the queued replies reach the output limit (so they
//! stay within it plus one reply), and the event loop resumes it as the client reads: only
//! a client that reads nothing for a whole housekeeping tick while at the limit is closed
//! as a slow reader.
//!
//! A connection of a TLS listener carries a [`Tls`] session at its two edges: bytes enter
//! through [`Connection::receive`] (deciphered into `input`) and leave through
//! [`Connection::wire`] (released `output` enciphered), so the doors and the durability
//! gate see only plaintext, and the event loops send only what `wire` gives them.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use floe_core::codec::resp::{
    DEPTH_MAX_DEFAULT, Frame, INLINE_SIZE_MAX_DEFAULT, Limits, Protocol, ReplyWriter,
};
use floe_core::command::Session;

use super::Worker;
use super::clients::ClientInfo;
use super::http::Http;
use super::pizzaria::Pizzaria;
use super::resp::{self, Resp};
use super::tls::Tls;
use crate::acl::{Acl, Caller, Context};
use crate::db::{DbError, Durability};

/// A connection's input or output buffer keeps at most this much capacity once empty.
pub(super) const BUFFER_RETAIN_SIZE: usize = 1 << 20;

/// What the event loop does with the connection after [`Door::process`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Control {
    /// Keep reading.
    Continue,
    /// Send what is released, then close (QUIT, a protocol error, a broken limit).
    CloseAfterFlush,
}

/// What one step of a door's parser did with the unparsed input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// A whole request (`consumed` bytes) was run and its reply queued.
    Ran { consumed: usize, control: Control },
    /// The request is not all there yet.
    Incomplete,
    /// The parser grew a buffer of its own: parse the same bytes again (bounded: each
    /// growth doubles toward a fixed limit).
    Grown,
}

/// Which protocol a listening socket speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DoorKind {
    /// Redis's RESP (`port`).
    Resp,
    /// HTTP/1.1 (`http-port`).
    Http,
    /// The Pizzaria line protocol (`pizzaria-port`).
    Pizzaria,
}

impl DoorKind {
    /// The name used in the start-up line and errors.
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Resp => "RESP",
            Self::Http => "HTTP",
            Self::Pizzaria => "Pizzaria",
        }
    }

    /// The setting that chooses this door's port, for error messages.
    pub(super) fn port_setting(self) -> &'static str {
        match self {
            Self::Resp => "--port",
            Self::Http => "--http-port",
            Self::Pizzaria => "--pizzaria-port",
        }
    }

    /// How this door answers an error that is not a reply to one request (a write the log
    /// failed before it settled, a broken limit).
    fn error_reply(self) -> fn(&mut Vec<u8>, &str) {
        match self {
            Self::Resp => resp::error_reply,
            Self::Http => super::http::error_reply,
            Self::Pizzaria => super::pizzaria::error_reply,
        }
    }

    /// What a refused connection is told before it is closed.
    pub(super) fn refusal_text(self, reason: Refusal) -> Vec<u8> {
        match self {
            Self::Resp => refusal_text(reason).to_vec(),
            Self::Http => {
                let mut response = Vec::new();
                super::http::refusal_reply(&mut response, reason);
                response
            }
            Self::Pizzaria => b"error\r".to_vec(),
        }
    }
}

/// One connection's protocol and its state.
#[derive(Debug)]
pub(super) enum Door {
    Resp(Box<Resp>),
    Http(Box<Http>),
    Pizzaria(Box<Pizzaria>),
}

impl Door {
    /// A new client's protocol state.
    pub(super) fn new(kind: DoorKind, id: u64, acl: &Acl) -> Self {
        match kind {
            DoorKind::Resp => Self::Resp(Box::new(Resp::new(id, acl))),
            DoorKind::Http => Self::Http(Box::new(Http::new(id, acl))),
            DoorKind::Pizzaria => Self::Pizzaria(Box::new(Pizzaria::new(id, acl))),
        }
    }

    /// Runs every complete request in the connection's input, leaving a partial one there;
    /// stops early (and sets `paused`) once the replies queued, with `in_flight` bytes the
    /// loop is still sending, reach the output limit. So a pipeline of many large replies
    /// is answered as fast as the client reads, never queued whole.
    pub(super) fn process(
        &mut self,
        connection: &mut Connection,
        worker: &mut Worker,
        in_flight: usize,
    ) -> Control {
        connection.drive(worker, in_flight, |connection, input, worker| match self {
            Self::Resp(resp) => resp.step(connection, input, worker),
            Self::Http(http) => http.step(connection, input, worker),
            Self::Pizzaria(pizzaria) => pizzaria.step(connection, input, worker),
        })
    }

    /// Answers a broken limit (`message`) in this door's form and closes after sending
    /// what is released.
    pub(super) fn refuse(&self, connection: &mut Connection, message: &str) {
        let reply = match self {
            Self::Resp(_) => resp::error_reply,
            Self::Http(_) => super::http::too_large_reply,
            Self::Pizzaria(_) => super::pizzaria::error_reply,
        };
        connection.refuse(message, reply);
    }
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

/// One client, whatever its protocol.
#[derive(Debug)]
pub(super) struct Connection {
    pub(super) info: Arc<ClientInfo>,
    /// Its index in the worker's table.
    token: usize,
    /// Bytes received and not yet parsed into a whole request.
    pub(super) input: Vec<u8>,
    /// Replies ready to send (released: nothing in it waits for the log), in plaintext.
    pub(super) output: Vec<u8>,
    /// The TLS session of a TLS listener's client: the socket sees only its ciphertext.
    tls: Option<Box<Tls>>,
    /// Replies waiting for durability (and any reply behind one), in order.
    held: Vec<u8>,
    gates: VecDeque<Held>,
    /// Writes the door's reply to a write the log failed before it settled.
    failure_reply: fn(&mut Vec<u8>, &str),
    /// Closing: no more requests are read; what is released is still sent.
    pub(super) closing: bool,
    pub(super) last_active: Instant,
    /// Parsing stopped because the replies queued reached the output limit: the rest of
    /// the input waits until the client has read enough (the loop resumes it).
    pub(super) paused: bool,
    /// Blocked in WAIT ([`super::blocked`]): nothing more is parsed until its reply (the
    /// connection is `paused` too, so the loops resume it when the wait ends).
    pub(super) blocked: bool,
    /// Reply bytes left for this client since the last housekeeping tick: a client over
    /// the output limit that made no progress for a whole tick is a slow reader.
    pub(super) progress: bool,
}

impl Connection {
    pub(super) fn new(
        info: Arc<ClientInfo>,
        kind: DoorKind,
        token: usize,
        tls: Option<Box<Tls>>,
    ) -> Self {
        Self {
            token,
            info,
            input: Vec::new(),
            output: Vec::new(),
            tls,
            held: Vec::new(),
            gates: VecDeque::new(),
            failure_reply: kind.error_reply(),
            closing: false,
            last_active: Instant::now(),
            paused: false,
            blocked: false,
            progress: false,
        }
    }

    /// Its index in the worker's table.
    pub(super) fn token(&self) -> usize {
        self.token
    }

    /// The peer's address.
    pub(super) fn peer(&self) -> SocketAddr {
        self.info.addr
    }

    /// Whether some reply waits for the log.
    pub(super) fn is_waiting(&self) -> bool {
        !self.gates.is_empty()
    }

    /// Reply bytes queued (released, held, and enciphered not yet sent): what the output
    /// limit bounds.
    pub(super) fn output_size(&self) -> usize {
        let sealed = self.tls.as_ref().map_or(0, |tls| tls.sealed.len());
        self.output.len() + self.held.len() + sealed
    }

    /// Takes bytes the socket received: into `input` as they are, or deciphered by TLS.
    /// Returns `false` when TLS refused them (a failed handshake, plaintext on the TLS
    /// port, a bad client certificate): the connection then reads nothing more, sends
    /// TLS's alert ([`Connection::wire`]) and closes.
    pub(super) fn receive(&mut self, bytes: &[u8]) -> bool {
        let Some(tls) = self.tls.as_mut() else {
            self.input.extend_from_slice(bytes);
            return true;
        };
        match tls.open(bytes, &mut self.input) {
            Ok(()) => true,
            Err(failure) => {
                tracing::debug!("TLS client {} refused: {failure}; closing", self.info.addr);
                self.input.clear();
                self.closing = true;
                false
            }
        }
    }

    /// The bytes for the socket: the released replies, enciphered first on a TLS
    /// connection (with its handshake messages, alerts, and a close_notify once closing
    /// and nothing is left). The event loop sends from the front and drains what it sent.
    pub(super) fn wire(&mut self) -> &mut Vec<u8> {
        match self.tls.as_mut() {
            None => &mut self.output,
            Some(tls) => {
                let last = self.closing && self.gates.is_empty();
                tls.seal(&mut self.output, last);
                &mut tls.sealed
            }
        }
    }

    /// Whether nothing released is left to send (the wire included).
    pub(super) fn wire_is_empty(&self) -> bool {
        self.output.is_empty() && self.tls.as_ref().is_none_or(|tls| tls.sealed.is_empty())
    }

    /// The loop every door shares: runs `step` on the unparsed input until it is used up,
    /// incomplete, the connection closes, or the queued replies reach the output limit
    /// (then `paused`). Keeps the partial request for the next call.
    fn drive(
        &mut self,
        worker: &mut Worker,
        in_flight: usize,
        mut step: impl FnMut(&mut Self, &[u8], &mut Worker) -> Step,
    ) -> Control {
        let output_limit = worker
            .admin
            .limits
            .output_buffer_size_max
            .load(Ordering::Relaxed);
        self.paused = false;
        let input = std::mem::take(&mut self.input);
        let mut position = 0;
        let mut control = Control::Continue;
        while position < input.len() && !self.closing {
            if self.blocked {
                break;
            }
            if (self.output_size() + in_flight) as u64 >= output_limit {
                self.paused = true;
                break;
            }
            match step(self, &input[position..], worker) {
                Step::Incomplete => break,
                Step::Grown => {}
                Step::Ran {
                    consumed,
                    control: ran,
                } => {
                    assert!(
                        position + consumed <= input.len(),
                        "consumed={consumed} position={position} input={}",
                        input.len()
                    );
                    position += consumed;
                    if ran == Control::CloseAfterFlush {
                        control = Control::CloseAfterFlush;
                        self.closing = true;
                    }
                }
            }
        }
        if self.blocked {
            self.paused = true;
        }
        // Keep the partial request; reuse the buffer's capacity, unless one huge request
        // grew it.
        let mut input = input;
        input.drain(..position);
        if input.is_empty() && input.capacity() > BUFFER_RETAIN_SIZE {
            input = Vec::new();
        }
        self.input = input;
        control
    }

    /// Where the next reply starts, for reading its first bytes back.
    pub(super) fn reply_position(&self) -> (bool, usize) {
        if self.gates.is_empty() {
            (false, self.output.len())
        } else {
            (true, self.held.len())
        }
    }

    /// The error code and text of the reply written since `start`, if it is an error.
    pub(super) fn reply_error_since(&self, (held, start): (bool, usize)) -> Option<Vec<u8>> {
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
    pub(super) fn reply_now(
        &mut self,
        protocol: Protocol,
        write: impl FnOnce(&mut ReplyWriter<'_, Vec<u8>>),
    ) {
        let target = if self.gates.is_empty() {
            &mut self.output
        } else {
            &mut self.held
        };
        write(&mut ReplyWriter::new(target, protocol));
    }

    pub(super) fn queue_reply(&mut self, reply: &[u8]) {
        if self.gates.is_empty() {
            self.output.extend_from_slice(reply);
        } else {
            self.held.extend_from_slice(reply);
        }
    }

    /// Queues a reply that may be sent only once `durability` is met.
    pub(super) fn queue_gated(
        &mut self,
        reply: &[u8],
        durability: Durability,
        worker: &mut Worker,
    ) {
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
                (self.failure_reply)(&mut self.output, text);
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
        if let Some(tls) = self.tls.as_mut()
            && tls.sealed.is_empty()
            && tls.sealed.capacity() > BUFFER_RETAIN_SIZE
        {
            tls.sealed = Vec::new();
        }
    }

    /// Answers a broken limit with `message` (in the door's form, `reply`) and closes
    /// after sending what is released.
    pub(super) fn refuse(&mut self, message: &str, reply: fn(&mut Vec<u8>, &str)) {
        self.input.clear();
        let target = if self.gates.is_empty() {
            &mut self.output
        } else {
            &mut self.held
        };
        reply(target, message);
        self.closing = true;
    }
}

/// Runs one command (`args`, in the command table's form) for a door that is not RESP, as
/// `caller` in `session`, the same way RESP runs it: checked against the caller's
/// permissions, prepared, applied under the store lock, counted in the door's statistics.
/// The reply frame goes to `reply` (an error frame when the ACL or the Db refused it);
/// returns what must happen before the door may answer.
pub(super) fn execute(
    worker: &mut Worker,
    caller: &mut Caller,
    session: &mut Session,
    args: &[&[u8]],
    reply: &mut Vec<u8>,
) -> Durability {
    let started = Instant::now();
    worker.stats.started();
    if let Err(text) = permitted(worker, caller, session, args) {
        resp::error_reply(reply, &text);
        return Durability::Done;
    }
    let prepared = worker.db.prepare(args);
    let spec = prepared.spec();
    let start = reply.len();
    let durability = match worker.db.apply(&prepared, session, reply) {
        Ok(applied) => {
            if let floe_core::command::Outcome::Runtime(_) = applied.outcome {
                // The doors that call this run only store commands (GET, SET, DEL, SCAN,
                // ...), which the table finishes itself.
                resp::error_reply(reply, "ERR this command is not available on this door");
            } else {
                worker.wake_waiters(session.db, args);
            }
            applied.durability
        }
        Err(error) => {
            resp::error_reply(reply, &error.reply_text());
            Durability::Done
        }
    };
    let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    let error = reply
        .get(start..)
        .and_then(|written| written.strip_prefix(b"-"))
        .map(|text| text.split(|byte| *byte == b'\r').next().unwrap_or_default());
    worker.stats.record(spec, nanos, error);
    durability
}

/// The ACL check of a door that is not RESP: `Err` with the NOPERM text (logged in ACL
/// LOG) when `caller` may not run `args`.
pub(super) fn permitted(
    worker: &Worker,
    caller: &mut Caller,
    session: &Session,
    args: &[&[u8]],
) -> Result<(), String> {
    let acl = &worker.admin.acl;
    acl.check(caller, args).map_err(|denial| {
        let client = worker.shared.clients.list(Some(session.id));
        acl.log_denial(&denial, caller.name(), Context::TopLevel, client.trim_end());
        denial.reply_text(caller.name())
    })
}

/// As [`execute`], for a group of commands applied as one MULTI block (one hold of the
/// store lock, one log group). The reply is one array frame of the commands' replies.
///
/// # Errors
/// The Db refused the writes (the log failed, or it is closing): nothing ran.
pub(super) fn execute_group(
    worker: &mut Worker,
    session: &mut Session,
    queued: &[Vec<Vec<u8>>],
    reply: &mut Vec<u8>,
) -> Result<Durability, DbError> {
    let started = Instant::now();
    worker.stats.started();
    let spec = floe_core::command::lookup(b"exec");
    let result = worker.db.apply_transaction(queued, &[], session, reply);
    let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    let error = result.as_ref().err().map(DbError::reply_text);
    worker
        .stats
        .record(spec, nanos, error.as_deref().map(str::as_bytes));
    result
}

/// The element heads of a reply frame the command table wrote (an aggregate's header,
/// then its children), for the doors that answer in another format.
///
/// NOTE: the command table writes replies only as RESP frames (`ReplySink` takes bytes),
/// so a door other than RESP reads its one frame back with floe-core's total parser; a
/// typed reply sink in floe-core would spare that, and is the way to go once the command
/// table is free to change.
#[derive(Debug)]
pub(super) struct ReplyFrames<'r> {
    bytes: &'r [u8],
    position: usize,
}

impl<'r> ReplyFrames<'r> {
    pub(super) fn new(bytes: &'r [u8]) -> Self {
        Self { bytes, position: 0 }
    }
}

impl<'r> Iterator for ReplyFrames<'r> {
    type Item = Frame<'r>;

    fn next(&mut self) -> Option<Frame<'r>> {
        let limits = Limits {
            bulk_size_max: usize::MAX,
            array_count_max: usize::MAX,
            depth_max: DEPTH_MAX_DEFAULT,
            inline_size_max: INLINE_SIZE_MAX_DEFAULT,
        };
        let rest = self.bytes.get(self.position..)?;
        let (frame, size) = Frame::parse_head(rest, &limits).ok()?;
        self.position += size;
        Some(frame)
    }
}

/// A glob that matches exactly the keys starting with `prefix` (its glob characters
/// escaped), for SCAN MATCH and KEYS.
pub(super) fn prefix_pattern(prefix: &[u8]) -> Vec<u8> {
    let mut pattern = Vec::with_capacity(prefix.len() + 1);
    for &byte in prefix {
        if matches!(byte, b'*' | b'?' | b'[' | b']' | b'\\') {
            pattern.push(b'\\');
        }
        pattern.push(byte);
    }
    pattern.push(b'*');
    pattern
}

/// What a refused RESP connection is told before it is closed.
fn refusal_text(reason: Refusal) -> &'static [u8] {
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
