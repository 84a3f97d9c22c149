//! Log records: the physical changes a write makes to the store, and the bytes that carry
//! them in the write-ahead log.
//!
//! [`Record`] is the plain value the store reports for every write. Replaying a record
//! twice gives the same state as replaying it once: a counter increment is logged as the
//! value it produced, a relative TTL as an absolute time, an eviction as a delete. The one
//! exception is [`Record::SwapDb`]: a swap undoes itself, so it must be applied exactly
//! once, which recovery does (it applies every record above the snapshot's LSN once, in
//! LSN order, and the snapshot is exact at its LSN).
//!
//! The codec follows smoltcp's split. [`RecordView`] is a view over bytes whose
//! [`RecordView::new_checked`] validates every length once, after which no accessor can
//! panic. [`LogRecord`] is the plain value (an LSN plus a [`Body`]) with
//! [`LogRecord::decode`], [`LogRecord::encoded_size`] and [`LogRecord::encode`]. A
//! multi-key write is a group: intent records ([`Body::Intent`]) followed by one
//! [`Commit`] that names the group's first LSN and its record count; see
//! [`encode_group`]. The byte layout, the commit protocol and the recovery decision table
//! are in `docs/FORMAT.md`; the scanner that applies that table is [`super::log`].
//!
//! Invariants:
//!
//! - Every encoded record is exactly `RECORD_HEADER_SIZE + key size + value size` bytes,
//!   at most [`RECORD_SIZE_MAX`]. `encode` asserts that what it wrote validates: its sizes
//!   always, a full decode back to the same value in debug builds (that one is O(n)).
//! - The encoding is canonical: a byte string that decodes re-encodes to itself (every
//!   field a kind does not use must be zero), which is what the fuzz target checks.
//! - Decoding is total: any bytes give a value or a [`DecodeError`]; nothing panics, and
//!   no length read from the input is trusted before it is checked against the buffer.
//!
//! Fault assumptions: the bytes may be torn (any prefix of a write), zero-filled, flipped
//! or stale. The CRC32 catches damage; it is not a defence against a forger.

use super::{read_u32, read_u64, size_u32, usize_from};
use crate::constants::{DATABASE_COUNT, KEY_SIZE_MAX_DEFAULT, VALUE_SIZE_MAX_DEFAULT};
pub use crate::storage::item::ItemKind;

/// Kept here so the older path `codec::record::Timestamp` still names it; the type lives
/// in [`crate::time`].
pub use crate::time::Timestamp;

/// One change to the store; idempotent, except [`Record::SwapDb`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record<'a> {
    /// `key` in database `db` now holds `value`, expiring at `expires_at` (`0`: never).
    Set {
        /// Database index, below [`crate::constants::DATABASE_COUNT`].
        db: u8,
        /// The key's bytes (may be empty).
        key: &'a [u8],
        /// The value's bytes (may be empty).
        value: &'a [u8],
        /// Absolute expiry, or `0` for none.
        expires_at: Timestamp,
        /// What the value holds: a string, or a compact collection (FLAGS bit 1,
        /// [`FLAG_COMPACT`]).
        value_kind: ItemKind,
    },
    /// `key` in database `db` no longer exists (deleted, or evicted to make room).
    Del {
        /// Database index.
        db: u8,
        /// The key's bytes.
        key: &'a [u8],
    },
    /// `key` in database `db` now expires at `expires_at` (`0`: persists forever).
    ExpireAt {
        /// Database index.
        db: u8,
        /// The key's bytes.
        key: &'a [u8],
        /// Absolute expiry, or `0` to remove the expiry.
        expires_at: Timestamp,
    },
    /// Every key of database `db` is gone; `None` clears every database.
    Clear {
        /// The database cleared, or `None` for all of them.
        db: Option<u8>,
    },
    /// Databases `db_first` and `db_second` trade their keys (SWAPDB). Not idempotent:
    /// applying it twice undoes it, so it must be applied exactly once (see the module
    /// doc).
    SwapDb {
        /// One database index.
        db_first: u8,
        /// The other database index (may equal `db_first`: then nothing changes).
        db_second: u8,
    },
}

/// Format version this build writes, and the only one it reads.
pub const RECORD_VERSION: u8 = 1;

/// Bytes of the fixed part every record starts with (header and fixed body fields).
pub const RECORD_HEADER_SIZE: u32 = 40;

/// Largest key a log record carries. The store's configured `key_size_max` must not
/// exceed it.
pub const RECORD_KEY_SIZE_MAX: u32 = 1 << 20;

/// Largest value a log record carries. The store's configured `value_size_max` must not
/// exceed it.
pub const RECORD_VALUE_SIZE_MAX: u32 = 1 << 26;

/// Largest encoded record: the header plus the largest key and value.
pub const RECORD_SIZE_MAX: u32 = RECORD_HEADER_SIZE + RECORD_KEY_SIZE_MAX + RECORD_VALUE_SIZE_MAX;

/// Most intent records one group may hold before its commit record.
pub const GROUP_RECORD_COUNT_MAX: u32 = 1 << 24;

/// `FLAGS` bit 0: the record is an intent of a group, applied only once the group's
/// commit record is read. Bits 3-7 are reserved and must be zero.
pub const FLAG_INTENT: u8 = 0x01;

/// `FLAGS` bit 1, Set records only: the value is a compact collection (a type byte and
/// its elements, `docs/types.md`), not a string. A build that predates it refuses such a
/// record as [`DecodeError::FlagsInvalid`].
pub const FLAG_COMPACT: u8 = 0x02;

/// `FLAGS` bit 2, Set records only: the value is a part of a large collection, and the
/// key is its owner's key followed by the part's number (`docs/types.md`). Never set
/// with [`FLAG_COMPACT`].
pub const FLAG_PART: u8 = 0x04;

/// `DB` byte of a [`Record::Clear`] that clears every database.
pub const DB_ALL: u8 = 0xFF;

const _: () = assert!(RECORD_KEY_SIZE_MAX >= KEY_SIZE_MAX_DEFAULT);
const _: () = assert!(RECORD_VALUE_SIZE_MAX >= VALUE_SIZE_MAX_DEFAULT);
const _: () = assert!(
    RECORD_SIZE_MAX as u64
        == RECORD_HEADER_SIZE as u64 + RECORD_KEY_SIZE_MAX as u64 + RECORD_VALUE_SIZE_MAX as u64
);
const _: () = assert!(RECORD_SIZE_MAX < u32::MAX, "the size field is a u32");
const _: () = assert!(RECORD_HEADER_SIZE as usize == field::KEY_START);
const _: () = assert!(
    RECORD_HEADER_SIZE.is_multiple_of(8),
    "records stay 8-byte aligned"
);
const _: () = assert!(
    DATABASE_COUNT as u16 <= DB_ALL as u16,
    "DB_ALL names no database"
);
const _: () = assert!(GROUP_RECORD_COUNT_MAX > 0);

/// Byte offsets of the fixed fields of a record (see `docs/FORMAT.md`).
pub mod field {
    use core::ops::Range;

