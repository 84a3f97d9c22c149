//! The `floe` binary: argument parsing only; everything else lives in the runtime.
//!
//! - `floe [OPTIONS]`: the stdin CLI ([`floe_runtime::cli::run`]).
//! - `floe serve [OPTIONS]`: the RESP server ([`floe_runtime::server::serve`]).
//! - `floe cluster create HOST:PORT ...` / `floe cluster show HOST:PORT`: push a slot map
//!   to cluster-mode nodes, print one ([`floe_runtime::cluster::manage`]).
//! - `floe check [--repair] [DIR]`: verify (and repair) a data directory
//!   ([`floe_runtime::cli::check`]).
//! - `floe sim [--seed N] [--scenario NAME] [--steps K] [--seeds M]`: the deterministic
//!   simulator ([`floe_runtime::cli::sim`]).
//!
//! Every option's value is parsed here, so a bad one is reported by clap naming the option
//! and what it accepts, with exit code 2, before any file is touched.
//!
//! The runtime reports through `tracing` events (recovery cuts, the I/O backend chosen);
//! this binary prints them on stderr at `--log-level` and above (default `info`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgAction, Parser, Subcommand};
use floe_core::storage::policy::EvictionPolicy;
use floe_runtime::cli;
use floe_runtime::config::{self, Settings};
use floe_runtime::io::Backend;
use floe_runtime::log::FsyncPolicy;
use floe_runtime::sim::{ScenarioChoice, SimOptions};
use tracing_subscriber::filter::LevelFilter;

/// floe: a fast, durable key-value store and cache.
///
/// With no subcommand, floe reads Redis commands from stdin, one per line, and prints the
/// replies as redis-cli does. On a terminal it shows a prompt, with line editing and
/// history; from a pipe it prints only the replies:
///
///   printf 'SET mykey "Hello, World!"\nGET mykey\n' | floe
#[derive(Debug, Parser)]
#[command(name = "floe", version, verbatim_doc_comment)]
struct Arguments {
    #[command(subcommand)]
    command: Option<Command>,

