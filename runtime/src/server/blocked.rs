//! Clients blocked in WAIT: the client waits, its worker does not.
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
//! Invariants: a blocked client gets exactly one reply for its WAIT; a closed client's wait
//! is dropped (its token may be reused: the client id says whose a wait is).

use std::time::{Duration, Instant};

use slab::Slab;

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

impl Worker {
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
    /// pop) timeout.
    pub(super) fn wait_timeout(&self, longest: Duration) -> Duration {
        let longest = self.pop_wait_timeout(longest);
        let now = Instant::now();
        self.replica_waits
            .iter()
            .filter_map(|wait| wait.deadline)
            .map(|deadline| deadline.saturating_duration_since(now))
            .fold(longest, Duration::min)
    }
}
