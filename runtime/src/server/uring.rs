//! The io_uring event loop: accept, receive and send for every client of a worker, and the
//! log's wake-ups, all through one ring, with one `io_uring_enter` per loop pass.
//!
//! - Accept: one multishot accept per listener (re-armed when the kernel ends it); every
//!   worker arms one on the same listening socket, and the kernel hands each connection to
//!   one of them.
//! - Receive: one multishot receive per client, into buffers the kernel picks from the
//!   worker's provided-buffer ring ([`BufferRing`]): no receive buffer per client, one SQE
//!   for the client's lifetime. Each buffer goes back to the ring as soon as its bytes are
//!   copied to the client's input. When the ring runs dry (`ENOBUFS`) or the kernel ends the
//!   multishot, the receive is re-armed.
//! - Send: one send in flight per client, of the bytes released so far; what is released
//!   meanwhile goes out in the next send.
//! - Wake-ups: a read on one end of a socket pair, which the log writer's [`Waker`] (and
//!   the other workers, for CLIENT KILL and shutdown) write a byte to.
//! - Housekeeping (kills, idle timeouts, slow readers, shutdown) runs at least once a
//!   second: the wait carries a timeout.
//!
//! No SQPOLL and no busy polling: the clients share these cores.
//!
//! This module is allowed `unsafe`, for pushing SQEs and adopting accepted descriptors.
//! Invariants it upholds:
//! - **Buffer lifetime.** Receives write only into the [`BufferRing`]'s buffers, which live
//!   (with the ring's entries) until after the ring is dropped, and a buffer is handed back
//!   to the kernel only after its bytes were copied out. A send points into
//!   `Socket::sending`, which is not touched, moved or dropped while the send is in flight.
//!   A socket's entry is removed only when neither its receive nor its send is in flight; a
//!   closing socket is `shutdown` first, which ends both.
//! - **Routing.** Completions are routed by `user_data` = token << 3 | kind; a token is
//!   reused only after its entry was removed, which waits for its last completion.
//! - **Ring teardown.** The ring is dropped before the sockets' table (declaration order),
//!   after every socket was shut down and its completions drained (bounded by a grace time).

#![allow(unsafe_code)]

use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Wake, Waker};
use std::time::{Duration, Instant};

use io_uring::{IoUring, Probe, cqueue, opcode, squeue, types};
use slab::Slab;

use super::connection::{BUFFER_RETAIN_SIZE, Control};
use super::{Entry, Shared, SocketState, Worker};

/// Submission and completion queue size.
const RING_ENTRIES: u32 = 4096;

/// Bytes of one provided receive buffer.
const RECEIVE_SIZE: usize = 16 << 10;

/// Provided receive buffers per worker (a power of two, at most 2^15): 4 MiB of them.
const RECEIVE_BUFFER_COUNT: u16 = 256;

/// The buffer group id of the worker's provided-buffer ring.
const BUFFER_GROUP: u16 = 0;

/// How a shutdown waits for held replies and in-flight operations before giving up.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Operation kinds in the low bits of `user_data`.
const KIND_ACCEPT: u64 = 0;
const KIND_RECEIVE: u64 = 1;
const KIND_SEND: u64 = 2;
const KIND_WAKE: u64 = 3;
const KIND_BITS: u32 = 3;

fn user_data(token: usize, kind: u64) -> u64 {
    ((token as u64) << KIND_BITS) | kind
}

/// A client socket and the buffers its operations use.
#[derive(Debug)]
struct Socket {
    stream: TcpStream,
    /// A multishot receive is armed.
    receiving: bool,
    /// Bytes handed to the send in flight (or being resubmitted after a short send).
    sending: Vec<u8>,
    sent: usize,
    send_in_flight: bool,
    /// Shut down: waiting for its operations to end before it is removed.
    shut: bool,
}

impl SocketState for Socket {
    fn in_flight(&self) -> usize {
        self.sending.len() - self.sent
    }
}

