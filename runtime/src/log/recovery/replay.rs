//! Recovery's steps 2 to 4 (see [`super`]): replays the log segments above the snapshot,
//! a window at a time, and turns each segment's verdict into records applied, a torn tail
//! to cut, or a refusal naming the file and offset.

use std::path::{Path, PathBuf};

use floe_core::codec::log::{Corruption, Entry, LogScanner, Verdict};

use super::{
    Progress, RecoveryReport, Refusal, Replay, TornCut, corrupt, corruption_reason,
    does_not_fit_record, unsupported, unsupported_reason,
};
use crate::io::Storage;

/// Step 2's state across segments.
pub(super) struct LogReplay {
    /// The snapshot's LSN: records at or below it are skipped.
    pub(super) base: u64,
    /// The last LSN known to be in the state: `base`, or the last record applied.
    pub(super) lsn_last: u64,
    /// The last LSN the previous segment's scan accepted, for the scanner's order check.
    pub(super) lsn_scan_previous: Option<u64>,
    /// The previous segment read: its path, accepted size, and whether its tail was torn.
    pub(super) previous: Option<(PathBuf, u64, bool)>,
    /// Bytes of a segment read at a time ([`LOG_READ_WINDOW_SIZE`](super::LOG_READ_WINDOW_SIZE)).
    pub(super) window_size: u64,
}

impl LogReplay {
    /// Replays one segment; returns its accepted size (where a torn tail is cut) and its
    /// size.
    ///
    /// The segment is read in windows of `window_size` bytes, each scanned from the
    /// end of the last entry the previous one accepted, so memory holds a window, not the
    /// segment. Only the window that reaches the end of the file (or finds corruption,
    /// which nothing after it can undo) gives the verdict: where a window ends inside an
    /// entry, or in damage or zeros that what follows must judge, the next one starts at
    /// the last accepted entry, twice as long as what was left, up to the whole rest of the
    /// file. So the verdict is the one a scan of the whole file gives.
    pub(super) fn segment(
        &mut self,
        storage: &dyn Storage,
        path: &Path,
        first: u64,
        replay: &mut dyn Replay,
        report: &mut RecoveryReport,
        progress: &mut Progress<'_>,
    ) -> Result<(u64, u64), Refusal> {
        let size = storage.size(path)?;
        let mut window_start = 0;
        let mut window_size = self.window_size;
        let mut entry_first = true;
        // Each round moves the start on by about a window, or doubles the window.
        let round_count_max = 4 * (size / self.window_size + 1) + 2 * u64::from(u64::BITS);
        for _ in 0..round_count_max {
            let bytes = storage.read_range(path, window_start, window_size)?;
            let window_end = window_start + bytes.len() as u64;
            let mut scanner = LogScanner::new(&bytes, self.lsn_scan_previous);
            for entry in scanner.by_ref() {
                let offset = self.entry(
                    path,
                    first,
                    window_start,
                    entry,
                    &mut entry_first,
                    replay,
                    report,
                )?;
                progress.tick("records", report.record_count + report.intent_count, offset);
            }
            self.lsn_scan_previous = scanner.lsn_last();
            let accepted = window_start + scanner.accepted_size();
            let Some(verdict) = scanner.verdict() else {
                unreachable!("a scanner that returned None has a verdict");
            };
            // A short read: the file ended early (it is locked, so it should not shrink).
            let final_verdict = window_end >= size
                || (bytes.len() as u64) < window_size
                || matches!(
                    verdict,
                    Verdict::Corrupt { .. } | Verdict::Unsupported { .. }
                );
            if !final_verdict {
                let clean_at_end = verdict
                    == Verdict::Clean {
                        end: window_end - window_start,
                    };
                window_size = if clean_at_end {
                    self.window_size
                } else {
                    self.window_size.max(2 * (window_end - accepted))
                };
                window_start = accepted;
                continue;
            }
            let verdict = verdict_shifted(verdict, window_start);
            let accepted = self.verdict(path, verdict, accepted, size, report)?;
            return Ok((accepted, size));
        }
        unreachable!(
            "segment {} read in more than {round_count_max} windows",
            path.display()
        )
    }

