//! Keyspace commands: expiry (EXPIRE family, TTL, PERSIST, active expiry), iteration
//! (SCAN, KEYS, RANDOMKEY, values, prefix scans), clearing (FLUSHDB, FLUSHALL), and
//! looking at one item (TOUCH, OBJECT, MEMORY USAGE).

use super::{Found, LogSink, Lookup, Splice, Store, ValueType, expired, parse_integer};
use crate::codec::record::Record;
use crate::constants::{SLOT_SIZE, TAG_SIZE};
use crate::error::StoreError;
use crate::glob::{glob_match, literal_prefix};
use crate::storage::item::{self, ItemKind};
use crate::storage::policy::{POLICY_MASK, VOLATILE};
use crate::time::Timestamp;

/// Longest value Redis stores as an `embstr` (one allocation with its object header).
const EMBSTR_SIZE_MAX: usize = 44;

/// How Redis would encode a string value (OBJECT ENCODING). floe stores every value as
/// bytes; this is Redis's rule applied to them, so tools that look at it see what Redis
/// would show for a value written by SET.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// A canonical 64-bit decimal integer (`int`).
    Int,
    /// At most 44 bytes (`embstr`).
    EmbStr,
    /// Longer (`raw`).
    Raw,
    /// A small hash or sorted set (`listpack`).
    Listpack,
    /// A list (`quicklist`: Redis 7.0 names every list so).
    Quicklist,
    /// A small set of integers (`intset`).
    Intset,
    /// A set of other members (`hashtable`: Redis 7.0 has no listpack sets).
    Hashtable,
    /// A large sorted set (Redis's skiplist and dict).
    Skiplist,
}

impl Encoding {
    /// The encoding of `value` by Redis's rule for a value written by SET.
    #[must_use]
    pub fn of(value: &[u8]) -> Self {
        if parse_integer(value).is_some() {
            Self::Int
        } else if value.len() <= EMBSTR_SIZE_MAX {
            Self::EmbStr
        } else {
            Self::Raw
        }
    }

    /// The encoding of a compact collection's `value`, by its type byte, as Redis 7.0
    /// names the encoding of a collection that small.
    #[must_use]
    pub fn of_compact(value: &[u8]) -> Self {
        if let Some(header) = super::large::Header::read(value) {
            return if header.is_list() {
                Self::Quicklist
            } else if header.is_zset() {
                Self::Skiplist
            } else {
                Self::Hashtable
            };
        }
        match ValueType::of(ItemKind::Compact, value) {
            ValueType::List => Self::Quicklist,
            ValueType::Set if super::set::all_integers(value) => Self::Intset,
            ValueType::Set => Self::Hashtable,
            ValueType::String | ValueType::Hash | ValueType::SortedSet => Self::Listpack,
        }
    }

    /// The name OBJECT ENCODING replies with.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Int => "int",
            Self::EmbStr => "embstr",
            Self::Raw => "raw",
            Self::Listpack => "listpack",
            Self::Quicklist => "quicklist",
            Self::Intset => "intset",
            Self::Hashtable => "hashtable",
            Self::Skiplist => "skiplist",
        }
    }
}

/// What the store knows about one live item (OBJECT, MEMORY USAGE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Redis's encoding of the value.
    pub encoding: Encoding,
    /// The eviction policy's bits for the item: the LFU counter under an LFU policy, the
    /// visited bit under LRU and SIEVE, zero otherwise.
    pub policy_bits: u8,
    /// Bytes the item takes: its header, key and value in segment memory, plus its table
    /// slot and tag.
    pub memory_size: usize,
}

/// A database index from outside (a record, a client) must be in range.
fn check_db(db: u8) -> Result<(), StoreError> {
    if db < crate::constants::DATABASE_COUNT {
        Ok(())
    } else {
        Err(StoreError::InvalidDatabase)
    }
}