    /// The data directory, created if missing.
    ///
    /// It holds the log segments, snapshots, the lock file and the CLI's history; one floe
    /// process at a time may use it.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "./floe-data",
        verbatim_doc_comment
    )]
    dir: PathBuf,

    /// When the log calls fdatasync (Redis's appendfsync).
    ///
    ///   always    a write is answered once it is on disk: nothing acknowledged is lost;
    ///             concurrent writers share each fdatasync (group commit)
    ///   everysec  answered once written, synced about once a second: a machine crash
    ///             may lose the last second
    ///   no        answered once written; the operating system syncs when it likes
    /// The default is `always`, not Redis's `everysec`: floe promises that an acknowledged
    /// write survives, and one fdatasync per CLI line takes about a millisecond.
    #[arg(long, value_name = "always|everysec|no", default_value = "always",
          value_parser = parse_fsync, verbatim_doc_comment)]
    fsync: FsyncPolicy,

    /// `off`: a pure cache: no directory, no files, nothing survives a restart.
    #[arg(long, value_name = "on|off", default_value = "on", action = ArgAction::Set,
          value_parser = config::parse_switch, verbatim_doc_comment)]
    persistence: bool,

    /// Memory for keys and values, reserved at start.
    ///
    /// Sizes as in Redis: bytes, or with a unit k/kb, m/mb, g/gb, t/tb (64mb, 1gb).
    #[arg(long, value_name = "SIZE", default_value = "64mb", value_parser = config::parse_size,
          verbatim_doc_comment)]
    maxmemory: u64,

    /// The most keys the store holds, across all 16 databases.
    #[arg(long = "max-keys", value_name = "COUNT", default_value = "1000000",
          value_parser = config::parse_key_count, verbatim_doc_comment)]
    max_keys: u64,

    /// What to do when memory or the key table is full.
    ///
    /// Redis's names: noeviction (refuse writes), allkeys-lru, allkeys-lfu, allkeys-random,
    /// volatile-lru, volatile-lfu, volatile-random, volatile-ttl; or fifo, sieve.
    #[arg(long = "maxmemory-policy", value_name = "POLICY", default_value = "noeviction",
          value_parser = config::parse_policy, verbatim_doc_comment)]
    maxmemory_policy: EvictionPolicy,

    /// The log's I/O backend.
    ///
    ///   uring     io_uring, or fail if the kernel refuses it
    ///   blocking  plain file calls
    ///   auto      io_uring when possible, else blocking; says which on stderr
    #[arg(long = "io", value_name = "auto|uring|blocking", default_value = "auto",
          value_parser = parse_backend, verbatim_doc_comment)]
    io: Backend,

    /// The least severe event printed on stderr: off, error, warn, info, debug or trace.
    #[arg(long = "log-level", value_name = "LEVEL", default_value = "info", global = true,
          value_parser = parse_log_level, verbatim_doc_comment)]
    log_level: LevelFilter,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the RESP server: Redis clients and tools connect to it unmodified.
    ///
    ///   floe serve                       # 127.0.0.1:6379, data in ./floe-data
    ///   redis-cli -p 6379 SET greeting hello
    ///
    /// Every option is also a setting of the config file (`--config FILE`, lines of
    /// `name value` as in redis.conf) and of CONFIG GET/SET, under the same name.
    /// Options on the command line override the file. SIGTERM, SIGINT and SHUTDOWN stop
    /// accepting, let held replies settle, flush the log and exit 0.
    #[command(verbatim_doc_comment)]
    Serve(Box<ServeArguments>),

    /// Manage a cluster of `floe serve --cluster-enabled` nodes (docs/cluster.md).
    ///
    ///   floe cluster create 127.0.0.1:7000 127.0.0.1:7001 127.0.0.1:7002
    ///   floe cluster show 127.0.0.1:7000
    #[command(verbatim_doc_comment, subcommand)]
    Cluster(ClusterCommand),

    /// Verify (and repair) a data directory.
    ///
    /// Reads every snapshot and log segment and prints what it found. Exit code 0 when clean (or made clean by --repair), 1 when problems remain,
    /// 2 when the directory cannot be read.
    #[command(verbatim_doc_comment)]
    Check {
        /// Cut the log at the first bad record, saying what was dropped.
        ///
        /// Like redis-check-aof --fix; the cut bytes are kept as `<segment>.dropped`.
        /// Refused while a floe process has the directory open.
        #[arg(long, verbatim_doc_comment)]
        repair: bool,

        /// The data directory to check [default: the one --dir names].
        #[arg(value_name = "DIR", verbatim_doc_comment)]
        dir: Option<PathBuf>,
    },

    /// Run the deterministic simulator.
    ///
    /// floe's real log, snapshots and recovery run over a seeded fault-injecting disk and
    /// a virtual clock, checked against a model. A failure prints its seed, scenario and
    /// step, and the `floe sim` command that replays it exactly. Exit code 0 when every
    /// run passed, 1 when one found a violation.
    #[command(verbatim_doc_comment)]
    Sim {
        /// The first seed [default: one from the clock, printed in the report].
        #[arg(long, value_name = "N", verbatim_doc_comment)]
        seed: Option<u64>,

        /// One of Poro's scenarios (perfect, corruption, completion_corruption, massive,
        /// random, truncation, comprehensive, filesystem), or all.
        #[arg(long, value_name = "NAME", default_value = "all", value_parser = parse_scenario,
              verbatim_doc_comment)]
        scenario: ScenarioChoice,

        /// Steps per run [default: the scenario's own].
        #[arg(long, value_name = "K", verbatim_doc_comment)]
        steps: Option<u64>,

        /// Seeds to run, from --seed on (a swarm).
        #[arg(long, value_name = "M", default_value_t = 1, verbatim_doc_comment)]
        seeds: u64,
    },
}

