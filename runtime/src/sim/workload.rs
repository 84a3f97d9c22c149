//! The workload: a seeded generator of store operations, run against a real [`Db`] on the
//! simulated disk, with every outcome fed to the [`Model`] and checked.
//!
//! One step is one operation: SET, SET with a TTL, DEL, MSET (a group), GET, CLEAR, SAVE,
//! a write to a collection (HSET/HDEL, LPUSH/RPUSH/LPOP/RPOP/LSET/LINSERT/LTRIM,
//! SADD/SREM, ZADD/ZREM, and SMOVE and LMOVE between two keys), a read of one, a PEXPIRE of one, a DEL or SET over one, a jump
//! of virtual time, a power loss, a process kill, or a clean restart. Reads are checked
//! against the model at once; a power loss, kill or restart is followed by recovery and a
//! check of every key (see [`super::checker`]).
//!
//! Keys: `key_count` string keys, then `collection_key_count` collection keys, each of one
//! type (hash, list, set, sorted set in turn). The store runs with thresholds drawn low
//! ([`super::collection::thresholds_draw`]), so collections take the large form (a header
//! and parts, a chain of list nodes) and split within a few dozen writes, and every power
//! loss, kill and restart recovers them. A collection write goes through the command path
//! as a door's does (`Db::apply`, then `Db::settle`); the model predicts its exact reply
//! and the collection afterwards (`collection_ops.rs`).
//!
//! Determinism: the runner is the clock's driver thread and makes one `Db` call at a time.
//! The log writer thread is the only other thread that touches the disk, and only while the
//! runner waits for it (an append under `always`; a flush under `everysec` and `no`), with
//! one exception: under `everysec` the writer may fdatasync right after a write is
//! acknowledged. The disk holds that sync at its gate until the flush returned (so the
//! flush never races it); then the runner predicts it exactly (it is due when the write's
//! device time is an interval past the last sync's, both of which the disk records) and
//! waits for it, and if it failed, waits until the store reports the poisoned log. So the
//! disk sees the same operations in the same order on every replay. If a predicted sync
//! never comes, the everysec promise is broken: that is a violation too.
//!
//! Invariants: every `Db` write's outcome reaches the model (acked, failed, or refused);
//! after a failure the runner restarts the store within a few steps, as an operator would.
//!
//! Fault assumptions: the disk's, `docs/fault-model.md`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use floe_core::store::Config;

use crate::db::{Db, DbConfig, DbError};
use crate::error::Error;
use crate::io::{Clock, Storage};
use crate::log::FsyncPolicy;
use crate::log::check::check_with;
use crate::sim::Sabotage;
use crate::sim::checker::{
    Entry, Model, Outcome, RecoveryEvidence, matches, value_bytes, value_size_min,
};
use crate::sim::collection::{self, Collection, Observed};

mod collection_ops;
mod damage;
use crate::sim::clock::SimClock;
use crate::sim::disk::{FaultConfig, FaultKind, SimDisk};
use crate::sim::rng::Prng;
use crate::sim::scenarios::{Scenario, ScenarioConfig};

/// The log writer's everysec interval (the [`crate::log::LogConfig`] default `Db` uses).
const EVERYSEC_INTERVAL_NS: u64 = 1_000_000_000;
/// How long (real time) the runner waits for an everysec sync it predicted.
const EVERYSEC_WAIT: Duration = Duration::from_secs(20);
/// Attempts at opening the store after a crash before giving up.
const OPEN_ATTEMPTS_MAX: u32 = 64;
/// Repairs tried before the runner wipes an unrecoverable directory.
const REPAIRS_MAX: u32 = 3;
/// Wall clock at virtual time 0: 2023-11-14.
const WALL_ORIGIN_MS: u64 = 1_700_000_000_000;
/// The simulated data directory.
const DATA_DIR: &str = "/floe/data";

