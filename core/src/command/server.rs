//! The connection and server family: PING, ECHO, SELECT, HELLO, AUTH, QUIT, RESET, TIME,
//! CLIENT (ID, GETNAME, SETNAME, SETINFO), COMMAND (COUNT, DOCS, INFO, LIST), and the
//! commands only the runtime can finish (SAVE, BGSAVE, BGREWRITEAOF, SHUTDOWN, INFO,
//! CONFIG), which are checked here and handed over as [`Outcome::Runtime`].
//!
//! Client libraries send HELLO, `CLIENT SETINFO` and `COMMAND DOCS` while connecting; these
//! answer as Redis does, so redis-cli, redis-py and the `redis` crate connect unchanged.
//! The table has no users: AUTH and HELLO's AUTH answer as a Redis whose default user has
//! no password. `floe serve` keeps ACL users in the runtime and answers AUTH itself; it
//! checks HELLO's AUTH before the table runs ([`Session::users_checked`]).

use super::{
    ADMIN, Arguments, CLIENT_NAME_SIZE_MAX, COMMANDS, CommandSpec, Context, Door, Message, Outcome,
    READONLY, RuntimeCommand, Session, Shutdown, WRITE, arity_accepts, arity_error, c_string,
    decimal, is, lookup, parse_integer,
};
use crate::codec::resp::{Protocol, ReplySink, ReplyWriter};

/// The Redis version floe answers as (HELLO's `version`). Clients gate features on it;
/// the command table follows this version's replies.
pub const REDIS_VERSION: &str = "7.2.0";

/// The commands of this family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Command {
    Acl,
    Auth,
    BackgroundRewriteLog,
    BackgroundSave,
    Client,
    Cluster,
    Introspect,
    Config,
    Discard,
    Echo,
    Exec,
    Function,
    Hello,
    Info,
    LastSave,
    Latency,
    Multi,
    Ping,
    Quit,
    Replication,
    Reset,
    Save,
    Script,
    Select,
    Shutdown,
    SlowLog,
    Time,
    Unwatch,
    Wait,
    Watch,
    /// SUBSCRIBE, PUBLISH, PUBSUB and their kin: the runtime keeps the subscriptions.
    PubSub,
}

/// Runs one command of the family; its arity was checked. HELLO is run by [`hello`]
/// instead, before a writer exists.
pub(super) fn run<D: Door>(command: Command, context: &mut Context<'_, '_, D>) -> Outcome {
    match command {
        Command::Ping => match context.count() {
            1 => context.reply.simple(b"PONG"),
            2 => context.reply.bulk(context.arg(1)),
            _ => arity_error(&mut context.reply, context.spec.name(), ""),
        },
        Command::Echo => context.reply.bulk(context.arg(1)),
        Command::Select => select(context),
        Command::Quit => {
            context.ok();
            return Outcome::Close;
        }
        Command::Reset => {
            context.session.reset();
            context.reply.simple(b"RESET");
        }
        Command::Time => {
            let (seconds, microseconds) = (context.now / 1000, context.now % 1000 * 1000);
            let mut digits = [0; 20];
            context.reply.array_header(2);
            context.reply.bulk(decimal(seconds, &mut digits));
            context.reply.bulk(decimal(microseconds, &mut digits));
        }
        Command::Acl => return Outcome::Runtime(RuntimeCommand::Acl),
        Command::Auth => auth(context),
        Command::Client => client(context),
        Command::Introspect => command_info(context),
        Command::Config => return config(context),
        Command::Hello => unreachable!("HELLO runs before the context is made"),
        Command::Info => return Outcome::Runtime(RuntimeCommand::Info),
        Command::Script => script(context),
        Command::Save => return Outcome::Runtime(RuntimeCommand::Save),
        Command::BackgroundRewriteLog => {
            return Outcome::Runtime(RuntimeCommand::BackgroundRewriteLog);
        }
        Command::BackgroundSave => match context.count() {
            1 => return Outcome::Runtime(RuntimeCommand::BackgroundSave { schedule: false }),
            2 if is(context.arg(1), "schedule") => {
                return Outcome::Runtime(RuntimeCommand::BackgroundSave { schedule: true });
            }
            _ => context.syntax_error(),
        },
        Command::Shutdown => {
            if let Some(shutdown) = shutdown(context) {
                return Outcome::Runtime(RuntimeCommand::Shutdown(shutdown));
            }
        }
        Command::Multi => return Outcome::Runtime(RuntimeCommand::Multi),
        Command::Exec => return Outcome::Runtime(RuntimeCommand::Exec),
        Command::Discard => return Outcome::Runtime(RuntimeCommand::Discard),
        Command::Watch => return Outcome::Runtime(RuntimeCommand::Watch),
        Command::Unwatch => return Outcome::Runtime(RuntimeCommand::Unwatch),
        Command::LastSave => return Outcome::Runtime(RuntimeCommand::LastSave),
        Command::Cluster => return Outcome::Runtime(RuntimeCommand::Cluster),
        Command::Replication => return Outcome::Runtime(RuntimeCommand::Replication),
        Command::Latency => return Outcome::Runtime(RuntimeCommand::Latency),
        Command::SlowLog => return Outcome::Runtime(RuntimeCommand::SlowLog),
        Command::Wait => {
            if let Some(wait) = wait(context) {
                return Outcome::Runtime(wait);
            }
        }
        Command::Function => return function(context),
        Command::PubSub => return Outcome::Runtime(RuntimeCommand::PubSub),
    }
    Outcome::Done
}

