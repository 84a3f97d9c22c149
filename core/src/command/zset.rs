//! The sorted set family over the compact encoding of `store/zset.rs`: ZADD, ZINCRBY,
//! ZREM, ZSCORE, ZMSCORE, ZCARD, ZCOUNT, ZLEXCOUNT, ZRANK, ZREVRANK, ZPOPMIN, ZPOPMAX,
//! ZREMRANGEBYRANK/SCORE/LEX, ZRANDMEMBER and ZSCAN here; the range reads (ZRANGE and its
//! older forms, ZRANGESTORE) in [`range`]; the multi-key forms (ZUNION, ZINTER, ZDIFF, their
//! STORE forms, ZINTERCARD) in [`combine`].
//!
//! Arguments are checked in Redis 7.0's order (options and numbers before the key's type),
//! and a key of another type gets `WRONGTYPE` before anything changes. Replies follow
//! Redis 7.0: scores are doubles (RESP2 bulk strings, RESP3 `,`) formatted as `%.17g`;
//! RESP3 gives score pairs as two-element arrays. ZMPOP and the blocking pops (BZPOPMIN,
//! BZPOPMAX, BZMPOP) are in [`blocking`]. ZRANK/ZREVRANK take no WITHSCORE: that is Redis 7.2, and 7.0's arity refuses it.

pub(super) mod blocking;
mod combine;
mod range;

use super::{Arguments, Context, Door, NOT_INTEGER, Outcome, is};
use crate::codec::resp::{Protocol, ReplySink, ReplyWriter};
use crate::error::StoreError;
use crate::store::ValueType;
use crate::store::zset::{AddOptions, LexBound, LexRange, ScoreRange, ZsetRead, ZsetView};
use crate::text::{DOUBLE_SIZE_MAX, format_double_17g};

/// The commands of this family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Command {
    Add,
    Card,
    Count,
    Diff,
    DiffStore,
    IncrBy,
    Inter,
    InterCard,
    InterStore,
    LexCount,
    MScore,
    /// ZMPOP, BZPOPMIN, BZPOPMAX, BZMPOP.
    MultiPop(blocking::Pop),
    PopMax,
    PopMin,
    RandMember,
    Range,
    RangeByLex,
    RangeByScore,
    RangeStore,
    Rank,
    Rem,
    RemRangeByLex,
    RemRangeByRank,
    RemRangeByScore,
    RevRange,
    RevRangeByLex,
    RevRangeByScore,
    RevRank,
    Scan,
    Score,
    Union,
    UnionStore,
}

/// Redis's reply to a score that does not parse.
const NOT_FLOAT: &str = "ERR value is not a valid float";
/// Redis's reply to a score range bound that does not parse.
const RANGE_NOT_FLOAT: &str = "ERR min or max is not a float";
/// Redis's reply to a lexicographic range bound that does not parse.
const RANGE_NOT_LEX: &str = "ERR min or max not valid string range item";

/// Runs one command of the family; its arity was checked.
pub(super) fn run<D: Door>(command: Command, context: &mut Context<'_, '_, D>) -> Outcome {
    if let Command::MultiPop(pop) = command {
        return blocking::run(pop, context);
    }
    run_one(command, context);
    Outcome::Done
}

