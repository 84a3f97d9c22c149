//! The string family: GET and SET with all of SET's options, SETNX, SETEX, PSETEX, GETSET,
//! MGET, MSET, MSETNX, the counters (INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT), APPEND,
//! STRLEN, GETRANGE (and its old name SUBSTR), SETRANGE, GETDEL and GETEX.
//!
//! Options are parsed with Redis's rules before the store is touched: SET's and GETEX's
//! options may come in any order, the same option may repeat (the last value wins), and
//! options that exclude each other (`NX` and `XX`, two expiry units, `KEEPTTL` with an
//! expiry) are a syntax error. Expire times are checked as Redis checks them: not an
//! integer, then not positive or overflowing.

use super::{Arguments, Context, Door, arity_error, bulk_or_null, is};
use crate::error::StoreError;
use crate::store::ValueType;
use crate::store::{GetExpiry, SetCondition, SetExpiry, SetOptions, shards};
use crate::time::Timestamp;

/// The commands of this family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Command {
    Append,
    Decr,
    DecrBy,
    Get,
    GetDel,
    GetEx,
    GetRange,
    GetSet,
    Incr,
    IncrBy,
    IncrByFloat,
    MGet,
    MSet,
    MSetNx,
    PSetEx,
    Set,
    SetEx,
    SetNx,
    SetRange,
    StrLen,
}

/// Runs one command of the family; its arity was checked.
pub(super) fn run<D: Door>(command: Command, context: &mut Context<'_, '_, D>) {
    match command {
        Command::Get => {
            let key = context.arg(1);
            let value =
                context
                    .shards
                    .store_for(key)
                    .get_string(context.session.db, key, context.now);
            match value {
                Ok(value) => bulk_or_null(&mut context.reply, value),
                Err(error) => context.store_error(error),
            }
        }
        Command::Set => set(context),
        Command::SetNx => set_plain(context, SetCondition::IfAbsent, SetExpiry::Persist, 2),
        Command::SetEx => set_expiring(context, Unit::Seconds),
        Command::PSetEx => set_expiring(context, Unit::Milliseconds),
        Command::GetSet => set_plain(context, SetCondition::Always, SetExpiry::Persist, 2),
        Command::MGet => mget(context),
        Command::MSet => mset(context, false),
        Command::MSetNx => mset(context, true),
        Command::Incr => incr_by(context, 1),
        Command::Decr => incr_by(context, -1),
        Command::IncrBy => {
            if let Some(delta) = context.integer(2) {
                incr_by(context, delta);
            }
        }
        Command::DecrBy => match context.integer(2) {
            Some(i64::MIN) => context.error("ERR decrement would overflow"),
            Some(delta) => incr_by(context, -delta),
            None => {}
        },
        Command::IncrByFloat => incr_by_float(context),
        Command::Append => {
            let key = context.arg(1);
            let value = context.arg(2);
            let result = context.shards.store_for(key).append(
                context.session.db,
                key,
                value,
                context.now,
                context.log,
            );
            match result {
                Ok(size) => context.integer_reply(size),
                Err(error) => context.store_error(error),
            }
        }
        Command::StrLen => {
            let key = context.arg(1);
            if holds_other_type(context, key) {
                return;
            }
            let size = context
                .shards
                .store_for(key)
                .strlen(context.session.db, key, context.now);
            context.integer_reply(size);
        }
        Command::GetRange => {
            let Some(start) = context.integer(2) else {
                return;
            };
            let Some(end) = context.integer(3) else {
                return;
            };
            let key = context.arg(1);
            if holds_other_type(context, key) {
                return;
            }
            let value = context.shards.store_for(key).getrange(
                context.session.db,
                key,
                start,
                end,
                context.now,
            );
            context.reply.bulk(value);
        }
        Command::SetRange => set_range(context),
        Command::GetDel => {
            let key = context.arg(1);
            if holds_other_type(context, key) {
                return;
            }
            let value = context.shards.store_for(key).getdel(
                context.session.db,
                key,
                context.now,
                context.log,
            );
            bulk_or_null(&mut context.reply, value);
        }
        Command::GetEx => get_ex(context),
    }
}

