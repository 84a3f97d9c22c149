//! The stdin CLI: `floe` with no subcommand (and the other subcommands' printing). Poro's session, OrchidDB's aliases, and every
//! command of floe-core's command table, with replies printed as redis-cli prints them.
//!
//! ```text
//! line ─► split (redis-cli quoting) ─► aliases (PUT, DELETE, help, quit/exit)
//!      ─► Db::prepare ─► Db::apply (command table) ─► Db::settle ─► one RESP frame
//!      ─► redis-cli formatting;   Outcome::Runtime (SAVE, INFO, CONFIG ...) ─► Admin::run
//! ```
//!
//! - **Terminal** (stdin is a tty): a banner (version, data directory, what recovery
//!   found), a `> ` prompt (`[n]> ` after `SELECT n`), line editing and history kept in the
//!   data directory ([`HISTORY_FILE_NAME`]).
//! - **Pipe**: no banner, no prompt: one reply per line and nothing else on stdout, so
//!   `printf 'SET a 1\nGET a\n' | floe` is scriptable. Messages go to stderr.
//! - A reply is printed only once its write is durable: under fsync `always` an `OK` on
//!   stdout means the write is on disk, under `everysec` and `no` that it is in the log
//!   file (a crash of the process loses nothing printed). The crash tests rely on this.
//!   From a pipe, the lines already read run one after another and their replies are held
//!   ([`Held`]) until one commit and wait covers them all, then printed in order: one log
//!   write per batch of lines instead of one per line.
//! - The end: `quit`/`exit`/`QUIT` print `Goodbye!`; end of input, Ctrl-C at the prompt,
//!   `SHUTDOWN`, SIGINT, SIGTERM and SIGHUP all close the [`Db`], which writes and
//!   fdatasyncs everything logged, before the process exits.
//! - Lines may be as long as the largest key and value need, escapes included
//!   ([`line_size_max`]); a longer line is skipped with an error.
//!
//! Invariants: every non-empty line prints exactly one reply (a multi-line one for
//! aggregates and `help`), so a script can pair replies with commands; a line that fails
//! to split or is too long changes nothing.
//!
//! Fault assumptions: stdout may close early (`floe | head`): that ends the session quietly,
//! with the log flushed. A SIGTERM while the terminal is in line-editing mode leaves it
//! in raw mode (run `reset`); the data is flushed all the same.

mod format;
mod split;

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use floe_core::codec::resp::{ReplySink, ReplyWriter};
use floe_core::command::{COMMANDS, Outcome, RuntimeCommand, Session};

pub use format::{format_reply, format_reply_raw, quote};
pub use split::{Unbalanced, split_line};

use crate::admin::{Admin, DoorStats, Finish};
pub use crate::config::Settings;
use crate::config::human;
use crate::db::{Db, DbConfig, Durability};
use crate::log::Ticket;
use crate::log::check::check as check_dir;
#[cfg(feature = "sim")]
use crate::sim::SimOptions;

/// The interactive history's file, inside the data directory.
pub const HISTORY_FILE_NAME: &str = "cli-history";

/// Room a line gets beyond its key and value: the command name, options and blanks.
const LINE_SLACK_SIZE: usize = 64 * 1024;

/// Every byte of a key or value may be written as a 4-byte `\xHH` escape.
const ESCAPE_SIZE_MAX: usize = 4;

