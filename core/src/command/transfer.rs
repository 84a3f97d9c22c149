//! The transfer family: RENAME, RENAMENX, COPY and MOVE, which give a value (with its
//! expiry) a new key or database, and SWAPDB, which trades two databases' keys.
//!
//! Each of the first four is one [`crate::store::Store::transfer`] call after its
//! arguments were checked, so its records (a `Set` of the target, and a `Del` of the
//! source for RENAME and MOVE) are reported by one call and logged as one group. SWAPDB is
//! one [`crate::store::Store::swap_db`] call and one `SwapDb` record. Argument errors are
//! checked in Redis's order and change nothing.

use super::{Context, DB_OUT_OF_RANGE, Door, database_of, is};
use crate::store::{Transfer, shards};

/// The commands of this family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Command {
    Copy,
    Move,
    Rename,
    RenameNx,
    SwapDb,
}

/// Redis's reply when a command would move a value onto itself.
const SAME_OBJECT: &str = "ERR source and destination objects are the same";

/// Runs one command of the family; its arity was checked.
pub(super) fn run<D: Door>(command: Command, context: &mut Context<'_, '_, D>) {
    match command {
        Command::Rename => rename(context, false),
        Command::RenameNx => rename(context, true),
        Command::Copy => copy(context),
        Command::Move => move_key(context),
        Command::SwapDb => swap_db(context),
    }
}

/// SWAPDB index1 index2: `+OK`. Both indexes are read as C ints first (each with its own
/// error, as Redis words them), then checked against the databases; a database swapped
/// with itself is `+OK` and changes nothing.
fn swap_db<D: Door>(context: &mut Context<'_, '_, D>) {
    let Some(first) = context.c_int(1, Some("ERR invalid first DB index")) else {
        return;
    };
    let Some(second) = context.c_int(2, Some("ERR invalid second DB index")) else {
        return;
    };
    let (Some(db_first), Some(db_second)) = (database_of(first), database_of(second)) else {
        context.error(DB_OUT_OF_RANGE);
        return;
    };
    match shards::swap_db(context.shards, db_first, db_second, context.log) {
        Ok(()) => context.ok(),
        Err(error) => context.store_error(error),
    }
}

/// RENAME key newkey (`+OK`) and RENAMENX key newkey (`:1`, or `:0` when newkey exists):
/// the value and its expiry move to `newkey`, replacing it for RENAME. A missing key is
/// `ERR no such key`; a key renamed onto itself is left alone (`+OK`, or `:0` for
/// RENAMENX, as in Redis).
fn rename<D: Door>(context: &mut Context<'_, '_, D>, only_if_new: bool) {
    let (db, source, target, now) = (
        context.session.db,
        context.arg(1),
        context.arg(2),
        context.now,
    );
    let replace = !only_if_new;
    let result = shards::transfer(
        context.shards,
        db,
        source,
        db,
        target,
        replace,
        false,
        now,
        context.log,
    );
    match result {
        Ok(Transfer::SourceMissing) => context.error("ERR no such key"),
        Ok(Transfer::Done) if !only_if_new => context.ok(),
        Ok(Transfer::Done) => context.reply.integer(i64::from(source != target)),
        Ok(Transfer::TargetExists) => context.reply.integer(0),
        Err(error) => context.store_error(error),
    }
}

/// COPY source destination [DB destination-db] [REPLACE]: `:1` if copied, `:0` if the
/// source is missing or the destination exists without REPLACE.
fn copy<D: Door>(context: &mut Context<'_, '_, D>) {
    let source_db = context.session.db;
    let mut target_db = source_db;
    let mut replace = false;
    let mut index = 3;
    while index < context.count() {
        let option = context.arg(index);
        let has_value = index + 1 < context.count();
        if is(option, "replace") {
            replace = true;
        } else if is(option, "db") && has_value {
            let Some(value) = context.c_int(index + 1, None) else {
                return;
            };
            let Some(db) = database_of(value) else {
                context.error(DB_OUT_OF_RANGE);
                return;
            };
            target_db = db;
            index += 1;
        } else {
            context.syntax_error();
            return;
        }
        index += 1;
    }
    let (source, target, now) = (context.arg(1), context.arg(2), context.now);
    if source_db == target_db && source == target {
        context.error(SAME_OBJECT);
        return;
    }
    let result = shards::transfer(
        context.shards,
        source_db,
        source,
        target_db,
        target,
        replace,
        true,
        now,
        context.log,
    );
    match result {
        Ok(Transfer::Done) => context.reply.integer(1),
        Ok(Transfer::SourceMissing | Transfer::TargetExists) => context.reply.integer(0),
        Err(error) => context.store_error(error),
    }
}

