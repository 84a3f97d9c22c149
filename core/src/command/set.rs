//! The set family: SADD, SREM, SISMEMBER, SMISMEMBER, SMEMBERS, SCARD, SPOP, SRANDMEMBER,
//! SMOVE, SINTER, SUNION, SDIFF, their STORE forms, SINTERCARD and SSCAN, over either form
//! of `store/set.rs` (compact, or large: `store/set/large.rs`).
//!
//! Arguments are checked in Redis's order (a count before the key's type, SSCAN's cursor
//! before it, its options after), and a key of another type gets `WRONGTYPE` before
//! anything changes. Replies follow Redis 7.0: SMEMBERS, SINTER, SUNION, SDIFF and SPOP
//! with a count are sets in RESP3 (`~`), SRANDMEMBER with a count and SMISMEMBER arrays;
//! SSCAN returns a whole compact set with cursor 0 (as Redis does for an intset), and a
//! large set part by part with a real cursor.

use super::{Arguments, Context, Door, NOT_INTEGER, is};
use crate::codec::resp::{ReplySink, ReplyWriter};
use crate::error::StoreError;
use crate::store::ValueType;
use crate::store::set::{self, Popped, SetOperation, SetRead, SetView};
use crate::text::parse_integer_strict;

/// The commands of this family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Command {
    Add,
    Card,
    Diff,
    DiffStore,
    Inter,
    InterCard,
    InterStore,
    IsMember,
    Members,
    MIsMember,
    Move,
    Pop,
    RandMember,
    Rem,
    Scan,
    Union,
    UnionStore,
}

/// floe's refusal of a set that would pass the item size limit.
const SET_TOO_LARGE: &str = "ERR set exceeds the maximum size of an item (value-size-max: a \
                             compact set, one part of a large set, or a STORE result, is one \
                             item)";

/// floe's refusal of a larger negative SRANDMEMBER count.
const RANDOM_COUNT_TOO_LARGE: &str =
    "ERR count is out of range: SRANDMEMBER returns at most 1048576 members with repetition";

/// Runs one command of the family; its arity was checked.
pub(super) fn run<D: Door>(command: Command, context: &mut Context<'_, '_, D>) {
    match command {
        Command::Add | Command::Rem => add_or_remove(context, command == Command::Add),
        Command::IsMember => read(context, |reply, hash, args| {
            let member = args.0;
            reply.integer(i64::from(hash.is_some_and(|set| set.contains(member))));
        }),
        Command::MIsMember => {
            let args: &D::Args = context.args;
            let count = context.count();
            read(context, |reply, set, _| {
                reply.array_header(count - 2);
                for index in 2..count {
                    let member = args.get(index).unwrap_or_default();
                    reply.integer(i64::from(set.is_some_and(|set| set.contains(member))));
                }
            });
        }
        Command::Card => read(context, |reply, set, _| {
            count_reply(reply, set.map_or(0, |set| set.len()));
        }),
        Command::Members => read(context, |reply, set, _| {
            reply.set_header(set.map_or(0, |set| set.len()));
            for member in set.iter().flat_map(SetRead::members) {
                reply.bulk(member);
            }
        }),
        Command::Pop => pop(context),
        Command::RandMember => random_member(context),
        Command::Move => move_member(context),
        Command::Inter => operation(context, SetOperation::Intersection),
        Command::Union => operation(context, SetOperation::Union),
        Command::Diff => operation(context, SetOperation::Difference),
        Command::InterStore => operation_store(context, SetOperation::Intersection),
        Command::UnionStore => operation_store(context, SetOperation::Union),
        Command::DiffStore => operation_store(context, SetOperation::Difference),
        Command::InterCard => intersection_cardinality(context),
        Command::Scan => scan(context),
    }
}

/// Replies with a store error, naming sets where the message names a collection.
fn set_error<D: Door>(context: &mut Context<'_, '_, D>, error: StoreError) {
    match error {
        StoreError::CollectionTooLarge => context.error(SET_TOO_LARGE),
        error => context.store_error(error),
    }
}

/// Runs `reply` with the reply writer, the set at argument 1 (`None` if absent) and
/// argument 2, or replies WRONGTYPE.
fn read<D: Door>(
    context: &mut Context<'_, '_, D>,
    reply: impl FnOnce(&mut ReplyWriter<'_, D::Sink>, Option<SetRead<'_>>, (&[u8],)),
) {
    let (key, member) = (context.arg(1), context.arg(2));
    let (db, now) = (context.session.db, context.now);
    match context.shards.store_for(key).set_view(db, key, now) {
        Ok(set) => reply(&mut context.reply, set, (member,)),
        Err(error) => context.reply.error(error.message().as_bytes()),
    }
}

