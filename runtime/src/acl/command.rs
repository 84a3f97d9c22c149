//! The `ACL` command: SETUSER, GETUSER, DELUSER, LIST, USERS, WHOAMI, CAT, LOG, SAVE,
//! LOAD, with Redis 7.2's replies.
//!
//! Invariants: one reply frame per call; a failed SETUSER changes nothing; every change
//! to the users bumps the generation (see [`Acl`]).

use std::sync::Arc;

use floe_core::codec::resp::{ReplySink, ReplyWriter};

use super::category::{self, CATEGORIES};
use super::{Acl, Context, User, lock, unix_ms, write};

/// Redis's reply to ACL SAVE and ACL LOAD without an ACL file.
pub(super) const NO_FILE: &str = "ERR This Redis instance is not configured to use an ACL \
     file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG \
     REWRITE (assuming you have a Redis configuration file set) in order to store users in the \
     Redis configuration.";

impl Acl {
    /// Runs `ACL <subcommand> ...` (`args` from `ACL`) for the client logged in as
    /// `caller`, writing one reply frame.
    pub fn run<S: ReplySink + ?Sized>(
        &self,
        caller: &str,
        args: &[&[u8]],
        reply: &mut ReplyWriter<'_, S>,
    ) {
        let sub = args.get(1).copied().unwrap_or_default();
        let lowered = String::from_utf8_lossy(sub).to_ascii_lowercase();
        let count = args.len();
        let arity_ok = match lowered.as_str() {
            "setuser" | "deluser" => count >= 3,
            "getuser" => count == 3,
            "list" | "users" | "whoami" | "save" | "load" | "help" => count == 2,
            "cat" | "log" => count == 2 || count == 3,
            _ => {
                let text = format!(
                    "ERR unknown subcommand '{}'. Try ACL HELP.",
                    String::from_utf8_lossy(sub)
                );
                reply.error(text.as_bytes());
                return;
            }
        };
        if !arity_ok {
            let text = format!("ERR wrong number of arguments for 'acl|{lowered}' command");
            reply.error(text.as_bytes());
            return;
        }
        let rest = args.get(2..).unwrap_or_default();
        match lowered.as_str() {
            "setuser" => self.set_user(rest, reply),
            "getuser" => self.get_user(rest, reply),
            "deluser" => self.delete_users(rest, reply),
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
            "save" => match self.save_file() {
                Ok(()) => reply.simple(b"OK"),
                Err(message) => reply.error(message.as_bytes()),
            },
            "load" => match self.load_file() {
                Ok(()) => reply.simple(b"OK"),
                Err(message) if message.starts_with("ERR ") => reply.error(message.as_bytes()),
                Err(message) => reply.error(format!("ERR {message}").as_bytes()),
            },
            _ => help(reply),
        }
    }

    /// `ACL SETUSER name rule ...`: all rules or none.
    fn set_user<S: ReplySink + ?Sized>(&self, rest: &[&[u8]], reply: &mut ReplyWriter<'_, S>) {
        let Some((name, rules)) = rest.split_first() else {
            return;
        };
        let name = String::from_utf8_lossy(name).into_owned();
        if name.is_empty() || name.contains(' ') || name.contains('\0') {
            reply.error(b"ERR Usernames can't contain spaces or null characters");
            return;
        }
        let rules: Vec<String> = rules
            .iter()
            .map(|rule| String::from_utf8_lossy(rule).into_owned())
            .collect();
        let rule_texts: Vec<&str> = rules.iter().map(String::as_str).collect();
        let mut users = write(&self.users);
        let mut user = users
            .get(&name)
            .map_or_else(|| User::new(&name), |user| User::clone(user));
        match user.apply_all(&rule_texts) {
            Ok(()) => {
                users.insert(name, Arc::new(user));
                drop(users);
                self.bump();
                reply.simple(b"OK");
            }
            Err((rule, error)) => {
                let text = format!(
                    "ERR Error in ACL SETUSER modifier '{rule}': {}",
                    error.text()
                );
                reply.error(text.as_bytes());
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
        reply.array_header(flags.len());
        for flag in flags {
            reply.bulk(flag.as_bytes());
        }
        reply.bulk(b"passwords");
        let digests = user.password_digests();
        reply.array_header(digests.len());
        for digest in digests {
            reply.bulk(digest.as_bytes());
        }
        reply.bulk(b"commands");
        reply.bulk(user.commands_text().as_bytes());
        reply.bulk(b"keys");
        reply.bulk(user.keys_text().as_bytes());
        reply.bulk(b"channels");
        reply.bulk(user.channels_field().as_bytes());
        reply.bulk(b"selectors");
        reply.array_header(0);
    }

    /// `ACL DELUSER name ...`: how many existed; `default` cannot go.
    fn delete_users<S: ReplySink + ?Sized>(&self, names: &[&[u8]], reply: &mut ReplyWriter<'_, S>) {
        if names.iter().any(|name| *name == b"default") {
            reply.error(b"ERR The 'default' user cannot be removed");
            return;
        }
        let mut users = write(&self.users);
        let mut deleted = 0_i64;
        for name in names {
            if users.remove(&*String::from_utf8_lossy(name)).is_some() {
                deleted += 1;
            }
        }
        drop(users);
        self.bump();
        reply.integer(deleted);
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

/// `ACL HELP`.
fn help<S: ReplySink + ?Sized>(reply: &mut ReplyWriter<'_, S>) {
    let lines: [&str; 11] = [
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "DELUSER <username> [<username> ...]",
        "GETUSER <username>",
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