/// MOVE key db: `:1` if the key moved to `db`, `:0` if it is missing or `db` has it.
fn move_key<D: Door>(context: &mut Context<'_, '_, D>) {
    let Some(target_db) = context.database(2) else {
        return;
    };
    let source_db = context.session.db;
    if target_db == source_db {
        context.error(SAME_OBJECT);
        return;
    }
    let (key, now) = (context.arg(1), context.now);
    let result = shards::transfer(
        context.shards,
        source_db,
        key,
        target_db,
        key,
        false,
        false,
        now,
        context.log,
    );
    match result {
        Ok(Transfer::Done) => context.reply.integer(1),
        Ok(Transfer::SourceMissing | Transfer::TargetExists) => context.reply.integer(0),
        Err(error) => context.store_error(error),
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::{Harness, NOW, differ, same};
    use crate::codec::resp::Protocol;
    use crate::store::Config;
    use std::string::String;

    #[test]
    fn rename_moves_value_and_expiry() {
        Harness::check(&[
            same("SET a 1", "+OK\r\n"),
            same("PEXPIRE a 5000", ":1\r\n"),
            same("SET b 2", "+OK\r\n"),
            same("RENAME a b", "+OK\r\n"),
            differ("GET a", "$-1\r\n", "_\r\n"),
            same("GET b", "$1\r\n1\r\n"),
            same("PTTL b", ":5000\r\n"),
            same("RENAME b c", "+OK\r\n"),
            same("PTTL c", ":5000\r\n"),
            same("EXISTS b", ":0\r\n"),
            same("RENAME c c", "+OK\r\n"),
            same("GET c", "$1\r\n1\r\n"),
            same("RENAME missing x", "-ERR no such key\r\n"),
            same("RENAME missing missing", "-ERR no such key\r\n"),
            same("@+5000", ""),
            same("RENAME c d", "-ERR no such key\r\n"),
            // The lookup removed the expired key, as Redis's does.
            same("DBSIZE", ":0\r\n"),
        ]);
    }

    #[test]
    fn renamenx() {
        Harness::check(&[
            same("MSET a 1 b 2", "+OK\r\n"),
            same("RENAMENX a b", ":0\r\n"),
            same("GET a", "$1\r\n1\r\n"),
            same("RENAMENX a a", ":0\r\n"),
            same("RENAMENX a c", ":1\r\n"),
            same("GET c", "$1\r\n1\r\n"),
            same("EXISTS a", ":0\r\n"),
            same("RENAMENX missing d", "-ERR no such key\r\n"),
            same("RENAMENX missing missing", "-ERR no such key\r\n"),
        ]);
    }

    #[test]
    fn rename_logs_one_group_set_then_del() {
        let mut harness = Harness::new(Protocol::Resp2);
        harness.run("SET a v EX 10");
        harness.run("SET b old");
        harness.log.0.clear();
        assert_eq!(harness.run("RENAME a b"), b"+OK\r\n");
        assert_eq!(
            harness.log.0,
            [format!("set 0 b v {}", NOW + 10_000), "del 0 a".into()]
        );
        harness.log.0.clear();
        for refused in ["RENAMENX b b", "RENAME b b", "RENAMENX x y", "RENAME x y"] {
            harness.run(refused);
        }
        assert!(harness.log.0.is_empty(), "{:?}", harness.log.0);
    }

    #[test]
    fn copy_options() {
        Harness::check(&[
            same("SET a 1", "+OK\r\n"),
            same("EXPIRE a 100", ":1\r\n"),
            same("COPY a b", ":1\r\n"),
            same("GET b", "$1\r\n1\r\n"),
            same("TTL b", ":100\r\n"),
            same("GET a", "$1\r\n1\r\n"),
            same("SET c 3", "+OK\r\n"),
            same("COPY a c", ":0\r\n"),
            same("GET c", "$1\r\n3\r\n"),
            same("COPY a c REPLACE", ":1\r\n"),
            same("GET c", "$1\r\n1\r\n"),
            same("COPY missing z", ":0\r\n"),
            same("COPY a a DB 1", ":1\r\n"),
            same("COPY a a db 1", ":0\r\n"),
            same("copy a a db 1 replace", ":1\r\n"),
            same("COPY a x DB 2 REPLACE DB 3", ":1\r\n"),
            same("SELECT 3", "+OK\r\n"),
            same("GET x", "$1\r\n1\r\n"),
            same("TTL x", ":100\r\n"),
            same("SELECT 2", "+OK\r\n"),
            same("EXISTS x", ":0\r\n"),
        ]);
    }

    #[test]
    fn copy_errors_change_nothing() {
        Harness::check(&[
            same("SET a 1", "+OK\r\n"),
            same(
                "COPY a a",
                "-ERR source and destination objects are the same\r\n",
            ),
            same(
                "COPY a a DB 0",
                "-ERR source and destination objects are the same\r\n",
            ),
            same("COPY a b DB 16", "-ERR DB index is out of range\r\n"),
            same("COPY a b DB -1", "-ERR DB index is out of range\r\n"),
            same(
                "COPY a b DB x",
                "-ERR value is not an integer or out of range\r\n",
            ),
            same(
                "COPY a b DB 2147483648",
                "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n",
            ),
            same("COPY a b DB", "-ERR syntax error\r\n"),
            same("COPY a b NOPE", "-ERR syntax error\r\n"),
            same("COPY a b REPLACE FOO", "-ERR syntax error\r\n"),
            // Options are read before the same-object check, as in Redis.
            same("COPY a a FOO", "-ERR syntax error\r\n"),
            same("DBSIZE", ":1\r\n"),
        ]);
    }

    #[test]
    fn copy_logs_one_set() {
        let mut harness = Harness::new(Protocol::Resp2);
        harness.run("SET a v");
        harness.log.0.clear();
        assert_eq!(harness.run("COPY a b DB 4"), b":1\r\n");
        assert_eq!(harness.log.0, ["set 4 b v 0"]);
    }

    #[test]
    fn move_between_databases() {
        Harness::check(&[
            same("SET k v", "+OK\r\n"),
            same("PEXPIRE k 2000", ":1\r\n"),
            same("MOVE k 1", ":1\r\n"),
            same("EXISTS k", ":0\r\n"),
            same("MOVE k 1", ":0\r\n"),
            same("SET k other", "+OK\r\n"),
            same("SELECT 1", "+OK\r\n"),
            same("GET k", "$1\r\nv\r\n"),
            same("PTTL k", ":2000\r\n"),
            // The target has the key: nothing moves.
            same("MOVE k 0", ":0\r\n"),
            same("GET k", "$1\r\nv\r\n"),
            same(
                "MOVE k 1",
                "-ERR source and destination objects are the same\r\n",
            ),
            same("MOVE k 16", "-ERR DB index is out of range\r\n"),
            same("MOVE missing 16", "-ERR DB index is out of range\r\n"),
            same(
                "MOVE k one",
                "-ERR value is not an integer or out of range\r\n",
            ),
            same(
                "MOVE k -2147483649",
                "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n",
            ),
            same("DBSIZE", ":1\r\n"),
        ]);
    }

    #[test]
    fn move_logs_one_group() {
        let mut harness = Harness::new(Protocol::Resp3);
        harness.run("SET k v");
        harness.log.0.clear();
        assert_eq!(harness.run("MOVE k 7"), b":1\r\n");
        assert_eq!(harness.log.0, ["set 7 k v 0", "del 0 k"]);
    }

    #[test]
    fn swapdb_trades_databases() {
        Harness::check(&[
            same("SET k zero", "+OK\r\n"),
            same("PEXPIRE k 3000", ":1\r\n"),
            same("SELECT 4", "+OK\r\n"),
            same("MSET k four only four", "+OK\r\n"),
            same("SWAPDB 0 4", "+OK\r\n"),
            same("GET k", "$4\r\nzero\r\n"),
            same("PTTL k", ":3000\r\n"),
            same("EXISTS only", ":0\r\n"),
            same("DBSIZE", ":1\r\n"),
            same("SELECT 0", "+OK\r\n"),
            same("GET k", "$4\r\nfour\r\n"),
            same("DBSIZE", ":2\r\n"),
            same("SWAPDB 0 0", "+OK\r\n"),
            same("SWAPDB 15 0", "+OK\r\n"),
            same("DBSIZE", ":0\r\n"),
        ]);
    }

    #[test]
    fn swapdb_errors_change_nothing() {
        Harness::check(&[
            same("SET k v", "+OK\r\n"),
            same("SWAPDB x 1", "-ERR invalid first DB index\r\n"),
            same("SWAPDB 0 x", "-ERR invalid second DB index\r\n"),
            same("SWAPDB x y", "-ERR invalid first DB index\r\n"),
            same("SWAPDB 2147483648 1", "-ERR invalid first DB index\r\n"),
            same("SWAPDB 0 -2147483649", "-ERR invalid second DB index\r\n"),
            same("SWAPDB 0 16", "-ERR DB index is out of range\r\n"),
            same("SWAPDB -1 0", "-ERR DB index is out of range\r\n"),
            // Both are parsed before either is checked, as in Redis.
            same("SWAPDB 99 x", "-ERR invalid second DB index\r\n"),
            same("GET k", "$1\r\nv\r\n"),
        ]);
    }

    #[test]
    fn swapdb_logs_one_record() {
        let mut harness = Harness::new(Protocol::Resp2);
        harness.run("SET k v");
        harness.log.0.clear();
        assert_eq!(harness.run("SWAPDB 0 9"), b"+OK\r\n");
        assert_eq!(harness.run("SWAPDB 3 3"), b"+OK\r\n");
        assert_eq!(harness.log.0, ["swapdb 0 9"]);
    }

    /// In a full memory under an eviction policy, RENAME and COPY make room first: the
    /// evictions are logged as deletes before the write's own records, all from the one
    /// call that the runtime logs as one group; the renamed value is intact.
    #[test]
    fn rename_in_full_memory_evicts_first_and_logs_it_with_the_write() {
        use crate::storage::policy::EvictionPolicy;
        let mut evicted_count = 0;
        for policy in [
            EvictionPolicy::AllKeysLru,
            EvictionPolicy::AllKeysLfu,
            EvictionPolicy::AllKeysRandom,
            EvictionPolicy::Fifo,
            EvictionPolicy::Sieve,
        ] {
            let mut config = Config::new(64 * 1024, 1000);
            config.policy = policy;
            let mut harness = Harness::with_config(config, Protocol::Resp2);
            let value = "v".repeat(2000);
            for index in 0..200 {
                harness.run(&format!("SET filler{index} {value}"));
            }
            assert!(
                harness.store.stats().evicted > 0,
                "{policy:?}: memory is full"
            );
            harness.run(&format!("SET r0 {value}"));
            for index in 0..60 {
                harness.log.0.clear();
                let command = format!("RENAME r{index} r{}", index + 1);
                assert_eq!(harness.run(&command), b"+OK\r\n", "{policy:?}");
                let log = &harness.log.0;
                let (evictions, write) = log.split_last_chunk::<2>().expect("two records");
                assert_eq!(
                    write,
                    &[
                        format!("set 0 r{} {value} 0", index + 1),
                        format!("del 0 r{index}")
                    ],
                    "{policy:?}"
                );
                assert!(
                    evictions
                        .iter()
                        .all(|record| record.starts_with("del 0 filler"))
                );
                evicted_count += evictions.len();
            }
            assert_eq!(harness.run("STRLEN r60"), b":2000\r\n");
            harness.run("RENAME r60 target");
            assert_eq!(harness.run("COPY target copy"), b":1\r\n", "{policy:?}");
            assert_eq!(harness.run("EXISTS source target copy"), b":2\r\n");
        }
        assert!(evicted_count > 0, "no RENAME had to make room");
    }

    /// Under `noeviction` with the key table full, a RENAME to a new key needs a key of
    /// room for a moment and is refused whole, with nothing logged; onto an existing key
    /// it needs none.
    #[test]
    fn full_table_refusals_change_nothing() {
        let mut harness = Harness::with_config(Config::new(1 << 20, 2), Protocol::Resp2);
        harness.run("MSET a 1 b 2");
        harness.log.0.clear();
        let full = "-OOM command not allowed when the table holds max-keys keys.\r\n";
        for command in ["RENAME a c", "RENAMENX a c", "COPY a c", "MOVE a 3"] {
            assert_eq!(String::from_utf8_lossy(&harness.run(command)), full);
        }
        assert!(harness.log.0.is_empty());
        assert_eq!(harness.run("RENAME a b"), b"+OK\r\n");
        assert_eq!(harness.run("GET b"), b"$1\r\n1\r\n");
    }
}