/// Runs one command of the family that never blocks.
fn run_one<D: Door>(command: Command, context: &mut Context<'_, '_, D>) {
    match command {
        Command::Add => add(context, 2, false),
        Command::IncrBy => add(context, 2, true),
        Command::Rem => {
            let key = context.arg(1);
            let args: &D::Args = context.args;
            let members = (2..context.count()).map(|index| arg(args, index));
            let result = context.shards.store_for(key).zset_remove(
                context.session.db,
                key,
                members,
                context.now,
                context.log,
            );
            match result {
                Ok(removed) => context.integer_reply(removed),
                Err(error) => fail(context, error),
            }
        }
        Command::Score => read(context, |reply, args, zset| {
            double_or_null(reply, zset.and_then(|zset| zset.score(arg(args, 2))));
        }),
        Command::MScore => read(context, |reply, args, zset| {
            reply.array_header(args.count() - 2);
            for index in 2..args.count() {
                double_or_null(reply, zset.and_then(|zset| zset.score(arg(args, index))));
            }
        }),
        Command::Card => read(context, |reply, _, zset| {
            count_reply(reply, zset.map_or(0, |zset| zset.len()));
        }),
        Command::Rank | Command::RevRank => read(context, |reply, args, zset| {
            let Some(zset) = zset else {
                reply.null();
                return;
            };
            match zset.find(arg(args, 2)) {
                Some((rank, _)) if command == Command::Rank => count_reply(reply, rank),
                Some((rank, _)) => count_reply(reply, zset.len() - 1 - rank),
                None => reply.null(),
            }
        }),
        Command::Count => {
            let Some(range) = score_range(context, 2, 3) else {
                return;
            };
            read(context, |reply, _, zset| {
                count_reply(
                    reply,
                    zset.map_or(0, |zset| zset.score_window(&range).len()),
                );
            });
        }
        Command::LexCount => {
            let Some(range) = lex_range(context, 2, 3) else {
                return;
            };
            read(context, |reply, _, zset| {
                let count = zset.map_or(0, |zset| zset.lex_window(&range, false).len());
                count_reply(reply, count);
            });
        }
        Command::PopMin | Command::PopMax => pop(context, command == Command::PopMax),
        Command::RemRangeByRank | Command::RemRangeByScore | Command::RemRangeByLex => {
            remove_range(context, command);
        }
        Command::Range
        | Command::RangeByLex
        | Command::RangeByScore
        | Command::RangeStore
        | Command::RevRange
        | Command::RevRangeByLex
        | Command::RevRangeByScore => range::run(command, context),
        Command::RandMember => random_member(context),
        Command::Union
        | Command::UnionStore
        | Command::Inter
        | Command::InterStore
        | Command::InterCard
        | Command::Diff
        | Command::DiffStore => combine::run(command, context),
        Command::Scan => scan(context),
        Command::MultiPop(_) => unreachable!("run handles the pops over several keys"),
    }
}

/// The argument at `index`; empty past the end.
fn arg<A: Arguments + ?Sized>(args: &A, index: usize) -> &[u8] {
    args.get(index).unwrap_or_default()
}

/// An integer reply of a count.
fn count_reply<S: ReplySink + ?Sized>(reply: &mut ReplyWriter<'_, S>, count: usize) {
    reply.integer(i64::try_from(count).unwrap_or(i64::MAX));
}

/// A double reply, or a null for `None`.
fn double_or_null<S: ReplySink + ?Sized>(reply: &mut ReplyWriter<'_, S>, score: Option<f64>) {
    match score {
        Some(score) => reply.double(score),
        None => reply.null(),
    }
}

/// A member and its score in a reply: RESP3 a two-element array with `nested`, else two
/// elements in a flat array.
fn pair<S: ReplySink + ?Sized>(
    reply: &mut ReplyWriter<'_, S>,
    member: &[u8],
    score: f64,
    nested: bool,
) {
    if nested {
        reply.array_header(2);
    }
    reply.bulk(member);
    reply.double(score);
}

/// Replies with a store error; a sorted set too large for an item names itself.
fn fail<D: Door>(context: &mut Context<'_, '_, D>, error: StoreError) {
    match error {
        StoreError::CollectionTooLarge => context.error(
            "ERR sorted set exceeds the maximum size of an item (value-size-max: a compact \
             sorted set, one part or tree node of a large one, or a STORE result, is one \
             item)",
        ),
        error => context.store_error(error),
    }
}

/// Runs `reply` with the reply writer, the arguments and the sorted set at argument 1
/// (`None` if absent), or replies WRONGTYPE.
fn read<D: Door>(
    context: &mut Context<'_, '_, D>,
    reply: impl FnOnce(&mut ReplyWriter<'_, D::Sink>, &D::Args, Option<ZsetRead<'_>>),
) {
    let key = context.arg(1);
    let args: &D::Args = context.args;
    let (db, now) = (context.session.db, context.now);
    match context.shards.store_for(key).zset_view(db, key, now) {
        Ok(zset) => reply(&mut context.reply, args, zset),
        Err(error) => context.reply.error(error.message().as_bytes()),
    }
}

