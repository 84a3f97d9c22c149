//! The log buffer: the store's [`LogSink`] for a [`crate::Db`]. It collects the records of
//! applied writes, grouped per write, until they are appended to the [`super::LogWriter`]
//! in one batch.
//!
//! Invariants: entries keep the order the store applied them in; an entry of one record is
//! encoded standalone, one of several as a group through floe-core's
//! [`encode_group`] (so the framing recovery reads is written in one place); the LSNs an
//! encode uses are exactly [`LogBuffer::append_count`].

use floe_core::codec::record::{
    Commit, RECORD_HEADER_SIZE, Record, encode_group, group_encoded_size,
};
use floe_core::store::LogSink;
use floe_core::time::Timestamp;

/// A log buffer keeps at most this many bytes of capacity between writes; a write with a
/// larger value gets a fresh buffer afterwards, so one huge value does not pin memory.
pub(crate) const LOG_BUFFER_RETAIN_SIZE: usize = 1 << 20;

/// The store's [`LogSink`] for a [`Db`]: copies each record's key and value into a buffer
/// kept across writes, then encodes them once, with their LSNs, into the log's queue.
///
/// Why copy then encode: a record's LSN is inside its bytes and under its checksum, and LSNs
/// are handed out only by the log's append (which needs the record count first), so records
/// cannot be encoded while the store reports them. Copying the bytes and encoding once in
/// the append costs one memcpy and one CRC per record; encoding with a placeholder LSN and
/// patching it would cost a second CRC.
///
/// The buffer holds the records of one or more writes ("entries"): under `everysec` and `no`
/// the writes of a short stretch of time are appended together (see [`Db`]). Each entry is
/// encoded as one standalone record or, with several records, as one group.
#[derive(Debug)]
pub struct LogBuffer {
    /// With persistence off, records are dropped at once.
    enabled: bool,
    /// Keys and values of the records, back to back.
    bytes: Vec<u8>,
    records: Vec<Captured>,
    /// End (index into `records`) of each sealed entry, in order.
    entry_ends: Vec<usize>,
    /// Records of the sealed entries: `entry_ends.last()`, or 0.
    sealed_count: usize,
    /// Bytes the records of the entry being written encode to, as standalone records.
    open_size: u64,
    /// Bytes [`LogBuffer::encode`] appends for the sealed entries.
    pub(crate) encoded_size: u64,
    /// LSNs the sealed entries take: a record each, plus a commit per group.
    pub(crate) append_count: u64,
}

/// A record whose key and value live in [`LogBuffer::bytes`].
#[derive(Debug, Clone, Copy)]
enum Captured {
    Set {
        db: u8,
        key: (usize, usize),
        value: (usize, usize),
        expires_at: Timestamp,
        value_kind: floe_core::codec::record::ItemKind,
    },
    Del {
        db: u8,
        key: (usize, usize),
    },
    ExpireAt {
        db: u8,
        key: (usize, usize),
        expires_at: Timestamp,
    },
    Clear {
        db: Option<u8>,
    },
    SwapDb {
        db_first: u8,
        db_second: u8,
    },
}

