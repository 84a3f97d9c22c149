//! `INFO`: Redis's `# Section` / `name:value` text, from the [`Db`](crate::Db)'s statistics,
//! the doors' counters and the process.
//!
//! Invariants: every field name is Redis's where Redis has the same quantity, and starts
//! with `floe_` where it is floe's own; a section Redis has and floe cannot fill is left out
//! rather than filled with made-up numbers. Lines end in `\r\n`, sections are separated by
//! a blank line, as Redis writes them.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use floe_core::command::{COMMANDS, REDIS_VERSION};

use super::Admin;
use crate::config::human;
use crate::db::DbStats;

/// Sections `INFO` prints with no argument, `default`, `all` or `everything`, in order.
const SECTIONS: [&str; 11] = [
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "commandstats",
    "errorstats",
    "cluster",
    "keyspace",
];

/// Sections `INFO` with no argument leaves out (as Redis does).
const SECTIONS_NOT_DEFAULT: [&str; 2] = ["commandstats", "errorstats"];

/// The text of `INFO` for the requested sections.
#[must_use]
pub fn info_text(admin: &Admin, requested: &[&[u8]]) -> String {
    let asked = |word: &str| {
        requested
            .iter()
            .any(|name| name.eq_ignore_ascii_case(word.as_bytes()))
    };
    let everything = asked("all") || asked("everything");
    let default = requested.is_empty() || asked("default");
    let stats = admin.db.stats();
    let mut sections = Vec::new();
    for section in SECTIONS {
        let wanted =
            everything || (default && !SECTIONS_NOT_DEFAULT.contains(&section)) || asked(section);
        if !wanted {
            continue;
        }
        let mut text = String::new();
        match section {
            "server" => server(&mut text, admin),
            "clients" => clients(&mut text, admin),
            "memory" => memory(&mut text, admin, &stats),
            "persistence" => persistence(&mut text, admin, &stats),
            "stats" => stats_section(&mut text, admin, &stats),
            "replication" => {
                admin
                    .replication
                    .info(&admin.db, admin.settings().replica_priority, &mut text)
            }
            "cpu" => cpu(&mut text),
            "commandstats" => commandstats(&mut text, admin),
            "errorstats" => errorstats(&mut text, admin),
            "cluster" => field(
                &mut text,
                "cluster_enabled",
                if admin.cluster().is_some() { "1" } else { "0" },
            ),
            _ => keyspace(&mut text, admin),
        }
        let mut title = section.to_owned();
        title[..1].make_ascii_uppercase();
        sections.push(format!("# {title}\r\n{text}"));
    }
    sections.join("\r\n")
}

fn server(text: &mut String, admin: &Admin) {
    let settings = admin.settings();
    let uptime = admin.started.elapsed().as_secs();
    field(text, "redis_version", REDIS_VERSION);
    field(text, "floe_version", env!("CARGO_PKG_VERSION"));
    let mode = if admin.cluster().is_some() {
        "cluster"
    } else {
        "standalone"
    };
    field(text, "redis_mode", mode);
    field(
        text,
        "os",
        format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
    );
    field(text, "arch_bits", usize::BITS);
    field(text, "multiplexing_api", admin.io());
    field(text, "process_id", std::process::id());
    // New at every start, as Redis's: Sentinel tells a restart by it.
    field(text, "run_id", admin.replication.run_id());
    field(text, "floe_mode", admin.mode);
    field(text, "floe_shards", admin.db.shard_count());
    field(text, "tcp_port", settings.port);
    field(text, "uptime_in_seconds", uptime);
    field(text, "uptime_in_days", uptime / 86_400);
    field(
        text,
        "config_file",
        admin
            .config_file
            .as_ref()
            .map(|path| path.display().to_string())
            .unwrap_or_default(),
    );
}

fn clients(text: &mut String, admin: &Admin) {
    let settings = admin.settings();
    field(
        text,
        "connected_clients",
        admin.clients.load(Ordering::Relaxed),
    );
    field(text, "maxclients", settings.clients_max);
    field(
        text,
        "blocked_clients",
        admin.blocked_clients.load(Ordering::Relaxed),
    );
}

fn memory(text: &mut String, admin: &Admin, stats: &DbStats) {
    let settings = admin.settings();
    let store = &stats.store;
    // Item memory (arena) plus the prefix index's heap: everything the keyspace holds.
    let used = store.memory_used_size + store.prefix_index_size;
    field(text, "used_memory", used);
    field(text, "used_memory_human", human(used));
    if let Some(rss) = resident_size() {
        field(text, "used_memory_rss", rss);
        field(text, "used_memory_rss_human", human(rss));
    }
    field(text, "used_memory_dataset", store.memory_live_size);
    field(text, "maxmemory", settings.memory_size);
    field(text, "maxmemory_human", human(settings.memory_size));
    field(text, "maxmemory_policy", settings.policy.name());
    field(text, "floe_memory_limit", store.memory_limit_size);
    field(text, "floe_max_keys", settings.keys_max);
    field(
        text,
        "prefix_index",
        crate::config::show_prefix_index(settings.prefix_index),
    );
    field(text, "prefix_index_bytes", store.prefix_index_size);
    field(text, "prefix_index_keys", store.prefix_index_keys);
    let per_key = store
        .prefix_index_size
        .checked_div(store.prefix_index_keys)
        .unwrap_or(0);
    field(text, "prefix_index_bytes_per_key", per_key);
}

