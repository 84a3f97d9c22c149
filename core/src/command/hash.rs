//! The hash family: HSET, HSETNX, HMSET, HGET, HMGET, HDEL, HEXISTS, HLEN, HSTRLEN,
//! HGETALL, HKEYS, HVALS, HINCRBY, HINCRBYFLOAT, HRANDFIELD and HSCAN, over the compact
//! encoding of `store/hash.rs`.
//!
//! Arguments are checked in Redis's order (an increment before the key's type, HSCAN's
//! cursor before it, its options after), and a key holding a string gets `WRONGTYPE`
//! before anything changes. Replies follow Redis 7: HGETALL is a map in RESP3, HRANDFIELD
//! WITHVALUES a list of pairs, HSCAN returns a whole compact hash with cursor 0 (as Redis
//! does for a listpack).

use super::{Arguments, Context, Door, arity_error, bulk_or_null};
use crate::codec::resp::{Protocol, ReplySink, ReplyWriter};
use crate::error::StoreError;
use crate::store::ValueType;
use crate::store::hash::{HashRead, HashView};
use crate::text::parse_double_or_infinity;

/// The commands of this family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Command {
    Del,
    Exists,
    Get,
    GetAll,
    IncrBy,
    IncrByFloat,
    Keys,
    Len,
    MGet,
    MSet,
    RandField,
    Scan,
    Set,
    SetNx,
    StrLen,
    Vals,
}

/// What HGETALL, HKEYS and HVALS list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listing {
    All,
    Keys,
    Values,
}

/// Runs one command of the family; its arity was checked.
pub(super) fn run<D: Door>(command: Command, context: &mut Context<'_, '_, D>) {
    match command {
        Command::Set | Command::MSet => set(context, command == Command::MSet),
        Command::SetNx => {
            let (key, field, value) = (context.arg(1), context.arg(2), context.arg(3));
            let result = context.shards.store_for(key).hash_set(
                context.session.db,
                key,
                core::iter::once((field, value)),
                true,
                context.now,
                context.log,
            );
            match result {
                Ok(added) => context.integer_reply(added),
                Err(error) => hash_error(context, error),
            }
        }
        Command::Del => {
            let key = context.arg(1);
            let args: &D::Args = context.args;
            let fields = (2..context.count()).map(|index| args.get(index).unwrap_or_default());
            let result = context.shards.store_for(key).hash_delete(
                context.session.db,
                key,
                fields,
                context.now,
                context.log,
            );
            match result {
                Ok(removed) => context.integer_reply(removed),
                Err(error) => hash_error(context, error),
            }
        }
        Command::Get => read(context, |reply, args, hash| {
            let value = hash.and_then(|hash| hash.get(arg(args, 2)));
            bulk_or_null(reply, value);
        }),
        Command::Exists => read(context, |reply, args, hash| {
            let exists = hash.is_some_and(|hash| hash.get(arg(args, 2)).is_some());
            reply.integer(i64::from(exists));
        }),
        Command::StrLen => read(context, |reply, args, hash| {
            let value = hash.and_then(|hash| hash.get(arg(args, 2)));
            count_reply(reply, value.map_or(0, <[u8]>::len));
        }),
        Command::Len => read(context, |reply, _, hash| {
            count_reply(reply, hash.map_or(0, |hash| hash.len()));
        }),
        Command::MGet => read(context, |reply, args, hash| {
            reply.array_header(args.count() - 2);
            for index in 2..args.count() {
                let value = hash.and_then(|hash| hash.get(arg(args, index)));
                bulk_or_null(reply, value);
            }
        }),
        Command::GetAll => list(context, Listing::All),
        Command::Keys => list(context, Listing::Keys),
        Command::Vals => list(context, Listing::Values),
        Command::IncrBy => {
            let Some(delta) = context.integer(3) else {
                return;
            };
            let (key, field) = (context.arg(1), context.arg(2));
            let result = context.shards.store_for(key).hash_incr_by(
                context.session.db,
                key,
                field,
                delta,
                context.now,
                context.log,
            );
            match result {
                Ok(value) => context.reply.integer(value),
                Err(error) => hash_error(context, error),
            }
        }
        Command::IncrByFloat => incr_by_float(context),
        Command::RandField => random_field(context),
        Command::Scan => scan(context),
    }
}