/// Counters of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounters {
    /// Steps taken.
    pub steps: u64,
    /// Operations on the store: reads, writes, snapshots, opens.
    pub operations: u64,
    /// Reads checked against the model.
    pub reads: u64,
    /// Writes attempted.
    pub writes: u64,
    /// Writes acknowledged.
    pub acked: u64,
    /// Writes refused by the log (poisoned) or failed mid-way.
    pub failed: u64,
    /// Writes the store refused (a limit, or full under `noeviction`): nothing changed.
    pub refused: u64,
    /// Keys the store evicted (and the model followed).
    pub evicted: u64,
    /// Snapshots taken.
    pub snapshots: u64,
    /// Power losses (scheduled and injected).
    pub power_losses: u64,
    /// Process kills.
    pub kills: u64,
    /// Clean restarts.
    pub clean_restarts: u64,
    /// Recoveries checked key by key.
    pub recoveries: u64,
    /// Recoveries that refused and were repaired with `floe check --repair`.
    pub repairs: u64,
    /// Directories wiped because no repair could open them (damage the log could not cover).
    pub wipes: u64,
    /// Acknowledged writes lost to damage that recovery reported or that no log can see.
    pub lost_explained: u64,
    /// Writes to collections attempted.
    pub collection_writes: u64,
    /// Of those, writes that left a collection past its large-form threshold.
    pub large_writes: u64,
}

/// One run of one scenario with one seed.
pub(crate) struct Runner {
    config: ScenarioConfig,
    /// The policy the checker holds the store to.
    policy: FsyncPolicy,
    db_config: DbConfig,
    rng: Prng,
    disk: SimDisk,
    clock: Arc<SimClock>,
    dir: PathBuf,
    db: Option<Db>,
    model: Model,
    /// The store refused a write because its log failed; it must be restarted.
    failed: bool,
    failed_steps: u32,
    op_next: u64,
    sabotage: Option<Sabotage>,
    /// Fingerprint of what the checker saw, beside the disk's trace.
    outcome_hash: u64,
    /// Failed log fdatasyncs already accounted for.
    sync_failures_seen: u64,
    /// The log's sync progress before the current write call.
    sync_before: crate::sim::disk::LogSync,
    /// The store's eviction count before the current write call.
    evicted_before: u64,
    /// The store refused the current write call (then its flush failed): its own changes
    /// were not applied, only what it evicted first.
    refused: bool,
    /// Per collection key: the model's collection, with the op that wrote the model's
    /// entry it belongs to (checked on use: the two never drift apart).
    contents: Vec<(u64, Collection)>,
    pub(crate) counters: RunCounters,
}

/// How the store goes down before a recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Down {
    PowerLoss,
    Kill,
    Clean,
}

impl Runner {
    /// A fresh disk and clock, and the store opened on them.
    pub(crate) fn new(
        scenario: Scenario,
        seed: u64,
        sabotage: Option<Sabotage>,
    ) -> Result<Self, String> {
        let config = scenario.config(seed);
        let types = collection::CollectionType::ALL.len();
        assert!(
            config.collection_key_count > 0 && config.collection_key_count.is_multiple_of(types),
            "collection_key_count={}",
            config.collection_key_count
        );
        let clock = Arc::new(SimClock::new(WALL_ORIGIN_MS));
        let disk = SimDisk::new(seed, config.faults.clone(), Some(Arc::clone(&clock)));
        if sabotage == Some(Sabotage::SkipChecksums) {
            disk.forge_checksums(true);
        }
        // A sharded keyspace for two seeds in three, where the store is large enough to
        // split (not the tiny stores of the eviction configurations): segments sized for one
        // shard's share, limits for the whole.
        let shards = match [1, 2, 4][Prng::derive(seed, "shards").index(3)] {
            shards if config.memory_size >= 1 << 20 => shards,
            _ => 1,
        };
        // Parts take table slots: room for each collection's.
        let keys_max = config.key_count * 2 + config.collection_key_count * 64;
        let mut store = Config {
            memory_size: config.memory_size,
            keys_max,
            ..Config::new(config.memory_size / shards, keys_max / shards)
        };
        store.value_size_max = store.value_size_max.max(config.value_size_max);
        store.policy = config.eviction;
        collection::thresholds_draw(&mut Prng::derive(seed, "thresholds"), &mut store);
        let db_config = DbConfig {
            store,
            persistence: true,
            // The broken build: acknowledges before any fdatasync, while the checker still
            // holds it to `always`.
            fsync: if sabotage == Some(Sabotage::AckBeforeSync) {
                FsyncPolicy::No
            } else {
                config.policy
            },
            segment_size_max: config.segment_size_max,
            // Snapshots run only when the workload asks, on its own thread.
            snapshot_log_size: 0,
            shards,
            ..DbConfig::new(config.memory_size, keys_max)
        };
        let mut runner = Self {
            policy: config.policy,
            rng: Prng::derive(seed, "workload"),
            model: Model::new(config.key_count + config.collection_key_count),
            contents: (0..config.collection_key_count)
                .map(|slot| (0, collection::slot_type(slot).empty()))
                .collect(),
            config,
            db_config,
            disk,
            clock,
            dir: PathBuf::from(DATA_DIR),
            db: None,
            failed: false,
            failed_steps: 0,
            op_next: 1,
            sabotage,
            outcome_hash: seed,
            sync_failures_seen: 0,
            sync_before: crate::sim::disk::LogSync::default(),
            evicted_before: 0,
            refused: false,
            counters: RunCounters::default(),
        };
        runner.open_and_check(0, false)?;
        Ok(runner)
    }

