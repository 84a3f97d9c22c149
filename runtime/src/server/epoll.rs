//! The epoll event loop (through `mio`): where io_uring is refused, or with `--io epoll`.
//!
//! Edge-triggered readiness: a readable socket is read until it would block (running the
//! requests after each read, so a fast sender cannot grow the input past one read), a
//! writable one is written until it would block. The log's wake-up arrives as a `mio`
//! waker event.
//!
//! Invariants: every registered socket is in the table under its token; a closed
//! connection is deregistered and forgotten in the same step.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Wake, Waker};
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use super::connection::{Control, DoorKind};
use super::{Entry, Shared, SocketState, Worker};

impl SocketState for TcpStream {
    fn in_flight(&self) -> usize {
        0 // epoll writes synchronously: nothing is in the kernel's hands on our behalf
    }
}

/// The token of the log's and the other workers' wake-ups.
const WAKE: Token = Token(usize::MAX);
/// Listener `i` has token `LISTENER_BASE + i`.
const LISTENER_BASE: usize = usize::MAX - 256;

/// Bytes read per `read` call.
const READ_SIZE: usize = 64 << 10;

/// How long a shutdown waits for held replies to settle before closing anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A `std` waker over a `mio` waker: the log writer calls it from its thread.
struct MioWake(mio::Waker);

impl Wake for MioWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // A failed wake-up write means the eventfd counter is full: a wake-up is pending.
        let _pending = self.0.wake();
    }
}

/// A worker's event loop; returns when floe shuts down.
pub(super) fn run(index: usize, shared: &Arc<Shared>) -> Result<(), String> {
    let mut poll = Poll::new().map_err(|error| format!("epoll: {error}"))?;
    let mio_waker =
        mio::Waker::new(poll.registry(), WAKE).map_err(|error| format!("epoll waker: {error}"))?;
    let waker = Waker::from(Arc::new(MioWake(mio_waker)));
    shared.clients.worker_waker(index, waker.clone());
    let mut worker = Worker::new(index, shared, waker);
    let mut listeners = Vec::new();
    for (position, listener) in shared.listeners[index].iter().enumerate() {
        let door = (listener.door, listener.tls);
        let listener = listener
            .socket
            .try_clone()
            .map_err(|error| format!("listener: {error}"))?;
        let mut listener = TcpListener::from_std(listener);
        poll.registry()
            .register(
                &mut listener,
                Token(LISTENER_BASE + position),
                Interest::READABLE,
            )
            .map_err(|error| format!("epoll: {error}"))?;
        listeners.push((door, listener));
    }
    let mut entries: Slab<Entry<TcpStream>> = Slab::new();
    let mut events = Events::with_capacity(1024);
    let mut flush = Vec::new();
    // Paused connections whose output drained below the limit: read and run again.
    let mut resume: Vec<usize> = Vec::new();
    let mut read_buffer = vec![0_u8; READ_SIZE];
    let mut shutdown_started: Option<Instant> = None;
    let mut housekeeping = Instant::now();
    loop {
        let timeout = if !resume.is_empty() {
            Duration::ZERO
        } else if shutdown_started.is_some() {
            Duration::from_millis(10)
        } else {
            worker.wait_timeout(Duration::from_secs(1))
        };
        match poll.poll(&mut events, Some(timeout)) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(format!("epoll_wait: {error}")),
        }
        // Messages published before this pass's requests arrived go out before their
        // replies.
        worker.deliver(&mut entries, &mut flush);
        for event in &events {
            match event.token() {
                WAKE => {}
                Token(token) if token >= LISTENER_BASE => {
                    if let Some((door, listener)) = listeners.get(token - LISTENER_BASE) {
                        accept(*door, listener, &poll, &mut worker, &mut entries);
                    }
                }
                Token(token) => {
                    if event.is_readable() || event.is_read_closed() || event.is_error() {
                        let read_closed = event.is_read_closed() || event.is_error();
                        receive(
                            token,
                            read_closed,
                            &mut worker,
                            &mut entries,
                            &mut read_buffer,
                            &mut flush,
                        );
                    }
                    if event.is_writable() {
                        flush.push(token);
                    }
                }
            }
        }
        for token in std::mem::take(&mut resume) {
            receive(
                token,
                true,
                &mut worker,
                &mut entries,
                &mut read_buffer,
                &mut flush,
            );
        }
        worker.deliver(&mut entries, &mut flush);
        worker.end_pass(&mut entries, &mut flush);
        for token in worker.finish_waits(&mut entries) {
            // Its WAIT answered: run what it sent since, next pass.
            flush.push(token);
            if !resume.contains(&token) {
                resume.push(token);
            }
        }
        for token in flush.drain(..) {
            send(token, &poll, &mut worker, &mut entries, &mut resume);
        }
        let tick = housekeeping.elapsed() >= Duration::from_secs(1);
        if tick {
            housekeeping = Instant::now();
            worker.expire_for_events();
        }
        for token in worker.to_close(&mut entries, tick) {
            close(token, &poll, &worker, &mut entries);
        }
        if worker.stopping() {
            let started = *shutdown_started.get_or_insert_with(|| {
                for (_, listener) in &mut listeners {
                    let _ignored = poll.registry().deregister(listener);
                }
                Instant::now()
            });
            let settled = entries
                .iter()
                .all(|(_, entry)| !entry.connection.is_waiting());
            if settled || started.elapsed() > SHUTDOWN_GRACE {
                let tokens: Vec<usize> = entries.iter().map(|(token, _)| token).collect();
                for token in tokens {
                    send(token, &poll, &mut worker, &mut entries, &mut resume);
                    close(token, &poll, &worker, &mut entries);
                }
                return Ok(());
            }
        }
    }
}

