//! Sets, lists and sorted sets in DUMP/RESTORE payloads, read into floe's compact
//! encodings (`crate::store::{set, list, zset}`) and written from them.
//!
//! Read (what Redis 7.0 writes, and what floe writes):
//!
//! | type | what | floe's value |
//! |---|---|---|
//! | 2 `SET` | count, member strings | `'s'` members; numeric order if an intset (below) |
//! | 11 `SET_INTSET` | a string: width (2, 4, 8), count, little-endian integers, ascending | `'s'` members |
//! | 1 `LIST` | count, element strings | `'l'` elements |
//! | 18 `LIST_QUICKLIST_2` | count of nodes; per node a container (1 plain: one element; 2 packed: a listpack) and a string | `'l'` elements |
//! | 5 `ZSET_2` | count, member string and 8-byte little-endian double each | `'z'` entries by `(score, member)` |
//! | 17 `ZSET_LISTPACK` | a listpack of member, score, member, score, ... | `'z'` entries |
//!
//! Written: a set as 11 when floe keeps it as an intset (all canonical integers, at most
//! 512: Redis's bytes for the same set), else 2; a list as 1 (which 7.0 still loads); a
//! sorted set as 5, lowest score first (Redis writes highest first; it loads either).
//!
//! Checked before anything is stored, beyond each string's framing: at least one element;
//! distinct members in a set and in a sorted set (Redis refuses repeats in a set or zset
//! table too, and in an intset or listpack under `sanitize-dump-payload`); no NaN score;
//! an intset strictly ascending. Repeats are found without memory: a 64 Ki-bit filter of
//! member hashes on the stack, and a walk over the earlier members only when a member's
//! bit is already set: O(n) for sets far below 65,536 members, O(n²) compares at worst.
//!
//! Orders floe's encodings promise are composed straight into the target by repeated
//! selection from the payload, with no scratch memory: an intset-sized set of integers in
//! a type-2 payload (Redis writes its hash table's order) is written in numeric order in
//! O(n²) steps (n ≤ 512), and a sorted set that is not already ascending (Redis's type 5 is
//! descending) in O(n²) compares: fine for compact sizes (Redis writes a listpack, already
//! ascending, up to 128 entries); a payload already ascending (floe's own, Redis's
//! listpack) takes one pass.

use core::cmp::Ordering;

use super::{
    Compose, I64_TEXT_SIZE_MAX, Listpack, LzfReader, PayloadError, RdbString, encode_length,
    format_i64, read_length, take,
};
use crate::store::set::{INTSET_ENTRIES_MAX, SetRead, all_integers};
use crate::store::{TYPE_LIST, TYPE_SET, TYPE_ZSET};
use crate::text::parse_integer_strict;

/// Most entries of a sorted set payload in neither ascending nor descending order (no
/// producer writes one): each is placed by a walk over all, O(n²).
const ZSET_SELECTION_ENTRIES_MAX: usize = 4096;

/// Words of the repeat filter (64 Ki bits, 8 KiB on the stack).
const SEEN_WORDS: usize = 1024;

