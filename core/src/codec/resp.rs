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

use core::fmt::{self, Write as _};

use crate::text::StackText;

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

// ------------------------------------------------------------------------------------------
// Errors
// ------------------------------------------------------------------------------------------

/// Why bytes are not (yet) a valid request or frame, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RespError {
    /// What is wrong.
    pub kind: RespErrorKind,
    /// Offset, from the start of the input given to the parser, of the byte found wrong;
    /// for [`RespErrorKind::Incomplete`], the input's length (where more bytes are needed).
    pub offset: usize,
}

/// What is wrong with the bytes. Every kind but `Incomplete` ends the connection in a
/// server, after an `-ERR` reply with [`RespError::message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RespErrorKind {
    /// The bytes so far are a valid beginning; read more and parse again from the same
    /// start.
    Incomplete,
    /// A `*` count that is not a number, exceeds [`Limits::array_count_max`], or (in a
    /// frame) is negative other than `*-1`. Also used for the other aggregate types.
    InvalidMultibulkLength,
    /// A `$` length that is not a number, exceeds [`Limits::bulk_size_max`], or is
    /// negative (in a frame: other than `$-1`).
    InvalidBulkLength,
    /// An element of a multibulk request did not start with `$`.
    ExpectedDollar {
        /// The byte found instead.
        got: u8,
    },
    /// An inline request line longer than [`Limits::inline_size_max`].
    TooBigInlineRequest,
    /// An inline request with an unterminated quote, or a closing quote followed by
    /// something other than a space (Redis reports both the same way).
    UnbalancedQuotes,
    /// Bulk data, or a line ending in `\r`, not followed by `\r\n` / `\n`.
    ExpectedCrlf,
    /// The request has more arguments than the caller's [`ArgRange`] buffer holds.
    TooManyArguments,
    /// The unescaped inline arguments do not fit the caller's scratch buffer.
    ScratchFull,
    /// A frame starts with a byte that is no RESP2 or RESP3 type.
    UnknownType {
        /// The byte found.
        got: u8,
    },
    /// A simple frame line (`+`, `-`, `:`, ...) longer than [`Limits::inline_size_max`].
    LineTooLong,
    /// A simple frame line containing a bare `\n`.
    InvalidLine,
    /// An integer frame that is not a decimal `i64`.
    InvalidInteger,
    /// A double frame that is not a decimal, `inf`, `-inf` or `nan`.
    InvalidDouble,
    /// A boolean frame other than `#t` or `#f`.
    InvalidBoolean,
    /// A null frame with bytes between `_` and `\r\n`.
    InvalidNull,
    /// A big number frame that is not an optionally signed run of digits.
    InvalidBigNumber,
    /// A verbatim string shorter than its 4-byte `fmt:` prefix, or without the `:`.
    InvalidVerbatim,
    /// Aggregates nested deeper than [`Limits::depth_max`].
    DepthExceeded,
}

impl RespError {
    /// An error of `kind` at `offset`.
    #[must_use]
    pub const fn new(kind: RespErrorKind, offset: usize) -> Self {
        Self { kind, offset }
    }

    /// Whether this only means "read more bytes".
    #[must_use]
    pub const fn is_incomplete(&self) -> bool {
        matches!(self.kind, RespErrorKind::Incomplete)
    }

    /// The error text Redis would send (after `-ERR `), e.g.
    /// `Protocol error: invalid bulk length`. Never contains `\r` or `\n`.
    #[must_use]
    pub fn message(&self) -> ErrorMessage {
        use RespErrorKind as Kind;
        let text = match self.kind {
            Kind::Incomplete => "Protocol error: incomplete request",
            Kind::InvalidMultibulkLength => "Protocol error: invalid multibulk length",
            Kind::InvalidBulkLength => "Protocol error: invalid bulk length",
            Kind::ExpectedDollar { got } => {
                return ErrorMessage::with_byte(
                    "Protocol error: expected '$', got '",
                    Some(got),
                    "'",
                );
            }
            Kind::TooBigInlineRequest | Kind::ScratchFull => {
                "Protocol error: too big inline request"
            }
            Kind::UnbalancedQuotes => "Protocol error: unbalanced quotes in request",
            Kind::ExpectedCrlf => "Protocol error: expected CRLF",
            Kind::TooManyArguments => "Protocol error: too many arguments in request",
            Kind::UnknownType { got } => {
                return ErrorMessage::with_byte(
                    "Protocol error: unknown type byte '",
                    Some(got),
                    "'",
                );
            }
            Kind::LineTooLong => "Protocol error: too big line",
            Kind::InvalidLine => "Protocol error: invalid line",
            Kind::InvalidInteger => "Protocol error: invalid integer",
            Kind::InvalidDouble => "Protocol error: invalid double",
            Kind::InvalidBoolean => "Protocol error: invalid boolean",
            Kind::InvalidNull => "Protocol error: invalid null",
            Kind::InvalidBigNumber => "Protocol error: invalid big number",
            Kind::InvalidVerbatim => "Protocol error: invalid verbatim string",
            Kind::DepthExceeded => "Protocol error: nesting too deep",
        };
        ErrorMessage::with_byte(text, None, "")
    }

    const fn incomplete(input: &[u8]) -> Self {
        Self::new(RespErrorKind::Incomplete, input.len())
    }
}

impl fmt::Display for RespError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} at offset {}", self.message(), self.offset)
    }
}

impl core::error::Error for RespError {}

/// Longest [`ErrorMessage`], in bytes.
const ERROR_MESSAGE_SIZE_MAX: usize = 64;

/// The text of a [`RespError`], held inline (no allocation). It may contain one byte of
/// the input (the unexpected byte), so it is bytes, not `str`; `\r` and `\n` are replaced
/// by spaces, as Redis does, so it can go into an error reply as is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ErrorMessage {
    bytes: [u8; ERROR_MESSAGE_SIZE_MAX],
    size: usize,
}

impl ErrorMessage {
    /// The message's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.size).unwrap_or_default()
    }

    fn with_byte(head: &str, byte: Option<u8>, tail: &str) -> Self {
        let mut message = Self {
            bytes: [0; ERROR_MESSAGE_SIZE_MAX],
            size: 0,
        };
        let byte = byte.map(|byte| {
            if byte == b'\r' || byte == b'\n' {
                b' '
            } else {
                byte
            }
        });
        let parts = [head.as_bytes(), byte.as_slice(), tail.as_bytes()];
        for part in parts {
            for &byte in part {
                let slot = message.bytes.get_mut(message.size);
                assert!(
                    slot.is_some(),
                    "error message longer than {ERROR_MESSAGE_SIZE_MAX}"
                );
                if let Some(slot) = slot {
                    *slot = byte;
                    message.size += 1;
                }
            }
        }
        message
    }
}

impl AsRef<[u8]> for ErrorMessage {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Display for ErrorMessage {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &byte in self.as_bytes() {
            if byte.is_ascii_graphic() || byte == b' ' {
                formatter.write_char(char::from(byte))?;
            } else {
                write!(formatter, "\\x{byte:02x}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for ErrorMessage {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "\"{self}\"")
    }
}

// ------------------------------------------------------------------------------------------
// Requests
// ------------------------------------------------------------------------------------------

/// Where one argument of a parsed request lies: a range into the input, or (for an inline
/// token with quotes or escapes) into the caller's scratch buffer. Opaque: read arguments
/// through [`Request::args`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArgRange {
    /// Start offset; [`SCRATCH_BIT`] set means the range is in the scratch buffer.
    start: usize,
    /// End offset (exclusive), with the same [`SCRATCH_BIT`] as `start`.
    end: usize,
}

/// Marks a scratch-buffer range. No slice is longer than `isize::MAX`, so offsets never
/// have the top bit set.
const SCRATCH_BIT: usize = 1 << (usize::BITS - 1);

impl ArgRange {
    /// An empty range, to initialise a caller's buffer: `[ArgRange::EMPTY; 64]`.
    pub const EMPTY: Self = Self { start: 0, end: 0 };

    const fn input(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    const fn scratch(start: usize, end: usize) -> Self {
        Self {
            start: start | SCRATCH_BIT,
            end: end | SCRATCH_BIT,
        }
    }

    fn resolve<'a>(self, input: &'a [u8], scratch: &'a [u8]) -> &'a [u8] {
        let range = (self.start & !SCRATCH_BIT)..(self.end & !SCRATCH_BIT);
        let source = if self.start & SCRATCH_BIT == 0 {
            input
        } else {
            scratch
        };
        // Ranges are built by the parser from bytes it checked, so `get` always succeeds.
        source.get(range).unwrap_or_default()
    }
}

/// The two request syntaxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// `*<count>\r\n` followed by `$<size>\r\n<bytes>\r\n` per argument.
    Multibulk,
    /// One line of space-separated arguments, with Redis's quoting rules.
    Inline,
}

/// One parsed request: its arguments and how many input bytes it used.
///
/// A request may have no arguments (`*0\r\n`, `*-1\r\n` or an empty inline line); Redis
/// ignores those, and so should the caller, after consuming their bytes.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    input: &'a [u8],
    scratch: &'a [u8],
    ranges: &'a [ArgRange],
    consumed_size: usize,
    kind: RequestKind,
}

impl<'a> Request<'a> {
    /// Number of arguments (the command name included).
    #[must_use]
    pub const fn arg_count(&self) -> usize {
        self.ranges.len()
    }

    /// Input bytes this request occupied; the next request starts there.
    #[must_use]
    pub const fn consumed_size(&self) -> usize {
        self.consumed_size
    }

    /// Whether the request was multibulk or inline.
    #[must_use]
    pub const fn kind(&self) -> RequestKind {
        self.kind
    }

    /// Whether the request has no arguments (the caller skips it).
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The argument at `index`, if there is one.
    #[must_use]
    pub fn arg(&self, index: usize) -> Option<&'a [u8]> {
        self.ranges
            .get(index)
            .map(|range| range.resolve(self.input, self.scratch))
    }

    /// The arguments, in order.
    #[must_use]
    pub fn args(&self) -> Args<'a> {
        Args {
            input: self.input,
            scratch: self.scratch,
            ranges: self.ranges.iter(),
        }
    }
}

/// Iterator over a [`Request`]'s arguments.
#[derive(Debug, Clone)]
pub struct Args<'a> {
    input: &'a [u8],
    scratch: &'a [u8],
    ranges: core::slice::Iter<'a, ArgRange>,
}

impl<'a> Iterator for Args<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        self.ranges
            .next()
            .map(|range| range.resolve(self.input, self.scratch))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.ranges.size_hint()
    }
}

impl ExactSizeIterator for Args<'_> {}

impl<'a> DoubleEndedIterator for Args<'a> {
    fn next_back(&mut self) -> Option<&'a [u8]> {
        self.ranges
            .next_back()
            .map(|range| range.resolve(self.input, self.scratch))
    }
}

/// Parses the one request at the start of `input` (the rest may hold pipelined requests:
/// continue at [`Request::consumed_size`]).
///
/// `args` receives one range per argument, so its length is the most arguments a request
/// may have (at most [`Limits::array_count_max`] are ever accepted). `scratch` receives the
/// unescaped bytes of inline tokens that use quotes; `inline_size_max` bytes always suffice,
/// and an empty scratch buffer refuses quoted inline tokens.
///
/// Multibulk follows Redis's `string2ll` rules for lengths: decimal, no `+`, no leading
/// zeros, no blanks. A negative `*` count is an empty request, as in Redis. Unlike Redis,
/// bulk data must be followed by exactly `\r\n`, and a NUL byte in an inline line is an
/// ordinary byte.
///
/// # Errors
///
/// [`RespErrorKind::Incomplete`] when `input` holds only the beginning of a request;
/// otherwise the protocol error and its offset: [`RespErrorKind::InvalidMultibulkLength`],
/// [`RespErrorKind::InvalidBulkLength`], [`RespErrorKind::ExpectedDollar`],
/// [`RespErrorKind::ExpectedCrlf`], [`RespErrorKind::TooBigInlineRequest`],
/// [`RespErrorKind::UnbalancedQuotes`], [`RespErrorKind::TooManyArguments`] (the request
/// has more arguments than `args` holds), [`RespErrorKind::ScratchFull`].
pub fn parse_request<'a>(
    input: &'a [u8],
    limits: &Limits,
    args: &'a mut [ArgRange],
    scratch: &'a mut [u8],
) -> Result<Request<'a>, RespError> {
    match input.first() {
        None => Err(RespError::incomplete(input)),
        Some(b'*') => parse_request_multibulk(input, limits, args, scratch),
        Some(_) => parse_request_inline(input, limits, args, scratch),
    }
}

