//! Helpers the RESP tests share, and the tests that cross requests and frames: the
//! limits each enforces, and totality and prefix stability on arbitrary bytes.

use super::*;
use proptest::collection::vec;
use proptest::prelude::*;
use std::vec::Vec;

pub(super) type Args = Vec<Vec<u8>>;

/// Small limits, so that every limit is easy to reach.
pub(super) const SMALL: Limits = Limits {
    bulk_size_max: 16,
    array_count_max: 8,
    depth_max: 3,
    inline_size_max: 32,
};

/// Parses the first request with roomy buffers.
pub(super) fn parse(input: &[u8], limits: &Limits) -> Result<(Args, usize), RespError> {
    let mut args = [ArgRange::EMPTY; 64];
    let mut scratch = [0_u8; 1024];
    let request = parse_request(input, limits, &mut args, &mut scratch)?;
    Ok((
        request.args().map(<[u8]>::to_vec).collect(),
        request.consumed_size(),
    ))
}

pub(super) fn parse_args(input: &[u8]) -> Args {
    let (args, consumed) = parse(input, &Limits::DEFAULT).unwrap();
    assert_eq!(consumed, input.len(), "whole input is one request");
    args
}

pub(super) fn parse_error(input: &[u8], limits: &Limits) -> (RespErrorKind, usize) {
    let error = parse(input, limits).unwrap_err();
    (error.kind, error.offset)
}

pub(super) fn owned(args: &[&[u8]]) -> Args {
    args.iter().map(|arg| arg.to_vec()).collect()
}

/// Parses `input` as a server would when the first read returns `input[..split]` and the
/// second the rest: parse what is there, and after `Incomplete` parse again from the
/// same start. Returns the requests and how parsing ended (offset made absolute).
pub(super) fn parse_as_server(
    input: &[u8],
    split: usize,
    limits: &Limits,
) -> (Vec<Args>, RespError) {
    let mut requests = Vec::new();
    let mut position = 0;
    let mut available = split.min(input.len());
    loop {
        let mut args = [ArgRange::EMPTY; 16];
        let mut scratch = [0_u8; 64];
        let window = &input[position..available];
        match parse_request(window, limits, &mut args, &mut scratch) {
            Ok(request) => {
                assert!(request.consumed_size() > 0);
                requests.push(request.args().map(<[u8]>::to_vec).collect());
                position += request.consumed_size();
            }
            Err(error) if error.is_incomplete() && available < input.len() => {
                available = input.len();
            }
            Err(error) => {
                return (
                    requests,
                    RespError::new(error.kind, position + error.offset),
                );
            }
        }
    }
}

pub(super) fn encode_multibulk(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

pub(super) fn head(input: &[u8]) -> Result<(Frame<'_>, usize), RespError> {
    Frame::parse_head(input, &Limits::DEFAULT)
}

pub(super) fn check(input: &[u8]) -> Result<usize, RespError> {
    Frame::check(input, &Limits::DEFAULT)
}

pub(super) fn arg_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        20 => vec(any::<u8>(), 0..24),
        1 => vec(any::<u8>(), 0..70_000),
    ]
}

/// Bytes mostly from RESP's alphabet, so that random input gets past the first byte.
pub(super) fn resp_bytes() -> impl Strategy<Value = Vec<u8>> {
    let alphabet: &[u8] = b"*$+-:_#,(!=%~>|\r\n\r\n0123-1 \"'\\xtf";
    let byte = prop_oneof![
        4 => proptest::sample::select(alphabet),
        1 => any::<u8>(),
    ];
    vec(byte, 0..96)
}

// ---- Limits --------------------------------------------------------------------------

#[test]
fn resp_limit_bulk_size() {
    let at_limit = b"*1\r\n$16\r\n0123456789abcdef\r\n";
    assert_eq!(
        parse(at_limit, &SMALL).unwrap().0,
        owned(&[b"0123456789abcdef"])
    );
    let error = parse(b"*1\r\n$17\r\n", &SMALL).unwrap_err();
    assert_eq!(error, RespError::new(RespErrorKind::InvalidBulkLength, 6));
    assert_eq!(
        error.message().as_bytes(),
        b"Protocol error: invalid bulk length"
    );
    // Refused from the digits alone, before the line ends.
    assert_eq!(
        parse_error(b"*1\r\n$100", &SMALL),
        (RespErrorKind::InvalidBulkLength, 7)
    );
    let default = format!("*1\r\n${}\r\n", BULK_SIZE_MAX_DEFAULT + 1);
    assert_eq!(
        parse_error(default.as_bytes(), &Limits::DEFAULT).0,
        RespErrorKind::InvalidBulkLength
    );
    let default = format!("*1\r\n${}\r\n", BULK_SIZE_MAX_DEFAULT);
    assert!(
        parse(default.as_bytes(), &Limits::DEFAULT)
            .unwrap_err()
            .is_incomplete()
    );
}