    /// Size of the whole record in bytes, header included (`u32`).
    pub const SIZE: Range<usize> = 0..4;
    /// CRC32 (IEEE) of every byte after this field up to `SIZE` (`u32`).
    pub const CHECKSUM: Range<usize> = 4..8;
    /// Log sequence number (`u64`), strictly increasing along a log.
    pub const LSN: Range<usize> = 8..16;
    /// Format version (`u8`), [`super::RECORD_VERSION`].
    pub const VERSION: usize = 16;
    /// Kind tag (`u8`), a [`super::Kind`].
    pub const KIND: usize = 17;
    /// Flag bits (`u8`): [`super::FLAG_INTENT`].
    pub const FLAGS: usize = 18;
    /// Database index (`u8`), or [`super::DB_ALL`] for a clear of every database.
    pub const DB: usize = 19;
    /// Key size in bytes (`u32`).
    pub const KEY_SIZE: Range<usize> = 20..24;
    /// Value size in bytes (`u32`).
    pub const VALUE_SIZE: Range<usize> = 24..28;
    /// Commit only: intent records in the group (`u32`); zero for every other kind.
    pub const RECORD_COUNT: Range<usize> = 28..32;
    /// Set and ExpireAt: absolute expiry in ms (`u64`, `0` for none); zero for Del, Clear.
    pub const EXPIRES_AT: Range<usize> = 32..40;
    /// SwapDb only: the second database index (`u64`, below `DATABASE_COUNT`); shares
    /// `EXPIRES_AT`.
    pub const DB_SECOND: Range<usize> = 32..40;
    /// Commit only: LSN of the group's first intent record (`u64`); shares `EXPIRES_AT`.
    pub const LSN_FIRST: Range<usize> = 32..40;
    /// First byte of the key; the value follows the key.
    pub const KEY_START: usize = 40;
}

/// Kind tag of a record: which change, or a group's commit.
///
/// Tag `0` is never assigned, so a zero-filled region cannot parse as a record kind.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// [`Record::Set`].
    Set = 1,
    /// [`Record::Del`].
    Del = 2,
    /// [`Record::ExpireAt`].
    ExpireAt = 3,
    /// [`Record::Clear`].
    Clear = 4,
    /// [`Commit`]: the completion record of a group.
    Commit = 5,
    /// [`Record::SwapDb`].
    SwapDb = 6,
}

impl TryFrom<u8> for Kind {
    type Error = DecodeError;

    fn try_from(tag: u8) -> Result<Self, DecodeError> {
        match tag {
            1 => Ok(Self::Set),
            2 => Ok(Self::Del),
            3 => Ok(Self::ExpireAt),
            4 => Ok(Self::Clear),
            5 => Ok(Self::Commit),
            6 => Ok(Self::SwapDb),
            _ => Err(DecodeError::UnknownKind(tag)),
        }
    }
}

impl From<Kind> for u8 {
    fn from(kind: Kind) -> Self {
        kind as Self
    }
}

/// Why a byte slice is not a valid log record.
///
/// The first three variants are what a torn or damaged write looks like; the scanner in
/// [`super::log`] decides from what follows whether it is a torn tail or corruption. The
/// others are found only after the checksum matched, so the bytes are what a writer wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// Fewer bytes than [`RECORD_HEADER_SIZE`] or than the record's `SIZE` field: normal
    /// at a torn log tail.
    Truncated,
    /// `SIZE` is below [`RECORD_HEADER_SIZE`] or above [`RECORD_SIZE_MAX`], a key or
    /// value size is above its maximum, or `SIZE` is not header + key + value.
    SizeInvalid,
    /// The CRC32 over everything after the `CHECKSUM` field does not match it.
    ChecksumMismatch,
    /// An intact record of a format version this build does not read (a newer floe wrote
    /// it, or version `0`, which no floe writes).
    UnsupportedVersion(u8),
    /// An intact record whose kind tag is not defined in this format version.
    UnknownKind(u8),
    /// Reserved flag bits are set, or [`FLAG_INTENT`] is set on a commit record.
    FlagsInvalid(u8),
    /// The database index is at or above [`DATABASE_COUNT`] (and, for a Clear, is not
    /// [`DB_ALL`]).
    DatabaseInvalid(u8),
    /// A field the kind does not use is not zero (a Del with a value, a Clear with a
    /// key, a commit with a database, ...): the encoding would not be canonical.
    FieldInvalid,
    /// A commit record whose count is zero or above [`GROUP_RECORD_COUNT_MAX`], or whose
    /// first LSN leaves no room for that many intents below its own LSN.
    CommitInvalid,
}

impl core::fmt::Display for DecodeError {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Truncated => formatter.write_str("record truncated"),
            Self::SizeInvalid => formatter.write_str("record size invalid"),
            Self::ChecksumMismatch => formatter.write_str("record checksum mismatch"),
            Self::UnsupportedVersion(version) => {
                write!(formatter, "record format version {version} not supported")
            }
            Self::UnknownKind(tag) => write!(formatter, "record kind {tag} unknown"),
            Self::FlagsInvalid(flags) => write!(formatter, "record flags {flags:#04x} invalid"),
            Self::DatabaseInvalid(db) => write!(formatter, "record database {db} invalid"),
            Self::FieldInvalid => formatter.write_str("record field unused by its kind not zero"),
            Self::CommitInvalid => formatter.write_str("commit record count or first LSN invalid"),
        }
    }
}

impl core::error::Error for DecodeError {}

/// The completion record of a group: the group's intents take effect only if this
/// record is present and intact.
///
/// Its own LSN is above the LSN of every intent it commits; the intents are the
/// `record_count` records directly before it in the same log, the first of which has
/// LSN `lsn_first`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commit {
    /// LSN of the group's first intent record.
    pub lsn_first: u64,
    /// Number of intent records in the group, `1..=GROUP_RECORD_COUNT_MAX`.
    pub record_count: u32,
}

/// What one log record carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    /// A change that takes effect on its own.
    Standalone(Record<'a>),
    /// A change that takes effect only with the rest of its group, once the group's
    /// commit record is read.
    Intent(Record<'a>),
    /// The completion record of a group.
    Commit(Commit),
}

/// The plain value of one encoded log record: its LSN and what it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRecord<'a> {
    /// Log sequence number; strictly increasing along a log.
    pub lsn: u64,
    /// The change or the commit.
    pub body: Body<'a>,
}

/// A view over the bytes of one log record (and possibly bytes after it).
///
/// Build it with [`RecordView::new_checked`]: after that every accessor is in bounds.
/// [`RecordView::new_unchecked`] skips the check; its accessors panic on a short buffer.
#[derive(Debug, Clone, Copy)]
pub struct RecordView<B: AsRef<[u8]>> {
    buffer: B,
}

impl<B: AsRef<[u8]>> RecordView<B> {
    /// Wraps `buffer` without checking anything.
    pub const fn new_unchecked(buffer: B) -> Self {
        Self { buffer }
    }

    /// Wraps `buffer` after checking that it holds a whole record with consistent sizes.
    ///
    /// The checksum and the field values are checked by [`LogRecord::decode`].
    ///
    /// # Errors
    ///
    /// [`DecodeError::Truncated`] or [`DecodeError::SizeInvalid`], as
    /// [`RecordView::check_size`].
    pub fn new_checked(buffer: B) -> Result<Self, DecodeError> {
        let view = Self::new_unchecked(buffer);
        view.check_size()?;
        Ok(view)
    }

