//! Replication by log shipping (`docs/replication.md`): a replica copies its primary's
//! store with a full sync (a snapshot cut by the primary's existing snapshot code, sent in
//! chunks), then follows the primary's log: it fetches the log's bytes above the LSN it
//! applied (whole, checksummed records and groups, as the primary's log file holds them),
//! checks them, and applies each group whole through its own Db's write path.
//!
//! - [`Replication`]: the role (primary, or replica of `host:port`), the replicas a primary
//!   has seen, and the commands: `REPLICAOF`/`SLAVEOF`, `ROLE`, `FLOESYNC` (what replicas
//!   send), `WAIT`, and INFO's replication section.
//! - `backlog.rs`: the primary's copy of its newest appends.
//! - `link.rs`: the replica's thread: connect, authenticate, sync, follow, reconnect.
//! - `resume.rs`: the history a clean shutdown keeps for the next start.
//! - `wire.rs`: the replica's RESP client.
//!
//! A replica serves its own replicas (chaining) from its own log and history, exactly as a
//! primary does; a primary with persistence off serves them from a snapshot in memory and
//! a backlog with no log behind it.
//!
//! Invariants: a replica refuses clients' writes (READONLY) from `REPLICAOF host port` until
//! `REPLICAOF NO ONE`; at most one link thread is current (each carries the generation it
//! was started for and stops once the generation moves on); offsets are LSNs of the
//! serving server's log; a group applied by the link is counted in its status under the
//! same lock ([`Replication::stop`] takes it).

mod backlog;
mod link;
pub mod resume;
pub mod wire;

use std::collections::BTreeMap;
use std::fs::File;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::{Duration, Instant};

use floe_core::codec::resp::{ReplySink, ReplyWriter};

use crate::config::Settings;
use crate::db::Db;

pub use backlog::{Backlog, Read};
pub use link::decode_entries;

/// Bytes of a snapshot sent per `FLOESYNC CHUNK` reply.
pub const SNAPSHOT_CHUNK_SIZE: usize = 1 << 20;
/// Bytes of log sent per `FLOESYNC PULL` reply (at least one append, whatever its size).
pub const PULL_SIZE_MAX: usize = 4 << 20;
/// The longest a `FLOESYNC PULL` may ask the primary to hold it while nothing is new.
pub const PULL_WAIT_MAX_MS: u64 = 60_000;
/// Snapshots a primary keeps for replicas still fetching them.
const SYNC_SNAPSHOT_COUNT_MAX: usize = 4;

/// A `FLOESYNC PULL` that found nothing new and asked to wait: the server parks its client
/// until the backlog holds something at or past `lsn`, or `wait` has passed, then runs it
/// again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PullPark {
    /// The LSN the replica asked for.
    pub lsn: u64,
    /// How long it may be held.
    pub wait: Duration,
}

/// A server's replication state; see the module documentation.
#[derive(Debug)]
pub struct Replication {
    /// This server's replication ID: random at start (a new history, as in Redis after a
    /// restart) unless a clean shutdown saved it (`resume.rs`), and what a replica checks
    /// to resume rather than sync again.
    replid: String,
    /// New at every start, as Redis's `run_id` (Sentinel tells a restart by it).
    run_id: String,
    /// A replica's link state a clean shutdown saved: the first link resumes from it.
    resume: Mutex<Option<LinkStatus>>,
    /// Held by the link while it applies a group and counts it (see `resume.rs`).
    applying: Arc<Mutex<()>>,
    state: Mutex<State>,
    /// Bumped by every REPLICAOF: a link thread of an older generation stops.
    generation: Arc<AtomicU64>,
    /// The link's status, written by the link thread.
    link: Arc<Mutex<LinkStatus>>,
    /// Workers with a client blocked in WAIT: woken when a replica acknowledges.
    ack_wakers: Mutex<Vec<Waker>>,
}

#[derive(Debug, Default)]
struct State {
    /// `Some` on a replica: the primary's host and port.
    primary: Option<(String, u16)>,
    /// Replicas seen by this primary, by `ip:port`.
    replicas: BTreeMap<String, ReplicaSeen>,
    /// Snapshots being fetched, oldest first.
    syncs: Vec<SyncSnapshot>,
}

