//! Snapshots and compaction: the store's live data at one LSN, written so that a crash at any
//! point leaves either the old state or the new one, then the log segments it covers deleted.
//!
//! ```text
//! <dir>/snapshot-00000000000000004710.floe       every change up to LSN 4710
//! <dir>/snapshot-00000000000000009000.floe.tmp   being written (deleted at start if left over)
//! ```
//!
//! Taking a snapshot ([`crate::db::Db::save`]) has three phases:
//!
//! 1. **Stream**, under the store's lock: read `L`, the last LSN handed out (LSNs are
//!    assigned while the store lock is held, so every record up to `L` is in the store and
//!    none above it), and write every live item to `snapshot-<L>.floe.tmp` block by block
//!    ([`SnapshotFile::write_items`]): memory holds one block, never a copy of the store.
//!    Writes wait for this walk and the page-cache writes (a full in-memory copy, the
//!    alternative, cost as much memory again as the data; a walk that lets writes run in
//!    between needs a replay that tolerates a snapshot holding keys that never coexisted,
//!    which the no-eviction replay of `Store::apply` does not).
//! 2. **Commit**, with writes running again ([`SnapshotFile::commit`]): the file is
//!    fdatasync'ed, renamed to `snapshot-<L>.floe`, and the directory fsync'ed. Until the
//!    rename is durable, recovery uses the previous snapshot and the log, which still holds
//!    everything. A failure at any step removes the temporary file.
//! 3. **Compact** ([`compact`]): delete the snapshots older than `L` and every log segment
//!    whose records are all at or below `L` (segment `k` holds LSNs up to the name of
//!    segment `k + 1` minus one; the newest segment is never deleted), then fsync the
//!    directory.
//!
//! Why writes may continue, and why replaying over a snapshot is right: log records are
//! physical and idempotent (`Set` carries the whole value and an absolute expiry, `Del`
//! removes, `ExpireAt` sets an absolute time, `Clear` clears). Recovery loads the snapshot
//! at `L`, then replays the records above `L` in LSN order; writes made after the copy got
//! LSNs above `L`, so replay brings them back. Should a snapshot hold the effect of a record
//! above `L` (a copy made in steps while writes run, which this design allows as soon as
//! floe-core can resume its item walk), replaying that record sets the key to the value it
//! already holds or deletes it again: applying a record twice gives the state applying it
//! once does, so the state after replay is the state after the last record, whatever the
//! snapshot caught early. Today's walk is exact at `L` because it holds the store lock;
//! idempotence is why recovery does not need to know that. The exception is `SwapDb`
//! (SWAPDB), which undoes itself when replayed twice: it relies on the walk being exact at
//! `L`, so a walk made in steps must not let a SWAPDB run while it walks.
//!
//! Fault assumptions (see [`crate::io`]): a crash can interrupt any step. Before the rename
//! is durable only the temporary file is lost; after it, the new snapshot is whole (its
//! bytes were synced before the rename) and the log still holds everything until compaction
//! deletes segments, which happens only after the directory fsync made the rename durable.
//! A snapshot damaged later is caught by its checksums when it is loaded (see
//! [`crate::log::recovery`]).

use std::path::{Path, PathBuf};

use floe_core::codec::snapshot::{
    PushError, SNAPSHOT_BLOCK_HEADER_SIZE, SNAPSHOT_BLOCK_SIZE_MAX, SNAPSHOT_BLOCK_SIZE_MIN,
    SNAPSHOT_HEADER_SIZE, SNAPSHOT_ITEM_HEADER_SIZE, SNAPSHOT_TRAILER_SIZE, SnapshotBlock,
    SnapshotDecodeError, SnapshotError, SnapshotHeader, SnapshotItem, SnapshotTrailer,
    SnapshotWriter, block_field,
};
use floe_core::codec::usize_from;
use floe_core::store::{Config, Shards, Store, shards};
use floe_core::time::Timestamp;

use crate::error::Error;
use crate::io::{AppendFile, Storage};
use crate::log::{SEGMENT_NAME_LSN_DIGITS, segment_file_lsn};