/// The longest line the CLI reads: the largest key and value, each byte escaped.
#[must_use]
pub fn line_size_max(config: &DbConfig) -> usize {
    let item = config.store.key_size_max as usize + config.store.value_size_max as usize;
    item * ESCAPE_SIZE_MAX + LINE_SLACK_SIZE
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
    let line_size_max = line_size_max(&config);
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
    let admin = Arc::new(Admin::new(Arc::clone(&db), settings.clone(), None, "stdin"));
    let mut shell = Shell::new(admin);
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

/// Reads lines from a pipe or file until its end, `quit` or `SHUTDOWN`. The lines already
/// read (up to [`HELD_LINES_MAX`]) run before their replies are released: reading stops to
/// release them whenever the next line is not in the buffer yet.
fn run_piped(shell: &mut Shell, line_size_max: usize) -> io::Result<()> {
    let mut input = io::BufReader::with_capacity(PIPE_BUFFER_SIZE, io::stdin().lock());
    let mut line = Vec::new();
    let mut out = Vec::new();
    let mut held = Held::default();
    loop {
        line.clear();
        let limit = u64::try_from(line_size_max)
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        if (&mut input).take(limit).read_until(b'\n', &mut line)? == 0 {
            out.clear();
            shell.release(&mut held, &mut out);
            print(&out)?;
            return Ok(());
        }
        let flow = if line.len() > line_size_max && line.last() != Some(&b'\n') {
            input.skip_until(b'\n')?;
            held.reply(
                format!(
                    "(error) ERR line longer than {line_size_max} bytes (the largest key and \
                     value, escaped); it was skipped\n"
                )
                .into_bytes(),
            );
            Flow::Continue
        } else {
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            shell.line_held(text, &mut held)
        };
        let more = input.buffer().contains(&b'\n');
        if flow == Flow::Exit || !more || held.len() >= HELD_LINES_MAX {
            out.clear();
            shell.release(&mut held, &mut out);
            if !print(&out)? || flow == Flow::Exit {
                return Ok(());
            }
        }
    }
}

/// The most piped lines whose replies wait for one release.
const HELD_LINES_MAX: usize = 1024;

/// Bytes of piped input read ahead: the lines a release may cover.
const PIPE_BUFFER_SIZE: usize = 64 * 1024;

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
    admin: Arc<Admin>,
    stats: Arc<DoorStats>,
    session: Session,
    reply: Reply,
}

impl Shell {
    /// A session in database 0, replying in RESP2.
    #[must_use]
    pub fn new(admin: Arc<Admin>) -> Self {
        let stats = admin.door();
        stats
            .connection_count
            .store(1, std::sync::atomic::Ordering::Relaxed);
        Self {
            admin,
            stats,
            session: Session::new(1),
            reply: Reply::default(),
        }
    }

    /// Runs one line (without its newline) and appends what to print to `out`: nothing for
    /// a blank line, otherwise one reply ending in a newline (once its write is durable).
    pub fn line(&mut self, line: &[u8], out: &mut Vec<u8>) -> Flow {
        let mut held = Held::default();
        let flow = self.line_held(line, &mut held);
        self.release(&mut held, out);
        flow
    }

