//! The durable log: append-only segment files of encoded records, written with group commit.
//!
//! A data directory holds a `LOCK` file and log segments named by the LSN of their first
//! record, zero-padded so that names sort in LSN order:
//!
//! ```text
//! <dir>/LOCK                                  flock'ed by the one process using <dir>
//! <dir>/log-00000000000000000001.floe         LSNs 1 ..
//! <dir>/log-00000000000000004711.floe         LSNs 4711 ..
//! ```
//!
//! Records are opaque bytes here: floe-core's record codec encodes them (with their LSN and a
//! CRC); the writer only assigns LSNs, orders, batches and persists them.
//!
//! Invariants:
//! - LSNs are dense and increase in file order: segment `n` holds LSNs from its name up to the
//!   name of segment `n + 1`, minus one.
//! - A batch (one group commit) never straddles two segments.
//!
//! Fault assumptions: as in [`crate::io`]; what the writer does about them is in [`writer`].

pub mod buffer;
pub mod check;
pub mod recovery;
pub mod snapshot;
pub mod writer;

use std::fmt;
use std::str::FromStr;

pub use buffer::LogBuffer;
pub use writer::{LogConfig, LogStats, LogWriter, Ticket};

/// Prefix of a log segment's file name.
pub const SEGMENT_NAME_PREFIX: &str = "log-";
/// Suffix of a log segment's file name.
pub const SEGMENT_NAME_SUFFIX: &str = ".floe";
/// Digits of the zero-padded LSN in a segment's name: enough for `u64::MAX`.
pub const SEGMENT_NAME_LSN_DIGITS: usize = 20;
const _: () = assert!(u64::MAX.ilog10() as usize + 1 == SEGMENT_NAME_LSN_DIGITS);

/// The file name of the segment whose first record has LSN `lsn_first`.
#[must_use]
pub fn segment_file_name(lsn_first: u64) -> String {
    format!("{SEGMENT_NAME_PREFIX}{lsn_first:0SEGMENT_NAME_LSN_DIGITS$}{SEGMENT_NAME_SUFFIX}")
}

/// The first LSN named by a segment file name, or `None` if `name` is not a segment's name
/// (in exactly the form [`segment_file_name`] writes).
#[must_use]
pub fn segment_file_lsn(name: &str) -> Option<u64> {
    let digits = name
        .strip_prefix(SEGMENT_NAME_PREFIX)?
        .strip_suffix(SEGMENT_NAME_SUFFIX)?;
    if digits.len() != SEGMENT_NAME_LSN_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// When the log calls fdatasync, by Redis's `appendfsync` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// Every group commit is written and fdatasync'ed before its callers are told; a reply
    /// under this policy survives power loss.
    #[default]
    Always,
    /// Written before callers are told; fdatasync in the background about once per
    /// [`LogConfig::everysec_interval`] (1 s). A crash of the machine may lose about that much.
    Everysec,
    /// Written before callers are told; never fdatasync'ed explicitly (the OS flushes when it
    /// likes), except once on [`LogWriter::close`].
    No,
}

impl FromStr for FsyncPolicy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "always" => Ok(Self::Always),
            "everysec" => Ok(Self::Everysec),
            "no" => Ok(Self::No),
            other => Err(format!(
                "unknown fsync policy `{other}`: expected `always`, `everysec` or `no`"
            )),
        }
    }
}

impl fmt::Display for FsyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Always => "always",
            Self::Everysec => "everysec",
            Self::No => "no",
        })
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_sort_by_lsn_and_parse_back() {
        assert_eq!(segment_file_name(1), "log-00000000000000000001.floe");
        let lsns = [0, 1, 9, 10, 4711, u64::MAX / 3, u64::MAX];
        let mut names: Vec<String> = lsns.iter().map(|&lsn| segment_file_name(lsn)).collect();
        names.sort();
        let parsed: Vec<u64> = names.iter().filter_map(|n| segment_file_lsn(n)).collect();
        assert_eq!(parsed, lsns);
    }

    #[test]
    fn other_names_are_not_segments() {
        for name in [
            "LOCK",
            "log-1.floe",
            "log-0000000000000000000x.floe",
            "log-00000000000000000001.floe.tmp",
            "log-+0000000000000000001.floe",
            "log-99999999999999999999.floe", // Over u64::MAX.
        ] {
            assert_eq!(segment_file_lsn(name), None, "{name}");
        }
    }

    #[test]
    fn fsync_policy_parses_redis_names() {
        for policy in [FsyncPolicy::Always, FsyncPolicy::Everysec, FsyncPolicy::No] {
            assert_eq!(policy.to_string().parse::<FsyncPolicy>(), Ok(policy));
        }
        assert!("sometimes".parse::<FsyncPolicy>().is_err());
    }
}