/// An integer reply of a count.
fn count_reply<S: ReplySink + ?Sized>(reply: &mut ReplyWriter<'_, S>, count: usize) {
    reply.integer(i64::try_from(count).unwrap_or(i64::MAX));
}

/// SADD and SREM key member [member ...].
fn add_or_remove<D: Door>(context: &mut Context<'_, '_, D>, add: bool) {
    let key = context.arg(1);
    let args: &D::Args = context.args;
    let members = (2..context.count()).map(|index| args.get(index).unwrap_or_default());
    let (db, now) = (context.session.db, context.now);
    let store = context.shards.store_for(key);
    let result = if add {
        store.set_add(db, key, members, now, context.log)
    } else {
        store.set_remove(db, key, members, now, context.log)
    };
    match result {
        Ok(count) => context.integer_reply(count),
        Err(error) => set_error(context, error),
    }
}

/// SPOP key [count]: a bulk string (or null) without a count, a set with one.
fn pop<D: Door>(context: &mut Context<'_, '_, D>) {
    if context.count() > 3 {
        context.syntax_error();
        return;
    }
    let with_count = context.count() == 3;
    let count = if with_count {
        // Redis reads the count with one message for both a non-integer and a negative.
        let count =
            parse_integer_strict(context.arg(2)).and_then(|count| usize::try_from(count).ok());
        let Some(count) = count else {
            context.error("ERR value is out of range, must be positive");
            return;
        };
        count
    } else {
        1
    };
    let key = context.arg(1);
    let (db, now) = (context.session.db, context.now);
    let store = context.shards.store_for(key);
    let reply = &mut context.reply;
    let result = store.set_pop(db, key, count, now, context.log, |popped| match popped {
        Popped::Count(count) if with_count => reply.set_header(count),
        Popped::Count(_) => {}
        Popped::Member(member) => reply.bulk(member),
    });
    match result {
        Ok(Some(_)) => {}
        Ok(None) if with_count => context.reply.set_header(0),
        Ok(None) => context.reply.null(),
        Err(error) => set_error(context, error),
    }
}

