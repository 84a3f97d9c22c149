//! Users and permissions (Redis 6+'s ACL): who a client is, and what it may run on which
//! keys, for every door (RESP, HTTP, Pizzaria) through one check, [`Acl::check`].
//!
//! ```text
//!  AUTH user pass / HELLO 3 AUTH / HTTP Basic or Bearer / Pizzaria `auth`
//!        ─► Acl::authenticate ─► Caller (the connection's user)
//!  every command ─► Acl::check(caller, args) ─► Ok, or a Denial (NOPERM text, ACL LOG)
//! ```
//!
//! `requirepass` is the `default` user's password, as in Redis: a client whose door has
//! not authenticated it runs as `default` when that user is `on` and `nopass`, and must
//! authenticate otherwise. Users are kept in memory, and in the ACL file (`aclfile`,
//! Redis's format: one `user <name> <rules>` line each) when one is set: read at start
//! and by `ACL LOAD`, written by `ACL SAVE`.
//!
//! Invariants: a failed `ACL SETUSER` or `ACL LOAD` changes nothing; the `default` user
//! always exists; every change to the users bumps [`Acl`]'s generation, and a [`Caller`]
//! looks its user up again when it moved, so a changed user takes effect at the next
//! command of each of its connections (a disabled user's connections carry on, as in
//! Redis; a deleted user's are closed by the door, see [`Disconnect`]). Passwords are
//! kept only as SHA-256 digests.

mod category;
mod command;
mod selector;
mod user;

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use floe_core::command::{Arguments, CommandSpec, lookup};

pub use category::has_subcommands;
pub use selector::Selector;
pub use user::{RuleError, User};

use user::merge_selectors;

use selector::KeyAccess;

/// Entries ACL LOG keeps (Redis's `acllog-max-len` default).
const LOG_ENTRY_COUNT_MAX: usize = 128;

/// Denials of the same kind within this many milliseconds share one ACL LOG entry (Redis's
/// `ACL_LOG_GROUPING_MAX_TIME_DELTA`).
const LOG_GROUPING_MS: u64 = 60_000;

/// Redis's reply to a failed authentication.
pub const WRONG_PASSWORD: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// The users, the ACL LOG and the ACL file: one per server, shared by every worker.
#[derive(Debug)]
pub struct Acl {
    users: RwLock<BTreeMap<String, Arc<User>>>,
    /// Bumped on every change to `users`.
    generation: AtomicU64,
    log: Mutex<Log>,
    /// `aclfile`: where ACL SAVE writes and ACL LOAD reads (`None`: no file).
    file: Option<PathBuf>,
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// The user may not run the command (its full name, `client|kill` for a subcommand).
    Command(String),
    /// The user may not access this key as the command needs.
    Key(Vec<u8>),
    /// The user may not publish to, or subscribe to, this channel (or pattern).
    Channel(Vec<u8>),
}

impl Denial {
    /// Redis 7.2's reply text (without the leading `-`) for `user`.
    #[must_use]
    pub fn reply_text(&self, user: &str) -> String {
        match self {
            Self::Command(name) => {
                format!("NOPERM User {user} has no permissions to run the '{name}' command")
            }
            Self::Key(_) => "NOPERM No permissions to access a key".to_owned(),
            Self::Channel(_) => "NOPERM No permissions to access a channel".to_owned(),
        }
    }

    /// Why EXEC refuses a queued command the user may no longer run (Redis 7's words,
    /// after "This command is no longer allowed for the following reason: ").
    #[must_use]
    pub fn exec_reason(&self) -> &'static str {
        match self {
            Self::Command(_) => "no permission to execute the command or subcommand",
            Self::Key(_) => "no permission to touch the specified keys",
            Self::Channel(_) => "no permission to access one of the channels used as arguments",
        }
    }

    /// ACL DRYRUN's reply text (Redis 7.0's, sent as a bulk string).
    #[must_use]
    pub fn dry_run_text(&self) -> String {
        match self {
            Self::Command(name) => {
                format!("This user has no permissions to run the '{name}' command")
            }
            Self::Key(key) => format!(
                "This user has no permissions to access the '{}' key",
                String::from_utf8_lossy(key)
            ),
            Self::Channel(channel) => format!(
                "This user has no permissions to access the '{}' channel",
                String::from_utf8_lossy(channel)
            ),
        }
    }
}

