//! The RESP door: Redis's protocol (RESP2 and RESP3, inline commands too), with the
//! commands that belong to a connection rather than the store (AUTH, HELLO, MULTI/EXEC,
//! WATCH, CLIENT LIST/INFO/KILL), and RESP2's subscribed mode. Everything else runs
//! through the command table; pub/sub commands, which the table hands back, run in
//! [`super::pubsub`].
//!
//! ```text
//!  input ─► parse_request ─► connection commands (AUTH, MULTI/EXEC, WATCH, CLIENT LIST ...)
//!                         └► Db::prepare ─► Db::apply ─► reply ─► Connection (gated)
//! ```
//!
//! Invariants: a protocol error is answered and closes the connection (as Redis does);
//! until a client authenticates (when the default user has a password) only AUTH, HELLO
//! ... AUTH, QUIT and RESET run ([`super::acl::gate`]); every other command passes the ACL
//! check first (a denied one inside MULTI fails the transaction, as in Redis, and EXEC
//! checks each queued command again as it reaches it, as Redis 7 does); a MULTI
//! block runs under one hold of the store lock and is logged as one group; a RESP2 client
//! with a subscription runs only what Redis's subscribed mode allows.
//!
//! In cluster mode a command with keys then passes [`crate::cluster::Cluster::refusal`]
//! (MOVED, CROSSSLOT, CLUSTERDOWN, as Redis checks after ACL), and EXEC checks the keys of
//! the whole transaction together.

use std::sync::atomic::Ordering;
use std::time::Instant;

use floe_core::codec::resp::{
    ARRAY_COUNT_MAX_DEFAULT, ArgRange, DEPTH_MAX_DEFAULT, INLINE_SIZE_MAX_DEFAULT, Limits,
    Protocol, ReplySink, ReplyWriter, Request, RespErrorKind, parse_request,
};
use floe_core::command::{Outcome, RuntimeCommand, Session};

use super::Worker;
use super::acl;
use super::connection::{Connection, Control, Step};
use super::pubsub;
use crate::acl::{Acl, Caller, Context, Denial};
use crate::admin::Finish;
use crate::db::{Durability, WatchMark};

/// Argument ranges a connection starts with; doubled (up to the request limit) when a
/// request has more.
const RANGES_INITIAL_COUNT: usize = 64;

/// The commands [`Resp::connection_command`] may answer itself.
const CONNECTION_COMMANDS: [&str; 10] = [
    "auth", "hello", "quit", "reset", "multi", "exec", "discard", "watch", "unwatch", "client",
];

/// The commands a RESP2 client may run while subscribed (Redis's subscribed mode).
const SUBSCRIBED_COMMANDS: [&str; 9] = [
    "subscribe",
    "unsubscribe",
    "psubscribe",
    "punsubscribe",
    "ssubscribe",
    "sunsubscribe",
    "ping",
    "quit",
    "reset",
];

/// A MULTI block being queued.
#[derive(Debug, Default)]
struct Transaction {
    queued: Vec<Vec<Vec<u8>>>,
    /// A queued command was refused (unknown, wrong arity): EXEC aborts.
    failed: bool,
}

/// One RESP client's protocol state.
#[derive(Debug)]
pub(super) struct Resp {
    pub(super) session: Session,
    transaction: Option<Transaction>,
    watched: Vec<WatchMark>,
    /// Who the client is logged in as (see [`crate::acl`]).
    pub(super) caller: Caller,
    /// Cluster mode: the client sent ASKING, so its next command (or, inside MULTI, the
    /// transaction up to EXEC) may use a slot this node is importing, as in Redis.
    asking: bool,
    ranges: Vec<ArgRange>,
    scratch: Vec<u8>,
}

impl Resp {
    pub(super) fn new(id: u64, acl: &Acl) -> Self {
        let mut session = Session::new(id);
        session.users_checked = true;
        // The RESP door parks clients in blocking pops ([`super::waiters`]).
        session.may_block = true;
        Self {
            session,
            transaction: None,
            watched: Vec::new(),
            caller: Caller::new(acl),
            asking: false,
            ranges: vec![ArgRange::EMPTY; RANGES_INITIAL_COUNT],
            // Grown to the inline limit by the first quoted inline argument only: most
            // clients never send one, and 64 KiB each would add up over many clients.
            scratch: Vec::new(),
        }
    }

