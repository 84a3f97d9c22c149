//! The stdin CLI: `floe` with no subcommand (and the other subcommands' printing). Poro's session, OrchidDB's aliases, and every
//! command of floe-core's command table, with replies printed as redis-cli prints them.
//!
//! ```text
//! line ─► split (redis-cli quoting) ─► aliases (PUT, DELETE, help, quit/exit)
//!      ─► Db::execute_with(command::execute) ─► one RESP frame ─► redis-cli formatting
//!                                           └► Outcome::Runtime: SAVE, INFO, CONFIG ... here
//! ```
//!
//! - **Terminal** (stdin is a tty): a banner (version, data directory, what recovery
//!   found), a `> ` prompt (`[n]> ` after `SELECT n`), line editing and history kept in the
//!   data directory ([`HISTORY_FILE_NAME`]).
//! - **Pipe**: no banner, no prompt: one reply per line and nothing else on stdout, so
//!   `printf 'SET a 1\nGET a\n' | floe` is scriptable. Messages go to stderr.
//! - A reply is printed only after [`Db::execute_with`] returned, so under fsync `always`
//!   an `OK` on stdout means the write is on disk: the crash tests rely on this.
//! - The end: `quit`/`exit`/`QUIT` print `Goodbye!`; end of input, Ctrl-C at the prompt,
//!   `SHUTDOWN`, SIGINT, SIGTERM and SIGHUP all close the [`Db`], which writes and
//!   fdatasyncs everything logged, before the process exits.
//! - Lines may be as long as the largest key and value need, escapes included
//!   ([`Settings::line_size_max`]); a longer line is skipped with an error.
//!
//! Invariants: every non-empty line prints exactly one reply (a multi-line one for
//! aggregates and `help`), so a script can pair replies with commands; a line that fails
//! to split or is too long changes nothing.
//!
//! Fault assumptions: stdout may close early (`floe | head`): that ends the session quietly,
//! with the log flushed. A SIGTERM while the terminal is in line-editing mode leaves it
//! in raw mode (run `reset`); the data is flushed all the same.

mod format;
mod info;
mod split;

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use floe_core::codec::resp::{ReplySink, ReplyWriter};
use floe_core::command::{self, COMMANDS, Outcome, RuntimeCommand, Session};
use floe_core::error::ConfigError;
use floe_core::storage::policy::EvictionPolicy;

pub use format::{format_reply, format_reply_raw, quote};
pub use split::{Unbalanced, split_line};

use crate::db::{Db, DbConfig, DbError};
use crate::io::Backend;
use crate::log::FsyncPolicy;
use crate::log::check::check as check_dir;
#[cfg(feature = "sim")]
use crate::sim::SimOptions;

/// The interactive history's file, inside the data directory.
pub const HISTORY_FILE_NAME: &str = "cli-history";

/// Room a line gets beyond its key and value: the command name, options and blanks.
const LINE_SLACK_SIZE: usize = 64 * 1024;

/// Every byte of a key or value may be written as a 4-byte `\xHH` escape.
const ESCAPE_SIZE_MAX: usize = 4;

/// The settings `floe` runs with, as the binary parsed them from its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `--dir`: the data directory, created if missing.
    pub dir: PathBuf,
    /// `--fsync`.
    pub fsync: FsyncPolicy,
    /// `--persistence`: `false` is a pure cache that writes no file.
    pub persistence: bool,
    /// `--maxmemory`: bytes of item memory.
    pub memory_size: u64,
    /// `--max-keys`.
    pub keys_max: u64,
    /// `--maxmemory-policy`.
    pub policy: EvictionPolicy,
    /// `--io`.
    pub backend: Backend,
}

impl Settings {
    /// The [`DbConfig`] these settings describe.
    ///
    /// # Errors
    /// A message naming the option whose value cannot work and what would.
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
        config.persistence = self.persistence;
        config.fsync = self.fsync;
        config.backend = self.backend;
        if let Err(error) = config.store.validate() {
            return Err(self.config_message(error));
        }
        config.validate().map_err(|error| error.to_string())?;
        Ok(config)
    }

    /// The longest line the CLI reads: the largest key and value, each byte escaped.
    #[must_use]
    pub fn line_size_max(config: &DbConfig) -> usize {
        let item = config.store.key_size_max as usize + config.store.value_size_max as usize;
        item * ESCAPE_SIZE_MAX + LINE_SLACK_SIZE
    }

    fn config_message(&self, error: ConfigError) -> String {
        let memory = info::human(self.memory_size);
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

/// Parses a size as Redis's configuration does: a byte count with an optional unit, `k`
/// (1000), `kb` (1024), `m`, `mb`, `g`, `gb`, `t`, `tb` (case-insensitive): `64mb`, `1gb`,
/// `1048576`.
///
/// # Errors
/// A message saying what is accepted.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let lowered = text.trim().to_ascii_lowercase();
    let split = lowered
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lowered.len());
    let (digits, unit) = lowered.split_at(split);
    let multiplier: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1 << 10,
        "m" => 1000 * 1000,
        "mb" => 1 << 20,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1 << 30,
        "t" => 1000 * 1000 * 1000 * 1000,
        "tb" => 1 << 40,
        _ => return Err(size_error(text)),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|count| count.checked_mul(multiplier))
        .ok_or_else(|| size_error(text))
}

