//! Snapshots: the live data of the store at one LSN, in one file, so that older log
//! segments can be deleted.
//!
//! A snapshot file is a header, blocks of items, and a trailer (byte layout in
//! `docs/FORMAT.md`). Every part has its own CRC32, and the trailer chains them: it
//! carries a CRC32 over the checksums of all blocks in order and the header's checksum.
//! So a snapshot that was torn, truncated, bit-flipped, or stitched from two files is
//! rejected as a whole.
//!
//! Reading: [`SnapshotView::new_checked`] validates the whole file (header, every block
//! and every item in it, trailer, counts) before anything can be read; only then do
//! [`SnapshotView::items`] and [`SnapshotView::blocks`] exist. A snapshot is therefore
//! never half-loaded. Writing: [`SnapshotWriter`] fills a caller-provided block buffer
//! item by item and hands back each sealed block, so the runtime streams a snapshot of
//! any size through a fixed buffer, with no allocation.
//!
//! Invariants: the encoding is canonical (a file that validates re-encodes, block for
//! block, to the same bytes), and the writer asserts that each block it seals validates.
//!
//! Fault assumptions: the file may be truncated at any byte, have any bit flipped, have
//! blocks lost, repeated or reordered, or carry the header of another snapshot. The
//! runtime writes a snapshot to a temporary file, fsyncs it, renames it, and fsyncs the
//! directory; a crash at any point leaves either the old or the new snapshot whole.

use super::{read_u32, read_u64, size_u32};
use crate::codec::record::{RECORD_KEY_SIZE_MAX, RECORD_VALUE_SIZE_MAX};
use crate::constants::DATABASE_COUNT;
use crate::storage::item::ItemKind;
use crate::time::Timestamp;

/// First 8 bytes of every snapshot file.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"FLOESNAP";

/// First 8 bytes of the trailer, the last [`SNAPSHOT_TRAILER_SIZE`] bytes of the file.
pub const SNAPSHOT_TRAILER_MAGIC: [u8; 8] = *b"FLOETAIL";

/// Format version this build writes, and the only one it reads.
pub const SNAPSHOT_VERSION: u32 = 1;

/// Bytes of the file header.
pub const SNAPSHOT_HEADER_SIZE: usize = 40;

/// Bytes of the file trailer.
pub const SNAPSHOT_TRAILER_SIZE: usize = 32;

/// Bytes of a block's header.
pub const SNAPSHOT_BLOCK_HEADER_SIZE: usize = 16;

/// Bytes of an item's fixed part, before its key and value.
pub const SNAPSHOT_ITEM_HEADER_SIZE: usize = 17;

/// Largest block: big enough for one item with the largest key and value a log record
/// can carry, so that every item the store holds fits in some block.
pub const SNAPSHOT_BLOCK_SIZE_MAX: u32 = 1 << 27;

/// Smallest block: a block holds at least one item.
pub const SNAPSHOT_BLOCK_SIZE_MIN: u32 = 33;

/// [`SNAPSHOT_ITEM_HEADER_SIZE`] and [`SNAPSHOT_BLOCK_HEADER_SIZE`] as the `u32` sizes
/// are computed in.
const ITEM_HEADER_SIZE: u32 = 17;
const BLOCK_HEADER_SIZE: u32 = 16;

const _: () = assert!(ITEM_HEADER_SIZE as usize == SNAPSHOT_ITEM_HEADER_SIZE);
const _: () = assert!(BLOCK_HEADER_SIZE as usize == SNAPSHOT_BLOCK_HEADER_SIZE);
const _: () = assert!(SNAPSHOT_BLOCK_SIZE_MIN == BLOCK_HEADER_SIZE + ITEM_HEADER_SIZE);

const _: () = assert!(
    SNAPSHOT_BLOCK_SIZE_MAX as u64
        >= SNAPSHOT_BLOCK_SIZE_MIN as u64
            + RECORD_KEY_SIZE_MAX as u64
            + RECORD_VALUE_SIZE_MAX as u64
);
const _: () = assert!(header_field::ITEM_COUNT.end == SNAPSHOT_HEADER_SIZE);
const _: () = assert!(trailer_field::HEADER_CHECKSUM.end == SNAPSHOT_TRAILER_SIZE);
const _: () = assert!(block_field::ITEM_COUNT.end == SNAPSHOT_BLOCK_HEADER_SIZE);
const _: () = assert!(item_field::DB + 1 == SNAPSHOT_ITEM_HEADER_SIZE);

