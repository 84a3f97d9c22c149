//! The administrative commands every door shares: INFO, CONFIG GET/SET/RESETSTAT/REWRITE,
//! SAVE/BGSAVE/BGREWRITEAOF/LASTSAVE, SHUTDOWN, SLOWLOG, LATENCY, and the statistics behind
//! them.
//!
//! floe-core's command table hands these back as [`Outcome::Runtime`] (they need files,
//! threads or settings); a door (the stdin CLI, each server worker) passes them to
//! [`Admin::run`], which writes the one reply frame, so every door answers them alike.
//!
//! Statistics are kept per door in a [`DoorStats`] that only its door writes (relaxed
//! atomics, no shared cache line between workers) and INFO sums them. Each statistic INFO
//! shows is described once, in [`info`].
//!
//! Invariants: a failed `CONFIG SET` changes nothing (every pair is checked before any is
//! applied); the settings the hot path reads ([`Limits`]) are published as atomics after
//! the settings changed.

mod info;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use floe_core::codec::resp::{ReplySink, ReplyWriter};
use floe_core::command::{COMMANDS, CommandSpec, RuntimeCommand};
use floe_core::glob::glob_match;

use crate::acl::Acl;
use crate::cluster::Cluster;
use crate::config::{SETTINGS, Settings};
use crate::db::Db;

pub use info::info_text;

/// Buckets of a command's latency histogram: bucket `n` counts calls that took under
/// `2^n` microseconds (the last one, everything slower).
pub const LATENCY_BUCKET_COUNT: usize = 24;

/// What a door does after [`Admin::run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Finish {
    /// The reply is written; carry on.
    Done,
    /// The reply is written (or none is due): shut floe down, flushing the log.
    Shutdown,
}

/// The hot limits, readable without a lock: published from [`Settings`] at start and after
/// every `CONFIG SET`.
#[derive(Debug, Default)]
pub struct Limits {
    /// `maxclients`.
    pub clients_max: AtomicU64,
    /// `timeout`, seconds.
    pub timeout_seconds: AtomicU64,
    /// `proto-max-bulk-len`.
    pub bulk_size_max: AtomicU64,
    /// `client-query-buffer-limit`.
    pub query_buffer_size_max: AtomicU64,
    /// `client-output-buffer-limit`.
    pub output_buffer_size_max: AtomicU64,
    /// `client-output-buffer-limit-pubsub`.
    pub pubsub_output_buffer_size_max: AtomicU64,
    /// `protected-mode` and no `requirepass`.
    pub protected: AtomicBool,
    /// `slowlog-log-slower-than`, microseconds.
    pub slowlog_slower_than_us: AtomicI64,
    /// `http-max-header-size`.
    pub http_header_size_max: AtomicU64,
    /// `http-max-url-size`.
    pub http_url_size_max: AtomicU64,
}

impl Limits {
    fn publish(&self, settings: &Settings) {
        let relaxed = Ordering::Relaxed;
        self.clients_max.store(settings.clients_max, relaxed);
        self.timeout_seconds
            .store(settings.timeout_seconds, relaxed);
        self.bulk_size_max.store(settings.bulk_size_max, relaxed);
        self.query_buffer_size_max
            .store(settings.query_buffer_size_max, relaxed);
        self.output_buffer_size_max
            .store(settings.output_buffer_size_max, relaxed);
        self.pubsub_output_buffer_size_max
            .store(settings.pubsub_output_buffer_size_max, relaxed);
        self.protected.store(
            settings.protected_mode && settings.requirepass.is_empty(),
            relaxed,
        );
        self.slowlog_slower_than_us
            .store(settings.slowlog_slower_than_us, relaxed);
        self.http_header_size_max
            .store(settings.http_header_size_max, relaxed);
        self.http_url_size_max
            .store(settings.http_url_size_max, relaxed);
    }
}