fn size_error(text: &str) -> String {
    format!(
        "`{text}` is not a size: expected a number of bytes with an optional unit, k/kb, m/mb, \
         g/gb or t/tb (as in Redis: 64mb, 1gb, 1048576)"
    )
}

/// Parses `on`/`off` (also `yes`/`no`, `true`/`false`, as Redis's booleans).
///
/// # Errors
/// A message saying what is accepted.
pub fn parse_switch(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "on" | "yes" | "true" => Ok(true),
        "off" | "no" | "false" => Ok(false),
        _ => Err(format!("`{text}` is not a switch: expected `on` or `off`")),
    }
}

/// Parses an eviction policy by Redis's `maxmemory-policy` names, plus `fifo` and `sieve`.
///
/// # Errors
/// A message listing the names.
pub fn parse_policy(text: &str) -> Result<EvictionPolicy, String> {
    EvictionPolicy::from_name(text.as_bytes()).ok_or_else(|| {
        let names: Vec<&str> = EvictionPolicy::ALL.iter().map(|p| p.name()).collect();
        format!(
            "unknown eviction policy `{text}`: expected one of {}",
            names.join(", ")
        )
    })
}

/// Parses a key count: a whole number, at least 1.
///
/// # Errors
/// A message saying what is accepted.
pub fn parse_key_count(text: &str) -> Result<u64, String> {
    match text.trim().replace('_', "").parse::<u64>() {
        Ok(count) if count > 0 => Ok(count),
        _ => Err(format!(
            "`{text}` is not a key count: expected a whole number of keys, at least 1"
        )),
    }
}

/// Runs the stdin CLI until `quit`, `SHUTDOWN`, the end of input or a signal; see the
/// module documentation. Returns the process's exit code: 0 when the data directory was
/// opened and closed cleanly, 1 when it could not be opened or closing it failed, 2 for
/// settings that cannot work.
#[must_use]
pub fn run(settings: &Settings) -> ExitCode {
    let config = match settings.db_config() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("floe: {message}");
            return ExitCode::from(2);
        }
    };
    let line_size_max = Settings::line_size_max(&config);
    let db = match Db::open(&settings.dir, config) {
        Ok(db) => Arc::new(db),
        Err(error) => {
            eprintln!(
                "floe: cannot open the data directory `{}`: {error}",
                settings.dir.display()
            );
            return ExitCode::FAILURE;
        }
    };
    close_on_signal(&db);
    let mut shell = Shell::new(Arc::clone(&db), settings.clone());
    let result = if io::stdin().is_terminal() {
        print!("{}", shell.banner());
        let history = settings
            .persistence
            .then(|| settings.dir.join(HISTORY_FILE_NAME));
        run_terminal(&mut shell, history.as_deref())
    } else {
        run_piped(&mut shell, line_size_max)
    };
    let mut code = ExitCode::SUCCESS;
    if let Err(error) = result {
        eprintln!("floe: {error}");
        code = ExitCode::FAILURE;
    }
    if let Err(error) = db.close() {
        eprintln!("floe: closing `{}` failed: {error}", settings.dir.display());
        code = ExitCode::FAILURE;
    }
    code
}

/// `floe check [--repair] DIR`: prints the report; exit code 0 when the directory is clean
/// (or a repair made it so), 1 when problems remain, 2 when the check itself failed.
#[must_use]
pub fn check(dir: &Path, repair: bool) -> ExitCode {
    match check_dir(dir, repair) {
        Ok(report) => {
            println!("{report}");
            if report.is_clean() || report.is_repaired() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("floe check: {error}");
            ExitCode::from(2)
        }
    }
}

