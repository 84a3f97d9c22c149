//! The one configuration type: every setting floe has, with its CONFIG name, default,
//! parser, error text and whether it may change while floe runs.
//!
//! Command-line options (`floe --maxmemory 64mb`, `floe serve --port 7000`), a config file
//! (`--config FILE`, lines of `name value` as in `redis.conf`), `CONFIG GET` and `CONFIG
//! SET` all go through [`SETTINGS`], so a setting is parsed, checked and described in one
//! place. Redis's names are used where Redis has the setting; floe's own are marked in
//! their help.
//!
//! Invariants: [`Settings::default`] holds every default of [`SETTINGS`] (a test parses
//! each default back); a failed `set` leaves the settings unchanged.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use floe_core::error::ConfigError;
use floe_core::storage::policy::EvictionPolicy;
use floe_core::store::SHARD_COUNT_MAX;

use crate::db::{DbConfig, PrefixIndexMode};
use crate::io::Backend;
use crate::log::FsyncPolicy;

mod values;

use values::{
    at_least, join, parse_announce_ip, parse_backend, parse_bind, parse_door_port, parse_fsync,
    parse_list_size, parse_number, parse_path, parse_prefix_index, parse_replicaof,
    parse_server_io, parse_signed, show_path, yes_no,
};
pub use values::{
    human, parse_key_count, parse_policy, parse_size, parse_switch, show_prefix_index,
};

