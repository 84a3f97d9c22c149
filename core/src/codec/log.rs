//! The log scanner: walks the bytes of one log segment, yields what recovery applies, and
//! ends with a [`Verdict`] from the recovery decision table in `docs/FORMAT.md`.
//!
//! This is pure logic over `&[u8]`: the runtime reads a segment, calls
//! [`LogScanner::next`] until it returns `None`, applies every [`Entry`] in order, then
//! acts on [`LogScanner::verdict`] (truncate a torn tail, stop on corruption, ...).
//!
//! Invariants:
//!
//! - Nothing is yielded that failed its checksum, and a group is yielded only whole,
//!   after its intact commit record.
//! - Every yielded entry lies inside `0..accepted_size()`, and `accepted_size()` is always
//!   a record boundary outside any group, so re-scanning `bytes[..accepted_size()]` is
//!   clean and yields the same entries.
//! - LSNs of yielded records strictly increase (and start above `lsn_previous`).
//! - Work is bounded: each step advances by at least [`RECORD_HEADER_SIZE`], and the
//!   search for an intact record after a damaged one runs once, at the end.
//!
//! Fault assumptions: see `docs/FORMAT.md` ("Assumptions about the media"). In short, a
//! crash may leave any prefix of the last unsynced writes (a torn tail), the file may have
//! zero-filled space after the last record (preallocation), and a bit may flip anywhere.
//! Segments are created empty or zero-filled, never recycled with stale records in them.

use super::record::{
    Body, Commit, DecodeError, GROUP_RECORD_COUNT_MAX, LogRecord, RECORD_HEADER_SIZE, Record,
    RecordView,
};
use super::usize_from;

/// Something recovery applies, in log order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry<'a> {
    /// A standalone record: apply it.
    Record {
        /// Byte offset of the record in the segment.
        offset: u64,
        /// The record's LSN.
        lsn: u64,
        /// The change.
        record: Record<'a>,
    },
    /// A group whose commit record is present and intact: apply all of it.
    Group(Group<'a>),
}

/// A committed group: intent records followed by their intact commit record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group<'a> {
    /// Byte offset of the group's first intent record.
    pub offset: u64,
    /// LSN of the first intent record.
    pub lsn_first: u64,
    /// LSN of the commit record.
    pub commit_lsn: u64,
    /// Number of intent records.
    pub record_count: u32,
    /// The intent records' bytes (the commit record excluded), already validated.
    intents: &'a [u8],
}

impl<'a> Group<'a> {
    /// The group's changes with their LSNs, in log order.
    pub fn records(&self) -> GroupRecords<'a> {
        GroupRecords {
            bytes: self.intents,
            remaining_count: self.record_count,
        }
    }
}

/// Iterator over the changes of a committed [`Group`].
#[derive(Debug, Clone)]
pub struct GroupRecords<'a> {
    bytes: &'a [u8],
    remaining_count: u32,
}

impl<'a> Iterator for GroupRecords<'a> {
    type Item = (u64, Record<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining_count == 0 {
            assert!(
                self.bytes.is_empty(),
                "group bytes left over: {}",
                self.bytes.len()
            );
            return None;
        }
        // The scanner validated these bytes (checksum included) before yielding the group,
        // so decoding again cannot fail; it re-checks them as a pair assertion.
        match LogRecord::decode_bytes(self.bytes) {
            Ok((
                LogRecord {
                    lsn,
                    body: Body::Intent(record),
                },
                size,
            )) => {
                self.bytes = &self.bytes[usize_from(size)..];
                self.remaining_count -= 1;
                Some((lsn, record))
            }
            other => unreachable!("group bytes were validated: {other:?}"),
        }
    }
}

