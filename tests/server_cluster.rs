//! Cluster mode end to end: three `floe serve --cluster-enabled` processes on loopback,
//! a slot map pushed by `floe cluster create`, and clients nobody here wrote routing over
//! them (the `redis` crate's cluster client; redis-py's `RedisCluster` when installed).
//!
//! Pins: keys land on every node and read back; hash-tagged multi-key commands run; keys of
//! two slots get CROSSSLOT (in one command and across a MULTI); a node asked for a key it
//! does not serve answers MOVED with the serving node's address; a node with no map
//! answers CLUSTERDOWN; a restarted node keeps its id and map; a map with gaps or overlaps
//! is refused naming the slots; without cluster mode the cluster commands get Redis's
//! error; SELECT of another database is refused in cluster mode.

mod common;

use std::process::Command;

use common::server::{Client, Server};
use redis::Commands;
use redis::cluster::ClusterClient;

/// Keys the routing test writes through the cluster client.
const KEY_COUNT: usize = 300;

/// Three cluster-mode nodes with their own data directories, two workers each (each
/// worker thread keeps its own copy of the map until a push replaces it).
fn start_nodes() -> Vec<Server> {
    (0..3)
        .map(|_| Server::floe(&["--cluster-enabled", "--workers", "2"]))
        .collect()
}

fn addresses(nodes: &[Server]) -> Vec<String> {
    nodes
        .iter()
        .map(|node| format!("127.0.0.1:{}", node.port))
        .collect()
}

/// Runs `floe cluster <args>`; returns stdout, stderr and success.
fn floe_cluster(args: &[String]) -> (String, String, bool) {
    let output = Command::new(env!("CARGO_BIN_EXE_floe"))
        .arg("cluster")
        .args(args)
        .output()
        .expect("run floe cluster");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        output.status.success(),
    )
}

fn create(nodes: &[Server]) {
    let mut args = vec!["create".to_owned()];
    args.extend(addresses(nodes));
    let (stdout, stderr, success) = floe_cluster(&args);
    assert!(success, "floe cluster create failed: {stderr}");
    assert!(
        stdout.contains("OK: 3 nodes serve all 16384 slots"),
        "{stdout}"
    );
}

fn text(reply: &[u8]) -> String {
    String::from_utf8_lossy(reply).into_owned()
}

fn command(client: &mut Client, args: &[&str]) -> String {
    let args: Vec<&[u8]> = args.iter().map(|arg| arg.as_bytes()).collect();
    text(&client.command(&args))
}

/// A bulk reply's payload (`$n\r\n<payload>\r\n`), or the raw reply.
fn bulk(reply: &str) -> String {
    reply
        .split_once("\r\n")
        .map(|(_, rest)| rest.trim_end_matches("\r\n").to_owned())
        .unwrap_or_else(|| reply.to_owned())
}

#[test]
fn a_cluster_client_routes_keys_over_three_nodes() {
    let nodes = start_nodes();
    // Before a map is pushed no node serves any slot.
    let mut first = nodes[0].client();
    assert_eq!(
        command(&mut first, &["SET", "foo", "bar"]),
        "-CLUSTERDOWN Hash slot not served\r\n"
    );
    assert!(command(&mut first, &["CLUSTER", "INFO"]).contains("cluster_state:fail"));
    create(&nodes);
    assert!(command(&mut first, &["CLUSTER", "INFO"]).contains("cluster_state:ok"));

    let urls: Vec<String> = nodes.iter().map(|node| node.url("")).collect();
    let client = ClusterClient::new(urls).expect("a cluster client");
    let mut connection = client.get_connection().expect("connects to the cluster");
    for index in 0..KEY_COUNT {
        let () = connection
            .set(format!("key:{index}"), format!("value:{index}"))
            .expect("SET through the cluster client");
    }
    for index in 0..KEY_COUNT {
        let value: String = connection
            .get(format!("key:{index}"))
            .expect("GET through the cluster client");
        assert_eq!(value, format!("value:{index}"));
    }
    // Every node holds a share, and the shares add up.
    let mut total = 0;
    for node in &nodes {
        let reply = command(&mut node.client(), &["DBSIZE"]);
        let count: usize = reply
            .trim_start_matches(':')
            .trim()
            .parse()
            .expect("an integer");
        assert!(count > KEY_COUNT / 6, "node {} has {count} keys", node.port);
        total += count;
    }
    assert_eq!(total, KEY_COUNT);

    // Hash tags put keys in one slot, so a multi-key command runs on one node.
    let () = redis::cmd("MSET")
        .arg("{user1000}.following")
        .arg("a")
        .arg("{user1000}.followers")
        .arg("b")
        .query(&mut connection)
        .expect("a hash-tagged MSET");
    let values: Vec<String> = redis::cmd("MGET")
        .arg("{user1000}.following")
        .arg("{user1000}.followers")
        .query(&mut connection)
        .expect("a hash-tagged MGET");
    assert_eq!(values, ["a", "b"]);
}

