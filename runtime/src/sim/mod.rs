//! The deterministic simulator: floe's real [`Db`](crate::db::Db), log writer, recovery,
//! snapshots and repair, over a seeded fault-injecting disk and a virtual clock, checked
//! against a model after every read and every recovery (TigerBeetle's VOPR and
//! FoundationDB's simulation are the models).
//!
//! ```text
//!  seed ─► scenario config ─► Runner ─► Db (real code) ─► SimDisk (two images, faults)
//!                               │  └──► SimClock (virtual time)
//!                               └─► Model + checker: every read, every recovery
//! ```
//!
//! - [`disk`]: the simulated disk, written and durable images, every fault of
//!   `docs/fault-model.md` with a named probability.
//! - [`clock`]: virtual time; the log writer sees a latched device view.
//! - [`workload`]: the seeded operations and the runner that drives the store.
//! - [`checker`]: the model, and what a recovered state may legally be.
//! - [`scenarios`]: Poro's eight scenarios.
//! - [`rng`]: the one PRNG.
//!
//! The entry point is [`run`]; `floe sim` is a thin wrapper:
//!
//! ```no_run
//! use floe_runtime::sim::{run, SimOptions};
//!
//! // floe sim --seed 42 --scenario corruption --steps 10000
//! let options = SimOptions {
//!     seed: Some(42),
//!     scenario: "corruption".parse()?,
//!     steps: Some(10_000),
//!     ..SimOptions::default()
//! };
//! match run(options) {
//!     Ok(report) => println!("{report}"),
//!     Err(failure) => {
//!         eprintln!("{failure}"); // seed=42 scenario=corruption ... and the replay command
//!         std::process::exit(1);
//!     }
//! }
//! # Ok::<(), String>(())
//! ```
//!
//! Invariants: a run is a pure function of (seed, scenario, steps, sabotage) and the code:
//! the same inputs give the same trace hash (the disk's operations and the checker's
//! verdicts), which `runtime/tests/sim.rs` checks.
//!
//! Fault assumptions: `docs/fault-model.md`.

pub mod checker;
pub mod clock;
pub mod collection;
pub mod disk;
pub mod rng;
pub mod scenarios;
pub mod workload;

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use disk::{FaultCounts, FaultKind};
pub use scenarios::Scenario;
pub use workload::RunCounters;

use workload::Runner;

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimOptions {
    /// The first seed; `None` picks one from the system clock (the report names it).
    pub seed: Option<u64>,
    /// One scenario, or all of them.
    pub scenario: ScenarioChoice,
    /// Steps per run; `None`: each scenario's default ([`Scenario::steps_default`]).
    pub steps: Option<u64>,
    /// Seeds to run, from `seed` on (a swarm when above 1); each runs every chosen scenario.
    pub seeds: u64,
    /// Test-only: build a deliberately broken store, to prove the simulator catches it.
    #[doc(hidden)]
    pub sabotage: Option<Sabotage>,
}

impl Default for SimOptions {
    /// A random seed, every scenario, default steps, one seed.
    fn default() -> Self {
        Self {
            seed: None,
            scenario: ScenarioChoice::All,
            steps: None,
            seeds: 1,
            sabotage: None,
        }
    }
}

/// `--scenario`: one scenario or `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScenarioChoice {
    /// Every scenario, in Poro's order.
    All,
    /// Just this one.
    One(Scenario),
}

impl ScenarioChoice {
    /// The scenarios chosen.
    #[must_use]
    pub fn scenarios(self) -> Vec<Scenario> {
        match self {
            Self::All => Scenario::ALL.to_vec(),
            Self::One(scenario) => vec![scenario],
        }
    }
}

impl FromStr for ScenarioChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "all" {
            Ok(Self::All)
        } else {
            text.parse().map(Self::One)
        }
    }
}

impl fmt::Display for ScenarioChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("all"),
            Self::One(scenario) => write!(f, "{scenario}"),
        }
    }
}

/// A deliberately broken store (test-only), to prove the simulator catches real bugs.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sabotage {
    /// The store acknowledges writes before any fdatasync (it runs with fsync `no`) while
    /// claiming `always`.
    AckBeforeSync,
    /// Recovery accepts records whose checksum does not match (the disk hands it log
    /// segments with every checksum recomputed).
    SkipChecksums,
}

