//! Log record codec throughput: encoding a record, decoding it with its checksum verified,
//! and scanning a whole segment of such records as recovery does. Records are `Set`s with
//! a 16-byte key and a 48-byte or 1 KiB value; reported in bytes per second
//! (`Throughput::Bytes` of the encoded records). The target for decode + CRC is at least
//! 1 GB/s on one core.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use floe_core::codec::log::{Verdict, scan};
use floe_core::codec::record::{LogRecord, Record, RecordView};
use std::hint::black_box;

/// Value sizes benchmarked: a small cache entry and a 1 KiB one.
const VALUE_SIZES: [usize; 2] = [48, 1024];

/// Size of the segment the scan benchmark reads.
const SEGMENT_SIZE_TARGET: usize = 4 << 20;

const KEY: &[u8; 16] = b"user:0000001234!";

fn record(value: &[u8]) -> Record<'_> {
    Record::Set {
        db: 0,
        key: KEY,
        value,
        expires_at: 1_700_000_000_000,
        value_kind: floe_core::codec::record::ItemKind::String,
    }
}

fn encoded(value: &[u8], lsn: u64) -> Vec<u8> {
    let record = record(value);
    let mut bytes = vec![0; record.encoded_size() as usize];
    record.encode(lsn, &mut bytes);
    bytes
}

fn bench_encode(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("record_encode");
    for value_size in VALUE_SIZES {
        let value = vec![0xA5; value_size];
        let record = record(&value);
        let mut target = vec![0; record.encoded_size() as usize];
        group.throughput(Throughput::Bytes(target.len() as u64));
        group.bench_function(format!("value_{value_size}"), |bencher| {
            bencher.iter(|| black_box(&record).encode(black_box(7), &mut target));
        });
    }
    group.finish();
}

fn bench_decode(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("record_decode_verify");
    for value_size in VALUE_SIZES {
        let bytes = encoded(&vec![0xA5; value_size], 7);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(format!("value_{value_size}"), |bencher| {
            bencher.iter(|| {
                let Ok(view) = RecordView::new_checked(black_box(&bytes[..])) else {
                    panic!("the bench record is valid");
                };
                let Ok(record) = LogRecord::decode(&view) else {
                    panic!("the bench record is valid");
                };
                black_box(record)
            });
        });
    }
    group.finish();
}

fn bench_scan(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("log_scan");
    // A scan of a 4 MiB segment takes milliseconds: fewer samples keep the run short.
    group.sample_size(50);
    for value_size in VALUE_SIZES {
        let value = vec![0xA5; value_size];
        let mut segment = Vec::with_capacity(SEGMENT_SIZE_TARGET + 2048);
        let mut lsn = 1;
        while segment.len() < SEGMENT_SIZE_TARGET {
            segment.extend_from_slice(&encoded(&value, lsn));
            lsn += 1;
        }
        group.throughput(Throughput::Bytes(segment.len() as u64));
        group.bench_function(format!("value_{value_size}"), |bencher| {
            bencher.iter(|| {
                let summary = scan(black_box(&segment), None);
                assert!(matches!(summary.verdict, Verdict::Clean { .. }));
                summary.record_count
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_encode, bench_decode, bench_scan);
criterion_main!(benches);
