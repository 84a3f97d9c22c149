//! The conversion of a compact sorted set to the large form (see `zset/large.rs`): the
//! member index's first parts, and the tree loaded bottom up from the sorted entries.

use core::ops::Range;

use crate::error::StoreError;
use crate::storage::item::{self, PART_NUMBER_SIZE};
use crate::store::compact::{Out, TYPE_HASH, TYPE_ZSET};
use crate::store::hash::HashView;
use crate::store::large::{
    Header, PartKey, SizeList, TREE_HEIGHT_MAX, TYPE_LARGE_ZSET, Tree, address,
};
use crate::store::zset::{Entries, SCORE_SIZE, ZsetView};
use crate::store::{LogSink, Store};
use crate::time::Timestamp;

use super::MEMBER_SIZE_MAX;
use super::tree::{
    InnerEntry, LOAD_ENTRIES, NODE_ENTRIES_MAX, TYPE_INNER, inner_entry_size, node_bytes_for,
    node_cap, node_write_bound, push_inner,
};

impl Store<'_> {
    /// Whether a sorted set under `key` whose longest member is `member_max` bytes can take
    /// the large form: its parts' keys fit the stack, and its nodes can be items.
    pub(in crate::store) fn zset_large_possible(&self, key: &[u8], member_max: usize) -> bool {
        let tree = Tree {
            member_max: u32::try_from(member_max).unwrap_or(u32::MAX),
            node_bytes: node_bytes_for(self.config.value_size_max),
            ..Tree::default()
        };
        PartKey::new(key).is_some()
            && member_max <= MEMBER_SIZE_MAX
            && node_write_bound(&tree) <= self.config.value_size_max as usize
    }

    /// Converts the compact sorted set at `key` to the large form if it passed the
    /// thresholds (`zset-max-listpack-entries`, `-value`) and can take it (a STORE result,
    /// a RESTOREd payload; their callers treat it as best effort: without room the set
    /// stays compact, correct and only slower).
    ///
    /// # Errors
    /// [`StoreError::OutOfMemory`] if the set was evicted while making room for its
    /// conversion.
    pub(in crate::store) fn zset_convert_if_large(
        &mut self,
        db: u8,
        key: &[u8],
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        let Some(found) = self.find(db, key) else {
            return Ok(());
        };
        let value = self.value_of(&found);
        if value.first() != Some(&TYPE_ZSET) {
            return Ok(());
        }
        let (count, member_max) = compact_shape(value);
        let past = count > self.config.zset_max_listpack_entries as usize
            || member_max > self.config.zset_max_listpack_value as usize;
        if !past || !self.zset_large_possible(key, member_max) {
            return Ok(());
        }
        match self.zset_convert(db, key, now, log) {
            Err(_) if self.find(db, key).is_none() => Err(StoreError::OutOfMemory),
            _ => Ok(()),
        }
    }

    /// Converts the compact sorted set at `key` (which [`Store::zset_large_possible`]
    /// allows) to the large form: room for
    /// every part first (so the compact value stays where it is while the parts are read
    /// from it), the index parts, the tree loaded bottom up, the header, then index splits.
    ///
    /// # Errors
    /// No room (or no table slots) for the parts; nothing changed then but evictions.
    pub(in crate::store) fn zset_convert(
        &mut self,
        db: u8,
        key: &[u8],
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError> {
        let (count, member_max) = compact_shape(self.compact_old_value(db, key, true));
        if count == 0 {
            return Err(StoreError::CollectionInvalid);
        }
        let tree = Tree {
            member_max: u32::try_from(member_max).unwrap_or(u32::MAX),
            node_bytes: node_bytes_for(self.config.value_size_max),
            ..Tree::default()
        };
        let index_size = 1 + ZsetView::new(self.compact_old_value(db, key, true))
            .entries()
            .map(|entry| crate::store::hash::entry_size(entry.member.len(), SCORE_SIZE))
            .sum::<usize>();
        let part_limit = (self.config.value_size_max as usize / 2).max(1);
        let index_parts = u32::try_from(index_size.div_ceil(part_limit).max(1))
            .map_err(|_| StoreError::CollectionTooLarge)?;
        let mut header = Header {
            type_byte: TYPE_LARGE_ZSET,
            len: count as u64,
            part_count: index_parts,
            seed: self.random(),
            chain: crate::store::large::Chain::default(),
            tree,
        };
        let part_key_size = key.len() + PART_NUMBER_SIZE;
        let mut sizes = SizeList::new((0..index_parts).map(|part| {
            let size = index_part_size(self.compact_old_value(db, key, true), &header, part);
            item::item_size(part_key_size, size, 0)
        }));
        let built = self.zset_load(db, key, &header, &mut |_, node| {
            sizes.push(item::item_size(part_key_size, node.size, 0));
            Ok(())
        })?;
        let new_keys = built.nodes as usize + index_parts as usize;
        self.header_room(db, key, sizes.iter(), new_keys, now, log)?;
        let mut part_key = PartKey::new(key).ok_or(StoreError::KeyTooLarge)?;
        let source = self.compact_old_range(db, key, true);
        for part in 0..index_parts {
            let size = index_part_size(self.compact_old_value(db, key, true), &header, part);
            self.part_write(
                db,
                &mut part_key,
                header.index_part(part),
                Some(source.clone()),
                size,
                log,
                |old, out| compose_index_part(old, &header, part, out),
            )?;
        }
        let built = self.zset_load(db, key, &header, &mut |store, node| {
            store.part_write(
                db,
                &mut part_key,
                Header::node_part(node.number),
                Some(source.clone()),
                node.size,
                log,
                |old, out| node.compose(old, out),
            )
        })?;
        header.tree = Tree {
            root: built.root,
            height: built.height,
            nodes: built.nodes,
            next: built.nodes,
            end: built.nodes,
            ..header.tree
        };
        self.header_write(db, key, header, None, now, log)?;
        self.large_grow(db, key, compose_index_split, now, log);
        Ok(())
    }

    /// Loads the tree of the compact sorted set at `key` bottom up, calling `on_node`
    /// with each node as it closes (numbered from 0 in that order); returns the root.
    fn zset_load(
        &mut self,
        db: u8,
        key: &[u8],
        header: &Header,
        on_node: &mut dyn FnMut(&mut Self, &Closed<'_>) -> Result<(), StoreError>,
    ) -> Result<Built, StoreError> {
        let mut loader = Loader::new(node_cap(&header.tree) * 3 / 4);
        let mut offset = 1;
        loop {
            let next = {
                let value = self.compact_old_value(db, key, true);
                let mut entries = Entries {
                    bytes: value,
                    offset,
                };
                entries
                    .next()
                    .map(|entry| (entry.range, entry.member.len()))
            };
            let Some((range, member_size)) = next else {
                break;
            };
            offset = range.end;
            loader.leaf_add(range, member_size, &mut |node| on_node(self, node))?;
        }
        loader.finish(&mut |node| on_node(self, node))
    }
}

/// An entry of a node being loaded: its child, the entries under it, and where its first
/// key's entry lies in the compact value.
#[derive(Debug, Clone, Copy, Default)]
struct LoadEntry {
    child: u32,
    count: u64,
    key: usize,
    member_size: usize,
}

/// A node the loader closed.
struct Closed<'l> {
    number: u32,
    size: usize,
    count: u64,
    first: usize,
    first_member_size: usize,
    entries: Closing<'l>,
}

