//! The list family: LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LLEN, LRANGE, LINDEX, LSET,
//! LINSERT, LREM, LTRIM, LPOS, LMOVE, RPOPLPUSH and LMPOP, over the compact encoding of
//! `store/list.rs` and the large form of `store/list/large.rs` (read through `ListRead`).
//!
//! Arguments are checked in Redis 7.0's order, which differs per command: LRANGE, LREM
//! and LTRIM parse their integers before they look at the key, LINDEX and LSET look first
//! (LINDEX of a missing key is nil whatever the index). Replies follow Redis 7.0: LPOP with
//! a count replies an array (empty for a count of 0), or a null array (RESP2 `*-1`, RESP3
//! `_`) for a missing key; LMPOP replies `[key, [elements]]` or a null array.

use super::{Arguments, Context, Door, NOT_INTEGER, Outcome, bulk_or_null, is};
use crate::codec::resp::{ReplySink, ReplyWriter};
use crate::error::StoreError;
use crate::store::list::{End, ListRead, list_move, resolve_index, resolve_range};
use crate::store::parse_integer;

/// The commands of this family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Command {
    Push(End),
    PushX(End),
    Pop(End),
    Len,
    Range,
    Index,
    Set,
    Insert,
    Rem,
    Trim,
    Pos,
    Move,
    PopPush,
    MPop,
    /// BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP.
    Blocking(blocking::Blocking),
}

/// Redis's reply to a count that is not a positive integer (LPOP, RPOP).
const NOT_POSITIVE: &str = "ERR value is out of range, must be positive";

/// Runs one command of the family; its arity was checked.
pub(super) fn run<D: Door>(command: Command, context: &mut Context<'_, '_, D>) -> Outcome {
    match command {
        Command::Push(end) => push(context, end, false),
        Command::PushX(end) => push(context, end, true),
        Command::Pop(end) => pop(context, end),
        Command::Len => read(context, |reply, _, list| {
            count_reply(reply, list.map_or(0, |list| list.len()));
        }),
        Command::Range => range(context),
        Command::Index => index(context),
        Command::Set => set(context),
        Command::Insert => insert(context),
        Command::Rem => remove(context),
        Command::Trim => trim(context),
        Command::Pos => position(context),
        Command::Move => {
            if let Some(from) = end_of(context, 3)
                && let Some(to) = end_of(context, 4)
            {
                move_one(context, from, to);
            }
        }
        Command::PopPush => move_one(context, End::Tail, End::Head),
        Command::MPop => {
            if let Some((keys, end, count)) = mpop_arguments(context, 1, end_of)
                && !mpop(context, keys, end, count)
            {
                context.reply.null_array();
            }
        }
        Command::Blocking(blocking) => return blocking::run(blocking, context),
    }
    Outcome::Done
}

/// Runs `reply` with the reply writer, the arguments and the list at argument 1 (`None`
/// if absent), or replies WRONGTYPE.
fn read<D: Door>(
    context: &mut Context<'_, '_, D>,
    reply: impl FnOnce(&mut ReplyWriter<'_, D::Sink>, &D::Args, Option<ListRead<'_>>),
) {
    let key = context.arg(1);
    let args: &D::Args = context.args;
    let (db, now) = (context.session.db, context.now);
    match context.shards.store_for(key).list_view(db, key, now) {
        Ok(list) => reply(&mut context.reply, args, list),
        Err(error) => context.reply.error(error.message().as_bytes()),
    }
}

/// The length of the list at argument 1 (0 if absent), or an error reply and `None`.
fn length<D: Door>(context: &mut Context<'_, '_, D>) -> Option<Option<usize>> {
    let key = context.arg(1);
    let (db, now) = (context.session.db, context.now);
    match context.shards.store_for(key).list_view(db, key, now) {
        Ok(list) => Some(list.map(|list| list.len())),
        Err(error) => {
            list_error(context, error);
            None
        }
    }
}

/// An integer reply of a count.
fn count_reply<S: ReplySink + ?Sized>(reply: &mut ReplyWriter<'_, S>, count: usize) {
    reply.integer(i64::try_from(count).unwrap_or(i64::MAX));
}

/// LEFT or RIGHT at argument `index`, or a syntax error reply and `None`.
fn end_of<D: Door>(context: &mut Context<'_, '_, D>, index: usize) -> Option<End> {
    let word = context.arg(index);
    if is(word, "left") {
        Some(End::Head)
    } else if is(word, "right") {
        Some(End::Tail)
    } else {
        context.syntax_error();
        None
    }
}

