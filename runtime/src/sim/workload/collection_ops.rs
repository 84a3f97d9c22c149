//! The workload's collection operations: a write (its exact reply and the collection after
//! it predicted by [`collection::plan`]), a read checked against the model, a PEXPIRE, and
//! a DEL or SET over a collection key; and reading any key back for the checker.
//!
//! A collection write is one op of the model's history whose change is the key's new
//! version: the canonical bytes of the whole collection afterwards, kept as a size and a
//! digest (an emptied collection is the key's removal, and a write that changes nothing
//! adds no version). The runner keeps the collection itself beside the model (`contents`),
//! tagged with the op of the model entry it belongs to; after a recovery, it takes the
//! collections read back, which the checker has just found equal to the model's.
//!
//! A move (SMOVE, LMOVE) changes two keys in one op: one group in the log, which recovery
//! must apply whole (across shards too), and the checker's history holds it as one change
//! of two keys.
//!
//! Invariants: `contents[slot]` is the collection of the model's live entry for that key
//! whenever that entry is a collection (its op id says so, and [`Runner::content`] asserts
//! it); a key holding a string makes every collection write owe `WRONGTYPE`.

use floe_core::error::StoreError;

use super::Runner;
use crate::db::DbError;
use crate::sim::checker::{Entry, digest};
use crate::sim::collection::{self, Collection, CollectionType, Observed};

/// One collection key as a write finds it.
struct Side {
    slot: usize,
    key_index: usize,
    /// Its collection (empty if missing, expired, or a string).
    base: Collection,
    expires_at: u64,
    /// It holds a string: a collection write owes `WRONGTYPE`.
    string: bool,
}

impl Runner {
    /// A collection key: its slot among the collection keys, and its key index.
    fn collection_key(&mut self) -> (usize, usize) {
        let slot = self.rng.index(self.config.collection_key_count.max(1));
        (slot, self.config.key_count + slot)
    }

    /// Whether `key_index` is one of the collection keys.
    fn is_collection_key(&self, key_index: usize) -> bool {
        key_index >= self.config.key_count
    }

    /// The model's collection for `slot`, whose live entry op `op_id` wrote.
    fn content(&self, slot: usize, op_id: u64) -> Collection {
        let (owner, collection) = &self.contents[slot];
        assert_eq!(
            *owner, op_id,
            "collection slot {slot}: the runner holds op {owner}'s, the model op {op_id}'s"
        );
        collection.clone()
    }

    /// What the model says collection key `slot` holds at `now`.
    fn collection_side(&self, slot: usize, now: u64) -> Side {
        let key_index = self.config.key_count + slot;
        let live = self
            .model
            .live(key_index)
            .filter(|entry| entry.visible(now));
        let (base, expires_at) = match live {
            Some(entry) if entry.digest.is_some() => {
                (self.content(slot, entry.op_id), entry.expires_at)
            }
            // Missing or expired (a write makes a new collection, with no expiry), or a
            // string (the write is refused).
            _ => (collection::slot_type(slot).empty(), 0),
        };
        Side {
            slot,
            key_index,
            base,
            expires_at,
            string: live.is_some_and(|entry| entry.digest.is_none()),
        }
    }

