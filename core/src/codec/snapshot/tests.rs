//! Tests of [`super`]: the snapshot codec's round trips, limits and malformed input.

use super::*;
use proptest::prelude::*;

const HEADER: SnapshotHeader = SnapshotHeader {
    lsn: 42,
    created_at: 1_700_000_000_000,
    item_count: 0,
};

/// Owned items, so tests can build them from strategies.
type Owned = (u8, Vec<u8>, Vec<u8>, u64);

fn item(owned: &Owned) -> SnapshotItem<'_> {
    SnapshotItem {
        db: owned.0,
        key: &owned.1,
        value: &owned.2,
        expires_at: owned.3,
        // Odd expiries mark compact collections, so round trips cover both kinds.
        kind: if owned.3 % 2 == 1 {
            ItemKind::Compact
        } else {
            ItemKind::String
        },
    }
}

/// Writes a snapshot of `items` through a block buffer of `block_size` bytes, the way
/// the runtime streams one to a file.
fn write(items: &[SnapshotItem<'_>], block_size: usize, count_known: bool) -> Vec<u8> {
    let mut file = Vec::new();
    let mut header_bytes = [0; SNAPSHOT_HEADER_SIZE];
    let mut block = vec![0; block_size];
    let item_count = if count_known { items.len() as u64 } else { 0 };
    let begin = SnapshotHeader {
        item_count,
        ..HEADER
    };
    let mut writer = SnapshotWriter::begin(begin, &mut block, &mut header_bytes);
    file.extend_from_slice(&header_bytes);
    for item in items {
        if let Err(error) = writer.push(item) {
            assert_eq!(error, PushError::BlockFull);
            file.extend_from_slice(writer.finish_block());
            writer.push(item).unwrap();
        }
    }
    file.extend_from_slice(writer.finish_block());
    assert!(writer.finish_block().is_empty());
    assert_eq!(writer.item_count(), items.len() as u64);
    let mut trailer = [0; SNAPSHOT_TRAILER_SIZE];
    let header = writer.finish(&mut header_bytes, &mut trailer);
    file.extend_from_slice(&trailer);
    assert_eq!(header.item_count, items.len() as u64);
    if header == begin {
        assert_eq!(file[..SNAPSHOT_HEADER_SIZE], header_bytes);
    } else {
        file[..SNAPSHOT_HEADER_SIZE].copy_from_slice(&header_bytes);
    }
    file
}

fn sample() -> Vec<Owned> {
    vec![
        (0, b"alpha".to_vec(), b"1".to_vec(), 0),
        (1, vec![], vec![], 7),
        (15, vec![0, 255, 10, 13], vec![0; 100], u64::MAX),
        (3, b"k".repeat(60), b"v".repeat(60), 1_700_000_000_000),
        (2, b"last".to_vec(), vec![], 0),
    ]
}

fn error(bytes: &[u8]) -> SnapshotError {
    SnapshotView::new_checked(bytes).unwrap_err()
}

#[test]
fn snapshot_roundtrip() {
    let owned = sample();
    let items: Vec<SnapshotItem<'_>> = owned.iter().map(item).collect();
    for block_size in [SNAPSHOT_BLOCK_SIZE_MIN as usize + 60 + 60, 160, 300, 4096] {
        for count_known in [true, false] {
            let file = write(&items, block_size, count_known);
            let view = SnapshotView::new_checked(&file).unwrap();
            assert_eq!(
                view.header(),
                SnapshotHeader {
                    item_count: 5,
                    ..HEADER
                }
            );
            assert_eq!(
                view.items().collect::<Vec<_>>(),
                items,
                "block_size={block_size}"
            );
            let blocks: Vec<SnapshotBlock<'_>> = view.blocks().collect();
            assert_eq!(view.trailer().block_count as usize, blocks.len());
            assert_eq!(view.trailer().item_count, 5);
            for (index, block) in blocks.iter().enumerate() {
                assert_eq!(block.index as usize, index);
                assert_eq!(block.items().count(), block.item_count as usize);
            }
            if block_size == 4096 {
                assert_eq!(blocks.len(), 1);
            }
        }
    }
}

#[test]
fn snapshot_empty() {
    let file = write(&[], 64, true);
    assert_eq!(file.len(), SNAPSHOT_HEADER_SIZE + SNAPSHOT_TRAILER_SIZE);
    let view = SnapshotView::new_checked(&file).unwrap();
    assert_eq!(view.items().count(), 0);
    assert_eq!(view.blocks().count(), 0);
    assert_eq!(view.header(), HEADER);
}

/// A cut at any length is an error, never a partial load.
#[test]
fn snapshot_truncated_everywhere() {
    let owned = sample();
    let items: Vec<SnapshotItem<'_>> = owned.iter().map(item).collect();
    let file = write(&items, 200, true);
    for size in 0..file.len() {
        let reason = error(&file[..size]).reason;
        let expected = if size < SNAPSHOT_HEADER_SIZE + SNAPSHOT_TRAILER_SIZE {
            SnapshotDecodeError::Truncated
        } else {
            SnapshotDecodeError::TrailerMissing
        };
        assert_eq!(reason, expected, "size={size}");
    }
}

/// Every single bit flip anywhere in the file is detected.
#[test]
fn snapshot_bit_flip_everywhere() {
    let owned = sample();
    let items: Vec<SnapshotItem<'_>> = owned.iter().map(item).collect();
    let file = write(&items, 200, true);
    for bit in 0..file.len() * 8 {
        let mut bytes = file.clone();
        bytes[bit / 8] ^= 1 << (bit % 8);
        assert!(SnapshotView::new_checked(&bytes).is_err(), "bit={bit}");
    }
}

#[test]
fn snapshot_header_errors() {
    let file = write(&[], 64, true);
    assert_eq!(error(b"FLOE").reason, SnapshotDecodeError::Truncated);
    let mut magic = file.clone();
    magic[0] = b'X';
    assert_eq!(
        error(&magic),
        SnapshotError {
            offset: 0,
            reason: SnapshotDecodeError::MagicInvalid
        }
    );
    let mut checksum = file.clone();
    checksum[header_field::LSN.start] ^= 1;
    assert_eq!(
        error(&checksum),
        SnapshotError {
            offset: 0,
            reason: SnapshotDecodeError::ChecksumMismatch
        }
    );
    // A newer version with a valid header checksum.
    let mut newer = file.clone();
    newer[header_field::VERSION].copy_from_slice(&2_u32.to_le_bytes());
    let crc = crc32fast::hash(&newer[header_field::CHECKSUM.end..SNAPSHOT_HEADER_SIZE]);
    newer[header_field::CHECKSUM].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(
        error(&newer),
        SnapshotError {
            offset: 0,
            reason: SnapshotDecodeError::UnsupportedVersion(2)
        }
    );
}

#[test]
fn snapshot_trailer_errors() {
    let owned = sample();
    let items: Vec<SnapshotItem<'_>> = owned.iter().map(item).collect();
    let file = write(&items, 160, true);
    let trailer_offset = (file.len() - SNAPSHOT_TRAILER_SIZE) as u64;
    let at_trailer = |reason| SnapshotError {
        offset: trailer_offset,
        reason,
    };

    let mut checksum = file.clone();
    checksum[trailer_offset as usize + trailer_field::ITEM_COUNT.start] ^= 1;
    assert_eq!(
        error(&checksum),
        at_trailer(SnapshotDecodeError::ChecksumMismatch)
    );

    // A header from another snapshot (another LSN) in front of this body.
    let mut other = file.clone();
    let other_header = SnapshotHeader {
        lsn: 43,
        item_count: 5,
        ..HEADER
    };
    other_header.encode((&mut other[..SNAPSHOT_HEADER_SIZE]).try_into().unwrap());
    assert_eq!(
        error(&other),
        at_trailer(SnapshotDecodeError::HeaderMismatch)
    );

    // A consistent header and trailer that promise more items than the blocks hold.
    let mut header_bytes = [0; SNAPSHOT_HEADER_SIZE];
    let header_checksum = SnapshotHeader {
        item_count: 6,
        ..HEADER
    }
    .encode(&mut header_bytes);
    let view = SnapshotView::new_checked(&file).unwrap();
    let trailer = SnapshotTrailer {
        item_count: 6,
        header_checksum,
        ..view.trailer()
    };
    let mut trailer_bytes = [0; SNAPSHOT_TRAILER_SIZE];
    trailer.encode(&mut trailer_bytes);
    let mut counted = file.clone();
    counted[..SNAPSHOT_HEADER_SIZE].copy_from_slice(&header_bytes);
    counted[trailer_offset as usize..].copy_from_slice(&trailer_bytes);
    assert_eq!(
        error(&counted),
        at_trailer(SnapshotDecodeError::CountMismatch)
    );

    // A block dropped: the remaining blocks are intact but the chain is not.
    let blocks: Vec<SnapshotBlock<'_>> = view.blocks().collect();
    assert!(blocks.len() >= 3);
    let first_end = SNAPSHOT_HEADER_SIZE + blocks[0].size as usize;
    let mut dropped = file[..SNAPSHOT_HEADER_SIZE].to_vec();
    dropped.extend_from_slice(&file[first_end..]);
    assert_eq!(
        error(&dropped),
        SnapshotError {
            offset: SNAPSHOT_HEADER_SIZE as u64,
            reason: SnapshotDecodeError::BlockIndexInvalid
        }
    );
    // Blocks swapped.
    let second_end = first_end + blocks[1].size as usize;
    let mut swapped = file[..SNAPSHOT_HEADER_SIZE].to_vec();
    swapped.extend_from_slice(&file[first_end..second_end]);
    swapped.extend_from_slice(&file[SNAPSHOT_HEADER_SIZE..first_end]);
    swapped.extend_from_slice(&file[second_end..]);
    assert_eq!(
        error(&swapped).reason,
        SnapshotDecodeError::BlockIndexInvalid
    );
}

#[test]
fn snapshot_block_errors() {
    let owned = [(0, b"k".to_vec(), b"v".to_vec(), 0)];
    let items: Vec<SnapshotItem<'_>> = owned.iter().map(item).collect();
    let file = write(&items, 64, true);
    let block = &file[SNAPSHOT_HEADER_SIZE..file.len() - SNAPSHOT_TRAILER_SIZE];
    assert_eq!(block.len(), SNAPSHOT_BLOCK_SIZE_MIN as usize + 2);
    let checked = |bytes: &[u8]| {
        SnapshotBlock::new_checked(bytes, 0)
            .map(|_| ())
            .map_err(|e| (e.offset, e.reason))
    };
    assert_eq!(checked(block), Ok(()));
    assert_eq!(
        checked(&block[..15]),
        Err((0, SnapshotDecodeError::Truncated))
    );
    assert_eq!(
        checked(&block[..20]),
        Err((0, SnapshotDecodeError::Truncated))
    );
    assert_eq!(
        SnapshotBlock::new_checked(block, 1).unwrap_err().reason,
        SnapshotDecodeError::BlockIndexInvalid
    );

    // Edit a field and re-seal the block's checksum, as a buggy writer would.
    let sealed = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = block.to_vec();
        edit(&mut bytes);
        let crc = crc32fast::hash(&bytes[block_field::CHECKSUM.end..]);
        bytes[block_field::CHECKSUM].copy_from_slice(&crc.to_le_bytes());
        checked(&bytes)
    };
    let item_at = SNAPSHOT_BLOCK_HEADER_SIZE;
    assert_eq!(
        sealed(&|bytes| bytes[block_field::SIZE].copy_from_slice(&32_u32.to_le_bytes())),
        Err((0, SnapshotDecodeError::SizeInvalid))
    );
    assert_eq!(
        sealed(&|bytes| bytes[block_field::SIZE]
            .copy_from_slice(&(SNAPSHOT_BLOCK_SIZE_MAX + 1).to_le_bytes())),
        Err((0, SnapshotDecodeError::SizeInvalid))
    );
    assert_eq!(
        sealed(&|bytes| bytes[block_field::ITEM_COUNT].copy_from_slice(&0_u32.to_le_bytes())),
        Err((0, SnapshotDecodeError::CountMismatch))
    );
    assert_eq!(
        sealed(&|bytes| bytes[block_field::ITEM_COUNT].copy_from_slice(&2_u32.to_le_bytes())),
        Err((item_at as u64 + 19, SnapshotDecodeError::SizeInvalid))
    );
    assert_eq!(
        sealed(&|bytes| bytes[item_at + item_field::DB] = DATABASE_COUNT),
        Err((
            item_at as u64,
            SnapshotDecodeError::DatabaseInvalid(DATABASE_COUNT)
        ))
    );
    assert_eq!(
        sealed(&|bytes| bytes[item_at..item_at + 4].copy_from_slice(&2_u32.to_le_bytes())),
        Err((item_at as u64, SnapshotDecodeError::SizeInvalid))
    );
    assert_eq!(
        sealed(&|bytes| bytes[item_at..item_at + 4]
            .copy_from_slice(&(RECORD_KEY_SIZE_MAX + 1).to_le_bytes())),
        Err((item_at as u64, SnapshotDecodeError::SizeInvalid))
    );
    // Items that do not fill the block: one byte of slack after the last item.
    assert_eq!(
        sealed(&|bytes| {
            bytes.push(0);
            let size = bytes.len() as u32;
            bytes[block_field::SIZE].copy_from_slice(&size.to_le_bytes());
        }),
        Err((item_at as u64 + 19, SnapshotDecodeError::SizeInvalid))
    );
}

