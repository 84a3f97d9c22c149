//! Prefix search through `Db` with the prefix index (issue 11): with several shards, the
//! index answers `Db::scan_prefix`, `Db::keys_matching("p*")`, KEYS and SCAN MATCH from
//! cursor 0 with exactly the keys a table walk finds, after deletes, expiry, RENAME, MOVE,
//! COPY, SWAPDB and FLUSHDB, and again after a snapshot and a reopen (the index is rebuilt
//! from the recovered table). With the index off the answers are the same and it costs
//! nothing.
#![allow(
    clippy::unwrap_used,
    reason = "integration tests fail loudly on an unexpected error"
)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{TempDir, backends, config};
use floe_core::codec::resp::SliceSink;
use floe_core::command::Session;
use floe_runtime::db::PrefixIndexMode;
use floe_runtime::log::FsyncPolicy;
use floe_runtime::{Db, DbConfig};

const SHARDS: usize = 8;

fn sharded(prefix_index: PrefixIndexMode) -> DbConfig {
    let mut config = DbConfig {
        shards: SHARDS,
        prefix_index,
        ..config(backends()[0], FsyncPolicy::No)
    };
    config.store = floe_core::store::Config::new(64 << 20, 64_000);
    config
}

/// Runs one command through the door path and settles it; the reply's bytes.
fn run(db: &Db, session: &mut Session, args: &[&[u8]]) -> Vec<u8> {
    let mut buffer = vec![0u8; 1 << 20];
    let mut reply = SliceSink::new(&mut buffer);
    let applied = db.apply(&db.prepare(args), session, &mut reply).unwrap();
    db.settle(applied.durability).unwrap();
    reply.written().to_vec()
}

/// The bulk strings of a RESP reply (nested arrays flattened), in order.
fn bulks(reply: &[u8]) -> Vec<Vec<u8>> {
    let mut found = Vec::new();
    let mut rest = reply;
    while let Some(line_end) = rest.windows(2).position(|pair| pair == b"\r\n") {
        let line = &rest[..line_end];
        rest = &rest[line_end + 2..];
        if let Some(size) = line.strip_prefix(b"$") {
            let size: usize = std::str::from_utf8(size).unwrap().parse().unwrap();
            found.push(rest[..size].to_vec());
            rest = &rest[size + 2..];
        }
    }
    found
}

/// The keys of `model` that start with `prefix`.
fn expected(model: &BTreeSet<Vec<u8>>, prefix: &[u8]) -> Vec<Vec<u8>> {
    model
        .iter()
        .filter(|key| key.starts_with(prefix))
        .cloned()
        .collect()
}

fn sorted(mut keys: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    keys.sort();
    keys
}

/// Every way of asking database 0 for `prefix` agrees with the model.
fn check(db: &Db, model: &BTreeSet<Vec<u8>>, prefixes: &[&[u8]]) {
    let mut session = Session::new(1);
    for &prefix in prefixes {
        let want = expected(model, prefix);
        let listed: Vec<Vec<u8>> = db
            .scan_prefix(prefix)
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        assert_eq!(sorted(listed), want, "scan_prefix {prefix:?}");
        let mut pattern = prefix.to_vec();
        pattern.push(b'*');
        assert_eq!(
            sorted(db.keys_matching(&pattern)),
            want,
            "keys_matching {prefix:?}"
        );
        let keys = bulks(&run(db, &mut session, &[b"KEYS", &pattern]));
        assert_eq!(sorted(keys), want, "KEYS {prefix:?}");
        // SCAN from 0: one reply and a finished cursor when the index answers (few
        // matches), else a full cursor walk; either way every key once or more.
        let mut cursor = b"0".to_vec();
        let mut scanned = BTreeSet::new();
        loop {
            let reply = run(db, &mut session, &[b"SCAN", &cursor, b"MATCH", &pattern]);
            let mut items = bulks(&reply).into_iter();
            cursor = items.next().unwrap();
            scanned.extend(items);
            if cursor == b"0" {
                break;
            }
        }
        assert_eq!(
            scanned.into_iter().collect::<Vec<_>>(),
            want,
            "SCAN {prefix:?}"
        );
    }
}

