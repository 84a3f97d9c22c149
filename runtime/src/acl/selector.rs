//! One ACL selector (Redis 7): the commands a user may run (rules replayed in order over a
//! `+@all` or `-@all` base), the keys it may read or write, and the channels it may use.
//! A user's own rules are its root selector; `(...)` in `ACL SETUSER` adds more, and a
//! command is allowed when one selector allows all of it (see [`super::User`]).
//! [`Selector::apply`] takes Redis's rules for commands, keys and channels, and
//! [`Selector::describe`] writes them back in Redis 7.2's form.
//!
//! Invariants: the texts are those Redis prints (`ACL LIST`, `ACL GETUSER`, the ACL file),
//! so a described selector read back is the same selector.

use floe_core::command::{CommandSpec, lookup};
use floe_core::glob::glob_match;

use super::RuleError;
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

/// Commands, keys and channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// `+@all` is the base: commands floe adds later are allowed too.
    all_commands_base: bool,
    command_rules: Vec<CommandRule>,
    all_keys: bool,
    key_patterns: Vec<KeyPattern>,
    all_channels: bool,
    channel_patterns: Vec<String>,
}

impl Selector {
    /// No command, no key, no channel: a new user's root, and a new `(...)` before its
    /// rules.
    #[must_use]
    pub(super) fn empty() -> Self {
        Self {
            all_commands_base: false,
            command_rules: Vec::new(),
            all_keys: false,
            key_patterns: Vec::new(),
            all_channels: false,
            channel_patterns: Vec::new(),
        }
    }

    /// Every command, key and channel (`+@all ~* &*`).
    #[must_use]
    pub(super) fn everything() -> Self {
        Self {
            all_commands_base: true,
            all_keys: true,
            all_channels: true,
            ..Self::empty()
        }
    }

    /// The selector `(rules)` makes: `text` is what is between the parentheses, rules
    /// split on blanks.
    ///
    /// # Errors
    /// A rule that is not a command, key or channel rule, or not valid.
    pub(super) fn parse(text: &str) -> Result<Self, RuleError> {
        let mut selector = Self::empty();
        for rule in text.split_ascii_whitespace() {
            selector.apply(rule)?;
        }
        Ok(selector)
    }

    /// Whether the selector allows every command on every key and channel: the fast path
    /// of the check.
    #[must_use]
    pub fn unrestricted(&self) -> bool {
        self.all_commands_base
            && self.command_rules.is_empty()
            && self.all_keys
            && self.all_channels
    }

    /// Whether the selector allows `spec` (with `subcommand`, its argument 1).
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

    /// Whether the selector allows access to `key` as `access` needs.
    #[must_use]
    pub(super) fn may_access(&self, key: &[u8], access: KeyAccess) -> bool {
        if self.all_keys {
            return true;
        }
        self.key_patterns.iter().any(|pattern| {
            pattern.access & access.0 == access.0 && glob_match(&pattern.pattern, key)
        })
    }

    /// Whether the selector allows `channel` (`&pattern` rules, Redis's way): a channel
    /// name (SUBSCRIBE, PUBLISH) must match one of its patterns; a pattern (PSUBSCRIBE,
    /// `is_pattern`) must be one of them, literally.
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

    /// Applies one command, key or channel rule.
    ///
    /// # Errors
    /// [`RuleError::Syntax`] for a rule of another kind (a user's flag, a password, a
    /// selector), or the rule's own error; the selector may be partly changed.
    pub(super) fn apply(&mut self, rule: &str) -> Result<(), RuleError> {
        match rule.to_ascii_lowercase().as_str() {
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
            _ => return self.apply_with_argument(rule),
        }
        Ok(())
    }

    /// The rules that carry a value: key and channel patterns, commands and categories.
    fn apply_with_argument(&mut self, rule: &str) -> Result<(), RuleError> {
        let (first, rest) = split_first(rule)?;
        match first {
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

    /// Keys, channels, then commands, as `ACL LIST` writes them (inside the parentheses
    /// for an added selector).
    #[must_use]
    pub(super) fn describe(&self) -> String {
        let parts = [self.keys_text(), self.channels_text(), self.commands_text()];
        let parts: Vec<&str> = parts
            .iter()
            .map(String::as_str)
            .filter(|part| !part.is_empty())
            .collect();
        parts.join(" ")
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

/// A rule's first character (what kind of rule it is) and the rest (its value).
///
/// # Errors
/// [`RuleError::Syntax`] for an empty rule.
pub(super) fn split_first(rule: &str) -> Result<(char, &str), RuleError> {
    let mut characters = rule.chars();
    let first = characters.next().ok_or(RuleError::Syntax)?;
    Ok((first, characters.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selector(rules: &[&str]) -> Selector {
        let mut selector = Selector::empty();
        for rule in rules {
            selector.apply(rule).expect("valid rule");
        }
        selector
    }

    #[test]
    fn commands_and_keys() {
        let get = lookup(b"get").expect("get");
        let set = lookup(b"set").expect("set");
        let client = lookup(b"client").expect("client");
        let reader = selector(&["+@read", "%R~r:*", "~rw:*", "-@dangerous", "+client|id"]);
        assert!(reader.may_run(get, b""));
        assert!(!reader.may_run(set, b""));
        assert!(reader.may_run(client, b"ID"));
        assert!(!reader.may_run(client, b"kill"));
        assert!(reader.may_access(b"r:1", KeyAccess::READ));
        assert!(!reader.may_access(b"r:1", KeyAccess::WRITE));
        assert!(reader.may_access(b"rw:1", KeyAccess::READ_WRITE));
        assert!(!reader.may_access(b"other", KeyAccess::READ));
        let most = selector(&["+@all", "-@admin"]);
        assert!(most.may_run(client, b"id"));
        assert!(!most.may_run(client, b"kill"));
    }

    #[test]
    fn parsed_selectors_take_only_their_rules() {
        let parsed = Selector::parse("~b:*  +set %R~c:* &ch*").expect("valid");
        assert_eq!(
            parsed.describe(),
            "~b:* %R~c:* resetchannels &ch* -@all +set"
        );
        assert_eq!(
            Selector::parse("").expect("empty").describe(),
            "resetchannels -@all"
        );
        assert_eq!(Selector::parse("on"), Err(RuleError::Syntax));
        assert_eq!(Selector::parse(">pw"), Err(RuleError::Syntax));
        assert_eq!(Selector::parse("+nosuch"), Err(RuleError::UnknownName));
        assert_eq!(
            Selector::parse("allkeys ~x"),
            Err(RuleError::PatternAfterAllKeys)
        );
        assert!(Selector::everything().unrestricted());
        assert!(!Selector::empty().unrestricted());
    }
}