/// Every setting floe runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `dir`: the data directory, created if missing.
    pub dir: PathBuf,
    /// `appendfsync` (`--fsync` in the CLI).
    pub fsync: FsyncPolicy,
    /// `appendonly` (`--persistence`): `false` is a pure cache that writes no file.
    pub persistence: bool,
    /// `maxmemory`: bytes of item memory.
    pub memory_size: u64,
    /// `max-keys`.
    pub keys_max: u64,
    /// `maxmemory-policy`.
    pub policy: EvictionPolicy,
    /// `io`: the log's I/O backend.
    pub backend: Backend,
    /// `bind`: the addresses the server listens on.
    pub bind: Vec<IpAddr>,
    /// `port`.
    pub port: u16,
    /// `http-port`: the HTTP door's port (0: off).
    pub http_port: u16,
    /// `pizzaria-port`: the Pizzaria door's port (0: off, the default).
    pub pizzaria_port: u16,
    /// `tls-port`: RESP over TLS (0: off, the default).
    pub tls_port: u16,
    /// `tls-http-port`: HTTP over TLS, HTTPS (0: off, the default).
    pub tls_http_port: u16,
    /// `tls-cert-file`: the TLS doors' certificate chain, PEM.
    pub tls_cert: Option<PathBuf>,
    /// `tls-key-file`: the private key of `tls_cert`, PEM.
    pub tls_key: Option<PathBuf>,
    /// `tls-ca-cert-file`: when set, TLS clients must show a certificate this CA signed.
    pub tls_ca: Option<PathBuf>,
    /// `http-max-header-size`: the most bytes of an HTTP request's line and headers.
    pub http_header_size_max: u64,
    /// `http-max-url-size`: the most bytes of an HTTP request's target (path and query).
    pub http_url_size_max: u64,
    /// `workers`: server threads, each with its own event loop (0: half the cores, at
    /// least one).
    pub workers: usize,
    /// `shards`: keyspace shards, each with its own lock (0: from the cores and limits).
    pub shards: usize,
    /// `prefix-index`: keep an ordered index of the keys for prefix searches.
    pub prefix_index: PrefixIndexMode,
    /// `server-io`: the server's network event loop.
    pub server_io: ServerIo,
    /// `requirepass`: clients must AUTH with it (empty: no password).
    pub requirepass: String,
    /// `aclfile`: the ACL users file, Redis's format, read at start (empty: none; users
    /// then live in memory only, and `requirepass` is the default user's password).
    pub aclfile: PathBuf,
    /// `protected-mode`: with no password, refuse clients that are not on loopback.
    pub protected_mode: bool,
    /// `maxclients`.
    pub clients_max: u64,
    /// `timeout`: close a client idle this many seconds (0: never).
    pub timeout_seconds: u64,
    /// `proto-max-bulk-len`: the largest bulk string a request may hold.
    pub bulk_size_max: u64,
    /// `client-query-buffer-limit`: the most bytes of unparsed requests a client may send.
    pub query_buffer_size_max: u64,
    /// `client-output-buffer-limit`: the most reply bytes waiting for a slow reader.
    pub output_buffer_size_max: u64,
    /// `client-output-buffer-limit-pubsub`: the most bytes of replies and messages that
    /// may wait for a subscribed client (Redis's `client-output-buffer-limit pubsub` hard
    /// limit); a subscriber past it is closed.
    pub pubsub_output_buffer_size_max: u64,
    /// `slowlog-log-slower-than`, microseconds (negative: off).
    pub slowlog_slower_than_us: i64,
    /// `slowlog-max-len`.
    pub slowlog_len_max: u64,
    /// `cluster-enabled`: Redis Cluster's slot protocol over a pushed slot map.
    pub cluster_enabled: bool,
    /// `replicaof`: the primary to replicate from at start, `host port` (`None`: a primary).
    pub replicaof: Option<(String, u16)>,
    /// `masteruser`: the user a replica authenticates as (empty: `default`).
    pub masteruser: String,
    /// `masterauth`: the password a replica authenticates with (empty: none).
    pub masterauth: String,
    /// `replica-announce-ip`: the address a replica tells its primary to list it under
    /// (INFO's `slaveN`, ROLE; what Sentinel connects to), empty: the address the primary
    /// sees.
    pub replica_announce_ip: Option<std::net::IpAddr>,
    /// `replica-announce-port`: the port a replica tells its primary (0: its own `port`).
    pub replica_announce_port: u16,
    /// `repl-backlog-size`: bytes of the newest log appends a primary keeps for replicas.
    pub repl_backlog_size: u64,
    /// `repl-timeout`: seconds a replica waits for its primary before the link is down.
    pub repl_timeout_seconds: u64,
    /// `min-replicas-to-write`: a primary refuses writes with fewer good replicas (0: off).
    pub min_replicas_to_write: u64,
    /// `min-replicas-max-lag`: seconds since its last acknowledgement for a replica to be
    /// good.
    pub min_replicas_max_lag_seconds: u64,
    /// `replica-priority`: what a replica tells Sentinel in INFO; the lowest is promoted
    /// first, and 0 never.
    pub replica_priority: u64,
    /// `hash-max-listpack-entries`: a hash with more fields takes the large form.
    pub hash_max_listpack_entries: u64,
    /// `hash-max-listpack-value`: a hash with a longer field or value takes the large form.
    pub hash_max_listpack_value: u64,
    /// `set-max-intset-entries`: a set of integers with more members takes the large form.
    pub set_max_intset_entries: u64,
    /// `set-max-listpack-entries`: any other set with more members takes the large form.
    pub set_max_listpack_entries: u64,
    /// `set-max-listpack-value`: a set with a longer member (not all integers) takes the
    /// large form.
    pub set_max_listpack_value: u64,
    /// `list-max-listpack-size`: the most a list node holds (negative: -1..-5 for 4 to 64
    /// KiB, positive: an element count); a longer compact list takes the large form.
    pub list_max_listpack_size: i64,
    /// `zset-max-listpack-entries`: a sorted set with more members takes the large form.
    pub zset_max_listpack_entries: u64,
    /// `zset-max-listpack-value`: a sorted set with a longer member takes the large form.
    pub zset_max_listpack_value: u64,
    /// `clean-dead-percent`: a segment at least this percent holes is cleaned before the
    /// store takes memory it never used (0: only when memory runs short).
    pub clean_dead_percent: u64,
    /// `huge-pages`: back the store's memory with transparent huge pages.
    pub huge_pages: bool,
    /// `notify-keyspace-events`: which keyspace events are published (Redis's letters,
    /// read by [`crate::db::parse_flags`]; 0: none).
    pub notify_keyspace_events: u16,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("floe-data"),
            fsync: FsyncPolicy::Always,
            persistence: true,
            memory_size: 64 << 20,
            keys_max: 1_000_000,
            policy: EvictionPolicy::NoEviction,
            backend: Backend::Auto,
            bind: vec![IpAddr::from([127, 0, 0, 1])],
            port: 6379,
            http_port: 4206,
            pizzaria_port: 0,
            tls_port: 0,
            tls_http_port: 0,
            tls_cert: None,
            tls_key: None,
            tls_ca: None,
            http_header_size_max: 16 << 10,
            http_url_size_max: 8 << 10,
            workers: 0,
            shards: 0,
            prefix_index: PrefixIndexMode::OnDemand,
            server_io: ServerIo::Auto,
            requirepass: String::new(),
            aclfile: PathBuf::new(),
            protected_mode: true,
            clients_max: 10_000,
            timeout_seconds: 0,
            bulk_size_max: 512 << 20,
            query_buffer_size_max: 1 << 30,
            output_buffer_size_max: 64 << 20,
            pubsub_output_buffer_size_max: 32 << 20,
            slowlog_slower_than_us: 10_000,
            slowlog_len_max: 128,
            cluster_enabled: false,
            replicaof: None,
            masteruser: String::new(),
            masterauth: String::new(),
            repl_backlog_size: 16 << 20,
            repl_timeout_seconds: 60,
            replica_announce_ip: None,
            replica_announce_port: 0,
            min_replicas_to_write: 0,
            min_replicas_max_lag_seconds: 10,
            replica_priority: 100,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            set_max_listpack_entries: 128,
            set_max_listpack_value: 64,
            list_max_listpack_size: -2,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            clean_dead_percent: floe_core::store::CLEAN_DEAD_PERCENT_DEFAULT.into(),
            huge_pages: false,
            notify_keyspace_events: 0,
        }
    }
}