/// Byte offsets in the file header.
pub mod header_field {
    use core::ops::Range;

    /// [`super::SNAPSHOT_MAGIC`].
    pub const MAGIC: Range<usize> = 0..8;
    /// CRC32 of the header bytes after this field (`u32`).
    pub const CHECKSUM: Range<usize> = 8..12;
    /// [`super::SNAPSHOT_VERSION`] (`u32`).
    pub const VERSION: Range<usize> = 12..16;
    /// LSN the snapshot covers: replay log records above it (`u64`).
    pub const LSN: Range<usize> = 16..24;
    /// Creation time, ms since the Unix epoch (`u64`).
    pub const CREATED_AT: Range<usize> = 24..32;
    /// Items in the file (`u64`).
    pub const ITEM_COUNT: Range<usize> = 32..40;
}

/// Byte offsets in a block header.
pub mod block_field {
    use core::ops::Range;

    /// Size of the whole block, header included (`u32`).
    pub const SIZE: Range<usize> = 0..4;
    /// CRC32 of the block bytes after this field (`u32`).
    pub const CHECKSUM: Range<usize> = 4..8;
    /// 0-based position of the block in the file (`u32`).
    pub const INDEX: Range<usize> = 8..12;
    /// Items in the block, at least one (`u32`).
    pub const ITEM_COUNT: Range<usize> = 12..16;
}

/// Byte offsets in an item, relative to its start.
pub mod item_field {
    use core::ops::Range;

    /// Key size in bytes (`u32`).
    pub const KEY_SIZE: Range<usize> = 0..4;
    /// Value size in bytes (`u32`).
    pub const VALUE_SIZE: Range<usize> = 4..8;
    /// Absolute expiry, ms, `0` for none (`u64`).
    pub const EXPIRES_AT: Range<usize> = 8..16;
    /// Database index (bits 0-3) and the value's kind (bits 6-7: 0 string, 1 compact
    /// collection); bits 4-5 zero (`u8`).
    pub const DB: usize = 16;
}

/// Byte offsets in the trailer.
pub mod trailer_field {
    use core::ops::Range;

    /// [`super::SNAPSHOT_TRAILER_MAGIC`].
    pub const MAGIC: Range<usize> = 0..8;
    /// CRC32 of the trailer bytes after this field (`u32`).
    pub const CHECKSUM: Range<usize> = 8..12;
    /// Blocks in the file (`u32`).
    pub const BLOCK_COUNT: Range<usize> = 12..16;
    /// Items in the file, again (`u64`).
    pub const ITEM_COUNT: Range<usize> = 16..24;
    /// CRC32 over every block's `CHECKSUM` (4 bytes each, in block order) (`u32`).
    pub const BLOCKS_CHECKSUM: Range<usize> = 24..28;
    /// The header's `CHECKSUM`: binds this trailer to that header (`u32`).
    pub const HEADER_CHECKSUM: Range<usize> = 28..32;
}

/// What a snapshot's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotHeader {
    /// The snapshot holds every change up to and including this LSN.
    pub lsn: u64,
    /// When the snapshot was started, ms since the Unix epoch.
    pub created_at: Timestamp,
    /// Items in the file.
    pub item_count: u64,
}

/// One key and its value, as stored in a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotItem<'a> {
    /// Database index, below [`DATABASE_COUNT`].
    pub db: u8,
    /// The key's bytes.
    pub key: &'a [u8],
    /// The value's bytes.
    pub value: &'a [u8],
    /// Absolute expiry, or `0` for none.
    pub expires_at: Timestamp,
    /// What the value holds (bits 6-7 of the item's `DB` byte; 0, a string, in every
    /// snapshot written before compact collections).
    pub kind: ItemKind,
}

/// Bit position of an item's kind in its `DB` byte (the database takes bits 0-3).
const ITEM_KIND_SHIFT: u32 = 6;

/// What a snapshot's trailer says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotTrailer {
    /// Blocks in the file.
    pub block_count: u32,
    /// Items in the file.
    pub item_count: u64,
    /// CRC32 over the blocks' checksums, in order.
    pub blocks_checksum: u32,
    /// The header's checksum.
    pub header_checksum: u32,
}

/// Where and why a byte slice is not a valid snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotError {
    /// Byte offset of the part (header, block, item or trailer) that is wrong.
    pub offset: u64,
    /// What is wrong with it.
    pub reason: SnapshotDecodeError,
}

