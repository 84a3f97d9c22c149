//! The command table: one entry point, [`execute`], that every front door (the RESP server,
//! the stdin CLI, HTTP) calls with a request's arguments, so all of them reach the same code
//! and reply with the same bytes Redis sends.
//!
//! # Invariants
//!
//! - **One frame per call.** [`execute`] writes exactly one complete RESP frame to the sink
//!   (in the session's [`Protocol`]), except for [`Outcome::Runtime`], where it writes
//!   nothing and the runtime replies. The `command_exec` fuzz target checks this with
//!   [`crate::codec::resp::Frame::check`].
//! - **Errors change nothing.** Every argument is parsed and checked before the store is
//!   called; a store error leaves the store unchanged. So an error reply never comes with a
//!   change, and never with a log record. The one exception is Redis's too: an
//!   out-of-memory error may follow evictions the store made while looking for room, and
//!   those stay made (logged as deletes).
//! - **Writes are logged by the store.** Every write goes through a [`Store`] method with
//!   the caller's [`LogSink`], so the records the runtime persists come from the same call
//!   that produced the reply. A multi-key write (MSET, MSETNX, RENAME, MOVE) is one store
//!   call, so its records reach the runtime together and are logged as one group.
//! - **No allocation, bounded work.** Names are looked up by binary search over a sorted
//!   table after lowercasing into a stack buffer; replies of unknown length (KEYS, SCAN) are
//!   counted in a first read-only pass and written in a second, identical pass.
//!
//! # Layout
//!
//! One file per command family: [`strings`] (GET, SET, counters, ranges), [`keys`] (DEL,
//! expiry, iteration, FLUSHDB, OBJECT, MEMORY), [`transfer`] (RENAME, COPY, MOVE, SWAPDB) and
//! [`server`] (PING, HELLO, SELECT, CLIENT, COMMAND, and the commands only the runtime
//! can finish). `notify` reads each write's keyspace events off its records, for every
//! family at once.
//! `table` holds the table itself ([`COMMANDS`]) and [`lookup`]; this file, the types
//! every family shares and the dispatch.
//!
//! ```
//! use floe_core::arena::Arena;
//! use floe_core::codec::resp::SliceSink;
//! use floe_core::command::{Outcome, Session, execute};
//! use floe_core::store::{Config, Store};
//!
//! let config = Config::new(64 * 1024, 1000);
//! let mut memory = vec![0u8; config.arena_size()];
//! let mut arena = Arena::from_buffer(&mut memory);
//! let mut store = Store::new(&mut arena, config).expect("config fits the arena");
//! arena.freeze().expect("first freeze");
//!
//! let mut session = Session::new(1);
//! let mut buffer = [0u8; 64];
//! let mut sink = SliceSink::new(&mut buffer);
//! let args: [&[u8]; 3] = [b"SET", b"greeting", b"hello"];
//! let outcome = execute(&mut store, &mut session, &args, 1_700_000_000_000, &mut sink, &mut ());
//! assert_eq!(outcome, Outcome::Done);
//! assert_eq!(sink.written(), b"+OK\r\n");
//! ```

mod dump;
mod hash;
mod keys;
mod list;
mod notify;
mod server;
mod set;
mod sort;
mod strings;
mod table;
mod transfer;
mod zset;

#[cfg(test)]
mod harness;

pub use server::REDIS_VERSION;
pub use table::{COMMANDS, lookup};

use core::marker::PhantomData;

use crate::codec::resp::{Protocol, ReplySink, ReplyWriter, Request};
use crate::constants::DATABASE_COUNT;
use crate::error::StoreError;
use crate::store::{LogSink, Shards, parse_integer};
use crate::time::Timestamp;
use notify::Notifier;

pub use crate::constants::CLIENT_NAME_SIZE_MAX;

/// Longest command name in the table, in bytes; longer names are unknown without a look.
const NAME_SIZE_MAX: usize = 16;

