//! Tests of the simulator's collection model: canonical bytes, reading back, refusals,
//! and plans that keep their promises (replies and collections afterwards).
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use super::*;

#[test]
fn canonical_bytes_ignore_the_order_a_store_keeps() {
    let first = collect(
        CollectionType::Hash,
        vec![b"b".to_vec(), b"2".to_vec(), b"a".to_vec(), b"1".to_vec()],
    )
    .unwrap();
    let second = collect(
        CollectionType::Hash,
        vec![b"a".to_vec(), b"1".to_vec(), b"b".to_vec(), b"2".to_vec()],
    )
    .unwrap();
    assert_eq!(first.canonical(), second.canonical());
    assert!(first.canonical().starts_with(b"#h"));
    // A list's order is its value.
    let forward = collect(CollectionType::List, vec![b"a".to_vec(), b"b".to_vec()]).unwrap();
    let backward = collect(CollectionType::List, vec![b"b".to_vec(), b"a".to_vec()]).unwrap();
    assert_ne!(forward.canonical(), backward.canonical());
    // Types differ even with the same elements.
    let set = collect(CollectionType::Set, vec![b"a".to_vec(), b"b".to_vec()]).unwrap();
    assert_ne!(set.canonical(), forward.canonical());
}

#[test]
fn a_broken_read_is_refused() {
    let twice = collect(CollectionType::Set, vec![b"a".to_vec(), b"a".to_vec()]);
    assert!(twice.unwrap_err().contains("twice"));
    let odd = collect(CollectionType::Hash, vec![b"a".to_vec()]);
    assert!(odd.unwrap_err().contains("odd"));
    let disorder = collect(
        CollectionType::Zset,
        vec![b"b".to_vec(), b"2".to_vec(), b"a".to_vec(), b"1".to_vec()],
    );
    assert!(disorder.unwrap_err().contains("out of order"));
    let score = collect(CollectionType::Zset, vec![b"a".to_vec(), b"x".to_vec()]);
    assert!(score.unwrap_err().contains("score"));
    assert!(bulks(b":1\r\n").is_err());
    assert!(bulks(b"*1\r\n:1\r\n").is_err());
    assert!(bulks(b"*1\r\n$1\r\na\r\nextra").is_err());
    assert_eq!(bulks(b"*1\r\n$1\r\na\r\n").unwrap(), vec![b"a".to_vec()]);
}

#[test]
fn refusals_are_the_store_errors_a_write_may_meet() {
    assert_eq!(
        refusal(b"-OOM command not allowed\r\n"),
        Some(StoreError::OutOfMemory)
    );
    assert_eq!(
        refusal(b"-WRONGTYPE Operation against a key\r\n"),
        Some(StoreError::WrongType)
    );
    assert_eq!(
        refusal(b"-ERR hash exceeds the maximum size of an item\r\n"),
        Some(StoreError::CollectionTooLarge)
    );
    assert_eq!(refusal(b"-ERR syntax error\r\n"), None);
    assert_eq!(refusal(b":1\r\n"), None);
}

/// Plans keep their promises on the model's side: a plan's reply and its collection
/// afterwards agree with what the command means, and collections grow.
#[test]
fn plans_grow_collections_past_the_thresholds() {
    let mut rng = Prng::new(7);
    let mut config = Config::new(1 << 20, 1024);
    thresholds_draw(&mut rng, &mut config);
    for kind in CollectionType::ALL {
        let mut collection = kind.empty();
        let mut grew_large = false;
        for op_id in 1..400 {
            let plan = plan(&mut rng, &collection, b"k", op_id);
            assert!(!plan.reply.is_empty());
            assert_eq!(plan.after.kind(), kind);
            collection = plan.after;
            grew_large |= collection.len() > 40;
        }
        assert!(grew_large, "{kind:?} never passed 40 elements");
    }
}

/// SMOVE and LMOVE take one element from the source and give it to the target (or
/// back to the source, for one key); a missing source moves nothing.
#[test]
fn moves_follow_redis() {
    let mut rng = Prng::new(11);
    let set =
        |members: &[&str]| Collection::Set(members.iter().map(|m| m.as_bytes().to_vec()).collect());
    for _ in 0..50 {
        let source = set(&["1", "2", "3"]);
        let target = set(&["3", "9"]);
        let plan = move_plan(&mut rng, &source, Some(&target), b"a", b"b");
        let moved = plan.reply == integer(1);
        let (Collection::Set(left), Some(Collection::Set(right))) =
            (&plan.after, &plan.target_after)
        else {
            unreachable!("sets stay sets");
        };
        let member = &plan.args[3];
        assert_eq!(moved, !left.contains(member) && right.contains(member));
        assert_eq!(left.len() + usize::from(moved), 3);
        let same = move_plan(&mut rng, &source, None, b"a", b"a");
        assert_eq!(same.after, source);
        assert!(same.target_after.is_none());
    }
    let list = |elements: &[&str]| {
        Collection::List(elements.iter().map(|e| e.as_bytes().to_vec()).collect())
    };
    let empty = move_plan(&mut rng, &list(&[]), Some(&list(&["x"])), b"a", b"b");
    assert_eq!(empty.reply, b"$-1\r\n");
    assert_eq!(empty.target_after, Some(list(&["x"])));
    for _ in 0..20 {
        let plan = move_plan(
            &mut rng,
            &list(&["p", "q"]),
            Some(&list(&["x"])),
            b"a",
            b"b",
        );
        let Some(Collection::List(target)) = &plan.target_after else {
            unreachable!("lists stay lists");
        };
        assert_eq!(plan.after.len(), 1);
        assert_eq!(target.len(), 2);
        let from_head = plan.args[3] == b"LEFT";
        let to_head = plan.args[4] == b"LEFT";
        let element: &[u8] = if from_head { b"p" } else { b"q" };
        assert_eq!(plan.reply, bulk(element));
        let landed = if to_head {
            target.front()
        } else {
            target.back()
        };
        assert_eq!(landed.map(Vec::as_slice), Some(element));
        // One key: the element goes round.
        let rotated = move_plan(&mut rng, &list(&["p", "q"]), None, b"a", b"a");
        assert_eq!(rotated.after.len(), 2);
    }
}

#[test]
fn list_plans_follow_redis() {
    let mut rng = Prng::new(3);
    let mut list = CollectionType::List.empty();
    for op_id in 1..2_000 {
        let before = list.clone();
        let plan = plan(&mut rng, &list, b"k", op_id);
        let (Collection::List(old), Collection::List(new)) = (&before, &plan.after) else {
            unreachable!("a list stays a list");
        };
        match plan.name {
            "lpush" | "rpush" | "linsert" => {
                assert!(new.len() > old.len());
                assert_eq!(plan.reply, integer(new.len()));
            }
            "ltrim" => assert!(new.len() + 4 >= old.len() && new.len() <= old.len()),
            "lset" => assert_eq!(new.len(), old.len()),
            "lpop" => assert_eq!(new.iter().collect::<Vec<_>>(), {
                let dropped = old.len() - new.len();
                old.iter().skip(dropped).collect::<Vec<_>>()
            }),
            "rpop" => assert!(old.iter().zip(new.iter()).all(|(a, b)| a == b)),
            other => unreachable!("a list plan named {other}"),
        }
        list = plan.after;
    }
}