    /// One write to a collection key, now and then a move (SMOVE, LMOVE) to a key of the
    /// same type (or the same key): its reply must be exactly the model's, or `WRONGTYPE`
    /// where a key holds a string, or a refusal that changed nothing.
    pub(super) fn collection_write(&mut self) -> Result<(), String> {
        let op_id = self.next_op();
        let (slot, key_index) = self.collection_key();
        let now = self.now_ms();
        let source = self.collection_side(slot, now);
        let key = self.key(key_index);
        let kind = collection::slot_type(slot);
        let movable = matches!(kind, CollectionType::Set | CollectionType::List);
        let (plan, target, wrong_type) = if movable && self.rng.chance(0.12) {
            // Keys of one type are `CollectionType::ALL.len()` slots apart.
            let step = CollectionType::ALL.len();
            let count = self.config.collection_key_count;
            let target_slot = (slot + step * self.rng.index(count / step)) % count;
            let target = (target_slot != slot).then(|| self.collection_side(target_slot, now));
            let target_key = self.key(self.config.key_count + target_slot);
            let plan = collection::move_plan(
                &mut self.rng,
                &source.base,
                target.as_ref().map(|target| &target.base),
                &key,
                &target_key,
            );
            // Redis looks at the target's type only once the source exists.
            let wrong_type = source.string
                || (!source.base.is_empty() && target.as_ref().is_some_and(|target| target.string));
            (plan, target, wrong_type)
        } else {
            let plan = collection::plan(&mut self.rng, &source.base, &key, op_id);
            (plan, None, source.string)
        };
        self.counters.collection_writes += 1;
        let outcome = self.call(|db| collection::command(db, &plan.args));
        let describe = || {
            format!(
                "{} op {op_id} on key {key_index} ({})",
                plan.name,
                source.base.describe()
            )
        };
        let outcome = match outcome {
            Ok(_) if wrong_type => {
                return Err(format!(
                    "{} succeeded on a key holding a string",
                    describe()
                ));
            }
            Ok(reply) if reply != plan.reply => {
                return Err(format!(
                    "{} replied {:?} but the model owes {:?}",
                    describe(),
                    String::from_utf8_lossy(&reply),
                    String::from_utf8_lossy(&plan.reply)
                ));
            }
            Err(DbError::Store(StoreError::WrongType)) if !wrong_type => {
                return Err(format!("{} replied WRONGTYPE", describe()));
            }
            Err(DbError::Store(error)) if wrong_type && error != StoreError::WrongType => {
                return Err(format!(
                    "{} on a key holding a string was refused with {error:?}, not WRONGTYPE",
                    describe()
                ));
            }
            other => other.map(|_| None),
        };
        let evicted = outcome.is_ok() && self.db().stats().store.evicted > self.evicted_before;
        let mut sides = vec![(source, plan.after)];
        if let (Some(target), Some(after)) = (target, plan.target_after) {
            sides.push((target, after));
        }
        if evicted && sides.len() == 2 {
            self.move_evictions(&mut sides, plan.target_fresh)?;
        }
        if let Err(DbError::Store(error)) = &outcome
            && !wrong_type
        {
            self.refusal_unchanged(plan.name, op_id, *error, &sides)?;
        }
        let changes: Vec<(usize, Option<Entry>)> = if wrong_type {
            Vec::new()
        } else {
            sides
                .iter()
                .filter(|(side, after)| *after != side.base)
                .map(|(side, after)| {
                    let entry = (!after.is_empty())
                        .then(|| collection_entry(op_id, after, side.expires_at));
                    (side.key_index, entry)
                })
                .collect()
        };
        self.written(op_id, plan.name, &changes, outcome)?;
        for (side, after) in sides {
            if self
                .model
                .live(side.key_index)
                .is_some_and(|entry| entry.op_id == op_id)
            {
                let large = after.is_large(&self.db_config.store);
                self.counters.large_writes += u64::from(large);
                self.contents[side.slot] = (op_id, after);
            }
        }
        Ok(())
    }

