//! Tests of the large form beside the model test of `zset/tests.rs` (which runs both
//! forms): a regression, thousands of members through every write path with replay, and
//! a member too long for nodes.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    reason = "a test fails loudly; model numbers are small"
)]

use std::collections::BTreeMap;
use std::vec::Vec;

use crate::arena::Arena;
use crate::codec::record::{Body, LogRecord};
use crate::error::StoreError;
use crate::store::Config;
use crate::store::Store;
use crate::store::zset::combine::Aggregate;
use crate::store::zset::tests::{
    EncodedLog, Entries, NOW, Op, large_entries, run, state, with_config,
};
use crate::store::zset::{AddOptions, ScoreRange, ZsetRead, order};

/// A regression the model test found: an update of the only member of a large set (its
/// new entry goes in before the old one goes, so the tree is never empty).
#[test]
fn updating_the_last_member_of_a_large_set_after_pops() {
    let d = AddOptions::default();
    let ops = std::vec![
        Op::Rem(0, std::vec![0]),
        Op::Add(2, std::vec![(0, 4), (0, 5)], d),
        Op::Pop(2, 1, false),
        Op::Add(2, std::vec![(0, 8), (4, 0), (2, 9)], d),
        Op::Add(0, std::vec![(2, 7)], d),
        Op::UnionStore(3, std::vec![2, 0], Aggregate::Sum),
        Op::Add(3, std::vec![(0, 1), (2, 10)], d),
        Op::Pop(3, 3, true),
        Op::UnionStore(0, std::vec![3], Aggregate::Sum),
        Op::Pop(0, 3, false),
        Op::Add(0, std::vec![(4, 7)], d),
    ];
    run(&ops, true);
}

