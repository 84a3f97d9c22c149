//! Printing a RESP reply the way redis-cli prints it on a terminal, so `floe` answers as
//! Poro's and Redis's users expect: `OK`, `"value"`, `(nil)`, `(integer) 1`,
//! `(error) ERR ...`, and numbered, indented arrays.
//!
//! The rules (redis-cli's "standard" output):
//! - Status replies print as they are; errors as `(error) <message>`; integers as
//!   `(integer) <n>`; every kind of null as `(nil)`; booleans as `(true)`/`(false)`;
//!   doubles as `(double) <n>`; big numbers as `(big number) <digits>`; verbatim strings as
//!   their text.
//! - Bulk strings print quoted, with `\" \\ \n \r \t \a \b` escaped and every other byte
//!   outside ASCII's printable range as `\xHH` (lowercase hex): `"a\x00b"`.
//! - Aggregates number their elements from 1, right-aligned to the widest index, with
//!   `)` for arrays and pushes, `~` for sets and `#` for maps (a map prints `key => value`).
//!   A nested aggregate starts on its parent's line; its later lines are indented by the
//!   parent's prefix plus the index width and two blanks. Empty ones print
//!   `(empty array)`, `(empty hash)`, `(empty set)` or `(empty push)`.
//! - An attribute (RESP3 metadata) is skipped; the element it describes is printed.
//!
//! Every reply ends with a newline. Invariants: the input is checked with
//! [`Frame::check`] first, so the walk below only meets well-formed frames, nested at most
//! [`Limits::depth_max`] deep (the recursion is bounded by it).

use floe_core::codec::resp::{DOUBLE_SIZE_MAX, Frame, Limits, RespError, format_double};

/// The limits for replies the store itself wrote: as many elements as a reply may have
/// (KEYS over every key), not a request's limit. The default request limit cut `KEYS *`
/// at 1,048,577 keys (issue 8).
const REPLY_LIMITS: Limits = Limits {
    array_count_max: usize::MAX / 4,
    ..Limits::DEFAULT
};

/// Appends the reply at the start of `input` to `out`, formatted as redis-cli does; returns
/// the size of the frame in bytes.
///
/// # Errors
/// The [`RespError`] of [`Frame::check`] if `input` does not start with one complete frame
/// (nothing is appended then).
pub fn format_reply(input: &[u8], out: &mut Vec<u8>) -> Result<usize, RespError> {
    let limits = REPLY_LIMITS;
    let size = Frame::check(input, &limits)?;
    let end = format_element(input, 0, b"", out, &limits)?;
    assert!(end == size, "end={end} size={size}");
    Ok(size)
}

/// Prints a bulk string the way `INFO` is printed by redis-cli: its bytes as they are, then
/// a newline. Anything else is formatted as usual.
///
/// # Errors
/// As [`format_reply`].
pub fn format_reply_raw(input: &[u8], out: &mut Vec<u8>) -> Result<usize, RespError> {
    let limits = REPLY_LIMITS;
    let size = Frame::check(input, &limits)?;
    match Frame::parse_head(input, &limits)? {
        (Frame::Bulk(text) | Frame::Verbatim { text, .. }, _) => {
            out.extend_from_slice(text);
            out.push(b'\n');
            Ok(size)
        }
        _ => format_reply(input, out),
    }
}

/// Formats the element at `position`, whose later lines start with `prefix`; returns the
/// position after it.
fn format_element(
    input: &[u8],
    position: usize,
    prefix: &[u8],
    out: &mut Vec<u8>,
    limits: &Limits,
) -> Result<usize, RespError> {
    let (frame, size) = Frame::parse_head(input.get(position..).unwrap_or_default(), limits)?;
    let next = position + size;
    match frame {
        Frame::Simple(text) => line(out, b"", text),
        Frame::Error(text) | Frame::BulkError(text) => line(out, b"(error) ", text),
        Frame::Integer(value) => line(out, b"(integer) ", value.to_string().as_bytes()),
        Frame::Bulk(bytes) => {
            quote(bytes, out);
            out.push(b'\n');
        }
        Frame::NullBulk | Frame::NullArray | Frame::Null => out.extend_from_slice(b"(nil)\n"),
        Frame::Boolean(value) => {
            out.extend_from_slice(if value { b"(true)\n" } else { b"(false)\n" });
        }
        Frame::Double(value) => {
            let mut buffer = [0; DOUBLE_SIZE_MAX];
            line(out, b"(double) ", format_double(value, &mut buffer));
        }
        Frame::BigNumber(digits) => line(out, b"(big number) ", digits),
        Frame::Verbatim { text, .. } => line(out, b"", text),
        Frame::Array(count) => {
            return format_aggregate(input, next, count, Aggregate::Array, prefix, out);
        }
        Frame::Push(count) => {
            return format_aggregate(input, next, count, Aggregate::Push, prefix, out);
        }
        Frame::Set(count) => {
            return format_aggregate(input, next, count, Aggregate::Set, prefix, out);
        }
        Frame::Map(count) => return format_map(input, next, count, prefix, out),
        Frame::Attribute(count) => {
            let mut skipped = next;
            for _ in 0..count.saturating_mul(2) {
                skipped += Frame::check(input.get(skipped..).unwrap_or_default(), limits)?;
            }
            return format_element(input, skipped, prefix, out, limits);
        }
        // `Frame` is non-exhaustive: a kind added later prints as an error, not a panic.
        _ => line(out, b"(error) ", b"reply of a kind this floe cannot print"),
    }
    Ok(next)
}