/// Longest error message [`execute`] composes (the unknown-command message is at most
/// about 310 bytes: a 128-byte name and 131 bytes of arguments, as Redis cuts them).
const MESSAGE_SIZE_MAX: usize = 512;

/// Per-connection state: what a client selected and negotiated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The selected database (`SELECT`), below [`DATABASE_COUNT`].
    pub db: u8,
    /// The protocol replies are written in (`HELLO 2|3`).
    pub protocol: Protocol,
    /// The client's id, as `CLIENT ID` and `HELLO` report it; chosen by the runtime.
    pub id: u64,
    /// The runtime keeps users and checked HELLO's `AUTH user password` before the table
    /// ran, so the table accepts any user name there (without users, only `default`).
    /// Kept by [`Session::reset`].
    pub users_checked: bool,
    /// The door can park this client (the RESP server, outside MULTI): a blocking pop
    /// with every key empty then returns [`RuntimeCommand::Block`]. Otherwise it replies
    /// the timeout's null at once, as Redis does inside MULTI. Kept by [`Session::reset`].
    pub may_block: bool,
    name: [u8; CLIENT_NAME_SIZE_MAX],
    name_size: usize,
}

impl Session {
    /// A new connection's session: database 0, RESP2, no name.
    #[must_use]
    pub const fn new(id: u64) -> Self {
        Self {
            db: 0,
            protocol: Protocol::Resp2,
            id,
            users_checked: false,
            may_block: false,
            name: [0; CLIENT_NAME_SIZE_MAX],
            name_size: 0,
        }
    }

    /// The client's name, if it set one (Redis treats an empty name as none).
    #[must_use]
    pub fn name(&self) -> Option<&[u8]> {
        match self.name.get(..self.name_size) {
            Some(name) if !name.is_empty() => Some(name),
            _ => None,
        }
    }

    /// Sets the client's name (empty: none). Returns `false`, changing nothing, if it is
    /// longer than [`CLIENT_NAME_SIZE_MAX`].
    pub fn set_name(&mut self, name: &[u8]) -> bool {
        let Some(target) = self.name.get_mut(..name.len()) else {
            return false;
        };
        target.copy_from_slice(name);
        self.name_size = name.len();
        true
    }

    /// Back to a new connection's state, keeping the id (`RESET`).
    pub fn reset(&mut self) {
        let (users_checked, may_block) = (self.users_checked, self.may_block);
        *self = Self::new(self.id);
        self.users_checked = users_checked;
        self.may_block = may_block;
    }
}

/// The arguments of one request, command name first, read without copying: a parsed RESP
/// [`Request`], or a plain slice of byte strings (the CLI, HTTP, tests).
pub trait Arguments {
    /// Number of arguments, the command name included.
    fn count(&self) -> usize;
    /// The argument at `index`, if there is one.
    fn get(&self, index: usize) -> Option<&[u8]>;
}

impl Arguments for Request<'_> {
    fn count(&self) -> usize {
        self.arg_count()
    }

    fn get(&self, index: usize) -> Option<&[u8]> {
        self.arg(index)
    }
}

impl Arguments for [&[u8]] {
    fn count(&self) -> usize {
        self.len()
    }

    fn get(&self, index: usize) -> Option<&[u8]> {
        <[&[u8]]>::get(self, index).copied()
    }
}

impl<const N: usize> Arguments for [&[u8]; N] {
    fn count(&self) -> usize {
        N
    }

    fn get(&self, index: usize) -> Option<&[u8]> {
        self.as_slice().get(index).copied()
    }
}

/// What the caller must do after [`execute`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Outcome {
    /// The reply is written; read the next request.
    Done,
    /// The reply (`+OK` to QUIT) is written; close the connection after sending it.
    Close,
    /// Nothing is written: the runtime must carry out this command and reply itself.
    Runtime(RuntimeCommand),
}