/// LPUSH, RPUSH, LPUSHX, RPUSHX key element [element ...].
fn push<D: Door>(context: &mut Context<'_, '_, D>, end: End, only_if_exists: bool) {
    let key = context.arg(1);
    let args: &D::Args = context.args;
    let elements = (2..context.count()).map(|index| args.get(index).unwrap_or_default());
    let result = context.shards.store_for(key).list_push(
        context.session.db,
        key,
        end,
        elements,
        only_if_exists,
        context.now,
        context.log,
    );
    match result {
        Ok(length) => context.integer_reply(length),
        Err(error) => list_error(context, error),
    }
}

/// LPOP and RPOP key [count].
fn pop<D: Door>(context: &mut Context<'_, '_, D>, end: End) {
    if context.count() > 3 {
        super::arity_error(&mut context.reply, context.spec.name(), "");
        return;
    }
    let with_count = context.count() == 3;
    let count = if with_count {
        let Some(count) = parse_integer(context.arg(2)).filter(|&count| count >= 0) else {
            context.error(NOT_POSITIVE);
            return;
        };
        usize::try_from(count).unwrap_or(usize::MAX)
    } else {
        1
    };
    let key = context.arg(1);
    let Some(length) = length(context) else {
        return;
    };
    if length.is_none() {
        if with_count {
            context.reply.null_array();
        } else {
            context.reply.null();
        }
        return;
    }
    if with_count && count == 0 {
        context.reply.array_header(0);
        return;
    }
    let reply = &mut context.reply;
    let mut first = true;
    let result = context.shards.store_for(key).list_pop(
        context.session.db,
        key,
        end,
        count,
        context.now,
        context.log,
        |total, element| {
            if with_count && first {
                reply.array_header(total);
            }
            first = false;
            reply.bulk(element);
        },
    );
    if let Err(error) = result {
        list_error(context, error);
    }
}

/// LRANGE key start stop.
fn range<D: Door>(context: &mut Context<'_, '_, D>) {
    let Some(start) = context.integer(2) else {
        return;
    };
    let Some(stop) = context.integer(3) else {
        return;
    };
    read(context, |reply, _, list| {
        let Some(list) = list else {
            reply.array_header(0);
            return;
        };
        let range = resolve_range(start, stop, list.len());
        reply.array_header(range.len());
        for element in list.iter_from(range.start).take(range.len()) {
            reply.bulk(element);
        }
    });
}

/// LINDEX key index: the key is looked at first (a missing key is nil whatever the index).
fn index<D: Door>(context: &mut Context<'_, '_, D>) {
    let Some(length) = length(context) else {
        return;
    };
    if length.is_none() {
        context.reply.null();
        return;
    }
    let Some(index) = context.integer(2) else {
        return;
    };
    read(context, |reply, _, list| {
        let element =
            list.and_then(|list| resolve_index(index, list.len()).and_then(|at| list.nth(at)));
        bulk_or_null(reply, element);
    });
}

/// LSET key index element: `ERR no such key` before the index is parsed.
fn set<D: Door>(context: &mut Context<'_, '_, D>) {
    let Some(length) = length(context) else {
        return;
    };
    if length.is_none() {
        context.error(crate::error::StoreError::NoSuchKey.message());
        return;
    }
    let Some(index) = context.integer(2) else {
        return;
    };
    let (key, element) = (context.arg(1), context.arg(3));
    let result = context.shards.store_for(key).list_set(
        context.session.db,
        key,
        index,
        element,
        context.now,
        context.log,
    );
    match result {
        Ok(()) => context.ok(),
        Err(error) => list_error(context, error),
    }
}

/// LINSERT key BEFORE|AFTER pivot element.
fn insert<D: Door>(context: &mut Context<'_, '_, D>) {
    let where_word = context.arg(2);
    let before = if is(where_word, "before") {
        true
    } else if is(where_word, "after") {
        false
    } else {
        context.syntax_error();
        return;
    };
    let (key, pivot, element) = (context.arg(1), context.arg(3), context.arg(4));
    let result = context.shards.store_for(key).list_insert(
        context.session.db,
        key,
        before,
        pivot,
        element,
        context.now,
        context.log,
    );
    match result {
        Ok(length) => context.reply.integer(length),
        Err(error) => list_error(context, error),
    }
}

