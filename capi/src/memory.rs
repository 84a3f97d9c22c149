//! `FloeMemory`: floe-core's [`Store`] over a buffer the caller gives, for a host with no
//! operating system. Safe code only; [`crate::abi`] places the [`MemoryHeader`] at the
//! start of the caller's buffer and carves the store from the rest.
//!
//! The buffer's layout, from its first byte:
//!
//! ```text
//!  padding to align_of::<MemoryHeader>() │ MemoryHeader { magic, store } │ arena ...
//! ```
//!
//! Nothing here makes a system call or allocates: the store's memory is the arena, and the
//! caller passes the time (`now_ms`, milliseconds on any clock that does not go back;
//! TTLs are measured on it). A handle is the header's address; its `magic` says whether it
//! is live (`MEMORY_MAGIC`), destroyed (0) or broken by a caught panic
//! (`MEMORY_BROKEN`), so a destroyed handle is refused while its buffer is still the
//! caller's. Not thread-safe: the caller serializes calls on one handle.

use core::mem::{align_of, size_of};

use floe_core::arena::Arena;
use floe_core::store::{Config, SetOptions, Store};
use floe_core::time::Timestamp;

use crate::db::eviction_policy;
use crate::status::FloeStatus;

/// A store in a caller's buffer. Opaque: C code holds only pointers to it.
pub struct FloeMemory {
    _private: [u8; 0],
}

/// `MemoryHeader::magic` of a live store ("floememS").
pub(crate) const MEMORY_MAGIC: u64 = 0x666c_6f65_6d65_6d53;

/// `MemoryHeader::magic` of a store a panic went through: its state is not trusted.
pub(crate) const MEMORY_BROKEN: u64 = 0x666c_6f65_6d65_6d58;

/// The database a memory store uses (it has no SELECT).
const DB_INDEX: u8 = 0;

/// What sits at the start of the caller's buffer. `repr(C)` keeps `magic` at offset 0 (Rust
/// may otherwise reorder the fields), so the check of a handle reads only its first 8
/// bytes, whatever a `Store` holds.
#[derive(Debug)]
#[repr(C)]
pub struct MemoryHeader {
    /// `MEMORY_MAGIC` while live.
    pub magic: u64,
    store: Store<'static>,
}

// `floe_memory_destroy` only clears the magic: the store must own nothing to free. A
// `Store` owns heap memory only through its prefix index (so it needs a drop, and this
// cannot be asserted at compile time any more), and a memory store never turns the index
// on: destroy asserts `owns_heap` is false instead.
impl MemoryHeader {
    /// Whether the store holds heap memory that forgetting it would leak.
    pub(crate) fn owns_heap(&self) -> bool {
        self.store.prefix_index().enabled()
    }
}

/// The store's configuration for these arguments.
///
/// # Errors
/// [`FloeStatus::InvalidArgument`] for sizes that do not fit, an unknown eviction code, or
/// a configuration floe-core refuses.
pub fn config(memory_size: u64, keys_max: u64, eviction: u32) -> Result<Config, FloeStatus> {
    let memory_size = usize::try_from(memory_size).map_err(|_| FloeStatus::InvalidArgument)?;
    let keys_max = usize::try_from(keys_max).map_err(|_| FloeStatus::InvalidArgument)?;
    let mut config = Config::new(memory_size, keys_max);
    config.policy = eviction_policy(eviction).map_err(|_| FloeStatus::InvalidArgument)?;
    config.validate().map_err(|_| FloeStatus::InvalidArgument)?;
    Ok(config)
}

/// Bytes of buffer a store of `config` needs: the header, its worst-case alignment padding,
/// and the arena.
#[must_use]
pub fn buffer_size(config: &Config) -> usize {
    align_of::<MemoryHeader>() - 1 + size_of::<MemoryHeader>() + config.arena_size()
}

impl MemoryHeader {
    /// Carves a store of `config` from `arena_bytes` and freezes the arena.
    ///
    /// # Errors
    /// [`FloeStatus::InvalidArgument`] if the bytes are too few.
    pub fn new(arena_bytes: &'static mut [u8], config: Config) -> Result<Self, FloeStatus> {
        let mut arena = Arena::from_buffer(arena_bytes);
        let store = Store::new(&mut arena, config).map_err(|_| FloeStatus::InvalidArgument)?;
        arena.freeze().map_err(|_| FloeStatus::Error)?;
        Ok(Self {
            magic: MEMORY_MAGIC,
            store,
        })
    }

