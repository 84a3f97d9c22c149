//! Keyspace events of commands, read off the records each command's store calls report:
//! one table ([`shape`]) says, per write command, which event Redis names for a key it
//! changed, and what a removed key adds, so no handler composes events itself.
//!
//! ```text
//!  execute ─► handler ─► Store method ─► Notifier::record ─► the caller's LogSink (always)
//!                                          └► (events on) marks the key's position: changed,
//!                                             removed, expiry set or dropped
//!          ◄─ handler returns ─► Notifier::finish: the expired keys the stores noted, then
//!                                one event (or two) per marked key, in Redis's order
//! ```
//!
//! Why records: every change a command makes reaches the log as a record naming the key
//! (a large collection's parts name their owner), so the records are exactly the keys a
//! command changed, with no second bookkeeping beside the store's. What a record cannot
//! say (which event name: `lpush` or `rpush`, `zadd` or `zincr`) depends only on the
//! command and its arguments, which [`shape`] reads.
//!
//! Order: keys in the order of the command's key arguments, one event per key however
//! many records it took (a multi-field HSET is one `hset`, as in Redis); a removed key's
//! `del` after its command's event (LPOP that empties: `lpop`, `del`). Store removals
//! (`expired`, `evicted`) come first, as they happen before the command's change. Keys past
//! the 64th key argument (a long DEL or MSET) get their event as their record comes.
//!
//! Cost with events off: one branch per record.

use crate::codec::record::Record;
use crate::storage::item::{self, ItemKind};
use crate::store::event::{
    CLASS_GENERIC, CLASS_HASH, CLASS_LIST, CLASS_SET, CLASS_STRING, CLASS_ZSET, Event,
};
use crate::store::{LogSink, Shards, ValueType, parse_integer};
use crate::time::Timestamp;

use super::{Arguments, CommandSpec};

/// Key positions tracked in bit masks; later ones are reported as their records come.
const POSITION_COUNT_MAX: usize = 64;

