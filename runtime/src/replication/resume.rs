//! Partial resync across a clean restart, as Redis 7 keeps its replication ID and offset
//! across SHUTDOWN: on a clean shutdown a server with persistence writes
//! `<dir>/replication-state` (its replication ID, its last LSN, and on a replica the
//! primary's ID, the primary's LSN it applied and the IDs above it); at start it reads the
//! file and removes it (durably) before it serves anything.
//!
//! The saved state is used only when the recovered log ends exactly at the LSN the file
//! names, so it never claims more than the log holds: the file is written after the Db
//! closed (its log complete and fdatasync'ed), and any later run removes it first, so
//! after a crash there is no file and the server takes a new ID (its replicas sync in
//! full), as Redis does. A primary that keeps its ID refills its backlog from its log's
//! newest segments; a replica that keeps its primary's ID and LSN resumes with
//! `FLOESYNC PULL` (the primary answers FLOERESYNC if it cannot serve it: a full sync).
//!
//! Invariant (the replica's half): the primary LSN saved is the one the last applied
//! group reached. [`super::Replication::stop`] waits for a group being applied and stops
//! any later one, so after it nothing of the primary's is applied that the status does
//! not count; the replica's own expiry deletes may follow in its log, which resuming
//! tolerates (they delete keys that were expired anyway).

use std::fs;
use std::io::Write;
use std::path::Path;

/// The file's name in the data directory.
pub const STATE_FILE_NAME: &str = "replication-state";
/// The file's first line.
const STATE_MAGIC: &str = "floe replication state 1";

/// What a clean shutdown saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// This server's replication ID.
    pub replid: String,
    /// Its log's last LSN at the shutdown.
    pub lsn: u64,
    /// On a replica that had finished a full sync: its primary's ID, the primary's last
    /// LSN applied, and the IDs above the primary.
    pub primary: Option<SavedPrimary>,
}

/// The replica's half of [`Saved`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedPrimary {
    /// The primary's replication ID.
    pub replid: String,
    /// The primary's last LSN this replica applied.
    pub lsn: u64,
    /// The replication IDs above the primary.
    pub ancestry: Vec<String>,
}

impl Saved {
    /// The file's text.
    fn encode(&self) -> String {
        let mut text = format!("{STATE_MAGIC}\nreplid {}\nlsn {}\n", self.replid, self.lsn);
        if let Some(primary) = &self.primary {
            text.push_str(&format!(
                "primary_replid {}\nprimary_lsn {}\nancestry{}\n",
                primary.replid,
                primary.lsn,
                primary
                    .ancestry
                    .iter()
                    .map(|replid| format!(" {replid}"))
                    .collect::<String>()
            ));
        }
        // So that no cut of the text reads as a shorter state.
        text.push_str("end\n");
        text
    }

    /// Reads the file's text; `None` if it is not exactly what [`Saved::encode`] writes.
    fn decode(text: &str) -> Option<Self> {
        let mut lines = text.strip_suffix('\n')?.split('\n');
        if lines.next()? != STATE_MAGIC {
            return None;
        }
        let mut field = |name: &str| lines.next()?.strip_prefix(name)?.strip_prefix(' ');
        let replid = valid_replid(field("replid")?)?;
        let lsn = field("lsn")?.parse().ok()?;
        let mut primary_line = lines.next()?;
        let primary = match primary_line.strip_prefix("primary_replid ") {
            None => None,
            Some(primary_replid) => {
                let mut field = |name: &str| lines.next()?.strip_prefix(name)?.strip_prefix(' ');
                let primary_lsn = field("primary_lsn")?.parse().ok()?;
                let ancestry = lines.next()?.strip_prefix("ancestry")?;
                let primary = SavedPrimary {
                    replid: valid_replid(primary_replid)?,
                    lsn: primary_lsn,
                    ancestry: ancestry
                        .split(' ')
                        .filter(|replid| !replid.is_empty())
                        .map(valid_replid)
                        .collect::<Option<_>>()?,
                };
                primary_line = lines.next()?;
                Some(primary)
            }
        };
        if primary_line != "end" || lines.next().is_some() {
            return None;
        }
        Some(Self {
            replid,
            lsn,
            primary,
        })
    }
}