/// Whether `key` holds a value of another type than a string; if so, replies WRONGTYPE
/// (before anything changes, as Redis checks).
fn holds_other_type<D: Door>(context: &mut Context<'_, '_, D>, key: &[u8]) -> bool {
    let value_type = context
        .shards
        .store_for(key)
        .value_type(context.session.db, key, context.now);
    let other = value_type.is_some_and(|value_type| value_type != ValueType::String);
    if other {
        context.store_error(StoreError::WrongType);
    }
    other
}

/// The unit of an expire argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Seconds,
    Milliseconds,
}

/// An expiry option of SET or GETEX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExpiryOption {
    /// `EX seconds`: relative.
    Ex,
    /// `PX milliseconds`: relative.
    Px,
    /// `EXAT unix-seconds`: absolute.
    ExAt,
    /// `PXAT unix-milliseconds`: absolute.
    PxAt,
}

impl ExpiryOption {
    fn parse(option: &[u8]) -> Option<Self> {
        [
            ("ex", Self::Ex),
            ("px", Self::Px),
            ("exat", Self::ExAt),
            ("pxat", Self::PxAt),
        ]
        .into_iter()
        .find(|(name, _)| is(option, name))
        .map(|(_, kind)| kind)
    }

    fn unit(self) -> Unit {
        match self {
            Self::Ex | Self::ExAt => Unit::Seconds,
            Self::Px | Self::PxAt => Unit::Milliseconds,
        }
    }

    fn relative(self) -> bool {
        matches!(self, Self::Ex | Self::Px)
    }
}

/// The options of SET (`NX XX GET KEEPTTL` and an expiry) or GETEX (`PERSIST` and an
/// expiry), as parsed.
#[derive(Debug, Clone, Copy, Default)]
struct Options {
    if_absent: bool,
    if_present: bool,
    get: bool,
    keep_ttl: bool,
    persist: bool,
    /// The expiry option and the index of its value.
    expiry: Option<(ExpiryOption, usize)>,
}

/// Parses the options from argument `start` on, with Redis's rules for SET (`for_set`) or
/// GETEX; a syntax error is replied and gives `None`.
fn parse_options<D: Door>(
    context: &mut Context<'_, '_, D>,
    start: usize,
    for_set: bool,
) -> Option<Options> {
    let mut options = Options::default();
    let mut index = start;
    while index < context.count() {
        let option = context.arg(index);
        let has_value = index + 1 < context.count();
        let expiry_kind = options.expiry.map(|(kind, _)| kind);
        if for_set && is(option, "nx") && !options.if_present {
            options.if_absent = true;
        } else if for_set && is(option, "xx") && !options.if_absent {
            options.if_present = true;
        } else if for_set && is(option, "get") {
            options.get = true;
        } else if for_set && is(option, "keepttl") && expiry_kind.is_none() {
            options.keep_ttl = true;
        } else if !for_set && is(option, "persist") && expiry_kind.is_none() {
            options.persist = true;
        } else if let Some(kind) = ExpiryOption::parse(option)
            && !options.keep_ttl
            && !options.persist
            && expiry_kind.is_none_or(|current| current == kind)
            && has_value
        {
            // Repeating the same unit is allowed, as in Redis: the last value wins.
            options.expiry = Some((kind, index + 1));
            index += 1;
        } else {
            context.syntax_error();
            return None;
        }
        index += 1;
    }
    Some(options)
}

/// The absolute expiry an expire argument gives (Redis's `getExpireMillisecondsOrReply`):
/// an integer, positive, not overflowing once in milliseconds and (for a relative time)
/// added to `now`. Replies with the error and gives `None` otherwise.
fn expire_argument<D: Door>(
    context: &mut Context<'_, '_, D>,
    index: usize,
    unit: Unit,
    relative: bool,
) -> Option<Timestamp> {
    let value = context.integer(index)?;
    let milliseconds = match unit {
        Unit::Seconds => value.checked_mul(1000),
        Unit::Milliseconds => Some(value),
    };
    let base = if relative {
        i64::try_from(context.now).unwrap_or(i64::MAX)
    } else {
        0
    };
    let at = milliseconds
        .filter(|_| value > 0)
        .and_then(|milliseconds| milliseconds.checked_add(base))
        .and_then(|at| Timestamp::try_from(at).ok());
    if at.is_none() {
        context.expire_time_error();
    }
    at
}

/// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL].
fn set<D: Door>(context: &mut Context<'_, '_, D>) {
    let Some(options) = parse_options(context, 3, true) else {
        return;
    };
    let expiry = match options.expiry {
        Some((kind, index)) => {
            match expire_argument(context, index, kind.unit(), kind.relative()) {
                Some(at) => SetExpiry::At(at),
                None => return,
            }
        }
        None if options.keep_ttl => SetExpiry::Keep,
        None => SetExpiry::Persist,
    };
    let condition = if options.if_absent {
        SetCondition::IfAbsent
    } else if options.if_present {
        SetCondition::IfPresent
    } else {
        SetCondition::Always
    };
    let set_options = SetOptions { condition, expiry };
    let (key, value) = (context.arg(1), context.arg(2));
    if options.get && holds_other_type(context, key) {
        return;
    }
    match context.shards.store_for(key).set(
        context.session.db,
        key,
        value,
        set_options,
        context.now,
        context.log,
    ) {
        Err(error) => context.store_error(error),
        Ok(outcome) if options.get => match outcome.previous {
            Some(previous) => context.reply.bulk(previous),
            None => context.reply.null(),
        },
        Ok(outcome) if outcome.written => context.reply.simple(b"OK"),
        Ok(_) => context.reply.null(),
    }
}

/// SETNX (`:1`/`:0`) and GETSET (the previous value): a SET with fixed options, the value
/// at `value_index`.
fn set_plain<D: Door>(
    context: &mut Context<'_, '_, D>,
    condition: SetCondition,
    expiry: SetExpiry,
    value_index: usize,
) {
    let options = SetOptions { condition, expiry };
    let (key, value) = (context.arg(1), context.arg(value_index));
    if condition == SetCondition::Always && holds_other_type(context, key) {
        // GETSET returns the previous value, so a hash there is the wrong type.
        return;
    }
    match context.shards.store_for(key).set(
        context.session.db,
        key,
        value,
        options,
        context.now,
        context.log,
    ) {
        Err(error) => context.store_error(error),
        Ok(outcome) if condition == SetCondition::IfAbsent => {
            context.reply.integer(i64::from(outcome.written));
        }
        Ok(outcome) => match outcome.previous {
            Some(previous) => context.reply.bulk(previous),
            None => context.reply.null(),
        },
    }
}

/// SETEX key seconds value, PSETEX key milliseconds value.
fn set_expiring<D: Door>(context: &mut Context<'_, '_, D>, unit: Unit) {
    let Some(at) = expire_argument(context, 2, unit, true) else {
        return;
    };
    let options = SetOptions {
        condition: SetCondition::Always,
        expiry: SetExpiry::At(at),
    };
    let (key, value) = (context.arg(1), context.arg(3));
    match context.shards.store_for(key).set(
        context.session.db,
        key,
        value,
        options,
        context.now,
        context.log,
    ) {
        Ok(_) => context.ok(),
        Err(error) => context.store_error(error),
    }
}

/// MGET key [key ...]: an array with a value or a null per key.
fn mget<D: Door>(context: &mut Context<'_, '_, D>) {
    context.reply.array_header(context.count() - 1);
    for index in 1..context.count() {
        let key = context.arg(index);
        let value = context
            .shards
            .store_for(key)
            .get(context.session.db, key, context.now);
        bulk_or_null(&mut context.reply, value);
    }
}

/// MSET and MSETNX: every pair in one store call, so the write is all or nothing. The
/// store walks the pairs straight from the request's arguments: no copy, no pair limit.
fn mset<D: Door>(context: &mut Context<'_, '_, D>, only_if_none_exist: bool) {
    if context.count().is_multiple_of(2) {
        arity_error(&mut context.reply, context.spec.name(), "");
        return;
    }
    let pair_count = (context.count() - 1) / 2;
    let args: &D::Args = context.args;
    let argument = |index: usize| args.get(index).unwrap_or_default();
    let pairs = (0..pair_count).map(|pair| (argument(1 + 2 * pair), argument(2 + 2 * pair)));
    let db = context.session.db;
    match shards::set_many(
        context.shards,
        db,
        pairs,
        only_if_none_exist,
        context.now,
        context.log,
    ) {
        Ok(written) if only_if_none_exist => context.reply.integer(i64::from(written)),
        Ok(_) => context.ok(),
        Err(error) => context.store_error(error),
    }
}