/// What a write command's records mean as events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// No events (FLUSHDB, SWAPDB, and every read).
    None,
    /// A changed key gets `name`; a key only removed gets `del` (STORE commands whose
    /// result is empty, an overwrite that became a delete).
    Write(u16, &'static str),
    /// SET and kin: `set`, then `expire` when the command gave an expiry.
    Set {
        /// EX, PX, EXAT, PXAT (SET), or SETEX/PSETEX.
        expire: bool,
    },
    /// Elements removed: `name` for a changed or removed key, then `del` for a removed one.
    Remove(u16, &'static str),
    /// DEL, UNLINK, GETDEL, the EXPIRE family, PERSIST, GETEX: `expire` or `persist` for an
    /// expiry change, `del` for a removed key.
    Generic,
    /// Two keys (LMOVE, SMOVE, RENAME): `source` for the first key (then `del` if it was
    /// removed and the class is not generic), `target` for the second; the target's event
    /// first when `target_first` (LMOVE pushes before it reports the pop).
    Pair {
        class: u16,
        source: &'static str,
        target: &'static str,
        target_first: bool,
    },
    /// MOVE: `move_from` in the session's database, `move_to` in the target's.
    Move,
}

/// The events of `spec` run with `args` (see the module documentation).
fn shape<A: Arguments + ?Sized>(spec: &CommandSpec, args: &A) -> Shape {
    let arg = |index: usize| args.get(index).unwrap_or_default();
    let direction = |index: usize, left: &'static str, right: &'static str| {
        if arg(index).eq_ignore_ascii_case(b"left") {
            left
        } else {
            right
        }
    };
    // LMPOP numkeys key... LEFT|RIGHT, ZMPOP numkeys key... MIN|MAX (and their blocking
    // forms, one argument later): the word after the counted keys.
    let after_keys = || {
        let numkeys_index = usize::from(spec.numkeys_index);
        let keys = args
            .get(numkeys_index)
            .and_then(parse_integer)
            .and_then(|count| usize::try_from(count).ok())
            .unwrap_or(0);
        arg(numkeys_index + keys + 1)
    };
    match spec.name {
        "append" => Shape::Write(CLASS_STRING, "append"),
        "incr" | "decr" | "incrby" | "decrby" => Shape::Write(CLASS_STRING, "incrby"),
        "incrbyfloat" => Shape::Write(CLASS_STRING, "incrbyfloat"),
        "setrange" => Shape::Write(CLASS_STRING, "setrange"),
        "set" => Shape::Set {
            expire: (3..args.count()).any(|index| {
                let word = arg(index);
                [&b"ex"[..], b"px", b"exat", b"pxat"]
                    .iter()
                    .any(|option| word.eq_ignore_ascii_case(option))
            }),
        },
        "setex" | "psetex" => Shape::Set { expire: true },
        "setnx" | "getset" | "mset" | "msetnx" => Shape::Set { expire: false },
        "del" | "unlink" | "getdel" | "getex" | "expire" | "pexpire" | "expireat" | "pexpireat"
        | "persist" => Shape::Generic,
        "rename" | "renamenx" => Shape::Pair {
            class: CLASS_GENERIC,
            source: "rename_from",
            target: "rename_to",
            target_first: false,
        },
        "move" => Shape::Move,
        "copy" => Shape::Write(CLASS_GENERIC, "copy_to"),
        "restore" => Shape::Write(CLASS_GENERIC, "restore"),
        "hset" | "hmset" | "hsetnx" => Shape::Write(CLASS_HASH, "hset"),
        "hincrby" => Shape::Write(CLASS_HASH, "hincrby"),
        "hincrbyfloat" => Shape::Write(CLASS_HASH, "hincrbyfloat"),
        "hdel" => Shape::Remove(CLASS_HASH, "hdel"),
        "lpush" | "lpushx" => Shape::Write(CLASS_LIST, "lpush"),
        "rpush" | "rpushx" => Shape::Write(CLASS_LIST, "rpush"),
        "linsert" => Shape::Write(CLASS_LIST, "linsert"),
        "lset" => Shape::Write(CLASS_LIST, "lset"),
        "lpop" | "blpop" => Shape::Remove(CLASS_LIST, "lpop"),
        "rpop" | "brpop" => Shape::Remove(CLASS_LIST, "rpop"),
        "lmpop" | "blmpop" => {
            let word = after_keys();
            let name = if word.eq_ignore_ascii_case(b"left") {
                "lpop"
            } else {
                "rpop"
            };
            Shape::Remove(CLASS_LIST, name)
        }
        "ltrim" => Shape::Remove(CLASS_LIST, "ltrim"),
        "lrem" => Shape::Remove(CLASS_LIST, "lrem"),
        "lmove" | "blmove" => Shape::Pair {
            class: CLASS_LIST,
            source: direction(3, "lpop", "rpop"),
            target: direction(4, "lpush", "rpush"),
            target_first: true,
        },
        "rpoplpush" | "brpoplpush" => Shape::Pair {
            class: CLASS_LIST,
            source: "rpop",
            target: "lpush",
            target_first: true,
        },
        "sort" => Shape::Write(CLASS_LIST, "sortstore"),
        "sadd" => Shape::Write(CLASS_SET, "sadd"),
        "srem" => Shape::Remove(CLASS_SET, "srem"),
        "spop" => Shape::Remove(CLASS_SET, "spop"),
        "smove" => Shape::Pair {
            class: CLASS_SET,
            source: "srem",
            target: "sadd",
            target_first: false,
        },
        "sinterstore" => Shape::Write(CLASS_SET, "sinterstore"),
        "sunionstore" => Shape::Write(CLASS_SET, "sunionstore"),
        "sdiffstore" => Shape::Write(CLASS_SET, "sdiffstore"),
        "zadd" => {
            // Options come before the first score: NX XX GT LT CH INCR.
            let incr = (2..args.count())
                .map(arg)
                .take_while(|word| {
                    [&b"nx"[..], b"xx", b"gt", b"lt", b"ch", b"incr"]
                        .iter()
                        .any(|option| word.eq_ignore_ascii_case(option))
                })
                .any(|word| word.eq_ignore_ascii_case(b"incr"));
            Shape::Write(CLASS_ZSET, if incr { "zincr" } else { "zadd" })
        }
        "zincrby" => Shape::Write(CLASS_ZSET, "zincr"),
        "zrem" => Shape::Remove(CLASS_ZSET, "zrem"),
        "zremrangebyscore" => Shape::Remove(CLASS_ZSET, "zremrangebyscore"),
        "zremrangebyrank" => Shape::Remove(CLASS_ZSET, "zremrangebyrank"),
        "zremrangebylex" => Shape::Remove(CLASS_ZSET, "zremrangebylex"),
        "zpopmin" | "bzpopmin" => Shape::Remove(CLASS_ZSET, "zpopmin"),
        "zpopmax" | "bzpopmax" => Shape::Remove(CLASS_ZSET, "zpopmax"),
        "zmpop" | "bzmpop" => {
            let name = if after_keys().eq_ignore_ascii_case(b"min") {
                "zpopmin"
            } else {
                "zpopmax"
            };
            Shape::Remove(CLASS_ZSET, name)
        }
        "zunionstore" => Shape::Write(CLASS_ZSET, "zunionstore"),
        "zinterstore" => Shape::Write(CLASS_ZSET, "zinterstore"),
        "zdiffstore" => Shape::Write(CLASS_ZSET, "zdiffstore"),
        "zrangestore" => Shape::Write(CLASS_ZSET, "zrangestore"),
        _ => Shape::None,
    }
}

/// The log sink one [`super::execute`] call hands its command: passes every record on,
/// and, while the caller's sink wants events, notes which key each record changed, to
/// report the command's events at [`Notifier::finish`].
pub(super) struct Notifier<'n, A: ?Sized, L> {
    log: &'n mut L,
    /// The caller's sink wants events; nothing below is used otherwise.
    on: bool,
    args: &'n A,
    spec: &'static CommandSpec,
    /// The session's database when the command started.
    db: u8,
    /// Per key position (the order of [`CommandSpec::key_indexes_of`]): a record set it,
    /// removed it, gave it an expiry, dropped its expiry.
    changed: u64,
    removed: u64,
    expire: u64,
    persist: u64,
    /// The database of each position's last set (MOVE and COPY ... DB write elsewhere).
    changed_db: [u8; POSITION_COUNT_MAX],
    /// The store reported an eviction: its `Del` record is not the command's.
    eviction_pending: bool,
    /// Where the last matched key was: records mostly come in key order.
    cursor: usize,
}