/// How a scan ended: one row group of the recovery decision table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Every record was accepted; only zero bytes (preallocated space), if anything,
    /// follow `end`. New records are appended at `end`.
    Clean {
        /// End of the last accepted record: `accepted_size`.
        end: u64,
    },
    /// The last record is incomplete or damaged and nothing intact follows it: a write
    /// torn by a crash. Truncate the segment at `offset` and report it.
    TornTail {
        /// Start of the torn record, equal to `accepted_size`.
        offset: u64,
        /// What the torn record looked like.
        error: DecodeError,
    },
    /// A group whose commit record is missing at the end of the segment (its intents ran
    /// to the end, or were followed only by a torn record): the write did not complete.
    /// Discard it: truncate at `offset` and report it.
    TornGroup {
        /// Start of the group's first intent, equal to `accepted_size`.
        offset: u64,
        /// LSN of the group's first intent.
        lsn_first: u64,
        /// Intact intents read before the segment ended.
        record_count: u32,
    },
    /// Damage or an impossible sequence with intact records after it: stop recovery and
    /// report `offset`. Only a repair (`floe check --repair`) truncates here.
    Corrupt {
        /// Byte offset of the offending record.
        offset: u64,
        /// What is wrong.
        reason: Corruption,
    },
    /// An intact record this build cannot read (a newer format version or an unknown
    /// kind): stop and report; a newer floe can read the segment.
    Unsupported {
        /// Byte offset of the record.
        offset: u64,
        /// [`DecodeError::UnsupportedVersion`] or [`DecodeError::UnknownKind`].
        error: DecodeError,
    },
}

impl Verdict {
    /// Whether the whole segment was accepted.
    pub const fn is_clean(&self) -> bool {
        matches!(self, Self::Clean { .. })
    }
}

/// Why a segment is corrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Corruption {
    /// The record does not decode (torn size, bad checksum, ...) but an intact record
    /// with a higher LSN follows it: damage in the middle of the log, not a torn tail.
    Damaged {
        /// Why the record does not decode.
        error: DecodeError,
        /// Offset of the first intact record after it.
        intact_offset: u64,
    },
    /// The checksum matches but a field is invalid: a writer bug, since a torn write
    /// cannot produce a matching checksum.
    Invalid(DecodeError),
    /// The record's LSN is not above the LSN before it.
    LsnRegression {
        /// The record's LSN.
        lsn: u64,
        /// The LSN before it (or `lsn_previous` of the scan).
        lsn_previous: u64,
    },
    /// A standalone record between a group's intents and its commit.
    GroupInterrupted,
    /// A group with more than [`GROUP_RECORD_COUNT_MAX`] intents.
    GroupTooLarge,
    /// A commit record with no group open before it.
    CommitUnexpected,
    /// A commit record that names another group than the intents before it.
    CommitMismatch {
        /// The group the commit names.
        commit: Commit,
        /// First LSN of the intents actually read.
        lsn_first: u64,
        /// Number of intents actually read.
        record_count: u32,
    },
}

/// Scans one log segment; see the module documentation.
#[derive(Debug, Clone)]
pub struct LogScanner<'a> {
    bytes: &'a [u8],
    /// End of the accepted prefix: everything before it has been yielded.
    accepted_size: usize,
    /// LSN of the last accepted record, or `lsn_previous`.
    lsn_last: Option<u64>,
    verdict: Option<Verdict>,
}

/// What a finished scan found; see [`scan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanSummary {
    /// How the scan ended.
    pub verdict: Verdict,
    /// Bytes accepted: the offset to truncate to when the verdict is torn.
    pub accepted_size: u64,
    /// LSN of the last accepted record, or `lsn_previous` if none was.
    pub lsn_last: Option<u64>,
    /// Standalone records accepted.
    pub record_count: u64,
    /// Committed groups accepted.
    pub group_count: u64,
    /// Intent records inside the accepted groups.
    pub intent_count: u64,
}

/// Scans a whole segment without applying anything (`floe check`, and the fuzz target).
pub fn scan(bytes: &[u8], lsn_previous: Option<u64>) -> ScanSummary {
    let mut scanner = LogScanner::new(bytes, lsn_previous);
    let (mut record_count, mut group_count, mut intent_count) = (0, 0, 0);
    for entry in scanner.by_ref() {
        match entry {
            Entry::Record { .. } => record_count += 1,
            Entry::Group(group) => {
                group_count += 1;
                intent_count += u64::from(group.record_count);
            }
        }
    }
    let Some(verdict) = scanner.verdict() else {
        unreachable!("a scanner that returned None has a verdict");
    };
    ScanSummary {
        verdict,
        accepted_size: scanner.accepted_size(),
        lsn_last: scanner.lsn_last(),
        record_count,
        group_count,
        intent_count,
    }
}

