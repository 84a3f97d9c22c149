//! floe-load: a load generator for Redis-protocol servers (floe, redis-server), written for
//! the benchmark suite (issue 14) so that the mixes, key distributions and percentiles are
//! ours to choose rather than redis-benchmark's.
//!
//! It opens `--clients` connections, one thread each (blocking sockets: on a 2-core machine
//! 200 threads cost less than a runtime's bookkeeping per request), and each thread sends
//! pipelines of `--pipeline` commands: GET or SET in the `--get-percent` mix, keys drawn
//! uniformly or from Zipf(`--zipf`) over `--keys` keys, values of `--value-size` bytes. It
//! runs for `--seconds` or until `--requests` requests are done, whichever is given.
//!
//! Latency is measured as redis-benchmark measures it: from writing a pipeline to reading
//! its last reply, recorded once per request of that pipeline, in an HDR histogram
//! (microseconds, 3 significant digits). It prints one human line and, with `--csv`, one
//! CSV row (`--csv-header` prints the header):
//!
//! ```text
//! floe-load --port 6379 --clients 50 --pipeline 1 --get-percent 90 --zipf 0.99 --seconds 5
//! ```
//!
//! `--preload` first writes every key once (pipelined, not timed), so GETs hit.
//!
//! Invariants: every thread draws from its own seeded SplitMix64, so a run's key sequence is
//! reproducible from `--seed`; a reply error (e.g. OOM) is counted, never hidden.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use floe_benches::store::{SplitMix64, Zipf};
use hdrhistogram::Histogram;

/// One run's settings, from the command line.
#[derive(Debug, Clone)]
struct Options {
    host: String,
    port: u16,
    clients: usize,
    pipeline: usize,
    get_percent: u32,
    /// Zipf exponent; 0 means uniform.
    zipf: f64,
    keys: usize,
    value_size: usize,
    seconds: f64,
    /// Stop after this many requests (0: run for `seconds`).
    requests: u64,
    preload: bool,
    /// Look-aside cache use: every request is a GET, and a miss is followed by a SET.
    look_aside: bool,
    /// Percent of requests that walk sequentially over keys outside `keys` (a scan).
    scan_percent: u32,
    seed: u64,
    csv: bool,
    csv_header: bool,
    label: String,
}

const USAGE: &str = "usage: floe-load [--host H] [--port P] [--clients N] [--pipeline N]
  [--get-percent 0..100] [--zipf S | --uniform] [--keys N] [--value-size BYTES]
  [--seconds S | --requests N] [--preload] [--look-aside] [--scan-percent 0..100] [--seed N] [--csv] [--csv-header] [--label TEXT]";

const CSV_HEADER: &str = "label,clients,pipeline,get_percent,distribution,keys,value_size,\
requests,errors,seconds,ops,p50_ms,p99_ms,p999_ms,max_ms,get_hit_ratio";

impl Options {
    fn parse(arguments: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut options = Self {
            host: "127.0.0.1".into(),
            port: 6379,
            clients: 50,
            pipeline: 1,
            get_percent: 90,
            zipf: 0.99,
            keys: 1_000_000,
            value_size: 256,
            seconds: 5.0,
            requests: 0,
            preload: false,
            look_aside: false,
            scan_percent: 0,
            seed: 1,
            csv: false,
            csv_header: false,
            label: String::new(),
        };
        let mut arguments = arguments;
        while let Some(name) = arguments.next() {
            let mut value = || arguments.next().ok_or(format!("{name} needs a value"));
            match name.as_str() {
                "--host" => options.host = value()?,
                "--port" => options.port = parse(&value()?)?,
                "--clients" => options.clients = parse(&value()?)?,
                "--pipeline" => options.pipeline = parse(&value()?)?,
                "--get-percent" => options.get_percent = parse(&value()?)?,
                "--zipf" => options.zipf = parse(&value()?)?,
                "--uniform" => options.zipf = 0.0,
                "--keys" => options.keys = parse(&value()?)?,
                "--value-size" => options.value_size = parse(&value()?)?,
                "--seconds" => options.seconds = parse(&value()?)?,
                "--requests" => options.requests = parse(&value()?)?,
                "--preload" => options.preload = true,
                "--look-aside" => options.look_aside = true,
                "--scan-percent" => options.scan_percent = parse(&value()?)?,
                "--seed" => options.seed = parse(&value()?)?,
                "--csv" => options.csv = true,
                "--csv-header" => options.csv_header = true,
                "--label" => options.label = value()?,
                "-h" | "--help" => return Err(USAGE.into()),
                _ => return Err(format!("unknown argument {name}\n{USAGE}")),
            }
        }
        if options.clients == 0 || options.pipeline == 0 || options.keys == 0 {
            return Err("--clients, --pipeline and --keys must be at least 1".into());
        }
        if options.get_percent > 100 || options.scan_percent > 100 {
            return Err("--get-percent and --scan-percent are 0..100".into());
        }
        Ok(options)
    }

