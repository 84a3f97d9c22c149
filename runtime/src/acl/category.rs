//! Redis's ACL command categories (`@read`, `@write`, `@admin`, ...) for floe's commands,
//! in one place: `@read`, `@write` and `@admin` come from the command table's flags, and
//! the rest from [`extra`], a per-command table copied from Redis 7's `COMMAND INFO`.
//!
//! A container command (CLIENT, CONFIG, ACL, ...) takes the categories of its subcommand,
//! as Redis's do: `CLIENT ID` is `@connection`, `CLIENT KILL` also `@admin @dangerous`.
//!
//! Invariants: every command of [`COMMANDS`] is `@fast` or `@slow` (a test checks this, so
//! a new command fails it until it is categorized here); [`CATEGORIES`] is in Redis's
//! order, which `ACL CAT` prints.

use floe_core::command::{COMMANDS, CommandSpec};

/// A set of categories, one bit per entry of [`CATEGORIES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Categories(u32);

impl Categories {
    /// Whether `category` (an index into [`CATEGORIES`]) is in the set.
    #[must_use]
    pub fn contains(self, category: usize) -> bool {
        category < CATEGORIES.len() && self.0 & (1 << category) != 0
    }

    fn with(self, names: &[&str]) -> Self {
        let mut bits = self.0;
        for name in names {
            let index = index_of(name);
            assert!(index.is_some(), "unknown category {name}");
            bits |= 1 << index.unwrap_or(0);
        }
        Self(bits)
    }
}

/// Every category Redis 7 has, in Redis's order (floe has no commands in some of them).
pub const CATEGORIES: [&str; 21] = [
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];
const _: () = assert!(CATEGORIES.len() <= 32, "Categories is a u32");

/// The index of a category name (without `@`), ASCII case-insensitively.
#[must_use]
pub fn index_of(name: &str) -> Option<usize> {
    CATEGORIES
        .iter()
        .position(|category| category.eq_ignore_ascii_case(name))
}

/// The categories of `spec` run with `subcommand` (its argument 1, empty if none).
#[must_use]
pub fn of(spec: &CommandSpec, subcommand: &[u8]) -> Categories {
    let mut derived: Vec<&str> = Vec::with_capacity(4);
    if spec.is_write() {
        derived.push("write");
    }
    if spec.is_readonly() {
        derived.push("read");
    }
    if spec.is_admin() {
        derived.extend(["admin", "dangerous"]);
    }
    Categories::default()
        .with(&derived)
        .with(extra(spec.name(), subcommand))
}