/// A command only the runtime can complete (it needs files, threads or configuration).
/// Its arguments were checked, and the ones the runtime needs still sit in the request at
/// the positions each variant names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuntimeCommand {
    /// `SAVE`: write a snapshot now, then reply `+OK`.
    Save,
    /// `BGSAVE [SCHEDULE]`: start a snapshot in the background.
    BackgroundSave {
        /// `SCHEDULE`: if a rewrite is running, save after it instead of failing.
        schedule: bool,
    },
    /// `BGREWRITEAOF`: compact the log (snapshot, then drop older log segments).
    BackgroundRewriteLog,
    /// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]`.
    Shutdown(Shutdown),
    /// `INFO [section ...]`: the section names are the arguments from index 1 (none: the
    /// default sections).
    Info,
    /// `CONFIG GET pattern [pattern ...]`: the patterns are the arguments from index 2.
    ConfigGet,
    /// `CONFIG SET parameter value [parameter value ...]`: the pairs are the arguments from
    /// index 2; there is at least one, and no half pair.
    ConfigSet,
    /// `CONFIG RESETSTAT`: reset the statistics INFO reports.
    ConfigResetStat,
    /// `CONFIG REWRITE`: write the running configuration back to the configuration file.
    ConfigRewrite,
    /// `MULTI`: start queueing this connection's commands for EXEC (Redis replies
    /// `ERR MULTI calls can not be nested` inside one).
    Multi,
    /// `EXEC`: run the queued commands atomically, or reply a null array if a watched key
    /// changed (`ERR EXEC without MULTI` outside one).
    Exec,
    /// `DISCARD`: drop the queued commands and the watches (`ERR DISCARD without MULTI`
    /// outside one).
    Discard,
    /// `WATCH key [key ...]`: the keys are the arguments from index 1 (at least one);
    /// EXEC fails if any changes before it (`ERR WATCH inside MULTI is not allowed`).
    Watch,
    /// `UNWATCH`: forget this connection's watches.
    Unwatch,
    /// `LASTSAVE`: the Unix time, in seconds, of the last successful snapshot.
    LastSave,
    /// `WAIT numreplicas timeout`: both arguments were checked as Redis checks them;
    /// without replicas the runtime replies `:0` at once.
    Wait {
        /// Replicas to wait for (Redis takes any 64-bit integer; not above zero means none).
        replica_count: i64,
        /// Milliseconds to wait at most; `0` waits without a limit.
        timeout_ms: u64,
    },
    /// `BLPOP`, `BRPOP`, `BLMOVE`, `BRPOPLPUSH`, `BLMPOP`, `BZPOPMIN`, `BZPOPMAX`, `BZMPOP`
    /// with every key empty, in a session that [`Session::may_block`]: nothing changed and
    /// nothing is written; park the client and run the same request again when a write
    /// reaches one of its keys (it then replies, or returns `Block` again), or reply the
    /// timeout's null.
    Block {
        /// Milliseconds to wait at most; `0` waits without a limit.
        timeout_ms: u64,
    },
    /// `CLUSTER <subcommand> [arg ...]`, `READONLY`, `READWRITE`, `ASKING`: cluster mode's
    /// commands (the name is argument 0, a subcommand argument 1, not checked here).
    Cluster,
    /// `LATENCY <subcommand> [arg ...]`: any subcommand; its name is argument 1, not
    /// checked here.
    Latency,
    /// `SLOWLOG <subcommand> [arg ...]`: any subcommand; its name is argument 1, not
    /// checked here.
    SlowLog,
    /// `ACL <subcommand> [arg ...]`: users and permissions; the subcommand (argument 1)
    /// is not checked here, since the runtime keeps the users.
    Acl,
    /// `FUNCTION FLUSH [ASYNC|SYNC]`: floe has no functions, so there is nothing to delete
    /// and the reply is `+OK` (both modes are synchronous).
    FunctionFlush,
    /// `SUBSCRIBE`, `PSUBSCRIBE`, `SSUBSCRIBE`, their `UNSUBSCRIBE`s, `PUBLISH`,
    /// `SPUBLISH` and `PUBSUB <subcommand>` (argument 0 says which; its arity was
    /// checked): subscriptions belong to connections, which the runtime owns.
    PubSub,
    /// `REPLICAOF host port | NO ONE` (and its alias `SLAVEOF`), `ROLE`, and floe's own
    /// `FLOESYNC` that replicas send their primary: the runtime keeps the replication
    /// state, so it checks the arguments (from index 0, the name included).
    Replication,
}

