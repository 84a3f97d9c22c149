//! One ACL user: whether it is on, its passwords (SHA-256 digests, as Redis keeps them),
//! the commands it may run (rules replayed in order over a `+@all` or `-@all` base) and
//! the keys it may read or write. [`User::apply`] takes Redis's `ACL SETUSER` rules and
//! [`User::describe`] writes them back in Redis 7.2's form (`ACL LIST`, the ACL file).
//!
//! Invariants: a rule that fails leaves the user unchanged (rules apply to a copy first,
//! see [`User::apply_all`]); passwords are never kept in clear; a password is compared
//! by its digest, against every digest the user has, without an early exit.

use floe_core::command::{CommandSpec, lookup};
use floe_core::glob::glob_match;
use sha2::{Digest, Sha256};

use super::category::{self, Categories};

/// Read access to a key pattern (`%R~`).
const READ: u8 = 1;
/// Write access to a key pattern (`%W~`).
const WRITE: u8 = 2;

/// What a command does with its keys, for `%R~` and `%W~` patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct KeyAccess(u8);

impl KeyAccess {
    pub(super) const READ: Self = Self(READ);
    pub(super) const WRITE: Self = Self(WRITE);
    pub(super) const READ_WRITE: Self = Self(READ | WRITE);
}

/// Why a rule was refused: Redis's `ACL SETUSER` error texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleError {
    /// Not a rule Redis knows (or one floe does not have, such as selectors).
    Syntax,
    /// `+name` or `+@name` names no command or category.
    UnknownName,
    /// A key pattern after `allkeys`.
    PatternAfterAllKeys,
    /// A channel pattern after `allchannels`.
    PatternAfterAllChannels,
    /// `<password` or `!digest` that the user does not have.
    NoSuchPassword,
    /// `#digest` that is not 64 lowercase hex characters.
    BadDigest,
}

impl RuleError {
    /// Redis's text for the error.
    #[must_use]
    pub fn text(self) -> &'static str {
        match self {
            Self::Syntax => "Syntax error",
            Self::UnknownName => "Unknown command or category name in ACL",
            Self::PatternAfterAllKeys => {
                "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and \
                 does not have any effect. Try 'resetkeys' to start with an empty list of patterns"
            }
            Self::PatternAfterAllChannels => {
                "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid \
                 and does not have any effect. Try 'resetchannels' to start with an empty list \
                 of channels"
            }
            Self::NoSuchPassword => {
                "The password you are trying to remove from the user does not exist"
            }
            Self::BadDigest => {
                "The password hash must be exactly 64 characters and contain only lowercase \
                 hexadecimal characters"
            }
        }
    }
}

/// What a command rule names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// `@category`, by index into [`category::CATEGORIES`].
    Category(usize),
    /// A command, or one of its subcommands (`client|kill`, lowercase).
    Command {
        spec: &'static CommandSpec,
        subcommand: Option<String>,
    },
}

/// `+target` or `-target`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CommandRule {
    allow: bool,
    target: Target,
}

impl CommandRule {
    /// The rule's text without its sign, as Redis prints it.
    fn name(&self) -> String {
        match &self.target {
            Target::Category(index) => {
                format!("@{}", category::CATEGORIES.get(*index).unwrap_or(&""))
            }
            Target::Command {
                spec,
                subcommand: None,
            } => spec.name().to_owned(),
            Target::Command {
                spec,
                subcommand: Some(sub),
            } => format!("{}|{sub}", spec.name()),
        }
    }

    /// Whether this rule decides for `spec` run with `subcommand` of `categories`.
    fn matches(&self, spec: &CommandSpec, subcommand: &[u8], categories: Categories) -> bool {
        match &self.target {
            Target::Category(index) => categories.contains(*index),
            Target::Command {
                spec: named,
                subcommand: None,
            } => named.name() == spec.name(),
            Target::Command {
                spec: named,
                subcommand: Some(sub),
            } => named.name() == spec.name() && subcommand.eq_ignore_ascii_case(sub.as_bytes()),
        }
    }
}

/// A key pattern and the access it grants.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KeyPattern {
    pattern: Vec<u8>,
    access: u8,
}

