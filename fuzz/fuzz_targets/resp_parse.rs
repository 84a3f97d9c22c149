//! RESP codec fuzz target: raw bytes in, as a client would send them.
//!
//! Checks, for small and default limits:
//! - parsing never panics, and every error offset lies within the input;
//! - prefix stability: a server that reads the bytes in two pieces (the split point comes
//!   from the first byte), parsing what it has and starting again from the last request's
//!   start after `Incomplete`, sees exactly the requests and the final error of a server
//!   that reads them whole;
//! - every parsed request, written back as a multibulk, parses to the same arguments, and
//!   written as a reply array in RESP2 and RESP3, passes `Frame::check` at its exact size;
//! - `Frame::check` over the bytes never panics, measures within the input, and gives the
//!   same answer on the prefix unless the prefix is `Incomplete`;
//! - `split_line` (the CLI's splitter) over the bytes as one typed line, with the buffer
//!   sizes it documents, fails only on unbalanced quotes, and agrees with the inline
//!   request the same line makes.
#![no_main]

use floe_core::codec::resp::{
    ArgRange, Frame, Limits, Protocol, ReplyWriter, RespError, RespErrorKind, SliceSink,
    parse_request, split_line, split_line_arg_count_max,
};
use libfuzzer_sys::fuzz_target;

/// Small limits, so that fuzzing reaches every limit.
const SMALL: Limits = Limits {
    bulk_size_max: 16,
    array_count_max: 8,
    depth_max: 3,
    inline_size_max: 32,
};

type Args = Vec<Vec<u8>>;

/// Parses `input` as a server whose first read returned `input[..split]`.
fn parse_as_server(input: &[u8], split: usize, limits: &Limits) -> (Vec<Args>, RespError) {
    let mut requests = Vec::new();
    let mut position = 0;
    let mut available = split.min(input.len());
    loop {
        let mut args = [ArgRange::EMPTY; 6];
        let mut scratch = [0_u8; 24];
        match parse_request(&input[position..available], limits, &mut args, &mut scratch) {
            Ok(request) => {
                assert!(request.consumed_size() > 0, "a request consumes bytes");
                assert!(request.consumed_size() <= available - position);
                assert_eq!(request.args().len(), request.arg_count());
                requests.push(request.args().map(<[u8]>::to_vec).collect());
                position += request.consumed_size();
            }
            Err(error) if error.is_incomplete() && available < input.len() => {
                available = input.len();
            }
            Err(error) => {
                assert!(error.offset <= available - position, "{error:?}");
                assert!(!error.message().as_bytes().contains(&b'\n'));
                return (
                    requests,
                    RespError::new(error.kind, position + error.offset),
                );
            }
        }
    }
}

fn encode_multibulk(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn check_request_round_trip(args: &Args) {
    let input = encode_multibulk(args);
    let mut ranges = [ArgRange::EMPTY; 8];
    let request = parse_request(&input, &Limits::DEFAULT, &mut ranges, &mut []);
    let Ok(request) = request else {
        panic!("re-encoded request fails: {request:?}")
    };
    assert_eq!(request.consumed_size(), input.len());
    assert!(request.args().eq(args.iter().map(Vec::as_slice)));

    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let mut buffer = [0_u8; 1024];
        let mut sink = SliceSink::new(&mut buffer);
        let mut writer = ReplyWriter::new(&mut sink, protocol);
        writer.array_header(args.len());
        for arg in args {
            writer.bulk(arg);
        }
        let Ok(size) = sink.finish() else { continue };
        assert_eq!(Frame::check(sink.written(), &Limits::DEFAULT), Ok(size));
    }
}

fn check_frames(input: &[u8], split: usize, limits: &Limits) {
    let whole = Frame::check(input, limits);
    match Frame::check(&input[..split], limits) {
        Err(error) if error.is_incomplete() => {}
        prefix => assert_eq!(prefix, whole),
    }
    // Walk consecutive frames; each is at least 3 bytes, so this ends.
    let mut position = 0;
    while let Ok(size) = Frame::check(&input[position..], limits) {
        assert!(size >= 3 && size <= input.len() - position);
        let head = Frame::parse_head(&input[position..], limits);
        assert!(matches!(head, Ok((_, head_size)) if head_size <= size));
        position += size;
    }
}

fn check_typed_line(line: &[u8]) {
    let mut ranges = vec![ArgRange::EMPTY; split_line_arg_count_max(line.len())];
    let mut scratch = vec![0_u8; line.len()];
    let split = split_line(line, &mut ranges, &mut scratch)
        .map(|args| args.map(<[u8]>::to_vec).collect::<Args>());
    if let Err(error) = &split {
        assert_eq!(error.kind, RespErrorKind::UnbalancedQuotes, "{error:?}");
        assert!(error.offset <= line.len());
    }
    // The same line as an inline request (a line without `\n`, not starting with `*`).
    if line.first() != Some(&b'*') && !line.contains(&b'\n') {
        let request = [line, b"\n"].concat();
        let mut ranges = vec![ArgRange::EMPTY; split_line_arg_count_max(line.len())];
        let mut scratch = vec![0_u8; line.len()];
        let limits = Limits {
            inline_size_max: line.len(),
            ..Limits::DEFAULT
        };
        let parsed = parse_request(&request, &limits, &mut ranges, &mut scratch)
            .map(|request| request.args().map(<[u8]>::to_vec).collect::<Args>());
        assert_eq!(
            parsed.map_err(|error| error.kind),
            split.map_err(|error| error.kind)
        );
    }
}

fuzz_target!(|data: &[u8]| {
    check_typed_line(data);
    let split = data
        .first()
        .map_or(0, |&byte| usize::from(byte) * (data.len() + 1) / 256);
    for limits in [SMALL, Limits::DEFAULT] {
        let whole = parse_as_server(data, data.len(), &limits);
        assert_eq!(
            parse_as_server(data, split, &limits),
            whole,
            "split={split}"
        );
        for args in &whole.0 {
            check_request_round_trip(args);
        }
        check_frames(data, split, &limits);
    }
});
