//! The pops over several keys: ZMPOP, and the blocking BZPOPMIN, BZPOPMAX and BZMPOP, run
//! as their non-blocking forms as the list's blocking pops are (see `docs/types.md`,
//! "Blocking pops"). floe-core never waits: when every key is empty a blocking pop writes
//! nothing and returns [`RuntimeCommand::Block`]; the server parks the client and runs the
//! same request again when a write reaches one of its keys, or replies the timeout's null
//! array.
//!
//! Replies follow Redis 7.0: BZPOPMIN and BZPOPMAX give `[key, member, score]`; ZMPOP and
//! BZMPOP give `[key, [[member, score], ...]]` (pairs nested in both protocols); the
//! score is a double (RESP2 bulk string, RESP3 `,`). No member anywhere: a null array
//! (RESP2 `*-1`, RESP3 `_`).

use super::super::list::blocking::parse_timeout;
use super::super::list::mpop_arguments;
use super::super::{Context, Door, Outcome, RuntimeCommand, is};
use super::{fail, pair};
use crate::store::zset::ZsetRead;

/// The commands of this file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::command) enum Pop {
    /// BZPOPMIN (false) and BZPOPMAX (true).
    Blocking(bool),
    /// ZMPOP.
    Counted,
    /// BZMPOP.
    BlockingCounted,
}

/// How a popped member is replied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// BZPOPMIN, BZPOPMAX: `[key, member, score]`, one member.
    Flat,
    /// ZMPOP, BZMPOP: `[key, [[member, score], ...]]`.
    Nested,
}

/// Runs one of the pops. A blocking pop with every key empty returns
/// [`RuntimeCommand::Block`] when the session may block, else replies the timeout's null
/// array at once (MULTI, or a door without blocking).
pub(in crate::command) fn run<D: Door>(command: Pop, context: &mut Context<'_, '_, D>) -> Outcome {
    let (keys, from_max, count, shape) = match command {
        Pop::Blocking(from_max) => (1..context.count() - 1, from_max, 1, Shape::Flat),
        Pop::Counted | Pop::BlockingCounted => {
            let numkeys_index = if command == Pop::Counted { 1 } else { 2 };
            // Keys, end and count come before the timeout, as Redis 7.0 reads them.
            let Some((keys, from_max, count)) = mpop_arguments(context, numkeys_index, from_max_of)
            else {
                return Outcome::Done;
            };
            (keys, from_max, count, Shape::Nested)
        }
    };
    let timeout_ms = match command {
        Pop::Counted => None,
        Pop::Blocking(_) => parse_timeout(context, context.count() - 1),
        Pop::BlockingCounted => parse_timeout(context, 1),
    };
    let blocking = command != Pop::Counted;
    if blocking && timeout_ms.is_none() {
        return Outcome::Done;
    }
    if pop_first(context, keys, from_max, count, shape) {
        return Outcome::Done;
    }
    match timeout_ms {
        Some(timeout_ms) if context.session.may_block => {
            Outcome::Runtime(RuntimeCommand::Block { timeout_ms })
        }
        _ => {
            context.reply.null_array();
            Outcome::Done
        }
    }
}

/// ZMPOP's end: MIN (false) or MAX (true), or a syntax error.
fn from_max_of<D: Door>(context: &mut Context<'_, '_, D>, index: usize) -> Option<bool> {
    let word = context.arg(index);
    if is(word, "min") {
        Some(false)
    } else if is(word, "max") {
        Some(true)
    } else {
        context.syntax_error();
        None
    }
}

/// Pops up to `count` members from the first key (in argument order) that has any, and
/// replies them in `shape`. A key of another type before it replies WRONGTYPE, as Redis's
/// loop does. Returns whether a reply was written (the members, or an error).
fn pop_first<D: Door>(
    context: &mut Context<'_, '_, D>,
    keys: core::ops::Range<usize>,
    from_max: bool,
    count: usize,
    shape: Shape,
) -> bool {
    assert!(count > 0, "count={count}");
    assert!(shape == Shape::Nested || count == 1, "count={count}");
    let (db, now) = (context.session.db, context.now);
    for index in keys {
        let key = context.arg(index);
        let store = context.shards.store_for(key);
        let length = match store.zset_view(db, key, now) {
            Ok(zset) => zset.map_or(0, |zset| zset.len()),
            Err(error) => {
                context.store_error(error);
                return true;
            }
        };
        if length == 0 {
            continue;
        }
        let popped = count.min(length);
        let window = |zset: &ZsetRead<'_>| {
            let length = zset.len();
            if from_max {
                length - popped..length
            } else {
                0..popped
            }
        };
        // The reply is written from inside the write, once it can no longer fail.
        let reply = &mut context.reply;
        let mut started = false;
        let result = store.zset_remove_window(
            db,
            key,
            window,
            from_max,
            now,
            context.log,
            |member, score| {
                if !started {
                    started = true;
                    match shape {
                        Shape::Flat => reply.array_header(3),
                        Shape::Nested => {
                            reply.array_header(2);
                            reply.bulk(key);
                            reply.array_header(popped);
                        }
                    }
                }
                match shape {
                    Shape::Flat => {
                        reply.bulk(key);
                        pair(reply, member, score, false);
                    }
                    Shape::Nested => pair(reply, member, score, true),
                }
            },
        );
        match result {
            Ok(removed) => assert!(removed == popped, "removed={removed} popped={popped}"),
            Err(error) => fail(context, error),
        }
        return true;
    }
    false
}
