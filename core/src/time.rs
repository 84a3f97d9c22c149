//! Time as floe-core sees it: a [`Timestamp`] the caller passes in. The engine never reads a
//! clock; the runtime (or a simulator, or a host with no operating system) decides what
//! "now" is, so every decision the engine makes about expiry is reproducible from its inputs.
//!
//! Invariants: timestamps are milliseconds since the Unix epoch (1970-01-01 00:00:00 UTC),
//! in UTC, with no leap seconds; an item's expiry of `0` means "never expires", so no item
//! can expire at the epoch itself (no real clock reads 0).

/// Milliseconds since the Unix epoch; `0` in an expiry field (an item's, or a log record's
/// `expires_at`) means "never expires".
pub type Timestamp = u64;
