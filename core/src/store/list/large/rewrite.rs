//! The one walk behind a large list's LSET, LINSERT, LREM, LTRIM and multi-node pops
//! ([`Store::list_rewrite_large`]): over a window of nodes, each kept, dropped or scanned
//! element by element, rewriting only the nodes whose elements or links change, splitting
//! a node that grows past [`NodeLimit`] and removing the nodes it empties.
//!
//! It runs twice with the same rules: a sizing pass (the item sizes and new keys, so room
//! is made before anything is written), then the writing pass.

use core::ops::Range;

use super::{
    End, LogSink, NODE_HEADER_SIZE, NODE_NONE, NodeLimit, Out, PIECES_MAX, Record, SizeList, Step,
    Store, StoreError, Timestamp, after, node_count, node_link, node_next, node_prev, push_element,
    push_node_header,
};
use crate::storage::item::{self, PART_NUMBER_SIZE, varint_size};
use crate::store::large::{Header, PartKey};
use crate::store::list::ListView;

/// What a rewrite does to a whole node, decided from its first element's index and count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::store::list) enum NodeAction {
    /// Its elements stay as they are.
    Keep,
    /// All its elements go.
    Drop,
    /// Each element goes through the step.
    Scan,
}

/// The nodes a rewrite walks: `nodes` nodes from node `first`, whose first element is
/// the list's element `start`.
#[derive(Debug, Clone, Copy)]
pub(in crate::store::list) struct Window {
    pub(in crate::store::list) first: u32,
    pub(in crate::store::list) start: usize,
    pub(in crate::store::list) nodes: u32,
}

/// One node of a rewrite's output: a run of its source node's output elements.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Piece {
    /// Output ordinals (within the source node's output) it holds.
    first: usize,
    end: usize,
    /// Its value's bytes.
    size: usize,
}

/// What a node of the output holds.
#[derive(Debug, Clone, Copy)]
enum Content {
    /// Its source node's elements, unchanged.
    Same,
    /// A piece of its source node's output.
    Piece(Piece),
}

/// An output node whose links are not all known yet.
#[derive(Debug, Clone, Copy)]
struct Pending {
    number: u32,
    source: u32,
    /// The list's index of the source node's first element.
    start: usize,
    content: Content,
    prev: u32,
    /// Its elements differ from what node `number` holds (or it is a new node).
    changed: bool,
}

/// A rewrite's two passes: the sizes of its writes, then the writes.
#[expect(
    clippy::large_enum_variant,
    reason = "one on the stack per rewrite; boxing needs an allocator"
)]
enum Pass {
    Sizing { sizes: SizeList, new_keys: usize },
    Writing,
}

/// One output entry: its size, and its new bytes (`None`: the old entry, copied).
type Output<'e> = (usize, Option<&'e [u8]>);

/// The output entries one old element becomes under `step`.
fn outputs<'e>(step: Step<'e>, entry_size: usize) -> [Option<Output<'e>>; 2] {
    let new = |bytes: &'e [u8]| Some((varint_size(bytes.len()) + bytes.len(), Some(bytes)));
    let old = Some((entry_size, None));
    match step {
        Step::Keep => [old, None],
        Step::Drop => [None, None],
        Step::Replace(bytes) => [new(bytes), None],
        Step::Before(bytes) => [new(bytes), old],
        Step::After(bytes) => [old, new(bytes)],
    }
}

/// A node's output under `step`, cut into pieces that fit `limit` (the last takes the
/// rest past [`PIECES_MAX`]); the piece count, and whether any element changed.
fn node_pieces<'e, S>(
    node: &[u8],
    start: usize,
    step: &S,
    limit: NodeLimit,
) -> ([Piece; PIECES_MAX], usize, bool)
where
    S: Fn(usize, &[u8]) -> Step<'e>,
{
    let mut pieces = [Piece::default(); PIECES_MAX];
    let mut count = 0usize;
    let mut changed = false;
    let mut current = Piece {
        first: 0,
        end: 0,
        size: NODE_HEADER_SIZE,
    };
    for (index, (range, element)) in ListView::node(node).ranges().enumerate() {
        let step = step(start + index, element);
        changed |= !matches!(step, Step::Keep);
        for (size, _) in outputs(step, range.len()).into_iter().flatten() {
            let held = current.end - current.first;
            if held > 0 && !limit.fits(current.size + size, held + 1) && count + 1 < PIECES_MAX {
                pieces[count] = current;
                count += 1;
                current = Piece {
                    first: current.end,
                    end: current.end,
                    size: NODE_HEADER_SIZE,
                };
            }
            current.end += 1;
            current.size += size;
        }
    }
    if current.end > current.first {
        pieces[count] = current;
        count += 1;
    }
    (pieces, count, changed)
}

