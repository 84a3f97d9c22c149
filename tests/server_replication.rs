//! Replication end to end (`docs/replication.md`): real `floe serve` processes on loopback
//! ports, a primary and replicas, talked to with the `redis` crate.
//!
//! - Writes on the primary (SET, MSET, MULTI, DEL, EXPIRE, FLUSHALL, SWAPDB) reach the replica;
//!   the replica refuses clients' writes with Redis's READONLY error; ROLE, INFO
//!   replication and WAIT on both; REPLICAOF NO ONE promotes.
//! - WAIT blocks its client, not its worker: pipelined requests behind it wait for its
//!   reply, other clients are served meanwhile, a timeout answers with the count so far,
//!   and a replica that connects later releases it. On both event loops.
//! - A replica started after the primary holds 10k keys gets them all by full sync.
//! - A primary killed with SIGKILL: the replica's link goes down and it keeps serving
//!   reads; pointed at a new primary, it syncs from it.
//! - A primary killed with SIGKILL and started again on the same port and directory: the
//!   replica reconnects by itself, syncs in full (a new history) and follows again.
//! - A wrong masterauth, a server that is not floe, and the server itself: the link stays
//!   down (or REPLICAOF is refused) with the reason in INFO.
//!
//! Every wait is a bounded poll (`common::replication::eventually`): a slow machine makes a
//! test slower, never wrong.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use common::replication::{
    Fixed, WAIT_MAX, check_writes, connect, connect_port, eventually, get, info_field,
    info_replication, replica_of, role, role_replicas, write_mix,
};
use common::server::{Server, fixed_port};
use redis::{Commands, Value};

#[test]
fn writes_on_the_primary_reach_the_replica_which_refuses_its_own() {
    let primary = Server::floe(&["--appendfsync", "everysec"]);
    let mut source = connect(&primary);
    let _: () = source.set("before", "sync").expect("an answer");
    let replica = replica_of(&primary, &[]);
    let mut target = connect(&replica);
    eventually("the full sync", || {
        get(&mut target, "before").as_deref() == Some("sync")
    });

    write_mix(&mut source);
    let _: () = redis::cmd("SELECT")
        .arg(1)
        .query(&mut source)
        .expect("an answer");
    let _: () = source.set("in-one", "yes").expect("an answer");
    let _: () = redis::cmd("SWAPDB")
        .arg(0)
        .arg(1)
        .query(&mut source)
        .expect("an answer");
    let _: () = redis::cmd("SWAPDB")
        .arg(0)
        .arg(1)
        .query(&mut source)
        .expect("an answer");
    let _: () = redis::cmd("SELECT")
        .arg(0)
        .query(&mut source)
        .expect("an answer");
    let _: () = source.set("last", "write").expect("an answer");
    eventually("the writes", || {
        get(&mut target, "last").as_deref() == Some("write")
    });
    check_writes(&mut target);
    let _: () = redis::cmd("SELECT")
        .arg(1)
        .query(&mut target)
        .expect("an answer");
    assert_eq!(get(&mut target, "in-one").as_deref(), Some("yes"));
    let _: () = redis::cmd("SELECT")
        .arg(0)
        .query(&mut target)
        .expect("an answer");

    // WAIT blocks until the replica applied (and acknowledged) the last write.
    let acknowledged: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(0)
        .query(&mut source)
        .expect("an answer");
    assert_eq!(acknowledged, 1);

    // The replica refuses clients' writes, word for word as Redis.
    let refused = target.set::<_, _, ()>("a", "2").expect_err("a refusal");
    assert_eq!(refused.code(), Some("READONLY"), "{refused}");
    assert_eq!(
        refused.detail(),
        Some("You can't write against a read only replica.")
    );

    // ROLE and INFO on both sides; offsets are the primary's LSNs.
    let fields = role(&mut source);
    assert_eq!(fields[0], Value::BulkString(b"master".to_vec()));
    let replicas = role_replicas(&fields);
    assert_eq!(replicas.len(), 1, "{replicas:?}");
    let fields = role(&mut target);
    assert_eq!(fields[0], Value::BulkString(b"slave".to_vec()));
    assert_eq!(fields[2], Value::Int(i64::from(primary.port)));
    assert_eq!(fields[3], Value::BulkString(b"connected".to_vec()));
    let info = info_replication(&mut source);
    assert_eq!(info_field(&info, "role").as_deref(), Some("master"));
    assert_eq!(info_field(&info, "connected_slaves").as_deref(), Some("1"));
    let slave = info_field(&info, "slave0").expect("slave0");
    assert!(slave.starts_with("ip=127.0.0.1,port="), "{slave}");
    assert!(slave.contains("state=online"), "{slave}");
    let info = info_replication(&mut target);
    assert_eq!(info_field(&info, "role").as_deref(), Some("slave"));
    assert_eq!(
        info_field(&info, "master_port"),
        Some(primary.port.to_string())
    );
    assert_eq!(
        info_field(&info, "master_link_status").as_deref(),
        Some("up")
    );

    // FLUSHALL reaches the replica too.
    let _: () = redis::cmd("FLUSHALL")
        .query(&mut source)
        .expect("an answer");
    eventually("FLUSHALL", || get(&mut target, "a").is_none());
    assert_eq!(get(&mut target, "last"), None);

    // REPLICAOF NO ONE promotes: the replica accepts writes and keeps its data.
    let _: () = source.set("kept", "yes").expect("an answer");
    eventually("the last write", || get(&mut target, "kept").is_some());
    let promoted: String = redis::cmd("REPLICAOF")
        .arg("NO")
        .arg("ONE")
        .query(&mut target)
        .expect("an answer");
    assert_eq!(promoted, "OK");
    let _: () = target.set("mine", "now").expect("an answer");
    assert_eq!(get(&mut target, "mine").as_deref(), Some("now"));
    assert_eq!(get(&mut target, "kept").as_deref(), Some("yes"));
    let info = info_replication(&mut target);
    assert_eq!(info_field(&info, "role").as_deref(), Some("master"));
}

