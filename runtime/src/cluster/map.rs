//! The slot map: which node (id, host, port) serves each of the 16,384 hash slots.
//!
//! A map is configuration an operator pushes (`floe cluster create`, which sends
//! `CLUSTER SETSLOTMAP`); floe never changes it by itself. The same text form serves the
//! command's arguments and the `cluster.conf` file, so one parser reads both:
//!
//! ```text
//!  <node id> <host> <port> <ranges>      ranges: 0-5460 | 0-99,200-300 | 7
//! ```
//!
//! Invariants of a [`SlotMap`] (checked by [`SlotMap::new`], which refuses anything else,
//! naming the slots): every slot has exactly one owner (no gaps, no overlaps), node ids are
//! 40 lowercase hex digits and distinct, addresses are distinct, and every node owns at
//! least one slot (so a map has at most [`SLOT_COUNT`] nodes). The empty map, before any
//! push, owns no slot.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use floe_core::slot::SLOT_COUNT;

/// Hex digits of a node id (Redis's `CLUSTER_NAMELEN`).
pub const NODE_ID_SIZE: usize = 40;

/// Longest host name in a map (DNS's limit); longer is refused.
pub const HOST_SIZE_MAX: usize = 255;

/// Slot runs a refusal names before it says how many more there are.
const RUNS_SHOWN_MAX: usize = 8;

/// `owners` value of a slot no node serves.
const UNASSIGNED: u16 = u16::MAX;

const _: () = assert!(SLOT_COUNT < UNASSIGNED);

/// One node of the map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// 40 lowercase hex digits, kept by the node in its data directory.
    pub id: String,
    /// Where clients reach it: an IP address or a host name.
    pub host: String,
    /// Its RESP port.
    pub port: u16,
}

/// A run of slots `start..=end` served by `nodes[node]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotRange {
    /// First slot.
    pub start: u16,
    /// Last slot, inclusive.
    pub end: u16,
    /// Index into [`SlotMap::nodes`].
    pub node: usize,
}

/// A validated slot map (see the module's invariants).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotMap {
    nodes: Vec<Node>,
    /// Maximal runs of one owner, by start.
    ranges: Vec<SlotRange>,
    /// The owner of each slot, an index into `nodes`, or [`UNASSIGNED`].
    owners: Vec<u16>,
    /// Slots this node is moving out (`CLUSTER SETSLOT <slot> MIGRATING <id>`): slot, and
    /// the target node's id (a node of the map). Cleared by a new map.
    migrating: BTreeMap<u16, String>,
    /// Slots this node is taking in (`CLUSTER SETSLOT <slot> IMPORTING <id>`): slot, and
    /// the source node's id. Cleared by a new map.
    importing: BTreeMap<u16, String>,
}

/// A slot's migration state on this node, as `CLUSTER SETSLOT` sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migration {
    /// Keys move from here to another node (`MIGRATING`).
    Migrating,
    /// Keys move from another node to here (`IMPORTING`).
    Importing,
}

impl SlotMap {
    /// The map of a node nothing was pushed to: no node, no slot served.
    #[must_use]
    pub fn empty() -> Self {
        Self {
            nodes: Vec::new(),
            ranges: Vec::new(),
            owners: vec![UNASSIGNED; usize::from(SLOT_COUNT)],
            migrating: BTreeMap::new(),
            importing: BTreeMap::new(),
        }
    }