#[test]
fn snapshot_push_limits() {
    let mut header = [0; SNAPSHOT_HEADER_SIZE];
    let mut block = [0; 50];
    let mut writer = SnapshotWriter::begin(HEADER, &mut block, &mut header);
    let big = [7; 40];
    let item = SnapshotItem {
        db: 0,
        key: &big,
        value: &[],
        expires_at: 0,
        kind: ItemKind::String,
    };
    assert_eq!(
        writer.push(&item),
        Err(PushError::ItemTooLarge {
            block_size_required: 73
        })
    );
    let small = SnapshotItem {
        db: 0,
        key: b"k",
        value: b"v",
        expires_at: 0,
        kind: ItemKind::String,
    };
    assert_eq!(writer.push(&small), Ok(()));
    assert_eq!(writer.push(&small), Err(PushError::BlockFull));
    assert_eq!(writer.finish_block().len(), 35);
    assert_eq!(writer.push(&small), Ok(()));
}

#[test]
#[should_panic(expected = "finish_block was not called")]
fn snapshot_finish_with_pending_items() {
    let mut header = [0; SNAPSHOT_HEADER_SIZE];
    let mut block = [0; 64];
    let mut writer = SnapshotWriter::begin(HEADER, &mut block, &mut header);
    writer
        .push(&SnapshotItem {
            db: 0,
            key: b"k",
            value: b"v",
            expires_at: 0,
            kind: ItemKind::String,
        })
        .unwrap();
    writer.finish(
        &mut [0; SNAPSHOT_HEADER_SIZE],
        &mut [0; SNAPSHOT_TRAILER_SIZE],
    );
}