/// `floe sim`: runs the simulator and prints its summary; exit code 0 when every run
/// passed, 1 when one found a violation (printed on stderr with its replay command).
#[cfg(feature = "sim")]
#[must_use]
pub fn sim(options: SimOptions) -> ExitCode {
    match crate::sim::run(options) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("{failure}");
            ExitCode::FAILURE
        }
    }
}

/// On SIGINT, SIGTERM or SIGHUP: close the [`Db`] (write and fdatasync everything logged)
/// and exit. A command in flight on the main thread either was logged before the close, and
/// is then synced by it, or is refused; either way no reply claims more than is on disk.
fn close_on_signal(db: &Arc<Db>) {
    let db = Arc::clone(db);
    let installed = ctrlc::set_handler(move || {
        let code = match db.close() {
            Ok(()) => 0,
            Err(error) => {
                eprintln!("floe: closing `{}` failed: {error}", db.dir().display());
                1
            }
        };
        std::process::exit(code);
    });
    if let Err(error) = installed {
        eprintln!(
            "floe: cannot handle SIGINT/SIGTERM ({error}); leave with `quit` or end of input \
             so the log is flushed"
        );
    }
}

/// Reads lines from a pipe or file until its end, `quit` or `SHUTDOWN`.
fn run_piped(shell: &mut Shell, line_size_max: usize) -> io::Result<()> {
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let mut line = Vec::new();
    let mut out = Vec::new();
    loop {
        line.clear();
        out.clear();
        let limit = u64::try_from(line_size_max)
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        if (&mut input).take(limit).read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let flow = if line.len() > line_size_max && line.last() != Some(&b'\n') {
            input.skip_until(b'\n')?;
            out.extend_from_slice(
                format!(
                    "(error) ERR line longer than {line_size_max} bytes (the largest key and \
                     value, escaped); it was skipped\n"
                )
                .as_bytes(),
            );
            Flow::Continue
        } else {
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            shell.line(text, &mut out)
        };
        if !print(&out)? {
            return Ok(());
        }
        if flow == Flow::Exit {
            return Ok(());
        }
    }
}

/// Reads lines with editing and history from a terminal.
fn run_terminal(shell: &mut Shell, history: Option<&Path>) -> io::Result<()> {
    use rustyline::error::ReadlineError;
    let mut editor = rustyline::DefaultEditor::new().map_err(io::Error::other)?;
    if let Some(path) = history
        && path.exists()
        && let Err(error) = editor.load_history(path)
    {
        eprintln!(
            "floe: cannot read the history `{}`: {error}",
            path.display()
        );
    }
    let mut out = Vec::new();
    let result = loop {
        match editor.readline(&shell.prompt()) {
            Ok(text) => {
                // A paste of several lines arrives as one (bracketed paste): run each.
                let mut stop = false;
                for line in text.split('\n') {
                    let line = line.strip_suffix('\r').unwrap_or(line);
                    if !line.trim().is_empty() {
                        // Whether it was added (duplicates are not) does not matter.
                        let _added = editor.add_history_entry(line);
                    }
                    out.clear();
                    let flow = shell.line(line.as_bytes(), &mut out);
                    if !print(&out)? || flow == Flow::Exit {
                        stop = true;
                        break;
                    }
                }
                if stop {
                    break Ok(());
                }
            }
            Err(ReadlineError::Interrupted | ReadlineError::Eof) => break Ok(()),
            Err(error) => break Err(io::Error::other(error)),
        }
    };
    if let Some(path) = history
        && let Err(error) = editor.save_history(path)
    {
        eprintln!(
            "floe: cannot save the history `{}`: {error}",
            path.display()
        );
    }
    result
}

/// Writes `out` to stdout and flushes; `false` if stdout was closed by the reader.
fn print(out: &[u8]) -> io::Result<bool> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(out).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(error) => Err(error),
    }
}

/// What the CLI does after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Read the next line.
    Continue,
    /// Stop reading: `quit`, `exit` or `SHUTDOWN`.
    Exit,
}

/// One CLI session over a [`Db`]: turns lines into replies. Separate from the reading loop
/// so it can be driven by tests.
#[derive(Debug)]
pub struct Shell {
    db: Arc<Db>,
    settings: Settings,
    session: Session,
    reply: Reply,
    counters: info::Counters,
}

impl Shell {
    /// A session in database 0, replying in RESP2.
    #[must_use]
    pub fn new(db: Arc<Db>, settings: Settings) -> Self {
        Self {
            db,
            settings,
            session: Session::new(1),
            reply: Reply::default(),
            counters: info::Counters {
                started: Instant::now(),
                command_count: 0,
            },
        }
    }