/// A set, list or sorted set of a payload, framed (every string read once) but not yet
/// checked element by element: [`Shape::compose`] does that, in the sizing pass of
/// `Object::decode`.
#[derive(Debug, Clone, Copy)]
pub(super) enum Shape<'p> {
    /// Type 2: `count` member strings in `body`.
    SetStrings { count: usize, body: &'p [u8] },
    /// Type 11: an intset in a string.
    SetIntset(RdbString<'p>),
    /// Type 1: `count` element strings in `body`.
    ListStrings { count: usize, body: &'p [u8] },
    /// Type 18: `count` nodes (container, string) in `body`.
    ListQuicklist { count: usize, body: &'p [u8] },
    /// Type 5: `count` (member string, 8-byte score) pairs in `body`.
    ZsetPairs { count: usize, body: &'p [u8] },
    /// Type 17: a listpack of members and scores in a string.
    ZsetListpack(RdbString<'p>),
}

impl<'p> Shape<'p> {
    /// Reads the object of RDB type `kind` at the front of `rest`.
    pub(super) fn read(kind: u8, rest: &mut &'p [u8]) -> Result<Self, PayloadError> {
        let (per_element_strings, trailer_size) = match kind {
            super::TYPE_SET_INTSET => return Ok(Self::SetIntset(RdbString::read(rest)?)),
            super::TYPE_ZSET_LISTPACK => return Ok(Self::ZsetListpack(RdbString::read(rest)?)),
            super::TYPE_SET_STRINGS | super::TYPE_LIST_STRINGS => (true, 0),
            super::TYPE_ZSET_PAIRS => (true, 8),
            super::TYPE_LIST_QUICKLIST => (false, 0),
            _ => return Err(PayloadError::BadData),
        };
        let count = read_length(rest)?;
        let body = *rest;
        for _ in 0..count {
            if !per_element_strings {
                read_length(rest)?;
            }
            RdbString::read(rest)?;
            take(rest, trailer_size)?;
        }
        let body = body.get(..body.len() - rest.len()).unwrap_or_default();
        Ok(match kind {
            super::TYPE_SET_STRINGS => Self::SetStrings { count, body },
            super::TYPE_LIST_STRINGS => Self::ListStrings { count, body },
            super::TYPE_ZSET_PAIRS => Self::ZsetPairs { count, body },
            _ => Self::ListQuicklist { count, body },
        })
    }

    /// Checks the elements and writes floe's compact value to `out`.
    pub(super) fn compose(&self, out: &mut Compose<'_>) -> Result<(), PayloadError> {
        match *self {
            Self::SetStrings { count, body } => compose_set(&Strings { body, left: count }, out),
            Self::SetIntset(string) => compose_intset(string, out),
            Self::ListStrings { count, body } => {
                out.push(&[TYPE_LIST]);
                let mut strings = Strings { body, left: count };
                while let Some((element, _)) = strings.next_entry()? {
                    element.copy_to(out);
                }
                nonempty(count)
            }
            Self::ListQuicklist { count, body } => compose_quicklist(count, body, out),
            Self::ZsetPairs { count, body } => compose_zset(&Pairs { body, left: count }, out),
            Self::ZsetListpack(string) => compose_zset(&Listpack::new(string)?, out),
        }
    }
}

/// Writes a set: an intset when floe keeps it as one, else type 2 in stored order (part
/// by part for a large set).
pub(super) fn encode_set(set: SetRead<'_>, put: &mut dyn FnMut(&[u8])) {
    let view = match set {
        SetRead::Compact(view) if all_integers(view.bytes()) => view,
        _ => {
            put(&[super::TYPE_SET_STRINGS]);
            encode_length(set.len(), put);
            for member in set.members() {
                super::encode_string(member, put);
            }
            return;
        }
    };
    let integer = |member: &[u8]| parse_integer_strict(member).unwrap_or_default();
    let width: usize = view.members().map(integer).fold(2, |width, value| {
        if i16::try_from(value).is_ok() {
            width
        } else if i32::try_from(value).is_ok() {
            width.max(4)
        } else {
            8
        }
    });
    let count = view.len();
    put(&[super::TYPE_SET_INTSET]);
    encode_length(8 + count * width, put);
    // NOTE: both fit in u32: width is 2, 4 or 8, and count is at most 512.
    #[expect(clippy::cast_possible_truncation, reason = "see the note")]
    {
        put(&(width as u32).to_le_bytes());
        put(&(count as u32).to_le_bytes());
    }
    for value in view.members().map(integer) {
        put(&value.to_le_bytes()[..width]);
    }
}

/// One element's text in a payload: bytes in place, an integer (its decimal text), or
/// `size` bytes at `offset` in what an LZF-compressed string of `total` bytes expands to
/// (reading them decompresses everything before them: O(offset)).
#[derive(Debug, Clone, Copy)]
pub(super) enum Text<'p> {
    Bytes(&'p [u8]),
    Integer(i64),
    Stream {
        compressed: &'p [u8],
        total: usize,
        offset: usize,
        size: usize,
    },
}

impl Text<'_> {
    /// Bytes of the text.
    fn size(&self) -> usize {
        match self {
            Self::Bytes(bytes) => bytes.len(),
            Self::Integer(value) => format_i64(*value, &mut [0; I64_TEXT_SIZE_MAX]).len(),
            Self::Stream { size, .. } => *size,
        }
    }

    /// The text in place (an integer written into `digits`), unless it is compressed.
    fn slice<'t>(&'t self, digits: &'t mut [u8; I64_TEXT_SIZE_MAX]) -> Option<&'t [u8]> {
        match self {
            Self::Bytes(bytes) => Some(bytes),
            Self::Integer(value) => Some(format_i64(*value, digits)),
            Self::Stream { .. } => None,
        }
    }

    /// The text's bytes, front to back. A stream was read whole once when the text was
    /// taken, so reading it again cannot fail.
    fn bytes(&self) -> TextBytes<'_> {
        let mut digits = [0u8; I64_TEXT_SIZE_MAX];
        let source = match *self {
            Self::Bytes(bytes) => Source::Bytes(bytes),
            Self::Integer(value) => {
                let size = format_i64(value, &mut digits).len();
                let mut text = [0u8; I64_TEXT_SIZE_MAX];
                text[..size].copy_from_slice(format_i64(value, &mut digits));
                Source::Digits(text, 0)
            }
            Self::Stream {
                compressed,
                total,
                offset,
                ..
            } => {
                let mut reader = LzfReader::new(compressed, total);
                for _ in 0..offset {
                    // Cannot fail: see above; a failure would only end the bytes early.
                    if reader.byte().is_err() {
                        break;
                    }
                }
                Source::Stream(reader)
            }
        };
        TextBytes {
            source,
            left: self.size(),
        }
    }

    fn compare(&self, other: &Self) -> Ordering {
        let (mut digits, mut other_digits) = ([0; I64_TEXT_SIZE_MAX], [0; I64_TEXT_SIZE_MAX]);
        match (self.slice(&mut digits), other.slice(&mut other_digits)) {
            (Some(bytes), Some(other_bytes)) => bytes.cmp(other_bytes),
            _ => self.bytes().cmp(other.bytes()),
        }
    }

    fn equals(&self, other: &Self) -> bool {
        self.size() == other.size() && self.compare(other) == Ordering::Equal
    }

    /// FNV-1a of the bytes: the repeat filter's hash.
    fn hash(&self) -> u64 {
        let step = |hash: u64, byte: u8| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        let seed = 0xcbf2_9ce4_8422_2325;
        let mut digits = [0; I64_TEXT_SIZE_MAX];
        match self.slice(&mut digits) {
            Some(bytes) => bytes.iter().fold(seed, |hash, &byte| step(hash, byte)),
            None => self.bytes().fold(seed, step),
        }
    }

    /// The text as a canonical integer (Redis's `string2ll`), if it is one.
    fn integer(&self) -> Option<i64> {
        if let Self::Integer(value) = self {
            return Some(*value);
        }
        let size = self.size();
        let mut text = [0u8; I64_TEXT_SIZE_MAX];
        for (slot, byte) in text.get_mut(..size)?.iter_mut().zip(self.bytes()) {
            *slot = byte;
        }
        parse_integer_strict(&text[..size])
    }

    /// Pushes the text as floe's encodings hold an element: varint size, then bytes.
    pub(super) fn copy_to(&self, out: &mut Compose<'_>) {
        out.push_varint(self.size());
        let mut digits = [0; I64_TEXT_SIZE_MAX];
        match self.slice(&mut digits) {
            Some(bytes) => out.push(bytes),
            None => {
                for byte in self.bytes() {
                    out.push(&[byte]);
                }
            }
        }
    }
}

/// The bytes of a [`Text`].
struct TextBytes<'t> {
    source: Source<'t>,
    left: usize,
}

#[expect(
    clippy::large_enum_variant,
    reason = "made only to read a compressed text; the window cannot be boxed without an allocator"
)]
enum Source<'t> {
    Bytes(&'t [u8]),
    Digits([u8; I64_TEXT_SIZE_MAX], usize),
    Stream(LzfReader<'t>),
}

impl Iterator for TextBytes<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        self.left = self.left.checked_sub(1)?;
        match &mut self.source {
            Source::Bytes(bytes) => {
                let (&first, rest) = bytes.split_first()?;
                *bytes = rest;
                Some(first)
            }
            Source::Digits(text, index) => {
                *index += 1;
                text.get(*index - 1).copied()
            }
            Source::Stream(reader) => reader.byte().ok(),
        }
    }
}

