//! The model and the checker: what the store must hold, and whether it does.
//!
//! The model keeps every state-changing operation the log may hold, in the order the store
//! applied them (`history`): what the last verified recovery kept, then what was applied
//! since. The log is one sequence in that order, so what any recovery may legally produce
//! is the state after some *prefix* of the history:
//!
//! ```text
//!  history:  op1 op2 op3 ... opN          p = how many ops recovery kept
//!            ├── must survive ──┤          p >= floor  (acknowledged under the policy)
//!                               ├─ may ─┤  p <= N      (applied, maybe not acknowledged)
//! ```
//!
//! After a recovery the checker reads every key back and finds the prefixes `p` whose state
//! matches each key, intersecting them across keys (per key this is a union of intervals
//! between the ops that wrote it, so the check is linear in the history). Then:
//!
//! - no prefix matches at all: a value that was never written is served (corruption), a
//!   group is half applied, or changes were applied out of order: **violation**;
//! - only prefixes below the floor match: acknowledged writes were lost. That is allowed only
//!   when the disk destroyed stored bytes *and* recovery said so (a torn tail it cut, a
//!   snapshot it skipped, a refusal the simulator repaired), or the damage is one no
//!   single-copy log can see (a truncation at a record boundary, a lost or misdirected write
//!   that leaves a hole of zeros at the tail). Otherwise: **violation**;
//! - else the recovered state is legal: the operations after its prefix are forgotten (the
//!   log continues from there) and the prefix becomes the floor.
//!
//! Damage may take recovery back past earlier recoveries (a flipped bit in an old record),
//! so the history is kept whole; without damage only prefixes at or above the floor are
//! searched, by binary search into each key's versions.
//!
//! Values are self-describing (`"<op>:<key>:"` then filler derived from the op), so a value
//! read back names the operation that wrote it, and a damaged one is recognised as never
//! written. A collection (hash, list, set, sorted set) is read back whole and compared as
//! its canonical bytes (`#`, the type, then its elements) and its expiry
//! ([`super::collection::observed_bytes`]), of which a version keeps the size and a digest:
//! a collection no prefix of the history built, one with an element lost or added, or one
//! with another expiry, matches no version.
//!
//! Invariants: `floor <= history.len()`; `live` is always the state after the whole
//! history (what the running store must serve: reads are checked against it exactly); each
//! key's versions are sorted by prefix.
//!
//! Fault assumptions: none of its own; it judges what the disk's faults allow.

use std::fmt::Write as _;

use floe_core::time::Timestamp;

/// One key's value as the model knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The operation that wrote it.
    pub op_id: u64,
    /// Its size in bytes.
    pub size: u32,
    /// Absolute expiry in ms, `0` for none.
    pub expires_at: Timestamp,
    /// A collection: the digest of its observed bytes (`size` is their length; see
    /// [`super::collection::observed_bytes`]); `None` for a string, whose bytes are
    /// [`value_bytes`] of `op_id`.
    pub digest: Option<u64>,
}

impl Entry {
    /// Whether it can be read at `now`.
    #[must_use]
    pub fn visible(&self, now: Timestamp) -> bool {
        self.expires_at == 0 || self.expires_at > now
    }
}

/// The digest a collection's observed bytes are kept as in an [`Entry`].
#[must_use]
pub fn digest(observed: &[u8]) -> u64 {
    floe_core::hash::wyhash(observed, DIGEST_SEED)
}

/// Seed of [`digest`]; any fixed value.
const DIGEST_SEED: u64 = 0x636f_6c6c_6563_7469;

/// The bytes of the value `op_id` wrote to key `key_index`, `size` bytes long (at least the
/// self-describing prefix; `size` is raised to fit it).
#[must_use]
pub fn value_bytes(op_id: u64, key_index: usize, size: u32) -> Vec<u8> {
    let mut value = format!("{op_id}:{key_index}:").into_bytes();
    let size = usize::try_from(size).unwrap_or(usize::MAX).max(value.len());
    let mut filler = op_id
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(u64::try_from(key_index).unwrap_or(0));
    while value.len() < size {
        // Lower-case letters only: a value never looks like a record header.
        filler = filler
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let letter = b'a' + u8::try_from((filler >> 33) % 26).unwrap_or(0);
        value.push(letter);
    }
    value
}

