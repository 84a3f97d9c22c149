//! `floe check` and recovery end to end, on data directories written by the real binary:
//! a clean directory passes (exit 0); a flipped bit in the middle of a log is reported with
//! its file and offset, refused at start, and cut by `--repair`, which says what it
//! dropped; a torn tail left after a SIGKILL is cut and reported on restart.

mod common;

use std::fs;
use std::path::Path;

use common::{Live, run, scratch, segments, session};

/// `count` SET lines, one record each.
fn sets(count: usize) -> String {
    (0..count)
        .map(|index| format!("SET key{index:04} value-{index:04}\n"))
        .collect()
}

fn check(dir: &Path, repair: bool) -> common::Run {
    let dir = dir.to_str().expect("UTF-8");
    if repair {
        run(&["check", "--repair", dir], "")
    } else {
        run(&["check", dir], "")
    }
}

#[test]
fn a_clean_dir_checks_clean() {
    let dir = scratch("check-clean").join("data");
    let written = session(&dir, &["--fsync", "no"], &sets(20));
    assert_eq!(written.stdout.lines().count(), 20);
    let checked = check(&dir, false);
    assert_eq!(checked.code(), Some(0), "{checked:?}");
    assert!(checked.stdout.contains("20 records"), "{}", checked.stdout);
    assert!(
        checked.stdout.ends_with("result: clean\n"),
        "{}",
        checked.stdout
    );
    // The global --dir names the directory when none is given.
    let by_option = run(&["--dir", dir.to_str().expect("UTF-8"), "check"], "");
    assert_eq!(by_option.code(), Some(0), "{by_option:?}");
}

#[test]
fn a_missing_dir_is_an_error() {
    let dir = scratch("check-missing").join("nothing-here");
    let checked = check(&dir, false);
    assert_eq!(checked.code(), Some(2), "{checked:?}");
    assert!(
        checked.stderr.contains("nothing-here"),
        "{}",
        checked.stderr
    );
}

#[test]
fn a_flipped_bit_is_found_refused_and_repaired() {
    let dir = scratch("check-bitflip").join("data");
    let written = session(&dir, &["--fsync", "no"], &sets(200));
    assert_eq!(written.stdout.lines().count(), 200);
    let segments = segments(&dir);
    assert_eq!(segments.len(), 1, "{segments:?}");
    let segment = &segments[0];
    let name = segment
        .file_name()
        .and_then(|name| name.to_str())
        .expect("a segment name")
        .to_owned();
    let mut bytes = fs::read(segment).expect("read the segment");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    fs::write(segment, &bytes).expect("write the damaged segment");

    let checked = check(&dir, false);
    assert_eq!(checked.code(), Some(1), "{checked:?}");
    assert!(
        checked.stdout.contains(&name) && checked.stdout.contains("CORRUPT at offset "),
        "{}",
        checked.stdout
    );
    assert!(checked.stdout.ends_with("result: PROBLEMS FOUND\n"));

    // Opening refuses, naming the file and offset and pointing at the repair.
    let refused = session(&dir, &[], "GET key0000\n");
    assert_eq!(refused.code(), Some(1), "{refused:?}");
    assert!(refused.stdout.is_empty());
    for expected in [name.as_str(), "at offset ", "floe check --repair"] {
        assert!(
            refused.stderr.contains(expected),
            "{expected}: {}",
            refused.stderr
        );
    }

    let repaired = check(&dir, true);
    assert_eq!(repaired.code(), Some(0), "{repaired:?}");
    let report = &repaired.stdout;
    assert!(
        report.contains(&format!("cut {name} at offset ")) && report.contains("dropped "),
        "{report}"
    );
    assert!(report.ends_with("result: repaired\n"), "{report}");
    assert!(dir.join(format!("{name}.dropped")).exists());

    // What came before the damage is back; what came after was dropped, as reported.
    let reopened = session(&dir, &[], "GET key0000\nGET key0199\nDBSIZE\n");
    assert_eq!(reopened.code(), Some(0), "{reopened:?}");
    let lines: Vec<&str> = reopened.stdout.lines().collect();
    assert_eq!(lines[..2], ["\"value-0000\"", "(nil)"]);
    let kept: usize = lines[2]
        .strip_prefix("(integer) ")
        .and_then(|count| count.parse().ok())
        .expect("DBSIZE");
    assert!((50..150).contains(&kept), "kept={kept}");
    assert_eq!(check(&dir, false).code(), Some(0));
}

/// A SIGKILL during a write can leave a record half on disk (the rest of the write never
/// reached the device). The test kills floe, then cuts the last record short as such a
/// crash would; the restart cuts the torn tail, says so on stderr, and keeps the rest.
#[test]
fn a_torn_tail_after_sigkill_is_cut_and_reported() {
    let scratch = scratch("check-torn");
    let dir = scratch.join("data");
    let mut live = Live::start(&dir, &["--fsync", "always"], &scratch.join("stderr"));
    for index in 0..50 {
        live.send(&format!("SET key{index:04} value-{index:04}"));
        assert_eq!(live.line().as_deref(), Some("OK"));
    }
    live.kill();
    let segment = segments(&dir).pop().expect("a segment");
    let size = fs::metadata(&segment).expect("stat").len();
    let file = fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .expect("open the segment");
    file.set_len(size - 5).expect("tear the last record");
    drop(file);

    let checked = check(&dir, false);
    assert_eq!(checked.code(), Some(1), "{checked:?}");
    assert!(checked.stdout.contains("TORN TAIL"), "{}", checked.stdout);

    let restarted = session(&dir, &[], "DBSIZE\nGET key0048\nGET key0049\n");
    assert_eq!(restarted.code(), Some(0), "{restarted:?}");
    assert_eq!(restarted.stdout, "(integer) 49\n\"value-0048\"\n(nil)\n");
    let name = segment
        .file_name()
        .and_then(|name| name.to_str())
        .expect("a name");
    assert!(
        restarted.stderr.contains("cut a torn tail off") && restarted.stderr.contains(name),
        "{}",
        restarted.stderr
    );
    assert_eq!(check(&dir, false).code(), Some(0));
}