/// INCR, DECR, INCRBY, DECRBY.
fn incr_by<D: Door>(context: &mut Context<'_, '_, D>, delta: i64) {
    let key = context.arg(1);
    match context.shards.store_for(key).incr_by(
        context.session.db,
        key,
        delta,
        context.now,
        context.log,
    ) {
        Ok(value) => context.reply.integer(value),
        Err(error) => context.store_error(error),
    }
}

/// INCRBYFLOAT key increment: the new value as a bulk string.
fn incr_by_float<D: Door>(context: &mut Context<'_, '_, D>) {
    let Some(delta) = parse_float(context.arg(2)) else {
        // Redis checks the key's type before it reads the increment.
        if !holds_other_type(context, context.arg(1)) {
            context.error("ERR value is not a valid float");
        }
        return;
    };
    let key = context.arg(1);
    match context.shards.store_for(key).incr_by_float(
        context.session.db,
        key,
        delta,
        context.now,
        context.log,
    ) {
        Ok(text) => context.reply.bulk(text),
        Err(error) => context.store_error(error),
    }
}

/// SETRANGE key offset value: the new length.
fn set_range<D: Door>(context: &mut Context<'_, '_, D>) {
    let Some(offset) = context.integer(2) else {
        return;
    };
    if offset < 0 {
        context.error("ERR offset is out of range");
        return;
    }
    // An offset beyond usize (a 32-bit host) is beyond any value size limit too.
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    let key = context.arg(1);
    let value = context.arg(3);
    let result = context.shards.store_for(key).setrange(
        context.session.db,
        key,
        offset,
        value,
        context.now,
        context.log,
    );
    match result {
        Ok(size) => context.integer_reply(size),
        Err(error) => context.store_error(error),
    }
}

/// GETEX key [EX s|PX ms|EXAT t|PXAT t|PERSIST].
fn get_ex<D: Door>(context: &mut Context<'_, '_, D>) {
    let Some(options) = parse_options(context, 2, false) else {
        return;
    };
    let expiry = match options.expiry {
        Some((kind, index)) => {
            match expire_argument(context, index, kind.unit(), kind.relative()) {
                Some(at) => GetExpiry::At(at),
                None => return,
            }
        }
        None if options.persist => GetExpiry::Persist,
        None => GetExpiry::Keep,
    };
    let (db, key) = (context.session.db, context.arg(1));
    match context
        .shards
        .store_for(key)
        .getex(db, key, expiry, context.now, context.log)
    {
        Ok(Some(value)) => context.reply.bulk(value),
        Ok(None) => context.reply.null(),
        Err(error) => context.store_error(error),
    }
}

// The increment's rule lives in crate::text; this name stays until the caller switches.
use crate::text::parse_double_or_infinity as parse_float;

#[cfg(test)]
mod tests {
    use super::super::harness::{Harness, NOW, differ, same};
    use super::*;
    use crate::codec::resp::Protocol;
    use crate::store::Config;
    use std::string::String;
    use std::vec::Vec;

    #[test]
    fn get_and_set() {
        Harness::check(&[
            differ("GET k", "$-1\r\n", "_\r\n"),
            same("SET k v", "+OK\r\n"),
            same("GET k", "$1\r\nv\r\n"),
            same("set k value2", "+OK\r\n"),
            same("get k", "$6\r\nvalue2\r\n"),
            same("SET \"\" \"\"", "+OK\r\n"),
            same("GET \"\"", "$0\r\n\r\n"),
        ]);
    }

    #[test]
    fn set_conditions_and_get() {
        Harness::check(&[
            differ("SET k v XX", "$-1\r\n", "_\r\n"),
            differ("GET k", "$-1\r\n", "_\r\n"),
            same("SET k v NX", "+OK\r\n"),
            differ("SET k w NX", "$-1\r\n", "_\r\n"),
            same("SET k w XX", "+OK\r\n"),
            same("SET k x GET", "$1\r\nw\r\n"),
            differ("SET fresh x GET", "$-1\r\n", "_\r\n"),
            same("GET fresh", "$1\r\nx\r\n"),
            // NX with GET (Redis 7): the old value, and no write.
            same("SET k y NX GET", "$1\r\nx\r\n"),
            same("GET k", "$1\r\nx\r\n"),
            differ("SET other y NX GET", "$-1\r\n", "_\r\n"),
            same("GET other", "$1\r\ny\r\n"),
            differ("SET missing y XX GET", "$-1\r\n", "_\r\n"),
            differ("GET missing", "$-1\r\n", "_\r\n"),
            same("set k z xx get nx", "-ERR syntax error\r\n"),
            same("GET k", "$1\r\nx\r\n"),
        ]);
    }