#[test]
fn nodes_answer_moved_crossslot_and_keep_their_map_across_a_restart() {
    let mut nodes = start_nodes();
    create(&nodes);
    // foo is slot 12182: the third node's share (10923-16383).
    let mut first = nodes[0].client();
    let moved = format!("-MOVED 12182 127.0.0.1:{}\r\n", nodes[2].port);
    assert_eq!(command(&mut first, &["SET", "foo", "bar"]), moved);
    assert_eq!(command(&mut first, &["GET", "foo"]), moved);
    assert_eq!(
        command(&mut first, &["CLUSTER", "KEYSLOT", "foo"]),
        ":12182\r\n"
    );
    // bar is slot 5061, the first node's.
    assert_eq!(command(&mut first, &["SET", "bar", "1"]), "+OK\r\n");
    let crossslot = "-CROSSSLOT Keys in request don't hash to the same slot\r\n";
    assert_eq!(
        command(&mut first, &["MSET", "bar", "1", "foo", "2"]),
        crossslot
    );
    assert_eq!(command(&mut first, &["DEL", "bar", "foo"]), crossslot);
    // Nothing of the refused MSET was written.
    assert_eq!(command(&mut first, &["GET", "bar"]), "$1\r\n1\r\n");
    assert_eq!(
        command(&mut first, &["CLUSTER", "COUNTKEYSINSLOT", "5061"]),
        ":1\r\n"
    );
    assert_eq!(
        command(&mut first, &["CLUSTER", "GETKEYSINSLOT", "5061", "10"]),
        "*1\r\n$3\r\nbar\r\n"
    );

    // A transaction's keys must share a slot too (Redis discards it at EXEC).
    assert_eq!(command(&mut first, &["MULTI"]), "+OK\r\n");
    assert_eq!(command(&mut first, &["SET", "{bar}a", "1"]), "+QUEUED\r\n");
    assert_eq!(command(&mut first, &["SET", "bar", "2"]), "+QUEUED\r\n");
    assert_eq!(command(&mut first, &["EXEC"]), "*2\r\n+OK\r\n+OK\r\n");
    assert_eq!(command(&mut first, &["MULTI"]), "+OK\r\n");
    assert_eq!(command(&mut first, &["SET", "bar", "3"]), "+QUEUED\r\n");
    // b is slot 3300: served here too, but not bar's slot.
    assert_eq!(command(&mut first, &["SET", "b", "3"]), "+QUEUED\r\n");
    assert_eq!(command(&mut first, &["EXEC"]), crossslot);
    assert_eq!(command(&mut first, &["GET", "bar"]), "$1\r\n2\r\n");
    // A queued command the node does not serve fails the transaction.
    assert_eq!(command(&mut first, &["MULTI"]), "+OK\r\n");
    assert_eq!(command(&mut first, &["SET", "foo", "1"]), moved);
    assert_eq!(
        command(&mut first, &["EXEC"]),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );

    // Cluster mode has database 0 only.
    assert_eq!(
        command(&mut first, &["SELECT", "1"]),
        "-ERR SELECT is not allowed in cluster mode\r\n"
    );
    assert_eq!(command(&mut first, &["SELECT", "0"]), "+OK\r\n");
    assert_eq!(
        command(&mut first, &["SWAPDB", "0", "1"]),
        "-ERR SWAPDB is not allowed in cluster mode\r\n"
    );
    assert_eq!(
        command(&mut first, &["MOVE", "bar", "1"]),
        "-ERR MOVE is not allowed in cluster mode\r\n"
    );
    assert_eq!(command(&mut first, &["READONLY"]), "+OK\r\n");
    assert_eq!(command(&mut first, &["READWRITE"]), "+OK\r\n");
    assert_eq!(command(&mut first, &["ASKING"]), "+OK\r\n");
    let info = command(&mut first, &["INFO", "cluster"]);
    assert!(
        info.contains("# Cluster\r\ncluster_enabled:1\r\n"),
        "{info}"
    );

    // A restarted node keeps its id and its map.
    let id = bulk(&command(&mut first, &["CLUSTER", "MYID"]));
    assert_eq!(id.len(), 40, "{id}");
    let before = bulk(&command(&mut first, &["CLUSTER", "NODES"]));
    let (shown, _, success) = floe_cluster(&["show".to_owned(), addresses(&nodes)[0].clone()]);
    assert!(success);
    assert_eq!(shown, before);
    drop(first);
    let data = nodes[0].dir.join("data");
    assert!(nodes[0].terminate().success());
    let restarted = Server::floe(&[
        "--cluster-enabled",
        "--dir",
        data.to_str().expect("a UTF-8 path"),
    ]);
    let mut again = restarted.client();
    assert_eq!(bulk(&command(&mut again, &["CLUSTER", "MYID"])), id);
    assert_eq!(bulk(&command(&mut again, &["CLUSTER", "NODES"])), before);
    assert_eq!(command(&mut again, &["GET", "bar"]), "$1\r\n2\r\n");
    assert_eq!(command(&mut again, &["GET", "foo"]), moved);
}