#[test]
fn a_late_replica_gets_ten_thousand_keys_by_full_sync_and_keeps_them_over_a_restart() {
    let primary = Server::floe(&["--appendfsync", "everysec"]);
    let mut source = connect(&primary);
    for batch in 0..10 {
        let mut pipe = redis::pipe();
        for index in batch * 1000..(batch + 1) * 1000 {
            pipe.set(format!("key:{index}"), format!("value:{index}"))
                .ignore();
        }
        let _: () = pipe.query(&mut source).expect("an answer");
    }
    let replica = replica_of(&primary, &["--appendfsync", "everysec"]);
    let mut target = connect(&replica);
    eventually("10k keys", || {
        redis::cmd("DBSIZE")
            .query::<i64>(&mut target)
            .expect("an answer")
            == 10_000
            && info_field(&info_replication(&mut target), "master_link_status").as_deref()
                == Some("up")
    });
    for index in (0..10_000).step_by(997) {
        assert_eq!(
            get(&mut target, &format!("key:{index}")),
            Some(format!("value:{index}"))
        );
    }

    // The replica logged what it applied: restarted alone on its directory, it has it all.
    let mut replica = replica;
    let _ = redis::cmd("SHUTDOWN").query::<()>(&mut target);
    let status = replica.wait_exit();
    assert!(status.success(), "{status}");
    let data = replica.dir.join("data");
    let alone = Server::floe(&["--dir", data.to_str().expect("a UTF-8 path")]);
    let mut alone_connection = connect(&alone);
    let size: i64 = redis::cmd("DBSIZE")
        .query(&mut alone_connection)
        .expect("an answer");
    assert_eq!(size, 10_000);
    assert_eq!(
        get(&mut alone_connection, "key:4242").as_deref(),
        Some("value:4242")
    );
}

#[test]
fn a_killed_primary_leaves_the_replica_serving_reads_and_a_new_primary_resyncs_it() {
    let mut primary = Server::floe(&[]);
    let mut source = connect(&primary);
    let _: () = source.set("survives", "the primary").expect("an answer");
    let replica = replica_of(&primary, &[]);
    let mut target = connect(&replica);
    eventually("the sync", || get(&mut target, "survives").is_some());
    primary.kill();
    eventually("the link down", || {
        info_field(&info_replication(&mut target), "master_link_status").as_deref() == Some("down")
    });
    assert_eq!(get(&mut target, "survives").as_deref(), Some("the primary"));

    // Pointed at another primary, it drops what it had and copies the new one.
    let other = Server::floe(&[]);
    let mut other_source = connect(&other);
    let _: () = other_source.set("from", "the new one").expect("an answer");
    let answer: String = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(other.port)
        .query(&mut target)
        .expect("an answer");
    assert_eq!(answer, "OK");
    eventually("the resync", || get(&mut target, "from").is_some());
    assert_eq!(get(&mut target, "survives"), None);
}