    #[test]
    fn set_expiry_options() {
        Harness::check(&[
            same("SET a v EX 10", "+OK\r\n"),
            same("PTTL a", ":10000\r\n"),
            same("SET a v PX 1500", "+OK\r\n"),
            same("PTTL a", ":1500\r\n"),
            same("TTL a", ":2\r\n"),
            same("SET a v EXAT 1700000100", "+OK\r\n"),
            same("PTTL a", ":100000\r\n"),
            same("SET a v PXAT 1700000000500", "+OK\r\n"),
            same("PTTL a", ":500\r\n"),
            same("SET a w KEEPTTL", "+OK\r\n"),
            same("PTTL a", ":500\r\n"),
            same("SET a w", "+OK\r\n"),
            same("PTTL a", ":-1\r\n"),
            // Options in any order; the same unit twice: the last wins.
            same("SET a v GET PX 100 XX", "$1\r\nw\r\n"),
            same("SET a v PX 100 PX 200", "+OK\r\n"),
            same("PTTL a", ":200\r\n"),
            same("@+199", ""),
            same("GET a", "$1\r\nv\r\n"),
            same("@+1", ""),
            differ("GET a", "$-1\r\n", "_\r\n"),
            // An absolute time in the past deletes the key.
            same("SET b v", "+OK\r\n"),
            same("SET b v PXAT 1", "+OK\r\n"),
            same("EXISTS b", ":0\r\n"),
        ]);
    }

    #[test]
    fn set_option_errors_change_nothing() {
        Harness::check(&[
            same("SET k old", "+OK\r\n"),
            same("SET k v NX XX", "-ERR syntax error\r\n"),
            same("SET k v XX NX", "-ERR syntax error\r\n"),
            same("SET k v EX 10 PX 100", "-ERR syntax error\r\n"),
            same("SET k v EX 10 KEEPTTL", "-ERR syntax error\r\n"),
            same("SET k v KEEPTTL EXAT 10", "-ERR syntax error\r\n"),
            same("SET k v PERSIST", "-ERR syntax error\r\n"),
            same("SET k v EX", "-ERR syntax error\r\n"),
            same("SET k v FOO", "-ERR syntax error\r\n"),
            same("SET k v EX 10 FOO", "-ERR syntax error\r\n"),
            // A syntax error comes before a bad number, as in Redis.
            same("SET k v EX abc NX XX", "-ERR syntax error\r\n"),
            same(
                "SET k v EX abc",
                "-ERR value is not an integer or out of range\r\n",
            ),
            same(
                "SET k v PX 1.5",
                "-ERR value is not an integer or out of range\r\n",
            ),
            same(
                "SET k v EX 0",
                "-ERR invalid expire time in 'set' command\r\n",
            ),
            same(
                "SET k v PX -5",
                "-ERR invalid expire time in 'set' command\r\n",
            ),
            same(
                "SET k v EXAT 0",
                "-ERR invalid expire time in 'set' command\r\n",
            ),
            same(
                "SET k v EX 9223372036854775",
                "-ERR invalid expire time in 'set' command\r\n",
            ),
            same(
                "SET k v EX 9223372036854776",
                "-ERR invalid expire time in 'set' command\r\n",
            ),
            same(
                "SET k v PX 9223372036854775807",
                "-ERR invalid expire time in 'set' command\r\n",
            ),
            same("GET k", "$3\r\nold\r\n"),
            same("TTL k", ":-1\r\n"),
        ]);
    }

    #[test]
    fn setnx_setex_psetex_getset() {
        Harness::check(&[
            same("SETNX k v", ":1\r\n"),
            same("SETNX k w", ":0\r\n"),
            same("GET k", "$1\r\nv\r\n"),
            same("SETEX k 10 w", "+OK\r\n"),
            same("TTL k", ":10\r\n"),
            same("PSETEX k 2500 x", "+OK\r\n"),
            same("PTTL k", ":2500\r\n"),
            same("GETSET k y", "$1\r\nx\r\n"),
            same("TTL k", ":-1\r\n"),
            differ("GETSET new z", "$-1\r\n", "_\r\n"),
            same("GET new", "$1\r\nz\r\n"),
            same(
                "SETEX k 0 w",
                "-ERR invalid expire time in 'setex' command\r\n",
            ),
            same(
                "PSETEX k -1 w",
                "-ERR invalid expire time in 'psetex' command\r\n",
            ),
            same(
                "SETEX k ten w",
                "-ERR value is not an integer or out of range\r\n",
            ),
            same("GET k", "$1\r\ny\r\n"),
        ]);
    }

