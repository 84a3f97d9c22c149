//! Why bytes are not (yet) a valid request or frame: [`RespError`] with its offset, and
//! the text Redis would send for it ([`ErrorMessage`]), held inline without allocation.

use core::fmt::{self, Write as _};

#[cfg(doc)]
use super::{ArgRange, Limits};

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

    pub(super) const fn incomplete(input: &[u8]) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
