//! Large sets: a header item and parts that are compact sets (`store/large.rs` has the
//! layout and the rules every large collection follows).
//!
//! A write touches the parts of the members it names: each is composed anew from its old
//! bytes and the request, then the header with the new member count. Growth is one split
//! at a time, after the write, as for hashes. A part keeps its members in the order they
//! came (the intset's numeric order is a rule of the compact form only: a part is never
//! read as a key's value, so nothing depends on its order). Every part write, the header
//! and a split are logged as `Set` records in the command's one group.

use super::{Each, Members, Popped, SetView};
use crate::codec::record::Record;
use crate::error::StoreError;
use crate::storage::item::{self, PART_NUMBER_SIZE};
use crate::store::compact::{Out, RandomCopy, TYPE_SET};
use crate::store::large::{
    Header, LargeRef, PART_ELEMENTS_TARGET, PartKey, PartSource, STEP_ELEMENTS_MAX, SizeList,
    TYPE_LARGE_SET, address,
};
use crate::store::{LogSink, Lookup, Store};
use crate::time::Timestamp;

/// A large set read in place: its header, and the store its parts are read from.
#[derive(Debug, Clone, Copy)]
pub struct LargeSet<'s> {
    large: LargeRef<'s>,
}

impl<'s> LargeSet<'s> {
    /// The large set at `owner` in `db` whose header is `header`, its parts read from
    /// `parts`.
    #[must_use]
    pub fn new(parts: &'s dyn PartSource, db: u8, owner: &'s [u8], header: Header) -> Self {
        Self {
            large: LargeRef::new(parts, db, owner, header),
        }
    }

    /// Number of members.
    #[must_use]
    pub fn len(&self) -> usize {
        self.large.len()
    }

    /// Whether it has no member (never true of a stored set).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.large.is_empty()
    }

    /// Number of parts: SSCAN's cursor runs over them.
    #[must_use]
    pub fn part_count(&self) -> u32 {
        self.large.header().part_count
    }

    /// Part `number` (empty if it is missing, which a stored set never has).
    #[must_use]
    pub fn part(&self, number: u32) -> SetView<'s> {
        SetView::new(self.large.part_bytes(number))
    }

    /// Whether `member` is in the set: one part read.
    #[must_use]
    pub fn contains(&self, member: &[u8]) -> bool {
        self.part(self.large.header().part_of(member))
            .contains(member)
    }

    /// Every member, part by part.
    #[must_use]
    pub fn members(&self) -> LargeMembers<'s> {
        LargeMembers {
            set: *self,
            next_part: 0,
            current: SetView::new(&[]).members(),
        }
    }

    /// A member picked at random: a random part, then a random member of it (uniform
    /// when the parts are equally full; a member of a sparse part is likelier).
    pub(in crate::store) fn random_member(&self, random: &mut RandomCopy) -> Option<&'s [u8]> {
        let (number, index) = self.random_place(random)?;
        self.part(number).members().nth(index)
    }

    /// Where a member picked at random lies: a random non-empty part, and a random index
    /// in it (uniform when the parts are equally full).
    fn random_place(&self, random: &mut RandomCopy) -> Option<(u32, usize)> {
        self.large
            .random_place(random, |bytes| SetView::new(bytes).len())
    }
}

/// The members of a [`LargeSet`], part by part.
#[derive(Debug, Clone)]
pub struct LargeMembers<'s> {
    set: LargeSet<'s>,
    next_part: u32,
    current: Members<'s>,
}

impl<'s> Iterator for LargeMembers<'s> {
    type Item = &'s [u8];

    fn next(&mut self) -> Option<&'s [u8]> {
        loop {
            if let Some(member) = self.current.next() {
                return Some(member);
            }
            if self.next_part >= self.set.part_count() {
                return None;
            }
            self.current = self.set.part(self.next_part).members();
            self.next_part += 1;
        }
    }
}