#[test]
fn resp_limit_array_count() {
    let error = parse(b"*9\r\n", &SMALL).unwrap_err();
    assert_eq!(
        error,
        RespError::new(RespErrorKind::InvalidMultibulkLength, 1)
    );
    assert_eq!(
        error.message().as_bytes(),
        b"Protocol error: invalid multibulk length"
    );
    let default = format!("*{}\r\n", ARRAY_COUNT_MAX_DEFAULT + 1);
    assert_eq!(
        parse_error(default.as_bytes(), &Limits::DEFAULT).0,
        RespErrorKind::InvalidMultibulkLength
    );
}

#[test]
fn resp_limit_arguments_buffer() {
    let mut args = [ArgRange::EMPTY; 2];
    let input = b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n";
    let error = parse_request(input, &Limits::DEFAULT, &mut args, &mut []).unwrap_err();
    assert_eq!(error, RespError::new(RespErrorKind::TooManyArguments, 1));
    let error = parse_request(b"a b c\r\n", &Limits::DEFAULT, &mut args, &mut []).unwrap_err();
    assert_eq!(error, RespError::new(RespErrorKind::TooManyArguments, 4));
    let request = parse_request(b"a b\r\n", &Limits::DEFAULT, &mut args, &mut []).unwrap();
    assert_eq!(request.arg_count(), 2);
}

#[test]
fn resp_limit_inline_size() {
    let line_at_limit = [b'a'; 32];
    let mut input = line_at_limit.to_vec();
    input.extend_from_slice(b"\n");
    assert_eq!(parse(&input, &SMALL).unwrap().0, owned(&[&line_at_limit]));
    // Without a newline: incomplete until the limit is passed.
    assert!(parse(&line_at_limit, &SMALL).unwrap_err().is_incomplete());
    let too_big = [b'a'; 33];
    let error = parse(&too_big, &SMALL).unwrap_err();
    assert_eq!(
        error,
        RespError::new(RespErrorKind::TooBigInlineRequest, 32)
    );
    assert_eq!(
        error.message().as_bytes(),
        b"Protocol error: too big inline request"
    );
    // The newline arriving in the same read does not change the answer.
    let mut input = too_big.to_vec();
    input.extend_from_slice(b"\r\n");
    assert_eq!(
        parse_error(&input, &SMALL),
        (RespErrorKind::TooBigInlineRequest, 32)
    );
    // The `\r` of `\r\n` counts towards the line.
    let mut input = line_at_limit.to_vec();
    input.extend_from_slice(b"\r\n");
    assert_eq!(
        parse_error(&input, &SMALL),
        (RespErrorKind::TooBigInlineRequest, 32)
    );
    let default = std::vec![b'a'; INLINE_SIZE_MAX_DEFAULT + 1];
    assert_eq!(
        parse_error(&default, &Limits::DEFAULT).0,
        RespErrorKind::TooBigInlineRequest
    );
}

#[test]
fn resp_limit_depth() {
    let limits = Limits {
        depth_max: 2,
        ..Limits::DEFAULT
    };
    assert_eq!(Frame::check(b"*1\r\n*1\r\n:1\r\n", &limits), Ok(12));
    let error = Frame::check(b"*1\r\n*1\r\n*1\r\n:1\r\n", &limits).unwrap_err();
    assert_eq!(error, RespError::new(RespErrorKind::DepthExceeded, 8));
    // Empty aggregates do not nest.
    assert_eq!(Frame::check(b"*1\r\n*1\r\n*0\r\n", &limits), Ok(12));
    // A limit above the ceiling is the ceiling.
    let limits = Limits {
        depth_max: usize::MAX,
        ..Limits::DEFAULT
    };
    let deep = b"*1\r\n".repeat(DEPTH_MAX_CEILING + 1);
    let error = Frame::check(&deep, &limits).unwrap_err();
    assert_eq!(
        error,
        RespError::new(RespErrorKind::DepthExceeded, 4 * DEPTH_MAX_CEILING)
    );
}

#[test]
fn resp_limit_frame_line() {
    let mut input = b"+".to_vec();
    input.extend_from_slice(&[b'a'; 33]);
    assert_eq!(
        Frame::check(&input, &SMALL),
        Err(RespError::new(RespErrorKind::LineTooLong, 33))
    );
    assert!(
        Frame::check(&input[..33], &SMALL)
            .unwrap_err()
            .is_incomplete()
    );
}

proptest! {
    #[test]
    fn resp_prop_arbitrary_bytes_are_total_and_prefix_stable(
        bytes in prop_oneof![resp_bytes(), vec(any::<u8>(), 0..96)],
        split in any::<proptest::sample::Index>(),
    ) {
        let split = split.index(bytes.len() + 1);
        for limits in [SMALL, Limits::DEFAULT] {
            let whole = parse_as_server(&bytes, bytes.len(), &limits);
            prop_assert!(whole.1.offset <= bytes.len());
            prop_assert_eq!(parse_as_server(&bytes, split, &limits), whole);
            let frame = Frame::check(&bytes, &limits);
            if let Ok(size) = frame {
                prop_assert!(size <= bytes.len());
            }
            match Frame::check(&bytes[..split], &limits) {
                Err(error) if error.is_incomplete() => {}
                prefix => prop_assert_eq!(prefix, frame),
            }
        }
    }
}