/// The smallest size [`value_bytes`] gives for `op_id` and `key_index`.
#[must_use]
pub fn value_size_min(op_id: u64, key_index: usize) -> u32 {
    u32::try_from(format!("{op_id}:{key_index}:").len()).unwrap_or(u32::MAX)
}

/// What the store did with one state-changing operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Acknowledged: the policy's promise now covers it.
    Acked,
    /// Applied in memory, then refused (the log failed): it may or may not be on disk.
    Failed,
}

#[derive(Debug, Clone)]
struct Change {
    op_id: u64,
    /// What the op was, for messages (`set`, `mset`, ...).
    kind: &'static str,
    keys: Vec<usize>,
    outcome: Outcome,
}

/// How a recovery ended, as far as the checker cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryEvidence {
    /// Recovery reported cutting or skipping something, or refused and was repaired.
    pub reported: bool,
    /// The disk destroyed stored bytes since the last check.
    pub damaged: bool,
    /// Part of that damage is of a kind no single-copy log can detect (truncation, a lost
    /// or misdirected write leaving zeros).
    pub undetectable: bool,
    /// Recovery refused and the simulator repaired the log (`floe check --repair`): any
    /// prefix is then legal.
    pub repaired: bool,
}

/// What a successful check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// The prefix the recovered state matches.
    pub prefix: usize,
    /// Operations the history held.
    pub history_len: usize,
    /// Acknowledged operations lost, explained by reported or undetectable damage.
    pub lost_acked: usize,
}

/// The model; see the module documentation.
#[derive(Debug, Clone)]
pub struct Model {
    live: Vec<Option<Entry>>,
    /// Every operation the log may hold, in log order: what the last verified recovery kept,
    /// then what was applied since.
    history: Vec<Change>,
    /// Per key: `(p, value)`: from prefix `p` on (until the next entry), the key holds
    /// `value`; before its first entry it holds nothing.
    versions: Vec<Vec<(usize, Option<Entry>)>>,
    /// Prefix every power loss must keep (the last verified recovery, the fsync policy's
    /// promise, snapshots, clean closes).
    floor: usize,
    /// Prefix a process kill must keep: everything acknowledged (it was written).
    floor_kill: usize,
}

impl Model {
    /// An empty store of `key_count` keys.
    #[must_use]
    pub fn new(key_count: usize) -> Self {
        Self {
            live: vec![None; key_count],
            history: Vec::new(),
            versions: vec![Vec::new(); key_count],
            floor: 0,
            floor_kill: 0,
        }
    }

    /// Keys in the universe.
    #[must_use]
    pub fn key_count(&self) -> usize {
        self.live.len()
    }

    /// What the running store must hold for `key_index` (ignoring expiry).
    #[must_use]
    pub fn live(&self, key_index: usize) -> Option<Entry> {
        self.live[key_index]
    }

    /// Operations the log may hold.
    #[must_use]
    pub fn history_len(&self) -> usize {
        self.history.len()
    }

    /// Records an operation the store applied: each `(key, value)` it changed.
    pub fn apply(
        &mut self,
        op_id: u64,
        kind: &'static str,
        changes: &[(usize, Option<Entry>)],
        outcome: Outcome,
    ) {
        assert!(!changes.is_empty(), "op {op_id} changed nothing");
        let prefix = self.history.len() + 1;
        let mut keys = Vec::with_capacity(changes.len());
        for &(key_index, value) in changes {
            self.live[key_index] = value;
            let versions = &mut self.versions[key_index];
            if versions.last().is_some_and(|&(p, _)| p == prefix) {
                versions.pop(); // The same op wrote the key twice: the last write counts.
            }
            versions.push((prefix, value));
            keys.push(key_index);
        }
        self.history.push(Change {
            op_id,
            kind,
            keys,
            outcome,
        });
        if outcome == Outcome::Acked {
            self.floor_kill = self.history.len();
        }
    }

    /// Everything applied so far must survive a power loss (an `always` ack, a snapshot, a
    /// clean close, an fdatasync seen to succeed).
    pub fn make_durable(&mut self) {
        self.floor = self.history.len();
        self.floor_kill = self.floor_kill.max(self.floor);
    }

    /// The floor of the next check: after a power loss, or after a process kill.
    #[must_use]
    pub fn floor(&self, power_loss: bool) -> usize {
        if power_loss {
            self.floor
        } else {
            self.floor_kill.max(self.floor)
        }
    }