/// `floe cluster`'s subcommands.
#[derive(Debug, Subcommand)]
enum ClusterCommand {
    /// Split the 16384 slots evenly over the nodes, in the order given, and push the map
    /// to every node (CLUSTER SETSLOTMAP); the nodes must run with --cluster-enabled.
    #[command(verbatim_doc_comment)]
    Create {
        /// The nodes, as host:port; clients are sent to these addresses (MOVED).
        #[arg(value_name = "HOST:PORT", required = true, verbatim_doc_comment)]
        nodes: Vec<String>,
    },
    /// Move slots, with their keys, from one node to another while clients use them
    /// (CLUSTER SETSLOT, DUMP/RESTORE, WATCH/MULTI/EXEC), then push the new map to every
    /// node. Progress goes to stderr. Run it again after a failure or a node's restart:
    /// it carries on where it stopped. To undo, finish it, then move the slots back.
    ///   floe cluster move-slots 127.0.0.1:7000 127.0.0.1:7001 0-99,200
    #[command(verbatim_doc_comment)]
    MoveSlots {
        /// The node that serves the slots now, as host:port.
        #[arg(value_name = "FROM")]
        from: String,
        /// The node that will serve them, as host:port.
        #[arg(value_name = "TO")]
        to: String,
        /// The slots: ranges like 0-99, several joined by commas.
        #[arg(value_name = "SLOTS")]
        slots: String,
    },
    /// Print a node's view of the cluster (CLUSTER NODES).
    Show {
        /// The node, as host:port.
        #[arg(value_name = "HOST:PORT")]
        node: String,
    },
}