/// The counters of one door (a server worker, or the CLI). Only its door writes them.
#[derive(Debug)]
pub struct DoorStats {
    /// Per command of [`COMMANDS`], by index: calls, microseconds, failed calls.
    commands: Box<[CommandCounters]>,
    /// Error replies by their first word (`ERR`, `WRONGTYPE`, ...); written only on errors.
    errors: Mutex<BTreeMap<String, u64>>,
    /// Requests run, table or not.
    pub command_count: AtomicU64,
    /// Connections accepted.
    pub connection_count: AtomicU64,
    /// Connections refused (maxclients, protected mode).
    pub rejected_count: AtomicU64,
    /// Bytes read from clients.
    pub input_size: AtomicU64,
    /// Bytes sent to clients.
    pub output_size: AtomicU64,
    /// Authentications refused (a wrong password on any door).
    pub auth_failed_count: AtomicU64,
}

#[derive(Debug, Default)]
struct CommandCounters {
    calls: AtomicU64,
    micros: AtomicU64,
    failed: AtomicU64,
    latency: [AtomicU64; LATENCY_BUCKET_COUNT],
}

impl Default for DoorStats {
    fn default() -> Self {
        Self {
            commands: COMMANDS
                .iter()
                .map(|_| CommandCounters::default())
                .collect(),
            errors: Mutex::new(BTreeMap::new()),
            command_count: AtomicU64::new(0),
            connection_count: AtomicU64::new(0),
            rejected_count: AtomicU64::new(0),
            input_size: AtomicU64::new(0),
            output_size: AtomicU64::new(0),
            auth_failed_count: AtomicU64::new(0),
        }
    }
}

/// Adds to a counter only its owner writes: a load and a store, no locked instruction.
fn bump(counter: &AtomicU64, amount: u64) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(amount),
        Ordering::Relaxed,
    );
}

impl DoorStats {
    /// Counts a request about to run (INFO run by it counts itself, as the CLI always has).
    pub fn started(&self) {
        bump(&self.command_count, 1);
    }

    /// Counts one finished run of `spec` that took `nanos`; `error` is the reply's error
    /// text when it failed.
    pub fn record(&self, spec: Option<&'static CommandSpec>, nanos: u64, error: Option<&[u8]>) {
        if let Some(counters) = spec.and_then(|spec| self.commands.get(command_index(spec))) {
            bump(&counters.calls, 1);
            bump(&counters.micros, nanos / 1000);
            let bucket = (64 - (nanos / 1000).leading_zeros()) as usize;
            bump(&counters.latency[bucket.min(LATENCY_BUCKET_COUNT - 1)], 1);
            if error.is_some() {
                bump(&counters.failed, 1);
            }
        }
        if let Some(error) = error {
            let code = error.split(|byte| *byte == b' ').next().unwrap_or_default();
            let code = String::from_utf8_lossy(code).into_owned();
            *lock(&self.errors).entry(code).or_insert(0) += 1;
        }
    }

    /// Counts a refused authentication.
    pub fn auth_failed(&self) {
        bump(&self.auth_failed_count, 1);
    }

    /// Adds the bytes a door read and sent.
    pub fn transferred(&self, input_size: u64, output_size: u64) {
        bump(&self.input_size, input_size);
        bump(&self.output_size, output_size);
    }