    /// Runs one line (without its newline) and appends what to print to `out`: nothing for
    /// a blank line, otherwise one reply ending in a newline.
    pub fn line(&mut self, line: &[u8], out: &mut Vec<u8>) -> Flow {
        let Ok(mut args) = split_line(line) else {
            out.extend_from_slice(b"Invalid argument(s)\n");
            return Flow::Continue;
        };
        let Some(name) = args.first_mut() else {
            return Flow::Continue;
        };
        if name.eq_ignore_ascii_case(b"quit") || name.eq_ignore_ascii_case(b"exit") {
            out.extend_from_slice(b"Goodbye!\n");
            return Flow::Exit;
        }
        if name.eq_ignore_ascii_case(b"help") {
            out.extend_from_slice(help().as_bytes());
            return Flow::Continue;
        }
        // OrchidDB's names for SET and DEL.
        if name.eq_ignore_ascii_case(b"put") {
            *name = b"SET".to_vec();
        } else if name.eq_ignore_ascii_case(b"delete") {
            *name = b"DEL".to_vec();
        }
        let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        self.execute(&args, out)
    }

    /// The prompt: `> `, or `[n]> ` once database `n` is selected.
    #[must_use]
    pub fn prompt(&self) -> String {
        match self.session.db {
            0 => "> ".to_owned(),
            db => format!("[{db}]> "),
        }
    }

    /// The terminal's greeting: version, data directory and settings, what recovery found.
    #[must_use]
    pub fn banner(&self) -> String {
        let settings = &self.settings;
        let mut banner = format!(
            "floe {} - a fast, durable key-value store. Type `help` for the commands, `quit` \
             to leave.\n",
            env!("CARGO_PKG_VERSION")
        );
        let limits = format!(
            "maxmemory {}, max-keys {}, {}",
            info::human(settings.memory_size),
            settings.keys_max,
            settings.policy.name()
        );
        if settings.persistence {
            banner += &format!(
                "data: {} (fsync {}, io {}, {limits})\n",
                settings.dir.display(),
                settings.fsync,
                settings.backend
            );
        } else {
            banner +=
                &format!("data: none, persistence is off: nothing survives a restart ({limits})\n");
        }
        if let Some(report) = self.db.recovery() {
            let keys = self.db.stats().store.keys;
            let from = report.snapshot.as_ref().map_or_else(
                || "no snapshot".to_owned(),
                |snapshot| format!("snapshot at LSN {}", snapshot.lsn),
            );
            banner += &format!(
                "recovered {keys} keys: {from}, then {} records from {} log segment(s) in \
                 {:.3} s",
                report.record_count + report.intent_count,
                report.segment_count,
                report.duration.as_secs_f64()
            );
            if !report.cuts.is_empty() {
                banner += &format!("; cut {} torn tail(s), see above", report.cuts.len());
            }
            banner.push('\n');
        }
        banner
    }

    /// Runs `args` through the command table with the [`Db`]'s durability, or here for the
    /// commands only the runtime can complete.
    fn execute(&mut self, args: &[&[u8]], out: &mut Vec<u8>) -> Flow {
        self.counters.command_count += 1;
        self.reply.0.clear();
        let session = &mut self.session;
        let reply = &mut self.reply;
        let result = self.db.execute_with(|store, now, log| {
            command::execute(store, session, args, now, reply, log)
        });
        match result {
            Ok(Outcome::Done) => self.print_reply(out, false),
            Ok(Outcome::Close) => {
                out.extend_from_slice(b"Goodbye!\n");
                return Flow::Exit;
            }
            Ok(Outcome::Runtime(command)) => return self.runtime(command, args, out),
            Err(error) => out.extend_from_slice(format!("(error) ERR {error}\n").as_bytes()),
        }
        Flow::Continue
    }