    /// A map of `nodes`, each with its slot ranges.
    ///
    /// # Errors
    /// A message naming what is wrong: a bad id, host or port, a duplicate node, a node
    /// without slots, a slot out of range, overlapping slots (with both owners) or slots
    /// no node serves.
    pub fn new(nodes: Vec<(Node, Vec<(u16, u16)>)>) -> Result<Self, String> {
        if nodes.is_empty() {
            return Err("a slot map needs at least one node".to_owned());
        }
        let mut owners = vec![UNASSIGNED; usize::from(SLOT_COUNT)];
        let mut overlaps: Vec<(u16, u16, usize, usize)> = Vec::new();
        for (index, (node, ranges)) in nodes.iter().enumerate() {
            check_node(node)?;
            if let Some(earlier) = nodes
                .iter()
                .take(index)
                .map(|(other, _)| other)
                .find(|other| {
                    other.id == node.id || (other.host == node.host && other.port == node.port)
                })
            {
                return Err(format!(
                    "node {} {}:{} is listed twice (or shares its id or address with {} {}:{})",
                    node.id, node.host, node.port, earlier.id, earlier.host, earlier.port
                ));
            }
            if ranges.is_empty() {
                return Err(format!("node {} has no slots", node.id));
            }
            let owner = u16::try_from(index).map_err(|_| "too many nodes".to_owned())?;
            for &(start, end) in ranges {
                if start > end || end >= SLOT_COUNT {
                    return Err(format!(
                        "slots {start}-{end} of node {}: a range runs from a slot to one not \
                         below it, within 0-{}",
                        node.id,
                        SLOT_COUNT - 1
                    ));
                }
                for slot in start..=end {
                    let current = &mut owners[usize::from(slot)];
                    if *current == UNASSIGNED {
                        *current = owner;
                    } else {
                        push_overlap(&mut overlaps, slot, usize::from(*current), index);
                    }
                }
            }
        }
        if !overlaps.is_empty() {
            let runs: Vec<String> = overlaps
                .iter()
                .map(|&(start, end, first, second)| {
                    format!(
                        "{} (given to both {} and {})",
                        run_text(start, end),
                        nodes[first].0.id,
                        nodes[second].0.id
                    )
                })
                .collect();
            return Err(format!(
                "slot map refused: overlapping slots {}",
                list(&runs)
            ));
        }
        let gaps: Vec<String> = runs_of(&owners)
            .into_iter()
            .filter(|range| range.node == usize::from(UNASSIGNED))
            .map(|range| run_text(range.start, range.end))
            .collect();
        if !gaps.is_empty() {
            return Err(format!(
                "slot map refused: slots {} are not assigned to any node",
                list(&gaps)
            ));
        }
        let ranges = runs_of(&owners);
        // Postconditions: the runs cover every slot once, each run owned by a listed node.
        assert_eq!(
            ranges
                .iter()
                .map(|range| usize::from(range.end - range.start) + 1)
                .sum::<usize>(),
            usize::from(SLOT_COUNT)
        );
        assert!(ranges.iter().all(|range| range.node < nodes.len()));
        let nodes = nodes.into_iter().map(|(node, _)| node).collect();
        Ok(Self {
            nodes,
            ranges,
            owners,
            migrating: BTreeMap::new(),
            importing: BTreeMap::new(),
        })
    }

    /// This map with `slot` served by the node `id` (`CLUSTER SETSLOT <slot> NODE <id>`),
    /// and no migration state for the slot.
    ///
    /// # Errors
    /// When `id` is not a node of the map, or the slot's old owner would be left with no
    /// slot (a map names only nodes that serve slots).
    pub fn with_owner(&self, slot: u16, id: &str) -> Result<Self, String> {
        let index = self
            .node_index(id)
            .ok_or_else(|| format!("Unknown node {id}"))?;
        let mut nodes: Vec<(Node, Vec<(u16, u16)>)> = self
            .nodes
            .iter()
            .map(|node| (node.clone(), Vec::new()))
            .collect();
        for range in &self.ranges {
            for slot_index in range.start..=range.end {
                let owner = if slot_index == slot {
                    index
                } else {
                    range.node
                };
                nodes[owner].1.push((slot_index, slot_index));
            }
        }
        // A node left without slots leaves the map (as `floe cluster` would push it).
        nodes.retain(|(_, ranges)| !ranges.is_empty());
        let mut map = Self::new(nodes)?;
        map.migrating = self.migrating.clone();
        map.importing = self.importing.clone();
        map.set_migration(slot, None);
        Ok(map)
    }

    /// Sets (or with `None` clears, both kinds) the migration state of `slot`.
    pub fn set_migration(&mut self, slot: u16, state: Option<(Migration, String)>) {
        self.migrating.remove(&slot);
        self.importing.remove(&slot);
        match state {
            Some((Migration::Migrating, id)) => {
                self.migrating.insert(slot, id);
            }
            Some((Migration::Importing, id)) => {
                self.importing.insert(slot, id);
            }
            None => {}
        }
    }

    /// The node `slot` is migrating to, if it is.
    #[must_use]
    pub fn migrating_to(&self, slot: u16) -> Option<&Node> {
        let id = self.migrating.get(&slot)?;
        self.nodes.get(self.node_index(id)?)
    }

    /// Whether `slot` is being imported here.
    #[must_use]
    pub fn is_importing(&self, slot: u16) -> bool {
        self.importing.contains_key(&slot)
    }