    /// The fingerprint of the run so far: the disk's operations and the checker's verdicts.
    pub(crate) fn trace_hash(&self) -> u64 {
        self.disk.trace_hash() ^ self.outcome_hash.rotate_left(17)
    }

    /// Faults injected so far.
    pub(crate) fn fault_counts(&self) -> crate::sim::disk::FaultCounts {
        self.disk.fault_counts()
    }

    /// Takes one step.
    ///
    /// # Errors
    /// The violation, described.
    pub(crate) fn step(&mut self) -> Result<(), String> {
        self.counters.steps += 1;
        let think_ns = self.rng.below(self.config.think_ns_max.max(1));
        self.clock.advance(think_ns);
        if self.failed {
            self.failed_steps += 1;
            if self.failed_steps > 3 {
                let down = if self.rng.chance(0.5) {
                    Down::PowerLoss
                } else {
                    Down::Kill
                };
                return self.recover(down);
            }
        }
        self.operation()?;
        if self.disk.crashed() {
            // Power was lost during the step (an injected crash).
            self.recover(Down::PowerLoss)?;
        } else if self.config.verify_every_step {
            self.verify_live()?;
        }
        self.clock.settle();
        Ok(())
    }

    /// Chooses and runs one operation.
    fn operation(&mut self) -> Result<(), String> {
        let mix = self.config.mix;
        let weights = [
            mix.set,
            mix.set_ttl,
            mix.delete,
            mix.set_many,
            mix.get,
            mix.collection_write,
            mix.collection_read,
            mix.collection_expire,
            mix.collection_drop,
            mix.clear,
            mix.snapshot,
            mix.sleep,
            mix.power_loss,
            mix.kill,
            mix.restart,
        ];
        let total: u64 = weights.iter().map(|&weight| u64::from(weight)).sum();
        let mut pick = self.rng.below(total.max(1));
        let mut choice = 0;
        for (index, &weight) in weights.iter().enumerate() {
            if pick < u64::from(weight) {
                choice = index;
                break;
            }
            pick -= u64::from(weight);
        }
        match choice {
            0 => self.set(None),
            1 => {
                let ttl_ms = self.rng.between(1, 5_000);
                self.set(Some(ttl_ms))
            }
            2 => self.delete(),
            3 => self.set_many(),
            4 => self.get(),
            5 => self.collection_write(),
            6 => self.collection_read(),
            7 => self.collection_expire(),
            8 => self.collection_drop(),
            9 => self.clear(),
            10 => self.snapshot(),
            11 => {
                self.clock
                    .advance(self.rng.between(500_000_000, 3_000_000_000));
                Ok(())
            }
            12 => {
                // Power goes in the middle of one of the next few disk operations (or at
                // once, between operations, one time in four).
                if self.rng.chance(0.25) {
                    self.recover(Down::PowerLoss)
                } else {
                    self.disk.crash_after(self.rng.between(1, 12));
                    Ok(())
                }
            }
            13 => self.recover(Down::Kill),
            _ => self.recover(Down::Clean),
        }
    }

    fn db(&self) -> &Db {
        match &self.db {
            Some(db) => db,
            None => unreachable!("the store is open between steps"),
        }
    }

    fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    fn key(&self, key_index: usize) -> Vec<u8> {
        format!("key:{key_index:05}").into_bytes()
    }

    fn random_key(&mut self) -> usize {
        self.rng.index(self.config.key_count)
    }

    /// A new op id and a value size for `key_index`.
    fn value_for(&mut self, op_id: u64, key_index: usize) -> u32 {
        let size_min = value_size_min(op_id, key_index);
        let size_max = self.config.value_size_max.max(size_min);
        // Mostly small values, now and then a large one.
        let high = if self.rng.chance(0.1) {
            size_max
        } else {
            size_min.saturating_add(32).min(size_max)
        };
        u32::try_from(self.rng.between(u64::from(size_min), u64::from(high))).unwrap_or(size_min)
    }

