//! The keyspace family: DEL, UNLINK, EXISTS, the EXPIRE family with `NX|XX|GT|LT`, TTL,
//! PTTL, EXPIRETIME, PEXPIRETIME, PERSIST, TYPE, KEYS, SCAN, RANDOMKEY, DBSIZE, FLUSHDB,
//! FLUSHALL, and looking at one key: TOUCH, OBJECT, MEMORY USAGE.
//!
//! OBJECT and MEMORY answer from what floe keeps per item: the value's bytes and the
//! eviction policy's bits. Approximations: ENCODING applies Redis's rule for a value
//! written by SET to the bytes (so a short value made by APPEND reads `embstr` or `int`
//! where Redis says `raw`); FREQ is the LFU counter as stored, which decays when the item
//! survives an eviction sweep rather than with idle minutes as Redis's does; IDLETIME is
//! always 0, since no access time is kept per item (the LRU policies keep a visited bit,
//! not a clock); REFCOUNT is always 1 (values are never shared); MEMORY USAGE counts
//! floe's own bytes for the item (header, key, value, table slot), fewer than Redis's.
//!
//! KEYS and SCAN reply with arrays whose length is known only after looking: each walks the
//! keyspace twice with the same read-only store call, once to count and once to write, so
//! the array header comes first without a buffer. The second pass is asserted to write
//! exactly the count of the first.

use super::server::{Subcommand, help, sub, subcommand};
use super::{Context, Door, Message, bulk_or_null, c_string, decimal, is};
use crate::constants::SCAN_COUNT_DEFAULT;
use crate::storage::item::ItemKind;
use crate::store::{ExpireCondition, Store, Ttl, shards};
use crate::time::Timestamp;

/// The commands of this family (UNLINK is DEL: deletion is immediate here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Command {
    DbSize,
    Del,
    Exists,
    Expire,
    ExpireAt,
    ExpireTime,
    FlushAll,
    FlushDb,
    Keys,
    Memory,
    Object,
    Persist,
    PExpire,
    PExpireAt,
    PExpireTime,
    PTtl,
    RandomKey,
    Scan,
    Touch,
    Ttl,
    Type,
}

/// Runs one command of the family; its arity was checked.
pub(super) fn run<D: Door>(command: Command, context: &mut Context<'_, '_, D>) {
    match command {
        Command::Del => count_keys(context, |store, db, key, now, log| {
            store.delete(db, key, now, log)
        }),
        Command::Exists => count_keys(context, |store, db, key, now, _| store.exists(db, key, now)),
        Command::Expire => expire(context, Unit::Seconds, true),
        Command::PExpire => expire(context, Unit::Milliseconds, true),
        Command::ExpireAt => expire(context, Unit::Seconds, false),
        Command::PExpireAt => expire(context, Unit::Milliseconds, false),
        Command::Ttl => ttl(context, Unit::Seconds, false),
        Command::PTtl => ttl(context, Unit::Milliseconds, false),
        Command::ExpireTime => ttl(context, Unit::Seconds, true),
        Command::PExpireTime => ttl(context, Unit::Milliseconds, true),
        Command::Persist => {
            let key = context.arg(1);
            let persisted = context.shards.store_for(key).persist(
                context.session.db,
                key,
                context.now,
                context.log,
            );
            match persisted {
                Ok(removed) => context.reply.integer(i64::from(removed)),
                Err(error) => context.store_error(error),
            }
        }
        Command::Type => {
            let key = context.arg(1);
            let kind =
                context
                    .shards
                    .store_for(key)
                    .value_kind(context.session.db, key, context.now);
            context.reply.simple(match kind {
                Some(ItemKind::String) => b"string",
                Some(ItemKind::Compact) => b"hash",
                None => b"none",
            });
        }
        Command::Keys => keys(context),
        Command::Scan => scan(context),
        Command::RandomKey => {
            let (db, now) = (context.session.db, context.now);
            let key = shards::random_key(context.shards, db, now);
            bulk_or_null(&mut context.reply, key);
        }
        Command::Touch => count_keys(context, |store, db, key, now, _| store.touch(db, key, now)),
        Command::Object => object(context),
        Command::Memory => memory(context),
        Command::DbSize => {
            let size = shards::db_len(context.shards, context.session.db);
            context.integer_reply(size);
        }
        Command::FlushDb => flush(context, Some(context.session.db)),
        Command::FlushAll => flush(context, None),
    }
}

/// DEL, EXISTS and TOUCH: runs `operation` on every key argument, in the key's shard, and
/// replies with how many it answered `true` for. Each argument counts, so a key named twice
/// counts twice (as in Redis).
fn count_keys<D: Door>(
    context: &mut Context<'_, '_, D>,
    operation: impl Fn(&mut Store<'_>, u8, &[u8], Timestamp, &mut D::Log) -> bool,
) {
    let mut count = 0;
    for index in 1..context.count() {
        let key = context.arg(index);
        let store = context.shards.store_for(key);
        if operation(store, context.session.db, key, context.now, context.log) {
            count += 1;
        }
    }
    context.integer_reply(count);
}

/// The unit of an expire argument or a TTL reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Seconds,
    Milliseconds,
}

