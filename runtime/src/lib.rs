//! floe-runtime: drives floe-core with real files, sockets, threads and clocks.
//!
//! Skeleton: the durable log, recovery, servers, CLI and simulator arrive with their issues.
#![deny(unsafe_code)]
