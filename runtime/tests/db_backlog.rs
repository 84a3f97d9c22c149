//! The backlog a primary refills from its log after a clean restart (`Db::backlog_fill`,
//! `docs/replication.md`, "Restarts"): it serves every entry the log's newest segments
//! hold, as the live backlog would, and a storage that fails says so.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

mod common;

use std::sync::Arc;

use common::{FaultStorage, TempDir, config, open_with};
use floe_runtime::Db;
use floe_runtime::io::Backend;
use floe_runtime::log::FsyncPolicy;
use floe_runtime::replication::{Read, decode_entries};

#[test]
fn a_refilled_backlog_serves_what_the_log_holds() {
    let dir = TempDir::new("backlog-fill");
    let db = Db::open(dir.path(), config(Backend::Blocking, FsyncPolicy::Always)).unwrap();
    for index in 0..100u32 {
        db.set(format!("key{index}").as_bytes(), b"value").unwrap();
    }
    db.set_many(&[(b"a".as_slice(), b"1".as_slice()), (b"b", b"2")])
        .unwrap();
    db.close().unwrap();
    drop(db);

    let db = Db::open(dir.path(), config(Backend::Blocking, FsyncPolicy::Always)).unwrap();
    let last = db.lsn_last();
    // 100 records, then a group of two intents and a commit.
    assert_eq!(last, 103);
    db.backlog_fill(1 << 20).unwrap();
    let backlog = db.backlog().unwrap();
    let Read::Bytes(bytes) = backlog.read(1, last + 1, 1 << 20) else {
        panic!("LSN 1 is not served");
    };
    let (records, reached) = decode_entries(&bytes, 0).unwrap();
    assert_eq!((records.len(), reached), (102, last));
    // New appends follow on.
    db.set(b"after", b"restart").unwrap();
    let Read::Bytes(bytes) = backlog.read(last + 1, last + 2, 1 << 20) else {
        panic!("the new append is not served");
    };
    assert_eq!(decode_entries(&bytes, last).unwrap().1, last + 1);
    drop(db);

    // A small backlog keeps the newest entries only: older LSNs need a full sync.
    let db = Db::open(dir.path(), config(Backend::Blocking, FsyncPolicy::Always)).unwrap();
    db.backlog_fill(1).unwrap();
    let backlog = db.backlog().unwrap();
    assert_eq!(backlog.read(1, db.lsn_last() + 1, 1 << 20), Read::Gone);
    let Read::Bytes(bytes) = backlog.read(db.lsn_last(), db.lsn_last() + 1, 1 << 20) else {
        panic!("the newest entry is not served");
    };
    assert!(!bytes.is_empty());
}

#[test]
fn a_failing_storage_refuses_the_refill() {
    let dir = TempDir::new("backlog-fill-failing");
    let storage = Arc::new(FaultStorage::over(Backend::Blocking));
    let db = open_with(
        dir.path(),
        config(Backend::Blocking, FsyncPolicy::Always),
        storage.clone(),
    );
    db.set(b"k", b"v").unwrap();
    storage.crash();
    assert!(db.backlog_fill(1 << 20).is_err());
}
