//! Frames, as a client reads them: [`Frame::parse_head`] reads one element head (a
//! whole scalar, or an aggregate's header) and [`Frame::check`] validates and measures a
//! whole frame, iteratively and without allocating.

use super::lex::{Length, bulk_end, parse_length, scan_line};
use super::{DEPTH_MAX_CEILING, Limits, RespError, RespErrorKind};
use crate::text::{is_signed_digits, parse_double_resp3, parse_integer_lenient};

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
                let value = parse_integer_lenient(text).ok_or(invalid(Kind::InvalidInteger))?;
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
                let value = parse_double_resp3(text).ok_or(invalid(Kind::InvalidDouble))?;
                (Self::Double(value), next)
            }
            b'(' => {
                let (text, next) = line()?;
                if !is_signed_digits(text) {
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

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use crate::codec::resp::tests::{SMALL, check, head};

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
}
