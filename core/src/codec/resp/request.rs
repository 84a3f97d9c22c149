//! Requests, as a server reads them: [`parse_request`] takes one multibulk or inline
//! request off the front of the input and hands out its arguments as ranges into the
//! input (or, for quoted inline tokens, into the caller's scratch buffer).

use super::inline::split_inline;
use super::lex::{Length, bulk_end, parse_length};
use super::{Limits, RespError, RespErrorKind};

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

    pub(super) const fn input(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    pub(super) const fn scratch(start: usize, end: usize) -> Self {
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
        Args::new(self.input, self.scratch, self.ranges)
    }
}

/// Iterator over a [`Request`]'s arguments.
#[derive(Debug, Clone)]
pub struct Args<'a> {
    input: &'a [u8],
    scratch: &'a [u8],
    ranges: core::slice::Iter<'a, ArgRange>,
}

impl<'a> Args<'a> {
    /// The arguments at `ranges`, which the parser built over `input` and `scratch`.
    pub(super) fn new(input: &'a [u8], scratch: &'a [u8], ranges: &'a [ArgRange]) -> Self {
        Self {
            input,
            scratch,
            ranges: ranges.iter(),
        }
    }
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

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use crate::codec::resp::tests::{
        Args, arg_strategy, encode_multibulk, owned, parse, parse_args, parse_as_server,
        parse_error,
    };
    use proptest::collection::vec;
    use proptest::prelude::*;
    use std::vec::Vec;

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
    }
}
