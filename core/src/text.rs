//! Numbers as text, once for the whole engine: the integer and float rules of the Redis
//! protocol and commands, and the decimal formatting of replies and stored counters, all
//! into a caller's fixed buffer (no allocator).
//!
//! Where Redis applies different rules to the same kind of number, each rule has its own
//! function, named after the rule:
//!
//! | number  | rule                                                | function                      |
//! |---------|-----------------------------------------------------|-------------------------------|
//! | `i64`   | canonical, as `string2ll` (arguments, counters)     | [`parse_integer_strict`]      |
//! | `i64`   | `+` and leading zeros allowed (RESP integer reply)  | [`parse_integer_lenient`]     |
//! | `u64`   | `+` and leading zeros allowed (SCAN cursor)         | [`parse_u64_lenient`]         |
//! | `f64`   | decimal or exponent, finite (a stored float)        | [`parse_double_finite`]       |
//! | `f64`   | also an infinity, never NaN (an increment)          | [`parse_double_or_infinity`]  |
//! | `f64`   | RESP3's `,` grammar, `inf` and `nan` included       | [`parse_double_resp3`]        |
//! | `u64`   | decimal digits                                      | [`format_u64`]                |
//! | `i64`   | decimal digits with a `-`                           | [`format_i64`]                |
//! | `f64`   | `%.17g`'s layout, shortest digits (a double reply)  | [`format_double`]             |
//! | `f64`   | never an exponent, `-0` as `0` (INCRBYFLOAT)        | [`format_double_human`]       |
//!
//! Invariants: every parser is total (any bytes give a value or `None`, never a panic);
//! every formatter writes into a buffer whose size is a named constant that fits its
//! longest output, and asserts that it did.

use core::fmt::{self, Write as _};

/// Longest decimal text of an `i64`: a sign and 19 digits (`-9223372036854775808`).
pub const I64_TEXT_SIZE_MAX: usize = 20;

/// Parses a canonical signed 64-bit decimal, as Redis's `string2ll`: no sign `+`, no
/// spaces, no leading zeros, no `-0`. The rule for command arguments and stored counters.
#[must_use]
pub fn parse_integer_strict(bytes: &[u8]) -> Option<i64> {
    let (negative, digits) = match bytes {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, bytes),
    };
    match digits {
        [] => return None,
        [b'0'] => return (!negative).then_some(0),
        [b'0', ..] => return None,
        _ => {}
    }
    if digits.len() > I64_TEXT_SIZE_MAX || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut value: i64 = 0;
    for &digit in digits {
        let digit = i64::from(digit - b'0');
        value = value.checked_mul(10)?;
        value = if negative {
            value.checked_sub(digit)?
        } else {
            value.checked_add(digit)?
        };
    }
    Some(value)
}

/// Parses `[+|-]<digits>` as an `i64`, leading zeros allowed: the rule of a RESP integer
/// reply (`:+7`, `:007`), which a client reads leniently. `None` if malformed or out of
/// range.
#[must_use]
pub fn parse_integer_lenient(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: i64 = 0;
    for &byte in digits {
        if !byte.is_ascii_digit() {
            return None;
        }
        let digit = i64::from(byte - b'0');
        // Accumulating negatives towards i64::MIN keeps it representable.
        value = value.checked_mul(10)?;
        value = if negative {
            value.checked_sub(digit)?
        } else {
            value.checked_add(digit)?
        };
    }
    Some(value)
}

/// Parses a float as Redis reads a stored value for INCRBYFLOAT: decimal or exponent form
/// (`10.5`, `5.0e3`), no spaces, no `inf` or `nan` words, finite.
#[must_use]
pub fn parse_double_finite(bytes: &[u8]) -> Option<f64> {
    let text = core::str::from_utf8(bytes).ok()?;
    let valid_chars = text
        .bytes()
        .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
    if text.is_empty() || !valid_chars {
        return None;
    }
    text.parse::<f64>().ok().filter(|value| value.is_finite())
}

/// Parses an INCRBYFLOAT increment: decimal or exponent form (`1.5`, `-.5`, `5e3`) or an
/// infinity (which the store then refuses, as Redis does, with its own error); no blanks,
/// not NaN.
#[must_use]
pub fn parse_double_or_infinity(bytes: &[u8]) -> Option<f64> {
    let text = core::str::from_utf8(bytes).ok()?;
    let value: f64 = text.parse().ok()?;
    (!value.is_nan()).then_some(value)
}

