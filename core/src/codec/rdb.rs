//! DUMP/RESTORE payloads in Redis's own format, so a value moves between floe and Redis
//! (7.0, RDB version 10) in either direction:
//!
//! ```text
//! +-------------+------------------------+-------------------+------------------------+
//! | type (1)    | object (RDB encoding)  | RDB version (2 LE)| CRC64 Jones (8 LE)     |
//! +-------------+------------------------+-------------------+------------------------+
//!                                          CRC64 covers every byte before it
//! ```
//!
//! Types read: 0 (string), 4 (hash: a length, then field and value strings), 16 (hash
//! as a listpack held in one string), and the collections of [`collection`]: 2 and 11
//! (sets), 1 and 18 (lists), 5 and 17 (sorted sets). Types written: 0, 4, 2 or 11, 1, 5.
//! A string is written raw (length then bytes), or in Redis's integer encoding when Redis
//! would use it (so DUMP of a short string or an integer-looking one gives Redis's bytes);
//! floe never compresses. A string is read in any of Redis's encodings: raw, int8/16/32,
//! and LZF-compressed.
//!
//! Everything here is total and allocates nothing: [`Object::decode`] checks the whole
//! payload (footer, checksum, every length, every LZF block, every listpack entry) and
//! measures the value floe will store; [`Object::compose`] then writes that value straight
//! into its target (the store's segment memory). LZF blocks are read through a streaming
//! decompressor with an 8 KiB window on the stack ([`LzfReader`]), so a compressed
//! listpack is never expanded anywhere but into the hash it becomes.
//!
//! Not checked (as Redis without `sanitize-dump-payload`): repeated fields in a hash.
//! Checked for sets and sorted sets (floe's encodings promise distinct members): see
//! [`collection`].

mod collection;

use collection::Text;

use crate::storage::item::{varint_size, varint_write};
use crate::store::TYPE_HASH;
use crate::store::list::ListRead;
use crate::text::{I64_TEXT_SIZE_MAX, format_i64, parse_double_or_infinity};

/// RDB object type of a string.
pub const TYPE_STRING: u8 = 0;
/// RDB object type of a hash as field/value strings (`RDB_TYPE_HASH`).
pub const TYPE_HASH_PAIRS: u8 = 4;
/// RDB object type of a hash in a listpack (`RDB_TYPE_HASH_LISTPACK`).
pub const TYPE_HASH_LISTPACK: u8 = 16;
/// RDB object type of a list as a count and its element strings (`RDB_TYPE_LIST`).
pub const TYPE_LIST_STRINGS: u8 = 1;
/// RDB object type of a list as quicklist nodes (`RDB_TYPE_LIST_QUICKLIST_2`).
pub const TYPE_LIST_QUICKLIST: u8 = 18;
/// RDB object type of a set as a count and its member strings (`RDB_TYPE_SET`).
pub const TYPE_SET_STRINGS: u8 = 2;
/// RDB object type of a set of integers in an intset (`RDB_TYPE_SET_INTSET`).
pub const TYPE_SET_INTSET: u8 = 11;
/// RDB object type of a sorted set as member strings and binary scores
/// (`RDB_TYPE_ZSET_2`).
pub const TYPE_ZSET_PAIRS: u8 = 5;
/// RDB object type of a sorted set in a listpack (`RDB_TYPE_ZSET_LISTPACK`).
pub const TYPE_ZSET_LISTPACK: u8 = 17;
/// The RDB version floe writes and the newest it reads (Redis 7.0's `RDB_VERSION`).
pub const RDB_VERSION: u16 = 10;
/// Bytes after the object: the RDB version (2) and the CRC64 (8).
pub const FOOTER_SIZE: usize = 10;
/// LZF's largest back-reference distance, and the streaming window's size.
const LZF_WINDOW_SIZE: usize = 8192;

