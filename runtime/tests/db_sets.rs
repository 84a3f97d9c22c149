//! Durability of sets: SADD, SREM, SPOP, SMOVE, the STORE forms and expiries on set keys,
//! written through the command table under `--fsync always` in a keyspace of four shards
//! (so SMOVE and the STORE forms cross shards), survive a crash, a reopen from the log
//! alone and from a snapshot plus the log, and `floe check` finds the directory clean.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

mod common;

use std::sync::Arc;

use common::{
    FaultStorage, TempDir, WRONG_TYPE, assert_replies, backends, bulks, command, open_with,
    segments, writes_survive_a_crash,
};
use floe_core::store::shard_of;
use floe_runtime::io::Backend;
use floe_runtime::log::FsyncPolicy;
use floe_runtime::log::check::check;
use floe_runtime::{Db, DbConfig};

/// Four shards, so that multi-key set commands cross them.
fn config(backend: Backend, fsync: FsyncPolicy) -> DbConfig {
    DbConfig {
        backend,
        fsync,
        snapshot_log_size: 0,
        shards: 4,
        ..DbConfig::new(64 << 20, 10_000)
    }
}

/// Writes sets of every shape the commands make, and returns what reads must say about
/// them afterwards (integer sets only in SMEMBERS: their order is numeric).
fn write_sets(db: &Db) -> Vec<(String, Vec<u8>)> {
    let keys = ["ids", "other", "union", "inter", "diff", "words", "fruit"];
    let shards: std::collections::BTreeSet<usize> =
        keys.iter().map(|key| shard_of(key.as_bytes(), 4)).collect();
    assert!(
        shards.len() > 2,
        "the keys spread over the shards: {shards:?}"
    );
    assert_eq!(command(db, "SADD ids 30 10 20"), b":3\r\n");
    assert_eq!(command(db, "SADD ids 40 10"), b":1\r\n");
    assert_eq!(command(db, "SREM ids 30"), b":1\r\n");
    assert_eq!(command(db, "SADD words apple pear plum"), b":3\r\n");
    assert_eq!(command(db, "SADD other 20 50 60"), b":3\r\n");
    assert_eq!(command(db, "SADD gone x"), b":1\r\n");
    assert_eq!(command(db, "SREM gone x"), b":1\r\n");
    assert_eq!(command(db, "SADD popped 1 2 3"), b":3\r\n");
    assert_eq!(command(db, "SPOP popped 3"), bulks(&["1", "2", "3"]));
    assert_eq!(command(db, "SADD ttl 1"), b":1\r\n");
    assert_eq!(command(db, "EXPIREAT ttl 4102444800"), b":1\r\n");
    assert_eq!(command(db, "SADD ttl 2"), b":1\r\n");
    // Across shards: the STORE forms and SMOVE read and write keys in several shards.
    assert_eq!(command(db, "SUNIONSTORE union ids other"), b":5\r\n");
    assert_eq!(command(db, "SINTERSTORE inter ids other"), b":1\r\n");
    assert_eq!(command(db, "SDIFFSTORE diff ids other"), b":2\r\n");
    assert_eq!(command(db, "SUNIONSTORE union union words"), b":8\r\n");
    assert_eq!(command(db, "SMOVE other ids 50"), b":1\r\n");
    assert_eq!(command(db, "SMOVE words fruit pear"), b":1\r\n");
    assert_eq!(command(db, "SINTERSTORE empty ids missing"), b":0\r\n");
    // Many members: past set-max-listpack-entries (128) the set takes the large form
    // (a header and parts) and splits as it grows; one SADD of 500 more; a removal, an
    // expiry and a rename carry over the crash.
    for index in 0..200 {
        let line = format!("SADD big member-{index:03}");
        assert_eq!(command(db, &line), b":1\r\n");
    }
    let more: Vec<String> = (200..700)
        .map(|index| format!("member-{index:03}"))
        .collect();
    assert_eq!(
        command(db, &format!("SADD huge {}", more.join(" "))),
        b":500\r\n"
    );
    assert_eq!(
        command(db, "SREM huge member-200 member-201 nope"),
        b":2\r\n"
    );
    assert_eq!(command(db, "EXPIREAT huge 4102444800"), b":1\r\n");
    assert_eq!(command(db, "RENAME huge large"), b"+OK\r\n");
    assert_eq!(command(db, "SET plain string"), b"+OK\r\n");
    vec![
        ("SMEMBERS ids".to_string(), bulks(&["10", "20", "40", "50"])),
        ("SMEMBERS other".to_string(), bulks(&["20", "60"])),
        ("SCARD words".to_string(), b":2\r\n".to_vec()),
        (
            "SMISMEMBER words apple pear plum".to_string(),
            b"*3\r\n:1\r\n:0\r\n:1\r\n".to_vec(),
        ),
        ("SMEMBERS fruit".to_string(), bulks(&["pear"])),
        ("EXISTS gone popped empty".to_string(), b":0\r\n".to_vec()),
        ("SMEMBERS ttl".to_string(), bulks(&["1", "2"])),
        ("EXPIRETIME ttl".to_string(), b":4102444800\r\n".to_vec()),
        ("SMEMBERS inter".to_string(), bulks(&["20"])),
        ("SMEMBERS diff".to_string(), bulks(&["10", "40"])),
        ("SCARD union".to_string(), b":8\r\n".to_vec()),
        ("SISMEMBER union plum".to_string(), b":1\r\n".to_vec()),
        (
            "OBJECT ENCODING union".to_string(),
            b"$9\r\nhashtable\r\n".to_vec(),
        ),
        (
            "OBJECT ENCODING ids".to_string(),
            b"$6\r\nintset\r\n".to_vec(),
        ),
        ("SCARD big".to_string(), b":200\r\n".to_vec()),
        ("SCARD large".to_string(), b":498\r\n".to_vec()),
        ("SISMEMBER large member-699".to_string(), b":1\r\n".to_vec()),
        ("SISMEMBER large member-200".to_string(), b":0\r\n".to_vec()),
        ("EXPIRETIME large".to_string(), b":4102444800\r\n".to_vec()),
        (
            "OBJECT ENCODING large".to_string(),
            b"$9\r\nhashtable\r\n".to_vec(),
        ),
        ("SISMEMBER big member-123".to_string(), b":1\r\n".to_vec()),
        ("TYPE big".to_string(), b"+set\r\n".to_vec()),
        ("TYPE plain".to_string(), b"+string\r\n".to_vec()),
        ("GET big".to_string(), WRONG_TYPE.to_vec()),
        ("SCARD plain".to_string(), WRONG_TYPE.to_vec()),
    ]
}