/// A snapshot cut for a replica's full sync, kept while replicas fetch it.
#[derive(Debug)]
struct SyncSnapshot {
    lsn: u64,
    size: u64,
    image: Arc<Image>,
    /// The replica (`ip:port`) it was cut for: its first pull above `lsn` says it loaded
    /// the snapshot, which is then dropped.
    replica: String,
}

/// A snapshot's bytes: the file `SAVE` wrote, or (persistence off) memory.
#[derive(Debug)]
enum Image {
    File(File),
    Memory(Vec<u8>),
}

impl Image {
    /// Up to `length` bytes from `offset` (fewer at the end).
    fn read_at(&self, offset: u64, length: usize) -> std::io::Result<Vec<u8>> {
        match self {
            Self::File(file) => {
                let mut bytes = vec![0; length];
                file.read_exact_at(&mut bytes, offset)?;
                Ok(bytes)
            }
            Self::Memory(image) => {
                let start = usize::try_from(offset)
                    .unwrap_or(usize::MAX)
                    .min(image.len());
                Ok(image[start..image.len().min(start + length)].to_vec())
            }
        }
    }
}

/// What a primary knows of one replica.
#[derive(Debug, Clone)]
struct ReplicaSeen {
    ip: IpAddr,
    port: u16,
    /// The last LSN it applied (0 while it is loading a snapshot).
    offset: u64,
    /// `wait_bgsave`, `send_bulk` or `online`, as Redis says.
    state: &'static str,
    seen: Instant,
}

/// The replica's link to its primary, as INFO and ROLE show it.
#[derive(Debug, Clone)]
pub(crate) struct LinkStatus {
    /// `connect`, `connecting`, `sync` or `connected`, as ROLE says.
    pub(crate) state: &'static str,
    /// Why the link is down, if it is.
    pub(crate) reason: String,
    /// The primary's replication ID and the last of its LSNs applied here (`None` until a
    /// full sync finished).
    pub(crate) primary_replid: String,
    /// The replication IDs above the primary, nearest first, as it said at the last full
    /// sync (empty: the primary is no replica).
    pub(crate) ancestry: Vec<String>,
    pub(crate) offset: Option<u64>,
    pub(crate) last_io: Instant,
}

impl Default for LinkStatus {
    fn default() -> Self {
        Self {
            state: "connect",
            reason: "not connected yet".to_owned(),
            primary_replid: String::new(),
            ancestry: Vec::new(),
            offset: None,
            last_io: Instant::now(),
        }
    }
}

impl Default for Replication {
    fn default() -> Self {
        Self::new()
    }
}

