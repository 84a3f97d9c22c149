//! Lexing shared by requests and frames: length lines (`*3\r\n`, `$5\r\n`), bulk data
//! ends, and simple lines. Every function is total and reports the offset of the byte it
//! found wrong.

use super::{RespError, RespErrorKind};

/// A length line's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Length {
    Count(usize),
    /// The magnitude of a negative length (`*-1`: `Negative(1)`).
    Negative(usize),
}

/// Parses `[-]<digits>\r\n` at `start` with Redis's `string2ll` rules (no `+`, no leading
/// zeros, no `-0`, nothing else on the line), refusing a count above `count_max` as soon as
/// its digits pass it. Returns the value and the offset after the `\n`.
///
/// The rule is [`parse_integer_strict`](crate::text::parse_integer_strict)'s, applied byte
/// by byte here rather than by calling it: a stream needs the offset of the first bad
/// byte, and a declared length over `count_max` refused before its line ends.
#[inline]
pub(super) fn parse_length(
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
pub(super) fn bulk_end(input: &[u8], data_start: usize, size: usize) -> Result<usize, RespError> {
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
pub(super) fn scan_line(
    input: &[u8],
    start: usize,
    size_max: usize,
) -> Result<(&[u8], usize), RespError> {
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