fn parse_request_multibulk<'a>(
    input: &'a [u8],
    limits: &Limits,
    args: &'a mut [ArgRange],
    scratch: &'a [u8],
) -> Result<Request<'a>, RespError> {
    use RespErrorKind as Kind;
    let (length, mut position) = parse_length(
        input,
        1,
        limits.array_count_max,
        Kind::InvalidMultibulkLength,
    )?;
    let arg_count = match length {
        Length::Negative(_) => 0,
        Length::Count(count) => count,
    };
    // Refused at the header, before any argument arrives: the caller's buffer decides.
    if arg_count > args.len() {
        return Err(RespError::new(Kind::TooManyArguments, 1));
    }
    for slot in args.iter_mut().take(arg_count) {
        match input.get(position) {
            None => return Err(RespError::incomplete(input)),
            Some(b'$') => {}
            Some(&got) => return Err(RespError::new(Kind::ExpectedDollar { got }, position)),
        }
        let (length, data_start) = parse_length(
            input,
            position + 1,
            limits.bulk_size_max,
            Kind::InvalidBulkLength,
        )?;
        let Length::Count(size) = length else {
            return Err(RespError::new(Kind::InvalidBulkLength, position + 1));
        };
        let data_end = bulk_end(input, data_start, size)?;
        *slot = ArgRange::input(data_start, data_end);
        position = data_end + 2;
    }
    let ranges: &'a [ArgRange] = args;
    Ok(Request {
        input,
        scratch,
        ranges: ranges.get(..arg_count).unwrap_or_default(),
        consumed_size: position,
        kind: RequestKind::Multibulk,
    })
}

fn parse_request_inline<'a>(
    input: &'a [u8],
    limits: &Limits,
    args: &'a mut [ArgRange],
    scratch: &'a mut [u8],
) -> Result<Request<'a>, RespError> {
    // The `\n` must come within the first `inline_size_max + 1` bytes, whatever follows:
    // a decision that does not depend on how much happens to be buffered.
    let window = limits.inline_size_max.saturating_add(1);
    let Some(newline) = input.iter().take(window).position(|&byte| byte == b'\n') else {
        if input.len() > limits.inline_size_max {
            let offset = limits.inline_size_max;
            return Err(RespError::new(RespErrorKind::TooBigInlineRequest, offset));
        }
        return Err(RespError::incomplete(input));
    };
    let line_end = match newline.checked_sub(1) {
        Some(before) if input.get(before) == Some(&b'\r') => before,
        _ => newline,
    };
    let line = input.get(..line_end).unwrap_or_default();
    let arg_count = split_inline(line, args, scratch)?;
    let ranges: &'a [ArgRange] = args;
    let scratch: &'a [u8] = scratch;
    Ok(Request {
        input,
        scratch,
        ranges: ranges.get(..arg_count).unwrap_or_default(),
        consumed_size: newline + 1,
        kind: RequestKind::Inline,
    })
}

/// Splits an inline line into arguments with Redis's `sdssplitargs` rules: blanks
/// separate tokens; `"..."` understands `\n \r \t \b \a \\ \"` and `\xHH`; `'...'`
/// understands `\'`; a quote may open mid-token (`a"b c"` is `ab c`), and a closing quote
/// must be followed by a blank or the end of the line. Returns the argument count.
fn split_inline(
    line: &[u8],
    args: &mut [ArgRange],
    scratch: &mut [u8],
) -> Result<usize, RespError> {
    let mut position = 0;
    let mut arg_count = 0;
    let mut scratch_size = 0;
    // Each pass consumes at least one byte of the line, or breaks.
    while position < line.len() {
        while let Some(&byte) = line.get(position)
            && is_blank(byte)
        {
            position += 1;
        }
        if position >= line.len() {
            break;
        }
        let token_start = position;
        while let Some(&byte) = line.get(position)
            && !is_token_end(byte)
            && byte != b'"'
            && byte != b'\''
        {
            position += 1;
        }
        let range = if matches!(line.get(position), Some(b'"' | b'\'')) {
            let range_start = scratch_size;
            let prefix = line.get(token_start..position).unwrap_or_default();
            for &byte in prefix {
                scratch_push(scratch, &mut scratch_size, byte, token_start)?;
            }
            position = split_inline_quoted(line, position, scratch, &mut scratch_size)?;
            ArgRange::scratch(range_start, scratch_size)
        } else {
            // A plain token: no copy. Its terminator is a blank, skipped next pass.
            ArgRange::input(token_start, position)
        };
        let Some(slot) = args.get_mut(arg_count) else {
            return Err(RespError::new(RespErrorKind::TooManyArguments, token_start));
        };
        *slot = range;
        arg_count += 1;
    }
    Ok(arg_count)
}

/// Continues a token at the quote at `position`, copying its unescaped bytes to
/// `scratch`. Returns the offset just past the token.
fn split_inline_quoted(
    line: &[u8],
    mut position: usize,
    scratch: &mut [u8],
    scratch_size: &mut usize,
) -> Result<usize, RespError> {
    #[derive(Clone, Copy)]
    enum Quote {
        None,
        Double { open: usize },
        Single { open: usize },
    }
    let mut quote = Quote::None;
    // Each step consumes at least one byte, or returns.
    loop {
        let byte = line.get(position).copied();
        match (quote, byte) {
            (Quote::None, None) => return Ok(position),
            (Quote::None, Some(byte)) if is_token_end(byte) => return Ok(position),
            (Quote::None, Some(b'"')) => {
                quote = Quote::Double { open: position };
                position += 1;
            }
            (Quote::None, Some(b'\'')) => {
                quote = Quote::Single { open: position };
                position += 1;
            }
            (Quote::Double { open } | Quote::Single { open }, None) => {
                return Err(RespError::new(RespErrorKind::UnbalancedQuotes, open));
            }
            (Quote::Double { .. }, Some(b'"')) | (Quote::Single { .. }, Some(b'\'')) => {
                return match line.get(position + 1) {
                    Some(&next) if !is_blank(next) => Err(RespError::new(
                        RespErrorKind::UnbalancedQuotes,
                        position + 1,
                    )),
                    _ => Ok(position + 1),
                };
            }
            (Quote::Double { .. }, Some(b'\\')) => {
                let (unescaped, size) =
                    unescape_double(line.get(position + 1..).unwrap_or_default());
                scratch_push(scratch, scratch_size, unescaped, position)?;
                position += size;
            }
            (Quote::Single { .. }, Some(b'\\')) if line.get(position + 1) == Some(&b'\'') => {
                scratch_push(scratch, scratch_size, b'\'', position)?;
                position += 2;
            }
            (_, Some(byte)) => {
                scratch_push(scratch, scratch_size, byte, position)?;
                position += 1;
            }
        }
    }
}

/// Unescapes the sequence after a `\` inside double quotes; returns the byte and the
/// bytes consumed, the backslash included. A lone trailing backslash stays a backslash.
fn unescape_double(after: &[u8]) -> (u8, usize) {
    match after {
        [b'x', high, low, ..] if high.is_ascii_hexdigit() && low.is_ascii_hexdigit() => {
            (hex_value(*high) << 4 | hex_value(*low), 4)
        }
        [b'n', ..] => (b'\n', 2),
        [b'r', ..] => (b'\r', 2),
        [b't', ..] => (b'\t', 2),
        [b'b', ..] => (0x08, 2),
        [b'a', ..] => (0x07, 2),
        [other, ..] => (*other, 2),
        [] => (b'\\', 1),
    }
}

const fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        b'A'..=b'F' => digit - b'A' + 10,
        _ => 0,
    }
}

fn scratch_push(
    scratch: &mut [u8],
    scratch_size: &mut usize,
    byte: u8,
    offset: usize,
) -> Result<(), RespError> {
    let Some(slot) = scratch.get_mut(*scratch_size) else {
        return Err(RespError::new(RespErrorKind::ScratchFull, offset));
    };
    *slot = byte;
    *scratch_size += 1;
    Ok(())
}