    /// Checks the state read back after a recovery (`observed[key]`: the bytes `get`
    /// returned) at time `now` against every legal prefix; on success forgets the operations
    /// recovery dropped and makes the recovered prefix the new floor.
    ///
    /// # Errors
    /// A message describing the violation.
    pub fn check_recovered(
        &mut self,
        observed: &[Option<Vec<u8>>],
        now: Timestamp,
        floor: usize,
        evidence: RecoveryEvidence,
    ) -> Result<Verdict, String> {
        assert_eq!(observed.len(), self.key_count());
        let history_len = self.history.len();
        assert!(floor <= history_len, "floor={floor} history={history_len}");
        // Without damage nothing below the floor can be legal: search only above it.
        let damaged = evidence.damaged || evidence.repaired;
        let low = if damaged { 0 } else { floor };
        let Some(prefix) = self.prefix_max(observed, now, low) else {
            return Err(match self.prefix_max(observed, now, 0) {
                Some(prefix) => self.explain_loss(prefix, floor, evidence),
                None => self.explain_mismatch(observed, now),
            });
        };
        if !evidence.repaired && prefix < floor {
            let explained = evidence.damaged && (evidence.reported || evidence.undetectable);
            if !explained {
                return Err(self.explain_loss(prefix, floor, evidence));
            }
        }
        let lost_acked = self.history[prefix.min(floor)..floor]
            .iter()
            .filter(|change| change.outcome == Outcome::Acked)
            .count();
        self.truncate(prefix);
        Ok(Verdict {
            prefix,
            history_len,
            lost_acked,
        })
    }

    /// Checks one read of the running store against `live` exactly.
    ///
    /// # Errors
    /// A message describing the mismatch.
    pub fn check_read(
        &self,
        key_index: usize,
        observed: Option<&[u8]>,
        now: Timestamp,
    ) -> Result<(), String> {
        let expected = self.live[key_index].filter(|entry| entry.visible(now));
        if matches(observed, expected, key_index) {
            return Ok(());
        }
        Err(format!(
            "read of key {key_index} returned {} but the store must hold {}",
            describe_observed(observed, key_index),
            describe_entry(expected)
        ))
    }

    /// The largest prefix at or above `low` whose state reads as `observed` at `now`.
    fn prefix_max(
        &self,
        observed: &[Option<Vec<u8>>],
        now: Timestamp,
        low: usize,
    ) -> Option<usize> {
        let mut allowed = vec![(low, self.history.len())];
        for (key_index, value) in observed.iter().enumerate() {
            let intervals = self.matching(key_index, value.as_deref(), now, low);
            allowed = intersect(&allowed, &intervals);
            if allowed.is_empty() {
                return None;
            }
        }
        allowed.last().map(|&(_, high)| high)
    }

    /// Forgets the operations after `prefix`: recovery dropped them, the log continues
    /// from there.
    fn truncate(&mut self, prefix: usize) {
        self.history.truncate(prefix);
        for (key_index, versions) in self.versions.iter_mut().enumerate() {
            let keep = versions.partition_point(|&(start, _)| start <= prefix);
            versions.truncate(keep);
            self.live[key_index] = versions.last().and_then(|&(_, value)| value);
        }
        self.floor = prefix;
        self.floor_kill = prefix;
    }

    /// The prefixes (inclusive intervals, from `low` on) at which `key_index` reads as
    /// `observed`.
    fn matching(
        &self,
        key_index: usize,
        observed: Option<&[u8]>,
        now: Timestamp,
        low: usize,
    ) -> Vec<(usize, usize)> {
        let history_len = self.history.len();
        let versions = &self.versions[key_index];
        // The version in force at `low`, then every later one.
        let first = versions.partition_point(|&(start, _)| start <= low);
        let mut intervals: Vec<(usize, usize)> = Vec::new();
        let (mut start, mut value) = match first.checked_sub(1) {
            Some(index) => (low, versions[index].1),
            None => (low, None),
        };
        for index in first..=versions.len() {
            let end = versions
                .get(index)
                .map_or(history_len, |&(next, _)| next - 1);
            let visible = value.filter(|entry| entry.visible(now));
            if start <= end && matches(observed, visible, key_index) {
                match intervals.last_mut() {
                    Some(last) if last.1 + 1 >= start => last.1 = end,
                    _ => intervals.push((start, end)),
                }
            }
            if let Some(&(next, version)) = versions.get(index) {
                start = next;
                value = version;
            }
        }
        intervals
    }