/// What one run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReport {
    /// The scenario.
    pub scenario: Scenario,
    /// The seed.
    pub seed: u64,
    /// Counters: steps, operations, recoveries, ...
    pub counters: RunCounters,
    /// Faults the disk injected.
    pub faults: FaultCounts,
    /// Fingerprint of every disk operation and checker verdict: equal for equal inputs.
    pub trace_hash: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// What a whole `run` did; its `Display` is the summary `floe sim` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimReport {
    /// The first seed.
    pub seed_first: u64,
    /// Seeds run.
    pub seeds: u64,
    /// The scenario choice.
    pub scenario: ScenarioChoice,
    /// Every run that passed, in order.
    pub runs: Vec<RunReport>,
    /// Wall time of the whole run.
    pub elapsed: Duration,
}

impl SimReport {
    /// Counters summed over the runs.
    #[must_use]
    pub fn counters(&self) -> RunCounters {
        let mut total = RunCounters::default();
        for run in &self.runs {
            let counters = &run.counters;
            total.steps += counters.steps;
            total.operations += counters.operations;
            total.reads += counters.reads;
            total.writes += counters.writes;
            total.acked += counters.acked;
            total.failed += counters.failed;
            total.refused += counters.refused;
            total.evicted += counters.evicted;
            total.snapshots += counters.snapshots;
            total.power_losses += counters.power_losses;
            total.kills += counters.kills;
            total.clean_restarts += counters.clean_restarts;
            total.recoveries += counters.recoveries;
            total.repairs += counters.repairs;
            total.wipes += counters.wipes;
            total.lost_explained += counters.lost_explained;
            total.collection_writes += counters.collection_writes;
            total.large_writes += counters.large_writes;
        }
        total
    }

    /// Faults summed over the runs.
    #[must_use]
    pub fn faults(&self) -> FaultCounts {
        let mut total = FaultCounts::default();
        for run in &self.runs {
            total.add(&run.faults);
        }
        total
    }

    /// Store operations per second of wall time.
    #[must_use]
    pub fn operations_per_second(&self) -> f64 {
        rate(self.counters().operations, self.elapsed)
    }
}

impl fmt::Display for SimReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counters = self.counters();
        writeln!(
            f,
            "floe sim: scenario={} seed={} seeds={} runs={}: passed",
            self.scenario,
            self.seed_first,
            self.seeds,
            self.runs.len()
        )?;
        writeln!(
            f,
            "  steps={} operations={} in {:.2}s: {:.0} ops/s",
            counters.steps,
            counters.operations,
            self.elapsed.as_secs_f64(),
            self.operations_per_second()
        )?;
        writeln!(
            f,
            "  writes={} acked={} failed={} refused={} evicted={} reads={} snapshots={}",
            counters.writes,
            counters.acked,
            counters.failed,
            counters.refused,
            counters.evicted,
            counters.reads,
            counters.snapshots
        )?;
        writeln!(
            f,
            "  power_losses={} kills={} clean_restarts={} recoveries={} repairs={} wipes={} \
             acked_lost_to_reported_damage={}",
            counters.power_losses,
            counters.kills,
            counters.clean_restarts,
            counters.recoveries,
            counters.repairs,
            counters.wipes,
            counters.lost_explained
        )?;
        writeln!(
            f,
            "  collection_writes={} to_large_collections={}",
            counters.collection_writes, counters.large_writes
        )?;
        write!(f, "  faults: {}", self.faults())?;
        if self.runs.len() > 1 {
            for scenario in Scenario::ALL {
                let runs: Vec<&RunReport> = self
                    .runs
                    .iter()
                    .filter(|run| run.scenario == scenario)
                    .collect();
                if runs.is_empty() {
                    continue;
                }
                let steps: u64 = runs.iter().map(|run| run.counters.steps).sum();
                let recoveries: u64 = runs.iter().map(|run| run.counters.recoveries).sum();
                let mut faults = FaultCounts::default();
                for run in &runs {
                    faults.add(&run.faults);
                }
                write!(
                    f,
                    "\n  {scenario}: runs={} steps={steps} recoveries={recoveries} faults: {faults}",
                    runs.len()
                )?;
            }
        }
        Ok(())
    }
}

/// A run that found a violation (or a panic) of floe's promises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The scenario.
    pub scenario: Scenario,
    /// The seed.
    pub seed: u64,
    /// The step it was found at (1-based; 0: while opening).
    pub step: u64,
    /// What went wrong.
    pub message: String,
}

impl Violation {
    /// The command that replays this run exactly.
    #[must_use]
    pub fn replay_command(&self) -> String {
        format!(
            "floe sim --seed {} --scenario {} --steps {}",
            self.seed,
            self.scenario,
            self.step.max(1)
        )
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seed={} scenario={} step={}: {}\n  replay: {}",
            self.seed,
            self.scenario,
            self.step,
            self.message,
            self.replay_command()
        )
    }
}

