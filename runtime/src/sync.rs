//! The runtime's one door to threads, locks and atomics: `std` in every build, `loom` under
//! `--cfg loom`, so the same code is both run and model-checked.
//!
//! Code that hands data between threads (the log writer's queue, its progress counters, its
//! waiters) imports `Mutex`, `Condvar`, the atomics and `thread` from here instead of from
//! `std`. A normal build re-exports `std`'s types, so this costs nothing. Under `--cfg loom`
//! they are loom's mock types, and `runtime/tests/loom_*.rs` explore every interleaving of
//! the handoffs that use them (tokio-rs/bytes' `src/loom.rs` is the model).
//!
//! ```text
//! RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target-loom \
//!     cargo test -p floe-runtime --test loom_log --release
//! ```
//!
//! Invariants:
//! - Only types whose `std` and `loom` versions have the same API are exported, so code that
//!   compiles in one build compiles in the other.
//! - Statics stay on `std` atomics (loom's constructors are not `const`); a static is never a
//!   handoff between threads of one model run, only a process-wide counter.
//!
//! Fault assumptions: none; this module only selects types.

#[cfg(not(loom))]
pub use std::sync::{Condvar, Mutex, MutexGuard};

#[cfg(loom)]
pub use loom::sync::{Condvar, Mutex, MutexGuard};

/// Atomic integers and flags, from `std` or `loom`.
pub mod atomic {
    #[cfg(not(loom))]
    pub use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

    #[cfg(loom)]
    pub use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
}

/// Spawning, parking and unparking threads, from `std` or `loom`.
pub mod thread {
    #[cfg(not(loom))]
    pub use std::thread::{Builder, JoinHandle, Thread, current, park, yield_now};

    #[cfg(loom)]
    pub use loom::thread::{Builder, JoinHandle, Thread, current, park, yield_now};
}