/// A walk over a collection's elements, restartable by cloning its start: each entry's
/// text, and its score (0 where there is none).
trait Walk<'p>: Clone {
    fn next_entry(&mut self) -> Result<Option<(Text<'p>, f64)>, PayloadError>;
}

/// `left` RDB strings back to back.
#[derive(Clone)]
struct Strings<'p> {
    body: &'p [u8],
    left: usize,
}

impl<'p> Walk<'p> for Strings<'p> {
    fn next_entry(&mut self) -> Result<Option<(Text<'p>, f64)>, PayloadError> {
        let Some(left) = self.left.checked_sub(1) else {
            return Ok(None);
        };
        self.left = left;
        Ok(Some((RdbString::read(&mut self.body)?.text(), 0.0)))
    }
}

/// `left` pairs of a member string and an 8-byte little-endian score.
#[derive(Clone)]
struct Pairs<'p> {
    body: &'p [u8],
    left: usize,
}

impl<'p> Walk<'p> for Pairs<'p> {
    fn next_entry(&mut self) -> Result<Option<(Text<'p>, f64)>, PayloadError> {
        let Some(left) = self.left.checked_sub(1) else {
            return Ok(None);
        };
        self.left = left;
        let member = RdbString::read(&mut self.body)?.text();
        let mut score = [0u8; 8];
        score.copy_from_slice(take(&mut self.body, 8)?);
        Ok(Some((member, checked_score(f64::from_le_bytes(score))?)))
    }
}