/// The server's event loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServerIo {
    /// io_uring where the kernel allows it, else epoll.
    #[default]
    Auto,
    /// io_uring only; start fails where it is refused.
    Uring,
    /// epoll.
    Epoll,
}

impl fmt::Display for ServerIo {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::Auto => "auto",
            Self::Uring => "uring",
            Self::Epoll => "epoll",
        })
    }
}

/// One setting: its name, what it means, and how it is read and written.
#[derive(Debug)]
pub struct Setting {
    /// The CONFIG name (Redis's where Redis has it).
    pub name: &'static str,
    /// Another accepted name (the CLI's older option names), or `""`.
    pub alias: &'static str,
    /// One line for `--help` and the docs.
    pub help: &'static str,
    /// Whether `CONFIG SET` may change it while floe runs.
    pub mutable: bool,
    get: fn(&Settings) -> String,
    set: fn(&mut Settings, &str) -> Result<(), String>,
}

/// Why a setting was not changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetError {
    /// No setting has this name.
    Unknown(String),
    /// The setting is fixed while floe runs.
    Immutable(&'static str),
    /// The value does not parse or is out of range: the message says what is accepted.
    Invalid {
        /// The setting's name.
        name: &'static str,
        /// What is wrong and what would do.
        message: String,
    },
}

impl fmt::Display for SetError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown(name) => write!(formatter, "unknown setting `{name}`"),
            Self::Immutable(name) => write!(
                formatter,
                "`{name}` cannot change while floe runs: restart floe with the new value"
            ),
            Self::Invalid { name, message } => write!(formatter, "{name}: {message}"),
        }
    }
}

impl std::error::Error for SetError {}

impl SetError {
    /// The text of Redis's `CONFIG SET` error for this failure.
    #[must_use]
    pub fn config_set_reply(&self) -> String {
        let (name, reason) = match self {
            Self::Unknown(name) => (
                name.as_str(),
                "Unknown option or number of arguments for CONFIG SET".to_owned(),
            ),
            Self::Immutable(name) => (*name, "can't set immutable config".to_owned()),
            Self::Invalid { name, message } => (*name, message.clone()),
        };
        format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}")
    }
}

macro_rules! setting {
    ($name:literal, $alias:literal, $mutable:literal, $help:literal, $field:ident, $show:expr, $parse:expr) => {
        Setting {
            name: $name,
            alias: $alias,
            help: $help,
            mutable: $mutable,
            get: |settings| ($show)(&settings.$field),
            set: |settings, text| {
                settings.$field = ($parse)(text)?;
                Ok(())
            },
        }
    };
}