impl LogBuffer {
    /// An empty buffer; with `enabled` false (persistence off) records are dropped.
    #[must_use]
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            bytes: Vec::new(),
            records: Vec::new(),
            entry_ends: Vec::new(),
            sealed_count: 0,
            open_size: 0,
            encoded_size: 0,
            append_count: 0,
        }
    }

    /// Starts keeping records (a Db with persistence off whose first replica asked for a
    /// backlog, `db/replica.rs`).
    pub(crate) fn enable(&mut self) {
        self.enabled = true;
    }

    /// Grows the buffer, once, to hold `encoded_size` bytes of encoded records (keys,
    /// values and the entries' bookkeeping, sized for the smallest records): a buffer that
    /// collects writes until they reach a size then holds them with no allocation, whatever
    /// the timing of the appends that empty it (the "no allocation per operation" promise
    /// does not depend on a warm-up reaching the peak).
    pub(crate) fn reserve_for(&mut self, encoded_size: usize) {
        let record_count = encoded_size / RECORD_HEADER_SIZE as usize + 1;
        self.bytes.reserve(encoded_size);
        self.records.reserve(record_count);
        self.entry_ends.reserve(record_count);
    }

    /// Records reported by the write in progress so far.
    #[must_use]
    pub fn record_count(&self) -> usize {
        self.records.len() - self.sealed_count
    }

    /// Closes the write in progress: its records become one entry (none if it logged
    /// nothing).
    pub(crate) fn seal(&mut self) {
        let count = self.record_count();
        if count == 0 {
            return;
        }
        self.encoded_size += self.open_size;
        self.append_count += count as u64;
        if count > 1 {
            self.encoded_size += u64::from(Commit::ENCODED_SIZE);
            self.append_count += 1;
        }
        self.open_size = 0;
        self.sealed_count = self.records.len();
        self.entry_ends.push(self.sealed_count);
    }

    /// Whether no sealed entry waits to be appended.
    pub(crate) fn pending_is_empty(&self) -> bool {
        self.entry_ends.is_empty()
    }

    /// Forgets everything (after an append); keeps the capacity unless a huge value
    /// grew it.
    pub(crate) fn clear(&mut self) {
        assert!(
            self.record_count() == 0,
            "a write in progress: {}",
            self.record_count()
        );
        if self.bytes.capacity() > LOG_BUFFER_RETAIN_SIZE {
            self.bytes = Vec::new();
        }
        self.bytes.clear();
        self.records.clear();
        self.entry_ends.clear();
        self.sealed_count = 0;
        self.encoded_size = 0;
        self.append_count = 0;
    }

    /// The record at `index`, borrowing from the buffer.
    fn record_at(&self, index: usize) -> Record<'_> {
        let bytes = &self.bytes;
        match self.records[index] {
            Captured::Set {
                db,
                key,
                value,
                expires_at,
                value_kind,
            } => Record::Set {
                db,
                key: &bytes[key.0..key.1],
                value: &bytes[value.0..value.1],
                expires_at,
                value_kind,
            },
            Captured::Del { db, key } => Record::Del {
                db,
                key: &bytes[key.0..key.1],
            },
            Captured::ExpireAt {
                db,
                key,
                expires_at,
            } => Record::ExpireAt {
                db,
                key: &bytes[key.0..key.1],
                expires_at,
            },
            Captured::Clear { db } => Record::Clear { db },
            Captured::SwapDb {
                db_first,
                db_second,
            } => Record::SwapDb {
                db_first,
                db_second,
            },
        }
    }

    /// Appends the sealed entries to `target` with LSNs from `lsn_first`: an entry of one
    /// record standalone, one of several as intents followed by their commit.
    pub(crate) fn encode(&self, lsn_first: u64, target: &mut Vec<u8>) {
        assert!(!self.pending_is_empty(), "nothing to encode");
        let size_before = target.len();
        let mut lsn = lsn_first;
        let mut start_index = 0;
        for &end_index in &self.entry_ends {
            let start = target.len();
            if end_index - start_index == 1 {
                let record = self.record_at(start_index);
                target.resize(start + record.encoded_size() as usize, 0);
                record.encode(lsn, &mut target[start..]);
                lsn += 1;
            } else {
                // The one group encoder recovery's format is defined by (floe-core's).
                let records = (start_index..end_index).map(|index| self.record_at(index));
                let Ok(size) = usize::try_from(group_encoded_size(records.clone())) else {
                    unreachable!("a buffered group is larger than memory");
                };
                target.resize(start + size, 0);
                lsn = encode_group(records, lsn, &mut target[start..]) + 1;
            }
            start_index = end_index;
        }
        assert!(lsn - lsn_first == self.append_count, "lsn={lsn}");
        assert!(
            (target.len() - size_before) as u64 == self.encoded_size,
            "encoded={} expected={}",
            target.len() - size_before,
            self.encoded_size
        );
    }

    fn capture(&mut self, bytes: &[u8]) -> (usize, usize) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(bytes);
        (start, self.bytes.len())
    }
}

impl LogSink for LogBuffer {
    fn record(&mut self, record: Record<'_>) {
        if !self.enabled {
            return;
        }
        self.open_size += u64::from(record.encoded_size());
        let captured = match record {
            Record::Set {
                db,
                key,
                value,
                expires_at,
                value_kind,
            } => Captured::Set {
                db,
                key: self.capture(key),
                value: self.capture(value),
                expires_at,
                value_kind,
            },
            Record::Del { db, key } => Captured::Del {
                db,
                key: self.capture(key),
            },
            Record::ExpireAt {
                db,
                key,
                expires_at,
            } => Captured::ExpireAt {
                db,
                key: self.capture(key),
                expires_at,
            },
            Record::Clear { db } => Captured::Clear { db },
            Record::SwapDb {
                db_first,
                db_second,
            } => Captured::SwapDb {
                db_first,
                db_second,
            },
        };
        self.records.push(captured);
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use floe_core::codec::log::{Entry, scan};
    use floe_core::store::LogSink;

    #[test]
    fn log_buffer_encodes_one_record_standalone_and_several_as_a_group() {
        let mut buffer = LogBuffer::new(true);
        buffer.record(Record::Set {
            db: 1,
            key: b"k",
            value: b"v",
            expires_at: 5,
            value_kind: floe_core::codec::record::ItemKind::String,
        });
        assert_eq!(buffer.record_count(), 1);
        buffer.seal();
        assert_eq!(buffer.append_count, 1);
        let mut bytes = Vec::new();
        buffer.encode(7, &mut bytes);
        let entries: Vec<Entry<'_>> =
            floe_core::codec::log::LogScanner::new(&bytes, None).collect();
        assert!(matches!(entries[..], [Entry::Record { lsn: 7, .. }]));
        buffer.clear();

        // Two writes pending together: a group of three, then a standalone record.
        buffer.record(Record::Del {
            db: 0,
            key: b"gone",
        });
        buffer.record(Record::Clear { db: None });
        buffer.record(Record::Set {
            db: 0,
            key: b"a",
            value: b"1",
            expires_at: 0,
            value_kind: floe_core::codec::record::ItemKind::String,
        });
        buffer.seal();
        buffer.seal(); // A write that logged nothing adds no entry.
        buffer.record(Record::Del { db: 2, key: b"x" });
        buffer.seal();
        assert_eq!(buffer.append_count, 5);
        let mut bytes = Vec::new();
        buffer.encode(10, &mut bytes);
        let summary = scan(&bytes, None);
        assert!(summary.verdict.is_clean());
        assert_eq!((summary.group_count, summary.intent_count), (1, 3));
        assert_eq!(summary.record_count, 1);
        assert_eq!(summary.lsn_last, Some(14));

        buffer.clear();
        assert!(buffer.pending_is_empty());
        let mut off = LogBuffer::new(false);
        off.record(Record::Clear { db: None });
        off.seal();
        assert!(off.pending_is_empty());
    }
}
