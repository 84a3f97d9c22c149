//! Durability of lists: pushes, pops, LSET, LINSERT, LREM, LTRIM, LMOVE (between keys and
//! rotating one list) and expiries on list keys, written through the command table under
//! `--fsync always`, survive a crash, a reopen from the log alone and from a snapshot
//! plus the log, and `floe check` finds the directory clean.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

mod common;

use std::sync::Arc;

use common::{
    FaultStorage, TempDir, assert_replies, backends, bulks, command, config, open_with,
    writes_survive_a_crash,
};
use floe_runtime::Db;
use floe_runtime::log::FsyncPolicy;
use floe_runtime::log::check::check;

/// Writes lists of every shape the commands make, and returns what LRANGE and TYPE must
/// say about them afterwards.
fn write_lists(db: &Db) -> Vec<(String, Vec<u8>)> {
    assert_eq!(command(db, "RPUSH queue a b c d"), b":4\r\n");
    assert_eq!(command(db, "LPUSH queue z"), b":5\r\n");
    assert_eq!(command(db, "LPOP queue"), b"$1\r\nz\r\n");
    assert_eq!(command(db, "RPOP queue 2"), bulks(&["d", "c"]));
    assert_eq!(command(db, "LSET queue 0 A"), b"+OK\r\n");
    assert_eq!(command(db, "LINSERT queue AFTER A mid"), b":3\r\n");
    assert_eq!(command(db, "RPUSH dups x y x y x"), b":5\r\n");
    assert_eq!(command(db, "LREM dups -2 x"), b":2\r\n");
    assert_eq!(command(db, "RPUSH trimmed 0 1 2 3 4 5"), b":6\r\n");
    assert_eq!(command(db, "LTRIM trimmed 1 -2"), b"+OK\r\n");
    assert_eq!(command(db, "RPUSH source 1 2 3"), b":3\r\n");
    assert_eq!(
        command(db, "LMOVE source target LEFT RIGHT"),
        b"$1\r\n1\r\n"
    );
    assert_eq!(command(db, "RPOPLPUSH source target"), b"$1\r\n3\r\n");
    assert_eq!(command(db, "RPUSH ring 1 2 3"), b":3\r\n");
    assert_eq!(command(db, "LMOVE ring ring LEFT RIGHT"), b"$1\r\n1\r\n");
    assert_eq!(command(db, "RPUSH gone only"), b":1\r\n");
    assert_eq!(
        command(db, "LMOVE gone target RIGHT LEFT"),
        b"$4\r\nonly\r\n"
    );
    assert_eq!(command(db, "RPUSH ttl v"), b":1\r\n");
    assert_eq!(command(db, "EXPIREAT ttl 4102444800"), b":1\r\n");
    assert_eq!(command(db, "RPUSH ttl w"), b":2\r\n");
    for index in 0..300 {
        let line = format!("RPUSH big element-{index:03}");
        assert_eq!(
            command(db, &line),
            format!(":{}\r\n", index + 1).into_bytes()
        );
    }
    assert_eq!(command(db, "SET plain string"), b"+OK\r\n");
    vec![
        ("LRANGE queue 0 -1".to_string(), bulks(&["A", "mid", "b"])),
        ("LRANGE dups 0 -1".to_string(), bulks(&["x", "y", "y"])),
        (
            "LRANGE trimmed 0 -1".to_string(),
            bulks(&["1", "2", "3", "4"]),
        ),
        ("LRANGE source 0 -1".to_string(), bulks(&["2"])),
        ("LRANGE target 0 -1".to_string(), bulks(&["only", "3", "1"])),
        ("LRANGE ring 0 -1".to_string(), bulks(&["2", "3", "1"])),
        ("EXISTS gone".to_string(), b":0\r\n".to_vec()),
        ("LRANGE ttl 0 -1".to_string(), bulks(&["v", "w"])),
        ("EXPIRETIME ttl".to_string(), b":4102444800\r\n".to_vec()),
        ("LLEN big".to_string(), b":300\r\n".to_vec()),
        (
            "LINDEX big 123".to_string(),
            b"$11\r\nelement-123\r\n".to_vec(),
        ),
        ("TYPE big".to_string(), b"+list\r\n".to_vec()),
        (
            "OBJECT ENCODING big".to_string(),
            b"$9\r\nquicklist\r\n".to_vec(),
        ),
        (
            "GET big".to_string(),
            b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n".to_vec(),
        ),
    ]
}