/// The options of `SHUTDOWN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shutdown {
    /// `SAVE` (`Some(true)`), `NOSAVE` (`Some(false)`), or neither: the configuration decides.
    pub save: Option<bool>,
    /// `NOW`: do not wait for replicas.
    pub now: bool,
    /// `FORCE`: shut down even if the final save fails.
    pub force: bool,
    /// `ABORT`: cancel a shutdown in progress (no other option is allowed with it).
    pub abort: bool,
}

/// One entry of the command table: a name, how many arguments it takes, and where its keys
/// are, in the terms of Redis's `COMMAND INFO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    name: &'static str,
    arity: i8,
    flags: u8,
    key_first: u8,
    key_last: i8,
    key_step: u8,
    /// Where the argument that counts the keys after it is (ZUNION's `numkeys`); 0: none.
    numkeys_index: u8,
    handler: Handler,
}

/// Flag: the command may change the store.
const WRITE: u8 = 1;
/// Flag: the command only reads the store.
const READONLY: u8 = 1 << 1;
/// Flag: an administrative command (snapshots, configuration, shutdown).
const ADMIN: u8 = 1 << 2;
/// Flag: a STORE option names a key after the fixed ones (SORT; Redis's movablekeys).
const STORE_KEY: u8 = 1 << 3;

impl CommandSpec {
    /// The command's name, lowercase (as `COMMAND` and error messages give it).
    #[must_use]
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Redis's arity: `n > 0` means exactly `n` arguments, `n < 0` at least `-n` (the name
    /// counts).
    #[must_use]
    pub const fn arity(&self) -> i8 {
        self.arity
    }

    /// Whether the command may change the store (and so produce log records).
    #[must_use]
    pub const fn is_write(&self) -> bool {
        self.flags & WRITE != 0
    }

    /// Whether the command only reads the store.
    #[must_use]
    pub const fn is_readonly(&self) -> bool {
        self.flags & READONLY != 0
    }

    /// Whether the command is administrative (snapshots, configuration, shutdown).
    #[must_use]
    pub const fn is_admin(&self) -> bool {
        self.flags & ADMIN != 0
    }

    /// Which shards the command needs.
    #[must_use]
    pub const fn scope(&self) -> Scope {
        match self.handler {
            Handler::Server(_) => Scope::None,
            _ if self.key_first > 0 || self.numkeys_index > 0 => Scope::Keys,
            _ => Scope::All,
        }
    }

    /// Which shards this request needs: [`CommandSpec::scope`], except that a SORT with a
    /// BY or GET pattern reads keys anywhere, so it needs every shard.
    #[must_use]
    pub fn scope_of<A: Arguments + ?Sized>(&self, args: &A) -> Scope {
        match self.handler {
            Handler::Sort(_) if sort::names_other_keys(args) => Scope::All,
            _ => self.scope(),
        }
    }

    /// Whether `count` arguments (the name included) satisfy the arity.
    #[must_use]
    pub fn accepts(&self, count: usize) -> bool {
        arity_accepts(self.arity, count)
    }

    /// The indexes of the key arguments in a request of `count` arguments (first, last and
    /// step as in `COMMAND INFO`; a negative last counts from the end). Empty for commands
    /// without keys, such as KEYS, SCAN and FLUSHALL, which touch every key; without the
    /// keys a count names (see [`CommandSpec::key_indexes_of`]).
    pub fn key_indexes(&self, count: usize) -> impl Iterator<Item = usize> + use<> {
        self.key_range(count)
    }

    /// Whether an argument counts keys that follow it (Redis's `movablekeys`).
    #[must_use]
    pub const fn keys_counted(&self) -> bool {
        self.numkeys_index > 0 || self.flags & STORE_KEY != 0
    }