/// Why a byte slice is not a valid snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnapshotDecodeError {
    /// Fewer bytes than the header, than header plus trailer, or than a block's header
    /// or declared size: a torn or truncated file.
    Truncated,
    /// The file does not start with [`SNAPSHOT_MAGIC`]: not a snapshot.
    MagicInvalid,
    /// The last [`SNAPSHOT_TRAILER_SIZE`] bytes do not start with
    /// [`SNAPSHOT_TRAILER_MAGIC`]: the file was not finished, or was cut short.
    TrailerMissing,
    /// A stored CRC32 (header, block, trailer, or the trailer's CRC over the blocks'
    /// checksums) does not match the bytes.
    ChecksumMismatch,
    /// An intact header of a format version this build does not read.
    UnsupportedVersion(u32),
    /// A block size below [`SNAPSHOT_BLOCK_SIZE_MIN`] or above
    /// [`SNAPSHOT_BLOCK_SIZE_MAX`], an item that overruns its block or whose key or value
    /// is above its maximum, or items that do not fill their block exactly.
    SizeInvalid,
    /// A block's index is not its position: a block was lost, repeated or moved.
    BlockIndexInvalid,
    /// An item names a database at or above [`DATABASE_COUNT`].
    DatabaseInvalid(u8),
    /// Item or block counts disagree (header, trailer, blocks), or a block is empty.
    CountMismatch,
    /// The trailer names another header's checksum: header and body do not belong
    /// together.
    HeaderMismatch,
}

impl core::fmt::Display for SnapshotError {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            formatter,
            "snapshot invalid at offset {}: {:?}",
            self.offset, self.reason
        )
    }
}

impl core::error::Error for SnapshotError {}

/// Why [`SnapshotWriter::push`] did not take an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// The current block has no room left: write out [`SnapshotWriter::finish_block`]
    /// and push the item again.
    BlockFull,
    /// The item does not fit even in an empty block: the block buffer must be at least
    /// `block_size_required` bytes.
    ItemTooLarge {
        /// Block buffer size this item needs.
        block_size_required: u32,
    },
}

impl SnapshotHeader {
    /// Writes the header and returns its checksum.
    pub fn encode(&self, target: &mut [u8; SNAPSHOT_HEADER_SIZE]) -> u32 {
        target[header_field::MAGIC].copy_from_slice(&SNAPSHOT_MAGIC);
        target[header_field::VERSION].copy_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
        target[header_field::LSN].copy_from_slice(&self.lsn.to_le_bytes());
        target[header_field::CREATED_AT].copy_from_slice(&self.created_at.to_le_bytes());
        target[header_field::ITEM_COUNT].copy_from_slice(&self.item_count.to_le_bytes());
        let checksum = crc32fast::hash(&target[header_field::CHECKSUM.end..]);
        target[header_field::CHECKSUM].copy_from_slice(&checksum.to_le_bytes());
        assert!(
            Self::decode(target) == Ok((*self, checksum)),
            "header does not decode"
        );
        checksum
    }

    /// Decodes the header at the start of `bytes` and returns it with its checksum.
    ///
    /// # Errors
    ///
    /// `Truncated`, `MagicInvalid`, `ChecksumMismatch` or `UnsupportedVersion`, at
    /// offset 0. The checksum is checked before the version.
    pub fn decode(bytes: &[u8]) -> Result<(Self, u32), SnapshotError> {
        let error = |reason| SnapshotError { offset: 0, reason };
        let Some(magic) = bytes.get(header_field::MAGIC) else {
            return Err(error(SnapshotDecodeError::Truncated));
        };
        if magic != SNAPSHOT_MAGIC {
            return Err(error(SnapshotDecodeError::MagicInvalid));
        }
        let Some(header) = bytes.get(..SNAPSHOT_HEADER_SIZE) else {
            return Err(error(SnapshotDecodeError::Truncated));
        };
        let checksum = read_u32(header, header_field::CHECKSUM);
        if checksum != crc32fast::hash(&header[header_field::CHECKSUM.end..]) {
            return Err(error(SnapshotDecodeError::ChecksumMismatch));
        }
        let version = read_u32(header, header_field::VERSION);
        if version != SNAPSHOT_VERSION {
            return Err(error(SnapshotDecodeError::UnsupportedVersion(version)));
        }
        let decoded = Self {
            lsn: read_u64(header, header_field::LSN),
            created_at: read_u64(header, header_field::CREATED_AT),
            item_count: read_u64(header, header_field::ITEM_COUNT),
        };
        Ok((decoded, checksum))
    }
}