/// `floe serve`'s options: each is the setting of the same name (see `CONFIG GET *`).
#[derive(Debug, clap::Args)]
struct ServeArguments {
    /// A config file: lines of `name value` (redis.conf's form); CONFIG REWRITE writes it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Addresses to listen on, space-separated [default: 127.0.0.1].
    ///
    /// Loopback only by default. With protected mode on and no password, clients from
    /// other addresses are refused with an explanation.
    #[arg(long, value_name = "ADDRESSES", verbatim_doc_comment)]
    bind: Option<String>,
    /// The TCP port [default: 6379].
    #[arg(long, value_name = "PORT")]
    port: Option<String>,
    /// The HTTP door's port, on the same --bind addresses; 0 or off: no HTTP [default: 4206].
    ///
    ///   curl -X PUT --data-binary hello http://127.0.0.1:4206/kv/greeting
    ///   curl http://127.0.0.1:4206/kv/greeting
    /// Also OrchidDB's /put?key=value, /get/key, /delete/key; /kv?prefix=; POST /batch;
    /// /metrics (Prometheus), /health, /stats (JSON). See docs/server.md.
    #[arg(long = "http-port", value_name = "PORT|off", verbatim_doc_comment)]
    http_port: Option<String>,
    /// The Pizzaria line protocol's port (PizzaKV's `write key|value\r`, `read key\r`, ...);
    /// off unless given.
    #[arg(long = "pizzaria-port", value_name = "PORT")]
    pizzaria_port: Option<String>,
    /// RESP over TLS on this port (same --bind); off unless given. Needs --tls-cert and
    /// --tls-key.
    ///
    ///   floe serve --tls-port 6380 --tls-cert server.pem --tls-key server.key
    ///   redis-cli --tls --cacert ca.pem -p 6380 PING
    /// The plaintext --port stays open (bind it elsewhere to keep it private).
    #[arg(long = "tls-port", value_name = "PORT", verbatim_doc_comment)]
    tls_port: Option<String>,
    /// HTTP over TLS (HTTPS) on this port, the HTTP door's paths; off unless given.
    ///
    ///   curl --cacert ca.pem https://localhost:4207/kv/greeting
    #[arg(long = "tls-http-port", value_name = "PORT", verbatim_doc_comment)]
    tls_http_port: Option<String>,
    /// The TLS doors' certificate chain, a PEM file (the server's certificate first).
    #[arg(long = "tls-cert", value_name = "FILE")]
    tls_cert: Option<String>,
    /// The private key of --tls-cert, a PEM file (PKCS#8, PKCS#1 or SEC1).
    #[arg(long = "tls-key", value_name = "FILE")]
    tls_key: Option<String>,
    /// A CA certificate, PEM: TLS clients must show a certificate it signed (as Redis's
    /// tls-auth-clients yes); without it no client certificate is asked for.
    #[arg(long = "tls-ca", value_name = "FILE")]
    tls_ca: Option<String>,
    /// Most bytes of an HTTP request line and headers; more gets 431 [default: 16kb].
    #[arg(long = "http-max-header-size", value_name = "SIZE")]
    http_max_header_size: Option<String>,
    /// Most bytes of an HTTP request's path and query; more gets 414 [default: 8kb].
    #[arg(long = "http-max-url-size", value_name = "SIZE")]
    http_max_url_size: Option<String>,
    /// The data directory, created if missing [default: ./floe-data].
    #[arg(long, value_name = "DIR")]
    dir: Option<String>,
    /// When a write is acknowledged [default: always].
    ///
    ///   always    once an fdatasync covered it: nothing acknowledged is ever lost
    ///   everysec  once written to the log file, synced about once a second
    ///   no        once written to the log file; the OS syncs when it likes
    /// Under every policy a reply goes out only after its write reached the log file, so
    /// a crash of floe itself loses nothing acknowledged.
    #[arg(
        long,
        visible_alias = "fsync",
        value_name = "always|everysec|no",
        verbatim_doc_comment
    )]
    appendfsync: Option<String>,
    /// `off`: a pure cache that writes no file [default: on].
    #[arg(long, value_name = "on|off")]
    persistence: Option<String>,
    /// Memory for keys and values, reserved at start: 64mb, 1gb [default: 64mb].
    #[arg(long, value_name = "SIZE")]
    maxmemory: Option<String>,
    /// What to do when memory or the key table is full [default: noeviction].
    ///
    /// noeviction, allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu,
    /// volatile-random, volatile-ttl, fifo, sieve.
    #[arg(long = "maxmemory-policy", value_name = "POLICY", verbatim_doc_comment)]
    maxmemory_policy: Option<String>,
    /// The most keys held, across all 16 databases [default: 1000000].
    #[arg(long = "max-keys", value_name = "COUNT")]
    max_keys: Option<String>,
    /// Worker threads, one event loop each [default: 0, half the cores, at least one].
    #[arg(long, value_name = "N")]
    workers: Option<String>,
    /// Keyspace shards, each with its own lock and an even share of --maxmemory and
    /// --max-keys [default: 0, four per core, fewer for small stores].
    #[arg(long, value_name = "N")]
    shards: Option<String>,
    /// Keep an ordered index of the keys so prefix searches (KEYS/SCAN prefix*, Pizzaria
    /// reads, HTTP /kv?prefix=) skip the table walk: auto (built by the first such
    /// search, then kept), yes (built at start), no [default: auto].
    #[arg(long = "prefix-index", value_name = "auto|yes|no")]
    prefix_index: Option<String>,
    /// Back the store's memory with transparent huge pages (2 MiB): random lookups over a
    /// large store miss the TLB less (about 10% faster in process), memory is committed
    /// 2 MiB at a time; needs transparent_hugepage `always` or `madvise` [default: no].
    #[arg(long = "huge-pages", value_name = "yes|no")]
    huge_pages: Option<String>,
    /// The network event loop: auto (io_uring where allowed, else epoll), uring, epoll.
    #[arg(long = "io", value_name = "auto|uring|epoll")]
    server_io: Option<String>,
    /// The log's I/O: auto, uring or blocking [default: auto].
    #[arg(long = "log-io", value_name = "auto|uring|blocking")]
    log_io: Option<String>,
    /// Clients must AUTH with this password (empty: none); the `default` user's password.
    #[arg(long, value_name = "PASSWORD")]
    requirepass: Option<String>,
    /// ACL users file in Redis's format (`user <name> <rules>` lines), read at start and by
    /// ACL LOAD, written by ACL SAVE; with it, --requirepass is ignored.
    #[arg(long, value_name = "FILE")]
    aclfile: Option<String>,
    /// With no password, serve only loopback clients: yes|no [default: yes].
    #[arg(long = "protected-mode", value_name = "yes|no")]
    protected_mode: Option<String>,
    /// Most clients at once [default: 10000].
    #[arg(long, value_name = "COUNT")]
    maxclients: Option<String>,
    /// Close clients idle this many seconds; 0 never [default: 0].
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<String>,
    /// Largest bulk string in a request [default: 512mb].
    #[arg(long = "proto-max-bulk-len", value_name = "SIZE")]
    proto_max_bulk_len: Option<String>,
    /// Most unparsed request bytes per client [default: 1gb].
    #[arg(long = "client-query-buffer-limit", value_name = "SIZE")]
    client_query_buffer_limit: Option<String>,
    /// Most reply bytes waiting for a slow reader before it is closed [default: 64mb].
    #[arg(long = "client-output-buffer-limit", value_name = "SIZE")]
    client_output_buffer_limit: Option<String>,
    /// Cluster mode: route keys by hash slot over the map `floe cluster create` pushes;
    /// `--cluster-enabled` alone means yes [default: no].
    #[arg(long = "cluster-enabled", value_name = "yes|no", num_args = 0..=1,
          default_missing_value = "yes")]
    cluster_enabled: Option<String>,
    /// Most reply and message bytes waiting for a subscribed client before it is closed
    /// [default: 32mb].
    #[arg(long = "client-output-buffer-limit-pubsub", value_name = "SIZE")]
    client_output_buffer_limit_pubsub: Option<String>,
    /// Replicate from this primary: "HOST PORT" (one argument); clients' writes are then
    /// refused. REPLICAOF NO ONE promotes.
    #[arg(long, alias = "slaveof", value_name = "\"HOST PORT\"")]
    replicaof: Option<String>,
    /// The user a replica authenticates to its primary as [default: default].
    #[arg(long, value_name = "USER")]
    masteruser: Option<String>,
    /// The password a replica authenticates to its primary with [default: none].
    #[arg(long, value_name = "PASSWORD")]
    masterauth: Option<String>,
    /// Keyspace events to publish, in Redis's letters (`KEA`: all) [default: none].
    #[arg(long = "notify-keyspace-events", value_name = "CLASSES")]
    notify_keyspace_events: Option<String>,
    /// Bytes of the newest log a primary keeps for replicas to catch up from [default: 16mb].
    #[arg(long = "repl-backlog-size", value_name = "SIZE")]
    repl_backlog_size: Option<String>,
    /// Seconds a replica waits for its primary's answer [default: 60].
    #[arg(long = "repl-timeout", value_name = "SECONDS")]
    repl_timeout: Option<String>,
    /// A primary refuses writes (NOREPLICAS) with fewer good replicas than this [default: 0].
    #[arg(
        long = "min-replicas-to-write",
        alias = "min-slaves-to-write",
        value_name = "COUNT"
    )]
    min_replicas_to_write: Option<String>,
    /// Seconds since a replica's last acknowledgement for it to count as good [default: 10].
    #[arg(
        long = "min-replicas-max-lag",
        alias = "min-slaves-max-lag",
        value_name = "SECONDS"
    )]
    min_replicas_max_lag: Option<String>,
}

