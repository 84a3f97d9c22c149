//! Long-poll pulls (`docs/replication.md`, "Why the replica pulls"): a replica's
//! `FLOESYNC PULL` with a wait that finds nothing new is parked, its client blocked and its
//! worker not, until the primary appends something (then it is answered at once) or the
//! wait is over (then it is answered empty). On both event loops.
//!
//! - A parked pull has acknowledged: WAIT counts it while it is parked; the next write
//!   answers it with that write's bytes, long before its wait is over; other clients are
//!   served meanwhile.
//! - On a primary that takes no writes, it is answered empty, not before its wait.
//! - A pull without a wait (the older form) is answered at once; a wait that is not a
//!   number is refused; a client that closes while parked is forgotten.
//! - A real replica, idle, then a write: the write reaches it (how soon is printed, not
//!   asserted: `benches/replication.sh` measures the lag).
//!
//! Every wait is bounded: a slow machine makes a test slower, never wrong.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use common::replication::{connect, eventually, get, info_replication, replica_of};
use common::server::Server;
use redis::{Commands, Value};

/// Cuts a snapshot by hand, as a replica listening on `port` would; returns the primary's
/// replication ID and the snapshot's LSN.
fn full_sync(connection: &mut redis::Connection, port: u16) -> (Vec<u8>, i64) {
    let full: Value = redis::cmd("FLOESYNC")
        .arg("FULL")
        .arg(port)
        .query(connection)
        .expect("FLOESYNC FULL");
    let Value::Array(fields) = full else {
        panic!("FLOESYNC FULL: {full:?}")
    };
    let (Value::BulkString(replid), Value::Int(lsn)) = (&fields[0], &fields[1]) else {
        panic!("FLOESYNC FULL: {fields:?}")
    };
    (replid.clone(), *lsn)
}

/// `FLOESYNC PULL replid lsn port [wait_ms]`.
fn pull(
    connection: &mut redis::Connection,
    replid: &[u8],
    lsn: i64,
    port: u16,
    wait_ms: Option<&str>,
) -> redis::RedisResult<Vec<u8>> {
    let mut command = redis::cmd("FLOESYNC");
    command.arg("PULL").arg(replid).arg(lsn).arg(port);
    if let Some(wait_ms) = wait_ms {
        command.arg(wait_ms);
    }
    command.query(connection)
}

#[test]
fn a_parked_pull_is_counted_by_wait_and_answered_by_the_next_write() {
    for io in ["uring", "epoll"] {
        let primary = Server::floe(&["--workers", "1", "--io", io]);
        let mut source = connect(&primary);
        let _: () = source.set("k", "1").expect("SET");
        let (replid, lsn) = full_sync(&mut source, 1234);

        // Waits up to 60 s (the longest a pull may ask): only a write answers it sooner.
        let port = primary.port;
        let parked = thread::spawn(move || {
            let mut connection = common::replication::connect_port(port);
            let started = Instant::now();
            let bytes = pull(&mut connection, &replid, lsn + 1, 1234, Some("60000"));
            (bytes, started.elapsed())
        });
        eventually("the pull to acknowledge", || {
            info_replication(&mut source).contains("state=online")
        });
        // Parked, it has acknowledged everything below its LSN: WAIT counts it at once.
        let count: i64 = redis::cmd("WAIT")
            .arg(1)
            .arg(0)
            .query(&mut source)
            .expect("WAIT");
        assert_eq!(count, 1, "{io}");
        let pong: String = redis::cmd("PING").query(&mut source).expect("PING");
        assert_eq!(pong, "PONG", "{io}: the worker serves others meanwhile");
        assert!(!parked.is_finished(), "{io}: answered with nothing new");

        let _: () = source.set("k", "2").expect("SET");
        let (bytes, elapsed) = parked.join().expect("the pull's thread");
        let bytes = bytes.expect("the pull's answer");
        assert!(!bytes.is_empty(), "{io}: the write's bytes");
        assert!(
            elapsed < Duration::from_secs(30),
            "{io}: answered by its wait ({elapsed:?}), not by the write"
        );
        let (records, last) =
            floe_runtime::replication::decode_entries(&bytes, u64::try_from(lsn).expect("an LSN"))
                .expect("checked log bytes");
        assert_eq!(records.len(), 1, "{io}: the SET");
        assert!(last > u64::try_from(lsn).expect("an LSN"), "{io}");
    }
}

#[test]
fn a_parked_pull_on_a_quiet_primary_is_answered_empty_after_its_wait() {
    for io in ["uring", "epoll"] {
        let primary = Server::floe(&["--io", io]);
        let mut source = connect(&primary);
        let _: () = source.set("k", "1").expect("SET");
        let (replid, lsn) = full_sync(&mut source, 1234);

        let started = Instant::now();
        let bytes = pull(&mut source, &replid, lsn + 1, 1234, Some("300")).expect("PULL");
        assert!(bytes.is_empty(), "{io}: nothing written");
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "{io}: answered before its wait was over ({:?})",
            started.elapsed()
        );

        // The older form, with no wait: answered at once (empty), as before.
        let bytes = pull(&mut source, &replid, lsn + 1, 1234, None).expect("PULL");
        assert!(bytes.is_empty(), "{io}");
        // So is a wait of 0.
        let bytes = pull(&mut source, &replid, lsn + 1, 1234, Some("0")).expect("PULL");
        assert!(bytes.is_empty(), "{io}");

        let error = pull(&mut source, &replid, lsn + 1, 1234, Some("soon"))
            .expect_err("a wait that is no number");
        assert!(
            error.to_string().contains("not a number of milliseconds"),
            "{io}: {error}"
        );

        // A client that closes while parked: the server forgets it and goes on.
        let mut gone = TcpStream::connect(("127.0.0.1", primary.port)).expect("connect");
        let request = format!(
            "FLOESYNC PULL {} {} 4321 60000\r\n",
            String::from_utf8_lossy(&replid),
            lsn + 1
        );
        gone.write_all(request.as_bytes()).expect("send");
        eventually("the parked pull to acknowledge", || {
            info_replication(&mut source).contains("port=4321")
        });
        drop(gone);
        let _: () = source.set("k", "2").expect("SET");
        let pong: String = redis::cmd("PING").query(&mut source).expect("PING");
        assert_eq!(pong, "PONG", "{io}");
    }
}

#[test]
fn an_idle_replica_gets_a_write_without_waiting_for_its_next_pull() {
    let primary = Server::floe(&[]);
    let mut source = connect(&primary);
    let _: () = source.set("k", "0").expect("SET");
    let replica = replica_of(&primary, &[]);
    let mut target = connect(&replica);
    eventually("the full sync", || {
        get(&mut target, "k").as_deref() == Some("0")
    });
    for round in 1..=5 {
        // Idle long enough for a pull to be parked (the old replica slept up to 20 ms).
        thread::sleep(Duration::from_millis(200));
        let started = Instant::now();
        let _: () = source.set("k", round).expect("SET");
        let count: i64 = redis::cmd("WAIT")
            .arg(1)
            .arg(0)
            .query(&mut source)
            .expect("WAIT");
        assert_eq!(count, 1);
        eprintln!("round {round}: SET to WAIT 1 in {:?}", started.elapsed());
        assert_eq!(get(&mut target, "k"), Some(round.to_string()));
    }
}