    fn key_range(&self, count: usize) -> core::iter::StepBy<core::ops::Range<usize>> {
        let first = usize::from(self.key_first);
        let last = if self.key_last >= 0 {
            usize::from(self.key_last.unsigned_abs())
        } else {
            count.saturating_sub(usize::from(self.key_last.unsigned_abs()))
        };
        let end = if first == 0 {
            0
        } else {
            last.min(count.saturating_sub(1)).saturating_add(1)
        };
        (first..end).step_by(usize::from(self.key_step.max(1)))
    }
}

impl CommandSpec {
    /// The indexes of the key arguments of `args`: [`CommandSpec::key_indexes`], then,
    /// for a command whose keys are counted by an argument (ZUNION numkeys key ...), the
    /// keys it counts, and for SORT its STORE destination. A count that is not a number, or names more keys than there are
    /// arguments, adds none: the command refuses it before it touches a key.
    pub fn key_indexes_of<A: Arguments + ?Sized>(
        &self,
        args: &A,
    ) -> impl Iterator<Item = usize> + use<A> {
        let count = args.count();
        let first = usize::from(self.numkeys_index) + 1;
        let counted = if self.numkeys_index == 0 {
            0
        } else {
            args.get(usize::from(self.numkeys_index))
                .and_then(parse_integer)
                .and_then(|keys| usize::try_from(keys).ok())
                .filter(|&keys| keys <= count.saturating_sub(first))
                .unwrap_or(0)
        };
        let store = if self.flags & STORE_KEY == 0 {
            None
        } else {
            sort::store_index(args)
        };
        self.key_indexes(count)
            .chain(first..first + counted)
            .chain(store)
    }
}

/// Which shards of a sharded keyspace a command needs (see [`crate::store::shards`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// None: it does not touch the store (PING, CLIENT, HELLO, the runtime's commands).
    None,
    /// The shards of its keys, at [`CommandSpec::key_indexes`].
    Keys,
    /// Every shard: the whole keyspace (DBSIZE, KEYS, SCAN, FLUSHALL, SWAPDB, ...) or a
    /// key at a place the key specification does not name (OBJECT, MEMORY USAGE).
    All,
}

/// Which function runs a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handler {
    Strings(strings::Command),
    Hash(hash::Command),
    Set(set::Command),
    List(list::Command),
    Dump(dump::Command),
    Keys(keys::Command),
    Transfer(transfer::Command),
    Server(server::Command),
    Zset(zset::Command),
    Sort(sort::Command),
}

/// Runs one request against `store` and writes its reply to `reply`, in the session's
/// protocol.
///
/// `args` holds the command name and its arguments; a request with no arguments should be
/// skipped by the caller (Redis ignores it), but is answered as an unknown command so that
/// one frame is still written. `now` is the time of the request in milliseconds since the
/// Unix epoch; every write reports its log records to `log`.
///
/// The sink is taken rather than a [`ReplyWriter`] because `HELLO` changes the protocol
/// and must reply in the new one: `execute` makes the writer from [`Session::protocol`].
///
/// Writes exactly one complete frame, unless it returns [`Outcome::Runtime`], when it
/// writes nothing.
pub fn execute<A, S, L>(
    store: &mut dyn Shards<'_>,
    session: &mut Session,
    args: &A,
    now: Timestamp,
    reply: &mut S,
    log: &mut L,
) -> Outcome
where
    A: Arguments + ?Sized,
    S: ReplySink + ?Sized,
    L: LogSink,
{
    let spec = args.get(0).and_then(lookup);
    execute_looked_up(spec, store, session, args, now, reply, log)
}