impl ServeArguments {
    /// The settings: defaults, then the config file, then the options given.
    fn settings(&self) -> Result<Settings, String> {
        let mut settings = Settings::default();
        if let Some(path) = &self.config {
            settings.load_file(path)?;
        }
        let given = [
            ("bind", &self.bind),
            ("port", &self.port),
            ("http-port", &self.http_port),
            ("pizzaria-port", &self.pizzaria_port),
            ("tls-port", &self.tls_port),
            ("tls-http-port", &self.tls_http_port),
            ("tls-cert-file", &self.tls_cert),
            ("tls-key-file", &self.tls_key),
            ("tls-ca-cert-file", &self.tls_ca),
            ("http-max-header-size", &self.http_max_header_size),
            ("http-max-url-size", &self.http_max_url_size),
            ("dir", &self.dir),
            ("appendfsync", &self.appendfsync),
            ("appendonly", &self.persistence),
            ("maxmemory", &self.maxmemory),
            ("maxmemory-policy", &self.maxmemory_policy),
            ("max-keys", &self.max_keys),
            ("workers", &self.workers),
            ("shards", &self.shards),
            ("prefix-index", &self.prefix_index),
            ("huge-pages", &self.huge_pages),
            ("server-io", &self.server_io),
            ("io", &self.log_io),
            ("requirepass", &self.requirepass),
            ("aclfile", &self.aclfile),
            ("protected-mode", &self.protected_mode),
            ("maxclients", &self.maxclients),
            ("timeout", &self.timeout),
            ("proto-max-bulk-len", &self.proto_max_bulk_len),
            ("client-query-buffer-limit", &self.client_query_buffer_limit),
            (
                "client-output-buffer-limit",
                &self.client_output_buffer_limit,
            ),
            ("cluster-enabled", &self.cluster_enabled),
            (
                "client-output-buffer-limit-pubsub",
                &self.client_output_buffer_limit_pubsub,
            ),
            ("replicaof", &self.replicaof),
            ("masteruser", &self.masteruser),
            ("masterauth", &self.masterauth),
            ("repl-backlog-size", &self.repl_backlog_size),
            ("repl-timeout", &self.repl_timeout),
            ("min-replicas-to-write", &self.min_replicas_to_write),
            ("min-replicas-max-lag", &self.min_replicas_max_lag),
            ("notify-keyspace-events", &self.notify_keyspace_events),
        ];
        for (name, value) in given {
            if let Some(value) = value {
                settings
                    .set(name, value)
                    .map_err(|error| format!("--{error}"))?;
            }
        }
        Ok(settings)
    }
}

