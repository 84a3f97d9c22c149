//! The blocking pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH and BLMPOP, run as their
//! non-blocking forms (see `docs/types.md`, "Blocking pops"). floe-core never waits: when
//! every key is empty the command writes nothing and returns
//! [`RuntimeCommand::Block`]; the server parks the client and runs the same request again
//! when a write reaches one of its keys, or replies the timeout's null.

use super::super::{Context, Door, Outcome, RuntimeCommand};
use super::{End, end_of, move_one_if_any, mpop_arguments};

/// The blocking commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::command) enum Blocking {
    /// BLPOP and BRPOP.
    Pop(End),
    /// BLMOVE.
    Move,
    /// BRPOPLPUSH.
    PopPush,
    /// BLMPOP.
    MPop,
}

/// Runs a blocking command: its timeout checked, then its non-blocking form if any key
/// has an element. When every key is empty it writes nothing and returns
/// [`RuntimeCommand::Block`] for the runtime to park the client, unless the session may
/// not block (MULTI, or a door without blocking): then the reply is the timeout's, a null
/// array (a null for BLMOVE and BRPOPLPUSH), at once.
pub(in crate::command) fn run<D: Door>(
    command: Blocking,
    context: &mut Context<'_, '_, D>,
) -> Outcome {
    // BLMOVE reads its ends before its timeout, as Redis does.
    let mut ends = (End::Tail, End::Head);
    if command == Blocking::Move {
        let Some(from) = end_of(context, 3) else {
            return Outcome::Done;
        };
        let Some(to) = end_of(context, 4) else {
            return Outcome::Done;
        };
        ends = (from, to);
    }
    // BLMPOP reads its keys, end and count before its timeout, as Redis 7.0 does.
    let mut mpop = (0..0, End::Head, 1);
    if command == Blocking::MPop {
        let Some(arguments) = mpop_arguments(context, 2, end_of) else {
            return Outcome::Done;
        };
        mpop = arguments;
    }
    let timeout_index = match command {
        Blocking::Pop(_) => context.count() - 1,
        Blocking::Move => 5,
        Blocking::PopPush => 3,
        Blocking::MPop => 1,
    };
    let Some(timeout_ms) = parse_timeout(context, timeout_index) else {
        return Outcome::Done;
    };
    let done = match command {
        Blocking::Pop(end) => {
            let keys = 1..context.count() - 1;
            blocking_pop(context, keys, end)
        }
        Blocking::Move | Blocking::PopPush => move_one_if_any(context, ends.0, ends.1),
        Blocking::MPop => {
            let (keys, end, count) = mpop;
            super::mpop(context, keys, end, count)
        }
    };
    if done {
        return Outcome::Done;
    }
    if !context.session.may_block {
        match command {
            Blocking::Move | Blocking::PopPush => context.reply.null(),
            Blocking::Pop(_) | Blocking::MPop => context.reply.null_array(),
        }
        return Outcome::Done;
    }
    Outcome::Runtime(RuntimeCommand::Block { timeout_ms })
}

/// The timeout of a blocking command, in milliseconds (0: none), parsed as Redis 7.0's
/// `getTimeoutFromObjectOrReply` does (seconds as a float; what overflows a 64-bit
/// millisecond count reads as negative, as C's cast gives on x86), or an error reply.
pub(in crate::command) fn parse_timeout<D: Door>(
    context: &mut Context<'_, '_, D>,
    index: usize,
) -> Option<u64> {
    let text = context.arg(index);
    let seconds = core::str::from_utf8(text)
        .ok()
        .filter(|text| !text.is_empty() && !text.starts_with(char::is_whitespace))
        .filter(|text| !text.ends_with(char::is_whitespace))
        .and_then(|text| text.parse::<f64>().ok())
        .filter(|seconds| !seconds.is_nan());
    let Some(seconds) = seconds else {
        context.error("ERR timeout is not a float or out of range");
        return None;
    };
    let milliseconds = seconds * 1000.0;
    // NOTE: 2^63 and above (and -inf) become i64::MIN under C's cast on x86.
    #[expect(
        clippy::cast_possible_truncation,
        reason = "checked against 2^63 first"
    )]
    let milliseconds = if milliseconds >= 9_223_372_036_854_775_808.0 {
        i64::MIN
    } else {
        milliseconds as i64
    };
    if milliseconds < 0 {
        context.error("ERR timeout is negative");
        return None;
    }
    if milliseconds > 0 && milliseconds > i64::MAX - i64::try_from(context.now).unwrap_or(0) {
        context.error("ERR timeout is out of range");
        return None;
    }
    u64::try_from(milliseconds).ok()
}

/// BLPOP and BRPOP: the first key (in argument order) with an element gives one, replied
/// as `[key, element]`. Returns whether one was popped (the reply is written).
fn blocking_pop<D: Door>(
    context: &mut Context<'_, '_, D>,
    keys: core::ops::Range<usize>,
    end: End,
) -> bool {
    let (db, now) = (context.session.db, context.now);
    for index in keys {
        let key = context.arg(index);
        let reply = &mut context.reply;
        let result = context.shards.store_for(key).list_pop(
            db,
            key,
            end,
            1,
            now,
            context.log,
            |_, element| {
                reply.array_header(2);
                reply.bulk(key);
                reply.bulk(element);
            },
        );
        match result {
            Ok(0) => {}
            Ok(_) => return true,
            Err(error) => {
                super::list_error(context, error);
                return true;
            }
        }
    }
    false
}
