//! Splitting a CLI line into arguments with redis-cli's quoting rules (its `sdssplitargs`),
//! so a line typed at `floe` means what it means at `redis-cli`.
//!
//! The rules:
//! - Arguments are separated by blanks; blanks before the first and after the last are
//!   ignored, and an empty line has no arguments.
//! - `"..."` quotes, with the escapes `\n \r \t \b \a \\ \"` and `\xHH` (two hex digits,
//!   either case); a backslash before any other character stands for that character.
//! - `'...'` quotes with a single escape, `\'`; every other byte is literal.
//! - A quote may start in the middle of an argument (`a"b c"` is `ab c`), but a closing
//!   quote must be followed by a blank or the end of the line.
//! - An unterminated quote, or a closing quote followed by anything but a blank, makes the
//!   whole line invalid: nothing is run (redis-cli prints `Invalid argument(s)`).
//!
//! Invariants: total (every byte string gives arguments or [`Unbalanced`], never a
//! panic); an argument is never longer than the line; work is linear in the line.

use floe_core::codec::resp::{self, ArgRange, RespErrorKind, split_line_arg_count_max};

/// The line has an unterminated quote, or a closing quote not followed by a blank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unbalanced;

/// Splits `line` into arguments; see the module documentation. The rules are the server's
/// inline-request rules, from one splitter in floe-core ([`resp::split_line`]), so a NUL
/// byte is an ordinary byte here too.
///
/// # Errors
/// [`Unbalanced`] for a quote that is not closed, or closed and followed by a non-blank.
pub fn split_line(line: &[u8]) -> Result<Vec<Vec<u8>>, Unbalanced> {
    // Buffers of the sizes the splitter documents as always enough.
    let mut ranges = vec![ArgRange::EMPTY; split_line_arg_count_max(line.len())];
    let mut scratch = vec![0_u8; line.len()];
    match resp::split_line(line, &mut ranges, &mut scratch) {
        Ok(args) => Ok(args.map(<[u8]>::to_vec).collect()),
        Err(error) => {
            assert_eq!(error.kind, RespErrorKind::UnbalancedQuotes, "{error}");
            Err(Unbalanced)
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;

    fn split(line: &str) -> Result<Vec<String>, Unbalanced> {
        split_line(line.as_bytes()).map(|args| {
            args.into_iter()
                .map(|arg| String::from_utf8_lossy(&arg).into_owned())
                .collect()
        })
    }

    #[test]
    fn blanks_separate_and_are_trimmed() {
        assert_eq!(split("SET a 1").unwrap(), ["SET", "a", "1"]);
        assert_eq!(split("  GET\t a  ").unwrap(), ["GET", "a"]);
        assert!(split("").unwrap().is_empty());
        assert!(split(" \t ").unwrap().is_empty());
    }

    #[test]
    fn double_quotes_keep_blanks_and_unescape() {
        assert_eq!(
            split(r#"SET mykey "Hello, World!""#).unwrap(),
            ["SET", "mykey", "Hello, World!"]
        );
        let args = split_line(br#"x "a\n\r\t\b\a\\\"\x41\x4a\xzz\q""#).unwrap();
        assert_eq!(args[1], b"a\n\r\t\x08\x07\\\"AJxzzq");
        assert_eq!(split_line(br#""\x00\xff""#).unwrap()[0], [0, 0xff]);
        assert_eq!(split(r#""""#).unwrap(), [""]);
        assert_eq!(split(r#"a"b c"d"#), Err(Unbalanced));
        assert_eq!(split(r#"a"b c" d"#).unwrap(), ["ab c", "d"]);
    }

    #[test]
    fn single_quotes_escape_only_the_quote() {
        assert_eq!(split(r"'it\'s \n'").unwrap(), [r"it's \n"]);
        assert_eq!(split(r#"'say "hi"'"#).unwrap(), [r#"say "hi""#]);
    }

    #[test]
    fn nul_is_an_ordinary_byte() {
        // Issue 8: a NUL split a CLI line where the server's inline rules keep it.
        assert_eq!(
            split_line(b"SET k a\0b").unwrap(),
            [&b"SET"[..], b"k", b"a\0b"]
        );
        assert_eq!(split_line(b"\0 \0").unwrap(), [&b"\0"[..], b"\0"]);
        assert_eq!(split_line(b"'a'\0"), Err(Unbalanced));
    }

    #[test]
    fn unterminated_or_glued_quotes_are_invalid() {
        for line in [r#"SET k "abc"#, "SET k 'abc", r#""a"b"#, "'a'b", r#""abc\"#] {
            assert_eq!(split(line), Err(Unbalanced), "{line}");
        }
    }
}