/// Why RESTORE refuses a payload, in Redis's two words for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PayloadError {
    /// Too short, a newer RDB version, or a checksum that does not match
    /// (`DUMP payload version or checksum are wrong`).
    VersionOrChecksum,
    /// The checksum holds but the object does not parse, or is of a type floe cannot
    /// store (`Bad data format`).
    BadData,
}

impl PayloadError {
    /// The error reply, as Redis words it.
    #[must_use]
    pub const fn message(self) -> &'static str {
        match self {
            Self::VersionOrChecksum => "ERR DUMP payload version or checksum are wrong",
            Self::BadData => "ERR Bad data format",
        }
    }
}

/// What a payload holds, checked and measured by [`Object::decode`].
#[derive(Debug, Clone, Copy)]
pub struct Object<'p> {
    shape: Shape<'p>,
    /// Bytes of the value floe stores (a string's bytes, or a compact collection).
    value_size: usize,
}

#[derive(Debug, Clone, Copy)]
enum Shape<'p> {
    String(RdbString<'p>),
    /// `count` pairs of strings, encoded back to back in `body`.
    HashPairs {
        count: usize,
        body: &'p [u8],
    },
    /// A listpack, in a string.
    HashListpack(RdbString<'p>),
    /// A set, a list or a sorted set ([`collection`]).
    Collection(collection::Shape<'p>),
}

impl<'p> Object<'p> {
    /// Checks `payload` whole and measures the value it holds.
    ///
    /// # Errors
    /// [`PayloadError::VersionOrChecksum`] for a bad footer, [`PayloadError::BadData`]
    /// for an object that does not parse or a type floe does not store.
    pub fn decode(payload: &'p [u8]) -> Result<Self, PayloadError> {
        let body_size = payload
            .len()
            .checked_sub(FOOTER_SIZE)
            .ok_or(PayloadError::VersionOrChecksum)?;
        let (body, footer) = payload.split_at(body_size);
        let version = u16::from(footer[0]) | (u16::from(footer[1]) << 8);
        let mut crc = [0u8; 8];
        crc.copy_from_slice(&footer[2..]);
        let checked = payload.get(..payload.len() - 8).unwrap_or_default();
        if version > RDB_VERSION || crc64(0, checked) != u64::from_le_bytes(crc) {
            return Err(PayloadError::VersionOrChecksum);
        }
        let (&kind, mut rest) = body.split_first().ok_or(PayloadError::BadData)?;
        let shape = match kind {
            TYPE_STRING => Shape::String(RdbString::read(&mut rest)?),
            TYPE_HASH_PAIRS => {
                let count = read_length(&mut rest)?;
                let body = rest;
                for _ in 0..count.checked_mul(2).ok_or(PayloadError::BadData)? {
                    RdbString::read(&mut rest)?;
                }
                if count == 0 {
                    return Err(PayloadError::BadData);
                }
                Shape::HashPairs {
                    count,
                    body: body.get(..body.len() - rest.len()).unwrap_or_default(),
                }
            }
            TYPE_HASH_LISTPACK => Shape::HashListpack(RdbString::read(&mut rest)?),
            _ => Shape::Collection(collection::Shape::read(kind, &mut rest)?),
        };
        let mut object = Self {
            shape,
            value_size: 0,
        };
        let mut sizing = Compose::sizing();
        object.compose_into(&mut sizing)?;
        object.value_size = sizing.size;
        assert!(object.value_size > 0 || matches!(shape, Shape::String(_)));
        Ok(object)
    }

    /// Whether the value is a string (else a compact collection).
    #[must_use]
    pub const fn is_string(&self) -> bool {
        matches!(self.shape, Shape::String(_))
    }

    /// Bytes of the value floe stores.
    #[must_use]
    pub const fn value_size(&self) -> usize {
        self.value_size
    }

    /// Writes the value into `target`.
    ///
    /// # Panics
    /// If `target` is not [`Object::value_size`] bytes (decode checked everything else).
    pub fn compose(&self, target: &mut [u8]) {
        assert_eq!(target.len(), self.value_size, "target size");
        let mut writing = Compose {
            target: Some(target),
            size: 0,
        };
        let composed = self.compose_into(&mut writing);
        assert!(composed.is_ok(), "decode checked the payload");
        assert_eq!(writing.size, self.value_size);
    }

    fn compose_into(&self, out: &mut Compose<'_>) -> Result<(), PayloadError> {
        match self.shape {
            Shape::String(string) => string.copy_to(out),
            Shape::HashPairs { count, mut body } => {
                out.push(&[TYPE_HASH]);
                for _ in 0..count * 2 {
                    let string = RdbString::read(&mut body)?;
                    out.push_varint(string.size());
                    string.copy_to(out)?;
                }
                Ok(())
            }
            Shape::HashListpack(string) => compose_listpack(string, out),
            Shape::Collection(shape) => shape.compose(out),
        }
    }
}

/// The size of the payload [`encode`] writes for `value`.
#[must_use]
pub fn encoded_size(value: Value<'_>) -> usize {
    let mut size = 0;
    encode_body(value, &mut |bytes| size += bytes.len());
    size + FOOTER_SIZE
}

/// Writes the DUMP payload of `value` to `put`, in pieces ([`encoded_size`] bytes in all).
pub fn encode(value: Value<'_>, put: &mut dyn FnMut(&[u8])) {
    let mut crc = 0;
    encode_body(value, &mut |bytes| {
        crc = crc64(crc, bytes);
        put(bytes);
    });
    let version = RDB_VERSION.to_le_bytes();
    crc = crc64(crc, &version);
    put(&version);
    put(&crc.to_le_bytes());
}

/// A value to DUMP.
#[derive(Debug, Clone, Copy)]
pub enum Value<'v> {
    /// A string's bytes.
    String(&'v [u8]),
    /// A hash, compact or large.
    Hash(crate::store::hash::HashRead<'v>),
    /// A set, compact or large.
    Set(crate::store::set::SetRead<'v>),
    /// A list, compact or large.
    List(ListRead<'v>),
    /// A sorted set, compact or large.
    SortedSet(crate::store::zset::ZsetRead<'v>),
}

fn encode_body(value: Value<'_>, put: &mut dyn FnMut(&[u8])) {
    match value {
        Value::String(bytes) => {
            put(&[TYPE_STRING]);
            encode_string(bytes, put);
        }
        Value::Hash(view) => {
            put(&[TYPE_HASH_PAIRS]);
            encode_length(view.len(), put);
            for entry in view.entries() {
                encode_string(entry.field, put);
                encode_string(entry.value, put);
            }
        }
        Value::Set(view) => collection::encode_set(view, put),
        Value::List(view) => {
            put(&[TYPE_LIST_STRINGS]);
            encode_length(view.len(), put);
            for element in view.iter() {
                encode_string(element, put);
            }
        }
        Value::SortedSet(view) => {
            put(&[TYPE_ZSET_PAIRS]);
            encode_length(view.len(), put);
            for entry in view.entries() {
                encode_string(entry.member, put);
                put(&entry.score.to_le_bytes());
            }
        }
    }
}

/// A string as Redis's `rdbSaveRawString` writes it without compression: an integer
/// encoding when the bytes are the canonical text of an `i32`, else length and bytes.
fn encode_string(bytes: &[u8], put: &mut dyn FnMut(&[u8])) {
    if bytes.len() <= 11
        && let Some(value) = canonical_integer(bytes)
    {
        if let Ok(value) = i8::try_from(value) {
            put(&[0xc0]);
            put(&value.to_le_bytes());
            return;
        }
        if let Ok(value) = i16::try_from(value) {
            put(&[0xc1]);
            put(&value.to_le_bytes());
            return;
        }
        if let Ok(value) = i32::try_from(value) {
            put(&[0xc2]);
            put(&value.to_le_bytes());
            return;
        }
    }
    encode_length(bytes.len(), put);
    put(bytes);
}

/// `bytes` as an integer, if they are exactly its decimal text (no sign on zero, no
/// leading zeros): Redis's `string2ll` then `ll2string` round trip.
fn canonical_integer(bytes: &[u8]) -> Option<i64> {
    let value = crate::text::parse_integer_strict(bytes)?;
    let mut buffer = [0u8; I64_TEXT_SIZE_MAX];
    (format_i64(value, &mut buffer) == bytes).then_some(value)
}

/// Redis's length encoding: 6 bits, 14 bits (big-endian), or `0x80` and 32 bits
/// (big-endian), or `0x81` and 64 bits.
fn encode_length(length: usize, put: &mut dyn FnMut(&[u8])) {
    let length = length as u64;
    // NOTE: each cast keeps the bits the branch's bound allows.
    #[expect(clippy::cast_possible_truncation, reason = "bounded by each branch")]
    if length < 1 << 6 {
        put(&[length as u8]);
    } else if length < 1 << 14 {
        put(&[0x40 | (length >> 8) as u8, length as u8]);
    } else if length <= u64::from(u32::MAX) {
        put(&[0x80]);
        put(&[
            (length >> 24) as u8,
            (length >> 16) as u8,
            (length >> 8) as u8,
            length as u8,
        ]);
    } else {
        put(&[0x81]);
        for shift in (0..8).rev() {
            put(&[(length >> (shift * 8)) as u8]);
        }
    }
}

/// One length-encoded value: a length, or (`Err` side of the pair) a special encoding.
enum Length {
    Plain(usize),
    Special(u8),
}

fn take<'p>(bytes: &mut &'p [u8], count: usize) -> Result<&'p [u8], PayloadError> {
    if bytes.len() < count {
        return Err(PayloadError::BadData);
    }
    let (taken, rest) = bytes.split_at(count);
    *bytes = rest;
    Ok(taken)
}

fn read_length_or_special(bytes: &mut &[u8]) -> Result<Length, PayloadError> {
    let first = take(bytes, 1)?[0];
    let value: u64 = match first >> 6 {
        0 => u64::from(first & 0x3f),
        1 => (u64::from(first & 0x3f) << 8) | u64::from(take(bytes, 1)?[0]),
        3 => return Ok(Length::Special(first & 0x3f)),
        _ => {
            let size = match first {
                0x80 => 4,
                0x81 => 8,
                _ => return Err(PayloadError::BadData),
            };
            take(bytes, size)?
                .iter()
                .fold(0, |value, &byte| (value << 8) | u64::from(byte))
        }
    };
    usize::try_from(value)
        .map(Length::Plain)
        .map_err(|_| PayloadError::BadData)
}

fn read_length(bytes: &mut &[u8]) -> Result<usize, PayloadError> {
    match read_length_or_special(bytes)? {
        Length::Plain(length) => Ok(length),
        Length::Special(_) => Err(PayloadError::BadData),
    }
}

/// A string of a payload, in whichever encoding Redis wrote it.
#[derive(Debug, Clone, Copy)]
enum RdbString<'p> {
    Raw(&'p [u8]),
    Integer(i64),
    /// LZF-compressed: the compressed bytes and the size they expand to.
    Lzf {
        compressed: &'p [u8],
        size: usize,
    },
}

impl<'p> RdbString<'p> {
    /// Reads one string at the front of `bytes`; an LZF block is checked whole.
    fn read(bytes: &mut &'p [u8]) -> Result<Self, PayloadError> {
        match read_length_or_special(bytes)? {
            Length::Plain(size) => Ok(Self::Raw(take(bytes, size)?)),
            Length::Special(0) => Ok(Self::Integer(i64::from(i8::from_le_bytes([take(
                bytes, 1,
            )?[0]])))),
            Length::Special(1) => {
                let raw = take(bytes, 2)?;
                Ok(Self::Integer(i64::from(i16::from_le_bytes([
                    raw[0], raw[1],
                ]))))
            }
            Length::Special(2) => {
                let raw = take(bytes, 4)?;
                Ok(Self::Integer(i64::from(i32::from_le_bytes([
                    raw[0], raw[1], raw[2], raw[3],
                ]))))
            }
            Length::Special(3) => {
                let compressed_size = read_length(bytes)?;
                let size = read_length(bytes)?;
                let compressed = take(bytes, compressed_size)?;
                let string = Self::Lzf { compressed, size };
                let mut reader = LzfReader::new(compressed, size);
                for _ in 0..size {
                    reader.byte()?;
                }
                reader.finish()?;
                Ok(string)
            }
            Length::Special(_) => Err(PayloadError::BadData),
        }
    }

    /// Bytes of the string as text.
    fn size(&self) -> usize {
        match self {
            Self::Raw(bytes) => bytes.len(),
            Self::Integer(value) => format_i64(*value, &mut [0; I64_TEXT_SIZE_MAX]).len(),
            Self::Lzf { size, .. } => *size,
        }
    }

    fn copy_to(&self, out: &mut Compose<'_>) -> Result<(), PayloadError> {
        match *self {
            Self::Raw(bytes) => out.push(bytes),
            Self::Integer(value) => out.push(format_i64(value, &mut [0; I64_TEXT_SIZE_MAX])),
            Self::Lzf { compressed, size } => {
                let mut reader = LzfReader::new(compressed, size);
                for _ in 0..size {
                    out.push(&[reader.byte()?]);
                }
            }
        }
        Ok(())
    }

    /// The string as an element's text.
    fn text(self) -> Text<'p> {
        match self {
            Self::Raw(bytes) => Text::Bytes(bytes),
            Self::Integer(value) => Text::Integer(value),
            Self::Lzf { compressed, size } => Text::Stream {
                compressed,
                total: size,
                offset: 0,
                size,
            },
        }
    }

    fn reader(&self) -> ByteReader<'p> {
        match *self {
            Self::Raw(bytes) => ByteReader::Raw(bytes),
            Self::Integer(_) => ByteReader::Raw(&[]),
            Self::Lzf { compressed, size } => ByteReader::Lzf(LzfReader::new(compressed, size)),
        }
    }
}

/// The bytes of a string, read front to back (a listpack inside it).
#[derive(Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "one reader on the stack per listpack; boxing the window needs an allocator"
)]
enum ByteReader<'p> {
    Raw(&'p [u8]),
    Lzf(LzfReader<'p>),
}

impl ByteReader<'_> {
    fn byte(&mut self) -> Result<u8, PayloadError> {
        match self {
            Self::Raw(bytes) => Ok(take(bytes, 1)?[0]),
            Self::Lzf(reader) => reader.byte(),
        }
    }

    fn skip(&mut self, count: usize) -> Result<(), PayloadError> {
        for _ in 0..count {
            self.byte()?;
        }
        Ok(())
    }

    /// A little-endian integer of `size` bytes (at most 8).
    fn integer_le(&mut self, size: u32) -> Result<u64, PayloadError> {
        let mut value = 0u64;
        for index in 0..size {
            value |= u64::from(self.byte()?) << (8 * index);
        }
        Ok(value)
    }

    fn is_done(&self) -> bool {
        match self {
            Self::Raw(bytes) => bytes.is_empty(),
            Self::Lzf(reader) => reader.finish().is_ok(),
        }
    }
}