/// Whether `byte` is C's `isspace`.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Parses a score as Redis's `getDoubleFromObject` does (C's `strtod` over the whole
/// argument): decimal or exponent form, `inf`/`infinity` with a sign; not empty, no
/// blanks, not NaN, no overflow to infinity nor underflow to zero. (Hexadecimal floats,
/// which `strtod` also reads, are refused.)
#[must_use]
pub fn parse_score(bytes: &[u8]) -> Option<f64> {
    if bytes.first().is_none_or(|&byte| is_space(byte)) {
        return None;
    }
    let text = core::str::from_utf8(bytes).ok()?;
    let value: f64 = text.parse().ok()?;
    if value.is_nan() {
        return None;
    }
    let unsigned = text.trim_start_matches(['+', '-']);
    let word = unsigned.eq_ignore_ascii_case("inf") || unsigned.eq_ignore_ascii_case("infinity");
    if value.is_infinite() && !word {
        return None; // overflow: strtod's ERANGE with HUGE_VAL
    }
    let mantissa = unsigned.split(['e', 'E']).next().unwrap_or_default();
    if value == 0.0 && mantissa.bytes().any(|byte| (b'1'..=b'9').contains(&byte)) {
        return None; // underflow: strtod's ERANGE with zero
    }
    Some(value)
}

/// Parses one end of a score range as Redis's `zslParseRange` does: `(` makes it
/// exclusive, then C's `strtod` must read the rest whole (leading blanks allowed, an empty
/// rest reads as 0, overflow gives an infinity), and NaN is refused.
#[must_use]
pub fn parse_score_bound(bytes: &[u8]) -> Option<(f64, bool)> {
    let (exclusive, rest) = match bytes.split_first() {
        Some((b'(', rest)) => (true, rest),
        _ => (false, bytes),
    };
    if rest.is_empty() {
        return Some((0.0, exclusive));
    }
    let start = rest.iter().position(|&byte| !is_space(byte))?;
    let text = core::str::from_utf8(rest.get(start..)?).ok()?;
    let value: f64 = text.parse().ok()?;
    (!value.is_nan()).then_some((value, exclusive))
}

/// Parses one end of a lexicographic range (`-`, `+`, `[member`, `(member`).
#[must_use]
pub fn parse_lex_bound(bytes: &[u8]) -> Option<LexBound<'_>> {
    match bytes.split_first()? {
        (b'-', []) => Some(LexBound::Lowest),
        (b'+', []) => Some(LexBound::Highest),
        (b'[', rest) => Some(LexBound::Inclusive(rest)),
        (b'(', rest) => Some(LexBound::Exclusive(rest)),
        _ => None,
    }
}

/// The score range of arguments `min` and `max`, or an error reply and `None`.
fn score_range<D: Door>(
    context: &mut Context<'_, '_, D>,
    min: usize,
    max: usize,
) -> Option<ScoreRange> {
    let range = parse_score_bound(context.arg(min)).zip(parse_score_bound(context.arg(max)));
    let Some(((min, min_exclusive), (max, max_exclusive))) = range else {
        context.error(RANGE_NOT_FLOAT);
        return None;
    };
    Some(ScoreRange {
        min,
        min_exclusive,
        max,
        max_exclusive,
    })
}

