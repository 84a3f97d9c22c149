//! Clients blocked in BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX and
//! BZMPOP: the client waits, its worker does not (as WAIT's, [`super::blocked`]).
//!
//! ```text
//!  BLPOP k 0 (worker A)  table: every key empty → RuntimeCommand::Block
//!    └► Waiters::park, registry lock: k → [.., this client]; then serve(k) at once
//!       (a push that ran between the pop and the park is not missed)
//!  LPUSH k v (worker B)  after its apply (shard locks released):
//!    └► Waiters::wake(k), registry lock: for each client waiting on k, oldest first,
//!       run its request again (db.apply, under the shard locks): a reply → the client is
//!       served (its reply into its worker's mailbox, that worker woken); Block again →
//!       k is empty, stop. A served BLMOVE's target key is served next.
//!  worker A, every loop pass (Worker::finish_waits)
//!    └► its mailbox's replies queued behind what each client has queued (gated on the
//!       log like any write's reply), the client unblocked and its input run again;
//!       a timeout passed: if the registry still holds the client, it is removed and
//!       answered the timeout's null, else its served reply is on its way.
//! ```
//!
//! Invariants: a client is in the registry at most once; whoever removes it under the
//! registry lock (a serve, its timeout, its close) owns its one reply; pops run under the
//! registry lock, so two clients never pop the same element and a key's waiters are
//! served in the order they blocked (Redis's order). Lock order: the registry, then shard
//! locks (taken by `db.apply`); nothing takes the registry while holding a shard lock.
//!
//! Fault assumptions: a client may close at any time; a closed or CLIENT KILLed client is
//! removed before the next push can serve it, so a pushed element is not popped for it. A
//! client that vanishes without its worker having seen it yet may still be served; its
//! reply is then lost with the connection, as with Redis.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use floe_core::codec::resp::{Protocol, ReplyWriter};
use floe_core::command::{Arguments, Outcome, RuntimeCommand, Session};
use slab::Slab;

use super::clients::ClientInfo;
use super::{Entry, Worker};
use crate::admin::Admin;
use crate::db::{Db, Durability};

/// Every parked client of every worker.
#[derive(Debug)]
pub(super) struct Waiters {
    /// How many clients are parked: a write skips the registry when there are none.
    count: AtomicUsize,
    state: Mutex<State>,
    /// Where INFO reads `blocked_clients`.
    admin: Arc<Admin>,
}

#[derive(Debug, Default)]
struct State {
    /// The next park's number: numbers give the order clients blocked in.
    number_next: u64,
    /// Per `(db, key)`: the numbers of the clients waiting on it, oldest first.
    keys: HashMap<(u8, Vec<u8>), VecDeque<u64>>,
    /// Per number: the parked client.
    parked: HashMap<u64, Parked>,
    /// Per client id: its number.
    by_client: HashMap<u64, u64>,
    /// Per worker: the replies of its served clients, for it to queue.
    served: Vec<Vec<Served>>,
}

/// One parked client.
#[derive(Debug)]
struct Parked {
    info: Arc<ClientInfo>,
    token: usize,
    /// A copy of its session (database, protocol, id), able to block.
    session: Session,
    /// Its request, run again on a push.
    args: Vec<Vec<u8>>,
    /// The keys it waits on.
    keys: Vec<Vec<u8>>,
}

/// A served client's reply, for its worker.
#[derive(Debug)]
pub(super) struct Served {
    token: usize,
    client_id: u64,
    reply: Vec<u8>,
    durability: Durability,
}

/// A parked client, as its own worker tracks it: for the timeout.
#[derive(Debug)]
pub(super) struct PopWait {
    token: usize,
    client_id: u64,
    /// `None`: timeout 0, wait for ever.
    deadline: Option<Instant>,
    protocol: Protocol,
}

/// Whether `name` is BLMOVE or BRPOPLPUSH (whose reply is an element, not an array, and
/// whose target is a key a served move pushes to).
fn is_move(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"blmove") || name.eq_ignore_ascii_case(b"brpoplpush")
}

/// The keys a blocking request waits on (its arguments were checked by the table).
fn waited_keys(args: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let name = args.first().map_or(&b""[..], Vec::as_slice);
    if name.eq_ignore_ascii_case(b"blmpop") || name.eq_ignore_ascii_case(b"bzmpop") {
        let count = args
            .get(2)
            .and_then(|count| std::str::from_utf8(count).ok())
            .and_then(|count| count.parse::<usize>().ok())
            .unwrap_or(0);
        return args.iter().skip(3).take(count).cloned().collect();
    }
    if is_move(name) {
        return args.get(1).cloned().into_iter().collect();
    }
    // BLPOP, BRPOP, BZPOPMIN and BZPOPMAX: every argument but the name and the timeout.
    args.iter()
        .skip(1)
        .take(args.len().saturating_sub(2))
        .cloned()
        .collect()
}