impl Replication {
    /// A primary with no replicas.
    #[must_use]
    pub fn new() -> Self {
        let mut bytes = [0u8; 20];
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        let mut word = u64::try_from(seed % u128::from(u64::MAX)).unwrap_or(1)
            ^ u64::from(std::process::id()).rotate_left(32);
        for byte in &mut bytes {
            // xorshift64*: enough to tell two processes' histories apart.
            word ^= word << 13;
            word ^= word >> 7;
            word ^= word << 17;
            *byte = (word.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8;
        }
        let replid: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
        Self {
            run_id: replid.clone(),
            replid,
            resume: Mutex::new(None),
            applying: Arc::new(Mutex::new(())),
            state: Mutex::new(State::default()),
            generation: Arc::new(AtomicU64::new(0)),
            link: Arc::new(Mutex::new(LinkStatus::default())),
            ack_wakers: Mutex::new(Vec::new()),
        }
    }

    /// This server's replication ID.
    #[must_use]
    pub fn replid(&self) -> &str {
        &self.replid
    }

    /// A new ID at every start (INFO's `run_id`).
    #[must_use]
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Takes up what a clean shutdown saved (`resume.rs`): its replication ID, and with
    /// `replica` (it starts as a replica again) its primary's ID and LSN, so the first link
    /// resumes with a pull instead of a full sync.
    pub fn restore(&mut self, saved: resume::Saved, replica: bool) {
        self.replid = saved.replid;
        if replica && let Some(primary) = saved.primary {
            *lock(&self.resume) = Some(LinkStatus {
                primary_replid: primary.replid,
                ancestry: primary.ancestry,
                offset: Some(primary.lsn),
                ..LinkStatus::default()
            });
        }
    }

    /// What a clean shutdown saves (`resume.rs`), with `lsn` the closed Db's last LSN:
    /// after [`Replication::stop`], so the primary's LSN is that of the last group applied.
    #[must_use]
    pub fn saved(&self, lsn: u64) -> resume::Saved {
        let state = lock(&self.state);
        let link = lock(&self.link);
        let primary = match (&state.primary, link.offset) {
            (Some(_), Some(offset)) if !link.primary_replid.is_empty() => {
                Some(resume::SavedPrimary {
                    replid: link.primary_replid.clone(),
                    lsn: offset,
                    ancestry: link.ancestry.clone(),
                })
            }
            _ => None,
        };
        resume::Saved {
            replid: self.replid.clone(),
            lsn,
            primary,
        }
    }

    /// The primary this server replicates from (`None`: it is a primary).
    #[must_use]
    pub fn primary(&self) -> Option<(String, u16)> {
        lock(&self.state).primary.clone()
    }

    /// Whether this server is a replica.
    #[must_use]
    pub fn is_replica(&self) -> bool {
        lock(&self.state).primary.is_some()
    }

    /// Stops the link thread, if any (shutdown): it exits at its next step. Returns once a
    /// group being applied is applied and counted; none is applied after.
    pub fn stop(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        drop(lock(&self.applying));
    }

    /// Makes this server a replica of `host:port` (`REPLICAOF host port`, `--replicaof`):
    /// clients' writes are refused from now on, and a link thread starts.
    ///
    /// # Errors
    /// A reply text: the primary would be this server itself, or the thread cannot start.
    pub fn replicate_from(
        &self,
        db: &Arc<Db>,
        settings: &Settings,
        host: &str,
        port: u16,
    ) -> Result<&'static str, String> {
        if is_self(host, port, settings) {
            return Err(format!(
                "ERR cannot replicate from {host}:{port}: that is this server itself"
            ));
        }
        let mut state = lock(&self.state);
        if state
            .primary
            .as_ref()
            .is_some_and(|(h, p)| h == host && *p == port)
        {
            return Ok("OK Already connected to specified master");
        }
        // Its own replicas stay: they follow its log, which its full sync from the new
        // primary (a clear and a load, logged like any write) brings them too.
        state.primary = Some((host.to_owned(), port));
        db.set_read_only(true);
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        *lock(&self.link) = lock(&self.resume).take().unwrap_or_default();
        let link = link::Link {
            config: link::LinkConfig::new(host, port, settings),
            db: Arc::clone(db),
            status: Arc::clone(&self.link),
            own_replid: self.replid.clone(),
            applying: Arc::clone(&self.applying),
            generation,
            current: Arc::clone(&self.generation),
        };
        drop(state);
        let spawned = std::thread::Builder::new()
            .name("floe-replica-link".to_owned())
            .spawn(move || link.run());
        match spawned {
            Ok(_) => {
                tracing::info!("replicating from {host}:{port}");
                Ok("OK")
            }
            Err(error) => Err(format!("ERR cannot start the replication link: {error}")),
        }
    }

    /// Makes this server a primary (`REPLICAOF NO ONE`): the link stops, writes are
    /// accepted, and the data it has stays.
    pub fn promote(&self, db: &Db) {
        let mut state = lock(&self.state);
        if state.primary.take().is_some() {
            tracing::info!("promoted to primary: the link to the old primary is closed");
        }
        lock(&self.resume).take();
        self.generation.fetch_add(1, Ordering::AcqRel);
        db.set_read_only(false);
    }
}

impl Replication {
    /// Runs `REPLICAOF`/`SLAVEOF`, `ROLE` or `FLOESYNC` (`args` from the name on) from a
    /// client at `peer` (`None`: the stdin CLI), writing one reply frame.
    pub fn run<S: ReplySink + ?Sized>(
        &self,
        db: &Arc<Db>,
        settings: &Settings,
        args: &[&[u8]],
        peer: Option<SocketAddr>,
        reply: &mut ReplyWriter<'_, S>,
    ) {
        let _answered = self.run_parking(db, settings, args, peer, false, reply);
    }