/// When an EXPIRE applies (Redis 7's options).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExpireCondition {
    /// Always.
    #[default]
    Always,
    /// Only if the key has no expiry (`NX`).
    IfNone,
    /// Only if the key has an expiry (`XX`).
    IfSome,
    /// Only if the new expiry is later than the current one (`GT`; no expiry counts as
    /// infinitely late).
    IfLater,
    /// Only if the new expiry is sooner than the current one (`LT`; no expiry counts as
    /// infinitely late).
    IfSooner,
    /// Only if the key has an expiry and the new one is sooner (`XX LT`).
    IfSomeAndSooner,
}

/// A key's remaining time to live (TTL, PTTL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// The key does not exist (Redis's `-2`).
    Missing,
    /// The key has no expiry (Redis's `-1`).
    Persistent,
    /// Milliseconds left.
    Remaining(u64),
}

impl Store<'_> {
    /// Sets `key` to expire at `at` if `condition` holds; an expiry not in the future
    /// deletes the key. Whether the key existed and the condition held (EXPIREAT family).
    ///
    /// # Errors
    /// A memory error when adding an expiry needs the item rewritten.
    pub fn expire_at(
        &mut self,
        db: u8,
        key: &[u8],
        at: Timestamp,
        condition: ExpireCondition,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<bool, StoreError> {
        let lookup = self.lookup(db, key, now);
        let Some(found) = lookup.found.clone() else {
            return Ok(false);
        };
        let current = found.layout.expires_at;
        let applies = match condition {
            ExpireCondition::Always => true,
            ExpireCondition::IfNone => current == 0,
            ExpireCondition::IfSome => current != 0,
            ExpireCondition::IfLater => current != 0 && at > current,
            ExpireCondition::IfSooner => current == 0 || at < current,
            ExpireCondition::IfSomeAndSooner => current != 0 && at < current,
        };
        if !applies {
            return Ok(false);
        }
        if at <= now {
            self.remove_expired(&found);
            log.record(Record::Del { db, key });
            return Ok(true);
        }
        self.expiry_change(key, lookup, at, now, log)?;
        Ok(true)
    }

    /// Sets `key` to expire `ttl_ms` after `now` (EXPIRE, PEXPIRE); a TTL that is not
    /// positive deletes the key.
    ///
    /// # Errors
    /// [`StoreError::InvalidExpire`] if the time overflows, or as [`Store::expire_at`].
    pub fn expire_in(
        &mut self,
        db: u8,
        key: &[u8],
        ttl_ms: i64,
        condition: ExpireCondition,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<bool, StoreError> {
        let at = match u64::try_from(ttl_ms) {
            Ok(ttl) if ttl > 0 => now.checked_add(ttl).ok_or(StoreError::InvalidExpire)?,
            _ => now,
        };
        self.expire_at(db, key, at.max(1), condition, now, log)
    }

    /// The time `key` has left.
    pub fn ttl(&mut self, db: u8, key: &[u8], now: Timestamp) -> Ttl {
        match self.find_live(db, key, now) {
            None => Ttl::Missing,
            Some(found) if found.layout.expires_at == 0 => Ttl::Persistent,
            Some(found) => Ttl::Remaining(found.layout.expires_at - now),
        }
    }

    /// Removes the expiry of `key`; whether it had one (PERSIST).
    ///
    /// # Errors
    /// A memory error when the item must be rewritten without its expiry.
    pub fn persist(
        &mut self,
        db: u8,
        key: &[u8],
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<bool, StoreError> {
        let lookup = self.lookup(db, key, now);
        match &lookup.found {
            Some(found) if found.layout.expires_at != 0 => {
                self.expiry_change(key, lookup, 0, now, log)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Gives a live key a new expiry (`0`: none): in place when the item already has an
    /// expiry field, else by rewriting the item.
    pub(super) fn expiry_change(
        &mut self,
        key: &[u8],
        lookup: Lookup,
        at: Timestamp,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        let Some(found) = lookup.found.clone() else {
            return Ok(());
        };
        let db = found.layout.db;
        if found.layout.expires_at != 0 && at != 0 {
            let field_end = found.location + found.layout.key.start;
            let memory = self.segments.memory_mut();
            memory[field_end - 8..field_end].copy_from_slice(&at.to_le_bytes());
            self.segments.expiry_written(found.location, at);
            if at > found.layout.expires_at {
                // A later expiry is logged with the whole item: the key's earlier record
                // may have expired by the time recovery replays this one (SET PX 1000,
                // then PEXPIRE 100000, then a restart two seconds later), and replay drops
                // an expired record, so an `ExpireAt` would find nothing to extend.
                let bytes = self.segments.bytes(found.location);
                log.record(Record::Set {
                    db,
                    key,
                    value: &bytes[found.layout.value.clone()],
                    expires_at: at,
                    value_kind: found.layout.kind,
                });
            } else {
                log.record(Record::ExpireAt {
                    db,
                    key,
                    expires_at: at,
                });
            }
        } else {
            // The rewrite logs a Set that carries the new expiry (and any evictions).
            let keep = Splice {
                only_if_present: true,
                ..Splice::after_old(&[])
            };
            self.put(db, key, lookup, &keep, at, now, log)?;
        }
        Ok(())
    }

    /// Marks `key` as used, as a read does, for the eviction policy; whether it exists
    /// (TOUCH).
    pub fn touch(&mut self, db: u8, key: &[u8], now: Timestamp) -> bool {
        let Some(found) = self.find_live(db, key, now) else {
            return false;
        };
        self.touch_slot(found.slot_index);
        true
    }

    /// What the store knows about `key`, without counting as an access (OBJECT, MEMORY
    /// USAGE); `None` if it does not exist.
    pub fn object(&mut self, db: u8, key: &[u8], now: Timestamp) -> Option<ObjectInfo> {
        let found = self.find_live(db, key, now)?;
        Some(ObjectInfo {
            encoding: match found.layout.kind {
                ItemKind::String => Encoding::of(self.value_of(&found)),
                ItemKind::Compact | ItemKind::Part => Encoding::of_compact(self.value_of(&found)),
            },
            policy_bits: self.table.policy(found.slot_index) & POLICY_MASK,
            memory_size: found.layout.size()
                + SLOT_SIZE
                + TAG_SIZE
                + self.parts_memory_size(&found),
        })
    }

    /// A live key of database `db` chosen by the store's random number generator, or
    /// `None` if it has none (RANDOMKEY).
    ///
    /// The walk starts at a random slot and takes the first live key of `db` from there,
    /// so a key after a long run of empty or other slots is likelier than one right
    /// after another key: random, not exactly uniform. It looks at every slot at most
    /// once.
    pub fn random_key(&mut self, db: u8, now: Timestamp) -> Option<&[u8]> {
        if self.db_len(db) == 0 {
            return None;
        }
        let slot_count = self.table.slot_count();
        let start = self.random_below(slot_count);
        let slot_index = (0..slot_count)
            .map(|offset| (start + offset) % slot_count)
            .find(|&slot_index| self.entry_at(slot_index, db, now).is_some())?;
        self.entry_at(slot_index, db, now).map(|(key, _)| key)
    }

    /// Removes every key of database `db`, or of every database (FLUSHDB, FLUSHALL).
    pub fn clear(&mut self, db: Option<u8>, log: &mut impl LogSink) {
        log.record(Record::Clear { db });
        let Some(db) = db else {
            self.epoch += 1;
            self.table.clear();
            self.index.clear();
            self.segments.clear();
            self.ghost.clear();
            self.db_key_count = Default::default();
            return;
        };
        let mut slot_index = 0;
        while slot_index < self.table.slot_count() {
            // A removal shifts a later entry into this slot: look at it again.
            if self.table.occupied(slot_index) {
                let found = self.found_at(slot_index);
                if found.layout.db == db {
                    // The database's parts are among its items: removing them here
                    // keeps the walk's rule (a removal shifts only later entries back).
                    self.remove_item(&found);
                    continue;
                }
            }
            slot_index += 1;
        }
    }

    /// Active expiry: examines up to `slot_budget` slots from where the last step stopped
    /// and removes the expired keys found; returns how many. A store with no key that has
    /// an expiry examines nothing.
    pub fn expire_step(&mut self, now: Timestamp, slot_budget: usize) -> usize {
        if self.segments.volatile_total() == 0 {
            return 0;
        }
        let mut removed_count = 0;
        let mut slot_index = self.expire_cursor % self.table.slot_count();
        for _ in 0..slot_budget {
            if self.table.occupied(slot_index) && self.table.policy(slot_index) & VOLATILE != 0 {
                let found = self.found_at(slot_index);
                if expired(found.layout.expires_at, now) {
                    let bytes = self.segments.bytes(found.location);
                    self.expired_queue
                        .push(found.layout.db, &bytes[found.layout.key.clone()]);
                    self.remove(&found);
                    self.stats.expired += 1;
                    removed_count += 1;
                    continue; // A later entry may have shifted into this slot.
                }
            }
            slot_index = (slot_index + 1) % self.table.slot_count();
        }
        self.expire_cursor = slot_index;
        removed_count
    }

    /// One SCAN step over database `db`: calls `visit` with live keys matching `pattern`
    /// and returns the next cursor (0 when the scan is complete). Every key present for the
    /// whole scan is visited at least once; some may be visited twice.
    pub fn scan(
        &self,
        db: u8,
        cursor: u64,
        count: usize,
        pattern: Option<&[u8]>,
        now: Timestamp,
        visit: impl FnMut(&[u8]),
    ) -> u64 {
        self.scan_kind(db, cursor, count, pattern, None, now, visit)
    }

    /// [`Store::scan`] of the keys of one type only (`kind`; `None`: every key), for
    /// SCAN's TYPE option.
    #[expect(clippy::too_many_arguments, reason = "SCAN's options")]
    pub fn scan_kind(
        &self,
        db: u8,
        cursor: u64,
        count: usize,
        pattern: Option<&[u8]>,
        kind: Option<ValueType>,
        now: Timestamp,
        mut visit: impl FnMut(&[u8]),
    ) -> u64 {
        self.table.scan(cursor, count, |slot_index| {
            if let Some((key, value)) = self.entry_at(slot_index, db, now)
                && pattern.is_none_or(|pattern| glob_match(pattern, key))
                && kind.is_none_or(|kind| {
                    ValueType::of(self.found_at(slot_index).layout.kind, value) == kind
                })
            {
                visit(key);
            }
        })
    }

    /// Calls `visit` with every live key of `db` matching `pattern` (KEYS, ZeekDB's `keys`):
    /// from the prefix index when it is on and the pattern starts with a literal prefix
    /// (in byte order then), else by walking the table.
    pub fn keys(&self, db: u8, pattern: &[u8], now: Timestamp, mut visit: impl FnMut(&[u8])) {
        let indexed = self.keys_from_index(db, pattern, now, |key| {
            visit(key);
            true
        });
        if indexed {
            return;
        }
        for slot_index in 0..self.table.slot_count() {
            if let Some((key, _)) = self.entry_at(slot_index, db, now)
                && glob_match(pattern, key)
            {
                visit(key);
            }
        }
    }

    /// Calls `visit` with every live key of `db` that holds a string, and its value
    /// (ZeekDB's `values` and iteration). Hashes have no string value and are skipped.
    pub fn entries(&self, db: u8, now: Timestamp, mut visit: impl FnMut(&[u8], &[u8])) {
        for slot_index in 0..self.table.slot_count() {
            if let Some((key, value)) = self.entry_at(slot_index, db, now)
                && self.found_at(slot_index).layout.kind == ItemKind::String
            {
                visit(key, value);
            }
        }
    }

    /// Calls `visit` with every live key of `db` starting with `prefix` that holds a
    /// string, and its value (PizzaKV's prefix search).
    pub fn scan_prefix(
        &self,
        db: u8,
        prefix: &[u8],
        now: Timestamp,
        mut visit: impl FnMut(&[u8], &[u8]),
    ) {
        let indexed = !prefix.is_empty()
            && self.visit_from_index(db, prefix, None, now, |key, value| {
                visit(key, value);
                true
            });
        if indexed {
            return;
        }
        self.entries(db, now, |key, value| {
            if key.starts_with(prefix) {
                visit(key, value);
            }
        });
    }

    /// Calls `visit` with live keys of `db` matching `pattern`, in byte order, from the
    /// prefix index, until it returns `false`. Answers only when the index is on and the
    /// pattern's literal prefix ([`literal_prefix`]) is not empty; returns whether it
    /// answered (it visited nothing otherwise, and the caller walks the table). A pattern
    /// with no literal prefix (`*`, `?x`) selects nothing the index could seek to.
    pub fn keys_from_index(
        &self,
        db: u8,
        pattern: &[u8],
        now: Timestamp,
        mut visit: impl FnMut(&[u8]) -> bool,
    ) -> bool {
        let prefix = literal_prefix(pattern);
        !prefix.is_empty()
            && self.visit_from_index(db, prefix, Some(pattern), now, |key, _| visit(key))
    }

    /// Calls `visit(key, value)` with the live keys of `db` that start with `prefix` (and
    /// match `pattern`, if given), from the prefix index, until it returns `false`; `false`
    /// when the index is off. An indexed key that has expired but was not removed yet is
    /// skipped: the table lookup that finds the value also checks the expiry.
    fn visit_from_index(
        &self,
        db: u8,
        prefix: &[u8],
        pattern: Option<&[u8]>,
        now: Timestamp,
        mut visit: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> bool {
        self.index.visit_prefix(db, prefix, |key| {
            assert!(key.starts_with(prefix));
            if pattern.is_some_and(|pattern| !glob_match(pattern, key)) {
                return true;
            }
            let Some(found) = self.find(db, key) else {
                unreachable!("an indexed key is not in the table");
            };
            if expired(found.layout.expires_at, now) {
                return true;
            }
            if pattern.is_none() && found.layout.kind != ItemKind::String {
                // A prefix scan of values (not KEYS): a hash has no string value.
                return true;
            }
            let bytes = self.segments.bytes(found.location);
            visit(
                &bytes[found.layout.key.clone()],
                &bytes[found.layout.value.clone()],
            )
        })
    }

    /// Calls `visit(db, key, value, expires_at, kind)` with every live item of every database
    /// (snapshots), a segment at a time, each segment's items in the order they were
    /// written.
    ///
    /// Why by segment and not by table slot: items written together stay together, so a
    /// store that loads a snapshot packs them together too. The live store evicts a segment
    /// at a time and logs the deletes; replayed over a snapshot in slot (hash) order, those
    /// deletes punched holes into every segment and replay had to copy nearly all of memory
    /// to make room, while in this order they empty one or two segments, which cleaning
    /// frees without copying. (The walk is also sequential in memory.)
    pub fn items(
        &self,
        now: Timestamp,
        mut visit: impl FnMut(u8, &[u8], &[u8], Timestamp, ItemKind),
    ) {
        for segment in 0..self.segments.count() {
            if !self.segments.in_use(segment) || self.segments.live_size(segment) == 0 {
                continue;
            }
            let start = self.segments.start(segment);
            let end = start + self.segments.used_size(segment);
            let mut location = start;
            while location < end {
                let bytes = self.segments.bytes(location);
                let layout = item::layout(bytes);
                assert!(layout.size() > 0, "empty item at {location}");
                if !item::is_dead(bytes) && !expired(layout.expires_at, now) {
                    let (key, value) = (&bytes[layout.key.clone()], &bytes[layout.value.clone()]);
                    // A part goes with its owner: not at all once the owner has expired.
                    let owned = layout.kind != ItemKind::Part
                        || self
                            .find(layout.db, item::part_owner(key))
                            .is_some_and(|owner| !expired(owner.layout.expires_at, now));
                    if owned {
                        visit(layout.db, key, value, layout.expires_at, layout.kind);
                    }
                }
                location += layout.size();
            }
        }
    }

    /// Replays one logged record (recovery, or a replica). Replaying a record twice gives
    /// the same state as once, except a [`Record::SwapDb`], which must be replayed exactly
    /// once.
    ///
    /// A record whose expiry has passed by the time it is replayed deletes its key (or
    /// writes nothing). That loses nothing: a write that moves a key's expiry later (or
    /// removes it) logs the whole item ([`Store::expiry_change`]), so no later record
    /// needs an expired one to build on.
    ///
    /// Replay never evicts: every eviction of the live store is in the log as a delete, so
    /// evicting again would drop keys the log says exist. Room comes from cleaning alone,
    /// which may copy more than the live store did: the replayed layout differs (a
    /// snapshot loads compactly, and the logged deletes then leave holes spread over many
    /// segments where the live store freed whole ones).
    ///
    /// # Errors
    /// A size or memory error: the store is too small for the data being recovered
    /// ([`StoreError::OutOfMemory`]: its item memory; [`StoreError::KeysFull`]: its
    /// table). The store is unchanged then.
    pub fn apply(&mut self, record: &Record<'_>, now: Timestamp) -> Result<(), StoreError> {
        self.apply_logged(record, now, &mut ())
    }

    /// [`Store::apply`], handing the records the change produces to `log`: a replica
    /// applies its primary's records this way and logs them in its own log.
    ///
    /// # Errors
    /// As [`Store::apply`].
    pub fn apply_logged(
        &mut self,
        record: &Record<'_>,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        assert!(!self.replaying, "apply is not reentrant");
        self.replaying = true;
        let applied = self.apply_replaying(record, now, log);
        self.replaying = false;
        applied
    }

    /// Before a replayed list node `value` at `key` is written: if its owner is an expired
    /// header of another list (another seed), or any other expired entry, that goes with
    /// its parts, as a lookup does (the node belongs to a new list under the key).
    fn node_owner_check(&mut self, db: u8, key: &[u8], value: &[u8], now: Timestamp) {
        let owner = item::part_owner(key);
        let kept = self.lookup_keeping_expired(db, owner);
        let Some(found) = kept.found else {
            return;
        };
        if !expired(found.layout.expires_at, now) {
            return;
        }
        let seed = super::list::node_seed(value);
        let same = self
            .header_of(&found)
            .is_some_and(|header| header.is_list() && header.seed == seed);
        if !same {
            self.lookup(db, owner, now);
        }
    }

    /// The lookup of a replayed header `value` at `key` (replay keeps an expired header
    /// with its parts, see `apply_replaying`): an expired header of the same collection
    /// (same type and seed) stays found, so the new header takes its parts over. Under
    /// an expired entry of another collection, a new hash's parts were all just written
    /// (numbers below its part count): the old entry goes with its parts from there on.
    /// Any other expired entry goes with all its parts, as a lookup does (a new list's
    /// nodes made the old list go before they were written: `node_owner_check`).
    fn header_lookup(&mut self, db: u8, key: &[u8], value: &[u8], now: Timestamp) -> Lookup {
        let kept = self.lookup_keeping_expired(db, key);
        let Some(found) = kept.found.clone() else {
            return kept;
        };
        if !expired(found.layout.expires_at, now) {
            return kept;
        }
        let (old, new) = (self.header_of(&found), super::large::Header::read(value));
        match (old, new) {
            (Some(old), Some(new)) if old.type_byte == new.type_byte && old.seed == new.seed => {
                kept
            }
            (Some(old), Some(new)) if !new.is_list() => {
                self.remove_item(&found);
                self.stats.expired += 1;
                if let Some(mut part_key) = super::large::PartKey::new(key) {
                    for number in (0..old.part_bound()).filter(|&number| !new.owns(number)) {
                        if let Some(part) = self.find_part(db, part_key.of(number)) {
                            self.remove_item(&part);
                        }
                    }
                }
                self.lookup_keeping_expired(db, key)
            }
            _ => self.lookup(db, key, now),
        }
    }

    fn apply_replaying(
        &mut self,
        record: &Record<'_>,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        match *record {
            Record::Set {
                db,
                key,
                value,
                expires_at,
                value_kind,
            } => {
                check_db(db)?;
                if value_kind == ItemKind::Part && value.is_empty() && key.len() >= 4 {
                    // A part with no value is a removed one (a list's emptied node).
                    self.part_remove_logged(db, key, log);
                    return Ok(());
                }
                let valid = match value_kind {
                    ItemKind::String => true,
                    ItemKind::Compact => super::compact::is_valid(value),
                    ItemKind::Part => {
                        super::large::part_is_valid(value) && expires_at == 0 && key.len() >= 4
                    }
                };
                if !valid {
                    return Err(StoreError::CollectionInvalid);
                }
                let is_header =
                    value_kind == ItemKind::Compact && super::large::Header::read(value).is_some();
                if value_kind == ItemKind::Part && value.first() == Some(&super::list::TYPE_NODE) {
                    self.node_owner_check(db, key, value, now);
                }
                let lookup = if value_kind == ItemKind::Part {
                    self.part_lookup(db, key)
                } else if is_header {
                    self.header_lookup(db, key, value, now)
                } else {
                    self.lookup(db, key, now)
                };
                let splice = Splice {
                    kind: Some(value_kind),
                    ..Splice::bytes(value)
                };
                if is_header && expires_at != 0 && expired(expires_at, now) {
                    // A large collection whose header comes back already expired stays,
                    // expired, with its parts: a later record of its header with a later
                    // expiry (EXPIRE logs a longer expiry as a `Set` of the header alone)
                    // finds them; otherwise the next lookup, another collection under
                    // the key, or cleaning removes the header and every part below its
                    // bound, those replayed before it included.
                    let size = item::item_size(key.len(), value.len(), expires_at);
                    let new_keys = usize::from(lookup.found.is_none());
                    self.ensure_room(core::iter::once(size), new_keys, now, log)?;
                    let lookup = self.header_lookup(db, key, value, now);
                    self.put_prepared(db, key, lookup, &splice, expires_at, log)?;
                } else {
                    self.put(db, key, lookup, &splice, expires_at, now, log)?;
                }
            }
            Record::Del { db, key } => {
                check_db(db)?;
                self.delete(db, key, now, log);
            }
            Record::ExpireAt {
                db,
                key,
                expires_at: 0,
            } => {
                check_db(db)?;
                self.persist(db, key, now, log)?;
            }
            Record::ExpireAt {
                db,
                key,
                expires_at,
            } => {
                check_db(db)?;
                self.expire_at(db, key, expires_at, ExpireCondition::Always, now, log)?;
            }
            Record::Clear { db } => {
                if let Some(db) = db {
                    check_db(db)?;
                }
                self.clear(db, log);
            }
            Record::SwapDb {
                db_first,
                db_second,
            } => self.swap_db(db_first, db_second, log)?,
        }
        Ok(())
    }

    /// The live key and value at an occupied slot, if it belongs to `db`.
    fn entry_at(&self, slot_index: usize, db: u8, now: Timestamp) -> Option<(&[u8], &[u8])> {
        if !self.table.occupied(slot_index) {
            return None;
        }
        let bytes = self.segments.bytes(self.table.location(slot_index));
        let layout = item::layout(bytes);
        if layout.db != db || layout.kind == ItemKind::Part || expired(layout.expires_at, now) {
            return None;
        }
        Some((&bytes[layout.key.clone()], &bytes[layout.value.clone()]))
    }

    fn found_at(&self, slot_index: usize) -> Found {
        let location = self.table.location(slot_index);
        let layout = item::layout(self.segments.bytes(location));
        Found {
            slot_index,
            location,
            layout,
        }
    }
}
