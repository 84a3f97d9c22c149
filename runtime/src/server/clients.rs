//! The registry of connected clients, for CLIENT LIST, CLIENT INFO and CLIENT KILL across
//! workers.
//!
//! Each connection owns an [`ClientInfo`] (shared with this registry by `Arc`); a worker
//! updates its few live fields with relaxed stores. CLIENT KILL marks the victim and wakes
//! the worker that owns it, which closes it on its next turn.
//!
//! Invariants: an id is never reused while the process runs; a connection is in the
//! registry from accept to close.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::Instant;

use crate::acl::Disconnect;

/// What the registry knows of one client.
#[derive(Debug)]
pub(super) struct ClientInfo {
    pub(super) id: u64,
    pub(super) addr: SocketAddr,
    pub(super) local_addr: SocketAddr,
    pub(super) created: Instant,
    /// The selected database.
    pub(super) db: AtomicU8,
    /// The protocol HELLO chose (2 or 3), for CLIENT LIST's `resp=`.
    pub(super) resp: AtomicU8,
    /// CLIENT SETNAME's name (HELLO SETNAME too), for CLIENT LIST.
    pub(super) name: Mutex<String>,
    /// The user it is logged in as (`default` before it logs in, as in Redis), for CLIENT
    /// LIST's `user=`, CLIENT KILL USER, and closing a deleted user's connections.
    user: Mutex<String>,
    /// CLIENT KILL asked for it to be closed.
    pub(super) killed: AtomicBool,
    /// The worker that owns it (index into the workers' wakers).
    pub(super) worker: usize,
    /// Its channels, patterns and shard channels (CLIENT LIST's `sub`, `psub`, `ssub`),
    /// kept by [`super::pubsub`].
    subscriptions: [AtomicU32; 3],
}

impl ClientInfo {
    /// Records the client's name (names are printable ASCII without blanks, checked by
    /// CLIENT SETNAME).
    pub(super) fn set_name(&self, name: &str) {
        replace(&self.name, name);
    }

    /// Records the user it logged in as (user names hold no blanks: ACL SETUSER refuses
    /// them).
    pub(super) fn set_user(&self, name: &str) {
        replace(&self.user, name);
    }

    /// Whether it is logged in as the user `name`.
    pub(super) fn user_is(&self, name: &str) -> bool {
        *lock(&self.user) == name
    }

    /// How many channels, patterns and shard channels it is subscribed to.
    pub(super) fn subscription_count(&self) -> u32 {
        self.subscriptions
            .iter()
            .map(|count| count.load(Ordering::Relaxed))
            .sum()
    }

    /// Records its subscription counts (channels, patterns, shard channels).
    pub(super) fn set_subscription_counts(
        &self,
        channels: usize,
        patterns: usize,
        shard_channels: usize,
    ) {
        for (slot, count) in self
            .subscriptions
            .iter()
            .zip([channels, patterns, shard_channels])
        {
            slot.store(u32::try_from(count).unwrap_or(u32::MAX), Ordering::Relaxed);
        }
    }
}

/// Every connected client.
#[derive(Debug, Default)]
pub(super) struct Clients {
    map: Mutex<BTreeMap<u64, Arc<ClientInfo>>>,
    id_next: AtomicU64,
    /// Each worker's waker, by index, to deliver a kill.
    wakers: Mutex<Vec<Waker>>,
    /// Set by a kill, for the workers to look for marked clients.
    pub(super) kill_pending: Vec<AtomicBool>,
}

impl Clients {
    pub(super) fn new(worker_count: usize) -> Self {
        Self {
            kill_pending: (0..worker_count).map(|_| AtomicBool::new(false)).collect(),
            id_next: AtomicU64::new(1),
            ..Self::default()
        }
    }

    /// Registers a worker's waker (in worker order).
    pub(super) fn worker_waker(&self, index: usize, waker: Waker) {
        let mut wakers = lock(&self.wakers);
        if wakers.len() <= index {
            wakers.resize(index + 1, Waker::noop().clone());
        }
        wakers[index] = waker;
    }

    /// Wakes worker `index` (a message for one of its subscribers).
    pub(super) fn wake(&self, index: usize) {
        if let Some(waker) = lock(&self.wakers).get(index) {
            waker.wake_by_ref();
        }
    }

    /// Has the owner of `info` close it on its next turn (as CLIENT KILL does).
    pub(super) fn close_soon(&self, info: &ClientInfo) {
        info.killed.store(true, Ordering::Release);
        if let Some(pending) = self.kill_pending.get(info.worker) {
            pending.store(true, Ordering::Release);
        }
        self.wake(info.worker);
    }

    /// Closes every connection logged in as a user that `closes` names, each on its
    /// worker's next turn as CLIENT KILL does, except `caller`'s: returns whether it is
    /// one (it closes once its reply is out).
    pub(super) fn close_users(&self, closes: &Disconnect, caller: u64) -> bool {
        let map = lock(&self.map);
        let mut caller_closes = false;
        for info in map.values() {
            if !closes.includes(&lock(&info.user)) {
                continue;
            }
            if info.id == caller {
                caller_closes = true;
            } else {
                self.close_soon(info);
            }
        }
        caller_closes
    }

    /// Wakes every worker (shutdown).
    pub(super) fn wake_all(&self) {
        for waker in lock(&self.wakers).iter() {
            waker.wake_by_ref();
        }
    }