/// LREM key count element.
fn remove<D: Door>(context: &mut Context<'_, '_, D>) {
    let Some(count) = context.integer(2) else {
        return;
    };
    let (key, element) = (context.arg(1), context.arg(3));
    let result = context.shards.store_for(key).list_remove(
        context.session.db,
        key,
        count,
        element,
        context.now,
        context.log,
    );
    match result {
        Ok(removed) => context.integer_reply(removed),
        Err(error) => list_error(context, error),
    }
}

/// LTRIM key start stop.
fn trim<D: Door>(context: &mut Context<'_, '_, D>) {
    let Some(start) = context.integer(2) else {
        return;
    };
    let Some(stop) = context.integer(3) else {
        return;
    };
    let key = context.arg(1);
    let result = context.shards.store_for(key).list_trim(
        context.session.db,
        key,
        start,
        stop,
        context.now,
        context.log,
    );
    match result {
        Ok(()) => context.ok(),
        Err(error) => list_error(context, error),
    }
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len].
fn position<D: Door>(context: &mut Context<'_, '_, D>) {
    let (mut rank, mut count, mut length_max) = (1i64, None::<i64>, 0i64);
    let mut index = 3;
    while index < context.count() {
        let option = context.arg(index);
        let more = index + 1 < context.count();
        let value = parse_integer(context.arg(index + 1));
        if is(option, "rank") && more {
            let Some(value) = value.filter(|&value| value != i64::MIN) else {
                context.error(if value.is_none() {
                    NOT_INTEGER
                } else {
                    "ERR value is out of range, value must between -9223372036854775807 and \
                     9223372036854775807"
                });
                return;
            };
            if value == 0 {
                context.error(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the \
                     second ... or use negative to start from the end of the list",
                );
                return;
            }
            rank = value;
        } else if is(option, "count") && more {
            let Some(value) = value.filter(|&value| value >= 0) else {
                context.error("ERR COUNT can't be negative");
                return;
            };
            count = Some(value);
        } else if is(option, "maxlen") && more {
            let Some(value) = value.filter(|&value| value >= 0) else {
                context.error("ERR MAXLEN can't be negative");
                return;
            };
            length_max = value;
        } else {
            context.syntax_error();
            return;
        }
        index += 2;
    }
    read(context, |reply, args, list| {
        let element = args.get(2).unwrap_or_default();
        let Some(list) = list else {
            if count.is_some() {
                reply.array_header(0);
            } else {
                reply.null();
            }
            return;
        };
        let len = list.len();
        let scan_max = if length_max == 0 {
            len
        } else {
            usize::try_from(length_max).unwrap_or(usize::MAX).min(len)
        };
        let skip = usize::try_from(rank.unsigned_abs() - 1).unwrap_or(usize::MAX);
        let wanted = match count {
            None => 1,
            Some(0) => usize::MAX,
            Some(count) => usize::try_from(count).unwrap_or(usize::MAX),
        };
        let matches = |visit: &mut dyn FnMut(usize)| {
            positions(list, element, rank > 0, scan_max, skip, wanted, visit);
        };
        let mut found = 0usize;
        matches(&mut |_| found += 1);
        if count.is_some() {
            reply.array_header(found);
        } else if found == 0 {
            reply.null();
            return;
        }
        matches(&mut |at| count_reply(reply, at));
    });
}

/// Calls `visit` with the positions (from the head) of the matches of `element` that LPOS
/// reports: among the first `scan_max` elements from the head (`forward`) or the tail,
/// skipping `skip` matches, at most `wanted`, in the order of the walk.
fn positions(
    list: ListRead<'_>,
    element: &[u8],
    forward: bool,
    scan_max: usize,
    skip: usize,
    wanted: usize,
    visit: &mut dyn FnMut(usize),
) {
    let len = list.len();
    let window = if forward {
        0..scan_max
    } else {
        len - scan_max..len
    };
    let in_window = || {
        list.iter_from(window.start)
            .enumerate()
            .take(window.len())
            .filter(|(_, other)| *other == element)
            .map(|(at, _)| window.start + at)
    };
    if forward {
        in_window().skip(skip).take(wanted).for_each(visit);
        return;
    }
    // From the tail: the elements' sizes only let a walk go forward, so the matches are
    // taken in blocks of head ordinals, each walked forward and replied backwards.
    const BLOCK: usize = 256;
    let match_count = in_window().count();
    let mut remaining = wanted.min(match_count.saturating_sub(skip));
    let mut high = match_count.saturating_sub(skip); // head ordinals below this are left
    let mut block = [0usize; BLOCK];
    while remaining > 0 && high > 0 {
        let take = remaining.min(BLOCK).min(high);
        let low = high - take;
        for (slot, at) in block.iter_mut().zip(in_window().skip(low).take(take)) {
            *slot = at;
        }
        for &at in block[..take].iter().rev() {
            visit(at);
        }
        remaining -= take;
        high = low;
    }
}