    fn reset(&self) {
        for counters in &*self.commands {
            for counter in [&counters.calls, &counters.micros, &counters.failed]
                .into_iter()
                .chain(&counters.latency)
            {
                counter.store(0, Ordering::Relaxed);
            }
        }
        lock(&self.errors).clear();
        for counter in [
            &self.command_count,
            &self.connection_count,
            &self.rejected_count,
            &self.input_size,
            &self.output_size,
            &self.auth_failed_count,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
    }
}

/// One command's counters, summed over every door.
#[derive(Debug, Clone)]
pub struct CommandTotals {
    /// The command's name, lowercase.
    pub name: &'static str,
    /// Calls.
    pub calls: u64,
    /// Microseconds spent in them.
    pub micros: u64,
    /// Calls that replied with an error.
    pub failed: u64,
    /// Calls by latency: bucket `n` counts calls under `2^n` microseconds.
    pub latency: [u64; LATENCY_BUCKET_COUNT],
}

/// The doors' counters, summed.
#[derive(Debug, Clone, Copy, Default)]
pub struct DoorTotals {
    /// Requests run.
    pub command_count: u64,
    /// Connections accepted.
    pub connection_count: u64,
    /// Connections refused.
    pub rejected_count: u64,
    /// Bytes read from clients.
    pub input_size: u64,
    /// Bytes sent to clients.
    pub output_size: u64,
    /// Authentications refused.
    pub auth_failed_count: u64,
}

/// The index of a table entry in [`COMMANDS`].
fn command_index(spec: &'static CommandSpec) -> usize {
    let base = COMMANDS.as_ptr() as usize;
    (std::ptr::from_ref(spec) as usize - base) / size_of::<CommandSpec>()
}

/// One SLOWLOG entry.
#[derive(Debug, Clone)]
struct SlowEntry {
    id: u64,
    unix_seconds: u64,
    micros: u64,
    args: Vec<Vec<u8>>,
    client: String,
    name: String,
}

/// Arguments a slow-log entry keeps, and bytes of each, as Redis.
const SLOWLOG_ARGS_MAX: usize = 32;
const SLOWLOG_ARG_SIZE_MAX: usize = 128;

/// The state every door shares: the [`Db`], the settings, the statistics.
#[derive(Debug)]
pub struct Admin {
    /// The users and their permissions (`requirepass` is the default user's password).
    pub acl: Acl,
    db: Arc<Db>,
    settings: Mutex<Settings>,
    /// The settings the hot path reads.
    pub limits: Limits,
    config_file: Option<PathBuf>,
    started: Instant,
    doors: Mutex<Vec<Arc<DoorStats>>>,
    slowlog: Mutex<VecDeque<SlowEntry>>,
    slowlog_id_next: AtomicU64,
    /// Unix seconds of the last successful snapshot (LASTSAVE), or of start.
    last_save: AtomicU64,
    /// Clients connected now.
    pub clients: AtomicU64,
    /// Clients blocked in a list pop (INFO's `blocked_clients`).
    pub blocked_clients: AtomicU64,
    /// Channels, patterns and shard channels with a subscriber now (INFO's
    /// `pubsub_channels`, `pubsub_patterns`, `pubsubshard_channels`), kept by the server.
    pub pubsub_counts: [AtomicU64; 3],
    /// A SHUTDOWN was accepted: every door stops.
    pub shutdown: AtomicBool,
    /// What serves (`stdin` or `resp`), for INFO.
    pub mode: &'static str,
    /// The server's event loop, for INFO (`-` for the CLI).
    io: Mutex<String>,
    /// Cluster mode's id and slot map (`None`: cluster mode is off).
    cluster: Option<Cluster>,
    /// The replication role, link and replicas (`crate::replication`).
    pub replication: crate::replication::Replication,
}

impl Admin {
    /// The shared state of a floe process over `db`, started with `settings` (read from
    /// `config_file`, if any).
    #[must_use]
    pub fn new(
        db: Arc<Db>,
        settings: Settings,
        config_file: Option<PathBuf>,
        mode: &'static str,
    ) -> Self {
        let limits = Limits::default();
        limits.publish(&settings);
        db.set_keyspace_events(settings.notify_keyspace_events);
        db.set_write_quorum(
            settings.min_replicas_to_write,
            settings.min_replicas_max_lag_seconds,
        );
        let aclfile = (!settings.aclfile.as_os_str().is_empty()).then(|| settings.aclfile.clone());
        Self {
            acl: Acl::new(&settings.requirepass, aclfile),
            db,
            settings: Mutex::new(settings),
            limits,
            config_file,
            started: Instant::now(),
            doors: Mutex::new(Vec::new()),
            slowlog: Mutex::new(VecDeque::new()),
            slowlog_id_next: AtomicU64::new(0),
            last_save: AtomicU64::new(unix_seconds()),
            clients: AtomicU64::new(0),
            blocked_clients: AtomicU64::new(0),
            pubsub_counts: [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)],
            shutdown: AtomicBool::new(false),
            mode,
            io: Mutex::new("-".to_owned()),
            cluster: None,
            replication: crate::replication::Replication::new(),
        }
    }

    /// The same state in cluster mode, with `cluster`'s id and slot map.
    #[must_use]
    pub fn with_cluster(mut self, cluster: Cluster) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// Cluster mode's state, when it is on.
    #[must_use]
    pub fn cluster(&self) -> Option<&Cluster> {
        self.cluster.as_ref()
    }

    /// The database.
    #[must_use]
    pub fn db(&self) -> &Arc<Db> {
        &self.db
    }

