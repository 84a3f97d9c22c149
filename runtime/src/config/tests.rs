//! Tests of the settings table (`config.rs`): parsing, the errors that name a setting,
//! and round trips.

use super::*;

#[test]
fn every_default_parses_back_to_itself() {
    let defaults = Settings::default();
    for setting in &SETTINGS {
        let mut parsed = defaults.clone();
        parsed.set(setting.name, &defaults.get(setting)).unwrap();
        assert_eq!(parsed, defaults, "{}", setting.name);
    }
}

#[test]
fn names_are_unique_and_aliases_work() {
    for (index, setting) in SETTINGS.iter().enumerate() {
        assert!(
            SETTINGS[..index]
                .iter()
                .all(|other| other.name != setting.name)
        );
    }
    let mut settings = Settings::default();
    settings.set("fsync", "everysec").unwrap();
    assert_eq!(settings.fsync, FsyncPolicy::Everysec);
    settings.set("PERSISTENCE", "off").unwrap();
    assert!(!settings.persistence);
}

#[test]
fn a_bad_value_changes_nothing_and_says_what_would_do() {
    let mut settings = Settings::default();
    let error = settings.set("maxmemory", "lots").unwrap_err();
    assert!(error.to_string().contains("64mb"), "{error}");
    assert_eq!(settings, Settings::default());
    let error = settings.set("port", "70000").unwrap_err();
    assert!(error.to_string().contains("1 to 65535"), "{error}");
    assert!(matches!(
        settings.set("nope", "1"),
        Err(SetError::Unknown(_))
    ));
    assert_eq!(settings, Settings::default());
}

#[test]
fn running_changes_only_mutable_settings() {
    let mut settings = Settings::default();
    settings.set_running("maxclients", "5").unwrap();
    assert_eq!(settings.clients_max, 5);
    let error = settings.set_running("maxmemory", "1gb").unwrap_err();
    assert_eq!(
        error.config_set_reply(),
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - can't set \
         immutable config"
    );
    let error = settings.set_running("timeout", "-1").unwrap_err();
    assert!(error.config_set_reply().contains("'timeout'"));
}

#[test]
fn config_files_round_trip_and_name_the_bad_line() {
    let dir = std::env::temp_dir().join(format!("floe-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("floe.conf");
    let mut settings = Settings::default();
    settings.set("port", "7001").unwrap();
    settings.set("bind", "127.0.0.1 ::1").unwrap();
    std::fs::write(&path, settings.to_file()).unwrap();
    let mut loaded = Settings::default();
    loaded.load_file(&path).unwrap();
    assert_eq!(loaded, settings);
    std::fs::write(&path, "# comment\n\nport 7002\nmaxmemory nope\n").unwrap();
    let error = Settings::default().load_file(&path).unwrap_err();
    assert!(error.contains("floe.conf:4: maxmemory"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn human_sizes_read_as_redis_writes_them() {
    assert_eq!(human(512), "512B");
    assert_eq!(human(64 << 20), "64.00M");
    assert_eq!(human(3 << 29), "1.50G");
}