impl Waiters {
    pub(super) fn new(worker_count: usize, admin: Arc<Admin>) -> Self {
        let state = State {
            served: (0..worker_count).map(|_| Vec::new()).collect(),
            ..State::default()
        };
        Self {
            count: AtomicUsize::new(0),
            state: Mutex::new(state),
            admin,
        }
    }

    /// Parks the client `info` (at `token` of its worker) on the keys of its blocking
    /// request `args`, then serves those keys at once.
    fn park(
        &self,
        db: &Db,
        info: &Arc<ClientInfo>,
        token: usize,
        session: &Session,
        args: Vec<Vec<u8>>,
    ) -> Vec<usize> {
        let mut state = lock(&self.state);
        let number = state.number_next;
        state.number_next += 1;
        let keys = waited_keys(&args);
        for key in &keys {
            let waiting = state.keys.entry((session.db, key.clone())).or_default();
            // A key named twice (BLPOP k k 0) waits once.
            if waiting.back() != Some(&number) {
                waiting.push_back(number);
            }
        }
        let mut session = session.clone();
        session.may_block = true;
        let db_index = session.db;
        state.by_client.insert(info.id, number);
        state.parked.insert(
            number,
            Parked {
                info: Arc::clone(info),
                token,
                session,
                args,
                keys: keys.clone(),
            },
        );
        self.count.fetch_add(1, Ordering::SeqCst);
        self.admin.blocked_clients.fetch_add(1, Ordering::Relaxed);
        self.serve(&mut state, db, keys.into_iter().map(|key| (db_index, key)))
    }

    /// After a write to `keys` of database `db_index`: serves their waiters. Returns the
    /// workers to wake.
    pub(super) fn wake<'k>(
        &self,
        db: &Db,
        db_index: u8,
        keys: impl Iterator<Item = &'k [u8]>,
    ) -> Vec<usize> {
        if self.count.load(Ordering::SeqCst) == 0 {
            return Vec::new();
        }
        let mut state = lock(&self.state);
        let keys: Vec<(u8, Vec<u8>)> = keys
            .filter(|key| state.keys.contains_key(&(db_index, key.to_vec())))
            .map(|key| (db_index, key.to_vec()))
            .collect();
        if keys.is_empty() {
            return Vec::new();
        }
        self.serve(&mut state, db, keys.into_iter())
    }

    /// Serves the waiters of `keys`, oldest first per key, while their requests find
    /// elements; returns the workers that got replies.
    fn serve(
        &self,
        state: &mut State,
        db: &Db,
        keys: impl Iterator<Item = (u8, Vec<u8>)>,
    ) -> Vec<usize> {
        let mut queue: VecDeque<(u8, Vec<u8>)> = keys.collect();
        let mut woken = Vec::new();
        // Each round serves (removes) a client or moves to the next key, and a served
        // client adds at most one key: the loop ends.
        while let Some(key) = queue.pop_front() {
            while let Some(&number) = state.keys.get(&key).and_then(VecDeque::front) {
                let Some(parked) = state.parked.get_mut(&number) else {
                    unreachable!("a waiting number {number} without its client");
                };
                if parked.info.killed.load(Ordering::Acquire) {
                    self.remove(state, number);
                    continue;
                }
                let args: Vec<&[u8]> = parked.args.iter().map(Vec::as_slice).collect();
                let prepared = db.prepare(args.as_slice());
                let mut reply = Vec::new();
                let durability = match db.apply(&prepared, &mut parked.session, &mut reply) {
                    Ok(applied) => match applied.outcome {
                        Outcome::Runtime(RuntimeCommand::Block { .. }) => break,
                        _ => applied.durability,
                    },
                    Err(error) => {
                        ReplyWriter::new(&mut reply, parked.session.protocol)
                            .error(error.reply_text().as_bytes());
                        Durability::Done
                    }
                };
                let target = is_move(args.first().copied().unwrap_or_default())
                    .then(|| args.get(2).map(|key| (parked.session.db, key.to_vec())))
                    .flatten();
                let served = Served {
                    token: parked.token,
                    client_id: parked.info.id,
                    reply,
                    durability,
                };
                let worker = parked.info.worker;
                self.remove(state, number);
                if let Some(list) = state.served.get_mut(worker) {
                    list.push(served);
                }
                if !woken.contains(&worker) {
                    woken.push(worker);
                }
                queue.extend(target);
            }
        }
        woken
    }

    /// Removes the parked client `number` from every key it waits on.
    fn remove(&self, state: &mut State, number: u64) {
        let Some(parked) = state.parked.remove(&number) else {
            return;
        };
        state.by_client.remove(&parked.info.id);
        for key in parked.keys {
            let entry = (parked.session.db, key);
            if let Some(waiting) = state.keys.get_mut(&entry) {
                waiting.retain(|&other| other != number);
                if waiting.is_empty() {
                    state.keys.remove(&entry);
                }
            }
        }
        self.count.fetch_sub(1, Ordering::SeqCst);
        self.admin.blocked_clients.fetch_sub(1, Ordering::Relaxed);
    }

    /// Removes the client `client_id` if it is parked; whether it was (then no reply for
    /// it is on its way).
    pub(super) fn forget(&self, client_id: u64) -> bool {
        if self.count.load(Ordering::SeqCst) == 0 {
            return false;
        }
        let mut state = lock(&self.state);
        let Some(number) = state.by_client.get(&client_id).copied() else {
            return false;
        };
        self.remove(&mut state, number);
        true
    }

    /// The replies served for worker `worker`'s clients.
    fn take_served(&self, worker: usize) -> Vec<Served> {
        let mut state = lock(&self.state);
        state
            .served
            .get_mut(worker)
            .map(std::mem::take)
            .unwrap_or_default()
    }
}