/// The lexicographic range of arguments `min` and `max`, or an error reply and `None`.
fn lex_range<'c, D: Door>(
    context: &mut Context<'c, '_, D>,
    min: usize,
    max: usize,
) -> Option<LexRange<'c>> {
    let (min, max) = (context.arg(min), context.arg(max));
    let Some((min, max)) = parse_lex_bound(min).zip(parse_lex_bound(max)) else {
        context.error(RANGE_NOT_LEX);
        return None;
    };
    Some(LexRange { min, max })
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...], and ZINCRBY key
/// increment member (`incr_only`).
fn add<D: Door>(context: &mut Context<'_, '_, D>, first: usize, incr_only: bool) {
    let mut options = AddOptions {
        increment: incr_only,
        ..AddOptions::default()
    };
    let mut changed_count = false;
    let mut index = first;
    while !incr_only && index < context.count() {
        let option = context.arg(index);
        if is(option, "nx") {
            options.only_new = true;
        } else if is(option, "xx") {
            options.only_existing = true;
        } else if is(option, "ch") {
            changed_count = true;
        } else if is(option, "incr") {
            options.increment = true;
        } else if is(option, "gt") {
            options.greater = true;
        } else if is(option, "lt") {
            options.less = true;
        } else {
            break;
        }
        index += 1;
    }
    let elements = context.count() - index;
    if !elements.is_multiple_of(2) || elements == 0 {
        context.syntax_error();
        return;
    }
    if options.only_new && options.only_existing {
        context.error("ERR XX and NX options at the same time are not compatible");
        return;
    }
    if ((options.greater || options.less) && options.only_new) || (options.greater && options.less)
    {
        context.error("ERR GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if options.increment && elements > 2 {
        context.error("ERR INCR option supports a single increment-element pair");
        return;
    }
    if (0..elements / 2).any(|pair| parse_score(context.arg(index + 2 * pair)).is_none()) {
        context.error(NOT_FLOAT);
        return;
    }
    let key = context.arg(1);
    let args: &D::Args = context.args;
    let pairs = (0..elements / 2).map(|pair| {
        let score = parse_score(arg(args, index + 2 * pair)).unwrap_or_default();
        (score, arg(args, index + 2 * pair + 1))
    });
    let result = context.shards.store_for(key).zset_add(
        context.session.db,
        key,
        pairs,
        options,
        context.now,
        context.log,
    );
    match result {
        Ok(result) if options.increment => double_or_null(&mut context.reply, result.score),
        Ok(result) if changed_count => context.integer_reply(result.added + result.updated),
        Ok(result) => context.integer_reply(result.added),
        Err(error) => fail(context, error),
    }
}

/// ZPOPMIN / ZPOPMAX key [count].
fn pop<D: Door>(context: &mut Context<'_, '_, D>, from_max: bool) {
    if context.count() > 3 {
        context.syntax_error();
        return;
    }
    let counted = context.count() == 3;
    let count = if counted {
        match super::parse_integer(context.arg(2)).filter(|&count| count >= 0) {
            Some(count) => usize::try_from(count).unwrap_or(usize::MAX),
            None => {
                context.error("ERR value is out of range, must be positive");
                return;
            }
        }
    } else {
        1
    };
    let key = context.arg(1);
    let (db, now) = (context.session.db, context.now);
    let store = context.shards.store_for(key);
    let length = match store.zset_view(db, key, now) {
        Ok(zset) => zset.map_or(0, |zset| zset.len()),
        Err(error) => {
            context.store_error(error);
            return;
        }
    };
    let popped = count.min(length);
    if popped == 0 {
        context.reply.array_header(0);
        return;
    }
    let nested = counted && context.reply.protocol() == Protocol::Resp3;
    // The reply is written from inside the write, once it can no longer fail; on an error
    // nothing was written yet.
    let mut started = false;
    let reply = &mut context.reply;
    let window = |zset: &ZsetRead<'_>| {
        let length = zset.len();
        if from_max {
            length - popped..length
        } else {
            0..popped
        }
    };
    let result = store.zset_remove_window(
        db,
        key,
        window,
        from_max,
        now,
        context.log,
        |member, score| {
            if !started {
                reply.array_header(if nested { popped } else { popped * 2 });
                started = true;
            }
            pair(reply, member, score, nested);
        },
    );
    if let Err(error) = result {
        fail(context, error);
    }
}