    fn set(&mut self, ttl_ms: Option<u64>) -> Result<(), String> {
        let key_index = self.random_key();
        self.set_key(key_index, ttl_ms)
    }

    /// SET (with a TTL, if given) of a value of its own to `key_index`.
    fn set_key(&mut self, key_index: usize, ttl_ms: Option<u64>) -> Result<(), String> {
        let op_id = self.next_op();
        let size = self.value_for(op_id, key_index);
        let key = self.key(key_index);
        let value = value_bytes(op_id, key_index, size);
        let expires_at = ttl_ms.map_or(0, |ttl_ms| self.now_ms() + ttl_ms);
        let entry = Some(Entry {
            op_id,
            size,
            expires_at,
            digest: None,
        });
        let (kind, outcome) = match ttl_ms {
            None => ("set", self.call(|db| db.set(&key, &value))),
            Some(ttl_ms) => (
                "setex",
                self.call(|db| db.set_with_ttl(&key, &value, Duration::from_millis(ttl_ms))),
            ),
        };
        self.written(op_id, kind, &[(key_index, entry)], outcome.map(|()| None))
    }

    fn delete(&mut self) -> Result<(), String> {
        let key_index = self.random_key();
        self.delete_key(key_index)
    }

    /// DEL of `key_index`, whatever it holds.
    fn delete_key(&mut self, key_index: usize) -> Result<(), String> {
        let op_id = self.next_op();
        let key = self.key(key_index);
        let now = self.now_ms();
        let visible = self
            .model
            .live(key_index)
            .is_some_and(|entry| entry.visible(now));
        let changes: &[(usize, Option<Entry>)] = if visible { &[(key_index, None)] } else { &[] };
        let outcome = self.call(|db| db.delete(&key));
        self.written(op_id, "del", changes, outcome.map(Some))
    }

    fn set_many(&mut self) -> Result<(), String> {
        let op_id = self.next_op();
        let count = self
            .rng
            .between(2, self.config.group_size_max.max(2) as u64);
        let mut key_indexes: Vec<usize> = Vec::new();
        for _ in 0..count {
            let key_index = self.random_key();
            if !key_indexes.contains(&key_index) {
                key_indexes.push(key_index);
            }
        }
        let mut changes = Vec::with_capacity(key_indexes.len());
        let mut keys = Vec::with_capacity(key_indexes.len());
        let mut values = Vec::with_capacity(key_indexes.len());
        for &key_index in &key_indexes {
            let size = self.value_for(op_id, key_index);
            changes.push((
                key_index,
                Some(Entry {
                    op_id,
                    size,
                    expires_at: 0,
                    digest: None,
                }),
            ));
            keys.push(self.key(key_index));
            values.push(value_bytes(op_id, key_index, size));
        }
        let pairs: Vec<(&[u8], &[u8])> = keys
            .iter()
            .zip(&values)
            .map(|(key, value)| (key.as_slice(), value.as_slice()))
            .collect();
        let outcome = self.call(|db| db.set_many(&pairs));
        self.written(op_id, "mset", &changes, outcome.map(|()| None))
    }

    fn clear(&mut self) -> Result<(), String> {
        let op_id = self.next_op();
        let changes: Vec<(usize, Option<Entry>)> = (0..self.model.key_count())
            .filter(|&key_index| self.model.live(key_index).is_some())
            .map(|key_index| (key_index, None))
            .collect();
        let outcome = self.call(Db::clear);
        self.written(op_id, "clear", &changes, outcome.map(|()| None))
    }

    fn get(&mut self) -> Result<(), String> {
        let key_index = self.random_key();
        let key = self.key(key_index);
        let value = self.db().get(&key);
        self.counters.reads += 1;
        self.counters.operations += 1;
        self.model
            .check_read(key_index, value.as_deref(), self.now_ms())
    }

    fn snapshot(&mut self) -> Result<(), String> {
        self.counters.operations += 1;
        match self.db().save() {
            Ok(_) => {
                if self.failed {
                    return Err("a snapshot succeeded after the log failed".to_owned());
                }
                self.counters.snapshots += 1;
                // The snapshot is durable and holds every change applied so far.
                self.model.make_durable();
                Ok(())
            }
            // A failed snapshot leaves the previous one and the log intact.
            Err(DbError::Runtime(_)) => Ok(()),
            Err(other) => Err(format!("snapshot failed unexpectedly: {other}")),
        }
    }