    /// Names the event loop doors run on (INFO's `multiplexing_api`).
    pub fn set_io(&self, name: &str) {
        *lock(&self.io) = name.to_owned();
    }

    /// The event loop doors run on.
    #[must_use]
    pub fn io(&self) -> String {
        lock(&self.io).clone()
    }

    /// A copy of the settings now.
    #[must_use]
    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    /// A new door's counters, summed into INFO from now on.
    #[must_use]
    pub fn door(&self) -> Arc<DoorStats> {
        let stats = Arc::new(DoorStats::default());
        lock(&self.doors).push(Arc::clone(&stats));
        stats
    }

    /// Logs a command that took `micros` to the slow log when it is over the threshold.
    pub fn slowlog_offer(&self, micros: u64, args: &[&[u8]], client: &str, name: &str) {
        let threshold = self.limits.slowlog_slower_than_us.load(Ordering::Relaxed);
        if threshold < 0 || micros < threshold.unsigned_abs() {
            return;
        }
        let length_max = lock(&self.settings).slowlog_len_max;
        let mut kept: Vec<Vec<u8>> = args
            .iter()
            .take(SLOWLOG_ARGS_MAX)
            .map(|arg| {
                if arg.len() > SLOWLOG_ARG_SIZE_MAX {
                    let mut cut = arg[..SLOWLOG_ARG_SIZE_MAX].to_vec();
                    cut.extend_from_slice(
                        format!("... ({} more bytes)", arg.len() - SLOWLOG_ARG_SIZE_MAX).as_bytes(),
                    );
                    cut
                } else {
                    arg.to_vec()
                }
            })
            .collect();
        if args.len() > SLOWLOG_ARGS_MAX {
            kept.pop();
            kept.push(
                format!("... ({} more arguments)", args.len() - SLOWLOG_ARGS_MAX + 1).into_bytes(),
            );
        }
        let entry = SlowEntry {
            id: self.slowlog_id_next.fetch_add(1, Ordering::Relaxed),
            unix_seconds: unix_seconds(),
            micros,
            args: kept,
            client: client.to_owned(),
            name: name.to_owned(),
        };
        let mut slowlog = lock(&self.slowlog);
        slowlog.push_front(entry);
        slowlog.truncate(usize::try_from(length_max).unwrap_or(usize::MAX));
    }

