//! Helpers shared by the replication tests (`server_replication*.rs`): connecting with the
//! `redis` crate, bounded polls, INFO replication's fields, and starting a replica.
//!
//! Every wait is a bounded poll ([`eventually`]): a slow machine makes a test slower, never
//! wrong.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use redis::Commands;

use super::server::Server;

/// The longest any replication step may take before a test gives up.
pub const WAIT_MAX: Duration = Duration::from_secs(60);

/// A connection to `server`; a reply that takes longer than [`WAIT_MAX`] fails the test
/// (a write whose reply never comes is a failure, not a hang).
pub fn connect(server: &Server) -> redis::Connection {
    connect_port(server.port)
}

/// Polls `check` until it holds, at most [`WAIT_MAX`].
pub fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < WAIT_MAX, "gave up waiting for: {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// `INFO replication`'s text.
pub fn info_replication(connection: &mut redis::Connection) -> String {
    redis::cmd("INFO")
        .arg("replication")
        .query::<String>(connection)
        .expect("INFO replication")
}

/// One `name:value` field of an INFO text.
pub fn info_field(info: &str, name: &str) -> Option<String> {
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .map(str::to_owned)
}

/// Whether the replica behind `connection` says its link is up.
pub fn link_up(connection: &mut redis::Connection) -> bool {
    info_field(&info_replication(connection), "master_link_status").as_deref() == Some("up")
}

/// A `floe serve` started with `--replicaof` pointing at `primary`, and `args`.
pub fn replica_of(primary: &Server, args: &[&str]) -> Server {
    let target = format!("127.0.0.1 {}", primary.port);
    let mut all = vec!["--replicaof", target.as_str()];
    all.extend_from_slice(args);
    Server::floe(&all)
}

/// GET `key`.
pub fn get(connection: &mut redis::Connection, key: &str) -> Option<String> {
    connection.get(key).expect("GET")
}

/// Writes of every kind a replica must follow, on `source`: SET, an MSET (one group), a
/// MULTI block (one group of three commands), DEL, EXPIRE. [`check_writes`] checks them.
pub fn write_mix(source: &mut redis::Connection) {
    let _: () = source.set("a", "1").expect("SET");
    let _: () = redis::cmd("MSET")
        .arg(&["b", "2", "c", "3", "gone", "x"])
        .query(source)
        .expect("MSET");
    let _: () = redis::pipe()
        .atomic()
        .set("m1", "one")
        .ignore()
        .incr("counter", 5)
        .ignore()
        .rpush("list", &["x", "y"])
        .ignore()
        .query(source)
        .expect("MULTI/EXEC");
    let _: i64 = source.del("gone").expect("DEL");
    let _: bool = source.expire("c", 1000).expect("EXPIRE");
}

/// Checks on `target` what [`write_mix`] wrote (once a later write reached it).
pub fn check_writes(target: &mut redis::Connection) {
    assert_eq!(get(target, "a").as_deref(), Some("1"));
    assert_eq!(get(target, "b").as_deref(), Some("2"));
    assert_eq!(get(target, "m1").as_deref(), Some("one"));
    assert_eq!(get(target, "counter").as_deref(), Some("5"));
    let list: Vec<String> = target.lrange("list", 0, -1).expect("LRANGE");
    assert_eq!(list, ["x", "y"]);
    assert_eq!(get(target, "gone"), None);
    let ttl: i64 = target.ttl("c").expect("TTL");
    assert!(ttl > 0 && ttl <= 1000, "TTL {ttl}");
}

/// `REPLICAOF NO ONE` on `connection`, which must answer OK.
pub fn promote(connection: &mut redis::Connection) {
    let answer: String = redis::cmd("REPLICAOF")
        .arg("NO")
        .arg("ONE")
        .query(connection)
        .expect("REPLICAOF NO ONE");
    assert_eq!(answer, "OK");
}

/// `REPLICAOF 127.0.0.1 <port>` on `connection`, which must answer OK.
pub fn point_at(connection: &mut redis::Connection, port: u16) {
    let answer: String = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(port)
        .query(connection)
        .expect("REPLICAOF");
    assert_eq!(answer, "OK");
}

/// Whether the replica behind `connection` says its link is down for a reason holding
/// `text`.
pub fn down_for(connection: &mut redis::Connection, text: &str) -> bool {
    info_field(
        &info_replication(connection),
        "floe_master_link_down_reason",
    )
    .is_some_and(|reason| reason.contains(text))
}

/// ROLE's fields on `connection`.
pub fn role(connection: &mut redis::Connection) -> Vec<redis::Value> {
    match redis::cmd("ROLE").query(connection).expect("ROLE") {
        redis::Value::Array(fields) => fields,
        other => panic!("ROLE: {other:?}"),
    }
}

/// The replicas a primary's ROLE lists (its third field).
pub fn role_replicas(fields: &[redis::Value]) -> &[redis::Value] {
    match fields.get(2) {
        Some(redis::Value::Array(replicas)) => replicas,
        _ => panic!("ROLE of a primary: {fields:?}"),
    }
}

/// A `floe serve` on a port and directory the test chooses (the harness picks its own), so
/// it can be started again on the same ones; its log is `<dir>.log`, new at each start.
/// SIGKILLed on drop.
pub struct Fixed {
    child: Child,
    /// Its port.
    pub port: u16,
    /// Its log file.
    pub log: PathBuf,
}

impl Fixed {
    /// Starts `floe serve --port <port> --dir <dir> <args>` and waits until it answers PING.
    pub fn start(port: u16, dir: &Path, args: &[&str]) -> Self {
        let log = dir.with_extension("log");
        let file = fs::File::create(&log).expect("a log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_floe"))
            .args(["serve", "--bind", "127.0.0.1", "--http-port", "off"])
            .args(["--port", &port.to_string()])
            .arg("--dir")
            .arg(dir)
            .args(args)
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start floe");
        // A PING answered, not just a connect: the port may accept before floe serves it
        // (a connection then reset), which made the test flaky on a loaded machine.
        eventually("the fixed-port server to answer PING", || {
            if let Ok(Some(status)) = child.try_wait() {
                let text = fs::read_to_string(&log).unwrap_or_default();
                panic!("floe on port {port} exited ({status}) before it served:\n{text}");
            }
            let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
                return false;
            };
            let mut answer = [0_u8; 7];
            stream.write_all(b"PING\r\n").is_ok()
                && stream.read_exact(&mut answer).is_ok()
                && &answer == b"+PONG\r\n"
        });
        Self { child, port, log }
    }

    /// A clean shutdown: SIGTERM, then waits (bounded) for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let termed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill -TERM");
        assert!(termed.success(), "kill -TERM failed");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the server") {
                return status;
            }
            assert!(started.elapsed() < WAIT_MAX, "no exit after SIGTERM");
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// How many times its log says `text`.
    pub fn log_count(&self, text: &str) -> usize {
        fs::read_to_string(&self.log)
            .expect("the server's log")
            .matches(text)
            .count()
    }
}

impl Drop for Fixed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A connection to a server on `port` of loopback (replies bounded as by [`connect`]).
pub fn connect_port(port: u16) -> redis::Connection {
    let connection = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .and_then(|client| client.get_connection())
        .unwrap_or_else(|error| panic!("connect to {port}: {error}"));
    connection
        .set_read_timeout(Some(WAIT_MAX))
        .expect("a read timeout");
    connection
}