/// Parses a RESP3 double: `inf`, `+inf`, `-inf`, `nan`, or
/// `[+|-]<digits>[.<digits>][(e|E)[+|-]<digits>]` (digits required before a `.`).
#[must_use]
pub fn parse_double_resp3(text: &[u8]) -> Option<f64> {
    match text {
        b"inf" | b"+inf" => return Some(f64::INFINITY),
        b"-inf" => return Some(f64::NEG_INFINITY),
        b"nan" => return Some(f64::NAN),
        _ => {}
    }
    let digits_then = |text: &[u8]| -> Option<usize> {
        let count = text.iter().take_while(|byte| byte.is_ascii_digit()).count();
        (count > 0).then_some(count)
    };
    let mut rest = text
        .strip_prefix(b"-")
        .or_else(|| text.strip_prefix(b"+"))
        .unwrap_or(text);
    rest = rest.get(digits_then(rest)?..)?;
    if let Some(fraction) = rest.strip_prefix(b".") {
        rest = fraction.get(digits_then(fraction)?..)?;
    }
    if let Some(exponent) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
        let exponent = exponent
            .strip_prefix(b"-")
            .or_else(|| exponent.strip_prefix(b"+"))
            .unwrap_or(exponent);
        rest = exponent.get(digits_then(exponent)?..)?;
    }
    if !rest.is_empty() {
        return None;
    }
    core::str::from_utf8(text).ok()?.parse().ok()
}

/// Parses an unsigned 64-bit decimal with an optional `+` and leading zeros allowed (as
/// Redis's `string2ull` reads a SCAN cursor); no `-`, no spaces.
#[must_use]
pub fn parse_u64_lenient(bytes: &[u8]) -> Option<u64> {
    let digits = bytes.strip_prefix(b"+").unwrap_or(bytes);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0_u64, |value, &digit| {
        value.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    })
}

