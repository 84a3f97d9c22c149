//! Redis's string family beyond GET/SET: counters, APPEND, ranges, GETDEL, GETEX.
//!
//! Counters are logged as the value they produced, so replay never increments twice.

use super::{LogSink, Lookup, Splice, Store};
use crate::codec::record::Record;
use crate::error::StoreError;
use crate::storage::item::ItemKind;
use crate::text::{DOUBLE_HUMAN_SIZE_MAX, I64_TEXT_SIZE_MAX, format_double_human, format_i64};
use crate::text::{parse_double_finite, parse_integer_strict};
use crate::time::Timestamp;
// The old public names (store::parse_integer, store::parse_float), until callers switch.
pub use crate::text::{parse_double_finite as parse_float, parse_integer_strict as parse_integer};

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

impl Store<'_> {
    /// Looks `key` up for a string command: `Ok` if it holds a string or is absent.
    pub(super) fn string_lookup(
        &mut self,
        db: u8,
        key: &[u8],
        now: Timestamp,
    ) -> Result<Lookup, StoreError> {
        let lookup = self.lookup(db, key, now);
        match &lookup.found {
            Some(found) if found.layout.kind != ItemKind::String => Err(StoreError::WrongType),
            _ => Ok(lookup),
        }
    }

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
        let lookup = self.string_lookup(db, key, now)?;
        let (current, expires_at) = match &lookup.found {
            Some(found) => {
                let value =
                    parse_integer_strict(self.value_of(found)).ok_or(StoreError::NotInteger)?;
                (value, found.layout.expires_at)
            }
            None => (0, 0),
        };
        let result = current.checked_add(delta).ok_or(StoreError::Overflow)?;
        let mut text = [0u8; I64_TEXT_SIZE_MAX];
        let digits = format_i64(result, &mut text);
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
        let lookup = self.string_lookup(db, key, now)?;
        let (current, expires_at) = match &lookup.found {
            Some(found) => {
                let value =
                    parse_double_finite(self.value_of(found)).ok_or(StoreError::NotFloat)?;
                (value, found.layout.expires_at)
            }
            None => (0.0, 0),
        };
        let result = current + delta;
        if !result.is_finite() {
            return Err(StoreError::FloatNotFinite);
        }
        let mut text = [0u8; DOUBLE_HUMAN_SIZE_MAX];
        let formatted = format_double_human(result, &mut text);
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
        let lookup = self.string_lookup(db, key, now)?;
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
        let lookup = self.string_lookup(db, key, now)?;
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
        let lookup = self.string_lookup(db, key, now)?;
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