#[test]
fn lists_survive_a_crash_under_always() {
    writes_survive_a_crash(
        "list-crash",
        |backend| config(backend, FsyncPolicy::Always),
        write_lists,
    );
}

#[test]
fn lists_survive_a_snapshot_and_the_log_after_it() {
    for backend in backends() {
        let dir = TempDir::new("list-snapshot");
        let storage = FaultStorage::over(backend);
        let expected = {
            let db = open_with(
                dir.path(),
                config(backend, FsyncPolicy::Always),
                Arc::new(storage.clone()),
            );
            let mut expected = write_lists(&db);
            db.save().unwrap();
            // Writes after the snapshot: replayed from the log over it.
            assert_eq!(command(&db, "LPOP big"), b"$11\r\nelement-000\r\n");
            assert_eq!(command(&db, "LMOVE queue fresh RIGHT LEFT"), b"$1\r\nb\r\n");
            for (line, reply) in &mut expected {
                match line.as_str() {
                    "LLEN big" => *reply = b":299\r\n".to_vec(),
                    "LINDEX big 123" => *reply = b"$11\r\nelement-124\r\n".to_vec(),
                    "LRANGE queue 0 -1" => *reply = bulks(&["A", "mid"]),
                    _ => {}
                }
            }
            expected.push(("LRANGE fresh 0 -1".to_string(), bulks(&["b"])));
            assert_replies(&db, &expected);
            storage.crash();
            expected
        };
        let db = Db::open(dir.path(), config(backend, FsyncPolicy::Always)).unwrap();
        assert_replies(&db, &expected);
        db.save().unwrap();
        drop(db);
        let db = Db::open(dir.path(), config(backend, FsyncPolicy::Always)).unwrap();
        assert_replies(&db, &expected);
        drop(db);
        assert!(check(dir.path(), false).unwrap().is_clean());
    }
}

/// LMOVE between keys of different shards writes the target, then the source, as one
/// group: after a crash every element is in exactly one of the two lists.
#[test]
fn moves_across_shards_survive_a_crash() {
    let backend = backends()[0];
    let dir = TempDir::new("list-shards");
    let storage = FaultStorage::over(backend);
    let shard_config = || {
        let mut config = config(backend, FsyncPolicy::Always);
        config.shards = 4;
        config.store.memory_size = 8 << 20;
        config
    };
    let expected = {
        let db = open_with(dir.path(), shard_config(), Arc::new(storage.clone()));
        let mut expected = Vec::new();
        for index in 0..24 {
            let (source, target) = (format!("source-{index}"), format!("target-{index}"));
            assert_eq!(command(&db, &format!("RPUSH {source} a b c")), b":3\r\n");
            assert_eq!(
                command(&db, &format!("LMOVE {source} {target} LEFT RIGHT")),
                b"$1\r\na\r\n"
            );
            assert_eq!(
                command(&db, &format!("RPOPLPUSH {source} {target}")),
                b"$1\r\nc\r\n"
            );
            expected.push((format!("LRANGE {source} 0 -1"), bulks(&["b"])));
            expected.push((format!("LRANGE {target} 0 -1"), bulks(&["c", "a"])));
        }
        assert_replies(&db, &expected);
        storage.crash();
        expected
    };
    let db = Db::open(dir.path(), shard_config()).unwrap();
    assert_replies(&db, &expected);
}
