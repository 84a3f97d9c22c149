//! SMOVE: a member moved between two sets, in the same shard or across shards, with room
//! made in both stores before either write.

use super::super::shards::{Shards, shard_of};
use super::super::{LogSink, Store};
use crate::error::StoreError;
use crate::storage::item;
use crate::store::compact::ValueType;
use crate::time::Timestamp;

/// Moves `member` from the set at `source_key` to the set at `target_key` across the
/// shards (SMOVE) and returns whether it moved. A missing source moves nothing (whatever
/// the target holds); the same key on both sides answers whether it has the member.
///
/// # Errors
/// [`StoreError::WrongType`] if either key holds another type,
/// [`StoreError::CollectionTooLarge`], or a memory error.
pub fn set_move(
    shards: &mut dyn Shards<'_>,
    db: u8,
    source_key: &[u8],
    target_key: &[u8],
    member: &[u8],
    now: Timestamp,
    log: &mut impl LogSink,
) -> Result<bool, StoreError> {
    let source = shards.store_for(source_key);
    let Some(found) = source
        .collection_lookup(db, source_key, now, ValueType::Set)?
        .found
    else {
        return Ok(false);
    };
    let has_member = source.set_read(&found).contains(member);
    let target = shards.store_for(target_key);
    let target_has = target
        .collection_lookup(db, target_key, now, ValueType::Set)?
        .found
        .is_some_and(|found| target.set_read(&found).contains(member));
    if source_key == target_key || !has_member {
        return Ok(has_member);
    }
    // (Making room may evict the source under an eviction policy: the member then moves
    // out of a set that is gone, as when the target's own room-making evicts it.)
    move_room(shards, db, (source_key, target_key), member, now, log)?;
    let one = core::iter::once(member);
    shards
        .store_for(target_key)
        .set_add(db, target_key, one.clone(), now, log)?;
    if let Err(error) =
        shards
            .store_for(source_key)
            .set_remove(db, source_key, one.clone(), now, log)
    {
        if !target_has {
            // Put the target back as it was; a failure here leaves the member in both
            // sets, never in none.
            let _ = shards
                .store_for(target_key)
                .set_remove(db, target_key, one, now, log);
        }
        return Err(error);
    }
    Ok(true)
}

/// Room in both stores for SMOVE's two writes before either: the
/// member's removal from the source and its addition to the target, each counted from
/// above (a compact set's whole item plus the member, or a large set's part of the member
/// and its header; the addition twice, for a compact target that converts). Without it
/// the addition could succeed and the removal then find no room, leaving the member in
/// both sets with an `OOM` reply.
fn move_room(
    shards: &mut dyn Shards<'_>,
    db: u8,
    (source_key, target_key): (&[u8], &[u8]),
    member: &[u8],
    now: Timestamp,
    log: &mut impl LogSink,
) -> Result<(), StoreError> {
    let remove = shards
        .store_for(source_key)
        .set_write_bound(db, source_key, member, now);
    let add = shards
        .store_for(target_key)
        .set_write_bound(db, target_key, member, now);
    let count = shards.count();
    if shard_of(source_key, count) == shard_of(target_key, count) {
        return shards.store_for(source_key).ensure_room(
            [remove, add, add].into_iter(),
            2,
            now,
            log,
        );
    }
    shards
        .store_for(source_key)
        .ensure_room(core::iter::once(remove), 0, now, log)?;
    shards
        .store_for(target_key)
        .ensure_room([add, add].into_iter(), 2, now, log)
}

impl Store<'_> {
    /// An upper bound of the item bytes one write of `member` into or out of the set at
    /// `key` takes (see [`move_room`]).
    fn set_write_bound(&mut self, db: u8, key: &[u8], member: &[u8], now: Timestamp) -> usize {
        let slack = member.len() + 16;
        match self.find_live(db, key, now) {
            None => item::item_size(key.len(), slack, 0),
            Some(found) => {
                let expires_at = found.layout.expires_at;
                match self.header_of(&found) {
                    Some(header) => {
                        let part = self.part_bytes(db, key, header.part_of(member)).len();
                        item::item_size(key.len() + item::PART_NUMBER_SIZE, part + slack, 0)
                            + item::item_size(
                                key.len(),
                                crate::store::large::HEADER_SIZE_MAX,
                                expires_at,
                            )
                    }
                    None => {
                        item::item_size(key.len(), found.layout.value.len() + slack, expires_at)
                    }
                }
            }
        }
    }
}