/// Composes a part: the members of `old` (a compact set, or empty) that `keep` accepts,
/// then each member that `added` lists.
fn compose_part(old: &[u8], keep: &dyn Fn(&[u8]) -> bool, added: &Each<'_>, out: &mut Out<'_>) {
    out.push(&[TYPE_SET]);
    for member in SetView::new(old).members().filter(|member| keep(member)) {
        out.push_varint(member.len());
        out.push(member);
    }
    added(&mut |member| {
        out.push_varint(member.len());
        out.push(member);
    });
}

/// The size of the part [`compose_part`] composes.
fn part_size(old: &[u8], keep: &dyn Fn(&[u8]) -> bool, added: &Each<'_>) -> usize {
    let mut sizing = Out {
        target: None,
        size: 0,
    };
    compose_part(old, keep, added, &mut sizing);
    sizing.size
}

/// The first time each member of `members` appears (so repeated members count once).
fn first_of<'m, M>(members: &M, index: usize, member: &[u8]) -> bool
where
    M: Iterator<Item = &'m [u8]> + Clone,
{
    members.clone().position(|other| other == member) == Some(index)
}

/// SPOP's selection sampling (Knuth's algorithm S) over a large set, part by part: each
/// member is taken with probability needed / left, which takes exactly the count asked.
/// The state after a part depends only on the parts before it, so a part can be
/// rewritten as soon as the walk reaches it.
#[derive(Debug, Clone, Copy)]
struct PopWalk {
    random: u64,
    needed: usize,
    index: usize,
    length: usize,
}

impl PopWalk {
    /// Walks the members of the part `old`: `taken` with each member popped, `kept` with
    /// each other; returns how many were popped.
    fn part(
        &mut self,
        old: &[u8],
        taken: &mut dyn FnMut(&[u8]),
        kept: &mut dyn FnMut(&[u8]),
    ) -> usize {
        let mut random = RandomCopy(self.random);
        let mut count = 0;
        for member in SetView::new(old).members() {
            let left = self.length.saturating_sub(self.index).max(1);
            if self.needed > 0 && random.below(left) < self.needed {
                self.needed -= 1;
                count += 1;
                taken(member);
            } else {
                kept(member);
            }
            self.index += 1;
        }
        self.random = random.0;
        count
    }

    /// The new value of the part `old` after the walk, and how many members it pops.
    fn compose(mut self, old: &[u8], out: &mut Out<'_>, taken: &mut dyn FnMut(&[u8])) -> usize {
        out.push(&[TYPE_SET]);
        self.part(old, taken, &mut |member| {
            out.push_varint(member.len());
            out.push(member);
        })
    }
}