/// Every setting, in the order `CONFIG GET *` lists them.
pub static SETTINGS: [Setting; 55] = [
    setting!(
        "dir",
        "",
        false,
        "the data directory, created if missing",
        dir,
        |dir: &PathBuf| dir.display().to_string(),
        |text: &str| Ok::<_, String>(PathBuf::from(text))
    ),
    setting!(
        "appendonly",
        "persistence",
        false,
        "`yes`: every write goes to the log and survives restarts; `no`: a pure cache",
        persistence,
        |on: &bool| yes_no(*on),
        parse_switch
    ),
    setting!(
        "appendfsync",
        "fsync",
        false,
        "always (fdatasync before replying) | everysec | no (the OS flushes)",
        fsync,
        |fsync: &FsyncPolicy| fsync.to_string(),
        parse_fsync
    ),
    setting!(
        "maxmemory",
        "",
        false,
        "item memory (keys, values, table): 64mb, 1gb (allocated at start)",
        memory_size,
        |size: &u64| size.to_string(),
        parse_size
    ),
    setting!(
        "maxmemory-policy",
        "",
        false,
        "noeviction | allkeys-lru | allkeys-lfu | allkeys-random | volatile-* | fifo | sieve",
        policy,
        |policy: &EvictionPolicy| policy.name().to_owned(),
        parse_policy
    ),
    setting!(
        "max-keys",
        "",
        false,
        "floe: most keys held (the table is sized for them)",
        keys_max,
        |count: &u64| count.to_string(),
        parse_key_count
    ),
    setting!(
        "io",
        "",
        false,
        "floe: the log's I/O: auto | uring | blocking",
        backend,
        |backend: &Backend| backend.to_string(),
        parse_backend
    ),
    setting!(
        "bind",
        "",
        false,
        "addresses to listen on, space-separated (loopback by default)",
        bind,
        |bind: &Vec<IpAddr>| join(bind),
        parse_bind
    ),
    setting!(
        "port",
        "",
        false,
        "the TCP port of the RESP server",
        port,
        |port: &u16| port.to_string(),
        |text: &str| parse_number(text, 1, u64::from(u16::MAX))
            .map(|port| u16::try_from(port).unwrap_or(u16::MAX))
    ),
    setting!(
        "http-port",
        "",
        false,
        "floe: the TCP port of the HTTP door (same --bind; 0 or off: no HTTP)",
        http_port,
        |port: &u16| port.to_string(),
        parse_door_port
    ),
    setting!(
        "pizzaria-port",
        "",
        false,
        "floe: the TCP port of the Pizzaria line protocol (same --bind; 0 or off: none)",
        pizzaria_port,
        |port: &u16| port.to_string(),
        parse_door_port
    ),
    setting!(
        "tls-port",
        "",
        false,
        "RESP over TLS on this port (same --bind; 0 or off: none, the default; needs \
         tls-cert-file and tls-key-file)",
        tls_port,
        |port: &u16| port.to_string(),
        parse_door_port
    ),
    setting!(
        "tls-http-port",
        "",
        false,
        "floe: HTTP over TLS (HTTPS) on this port (same --bind; 0 or off: none, the default)",
        tls_http_port,
        |port: &u16| port.to_string(),
        parse_door_port
    ),
    setting!(
        "tls-cert-file",
        "tls-cert",
        false,
        "the TLS doors' certificate chain, a PEM file (the server's certificate first)",
        tls_cert,
        show_path,
        parse_path
    ),
    setting!(
        "tls-key-file",
        "tls-key",
        false,
        "the private key of tls-cert-file, a PEM file (PKCS#8, PKCS#1 or SEC1)",
        tls_key,
        show_path,
        parse_path
    ),
    setting!(
        "tls-ca-cert-file",
        "tls-ca",
        false,
        "when set, TLS clients must show a certificate this PEM file's CA signed (as Redis's \
         tls-auth-clients yes); empty: no client certificates",
        tls_ca,
        show_path,
        parse_path
    ),
    setting!(
        "http-max-header-size",
        "",
        true,
        "floe: most bytes of an HTTP request line and headers; more gets 431 (a size)",
        http_header_size_max,
        |size: &u64| size.to_string(),
        |text: &str| parse_size(text).and_then(|size| at_least(size, 1 << 10))
    ),
    setting!(
        "http-max-url-size",
        "",
        true,
        "floe: most bytes of an HTTP request's path and query; more gets 414 (a size)",
        http_url_size_max,
        |size: &u64| size.to_string(),
        |text: &str| parse_size(text).and_then(|size| at_least(size, 256))
    ),
    setting!(
        "workers",
        "",
        false,
        "floe: server threads, one event loop each (0: half the cores, at least one)",
        workers,
        |count: &usize| count.to_string(),
        |text: &str| parse_number(text, 0, 1024)
            .map(|count| usize::try_from(count).unwrap_or(1024))
    ),
    setting!(
        "shards",
        "",
        false,
        "floe: keyspace shards, each with its own lock and an even share of maxmemory and \
         max-keys (0: four per core, fewer for small stores, one for the smallest)",
        shards,
        |count: &usize| count.to_string(),
        |text: &str| parse_number(text, 0, SHARD_COUNT_MAX as u64)
            .map(|count| usize::try_from(count).unwrap_or(SHARD_COUNT_MAX))
    ),
    setting!(
        "prefix-index",
        "",
        false,
        "floe: an ordered index of the keys answers KEYS/SCAN `prefix*`, Pizzaria `reads` \
         and HTTP `/kv?prefix=` without walking the table (heap memory per key: INFO \
         prefix_index_bytes). `auto`: built by the first such search, then kept; `yes`: \
         built at start; `no`: never",
        prefix_index,
        |mode: &PrefixIndexMode| show_prefix_index(*mode).to_owned(),
        parse_prefix_index
    ),
    setting!(
        "server-io",
        "",
        false,
        "floe: the server's event loop: auto | uring | epoll",
        server_io,
        |io: &ServerIo| io.to_string(),
        parse_server_io
    ),
    setting!(
        "requirepass",
        "",
        true,
        "the password clients must AUTH with (empty: none)",
        requirepass,
        |password: &String| password.clone(),
        |text: &str| Ok::<_, String>(text.to_owned())
    ),
    setting!(
        "aclfile",
        "",
        false,
        "the ACL users file (Redis's format, `user <name> <rules>` lines), read at start and \
         by ACL LOAD, written by ACL SAVE; with it, requirepass is ignored (empty: none)",
        aclfile,
        |path: &PathBuf| path.display().to_string(),
        |text: &str| Ok::<_, String>(PathBuf::from(text))
    ),
    setting!(
        "protected-mode",
        "",
        true,
        "`yes`: with no password, only loopback clients are served",
        protected_mode,
        |on: &bool| yes_no(*on),
        parse_switch
    ),
    setting!(
        "maxclients",
        "",
        true,
        "most clients connected at once",
        clients_max,
        |count: &u64| count.to_string(),
        |text: &str| parse_number(text, 1, 1 << 20)
    ),
    setting!(
        "timeout",
        "",
        true,
        "close a client idle this many seconds (0: never)",
        timeout_seconds,
        |seconds: &u64| seconds.to_string(),
        |text: &str| parse_number(text, 0, u64::from(u32::MAX))
    ),
    setting!(
        "proto-max-bulk-len",
        "",
        true,
        "largest bulk string in a request: 512mb",
        bulk_size_max,
        |size: &u64| size.to_string(),
        |text: &str| parse_size(text).and_then(|size| at_least(size, 1 << 20))
    ),
    setting!(
        "client-query-buffer-limit",
        "",
        true,
        "most bytes of requests a client may have unparsed",
        query_buffer_size_max,
        |size: &u64| size.to_string(),
        |text: &str| parse_size(text).and_then(|size| at_least(size, 1 << 20))
    ),
    setting!(
        "client-output-buffer-limit",
        "",
        true,
        "floe: most reply bytes a slow reader may have waiting; then it is closed (a size)",
        output_buffer_size_max,
        |size: &u64| size.to_string(),
        |text: &str| parse_size(text).and_then(|size| at_least(size, 1 << 16))
    ),
    setting!(
        "client-output-buffer-limit-pubsub",
        "",
        true,
        "floe: most bytes of replies and messages a subscribed client may have waiting; \
         then it is closed (a size; Redis's `client-output-buffer-limit pubsub` hard limit)",
        pubsub_output_buffer_size_max,
        |size: &u64| size.to_string(),
        |text: &str| parse_size(text).and_then(|size| at_least(size, 1 << 10))
    ),
    setting!(
        "slowlog-log-slower-than",
        "",
        true,
        "log commands slower than this many microseconds (negative: never)",
        slowlog_slower_than_us,
        |micros: &i64| micros.to_string(),
        parse_signed
    ),
    setting!(
        "slowlog-max-len",
        "",
        true,
        "entries the slow log keeps",
        slowlog_len_max,
        |count: &u64| count.to_string(),
        |text: &str| parse_number(text, 0, 1 << 20)
    ),
    setting!(
        "cluster-enabled",
        "",
        false,
        "`yes`: cluster mode: keys are routed by hash slot (MOVED, CROSSSLOT) over the slot \
         map `floe cluster create` pushes; only database 0 (see docs/cluster.md)",
        cluster_enabled,
        |on: &bool| yes_no(*on),
        parse_switch
    ),
    setting!(
        "replicaof",
        "slaveof",
        false,
        "replicate from this primary, `host port` (empty: be a primary); REPLICAOF changes \
         it while floe runs",
        replicaof,
        |primary: &Option<(String, u16)>| primary
            .as_ref()
            .map_or_else(String::new, |(host, port)| format!("{host} {port}")),
        parse_replicaof
    ),
    setting!(
        "masteruser",
        "",
        true,
        "the user a replica authenticates to its primary as (empty: default); read at \
         REPLICAOF",
        masteruser,
        |user: &String| user.clone(),
        |text: &str| Ok::<_, String>(text.to_owned())
    ),
    setting!(
        "masterauth",
        "",
        true,
        "the password a replica authenticates to its primary with (empty: none); read at \
         REPLICAOF",
        masterauth,
        |password: &String| password.clone(),
        |text: &str| Ok::<_, String>(text.to_owned())
    ),
    setting!(
        "replica-announce-ip",
        "slave-announce-ip",
        true,
        "the IP address a replica tells its primary to list it under (INFO, ROLE, and so \
         Sentinel), for a replica behind NAT or port forwarding (empty: the address the \
         primary sees); read at REPLICAOF",
        replica_announce_ip,
        |ip: &Option<std::net::IpAddr>| ip.map_or_else(String::new, |ip| ip.to_string()),
        parse_announce_ip
    ),
    setting!(
        "replica-announce-port",
        "slave-announce-port",
        true,
        "the port a replica tells its primary to list it under (0: its own port); read at \
         REPLICAOF",
        replica_announce_port,
        |port: &u16| port.to_string(),
        |text: &str| parse_number(text, 0, u16::MAX.into())
            .map(|port| u16::try_from(port).unwrap_or(0))
    ),
    setting!(
        "repl-backlog-size",
        "",
        false,
        "bytes of the newest log a primary keeps for replicas to catch up from (a size, at \
         least 64kb); a replica further behind syncs in full",
        repl_backlog_size,
        |size: &u64| size.to_string(),
        |text: &str| parse_size(text).and_then(|size| at_least(size, 64 << 10))
    ),
    setting!(
        "repl-timeout",
        "",
        true,
        "seconds a replica waits for its primary's answer before the link is down; read at \
         REPLICAOF",
        repl_timeout_seconds,
        |seconds: &u64| seconds.to_string(),
        |text: &str| parse_number(text, 1, 3600)
    ),
    setting!(
        "min-replicas-to-write",
        "min-slaves-to-write",
        true,
        "a primary refuses clients' writes (NOREPLICAS) while fewer replicas than this \
         acknowledged within min-replicas-max-lag seconds (0: never)",
        min_replicas_to_write,
        |count: &u64| count.to_string(),
        |text: &str| parse_number(text, 0, 1 << 16)
    ),
    setting!(
        "min-replicas-max-lag",
        "min-slaves-max-lag",
        true,
        "seconds since a replica's last acknowledgement for min-replicas-to-write to count \
         it (0: the refusal is off)",
        min_replicas_max_lag_seconds,
        |seconds: &u64| seconds.to_string(),
        |text: &str| parse_number(text, 0, 1 << 20)
    ),
    setting!(
        "replica-priority",
        "slave-priority",
        true,
        "a replica's priority for Sentinel, in INFO: the lowest is promoted first, 0 never",
        replica_priority,
        |priority: &u64| priority.to_string(),
        |text: &str| parse_number(text, 0, i32::MAX.unsigned_abs().into())
    ),
    setting!(
        "hash-max-listpack-entries",
        "hash-max-ziplist-entries",
        false,
        "a hash with more fields than this takes the large form (parts of about 16 fields)",
        hash_max_listpack_entries,
        |count: &u64| count.to_string(),
        |text: &str| parse_number(text, 0, u32::MAX.into())
    ),
    setting!(
        "hash-max-listpack-value",
        "hash-max-ziplist-value",
        false,
        "a hash with a field or value longer than this (bytes) takes the large form",
        hash_max_listpack_value,
        |size: &u64| size.to_string(),
        |text: &str| parse_number(text, 0, u32::MAX.into())
    ),
    setting!(
        "set-max-intset-entries",
        "",
        false,
        "a set of integers with more members than this takes the large form (parts of \
         about 16 members); up to 512 are kept in numeric order",
        set_max_intset_entries,
        |count: &u64| count.to_string(),
        |text: &str| parse_number(text, 0, u32::MAX.into())
    ),
    setting!(
        "set-max-listpack-entries",
        "set-max-ziplist-entries",
        false,
        "a set (not all integers) with more members than this takes the large form",
        set_max_listpack_entries,
        |count: &u64| count.to_string(),
        |text: &str| parse_number(text, 0, u32::MAX.into())
    ),
    setting!(
        "set-max-listpack-value",
        "set-max-ziplist-value",
        false,
        "a set (not all integers) with a member longer than this (bytes) takes the large form",
        set_max_listpack_value,
        |size: &u64| size.to_string(),
        |text: &str| parse_number(text, 0, u32::MAX.into())
    ),
    setting!(
        "list-max-listpack-size",
        "list-max-ziplist-size",
        false,
        "the most a list node holds: -1..-5 for 4, 8, 16, 32, 64 KiB, or a positive element \
         count; a longer list takes the large form (a chain of nodes)",
        list_max_listpack_size,
        |size: &i64| size.to_string(),
        parse_list_size
    ),
    setting!(
        "zset-max-listpack-entries",
        "zset-max-ziplist-entries",
        false,
        "a sorted set with more members than this takes the large form (a member index and \
         a counted B+ tree of parts)",
        zset_max_listpack_entries,
        |count: &u64| count.to_string(),
        |text: &str| parse_number(text, 0, u32::MAX.into())
    ),
    setting!(
        "zset-max-listpack-value",
        "zset-max-ziplist-value",
        false,
        "a sorted set with a member longer than this (bytes) takes the large form",
        zset_max_listpack_value,
        |size: &u64| size.to_string(),
        |text: &str| parse_number(text, 0, u32::MAX.into())
    ),
    setting!(
        "clean-dead-percent",
        "",
        false,
        "before taking memory it never used, floe cleans a segment that is at least this \
         percent holes (copies its live items away), so the process's resident memory \
         follows its live data; 0: reclaim only when maxmemory is reached",
        clean_dead_percent,
        |percent: &u64| percent.to_string(),
        |text: &str| parse_number(text, 0, 100)
    ),
    setting!(
        "huge-pages",
        "",
        false,
        "`yes`: ask the kernel to back the store's memory with transparent huge pages (2 \
         MiB): random lookups over a large store miss the TLB less (about 10% faster in \
         process), but memory is committed 2 MiB at a time; needs transparent_hugepage \
         `always` or `madvise`",
        huge_pages,
        |on: &bool| yes_no(*on),
        parse_switch
    ),
    setting!(
        "notify-keyspace-events",
        "",
        true,
        "keyspace events to publish, Redis's letters (KEA: all; empty: none)",
        notify_keyspace_events,
        |flags: &u16| crate::db::format_flags(*flags),
        crate::db::parse_flags
    ),
];

