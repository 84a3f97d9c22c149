//! A `Db` with a sharded keyspace: commands whose keys span shards are all or nothing and
//! read back as one store would answer them, whole-keyspace commands see every shard, the
//! log's cross-shard order recovers each key's last write (also into a different shard
//! count), and threads writing through different shards lose nothing.
#![allow(
    clippy::unwrap_used,
    reason = "integration tests fail loudly on an unexpected error"
)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::{TempDir, backends, config};
use floe_core::codec::resp::SliceSink;
use floe_core::command::Session;
use floe_core::store::shard_of;
use floe_runtime::db::Durability;
use floe_runtime::io::Backend;
use floe_runtime::log::FsyncPolicy;
use floe_runtime::{Db, DbConfig, DbError};

const SHARDS: usize = 8;

/// A test configuration with `shards` shards: 64 MiB (untouched pages cost nothing) and
/// 64,000 keys in all.
fn sharded(backend: Backend, fsync: FsyncPolicy, shards: usize) -> DbConfig {
    let mut config = DbConfig {
        shards,
        ..config(backend, fsync)
    };
    config.store = floe_core::store::Config::new(64 << 20, 64_000);
    config
}

/// Runs one command through the door path and settles it; the reply as text.
fn run(db: &Db, session: &mut Session, command: &str) -> String {
    let args: Vec<&[u8]> = command.split(' ').map(str::as_bytes).collect();
    let mut buffer = vec![0u8; 1 << 16];
    let mut reply = SliceSink::new(&mut buffer);
    let applied = db
        .apply(&db.prepare(&args[..]), session, &mut reply)
        .unwrap();
    db.settle(applied.durability).unwrap();
    String::from_utf8_lossy(reply.written()).into_owned()
}

/// `count` keys, each in a different shard of `shards`, named `prefix` and a number.
fn keys_in_distinct_shards(prefix: &str, count: usize, shards: usize) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut keys = Vec::new();
    for index in 0.. {
        let key = format!("{prefix}{index}");
        if seen.insert(shard_of(key.as_bytes(), shards)) {
            keys.push(key);
            if keys.len() == count {
                break;
            }
        }
    }
    keys
}

#[test]
fn the_configured_count_is_used_and_small_stores_get_one_shard() {
    let dir = TempDir::new("shard-count");
    let backend = backends()[0];
    let config = sharded(backend, FsyncPolicy::Always, SHARDS);
    assert_eq!(config.shard_count(), SHARDS);
    // 1 MiB and 10,000 keys: too small to split, so limits stay exact.
    assert_eq!(
        common::config(backend, FsyncPolicy::Always).shard_count(),
        1
    );
    let too_many = DbConfig {
        shards: 1000,
        ..config.clone()
    };
    let error = Db::open(dir.path(), too_many).unwrap_err();
    assert!(
        error.to_string().contains("above the largest supported"),
        "{error}"
    );
    let too_small = DbConfig {
        shards: 200,
        ..config
    };
    let error = Db::open(dir.path(), too_small).unwrap_err();
    assert!(error.to_string().contains("use fewer shards"), "{error}");
}