impl SnapshotTrailer {
    /// Writes the trailer.
    pub fn encode(&self, target: &mut [u8; SNAPSHOT_TRAILER_SIZE]) {
        target[trailer_field::MAGIC].copy_from_slice(&SNAPSHOT_TRAILER_MAGIC);
        target[trailer_field::BLOCK_COUNT].copy_from_slice(&self.block_count.to_le_bytes());
        target[trailer_field::ITEM_COUNT].copy_from_slice(&self.item_count.to_le_bytes());
        target[trailer_field::BLOCKS_CHECKSUM].copy_from_slice(&self.blocks_checksum.to_le_bytes());
        target[trailer_field::HEADER_CHECKSUM].copy_from_slice(&self.header_checksum.to_le_bytes());
        let checksum = crc32fast::hash(&target[trailer_field::CHECKSUM.end..]);
        target[trailer_field::CHECKSUM].copy_from_slice(&checksum.to_le_bytes());
        assert!(Self::decode(target) == Ok(*self), "trailer does not decode");
    }

    /// Decodes a trailer from exactly [`SNAPSHOT_TRAILER_SIZE`] bytes.
    ///
    /// # Errors
    ///
    /// `Truncated` if `bytes` has another length, `TrailerMissing` without the magic,
    /// `ChecksumMismatch`; at offset 0.
    pub fn decode(bytes: &[u8]) -> Result<Self, SnapshotError> {
        let error = |reason| SnapshotError { offset: 0, reason };
        if bytes.len() != SNAPSHOT_TRAILER_SIZE {
            return Err(error(SnapshotDecodeError::Truncated));
        }
        if bytes[trailer_field::MAGIC] != SNAPSHOT_TRAILER_MAGIC {
            return Err(error(SnapshotDecodeError::TrailerMissing));
        }
        let checksum = read_u32(bytes, trailer_field::CHECKSUM);
        if checksum != crc32fast::hash(&bytes[trailer_field::CHECKSUM.end..]) {
            return Err(error(SnapshotDecodeError::ChecksumMismatch));
        }
        Ok(Self {
            block_count: read_u32(bytes, trailer_field::BLOCK_COUNT),
            item_count: read_u64(bytes, trailer_field::ITEM_COUNT),
            blocks_checksum: read_u32(bytes, trailer_field::BLOCKS_CHECKSUM),
            header_checksum: read_u32(bytes, trailer_field::HEADER_CHECKSUM),
        })
    }
}

impl SnapshotItem<'_> {
    /// Bytes the item takes in a block.
    ///
    /// # Panics
    ///
    /// If the key or value is above [`RECORD_KEY_SIZE_MAX`] or [`RECORD_VALUE_SIZE_MAX`].
    pub fn encoded_size(&self) -> u32 {
        let key_size = size_u32(self.key.len(), RECORD_KEY_SIZE_MAX);
        let value_size = size_u32(self.value.len(), RECORD_VALUE_SIZE_MAX);
        ITEM_HEADER_SIZE + key_size + value_size
    }

    /// Block buffer size a block holding only this item needs.
    ///
    /// # Panics
    ///
    /// As [`SnapshotItem::encoded_size`].
    pub fn block_size_required(&self) -> u32 {
        BLOCK_HEADER_SIZE + self.encoded_size()
    }
}

/// Writes a snapshot through a caller-provided block buffer, block by block.
///
/// ```
/// use floe_core::codec::snapshot::{
///     PushError, SNAPSHOT_HEADER_SIZE, SNAPSHOT_TRAILER_SIZE, SnapshotHeader, SnapshotItem,
///     SnapshotView, SnapshotWriter,
/// };
///
/// let mut file = Vec::new();
/// let mut header = [0; SNAPSHOT_HEADER_SIZE];
/// let mut block = [0; 4096];
/// let begin = SnapshotHeader { lsn: 7, created_at: 1_700_000_000_000, item_count: 1 };
/// let mut writer = SnapshotWriter::begin(begin, &mut block, &mut header);
/// file.extend_from_slice(&header); // placeholder if the count was not known
/// let item = SnapshotItem { db: 0, key: b"k", value: b"v", expires_at: 0, kind: Default::default() };
/// if let Err(PushError::BlockFull) = writer.push(&item) {
///     file.extend_from_slice(writer.finish_block());
///     writer.push(&item).expect("an empty block takes the item");
/// }
/// file.extend_from_slice(writer.finish_block());
/// let mut trailer = [0; SNAPSHOT_TRAILER_SIZE];
/// let header_final = writer.finish(&mut header, &mut trailer);
/// file.extend_from_slice(&trailer);
/// if header_final != begin {
///     file[..SNAPSHOT_HEADER_SIZE].copy_from_slice(&header); // rewrite at offset 0
/// }
///
/// let view = SnapshotView::new_checked(&file).expect("valid");
/// assert_eq!(view.items().collect::<Vec<_>>(), [item]);
/// ```
#[derive(Debug)]
pub struct SnapshotWriter<B> {
    /// The block buffer: borrowed (`&mut [u8]`) or owned (a `Vec<u8>`, so that a writer can
    /// outlive the call that began it: a snapshot streamed a piece at a time).
    block: B,
    /// Bytes of `block` used at most (its length, capped at [`SNAPSHOT_BLOCK_SIZE_MAX`]).
    block_size_max: usize,
    /// Bytes of `block` in use, the block header's space included.
    block_size: usize,
    block_item_count: u32,
    /// Blocks sealed so far; the index of the block being filled.
    block_count: u32,
    item_count: u64,
    blocks_hasher: crc32fast::Hasher,
    header: SnapshotHeader,
}