/// Blanks between inline tokens: C's `isspace`.
const fn is_blank(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Bytes that end an unquoted inline token (Redis: a narrower set than `isspace`).
const fn is_token_end(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

// ------------------------------------------------------------------------------------------
// Shared lexing
// ------------------------------------------------------------------------------------------

/// A length line's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Length {
    Count(usize),
    /// The magnitude of a negative length (`*-1`: `Negative(1)`).
    Negative(usize),
}

/// Parses `[-]<digits>\r\n` at `start` with Redis's `string2ll` rules (no `+`, no leading
/// zeros, no `-0`, nothing else on the line), refusing a count above `count_max` as soon as
/// its digits pass it. Returns the value and the offset after the `\n`.
#[inline]
fn parse_length(
    input: &[u8],
    start: usize,
    count_max: usize,
    kind: RespErrorKind,
) -> Result<(Length, usize), RespError> {
    let negative = input.get(start) == Some(&b'-');
    let digits_start = start + usize::from(negative);
    let mut position = digits_start;
    let mut value: usize = 0;
    // Each step consumes one byte or returns; overflow ends a run of digits within 20.
    loop {
        let Some(&byte) = input.get(position) else {
            return Err(RespError::incomplete(input));
        };
        match byte {
            b'0'..=b'9' => {
                let leading_zero = value == 0 && position > digits_start;
                let next = value
                    .checked_mul(10)
                    .and_then(|value| value.checked_add(usize::from(byte - b'0')))
                    .filter(|&value| negative || value <= count_max);
                match next {
                    Some(next) if !leading_zero => value = next,
                    _ => return Err(RespError::new(kind, position)),
                }
                position += 1;
            }
            b'\r' if position > digits_start && !(negative && value == 0) => {
                return match input.get(position + 1) {
                    None => Err(RespError::incomplete(input)),
                    Some(b'\n') if negative => Ok((Length::Negative(value), position + 2)),
                    Some(b'\n') => Ok((Length::Count(value), position + 2)),
                    Some(_) => Err(RespError::new(kind, position + 1)),
                };
            }
            _ => return Err(RespError::new(kind, position)),
        }
    }
}

/// Checks that `size` data bytes at `data_start` are followed by `\r\n`; returns the
/// offset of the data's end.
#[inline]
fn bulk_end(input: &[u8], data_start: usize, size: usize) -> Result<usize, RespError> {
    let Some(data_end) = data_start
        .checked_add(size)
        .filter(|end| *end < usize::MAX - 2)
    else {
        return Err(RespError::new(RespErrorKind::InvalidBulkLength, data_start));
    };
    match (input.get(data_end), input.get(data_end + 1)) {
        (Some(b'\r'), Some(b'\n')) => Ok(data_end),
        (None, _) | (Some(b'\r'), None) => Err(RespError::incomplete(input)),
        (Some(b'\r'), Some(_)) => Err(RespError::new(RespErrorKind::ExpectedCrlf, data_end + 1)),
        (Some(_), _) => Err(RespError::new(RespErrorKind::ExpectedCrlf, data_end)),
    }
}

/// Reads a simple line starting at `start`: bytes up to `\r\n`, with no `\r` or `\n`
/// inside, at most `size_max` of them. Returns the line and the offset after `\n`.
fn scan_line(input: &[u8], start: usize, size_max: usize) -> Result<(&[u8], usize), RespError> {
    let rest = input.get(start..).unwrap_or_default();
    let window = size_max.saturating_add(1);
    let Some(index) = rest
        .iter()
        .take(window)
        .position(|&byte| byte == b'\r' || byte == b'\n')
    else {
        if rest.len() > size_max {
            return Err(RespError::new(RespErrorKind::LineTooLong, start + size_max));
        }
        return Err(RespError::incomplete(input));
    };
    let end = start + index;
    match (input.get(end), input.get(end + 1)) {
        (Some(b'\r'), Some(b'\n')) => Ok((rest.get(..index).unwrap_or_default(), end + 2)),
        (Some(b'\r'), None) => Err(RespError::incomplete(input)),
        (Some(b'\r'), Some(_)) => Err(RespError::new(RespErrorKind::ExpectedCrlf, end + 1)),
        _ => Err(RespError::new(RespErrorKind::InvalidLine, end)),
    }
}

// ------------------------------------------------------------------------------------------
// Frames
// ------------------------------------------------------------------------------------------

/// The head of one RESP2 or RESP3 element: a whole scalar, or an aggregate's header
/// (its children follow in the input).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Frame<'a> {
    /// `+<text>`: a status reply.
    Simple(&'a [u8]),
    /// `-<text>`: an error reply.
    Error(&'a [u8]),
    /// `:<i64>`.
    Integer(i64),
    /// `$<size>\r\n<bytes>`.
    Bulk(&'a [u8]),
    /// `$-1`: RESP2's null.
    NullBulk,
    /// `*-1`: RESP2's null array.
    NullArray,
    /// `_`: RESP3's null.
    Null,
    /// `#t` or `#f`.
    Boolean(bool),
    /// `,<double>`, including `inf`, `-inf` and `nan`.
    Double(f64),
    /// `(<digits>`: the digits, with their sign if any.
    BigNumber(&'a [u8]),
    /// `!<size>\r\n<bytes>`: an error reply with binary text.
    BulkError(&'a [u8]),
    /// `=<size>\r\n<fmt>:<text>`.
    Verbatim {
        /// The 3-byte format, e.g. `txt` or `mkd`.
        format: [u8; 3],
        /// The text after `fmt:`.
        text: &'a [u8],
    },
    /// `*<count>`: `count` elements follow.
    Array(usize),
    /// `%<count>`: `count` key-value pairs (`2 * count` elements) follow.
    Map(usize),
    /// `~<count>`: `count` elements follow.
    Set(usize),
    /// `><count>`: an out-of-band push of `count` elements.
    Push(usize),
    /// `|<count>`: `count` key-value pairs of metadata follow, then the element they
    /// describe.
    Attribute(usize),
}

impl<'a> Frame<'a> {
    /// Parses the element head at the start of `input`; returns it and its size in bytes
    /// (for an aggregate, only its header: the children start there).
    ///
    /// # Errors
    ///
    /// [`RespErrorKind::Incomplete`] if the head is not all there; otherwise the kind and
    /// offset of what is malformed or over a limit.
    pub fn parse_head(input: &'a [u8], limits: &Limits) -> Result<(Self, usize), RespError> {
        Self::parse_head_at(input, 0, limits)
    }

    /// Checks that `input` starts with one complete, valid frame (an attribute and the
    /// element it describes count as one), nested at most [`Limits::depth_max`] deep, and
    /// returns its size in bytes. Allocation-free and iterative.
    ///
    /// # Errors
    ///
    /// [`RespErrorKind::Incomplete`] if the frame is not all there; otherwise the kind and
    /// offset of the first malformed byte, or [`RespErrorKind::DepthExceeded`].
    pub fn check(input: &'a [u8], limits: &Limits) -> Result<usize, RespError> {
        let depth_max = limits.depth_max.min(DEPTH_MAX_CEILING);
        // `pending[level]`: elements still due at `level`; level 0 is the frame itself.
        let mut pending = [0_usize; DEPTH_MAX_CEILING + 1];
        pending[0] = 1;
        let mut depth = 0;
        let mut position = 0;
        // Each step consumes a head of at least 3 bytes, or returns.
        loop {
            let head_start = position;
            let (frame, next) = Self::parse_head_at(input, position, limits)?;
            position = next;
            let children = match frame {
                Self::Array(count) | Self::Set(count) | Self::Push(count) => count,
                Self::Map(count) | Self::Attribute(count) => count.saturating_mul(2),
                _ => 0,
            };
            // An attribute precedes the element it describes and takes no slot itself.
            if !matches!(frame, Self::Attribute(_)) {
                pending[depth] -= 1;
            }
            if children > 0 {
                if depth >= depth_max {
                    return Err(RespError::new(RespErrorKind::DepthExceeded, head_start));
                }
                depth += 1;
                pending[depth] = children;
            }
            while pending[depth] == 0 {
                if depth == 0 {
                    return Ok(position);
                }
                depth -= 1;
            }
        }
    }

    fn parse_head_at(
        input: &'a [u8],
        start: usize,
        limits: &Limits,
    ) -> Result<(Self, usize), RespError> {
        use RespErrorKind as Kind;
        let Some(&tag) = input.get(start) else {
            return Err(RespError::incomplete(input));
        };
        let body = start + 1;
        let line = || scan_line(input, body, limits.inline_size_max);
        let invalid = |kind| RespError::new(kind, body);
        let head = match tag {
            b'+' => line().map(|(text, next)| (Self::Simple(text), next))?,
            b'-' => line().map(|(text, next)| (Self::Error(text), next))?,
            b':' => {
                let (text, next) = line()?;
                let value = parse_integer(text).ok_or(invalid(Kind::InvalidInteger))?;
                (Self::Integer(value), next)
            }
            b'_' => match line()? {
                (b"", next) => (Self::Null, next),
                _ => return Err(invalid(Kind::InvalidNull)),
            },
            b'#' => match line()? {
                (b"t", next) => (Self::Boolean(true), next),
                (b"f", next) => (Self::Boolean(false), next),
                _ => return Err(invalid(Kind::InvalidBoolean)),
            },
            b',' => {
                let (text, next) = line()?;
                let value = parse_double(text).ok_or(invalid(Kind::InvalidDouble))?;
                (Self::Double(value), next)
            }
            b'(' => {
                let (text, next) = line()?;
                if !is_big_number(text) {
                    return Err(invalid(Kind::InvalidBigNumber));
                }
                (Self::BigNumber(text), next)
            }
            b'$' | b'!' | b'=' => return Self::parse_head_bulk(input, tag, body, limits),
            b'*' | b'%' | b'~' | b'>' | b'|' => {
                let (length, next) = parse_length(
                    input,
                    body,
                    limits.array_count_max,
                    Kind::InvalidMultibulkLength,
                )?;
                let frame = match (tag, length) {
                    (b'*', Length::Negative(1)) => Self::NullArray,
                    (_, Length::Negative(_)) => return Err(invalid(Kind::InvalidMultibulkLength)),
                    (b'*', Length::Count(count)) => Self::Array(count),
                    (b'%', Length::Count(count)) => Self::Map(count),
                    (b'~', Length::Count(count)) => Self::Set(count),
                    (b'>', Length::Count(count)) => Self::Push(count),
                    (_, Length::Count(count)) => Self::Attribute(count),
                };
                (frame, next)
            }
            got => return Err(RespError::new(Kind::UnknownType { got }, start)),
        };
        Ok(head)
    }

    /// The length-prefixed types: bulk `$`, bulk error `!`, verbatim `=`.
    fn parse_head_bulk(
        input: &'a [u8],
        tag: u8,
        body: usize,
        limits: &Limits,
    ) -> Result<(Self, usize), RespError> {
        let (length, data_start) = parse_length(
            input,
            body,
            limits.bulk_size_max,
            RespErrorKind::InvalidBulkLength,
        )?;
        let size = match (tag, length) {
            (b'$', Length::Negative(1)) => return Ok((Self::NullBulk, data_start)),
            (_, Length::Negative(_)) => {
                return Err(RespError::new(RespErrorKind::InvalidBulkLength, body));
            }
            (_, Length::Count(size)) => size,
        };
        let data_end = bulk_end(input, data_start, size)?;
        let data = input.get(data_start..data_end).unwrap_or_default();
        let frame = match (tag, data) {
            (b'$', _) => Self::Bulk(data),
            (b'!', _) => Self::BulkError(data),
            (_, [first, second, third, b':', text @ ..]) => Self::Verbatim {
                format: [*first, *second, *third],
                text,
            },
            _ => return Err(RespError::new(RespErrorKind::InvalidVerbatim, data_start)),
        };
        Ok((frame, data_end + 2))
    }
}

/// `[+|-]<digits>` as an `i64`; `None` if malformed or out of range.
fn parse_integer(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: i64 = 0;
    for &byte in digits {
        if !byte.is_ascii_digit() {
            return None;
        }
        let digit = i64::from(byte - b'0');
        // Accumulating negatives towards i64::MIN keeps it representable.
        value = value.checked_mul(10)?;
        value = if negative {
            value.checked_sub(digit)?
        } else {
            value.checked_add(digit)?
        };
    }
    Some(value)
}

/// A RESP3 double: `inf`, `-inf`, `nan`, or `[+|-]<digits>[.<digits>][(e|E)[+|-]<digits>]`.
fn parse_double(text: &[u8]) -> Option<f64> {
    match text {
        b"inf" | b"+inf" => return Some(f64::INFINITY),
        b"-inf" => return Some(f64::NEG_INFINITY),
        b"nan" => return Some(f64::NAN),
        _ => {}
    }
    let digits_then = |text: &[u8]| -> Option<usize> {
        let count = text.iter().take_while(|byte| byte.is_ascii_digit()).count();
        (count > 0).then_some(count)
    };
    let mut rest = text
        .strip_prefix(b"-")
        .or_else(|| text.strip_prefix(b"+"))
        .unwrap_or(text);
    rest = rest.get(digits_then(rest)?..)?;
    if let Some(fraction) = rest.strip_prefix(b".") {
        rest = fraction.get(digits_then(fraction)?..)?;
    }
    if let Some(exponent) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
        let exponent = exponent
            .strip_prefix(b"-")
            .or_else(|| exponent.strip_prefix(b"+"))
            .unwrap_or(exponent);
        rest = exponent.get(digits_then(exponent)?..)?;
    }
    if !rest.is_empty() {
        return None;
    }
    core::str::from_utf8(text).ok()?.parse().ok()
}

fn is_big_number(text: &[u8]) -> bool {
    let digits = text
        .strip_prefix(b"-")
        .or_else(|| text.strip_prefix(b"+"))
        .unwrap_or(text);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

// ------------------------------------------------------------------------------------------
// Replies
// ------------------------------------------------------------------------------------------

/// The protocol a connection speaks: RESP2 until the client sends `HELLO 3`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Protocol {
    /// Redis's protocol since 1.2: no maps, booleans, doubles or typed nulls.
    #[default]
    Resp2,
    /// Redis 6's protocol, with typed replies.
    Resp3,
}

/// Where a [`ReplyWriter`] puts its bytes: the runtime's output buffer, or a
/// [`SliceSink`]. `put` cannot fail; a bounded sink records that it ran out of room and
/// reports it when asked (as [`SliceSink::finish`] does).
pub trait ReplySink {
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);
}

/// A [`ReplySink`] over a fixed buffer. Once a `put` does not fit, nothing more is
/// written, but the size the replies would have needed is still counted.
#[derive(Debug)]
pub struct SliceSink<'b> {
    target: &'b mut [u8],
    size: usize,
    needed_size: usize,
}

/// The replies did not fit a [`SliceSink`]'s buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkFull {
    /// Bytes the replies needed.
    pub needed_size: usize,
}

impl<'b> SliceSink<'b> {
    /// A sink writing from the start of `target`.
    #[must_use]
    pub const fn new(target: &'b mut [u8]) -> Self {
        Self {
            target,
            size: 0,
            needed_size: 0,
        }
    }

    /// The bytes written so far (all of them, unless the sink overflowed).
    #[must_use]
    pub fn written(&self) -> &[u8] {
        self.target.get(..self.size).unwrap_or_default()
    }

    /// Whether a `put` did not fit.
    #[must_use]
    pub const fn overflowed(&self) -> bool {
        self.needed_size > self.size
    }

    /// The number of bytes written.
    ///
    /// # Errors
    ///
    /// [`SinkFull`] with the size needed, if any `put` did not fit.
    pub const fn finish(&self) -> Result<usize, SinkFull> {
        if self.overflowed() {
            Err(SinkFull {
                needed_size: self.needed_size,
            })
        } else {
            Ok(self.size)
        }
    }
}

impl ReplySink for SliceSink<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let overflowed = self.overflowed();
        self.needed_size = self.needed_size.saturating_add(bytes.len());
        if overflowed {
            return;
        }
        let end = self.size + bytes.len();
        if let Some(target) = self.target.get_mut(self.size..end) {
            target.copy_from_slice(bytes);
            self.size = end;
        }
    }
}

