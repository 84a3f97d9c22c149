//! An owned store: a [`Store`] together with the heap memory its arena was carved from.
//!
//! floe-core's [`Store<'a>`] borrows the buffer its [`Arena`] carves (`&'a mut [u8]`), which is
//! what lets the core run with no allocator. A [`crate::db::Db`] must own both the buffer and
//! the store that borrows it, which safe Rust cannot express as one struct. This module does
//! it with the smallest amount of `unsafe` that works, so the rest of the runtime never sees
//! a raw pointer.
//!
//! Invariants (each `unsafe` block below names the one it relies on):
//! 1. `memory` is the pointer `Box::into_raw` returned for a `Box<[u8]>`, and nothing else
//!    frees it: only [`Drop`] turns it back into a box, exactly once.
//! 2. The only reference ever made from `memory` is the one handed to the arena in
//!    [`OwnedStore::new`]; every borrow of the buffer lives inside `store`.
//! 3. `store` is dropped before `memory` is freed ([`Drop`] does both, in that order, by hand
//!    rather than by field order, so a reordering of the fields cannot break it).
//! 4. The store is reached only through [`OwnedStore::with`] and [`with_shards`], whose
//!    closures are generic over the store's lifetime (`for<'s> FnOnce(&mut Store<'s>)`): they
//!    cannot move the store out, and whatever they swap in must be valid for any lifetime,
//!    `'static` included. So the `'static` below never escapes, and a store over this memory
//!    never outlives it. [`with_shards`] shows several stores, but never two of one lifetime
//!    at once (see [`Shards`]), so no closure can swap one owner's store into another's.
//!
//! Fault assumptions: none beyond the allocator's; an allocation failure aborts, as
//! everywhere in Rust's standard library.
#![allow(unsafe_code)]

use std::fmt;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;

use floe_core::arena::Arena;
use floe_core::error::ConfigError;
use floe_core::store::{Config, SHARD_COUNT_MAX, Shards, Store};

/// A [`Store`] and the heap buffer it lives in, freed together.
pub struct OwnedStore {
    /// Borrows `memory` (with a lifetime that is really "until `Drop`"); see invariant 4.
    store: ManuallyDrop<Store<'static>>,
    /// The buffer, from `Box::<[u8]>::into_raw`; see invariants 1 and 3.
    memory: NonNull<[u8]>,
}

// SAFETY: `OwnedStore` owns its buffer like a `Box<[u8]>` (which is `Send`), and the store
// that borrows it is `Send` (checked below); moving both to another thread together keeps
// every borrow valid.
unsafe impl Send for OwnedStore {}

// SAFETY: `&OwnedStore` gives no access to the buffer itself, and only shared access to the
// store (`with_ref`), which is `Sync` (checked below): as harmless as sharing a `Box<Store>`.
unsafe impl Sync for OwnedStore {}

/// The two impls above lean on the store being `Send` and `Sync`; this fails to compile if
/// floe-core ever changes that.
const _: () = {
    const fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<Store<'static>>();
};

impl OwnedStore {
    /// Allocates `config.arena_size()` zeroed bytes, carves a store from them and freezes the
    /// arena.
    ///
    /// # Errors
    /// [`ConfigError`] if the configuration is invalid (the buffer is freed again).
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        Self::new_paged(config, false)
    }

    /// [`OwnedStore::new`], asking the kernel to back the buffer with transparent huge
    /// pages when `huge_pages` (see [`zeroed_buffer`]).
    ///
    /// # Errors
    /// As [`OwnedStore::new`].
    pub fn new_paged(config: Config, huge_pages: bool) -> Result<Self, ConfigError> {
        config.validate()?;
        let buffer = zeroed_buffer(config.arena_size(), huge_pages);
        let memory = NonNull::from(Box::leak(buffer));
        // SAFETY: `memory` comes from `Box::leak` just above, so it is valid, aligned and
        // unaliased; this is the only reference made from it (invariant 2), and it is used
        // only by the store, which `Drop` drops before freeing the buffer (invariant 3).
        let bytes: &'static mut [u8] = unsafe { &mut *memory.as_ptr() };
        // `vec![0; n]` is a zeroing allocation: the arena need not fill it again, so pages
        // the store never writes stay untouched and RSS follows the data.
        let mut arena = Arena::from_zeroed_buffer(bytes);
        let carved = Store::new(&mut arena, config).and_then(|store| {
            arena.freeze()?;
            Ok(store)
        });
        match carved {
            Ok(store) => Ok(Self {
                store: ManuallyDrop::new(store),
                memory,
            }),
            Err(error) => {
                // SAFETY: no store was carved, or `and_then` dropped it, and the arena is not
                // used again (its last use was `freeze` above), so nothing borrows the
                // buffer; it is freed once, here (invariant 1).
                drop(unsafe { Box::from_raw(memory.as_ptr()) });
                Err(error)
            }
        }
    }

    /// Runs `operation` on the store. The closure is generic over the store's lifetime, so
    /// the store cannot leave it (see the module's invariant 4).
    pub fn with<R>(&mut self, operation: impl for<'s> FnOnce(&mut Store<'s>) -> R) -> R {
        operation(&mut self.store)
    }

    /// Reads the store (for iteration that needs no `&mut`).
    pub fn with_ref<R>(&self, operation: impl for<'s> FnOnce(&Store<'s>) -> R) -> R {
        operation(&self.store)
    }

    /// Bytes of heap this store owns.
    #[must_use]
    pub fn memory_size(&self) -> usize {
        self.memory.len()
    }
}