impl<'p> Walk<'p> for Listpack<'p> {
    fn next_entry(&mut self) -> Result<Option<(Text<'p>, f64)>, PayloadError> {
        let Some(member) = self.next()? else {
            return Ok(None);
        };
        let score = self.next_score()?.ok_or(PayloadError::BadData)?;
        Ok(Some((member, checked_score(score)?)))
    }
}

/// A score as floe stores it: never NaN, `-0` as `0`.
fn checked_score(score: f64) -> Result<f64, PayloadError> {
    if score.is_nan() {
        return Err(PayloadError::BadData);
    }
    Ok(if score == 0.0 { 0.0 } else { score })
}

fn nonempty(count: usize) -> Result<(), PayloadError> {
    if count == 0 {
        Err(PayloadError::BadData)
    } else {
        Ok(())
    }
}

/// Counts the entries of `start`, refusing a member that appears twice.
fn count_distinct<'p>(start: &impl Walk<'p>) -> Result<usize, PayloadError> {
    let mut seen = [0u64; SEEN_WORDS];
    let mut walk = start.clone();
    let mut count = 0usize;
    while let Some((member, _)) = walk.next_entry()? {
        // NOTE: the remainder is below SEEN_WORDS * 64, so it fits usize.
        #[expect(clippy::cast_possible_truncation, reason = "see the note")]
        let bit = (member.hash() % (SEEN_WORDS as u64 * 64)) as usize;
        let (word, mask) = (bit / 64, 1u64 << (bit % 64));
        if seen[word] & mask != 0 {
            let mut earlier = start.clone();
            for _ in 0..count {
                let (other, _) = earlier.next_entry()?.ok_or(PayloadError::BadData)?;
                if other.equals(&member) {
                    return Err(PayloadError::BadData);
                }
            }
        }
        seen[word] |= mask;
        count += 1;
    }
    Ok(count)
}

/// A type-2 set: distinct members; numeric order if floe keeps it as an intset.
fn compose_set<'p>(start: &Strings<'p>, out: &mut Compose<'_>) -> Result<(), PayloadError> {
    let count = count_distinct(start)?;
    nonempty(count)?;
    out.push(&[TYPE_SET]);
    let mut walk = start.clone();
    let mut integers = count <= INTSET_ENTRIES_MAX;
    while integers && let Some((member, _)) = walk.next_entry()? {
        integers = member.integer().is_some();
    }
    let mut walk = start.clone();
    if !integers {
        while let Some((member, _)) = walk.next_entry()? {
            member.copy_to(out);
        }
        return Ok(());
    }
    // Selection: the least integer above the last written, n times (n ≤ 512).
    let mut last: Option<i64> = None;
    for _ in 0..count {
        let mut walk = start.clone();
        let mut least: Option<i64> = None;
        while let Some((member, _)) = walk.next_entry()? {
            let value = member.integer().ok_or(PayloadError::BadData)?;
            if last.is_none_or(|last| value > last) && least.is_none_or(|least| value < least) {
                least = Some(value);
            }
        }
        let least = least.ok_or(PayloadError::BadData)?;
        Text::Integer(least).copy_to(out);
        last = Some(least);
    }
    Ok(())
}