    /// Checks that the buffer holds the header and the whole record the `SIZE` field
    /// declares, and that the declared sizes agree and are within limits.
    ///
    /// # Errors
    ///
    /// [`DecodeError::Truncated`] if the buffer is shorter than the header or than
    /// `SIZE`; [`DecodeError::SizeInvalid`] if the sizes are out of range or disagree.
    pub fn check_size(&self) -> Result<(), DecodeError> {
        let buffer_size = self.buffer.as_ref().len();
        if buffer_size < field::KEY_START {
            return Err(DecodeError::Truncated);
        }
        let size = self.size();
        if !(RECORD_HEADER_SIZE..=RECORD_SIZE_MAX).contains(&size) {
            return Err(DecodeError::SizeInvalid);
        }
        let key_size = self.key_size();
        let value_size = self.value_size();
        if key_size > RECORD_KEY_SIZE_MAX || value_size > RECORD_VALUE_SIZE_MAX {
            return Err(DecodeError::SizeInvalid);
        }
        // No overflow: each term is at most its maximum and RECORD_SIZE_MAX < u32::MAX.
        if size != RECORD_HEADER_SIZE + key_size + value_size {
            return Err(DecodeError::SizeInvalid);
        }
        if buffer_size < usize_from(size) {
            return Err(DecodeError::Truncated);
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> B {
        self.buffer
    }

    /// `SIZE`: bytes of the whole record.
    pub fn size(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::SIZE)
    }

    /// `CHECKSUM` as stored.
    pub fn checksum(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// `LSN`.
    pub fn lsn(&self) -> u64 {
        read_u64(self.buffer.as_ref(), field::LSN)
    }

    /// `VERSION`.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VERSION]
    }

    /// `KIND` as stored; [`Kind::try_from`] interprets it.
    pub fn kind_tag(&self) -> u8 {
        self.buffer.as_ref()[field::KIND]
    }

    /// `FLAGS`.
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// `DB`.
    pub fn db(&self) -> u8 {
        self.buffer.as_ref()[field::DB]
    }

    /// `KEY_SIZE`.
    pub fn key_size(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::KEY_SIZE)
    }

    /// `VALUE_SIZE`.
    pub fn value_size(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::VALUE_SIZE)
    }

    /// `RECORD_COUNT` (commit records only).
    pub fn record_count(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::RECORD_COUNT)
    }

    /// `EXPIRES_AT` (and `LSN_FIRST` of a commit: the same bytes).
    pub fn expires_at(&self) -> u64 {
        read_u64(self.buffer.as_ref(), field::EXPIRES_AT)
    }

    /// The key's bytes.
    pub fn key(&self) -> &[u8] {
        let start = field::KEY_START;
        let end = start + usize_from(self.key_size());
        &self.buffer.as_ref()[start..end]
    }

    /// The value's bytes.
    pub fn value(&self) -> &[u8] {
        let start = field::KEY_START + usize_from(self.key_size());
        let end = start + usize_from(self.value_size());
        &self.buffer.as_ref()[start..end]
    }

    /// The record's bytes: exactly `SIZE` bytes from the start of the buffer.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buffer.as_ref()[..usize_from(self.size())]
    }

    /// CRC32 of the bytes the `CHECKSUM` field covers, computed now.
    pub fn checksum_compute(&self) -> u32 {
        crc32fast::hash(&self.as_bytes()[field::CHECKSUM.end..])
    }

    /// Whether the stored checksum matches the bytes.
    pub fn checksum_verify(&self) -> bool {
        self.checksum() == self.checksum_compute()
    }
}

impl<'a> LogRecord<'a> {
    /// Decodes a record from a view, validating the sizes again, then the checksum, the
    /// version, the kind, the flags and every field.
    ///
    /// # Errors
    ///
    /// Any [`DecodeError`]; the checksum is checked before the version and the kind, so
    /// `UnsupportedVersion` and `UnknownKind` describe intact records.
    pub fn decode<T: AsRef<[u8]> + ?Sized>(view: &RecordView<&'a T>) -> Result<Self, DecodeError> {
        view.check_size()?;
        if !view.checksum_verify() {
            return Err(DecodeError::ChecksumMismatch);
        }
        if view.version() != RECORD_VERSION {
            return Err(DecodeError::UnsupportedVersion(view.version()));
        }
        let kind = Kind::try_from(view.kind_tag())?;
        let flags = view.flags();
        let flags_known = if kind == Kind::Set {
            FLAG_INTENT | FLAG_COMPACT | FLAG_PART
        } else {
            FLAG_INTENT
        };
        let both_kinds = FLAG_COMPACT | FLAG_PART;
        if flags & !flags_known != 0
            || flags & both_kinds == both_kinds
            || (kind == Kind::Commit && flags != 0)
        {
            return Err(DecodeError::FlagsInvalid(flags));
        }
        if kind != Kind::Commit && view.record_count() != 0 {
            return Err(DecodeError::FieldInvalid);
        }
        // Borrow the key and value for 'a, not for the lifetime of `view`.
        let bytes: &'a [u8] = view.buffer.as_ref();
        let key_end = field::KEY_START + usize_from(view.key_size());
        let value_end = key_end + usize_from(view.value_size());
        let key = &bytes[field::KEY_START..key_end];
        let value = &bytes[key_end..value_end];
        let body = match kind {
            Kind::Commit => Body::Commit(decode_commit(view)?),
            Kind::Set | Kind::Del | Kind::ExpireAt | Kind::Clear | Kind::SwapDb => {
                let mut record = decode_change(kind, view.db(), key, value, view.expires_at())?;
                if let Record::Set { value_kind, .. } = &mut record {
                    if flags & FLAG_COMPACT != 0 {
                        *value_kind = ItemKind::Compact;
                    } else if flags & FLAG_PART != 0 {
                        *value_kind = ItemKind::Part;
                    }
                }
                if flags & FLAG_INTENT != 0 {
                    Body::Intent(record)
                } else {
                    Body::Standalone(record)
                }
            }
        };
        let record = Self {
            lsn: view.lsn(),
            body,
        };
        assert!(record.encoded_size() == view.size(), "size={}", view.size());
        Ok(record)
    }

    /// Decodes the record at the start of `bytes` (which may continue past it), and
    /// returns it with its size.
    ///
    /// # Errors
    ///
    /// Any [`DecodeError`], as [`RecordView::new_checked`] and [`LogRecord::decode`].
    pub fn decode_bytes(bytes: &'a [u8]) -> Result<(Self, u32), DecodeError> {
        let view = RecordView::new_checked(bytes)?;
        let record = Self::decode(&view)?;
        Ok((record, view.size()))
    }

    /// The record's kind.
    pub const fn kind(&self) -> Kind {
        match &self.body {
            Body::Standalone(record) | Body::Intent(record) => record.kind(),
            Body::Commit(_) => Kind::Commit,
        }
    }

    /// Bytes [`LogRecord::encode`] writes.
    ///
    /// # Panics
    ///
    /// If the key or value is longer than [`RECORD_KEY_SIZE_MAX`] or
    /// [`RECORD_VALUE_SIZE_MAX`]: the store checks its limits before it logs.
    pub fn encoded_size(&self) -> u32 {
        let (key, value) = match &self.body {
            Body::Standalone(record) | Body::Intent(record) => record.key_and_value(),
            Body::Commit(_) => (&[][..], &[][..]),
        };
        RECORD_HEADER_SIZE
            + size_u32(key.len(), RECORD_KEY_SIZE_MAX)
            + size_u32(value.len(), RECORD_VALUE_SIZE_MAX)
    }