    /// Makes one write call. Under `everysec` and `no` a write returns once queued, so this
    /// also waits until it is written: the writer's batches (and so the disk's operations)
    /// must not depend on thread timing. Under `everysec` the sync gate is closed meanwhile
    /// (see [`SimDisk::gate_syncs`]), so the flush cannot race the writer's fdatasync.
    ///
    /// A write the store refused may have evicted first, and those deletes are logged: it
    /// is flushed too.
    fn call<T>(&mut self, call: impl FnOnce(&Db) -> Result<T, DbError>) -> Result<T, DbError> {
        self.sync_before = self.disk.log_sync();
        self.evicted_before = self.db().stats().store.evicted;
        self.refused = false;
        let fsync = self.db_config.fsync;
        let _gate = (fsync == FsyncPolicy::Everysec).then(|| SyncGate::close(&self.disk));
        let db = self.db();
        match call(db) {
            Ok(value) if fsync != FsyncPolicy::Always => db.flush().map(|()| value),
            Err(DbError::Store(error)) if fsync != FsyncPolicy::Always => {
                let flushed = db.flush();
                self.refused = flushed.is_err();
                flushed.and(Err(DbError::Store(error)))
            }
            other => other,
        }
    }

    /// Whether the store holds what `changes` wrote (their first written key reads as
    /// written, or is gone; a group is all or nothing): a write that failed in the log was
    /// applied.
    ///
    /// # Errors
    /// The key reads back broken (see [`Runner::observe`]).
    fn holds(&self, changes: &[(usize, Option<Entry>)]) -> Result<bool, String> {
        let Some(&(key_index, expected)) = changes.first() else {
            return Ok(true); // Nothing to change.
        };
        let observed = self.observe(key_index)?.map(|observed| observed.bytes());
        let now = self.now_ms();
        Ok(matches(
            observed.as_deref(),
            expected.filter(|entry| entry.visible(now)),
            key_index,
        ))
    }

    /// The keys the current write evicted, as deletions: the log holds them in the write's
    /// group (or, for a write the store then refused, on their own), so they are kept or
    /// lost with it. `written` are the changes of a write that applied; the keys it wrote
    /// are present afterwards whatever it evicted on the way.
    ///
    /// # Errors
    /// More keys vanished than the store says it evicted: a write lost data.
    fn evicted_changes(
        &mut self,
        written: &[(usize, Option<Entry>)],
    ) -> Result<Vec<(usize, Option<Entry>)>, String> {
        let evicted_count = self
            .db()
            .stats()
            .store
            .evicted
            .saturating_sub(self.evicted_before);
        if evicted_count == 0 {
            return Ok(Vec::new());
        }
        self.counters.evicted += evicted_count;
        let now = self.now_ms();
        let present: std::collections::HashSet<Vec<u8>> = self.db().keys().into_iter().collect();
        self.counters.operations += 2;
        let vanished: Vec<(usize, Option<Entry>)> = (0..self.model.key_count())
            .filter(|&key_index| written.iter().all(|&(written, _)| written != key_index))
            .filter(|&key_index| {
                self.model
                    .live(key_index)
                    .is_some_and(|entry| entry.visible(now))
            })
            .filter(|&key_index| !present.contains(&self.key(key_index)))
            .map(|key_index| (key_index, None))
            .collect();
        if u64::try_from(vanished.len()).unwrap_or(u64::MAX) > evicted_count {
            return Err(format!(
                "a write evicted {evicted_count} keys but {} keys vanished",
                vanished.len()
            ));
        }
        Ok(vanished)
    }

    fn next_op(&mut self) -> u64 {
        let op_id = self.op_next;
        self.op_next += 1;
        op_id
    }

