//! Active expiry in the `Db`: expired keys leave memory as writes go on, even if nobody
//! reads them (a regression test: the Db once ran no active expiry at all, so expired keys
//! that were never read again held their memory until eviction swept them). Time is the
//! simulator's virtual clock, so the test does not depend on how fast the machine is.

mod common;

use std::sync::Arc;
use std::time::Duration;

use floe_runtime::log::FsyncPolicy;
use floe_runtime::sim::clock::SimClock;
use floe_runtime::{Db, DbConfig};

#[test]
fn writes_remove_expired_keys_nobody_reads() {
    let mut config = DbConfig::new(4 << 20, 2_000);
    config.persistence = false;
    let clock = Arc::new(SimClock::new(1_700_000_000_000));
    let db = Db::open_with("unused", config, None, clock.clone()).expect("open");
    for index in 0..1_000u32 {
        db.set_with_ttl(&index.to_le_bytes(), b"short-lived", Duration::from_secs(1))
            .expect("set");
    }
    db.set(b"stays", b"v").expect("set");
    assert_eq!(db.len(), 1_001);
    clock.advance(Duration::from_secs(2).as_nanos().try_into().expect("fits"));
    for _ in 0..1_000 {
        db.set(b"writer", b"busy").expect("set");
    }
    assert_eq!(db.len(), 2, "only the two persistent keys are left");
    assert_eq!(db.get(b"stays").as_deref(), Some(&b"v"[..]));
}

/// A key whose first expiry has passed by the time of recovery is still there if a later record extended or removed
/// that expiry, whether the first expiry came from the log or from a snapshot. (A
/// regression test: an extended expiry was logged as an `ExpireAt` alone, which replay
/// could not apply once the key's first record had expired, so PEXPIRE after a short
/// SET ... PX was lost across a restart.)
#[test]
fn recovery_keeps_keys_whose_expiry_a_later_record_changed() {
    use floe_core::codec::resp::SliceSink;
    use floe_core::command::Session;

    let run = |db: &Db, args: &[&[u8]]| -> Vec<u8> {
        let mut buffer = [0u8; 256];
        let mut reply = SliceSink::new(&mut buffer);
        let mut session = Session::new(1);
        let applied = db
            .apply(&db.prepare(args), &mut session, &mut reply)
            .expect("apply");
        db.settle(applied.durability).expect("settle");
        reply.written().to_vec()
    };
    for backend in common::backends() {
        let dir = common::TempDir::new("expiry-revived");
        let clock = Arc::new(SimClock::new(1_700_000_000_000));
        let open = || {
            let config = common::config(backend, FsyncPolicy::Always);
            let storage = Arc::new(common::FaultStorage::over(backend));
            Db::open_with(dir.path(), config, Some(storage), clock.clone()).expect("open")
        };
        {
            let db = open();
            // In the snapshot with a short expiry, changed after it.
            assert_eq!(
                run(&db, &[b"SET", b"snap-persist", b"1", b"PX", b"1000"]),
                b"+OK\r\n"
            );
            assert_eq!(
                run(&db, &[b"SET", b"snap-extend", b"2", b"PX", b"1000"]),
                b"+OK\r\n"
            );
            assert_eq!(
                run(&db, &[b"SET", b"snap-gone", b"3", b"PX", b"1000"]),
                b"+OK\r\n"
            );
            db.save().expect("save");
            assert_eq!(run(&db, &[b"PERSIST", b"snap-persist"]), b":1\r\n");
            assert_eq!(
                run(&db, &[b"PEXPIRE", b"snap-extend", b"100000"]),
                b":1\r\n"
            );
            // Only in the log.
            assert_eq!(
                run(&db, &[b"SET", b"log-persist", b"4", b"PX", b"1000"]),
                b"+OK\r\n"
            );
            assert_eq!(run(&db, &[b"PERSIST", b"log-persist"]), b":1\r\n");
            assert_eq!(
                run(&db, &[b"SET", b"log-extend", b"5", b"PX", b"1000"]),
                b"+OK\r\n"
            );
            assert_eq!(run(&db, &[b"PEXPIRE", b"log-extend", b"100000"]), b":1\r\n");
            assert_eq!(
                run(&db, &[b"SET", b"log-gone", b"6", b"PX", b"1000"]),
                b"+OK\r\n"
            );
            db.close().expect("close");
        }
        clock.advance(Duration::from_secs(5).as_nanos().try_into().expect("fits"));
        let db = open();
        assert_eq!(db.get(b"snap-persist").as_deref(), Some(&b"1"[..]));
        assert_eq!(db.get(b"snap-extend").as_deref(), Some(&b"2"[..]));
        assert_eq!(db.get(b"snap-gone"), None);
        assert_eq!(db.get(b"log-persist").as_deref(), Some(&b"4"[..]));
        assert_eq!(db.get(b"log-extend").as_deref(), Some(&b"5"[..]));
        assert_eq!(db.get(b"log-gone"), None);
        assert_eq!(run(&db, &[b"TTL", b"snap-persist"]), b":-1\r\n");
        assert_eq!(run(&db, &[b"TTL", b"log-persist"]), b":-1\r\n");
        assert_eq!(run(&db, &[b"PTTL", b"log-extend"]), b":95000\r\n");
        assert_eq!(db.len(), 4, "the expired keys are gone once read or swept");
    }
}
