//! Differential test: every command script in `tests/differential/*.redis` runs against a
//! real `redis-server` and against `floe serve` (a fresh server each; once per event loop,
//! io_uring and epoll), over RESP2 and then again over RESP3 (`HELLO 3` first), and the raw
//! reply bytes must be equal.
//!
//! A script is one command per line in redis-cli's quoting (double quotes with `\xHH`, `\n`,
//! `\"` escapes; single quotes with `\'`), `#` starts a comment line, and each script starts
//! with `FLUSHALL` so that what it sees depends only on itself. A reply that is the
//! server's own by nature (a client ID, INFO, a SCAN cursor) carries a trailing marker with a
//! reason, and is compared more loosely:
//!
//! - `#~sorted REASON`: every aggregate's elements compared as a multiset (KEYS order).
//! - `#~shape REASON`: only the tree of reply types (distinct element shapes, no counts, no
//!   values); a null stays distinct from a value.
//! - `#~type REASON`: only the top-level reply type.
//! - `#~skip REASON`: sent, and its reply read, but not compared.
//!
//! A mismatch is reported with file:line, protocol, command and both replies escaped, and
//! the run carries on; at the end the test fails on every mismatch that
//! `tests/differential/DIFFERENCES.md` does not list as intended.
//!
//! In the floe tests, `FLOE_DIFF_TARGET=redis` puts a second redis-server in floe's place,
//! and `FLOE_DIFF_SCRIPT=strings` runs only the scripts whose name contains that text.
//! `redis_matches_redis` always runs the whole corpus redis against redis, so the corpus
//! itself must be deterministic, and the planted-difference tests prove the comparison can
//! fail and that its report is readable.

mod common;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use common::server::{Client, FrameError, Server, Target, escape, reply_size};

/// Where the scripts and the allow-list live.
const CORPUS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/differential");
/// The allow-list of intended differences, in `CORPUS_DIR`.
const DIFFERENCES_FILE: &str = "DIFFERENCES.md";

/// floe (its default event loop, io_uring here) against Redis over the whole corpus: every
/// difference must be listed as intended.
#[test]
fn floe_matches_redis() {
    floe_matches_redis_on(Target::Floe);
}

/// The same corpus against floe's epoll event loop: both loops must give the same bytes.
#[test]
fn floe_epoll_matches_redis() {
    floe_matches_redis_on(Target::FloeEpoll);
}

/// The corpus against `floe` (or what `FLOE_DIFF_TARGET` names), failing on every
/// difference not listed as intended.
fn floe_matches_redis_on(floe: Target) {
    let target = match std::env::var("FLOE_DIFF_TARGET").as_deref() {
        Ok("redis") => Target::Redis,
        Ok("floe") | Err(_) => floe,
        Ok(other) => panic!("FLOE_DIFF_TARGET={other:?}: expected `floe` or `redis`"),
    };
    let mut scripts = corpus();
    if let Ok(only) = std::env::var("FLOE_DIFF_SCRIPT") {
        scripts.retain(|script| script.name.contains(&only));
        assert!(
            !scripts.is_empty(),
            "FLOE_DIFF_SCRIPT={only:?} names no script"
        );
    }
    let mismatches = differences(&scripts, &scripts, target);
    let allowed = allow_list(
        &fs::read_to_string(Path::new(CORPUS_DIR).join(DIFFERENCES_FILE))
            .expect("read tests/differential/DIFFERENCES.md"),
    );
    fail_on_unlisted(&mismatches, &allowed, target);
}

/// Redis against Redis: the corpus has no reply that depends on time or chance unless a
/// marker says so, and the corpus is as large as promised.
#[test]
fn redis_matches_redis() {
    let scripts = corpus();
    let command_count: usize = scripts.iter().map(|script| script.lines.len()).sum();
    assert!(
        command_count >= 300,
        "corpus has only {command_count} commands"
    );
    let mismatches = differences(&scripts, &scripts, Target::Redis);
    fail_on_unlisted(&mismatches, &[], Target::Redis);
}

