//! floe-runtime: drives floe-core with real files, sockets, threads and clocks.
//!
//! Layers, bottom up:
//! - [`error`]: the one [`error::Error`] type, with the failing operation and path.
//! - [`io`]: the [`io::Storage`] and [`io::Clock`] seams and their real backends (io_uring,
//!   blocking `std::fs`); the simulator implements the same traits.
//! - [`log`]: the durable log's writer: segments, group commit, fsync policies, poisoning;
//!   recovery, snapshots and compaction, `floe check`.
//! - [`memory`]: a floe-core store together with the heap memory it lives in.
//! - [`db`]: [`Db`], the embedded API: a durable store in a directory, thread-safe.
//! - [`config`]: every setting, with its name, default, parser and error text.
//! - [`admin`]: INFO, CONFIG, SAVE, SHUTDOWN and the statistics every door shares.
//! - [`cli`]: the stdin CLI (`floe` with no subcommand) and `floe check`.
//! - [`replication`]: replicas that follow a primary's log (REPLICAOF, ROLE, FLOESYNC).
//! - [`server`]: `floe serve`, the RESP server: one event loop per core.
//! - `sim` (only with the `sim` feature): the deterministic simulator over the same
//!   [`io::Storage`] and [`io::Clock`] seams, and `floe sim`. The `floe` binary and this
//!   crate's tests turn it on; an embedder that leaves it off does not compile it.
#![deny(unsafe_code)]

pub mod acl;
pub mod admin;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod db;
pub mod error;
pub mod io;
pub mod log;
pub mod memory;
pub mod replication;
pub mod server;

pub use db::{Db, DbConfig, DbConfigError, DbError};
#[cfg(feature = "sim")]
pub mod sim;
pub mod sync;