/// `text` if it is a replication ID (40 lowercase hex digits).
fn valid_replid(text: &str) -> Option<String> {
    (text.len() == 40
        && text
            .bytes()
            .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f')))
    .then(|| text.to_owned())
}

/// Writes `saved` into `dir` (a temporary file, fdatasync'ed, renamed, the directory
/// fsync'ed): at a clean shutdown, after the Db closed.
///
/// # Errors
/// The I/O error, as text; the next start then takes a new ID (a full sync).
pub fn save(dir: &Path, saved: &Saved) -> Result<(), String> {
    let path = dir.join(STATE_FILE_NAME);
    let temp = dir.join(format!("{STATE_FILE_NAME}.tmp"));
    let written = fs::File::create(&temp).and_then(|mut file| {
        file.write_all(saved.encode().as_bytes())?;
        file.sync_data()
    });
    written
        .and_then(|()| fs::rename(&temp, &path))
        .and_then(|()| fs::File::open(dir)?.sync_all())
        .map_err(|error| {
            let _removed = fs::remove_file(&temp); // Best effort: the error is the news.
            format!("cannot save `{}`: {error}", path.display())
        })
}

/// Reads and removes (durably) the state a clean shutdown left in `dir`; returns it if the
/// recovered log ends exactly at its LSN (`lsn_last`), `None` if there is none. A file
/// that is damaged or names another LSN is removed and ignored (a new ID).
///
/// # Errors
/// The file cannot be removed (as text): the server must not start, or a crash later
/// would find a claim its log no longer matches.
pub fn take(dir: &Path, lsn_last: u64) -> Result<Option<Saved>, String> {
    let path = dir.join(STATE_FILE_NAME);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            tracing::warn!(
                "cannot read `{}`: {error}; new replication ID",
                path.display()
            );
            String::new()
        }
    };
    fs::remove_file(&path)
        .and_then(|()| fs::File::open(dir)?.sync_all())
        .map_err(|error| format!("cannot remove `{}`: {error}", path.display()))?;
    let Some(saved) = Saved::decode(&text) else {
        tracing::warn!("`{}` is damaged: new replication ID", path.display());
        return Ok(None);
    };
    if saved.lsn != lsn_last {
        tracing::warn!(
            "`{}` names LSN {} but the log ends at {lsn_last}: new replication ID",
            path.display(),
            saved.lsn
        );
        return Ok(None);
    }
    Ok(Some(saved))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved(primary: bool) -> Saved {
        Saved {
            replid: "a".repeat(40),
            lsn: 42,
            primary: primary.then(|| SavedPrimary {
                replid: "b".repeat(40),
                lsn: 7,
                ancestry: vec!["c".repeat(40), "d".repeat(40)],
            }),
        }
    }

    #[test]
    fn the_text_reads_back_and_anything_else_is_refused() {
        for primary in [false, true] {
            let saved = saved(primary);
            let text = saved.encode();
            assert_eq!(Saved::decode(&text), Some(saved), "{text}");
            // Every cut, and every changed byte, is refused or reads as itself.
            for cut in 0..text.len() {
                assert_eq!(Saved::decode(&text[..cut]), None, "cut at {cut}");
            }
            for index in 0..text.len() {
                let mut bytes = text.clone().into_bytes();
                bytes[index] = if bytes[index] == b'x' { b'y' } else { b'x' };
                let changed = String::from_utf8(bytes).unwrap_or_default();
                if let Some(read) = Saved::decode(&changed) {
                    panic!("a change at {index} read as {read:?}");
                }
            }
        }
    }

    #[test]
    fn take_uses_a_matching_file_once_and_drops_a_stale_or_damaged_one() {
        let dir = std::env::temp_dir().join(format!("floe-resume-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(take(&dir, 42), Ok(None), "no file");
        save(&dir, &saved(true)).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(take(&dir, 42), Ok(Some(saved(true))));
        assert_eq!(take(&dir, 42), Ok(None), "used once");
        save(&dir, &saved(false)).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(take(&dir, 43), Ok(None), "the log moved on");
        assert!(!dir.join(STATE_FILE_NAME).exists());
        fs::write(
            dir.join(STATE_FILE_NAME),
            "floe replication state 1\nreplid x\n",
        )
        .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(take(&dir, 42), Ok(None), "damaged");
        assert!(!dir.join(STATE_FILE_NAME).exists());
        // A file it cannot remove (here a directory of that name): the start must fail.
        fs::create_dir(dir.join(STATE_FILE_NAME)).unwrap_or_else(|error| panic!("{error}"));
        let error = take(&dir, 42).expect_err("cannot remove");
        assert!(error.contains("cannot remove"), "{error}");
        fs::remove_dir(dir.join(STATE_FILE_NAME)).unwrap_or_else(|error| panic!("{error}"));
        // A directory it cannot write to: saving fails and says where.
        let missing = dir.join("missing");
        let error = save(&missing, &saved(false)).expect_err("no such directory");
        assert!(error.contains("replication-state"), "{error}");
        let _ = fs::remove_dir_all(&dir);
    }
}
