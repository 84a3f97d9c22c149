//! The multi-key forms: ZUNION, ZINTER, ZDIFF numkeys key [key ...] [WEIGHTS w ...]
//! [AGGREGATE SUM|MIN|MAX] [WITHSCORES], their STORE forms (a destination first, no
//! WITHSCORES), ZINTERCARD numkeys key [key ...] [LIMIT limit], and ZRANGESTORE's write.
//! Checked in Redis 7.0's order: the key count, then every key's type, then the options.
//! The keys may live in any shards (`store::zset::combine` reads them in place).

use super::range::{Request, select};
use super::{Command, Context, Door, arg, count_reply, fail, is, pair, parse_score};
use crate::codec::resp::Protocol;
use crate::store::zset::combine::{
    self, Aggregate, Combine, Operation, RangeCopy, Recipe, STORE_KEYS_MAX,
};

/// The options after the keys.
struct Options {
    /// Where WEIGHTS' first weight is, if given.
    weights: Option<usize>,
    aggregate: Aggregate,
    with_scores: bool,
    /// ZINTERCARD's LIMIT (0: none).
    limit: usize,
}

/// Runs a multi-key command.
pub(super) fn run<D: Door>(command: Command, context: &mut Context<'_, '_, D>) {
    let (operation, store) = match command {
        Command::Union => (Operation::Union, false),
        Command::UnionStore => (Operation::Union, true),
        Command::Inter | Command::InterCard => (Operation::Inter, false),
        Command::InterStore => (Operation::Inter, true),
        Command::Diff => (Operation::Diff, false),
        _ => (Operation::Diff, true),
    };
    let cardinality = command == Command::InterCard;
    let numkeys_index = if store { 2 } else { 1 };
    let Some(numkeys) = context.integer(numkeys_index) else {
        return;
    };
    if numkeys < 1 {
        let mut message = super::super::Message::new();
        message
            .push(b"ERR at least 1 input key is needed for '")
            .push(context.spec.name().as_bytes())
            .push(b"' command");
        context.reply.error(message.as_bytes());
        return;
    }
    let first_key = numkeys_index + 1;
    let key_count = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if key_count > context.count() - first_key {
        context.syntax_error();
        return;
    }
    if store && key_count > STORE_KEYS_MAX {
        context.error("ERR floe: a STORE form takes at most 256 input keys");
        return;
    }
    let args: &D::Args = context.args;
    let keys = |index: usize| arg(args, first_key + index);
    let (db, now) = (context.session.db, context.now);
    let options = parse_options(
        context,
        first_key + key_count,
        key_count,
        operation,
        store,
        cardinality,
    );
    let options = match options {
        Ok(options) => options,
        Err(message) => {
            // Redis checks every key's type before the options.
            let checked = combine::read(context.shards, db, &keys, key_count, now, &mut |_| {});
            match checked {
                Err(error) => context.store_error(error),
                Ok(()) => context.error(message),
            }
            return;
        }
    };
    let weight = |index: usize| {
        options
            .weights
            .and_then(|first| parse_score(arg(args, first + index)))
            .unwrap_or(1.0)
    };
    let combine = Combine {
        operation,
        aggregate: options.aggregate,
        weight: &weight,
    };
    if store {
        let destination = context.arg(1);
        let result = combine::store(
            context.shards,
            db,
            destination,
            &keys,
            key_count,
            &Recipe::Combine(&combine),
            now,
            context.log,
        );
        match result {
            Ok(members) => context.integer_reply(members),
            Err(error) => fail(context, error),
        }
        return;
    }
    let resp3 = context.reply.protocol() == Protocol::Resp3;
    let reply = &mut context.reply;
    let result = combine::read(context.shards, db, &keys, key_count, now, &mut |sources| {
        if cardinality {
            let mut members = 0;
            combine.candidates(sources, key_count, |_, _| {
                members += 1;
                options.limit == 0 || members < options.limit
            });
            count_reply(reply, members);
            return;
        }
        let (members, _) = combine.measure(sources, key_count);
        reply.array_header(if options.with_scores && !resp3 {
            members * 2
        } else {
            members
        });
        combine.visit_in_order(sources, key_count, |member, score| {
            if options.with_scores {
                pair(reply, member, score, resp3);
            } else {
                reply.bulk(member);
            }
        });
    });
    if let Err(error) = result {
        context.store_error(error);
    }
}

/// Reads the options from argument `first` on; the error message if they do not parse.
fn parse_options<D: Door>(
    context: &Context<'_, '_, D>,
    first: usize,
    key_count: usize,
    operation: Operation,
    store: bool,
    cardinality: bool,
) -> Result<Options, &'static str> {
    let mut options = Options {
        weights: None,
        aggregate: Aggregate::Sum,
        with_scores: false,
        limit: 0,
    };
    let scored = operation != Operation::Diff && !cardinality;
    let mut index = first;
    while index < context.count() {
        let option = context.arg(index);
        let remaining = context.count() - index;
        if scored && remaining > key_count && is(option, "weights") {
            let weights = index + 1;
            if (weights..weights + key_count).any(|at| parse_score(context.arg(at)).is_none()) {
                return Err("ERR weight value is not a float");
            }
            options.weights = Some(weights);
            index = weights + key_count;
        } else if scored && remaining >= 2 && is(option, "aggregate") {
            let value = context.arg(index + 1);
            options.aggregate = if is(value, "sum") {
                Aggregate::Sum
            } else if is(value, "min") {
                Aggregate::Min
            } else if is(value, "max") {
                Aggregate::Max
            } else {
                return Err("ERR syntax error");
            };
            index += 2;
        } else if !store && !cardinality && is(option, "withscores") {
            options.with_scores = true;
            index += 1;
        } else if cardinality && remaining >= 2 && is(option, "limit") {
            let limit = super::super::parse_integer(context.arg(index + 1))
                .and_then(|limit| usize::try_from(limit).ok());
            let Some(limit) = limit else {
                return Err("ERR LIMIT can't be negative");
            };
            options.limit = limit;
            index += 2;
        } else {
            return Err("ERR syntax error");
        }
    }
    Ok(options)
}

/// ZRANGESTORE dst src ...: stores the range `request` selects (or deletes `dst` when it
/// is empty) and replies with its size.
pub(super) fn range_store<D: Door>(context: &mut Context<'_, '_, D>, request: &Request<'_>) {
    let (db, now) = (context.session.db, context.now);
    let destination = context.arg(1);
    let source = request.key;
    let window = |zset: &crate::store::zset::ZsetRead<'_>| select(zset, request);
    let copy = RangeCopy { window: &window };
    let result = combine::store(
        context.shards,
        db,
        destination,
        &|_| source,
        1,
        &Recipe::Range(copy),
        now,
        context.log,
    );
    match result {
        Ok(members) => context.integer_reply(members),
        Err(error) => fail(context, error),
    }
}