    #[test]
    fn mget_and_mset() {
        Harness::check(&[
            same("MSET a 1 b 2", "+OK\r\n"),
            differ(
                "MGET a missing b",
                "*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n",
                "*3\r\n$1\r\n1\r\n_\r\n$1\r\n2\r\n",
            ),
            same("MSETNX c 3 a 9", ":0\r\n"),
            differ("GET c", "$-1\r\n", "_\r\n"),
            same("MSETNX c 3 d 4", ":1\r\n"),
            same("MGET c d", "*2\r\n$1\r\n3\r\n$1\r\n4\r\n"),
            same(
                "MSET a",
                "-ERR wrong number of arguments for 'mset' command\r\n",
            ),
            same(
                "MSET a 1 b",
                "-ERR wrong number of arguments for 'mset' command\r\n",
            ),
            same(
                "MSETNX a 1 b",
                "-ERR wrong number of arguments for 'msetnx' command\r\n",
            ),
            same("MSET k 1 k 2", "+OK\r\n"),
            same("GET k", "$1\r\n2\r\n"),
        ]);
    }

    /// MSET goes to the store as one call: its records arrive together, and a pair that
    /// does not fit fails the whole write.
    #[test]
    fn mset_is_one_atomic_store_call() {
        let mut harness = Harness::new(Protocol::Resp2);
        assert_eq!(harness.run("MSET a 1 b 2"), b"+OK\r\n");
        assert_eq!(harness.log.0, ["set 0 a 1 0", "set 0 b 2 0"]);
        let big = vec![b'v'; harness.store.config().value_size_max as usize + 1];
        let args: [&[u8]; 5] = [b"MSET", b"a", b"changed", b"c", &big];
        let reply = harness.run_args(&args);
        assert!(reply.starts_with(b"-ERR value exceeds the maximum size of an item"));
        assert_eq!(harness.run("GET a"), b"$1\r\n1\r\n");
        assert_eq!(harness.run("EXISTS c"), b":0\r\n");
    }

    #[test]
    fn mset_takes_many_pairs() {
        let mut harness = Harness::new(Protocol::Resp2);
        let words: Vec<String> = (0..2_000).map(|n| n.to_string()).collect();
        let mut args: Vec<&[u8]> = vec![b"MSET"];
        args.extend(words.iter().map(String::as_bytes));
        assert_eq!(harness.run_args(&args), b"+OK\r\n");
        assert_eq!(harness.run("GET 1998"), b"$4\r\n1999\r\n");
        args[0] = b"msetnx";
        assert_eq!(harness.run_args(&args), b":0\r\n");
    }

    #[test]
    fn counters() {
        Harness::check(&[
            same("INCR n", ":1\r\n"),
            same("INCRBY n 41", ":42\r\n"),
            same("DECR n", ":41\r\n"),
            same("DECRBY n -9", ":50\r\n"),
            same("DECRBY n 100", ":-50\r\n"),
            same("GET n", "$3\r\n-50\r\n"),
            same(
                "INCRBY n x",
                "-ERR value is not an integer or out of range\r\n",
            ),
            same(
                "INCRBY n 1.0",
                "-ERR value is not an integer or out of range\r\n",
            ),
            same(
                "DECRBY n -9223372036854775808",
                "-ERR decrement would overflow\r\n",
            ),
            same("SET n 9223372036854775807", "+OK\r\n"),
            same("INCR n", "-ERR increment or decrement would overflow\r\n"),
            same("SET s abc", "+OK\r\n"),
            same("INCR s", "-ERR value is not an integer or out of range\r\n"),
            same("SET s \"\"", "+OK\r\n"),
            same("DECR s", "-ERR value is not an integer or out of range\r\n"),
            same("SET n 9223372036854775807", "+OK\r\n"),
            same("GET n", "$19\r\n9223372036854775807\r\n"),
        ]);
    }