/// Composes an output node from its source node `old`.
#[expect(
    clippy::too_many_arguments,
    reason = "a node, its content and its links"
)]
fn compose_node<'e, S>(
    old: &[u8],
    seed: u64,
    start: usize,
    content: Content,
    step: &S,
    prev: u32,
    next: u32,
    out: &mut Out<'_>,
) where
    S: Fn(usize, &[u8]) -> Step<'e>,
{
    match content {
        Content::Same => {
            push_node_header(out, seed, prev, next, node_count(old));
            out.push(old.get(NODE_HEADER_SIZE..).unwrap_or_default());
        }
        Content::Piece(piece) => {
            push_node_header(out, seed, prev, next, piece.end - piece.first);
            let mut ordinal = 0usize;
            // Kept elements that lie next to each other in `old` go in one copy (a pop
            // keeps the rest of its node whole).
            let mut run = 0..0;
            for (index, (range, element)) in ListView::node(old).ranges().enumerate() {
                let step = step(start + index, element);
                for (_, bytes) in outputs(step, range.len()).into_iter().flatten() {
                    if (piece.first..piece.end).contains(&ordinal) {
                        match bytes {
                            Some(bytes) => {
                                out.push(&old[core::mem::replace(&mut run, 0..0)]);
                                push_element(out, bytes);
                            }
                            None if !run.is_empty() && run.end == range.start => {
                                run.end = range.end;
                            }
                            None => {
                                out.push(&old[core::mem::replace(&mut run, range.clone())]);
                            }
                        }
                    }
                    ordinal += 1;
                }
            }
            out.push(&old[run]);
        }
    }
}