    /// Writes the record into `target`, checksum included.
    ///
    /// # Panics
    ///
    /// If `target.len()` is not exactly [`LogRecord::encoded_size`], or the record is not
    /// one the format can carry (a key or value over its maximum, a database at or above
    /// [`DATABASE_COUNT`], a commit with an invalid count or first LSN). These are
    /// programmer errors: the store checks its inputs before it logs.
    pub fn encode(&self, target: &mut [u8]) {
        let size = self.encoded_size();
        assert!(
            target.len() == usize_from(size),
            "target={} size={size}",
            target.len()
        );
        let (kind, flags, db, key, value, record_count, word) = self.fields();
        target[field::SIZE].copy_from_slice(&size.to_le_bytes());
        target[field::LSN].copy_from_slice(&self.lsn.to_le_bytes());
        target[field::VERSION] = RECORD_VERSION;
        target[field::KIND] = kind.into();
        target[field::FLAGS] = flags;
        target[field::DB] = db;
        target[field::KEY_SIZE]
            .copy_from_slice(&size_u32(key.len(), RECORD_KEY_SIZE_MAX).to_le_bytes());
        target[field::VALUE_SIZE]
            .copy_from_slice(&size_u32(value.len(), RECORD_VALUE_SIZE_MAX).to_le_bytes());
        target[field::RECORD_COUNT].copy_from_slice(&record_count.to_le_bytes());
        target[field::EXPIRES_AT].copy_from_slice(&word.to_le_bytes());
        let key_end = field::KEY_START + key.len();
        target[field::KEY_START..key_end].copy_from_slice(key);
        target[key_end..].copy_from_slice(value);
        let checksum = crc32fast::hash(&target[field::CHECKSUM.end..]);
        target[field::CHECKSUM].copy_from_slice(&checksum.to_le_bytes());

        // Pair assertion with `decode`: the sizes always (O(1)); the full decode, which
        // recomputes the checksum over the whole record (O(n)), in debug builds only.
        let view = RecordView::new_unchecked(&*target);
        assert!(view.check_size().is_ok(), "encoded sizes do not validate");
        debug_assert_eq!(LogRecord::decode(&view), Ok(*self));
    }

    /// The header fields of the record: kind, flags, db, key, value, record count and the
    /// 8-byte word (expiry or first LSN). Asserts what `decode` would reject.
    fn fields(&self) -> (Kind, u8, u8, &'a [u8], &'a [u8], u32, u64) {
        match self.body {
            Body::Standalone(record) => record.fields(0),
            Body::Intent(record) => record.fields(FLAG_INTENT),
            Body::Commit(commit) => {
                assert!(commit.record_count > 0, "empty group");
                assert!(
                    commit.record_count <= GROUP_RECORD_COUNT_MAX,
                    "count={}",
                    commit.record_count
                );
                assert!(
                    commit.lsn_first < self.lsn,
                    "first={} lsn={}",
                    commit.lsn_first,
                    self.lsn
                );
                assert!(
                    self.lsn - commit.lsn_first >= u64::from(commit.record_count),
                    "no room for {} intents in first={} lsn={}",
                    commit.record_count,
                    commit.lsn_first,
                    self.lsn,
                );
                (
                    Kind::Commit,
                    0,
                    0,
                    &[],
                    &[],
                    commit.record_count,
                    commit.lsn_first,
                )
            }
        }
    }
}

impl<'a> Record<'a> {
    /// The record's kind tag.
    pub const fn kind(&self) -> Kind {
        match self {
            Self::Set { .. } => Kind::Set,
            Self::Del { .. } => Kind::Del,
            Self::ExpireAt { .. } => Kind::ExpireAt,
            Self::Clear { .. } => Kind::Clear,
            Self::SwapDb { .. } => Kind::SwapDb,
        }
    }

    /// Bytes [`Record::encode`] (and [`Record::encode_intent`]) writes.
    ///
    /// # Panics
    ///
    /// As [`LogRecord::encoded_size`].
    pub fn encoded_size(&self) -> u32 {
        LogRecord {
            lsn: 0,
            body: Body::Standalone(*self),
        }
        .encoded_size()
    }

    /// Writes the record as a standalone record (it takes effect on its own) with `lsn`.
    ///
    /// # Panics
    ///
    /// As [`LogRecord::encode`]: `target.len()` must be exactly [`Record::encoded_size`].
    pub fn encode(&self, lsn: u64, target: &mut [u8]) {
        LogRecord {
            lsn,
            body: Body::Standalone(*self),
        }
        .encode(target);
    }

    /// Writes the record as an intent of a group with `lsn`; see [`encode_group`].
    ///
    /// # Panics
    ///
    /// As [`LogRecord::encode`].
    pub fn encode_intent(&self, lsn: u64, target: &mut [u8]) {
        LogRecord {
            lsn,
            body: Body::Intent(*self),
        }
        .encode(target);
    }

    /// The key whose shard the record belongs to: its key, or a part's owner (`None`
    /// for a record of every key: Clear, SwapDb).
    #[must_use]
    pub fn route_key(&self) -> Option<&'a [u8]> {
        match *self {
            Self::Set {
                key,
                value_kind: ItemKind::Part,
                ..
            } => Some(crate::storage::item::part_owner(key)),
            Self::Set { key, .. } | Self::Del { key, .. } | Self::ExpireAt { key, .. } => Some(key),
            Self::Clear { .. } | Self::SwapDb { .. } => None,
        }
    }

    fn key_and_value(&self) -> (&'a [u8], &'a [u8]) {
        match *self {
            Self::Set { key, value, .. } => (key, value),
            Self::Del { key, .. } | Self::ExpireAt { key, .. } => (key, &[]),
            Self::Clear { .. } | Self::SwapDb { .. } => (&[], &[]),
        }
    }

    fn fields(&self, flags: u8) -> (Kind, u8, u8, &'a [u8], &'a [u8], u32, u64) {
        let (key, value) = self.key_and_value();
        let flags = match *self {
            Self::Set {
                value_kind: ItemKind::Compact,
                ..
            } => flags | FLAG_COMPACT,
            Self::Set {
                value_kind: ItemKind::Part,
                ..
            } => flags | FLAG_PART,
            _ => flags,
        };
        let (db, word) = match *self {
            Self::Set { db, expires_at, .. } | Self::ExpireAt { db, expires_at, .. } => {
                (Some(db), expires_at)
            }
            Self::Del { db, .. } => (Some(db), 0),
            Self::Clear { db } => (db, 0),
            Self::SwapDb {
                db_first,
                db_second,
            } => {
                assert!(db_second < DATABASE_COUNT, "db_second={db_second}");
                (Some(db_first), u64::from(db_second))
            }
        };
        // Every named database, a Clear's included, is a real one: `Clear { db: Some(DB_ALL) }`
        // would otherwise encode as a clear of every database.
        let db = match db {
            Some(db) => {
                assert!(db < DATABASE_COUNT, "db={db}");
                db
            }
            None => DB_ALL,
        };
        (self.kind(), flags, db, key, value, 0, word)
    }
}

impl Commit {
    /// Bytes of an encoded commit record.
    pub const ENCODED_SIZE: u32 = RECORD_HEADER_SIZE;

    /// Bytes [`Commit::encode`] writes: [`Commit::ENCODED_SIZE`].
    pub const fn encoded_size(&self) -> u32 {
        Self::ENCODED_SIZE
    }