/// A script changed on one line (a read swapped for another read) makes exactly that line
/// differ, in both protocols, with a report that names it and shows both replies.
#[test]
fn planted_difference_is_reported() {
    let scripts = corpus();
    let mut planted = scripts.clone();
    let (script_index, line_index) = find_line(&planted, "strings.redis", "GET ");
    let line = &mut planted[script_index].lines[line_index];
    line.arguments[0] = b"STRLEN".to_vec();
    let line_number = line.number;

    let mismatches = differences(&scripts, &planted, Target::Redis);
    let places: Vec<String> = mismatches.iter().map(Mismatch::place).collect();
    assert_eq!(
        places,
        [
            format!("strings.redis:{line_number} (resp2)"),
            format!("strings.redis:{line_number} (resp3)"),
        ],
        "{}",
        listing(&mismatches)
    );
    let report = mismatches[0].to_string();
    for expected in [
        format!("strings.redis:{line_number}"),
        "GET ".to_owned(),
        escape(&mismatches[0].reference),
        escape(&mismatches[0].target),
    ] {
        assert!(report.contains(&expected), "{expected:?} not in:\n{report}");
    }
    // Listed as intended, it no longer fails; unlisted, the run panics.
    let row = format!(
        "| strings.redis | both | {} | * | * | planted by this test |",
        mismatches[0].command.replace('|', "\\|")
    );
    assert!(unlisted(&mismatches, &allow_list(&row)).is_empty());
    let failed = std::panic::catch_unwind(|| fail_on_unlisted(&mismatches, &[], Target::Redis));
    assert!(failed.is_err(), "an unlisted mismatch must fail the test");
}

/// A planted write that changes state is reported on its own line and on every later line
/// whose reply it changes, and the run carries on to the end of the corpus.
#[test]
fn planted_state_change_is_reported_and_the_run_carries_on() {
    let scripts = corpus();
    let mut planted = scripts.clone();
    let (script_index, line_index) = find_line(&planted, "keys.redis", "DBSIZE");
    planted[script_index].lines[line_index].arguments =
        vec![b"SET".to_vec(), b"planted".to_vec(), b"1".to_vec()];
    let mismatches = differences(&scripts, &planted, Target::Redis);
    let number = planted[script_index].lines[line_index].number;
    assert!(
        mismatches
            .iter()
            .any(|m| m.file == "keys.redis" && m.line == number),
        "{}",
        listing(&mismatches)
    );
    // The planted key is seen by a later DBSIZE or KEYS in the same script.
    assert!(
        mismatches
            .iter()
            .any(|m| m.file == "keys.redis" && m.line > number),
        "{}",
        listing(&mismatches)
    );
    // Later scripts start from FLUSHALL, so the plant does not leak into them.
    assert!(
        mismatches.iter().all(|m| m.file == "keys.redis"),
        "{}",
        listing(&mismatches)
    );
}