/// What the scanner found at one position, before the decision table is applied.
#[derive(Debug)]
enum Observation<'a> {
    /// No bytes left, or only zero bytes.
    End,
    /// The bytes do not form a record whose checksum matches.
    Damaged {
        error: DecodeError,
        /// Offset of the first intact record after this position with an LSN above the
        /// last one read, if any.
        intact_offset: Option<usize>,
    },
    /// An intact record this build cannot read.
    Unsupported(DecodeError),
    /// An intact record with an invalid field.
    Invalid(DecodeError),
    /// A valid record of `size` bytes.
    Valid { record: LogRecord<'a>, size: usize },
}

/// A group whose intents have been read but whose commit has not.
#[derive(Debug, Clone, Copy)]
struct GroupOpen {
    offset: usize,
    lsn_first: u64,
    record_count: u32,
}

/// What the decision table says to do at one position.
enum Action<'a> {
    /// Yield a standalone record.
    Accept(u64, Record<'a>),
    /// Start a group with this intent.
    GroupOpen(u64),
    /// Add an intent to the open group.
    GroupExtend(u64),
    /// Yield the open group: its commit is intact and names it.
    GroupCommit(u64),
    /// End the scan.
    Stop(Verdict),
}

impl<'a> LogScanner<'a> {
    /// A scanner over the whole segment `bytes`. `lsn_previous` is the last LSN of the
    /// previous segment of the same log, if any: every record here must be above it.
    pub const fn new(bytes: &'a [u8], lsn_previous: Option<u64>) -> Self {
        Self {
            bytes,
            accepted_size: 0,
            lsn_last: lsn_previous,
            verdict: None,
        }
    }

    /// The verdict, once [`LogScanner::next`] has returned `None`.
    pub const fn verdict(&self) -> Option<Verdict> {
        self.verdict
    }

    /// Bytes accepted so far: the end of the last yielded entry, a record boundary
    /// outside any group. A torn tail or torn group is cut here.
    pub const fn accepted_size(&self) -> u64 {
        self.accepted_size as u64
    }

    /// LSN of the last yielded record (a group's commit LSN for a group), or
    /// `lsn_previous` if nothing was yielded.
    pub const fn lsn_last(&self) -> Option<u64> {
        self.lsn_last
    }