/// A `std` waker that writes a byte to the worker's wake-up socket.
struct PipeWake(UnixStream);

impl Wake for PipeWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // WouldBlock: the socket is full of wake-ups already; one is enough.
        let _pending = (&self.0).write(&[1]);
    }
}

/// A worker's ring: one thread submits (SINGLE_ISSUER), and completions' task work runs
/// when that thread waits for them (DEFER_TASKRUN), not by interrupting it whenever a packet
/// arrives. Kernels before 6.1 lack these; the plain ring works the same, a little slower.
fn new_ring() -> io::Result<IoUring> {
    IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .build(RING_ENTRIES)
        .or_else(|_| IoUring::new(RING_ENTRIES))
}

/// Whether io_uring can serve here: a ring can be made, and it knows every operation the
/// loop uses and the wait with a timeout.
pub(super) fn probe() -> Result<(), String> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut numbers = release
        .trim()
        .split(['.', '-'])
        .map(|part| part.parse::<u32>().unwrap_or(0));
    let version = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    if version < (6, 0) {
        return Err(format!(
            "kernel {} is older than 6.0 (multishot receive)",
            release.trim()
        ));
    }
    let ring = IoUring::new(8).map_err(|error| error.to_string())?;
    if !ring.params().is_feature_ext_arg() {
        return Err("the kernel lacks IORING_FEAT_EXT_ARG (waits with a timeout)".to_owned());
    }
    let mut probe = Probe::new();
    ring.submitter()
        .register_probe(&mut probe)
        .map_err(|error| format!("probe: {error}"))?;
    for (code, name) in [
        (opcode::AcceptMulti::CODE, "accept"),
        (opcode::Recv::CODE, "recv"),
        (opcode::Send::CODE, "send"),
        (opcode::Read::CODE, "read"),
    ] {
        if !probe.is_supported(code) {
            return Err(format!("the kernel does not support {name} on io_uring"));
        }
    }
    Ok(())
}

/// The ring and what is in flight on it.
struct Ring {
    ring: IoUring,
    in_flight: usize,
}

impl Ring {
    /// Queues an SQE, submitting first if the queue is full.
    ///
    /// # Safety
    /// Every buffer `entry` points at stays valid and unmoved until its completion.
    unsafe fn push(&mut self, entry: &squeue::Entry) -> io::Result<()> {
        assert!(
            self.in_flight < RING_ENTRIES as usize,
            "in_flight={}",
            self.in_flight
        );
        loop {
            // SAFETY: the caller keeps the entry's buffers alive until its completion.
            if unsafe { self.ring.submission().push(entry) }.is_ok() {
                self.in_flight += 1;
                return Ok(());
            }
            self.ring.submit()?;
        }
    }
}

/// The worker's provided-buffer ring: `RECEIVE_BUFFER_COUNT` buffers of `RECEIVE_SIZE`
/// bytes that the kernel fills for multishot receives, and the ring of entries through
/// which they are handed to the kernel.
///
/// Invariants: a buffer id is in the kernel's hands exactly when it is in the ring (added
/// at start, taken by a completion that names it, added back by [`BufferRing::give_back`]
/// after its bytes were copied); the entries and buffers are never moved (boxed, and
/// allocated once) and outlive the io_uring they are registered with.
struct BufferRing {
    /// Page-aligned ring entries; the kernel reads them, we write them.
    entries: *mut types::BufRingEntry,
    buffers: Box<[u8]>,
    /// Our copy of the ring's tail (the kernel reads the shared one).
    tail: u16,
}

impl BufferRing {
    fn layout() -> std::alloc::Layout {
        let size = size_of::<types::BufRingEntry>() * usize::from(RECEIVE_BUFFER_COUNT);
        // NOTE: 4096 is a power of two and the size is small: the layout is valid.
        std::alloc::Layout::from_size_align(size, 4096)
            .unwrap_or_else(|_| unreachable!("valid layout"))
    }