/// EXPIRE, PEXPIRE (`relative`), EXPIREAT, PEXPIREAT: `key time [NX|XX|GT|LT]`. As in
/// Redis, options are checked first, then the number, then its range; a time not in the
/// future deletes the key.
fn expire<D: Door>(context: &mut Context<'_, '_, D>, unit: Unit, relative: bool) {
    let Some(condition) = expire_options(context) else {
        return;
    };
    let Some(value) = context.integer(2) else {
        return;
    };
    let base = if relative {
        i64::try_from(context.now).unwrap_or(i64::MAX)
    } else {
        0
    };
    let Some(at) = expire_target(value, unit, base) else {
        context.expire_time_error();
        return;
    };
    let (db, key) = (context.session.db, context.arg(1));
    match context
        .shards
        .store_for(key)
        .expire_at(db, key, at, condition, context.now, context.log)
    {
        Ok(applied) => context.reply.integer(i64::from(applied)),
        Err(error) => context.store_error(error),
    }
}

/// Parses the options from argument 3 on, as Redis's `parseExtendedExpireArgumentsOrReply`
/// does; replies with the error and gives `None` if they are not valid.
fn expire_options<D: Door>(context: &mut Context<'_, '_, D>) -> Option<ExpireCondition> {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for index in 3..context.count() {
        let option = context.arg(index);
        if is(option, "nx") {
            nx = true;
        } else if is(option, "xx") {
            xx = true;
        } else if is(option, "gt") {
            gt = true;
        } else if is(option, "lt") {
            lt = true;
        } else {
            let mut message = Message::new();
            message
                .push(b"ERR Unsupported option ")
                .push(c_string(option));
            context.reply.error(message.as_bytes());
            return None;
        }
    }
    if nx && (xx || gt || lt) {
        context.error("ERR NX and XX, GT or LT options at the same time are not compatible");
        return None;
    }
    if gt && lt {
        context.error("ERR GT and LT options at the same time are not compatible");
        return None;
    }
    let condition = if nx {
        ExpireCondition::IfNone
    } else if gt {
        ExpireCondition::IfLater
    } else if lt && xx {
        ExpireCondition::IfSomeAndSooner
    } else if lt {
        ExpireCondition::IfSooner
    } else if xx {
        ExpireCondition::IfSome
    } else {
        ExpireCondition::Always
    };
    Some(condition)
}

/// The absolute expiry `value` (in `unit`, plus `base` milliseconds) names, or `None` if it
/// overflows (Redis's checks in `expireGenericCommand`). A time at or before the epoch
/// becomes 1: already past, so the key is deleted.
fn expire_target(value: i64, unit: Unit, base: i64) -> Option<Timestamp> {
    let milliseconds = match unit {
        Unit::Seconds => value.checked_mul(1000)?,
        Unit::Milliseconds => value,
    };
    let at = milliseconds.checked_add(base)?;
    Some(Timestamp::try_from(at).unwrap_or(0).max(1))
}

/// TTL, PTTL (`absolute` false), EXPIRETIME, PEXPIRETIME: `-2` for a missing key, `-1` for
/// one without expiry; seconds are rounded to the nearest, as Redis does.
fn ttl<D: Door>(context: &mut Context<'_, '_, D>, unit: Unit, absolute: bool) {
    let key = context.arg(1);
    let value = match context
        .shards
        .store_for(key)
        .ttl(context.session.db, key, context.now)
    {
        Ttl::Missing => -2,
        Ttl::Persistent => -1,
        Ttl::Remaining(remaining) => {
            let milliseconds = if absolute {
                remaining.saturating_add(context.now)
            } else {
                remaining
            };
            let value = match unit {
                Unit::Seconds => milliseconds.saturating_add(500) / 1000,
                Unit::Milliseconds => milliseconds,
            };
            i64::try_from(value).unwrap_or(i64::MAX)
        }
    };
    context.reply.integer(value);
}

