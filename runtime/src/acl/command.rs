//! The `ACL` command: SETUSER, GETUSER, DELUSER, LIST, USERS, WHOAMI, CAT, LOG, SAVE,
//! LOAD, DRYRUN, GENPASS, with Redis 7's replies (DRYRUN's denials as Redis 7.0 words
//! them, the rest as 7.0 and 7.2 share them).
//!
//! Invariants: one reply frame per call; a failed SETUSER changes nothing; every change
//! to the users bumps the generation (see [`Acl`]).

use std::sync::Arc;

use std::io::Read as _;
use std::path::Path;

use floe_core::codec::resp::{ReplySink, ReplyWriter};
use floe_core::command::lookup;
use floe_core::text::parse_integer_strict;

use super::category::{self, CATEGORIES};
use super::user::merge_selectors;
use super::{Acl, Context, Disconnect, Selector, User, lock, permits, unix_ms, write};

/// ACL GENPASS's default size of a password, in bits.
const GENPASS_BITS_DEFAULT: u32 = 256;

/// ACL GENPASS's largest size of a password, in bits (Redis's).
const GENPASS_BITS_MAX: u32 = 4096;

/// Where ACL GENPASS reads its randomness (as Redis does, at start, for its seed).
const RANDOM_SOURCE: &str = "/dev/urandom";

/// Redis's reply to ACL GENPASS with a size out of range.
const GENPASS_BITS_WRONG: &str = "ERR ACL GENPASS argument must be the number of bits for the \
     output password, a positive number up to 4096";

/// Redis's reply to ACL SAVE and ACL LOAD without an ACL file.
pub(super) const NO_FILE: &str = "ERR This Redis instance is not configured to use an ACL \
     file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG \
     REWRITE (assuming you have a Redis configuration file set) in order to store users in the \
     Redis configuration.";

impl Acl {
    /// Runs `ACL <subcommand> ...` (`args` from `ACL`) for the client logged in as
    /// `caller`, writing one reply frame; returns whose connections the door must close.
    pub fn run<S: ReplySink + ?Sized>(
        &self,
        caller: &str,
        args: &[&[u8]],
        reply: &mut ReplyWriter<'_, S>,
    ) -> Disconnect {
        let sub = args.get(1).copied().unwrap_or_default();
        let lowered = String::from_utf8_lossy(sub).to_ascii_lowercase();
        let count = args.len();
        let arity_ok = match lowered.as_str() {
            "setuser" | "deluser" => count >= 3,
            "getuser" => count == 3,
            "list" | "users" | "whoami" | "save" | "load" | "help" => count == 2,
            "cat" | "log" => count == 2 || count == 3,
            "dryrun" => count >= 4,
            "genpass" => {
                if count > 3 {
                    // Redis's table allows any count; the handler refuses more than one.
                    let text = format!(
                        "ERR unknown subcommand or wrong number of arguments for '{}'. Try \
                         ACL HELP.",
                        String::from_utf8_lossy(sub)
                    );
                    reply.error(text.as_bytes());
                    return Disconnect::Nobody;
                }
                true
            }
            _ => {
                let text = format!(
                    "ERR unknown subcommand '{}'. Try ACL HELP.",
                    String::from_utf8_lossy(sub)
                );
                reply.error(text.as_bytes());
                return Disconnect::Nobody;
            }
        };
        if !arity_ok {
            let text = format!("ERR wrong number of arguments for 'acl|{lowered}' command");
            reply.error(text.as_bytes());
            return Disconnect::Nobody;
        }
        let rest = args.get(2..).unwrap_or_default();
        match lowered.as_str() {
            "deluser" => return self.delete_users(rest, reply),
            "load" => match self.load_file() {
                Ok(()) => {
                    reply.simple(b"OK");
                    return Disconnect::AllButDefault;
                }
                Err(message) if message.starts_with("ERR ") => reply.error(message.as_bytes()),
                Err(message) => reply.error(format!("ERR {message}").as_bytes()),
            },
            "setuser" => return self.set_user(rest, reply),
            "getuser" => self.get_user(rest, reply),
            "list" => {
                let lines = self.list();
                reply.array_header(lines.len());
                for line in lines {
                    reply.bulk(line.as_bytes());
                }
            }
            "users" => {
                let names: Vec<String> = super::read(&self.users).keys().cloned().collect();
                reply.array_header(names.len());
                for name in names {
                    reply.bulk(name.as_bytes());
                }
            }
            "whoami" => reply.bulk(caller.as_bytes()),
            "cat" => categories(rest.first().copied(), reply),
            "log" => self.log_reply(rest.first().copied(), reply),
            "dryrun" => self.dry_run(rest, reply),
            "genpass" => generate_password(rest.first().copied(), reply),
            "save" => match self.save_file() {
                Ok(()) => reply.simple(b"OK"),
                Err(message) => reply.error(message.as_bytes()),
            },
            _ => help(reply),
        }
        Disconnect::Nobody
    }