    /// Allocates the ring, registers it with `ring` and hands every buffer to the kernel.
    fn new(ring: &IoUring) -> io::Result<Self> {
        // SAFETY: the layout has a non-zero size.
        let entries =
            unsafe { std::alloc::alloc_zeroed(Self::layout()) }.cast::<types::BufRingEntry>();
        if entries.is_null() {
            return Err(io::Error::new(io::ErrorKind::OutOfMemory, "buffer ring"));
        }
        let mut buffers = Self {
            entries,
            buffers: vec![0; RECEIVE_SIZE * usize::from(RECEIVE_BUFFER_COUNT)].into_boxed_slice(),
            tail: 0,
        };
        // SAFETY: `entries` holds RECEIVE_BUFFER_COUNT page-aligned entries that live until
        // `Drop` (after the ring, which `run` drops first).
        unsafe {
            ring.submitter().register_buf_ring_with_flags(
                entries as u64,
                RECEIVE_BUFFER_COUNT,
                BUFFER_GROUP,
                0,
            )?;
        }
        for id in 0..RECEIVE_BUFFER_COUNT {
            buffers.push(id);
        }
        buffers.publish();
        Ok(buffers)
    }

    /// The bytes the kernel put in buffer `id`.
    fn bytes(&self, id: u16, size: usize) -> &[u8] {
        let start = usize::from(id) * RECEIVE_SIZE;
        &self.buffers[start..start + size.min(RECEIVE_SIZE)]
    }

    /// Puts buffer `id` in the next entry (not yet visible to the kernel).
    fn push(&mut self, id: u16) {
        assert!(id < RECEIVE_BUFFER_COUNT, "buffer id={id}");
        let index = usize::from(self.tail & (RECEIVE_BUFFER_COUNT - 1));
        let start = usize::from(id) * RECEIVE_SIZE;
        // SAFETY: `index` is below RECEIVE_BUFFER_COUNT, inside the allocation; the kernel
        // does not read entries past the published tail, and this one is past it.
        let entry = unsafe { &mut *self.entries.add(index) };
        entry.set_addr(self.buffers[start..].as_mut_ptr() as u64);
        entry.set_len(u32::try_from(RECEIVE_SIZE).unwrap_or(u32::MAX));
        entry.set_bid(id);
        self.tail = self.tail.wrapping_add(1);
    }

    /// Makes the pushed entries visible to the kernel.
    fn publish(&self) {
        // SAFETY: the tail field lies inside the first entry; the kernel reads it, and only
        // this thread writes it, with release order after the entries.
        unsafe {
            let tail =
                types::BufRingEntry::tail(self.entries).cast::<std::sync::atomic::AtomicU16>();
            (*tail).store(self.tail, Ordering::Release);
        }
    }

    /// Hands buffer `id` back to the kernel once its bytes were copied out.
    fn give_back(&mut self, id: u16) {
        self.push(id);
        self.publish();
    }
}

impl Drop for BufferRing {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout; the ring that used it is gone.
        unsafe { std::alloc::dealloc(self.entries.cast::<u8>(), Self::layout()) };
    }
}