    /// Carries out a command floe-core handed back, writing its one reply frame (none when
    /// it returns [`Finish::Shutdown`] for a SHUTDOWN that succeeded).
    pub fn run<S: ReplySink + ?Sized>(
        &self,
        command: RuntimeCommand,
        args: &[&[u8]],
        reply: &mut ReplyWriter<'_, S>,
    ) -> Finish {
        let db = &*self.db;
        match command {
            RuntimeCommand::Save => match db.save() {
                Ok(_) => {
                    self.last_save.store(unix_seconds(), Ordering::Relaxed);
                    reply.simple(b"OK");
                }
                Err(error) => reply.error(error.reply_text().as_bytes()),
            },
            RuntimeCommand::BackgroundSave { .. } => match db.bgsave() {
                Ok(true) => {
                    self.last_save.store(unix_seconds(), Ordering::Relaxed);
                    reply.simple(b"Background saving started");
                }
                Ok(false) => reply.error(b"ERR Background save already in progress"),
                Err(error) => reply.error(error.reply_text().as_bytes()),
            },
            RuntimeCommand::BackgroundRewriteLog => match db.bgsave() {
                Ok(true) => reply.simple(b"Background append only file rewriting started"),
                Ok(false) => {
                    reply.error(b"ERR Background append only file rewriting already in progress");
                }
                Err(error) => reply.error(error.reply_text().as_bytes()),
            },
            RuntimeCommand::Info => {
                let text = info_text(self, args.get(1..).unwrap_or_default());
                reply.verbatim(*b"txt", text.as_bytes());
            }
            RuntimeCommand::ConfigGet => self.config_get(args.get(2..).unwrap_or_default(), reply),
            RuntimeCommand::ConfigSet => self.config_set(args.get(2..).unwrap_or_default(), reply),
            RuntimeCommand::ConfigResetStat => {
                for door in lock(&self.doors).iter() {
                    door.reset();
                }
                lock(&self.slowlog).clear();
                reply.simple(b"OK");
            }
            RuntimeCommand::ConfigRewrite => self.config_rewrite(reply),
            RuntimeCommand::Shutdown(shutdown) => {
                if shutdown.abort {
                    reply.error(b"ERR No shutdown in progress.");
                    return Finish::Done;
                }
                let saved = match shutdown.save {
                    Some(true) => db.save().map(|_| ()),
                    _ => Ok(()),
                };
                match saved {
                    Err(error) if !shutdown.force => {
                        let text = format!("ERR Errors trying to SHUTDOWN. Check logs. ({error})");
                        reply.error(text.as_bytes());
                    }
                    _ => {
                        self.shutdown.store(true, Ordering::Release);
                        return Finish::Shutdown;
                    }
                }
            }
            RuntimeCommand::LastSave => {
                reply.integer(i64::try_from(self.last_save()).unwrap_or(i64::MAX));
            }
            // The replicas that applied the last LSN, counted at once: WAIT inside MULTI, or with
            // nothing to wait for (a client's own WAIT blocks it: `server::blocked`).
            RuntimeCommand::Wait { .. } => reply.integer(self.replication.wait(db)),
            RuntimeCommand::Replication => {
                self.replication
                    .run(&self.db, &self.settings(), args, None, reply);
            }
            RuntimeCommand::Latency => self.latency(args, reply),
            RuntimeCommand::SlowLog => self.slowlog(args, reply),
            // floe has no functions: flushing none succeeds.
            RuntimeCommand::FunctionFlush => reply.simple(b"OK"),
            // A door with users runs ACL as its caller and closes the connections it says;
            // the others (the CLI) are `default` and have no connections to close.
            RuntimeCommand::Acl => {
                let _no_connections = self.acl.run("default", args, reply);
            }
            RuntimeCommand::Cluster => {
                crate::cluster::commands::run(self.cluster(), db, args, reply)
            }
            _ => reply.error(b"ERR this command is not available here"),
        }
        Finish::Done
    }

    /// LASTSAVE's value: Unix seconds of the last successful save.
    #[must_use]
    pub fn last_save(&self) -> u64 {
        self.last_save.load(Ordering::Relaxed)
    }

    fn config_get<S: ReplySink + ?Sized>(
        &self,
        patterns: &[&[u8]],
        reply: &mut ReplyWriter<'_, S>,
    ) {
        let settings = lock(&self.settings);
        let patterns: Vec<Vec<u8>> = patterns
            .iter()
            .map(|pattern| pattern.to_ascii_lowercase())
            .collect();
        let mut matching: Vec<(&str, String)> = SETTINGS
            .iter()
            .filter(|setting| {
                patterns
                    .iter()
                    .any(|pattern| glob_match(pattern, setting.name.as_bytes()))
            })
            .map(|setting| (setting.name, settings.get(setting)))
            .collect();
        // Read-only facts: what clients ask for, and the store's fixed item limits.
        let store = &self.db.config().store;
        for (name, value) in [
            ("databases", "16".to_owned()),
            ("save", String::new()),
            ("key-size-max", store.key_size_max.to_string()),
            ("value-size-max", store.value_size_max.to_string()),
        ] {
            if patterns
                .iter()
                .any(|pattern| glob_match(pattern, name.as_bytes()))
            {
                matching.push((name, value));
            }
        }
        reply.map_header(matching.len());
        for (name, value) in matching {
            reply.bulk(name.as_bytes());
            reply.bulk(value.as_bytes());
        }
    }

    fn config_set<S: ReplySink + ?Sized>(&self, pairs: &[&[u8]], reply: &mut ReplyWriter<'_, S>) {
        let mut settings = lock(&self.settings);
        let mut changed = settings.clone();
        for pair in pairs.chunks(2) {
            let [name, value] = pair else {
                reply.error(b"ERR wrong number of arguments for 'config|set' command");
                return;
            };
            let name = String::from_utf8_lossy(name);
            let value = String::from_utf8_lossy(value);
            if let Err(error) = changed.set_running(&name, &value) {
                reply.error(error.config_set_reply().as_bytes());
                return;
            }
        }
        if changed.requirepass != settings.requirepass {
            self.acl.set_default_password(&changed.requirepass);
        }
        *settings = changed;
        self.limits.publish(&settings);
        self.db.set_keyspace_events(settings.notify_keyspace_events);
        self.db.set_write_quorum(
            settings.min_replicas_to_write,
            settings.min_replicas_max_lag_seconds,
        );
        reply.simple(b"OK");
    }

