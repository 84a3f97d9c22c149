//! Helpers shared by the end-to-end tests of the `floe` binary: the binary itself, scratch
//! data directories, one-shot sessions over a pipe, a long-lived child with line-by-line
//! replies, and the one seeded PRNG the tests draw from (no `thread_rng`). `server` starts a
//! RESP server (`floe serve` or a real `redis-server`) and talks raw RESP to it.
#![allow(
    dead_code,
    reason = "each test binary uses its own subset of these helpers"
)]

pub mod replication;
pub mod server;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};

/// The `floe` binary cargo built for these tests.
pub fn floe() -> Command {
    Command::new(env!("CARGO_BIN_EXE_floe"))
}

/// An empty directory for one test, under cargo's scratch directory for integration tests;
/// whatever an earlier run left there is removed first. The data directory goes inside.
pub fn scratch(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("floe-tests")
        .join(name);
    if path.exists() {
        fs::remove_dir_all(&path).expect("remove an old scratch directory");
    }
    fs::create_dir_all(&path).expect("create the scratch directory");
    path
}

/// What one `floe` run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub status: ExitStatus,
}

impl Run {
    /// The exit code (`None` if a signal ended the process).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// Runs `floe` with `args`, feeds it `input` on stdin, closes stdin and waits.
pub fn run(args: &[&str], input: &str) -> Run {
    let mut child = floe()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start floe");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // A process that exits early (a bad option) closes its end: that is not our failure.
    let _written = stdin.write_all(input.as_bytes());
    drop(stdin);
    let output = child.wait_with_output().expect("wait for floe");
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        status: output.status,
    }
}

/// Runs a CLI session on `dir` with extra options, and returns what it printed.
pub fn session(dir: &Path, options: &[&str], input: &str) -> Run {
    let dir = dir.to_str().expect("a UTF-8 path");
    let mut args = vec!["--dir", dir];
    args.extend_from_slice(options);
    run(&args, input)
}

/// A `floe` CLI kept running, fed and read line by line.
pub struct Live {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    pub stdout: BufReader<ChildStdout>,
}

impl Live {
    /// Starts `floe --dir <dir> <options>`; its stderr goes to `stderr_file`.
    pub fn start(dir: &Path, options: &[&str], stderr_file: &Path) -> Self {
        let stderr = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(stderr_file)
            .expect("open the stderr file");
        let mut child = floe()
            .arg("--dir")
            .arg(dir)
            .args(options)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start floe");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        Self {
            child,
            stdin,
            stdout,
        }
    }

    /// Sends one line.
    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .expect("write a line to floe");
    }

    /// Reads one reply line, without its newline; `None` at the end of output.
    pub fn line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches('\n').to_owned()),
        }
    }

    /// Closes stdin (end of input) and waits for the process.
    pub fn finish(mut self) -> ExitStatus {
        drop(self.stdin.take());
        self.child.wait().expect("wait for floe")
    }

    /// SIGKILL, then reap.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL floe");
        self.child.wait().expect("reap floe");
    }
}

/// The log segments of a data directory, in LSN order.
pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut segments: Vec<PathBuf> = fs::read_dir(dir)
        .expect("list the data directory")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("log-") && name.ends_with(".floe"))
        })
        .collect();
    segments.sort();
    segments
}

/// SplitMix64: the tests' one PRNG, seeded explicitly so a failure replays from its seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `low..high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        assert!(low < high, "low={low} high={high}");
        low + self.next_u64() % (high - low)
    }

    /// `true` once in `count` draws on average.
    pub fn one_in(&mut self, count: u64) -> bool {
        self.next_u64().is_multiple_of(count)
    }
}