    /// Whether any slot is migrating or importing (the request path checks key existence
    /// only then).
    #[must_use]
    pub fn has_migrations(&self) -> bool {
        !self.migrating.is_empty() || !self.importing.is_empty()
    }

    /// Every migration state, by slot: `(slot, state, node id)`.
    #[must_use]
    pub fn migrations(&self) -> Vec<(u16, Migration, &str)> {
        let mut states: Vec<(u16, Migration, &str)> = self
            .migrating
            .iter()
            .map(|(slot, id)| (*slot, Migration::Migrating, id.as_str()))
            .chain(
                self.importing
                    .iter()
                    .map(|(slot, id)| (*slot, Migration::Importing, id.as_str())),
            )
            .collect();
        states.sort_by_key(|state| state.0);
        states
    }

    /// The index of the node `id` in [`SlotMap::nodes`].
    #[must_use]
    pub fn node_index(&self, id: &str) -> Option<usize> {
        self.nodes.iter().position(|node| node.id == id)
    }

    /// Parses groups of `<id> <host> <port> <ranges>` (the arguments of
    /// `CLUSTER SETSLOTMAP`, the `node` lines of `cluster.conf`) into a map.
    ///
    /// # Errors
    /// As [`SlotMap::new`], and a message naming a word that does not parse.
    pub fn parse(words: &[&[u8]]) -> Result<Self, String> {
        if words.is_empty() || !words.len().is_multiple_of(4) {
            return Err(
                "a slot map is groups of four words: <node id> <host> <port> <ranges>".to_owned(),
            );
        }
        let mut nodes = Vec::with_capacity(words.len() / 4);
        for group in words.chunks_exact(4) {
            let text = |index: usize| String::from_utf8_lossy(group[index]).into_owned();
            let port = text(2)
                .parse::<u16>()
                .ok()
                .filter(|port| *port > 0)
                .ok_or_else(|| format!("`{}` is not a port (1-65535)", text(2)))?;
            let node = Node {
                id: text(0),
                host: text(1),
                port,
            };
            let ranges = parse_ranges(&text(3))?;
            nodes.push((node, ranges));
        }
        Self::new(nodes)
    }

    /// The words [`SlotMap::parse`] reads back: one group per node.
    #[must_use]
    pub fn to_words(&self) -> Vec<String> {
        let mut words = Vec::with_capacity(self.nodes.len() * 4);
        for (index, node) in self.nodes.iter().enumerate() {
            words.push(node.id.clone());
            words.push(node.host.clone());
            words.push(node.port.to_string());
            words.push(self.ranges_text(index, ","));
        }
        words
    }

    /// The nodes, in the order they were given.
    #[must_use]
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Maximal runs of slots with one owner, by start (none for the empty map).
    #[must_use]
    pub fn ranges(&self) -> &[SlotRange] {
        &self.ranges
    }

    /// The node serving `slot`, if any.
    #[must_use]
    pub fn owner(&self, slot: u16) -> Option<&Node> {
        let owner = *self.owners.get(usize::from(slot))?;
        self.nodes.get(usize::from(owner))
    }

    /// Whether no map was pushed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The slots of `nodes[index]` as `start-end` (or `slot`) runs joined by `separator`.
    #[must_use]
    pub fn ranges_text(&self, index: usize, separator: &str) -> String {
        let runs: Vec<String> = self
            .ranges
            .iter()
            .filter(|range| range.node == index)
            .map(|range| run_text(range.start, range.end))
            .collect();
        runs.join(separator)
    }
}

/// `count` nodes' even shares of the slots, as `redis-cli --cluster create` splits them:
/// node `i` ends at `round((i + 1) * 16384 / count) - 1` (3 nodes: 0-5460, 5461-10922,
/// 10923-16383). Empty when `count` is 0 or above [`SLOT_COUNT`].
#[must_use]
pub fn even_split(count: usize) -> Vec<(u16, u16)> {
    let total = usize::from(SLOT_COUNT);
    if count == 0 || count > total {
        return Vec::new();
    }
    let mut shares = Vec::with_capacity(count);
    let mut start = 0;
    for index in 0..count {
        // Rounded to nearest: (2 * (i + 1) * total + count) / (2 * count).
        let end = (2 * (index + 1) * total + count) / (2 * count) - 1;
        let end = end.min(total - 1);
        // Both fit: end < total = 16384.
        shares.push((
            u16::try_from(start).unwrap_or(SLOT_COUNT - 1),
            u16::try_from(end).unwrap_or(SLOT_COUNT - 1),
        ));
        start = end + 1;
    }
    assert!(shares.last().is_some_and(|share| share.1 == SLOT_COUNT - 1));
    shares
}

