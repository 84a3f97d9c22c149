//! Replies: [`ReplyWriter`] writes RESP2 or RESP3 ([`Protocol`]) into any [`ReplySink`];
//! [`SliceSink`] is a sink over a fixed buffer that records overflow instead of
//! panicking.

use crate::text::{
    DOUBLE_SIZE_MAX, U64_DIGITS_MAX, format_double_17g, format_u64, is_signed_digits,
};

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

    /// `$size\r\n`, then the bytes `write` puts (exactly `size` of them, in pieces),
    /// then `\r\n`: a bulk string composed in place (DUMP's payload).
    ///
    /// # Panics
    /// If `write` puts other than `size` bytes (the frame would be invalid).
    pub fn bulk_parts(&mut self, size: usize, write: impl FnOnce(&mut dyn FnMut(&[u8]))) {
        self.header(b'$', size);
        let mut written = 0;
        let sink = &mut *self.sink;
        write(&mut |bytes: &[u8]| {
            written += bytes.len();
            sink.put(bytes);
        });
        assert_eq!(written, size, "bulk_parts wrote other than its size");
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

    /// A double: RESP2 a bulk string, RESP3 `,`. Formatted as Redis 7.0 does, `%.17g`
    /// ([`format_double_17g`]: `inf`, `-inf`, `nan`, `1.1000000000000001`).
    pub fn double(&mut self, value: f64) {
        let mut buffer = [0; DOUBLE_SIZE_MAX];
        let text = format_double_17g(value, &mut buffer);
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
        assert!(is_signed_digits(digits), "big number is not [+|-]<digits>");
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

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use crate::codec::resp::tests::check;
    use crate::codec::resp::{Frame, Limits};
    use proptest::collection::vec;
    use proptest::prelude::*;
    use std::string::String;
    use std::vec::Vec;

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

    proptest! {
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
    }
}