/// WAIT numreplicas timeout, checked as Redis's `waitCommand` does: `numreplicas` a 64-bit
/// integer (any sign), then `timeout` in milliseconds with its own errors (not an
/// integer, negative, or so large that adding it to the current time overflows).
fn wait<D: Door>(context: &mut Context<'_, '_, D>) -> Option<RuntimeCommand> {
    let replica_count = context.integer(1)?;
    let Some(timeout_ms) = parse_integer(context.arg(2)) else {
        context.error("ERR timeout is not an integer or out of range");
        return None;
    };
    let Ok(timeout_ms) = u64::try_from(timeout_ms) else {
        context.error("ERR timeout is negative");
        return None;
    };
    let now = i64::try_from(context.now).unwrap_or(i64::MAX);
    if timeout_ms > 0 && i64::MAX - now < i64::try_from(timeout_ms).unwrap_or(i64::MAX) {
        context.error("ERR timeout is out of range");
        return None;
    }
    Some(RuntimeCommand::Wait {
        replica_count,
        timeout_ms,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScriptSub {
    Kill,
}

const SCRIPT_SUBCOMMANDS: [Subcommand<ScriptSub>; 1] = [sub("kill", 2, ScriptSub::Kill)];

/// SCRIPT KILL: floe runs no scripts, so none is ever running (Redis's NOTBUSY; Sentinel
/// sends SCRIPT KILL to a primary that answers BUSY). Other subcommands are unknown.
fn script<D: Door>(context: &mut Context<'_, '_, D>) {
    if let Some(ScriptSub::Kill) = subcommand(context, &SCRIPT_SUBCOMMANDS) {
        context.error("NOTBUSY No scripts in execution right now.");
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FunctionSub {
    Flush,
    Help,
}

const FUNCTION_SUBCOMMANDS: [Subcommand<FunctionSub>; 2] = [
    sub("flush", -2, FunctionSub::Flush),
    sub("help", 2, FunctionSub::Help),
];

/// FUNCTION FLUSH [ASYNC|SYNC] and FUNCTION HELP; floe has no functions, so the other
/// subcommands get Redis's unknown-subcommand error. FLUSH's argument is checked as
/// Redis's `functionFlushCommand` does.
fn function<D: Door>(context: &mut Context<'_, '_, D>) -> Outcome {
    let Some(which) = subcommand(context, &FUNCTION_SUBCOMMANDS) else {
        return Outcome::Done;
    };
    match which {
        FunctionSub::Flush => match context.count() {
            2 => return Outcome::Runtime(RuntimeCommand::FunctionFlush),
            3 if is(context.arg(2), "sync") || is(context.arg(2), "async") => {
                return Outcome::Runtime(RuntimeCommand::FunctionFlush);
            }
            3 => context.error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option"),
            _ => {
                let mut message = Message::new();
                let name = c_string(context.arg(1));
                message
                    .push(b"ERR unknown subcommand or wrong number of arguments for '")
                    .push(name.get(..128).unwrap_or(name))
                    .push(b"'. Try FUNCTION HELP.");
                context.reply.error(message.as_bytes());
            }
        },
        FunctionSub::Help => help(
            context,
            &[
                "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "FLUSH [ASYNC|SYNC]",
                "    Delete all the libraries.",
                "    When called without the optional mode argument, the behavior is determined \
                 by the",
                "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
                "    * ASYNC: Asynchronously flush the libraries.",
                "    * SYNC: Synchronously flush the libraries.",
                "HELP",
                "    Print this help.",
            ],
        ),
    }
    Outcome::Done
}

/// SELECT index: an integer (in C's `int` range, as Redis parses it), then a database.
fn select<D: Door>(context: &mut Context<'_, '_, D>) {
    if let Some(db) = context.database(1) {
        context.session.db = db;
        context.ok();
    }
}

/// AUTH [username] password, for a server without passwords.
fn auth<D: Door>(context: &mut Context<'_, '_, D>) {
    match context.count() {
        2 => context.error(
            "ERR AUTH <password> called without any password configured for the default user. \
             Are you sure your configuration is correct?",
        ),
        3 if context.arg(1) == b"default" => context.ok(),
        3 => context.error(WRONG_PASSWORD),
        _ => context.syntax_error(),
    }
}

/// Redis's reply to a failed authentication.
const WRONG_PASSWORD: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// `HELLO [protover [AUTH username password] [SETNAME name]]`: switches the protocol and
/// replies with the server's description, in the new protocol. Nothing changes unless the
/// whole request is valid; errors are written in the current protocol (they look the same
/// in both).
pub(super) fn hello<A, S>(session: &mut Session, args: &A, sink: &mut S)
where
    A: Arguments + ?Sized,
    S: ReplySink + ?Sized,
{
    let arg = |index: usize| args.get(index).unwrap_or_default();
    let mut protocol = session.protocol;
    let mut name = None;
    let mut failure: Option<Message> = None;
    if args.count() >= 2 {
        match parse_integer(arg(1)) {
            Some(2) => protocol = Protocol::Resp2,
            Some(3) => protocol = Protocol::Resp3,
            Some(_) => failure = Some(message(b"NOPROTO unsupported protocol version")),
            None => {
                failure = Some(message(
                    b"ERR Protocol version is not an integer or out of range",
                ));
            }
        }
    }
    let mut index = 2;
    while failure.is_none() && index < args.count() {
        let option = arg(index);
        let more_count = args.count() - 1 - index;
        if is(option, "auth") && more_count >= 2 {
            // A server with users (floe serve) checks the user and password before the
            // table runs; a door without users has only the password-less default user.
            if arg(index + 1) != b"default" && !session.users_checked {
                failure = Some(message(WRONG_PASSWORD.as_bytes()));
            }
            index += 3;
        } else if is(option, "setname") && more_count >= 1 {
            let candidate = arg(index + 1);
            match client_name_error(candidate) {
                Some(error) => failure = Some(message(error.as_bytes())),
                None => name = Some(candidate),
            }
            index += 2;
        } else {
            let mut error = Message::new();
            error
                .push(b"ERR Syntax error in HELLO option '")
                .push(c_string(option))
                .push(b"'");
            failure = Some(error);
        }
    }
    if let Some(failure) = failure {
        ReplyWriter::new(sink, session.protocol).error(failure.as_bytes());
        return;
    }
    if let Some(name) = name {
        let named = session.set_name(name);
        assert!(named, "the name's length was checked");
    }
    session.protocol = protocol;
    let mut reply = ReplyWriter::new(sink, protocol);
    reply.map_header(7);
    reply.bulk(b"server");
    reply.bulk(b"redis");
    reply.bulk(b"version");
    reply.bulk(REDIS_VERSION.as_bytes());
    reply.bulk(b"proto");
    reply.integer(match protocol {
        Protocol::Resp2 => 2,
        Protocol::Resp3 => 3,
    });
    reply.bulk(b"id");
    reply.integer(i64::try_from(session.id).unwrap_or(i64::MAX));
    reply.bulk(b"mode");
    reply.bulk(b"standalone");
    reply.bulk(b"role");
    reply.bulk(b"master");
    reply.bulk(b"modules");
    reply.array_header(0);
}

fn message(text: &[u8]) -> Message {
    let mut message = Message::new();
    message.push(text);
    message
}

/// Why a client name is refused, if it is: Redis allows printable ASCII without spaces;
/// floe also bounds its length.
fn client_name_error(name: &[u8]) -> Option<&'static str> {
    const _: () = assert!(CLIENT_NAME_SIZE_MAX == 128);
    if !name.iter().all(|byte| (b'!'..=b'~').contains(byte)) {
        return Some("ERR Client names cannot contain spaces, newlines or special characters.");
    }
    if name.len() > CLIENT_NAME_SIZE_MAX {
        return Some("ERR Client names are limited to 128 bytes");
    }
    None
}

/// A subcommand of a container command (CLIENT, COMMAND, CONFIG, OBJECT, MEMORY, ...).
#[derive(Debug, Clone, Copy)]
pub(super) struct Subcommand<T> {
    name: &'static str,
    arity: i8,
    which: T,
}

/// A subcommand entry: its name (lowercase), its arity counting the container's name, and
/// what it selects.
pub(super) const fn sub<T>(name: &'static str, arity: i8, which: T) -> Subcommand<T> {
    Subcommand { name, arity, which }
}

/// Finds the subcommand named by argument 1 and checks its arity, as Redis 7 does (the
/// arity error names it `container|sub`); replies with the error and gives `None`
/// otherwise.
pub(super) fn subcommand<D: Door, T: Copy>(
    context: &mut Context<'_, '_, D>,
    table: &[Subcommand<T>],
) -> Option<T> {
    let name = context.arg(1);
    let Some(found) = table.iter().find(|entry| is(name, entry.name)) else {
        let mut container = [0_u8; 16];
        let container_name = context.spec.name().as_bytes();
        let upper = container
            .get_mut(..container_name.len())
            .unwrap_or_default();
        upper.copy_from_slice(container_name);
        upper.make_ascii_uppercase();
        let mut message = Message::new();
        let shown = c_string(name);
        message
            .push(b"ERR unknown subcommand '")
            .push(shown.get(..128).unwrap_or(shown))
            .push(b"'. Try ")
            .push(upper)
            .push(b" HELP.");
        context.reply.error(message.as_bytes());
        return None;
    };
    if !arity_accepts(found.arity, context.count()) {
        arity_error(&mut context.reply, context.spec.name(), found.name);
        return None;
    }
    Some(found.which)
}

/// Replies with help lines, as the HELP subcommands do.
pub(super) fn help<D: Door>(context: &mut Context<'_, '_, D>, lines: &[&str]) {
    context.reply.array_header(lines.len());
    for line in lines {
        context.reply.simple(line.as_bytes());
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientSub {
    GetName,
    Help,
    Id,
    SetInfo,
    SetName,
}

const CLIENT_SUBCOMMANDS: [Subcommand<ClientSub>; 5] = [
    sub("getname", 2, ClientSub::GetName),
    sub("help", 2, ClientSub::Help),
    sub("id", 2, ClientSub::Id),
    sub("setinfo", 4, ClientSub::SetInfo),
    sub("setname", 3, ClientSub::SetName),
];

/// CLIENT ID | GETNAME | SETNAME name | SETINFO LIB-NAME|LIB-VER value | HELP.
fn client<D: Door>(context: &mut Context<'_, '_, D>) {
    let Some(which) = subcommand(context, &CLIENT_SUBCOMMANDS) else {
        return;
    };
    match which {
        ClientSub::Id => context
            .reply
            .integer(i64::try_from(context.session.id).unwrap_or(i64::MAX)),
        ClientSub::GetName => match context.session.name() {
            Some(name) => context.reply.bulk(name),
            None => context.reply.null(),
        },
        ClientSub::SetName => match client_name_error(context.arg(2)) {
            Some(error) => context.error(error),
            None => {
                let named = context.session.set_name(context.arg(2));
                assert!(named, "the name's length was checked");
                context.ok();
            }
        },
        ClientSub::SetInfo => {
            let (attribute, value) = (context.arg(2), context.arg(3));
            let mut message = Message::new();
            if !is(attribute, "lib-name") && !is(attribute, "lib-ver") {
                message
                    .push(b"ERR Unrecognized option '")
                    .push(c_string(attribute))
                    .push(b"'");
                context.reply.error(message.as_bytes());
            } else if !value.iter().all(|byte| (b'!'..=b'~').contains(byte)) {
                message
                    .push(b"ERR ")
                    .push(c_string(attribute))
                    .push(b" cannot contain spaces, newlines or special characters.");
                context.reply.error(message.as_bytes());
            } else {
                // Accepted and not kept: nothing in floe reports library names yet.
                context.ok();
            }
        }
        ClientSub::Help => help(
            context,
            &[
                "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GETNAME",
                "    Return the name of the current connection.",
                "ID",
                "    Return the ID of the current connection.",
                "SETINFO <option> <value>",
                "    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
                "SETNAME <name>",
                "    Assign the name <name> to the current connection.",
                "HELP",
                "    Print this help.",
            ],
        ),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CommandSub {
    Count,
    Docs,
    Help,
    Info,
    List,
}

const COMMAND_SUBCOMMANDS: [Subcommand<CommandSub>; 5] = [
    sub("count", 2, CommandSub::Count),
    sub("docs", -2, CommandSub::Docs),
    sub("help", 2, CommandSub::Help),
    sub("info", -2, CommandSub::Info),
    sub("list", 2, CommandSub::List),
];

/// COMMAND [COUNT | DOCS [name ...] | INFO [name ...] | LIST | HELP]. DOCS replies with an
/// empty map: redis-cli asks for it on start and does without hints.
fn command_info<D: Door>(context: &mut Context<'_, '_, D>) {
    if context.count() == 1 {
        context.reply.array_header(COMMANDS.len());
        for spec in &COMMANDS {
            command_entry(&mut context.reply, spec);
        }
        return;
    }
    let Some(which) = subcommand(context, &COMMAND_SUBCOMMANDS) else {
        return;
    };
    match which {
        CommandSub::Count => context.integer_reply(COMMANDS.len()),
        CommandSub::Docs => context.reply.map_header(0),
        CommandSub::List => {
            context.reply.array_header(COMMANDS.len());
            for spec in &COMMANDS {
                context.reply.bulk(spec.name().as_bytes());
            }
        }
        CommandSub::Info if context.count() == 2 => {
            context.reply.array_header(COMMANDS.len());
            for spec in &COMMANDS {
                command_entry(&mut context.reply, spec);
            }
        }
        CommandSub::Info => {
            context.reply.array_header(context.count() - 2);
            for index in 2..context.count() {
                match lookup(context.arg(index)) {
                    Some(spec) => command_entry(&mut context.reply, spec),
                    None => context.reply.null(),
                }
            }
        }
        CommandSub::Help => help(
            context,
            &[
                "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "(no subcommand)",
                "    Return details about all commands.",
                "COUNT",
                "    Return the total number of commands in this server.",
                "LIST",
                "    Return a list of all commands in this server.",
                "INFO [<command-name> ...]",
                "    Return details about multiple commands.",
                "DOCS [<command-name> ...]",
                "    Return documentation details about multiple commands (none here).",
                "HELP",
                "    Print this help.",
            ],
        ),
    }
}

/// One command's `COMMAND INFO` entry, in Redis 7's ten-element shape: name, arity, flags,
/// first key, last key, key step, ACL categories, tips, key specifications, subcommands
/// (the last four empty).
fn command_entry<S: ReplySink + ?Sized>(reply: &mut ReplyWriter<'_, S>, spec: &CommandSpec) {
    let flags = [(WRITE, "write"), (READONLY, "readonly"), (ADMIN, "admin")];
    let movable = spec.keys_counted();
    let flag_count = flags
        .iter()
        .filter(|(bit, _)| spec.flags & bit != 0)
        .count()
        + usize::from(movable);
    reply.array_header(10);
    reply.bulk(spec.name().as_bytes());
    reply.integer(i64::from(spec.arity()));
    reply.set_header(flag_count);
    for (bit, name) in flags {
        if spec.flags & bit != 0 {
            reply.simple(name.as_bytes());
        }
    }
    if movable {
        reply.simple(b"movablekeys");
    }
    reply.integer(i64::from(spec.key_first));
    reply.integer(i64::from(spec.key_last));
    reply.integer(i64::from(spec.key_step));
    reply.set_header(0);
    reply.set_header(0);
    reply.array_header(0);
    reply.array_header(0);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConfigSub {
    Get,
    Help,
    ResetStat,
    Rewrite,
    Set,
}

const CONFIG_SUBCOMMANDS: [Subcommand<ConfigSub>; 5] = [
    sub("get", -3, ConfigSub::Get),
    sub("help", 2, ConfigSub::Help),
    sub("resetstat", 2, ConfigSub::ResetStat),
    sub("rewrite", 2, ConfigSub::Rewrite),
    sub("set", -4, ConfigSub::Set),
];

/// CONFIG GET | SET | RESETSTAT | REWRITE: checked here, carried out by the runtime.
fn config<D: Door>(context: &mut Context<'_, '_, D>) -> Outcome {
    let Some(which) = subcommand(context, &CONFIG_SUBCOMMANDS) else {
        return Outcome::Done;
    };
    match which {
        ConfigSub::Get => Outcome::Runtime(RuntimeCommand::ConfigGet),
        ConfigSub::Set if context.count() % 2 == 1 => {
            arity_error(&mut context.reply, context.spec.name(), "set");
            Outcome::Done
        }
        ConfigSub::Set => Outcome::Runtime(RuntimeCommand::ConfigSet),
        ConfigSub::ResetStat => Outcome::Runtime(RuntimeCommand::ConfigResetStat),
        ConfigSub::Rewrite => Outcome::Runtime(RuntimeCommand::ConfigRewrite),
        ConfigSub::Help => {
            help(
                context,
                &[
                    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                    "GET <pattern>",
                    "    Return parameters matching the glob-like <pattern> and their values.",
                    "SET <directive> <value>",
                    "    Set the configuration <directive> to <value>.",
                    "RESETSTAT",
                    "    Reset statistics reported by the INFO command.",
                    "REWRITE",
                    "    Rewrite the configuration file.",
                    "HELP",
                    "    Print this help.",
                ],
            );
            Outcome::Done
        }
    }
}

/// Parses SHUTDOWN's options as Redis does: `NOSAVE` and `SAVE` exclude each other, and
/// `ABORT` excludes everything else.
fn shutdown<D: Door>(context: &mut Context<'_, '_, D>) -> Option<Shutdown> {
    let mut shutdown = Shutdown::default();
    let (mut save, mut no_save) = (false, false);
    for index in 1..context.count() {
        let option = context.arg(index);
        if is(option, "nosave") {
            no_save = true;
        } else if is(option, "save") {
            save = true;
        } else if is(option, "now") {
            shutdown.now = true;
        } else if is(option, "force") {
            shutdown.force = true;
        } else if is(option, "abort") {
            shutdown.abort = true;
        } else {
            context.syntax_error();
            return None;
        }
    }
    let other = save || no_save || shutdown.now || shutdown.force;
    if (shutdown.abort && other) || (save && no_save) {
        context.syntax_error();
        return None;
    }
    shutdown.save = if save {
        Some(true)
    } else if no_save {
        Some(false)
    } else {
        None
    };
    Some(shutdown)
}

#[cfg(test)]
mod tests;