    /// Registers a new client.
    pub(super) fn add(
        &self,
        addr: SocketAddr,
        local_addr: SocketAddr,
        worker: usize,
    ) -> Arc<ClientInfo> {
        let info = Arc::new(ClientInfo {
            id: self.id_next.fetch_add(1, Ordering::Relaxed),
            addr,
            local_addr,
            created: Instant::now(),
            db: AtomicU8::new(0),
            resp: AtomicU8::new(2),
            name: Mutex::new(String::new()),
            user: Mutex::new("default".to_owned()),
            killed: AtomicBool::new(false),
            worker,
            subscriptions: [AtomicU32::new(0), AtomicU32::new(0), AtomicU32::new(0)],
        });
        lock(&self.map).insert(info.id, Arc::clone(&info));
        info
    }

    /// Forgets a closed client.
    pub(super) fn remove(&self, id: u64) {
        lock(&self.map).remove(&id);
    }

    /// CLIENT LIST (all clients) or CLIENT INFO (`only`): one line per client in Redis's
    /// `name=value` form (the fields floe tracks).
    pub(super) fn list(&self, only: Option<u64>) -> String {
        let map = lock(&self.map);
        let mut text = String::new();
        for info in map
            .values()
            .filter(|info| only.is_none_or(|id| id == info.id))
        {
            // Writing to a String cannot fail.
            let _ = writeln!(
                text,
                "id={} addr={} laddr={} fd=-1 name={} age={} idle=0 flags={} db={} sub={} \
                 psub={} ssub={} multi=-1 user={} resp={}",
                info.id,
                info.addr,
                info.local_addr,
                lock(&info.name),
                info.created.elapsed().as_secs(),
                if info.subscription_count() > 0 {
                    "P"
                } else {
                    "N"
                },
                info.db.load(Ordering::Relaxed),
                info.subscriptions[0].load(Ordering::Relaxed),
                info.subscriptions[1].load(Ordering::Relaxed),
                info.subscriptions[2].load(Ordering::Relaxed),
                lock(&info.user),
                info.resp.load(Ordering::Relaxed),
            );
        }
        text
    }

    /// CLIENT KILL: the old form `addr`, or filters `ID id`, `ADDR addr`, `LADDR addr`,
    /// `USER name` (a user `user_exists` knows), `SKIPME yes|no`. Returns how many were
    /// marked.
    ///
    /// # Errors
    /// Redis's syntax error texts.
    pub(super) fn kill(
        &self,
        args: &[&[u8]],
        caller: u64,
        user_exists: &dyn Fn(&str) -> bool,
    ) -> Result<usize, String> {
        let mut id = None;
        let mut user = None;
        let mut addr = None;
        let mut local_addr = None;
        let mut skip_me = true;
        // TYPE: `Some(true)` subscribed clients only (pubsub), `Some(false)` the others
        // (normal); replica and master match none (floe's replicas pull as normal clients,
        // which TYPE normal therefore closes: they reconnect and resume).
        let mut subscribed = None;
        let mut type_matches_none = false;
        if let [old] = args {
            addr = Some(String::from_utf8_lossy(old).into_owned());
            skip_me = false;
        } else {
            if !args.len().is_multiple_of(2) {
                return Err("ERR syntax error".to_owned());
            }
            for pair in args.chunks(2) {
                let (name, value) = (
                    pair[0].to_ascii_lowercase(),
                    String::from_utf8_lossy(pair[1]).into_owned(),
                );
                match name.as_slice() {
                    b"id" => match value.parse::<u64>() {
                        Ok(number) => id = Some(number),
                        Err(_) => return Err("ERR client-id should be greater than 0".to_owned()),
                    },
                    b"addr" => addr = Some(value),
                    b"laddr" => local_addr = Some(value),
                    b"user" => {
                        if !user_exists(&value) {
                            return Err(format!("ERR No such user '{value}'"));
                        }
                        user = Some(value);
                    }
                    b"skipme" => match value.to_ascii_lowercase().as_str() {
                        "yes" => skip_me = true,
                        "no" => skip_me = false,
                        _ => return Err("ERR syntax error".to_owned()),
                    },
                    b"type" => match value.to_ascii_lowercase().as_str() {
                        "normal" => subscribed = Some(false),
                        "pubsub" => subscribed = Some(true),
                        "replica" | "slave" | "master" => type_matches_none = true,
                        _ => return Err(format!("ERR Unknown client type '{value}'")),
                    },
                    b"maxage" => {}
                    _ => return Err("ERR syntax error".to_owned()),
                }
            }
        }
        let map = lock(&self.map);
        let mut killed = 0;
        for info in map.values() {
            // A client already killed is on its way out (its worker may be tearing down its
            // subscriptions right now): it is not counted, or matched as another type, again.
            let matches = !type_matches_none
                && !info.killed.load(Ordering::Acquire)
                && subscribed.is_none_or(|wanted| wanted == (info.subscription_count() > 0))
                && id.is_none_or(|id| id == info.id)
                && user.as_deref().is_none_or(|name| info.user_is(name))
                && addr
                    .as_ref()
                    .is_none_or(|addr| *addr == info.addr.to_string())
                && local_addr
                    .as_ref()
                    .is_none_or(|addr| *addr == info.local_addr.to_string())
                && !(skip_me && info.id == caller);
            if matches {
                info.killed.store(true, Ordering::Release);
                if let Some(pending) = self.kill_pending.get(info.worker) {
                    pending.store(true, Ordering::Release);
                }
                if info.id != caller
                    && let Some(waker) = lock(&self.wakers).get(info.worker)
                {
                    waker.wake_by_ref();
                }
                killed += 1;
            }
        }
        Ok(killed)
    }
}

/// Sets a text field to `value` (written only when it changed).
fn replace(field: &Mutex<String>, value: &str) {
    let mut current = lock(field);
    if *current != value {
        value.clone_into(&mut current);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