impl Drop for OwnedStore {
    fn drop(&mut self) {
        // SAFETY: `store` is dropped exactly once, here, and never used again.
        unsafe { ManuallyDrop::drop(&mut self.store) };
        // SAFETY: the store, the only borrower of the buffer, is gone (invariant 3), and the
        // pointer came from `Box::leak` and is freed only here (invariant 1).
        drop(unsafe { Box::from_raw(self.memory.as_ptr()) });
    }
}

impl fmt::Debug for OwnedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedStore")
            .field("memory_size", &self.memory.len())
            .field("keys", &self.store.len())
            .finish()
    }
}

/// `size` zeroed bytes of heap for a store's arena, untouched until written (so the
/// process's resident size follows the data). With `huge_pages`, the buffer's pages are
/// advised `MADV_HUGEPAGE`: where transparent huge pages are enabled (`always` or
/// `madvise` in `/sys/kernel/mm/transparent_hugepage/enabled`), the kernel backs them
/// with 2 MiB pages as they are first written, so a random lookup over a large store
/// misses the TLB less often (BENCHMARKS.md, "Store (floe-core)": 10-16% less per
/// operation at 1M keys). The cost: memory is committed 2 MiB at a time (+11% resident at
/// 1M keys, a few MiB more when nearly empty). An advice the kernel refuses changes
/// nothing but speed, so it is not an error.
#[must_use]
pub fn zeroed_buffer(size: usize, huge_pages: bool) -> Box<[u8]> {
    let mut buffer = vec![0u8; size].into_boxed_slice();
    if huge_pages {
        let start = buffer.as_mut_ptr().addr();
        // madvise wants a page-aligned start; the allocator's header may sit before it.
        // It rounds the length up to a page, so the end is rounded down: no advice for
        // memory past the buffer.
        let offset = start.next_multiple_of(PAGE_SIZE) - start;
        let length = buffer.len().saturating_sub(offset) / PAGE_SIZE * PAGE_SIZE;
        if length > 0 {
            let advised = &mut buffer[offset..offset + length];
            // SAFETY: the range is inside the buffer, which this function owns and which
            // stays allocated for the call; MADV_HUGEPAGE changes how pages are backed,
            // never their contents (all zero), and reads and writes no memory.
            unsafe {
                libc::madvise(
                    advised.as_mut_ptr().cast(),
                    advised.len(),
                    libc::MADV_HUGEPAGE,
                );
            }
        }
    }
    buffer
}

/// The smallest page size, to which `madvise` wants its start aligned.
const PAGE_SIZE: usize = 4096;

/// Runs `operation` on the stores of the shards in `locked` (shard index, its store), as
/// the keyspace of `count` shards they belong to. `locked` is sorted by shard index; a
/// command that reaches a shard not in it panics (a routing bug in the caller).
pub fn with_shards<R>(
    count: usize,
    locked: &mut [(usize, &mut OwnedStore)],
    operation: impl for<'s> FnOnce(&mut dyn Shards<'s>) -> R,
) -> R {
    debug_assert!(locked.is_sorted_by_key(|(shard, _)| *shard));
    let mut view = View { count, locked };
    operation(&mut view)
}

