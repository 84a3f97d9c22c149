//! Unit tests of the simulated disk: the two images, crash resolution, and each fault.

use super::*;
use crate::io::Storage;

fn dir() -> PathBuf {
    PathBuf::from("/data")
}

fn disk(faults: FaultConfig) -> SimDisk {
    let disk = SimDisk::new(7, faults, None);
    disk.create_dir_all(&dir()).unwrap();
    disk.sync_dir(Path::new("/")).unwrap();
    disk
}

#[test]
fn synced_bytes_survive_a_crash_and_unsynced_names_do_not() {
    let disk = disk(FaultConfig::none());
    let path = dir().join("a");
    let mut file = disk.open_append(&path).unwrap();
    file.write_at(0, b"hello").unwrap();
    file.sync_data().unwrap();
    disk.sync_dir(&dir()).unwrap();
    file.write_at(5, b" world").unwrap();
    assert_eq!(disk.read(&path).unwrap(), b"hello world");
    let unsynced = dir().join("b");
    drop(disk.open_append(&unsynced).unwrap());
    drop(file);
    disk.restart();
    let after = disk.read(&path).unwrap();
    assert!(after == b"hello" || after == b"hello world", "{after:?}");
    assert!(disk.read(&unsynced).is_err());
    assert_eq!(disk.list(&dir()).unwrap(), vec!["a".to_owned()]);
}

#[test]
fn a_crashed_disk_refuses_everything_until_restart() {
    let disk = disk(FaultConfig::none());
    let path = dir().join("a");
    let mut file = disk.open_append(&path).unwrap();
    disk.crash();
    assert!(file.write_at(0, b"x").is_err());
    assert!(file.sync_data().is_err());
    assert!(disk.read(&path).is_err());
    drop(file);
    disk.restart();
    // The name was never synced: gone.
    assert!(disk.read(&path).is_err());
    assert_eq!(disk.fault_counts().get(FaultKind::Crash), 1);
}

#[test]
fn handles_of_a_dead_process_fail_and_locks_must_be_dropped() {
    let disk = disk(FaultConfig::none());
    let lock = disk.lock_dir(&dir()).unwrap();
    assert!(matches!(disk.lock_dir(&dir()), Err(Error::Locked { .. })));
    let mut file = disk.open_append(&dir().join("a")).unwrap();
    disk.crash();
    drop(lock);
    disk.restart();
    assert!(file.write_at(0, b"x").is_err());
    let _again = disk.lock_dir(&dir()).unwrap();
}

#[test]
fn torn_writes_keep_a_sector_prefix() {
    let faults = FaultConfig {
        torn_write_probability: 1.0,
        sector_size: 4,
        ..FaultConfig::none()
    };
    let mut lengths = BTreeSet::new();
    for seed in 0..64 {
        let disk = SimDisk::new(seed, faults.clone(), None);
        disk.create_dir_all(&dir()).unwrap();
        disk.sync_dir(Path::new("/")).unwrap();
        let path = dir().join("a");
        let mut file = disk.open_append(&path).unwrap();
        disk.sync_dir(&dir()).unwrap();
        file.write_at(0, b"0123456789").unwrap();
        drop(file);
        disk.restart();
        let bytes = disk.read(&path).unwrap();
        assert!(
            bytes.len().is_multiple_of(4) || bytes.len() == 10,
            "{}",
            bytes.len()
        );
        assert_eq!(&b"0123456789"[..bytes.len()], &bytes[..]);
        lengths.insert(bytes.len());
    }
    assert!(lengths.len() >= 3, "{lengths:?}");
}

#[test]
fn bit_flips_lost_and_misdirected_writes_reach_only_the_media() {
    for (faults, kind) in [
        (
            FaultConfig {
                bit_flip_probability: 1.0,
                ..FaultConfig::none()
            },
            FaultKind::BitFlip,
        ),
        (
            FaultConfig {
                lost_write_probability: 1.0,
                ..FaultConfig::none()
            },
            FaultKind::LostWrite,
        ),
        (
            FaultConfig {
                misdirected_write_probability: 1.0,
                sector_size: 8,
                ..FaultConfig::none()
            },
            FaultKind::MisdirectedWrite,
        ),
    ] {
        let disk = disk(faults);
        let path = dir().join("a");
        let mut file = disk.open_append(&path).unwrap();
        disk.sync_dir(&dir()).unwrap();
        let data = vec![0xAB; 64];
        file.write_at(0, &data).unwrap();
        // The page cache shows what was written.
        assert_eq!(disk.read(&path).unwrap(), data);
        file.sync_data().unwrap();
        drop(file);
        disk.restart();
        let after = disk.read(&path).unwrap();
        assert_ne!(after, data, "{kind:?}");
        let damage = disk.take_damage();
        assert_eq!(damage.len(), 1, "{damage:?}");
        assert_eq!(damage[0].kind, kind);
        assert_eq!(disk.fault_counts().get(kind), 1);
    }
}