/// One user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    name: String,
    enabled: bool,
    nopass: bool,
    skip_sanitize: Option<bool>,
    /// SHA-256 digests of the passwords, in the order they were added.
    passwords: Vec<[u8; 32]>,
    /// `+@all` is the base: commands floe adds later are allowed too.
    all_commands_base: bool,
    command_rules: Vec<CommandRule>,
    all_keys: bool,
    key_patterns: Vec<KeyPattern>,
    all_channels: bool,
    channel_patterns: Vec<String>,
}

impl User {
    /// A new user as `ACL SETUSER name` makes it: off, no passwords, no commands, no keys.
    #[must_use]
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            enabled: false,
            nopass: false,
            skip_sanitize: None,
            passwords: Vec::new(),
            all_commands_base: false,
            command_rules: Vec::new(),
            all_keys: false,
            key_patterns: Vec::new(),
            all_channels: false,
            channel_patterns: Vec::new(),
        }
    }

    /// The `default` user of a server without users: on, every command and key; with
    /// `requirepass` set, that password instead of `nopass`.
    #[must_use]
    pub fn default_user(password: &str) -> Self {
        let mut user = Self::new("default");
        user.enabled = true;
        user.all_commands_base = true;
        user.all_keys = true;
        user.all_channels = true;
        user.set_password(password);
        user
    }

    /// Redis's `requirepass` on the default user: `resetpass` then `>password`, or
    /// `nopass` for an empty one.
    pub fn set_password(&mut self, password: &str) {
        self.passwords.clear();
        self.nopass = password.is_empty();
        if !password.is_empty() {
            self.passwords.push(digest(password.as_bytes()));
        }
    }

    /// The user's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the user may log in (`on`).
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether a client connects as this user without AUTH (`on` and `nopass`).
    #[must_use]
    pub fn open(&self) -> bool {
        self.enabled && self.nopass
    }

    /// Whether the user may run every command on every key and channel: the fast path of
    /// the check.
    #[must_use]
    pub fn unrestricted(&self) -> bool {
        self.all_commands_base
            && self.command_rules.is_empty()
            && self.all_keys
            && self.all_channels
    }

    /// Whether `password` is one of the user's (any password when `nopass`). Compares
    /// the digest against every stored digest without stopping at the first difference.
    #[must_use]
    pub fn password_matches(&self, password: &[u8]) -> bool {
        let candidate = digest(password);
        let mut matched = 0_u8;
        for stored in &self.passwords {
            let mut difference = 0_u8;
            for (left, right) in stored.iter().zip(&candidate) {
                difference |= left ^ right;
            }
            matched |= u8::from(difference == 0);
        }
        self.enabled && (self.nopass || matched == 1)
    }

    /// Whether the user may run `spec` (with `subcommand`, its argument 1).
    #[must_use]
    pub fn may_run(&self, spec: &CommandSpec, subcommand: &[u8]) -> bool {
        if self.command_rules.is_empty() {
            return self.all_commands_base;
        }
        let categories = category::of(spec, subcommand);
        let mut allowed = self.all_commands_base;
        for rule in &self.command_rules {
            if rule.matches(spec, subcommand, categories) {
                allowed = rule.allow;
            }
        }
        allowed
    }

    /// Whether the user may access `key` as `access` needs.
    #[must_use]
    pub(super) fn may_access(&self, key: &[u8], access: KeyAccess) -> bool {
        if self.all_keys {
            return true;
        }
        self.key_patterns.iter().any(|pattern| {
            pattern.access & access.0 == access.0 && glob_match(&pattern.pattern, key)
        })
    }

    /// Whether the user may use `channel` (`&pattern` rules, Redis's way): a channel name
    /// (SUBSCRIBE, PUBLISH) must match one of the user's patterns; a pattern
    /// (PSUBSCRIBE, `is_pattern`) must be one of them, literally.
    #[must_use]
    pub fn may_use_channel(&self, channel: &[u8], is_pattern: bool) -> bool {
        if self.all_channels {
            return true;
        }
        self.channel_patterns.iter().any(|pattern| {
            if is_pattern {
                pattern.as_bytes() == channel
            } else {
                glob_match(pattern.as_bytes(), channel)
            }
        })
    }

    /// Applies `rules` to a copy and keeps it only if all of them apply.
    ///
    /// # Errors
    /// The first rule that fails, with its error; the user is unchanged.
    pub fn apply_all<'r>(&mut self, rules: &[&'r str]) -> Result<(), (&'r str, RuleError)> {
        let mut changed = self.clone();
        for rule in rules {
            changed.apply(rule).map_err(|error| (*rule, error))?;
        }
        *self = changed;
        Ok(())
    }

    /// Applies one `ACL SETUSER` rule.
    ///
    /// # Errors
    /// The rule is not valid; the user may be partly changed (use [`Self::apply_all`]).
    pub fn apply(&mut self, rule: &str) -> Result<(), RuleError> {
        let lower = rule.to_ascii_lowercase();
        match lower.as_str() {
            "on" => self.enabled = true,
            "off" => self.enabled = false,
            "nopass" => {
                self.nopass = true;
                self.passwords.clear();
            }
            "resetpass" => {
                self.nopass = false;
                self.passwords.clear();
            }
            "allkeys" | "~*" => {
                self.all_keys = true;
                self.key_patterns.clear();
            }
            "resetkeys" => {
                self.all_keys = false;
                self.key_patterns.clear();
            }
            "allchannels" | "&*" => {
                self.all_channels = true;
                self.channel_patterns.clear();
            }
            "resetchannels" => {
                self.all_channels = false;
                self.channel_patterns.clear();
            }
            "allcommands" | "+@all" => {
                self.all_commands_base = true;
                self.command_rules.clear();
            }
            "nocommands" | "-@all" => {
                self.all_commands_base = false;
                self.command_rules.clear();
            }
            "skip-sanitize-payload" => self.skip_sanitize = Some(true),
            "sanitize-payload" => self.skip_sanitize = Some(false),
            "reset" => {
                let name = std::mem::take(&mut self.name);
                *self = Self::new(&name);
            }
            _ => return self.apply_with_argument(rule),
        }
        Ok(())
    }

    /// The rules that carry a value: passwords, patterns, commands and categories.
    fn apply_with_argument(&mut self, rule: &str) -> Result<(), RuleError> {
        let mut characters = rule.chars();
        let first = characters.next().ok_or(RuleError::Syntax)?;
        let rest = characters.as_str();
        match first {
            '>' => {
                self.add_password(digest(rest.as_bytes()));
                Ok(())
            }
            '<' => self.remove_password(&digest(rest.as_bytes())),
            '#' => {
                let stored = parse_digest(rest)?;
                self.add_password(stored);
                Ok(())
            }
            '!' => self.remove_password(&parse_digest(rest)?),
            '~' | '%' => self.add_key_pattern(rule),
            '&' => {
                if self.all_channels {
                    return Err(RuleError::PatternAfterAllChannels);
                }
                if !self.channel_patterns.iter().any(|known| known == rest) {
                    self.channel_patterns.push(rest.to_owned());
                }
                Ok(())
            }
            '+' | '-' => self.add_command_rule(first == '+', rest),
            _ => Err(RuleError::Syntax),
        }
    }

    fn add_password(&mut self, stored: [u8; 32]) {
        self.nopass = false;
        if !self.passwords.contains(&stored) {
            self.passwords.push(stored);
        }
    }

    fn remove_password(&mut self, stored: &[u8; 32]) -> Result<(), RuleError> {
        let count = self.passwords.len();
        self.passwords.retain(|known| known != stored);
        if self.passwords.len() == count {
            return Err(RuleError::NoSuchPassword);
        }
        Ok(())
    }

    /// `~pattern`, `%R~pattern`, `%W~pattern`, `%RW~pattern`.
    fn add_key_pattern(&mut self, rule: &str) -> Result<(), RuleError> {
        if self.all_keys {
            return Err(RuleError::PatternAfterAllKeys);
        }
        let (access, pattern) = if let Some(pattern) = rule.strip_prefix('~') {
            (READ | WRITE, pattern)
        } else {
            let body = rule.strip_prefix('%').ok_or(RuleError::Syntax)?;
            let tilde = body.find('~').ok_or(RuleError::Syntax)?;
            let mut access = 0;
            for letter in body[..tilde].chars() {
                access |= match letter.to_ascii_uppercase() {
                    'R' => READ,
                    'W' => WRITE,
                    _ => return Err(RuleError::Syntax),
                };
            }
            if access == 0 {
                return Err(RuleError::Syntax);
            }
            (access, &body[tilde + 1..])
        };
        if pattern == "*" && access == READ | WRITE {
            self.all_keys = true;
            self.key_patterns.clear();
            return Ok(());
        }
        match self
            .key_patterns
            .iter_mut()
            .find(|known| known.pattern == pattern.as_bytes())
        {
            Some(known) => known.access |= access,
            None => self.key_patterns.push(KeyPattern {
                pattern: pattern.as_bytes().to_vec(),
                access,
            }),
        }
        Ok(())
    }

    /// `+command`, `-command`, `+command|subcommand`, `+@category`, `-@category`: drops
    /// earlier rules on the same target (Redis 7.2's `ACLUpdateCommandRules`), then
    /// appends this one.
    fn add_command_rule(&mut self, allow: bool, name: &str) -> Result<(), RuleError> {
        let target = if let Some(category) = name.strip_prefix('@') {
            Target::Category(category::index_of(category).ok_or(RuleError::UnknownName)?)
        } else {
            let (command, subcommand) = match name.split_once('|') {
                Some((command, sub)) if !sub.is_empty() && !sub.contains('|') => {
                    (command, Some(sub.to_ascii_lowercase()))
                }
                Some(_) => return Err(RuleError::UnknownName),
                None => (name, None),
            };
            let spec = lookup(command.as_bytes()).ok_or(RuleError::UnknownName)?;
            Target::Command { spec, subcommand }
        };
        let rule = CommandRule { allow, target };
        let text = rule.name();
        self.command_rules.retain(|known| {
            let known_text = known.name();
            known_text != text
                && !known_text
                    .strip_prefix(text.as_str())
                    .is_some_and(|rest| rest.starts_with('|'))
        });
        self.command_rules.push(rule);
        Ok(())
    }

    /// The rules that make this user, as `ACL LIST` writes them after `user <name> `.
    #[must_use]
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.flags().into_iter().map(str::to_owned).collect();
        parts.extend(
            self.passwords
                .iter()
                .map(|stored| format!("#{}", hex(stored))),
        );
        parts.push(self.keys_text());
        parts.push(self.channels_text());
        parts.push(self.commands_text());
        parts.retain(|part| !part.is_empty());
        parts.join(" ")
    }

    /// The flags `ACL GETUSER` lists: `on`/`off`, `nopass`, the payload flag.
    #[must_use]
    pub fn flags(&self) -> Vec<&'static str> {
        let mut flags = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            flags.push("nopass");
        }
        match self.skip_sanitize {
            Some(true) => flags.push("skip-sanitize-payload"),
            Some(false) => flags.push("sanitize-payload"),
            None => {}
        }
        flags
    }

    /// The password digests in hex, as `ACL GETUSER` lists them.
    #[must_use]
    pub fn password_digests(&self) -> Vec<String> {
        self.passwords.iter().map(hex).collect()
    }

    /// `+@all -get`, `-@all +@read`: the base, then the rules in order.
    #[must_use]
    pub fn commands_text(&self) -> String {
        let mut text = String::from(if self.all_commands_base {
            "+@all"
        } else {
            "-@all"
        });
        for rule in &self.command_rules {
            text.push(' ');
            text.push(if rule.allow { '+' } else { '-' });
            text.push_str(&rule.name());
        }
        text
    }

    /// `~*`, or each pattern as `~p`, `%R~p`, `%W~p` (empty: no keys).
    #[must_use]
    pub fn keys_text(&self) -> String {
        if self.all_keys {
            return "~*".to_owned();
        }
        let patterns: Vec<String> = self
            .key_patterns
            .iter()
            .map(|pattern| {
                let prefix = match pattern.access {
                    READ => "%R~",
                    WRITE => "%W~",
                    _ => "~",
                };
                format!("{prefix}{}", String::from_utf8_lossy(&pattern.pattern))
            })
            .collect();
        patterns.join(" ")
    }

    /// `&*`, or `resetchannels` and each pattern (as `ACL LIST` writes them).
    fn channels_text(&self) -> String {
        if self.all_channels {
            return "&*".to_owned();
        }
        let mut text = String::from("resetchannels");
        for pattern in &self.channel_patterns {
            text.push_str(" &");
            text.push_str(pattern);
        }
        text
    }

    /// The channel patterns as `ACL GETUSER` lists them (`&*`, or each `&p`).
    #[must_use]
    pub fn channels_field(&self) -> String {
        if self.all_channels {
            return "&*".to_owned();
        }
        let patterns: Vec<String> = self
            .channel_patterns
            .iter()
            .map(|pattern| format!("&{pattern}"))
            .collect();
        patterns.join(" ")
    }
}

