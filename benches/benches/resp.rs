//! RESP request parsing throughput: a pipelined buffer of 10,000 multibulk
//! `SET key:NNNNNN value:NNNNNN` requests, parsed one request at a time as a server does.
//! Reported as requests per second (`Throughput::Elements`); the target is 10M/s.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use floe_core::codec::resp::{ArgRange, Limits, parse_request};
use std::hint::black_box;

const REQUEST_COUNT: usize = 10_000;

fn pipeline() -> Vec<u8> {
    let mut input = Vec::new();
    for index in 0..REQUEST_COUNT {
        let key = format!("key:{index:06}");
        let value = format!("value:{index:06}");
        let request = format!(
            "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n{value}\r\n",
            key.len(),
            value.len()
        );
        input.extend_from_slice(request.as_bytes());
    }
    input
}

/// Parses every request in `input`; returns the bytes of arguments seen, so the work
/// cannot be optimised away.
fn parse_all(input: &[u8], limits: &Limits) -> usize {
    let mut args = [ArgRange::EMPTY; 8];
    let mut position = 0;
    let mut arg_size_total = 0;
    let mut request_count = 0;
    while position < input.len() {
        let Ok(request) = parse_request(&input[position..], limits, &mut args, &mut []) else {
            panic!("the bench input is valid");
        };
        arg_size_total += request.args().map(<[u8]>::len).sum::<usize>();
        position += request.consumed_size();
        request_count += 1;
    }
    assert_eq!(request_count, REQUEST_COUNT);
    arg_size_total
}

fn bench_parse(criterion: &mut Criterion) {
    let input = pipeline();
    let limits = Limits::DEFAULT;
    let mut group = criterion.benchmark_group("resp");
    group.throughput(Throughput::Elements(REQUEST_COUNT as u64));
    group.bench_function("parse_pipelined_set", |bencher| {
        bencher.iter(|| parse_all(black_box(&input), &limits));
    });
    group.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