/// A closed node's entries: a leaf's are a range of the compact value.
enum Closing<'l> {
    Leaf(Range<usize>),
    Inner(&'l [LoadEntry]),
}

impl Closed<'_> {
    /// Writes the node from the compact value.
    fn compose(&self, value: &[u8], out: &mut Out<'_>) {
        match &self.entries {
            Closing::Leaf(range) => {
                out.push(&[TYPE_ZSET]);
                out.push(value.get(range.clone()).unwrap_or_default());
            }
            Closing::Inner(entries) => {
                out.push(&[TYPE_INNER]);
                for load in *entries {
                    let mut read = Entries {
                        bytes: value,
                        offset: load.key,
                    };
                    if let Some(entry) = read.next() {
                        push_inner(
                            out,
                            &InnerEntry {
                                child: load.child,
                                count: load.count,
                                score: entry.score,
                                member: entry.member,
                            },
                        );
                    }
                }
            }
        }
    }
}

/// The open node of one inner level of a load.
#[derive(Clone, Copy)]
struct OpenInner {
    entries: [LoadEntry; NODE_ENTRIES_MAX],
    held: usize,
    bytes: usize,
    closed: u32,
}

/// The tree a load built.
#[derive(Debug, Clone, Copy)]
struct Built {
    root: u32,
    height: u32,
    nodes: u32,
}

/// A bottom-up load of sorted entries into nodes of at most [`LOAD_ENTRIES`] entries
/// and `cap` bytes (at least two entries each, so the tree's height is logarithmic).
struct Loader {
    cap: usize,
    leaf: Range<usize>,
    leaf_held: usize,
    leaf_first_member: usize,
    leaf_closed: u32,
    inner: [OpenInner; TREE_HEIGHT_MAX as usize],
    nodes: u32,
}

/// Whether a node of `held` entries and `bytes` closes before taking `size` more.
const fn closes(held: usize, bytes: usize, size: usize, cap: usize) -> bool {
    held >= 2 && (held >= LOAD_ENTRIES || bytes + size > cap)
}

impl Loader {
    fn new(cap: usize) -> Self {
        let open = OpenInner {
            entries: [LoadEntry::default(); NODE_ENTRIES_MAX],
            held: 0,
            bytes: 1,
            closed: 0,
        };
        Self {
            cap,
            leaf: 0..0,
            leaf_held: 0,
            leaf_first_member: 0,
            leaf_closed: 0,
            inner: [open; TREE_HEIGHT_MAX as usize],
            nodes: 0,
        }
    }

