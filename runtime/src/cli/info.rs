//! The answers the CLI gives itself for commands the store cannot: `INFO` (Redis's
//! `# Section` / `key:value` text, from the [`Db`]'s statistics) and `CONFIG GET` (the
//! settings floe runs with).
//!
//! Invariants: every field name is Redis's where Redis has the same quantity, and starts
//! with `floe_` where it is floe's own; a section Redis has and floe cannot fill is left out
//! rather than filled with made-up numbers.

use std::fmt::Write as _;
use std::time::Instant;

use floe_core::command::REDIS_VERSION;
use floe_core::constants::DATABASE_COUNT;
use floe_core::glob::glob_match;

use super::Settings;
use crate::db::{Db, DbStats};

/// Sections `INFO` prints with no argument, `default`, `all` or `everything`, in order.
const SECTIONS: [&str; 6] = [
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "keyspace",
];

/// What the CLI counts itself.
#[derive(Debug, Clone, Copy)]
pub(super) struct Counters {
    /// When the CLI started.
    pub started: Instant,
    /// Commands run through the command table.
    pub command_count: u64,
}

/// The text of `INFO` for the requested sections (none: all of them), with `\r\n` line
/// ends and a blank line between sections, as Redis writes it.
pub(super) fn info_text(
    db: &Db,
    settings: &Settings,
    counters: &Counters,
    requested: &[&[u8]],
) -> String {
    let everything = requested.is_empty()
        || requested.iter().any(|name| {
            ["all", "default", "everything"]
                .iter()
                .any(|word| name.eq_ignore_ascii_case(word.as_bytes()))
        });
    let stats = db.stats();
    let mut sections = Vec::new();
    for section in SECTIONS {
        let wanted = everything
            || requested
                .iter()
                .any(|name| name.eq_ignore_ascii_case(section.as_bytes()));
        if !wanted {
            continue;
        }
        let mut text = String::new();
        match section {
            "server" => server(&mut text, counters),
            "clients" => field(&mut text, "connected_clients", 1),
            "memory" => memory(&mut text, settings, &stats),
            "persistence" => persistence(&mut text, db, settings, &stats),
            "stats" => stats_section(&mut text, counters, &stats),
            _ => keyspace(&mut text, db),
        }
        let mut title = section.to_owned();
        title[..1].make_ascii_uppercase();
        sections.push(format!("# {title}\r\n{text}"));
    }
    sections.join("\r\n")
}

fn server(text: &mut String, counters: &Counters) {
    let uptime = counters.started.elapsed().as_secs();
    field(text, "redis_version", REDIS_VERSION);
    field(text, "floe_version", env!("CARGO_PKG_VERSION"));
    field(text, "redis_mode", "standalone");
    field(
        text,
        "os",
        format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
    );
    field(text, "arch_bits", usize::BITS);
    field(text, "process_id", std::process::id());
    field(text, "uptime_in_seconds", uptime);
    field(text, "uptime_in_days", uptime / 86_400);
    field(text, "config_file", "");
}

fn memory(text: &mut String, settings: &Settings, stats: &DbStats) {
    let store = &stats.store;
    field(text, "used_memory", store.memory_used_size);
    field(text, "used_memory_human", human(store.memory_used_size));
    field(text, "used_memory_dataset", store.memory_live_size);
    field(text, "maxmemory", settings.memory_size);
    field(text, "maxmemory_human", human(settings.memory_size));
    field(text, "maxmemory_policy", settings.policy.name());
    field(text, "floe_memory_limit", store.memory_limit_size);
    field(text, "floe_max_keys", settings.keys_max);
}