impl<'n, A: Arguments + ?Sized, L: LogSink> Notifier<'n, A, L> {
    pub(super) fn new(spec: &'static CommandSpec, args: &'n A, db: u8, log: &'n mut L) -> Self {
        let on = spec.is_write() && log.events();
        Self {
            log,
            on,
            args,
            spec,
            db,
            changed: 0,
            removed: 0,
            expire: 0,
            persist: 0,
            changed_db: [0; POSITION_COUNT_MAX],
            eviction_pending: false,
            cursor: 0,
        }
    }

    /// Reports the command's events (see the module documentation); nothing while off.
    pub(super) fn finish(mut self, shards: &mut dyn Shards<'_>, now: Timestamp) {
        if !self.on {
            return;
        }
        let log = &mut *self.log;
        shards.with_all(&mut |stores| {
            for store in stores.iter_mut().flatten() {
                store.take_expired(log);
            }
        });
        let shape = shape(self.spec, self.args);
        let count = self
            .spec
            .key_indexes_of(self.args)
            .count()
            .min(POSITION_COUNT_MAX);
        match shape {
            Shape::Pair {
                target_first,
                class,
                ..
            } => {
                let same = self.key_at(0) == self.key_at(1);
                let (source, target) = if same { (0, 0) } else { (0, 1) };
                // LMOVE of a list onto itself, end to the same end, changes nothing, so it
                // logs nothing; Redis still reports the pop and the push.
                let key = self.key_at(0);
                if same
                    && class == CLASS_LIST
                    && self.changed & 1 == 0
                    && shards.store_for(key).value_type(self.db, key, now) == Some(ValueType::List)
                {
                    self.changed |= 1;
                    self.changed_db[0] = self.db;
                }
                if target_first {
                    self.pair_target(shape, target);
                    self.pair_source(shape, source);
                } else {
                    self.pair_source(shape, source);
                    self.pair_target(shape, target);
                }
            }
            Shape::Move => {
                let key = self.key_at(0);
                if self.bit(self.removed, 0) {
                    self.emit(CLASS_GENERIC, "move_from", self.db, key);
                }
                if self.bit(self.changed, 0) {
                    self.emit(CLASS_GENERIC, "move_to", self.changed_db[0], key);
                }
            }
            _ => {
                for position in 0..count {
                    self.report(shape, position);
                }
            }
        }
    }