    /// As [`Replication::run`], except that with `park` (a client the server can park) a
    /// `FLOESYNC PULL` with a wait that finds nothing new writes no reply: it acknowledges
    /// as any pull does and returns [`PullPark`]; the server answers it later by running it
    /// again (with `park` false) once the backlog has news or the wait is over.
    pub fn run_parking<S: ReplySink + ?Sized>(
        &self,
        db: &Arc<Db>,
        settings: &Settings,
        args: &[&[u8]],
        peer: Option<SocketAddr>,
        park: bool,
        reply: &mut ReplyWriter<'_, S>,
    ) -> Option<PullPark> {
        let name = args.first().copied().unwrap_or_default();
        if name.eq_ignore_ascii_case(b"role") {
            self.role(db, reply);
        } else if name.eq_ignore_ascii_case(b"floesync") {
            return self.floesync(db, settings, args, peer, park, reply);
        } else {
            self.replicaof(db, settings, args, reply);
        }
        None
    }

    fn replicaof<S: ReplySink + ?Sized>(
        &self,
        db: &Arc<Db>,
        settings: &Settings,
        args: &[&[u8]],
        reply: &mut ReplyWriter<'_, S>,
    ) {
        let (host, port) = (arg(args, 1), arg(args, 2));
        if host.eq_ignore_ascii_case(b"no") && port.eq_ignore_ascii_case(b"one") {
            self.promote(db);
            reply.simple(b"OK");
            return;
        }
        let Some(port) = std::str::from_utf8(port)
            .ok()
            .and_then(|text| text.parse::<u16>().ok())
            .filter(|&port| port > 0)
        else {
            reply.error(b"ERR Invalid master port");
            return;
        };
        let host = String::from_utf8_lossy(host).into_owned();
        match self.replicate_from(db, settings, &host, port) {
            Ok(text) => reply.simple(text.as_bytes()),
            Err(text) => reply.error(text.as_bytes()),
        }
    }

    /// ROLE, as Redis answers it; offsets are LSNs.
    fn role<S: ReplySink + ?Sized>(&self, db: &Db, reply: &mut ReplyWriter<'_, S>) {
        let state = lock(&self.state);
        if let Some((host, port)) = &state.primary {
            let link = lock(&self.link).clone();
            reply.array_header(5);
            reply.bulk(b"slave");
            reply.bulk(host.as_bytes());
            reply.integer(i64::from(*port));
            reply.bulk(link.state.as_bytes());
            reply.integer(link.offset.map_or(-1, to_i64));
            return;
        }
        let replicas = live_replicas(&state);
        reply.array_header(3);
        reply.bulk(b"master");
        reply.integer(to_i64(db.lsn_last()));
        reply.array_header(replicas.len());
        for replica in replicas {
            reply.array_header(3);
            reply.bulk(replica.ip.to_string().as_bytes());
            reply.bulk(replica.port.to_string().as_bytes());
            reply.bulk(replica.offset.to_string().as_bytes());
        }
    }