/// The script parser follows redis-cli's quoting rules and rejects what redis-cli rejects.
#[test]
fn script_lines_split_like_redis_cli() {
    let split = |line: &str| split_line(line).map(|(arguments, _)| arguments);
    assert_eq!(
        split(r#"SET k "a\x00b\n\"c\\" 'it\'s' plain"#),
        Ok(vec![
            b"SET".to_vec(),
            b"k".to_vec(),
            b"a\x00b\n\"c\\".to_vec(),
            b"it's".to_vec(),
            b"plain".to_vec(),
        ])
    );
    assert_eq!(split(r#""" ''"#), Ok(vec![Vec::new(), Vec::new()]));
    assert_eq!(split(r#"a"b c""#), Ok(vec![b"ab c".to_vec()]));
    assert_eq!(split(r#"'a\nb'"#), Ok(vec![b"a\\nb".to_vec()]));
    assert!(split(r#"GET "unterminated"#).is_err());
    assert!(split(r#"GET "a"b"#).is_err());
    assert!(split("GET 'a'b").is_err());
    let (arguments, marker) = split_line("TIME  #~shape the clock").expect("a marker line");
    assert_eq!(arguments, [b"TIME".to_vec()]);
    assert_eq!(marker, Some("#~shape the clock"));
    let (arguments, marker) = split_line(r##"KEYS "#~x""##).expect("a quoted #~");
    assert_eq!(arguments, [b"KEYS".to_vec(), b"#~x".to_vec()]);
    assert_eq!(marker, None);
    assert!(parse_script("t.redis", "FLUSHALL\nTIME #~shape\n").is_err());
    assert!(parse_script("t.redis", "FLUSHALL\nTIME #~loose why\n").is_err());
    assert!(parse_script("t.redis", "GET k\n").is_err());
}

/// Loose comparisons keep what they promise: order, values or counts may differ, the rest
/// may not.
#[test]
fn loose_comparisons_ignore_only_what_they_say() {
    let same = |compare, left: &[u8], right: &[u8]| replies_match(compare, left, right);
    assert!(same(
        Compare::Sorted,
        b"*2\r\n$1\r\na\r\n$1\r\nb\r\n",
        b"*2\r\n$1\r\nb\r\n$1\r\na\r\n"
    ));
    assert!(!same(
        Compare::Sorted,
        b"*2\r\n$1\r\na\r\n$1\r\nb\r\n",
        b"*2\r\n$1\r\na\r\n$1\r\nc\r\n"
    ));
    assert!(same(
        Compare::Shape,
        b"*2\r\n$1\r\n1\r\n$2\r\n22\r\n",
        b"*1\r\n$3\r\n333\r\n"
    ));
    assert!(!same(Compare::Shape, b"*1\r\n$1\r\n1\r\n", b"*1\r\n:1\r\n"));
    assert!(!same(Compare::Shape, b"$-1\r\n", b"$1\r\nx\r\n"));
    assert!(same(
        Compare::Type,
        b"*2\r\n$1\r\n0\r\n*0\r\n",
        b"*2\r\n$3\r\n123\r\n*1\r\n$1\r\nk\r\n"
    ));
    assert!(!same(Compare::Type, b":1\r\n", b"$1\r\n1\r\n"));
    assert!(same(Compare::Skip, b":1\r\n", b"-ERR\r\n"));
    assert!(!same(Compare::Exact, b":1\r\n", b":2\r\n"));
}

/// The allow-list's table rows are read back exactly, with `\|` for a literal bar.
#[test]
fn allow_list_rows_parse() {
    let text = "# title\n\n| file | protocol | command | floe | redis | why |\n\
                |---|---|---|---|---|---|\n\
                | `a.redis` | resp3 | `KEYS a\\|b` | `\":1\\r\\n\"` | * | a reason |\n";
    let rows = allow_list(text);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].file, "a.redis");
    assert_eq!(rows[0].protocol, "resp3");
    assert_eq!(rows[0].command, "KEYS a|b");
    assert_eq!(rows[0].target, "\":1\\r\\n\"");
    assert_eq!(rows[0].reference, "*");
}

#[test]
fn framer_is_total_over_resp2_and_resp3() {
    let replies: &[&[u8]] = &[
        b"+OK\r\n",
        b"-ERR unknown command\r\n",
        b":-42\r\n",
        b"$5\r\nhe\r\nl\r\n",
        b"$0\r\n\r\n",
        b"$-1\r\n",
        b"*-1\r\n",
        b"_\r\n",
        b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n",
        b"%2\r\n+a\r\n:1\r\n+b\r\n#t\r\n",
        b"~2\r\n,1.5\r\n,inf\r\n",
        b"=15\r\ntxt:Some string\r\n",
        b"(3492890328409238509324850943850943825024385\r\n",
        b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
        b"!21\r\nSYNTAX invalid syntax\r\n",
        b"|1\r\n+ttl\r\n:3600\r\n$2\r\nok\r\n",
        b"*0\r\n",
        b"%0\r\n",
    ];
    for reply in replies {
        let mut bytes = reply.to_vec();
        bytes.extend_from_slice(b"+NEXT\r\n");
        assert_eq!(
            reply_size(&bytes),
            Ok(Some(reply.len())),
            "{}",
            escape(reply)
        );
        for cut in 0..reply.len() {
            assert_eq!(
                reply_size(&reply[..cut]),
                Ok(None),
                "prefix {cut} of {}",
                escape(reply)
            );
        }
    }
}

#[test]
fn framer_names_what_is_not_resp() {
    let unknown = |offset, byte| Err(FrameError::UnknownType { offset, byte });
    assert_eq!(reply_size(b"hello\r\n"), unknown(0, b'h'));
    assert_eq!(reply_size(b"*1\r\n*1\r\n?\r\n"), unknown(8, b'?'));
    assert_eq!(
        reply_size(b"$x\r\n"),
        Err(FrameError::BadLength { offset: 0 })
    );
    assert_eq!(
        reply_size(b"$-2\r\n"),
        Err(FrameError::BadLength { offset: 0 })
    );
    assert_eq!(
        reply_size(b"$1\r\nab\r\n"),
        Err(FrameError::MissingCrlf { offset: 5 })
    );
    assert_eq!(reply_size(b"$9223372036854775807\r\nab\r\n"), Ok(None));
    assert_eq!(reply_size(b"*9223372036854775807\r\n:1\r\n"), Ok(None));
    assert_eq!(reply_size(b"%9223372036854775807\r\n:1\r\n"), Ok(None));
    let deep = b"*1\r\n".repeat(100);
    assert!(matches!(reply_size(&deep), Err(FrameError::TooDeep { .. })));
}

#[test]
fn escape_is_printable_and_table_safe() {
    assert_eq!(escape(b"+OK\r\n"), r#""+OK\r\n""#);
    assert_eq!(escape(b"a\x00|\"\\\xff"), r#""a\x00\x7c\"\\\xff""#);
}

// ---------------------------------------------------------------------------------------
// Scripts.

/// One script: a file of the corpus.
#[derive(Debug, Clone)]
struct Script {
    /// The file name, e.g. `strings.redis`.
    name: String,
    lines: Vec<Line>,
}

/// One command line of a script.
#[derive(Debug, Clone)]
struct Line {
    /// 1-based line number in the file.
    number: usize,
    /// The command as written, without its marker.
    text: String,
    arguments: Vec<Vec<u8>>,
    compare: Compare,
}

/// How a line's two replies are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    Exact,
    Sorted,
    Shape,
    Type,
    Skip,
}

/// Every `*.redis` file of the corpus, in name order.
fn corpus() -> Vec<Script> {
    let mut paths: Vec<PathBuf> = fs::read_dir(CORPUS_DIR)
        .expect("list tests/differential")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "redis")
        })
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no scripts in {CORPUS_DIR}");
    paths
        .iter()
        .map(|path| {
            let name = path
                .file_name()
                .and_then(|name| name.to_str())
                .expect("a UTF-8 name");
            let text = fs::read_to_string(path).expect("read a script");
            parse_script(name, &text).unwrap_or_else(|error| panic!("{error}"))
        })
        .collect()
}

/// Parses a script; errors name the file and line.
fn parse_script(name: &str, text: &str) -> Result<Script, String> {
    let mut lines = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let place = |error: &str| format!("{name}:{number}: {error}: {raw}");
        let (arguments, marker) = split_line(trimmed).map_err(|error| place(&error))?;
        let compare = match marker {
            None => Compare::Exact,
            Some(marker) => parse_marker(marker).map_err(|error| place(&error))?,
        };
        let text = match marker {
            Some(marker) => trimmed[..trimmed.len() - marker.len()].trim_end(),
            None => trimmed,
        };
        lines.push(Line {
            number,
            text: text.to_owned(),
            arguments,
            compare,
        });
    }
    let first = lines.first().map(|line| line.text.to_ascii_uppercase());
    if first.as_deref() != Some("FLUSHALL") {
        return Err(format!("{name}: the first command must be FLUSHALL"));
    }
    Ok(Script {
        name: name.to_owned(),
        lines,
    })
}

/// `#~kind reason` to a comparison; the reason is required.
fn parse_marker(marker: &str) -> Result<Compare, String> {
    let body = &marker[2..];
    let (kind, reason) = body.split_once(' ').unwrap_or((body, ""));
    if reason.trim().is_empty() {
        return Err(format!("marker `#~{kind}` needs a reason after it"));
    }
    match kind {
        "sorted" => Ok(Compare::Sorted),
        "shape" => Ok(Compare::Shape),
        "type" => Ok(Compare::Type),
        "skip" => Ok(Compare::Skip),
        _ => Err(format!(
            "unknown marker `#~{kind}` (sorted, shape, type, skip)"
        )),
    }
}

/// Splits a line as redis-cli does (its `sdssplitargs`), and returns the trailing `#~`
/// marker, if any, that starts where an argument could start.
fn split_line(line: &str) -> Result<(Vec<Vec<u8>>, Option<&str>), String> {
    let bytes = line.as_bytes();
    let mut arguments = Vec::new();
    let mut index = 0;
    loop {
        while bytes.get(index).is_some_and(u8::is_ascii_whitespace) {
            index += 1;
        }
        if index == bytes.len() {
            return Ok((arguments, None));
        }
        if bytes[index..].starts_with(b"#~") {
            return Ok((arguments, Some(&line[index..])));
        }
        let (argument, next) = split_argument(bytes, index)?;
        arguments.push(argument);
        index = next;
    }
}

/// One argument starting at `start`; returns it and the index after it.
fn split_argument(bytes: &[u8], start: usize) -> Result<(Vec<u8>, usize), String> {
    #[derive(PartialEq)]
    enum Quote {
        None,
        Double,
        Single,
    }
    let mut quote = Quote::None;
    let mut argument = Vec::new();
    let mut index = start;
    loop {
        let byte = bytes.get(index).copied();
        match (&quote, byte) {
            (Quote::None, None) => return Ok((argument, index)),
            (Quote::None, Some(byte)) if byte.is_ascii_whitespace() => {
                return Ok((argument, index));
            }
            (Quote::None, Some(b'"')) => quote = Quote::Double,
            (Quote::None, Some(b'\'')) => quote = Quote::Single,
            (Quote::None, Some(byte)) => argument.push(byte),
            (_, None) => return Err("unbalanced quotes".to_owned()),
            (Quote::Double, Some(b'\\')) => {
                let hex = bytes.get(index + 2..index + 4).and_then(|digits| {
                    let digits = std::str::from_utf8(digits).ok()?;
                    u8::from_str_radix(digits, 16).ok()
                });
                match (bytes.get(index + 1), hex) {
                    (Some(b'x'), Some(value)) => {
                        argument.push(value);
                        index += 3;
                    }
                    (Some(&escaped), _) => {
                        argument.push(match escaped {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                        index += 1;
                    }
                    (None, _) => return Err("unbalanced quotes".to_owned()),
                }
            }
            (Quote::Single, Some(b'\\')) if bytes.get(index + 1) == Some(&b'\'') => {
                argument.push(b'\'');
                index += 1;
            }
            (Quote::Double, Some(b'"')) | (Quote::Single, Some(b'\'')) => {
                // redis-cli: a closing quote must be followed by a space or the end.
                let next = bytes.get(index + 1);
                if next.is_some_and(|next| !next.is_ascii_whitespace()) {
                    return Err("closing quote must be followed by a space".to_owned());
                }
                return Ok((argument, index + 1));
            }
            (_, Some(byte)) => argument.push(byte),
        }
        index += 1;
    }
}

/// The script line that is the first in `file` to start with `prefix`: (script, line).
fn find_line(scripts: &[Script], file: &str, prefix: &str) -> (usize, usize) {
    let script_index = scripts
        .iter()
        .position(|script| script.name == file)
        .unwrap_or_else(|| panic!("no script {file}"));
    let line_index = scripts[script_index]
        .lines
        .iter()
        .position(|line| line.text.starts_with(prefix) && line.compare == Compare::Exact)
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in {file}"));
    (script_index, line_index)
}

// ---------------------------------------------------------------------------------------
// Running and comparing.

/// The protocol a connection speaks when its script starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Resp2,
    Resp3,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Protocol::Resp2 => "resp2",
            Protocol::Resp3 => "resp3",
        }
    }
}

/// One reply that differs.
#[derive(Debug)]
struct Mismatch {
    file: String,
    line: usize,
    protocol: Protocol,
    /// The command as written in the reference script.
    command: String,
    compare: Compare,
    target_name: &'static str,
    /// What Redis replied.
    reference: Vec<u8>,
    /// What the server under test replied.
    target: Vec<u8>,
}

impl Mismatch {
    fn place(&self) -> String {
        format!("{}:{} ({})", self.file, self.line, self.protocol.name())
    }
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(formatter, "{}: {}", self.place(), self.command)?;
        if self.compare != Compare::Exact {
            writeln!(formatter, "    compared as: {:?}", self.compare)?;
        }
        writeln!(
            formatter,
            "    {:<6} {}",
            self.target_name,
            escape(&self.target)
        )?;
        write!(formatter, "    {:<6} {}", "redis", escape(&self.reference))
    }
}

/// Runs `reference_scripts` on a fresh redis-server and `target_scripts` on a fresh server
/// of `target`, once per protocol, and returns every pair of replies that differ. The two
/// script lists must have the same lines in the same places (a planted test changes only
/// what a line sends).
fn differences(
    reference_scripts: &[Script],
    target_scripts: &[Script],
    target: Target,
) -> Vec<Mismatch> {
    assert_eq!(reference_scripts.len(), target_scripts.len());
    let reference_server = Server::redis();
    let target_server = target.start();
    let target_name = match target {
        Target::Floe => "floe",
        Target::FloeEpoll => "floe-epoll",
        Target::Redis => "target",
    };
    let mut mismatches = Vec::new();
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        for (reference, planted) in reference_scripts.iter().zip(target_scripts) {
            assert_eq!(
                reference.lines.len(),
                planted.lines.len(),
                "{}",
                reference.name
            );
            let reference = with_protocol(reference, protocol);
            let planted = with_protocol(planted, protocol);
            let reference_replies = run_script(&reference_server, &reference);
            let target_replies = run_script(&target_server, &planted);
            for ((line, reference_reply), target_reply) in reference
                .lines
                .iter()
                .zip(reference_replies)
                .zip(target_replies)
            {
                if replies_match(line.compare, &reference_reply, &target_reply) {
                    continue;
                }
                let mismatch = Mismatch {
                    file: reference.name.clone(),
                    line: line.number,
                    protocol,
                    command: line.text.clone(),
                    compare: line.compare,
                    target_name,
                    reference: reference_reply,
                    target: target_reply,
                };
                eprintln!("differs: {mismatch}");
                mismatches.push(mismatch);
            }
        }
    }
    mismatches
}

/// The script as run in `protocol`: for RESP3, `HELLO 3` first (as line 0), its reply
/// compared by type only since it names the server and its version.
fn with_protocol(script: &Script, protocol: Protocol) -> Script {
    let mut script = script.clone();
    if protocol == Protocol::Resp3 {
        let hello = Line {
            number: 0,
            text: "HELLO 3 (sent first, to speak RESP3)".to_owned(),
            arguments: vec![b"HELLO".to_vec(), b"3".to_vec()],
            compare: Compare::Type,
        };
        script.lines.insert(0, hello);
    }
    script
}

/// Runs one script on a new connection; returns one raw reply per line.
fn run_script(server: &Server, script: &Script) -> Vec<Vec<u8>> {
    let mut client: Client = server.client();
    script
        .lines
        .iter()
        .map(|line| {
            let arguments: Vec<&[u8]> = line.arguments.iter().map(Vec::as_slice).collect();
            client.command(&arguments)
        })
        .collect()
}

/// Whether two raw replies are equal under `compare`.
fn replies_match(compare: Compare, reference: &[u8], target: &[u8]) -> bool {
    match compare {
        Compare::Exact => reference == target,
        Compare::Skip => true,
        Compare::Sorted | Compare::Shape | Compare::Type => {
            match (Node::parse(reference), Node::parse(target)) {
                (Some(reference), Some(target)) => {
                    reference.canonical(compare) == target.canonical(compare)
                }
                _ => reference == target,
            }
        }
    }
}

/// A parsed reply, kept close to the bytes: its type byte, its header line, its payload,
/// and its elements (map pairs flattened, an attribute's reply last).
#[derive(Debug)]
struct Node {
    kind: u8,
    header: Vec<u8>,
    payload: Vec<u8>,
    elements: Vec<Node>,
}

impl Node {
    /// Parses one complete reply (as `Client::reply` returns it); `None` if it is not one.
    fn parse(bytes: &[u8]) -> Option<Node> {
        let (node, size) = Self::parse_at(bytes, 0)?;
        (size == bytes.len()).then_some(node)
    }

    fn parse_at(bytes: &[u8], offset: usize) -> Option<(Node, usize)> {
        let end = reply_size(bytes.get(offset..)?).ok()?? + offset;
        let kind = bytes[offset];
        let line_end = offset
            + bytes[offset..]
                .windows(2)
                .position(|pair| pair == b"\r\n")?;
        let header = bytes[offset + 1..line_end].to_vec();
        let mut node = Node {
            kind,
            header,
            payload: Vec::new(),
            elements: Vec::new(),
        };
        match kind {
            b'$' | b'!' | b'=' if node.header != b"-1" => {
                node.payload = bytes[line_end + 2..end - 2].to_vec();
            }
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                let mut cursor = line_end + 2;
                while cursor < end {
                    let (element, next) = Self::parse_at(bytes, cursor)?;
                    node.elements.push(element);
                    cursor = next;
                }
            }
            _ => {}
        }
        Some((node, end))
    }

    /// A text that is equal for two replies exactly when they match under `compare`.
    fn canonical(&self, compare: Compare) -> String {
        let kind = char::from(self.kind);
        let null = matches!(self.kind, b'$' | b'*') && self.header == b"-1" || self.kind == b'_';
        match compare {
            Compare::Type if null => "null".to_owned(),
            Compare::Type => kind.to_string(),
            Compare::Shape if null => "null".to_owned(),
            Compare::Shape => {
                let mut shapes: Vec<String> = self
                    .grouped()
                    .iter()
                    .map(|group| self.join(group, compare))
                    .collect();
                shapes.sort();
                shapes.dedup();
                if self.is_aggregate() {
                    format!("{kind}[{}]", shapes.join(","))
                } else {
                    kind.to_string()
                }
            }
            _ => {
                let mut elements: Vec<String> = self
                    .grouped()
                    .iter()
                    .map(|group| self.join(group, compare))
                    .collect();
                elements.sort();
                format!(
                    "{kind}{}:{}[{}]",
                    String::from_utf8_lossy(&self.header),
                    escape(&self.payload),
                    elements.join(",")
                )
            }
        }
    }

    fn is_aggregate(&self) -> bool {
        matches!(self.kind, b'*' | b'~' | b'>' | b'%' | b'|')
    }

    /// Elements in the groups that move together: pairs for a map or attribute.
    fn grouped(&self) -> Vec<&[Node]> {
        let width = if matches!(self.kind, b'%' | b'|') {
            2
        } else {
            1
        };
        self.elements.chunks(width).collect()
    }

    fn join(&self, group: &[Node], compare: Compare) -> String {
        let parts: Vec<String> = group.iter().map(|node| node.canonical(compare)).collect();
        parts.join("=>")
    }
}

// ---------------------------------------------------------------------------------------
// The allow-list.

/// One row of DIFFERENCES.md: a difference that is intended.
#[derive(Debug)]
struct Allowed {
    file: String,
    /// `resp2`, `resp3` or `both`.
    protocol: String,
    command: String,
    /// floe's reply as the report escapes it, or `*` for any.
    target: String,
    /// Redis's reply as the report escapes it, or `*` for any.
    reference: String,
}

impl Allowed {
    fn covers(&self, mismatch: &Mismatch) -> bool {
        let any_or = |pattern: &str, reply: &[u8]| pattern == "*" || pattern == escape(reply);
        self.file == mismatch.file
            && (self.protocol == "both" || self.protocol == mismatch.protocol.name())
            && self.command == mismatch.command
            && any_or(&self.target, &mismatch.target)
            && any_or(&self.reference, &mismatch.reference)
    }
}

/// The rows of the Markdown table in `text` (header and separator rows skipped).
fn allow_list(text: &str) -> Vec<Allowed> {
    let mut rows = Vec::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with('|'))
    {
        let cells = table_cells(line);
        if cells
            .first()
            .is_some_and(|cell| cell == "file" || cell.starts_with('-'))
        {
            continue;
        }
        assert!(
            cells.len() == 6,
            "DIFFERENCES.md: a row needs 6 cells: {line}"
        );
        assert!(
            matches!(cells[1].as_str(), "resp2" | "resp3" | "both"),
            "DIFFERENCES.md: protocol must be resp2, resp3 or both: {line}"
        );
        assert!(
            !cells[5].is_empty(),
            "DIFFERENCES.md: every row says why: {line}"
        );
        rows.push(Allowed {
            file: cells[0].clone(),
            protocol: cells[1].clone(),
            command: cells[2].clone(),
            target: cells[3].clone(),
            reference: cells[4].clone(),
        });
    }
    rows
}

/// A table row's cells, trimmed, one pair of backticks removed, `\|` read as `|`.
fn table_cells(row: &str) -> Vec<String> {
    let inner = row.trim().trim_start_matches('|');
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut characters = inner.chars().peekable();
    while let Some(character) = characters.next() {
        match character {
            '\\' if characters.peek() == Some(&'|') => {
                cell.push('|');
                characters.next();
            }
            '|' => cells.push(std::mem::take(&mut cell)),
            other => cell.push(other),
        }
    }
    cells.push(cell);
    cells
        .into_iter()
        .map(|cell| {
            let cell = cell.trim();
            let cell = cell
                .strip_prefix('`')
                .and_then(|cell| cell.strip_suffix('`'))
                .unwrap_or(cell);
            cell.to_owned()
        })
        .collect()
}

/// Mismatches as the report prints them, one after another.
fn listing(mismatches: &[Mismatch]) -> String {
    mismatches
        .iter()
        .map(|mismatch| format!("{mismatch}\n"))
        .collect()
}

/// The mismatches no row allows.
fn unlisted<'a>(mismatches: &'a [Mismatch], allowed: &[Allowed]) -> Vec<&'a Mismatch> {
    mismatches
        .iter()
        .filter(|mismatch| !allowed.iter().any(|row| row.covers(mismatch)))
        .collect()
}

/// Panics with a report of every mismatch not in the allow-list; notes rows that matched
/// nothing (a difference that has since been fixed).
fn fail_on_unlisted(mismatches: &[Mismatch], allowed: &[Allowed], target: Target) {
    for row in allowed {
        if !mismatches.iter().any(|mismatch| row.covers(mismatch)) {
            eprintln!(
                "note: DIFFERENCES.md row no longer needed: {} {} {}",
                row.file, row.protocol, row.command
            );
        }
    }
    let failing = unlisted(mismatches, allowed);
    if failing.is_empty() {
        return;
    }
    let mut report = String::new();
    for mismatch in &failing {
        writeln!(report, "{mismatch}").expect("write to a String");
    }
    panic!(
        "{} of {} differing replies are not listed in tests/differential/{DIFFERENCES_FILE} \
         (each shows the reply of the server under test, {}, then Redis's):\n{report}",
        failing.len(),
        mismatches.len(),
        target.name(),
    );
}