fn parse_fsync(text: &str) -> Result<FsyncPolicy, String> {
    text.parse()
}

fn parse_backend(text: &str) -> Result<Backend, String> {
    text.parse()
}

fn parse_scenario(text: &str) -> Result<ScenarioChoice, String> {
    text.parse()
}

fn parse_log_level(text: &str) -> Result<LevelFilter, String> {
    text.parse().map_err(|_| {
        format!("`{text}` is not a log level: expected off, error, warn, info, debug or trace")
    })
}

fn main() -> ExitCode {
    let arguments = Arguments::parse();
    // Events go to stderr, so stdout keeps only replies (a piped CLI stays scriptable).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(arguments.log_level)
        .without_time()
        .init();
    match arguments.command {
        Some(Command::Serve(serve)) => match serve.settings() {
            Ok(settings) => floe_runtime::server::serve(settings, serve.config.clone()),
            Err(message) => {
                eprintln!("floe serve: {message}");
                ExitCode::from(2)
            }
        },
        Some(Command::Cluster(command)) => {
            let done = match command {
                ClusterCommand::Create { nodes } => floe_runtime::cluster::manage::create(&nodes),
                ClusterCommand::Show { node } => floe_runtime::cluster::manage::show(&node),
                ClusterCommand::MoveSlots { from, to, slots } => {
                    floe_runtime::cluster::migrate::move_slots(&from, &to, &slots, &mut |line| {
                        eprintln!("floe cluster move-slots: {line}");
                    })
                }
            };
            match done {
                Ok(report) => {
                    print!("{report}");
                    ExitCode::SUCCESS
                }
                Err(message) => {
                    eprintln!("floe cluster: {message}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Check { repair, dir }) => {
            cli::check(dir.as_deref().unwrap_or(&arguments.dir), repair)
        }
        Some(Command::Sim {
            seed,
            scenario,
            steps,
            seeds,
        }) => cli::sim(SimOptions {
            seed,
            scenario,
            steps,
            seeds,
            ..SimOptions::default()
        }),
        None => cli::run(&Settings {
            dir: arguments.dir,
            fsync: arguments.fsync,
            persistence: arguments.persistence,
            memory_size: arguments.maxmemory,
            keys_max: arguments.max_keys,
            policy: arguments.maxmemory_policy,
            backend: arguments.io,
            ..Settings::default()
        }),
    }
}
