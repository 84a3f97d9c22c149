//! SORT and SORT_RO: `SORT key [BY pattern] [LIMIT offset count] [GET pattern ...]
//! [ASC|DESC] [ALPHA] [STORE destination]` over lists, sets and sorted sets, as Redis 7.0
//! decides and words them (`sortCommandGeneric`).
//!
//! # How it sorts without allocating
//!
//! Redis loads the elements into a vector and sorts it. floe has no vector to load after
//! the arena is frozen, so it *selects*: each pass over the collection keeps the next
//! [`SORT_CHUNK_SIZE`] elements in order (greater than the last one emitted) in a buffer
//! on the stack, sorts that buffer, and emits it. The order is total (ties fall back to
//! the element's position), so the passes never emit an element twice or skip one. A sort
//! of n elements whose output ends at rank m costs O(n × (m / chunk + 1)) sort-key reads,
//! and SORT refuses more than [`SORT_ELEMENTS_MAX`] elements to sort (Redis has no such
//! limit). The keys that BY and GET patterns name are read in place in whatever shard
//! holds them: a SORT with a pattern holds every shard (see `CommandSpec::scope_of`).
//!
//! # Departures
//!
//! - ALPHA compares bytes (Redis's `strcoll` in the C locale); an element with a NUL byte
//!   is compared whole, where Redis stops at the NUL.
//! - Numbers are read as `strtod` reads them, except hexadecimal floats (an error here).
//! - A pattern whose derived key is longer than [`SORT_PATTERN_KEY_SIZE_MAX`] reads as
//!   absent; BY and GET are allowed in cluster mode and without full key access in ACL.
//! - Elements that compare equal under ALPHA with BY (Redis's order is then unspecified)
//!   come in collection order.

use core::cmp::Ordering;

use super::{Arguments, Context, Door, NOT_INTEGER, is};
use crate::constants::{SORT_CHUNK_SIZE, SORT_ELEMENTS_MAX, SORT_PATTERN_KEY_SIZE_MAX};
use crate::store::hash::HashView;
use crate::store::large::{Header, PartKey};
use crate::store::list;
use crate::store::set::{self, SetView};
use crate::store::sort::{Keyspace, list_store_across, read_across};
use crate::store::zset::{self, ZsetView};
use crate::store::{ValueType, parse_integer};

/// The commands of this family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Command {
    /// SORT (STORE allowed).
    Sort,
    /// SORT_RO (STORE is a syntax error).
    SortRo,
}

/// Redis's reply when a sort key is not a number.
const NOT_DOUBLE: &str = "ERR One or more scores can't be converted into double";

/// floe's refusal of a sort past [`SORT_ELEMENTS_MAX`].
const TOO_MANY: &str = "ERR SORT sorts at most 65536 elements (sort-elements-max)";
const _: () = assert!(SORT_ELEMENTS_MAX == 65_536);