/// Whether `text` is `[+|-]<digits>` of any length: a RESP3 big number.
#[must_use]
pub fn is_signed_digits(text: &[u8]) -> bool {
    let digits = text
        .strip_prefix(b"-")
        .or_else(|| text.strip_prefix(b"+"))
        .unwrap_or(text);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

/// Decimal digits of `u64::MAX`.
pub const U64_DIGITS_MAX: usize = 20;

/// Writes `value`'s decimal digits at the end of `buffer` and returns them.
#[must_use]
pub fn format_u64(mut value: u64, buffer: &mut [u8; U64_DIGITS_MAX]) -> &[u8] {
    let mut start = U64_DIGITS_MAX;
    // At most 20 steps: each divides by 10.
    for slot in buffer.iter_mut().rev() {
        // Clippy sees that a remainder of 10 fits u8.
        let digit = (value % 10) as u8;
        *slot = b'0' + digit;
        start -= 1;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    buffer.get(start..).unwrap_or_default()
}

/// Writes `value` in decimal (with a `-` if negative) into `buffer` and returns the text.
#[must_use]
pub fn format_i64(value: i64, buffer: &mut [u8; I64_TEXT_SIZE_MAX]) -> &[u8] {
    let mut digits = [0_u8; U64_DIGITS_MAX];
    // `unsigned_abs` is exact for i64::MIN; its 19 digits leave room for the sign.
    let digits = format_u64(value.unsigned_abs(), &mut digits);
    let mut text = StackText::new(buffer);
    if value < 0 {
        text.push(b"-");
    }
    text.push(digits);
    text.into_bytes()
}

/// Longest text [`format_double`] writes: sign, 17 digits, `0.000` or an exponent.
pub const DOUBLE_SIZE_MAX: usize = 32;

/// Formats `value` as Redis replies with a double, into `buffer`, and returns the text:
/// `inf`, `-inf` or `nan`; otherwise the shortest digits that parse back to exactly
/// `value` (core's float formatting), laid out as C's `%.17g` lays out digits: plain
/// decimal when the exponent is in `-4..17` (`1.5`, `100`, `0.0001`), else scientific with
/// a signed two-digit-or-more exponent (`1e+17`, `1.5e-05`). `%.17g` itself may print
/// more digits (`0.10000000000000001`); both read back as the same double.
#[must_use]
pub fn format_double(value: f64, buffer: &mut [u8; DOUBLE_SIZE_MAX]) -> &[u8] {
    let mut output = StackText::new(buffer);
    if value.is_nan() {
        output.push(b"nan");
    } else if value.is_infinite() {
        output.push(if value > 0.0 { b"inf" } else { b"-inf" });
    } else {
        let mut scientific_buffer = [0_u8; DOUBLE_SIZE_MAX];
        let mut scientific = StackText::new(&mut scientific_buffer);
        // `{:e}` gives the shortest round-trip digits: `-1.2345e-7`, `1e2`, `0e0`.
        let written = write!(scientific, "{value:e}").is_ok();
        assert!(written, "LowerExp of an f64 is at most 24 bytes");
        format_double_layout(scientific.as_bytes(), &mut output);
    }
    output.into_bytes()
}

/// Formats `value` exactly as C's `%.17g` does (Redis 7.0's `addReplyDouble` and the
/// scores of a listpack sorted set): 17 significant digits, correctly rounded, trailing
/// zeros dropped (`1.1000000000000001`, `3`, `1e+20`, `inf`, `-inf`, `nan`). Redis 7.2
/// moved to the shortest round-trip digits, which [`format_double`] writes.
#[must_use]
pub fn format_double_17g(value: f64, buffer: &mut [u8; DOUBLE_SIZE_MAX]) -> &[u8] {
    let mut output = StackText::new(buffer);
    if value.is_nan() {
        output.push(b"nan");
    } else if value.is_infinite() {
        output.push(if value > 0.0 { b"inf" } else { b"-inf" });
    } else {
        let mut scientific_buffer = [0_u8; DOUBLE_SIZE_MAX];
        let mut scientific = StackText::new(&mut scientific_buffer);
        // `{:.16e}` rounds to 17 significant digits exactly: `1.1000000000000001e0`.
        let written = write!(scientific, "{value:.16e}").is_ok();
        assert!(
            written,
            "LowerExp with 16 decimals of an f64 is at most 25 bytes"
        );
        let text = scientific.as_bytes();
        let split = text
            .iter()
            .position(|&byte| byte == b'e')
            .unwrap_or(text.len());
        let (mantissa, exponent) = text.split_at(split);
        // `%g` drops trailing zeros, and the point with them.
        let mut kept = mantissa.len();
        while kept > 0 && mantissa[kept - 1] == b'0' {
            kept -= 1;
        }
        if kept > 0 && mantissa[kept - 1] == b'.' {
            kept -= 1;
        }
        let mut trimmed_buffer = [0_u8; DOUBLE_SIZE_MAX];
        let mut trimmed = StackText::new(&mut trimmed_buffer);
        trimmed.push(&mantissa[..kept]);
        trimmed.push(exponent);
        format_double_layout(trimmed.as_bytes(), &mut output);
    }
    output.into_bytes()
}

/// Lays out `{:e}` text (`[-]d[.ddd]e[-]x`) as `%.17g` would.
fn format_double_layout(scientific: &[u8], output: &mut StackText<'_>) {
    let (negative, rest) = match scientific {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, scientific),
    };
    let split = rest
        .iter()
        .position(|&byte| byte == b'e')
        .unwrap_or(rest.len());
    let (mantissa, exponent_text) = rest.split_at(split);
    let mut digits = [0_u8; 17];
    let mut digit_count = 0;
    for &byte in mantissa.iter().filter(|byte| byte.is_ascii_digit()) {
        assert!(
            digit_count < digits.len(),
            "shortest round-trip f64 has at most 17 digits"
        );
        digits[digit_count] = byte;
        digit_count += 1;
    }
    let digits = digits.get(..digit_count.max(1)).unwrap_or_default();
    let exponent_text = exponent_text.get(1..).unwrap_or_default();
    let (exponent_negative, exponent_digits) = match exponent_text {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, exponent_text),
    };
    let magnitude = exponent_digits.iter().fold(0_i32, |value, byte| {
        value * 10 + i32::from(byte.wrapping_sub(b'0') % 10)
    });
    let exponent = if exponent_negative {
        -magnitude
    } else {
        magnitude
    };

    if negative {
        output.push(b"-");
    }
    let (first, fraction) = digits.split_at(1);
    if !(-4..17).contains(&exponent) {
        output.push(first);
        if !fraction.is_empty() {
            output.push(b".");
            output.push(fraction);
        }
        output.push(if exponent < 0 { b"e-" } else { b"e+" });
        if magnitude < 10 {
            output.push(b"0");
        }
        let mut exponent_buffer = [0_u8; U64_DIGITS_MAX];
        output.push(format_u64(
            u64::from(magnitude.unsigned_abs()),
            &mut exponent_buffer,
        ));
    } else if let Ok(integer_count) = usize::try_from(exponent + 1)
        && integer_count > 0
    {
        // `exponent` in 0..17: `integer_count` digits before the point, zero-padded.
        let (integer, fraction) = digits.split_at(integer_count.min(digits.len()));
        output.push(integer);
        for _ in digits.len()..integer_count {
            output.push(b"0");
        }
        if !fraction.is_empty() {
            output.push(b".");
            output.push(fraction);
        }
    } else {
        // `exponent` in -4..0: `0.`, then `-exponent - 1` zeros, then the digits.
        output.push(b"0.");
        for _ in exponent..-1 {
            output.push(b"0");
        }
        output.push(digits);
    }
}