/// A streaming LZF decompressor (the format of liblzf's `lzf_decompress`, which Redis
/// uses): control bytes below 32 start a run of literals, others a back-reference of
/// 3..=264 bytes at most [`LZF_WINDOW_SIZE`] back. Total: any input gives bytes or
/// [`PayloadError::BadData`], never more than `size` bytes.
#[derive(Clone)]
struct LzfReader<'p> {
    input: &'p [u8],
    window: [u8; LZF_WINDOW_SIZE],
    produced: usize,
    size: usize,
    literal_left: usize,
    copy_left: usize,
    distance: usize,
}

impl<'p> LzfReader<'p> {
    fn new(input: &'p [u8], size: usize) -> Self {
        Self {
            input,
            window: [0; LZF_WINDOW_SIZE],
            produced: 0,
            size,
            literal_left: 0,
            copy_left: 0,
            distance: 0,
        }
    }

    fn byte(&mut self) -> Result<u8, PayloadError> {
        if self.produced >= self.size {
            return Err(PayloadError::BadData);
        }
        // Bounded: one control byte is read at most per pass, and each control byte starts
        // a run of at least one byte.
        for _ in 0..2 {
            let byte = if self.literal_left > 0 {
                self.literal_left -= 1;
                take(&mut self.input, 1)?[0]
            } else if self.copy_left > 0 {
                self.copy_left -= 1;
                self.window[(self.produced - self.distance) % LZF_WINDOW_SIZE]
            } else {
                self.control()?;
                continue;
            };
            self.window[self.produced % LZF_WINDOW_SIZE] = byte;
            self.produced += 1;
            return Ok(byte);
        }
        unreachable!("a control byte always starts a run")
    }