fn persistence(text: &mut String, db: &Db, settings: &Settings, stats: &DbStats) {
    field(text, "loading", 0);
    field(text, "aof_enabled", u8::from(settings.persistence));
    field(text, "floe_fsync", settings.fsync);
    field(text, "floe_io", settings.backend);
    field(text, "rdb_saves", stats.snapshot_count);
    field(text, "floe_lsn_last", stats.lsn_last);
    field(
        text,
        "floe_log_size_since_snapshot",
        stats.log_size_since_snapshot,
    );
    if let Some(log) = &stats.log {
        field(text, "floe_log_appends", log.append_count);
        field(text, "floe_log_records", log.record_count);
        field(text, "floe_log_writes", log.write_count);
        field(text, "floe_log_syncs", log.sync_count);
        field(text, "floe_log_bytes", log.byte_count);
        field(text, "floe_log_segments_created", log.segment_count);
    }
    if let Some(report) = db.recovery() {
        field(
            text,
            "floe_recovered_snapshot_lsn",
            report.snapshot.as_ref().map_or(0, |snapshot| snapshot.lsn),
        );
        field(
            text,
            "floe_recovered_records",
            report.record_count + report.intent_count,
        );
        field(text, "floe_recovered_groups", report.group_count);
        field(text, "floe_recovered_torn_tails", report.cuts.len());
        field(text, "floe_recovery_ms", report.duration.as_millis());
    }
}

fn stats_section(text: &mut String, counters: &Counters, stats: &DbStats) {
    let store = &stats.store;
    field(text, "total_connections_received", 1);
    field(text, "total_commands_processed", counters.command_count);
    field(text, "keyspace_hits", store.hits);
    field(text, "keyspace_misses", store.misses);
    field(text, "expired_keys", store.expired);
    field(text, "evicted_keys", store.evicted);
    field(text, "floe_segments_cleaned", store.segments_cleaned);
    field(text, "floe_segments_evicted", store.segments_evicted);
}

/// `db<N>:keys=<count>` for every database holding keys. The count is read through the
/// command hook, which refuses once the log failed; the section is empty then.
fn keyspace(text: &mut String, db: &Db) {
    let counts = db.execute_with(|store, _, _| {
        let mut counts = [0_usize; DATABASE_COUNT as usize];
        for (index, count) in (0..DATABASE_COUNT).zip(counts.iter_mut()) {
            *count = store.db_len(index);
        }
        counts
    });
    if let Ok(counts) = counts {
        for (index, count) in counts.iter().enumerate() {
            if *count > 0 {
                field(text, &format!("db{index}"), format!("keys={count}"));
            }
        }
    }
}

fn field(text: &mut String, name: &str, value: impl std::fmt::Display) {
    // Writing to a String cannot fail.
    let _ = write!(text, "{name}:{value}\r\n");
}

/// Bytes as Redis's `*_human` fields show them: `1.50M`.
#[expect(
    clippy::cast_precision_loss,
    reason = "two decimals of a size; the precision lost is far below them"
)]
pub(super) fn human(size: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1 << 40, "T"),
        (1 << 30, "G"),
        (1 << 20, "M"),
        (1 << 10, "K"),
    ];
    for (unit, suffix) in UNITS {
        if size >= unit {
            return format!("{:.2}{suffix}", size as f64 / unit as f64);
        }
    }
    format!("{size}B")
}

/// The settings `CONFIG GET` reports, by name: Redis's names where Redis has the setting.
pub(super) fn config_entries(db: &Db, settings: &Settings) -> Vec<(&'static str, String)> {
    let store = &db.config().store;
    vec![
        ("dir", settings.dir.display().to_string()),
        ("maxmemory", settings.memory_size.to_string()),
        ("maxmemory-policy", settings.policy.name().to_owned()),
        ("max-keys", settings.keys_max.to_string()),
        (
            "appendonly",
            if settings.persistence { "yes" } else { "no" }.to_owned(),
        ),
        ("appendfsync", settings.fsync.to_string()),
        ("io", settings.backend.to_string()),
        ("databases", DATABASE_COUNT.to_string()),
        ("key-size-max", store.key_size_max.to_string()),
        ("value-size-max", store.value_size_max.to_string()),
    ]
}

/// The entries matching any of `patterns` (Redis globs, case-insensitive), each once, in
/// the order of [`config_entries`].
pub(super) fn config_matching(
    entries: Vec<(&'static str, String)>,
    patterns: &[&[u8]],
) -> Vec<(&'static str, String)> {
    let patterns: Vec<Vec<u8>> = patterns
        .iter()
        .map(|pattern| pattern.to_ascii_lowercase())
        .collect();
    entries
        .into_iter()
        .filter(|(name, _)| {
            patterns
                .iter()
                .any(|pattern| glob_match(pattern, name.as_bytes()))
        })
        .collect()
}
