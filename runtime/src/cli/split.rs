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

/// The line has an unterminated quote, or a closing quote not followed by a blank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unbalanced;

/// Splits `line` into arguments; see the module documentation.
///
/// # Errors
/// [`Unbalanced`] for a quote that is not closed, or closed and followed by a non-blank.
pub fn split_line(line: &[u8]) -> Result<Vec<Vec<u8>>, Unbalanced> {
    let mut args = Vec::new();
    let mut position = 0;
    // Each iteration consumes at least one byte or returns.
    loop {
        while line.get(position).is_some_and(|&byte| is_space(byte)) {
            position += 1;
        }
        if position >= line.len() {
            return Ok(args);
        }
        let (arg, next) = split_line_argument(line, position)?;
        assert!(next > position, "position={position} next={next}");
        args.push(arg);
        position = next;
    }
}

/// Where the scanner is inside one argument.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Double,
    Single,
}

/// Reads the argument starting at `start` (not a blank); returns it and the position after
/// the byte that ended it.
fn split_line_argument(line: &[u8], start: usize) -> Result<(Vec<u8>, usize), Unbalanced> {
    let mut arg = Vec::new();
    let mut quote = Quote::None;
    let mut position = start;
    loop {
        let Some(&byte) = line.get(position) else {
            // The end of the line ends an unquoted argument; inside quotes it is an error.
            return match quote {
                Quote::None => Ok((arg, position)),
                Quote::Double | Quote::Single => Err(Unbalanced),
            };
        };
        match quote {
            Quote::None => match byte {
                b' ' | b'\n' | b'\r' | b'\t' | 0 => return Ok((arg, position + 1)),
                b'"' => quote = Quote::Double,
                b'\'' => quote = Quote::Single,
                _ => arg.push(byte),
            },
            Quote::Double => match (byte, line.get(position + 1)) {
                (b'\\', Some(b'x')) if hex_pair(line, position + 2).is_some() => {
                    arg.extend(hex_pair(line, position + 2));
                    position += 3;
                }
                (b'\\', Some(&escaped)) => {
                    arg.push(match escaped {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                    position += 1;
                }
                (b'"', next) => return closed(arg, position, next),
                _ => arg.push(byte),
            },
            Quote::Single => match (byte, line.get(position + 1)) {
                (b'\\', Some(b'\'')) => {
                    arg.push(b'\'');
                    position += 1;
                }
                (b'\'', next) => return closed(arg, position, next),
                _ => arg.push(byte),
            },
        }
        position += 1;
    }
}

/// A closing quote at `position`: it must be followed by a blank (consumed) or the end.
fn closed(
    arg: Vec<u8>,
    position: usize,
    next: Option<&u8>,
) -> Result<(Vec<u8>, usize), Unbalanced> {
    match next {
        None => Ok((arg, position + 1)),
        Some(&byte) if is_space(byte) => Ok((arg, position + 2)),
        Some(_) => Err(Unbalanced),
    }
}

/// C's `isspace` in the C locale.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The byte two hex digits at `position` stand for, if both are there.
fn hex_pair(line: &[u8], position: usize) -> Option<u8> {
    let high = hex_value(*line.get(position)?)?;
    let low = hex_value(*line.get(position + 1)?)?;
    Some(high << 4 | low)
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
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
    fn unterminated_or_glued_quotes_are_invalid() {
        for line in [r#"SET k "abc"#, "SET k 'abc", r#""a"b"#, "'a'b", r#""abc\"#] {
            assert_eq!(split(line), Err(Unbalanced), "{line}");
        }
    }
}
