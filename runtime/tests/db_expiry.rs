//! Active expiry in the `Db`: expired keys leave memory as writes go on, even if nobody
//! reads them (a regression test: the Db once ran no active expiry at all, so expired keys
//! that were never read again held their memory until eviction swept them). Time is the
//! simulator's virtual clock, so the test does not depend on how fast the machine is.

use std::sync::Arc;
use std::time::Duration;

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