#[test]
fn a_failed_sync_is_never_made_good_by_a_later_one() {
    let faults = FaultConfig {
        sync_error_probability: 1.0,
        ..FaultConfig::none()
    };
    let disk = disk(FaultConfig::none());
    let path = dir().join("a");
    let mut file = disk.open_append(&path).unwrap();
    disk.sync_dir(&dir()).unwrap();
    let mut dropped = 0;
    for round in 0..32u8 {
        disk.set_faults(faults.clone());
        let offset = u64::from(round) * 1024;
        file.write_at(offset, &[round + 1; 1024]).unwrap();
        assert!(file.sync_data().is_err());
        disk.set_faults(FaultConfig::none());
        file.sync_data().unwrap(); // "Succeeds", but does not write the lost pages.
        let durable = disk.durable_image(&path).unwrap();
        let start = usize::from(round) * 1024;
        if durable.len() < start + 1024 || durable[start..start + 1024] != [round + 1; 1024] {
            dropped += 1;
        }
    }
    assert!(dropped > 0, "some failed syncs must lose data");
}

#[test]
fn error_faults_return_the_right_errno() {
    let faults = FaultConfig {
        no_space_probability: 1.0,
        ..FaultConfig::none()
    };
    let disk = disk(FaultConfig::none());
    let path = dir().join("a");
    let mut file = disk.open_append(&path).unwrap();
    disk.set_faults(faults);
    let error = file.write_at(0, b"abc").unwrap_err();
    assert_eq!(
        error.io_error().map(io::Error::kind),
        Some(io::ErrorKind::StorageFull)
    );
    disk.set_faults(FaultConfig {
        permission_error_probability: 1.0,
        ..FaultConfig::none()
    });
    let error = disk.open_append(&dir().join("b")).unwrap_err();
    assert_eq!(
        error.io_error().map(io::Error::kind),
        Some(io::ErrorKind::PermissionDenied)
    );
    disk.set_faults(FaultConfig {
        read_error_probability: 1.0,
        ..FaultConfig::none()
    });
    assert!(disk.read(&path).is_err());
    disk.set_faults_enabled(false);
    assert!(disk.read(&path).is_ok());
}

#[test]
fn same_seed_same_trace() {
    let run = |seed| {
        let faults = FaultConfig {
            crash_probability: 0.01,
            torn_write_probability: 0.5,
            bit_flip_probability: 0.05,
            write_error_probability: 0.02,
            ..FaultConfig::none()
        };
        let disk = SimDisk::new(seed, faults, None);
        for round in 0..200u64 {
            let _ignored = disk.create_dir_all(&dir()); // Errors are part of the trace.
            let path = dir().join(format!("f{}", round % 3));
            if let Ok(mut file) = disk.open_append(&path) {
                let _ignored = file.write_at(round * 8, &round.to_le_bytes());
                let _ignored = file.sync_data();
            }
            let _ignored = disk.sync_dir(&dir());
            if disk.crashed() {
                disk.restart();
            }
        }
        (disk.trace_hash(), disk.fault_counts())
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1).0, run(2).0);
}

#[test]
fn truncate_is_durable_and_rename_needs_a_directory_sync() {
    let disk = disk(FaultConfig::none());
    let temp = dir().join("snap.tmp");
    let target = dir().join("snap");
    let mut file = disk.open_append(&temp).unwrap();
    file.write_at(0, b"0123456789").unwrap();
    file.sync_data().unwrap();
    disk.sync_dir(&dir()).unwrap();
    disk.truncate(&temp, 4).unwrap();
    disk.rename(&temp, &target).unwrap();
    drop(file);
    disk.restart();
    // The rename was not synced: the old name is back, with the durable cut.
    assert_eq!(disk.read(&temp).unwrap(), b"0123");
    assert!(disk.read(&target).is_err());
    disk.rename(&temp, &target).unwrap();
    disk.sync_dir(&dir()).unwrap();
    disk.restart();
    assert_eq!(disk.read(&target).unwrap(), b"0123");
    assert_eq!(disk.list(&dir()).unwrap(), vec!["snap".to_owned()]);
}
