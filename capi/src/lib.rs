//! floe-capi: floe's C ABI, for programs in C, C++, Zig, Go (cgo) and anything else that can
//! call a C function. The header is `include/floe.h`, generated from this crate by
//! `cbindgen` (`.ci/embed` regenerates it and fails when the committed one differs).
//!
//! Two stores:
//!
//! - **`FloeDb`**: floe's durable [`floe_runtime::Db`] in a directory (or a pure cache with
//!   persistence off), thread-safe: `floe_open`, `floe_close`, `floe_get`, `floe_set`,
//!   `floe_set_with_ttl`, `floe_delete`, `floe_exists`, `floe_len`, `floe_flush`,
//!   `floe_stats`, `floe_last_error`.
//! - **`FloeMemory`**: floe-core's store over a buffer the caller gives, which makes no
//!   system call and allocates nothing (no files, no threads, no clock: the caller passes the
//!   time): `floe_memory_buffer_size`, `floe_memory_create`, `floe_memory_get`,
//!   `floe_memory_set`, `floe_memory_delete`, `floe_memory_len`, `floe_memory_destroy`.
//!
//! Rules every function keeps:
//!
//! - It returns a [`FloeStatus`]; results come back through out-pointers, written only on
//!   success (and the needed size on [`FloeStatus::BufferTooSmall`]).
//! - No panic crosses the boundary: one is caught and returned as [`FloeStatus::Panic`].
//! - A null pointer where one is needed is refused with [`FloeStatus::NullPointer`]; a null
//!   pointer with a size of 0 is an empty key or value. A size above `isize::MAX` is
//!   refused with [`FloeStatus::InvalidArgument`].
//! - A `FloeDb` handle is a number looked up in a table of open handles, never dereferenced,
//!   so a closed (or made-up) handle is refused with [`FloeStatus::BadHandle`].
//! - A refused request changes nothing stored.
//!
//! Layout: [`status`] (the codes and their mapping from floe's errors), [`db`] (the handle
//! table and the `FloeDb` operations), [`memory`] (the in-buffer store), and [`abi`], the
//! one module with `unsafe`: the `extern "C"` functions, which turn raw pointers into
//! checked slices and call the safe modules.
#![deny(unsafe_code)]

pub mod abi;
pub mod db;
pub mod memory;
pub mod status;

pub use abi::*;
pub use db::{
    FLOE_EVICTION_ALLKEYS_LFU, FLOE_EVICTION_ALLKEYS_LRU, FLOE_EVICTION_ALLKEYS_RANDOM,
    FLOE_EVICTION_FIFO, FLOE_EVICTION_NOEVICTION, FLOE_EVICTION_SIEVE, FLOE_EVICTION_VOLATILE_LFU,
    FLOE_EVICTION_VOLATILE_LRU, FLOE_EVICTION_VOLATILE_RANDOM, FLOE_EVICTION_VOLATILE_TTL,
    FLOE_FSYNC_ALWAYS, FLOE_FSYNC_EVERYSEC, FLOE_FSYNC_NO, FloeDb, FloeOptions, FloeStats,
};
pub use memory::FloeMemory;
pub use status::FloeStatus;