/// The aggregates printed as numbered lists.
#[derive(Clone, Copy)]
enum Aggregate {
    Array,
    Set,
    Push,
}

/// An array, set or push of `count` elements starting at `position`.
fn format_aggregate(
    input: &[u8],
    position: usize,
    count: usize,
    kind: Aggregate,
    prefix: &[u8],
    out: &mut Vec<u8>,
) -> Result<usize, RespError> {
    let (separator, empty) = match kind {
        Aggregate::Array => (b')', b"(empty array)\n".as_slice()),
        Aggregate::Set => (b'~', b"(empty set)\n".as_slice()),
        Aggregate::Push => (b')', b"(empty push)\n".as_slice()),
    };
    if count == 0 {
        out.extend_from_slice(empty);
        return Ok(position);
    }
    let width = digit_count(count);
    let child_prefix = indented(prefix, width);
    let mut next = position;
    for index in 1..=count {
        index_label(out, prefix, index, width, separator);
        next = format_element(input, next, &child_prefix, out, &Limits::DEFAULT)?;
    }
    Ok(next)
}

/// A map of `count` pairs: `1# key => value`.
fn format_map(
    input: &[u8],
    position: usize,
    count: usize,
    prefix: &[u8],
    out: &mut Vec<u8>,
) -> Result<usize, RespError> {
    if count == 0 {
        out.extend_from_slice(b"(empty hash)\n");
        return Ok(position);
    }
    let width = digit_count(count);
    let child_prefix = indented(prefix, width);
    let mut next = position;
    for index in 1..=count {
        index_label(out, prefix, index, width, b'#');
        next = format_element(input, next, &child_prefix, out, &Limits::DEFAULT)?;
        // The key's newline makes room for ` => value`.
        if out.last() == Some(&b'\n') {
            out.pop();
        }
        out.extend_from_slice(b" => ");
        next = format_element(input, next, &child_prefix, out, &Limits::DEFAULT)?;
    }
    Ok(next)
}

/// `<prefix><index right-aligned to width><separator> `; the first element of a nested
/// aggregate has no prefix, as it continues its parent's line.
fn index_label(out: &mut Vec<u8>, prefix: &[u8], index: usize, width: usize, separator: u8) {
    if index > 1 {
        out.extend_from_slice(prefix);
    }
    let digits = index.to_string();
    out.extend(std::iter::repeat_n(
        b' ',
        width.saturating_sub(digits.len()),
    ));
    out.extend_from_slice(digits.as_bytes());
    out.push(separator);
    out.push(b' ');
}

/// The prefix of a nested aggregate's later lines: the parent's, then the index width and
/// two blanks (the separator and the blank after it).
fn indented(prefix: &[u8], width: usize) -> Vec<u8> {
    let mut child = prefix.to_vec();
    child.extend(std::iter::repeat_n(b' ', width + 2));
    child
}

fn digit_count(count: usize) -> usize {
    count.checked_ilog10().map_or(1, |log| log as usize + 1)
}

fn line(out: &mut Vec<u8>, label: &[u8], text: &[u8]) {
    out.extend_from_slice(label);
    out.extend_from_slice(text);
    out.push(b'\n');
}

/// `bytes` in double quotes with redis-cli's escapes.
pub fn quote(bytes: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &byte in bytes {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(byte),
            _ => out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0x0f)],
            ]),
        }
    }
    out.push(b'"');
}
