//! The replica's side of RESP: requests encoded as arrays of bulk strings, and a total
//! parser for the primary's replies (simple strings, errors, integers, bulk strings, arrays).
//!
//! Invariants: [`parse`] never panics and never allocates from a length it was told: a
//! bulk string is copied only once all of its bytes are there, and it is refused above
//! the caller's limit; arrays nest at most [`DEPTH_MAX`] deep with at most
//! [`ARRAY_COUNT_MAX`] elements (replication's replies have five at most).
//!
//! Fault assumptions: the peer may be anything that accepts TCP (a Redis that is not floe,
//! a web server, a half-dead process): every byte is checked, and a reply that is not RESP
//! is an error, never a guess.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;

/// Deepest nesting of arrays accepted in a reply.
pub const DEPTH_MAX: usize = 4;
/// Most elements accepted in one array of a reply.
pub const ARRAY_COUNT_MAX: usize = 64;
/// Longest line (a simple string, an error, a length) accepted in a reply.
pub const LINE_SIZE_MAX: usize = 64 << 10;

/// One reply frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+text`.
    Simple(String),
    /// `-text`.
    Error(String),
    /// `:n`.
    Integer(i64),
    /// `$n` and its bytes; `None` for the null bulk string.
    Bulk(Option<Vec<u8>>),
    /// `*n` and its elements; `None` for the null array.
    Array(Option<Vec<Reply>>),
}

/// Why bytes are not a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// What is wrong there.
    pub reason: &'static str,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not a RESP reply at byte {}: {}",
            self.offset, self.reason
        )
    }
}

/// Parses one reply from the start of `bytes`: `Ok(None)` if more bytes are needed,
/// `Ok(Some((reply, size)))` with the bytes it took, or an error. Bulk strings over
/// `bulk_size_max` are errors.
///
/// # Errors
/// A [`WireError`] for bytes that are not a RESP reply (or break a limit).
pub fn parse(bytes: &[u8], bulk_size_max: u64) -> Result<Option<(Reply, usize)>, WireError> {
    let mut position = 0;
    match parse_at(bytes, &mut position, bulk_size_max, 0)? {
        Some(reply) => Ok(Some((reply, position))),
        None => Ok(None),
    }
}

fn parse_at(
    bytes: &[u8],
    position: &mut usize,
    bulk_size_max: u64,
    depth: usize,
) -> Result<Option<Reply>, WireError> {
    let start = *position;
    let Some(&kind) = bytes.get(start) else {
        return Ok(None);
    };
    let Some(line) = line_at(bytes, start + 1)? else {
        return Ok(None);
    };
    let after_line = start + 1 + line.len() + 2;
    let error = |reason| WireError {
        offset: start,
        reason,
    };
    let text = || String::from_utf8_lossy(line).into_owned();
    let reply = match kind {
        b'+' => Reply::Simple(text()),
        b'-' => Reply::Error(text()),
        b':' => Reply::Integer(integer(line).ok_or_else(|| error("an integer that is not one"))?),
        b'$' => {
            let length = integer(line).ok_or_else(|| error("a bulk length that is not one"))?;
            if length == -1 {
                *position = after_line;
                return Ok(Some(Reply::Bulk(None)));
            }
            let length = u64::try_from(length).map_err(|_| error("a negative bulk length"))?;
            if length > bulk_size_max {
                return Err(error("a bulk string over proto-max-bulk-len"));
            }
            let length = usize::try_from(length).map_err(|_| error("a bulk length too large"))?;
            let Some(end) = after_line.checked_add(length) else {
                return Err(error("a bulk length too large"));
            };
            let Some(crlf) = bytes.get(end..end.saturating_add(2)) else {
                return Ok(None);
            };
            if crlf.len() < 2 {
                return Ok(None);
            }
            if crlf != b"\r\n" {
                return Err(error("a bulk string not followed by CRLF"));
            }
            *position = end + 2;
            return Ok(Some(Reply::Bulk(Some(bytes[after_line..end].to_vec()))));
        }
        b'*' => {
            let count = integer(line).ok_or_else(|| error("an array length that is not one"))?;
            if count == -1 {
                *position = after_line;
                return Ok(Some(Reply::Array(None)));
            }
            let count = usize::try_from(count).map_err(|_| error("a negative array length"))?;
            if count > ARRAY_COUNT_MAX {
                return Err(error("an array longer than a replication reply"));
            }
            if depth >= DEPTH_MAX {
                return Err(error("arrays nested deeper than a replication reply"));
            }
            *position = after_line;
            let mut elements = Vec::new();
            for _ in 0..count {
                match parse_at(bytes, position, bulk_size_max, depth + 1)? {
                    Some(element) => elements.push(element),
                    None => {
                        *position = start;
                        return Ok(None);
                    }
                }
            }
            return Ok(Some(Reply::Array(Some(elements))));
        }
        _ => return Err(error("an unknown reply type")),
    };
    *position = after_line;
    Ok(Some(reply))
}