/// The SHA-256 digest of a password.
#[must_use]
pub fn digest(password: &[u8]) -> [u8; 32] {
    Sha256::digest(password).into()
}

/// 64 lowercase hex characters into a digest (Redis refuses uppercase).
fn parse_digest(text: &str) -> Result<[u8; 32], RuleError> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return Err(RuleError::BadDigest);
    }
    let value = |byte: u8| match byte {
        b'0'..=b'9' => Ok(byte - b'0'),
        b'a'..=b'f' => Ok(byte - b'a' + 10),
        _ => Err(RuleError::BadDigest),
    };
    let mut stored = [0_u8; 32];
    for (target, pair) in stored.iter_mut().zip(bytes.chunks_exact(2)) {
        let [high, low] = pair else {
            return Err(RuleError::BadDigest);
        };
        *target = value(*high)? << 4 | value(*low)?;
    }
    Ok(stored)
}

/// A digest in lowercase hex.
fn hex(stored: &[u8; 32]) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(64);
    for byte in stored {
        // Writing to a String cannot fail.
        let _written = write!(text, "{byte:02x}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(rules: &[&str]) -> User {
        let mut user = User::new("alice");
        user.apply_all(rules).expect("valid rules");
        user
    }

    #[test]
    fn descriptions_follow_redis() {
        assert_eq!(User::new("alice").describe(), "off resetchannels -@all");
        assert_eq!(User::default_user("").describe(), "on nopass ~* &* +@all");
        assert_eq!(
            user(&["on", ">pw", "~app:*", "%R~ro:*", "+@all", "-get"]).describe(),
            "on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~app:* \
             %R~ro:* resetchannels +@all -get"
        );
        assert_eq!(
            user(&["-@all", "+get", "+set", "-get", "+@string", "+get"]).commands_text(),
            "-@all +set +@string +get"
        );
    }

    #[test]
    fn bad_rules_change_nothing() {
        let mut alice = user(&["on", "allkeys"]);
        let before = alice.clone();
        assert_eq!(
            alice.apply_all(&["+get", "~x"]),
            Err(("~x", RuleError::PatternAfterAllKeys))
        );
        assert_eq!(alice, before);
        assert_eq!(alice.apply("+nosuch"), Err(RuleError::UnknownName));
        assert_eq!(alice.apply("<nope"), Err(RuleError::NoSuchPassword));
        assert_eq!(alice.apply("#abc"), Err(RuleError::BadDigest));
        assert_eq!(alice.apply("bogus"), Err(RuleError::Syntax));
    }

    #[test]
    fn passwords_are_digests_compared_whole() {
        let alice = user(&["on", ">one", ">two"]);
        assert!(alice.password_matches(b"one"));
        assert!(alice.password_matches(b"two"));
        assert!(!alice.password_matches(b"three"));
        assert!(!user(&["off", ">one"]).password_matches(b"one"));
        assert!(user(&["on", "nopass"]).password_matches(b"anything"));
    }

    #[test]
    fn commands_and_keys() {
        let get = lookup(b"get").expect("get");
        let set = lookup(b"set").expect("set");
        let client = lookup(b"client").expect("client");
        let reader = user(&["+@read", "%R~r:*", "~rw:*", "-@dangerous", "+client|id"]);
        assert!(reader.may_run(get, b""));
        assert!(!reader.may_run(set, b""));
        assert!(reader.may_run(client, b"ID"));
        assert!(!reader.may_run(client, b"kill"));
        assert!(reader.may_access(b"r:1", KeyAccess::READ));
        assert!(!reader.may_access(b"r:1", KeyAccess::WRITE));
        assert!(reader.may_access(b"rw:1", KeyAccess::READ_WRITE));
        assert!(!reader.may_access(b"other", KeyAccess::READ));
        let most = user(&["+@all", "-@admin"]);
        assert!(most.may_run(client, b"id"));
        assert!(!most.may_run(client, b"kill"));
    }
}