    fn control(&mut self) -> Result<(), PayloadError> {
        let control = usize::from(take(&mut self.input, 1)?[0]);
        if control < 32 {
            self.literal_left = control + 1;
            return Ok(());
        }
        let mut length = control >> 5;
        if length == 7 {
            length += usize::from(take(&mut self.input, 1)?[0]);
        }
        let distance = ((control & 0x1f) << 8) + usize::from(take(&mut self.input, 1)?[0]) + 1;
        if distance > self.produced {
            return Err(PayloadError::BadData);
        }
        self.copy_left = length + 2;
        self.distance = distance;
        Ok(())
    }

    /// Whether the input ended exactly at `size` bytes.
    fn finish(&self) -> Result<(), PayloadError> {
        let done = self.produced == self.size
            && self.input.is_empty()
            && self.literal_left == 0
            && self.copy_left == 0;
        if done {
            Ok(())
        } else {
            Err(PayloadError::BadData)
        }
    }
}

/// Writes a listpack's entries as a compact hash: fields and values alternate, there is
/// at least one pair, and the listpack ends exactly at its terminator.
fn compose_listpack(string: RdbString<'_>, out: &mut Compose<'_>) -> Result<(), PayloadError> {
    let mut listpack = Listpack::new(string)?;
    out.push(&[TYPE_HASH]);
    let mut entry_count = 0usize;
    while listpack.next_copy(out)? {
        entry_count += 1;
    }
    if entry_count == 0 || !entry_count.is_multiple_of(2) {
        return Err(PayloadError::BadData);
    }
    Ok(())
}