/// Parses `0-5460,7,9-12` into ranges.
pub fn parse_ranges(text: &str) -> Result<Vec<(u16, u16)>, String> {
    let mut ranges = Vec::new();
    for part in text.split(',') {
        let (start, end) = part.split_once('-').unwrap_or((part, part));
        let slot = |word: &str| {
            word.parse::<u16>()
                .ok()
                .filter(|slot| *slot < SLOT_COUNT)
                .ok_or_else(|| {
                    format!(
                        "`{part}` is not a slot or slot range (slots are 0-{}; ranges look \
                         like 0-5460, several joined by commas)",
                        SLOT_COUNT - 1
                    )
                })
        };
        ranges.push((slot(start)?, slot(end)?));
    }
    Ok(ranges)
}

fn check_node(node: &Node) -> Result<(), String> {
    let id_valid = node.id.len() == NODE_ID_SIZE
        && node
            .id
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
    if !id_valid {
        return Err(format!(
            "`{}` is not a node id ({NODE_ID_SIZE} lowercase hex digits, as CLUSTER MYID \
             answers)",
            node.id
        ));
    }
    let host_valid = !node.host.is_empty()
        && node.host.len() <= HOST_SIZE_MAX
        && node
            .host
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b".-_:".contains(&byte));
    if !host_valid {
        return Err(format!(
            "`{}` is not a host (an IP address or a name of at most {HOST_SIZE_MAX} letters, \
             digits, `.`, `-`, `_` or `:`)",
            node.host
        ));
    }
    Ok(())
}

/// Adds `slot`, claimed by `first` and then `second`, to the overlap runs.
fn push_overlap(runs: &mut Vec<(u16, u16, usize, usize)>, slot: u16, first: usize, second: usize) {
    if let Some(last) = runs.last_mut()
        && last.1 + 1 == slot
        && last.2 == first
        && last.3 == second
    {
        last.1 = slot;
        return;
    }
    runs.push((slot, slot, first, second));
}

/// Maximal runs of equal owners (`node` is the owner, or [`UNASSIGNED`]).
fn runs_of(owners: &[u16]) -> Vec<SlotRange> {
    let mut runs: Vec<SlotRange> = Vec::new();
    for (slot, &owner) in (0..SLOT_COUNT).zip(owners) {
        match runs.last_mut() {
            Some(last) if last.node == usize::from(owner) && last.end + 1 == slot => {
                last.end = slot;
            }
            _ => runs.push(SlotRange {
                start: slot,
                end: slot,
                node: usize::from(owner),
            }),
        }
    }
    runs
}

fn run_text(start: u16, end: u16) -> String {
    if start == end {
        start.to_string()
    } else {
        format!("{start}-{end}")
    }
}

