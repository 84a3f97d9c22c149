//! Durability of hashes: HSET, HDEL, HINCRBY, HINCRBYFLOAT and expiries on hash keys,
//! written through the command table under `--fsync always`, survive a crash, a reopen
//! from the log alone and from a snapshot plus the log, and `floe check` finds the
//! directory clean.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

mod common;

use std::sync::Arc;

use common::{
    FaultStorage, TempDir, WRONG_TYPE, assert_replies, backends, command, config, open_with,
    segments, writes_survive_a_crash,
};
use floe_runtime::Db;
use floe_runtime::io::Backend;
use floe_runtime::log::FsyncPolicy;
use floe_runtime::log::check::check;

/// Writes hashes of every shape the commands make, and returns what HGETALL and TYPE
/// must say about them afterwards.
fn write_hashes(db: &Db) -> Vec<(String, Vec<u8>)> {
    assert_eq!(command(db, "HSET user:1 name ada lang rust"), b":2\r\n");
    assert_eq!(command(db, "HSET user:1 name grace year 1906"), b":1\r\n");
    assert_eq!(command(db, "HDEL user:1 lang"), b":1\r\n");
    assert_eq!(command(db, "HINCRBY counters hits 41"), b":41\r\n");
    assert_eq!(command(db, "HINCRBY counters hits 1"), b":42\r\n");
    assert_eq!(
        command(db, "HINCRBYFLOAT counters ratio 2.5"),
        b"$3\r\n2.5\r\n"
    );
    assert_eq!(command(db, "HSETNX counters hits 0"), b":0\r\n");
    assert_eq!(command(db, "HSET gone f v"), b":1\r\n");
    assert_eq!(command(db, "HDEL gone f"), b":1\r\n");
    assert_eq!(command(db, "HSET ttl f v"), b":1\r\n");
    assert_eq!(command(db, "EXPIREAT ttl 4102444800"), b":1\r\n");
    assert_eq!(command(db, "HSET ttl g w"), b":1\r\n");
    assert_eq!(command(db, "HMSET renamed a 1 b 2"), b"+OK\r\n");
    assert_eq!(command(db, "RENAME renamed moved"), b"+OK\r\n");
    // Many fields: one item of a few KiB, rewritten whole by every write.
    for index in 0..200 {
        let line = format!("HSET big field-{index:03} value-{index}");
        assert_eq!(command(db, &line), b":1\r\n");
    }
    // A large hash (past hash-max-listpack-entries): a header and parts, each write
    // logging the parts it rewrote; splits as it grows; renamed, with an expiry.
    let fields: Vec<String> = (0..1000)
        .map(|index| format!("f{index} v{index}"))
        .collect();
    assert_eq!(
        command(db, &format!("HSET huge {}", fields.join(" "))),
        b":1000\r\n"
    );
    for index in 1000..1100 {
        let line = format!("HSET huge f{index} v{index}");
        assert_eq!(command(db, &line), b":1\r\n");
    }
    assert_eq!(command(db, "HDEL huge f0 f1 nope"), b":2\r\n");
    assert_eq!(command(db, "HINCRBY huge counter 7"), b":7\r\n");
    assert_eq!(command(db, "EXPIREAT huge 4102444800"), b":1\r\n");
    assert_eq!(command(db, "RENAME huge large"), b"+OK\r\n");
    assert_eq!(
        command(
            db,
            "HSET gone-large {}"
                .replace("{}", &fields.join(" "))
                .as_str()
        ),
        b":1000\r\n"
    );
    assert_eq!(command(db, "DEL gone-large"), b":1\r\n");
    assert_eq!(command(db, "SET plain string"), b"+OK\r\n");
    let mut expected = vec![
        ("HLEN large".to_string(), b":1099\r\n".to_vec()),
        ("HGET large f1099".to_string(), b"$5\r\nv1099\r\n".to_vec()),
        ("HGET large f500".to_string(), b"$4\r\nv500\r\n".to_vec()),
        ("HEXISTS large f1".to_string(), b":0\r\n".to_vec()),
        ("HGET large counter".to_string(), b"$1\r\n7\r\n".to_vec()),
        ("EXPIRETIME large".to_string(), b":4102444800\r\n".to_vec()),
        (
            "OBJECT ENCODING large".to_string(),
            b"$9\r\nhashtable\r\n".to_vec(),
        ),
        ("EXISTS huge gone-large".to_string(), b":0\r\n".to_vec()),
        ("DBSIZE".to_string(), b":7\r\n".to_vec()),
        (
            "HGETALL user:1".to_string(),
            b"*4\r\n$4\r\nname\r\n$5\r\ngrace\r\n$4\r\nyear\r\n$4\r\n1906\r\n".to_vec(),
        ),
        (
            "HGETALL counters".to_string(),
            b"*4\r\n$4\r\nhits\r\n$2\r\n42\r\n$5\r\nratio\r\n$3\r\n2.5\r\n".to_vec(),
        ),
        ("EXISTS gone".to_string(), b":0\r\n".to_vec()),
        (
            "HGETALL ttl".to_string(),
            b"*4\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\ng\r\n$1\r\nw\r\n".to_vec(),
        ),
        ("EXPIRETIME ttl".to_string(), b":4102444800\r\n".to_vec()),
        (
            "HGETALL moved".to_string(),
            b"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n".to_vec(),
        ),
        ("EXISTS renamed".to_string(), b":0\r\n".to_vec()),
        ("HLEN big".to_string(), b":200\r\n".to_vec()),
        (
            "HGET big field-123".to_string(),
            b"$9\r\nvalue-123\r\n".to_vec(),
        ),
        ("TYPE big".to_string(), b"+hash\r\n".to_vec()),
        ("TYPE plain".to_string(), b"+string\r\n".to_vec()),
        (
            "OBJECT ENCODING big".to_string(),
            b"$8\r\nlistpack\r\n".to_vec(),
        ),
    ];
    expected.push(("GET big".to_string(), WRONG_TYPE.to_vec()));
    expected.push(("HGET plain f".to_string(), WRONG_TYPE.to_vec()));
    expected
}