/// Why `run` failed: every violation found, and the report of the runs that passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimFailure {
    /// Every failing run's violation, in order (at least one).
    pub violations: Vec<Violation>,
    /// The runs that passed.
    pub report: SimReport,
}

impl fmt::Display for SimFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "floe sim: {} violation(s) in {} runs",
            self.violations.len(),
            self.violations.len() + self.report.runs.len()
        )?;
        for violation in &self.violations {
            writeln!(f, "VIOLATION {violation}")?;
        }
        write!(f, "{}", self.report)
    }
}

impl std::error::Error for SimFailure {}

/// Runs the chosen scenarios for `options.seeds` seeds from `options.seed` on, and returns
/// the summary, or every violation found. Each run is deterministic: a violation names its
/// seed, scenario and step, and `floe sim --seed N --scenario S --steps K` replays it bit for
/// bit.
///
/// # Errors
/// [`SimFailure`] if any run found a violation of floe's promises (or panicked).
pub fn run(options: SimOptions) -> Result<SimReport, SimFailure> {
    let seed_first = options.seed.unwrap_or_else(seed_from_time);
    let started = Instant::now();
    let mut report = SimReport {
        seed_first,
        seeds: options.seeds.max(1),
        scenario: options.scenario,
        runs: Vec::new(),
        elapsed: Duration::ZERO,
    };
    let jobs: Vec<(u64, Scenario)> = (0..options.seeds.max(1))
        .flat_map(|offset| {
            let seed = seed_first.wrapping_add(offset);
            options
                .scenario
                .scenarios()
                .into_iter()
                .map(move |scenario| (seed, scenario))
        })
        .collect();
    let outcomes = run_parallel(&jobs, |&(seed, scenario)| {
        let steps = options.steps.unwrap_or_else(|| scenario.steps_default());
        run_one(scenario, seed, steps, options.sabotage)
    });
    let mut violations = Vec::new();
    for outcome in outcomes {
        match outcome {
            Ok(run) => report.runs.push(run),
            Err(violation) => violations.push(violation),
        }
    }
    report.elapsed = started.elapsed();
    if violations.is_empty() {
        Ok(report)
    } else {
        Err(SimFailure { violations, report })
    }
}

/// One run: `steps` steps of `scenario` with `seed`.
///
/// # Errors
/// The [`Violation`] found, with the step it was found at.
pub fn run_one(
    scenario: Scenario,
    seed: u64,
    steps: u64,
    sabotage: Option<Sabotage>,
) -> Result<RunReport, Violation> {
    let started = Instant::now();
    let mut step = 0;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut runner = Runner::new(scenario, seed, sabotage)?;
        while step < steps {
            step += 1;
            runner.step()?;
        }
        let trace_hash = runner.trace_hash();
        let faults = runner.fault_counts();
        Ok((runner.finish(), faults, trace_hash))
    }));
    let violation = |message: String| Violation {
        scenario,
        seed,
        step,
        message,
    };
    match outcome {
        Ok(Ok((counters, faults, trace_hash))) => Ok(RunReport {
            scenario,
            seed,
            counters,
            faults,
            trace_hash,
            elapsed: started.elapsed(),
        }),
        Ok(Err(message)) => Err(violation(message)),
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
                .unwrap_or_else(|| "a panic with no message".to_owned());
            Err(violation(format!("panicked: {message}")))
        }
    }
}

/// Runs `job` on every item of `jobs`, on as many threads as the machine has cores (each
/// run is independent and deterministic on its own thread), and returns the outcomes in
/// the order of `jobs`.
fn run_parallel<J: Sync, T: Send>(jobs: &[J], job: impl Fn(&J) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(jobs.len())
        .max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let outcomes: Vec<std::sync::Mutex<Option<T>>> =
        jobs.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                // Each thread takes the next job until none is left.
                loop {
                    let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(item) = jobs.get(index) else {
                        break;
                    };
                    let outcome = job(item);
                    *outcomes[index]
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(outcome);
                }
            });
        }
    });
    outcomes
        .into_iter()
        .filter_map(|slot| {
            slot.into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        })
        .collect()
}

/// A seed for runs that were given none.
fn seed_from_time() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    // Fold the nanoseconds into 64 bits; any bits will do for a seed.
    let low = u64::try_from(nanos & u128::from(u64::MAX)).unwrap_or(0);
    floe_core::hash::wyhash(&low.to_le_bytes(), u64::from(std::process::id()))
}

fn rate(count: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        // Counts stay far below 2^53: exact as an f64.
        #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^53")]
        let count = count as f64;
        count / seconds
    } else {
        0.0
    }
}