    /// `FLOESYNC FULL <port>`, `FLOESYNC CHUNK <lsn> <offset>`, `FLOESYNC PULL <replid>
    /// <lsn> <port> [<wait-ms>]`: see `docs/replication.md`. A `<port>` may be
    /// `<ip>:<port>`, the replica's `replica-announce-ip`.
    fn floesync<S: ReplySink + ?Sized>(
        &self,
        db: &Arc<Db>,
        settings: &Settings,
        args: &[&[u8]],
        peer: Option<SocketAddr>,
        park: bool,
        reply: &mut ReplyWriter<'_, S>,
    ) -> Option<PullPark> {
        let sub = arg(args, 1);
        let number = |index: usize| {
            std::str::from_utf8(arg(args, index))
                .ok()
                .and_then(|text| text.parse::<u64>().ok())
        };
        if sub.eq_ignore_ascii_case(b"full") && args.len() == 3 {
            let Some((ip, port)) = announced(arg(args, 2)) else {
                reply.error(b"ERR FLOESYNC FULL needs the replica's port (or ip:port)");
                return None;
            };
            let ip = listed_ip(peer, ip);
            // A replica serves its own replicas (chaining) from its own log, once it holds
            // its primary's data: Redis refuses a SYNC before that in the same words.
            let Some(ancestry) = self.ancestry() else {
                reply.error(b"NOMASTERLINK Can't SYNC while not connected with my master");
                return None;
            };
            let name = self.seen(ip, port, 0, "wait_bgsave");
            // Every append from here on is kept for replicas, so the records above the
            // snapshot's LSN are there when this replica asks for them.
            let _backlog = db.backlog_enable(settings.repl_backlog_size);
            let (lsn, image, size) = match sync_snapshot(db) {
                Ok(found) => found,
                Err(text) => {
                    reply.error(text.as_bytes());
                    return None;
                }
            };
            let mut state = lock(&self.state);
            state.syncs.retain(|sync| sync.lsn != lsn);
            state.syncs.push(SyncSnapshot {
                lsn,
                size,
                image: Arc::new(image),
                replica: name,
            });
            if state.syncs.len() > SYNC_SNAPSHOT_COUNT_MAX {
                state.syncs.remove(0);
            }
            drop(state);
            self.seen(ip, port, 0, "send_bulk");
            reply.array_header(4);
            reply.bulk(self.replid.as_bytes());
            reply.integer(to_i64(lsn));
            reply.integer(to_i64(size));
            reply.array_header(ancestry.len());
            for replid in &ancestry {
                reply.bulk(replid.as_bytes());
            }
        } else if sub.eq_ignore_ascii_case(b"chunk") && args.len() == 4 {
            let (Some(lsn), Some(offset)) = (number(2), number(3)) else {
                reply.error(b"ERR FLOESYNC CHUNK needs an LSN and an offset");
                return None;
            };
            let found = lock(&self.state)
                .syncs
                .iter()
                .find(|sync| sync.lsn == lsn)
                .map(|sync| (Arc::clone(&sync.image), sync.size));
            let Some((image, size)) = found else {
                reply.error(b"FLOERESYNC that snapshot is gone: start the full sync again");
                return None;
            };
            let length = usize::try_from(size.saturating_sub(offset))
                .unwrap_or(usize::MAX)
                .min(SNAPSHOT_CHUNK_SIZE);
            match image.read_at(offset, length) {
                Ok(bytes) => reply.bulk(&bytes),
                Err(error) => {
                    let text = format!("ERR cannot read the snapshot: {error}");
                    reply.error(text.as_bytes());
                }
            }
        } else if sub.eq_ignore_ascii_case(b"pull") && (args.len() == 5 || args.len() == 6) {
            let (Some(lsn), Some((ip, port))) = (number(3), announced(arg(args, 4))) else {
                reply.error(b"ERR FLOESYNC PULL needs an LSN and the replica's port (or ip:port)");
                return None;
            };
            let ip = listed_ip(peer, ip);
            // Without a wait (an older replica, a test), an empty answer comes at once.
            let wait_ms = if args.len() == 6 { number(5) } else { Some(0) };
            let Some(wait_ms) = wait_ms else {
                reply.error(b"ERR FLOESYNC PULL's wait is not a number of milliseconds");
                return None;
            };
            let wait = Duration::from_millis(wait_ms.min(PULL_WAIT_MAX_MS));
            if arg(args, 2) != self.replid.as_bytes() {
                reply.error(b"FLOERESYNC another history (the primary restarted): full sync");
                return None;
            }
            let Some(backlog) = db.backlog() else {
                reply.error(b"FLOERESYNC no backlog: full sync");
                return None;
            };
            match backlog.read(lsn, db.lsn_last() + 1, PULL_SIZE_MAX) {
                Read::Bytes(bytes) => {
                    let name = self.seen(ip, port, lsn.saturating_sub(1), "online");
                    // A replica pulling above its snapshot's LSN has loaded it.
                    lock(&self.state)
                        .syncs
                        .retain(|sync| sync.replica != name || sync.lsn >= lsn);
                    db.replica_acked(&name);
                    if bytes.is_empty() && park && !wait.is_zero() {
                        return Some(PullPark { lsn, wait });
                    }
                    reply.bulk(&bytes);
                }
                Read::Gone => {
                    reply.error(b"FLOERESYNC that LSN is no longer in the backlog: full sync");
                }
            }
        } else {
            reply.error(
                b"ERR unknown FLOESYNC form: FULL port | CHUNK lsn offset | PULL replid lsn port \
                  [wait-ms]",
            );
        }
        None
    }

