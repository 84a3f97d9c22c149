//! `floe serve`: the server and its doors. Redis clients and tools (redis-cli,
//! redis-benchmark, redis-py, the `redis` crate, ...) talk RESP to it unmodified; HTTP
//! clients (curl, browsers, Prometheus) use the HTTP door ([`http`]); PizzaKV's clients the
//! Pizzaria door ([`pizzaria`]). Every door is served by the same workers, over the same
//! Db command path: each worker has a listener per door, and a connection's [`Door`] says
//! which protocol its bytes are parsed with. Pub/sub ([`pubsub`]) crosses workers: a
//! PUBLISH fills the subscribers' mailboxes and wakes their workers, which move the
//! messages to the connections at the start and end of each loop pass.
//!
//! ```text
//!  worker 0 ─ event loop (io_uring or epoll) ─ accept, recv, send, log wake-ups ─┐
//!  worker 1 ─ event loop ─ ...                                                  ├─► Db
//!  ...      (half the cores; the worker that reads a request runs it)          ┘   (one
//!                                                                                    store,
//!  one loop pass:  read everything ready ─► run every request in it               one log)
//!                  ─► Db::commit once (one log append for the pass's writes)
//!                  ─► Db::poll the ticket (the log writer's wake-up ends the wait)
//!                  ─► send every reply whose write is durable, in one send per client
//! ```
//!
//! No thread ever blocks on the log: a worker keeps serving reads and other clients while
//! its writes wait for their fdatasync, and the log writer's group commit makes one
//! fdatasync serve every worker's pass.
//!
//! Invariants: a reply is sent only after the write it acknowledges is as durable as the
//! fsync policy promises ([`connection`]); one client breaking a limit is closed without
//! disturbing the others; SIGTERM, SIGINT and SHUTDOWN stop accepting, let every held
//! reply settle, close the Db (writing and syncing the log) and exit 0.
//!
//! Fault assumptions: a client may send anything, stop reading, or vanish; the kernel may
//! refuse io_uring (old kernels, seccomp), and then the same workers run on epoll.

mod acl;
mod blocked;
mod clients;
mod connection;
mod epoll;
mod http;
mod pizzaria;
mod pubsub;
mod resp;
mod tls;
mod uring;
mod waiters;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Poll, Waker};

use crate::admin::{Admin, DoorStats};
use crate::cluster::Cluster;
use crate::config::{ServerIo, Settings};
use crate::db::Db;
use crate::log::Ticket;
use crate::replication::resume;
use clients::Clients;
use connection::{Connection, Door, DoorKind, Refusal};
use slab::Slab;

/// A connection, its protocol, and its event loop's socket state.
#[derive(Debug)]
struct Entry<S> {
    connection: Connection,
    door: Door,
    socket: S,
}

/// One listening socket of a worker, and the protocol its clients speak.
#[derive(Debug)]
struct Listener {
    door: DoorKind,
    /// Its clients speak the door's protocol inside TLS (`tls-port`, `tls-http-port`).
    tls: bool,
    socket: TcpListener,
}

/// What the shared housekeeping needs to know of an event loop's socket state.
trait SocketState {
    /// Reply bytes handed to the kernel and not yet sent.
    fn in_flight(&self) -> usize;
}

/// What every worker shares.
#[derive(Debug)]
struct Shared {
    admin: Arc<Admin>,
    clients: Clients,
    /// Each worker's own listening sockets (one per door and bind address, all with
    /// SO_REUSEPORT on the door's port, so the kernel spreads connections over the
    /// workers).
    listeners: Vec<Vec<Listener>>,
    /// `/metrics`: the Prometheus registry, whose collector reads INFO's sources.
    metrics: http::Metrics,
    /// Every client's pub/sub subscriptions, and the messages waiting for each.
    pubsub: pubsub::PubSub,
    /// The clients blocked in a list pop, by key ([`waiters`]).
    waiters: waiters::Waiters,
    /// The TLS listeners' configuration (certificate, key, client CA); `None`: no TLS door.
    tls: Option<Arc<rustls::ServerConfig>>,
}