    /// Why no prefix matches: the first key that reads as something never written, or a
    /// group applied in part, or an order no prefix explains.
    fn explain_mismatch(&self, observed: &[Option<Vec<u8>>], now: Timestamp) -> String {
        for (key_index, value) in observed.iter().enumerate() {
            if self
                .matching(key_index, value.as_deref(), now, 0)
                .is_empty()
            {
                return format!(
                    "corruption served: key {key_index} reads as {} after recovery, which no \
                     prefix of the history explains (it must hold {}; {} writes to it)",
                    describe_observed(value.as_deref(), key_index),
                    describe_entry(self.live[key_index].filter(|entry| entry.visible(now))),
                    self.versions[key_index].len()
                );
            }
        }
        // Every key alone is explainable: the prefixes disagree. Look for a group whose keys
        // show it both applied and not.
        for (index, change) in self.history.iter().enumerate() {
            if change.keys.len() < 2 {
                continue;
            }
            // Prefix `index` excludes this change, `index + 1` includes it.
            let (mut without, mut with) = (false, false);
            for &key_index in &change.keys {
                let intervals = self.matching(key_index, observed[key_index].as_deref(), now, 0);
                without |= intervals.iter().all(|&(_, high)| high <= index);
                with |= intervals.iter().all(|&(low, _)| low > index);
            }
            if without && with {
                return format!(
                    "group applied in part: {} op {} over {} keys shows some keys written and \
                     others not after recovery",
                    change.kind,
                    change.op_id,
                    change.keys.len()
                );
            }
        }
        // Name the key at which the prefixes the keys before it allow run out.
        let mut allowed = vec![(0, self.history.len())];
        let mut message = String::from(
            "recovered state is no prefix of the history (changes applied out of order): ",
        );
        for (key_index, value) in observed.iter().enumerate() {
            let intervals = self.matching(key_index, value.as_deref(), now, 0);
            let narrowed = intersect(&allowed, &intervals);
            if narrowed.is_empty() {
                let _ = write!(
                    message,
                    "the keys before key {key_index} allow prefixes {allowed:?}, but it reads \
                     as {} (prefixes {intervals:?}; its versions {:?}); ops there: ",
                    describe_observed(value.as_deref(), key_index),
                    self.versions[key_index]
                );
                for &(low, high) in allowed.iter().chain(&intervals).take(4) {
                    for index in [low, high] {
                        if let Some(change) = index.checked_sub(1).and_then(|i| self.history.get(i))
                        {
                            let _ = write!(
                                message,
                                "{index}={} op {} {:?}; ",
                                change.kind, change.op_id, change.keys
                            );
                        }
                    }
                }
                break;
            }
            allowed = narrowed;
        }
        message
    }

    fn explain_loss(&self, prefix: usize, floor: usize, evidence: RecoveryEvidence) -> String {
        let first_lost = &self.history[prefix.min(self.history.len().saturating_sub(1))];
        let acked = self.history[prefix.min(floor)..floor]
            .iter()
            .filter(|change| change.outcome == Outcome::Acked)
            .count();
        let why = if evidence.damaged {
            "the disk damaged stored bytes but recovery reported nothing"
        } else {
            "the disk destroyed nothing that was durable"
        };
        format!(
            "acknowledged writes lost: recovery kept {prefix} of {} operations but {floor} were \
             durable ({acked} acknowledged lost, first: {} op {} on keys {:?}); {why}",
            self.history.len(),
            first_lost.kind,
            first_lost.op_id,
            first_lost.keys
        )
    }
}

/// Whether bytes read for `key_index` are exactly `expected`'s value (a string's bytes, a
/// collection's observed bytes).
#[must_use]
pub fn matches(observed: Option<&[u8]>, expected: Option<Entry>, key_index: usize) -> bool {
    match (observed, expected) {
        (None, None) => true,
        (Some(bytes), Some(entry)) => {
            bytes.len() == usize::try_from(entry.size).unwrap_or(usize::MAX)
                && match entry.digest {
                    Some(expected) => digest(bytes) == expected,
                    None => bytes == value_bytes(entry.op_id, key_index, entry.size).as_slice(),
                }
        }
        _ => false,
    }
}

