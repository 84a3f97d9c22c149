//! Clients in other languages, which nobody here wrote, against a server: redis-py (PyPI
//! `redis`) and ioredis (npm), each driven by a script under `tests/clients/` through the
//! string and keyspace workload (binary values, SET's options, counters, ranges, keyspace
//! commands, expiry, the client's SCAN iterator, a second database, pipelines of 100+
//! commands, MULTI/EXEC with a WATCH that another connection breaks, RESP3, error replies,
//! CONFIG GET, INFO, CLIENT SETNAME/GETNAME, FLUSHDB), then the collection types through
//! each client's own API (hashes, lists, sets, sorted sets, SORT, the blocking pops served
//! by a second connection's push, pipelines and MULTI over every type, WRONGTYPE as the
//! client's error class). A script asserts every reply itself,
//! prints `ok CHECK` or `FAIL CHECK: why` per check, and exits non-zero on any failure;
//! this test runs it with the server's port and shows its output when it fails.
//!
//! Each check takes the server as a parameter and runs against Redis (which proves the
//! script's expectations are Redis's) and against floe on each of its event loops.
//!
//! redis-py's `Sentinel` class is checked once more, against floe only: a floe primary,
//! a floe replica and one `redis-server --sentinel` watching them, with the script's
//! sentinel mode finding both through the sentinel and writing and reading through them.
//!
//! The clients are installed by `.ci/install-deps` into `tests/clients/python/venv` and
//! `tests/clients/node/node_modules` (both ignored by git); a missing one fails the test
//! and names that script. Jedis is not here: no registry this project can reach carries it
//! (Debian has no Jedis package, and Maven Central is out of reach).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::server::{Client, Server, Target, free_port, require_redis_binary};

common::server::against_both!(redis_py, ioredis);

/// How long one client script may run (each takes a few seconds) before the test fails.
const SCRIPT_WAIT_MAX: Duration = Duration::from_secs(180);
/// How long the sentinel may take to answer and to find the replica before the test fails.
const SENTINEL_WAIT_MAX: Duration = Duration::from_secs(30);

/// `tests/clients/` in this checkout.
fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("clients")
}

