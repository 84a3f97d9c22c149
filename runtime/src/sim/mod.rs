//! The deterministic simulator: floe's real log, snapshot and recovery code over a seeded,
//! fault-injecting disk and a virtual clock, checked against a model after every recovery.
//!
//! - [`disk`]: the simulated disk ([`disk::SimDisk`]), two images per file, every fault.
//! - [`clock`]: the virtual clock ([`clock::SimClock`]).
//! - [`rng`]: the one seeded PRNG every choice comes from.
//!
//! Invariants: a run is a pure function of its options (seed, scenario, steps) and the
//! code's commit; see each module for the rest.
//!
//! Fault assumptions: `docs/fault-model.md`.

pub mod clock;
pub mod disk;
pub mod rng;
