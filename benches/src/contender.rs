//! The single-threaded key-value operations a store offers, as the store benchmark
//! (`benches/store.rs`) and the CI guard (`floe-bench-guard`) drive them, with the two
//! contenders both use: floe's core store and a plain `hashbrown` map.
//!
//! A contender is pre-filled with the [`KEY_COUNT`] keys of [`crate::store`] by [`filled`].

use crate::store::{KEY_COUNT, NOW, PREFIX_PRESENT, Value, floe_store, key, value};
use floe_core::store::{SetOptions, Store};

/// Item memory of the floe contender: 1M items of 51 bytes live, 128 MiB to append into
/// (about 2.6x the live items, so overwrites never run out of room; the cost of cleaning the
/// holes they leave is part of a set).
pub const FLOE_MEMORY_SIZE: usize = 128 << 20;

/// `HashMap<Box<[u8]>, Box<[u8]>>` with foldhash, hashbrown's own default hasher.
pub type HashbrownMap = hashbrown::HashMap<Box<[u8]>, Box<[u8]>, foldhash::fast::RandomState>;

/// The operations every contender offers, as a single-threaded key-value store would use
/// them.
pub trait Contender {
    /// Copies the value of `key` into `target`; whether the key was found.
    fn get(&mut self, key: &[u8], target: &mut Value) -> bool;
    /// Stores `value` under `key`, replacing any value it had.
    fn set(&mut self, key: &[u8], value: &[u8]);
    /// Removes `key`; whether it was found.
    fn delete(&mut self, key: &[u8]) -> bool;
    /// Keys held.
    fn key_count(&self) -> usize;
}

/// floe-core's `Store`, every call at the fixed [`NOW`] with no log sink.
pub struct Floe(pub Store<'static>);

impl Floe {
    /// An empty store of [`FLOE_MEMORY_SIZE`] bytes for [`KEY_COUNT`] keys, policy
    /// `noeviction`.
    #[must_use]
    pub fn presized() -> Self {
        Self::sized(FLOE_MEMORY_SIZE, KEY_COUNT)
    }

    /// An empty store of `memory_size` bytes for `key_count` keys, policy `noeviction`.
    #[must_use]
    pub fn sized(memory_size: usize, key_count: usize) -> Self {
        Self(floe_store(memory_size, key_count))
    }
}

impl Contender for Floe {
    fn get(&mut self, key: &[u8], target: &mut Value) -> bool {
        match self.0.get(0, key, NOW) {
            Some(value) => {
                target.copy_from_slice(value);
                true
            }
            None => false,
        }
    }

    fn set(&mut self, key: &[u8], value: &[u8]) {
        self.0
            .set(0, key, value, SetOptions::default(), NOW, &mut ())
            .expect("the store is sized so a set never runs out of room");
    }

    fn delete(&mut self, key: &[u8]) -> bool {
        self.0.delete(0, key, NOW, &mut ())
    }

    fn key_count(&self) -> usize {
        self.0.len()
    }
}

/// A [`HashbrownMap`]. A set of an existing key replaces the value box (one allocation and
/// one free); a new key allocates both boxes.
pub struct Hashbrown(pub HashbrownMap);

impl Hashbrown {
    /// An empty map pre-sized for [`KEY_COUNT`] keys.
    #[must_use]
    pub fn presized() -> Self {
        Self::sized(KEY_COUNT)
    }

    /// An empty map pre-sized for `key_count` keys.
    #[must_use]
    pub fn sized(key_count: usize) -> Self {
        Self(HashbrownMap::with_capacity_and_hasher(
            key_count,
            foldhash::fast::RandomState::default(),
        ))
    }
}

impl Contender for Hashbrown {
    fn get(&mut self, key: &[u8], target: &mut Value) -> bool {
        match self.0.get(key) {
            Some(value) => {
                target.copy_from_slice(value);
                true
            }
            None => false,
        }
    }

    fn set(&mut self, key: &[u8], value: &[u8]) {
        // One lookup for an existing key; the key box is allocated only for a new one.
        match self.0.get_mut(key) {
            Some(slot) => *slot = Box::from(value),
            None => {
                self.0.insert(Box::from(key), Box::from(value));
            }
        }
    }

    fn delete(&mut self, key: &[u8]) -> bool {
        self.0.remove(key).is_some()
    }

    fn key_count(&self) -> usize {
        self.0.len()
    }
}

/// Fills `contender` with the [`KEY_COUNT`] keys, in index order, and checks it holds them.
///
/// # Panics
/// If the contender holds another number of keys afterwards.
#[must_use]
pub fn filled<C: Contender>(contender: C) -> C {
    filled_with(contender, KEY_COUNT)
}

/// Fills `contender` with keys `0..count`, in index order, and checks it holds them.
///
/// # Panics
/// If the contender holds another number of keys afterwards.
#[must_use]
pub fn filled_with<C: Contender>(mut contender: C, count: usize) -> C {
    for index in 0..count {
        contender.set(&key(PREFIX_PRESENT, index), &value(index));
    }
    assert_eq!(contender.key_count(), count, "a contender dropped keys");
    contender
}
