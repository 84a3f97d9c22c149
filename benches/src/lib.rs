//! Benchmarks live in benches/.

pub mod store;