    /// One step of the decision table at `offset`, with `group` open or not. This
    /// `match` is the recovery decision table of `docs/FORMAT.md`, row for row.
    fn decide(
        observation: Observation<'a>,
        offset: usize,
        group: Option<GroupOpen>,
        lsn_last: Option<u64>,
    ) -> Action<'a> {
        let at = offset as u64;
        match (observation, group) {
            // Rows 1-2: the end (or zero-filled space): clean, or a torn group.
            (Observation::End, None) => Action::Stop(Verdict::Clean { end: at }),
            (Observation::End, Some(open)) => Action::Stop(torn_group(open)),
            // Rows 3-5: damage; a torn tail only if nothing intact follows.
            (
                Observation::Damaged {
                    error,
                    intact_offset: None,
                },
                None,
            ) => Action::Stop(Verdict::TornTail { offset: at, error }),
            (
                Observation::Damaged {
                    intact_offset: None,
                    ..
                },
                Some(open),
            ) => Action::Stop(torn_group(open)),
            (
                Observation::Damaged {
                    error,
                    intact_offset: Some(intact),
                },
                _,
            ) => {
                let reason = Corruption::Damaged {
                    error,
                    intact_offset: intact as u64,
                };
                Action::Stop(Verdict::Corrupt { offset: at, reason })
            }
            // Rows 6-7: intact but unreadable, or intact with an invalid field.
            (Observation::Unsupported(error), _) => {
                Action::Stop(Verdict::Unsupported { offset: at, error })
            }
            (Observation::Invalid(error), _) => Action::Stop(Verdict::Corrupt {
                offset: at,
                reason: Corruption::Invalid(error),
            }),
            // Row 8: LSNs must increase.
            (Observation::Valid { record, .. }, _)
                if lsn_last.is_some_and(|lsn_previous| record.lsn <= lsn_previous) =>
            {
                let lsn_previous = lsn_last.unwrap_or_default();
                let reason = Corruption::LsnRegression {
                    lsn: record.lsn,
                    lsn_previous,
                };
                Action::Stop(Verdict::Corrupt { offset: at, reason })
            }
            // Rows 9-10: a standalone record.
            (
                Observation::Valid {
                    record:
                        LogRecord {
                            lsn,
                            body: Body::Standalone(change),
                        },
                    ..
                },
                None,
            ) => Action::Accept(lsn, change),
            (
                Observation::Valid {
                    record:
                        LogRecord {
                            body: Body::Standalone(_),
                            ..
                        },
                    ..
                },
                Some(_),
            ) => Action::Stop(corrupt(at, Corruption::GroupInterrupted)),
            // Rows 11-13: an intent.
            (
                Observation::Valid {
                    record:
                        LogRecord {
                            lsn,
                            body: Body::Intent(_),
                        },
                    ..
                },
                None,
            ) => Action::GroupOpen(lsn),
            (
                Observation::Valid {
                    record:
                        LogRecord {
                            body: Body::Intent(_),
                            ..
                        },
                    ..
                },
                Some(open),
            ) if open.record_count >= GROUP_RECORD_COUNT_MAX => {
                Action::Stop(corrupt(at, Corruption::GroupTooLarge))
            }
            (
                Observation::Valid {
                    record:
                        LogRecord {
                            lsn,
                            body: Body::Intent(_),
                        },
                    ..
                },
                Some(_),
            ) => Action::GroupExtend(lsn),
            // Rows 14-16: a commit.
            (
                Observation::Valid {
                    record:
                        LogRecord {
                            lsn,
                            body: Body::Commit(commit),
                        },
                    ..
                },
                Some(open),
            ) if commit.lsn_first == open.lsn_first && commit.record_count == open.record_count => {
                Action::GroupCommit(lsn)
            }
            (
                Observation::Valid {
                    record:
                        LogRecord {
                            body: Body::Commit(commit),
                            ..
                        },
                    ..
                },
                Some(open),
            ) => {
                let reason = Corruption::CommitMismatch {
                    commit,
                    lsn_first: open.lsn_first,
                    record_count: open.record_count,
                };
                Action::Stop(corrupt(at, reason))
            }
            (
                Observation::Valid {
                    record:
                        LogRecord {
                            body: Body::Commit(_),
                            ..
                        },
                    ..
                },
                None,
            ) => Action::Stop(corrupt(at, Corruption::CommitUnexpected)),
        }
    }

    /// Reads the record at `offset` and classifies it. `lsn_last` bounds the search for
    /// an intact record after a damaged one.
    fn observe(&self, offset: usize, lsn_last: Option<u64>) -> Observation<'a> {
        let rest = &self.bytes[offset..];
        let error = match LogRecord::decode_bytes(rest) {
            Ok((record, size)) => {
                let size = usize_from(size);
                assert!(size <= rest.len(), "size={size} rest={}", rest.len());
                return Observation::Valid { record, size };
            }
            Err(error) => error,
        };
        match error {
            DecodeError::Truncated | DecodeError::SizeInvalid | DecodeError::ChecksumMismatch => {
                // O(rest) at most once per scan: every branch below ends the scan.
                if rest.iter().all(|&byte| byte == 0) {
                    return Observation::End;
                }
                let intact_offset = self.intact_search(offset + 1, lsn_last);
                Observation::Damaged {
                    error,
                    intact_offset,
                }
            }
            DecodeError::UnsupportedVersion(_) | DecodeError::UnknownKind(_) => {
                Observation::Unsupported(error)
            }
            DecodeError::FlagsInvalid(_)
            | DecodeError::DatabaseInvalid(_)
            | DecodeError::FieldInvalid
            | DecodeError::CommitInvalid => Observation::Invalid(error),
        }
    }

    /// The first offset at or after `start` where an intact record (sizes consistent,
    /// checksum matching, any version or kind) with an LSN above `lsn_last` begins.
    ///
    /// Records with an LSN at or below `lsn_last` are not evidence of corruption: they
    /// cannot belong after the damaged record. Cost: O(n) size checks, plus a checksum for
    /// each position whose sizes happen to agree (rare for damaged or random bytes).
    fn intact_search(&self, start: usize, lsn_last: Option<u64>) -> Option<usize> {
        let end = self
            .bytes
            .len()
            .checked_sub(usize_from(RECORD_HEADER_SIZE))?;
        (start..=end).find(|&offset| {
            RecordView::new_checked(&self.bytes[offset..]).is_ok_and(|view| {
                lsn_last.is_none_or(|lsn| view.lsn() > lsn) && view.checksum_verify()
            })
        })
    }
}