/// Intersection of two sorted lists of disjoint inclusive intervals.
fn intersect(left: &[(usize, usize)], right: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut result = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < left.len() && j < right.len() {
        let low = left[i].0.max(right[j].0);
        let high = left[i].1.min(right[j].1);
        if low <= high {
            result.push((low, high));
        }
        if left[i].1 < right[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    result
}

fn describe_entry(entry: Option<Entry>) -> String {
    match entry {
        None => "nothing".to_owned(),
        Some(Entry {
            op_id,
            size,
            expires_at,
            digest: Some(digest),
        }) => format!(
            "the collection op {op_id} left ({size} bytes with its expiry, digest {digest:016x}, \
             expires_at={expires_at})"
        ),
        Some(entry) => format!(
            "the value of op {} ({} bytes, expires_at={})",
            entry.op_id, entry.size, entry.expires_at
        ),
    }
}

/// What bytes read back are: nothing, a value some op wrote to this key, or garbage.
fn describe_observed(observed: Option<&[u8]>, key_index: usize) -> String {
    let Some(bytes) = observed else {
        return "nothing".to_owned();
    };
    if let Some(kind) = bytes.strip_prefix(b"#").and_then(|rest| rest.first()) {
        return format!(
            "a collection of type '{}' ({} bytes with its expiry, digest {:016x})",
            char::from(*kind),
            bytes.len(),
            digest(bytes)
        );
    }
    let mut parts = bytes.splitn(3, |&byte| byte == b':');
    let op_id = parts
        .next()
        .and_then(|text| std::str::from_utf8(text).ok()?.parse::<u64>().ok());
    let key = parts
        .next()
        .and_then(|text| std::str::from_utf8(text).ok()?.parse::<usize>().ok());
    match (op_id, key) {
        (Some(op_id), Some(key)) => {
            let size = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
            if key == key_index && bytes == value_bytes(op_id, key, size).as_slice() {
                format!("the value of op {op_id} ({size} bytes)")
            } else {
                format!(
                    "{} bytes claiming op {op_id} key {key} that no write produced",
                    bytes.len()
                )
            }
        }
        _ => format!("{} bytes no write produced", bytes.len()),
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;

    fn entry(op_id: u64) -> Option<Entry> {
        Some(Entry {
            op_id,
            size: 24,
            expires_at: 0,
            digest: None,
        })
    }

    fn read(model_entry: Option<Entry>, key_index: usize) -> Option<Vec<u8>> {
        model_entry.map(|entry| value_bytes(entry.op_id, key_index, entry.size))
    }

    const CLEAN: RecoveryEvidence = RecoveryEvidence {
        reported: false,
        damaged: false,
        undetectable: false,
        repaired: false,
    };

    #[test]
    fn values_describe_themselves() {
        let value = value_bytes(12, 3, 40);
        assert_eq!(value.len(), 40);
        assert!(value.starts_with(b"12:3:"));
        assert_eq!(value_bytes(12, 3, 0), b"12:3:");
        assert!(describe_observed(Some(&value), 3).contains("op 12"));
        assert!(describe_observed(Some(&value), 4).contains("no write produced"));
    }

    #[test]
    fn every_prefix_at_or_above_the_floor_is_legal() {
        let mut model = Model::new(2);
        model.apply(1, "set", &[(0, entry(1))], Outcome::Acked);
        model.apply(2, "set", &[(1, entry(2))], Outcome::Acked);
        model.make_durable();
        model.apply(3, "set", &[(0, entry(3))], Outcome::Acked);
        // Power loss keeps op 2 but not op 3: legal, floor is 2.
        let mut copy = model.clone();
        let observed = vec![read(entry(1), 0), read(entry(2), 1)];
        let verdict = copy
            .check_recovered(&observed, 0, copy.floor(true), CLEAN)
            .unwrap();
        assert_eq!(verdict.prefix, 2);
        // Losing op 2 is not.
        let mut copy = model.clone();
        let observed = vec![read(entry(1), 0), None];
        let error = copy
            .check_recovered(&observed, 0, copy.floor(true), CLEAN)
            .unwrap_err();
        assert!(error.contains("acknowledged writes lost"), "{error}");
        // Unless damage was reported.
        let mut copy = model.clone();
        let evidence = RecoveryEvidence {
            reported: true,
            damaged: true,
            ..CLEAN
        };
        let verdict = copy
            .check_recovered(&observed, 0, copy.floor(true), evidence)
            .unwrap();
        assert_eq!((verdict.prefix, verdict.lost_acked), (1, 1));
    }

    #[test]
    fn a_half_applied_group_and_a_corrupt_value_are_violations() {
        let mut model = Model::new(3);
        model.apply(1, "set", &[(2, entry(1))], Outcome::Acked);
        model.apply(2, "mset", &[(0, entry(2)), (1, entry(2))], Outcome::Failed);
        let mut copy = model.clone();
        let observed = vec![read(entry(2), 0), None, read(entry(1), 2)];
        let error = copy.check_recovered(&observed, 0, 1, CLEAN).unwrap_err();
        assert!(error.contains("group applied in part"), "{error}");
        let mut copy = model.clone();
        let mut bad = value_bytes(1, 2, 24);
        bad[10] ^= 1;
        let observed = vec![None, None, Some(bad)];
        let error = copy.check_recovered(&observed, 0, 1, CLEAN).unwrap_err();
        assert!(error.contains("corruption served"), "{error}");
        // The whole group, or none of it, is fine.
        let observed = vec![read(entry(2), 0), read(entry(2), 1), read(entry(1), 2)];
        assert_eq!(
            model
                .check_recovered(&observed, 0, 1, CLEAN)
                .unwrap()
                .prefix,
            2
        );
    }

    #[test]
    fn expired_values_read_as_nothing() {
        let mut model = Model::new(1);
        let expiring = Some(Entry {
            op_id: 1,
            size: 10,
            expires_at: 100,
            digest: None,
        });
        model.apply(1, "setex", &[(0, expiring)], Outcome::Acked);
        model.make_durable();
        assert!(model.check_read(0, None, 100).is_ok());
        assert!(model.check_read(0, None, 99).is_err());
        let verdict = model
            .check_recovered(&[None], 150, model.floor(true), CLEAN)
            .unwrap();
        assert_eq!(verdict.prefix, 1);
    }

    /// A collection version matches only its own elements and expiry: one element lost,
    /// or an expiry a recovery dropped, is another collection.
    #[test]
    fn a_collection_matches_its_elements_and_expiry_only() {
        use crate::sim::collection::{Collection, observed_bytes};

        let hash = |fields: &[&str]| {
            Collection::Hash(
                fields
                    .iter()
                    .map(|field| (field.as_bytes().to_vec(), b"v".to_vec()))
                    .collect(),
            )
        };
        let version = |collection: &Collection, expires_at: u64| {
            let bytes = observed_bytes(collection, expires_at);
            Some(Entry {
                op_id: 1,
                size: u32::try_from(bytes.len()).unwrap(),
                expires_at,
                digest: Some(digest(&bytes)),
            })
        };
        let whole = hash(&["a", "b", "c"]);
        let mut model = Model::new(1);
        model.apply(1, "hset", &[(0, version(&whole, 0))], Outcome::Acked);
        model.apply(2, "pexpire", &[(0, version(&whole, 500))], Outcome::Failed);
        model.make_durable();
        let read = |collection: &Collection, expires_at: u64| {
            vec![Some(observed_bytes(collection, expires_at))]
        };
        let expiring = observed_bytes(&whole, 500);
        let lasting = observed_bytes(&whole, 0);
        assert!(model.check_read(0, Some(expiring.as_slice()), 0).is_ok());
        assert!(model.check_read(0, Some(lasting.as_slice()), 0).is_err());
        // A recovery that kept the PEXPIRE, and one that dropped it: both are told apart.
        let damaged = RecoveryEvidence {
            damaged: true,
            repaired: true,
            ..CLEAN
        };
        let mut copy = model.clone();
        let verdict = copy
            .check_recovered(&read(&whole, 0), 0, 1, damaged)
            .unwrap();
        assert_eq!(verdict.prefix, 1);
        let mut copy = model.clone();
        let verdict = copy
            .check_recovered(&read(&whole, 500), 0, 1, damaged)
            .unwrap();
        assert_eq!(verdict.prefix, 2);
        // An element lost is a collection no op built.
        let error = model
            .check_recovered(&read(&hash(&["a", "c"]), 500), 0, 1, CLEAN)
            .unwrap_err();
        assert!(error.contains("corruption served"), "{error}");
        assert!(error.contains("a collection of type 'h'"), "{error}");
    }

    #[test]
    fn intervals_intersect() {
        assert_eq!(
            intersect(&[(0, 3), (5, 9)], &[(2, 6), (8, 12)]),
            vec![(2, 3), (5, 6), (8, 9)]
        );
        assert!(intersect(&[(0, 1)], &[(2, 3)]).is_empty());
    }
}
