//! `floe serve` stopped while several clients write, then restarted on the same data
//! directory: every key whose `+OK` a client received must be there, with its value.
//!
//! - SIGKILL under `--appendfsync always`, five rounds on one directory (each restart
//!   recovers what every earlier kill left), on both event loops.
//! - SIGKILL under `everysec` and `no`: a reply leaves only once its write reached the log
//!   file (issue 8), so killing the process loses nothing acknowledged under any policy.
//!   (Losing power is another matter; that is the fsync policy's business, not tested
//!   here.) The count of acknowledged-but-lost keys must be 0.
//! - SIGTERM and SHUTDOWN while the writers run: the server stops accepting, settles what
//!   is in flight, says it flushed the log, exits 0, and loses nothing acknowledged.
//! - SIGTERM while a client never reads the replies it asked for: the exit does not wait
//!   for that client. (The io_uring loop used to wait out its whole 10 s grace time for
//!   such a client's send to finish; epoll never did.)
//!
//! The kill comes once the writers have been acknowledged a number of times, not after a
//! delay, so a slow machine only makes a round longer; every wait is bounded.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::server::{Client, Server, encode_command, escape};

/// Writer threads, each on its own connection.
const WRITER_COUNT: usize = 4;
/// Acknowledged writes (all writers together) before the server is stopped.
const ACKNOWLEDGED_PER_ROUND: usize = 400;
/// How long the writers may take to reach [`ACKNOWLEDGED_PER_ROUND`].
const WRITE_WAIT_MAX: Duration = Duration::from_secs(60);
/// GETs per pipelined batch when checking.
const CHECK_BATCH: usize = 500;

/// How a round stops the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// SIGKILL: no chance to flush anything.
    Kill,
    /// SIGTERM: a clean shutdown.
    Term,
    /// The SHUTDOWN command, from another client.
    Shutdown,
}

/// One test per event loop and fsync policy.
macro_rules! kill_tests {
    ($($name:ident: $io:literal, $fsync:literal, $rounds:literal;)*) => {
        $(
            #[test]
            fn $name() {
                rounds($io, $fsync, Stop::Kill, $rounds);
            }
        )*
    };
}

kill_tests!(
    sigkill_always_uring: "uring", "always", 5;
    sigkill_always_epoll: "epoll", "always", 5;
    sigkill_everysec_uring: "uring", "everysec", 3;
    sigkill_everysec_epoll: "epoll", "everysec", 3;
    sigkill_no_uring: "uring", "no", 3;
    sigkill_no_epoll: "epoll", "no", 3;
);

#[test]
fn sigterm_uring() {
    rounds("uring", "everysec", Stop::Term, 2);
}

#[test]
fn sigterm_epoll() {
    rounds("epoll", "everysec", Stop::Term, 2);
}

#[test]
fn shutdown_command_uring() {
    rounds("uring", "always", Stop::Shutdown, 2);
}

#[test]
fn shutdown_command_epoll() {
    rounds("epoll", "no", Stop::Shutdown, 2);
}

#[test]
fn sigterm_does_not_wait_for_a_client_that_never_reads_uring() {
    sigterm_with_a_stuck_reader("uring");
}

#[test]
fn sigterm_does_not_wait_for_a_client_that_never_reads_epoll() {
    sigterm_with_a_stuck_reader("epoll");
}

/// A client asks for 20 MB of replies and never reads; SIGTERM must end floe well inside
/// its 10 s grace time, cleanly, with the acknowledged write kept.
fn sigterm_with_a_stuck_reader(io: &str) {
    /// Far above any clean exit's duration, far below the 10 s grace time.
    const EXIT_WAIT_MAX: Duration = Duration::from_secs(5);
    let data =
        common::scratch(&format!("server-stuck-reader-{io}-{}", std::process::id())).join("data");
    let mut server = start(io, "always", &data);
    let mut writer = server.client();
    let value = vec![b'v'; 500 << 10];
    assert_eq!(writer.command(&[b"SET", b"big", &value]), b"+OK\r\n");
    let mut stuck = server.client();
    stuck.send(&encode_command(&[b"GET", b"big"]).repeat(40));
    // Wait until the server has answered (some of) them: its output then waits on us.
    let started = Instant::now();
    loop {
        let info = writer.command(&[b"INFO", b"stats"]);
        let output = String::from_utf8_lossy(&info)
            .lines()
            .find_map(|line| {
                line.strip_prefix("total_net_output_bytes:")?
                    .parse::<u64>()
                    .ok()
            })
            .unwrap_or(0);
        if output > 256 << 10 {
            break;
        }
        assert!(
            started.elapsed() < WRITE_WAIT_MAX,
            "the server sent only {output} bytes to a client that asked for 20 MB"
        );
        thread::sleep(Duration::from_millis(20));
    }
    server.sigterm();
    let status = server.wait_exit_within(EXIT_WAIT_MAX);
    assert_stopped_cleanly(&server, status.success(), &format!("SIGTERM: {status}"));
    drop(stuck);
    drop(server);
    let server = start(io, "always", &data);
    let mut client = server.client();
    let mut expected = format!("${}\r\n", value.len()).into_bytes();
    expected.extend_from_slice(&value);
    expected.extend_from_slice(b"\r\n");
    assert!(
        client.command(&[b"GET", b"big"]) == expected,
        "GET big after the restart"
    );
}