impl<B: AsMut<[u8]>> SnapshotWriter<B> {
    /// Starts a snapshot: writes `header` into `target` (write it at offset 0 of the
    /// file) and takes `block` as the block buffer (only its first
    /// [`SNAPSHOT_BLOCK_SIZE_MAX`] bytes are used).
    ///
    /// `header.item_count` is what the caller expects to push. If that is not known
    /// (items expire or change while a snapshot is taken), write this header as a
    /// placeholder and the one [`SnapshotWriter::finish`] returns at offset 0 afterwards.
    ///
    /// # Panics
    ///
    /// If `block` is shorter than [`SNAPSHOT_BLOCK_SIZE_MIN`].
    pub fn begin(
        header: SnapshotHeader,
        mut block: B,
        target: &mut [u8; SNAPSHOT_HEADER_SIZE],
    ) -> Self {
        let length = block.as_mut().len();
        assert!(length >= SNAPSHOT_BLOCK_SIZE_MIN as usize, "block={length}");
        let block_size_max = length.min(SNAPSHOT_BLOCK_SIZE_MAX as usize);
        header.encode(target);
        Self {
            block,
            block_size_max,
            block_size: SNAPSHOT_BLOCK_HEADER_SIZE,
            block_item_count: 0,
            block_count: 0,
            item_count: 0,
            blocks_hasher: crc32fast::Hasher::new(),
            header,
        }
    }

    /// Items pushed so far.
    pub const fn item_count(&self) -> u64 {
        self.item_count
    }

    /// Adds `item` to the current block.
    ///
    /// # Errors
    ///
    /// [`PushError::BlockFull`] if the block has items and no room for this one;
    /// [`PushError::ItemTooLarge`] if the item does not fit even an empty block.
    ///
    /// # Panics
    ///
    /// If the item's database is at or above [`DATABASE_COUNT`], or its key or value is
    /// above its maximum: the store never holds such an item.
    pub fn push(&mut self, item: &SnapshotItem<'_>) -> Result<(), PushError> {
        assert!(item.db < DATABASE_COUNT, "db={}", item.db);
        let item_size = item.encoded_size() as usize;
        if self.block_size + item_size > self.block_size_max {
            if self.block_item_count == 0 {
                return Err(PushError::ItemTooLarge {
                    block_size_required: item.block_size_required(),
                });
            }
            return Err(PushError::BlockFull);
        }
        if self.block_item_count == u32::MAX {
            return Err(PushError::BlockFull);
        }
        let target = &mut self.block.as_mut()[self.block_size..self.block_size + item_size];
        let key_end = SNAPSHOT_ITEM_HEADER_SIZE + item.key.len();
        target[item_field::KEY_SIZE]
            .copy_from_slice(&size_u32(item.key.len(), RECORD_KEY_SIZE_MAX).to_le_bytes());
        target[item_field::VALUE_SIZE]
            .copy_from_slice(&size_u32(item.value.len(), RECORD_VALUE_SIZE_MAX).to_le_bytes());
        target[item_field::EXPIRES_AT].copy_from_slice(&item.expires_at.to_le_bytes());
        target[item_field::DB] = item.db | ((item.kind as u8) << ITEM_KIND_SHIFT);
        target[SNAPSHOT_ITEM_HEADER_SIZE..key_end].copy_from_slice(item.key);
        target[key_end..].copy_from_slice(item.value);
        self.block_size += item_size;
        self.block_item_count += 1;
        self.item_count += 1;
        assert!(
            self.block_size <= self.block_size_max,
            "block_size={}",
            self.block_size
        );
        Ok(())
    }