    fn distribution(&self) -> String {
        if self.zipf > 0.0 {
            format!("zipf{}", self.zipf)
        } else {
            "uniform".into()
        }
    }
}

fn parse<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse().map_err(|_| format!("not a number: {text}"))
}

/// What one connection's thread measured.
struct ThreadResult {
    histogram: Histogram<u64>,
    requests: u64,
    errors: u64,
    /// GETs answered, and those that found a value.
    gets: u64,
    hits: u64,
}

fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    if options.csv_header {
        println!("{CSV_HEADER}");
        if !options.csv {
            return ExitCode::SUCCESS;
        }
    }
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("floe-load: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(options: &Options) -> Result<(), redis::RedisError> {
    let url = format!("redis://{}:{}/", options.host, options.port);
    let client = redis::Client::open(url)?;
    let value = vec![b'v'; options.value_size];
    if options.preload {
        preload(&client, options, &value)?;
    }
    let zipf = Arc::new((options.zipf > 0.0).then(|| Zipf::new(options.keys, options.zipf)));
    // Every connection is open before the clock starts, as with redis-benchmark.
    let mut connections = Vec::with_capacity(options.clients);
    for _ in 0..options.clients {
        connections.push(client.get_connection()?);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let issued = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let threads: Vec<_> = connections
        .into_iter()
        .enumerate()
        .map(|(index, connection)| {
            let (options, zipf, stop, issued) =
                (options.clone(), zipf.clone(), stop.clone(), issued.clone());
            let value = value.clone();
            std::thread::spawn(move || {
                let seed = options
                    .seed
                    .wrapping_mul(1_000_003)
                    .wrapping_add(index as u64);
                drive(
                    connection,
                    &options,
                    zipf.as_ref().as_ref(),
                    &value,
                    &stop,
                    &issued,
                    seed,
                )
            })
        })
        .collect();
    if options.requests == 0 {
        std::thread::sleep(Duration::from_secs_f64(options.seconds));
        stop.store(true, Ordering::Relaxed);
    }
    let mut histogram = new_histogram();
    let (mut requests, mut errors, mut gets, mut hits) = (0u64, 0u64, 0u64, 0u64);
    for thread in threads {
        let result = thread.join().expect("a load thread does not panic");
        histogram
            .add(&result.histogram)
            .expect("histograms share their bounds");
        requests += result.requests;
        errors += result.errors;
        gets += result.gets;
        hits += result.hits;
    }
    let seconds = start.elapsed().as_secs_f64();
    let hit_ratio = if gets > 0 {
        hits as f64 / gets as f64
    } else {
        0.0
    };
    report(options, &histogram, requests, errors, seconds, hit_ratio);
    Ok(())
}

/// Writes every key once, 1000 per pipeline on one connection.
fn preload(
    client: &redis::Client,
    options: &Options,
    value: &[u8],
) -> Result<(), redis::RedisError> {
    let mut connection = client.get_connection()?;
    let mut key = Vec::with_capacity(32);
    for chunk_start in (0..options.keys).step_by(1000) {
        let mut pipe = redis::pipe();
        for index in chunk_start..(chunk_start + 1000).min(options.keys) {
            key_write(&mut key, index);
            pipe.cmd("SET").arg(&key).arg(value).ignore();
        }
        pipe.exec(&mut connection)?;
    }
    Ok(())
}

/// Key number `index`: `key:` and 12 digits (16 bytes, as in every floe benchmark).
fn key_write(key: &mut Vec<u8>, index: usize) {
    use std::io::Write as _;
    key.clear();
    write!(key, "key:{index:012}").expect("writing to a Vec cannot fail");
}

/// One connection's loop: pipelines until told to stop or the request budget is spent.
fn drive(
    mut connection: redis::Connection,
    options: &Options,
    zipf: Option<&Zipf>,
    value: &[u8],
    stop: &AtomicBool,
    issued: &AtomicU64,
    seed: u64,
) -> ThreadResult {
    let mut rng = SplitMix64::new(seed);
    let mut histogram = new_histogram();
    let (mut requests, mut errors, mut gets, mut hits) = (0u64, 0u64, 0u64, 0u64);
    let mut key = Vec::with_capacity(32);
    let pipeline = options.pipeline as u64;
    // Which requests of the pipeline are GETs, and their keys (for look-aside SETs).
    let mut sent_gets: Vec<Option<Vec<u8>>> = Vec::with_capacity(options.pipeline);
    // Each connection scans from its own random start among the keys above `keys`.
    let mut scan_next = rng.below(options.keys);
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if options.requests > 0 && issued.fetch_add(pipeline, Ordering::Relaxed) >= options.requests
        {
            break;
        }
        let mut pipe = redis::pipe();
        sent_gets.clear();
        for _ in 0..options.pipeline {
            // NOTE: below(100) < 100 fits in u32.
            #[expect(clippy::cast_possible_truncation, reason = "below 100")]
            let scan_roll = rng.below(100) as u32;
            let index = if scan_roll < options.scan_percent {
                scan_next = (scan_next + 1) % options.keys;
                options.keys + scan_next
            } else {
                match zipf {
                    Some(zipf) => zipf.sample(&mut rng),
                    None => rng.below(options.keys),
                }
            };
            key_write(&mut key, index);
            #[expect(clippy::cast_possible_truncation, reason = "below 100")]
            let roll = rng.below(100) as u32;
            if options.look_aside || roll < options.get_percent {
                pipe.cmd("GET").arg(&key);
                sent_gets.push(Some(key.clone()));
            } else {
                pipe.cmd("SET").arg(&key).arg(value);
                sent_gets.push(None);
            }
        }
        let sent = Instant::now();
        let outcome: Result<Vec<redis::Value>, _> = pipe.query(&mut connection);
        let micros = u64::try_from(sent.elapsed().as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        match outcome {
            Ok(replies) => {
                histogram.saturating_record_n(micros, pipeline);
                requests += pipeline;
                let mut fill = redis::pipe();
                let mut fill_count = 0;
                for (reply, get) in replies.iter().zip(&sent_gets) {
                    let Some(get_key) = get else { continue };
                    gets += 1;
                    if *reply == redis::Value::Nil {
                        if options.look_aside {
                            fill.cmd("SET").arg(get_key).arg(value).ignore();
                            fill_count += 1;
                        }
                    } else {
                        hits += 1;
                    }
                }
                // The look-aside fill is not timed: the latency is the GET's.
                if fill_count > 0 && fill.exec(&mut connection).is_err() {
                    errors += fill_count;
                }
            }
            Err(error) => {
                errors += pipeline;
                if error.is_io_error() {
                    break;
                }
            }
        }
    }
    ThreadResult {
        histogram,
        requests,
        errors,
        gets,
        hits,
    }
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

fn report(
    options: &Options,
    histogram: &Histogram<u64>,
    requests: u64,
    errors: u64,
    seconds: f64,
    hit_ratio: f64,
) {
    let ops = requests as f64 / seconds;
    let millis = |quantile: f64| histogram.value_at_quantile(quantile) as f64 / 1000.0;
    let (p50, p99, p999) = (millis(0.50), millis(0.99), millis(0.999));
    let max = histogram.max() as f64 / 1000.0;
    if options.csv {
        println!(
            "{},{},{},{},{},{},{},{requests},{errors},{seconds:.3},{ops:.0},{p50:.3},{p99:.3},\
             {p999:.3},{max:.3},{hit_ratio:.4}",
            options.label,
            options.clients,
            options.pipeline,
            options.get_percent,
            options.distribution(),
            options.keys,
            options.value_size,
        );
    } else {
        println!(
            "{requests} requests ({errors} errors) in {seconds:.2} s: {ops:.0} ops/s, \
             p50 {p50:.3} ms, p99 {p99:.3} ms, p99.9 {p999:.3} ms, max {max:.3} ms, \
             GET hit ratio {hit_ratio:.4} (c={} P={} get={}% {} keys={} value={} B)",
            options.clients,
            options.pipeline,
            options.get_percent,
            options.distribution(),
            options.keys,
            options.value_size,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(arguments: &[&str]) -> Result<Options, String> {
        Options::parse(arguments.iter().map(|argument| (*argument).to_string()))
    }

    #[test]
    fn parse_reads_every_option() {
        let parsed = options(&[
            "--port",
            "7000",
            "--clients",
            "3",
            "--pipeline",
            "8",
            "--get-percent",
            "50",
            "--uniform",
            "--keys",
            "10",
            "--value-size",
            "32",
            "--requests",
            "100",
        ])
        .expect("valid options");
        assert_eq!(parsed.port, 7000);
        assert_eq!(parsed.clients, 3);
        assert_eq!(parsed.pipeline, 8);
        assert_eq!(parsed.get_percent, 50);
        assert_eq!(parsed.distribution(), "uniform");
        assert_eq!(
            (parsed.keys, parsed.value_size, parsed.requests),
            (10, 32, 100)
        );
    }

    #[test]
    fn parse_refuses_bad_values() {
        assert!(options(&["--clients", "0"]).is_err());
        assert!(options(&["--get-percent", "101"]).is_err());
        assert!(options(&["--port"]).is_err());
        assert!(options(&["--bogus"]).is_err());
    }

    #[test]
    fn keys_are_sixteen_bytes() {
        let mut key = Vec::new();
        key_write(&mut key, 42);
        assert_eq!(key, b"key:000000000042");
    }
}