/// The part of a worker that does not depend on its event loop: the Db, the counters, and
/// the durability of the current pass's writes.
#[derive(Debug)]
pub(crate) struct Worker {
    index: usize,
    admin: Arc<Admin>,
    db: Arc<Db>,
    stats: Arc<DoorStats>,
    shared: Arc<Shared>,
    waker: Waker,
    /// Scratch for one reply.
    reply: Vec<u8>,
    /// A request of this pass left records in the Db's buffer.
    pass_buffered: bool,
    /// Connections with a write waiting for this pass's commit.
    touched: Vec<usize>,
    /// Connections holding replies.
    waiting: Vec<usize>,
    /// The newest ticket not yet settled.
    ticket: Option<Ticket>,
    /// The last LSN the log settled for this worker.
    settled: u64,
    /// The log failed: the error every unsettled write gets.
    failure: Option<String>,
    /// Clients blocked in WAIT ([`blocked`]).
    replica_waits: Vec<blocked::ReplicaWait>,
    /// This worker's clients blocked in a list pop ([`waiters`]).
    pop_waits: Vec<waiters::PopWait>,
    /// Replicas' pulls parked until the log has news ([`blocked`]).
    pull_waits: Vec<blocked::PullWait>,
}

impl Worker {
    fn new(index: usize, shared: &Arc<Shared>, waker: Waker) -> Self {
        let admin = Arc::clone(&shared.admin);
        Self {
            index,
            db: Arc::clone(admin.db()),
            stats: admin.door(),
            admin,
            shared: Arc::clone(shared),
            waker,
            reply: Vec::new(),
            pass_buffered: false,
            touched: Vec::new(),
            waiting: Vec::new(),
            ticket: None,
            settled: 0,
            failure: None,
            replica_waits: Vec::new(),
            pop_waits: Vec::new(),
            pull_waits: Vec::new(),
        }
    }

    /// The slow-log threshold in microseconds (`u64::MAX`: off).
    fn slow_threshold_us(&self) -> u64 {
        let threshold = self
            .admin
            .limits
            .slowlog_slower_than_us
            .load(Ordering::Relaxed);
        u64::try_from(threshold).unwrap_or(u64::MAX)
    }

    /// Keeps the newest of the tickets this worker waits for (a later ticket covers every
    /// earlier one).
    fn note_ticket(&mut self, ticket: Ticket) {
        if self
            .ticket
            .is_none_or(|newest| newest.lsn_last() < ticket.lsn_last())
        {
            self.ticket = Some(ticket);
        }
    }

    /// SHUTDOWN: every worker stops.
    fn shutdown_all(&self) {
        self.admin.shutdown.store(true, Ordering::Release);
        self.shared.clients.wake_all();
    }

    /// Whether a shutdown was asked for.
    fn stopping(&self) -> bool {
        self.admin.shutdown.load(Ordering::Acquire)
    }

    /// Whether to refuse a new client from `peer`.
    fn refusal(&self, peer: &SocketAddr) -> Option<Refusal> {
        let limits = &self.admin.limits;
        if self.admin.clients.load(Ordering::Relaxed) >= limits.clients_max.load(Ordering::Relaxed)
        {
            return Some(Refusal::MaxClients);
        }
        if limits.protected.load(Ordering::Relaxed) && !peer.ip().is_loopback() {
            return Some(Refusal::Protected);
        }
        None
    }

    /// Registers an accepted client of `door` (inside TLS with `tls`); `None` when its TLS
    /// session cannot start (the socket is then dropped).
    fn connected(
        &self,
        peer: SocketAddr,
        local: SocketAddr,
        token: usize,
        (door, tls): (DoorKind, bool),
    ) -> Option<(Connection, Door)> {
        let session = match (tls, &self.shared.tls) {
            (false, _) => None,
            (true, Some(config)) => match tls::Tls::new(config) {
                Ok(session) => Some(Box::new(session)),
                Err(error) => {
                    tracing::debug!("TLS client {peer}: no session ({error}); closing");
                    return None;
                }
            },
            (true, None) => unreachable!("a TLS listener without a TLS configuration"),
        };
        self.admin.clients.fetch_add(1, Ordering::Relaxed);
        self.stats.connection_count.fetch_add(1, Ordering::Relaxed);
        let info = self.shared.clients.add(peer, local, self.index);
        let protocol = Door::new(door, info.id, &self.admin.acl);
        Some((Connection::new(info, door, token, session), protocol))
    }

