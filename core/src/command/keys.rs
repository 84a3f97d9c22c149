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
use crate::error::StoreError;
use crate::glob::glob_match;
use crate::store::ValueType;
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
            let value_type =
                context
                    .shards
                    .store_for(key)
                    .value_type(context.session.db, key, context.now);
            context
                .reply
                .simple(value_type.map_or("none", ValueType::name).as_bytes());
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

/// The options of SCAN (and of HSCAN, without TYPE), from argument `first` on.
pub(super) struct ScanOptions<'c> {
    /// COUNT: how much work one call may do.
    pub(super) count: usize,
    /// MATCH's glob; `None` for none (or `*`, which matches everything, so it is no filter).
    pub(super) pattern: Option<&'c [u8]>,
    /// TYPE's name, as given.
    pub(super) type_name: Option<&'c [u8]>,
}

/// Reads `[MATCH pattern] [COUNT count]` (and `[TYPE type]` where `with_type`) from argument
/// `first` on, in any order; `None` once the error is replied (a COUNT below 1 or not an
/// integer, an unknown or incomplete option).
pub(super) fn scan_options<'c, D: Door>(
    context: &mut Context<'c, '_, D>,
    first: usize,
    with_type: bool,
) -> Option<ScanOptions<'c>> {
    let mut options = ScanOptions {
        count: SCAN_COUNT_DEFAULT,
        pattern: None,
        type_name: None,
    };
    let mut index = first;
    while index < context.count() {
        let (option, value) = (context.arg(index), context.arg(index + 1));
        let has_value = index + 1 < context.count();
        if is(option, "count") && has_value {
            let requested = context.integer(index + 1)?;
            if requested < 1 {
                context.syntax_error();
                return None;
            }
            options.count = usize::try_from(requested).unwrap_or(usize::MAX);
        } else if is(option, "match") && has_value {
            options.pattern = (value != b"*").then_some(value);
        } else if is(option, "type") && has_value && with_type {
            options.type_name = Some(value);
        } else {
            context.syntax_error();
            return None;
        }
        index += 2;
    }
    Some(options)
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]: `[next-cursor, [keys...]]`.
fn scan<D: Door>(context: &mut Context<'_, '_, D>) {
    let Some(cursor) = parse_cursor(context.arg(1)) else {
        context.error("ERR invalid cursor");
        return;
    };
    let Some(ScanOptions {
        count,
        pattern,
        type_name,
    }) = scan_options(context, 2, true)
    else {
        return;
    };
    // Like Redis 7.2, an unknown type name matches nothing rather than being an error.
    let (kind, type_matches) = match type_name.map(ValueType::from_name) {
        None => (None, true),
        Some(Some(value_type)) => (Some(value_type), true),
        Some(None) => (None, false),
    };
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

/// How [`scan_collection`] walks one type's compact value: calls the visitor with each
/// element and, for hashes and sorted sets, its second part.
pub(super) type Elements = fn(&[u8], &mut dyn FnMut(&[u8], Option<&[u8]>));

/// HSCAN, SSCAN and ZSCAN `key cursor [MATCH pattern] [COUNT count]`: a compact collection
/// of type `wanted` is returned whole with cursor 0, as Redis returns a listpack or an
/// intset. `elements(value, visit)` calls `visit(element, second)` for each element of the
/// collection's value, in reply order: a field and its value, a member alone (`None`), or
/// a member and its score as text. The key's type is checked before the options, as Redis
/// does.
pub(super) fn scan_collection<D: Door>(
    context: &mut Context<'_, '_, D>,
    wanted: ValueType,
    elements: Elements,
) {
    if parse_cursor(context.arg(2)).is_none() {
        context.error("ERR invalid cursor");
        return;
    }
    let key = context.arg(1);
    let (db, now) = (context.session.db, context.now);
    let found = context.shards.store_for(key).value_type(db, key, now);
    if found.is_some_and(|found| found != wanted) {
        context.store_error(StoreError::WrongType);
        return;
    }
    let Some(options) = scan_options(context, 3, false) else {
        return;
    };
    let value = match context
        .shards
        .store_for(key)
        .collection_read(db, key, now, wanted)
    {
        Ok(value) => value.unwrap_or_default(),
        Err(error) => {
            context.reply.error(error.message().as_bytes());
            return;
        }
    };
    let matches = |element: &[u8]| {
        options
            .pattern
            .is_none_or(|pattern| glob_match(pattern, element))
    };
    let mut count = 0_usize;
    if !value.is_empty() {
        elements(value, &mut |element, second| {
            if matches(element) {
                count += 1 + usize::from(second.is_some());
            }
        });
    }
    let reply = &mut context.reply;
    reply.array_header(2);
    reply.bulk(b"0");
    reply.array_header(count);
    if !value.is_empty() {
        elements(value, &mut |element, second| {
            if matches(element) {
                reply.bulk(element);
                if let Some(second) = second {
                    reply.bulk(second);
                }
            }
        });
    }
}

/// A large collection's scan cursor and options (HSCAN, SSCAN, ZSCAN: arguments 2 on),
/// or `None` once the error is replied.
pub(super) fn scan_large_arguments<'c, D: Door>(
    context: &mut Context<'c, '_, D>,
) -> Option<(u64, ScanOptions<'c>)> {
    let Some(cursor) = parse_cursor(context.arg(2)) else {
        context.error("ERR invalid cursor");
        return None;
    };
    let options = scan_options(context, 3, false)?;
    Some((cursor, options))
}

/// Calls its second argument with each element of a large collection's part (by number)
/// and the element's second reply, if any (see [`scan_parts`]).
pub(super) type PartElements<'e> = dyn Fn(u32, &mut dyn FnMut(&[u8], Option<&[u8]>)) + 'e;

/// A large collection's scan (HSCAN, SSCAN, ZSCAN): whole parts from the cursor's until
/// COUNT elements were looked at, and the next part's ordinal as the cursor (parts never
/// merge and a split moves elements only to a later part, so every element present for
/// the whole scan is returned). `each(part, visit)` calls `visit` with each element of
/// part `part` and its second reply (a field's value, a member's score), if any.
pub(super) fn scan_parts<S: crate::codec::resp::ReplySink + ?Sized>(
    reply: &mut crate::codec::resp::ReplyWriter<'_, S>,
    cursor: u64,
    options: &ScanOptions<'_>,
    part_count: u32,
    each: &PartElements<'_>,
) {
    let first = u32::try_from(cursor).unwrap_or(u32::MAX);
    let mut end = first;
    let mut seen = 0usize;
    while end < part_count && seen < options.count.max(1) {
        each(end, &mut |_, _| seen += 1);
        end += 1;
    }
    let next = if end >= part_count { 0 } else { u64::from(end) };
    let matches = |element: &[u8]| {
        options
            .pattern
            .is_none_or(|pattern| glob_match(pattern, element))
    };
    let mut count = 0usize;
    for part in first..end {
        each(part, &mut |element, second| {
            if matches(element) {
                count += 1 + usize::from(second.is_some());
            }
        });
    }
    let mut digits = [0u8; crate::text::U64_DIGITS_MAX];
    reply.array_header(2);
    reply.bulk(crate::text::format_u64(next, &mut digits));
    reply.array_header(count);
    for part in first..end {
        each(part, &mut |element, second| {
            if matches(element) {
                reply.bulk(element);
                if let Some(second) = second {
                    reply.bulk(second);
                }
            }
        });
    }
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
mod tests;