/// [`execute`] for a caller that already looked the command's name up (`spec` is
/// [`lookup`] of argument 0, `None` if unknown): the runtime looks commands up before it
/// takes the store lock, and need not pay for it twice.
///
/// # Panics
/// If `spec` is not the table's entry for argument 0 (checked in debug builds).
pub fn execute_looked_up<A, S, L>(
    spec: Option<&'static CommandSpec>,
    store: &mut dyn Shards<'_>,
    session: &mut Session,
    args: &A,
    now: Timestamp,
    reply: &mut S,
    log: &mut L,
) -> Outcome
where
    A: Arguments + ?Sized,
    S: ReplySink + ?Sized,
    L: LogSink,
{
    assert!(session.db < DATABASE_COUNT, "db={}", session.db);
    debug_assert!(
        spec.map(CommandSpec::name) == args.get(0).and_then(lookup).map(CommandSpec::name),
        "spec is not argument 0's entry"
    );
    let Some(spec) = spec else {
        let mut writer = ReplyWriter::new(reply, session.protocol);
        unknown_command(&mut writer, args);
        return Outcome::Done;
    };
    if !spec.accepts(args.count()) {
        let mut writer = ReplyWriter::new(reply, session.protocol);
        arity_error(&mut writer, spec.name, "");
        return Outcome::Done;
    }
    if spec.handler == Handler::Server(server::Command::Hello) {
        // HELLO may switch the protocol, and replies in the new one.
        server::hello(session, args, reply);
        return Outcome::Done;
    }
    let protocol = session.protocol;
    let mut notifier = Notifier::new(spec, args, session.db, log);
    let mut context: Context<'_, '_, Types<A, S, Notifier<'_, A, L>>> = Context {
        shards: &mut *store,
        session,
        args,
        now,
        reply: ReplyWriter::new(reply, protocol),
        log: &mut notifier,
        spec,
    };
    let outcome = match spec.handler {
        Handler::Strings(command) => {
            strings::run(command, &mut context);
            Outcome::Done
        }
        Handler::Hash(command) => {
            hash::run(command, &mut context);
            Outcome::Done
        }
        Handler::Set(command) => {
            set::run(command, &mut context);
            Outcome::Done
        }
        Handler::List(command) => list::run(command, &mut context),
        Handler::Dump(command) => {
            dump::run(command, &mut context);
            Outcome::Done
        }
        Handler::Keys(command) => {
            keys::run(command, &mut context);
            Outcome::Done
        }
        Handler::Transfer(command) => {
            transfer::run(command, &mut context);
            Outcome::Done
        }
        Handler::Server(command) => server::run(command, &mut context),
        Handler::Zset(command) => zset::run(command, &mut context),
        Handler::Sort(command) => {
            sort::run(command, &mut context);
            Outcome::Done
        }
    };
    notifier.finish(store, now);
    outcome
}

/// The three types one [`execute`] call is generic over (its arguments, reply sink and log
/// sink), bundled so that every handler names one bound, `D: Door`, instead of three.
trait Door {
    /// The request's arguments.
    type Args: Arguments + ?Sized;
    /// Where the reply goes.
    type Sink: ReplySink + ?Sized;
    /// Where the log records go.
    type Log: LogSink;
}

/// The [`Door`] of a call with arguments `A`, replies to `S` and log records to `L`; never
/// made, only named.
struct Types<A: ?Sized, S: ?Sized, L>(PhantomData<fn(&A, &S, L)>);

impl<A, S, L> Door for Types<A, S, L>
where
    A: Arguments + ?Sized,
    S: ReplySink + ?Sized,
    L: LogSink,
{
    type Args = A;
    type Sink = S;
    type Log = L;
}

/// Everything a command needs, borrowed for one [`execute`] call.
struct Context<'c, 'a, D: Door> {
    /// The keyspace: the shards the caller holds (every shard a command's keys route to).
    shards: &'c mut dyn Shards<'a>,
    session: &'c mut Session,
    args: &'c D::Args,
    now: Timestamp,
    reply: ReplyWriter<'c, D::Sink>,
    log: &'c mut D::Log,
    spec: &'static CommandSpec,
}