#[test]
#[should_panic(expected = "db=16")]
fn snapshot_push_database_invalid() {
    let mut header = [0; SNAPSHOT_HEADER_SIZE];
    let mut block = [0; 64];
    let mut writer = SnapshotWriter::begin(HEADER, &mut block, &mut header);
    let _ = writer.push(&SnapshotItem {
        db: DATABASE_COUNT,
        key: b"k",
        value: b"v",
        expires_at: 0,
        kind: ItemKind::String,
    });
}

/// Writes one fuzz seed: a mode byte (see the fuzz target's doc), then `bytes`.
fn fuzz_seed_write(target: &str, name: &str, mode: u8, bytes: &[u8]) {
    let directory = format!("{}/../fuzz/seeds/{target}", env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(&directory).unwrap();
    let mut seed = vec![mode];
    seed.extend_from_slice(bytes);
    std::fs::write(format!("{directory}/{name}-mode{mode}"), seed).unwrap();
}

/// Seeds the `snapshot_decode` fuzz target with real snapshots (and `canary` with a
/// harmless input). Run by hand after a format change:
/// `cargo test -p floe-core --lib -- --ignored fuzz_seeds`.
#[test]
#[ignore = "writes fuzz/seeds/ in the repository"]
fn fuzz_seeds_write_snapshot() {
    let owned = sample();
    let items: Vec<SnapshotItem<'_>> = owned.iter().map(item).collect();
    for mode in [0, 1] {
        fuzz_seed_write("snapshot_decode", "empty", mode, &write(&[], 64, true));
        fuzz_seed_write(
            "snapshot_decode",
            "one-block",
            mode,
            &write(&items, 4096, true),
        );
        fuzz_seed_write(
            "snapshot_decode",
            "four-blocks",
            mode,
            &write(&items, 160, false),
        );
    }
    // A compact collection of each type, in two blocks.
    let samples = crate::codec::log::tests::compact_samples();
    let collections: Vec<SnapshotItem<'_>> = samples
        .iter()
        .enumerate()
        .map(|(index, (name, value))| SnapshotItem {
            db: u8::try_from(index).unwrap(),
            key: name.as_bytes(),
            value,
            expires_at: if index == 2 { 1_700_000_000_000 } else { 0 },
            kind: ItemKind::Compact,
        })
        .collect();
    for mode in [0, 1] {
        fuzz_seed_write(
            "snapshot_decode",
            "collections",
            mode,
            &write(&collections, 96, true),
        );
    }
    // A large hash and a large list: headers and parts, in two blocks.
    let large = crate::codec::log::tests::large_samples();
    let large: Vec<SnapshotItem<'_>> = large
        .iter()
        .map(|(_, kind, key, value)| SnapshotItem {
            db: 0,
            key,
            value,
            expires_at: 0,
            kind: *kind,
        })
        .collect();
    for mode in [0, 1] {
        fuzz_seed_write("snapshot_decode", "large", mode, &write(&large, 96, true));
    }
    let directory = format!("{}/../fuzz/seeds/canary", env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(&directory).unwrap();
    std::fs::write(format!("{directory}/floe"), b"floe").unwrap();
}

fn owned_strategy() -> impl Strategy<Value = Vec<Owned>> {
    prop::collection::vec(
        (
            0..DATABASE_COUNT,
            prop::collection::vec(any::<u8>(), 0..32),
            prop::collection::vec(any::<u8>(), 0..200),
            any::<u64>(),
        ),
        0..40,
    )
}

proptest! {
    #[test]
    fn snapshot_roundtrip_any(owned in owned_strategy(), block_size in 300..2000_usize, count_known in any::<bool>()) {
        let items: Vec<SnapshotItem<'_>> = owned.iter().map(item).collect();
        let file = write(&items, block_size, count_known);
        let view = SnapshotView::new_checked(&file).unwrap();
        prop_assert_eq!(view.items().collect::<Vec<_>>(), items);
        prop_assert_eq!(view.header().item_count, owned.len() as u64);
    }

    /// A cut or a flipped byte anywhere is refused as a whole.
    #[test]
    fn snapshot_damage_any(owned in owned_strategy(), at in any::<prop::sample::Index>(), byte in 1..=255_u8) {
        let items: Vec<SnapshotItem<'_>> = owned.iter().map(item).collect();
        let file = write(&items, 500, true);
        let index = at.index(file.len());
        prop_assert!(SnapshotView::new_checked(&file[..index]).is_err());
        let mut flipped = file.clone();
        flipped[index] ^= byte;
        prop_assert!(SnapshotView::new_checked(&flipped).is_err());
    }

    #[test]
    fn snapshot_decode_total(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        // Random bytes: must not panic. Prefixing the magic gets past the first check.
        let _ = SnapshotView::new_checked(&bytes);
        let mut prefixed = SNAPSHOT_MAGIC.to_vec();
        prefixed.extend_from_slice(&bytes);
        let _ = SnapshotView::new_checked(&prefixed);
    }
}
