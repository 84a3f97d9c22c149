//! Chained replicas end to end (`docs/replication.md`, "Chained replicas"): real
//! `floe serve` processes on loopback ports, a primary, a replica of it, and a replica of
//! that replica.
//!
//! - Writes on the primary (SET, MSET, a MULTI block, DEL, EXPIRE) reach the sub-replica
//!   through the middle node; INFO on the middle shows its primary and its replica.
//! - The middle node promoted with REPLICAOF NO ONE: the sub-replica keeps following it
//!   (no second full sync); re-pointed at another primary, the middle's clear and load
//!   reach the sub-replica.
//! - A replica whose own link is down refuses a full sync (NOMASTERLINK), and a primary
//!   pointed at its own replica finds the loop: both links stay down and say why.

mod common;

use std::fs;

use common::replication::{
    check_writes, connect, down_for, eventually, get, info_field, info_replication, link_up,
    point_at, promote, replica_of, role, role_replicas, write_mix,
};
use common::server::Server;
use redis::{Commands, Value};

/// Full syncs `server`'s log reports (one per completed load).
fn full_sync_count(server: &Server) -> usize {
    fs::read_to_string(&server.log)
        .expect("the server's log")
        .matches("full sync from")
        .count()
}

#[test]
fn writes_reach_a_replica_of_a_replica_which_follows_its_promotion() {
    let primary = Server::floe(&["--appendfsync", "everysec"]);
    let mut source = connect(&primary);
    let _: () = source.set("before", "sync").expect("SET");
    let middle = replica_of(&primary, &["--appendfsync", "everysec"]);
    let mut middle_connection = connect(&middle);
    eventually("the middle's full sync", || link_up(&mut middle_connection));
    let sub = replica_of(&middle, &[]);
    let mut target = connect(&sub);
    eventually("the sub-replica's full sync", || {
        get(&mut target, "before").as_deref() == Some("sync")
    });

    write_mix(&mut source);
    let _: () = source.set("last", "write").expect("SET");
    eventually("the writes on the sub-replica", || {
        get(&mut target, "last").as_deref() == Some("write")
    });
    check_writes(&mut target);
    let refused = target.set::<_, _, ()>("a", "2").expect_err("a refusal");
    assert_eq!(refused.code(), Some("READONLY"), "{refused}");

    // The middle shows both its primary and its replica, as a Redis replica does.
    let info = info_replication(&mut middle_connection);
    assert_eq!(info_field(&info, "role").as_deref(), Some("slave"));
    assert_eq!(
        info_field(&info, "master_port"),
        Some(primary.port.to_string())
    );
    assert_eq!(info_field(&info, "connected_slaves").as_deref(), Some("1"));
    let slave = info_field(&info, "slave0").expect("slave0 on the middle");
    assert!(
        slave.starts_with(&format!("ip=127.0.0.1,port={},state=online", sub.port)),
        "{slave}"
    );
    let fields = role(&mut middle_connection);
    assert_eq!(fields[0], Value::BulkString(b"slave".to_vec()));
    assert_eq!(fields[2], Value::Int(i64::from(primary.port)));
    let info = info_replication(&mut target);
    assert_eq!(
        info_field(&info, "master_port"),
        Some(middle.port.to_string())
    );
    // The primary lists only its direct replica.
    let info = info_replication(&mut source);
    assert_eq!(info_field(&info, "connected_slaves").as_deref(), Some("1"));

    // The middle promoted: the sub-replica goes on pulling its log, with no full sync.
    assert_eq!(full_sync_count(&sub), 1);
    promote(&mut middle_connection);
    let _: () = middle_connection
        .set("promoted", "middle")
        .expect("a write on the promoted middle");
    eventually("the promoted middle's write", || {
        get(&mut target, "promoted").as_deref() == Some("middle")
    });
    assert!(link_up(&mut target));
    assert_eq!(full_sync_count(&sub), 1, "the sub-replica resynced in full");
    let fields = role(&mut middle_connection);
    assert_eq!(fields[0], Value::BulkString(b"master".to_vec()));
    let replicas = role_replicas(&fields);
    assert_eq!(replicas.len(), 1, "{replicas:?}");

    // Re-pointed at another primary, the middle clears and loads: its log carries that to
    // the sub-replica, which ends with the other primary's data alone.
    let other = Server::floe(&[]);
    let mut other_source = connect(&other);
    let _: () = other_source.set("from", "other").expect("SET");
    point_at(&mut middle_connection, other.port);
    eventually("the other primary's data on the sub-replica", || {
        get(&mut target, "from").as_deref() == Some("other")
    });
    eventually("the old data gone from the sub-replica", || {
        redis::cmd("DBSIZE")
            .query::<i64>(&mut target)
            .expect("DBSIZE")
            == 1
    });
    assert_eq!(get(&mut target, "promoted"), None);
    let _: () = other_source.set("after", "repoint").expect("SET");
    eventually("a write through the new chain", || {
        get(&mut target, "after").as_deref() == Some("repoint")
    });
}

#[test]
fn a_replica_with_its_link_down_refuses_a_full_sync_until_it_holds_data() {
    let primary = Server::floe(&["--requirepass", "right"]);
    let middle = replica_of(&primary, &["--masterauth", "wrong"]);
    let mut middle_connection = connect(&middle);
    let sub = replica_of(&middle, &[]);
    let mut target = connect(&sub);
    eventually("the NOMASTERLINK refusal", || {
        down_for(&mut target, "NOMASTERLINK")
    });
    // Redis's words, to any client.
    let error = redis::cmd("FLOESYNC")
        .arg("FULL")
        .arg(1)
        .query::<Value>(&mut middle_connection)
        .expect_err("a refusal");
    assert_eq!(error.code(), Some("NOMASTERLINK"), "{error}");
    assert_eq!(
        error.detail(),
        Some("Can't SYNC while not connected with my master")
    );

    // Promoted, the middle serves the sub-replica.
    promote(&mut middle_connection);
    let _: () = middle_connection.set("k", "v").expect("SET");
    eventually("the sub-replica's sync", || {
        get(&mut target, "k").as_deref() == Some("v")
    });
    eventually("the link up", || link_up(&mut target));
}

#[test]
fn a_primary_pointed_at_its_own_replica_finds_the_loop() {
    let primary = Server::floe(&[]);
    let mut source = connect(&primary);
    let _: () = source.set("kept", "yes").expect("SET");
    let replica = replica_of(&primary, &[]);
    let mut target = connect(&replica);
    eventually("the sync", || get(&mut target, "kept").is_some());

    point_at(&mut source, replica.port);
    eventually("the loop found", || {
        down_for(&mut source, "replication loop")
    });
    // Nothing was cleared on either side.
    assert_eq!(get(&mut source, "kept").as_deref(), Some("yes"));
    assert_eq!(get(&mut target, "kept").as_deref(), Some("yes"));

    // Promoted again, it is the replica's primary as before.
    promote(&mut source);
    let _: () = source.set("again", "1").expect("SET");
    eventually("a write after the loop", || {
        get(&mut target, "again").as_deref() == Some("1")
    });
}