#[test]
fn bad_maps_are_refused_naming_the_slots() {
    let nodes = start_nodes();
    let mut client = nodes[0].client();
    let id = bulk(&command(&mut client, &["CLUSTER", "MYID"]));
    let other = "f".repeat(40);
    let port = nodes[0].port.to_string();
    let gap = command(
        &mut client,
        &[
            "CLUSTER",
            "SETSLOTMAP",
            &id,
            "127.0.0.1",
            &port,
            "0-99",
            &other,
            "127.0.0.1",
            "1",
            "200-16382",
        ],
    );
    assert_eq!(
        gap,
        "-ERR slot map refused: slots 100-199, 16383 are not assigned to any node\r\n"
    );
    let overlap = command(
        &mut client,
        &[
            "CLUSTER",
            "SETSLOTMAP",
            &id,
            "127.0.0.1",
            &port,
            "0-10000",
            &other,
            "127.0.0.1",
            "1",
            "9000-16383",
        ],
    );
    assert_eq!(
        overlap,
        format!(
            "-ERR slot map refused: overlapping slots 9000-10000 (given to both {id} and \
             {other})\r\n"
        )
    );
    let stranger = command(
        &mut client,
        &["CLUSTER", "SETSLOTMAP", &other, "127.0.0.1", "1", "0-16383"],
    );
    assert!(stranger.contains("does not name this node"), "{stranger}");
    let garbage = command(
        &mut client,
        &["CLUSTER", "SETSLOTMAP", "x", "y", "z", "w", "v"],
    );
    assert!(
        garbage.starts_with("-ERR a slot map is groups of four"),
        "{garbage}"
    );
    assert_eq!(
        command(&mut client, &["CLUSTER", "NOSUCH"]),
        "-ERR unknown subcommand 'NOSUCH'. Try CLUSTER HELP.\r\n"
    );
    assert_eq!(
        command(&mut client, &["CLUSTER", "KEYSLOT"]),
        "-ERR wrong number of arguments for 'cluster|keyslot' command\r\n"
    );
    assert_eq!(
        command(&mut client, &["CLUSTER", "COUNTKEYSINSLOT", "16384"]),
        "-ERR Invalid slot\r\n"
    );
    assert_eq!(
        command(&mut client, &["CLUSTER", "GETKEYSINSLOT", "1", "-1"]),
        "-ERR Invalid slot or number of keys\r\n"
    );
    // Nothing was applied: still no map.
    assert!(command(&mut client, &["CLUSTER", "INFO"]).contains("cluster_state:fail"));
    // `floe cluster create` reports a node that cannot be reached.
    let (_, stderr, success) = floe_cluster(&["create".to_owned(), "127.0.0.1:1".to_owned()]);
    assert!(!success);
    assert!(stderr.contains("127.0.0.1:1"), "{stderr}");
    let (_, stderr, success) = floe_cluster(&["create".to_owned(), "nonsense".to_owned()]);
    assert!(!success);
    assert!(stderr.contains("not host:port"), "{stderr}");
}

