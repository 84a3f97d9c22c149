//! RESP, the Redis protocol: the request parser a server runs, the frame checker a client
//! (and every test and fuzz target) runs, and the reply writer for RESP2 and RESP3.
//!
//! # Invariants
//!
//! - **Total.** [`parse_request`], [`Frame::parse_head`] and [`Frame::check`] return a
//!   value, [`RespErrorKind::Incomplete`] ("read more bytes, then call again with the same
//!   start"), or a typed [`RespError`] with the byte offset of the offending byte. They
//!   never panic, never index out of bounds, and never allocate or reserve anything from a
//!   length they were told: a `$536870912` header only makes the parser wait for bytes.
//! - **Prefix-stable.** Every decision other than `Incomplete` depends only on bytes the
//!   parser has already looked at. So parsing a prefix of a stream gives either
//!   `Incomplete` or exactly what parsing the whole stream gives. A request split across
//!   reads therefore parses the same as when it arrives whole, and an error is reported at
//!   the same offset however the bytes were cut. This is why the inline line limit is
//!   checked against the line (the `\n` must come within [`Limits::inline_size_max`] + 1
//!   bytes) rather than, as Redis does, against whatever happens to be buffered.
//! - **Bounded.** Every length, count, line and nesting level has a limit in [`Limits`];
//!   each call does work linear in the bytes it examines.
//!
//! # Design
//!
//! - Requests ([`parse_request`]) are either multibulk (`*2\r\n$3\r\nGET\r\n$1\r\na\r\n`)
//!   or inline (`GET a\r\n`), chosen by the first byte as Redis does. Nothing is copied
//!   for a multibulk request: the caller's [`ArgRange`] buffer is filled with ranges into
//!   the input. An inline token with quotes or escapes has different bytes from the input,
//!   so the unescaped bytes of such a token are copied into a caller-provided scratch
//!   buffer, and its range points there; plain inline tokens stay ranges into the input.
//!   A scratch buffer of [`Limits::inline_size_max`] bytes can never run out, because
//!   unescaping never makes a line longer. The returned [`Request`] borrows the input and
//!   both buffers and hands out `&[u8]` arguments through [`Request::args`].
//! - The parser is stateless: after `Incomplete` the caller reads more and calls again
//!   from the same start. Re-examining a partial request costs time linear in its size per
//!   call, which the limits bound.
//! - Frames ([`Frame`]) are parsed one element head at a time ([`Frame::parse_head`]:
//!   scalars whole, aggregates by their header); [`Frame::check`] walks a whole frame with
//!   an explicit stack of pending child counts (no recursion), at most
//!   [`Limits::depth_max`] deep, and measures it. RESP3 streamed strings and aggregates
//!   (`$?`, `*?`) are not accepted: Redis never sends them.
//! - Replies are written by [`ReplyWriter`] into any [`ReplySink`], a one-method trait
//!   (`put(&[u8])`) so the runtime can write straight into its own output buffer;
//!   [`SliceSink`] writes into a fixed `&mut [u8]` and records overflow instead of
//!   panicking. The writer chooses the RESP2 or RESP3 shape from [`Protocol`] (RESP3
//!   after `HELLO 3`), as Redis does: a RESP3 double is a RESP2 bulk string, a RESP3 map
//!   a flattened RESP2 array, and so on.
//!
//! # Files
//!
//! `request.rs` (requests, multibulk and inline), `inline.rs` (the inline splitter and its
//! quoting rules), `frame.rs` (frames), `reply.rs` (the reply writer and its sinks),
//! `lex.rs` (length and line lexing the first three share), `error.rs` (errors and their
//! Redis text), `tests.rs` (shared test helpers, limits, totality). Numbers as text
//! (integers, doubles) come from [`crate::text`].
//!
//! ```
//! use floe_core::codec::resp::{parse_request, ArgRange, Limits};
//!
//! let input = b"*2\r\n$3\r\nGET\r\n$1\r\na\r\nSET \"b c\" d\r\n";
//! let limits = Limits::DEFAULT;
//! let mut args = [ArgRange::EMPTY; 8];
//! let mut scratch = [0_u8; 64];
//!
//! let request = parse_request(input, &limits, &mut args, &mut scratch).unwrap();
//! assert!(request.args().eq([&b"GET"[..], b"a"]));
//! let consumed = request.consumed_size();
//!
//! let request = parse_request(&input[consumed..], &limits, &mut args, &mut scratch).unwrap();
//! assert!(request.args().eq([&b"SET"[..], b"b c", b"d"]));
//! ```

mod error;
mod frame;
mod inline;
mod lex;
mod reply;
mod request;
#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests;

pub use crate::text::{DOUBLE_SIZE_MAX, format_double};
pub use error::{ErrorMessage, RespError, RespErrorKind};
pub use frame::Frame;
pub use inline::{split_line, split_line_arg_count_max};
pub use reply::{Protocol, ReplySink, ReplyWriter, SinkFull, SliceSink};
pub use request::{ArgRange, Args, Request, RequestKind, parse_request};

/// Largest bulk string a request or frame may declare, in bytes (Redis's
/// `proto-max-bulk-len` default).
pub const BULK_SIZE_MAX_DEFAULT: usize = 512 * 1024 * 1024;

/// Most elements one multibulk request (or one aggregate frame) may declare (Redis's
/// historical multibulk limit).
pub const ARRAY_COUNT_MAX_DEFAULT: usize = 1024 * 1024;

/// Deepest nesting of aggregate frames [`Frame::check`] accepts by default; Redis's own
/// replies nest a handful of levels at most.
pub const DEPTH_MAX_DEFAULT: usize = 32;

/// Deepest nesting [`Frame::check`] can track: the length of its fixed stack. A
/// [`Limits::depth_max`] above this is treated as this.
pub const DEPTH_MAX_CEILING: usize = 64;

/// Longest inline request line, and longest line of a simple frame (`+`, `-`, `:`, ...),
/// in bytes before the `\n` (Redis's `PROTO_INLINE_MAX_SIZE`).
pub const INLINE_SIZE_MAX_DEFAULT: usize = 64 * 1024;

const _: () = assert!(DEPTH_MAX_DEFAULT <= DEPTH_MAX_CEILING);
const _: () = assert!(
    BULK_SIZE_MAX_DEFAULT < usize::MAX / 2,
    "data end + CRLF must not overflow"
);
const _: () = assert!(
    ARRAY_COUNT_MAX_DEFAULT <= usize::MAX / 2,
    "a map's 2n children fit"
);

/// The limits a parse enforces. Over a limit is a [`RespError`], never a panic or an
/// allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest bulk string, in bytes (`proto-max-bulk-len`).
    pub bulk_size_max: usize,
    /// Most elements in a multibulk request or an aggregate frame.
    pub array_count_max: usize,
    /// Deepest nesting of aggregate frames (capped at [`DEPTH_MAX_CEILING`]).
    pub depth_max: usize,
    /// Longest inline request line or simple frame line, in bytes before the `\n`.
    pub inline_size_max: usize,
}

impl Limits {
    /// Redis's defaults.
    pub const DEFAULT: Self = Self {
        bulk_size_max: BULK_SIZE_MAX_DEFAULT,
        array_count_max: ARRAY_COUNT_MAX_DEFAULT,
        depth_max: DEPTH_MAX_DEFAULT,
        inline_size_max: INLINE_SIZE_MAX_DEFAULT,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
