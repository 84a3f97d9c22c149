//! Replication from a primary with `--persistence off` (`docs/replication.md`, "A primary
//! with persistence off"): real `floe serve` processes on loopback ports.
//!
//! - A primary with no log and no snapshot files serves a full sync (a snapshot cut into
//!   memory) and then its writes (MSET, MULTI groups included), numbered in its backlog;
//!   it writes no file. A chain of three such nodes works the same.
//! - The snapshot in memory is dropped once the replica it was cut for pulls above it: a
//!   CHUNK after that is answered FLOERESYNC.

mod common;

use std::fs;
use std::path::Path;

use common::replication::{
    check_writes, connect, eventually, get, info_field, info_replication, link_up, replica_of,
    write_mix,
};
use common::server::Server;
use redis::{Commands, Value};

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                files_under(&path)
            } else {
                vec![path.display().to_string()]
            }
        })
        .collect()
}

#[test]
fn a_primary_with_persistence_off_serves_a_full_sync_and_its_writes() {
    let primary = Server::floe(&["--persistence", "off"]);
    let mut source = connect(&primary);
    let _: () = source.set("before", "sync").expect("SET");
    let replica = replica_of(&primary, &[]);
    let mut target = connect(&replica);
    eventually("the full sync", || {
        get(&mut target, "before").as_deref() == Some("sync")
    });

    write_mix(&mut source);
    let _: () = source.set("last", "write").expect("SET");
    eventually("the writes", || {
        get(&mut target, "last").as_deref() == Some("write")
    });
    check_writes(&mut target);
    let acknowledged: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(0)
        .query(&mut source)
        .expect("WAIT");
    assert_eq!(acknowledged, 1);

    // Its backlog numbers its writes (the offset counts them, though no log does).
    let info = info_replication(&mut source);
    let offset: u64 = info_field(&info, "master_repl_offset")
        .expect("master_repl_offset")
        .parse()
        .expect("a number");
    assert!(offset > 0, "{info}");
    assert_eq!(
        info_field(&info, "repl_backlog_active").as_deref(),
        Some("1")
    );
    eventually("the replica's offset", || {
        info_field(&info_replication(&mut target), "slave_repl_offset") == Some(offset.to_string())
    });
    // A primary with persistence off writes no file, not even for a full sync.
    let files = files_under(&primary.dir.join("data"));
    assert!(files.is_empty(), "{files:?}");
}

#[test]
fn a_chain_of_nodes_with_persistence_off_follows_the_primary() {
    let primary = Server::floe(&["--persistence", "off"]);
    let mut source = connect(&primary);
    let _: () = source.set("before", "sync").expect("SET");
    let middle = replica_of(&primary, &["--persistence", "off"]);
    let mut middle_connection = connect(&middle);
    eventually("the middle's sync", || link_up(&mut middle_connection));
    let sub = replica_of(&middle, &["--persistence", "off"]);
    let mut target = connect(&sub);
    eventually("the sub-replica's sync", || {
        get(&mut target, "before").as_deref() == Some("sync")
    });
    write_mix(&mut source);
    let _: () = source.set("last", "write").expect("SET");
    eventually("the writes through the middle", || {
        get(&mut target, "last").as_deref() == Some("write")
    });
    check_writes(&mut target);
}

#[test]
fn a_snapshot_in_memory_goes_once_its_replica_pulls_above_it() {
    let primary = Server::floe(&["--persistence", "off"]);
    let mut source = connect(&primary);
    let _: () = source.set("k", "v").expect("SET");
    // By hand, as a replica listening on port 1234 would.
    let full: Value = redis::cmd("FLOESYNC")
        .arg("FULL")
        .arg(1234)
        .query(&mut source)
        .expect("FLOESYNC FULL");
    let Value::Array(fields) = full else {
        panic!("FLOESYNC FULL: {full:?}")
    };
    let (Value::BulkString(replid), Value::Int(lsn), Value::Int(size)) =
        (&fields[0], &fields[1], &fields[2])
    else {
        panic!("FLOESYNC FULL: {fields:?}")
    };
    assert_eq!(
        fields[3],
        Value::Array(Vec::new()),
        "a primary has no ancestry"
    );
    let chunk = |connection: &mut redis::Connection| {
        redis::cmd("FLOESYNC")
            .arg("CHUNK")
            .arg(*lsn)
            .arg(0)
            .query::<Vec<u8>>(connection)
    };
    let bytes = chunk(&mut source).expect("the snapshot's bytes");
    assert_eq!(i64::try_from(bytes.len()).expect("a size"), *size);

    let pulled: Vec<u8> = redis::cmd("FLOESYNC")
        .arg("PULL")
        .arg(replid.as_slice())
        .arg(lsn + 1)
        .arg(1234)
        .query(&mut source)
        .expect("FLOESYNC PULL");
    assert!(pulled.is_empty(), "nothing written since the snapshot");
    let error = chunk(&mut source).expect_err("the snapshot is gone");
    assert_eq!(error.code(), Some("FLOERESYNC"), "{error}");
}