/// The virtual environment's Python, with redis-py importable; panics with the install
/// hint otherwise.
fn require_redis_py() -> PathBuf {
    let python = clients_dir()
        .join("python")
        .join("venv")
        .join("bin")
        .join("python");
    let found = Command::new(&python)
        .args(["-c", "import redis"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        found,
        "redis-py is not installed in {}; run `.ci/install-deps` (as root) to create the \
         virtual environment and install it",
        python.display()
    );
    python
}

/// Node.js, with ioredis installed beside the script; panics with the install hint
/// otherwise.
fn require_ioredis() -> PathBuf {
    let node_found = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    let package = clients_dir()
        .join("node")
        .join("node_modules")
        .join("ioredis")
        .join("package.json");
    assert!(
        node_found && package.is_file(),
        "ioredis is not installed (node on PATH: {node_found}, {} present: {}); run \
         `.ci/install-deps` (as root) to install Node.js and `npm ci` in tests/clients/node",
        package.display(),
        package.is_file()
    );
    PathBuf::from("node")
}

fn redis_py(target: Target) {
    let python = require_redis_py();
    let server = target.start();
    run_script(
        &server,
        &python,
        "redis_py_check.py",
        &[server.port.to_string()],
    );
}

fn ioredis(target: Target) {
    let node = require_ioredis();
    let server = target.start();
    run_script(
        &server,
        &node,
        "ioredis_check.js",
        &[server.port.to_string()],
    );
}

/// redis-py's `Sentinel` finds a floe primary and its floe replica through a real
/// `redis-server --sentinel`, writes through `master_for` and reads the writes back
/// through `slave_for` (the script's `sentinel` mode).
#[test]
fn redis_py_sentinel_over_floe() {
    let python = require_redis_py();
    require_redis_binary("redis-server");
    // Persistence stays on: a primary with `--persistence off` cannot serve a full sync
    // (docs/replication.md).
    let primary = Server::floe(&["--appendfsync", "everysec"]);
    let target = format!("127.0.0.1 {}", primary.port);
    let replica = Server::floe(&["--replicaof", &target]);
    let sentinel = Sentinel::start(&primary);
    run_script(
        &primary,
        &python,
        "redis_py_check.py",
        &[
            "sentinel".to_owned(),
            sentinel.port.to_string(),
            primary.port.to_string(),
            replica.port.to_string(),
        ],
    );
}

/// One `redis-server --sentinel` on a free loopback port watching a primary as
/// `mymaster` (quorum 1); SIGKILLed by its PID and reaped on drop (it holds no data).
struct Sentinel {
    child: std::process::Child,
    port: u16,
}

impl Sentinel {
    /// Starts it with its config and log in the primary's scratch directory, and waits
    /// (bounded) until it lists one replica of the primary that is not down.
    fn start(primary: &Server) -> Self {
        let port = free_port();
        let config = primary.dir.join("sentinel.conf");
        let log = primary.dir.join("sentinel.log");
        fs::write(
            &config,
            format!(
                "port {port}\nbind 127.0.0.1\ndaemonize no\ndir {dir}\n\
                 sentinel monitor mymaster 127.0.0.1 {primary_port} 1\n\
                 sentinel down-after-milliseconds mymaster 5000\n",
                dir = primary.dir.display(),
                primary_port = primary.port,
            ),
        )
        .expect("write the sentinel's config");
        let log_file = fs::File::create(&log).expect("create the sentinel's log");
        let child = Command::new("redis-server")
            .arg(&config)
            .arg("--sentinel")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("clone the log handle"))
            .stderr(log_file)
            .spawn()
            .expect("start redis-server --sentinel");
        let sentinel = Self { child, port };
        let started = Instant::now();
        loop {
            if sentinel.replica_listed() {
                return sentinel;
            }
            assert!(
                started.elapsed() < SENTINEL_WAIT_MAX,
                "the sentinel did not list the replica within {SENTINEL_WAIT_MAX:?}; its \
                 log:\n{}",
                fs::read_to_string(&log).unwrap_or_default()
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether the sentinel answers and lists a replica whose flags say it is up.
    fn replica_listed(&self) -> bool {
        if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            return false;
        }
        let mut client = Client::connect(self.port);
        let Ok(reply) = client.try_command(&[b"SENTINEL", b"replicas", b"mymaster"]) else {
            return false;
        };
        let reply = String::from_utf8_lossy(&reply);
        reply.contains("\r\nflags\r\n$5\r\nslave\r\n")
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        // An error means it has already exited; the wait reaps it either way.
        let _killed = self.child.kill();
        let _reaped = self.child.wait();
    }
}

/// Runs `interpreter tests/clients/SCRIPT ARGUMENTS...`, its stdout and stderr in one file in the
/// server's scratch directory; panics with that output (and where the server's log is)
/// unless it exits 0 within [`SCRIPT_WAIT_MAX`].
fn run_script(server: &Server, interpreter: &Path, script: &str, arguments: &[String]) {
    let output_path = server.dir.join(format!("{script}.out"));
    let output = fs::File::create(&output_path).expect("create the script's output file");
    let mut child = Command::new(interpreter)
        .arg(clients_dir().join(script))
        .args(arguments)
        .current_dir(clients_dir())
        .stdin(Stdio::null())
        .stdout(output.try_clone().expect("clone the output file handle"))
        .stderr(output)
        .spawn()
        .unwrap_or_else(|error| panic!("start {} {script}: {error}", interpreter.display()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll the client script") {
            break Some(status);
        }
        if started.elapsed() > SCRIPT_WAIT_MAX {
            // Errors here mean it has just exited, which is what we want.
            let _killed = child.kill();
            let _reaped = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(50));
    };
    let printed = fs::read_to_string(&output_path).unwrap_or_default();
    match status {
        Some(status) if status.success() => {}
        Some(status) => panic!(
            "{script} against {} failed ({status}); its output:\n{printed}\n\
             server log: {}",
            server.name,
            server.log.display()
        ),
        None => panic!(
            "{script} against {} did not finish within {SCRIPT_WAIT_MAX:?}; its output so \
             far:\n{printed}\nserver log: {}",
            server.name,
            server.log.display()
        ),
    }
}