#[test]
fn without_cluster_mode_cluster_commands_are_refused() {
    let server = Server::floe(&["--persistence", "off"]);
    let mut client = server.client();
    let disabled = "-ERR This instance has cluster support disabled\r\n";
    for args in [
        &["CLUSTER", "INFO"][..],
        &["CLUSTER", "SLOTS"],
        &["CLUSTER", "KEYSLOT", "foo"],
        &["READONLY"],
        &["READWRITE"],
        &["ASKING"],
    ] {
        assert_eq!(command(&mut client, args), disabled, "{args:?}");
    }
    assert_eq!(command(&mut client, &["SELECT", "1"]), "+OK\r\n");
    let info = command(&mut client, &["INFO", "cluster"]);
    assert!(
        info.contains("# Cluster\r\ncluster_enabled:0\r\n"),
        "{info}"
    );
    // `floe cluster create` against it fails, naming the node and Redis's error.
    let address = format!("127.0.0.1:{}", server.port);
    let (_, stderr, success) = floe_cluster(&["create".to_owned(), address.clone()]);
    assert!(!success);
    assert!(stderr.contains(&address), "{stderr}");
    assert!(stderr.contains("cluster support disabled"), "{stderr}");
}

/// Requests whose replies must be byte for byte those of a one-node Redis cluster that
/// serves every slot (the keys' values and node ids aside).
const SAME_AS_REDIS: &[&[&str]] = &[
    &["CLUSTER", "KEYSLOT", "foo"],
    &["CLUSTER", "KEYSLOT", "{user1000}.following"],
    &["CLUSTER", "KEYSLOT", "{user1000}.followers"],
    &["CLUSTER", "KEYSLOT", "foo{}{bar}"],
    &["CLUSTER", "KEYSLOT", "foo{{bar}}zap"],
    &["CLUSTER", "KEYSLOT", "foo{bar}{zap}"],
    &["CLUSTER", "KEYSLOT", "{}"],
    &["CLUSTER", "KEYSLOT", "}{"],
    &["CLUSTER", "KEYSLOT", ""],
    &[
        "CLUSTER",
        "KEYSLOT",
        "a much longer key with spaces and {tags} in it",
    ],
    &["CLUSTER", "KEYSLOT"],
    &["CLUSTER", "INFO", "extra"],
    &["CLUSTER", "NOSUCH"],
    &["SET", "bar", "1"],
    &["MSET", "bar", "1", "foo", "2"],
    &["MGET", "bar", "foo"],
    &["DEL", "bar", "foo"],
    &["RENAME", "bar", "foo"],
    &["COPY", "bar", "foo"],
    &["COPY", "bar", "{bar}x", "DB", "1"],
    &["MOVE", "bar", "1"],
    &["SWAPDB", "0", "1"],
    &["SELECT", "1"],
    &["SELECT", "0"],
    &["SELECT", "abc"],
    &["CLUSTER", "COUNTKEYSINSLOT", "5061"],
    &["CLUSTER", "COUNTKEYSINSLOT", "16384"],
    &["CLUSTER", "COUNTKEYSINSLOT", "-1"],
    &["CLUSTER", "COUNTKEYSINSLOT", "abc"],
    &["CLUSTER", "GETKEYSINSLOT", "5061", "10"],
    &["CLUSTER", "GETKEYSINSLOT", "1", "-1"],
    &["CLUSTER", "GETKEYSINSLOT", "99999", "1"],
    &["CLUSTER", "GETKEYSINSLOT", "1", "abc"],
    &["READONLY"],
    &["READWRITE"],
    &["ASKING"],
    &["MULTI"],
    &["SET", "bar", "2"],
    &["SET", "foo", "2"],
    &["EXEC"],
    &["MULTI"],
    &["MSET", "bar", "1", "foo", "2"],
    &["EXEC"],
    &["GET", "bar"],
];