#[test]
fn sets_survive_a_crash_under_always() {
    writes_survive_a_crash(
        "set-crash",
        |backend| config(backend, FsyncPolicy::Always),
        write_sets,
    );
}

#[test]
fn sets_survive_a_snapshot_and_the_log_after_it() {
    for backend in backends() {
        let dir = TempDir::new("set-snapshot");
        let storage = FaultStorage::over(backend);
        let expected = {
            let db = open_with(
                dir.path(),
                config(backend, FsyncPolicy::Always),
                Arc::new(storage.clone()),
            );
            let mut expected = write_sets(&db);
            db.save().unwrap();
            // Writes after the snapshot: replayed from the log over it.
            assert_eq!(command(&db, "SADD ids 5"), b":1\r\n");
            assert_eq!(command(&db, "SREM big member-000"), b":1\r\n");
            assert_eq!(command(&db, "SDIFFSTORE fresh other ids"), b":1\r\n");
            for (line, reply) in &mut expected {
                match line.as_str() {
                    "SMEMBERS ids" => *reply = bulks(&["5", "10", "20", "40", "50"]),
                    "SCARD big" => *reply = b":199\r\n".to_vec(),
                    _ => {}
                }
            }
            expected.push(("SMEMBERS fresh".to_string(), bulks(&["60"])));
            assert_replies(&db, &expected);
            storage.crash();
            expected
        };
        let db = Db::open(dir.path(), config(backend, FsyncPolicy::Always)).unwrap();
        assert_replies(&db, &expected);
        // A snapshot of the recovered store, alone, holds the same.
        db.save().unwrap();
        drop(db);
        let db = Db::open(dir.path(), config(backend, FsyncPolicy::Always)).unwrap();
        assert_replies(&db, &expected);
        drop(db);
        assert!(check(dir.path(), false).unwrap().is_clean());
    }
}

#[test]
fn an_intact_record_with_a_bad_set_encoding_is_refused_and_kept() {
    use floe_core::codec::record::{ItemKind, Record};

    let dir = TempDir::new("set-bad");
    {
        let db = Db::open(dir.path(), config(Backend::Blocking, FsyncPolicy::Always)).unwrap();
        assert_eq!(command(&db, "SADD s m"), b":1\r\n");
        db.close().unwrap();
    }
    // Append an intact Set record that says "compact" over bytes that are no set.
    let record = Record::Set {
        db: 0,
        key: b"forged",
        value: b"s\x09short",
        expires_at: 0,
        value_kind: ItemKind::Compact,
    };
    let mut bytes = vec![0; record.encoded_size() as usize];
    record.encode(2, &mut bytes);
    let segment = segments(dir.path()).pop().unwrap();
    let mut file = std::fs::read(&segment).unwrap();
    file.extend_from_slice(&bytes);
    std::fs::write(&segment, &file).unwrap();

    let Err(error) = Db::open(dir.path(), config(Backend::Blocking, FsyncPolicy::Always)) else {
        panic!("a forged set record was loaded");
    };
    let message = error.to_string();
    assert!(message.contains("does not parse"), "{message}");
    assert!(message.contains("LSN 2"), "{message}");
    assert_eq!(std::fs::read(&segment).unwrap(), file, "nothing changed");
}
