//! Fuzz target: a snapshot file decoded from raw bytes.
//!
//! Checks that validation never panics, that an error names an offset inside the input,
//! and that a snapshot that validates yields exactly its header's item count and
//! re-encodes, block for block through `SnapshotWriter`, to the very same bytes: nothing
//! in an accepted file went unchecked. Compact collection values and large collections'
//! headers go through their type's validator and reader (`compact_check`), parts through
//! the part validator and reader (`part_check`). Items are reachable only through a view that
//! validated the whole file, so a half-load cannot be expressed.
//!
//! Input: a mode byte, then the file. With bit 0 of the mode set, every checksum (header,
//! blocks along the chain of size fields, the trailer's chain and its own) is recomputed
//! first, so that mutations reach item parsing and the count checks.
#![no_main]

use floe_core::codec::snapshot::{
    SNAPSHOT_BLOCK_HEADER_SIZE, SNAPSHOT_HEADER_SIZE, SNAPSHOT_TRAILER_SIZE, SnapshotView,
    SnapshotWriter, block_field, header_field, trailer_field,
};
use floe_fuzz::{crc32, item_value_check};

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    let Some((&mode, data)) = input.split_first() else {
        return;
    };
    let mut bytes = data.to_vec();
    if mode & 1 == 1 {
        checksums_fix(&mut bytes);
    }
    let data = &bytes[..];

    let view = match SnapshotView::new_checked(data) {
        Ok(view) => view,
        Err(error) => {
            assert!(
                error.offset as usize <= data.len(),
                "{error:?} len={}",
                data.len()
            );
            return;
        }
    };
    assert_eq!(view.items().count() as u64, view.header().item_count);
    for item in view.items() {
        item_value_check(item.kind, item.value);
    }

    // Re-encode with the same block boundaries.
    let block_size_max = view
        .blocks()
        .map(|block| block.size as usize)
        .max()
        .unwrap_or(64);
    let mut block_buffer = vec![0; block_size_max.max(64)];
    let mut header = [0; SNAPSHOT_HEADER_SIZE];
    let mut writer = SnapshotWriter::begin(view.header(), &mut block_buffer, &mut header);
    let mut encoded = header.to_vec();
    for block in view.blocks() {
        for item in block.items() {
            writer.push(&item).unwrap();
        }
        encoded.extend_from_slice(writer.finish_block());
    }
    let mut trailer = [0; SNAPSHOT_TRAILER_SIZE];
    assert_eq!(writer.finish(&mut header, &mut trailer), view.header());
    encoded.extend_from_slice(&trailer);
    assert_eq!(
        encoded, data,
        "an accepted snapshot does not re-encode to its bytes"
    );
});

/// Recomputes every checksum a snapshot carries, where the structure is recognizable.
fn checksums_fix(bytes: &mut [u8]) {
    if bytes.len() < SNAPSHOT_HEADER_SIZE + SNAPSHOT_TRAILER_SIZE {
        return;
    }
    let header_checksum = crc32(&bytes[header_field::CHECKSUM.end..SNAPSHOT_HEADER_SIZE]);
    bytes[header_field::CHECKSUM].copy_from_slice(&header_checksum.to_le_bytes());

    let trailer_offset = bytes.len() - SNAPSHOT_TRAILER_SIZE;
    let mut block_checksums = Vec::new();
    let mut offset = SNAPSHOT_HEADER_SIZE;
    while trailer_offset - offset >= SNAPSHOT_BLOCK_HEADER_SIZE {
        let block = &mut bytes[offset..trailer_offset];
        let size = u32::from_le_bytes([block[0], block[1], block[2], block[3]]) as usize;
        if size < SNAPSHOT_BLOCK_HEADER_SIZE || size > block.len() {
            break;
        }
        let checksum = crc32(&block[block_field::CHECKSUM.end..size]);
        block[block_field::CHECKSUM].copy_from_slice(&checksum.to_le_bytes());
        block_checksums.extend_from_slice(&checksum.to_le_bytes());
        offset += size;
    }

    let trailer = &mut bytes[trailer_offset..];
    trailer[trailer_field::BLOCKS_CHECKSUM].copy_from_slice(&crc32(&block_checksums).to_le_bytes());
    trailer[trailer_field::HEADER_CHECKSUM].copy_from_slice(&header_checksum.to_le_bytes());
    let trailer_checksum = crc32(&trailer[trailer_field::CHECKSUM.end..]);
    trailer[trailer_field::CHECKSUM].copy_from_slice(&trailer_checksum.to_le_bytes());
}