/// The keyspace [`with_shards`] shows; its stores keep the `'static` of invariant 4, which
/// the generic closure never sees.
struct View<'v, 'o> {
    count: usize,
    locked: &'v mut [(usize, &'o mut OwnedStore)],
}

impl View<'_, '_> {
    fn position(&self, shard: usize) -> usize {
        match self
            .locked
            .binary_search_by_key(&shard, |(index, _)| *index)
        {
            Ok(position) => position,
            Err(_) => panic!("shard {shard} is not held by this command"),
        }
    }
}

impl Shards<'static> for View<'_, '_> {
    fn count(&self) -> usize {
        self.count
    }

    fn store(&mut self, shard: usize) -> &mut Store<'static> {
        let position = self.position(shard);
        &mut self.locked[position].1.store
    }

    fn with_pair(
        &mut self,
        first: usize,
        second: usize,
        operation: &mut dyn FnMut(&mut Store<'_>, &mut Store<'_>),
    ) {
        assert!(first != second, "a pair of one shard ({first})");
        let (first_position, second_position) = (self.position(first), self.position(second));
        let (low, high) = (
            first_position.min(second_position),
            first_position.max(second_position),
        );
        let (head, tail) = self.locked.split_at_mut(high);
        let (low_store, high_store) = (&mut *head[low].1.store, &mut *tail[0].1.store);
        if first_position < second_position {
            operation(low_store, high_store);
        } else {
            operation(high_store, low_store);
        }
    }

    fn with_all(&mut self, operation: &mut dyn FnMut(&mut [Option<&mut Store<'_>>])) {
        let mut stores: [Option<&mut Store<'static>>; SHARD_COUNT_MAX] =
            [const { None }; SHARD_COUNT_MAX];
        for (shard, owned) in self.locked.iter_mut() {
            stores[*shard] = Some(&mut *owned.store);
        }
        operation(&mut stores[..self.count]);
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use floe_core::store::SetOptions;

    /// The `VmFlags` of the mapping of this process that holds `address`, from
    /// `/proc/self/smaps`.
    fn vm_flags_at(address: usize) -> String {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut inside = false;
        for line in smaps.lines() {
            let range = line.split_whitespace().next().unwrap_or_default();
            if let Some((start, end)) = range.split_once('-')
                && let (Ok(start), Ok(end)) = (
                    usize::from_str_radix(start, 16),
                    usize::from_str_radix(end, 16),
                )
            {
                inside = (start..end).contains(&address);
            } else if inside && let Some(flags) = line.strip_prefix("VmFlags:") {
                return flags.trim().to_owned();
            }
        }
        panic!("no mapping holds {address:#x}");
    }

    #[test]
    fn huge_pages_are_advised_only_when_asked() {
        if !std::path::Path::new("/sys/kernel/mm/transparent_hugepage/enabled").exists() {
            eprintln!("skipped: this kernel has no transparent huge pages to advise");
            return;
        }
        // 32 MiB: the allocator maps it on its own, so the mapping is the buffer's alone.
        for huge_pages in [true, false] {
            let owned = OwnedStore::new_paged(Config::new(32 << 20, 1000), huge_pages).unwrap();
            let middle = owned.memory.as_ptr().addr() + owned.memory_size() / 2;
            let flags = vm_flags_at(middle);
            let advised = flags.split_whitespace().any(|flag| flag == "hg");
            assert_eq!(advised, huge_pages, "VmFlags: {flags}");
        }
    }

    #[test]
    fn owned_store_writes_reads_and_frees() {
        // Many stores in a row: a leak per store would show as a growing heap under valgrind
        // or ASan; here it pins that construction, use and drop work together.
        for round in 0..64u32 {
            let mut owned = OwnedStore::new(Config::new(64 * 1024, 100)).unwrap();
            owned.with(|store| {
                let key = round.to_le_bytes();
                store
                    .set(0, &key, b"value", SetOptions::default(), 1, &mut ())
                    .unwrap();
                assert_eq!(store.get(0, &key, 1), Some(&b"value"[..]));
            });
            assert_eq!(owned.with_ref(|store| store.len()), 1);
            assert!(owned.memory_size() >= 64 * 1024);
        }
    }

    #[test]
    fn invalid_config_is_an_error_not_a_leak() {
        let error = OwnedStore::new(Config::new(16, 100)).unwrap_err();
        assert_eq!(error, ConfigError::MemoryTooSmall);
    }
}