/// Runs `reply` with the reply writer, the arguments and the hash at argument 1 (`None`
/// if absent), or replies WRONGTYPE.
fn read<D: Door>(
    context: &mut Context<'_, '_, D>,
    reply: impl FnOnce(&mut ReplyWriter<'_, D::Sink>, &D::Args, Option<HashRead<'_>>),
) {
    let key = context.arg(1);
    let args: &D::Args = context.args;
    let (db, now) = (context.session.db, context.now);
    match context.shards.store_for(key).hash_view(db, key, now) {
        Ok(hash) => reply(&mut context.reply, args, hash),
        Err(error) => context.reply.error(error.message().as_bytes()),
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

/// HSET and HMSET key field value [field value ...].
fn set<D: Door>(context: &mut Context<'_, '_, D>, reply_ok: bool) {
    if !context.count().is_multiple_of(2) {
        arity_error(&mut context.reply, context.spec.name(), "");
        return;
    }
    let key = context.arg(1);
    let args: &D::Args = context.args;
    let argument = |index: usize| args.get(index).unwrap_or_default();
    let pairs =
        (0..(context.count() - 2) / 2).map(|pair| (argument(2 + 2 * pair), argument(3 + 2 * pair)));
    let result = context.shards.store_for(key).hash_set(
        context.session.db,
        key,
        pairs,
        false,
        context.now,
        context.log,
    );
    match result {
        Ok(_) if reply_ok => context.ok(),
        Ok(added) => context.integer_reply(added),
        Err(error) => hash_error(context, error),
    }
}

/// HGETALL (a map in RESP3), HKEYS, HVALS.
fn list<D: Door>(context: &mut Context<'_, '_, D>, listing: Listing) {
    read(context, |reply, _, hash| {
        let count = hash.map_or(0, |hash| hash.len());
        match listing {
            Listing::All => reply.map_header(count),
            Listing::Keys | Listing::Values => reply.array_header(count),
        }
        for entry in hash.iter().flat_map(HashRead::entries) {
            if listing != Listing::Values {
                reply.bulk(entry.field);
            }
            if listing != Listing::Keys {
                reply.bulk(entry.value);
            }
        }
    });
}

/// HINCRBYFLOAT key field increment.
fn incr_by_float<D: Door>(context: &mut Context<'_, '_, D>) {
    let Some(delta) = parse_double_or_infinity(context.arg(3)) else {
        context.error("ERR value is not a valid float");
        return;
    };
    if !delta.is_finite() {
        context.error("ERR value is NaN or Infinity");
        return;
    }
    let (key, field) = (context.arg(1), context.arg(2));
    let result = context.shards.store_for(key).hash_incr_by_float(
        context.session.db,
        key,
        field,
        delta,
        context.now,
        context.log,
    );
    match result {
        Ok(text) => context.reply.bulk(text),
        Err(error) => hash_error(context, error),
    }
}

/// floe's refusal of a larger negative HRANDFIELD count.
const RANDOM_COUNT_TOO_LARGE: &str =
    "ERR count is out of range: HRANDFIELD returns at most 1048576 fields with repetition";

/// HRANDFIELD key [count [WITHVALUES]].
fn random_field<D: Door>(context: &mut Context<'_, '_, D>) {
    let key = context.arg(1);
    let (db, now) = (context.session.db, context.now);
    if context.count() == 2 {
        let store = context.shards.store_for(key);
        match store.hash_view(db, key, now) {
            Ok(Some(_)) => {}
            Ok(None) => {
                context.reply.null();
                return;
            }
            Err(error) => {
                hash_error(context, error);
                return;
            }
        }
        let reply = &mut context.reply;
        let _ = store.hash_random_fields(db, key, 1, true, now, |field, _| reply.bulk(field));
        return;
    }
    let Some((count, with_values)) = context.random_count("withvalues", RANDOM_COUNT_TOO_LARGE)
    else {
        return;
    };
    let store = context.shards.store_for(key);
    let length = match store.hash_view(db, key, now) {
        Ok(hash) => hash.map_or(0, |hash| hash.len()),
        Err(error) => {
            hash_error(context, error);
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
    let resp3 = context.reply.protocol() == Protocol::Resp3;
    let header = if with_values && !resp3 {
        reply_count.saturating_mul(2)
    } else {
        reply_count
    };
    context.reply.array_header(header);
    if reply_count == 0 {
        return;
    }
    let reply = &mut context.reply;
    let _ = store.hash_random_fields(db, key, wanted, distinct, now, |field, value| {
        if with_values && resp3 {
            reply.array_header(2);
        }
        reply.bulk(field);
        if with_values {
            reply.bulk(value);
        }
    });
}

/// HSCAN: a compact hash whole, field then value, with cursor 0 (see
/// [`super::keys::scan_collection`]); a large one part by part, the cursor being the next
/// part's number. Parts only split into higher-numbered ones, so every field present for
/// the whole scan is returned at least once, as Redis promises.
fn scan<D: Door>(context: &mut Context<'_, '_, D>) {
    let key = context.arg(1);
    let (db, now) = (context.session.db, context.now);
    let large = matches!(
        context.shards.store_for(key).hash_view(db, key, now),
        Ok(Some(HashRead::Large(_)))
    );
    if !large {
        super::keys::scan_collection(context, ValueType::Hash, |value, visit| {
            for entry in HashView::new(value).entries() {
                visit(entry.field, Some(entry.value));
            }
        });
        return;
    }
    let Some((cursor, options)) = super::keys::scan_large_arguments(context) else {
        return;
    };
    let Ok(Some(HashRead::Large(hash))) = context.shards.store_for(key).hash_view(db, key, now)
    else {
        return;
    };
    super::keys::scan_parts(
        &mut context.reply,
        cursor,
        &options,
        hash.part_count(),
        &|part, visit| {
            for entry in hash.part(part).entries() {
                visit(entry.field, Some(entry.value));
            }
        },
    );
}

/// floe's refusal of a hash that would pass the item size limit.
const HASH_TOO_LARGE: &str = "ERR hash exceeds the maximum size of an item (value-size-max: a \
                              compact hash, or one part of a large hash, is one item)";

/// Replies with a store error, naming hashes where the message names a collection.
fn hash_error<D: Door>(context: &mut Context<'_, '_, D>, error: StoreError) {
    match error {
        StoreError::CollectionTooLarge => context.error(HASH_TOO_LARGE),
        error => context.store_error(error),
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::{Harness, differ, same};
    use crate::codec::resp::Protocol;

    /// A hash past the item size limit is refused with its own name, never another
    /// type's, and nothing changes.
    #[test]
    fn a_hash_past_the_item_limit_names_itself() {
        use std::string::String;

        let mut harness = Harness::new(Protocol::Resp2);
        let limit = harness.store.config().value_size_max as usize;
        let big = "v".repeat(limit);
        for line in [
            std::format!("HSET h f {big}"),
            std::format!("HSETNX h f {big}"),
            std::format!("HMSET h f {big}"),
        ] {
            let reply = String::from_utf8(harness.run(&line)).expect("text");
            assert!(
                reply.starts_with("-ERR hash exceeds the maximum size of an item (value-size-max"),
                "{reply}"
            );
            assert_eq!(harness.run("EXISTS h"), b":0\r\n");
        }
    }

    #[test]
    fn scan_type_object_and_memory_see_hashes() {
        let mut harness = Harness::new(Protocol::Resp2);
        harness.run("HSET h f v");
        harness.run("SET s v");
        assert_eq!(
            harness.run("SCAN 0 TYPE hash COUNT 100000"),
            b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\nh\r\n"
        );
        assert_eq!(
            harness.run("SCAN 0 TYPE string COUNT 100000"),
            b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\ns\r\n"
        );
        assert_eq!(harness.run("OBJECT ENCODING h"), b"$8\r\nlistpack\r\n");
        assert_eq!(harness.run("TYPE h"), b"+hash\r\n");
        // One item: its header, key, type byte and one entry, plus the table slot.
        let usage = harness.run("MEMORY USAGE h");
        assert!(usage.starts_with(b":"), "{usage:?}");
    }

    /// Random hash (and a few string) commands with arguments from a pool of edge cases:
    /// every reply is one frame, and no error reply comes with a log record (the harness
    /// checks both on every call), in both protocols, in a small store that fills up.
    #[test]
    fn random_commands_keep_the_table_invariants() {
        use crate::store::Config;
        use proptest::prelude::*;
        use std::vec::Vec;

        const NAMES: [&str; 22] = [
            "HSET",
            "HSETNX",
            "HMSET",
            "HGET",
            "HMGET",
            "HDEL",
            "HEXISTS",
            "HLEN",
            "HSTRLEN",
            "HGETALL",
            "HKEYS",
            "HVALS",
            "HINCRBY",
            "HINCRBYFLOAT",
            "HRANDFIELD",
            "HSCAN",
            "SET",
            "GET",
            "APPEND",
            "EXPIRE",
            "DEL",
            "TYPE",
        ];
        const WORDS: [&str; 20] = [
            "k",
            "h",
            "f",
            "g",
            "0",
            "1",
            "-1",
            "-3",
            "5",
            "2.5",
            "inf",
            "nan",
            "x",
            "9223372036854775807",
            "-9223372036854775808",
            "WITHVALUES",
            "MATCH",
            "COUNT",
            "*",
            "\"\"",
        ];
        let command = (0..NAMES.len(), prop::collection::vec(0..WORDS.len(), 0..7));
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
        runner
            .run(&prop::collection::vec(command, 1..40), |commands| {
                for protocol in [Protocol::Resp2, Protocol::Resp3] {
                    let mut harness = Harness::with_config(Config::new(16 * 1024, 64), protocol);
                    for (name, words) in &commands {
                        let mut line = std::string::String::from(NAMES[*name]);
                        for word in words {
                            line.push(' ');
                            line.push_str(WORDS[*word]);
                        }
                        let _ = harness.run(&line);
                    }
                    let _: Vec<u8> = harness.run("HGETALL h");
                }
                Ok(())
            })
            .expect("invariants hold");
    }

    #[test]
    fn replies_in_both_protocols() {
        Harness::check(&[
            same("HSET h a 1 b 2", ":2\r\n"),
            differ(
                "HGETALL h",
                "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n",
                "%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n",
            ),
            same("HINCRBYFLOAT h a 0.5", "$3\r\n1.5\r\n"),
            differ(
                "HRANDFIELD h 5 WITHVALUES",
                "*4\r\n$1\r\na\r\n$3\r\n1.5\r\n$1\r\nb\r\n$1\r\n2\r\n",
                "*2\r\n*2\r\n$1\r\na\r\n$3\r\n1.5\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
            ),
            same(
                "HRANDFIELD h -1048577",
                "-ERR count is out of range: HRANDFIELD returns at most 1048576 fields with \
                 repetition\r\n",
            ),
            same("HDEL h a b", ":2\r\n"),
            same("EXISTS h", ":0\r\n"),
        ]);
    }
}
