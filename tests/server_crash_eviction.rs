//! Evictions survive SIGKILL: `floe serve` with a small `--max-keys` under an evicting
//! policy takes many more SETs (and some hash writes) than it can hold, the writers stop,
//! every key and value is read, the server is killed with SIGKILL and restarted on the
//! same directory. Halfway through each round's writes a SAVE takes a snapshot, so the
//! restart loads a snapshot and replays the log after it, evictions on both sides. The
//! restarted store must hold exactly what was read: no evicted key comes back (each
//! eviction is logged as a delete before the write that caused it is acknowledged), and
//! no kept key is lost or changed. Under each fsync policy.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::replication::connect;
use common::server::Server;

const KEYS_MAX: usize = 2_000;
const WRITES: usize = 12_000;

#[test]
fn evictions_survive_sigkill_allkeys_lru() {
    evictions_survive_sigkill("allkeys-lru", "always");
}

#[test]
fn evictions_survive_sigkill_allkeys_lfu_everysec() {
    evictions_survive_sigkill("allkeys-lfu", "everysec");
}

#[test]
fn evictions_survive_sigkill_allkeys_lru_fsync_no() {
    evictions_survive_sigkill("allkeys-lru", "no");
}

fn evictions_survive_sigkill(policy: &str, fsync: &str) {
    let data = common::scratch(&format!(
        "server-crash-eviction-{policy}-{fsync}-{}",
        std::process::id()
    ))
    .join("data");
    let mut server = start(policy, fsync, &data);
    let mut connection = connect(&server);
    for round in 0..2 {
        let mut pipe = redis::pipe();
        for index in 0..WRITES {
            // Reads of a few hot keys give LRU and LFU something to keep.
            let key = format!("key:{}", (index * 7_919) % (3 * KEYS_MAX));
            pipe.set(&key, format!("{round}-{index}-{}", "v".repeat(index % 90)))
                .ignore();
            if index % 10 == 0 {
                pipe.get(format!("key:{}", index % 50)).ignore();
            }
            if index % 25 == 0 {
                pipe.hset(format!("hash:{}", index % 40), index, "field value")
                    .ignore();
            }
            if pipe.len() >= 500 || index == WRITES / 2 {
                pipe.exec(&mut connection).expect("pipelined writes");
                pipe.clear();
            }
            if index == WRITES / 2 {
                let () = redis::cmd("SAVE").query(&mut connection).expect("SAVE");
            }
        }
        pipe.exec(&mut connection).expect("pipelined writes");
        let before = contents(&mut connection);
        assert!(
            before.len() <= KEYS_MAX,
            "{} keys, more than --max-keys",
            before.len()
        );
        assert!(
            before.len() > KEYS_MAX / 2,
            "only {} keys: evicted far too much",
            before.len()
        );
        server.kill();
        server = start(policy, fsync, &data);
        connection = connect(&server);
        let after = contents(&mut connection);
        let lost: Vec<_> = before
            .keys()
            .filter(|key| !after.contains_key(*key))
            .collect();
        let back: Vec<_> = after
            .keys()
            .filter(|key| !before.contains_key(*key))
            .collect();
        let changed: Vec<_> = before
            .iter()
            .filter(|(key, value)| after.get(*key).is_some_and(|after| after != *value))
            .map(|(key, _)| key)
            .collect();
        assert!(
            lost.is_empty() && back.is_empty() && changed.is_empty(),
            "round {round}, {policy}: {} lost (first {:?}), {} came back (first {:?}), {} \
             changed (first {:?}); log {}",
            lost.len(),
            lost.first(),
            back.len(),
            back.first(),
            changed.len(),
            changed.first(),
            server.log.display()
        );
    }
}

fn start(policy: &str, fsync: &str, data: &Path) -> Server {
    let data = data.to_str().expect("a UTF-8 path");
    let keys_max = KEYS_MAX.to_string();
    Server::floe(&[
        "--dir",
        data,
        "--appendfsync",
        fsync,
        "--maxmemory-policy",
        policy,
        "--max-keys",
        &keys_max,
        "--shards",
        "1",
    ])
}

/// Every key with its value (strings) or its fields (hashes, flattened), by SCAN.
fn contents(connection: &mut redis::Connection) -> BTreeMap<String, Vec<Vec<u8>>> {
    let keys: Vec<String> = redis::cmd("SCAN")
        .cursor_arg(0)
        .arg("COUNT")
        .arg(1_000)
        .clone()
        .iter(connection)
        .expect("SCAN")
        .map(|key| key.expect("a key"))
        .collect();
    let mut contents = BTreeMap::new();
    for key in keys {
        let value: Vec<Vec<u8>> = if key.starts_with("hash:") {
            let fields: BTreeMap<Vec<u8>, Vec<u8>> = redis::cmd("HGETALL")
                .arg(&key)
                .query(connection)
                .expect("HGETALL");
            fields
                .into_iter()
                .flat_map(|(field, value)| [field, value])
                .collect()
        } else {
            let value: Vec<u8> = redis::cmd("GET").arg(&key).query(connection).expect("GET");
            vec![value]
        };
        contents.insert(key, value);
    }
    contents
}