/// The entries of a listpack held in a payload string, front to back. Checks as it goes:
/// the header's total size, every entry's encoding, the terminator at the very end, and
/// the header's entry count (unless 65535: "too many to count").
#[derive(Clone)]
struct Listpack<'p> {
    string: RdbString<'p>,
    reader: ByteReader<'p>,
    total_size: u64,
    count: u64,
    entry_count: u64,
}

/// What a listpack entry holds after its header.
enum Head {
    Integer(i64),
    /// This many bytes, next in the reader.
    Bytes(usize),
}

impl<'p> Listpack<'p> {
    fn new(string: RdbString<'p>) -> Result<Self, PayloadError> {
        let mut reader = string.reader();
        let total_size = reader.integer_le(4)?;
        let count = reader.integer_le(2)?;
        if u64::try_from(string.size()).ok() != Some(total_size) || string.size() < 7 {
            return Err(PayloadError::BadData);
        }
        Ok(Self {
            string,
            reader,
            total_size,
            count,
            entry_count: 0,
        })
    }

    /// The next entry's header and the size its backlen counts, or `None` at the
    /// terminator.
    fn head(&mut self) -> Result<Option<(Head, usize)>, PayloadError> {
        // Bounded: each entry reads at least one byte of a listpack of `total_size` bytes.
        if self.entry_count > self.total_size {
            return Err(PayloadError::BadData);
        }
        let first = self.reader.byte()?;
        if first == 0xff {
            let counted = self.count == u64::from(u16::MAX) || self.count == self.entry_count;
            if !counted || !self.reader.is_done() {
                return Err(PayloadError::BadData);
            }
            return Ok(None);
        }
        listpack_entry_head(first, &mut self.reader).map(Some)
    }

