//! The replica's link: one thread that connects to the primary, authenticates
//! (`masteruser`/`masterauth`), syncs, and follows the primary's log until `REPLICAOF`
//! changes or shutdown; on any failure it marks the link down with the reason, waits
//! (backing off from [`BACKOFF_MIN`] to [`BACKOFF_MAX`]) and starts again.
//!
//! Full sync: `FLOESYNC FULL` makes the primary cut a snapshot; its bytes are fetched with
//! `FLOESYNC CHUNK` into memory, checked whole (every block's checksum, the counts, the
//! LSN), and only then loaded: the store is cleared and the items applied, through the
//! Db's write path (so a replica with persistence logs them like any write).
//!
//! Following: `FLOESYNC PULL` returns the primary's log bytes from the LSN after the last
//! one applied; with nothing new, the primary holds the pull (up to [`PULL_WAIT`]) until
//! something is appended, so the link asks again at once after an empty answer. [`decode_entries`] checks all of them (checksums, whole groups, LSNs dense
//! and in order) before any is applied; a failed check drops the link, and the next one
//! starts with a full sync. After a broken connection to the same primary process the
//! link resumes from its LSN when the primary's backlog still has it.
//!
//! Fault assumptions: the primary may vanish at any byte, be something else than floe,
//! refuse the password, or send damaged bytes: each is a reason for the link to be down,
//! never a panic, and the replica keeps serving reads throughout.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use floe_core::codec::log::{Entry, LogScanner};
use floe_core::codec::record::Record;
use floe_core::codec::snapshot::SnapshotView;

use super::wire::{Client, Reply};
use super::{LinkStatus, lock};
use crate::config::Settings;
use crate::db::Db;

/// First wait after a failed link.
pub const BACKOFF_MIN: Duration = Duration::from_millis(100);
/// Longest wait between two attempts.
pub const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How long a pull asks the primary to hold it while nothing is new (at most half of
/// `repl-timeout`, the link's read timeout).
pub const PULL_WAIT: Duration = Duration::from_millis(100);
/// Snapshot items loaded per write on the replica.
const LOAD_BATCH_COUNT: usize = 4096;

/// What the link needs of the settings, read at `REPLICAOF`.
#[derive(Debug, Clone)]
pub(crate) struct LinkConfig {
    host: String,
    port: u16,
    user: String,
    password: String,
    timeout: Duration,
    bulk_size_max: u64,
    /// What `FLOESYNC FULL` and `PULL` say the replica is: its port, or `ip:port` with
    /// `replica-announce-ip` (see [`super::announced`]).
    announce: String,
}

impl LinkConfig {
    pub(crate) fn new(host: &str, port: u16, settings: &Settings) -> Self {
        Self {
            host: host.to_owned(),
            port,
            user: settings.masteruser.clone(),
            password: settings.masterauth.clone(),
            timeout: Duration::from_secs(settings.repl_timeout_seconds),
            bulk_size_max: settings.bulk_size_max,
            announce: announce(settings),
        }
    }
}

/// The replica's address as `FLOESYNC` gives it: `replica-announce-port` (or `port`),
/// after `replica-announce-ip` and a colon when that is set.
fn announce(settings: &Settings) -> String {
    let port = match settings.replica_announce_port {
        0 => settings.port,
        port => port,
    };
    settings
        .replica_announce_ip
        .map_or_else(|| port.to_string(), |ip| format!("{ip}:{port}"))
}

/// One link thread's state.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) config: LinkConfig,
    pub(crate) db: Arc<Db>,
    pub(crate) status: Arc<Mutex<LinkStatus>>,
    pub(crate) own_replid: String,
    /// Held while a group is applied and counted (`resume.rs`).
    pub(crate) applying: Arc<Mutex<()>>,
    /// The generation this thread serves; it stops once `current` differs.
    pub(crate) generation: u64,
    pub(crate) current: Arc<AtomicU64>,
}

