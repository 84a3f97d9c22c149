//! The io_uring event loop.

use std::sync::Arc;

use super::Shared;

/// Whether this kernel lets us use io_uring for the server.
pub(super) fn probe() -> Result<(), String> {
    Err("the io_uring server loop is not built yet".to_owned())
}

/// A worker's event loop.
pub(super) fn run(index: usize, shared: &Arc<Shared>) -> Result<(), String> {
    super::epoll::run(index, shared)
}