/// Accepts every waiting connection of a listener of `door` (inside TLS with `tls`).
fn accept(
    (door, tls): (DoorKind, bool),
    listener: &TcpListener,
    poll: &Poll,
    worker: &mut Worker,
    entries: &mut Slab<Entry<TcpStream>>,
) {
    loop {
        let (mut stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return, // EMFILE and the like: try again on the next event.
        };
        if worker.stopping() {
            continue;
        }
        if let Some(refusal) = worker.refusal(&peer) {
            worker.stats.rejected_count.fetch_add(1, Ordering::Relaxed);
            // Best effort: the refused client may not read it. A TLS client could not read
            // plaintext: it sees the connection close.
            if !tls {
                let _ignored = stream.write(&door.refusal_text(refusal));
            }
            continue;
        }
        let _ignored = stream.set_nodelay(true);
        let local = stream.local_addr().unwrap_or(peer);
        let vacant = entries.vacant_entry();
        let token = vacant.key();
        if poll
            .registry()
            .register(
                &mut stream,
                Token(token),
                Interest::READABLE | Interest::WRITABLE,
            )
            .is_err()
        {
            continue;
        }
        let Some((connection, door)) = worker.connected(peer, local, token, (door, tls)) else {
            let _ignored = poll.registry().deregister(&mut stream);
            continue;
        };
        vacant.insert(Entry {
            connection,
            door,
            socket: stream,
        });
    }
}

/// Reads what a client sent and runs it. `read_closed`: the peer's FIN (or an error) is
/// already known, so the socket is read to its end even after a short read.
fn receive(
    token: usize,
    read_closed: bool,
    worker: &mut Worker,
    entries: &mut Slab<Entry<TcpStream>>,
    buffer: &mut [u8],
    flush: &mut Vec<usize>,
) {
    let Some(entry) = entries.get_mut(token) else {
        return;
    };
    if entry.connection.paused {
        // Resumed: run what is already buffered before reading more.
        let control = entry.door.process(&mut entry.connection, worker, 0);
        // A blocked client is still read (its requests wait in the input), so that its
        // close is seen while it waits: a closed client must leave the waiters.
        if control == Control::CloseAfterFlush
            || (entry.connection.paused && !entry.connection.blocked)
        {
            flush.push(token);
            return;
        }
    }
    loop {
        if entry.connection.closing {
            break;
        }
        match entry.socket.read(buffer) {
            Ok(0) => {
                // The peer closed (or half-closed): nothing more will come.
                entry.connection.closing = true;
                break;
            }
            Ok(size) => {
                worker.stats.transferred(size as u64, 0);
                if !entry.connection.receive(&buffer[..size]) {
                    break; // TLS refused the peer: only its alert goes out
                }
                if entry.door.process(&mut entry.connection, worker, 0) == Control::CloseAfterFlush
                {
                    break;
                }
                if entry.connection.paused && !entry.connection.blocked {
                    // The rest stays in the socket until the client reads its replies.
                    break;
                }
                let limit = worker
                    .admin
                    .limits
                    .query_buffer_size_max
                    .load(Ordering::Relaxed);
                if entry.connection.input.len() as u64 > limit {
                    entry.door.refuse(
                        &mut entry.connection,
                        "ERR client query buffer limit exceeded (client-query-buffer-limit): \
                         closing",
                    );
                    break;
                }
                if size < buffer.len() && !read_closed {
                    // A short read drained the socket: the next byte (or the FIN) raises a
                    // new edge, so the read that would only say "would block" is saved. A
                    // FIN that came with this edge raises none: then read on to the end.
                    break;
                }
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                entry.connection.closing = true;
                break;
            }
        }
    }
    flush.push(token);
}

/// Writes what is released; closes a closing connection once all is sent; queues a paused
/// one in `resume` once its output is below the limit again.
fn send(
    token: usize,
    poll: &Poll,
    worker: &mut Worker,
    entries: &mut Slab<Entry<TcpStream>>,
    resume: &mut Vec<usize>,
) {
    let Some(entry) = entries.get_mut(token) else {
        return;
    };
    let mut written = 0;
    let mut broken = false;
    let wire = entry.connection.wire();
    while written < wire.len() {
        match entry.socket.write(&wire[written..]) {
            Ok(0) => {
                broken = true;
                break;
            }
            Ok(size) => written += size,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                broken = true;
                break;
            }
        }
    }
    worker.stats.transferred(0, written as u64);
    wire.drain(..written);
    entry.connection.output_sent();
    if written > 0 {
        entry.connection.progress = true;
    }
    let limit = worker
        .admin
        .limits
        .output_buffer_size_max
        .load(Ordering::Relaxed);
    let under = (entry.connection.output_size() as u64) < limit;
    if entry.connection.paused
        && under
        && !entry.connection.blocked
        && !entry.connection.closing
        && !resume.contains(&token)
    {
        resume.push(token);
    }
    let done = entry.connection.closing
        && entry.connection.wire_is_empty()
        && !entry.connection.is_waiting();
    if broken || done {
        close(token, poll, worker, entries);
    }
}

/// Deregisters and forgets a connection (the socket closes on drop).
fn close(token: usize, poll: &Poll, worker: &Worker, entries: &mut Slab<Entry<TcpStream>>) {
    if let Some(mut entry) = entries.try_remove(token) {
        let _ignored = poll.registry().deregister(&mut entry.socket);
        worker.disconnected(&entry.connection);
    }
}