/// A worker's event loop; returns when floe shuts down.
pub(super) fn run(index: usize, shared: &Arc<Shared>) -> Result<(), String> {
    // Declared before the ring (and the buffer ring before it), so the ring is dropped
    // first (see the module invariants).
    let mut entries: Slab<Entry<Socket>> = Slab::new();
    let mut wake_buffer = [0_u8; 64];
    let (wake_reader, wake_writer) =
        UnixStream::pair().map_err(|error| format!("wake-up socket: {error}"))?;
    wake_writer
        .set_nonblocking(true)
        .map_err(|error| format!("wake-up socket: {error}"))?;
    let mut buffers: Option<BufferRing> = None;
    let mut ring = Ring {
        ring: new_ring().map_err(|error| format!("io_uring: {error}"))?,
        in_flight: 0,
    };
    let buffers = buffers.insert(
        BufferRing::new(&ring.ring)
            .map_err(|error| format!("io_uring provided buffers: {error}"))?,
    );
    let waker = Waker::from(Arc::new(PipeWake(wake_writer)));
    shared.clients.worker_waker(index, waker.clone());
    let mut worker = Worker::new(index, shared, waker);
    for (position, listener) in shared.listeners[index].iter().enumerate() {
        arm_accept(&mut ring, listener.socket.as_raw_fd(), position)?;
    }
    arm_wake(&mut ring, &wake_reader, &mut wake_buffer)?;
    let mut completions: Vec<(u64, i32, u32)> = Vec::with_capacity(RING_ENTRIES as usize);
    let mut flush = Vec::new();
    let mut rearm = Vec::new();
    let mut shutdown_started: Option<Instant> = None;
    let mut housekeeping = Instant::now();
    loop {
        let wait = if shutdown_started.is_some() {
            Duration::from_millis(10)
        } else {
            worker.wait_timeout(Duration::from_secs(1))
        };
        let timespec = types::Timespec::from(wait);
        let arguments = types::SubmitArgs::new().timespec(&timespec);
        match ring.ring.submitter().submit_with_args(1, &arguments) {
            Ok(_) => {}
            Err(error)
                if matches!(
                    error.raw_os_error(),
                    Some(libc::ETIME | libc::EINTR | libc::EBUSY | libc::EAGAIN)
                ) => {}
            Err(error) => return Err(format!("io_uring_enter: {error}")),
        }
        completions.clear();
        completions.extend(
            ring.ring
                .completion()
                .map(|entry| (entry.user_data(), entry.result(), entry.flags())),
        );
        // Messages published before this pass's requests arrived go out before their
        // replies.
        worker.deliver(&mut entries, &mut flush);
        for &(data, result, flags) in &completions {
            let token = usize::try_from(data >> KIND_BITS).unwrap_or(usize::MAX);
            if !cqueue::more(flags) {
                ring.in_flight -= 1;
            }
            match data & ((1 << KIND_BITS) - 1) {
                KIND_ACCEPT => {
                    accepted(result, token, &mut ring, &mut worker, &mut entries)?;
                    if !cqueue::more(flags)
                        && shutdown_started.is_none()
                        && let Some(listener) = shared.listeners[index].get(token)
                    {
                        arm_accept(&mut ring, listener.socket.as_raw_fd(), token)?;
                    }
                }
                KIND_RECEIVE => {
                    let more = cqueue::more(flags);
                    let buffer = cqueue::buffer_select(flags);
                    received(
                        result,
                        more,
                        buffer,
                        token,
                        buffers,
                        &mut worker,
                        &mut entries,
                        &mut flush,
                        &mut rearm,
                    );
                }
                KIND_SEND => sent(
                    result,
                    token,
                    &mut ring,
                    &mut worker,
                    &mut entries,
                    &mut flush,
                ),
                KIND_WAKE => arm_wake(&mut ring, &wake_reader, &mut wake_buffer)?,
                other => unreachable!("completion of unknown kind {other}"),
            }
        }
        worker.deliver(&mut entries, &mut flush);
        worker.end_pass(&mut entries, &mut flush);
        for token in worker.finish_waits(&mut entries) {
            resume(token, &mut ring, &mut worker, &mut entries, &mut flush);
            flush.push(token);
        }
        for token in flush.drain(..) {
            start_send(token, &mut ring, &mut worker, &mut entries);
        }
        // Receives the kernel ended (ENOBUFS, or a multishot it chose to stop) start again
        // now that this pass gave its buffers back.
        for token in rearm.drain(..) {
            if let Some(entry) = entries.get_mut(token)
                && !entry.connection.closing
            {
                arm_receive(token, &mut ring, &mut entry.socket);
            }
        }
        let tick = housekeeping.elapsed() >= Duration::from_secs(1);
        if tick {
            housekeeping = Instant::now();
            worker.expire_for_events();
        }
        for token in worker.to_close(&mut entries, tick) {
            close(token, &worker, &mut entries);
        }
        if worker.stopping() {
            let started = *shutdown_started.get_or_insert_with(Instant::now);
            // Wait for the log only, not for clients to read: a client that never reads
            // would hold the exit for the whole grace time (the epoll loop does not wait
            // for it either).
            let settled = entries
                .iter()
                .all(|(_, entry)| !entry.connection.is_waiting());
            if settled || started.elapsed() > SHUTDOWN_GRACE {
                // The last replies go out as far as the sockets take them now: the kernel
                // tries each queued send at submission, before the shutdowns below.
                let _submitted = ring.ring.submit();
                let tokens: Vec<usize> = entries.iter().map(|(token, _)| token).collect();
                for token in tokens {
                    close(token, &worker, &mut entries);
                }
                if entries.is_empty() || started.elapsed() > SHUTDOWN_GRACE * 2 {
                    return Ok(());
                }
            }
        }
    }
}