/// A type-11 intset: width 2, 4 or 8, a count matching the size, strictly ascending.
fn compose_intset(string: RdbString<'_>, out: &mut Compose<'_>) -> Result<(), PayloadError> {
    let mut reader = string.reader();
    let width = reader.integer_le(4)?;
    let count = reader.integer_le(4)?;
    let expected_size = count
        .checked_mul(width)
        .and_then(|size| size.checked_add(8));
    if !matches!(width, 2 | 4 | 8)
        || count == 0
        || expected_size != u64::try_from(string.size()).ok()
    {
        return Err(PayloadError::BadData);
    }
    out.push(&[TYPE_SET]);
    let mut last: Option<i64> = None;
    for _ in 0..count {
        // NOTE: width is 2, 4 or 8.
        #[expect(clippy::cast_possible_truncation, reason = "see the note")]
        let raw = reader.integer_le(width as u32)?;
        let shift = 64 - 8 * width;
        let value = (raw << shift).cast_signed() >> shift;
        if last.is_some_and(|last| value <= last) {
            return Err(PayloadError::BadData);
        }
        Text::Integer(value).copy_to(out);
        last = Some(value);
    }
    if !reader.is_done() {
        return Err(PayloadError::BadData);
    }
    Ok(())
}

/// A type-18 quicklist: plain nodes hold one element, packed nodes a listpack of them
/// (possibly empty, as Redis tolerates); at least one element in all.
fn compose_quicklist(
    count: usize,
    mut body: &[u8],
    out: &mut Compose<'_>,
) -> Result<(), PayloadError> {
    out.push(&[TYPE_LIST]);
    let mut element_count = 0usize;
    for _ in 0..count {
        let container = read_length(&mut body)?;
        let string = RdbString::read(&mut body)?;
        match container {
            1 => {
                string.text().copy_to(out);
                element_count += 1;
            }
            2 => {
                let mut listpack = Listpack::new(string)?;
                while listpack.next_copy(out)? {
                    element_count += 1;
                }
            }
            _ => return Err(PayloadError::BadData),
        }
    }
    nonempty(element_count)
}

/// Redis's order of sorted set entries: by score, then by the member's bytes.
fn order(entry: &(Text<'_>, f64), other: &(Text<'_>, f64)) -> Ordering {
    entry
        .1
        .partial_cmp(&other.1)
        .unwrap_or(Ordering::Equal)
        .then_with(|| entry.0.compare(&other.0))
}

fn push_entry(out: &mut Compose<'_>, entry: &(Text<'_>, f64)) {
    entry.0.copy_to(out);
    out.push(&entry.1.to_le_bytes());
}

/// A sorted set: distinct members, no NaN, written in `(score, member)` order.
fn compose_zset<'p>(start: &impl Walk<'p>, out: &mut Compose<'_>) -> Result<(), PayloadError> {
    let count = count_distinct(start)?;
    nonempty(count)?;
    out.push(&[TYPE_ZSET]);
    let (mut ascending, mut descending) = (true, true);
    let mut walk = start.clone();
    let mut previous: Option<(Text<'p>, f64)> = None;
    let mut entries_size = 0usize;
    while let Some(entry) = walk.next_entry()? {
        if let Some(previous) = &previous {
            let order = order(previous, &entry);
            ascending &= order == Ordering::Less;
            descending &= order == Ordering::Greater;
        }
        entries_size += entry_size(&entry);
        previous = Some(entry);
    }
    let mut walk = start.clone();
    if ascending {
        while let Some(entry) = walk.next_entry()? {
            push_entry(out, &entry);
        }
        return Ok(());
    }
    if descending {
        // Redis writes a skiplist's entries highest first: each goes before the last.
        let mut end = entries_size;
        while let Some(entry) = walk.next_entry()? {
            end -= entry_size(&entry);
            push_entry(&mut out.at(end), &entry);
        }
        out.skip(entries_size);
        return Ok(());
    }
    if count > ZSET_SELECTION_ENTRIES_MAX {
        return Err(PayloadError::BadData);
    }
    // Selection: the least entry above the last written, n times.
    let mut last: Option<(Text<'p>, f64)> = None;
    for _ in 0..count {
        let mut walk = start.clone();
        let mut least: Option<(Text<'p>, f64)> = None;
        while let Some(entry) = walk.next_entry()? {
            let above = last
                .as_ref()
                .is_none_or(|last| order(&entry, last) == Ordering::Greater);
            if above
                && least
                    .as_ref()
                    .is_none_or(|least| order(&entry, least) == Ordering::Less)
            {
                least = Some(entry);
            }
        }
        let least = least.ok_or(PayloadError::BadData)?;
        push_entry(out, &least);
        last = Some(least);
    }
    Ok(())
}

fn entry_size(entry: &(Text<'_>, f64)) -> usize {
    crate::store::zset::entry_size(entry.0.size())
}