/// Prefix of a snapshot's file name.
pub const SNAPSHOT_NAME_PREFIX: &str = "snapshot-";
/// Suffix of a snapshot's file name.
pub const SNAPSHOT_NAME_SUFFIX: &str = ".floe";
/// Suffix added to a snapshot's name while it is being written.
pub const SNAPSHOT_TEMP_SUFFIX: &str = ".tmp";

/// Bytes of a snapshot block: large enough that per-block overhead (16 bytes and a
/// checksum) vanishes, small enough to stay in cache while it is filled.
pub const SNAPSHOT_BLOCK_SIZE: usize = 1 << 20;

/// The file name of the snapshot covering every change up to LSN `lsn`.
#[must_use]
pub fn snapshot_file_name(lsn: u64) -> String {
    format!("{SNAPSHOT_NAME_PREFIX}{lsn:0SEGMENT_NAME_LSN_DIGITS$}{SNAPSHOT_NAME_SUFFIX}")
}

/// The name a snapshot is written under before it is renamed to [`snapshot_file_name`].
#[must_use]
pub fn snapshot_temp_name(lsn: u64) -> String {
    format!("{}{SNAPSHOT_TEMP_SUFFIX}", snapshot_file_name(lsn))
}

/// The LSN named by a snapshot file name, or `None` if `name` is not one (in exactly the
/// form [`snapshot_file_name`] writes).
#[must_use]
pub fn snapshot_file_lsn(name: &str) -> Option<u64> {
    let digits = name
        .strip_prefix(SNAPSHOT_NAME_PREFIX)?
        .strip_suffix(SNAPSHOT_NAME_SUFFIX)?;
    if digits.len() != SEGMENT_NAME_LSN_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Whether `name` is a snapshot left half-written ([`snapshot_temp_name`]).
#[must_use]
pub fn is_snapshot_temp(name: &str) -> bool {
    name.strip_suffix(SNAPSHOT_TEMP_SUFFIX)
        .is_some_and(|base| snapshot_file_lsn(base).is_some())
}

/// Bytes of block buffer a store with this configuration needs: every item fits one block.
#[must_use]
pub fn snapshot_block_size(key_size_max: u32, value_size_max: u32) -> usize {
    let item_size_max = SNAPSHOT_BLOCK_HEADER_SIZE
        + SNAPSHOT_ITEM_HEADER_SIZE
        + usize_from(key_size_max)
        + usize_from(value_size_max);
    SNAPSHOT_BLOCK_SIZE.max(item_size_max)
}

/// A snapshot being written: its temporary file, open (see the module documentation).
///
/// [`SnapshotFile::create`] opens it, [`SnapshotFile::write_items`] streams the store into
/// it block by block, [`SnapshotFile::commit`] makes it durable under its final name; a
/// failure at any step removes the temporary file.
#[derive(Debug)]
pub struct SnapshotFile {
    file: Box<dyn AppendFile>,
    temp: PathBuf,
    path: PathBuf,
    /// Bytes written.
    size: u64,
}

impl SnapshotFile {
    /// Opens the temporary file of the snapshot covering LSN `lsn` in `dir`, emptied if an
    /// interrupted snapshot of the same LSN left it.
    ///
    /// # Errors
    /// [`Error::Io`] from opening or truncating it (the file is removed then).
    pub fn create(storage: &dyn Storage, dir: &Path, lsn: u64) -> Result<Self, Error> {
        let temp = dir.join(snapshot_temp_name(lsn));
        let opened = storage.open_append(&temp).and_then(|file| {
            if file.size()? != 0 {
                // Never written over in place: stale bytes past our end would hide the
                // trailer.
                storage.truncate(&temp, 0)?;
            }
            Ok(file)
        });
        match opened {
            Ok(file) => Ok(Self {
                file,
                temp,
                path: dir.join(snapshot_file_name(lsn)),
                size: 0,
            }),
            Err(error) => {
                // It may not exist, or not go away on a failing disk: the open's error is
                // the one to report, and recovery removes a leftover.
                let _removed = storage.remove(&temp);
                Err(error)
            }
        }
    }

    /// Bytes written so far.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Streams every live item of the `stores` (a keyspace's shards, or one store) into the
    /// file as the snapshot covering LSN `lsn`, through one block of memory, whatever the
    /// stores hold. Items expired at `now` are left out. Returns the header written.
    ///
    /// # Errors
    /// [`Error::Io`] from a write; the caller then [`SnapshotFile::abandon`]s the file.
    pub fn write_items(
        &mut self,
        stores: &mut dyn Shards<'_>,
        lsn: u64,
        now: Timestamp,
    ) -> Result<SnapshotHeader, Error> {
        let file = &mut self.file;
        let header = snapshot_stream(stores, lsn, now, &mut |offset, bytes| {
            file.write_at(offset, bytes)
        })?;
        self.size = header.1;
        Ok(header.0)
    }

    /// Makes the snapshot durable under its final name: fdatasync, rename, fsync of the
    /// directory. Returns its path. A snapshot with the same name is replaced
    /// (atomically): it covered the same LSN, so it held the same data.
    ///
    /// # Errors
    /// [`Error::Io`] from any step; the previous snapshot and the log are untouched then.
    /// A failure before the rename removes the temporary file, so a snapshot that failed
    /// on a full disk does not keep the space the log needs next.
    pub fn commit(mut self, storage: &dyn Storage, dir: &Path) -> Result<PathBuf, Error> {
        if let Err(error) = self.file.sync_data() {
            self.abandon(storage);
            return Err(error);
        }
        let Self {
            file, temp, path, ..
        } = self;
        drop(file);
        if let Err(error) = storage.rename(&temp, &path) {
            let _removed = storage.remove(&temp); // As in `abandon`.
            return Err(error);
        }
        // A failed directory sync leaves a whole, synced snapshot under its name:
        // recovery may use it or not, the log still holds everything.
        storage.sync_dir(dir)?;
        Ok(path)
    }

    /// Closes and removes the temporary file, after a failure (best effort: on a failing
    /// disk the removal may fail too, and recovery removes a leftover).
    pub fn abandon(self, storage: &dyn Storage) {
        let Self { file, temp, .. } = self;
        drop(file);
        let _removed = storage.remove(&temp); // Best effort, as documented.
    }
}

/// Where a [`crate::db::Db`]'s snapshot is streamed, a store at a time (see
/// [`SnapshotStream`]): a file (SAVE, BGSAVE, the automatic trigger, a replica's full sync),
/// or memory (a replica's full sync from a Db with persistence off, which writes no file).
#[derive(Debug)]
pub enum SnapshotTarget {
    /// The temporary file, committed or abandoned once the stream ends.
    File(SnapshotFile),
    /// The snapshot's bytes.
    Memory(Vec<u8>),
}

impl SnapshotTarget {
    /// Starts streaming the snapshot covering LSN `lsn`, `item_count` items of stores with
    /// `config`; [`SnapshotTarget::stream_end`] ends it.
    ///
    /// # Errors
    /// [`Error::Io`] from writing the header; the caller then abandons a file.
    pub fn stream_begin(
        &mut self,
        lsn: u64,
        now: Timestamp,
        item_count: u64,
        config: &Config,
    ) -> Result<SnapshotStream, Error> {
        SnapshotStream::begin(lsn, now, item_count, config, &mut |offset, bytes| {
            self.write_at(offset, bytes)
        })
    }

    /// Streams `store` (a failure is kept for [`SnapshotTarget::stream_end`]).
    pub fn stream_store(&mut self, stream: &mut SnapshotStream, store: &Store<'_>) {
        stream.push_store(store, &mut |offset, bytes| self.write_at(offset, bytes));
    }

    /// Ends the streamed snapshot; returns the header written.
    ///
    /// # Errors
    /// The first failed write; the caller then abandons a file.
    pub fn stream_end(&mut self, stream: SnapshotStream) -> Result<SnapshotHeader, Error> {
        let (header, size) = stream.finish(&mut |offset, bytes| self.write_at(offset, bytes))?;
        if let Self::File(file) = self {
            file.size = size;
        }
        Ok(header)
    }

    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> Result<(), Error> {
        match self {
            Self::File(file) => file.file.write_at(offset, bytes),
            Self::Memory(image) => {
                image_write(image, offset, bytes);
                Ok(())
            }
        }
    }
}

/// Writes `bytes` at `offset` of `image`, growing it as needed.
fn image_write(image: &mut Vec<u8>, offset: u64, bytes: &[u8]) {
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    if image.len() < offset + bytes.len() {
        image.resize(offset + bytes.len(), 0);
    }
    image[offset..offset + bytes.len()].copy_from_slice(bytes);
}

/// Encodes every live item of the `stores` as a snapshot covering LSN `lsn` into `image`
/// (cleared first), as [`SnapshotFile::write_items`] writes it to a file. Returns the
/// header. For tests and tools: a [`crate::db::Db`] streams its snapshots.
pub fn snapshot_encode(
    stores: &mut dyn Shards<'_>,
    lsn: u64,
    now: Timestamp,
    image: &mut Vec<u8>,
) -> SnapshotHeader {
    image.clear();
    let encoded = snapshot_stream(stores, lsn, now, &mut |offset, bytes| {
        image_write(image, offset, bytes);
        Ok(())
    });
    match encoded {
        Ok((header, _)) => header,
        Err(_) => unreachable!("writing to memory does not fail"),
    }
}

/// Where [`snapshot_stream`] puts its bytes: `write(offset, bytes)`.
type SnapshotSink<'w> = dyn FnMut(u64, &[u8]) -> Result<(), Error> + 'w;

/// The snapshot of the `stores` at LSN `lsn`, handed to `write(offset, bytes)` piece by
/// piece (see [`SnapshotStream`]). Returns the final header and the size written.
fn snapshot_stream(
    stores: &mut dyn Shards<'_>,
    lsn: u64,
    now: Timestamp,
    write: &mut SnapshotSink<'_>,
) -> Result<(SnapshotHeader, u64), Error> {
    let config = *stores.store(0).config();
    let item_count = shards::len(stores) as u64;
    let mut stream = SnapshotStream::begin(lsn, now, item_count, &config, write)?;
    for shard in 0..stores.count() {
        stream.push_store(stores.store(shard), write);
    }
    stream.finish(write)
}

/// A snapshot written a store at a time: the shards of a keyspace one after the other, each
/// whenever its turn comes (see `db/snapshots.rs`), through one block of memory.
///
/// The bytes go to `write(offset, bytes)`: a placeholder header at [`SnapshotStream::begin`],
/// each block as it fills, then the trailer and the final header at offset 0 (items expired
/// at the snapshot's `now`, counted in the placeholder, are left out).
///
/// Invariants: a failed write is remembered and every later one skipped, so a walk never
/// stops halfway through a store's items; [`SnapshotStream::finish`] returns that failure.
#[derive(Debug)]
pub struct SnapshotStream {
    writer: SnapshotWriter<Vec<u8>>,
    /// The placeholder header, as written at offset 0.
    begin: SnapshotHeader,
    /// Where the next block goes.
    offset: u64,
    /// The first failed write.
    failure: Option<Error>,
    /// Items expired at this time are left out.
    now: Timestamp,
}

impl SnapshotStream {
    /// Starts the snapshot covering LSN `lsn`: a block buffer sized for `config`'s largest
    /// item, and the placeholder header, which says `item_count` items.
    ///
    /// # Errors
    /// [`Error::Io`] from writing the header.
    pub fn begin(
        lsn: u64,
        now: Timestamp,
        item_count: u64,
        config: &Config,
        write: &mut SnapshotSink<'_>,
    ) -> Result<Self, Error> {
        let block = vec![0; snapshot_block_size(config.key_size_max, config.value_size_max)];
        let begin = SnapshotHeader {
            lsn,
            created_at: now,
            item_count,
        };
        let mut header = [0u8; SNAPSHOT_HEADER_SIZE];
        let writer = SnapshotWriter::begin(begin, block, &mut header);
        write(0, &header)?;
        Ok(Self {
            writer,
            begin,
            offset: SNAPSHOT_HEADER_SIZE as u64,
            failure: None,
            now,
        })
    }

    /// Streams every item of `store` live at the snapshot's `now`; a write failure is kept
    /// for [`SnapshotStream::finish`].
    ///
    /// # Panics
    /// If an item does not fit a block of [`snapshot_block_size`] bytes: the store never
    /// holds an item larger than its configured maximums.
    pub fn push_store(&mut self, store: &Store<'_>, write: &mut SnapshotSink<'_>) {
        let Self {
            writer,
            offset,
            failure,
            now,
            ..
        } = self;
        let mut write_block = |bytes: &[u8], failure: &mut Option<Error>| {
            if failure.is_none() && !bytes.is_empty() {
                match write(*offset, bytes) {
                    Ok(()) => *offset += bytes.len() as u64,
                    Err(error) => *failure = Some(error),
                }
            }
        };
        store.items(*now, |db, key, value, expires_at, kind| {
            if failure.is_some() {
                return;
            }
            let item = SnapshotItem {
                db,
                key,
                value,
                expires_at,
                kind,
            };
            match writer.push(&item) {
                Ok(()) => {}
                Err(PushError::BlockFull) => {
                    write_block(writer.finish_block(), failure);
                    let pushed = writer.push(&item);
                    assert!(pushed.is_ok(), "an empty block refused an item: {pushed:?}");
                }
                Err(PushError::ItemTooLarge {
                    block_size_required,
                }) => panic!("item needs a {block_size_required}-byte block"),
            }
        });
    }

    /// Ends the snapshot: the last block, the trailer, and the final header if the count
    /// changed. Returns the final header and the bytes written.
    ///
    /// # Errors
    /// The first failed write of the whole snapshot.
    pub fn finish(mut self, write: &mut SnapshotSink<'_>) -> Result<(SnapshotHeader, u64), Error> {
        let last = self.writer.finish_block();
        if self.failure.is_none() && !last.is_empty() {
            match write(self.offset, last) {
                Ok(()) => self.offset += last.len() as u64,
                Err(error) => self.failure = Some(error),
            }
        }
        if let Some(error) = self.failure {
            return Err(error);
        }
        let mut header = [0u8; SNAPSHOT_HEADER_SIZE];
        let mut trailer = [0u8; SNAPSHOT_TRAILER_SIZE];
        let final_header = self.writer.finish(&mut header, &mut trailer);
        write(self.offset, &trailer)?;
        let size = self.offset + SNAPSHOT_TRAILER_SIZE as u64;
        if final_header != self.begin {
            write(0, &header)?;
        }
        assert!(
            final_header.lsn == self.begin.lsn,
            "lsn={}",
            final_header.lsn
        );
        Ok((final_header, size))
    }
}

/// Why [`snapshot_read`] stopped.
#[derive(Debug)]
pub enum SnapshotReadError<E> {
    /// Reading the file failed.
    Io(Error),
    /// The file is not a valid snapshot (as [`SnapshotView::new_checked`] would say).
    ///
    /// [`SnapshotView::new_checked`]: floe_core::codec::snapshot::SnapshotView::new_checked
    Invalid(SnapshotError),
    /// `visit` refused a block.
    Visit(E),
}

impl<E> From<Error> for SnapshotReadError<E> {
    fn from(error: Error) -> Self {
        Self::Io(error)
    }
}

/// Reads the snapshot file at `path` a block at a time (memory: one block, whatever the
/// file's size) and checks it whole, exactly as `SnapshotView::new_checked` checks a file
/// in memory: header, every block and item, trailer, the chain of block checksums, the
/// counts. Calls `visit` with each block once it validated, so a caller that must never
/// half-load reads twice: once with a `visit` that does nothing, then to load. Returns the
/// header.
///
/// # Errors
/// [`SnapshotReadError::Io`] for a failed read, [`SnapshotReadError::Invalid`] with the
/// offset and reason of the first problem, or `visit`'s error.
pub fn snapshot_read<E>(
    storage: &dyn Storage,
    path: &Path,
    visit: &mut dyn FnMut(&SnapshotBlock<'_>) -> Result<(), E>,
) -> Result<SnapshotHeader, SnapshotReadError<E>> {
    let invalid =
        |offset: u64, reason| SnapshotReadError::Invalid(SnapshotError { offset, reason });
    let size = storage.size(path)?;
    let header_bytes = storage.read_range(path, 0, SNAPSHOT_HEADER_SIZE as u64)?;
    let (header, header_checksum) =
        SnapshotHeader::decode(&header_bytes).map_err(SnapshotReadError::Invalid)?;
    let Some(trailer_offset) = size.checked_sub(SNAPSHOT_TRAILER_SIZE as u64) else {
        return Err(invalid(size, SnapshotDecodeError::Truncated));
    };
    if trailer_offset < SNAPSHOT_HEADER_SIZE as u64 {
        return Err(invalid(size, SnapshotDecodeError::Truncated));
    }
    let trailer_bytes = storage.read_range(path, trailer_offset, SNAPSHOT_TRAILER_SIZE as u64)?;
    let trailer = SnapshotTrailer::decode(&trailer_bytes)
        .map_err(|error| invalid(trailer_offset, error.reason))?;
    if trailer.header_checksum != header_checksum {
        return Err(invalid(trailer_offset, SnapshotDecodeError::HeaderMismatch));
    }
    let mut offset = SNAPSHOT_HEADER_SIZE as u64;
    let mut block_count: u32 = 0;
    let mut item_count: u64 = 0;
    let mut blocks_hasher = crc32fast::Hasher::new();
    // Each block is at least SNAPSHOT_BLOCK_SIZE_MIN bytes long.
    let block_count_max = (trailer_offset - offset) / u64::from(SNAPSHOT_BLOCK_SIZE_MIN);
    for _ in 0..=block_count_max {
        if offset == trailer_offset {
            break;
        }
        let remaining = trailer_offset - offset;
        let head = storage.read_range(
            path,
            offset,
            remaining.min(SNAPSHOT_BLOCK_HEADER_SIZE as u64),
        )?;
        // The block's declared size, if it is one the format allows; the block check
        // below reports a bad one exactly as the in-memory check does.
        let declared = head
            .get(block_field::SIZE)
            .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
            .map(u32::from_le_bytes)
            .filter(|size| (SNAPSHOT_BLOCK_SIZE_MIN..=SNAPSHOT_BLOCK_SIZE_MAX).contains(size));
        let bytes = match declared {
            Some(block_size) => {
                storage.read_range(path, offset, remaining.min(u64::from(block_size)))?
            }
            None => head,
        };
        let block = SnapshotBlock::new_checked(&bytes, block_count)
            .map_err(|error| invalid(offset + error.offset, error.reason))?;
        visit(&block).map_err(SnapshotReadError::Visit)?;
        blocks_hasher.update(&block.checksum.to_le_bytes());
        item_count += u64::from(block.item_count);
        let Some(block_count_next) = block_count.checked_add(1) else {
            return Err(invalid(trailer_offset, SnapshotDecodeError::CountMismatch));
        };
        block_count = block_count_next;
        offset += u64::from(block.size);
    }
    assert!(
        offset == trailer_offset,
        "offset={offset} trailer={trailer_offset}"
    );
    if block_count != trailer.block_count
        || item_count != trailer.item_count
        || item_count != header.item_count
    {
        return Err(invalid(trailer_offset, SnapshotDecodeError::CountMismatch));
    }
    if blocks_hasher.finalize() != trailer.blocks_checksum {
        return Err(invalid(
            trailer_offset,
            SnapshotDecodeError::ChecksumMismatch,
        ));
    }
    Ok(header)
}

/// What [`compact`] deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compaction {
    /// Log segments whose records were all covered by the snapshot.
    pub segments_removed: Vec<String>,
    /// Older snapshots.
    pub snapshots_removed: Vec<String>,
}

/// Deletes what the durable snapshot at `lsn` makes unnecessary: older snapshots (and
/// leftover temporary files of older ones) and every log segment whose records are all at
/// or below `lsn`, then fsyncs the directory.
///
/// Call only after [`snapshot_write`] returned for `lsn`. Segments are deleted oldest first,
/// so a crash in between leaves a contiguous suffix of the log.
///
/// # Errors
/// [`Error::Io`] from listing, removing or syncing; what was removed stays removed (it was
/// covered), the rest is removed by the next compaction.
pub fn compact(storage: &dyn Storage, dir: &Path, lsn: u64) -> Result<Compaction, Error> {
    let names = storage.list(dir)?;
    let mut segments: Vec<(u64, &String)> = names
        .iter()
        .filter_map(|name| segment_file_lsn(name).map(|first| (first, name)))
        .collect();
    segments.sort_unstable();
    let mut compaction = Compaction::default();
    // Segment k holds LSNs below the first LSN of segment k + 1, so it is covered when that
    // first LSN is at most lsn + 1. The newest segment (being written) is never removed.
    for pair in segments.windows(2) {
        let [(_, name), (next_first, _)] = pair else {
            unreachable!("windows(2) yields pairs")
        };
        if *next_first > lsn.saturating_add(1) {
            break;
        }
        storage.remove(&dir.join(name))?;
        compaction.segments_removed.push((*name).clone());
    }
    for name in &names {
        let older = match snapshot_file_lsn(name) {
            Some(snapshot_lsn) => snapshot_lsn < lsn,
            None => name
                .strip_suffix(SNAPSHOT_TEMP_SUFFIX)
                .and_then(snapshot_file_lsn)
                .is_some_and(|temp_lsn| temp_lsn < lsn),
        };
        if older {
            storage.remove(&dir.join(name))?;
            compaction.snapshots_removed.push(name.clone());
        }
    }
    if !compaction.segments_removed.is_empty() || !compaction.snapshots_removed.is_empty() {
        storage.sync_dir(dir)?;
    }
    Ok(compaction)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use crate::memory::OwnedStore;
    use floe_core::codec::snapshot::SnapshotView;
    use floe_core::store::{Config, SetOptions};

    #[test]
    fn snapshot_names_parse_back() {
        assert_eq!(snapshot_file_name(42), "snapshot-00000000000000000042.floe");
        for lsn in [0, 1, 42, u64::MAX] {
            assert_eq!(snapshot_file_lsn(&snapshot_file_name(lsn)), Some(lsn));
            assert!(is_snapshot_temp(&snapshot_temp_name(lsn)));
            assert!(!is_snapshot_temp(&snapshot_file_name(lsn)));
        }
        for name in ["snapshot-1.floe", "log-00000000000000000001.floe", "LOCK"] {
            assert_eq!(snapshot_file_lsn(name), None, "{name}");
        }
    }

    /// The streamed file is byte for byte the in-memory encoding, and a failed stream
    /// leaves no temporary file.
    #[test]
    fn streamed_file_equals_the_encoding_and_validates() {
        let mut owned = OwnedStore::new(Config::new(1 << 20, 10_000)).unwrap();
        owned.with(|store| {
            for index in 0..5_000u32 {
                let key = index.to_le_bytes();
                let value = vec![b'v'; 1 + (index % 300) as usize];
                store
                    .set(0, &key, &value, SetOptions::default(), 10, &mut ())
                    .unwrap();
            }
        });
        let dir = std::env::temp_dir().join(format!("floe-snapshot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let storage = crate::io::Backend::Blocking.open().unwrap();
        let mut file = SnapshotFile::create(&*storage, &dir, 77).unwrap();
        let header = owned.with(|store| file.write_items(store, 77, 20)).unwrap();
        let size = file.size();
        let path = file.commit(&*storage, &dir).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len() as u64, size);
        let mut image = Vec::new();
        let encoded = owned.with(|store| snapshot_encode(store, 77, 20, &mut image));
        assert_eq!(encoded, header);
        assert!(bytes == image);
        let view = SnapshotView::new_checked(&bytes).unwrap();
        assert_eq!(view.items().count(), 5_000);
        let abandoned = SnapshotFile::create(&*storage, &dir, 78).unwrap();
        abandoned.abandon(&*storage);
        assert!(!dir.join(snapshot_temp_name(78)).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Reading block by block judges a file exactly as checking it whole in memory does:
    /// the same verdict, offset and reason for every cut and every flipped bit tried.
    #[test]
    fn block_reads_judge_as_the_whole_file_check() {
        let mut owned = OwnedStore::new(Config::new(8 << 20, 40_000)).unwrap();
        owned.with(|store| {
            for index in 0..25_000u32 {
                let value = vec![b'v'; 40 + (index % 200) as usize];
                store
                    .set(
                        0,
                        &index.to_le_bytes(),
                        &value,
                        SetOptions::default(),
                        10,
                        &mut (),
                    )
                    .unwrap();
            }
        });
        let mut image = Vec::new();
        owned.with(|store| snapshot_encode(store, 5, 20, &mut image));
        assert!(image.len() > 3 * SNAPSHOT_BLOCK_SIZE, "several blocks");
        let dir = std::env::temp_dir().join(format!("floe-snapshot-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(snapshot_file_name(5));
        let storage = crate::io::Backend::Blocking.open().unwrap();
        let mut variants: Vec<Vec<u8>> = vec![image.clone()];
        let step = image.len() / 23;
        for cut in (0..image.len())
            .step_by(step)
            .chain([1, 39, 40, 41, 56, image.len() - 1])
        {
            variants.push(image[..cut].to_vec());
        }
        for offset in (0..image.len())
            .step_by(step / 3)
            .chain([0, 12, 20, 40, 44, 52])
        {
            let mut flipped = image.clone();
            flipped[offset] ^= 0x04;
            variants.push(flipped);
        }
        let mut block_count = 0;
        for bytes in &variants {
            std::fs::write(&path, bytes).unwrap();
            let whole = SnapshotView::new_checked(bytes).map(|view| view.header());
            let read = snapshot_read::<()>(&*storage, &path, &mut |_| {
                block_count += 1;
                Ok(())
            });
            match (whole, read) {
                (Ok(expected), Ok(header)) => assert_eq!(expected, header),
                (Err(expected), Err(SnapshotReadError::Invalid(error))) => {
                    assert_eq!(expected, error, "size {}", bytes.len());
                }
                (whole, read) => panic!("size {}: {whole:?} but {read:?}", bytes.len()),
            }
        }
        assert!(block_count > 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn encode_skips_expired_items_and_validates() {
        let mut owned = OwnedStore::new(Config::new(256 * 1024, 1000)).unwrap();
        owned.with(|store| {
            for index in 0..300u32 {
                let options = SetOptions {
                    expiry: if index % 3 == 0 {
                        floe_core::store::SetExpiry::At(50)
                    } else {
                        floe_core::store::SetExpiry::Persist
                    },
                    ..SetOptions::default()
                };
                let key = index.to_le_bytes();
                store.set(0, &key, &[7; 100], options, 10, &mut ()).unwrap();
            }
        });
        let mut image = Vec::new();
        let header = owned.with(|store| snapshot_encode(store, 9, 100, &mut image));
        assert_eq!(header.lsn, 9);
        assert_eq!(header.item_count, 200);
        let view = SnapshotView::new_checked(&image).unwrap();
        assert_eq!(view.header(), header);
        assert_eq!(view.items().count(), 200);
        assert!(view.items().all(|item| item.value == [7; 100]));
    }
}