impl Store<'_> {
    /// Runs `step` with the large set's current header over `members` in steps
    /// ([`crate::store::large::in_steps`]); a step after the set is gone does nothing.
    pub(super) fn set_in_steps<'m, M>(
        &mut self,
        db: u8,
        key: &[u8],
        members: M,
        mut step: impl FnMut(
            &mut Self,
            Header,
            core::iter::Copied<core::slice::Iter<'_, &'m [u8]>>,
        ) -> Result<usize, StoreError>,
    ) -> Result<usize, StoreError>
    where
        M: Iterator<Item = &'m [u8]> + Clone,
    {
        crate::store::large::in_steps(members, |members| {
            match self.find(db, key).and_then(|found| self.header_of(&found)) {
                Some(header) => step(self, header, members),
                None => Ok(0),
            }
        })
    }

    /// SADD on a large set: see [`Store::set_add`].
    pub(super) fn set_add_large<'m, M>(
        &mut self,
        db: u8,
        key: &[u8],
        header: Header,
        members: M,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<usize, StoreError>
    where
        M: Iterator<Item = &'m [u8]> + Clone,
    {
        let mut part_key = PartKey::new(key).ok_or(StoreError::KeyTooLarge)?;
        // The parts the members go to, each once: where its number first appears. Which
        // members are new to a part is read from that part's old bytes, which the other
        // parts' writes leave alone.
        let parts = members
            .clone()
            .enumerate()
            .map(|(index, member)| (index, header.part_of(member)))
            .filter(|&(index, part)| {
                members
                    .clone()
                    .position(|member| header.part_of(member) == part)
                    == Some(index)
            })
            .map(|(_, part)| part);
        let new_in = |old: &[u8], part: u32, visit: &mut dyn FnMut(&[u8])| {
            for (index, member) in members.clone().enumerate() {
                if header.part_of(member) == part
                    && first_of(&members, index, member)
                    && (old.is_empty() || !SetView::new(old).contains(member))
                {
                    visit(member);
                }
            }
        };
        // Each part's new size (`None` if it gains no member) and the members new to the
        // set, from one read of each part. A step has at most STEP_ELEMENTS_MAX members.
        let mut sizes = [None; STEP_ELEMENTS_MAX];
        let mut added = 0;
        for (slot, part) in sizes.iter_mut().zip(parts.clone()) {
            let old = self.part_bytes(db, key, part);
            new_in(old, part, &mut |_| added += 1);
            let size = part_size(old, &|_| true, &|visit| new_in(old, part, visit));
            *slot = (size != old.len().max(1)).then_some(size);
        }
        if added == 0 {
            return Ok(0);
        }
        if sizes
            .iter()
            .flatten()
            .any(|&size| size > self.config.value_size_max as usize)
        {
            return Err(StoreError::CollectionTooLarge);
        }
        let grown = Header {
            len: header.len + added as u64,
            ..header
        };
        let part_key_size = key.len() + PART_NUMBER_SIZE;
        let items = sizes
            .iter()
            .flatten()
            .map(|&size| item::item_size(part_key_size, size, 0));
        self.header_room(db, key, items, 0, now, log)?;
        for (part, size) in parts.zip(sizes) {
            let Some(size) = size else {
                continue;
            };
            self.part_write(db, &mut part_key, part, None, size, log, |old, out| {
                compose_part(old, &|_| true, &|visit| new_in(old, part, visit), out);
            })?;
        }
        self.header_write(db, key, grown, None, now, log)?;
        self.large_grow(db, key, compose_split, now, log);
        Ok(added)
    }

    /// SREM on a large set: see [`Store::set_remove`].
    pub(super) fn set_remove_large<'m, M>(
        &mut self,
        db: u8,
        key: &[u8],
        header: Header,
        members: M,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<usize, StoreError>
    where
        M: Iterator<Item = &'m [u8]> + Clone,
    {
        let mut part_key = PartKey::new(key).ok_or(StoreError::KeyTooLarge)?;
        let removed = {
            let set = LargeSet::new(self, db, key, header);
            members
                .clone()
                .enumerate()
                .filter(|&(index, member)| {
                    first_of(&members, index, member) && set.contains(member)
                })
                .count()
        };
        if removed == 0 {
            return Ok(0);
        }
        if header.len <= removed as u64 {
            if let Some(found) = self.find(db, key) {
                self.remove(&found);
            }
            log.record(Record::Del { db, key });
            return Ok(removed);
        }
        let shrunk = Header {
            len: header.len - removed as u64,
            ..header
        };
        let parts = members
            .clone()
            .enumerate()
            .map(|(index, member)| (index, header.part_of(member)))
            .filter(|&(index, part)| {
                members
                    .clone()
                    .position(|member| header.part_of(member) == part)
                    == Some(index)
            })
            .map(|(_, part)| part);
        let gone = |member: &[u8]| !members.clone().any(|other| other == member);
        let size_of =
            |store: &Self, part: u32| part_size(store.part_bytes(db, key, part), &gone, &|_| {});
        let part_key_size = key.len() + PART_NUMBER_SIZE;
        let sizes = SizeList::new(
            parts
                .clone()
                .map(|part| item::item_size(part_key_size, size_of(self, part), 0)),
        );
        self.header_room(db, key, sizes.iter(), 0, now, log)?;
        for part in parts {
            let size = size_of(self, part);
            self.part_write(db, &mut part_key, part, None, size, log, |old, out| {
                compose_part(old, &gone, &|_| {}, out);
            })?;
        }
        self.header_write(db, key, shrunk, None, now, log)?;
        Ok(removed)
    }

    /// SPOP of one member of the large set at `key`: a member picked as
    /// [`LargeSet::random_member`] picks it, so only its part is read and rewritten (the
    /// walk of [`Store::set_pop_large`] reads every part, O(n) for one member).
    pub(super) fn set_pop_one_large(
        &mut self,
        db: u8,
        key: &[u8],
        header: Header,
        now: Timestamp,
        log: &mut impl LogSink,
        visit: &mut dyn FnMut(Popped<'_>),
    ) -> Result<(), StoreError> {
        let mut part_key = PartKey::new(key).ok_or(StoreError::KeyTooLarge)?;
        let mut random = RandomCopy(self.random());
        let place = LargeSet::new(self, db, key, header).random_place(&mut random);
        let Some((number, index)) = place else {
            return Err(StoreError::CollectionInvalid);
        };
        let keep = |old: &[u8], out: &mut Out<'_>, taken: &mut dyn FnMut(&[u8])| {
            out.push(&[TYPE_SET]);
            for (at, member) in SetView::new(old).members().enumerate() {
                if at == index {
                    taken(member);
                } else {
                    out.push_varint(member.len());
                    out.push(member);
                }
            }
        };
        let size = {
            let mut sizing = Out {
                target: None,
                size: 0,
            };
            keep(self.part_bytes(db, key, number), &mut sizing, &mut |_| {});
            sizing.size
        };
        let item_size = item::item_size(key.len() + PART_NUMBER_SIZE, size, 0);
        self.header_room(db, key, core::iter::once(item_size), 0, now, log)?;
        visit(Popped::Count(1));
        self.part_write(db, &mut part_key, number, None, size, log, |old, out| {
            keep(old, out, &mut |member| visit(Popped::Member(member)));
        })?;
        let shrunk = Header {
            len: header.len - 1,
            ..header
        };
        self.header_write(db, key, shrunk, None, now, log)
    }

    /// SPOP of `popped` members (fewer than it has) from the large set at `key`: see
    /// [`Store::set_pop`]. Every part is walked in order; the parts that lose a member
    /// are rewritten, then the header.
    #[expect(clippy::too_many_arguments, reason = "SPOP's arguments and the header")]
    pub(super) fn set_pop_large(
        &mut self,
        db: u8,
        key: &[u8],
        header: Header,
        popped: usize,
        now: Timestamp,
        log: &mut impl LogSink,
        visit: &mut dyn FnMut(Popped<'_>),
    ) -> Result<(), StoreError> {
        let mut part_key = PartKey::new(key).ok_or(StoreError::KeyTooLarge)?;
        let start = PopWalk {
            random: self.random(),
            needed: popped,
            index: 0,
            length: usize::try_from(header.len).unwrap_or(usize::MAX),
        };
        // Each part that pops a member, with its new size.
        let part_key_size = key.len() + PART_NUMBER_SIZE;
        let sizes = {
            let mut walk = start;
            let store: &Self = self;
            SizeList::new(
                (0..header.part_count)
                    .map(|part| {
                        let old = store.part_bytes(db, key, part);
                        let mut sizing = Out {
                            target: None,
                            size: 0,
                        };
                        let count = walk.compose(old, &mut sizing, &mut |_| {});
                        walk.part(old, &mut |_| {}, &mut |_| {});
                        (count, sizing.size)
                    })
                    .filter(|&(count, _)| count > 0)
                    .map(|(_, size)| item::item_size(part_key_size, size, 0)),
            )
        };
        self.header_room(db, key, sizes.iter(), 0, now, log)?;
        visit(Popped::Count(popped));
        let mut walk = start;
        for part in 0..header.part_count {
            let before = walk;
            let (count, size) = {
                let old = self.part_bytes(db, key, part);
                let mut sizing = Out {
                    target: None,
                    size: 0,
                };
                let count = walk.compose(old, &mut sizing, &mut |_| {});
                walk.part(old, &mut |_| {}, &mut |_| {});
                (count, sizing.size)
            };
            if count == 0 {
                continue;
            }
            self.part_write(db, &mut part_key, part, None, size, log, |old, out| {
                before.compose(old, out, &mut |member| visit(Popped::Member(member)));
            })?;
        }
        let shrunk = Header {
            len: header.len - popped as u64,
            ..header
        };
        self.header_write(db, key, shrunk, None, now, log)
    }

    /// Turns the compact set `lookup` found (or none) at `key` into a large one of
    /// `length` members holding its members and each new one of `members`: one part per
    /// [`PART_ELEMENTS_TARGET`] members, each composed from the old value and the
    /// members, then the header over the old item.
    #[expect(
        clippy::too_many_arguments,
        reason = "SADD's arguments and the new length"
    )]
    pub(super) fn set_convert<'m, M>(
        &mut self,
        db: u8,
        key: &[u8],
        lookup: Lookup,
        length: u64,
        members: &M,
        now: Timestamp,
        log: &mut impl LogSink,
    ) -> Result<(), StoreError>
    where
        M: Iterator<Item = &'m [u8]> + Clone,
    {
        let mut part_key = PartKey::new(key).ok_or(StoreError::KeyTooLarge)?;
        let part_count = u32::try_from(length.div_ceil(PART_ELEMENTS_TARGET).max(1))
            .map_err(|_| StoreError::CollectionTooLarge)?;
        let header = Header {
            type_byte: TYPE_LARGE_SET,
            len: length,
            part_count,
            seed: self.random(),
            chain: crate::store::large::Chain::default(),
            tree: crate::store::large::Tree::default(),
        };
        let existed = lookup.found.is_some();
        // The members of part `part`: the old value's there, then the new ones.
        let compose = |old: &[u8], part: u32, out: &mut Out<'_>| {
            let absent = |member: &[u8]| old.is_empty() || !SetView::new(old).contains(member);
            compose_part(
                old,
                &|member| header.part_of(member) == part,
                &|visit| {
                    for (index, member) in members.clone().enumerate() {
                        if header.part_of(member) == part
                            && first_of(members, index, member)
                            && absent(member)
                        {
                            visit(member);
                        }
                    }
                },
                out,
            );
        };
        let size_of = |store: &Self, part: u32| {
            let mut sizing = Out {
                target: None,
                size: 0,
            };
            compose(store.compact_old_value(db, key, existed), part, &mut sizing);
            sizing.size
        };
        if (0..part_count).any(|part| size_of(self, part) > self.config.value_size_max as usize) {
            return Err(StoreError::CollectionTooLarge);
        }
        let part_key_size = key.len() + PART_NUMBER_SIZE;
        let sizes = SizeList::new(
            (0..part_count).map(|part| item::item_size(part_key_size, size_of(self, part), 0)),
        );
        let new_keys = part_count as usize + usize::from(!existed);
        self.header_room(db, key, sizes.iter(), new_keys, now, log)?;
        if existed && self.find_live(db, key, now).is_none() {
            // Making room evicted the set itself: memory cannot hold its new version.
            return Err(StoreError::OutOfMemory);
        }
        for part in 0..part_count {
            let size = size_of(self, part);
            let source = self.compact_old_range(db, key, existed);
            self.part_write(
                db,
                &mut part_key,
                part,
                Some(source),
                size,
                log,
                |old, out| compose(old, part, out),
            )?;
        }
        self.header_write(db, key, header, None, now, log)
    }
}

/// The part `keep` after a split to `grown`'s part count: the members of the source part
/// whose address is `keep`.
fn compose_split(old: &[u8], grown: Header, keep: u32, out: &mut Out<'_>) {
    let keeps =
        |member: &[u8]| address(crate::hash::wyhash(member, grown.seed), grown.part_count) == keep;
    compose_part(old, &keeps, &|_| {}, out);
}