    /// The events of one key position for a one-key shape.
    fn report(&mut self, shape: Shape, position: usize) {
        let (changed, removed) = (
            self.bit(self.changed, position),
            self.bit(self.removed, position),
        );
        let key = self.key_at(position);
        let db = self.changed_db[position];
        match shape {
            Shape::Write(class, name) => {
                if changed {
                    self.emit(class, name, db, key);
                } else if removed {
                    self.emit(CLASS_GENERIC, "del", self.db, key);
                }
            }
            Shape::Set { expire } => {
                if changed {
                    self.emit(CLASS_STRING, "set", db, key);
                    if expire {
                        self.emit(CLASS_GENERIC, "expire", db, key);
                    }
                } else if removed {
                    self.emit(CLASS_GENERIC, "del", self.db, key);
                }
            }
            Shape::Remove(class, name) => {
                if changed || removed {
                    self.emit(class, name, self.db, key);
                }
                if removed {
                    self.emit(CLASS_GENERIC, "del", self.db, key);
                }
            }
            Shape::Generic => {
                if removed {
                    self.emit(CLASS_GENERIC, "del", self.db, key);
                } else if self.bit(self.expire, position) {
                    self.emit(CLASS_GENERIC, "expire", self.db, key);
                } else if self.bit(self.persist, position) {
                    self.emit(CLASS_GENERIC, "persist", self.db, key);
                }
            }
            Shape::None | Shape::Pair { .. } | Shape::Move => {}
        }
    }

    fn pair_source(&mut self, shape: Shape, position: usize) {
        let Shape::Pair { class, source, .. } = shape else {
            return;
        };
        let removed = self.bit(self.removed, position);
        if !(removed || self.bit(self.changed, position)) {
            return;
        }
        let key = self.key_at(position);
        self.emit(class, source, self.db, key);
        if removed && class != CLASS_GENERIC && position != 1 {
            self.emit(CLASS_GENERIC, "del", self.db, key);
        }
    }

    fn pair_target(&mut self, shape: Shape, position: usize) {
        let Shape::Pair { class, target, .. } = shape else {
            return;
        };
        if self.bit(self.changed, position) {
            let key = self.key_at(position);
            self.emit(class, target, self.changed_db[position], key);
        }
    }

    fn bit(&self, mask: u64, position: usize) -> bool {
        position < POSITION_COUNT_MAX && mask & (1 << position) != 0
    }