impl Settings {
    /// The setting named `name` (case-insensitive; aliases too).
    #[must_use]
    pub fn find(name: &str) -> Option<&'static Setting> {
        SETTINGS.iter().find(|setting| {
            setting.name.eq_ignore_ascii_case(name)
                || (!setting.alias.is_empty() && setting.alias.eq_ignore_ascii_case(name))
        })
    }

    /// Sets `name` to `value` as at start (the command line and config file may set every
    /// setting). Unchanged on error.
    ///
    /// # Errors
    /// [`SetError::Unknown`] or [`SetError::Invalid`].
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), SetError> {
        let setting = Self::find(name).ok_or_else(|| SetError::Unknown(name.to_owned()))?;
        let mut changed = self.clone();
        (setting.set)(&mut changed, value).map_err(|message| SetError::Invalid {
            name: setting.name,
            message,
        })?;
        *self = changed;
        Ok(())
    }

    /// `CONFIG SET`: as [`Settings::set`], for mutable settings only.
    ///
    /// # Errors
    /// As [`Settings::set`]; [`SetError::Immutable`].
    pub fn set_running(&mut self, name: &str, value: &str) -> Result<(), SetError> {
        let setting = Self::find(name).ok_or_else(|| SetError::Unknown(name.to_owned()))?;
        if !setting.mutable {
            return Err(SetError::Immutable(setting.name));
        }
        self.set(setting.name, value)
    }

    /// The value of a setting as CONFIG GET shows it.
    #[must_use]
    pub fn get(&self, setting: &Setting) -> String {
        (setting.get)(self)
    }

    /// Applies a config file: lines of `name value` (`#` comments, blank lines), as in
    /// `redis.conf`; a value may be double-quoted.
    ///
    /// # Errors
    /// A message naming the file, the line and what is wrong.
    pub fn load_file(&mut self, path: &Path) -> Result<(), String> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            format!("cannot read the config file `{}`: {error}", path.display())
        })?;
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, value) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|rest| rest.strip_suffix('"'))
                .unwrap_or(value);
            self.set(name, value)
                .map_err(|error| format!("{}:{}: {error}", path.display(), index + 1))?;
        }
        Ok(())
    }

    /// The config file text of these settings (`CONFIG REWRITE`).
    #[must_use]
    pub fn to_file(&self) -> String {
        let mut text = String::from("# floe configuration, written by CONFIG REWRITE\n");
        for setting in &SETTINGS {
            let value = self.get(setting);
            text.push_str(&format!(
                "{} \"{}\"\n",
                setting.name,
                value.replace('"', "")
            ));
        }
        text
    }

    /// The [`DbConfig`] these settings describe.
    ///
    /// # Errors
    /// A message naming the setting whose value cannot work and what would.
    pub fn db_config(&self) -> Result<DbConfig, String> {
        let memory_size = usize::try_from(self.memory_size).map_err(|_| {
            format!(
                "--maxmemory {}: too large for this machine",
                self.memory_size
            )
        })?;
        let keys_max = usize::try_from(self.keys_max)
            .map_err(|_| format!("--max-keys {}: too large for this machine", self.keys_max))?;
        let mut config = DbConfig::new(memory_size, keys_max);
        config.store.policy = self.policy;
        config.store.hash_max_listpack_entries =
            u32::try_from(self.hash_max_listpack_entries).unwrap_or(u32::MAX);
        config.store.hash_max_listpack_value =
            u32::try_from(self.hash_max_listpack_value).unwrap_or(u32::MAX);
        config.store.set_max_intset_entries =
            u32::try_from(self.set_max_intset_entries).unwrap_or(u32::MAX);
        config.store.set_max_listpack_entries =
            u32::try_from(self.set_max_listpack_entries).unwrap_or(u32::MAX);
        config.store.set_max_listpack_value =
            u32::try_from(self.set_max_listpack_value).unwrap_or(u32::MAX);
        config.store.list_max_listpack_size = i32::try_from(self.list_max_listpack_size)
            .unwrap_or(floe_core::store::LIST_MAX_LISTPACK_SIZE_DEFAULT);
        config.store.zset_max_listpack_entries =
            u32::try_from(self.zset_max_listpack_entries).unwrap_or(u32::MAX);
        config.store.zset_max_listpack_value =
            u32::try_from(self.zset_max_listpack_value).unwrap_or(u32::MAX);
        config.store.clean_dead_percent = u8::try_from(self.clean_dead_percent).unwrap_or(100);
        config.persistence = self.persistence;
        config.fsync = self.fsync;
        config.backend = self.backend;
        config.shards = self.shards;
        config.prefix_index = self.prefix_index;
        config.huge_pages = self.huge_pages;
        if let Err(error) = config.store.validate() {
            return Err(self.config_message(error));
        }
        config.validate().map_err(|error| error.to_string())?;
        Ok(config)
    }

    fn config_message(&self, error: ConfigError) -> String {
        let memory = human(self.memory_size);
        match error {
            ConfigError::MemoryTooSmall | ConfigError::ItemLargerThanSegment => format!(
                "--maxmemory {} ({memory}) is too small for the store's segments; give it at \
                 least 1mb",
                self.memory_size
            ),
            ConfigError::MemoryTooLarge => format!(
                "--maxmemory {} ({memory}) is above the largest the store supports (1tb)",
                self.memory_size
            ),
            ConfigError::KeysMaxTooLarge => format!(
                "--max-keys {} is above the largest the store's table supports",
                self.keys_max
            ),
            other => format!(
                "--maxmemory {} / --max-keys {}: the store cannot be built ({other:?})",
                self.memory_size, self.keys_max
            ),
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests;