#[test]
fn commands_across_shards_answer_as_one_store() {
    for backend in backends() {
        let dir = TempDir::new("shard-commands");
        let db = Db::open(dir.path(), sharded(backend, FsyncPolicy::Always, SHARDS)).unwrap();
        let mut session = Session::new(1);
        let keys = keys_in_distinct_shards("k", 4, SHARDS);
        let (a, b, c, d) = (&keys[0], &keys[1], &keys[2], &keys[3]);

        assert_eq!(
            run(&db, &mut session, &format!("MSET {a} 1 {b} 2 {c} 3")),
            "+OK\r\n"
        );
        assert_eq!(
            run(&db, &mut session, &format!("MGET {a} {b} {c} {d}")),
            "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$-1\r\n"
        );
        // MSETNX: one key exists, so nothing is written, in any shard.
        assert_eq!(
            run(&db, &mut session, &format!("MSETNX {d} 4 {a} 9")),
            ":0\r\n"
        );
        assert_eq!(
            run(&db, &mut session, &format!("EXISTS {a} {b} {c} {d} {a}")),
            ":4\r\n"
        );
        assert_eq!(run(&db, &mut session, "DBSIZE"), ":3\r\n");
        // RENAME and COPY from one shard to another keep the value and the expiry.
        assert_eq!(
            run(&db, &mut session, &format!("EXPIRE {a} 1000")),
            ":1\r\n"
        );
        assert_eq!(
            run(&db, &mut session, &format!("RENAME {a} {d}")),
            "+OK\r\n"
        );
        assert_eq!(run(&db, &mut session, &format!("GET {d}")), "$1\r\n1\r\n");
        assert_eq!(run(&db, &mut session, &format!("TTL {d}")), ":1000\r\n");
        assert_eq!(run(&db, &mut session, &format!("EXISTS {a}")), ":0\r\n");
        assert_eq!(run(&db, &mut session, &format!("COPY {b} {a}")), ":1\r\n");
        assert_eq!(
            run(&db, &mut session, &format!("RENAMENX {c} {a}")),
            ":0\r\n"
        );
        assert_eq!(
            run(&db, &mut session, &format!("DEL {a} {b} {c}")),
            ":3\r\n"
        );
        assert_eq!(
            run(&db, &mut session, "KEYS *"),
            format!("*1\r\n${}\r\n{d}\r\n", d.len())
        );
        assert_eq!(
            run(&db, &mut session, "RANDOMKEY"),
            format!("${}\r\n{d}\r\n", d.len())
        );
        // FLUSHDB reaches every shard; SWAPDB too.
        assert_eq!(
            run(&db, &mut session, &format!("MSET {a} 1 {b} 2")),
            "+OK\r\n"
        );
        assert_eq!(run(&db, &mut session, "SWAPDB 0 3"), "+OK\r\n");
        assert_eq!(run(&db, &mut session, "DBSIZE"), ":0\r\n");
        assert_eq!(run(&db, &mut session, "SELECT 3"), "+OK\r\n");
        assert_eq!(run(&db, &mut session, "DBSIZE"), ":3\r\n");
        assert_eq!(run(&db, &mut session, "FLUSHDB"), "+OK\r\n");
        assert_eq!(run(&db, &mut session, "DBSIZE"), ":0\r\n");
        db.close().unwrap();
    }
}

/// SCAN across shards: a full iteration returns every key (each once here, as nothing
/// changes during it), whatever COUNT, and the cursor ends at 0.
#[test]
fn scan_walks_every_shard() {
    let dir = TempDir::new("shard-scan");
    let db = Db::open(dir.path(), sharded(backends()[0], FsyncPolicy::No, SHARDS)).unwrap();
    let expected: BTreeSet<String> = (0..500).map(|index| format!("key:{index}")).collect();
    for key in &expected {
        db.set(key.as_bytes(), b"v").unwrap();
    }
    let mut session = Session::new(1);
    for count in [1, 10, 1000] {
        let mut seen = BTreeSet::new();
        let mut cursor = "0".to_owned();
        let mut calls = 0;
        loop {
            let reply = run(&db, &mut session, &format!("SCAN {cursor} COUNT {count}"));
            let lines: Vec<&str> = reply.split("\r\n").collect();
            cursor = lines[2].to_owned();
            for key in lines[4..].iter().skip(1).step_by(2) {
                if !key.is_empty() {
                    assert!(seen.insert((*key).to_owned()), "{key} returned twice");
                }
            }
            calls += 1;
            assert!(calls < 1_000_000, "SCAN does not end");
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen, expected, "COUNT {count}");
    }
}

/// Under `noeviction`, an MSET whose pairs span shards and do not fit one of them changes
/// no shard.
#[test]
fn a_refused_mset_across_shards_changes_nothing() {
    let dir = TempDir::new("shard-oom");
    let mut config = sharded(backends()[0], FsyncPolicy::Always, 4);
    config.store.keys_max = 400;
    let db = Db::open(dir.path(), config).unwrap();
    let mut stored = 0;
    while db.set(format!("fill{stored}").as_bytes(), b"x").is_ok() {
        stored += 1;
    }
    let keys = keys_in_distinct_shards("new", 4, 4);
    let pairs: Vec<(&[u8], &[u8])> = keys
        .iter()
        .map(|key| (key.as_bytes(), b"v".as_slice()))
        .collect();
    let error = db.set_many(&pairs).unwrap_err();
    assert!(matches!(error, DbError::Store(_)), "{error}");
    for key in &keys {
        assert_eq!(db.get(key.as_bytes()), None, "{key} was written");
    }
    assert_eq!(db.len(), stored);
}