    /// Ends an entry whose data was read: skips its backlen.
    fn finish(&mut self, encoded_size: usize) -> Result<(), PayloadError> {
        self.reader.skip(backlen_size(encoded_size))?;
        self.entry_count += 1;
        Ok(())
    }

    /// The next entry (an integer as its decimal text), or `None` at the terminator. An
    /// entry inside a compressed string is a [`Text::Stream`]: reading it again costs
    /// the decompression of everything before it.
    fn next(&mut self) -> Result<Option<Text<'p>>, PayloadError> {
        let Some((head, encoded_size)) = self.head()? else {
            return Ok(None);
        };
        let text = match (head, &mut self.reader, self.string) {
            (Head::Integer(value), ..) => Text::Integer(value),
            (Head::Bytes(size), ByteReader::Raw(bytes), _) => Text::Bytes(take(bytes, size)?),
            (
                Head::Bytes(size),
                ByteReader::Lzf(reader),
                RdbString::Lzf {
                    compressed,
                    size: total,
                },
            ) => {
                let offset = reader.produced;
                for _ in 0..size {
                    reader.byte()?;
                }
                Text::Stream {
                    compressed,
                    total,
                    offset,
                    size,
                }
            }
            (Head::Bytes(_), ..) => return Err(PayloadError::BadData),
        };
        self.finish(encoded_size)?;
        Ok(Some(text))
    }

    /// Copies the next entry to `out` as floe's encodings hold an element (varint size,
    /// then bytes), streaming; `false` at the terminator.
    fn next_copy(&mut self, out: &mut Compose<'_>) -> Result<bool, PayloadError> {
        let Some((head, encoded_size)) = self.head()? else {
            return Ok(false);
        };
        match head {
            Head::Integer(value) => Text::Integer(value).copy_to(out),
            Head::Bytes(size) => {
                out.push_varint(size);
                for _ in 0..size {
                    out.push(&[self.reader.byte()?]);
                }
            }
        }
        self.finish(encoded_size)?;
        Ok(true)
    }

    /// The next entry as a sorted set score (an integer, or a float's text, infinities
    /// included), or `None` at the terminator.
    fn next_score(&mut self) -> Result<Option<f64>, PayloadError> {
        let Some((head, encoded_size)) = self.head()? else {
            return Ok(None);
        };
        // NOTE: a listpack holds a score as an integer only when Redis's text of it is
        // one (at most 17 significant digits), so the conversion is exact.
        #[expect(clippy::cast_precision_loss, reason = "see the note")]
        let score = match head {
            Head::Integer(value) => value as f64,
            Head::Bytes(size) => {
                let mut text = [0u8; SCORE_TEXT_SIZE_MAX];
                let text = text.get_mut(..size).ok_or(PayloadError::BadData)?;
                for slot in text.iter_mut() {
                    *slot = self.reader.byte()?;
                }
                parse_double_or_infinity(text).ok_or(PayloadError::BadData)?
            }
        };
        self.finish(encoded_size)?;
        Ok(Some(score))
    }
}