/// Writes replies in a connection's [`Protocol`] into a [`ReplySink`].
///
/// Aggregates are written as a header followed by their elements, one call each:
/// `array_header(2)`, `bulk(b"a")`, `integer(1)`. A map header announces `count` pairs,
/// so `2 * count` elements must follow.
///
/// ```
/// use floe_core::codec::resp::{Protocol, ReplyWriter, SliceSink};
///
/// let mut buffer = [0_u8; 64];
/// let mut sink = SliceSink::new(&mut buffer);
/// let mut writer = ReplyWriter::new(&mut sink, Protocol::Resp3);
/// writer.map_header(1);
/// writer.bulk(b"score");
/// writer.double(1.5);
/// assert_eq!(sink.written(), b"%1\r\n$5\r\nscore\r\n,1.5\r\n");
/// ```
#[derive(Debug)]
pub struct ReplyWriter<'s, S: ReplySink + ?Sized> {
    sink: &'s mut S,
    protocol: Protocol,
}

impl<'s, S: ReplySink + ?Sized> ReplyWriter<'s, S> {
    /// A writer for `protocol` into `sink`.
    pub const fn new(sink: &'s mut S, protocol: Protocol) -> Self {
        Self { sink, protocol }
    }

    /// The protocol replies are written in.
    pub const fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// `+text`. A `\r` or `\n` in `text` is written as a space, so the reply stays valid.
    pub fn simple(&mut self, text: &[u8]) {
        self.line(b'+', text);
    }

    /// `-message`, e.g. `ERR syntax error` (the error code is part of `message`). A `\r`
    /// or `\n` is written as a space, as Redis does.
    pub fn error(&mut self, message: &[u8]) {
        self.line(b'-', message);
    }

    /// `:value`.
    pub fn integer(&mut self, value: i64) {
        self.header_signed(b':', value);
    }

    /// `$size\r\nbytes\r\n`.
    pub fn bulk(&mut self, bytes: &[u8]) {
        self.header(b'$', bytes.len());
        self.sink.put(bytes);
        self.sink.put(b"\r\n");
    }

    /// A null: RESP2 `$-1`, RESP3 `_`.
    pub fn null(&mut self) {
        self.sink.put(match self.protocol {
            Protocol::Resp2 => b"$-1\r\n",
            Protocol::Resp3 => b"_\r\n",
        });
    }

    /// A null array: RESP2 `*-1`, RESP3 `_`.
    pub fn null_array(&mut self) {
        self.sink.put(match self.protocol {
            Protocol::Resp2 => b"*-1\r\n",
            Protocol::Resp3 => b"_\r\n",
        });
    }

    /// `*count`: `count` elements follow.
    pub fn array_header(&mut self, count: usize) {
        self.header(b'*', count);
    }

    /// A map of `count` pairs (`2 * count` elements follow): RESP2 `*<2 * count>`,
    /// RESP3 `%count`.
    pub fn map_header(&mut self, count: usize) {
        match self.protocol {
            // No map can hold usize::MAX / 2 pairs in memory; saturating keeps this total.
            Protocol::Resp2 => self.header(b'*', count.saturating_mul(2)),
            Protocol::Resp3 => self.header(b'%', count),
        }
    }

    /// A set of `count` elements: RESP2 `*count`, RESP3 `~count`.
    pub fn set_header(&mut self, count: usize) {
        let tag = match self.protocol {
            Protocol::Resp2 => b'*',
            Protocol::Resp3 => b'~',
        };
        self.header(tag, count);
    }

    /// An out-of-band push of `count` elements (pub/sub messages): RESP2 `*count`,
    /// RESP3 `>count`.
    pub fn push_header(&mut self, count: usize) {
        let tag = match self.protocol {
            Protocol::Resp2 => b'*',
            Protocol::Resp3 => b'>',
        };
        self.header(tag, count);
    }

    /// A double: RESP2 a bulk string, RESP3 `,`. Formatted as [`format_double`] does
    /// (`inf`, `-inf`, `nan`, or the shortest digits that read back as `value`).
    pub fn double(&mut self, value: f64) {
        let mut buffer = [0; DOUBLE_SIZE_MAX];
        let text = format_double(value, &mut buffer);
        match self.protocol {
            Protocol::Resp2 => self.bulk(text),
            Protocol::Resp3 => {
                self.sink.put(b",");
                self.sink.put(text);
                self.sink.put(b"\r\n");
            }
        }
    }

    /// A boolean: RESP2 `:1` / `:0`, RESP3 `#t` / `#f`.
    pub fn boolean(&mut self, value: bool) {
        self.sink.put(match (self.protocol, value) {
            (Protocol::Resp2, true) => b":1\r\n",
            (Protocol::Resp2, false) => b":0\r\n",
            (Protocol::Resp3, true) => b"#t\r\n",
            (Protocol::Resp3, false) => b"#f\r\n",
        });
    }

    /// Verbatim text with its 3-byte format (`txt`, `mkd`): RESP2 a bulk string of the
    /// text, RESP3 `=<size>\r\nfmt:text`.
    pub fn verbatim(&mut self, format: [u8; 3], text: &[u8]) {
        match self.protocol {
            Protocol::Resp2 => self.bulk(text),
            Protocol::Resp3 => {
                self.header(b'=', text.len().saturating_add(4));
                self.sink.put(&format);
                self.sink.put(b":");
                self.sink.put(text);
                self.sink.put(b"\r\n");
            }
        }
    }

    /// A big number, given as its decimal digits with an optional sign: RESP2 a bulk
    /// string, RESP3 `(digits`.
    ///
    /// # Panics
    ///
    /// If `digits` is not `[+|-]<digits>`: the caller must not produce invalid protocol.
    pub fn big_number(&mut self, digits: &[u8]) {
        assert!(is_big_number(digits), "big number is not [+|-]<digits>");
        match self.protocol {
            Protocol::Resp2 => self.bulk(digits),
            Protocol::Resp3 => {
                self.sink.put(b"(");
                self.sink.put(digits);
                self.sink.put(b"\r\n");
            }
        }
    }

    fn line(&mut self, tag: u8, text: &[u8]) {
        self.sink.put(&[tag]);
        let mut rest = text;
        while let Some(index) = rest.iter().position(|&byte| byte == b'\r' || byte == b'\n') {
            let (before, after) = rest.split_at(index);
            self.sink.put(before);
            self.sink.put(b" ");
            rest = after.get(1..).unwrap_or_default();
        }
        self.sink.put(rest);
        self.sink.put(b"\r\n");
    }

    fn header(&mut self, tag: u8, count: usize) {
        let count = u64::try_from(count).unwrap_or(u64::MAX);
        self.header_parts(tag, false, count);
    }

    fn header_signed(&mut self, tag: u8, value: i64) {
        // `unsigned_abs` is exact for i64::MIN, where `-value` would overflow.
        self.header_parts(tag, value < 0, value.unsigned_abs());
    }

    fn header_parts(&mut self, tag: u8, negative: bool, magnitude: u64) {
        // Tag, sign, 20 digits of u64::MAX, CRLF.
        let mut buffer = [0_u8; 1 + 1 + U64_DIGITS_MAX + 2];
        let mut size = 0;
        let mut push = |byte: u8| {
            if let Some(slot) = buffer.get_mut(size) {
                *slot = byte;
                size += 1;
            }
        };
        push(tag);
        if negative {
            push(b'-');
        }
        let mut digits = [0_u8; U64_DIGITS_MAX];
        for &digit in format_u64(magnitude, &mut digits) {
            push(digit);
        }
        push(b'\r');
        push(b'\n');
        self.sink.put(buffer.get(..size).unwrap_or_default());
    }
}

/// Decimal digits of `u64::MAX`.
const U64_DIGITS_MAX: usize = 20;