    /// `ACL SETUSER name rule ...`: all rules or none; the user's subscribers to what it
    /// may no longer use close.
    fn set_user<S: ReplySink + ?Sized>(
        &self,
        rest: &[&[u8]],
        reply: &mut ReplyWriter<'_, S>,
    ) -> Disconnect {
        let Some((name, rules)) = rest.split_first() else {
            return Disconnect::Nobody;
        };
        let name = String::from_utf8_lossy(name).into_owned();
        if name.is_empty() || name.contains(' ') || name.contains('\0') {
            reply.error(b"ERR Usernames can't contain spaces or null characters");
            return Disconnect::Nobody;
        }
        let rules: Vec<String> = rules
            .iter()
            .map(|rule| String::from_utf8_lossy(rule).into_owned())
            .collect();
        let rule_texts: Vec<&str> = rules.iter().map(String::as_str).collect();
        let merged = match merge_selectors(&rule_texts) {
            Ok(merged) => merged,
            Err(start) => {
                let text =
                    format!("ERR Unmatched parenthesis in acl selector starting at '{start}'.");
                reply.error(text.as_bytes());
                return Disconnect::Nobody;
            }
        };
        let rule_texts: Vec<&str> = merged.iter().map(AsRef::as_ref).collect();
        let mut users = write(&self.users);
        let mut user = users
            .get(&name)
            .map_or_else(|| User::new(&name), |user| User::clone(user));
        match user.apply_all(&rule_texts) {
            Ok(()) => {
                let user = Arc::new(user);
                users.insert(name, Arc::clone(&user));
                drop(users);
                self.bump();
                reply.simple(b"OK");
                Disconnect::Subscribers(user)
            }
            Err((rule, error)) => {
                let text = format!(
                    "ERR Error in ACL SETUSER modifier '{rule}': {}",
                    error.text()
                );
                reply.error(text.as_bytes());
                Disconnect::Nobody
            }
        }
    }

    /// `ACL GETUSER name`: a map of flags, passwords, commands, keys, channels,
    /// selectors; null for no such user.
    fn get_user<S: ReplySink + ?Sized>(&self, rest: &[&[u8]], reply: &mut ReplyWriter<'_, S>) {
        let name = String::from_utf8_lossy(rest.first().copied().unwrap_or_default());
        let Some(user) = self.user(&name) else {
            reply.null();
            return;
        };
        reply.map_header(6);
        reply.bulk(b"flags");
        let flags = user.flags();
        reply.set_header(flags.len());
        for flag in flags {
            reply.bulk(flag.as_bytes());
        }
        reply.bulk(b"passwords");
        let digests = user.password_digests();
        reply.array_header(digests.len());
        for digest in digests {
            reply.bulk(digest.as_bytes());
        }
        permissions(user.root(), reply);
        reply.bulk(b"selectors");
        let selectors = user.added_selectors();
        reply.array_header(selectors.len());
        for selector in selectors {
            reply.map_header(3);
            permissions(selector, reply);
        }
    }

    /// `ACL DELUSER name ...`: how many existed (their connections close); `default`
    /// cannot go.
    fn delete_users<S: ReplySink + ?Sized>(
        &self,
        names: &[&[u8]],
        reply: &mut ReplyWriter<'_, S>,
    ) -> Disconnect {
        if names.iter().any(|name| *name == b"default") {
            reply.error(b"ERR The 'default' user cannot be removed");
            return Disconnect::Nobody;
        }
        let mut users = write(&self.users);
        let mut deleted = Vec::new();
        for name in names {
            let name = String::from_utf8_lossy(name);
            if users.remove(&*name).is_some() {
                deleted.push(name.into_owned());
            }
        }
        drop(users);
        self.bump();
        reply.integer(i64::try_from(deleted.len()).unwrap_or(i64::MAX));
        Disconnect::Users(deleted)
    }