    /// The protocol of this worker's listener at `position`, and whether it is inside TLS.
    fn door_of(&self, position: usize) -> (DoorKind, bool) {
        self.shared.listeners[self.index]
            .get(position)
            .map_or((DoorKind::Resp, false), |listener| {
                (listener.door, listener.tls)
            })
    }

    /// Forgets a closed client, and its subscriptions.
    fn disconnected(&self, connection: &Connection) {
        self.admin.clients.fetch_sub(1, Ordering::Relaxed);
        // Its undelivered messages go with it.
        let _undelivered = self.shared.pubsub.forget(&connection.info);
        // A parked client leaves the waiters, so no later push pops an element for it.
        let _was_parked = self.shared.waiters.forget(connection.info.id);
        self.shared.clients.remove(connection.info.id);
    }

    /// Moves the pub/sub messages published for this worker's clients to their
    /// connections, behind what each has queued, and adds them to `flush`. A subscriber
    /// whose queued output passes `client-output-buffer-limit-pubsub` is closed.
    fn deliver<S: SocketState>(&self, entries: &mut Slab<Entry<S>>, flush: &mut Vec<usize>) {
        let limit = self
            .admin
            .limits
            .pubsub_output_buffer_size_max
            .load(Ordering::Relaxed);
        let pubsub = &self.shared.pubsub;
        pubsub.take_ready(self.index, |mailbox, token, info, bytes| {
            // A token is reused once its connection closed: the id says whose it is.
            let Some(entry) = entries
                .get_mut(token)
                .filter(|entry| entry.connection.info.id == info.id)
            else {
                return;
            };
            entry.connection.queue_reply(bytes);
            let queued = entry.connection.output_size() + entry.socket.in_flight();
            if queued as u64 > limit {
                pubsub.overflow(&self.shared.clients, mailbox, limit);
            }
            flush.push(token);
        });
    }

    /// The end of a loop pass: one commit for the pass's buffered writes, a poll of the
    /// newest ticket, and the release of every reply the log settled. Adds the connections
    /// with replies to send to `flush`.
    fn end_pass<S>(&mut self, entries: &mut Slab<Entry<S>>, flush: &mut Vec<usize>) {
        if let Some(outcome) = self.commit_pass() {
            for token in self.touched.drain(..) {
                if let Some(entry) = entries.get_mut(token) {
                    entry
                        .connection
                        .committed(outcome.as_ref().map(|lsn| *lsn).map_err(String::as_str));
                }
            }
        }
        self.touched.clear();
        let moved = self.poll_ticket();
        if !moved && self.failure.is_none() {
            return;
        }
        let failure = self.failure.as_deref();
        let settled = self.settled;
        self.waiting.retain(|&token| {
            let Some(entry) = entries.get_mut(token) else {
                return false;
            };
            entry.connection.release(settled, failure);
            flush.push(token);
            entry.connection.is_waiting()
        });
    }

    /// The clients to close now: those CLIENT KILL marked (when a kill is pending for this
    /// worker) and, once a second (`tick`), those idle past `timeout` and slow readers:
    /// replies queued at the output limit and nothing sent since the last tick (a client
    /// that reads is never closed for the size of what it asked for; parsing pauses at the
    /// limit instead).
    fn to_close<S: SocketState>(&self, entries: &mut Slab<Entry<S>>, tick: bool) -> Vec<usize> {
        let killed = self.shared.clients.kill_pending[self.index].swap(false, Ordering::AcqRel);
        if !killed && !tick {
            return Vec::new();
        }
        let limits = &self.admin.limits;
        let timeout = limits.timeout_seconds.load(Ordering::Relaxed);
        let output_limit = limits.output_buffer_size_max.load(Ordering::Relaxed);
        entries
            .iter_mut()
            .filter_map(|(token, entry)| {
                let connection = &mut entry.connection;
                let marked = killed && connection.info.killed.load(Ordering::Acquire);
                // A blocked client (WAIT, a list pop) waits on purpose, as in Redis.
                let idle = tick
                    && timeout > 0
                    && !connection.blocked
                    && !connection.is_waiting()
                    && connection.last_active.elapsed().as_secs() >= timeout;
                let queued = connection.output_size() + entry.socket.in_flight();
                let stalled = tick
                    && !std::mem::take(&mut connection.progress)
                    && queued as u64 >= output_limit;
                (marked || idle || stalled).then_some(token)
            })
            .collect()
    }

