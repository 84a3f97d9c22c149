//! The durable command path every door (the stdin CLI, the RESP server, tests) shares:
//! **prepare → apply → settle**.
//!
//! ```text
//!  prepare   command lookup, arity, read or write: no lock held
//!  apply     under the locks of the shards its keys hash to (none for PING, every shard
//!            for FLUSHALL or KEYS): floe-core's command table writes the reply into the
//!            door's sink; a write's records go to the Db's log buffer  → Durability
//!  commit    once per batch of requests: the buffered records become one log append
//!            (one ticket covers every write applied before the call)
//!  settle    blocking: Db::wait(ticket)          (CLI, embedded callers)
//!            event loop: Db::poll(ticket, waker)  (Pending, then the waker fires)
//! ```
//!
//! A door sends a write's reply only once its ticket settled: under `always` that is when an
//! fdatasync covered it, under `everysec` and `no` when it is written to the log file, so a
//! crash of the process never loses an acknowledged write under any policy.
//!
//! Reads are never refused: they skip the writable check (a poisoned or closed log refuses
//! writes only) and do not count toward the active-expiry interval.
//!
//! Invariants: a ticket returned by [`Db::commit`] covers every record applied before the
//! call (appends happen in apply order, and an empty buffer returns the last append's
//! ticket, taken after any append in flight finished); a refused write runs nothing.

use std::task::{Poll, Waker};

use floe_core::codec::resp::{Protocol, ReplySink, ReplyWriter};
use floe_core::command::{self, Arguments, CommandSpec, Outcome, Session};

use super::route::Route;
use super::{Db, DbError, Inner, WatchMark, lock};
use crate::error::Error;
use crate::log::Ticket;

/// Finishes a runtime command queued in MULTI under EXEC's locks (see
/// [`Db::apply_transaction_with`]): given its arguments and the protocol, writes one reply
/// frame and returns `true`, or returns `false` for the usual refusal.
pub type QueuedRuntime<'f> = dyn FnMut(&[&[u8]], Protocol, &mut Vec<u8>) -> bool + 'f;

/// A check of each queued command as EXEC reaches it (see [`Db::apply_transaction_with`];
/// the server's ACL re-check): given its arguments, an error text to reply in its place
/// (it then does not run), or `None` to run it.
pub type QueuedCheck<'f> = dyn FnMut(&[&[u8]]) -> Option<String> + 'f;

/// A check run under a command's locks, before it (see [`Db::apply_guarded`]): given the
/// shards and the time, an error text to reply instead, or `None` to run the command.
pub type Guard<'f> = dyn FnMut(&mut dyn floe_core::store::Shards<'_>, floe_core::time::Timestamp) -> Option<String>
    + 'f;

/// A request checked against the command table, before any lock is taken.
#[derive(Debug)]
pub struct Prepared<'r, A: ?Sized> {
    args: &'r A,
    /// The table's entry for the name; `None` for an unknown command.
    found: Option<&'static CommandSpec>,
    /// `found`, if the arity fits: `None` means apply writes the error.
    spec: Option<&'static CommandSpec>,
}

impl<A: Arguments + ?Sized> Prepared<'_, A> {
    /// The command's table entry, if the name is known and the arity fits.
    #[must_use]
    pub fn spec(&self) -> Option<&'static CommandSpec> {
        self.spec
    }

    /// Whether the command may change the store (and so is refused by a failed log).
    #[must_use]
    pub fn is_write(&self) -> bool {
        self.spec.is_some_and(CommandSpec::is_write)
    }

    fn access(&self) -> Access {
        if self.is_write() {
            Access::Write
        } else {
            Access::Read
        }
    }
}

/// What a caller must still do before it may send a command's reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a write's reply may be sent only once its records are durable"]
pub enum Durability {
    /// Nothing: a read, a write that changed nothing, or persistence off.
    Done,
    /// The records wait in the Db's log buffer: [`Db::commit`] appends them and returns the
    /// ticket to settle.
    Buffered,
    /// Appended: send the reply once [`Db::poll`] or [`Db::wait`] says the ticket settled.
    Appended(Ticket),
}

/// What [`Db::apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Applied {
    /// What the command table asks of the door (close, or finish a runtime command).
    pub outcome: Outcome,
    /// What must happen before the reply may be sent.
    pub durability: Durability,
}

/// Whether an operation may change the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    Read,
    Write,
}

/// Who settles a write's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Hand {
    /// The Db's own key-value methods: append now, or leave to the flusher under
    /// `everysec` and `no`.
    Embedded,
    /// A door: leave in the buffer; the door commits once per batch.
    Door,
}

