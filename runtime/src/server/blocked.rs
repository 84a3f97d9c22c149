//! Clients blocked in WAIT, and replicas' pulls parked until the log has news: the client
//! waits, its worker does not.
//!
//! `WAIT numreplicas timeout` (outside MULTI, on a primary, asking for at least one replica)
//! blocks its client: [`Worker::block_for_replicas`] notes the wait and marks the
//! connection `blocked`, so its later requests stay unparsed (they run after WAIT's reply,
//! in order, as in Redis). Every loop pass then ends with [`Worker::finish_waits`]: a wait
//! whose replicas have applied its target LSN, or whose timeout passed, gets its reply (the
//! count, as Redis answers) behind whatever the client has queued, and the loop resumes the
//! client's input. The target is the log's last LSN once the pass that ran WAIT has
//! committed, so it covers every write the client made before WAIT, pipelined ones
//! included.
//!
//! What wakes a sleeping loop: a replica's acknowledgement (its next `FLOESYNC PULL`, see
//! [`crate::replication`]) wakes every worker that asked with
//! [`crate::replication::Replication::wake_on_ack`], and the loop's wait is no longer than
//! the nearest timeout ([`Worker::wait_timeout`]).
//!
//! A replica's `FLOESYNC PULL` with a wait that finds nothing new (see
//! [`crate::replication::PullPark`]) is parked the same way ([`Worker::block_for_pull`]):
//! it has acknowledged already (WAIT counts it), and [`Worker::finish_waits`] runs it again
//! once the backlog has news (a push wakes the worker, as an acknowledgement wakes WAIT's:
//! [`crate::replication::Backlog::wake_on_push`]) or its wait is over (an empty answer).
//!
//! Invariants: a blocked client gets exactly one reply for its WAIT or pull; a closed
//! client's wait is dropped (its token may be reused: the client id says whose a wait is).

use std::time::{Duration, Instant};

use slab::Slab;

use floe_core::codec::resp::{Protocol, ReplyWriter};

use super::{Entry, Worker};

/// One client's WAIT.
#[derive(Debug)]
pub(super) struct ReplicaWait {
    token: usize,
    client_id: u64,
    needed: i64,
    /// The LSN replicas must reach; set at the end of the pass that ran WAIT.
    target: Option<u64>,
    /// `None`: `timeout` 0, wait for ever.
    deadline: Option<Instant>,
}

/// One replica's parked `FLOESYNC PULL`.
#[derive(Debug)]
pub(super) struct PullWait {
    token: usize,
    client_id: u64,
    /// The request, run again to answer it.
    args: Vec<Vec<u8>>,
    peer: std::net::SocketAddr,
    protocol: Protocol,
    /// The LSN the replica asked for: news is anything else at the backlog's end.
    lsn: u64,
    deadline: Instant,
}

impl Worker {
    /// Parks the replica at `connection`, whose pull `args` found nothing new, as `park`
    /// says.
    pub(super) fn block_for_pull(
        &mut self,
        connection: &mut super::connection::Connection,
        args: &[&[u8]],
        protocol: Protocol,
        park: crate::replication::PullPark,
    ) {
        connection.blocked = true;
        let now = Instant::now();
        self.pull_waits.push(PullWait {
            token: connection.token(),
            client_id: connection.info.id,
            args: args.iter().map(|arg| arg.to_vec()).collect(),
            peer: connection.peer(),
            protocol,
            lsn: park.lsn,
            deadline: now.checked_add(park.wait).unwrap_or(now),
        });
    }

    /// Answers every parked pull with news or whose wait is over, returning the tokens of
    /// the clients it unblocked; asks the backlog to wake this worker for the others.
    fn finish_pulls<S>(&mut self, entries: &mut Slab<Entry<S>>, unblocked: &mut Vec<usize>) {
        if self.pull_waits.is_empty() {
            return;
        }
        let db = self.admin.db();
        let Some(backlog) = db.backlog() else {
            return; // Never: a pull parks only where a backlog answered it.
        };
        // Asked before looking: a push from here on wakes this worker.
        backlog.wake_on_push(&self.waker);
        let now = Instant::now();
        let replication = &self.admin.replication;
        self.pull_waits.retain(|wait| {
            let Some(entry) = entries
                .get_mut(wait.token)
                .filter(|entry| entry.connection.info.id == wait.client_id)
            else {
                return false; // closed
            };
            if now < wait.deadline && !backlog.has_news(wait.lsn) {
                return true;
            }
            let args: Vec<&[u8]> = wait.args.iter().map(Vec::as_slice).collect();
            let mut reply = Vec::new();
            let mut writer = ReplyWriter::new(&mut reply, wait.protocol);
            replication.run(
                db,
                &self.admin.settings(),
                &args,
                Some(wait.peer),
                &mut writer,
            );
            entry.connection.queue_reply(&reply);
            entry.connection.blocked = false;
            unblocked.push(wait.token);
            false
        });
    }

    /// Blocks the client at `token` until `needed` replicas have applied its writes, or
    /// for at most `timeout_ms` (0: no limit).
    pub(super) fn block_for_replicas(
        &mut self,
        connection: &mut super::connection::Connection,
        needed: i64,
        timeout_ms: u64,
    ) {
        connection.blocked = true;
        self.replica_waits.push(ReplicaWait {
            token: connection.token(),
            client_id: connection.info.id,
            needed,
            target: None,
            deadline: (timeout_ms > 0)
                .then(|| Instant::now().checked_add(Duration::from_millis(timeout_ms)))
                .flatten(),
        });
    }

    /// Answers every wait that is met or timed out, and returns the tokens of the clients
    /// it unblocked: the loop runs their pending input again.
    /// Clients parked in a list pop are answered here too ([`Worker::finish_pops`]).
    pub(super) fn finish_waits<S>(&mut self, entries: &mut Slab<Entry<S>>) -> Vec<usize> {
        let mut unblocked = self.finish_pops(entries);
        self.finish_pulls(entries, &mut unblocked);
        if self.replica_waits.is_empty() {
            return unblocked;
        }
        let replication = &self.admin.replication;
        let lsn_last = self.db.lsn_last();
        let now = Instant::now();
        self.replica_waits.retain_mut(|wait| {
            let Some(entry) = entries
                .get_mut(wait.token)
                .filter(|entry| entry.connection.info.id == wait.client_id)
            else {
                return false; // closed
            };
            let target = *wait.target.get_or_insert(lsn_last);
            let count = replication.count_at(target);
            let timed_out = wait.deadline.is_some_and(|deadline| now >= deadline);
            if count < wait.needed && !timed_out {
                return true;
            }
            entry
                .connection
                .queue_reply(format!(":{count}\r\n").as_bytes());
            entry.connection.blocked = false;
            unblocked.push(wait.token);
            false
        });
        if !self.replica_waits.is_empty() {
            replication.wake_on_ack(&self.waker);
        }
        unblocked
    }

    /// How long the loop may sleep: `longest`, or less to answer the nearest WAIT (or list
    /// pop, or parked pull) timeout.
    pub(super) fn wait_timeout(&self, longest: Duration) -> Duration {
        let longest = self.pop_wait_timeout(longest);
        let now = Instant::now();
        self.replica_waits
            .iter()
            .filter_map(|wait| wait.deadline)
            .chain(self.pull_waits.iter().map(|wait| wait.deadline))
            .map(|deadline| deadline.saturating_duration_since(now))
            .fold(longest, Duration::min)
    }
}