    /// The commands the store hands back: snapshots, INFO, CONFIG, SHUTDOWN.
    fn runtime(&mut self, command: RuntimeCommand, args: &[&[u8]], out: &mut Vec<u8>) -> Flow {
        self.reply.0.clear();
        let protocol = self.session.protocol;
        let mut raw = false;
        let mut flow = Flow::Continue;
        {
            let mut writer = ReplyWriter::new(&mut self.reply, protocol);
            match command {
                RuntimeCommand::Save => match self.db.save() {
                    Ok(_) => writer.simple(b"OK"),
                    Err(error) => writer.error(db_error(&error).as_bytes()),
                },
                RuntimeCommand::BackgroundSave { .. } => match self.db.bgsave() {
                    Ok(true) => writer.simple(b"Background saving started"),
                    Ok(false) => writer.error(b"ERR Background save already in progress"),
                    Err(error) => writer.error(db_error(&error).as_bytes()),
                },
                RuntimeCommand::BackgroundRewriteLog => match self.db.bgsave() {
                    Ok(true) => writer.simple(b"Background append only file rewriting started"),
                    Ok(false) => writer
                        .error(b"ERR Background append only file rewriting already in progress"),
                    Err(error) => writer.error(db_error(&error).as_bytes()),
                },
                RuntimeCommand::Info => {
                    let sections = args.get(1..).unwrap_or_default();
                    let text = info::info_text(&self.db, &self.settings, &self.counters, sections);
                    writer.bulk(text.as_bytes());
                    raw = true;
                }
                RuntimeCommand::ConfigGet => {
                    let entries = info::config_entries(&self.db, &self.settings);
                    let patterns = args.get(2..).unwrap_or_default();
                    let matching = info::config_matching(entries, patterns);
                    writer.map_header(matching.len());
                    for (name, value) in matching {
                        writer.bulk(name.as_bytes());
                        writer.bulk(value.as_bytes());
                    }
                }
                RuntimeCommand::ConfigSet => writer.error(
                    b"ERR CONFIG SET is not supported: floe's settings are fixed at start; \
                      restart floe with the option (see `floe --help`)",
                ),
                RuntimeCommand::ConfigRewrite => {
                    writer.error(b"ERR The server is running without a config file");
                }
                RuntimeCommand::Shutdown(shutdown) => {
                    let saved = match shutdown.save {
                        Some(true) if !shutdown.abort => self.db.save().map(|_| ()),
                        _ => Ok(()),
                    };
                    match saved {
                        _ if shutdown.abort => writer.error(b"ERR No shutdown in progress."),
                        Err(error) if !shutdown.force => writer
                            .error(format!("ERR Errors trying to SHUTDOWN: {error}").as_bytes()),
                        _ => flow = Flow::Exit,
                    }
                }
                _ => writer.error(b"ERR this command is not available in the stdin CLI"),
            }
        }
        if flow == Flow::Exit {
            out.extend_from_slice(b"Goodbye!\n");
            return flow;
        }
        self.print_reply(out, raw);
        Flow::Continue
    }

    /// Formats the reply the command wrote.
    fn print_reply(&self, out: &mut Vec<u8>, raw: bool) {
        let formatted = if raw {
            format_reply_raw(&self.reply.0, out)
        } else {
            format_reply(&self.reply.0, out)
        };
        if let Err(error) = formatted {
            out.extend_from_slice(format!("(error) ERR unreadable reply: {error}\n").as_bytes());
        }
    }
}

/// A [`DbError`] as the text of an error reply.
fn db_error(error: &DbError) -> String {
    match error {
        DbError::PersistenceOff => {
            "ERR persistence is off (--persistence off): there is nowhere to save".to_owned()
        }
        other => format!("ERR {other}"),
    }
}

/// The reply buffer the command table writes into.
#[derive(Debug, Default)]
struct Reply(Vec<u8>);

impl ReplySink for Reply {
    fn put(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
}

/// `help`: the common commands with their arguments, then every command's name.
fn help() -> String {
    let mut text = String::from(
        "Commands are Redis's; quote arguments as in redis-cli (\"a b\\n\" or 'a b').\n\
         \x20 SET key value [EX s|PX ms] [NX|XX]  store a value (PUT key value works too)\n\
         \x20 GET key                             its value, or (nil)\n\
         \x20 DEL key [key ...]                   remove keys (DELETE key works too)\n\
         \x20 EXISTS key, EXPIRE key s, TTL key, PERSIST key, INCR key, APPEND key value\n\
         \x20 MSET k v [k v ...], MGET k [k ...], KEYS pattern, SCAN cursor [MATCH p], DBSIZE\n\
         \x20 SELECT 0-15, FLUSHDB, FLUSHALL\n\
         \x20 SAVE, BGSAVE, INFO [section], CONFIG GET pattern, SHUTDOWN\n\
         \x20 help                                this list\n\
         \x20 quit, exit                          leave (the log is flushed first)\n\
         All commands:",
    );
    let mut width = text.len() - text.rfind('\n').unwrap_or(0);
    for spec in &COMMANDS {
        let name = spec.name().to_ascii_uppercase();
        if width + name.len() + 1 > 90 {
            text.push_str("\n ");
            width = 1;
        }
        text.push(' ');
        text.push_str(&name);
        width += name.len() + 1;
    }
    text.push('\n');
    text
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests;