    fn config_rewrite<S: ReplySink + ?Sized>(&self, reply: &mut ReplyWriter<'_, S>) {
        let Some(path) = &self.config_file else {
            reply.error(b"ERR The server is running without a config file");
            return;
        };
        let mut settings = lock(&self.settings).clone();
        // REPLICAOF changes the role while floe runs: the file keeps the current one, so a
        // restart (after a failover Sentinel drove) comes back in the same role.
        settings.replicaof = self.replication.primary();
        let text = settings.to_file();
        let temporary = path.with_extension("rewrite.tmp");
        let written =
            std::fs::write(&temporary, text).and_then(|()| std::fs::rename(&temporary, path));
        match written {
            Ok(()) => reply.simple(b"OK"),
            Err(error) => {
                let text = format!("ERR Rewriting config file: {error}");
                reply.error(text.as_bytes());
            }
        }
    }

    /// SLOWLOG GET [n] | LEN | RESET | HELP.
    pub fn slowlog<S: ReplySink + ?Sized>(&self, args: &[&[u8]], reply: &mut ReplyWriter<'_, S>) {
        let sub = args
            .get(1)
            .map(|sub| sub.to_ascii_lowercase())
            .unwrap_or_default();
        match (sub.as_slice(), args.len()) {
            (b"len", 2) => {
                reply.integer(i64::try_from(lock(&self.slowlog).len()).unwrap_or(i64::MAX))
            }
            (b"reset", 2) => {
                lock(&self.slowlog).clear();
                reply.simple(b"OK");
            }
            (b"get", 2 | 3) => {
                let count = match args.get(2) {
                    None => 10,
                    Some(text) => match std::str::from_utf8(text)
                        .ok()
                        .and_then(|text| text.parse::<i64>().ok())
                    {
                        Some(-1) => usize::MAX,
                        Some(count) if count >= 0 => usize::try_from(count).unwrap_or(usize::MAX),
                        _ => {
                            reply.error(b"ERR count should be greater than or equal to -1");
                            return;
                        }
                    },
                };
                let slowlog = lock(&self.slowlog);
                let entries: Vec<&SlowEntry> = slowlog.iter().take(count).collect();
                reply.array_header(entries.len());
                for entry in entries {
                    reply.array_header(6);
                    reply.integer(i64::try_from(entry.id).unwrap_or(i64::MAX));
                    reply.integer(i64::try_from(entry.unix_seconds).unwrap_or(i64::MAX));
                    reply.integer(i64::try_from(entry.micros).unwrap_or(i64::MAX));
                    reply.array_header(entry.args.len());
                    for arg in &entry.args {
                        reply.bulk(arg);
                    }
                    reply.bulk(entry.client.as_bytes());
                    reply.bulk(entry.name.as_bytes());
                }
            }
            (b"help", 2) => {
                let lines = [
                    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                    "GET [<count>]",
                    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                    "LEN",
                    "    Return the length of the slowlog.",
                    "RESET",
                    "    Reset the slowlog.",
                    "HELP",
                    "    Print this help.",
                ];
                reply.array_header(lines.len());
                for line in lines {
                    reply.simple(line.as_bytes());
                }
            }
            _ => unknown_subcommand(args, "SLOWLOG", reply),
        }
    }