#[test]
fn hashes_survive_a_crash_under_always() {
    writes_survive_a_crash(
        "hash-crash",
        |backend| config(backend, FsyncPolicy::Always),
        write_hashes,
    );
}

#[test]
fn hashes_survive_a_snapshot_and_the_log_after_it() {
    for backend in backends() {
        let dir = TempDir::new("hash-snapshot");
        let storage = FaultStorage::over(backend);
        let expected = {
            let db = open_with(
                dir.path(),
                config(backend, FsyncPolicy::Always),
                Arc::new(storage.clone()),
            );
            let mut expected = write_hashes(&db);
            db.save().unwrap();
            // Writes after the snapshot: replayed from the log over it.
            assert_eq!(command(&db, "HSET user:1 year 1815"), b":0\r\n");
            assert_eq!(command(&db, "HDEL big field-000"), b":1\r\n");
            assert_eq!(command(&db, "HSET fresh only one"), b":1\r\n");
            for (line, reply) in &mut expected {
                match line.as_str() {
                    "HGETALL user:1" => {
                        *reply = b"*4\r\n$4\r\nname\r\n$5\r\ngrace\r\n$4\r\nyear\r\n$4\r\n1815\r\n"
                            .to_vec();
                    }
                    "HLEN big" => *reply = b":199\r\n".to_vec(),
                    "DBSIZE" => *reply = b":8\r\n".to_vec(),
                    _ => {}
                }
            }
            expected.push((
                "HGETALL fresh".to_string(),
                b"*2\r\n$4\r\nonly\r\n$3\r\none\r\n".to_vec(),
            ));
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
fn an_intact_record_with_a_bad_hash_encoding_is_refused_and_kept() {
    use floe_core::codec::record::{ItemKind, Record};

    let dir = TempDir::new("hash-bad");
    {
        let db = Db::open(dir.path(), config(Backend::Blocking, FsyncPolicy::Always)).unwrap();
        assert_eq!(command(&db, "HSET h f v"), b":1\r\n");
        db.close().unwrap();
    }
    // Append an intact Set record that says "compact" over bytes that are no hash.
    let record = Record::Set {
        db: 0,
        key: b"forged",
        value: b"h\x09short",
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
        panic!("a forged hash record was loaded");
    };
    let message = error.to_string();
    assert!(message.contains("does not parse"), "{message}");
    assert!(message.contains("LSN 2"), "{message}");
    assert_eq!(std::fs::read(&segment).unwrap(), file, "nothing changed");
}