    /// Seals the current block and returns its bytes, to be written after the previous
    /// block; empty if no item was pushed since the last call.
    ///
    /// # Panics
    ///
    /// If more than `u32::MAX` blocks were sealed.
    pub fn finish_block(&mut self) -> &[u8] {
        if self.block_item_count == 0 {
            return &[];
        }
        let index = self.block_count;
        let size = self.block_size;
        let block = &mut self.block.as_mut()[..size];
        block[block_field::SIZE]
            .copy_from_slice(&size_u32(size, SNAPSHOT_BLOCK_SIZE_MAX).to_le_bytes());
        block[block_field::INDEX].copy_from_slice(&index.to_le_bytes());
        block[block_field::ITEM_COUNT].copy_from_slice(&self.block_item_count.to_le_bytes());
        let checksum = crc32fast::hash(&block[block_field::CHECKSUM.end..]);
        block[block_field::CHECKSUM].copy_from_slice(&checksum.to_le_bytes());
        self.blocks_hasher.update(&checksum.to_le_bytes());
        let Some(block_count) = self.block_count.checked_add(1) else {
            panic!("more than u32::MAX blocks");
        };
        self.block_count = block_count;
        self.block_size = SNAPSHOT_BLOCK_HEADER_SIZE;
        self.block_item_count = 0;
        // Pair assertion with the reader: O(block size), as it recomputes the checksum
        // and walks every item, so in debug builds only.
        debug_assert!(SnapshotBlock::new_checked(&self.block.as_mut()[..size], index).is_ok());
        &self.block.as_mut()[..size]
    }

    /// Ends the snapshot: writes the trailer (append it after the last block) and the
    /// final header, whose item count is the number of items pushed, into the targets.
    /// Returns the final header: if it differs from the one given to `begin`, the caller
    /// writes `header_target` at offset 0 of the file before syncing it.
    ///
    /// # Panics
    ///
    /// If items were pushed since the last [`SnapshotWriter::finish_block`].
    pub fn finish(
        self,
        header_target: &mut [u8; SNAPSHOT_HEADER_SIZE],
        trailer_target: &mut [u8; SNAPSHOT_TRAILER_SIZE],
    ) -> SnapshotHeader {
        assert!(
            self.block_item_count == 0,
            "finish_block was not called: {}",
            self.block_item_count
        );
        let header = SnapshotHeader {
            item_count: self.item_count,
            ..self.header
        };
        let header_checksum = header.encode(header_target);
        let trailer = SnapshotTrailer {
            block_count: self.block_count,
            item_count: self.item_count,
            blocks_checksum: self.blocks_hasher.finalize(),
            header_checksum,
        };
        trailer.encode(trailer_target);
        header
    }
}

/// A snapshot file that validated whole.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotView<'a> {
    /// The blocks: the bytes between header and trailer.
    blocks: &'a [u8],
    header: SnapshotHeader,
    trailer: SnapshotTrailer,
}