/// LMOVE and RPOPLPUSH: replies the moved element, or nil.
fn move_one<D: Door>(context: &mut Context<'_, '_, D>, from: End, to: End) {
    if !move_one_if_any(context, from, to) {
        context.reply.null();
    }
}

/// A move from argument 1 to argument 2; returns whether a reply was written (the
/// element, or an error).
fn move_one_if_any<D: Door>(context: &mut Context<'_, '_, D>, from: End, to: End) -> bool {
    let (source, target) = (context.arg(1), context.arg(2));
    let reply = &mut context.reply;
    let result = list_move(
        &mut *context.shards,
        context.session.db,
        source,
        target,
        from,
        to,
        context.now,
        context.log,
        |element| reply.bulk(element),
    );
    match result {
        Ok(moved) => moved,
        Err(error) => {
            list_error(context, error);
            true
        }
    }
}

/// LMPOP's (and BLMPOP's, ZMPOP's, BZMPOP's) arguments from `numkeys_index`: the key
/// indexes, the end (read by `end_of`, which replies its own error) and the count, or an
/// error reply and `None`.
pub(in crate::command) fn mpop_arguments<D: Door, E>(
    context: &mut Context<'_, '_, D>,
    numkeys_index: usize,
    end_of: fn(&mut Context<'_, '_, D>, usize) -> Option<E>,
) -> Option<(core::ops::Range<usize>, E, usize)> {
    let Some(key_count) = parse_integer(context.arg(numkeys_index)).filter(|&count| count > 0)
    else {
        context.error("ERR numkeys should be greater than 0");
        return None;
    };
    let key_count = usize::try_from(key_count).unwrap_or(usize::MAX);
    let where_index = (numkeys_index + 1).saturating_add(key_count);
    if where_index >= context.count() {
        context.syntax_error();
        return None;
    }
    let end = end_of(context, where_index)?;
    let mut count = None;
    let mut index = where_index + 1;
    while index < context.count() {
        if count.is_none() && is(context.arg(index), "count") && index + 1 < context.count() {
            let Some(value) = parse_integer(context.arg(index + 1)).filter(|&value| value > 0)
            else {
                context.error("ERR count should be greater than 0");
                return None;
            };
            count = Some(usize::try_from(value).unwrap_or(usize::MAX));
            index += 2;
        } else {
            context.syntax_error();
            return None;
        }
    }
    Some((numkeys_index + 1..where_index, end, count.unwrap_or(1)))
}

/// LMPOP's pop: from the first key with an element, replied as `[key, [elements]]`.
/// Returns whether a reply was written (the elements, or an error).
fn mpop<D: Door>(
    context: &mut Context<'_, '_, D>,
    keys: core::ops::Range<usize>,
    end: End,
    count: usize,
) -> bool {
    let (db, now) = (context.session.db, context.now);
    for index in keys {
        let key = context.arg(index);
        let reply = &mut context.reply;
        let mut first = true;
        let result = context.shards.store_for(key).list_pop(
            db,
            key,
            end,
            count,
            now,
            context.log,
            |total, element| {
                if first {
                    reply.array_header(2);
                    reply.bulk(key);
                    reply.array_header(total);
                    first = false;
                }
                reply.bulk(element);
            },
        );
        match result {
            Ok(0) => {}
            Ok(_) => return true,
            Err(error) => {
                list_error(context, error);
                return true;
            }
        }
    }
    false
}

/// floe's refusal of an element that a list node cannot hold (or of a compact list past
/// the item size limit under a key too long for the large form).
const LIST_TOO_LARGE: &str = "ERR list element or node exceeds the maximum size of an item \
                              (value-size-max)";

/// Replies with a store error, naming lists where the message names a collection.
fn list_error<D: Door>(context: &mut Context<'_, '_, D>, error: StoreError) {
    match error {
        StoreError::CollectionTooLarge => context.error(LIST_TOO_LARGE),
        error => context.store_error(error),
    }
}

pub(super) mod blocking;

#[cfg(test)]
mod tests;
