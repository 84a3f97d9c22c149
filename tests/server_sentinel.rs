//! Redis Sentinel, unmodified, over floe (`docs/replication.md`, "Sentinel"), and the
//! write refusal Sentinel deployments pair with it (`min-replicas-to-write`).
//!
//! - Three `redis-server --sentinel` processes (quorum 2) watch a floe primary and two
//!   floe replicas, all on loopback free ports. The primary is SIGKILLed; the sentinels
//!   promote a replica, which then reports `role:master` and takes writes, and point the
//!   other replica at it, which follows (a key written to the new primary reaches it).
//!   Every wait is a bounded poll: a slow machine makes the test slower, never wrong. The
//!   failover time is printed, never asserted.
//! - What Sentinel sends, one reply each: the failover's `MULTI; SLAVEOF NO ONE; CONFIG
//!   REWRITE; CLIENT KILL TYPE normal; CLIENT KILL TYPE pubsub; EXEC` (the block runs,
//!   CONFIG REWRITE writes `replicaof` back to the file), CLIENT KILL's TYPE filter and its
//!   error, SCRIPT KILL's NOTBUSY, and INFO's `run_id` and `slave_priority`.
//! - `min-replicas-to-write` against a real replica: Redis's exact NOREPLICAS error while
//!   too few replicas acknowledged within `min-replicas-max-lag`, `min_slaves_good_slaves`
//!   in INFO, writes accepted once the replica follows and refused again once it is killed;
//!   CONFIG SET and the config file (either name) set it.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::server::{Client, Server, free_port, require_redis_binary};

/// The longest any step (a sync, a failover, a reconfiguration) may take before the test
/// gives up: generous, so that only a broken failover fails it.
const WAIT_MAX: Duration = Duration::from_secs(60);

/// Polls `check` until it holds, at most [`WAIT_MAX`].
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < WAIT_MAX, "gave up waiting for: {what}");
        thread::sleep(Duration::from_millis(50));
    }
}

/// One command over a fresh connection; the reply as text (`None`: no connection).
fn query(port: u16, arguments: &[&str]) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let bytes: Vec<&[u8]> = arguments
        .iter()
        .map(|argument| argument.as_bytes())
        .collect();
    stream
        .write_all(&common::server::encode_command(&bytes))
        .ok()?;
    let mut received = Vec::new();
    let mut chunk = [0_u8; 16 * 1024];
    loop {
        if let Ok(Some(_)) = common::server::reply_size(&received) {
            return Some(String::from_utf8_lossy(&received).into_owned());
        }
        let count = stream.read(&mut chunk).ok()?;
        if count == 0 {
            return None;
        }
        received.extend_from_slice(&chunk[..count]);
    }
}

fn info_field(info: &str, name: &str) -> Option<String> {
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .map(str::to_owned)
}

