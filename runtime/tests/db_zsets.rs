//! Durability of sorted sets: ZADD, ZINCRBY, ZREM, ZPOPMIN, ZREMRANGEBYSCORE, the STORE
//! forms across shards and expiries on sorted set keys, written through the command table
//! under `--fsync always`, survive a crash, a reopen from the log alone and from a snapshot
//! plus the log, and `floe check` finds the directory clean.
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
use floe_runtime::DbConfig;
use floe_runtime::io::Backend;
use floe_runtime::log::FsyncPolicy;
use floe_runtime::log::check::check;

/// Four shards, so that the STORE forms read keys in other shards than their destination
/// (8 MiB and 10,000 keys: each shard keeps its minimum of segments and keys).
fn sharded(backend: Backend) -> DbConfig {
    let mut config = config(backend, FsyncPolicy::Always);
    config.shards = 4;
    config.store.memory_size = 8 << 20;
    config
}

/// Writes sorted sets of every shape the commands make, and returns what reads must say
/// about them afterwards.
fn write_zsets(db: &Db) -> Vec<(String, Vec<u8>)> {
    assert_eq!(command(db, "ZADD board 1 ada 2 grace 3 linus"), b":3\r\n");
    assert_eq!(command(db, "ZADD board 0.5 ada"), b":0\r\n");
    assert_eq!(command(db, "ZINCRBY board 10 linus"), b"$2\r\n13\r\n");
    assert_eq!(command(db, "ZREM board grace"), b":1\r\n");
    assert_eq!(command(db, "ZADD popped 1 a 2 b 3 c"), b":3\r\n");
    assert_eq!(
        command(db, "ZPOPMIN popped"),
        b"*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(command(db, "ZADD gone 1 only"), b":1\r\n");
    assert_eq!(command(db, "ZREMRANGEBYSCORE gone -inf +inf"), b":1\r\n");
    assert_eq!(command(db, "ZADD ttl 1 m"), b":1\r\n");
    assert_eq!(command(db, "EXPIREAT ttl 4102444800"), b":1\r\n");
    assert_eq!(command(db, "ZADD ttl 2 n"), b":1\r\n");
    assert_eq!(command(db, "ZADD other 5 ada 7 x"), b":2\r\n");
    let shard = |key: &[u8]| floe_core::store::shard_of(key, 4);
    assert!(
        shard(b"board") != shard(b"union") || shard(b"other") != shard(b"union"),
        "a source lives in another shard than the destination"
    );
    assert_eq!(command(db, "ZUNIONSTORE union 2 board other"), b":3\r\n");
    assert_eq!(command(db, "ZINTERSTORE inter 2 board other"), b":1\r\n");
    assert_eq!(command(db, "ZRANGESTORE top board 0 0 REV"), b":1\r\n");
    // Many members: past zset-max-listpack-entries (128) the set takes the large form
    // (a member index and a tree of parts) and grows a part at a time; one ZADD of 500
    // more; updates that move members, removals, pops, an expiry and a rename carry over.
    for index in 0..200 {
        let line = format!("ZADD big {index} member-{index:03}");
        assert_eq!(command(db, &line), b":1\r\n");
    }
    let more: Vec<String> = (200..700)
        .map(|index| format!("{} member-{index:03}", 1000 - index))
        .collect();
    assert_eq!(
        command(db, &format!("ZADD huge {}", more.join(" "))),
        b":500\r\n"
    );
    assert_eq!(
        command(db, "ZADD huge -5 member-699 9999 member-200"),
        b":0\r\n"
    );
    assert_eq!(
        command(db, "ZREM huge member-201 member-202 nope"),
        b":2\r\n"
    );
    assert_eq!(
        command(db, "ZPOPMIN huge"),
        b"*2\r\n$10\r\nmember-699\r\n$2\r\n-5\r\n"
    );
    assert_eq!(command(db, "EXPIREAT huge 4102444800"), b":1\r\n");
    assert_eq!(command(db, "RENAME huge large"), b"+OK\r\n");
    assert_eq!(command(db, "SET plain string"), b"+OK\r\n");
    let reply = |line: &str, bytes: &[u8]| (line.to_string(), bytes.to_vec());
    vec![
        reply(
            "ZRANGE board 0 -1 WITHSCORES",
            b"*4\r\n$3\r\nada\r\n$3\r\n0.5\r\n$5\r\nlinus\r\n$2\r\n13\r\n",
        ),
        reply(
            "ZRANGE popped 0 -1 WITHSCORES",
            b"*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n",
        ),
        reply("EXISTS gone", b":0\r\n"),
        reply(
            "ZRANGE ttl 0 -1 WITHSCORES",
            b"*4\r\n$1\r\nm\r\n$1\r\n1\r\n$1\r\nn\r\n$1\r\n2\r\n",
        ),
        reply("EXPIRETIME ttl", b":4102444800\r\n"),
        reply(
            "ZRANGE union 0 -1 WITHSCORES",
            b"*6\r\n$3\r\nada\r\n$3\r\n5.5\r\n$1\r\nx\r\n$1\r\n7\r\n$5\r\nlinus\r\n$2\r\n13\r\n",
        ),
        reply(
            "ZRANGE inter 0 -1 WITHSCORES",
            b"*2\r\n$3\r\nada\r\n$3\r\n5.5\r\n",
        ),
        reply("ZRANGE top 0 -1", b"*1\r\n$5\r\nlinus\r\n"),
        reply("ZCARD big", b":200\r\n"),
        reply("ZSCORE big member-123", b"$3\r\n123\r\n"),
        reply("TYPE big", b"+zset\r\n"),
        reply("OBJECT ENCODING big", b"$8\r\nskiplist\r\n"),
        reply("ZCARD large", b":497\r\n"),
        reply("ZRANK large member-200", b":496\r\n"),
        reply("ZSCORE large member-200", b"$4\r\n9999\r\n"),
        reply(
            "ZRANGE large 0 1 WITHSCORES",
            b"*4\r\n$10\r\nmember-698\r\n$3\r\n302\r\n$10\r\nmember-697\r\n$3\r\n303\r\n",
        ),
        reply("ZCOUNT large 500 800", b":298\r\n"),
        reply("EXPIRETIME large", b":4102444800\r\n"),
        reply("EXISTS huge", b":0\r\n"),
        reply("GET big", WRONG_TYPE),
        reply("ZSCORE plain f", WRONG_TYPE),
    ]
}

#[test]
fn sorted_sets_survive_a_crash_under_always() {
    writes_survive_a_crash("zset-crash", sharded, write_zsets);
}

#[test]
fn sorted_sets_survive_a_snapshot_and_the_log_after_it() {
    for backend in backends() {
        let dir = TempDir::new("zset-snapshot");
        let storage = FaultStorage::over(backend);
        let expected = {
            let db = open_with(dir.path(), sharded(backend), Arc::new(storage.clone()));
            let mut expected = write_zsets(&db);
            db.save().unwrap();
            // Writes after the snapshot: replayed from the log over it.
            assert_eq!(command(&db, "ZADD board 1 ada"), b":0\r\n");
            assert_eq!(
                command(&db, "ZPOPMIN big"),
                b"*2\r\n$10\r\nmember-000\r\n$1\r\n0\r\n"
            );
            assert_eq!(command(&db, "ZDIFFSTORE union 2 union other"), b":1\r\n");
            for (line, reply) in &mut expected {
                match line.as_str() {
                    "ZRANGE board 0 -1 WITHSCORES" => {
                        *reply =
                            b"*4\r\n$3\r\nada\r\n$1\r\n1\r\n$5\r\nlinus\r\n$2\r\n13\r\n".to_vec();
                    }
                    "ZCARD big" => *reply = b":199\r\n".to_vec(),
                    "ZRANGE union 0 -1 WITHSCORES" => {
                        *reply = b"*2\r\n$5\r\nlinus\r\n$2\r\n13\r\n".to_vec();
                    }
                    _ => {}
                }
            }
            assert_replies(&db, &expected);
            storage.crash();
            expected
        };
        let db = Db::open(dir.path(), sharded(backend)).unwrap();
        assert_replies(&db, &expected);
        // A snapshot of the recovered store, alone, holds the same.
        db.save().unwrap();
        drop(db);
        let db = Db::open(dir.path(), sharded(backend)).unwrap();
        assert_replies(&db, &expected);
        drop(db);
        assert!(check(dir.path(), false).unwrap().is_clean());
    }
}

#[test]
fn an_intact_record_with_a_bad_sorted_set_encoding_is_refused_and_kept() {
    use floe_core::codec::record::{ItemKind, Record};

    let dir = TempDir::new("zset-bad");
    {
        let db = Db::open(dir.path(), config(Backend::Blocking, FsyncPolicy::Always)).unwrap();
        assert_eq!(command(&db, "ZADD z 1 m"), b":1\r\n");
        db.close().unwrap();
    }
    // An intact Set record that says "compact" over a sorted set whose entries are out of
    // order.
    let mut value = vec![b'z', 1, b'b'];
    value.extend_from_slice(&2.0f64.to_le_bytes());
    value.extend_from_slice(&[1, b'a']);
    value.extend_from_slice(&1.0f64.to_le_bytes());
    let record = Record::Set {
        db: 0,
        key: b"forged",
        value: &value,
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
        panic!("a forged sorted set record was loaded");
    };
    let message = error.to_string();
    assert!(message.contains("does not parse"), "{message}");
    assert!(message.contains("LSN 2"), "{message}");
    assert_eq!(std::fs::read(&segment).unwrap(), file, "nothing changed");
}