/// Whose connections an ACL command closes, as Redis 7.0 does: a deleted user's (ACL
/// DELUSER); on ACL LOAD every user's but `default`'s (Redis replaces every user object
/// then, changed or not); after ACL SETUSER, the user's subscribers to a channel or
/// pattern it may no longer use. A disabled user's connections carry on. The door closes
/// them: the users know no connections.
#[derive(Debug, Clone)]
#[must_use]
pub enum Disconnect {
    /// No connection closes.
    Nobody,
    /// The connections logged in as these users.
    Users(Vec<String>),
    /// Every connection logged in as a user other than `default`.
    AllButDefault,
    /// The connections logged in as this user (as it is now) with a subscription it may
    /// no longer make.
    Subscribers(Arc<User>),
}

impl Disconnect {
    /// Whether every connection logged in as `user` closes (never for
    /// [`Disconnect::Subscribers`], which depends on each one's subscriptions).
    #[must_use]
    pub fn includes(&self, user: &str) -> bool {
        match self {
            Self::Nobody | Self::Subscribers(_) => false,
            Self::Users(names) => names.iter().any(|name| name == user),
            Self::AllButDefault => user != "default",
        }
    }
}

/// Where a denied command was: ACL LOG's `context`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Run on its own.
    TopLevel,
    /// Queued in MULTI.
    Multi,
}

/// A connection's user: `None` until it authenticates (when the default user needs a
/// password), then the user as of `generation`.
#[derive(Debug, Clone)]
pub struct Caller {
    user: Option<Arc<User>>,
    generation: u64,
}

impl Caller {
    /// A new connection's caller: the default user when it is `on` and `nopass`, else
    /// nobody until AUTH.
    #[must_use]
    pub fn new(acl: &Acl) -> Self {
        let generation = acl.generation.load(Ordering::Acquire);
        let user = acl.user("default").filter(|user| user.open());
        Self { user, generation }
    }

    /// Whether the caller is logged in as a user that still exists (looked up again when
    /// the users changed since; a user turned `off` since still counts, as in Redis).
    pub fn authenticated(&mut self, acl: &Acl) -> bool {
        self.refresh(acl);
        self.user.is_some()
    }

    /// The user's name (`default` before AUTH, as Redis names an unauthenticated client).
    #[must_use]
    pub fn name(&self) -> &str {
        self.user.as_ref().map_or("default", |user| user.name())
    }

    /// Logs in as `user`.
    fn become_user(&mut self, acl: &Acl, user: Arc<User>) {
        self.generation = acl.generation.load(Ordering::Acquire);
        self.user = Some(user);
    }

    fn refresh(&mut self, acl: &Acl) {
        let generation = acl.generation.load(Ordering::Acquire);
        if generation == self.generation {
            return;
        }
        self.generation = generation;
        // A disabled user's connections carry on (Redis refuses only new logins); a
        // deleted user's are being closed ([`Disconnect`]) and run nothing meanwhile.
        if let Some(current) = &self.user {
            self.user = acl.user(current.name());
        }
    }
}

impl Acl {
    /// Users as a server starts without an ACL file: `default`, with `requirepass` as its
    /// password (none when empty). `file` is the `aclfile` setting, read by
    /// [`Acl::load_file`].
    #[must_use]
    pub fn new(requirepass: &str, file: Option<PathBuf>) -> Self {
        let mut users = BTreeMap::new();
        users.insert(
            "default".to_owned(),
            Arc::new(User::default_user(requirepass)),
        );
        Self {
            users: RwLock::new(users),
            generation: AtomicU64::new(0),
            log: Mutex::new(Log::default()),
            file,
        }
    }