/// Longest listpack score text read (Redis writes at most 24 bytes, `%.17g`).
const SCORE_TEXT_SIZE_MAX: usize = 128;

/// One listpack entry's header after its first byte: what it holds, and the size of its
/// encoding and data (what its backlen counts).
fn listpack_entry_head(
    first: u8,
    reader: &mut ByteReader<'_>,
) -> Result<(Head, usize), PayloadError> {
    let (header_size, string_size): (usize, usize) = match first {
        0x00..=0x7f => return Ok((Head::Integer(i64::from(first)), 1)),
        0x80..=0xbf => (1, usize::from(first & 0x3f)),
        0xc0..=0xdf => {
            let raw = (u16::from(first & 0x1f) << 8) | u16::from(reader.byte()?);
            // Sign-extend 13 bits.
            let value = i64::from((raw << 3).cast_signed() >> 3);
            return Ok((Head::Integer(value), 2));
        }
        0xe0..=0xef => (
            2,
            (usize::from(first & 0x0f) << 8) | usize::from(reader.byte()?),
        ),
        0xf0 => (
            5,
            usize::try_from(reader.integer_le(4)?).map_err(|_| PayloadError::BadData)?,
        ),
        0xf1..=0xf4 => {
            let size: u32 = match first {
                0xf1 => 2,
                0xf2 => 3,
                0xf3 => 4,
                _ => 8,
            };
            let raw = reader.integer_le(size)?;
            let shift = 64 - 8 * size;
            let value = (raw << shift).cast_signed() >> shift;
            return Ok((Head::Integer(value), 1 + size as usize));
        }
        _ => return Err(PayloadError::BadData),
    };
    let encoded_size = header_size
        .checked_add(string_size)
        .ok_or(PayloadError::BadData)?;
    Ok((Head::Bytes(string_size), encoded_size))
}