/// Applies `commands` through the door path without committing between them, then
/// commits and closes: writes to one shard stay buffered while multi-shard ones append.
fn apply_then_close(db: &Db, commands: &[String]) -> Vec<Durability> {
    let mut session = Session::new(1);
    let mut sink = vec![0u8; 4096];
    let durabilities = commands
        .iter()
        .map(|command| {
            let args: Vec<&[u8]> = command.split(' ').map(str::as_bytes).collect();
            let mut reply = SliceSink::new(&mut sink);
            db.apply(&db.prepare(&args[..]), &mut session, &mut reply)
                .unwrap()
                .durability
        })
        .collect();
    db.commit().unwrap();
    db.close().unwrap();
    durabilities
}

/// Reopens `dir` with each of several shard counts and checks `expected` in database `db`
/// (and that it holds nothing else), then snapshots, so the next reopen starts from it.
fn assert_recovered(dir: &TempDir, backend: Backend, db_index: u8, expected: &[(&str, &str)]) {
    for shards in [SHARDS, 3, 1] {
        let db = Db::open(dir.path(), sharded(backend, FsyncPolicy::Always, shards)).unwrap();
        let mut session = Session::new(1);
        assert_eq!(
            run(&db, &mut session, &format!("SELECT {db_index}")),
            "+OK\r\n"
        );
        assert_eq!(
            run(&db, &mut session, "DBSIZE"),
            format!(":{}\r\n", expected.len()),
            "{shards} shards"
        );
        for (key, value) in expected {
            assert_eq!(
                run(&db, &mut session, &format!("GET {key}")),
                format!("${}\r\n{value}\r\n", value.len()),
                "{key} with {shards} shards"
            );
        }
        db.save().unwrap();
        db.close().unwrap();
    }
}

/// The log order across shards: writes left pending in their shards' buffers, then a
/// multi-shard MSET over one of the same keys, then more: recovery ends with each key's
/// last value (the MSET's group is appended after the pending records of every shard it
/// holds), also when the directory is reopened with another shard count and from a
/// snapshot of the shards.
#[test]
fn recovery_replays_each_keys_last_write_across_shards() {
    for backend in backends() {
        let dir = TempDir::new("shard-order");
        let keys = keys_in_distinct_shards("o", 3, SHARDS);
        let (a, b, c) = (&keys[0], &keys[1], &keys[2]);
        let db = Db::open(dir.path(), sharded(backend, FsyncPolicy::Everysec, SHARDS)).unwrap();
        let durabilities = apply_then_close(
            &db,
            &[
                format!("SET {a} old"),
                format!("SET {b} old"),
                format!("SET {c} old"),
                format!("MSET {a} m {b} m"),
                format!("SET {c} new"),
            ],
        );
        assert_eq!(durabilities[0], Durability::Buffered);
        assert!(
            matches!(durabilities[3], Durability::Appended(_)),
            "{durabilities:?}"
        );
        assert_eq!(durabilities[4], Durability::Buffered);
        drop(db);
        assert_recovered(&dir, backend, 0, &[(a, "m"), (b, "m"), (c, "new")]);

        let db = Db::open(dir.path(), sharded(backend, FsyncPolicy::Everysec, SHARDS)).unwrap();
        apply_then_close(
            &db,
            &[
                format!("SET {a} gone"),
                "FLUSHALL".to_owned(),
                format!("MSET {a} 1 {b} 2 {c} 3"),
                format!("RENAME {a} {b}"),
                "SWAPDB 0 1".to_owned(),
                format!("SET {a} zero"),
            ],
        );
        drop(db);
        assert_recovered(&dir, backend, 1, &[(b, "1"), (c, "3")]);
        assert_recovered(&dir, backend, 0, &[(a, "zero")]);
    }
}