/// Writes `value`'s decimal digits at the end of `buffer` and returns them.
fn format_u64(mut value: u64, buffer: &mut [u8; U64_DIGITS_MAX]) -> &[u8] {
    let mut start = U64_DIGITS_MAX;
    // At most 20 steps: each divides by 10.
    for slot in buffer.iter_mut().rev() {
        // Clippy sees that a remainder of 10 fits u8.
        let digit = (value % 10) as u8;
        *slot = b'0' + digit;
        start -= 1;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    buffer.get(start..).unwrap_or_default()
}

/// Longest text [`format_double`] writes: sign, 17 digits, `0.000` or an exponent.
pub const DOUBLE_SIZE_MAX: usize = 32;

/// Formats `value` as Redis replies with a double, into `buffer`, and returns the text:
/// `inf`, `-inf` or `nan`; otherwise the shortest digits that parse back to exactly
/// `value` (core's float formatting), laid out as C's `%.17g` lays out digits: plain
/// decimal when the exponent is in `-4..17` (`1.5`, `100`, `0.0001`), else scientific with
/// a signed two-digit-or-more exponent (`1e+17`, `1.5e-05`). `%.17g` itself may print
/// more digits (`0.10000000000000001`); both read back as the same double.
pub fn format_double(value: f64, buffer: &mut [u8; DOUBLE_SIZE_MAX]) -> &[u8] {
    let mut output = StackText::new(buffer);
    if value.is_nan() {
        output.push(b"nan");
    } else if value.is_infinite() {
        output.push(if value > 0.0 { b"inf" } else { b"-inf" });
    } else {
        let mut scientific_buffer = [0_u8; DOUBLE_SIZE_MAX];
        let mut scientific = StackText::new(&mut scientific_buffer);
        // `{:e}` gives the shortest round-trip digits: `-1.2345e-7`, `1e2`, `0e0`.
        let written = write!(scientific, "{value:e}").is_ok();
        assert!(written, "LowerExp of an f64 is at most 24 bytes");
        format_double_layout(scientific.as_bytes(), &mut output);
    }
    output.into_bytes()
}

/// Lays out `{:e}` text (`[-]d[.ddd]e[-]x`) as `%.17g` would.
fn format_double_layout(scientific: &[u8], output: &mut StackText<'_>) {
    let (negative, rest) = match scientific {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, scientific),
    };
    let split = rest
        .iter()
        .position(|&byte| byte == b'e')
        .unwrap_or(rest.len());
    let (mantissa, exponent_text) = rest.split_at(split);
    let mut digits = [0_u8; 17];
    let mut digit_count = 0;
    for &byte in mantissa.iter().filter(|byte| byte.is_ascii_digit()) {
        assert!(
            digit_count < digits.len(),
            "shortest round-trip f64 has at most 17 digits"
        );
        digits[digit_count] = byte;
        digit_count += 1;
    }
    let digits = digits.get(..digit_count.max(1)).unwrap_or_default();
    let exponent_text = exponent_text.get(1..).unwrap_or_default();
    let (exponent_negative, exponent_digits) = match exponent_text {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, exponent_text),
    };
    let magnitude = exponent_digits.iter().fold(0_i32, |value, byte| {
        value * 10 + i32::from(byte.wrapping_sub(b'0') % 10)
    });
    let exponent = if exponent_negative {
        -magnitude
    } else {
        magnitude
    };

    if negative {
        output.push(b"-");
    }
    let (first, fraction) = digits.split_at(1);
    if !(-4..17).contains(&exponent) {
        output.push(first);
        if !fraction.is_empty() {
            output.push(b".");
            output.push(fraction);
        }
        output.push(if exponent < 0 { b"e-" } else { b"e+" });
        if magnitude < 10 {
            output.push(b"0");
        }
        let mut exponent_buffer = [0_u8; U64_DIGITS_MAX];
        output.push(format_u64(
            u64::from(magnitude.unsigned_abs()),
            &mut exponent_buffer,
        ));
    } else if let Ok(integer_count) = usize::try_from(exponent + 1)
        && integer_count > 0
    {
        // `exponent` in 0..17: `integer_count` digits before the point, zero-padded.
        let (integer, fraction) = digits.split_at(integer_count.min(digits.len()));
        output.push(integer);
        for _ in digits.len()..integer_count {
            output.push(b"0");
        }
        if !fraction.is_empty() {
            output.push(b".");
            output.push(fraction);
        }
    } else {
        // `exponent` in -4..0: `0.`, then `-exponent - 1` zeros, then the digits.
        output.push(b"0.");
        for _ in exponent..-1 {
            output.push(b"0");
        }
        output.push(digits);
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use std::string::String;
    use std::vec::Vec;

    type Args = Vec<Vec<u8>>;

    /// Small limits, so that every limit is easy to reach.
    const SMALL: Limits = Limits {
        bulk_size_max: 16,
        array_count_max: 8,
        depth_max: 3,
        inline_size_max: 32,
    };

    /// Parses the first request with roomy buffers.
    fn parse(input: &[u8], limits: &Limits) -> Result<(Args, usize), RespError> {
        let mut args = [ArgRange::EMPTY; 64];
        let mut scratch = [0_u8; 1024];
        let request = parse_request(input, limits, &mut args, &mut scratch)?;
        Ok((
            request.args().map(<[u8]>::to_vec).collect(),
            request.consumed_size(),
        ))
    }

    fn parse_args(input: &[u8]) -> Args {
        let (args, consumed) = parse(input, &Limits::DEFAULT).unwrap();
        assert_eq!(consumed, input.len(), "whole input is one request");
        args
    }

    fn parse_error(input: &[u8], limits: &Limits) -> (RespErrorKind, usize) {
        let error = parse(input, limits).unwrap_err();
        (error.kind, error.offset)
    }

    fn owned(args: &[&[u8]]) -> Args {
        args.iter().map(|arg| arg.to_vec()).collect()
    }

    /// Parses `input` as a server would when the first read returns `input[..split]` and the
    /// second the rest: parse what is there, and after `Incomplete` parse again from the
    /// same start. Returns the requests and how parsing ended (offset made absolute).
    fn parse_as_server(input: &[u8], split: usize, limits: &Limits) -> (Vec<Args>, RespError) {
        let mut requests = Vec::new();
        let mut position = 0;
        let mut available = split.min(input.len());
        loop {
            let mut args = [ArgRange::EMPTY; 16];
            let mut scratch = [0_u8; 64];
            let window = &input[position..available];
            match parse_request(window, limits, &mut args, &mut scratch) {
                Ok(request) => {
                    assert!(request.consumed_size() > 0);
                    requests.push(request.args().map(<[u8]>::to_vec).collect());
                    position += request.consumed_size();
                }
                Err(error) if error.is_incomplete() && available < input.len() => {
                    available = input.len();
                }
                Err(error) => {
                    return (
                        requests,
                        RespError::new(error.kind, position + error.offset),
                    );
                }
            }
        }
    }

    fn encode_multibulk(args: &[Vec<u8>]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    // ---- Multibulk requests --------------------------------------------------------------

    #[test]
    fn resp_multibulk_set() {
        let input = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
        assert_eq!(parse_args(input), owned(&[b"SET", b"key", b"value"]));
        let mut args = [ArgRange::EMPTY; 4];
        let request = parse_request(input, &Limits::DEFAULT, &mut args, &mut []).unwrap();
        assert_eq!(request.kind(), RequestKind::Multibulk);
        assert_eq!(request.arg_count(), 3);
        assert_eq!(request.arg(1), Some(&b"key"[..]));
        assert_eq!(request.arg(3), None);
        assert_eq!(request.args().len(), 3);
        assert_eq!(request.args().next_back(), Some(&b"value"[..]));
    }

    #[test]
    fn resp_pipelined_requests_parse_one_at_a_time() {
        let input = b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\nPING\r\n";
        let (requests, end) = parse_as_server(input, input.len(), &Limits::DEFAULT);
        assert_eq!(
            requests,
            [owned(&[b"PING"]), owned(&[b"GET", b"a"]), owned(&[b"PING"])]
        );
        assert_eq!(end, RespError::new(RespErrorKind::Incomplete, input.len()));
        assert_eq!(parse(input, &Limits::DEFAULT).unwrap().1, 14);
    }

    #[test]
    fn resp_split_at_every_byte_gives_the_same_requests() {
        let input: &[u8] = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\nv\r\nx\r\n\
            *0\r\n*-1\r\nGET \"a b\" 'c'\r\n\r\n*1\r\n$0\r\n\r\nPING\n*2\r\n$1\r\na\r\n$2\r\nbc";
        let whole = parse_as_server(input, input.len(), &Limits::DEFAULT);
        assert_eq!(whole.0.len(), 7);
        assert_eq!(whole.0[0], owned(&[b"SET", b"k", b"v\r\nx"]));
        assert!(whole.1.is_incomplete());
        for split in 0..=input.len() {
            assert_eq!(
                parse_as_server(input, split, &Limits::DEFAULT),
                whole,
                "split={split}"
            );
        }
    }

    #[test]
    fn resp_split_at_every_byte_gives_the_same_error() {
        let input: &[u8] = b"*1\r\n$1\r\na\r\nPING\r\n*2\r\n$1\r\nb\r\n:5\r\n*1\r\n$1\r\nc\r\n";
        let whole = parse_as_server(input, input.len(), &Limits::DEFAULT);
        assert_eq!(whole.0.len(), 2);
        assert_eq!(whole.1.kind, RespErrorKind::ExpectedDollar { got: b':' });
        for split in 0..=input.len() {
            assert_eq!(
                parse_as_server(input, split, &Limits::DEFAULT),
                whole,
                "split={split}"
            );
        }
    }

    #[test]
    fn resp_every_strict_prefix_is_incomplete() {
        let input = b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
        for end in 0..input.len() {
            let error = parse(&input[..end], &Limits::DEFAULT).unwrap_err();
            assert_eq!(
                error,
                RespError::new(RespErrorKind::Incomplete, end),
                "end={end}"
            );
        }
    }

    #[test]
    fn resp_null_array_request_is_empty() {
        let (args, consumed) = parse(b"*-1\r\nPING\r\n", &Limits::DEFAULT).unwrap();
        assert!(args.is_empty());
        assert_eq!(consumed, 5);
        // Redis ignores any negative count.
        assert_eq!(
            parse(b"*-5\r\n", &Limits::DEFAULT).unwrap(),
            (Args::new(), 5)
        );
    }

    #[test]
    fn resp_zero_array_request_is_empty() {
        assert_eq!(
            parse(b"*0\r\n", &Limits::DEFAULT).unwrap(),
            (Args::new(), 4)
        );
    }

    #[test]
    fn resp_empty_bulk() {
        assert_eq!(
            parse_args(b"*2\r\n$0\r\n\r\n$0\r\n\r\n"),
            owned(&[b"", b""])
        );
    }

    #[test]
    fn resp_binary_bulk_with_crlf_inside() {
        let input = b"*1\r\n$6\r\n\r\n\0\xff\r\n\r\n";
        assert_eq!(parse_args(input), owned(&[b"\r\n\0\xff\r\n"]));
    }

    #[test]
    fn resp_negative_bulk_length_is_invalid() {
        let expected = (RespErrorKind::InvalidBulkLength, 5);
        assert_eq!(parse_error(b"*1\r\n$-1\r\n", &Limits::DEFAULT), expected);
        assert_eq!(
            parse_error(b"*1\r\n$-3\r\nabc\r\n", &Limits::DEFAULT),
            expected
        );
    }

    #[test]
    fn resp_length_with_leading_plus_is_invalid() {
        let kinds = [
            (&b"*+1\r\n"[..], RespErrorKind::InvalidMultibulkLength, 1),
            (b"*1\r\n$+3\r\nabc\r\n", RespErrorKind::InvalidBulkLength, 5),
        ];
        for (input, kind, offset) in kinds {
            assert_eq!(parse_error(input, &Limits::DEFAULT), (kind, offset));
        }
    }

    #[test]
    fn resp_length_with_junk_is_invalid() {
        let cases = [
            (&b"*1x\r\n"[..], RespErrorKind::InvalidMultibulkLength, 2),
            (b"* 1\r\n", RespErrorKind::InvalidMultibulkLength, 1),
            (b"*1 \r\n", RespErrorKind::InvalidMultibulkLength, 2),
            (b"*1\rX", RespErrorKind::InvalidMultibulkLength, 3),
            (b"*1\n", RespErrorKind::InvalidMultibulkLength, 2),
            (b"*1\r\n$3x\r\nabc\r\n", RespErrorKind::InvalidBulkLength, 6),
            (b"*1\r\n$ 3\r\nabc\r\n", RespErrorKind::InvalidBulkLength, 5),
            (
                b"*1\r\n$3.0\r\nabc\r\n",
                RespErrorKind::InvalidBulkLength,
                6,
            ),
        ];
        for (input, kind, offset) in cases {
            assert_eq!(
                parse_error(input, &Limits::DEFAULT),
                (kind, offset),
                "{input:?}"
            );
        }
    }

    #[test]
    fn resp_length_with_leading_zero_is_invalid() {
        let cases = [
            (&b"*01\r\n"[..], RespErrorKind::InvalidMultibulkLength, 2),
            (b"*-0\r\n", RespErrorKind::InvalidMultibulkLength, 3),
            (b"*1\r\n$03\r\nabc\r\n", RespErrorKind::InvalidBulkLength, 6),
        ];
        for (input, kind, offset) in cases {
            assert_eq!(
                parse_error(input, &Limits::DEFAULT),
                (kind, offset),
                "{input:?}"
            );
        }
    }

    #[test]
    fn resp_empty_length_is_invalid() {
        assert_eq!(
            parse_error(b"*\r\n", &Limits::DEFAULT),
            (RespErrorKind::InvalidMultibulkLength, 1)
        );
        assert_eq!(
            parse_error(b"*1\r\n$\r\n", &Limits::DEFAULT),
            (RespErrorKind::InvalidBulkLength, 5)
        );
        assert_eq!(
            parse_error(b"*-\r\n", &Limits::DEFAULT),
            (RespErrorKind::InvalidMultibulkLength, 2)
        );
    }

    #[test]
    fn resp_huge_length_is_invalid_not_allocated() {
        let input = b"*1\r\n$99999999999999999999999\r\n";
        assert_eq!(
            parse_error(input, &Limits::DEFAULT),
            (RespErrorKind::InvalidBulkLength, 13)
        );
        let input = b"*-99999999999999999999999\r\n";
        assert_eq!(
            parse_error(input, &Limits::DEFAULT).0,
            RespErrorKind::InvalidMultibulkLength
        );
    }

    #[test]
    fn resp_missing_crlf_after_bulk() {
        let cases = [
            (&b"*1\r\n$3\r\nabcX\r\n"[..], 11),
            (b"*1\r\n$3\r\nabc\rX", 12),
            (b"*1\r\n$3\r\nabc\n\r", 11),
        ];
        for (input, offset) in cases {
            assert_eq!(
                parse_error(input, &Limits::DEFAULT),
                (RespErrorKind::ExpectedCrlf, offset)
            );
        }
        assert!(
            parse(b"*1\r\n$3\r\nabc\r", &Limits::DEFAULT)
                .unwrap_err()
                .is_incomplete()
        );
    }

    #[test]
    fn resp_expected_dollar() {
        let error = parse(b"*1\r\n:3\r\n", &Limits::DEFAULT).unwrap_err();
        assert_eq!(
            error,
            RespError::new(RespErrorKind::ExpectedDollar { got: b':' }, 4)
        );
        assert_eq!(
            error.message().as_bytes(),
            b"Protocol error: expected '$', got ':'"
        );
        let error = parse(b"*1\r\n\r\n", &Limits::DEFAULT).unwrap_err();
        assert_eq!(
            error.message().as_bytes(),
            b"Protocol error: expected '$', got ' '"
        );
    }

    // ---- Inline requests -----------------------------------------------------------------

    #[test]
    fn resp_inline_plain() {
        assert_eq!(parse_args(b"SET a b\r\n"), owned(&[b"SET", b"a", b"b"]));
        assert_eq!(parse_args(b"SET a b\n"), owned(&[b"SET", b"a", b"b"]));
        assert_eq!(
            parse_args(b"  SET \t a   b  \r\n"),
            owned(&[b"SET", b"a", b"b"])
        );
        let mut args = [ArgRange::EMPTY; 4];
        let request = parse_request(b"PING\r\n", &Limits::DEFAULT, &mut args, &mut []).unwrap();
        assert_eq!(request.kind(), RequestKind::Inline);
    }

    #[test]
    fn resp_inline_empty_line_is_empty() {
        assert_eq!(parse(b"\r\n", &Limits::DEFAULT).unwrap(), (Args::new(), 2));
        assert_eq!(parse(b"\n", &Limits::DEFAULT).unwrap(), (Args::new(), 1));
        assert_eq!(
            parse(b"   \t\r\n", &Limits::DEFAULT).unwrap(),
            (Args::new(), 6)
        );
    }

    #[test]
    fn resp_inline_without_newline_is_incomplete() {
        assert!(
            parse(b"SET a b", &Limits::DEFAULT)
                .unwrap_err()
                .is_incomplete()
        );
        assert!(
            parse(b"SET a b\r", &Limits::DEFAULT)
                .unwrap_err()
                .is_incomplete()
        );
        assert!(parse(b"", &Limits::DEFAULT).unwrap_err().is_incomplete());
    }

    #[test]
    fn resp_inline_double_quotes_with_escapes() {
        let input = b"SET \"a b\" \"\\x41\\x7a\\n\\r\\t\\b\\a\\\\\\\"\\q\"\r\n";
        assert_eq!(
            parse_args(input),
            owned(&[b"SET", b"a b", b"Az\n\r\t\x08\x07\\\"q"])
        );
        // Not two hex digits: `\x` is just `x`.
        assert_eq!(parse_args(b"\"\\x4g\"\r\n"), owned(&[b"x4g"]));
        assert_eq!(parse_args(b"\"\\xFF\"\r\n"), owned(&[b"\xff"]));
    }

    #[test]
    fn resp_inline_single_quotes() {
        assert_eq!(
            parse_args(b"SET 'it\\'s' 'a\\nb'\r\n"),
            owned(&[b"SET", b"it's", b"a\\nb"])
        );
    }

    #[test]
    fn resp_inline_empty_quoted_arguments() {
        assert_eq!(parse_args(b"SET \"\" ''\r\n"), owned(&[b"SET", b"", b""]));
    }

    #[test]
    fn resp_inline_quote_mid_token() {
        assert_eq!(
            parse_args(b"a\"b c\" d'e f'\r\n"),
            owned(&[b"ab c", b"de f"])
        );
    }

    #[test]
    fn resp_inline_unbalanced_quotes() {
        let cases = [
            (&b"SET \"abc\r\n"[..], 4),
            (b"SET 'abc\r\n", 4),
            (b"SET \"a\"b\r\n", 7),
            (b"SET 'a'b\r\n", 7),
            (b"SET \"abc\\\"\r\n", 4),
        ];
        for (input, offset) in cases {
            let error = parse(input, &Limits::DEFAULT).unwrap_err();
            assert_eq!(
                error,
                RespError::new(RespErrorKind::UnbalancedQuotes, offset),
                "{input:?}"
            );
            assert_eq!(
                error.message().as_bytes(),
                b"Protocol error: unbalanced quotes in request"
            );
        }
    }

    #[test]
    fn resp_inline_blanks_versus_token_ends() {
        // Redis skips every `isspace` byte between tokens, but only space, tab, CR and LF
        // end an unquoted token.
        assert_eq!(
            parse_args(b"\x0bGET a\x0bb\r\n"),
            owned(&[b"GET", b"a\x0bb"])
        );
        assert_eq!(parse_args(b"GET a\rb\r\n"), owned(&[b"GET", b"a", b"b"]));
        assert_eq!(parse_args(b"GET \"a\"\x0c\r\n"), owned(&[b"GET", b"a"]));
    }

    #[test]
    fn resp_inline_nul_is_an_ordinary_byte() {
        assert_eq!(parse_args(b"GET a\0b\r\n"), owned(&[b"GET", b"a\0b"]));
    }

    #[test]
    fn resp_inline_scratch_full() {
        let mut args = [ArgRange::EMPTY; 4];
        let mut scratch = [0_u8; 3];
        let error = parse_request(
            b"GET \"abcd\"\r\n",
            &Limits::DEFAULT,
            &mut args,
            &mut scratch,
        )
        .unwrap_err();
        assert_eq!(error, RespError::new(RespErrorKind::ScratchFull, 8));
        let request = parse_request(
            b"GET \"abc\"\r\n",
            &Limits::DEFAULT,
            &mut args,
            &mut scratch,
        )
        .unwrap();
        assert!(request.args().eq([&b"GET"[..], b"abc"]));
    }

    // ---- Limits --------------------------------------------------------------------------

    #[test]
    fn resp_limit_bulk_size() {
        let at_limit = b"*1\r\n$16\r\n0123456789abcdef\r\n";
        assert_eq!(
            parse(at_limit, &SMALL).unwrap().0,
            owned(&[b"0123456789abcdef"])
        );
        let error = parse(b"*1\r\n$17\r\n", &SMALL).unwrap_err();
        assert_eq!(error, RespError::new(RespErrorKind::InvalidBulkLength, 6));
        assert_eq!(
            error.message().as_bytes(),
            b"Protocol error: invalid bulk length"
        );
        // Refused from the digits alone, before the line ends.
        assert_eq!(
            parse_error(b"*1\r\n$100", &SMALL),
            (RespErrorKind::InvalidBulkLength, 7)
        );
        let default = format!("*1\r\n${}\r\n", BULK_SIZE_MAX_DEFAULT + 1);
        assert_eq!(
            parse_error(default.as_bytes(), &Limits::DEFAULT).0,
            RespErrorKind::InvalidBulkLength
        );
        let default = format!("*1\r\n${}\r\n", BULK_SIZE_MAX_DEFAULT);
        assert!(
            parse(default.as_bytes(), &Limits::DEFAULT)
                .unwrap_err()
                .is_incomplete()
        );
    }

    #[test]
    fn resp_limit_array_count() {
        let error = parse(b"*9\r\n", &SMALL).unwrap_err();
        assert_eq!(
            error,
            RespError::new(RespErrorKind::InvalidMultibulkLength, 1)
        );
        assert_eq!(
            error.message().as_bytes(),
            b"Protocol error: invalid multibulk length"
        );
        let default = format!("*{}\r\n", ARRAY_COUNT_MAX_DEFAULT + 1);
        assert_eq!(
            parse_error(default.as_bytes(), &Limits::DEFAULT).0,
            RespErrorKind::InvalidMultibulkLength
        );
    }

    #[test]
    fn resp_limit_arguments_buffer() {
        let mut args = [ArgRange::EMPTY; 2];
        let input = b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n";
        let error = parse_request(input, &Limits::DEFAULT, &mut args, &mut []).unwrap_err();
        assert_eq!(error, RespError::new(RespErrorKind::TooManyArguments, 1));
        let error = parse_request(b"a b c\r\n", &Limits::DEFAULT, &mut args, &mut []).unwrap_err();
        assert_eq!(error, RespError::new(RespErrorKind::TooManyArguments, 4));
        let request = parse_request(b"a b\r\n", &Limits::DEFAULT, &mut args, &mut []).unwrap();
        assert_eq!(request.arg_count(), 2);
    }

    #[test]
    fn resp_limit_inline_size() {
        let line_at_limit = [b'a'; 32];
        let mut input = line_at_limit.to_vec();
        input.extend_from_slice(b"\n");
        assert_eq!(parse(&input, &SMALL).unwrap().0, owned(&[&line_at_limit]));
        // Without a newline: incomplete until the limit is passed.
        assert!(parse(&line_at_limit, &SMALL).unwrap_err().is_incomplete());
        let too_big = [b'a'; 33];
        let error = parse(&too_big, &SMALL).unwrap_err();
        assert_eq!(
            error,
            RespError::new(RespErrorKind::TooBigInlineRequest, 32)
        );
        assert_eq!(
            error.message().as_bytes(),
            b"Protocol error: too big inline request"
        );
        // The newline arriving in the same read does not change the answer.
        let mut input = too_big.to_vec();
        input.extend_from_slice(b"\r\n");
        assert_eq!(
            parse_error(&input, &SMALL),
            (RespErrorKind::TooBigInlineRequest, 32)
        );
        // The `\r` of `\r\n` counts towards the line.
        let mut input = line_at_limit.to_vec();
        input.extend_from_slice(b"\r\n");
        assert_eq!(
            parse_error(&input, &SMALL),
            (RespErrorKind::TooBigInlineRequest, 32)
        );
        let default = std::vec![b'a'; INLINE_SIZE_MAX_DEFAULT + 1];
        assert_eq!(
            parse_error(&default, &Limits::DEFAULT).0,
            RespErrorKind::TooBigInlineRequest
        );
    }

    #[test]
    fn resp_limit_depth() {
        let limits = Limits {
            depth_max: 2,
            ..Limits::DEFAULT
        };
        assert_eq!(Frame::check(b"*1\r\n*1\r\n:1\r\n", &limits), Ok(12));
        let error = Frame::check(b"*1\r\n*1\r\n*1\r\n:1\r\n", &limits).unwrap_err();
        assert_eq!(error, RespError::new(RespErrorKind::DepthExceeded, 8));
        // Empty aggregates do not nest.
        assert_eq!(Frame::check(b"*1\r\n*1\r\n*0\r\n", &limits), Ok(12));
        // A limit above the ceiling is the ceiling.
        let limits = Limits {
            depth_max: usize::MAX,
            ..Limits::DEFAULT
        };
        let deep = b"*1\r\n".repeat(DEPTH_MAX_CEILING + 1);
        let error = Frame::check(&deep, &limits).unwrap_err();
        assert_eq!(
            error,
            RespError::new(RespErrorKind::DepthExceeded, 4 * DEPTH_MAX_CEILING)
        );
    }

    #[test]
    fn resp_limit_frame_line() {
        let mut input = b"+".to_vec();
        input.extend_from_slice(&[b'a'; 33]);
        assert_eq!(
            Frame::check(&input, &SMALL),
            Err(RespError::new(RespErrorKind::LineTooLong, 33))
        );
        assert!(
            Frame::check(&input[..33], &SMALL)
                .unwrap_err()
                .is_incomplete()
        );
    }

    #[test]
    fn resp_messages_have_no_line_breaks() {
        let error = RespError::new(RespErrorKind::ExpectedDollar { got: b'\r' }, 0);
        assert_eq!(
            error.message().as_bytes(),
            b"Protocol error: expected '$', got ' '"
        );
        let error = RespError::new(RespErrorKind::UnknownType { got: 0xff }, 3);
        assert_eq!(
            std::format!("{error}"),
            "Protocol error: unknown type byte '\\xff' at offset 3"
        );
    }

    // ---- Frames --------------------------------------------------------------------------

    fn head(input: &[u8]) -> Result<(Frame<'_>, usize), RespError> {
        Frame::parse_head(input, &Limits::DEFAULT)
    }

    fn check(input: &[u8]) -> Result<usize, RespError> {
        Frame::check(input, &Limits::DEFAULT)
    }

    #[test]
    fn resp_frame_scalars() {
        assert_eq!(head(b"+OK\r\n"), Ok((Frame::Simple(b"OK"), 5)));
        assert_eq!(head(b"-ERR no\r\n"), Ok((Frame::Error(b"ERR no"), 9)));
        assert_eq!(head(b":-42\r\n"), Ok((Frame::Integer(-42), 6)));
        assert_eq!(head(b":+7\r\n"), Ok((Frame::Integer(7), 5)));
        assert_eq!(
            head(b":-9223372036854775808\r\n").unwrap().0,
            Frame::Integer(i64::MIN)
        );
        assert_eq!(head(b"$3\r\na\r\n\r\n"), Ok((Frame::Bulk(b"a\r\n"), 9)));
        assert_eq!(head(b"_\r\n"), Ok((Frame::Null, 3)));
        assert_eq!(head(b"#t\r\n"), Ok((Frame::Boolean(true), 4)));
        assert_eq!(head(b"#f\r\n"), Ok((Frame::Boolean(false), 4)));
        assert_eq!(
            head(b"(-123456789012345678901234567890\r\n").unwrap().0,
            Frame::BigNumber(b"-123456789012345678901234567890")
        );
        assert_eq!(head(b"!3\r\nERR\r\n"), Ok((Frame::BulkError(b"ERR"), 9)));
        assert_eq!(
            head(b"=7\r\ntxt:abc\r\n"),
            Ok((
                Frame::Verbatim {
                    format: *b"txt",
                    text: b"abc"
                },
                13
            ))
        );
    }

    #[test]
    fn resp_frame_nulls() {
        assert_eq!(head(b"$-1\r\n"), Ok((Frame::NullBulk, 5)));
        assert_eq!(head(b"*-1\r\n"), Ok((Frame::NullArray, 5)));
        assert_eq!(
            head(b"$-2\r\n"),
            Err(RespError::new(RespErrorKind::InvalidBulkLength, 1))
        );
        assert_eq!(
            head(b"*-2\r\n"),
            Err(RespError::new(RespErrorKind::InvalidMultibulkLength, 1))
        );
        assert_eq!(
            head(b"%-1\r\n"),
            Err(RespError::new(RespErrorKind::InvalidMultibulkLength, 1))
        );
        assert_eq!(
            head(b"!-1\r\n"),
            Err(RespError::new(RespErrorKind::InvalidBulkLength, 1))
        );
        assert_eq!(
            head(b"_x\r\n"),
            Err(RespError::new(RespErrorKind::InvalidNull, 1))
        );
    }

    #[test]
    fn resp_frame_doubles() {
        let cases: [(&[u8], f64); 8] = [
            (b",1.5\r\n", 1.5),
            (b",-0\r\n", -0.0),
            (b",1e+17\r\n", 1e17),
            (b",2.5E-3\r\n", 2.5e-3),
            (b",inf\r\n", f64::INFINITY),
            (b",-inf\r\n", f64::NEG_INFINITY),
            (b",10\r\n", 10.0),
            (b",+3.25\r\n", 3.25),
        ];
        for (input, value) in cases {
            let (frame, size) = head(input).unwrap();
            assert_eq!(size, input.len());
            let Frame::Double(parsed) = frame else {
                panic!("{frame:?}")
            };
            assert_eq!(parsed.to_bits(), value.to_bits(), "{input:?}");
        }
        let Frame::Double(nan) = head(b",nan\r\n").unwrap().0 else {
            panic!()
        };
        assert!(nan.is_nan());
        for bad in [
            &b",1.\r\n"[..],
            b",.5\r\n",
            b",abc\r\n",
            b",\r\n",
            b",1e\r\n",
            b",NaN\r\n",
            b",1 \r\n",
        ] {
            assert_eq!(
                head(bad),
                Err(RespError::new(RespErrorKind::InvalidDouble, 1)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn resp_frame_invalid_scalars() {
        let cases = [
            (&b":\r\n"[..], RespErrorKind::InvalidInteger, 1),
            (
                b":9223372036854775808\r\n",
                RespErrorKind::InvalidInteger,
                1,
            ),
            (b":1a\r\n", RespErrorKind::InvalidInteger, 1),
            (b"#x\r\n", RespErrorKind::InvalidBoolean, 1),
            (b"#tt\r\n", RespErrorKind::InvalidBoolean, 1),
            (b"(\r\n", RespErrorKind::InvalidBigNumber, 1),
            (b"(12a\r\n", RespErrorKind::InvalidBigNumber, 1),
            (b"=3\r\ntxt\r\n", RespErrorKind::InvalidVerbatim, 4),
            (b"=4\r\ntxtx\r\n", RespErrorKind::InvalidVerbatim, 4),
            (b"+a\nb\r\n", RespErrorKind::InvalidLine, 2),
            (b"+ab\rc\r\n", RespErrorKind::ExpectedCrlf, 4),
            (b"$3\r\nabcd", RespErrorKind::ExpectedCrlf, 7),
            (b"$?\r\n", RespErrorKind::InvalidBulkLength, 1),
            (b"*?\r\n", RespErrorKind::InvalidMultibulkLength, 1),
            (b"x\r\n", RespErrorKind::UnknownType { got: b'x' }, 0),
        ];
        for (input, kind, offset) in cases {
            assert_eq!(head(input), Err(RespError::new(kind, offset)), "{input:?}");
        }
    }

    #[test]
    fn resp_frame_check_aggregates() {
        let cases: [&[u8]; 8] = [
            b"*2\r\n$1\r\na\r\n:1\r\n",
            b"*0\r\n",
            b"%2\r\n+a\r\n:1\r\n+b\r\n*1\r\n_\r\n",
            b"~2\r\n#t\r\n#f\r\n",
            b">3\r\n+message\r\n+chan\r\n$2\r\nhi\r\n",
            b"|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n",
            b"*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n",
            b"|0\r\n|0\r\n_\r\n",
        ];
        for input in cases {
            assert_eq!(
                check(input),
                Ok(input.len()),
                "{:?}",
                String::from_utf8_lossy(input)
            );
            let mut followed = input.to_vec();
            followed.extend_from_slice(b"+next\r\n");
            assert_eq!(check(&followed), Ok(input.len()));
            for end in 0..input.len() {
                assert!(
                    check(&input[..end]).unwrap_err().is_incomplete(),
                    "end={end}"
                );
            }
        }
    }

    #[test]
    fn resp_frame_check_reports_nested_error_offsets() {
        assert_eq!(
            check(b"*2\r\n:1\r\n*1\r\n:x\r\n"),
            Err(RespError::new(RespErrorKind::InvalidInteger, 13))
        );
        assert_eq!(
            check(b"%1\r\n:1\r\n"),
            Err(RespError::new(RespErrorKind::Incomplete, 8))
        );
        assert_eq!(
            check(b"*3\r\n"),
            Err(RespError::new(RespErrorKind::Incomplete, 4))
        );
    }

    #[test]
    fn resp_frame_check_limits_aggregate_count() {
        assert_eq!(
            Frame::check(b"*8\r\n", &SMALL),
            Err(RespError::new(RespErrorKind::Incomplete, 4))
        );
        assert_eq!(
            Frame::check(b"%9\r\n", &SMALL),
            Err(RespError::new(RespErrorKind::InvalidMultibulkLength, 1))
        );
    }

    // ---- Reply writer --------------------------------------------------------------------

    fn written(
        protocol: Protocol,
        write: impl FnOnce(&mut ReplyWriter<'_, SliceSink<'_>>),
    ) -> Vec<u8> {
        let mut buffer = [0_u8; 256];
        let mut sink = SliceSink::new(&mut buffer);
        write(&mut ReplyWriter::new(&mut sink, protocol));
        let size = sink.finish().unwrap();
        let bytes = sink.written().to_vec();
        assert_eq!(bytes.len(), size);
        assert_eq!(
            check(&bytes),
            Ok(bytes.len()),
            "{:?}",
            String::from_utf8_lossy(&bytes)
        );
        bytes
    }

    fn both(write: impl Fn(&mut ReplyWriter<'_, SliceSink<'_>>)) -> (Vec<u8>, Vec<u8>) {
        (
            written(Protocol::Resp2, &write),
            written(Protocol::Resp3, &write),
        )
    }

    #[test]
    fn resp_write_scalars() {
        assert_eq!(both(|w| w.simple(b"OK")).1, b"+OK\r\n");
        assert_eq!(
            both(|w| w.error(b"ERR syntax error")).0,
            b"-ERR syntax error\r\n"
        );
        assert_eq!(both(|w| w.integer(0)).0, b":0\r\n");
        assert_eq!(
            both(|w| w.integer(i64::MIN)).0,
            b":-9223372036854775808\r\n"
        );
        assert_eq!(both(|w| w.integer(i64::MAX)).1, b":9223372036854775807\r\n");
        assert_eq!(both(|w| w.bulk(b"a\r\nb")).0, b"$4\r\na\r\nb\r\n");
        assert_eq!(both(|w| w.bulk(b"")).0, b"$0\r\n\r\n");
    }

    #[test]
    fn resp_write_line_breaks_become_spaces() {
        assert_eq!(both(|w| w.simple(b"a\r\nb\nc\r")).0, b"+a  b c \r\n");
        assert_eq!(both(|w| w.error(b"ERR\nbad")).1, b"-ERR bad\r\n");
    }

    #[test]
    fn resp_write_per_protocol() {
        type Write<'a> = &'a dyn Fn(&mut ReplyWriter<'_, SliceSink<'_>>);
        let cases: [(Write<'_>, &[u8], &[u8]); 12] = [
            (&|w| w.null(), b"$-1\r\n", b"_\r\n"),
            (&|w| w.null_array(), b"*-1\r\n", b"_\r\n"),
            (&|w| w.boolean(true), b":1\r\n", b"#t\r\n"),
            (&|w| w.boolean(false), b":0\r\n", b"#f\r\n"),
            (&|w| w.double(1.5), b"$3\r\n1.5\r\n", b",1.5\r\n"),
            (
                &|w| w.double(f64::NEG_INFINITY),
                b"$4\r\n-inf\r\n",
                b",-inf\r\n",
            ),
            (&|w| w.double(f64::NAN), b"$3\r\nnan\r\n", b",nan\r\n"),
            (
                &|w| w.verbatim(*b"txt", b"hi"),
                b"$2\r\nhi\r\n",
                b"=6\r\ntxt:hi\r\n",
            ),
            (&|w| w.big_number(b"-12"), b"$3\r\n-12\r\n", b"(-12\r\n"),
            (
                &|w| {
                    w.map_header(1);
                    w.bulk(b"k");
                    w.integer(1);
                },
                b"*2\r\n$1\r\nk\r\n:1\r\n",
                b"%1\r\n$1\r\nk\r\n:1\r\n",
            ),
            (
                &|w| {
                    w.set_header(1);
                    w.bulk(b"m");
                },
                b"*1\r\n$1\r\nm\r\n",
                b"~1\r\n$1\r\nm\r\n",
            ),
            (
                &|w| {
                    w.push_header(1);
                    w.array_header(0);
                },
                b"*1\r\n*0\r\n",
                b">1\r\n*0\r\n",
            ),
        ];
        for (write, resp2, resp3) in cases {
            let (got2, got3) = both(write);
            assert_eq!(got2, resp2, "{:?}", String::from_utf8_lossy(resp2));
            assert_eq!(got3, resp3, "{:?}", String::from_utf8_lossy(resp3));
        }
    }

    #[test]
    #[should_panic(expected = "big number")]
    fn resp_write_big_number_refuses_non_digits() {
        let _bytes = written(Protocol::Resp3, |w| w.big_number(b"12x"));
    }

    #[test]
    fn resp_double_format() {
        let cases: [(f64, &str); 18] = [
            (0.0, "0"),
            (-0.0, "-0"),
            (1.5, "1.5"),
            (-2.5, "-2.5"),
            (100.0, "100"),
            (0.1, "0.1"),
            (4.0625, "4.0625"),
            (12345.678, "12345.678"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (123_456_789_012_345_680.0, "1.2345678901234568e+17"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e100, "1e+100"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
        ];
        for (value, text) in cases {
            let mut buffer = [0; DOUBLE_SIZE_MAX];
            assert_eq!(
                format_double(value, &mut buffer),
                text.as_bytes(),
                "{value:e}"
            );
        }
    }

    #[test]
    fn resp_slice_sink_overflow_is_a_value() {
        let mut buffer = [0_u8; 8];
        let mut sink = SliceSink::new(&mut buffer);
        let mut writer = ReplyWriter::new(&mut sink, Protocol::Resp2);
        writer.simple(b"OK");
        writer.bulk(b"abcdef");
        writer.integer(1);
        assert!(sink.overflowed());
        assert_eq!(sink.written(), b"+OK\r\n");
        assert_eq!(
            sink.finish(),
            Err(SinkFull {
                needed_size: 5 + 12 + 4
            })
        );
    }

    // ---- Properties ----------------------------------------------------------------------

    /// A reply as a command would build it, to write in both protocols.
    #[derive(Debug, Clone)]
    enum Reply {
        Simple(Vec<u8>),
        Error(Vec<u8>),
        Integer(i64),
        Bulk(Vec<u8>),
        Null,
        NullArray,
        Double(f64),
        Boolean(bool),
        Verbatim(Vec<u8>),
        BigNumber(Vec<u8>),
        Array(Vec<Reply>),
        Map(Vec<(Reply, Reply)>),
        Set(Vec<Reply>),
        Push(Vec<Reply>),
    }

    fn reply_strategy() -> impl Strategy<Value = Reply> {
        let line = || {
            vec(
                any::<u8>().prop_map(|b| if b == b'\r' || b == b'\n' { b'.' } else { b }),
                0..24,
            )
        };
        let leaf = prop_oneof![
            line().prop_map(Reply::Simple),
            line().prop_map(Reply::Error),
            any::<i64>().prop_map(Reply::Integer),
            vec(any::<u8>(), 0..48).prop_map(Reply::Bulk),
            Just(Reply::Null),
            Just(Reply::NullArray),
            any::<f64>().prop_map(Reply::Double),
            any::<bool>().prop_map(Reply::Boolean),
            vec(any::<u8>(), 0..48).prop_map(Reply::Verbatim),
            "[-+]?[0-9]{1,40}".prop_map(|digits| Reply::BigNumber(digits.into_bytes())),
        ];
        leaf.prop_recursive(4, 48, 5, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..5).prop_map(Reply::Array),
                vec((inner.clone(), inner.clone()), 0..4).prop_map(Reply::Map),
                vec(inner.clone(), 0..5).prop_map(Reply::Set),
                vec(inner, 0..5).prop_map(Reply::Push),
            ]
        })
    }

    fn write_reply(reply: &Reply, writer: &mut ReplyWriter<'_, dyn ReplySink + '_>) {
        match reply {
            Reply::Simple(text) => writer.simple(text),
            Reply::Error(text) => writer.error(text),
            Reply::Integer(value) => writer.integer(*value),
            Reply::Bulk(bytes) => writer.bulk(bytes),
            Reply::Null => writer.null(),
            Reply::NullArray => writer.null_array(),
            Reply::Double(value) => writer.double(*value),
            Reply::Boolean(value) => writer.boolean(*value),
            Reply::Verbatim(text) => writer.verbatim(*b"txt", text),
            Reply::BigNumber(digits) => writer.big_number(digits),
            Reply::Array(items) | Reply::Set(items) | Reply::Push(items) => {
                match reply {
                    Reply::Array(_) => writer.array_header(items.len()),
                    Reply::Set(_) => writer.set_header(items.len()),
                    _ => writer.push_header(items.len()),
                }
                for item in items {
                    write_reply(item, writer);
                }
            }
            Reply::Map(pairs) => {
                writer.map_header(pairs.len());
                for (key, value) in pairs {
                    write_reply(key, writer);
                    write_reply(value, writer);
                }
            }
        }
    }

    struct VecSink(Vec<u8>);

    impl ReplySink for VecSink {
        fn put(&mut self, bytes: &[u8]) {
            self.0.extend_from_slice(bytes);
        }
    }

    fn same_double(expected: f64, actual: f64) -> bool {
        (expected.is_nan() && actual.is_nan()) || expected.to_bits() == actual.to_bits()
    }

    /// Reads back the element at `position` and checks it is `reply` as `protocol` shows
    /// it; returns the offset after it.
    fn read_reply(reply: &Reply, input: &[u8], position: usize, protocol: Protocol) -> usize {
        use Protocol::{Resp2, Resp3};
        let (frame, size) = Frame::parse_head(&input[position..], &Limits::DEFAULT).unwrap();
        let mut next = position + size;
        let children: &[Reply] = match (reply, protocol, frame) {
            (Reply::Simple(text), _, Frame::Simple(got))
            | (Reply::Error(text), _, Frame::Error(got)) => {
                assert_eq!(text.as_slice(), got);
                &[]
            }
            (Reply::Integer(value), _, Frame::Integer(got)) => {
                assert_eq!(*value, got);
                &[]
            }
            (Reply::Bulk(bytes), _, Frame::Bulk(got))
            | (Reply::Verbatim(bytes), Resp2, Frame::Bulk(got))
            | (Reply::BigNumber(bytes), Resp2, Frame::Bulk(got))
            | (Reply::BigNumber(bytes), Resp3, Frame::BigNumber(got)) => {
                assert_eq!(bytes.as_slice(), got);
                &[]
            }
            (Reply::Verbatim(bytes), Resp3, Frame::Verbatim { format, text }) => {
                assert_eq!((&format, bytes.as_slice()), (b"txt", text));
                &[]
            }
            (Reply::Null, Resp2, Frame::NullBulk)
            | (Reply::Null | Reply::NullArray, Resp3, Frame::Null)
            | (Reply::NullArray, Resp2, Frame::NullArray) => &[],
            (Reply::Double(value), Resp3, Frame::Double(got)) => {
                assert!(same_double(*value, got), "{value:?} {got:?}");
                &[]
            }
            (Reply::Double(value), Resp2, Frame::Bulk(text)) => {
                let got: f64 = std::str::from_utf8(text).unwrap().parse().unwrap();
                assert!(same_double(*value, got), "{value:?} {got:?}");
                &[]
            }
            (Reply::Boolean(value), Resp2, Frame::Integer(got)) => {
                assert_eq!(i64::from(*value), got);
                &[]
            }
            (Reply::Boolean(value), Resp3, Frame::Boolean(got)) => {
                assert_eq!(*value, got);
                &[]
            }
            (Reply::Array(items), _, Frame::Array(count))
            | (Reply::Set(items), Resp2, Frame::Array(count))
            | (Reply::Set(items), Resp3, Frame::Set(count))
            | (Reply::Push(items), Resp2, Frame::Array(count))
            | (Reply::Push(items), Resp3, Frame::Push(count)) => {
                assert_eq!(items.len(), count);
                items
            }
            (Reply::Map(pairs), _, Frame::Array(count) | Frame::Map(count)) => {
                let expected = if protocol == Resp2 {
                    2 * pairs.len()
                } else {
                    pairs.len()
                };
                assert_eq!(matches!(frame, Frame::Map(_)), protocol == Resp3);
                assert_eq!(count, expected);
                for (key, value) in pairs {
                    next = read_reply(key, input, next, protocol);
                    next = read_reply(value, input, next, protocol);
                }
                &[]
            }
            (reply, protocol, frame) => panic!("{reply:?} in {protocol:?} read as {frame:?}"),
        };
        for child in children {
            next = read_reply(child, input, next, protocol);
        }
        next
    }

    fn arg_strategy() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            20 => vec(any::<u8>(), 0..24),
            1 => vec(any::<u8>(), 0..70_000),
        ]
    }

    /// Bytes mostly from RESP's alphabet, so that random input gets past the first byte.
    fn resp_bytes() -> impl Strategy<Value = Vec<u8>> {
        let alphabet: &[u8] = b"*$+-:_#,(!=%~>|\r\n\r\n0123-1 \"'\\xtf";
        let byte = prop_oneof![
            4 => proptest::sample::select(alphabet),
            1 => any::<u8>(),
        ];
        vec(byte, 0..96)
    }

    proptest! {
        #[test]
        fn resp_prop_multibulk_round_trip(args in vec(arg_strategy(), 1..8)) {
            let input = encode_multibulk(&args);
            let (parsed, consumed) = parse(&input, &Limits::DEFAULT).unwrap();
            prop_assert_eq!(parsed, args);
            prop_assert_eq!(consumed, input.len());
        }

        #[test]
        fn resp_prop_pipeline_split_round_trip(
            requests in vec(vec(vec(any::<u8>(), 0..12), 0..5), 1..6),
            split in any::<proptest::sample::Index>(),
        ) {
            let input: Vec<u8> = requests.iter().flat_map(|args| encode_multibulk(args)).collect();
            let split = split.index(input.len() + 1);
            let (parsed, end) = parse_as_server(&input, split, &Limits::DEFAULT);
            prop_assert_eq!(parsed, requests);
            prop_assert_eq!(end, RespError::new(RespErrorKind::Incomplete, input.len()));
        }

        #[test]
        fn resp_prop_inline_quoted_round_trip(args in vec(vec(any::<u8>(), 0..12), 1..5)) {
            let mut line = Vec::new();
            for arg in &args {
                line.extend_from_slice(b" \"");
                for byte in arg {
                    line.extend_from_slice(format!("\\x{byte:02x}").as_bytes());
                }
                line.push(b'"');
            }
            line.extend_from_slice(b"\r\n");
            prop_assert_eq!(parse_args(&line), args);
        }

        #[test]
        fn resp_prop_inline_plain_round_trip(args in vec("[!-~&&[^\"'*]][!-~&&[^\"']]{0,9}", 1..6)) {
            let line = format!("{}\r\n", args.join(" "));
            let expected: Args = args.iter().map(|arg| arg.as_bytes().to_vec()).collect();
            prop_assert_eq!(parse_args(line.as_bytes()), expected);
        }

        #[test]
        fn resp_prop_reply_round_trip(reply in reply_strategy()) {
            for protocol in [Protocol::Resp2, Protocol::Resp3] {
                let mut sink = VecSink(Vec::new());
                write_reply(&reply, &mut ReplyWriter::new(&mut sink as &mut dyn ReplySink, protocol));
                let bytes = sink.0;
                prop_assert_eq!(check(&bytes), Ok(bytes.len()));
                prop_assert_eq!(read_reply(&reply, &bytes, 0, protocol), bytes.len());
                for end in [0, bytes.len() / 2, bytes.len() - 1] {
                    prop_assert!(check(&bytes[..end]).unwrap_err().is_incomplete());
                }
            }
        }

        #[test]
        fn resp_prop_double_round_trip(value in any::<f64>()) {
            let mut buffer = [0; DOUBLE_SIZE_MAX];
            let text = format_double(value, &mut buffer);
            let got: f64 = std::str::from_utf8(text).unwrap().parse().unwrap();
            prop_assert!(same_double(value, got), "{} {:?}", value, text);
            let resp3 = parse_double(text).unwrap();
            prop_assert!(same_double(value, resp3), "{} {:?}", value, text);
        }

        #[test]
        fn resp_prop_arbitrary_bytes_are_total_and_prefix_stable(
            bytes in prop_oneof![resp_bytes(), vec(any::<u8>(), 0..96)],
            split in any::<proptest::sample::Index>(),
        ) {
            let split = split.index(bytes.len() + 1);
            for limits in [SMALL, Limits::DEFAULT] {
                let whole = parse_as_server(&bytes, bytes.len(), &limits);
                prop_assert!(whole.1.offset <= bytes.len());
                prop_assert_eq!(parse_as_server(&bytes, split, &limits), whole);
                let frame = Frame::check(&bytes, &limits);
                if let Ok(size) = frame {
                    prop_assert!(size <= bytes.len());
                }
                match Frame::check(&bytes[..split], &limits) {
                    Err(error) if error.is_incomplete() => {}
                    prefix => prop_assert_eq!(prefix, frame),
                }
            }
        }
    }
}
