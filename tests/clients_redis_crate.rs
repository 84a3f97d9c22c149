//! The `redis` crate (redis-rs), a client nobody here wrote, against a server: its sync
//! connection with typed commands, pipelines, a full SCAN iteration, MULTI/EXEC with WATCH
//! through `redis::transaction` (with a conflicting write that forces a retry), a tokio
//! multiplexed connection with concurrent tasks, and RESP3 (`?protocol=resp3`).
//!
//! Each check takes the server as a parameter and runs against Redis and against floe on
//! each of its event loops (io_uring and epoll).

mod common;

use std::collections::BTreeSet;

use common::server::{Server, Target};
use redis::{AsyncCommands, Commands, Value};

common::server::against_both!(
    typed_commands,
    pipeline,
    scan_iterates_every_key,
    transaction_retries_after_a_watched_write,
    tokio_multiplexed_connection,
    resp3_connection,
);

fn connect(server: &Server, suffix: &str) -> redis::Connection {
    redis::Client::open(server.url(suffix))
        .expect("a valid URL")
        .get_connection()
        .unwrap_or_else(|error| {
            panic!(
                "connect to {}: {error}; log {}",
                server.name,
                server.log.display()
            )
        })
}

/// The crate's typed command methods: values, options, counters, expiry and errors.
fn typed_commands(target: Target) {
    let server = target.start();
    let mut con = connect(&server, "");
    let () = con.set("greeting", "hello").expect("SET");
    let got: Option<String> = con.get("greeting").expect("GET");
    assert_eq!(got.as_deref(), Some("hello"));
    let missing: Option<String> = con.get("nope").expect("GET missing");
    assert_eq!(missing, None);
    let binary = b"a\x00b\r\n\xff".to_vec();
    let () = con.set("binary", &binary).expect("SET binary");
    let back: Vec<u8> = con.get("binary").expect("GET binary");
    assert_eq!(back, binary);

    let added: bool = con.set_nx("greeting", "other").expect("SETNX");
    assert!(!added);
    let length: usize = con.append("greeting", ", world").expect("APPEND");
    assert_eq!(length, 12);
    let range: String = con.getrange("greeting", -5, -1).expect("GETRANGE");
    assert_eq!(range, "world");

    let count: i64 = con.incr("counter", 5).expect("INCRBY");
    assert_eq!(count, 5);
    let count: i64 = con.decr("counter", 7).expect("DECRBY");
    assert_eq!(count, -2);
    let float: f64 = con.incr("float", 1.5).expect("INCRBYFLOAT");
    assert_eq!(float, 1.5);

    let () = con.mset(&[("m1", "1"), ("m2", "2")]).expect("MSET");
    let values: Vec<Option<i64>> = con.mget(&["m1", "nope", "m2"]).expect("MGET");
    assert_eq!(values, [Some(1), None, Some(2)]);
    let exists: usize = con.exists(&["m1", "m2", "nope"]).expect("EXISTS");
    assert_eq!(exists, 2);
    let deleted: usize = con.del(&["m1", "m2", "nope"]).expect("DEL");
    assert_eq!(deleted, 2);

    let () = con.set_ex("session", "token", 100_000).expect("SETEX");
    let ttl: i64 = con.ttl("session").expect("TTL");
    assert!((1..=100_000).contains(&ttl), "ttl={ttl}");
    let persisted: bool = con.persist("session").expect("PERSIST");
    assert!(persisted);
    let ttl: i64 = con.ttl("session").expect("TTL");
    assert_eq!(ttl, -1);

    let error = con
        .incr::<_, _, i64>("greeting", 1)
        .expect_err("INCR on text is an error");
    assert_eq!(error.code(), Some("ERR"), "{error}");
    let error = redis::cmd("NOSUCHCOMMAND")
        .query::<Value>(&mut con)
        .expect_err("an unknown command is an error");
    assert_eq!(error.code(), Some("ERR"), "{error}");
    // The connection is still usable after errors.
    let pong: String = redis::cmd("PING").query(&mut con).expect("PING");
    assert_eq!(pong, "PONG");
}

/// A pipeline sends many commands before reading; replies come back in order, and an
/// error in the middle does not disturb its neighbours.
fn pipeline(target: Target) {
    let server = target.start();
    let mut con = connect(&server, "");
    let mut pipe = redis::pipe();
    for index in 0..500 {
        pipe.cmd("SET")
            .arg(format!("p:{index}"))
            .arg(index)
            .ignore();
    }
    pipe.cmd("DBSIZE")
        .cmd("GET")
        .arg("p:499")
        .cmd("INCR")
        .arg("p:0");
    let (size, last, first): (i64, i64, i64) = pipe.query(&mut con).expect("pipeline");
    assert_eq!((size, last, first), (500, 499, 1));

    let replies: Vec<Value> = redis::pipe()
        .cmd("SET")
        .arg("text")
        .arg("x")
        .cmd("INCR")
        .arg("text")
        .cmd("GET")
        .arg("text")
        .ignore_errors()
        .query(&mut con)
        .expect("pipeline with an error in it");
    assert_eq!(replies.len(), 3, "{replies:?}");
    assert_eq!(replies[0], Value::Okay);
    assert!(matches!(replies[1], Value::ServerError(_)), "{replies:?}");
    assert_eq!(replies[2], Value::BulkString(b"x".to_vec()));
}

