//! The range reads: ZRANGE key min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]
//! [WITHSCORES] and its older forms (ZRANGEBYSCORE, ZREVRANGE, ZREVRANGEBYSCORE,
//! ZRANGEBYLEX, ZREVRANGEBYLEX), parsed as Redis 7.0's `zrangeGenericCommand` parses them;
//! ZRANGESTORE shares the parsing and stores through [`super::combine`].

use core::ops::Range;

use super::{Command, Context, Door, NOT_INTEGER, is, lex_range, pair, score_range};
use crate::codec::resp::Protocol;
use crate::store::zset::{LexRange, ScoreRange, ZsetRead};

/// What a range selects by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum By<'r> {
    /// Ranks `start` and `stop` (inclusive, negative from the end).
    Rank(i64, i64),
    /// Scores.
    Score(ScoreRange),
    /// Members, lexicographically.
    Lex(LexRange<'r>),
}

/// A parsed range request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Request<'r> {
    /// The source key.
    pub(super) key: &'r [u8],
    /// What it selects by.
    pub(super) by: By<'r>,
    /// Highest first.
    pub(super) reverse: bool,
    /// LIMIT's offset and count (count negative: no limit).
    pub(super) limit: Option<(i64, i64)>,
    /// WITHSCORES.
    pub(super) with_scores: bool,
}

/// Parses a range command's arguments (ZRANGESTORE's from its source key on); `None` once
/// the error is replied.
pub(super) fn parse<'c, D: Door>(
    context: &mut Context<'c, '_, D>,
    command: Command,
) -> Option<Request<'c>> {
    #[derive(PartialEq)]
    enum Kind {
        Rank,
        Score,
        Lex,
    }
    let (mut kind, mut reverse) = match command {
        Command::RangeByScore => (Some(Kind::Score), Some(false)),
        Command::RevRangeByScore => (Some(Kind::Score), Some(true)),
        Command::RangeByLex => (Some(Kind::Lex), Some(false)),
        Command::RevRangeByLex => (Some(Kind::Lex), Some(true)),
        Command::RevRange => (Some(Kind::Rank), Some(true)),
        _ => (None, None),
    };
    let store = command == Command::RangeStore;
    let key_index = if store { 2 } else { 1 };
    let (mut with_scores, mut limit) = (false, None);
    let mut index = key_index + 3;
    while index < context.count() {
        let option = context.arg(index);
        let left = context.count() - index - 1;
        if !store && is(option, "withscores") {
            with_scores = true;
        } else if is(option, "limit") && left >= 2 {
            let offset = context.integer(index + 1)?;
            let count = context.integer(index + 2)?;
            limit = Some((offset, count));
            index += 2;
        } else if reverse.is_none() && is(option, "rev") {
            reverse = Some(true);
        } else if kind.is_none() && is(option, "bylex") {
            kind = Some(Kind::Lex);
        } else if kind.is_none() && is(option, "byscore") {
            kind = Some(Kind::Score);
        } else {
            context.syntax_error();
            return None;
        }
        index += 1;
    }
    let kind = kind.unwrap_or(Kind::Rank);
    let reverse = reverse.unwrap_or(false);
    if limit.is_some() && kind == Kind::Rank {
        context.error(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or \
             BYLEX",
        );
        return None;
    }
    if with_scores && kind == Kind::Lex {
        context.error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return None;
    }
    // A reversed score or lex range is given as max, then min.
    let (min, max) = if reverse && kind != Kind::Rank {
        (key_index + 2, key_index + 1)
    } else {
        (key_index + 1, key_index + 2)
    };
    let by = match kind {
        Kind::Rank => {
            let start = super::super::parse_integer(context.arg(min));
            let Some((start, stop)) = start.zip(super::super::parse_integer(context.arg(max)))
            else {
                context.error(NOT_INTEGER);
                return None;
            };
            By::Rank(start, stop)
        }
        Kind::Score => By::Score(score_range(context, min, max)?),
        Kind::Lex => By::Lex(lex_range(context, min, max)?),
    };
    Some(Request {
        key: context.arg(key_index),
        by,
        reverse,
        limit,
        with_scores,
    })
}

/// The ranks `request` selects in `zset`, in forward order (visit them from the last when
/// the request is reversed).
pub(super) fn select(zset: &ZsetRead<'_>, request: &Request<'_>) -> Range<usize> {
    let window = match &request.by {
        By::Rank(start, stop) if request.reverse => {
            let length = zset.len();
            let window = zset.rank_window(*start, *stop);
            length - window.end..length - window.start
        }
        By::Rank(start, stop) => zset.rank_window(*start, *stop),
        By::Score(range) => zset.score_window(range),
        By::Lex(range) => zset.lex_window(range, request.reverse),
    };
    let Some((offset, count)) = request.limit else {
        return window;
    };
    let Ok(offset) = usize::try_from(offset) else {
        // Redis skips a negative offset's worth of entries forever: nothing is left.
        return window.start..window.start;
    };
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    if request.reverse {
        let end = window.end.saturating_sub(offset).max(window.start);
        end.saturating_sub(count).max(window.start)..end
    } else {
        let start = window.start.saturating_add(offset).min(window.end);
        start..start.saturating_add(count).min(window.end)
    }
}

/// Runs a range command.
pub(super) fn run<D: Door>(command: Command, context: &mut Context<'_, '_, D>) {
    let Some(request) = parse(context, command) else {
        return;
    };
    if command == Command::RangeStore {
        super::combine::range_store(context, &request);
        return;
    }
    let (db, now) = (context.session.db, context.now);
    let zset = match context
        .shards
        .store_for(request.key)
        .zset_view(db, request.key, now)
    {
        Ok(Some(zset)) => zset,
        Ok(None) => {
            context.reply.array_header(0);
            return;
        }
        Err(error) => {
            context.store_error(error);
            return;
        }
    };
    let window = select(&zset, &request);
    let resp3 = context.reply.protocol() == Protocol::Resp3;
    let reply = &mut context.reply;
    let count = window.len();
    reply.array_header(if request.with_scores && !resp3 {
        count * 2
    } else {
        count
    });
    zset.visit(window, request.reverse, |entry| {
        if request.with_scores {
            pair(reply, entry.member, entry.score, resp3);
        } else {
            reply.bulk(entry.member);
        }
    });
}
