//! Redis's string family beyond GET/SET: counters, APPEND, ranges, GETDEL, GETEX.
//!
//! Counters are logged as the value they produced, so replay never increments twice.

use super::{LogSink, Splice, Store};
use crate::codec::record::{Record, Timestamp};
use crate::error::StoreError;
use crate::text::StackText;

/// What GETEX does to the key's expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetExpiry {
    /// Leave it.
    Keep,
    /// Remove it (`PERSIST`).
    Persist,
    /// Set it to this absolute time (`EX`/`PX`/`EXAT`/`PXAT`).
    At(Timestamp),
}

/// Longest decimal form of an `i64`.
const INTEGER_SIZE_MAX: usize = 20;
/// Room for the longest `Display` of a finite `f64` (`f64::MAX` has 309 digits).
const FLOAT_TEXT_SIZE_MAX: usize = 400;

impl Store<'_> {
    /// Adds `delta` to the integer stored at `key` (0 if absent) and returns the result
    /// (INCR, INCRBY, DECR, DECRBY). The key's expiry is kept.
    ///
    /// # Errors
    /// [`StoreError::NotInteger`] if the value is not a canonical 64-bit integer,
    /// [`StoreError::Overflow`] if the result does not fit, or a memory error.
    pub fn incr_by(
        &mut self,
        db: u8,
        key: &[u8],
        delta: i64,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<i64, StoreError> {
        let lookup = self.lookup(db, key, now);
        let (current, expires_at) = match &lookup.found {
            Some(found) => {
                let value = parse_integer(self.value_of(found)).ok_or(StoreError::NotInteger)?;
                (value, found.layout.expires_at)
            }
            None => (0, 0),
        };
        let result = current.checked_add(delta).ok_or(StoreError::Overflow)?;
        let mut text = [0u8; INTEGER_SIZE_MAX];
        let digits = format_integer(result, &mut text);
        self.put(
            db,
            key,
            lookup,
            &Splice::bytes(digits),
            expires_at,
            now,
            log,
        )?;
        Ok(result)
    }

    /// Adds `delta` to the float stored at `key` (0 if absent) and returns the stored text
    /// (INCRBYFLOAT). The key's expiry is kept.
    ///
    /// # Errors
    /// [`StoreError::NotFloat`] if the value is not a float, [`StoreError::FloatNotFinite`]
    /// if the result would be NaN or infinite, or a memory error.
    pub fn incr_by_float(
        &mut self,
        db: u8,
        key: &[u8],
        delta: f64,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<&[u8], StoreError> {
        if !delta.is_finite() {
            return Err(StoreError::FloatNotFinite);
        }
        let lookup = self.lookup(db, key, now);
        let (current, expires_at) = match &lookup.found {
            Some(found) => {
                let value = parse_float(self.value_of(found)).ok_or(StoreError::NotFloat)?;
                (value, found.layout.expires_at)
            }
            None => (0.0, 0),
        };
        let result = current + delta;
        if !result.is_finite() {
            return Err(StoreError::FloatNotFinite);
        }
        let mut text = [0u8; FLOAT_TEXT_SIZE_MAX];
        let formatted = format_float(result, &mut text);
        self.put(
            db,
            key,
            lookup,
            &Splice::bytes(formatted),
            expires_at,
            now,
            log,
        )?;
        let found = self.find(db, key).ok_or(StoreError::OutOfMemory)?;
        Ok(self.value_of(&found))
    }

    /// Appends `bytes` to the value at `key` (creating it) and returns the new length.
    ///
    /// # Errors
    /// [`StoreError::ValueTooLarge`] if the result is too long, or a memory error.
    pub fn append(
        &mut self,
        db: u8,
        key: &[u8],
        bytes: &[u8],
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<usize, StoreError> {
        let lookup = self.lookup(db, key, now);
        let expires_at = lookup
            .found
            .as_ref()
            .map_or(0, |found| found.layout.expires_at);
        self.put(
            db,
            key,
            lookup,
            &Splice::after_old(bytes),
            expires_at,
            now,
            log,
        )?;
        Ok(self.strlen(db, key, now))
    }

    /// Length of the value at `key` (0 if absent).
    pub fn strlen(&mut self, db: u8, key: &[u8], now: Timestamp) -> usize {
        self.find_live(db, key, now)
            .map_or(0, |found| found.layout.value.len())
    }

    /// The bytes of the value from `start` to `end` inclusive; negative offsets count from
    /// the end (GETRANGE).
    pub fn getrange(&mut self, db: u8, key: &[u8], start: i64, end: i64, now: Timestamp) -> &[u8] {
        let Some(found) = self.find_live(db, key, now) else {
            return &[];
        };
        let value = self.value_of(&found);
        let size = i64::try_from(value.len()).unwrap_or(i64::MAX);
        let resolve = |offset: i64| {
            if offset < 0 {
                (size + offset).max(0)
            } else {
                offset
            }
        };
        let (start, end) = (resolve(start), resolve(end).min(size - 1));
        if size == 0 || start > end {
            return &[];
        }
        // Both are within 0..size now.
        let range = usize::try_from(start).unwrap_or(0)..usize::try_from(end).unwrap_or(0) + 1;
        &value[range]
    }

    /// Overwrites the value from `offset` with `bytes`, padding with zero bytes, and returns
    /// the new length (SETRANGE). An empty `bytes` on a missing key creates nothing.
    ///
    /// # Errors
    /// [`StoreError::OffsetOutOfRange`] if the result would exceed `value_size_max`.
    pub fn setrange(
        &mut self,
        db: u8,
        key: &[u8],
        offset: usize,
        bytes: &[u8],
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<usize, StoreError> {
        let lookup = self.lookup(db, key, now);
        if bytes.is_empty() {
            // Writing nothing changes nothing, whatever the offset (as in Redis).
            return Ok(lookup
                .found
                .as_ref()
                .map_or(0, |found| found.layout.value.len()));
        }
        let end = offset
            .checked_add(bytes.len())
            .ok_or(StoreError::OffsetOutOfRange)?;
        if end > self.config.value_size_max as usize {
            return Err(StoreError::OffsetOutOfRange);
        }
        let Some(found) = &lookup.found else {
            let splice = Splice {
                zeros: offset,
                ..Splice::bytes(bytes)
            };
            self.put(db, key, lookup, &splice, 0, now, log)?;
            return Ok(end);
        };
        let (old_size, expires_at) = (found.layout.value.len(), found.layout.expires_at);
        let suffix = end..old_size.max(end);
        let splice = Splice {
            prefix: offset,
            suffix,
            pad: true,
            ..Splice::bytes(bytes)
        };
        self.put(db, key, lookup, &splice, expires_at, now, log)?;
        Ok(self.strlen(db, key, now))
    }

    /// Removes `key` and returns the value it held (GETDEL).
    pub fn getdel(
        &mut self,
        db: u8,
        key: &[u8],
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Option<&[u8]> {
        let found = self.find_live(db, key, now)?;
        self.remove(&found);
        log.record(Record::Del { db, key });
        // The item is a hole now, but its bytes stay intact until the next write.
        Some(self.value_of(&found))
    }

    /// The value of `key`, changing its expiry as `expiry` says (GETEX).
    ///
    /// # Errors
    /// A memory error when removing an expiry needs the item rewritten.
    pub fn getex(
        &mut self,
        db: u8,
        key: &[u8],
        expiry: GetExpiry,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<Option<&[u8]>, StoreError> {
        let lookup = self.lookup(db, key, now);
        let Some(found) = lookup.found.clone() else {
            self.stats.misses += 1;
            return Ok(None);
        };
        self.stats.hits += 1;
        match expiry {
            GetExpiry::Keep => {}
            GetExpiry::Persist if found.layout.expires_at == 0 => {}
            GetExpiry::Persist => {
                self.expiry_change(key, lookup, 0, now, log)?;
            }
            GetExpiry::At(at) => {
                if super::expired(at, now) {
                    self.remove(&found);
                    log.record(Record::Del { db, key });
                    return Ok(Some(self.value_of(&found)));
                }
                self.expiry_change(key, lookup, at, now, log)?;
            }
        }
        let found = self.find(db, key).ok_or(StoreError::OutOfMemory)?;
        Ok(Some(self.value_of(&found)))
    }
}

/// Parses a canonical signed 64-bit decimal, as Redis's `string2ll`: no sign `+`, no
/// spaces, no leading zeros, no `-0`.
#[must_use]
pub fn parse_integer(bytes: &[u8]) -> Option<i64> {
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
    if digits.len() > INTEGER_SIZE_MAX || !digits.iter().all(u8::is_ascii_digit) {
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

/// Parses a float as Redis's INCRBYFLOAT does: decimal or exponent form, no spaces, not NaN
/// or infinite.
#[must_use]
pub fn parse_float(bytes: &[u8]) -> Option<f64> {
    let text = core::str::from_utf8(bytes).ok()?;
    let valid_chars = text
        .bytes()
        .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
    if text.is_empty() || !valid_chars {
        return None;
    }
    text.parse::<f64>().ok().filter(|value| value.is_finite())
}

/// Writes `value` in decimal into `target` and returns the digits.
fn format_integer(value: i64, target: &mut [u8; INTEGER_SIZE_MAX]) -> &[u8] {
    let mut magnitude = value.unsigned_abs();
    let mut start = target.len();
    loop {
        start -= 1;
        target[start] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    if value < 0 {
        start -= 1;
        target[start] = b'-';
    }
    &target[start..]
}

/// Writes a finite float in Redis's human form (no exponent, no trailing zeros) and returns
/// it. Rust's shortest round-trip `Display` gives exactly that.
fn format_float(value: f64, target: &mut [u8; FLOAT_TEXT_SIZE_MAX]) -> &[u8] {
    assert!(value.is_finite(), "value={value}");
    let value = if value == 0.0 { 0.0 } else { value }; // "-0" reads oddly; Redis prints "0".
    let mut text = StackText::new(target);
    let written = core::fmt::write(&mut text, format_args!("{value}"));
    assert!(
        written.is_ok(),
        "a finite f64 fits in {FLOAT_TEXT_SIZE_MAX} bytes"
    );
    text.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_like_redis() {
        assert_eq!(parse_integer(b"0"), Some(0));
        assert_eq!(parse_integer(b"-12"), Some(-12));
        assert_eq!(parse_integer(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_integer(b"-9223372036854775808"), Some(i64::MIN));
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
            assert_eq!(parse_integer(bad), None, "{:?}", core::str::from_utf8(bad));
        }
    }

    #[test]
    fn integers_format_round_trip() {
        for value in [0, 1, -1, 42, i64::MAX, i64::MIN] {
            let mut text = [0u8; INTEGER_SIZE_MAX];
            assert_eq!(parse_integer(format_integer(value, &mut text)), Some(value));
        }
    }

    #[test]
    fn floats_parse_and_format_like_redis() {
        assert_eq!(parse_float(b"10.5"), Some(10.5));
        assert_eq!(parse_float(b"5.0e3"), Some(5000.0));
        for bad in [&b"nan"[..], b"inf", b"", b" 1", b"1.0.0", b"abc"] {
            assert_eq!(parse_float(bad), None, "{:?}", core::str::from_utf8(bad));
        }
        let mut text = [0u8; FLOAT_TEXT_SIZE_MAX];
        assert_eq!(format_float(10.5 + 0.1, &mut text), b"10.6");
        assert_eq!(format_float(5000.0, &mut text), b"5000");
        assert_eq!(format_float(-0.0, &mut text), b"0");
        assert!(format_float(f64::MAX, &mut text).len() > 300);
    }
}