    /// Feeds a write's outcome to the model. `outcome` is `Ok(Some(existed))` for a delete.
    fn written(
        &mut self,
        op_id: u64,
        kind: &'static str,
        changes: &[(usize, Option<Entry>)],
        outcome: Result<Option<bool>, DbError>,
    ) -> Result<(), String> {
        self.counters.writes += 1;
        self.counters.operations += 1;
        // A write the store refused wrote nothing: a key of its own that it evicted before
        // giving up is gone.
        let applied = match &outcome {
            Err(DbError::Store(_)) => false,
            // The log's failure hides the store's answer: a write the store refused after
            // evicting (its deletes were still logged) fails the same way. Look.
            Err(DbError::Runtime(_)) => !self.refused && self.holds(changes)?,
            _ => true,
        };
        let evicted = self.evicted_changes(if applied { changes } else { &[] })?;
        let with_evicted: Vec<(usize, Option<Entry>)> =
            changes.iter().chain(&evicted).copied().collect();
        match outcome {
            Ok(existed) => {
                if self.failed {
                    return Err(format!(
                        "{kind} op {op_id} was acknowledged after the log had failed"
                    ));
                }
                let modelled = !changes.is_empty();
                if let Some(existed) = existed
                    && existed != modelled
                {
                    return Err(format!(
                        "del op {op_id} said the key existed={existed}, the model says {modelled}"
                    ));
                }
                self.counters.acked += 1;
                if !with_evicted.is_empty() {
                    self.model.apply(op_id, kind, &with_evicted, Outcome::Acked);
                }
                self.acknowledged()
            }
            // Refused by the store (a limit, or out of memory): the write changed nothing,
            // but it may have evicted keys before it gave up, and those are logged.
            Err(DbError::Store(_)) => {
                self.counters.refused += 1;
                if evicted.is_empty() {
                    return Ok(());
                }
                self.model.apply(op_id, "evicted", &evicted, Outcome::Acked);
                self.acknowledged()
            }
            Err(DbError::Runtime(error)) => {
                self.counters.failed += 1;
                if !self.failed {
                    // The first failure: the store applied the write (or, if it refused
                    // it, the evictions it made first) before the log failed.
                    let changed = if applied { &with_evicted } else { &evicted };
                    if !changed.is_empty() {
                        self.model.apply(op_id, kind, changed, Outcome::Failed);
                    }
                    self.failed = true;
                    self.failed_steps = 0;
                }
                self.hash_outcome(&error.to_string().len().to_le_bytes());
                Ok(())
            }
            Err(other) => Err(format!("{kind} op {op_id} failed unexpectedly: {other}")),
        }
    }

    /// What an acknowledgement promises, per policy; and the everysec settle.
    fn acknowledged(&mut self) -> Result<(), String> {
        match self.policy {
            FsyncPolicy::Always => self.model.make_durable(),
            FsyncPolicy::Everysec => {
                self.settle_everysec()?;
                if self.disk.log_durable() {
                    self.model.make_durable();
                }
            }
            FsyncPolicy::No => {
                if self.disk.log_durable() {
                    self.model.make_durable();
                }
            }
        }
        Ok(())
    }

    /// Waits for the fdatasync the log writer owes after this write, if one is due.
    fn settle_everysec(&mut self) -> Result<(), String> {
        if self.db_config.fsync != FsyncPolicy::Everysec {
            return Ok(());
        }
        let sync = self.disk.log_sync();
        let due = sync.write_ns >= sync.last_ns.saturating_add(EVERYSEC_INTERVAL_NS);
        if due && !self.disk.wait_log_sync(sync.attempts, EVERYSEC_WAIT) {
            return Err(format!(
                "everysec broken: a write at device time {} ns found the last fdatasync at {} ns, \
                 over the 1 s interval, and the log writer did not sync within {EVERYSEC_WAIT:?}",
                sync.write_ns, sync.last_ns
            ));
        }
        // The sync may have run (and failed) before `sync` was read: compare with the state
        // before the write.
        if self.disk.log_sync().failures > self.sync_before.failures && !self.disk.crashed() {
            // The sync failed: the writer poisons the log right after. Wait until the store
            // says so, or the next write would race the poisoning.
            let deadline = std::time::Instant::now() + EVERYSEC_WAIT;
            while self.db().flush().is_ok() {
                if std::time::Instant::now() > deadline {
                    return Err("a failed fdatasync did not poison the log".to_owned());
                }
                std::thread::yield_now();
            }
            self.failed = true;
            self.failed_steps = 0;
        }
        Ok(())
    }

    /// Reads every key of the running store and checks it against the model.
    fn verify_live(&mut self) -> Result<(), String> {
        let now = self.now_ms();
        let mut present = 0;
        for key_index in 0..self.model.key_count() {
            let value = self.observe(key_index)?.map(|observed| observed.bytes());
            present += usize::from(value.is_some());
            self.check_read(key_index, value.as_deref(), now)?;
        }
        let keys = self.db().keys();
        self.counters.operations += u64::try_from(self.model.key_count()).unwrap_or(0) + 1;
        if keys.len() != present {
            return Err(format!(
                "keys() lists {} keys but {present} keys read back",
                keys.len()
            ));
        }
        Ok(())
    }

