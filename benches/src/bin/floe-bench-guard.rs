//! floe-bench-guard: CI's check that floe's core store has not become much slower against a
//! plain `hashbrown` map (issue 14, "CI guard"; run by `.ci/bench-guard`).
//!
//! The contenders of the store benchmark (`benches/store.rs`: keys of 16 bytes, 32-byte
//! values) are filled in this process at two sizes, 8,192 keys (in the core's caches) and 1M
//! (in memory), then each case (`get_hit`, `get_miss`, `set` at each size) is timed in
//! rounds of [`BATCH`] operations, floe and hashbrown alternating which goes first. The
//! fastest round of each contender is its time (the least disturbed one on a shared
//! machine), and floe's time over hashbrown's is the case's ratio: no absolute time is
//! compared with anything. A case regresses when its ratio is above the committed baseline
//! times `guard::factor` (1.6 at 8k keys, 2.0 at 1M); the guard then measures every case
//! again and fails only on a case that regresses both times.
//!
//! ```text
//! floe-bench-guard [--baseline PATH] [--rounds N]   # exit 0: pass, 1: regression, 2: error
//! floe-bench-guard --write-baseline [--baseline PATH]   # median of 3 measurements
//! FLOE_BENCH_GUARD_SLOWDOWN=3 floe-bench-guard      # floe does 3 operations per timed one
//! ```

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use floe_benches::contender::{Contender, FLOE_MEMORY_SIZE, Floe, Hashbrown, filled_with};
use floe_benches::guard::{
    Arguments, Baseline, CASES, Measurement, SLOWDOWN_VARIABLE, confirmed, median, slowdown,
};
use floe_benches::store::{
    KEY_COUNT, Key, PREFIX_ABSENT, PREFIX_PRESENT, SplitMix64, VALUE_SIZE, Value, shuffled_keys,
};

/// Keys of the cached size: with 32-byte values, under 1 MiB of table and items for either
/// contender (about this core's L2), so other processes' use of the shared last-level cache
/// hardly moves the ratio.
const CACHED_KEY_COUNT: usize = 8192;
/// floe's item memory at the cached size (400 KiB of items live).
const CACHED_FLOE_MEMORY_SIZE: usize = 8 << 20;
/// Operations per timed round: about 2 to 150 ms per round here.
const BATCH: usize = 1 << 18;
/// Measurements whose median `--write-baseline` writes.
const BASELINE_MEASUREMENTS: usize = 3;
/// The value every timed set writes.
const SET_VALUE: Value = [b's'; VALUE_SIZE];
/// What to run after a deliberate change of speed.
const UPDATE_HINT: &str = "To accept a deliberate change of these ratios, run\n  \
     cargo run --release -p floe-benches --bin floe-bench-guard -- --write-baseline\n\
     and commit benches/guard-baseline.txt with the reason in the commit message.";

fn main() -> ExitCode {
    let arguments = match Arguments::parse(std::env::args().skip(1)) {
        Ok(arguments) => arguments,
        Err(message) => {
            eprintln!("floe-bench-guard: {message}");
            return ExitCode::from(2);
        }
    };
    let slowdown = match slowdown(std::env::var(SLOWDOWN_VARIABLE).ok().as_deref()) {
        Ok(slowdown) => slowdown,
        Err(message) => {
            eprintln!("floe-bench-guard: {message}");
            return ExitCode::from(2);
        }
    };
    // Read the baseline first, so a broken file fails before a minute of measuring.
    let baseline = if arguments.write_baseline {
        None
    } else {
        match std::fs::read_to_string(&arguments.baseline_path)
            .map_err(|error| error.to_string())
            .and_then(|text| Baseline::parse(&text))
        {
            Ok(baseline) => Some(baseline),
            Err(message) => {
                eprintln!("floe-bench-guard: {}: {message}", arguments.baseline_path);
                return ExitCode::from(2);
            }
        }
    };

    let mut bench = Bench::new(arguments.rounds, slowdown);
    let Some(baseline) = baseline else {
        let measurements: Vec<Vec<Measurement>> = (0..BASELINE_MEASUREMENTS)
            .map(|_| {
                let measured = bench.measure();
                print_measured(&measured, None);
                measured
            })
            .collect();
        let mut ratios = [0.0; CASES.len()];
        for (case_index, ratio) in ratios.iter_mut().enumerate() {
            let values: Vec<f64> = measurements.iter().map(|m| m[case_index].ratio()).collect();
            *ratio = median(&values);
        }
        let how = format!(
            "median of {BASELINE_MEASUREMENTS} measurements of {} rounds, load average {}",
            arguments.rounds,
            load_average()
        );
        let text = Baseline::format(&ratios, &how);
        if let Err(error) = std::fs::write(&arguments.baseline_path, &text) {
            eprintln!("floe-bench-guard: {}: {error}", arguments.baseline_path);
            return ExitCode::from(2);
        }
        println!("wrote {}:\n{text}", arguments.baseline_path);
        return ExitCode::SUCCESS;
    };

    let first = bench.measure();
    print_measured(&first, Some(&baseline));
    let first_regressions = baseline.regressions(&first);
    if first_regressions.is_empty() {
        println!("bench guard: passed (no ratio above its limit)\n{UPDATE_HINT}");
        return ExitCode::SUCCESS;
    }
    println!(
        "bench guard: {} above the limit; measuring every case once more",
        names(&first_regressions)
    );
    let second = bench.measure();
    print_measured(&second, Some(&baseline));
    let regressions = confirmed(&first_regressions, &baseline.regressions(&second));
    if regressions.is_empty() {
        println!("bench guard: passed (the re-measurement is within the limits)\n{UPDATE_HINT}");
        return ExitCode::SUCCESS;
    }
    println!(
        "bench guard: FAILED: {} slower against hashbrown than the baseline allows, twice in a \
         row.\n{UPDATE_HINT}",
        names(&regressions)
    );
    ExitCode::from(1)
}

