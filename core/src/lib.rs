//! floe-core: the engine of floe, a key-value store and cache, with no I/O.
//!
//! This crate decides; `floe-runtime` does. It takes bytes and a time (`now`, in
//! milliseconds since the Unix epoch) and returns bytes, replies and log records. It never
//! touches a file, a socket, a clock or a thread, so it can be fuzzed, model-checked and
//! embedded in a host with no operating system.
//!
//! Layers, bottom up:
//!
//! - [`time`]: the [`time::Timestamp`] ("now", and expiry) every call that can expire an
//!   item takes.
//! - [`arena`]: every byte the engine will use, carved at start; refuses allocation once
//!   frozen.
//! - [`hash`]: Wyhash, checked against its published test vectors.
//! - [`table`]: a fixed-capacity linear-probing index of 8-byte slots.
//! - [`storage`]: keys and values in append-only segments carved from the arena, with
//!   expiry, cleaning and eviction a segment at a time.
//! - [`store`]: the store API (Redis's string family and ZeekDB's cache API); every write
//!   reports the log records that make it durable (idempotent, SWAPDB's apart).
//! - [`codec`]: log records, snapshots and RESP: total decoders, no allocation.
//!
//! Guarantees: no allocation after start-up (memory comes from the frozen arena), no panic
//! on any input (every decoder is total; only broken invariants assert), bounded work per
//! call (every loop has a limit from [`constants`] or from the configuration).
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]

#[cfg(any(test, feature = "alloc", feature = "_test-internals"))]
extern crate alloc;
// The test-only model check derives `arbitrary::Arbitrary`, whose code names `std`.
#[cfg(all(not(test), feature = "_test-internals"))]
extern crate std;

pub mod arena;
pub mod codec;
pub mod command;
pub mod constants;
pub mod error;
pub mod glob;
pub mod hash;
pub mod slot;
pub mod storage;
pub mod store;
pub mod table;
pub mod text;
pub mod time;