    /// Takes the store down (power loss, kill, clean close), brings it back, and checks it.
    fn recover(&mut self, down: Down) -> Result<(), String> {
        let mut down = down;
        let Some(db) = self.db.take() else {
            unreachable!("the store is open between steps");
        };
        match down {
            Down::PowerLoss => {
                self.counters.power_losses += 1;
                self.disk.crash();
            }
            Down::Kill => {
                self.counters.kills += 1;
                self.disk.kill();
            }
            Down::Clean => self.counters.clean_restarts += 1,
        }
        let closed = db.close();
        drop(db);
        if down == Down::Clean {
            match closed {
                // Everything is written and synced (under every policy).
                Ok(()) if !self.failed => self.model.make_durable(),
                Ok(()) => return Err("close succeeded after the log had failed".to_owned()),
                // The power went during the close, or the log had failed: a kill, in effect.
                Err(_) if self.disk.crashed() => down = Down::PowerLoss,
                Err(_) => {
                    // The process exits with unsynced pages in the page cache: they reach
                    // the media as after a kill.
                    self.disk.kill();
                    down = Down::Kill;
                }
            }
        }
        let power_loss = down == Down::PowerLoss;
        // A failed fdatasync may have dropped written pages (fsyncgate): after one, only what
        // a successful sync covered is owed, even when only the process died.
        let sync_failures = self.disk.log_sync().failures;
        let sync_failed = sync_failures > self.sync_failures_seen;
        self.sync_failures_seen = sync_failures;
        let floor = self.model.floor(power_loss || sync_failed);
        if down != Down::Clean {
            self.disk.restart();
            if power_loss {
                self.aim_damage();
            }
        }
        self.open_and_check(floor, power_loss)
    }

    /// Opens the store (repairing what recovery refuses, if the disk damaged it) and checks
    /// every key against the model.
    fn open_and_check(&mut self, floor: usize, power_loss: bool) -> Result<(), String> {
        let mut evidence = RecoveryEvidence {
            reported: false,
            damaged: false,
            undetectable: false,
            repaired: false,
        };
        let mut repairs = 0;
        let mut last_error = String::new();
        for _ in 0..OPEN_ATTEMPTS_MAX {
            if self.disk.crashed() {
                // The power went during recovery or repair.
                self.disk.restart();
            }
            self.note_damage(&mut evidence);
            let truncate_count = self.disk.truncate_count();
            self.disk.set_log_sync_last_ns(self.clock.driver_ns());
            let storage: Arc<dyn Storage> = Arc::new(self.disk.clone());
            let clock: Arc<dyn Clock> = self.clock.clone();
            self.counters.operations += 1;
            let opened = Db::open_with(&self.dir, self.db_config.clone(), Some(storage), clock);
            // A torn tail recovery cut is reported on stderr as it is cut, even by an attempt
            // that fails or loses power after it (the next attempt then sees no tail to cut).
            evidence.reported |= self.disk.truncate_count() > truncate_count;
            match opened {
                Ok(db) if self.disk.crashed() => {
                    let _closing = db.close(); // The power is off: this fails, as it should.
                }
                Ok(db) => {
                    if let Some(report) = db.recovery() {
                        evidence.reported |=
                            !report.cuts.is_empty() || !report.snapshots_skipped.is_empty();
                    }
                    self.db = Some(db);
                    break;
                }
                Err(_) if self.disk.crashed() => {}
                Err(DbError::Runtime(error)) if refusal(&error) => {
                    self.note_damage(&mut evidence);
                    if !evidence.damaged && self.sabotage.is_none() {
                        return Err(format!(
                            "recovery refused although the disk damaged nothing: {error}"
                        ));
                    }
                    repairs += 1;
                    if repairs > REPAIRS_MAX {
                        // Damage the log does not cover (a snapshot's only copy): the data is
                        // gone and recovery said so. Start over, as an operator would.
                        self.disk.wipe(&self.dir);
                        self.model = Model::new(self.model.key_count());
                        self.counters.wipes += 1;
                        evidence.repaired = true;
                        continue;
                    }
                    self.counters.repairs += 1;
                    evidence.repaired = true;
                    evidence.reported = true;
                    // `floe check --repair`: cut where recovery refused. Its own failures
                    // (injected EIO, a crash) are retried by the next round.
                    let _report = check_with(&self.disk, &*self.clock, &self.dir, true);
                    last_error = error.to_string();
                }
                Err(DbError::Runtime(Error::Io { source, .. }))
                    if injected(&source) && self.config.faults != FaultConfig::none() =>
                {
                    last_error = source.to_string();
                }
                Err(other) => return Err(format!("the store failed to open: {other}")),
            }
        }
        if self.db.is_none() {
            return Err(format!(
                "the store did not open after {OPEN_ATTEMPTS_MAX} attempts: {last_error}"
            ));
        }
        self.counters.recoveries += 1;
        self.failed = false;
        self.failed_steps = 0;
        let now = self.now_ms();
        let read: Vec<Option<Observed>> = (0..self.model.key_count())
            .map(|key_index| self.observe(key_index))
            .collect::<Result<_, String>>()
            .map_err(|message| format!("after recovery: {message}"))?;
        let observed: Vec<Option<Vec<u8>>> = read
            .iter()
            .map(|value| value.as_ref().map(Observed::bytes))
            .collect();
        self.counters.operations += u64::try_from(self.model.key_count()).unwrap_or(0) + 1;
        // A damaged key that recovery applied would be a key outside the universe: the store
        // must list exactly the keys that read back.
        let listed = self.db().keys();
        let present = observed.iter().filter(|value| value.is_some()).count();
        if listed.len() != present {
            let strangers: Vec<String> = listed
                .iter()
                .filter(|key| !key.starts_with(b"key:") || key.len() != 9)
                .take(3)
                .map(|key| String::from_utf8_lossy(key).into_owned())
                .collect();
            return Err(format!(
                "corruption served: after recovery keys() lists {} keys but {present} of the \
                 workload's keys read back (keys no write produced: {strangers:?})",
                listed.len()
            ));
        }
        let floor = floor.min(self.model.history_len());
        let verdict = self
            .model
            .check_recovered(&observed, now, floor, evidence)
            .map_err(|message| {
                let how = if power_loss { "power loss" } else { "restart" };
                format!("after a {how}: {message}")
            })?;
        self.counters.lost_explained += u64::try_from(verdict.lost_acked).unwrap_or(0);
        self.hash_outcome(&u64::try_from(verdict.prefix).unwrap_or(0).to_le_bytes());
        self.contents_adopt(read);
        Ok(())
    }