    /// Parses and runs the request at the start of `input`.
    pub(super) fn step(
        &mut self,
        connection: &mut Connection,
        input: &[u8],
        worker: &mut Worker,
    ) -> Step {
        let limits = Limits {
            bulk_size_max: usize::try_from(
                worker.admin.limits.bulk_size_max.load(Ordering::Relaxed),
            )
            .unwrap_or(usize::MAX),
            array_count_max: ARRAY_COUNT_MAX_DEFAULT,
            depth_max: DEPTH_MAX_DEFAULT,
            inline_size_max: INLINE_SIZE_MAX_DEFAULT,
        };
        let ranges_count = self.ranges.len();
        let scratch_size = self.scratch.len();
        let mut ranges = std::mem::take(&mut self.ranges);
        let mut scratch = std::mem::take(&mut self.scratch);
        let step = match parse_request(input, &limits, &mut ranges, &mut scratch) {
            Ok(request) if request.is_empty() => Step::Ran {
                consumed: request.consumed_size(),
                control: Control::Continue,
            },
            Ok(request) => Step::Ran {
                consumed: request.consumed_size(),
                control: self.request(connection, &request, worker),
            },
            Err(error) if error.is_incomplete() => Step::Incomplete,
            Err(error)
                if error.kind == RespErrorKind::ScratchFull
                    && scratch_size < INLINE_SIZE_MAX_DEFAULT =>
            {
                scratch.resize(INLINE_SIZE_MAX_DEFAULT, 0);
                Step::Grown
            }
            Err(error)
                if error.kind == RespErrorKind::TooManyArguments
                    && ranges_count < limits.array_count_max =>
            {
                let grown = (ranges_count * 2).min(limits.array_count_max);
                ranges.resize(grown, ArgRange::EMPTY);
                Step::Grown
            }
            Err(error) => {
                // Redis answers a protocol error and closes the connection.
                let text = format!("ERR {}", error.message());
                connection.reply_now(self.session.protocol, |reply| {
                    reply.error(text.as_bytes());
                });
                Step::Ran {
                    consumed: 0,
                    control: Control::CloseAfterFlush,
                }
            }
        };
        self.ranges = ranges;
        self.scratch = scratch;
        step
    }

