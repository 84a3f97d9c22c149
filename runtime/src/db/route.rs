//! Which shards an operation of a [`Db`](super::Db) locks, and the set of shards whose log
//! buffers hold records not yet appended.
//!
//! A command locks only the shards its keys hash to ([`shard_of`]); one that names no key but
//! reads or changes the whole keyspace locks every shard; one that does not touch the store
//! (PING, CLIENT, ...) locks none. Several shards are always locked in ascending index, then
//! the append-order lock: one order for everyone, so no two callers deadlock.
//!
//! Invariants of [`DirtyShards`]: a shard's bit is set, under its lock, when a write leaves
//! records in its buffer, and cleared, under its lock and the append-order lock, when the
//! buffer is handed to the log. So a caller that reads a clear bit and then takes the
//! append-order lock finds every record that was in that buffer appended.

use std::sync::atomic::{AtomicU64, Ordering};

use floe_core::command::{Arguments, CommandSpec, Scope};
use floe_core::store::{SHARD_COUNT_MAX, shard_of};

const WORD_COUNT: usize = SHARD_COUNT_MAX / 64;

/// A set of shard indexes, iterated in ascending order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct ShardSet {
    words: [u64; WORD_COUNT],
}

impl ShardSet {
    /// Every shard of a keyspace of `count`.
    pub(super) fn all(count: usize) -> Self {
        let mut set = Self::default();
        for shard in 0..count {
            set.insert(shard);
        }
        set
    }

    pub(super) fn insert(&mut self, shard: usize) {
        self.words[shard / 64] |= 1 << (shard % 64);
    }

    pub(super) fn len(&self) -> usize {
        self.words
            .iter()
            .map(|word| word.count_ones() as usize)
            .sum()
    }

    /// The lowest shard in the set, if any.
    pub(super) fn first(&self) -> Option<usize> {
        self.iter().next()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(index, &word)| {
            // The set bits, lowest first: each step clears the lowest.
            let mut rest = word;
            std::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let bit = rest.trailing_zeros() as usize;
                rest &= rest - 1;
                Some(index * 64 + bit)
            })
        })
    }
}

/// The shards an operation locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
    /// None: the operation does not touch the store.
    None,
    /// One shard (the common case: one key, or keys that share a shard).
    One(usize),
    /// Several shards, locked in ascending order.
    Many(ShardSet),
}

impl Route {
    /// The shards of `keys` in a keyspace of `count` shards.
    pub(super) fn of_keys<'k>(count: usize, keys: impl IntoIterator<Item = &'k [u8]>) -> Self {
        let mut set = ShardSet::default();
        for key in keys {
            set.insert(shard_of(key, count));
        }
        Self::of_set(set)
    }

    /// The shard of `key`.
    pub(super) fn of_key(count: usize, key: &[u8]) -> Self {
        Self::One(shard_of(key, count))
    }

    /// Every shard.
    pub(super) fn all(count: usize) -> Self {
        Self::of_set(ShardSet::all(count))
    }

    /// The shards a command needs (see [`Scope`]); an unknown command, or one with the
    /// wrong arity, needs none (it only replies with an error).
    pub(super) fn of_command<A: Arguments + ?Sized>(
        count: usize,
        spec: Option<&'static CommandSpec>,
        args: &A,
    ) -> Self {
        let Some(spec) = spec else {
            return Self::None;
        };
        match spec.scope_of(args) {
            Scope::None => Self::None,
            Scope::All => Self::all(count),
            Scope::Keys => {
                let indexes = spec.key_indexes_of(args);
                Self::of_keys(count, indexes.filter_map(|index| args.get(index)))
            }
        }
    }

    fn of_set(set: ShardSet) -> Self {
        match (set.len(), set.first()) {
            (1, Some(shard)) => Self::One(shard),
            (0, _) => Self::None,
            _ => Self::Many(set),
        }
    }
}

/// The shards whose buffers may hold records not yet appended (see the module's invariants).
#[derive(Debug, Default)]
pub(super) struct DirtyShards {
    words: [AtomicU64; WORD_COUNT],
}

impl DirtyShards {
    /// Marks `shard` (its lock held).
    pub(super) fn mark(&self, shard: usize) {
        let (word, bit) = (&self.words[shard / 64], 1 << (shard % 64));
        // Most writes find the bit set already: a load costs less than a shared write.
        if word.load(Ordering::Relaxed) & bit == 0 {
            word.fetch_or(bit, Ordering::Release);
        }
    }

    /// Clears `shard` (its lock and the append-order lock held).
    pub(super) fn clear(&self, shard: usize) {
        let (word, bit) = (&self.words[shard / 64], 1_u64 << (shard % 64));
        if word.load(Ordering::Relaxed) & bit != 0 {
            word.fetch_and(!bit, Ordering::Release);
        }
    }

    /// The marked shards now.
    pub(super) fn get(&self) -> ShardSet {
        let mut set = ShardSet::default();
        for (target, word) in set.words.iter_mut().zip(&self.words) {
            *target = word.load(Ordering::Acquire);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_iterates_in_order_and_routes_collapse() {
        let mut set = ShardSet::default();
        for shard in [200, 3, 64, 0] {
            set.insert(shard);
        }
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![0, 3, 64, 200]);
        assert_eq!(set.len(), 4);
        assert_eq!(
            Route::of_keys(8, [b"a".as_slice(), b"a"]),
            Route::of_key(8, b"a")
        );
        assert_eq!(Route::all(1), Route::One(0));
        assert_eq!(Route::of_keys(8, []), Route::None);
        assert!(matches!(Route::all(3), Route::Many(set) if set.len() == 3));
    }

    #[test]
    fn dirty_marks_clear_and_read_back() {
        let dirty = DirtyShards::default();
        dirty.mark(5);
        dirty.mark(5);
        dirty.mark(130);
        assert_eq!(dirty.get().iter().collect::<Vec<_>>(), vec![5, 130]);
        dirty.clear(5);
        dirty.clear(7);
        assert_eq!(dirty.get().iter().collect::<Vec<_>>(), vec![130]);
    }
}