impl<'a> SnapshotView<'a> {
    /// Validates the whole snapshot file `bytes`: the header, every block (its checksum,
    /// index and every item in it), the trailer, the chain of block checksums, and that
    /// header, trailer and blocks agree on the counts.
    ///
    /// # Errors
    ///
    /// The first problem found, with the offset of the part it is in.
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self, SnapshotError> {
        let (header, header_checksum) = SnapshotHeader::decode(bytes)?;
        let at = |offset: usize, reason| SnapshotError {
            offset: offset as u64,
            reason,
        };
        let Some(trailer_offset) = bytes.len().checked_sub(SNAPSHOT_TRAILER_SIZE) else {
            return Err(at(bytes.len(), SnapshotDecodeError::Truncated));
        };
        if trailer_offset < SNAPSHOT_HEADER_SIZE {
            return Err(at(bytes.len(), SnapshotDecodeError::Truncated));
        }
        let trailer = SnapshotTrailer::decode(&bytes[trailer_offset..])
            .map_err(|error| at(trailer_offset, error.reason))?;
        if trailer.header_checksum != header_checksum {
            return Err(at(trailer_offset, SnapshotDecodeError::HeaderMismatch));
        }

        let blocks = &bytes[SNAPSHOT_HEADER_SIZE..trailer_offset];
        let mut offset = 0;
        let mut block_count: u32 = 0;
        let mut item_count: u64 = 0;
        let mut blocks_hasher = crc32fast::Hasher::new();
        // Each block is at least SNAPSHOT_BLOCK_SIZE_MIN bytes long.
        let block_count_max = blocks.len() / SNAPSHOT_BLOCK_SIZE_MIN as usize;
        for _ in 0..=block_count_max {
            if offset == blocks.len() {
                break;
            }
            let block =
                SnapshotBlock::new_checked(&blocks[offset..], block_count).map_err(|error| {
                    SnapshotError {
                        offset: (SNAPSHOT_HEADER_SIZE + offset) as u64 + error.offset,
                        reason: error.reason,
                    }
                })?;
            blocks_hasher.update(&block.checksum.to_le_bytes());
            item_count += u64::from(block.item_count);
            let Some(block_count_next) = block_count.checked_add(1) else {
                return Err(at(trailer_offset, SnapshotDecodeError::CountMismatch));
            };
            block_count = block_count_next;
            offset += block.size as usize;
        }
        assert!(
            offset == blocks.len(),
            "offset={offset} blocks={}",
            blocks.len()
        );
        if block_count != trailer.block_count
            || item_count != trailer.item_count
            || item_count != header.item_count
        {
            return Err(at(trailer_offset, SnapshotDecodeError::CountMismatch));
        }
        if blocks_hasher.finalize() != trailer.blocks_checksum {
            return Err(at(trailer_offset, SnapshotDecodeError::ChecksumMismatch));
        }
        Ok(Self {
            blocks,
            header,
            trailer,
        })
    }

    /// The header.
    pub const fn header(&self) -> SnapshotHeader {
        self.header
    }

    /// The trailer.
    pub const fn trailer(&self) -> SnapshotTrailer {
        self.trailer
    }

    /// Every block, in file order.
    pub fn blocks(&self) -> SnapshotBlocks<'a> {
        SnapshotBlocks {
            bytes: self.blocks,
            index: 0,
        }
    }

    /// Every item, in file order.
    pub fn items(&self) -> SnapshotItems<'a> {
        SnapshotItems {
            blocks: self.blocks(),
            items: BlockItems {
                bytes: &[],
                remaining_count: 0,
            },
        }
    }
}

/// One validated block of a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotBlock<'a> {
    /// Position of the block in the file, from 0.
    pub index: u32,
    /// Items in the block.
    pub item_count: u32,
    /// The block's checksum.
    pub checksum: u32,
    /// Bytes of the block, header included.
    pub size: u32,
    /// The items' bytes.
    items: &'a [u8],
}

impl<'a> SnapshotBlock<'a> {
    /// Validates the block at the start of `bytes` (which may continue past it) and
    /// expected at position `index`: sizes, checksum, index, then every item.
    ///
    /// # Errors
    ///
    /// The first problem found, with its offset from the start of `bytes`.
    pub fn new_checked(bytes: &'a [u8], index: u32) -> Result<Self, SnapshotError> {
        let at = |offset: usize, reason| SnapshotError {
            offset: offset as u64,
            reason,
        };
        if bytes.len() < SNAPSHOT_BLOCK_HEADER_SIZE {
            return Err(at(0, SnapshotDecodeError::Truncated));
        }
        let size = read_u32(bytes, block_field::SIZE);
        if !(SNAPSHOT_BLOCK_SIZE_MIN..=SNAPSHOT_BLOCK_SIZE_MAX).contains(&size) {
            return Err(at(0, SnapshotDecodeError::SizeInvalid));
        }
        let Some(block) = bytes.get(..size as usize) else {
            return Err(at(0, SnapshotDecodeError::Truncated));
        };
        let checksum = read_u32(block, block_field::CHECKSUM);
        if checksum != crc32fast::hash(&block[block_field::CHECKSUM.end..]) {
            return Err(at(0, SnapshotDecodeError::ChecksumMismatch));
        }
        if read_u32(block, block_field::INDEX) != index {
            return Err(at(0, SnapshotDecodeError::BlockIndexInvalid));
        }
        let item_count = read_u32(block, block_field::ITEM_COUNT);
        if item_count == 0 {
            return Err(at(0, SnapshotDecodeError::CountMismatch));
        }
        let items = &block[SNAPSHOT_BLOCK_HEADER_SIZE..];
        let mut offset = 0;
        for _ in 0..item_count {
            let (_, item_size) = item_parse(&items[offset..])
                .map_err(|reason| at(SNAPSHOT_BLOCK_HEADER_SIZE + offset, reason))?;
            offset += item_size;
        }
        if offset != items.len() {
            return Err(at(
                SNAPSHOT_BLOCK_HEADER_SIZE + offset,
                SnapshotDecodeError::SizeInvalid,
            ));
        }
        Ok(Self {
            index,
            item_count,
            checksum,
            size,
            items,
        })
    }

