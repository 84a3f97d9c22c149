//! Poro's eight scenarios, as configurations of the simulated disk and the workload.
//!
//! | scenario | faults | what it stresses |
//! |---|---|---|
//! | `perfect` | none | basic operations, snapshots, clean restarts and process kills: nothing acknowledged may ever be lost |
//! | `corruption` | bit flips in log records (on write and at rest), power loss, torn writes | every flip is detected (a cut tail or a refusal), never applied |
//! | `completion_corruption` | damage aimed at group commit records, power loss, torn writes | groups are all or nothing; a damaged commit drops its group, reported |
//! | `massive` | power loss, torn writes | large values, many keys, big groups, small segments: rolls, snapshots, compaction |
//! | `random` | every fault at low rates, any fsync policy | everything at once |
//! | `truncation` | log segments cut at random offsets, power loss | recovery yields a prefix; groups stay whole |
//! | `comprehensive` | as `random` | full state verification after every step |
//! | `filesystem` | ENOSPC, EIO on read/write/fsync, EACCES, slow I/O | the log poisons itself and refuses writes; nothing unsynced is acknowledged |
//!
//! `perfect`, `random` and `comprehensive` run three seeds in four on a store of 6 to 24 KiB
//! (the workload's 1,024 keys need about 64 KiB) under a seed-chosen eviction policy, so
//! eviction and its replay are checked like every other write.
//!
//! Invariants: a scenario's configuration is a pure function of its name and the seed.
//!
//! Fault assumptions: each row of the table is a subset of `docs/fault-model.md`.

use std::fmt;
use std::str::FromStr;

use floe_core::storage::policy::EvictionPolicy;

use crate::log::FsyncPolicy;
use crate::sim::disk::{FaultConfig, FileClass};
use crate::sim::rng::Prng;

/// One of Poro's scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// No faults: basic operations, snapshots, clean restarts, process kills.
    Perfect,
    /// Bit flips in log records.
    Corruption,
    /// Damage to group completion (commit) records.
    CompletionCorruption,
    /// Large data load.
    Massive,
    /// Random faults of every kind.
    Random,
    /// Log truncated at random offsets.
    Truncation,
    /// Everything, with full state verification after every step.
    Comprehensive,
    /// ENOSPC, EIO, permissions, fsync failures.
    Filesystem,
}

impl Scenario {
    /// Every scenario, in Poro's order.
    pub const ALL: [Self; 8] = [
        Self::Perfect,
        Self::Corruption,
        Self::CompletionCorruption,
        Self::Massive,
        Self::Random,
        Self::Truncation,
        Self::Comprehensive,
        Self::Filesystem,
    ];

