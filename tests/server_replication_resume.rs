//! Partial resync across a clean restart (`docs/replication.md`, "Restarts"): real
//! `floe serve` processes on fixed loopback ports and directories, stopped with SIGTERM
//! (clean) or SIGKILL (a crash).
//!
//! - A replica stopped cleanly while its primary goes on writing, then the primary stopped
//!   cleanly and started again (its backlog refilled from its log), then the replica
//!   started again: both keep their histories and the replica resumes with a pull (its
//!   log shows no full sync) and gets every write it missed, groups included.
//! - After a SIGKILL the primary takes a new replication ID and its replica syncs in full;
//!   a replica killed likewise syncs in full.
//! - A damaged state file is removed and ignored: a new ID; one that cannot be removed
//!   stops the start.

mod common;

use std::fs;
use std::process::Command;

use common::replication::{
    Fixed, check_writes, connect_port, eventually, get, info_field, info_replication, link_up,
    write_mix,
};
use common::server::{fixed_port, free_port};
use redis::Commands;

/// What a replica's log says once per completed full sync.
const FULL_SYNC: &str = "full sync from";
/// The state file a clean shutdown leaves (`replication/resume.rs`).
const STATE_FILE: &str = "replication-state";

fn replid(connection: &mut redis::Connection) -> String {
    info_field(&info_replication(connection), "master_replid").expect("master_replid")
}

fn run_id(connection: &mut redis::Connection) -> String {
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query(connection)
        .expect("INFO server");
    info_field(&info, "run_id").expect("run_id")
}

#[test]
fn clean_restarts_of_both_sides_resume_with_a_pull() {
    let scratch = common::scratch(&format!("replication-resume-{}", std::process::id()));
    let (primary_dir, replica_dir) = (scratch.join("primary"), scratch.join("replica"));
    // The replica takes a new port at each start (another process may take a freed one);
    // only the primary's must stay, as its replica's address of it.
    let primary_port = fixed_port();
    let replicaof = format!("127.0.0.1 {primary_port}");
    let replica_args = [
        "--replicaof",
        replicaof.as_str(),
        "--appendfsync",
        "everysec",
    ];
    let mut primary = Fixed::start(primary_port, &primary_dir, &[]);
    let mut source = connect_port(primary_port);
    let _: () = source.set("first", "1").expect("SET");
    let mut replica = Fixed::start(free_port(), &replica_dir, &replica_args);
    let mut target = connect_port(replica.port);
    eventually("the first sync", || {
        get(&mut target, "first").is_some() && link_up(&mut target)
    });
    assert_eq!(replica.log_count(FULL_SYNC), 1);
    let history = replid(&mut source);
    let first_run = run_id(&mut source);

    // The replica stops cleanly; the primary writes on, then stops cleanly too.
    assert!(replica.terminate().success());
    assert!(replica_dir.join(STATE_FILE).exists());
    write_mix(&mut source);
    let _: () = source.set("missed", "by the replica").expect("SET");
    // Our connections go first: a server socket left half-closed by a client still open
    // (FIN-WAIT-2) keeps its port from the next start.
    drop(source);
    assert!(primary.terminate().success());
    assert!(primary_dir.join(STATE_FILE).exists());

    // Both start again: same history, so the replica pulls what it missed from the
    // primary's refilled backlog, with no full sync.
    let primary = Fixed::start(primary_port, &primary_dir, &[]);
    assert!(!primary_dir.join(STATE_FILE).exists(), "used once");
    let mut source = connect_port(primary_port);
    assert_eq!(replid(&mut source), history, "the history goes on");
    assert_ne!(
        run_id(&mut source),
        first_run,
        "run_id is new at every start"
    );
    assert_eq!(primary.log_count("keeping replication ID"), 1);
    let replica = Fixed::start(free_port(), &replica_dir, &replica_args);
    let mut target = connect_port(replica.port);
    let _: () = source.set("last", "write").expect("SET");
    eventually("the missed writes and a new one", || {
        get(&mut target, "last").as_deref() == Some("write")
    });
    check_writes(&mut target);
    assert_eq!(
        get(&mut target, "missed").as_deref(),
        Some("by the replica")
    );
    assert_eq!(get(&mut target, "first").as_deref(), Some("1"));
    assert_eq!(replica.log_count(FULL_SYNC), 0, "it resumed with a pull");
    assert_eq!(replica.log_count("keeping replication ID"), 1);
    assert!(link_up(&mut target));

    // A replica killed: no state file at its next start, so a full sync.
    drop(replica); // SIGKILL.
    let replica = Fixed::start(free_port(), &replica_dir, &replica_args);
    let mut target = connect_port(replica.port);
    eventually("the resync after the replica's crash", || {
        replica.log_count(FULL_SYNC) == 1 && link_up(&mut target)
    });
    assert_eq!(get(&mut target, "last").as_deref(), Some("write"));

    // A primary killed: a new history, and its replica syncs in full.
    drop(source);
    drop(primary); // SIGKILL.
    // Once the replica closed its side, the old sockets no longer hold the port.
    eventually("the link down", || !link_up(&mut target));
    let _primary = Fixed::start(primary_port, &primary_dir, &[]);
    let mut source = connect_port(primary_port);
    assert_ne!(replid(&mut source), history, "a crash starts a new history");
    let _: () = source.set("after", "crash").expect("SET");
    eventually("the resync after the primary's crash", || {
        get(&mut target, "after").as_deref() == Some("crash")
    });
    eventually("the second full sync", || replica.log_count(FULL_SYNC) == 2);
}

#[test]
fn a_damaged_state_file_is_dropped_for_a_new_history() {
    let scratch = common::scratch(&format!("replication-damaged-{}", std::process::id()));
    let dir = scratch.join("primary");
    let port = fixed_port();
    let mut primary = Fixed::start(port, &dir, &[]);
    let mut source = connect_port(port);
    let _: () = source.set("k", "v").expect("SET");
    let history = replid(&mut source);
    drop(source);
    assert!(primary.terminate().success());
    let text = fs::read_to_string(dir.join(STATE_FILE)).expect("the state file");
    assert!(text.contains(&history), "{text}");
    fs::write(dir.join(STATE_FILE), text.replace("replid", "replic")).expect("write");

    let primary = Fixed::start(port, &dir, &[]);
    let mut source = connect_port(port);
    assert_ne!(replid(&mut source), history);
    assert_eq!(primary.log_count("is damaged"), 1);
    assert!(!dir.join(STATE_FILE).exists());
    assert_eq!(
        get(&mut source, "k").as_deref(),
        Some("v"),
        "the data is kept"
    );
}

#[test]
fn a_state_file_that_cannot_be_removed_stops_the_start() {
    let scratch = common::scratch(&format!("replication-stuck-{}", std::process::id()));
    let dir = scratch.join("data");
    // A directory where the file would be: reading and removing it both fail, and the
    // server must not start with a claim it cannot take back.
    fs::create_dir_all(dir.join(STATE_FILE)).expect("create the directory");
    let output = Command::new(env!("CARGO_BIN_EXE_floe"))
        .args(["serve", "--bind", "127.0.0.1", "--http-port", "off"])
        .args(["--port", &free_port().to_string()])
        .arg("--dir")
        .arg(&dir)
        .output()
        .expect("run floe");
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot remove"), "{stderr}");
}
