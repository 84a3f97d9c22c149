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
mod tests;