    /// Once a second, on the first worker: expires keys on an idle server when `expired`
    /// events are on (see [`Db::expire_for_events`]).
    fn expire_for_events(&self) {
        if self.index == 0 {
            self.db.expire_for_events();
        }
    }

    /// Commits the pass's buffered writes; returns the connections to update and how.
    fn commit_pass(&mut self) -> Option<Result<u64, String>> {
        if !std::mem::take(&mut self.pass_buffered) {
            return None;
        }
        Some(match self.db.commit() {
            Ok(Some(ticket)) => {
                self.note_ticket(ticket);
                Ok(ticket.lsn_last())
            }
            Ok(None) => Ok(0),
            Err(error) => {
                let text = error.reply_text();
                self.failure = Some(text.clone());
                Err(text)
            }
        })
    }

    /// Polls the newest ticket; whether the settled point moved (or the log failed).
    fn poll_ticket(&mut self) -> bool {
        let Some(ticket) = self.ticket else {
            return false;
        };
        match self.db.poll(ticket, &self.waker) {
            Poll::Ready(Ok(())) => {
                self.settled = self.settled.max(ticket.lsn_last());
                self.ticket = None;
                true
            }
            Poll::Ready(Err(error)) => {
                self.failure = Some(error.reply_text());
                self.ticket = None;
                true
            }
            Poll::Pending => false,
        }
    }
}

/// Pending connections the kernel keeps per listening socket (Redis's `tcp-backlog`).
const LISTEN_BACKLOG: i32 = 511;

/// The doors `settings` open, whether inside TLS, and their ports (a door on port 0 is
/// off; plaintext RESP always listens).
fn doors(settings: &Settings) -> Vec<(DoorKind, bool, u16)> {
    [
        (DoorKind::Resp, false, settings.port),
        (DoorKind::Http, false, settings.http_port),
        (DoorKind::Pizzaria, false, settings.pizzaria_port),
        (DoorKind::Resp, true, settings.tls_port),
        (DoorKind::Http, true, settings.tls_http_port),
    ]
    .into_iter()
    .filter(|&(door, tls, port)| (door == DoorKind::Resp && !tls) || port != 0)
    .collect()
}

/// The setting that chooses the port of `door` (inside TLS with `tls`).
fn port_setting(door: DoorKind, tls: bool) -> &'static str {
    match (door, tls) {
        (DoorKind::Resp, true) => "--tls-port",
        (_, true) => "--tls-http-port",
        (door, false) => door.port_setting(),
    }
}

/// Each worker's listeners for `settings.bind`, one per door and address: each bound with
/// SO_REUSEPORT on the door's port, so the kernel hands each connection to one worker by
/// the connection's hash, and no worker wakes for another's client. (One shared socket
/// with an accept armed in every ring gave every connection to the first ring.)
fn bind(settings: &Settings, worker_count: usize) -> Result<Vec<Vec<Listener>>, String> {
    let mut listeners: Vec<Vec<Listener>> = (0..worker_count).map(|_| Vec::new()).collect();
    for (door, tls, port) in doors(settings) {
        for address in &settings.bind {
            let taken = |port: u16, error: std::io::Error| {
                format!(
                    "cannot listen for {}{} on {address}:{port}: {error} (is another server \
                     on that port? choose another with {}{})",
                    door.name(),
                    if tls { " over TLS" } else { "" },
                    port_setting(door, tls),
                    if door == DoorKind::Resp && !tls {
                        ""
                    } else {
                        ", or turn it off with 0"
                    },
                )
            };
            // A plain bind first: SO_REUSEPORT would let a second floe on this port share it
            // silently; a socket without it fails when anyone holds the port.
            let probe = TcpListener::bind(SocketAddr::new(*address, port))
                .map_err(|error| taken(port, error))?;
            let mut port = probe.local_addr().map_or(port, |bound| bound.port());
            drop(probe);
            for worker in &mut listeners {
                let socket =
                    listen(SocketAddr::new(*address, port)).map_err(|error| taken(port, error))?;
                // Port 0 picks a free port once; every worker then binds that one.
                port = socket.local_addr().map_or(port, |bound| bound.port());
                worker.push(Listener { door, tls, socket });
            }
        }
    }
    Ok(listeners)
}

