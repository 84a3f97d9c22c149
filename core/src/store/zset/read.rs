//! A sorted set read in place in either form ([`ZsetRead`]: the compact item or the large
//! form's index and tree), which every command, DUMP, SORT and the set algebra read
//! through; and the rank window both forms share.

use core::ops::Range;

use super::large::{self, LargeZset};
use super::{Entries, Entry, LexRange, ScoreRange, ZsetView, entry_size, is_valid};
use crate::store::large::{Header, PartSource};

/// Redis's window of ranks for `start` and `stop` (inclusive, negative from the end) in
/// a set of `length`, as ZRANGE and ZREMRANGEBYRANK read them.
#[must_use]
pub fn rank_window(length: usize, start: i64, stop: i64) -> Range<usize> {
    let length = i64::try_from(length).unwrap_or(i64::MAX);
    let start = if start < 0 { start + length } else { start }.max(0);
    let stop = if stop < 0 { stop + length } else { stop };
    if start > stop || start >= length {
        return 0..0;
    }
    let stop = stop.min(length - 1);
    let to_rank = |rank: i64| usize::try_from(rank).unwrap_or(0);
    to_rank(start)..to_rank(stop) + 1
}

/// A sorted set read in place, in either form.
#[derive(Debug, Clone, Copy)]
pub enum ZsetRead<'v> {
    /// The compact form: the key's value.
    Compact(ZsetView<'v>),
    /// The large form: a member index and a tree of parts.
    Large(LargeZset<'v>),
}

/// The entries of a [`ZsetRead`], in order.
#[derive(Debug, Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "no allocation: a large set's walk keeps its path of nodes inline"
)]
pub enum ZsetEntries<'v> {
    /// A compact set's.
    Compact(Entries<'v>),
    /// A large set's.
    Large(large::LargeEntries<'v>),
}

impl<'v> Iterator for ZsetEntries<'v> {
    type Item = Entry<'v>;

    fn next(&mut self) -> Option<Entry<'v>> {
        match self {
            Self::Compact(entries) => entries.next(),
            Self::Large(entries) => entries.next(),
        }
    }
}

impl<'v> ZsetRead<'v> {
    /// The sorted set whose key item at `owner` in `db` has the value `value` (a compact
    /// set or a large one's header), its parts read from `parts`.
    #[must_use]
    pub fn of(parts: &'v dyn PartSource, db: u8, owner: &'v [u8], value: &'v [u8]) -> Self {
        match Header::read(value) {
            Some(header) if header.is_zset() => {
                Self::Large(LargeZset::new(parts, db, owner, header))
            }
            _ => Self::Compact(ZsetView::new(value)),
        }
    }

    /// The entries in order (lowest score first). A large set's entries' `range` is
    /// within their node.
    #[must_use]
    pub fn entries(&self) -> ZsetEntries<'v> {
        match self {
            Self::Compact(view) => ZsetEntries::Compact(view.entries()),
            Self::Large(zset) => ZsetEntries::Large(zset.entries()),
        }
    }

    /// Number of members (ZCARD): O(1) for a large set.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Self::Compact(view) => view.len(),
            Self::Large(zset) => zset.len(),
        }
    }

    /// Whether the set has no member (never true of a stored one).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rank and entry of `member`, if present.
    #[must_use]
    pub fn find(&self, member: &[u8]) -> Option<(usize, Entry<'v>)> {
        match self {
            Self::Compact(view) => view.find(member),
            Self::Large(zset) => zset.find(member),
        }
    }

    /// The score of `member` (ZSCORE).
    #[must_use]
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Self::Compact(view) => view.score(member),
            Self::Large(zset) => zset.score(member),
        }
    }

    /// Redis's window of ranks for `start` and `stop` (see [`rank_window`]).
    #[must_use]
    pub fn rank_window(&self, start: i64, stop: i64) -> Range<usize> {
        rank_window(self.len(), start, stop)
    }

    /// The ranks of the entries whose scores are in `range`.
    #[must_use]
    pub fn score_window(&self, range: &ScoreRange) -> Range<usize> {
        match self {
            Self::Compact(view) => view.score_window(range),
            Self::Large(zset) => zset.score_window(range),
        }
    }

    /// The ranks of the entries in the lexicographic `range` (see
    /// [`ZsetView::lex_window`]).
    #[must_use]
    pub fn lex_window(&self, range: &LexRange<'_>, reverse: bool) -> Range<usize> {
        match self {
            Self::Compact(view) => view.lex_window(range, reverse),
            Self::Large(zset) => zset.lex_window(range),
        }
    }

    /// Calls `visit` with the entries of ranks `window`, in order, or from the last with
    /// `reverse`.
    pub fn visit(&self, window: Range<usize>, reverse: bool, visit: impl FnMut(Entry<'v>)) {
        match self {
            Self::Compact(view) => view.visit(window, reverse, visit),
            Self::Large(zset) => zset.visit(window, reverse, visit),
        }
    }

    /// Bytes the entries of ranks `window` take in the compact encoding.
    #[must_use]
    pub fn size_of(&self, window: Range<usize>) -> usize {
        match self {
            Self::Compact(view) => view.bytes_of(&window).len(),
            Self::Large(zset) => {
                let mut size = 0;
                zset.visit(window, false, |entry| {
                    size += entry_size(entry.member.len())
                });
                size
            }
        }
    }
}

/// Whether `value` is a well-formed node of a large sorted set's tree (a leaf is a
/// compact sorted set, an inner node `large::inner_is_valid`).
#[must_use]
pub fn node_is_valid(value: &[u8]) -> bool {
    is_valid(value) || large::inner_is_valid(value)
}