/// Thousands of members through every write path of the large form, checked against a
/// std model after each phase (structure, counts, index and order: `large_entries`), then
/// replayed from the log into a fresh store.
#[test]
fn a_large_set_of_thousands_follows_the_model_through_every_write_and_replays() {
    let mut config = Config::new(8 << 20, 16_384);
    config.zset_max_listpack_entries = 2;
    let mut memory = std::vec![0u8; config.arena_size()];
    let mut arena = Arena::from_buffer(&mut memory);
    let mut store = Store::new(&mut arena, config).expect("config fits");
    arena.freeze().expect("freeze");
    let mut log = EncodedLog::default();
    let mut model: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
    let mut seed = 7u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let check = |store: &Store<'_>, model: &BTreeMap<Vec<u8>, f64>| {
        let found = store.find(0, b"z").expect("present");
        let header = store.header_of(&found).expect("large");
        let mut expected: Entries = model.iter().map(|(m, s)| (m.clone(), *s)).collect();
        expected.sort_by(|(a, x), (b, y)| order(*x, a, *y, b));
        assert_eq!(large_entries(store, b"z", header), expected);
        header.tree.height
    };
    // Adds and updates, in batches of several pairs (some repeated).
    for _ in 0..600 {
        let pairs: Vec<(f64, Vec<u8>)> = (0..4)
            .map(|_| {
                let member = std::format!("member:{}", next() % 3000).into_bytes();
                ((next() % 500) as f64 - 250.0, member)
            })
            .collect();
        store
            .zset_add(
                0,
                b"z",
                pairs.iter().map(|(s, m)| (*s, &m[..])),
                AddOptions::default(),
                NOW,
                &mut log,
            )
            .expect("room");
        for (score, member) in &pairs {
            model.insert(member.clone(), *score);
        }
    }
    assert!(check(&store, &model) >= 3, "a tall tree");
    // Ranks, scores and windows read through ZsetRead agree with the model.
    let mut sorted: Entries = model.iter().map(|(m, s)| (m.clone(), *s)).collect();
    sorted.sort_by(|(a, x), (b, y)| order(*x, a, *y, b));
    {
        let zset = store.zset_view(0, b"z", NOW).unwrap().unwrap();
        assert!(matches!(zset, ZsetRead::Large(_)));
        assert_eq!(zset.len(), sorted.len());
        for (rank, (member, score)) in sorted.iter().enumerate().step_by(37) {
            let (found_rank, entry) = zset.find(member).expect("present");
            assert_eq!((found_rank, entry.score), (rank, *score));
        }
        let range = ScoreRange {
            min: -100.0,
            min_exclusive: true,
            max: 100.0,
            max_exclusive: false,
        };
        let window = zset.score_window(&range);
        let expected: Vec<usize> = (0..sorted.len())
            .filter(|&rank| range.above_min(sorted[rank].1) && range.below_max(sorted[rank].1))
            .collect();
        assert_eq!(window, expected[0]..expected[expected.len() - 1] + 1);
        let mut reversed = Vec::new();
        zset.visit(window.clone(), true, |entry| {
            reversed.push(entry.member.to_vec())
        });
        let mut forward: Vec<Vec<u8>> = sorted[window].iter().map(|(m, _)| m.clone()).collect();
        forward.reverse();
        assert_eq!(reversed, forward);
    }
    // Removals by member, pops from both ends and a range removal.
    for _ in 0..300 {
        let member = std::format!("member:{}", next() % 3000).into_bytes();
        let removed = store.zset_remove(0, b"z", core::iter::once(&member[..]), NOW, &mut log);
        assert_eq!(removed, Ok(usize::from(model.remove(&member).is_some())));
    }
    check(&store, &model);
    for max in [false, true] {
        let mut popped = Vec::new();
        let count = store
            .zset_remove_window(
                0,
                b"z",
                |zset| {
                    if max {
                        zset.len() - 50..zset.len()
                    } else {
                        0..50
                    }
                },
                max,
                NOW,
                &mut log,
                |m, s| popped.push((m.to_vec(), s)),
            )
            .expect("room");
        assert_eq!(count, 50);
        for (member, _) in &popped {
            assert!(model.remove(member).is_some());
        }
        let mut ordered = popped.clone();
        ordered.sort_by(|(a, x), (b, y)| order(*x, a, *y, b));
        if max {
            ordered.reverse();
        }
        assert_eq!(popped, ordered, "pops come in order");
    }
    let range = ScoreRange {
        min: -50.0,
        min_exclusive: false,
        max: 50.0,
        max_exclusive: false,
    };
    let removed = store
        .zset_remove_window(
            0,
            b"z",
            |zset| zset.score_window(&range),
            false,
            NOW,
            &mut log,
            |_, _| {},
        )
        .expect("room");
    let before = model.len();
    model.retain(|_, score| !(range.above_min(*score) && range.below_max(*score)));
    assert_eq!(removed, before - model.len());
    check(&store, &model);
    let final_state = state(&store, NOW);
    // The log replays into the same set.
    let mut memory = std::vec![0u8; config.arena_size()];
    let mut arena = Arena::from_buffer(&mut memory);
    let mut replica = Store::new(&mut arena, config).expect("config fits");
    arena.freeze().expect("freeze");
    let mut offset = 0;
    while offset < log.bytes.len() {
        let (record, size) = LogRecord::decode_bytes(&log.bytes[offset..]).expect("decodes");
        if let Body::Standalone(record) = record.body {
            replica.apply(&record, NOW).expect("replays");
        }
        offset += size as usize;
    }
    assert_eq!(replica.parts_collect(NOW), 0, "no part is left unowned");
    assert_eq!(state(&replica, NOW), final_state);
    // Popping everything removes every part with the key.
    let length = store.zset_view(0, b"z", NOW).unwrap().unwrap().len();
    let count = store
        .zset_remove_window(
            0,
            b"z",
            |zset| 0..zset.len(),
            false,
            NOW,
            &mut log,
            |_, _| {},
        )
        .expect("room");
    assert_eq!(count, length);
    let mut left = 0;
    store.items(NOW, |_, _, _, _, _| left += 1);
    assert_eq!(left, 0, "no part outlives the set");
}