/// The two filled contenders at one size, the keys, and each contender's place in them.
struct Size {
    key_count: usize,
    floe: Floe,
    hashbrown: Hashbrown,
    /// The inserted keys in the order gets read them.
    present: Vec<Key>,
    /// The inserted keys twice, each time in another shuffled order, in the order sets write
    /// them: the sets neither lay items out in the order the gets then read them, nor find
    /// the items they replace laid out in the order of their own last pass (cycling one
    /// order makes a set after the first pass almost a sequential walk).
    set_order: Vec<Key>,
    /// Keys never inserted.
    absent: Vec<Key>,
}

impl Size {
    fn new(key_count: usize, floe_memory_size: usize, rng: &mut SplitMix64) -> Self {
        let present = shuffled_keys(PREFIX_PRESENT, key_count, rng);
        let mut set_order = shuffled_keys(PREFIX_PRESENT, key_count, rng);
        set_order.extend(shuffled_keys(PREFIX_PRESENT, key_count, rng));
        let absent = shuffled_keys(PREFIX_ABSENT, key_count, rng);
        Self {
            key_count,
            floe: filled_with(Floe::sized(floe_memory_size, key_count), key_count),
            hashbrown: filled_with(Hashbrown::sized(key_count), key_count),
            present,
            set_order,
            absent,
        }
    }
}

/// Both sizes: `sizes[0]` for the `_8k` cases, `sizes[1]` for the `_1m` ones.
struct Bench {
    sizes: [Size; 2],
    rounds: usize,
    /// Operations floe does per timed one (1 but for the failure-path check).
    slowdown: usize,
}

impl Bench {
    fn new(rounds: usize, slowdown: usize) -> Self {
        let mut rng = SplitMix64::new(0x6775_6172_6466_6c6f);
        println!(
            "bench guard: {CACHED_KEY_COUNT} and {KEY_COUNT} keys of 16 + {VALUE_SIZE} bytes in \
             floe's core store and hashbrown; {rounds} rounds of {BATCH} operations per case \
             and contender; load average {}",
            load_average()
        );
        if slowdown > 1 {
            println!(
                "bench guard: {SLOWDOWN_VARIABLE}={slowdown}: floe does {slowdown} operations \
                 per timed one (a simulated slowdown; this run should fail)"
            );
        }
        Self {
            sizes: [
                Size::new(CACHED_KEY_COUNT, CACHED_FLOE_MEMORY_SIZE, &mut rng),
                Size::new(KEY_COUNT, FLOE_MEMORY_SIZE, &mut rng),
            ],
            rounds,
            slowdown,
        }
    }