/// The crate's SCAN iterator follows cursors until 0 and sees every key (it may see a key
/// twice; it must not miss one).
fn scan_iterates_every_key(target: Target) {
    let server = target.start();
    let mut con = connect(&server, "");
    let mut pipe = redis::pipe();
    for index in 0..300 {
        pipe.cmd("SET")
            .arg(format!("scan:{index}"))
            .arg(index)
            .ignore();
        pipe.cmd("SET")
            .arg(format!("other:{index}"))
            .arg(index)
            .ignore();
    }
    let () = pipe.query(&mut con).expect("fill");
    let keys: BTreeSet<String> = con
        .scan_match::<_, String>("scan:*")
        .expect("SCAN MATCH")
        .collect::<Result<_, _>>()
        .expect("every SCAN page");
    let expected: BTreeSet<String> = (0..300).map(|index| format!("scan:{index}")).collect();
    assert_eq!(keys, expected);
}

/// `redis::transaction` WATCHes, runs the closure, and retries when EXEC returns nil. A
/// write from another connection between WATCH and EXEC must force exactly one retry.
fn transaction_retries_after_a_watched_write(target: Target) {
    let server = target.start();
    let mut con = connect(&server, "");
    let mut other = connect(&server, "");
    let () = con.set("balance", 100).expect("SET");
    let mut attempts = 0;
    let (balance,): (i64,) = redis::transaction(&mut con, &["balance"], |con, pipe| {
        attempts += 1;
        let balance: i64 = con.get("balance")?;
        if attempts == 1 {
            // Someone else writes the watched key before our EXEC.
            let () = other.set("balance", balance + 1000)?;
        }
        pipe.set("balance", balance - 30)
            .ignore()
            .get("balance")
            .query(con)
    })
    .expect("the transaction commits on its second attempt");
    assert_eq!(attempts, 2);
    assert_eq!(balance, 1070);

    // Plain MULTI/EXEC through an atomic pipeline, and EXECABORT from a queued error.
    let (first, second): (i64, i64) = redis::pipe()
        .atomic()
        .incr("tx", 1)
        .incr("tx", 1)
        .query(&mut con)
        .expect("MULTI/EXEC");
    assert_eq!((first, second), (1, 2));
    let error = redis::pipe()
        .atomic()
        .incr("tx", 1)
        .cmd("GET")
        .query::<Value>(&mut con)
        .expect_err("a wrong-arity command inside MULTI aborts EXEC");
    // The crate reports EXECABORT together with the queued command's own error.
    let message = error.to_string();
    assert!(message.contains("aborted"), "{message}");
    assert!(message.contains("wrong number of arguments"), "{message}");
    let tx: i64 = con.get("tx").expect("GET");
    assert_eq!(tx, 2, "an aborted transaction changes nothing");
}

/// A tokio multiplexed connection shared by concurrent tasks: every INCR is counted once.
fn tokio_multiplexed_connection(target: Target) {
    let server = target.start();
    let url = server.url("");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async move {
        let client = redis::Client::open(url).expect("a valid URL");
        let con = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        let mut tasks = Vec::new();
        for task in 0..8 {
            let mut con = con.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..100 {
                    let _count: i64 = con.incr("shared", 1).await.expect("INCR");
                }
                let () = con.set(format!("task:{task}"), "done").await.expect("SET");
            }));
        }
        for task in tasks {
            task.await.expect("a task finishes");
        }
        let mut con = con;
        let shared: i64 = con.get("shared").await.expect("GET");
        assert_eq!(shared, 800);
        let keys: Vec<String> = (0..8).map(|task| format!("task:{task}")).collect();
        let done: Vec<Option<String>> = con.mget(keys).await.expect("MGET");
        assert!(
            done.iter().all(|value| value.as_deref() == Some("done")),
            "{done:?}"
        );
    });
}

/// With `?protocol=resp3` the crate says HELLO 3 on connect; nil, integers, bulk strings
/// and errors still arrive as the same values, and HELLO's map says proto 3.
fn resp3_connection(target: Target) {
    let server = target.start();
    let mut con = connect(&server, "?protocol=resp3");
    let hello: Value = redis::cmd("HELLO").arg(3).query(&mut con).expect("HELLO 3");
    let Value::Map(pairs) = hello else {
        panic!("HELLO 3 did not answer a map: {hello:?}");
    };
    let proto = pairs
        .iter()
        .find(|(key, _)| *key == Value::BulkString(b"proto".to_vec()))
        .map(|(_, value)| value.clone());
    assert_eq!(proto, Some(Value::Int(3)), "{pairs:?}");
    let missing: Value = redis::cmd("GET").arg("nope").query(&mut con).expect("GET");
    assert_eq!(missing, Value::Nil);
    let () = con.set("k", "v").expect("SET");
    let value: String = con.get("k").expect("GET");
    assert_eq!(value, "v");
    let count: i64 = con.incr("n", 41).expect("INCRBY");
    assert_eq!(count, 41);
    let aborted: Value = {
        redis::cmd("WATCH").arg("k").exec(&mut con).expect("WATCH");
        let () = con.set("k", "changed").expect("SET");
        redis::pipe()
            .atomic()
            .get("k")
            .query(&mut con)
            .expect("EXEC")
    };
    assert_eq!(aborted, Value::Nil, "an aborted EXEC is a RESP3 null");
}