    /// The key at `position` of the key arguments (empty if there is none).
    fn key_at(&self, position: usize) -> &'n [u8] {
        let args: &'n A = self.args;
        self.spec
            .key_indexes_of(args)
            .nth(position)
            .and_then(|index| args.get(index))
            .unwrap_or_default()
    }

    fn emit(&mut self, class: u16, name: &'static str, db: u8, key: &[u8]) {
        self.log.event(Event {
            class,
            name,
            db,
            key,
        });
    }

    /// Notes what `record` did to which key position.
    fn observe(&mut self, record: &Record<'_>) {
        let (db, key, mark) = match *record {
            Record::Set {
                db,
                key,
                value_kind,
                expires_at,
                ..
            } => {
                if value_kind == ItemKind::Part {
                    (db, item::part_owner(key), Mark::Changed)
                } else {
                    // An expiry change may be logged as the whole item (a later expiry, or
                    // one the item had no room for): what EXPIRE and PERSIST look at.
                    if let Some(position) = self.position_of(key) {
                        let bit = 1 << position;
                        if expires_at == 0 {
                            self.persist |= bit;
                        } else {
                            self.expire |= bit;
                        }
                    }
                    (db, key, Mark::Changed)
                }
            }
            Record::Del { db, key } => {
                if core::mem::take(&mut self.eviction_pending) {
                    return;
                }
                (db, key, Mark::Removed)
            }
            Record::ExpireAt {
                db,
                key,
                expires_at,
            } => {
                let mark = if expires_at == 0 {
                    Mark::Persisted
                } else {
                    Mark::Expiring
                };
                (db, key, mark)
            }
            Record::Clear { .. } | Record::SwapDb { .. } => return,
        };
        let Some(position) = self.position_of(key) else {
            // Not one of the first key arguments: report it now, as its record comes.
            self.report_unplaced(db, key, mark);
            return;
        };
        let bit = 1 << position;
        match mark {
            Mark::Changed => {
                self.changed |= bit;
                self.changed_db[position] = db;
            }
            Mark::Removed => self.removed |= bit,
            Mark::Expiring => self.expire |= bit,
            Mark::Persisted => self.persist |= bit,
        }
    }

    /// The first tracked key position holding `key`, looking from the last match on.
    fn position_of(&mut self, key: &[u8]) -> Option<usize> {
        let args: &'n A = self.args;
        let count = self
            .spec
            .key_indexes_of(args)
            .count()
            .min(POSITION_COUNT_MAX);
        let found = (0..count)
            .map(|step| (self.cursor + step) % count)
            .find(|&position| self.key_at(position) == key)?;
        self.cursor = found;
        Some(found)
    }

    /// The event of a record whose key is past the tracked positions.
    fn report_unplaced(&mut self, db: u8, key: &[u8], mark: Mark) {
        let (class, name) = match (shape(self.spec, self.args), mark) {
            (_, Mark::Removed) => (CLASS_GENERIC, "del"),
            (_, Mark::Expiring) => (CLASS_GENERIC, "expire"),
            (_, Mark::Persisted) => (CLASS_GENERIC, "persist"),
            (Shape::Write(class, name) | Shape::Remove(class, name), Mark::Changed) => {
                (class, name)
            }
            (Shape::Set { .. }, Mark::Changed) => (CLASS_STRING, "set"),
            _ => return,
        };
        self.emit(class, name, db, key);
    }
}

/// What one record did to its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Changed,
    Removed,
    Expiring,
    Persisted,
}

impl<A: Arguments + ?Sized, L: LogSink> LogSink for Notifier<'_, A, L> {
    fn record(&mut self, record: Record<'_>) {
        self.log.record(record);
        if self.on {
            self.observe(&record);
        }
    }

    fn events(&self) -> bool {
        self.on
    }

    fn event(&mut self, event: Event<'_>) {
        if event.name == "evicted" {
            self.eviction_pending = true;
        }
        self.log.event(event);
    }
}

#[cfg(test)]
mod tests {
    use std::vec::Vec;

    use super::*;
    use crate::arena::Arena;
    use crate::command::harness::VecSink;
    use crate::command::{COMMANDS, Session, execute};
    use crate::store::{Config, Store};

    const NOW: Timestamp = 1_700_000_000_000;

    /// Keeps records and, when `on`, events as `(name, db, key)`.
    #[derive(Default)]
    struct Recorder {
        on: bool,
        records: usize,
        events: Vec<(&'static str, u8, Vec<u8>)>,
    }