fn persistence(text: &mut String, admin: &Admin, stats: &DbStats) {
    let settings = admin.settings();
    let db = &admin.db;
    field(text, "loading", 0);
    field(text, "aof_enabled", u8::from(settings.persistence));
    field(text, "rdb_last_save_time", admin.last_save());
    field(text, "rdb_saves", stats.snapshot_count);
    let refused = db.write_refusal();
    field(
        text,
        "aof_last_write_status",
        if refused.is_some() { "err" } else { "ok" },
    );
    if let Some(reason) = refused {
        field(
            text,
            "floe_writes_refused",
            reason.replace(['\r', '\n'], " "),
        );
    }
    field(text, "floe_fsync", settings.fsync);
    field(text, "floe_io", settings.backend);
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

/// One of a door's counters.
type DoorCounter = fn(&super::DoorStats) -> &AtomicU64;

fn stats_section(text: &mut String, admin: &Admin, stats: &DbStats) {
    let store = &stats.store;
    let doors = admin.doors();
    let counters: [(&str, DoorCounter); 6] = [
        ("total_connections_received", |door| &door.connection_count),
        ("total_commands_processed", |door| &door.command_count),
        ("total_net_input_bytes", |door| &door.input_size),
        ("total_net_output_bytes", |door| &door.output_size),
        ("rejected_connections", |door| &door.rejected_count),
        ("acl_access_denied_auth", |door| &door.auth_failed_count),
    ];
    for (name, counter) in counters {
        let total: u64 = doors
            .iter()
            .map(|door| counter(door).load(Ordering::Relaxed))
            .sum();
        field(text, name, total);
    }
    field(text, "expired_keys", store.expired);
    field(text, "evicted_keys", store.evicted);
    field(text, "keyspace_hits", store.hits);
    field(text, "keyspace_misses", store.misses);
    let [channels, patterns, shard_channels] = &admin.pubsub_counts;
    field(text, "pubsub_channels", channels.load(Ordering::Relaxed));
    field(text, "pubsub_patterns", patterns.load(Ordering::Relaxed));
    field(
        text,
        "pubsubshard_channels",
        shard_channels.load(Ordering::Relaxed),
    );
    field(text, "floe_segments_cleaned", store.segments_cleaned);
    field(text, "floe_segments_evicted", store.segments_evicted);
}

fn cpu(text: &mut String) {
    if let Some((user, system)) = cpu_seconds() {
        field(text, "used_cpu_sys", format!("{system:.6}"));
        field(text, "used_cpu_user", format!("{user:.6}"));
    }
}

fn commandstats(text: &mut String, admin: &Admin) {
    let doors = admin.doors();
    for (index, spec) in COMMANDS.iter().enumerate() {
        let (mut calls, mut micros, mut failed) = (0_u64, 0_u64, 0_u64);
        for door in doors.iter() {
            if let Some(counters) = door.commands.get(index) {
                calls += counters.calls.load(Ordering::Relaxed);
                micros += counters.micros.load(Ordering::Relaxed);
                failed += counters.failed.load(Ordering::Relaxed);
            }
        }
        if calls == 0 {
            continue;
        }
        // NOTE: display only.
        #[expect(clippy::cast_precision_loss, reason = "a rounded average")]
        let per_call = micros as f64 / calls as f64;
        field(
            text,
            &format!("cmdstat_{}", spec.name()),
            format!(
                "calls={calls},usec={micros},usec_per_call={per_call:.2},rejected_calls=0,\
                 failed_calls={failed}"
            ),
        );
    }
}

fn errorstats(text: &mut String, admin: &Admin) {
    let mut totals = std::collections::BTreeMap::<String, u64>::new();
    for door in admin.doors().iter() {
        for (code, count) in super::lock(&door.errors).iter() {
            *totals.entry(code.clone()).or_insert(0) += count;
        }
    }
    for (code, count) in totals {
        field(text, &format!("errorstat_{code}"), format!("count={count}"));
    }
}

/// `db<N>:keys=<count>` for every database holding keys. Redis adds `expires` and
/// `avg_ttl`; floe does not count keys with an expiry per database, and leaves them out
/// rather than print made-up numbers (clients parse the fields by name).
fn keyspace(text: &mut String, admin: &Admin) {
    for (index, count) in admin.db.db_sizes().iter().enumerate() {
        if *count > 0 {
            field(text, &format!("db{index}"), format!("keys={count}"));
        }
    }
}

fn field(text: &mut String, name: &str, value: impl std::fmt::Display) {
    // Writing to a String cannot fail.
    let _ = write!(text, "{name}:{value}\r\n");
}

/// Resident set size of this process in bytes, from `/proc/self/statm`.
fn resident_size() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// User and system CPU seconds of this process, from `/proc/self/stat` (clock ticks of
/// 1/100 s, the kernel's USER_HZ on Linux).
fn cpu_seconds() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let mut fields = rest.split_whitespace();
    let user: f64 = fields.nth(11)?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user / 100.0, system / 100.0))
}