fn arm_accept(ring: &mut Ring, listener: i32, position: usize) -> Result<(), String> {
    let entry = opcode::AcceptMulti::new(types::Fd(listener))
        .flags(libc::SOCK_CLOEXEC)
        .build()
        .user_data(user_data(position, KIND_ACCEPT));
    // SAFETY: an accept points at no buffer; the listener lives as long as the process.
    unsafe { ring.push(&entry) }.map_err(|error| format!("io_uring accept: {error}"))
}

fn arm_wake(ring: &mut Ring, reader: &UnixStream, buffer: &mut [u8; 64]) -> Result<(), String> {
    let entry = opcode::Read::new(types::Fd(reader.as_raw_fd()), buffer.as_mut_ptr(), 64)
        .build()
        .user_data(user_data(0, KIND_WAKE));
    // SAFETY: `buffer` and `reader` are locals of `run` that outlive the ring.
    unsafe { ring.push(&entry) }.map_err(|error| format!("io_uring read: {error}"))
}

fn arm_receive(token: usize, ring: &mut Ring, socket: &mut Socket) {
    if socket.receiving || socket.shut {
        return;
    }
    let entry = opcode::RecvMulti::new(types::Fd(socket.stream.as_raw_fd()), BUFFER_GROUP)
        .build()
        .user_data(user_data(token, KIND_RECEIVE));
    // SAFETY: the receive writes only into provided buffers (see `BufferRing`).
    if unsafe { ring.push(&entry) }.is_ok() {
        socket.receiving = true;
    }
}

/// A completed accept: adopt the descriptor, refuse or register the client.
fn accepted(
    result: i32,
    listener: usize,
    ring: &mut Ring,
    worker: &mut Worker,
    entries: &mut Slab<Entry<Socket>>,
) -> Result<(), String> {
    if result < 0 {
        return Ok(()); // EMFILE and the like: the next accept may succeed.
    }
    // SAFETY: a successful accept returns a new descriptor that nothing else owns.
    let mut stream = unsafe { TcpStream::from_raw_fd(result) };
    if worker.stopping() {
        return Ok(());
    }
    let Ok(peer) = stream.peer_addr() else {
        return Ok(());
    };
    let (door, tls) = worker.door_of(listener);
    if let Some(refusal) = worker.refusal(&peer) {
        worker.stats.rejected_count.fetch_add(1, Ordering::Relaxed);
        // Best effort; a TLS client could not read plaintext: it sees the close.
        if !tls {
            let _ignored = stream.write(&door.refusal_text(refusal));
        }
        return Ok(());
    }
    let _ignored = stream.set_nodelay(true);
    let local = stream.local_addr().unwrap_or(peer);
    let vacant = entries.vacant_entry();
    let token = vacant.key();
    let Some((connection, door)) = worker.connected(peer, local, token, (door, tls)) else {
        return Ok(());
    };
    let entry = vacant.insert(Entry {
        connection,
        door,
        socket: Socket {
            stream,
            receiving: false,
            sending: Vec::new(),
            sent: 0,
            send_in_flight: false,
            shut: false,
        },
    });
    arm_receive(token, ring, &mut entry.socket);
    Ok(())
}