    impl LogSink for Recorder {
        fn record(&mut self, _record: Record<'_>) {
            self.records += 1;
        }

        fn events(&self) -> bool {
            self.on
        }

        fn event(&mut self, event: Event<'_>) {
            assert!(self.on, "an event while events are off");
            self.events.push((event.name, event.db, event.key.to_vec()));
        }
    }

    fn with_store(test: impl FnOnce(&mut Store<'_>)) {
        let config = Config::new(64 * 1024, 1000);
        let mut memory = std::vec![0_u8; config.arena_size()];
        let mut arena = Arena::from_buffer(&mut memory);
        let mut store = Store::new(&mut arena, config).expect("config fits the arena");
        arena.freeze().expect("first freeze");
        test(&mut store);
    }

    fn run(store: &mut Store<'_>, line: &str, log: &mut Recorder) {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        let mut session = Session::new(1);
        let mut reply = VecSink::default();
        let _outcome = execute(store, &mut session, args.as_slice(), NOW, &mut reply, log);
    }

    fn names(log: &Recorder) -> Vec<&'static str> {
        log.events.iter().map(|(name, _, _)| *name).collect()
    }

    /// A new write command must say what it reports: only the whole-database ones
    /// report nothing, as in Redis.
    #[test]
    fn every_write_command_has_its_events_decided() {
        for spec in COMMANDS.iter().filter(|spec| spec.is_write()) {
            let args: [&[u8]; 1] = [spec.name.as_bytes()];
            let silent = matches!(spec.name, "flushall" | "flushdb" | "swapdb");
            assert_eq!(shape(spec, &args) == Shape::None, silent, "{}", spec.name);
        }
    }

    #[test]
    fn events_follow_the_records_in_redis_order() {
        with_store(|store| {
            let mut log = Recorder {
                on: true,
                ..Recorder::default()
            };
            run(store, "RPUSH l a b", &mut log);
            run(store, "LPOP l 2", &mut log);
            run(store, "LPOP l", &mut log);
            run(store, "SET k v EX 10", &mut log);
            run(store, "HSET h a 1 b 2", &mut log);
            run(store, "SET k v NX", &mut log);
            assert_eq!(
                names(&log),
                ["rpush", "lpop", "del", "set", "expire", "hset"]
            );
        });
    }

    #[test]
    fn events_off_compose_nothing_and_pass_every_record() {
        with_store(|store| {
            let mut log = Recorder::default();
            run(store, "RPUSH l a b", &mut log);
            run(store, "DEL l", &mut log);
            assert!(log.events.is_empty());
            assert_eq!(log.records, 2);
        });
    }

    #[test]
    fn the_store_reports_what_it_expires() {
        with_store(|store| {
            let mut log = Recorder {
                on: true,
                ..Recorder::default()
            };
            run(store, "SET a v PX 5", &mut log);
            run(store, "SET b v PX 5", &mut log);
            // Off: removed, not kept.
            store.expire_step(NOW + 10, 1 << 12);
            store.take_expired(&mut log);
            assert_eq!(names(&log), ["set", "expire", "set", "expire"]);
            log.events.clear();
            store.set_events(true);
            run(store, "SET c v PX 5", &mut log);
            run(store, "SET d v PX 5", &mut log);
            log.events.clear();
            // Lazily, by a write's lookup: before the write's own event.
            let args: [&[u8]; 3] = [b"SET", b"c", b"w"];
            let mut session = Session::new(1);
            let mut reply = VecSink::default();
            let _outcome = execute(store, &mut session, &args, NOW + 10, &mut reply, &mut log);
            // Actively.
            store.expire_step(NOW + 10, 1 << 12);
            store.take_expired(&mut log);
            assert_eq!(
                log.events,
                [
                    ("expired", 0, b"c".to_vec()),
                    ("set", 0, b"c".to_vec()),
                    ("expired", 0, b"d".to_vec()),
                ]
            );
        });
    }
}