/// `replica-announce-ip` and `replica-announce-port` (set by CONFIG SET before REPLICAOF
/// reads them): the primary lists the replica under them in INFO and ROLE, as Redis does
/// for a replica behind NAT; a value that is not an address is refused.
#[test]
fn a_replica_is_listed_under_the_address_it_announces() {
    let primary = Server::floe(&[]);
    let replica = Server::floe(&[]);
    let mut target = connect(&replica);
    let refused: redis::RedisResult<()> = redis::cmd("CONFIG")
        .arg("SET")
        .arg("replica-announce-ip")
        .arg("not-an-address")
        .query(&mut target);
    let error = refused
        .expect_err("a name is not an IP address")
        .to_string();
    assert!(error.contains("not an IP address"), "{error}");
    for (name, value) in [
        ("replica-announce-ip", "203.0.113.7"),
        ("slave-announce-port", "4321"),
    ] {
        let () = redis::cmd("CONFIG")
            .arg("SET")
            .arg(name)
            .arg(value)
            .query(&mut target)
            .expect("CONFIG SET");
    }
    let () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(primary.port)
        .query(&mut target)
        .expect("REPLICAOF");
    let mut source = connect(&primary);
    eventually("the replica listed online", || {
        info_field(&info_replication(&mut source), "slave0")
            .is_some_and(|slave| slave.contains("state=online"))
    });
    let slave = info_field(&info_replication(&mut source), "slave0").expect("slave0");
    assert!(slave.starts_with("ip=203.0.113.7,port=4321,"), "{slave}");
    let fields = role(&mut source);
    let replicas = role_replicas(&fields);
    let Some(Value::Array(listed)) = replicas.first() else {
        panic!("ROLE's replicas: {replicas:?}");
    };
    assert_eq!(
        listed[..2],
        [
            Value::BulkString(b"203.0.113.7".to_vec()),
            Value::BulkString(b"4321".to_vec()),
        ],
        "ROLE's replicas: {replicas:?}"
    );
}

#[test]
fn a_wrong_masterauth_keeps_the_link_down_and_says_why() {
    let primary = Server::floe(&["--requirepass", "right"]);
    let replica = replica_of(&primary, &["--masterauth", "wrong"]);
    let mut target = connect(&replica);
    eventually("the AUTH refusal", || {
        let info = info_replication(&mut target);
        info_field(&info, "floe_master_link_down_reason")
            .is_some_and(|reason| reason.contains("AUTH"))
    });
    let info = info_replication(&mut target);
    assert_eq!(
        info_field(&info, "master_link_status").as_deref(),
        Some("down")
    );

    // With the right password (given before REPLICAOF reads it) the link comes up.
    let good = replica_of(&primary, &["--masterauth", "right"]);
    let mut good_target = connect(&good);
    eventually("the link up", || {
        info_field(&info_replication(&mut good_target), "master_link_status").as_deref()
            == Some("up")
    });
}

#[test]
fn a_server_that_is_not_floe_or_the_server_itself_is_refused() {
    // Something that answers every request with bytes that are not RESP.
    let listener = TcpListener::bind("127.0.0.1:0").expect("an answer");
    let port = listener.local_addr().expect("an answer").port();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buffer = [0; 1024];
            while stream.read(&mut buffer).is_ok_and(|read| read > 0) {
                if stream
                    .write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                    .is_err()
                {
                    break;
                }
            }
        }
    });
    let replica = Server::floe(&["--replicaof", &format!("127.0.0.1 {port}")]);
    let mut target = connect(&replica);
    eventually("the protocol refusal", || {
        info_field(
            &info_replication(&mut target),
            "floe_master_link_down_reason",
        )
        .is_some_and(|reason| reason.contains("RESP"))
    });
    // It keeps serving reads meanwhile.
    assert_eq!(get(&mut target, "anything"), None);

    let error = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(replica.port)
        .query::<String>(&mut target)
        .expect_err("a refusal");
    assert!(error.to_string().contains("itself"), "{error}");
}