    /// Copies the value of `key` into `buffer` and its size into `value_size`; the needed
    /// size and [`FloeStatus::BufferTooSmall`] when it does not fit.
    pub fn get(
        &mut self,
        key: &[u8],
        now: Timestamp,
        buffer: &mut [u8],
        value_size: &mut usize,
    ) -> FloeStatus {
        let Some(value) = self.store.get(DB_INDEX, key, now) else {
            return FloeStatus::NotFound;
        };
        *value_size = value.len();
        match buffer.get_mut(..value.len()) {
            Some(target) => {
                target.copy_from_slice(value);
                FloeStatus::Ok
            }
            None => FloeStatus::BufferTooSmall,
        }
    }

    /// Stores `value` under `key`, expiring `ttl_ms` after `now` (0: no expiry).
    pub fn set(&mut self, key: &[u8], value: &[u8], ttl_ms: u64, now: Timestamp) -> FloeStatus {
        let result = if ttl_ms == 0 {
            let options = SetOptions::default();
            (self.store)
                .set(DB_INDEX, key, value, options, now, &mut ())
                .map(|_| ())
        } else {
            match i64::try_from(ttl_ms) {
                Ok(ttl_ms) => (self.store).set_with_ttl(DB_INDEX, key, value, ttl_ms, now, &mut ()),
                Err(_) => return FloeStatus::InvalidArgument,
            }
        };
        match result {
            Ok(()) => FloeStatus::Ok,
            Err(error) => FloeStatus::from_store_error(error),
        }
    }

    /// Removes `key`; whether it existed.
    pub fn delete(&mut self, key: &[u8], now: Timestamp) -> bool {
        self.store.delete(DB_INDEX, key, now, &mut ())
    }

    /// Keys stored (expired keys not yet removed count).
    #[must_use]
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether no key is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_out_of_range_are_refused() {
        assert!(config(1 << 20, 1000, 0).is_ok());
        assert_eq!(
            config(1 << 20, 1000, 10).err(),
            Some(FloeStatus::InvalidArgument)
        );
        assert_eq!(config(16, 1000, 0).err(), Some(FloeStatus::InvalidArgument));
        assert_eq!(
            config(u64::MAX, 1000, 0).err(),
            Some(FloeStatus::InvalidArgument)
        );
    }

    #[test]
    fn a_store_over_leaked_bytes_sets_gets_expires_and_deletes() {
        let config = config(64 << 10, 100, 0).unwrap_or_else(|status| panic!("{status:?}"));
        let bytes: &'static mut [u8] = Vec::leak(vec![0; config.arena_size()]);
        let mut header =
            MemoryHeader::new(bytes, config).unwrap_or_else(|status| panic!("{status:?}"));
        let mut buffer = [0u8; 8];
        let mut size = 0;
        assert_eq!(header.set(b"k", b"value", 0, 1000), FloeStatus::Ok);
        assert_eq!(header.set(b"t", b"v", 10, 1000), FloeStatus::Ok);
        assert_eq!(
            header.set(b"t", b"v", u64::MAX, 1000),
            FloeStatus::InvalidArgument
        );
        assert_eq!(
            header.get(b"k", 1000, &mut buffer, &mut size),
            FloeStatus::Ok
        );
        assert_eq!(&buffer[..size], b"value");
        assert_eq!(
            header.get(b"k", 1000, &mut [0; 2], &mut size),
            FloeStatus::BufferTooSmall
        );
        assert_eq!(size, 5);
        assert_eq!(
            header.get(b"t", 1010, &mut buffer, &mut size),
            FloeStatus::NotFound
        );
        assert!(header.delete(b"k", 1000));
        assert!(!header.delete(b"k", 1000));
        assert!(header.is_empty());
    }

    #[test]
    fn too_few_bytes_are_refused() {
        let config = config(64 << 10, 100, 0).unwrap_or_else(|status| panic!("{status:?}"));
        let bytes: &'static mut [u8] = Vec::leak(vec![0; 64]);
        assert_eq!(
            MemoryHeader::new(bytes, config).err(),
            Some(FloeStatus::InvalidArgument)
        );
    }
}