impl Db {
    /// Looks the command up and checks its arity; takes no lock.
    pub fn prepare<'r, A: Arguments + ?Sized>(&self, args: &'r A) -> Prepared<'r, A> {
        let found = args.get(0).and_then(command::lookup);
        let spec = found.filter(|spec| spec.accepts(args.count()));
        Prepared { args, found, spec }
    }

    /// Runs a prepared command under its shards' locks and writes its one reply frame into
    /// `reply`, in the session's protocol (nothing for [`Outcome::Runtime`]: the door
    /// finishes those, see [`crate::admin`]).
    ///
    /// # Errors
    /// A write when the log has failed ([`Error::Poisoned`]) or the Db is closed: nothing
    /// ran and nothing was written; reply with [`DbError::reply_text`].
    pub fn apply<A, S>(
        &self,
        prepared: &Prepared<'_, A>,
        session: &mut Session,
        reply: &mut S,
    ) -> Result<Applied, DbError>
    where
        A: Arguments + ?Sized,
        S: ReplySink + ?Sized,
    {
        self.apply_guarded(prepared, session, reply, &mut |_, _| None)
    }

    /// As [`Db::apply`], with `guard` asked first under the same locks: an error text it
    /// returns is the reply instead, and the command does not run (cluster mode's routing
    /// of a migrating slot, which depends on which keys exist at that moment).
    ///
    /// # Errors
    /// As [`Db::apply`].
    pub fn apply_guarded<A, S>(
        &self,
        prepared: &Prepared<'_, A>,
        session: &mut Session,
        reply: &mut S,
        guard: &mut Guard<'_>,
    ) -> Result<Applied, DbError>
    where
        A: Arguments + ?Sized,
        S: ReplySink + ?Sized,
    {
        if prepared.is_write() {
            self.writable_by_clients()?;
        }
        let route = Route::of_command(self.shard_count(), prepared.spec, prepared.args);
        let (outcome, durability) =
            self.run(prepared.access(), Hand::Door, route, |shards, now, log| {
                if let Some(text) = guard(shards, now) {
                    ReplyWriter::new(&mut *reply, session.protocol).error(text.as_bytes());
                    return Outcome::Done;
                }
                command::execute_looked_up(
                    prepared.found,
                    shards,
                    session,
                    prepared.args,
                    now,
                    reply,
                    log,
                )
            })?;
        Ok(Applied {
            outcome,
            durability,
        })
    }

    /// Runs a MULTI block (`queued`, each a request's arguments) as EXEC: holding every
    /// shard's lock, so no other client's command interleaves, and logged as one group, so
    /// recovery applies all of it or none. Writes an array of the replies, or a null array
    /// when a watched key changed since WATCH (then nothing ran).
    ///
    /// Commands the runtime must finish (SAVE, INFO, CONFIG, ...) get an error reply inside
    /// the array: they need the shard locks this call holds.
    ///
    /// # Errors
    /// As [`Db::apply`], when any queued command is a write.
    pub fn apply_transaction<S: ReplySink + ?Sized>(
        &self,
        queued: &[Vec<Vec<u8>>],
        watched: &[WatchMark],
        session: &mut Session,
        reply: &mut S,
    ) -> Result<Durability, DbError> {
        self.apply_transaction_with(
            queued,
            watched,
            session,
            reply,
            &mut |_, _, _| false,
            &mut |_| None,
            &mut |_, _| None,
        )
    }

    /// As [`Db::apply_transaction`], with `runtime` to finish the commands the runtime
    /// may run under the shard locks (the server's PUBLISH): it is given a command's
    /// arguments and the protocol, writes exactly one reply frame to its buffer and returns
    /// `true`, or returns `false` (and writes nothing) for the usual error reply. `check`
    /// sees each command as its turn comes (once the watched keys are known unchanged),
    /// and may refuse it with an error reply in its place; `guard` sees the block first.
    ///
    /// # Errors
    /// As [`Db::apply`], when any queued command is a write.
    #[expect(
        clippy::too_many_arguments,
        reason = "the block, its watches, the client, the reply, and the three hooks the \
                  server finishes a block with"
    )]
    pub fn apply_transaction_with<S: ReplySink + ?Sized>(
        &self,
        queued: &[Vec<Vec<u8>>],
        watched: &[WatchMark],
        session: &mut Session,
        reply: &mut S,
        runtime: &mut QueuedRuntime<'_>,
        check: &mut QueuedCheck<'_>,
        guard: &mut Guard<'_>,
    ) -> Result<Durability, DbError> {
        let write = queued.iter().any(|args| {
            let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            self.prepare(args.as_slice()).is_write()
        });
        if write {
            self.writable_by_clients()?;
        }
        let access = if write { Access::Write } else { Access::Read };
        let route = self.route_all();
        let ((), durability) = self.run(access, Hand::Door, route, |shards, now, log| {
            if let Some(text) = guard(shards, now) {
                ReplyWriter::new(&mut *reply, session.protocol).error(text.as_bytes());
                return;
            }
            let changed = watched.iter().any(|mark| {
                let alive = shards.store_for(&mark.key).exists(mark.db, &mark.key, now);
                (mark.alive && !alive) || log.watch.version(mark.db, &mark.key) != mark.version
            });
            if changed {
                ReplyWriter::new(&mut *reply, session.protocol).null_array();
                return;
            }
            ReplyWriter::new(&mut *reply, session.protocol).array_header(queued.len());
            // Inside MULTI a blocking pop does not block: it replies the timeout's null.
            let may_block = std::mem::replace(&mut session.may_block, false);
            for args in queued {
                let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
                if let Some(text) = check(args.as_slice()) {
                    ReplyWriter::new(&mut *reply, session.protocol).error(text.as_bytes());
                    continue;
                }
                // One frame per command: a runtime command writes none, so say why here.
                if let Outcome::Runtime(_) =
                    command::execute(shards, session, args.as_slice(), now, reply, log)
                {
                    let mut finished = Vec::new();
                    if runtime(args.as_slice(), session.protocol, &mut finished) {
                        reply.put(&finished);
                    } else {
                        ReplyWriter::new(&mut *reply, session.protocol)
                            .error(b"ERR this command cannot run inside MULTI in floe");
                    }
                }
            }
            session.may_block = may_block;
            // The whole block is one entry of the log buffer: one group.
        })?;
        Ok(durability)
    }

    /// Remembers the current version of `key` in database `db`, for EXEC to compare.
    #[must_use]
    pub fn watch(&self, db: u8, key: &[u8]) -> WatchMark {
        let inner = &*self.inner;
        let (alive, version) = self.read(self.route_key(key), |shards, now| {
            let alive = shards.store_for(key).exists(db, key, now);
            // Read under the shard's lock, which every change to the key holds.
            (alive, inner.watch.version(db, key))
        });
        WatchMark {
            db,
            key: key.to_vec(),
            version,
            alive,
        }
    }

    /// Appends every record applied so far and not yet appended, as one batch, and returns
    /// the ticket that covers them (and everything before): `None` when nothing was ever
    /// appended or persistence is off.
    ///
    /// # Errors
    /// [`Error::Poisoned`] if the log failed (now or before).
    pub fn commit(&self) -> Result<Option<Ticket>, DbError> {
        let inner = &*self.inner;
        inner.append_dirty()?;
        // The last append covers ours. A shard whose mark another caller cleared had its
        // records taken by an append that holds the appender lock until it is done: taking
        // the lock waits for it (see `db/route.rs`).
        let ticket = lock(&inner.appender).ticket_last;
        Inner::snapshot_start_if_wanted(&self.inner);
        Ok(ticket)
    }

    /// Whether `ticket` is as durable as the fsync policy promises, without blocking:
    /// `Pending` registers `waker`, which the log's writer thread wakes on progress.
    ///
    /// # Errors
    /// Inside `Ready`: [`Error::Poisoned`] if the log failed before the ticket settled.
    pub fn poll(&self, ticket: Ticket, waker: &Waker) -> Poll<Result<(), DbError>> {
        let inner = &*self.inner;
        let Some(log) = &inner.log else {
            return Poll::Ready(Ok(()));
        };
        log.poll(ticket, waker)
            .map(|outcome| outcome.map_err(|error| inner.fail(error)))
    }

    /// Blocks until `ticket` is as durable as the fsync policy promises.
    ///
    /// # Errors
    /// [`Error::Poisoned`] if the log failed first.
    pub fn wait(&self, ticket: Ticket) -> Result<(), DbError> {
        let inner = &*self.inner;
        match &inner.log {
            Some(log) => log.wait(ticket).map_err(|error| inner.fail(error)),
            None => Ok(()),
        }
    }

    /// Blocks until an applied command's reply may be sent: commits if its records are
    /// buffered, then waits for the ticket. For doors that serve one request at a time.
    ///
    /// # Errors
    /// As [`Db::commit`] and [`Db::wait`].
    pub fn settle(&self, durability: Durability) -> Result<(), DbError> {
        let ticket = match durability {
            Durability::Done => return Ok(()),
            Durability::Buffered => self.commit()?,
            Durability::Appended(ticket) => Some(ticket),
        };
        match ticket {
            Some(ticket) => self.wait(ticket),
            None => Ok(()),
        }
    }
}

impl DbError {
    /// The text of a RESP error reply for this error, with Redis's error code: `MISCONF` for
    /// a log that refuses writes (as Redis answers when its AOF cannot be written), `OOM`
    /// and the store's own codes for store errors, `ERR` for the rest.
    #[must_use]
    pub fn reply_text(&self) -> String {
        match self {
            Self::Store(error) => String::from_utf8_lossy(error.message().as_bytes()).into_owned(),
            Self::Runtime(Error::Poisoned { cause }) => format!(
                "MISCONF writes are refused: the log failed ({cause}); reads still work. Fix \
                 the disk, then restart floe: it recovers everything acknowledged"
            ),
            Self::Runtime(Error::Closed) => "ERR the database is shutting down".to_owned(),
            Self::PersistenceOff => {
                "ERR persistence is off (--persistence off): there is nowhere to save".to_owned()
            }
            Self::ReadOnly => "READONLY You can't write against a read only replica.".to_owned(),
            Self::NoReplicas => "NOREPLICAS Not enough good replicas to write.".to_owned(),
            other => format!("ERR {other}"),
        }
    }
}