/// SRANDMEMBER key [count]: a bulk string (or null) without a count, an array with one
/// (distinct members for a positive count, repeats for a negative one).
fn random_member<D: Door>(context: &mut Context<'_, '_, D>) {
    let key = context.arg(1);
    let (db, now) = (context.session.db, context.now);
    if context.count() > 3 {
        context.syntax_error();
        return;
    }
    if context.count() == 2 {
        let store = context.shards.store_for(key);
        match store.set_view(db, key, now) {
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
        // NOTE: the key was just found to be a set, so this cannot fail.
        let _ = store.set_random_members(db, key, 1, true, now, |member| reply.bulk(member));
        return;
    }
    let Some(count) = parse_integer_strict(context.arg(2)) else {
        context.error(NOT_INTEGER);
        return;
    };
    if count == i64::MIN {
        context.error(
            "ERR value is out of range, value must between -9223372036854775807 and \
             9223372036854775807",
        );
        return;
    }
    if count < -super::RANDOM_REPEATED_COUNT_MAX {
        // Redis would build a reply of |count| elements, whatever its size; floe refuses
        // a count that would keep a worker busy for hours instead.
        context.error(RANDOM_COUNT_TOO_LARGE);
        return;
    }
    let store = context.shards.store_for(key);
    let length = match store.set_view(db, key, now) {
        Ok(set) => set.map_or(0, |set| set.len()),
        Err(error) => {
            context.store_error(error);
            return;
        }
    };
    let distinct = count >= 0;
    let wanted = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    let reply_count = if length == 0 {
        0
    } else if distinct {
        wanted.min(length)
    } else {
        wanted
    };
    context.reply.array_header(reply_count);
    if reply_count == 0 {
        return;
    }
    let reply = &mut context.reply;
    // NOTE: the key was just found to be a set, so this cannot fail.
    let _ = store.set_random_members(db, key, wanted, distinct, now, |member| {
        reply.bulk(member);
    });
}

/// SMOVE source destination member: `:1` if it moved.
fn move_member<D: Door>(context: &mut Context<'_, '_, D>) {
    let (source, target, member) = (context.arg(1), context.arg(2), context.arg(3));
    let result = set::set_move(
        context.shards,
        context.session.db,
        source,
        target,
        member,
        context.now,
        context.log,
    );
    match result {
        Ok(moved) => context.reply.integer(i64::from(moved)),
        Err(error) => set_error(context, error),
    }
}

/// SINTER, SUNION, SDIFF key [key ...]: a set reply.
fn operation<D: Door>(context: &mut Context<'_, '_, D>, operation: SetOperation) {
    let args: &D::Args = context.args;
    let keys = (1..context.count()).map(|index| args.get(index).unwrap_or_default());
    let reply = &mut context.reply;
    let result = set::set_operation(
        context.shards,
        context.session.db,
        keys,
        operation,
        context.now,
        &mut |list| {
            let mut count = 0usize;
            list(&mut |_| count += 1);
            reply.set_header(count);
            list(&mut |member| reply.bulk(member));
        },
    );
    if let Err(error) = result {
        context.store_error(error);
    }
}

/// SINTERSTORE, SUNIONSTORE, SDIFFSTORE destination key [key ...]: the result's size.
fn operation_store<D: Door>(context: &mut Context<'_, '_, D>, operation: SetOperation) {
    let args: &D::Args = context.args;
    let keys = (2..context.count()).map(|index| args.get(index).unwrap_or_default());
    let target = context.arg(1);
    let result = set::set_operation_store(
        context.shards,
        context.session.db,
        target,
        keys,
        operation,
        context.now,
        context.log,
    );
    match result {
        Ok(count) => context.integer_reply(count),
        Err(error) => set_error(context, error),
    }
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]: the intersection's size, at most
/// `limit` (0: no limit).
fn intersection_cardinality<D: Door>(context: &mut Context<'_, '_, D>) {
    const NUMKEYS: &str = "ERR numkeys should be greater than 0";
    let key_count = match parse_integer_strict(context.arg(1)) {
        Some(count) if count > 0 => usize::try_from(count).unwrap_or(usize::MAX),
        _ => {
            context.error(NUMKEYS);
            return;
        }
    };
    if key_count > context.count() - 2 {
        context.error("ERR Number of keys can't be greater than number of args");
        return;
    }
    let mut limit = 0usize;
    let mut index = 2 + key_count;
    while index < context.count() {
        if is(context.arg(index), "limit") && index + 1 < context.count() {
            match parse_integer_strict(context.arg(index + 1)) {
                Some(value) if value >= 0 => {
                    limit = usize::try_from(value).unwrap_or(usize::MAX);
                }
                _ => {
                    context.error("ERR LIMIT can't be negative");
                    return;
                }
            }
            index += 2;
        } else {
            context.syntax_error();
            return;
        }
    }
    let args: &D::Args = context.args;
    let keys = (2..2 + key_count).map(|index| args.get(index).unwrap_or_default());
    let mut count = 0usize;
    let result = set::set_operation(
        context.shards,
        context.session.db,
        keys,
        SetOperation::Intersection,
        context.now,
        &mut |list| list(&mut |_| count += 1),
    );
    match result {
        Ok(()) if limit > 0 => context.integer_reply(count.min(limit)),
        Ok(()) => context.integer_reply(count),
        Err(error) => context.store_error(error),
    }
}

/// SSCAN: a compact set whole, with cursor 0 (see [`super::keys::scan_collection`]); a
/// large one part by part, the cursor being the next part's number. Parts only split into
/// higher-numbered ones, so every member present for the whole scan is returned at least
/// once, as Redis promises.
fn scan<D: Door>(context: &mut Context<'_, '_, D>) {
    let key = context.arg(1);
    let (db, now) = (context.session.db, context.now);
    let large = matches!(
        context.shards.store_for(key).set_view(db, key, now),
        Ok(Some(SetRead::Large(_)))
    );
    if !large {
        super::keys::scan_collection(context, ValueType::Set, |value, visit| {
            for member in SetView::new(value).members() {
                visit(member, None);
            }
        });
        return;
    }
    let Some((cursor, options)) = super::keys::scan_large_arguments(context) else {
        return;
    };
    let Ok(Some(SetRead::Large(set))) = context.shards.store_for(key).set_view(db, key, now) else {
        return;
    };
    super::keys::scan_parts(
        &mut context.reply,
        cursor,
        &options,
        set.part_count(),
        &|part, visit| {
            for member in set.part(part).members() {
                visit(member, None);
            }
        },
    );
}

#[cfg(test)]
mod tests;