/// One option of the request, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opt<'a> {
    Asc,
    Desc,
    Alpha,
    Limit(&'a [u8], &'a [u8]),
    Store(&'a [u8]),
    By(&'a [u8]),
    Get(&'a [u8]),
}

/// Walks the options from argument 2 as Redis does (LIMIT takes two arguments, STORE, BY
/// and GET one; STORE only when `store_allowed`), calling `visit` with each; stops at
/// the first word that is no option, or when `visit` says so, and returns whether every
/// argument was an option.
fn walk_options<'a>(
    count: usize,
    arg: &dyn Fn(usize) -> &'a [u8],
    store_allowed: bool,
    visit: &mut dyn FnMut(Opt<'a>) -> bool,
) -> bool {
    let mut index = 2;
    while index < count {
        let word = arg(index);
        let left = count - index - 1;
        let (option, taken) = if is(word, "asc") {
            (Opt::Asc, 0)
        } else if is(word, "desc") {
            (Opt::Desc, 0)
        } else if is(word, "alpha") {
            (Opt::Alpha, 0)
        } else if is(word, "limit") && left >= 2 {
            (Opt::Limit(arg(index + 1), arg(index + 2)), 2)
        } else if store_allowed && is(word, "store") && left >= 1 {
            (Opt::Store(arg(index + 1)), 1)
        } else if is(word, "by") && left >= 1 {
            (Opt::By(arg(index + 1)), 1)
        } else if is(word, "get") && left >= 1 {
            (Opt::Get(arg(index + 1)), 1)
        } else {
            return false;
        };
        if !visit(option) {
            return false;
        }
        index += taken + 1;
    }
    true
}

/// Whether a SORT request names keys through a BY or GET pattern (then it needs every
/// shard: `CommandSpec::scope_of`).
pub(super) fn names_other_keys<A: Arguments + ?Sized>(args: &A) -> bool {
    let mut found = false;
    let arg = |index: usize| args.get(index).unwrap_or_default();
    walk_options(args.count(), &arg, true, &mut |option| {
        found |= matches!(option, Opt::By(_) | Opt::Get(_));
        true
    });
    found
}

/// The index of SORT's STORE destination (the last STORE, as Redis's `sortGetKeys`).
pub(super) fn store_index<A: Arguments + ?Sized>(args: &A) -> Option<usize> {
    let count = args.count();
    let mut index = 2;
    let mut found = None;
    while index < count {
        let word = args.get(index).unwrap_or_default();
        if is(word, "limit") {
            index += 2;
        } else if is(word, "get") || is(word, "by") {
            index += 1;
        } else if is(word, "store") && index + 1 < count {
            found = Some(index + 1);
        }
        index += 1;
    }
    found
}

/// The request's options once parsed.
#[derive(Debug, Clone, Copy)]
struct Plan<'a> {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    store: Option<&'a [u8]>,
    by: Option<&'a [u8]>,
    /// BY names a pattern without `*`: keep the collection's order.
    dontsort: bool,
    get_count: usize,
}

/// Runs SORT or SORT_RO; the arity was checked.
pub(super) fn run<D: Door>(command: Command, context: &mut Context<'_, '_, D>) {
    let args: &D::Args = context.args;
    let count = context.count();
    let arg = |index: usize| args.get(index).unwrap_or_default();
    let mut plan = Plan {
        desc: false,
        alpha: false,
        limit_start: 0,
        limit_count: -1,
        store: None,
        by: None,
        dontsort: false,
        get_count: 0,
    };
    let mut limit_error = false;
    let parsed = walk_options(count, &arg, command == Command::Sort, &mut |option| {
        match option {
            Opt::Asc => plan.desc = false,
            Opt::Desc => plan.desc = true,
            Opt::Alpha => plan.alpha = true,
            Opt::Limit(start, count) => match (parse_integer(start), parse_integer(count)) {
                (Some(start), Some(count)) => (plan.limit_start, plan.limit_count) = (start, count),
                _ => {
                    limit_error = true;
                    return false;
                }
            },
            Opt::Store(key) => plan.store = Some(key),
            Opt::By(pattern) => {
                plan.by = Some(pattern);
                plan.dontsort = !pattern.contains(&b'*');
            }
            Opt::Get(_) => plan.get_count += 1,
        }
        true
    });
    if limit_error {
        context.error(NOT_INTEGER);
        return;
    }
    if !parsed {
        context.syntax_error();
        return;
    }
    let (db, now, key) = (context.session.db, context.now, arg(1));
    let source_type = context.shards.store_for(key).value_type(db, key, now);
    if matches!(source_type, Some(ValueType::String | ValueType::Hash)) {
        context.error("WRONGTYPE Operation against a key holding the wrong kind of value");
        return;
    }
    // Redis sorts a set that it stores (or that a script reads) so that the result is
    // the same on replicas: BY without `*` becomes ALPHA.
    if plan.dontsort && source_type == Some(ValueType::Set) && plan.store.is_some() {
        (plan.dontsort, plan.alpha, plan.by) = (false, true, None);
    }
    let gets = |visit: &mut dyn FnMut(&[u8])| {
        walk_options(count, &arg, command == Command::Sort, &mut |option| {
            if let Opt::Get(pattern) = option {
                visit(pattern);
            }
            true
        });
    };
    let Context {
        shards, reply, log, ..
    } = context;
    let mut refusal: Option<&str> = None;
    let mut output_count = 0usize;
    read_across(*shards, db, now, &mut |keyspace| {
        let source = Source::of(keyspace, key);
        let window = Window::of(&plan, source.walk().count());
        if let Err(message) = check(keyspace, source, &plan, window.element_count) {
            refusal = Some(message);
            return;
        }
        output_count = window.output_count(plan.get_count);
        if plan.store.is_some() {
            return;
        }
        reply.array_header(output_count);
        let mut written = 0usize;
        emit(keyspace, source, &plan, &window, &gets, &mut |value| {
            written += 1;
            match value {
                Some(value) => reply.bulk(value),
                None => reply.null(),
            }
        });
        assert!(
            written == output_count,
            "sort wrote {written} of {output_count}"
        );
    });
    if let Some(message) = refusal {
        reply.error(message.as_bytes());
        return;
    }
    let Some(target) = plan.store else {
        return;
    };
    let each = |keyspace: &dyn Keyspace<'_>, visit: &mut dyn FnMut(&[u8])| {
        let source = Source::of(keyspace, key);
        let window = Window::of(&plan, source.walk().count());
        emit(keyspace, source, &plan, &window, &gets, &mut |value| {
            visit(value.unwrap_or_default());
        });
    };
    match list_store_across(*shards, db, target, now, *log, &each) {
        Ok(stored) => {
            assert!(stored == output_count, "stored {stored} of {output_count}");
            reply.integer(i64::try_from(stored).unwrap_or(i64::MAX));
        }
        Err(error) => reply.error(error.message().as_bytes()),
    }
}