    /// The name `floe sim --scenario` takes.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Perfect => "perfect",
            Self::Corruption => "corruption",
            Self::CompletionCorruption => "completion_corruption",
            Self::Massive => "massive",
            Self::Random => "random",
            Self::Truncation => "truncation",
            Self::Comprehensive => "comprehensive",
            Self::Filesystem => "filesystem",
        }
    }

    /// Steps a run takes unless told otherwise.
    #[must_use]
    pub fn steps_default(self) -> u64 {
        match self {
            Self::Massive => 3_000,
            Self::Comprehensive => 2_000,
            _ => 5_000,
        }
    }

    /// The configuration of one run with `seed`.
    #[must_use]
    pub fn config(self, seed: u64) -> ScenarioConfig {
        let config = self.config_faults(seed);
        match self {
            // Swarm: most seeds run a tight store under a seed-chosen eviction policy.
            Self::Perfect | Self::Random | Self::Comprehensive => config.with_eviction(self, seed),
            _ => config,
        }
    }

    /// The configuration of one run with `seed`, before any eviction is chosen.
    fn config_faults(self, seed: u64) -> ScenarioConfig {
        let mut rng = Prng::derive(seed, self.name());
        let base = ScenarioConfig::base();
        match self {
            Self::Perfect => ScenarioConfig {
                policy: pick_policy(&mut rng),
                mix: OpMix {
                    power_loss: 0,
                    ..base.mix
                },
                ..base
            },
            Self::Corruption => ScenarioConfig {
                faults: FaultConfig {
                    torn_write_probability: 0.5,
                    bit_flip_probability: 0.002,
                    bit_flip_at_rest_probability: 0.1,
                    damage_files: FileClass::LogSegments,
                    ..FaultConfig::none()
                },
                aimed: Aimed {
                    flip_record: 0.3,
                    ..Aimed::default()
                },
                ..base
            },
            Self::CompletionCorruption => ScenarioConfig {
                faults: FaultConfig {
                    torn_write_probability: 0.5,
                    ..FaultConfig::none()
                },
                mix: OpMix {
                    set_many: 25,
                    ..base.mix
                },
                aimed: Aimed {
                    commit_damage: 0.6,
                    ..Aimed::default()
                },
                ..base
            },
            Self::Massive => ScenarioConfig {
                faults: FaultConfig {
                    torn_write_probability: 0.5,
                    sector_size: 4096,
                    ..FaultConfig::none()
                },
                key_count: 2_048,
                collection_key_count: 32,
                value_size_max: 8 * 1024,
                group_size_max: 64,
                segment_size_max: 512 * 1024,
                memory_size: 16 << 20,
                mix: OpMix {
                    set: 40,
                    get: 25,
                    set_many: 8,
                    snapshot: 2,
                    power_loss: 1,
                    restart: 1,
                    kill: 1,
                    ..base.mix
                },
                ..base
            },
            Self::Random | Self::Comprehensive => ScenarioConfig {
                policy: pick_policy(&mut rng),
                faults: random_faults(&mut rng),
                aimed: Aimed {
                    commit_damage: 0.1,
                    flip_record: 0.1,
                    truncate_tail: 0.1,
                },
                verify_every_step: self == Self::Comprehensive,
                mix: OpMix {
                    clear: 1,
                    ..base.mix
                },
                ..base
            },
            Self::Truncation => ScenarioConfig {
                faults: FaultConfig {
                    torn_write_probability: 0.5,
                    truncation_probability: 0.1,
                    damage_files: FileClass::LogSegments,
                    ..FaultConfig::none()
                },
                aimed: Aimed {
                    truncate_tail: 0.5,
                    ..Aimed::default()
                },
                ..base
            },
            Self::Filesystem => ScenarioConfig {
                policy: if rng.chance(0.5) {
                    FsyncPolicy::Always
                } else {
                    FsyncPolicy::Everysec
                },
                faults: FaultConfig {
                    crash_probability: 0.000_5,
                    torn_write_probability: 0.5,
                    no_space_probability: 0.002,
                    read_error_probability: 0.01,
                    write_error_probability: 0.002,
                    sync_error_probability: 0.003,
                    permission_error_probability: 0.005,
                    slow_io_probability: 0.05,
                    slow_io_latency_ns_max: 200_000_000,
                    ..FaultConfig::none()
                },
                ..base
            },
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|scenario| scenario.name() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|scenario| scenario.name()).collect();
                format!(
                    "unknown scenario `{text}`: expected `all` or one of {}",
                    names.join(", ")
                )
            })
    }
}

/// Everything one run is configured with.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioConfig {
    /// The fsync policy the store runs under (and the checker holds it to).
    pub policy: FsyncPolicy,
    /// The disk's fault probabilities.
    pub faults: FaultConfig,
    /// Damage a power loss aims at particular records.
    pub aimed: Aimed,
    /// String keys in the workload's universe.
    pub key_count: usize,
    /// Collection keys after them (hashes, lists, sets, sorted sets in turn; a multiple
    /// of four, so each type has as many).
    pub collection_key_count: usize,
    /// Largest value the workload writes.
    pub value_size_max: u32,
    /// Most keys in one MSET group.
    pub group_size_max: usize,
    /// The log's segment size limit (small, to exercise rolls and compaction).
    pub segment_size_max: u64,
    /// The store's item memory.
    pub memory_size: usize,
    /// The store's eviction policy (`maxmemory-policy`).
    pub eviction: EvictionPolicy,
    /// How often each operation is chosen.
    pub mix: OpMix,
    /// Read every key back after every step (slow; `comprehensive`).
    pub verify_every_step: bool,
    /// Most virtual time between two steps.
    pub think_ns_max: u64,
}

impl ScenarioConfig {
    fn base() -> Self {
        Self {
            policy: FsyncPolicy::Always,
            faults: FaultConfig::none(),
            aimed: Aimed::default(),
            key_count: 256,
            collection_key_count: 16,
            value_size_max: 512,
            group_size_max: 8,
            segment_size_max: 64 * 1024,
            memory_size: 1 << 20,
            eviction: EvictionPolicy::NoEviction,
            mix: OpMix::default(),
            verify_every_step: false,
            think_ns_max: 4_000_000,
        }
    }
}