impl<'a> Iterator for LogScanner<'a> {
    type Item = Entry<'a>;

    /// The next standalone record or committed group; `None` once the verdict is known.
    fn next(&mut self) -> Option<Entry<'a>> {
        if self.verdict.is_some() {
            return None;
        }
        let mut offset = self.accepted_size;
        let mut lsn_last = self.lsn_last;
        let mut group: Option<GroupOpen> = None;
        // Each step either ends the scan or advances by at least one record header.
        let step_count_max = (self.bytes.len() - offset) / usize_from(RECORD_HEADER_SIZE) + 1;
        for _ in 0..step_count_max {
            let observation = self.observe(offset, lsn_last);
            let size = match observation {
                Observation::Valid { size, .. } => size,
                _ => 0,
            };
            match Self::decide(observation, offset, group, lsn_last) {
                Action::Accept(lsn, record) => {
                    assert!(group.is_none());
                    self.accepted_size = offset + size;
                    self.lsn_last = Some(lsn);
                    return Some(Entry::Record {
                        offset: offset as u64,
                        lsn,
                        record,
                    });
                }
                Action::GroupOpen(lsn) => {
                    group = Some(GroupOpen {
                        offset,
                        lsn_first: lsn,
                        record_count: 1,
                    });
                    lsn_last = Some(lsn);
                }
                Action::GroupExtend(lsn) => {
                    let Some(open) = group.as_mut() else {
                        unreachable!("extend without group")
                    };
                    open.record_count += 1;
                    lsn_last = Some(lsn);
                }
                Action::GroupCommit(lsn) => {
                    let Some(open) = group else {
                        unreachable!("commit without group")
                    };
                    assert!(open.offset == self.accepted_size, "group={}", open.offset);
                    let group = Group {
                        offset: open.offset as u64,
                        lsn_first: open.lsn_first,
                        commit_lsn: lsn,
                        record_count: open.record_count,
                        intents: &self.bytes[open.offset..offset],
                    };
                    self.accepted_size = offset + size;
                    self.lsn_last = Some(lsn);
                    return Some(Entry::Group(group));
                }
                Action::Stop(verdict) => {
                    self.verdict = Some(verdict);
                    return None;
                }
            }
            assert!(size >= usize_from(RECORD_HEADER_SIZE), "size={size}");
            offset += size;
        }
        unreachable!("scan did not end within {step_count_max} steps")
    }
}

fn torn_group(open: GroupOpen) -> Verdict {
    Verdict::TornGroup {
        offset: open.offset as u64,
        lsn_first: open.lsn_first,
        record_count: open.record_count,
    }
}

const fn corrupt(offset: u64, reason: Corruption) -> Verdict {
    Verdict::Corrupt { offset, reason }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    reason = "a test fails loudly on an unexpected error; its sizes are small"
)]
pub(crate) mod tests;