/// KEYS pattern: every matching key of the selected database.
fn keys<D: Door>(context: &mut Context<'_, '_, D>) {
    let (db, pattern, now) = (context.session.db, context.arg(1), context.now);
    let mut key_count = 0_usize;
    shards::keys(context.shards, db, pattern, now, |_| key_count += 1);
    context.reply.array_header(key_count);
    let mut written_count = 0_usize;
    shards::keys(context.shards, db, pattern, now, |key| {
        written_count += 1;
        context.reply.bulk(key);
    });
    assert_eq!(written_count, key_count, "KEYS passes disagree");
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]: `[next-cursor, [keys...]]`.
fn scan<D: Door>(context: &mut Context<'_, '_, D>) {
    let Some(cursor) = parse_cursor(context.arg(1)) else {
        context.error("ERR invalid cursor");
        return;
    };
    let mut count = SCAN_COUNT_DEFAULT;
    let mut pattern = None;
    let mut type_matches = true;
    let mut kind = None;
    let mut index = 2;
    while index < context.count() {
        let (option, value) = (context.arg(index), context.arg(index + 1));
        let has_value = index + 1 < context.count();
        if is(option, "count") && has_value {
            let Some(requested) = context.integer(index + 1) else {
                return;
            };
            if requested < 1 {
                context.syntax_error();
                return;
            }
            count = usize::try_from(requested).unwrap_or(usize::MAX);
        } else if is(option, "match") && has_value {
            // `*` matches everything, so it is no filter at all.
            pattern = (value != b"*").then_some(value);
        } else if is(option, "type") && has_value {
            // Strings and (compact) hashes are the kinds floe has. Like Redis 7.2, an
            // unknown type name matches nothing rather than being an error.
            if is(value, "string") {
                kind = Some(ItemKind::String);
            } else if is(value, "hash") {
                kind = Some(ItemKind::Compact);
            } else {
                type_matches = false;
            }
        } else {
            context.syntax_error();
            return;
        }
        index += 2;
    }
    let (db, now) = (context.session.db, context.now);
    if shards::db_len(context.shards, db) == 0 {
        // Nothing to walk (not even expired keys): end the scan now, as Redis does for an
        // empty database, rather than hand out cursors over empty slots.
        context.reply.array_header(2);
        context.reply.bulk(b"0");
        context.reply.array_header(0);
        return;
    }
    let mut key_count = 0_usize;
    let next = shards::scan_kind(
        context.shards,
        db,
        cursor,
        count,
        pattern,
        kind,
        now,
        |_| {
            key_count += usize::from(type_matches);
        },
    );
    let mut digits = [0; 20];
    context.reply.array_header(2);
    context.reply.bulk(decimal(next, &mut digits));
    context.reply.array_header(key_count);
    let mut written_count = 0_usize;
    let next_again = shards::scan_kind(
        context.shards,
        db,
        cursor,
        count,
        pattern,
        kind,
        now,
        |key| {
            if type_matches {
                written_count += 1;
                context.reply.bulk(key);
            }
        },
    );
    assert_eq!(next_again, next, "SCAN passes disagree on the cursor");
    assert_eq!(written_count, key_count, "SCAN passes disagree on the keys");
}

// The cursor's rule lives in crate::text; this name stays until the caller switches.
use crate::text::parse_u64_lenient as parse_cursor;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ObjectSub {
    Encoding,
    Frequency,
    Help,
    IdleTime,
    ReferenceCount,
}

const OBJECT_SUBCOMMANDS: [Subcommand<ObjectSub>; 5] = [
    sub("encoding", 3, ObjectSub::Encoding),
    sub("freq", 3, ObjectSub::Frequency),
    sub("help", 2, ObjectSub::Help),
    sub("idletime", 3, ObjectSub::IdleTime),
    sub("refcount", 3, ObjectSub::ReferenceCount),
];

/// Redis's reply to OBJECT FREQ under a policy that does not count accesses.
const FREQUENCY_NOT_TRACKED: &str = "ERR An LFU maxmemory policy is not selected, access \
    frequency not tracked. Please note that when switching between policies at runtime LRU \
    and LFU data will take some time to adjust.";

/// Redis's reply to OBJECT IDLETIME under an LFU policy.
const IDLE_TIME_NOT_TRACKED: &str = "ERR An LFU maxmemory policy is selected, idle time not \
    tracked. Please note that when switching between policies at runtime LRU and LFU data \
    will take some time to adjust.";