/// Bytes of a listpack backlen for an entry of `size` bytes.
fn backlen_size(size: usize) -> usize {
    match size {
        0..128 => 1,
        128..16384 => 2,
        16384..2_097_152 => 3,
        2_097_152..268_435_456 => 4,
        _ => 5,
    }
}

/// The value being composed, or only measured (`target` is `None`).
struct Compose<'t> {
    target: Option<&'t mut [u8]>,
    size: usize,
}

impl Compose<'_> {
    const fn sizing() -> Self {
        Self {
            target: None,
            size: 0,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        if let Some(target) = &mut self.target {
            target[self.size..self.size + bytes.len()].copy_from_slice(bytes);
        }
        self.size += bytes.len();
    }

    /// A composer writing at `offset` bytes past this one's current end (nothing when
    /// measuring); this one does not advance.
    fn at(&mut self, offset: usize) -> Compose<'_> {
        let start = self.size + offset;
        Compose {
            target: self
                .target
                .as_deref_mut()
                .map(|target| &mut target[start..]),
            size: 0,
        }
    }

    /// Advances past `size` bytes written through [`Compose::at`].
    fn skip(&mut self, size: usize) {
        self.size += size;
    }

    fn push_varint(&mut self, value: usize) {
        let mut buffer = [0u8; 5];
        let size = varint_write(&mut buffer, value);
        debug_assert_eq!(size, varint_size(value));
        self.push(&buffer[..size]);
    }
}

/// Redis's CRC64 (Jones polynomial, reflected, no final xor) of `bytes`, continuing
/// from `crc` (0 to start).
#[must_use]
pub fn crc64(mut crc: u64, bytes: &[u8]) -> u64 {
    for &byte in bytes {
        crc = CRC64_TABLE[((crc ^ u64::from(byte)) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

/// The reflected Jones polynomial.
const CRC64_POLYNOMIAL: u64 = 0x95ac_9329_ac4b_c9b5;

static CRC64_TABLE: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut index = 0;
    while index < 256 {
        let mut crc = index as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ CRC64_POLYNOMIAL
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[index] = crc;
        index += 1;
    }
    table
};

#[cfg(test)]
mod tests;