/// The ranks SORT returns, after Redis's LIMIT sanity checks.
#[derive(Debug, Clone, Copy)]
struct Window {
    element_count: usize,
    /// First rank returned.
    start: usize,
    /// Ranks returned (from `start`).
    size: usize,
}

impl Window {
    fn of(plan: &Plan<'_>, element_count: usize) -> Self {
        let length = i64::try_from(element_count).unwrap_or(i64::MAX);
        let mut start = plan.limit_start.max(0);
        let mut end = if plan.limit_count < 0 {
            length - 1
        } else {
            start.saturating_add(plan.limit_count) - 1
        };
        if start >= length {
            start = length - 1;
            end = length - 2;
        }
        end = end.min(length - 1);
        let size = usize::try_from(end - start + 1).unwrap_or(0);
        let start = usize::try_from(start).unwrap_or(0);
        assert!(
            size == 0 || start + size <= element_count,
            "start={start} size={size}"
        );
        Self {
            element_count,
            start,
            size,
        }
    }

    fn output_count(&self, get_count: usize) -> usize {
        self.size * get_count.max(1)
    }
}

/// Refuses what Redis refuses once the elements are known (a sort key that is not a
/// number), and what floe cannot sort (more than [`SORT_ELEMENTS_MAX`]).
fn check<'v>(
    keyspace: &dyn Keyspace<'v>,
    source: Source<'_, 'v>,
    plan: &Plan<'_>,
    element_count: usize,
) -> Result<(), &'static str> {
    if plan.dontsort {
        let native_desc = plan.desc && source.value.is_some_and(|(kind, _)| kind != ValueType::Set);
        if native_desc && element_count > SORT_ELEMENTS_MAX {
            return Err(TOO_MANY);
        }
        return Ok(());
    }
    if !plan.alpha
        && source
            .walk()
            .any(|element| sort_key(keyspace, plan, element).is_none())
    {
        return Err(NOT_DOUBLE);
    }
    if element_count > SORT_ELEMENTS_MAX {
        return Err(TOO_MANY);
    }
    Ok(())
}