/// One non-blocking listening socket with SO_REUSEADDR and SO_REUSEPORT.
fn listen(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(address),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    if address.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.bind(&address.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Where the doors listen, for the start-up line: `127.0.0.1:6379, HTTP on
/// 127.0.0.1:4206`.
fn listening_text(listeners: &[Vec<Listener>]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for listener in listeners.first().into_iter().flatten() {
        let Ok(address) = listener.socket.local_addr() else {
            continue;
        };
        parts.push(match (listener.door, listener.tls) {
            (DoorKind::Resp, false) => address.to_string(),
            (door, false) => format!("{} on {address}", door.name()),
            (door, true) => format!("{} over TLS on {address}", door.name()),
        });
    }
    parts.join(", ")
}

/// Runs the server until SIGTERM, SIGINT or SHUTDOWN; returns the process's exit code: 0
/// after a clean shutdown, 1 when the data directory could not be opened or closing failed,
/// 2 for settings that cannot work.
#[must_use]
pub fn serve(settings: Settings, config_file: Option<PathBuf>) -> ExitCode {
    let config = match settings.db_config() {
        Ok(config) => config,
        Err(message) => {
            tracing::error!("{message}");
            return ExitCode::from(2);
        }
    };
    let worker_count = match settings.workers {
        // Half the cores: the kernel's network work and clients on the same host need the
        // rest. Measured on 2 cores, 1 worker spends 0.6x the CPU per request of 2 (which
        // contend for the cores and the store lock); on 16, 4 to 8 workers serve the most.
        0 => {
            std::thread::available_parallelism().map_or(1, |cores| (usize::from(cores) / 2).max(1))
        }
        count => count,
    };
    let tls = match tls::server_config(&settings) {
        Ok(tls) => tls,
        Err(message) => {
            tracing::error!("{message}");
            return ExitCode::from(2);
        }
    };
    let listeners = match bind(&settings, worker_count) {
        Ok(listeners) => listeners,
        Err(message) => {
            tracing::error!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let db = match Db::open(&settings.dir, config) {
        Ok(db) => Arc::new(db),
        Err(error) => {
            tracing::error!(
                "cannot open the data directory `{}`: {error}",
                settings.dir.display()
            );
            return ExitCode::FAILURE;
        }
    };
    if let Some(report) = db.recovery() {
        tracing::info!(
            "recovered {} keys from `{}` in {:.3} s",
            db.stats().store.keys,
            settings.dir.display(),
            report.duration.as_secs_f64()
        );
    }
    let mut admin = Admin::new(Arc::clone(&db), settings.clone(), config_file, "resp");
    if settings.persistence {
        // A clean shutdown's replication ID and offsets (partial resync after a restart).
        match resume::take(&settings.dir, db.lsn_last()) {
            Ok(Some(saved)) => {
                tracing::info!(
                    "replication: keeping replication ID {} from the clean shutdown at LSN {}",
                    saved.replid,
                    saved.lsn
                );
                admin
                    .replication
                    .restore(saved, settings.replicaof.is_some());
                if let Err(error) = db.backlog_fill(settings.repl_backlog_size) {
                    tracing::warn!("replication: cannot refill the backlog from the log: {error}");
                }
            }
            Ok(None) => {}
            Err(message) => {
                tracing::error!("{message}");
                return ExitCode::FAILURE;
            }
        }
    }
    if settings.cluster_enabled {
        match Cluster::open(&settings.dir, settings.port, settings.persistence) {
            Ok(cluster) => {
                tracing::info!("cluster mode: node id {}", cluster.id());
                admin = admin.with_cluster(cluster);
            }
            Err(message) => {
                tracing::error!("{message}");
                return ExitCode::FAILURE;
            }
        }
    }
    let admin = Arc::new(admin);
    if admin.acl.has_file() {
        if !settings.requirepass.is_empty() {
            tracing::warn!(
                "--aclfile is set: --requirepass is ignored (set passwords in the file)"
            );
        }
        if let Err(message) = admin.acl.load_file() {
            tracing::error!("{message}");
            return ExitCode::from(2);
        }
    }
    let shared = Arc::new(Shared {
        metrics: http::Metrics::new(&admin),
        admin: Arc::clone(&admin),
        clients: Clients::new(worker_count),
        pubsub: pubsub::PubSub::new(worker_count, Arc::clone(&admin)),
        waiters: waiters::Waiters::new(worker_count, Arc::clone(&admin)),
        listeners,
        tls,
    });
    // Weak: the Db outlives nothing it does not own (Shared holds the Admin, which holds
    // the Db).
    let events_target = Arc::downgrade(&shared);
    db.set_keyspace_publisher(Arc::new(move |events, flags| {
        if let Some(shared) = events_target.upgrade() {
            let limit = shared
                .admin
                .limits
                .pubsub_output_buffer_size_max
                .load(Ordering::Relaxed);
            pubsub::publish_keyspace_events(
                &shared.pubsub,
                &shared.clients,
                limit,
                (events, flags),
            );
        }
    }));
    let io = match settings.server_io {
        ServerIo::Epoll => ServerIo::Epoll,
        ServerIo::Uring | ServerIo::Auto => match uring::probe() {
            Ok(()) => ServerIo::Uring,
            Err(reason) if settings.server_io == ServerIo::Uring => {
                tracing::error!("--io uring: io_uring is refused here ({reason}); use --io epoll");
                return ExitCode::FAILURE;
            }
            Err(reason) => {
                tracing::warn!("io_uring is refused here ({reason}); serving with epoll");
                ServerIo::Epoll
            }
        },
    };
    admin.set_io(if io == ServerIo::Uring {
        "io_uring"
    } else {
        "epoll"
    });
    if let Some((host, port)) = &settings.replicaof
        && let Err(message) = admin
            .replication
            .replicate_from(&db, &settings, host, *port)
    {
        tracing::error!("--replicaof {host} {port}: {message}");
        return ExitCode::from(2);
    }
    let stop = Arc::clone(&shared);
    let installed = ctrlc::set_handler(move || {
        stop.admin.shutdown.store(true, Ordering::Release);
        stop.clients.wake_all();
    });
    if let Err(error) = installed {
        tracing::error!("cannot handle SIGINT/SIGTERM ({error}); stop floe with SHUTDOWN");
    }
    let mut threads = Vec::new();
    for index in 0..worker_count {
        let worker_shared = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name(format!("floe-worker-{index}"))
            .spawn(move || match io {
                ServerIo::Uring => uring::run(index, &worker_shared),
                _ => epoll::run(index, &worker_shared),
            });
        match spawned {
            Ok(thread) => threads.push(thread),
            Err(error) => {
                tracing::error!("cannot start worker {index}: {error}");
                shared.admin.shutdown.store(true, Ordering::Release);
                shared.clients.wake_all();
            }
        }
    }
    tracing::info!(
        "floe {}: ready to accept connections on {} ({worker_count} worker{}, {}, fsync {}, \
         data {})",
        env!("CARGO_PKG_VERSION"),
        listening_text(&shared.listeners),
        if worker_count == 1 { "" } else { "s" },
        admin.io(),
        settings.fsync,
        if settings.persistence {
            settings.dir.display().to_string()
        } else {
            "off".to_owned()
        },
    );
    let mut code = ExitCode::SUCCESS;
    for thread in threads {
        match thread.join() {
            Ok(Ok(())) => {}
            Ok(Err(message)) => {
                tracing::error!("{message}");
                code = ExitCode::FAILURE;
            }
            Err(_) => {
                tracing::error!("a worker panicked");
                code = ExitCode::FAILURE;
            }
        }
    }
    admin.replication.stop();
    tracing::info!("shutting down: flushing the log");
    if let Err(error) = db.close() {
        tracing::error!("closing `{}` failed: {error}", settings.dir.display());
        code = ExitCode::FAILURE;
    } else if settings.persistence {
        // Closed cleanly: the log is whole, so the next start may keep this history.
        let saved = admin.replication.saved(db.lsn_last());
        if let Err(message) = resume::save(&settings.dir, &saved) {
            tracing::warn!("replication: {message}; the next start takes a new ID");
        }
    }
    tracing::info!("bye");
    code
}