    /// [`Shell::line`] that leaves the reply in `held` until [`Shell::release`].
    pub fn line_held(&mut self, line: &[u8], held: &mut Held) -> Flow {
        let Ok(mut args) = split_line(line) else {
            held.reply(b"Invalid argument(s)\n".to_vec());
            return Flow::Continue;
        };
        let Some(name) = args.first_mut() else {
            return Flow::Continue;
        };
        if name.eq_ignore_ascii_case(b"quit") || name.eq_ignore_ascii_case(b"exit") {
            held.reply(b"Goodbye!\n".to_vec());
            return Flow::Exit;
        }
        if name.eq_ignore_ascii_case(b"help") {
            held.reply(help().into_bytes());
            return Flow::Continue;
        }
        // OrchidDB's names for SET and DEL.
        if name.eq_ignore_ascii_case(b"put") {
            *name = b"SET".to_vec();
        } else if name.eq_ignore_ascii_case(b"delete") {
            *name = b"DEL".to_vec();
        }
        let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        self.execute(&args, held)
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
        let settings = &self.admin.settings();
        let mut banner = format!(
            "floe {} - a fast, durable key-value store. Type `help` for the commands, `quit` \
             to leave.\n",
            env!("CARGO_PKG_VERSION")
        );
        let limits = format!(
            "maxmemory {}, max-keys {}, {}",
            human(settings.memory_size),
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
        let db = self.admin.db();
        if let Some(report) = db.recovery() {
            let keys = db.stats().store.keys;
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

    /// Runs `args` through the durable command path (prepare, apply, then its durability
    /// joins `held`), or through [`Admin`] for the commands only the runtime can complete
    /// (those first make every held write durable, then their own).
    fn execute(&mut self, args: &[&[u8]], held: &mut Held) -> Flow {
        let started = Instant::now();
        self.stats.started();
        self.reply.0.clear();
        let db = self.admin.db();
        let prepared = db.prepare(args);
        let applied = db.apply(&prepared, &mut self.session, &mut self.reply);
        let mut raw = false;
        let mut flow = Flow::Continue;
        let mut waits = false;
        // An error is its reply's text.
        let result = match applied {
            Err(error) => Err(error.reply_text()),
            Ok(applied) if applied.outcome == Outcome::Done => {
                waits = held.hold(db, applied.durability);
                Ok(applied.outcome)
            }
            Ok(applied) => held.settle(db).and_then(|()| {
                db.settle(applied.durability)
                    .map(|()| applied.outcome)
                    .map_err(|error| error.reply_text())
            }),
        };
        match result {
            Ok(Outcome::Done) => {}
            Ok(Outcome::Close) => flow = Flow::Exit,
            Ok(Outcome::Runtime(command)) => {
                let mut writer = ReplyWriter::new(&mut self.reply, self.session.protocol);
                raw = command == RuntimeCommand::Info;
                if self.admin.run(command, args, &mut writer) == Finish::Shutdown {
                    flow = Flow::Exit;
                }
            }
            Err(text) => {
                // A refused write: replace whatever it wrote with the error.
                self.reply.0.clear();
                ReplyWriter::new(&mut self.reply, self.session.protocol).error(text.as_bytes());
            }
        }
        let error = self.reply.0.strip_prefix(b"-").map(|text| {
            let end = text
                .iter()
                .position(|byte| *byte == b'\r')
                .unwrap_or(text.len());
            &text[..end]
        });
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.stats.record(prepared.spec(), nanos, error);
        if flow == Flow::Exit {
            held.reply(b"Goodbye!\n".to_vec());
            return flow;
        }
        let mut text = Vec::new();
        self.print_reply(&mut text, raw);
        held.replies.push((text, waits));
        Flow::Continue
    }

    /// Makes every write in `held` durable with one commit and wait, then appends the held
    /// replies to `out` in order; if the log refused, the replies of the writes that waited
    /// become its error (as a single line's would).
    pub fn release(&mut self, held: &mut Held, out: &mut Vec<u8>) {
        // A failure, now or at an earlier runtime command's settle, is kept in `failed`.
        let _settled = held.settle(self.admin.db());
        if let Some(error) = held.failed.take() {
            self.reply.0.clear();
            ReplyWriter::new(&mut self.reply, self.session.protocol).error(error.as_bytes());
            let mut text = Vec::new();
            self.print_reply(&mut text, false);
            for (reply, waits) in &mut held.replies {
                if *waits {
                    reply.clone_from(&text);
                }
            }
        }
        for (reply, _) in held.replies.drain(..) {
            out.extend_from_slice(&reply);
        }
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

/// Replies of lines that ran but whose writes may not be durable yet, in order, with the
/// log's tickets that make them so.
#[derive(Debug, Default)]
pub struct Held {
    /// Each line's printed reply, and whether it waits for the log.
    replies: Vec<(Vec<u8>, bool)>,
    /// Appended records to wait for.
    tickets: Vec<Ticket>,
    /// Why an earlier settle failed (a runtime command's, before the release): the held
    /// writes that waited get this error.
    failed: Option<String>,
}

impl Held {
    /// Lines held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.replies.len()
    }

    /// Whether no line is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.replies.is_empty()
    }

    /// Holds a reply that waits for nothing.
    fn reply(&mut self, text: Vec<u8>) {
        self.replies.push((text, false));
    }

    /// Adds a write's durability; whether its reply must wait. Buffered records are
    /// committed at once, so the log holds the lines' records in the order they ran (a
    /// crash keeps a prefix of them); only the wait is shared.
    fn hold(&mut self, db: &Db, durability: Durability) -> bool {
        let ticket = match durability {
            Durability::Done => return false,
            Durability::Buffered => db.commit(),
            Durability::Appended(ticket) => Ok(Some(ticket)),
        };
        match ticket {
            Ok(ticket) => self.tickets.extend(ticket),
            Err(error) => self.failed = Some(error.reply_text()),
        }
        true
    }

    /// Waits for every ticket; the error's reply text if the log refused (also kept for
    /// [`Shell::release`]).
    fn settle(&mut self, db: &Db) -> Result<(), String> {
        let settled = self
            .tickets
            .drain(..)
            .try_for_each(|ticket| db.wait(ticket));
        if let Err(error) = settled {
            self.failed = Some(error.reply_text());
        }
        match &self.failed {
            Some(text) => Err(text.clone()),
            None => Ok(()),
        }
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