impl<'c, D: Door> Context<'c, '_, D> {
    /// The argument at `index`; empty past the end (the arity was checked, so handlers only
    /// ask for arguments that exist).
    fn arg(&self, index: usize) -> &'c [u8] {
        let args: &'c D::Args = self.args;
        args.get(index).unwrap_or_default()
    }

    /// Number of arguments, the name included.
    fn count(&self) -> usize {
        self.args.count()
    }

    fn ok(&mut self) {
        self.reply.simple(b"OK");
    }

    /// Replies with a complete error message (`ERR ...`).
    fn error(&mut self, message: &str) {
        self.reply.error(message.as_bytes());
    }

    fn store_error(&mut self, error: StoreError) {
        self.error(error.message());
    }

    fn syntax_error(&mut self) {
        self.error("ERR syntax error");
    }

    /// `ERR invalid expire time in '<name>' command`.
    fn expire_time_error(&mut self) {
        let mut message = Message::new();
        message
            .push(b"ERR invalid expire time in '")
            .push(self.spec.name.as_bytes())
            .push(b"' command");
        self.reply.error(message.as_bytes());
    }

    /// The argument at `index` as a Redis integer, or an error reply and `None`.
    fn integer(&mut self, index: usize) -> Option<i64> {
        let value = parse_integer(self.arg(index));
        if value.is_none() {
            self.error(NOT_INTEGER);
        }
        value
    }

    /// The argument at `index` as a C `int`, as Redis's `getIntFromObjectOrReply` reads
    /// database indexes: not an integer, or out of range, is an error reply and `None`.
    /// With `message`, that message replaces both (SWAPDB's `invalid first DB index`).
    fn c_int(&mut self, index: usize, message: Option<&str>) -> Option<i32> {
        let Some(value) = parse_integer(self.arg(index)) else {
            self.error(message.unwrap_or(NOT_INTEGER));
            return None;
        };
        let value = i32::try_from(value).ok();
        if value.is_none() {
            self.error(message.unwrap_or(
                "ERR value is out of range, value must between -2147483648 and 2147483647",
            ));
        }
        value
    }

    /// The argument at `index` as a database index (SELECT, MOVE, COPY ... DB), or an
    /// error reply and `None`.
    fn database(&mut self, index: usize) -> Option<u8> {
        let value = self.c_int(index, None)?;
        let db = database_of(value);
        if db.is_none() {
            self.error(DB_OUT_OF_RANGE);
        }
        db
    }

    /// HRANDFIELD's and ZRANDMEMBER's `count [<with>]` from argument 2, checked in Redis's
    /// order: the count and whether `with` (WITHVALUES, WITHSCORES) was given, or `None`
    /// once the error is replied. A count below `-RANDOM_REPEATED_COUNT_MAX` gets
    /// `too_large`: Redis would build a reply of |count| elements, whatever its size, and
    /// floe refuses a count that would keep a worker busy for hours instead.
    fn random_count(&mut self, with: &str, too_large: &str) -> Option<(i64, bool)> {
        let Some(count) = parse_integer(self.arg(2)) else {
            self.error(NOT_INTEGER);
            return None;
        };
        if count == i64::MIN {
            self.error(
                "ERR value is out of range, value must between -9223372036854775807 and \
                 9223372036854775807",
            );
            return None;
        }
        let with_second = self.count() == 4;
        if self.count() > 4 || (with_second && !is(self.arg(3), with)) {
            self.syntax_error();
            return None;
        }
        if with_second && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
            self.error("ERR value is out of range");
            return None;
        }
        if count < -RANDOM_REPEATED_COUNT_MAX {
            self.error(too_large);
            return None;
        }
        Some((count, with_second))
    }

    fn integer_reply(&mut self, value: usize) {
        self.reply.integer(i64::try_from(value).unwrap_or(i64::MAX));
    }
}

/// The most elements HRANDFIELD, ZRANDMEMBER and SRANDMEMBER return with repetition.
const RANDOM_REPEATED_COUNT_MAX: i64 = 1 << 20;

/// Redis's reply to an argument that is not a 64-bit integer.
const NOT_INTEGER: &str = "ERR value is not an integer or out of range";