/// A member too long for the nodes of a small store's large set is refused and changes
/// nothing; a compact set with such a member stays compact instead of converting.
#[test]
fn a_member_too_long_for_large_nodes_is_refused_or_keeps_the_set_compact() {
    with_config(64 * 1024, true, |store| {
        let mut log = EncodedLog::default();
        let small = [(1.0, &b"a"[..]), (2.0, b"b"), (3.0, b"c")];
        store
            .zset_add(
                0,
                b"z",
                small.into_iter(),
                AddOptions::default(),
                NOW,
                &mut log,
            )
            .expect("room");
        assert!(matches!(
            store.zset_view(0, b"z", NOW),
            Ok(Some(ZsetRead::Large(_)))
        ));
        let long = std::vec![b'm'; store.config().value_size_max as usize / 3];
        let before = state(store, NOW);
        let records = log.lsn;
        let result = store.zset_add(
            0,
            b"z",
            core::iter::once((4.0, &long[..])),
            AddOptions::default(),
            NOW,
            &mut log,
        );
        assert_eq!(result, Err(StoreError::CollectionTooLarge));
        assert_eq!(state(store, NOW), before);
        assert_eq!(log.lsn, records, "nothing logged");
        // Into a compact set, the member fits the item, and the set stays compact.
        store
            .zset_add(
                0,
                b"c",
                core::iter::once((1.0, &long[..])),
                AddOptions::default(),
                NOW,
                &mut log,
            )
            .expect("room");
        assert!(matches!(
            store.zset_view(0, b"c", NOW),
            Ok(Some(ZsetRead::Compact(_)))
        ));
    });
}

/// Under `noeviction`, a large set grows until memory is full: every write before is
/// whole, the refused one changes nothing, and the set reads back exactly; under an
/// eviction policy, writes keep going and every set left is whole.
#[test]
fn large_sets_fill_memory_then_are_refused_whole_or_evicted_whole() {
    for policy in [
        crate::storage::policy::EvictionPolicy::NoEviction,
        crate::storage::policy::EvictionPolicy::AllKeysLru,
    ] {
        let mut config = Config::new(512 * 1024, 8192);
        config.zset_max_listpack_entries = 2;
        config.policy = policy;
        let mut memory = std::vec![0u8; config.arena_size()];
        let mut arena = Arena::from_buffer(&mut memory);
        let mut store = Store::new(&mut arena, config).expect("config fits");
        arena.freeze().expect("freeze");
        let mut model: BTreeMap<(u8, Vec<u8>), f64> = BTreeMap::new();
        let mut refused = 0;
        for index in 0..20_000u32 {
            let key = [b'z', (index % 3) as u8];
            let member = std::format!("member-{:06}", (index * 7919) % 50_000).into_bytes();
            let score = f64::from(index % 1000);
            let result = store.zset_add(
                0,
                &key,
                core::iter::once((score, &member[..])),
                AddOptions::default(),
                NOW,
                &mut (),
            );
            match result {
                Ok(_) => {
                    model.insert((key[1], member), score);
                }
                Err(error) => {
                    assert!(
                        matches!(error, StoreError::OutOfMemory | StoreError::KeysFull),
                        "{error:?}"
                    );
                    refused += 1;
                }
            }
        }
        for which in 0..3u8 {
            let key = [b'z', which];
            let mut expected: Entries = model
                .iter()
                .filter(|((k, _), _)| *k == which)
                .map(|((_, m), s)| (m.clone(), *s))
                .collect();
            expected.sort_by(|(a, x), (b, y)| order(*x, a, *y, b));
            match store.find(0, &key) {
                Some(found) => {
                    let header = store.header_of(&found).expect("large");
                    let entries = large_entries(&store, &key, header);
                    if policy == crate::storage::policy::EvictionPolicy::NoEviction {
                        assert_eq!(entries, expected, "every acknowledged member");
                    } else {
                        // Evicted whole and written again since: a suffix of the writes.
                        assert!(entries.iter().all(|entry| expected.contains(entry)));
                    }
                }
                None => assert_ne!(
                    policy,
                    crate::storage::policy::EvictionPolicy::NoEviction,
                    "noeviction keeps every set"
                ),
            }
        }
        if policy == crate::storage::policy::EvictionPolicy::NoEviction {
            assert!(refused > 0, "memory filled up");
        } else {
            assert!(store.stats().evicted > 0, "eviction made room");
        }
    }
}