impl ScenarioConfig {
    /// For three seeds in four, a store far smaller than the workload's keys under a seed-chosen
    /// policy (any of them, `noeviction` included), so writes evict (or are refused) all
    /// the time and every recovery replays evictions; drawn from its own stream, so the
    /// rest of the configuration stays what the seed gave before.
    fn with_eviction(self, scenario: Scenario, seed: u64) -> Self {
        let mut rng = Prng::derive(seed, &format!("{scenario}/eviction"));
        if rng.chance(0.25) {
            return self;
        }
        let policies = EvictionPolicy::ALL;
        let eviction = policies[rng.index(policies.len())];
        let memory_size = usize::try_from(rng.between(6, 24)).unwrap_or(6) * 1024;
        Self {
            eviction,
            memory_size,
            key_count: 1024,
            ..self
        }
    }
}

/// Relative weights of the workload's operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpMix {
    /// SET.
    pub set: u32,
    /// SET with a TTL.
    pub set_ttl: u32,
    /// DEL.
    pub delete: u32,
    /// MSET: a group, all or nothing.
    pub set_many: u32,
    /// GET, checked against the model at once.
    pub get: u32,
    /// A write to a collection (HSET/HDEL, the list pushes, pops and edits, SADD/SREM,
    /// ZADD/ZREM), its reply checked against the model at once.
    pub collection_write: u32,
    /// A collection read back whole, checked against the model at once.
    pub collection_read: u32,
    /// PEXPIRE of a collection key.
    pub collection_expire: u32,
    /// DEL of a collection key, or a SET of a string over it.
    pub collection_drop: u32,
    /// Clear every key.
    pub clear: u32,
    /// SAVE: snapshot and compaction.
    pub snapshot: u32,
    /// Virtual time jumps by up to 3 s (expiry, everysec deadlines).
    pub sleep: u32,
    /// Power loss, then recovery and a full check.
    pub power_loss: u32,
    /// Process kill (`kill -9`), then recovery and a full check.
    pub kill: u32,
    /// Clean close and reopen, then a full check.
    pub restart: u32,
}

impl Default for OpMix {
    fn default() -> Self {
        Self {
            set: 30,
            set_ttl: 6,
            delete: 10,
            set_many: 6,
            get: 40,
            collection_write: 20,
            collection_read: 6,
            collection_expire: 1,
            collection_drop: 1,
            clear: 0,
            snapshot: 1,
            sleep: 2,
            power_loss: 1,
            kill: 1,
            restart: 1,
        }
    }
}

/// Damage aimed at chosen records after a power loss (probability per power loss).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Aimed {
    /// Flip a bit in a group's commit record, or cut the log just before it.
    pub commit_damage: f64,
    /// Flip a bit in a random durable record.
    pub flip_record: f64,
    /// Cut the newest segment at a random offset.
    pub truncate_tail: f64,
}

fn pick_policy(rng: &mut Prng) -> FsyncPolicy {
    match rng.below(3) {
        0 => FsyncPolicy::Everysec,
        1 => FsyncPolicy::No,
        _ => FsyncPolicy::Always,
    }
}

/// Every fault at a low, seed-chosen rate (swarm testing: each seed stresses a different
/// mix, so rare combinations get their turn).
fn random_faults(rng: &mut Prng) -> FaultConfig {
    let mut rate = |high: f64| {
        if rng.chance(0.3) {
            0.0
        } else {
            high * f64::from(u32::try_from(rng.between(1, 100)).unwrap_or(1)) / 100.0
        }
    };
    FaultConfig {
        crash_probability: rate(0.002),
        torn_write_probability: rate(0.8),
        sector_size: 512,
        bit_flip_probability: rate(0.002),
        bit_flip_at_rest_probability: rate(0.05),
        lost_write_probability: rate(0.001),
        misdirected_write_probability: rate(0.001),
        truncation_probability: rate(0.02),
        no_space_probability: rate(0.001),
        read_error_probability: rate(0.01),
        write_error_probability: rate(0.001),
        sync_error_probability: rate(0.002),
        permission_error_probability: rate(0.002),
        slow_io_probability: rate(0.05),
        io_latency_ns: 10_000,
        slow_io_latency_ns_max: 500_000_000,
        damage_files: FileClass::All,
    }
}