/// Calls `visit` with SORT's output in order: each element in the window, or for each
/// one the value of every GET pattern (`None` where it names nothing).
fn emit<'v>(
    keyspace: &dyn Keyspace<'v>,
    source: Source<'_, 'v>,
    plan: &Plan<'_>,
    window: &Window,
    gets: &Gets<'_>,
    visit: &mut dyn FnMut(Option<&'v [u8]>),
) {
    let mut output = |element: &'v [u8]| {
        if plan.get_count == 0 {
            visit(Some(element));
        } else {
            gets(&mut |pattern| visit(lookup(keyspace, pattern, element)));
        }
    };
    if window.size == 0 {
        return;
    }
    let native = plan.dontsort;
    let in_order = !plan.desc || source.value.is_some_and(|(kind, _)| kind == ValueType::Set);
    if native && in_order {
        for element in source.walk().skip(window.start).take(window.size) {
            output(element);
        }
        return;
    }
    let order = Order {
        desc: plan.desc,
        native,
    };
    let key_of = |element: &'v [u8]| {
        if native {
            Key::Native
        } else {
            sort_key(keyspace, plan, element).unwrap_or(Key::Score(0.0))
        }
    };
    select(source, &key_of, order, window, &mut output);
}

/// Calls its argument with each GET pattern, in order.
type Gets<'g> = dyn Fn(&mut dyn FnMut(&[u8])) + 'g;

/// An element's sort key.
#[derive(Debug, Clone, Copy)]
enum Key<'v> {
    /// Numeric: the number (ties compare the elements).
    Score(f64),
    /// ALPHA: the bytes compared (`None`: BY named nothing; it sorts first).
    Bytes(Option<&'v [u8]>),
    /// The collection's own order (BY without `*`, DESC).
    Native,
}

/// The sort key of `element`, `None` if it should be a number and is not.
fn sort_key<'v>(
    keyspace: &dyn Keyspace<'v>,
    plan: &Plan<'_>,
    element: &'v [u8],
) -> Option<Key<'v>> {
    let by_value = match plan.by {
        Some(pattern) => lookup(keyspace, pattern, element),
        None => Some(element),
    };
    if plan.alpha {
        return Some(Key::Bytes(by_value));
    }
    match by_value {
        None => Some(Key::Score(0.0)),
        Some(text) => parse_sort_number(text).map(Key::Score),
    }
}

/// Reads a sort key as Redis does (`strtod` over the whole value, not NaN, no ERANGE): an
/// empty value is 0, leading blanks are skipped.
fn parse_sort_number(text: &[u8]) -> Option<f64> {
    if text.is_empty() {
        return Some(0.0);
    }
    let start = text.iter().position(|&byte| !is_space(byte))?;
    super::zset::parse_score(text.get(start..)?)
}

/// Whether `byte` is C's `isspace`.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// What `pattern` names for `element`, as Redis's `lookupKeyByPattern`: `#` is the
/// element; otherwise the first `*` becomes the element, and a `->field` after it reads
/// that field of a hash; a string key is its value. No `*`, a missing key or one of
/// another type: `None`.
fn lookup<'v>(keyspace: &dyn Keyspace<'v>, pattern: &[u8], element: &'v [u8]) -> Option<&'v [u8]> {
    if pattern == b"#" {
        return Some(element);
    }
    let star = pattern.iter().position(|&byte| byte == b'*')?;
    let prefix = pattern.get(..star)?;
    let rest = pattern.get(star + 1..)?;
    let arrow = rest.windows(2).position(|pair| pair == b"->");
    let (postfix, field) = match arrow {
        Some(at) if at + 2 < rest.len() => (rest.get(..at)?, rest.get(at + 2..)),
        _ => (rest, None),
    };
    let size = prefix.len() + element.len() + postfix.len();
    let mut buffer = [0u8; SORT_PATTERN_KEY_SIZE_MAX];
    let key = buffer.get_mut(..size)?;
    let (head, tail) = key.split_at_mut(prefix.len());
    head.copy_from_slice(prefix);
    let (middle, end) = tail.split_at_mut(element.len());
    middle.copy_from_slice(element);
    end.copy_from_slice(postfix);
    let (kind, value) = keyspace.value(key)?;
    match field {
        None => (kind == ValueType::String).then_some(value),
        // A large hash's value is its header: the field is in the part it hashes to.
        Some(field) if kind == ValueType::Hash => match crate::store::large::Header::read(value) {
            Some(header) => {
                let mut part_key = crate::store::large::PartKey::new(key)?;
                let part = keyspace.part(part_key.of(header.part_of(field)))?;
                HashView::new(part).get(field)
            }
            None => HashView::new(value).get(field),
        },
        Some(_) => None,
    }
}

