//! Blocking list pops end to end, with raw RESP and the `redis` crate: a client blocked in
//! BLPOP, BRPOP, BLMOVE or BLMPOP on one connection is served by a push from another (floe
//! runs four workers with its log on, so they land on different workers and the served
//! reply waits for the log), in the order the clients blocked; timeouts reply Redis's
//! nulls in RESP2 and RESP3; MULTI turns blocking into non-blocking; a BLMOVE that is
//! served pushes to its target and serves the clients blocked there; and a blocked client
//! that is killed or closes leaves the pushed element in the list. BZPOPMIN, BZPOPMAX and
//! BZMPOP wait the same way for any write to a sorted set (ZADD, ZINCRBY, ZUNIONSTORE).
//!
//! Each check runs against Redis (which proves its expectations) and against floe on each
//! of its event loops (io_uring and epoll).

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::server::{Client, Server, Target};

common::server::against_both!(
    a_push_from_another_connection_serves_the_blocked_client,
    the_client_that_blocked_first_is_served_first,
    timeouts_reply_null_in_both_protocols,
    multi_turns_blocking_into_non_blocking,
    a_served_blmove_serves_the_clients_blocked_on_its_target,
    a_killed_or_closed_blocked_client_loses_no_element,
    the_redis_crate_blocks_and_is_served,
    sorted_set_pops_block_and_are_served,
    sorted_set_waiters_are_served_oldest_first,
    sorted_set_pops_time_out_and_do_not_block_in_multi,
);

/// How long a check waits for the server to catch up before failing.
const SETTLE_MAX: Duration = Duration::from_secs(30);

/// Starts `target`: floe with four workers and its log on.
fn start(target: Target) -> Server {
    let args = ["--workers", "4"];
    match target {
        Target::Floe => Server::floe(&args),
        Target::FloeEpoll => Server::floe(&["--workers", "4", "--io", "epoll"]),
        Target::Redis => Server::redis(),
    }
}

/// Sends a command without reading its reply (the client blocks).
fn send(client: &mut Client, line: &str) {
    let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
    client.send(&common::server::encode_command(&args));
}

fn command(client: &mut Client, line: &str) -> String {
    let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
    String::from_utf8_lossy(&client.command(&args)).into_owned()
}