#[test]
fn a_primary_killed_and_restarted_on_its_address_is_followed_again() {
    let scratch = common::scratch(&format!("replication-restart-{}", std::process::id()));
    let data = scratch.join("primary");
    let port = fixed_port();
    let primary = Fixed::start(port, &data, &[]);
    let mut source = connect_port(port);
    let _: () = source.set("first", "1").expect("SET");
    let replica = Server::floe(&["--replicaof", &format!("127.0.0.1 {port}")]);
    let mut target = connect(&replica);
    eventually("the sync", || get(&mut target, "first").is_some());

    drop(primary); // SIGKILL.
    eventually("the link down", || {
        info_field(&info_replication(&mut target), "master_link_status").as_deref() == Some("down")
    });
    assert_eq!(get(&mut target, "first").as_deref(), Some("1"));

    let _primary = Fixed::start(port, &data, &[]);
    let mut source = connect_port(port);
    let _: () = source.set("second", "2").expect("SET after the restart");
    eventually("the resync and the new write", || {
        get(&mut target, "second").as_deref() == Some("2")
    });
    assert_eq!(
        get(&mut target, "first").as_deref(),
        Some("1"),
        "recovered by the primary"
    );
    // A full sync loads its keys before it marks the link up: "second" can be readable a
    // moment before INFO says so.
    eventually("the link up", || {
        info_field(&info_replication(&mut target), "master_link_status").as_deref() == Some("up")
    });
}

/// WAIT blocks the client that sent it, and only that client, until enough replicas have
/// applied its writes or its timeout passes; what the client pipelined behind WAIT runs
/// after WAIT's reply. One worker, so the blocked client, the other client and the
/// replica's pulls all share one event loop.
#[test]
fn wait_blocks_its_client_not_its_worker() {
    for io in ["uring", "epoll"] {
        let primary = Server::floe(&["--workers", "1", "--io", io]);
        let mut writer = connect(&primary);
        let mut other = connect(&primary);

        // No replica: a timeout answers 0; the other client is served meanwhile. (The
        // hash reaches the replica by its full sync, its second field by the log.)
        let _: () = writer.set("k", "1").expect("SET");
        let _: i64 = writer.hset("h", "f1", "v1").expect("HSET");
        let count: i64 = redis::cmd("WAIT")
            .arg(1)
            .arg(50)
            .query(&mut writer)
            .expect("WAIT");
        assert_eq!(count, 0, "{io}: no replica acknowledged");

        // A WAIT with no timeout, from a raw socket so the test can hold it open: blocked
        // until a replica connects. Its pipelined GET answers after it.
        let mut raw = TcpStream::connect(("127.0.0.1", primary.port)).expect("connect");
        raw.write_all(b"SET k 2\r\nWAIT 1 0\r\nGET k\r\n")
            .expect("send");
        raw.set_read_timeout(Some(Duration::from_millis(300)))
            .expect("timeout");
        let mut first = [0u8; 5];
        raw.read_exact(&mut first).expect("SET's reply");
        assert_eq!(&first, b"+OK\r\n");
        let mut byte = [0u8; 1];
        assert!(
            raw.read(&mut byte).is_err(),
            "{io}: WAIT answered with no replica"
        );
        let pong: String = redis::cmd("PING").query(&mut other).expect("PING");
        assert_eq!(pong, "PONG", "{io}: the other client is served");

        let replica = replica_of(&primary, &["--io", io]);
        raw.set_read_timeout(Some(WAIT_MAX)).expect("timeout");
        let mut rest = [0u8; 11];
        raw.read_exact(&mut rest).expect("WAIT's and GET's replies");
        assert_eq!(&rest, b":1\r\n$1\r\n2\r\n", "{io}");
        let mut target = connect(&replica);
        assert_eq!(get(&mut target, "k").as_deref(), Some("2"), "{io}");

        // With the replica following, WAIT returns as soon as it caught up.
        let _: () = writer.set("k", "3").expect("SET");
        let _: i64 = writer.hset("h", "f2", "v2").expect("HSET");
        let count: i64 = redis::cmd("WAIT")
            .arg(1)
            .arg(0)
            .query(&mut writer)
            .expect("WAIT");
        assert_eq!(count, 1, "{io}");
        assert_eq!(get(&mut target, "k").as_deref(), Some("3"), "{io}");
        let hash: Vec<(String, String)> = target.hgetall("h").expect("HGETALL");
        assert_eq!(
            hash,
            [("f1".into(), "v1".into()), ("f2".into(), "v2".into())],
            "{io}"
        );

        // Asking for more replicas than there are: the timeout answers the count so far.
        let count: i64 = redis::cmd("WAIT")
            .arg(2)
            .arg(100)
            .query(&mut writer)
            .expect("WAIT");
        assert_eq!(count, 1, "{io}");

        // A client that closes while blocked: the server forgets its wait.
        let mut gone = TcpStream::connect(("127.0.0.1", primary.port)).expect("connect");
        gone.write_all(b"WAIT 5 0\r\n").expect("send");
        drop(gone);
        let pong: String = redis::cmd("PING").query(&mut writer).expect("PING");
        assert_eq!(pong, "PONG", "{io}");
    }
}