/// The categories the table's flags do not give, per command (Redis 7's `COMMAND INFO`).
fn extra(name: &str, subcommand: &[u8]) -> &'static [&'static str] {
    let sub = |word: &str| subcommand.eq_ignore_ascii_case(word.as_bytes());
    match name {
        "append" | "decr" | "decrby" | "get" | "getdel" | "getex" | "getset" | "incr"
        | "incrby" | "incrbyfloat" | "mget" | "setnx" | "strlen" => &["string", "fast"],
        "getrange" | "mset" | "msetnx" | "psetex" | "set" | "setex" | "setrange" | "substr" => {
            &["string", "slow"]
        }
        "hdel" | "hexists" | "hget" | "hincrby" | "hincrbyfloat" | "hlen" | "hmget" | "hmset"
        | "hset" | "hsetnx" | "hstrlen" => &["hash", "fast"],
        "hgetall" | "hkeys" | "hrandfield" | "hscan" | "hvals" => &["hash", "slow"],
        "sadd" | "scard" | "sismember" | "smismember" | "smove" | "spop" | "srem" => {
            &["set", "fast"]
        }
        "sdiff" | "sdiffstore" | "sinter" | "sintercard" | "sinterstore" | "smembers"
        | "srandmember" | "sscan" | "sunion" | "sunionstore" => &["set", "slow"],
        "llen" | "lpop" | "lpush" | "lpushx" | "rpop" | "rpush" | "rpushx" => &["list", "fast"],
        "lindex" | "linsert" | "lmove" | "lmpop" | "lpos" | "lrange" | "lrem" | "lset"
        | "ltrim" | "rpoplpush" => &["list", "slow"],
        "blmove" | "blmpop" | "blpop" | "brpop" | "brpoplpush" => &["list", "slow", "blocking"],
        "bzpopmax" | "bzpopmin" => &["sortedset", "fast", "blocking"],
        "bzmpop" => &["sortedset", "slow", "blocking"],
        "zadd" | "zcard" | "zcount" | "zincrby" | "zlexcount" | "zmscore" | "zpopmax"
        | "zpopmin" | "zrank" | "zrem" | "zrevrank" | "zscore" => &["sortedset", "fast"],
        "zdiff" | "zdiffstore" | "zinter" | "zintercard" | "zinterstore" | "zrandmember"
        | "zrange" | "zrangebylex" | "zrangebyscore" | "zrangestore" | "zremrangebylex"
        | "zremrangebyrank" | "zremrangebyscore" | "zrevrange" | "zrevrangebylex"
        | "zrevrangebyscore" | "zscan" | "zmpop" | "zunion" | "zunionstore" => {
            &["sortedset", "slow"]
        }
        "dbsize" | "exists" | "expire" | "expireat" | "expiretime" | "move" | "persist"
        | "pexpire" | "pexpireat" | "pexpiretime" | "pttl" | "renamenx" | "touch" | "ttl"
        | "type" | "unlink" => &["keyspace", "fast"],
        "copy" | "del" | "dump" | "randomkey" | "rename" | "scan" => &["keyspace", "slow"],
        "restore" => &["keyspace", "slow", "dangerous"],
        "sort" | "sort_ro" => &["set", "sortedset", "list", "slow", "dangerous"],
        "flushall" | "flushdb" | "keys" => &["keyspace", "slow", "dangerous"],
        "swapdb" => &["keyspace", "fast", "dangerous"],
        "auth" | "echo" | "hello" | "ping" | "quit" | "reset" | "select" => &["fast", "connection"],
        "command" | "wait" => &["slow", "connection"],
        "discard" | "multi" | "unwatch" | "watch" => &["fast", "transaction"],
        "exec" => &["slow", "transaction"],
        "bgrewriteaof" | "bgsave" | "save" | "shutdown" => &["slow"],
        "time" => &["fast"],
        "asking" | "readonly" | "readwrite" => &["fast", "connection"],
        "cluster" if sub("setslotmap") => &["admin", "slow", "dangerous"],
        "cluster" => &["slow"],
        "lastsave" => &["admin", "fast", "dangerous"],
        "info" => &["slow", "dangerous"],
        "function" => &["write", "slow", "scripting"],
        "script" => &["slow", "scripting"],
        "object" => &["keyspace", "read", "slow"],
        "memory" => &["read", "slow"],
        "client" if sub("kill") || sub("list") || sub("no-evict") || sub("no-touch") => {
            &["admin", "slow", "dangerous", "connection"]
        }
        "client" => &["slow", "connection"],
        "acl" if sub("whoami") || sub("cat") => &["slow"],
        "publish" | "spublish" => &["pubsub", "fast"],
        "subscribe" | "psubscribe" | "ssubscribe" | "unsubscribe" | "punsubscribe"
        | "sunsubscribe" | "pubsub" => &["pubsub", "slow"],
        "config" | "latency" | "slowlog" | "acl" => &["admin", "slow", "dangerous"],
        "replicaof" | "slaveof" | "floesync" => &["admin", "slow", "dangerous"],
        "role" => &["admin", "fast", "dangerous"],
        _ => &[],
    }
}

/// Whether a command's categories depend on its subcommand (a denial names both:
/// `client|kill`).
#[must_use]
pub fn has_subcommands(name: &str) -> bool {
    matches!(
        name,
        "acl"
            | "client"
            | "cluster"
            | "config"
            | "function"
            | "latency"
            | "memory"
            | "object"
            | "pubsub"
            | "script"
            | "slowlog"
    )
}

/// The names of the commands in `category`, in table order (`ACL CAT category`).
#[must_use]
pub fn commands_in(category: usize) -> Vec<&'static str> {
    COMMANDS
        .iter()
        .filter(|spec| of(spec, b"").contains(category))
        .map(CommandSpec::name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_fast_or_slow() {
        let fast = index_of("fast").expect("fast");
        let slow = index_of("slow").expect("slow");
        for spec in &COMMANDS {
            let categories = of(spec, b"");
            assert!(
                categories.contains(fast) != categories.contains(slow),
                "{} needs exactly one of @fast and @slow in acl/category.rs",
                spec.name()
            );
        }
    }

    #[test]
    fn flags_and_table_agree_with_redis() {
        let names = |name: &str, sub: &[u8]| -> Vec<&str> {
            let spec = floe_core::command::lookup(name.as_bytes()).expect("known");
            let categories = of(spec, sub);
            CATEGORIES
                .iter()
                .enumerate()
                .filter(|(index, _)| categories.contains(*index))
                .map(|(_, name)| *name)
                .collect()
        };
        assert_eq!(names("get", b""), ["read", "string", "fast"]);
        assert_eq!(names("zadd", b""), ["write", "sortedset", "fast"]);
        assert_eq!(names("zunionstore", b""), ["write", "sortedset", "slow"]);
        assert_eq!(names("zrange", b""), ["read", "sortedset", "slow"]);
        assert_eq!(
            names("flushall", b""),
            ["keyspace", "write", "slow", "dangerous"]
        );
        assert_eq!(names("save", b""), ["admin", "slow", "dangerous"]);
        assert_eq!(names("client", b"id"), ["slow", "connection"]);
        assert_eq!(
            names("client", b"KILL"),
            ["admin", "slow", "dangerous", "connection"]
        );
    }
}