    /// A move (two keys) that evicted: the room it made may have taken either of its own
    /// keys (Redis evicts before a command; floe while it makes room, which is the same to
    /// the log, where the evictions come in the move's group). The source may then be
    /// gone, and the target may hold the moved element alone (evicted before the push):
    /// each side's new collection is taken from what the store holds if it is one of
    /// those, and anything else is left for the checker to refuse.
    ///
    /// # Errors
    /// A key reads back broken.
    fn move_evictions(
        &self,
        sides: &mut [(Side, Collection)],
        target_fresh: Option<Collection>,
    ) -> Result<(), String> {
        for (index, (side, after)) in sides.iter_mut().enumerate() {
            let observed = self.observe(side.key_index)?;
            let evicted_empty = side.base.kind().empty();
            match observed {
                None => *after = evicted_empty,
                Some(Observed::Collection(found, 0))
                    if index == 1 && target_fresh.as_ref() == Some(&found) =>
                {
                    side.base = evicted_empty;
                    side.expires_at = 0;
                    *after = found;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// A write the store refused (out of memory, too large) changed nothing: each of its
    /// keys holds what it held, unless an eviction the refusal made took it.
    ///
    /// # Errors
    /// A key it changed, described; or a key that reads back broken.
    fn refusal_unchanged(
        &self,
        name: &str,
        op_id: u64,
        error: StoreError,
        sides: &[(Side, Collection)],
    ) -> Result<(), String> {
        let evicted = self.db().stats().store.evicted > self.evicted_before;
        for (side, _) in sides {
            let observed = self.observe(side.key_index)?;
            let unchanged = match &observed {
                None => side.base.is_empty() || evicted,
                Some(Observed::Collection(found, expires_at)) => {
                    *found == side.base && *expires_at == side.expires_at
                }
                Some(Observed::String(_)) => false,
            };
            if !unchanged {
                let now = match observed {
                    Some(Observed::Collection(found, _)) => found.describe(),
                    _ => "something else".to_owned(),
                };
                return Err(format!(
                    "{name} op {op_id} was refused ({error:?}) but changed key {}: it held \
                     {}, it holds {now}",
                    side.key_index,
                    side.base.describe()
                ));
            }
        }
        Ok(())
    }

    /// Reads a collection key back and checks it against the model at once; a hash, set
    /// or sorted set past its thresholds must say `hashtable` (`skiplist`) to OBJECT
    /// ENCODING (so the runs really do reach the large form).
    pub(super) fn collection_read(&mut self) -> Result<(), String> {
        let (_, key_index) = self.collection_key();
        let observed = self.observe(key_index)?;
        self.counters.reads += 1;
        self.counters.operations += 3;
        let bytes = observed.as_ref().map(Observed::bytes);
        self.check_read(key_index, bytes.as_deref(), self.now_ms())?;
        let Some(Observed::Collection(found, _)) = observed else {
            return Ok(());
        };
        let large = found.is_large(&self.db_config.store);
        let wanted: &[u8] = match found {
            Collection::Zset(_) => b"$8\r\nskiplist\r\n",
            _ => b"$9\r\nhashtable\r\n",
        };
        if large && !matches!(found, Collection::List(_)) {
            let args = vec![
                b"OBJECT".to_vec(),
                b"ENCODING".to_vec(),
                self.key(key_index),
            ];
            let reply = collection::command(self.db(), &args)
                .map_err(|error| format!("OBJECT ENCODING failed: {error}"))?;
            if reply != wanted {
                return Err(format!(
                    "key {key_index} ({}) is past its thresholds but OBJECT ENCODING says {:?}",
                    found.describe(),
                    String::from_utf8_lossy(&reply)
                ));
            }
        }
        Ok(())
    }

    /// PEXPIRE of a collection key: a new version with the same collection and the new
    /// expiry. Not of a string set over one: a string is compared without its expiry, so
    /// a recovery that dropped an unacknowledged PEXPIRE of one would look like one that
    /// kept it (a collection's expiry is part of what is compared).
    pub(super) fn collection_expire(&mut self) -> Result<(), String> {
        let (slot, key_index) = self.collection_key();
        let now = self.now_ms();
        let ttl_ms = self.rng.between(1, 5_000);
        let live = self
            .model
            .live(key_index)
            .filter(|entry| entry.visible(now));
        if live.is_some_and(|entry| entry.digest.is_none()) {
            return Ok(());
        }
        let op_id = self.next_op();
        let args = collection::expire_args(&self.key(key_index), ttl_ms);
        let outcome = self.call(|db| collection::command(db, &args));
        let owed = collection::integer(u8::from(live.is_some()));
        if let Ok(reply) = &outcome
            && *reply != owed
        {
            return Err(format!(
                "pexpire op {op_id} on key {key_index} replied {:?} but the model owes {:?}",
                String::from_utf8_lossy(reply),
                String::from_utf8_lossy(&owed)
            ));
        }
        // A PEXPIRE that must rewrite the item makes room first, and the eviction that
        // makes it may take the key itself: then it writes nothing (it must not recreate
        // the key), still replies 1, and the key is one of the evicted.
        let evicted_itself = live.is_some()
            && outcome.is_ok()
            && self.db().stats().store.evicted > self.evicted_before
            && !self.db().exists(&self.key(key_index));
        // The entry keeps the op that wrote the collection (the runner's copy is tagged
        // with it).
        let expires_at = now + ttl_ms;
        let changes: Vec<(usize, Option<Entry>)> = live
            .filter(|_| !evicted_itself)
            .map(|entry| {
                let content = self.content(slot, entry.op_id);
                collection_entry(entry.op_id, &content, expires_at)
            })
            .map(|entry| (key_index, Some(entry)))
            .into_iter()
            .collect();
        self.written(op_id, "pexpire", &changes, outcome.map(|_| None))
    }

    /// DEL of a collection key (its parts with it), or a SET of a string with a TTL over
    /// it (which must remove its parts; once it expires the key takes a collection again).
    pub(super) fn collection_drop(&mut self) -> Result<(), String> {
        let (_, key_index) = self.collection_key();
        if self.rng.chance(0.5) {
            self.delete_key(key_index)
        } else {
            let ttl_ms = self.rng.between(1, 5_000);
            self.set_key(key_index, Some(ttl_ms))
        }
    }

    /// What `key_index` holds, read back: a string key by GET, a collection key by its
    /// type and then its whole value ([`collection::read`]).
    ///
    /// # Errors
    /// The store serves a broken collection.
    pub(super) fn observe(&self, key_index: usize) -> Result<Option<Observed>, String> {
        let key = self.key(key_index);
        if self.is_collection_key(key_index) {
            collection::read(self.db(), &key)
                .map_err(|message| format!("key {key_index}: {message}"))
        } else {
            Ok(self.db().get(&key).map(Observed::String))
        }
    }

    /// [`crate::sim::checker::Model::check_read`], with the collection the model holds and
    /// the one read back in the message.
    pub(super) fn check_read(
        &self,
        key_index: usize,
        observed: Option<&[u8]>,
        now: u64,
    ) -> Result<(), String> {
        self.model
            .check_read(key_index, observed, now)
            .map_err(|message| {
                let Some(slot) = key_index.checked_sub(self.config.key_count) else {
                    return message;
                };
                let expected = match self.model.live(key_index) {
                    Some(entry) if entry.digest.is_some() && entry.visible(now) => {
                        self.content(slot, entry.op_id).describe()
                    }
                    _ => "no collection".to_owned(),
                };
                let found = match self.observe(key_index) {
                    Ok(Some(Observed::Collection(found, expires_at))) => {
                        format!("{} expiring at {expires_at}", found.describe())
                    }
                    Ok(_) => "no collection".to_owned(),
                    Err(error) => error,
                };
                format!("{message}; the model's: {expected}; the store's: {found}")
            })
    }

    /// After a recovery the checker accepted, takes the collections read back (`read`, by
    /// key index) as the model's: they are the state of the prefix it kept.
    pub(super) fn contents_adopt(&mut self, read: Vec<Option<Observed>>) {
        let key_count = self.config.key_count;
        for (key_index, observed) in read.into_iter().enumerate().skip(key_count) {
            let slot = key_index - key_count;
            let owner = self.model.live(key_index).map_or(0, |entry| entry.op_id);
            self.contents[slot] = match observed {
                Some(Observed::Collection(found, _)) => (owner, found),
                // Nothing, a string, or an entry that expired: no collection to keep.
                _ => (owner, collection::slot_type(slot).empty()),
            };
        }
    }
}

/// The model's entry for `collection` expiring at `expires_at`, written by `op_id`: its
/// observed bytes as a size and a digest.
fn collection_entry(op_id: u64, collection: &Collection, expires_at: u64) -> Entry {
    let bytes = collection::observed_bytes(collection, expires_at);
    Entry {
        op_id,
        size: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
        expires_at,
        digest: Some(digest(&bytes)),
    }
}