    /// The block's items, in order.
    pub fn items(&self) -> BlockItems<'a> {
        BlockItems {
            bytes: self.items,
            remaining_count: self.item_count,
        }
    }
}

/// Iterator over the blocks of a validated snapshot.
#[derive(Debug, Clone)]
pub struct SnapshotBlocks<'a> {
    bytes: &'a [u8],
    index: u32,
}

impl<'a> Iterator for SnapshotBlocks<'a> {
    type Item = SnapshotBlock<'a>;

    fn next(&mut self) -> Option<SnapshotBlock<'a>> {
        if self.bytes.is_empty() {
            return None;
        }
        // Validated by `SnapshotView::new_checked`; checking again costs a checksum per
        // block, which loading pays once more in exchange for a pair assertion.
        match SnapshotBlock::new_checked(self.bytes, self.index) {
            Ok(block) => {
                self.bytes = &self.bytes[block.size as usize..];
                self.index += 1;
                Some(block)
            }
            Err(error) => unreachable!("snapshot blocks were validated: {error:?}"),
        }
    }
}

/// Iterator over the items of a validated block.
#[derive(Debug, Clone)]
pub struct BlockItems<'a> {
    bytes: &'a [u8],
    remaining_count: u32,
}

impl<'a> Iterator for BlockItems<'a> {
    type Item = SnapshotItem<'a>;

    fn next(&mut self) -> Option<SnapshotItem<'a>> {
        if self.remaining_count == 0 {
            assert!(
                self.bytes.is_empty(),
                "block bytes left over: {}",
                self.bytes.len()
            );
            return None;
        }
        match item_parse(self.bytes) {
            Ok((item, size)) => {
                self.bytes = &self.bytes[size..];
                self.remaining_count -= 1;
                Some(item)
            }
            Err(error) => unreachable!("snapshot items were validated: {error:?}"),
        }
    }
}

/// Iterator over every item of a validated snapshot.
#[derive(Debug, Clone)]
pub struct SnapshotItems<'a> {
    blocks: SnapshotBlocks<'a>,
    items: BlockItems<'a>,
}

impl<'a> Iterator for SnapshotItems<'a> {
    type Item = SnapshotItem<'a>;

    fn next(&mut self) -> Option<SnapshotItem<'a>> {
        if let Some(item) = self.items.next() {
            return Some(item);
        }
        // Blocks are never empty, so one step to the next block suffices.
        self.items = self.blocks.next()?.items();
        self.items.next()
    }
}

/// Parses the item at the start of `bytes` and returns it with its size.
fn item_parse(bytes: &[u8]) -> Result<(SnapshotItem<'_>, usize), SnapshotDecodeError> {
    let Some(header) = bytes.get(..SNAPSHOT_ITEM_HEADER_SIZE) else {
        return Err(SnapshotDecodeError::SizeInvalid);
    };
    let key_size = read_u32(header, item_field::KEY_SIZE);
    let value_size = read_u32(header, item_field::VALUE_SIZE);
    if key_size > RECORD_KEY_SIZE_MAX || value_size > RECORD_VALUE_SIZE_MAX {
        return Err(SnapshotDecodeError::SizeInvalid);
    }
    let db_byte = header[item_field::DB];
    let db = db_byte & !(0b11 << ITEM_KIND_SHIFT);
    let kind = ItemKind::from_bits(db_byte >> ITEM_KIND_SHIFT);
    let Some(kind) = kind.filter(|_| db < DATABASE_COUNT) else {
        return Err(SnapshotDecodeError::DatabaseInvalid(db_byte));
    };
    let key_end = SNAPSHOT_ITEM_HEADER_SIZE + key_size as usize;
    let value_end = key_end + value_size as usize;
    let (Some(key), Some(value)) = (
        bytes.get(SNAPSHOT_ITEM_HEADER_SIZE..key_end),
        bytes.get(key_end..value_end),
    ) else {
        return Err(SnapshotDecodeError::SizeInvalid);
    };
    let expires_at = read_u64(header, item_field::EXPIRES_AT);
    Ok((
        SnapshotItem {
            db,
            key,
            value,
            expires_at,
            kind,
        },
        value_end,
    ))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    reason = "a test fails loudly on an unexpected error; its sizes are small"
)]
mod tests;