/// The key being sorted, read in the keyspace: its type and value (a large set's value
/// is its header; its members are read from its parts).
#[derive(Clone, Copy)]
struct Source<'a, 'v> {
    keyspace: &'a dyn Keyspace<'v>,
    key: &'a [u8],
    value: Option<(ValueType, &'v [u8])>,
}

impl<'a, 'v> Source<'a, 'v> {
    fn of(keyspace: &'a dyn Keyspace<'v>, key: &'a [u8]) -> Self {
        Self {
            keyspace,
            key,
            value: keyspace.value(key),
        }
    }

    /// The elements of the key's value in its own order (a missing key has none).
    fn walk(&self) -> Walk<'a, 'v> {
        match self.value {
            Some((ValueType::List, _)) => match self.keyspace.list(self.key) {
                Some(list) => Walk::List(list.iter()),
                None => Walk::Empty,
            },
            Some((ValueType::Set, value)) => match Header::read(value) {
                Some(header) => Walk::LargeSet(LargeWalk {
                    keyspace: self.keyspace,
                    key: self.key,
                    part_count: header.part_count,
                    next_part: 0,
                    current: SetView::new(&[]).members(),
                }),
                None => Walk::Set(SetView::new(value).members()),
            },
            Some((ValueType::SortedSet, value)) => match Header::read(value) {
                Some(header) if header.is_zset() => Walk::LargeZset(zset::large::TreeEntries::new(
                    KeyspaceNodes {
                        keyspace: self.keyspace,
                        key: self.key,
                    },
                    &header.tree,
                )),
                _ => Walk::Zset(ZsetView::new(value).entries()),
            },
            _ => Walk::Empty,
        }
    }
}

/// The members of a large set, part by part, read through the keyspace.
struct LargeWalk<'a, 'v> {
    keyspace: &'a dyn Keyspace<'v>,
    key: &'a [u8],
    part_count: u32,
    next_part: u32,
    current: set::Members<'v>,
}

impl<'v> Iterator for LargeWalk<'_, 'v> {
    type Item = &'v [u8];

    fn next(&mut self) -> Option<&'v [u8]> {
        loop {
            if let Some(member) = self.current.next() {
                return Some(member);
            }
            if self.next_part >= self.part_count {
                return None;
            }
            let mut key = PartKey::new(self.key)?;
            let part = self.keyspace.part(key.of(self.next_part));
            self.current = SetView::new(part.unwrap_or_default()).members();
            self.next_part += 1;
        }
    }
}

/// A large sorted set's tree nodes, read through the keyspace.
struct KeyspaceNodes<'a, 'v> {
    keyspace: &'a dyn Keyspace<'v>,
    key: &'a [u8],
}

impl<'v> zset::large::NodeRead<'v> for KeyspaceNodes<'_, 'v> {
    fn node(&self, node: u32) -> &'v [u8] {
        PartKey::new(self.key)
            .and_then(|mut key| self.keyspace.part(key.of(Header::node_part(node))))
            .unwrap_or_default()
    }
}