    /// The replication IDs above this server, nearest first: none on a primary; on a
    /// replica, its primary's and those its primary named at the last full sync. `None` on
    /// a replica whose link is not up (it may not hold its primary's data).
    fn ancestry(&self) -> Option<Vec<String>> {
        let state = lock(&self.state);
        if state.primary.is_none() {
            return Some(Vec::new());
        }
        let link = lock(&self.link);
        (link.state == "connected").then(|| {
            std::iter::once(link.primary_replid.clone())
                .chain(link.ancestry.iter().cloned())
                .collect()
        })
    }

    /// Remembers a replica at `ip` and `port`; returns its name, `ip:port`.
    fn seen(&self, ip: IpAddr, port: u16, offset: u64, state: &'static str) -> String {
        let name = format!("{ip}:{port}");
        lock(&self.state).replicas.insert(
            name.clone(),
            ReplicaSeen {
                ip,
                port,
                offset,
                state,
                seen: Instant::now(),
            },
        );
        // Outside the state lock: a woken worker counts under it.
        for waker in std::mem::take(&mut *lock(&self.ack_wakers)) {
            waker.wake();
        }
        name
    }

    /// WAIT inside MULTI or with nothing to wait for: how many replicas have applied the
    /// primary's last LSN (so every write acknowledged before WAIT), counted now. A
    /// client's WAIT outside MULTI blocks it without blocking its worker (the server's
    /// `blocked` module), counting with [`Replication::count_at`].
    pub fn wait(&self, db: &Db) -> i64 {
        self.count_at(db.lsn_last())
    }

    /// How many live replicas have applied every LSN up to `target`.
    pub fn count_at(&self, target: u64) -> i64 {
        let state = lock(&self.state);
        let count = live_replicas(&state)
            .iter()
            .filter(|replica| replica.offset >= target)
            .count();
        i64::try_from(count).unwrap_or(i64::MAX)
    }

    /// Wakes `waker` at the next acknowledgement of any replica (once).
    pub fn wake_on_ack(&self, waker: &Waker) {
        let mut wakers = lock(&self.ack_wakers);
        if !wakers.iter().any(|known| known.will_wake(waker)) {
            wakers.push(waker.clone());
        }
    }

    /// INFO's replication section, as Redis words it; `priority` is `replica-priority`.
    pub fn info(&self, db: &Db, priority: u64, text: &mut String) {
        let state = lock(&self.state);
        let mut line = |name: &str, value: &dyn std::fmt::Display| {
            text.push_str(&format!("{name}:{value}\r\n"));
        };
        if let Some((host, port)) = &state.primary {
            let link = lock(&self.link).clone();
            let up = link.state == "connected";
            line("role", &"slave");
            line("master_host", host);
            line("master_port", port);
            line("master_link_status", &if up { "up" } else { "down" });
            line(
                "master_last_io_seconds_ago",
                &link.last_io.elapsed().as_secs(),
            );
            line("master_sync_in_progress", &u8::from(link.state == "sync"));
            if !up {
                // Sentinel passes over a replica whose link has been down too long.
                line(
                    "master_link_down_since_seconds",
                    &link.last_io.elapsed().as_secs(),
                );
            }
            line("slave_repl_offset", &link.offset.unwrap_or(0));
            // Sentinel promotes the replica with the lowest priority (0: never).
            line("slave_priority", &priority);
            line("slave_read_only", &1);
            if !up {
                line("floe_master_link_down_reason", &link.reason);
            }
            replica_lines(&live_replicas(&state), &mut line);
            line("master_replid", &link.primary_replid);
            line("master_repl_offset", &link.offset.unwrap_or(0));
            if let Some(good) = db.good_replica_count() {
                line("min_slaves_good_slaves", &good);
            }
            return;
        }
        line("role", &"master");
        replica_lines(&live_replicas(&state), &mut line);
        line("master_replid", &self.replid);
        line("master_repl_offset", &db.lsn_last());
        line("repl_backlog_active", &u8::from(db.backlog().is_some()));
        line(
            "repl_backlog_size",
            &db.backlog().map_or(0, |backlog| backlog.size()),
        );
        if let Some(good) = db.good_replica_count() {
            line("min_slaves_good_slaves", &good);
        }
    }
}