/// ZREMRANGEBYRANK key start stop, ZREMRANGEBYSCORE key min max, ZREMRANGEBYLEX key min
/// max.
fn remove_range<D: Door>(context: &mut Context<'_, '_, D>, command: Command) {
    enum Window<'r> {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexRange<'r>),
    }
    let window = match command {
        Command::RemRangeByRank => {
            let start = super::parse_integer(context.arg(2));
            let Some((start, stop)) = start.zip(super::parse_integer(context.arg(3))) else {
                context.error(NOT_INTEGER);
                return;
            };
            Window::Rank(start, stop)
        }
        Command::RemRangeByScore => match score_range(context, 2, 3) {
            Some(range) => Window::Score(range),
            None => return,
        },
        _ => match lex_range(context, 2, 3) {
            Some(range) => Window::Lex(range),
            None => return,
        },
    };
    let key = context.arg(1);
    let result = context.shards.store_for(key).zset_remove_window(
        context.session.db,
        key,
        |zset| match &window {
            Window::Rank(start, stop) => zset.rank_window(*start, *stop),
            Window::Score(range) => zset.score_window(range),
            Window::Lex(range) => zset.lex_window(range, false),
        },
        false,
        context.now,
        context.log,
        |_, _| {},
    );
    match result {
        Ok(removed) => context.integer_reply(removed),
        Err(error) => fail(context, error),
    }
}

/// ZRANDMEMBER key [count [WITHSCORES]].
fn random_member<D: Door>(context: &mut Context<'_, '_, D>) {
    let key = context.arg(1);
    let (db, now) = (context.session.db, context.now);
    if context.count() == 2 {
        let store = context.shards.store_for(key);
        match store.zset_view(db, key, now) {
            Ok(Some(_)) => {}
            Ok(None) => {
                context.reply.null();
                return;
            }
            Err(error) => {
                context.store_error(error);
                return;
            }
        }
        let reply = &mut context.reply;
        let _ = store.zset_random_members(db, key, 1, true, now, |member, _| reply.bulk(member));
        return;
    }
    let Some((count, with_scores)) = context.random_count(
        "withscores",
        "ERR count is out of range: ZRANDMEMBER returns at most 1048576 members with \
         repetition",
    ) else {
        return;
    };
    let store = context.shards.store_for(key);
    let length = match store.zset_view(db, key, now) {
        Ok(zset) => zset.map_or(0, |zset| zset.len()),
        Err(error) => {
            context.store_error(error);
            return;
        }
    };
    let distinct = count >= 0;
    let wanted = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    let reply_count = match (length, distinct) {
        (0, _) => 0,
        (_, true) => wanted.min(length),
        (_, false) => wanted,
    };
    let resp3 = context.reply.protocol() == Protocol::Resp3;
    let header = if with_scores && !resp3 {
        reply_count.saturating_mul(2)
    } else {
        reply_count
    };
    context.reply.array_header(header);
    if reply_count == 0 {
        return;
    }
    let reply = &mut context.reply;
    let _ = store.zset_random_members(db, key, wanted, distinct, now, |member, score| {
        if with_scores {
            pair(reply, member, score, resp3);
        } else {
            reply.bulk(member);
        }
    });
}

/// ZSCAN: a compact sorted set whole, member then score (see
/// [`super::keys::scan_collection`]); a large one by its index parts
/// ([`super::keys::scan_parts`]).
fn scan<D: Door>(context: &mut Context<'_, '_, D>) {
    let key = context.arg(1);
    let (db, now) = (context.session.db, context.now);
    let large = matches!(
        context.shards.store_for(key).zset_view(db, key, now),
        Ok(Some(ZsetRead::Large(_)))
    );
    if !large {
        super::keys::scan_collection(context, ValueType::SortedSet, |value, visit| {
            for entry in ZsetView::new(value).entries() {
                let mut buffer = [0u8; DOUBLE_SIZE_MAX];
                visit(
                    entry.member,
                    Some(format_double_17g(entry.score, &mut buffer)),
                );
            }
        });
        return;
    }
    let Some((cursor, options)) = super::keys::scan_large_arguments(context) else {
        return;
    };
    let Ok(Some(ZsetRead::Large(zset))) = context.shards.store_for(key).zset_view(db, key, now)
    else {
        return;
    };
    super::keys::scan_parts(
        &mut context.reply,
        cursor,
        &options,
        zset.index_part_count(),
        &|part, visit| {
            for (member, score) in zset.index_entries(part) {
                let mut buffer = [0u8; DOUBLE_SIZE_MAX];
                visit(member, Some(format_double_17g(score, &mut buffer)));
            }
        },
    );
}

#[cfg(test)]
mod tests;