    #[test]
    fn counters_keep_the_expiry() {
        Harness::check(&[
            same("SET n 1 EX 100", "+OK\r\n"),
            same("INCR n", ":2\r\n"),
            same("TTL n", ":100\r\n"),
        ]);
    }

    #[test]
    fn incrbyfloat() {
        Harness::check(&[
            same("INCRBYFLOAT f 10.5", "$4\r\n10.5\r\n"),
            same("INCRBYFLOAT f 0.1", "$4\r\n10.6\r\n"),
            same("INCRBYFLOAT f -5.0e3", "$7\r\n-4989.4\r\n"),
            same("SET f 3", "+OK\r\n"),
            same("INCRBYFLOAT f 2", "$1\r\n5\r\n"),
            same("INCRBYFLOAT f abc", "-ERR value is not a valid float\r\n"),
            same("INCRBYFLOAT f nan", "-ERR value is not a valid float\r\n"),
            same("INCRBYFLOAT f \"\"", "-ERR value is not a valid float\r\n"),
            same(
                "INCRBYFLOAT f inf",
                "-ERR increment would produce NaN or Infinity\r\n",
            ),
            same("SET s abc", "+OK\r\n"),
            same("INCRBYFLOAT s 1", "-ERR value is not a valid float\r\n"),
            same("GET f", "$1\r\n5\r\n"),
        ]);
    }

    #[test]
    fn append_strlen_getrange_setrange() {
        Harness::check(&[
            same("APPEND k Hello", ":5\r\n"),
            same("APPEND k \"\"", ":5\r\n"),
            same("APPEND k World", ":10\r\n"),
            same("STRLEN k", ":10\r\n"),
            same("STRLEN missing", ":0\r\n"),
            same("GETRANGE k 0 4", "$5\r\nHello\r\n"),
            same("GETRANGE k -5 -1", "$5\r\nWorld\r\n"),
            same("SUBSTR k 0 -1", "$10\r\nHelloWorld\r\n"),
            same("GETRANGE k 5 2", "$0\r\n\r\n"),
            same("GETRANGE missing 0 -1", "$0\r\n\r\n"),
            same(
                "GETRANGE k a 1",
                "-ERR value is not an integer or out of range\r\n",
            ),
            same(
                "GETRANGE k 0 b",
                "-ERR value is not an integer or out of range\r\n",
            ),
            same("SETRANGE k 5 _", ":10\r\n"),
            same("GET k", "$10\r\nHello_orld\r\n"),
            same("SETRANGE pad 3 x", ":4\r\n"),
            same("GET pad", "$4\r\n\0\0\0x\r\n"),
            same("SETRANGE none 3 \"\"", ":0\r\n"),
            same("EXISTS none", ":0\r\n"),
            same("SETRANGE k -1 x", "-ERR offset is out of range\r\n"),
            same(
                "SETRANGE k x x",
                "-ERR value is not an integer or out of range\r\n",
            ),
            same(
                "SETRANGE k 9223372036854775807 x",
                "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n",
            ),
            same("GET k", "$10\r\nHello_orld\r\n"),
        ]);
    }

    #[test]
    fn getdel_and_getex() {
        Harness::check(&[
            same("SET k v", "+OK\r\n"),
            same("GETDEL k", "$1\r\nv\r\n"),
            differ("GETDEL k", "$-1\r\n", "_\r\n"),
            same("SET k v", "+OK\r\n"),
            same("GETEX k", "$1\r\nv\r\n"),
            same("GETEX k EX 10", "$1\r\nv\r\n"),
            same("TTL k", ":10\r\n"),
            same("GETEX k PX 500", "$1\r\nv\r\n"),
            same("PTTL k", ":500\r\n"),
            same("GETEX k EXAT 1700000200", "$1\r\nv\r\n"),
            same("TTL k", ":200\r\n"),
            same("GETEX k PXAT 1700000000750", "$1\r\nv\r\n"),
            same("PTTL k", ":750\r\n"),
            same("GETEX k PERSIST", "$1\r\nv\r\n"),
            same("TTL k", ":-1\r\n"),
            differ("GETEX missing EX 10", "$-1\r\n", "_\r\n"),
            same("GETEX k EX 10 PERSIST", "-ERR syntax error\r\n"),
            same("GETEX k PERSIST PX 10", "-ERR syntax error\r\n"),
            same("GETEX k NX", "-ERR syntax error\r\n"),
            same("GETEX k KEEPTTL", "-ERR syntax error\r\n"),
            same("GETEX k GET", "-ERR syntax error\r\n"),
            same("GETEX k EX", "-ERR syntax error\r\n"),
            same(
                "GETEX k EX 0",
                "-ERR invalid expire time in 'getex' command\r\n",
            ),
            same(
                "GETEX k EX z",
                "-ERR value is not an integer or out of range\r\n",
            ),
            same("TTL k", ":-1\r\n"),
            // A time in the past deletes the key after reading it.
            same("GETEX k PXAT 1", "$1\r\nv\r\n"),
            same("EXISTS k", ":0\r\n"),
        ]);
    }