impl Worker {
    /// Parks the client of `connection` whose blocking request `args` found every key
    /// empty, for at most `timeout_ms` (0: no limit).
    pub(super) fn block_for_pop(
        &mut self,
        connection: &mut super::connection::Connection,
        session: &Session,
        args: &[&[u8]],
        timeout_ms: u64,
    ) {
        connection.blocked = true;
        self.pop_waits.push(PopWait {
            token: connection.token(),
            client_id: connection.info.id,
            deadline: (timeout_ms > 0)
                .then(|| Instant::now().checked_add(Duration::from_millis(timeout_ms)))
                .flatten(),
            protocol: session.protocol,
        });
        let args = args.iter().map(|arg| arg.to_vec()).collect();
        let woken = self.shared.waiters.park(
            &self.db,
            &connection.info,
            connection.token(),
            session,
            args,
        );
        self.wake_workers(&woken);
    }

    /// After a write request `args` in database `db_index` (its keys at the table's key
    /// positions): serves the clients parked on those keys.
    pub(super) fn wake_waiters<A: Arguments + ?Sized>(&self, db_index: u8, args: &A) {
        let Some(spec) = args.get(0).and_then(floe_core::command::lookup) else {
            return;
        };
        if !spec.is_write() {
            return;
        }
        let keys = spec
            .key_indexes_of(args)
            .filter_map(|index| args.get(index));
        let woken = self.shared.waiters.wake(&self.db, db_index, keys);
        self.wake_workers(&woken);
    }

    /// Wakes the workers that got replies (this one finds its own in this pass).
    fn wake_workers(&self, woken: &[usize]) {
        for &worker in woken {
            if worker != self.index {
                self.shared.clients.wake(worker);
            }
        }
    }

    /// Queues the replies served for this worker's parked clients and answers the ones
    /// whose timeout passed; returns the tokens of the clients it unblocked.
    pub(super) fn finish_pops<S>(&mut self, entries: &mut Slab<Entry<S>>) -> Vec<usize> {
        if self.pop_waits.is_empty() {
            return Vec::new();
        }
        let mut unblocked = Vec::new();
        for served in self.shared.waiters.take_served(self.index) {
            self.pop_waits
                .retain(|wait| wait.client_id != served.client_id);
            let Some(entry) = entries
                .get_mut(served.token)
                .filter(|entry| entry.connection.info.id == served.client_id)
            else {
                continue; // closed since
            };
            entry
                .connection
                .queue_gated(&served.reply, served.durability, self);
            entry.connection.blocked = false;
            unblocked.push(served.token);
        }
        if !unblocked.is_empty() {
            // This pass's commit and poll already ran: commit the served pops' records
            // (buffered, or appended by a write across shards) and poll their ticket now,
            // so their replies go out when the log settles, not at the next wake-up.
            let mut flush = Vec::new();
            self.end_pass(entries, &mut flush);
            for token in flush {
                if !unblocked.contains(&token) {
                    unblocked.push(token);
                }
            }
        }
        let now = Instant::now();
        let waiters = &self.shared.waiters;
        self.pop_waits.retain(|wait| {
            let Some(entry) = entries
                .get_mut(wait.token)
                .filter(|entry| entry.connection.info.id == wait.client_id)
            else {
                return false; // closed: its close forgot it
            };
            if wait.deadline.is_none_or(|deadline| now < deadline) {
                return true;
            }
            if waiters.forget(wait.client_id) {
                // Redis answers every timed-out list pop (BLMOVE too) with a null array.
                let mut reply = Vec::new();
                ReplyWriter::new(&mut reply, wait.protocol).null_array();
                entry.connection.queue_reply(&reply);
                entry.connection.blocked = false;
                unblocked.push(wait.token);
                return false;
            }
            // Served in the meantime: its reply is in the mailbox, taken next pass.
            true
        });
        unblocked
    }

    /// The nearest timeout of a parked client, if sooner than `longest`.
    pub(super) fn pop_wait_timeout(&self, longest: Duration) -> Duration {
        let now = Instant::now();
        self.pop_waits
            .iter()
            .filter_map(|wait| wait.deadline)
            .map(|deadline| deadline.saturating_duration_since(now))
            .fold(longest, Duration::min)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
