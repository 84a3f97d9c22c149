//! The inline-request splitter: one line into arguments with Redis's quoting rules (its
//! `sdssplitargs`, which redis-cli applies to a typed line too). Plain tokens stay ranges
//! into the line; quoted ones are unescaped into the caller's scratch buffer, which never
//! needs more bytes than the line has.
//!
//! One splitter serves both doors that read typed lines: the server's inline requests
//! (through [`parse_request`](super::parse_request)) and the CLI (through [`split_line`]),
//! so a line means the same at both. A NUL byte is an ordinary byte at both.

use super::{ArgRange, Args, RespError, RespErrorKind};

/// Most arguments a line of `line_size` bytes can split into: each argument takes a byte
/// at least, and all but the last a blank after it. An `args` buffer this long never makes
/// [`split_line`] fail with [`RespErrorKind::TooManyArguments`].
#[must_use]
pub const fn split_line_arg_count_max(line_size: usize) -> usize {
    line_size / 2 + 1
}

/// Splits `line` into arguments with redis-cli's quoting rules (Redis's `sdssplitargs`):
/// blanks separate arguments; `"..."` understands `\n \r \t \b \a \\ \"` and `\xHH`;
/// `'...'` understands `\'`; a quote may open mid-argument (`a"b c"` is `ab c`), and a
/// closing quote must be followed by a blank or the end of the line. `\r` and `\n` are
/// blanks, so a line ending may be left on.
///
/// `args` receives one range per argument and `scratch` the unescaped bytes of quoted
/// arguments: [`split_line_arg_count_max`]`(line.len())` ranges and `line.len()` scratch
/// bytes always suffice.
///
/// ```
/// use floe_core::codec::resp::{ArgRange, split_line, split_line_arg_count_max};
///
/// let line = br#"SET greeting "Hello,\tWorld!" 'it\'s'"#;
/// const LINE_SIZE_MAX: usize = 64;
/// let mut args = [ArgRange::EMPTY; split_line_arg_count_max(LINE_SIZE_MAX)];
/// let mut scratch = [0_u8; LINE_SIZE_MAX];
/// let args = split_line(line, &mut args, &mut scratch).unwrap();
/// assert!(args.eq([&b"SET"[..], b"greeting", b"Hello,\tWorld!", b"it's"]));
/// ```
///
/// # Errors
///
/// [`RespErrorKind::UnbalancedQuotes`] for a quote left open or closed and followed by a
/// non-blank; [`RespErrorKind::TooManyArguments`] or [`RespErrorKind::ScratchFull`] when a
/// buffer is shorter than the sizes above. The offset is into `line`.
pub fn split_line<'a>(
    line: &'a [u8],
    args: &'a mut [ArgRange],
    scratch: &'a mut [u8],
) -> Result<Args<'a>, RespError> {
    let arg_count = split_inline(line, args, scratch)?;
    let ranges: &'a [ArgRange] = args;
    Ok(Args::new(
        line,
        scratch,
        ranges.get(..arg_count).unwrap_or_default(),
    ))
}

/// Splits an inline line into arguments with Redis's `sdssplitargs` rules: blanks
/// separate tokens; `"..."` understands `\n \r \t \b \a \\ \"` and `\xHH`; `'...'`
/// understands `\'`; a quote may open mid-token (`a"b c"` is `ab c`), and a closing quote
/// must be followed by a blank or the end of the line. Returns the argument count.
pub(super) fn split_inline(
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

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use crate::codec::resp::tests::{Args, owned, parse, parse_args};
    use crate::codec::resp::{Limits, RequestKind, parse_request};
    use proptest::collection::vec;
    use proptest::prelude::*;
    use std::string::String;
    use std::vec::Vec;

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

    #[test]
    fn resp_split_line_is_the_inline_splitter() {
        let lines: [&[u8]; 6] = [
            b"SET k v",
            b"  GET\t a  ",
            br#"x "a\n\x41" 'it\'s' q"b c""#,
            b"SET k a\0b",
            b"",
            br#"SET k "open"#,
        ];
        for line in lines {
            let mut args = [ArgRange::EMPTY; 16];
            let mut scratch = [0_u8; 64];
            let split = split_line(line, &mut args, &mut scratch)
                .map(|args| args.map(<[u8]>::to_vec).collect::<Args>());
            let request =
                parse([line, b"\r\n"].concat().as_slice(), &Limits::DEFAULT).map(|(args, _)| args);
            assert_eq!(split, request, "{:?}", String::from_utf8_lossy(line));
        }
        let mut args = [ArgRange::EMPTY; 4];
        let mut scratch = [0_u8; 8];
        let split = split_line(b"SET k a\0b", &mut args, &mut scratch).unwrap();
        assert!(split.eq([&b"SET"[..], b"k", b"a\0b"]), "NUL does not split");
    }

    proptest! {
        #[test]
        fn resp_prop_split_line_buffers_of_the_stated_size_suffice(
            line in vec(proptest::sample::select(&b"ab \t\"'\\x0\r\n"[..]), 0..40),
        ) {
            let mut args = std::vec![ArgRange::EMPTY; split_line_arg_count_max(line.len())];
            let mut scratch = std::vec![0_u8; line.len()];
            match split_line(&line, &mut args, &mut scratch) {
                Ok(split) => prop_assert!(split.len() <= split_line_arg_count_max(line.len())),
                Err(error) => prop_assert_eq!(error.kind, RespErrorKind::UnbalancedQuotes),
            }
        }

        #[test]
        fn resp_prop_split_line_agrees_with_inline_requests(
            line in vec(proptest::sample::select(&b"ab \t\"'\\x0\r\0"[..]), 0..40),
        ) {
            let mut args = std::vec![ArgRange::EMPTY; split_line_arg_count_max(line.len())];
            let mut scratch = std::vec![0_u8; line.len()];
            let split = split_line(&line, &mut args, &mut scratch)
                .map(|args| args.map(<[u8]>::to_vec).collect::<Args>())
                .map_err(|error| error.kind);
            let request = parse([&line[..], b"\n"].concat().as_slice(), &Limits::DEFAULT)
                .map(|(args, _)| args)
                .map_err(|error| error.kind);
            prop_assert_eq!(split, request);
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
    }
}