/// Room for the longest [`format_double_human`] text (`f64::MAX` has 309 digits).
pub const DOUBLE_HUMAN_SIZE_MAX: usize = 400;

/// Writes a finite float in Redis's human form (no exponent, no trailing zeros, `-0` as
/// `0`), as INCRBYFLOAT stores its result, and returns it. Rust's shortest round-trip
/// `Display` gives exactly that.
///
/// # Panics
/// If `value` is NaN or infinite: the caller refuses those first.
#[must_use]
pub fn format_double_human(value: f64, buffer: &mut [u8; DOUBLE_HUMAN_SIZE_MAX]) -> &[u8] {
    assert!(value.is_finite(), "value={value}");
    let value = if value == 0.0 { 0.0 } else { value }; // "-0" reads oddly; Redis prints "0".
    let mut text = StackText::new(buffer);
    let written = write!(text, "{value}");
    assert!(
        written.is_ok(),
        "a finite f64 fits in {DOUBLE_HUMAN_SIZE_MAX} bytes"
    );
    text.into_bytes()
}

/// A [`fmt::Write`] over a byte buffer; a write that does not fit fails whole.
#[derive(Debug)]
pub(crate) struct StackText<'b> {
    buffer: &'b mut [u8],
    size: usize,
}

impl<'b> StackText<'b> {
    /// Empty text over `buffer`.
    pub(crate) fn new(buffer: &'b mut [u8]) -> Self {
        Self { buffer, size: 0 }
    }

    /// The text written so far.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.buffer.get(..self.size).unwrap_or_default()
    }

    /// The text written, for as long as the buffer is borrowed.
    pub(crate) fn into_bytes(self) -> &'b [u8] {
        let size = self.size;
        self.buffer.get(..size).unwrap_or_default()
    }

    /// Appends `bytes`.
    ///
    /// # Panics
    /// If they do not fit: callers size their buffers for the longest text they write.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        let fits = self.try_push(bytes);
        assert!(
            fits,
            "text longer than its buffer ({} bytes)",
            self.buffer.len()
        );
    }

    /// Appends `bytes` if they fit; whether they did.
    pub(crate) fn try_push(&mut self, bytes: &[u8]) -> bool {
        let end = self.size + bytes.len();
        let Some(target) = self.buffer.get_mut(self.size..end) else {
            return false;
        };
        target.copy_from_slice(bytes);
        self.size = end;
        true
    }
}