    #[test]
    fn binary_keys_and_values() {
        for protocol in [Protocol::Resp2, Protocol::Resp3] {
            let mut harness = Harness::new(protocol);
            let key: &[u8] = b"k\r\n\0\xff";
            let value: &[u8] = b"\0\r\n$-1\r\n\xfe";
            assert_eq!(harness.run_args(&[b"SET", key, value]), b"+OK\r\n");
            assert_eq!(
                harness.run_args(&[b"GET", key]),
                b"$9\r\n\0\r\n$-1\r\n\xfe\r\n"
            );
            assert_eq!(harness.run_args(&[b"STRLEN", key]), b":9\r\n");
            assert_eq!(harness.run_args(&[b"APPEND", key, b"\0"]), b":10\r\n");
        }
    }

    #[test]
    fn store_errors_are_replied() {
        let mut config = Config::new(64 * 1024, 100);
        config.key_size_max = 8;
        config.value_size_max = 16;
        let mut harness = Harness::with_config(config, Protocol::Resp2);
        assert_eq!(
            harness.run("SET keykeykey v"),
            b"-ERR key is larger than key-size-max\r\n"
        );
        assert_eq!(
            harness.run("SET k 12345678901234567"),
            b"-ERR value exceeds the maximum size of an item (value-size-max: an item must fit \
              one segment)\r\n"
        );
        assert_eq!(harness.run("SET k 1234567890123456"), b"+OK\r\n");
        assert_eq!(
            harness.run("APPEND k x"),
            b"-ERR value exceeds the maximum size of an item (value-size-max: an item must fit \
              one segment)\r\n"
        );
        assert!(harness.log.0.len() == 1);
    }

    #[test]
    fn writes_log_absolute_times() {
        let mut harness = Harness::new(Protocol::Resp2);
        assert_eq!(harness.run("SET k v EX 10"), b"+OK\r\n");
        assert_eq!(harness.run("INCR n"), b":1\r\n");
        assert_eq!(harness.run("GETDEL k"), b"$1\r\nv\r\n");
        let expires_at = NOW + 10_000;
        assert_eq!(
            harness.log.0,
            [
                format!("set 0 k v {expires_at}"),
                "set 0 n 1 0".into(),
                "del 0 k".into()
            ]
        );
    }

    /// GETEX PERSIST on a key without an expiry is a plain read: no rewrite, no record.
    #[test]
    fn getex_persist_without_expiry_logs_nothing() {
        let mut harness = Harness::new(Protocol::Resp2);
        assert_eq!(harness.run("SET k v"), b"+OK\r\n");
        assert_eq!(harness.run("GETEX k PERSIST"), b"$1\r\nv\r\n");
        assert_eq!(harness.log.0, ["set 0 k v 0"]);
        assert_eq!(harness.run("GETEX k EX 5"), b"$1\r\nv\r\n");
        assert_eq!(harness.run("GETEX k PERSIST"), b"$1\r\nv\r\n");
        assert_eq!(harness.log.0.len(), 3);
        assert_eq!(harness.run("TTL k"), b":-1\r\n");
        assert_eq!(harness.run("GETEX missing PERSIST"), b"$-1\r\n");
    }

    #[test]
    fn floats_parse_like_redis() {
        assert_eq!(parse_float(b"10.5"), Some(10.5));
        assert_eq!(parse_float(b"-.5"), Some(-0.5));
        assert_eq!(parse_float(b"5e3"), Some(5000.0));
        assert_eq!(parse_float(b"inf"), Some(f64::INFINITY));
        for bad in [&b""[..], b"nan", b" 1", b"1 ", b"1.0.0", b"abc", b"\xff"] {
            assert_eq!(parse_float(bad), None);
        }
    }
}