/// Waits until INFO says `count` clients are blocked.
fn settle_blocked(probe: &mut Client, count: usize) {
    let started = Instant::now();
    let wanted = format!("blocked_clients:{count}\r\n");
    while !command(probe, "INFO clients").contains(&wanted) {
        assert!(
            started.elapsed() < SETTLE_MAX,
            "not {count} blocked clients within {SETTLE_MAX:?}"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

fn reply(client: &mut Client) -> String {
    String::from_utf8_lossy(&client.reply()).into_owned()
}

fn a_push_from_another_connection_serves_the_blocked_client(target: Target) {
    let server = start(target);
    let mut probe = server.client();
    assert_eq!(command(&mut probe, "RPUSH k9 1 2"), ":2\r\n");
    for (blocking, push, expected) in [
        (
            "BLPOP k1 k2 0",
            "RPUSH k2 a b",
            "*2\r\n$2\r\nk2\r\n$1\r\na\r\n",
        ),
        (
            "BRPOP k3 0",
            "RPUSH k3 a b",
            "*2\r\n$2\r\nk3\r\n$1\r\nb\r\n",
        ),
        (
            "BLMPOP 0 2 k4 k5 RIGHT COUNT 5",
            "RPUSH k5 a b",
            "*2\r\n$2\r\nk5\r\n*2\r\n$1\r\nb\r\n$1\r\na\r\n",
        ),
        ("BRPOPLPUSH k6 k7 0", "LPUSH k6 x", "$1\r\nx\r\n"),
        // SORT ... STORE names its destination after its options (a movable key).
        (
            "BLPOP k8 0",
            "SORT k9 DESC STORE k8",
            "*2\r\n$2\r\nk8\r\n$1\r\n2\r\n",
        ),
    ] {
        let mut blocked = server.client();
        send(&mut blocked, blocking);
        settle_blocked(&mut probe, 1);
        let mut pusher = server.client();
        assert!(command(&mut pusher, push).starts_with(':'), "{push}");
        assert_eq!(reply(&mut blocked), expected, "{blocking}");
        // The client runs commands again, on the same connection.
        assert_eq!(command(&mut blocked, "PING"), "+PONG\r\n");
        settle_blocked(&mut probe, 0);
    }
    assert_eq!(command(&mut probe, "LRANGE k2 0 -1"), "*1\r\n$1\r\nb\r\n");
    assert_eq!(command(&mut probe, "EXISTS k5"), ":0\r\n");
    assert_eq!(command(&mut probe, "LRANGE k7 0 -1"), "*1\r\n$1\r\nx\r\n");
}

fn the_client_that_blocked_first_is_served_first(target: Target) {
    let server = start(target);
    let mut probe = server.client();
    let mut first = server.client();
    let mut second = server.client();
    send(&mut first, "BLPOP q 0");
    settle_blocked(&mut probe, 1);
    send(&mut second, "BLPOP q 0");
    settle_blocked(&mut probe, 2);
    assert_eq!(command(&mut probe, "RPUSH q a"), ":1\r\n");
    assert_eq!(reply(&mut first), "*2\r\n$1\r\nq\r\n$1\r\na\r\n");
    settle_blocked(&mut probe, 1);
    assert_eq!(command(&mut probe, "RPUSH q b"), ":1\r\n");
    assert_eq!(reply(&mut second), "*2\r\n$1\r\nq\r\n$1\r\nb\r\n");
    // One push of two elements serves both, in order; nothing is left.
    send(&mut first, "BLPOP q 0");
    settle_blocked(&mut probe, 1);
    send(&mut second, "BLPOP q 0");
    settle_blocked(&mut probe, 2);
    assert_eq!(command(&mut probe, "RPUSH q x y z"), ":3\r\n");
    assert_eq!(reply(&mut first), "*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
    assert_eq!(reply(&mut second), "*2\r\n$1\r\nq\r\n$1\r\ny\r\n");
    assert_eq!(command(&mut probe, "LRANGE q 0 -1"), "*1\r\n$1\r\nz\r\n");
}

fn timeouts_reply_null_in_both_protocols(target: Target) {
    let server = start(target);
    let mut client = server.client();
    let started = Instant::now();
    assert_eq!(command(&mut client, "BLPOP none 0.2"), "*-1\r\n");
    assert!(started.elapsed() >= Duration::from_millis(150));
    // A timed-out BLMOVE is a null array too (inside MULTI it is a null).
    assert_eq!(
        command(&mut client, "BRPOPLPUSH none other 0.05"),
        "*-1\r\n"
    );
    assert_eq!(
        command(&mut client, "BLMOVE none other LEFT RIGHT 0.05"),
        "*-1\r\n"
    );
    assert_eq!(command(&mut client, "BLMPOP 0.05 1 none LEFT"), "*-1\r\n");
    assert_eq!(
        command(&mut client, "BLPOP none -1"),
        "-ERR timeout is negative\r\n"
    );
    assert_eq!(
        command(&mut client, "BLPOP none abc"),
        "-ERR timeout is not a float or out of range\r\n"
    );
    assert_eq!(
        command(&mut client, "BLMOVE none other UP RIGHT abc"),
        "-ERR syntax error\r\n"
    );
    assert!(command(&mut client, "HELLO 3").starts_with('%'));
    assert_eq!(command(&mut client, "BLPOP none 0.05"), "_\r\n");
    assert_eq!(
        command(&mut client, "BLMOVE none other LEFT RIGHT 0.05"),
        "_\r\n"
    );
    // A pipelined command after a blocked one runs after its reply.
    let mut pipelined = server.client();
    send(&mut pipelined, "BLPOP none 0.1");
    send(&mut pipelined, "PING");
    assert_eq!(reply(&mut pipelined), "*-1\r\n");
    assert_eq!(reply(&mut pipelined), "+PONG\r\n");
}

fn multi_turns_blocking_into_non_blocking(target: Target) {
    let server = start(target);
    let mut client = server.client();
    assert_eq!(command(&mut client, "MULTI"), "+OK\r\n");
    assert_eq!(command(&mut client, "BLPOP none 0"), "+QUEUED\r\n");
    assert_eq!(
        command(&mut client, "BLMOVE none b LEFT LEFT 0"),
        "+QUEUED\r\n"
    );
    assert_eq!(command(&mut client, "RPUSH full x"), "+QUEUED\r\n");
    assert_eq!(command(&mut client, "BRPOP full 0"), "+QUEUED\r\n");
    assert_eq!(
        command(&mut client, "EXEC"),
        "*4\r\n*-1\r\n$-1\r\n:1\r\n*2\r\n$4\r\nfull\r\n$1\r\nx\r\n"
    );
    assert!(command(&mut client, "HELLO 3").starts_with('%'));
    assert_eq!(command(&mut client, "MULTI"), "+OK\r\n");
    assert_eq!(command(&mut client, "BLMPOP 0 1 none LEFT"), "+QUEUED\r\n");
    assert_eq!(command(&mut client, "EXEC"), "*1\r\n_\r\n");
}

fn a_served_blmove_serves_the_clients_blocked_on_its_target(target: Target) {
    let server = start(target);
    let mut probe = server.client();
    let mut mover = server.client();
    let mut popper = server.client();
    send(&mut mover, "BLMOVE source target LEFT RIGHT 0");
    settle_blocked(&mut probe, 1);
    send(&mut popper, "BLPOP target 0");
    settle_blocked(&mut probe, 2);
    assert_eq!(command(&mut probe, "RPUSH source x"), ":1\r\n");
    assert_eq!(reply(&mut mover), "$1\r\nx\r\n");
    assert_eq!(reply(&mut popper), "*2\r\n$6\r\ntarget\r\n$1\r\nx\r\n");
    assert_eq!(command(&mut probe, "EXISTS source target"), ":0\r\n");
    // A rotation of one list serves nobody twice.
    assert_eq!(command(&mut probe, "RPUSH ring 1 2"), ":2\r\n");
    assert_eq!(
        command(&mut probe, "BLMOVE ring ring LEFT RIGHT 0"),
        "$1\r\n1\r\n"
    );
    assert_eq!(
        command(&mut probe, "LRANGE ring 0 -1"),
        "*2\r\n$1\r\n2\r\n$1\r\n1\r\n"
    );
}

fn a_killed_or_closed_blocked_client_loses_no_element(target: Target) {
    let server = start(target);
    let mut probe = server.client();
    let mut killed = server.client();
    let id = command(&mut killed, "CLIENT ID");
    let id = id.trim_start_matches(':').trim_end();
    send(&mut killed, "BLPOP k 0");
    settle_blocked(&mut probe, 1);
    assert_eq!(
        command(&mut probe, &format!("CLIENT KILL ID {id}")),
        ":1\r\n"
    );
    settle_blocked(&mut probe, 0);
    assert_eq!(command(&mut probe, "RPUSH k kept"), ":1\r\n");
    assert_eq!(command(&mut probe, "LRANGE k 0 -1"), "*1\r\n$4\r\nkept\r\n");
    let mut closed = server.client();
    send(&mut closed, "BRPOP j 0");
    settle_blocked(&mut probe, 1);
    drop(closed);
    settle_blocked(&mut probe, 0);
    assert_eq!(command(&mut probe, "RPUSH j kept"), ":1\r\n");
    assert_eq!(command(&mut probe, "LLEN j"), ":1\r\n");
    // A client blocked behind the killed one gets the element.
    let mut doomed = server.client();
    let doomed_id = command(&mut doomed, "CLIENT ID");
    let doomed_id = doomed_id.trim_start_matches(':').trim_end().to_owned();
    send(&mut doomed, "BLPOP m 0");
    settle_blocked(&mut probe, 1);
    let mut waiting = server.client();
    send(&mut waiting, "BLPOP m 0");
    settle_blocked(&mut probe, 2);
    command(&mut probe, &format!("CLIENT KILL ID {doomed_id}"));
    settle_blocked(&mut probe, 1);
    assert_eq!(command(&mut probe, "RPUSH m v"), ":1\r\n");
    assert_eq!(reply(&mut waiting), "*2\r\n$1\r\nm\r\n$1\r\nv\r\n");
}

fn the_redis_crate_blocks_and_is_served(target: Target) {
    let server = start(target);
    let open = || {
        redis::Client::open(server.url(""))
            .expect("a valid URL")
            .get_connection()
            .expect("connect")
    };
    let mut blocked = open();
    let mut pusher = open();
    let mut probe = server.client();
    let handle = thread::spawn(move || {
        let popped: Option<(String, String)> = redis::cmd("BLPOP")
            .arg("jobs")
            .arg(0)
            .query(&mut blocked)
            .expect("BLPOP");
        popped
    });
    settle_blocked(&mut probe, 1);
    let length: i64 = redis::cmd("LPUSH")
        .arg("jobs")
        .arg("job-1")
        .query(&mut pusher)
        .expect("LPUSH");
    assert_eq!(length, 1);
    let popped = handle.join().expect("the blocked client");
    assert_eq!(popped, Some(("jobs".to_owned(), "job-1".to_owned())));
    let timed_out: Option<(String, String)> = redis::cmd("BRPOP")
        .arg("jobs")
        .arg(0.05)
        .query(&mut pusher)
        .expect("BRPOP");
    assert_eq!(timed_out, None);
}

fn sorted_set_pops_block_and_are_served(target: Target) {
    let server = start(target);
    let mut probe = server.client();
    for (blocking, write, expected) in [
        (
            "BZPOPMIN z1 z2 0",
            "ZADD z2 2 b 1 a",
            "*3\r\n$2\r\nz2\r\n$1\r\na\r\n$1\r\n1\r\n",
        ),
        (
            "BZPOPMAX z3 0",
            "ZINCRBY z3 2.5 m",
            "*3\r\n$2\r\nz3\r\n$1\r\nm\r\n$3\r\n2.5\r\n",
        ),
        (
            "BZMPOP 0 2 z4 z5 MAX COUNT 5",
            "ZUNIONSTORE z5 1 z2",
            "*2\r\n$2\r\nz5\r\n*1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
        ),
    ] {
        let mut blocked = server.client();
        send(&mut blocked, blocking);
        settle_blocked(&mut probe, 1);
        // A write to another key serves nobody.
        assert!(command(&mut probe, "ZINCRBY other 1 x").starts_with('$'));
        let mut writer = server.client();
        let written = command(&mut writer, write);
        assert!(!written.starts_with('-'), "{write}: {written}");
        assert_eq!(reply(&mut blocked), expected, "{blocking}");
        assert_eq!(command(&mut blocked, "PING"), "+PONG\r\n");
        settle_blocked(&mut probe, 0);
    }
    assert_eq!(command(&mut probe, "EXISTS z3 z5"), ":0\r\n");
    assert_eq!(command(&mut probe, "ZRANGE z2 0 -1"), "*1\r\n$1\r\nb\r\n");
    // RESP3: the served score is a double.
    let mut blocked = server.client();
    assert!(command(&mut blocked, "HELLO 3").starts_with('%'));
    send(&mut blocked, "BZPOPMIN z6 0");
    settle_blocked(&mut probe, 1);
    assert_eq!(command(&mut probe, "ZADD z6 1.5 a"), ":1\r\n");
    assert_eq!(reply(&mut blocked), "*3\r\n$2\r\nz6\r\n$1\r\na\r\n,1.5\r\n");
}

fn sorted_set_waiters_are_served_oldest_first(target: Target) {
    let server = start(target);
    let mut probe = server.client();
    let mut first = server.client();
    let mut second = server.client();
    let mut third = server.client();
    send(&mut first, "BZPOPMIN z 0");
    settle_blocked(&mut probe, 1);
    send(&mut second, "BZMPOP 0 1 z MIN COUNT 2");
    settle_blocked(&mut probe, 2);
    send(&mut third, "BZPOPMAX z 0");
    settle_blocked(&mut probe, 3);
    // One ZADD of four members serves all three in the order they blocked.
    assert_eq!(command(&mut probe, "ZADD z 1 a 2 b 3 c 4 d"), ":4\r\n");
    assert_eq!(reply(&mut first), "*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_eq!(
        reply(&mut second),
        "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
    assert_eq!(reply(&mut third), "*3\r\n$1\r\nz\r\n$1\r\nd\r\n$1\r\n4\r\n");
    settle_blocked(&mut probe, 0);
    assert_eq!(command(&mut probe, "EXISTS z"), ":0\r\n");
}

fn sorted_set_pops_time_out_and_do_not_block_in_multi(target: Target) {
    let server = start(target);
    let mut client = server.client();
    let started = Instant::now();
    assert_eq!(command(&mut client, "BZPOPMIN none 0.2"), "*-1\r\n");
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(command(&mut client, "BZPOPMAX none 0.05"), "*-1\r\n");
    assert_eq!(command(&mut client, "BZMPOP 0.05 1 none MIN"), "*-1\r\n");
    assert_eq!(command(&mut client, "ZMPOP 1 none MIN"), "*-1\r\n");
    assert_eq!(
        command(&mut client, "BZPOPMIN none -1"),
        "-ERR timeout is negative\r\n"
    );
    assert_eq!(
        command(&mut client, "BZMPOP x 0 none MIN"),
        "-ERR numkeys should be greater than 0\r\n"
    );
    assert_eq!(command(&mut client, "MULTI"), "+OK\r\n");
    assert_eq!(command(&mut client, "BZPOPMAX none 0"), "+QUEUED\r\n");
    assert_eq!(command(&mut client, "ZADD full 1 x"), "+QUEUED\r\n");
    assert_eq!(
        command(&mut client, "BZMPOP 0 2 none full MIN"),
        "+QUEUED\r\n"
    );
    assert_eq!(
        command(&mut client, "EXEC"),
        "*3\r\n*-1\r\n:1\r\n*2\r\n$4\r\nfull\r\n*1\r\n*2\r\n$1\r\nx\r\n$1\r\n1\r\n"
    );
    assert!(command(&mut client, "HELLO 3").starts_with('%'));
    assert_eq!(command(&mut client, "BZPOPMIN none 0.05"), "_\r\n");
    assert_eq!(command(&mut client, "BZMPOP 0.05 1 none MAX"), "_\r\n");
    assert_eq!(command(&mut client, "MULTI"), "+OK\r\n");
    assert_eq!(command(&mut client, "BZPOPMIN none 0"), "+QUEUED\r\n");
    assert_eq!(command(&mut client, "EXEC"), "*1\r\n_\r\n");
}