/// Redis's reply to a database index that names no database.
const DB_OUT_OF_RANGE: &str = "ERR DB index is out of range";

/// The database `value` names, if it is one.
fn database_of(value: i32) -> Option<u8> {
    u8::try_from(value).ok().filter(|&db| db < DATABASE_COUNT)
}

/// Replies with a bulk string, or a null for `None`.
fn bulk_or_null<S: ReplySink + ?Sized>(reply: &mut ReplyWriter<'_, S>, value: Option<&[u8]>) {
    match value {
        Some(value) => reply.bulk(value),
        None => reply.null(),
    }
}

/// Whether `count` arguments satisfy Redis's `arity`.
fn arity_accepts(arity: i8, count: usize) -> bool {
    let required = usize::from(arity.unsigned_abs());
    if arity >= 0 {
        count == required
    } else {
        count >= required
    }
}

/// `ERR wrong number of arguments for '<name>' command`, with `|<subcommand>` when there is
/// one (Redis 7 names subcommands `config|get`).
fn arity_error<S: ReplySink + ?Sized>(reply: &mut ReplyWriter<'_, S>, name: &str, sub: &str) {
    let mut message = Message::new();
    message
        .push(b"ERR wrong number of arguments for '")
        .push(name.as_bytes());
    if !sub.is_empty() {
        message.push(b"|").push(sub.as_bytes());
    }
    message.push(b"' command");
    reply.error(message.as_bytes());
}

/// Redis's reply to an unknown command: the name and the first arguments, each cut to 128
/// bytes in all and at a NUL byte (Redis formats them as C strings), each followed by a
/// space: `ERR unknown command 'foo', with args beginning with: 'a' 'b' `.
fn unknown_command<A, S>(reply: &mut ReplyWriter<'_, S>, args: &A)
where
    A: Arguments + ?Sized,
    S: ReplySink + ?Sized,
{
    const BUDGET: usize = 128;
    let mut listed = Message::new();
    for index in 1..args.count() {
        if listed.size >= BUDGET {
            break;
        }
        let arg = c_string(args.get(index).unwrap_or_default());
        let room = BUDGET - listed.size;
        listed
            .push(b"'")
            .push(arg.get(..room).unwrap_or(arg))
            .push(b"' ");
    }
    let name = c_string(args.get(0).unwrap_or_default());
    let mut message = Message::new();
    message
        .push(b"ERR unknown command '")
        .push(name.get(..BUDGET).unwrap_or(name))
        .push(b"', with args beginning with: ")
        .push(listed.as_bytes());
    reply.error(message.as_bytes());
}

/// The bytes before the first NUL, as C's `%s` prints them.
fn c_string(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .position(|&byte| byte == 0)
        .unwrap_or(bytes.len());
    bytes.get(..end).unwrap_or_default()
}

/// An error message composed on the stack; what does not fit is cut off.
struct Message {
    bytes: [u8; MESSAGE_SIZE_MAX],
    size: usize,
}

impl Message {
    const fn new() -> Self {
        Self {
            bytes: [0; MESSAGE_SIZE_MAX],
            size: 0,
        }
    }

    fn push(&mut self, bytes: &[u8]) -> &mut Self {
        let room = MESSAGE_SIZE_MAX - self.size;
        let taken = bytes.get(..room).unwrap_or(bytes);
        if let Some(target) = self.bytes.get_mut(self.size..self.size + taken.len()) {
            target.copy_from_slice(taken);
            self.size += taken.len();
        }
        self
    }

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.size).unwrap_or_default()
    }
}

/// Whether `bytes` equals `word` (lowercase ASCII), ignoring ASCII case.
fn is(bytes: &[u8], word: &str) -> bool {
    bytes.eq_ignore_ascii_case(word.as_bytes())
}

// The digits of a u64 come from crate::text; this name stays until the callers switch.
use crate::text::format_u64 as decimal;

#[cfg(test)]
mod tests;