fn exercise(mode: PrefixIndexMode) {
    let dir = TempDir::new(match mode {
        PrefixIndexMode::On => "prefix-on",
        PrefixIndexMode::Off => "prefix-off",
        PrefixIndexMode::OnDemand => "prefix-auto",
    });
    // With the index on demand, the first prefix query (in `check`) builds it.
    let prefix_index = mode != PrefixIndexMode::Off;
    let db = Db::open(dir.path(), sharded(mode)).unwrap();
    let mut model = BTreeSet::new();
    for index in 0..3000 {
        for key in [
            format!("user:{index}").into_bytes(),
            format!("order:{index}:item").into_bytes(),
            [&[0xff, 0x00][..], format!("{index}").as_bytes()].concat(),
        ] {
            db.set(&key, b"value").unwrap();
            model.insert(key);
        }
    }
    let prefixes: [&[u8]; 7] = [
        b"user:1",
        b"user:12",
        b"order:299",
        b"\xff\x00",
        b"\xff\x001",
        b"nothing",
        b"user:2999",
    ];
    check(&db, &model, &prefixes);

    // Deletes, expiry (lazy or active: the store removes the key from the index, or the
    // query skips it until then), RENAME, COPY and MOVE.
    let mut session = Session::new(1);
    for index in (0..3000).step_by(7) {
        let key = format!("user:{index}").into_bytes();
        assert!(db.delete(&key).unwrap());
        model.remove(&key);
    }
    for index in (1..3000).step_by(11) {
        let key = format!("order:{index}:item").into_bytes();
        db.set_with_ttl(&key, b"short", Duration::from_millis(1))
            .unwrap();
        model.remove(&key);
    }
    std::thread::sleep(Duration::from_millis(5));
    run(&db, &mut session, &[b"RENAME", b"user:1", b"renamed:1"]);
    model.remove(&b"user:1"[..]);
    model.insert(b"renamed:1".to_vec());
    run(&db, &mut session, &[b"COPY", b"user:12", b"copied:12"]);
    model.insert(b"copied:12".to_vec());
    assert_eq!(
        run(&db, &mut session, &[b"MOVE", b"user:13", b"1"]),
        b":1\r\n"
    );
    model.remove(&b"user:13"[..]);
    let prefixes: [&[u8]; 9] = [
        b"user:1",
        b"user:12",
        b"order:1",
        b"order:12",
        b"\xff\x00",
        b"renamed:",
        b"copied:",
        b"nothing",
        b"user:13",
    ];
    check(&db, &model, &prefixes);

    // SWAPDB twice (database 1 holds `user:13` alone), and KEYS in database 1.
    run(&db, &mut session, &[b"SWAPDB", b"0", b"1"]);
    check(&db, &BTreeSet::from([b"user:13".to_vec()]), &prefixes);
    run(&db, &mut session, &[b"SWAPDB", b"0", b"1"]);
    check(&db, &model, &prefixes);

    // A snapshot, more writes in the log after it, and a reopen: recovery rebuilds it.
    db.save().unwrap();
    for index in 0..100 {
        let key = format!("late:{index}").into_bytes();
        db.set(&key, b"v").unwrap();
        model.insert(key);
    }
    db.close().unwrap();
    drop(db);
    let db = Db::open(dir.path(), sharded(mode)).unwrap();
    let built_at_open = db.stats().store.prefix_index_keys > 0;
    assert_eq!(built_at_open, mode == PrefixIndexMode::On, "{mode:?}");
    let reopened: [&[u8]; 5] = [b"user:1", b"order:12", b"\xff\x001", b"late:", b"renamed:"];
    check(&db, &model, &reopened);
    let stats = db.stats().store;
    if prefix_index {
        assert_eq!(stats.prefix_index_keys, stats.keys);
        assert!(
            stats.prefix_index_size > stats.keys * 16,
            "size={}",
            stats.prefix_index_size
        );
    } else {
        assert_eq!(stats.prefix_index_keys, 0);
        assert_eq!(stats.prefix_index_size, 0);
    }

    // FLUSHDB empties database 0 (`user:13` stays in database 1); FLUSHALL the index.
    run(&db, &mut session, &[b"FLUSHDB"]);
    check(&db, &BTreeSet::new(), &reopened);
    assert_eq!(db.stats().store.prefix_index_keys, u64::from(prefix_index));
    run(&db, &mut session, &[b"FLUSHALL"]);
    assert_eq!(db.stats().store.prefix_index_size, 0);
    db.close().unwrap();
}

#[test]
fn prefix_queries_across_shards_agree_with_the_keys_and_survive_reopen() {
    exercise(PrefixIndexMode::On);
}

#[test]
fn prefix_index_off_answers_the_same_and_costs_nothing() {
    exercise(PrefixIndexMode::Off);
}

#[test]
fn prefix_index_on_demand_is_built_by_the_first_prefix_query() {
    exercise(PrefixIndexMode::OnDemand);
}
