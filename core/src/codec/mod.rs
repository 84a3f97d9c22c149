//! Codecs: the byte formats floe writes to disk and speaks on the wire.
//!
//! Every decoder here is total: for any input it returns a value, "need more bytes", or a
//! typed error with an offset. None panics, reads out of bounds, or reserves memory from a
//! length it was told. Each one has a fuzz target in `fuzz/`.

pub mod log;
pub mod record;
pub mod resp;
pub mod snapshot;