impl fmt::Write for StackText<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        if self.try_push(text.as_bytes()) {
            Ok(())
        } else {
            Err(fmt::Error)
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn same_double(expected: f64, actual: f64) -> bool {
        (expected.is_nan() && actual.is_nan()) || expected.to_bits() == actual.to_bits()
    }

    #[test]
    fn integers_parse_like_redis() {
        assert_eq!(parse_integer_strict(b"0"), Some(0));
        assert_eq!(parse_integer_strict(b"-12"), Some(-12));
        assert_eq!(parse_integer_strict(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(
            parse_integer_strict(b"-9223372036854775808"),
            Some(i64::MIN)
        );
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"9223372036854775808",
            b"1a",
        ] {
            assert_eq!(
                parse_integer_strict(bad),
                None,
                "{:?}",
                core::str::from_utf8(bad)
            );
        }
    }

    #[test]
    fn integers_format_round_trip() {
        for value in [0, 1, -1, 42, i64::MAX, i64::MIN] {
            let mut text = [0u8; I64_TEXT_SIZE_MAX];
            assert_eq!(
                parse_integer_strict(format_i64(value, &mut text)),
                Some(value)
            );
        }
    }

    #[test]
    fn floats_parse_and_format_like_redis() {
        assert_eq!(parse_double_finite(b"10.5"), Some(10.5));
        assert_eq!(parse_double_finite(b"5.0e3"), Some(5000.0));
        for bad in [&b"nan"[..], b"inf", b"", b" 1", b"1.0.0", b"abc"] {
            assert_eq!(
                parse_double_finite(bad),
                None,
                "{:?}",
                core::str::from_utf8(bad)
            );
        }
        let mut text = [0u8; DOUBLE_HUMAN_SIZE_MAX];
        assert_eq!(format_double_human(10.5 + 0.1, &mut text), b"10.6");
        assert_eq!(format_double_human(5000.0, &mut text), b"5000");
        assert_eq!(format_double_human(-0.0, &mut text), b"0");
        assert!(format_double_human(f64::MAX, &mut text).len() > 300);
    }

    #[test]
    fn increments_parse_like_redis() {
        assert_eq!(parse_double_or_infinity(b"10.5"), Some(10.5));
        assert_eq!(parse_double_or_infinity(b"-.5"), Some(-0.5));
        assert_eq!(parse_double_or_infinity(b"5e3"), Some(5000.0));
        assert_eq!(parse_double_or_infinity(b"inf"), Some(f64::INFINITY));
        for bad in [&b""[..], b"nan", b" 1", b"1 ", b"1.0.0", b"abc", b"\xff"] {
            assert_eq!(parse_double_or_infinity(bad), None);
        }
    }

    #[test]
    fn cursors_parse_leniently() {
        assert_eq!(parse_u64_lenient(b"0"), Some(0));
        assert_eq!(parse_u64_lenient(b"007"), Some(7));
        assert_eq!(parse_u64_lenient(b"+7"), Some(7));
        assert_eq!(parse_u64_lenient(b"18446744073709551615"), Some(u64::MAX));
        for bad in [&b""[..], b"+", b"-1", b" 1", b"1x", b"18446744073709551616"] {
            assert_eq!(parse_u64_lenient(bad), None);
        }
    }

    #[test]
    fn each_integer_rule_says_what_it_accepts() {
        // The same text, read by the three integer rules: strict, lenient, unsigned.
        type Case<'a> = (&'a [u8], Option<i64>, Option<i64>, Option<u64>);
        let cases: [Case<'_>; 5] = [
            (b"7", Some(7), Some(7), Some(7)),
            (b"+7", None, Some(7), Some(7)),
            (b"007", None, Some(7), Some(7)),
            (b"-0", None, Some(0), None),
            (b"-7", Some(-7), Some(-7), None),
        ];
        for (text, strict, lenient, unsigned) in cases {
            assert_eq!(parse_integer_strict(text), strict, "{text:?}");
            assert_eq!(parse_integer_lenient(text), lenient, "{text:?}");
            assert_eq!(parse_u64_lenient(text), unsigned, "{text:?}");
        }
    }

    #[test]
    fn resp_double_format() {
        let cases: [(f64, &str); 18] = [
            (0.0, "0"),
            (-0.0, "-0"),
            (1.5, "1.5"),
            (-2.5, "-2.5"),
            (100.0, "100"),
            (0.1, "0.1"),
            (4.0625, "4.0625"),
            (12345.678, "12345.678"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (123_456_789_012_345_680.0, "1.2345678901234568e+17"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e100, "1e+100"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
        ];
        for (value, text) in cases {
            let mut buffer = [0; DOUBLE_SIZE_MAX];
            assert_eq!(
                format_double(value, &mut buffer),
                text.as_bytes(),
                "{value:e}"
            );
        }
    }

    #[test]
    fn double_17g_matches_c() {
        let cases: [(f64, &str); 12] = [
            (0.0, "0"),
            (-0.0, "-0"),
            (1.1, "1.1000000000000001"),
            (0.1, "0.10000000000000001"),
            (3.0, "3"),
            (1.5, "1.5"),
            (1e20, "1e+20"),
            (1e16, "10000000000000000"),
            (0.0001, "0.0001"),
            (1.5e-7, "1.4999999999999999e-07"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "4.9406564584124654e-324"),
        ];
        for (value, text) in cases {
            let mut buffer = [0; DOUBLE_SIZE_MAX];
            let got = format_double_17g(value, &mut buffer);
            assert_eq!(std::str::from_utf8(got).unwrap(), text, "{value:e}");
        }
    }

    proptest! {
        #[test]
        fn resp_prop_double_round_trip(value in any::<f64>()) {
            let mut buffer = [0; DOUBLE_SIZE_MAX];
            let text = format_double(value, &mut buffer);
            let got: f64 = std::str::from_utf8(text).unwrap().parse().unwrap();
            prop_assert!(same_double(value, got), "{} {:?}", value, text);
            let resp3 = parse_double_resp3(text).unwrap();
            prop_assert!(same_double(value, resp3), "{} {:?}", value, text);
        }
    }
}