    fn leaf_add(
        &mut self,
        range: Range<usize>,
        member_size: usize,
        on_node: &mut dyn FnMut(&Closed<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        if closes(self.leaf_held, 1 + self.leaf.len(), range.len(), self.cap) {
            self.leaf_close(on_node)?;
        }
        if self.leaf_held == 0 {
            self.leaf = range.start..range.start;
            self.leaf_first_member = member_size;
        }
        self.leaf.end = range.end;
        self.leaf_held += 1;
        Ok(())
    }

    fn leaf_close(
        &mut self,
        on_node: &mut dyn FnMut(&Closed<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let closed = Closed {
            number: self.nodes,
            size: 1 + self.leaf.len(),
            count: self.leaf_held as u64,
            first: self.leaf.start,
            first_member_size: self.leaf_first_member,
            entries: Closing::Leaf(self.leaf.clone()),
        };
        on_node(&closed)?;
        self.nodes += 1;
        self.leaf_closed += 1;
        self.leaf_held = 0;
        self.inner_add(0, &closed, on_node)
    }

    /// Adds a closed node of the level below to inner level `level` (0: above leaves).
    fn inner_add(
        &mut self,
        level: usize,
        child: &Closed<'_>,
        on_node: &mut dyn FnMut(&Closed<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let open = self
            .inner
            .get(level)
            .ok_or(StoreError::CollectionTooLarge)?;
        let size = inner_entry_size(child.first_member_size);
        if closes(open.held, open.bytes, size, self.cap) {
            self.inner_close(level, on_node)?;
        }
        let open = &mut self.inner[level];
        open.entries[open.held] = LoadEntry {
            child: child.number,
            count: child.count,
            key: child.first,
            member_size: child.first_member_size,
        };
        open.held += 1;
        open.bytes += size;
        Ok(())
    }

    fn inner_close(
        &mut self,
        level: usize,
        on_node: &mut dyn FnMut(&Closed<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let open = self.inner[level];
        let entries = &open.entries[..open.held];
        let closed = Closed {
            number: self.nodes,
            size: open.bytes,
            count: entries.iter().map(|entry| entry.count).sum(),
            first: entries.first().map_or(0, |entry| entry.key),
            first_member_size: entries.first().map_or(0, |entry| entry.member_size),
            entries: Closing::Inner(entries),
        };
        on_node(&closed)?;
        self.nodes += 1;
        let open = &mut self.inner[level];
        open.closed += 1;
        open.held = 0;
        open.bytes = 1;
        let parent = Closed {
            entries: Closing::Leaf(0..0),
            ..closed
        };
        self.inner_add(level + 1, &parent, on_node)
    }

    /// Closes what is open, bottom up, and returns the root: a level that closed no node
    /// and holds one child has that child as the root.
    fn finish(
        mut self,
        on_node: &mut dyn FnMut(&Closed<'_>) -> Result<(), StoreError>,
    ) -> Result<Built, StoreError> {
        if self.leaf_closed == 0 {
            let root = self.nodes;
            self.leaf_close(on_node)?;
            return Ok(Built {
                root,
                height: 0,
                nodes: self.nodes,
            });
        }
        self.leaf_close(on_node)?;
        for level in 0..self.inner.len() {
            let open = self.inner[level];
            if open.closed == 0 && open.held == 1 {
                return Ok(Built {
                    root: open.entries[0].child,
                    height: u32::try_from(level).unwrap_or(u32::MAX),
                    nodes: self.nodes,
                });
            }
            self.inner_close(level, on_node)?;
        }
        Err(StoreError::CollectionTooLarge)
    }
}

/// Bytes of index part `part` of a conversion from the compact `value`.
fn index_part_size(value: &[u8], header: &Header, part: u32) -> usize {
    let mut sizing = Out {
        target: None,
        size: 0,
    };
    compose_index_part(value, header, part, &mut sizing);
    sizing.size
}

/// Index part `part` (of the header's part count) of a conversion from the compact
/// sorted set `value`.
fn compose_index_part(value: &[u8], header: &Header, part: u32, out: &mut Out<'_>) {
    out.push(&[TYPE_HASH]);
    for entry in ZsetView::new(value).entries() {
        if address(
            crate::hash::wyhash(entry.member, header.seed),
            header.part_count,
        ) == part
        {
            out.push_entry(entry.member, &entry.score.to_le_bytes());
        }
    }
}

/// Writes the index part `keep` of a split to `grown`'s part count from the bytes of the
/// part that splits (a `large::SplitCompose`).
pub(in crate::store::zset) fn compose_index_split(
    old: &[u8],
    grown: Header,
    keep: u32,
    out: &mut Out<'_>,
) {
    out.push(&[TYPE_HASH]);
    for entry in HashView::new(old).entries() {
        if grown.part_of(entry.field) == keep {
            out.push(old.get(entry.range).unwrap_or_default());
        }
    }
}

/// The entry count and longest member of a compact sorted set.
fn compact_shape(value: &[u8]) -> (usize, usize) {
    ZsetView::new(value)
        .entries()
        .fold((0, 0), |(count, longest), entry| {
            (count + 1, longest.max(entry.member.len()))
        })
}