    /// Applies one entry a window's scanner accepted; `window_start` is the window's offset
    /// in the file. Returns the entry's offset in the file.
    #[expect(clippy::too_many_arguments, reason = "the state of one segment's scan")]
    fn entry(
        &mut self,
        path: &Path,
        first: u64,
        window_start: u64,
        entry: Entry<'_>,
        entry_first: &mut bool,
        replay: &mut dyn Replay,
        report: &mut RecoveryReport,
    ) -> Result<u64, Refusal> {
        let (offset, lsn_first, lsn_last) = match &entry {
            Entry::Record { offset, lsn, .. } => (window_start + *offset, *lsn, *lsn),
            Entry::Group(group) => (
                window_start + group.offset,
                group.lsn_first,
                group.commit_lsn,
            ),
        };
        if *entry_first && lsn_first != first {
            let reason = format!(
                "the segment is named for LSN {first} but its first record has LSN \
                 {lsn_first}; was it renamed?"
            );
            return Err(Refusal::Fatal(corrupt(path, offset, reason)));
        }
        *entry_first = false;
        if lsn_last <= self.base {
            report.skipped_count += 1;
            return Ok(offset);
        }
        if lsn_first > self.lsn_last + 1 {
            return Err(self.gap(path, lsn_first));
        }
        match entry {
            Entry::Record { lsn, record, .. } => {
                replay
                    .apply(&record)
                    .map_err(|error| does_not_fit_record(path, offset, lsn, error))?;
                report.record_count += 1;
            }
            Entry::Group(group) => {
                for (lsn, record) in group.records() {
                    replay
                        .apply(&record)
                        .map_err(|error| does_not_fit_record(path, offset, lsn, error))?;
                }
                report.group_count += 1;
                report.intent_count += u64::from(group.record_count);
            }
        }
        self.lsn_last = lsn_last;
        Ok(offset)
    }

    /// Acts on a segment's final verdict (offsets in the file); returns the accepted size.
    fn verdict(
        &mut self,
        path: &Path,
        verdict: Verdict,
        accepted: u64,
        size: u64,
        report: &mut RecoveryReport,
    ) -> Result<u64, Refusal> {
        let torn = match verdict {
            Verdict::Clean { .. } => false,
            Verdict::TornTail { offset, error } => {
                report.cuts.push(TornCut {
                    file: path.to_path_buf(),
                    offset,
                    size_dropped: size - offset,
                    what: format!("an incomplete or damaged last record ({error})"),
                });
                true
            }
            Verdict::TornGroup {
                offset,
                lsn_first,
                record_count,
            } => {
                report.cuts.push(TornCut {
                    file: path.to_path_buf(),
                    offset,
                    size_dropped: size - offset,
                    what: format!(
                        "a group of {record_count} intent record(s) from LSN {lsn_first} \
                         without its commit record: the write never completed"
                    ),
                });
                true
            }
            Verdict::Corrupt { offset, reason } => {
                return Err(Refusal::Cut {
                    file: path.to_path_buf(),
                    offset: accepted,
                    error: corrupt(path, offset, corruption_reason(reason)),
                });
            }
            Verdict::Unsupported { offset, error } => {
                return Err(Refusal::Fatal(unsupported(
                    path,
                    unsupported_reason(offset, error),
                )));
            }
            other => {
                return Err(Refusal::Cut {
                    file: path.to_path_buf(),
                    offset: accepted,
                    error: corrupt(path, accepted, format!("{other:?}")),
                });
            }
        };
        self.previous = Some((path.to_path_buf(), accepted, torn));
        Ok(accepted)
    }

    /// The refusal for a record at `lsn_first` in `path` when LSNs after `lsn_last` are
    /// missing: the log must be cut where the previous segment ends.
    fn gap(&self, path: &Path, lsn_first: u64) -> Refusal {
        let missing = format!(
            "LSNs {} to {} are missing",
            self.lsn_last + 1,
            lsn_first - 1
        );
        match &self.previous {
            Some((previous, accepted, true)) => Refusal::Cut {
                file: previous.clone(),
                offset: *accepted,
                error: corrupt(
                    previous,
                    *accepted,
                    format!(
                        "an incomplete record in the middle of the log: `{}` continues at LSN \
                         {lsn_first}, so {missing}",
                        path.display()
                    ),
                ),
            },
            Some((previous, accepted, false)) => Refusal::Cut {
                file: previous.clone(),
                offset: *accepted,
                error: corrupt(
                    path,
                    0,
                    format!(
                        "{missing} between `{}` and this segment",
                        previous.display()
                    ),
                ),
            },
            None => Refusal::Fatal(corrupt(path, 0, format!("{missing} before this segment"))),
        }
    }
}

/// `verdict` of a window that starts at `window_start`, with its offsets in the file.
fn verdict_shifted(verdict: Verdict, window_start: u64) -> Verdict {
    match verdict {
        Verdict::Clean { end } => Verdict::Clean {
            end: window_start + end,
        },
        Verdict::TornTail { offset, error } => Verdict::TornTail {
            offset: window_start + offset,
            error,
        },
        Verdict::TornGroup {
            offset,
            lsn_first,
            record_count,
        } => Verdict::TornGroup {
            offset: window_start + offset,
            lsn_first,
            record_count,
        },
        Verdict::Corrupt { offset, reason } => Verdict::Corrupt {
            offset: window_start + offset,
            reason: match reason {
                Corruption::Damaged {
                    error,
                    intact_offset,
                } => Corruption::Damaged {
                    error,
                    intact_offset: window_start + intact_offset,
                },
                other => other,
            },
        },
        Verdict::Unsupported { offset, error } => Verdict::Unsupported {
            offset: window_start + offset,
            error,
        },
        other => other,
    }
}