/// A completed receive: copy the bytes out of the provided buffer (and give it back), run
/// them; note a receive the kernel ended, to re-arm at the end of the pass.
#[expect(
    clippy::too_many_arguments,
    reason = "one completion's fields and the loop's state"
)]
fn received(
    result: i32,
    more: bool,
    buffer: Option<u16>,
    token: usize,
    buffers: &mut BufferRing,
    worker: &mut Worker,
    entries: &mut Slab<Entry<Socket>>,
    flush: &mut Vec<usize>,
    rearm: &mut Vec<usize>,
) {
    let size = usize::try_from(result).unwrap_or(0);
    let Some(entry) = entries.get_mut(token) else {
        if let Some(id) = buffer {
            buffers.give_back(id);
        }
        return;
    };
    if !more {
        entry.socket.receiving = false;
    }
    let mut refused = false;
    if let Some(id) = buffer {
        if !entry.socket.shut && !entry.connection.closing {
            refused = !entry.connection.receive(buffers.bytes(id, size));
        }
        buffers.give_back(id);
    }
    if entry.socket.shut {
        finish_if_idle(token, worker, entries);
        return;
    }
    if refused {
        flush.push(token); // TLS refused the peer: its alert goes out, then the close
        return;
    }
    if entry.connection.closing {
        return;
    }
    match result {
        0 => entry.connection.closing = true, // the peer closed its side
        1.. => {
            worker.stats.transferred(size as u64, 0);
            let connection = &mut entry.connection;
            let in_flight = entry.socket.sending.len() - entry.socket.sent;
            let control = entry.door.process(connection, worker, in_flight);
            let limit = worker
                .admin
                .limits
                .query_buffer_size_max
                .load(Ordering::Relaxed);
            if connection.input.len() as u64 > limit {
                entry.door.refuse(
                    connection,
                    "ERR client query buffer limit exceeded (client-query-buffer-limit): closing",
                );
            }
            // Paused at the output limit: a receive the kernel ended waits until the client
            // reads (`resume`); a multishot still armed keeps filling the input, which the
            // query buffer limit bounds.
            if control == Control::Continue && !connection.closing && !connection.paused && !more {
                rearm.push(token);
            }
        }
        _ if result == -libc::EINTR || result == -libc::EAGAIN || result == -libc::ENOBUFS => {
            if !more {
                rearm.push(token);
            }
        }
        _ => {
            close(token, worker, entries);
            return;
        }
    }
    flush.push(token);
}

/// Hands what is released to the kernel, unless a send is in flight; closes a closing
/// client once everything is sent.
fn start_send(
    token: usize,
    ring: &mut Ring,
    worker: &mut Worker,
    entries: &mut Slab<Entry<Socket>>,
) {
    let Some(entry) = entries.get_mut(token) else {
        return;
    };
    if entry.socket.shut {
        return;
    }
    if !entry.socket.send_in_flight {
        let wire = entry.connection.wire();
        if !wire.is_empty() {
            std::mem::swap(&mut entry.socket.sending, wire);
            entry.socket.sent = 0;
            submit_send(token, ring, &mut entry.socket);
        }
    }
    let connection = &entry.connection;
    if connection.closing
        && !entry.socket.send_in_flight
        && connection.wire_is_empty()
        && !connection.is_waiting()
    {
        close(token, worker, entries);
    }
}