    /// Writes the commit record of a group with `lsn` (above every intent's LSN).
    ///
    /// # Panics
    ///
    /// As [`LogRecord::encode`], and if the count is `0` or above
    /// [`GROUP_RECORD_COUNT_MAX`], or `lsn - lsn_first < record_count`.
    pub fn encode(&self, lsn: u64, target: &mut [u8]) {
        LogRecord {
            lsn,
            body: Body::Commit(*self),
        }
        .encode(target);
    }
}

/// Bytes [`encode_group`] writes for `records`: every intent plus the commit record.
///
/// # Panics
///
/// As [`Record::encoded_size`].
pub fn group_encoded_size<'r>(records: impl IntoIterator<Item = Record<'r>>) -> u64 {
    let intents_size: u64 = records
        .into_iter()
        .map(|record| u64::from(record.encoded_size()))
        .sum();
    intents_size + u64::from(Commit::ENCODED_SIZE)
}

/// Writes a group: `records` as intents with LSNs `lsn_first, lsn_first + 1, ...`, then
/// the commit record with the next LSN, which is returned. Recovery applies the group
/// only if that commit record is on disk and intact (the protocol is in `docs/FORMAT.md`).
///
/// The records come as an iterator (walked twice: to size, then to encode) so a caller that
/// keeps records in its own form, as the runtime's log buffer does, needs no slice of them.
/// The writer reserves `count + 1` consecutive LSNs for the group, so no other record of
/// any log falls inside a group's LSN range.
///
/// # Panics
///
/// If `records` is empty or longer than [`GROUP_RECORD_COUNT_MAX`], the LSNs would
/// overflow, `target.len()` is not exactly [`group_encoded_size`], or a record cannot be
/// encoded (as [`LogRecord::encode`]).
pub fn encode_group<'r, I>(records: I, lsn_first: u64, target: &mut [u8]) -> u64
where
    I: IntoIterator<Item = Record<'r>>,
    I::IntoIter: Clone,
{
    let records = records.into_iter();
    let count = records.clone().count();
    assert!(count > 0, "empty group");
    let Ok(record_count) = u32::try_from(count) else {
        panic!("group of {count} records");
    };
    assert!(
        record_count <= GROUP_RECORD_COUNT_MAX,
        "count={record_count}"
    );
    let Some(commit_lsn) = lsn_first.checked_add(u64::from(record_count)) else {
        panic!("LSN overflow: first={lsn_first} count={record_count}");
    };
    let size = group_encoded_size(records.clone());
    assert!(
        target.len() as u64 == size,
        "target={} size={size}",
        target.len()
    );

    let mut offset = 0;
    let mut lsn = lsn_first;
    for record in records {
        let end = offset + usize_from(record.encoded_size());
        record.encode_intent(lsn, &mut target[offset..end]);
        offset = end;
        lsn += 1;
    }
    assert!(lsn == commit_lsn, "lsn={lsn} commit={commit_lsn}");
    Commit {
        lsn_first,
        record_count,
    }
    .encode(commit_lsn, &mut target[offset..]);
    commit_lsn
}

fn decode_change<'a>(
    kind: Kind,
    db: u8,
    key: &'a [u8],
    value: &'a [u8],
    expires_at: Timestamp,
) -> Result<Record<'a>, DecodeError> {
    let db_valid = |db: u8| {
        if db < DATABASE_COUNT {
            Ok(db)
        } else {
            Err(DecodeError::DatabaseInvalid(db))
        }
    };
    let record = match kind {
        Kind::Set => Record::Set {
            db: db_valid(db)?,
            key,
            value,
            expires_at,
            value_kind: ItemKind::String,
        },
        Kind::Del => Record::Del {
            db: db_valid(db)?,
            key,
        },
        Kind::ExpireAt => Record::ExpireAt {
            db: db_valid(db)?,
            key,
            expires_at,
        },
        Kind::Clear if db == DB_ALL => Record::Clear { db: None },
        Kind::Clear => Record::Clear {
            db: Some(db_valid(db)?),
        },
        Kind::SwapDb => {
            let db_second = u8::try_from(expires_at).unwrap_or(u8::MAX);
            Record::SwapDb {
                db_first: db_valid(db)?,
                db_second: db_valid(db_second)?,
            }
        }
        Kind::Commit => unreachable!("commit records are decoded by decode_commit"),
    };
    // Canonical form: whatever the kind does not carry must be zero.
    let (key_used, value_used) = record.key_and_value();
    // The 8-byte word carries the expiry of a Set or ExpireAt and the second database of a
    // SwapDb (checked above).
    let expires_used = matches!(
        record,
        Record::Set { .. } | Record::ExpireAt { .. } | Record::SwapDb { .. }
    );
    if key_used.len() != key.len()
        || value_used.len() != value.len()
        || (!expires_used && expires_at != 0)
    {
        return Err(DecodeError::FieldInvalid);
    }
    Ok(record)
}

