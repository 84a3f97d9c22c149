//! SORT across shards: BY and GET patterns read keys in other shards than the sorted key
//! (the request holds every shard), SORT ... STORE writes its list in a third shard, and
//! the stored lists survive a crash under `--fsync always` with `floe check` clean.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

mod common;

use std::sync::Arc;

use common::{FaultStorage, TempDir, backends, config, open_with};
use floe_core::codec::resp::SliceSink;
use floe_core::command::{Outcome, Session};
use floe_runtime::Db;
use floe_runtime::DbConfig;
use floe_runtime::io::Backend;
use floe_runtime::log::FsyncPolicy;
use floe_runtime::log::check::check;

fn command(db: &Db, line: &str) -> Vec<u8> {
    let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut reply = SliceSink::new(&mut buffer);
    let mut session = Session::new(1);
    let applied = db
        .apply(&db.prepare(args.as_slice()), &mut session, &mut reply)
        .unwrap();
    db.settle(applied.durability).unwrap();
    assert_eq!(applied.outcome, Outcome::Done);
    reply.written().to_vec()
}

fn sharded(backend: Backend) -> DbConfig {
    let mut config = config(backend, FsyncPolicy::Always);
    config.shards = 4;
    config.store.memory_size = 8 << 20;
    config
}

fn assert_replies(db: &Db, expected: &[(&str, &[u8])]) {
    for (line, reply) in expected {
        assert_eq!(
            String::from_utf8_lossy(&command(db, line)),
            String::from_utf8_lossy(reply),
            "{line}"
        );
    }
}

const STORED: &[(&str, &[u8])] = &[
    (
        "LRANGE byname 0 -1",
        b"*4\r\n$3\r\nbob\r\n$3\r\ncat\r\n$3\r\nann\r\n$0\r\n\r\n",
    ),
    (
        "LRANGE plain 0 -1",
        b"*3\r\n$1\r\n4\r\n$1\r\n3\r\n$1\r\n2\r\n",
    ),
    ("TYPE byname", b"+list\r\n"),
    ("TTL byname", b":-1\r\n"),
];

#[test]
fn patterns_read_every_shard_and_stores_survive_a_crash() {
    for backend in backends() {
        let dir = TempDir::new("sort-crash");
        let storage = FaultStorage::over(backend);
        {
            let db = open_with(dir.path(), sharded(backend), Arc::new(storage.clone()));
            assert_eq!(command(&db, "RPUSH ids 1 2 3 4"), b":4\r\n");
            for (id, rank, name) in [(1, 3, "ann"), (2, 1, "bob"), (3, 2, "cat")] {
                assert_eq!(command(&db, &format!("SET w_{id} {rank}")), b"+OK\r\n");
                let line = format!("HSET h_{id} rank {rank} name {name}");
                assert_eq!(command(&db, &line), b":2\r\n");
            }
            assert_eq!(command(&db, "SET w_4 9"), b"+OK\r\n");
            let shards: std::collections::BTreeSet<usize> =
                ["ids", "w_1", "w_2", "h_1", "h_3", "byname"]
                    .iter()
                    .map(|key| floe_core::store::shard_of(key.as_bytes(), 4))
                    .collect();
            assert!(shards.len() > 2, "the keys spread over shards: {shards:?}");
            assert_replies(
                &db,
                &[
                    (
                        "SORT ids BY w_* GET h_*->name",
                        b"*4\r\n$3\r\nbob\r\n$3\r\ncat\r\n$3\r\nann\r\n$-1\r\n",
                    ),
                    (
                        "SORT_RO ids BY h_*->rank DESC GET # GET w_*",
                        b"*8\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n3\r\n$1\r\n2\r\n$1\r\n2\r\n$1\r\n1\r\n$1\r\n4\r\n$1\r\n9\r\n",
                    ),
                    ("SET byname old EX 100", b"+OK\r\n"),
                    ("SORT ids BY w_* GET h_*->name STORE byname", b":4\r\n"),
                    ("SORT ids DESC LIMIT 0 3 STORE plain", b":3\r\n"),
                    ("SORT ids LIMIT 0 0 STORE gone", b":0\r\n"),
                    ("EXISTS gone", b":0\r\n"),
                ],
            );
            assert_replies(&db, STORED);
            storage.crash();
        }
        let db = Db::open(dir.path(), sharded(backend)).unwrap();
        assert_replies(&db, STORED);
        drop(db);
        assert!(check(dir.path(), false).unwrap().is_clean());
    }
}