/// `round_count` rounds of: start on the shared data directory, check every key
/// acknowledged so far, write with [`WRITER_COUNT`] clients, stop the server with `stop`.
/// Then one last start and check.
fn rounds(io: &str, fsync: &str, stop: Stop, round_count: usize) {
    let data = common::scratch(&format!(
        "server-crash-{io}-{fsync}-{stop:?}-{}",
        std::process::id()
    ))
    .join("data");
    let context = format!("--io {io} --appendfsync {fsync}, stopped by {stop:?}");
    let mut acknowledged: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for round in 0..round_count {
        let mut server = start(io, fsync, &data);
        check(
            &server,
            &acknowledged,
            &format!("{context}, start of round {round}"),
        );
        let written = write_and_stop(&mut server, round, stop);
        assert!(
            written.len() >= ACKNOWLEDGED_PER_ROUND,
            "round {round}: only {} acknowledged",
            written.len()
        );
        acknowledged.extend(written);
    }
    let server = start(io, fsync, &data);
    check(
        &server,
        &acknowledged,
        &format!("{context}, after the last round"),
    );
}

fn start(io: &str, fsync: &str, data: &Path) -> Server {
    let data = data.to_str().expect("a UTF-8 path");
    Server::floe(&["--io", io, "--appendfsync", fsync, "--dir", data])
}

/// Runs the writers until [`ACKNOWLEDGED_PER_ROUND`] writes are acknowledged, stops the
/// server with `stop` while they keep writing, and returns every acknowledged pair.
fn write_and_stop(server: &mut Server, round: usize, stop: Stop) -> Vec<(Vec<u8>, Vec<u8>)> {
    let acknowledged_count = Arc::new(AtomicUsize::new(0));
    // Every writer connects before any thread starts: under load a thread can start late,
    // after the others' writes are acknowledged and the server is stopping.
    let clients: Vec<Client> = (0..WRITER_COUNT).map(|_| server.client()).collect();
    let writers: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(writer, client)| {
            let count = Arc::clone(&acknowledged_count);
            thread::spawn(move || write_until_refused(client, round, writer, &count))
        })
        .collect();
    let started = Instant::now();
    while acknowledged_count.load(Ordering::Relaxed) < ACKNOWLEDGED_PER_ROUND {
        assert!(
            started.elapsed() < WRITE_WAIT_MAX,
            "round {round}: only {} writes acknowledged in {WRITE_WAIT_MAX:?}; log {}",
            acknowledged_count.load(Ordering::Relaxed),
            server.log.display()
        );
        thread::sleep(Duration::from_millis(5));
    }
    match stop {
        Stop::Kill => server.kill(),
        Stop::Term => {
            let status = server.terminate();
            assert_stopped_cleanly(server, status.success(), &format!("SIGTERM: {status}"));
        }
        Stop::Shutdown => {
            let mut client = server.client();
            client.send(&encode_command(&[b"SHUTDOWN"]));
            // Redis closes without a reply on success; what floe sends first is not pinned.
            let _reply = client.read_until_closed(Duration::from_secs(30));
            let status = server.wait_exit();
            assert_stopped_cleanly(server, status.success(), &format!("SHUTDOWN: {status}"));
        }
    }
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.join().expect("a writer thread panicked"));
    }
    acknowledged
}

fn assert_stopped_cleanly(server: &Server, success: bool, what: &str) {
    let log = server.log_text();
    assert!(success, "{what}: floe did not exit 0; its log:\n{log}");
    assert!(
        log.contains("flushing the log"),
        "{what}: floe did not say it flushed the log; its log:\n{log}"
    );
}

/// Writes distinct keys on one connection until the server stops answering; returns every
/// pair whose `+OK` arrived. Any other reply is a failure.
fn write_until_refused(
    mut client: Client,
    round: usize,
    writer: usize,
    count: &AtomicUsize,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut acknowledged = Vec::new();
    for index in 0.. {
        let key = format!("r{round}:w{writer}:{index}").into_bytes();
        let value = format!("value-{round}-{writer}-{index}-{}", "x".repeat(index % 50));
        let value = value.into_bytes();
        match client.try_command(&[b"SET", &key, &value]) {
            Ok(reply) if reply == b"+OK\r\n" => {
                acknowledged.push((key, value));
                count.fetch_add(1, Ordering::Relaxed);
            }
            Ok(reply) => panic!("SET {} got {} instead of +OK", escape(&key), escape(&reply)),
            // The server is gone, or closed this client while stopping.
            Err(_) => break,
        }
    }
    acknowledged
}

/// Checks every acknowledged pair with pipelined GETs; fails listing the lost ones.
fn check(server: &Server, acknowledged: &[(Vec<u8>, Vec<u8>)], context: &str) {
    let mut client = server.client();
    let mut lost: Vec<String> = Vec::new();
    for batch in acknowledged.chunks(CHECK_BATCH) {
        let mut pipeline = Vec::new();
        for (key, _) in batch {
            pipeline.extend_from_slice(&encode_command(&[b"GET", key]));
        }
        client.send(&pipeline);
        for (key, value) in batch {
            let reply = client.reply();
            let mut expected = format!("${}\r\n", value.len()).into_bytes();
            expected.extend_from_slice(value);
            expected.extend_from_slice(b"\r\n");
            if reply != expected {
                lost.push(format!("{} -> {}", escape(key), escape(&reply)));
            }
        }
    }
    assert!(
        lost.is_empty(),
        "{context}: {} of {} acknowledged keys lost or wrong after the restart, first: {:?}; \
         server log {}",
        lost.len(),
        acknowledged.len(),
        &lost[..lost.len().min(10)],
        server.log.display()
    );
}