/// A `redis-server --sentinel` process on a free loopback port; SIGKILLed and reaped on
/// drop (a sentinel holds no data worth a clean stop).
struct Sentinel {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Sentinel {
    /// Starts a sentinel watching `primary_port` as `mymaster`, quorum 2, down after 1 s.
    fn start(dir: &std::path::Path, index: usize, primary_port: u16) -> Self {
        let port = free_port();
        let config = dir.join(format!("sentinel-{index}.conf"));
        let log = dir.join(format!("sentinel-{index}.log"));
        fs::write(
            &config,
            format!(
                "port {port}\nbind 127.0.0.1\ndaemonize no\nloglevel verbose\n\
                 dir {dir}\n\
                 sentinel monitor mymaster 127.0.0.1 {primary_port} 2\n\
                 sentinel down-after-milliseconds mymaster 1000\n\
                 sentinel failover-timeout mymaster 5000\n\
                 sentinel parallel-syncs mymaster 1\n",
                dir = dir.display()
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
        let sentinel = Self { child, port, log };
        eventually("the sentinel to answer PING", || {
            query(port, &["PING"]).is_some_and(|reply| reply.starts_with("+PONG"))
        });
        sentinel
    }

    /// `SENTINEL get-master-addr-by-name mymaster`'s port.
    fn primary_port(&self) -> Option<u16> {
        let reply = query(
            self.port,
            &["SENTINEL", "get-master-addr-by-name", "mymaster"],
        )?;
        reply.lines().last()?.trim().parse().ok()
    }

    /// How many replicas this sentinel lists for `mymaster`.
    fn replica_count(&self) -> usize {
        query(self.port, &["SENTINEL", "replicas", "mymaster"])
            .map_or(0, |reply| reply.matches("\r\nname\r\n").count())
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        // An error means it has already exited; the wait reaps it either way.
        let _killed = self.child.kill();
        let _reaped = self.child.wait();
    }
}

#[test]
fn sentinel_promotes_a_floe_replica_when_the_floe_primary_is_killed() {
    require_redis_binary("redis-server");
    let mut primary = Server::floe(&["--appendfsync", "everysec"]);
    let target = format!("127.0.0.1 {}", primary.port);
    let replicas = [
        Server::floe(&["--replicaof", &target]),
        Server::floe(&["--replicaof", &target]),
    ];
    assert_eq!(
        query(primary.port, &["SET", "before", "failover"]).as_deref(),
        Some("+OK\r\n")
    );
    for replica in &replicas {
        eventually("the replica's full sync", || {
            query(replica.port, &["GET", "before"]).is_some_and(|reply| reply.contains("failover"))
        });
    }
    let dir = common::scratch(&format!("sentinel-{}", std::process::id()));
    let sentinels: Vec<Sentinel> = (0..3)
        .map(|index| Sentinel::start(&dir, index, primary.port))
        .collect();
    eventually(
        "every sentinel to see both replicas and the other sentinels",
        || {
            sentinels.iter().all(|sentinel| {
                sentinel.replica_count() == 2
                    && query(sentinel.port, &["SENTINEL", "sentinels", "mymaster"])
                        .is_some_and(|reply| reply.starts_with("*2\r\n"))
            })
        },
    );

    let killed = Instant::now();
    primary.kill();
    let replica_ports: Vec<u16> = replicas.iter().map(|replica| replica.port).collect();
    let mut promoted = 0;
    eventually("the sentinels to name a replica as the primary", || {
        let named = sentinels
            .iter()
            .filter_map(Sentinel::primary_port)
            .collect::<Vec<_>>();
        match named.first() {
            Some(port) if replica_ports.contains(port) && named.iter().all(|p| p == port) => {
                promoted = *port;
                true
            }
            _ => false,
        }
    });
    println!(
        "failover: every sentinel named 127.0.0.1:{promoted} {:.1} s after the SIGKILL \
         (down-after-milliseconds 1000)",
        killed.elapsed().as_secs_f64()
    );
    let other = *replica_ports
        .iter()
        .find(|&&port| port != promoted)
        .expect("two replicas");
    let info = query(promoted, &["INFO", "replication"]).expect("INFO from the new primary");
    assert_eq!(
        info_field(&info, "role").as_deref(),
        Some("master"),
        "{info}"
    );
    assert_eq!(
        query(promoted, &["SET", "after", "failover"]).as_deref(),
        Some("+OK\r\n")
    );
    eventually("the other replica to follow the new primary", || {
        let info = query(other, &["INFO", "replication"]).unwrap_or_default();
        info_field(&info, "master_port") == Some(promoted.to_string())
            && info_field(&info, "master_link_status").as_deref() == Some("up")
    });
    eventually(
        "the write on the new primary to reach the other replica",
        || query(other, &["GET", "after"]).is_some_and(|reply| reply.contains("failover")),
    );
    let role = query(other, &["ROLE"]).expect("ROLE");
    assert!(role.starts_with("*5\r\n$5\r\nslave\r\n"), "{role}");
    assert!(role.contains(&format!(":{promoted}\r\n")), "{role}");
    assert!(
        query(other, &["GET", "before"]).is_some_and(|reply| reply.contains("failover")),
        "the write from before the failover is on the other replica too"
    );
    println!(
        "failover: the other replica followed the new primary {:.1} s after the SIGKILL",
        killed.elapsed().as_secs_f64()
    );
    let logs: Vec<String> = sentinels
        .iter()
        .map(|sentinel| fs::read_to_string(&sentinel.log).unwrap_or_default())
        .collect();
    assert!(
        logs.iter().any(|log| log.contains("+switch-master")),
        "no sentinel logged +switch-master:\n{}",
        logs.join("\n----\n")
    );
}

#[test]
fn sentinels_failover_block_runs_whole_and_config_rewrite_keeps_the_new_role() {
    let dir = common::scratch(&format!("sentinel-block-{}", std::process::id()));
    let config = dir.join("floe.conf");
    fs::write(&config, "appendfsync everysec\n").expect("write the config file");
    let config_text = config.to_str().expect("a UTF-8 path");
    let primary = Server::floe(&[]);
    let target = format!("127.0.0.1 {}", primary.port);
    let replica = Server::floe(&["--replicaof", &target, "--config", config_text]);
    let mut client = replica.client();
    // What Sentinel sends to the replica it promotes (sentinelSendSlaveOf).
    for command in [
        &[&b"MULTI"[..]][..],
        &[b"SLAVEOF", b"NO", b"ONE"],
        &[b"CONFIG", b"REWRITE"],
        &[b"CLIENT", b"KILL", b"TYPE", b"normal"],
        &[b"CLIENT", b"KILL", b"TYPE", b"pubsub"],
    ] {
        client.command(command);
    }
    // CLIENT KILL's counts depend on what else is connected: only their form is checked.
    let reply = String::from_utf8_lossy(&client.command(&[b"EXEC"])).into_owned();
    assert!(reply.starts_with("*4\r\n+OK\r\n+OK\r\n:"), "{reply}");
    assert_eq!(reply.matches("\r\n:").count(), 2, "{reply}");
    assert_eq!(client.command(&[b"SET", b"k", b"v"]), b"+OK\r\n");
    let rewritten = fs::read_to_string(&config).expect("read the rewritten file");
    assert!(rewritten.contains("replicaof \"\"\n"), "{rewritten}");

    // Re-pointed by a block too: the file then names the new primary.
    for command in [
        &[&b"MULTI"[..]][..],
        &[
            b"SLAVEOF",
            b"127.0.0.1",
            primary.port.to_string().as_bytes(),
        ],
        &[b"CONFIG", b"REWRITE"],
    ] {
        client.command(command);
    }
    let reply = client.command(&[b"EXEC"]);
    assert_eq!(String::from_utf8_lossy(&reply), "*2\r\n+OK\r\n+OK\r\n");
    let rewritten = fs::read_to_string(&config).expect("read the rewritten file");
    assert!(
        rewritten.contains(&format!("replicaof \"127.0.0.1 {}\"\n", primary.port)),
        "{rewritten}"
    );
    assert_eq!(
        String::from_utf8_lossy(&client.command(&[b"SET", b"k", b"v"])),
        "-READONLY You can't write against a read only replica.\r\n"
    );

    // Without a config file the block still runs; CONFIG REWRITE's error is its element.
    let mut other = primary.client();
    other.command(&[b"MULTI"]);
    other.command(&[b"CONFIG", b"REWRITE"]);
    other.command(&[b"PING"]);
    assert_eq!(
        String::from_utf8_lossy(&other.command(&[b"EXEC"])),
        "*2\r\n-ERR The server is running without a config file\r\n+PONG\r\n"
    );
    // A block with a store command keeps the shard locks: the runtime's commands in it
    // are refused there, as before.
    other.command(&[b"MULTI"]);
    other.command(&[b"SET", b"a", b"1"]);
    other.command(&[b"CONFIG", b"REWRITE"]);
    assert_eq!(
        String::from_utf8_lossy(&other.command(&[b"EXEC"])),
        "*2\r\n+OK\r\n-ERR this command cannot run inside MULTI in floe\r\n"
    );
}

#[test]
fn client_kill_type_script_kill_and_the_info_fields_sentinel_reads() {
    let primary = Server::floe(&["--persistence", "off"]);
    let mut admin = primary.client();
    let mut subscriber = primary.client();
    let mut normal = primary.client();
    assert_eq!(normal.command(&[b"PING"]), b"+PONG\r\n");
    subscriber.command(&[b"SUBSCRIBE", b"__sentinel__:hello"]);
    assert_eq!(
        String::from_utf8_lossy(&admin.command(&[b"CLIENT", b"KILL", b"TYPE", b"bogus"])),
        "-ERR Unknown client type 'bogus'\r\n"
    );
    assert_eq!(
        admin.command(&[b"CLIENT", b"KILL", b"TYPE", b"replica"]),
        b":0\r\n"
    );
    assert_eq!(
        admin.command(&[b"CLIENT", b"KILL", b"TYPE", b"pubsub"]),
        b":1\r\n"
    );
    assert!(subscriber.read_until_closed(WAIT_MAX).is_empty());
    assert_eq!(normal.command(&[b"PING"]), b"+PONG\r\n");
    // The caller is skipped (SKIPME yes): only `normal` goes.
    assert_eq!(
        admin.command(&[b"CLIENT", b"KILL", b"TYPE", b"normal"]),
        b":1\r\n"
    );
    assert!(normal.read_until_closed(WAIT_MAX).is_empty());

    assert_eq!(
        String::from_utf8_lossy(&admin.command(&[b"SCRIPT", b"KILL"])),
        "-NOTBUSY No scripts in execution right now.\r\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&admin.command(&[b"SCRIPT", b"LOAD", b"return 1"])),
        "-ERR unknown subcommand 'LOAD'. Try SCRIPT HELP.\r\n"
    );
    assert_eq!(
        admin.command(&[b"CLIENT", b"SETNAME", b"sentinel-1-cmd"]),
        b"+OK\r\n"
    );
    assert_eq!(
        admin.command(&[b"CLIENT", b"GETNAME"]),
        b"$14\r\nsentinel-1-cmd\r\n"
    );

    let info = String::from_utf8_lossy(&admin.command(&[b"INFO"])).into_owned();
    let run_id = info_field(&info, "run_id").expect("run_id in INFO server");
    assert_eq!(run_id.len(), 40, "{info}");
    let target = format!("127.0.0.1 {}", primary.port);
    let replica = Server::floe(&["--persistence", "off", "--replicaof", &target]);
    let info =
        String::from_utf8_lossy(&replica.client().command(&[b"INFO", b"replication"])).into_owned();
    assert_eq!(info_field(&info, "slave_priority").as_deref(), Some("100"));
    assert_eq!(info_field(&info, "min_slaves_good_slaves"), None, "{info}");

    // replica-priority (and Redis's old name) is what INFO tells Sentinel.
    let mut client = replica.client();
    let priority = |client: &mut Client| {
        let info =
            String::from_utf8_lossy(&client.command(&[b"INFO", b"replication"])).into_owned();
        info_field(&info, "slave_priority")
    };
    assert_eq!(
        client.command(&[b"CONFIG", b"SET", b"replica-priority", b"0"]),
        b"+OK\r\n"
    );
    assert_eq!(priority(&mut client).as_deref(), Some("0"));
    assert_eq!(
        client.command(&[b"CONFIG", b"SET", b"slave-priority", b"7"]),
        b"+OK\r\n"
    );
    assert_eq!(priority(&mut client).as_deref(), Some("7"));
    assert_eq!(
        client.command(&[b"CONFIG", b"GET", b"replica-priority"]),
        b"*2\r\n$16\r\nreplica-priority\r\n$1\r\n7\r\n"
    );
    let refused = client.command(&[b"CONFIG", b"SET", b"replica-priority", b"-1"]);
    assert!(
        refused.starts_with(b"-ERR"),
        "{}",
        String::from_utf8_lossy(&refused)
    );
    assert_eq!(
        priority(&mut client).as_deref(),
        Some("7"),
        "a refused value changes nothing"
    );
}

/// A write, raw.
fn set(client: &mut Client) -> String {
    String::from_utf8_lossy(&client.command(&[b"SET", b"key", b"value"])).into_owned()
}

const NO_REPLICAS: &str = "-NOREPLICAS Not enough good replicas to write.\r\n";

#[test]
fn min_replicas_to_write_refuses_writes_until_a_replica_acknowledges() {
    let mut primary = Server::floe(&[
        "--appendfsync",
        "everysec",
        "--min-replicas-to-write",
        "1",
        "--min-replicas-max-lag",
        "2",
    ]);
    let mut client = primary.client();
    assert_eq!(set(&mut client), NO_REPLICAS);
    // A transaction with a write is refused whole.
    client.command(&[b"MULTI"]);
    client.command(&[b"SET", b"key", b"value"]);
    assert_eq!(
        String::from_utf8_lossy(&client.command(&[b"EXEC"])),
        NO_REPLICAS
    );
    assert_eq!(client.command(&[b"GET", b"key"]), b"$-1\r\n");
    let info = String::from_utf8_lossy(&client.command(&[b"INFO", b"replication"])).into_owned();
    assert_eq!(
        info_field(&info, "min_slaves_good_slaves").as_deref(),
        Some("0")
    );

    let target = format!("127.0.0.1 {}", primary.port);
    let mut replica = Server::floe(&["--replicaof", &target]);
    eventually("a write accepted once the replica follows", || {
        set(&mut client) == "+OK\r\n"
    });
    let info = String::from_utf8_lossy(&client.command(&[b"INFO", b"replication"])).into_owned();
    assert_eq!(
        info_field(&info, "min_slaves_good_slaves").as_deref(),
        Some("1")
    );

    replica.kill();
    eventually("writes refused once the replica's lag passes 2 s", || {
        set(&mut client) == NO_REPLICAS
    });
    // CONFIG SET turns it off (and on) while floe runs.
    assert_eq!(
        String::from_utf8_lossy(&client.command(&[b"CONFIG", b"GET", b"min-replicas-*"])),
        "*4\r\n$21\r\nmin-replicas-to-write\r\n$1\r\n1\r\n$20\r\nmin-replicas-max-lag\r\n$1\r\n2\r\n"
    );
    assert_eq!(
        client.command(&[b"CONFIG", b"SET", b"min-slaves-to-write", b"0"]),
        b"+OK\r\n"
    );
    assert_eq!(set(&mut client), "+OK\r\n");
    let info = String::from_utf8_lossy(&client.command(&[b"INFO", b"replication"])).into_owned();
    assert_eq!(info_field(&info, "min_slaves_good_slaves"), None, "{info}");
    let refused = client.command(&[b"CONFIG", b"SET", b"min-replicas-max-lag", b"-1"]);
    assert!(
        refused.starts_with(b"-ERR"),
        "{}",
        String::from_utf8_lossy(&refused)
    );
    assert_eq!(
        client.command(&[b"CONFIG", b"SET", b"min-replicas-to-write", b"3"]),
        b"+OK\r\n"
    );
    assert_eq!(set(&mut client), NO_REPLICAS);
    drop(client);
    primary.kill();
}

#[test]
fn min_replicas_settings_come_from_the_config_file_under_either_name() {
    let dir = common::scratch(&format!("min-replicas-file-{}", std::process::id()));
    let config = dir.join("floe.conf");
    fs::write(&config, "min-slaves-to-write 2\nmin-replicas-max-lag 5\n").expect("write");
    let primary = Server::floe(&[
        "--persistence",
        "off",
        "--config",
        config.to_str().expect("UTF-8"),
    ]);
    let mut client = primary.client();
    // CONFIG GET lists settings under their main names (aliases are accepted, not listed).
    assert_eq!(
        String::from_utf8_lossy(&client.command(&[b"CONFIG", b"GET", b"min-replicas-*"])),
        "*4\r\n$21\r\nmin-replicas-to-write\r\n$1\r\n2\r\n$20\r\nmin-replicas-max-lag\r\n$1\r\n5\r\n"
    );
    assert_eq!(set(&mut client), NO_REPLICAS);
    // A block of admin commands names the client for CLIENT LIST, as CLIENT SETNAME alone.
    client.command(&[b"MULTI"]);
    client.command(&[b"CLIENT", b"SETNAME", b"sentinel-cmd"]);
    assert_eq!(client.command(&[b"EXEC"]), b"*1\r\n+OK\r\n");
    let list = String::from_utf8_lossy(&client.command(&[b"CLIENT", b"LIST"])).into_owned();
    assert!(list.contains("name=sentinel-cmd "), "{list}");
}