fn submit_send(token: usize, ring: &mut Ring, socket: &mut Socket) {
    let rest = &socket.sending[socket.sent..];
    let length = u32::try_from(rest.len()).unwrap_or(u32::MAX);
    let entry = opcode::Send::new(types::Fd(socket.stream.as_raw_fd()), rest.as_ptr(), length)
        .flags(libc::MSG_NOSIGNAL)
        .build()
        .user_data(user_data(token, KIND_SEND));
    // SAFETY: `sending` is not touched while `send_in_flight` is set, nor the socket dropped.
    if unsafe { ring.push(&entry) }.is_ok() {
        socket.send_in_flight = true;
    }
}

/// A completed send: continue a short one, or start the next; resume a paused client
/// whose queued replies are below the output limit again.
fn sent(
    result: i32,
    token: usize,
    ring: &mut Ring,
    worker: &mut Worker,
    entries: &mut Slab<Entry<Socket>>,
    flush: &mut Vec<usize>,
) {
    let Some(entry) = entries.get_mut(token) else {
        return;
    };
    entry.socket.send_in_flight = false;
    if entry.socket.shut {
        finish_if_idle(token, worker, entries);
        return;
    }
    let Ok(size) = usize::try_from(result) else {
        if result == -libc::EINTR || result == -libc::EAGAIN {
            submit_send(token, ring, &mut entry.socket);
        } else {
            close(token, worker, entries);
        }
        return;
    };
    worker.stats.transferred(0, size as u64);
    if size > 0 {
        entry.connection.progress = true;
    }
    entry.socket.sent += size;
    if entry.socket.sent < entry.socket.sending.len() && size > 0 {
        submit_send(token, ring, &mut entry.socket);
        // A short send may have taken the queue below the limit: the rest of it may wait
        // long on a slow reader, so refill now (what is queued is still bounded).
        resume(token, ring, worker, entries, flush);
        return;
    }
    entry.socket.sending.clear();
    entry.socket.sent = 0;
    if entry.socket.sending.capacity() > BUFFER_RETAIN_SIZE {
        entry.socket.sending = Vec::new();
    }
    entry.connection.output_sent();
    start_send(token, ring, worker, entries);
    resume(token, ring, worker, entries, flush);
}

/// Runs a paused client's buffered input again once its queued replies are below the
/// output limit, and receives again unless it pauses anew.
fn resume(
    token: usize,
    ring: &mut Ring,
    worker: &mut Worker,
    entries: &mut Slab<Entry<Socket>>,
    flush: &mut Vec<usize>,
) {
    let Some(entry) = entries.get_mut(token) else {
        return;
    };
    let limit = worker
        .admin
        .limits
        .output_buffer_size_max
        .load(Ordering::Relaxed);
    let in_flight = entry.socket.sending.len() - entry.socket.sent;
    let queued = entry.connection.output_size() + in_flight;
    if !entry.connection.paused
        || entry.connection.blocked
        || entry.connection.closing
        || entry.socket.shut
        || queued as u64 >= limit
    {
        return;
    }
    let control = entry.door.process(&mut entry.connection, worker, in_flight);
    if control == Control::Continue && !entry.connection.closing && !entry.connection.paused {
        arm_receive(token, ring, &mut entry.socket);
    }
    flush.push(token);
}

/// Shuts a client down; it is removed once its operations have ended.
fn close(token: usize, worker: &Worker, entries: &mut Slab<Entry<Socket>>) {
    let Some(entry) = entries.get_mut(token) else {
        return;
    };
    if !entry.socket.shut {
        entry.socket.shut = true;
        // Ends a receive or send in flight; their completions then remove the entry.
        let _ignored = entry.socket.stream.shutdown(Shutdown::Both);
    }
    finish_if_idle(token, worker, entries);
}

fn finish_if_idle(token: usize, worker: &Worker, entries: &mut Slab<Entry<Socket>>) {
    let idle = entries.get(token).is_some_and(|entry| {
        entry.socket.shut && !entry.socket.receiving && !entry.socket.send_in_flight
    });
    if idle && let Some(entry) = entries.try_remove(token) {
        worker.disconnected(&entry.connection);
    }
}
