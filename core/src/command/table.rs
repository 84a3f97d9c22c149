//! The table itself: every command's [`CommandSpec`] (name, arity, flags, key positions,
//! handler), sorted by name, and [`lookup`], which finds a name in it by its first letter's
//! range and a binary search, without allocating.

use super::list::blocking::Blocking;
use super::zset::blocking::Pop as ZPop;
use super::{
    ADMIN, CommandSpec, Handler, NAME_SIZE_MAX, READONLY, STORE_KEY, WRITE, dump, hash, keys, list,
    server, set, sort, strings, transfer, zset,
};
use crate::store::list::End;

/// Builds a table entry; `keys` is `(first, last, step)` as in `COMMAND INFO`.
const fn spec(
    name: &'static str,
    arity: i8,
    flags: u8,
    keys: (u8, i8, u8),
    handler: Handler,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        key_first: keys.0,
        key_last: keys.1,
        key_step: keys.2,
        numkeys_index: 0,
        handler,
    }
}

/// `spec` with its keys also counted by the argument at `numkeys_index` (see
/// [`CommandSpec::key_indexes_of`]).
const fn movable(spec: CommandSpec, numkeys_index: u8) -> CommandSpec {
    CommandSpec {
        numkeys_index,
        ..spec
    }
}

const NO_KEYS: (u8, i8, u8) = (0, 0, 0);
const ONE_KEY: (u8, i8, u8) = (1, 1, 1);
const ALL_KEYS: (u8, i8, u8) = (1, -1, 1);
const PAIRS: (u8, i8, u8) = (1, -1, 2);

/// Every command, sorted by name (binary search; a test checks the order).
pub static COMMANDS: [CommandSpec; COMMAND_COUNT] = COMMAND_TABLE;

const COMMAND_COUNT: usize = 187;

/// For each letter `a` to `z`, the range of [`COMMANDS`] whose names start with it: a
/// lookup searches only its letter's few names.
static BY_FIRST_LETTER: [(u8, u8); 26] = first_letter_ranges(&COMMAND_TABLE);

const fn first_letter_ranges(table: &[CommandSpec; COMMAND_COUNT]) -> [(u8, u8); 26] {
    let mut ranges = [(0u8, 0u8); 26];
    let mut index = 0;
    while index < table.len() {
        let letter = (table[index].name.as_bytes()[0] - b'a') as usize;
        #[expect(
            clippy::cast_possible_truncation,
            reason = "COMMAND_COUNT < 256, asserted"
        )]
        let position = index as u8;
        if ranges[letter].1 == 0 {
            ranges[letter].0 = position;
        }
        ranges[letter].1 = position + 1;
        index += 1;
    }
    ranges
}

const _: () = assert!(COMMAND_COUNT < 256);