    /// `ACL DRYRUN name command [arg ...]`: `+OK` when the user may run the command, else
    /// why not as a bulk string (Redis 7.0's text); an unknown user or command, or a wrong
    /// arity, is an error. A container's subcommand is not looked up: an unknown one is
    /// judged by the user's rules like a known one.
    fn dry_run<S: ReplySink + ?Sized>(&self, rest: &[&[u8]], reply: &mut ReplyWriter<'_, S>) {
        let [name, args @ ..] = rest else {
            return;
        };
        let Some(user) = self.user(&String::from_utf8_lossy(name)) else {
            let text = format!("ERR User '{}' not found", String::from_utf8_lossy(name));
            reply.error(text.as_bytes());
            return;
        };
        let command = args.first().copied().unwrap_or_default();
        let Some(spec) = lookup(command) else {
            let text = format!(
                "ERR Command '{}' not found",
                String::from_utf8_lossy(command)
            );
            reply.error(text.as_bytes());
            return;
        };
        if !spec.accepts(args.len()) {
            let text = format!(
                "ERR wrong number of arguments for '{}' command",
                spec.name()
            );
            reply.error(text.as_bytes());
            return;
        }
        match permits(&user, args) {
            Ok(()) => reply.simple(b"OK"),
            Err(denial) => reply.bulk(denial.dry_run_text().as_bytes()),
        }
    }

    /// `ACL LOG [count | RESET]`: the newest entries first (10 without a count).
    fn log_reply<S: ReplySink + ?Sized>(
        &self,
        argument: Option<&[u8]>,
        reply: &mut ReplyWriter<'_, S>,
    ) {
        let mut wanted = 10_usize;
        if let Some(argument) = argument {
            if argument.eq_ignore_ascii_case(b"reset") {
                lock(&self.log).entries.clear();
                reply.simple(b"OK");
                return;
            }
            let Some(count) = std::str::from_utf8(argument)
                .ok()
                .and_then(|text| text.parse::<i64>().ok())
            else {
                reply.error(b"ERR value is not an integer or out of range");
                return;
            };
            wanted = usize::try_from(count.max(0)).unwrap_or(usize::MAX);
        }
        let log = lock(&self.log);
        let now = unix_ms();
        let entries: Vec<_> = log.entries.iter().take(wanted).cloned().collect();
        drop(log);
        reply.array_header(entries.len());
        for entry in entries {
            reply.map_header(10);
            reply.bulk(b"count");
            reply.integer(i64::try_from(entry.count).unwrap_or(i64::MAX));
            reply.bulk(b"reason");
            reply.bulk(entry.reason.as_bytes());
            reply.bulk(b"context");
            reply.bulk(match entry.context {
                Context::TopLevel => b"toplevel",
                Context::Multi => b"multi",
            });
            reply.bulk(b"object");
            reply.bulk(entry.object.as_bytes());
            reply.bulk(b"username");
            reply.bulk(entry.user.as_bytes());
            reply.bulk(b"age-seconds");
            // NOTE: milliseconds since a log entry fit an f64 exactly for 285,000 years.
            #[expect(clippy::cast_precision_loss)]
            reply.double(now.saturating_sub(entry.created_ms) as f64 / 1000.0);
            reply.bulk(b"client-info");
            reply.bulk(entry.client.as_bytes());
            reply.bulk(b"entry-id");
            reply.integer(i64::try_from(entry.id).unwrap_or(i64::MAX));
            reply.bulk(b"timestamp-created");
            reply.integer(i64::try_from(entry.created_ms).unwrap_or(i64::MAX));
            reply.bulk(b"timestamp-last-updated");
            reply.integer(i64::try_from(entry.updated_ms).unwrap_or(i64::MAX));
        }
    }
}