    /// LATENCY HISTOGRAM [command ...] (per-command latency in power-of-two microsecond
    /// buckets, summed over doors), LATENCY LATEST/HISTORY/RESET/DOCTOR (floe keeps no
    /// latency events: empty answers), HELP.
    pub fn latency<S: ReplySink + ?Sized>(&self, args: &[&[u8]], reply: &mut ReplyWriter<'_, S>) {
        let sub = args
            .get(1)
            .map(|sub| sub.to_ascii_lowercase())
            .unwrap_or_default();
        match sub.as_slice() {
            b"histogram" => {
                let wanted: Vec<Vec<u8>> = args
                    .get(2..)
                    .unwrap_or_default()
                    .iter()
                    .map(|name| name.to_ascii_lowercase())
                    .collect();
                let doors = lock(&self.doors);
                let mut rows = Vec::new();
                for (index, spec) in COMMANDS.iter().enumerate() {
                    if !wanted.is_empty()
                        && !wanted.iter().any(|name| name == spec.name().as_bytes())
                    {
                        continue;
                    }
                    let mut buckets = [0_u64; LATENCY_BUCKET_COUNT];
                    let mut calls = 0;
                    for door in doors.iter() {
                        if let Some(counters) = door.commands.get(index) {
                            calls += counters.calls.load(Ordering::Relaxed);
                            for (sum, bucket) in buckets.iter_mut().zip(&counters.latency) {
                                *sum += bucket.load(Ordering::Relaxed);
                            }
                        }
                    }
                    if calls > 0 {
                        rows.push((spec.name(), calls, buckets));
                    }
                }
                reply.map_header(rows.len());
                for (name, calls, buckets) in rows {
                    reply.bulk(name.as_bytes());
                    reply.map_header(2);
                    reply.bulk(b"calls");
                    reply.integer(i64::try_from(calls).unwrap_or(i64::MAX));
                    reply.bulk(b"histogram_usec");
                    let used: Vec<(usize, u64)> = buckets
                        .iter()
                        .copied()
                        .enumerate()
                        .filter(|(_, count)| *count > 0)
                        .collect();
                    reply.map_header(used.len());
                    let mut cumulative = 0;
                    for (bucket, count) in used {
                        cumulative += count;
                        reply.integer(1_i64 << bucket);
                        reply.integer(i64::try_from(cumulative).unwrap_or(i64::MAX));
                    }
                }
            }
            b"latest" | b"history" => reply.array_header(0),
            b"reset" => reply.integer(0),
            b"doctor" => reply.verbatim(
                *b"txt",
                b"floe keeps per-command latency histograms: see LATENCY HISTOGRAM.\n",
            ),
            _ => unknown_subcommand(args, "LATENCY", reply),
        }
    }

    /// Every command called at least once, with its counters summed over the doors.
    #[must_use]
    pub fn command_totals(&self) -> Vec<CommandTotals> {
        let doors = lock(&self.doors);
        let mut totals = Vec::new();
        for (index, spec) in COMMANDS.iter().enumerate() {
            let mut total = CommandTotals {
                name: spec.name(),
                calls: 0,
                micros: 0,
                failed: 0,
                latency: [0; LATENCY_BUCKET_COUNT],
            };
            for counters in doors.iter().filter_map(|door| door.commands.get(index)) {
                total.calls += counters.calls.load(Ordering::Relaxed);
                total.micros += counters.micros.load(Ordering::Relaxed);
                total.failed += counters.failed.load(Ordering::Relaxed);
                for (sum, bucket) in total.latency.iter_mut().zip(&counters.latency) {
                    *sum += bucket.load(Ordering::Relaxed);
                }
            }
            if total.calls > 0 {
                totals.push(total);
            }
        }
        totals
    }

    /// The doors' counters, summed.
    #[must_use]
    pub fn door_totals(&self) -> DoorTotals {
        let mut totals = DoorTotals::default();
        for door in lock(&self.doors).iter() {
            let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
            totals.command_count += load(&door.command_count);
            totals.connection_count += load(&door.connection_count);
            totals.rejected_count += load(&door.rejected_count);
            totals.input_size += load(&door.input_size);
            totals.output_size += load(&door.output_size);
            totals.auth_failed_count += load(&door.auth_failed_count);
        }
        totals
    }

    fn doors(&self) -> MutexGuard<'_, Vec<Arc<DoorStats>>> {
        lock(&self.doors)
    }
}

/// Redis's reply to an unknown subcommand of `container`.
fn unknown_subcommand<S: ReplySink + ?Sized>(
    args: &[&[u8]],
    container: &str,
    reply: &mut ReplyWriter<'_, S>,
) {
    let sub = String::from_utf8_lossy(args.get(1).copied().unwrap_or_default());
    let text = format!("ERR unknown subcommand '{sub}'. Try {container} HELP.");
    reply.error(text.as_bytes());
}

/// Seconds since the Unix epoch.
#[must_use]
pub fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