/// The snapshot for a full sync: `SAVE`'s file (so the log is compacted as after any
/// SAVE), or with persistence off one cut into memory; its LSN, bytes and size. Errors are
/// reply texts.
fn sync_snapshot(db: &Db) -> Result<(u64, Image, u64), String> {
    let failed =
        |error: crate::db::DbError| format!("ERR full sync failed: {}", error.reply_text());
    if !db.config().persistence {
        let (lsn, bytes) = db.snapshot_image().map_err(failed)?;
        let size = bytes.len() as u64;
        return Ok((lsn, Image::Memory(bytes), size));
    }
    let report = db.save().map_err(failed)?;
    let file = File::open(&report.file)
        .map_err(|error| format!("ERR full sync failed: cannot read the snapshot: {error}"))?;
    let size = file
        .metadata()
        .map_or(report.size, |metadata| metadata.len());
    Ok((report.lsn, Image::File(file), size))
}

/// A replica's port argument to `FLOESYNC`: `port`, or `ip:port` when it announces an
/// address (`replica-announce-ip`; an IPv6 address keeps its colons, the port follows the
/// last one).
fn announced(text: &[u8]) -> Option<(Option<IpAddr>, u16)> {
    let text = std::str::from_utf8(text).ok()?;
    match text.rsplit_once(':') {
        Some((ip, port)) => Some((Some(ip.parse().ok()?), port.parse().ok()?)),
        None => Some((None, text.parse().ok()?)),
    }
}

/// The address a replica is listed under: the one it announced, else its connection's
/// (loopback when the door has none).
fn listed_ip(peer: Option<SocketAddr>, announced: Option<IpAddr>) -> IpAddr {
    announced.unwrap_or_else(|| peer.map_or(IpAddr::from([127, 0, 0, 1]), |peer| peer.ip()))
}

/// How long a primary lists a replica it has not heard from.
const REPLICA_SEEN_TIMEOUT: Duration = Duration::from_secs(60);

/// The replicas heard from within [`REPLICA_SEEN_TIMEOUT`].
fn live_replicas(state: &State) -> Vec<ReplicaSeen> {
    state
        .replicas
        .values()
        .filter(|replica| replica.seen.elapsed() < REPLICA_SEEN_TIMEOUT)
        .cloned()
        .collect()
}

/// INFO's `connected_slaves` and one `slaveN` line per replica, as Redis words them (on a
/// replica too: its own replicas, chained).
fn replica_lines(replicas: &[ReplicaSeen], line: &mut dyn FnMut(&str, &dyn std::fmt::Display)) {
    line("connected_slaves", &replicas.len());
    for (index, replica) in replicas.iter().enumerate() {
        line(
            &format!("slave{index}"),
            &format!(
                "ip={},port={},state={},offset={},lag={}",
                replica.ip,
                replica.port,
                replica.state,
                replica.offset,
                replica.seen.elapsed().as_secs()
            ),
        );
    }
}

/// Whether `host:port` is this server: its own port on loopback, an address it binds, or
/// a name for them.
fn is_self(host: &str, port: u16, settings: &Settings) -> bool {
    if port != settings.port {
        return false;
    }
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| {
        ip.is_loopback()
            || ip.is_unspecified()
            || settings
                .bind
                .iter()
                .any(|bound| *bound == ip || bound.is_unspecified())
    })
}

fn arg<'a>(args: &[&'a [u8]], index: usize) -> &'a [u8] {
    args.get(index).copied().unwrap_or_default()
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