/// A selector's `commands`, `keys` and `channels` fields, as `ACL GETUSER` lists them (the
/// user's own at its top level, each added selector's in `selectors`).
fn permissions<S: ReplySink + ?Sized>(selector: &Selector, reply: &mut ReplyWriter<'_, S>) {
    reply.bulk(b"commands");
    reply.bulk(selector.commands_text().as_bytes());
    reply.bulk(b"keys");
    reply.bulk(selector.keys_text().as_bytes());
    reply.bulk(b"channels");
    reply.bulk(selector.channels_field().as_bytes());
}

/// `ACL CAT [category]`: every category, or the commands in one.
fn categories<S: ReplySink + ?Sized>(name: Option<&[u8]>, reply: &mut ReplyWriter<'_, S>) {
    let Some(name) = name else {
        reply.array_header(CATEGORIES.len());
        for category in CATEGORIES {
            reply.bulk(category.as_bytes());
        }
        return;
    };
    let text = String::from_utf8_lossy(name);
    let Some(index) = category::index_of(&text) else {
        reply.error(format!("ERR Unknown category '{text}'").as_bytes());
        return;
    };
    let names = category::commands_in(index);
    reply.array_header(names.len());
    for command in names {
        reply.bulk(command.as_bytes());
    }
}

/// `ACL GENPASS [bits]`: `bits` (rounded up to a multiple of 4) of the operating system's
/// randomness, in lowercase hex.
fn generate_password<S: ReplySink + ?Sized>(
    argument: Option<&[u8]>,
    reply: &mut ReplyWriter<'_, S>,
) {
    let mut bits = i64::from(GENPASS_BITS_DEFAULT);
    if let Some(argument) = argument {
        let Some(number) = parse_integer_strict(argument) else {
            reply.error(b"ERR value is not an integer or out of range");
            return;
        };
        bits = number;
    }
    let Some(bits) = u32::try_from(bits)
        .ok()
        .filter(|bits| (1..=GENPASS_BITS_MAX).contains(bits))
    else {
        reply.error(GENPASS_BITS_WRONG.as_bytes());
        return;
    };
    match random_hex(Path::new(RANDOM_SOURCE), bits.div_ceil(4)) {
        Ok(text) => reply.bulk(text.as_bytes()),
        Err(error) => {
            let text = format!("ERR cannot read random bytes from {RANDOM_SOURCE}: {error}");
            reply.error(text.as_bytes());
        }
    }
}

/// `digit_count` lowercase hex digits of the bytes read from `source` (the operating
/// system's randomness, [`RANDOM_SOURCE`]).
fn random_hex(source: &Path, digit_count: u32) -> std::io::Result<String> {
    let digit_count = usize::try_from(digit_count).unwrap_or(usize::MAX);
    let mut bytes = vec![0_u8; digit_count.div_ceil(2)];
    std::fs::File::open(source)?.read_exact(&mut bytes)?;
    let mut text: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    text.truncate(digit_count);
    assert_eq!(text.len(), digit_count, "digit_count={digit_count}");
    Ok(text)
}

/// `ACL HELP`.
fn help<S: ReplySink + ?Sized>(reply: &mut ReplyWriter<'_, S>) {
    let lines: [&str; 13] = [
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "DELUSER <username> [<username> ...]",
        "DRYRUN <username> <command> [<arg> ...]",
        "GETUSER <username>",
        "GENPASS [<bits>]",
        "LIST",
        "LOAD",
        "LOG [<count> | RESET]",
        "SAVE",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "USERS",
        "WHOAMI",
    ];
    reply.array_header(lines.len());
    for line in lines {
        reply.simple(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_hex_has_the_digits_asked_for() {
        let zeros = random_hex(Path::new("/dev/zero"), 5).expect("read /dev/zero");
        assert_eq!(zeros, "00000");
        let random = random_hex(Path::new(RANDOM_SOURCE), 64).expect("read randomness");
        assert_eq!(random.len(), 64);
        assert!(random.bytes().all(|byte| byte.is_ascii_hexdigit()));
        assert!(!random.bytes().any(|byte| byte.is_ascii_uppercase()));
    }

    #[test]
    fn random_hex_reports_a_missing_source() {
        let error = random_hex(Path::new("/nonexistent/random"), 4).expect_err("no such file");
        assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
    }
}