    /// One measurement of every case, in [`CASES`] order.
    fn measure(&mut self) -> Vec<Measurement> {
        CASES
            .iter()
            .map(|&case| {
                let (operation, size_name) = case.rsplit_once('_').expect("cases are op_size");
                let size_index = usize::from(size_name == "1m");
                let mut floe_ns = f64::INFINITY;
                let mut hashbrown_ns = f64::INFINITY;
                let (mut floe_cursor, mut hashbrown_cursor) = (0, 0);
                for round in 0..self.rounds {
                    for turn in 0..2 {
                        if (round + turn) % 2 == 0 {
                            let ns = self.time(size_index, operation, true, &mut floe_cursor);
                            floe_ns = floe_ns.min(ns);
                        } else {
                            let ns = self.time(size_index, operation, false, &mut hashbrown_cursor);
                            hashbrown_ns = hashbrown_ns.min(ns);
                        }
                    }
                }
                let size = &self.sizes[size_index];
                assert_eq!(
                    size.floe.key_count(),
                    size.key_count,
                    "{case} changed a count"
                );
                assert_eq!(
                    size.hashbrown.key_count(),
                    size.key_count,
                    "{case} changed a count"
                );
                Measurement {
                    case,
                    floe_ns,
                    hashbrown_ns,
                }
            })
            .collect()
    }

    /// Nanoseconds per timed operation of one round of `operation` on one contender.
    fn time(&mut self, size_index: usize, operation: &str, floe: bool, cursor: &mut usize) -> f64 {
        let repeat = if floe { self.slowdown } else { 1 };
        let size = &mut self.sizes[size_index];
        let keys = match operation {
            "get_miss" => &size.absent,
            "set" => &size.set_order,
            _ => &size.present,
        };
        let start = Instant::now();
        match (operation, floe) {
            ("set", true) => run(&mut size.floe, keys, cursor, repeat, set),
            ("set", false) => run(&mut size.hashbrown, keys, cursor, repeat, set),
            ("get_hit", true) => run(&mut size.floe, keys, cursor, repeat, get_hit),
            ("get_hit", false) => run(&mut size.hashbrown, keys, cursor, repeat, get_hit),
            ("get_miss", true) => run(&mut size.floe, keys, cursor, repeat, get_miss),
            ("get_miss", false) => run(&mut size.hashbrown, keys, cursor, repeat, get_miss),
            _ => unreachable!("unknown operation {operation}"),
        }
        let elapsed = start.elapsed();
        #[expect(clippy::cast_precision_loss, reason = "a batch is far below 2^52")]
        let batch = BATCH as f64;
        elapsed.as_secs_f64() * 1e9 / batch
    }
}

/// [`BATCH`] timed operations, each `repeat` calls of `op` on the next keys of `keys`.
#[inline(never)]
fn run<C: Contender>(
    contender: &mut C,
    keys: &[Key],
    cursor: &mut usize,
    repeat: usize,
    op: impl Fn(&mut C, &Key),
) {
    for _ in 0..BATCH {
        for _ in 0..repeat {
            op(contender, black_box(&keys[*cursor]));
            *cursor += 1;
            if *cursor == keys.len() {
                *cursor = 0;
            }
        }
    }
}

#[inline(always)]
fn set<C: Contender>(contender: &mut C, key: &Key) {
    contender.set(key, black_box(&SET_VALUE));
}

#[inline(always)]
fn get_hit<C: Contender>(contender: &mut C, key: &Key) {
    let mut target = [0u8; VALUE_SIZE];
    assert!(
        contender.get(key, &mut target),
        "a present key was not found"
    );
    black_box(&target);
}

#[inline(always)]
fn get_miss<C: Contender>(contender: &mut C, key: &Key) {
    let mut target = [0u8; VALUE_SIZE];
    assert!(!contender.get(key, &mut target), "an absent key was found");
}

fn print_measured(measured: &[Measurement], baseline: Option<&Baseline>) {
    println!(
        "{:<9} {:>10} {:>14} {:>7} {:>9} {:>7}  verdict",
        "case", "floe ns", "hashbrown ns", "ratio", "baseline", "limit"
    );
    for (case_index, measurement) in measured.iter().enumerate() {
        let (base, limit, verdict) = match baseline {
            Some(baseline) => {
                let limit = baseline.limit(case_index);
                let verdict = if measurement.ratio() > limit {
                    "ABOVE LIMIT"
                } else {
                    "ok"
                };
                (
                    format!("{:.3}", baseline.ratios[case_index]),
                    format!("{limit:.3}"),
                    verdict,
                )
            }
            None => ("-".to_string(), "-".to_string(), "-"),
        };
        println!(
            "{:<9} {:>10.1} {:>14.1} {:>7.3} {base:>9} {limit:>7}  {verdict}",
            measurement.case,
            measurement.floe_ns,
            measurement.hashbrown_ns,
            measurement.ratio()
        );
    }
}

fn names(case_indexes: &[usize]) -> String {
    case_indexes
        .iter()
        .map(|&index| CASES[index])
        .collect::<Vec<_>>()
        .join(", ")
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".to_string())
}