impl Link {
    /// Runs until the generation moves on (REPLICAOF, promotion, shutdown).
    pub(crate) fn run(self) {
        let mut backoff = BACKOFF_MIN;
        while self.live() {
            self.set_state("connecting", None);
            let Err(reason) = self.session(&mut backoff) else {
                break;
            };
            if !self.live() {
                break;
            }
            tracing::warn!(
                "replication link to {}:{} is down: {reason}; retrying in {} ms",
                self.config.host,
                self.config.port,
                backoff.as_millis()
            );
            self.set_state("connect", Some(reason));
            let until = Instant::now() + backoff;
            while self.live() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    /// The next attempt starts with a full sync.
    fn forget_offset(&self) {
        lock(&self.status).offset = None;
    }

    fn live(&self) -> bool {
        self.current.load(Ordering::Acquire) == self.generation
    }

    fn set_state(&self, state: &'static str, reason: Option<String>) {
        let mut status = lock(&self.status);
        status.state = state;
        if let Some(reason) = reason {
            status.reason = reason;
        }
    }

    /// One connection: `Ok` when stopped, the reason it failed otherwise.
    fn session(&self, backoff: &mut Duration) -> Result<(), String> {
        let config = &self.config;
        let address = (config.host.as_str(), config.port)
            .to_socket_addrs()
            .map_err(|error| format!("cannot resolve {}: {error}", config.host))?
            .next()
            .ok_or_else(|| format!("{} has no address", config.host))?;
        let stream = TcpStream::connect_timeout(&address, config.timeout)
            .map_err(|error| format!("cannot connect to {address}: {error}"))?;
        let io = |error: std::io::Error| match error.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => format!(
                "no answer from {address} within repl-timeout ({} s)",
                config.timeout.as_secs()
            ),
            _ => format!("connection to {address}: {error}"),
        };
        stream.set_read_timeout(Some(config.timeout)).map_err(io)?;
        stream.set_write_timeout(Some(config.timeout)).map_err(io)?;
        stream.set_nodelay(true).map_err(io)?;
        let mut client = Client::new(stream, config.bulk_size_max);
        if !config.password.is_empty() {
            let mut args: Vec<&[u8]> = vec![b"AUTH"];
            if !config.user.is_empty() {
                args.push(config.user.as_bytes());
            }
            args.push(config.password.as_bytes());
            match client.call(&args).map_err(io)? {
                Reply::Simple(_) => {}
                Reply::Error(text) => return Err(format!("the primary refused AUTH: {text}")),
                other => return Err(format!("unexpected reply to AUTH: {other:?}")),
            }
        }
        let (replid, offset) = {
            let status = lock(&self.status);
            (status.primary_replid.clone(), status.offset)
        };
        let (mut replid, mut applied) = match offset {
            // Resume: the first pull says whether the primary still has what follows.
            Some(offset) if !replid.is_empty() => (replid, offset),
            _ => self.full_sync(&mut client)?,
        };
        let wait_ms = PULL_WAIT.min(config.timeout / 2).as_millis().to_string();
        while self.live() {
            let next = (applied + 1).to_string();
            let args: [&[u8]; 6] = [
                b"FLOESYNC",
                b"PULL",
                replid.as_bytes(),
                next.as_bytes(),
                config.announce.as_bytes(),
                wait_ms.as_bytes(),
            ];
            match client.call(&args).map_err(io)? {
                Reply::Bulk(Some(bytes)) => {
                    {
                        let mut status = lock(&self.status);
                        status.state = "connected";
                        status.last_io = Instant::now();
                    }
                    *backoff = BACKOFF_MIN;
                    if bytes.is_empty() {
                        // The primary held the pull for the whole wait: ask again.
                        continue;
                    }
                    // Damaged bytes, or a write that failed part way: what this replica
                    // holds is no longer known to match an LSN (a SWAPDB must be applied
                    // exactly once), so the next attempt syncs in full.
                    let (records, last) =
                        decode_entries(&bytes, applied).inspect_err(|_| self.forget_offset())?;
                    // Applied and counted together, or (stopped) not at all: what a clean
                    // shutdown saves is exactly what the log holds.
                    let _applying = lock(&self.applying);
                    if !self.live() {
                        break;
                    }
                    self.db.replicate(&records).map_err(|error| {
                        self.forget_offset();
                        format!("applying the primary's records failed: {error}")
                    })?;
                    applied = last;
                    lock(&self.status).offset = Some(applied);
                }
                Reply::Error(text) if text.starts_with("FLOERESYNC") => {
                    tracing::info!("replication: {text}");
                    (replid, applied) = self.full_sync(&mut client)?;
                }
                Reply::Error(text) => return Err(format!("the primary refused PULL: {text}")),
                other => return Err(format!("unexpected reply to FLOESYNC PULL: {other:?}")),
            }
        }
        Ok(())
    }

    /// Fetches, checks and loads a snapshot; returns the primary's replication ID and the
    /// snapshot's LSN.
    fn full_sync(&self, client: &mut Client) -> Result<(String, u64), String> {
        self.set_state("sync", None);
        lock(&self.status).offset = None;
        let io = |error: std::io::Error| format!("full sync: {error}");
        let started = Instant::now();
        let reply = client
            .call(&[b"FLOESYNC", b"FULL", self.config.announce.as_bytes()])
            .map_err(io)?;
        let (replid, lsn, size, ancestry) = match reply {
            Reply::Array(Some(fields)) => match fields.as_slice() {
                [
                    Reply::Bulk(Some(replid)),
                    Reply::Integer(lsn),
                    Reply::Integer(size),
                    Reply::Array(Some(ancestry)),
                ] => (
                    String::from_utf8_lossy(replid).into_owned(),
                    u64::try_from(*lsn).map_err(|_| "a negative LSN from the primary")?,
                    u64::try_from(*size).map_err(|_| "a negative size from the primary")?,
                    ancestry
                        .iter()
                        .map(|replid| match replid {
                            Reply::Bulk(Some(replid)) => {
                                Ok(String::from_utf8_lossy(replid).into_owned())
                            }
                            other => Err(format!("unexpected replication ID: {other:?}")),
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                ),
                _ => return Err(format!("unexpected reply to FLOESYNC FULL: {fields:?}")),
            },
            Reply::Error(text) if text.starts_with("NOMASTERLINK") => {
                return Err(format!(
                    "the primary is a replica not yet holding its own primary's data ({text})"
                ));
            }
            Reply::Error(text) => {
                return Err(format!(
                    "the primary refused FLOESYNC ({text}): is it a floe server?"
                ));
            }
            other => return Err(format!("unexpected reply to FLOESYNC FULL: {other:?}")),
        };
        if replid == self.own_replid {
            return Err("the primary is this server itself".to_owned());
        }
        if ancestry.contains(&self.own_replid) {
            // Following it would copy this server's own clear and load back and forth.
            return Err(
                "replication loop: the primary is (through its primaries) a replica of this \
                 server"
                    .to_owned(),
            );
        }
        let lsn_text = lsn.to_string();
        let mut bytes = Vec::new();
        while (bytes.len() as u64) < size {
            if !self.live() {
                return Err("stopped".to_owned());
            }
            let offset = bytes.len().to_string();
            match client
                .call(&[
                    b"FLOESYNC",
                    b"CHUNK",
                    lsn_text.as_bytes(),
                    offset.as_bytes(),
                ])
                .map_err(io)?
            {
                Reply::Bulk(Some(chunk)) if !chunk.is_empty() => bytes.extend_from_slice(&chunk),
                Reply::Error(text) => return Err(format!("the primary refused CHUNK: {text}")),
                other => return Err(format!("unexpected reply to FLOESYNC CHUNK: {other:?}")),
            }
        }
        let view = SnapshotView::new_checked(&bytes).map_err(|error| {
            format!("the snapshot from the primary failed its checks: {error:?}")
        })?;
        if view.header().lsn != lsn {
            return Err(format!(
                "the snapshot from the primary holds LSN {}, not {lsn}",
                view.header().lsn
            ));
        }
        let load = |error: crate::db::DbError| format!("loading the primary's snapshot: {error}");
        self.db
            .replicate(&[Record::Clear { db: None }])
            .map_err(load)?;
        let mut batch = Vec::with_capacity(LOAD_BATCH_COUNT);
        let mut item_count = 0u64;
        for item in view.items() {
            batch.push(Record::Set {
                db: item.db,
                key: item.key,
                value: item.value,
                expires_at: item.expires_at,
                value_kind: item.kind,
            });
            if batch.len() == LOAD_BATCH_COUNT {
                self.db.replicate(&batch).map_err(load)?;
                batch.clear();
            }
            item_count += 1;
        }
        self.db.replicate(&batch).map_err(load)?;
        tracing::info!(
            "replication: full sync from {}:{} loaded {item_count} keys ({size} bytes, LSN \
             {lsn}) in {:.3} s",
            self.config.host,
            self.config.port,
            started.elapsed().as_secs_f64()
        );
        let mut status = lock(&self.status);
        status.primary_replid.clone_from(&replid);
        status.ancestry = ancestry;
        status.offset = Some(lsn);
        status.state = "connected";
        status.reason.clear();
        status.last_io = Instant::now();
        Ok((replid, lsn))
    }
}

/// Checks log bytes from the primary and returns their records above `applied`, in order,
/// with the last LSN they reach. Nothing is returned unless every byte passed: checksums,
/// whole groups, LSNs strictly increasing and dense from `applied + 1`.
///
/// # Errors
/// Why the bytes cannot be applied (the link is then dropped and a full sync follows).
pub fn decode_entries(bytes: &[u8], applied: u64) -> Result<(Vec<Record<'_>>, u64), String> {
    let mut scanner = LogScanner::new(bytes, None);
    let mut records = Vec::new();
    let mut last = applied;
    for entry in scanner.by_ref() {
        let (first, end) = match entry {
            Entry::Record { lsn, .. } => (lsn, lsn),
            Entry::Group(group) => (group.lsn_first, group.commit_lsn),
        };
        if end <= last {
            continue;
        }
        if first != last + 1 {
            return Err(format!(
                "the primary's log jumps from LSN {last} to {first}: not applied"
            ));
        }
        match entry {
            Entry::Record { record, .. } => records.push(record),
            Entry::Group(group) => records.extend(group.records().map(|(_, record)| record)),
        }
        last = end;
    }
    match scanner.verdict() {
        Some(verdict) if verdict.is_clean() => Ok((records, last)),
        verdict => Err(format!(
            "the log bytes from the primary failed their checks ({verdict:?}): not applied"
        )),
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use crate::log::LogBuffer;

    /// Log bytes as the primary's log holds them: `SET k<i> v<i>` at LSNs from `lsn_first`,
    /// then one group of two.
    fn log_bytes(lsn_first: u64) -> Vec<u8> {
        use floe_core::store::LogSink;
        let mut buffer = LogBuffer::new(true);
        buffer.record(Record::Set {
            db: 0,
            key: b"a",
            value: b"1",
            expires_at: 0,
            value_kind: floe_core::codec::record::ItemKind::String,
        });
        buffer.seal();
        buffer.record(Record::Set {
            db: 0,
            key: b"b",
            value: b"2",
            expires_at: 0,
            value_kind: floe_core::codec::record::ItemKind::String,
        });
        buffer.record(Record::Del { db: 0, key: b"a" });
        buffer.seal();
        let mut bytes = Vec::new();
        buffer.encode(lsn_first, &mut bytes);
        bytes
    }

    #[test]
    fn whole_entries_above_the_applied_lsn_are_returned() {
        let bytes = log_bytes(5);
        let (records, last) = decode_entries(&bytes, 4).unwrap();
        assert_eq!(records.len(), 3);
        // LSNs 5 (record), 6..=8 (two intents and a commit).
        assert_eq!(last, 8);
        let (records, last) = decode_entries(&bytes, 5).unwrap();
        assert_eq!(
            (records.len(), last),
            (2, 8),
            "the first record was applied"
        );
        let (records, last) = decode_entries(&bytes, 8).unwrap();
        assert_eq!((records.len(), last), (0, 8));
    }

    #[test]
    fn a_gap_is_refused() {
        let bytes = log_bytes(5);
        assert!(decode_entries(&bytes, 2).is_err());
    }

    #[test]
    fn any_flipped_bit_or_cut_is_refused_never_applied() {
        let bytes = log_bytes(5);
        for index in 0..bytes.len() {
            for bit in 0..8 {
                let mut damaged = bytes.clone();
                damaged[index] ^= 1 << bit;
                if let Ok((records, last)) = decode_entries(&damaged, 4) {
                    // A flip may only hit bytes no checksum covers if the result is the same.
                    panic!(
                        "flip at {index}.{bit} accepted: {} records to {last}",
                        records.len()
                    );
                }
            }
        }
        // A cut keeps at most the whole entries before it: here the first record alone.
        for cut in 1..bytes.len() {
            if let Ok((records, last)) = decode_entries(&bytes[..cut], 4) {
                assert_eq!((records.len(), last), (1, 5), "cut at {cut}");
            }
        }
    }
}