    /// Adds the disk's damage to `evidence`: what happened since the last look, and damaged
    /// regions still on the media.
    fn note_damage(&mut self, evidence: &mut RecoveryEvidence) {
        let fresh = self.disk.take_damage();
        let live = self.disk.damage_live();
        for damage in fresh.iter().chain(&live) {
            evidence.damaged = true;
            evidence.undetectable |= matches!(
                damage.kind,
                FaultKind::Truncation | FaultKind::LostWrite | FaultKind::MisdirectedWrite
            );
        }
    }

    fn hash_outcome(&mut self, bytes: &[u8]) {
        self.outcome_hash = floe_core::hash::wyhash(bytes, self.outcome_hash);
    }

    /// Closes the store at the end of a run (a clean shutdown; failures were reported).
    pub(crate) fn finish(mut self) -> RunCounters {
        if let Some(db) = self.db.take() {
            let _closing = db.close(); // The run is over; a poisoned log was already seen.
        }
        self.counters
    }
}

/// Keeps the disk's sync gate closed while it lives (opened again on every path out,
/// unwinding included, or the log writer would wait at the gate forever).
struct SyncGate<'a>(&'a SimDisk);

impl<'a> SyncGate<'a> {
    fn close(disk: &'a SimDisk) -> Self {
        disk.gate_syncs(true);
        Self(disk)
    }
}

impl Drop for SyncGate<'_> {
    fn drop(&mut self) {
        self.0.gate_syncs(false);
    }
}

/// Whether an open error is recovery refusing damaged data (as opposed to an I/O error).
fn refusal(error: &Error) -> bool {
    match error {
        Error::Corrupt { .. } => true,
        Error::Io { source, .. } => matches!(
            source.kind(),
            // A newer format, or a damaged snapshot whose changes the log no longer holds.
            std::io::ErrorKind::Unsupported | std::io::ErrorKind::InvalidData
        ),
        _ => false,
    }
}

/// Whether an I/O error is one the disk injects (EIO, ENOSPC, EACCES).
fn injected(source: &std::io::Error) -> bool {
    matches!(
        source.raw_os_error(),
        Some(libc::EIO | libc::ENOSPC | libc::EACCES)
    )
}