/// The line starting at `start`, without its CRLF; `None` if the CRLF is not there yet.
fn line_at(bytes: &[u8], start: usize) -> Result<Option<&[u8]>, WireError> {
    let rest = bytes.get(start..).unwrap_or_default();
    let window = &rest[..rest.len().min(LINE_SIZE_MAX + 2)];
    match window.iter().position(|&byte| byte == b'\n') {
        Some(end) if end >= 1 && window[end - 1] == b'\r' => Ok(Some(&window[..end - 1])),
        Some(_) => Err(WireError {
            offset: start,
            reason: "a line ending in LF without CR",
        }),
        None if window.len() > LINE_SIZE_MAX => Err(WireError {
            offset: start,
            reason: "a line longer than any reply's",
        }),
        None => Ok(None),
    }
}

fn integer(line: &[u8]) -> Option<i64> {
    std::str::from_utf8(line).ok()?.parse().ok()
}

/// Appends `args` to `target` as a RESP request.
pub fn encode(args: &[&[u8]], target: &mut Vec<u8>) {
    target.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        target.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        target.extend_from_slice(arg);
        target.extend_from_slice(b"\r\n");
    }
}

/// A blocking connection that sends one request and reads its reply.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    input: Vec<u8>,
    bulk_size_max: u64,
}

impl Client {
    /// Wraps a connected stream (its timeouts already set).
    #[must_use]
    pub fn new(stream: TcpStream, bulk_size_max: u64) -> Self {
        Self {
            stream,
            input: Vec::new(),
            bulk_size_max,
        }
    }

    /// Sends `args` and waits for the reply.
    ///
    /// # Errors
    /// I/O errors (the stream's timeouts included), the peer closing, or a reply that is
    /// not RESP ([`io::ErrorKind::InvalidData`]).
    pub fn call(&mut self, args: &[&[u8]]) -> io::Result<Reply> {
        let mut request = Vec::new();
        encode(args, &mut request);
        self.stream.write_all(&request)?;
        let mut block = [0; 64 << 10];
        loop {
            match parse(&self.input, self.bulk_size_max) {
                Ok(Some((reply, size))) => {
                    self.input.drain(..size);
                    return Ok(reply);
                }
                Ok(None) => {}
                Err(error) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        error.to_string(),
                    ));
                }
            }
            let read = self.stream.read(&mut block)?;
            if read == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the primary closed the connection",
                ));
            }
            self.input.extend_from_slice(&block[..read]);
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

    #[test]
    fn every_reply_type_parses_and_needs_all_its_bytes() {
        let whole = b"*5\r\n+OK\r\n-ERR no\r\n:-42\r\n$3\r\na\r\n\r\n*2\r\n$-1\r\n*-1\r\n";
        let expected = Reply::Array(Some(vec![
            Reply::Simple("OK".into()),
            Reply::Error("ERR no".into()),
            Reply::Integer(-42),
            Reply::Bulk(Some(b"a\r\n".to_vec())),
            Reply::Array(Some(vec![Reply::Bulk(None), Reply::Array(None)])),
        ]));
        assert_eq!(
            parse(whole, 1 << 20).unwrap(),
            Some((expected, whole.len()))
        );
        for cut in 0..whole.len() {
            assert_eq!(parse(&whole[..cut], 1 << 20).unwrap(), None, "cut at {cut}");
        }
    }

    #[test]
    fn bad_bytes_are_errors_not_panics() {
        for bytes in [
            b"HTTP/1.1 400 Bad Request\r\n".as_slice(),
            b":12x\r\n",
            b"$-2\r\n",
            b"$3\r\nabcde\r\n",
            b"*-5\r\n",
            b"*99999\r\n",
            b"+no cr\n",
            b"$99999999999999999999\r\n",
        ] {
            assert!(parse(bytes, 1 << 20).is_err(), "{bytes:?}");
        }
        assert!(
            parse(b"$2000000\r\n", 1 << 20).is_err(),
            "over the bulk limit"
        );
        let deep = b"*1\r\n".repeat(DEPTH_MAX + 1);
        assert!(parse(&deep, 1 << 20).is_err());
        let long = vec![b'+'; LINE_SIZE_MAX + 10];
        assert!(parse(&long, 1 << 20).is_err());
    }

    #[test]
    fn any_bytes_parse_to_a_value_an_error_or_need_more() {
        // A cheap exhaustive-ish sweep: every prefix of mixed garbage, no panic.
        let garbage: Vec<u8> = (0..=255u8).cycle().take(2048).collect();
        for start in 0..256 {
            let _ = parse(&garbage[start..], 1 << 10);
        }
    }

    #[test]
    fn requests_encode_as_bulk_arrays() {
        let mut target = Vec::new();
        encode(&[b"FLOESYNC", b"PULL"], &mut target);
        assert_eq!(target, b"*2\r\n$8\r\nFLOESYNC\r\n$4\r\nPULL\r\n");
    }
}