    /// Runs one request and queues its reply.
    fn request(
        &mut self,
        connection: &mut Connection,
        request: &Request<'_>,
        worker: &mut Worker,
    ) -> Control {
        let started = Instant::now();
        worker.stats.started();
        connection.last_active = started;
        let name = request.arg(0).unwrap_or_default();
        let spec;
        let start = connection.reply_position();
        let mut control = Control::Continue;
        let mut durability = Durability::Done;
        if let Some(text) = self.subscribed_refusal(connection, request, worker) {
            spec = floe_core::command::lookup(name);
            connection.reply_now(self.session.protocol, |reply| reply.error(text.as_bytes()));
        } else if self.subscribed_ping(connection, request) {
            spec = floe_core::command::lookup(name);
            let message = request.arg(1).unwrap_or_default();
            connection.reply_now(self.session.protocol, |reply| {
                reply.array_header(2);
                reply.bulk(b"pong");
                reply.bulk(message);
            });
        } else if let Some(handled) = self.connection_command(connection, name, request, worker) {
            control = handled;
            // Counted in INFO commandstats under the table's name, as the rest.
            spec = floe_core::command::lookup(name);
        } else if let Err(denial) = worker.admin.acl.check(&mut self.caller, request) {
            spec = floe_core::command::lookup(name);
            self.deny(connection, worker, &denial);
        } else if let Some(text) = worker.admin.cluster().and_then(|cluster| {
            cluster.refusal(request, self.asking, &mut |key| worker.db.exists(key))
        }) {
            // Cluster mode: the keys live elsewhere (MOVED), span slots (CROSSSLOT), or the
            // command needs a database cluster mode does not have. Inside MULTI, EXEC fails.
            spec = floe_core::command::lookup(name);
            if let Some(transaction) = &mut self.transaction {
                transaction.failed = true;
            }
            connection.reply_now(self.session.protocol, |reply| reply.error(text.as_bytes()));
        } else if let Some(transaction) = &mut self.transaction {
            let prepared = worker.db.prepare(request);
            spec = prepared.spec();
            let args: Vec<&[u8]> = request.args().collect();
            if let Some(text) = pubsub::queue_error(&args) {
                transaction.failed = true;
                connection.reply_now(self.session.protocol, |reply| reply.error(text.as_bytes()));
            } else if spec.is_some() {
                transaction
                    .queued
                    .push(request.args().map(<[u8]>::to_vec).collect());
                connection.reply_now(self.session.protocol, |reply| reply.simple(b"QUEUED"));
            } else {
                transaction.failed = true;
                // The table writes the unknown-command or arity error.
                let mut reply = Vec::new();
                let _applied = worker.db.apply(&prepared, &mut self.session, &mut reply);
                connection.queue_reply(&reply);
            }
        } else {
            let prepared = worker.db.prepare(request);
            spec = prepared.spec();
            let mut reply = std::mem::take(&mut worker.reply);
            reply.clear();
            // A slot being migrated: which keys exist decides, so decide again under the
            // locks the command runs under (another client may delete or move a key
            // between the check above and the command).
            let cluster = worker
                .admin
                .cluster()
                .filter(|cluster| cluster.has_migrations());
            let asking = self.asking;
            let mut guard = |shards: &mut dyn floe_core::store::Shards<'_>, now| {
                cluster.and_then(|cluster| {
                    cluster.refusal(request, asking, &mut |key| {
                        shards.store_for(key).exists(0, key, now)
                    })
                })
            };
            match worker
                .db
                .apply_guarded(&prepared, &mut self.session, &mut reply, &mut guard)
            {
                Ok(applied) => {
                    durability = applied.durability;
                    match applied.outcome {
                        Outcome::Done => {}
                        Outcome::Close => control = Control::CloseAfterFlush,
                        Outcome::Runtime(RuntimeCommand::PubSub) => {
                            let args: Vec<&[u8]> = request.args().collect();
                            let client = (&connection.info, connection.token());
                            let protocol = self.session.protocol;
                            pubsub::run(worker, client, protocol, &args, &mut reply);
                        }
                        Outcome::Runtime(RuntimeCommand::Wait {
                            replica_count,
                            timeout_ms,
                        }) if replica_count > 0 && !worker.admin.replication.is_replica() => {
                            // Its reply comes once the replicas have caught up.
                            worker.block_for_replicas(connection, replica_count, timeout_ms);
                        }
                        Outcome::Runtime(RuntimeCommand::Block { timeout_ms }) => {
                            // Its reply comes when a push serves it, or at its timeout.
                            let args: Vec<&[u8]> = request.args().collect();
                            worker.block_for_pop(connection, &self.session, &args, timeout_ms);
                        }
                        Outcome::Runtime(RuntimeCommand::Replication) => {
                            // A replica's pull with nothing new waits for news, parked.
                            let args: Vec<&[u8]> = request.args().collect();
                            let protocol = self.session.protocol;
                            let mut writer = ReplyWriter::new(&mut reply, protocol);
                            let peer = connection.peer();
                            if let Some(park) = replication(worker, &args, peer, true, &mut writer)
                            {
                                worker.block_for_pull(connection, &args, protocol, park);
                            }
                        }
                        Outcome::Runtime(command) => {
                            let peer = connection.peer();
                            let args: Vec<&[u8]> = request.args().collect();
                            control = self.runtime(command, &args, peer, worker, &mut reply);
                        }
                    }
                    if applied.outcome == Outcome::Done {
                        worker.wake_waiters(self.session.db, request);
                    }
                    if name.eq_ignore_ascii_case(b"reset") {
                        self.reset(worker);
                        // Messages published before the RESET go out before its reply.
                        let pending = worker.shared.pubsub.forget(&connection.info);
                        reply.splice(0..0, pending);
                    }
                }
                Err(error) => {
                    ReplyWriter::new(&mut reply, self.session.protocol)
                        .error(error.reply_text().as_bytes());
                }
            }
            connection.queue_gated(&reply, durability, worker);
            worker.reply = reply;
        }
        // ASKING holds for the next command only, or inside MULTI up to EXEC (Redis's rule).
        if name.eq_ignore_ascii_case(b"asking") && worker.admin.cluster().is_some() {
            self.asking = true;
        } else if self.transaction.is_none() {
            self.asking = false;
        }
        connection.info.db.store(self.session.db, Ordering::Relaxed);
        // EXEC too: a CLIENT SETNAME may sit in its block (Sentinel's).
        if name.eq_ignore_ascii_case(b"client")
            || name.eq_ignore_ascii_case(b"exec")
            || name.eq_ignore_ascii_case(b"hello")
            || name.eq_ignore_ascii_case(b"reset")
            || name.eq_ignore_ascii_case(b"auth")
        {
            connection.info.set_user(self.caller.name());
            let current = String::from_utf8_lossy(self.session.name().unwrap_or_default());
            connection.info.set_name(&current);
            let resp = match self.session.protocol {
                Protocol::Resp2 => 2,
                Protocol::Resp3 => 3,
            };
            connection.info.resp.store(resp, Ordering::Relaxed);
        }
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let error = connection.reply_error_since(start);
        worker.stats.record(spec, nanos, error.as_deref());
        let micros = nanos / 1000;
        if micros >= worker.slow_threshold_us() {
            let args: Vec<&[u8]> = request.args().collect();
            let client = connection.peer().to_string();
            let client_name =
                String::from_utf8_lossy(self.session.name().unwrap_or_default()).into_owned();
            worker
                .admin
                .slowlog_offer(micros, &args, &client, &client_name);
        }
        control
    }

    /// RESP2's subscribed mode: a client with a subscription may run only (P|S)SUBSCRIBE,
    /// (P|S)UNSUBSCRIBE, PING, QUIT and RESET; any other known command with a valid arity
    /// that its user may run gets Redis's error text (`None`: run it, or let the table or
    /// the ACL refuse it). RESP3 clients may run anything.
    fn subscribed_refusal(
        &mut self,
        connection: &Connection,
        request: &Request<'_>,
        worker: &Worker,
    ) -> Option<String> {
        if self.session.protocol != Protocol::Resp2 || connection.info.subscription_count() == 0 {
            return None;
        }
        let spec = floe_core::command::lookup(request.arg(0).unwrap_or_default())?;
        // Redis checks the arity and the permissions first: their errors win.
        if !spec.accepts(request.arg_count())
            || worker.admin.acl.check(&mut self.caller, request).is_err()
        {
            return None;
        }
        let name = spec.name();
        if SUBSCRIBED_COMMANDS.contains(&name) {
            return None;
        }
        let full_name = if crate::acl::has_subcommands(name) {
            let sub = request.arg(1).unwrap_or_default().to_ascii_lowercase();
            format!("{name}|{}", String::from_utf8_lossy(&sub))
        } else {
            name.to_owned()
        };
        let text = format!(
            "Can't execute '{full_name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT \
             / RESET are allowed in this context"
        );
        // Redis answers a refused EXEC as an aborted transaction.
        Some(if name == "exec" {
            format!("EXECABORT Transaction discarded because of: {text}")
        } else {
            format!("ERR {text}")
        })
    }

    /// Whether `request` is a PING a subscribed RESP2 client sent, which Redis answers as
    /// a `pong` array (with the message, or an empty one).
    fn subscribed_ping(&self, connection: &Connection, request: &Request<'_>) -> bool {
        self.session.protocol == Protocol::Resp2
            && request.arg_count() <= 2
            && request
                .arg(0)
                .is_some_and(|name| name.eq_ignore_ascii_case(b"ping"))
            && connection.info.subscription_count() > 0
    }

    /// Commands that belong to the connection rather than the store; `None` for others.
    fn connection_command(
        &mut self,
        connection: &mut Connection,
        name: &[u8],
        request: &Request<'_>,
        worker: &mut Worker,
    ) -> Option<Control> {
        let is = |word: &str| name.eq_ignore_ascii_case(word.as_bytes());
        // The common case in a few length compares: a store command from a logged-in client.
        let connection_level = CONNECTION_COMMANDS
            .iter()
            .any(|word| word.len() == name.len() && is(word));
        if !connection_level && self.caller.authenticated(&worker.admin.acl) {
            return None;
        }
        let count = request.arg_count();
        if let Some(control) = acl::gate(self, connection, name, request, worker) {
            return Some(control);
        }
        if is("hello") {
            return None;
        }
        if let Err(denial) = worker.admin.acl.check(&mut self.caller, request) {
            self.deny(connection, worker, &denial);
            return Some(Control::Continue);
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
                connection.reply_now(self.session.protocol, |reply| reply.error(text.as_bytes()));
            } else {
                if let Some(transaction) = &mut self.transaction {
                    transaction.failed = true;
                }
                let text = format!("ERR {text}");
                connection.reply_now(self.session.protocol, |reply| reply.error(text.as_bytes()));
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
                connection.reply_now(self.session.protocol, |reply| {
                    reply.error(b"ERR MULTI calls can not be nested")
                });
            } else if count != 1 {
                connection.reply_now(self.session.protocol, |reply| {
                    reply.error(b"ERR wrong number of arguments for 'multi' command")
                });
            } else {
                self.transaction = Some(Transaction::default());
                connection.reply_now(self.session.protocol, |reply| reply.simple(b"OK"));
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
                connection.reply_now(self.session.protocol, |reply| reply.error(text));
                return Some(Control::Continue);
            };
            let watched = std::mem::take(&mut self.watched);
            if is("discard") {
                connection.reply_now(self.session.protocol, |reply| reply.simple(b"OK"));
            } else if transaction.failed {
                connection.reply_now(self.session.protocol, |reply| {
                    reply.error(b"EXECABORT Transaction discarded because of previous errors.");
                });
            } else if let Some(text) = worker.admin.cluster().and_then(|cluster| {
                cluster.refusal_of_transaction(&transaction.queued, self.asking, &mut |key| {
                    worker.db.exists(key)
                })
            }) {
                // Redis discards a transaction whose keys span slots.
                connection.reply_now(self.session.protocol, |reply| reply.error(text.as_bytes()));
            } else if watched.is_empty() && is_admin_block(&transaction.queued) {
                let reply = self.exec_admin_block(connection, &transaction.queued, worker);
                connection.queue_gated(&reply, Durability::Done, worker);
            } else {
                let mut reply = Vec::new();
                // PUBLISH and PUBSUB run inside the block; a publisher's own copies of its
                // messages follow EXEC's reply.
                let mut own = Vec::new();
                let publisher = connection.info.id;
                let shared = &*worker;
                let mut runtime = |args: &[&[u8]], protocol, frame: &mut Vec<u8>| {
                    pubsub::run_queued(shared, publisher, args, protocol, (frame, &mut own))
                };
                let cluster = worker
                    .admin
                    .cluster()
                    .filter(|cluster| cluster.has_migrations());
                let asking = self.asking;
                let queued = &transaction.queued;
                let mut guard = |shards: &mut dyn floe_core::store::Shards<'_>, now| {
                    cluster.and_then(|cluster| {
                        cluster.refusal_of_transaction(queued, asking, &mut |key| {
                            shards.store_for(key).exists(0, key, now)
                        })
                    })
                };
                let caller = &mut self.caller;
                let client = &*connection;
                let mut check = |args: &[&[u8]]| acl::exec_refusal(shared, caller, client, args);
                let applied = worker.db.apply_transaction_with(
                    &transaction.queued,
                    &watched,
                    &mut self.session,
                    &mut reply,
                    &mut runtime,
                    &mut check,
                    &mut guard,
                );
                let durability = match applied {
                    Ok(durability) => durability,
                    Err(error) => {
                        reply.clear();
                        ReplyWriter::new(&mut reply, self.session.protocol)
                            .error(error.reply_text().as_bytes());
                        Durability::Done
                    }
                };
                reply.append(&mut own);
                connection.queue_gated(&reply, durability, worker);
                // The block's writes serve the clients parked on their keys.
                for args in &transaction.queued {
                    let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
                    worker.wake_waiters(self.session.db, args.as_slice());
                }
            }
            return Some(Control::Continue);
        }
        if is("watch") {
            if self.transaction.is_some() {
                connection.reply_now(self.session.protocol, |reply| {
                    reply.error(b"ERR WATCH inside MULTI is not allowed")
                });
            } else if count < 2 {
                connection.reply_now(self.session.protocol, |reply| {
                    reply.error(b"ERR wrong number of arguments for 'watch' command")
                });
            } else if let Some(text) = worker.admin.cluster().and_then(|cluster| {
                cluster.refusal(request, self.asking, &mut |key| worker.db.exists(key))
            }) {
                connection.reply_now(self.session.protocol, |reply| reply.error(text.as_bytes()));
            } else {
                for key in request.args().skip(1) {
                    let mark = worker.db.watch(self.session.db, key);
                    self.watched.push(mark);
                }
                connection.reply_now(self.session.protocol, |reply| reply.simple(b"OK"));
            }
            return Some(Control::Continue);
        }
        if is("unwatch") {
            self.watched.clear();
            connection.reply_now(self.session.protocol, |reply| reply.simple(b"OK"));
            return Some(Control::Continue);
        }
        if self.transaction.is_some() {
            return None;
        }
        if is("client") && count >= 2 {
            return self.client_command(connection, request, worker);
        }
        None
    }

    /// CLIENT LIST | INFO | KILL | NO-EVICT | NO-TOUCH here; the rest in the table.
    fn client_command(
        &mut self,
        connection: &mut Connection,
        request: &Request<'_>,
        worker: &mut Worker,
    ) -> Option<Control> {
        let sub = request.arg(1).unwrap_or_default().to_ascii_lowercase();
        let count = request.arg_count();
        match sub.as_slice() {
            b"list" => {
                let text = worker.shared.clients.list(None);
                connection.reply_now(self.session.protocol, |reply| {
                    reply.verbatim(*b"txt", text.as_bytes())
                });
            }
            b"info" if count == 2 => {
                let text = worker.shared.clients.list(Some(connection.info.id));
                connection.reply_now(self.session.protocol, |reply| {
                    reply.verbatim(*b"txt", text.as_bytes())
                });
            }
            b"kill" if count >= 3 => {
                let args: Vec<&[u8]> = request.args().collect();
                let caller = connection.info.id;
                connection.reply_now(self.session.protocol, |reply| {
                    client_kill(worker, caller, &args, reply);
                });
                if connection.info.killed.load(Ordering::Acquire) {
                    return Some(Control::CloseAfterFlush);
                }
            }
            b"no-evict" | b"no-touch" if count == 3 => {
                let on = request.arg(2).unwrap_or_default();
                let valid = on.eq_ignore_ascii_case(b"on") || on.eq_ignore_ascii_case(b"off");
                connection.reply_now(self.session.protocol, |reply| {
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
        args: &[&[u8]],
        peer: std::net::SocketAddr,
        worker: &mut Worker,
        reply: &mut Vec<u8>,
    ) -> Control {
        let mut writer = ReplyWriter::new(reply, self.session.protocol);
        if command == RuntimeCommand::Acl {
            let closes = worker.admin.acl.run(self.caller.name(), args, &mut writer);
            if acl::disconnect(worker, &closes, self.session.id) {
                return Control::CloseAfterFlush;
            }
            return Control::Continue;
        }
        if command == RuntimeCommand::Replication {
            let _never_parked = replication(worker, args, peer, false, &mut writer);
            return Control::Continue;
        }
        match worker.admin.run(command, args, &mut writer) {
            Finish::Done => Control::Continue,
            Finish::Shutdown => {
                worker.shutdown_all();
                Control::CloseAfterFlush
            }
        }
    }

    /// EXEC of a block of [`ADMIN_BLOCK_COMMANDS`] only, such as Sentinel's failover
    /// (`MULTI; SLAVEOF NO ONE; CONFIG REWRITE; CLIENT KILL TYPE normal; EXEC`): none
    /// touches the store, so each runs as it would alone, in order, without the shard
    /// locks a block with store commands holds (under which the runtime's commands cannot
    /// run). Returns EXEC's reply, an array of theirs.
    fn exec_admin_block(
        &mut self,
        connection: &Connection,
        queued: &[Vec<Vec<u8>>],
        worker: &mut Worker,
    ) -> Vec<u8> {
        let protocol = self.session.protocol;
        let mut reply = Vec::new();
        ReplyWriter::new(&mut reply, protocol).array_header(queued.len());
        let mut own = Vec::new();
        for args in queued {
            let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            if let Some(text) = acl::exec_refusal(worker, &mut self.caller, connection, &args) {
                ReplyWriter::new(&mut reply, protocol).error(text.as_bytes());
                continue;
            }
            let name = args.first().copied().unwrap_or_default();
            let sub = args.get(1).copied().unwrap_or_default();
            if name.eq_ignore_ascii_case(b"client") && sub.eq_ignore_ascii_case(b"kill") {
                let mut writer = ReplyWriter::new(&mut reply, protocol);
                client_kill(worker, connection.info.id, &args, &mut writer);
                continue;
            }
            let prepared = worker.db.prepare(args.as_slice());
            match worker.db.apply(&prepared, &mut self.session, &mut reply) {
                Ok(applied) => match applied.outcome {
                    Outcome::Runtime(RuntimeCommand::PubSub) => {
                        let id = connection.info.id;
                        if !pubsub::run_queued(worker, id, &args, protocol, (&mut reply, &mut own))
                        {
                            ReplyWriter::new(&mut reply, protocol)
                                .error(b"ERR this command cannot run inside MULTI in floe");
                        }
                    }
                    Outcome::Runtime(command) => {
                        // Only replies: ADMIN_BLOCK_COMMANDS holds no SHUTDOWN.
                        let _control =
                            self.runtime(command, &args, connection.peer(), worker, &mut reply);
                    }
                    Outcome::Done | Outcome::Close => {}
                },
                Err(error) => {
                    ReplyWriter::new(&mut reply, protocol).error(error.reply_text().as_bytes());
                }
            }
        }
        reply.append(&mut own);
        reply
    }

    /// RESET also ends a transaction, forgets watches and logs back in as `default` (or
    /// out, when `default` needs a password).
    fn reset(&mut self, worker: &Worker) {
        self.transaction = None;
        self.watched.clear();
        self.caller = Caller::new(&worker.admin.acl);
    }

    /// Answers a command the client's user may not run (or a key it may not touch), logs
    /// it in ACL LOG, and fails the transaction it was to be queued in.
    pub(super) fn deny(&mut self, connection: &mut Connection, worker: &Worker, denial: &Denial) {
        let context = match &mut self.transaction {
            Some(transaction) => {
                transaction.failed = true;
                Context::Multi
            }
            None => Context::TopLevel,
        };
        let text = denial.reply_text(self.caller.name());
        let client = acl::client_text(connection, worker);
        worker
            .admin
            .acl
            .log_denial(denial, self.caller.name(), context, &client);
        connection.reply_now(self.session.protocol, |reply| reply.error(text.as_bytes()));
    }
}

/// The commands a MULTI block may hold to run outside the shard locks
/// ([`Resp::exec_admin_block`]): what Sentinel wraps in MULTI, and their harmless kin.
const ADMIN_BLOCK_COMMANDS: [&str; 10] = [
    "client",
    "config",
    "echo",
    "info",
    "ping",
    "publish",
    "replicaof",
    "role",
    "script",
    "slaveof",
];

/// Whether every queued command is one of [`ADMIN_BLOCK_COMMANDS`] (so none touches the
/// store).
fn is_admin_block(queued: &[Vec<Vec<u8>>]) -> bool {
    queued.iter().all(|args| {
        args.first().is_some_and(|name| {
            ADMIN_BLOCK_COMMANDS
                .iter()
                .any(|known| name.eq_ignore_ascii_case(known.as_bytes()))
        })
    })
}

/// CLIENT KILL (`args` from the name on) for the client `caller`, replying as Redis does:
/// the old form (`CLIENT KILL addr`) `+OK` or an error, the new one the count.
fn client_kill<S: ReplySink + ?Sized>(
    worker: &Worker,
    caller: u64,
    args: &[&[u8]],
    reply: &mut ReplyWriter<'_, S>,
) {
    let filters = args.get(2..).unwrap_or_default();
    let user_exists = |name: &str| worker.admin.acl.user(name).is_some();
    let result = worker.shared.clients.kill(filters, caller, &user_exists);
    let old_form = filters.len() == 1;
    match result {
        Ok(0) if old_form => reply.error(b"ERR No such client"),
        Ok(_) if old_form => reply.simple(b"OK"),
        Ok(killed) => reply.integer(i64::try_from(killed).unwrap_or(i64::MAX)),
        Err(message) => reply.error(message.as_bytes()),
    }
}

/// A RESP error reply of `text`: what a write the log failed before it settled, or a
/// broken limit, is answered with.
pub(super) fn error_reply(target: &mut Vec<u8>, text: &str) {
    ReplyWriter::new(target, floe_core::codec::resp::Protocol::Resp2).error(text.as_bytes());
}

/// Runs a replication command (REPLICAOF, ROLE, FLOESYNC) from the client at `peer`; with
/// `park`, a replica's pull with nothing new may be left unanswered, to park (see
/// [`crate::replication::Replication::run_parking`]).
fn replication<S: floe_core::codec::resp::ReplySink + ?Sized>(
    worker: &Worker,
    args: &[&[u8]],
    peer: std::net::SocketAddr,
    park: bool,
    writer: &mut ReplyWriter<'_, S>,
) -> Option<crate::replication::PullPark> {
    // The client's address: a primary lists its replicas by it (ROLE, INFO).
    let settings = worker.admin.settings();
    worker.admin.replication.run_parking(
        worker.admin.db(),
        &settings,
        args,
        Some(peer),
        park,
        writer,
    )
}