/// Threads writing through every shard at once, with cross-shard MSETs mixed in: every
/// acknowledged write is there after a reopen, and DBSIZE is exact.
#[test]
fn concurrent_writers_lose_nothing() {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 2000;
    let dir = TempDir::new("shard-threads");
    let config = sharded(backends()[0], FsyncPolicy::Everysec, SHARDS);
    {
        let db = Arc::new(Db::open(dir.path(), config.clone()).unwrap());
        let threads: Vec<_> = (0..THREADS)
            .map(|thread| {
                let db = Arc::clone(&db);
                std::thread::spawn(move || {
                    for index in 0..PER_THREAD {
                        let key = format!("t{thread}:{index}");
                        if index % 10 == 0 {
                            let other = format!("t{thread}:pair{index}");
                            db.set_many(&[(key.as_bytes(), b"v"), (other.as_bytes(), b"p")])
                                .unwrap();
                        } else {
                            db.set(key.as_bytes(), b"v").unwrap();
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(db.len(), THREADS * (PER_THREAD + PER_THREAD / 10));
        db.close().unwrap();
    }
    let db = Db::open(dir.path(), config).unwrap();
    assert_eq!(db.len(), THREADS * (PER_THREAD + PER_THREAD / 10));
    for thread in 0..THREADS {
        for index in (0..PER_THREAD).step_by(7) {
            assert_eq!(
                db.get(format!("t{thread}:{index}").as_bytes()),
                Some(b"v".to_vec())
            );
        }
    }
    let stats = db.stats();
    assert_eq!(stats.store.keys, u64::try_from(db.len()).unwrap());
    // The shards' limits add up to the configured total (plus their tables).
    assert!(stats.store.memory_limit_size > 64 << 20);
}

/// A snapshot taken while writers run is exact at its LSN, not a blend of moments: writers
/// keep writing pairs of keys in different shards with one MSET (one atomic group) and one
/// version for both, and the snapshot file alone, reopened without the log, must hold every
/// pair at one version. A snapshot that captured one shard before a group and the other
/// after it would split a pair. The store holds enough other data that walking each shard
/// takes a while, so the writers do run between the cut and the walks.
#[test]
fn a_snapshot_under_concurrent_writes_is_exact_at_its_lsn() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    const PAIRS: usize = 64;
    const FILLER: usize = 100_000;
    let dir = TempDir::new("shard-snapshot");
    let mut config = sharded(backends()[0], FsyncPolicy::No, SHARDS);
    config.store = floe_core::store::Config::new(256 << 20, 400_000);
    let pairs: Vec<(String, String)> = (0..PAIRS)
        .map(|pair| {
            let keys = keys_in_distinct_shards(&format!("pair{pair}:"), 2, SHARDS);
            (keys[0].clone(), keys[1].clone())
        })
        .collect();
    let db = Arc::new(Db::open(dir.path(), config.clone()).unwrap());
    let filler = vec![b'f'; 200];
    for index in 0..FILLER {
        db.set(format!("filler:{index}").as_bytes(), &filler)
            .unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let version = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = (0..2)
        .map(|thread| {
            let (db, stop, version, pairs) = (
                Arc::clone(&db),
                Arc::clone(&stop),
                Arc::clone(&version),
                pairs.clone(),
            );
            std::thread::spawn(move || {
                let mut index = thread;
                while !stop.load(Ordering::Relaxed) {
                    let (first, second) = &pairs[index % PAIRS];
                    let value = version.fetch_add(1, Ordering::Relaxed).to_string();
                    db.set_many(&[
                        (first.as_bytes(), value.as_bytes()),
                        (second.as_bytes(), value.as_bytes()),
                    ])
                    .unwrap();
                    index += 7;
                }
            })
        })
        .collect();
    while version.load(Ordering::Relaxed) < 1000 {
        std::thread::yield_now();
    }
    let report = db.save().unwrap();
    let during = version.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().unwrap();
    }
    assert!(during > 1000, "the writers wrote during the snapshot");
    db.close().unwrap();
    drop(db);
    // The snapshot alone: what it holds is the state at its LSN.
    for segment in common::segments(dir.path()) {
        std::fs::remove_file(segment).unwrap();
    }
    let db = Db::open(dir.path(), config).unwrap();
    assert_eq!(db.recovery().unwrap().lsn_last, report.lsn);
    for (first, second) in &pairs {
        let (a, b) = (db.get(first.as_bytes()), db.get(second.as_bytes()));
        assert_eq!(a, b, "the snapshot split the pair {first} / {second}");
    }
    assert_eq!(db.len(), FILLER + 2 * PAIRS);
}

/// `max-keys` keys fit a sharded store although keys fall into shards unevenly: each shard
/// gets its share plus a margin (`DbConfig::shard_store_config`).
#[test]
fn max_keys_keys_fit_whatever_the_shards() {
    let dir = TempDir::new("shard-keys-max");
    let mut config = sharded(backends()[0], FsyncPolicy::No, SHARDS);
    config.persistence = false;
    config.store.keys_max = 100_000;
    let db = Db::open(dir.path(), config).unwrap();
    for index in 0..100_000 {
        db.set(format!("k{index}").as_bytes(), b"v")
            .unwrap_or_else(|error| panic!("key {index} of 100,000 refused: {error}"));
    }
    assert_eq!(db.len(), 100_000);
}