// NOTE: kept out of rustfmt so that each command stays one line of the table.
#[rustfmt::skip]
const COMMAND_TABLE: [CommandSpec; COMMAND_COUNT] = [
    spec("acl", -2, 0, NO_KEYS, Handler::Server(server::Command::Acl)),
    spec("append", 3, WRITE, ONE_KEY, Handler::Strings(strings::Command::Append)),
    spec("asking", 1, 0, NO_KEYS, Handler::Server(server::Command::Cluster)),
    spec("auth", -2, 0, NO_KEYS, Handler::Server(server::Command::Auth)),
    spec("bgrewriteaof", 1, ADMIN, NO_KEYS, Handler::Server(server::Command::BackgroundRewriteLog)),
    spec("bgsave", -1, ADMIN, NO_KEYS, Handler::Server(server::Command::BackgroundSave)),
    spec("blmove", 6, WRITE, (1, 2, 1), Handler::List(list::Command::Blocking(Blocking::Move))),
    movable(spec("blmpop", -5, WRITE, NO_KEYS, Handler::List(list::Command::Blocking(Blocking::MPop))), 2),
    spec("blpop", -3, WRITE, (1, -2, 1), Handler::List(list::Command::Blocking(Blocking::Pop(End::Head)))),
    spec("brpop", -3, WRITE, (1, -2, 1), Handler::List(list::Command::Blocking(Blocking::Pop(End::Tail)))),
    spec("brpoplpush", 4, WRITE, (1, 2, 1), Handler::List(list::Command::Blocking(Blocking::PopPush))),
    movable(spec("bzmpop", -5, WRITE, NO_KEYS, Handler::Zset(zset::Command::MultiPop(ZPop::BlockingCounted))), 2),
    spec("bzpopmax", -3, WRITE, (1, -2, 1), Handler::Zset(zset::Command::MultiPop(ZPop::Blocking(true)))),
    spec("bzpopmin", -3, WRITE, (1, -2, 1), Handler::Zset(zset::Command::MultiPop(ZPop::Blocking(false)))),
    spec("client", -2, 0, NO_KEYS, Handler::Server(server::Command::Client)),
    spec("cluster", -2, 0, NO_KEYS, Handler::Server(server::Command::Cluster)),
    spec("command", -1, 0, NO_KEYS, Handler::Server(server::Command::Introspect)),
    spec("config", -2, ADMIN, NO_KEYS, Handler::Server(server::Command::Config)),
    spec("copy", -3, WRITE, (1, 2, 1), Handler::Transfer(transfer::Command::Copy)),
    spec("dbsize", 1, READONLY, NO_KEYS, Handler::Keys(keys::Command::DbSize)),
    spec("decr", 2, WRITE, ONE_KEY, Handler::Strings(strings::Command::Decr)),
    spec("decrby", 3, WRITE, ONE_KEY, Handler::Strings(strings::Command::DecrBy)),
    spec("del", -2, WRITE, ALL_KEYS, Handler::Keys(keys::Command::Del)),
    spec("discard", 1, 0, NO_KEYS, Handler::Server(server::Command::Discard)),
    spec("dump", 2, READONLY, ONE_KEY, Handler::Dump(dump::Command::Dump)),
    spec("echo", 2, 0, NO_KEYS, Handler::Server(server::Command::Echo)),
    spec("exec", 1, 0, NO_KEYS, Handler::Server(server::Command::Exec)),
    spec("exists", -2, READONLY, ALL_KEYS, Handler::Keys(keys::Command::Exists)),
    spec("expire", -3, WRITE, ONE_KEY, Handler::Keys(keys::Command::Expire)),
    spec("expireat", -3, WRITE, ONE_KEY, Handler::Keys(keys::Command::ExpireAt)),
    spec("expiretime", 2, READONLY, ONE_KEY, Handler::Keys(keys::Command::ExpireTime)),
    spec("floesync", -2, ADMIN, NO_KEYS, Handler::Server(server::Command::Replication)),
    spec("flushall", -1, WRITE, NO_KEYS, Handler::Keys(keys::Command::FlushAll)),
    spec("flushdb", -1, WRITE, NO_KEYS, Handler::Keys(keys::Command::FlushDb)),
    spec("function", -2, 0, NO_KEYS, Handler::Server(server::Command::Function)),
    spec("get", 2, READONLY, ONE_KEY, Handler::Strings(strings::Command::Get)),
    spec("getdel", 2, WRITE, ONE_KEY, Handler::Strings(strings::Command::GetDel)),
    spec("getex", -2, WRITE, ONE_KEY, Handler::Strings(strings::Command::GetEx)),
    spec("getrange", 4, READONLY, ONE_KEY, Handler::Strings(strings::Command::GetRange)),
    spec("getset", 3, WRITE, ONE_KEY, Handler::Strings(strings::Command::GetSet)),
    spec("hdel", -3, WRITE, ONE_KEY, Handler::Hash(hash::Command::Del)),
    spec("hello", -1, 0, NO_KEYS, Handler::Server(server::Command::Hello)),
    spec("hexists", 3, READONLY, ONE_KEY, Handler::Hash(hash::Command::Exists)),
    spec("hget", 3, READONLY, ONE_KEY, Handler::Hash(hash::Command::Get)),
    spec("hgetall", 2, READONLY, ONE_KEY, Handler::Hash(hash::Command::GetAll)),
    spec("hincrby", 4, WRITE, ONE_KEY, Handler::Hash(hash::Command::IncrBy)),
    spec("hincrbyfloat", 4, WRITE, ONE_KEY, Handler::Hash(hash::Command::IncrByFloat)),
    spec("hkeys", 2, READONLY, ONE_KEY, Handler::Hash(hash::Command::Keys)),
    spec("hlen", 2, READONLY, ONE_KEY, Handler::Hash(hash::Command::Len)),
    spec("hmget", -3, READONLY, ONE_KEY, Handler::Hash(hash::Command::MGet)),
    spec("hmset", -4, WRITE, ONE_KEY, Handler::Hash(hash::Command::MSet)),
    spec("hrandfield", -2, READONLY, ONE_KEY, Handler::Hash(hash::Command::RandField)),
    spec("hscan", -3, READONLY, ONE_KEY, Handler::Hash(hash::Command::Scan)),
    spec("hset", -4, WRITE, ONE_KEY, Handler::Hash(hash::Command::Set)),
    spec("hsetnx", 4, WRITE, ONE_KEY, Handler::Hash(hash::Command::SetNx)),
    spec("hstrlen", 3, READONLY, ONE_KEY, Handler::Hash(hash::Command::StrLen)),
    spec("hvals", 2, READONLY, ONE_KEY, Handler::Hash(hash::Command::Vals)),
    spec("incr", 2, WRITE, ONE_KEY, Handler::Strings(strings::Command::Incr)),
    spec("incrby", 3, WRITE, ONE_KEY, Handler::Strings(strings::Command::IncrBy)),
    spec("incrbyfloat", 3, WRITE, ONE_KEY, Handler::Strings(strings::Command::IncrByFloat)),
    spec("info", -1, 0, NO_KEYS, Handler::Server(server::Command::Info)),
    spec("keys", 2, READONLY, NO_KEYS, Handler::Keys(keys::Command::Keys)),
    spec("lastsave", 1, 0, NO_KEYS, Handler::Server(server::Command::LastSave)),
    spec("latency", -2, 0, NO_KEYS, Handler::Server(server::Command::Latency)),
    spec("lindex", 3, READONLY, ONE_KEY, Handler::List(list::Command::Index)),
    spec("linsert", 5, WRITE, ONE_KEY, Handler::List(list::Command::Insert)),
    spec("llen", 2, READONLY, ONE_KEY, Handler::List(list::Command::Len)),
    spec("lmove", 5, WRITE, (1, 2, 1), Handler::List(list::Command::Move)),
    movable(spec("lmpop", -4, WRITE, NO_KEYS, Handler::List(list::Command::MPop)), 1),
    spec("lpop", -2, WRITE, ONE_KEY, Handler::List(list::Command::Pop(End::Head))),
    spec("lpos", -3, READONLY, ONE_KEY, Handler::List(list::Command::Pos)),
    spec("lpush", -3, WRITE, ONE_KEY, Handler::List(list::Command::Push(End::Head))),
    spec("lpushx", -3, WRITE, ONE_KEY, Handler::List(list::Command::PushX(End::Head))),
    spec("lrange", 4, READONLY, ONE_KEY, Handler::List(list::Command::Range)),
    spec("lrem", 4, WRITE, ONE_KEY, Handler::List(list::Command::Rem)),
    spec("lset", 4, WRITE, ONE_KEY, Handler::List(list::Command::Set)),
    spec("ltrim", 4, WRITE, ONE_KEY, Handler::List(list::Command::Trim)),
    spec("memory", -2, 0, NO_KEYS, Handler::Keys(keys::Command::Memory)),
    spec("mget", -2, READONLY, ALL_KEYS, Handler::Strings(strings::Command::MGet)),
    spec("move", 3, WRITE, ONE_KEY, Handler::Transfer(transfer::Command::Move)),
    spec("mset", -3, WRITE, PAIRS, Handler::Strings(strings::Command::MSet)),
    spec("msetnx", -3, WRITE, PAIRS, Handler::Strings(strings::Command::MSetNx)),
    spec("multi", 1, 0, NO_KEYS, Handler::Server(server::Command::Multi)),
    spec("object", -2, 0, NO_KEYS, Handler::Keys(keys::Command::Object)),
    spec("persist", 2, WRITE, ONE_KEY, Handler::Keys(keys::Command::Persist)),
    spec("pexpire", -3, WRITE, ONE_KEY, Handler::Keys(keys::Command::PExpire)),
    spec("pexpireat", -3, WRITE, ONE_KEY, Handler::Keys(keys::Command::PExpireAt)),
    spec("pexpiretime", 2, READONLY, ONE_KEY, Handler::Keys(keys::Command::PExpireTime)),
    spec("ping", -1, 0, NO_KEYS, Handler::Server(server::Command::Ping)),
    spec("psetex", 4, WRITE, ONE_KEY, Handler::Strings(strings::Command::PSetEx)),
    spec("psubscribe", -2, 0, NO_KEYS, Handler::Server(server::Command::PubSub)),
    spec("pttl", 2, READONLY, ONE_KEY, Handler::Keys(keys::Command::PTtl)),
    spec("publish", 3, 0, NO_KEYS, Handler::Server(server::Command::PubSub)),
    spec("pubsub", -2, 0, NO_KEYS, Handler::Server(server::Command::PubSub)),
    spec("punsubscribe", -1, 0, NO_KEYS, Handler::Server(server::Command::PubSub)),
    spec("quit", -1, 0, NO_KEYS, Handler::Server(server::Command::Quit)),
    spec("randomkey", 1, READONLY, NO_KEYS, Handler::Keys(keys::Command::RandomKey)),
    spec("readonly", 1, 0, NO_KEYS, Handler::Server(server::Command::Cluster)),
    spec("readwrite", 1, 0, NO_KEYS, Handler::Server(server::Command::Cluster)),
    spec("rename", 3, WRITE, (1, 2, 1), Handler::Transfer(transfer::Command::Rename)),
    spec("renamenx", 3, WRITE, (1, 2, 1), Handler::Transfer(transfer::Command::RenameNx)),
    spec("replicaof", 3, ADMIN, NO_KEYS, Handler::Server(server::Command::Replication)),
    spec("reset", 1, 0, NO_KEYS, Handler::Server(server::Command::Reset)),
    spec("restore", -4, WRITE, ONE_KEY, Handler::Dump(dump::Command::Restore)),
    spec("role", 1, 0, NO_KEYS, Handler::Server(server::Command::Replication)),
    spec("rpop", -2, WRITE, ONE_KEY, Handler::List(list::Command::Pop(End::Tail))),
    spec("rpoplpush", 3, WRITE, (1, 2, 1), Handler::List(list::Command::PopPush)),
    spec("rpush", -3, WRITE, ONE_KEY, Handler::List(list::Command::Push(End::Tail))),
    spec("rpushx", -3, WRITE, ONE_KEY, Handler::List(list::Command::PushX(End::Tail))),
    spec("sadd", -3, WRITE, ONE_KEY, Handler::Set(set::Command::Add)),
    spec("save", 1, ADMIN, NO_KEYS, Handler::Server(server::Command::Save)),
    spec("scan", -2, READONLY, NO_KEYS, Handler::Keys(keys::Command::Scan)),
    spec("scard", 2, READONLY, ONE_KEY, Handler::Set(set::Command::Card)),
    spec("script", -2, 0, NO_KEYS, Handler::Server(server::Command::Script)),
    spec("sdiff", -2, READONLY, ALL_KEYS, Handler::Set(set::Command::Diff)),
    spec("sdiffstore", -3, WRITE, ALL_KEYS, Handler::Set(set::Command::DiffStore)),
    spec("select", 2, 0, NO_KEYS, Handler::Server(server::Command::Select)),
    spec("set", -3, WRITE, ONE_KEY, Handler::Strings(strings::Command::Set)),
    spec("setex", 4, WRITE, ONE_KEY, Handler::Strings(strings::Command::SetEx)),
    spec("setnx", 3, WRITE, ONE_KEY, Handler::Strings(strings::Command::SetNx)),
    spec("setrange", 4, WRITE, ONE_KEY, Handler::Strings(strings::Command::SetRange)),
    spec("shutdown", -1, ADMIN, NO_KEYS, Handler::Server(server::Command::Shutdown)),
    spec("sinter", -2, READONLY, ALL_KEYS, Handler::Set(set::Command::Inter)),
    movable(spec("sintercard", -3, READONLY, NO_KEYS, Handler::Set(set::Command::InterCard)), 1),
    spec("sinterstore", -3, WRITE, ALL_KEYS, Handler::Set(set::Command::InterStore)),
    spec("sismember", 3, READONLY, ONE_KEY, Handler::Set(set::Command::IsMember)),
    spec("slaveof", 3, ADMIN, NO_KEYS, Handler::Server(server::Command::Replication)),
    spec("slowlog", -2, 0, NO_KEYS, Handler::Server(server::Command::SlowLog)),
    spec("smembers", 2, READONLY, ONE_KEY, Handler::Set(set::Command::Members)),
    spec("smismember", -3, READONLY, ONE_KEY, Handler::Set(set::Command::MIsMember)),
    spec("smove", 4, WRITE, (1, 2, 1), Handler::Set(set::Command::Move)),
    spec("sort", -2, WRITE | STORE_KEY, ONE_KEY, Handler::Sort(sort::Command::Sort)),
    spec("sort_ro", -2, READONLY | STORE_KEY, ONE_KEY, Handler::Sort(sort::Command::SortRo)),
    spec("spop", -2, WRITE, ONE_KEY, Handler::Set(set::Command::Pop)),
    spec("spublish", 3, 0, NO_KEYS, Handler::Server(server::Command::PubSub)),
    spec("srandmember", -2, READONLY, ONE_KEY, Handler::Set(set::Command::RandMember)),
    spec("srem", -3, WRITE, ONE_KEY, Handler::Set(set::Command::Rem)),
    spec("sscan", -3, READONLY, ONE_KEY, Handler::Set(set::Command::Scan)),
    spec("ssubscribe", -2, 0, NO_KEYS, Handler::Server(server::Command::PubSub)),
    spec("strlen", 2, READONLY, ONE_KEY, Handler::Strings(strings::Command::StrLen)),
    spec("subscribe", -2, 0, NO_KEYS, Handler::Server(server::Command::PubSub)),
    spec("substr", 4, READONLY, ONE_KEY, Handler::Strings(strings::Command::GetRange)),
    spec("sunion", -2, READONLY, ALL_KEYS, Handler::Set(set::Command::Union)),
    spec("sunionstore", -3, WRITE, ALL_KEYS, Handler::Set(set::Command::UnionStore)),
    spec("sunsubscribe", -1, 0, NO_KEYS, Handler::Server(server::Command::PubSub)),
    spec("swapdb", 3, WRITE, NO_KEYS, Handler::Transfer(transfer::Command::SwapDb)),
    spec("time", 1, 0, NO_KEYS, Handler::Server(server::Command::Time)),
    spec("touch", -2, READONLY, ALL_KEYS, Handler::Keys(keys::Command::Touch)),
    spec("ttl", 2, READONLY, ONE_KEY, Handler::Keys(keys::Command::Ttl)),
    spec("type", 2, READONLY, ONE_KEY, Handler::Keys(keys::Command::Type)),
    spec("unlink", -2, WRITE, ALL_KEYS, Handler::Keys(keys::Command::Del)),
    spec("unsubscribe", -1, 0, NO_KEYS, Handler::Server(server::Command::PubSub)),
    spec("unwatch", 1, 0, NO_KEYS, Handler::Server(server::Command::Unwatch)),
    spec("wait", 3, 0, NO_KEYS, Handler::Server(server::Command::Wait)),
    spec("watch", -2, 0, ALL_KEYS, Handler::Server(server::Command::Watch)),
    spec("zadd", -4, WRITE, ONE_KEY, Handler::Zset(zset::Command::Add)),
    spec("zcard", 2, READONLY, ONE_KEY, Handler::Zset(zset::Command::Card)),
    spec("zcount", 4, READONLY, ONE_KEY, Handler::Zset(zset::Command::Count)),
    movable(spec("zdiff", -3, READONLY, NO_KEYS, Handler::Zset(zset::Command::Diff)), 1),
    movable(spec("zdiffstore", -4, WRITE, ONE_KEY, Handler::Zset(zset::Command::DiffStore)), 2),
    spec("zincrby", 4, WRITE, ONE_KEY, Handler::Zset(zset::Command::IncrBy)),
    movable(spec("zinter", -3, READONLY, NO_KEYS, Handler::Zset(zset::Command::Inter)), 1),
    movable(spec("zintercard", -3, READONLY, NO_KEYS, Handler::Zset(zset::Command::InterCard)), 1),
    movable(spec("zinterstore", -4, WRITE, ONE_KEY, Handler::Zset(zset::Command::InterStore)), 2),
    spec("zlexcount", 4, READONLY, ONE_KEY, Handler::Zset(zset::Command::LexCount)),
    movable(spec("zmpop", -4, WRITE, NO_KEYS, Handler::Zset(zset::Command::MultiPop(ZPop::Counted))), 1),
    spec("zmscore", -3, READONLY, ONE_KEY, Handler::Zset(zset::Command::MScore)),
    spec("zpopmax", -2, WRITE, ONE_KEY, Handler::Zset(zset::Command::PopMax)),
    spec("zpopmin", -2, WRITE, ONE_KEY, Handler::Zset(zset::Command::PopMin)),
    spec("zrandmember", -2, READONLY, ONE_KEY, Handler::Zset(zset::Command::RandMember)),
    spec("zrange", -4, READONLY, ONE_KEY, Handler::Zset(zset::Command::Range)),
    spec("zrangebylex", -4, READONLY, ONE_KEY, Handler::Zset(zset::Command::RangeByLex)),
    spec("zrangebyscore", -4, READONLY, ONE_KEY, Handler::Zset(zset::Command::RangeByScore)),
    spec("zrangestore", -5, WRITE, (1, 2, 1), Handler::Zset(zset::Command::RangeStore)),
    spec("zrank", 3, READONLY, ONE_KEY, Handler::Zset(zset::Command::Rank)),
    spec("zrem", -3, WRITE, ONE_KEY, Handler::Zset(zset::Command::Rem)),
    spec("zremrangebylex", 4, WRITE, ONE_KEY, Handler::Zset(zset::Command::RemRangeByLex)),
    spec("zremrangebyrank", 4, WRITE, ONE_KEY, Handler::Zset(zset::Command::RemRangeByRank)),
    spec("zremrangebyscore", 4, WRITE, ONE_KEY, Handler::Zset(zset::Command::RemRangeByScore)),
    spec("zrevrange", -4, READONLY, ONE_KEY, Handler::Zset(zset::Command::RevRange)),
    spec("zrevrangebylex", -4, READONLY, ONE_KEY, Handler::Zset(zset::Command::RevRangeByLex)),
    spec("zrevrangebyscore", -4, READONLY, ONE_KEY, Handler::Zset(zset::Command::RevRangeByScore)),
    spec("zrevrank", 3, READONLY, ONE_KEY, Handler::Zset(zset::Command::RevRank)),
    spec("zscan", -3, READONLY, ONE_KEY, Handler::Zset(zset::Command::Scan)),
    spec("zscore", 3, READONLY, ONE_KEY, Handler::Zset(zset::Command::Score)),
    movable(spec("zunion", -3, READONLY, NO_KEYS, Handler::Zset(zset::Command::Union)), 1),
    movable(spec("zunionstore", -4, WRITE, ONE_KEY, Handler::Zset(zset::Command::UnionStore)), 2),
];

/// The table entry for a command name, compared ASCII case-insensitively.
#[must_use]
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    let mut buffer = [0_u8; NAME_SIZE_MAX];
    let lowered = buffer.get_mut(..name.len())?;
    for (target, source) in lowered.iter_mut().zip(name) {
        *target = source.to_ascii_lowercase();
    }
    let lowered: &[u8] = lowered;
    let letter = lowered.first()?.checked_sub(b'a')?;
    let &(start, end) = BY_FIRST_LETTER.get(usize::from(letter))?;
    let candidates = COMMANDS.get(usize::from(start)..usize::from(end))?;
    let index = candidates
        .binary_search_by(|spec| spec.name.as_bytes().cmp(lowered))
        .ok()?;
    candidates.get(index)
}