    /// Reads the ACL file, replacing every user (a file without `default` gets Redis's
    /// default user: `on nopass ~* &* +@all`, so `requirepass` does not apply).
    ///
    /// # Errors
    /// The file cannot be read, or a line is not valid (its path, line number and what
    /// is wrong); nothing changed.
    pub fn load_file(&self) -> Result<(), String> {
        let Some(path) = &self.file else {
            return Err(command::NO_FILE.to_owned());
        };
        let text = std::fs::read_to_string(path).map_err(|error| {
            format!(
                "cannot read the ACL file `{}`: {error} (create it, or start without \
                 --aclfile)",
                path.display()
            )
        })?;
        let users = parse_file(&text, path)?;
        *write(&self.users) = users;
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Writes every user to the ACL file, atomically (a temporary file, then a rename).
    ///
    /// # Errors
    /// There is no ACL file, or writing it failed.
    pub fn save_file(&self) -> Result<(), String> {
        let Some(path) = &self.file else {
            return Err(command::NO_FILE.to_owned());
        };
        let text: String = self.list().iter().map(|line| format!("{line}\n")).collect();
        let temporary = path.with_extension("acl.tmp");
        std::fs::write(&temporary, text)
            .and_then(|()| std::fs::rename(&temporary, path))
            .map_err(|error| {
                format!(
                    "ERR There was an error trying to save the ACLs. Please check the server \
                     logs for more information ({}: {error})",
                    path.display()
                )
            })
    }

    /// Whether an ACL file is configured.
    #[must_use]
    pub fn has_file(&self) -> bool {
        self.file.is_some()
    }

    /// Whether a new connection must authenticate before running commands.
    #[must_use]
    pub fn auth_required(&self) -> bool {
        self.user("default").is_none_or(|user| !user.open())
    }

    /// `requirepass` changed: it becomes the default user's only password.
    pub fn set_default_password(&self, password: &str) {
        let mut users = write(&self.users);
        let mut user = users
            .get("default")
            .map_or_else(|| User::default_user(""), |user| User::clone(user));
        user.set_password(password);
        users.insert("default".to_owned(), Arc::new(user));
        drop(users);
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The user named `name`.
    #[must_use]
    pub fn user(&self, name: &str) -> Option<Arc<User>> {
        read(&self.users).get(name).cloned()
    }

    /// `AUTH user password`: logs `caller` in when the user is on and the password is one
    /// of its own. The password is hashed and compared the same way whether or not the user
    /// exists, so the reply time does not say which.
    pub fn authenticate(&self, caller: &mut Caller, name: &[u8], password: &[u8]) -> bool {
        let user = std::str::from_utf8(name)
            .ok()
            .and_then(|name| self.user(name));
        let matched = match &user {
            Some(user) => user.password_matches(password),
            None => {
                let _same_work = User::new("").password_matches(password);
                false
            }
        };
        match user {
            Some(user) if matched => {
                caller.become_user(self, user);
                true
            }
            _ => false,
        }
    }

    /// The user whose password is `token` (an HTTP bearer token): `default` first, then
    /// the others by name. Every user's digests are compared, so the time does not say
    /// which matched.
    #[must_use]
    pub fn user_by_token(&self, token: &[u8]) -> Option<Arc<User>> {
        let users = read(&self.users);
        let mut found: Option<Arc<User>> = None;
        let default = users.get("default").into_iter();
        let others = users.iter().filter(|(name, _)| *name != "default");
        for user in default.chain(others.map(|(_, user)| user)) {
            let matched = !user.open() && user.password_matches(token);
            if matched && found.is_none() {
                found = Some(Arc::clone(user));
            }
        }
        found
    }

    /// Logs `caller` in as `user` (found by [`Acl::user_by_token`]).
    pub fn become_user(&self, caller: &mut Caller, user: Arc<User>) {
        caller.become_user(self, user);
    }

    /// Whether `caller` may run `args` (a known command with a valid arity; anything else
    /// is allowed here, for the table to refuse with Redis's error). The one permission
    /// check every door uses.
    ///
    /// # Errors
    /// The command, or one of its keys, is denied: what to reply and log.
    pub fn check<A: Arguments + ?Sized>(
        &self,
        caller: &mut Caller,
        args: &A,
    ) -> Result<(), Denial> {
        caller.refresh(self);
        let Some(user) = &caller.user else {
            return Ok(());
        };
        permits(user, args)
    }

    /// Records a denial in ACL LOG.
    pub fn log_denial(&self, denial: &Denial, user: &str, context: Context, client: &str) {
        let (reason, object) = match denial {
            Denial::Command(name) => ("command", name.clone()),
            Denial::Key(key) => ("key", String::from_utf8_lossy(key).into_owned()),
            Denial::Channel(channel) => ("channel", String::from_utf8_lossy(channel).into_owned()),
        };
        lock(&self.log).add(reason, context, &object, user, client);
    }

    /// Records a failed authentication (`object`: `AUTH`, `HELLO`, or the door's way).
    pub fn log_auth_failure(&self, user: &[u8], object: &str, client: &str) {
        let user = String::from_utf8_lossy(user);
        lock(&self.log).add("auth", Context::TopLevel, object, &user, client);
    }

    /// `ACL LIST`: one `user <name> <rules>` line per user, by name.
    #[must_use]
    pub fn list(&self) -> Vec<String> {
        read(&self.users)
            .values()
            .map(|user| format!("user {} {}", user.name(), user.describe()))
            .collect()
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

/// Whether `user` may run `args`: [`Acl::check`] for a known user (ACL DRYRUN's too).
fn permits<A: Arguments + ?Sized>(user: &User, args: &A) -> Result<(), Denial> {
    if user.unrestricted() {
        return Ok(());
    }
    let Some(spec) = args.get(0).and_then(lookup) else {
        return Ok(());
    };
    if !spec.accepts(args.count()) || no_auth(spec) {
        return Ok(());
    }
    check_user(user, spec, args)
}

/// The commands every client may run, logged in or not (Redis's `no-auth` flag).
fn no_auth(spec: &CommandSpec) -> bool {
    matches!(spec.name(), "auth" | "hello" | "quit" | "reset")
}

/// Whether `user` may run `args` (`spec`, arity checked): allowed when one of its
/// selectors allows all of it. Refused, the denial is Redis's "most relevant" one: a
/// channel before a key before the command, and of two alike the later argument's.
fn check_user<A: Arguments + ?Sized>(
    user: &User,
    spec: &'static CommandSpec,
    args: &A,
) -> Result<(), Denial> {
    let rank = |denial: &Denial| match denial {
        Denial::Command(_) => 1_u8,
        Denial::Key(_) => 2,
        Denial::Channel(_) => 4,
    };
    let Some(mut relevant) = selector_refusal(user.root(), spec, args) else {
        return Ok(());
    };
    for selector in user.added_selectors() {
        let Some(denied) = selector_refusal(selector, spec, args) else {
            return Ok(());
        };
        let (index, denial) = (&denied.0, &denied.1);
        let (index_best, denial_best) = (&relevant.0, &relevant.1);
        if rank(denial) > rank(denial_best)
            || (rank(denial) == rank(denial_best) && index > index_best)
        {
            relevant = denied;
        }
    }
    Err(relevant.1)
}

/// Why `selector` refuses `args` (`spec`, arity checked), with the index of the argument
/// refused; `None` when it allows it. The command first, then each channel, then each
/// key.
fn selector_refusal<A: Arguments + ?Sized>(
    selector: &Selector,
    spec: &'static CommandSpec,
    args: &A,
) -> Option<(usize, Denial)> {
    if selector.unrestricted() {
        return None;
    }
    let subcommand = args.get(1).unwrap_or_default();
    if !selector.may_run(spec, subcommand) {
        let name = if category::has_subcommands(spec.name()) {
            format!(
                "{}|{}",
                spec.name(),
                String::from_utf8_lossy(subcommand).to_ascii_lowercase()
            )
        } else {
            spec.name().to_owned()
        };
        return Some((0, Denial::Command(name)));
    }
    let channels = match spec.name() {
        "publish" | "spublish" => Some((1..2, false)),
        "subscribe" | "ssubscribe" => Some((1..args.count(), false)),
        "psubscribe" => Some((1..args.count(), true)),
        _ => None,
    };
    if let Some((indexes, is_pattern)) = channels {
        for index in indexes {
            let channel = args.get(index).unwrap_or_default();
            if !selector.may_use_channel(channel, is_pattern) {
                return Some((index, Denial::Channel(channel.to_vec())));
            }
        }
    }
    let access = key_access(spec);
    for index in spec.key_indexes_of(args) {
        let key = args.get(index).unwrap_or_default();
        if !selector.may_access(key, access) {
            return Some((index, Denial::Key(key.to_vec())));
        }
    }
    None
}

/// What a command does with its keys (Redis's key-spec flags, simplified): read-only
/// commands read; commands that only overwrite or remove write; other writes do both.
fn key_access(spec: &CommandSpec) -> KeyAccess {
    if !spec.is_write() {
        return KeyAccess::READ;
    }
    match spec.name() {
        "set" | "setex" | "psetex" | "setnx" | "mset" | "msetnx" | "del" | "unlink" => {
            KeyAccess::WRITE
        }
        _ => KeyAccess::READ_WRITE,
    }
}

/// The users of an ACL file's text; `path` names it in errors.
fn parse_file(text: &str, path: &Path) -> Result<BTreeMap<String, Arc<User>>, String> {
    let mut users: BTreeMap<String, Arc<User>> = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let line_number = index + 1;
        let words: Vec<&str> = line.split_whitespace().collect();
        let fail = |message: &str| {
            format!(
                "{}:{line_number}: {message}. WARNING: ACL errors detected, no change to the \
                 previously active ACL rules was performed",
                path.display()
            )
        };
        match words.as_slice() {
            [] => continue,
            [first, ..] if first.starts_with('#') => continue,
            ["user", name, rules @ ..] => {
                if users.contains_key(*name) {
                    return Err(fail(
                        "Duplicate user found. A user can only be defined once in config files",
                    ));
                }
                let rules = merge_selectors(rules).map_err(|start| {
                    fail(&format!(
                        "Unmatched parenthesis in acl selector starting at '{start}'"
                    ))
                })?;
                let rules: Vec<&str> = rules.iter().map(AsRef::as_ref).collect();
                let mut user = User::new(name);
                user.apply_all(&rules).map_err(|(rule, error)| {
                    fail(&format!(
                        "Error in user declaration '{rule}': {}",
                        error.text()
                    ))
                })?;
                users.insert((*name).to_owned(), Arc::new(user));
            }
            _ => return Err(fail("line should start with user keyword")),
        }
    }
    users
        .entry("default".to_owned())
        .or_insert_with(|| Arc::new(User::default_user("")));
    Ok(users)
}

/// ACL LOG: the newest entry first.
#[derive(Debug, Default)]
struct Log {
    entries: VecDeque<LogEntry>,
    id_next: u64,
}

/// One ACL LOG entry: denials of one kind, grouped.
#[derive(Debug, Clone)]
struct LogEntry {
    count: u64,
    reason: &'static str,
    context: Context,
    object: String,
    user: String,
    client: String,
    id: u64,
    created_ms: u64,
    updated_ms: u64,
}

impl Log {
    /// Adds a denial, or counts it in a recent entry of the same kind.
    fn add(
        &mut self,
        reason: &'static str,
        context: Context,
        object: &str,
        user: &str,
        client: &str,
    ) {
        let now = unix_ms();
        let similar = self.entries.iter_mut().take(10).find(|entry| {
            entry.reason == reason
                && entry.context == context
                && entry.object == object
                && entry.user == user
                && now.saturating_sub(entry.updated_ms) < LOG_GROUPING_MS
        });
        if let Some(entry) = similar {
            entry.count += 1;
            entry.updated_ms = now;
            client.clone_into(&mut entry.client);
            return;
        }
        self.entries.push_front(LogEntry {
            count: 1,
            reason,
            context,
            object: object.to_owned(),
            user: user.to_owned(),
            client: client.to_owned(),
            id: self.id_next,
            created_ms: now,
            updated_ms: now,
        });
        self.id_next += 1;
        self.entries.truncate(LOG_ENTRY_COUNT_MAX);
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}
