//! Tests of recovery's windowed log reads: a window of any size judges a segment as a scan
//! of the whole file does.

use super::*;
use crate::db::{Db, DbConfig};
use crate::io::{Backend, SystemClock};
use crate::log::FsyncPolicy;

/// What a run found, as text to compare: the report's counts and cuts, or the refusal.
fn outcome(storage: &dyn Storage, dir: &Path, window_size: u64) -> String {
    let clock = SystemClock::new();
    let mut replay = NoReplay { now: 0 };
    let options = Options {
        load: false,
        change: false,
        progress: false,
    };
    match run_windowed(storage, &clock, dir, &mut replay, options, window_size) {
        Ok(report) => format!(
            "ok last={} records={} groups={} intents={} cuts={:?}",
            report.lsn_last,
            report.record_count,
            report.group_count,
            report.intent_count,
            report.cuts
        ),
        Err(refusal) => format!("refused {:?}", refusal.into_error()),
    }
}

/// Reading a segment in windows of any size gives the verdict reading it whole gives:
/// the same records, groups and cuts, or the same refusal at the same offset, for cuts
/// and flipped bits all over a log of records and groups.
#[test]
fn windows_of_any_size_judge_as_the_whole_segment() {
    let dir = std::env::temp_dir().join(format!("floe-recovery-windows-{}", std::process::id()));
    let _ignored = std::fs::remove_dir_all(&dir); // A leftover of an earlier run.
    {
        let config = DbConfig {
            backend: Backend::Blocking,
            fsync: FsyncPolicy::No,
            snapshot_log_size: 0,
            ..DbConfig::new(1 << 20, 10_000)
        };
        let db = Db::open(&dir, config).unwrap();
        for index in 0..150u32 {
            let key = format!("key-{index}");
            let value = vec![b'v'; (index % 40) as usize * 7];
            db.set(key.as_bytes(), &value).unwrap();
            if index % 9 == 0 {
                let pairs: [(&[u8], &[u8]); 3] = [(b"g1", b"x"), (b"g2", b"yy"), (b"g3", &value)];
                db.set_many(&pairs).unwrap();
            }
        }
        db.close().unwrap();
    }
    let storage = Backend::Blocking.open().unwrap();
    let listing = Listing::read(&*storage, &dir).unwrap();
    let segment = dir.join(&listing.segments[0].1);
    let original = std::fs::read(&segment).unwrap();
    let mut variants = vec![original.clone()];
    let step = original.len() / 37;
    for cut in (1..original.len()).step_by(step) {
        variants.push(original[..cut].to_vec());
    }
    for offset in (0..original.len()).step_by(step / 2) {
        let mut flipped = original.clone();
        flipped[offset] ^= 0x20;
        variants.push(flipped);
    }
    let mut zero_tail = original.clone();
    zero_tail.resize(original.len() + 300, 0);
    variants.push(zero_tail);
    for bytes in &variants {
        std::fs::write(&segment, bytes).unwrap();
        let whole = outcome(&*storage, &dir, u64::MAX);
        for window_size in [1, 7, 64, 333, 4096] {
            let windowed = outcome(&*storage, &dir, window_size);
            assert_eq!(
                windowed,
                whole,
                "window {window_size}, size {}",
                bytes.len()
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