/// The elements of a sorted key's value in its own order (a missing key has none).
#[expect(
    clippy::large_enum_variant,
    reason = "no allocation: a large sorted set's walk keeps its path of nodes inline"
)]
enum Walk<'a, 'v> {
    List(list::ListIter<'v>),
    Set(set::Members<'v>),
    LargeSet(LargeWalk<'a, 'v>),
    Zset(zset::Entries<'v>),
    LargeZset(zset::large::TreeEntries<'v, KeyspaceNodes<'a, 'v>>),
    Empty,
}

impl<'v> Iterator for Walk<'_, 'v> {
    type Item = &'v [u8];

    fn next(&mut self) -> Option<&'v [u8]> {
        match self {
            Self::List(elements) => elements.next(),
            Self::Set(members) => members.next(),
            Self::LargeSet(members) => members.next(),
            Self::Zset(entries) => entries.next().map(|entry| entry.member),
            Self::LargeZset(entries) => entries.next().map(|entry| entry.member),
            Self::Empty => None,
        }
    }
}

/// One element being ordered: its position in the collection, its bytes and its key.
#[derive(Debug, Clone, Copy)]
struct Record<'v> {
    position: usize,
    element: &'v [u8],
    key: Key<'v>,
}

/// How records compare.
#[derive(Debug, Clone, Copy)]
struct Order {
    desc: bool,
    /// The keys are [`Key::Native`]: DESC reverses the positions.
    native: bool,
}

impl Order {
    /// A total order: Redis's `sortCompare`, then the positions.
    fn compare(self, left: &Record<'_>, right: &Record<'_>) -> Ordering {
        let by_key = match (left.key, right.key) {
            (Key::Score(a), Key::Score(b)) => a
                .partial_cmp(&b)
                .unwrap_or(Ordering::Equal)
                .then_with(|| left.element.cmp(right.element)),
            (Key::Bytes(a), Key::Bytes(b)) => a.cmp(&b),
            _ => Ordering::Equal,
        };
        let by_key = if self.desc { by_key.reverse() } else { by_key };
        let by_position = left.position.cmp(&right.position);
        let by_position = if self.desc && self.native {
            by_position.reverse()
        } else {
            by_position
        };
        by_key.then(by_position)
    }
}

/// Calls `output` with the elements of ranks `window` in `order`, by selection: each pass
/// keeps the next [`SORT_CHUNK_SIZE`] records after the last one emitted.
fn select<'v>(
    source: Source<'_, 'v>,
    key_of: &dyn Fn(&'v [u8]) -> Key<'v>,
    order: Order,
    window: &Window,
    output: &mut dyn FnMut(&'v [u8]),
) {
    const EMPTY: Record<'static> = Record {
        position: 0,
        element: &[],
        key: Key::Native,
    };
    let compare = |left: &Record<'_>, right: &Record<'_>| order.compare(left, right);
    let mut buffer = [EMPTY; 2 * SORT_CHUNK_SIZE];
    let mut cursor: Option<Record<'v>> = None;
    let mut rank = 0usize;
    let end = window.start + window.size;
    for _pass in 0..=window.element_count / SORT_CHUNK_SIZE {
        let mut kept = 0usize;
        let mut bound: Option<Record<'v>> = None;
        for (position, element) in source.walk().enumerate() {
            let record = Record {
                position,
                element,
                key: key_of(element),
            };
            if cursor.is_some_and(|last| compare(&record, &last) != Ordering::Greater) {
                continue;
            }
            if bound.is_some_and(|last| compare(&record, &last) != Ordering::Less) {
                continue;
            }
            buffer[kept] = record;
            kept += 1;
            if kept == buffer.len() {
                buffer.sort_unstable_by(compare);
                kept = SORT_CHUNK_SIZE;
                bound = Some(buffer[SORT_CHUNK_SIZE - 1]);
            }
        }
        let taken = &mut buffer[..kept];
        taken.sort_unstable_by(compare);
        let taken = &taken[..kept.min(SORT_CHUNK_SIZE)];
        for record in taken {
            if rank >= window.start && rank < end {
                output(record.element);
            }
            rank += 1;
        }
        if taken.len() < SORT_CHUNK_SIZE || rank >= end {
            return;
        }
        cursor = taken.last().copied();
    }
    assert!(rank >= end, "selection ended at rank {rank} before {end}");
}

#[cfg(test)]
mod tests;