/// The first runs joined by `, `, then how many more.
fn list(runs: &[String]) -> String {
    let mut text = runs
        .iter()
        .take(RUNS_SHOWN_MAX)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if runs.len() > RUNS_SHOWN_MAX {
        // NOTE: writing to a String cannot fail.
        let _ = write!(text, " and {} more runs", runs.len() - RUNS_SHOWN_MAX);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(digit: char) -> String {
        std::iter::repeat_n(digit, NODE_ID_SIZE).collect()
    }

    fn node(digit: char, port: u16) -> Node {
        Node {
            id: id(digit),
            host: "127.0.0.1".to_owned(),
            port,
        }
    }

    #[test]
    fn an_even_split_matches_redis_cli() {
        assert_eq!(
            even_split(3),
            vec![(0, 5460), (5461, 10922), (10923, 16383)]
        );
        assert_eq!(even_split(1), vec![(0, 16383)]);
        assert_eq!(even_split(0), vec![]);
        assert_eq!(even_split(16_385), vec![]);
        let all = even_split(16_384);
        assert_eq!(all.len(), 16_384);
        assert!(
            all.iter()
                .enumerate()
                .all(|(slot, share)| { usize::from(share.0) == slot && share.0 == share.1 })
        );
        for count in 1..200 {
            let shares = even_split(count);
            assert_eq!(shares.len(), count);
            assert!(
                SlotMap::new(
                    shares
                        .iter()
                        .enumerate()
                        .map(|(index, share)| {
                            let node = Node {
                                id: format!("{index:040x}"),
                                host: "h".to_owned(),
                                port: u16::try_from(index + 1).expect("small"),
                            };
                            (node, vec![*share])
                        })
                        .collect()
                )
                .is_ok()
            );
        }
    }

    #[test]
    fn a_map_round_trips_through_words() {
        let map = SlotMap::new(vec![
            (node('a', 7000), vec![(0, 100), (200, 16383)]),
            (node('b', 7001), vec![(101, 199)]),
        ])
        .expect("valid");
        let words = map.to_words();
        assert_eq!(words[3], "0-100,200-16383");
        assert_eq!(words[7], "101-199");
        let bytes: Vec<&[u8]> = words.iter().map(String::as_bytes).collect();
        assert_eq!(SlotMap::parse(&bytes).expect("parses"), map);
        assert_eq!(map.owner(150).map(|node| node.port), Some(7001));
        assert_eq!(map.owner(16383).map(|node| node.port), Some(7000));
        assert_eq!(map.ranges().len(), 3);
        assert!(SlotMap::empty().owner(5).is_none());
        assert!(SlotMap::empty().ranges().is_empty());
    }

    #[test]
    fn gaps_and_overlaps_are_refused_naming_the_slots() {
        let gap = SlotMap::new(vec![
            (node('a', 7000), vec![(0, 99)]),
            (node('b', 7001), vec![(200, 16382)]),
        ])
        .expect_err("gaps");
        assert_eq!(
            gap,
            "slot map refused: slots 100-199, 16383 are not assigned to any node"
        );
        let overlap = SlotMap::new(vec![
            (node('a', 7000), vec![(0, 10000)]),
            (node('b', 7001), vec![(9000, 16383)]),
        ])
        .expect_err("overlap");
        assert_eq!(
            overlap,
            format!(
                "slot map refused: overlapping slots 9000-10000 (given to both {} and {})",
                id('a'),
                id('b')
            )
        );
    }

    #[test]
    fn parse_never_panics_on_mangled_words() {
        // A small deterministic PRNG (xorshift) over tricky tokens: every combination is
        // either a valid map or a message, never a panic.
        let id = id('a');
        let tokens = [
            id.as_str(),
            "h",
            "127.0.0.1",
            "1",
            "0",
            "65535",
            "65536",
            "-",
            "0-16383",
            "16383-0",
            "0-",
            "-5",
            ",",
            "0-1,",
            ",0",
            "1-2-3",
            "",
            " ",
            "{",
            "\u{e9}",
            "99999999999999999999",
            "0-8191,8192-16383",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let count = usize::try_from(state % 9).expect("small");
            let words: Vec<&[u8]> = (0..count)
                .map(|index| {
                    let pick = (state >> (index * 5)) % tokens.len() as u64;
                    tokens[usize::try_from(pick).expect("small")].as_bytes()
                })
                .collect();
            if let Ok(map) = SlotMap::parse(&words) {
                assert!(map.owner(0).is_some());
                assert!(map.owner(16383).is_some());
            }
        }
    }

    #[test]
    fn bad_words_are_refused() {
        let refused = |words: &[&str]| {
            let bytes: Vec<&[u8]> = words.iter().map(|word| word.as_bytes()).collect();
            SlotMap::parse(&bytes).expect_err("refused")
        };
        let good = id('c');
        assert!(refused(&[]).contains("groups of four"));
        assert!(refused(&[&good, "h", "1"]).contains("groups of four"));
        assert!(refused(&["xyz", "h", "1", "0-16383"]).contains("not a node id"));
        assert!(refused(&[&id('C'), "h", "1", "0-16383"]).contains("not a node id"));
        assert!(refused(&[&good, "", "1", "0-16383"]).contains("not a host"));
        assert!(refused(&[&good, "a b", "1", "0-16383"]).contains("not a host"));
        assert!(refused(&[&good, "h", "0", "0-16383"]).contains("not a port"));
        assert!(refused(&[&good, "h", "65536", "0-16383"]).contains("not a port"));
        assert!(refused(&[&good, "h", "1", "0-16384"]).contains("not a slot"));
        assert!(refused(&[&good, "h", "1", "5-1"]).contains("a range runs"));
        assert!(refused(&[&good, "h", "1", ""]).contains("not a slot"));
        assert!(refused(&[&good, "h", "1", "0-16383", &good, "g", "2", "0"]).contains("twice"));
        assert!(refused(&[&good, "h", "1", "0-16383", &id('d'), "h", "1", "0"]).contains("twice"));
    }
}