/// OBJECT ENCODING|FREQ|IDLETIME|REFCOUNT key, OBJECT HELP. A missing key is a null
/// reply, checked before the policy (as Redis does). Looking does not count as an access.
fn object<D: Door>(context: &mut Context<'_, '_, D>) {
    let Some(which) = subcommand(context, &OBJECT_SUBCOMMANDS) else {
        return;
    };
    if which == ObjectSub::Help {
        help(
            context,
            &[
                "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "ENCODING <key>",
                "    Return the kind of internal representation used in order to store the value",
                "    associated with a <key>.",
                "FREQ <key>",
                "    Return the access frequency index of the <key>. The returned integer is",
                "    proportional to the logarithm of the recent access frequency of the <key>.",
                "IDLETIME <key>",
                "    Return the idle time of the <key>, that is the approximated number of",
                "    seconds elapsed since the last access to the key.",
                "REFCOUNT <key>",
                "    Return the number of references of the value associated with the specified",
                "    <key>.",
                "HELP",
                "    Print this help.",
            ],
        );
        return;
    }
    let (db, now) = (context.session.db, context.now);
    let key = context.arg(2);
    let store = context.shards.store_for(key);
    let counts_frequency = store.config().policy.counts_frequency();
    let Some(info) = store.object(db, key, now) else {
        context.reply.null();
        return;
    };
    match which {
        ObjectSub::Encoding => context.reply.bulk(info.encoding.name().as_bytes()),
        ObjectSub::Frequency if counts_frequency => {
            context.reply.integer(i64::from(info.policy_bits));
        }
        ObjectSub::Frequency => context.error(FREQUENCY_NOT_TRACKED),
        ObjectSub::IdleTime if counts_frequency => context.error(IDLE_TIME_NOT_TRACKED),
        // No access time is kept per item: every key reads as just used.
        ObjectSub::IdleTime => context.reply.integer(0),
        // Values are never shared between keys.
        ObjectSub::ReferenceCount => context.reply.integer(1),
        ObjectSub::Help => unreachable!("answered above"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MemorySub {
    Help,
    Usage,
}

const MEMORY_SUBCOMMANDS: [Subcommand<MemorySub>; 2] = [
    sub("help", 2, MemorySub::Help),
    sub("usage", -3, MemorySub::Usage),
];

/// MEMORY USAGE key [SAMPLES count], MEMORY HELP. USAGE replies with the bytes the item
/// takes in floe (header, key, value, table slot and tag), or null for a missing key;
/// SAMPLES is checked as Redis checks it and otherwise ignored (a string has nothing to
/// sample). The other MEMORY subcommands (DOCTOR, STATS, ...) are not offered.
fn memory<D: Door>(context: &mut Context<'_, '_, D>) {
    let Some(which) = subcommand(context, &MEMORY_SUBCOMMANDS) else {
        return;
    };
    if which == MemorySub::Help {
        help(
            context,
            &[
                "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "USAGE <key> [SAMPLES <count>]",
                "    Return memory in bytes used by <key> and its value. Nested values are",
                "    sampled up to <count> times (default: 5, 0 means sample all).",
                "HELP",
                "    Print this help.",
            ],
        );
        return;
    }
    let mut index = 3;
    while index < context.count() {
        if !(is(context.arg(index), "samples") && index + 1 < context.count()) {
            context.syntax_error();
            return;
        }
        let Some(samples) = context.integer(index + 1) else {
            return;
        };
        if samples < 0 {
            context.syntax_error();
            return;
        }
        index += 2;
    }
    let (db, now) = (context.session.db, context.now);
    let key = context.arg(2);
    match context.shards.store_for(key).object(db, key, now) {
        Some(info) => context.integer_reply(info.memory_size),
        None => context.reply.null(),
    }
}

/// FLUSHDB and FLUSHALL `[ASYNC|SYNC]` (both synchronous here: clearing is one pass).
fn flush<D: Door>(context: &mut Context<'_, '_, D>, db: Option<u8>) {
    let valid = match context.count() {
        1 => true,
        2 => is(context.arg(1), "async") || is(context.arg(1), "sync"),
        _ => false,
    };
    if !valid {
        context.syntax_error();
        return;
    }
    shards::clear(context.shards, db, context.log);
    context.ok();
}

#[cfg(test)]
mod tests {
    use super::super::harness::{Harness, NOW, differ, same};
    use super::*;
    use crate::codec::resp::Protocol;
    use crate::storage::policy::EvictionPolicy;
    use crate::store::Config;
    use std::string::String;
    use std::vec::Vec;

    #[test]
    fn del_unlink_exists() {
        Harness::check(&[
            same("MSET a 1 b 2 c 3", "+OK\r\n"),
            same("EXISTS a b missing", ":2\r\n"),
            same("EXISTS a a a", ":3\r\n"),
            same("DEL a missing", ":1\r\n"),
            same("UNLINK b c c", ":2\r\n"),
            same("EXISTS a b c", ":0\r\n"),
            same("DEL a", ":0\r\n"),
        ]);
    }

    #[test]
    fn expire_family() {
        Harness::check(&[
            same("SET k v", "+OK\r\n"),
            same("EXPIRE k 100", ":1\r\n"),
            same("TTL k", ":100\r\n"),
            same("PEXPIRE k 1500", ":1\r\n"),
            same("PTTL k", ":1500\r\n"),
            same("TTL k", ":2\r\n"),
            same("EXPIREAT k 1700000050", ":1\r\n"),
            same("TTL k", ":50\r\n"),
            same("EXPIRETIME k", ":1700000050\r\n"),
            same("PEXPIREAT k 1700000000300", ":1\r\n"),
            same("PEXPIRETIME k", ":1700000000300\r\n"),
            same("EXPIRETIME k", ":1700000000\r\n"),
            same("PERSIST k", ":1\r\n"),
            same("PERSIST k", ":0\r\n"),
            same("TTL k", ":-1\r\n"),
            same("PTTL k", ":-1\r\n"),
            same("EXPIRETIME k", ":-1\r\n"),
            same("PEXPIRETIME k", ":-1\r\n"),
            same("EXPIRE missing 10", ":0\r\n"),
            same("PEXPIREAT missing 99999999999999", ":0\r\n"),
            same("TTL missing", ":-2\r\n"),
            same("PTTL missing", ":-2\r\n"),
            same("EXPIRETIME missing", ":-2\r\n"),
            same("PEXPIRETIME missing", ":-2\r\n"),
            same("PERSIST missing", ":0\r\n"),
        ]);
    }

    #[test]
    fn ttl_rounds_to_the_nearest_second() {
        Harness::check(&[
            same("SET k v PX 1499", "+OK\r\n"),
            same("TTL k", ":1\r\n"),
            same("PEXPIRE k 1500", ":1\r\n"),
            same("TTL k", ":2\r\n"),
            same("PEXPIRE k 499", ":1\r\n"),
            same("TTL k", ":0\r\n"),
            same("@+498", ""),
            same("PTTL k", ":1\r\n"),
            same("@+1", ""),
            same("PTTL k", ":-2\r\n"),
        ]);
    }

    #[test]
    fn expire_in_the_past_deletes() {
        Harness::check(&[
            same("MSET a 1 b 2 c 3", "+OK\r\n"),
            same("PEXPIRE a -1", ":1\r\n"),
            same("EXISTS a", ":0\r\n"),
            same("EXPIRE b 0", ":1\r\n"),
            same("EXISTS b", ":0\r\n"),
            same("EXPIREAT c 1", ":1\r\n"),
            differ("GET c", "$-1\r\n", "_\r\n"),
        ]);
    }

    #[test]
    fn expire_conditions() {
        Harness::check(&[
            same("SET k v", "+OK\r\n"),
            // No expiry counts as an infinite one.
            same("EXPIRE k 100 XX", ":0\r\n"),
            same("EXPIRE k 100 GT", ":0\r\n"),
            same("EXPIRE k 100 XX LT", ":0\r\n"),
            same("TTL k", ":-1\r\n"),
            same("EXPIRE k 100 LT", ":1\r\n"),
            same("EXPIRE k 50 NX", ":0\r\n"),
            same("EXPIRE k 200 gt", ":1\r\n"),
            same("EXPIRE k 150 GT", ":0\r\n"),
            same("EXPIRE k 150 XX LT", ":1\r\n"),
            same("PEXPIRE k 300000 LT", ":0\r\n"),
            same("EXPIRE k 100 XX", ":1\r\n"),
            same("TTL k", ":100\r\n"),
            same("EXPIRE k 100 NX NX", ":0\r\n"),
            same("SET other v", "+OK\r\n"),
            same("EXPIRE other 10 NX", ":1\r\n"),
            same("TTL other", ":10\r\n"),
        ]);
    }

    #[test]
    fn expire_errors_change_nothing() {
        Harness::check(&[
            same("SET k v", "+OK\r\n"),
            same(
                "EXPIRE k 100 GT LT",
                "-ERR GT and LT options at the same time are not compatible\r\n",
            ),
            same(
                "EXPIRE k 100 NX GT",
                "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
            ),
            same(
                "PEXPIRE k 100 XX NX",
                "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
            ),
            same("EXPIRE k 100 FOO", "-ERR Unsupported option FOO\r\n"),
            // Options are checked before the number.
            same("EXPIRE k soon FOO", "-ERR Unsupported option FOO\r\n"),
            same(
                "EXPIRE k soon",
                "-ERR value is not an integer or out of range\r\n",
            ),
            same(
                "EXPIRE k 99999999999999999",
                "-ERR invalid expire time in 'expire' command\r\n",
            ),
            same(
                "PEXPIRE k 9223372036854775807",
                "-ERR invalid expire time in 'pexpire' command\r\n",
            ),
            same(
                "EXPIREAT k -9223372036854775808",
                "-ERR invalid expire time in 'expireat' command\r\n",
            ),
            same("TTL k", ":-1\r\n"),
            same("GET k", "$1\r\nv\r\n"),
        ]);
    }

    #[test]
    fn type_and_dbsize() {
        Harness::check(&[
            same("TYPE k", "+none\r\n"),
            same("SET k v", "+OK\r\n"),
            same("TYPE k", "+string\r\n"),
            same("DBSIZE", ":1\r\n"),
            same("SELECT 1", "+OK\r\n"),
            same("DBSIZE", ":0\r\n"),
            same("TYPE k", "+none\r\n"),
        ]);
    }

    #[test]
    fn keys_lists_matches() {
        let mut harness = Harness::new(Protocol::Resp3);
        assert_eq!(harness.run("KEYS *"), b"*0\r\n");
        assert_eq!(harness.run("MSET one 1 two 2 three 3"), b"+OK\r\n");
        let mut keys = parse_array(&harness.run("KEYS *"));
        keys.sort();
        assert_eq!(keys, ["one", "three", "two"]);
        let mut keys = parse_array(&harness.run("KEYS t*"));
        keys.sort();
        assert_eq!(keys, ["three", "two"]);
        assert_eq!(harness.run("KEYS o?e"), b"*1\r\n$3\r\none\r\n");
        assert_eq!(harness.run("KEYS nothing"), b"*0\r\n");
        // Expired keys are not listed.
        assert_eq!(harness.run("PEXPIRE one 10"), b":1\r\n");
        harness.now += 10;
        assert_eq!(harness.run("KEYS o*"), b"*0\r\n");
    }

    #[test]
    fn scan_walks_every_key_once_per_cursor_round() {
        for protocol in [Protocol::Resp2, Protocol::Resp3] {
            let mut harness = Harness::new(protocol);
            let keys: Vec<String> = (0..100).map(|n| format!("key{n}")).collect();
            for key in &keys {
                harness.run_args(&[b"SET", key.as_bytes(), b"v"]);
            }
            harness.run("SET other v");
            let mut seen = Vec::new();
            let mut cursor = String::from("0");
            let mut rounds = 0;
            loop {
                let command = format!("SCAN {cursor} MATCH key* COUNT 7");
                let reply = harness.run(&command);
                let (next, batch) = parse_scan(&reply);
                seen.extend(batch);
                rounds += 1;
                cursor = next;
                if cursor == "0" {
                    break;
                }
            }
            assert!(rounds > 1);
            seen.sort();
            seen.dedup();
            let mut expected = keys.clone();
            expected.sort();
            assert_eq!(seen, expected);
        }
    }

    #[test]
    fn scan_options() {
        let mut harness = Harness::new(Protocol::Resp2);
        assert_eq!(harness.run("SCAN 0"), b"*2\r\n$1\r\n0\r\n*0\r\n");
        harness.run("SET k v");
        assert_eq!(
            harness.run("SCAN 0 COUNT 100000 MATCH *"),
            b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n"
        );
        assert_eq!(
            harness.run("scan 0 type STRING count 100000"),
            b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n"
        );
        assert_eq!(
            harness.run("SCAN 0 TYPE hash COUNT 100000"),
            b"*2\r\n$1\r\n0\r\n*0\r\n"
        );
        assert_eq!(
            harness.run("SCAN 0 TYPE nonsense COUNT 100000"),
            b"*2\r\n$1\r\n0\r\n*0\r\n"
        );
        assert_eq!(
            harness.run("SCAN 0 MATCH x* COUNT 100000"),
            b"*2\r\n$1\r\n0\r\n*0\r\n"
        );
        assert_eq!(
            harness.run("SCAN +0 COUNT 100000"),
            b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n"
        );
        // A cursor past the table ends the scan.
        assert_eq!(
            harness.run("SCAN 18446744073709551615"),
            b"*2\r\n$1\r\n0\r\n*0\r\n"
        );
        for (command, reply) in [
            ("SCAN x", "-ERR invalid cursor\r\n"),
            ("SCAN -1", "-ERR invalid cursor\r\n"),
            ("SCAN 18446744073709551616", "-ERR invalid cursor\r\n"),
            ("SCAN 0 COUNT 0", "-ERR syntax error\r\n"),
            ("SCAN 0 COUNT -1", "-ERR syntax error\r\n"),
            (
                "SCAN 0 COUNT x",
                "-ERR value is not an integer or out of range\r\n",
            ),
            ("SCAN 0 COUNT", "-ERR syntax error\r\n"),
            ("SCAN 0 MATCH", "-ERR syntax error\r\n"),
            ("SCAN 0 FOO bar", "-ERR syntax error\r\n"),
        ] {
            assert_eq!(String::from_utf8_lossy(&harness.run(command)), reply);
        }
    }

    #[test]
    fn flushdb_and_flushall() {
        let mut harness = Harness::new(Protocol::Resp2);
        harness.run("SET a 1");
        harness.run("SELECT 2");
        harness.run("SET b 2");
        assert_eq!(harness.run("FLUSHDB SYNC"), b"+OK\r\n");
        assert_eq!(harness.run("DBSIZE"), b":0\r\n");
        harness.run("SET b 2");
        harness.run("SELECT 0");
        assert_eq!(harness.run("FLUSHDB nope"), b"-ERR syntax error\r\n");
        assert_eq!(harness.run("FLUSHALL ASYNC SYNC"), b"-ERR syntax error\r\n");
        assert_eq!(harness.run("DBSIZE"), b":1\r\n");
        assert_eq!(harness.run("FLUSHDB async"), b"+OK\r\n");
        assert_eq!(harness.run("DBSIZE"), b":0\r\n");
        assert_eq!(harness.store.db_len(2), 1);
        assert_eq!(harness.run("FLUSHALL"), b"+OK\r\n");
        assert_eq!(harness.store.len(), 0);
        assert_eq!(
            harness.log.0,
            [
                "set 0 a 1 0",
                "set 2 b 2 0",
                "clear Some(2)",
                "set 2 b 2 0",
                "clear Some(0)",
                "clear None"
            ]
        );
    }

    #[test]
    fn expire_logs_absolute_times() {
        let mut harness = Harness::new(Protocol::Resp2);
        harness.run("SET k v");
        harness.run("EXPIRE k 10");
        harness.run("PEXPIRE k 20000");
        harness.run("PEXPIRE k 5000");
        harness.run("DEL k");
        // A later expiry carries the whole item (replay may have dropped the first record
        // as expired); a sooner one is an expiry record alone.
        assert_eq!(
            harness.log.0,
            [
                "set 0 k v 0".into(),
                format!("set 0 k v {}", NOW + 10_000),
                format!("set 0 k v {}", NOW + 20_000),
                format!("expire 0 k {}", NOW + 5_000),
                "del 0 k".into(),
            ]
        );
    }

    #[test]
    fn cursors_and_targets() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b"007"), Some(7));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        for bad in [&b""[..], b"+", b"-1", b" 1", b"1x"] {
            assert_eq!(parse_cursor(bad), None);
        }
        assert_eq!(expire_target(10, Unit::Seconds, 5), Some(10_005));
        assert_eq!(expire_target(-10, Unit::Seconds, 5), Some(1));
        assert_eq!(expire_target(i64::MAX / 1000 + 1, Unit::Seconds, 0), None);
        assert_eq!(expire_target(i64::MAX, Unit::Milliseconds, 1), None);
    }

    #[test]
    fn touch_counts_existing_keys() {
        Harness::check(&[
            same("MSET a 1 b 2", "+OK\r\n"),
            same("TOUCH a b missing a", ":3\r\n"),
            same("TOUCH missing", ":0\r\n"),
        ]);
        let mut harness = Harness::new(Protocol::Resp2);
        harness.run("SET a 1");
        harness.log.0.clear();
        harness.run("TOUCH a");
        assert!(harness.log.0.is_empty(), "TOUCH is not a write");
    }

    /// Under LRU a TOUCH sets the visited bit, under LFU it may raise the counter: what a
    /// GET does, and what OBJECT FREQ shows.
    #[test]
    fn touch_updates_the_policy() {
        let mut config = Config::new(1 << 20, 100);
        config.policy = EvictionPolicy::AllKeysLru;
        let mut harness = Harness::with_config(config, Protocol::Resp2);
        harness.run("SET a 1");
        let before = harness.store.object(0, b"a", NOW).expect("a").policy_bits;
        assert_eq!(before, 0);
        harness.run("TOUCH a");
        let after = harness.store.object(0, b"a", NOW).expect("a").policy_bits;
        assert_eq!(after, crate::storage::policy::VISITED);

        config.policy = EvictionPolicy::AllKeysLfu;
        let mut harness = Harness::with_config(config, Protocol::Resp2);
        harness.run("SET a 1");
        assert_eq!(harness.run("OBJECT FREQ a"), b":5\r\n");
        for _ in 0..50 {
            harness.run("TOUCH a");
        }
        let reply = String::from_utf8(harness.run("OBJECT FREQ a")).expect("text");
        let frequency: i64 = reply[1..reply.len() - 2].parse().expect("integer");
        assert!(frequency > 5, "{frequency}");
    }

    #[test]
    fn randomkey_picks_live_keys_of_the_database() {
        Harness::check(&[
            differ("RANDOMKEY", "$-1\r\n", "_\r\n"),
            same("SET only v", "+OK\r\n"),
            same("RANDOMKEY", "$4\r\nonly\r\n"),
            same("SELECT 1", "+OK\r\n"),
            differ("RANDOMKEY", "$-1\r\n", "_\r\n"),
            same("SET short v PX 10", "+OK\r\n"),
            same("@+10", ""),
            differ("RANDOMKEY", "$-1\r\n", "_\r\n"),
        ]);
        let mut harness = Harness::new(Protocol::Resp2);
        for index in 0..20 {
            harness.run(&format!("SET key{index} v"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let reply = String::from_utf8(harness.run("RANDOMKEY")).expect("text");
            let key = reply.split("\r\n").nth(1).expect("bulk").to_string();
            assert!(key.starts_with("key"), "{key}");
            seen.insert(key);
        }
        assert!(seen.len() > 10, "{seen:?}");
    }

    #[test]
    fn object_subcommands() {
        let long = "x".repeat(45);
        let mut harness = Harness::new(Protocol::Resp2);
        harness.run("MSET int 12345 negative -7 padded 007 text hello");
        harness.run_args(&[b"SET", b"embstr", "x".repeat(44).as_bytes()]);
        harness.run_args(&[b"SET", b"raw", long.as_bytes()]);
        harness.run_args(&[b"SET", b"big", b"99999999999999999999"]);
        for (key, encoding) in [
            ("int", "int"),
            ("negative", "int"),
            ("padded", "embstr"),
            ("text", "embstr"),
            ("embstr", "embstr"),
            ("raw", "raw"),
            ("big", "embstr"),
        ] {
            let reply = harness.run(&format!("OBJECT ENCODING {key}"));
            let expected = format!("${}\r\n{encoding}\r\n", encoding.len());
            assert_eq!(String::from_utf8_lossy(&reply), expected, "{key}");
        }
        Harness::check(&[
            same("SET k v", "+OK\r\n"),
            same("object refcount k", ":1\r\n"),
            same("OBJECT IDLETIME k", ":0\r\n"),
            same(
                "OBJECT FREQ k",
                "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. \
                 Please note that when switching between policies at runtime LRU and LFU data \
                 will take some time to adjust.\r\n",
            ),
            // A missing key is null, before the policy is looked at.
            differ("OBJECT FREQ missing", "$-1\r\n", "_\r\n"),
            differ("OBJECT ENCODING missing", "$-1\r\n", "_\r\n"),
            differ("OBJECT IDLETIME missing", "$-1\r\n", "_\r\n"),
            differ("OBJECT REFCOUNT missing", "$-1\r\n", "_\r\n"),
            same(
                "OBJECT NOPE k",
                "-ERR unknown subcommand 'NOPE'. Try OBJECT HELP.\r\n",
            ),
            same(
                "OBJECT ENCODING",
                "-ERR wrong number of arguments for 'object|encoding' command\r\n",
            ),
            same(
                "OBJECT ENCODING k extra",
                "-ERR wrong number of arguments for 'object|encoding' command\r\n",
            ),
            same(
                "OBJECT HELP extra",
                "-ERR wrong number of arguments for 'object|help' command\r\n",
            ),
        ]);
        let reply = harness.run("OBJECT HELP");
        assert!(reply.starts_with(b"*15\r\n+OBJECT <subcommand>"));
    }

    #[test]
    fn object_idletime_under_lfu_is_refused() {
        let mut config = Config::new(1 << 20, 100);
        config.policy = EvictionPolicy::VolatileLfu;
        let mut harness = Harness::with_config(config, Protocol::Resp3);
        harness.run("SET k v");
        assert_eq!(
            String::from_utf8_lossy(&harness.run("OBJECT IDLETIME k")),
            "-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that \
             when switching between policies at runtime LRU and LFU data will take some time \
             to adjust.\r\n"
        );
        assert_eq!(harness.run("OBJECT FREQ k"), b":5\r\n");
        // Looking is not an access.
        assert_eq!(harness.run("OBJECT FREQ k"), b":5\r\n");
    }

    #[test]
    fn memory_usage_counts_header_key_value_and_slot() {
        let slot = crate::constants::SLOT_SIZE + crate::constants::TAG_SIZE;
        let mut harness = Harness::new(Protocol::Resp2);
        harness.run("SET key value");
        // 3 bytes of header, 3 of key, 5 of value.
        let expected = format!(":{}\r\n", 3 + 3 + 5 + slot);
        assert_eq!(
            String::from_utf8_lossy(&harness.run("MEMORY USAGE key")),
            expected
        );
        assert_eq!(
            String::from_utf8_lossy(&harness.run("memory usage key samples 0")),
            expected
        );
        harness.run("EXPIRE key 100");
        let expected = format!(":{}\r\n", 3 + 8 + 3 + 5 + slot);
        assert_eq!(
            String::from_utf8_lossy(&harness.run("MEMORY USAGE key SAMPLES 5 SAMPLES 9")),
            expected
        );
        Harness::check(&[
            differ("MEMORY USAGE missing", "$-1\r\n", "_\r\n"),
            same("MEMORY USAGE k SAMPLES", "-ERR syntax error\r\n"),
            same("MEMORY USAGE k SAMPLES -1", "-ERR syntax error\r\n"),
            same(
                "MEMORY USAGE k SAMPLES x",
                "-ERR value is not an integer or out of range\r\n",
            ),
            same("MEMORY USAGE k FOO 1", "-ERR syntax error\r\n"),
            same(
                "MEMORY USAGE",
                "-ERR wrong number of arguments for 'memory|usage' command\r\n",
            ),
            same(
                "MEMORY DOCTOR",
                "-ERR unknown subcommand 'DOCTOR'. Try MEMORY HELP.\r\n",
            ),
        ]);
        assert!(
            harness
                .run("MEMORY HELP")
                .starts_with(b"*6\r\n+MEMORY <subcommand>")
        );
    }

    /// The bulk strings of a flat RESP array of bulk strings.
    fn parse_array(reply: &[u8]) -> Vec<String> {
        let text = String::from_utf8_lossy(reply).into_owned();
        let mut lines = text.split("\r\n");
        let header = lines.next().expect("header");
        let count: usize = header[1..].parse().expect("count");
        let mut items = Vec::new();
        for _ in 0..count {
            lines.next().expect("bulk header");
            items.push(lines.next().expect("bulk").to_string());
        }
        items
    }

    /// The cursor and keys of a SCAN reply.
    fn parse_scan(reply: &[u8]) -> (String, Vec<String>) {
        let text = String::from_utf8_lossy(reply).into_owned();
        let mut lines = text.split("\r\n");
        assert_eq!(lines.next(), Some("*2"));
        lines.next().expect("cursor header");
        let cursor = lines.next().expect("cursor").to_string();
        let rest: Vec<&str> = lines.collect();
        let keys = parse_array(rest.join("\r\n").as_bytes());
        (cursor, keys)
    }
}