#[test]
fn replies_match_a_redis_cluster_node() {
    let redis = Server::redis_cluster();
    let mut reference = redis.client();
    assert_eq!(
        command(&mut reference, &["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]),
        "+OK\r\n"
    );
    // Redis serves the slots once its cluster state turns ok (a bounded wait, not a
    // timing assertion).
    let started = std::time::Instant::now();
    while !command(&mut reference, &["CLUSTER", "INFO"]).contains("cluster_state:ok") {
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let floe = Server::floe(&["--cluster-enabled", "--persistence", "off"]);
    let (_, stderr, success) =
        floe_cluster(&["create".to_owned(), format!("127.0.0.1:{}", floe.port)]);
    assert!(success, "{stderr}");
    let mut client = floe.client();
    for args in SAME_AS_REDIS {
        let expected = command(&mut reference, args);
        assert_eq!(command(&mut client, args), expected, "{args:?}");
    }
    // Without cluster mode, both refuse the cluster commands alike.
    let (redis, floe) = (Server::redis(), Server::floe(&["--persistence", "off"]));
    let (mut reference, mut client) = (redis.client(), floe.client());
    for args in [
        &["CLUSTER", "INFO"][..],
        &["CLUSTER", "KEYSLOT", "foo"],
        &["READONLY"],
        &["ASKING"],
        &["CLUSTER"],
    ] {
        let expected = command(&mut reference, args);
        assert_eq!(command(&mut client, args), expected, "{args:?}");
    }
}

#[test]
fn redis_py_cluster_client_routes_over_three_nodes() {
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients/python/venv/bin/python");
    assert!(
        python.is_file(),
        "redis-py is not installed in {}; run `.ci/install-deps` (as root)",
        python.display()
    );
    let nodes = start_nodes();
    create(&nodes);
    let output = Command::new(&python)
        .arg(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/clients/redis_py_cluster_check.py"),
        )
        .arg(nodes[1].port.to_string())
        .output()
        .expect("run redis_py_cluster_check.py");
    assert!(
        output.status.success(),
        "redis_py_cluster_check.py failed:\n{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

#[test]
fn cluster_mode_comes_from_the_config_file_too_and_bad_values_are_refused() {
    let dir = common::scratch("cluster-config");
    let config = dir.join("floe.conf");
    std::fs::write(&config, "cluster-enabled yes\n").expect("write the config file");
    let server = Server::floe(&[
        "--persistence",
        "off",
        "--config",
        config.to_str().expect("a UTF-8 path"),
    ]);
    let mut client = server.client();
    assert_eq!(bulk(&command(&mut client, &["CLUSTER", "MYID"])).len(), 40);
    assert_eq!(
        command(&mut client, &["CONFIG", "GET", "cluster-enabled"]),
        "*2\r\n$15\r\ncluster-enabled\r\n$3\r\nyes\r\n"
    );
    let output = Command::new(env!("CARGO_BIN_EXE_floe"))
        .args(["serve", "--cluster-enabled", "maybe", "--port", "1"])
        .output()
        .expect("run floe serve");
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("--cluster-enabled: `maybe` is not a switch"),
        "{stderr}"
    );
}
