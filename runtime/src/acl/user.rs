//! One ACL user: whether it is on, its passwords (SHA-256 digests, as Redis keeps them),
//! and its selectors (Redis 7): the root one, its own commands, keys and channels, then
//! those `(...)` added; a command is allowed when one of them allows all of it.
//! [`User::apply`] takes Redis's `ACL SETUSER` rules and [`User::describe`] writes them
//! back in Redis 7.2's form (`ACL LIST`, the ACL file).
//!
//! Invariants: a rule that fails leaves the user unchanged (rules apply to a copy first,
//! see [`User::apply_all`]); passwords are never kept in clear; a password is compared
//! by its digest, against every digest the user has, without an early exit.

use std::borrow::Cow;

use sha2::{Digest, Sha256};

use super::selector::{Selector, split_first};

/// Why a rule was refused: Redis's `ACL SETUSER` error texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleError {
    /// Not a rule Redis knows, or one that does not belong where it is (a flag or a
    /// password inside a selector).
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

/// One user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    name: String,
    enabled: bool,
    nopass: bool,
    skip_sanitize: Option<bool>,
    /// SHA-256 digests of the passwords, in the order they were added.
    passwords: Vec<[u8; 32]>,
    /// The user's own commands, keys and channels.
    root: Selector,
    /// Those `(...)` added, in order.
    selectors: Vec<Selector>,
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
            root: Selector::empty(),
            selectors: Vec::new(),
        }
    }

    /// The `default` user of a server without users: on, every command and key; with
    /// `requirepass` set, that password instead of `nopass`.
    #[must_use]
    pub fn default_user(password: &str) -> Self {
        let mut user = Self::new("default");
        user.enabled = true;
        user.root = Selector::everything();
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
        self.root.unrestricted()
    }

    /// The user's own commands, keys and channels (`ACL GETUSER`'s fields).
    #[must_use]
    pub fn root(&self) -> &Selector {
        &self.root
    }

    /// The selectors `(...)` added, in order (`ACL GETUSER`'s `selectors`).
    #[must_use]
    pub fn added_selectors(&self) -> &[Selector] {
        &self.selectors
    }

    /// Every selector, the root first: a command is allowed when one of them allows it.
    pub fn selectors(&self) -> impl Iterator<Item = &Selector> {
        std::iter::once(&self.root).chain(&self.selectors)
    }

    /// Whether one of the user's selectors allows `channel` (see
    /// [`Selector::may_use_channel`]).
    #[must_use]
    pub fn may_use_channel(&self, channel: &[u8], is_pattern: bool) -> bool {
        self.selectors()
            .any(|selector| selector.may_use_channel(channel, is_pattern))
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
        match rule.to_ascii_lowercase().as_str() {
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
            "skip-sanitize-payload" => self.skip_sanitize = Some(true),
            "sanitize-payload" => self.skip_sanitize = Some(false),
            "clearselectors" => self.selectors.clear(),
            "reset" => {
                let name = std::mem::take(&mut self.name);
                *self = Self::new(&name);
                // Redis's `reset` ends with `sanitize-payload`, so the flag shows.
                self.skip_sanitize = Some(false);
            }
            _ => return self.apply_with_argument(rule),
        }
        Ok(())
    }

    /// The rules that carry a value: passwords and selectors here, the rest the root
    /// selector's.
    fn apply_with_argument(&mut self, rule: &str) -> Result<(), RuleError> {
        let (first, rest) = split_first(rule)?;
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
            '(' => {
                let inside = rest.strip_suffix(')').ok_or(RuleError::Syntax)?;
                self.selectors.push(Selector::parse(inside)?);
                Ok(())
            }
            _ => self.root.apply(rule),
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

    /// The rules that make this user, as `ACL LIST` writes them after `user <name> `.
    #[must_use]
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.flags().into_iter().map(str::to_owned).collect();
        parts.extend(
            self.passwords
                .iter()
                .map(|stored| format!("#{}", hex(stored))),
        );
        parts.push(self.root.describe());
        parts.extend(
            self.selectors
                .iter()
                .map(|selector| format!("({})", selector.describe())),
        );
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
}

/// `ACL SETUSER`'s arguments (and an ACL file line's words) with each selector made one:
/// an argument that opens `(` without closing it is joined, a blank apart, with those
/// after it up to one that ends in `)`, as Redis's `ACLMergeSelectorArguments` does.
///
/// # Errors
/// A selector that never closes: the argument that opened it.
pub fn merge_selectors<'a>(rules: &[&'a str]) -> Result<Vec<Cow<'a, str>>, &'a str> {
    let mut merged = Vec::with_capacity(rules.len());
    let mut open: Option<(&str, String)> = None;
    for rule in rules {
        if let Some((start, mut selector)) = open.take() {
            selector.push(' ');
            selector.push_str(rule);
            if rule.ends_with(')') {
                merged.push(Cow::Owned(selector));
            } else {
                open = Some((start, selector));
            }
        } else if rule.starts_with('(') && !rule.ends_with(')') {
            open = Some((rule, (*rule).to_owned()));
        } else {
            merged.push(Cow::Borrowed(*rule));
        }
    }
    match open {
        Some((start, _)) => Err(start),
        None => Ok(merged),
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
            user(&["-@all", "+get", "+set", "-get", "+@string", "+get"])
                .root()
                .commands_text(),
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
    fn selectors_add_clear_and_describe() {
        let mut alice = user(&["on", "~a:*", "+get", "(~b:* +set %R~c:* &ch*)", "()"]);
        assert_eq!(
            alice.describe(),
            "on ~a:* resetchannels -@all +get (~b:* %R~c:* resetchannels &ch* -@all +set) \
             (resetchannels -@all)"
        );
        assert_eq!(alice.added_selectors().len(), 2);
        assert!(alice.may_use_channel(b"ch1", false));
        assert!(!alice.may_use_channel(b"other", false));
        let before = alice.clone();
        assert_eq!(alice.apply_all(&["(on)"]), Err(("(on)", RuleError::Syntax)));
        assert_eq!(
            alice.apply_all(&["(~x", ")"]),
            Err(("(~x", RuleError::Syntax))
        );
        assert_eq!(alice, before);
        alice.apply("clearselectors").expect("valid");
        assert_eq!(alice.describe(), "on ~a:* resetchannels -@all +get");
        let mut bob = user(&["(+get ~k)"]);
        bob.apply("reset").expect("valid");
        assert!(bob.added_selectors().is_empty());
    }

    #[test]
    fn selector_arguments_merge_as_redis_merges_them() {
        let merged =
            merge_selectors(&["on", "(~a", "+get", "&c)", "(+set)", "+del"]).expect("balanced");
        assert_eq!(merged, ["on", "(~a +get &c)", "(+set)", "+del"]);
        assert_eq!(merge_selectors(&["on", "(~a", "+get"]), Err("(~a"));
        assert_eq!(merge_selectors(&["(", ")"]).expect("balanced"), ["( )"]);
    }
}