impl Store<'_> {
    /// Rewrites the nodes of `window` of the large list at `key`: each node as `action`
    /// says from its first element's index and count, and a scanned node's elements each
    /// by `step` (a pure function of the element's index in the list and its bytes). A
    /// node whose elements or links change is rewritten (split if it passes the node
    /// limit: the last piece keeps its number, the others get new ones), a node left
    /// with none is removed, and the neighbours outside the window are relinked if
    /// needed; then the header, with `new_len` elements (the key goes if none). Makes
    /// room first.
    #[expect(
        clippy::too_many_arguments,
        reason = "a window, its rules and the length"
    )]
    pub(in crate::store::list) fn list_rewrite_large<'e, A, S>(
        &mut self,
        db: u8,
        key: &[u8],
        header: Header,
        window: Window,
        action: &A,
        step: &S,
        new_len: u64,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError>
    where
        A: Fn(usize, usize) -> NodeAction,
        S: Fn(usize, &[u8]) -> Step<'e>,
    {
        if new_len == 0 {
            if let Some(found) = self.find(db, key) {
                self.remove(&found);
            }
            log.record(Record::Del { db, key });
            return Ok(());
        }
        let (sizes, new_keys) = self.rewrite_plan(db, key, header, window, action, step)?;
        self.header_room(db, key, sizes.iter(), new_keys, now, log)?;
        self.rewrite_apply(db, key, header, window, action, step, new_len, now, log)
    }

    /// The item sizes and new keys of a rewrite's writes.
    pub(in crate::store::list) fn rewrite_plan<'e, A, S>(
        &mut self,
        db: u8,
        key: &[u8],
        header: Header,
        window: Window,
        action: &A,
        step: &S,
    ) -> Result<(SizeList, usize), StoreError>
    where
        A: Fn(usize, usize) -> NodeAction,
        S: Fn(usize, &[u8]) -> Step<'e>,
    {
        let mut pass = Pass::Sizing {
            sizes: SizeList::new(core::iter::empty()),
            new_keys: 0,
        };
        self.rewrite_walk(db, key, header, window, action, step, &mut pass, &mut ())?;
        match pass {
            Pass::Sizing { sizes, new_keys } => Ok((sizes, new_keys)),
            Pass::Writing => Err(StoreError::CollectionInvalid),
        }
    }

    /// The writes of a rewrite; room was made.
    #[expect(
        clippy::too_many_arguments,
        reason = "a window, its rules and the length"
    )]
    pub(in crate::store::list) fn rewrite_apply<'e, A, S>(
        &mut self,
        db: u8,
        key: &[u8],
        header: Header,
        window: Window,
        action: &A,
        step: &S,
        new_len: u64,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError>
    where
        A: Fn(usize, usize) -> NodeAction,
        S: Fn(usize, &[u8]) -> Step<'e>,
    {
        let mut pass = Pass::Writing;
        let header = self.rewrite_walk(db, key, header, window, action, step, &mut pass, log)?;
        let header = Header {
            len: new_len,
            ..header
        };
        self.header_write(db, key, header, None, now, log)
    }

    /// The walk of a rewrite, in either pass: returns the new header (its length as it
    /// was).
    #[expect(clippy::too_many_arguments, reason = "a window, its rules and a pass")]
    fn rewrite_walk<'e, A, S>(
        &mut self,
        db: u8,
        key: &[u8],
        header: Header,
        window: Window,
        action: &A,
        step: &S,
        pass: &mut Pass,
        log: &mut impl LogSink,
    ) -> Result<Header, StoreError>
    where
        A: Fn(usize, usize) -> NodeAction,
        S: Fn(usize, &[u8]) -> Step<'e>,
    {
        let mut part_key = PartKey::new(key).ok_or(StoreError::KeyTooLarge)?;
        let limit = NodeLimit::of(&self.config);
        let left = node_prev(self.part_bytes(db, key, window.first));
        let mut pending = left.map(|number| Pending {
            number,
            source: number,
            start: 0,
            content: Content::Same,
            prev: node_link(self.part_bytes(db, key, number), End::Head),
            changed: false,
        });
        let mut prev_out = left.unwrap_or(NODE_NONE);
        let mut first_out = None;
        let (mut number, mut start) = (window.first, window.start);
        let mut right = NODE_NONE;
        let mut next_try = header.chain.next;
        let mut bound = header.chain.end;
        let (mut created, mut removed) = (0u32, 0u32);
        for visited in 0..window.nodes {
            let node = self.part_bytes(db, key, number);
            if node.is_empty() {
                return Err(StoreError::CollectionInvalid);
            }
            let count = node_count(node);
            let old_next = node_next(node);
            let (pieces, piece_count, content_changed) = match action(start, count) {
                NodeAction::Keep => ([Piece::default(); PIECES_MAX], 1, false),
                NodeAction::Drop => ([Piece::default(); PIECES_MAX], 0, true),
                NodeAction::Scan => {
                    let (pieces, piece_count, changed) = node_pieces(node, start, step, limit);
                    if changed {
                        (pieces, piece_count, true)
                    } else {
                        (pieces, 1, false)
                    }
                }
            };
            if piece_count == 0 {
                if matches!(pass, Pass::Writing) {
                    self.part_remove_logged(db, part_key.of(number), log);
                }
                removed += 1;
            }
            for (index, piece) in pieces.iter().enumerate().take(piece_count) {
                let this = if index + 1 == piece_count {
                    number
                } else {
                    let count = header.part_count + created;
                    let fresh = self.node_fresh(db, &mut part_key, next_try, count);
                    next_try = after(fresh);
                    bound = bound.max(after(fresh));
                    created += 1;
                    fresh
                };
                if let Some(done) = pending.take() {
                    let links = (this, header.seed);
                    self.node_put(db, key, &mut part_key, done, links, step, pass, log)?;
                }
                pending = Some(Pending {
                    number: this,
                    source: number,
                    start,
                    content: if content_changed {
                        Content::Piece(*piece)
                    } else {
                        Content::Same
                    },
                    prev: prev_out,
                    changed: content_changed || this != number,
                });
                first_out.get_or_insert(this);
                prev_out = this;
            }
            start += count;
            right = old_next.unwrap_or(NODE_NONE);
            if visited + 1 < window.nodes {
                number = old_next.ok_or(StoreError::CollectionInvalid)?;
            }
        }
        if let Some(done) = pending.take() {
            let links = (right, header.seed);
            self.node_put(db, key, &mut part_key, done, links, step, pass, log)?;
        }
        if right != NODE_NONE {
            let next = node_link(self.part_bytes(db, key, right), End::Tail);
            let neighbour = Pending {
                number: right,
                source: right,
                start: 0,
                content: Content::Same,
                prev: prev_out,
                changed: false,
            };
            let links = (next, header.seed);
            self.node_put(db, key, &mut part_key, neighbour, links, step, pass, log)?;
        }
        let mut chain = header.chain;
        if left.is_none() {
            chain.head = first_out.unwrap_or(right);
        }
        if right == NODE_NONE {
            chain.tail = prev_out;
        }
        chain.next = next_try;
        chain.end = bound;
        Ok(Header {
            part_count: (header.part_count + created).saturating_sub(removed),
            chain,
            ..header
        })
    }

    /// Writes (or sizes) the output node `pending` with `next` as its next link (in the
    /// list of `seed`), unless node `pending.number` already holds exactly that.
    #[expect(clippy::too_many_arguments, reason = "a node, its links and a pass")]
    fn node_put<'e, S>(
        &mut self,
        db: u8,
        key: &[u8],
        part_key: &mut PartKey,
        pending: Pending,
        (next, seed): (u32, u64),
        step: &S,
        pass: &mut Pass,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError>
    where
        S: Fn(usize, &[u8]) -> Step<'e>,
    {
        let current = self.part_bytes(db, key, pending.number);
        let unchanged = !pending.changed
            && !current.is_empty()
            && node_link(current, End::Head) == pending.prev
            && node_link(current, End::Tail) == next;
        if unchanged {
            return Ok(());
        }
        let is_new = current.is_empty();
        let source = self.part_bytes(db, key, pending.source);
        let mut sizing = Out {
            target: None,
            size: 0,
        };
        compose_node(
            source,
            seed,
            pending.start,
            pending.content,
            step,
            pending.prev,
            next,
            &mut sizing,
        );
        let size = sizing.size;
        if size > self.config.value_size_max as usize {
            return Err(StoreError::CollectionTooLarge);
        }
        match pass {
            Pass::Sizing { sizes, new_keys } => {
                sizes.push(item::item_size(key.len() + PART_NUMBER_SIZE, size, 0));
                *new_keys += usize::from(is_new);
                Ok(())
            }
            Pass::Writing => {
                let range = self.part_range(db, key, pending.source);
                self.part_write(
                    db,
                    part_key,
                    pending.number,
                    Some(range),
                    size,
                    log,
                    |old, out| {
                        compose_node(
                            old,
                            seed,
                            pending.start,
                            pending.content,
                            step,
                            pending.prev,
                            next,
                            out,
                        );
                        assert!(out.size == size, "node size {size} != written {}", out.size);
                    },
                )
            }
        }
    }
}

/// A pop's (or LTRIM's) rules: nodes wholly outside `kept` go, the ones it cuts are
/// scanned.
#[expect(clippy::type_complexity, reason = "two closures of a rewrite")]
pub(in crate::store::list) fn pop_rules<'e>(
    kept: Range<usize>,
) -> (
    impl Fn(usize, usize) -> NodeAction,
    impl Fn(usize, &[u8]) -> Step<'e>,
) {
    let kept_action = kept.clone();
    let action = move |start: usize, count: usize| {
        if start >= kept_action.start && start + count <= kept_action.end {
            NodeAction::Keep
        } else if start + count <= kept_action.start || start >= kept_action.end {
            NodeAction::Drop
        } else {
            NodeAction::Scan
        }
    };
    let step = move |index: usize, _: &[u8]| {
        if kept.contains(&index) {
            Step::Keep
        } else {
            Step::Drop
        }
    };
    (action, step)
}