fn decode_commit<B: AsRef<[u8]>>(view: &RecordView<B>) -> Result<Commit, DecodeError> {
    if view.db() != 0 || view.key_size() != 0 || view.value_size() != 0 {
        return Err(DecodeError::FieldInvalid);
    }
    let commit = Commit {
        lsn_first: view.expires_at(),
        record_count: view.record_count(),
    };
    let lsn = view.lsn();
    if commit.record_count == 0
        || commit.record_count > GROUP_RECORD_COUNT_MAX
        || commit.lsn_first >= lsn
        || lsn - commit.lsn_first < u64::from(commit.record_count)
    {
        return Err(DecodeError::CommitInvalid);
    }
    Ok(commit)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    reason = "a test fails loudly on an unexpected error; its sizes are small"
)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Golden records: the bytes of format version 1, written out by hand from the layout
    // in docs/FORMAT.md and checked against an independent CRC-32 (Python's zlib.crc32).
    // If one of these changes, the on-disk format changed.
    const GOLDEN_SET: [u8; 44] = [
        0x2c, 0x00, 0x00, 0x00, 0x1e, 0xf7, 0x31, 0x1e, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x01, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x6b, 0x31, 0x76, 0x31,
    ];
    const GOLDEN_DEL: [u8; 43] = [
        0x2b, 0x00, 0x00, 0x00, 0x13, 0xd3, 0x55, 0x28, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x02, 0x00, 0x02, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x6b, 0x65, 0x79,
    ];
    const GOLDEN_EXPIRE_AT: [u8; 41] = [
        0x29, 0x00, 0x00, 0x00, 0xc8, 0xcf, 0xa7, 0x83, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x03, 0x00, 0x03, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x68, 0xe5, 0xcf, 0x8b, 0x01, 0x00, 0x00, 0x6b,
    ];
    const GOLDEN_CLEAR_ONE: [u8; 40] = [
        0x28, 0x00, 0x00, 0x00, 0xf4, 0xf3, 0xcc, 0x5e, 0x13, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x04, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];
    const GOLDEN_CLEAR_ALL: [u8; 40] = [
        0x28, 0x00, 0x00, 0x00, 0x92, 0x8d, 0xcb, 0xa2, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x04, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];
    const GOLDEN_SWAP_DB: [u8; 40] = [
        0x28, 0x00, 0x00, 0x00, 0xcf, 0x29, 0x67, 0x13, 0x15, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x06, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];
    const GOLDEN_INTENT_SET: [u8; 41] = [
        0x29, 0x00, 0x00, 0x00, 0x05, 0xf6, 0x29, 0x08, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x61,
    ];
    const GOLDEN_COMMIT: [u8; 40] = [
        0x28, 0x00, 0x00, 0x00, 0x8c, 0x8d, 0xbb, 0xaa, 0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
        0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    fn encode_to_vec(record: &LogRecord<'_>) -> Vec<u8> {
        let mut bytes = vec![0; record.encoded_size() as usize];
        record.encode(&mut bytes);
        bytes
    }

    fn decode(bytes: &[u8]) -> Result<LogRecord<'_>, DecodeError> {
        LogRecord::decode_bytes(bytes).map(|(record, size)| {
            assert!(size as usize <= bytes.len());
            record
        })
    }

    /// Recomputes the checksum after a test edits a field, so the edit is seen as intact.
    fn checksum_fix(bytes: &mut [u8]) {
        let size = read_u32(bytes, field::SIZE) as usize;
        let checksum = crc32fast::hash(&bytes[field::CHECKSUM.end..size]);
        bytes[field::CHECKSUM].copy_from_slice(&checksum.to_le_bytes());
    }

    fn golden_cases() -> [(LogRecord<'static>, &'static [u8]); 8] {
        let standalone = |lsn, record| LogRecord {
            lsn,
            body: Body::Standalone(record),
        };
        [
            (
                standalone(
                    0x10,
                    Record::Set {
                        db: 1,
                        key: b"k1",
                        value: b"v1",
                        expires_at: 0x0102_0304_0506_0708,
                        value_kind: ItemKind::String,
                    },
                ),
                &GOLDEN_SET,
            ),
            (
                standalone(0x11, Record::Del { db: 2, key: b"key" }),
                &GOLDEN_DEL,
            ),
            (
                standalone(
                    0x12,
                    Record::ExpireAt {
                        db: 3,
                        key: b"k",
                        expires_at: 1_700_000_000_000,
                    },
                ),
                &GOLDEN_EXPIRE_AT,
            ),
            (
                standalone(0x13, Record::Clear { db: Some(4) }),
                &GOLDEN_CLEAR_ONE,
            ),
            (
                standalone(0x14, Record::Clear { db: None }),
                &GOLDEN_CLEAR_ALL,
            ),
            (
                standalone(
                    0x15,
                    Record::SwapDb {
                        db_first: 2,
                        db_second: 9,
                    },
                ),
                &GOLDEN_SWAP_DB,
            ),
            (
                LogRecord {
                    lsn: 0x20,
                    body: Body::Intent(Record::Set {
                        db: 0,
                        key: b"a",
                        value: b"",
                        expires_at: 0,
                        value_kind: ItemKind::String,
                    }),
                },
                &GOLDEN_INTENT_SET,
            ),
            (
                LogRecord {
                    lsn: 0x21,
                    body: Body::Commit(Commit {
                        lsn_first: 0x20,
                        record_count: 1,
                    }),
                },
                &GOLDEN_COMMIT,
            ),
        ]
    }

    #[test]
    fn record_golden_encode() {
        for (record, golden) in golden_cases() {
            assert_eq!(encode_to_vec(&record), golden, "{record:?}");
        }
    }

    #[test]
    fn record_golden_decode() {
        for (record, golden) in golden_cases() {
            assert_eq!(
                LogRecord::decode_bytes(golden),
                Ok((record, golden.len() as u32))
            );
            let view = RecordView::new_checked(golden).unwrap();
            assert_eq!(view.size() as usize, golden.len());
            assert_eq!(view.lsn(), record.lsn);
            assert_eq!(view.version(), RECORD_VERSION);
            assert_eq!(Kind::try_from(view.kind_tag()), Ok(record.kind()));
            assert!(view.checksum_verify());
        }
    }

    #[test]
    fn record_golden_convenience_encoders() {
        let set = Record::Set {
            db: 1,
            key: b"k1",
            value: b"v1",
            expires_at: 0x0102_0304_0506_0708,
            value_kind: ItemKind::String,
        };
        let mut bytes = vec![0; set.encoded_size() as usize];
        set.encode(0x10, &mut bytes);
        assert_eq!(bytes, GOLDEN_SET);

        let intent = Record::Set {
            db: 0,
            key: b"a",
            value: b"",
            expires_at: 0,
            value_kind: ItemKind::String,
        };
        let mut group = vec![0; group_encoded_size([intent]) as usize];
        assert_eq!(encode_group([intent], 0x20, &mut group), 0x21);
        assert_eq!(group[..GOLDEN_INTENT_SET.len()], GOLDEN_INTENT_SET);
        assert_eq!(group[GOLDEN_INTENT_SET.len()..], GOLDEN_COMMIT);

        let mut commit = [0; Commit::ENCODED_SIZE as usize];
        Commit {
            lsn_first: 0x20,
            record_count: 1,
        }
        .encode(0x21, &mut commit);
        assert_eq!(commit, GOLDEN_COMMIT);
    }

    #[test]
    fn record_kind_tags() {
        for tag in 0..=u8::MAX {
            match Kind::try_from(tag) {
                Ok(kind) => assert_eq!(u8::from(kind), tag),
                Err(error) => {
                    assert!(tag == 0 || tag > 6, "tag={tag}");
                    assert_eq!(error, DecodeError::UnknownKind(tag));
                }
            }
        }
    }

    #[test]
    fn record_decode_truncated() {
        for size in 0..GOLDEN_SET.len() {
            assert_eq!(
                decode(&GOLDEN_SET[..size]),
                Err(DecodeError::Truncated),
                "size={size}"
            );
        }
        // Trailing bytes after the record are not part of it.
        let mut longer = GOLDEN_SET.to_vec();
        longer.extend_from_slice(&[0xAA; 9]);
        assert_eq!(
            LogRecord::decode_bytes(&longer).map(|(_, size)| size),
            Ok(44)
        );
    }

    #[test]
    fn record_decode_size_invalid() {
        let size_set = |size: u32| {
            let mut bytes = GOLDEN_SET.to_vec();
            bytes[field::SIZE].copy_from_slice(&size.to_le_bytes());
            bytes
        };
        for size in [0, 39, 43, 45, RECORD_SIZE_MAX + 1, u32::MAX] {
            assert_eq!(
                decode(&size_set(size)),
                Err(DecodeError::SizeInvalid),
                "size={size}"
            );
        }
        let mut key_large = GOLDEN_SET.to_vec();
        key_large[field::KEY_SIZE].copy_from_slice(&(RECORD_KEY_SIZE_MAX + 1).to_le_bytes());
        assert_eq!(decode(&key_large), Err(DecodeError::SizeInvalid));
        let mut value_large = GOLDEN_SET.to_vec();
        value_large[field::VALUE_SIZE].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode(&value_large), Err(DecodeError::SizeInvalid));
    }

    #[test]
    fn record_decode_checksum_mismatch() {
        // Every single bit flip after the size field is caught (flips in SIZE are size
        // errors, see record_decode_size_invalid).
        for bit in field::CHECKSUM.start * 8..GOLDEN_SET.len() * 8 {
            let mut bytes = GOLDEN_SET.to_vec();
            bytes[bit / 8] ^= 1 << (bit % 8);
            let error = decode(&bytes).unwrap_err();
            assert!(
                matches!(
                    error,
                    DecodeError::ChecksumMismatch | DecodeError::SizeInvalid
                ),
                "bit={bit} {error:?}"
            );
        }
        let mut bytes = GOLDEN_SET.to_vec();
        bytes[42] ^= 0x01;
        assert_eq!(decode(&bytes), Err(DecodeError::ChecksumMismatch));
    }

    #[test]
    fn record_decode_unsupported_version() {
        for version in [0, 2, 255] {
            let mut bytes = GOLDEN_DEL.to_vec();
            bytes[field::VERSION] = version;
            checksum_fix(&mut bytes);
            assert_eq!(
                decode(&bytes),
                Err(DecodeError::UnsupportedVersion(version))
            );
        }
    }

    #[test]
    fn record_decode_unknown_kind() {
        for tag in [0, 7, 0x80, 255] {
            let mut bytes = GOLDEN_CLEAR_ONE.to_vec();
            bytes[field::KIND] = tag;
            checksum_fix(&mut bytes);
            assert_eq!(decode(&bytes), Err(DecodeError::UnknownKind(tag)));
        }
    }

    #[test]
    fn record_decode_flags_invalid() {
        for flags in [0x08, 0x80, 0xFF, FLAG_COMPACT | FLAG_PART] {
            let mut bytes = GOLDEN_SET.to_vec();
            bytes[field::FLAGS] = flags;
            checksum_fix(&mut bytes);
            assert_eq!(decode(&bytes), Err(DecodeError::FlagsInvalid(flags)));
        }
        // FLAG_COMPACT belongs to Set records only.
        let mut del = GOLDEN_DEL.to_vec();
        del[field::FLAGS] = FLAG_COMPACT;
        checksum_fix(&mut del);
        assert_eq!(decode(&del), Err(DecodeError::FlagsInvalid(FLAG_COMPACT)));
        // On a Set it says the value is a compact collection, and round-trips.
        for flags in [FLAG_COMPACT, FLAG_COMPACT | FLAG_INTENT] {
            let mut bytes = GOLDEN_SET.to_vec();
            bytes[field::FLAGS] = flags;
            checksum_fix(&mut bytes);
            let decoded = decode(&bytes).unwrap();
            let (Body::Standalone(record) | Body::Intent(record)) = decoded.body else {
                panic!("a Set decodes to a change");
            };
            assert!(matches!(
                record,
                Record::Set {
                    value_kind: ItemKind::Compact,
                    ..
                }
            ));
            assert_eq!(encode_to_vec(&decoded), bytes);
        }
        let mut commit = GOLDEN_COMMIT.to_vec();
        commit[field::FLAGS] = FLAG_INTENT;
        checksum_fix(&mut commit);
        assert_eq!(decode(&commit), Err(DecodeError::FlagsInvalid(FLAG_INTENT)));
    }

    #[test]
    fn record_decode_database_invalid() {
        for golden in [
            &GOLDEN_SET[..],
            &GOLDEN_DEL,
            &GOLDEN_EXPIRE_AT,
            &GOLDEN_CLEAR_ONE,
            &GOLDEN_SWAP_DB,
        ] {
            for db in [DATABASE_COUNT, 100, DB_ALL - 1] {
                let mut bytes = golden.to_vec();
                bytes[field::DB] = db;
                checksum_fix(&mut bytes);
                assert_eq!(decode(&bytes), Err(DecodeError::DatabaseInvalid(db)));
            }
        }
        // DB_ALL is a valid database byte only for a Clear.
        let mut set_all = GOLDEN_SET.to_vec();
        set_all[field::DB] = DB_ALL;
        checksum_fix(&mut set_all);
        assert_eq!(decode(&set_all), Err(DecodeError::DatabaseInvalid(DB_ALL)));
        // A SwapDb's second database is checked as its first is.
        for db_second in [16_u64, 255, 256, u64::MAX] {
            let mut bytes = GOLDEN_SWAP_DB.to_vec();
            bytes[field::DB_SECOND].copy_from_slice(&db_second.to_le_bytes());
            checksum_fix(&mut bytes);
            let shown = u8::try_from(db_second).unwrap_or(u8::MAX);
            assert_eq!(decode(&bytes), Err(DecodeError::DatabaseInvalid(shown)));
        }
    }

    #[test]
    fn record_decode_field_invalid() {
        // A Del with a value: sizes stay consistent, the kind does not carry a value.
        let mut del_value = GOLDEN_SET.to_vec();
        del_value[field::KIND] = Kind::Del.into();
        del_value[field::EXPIRES_AT].fill(0);
        checksum_fix(&mut del_value);
        assert_eq!(decode(&del_value), Err(DecodeError::FieldInvalid));

        let mut del_expiry = GOLDEN_DEL.to_vec();
        del_expiry[field::EXPIRES_AT].copy_from_slice(&7_u64.to_le_bytes());
        checksum_fix(&mut del_expiry);
        assert_eq!(decode(&del_expiry), Err(DecodeError::FieldInvalid));

        let mut clear_key = GOLDEN_DEL.to_vec();
        clear_key[field::KIND] = Kind::Clear.into();
        checksum_fix(&mut clear_key);
        assert_eq!(decode(&clear_key), Err(DecodeError::FieldInvalid));

        let mut swap_key = GOLDEN_DEL.to_vec();
        swap_key[field::KIND] = Kind::SwapDb.into();
        checksum_fix(&mut swap_key);
        assert_eq!(decode(&swap_key), Err(DecodeError::FieldInvalid));

        let mut set_count = GOLDEN_SET.to_vec();
        set_count[field::RECORD_COUNT].copy_from_slice(&1_u32.to_le_bytes());
        checksum_fix(&mut set_count);
        assert_eq!(decode(&set_count), Err(DecodeError::FieldInvalid));

        let mut commit_db = GOLDEN_COMMIT.to_vec();
        commit_db[field::DB] = 1;
        checksum_fix(&mut commit_db);
        assert_eq!(decode(&commit_db), Err(DecodeError::FieldInvalid));

        let mut commit_key = GOLDEN_DEL.to_vec();
        commit_key[field::KIND] = Kind::Commit.into();
        commit_key[field::DB] = 0;
        commit_key[field::RECORD_COUNT].copy_from_slice(&1_u32.to_le_bytes());
        checksum_fix(&mut commit_key);
        assert_eq!(decode(&commit_key), Err(DecodeError::FieldInvalid));
    }

    #[test]
    fn record_decode_commit_invalid() {
        let commit_with = |lsn: u64, lsn_first: u64, record_count: u32| {
            let mut bytes = GOLDEN_COMMIT.to_vec();
            bytes[field::LSN].copy_from_slice(&lsn.to_le_bytes());
            bytes[field::LSN_FIRST].copy_from_slice(&lsn_first.to_le_bytes());
            bytes[field::RECORD_COUNT].copy_from_slice(&record_count.to_le_bytes());
            checksum_fix(&mut bytes);
            bytes
        };
        assert!(decode(&commit_with(10, 5, 5)).is_ok());
        for (lsn, lsn_first, record_count) in [
            (10, 5, 0),
            (10, 10, 1),
            (10, 11, 1),
            (10, 5, 6),
            (u64::MAX, 0, GROUP_RECORD_COUNT_MAX + 1),
        ] {
            assert_eq!(
                decode(&commit_with(lsn, lsn_first, record_count)),
                Err(DecodeError::CommitInvalid),
                "lsn={lsn} first={lsn_first} count={record_count}"
            );
        }
    }

    #[test]
    fn record_view_accessors() {
        let view = RecordView::new_checked(&GOLDEN_SET[..]).unwrap();
        assert_eq!(view.key(), b"k1");
        assert_eq!(view.value(), b"v1");
        assert_eq!(view.db(), 1);
        assert_eq!(view.flags(), 0);
        assert_eq!(view.key_size(), 2);
        assert_eq!(view.value_size(), 2);
        assert_eq!(view.record_count(), 0);
        assert_eq!(view.expires_at(), 0x0102_0304_0506_0708);
        assert_eq!(view.checksum(), view.checksum_compute());
        assert_eq!(view.as_bytes(), GOLDEN_SET);
        assert_eq!(view.into_inner(), &GOLDEN_SET[..]);
    }

    /// The largest key and value encode and decode; one byte more is refused by both.
    #[test]
    fn record_max_sizes() {
        let key = vec![0xA5; RECORD_KEY_SIZE_MAX as usize];
        let value = vec![0x5A; RECORD_VALUE_SIZE_MAX as usize];
        let record = LogRecord {
            lsn: u64::MAX,
            body: Body::Standalone(Record::Set {
                db: 15,
                key: &key,
                value: &value,
                expires_at: 1,
                value_kind: ItemKind::String,
            }),
        };
        assert_eq!(record.encoded_size(), RECORD_SIZE_MAX);
        let bytes = encode_to_vec(&record);
        assert_eq!(decode(&bytes), Ok(record));
    }

    #[test]
    #[should_panic(expected = "size=1048577")]
    fn record_encode_key_too_large() {
        let key = vec![0; RECORD_KEY_SIZE_MAX as usize + 1];
        let _ = Record::Del { db: 0, key: &key }.encoded_size();
    }

    #[test]
    #[should_panic(expected = "target=10 size=44")]
    fn record_encode_target_size() {
        let set = Record::Set {
            db: 1,
            key: b"k1",
            value: b"v1",
            expires_at: 0,
            value_kind: ItemKind::String,
        };
        set.encode(1, &mut [0; 10]);
    }

    #[test]
    #[should_panic(expected = "db=16")]
    fn record_encode_database_invalid() {
        let mut bytes = [0; 40];
        Record::Clear {
            db: Some(DATABASE_COUNT),
        }
        .encode(1, &mut bytes);
    }

    #[test]
    #[should_panic(expected = "db=255")]
    fn record_encode_clear_db_all_by_name() {
        let mut bytes = [0; 40];
        Record::Clear { db: Some(DB_ALL) }.encode(1, &mut bytes);
    }

    #[test]
    #[should_panic(expected = "db_second=16")]
    fn record_encode_swap_db_second_invalid() {
        let mut bytes = [0; 40];
        Record::SwapDb {
            db_first: 0,
            db_second: DATABASE_COUNT,
        }
        .encode(1, &mut bytes);
    }

    #[test]
    #[should_panic(expected = "empty group")]
    fn record_encode_group_empty() {
        encode_group([], 1, &mut [0; 40]);
    }

    fn record_strategy() -> impl Strategy<Value = (u8, Vec<u8>, Vec<u8>, u64, u8, Option<u8>)> {
        (
            0..DATABASE_COUNT,
            prop::collection::vec(any::<u8>(), 0..64),
            prop::collection::vec(any::<u8>(), 0..300),
            any::<u64>(),
            0..5_u8,
            prop::option::of(0..DATABASE_COUNT),
        )
    }

    fn record_from<'a>(
        (db, key, value, expires_at, kind, clear_db): &'a (
            u8,
            Vec<u8>,
            Vec<u8>,
            u64,
            u8,
            Option<u8>,
        ),
    ) -> Record<'a> {
        match kind {
            0 => Record::Set {
                db: *db,
                key,
                value,
                expires_at: *expires_at,
                // Odd expiries mark compact values, so round trips cover FLAG_COMPACT.
                value_kind: if *expires_at % 2 == 1 {
                    ItemKind::Compact
                } else {
                    ItemKind::String
                },
            },
            1 => Record::Del { db: *db, key },
            2 => Record::ExpireAt {
                db: *db,
                key,
                expires_at: *expires_at,
            },
            3 => Record::Clear { db: *clear_db },
            _ => Record::SwapDb {
                db_first: *db,
                db_second: clear_db.unwrap_or(0),
            },
        }
    }

    proptest! {
        #[test]
        fn record_roundtrip(fields in record_strategy(), lsn in any::<u64>(), intent in any::<bool>()) {
            let record = record_from(&fields);
            let body = if intent { Body::Intent(record) } else { Body::Standalone(record) };
            let log_record = LogRecord { lsn, body };
            let bytes = encode_to_vec(&log_record);
            prop_assert_eq!(bytes.len(), log_record.encoded_size() as usize);
            prop_assert_eq!(LogRecord::decode_bytes(&bytes), Ok((log_record, bytes.len() as u32)));
        }

        #[test]
        fn record_roundtrip_commit(lsn_first in 0..u64::MAX / 2, record_count in 1..=GROUP_RECORD_COUNT_MAX, gap in 0..1000_u64) {
            let lsn = lsn_first + u64::from(record_count) + gap;
            let log_record = LogRecord { lsn, body: Body::Commit(Commit { lsn_first, record_count }) };
            let bytes = encode_to_vec(&log_record);
            prop_assert_eq!(decode(&bytes), Ok(log_record));
        }

        #[test]
        fn record_roundtrip_group(
            records in prop::collection::vec(record_strategy(), 1..8),
            lsn_first in 0..u64::MAX / 2,
        ) {
            let records: Vec<Record<'_>> = records.iter().map(record_from).collect();
            let mut bytes = vec![0; group_encoded_size(records.iter().copied()) as usize];
            let commit_lsn = encode_group(records.iter().copied(), lsn_first, &mut bytes);
            prop_assert_eq!(commit_lsn, lsn_first + records.len() as u64);
            let mut rest = &bytes[..];
            for (index, record) in records.iter().enumerate() {
                let (decoded, size) = LogRecord::decode_bytes(rest).unwrap();
                prop_assert_eq!(decoded, LogRecord { lsn: lsn_first + index as u64, body: Body::Intent(*record) });
                rest = &rest[size as usize..];
            }
            let commit = Commit { lsn_first, record_count: records.len() as u32 };
            prop_assert_eq!(decode(rest), Ok(LogRecord { lsn: commit_lsn, body: Body::Commit(commit) }));
        }

        /// Decoding is total, and whatever decodes re-encodes to the same bytes.
        #[test]
        fn record_decode_total(bytes in prop::collection::vec(any::<u8>(), 0..128)) {
            if let Ok((record, size)) = LogRecord::decode_bytes(&bytes) {
                prop_assert_eq!(encode_to_vec(&record), &bytes[..size as usize]);
            }
        }

        /// A golden record with one byte changed and its checksum fixed either decodes to
        /// something that re-encodes to the same bytes, or fails with a typed error.
        #[test]
        fn record_decode_field_mutation(case in 0..8_usize, index in 0..41_usize, byte in any::<u8>()) {
            let golden = golden_cases()[case].1;
            let mut bytes = golden.to_vec();
            let index = field::CHECKSUM.end + index % (bytes.len() - field::CHECKSUM.end);
            bytes[index] = byte;
            checksum_fix(&mut bytes);
            if let Ok((record, size)) = LogRecord::decode_bytes(&bytes) {
                prop_assert_eq!(encode_to_vec(&record), &bytes[..size as usize]);
            }
        }
    }
}
