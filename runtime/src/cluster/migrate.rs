//! `floe cluster move-slots FROM TO SLOTS`: moves hash slots, keys included, from one node
//! to another while clients keep using them, in Redis Cluster's protocol (the one
//! `redis-cli --cluster reshard` drives), with DUMP/RESTORE and WATCH/MULTI/EXEC in place
//! of Redis's MIGRATE.
//!
//! ```text
//!  TO:   CLUSTER SETSLOT s IMPORTING <from>        (serves s after ASKING)
//!  FROM: CLUSTER SETSLOT s MIGRATING <to>          (ASK for keys it no longer has)
//!  per key k of CLUSTER GETKEYSINSLOT s on FROM:
//!    FROM: WATCH k; DUMP k; PTTL k
//!    TO:   ASKING; RESTORE k ttl payload REPLACE
//!    FROM: MULTI; DEL k; EXEC                      (aborted if k changed: copy again)
//!  then the new map (CLUSTER SETSLOTMAP) to TO, then FROM, then every other node,
//!  which clears the migration states
//! ```
//!
//! Why no acknowledged write is lost: a key is served by FROM until the EXEC that deletes
//! it there, which runs only if the key did not change since it was copied (WATCH), and
//! by TO after it (FROM answers ASK once it no longer has the key); at no moment do both
//! nodes accept writes for one key. FROM decides which keys it has under the same locks
//! as the command it routes, so a client's command cannot slip between a deletion and
//! its check. A key that disappears from FROM (deleted by a client, or expired) after it
//! was copied is deleted from TO again, but only if TO's copy is still the one copied
//! (compared by DUMP under WATCH), so a client's write there after an ASK stays.
//!
//! Every step is idempotent, so after either node is killed the same command, run again,
//! finishes the move: states are set again, keys still on FROM are copied again (RESTORE
//! REPLACE), and the map is pushed again. To undo a move, finish it, then move the slots
//! back (`move-slots TO FROM SLOTS`).

use super::manage::{Link, Value, split_address};
use super::map::{Node, SlotMap, parse_ranges};
use floe_core::slot::SLOT_COUNT;

/// Keys asked for per `CLUSTER GETKEYSINSLOT`.
const KEYS_PER_BATCH: usize = 100;

/// Copies of one key before the move gives up on it (each retry follows a client's write
/// to it; re-running the command carries on).
const KEY_ATTEMPTS_MAX: usize = 1000;

/// `floe cluster move-slots FROM TO SLOTS`: the report to print. Progress lines go to
/// `progress` as the move goes.
///
/// # Errors
/// A message naming the node and step that failed; the move can be run again.
pub fn move_slots(
    from: &str,
    to: &str,
    slots: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<String, String> {
    let ranges = parse_ranges(slots)?;
    if let Some((start, end)) = ranges.iter().find(|(start, end)| start > end) {
        return Err(format!(
            "slots {start}-{end}: a range runs from a slot up to one"
        ));
    }
    split_address(from)?;
    split_address(to)?;
    let mut source = Link::open(from)?;
    let mut target = Link::open(to)?;
    let from_id = text(&mut source, &[b"CLUSTER", b"MYID"])?;
    let to_id = text(&mut target, &[b"CLUSTER", b"MYID"])?;
    if from_id == to_id {
        return Err(format!("{from} and {to} are the same node"));
    }
    let map = map_of(&mut source)?;
    let mut moved_slots = Vec::new();
    for slot in ranges.iter().flat_map(|&(start, end)| start..=end) {
        match map.owner(slot).map(|node| node.id.as_str()) {
            Some(owner) if owner == from_id => moved_slots.push(slot),
            // Pushed by an earlier run that stopped before reaching every node.
            Some(owner) if owner == to_id => {}
            Some(owner) => {
                return Err(format!("slot {slot} is served by {owner}, not by {from}"));
            }
            None => return Err(format!("{from} has no slot map (run floe cluster create)")),
        }
    }
    let mut key_count = 0usize;
    for &slot in &moved_slots {
        key_count += move_slot(&mut source, &mut target, slot, (&from_id, &to_id), progress)?;
    }
    let next = reassigned(&map, &ranges, &to_id)?;
    push_map(
        &next,
        (&mut source, &from_id),
        (&mut target, &to_id),
        &ranges,
        progress,
    )?;
    Ok(format!(
        "OK: slots {slots} moved from {from} to {to} ({key_count} keys)\n"
    ))
}

/// Sets the slot's states and moves its keys; returns how many.
fn move_slot(
    source: &mut Link,
    target: &mut Link,
    slot: u16,
    (from_id, to_id): (&str, &str),
    progress: &mut dyn FnMut(&str),
) -> Result<usize, String> {
    let slot_text = slot.to_string();
    let importing = target.call(&[
        b"CLUSTER",
        b"SETSLOT",
        slot_text.as_bytes(),
        b"IMPORTING",
        from_id.as_bytes(),
    ])?;
    match importing {
        Value::Text(_) => {}
        // An earlier run pushed the new map to the target already: it serves the slot.
        Value::Error(message) if message.contains("already the owner") => {}
        other => return Err(unexpected(target, "CLUSTER SETSLOT IMPORTING", &other)),
    }
    ok(source.call(&[
        b"CLUSTER",
        b"SETSLOT",
        slot_text.as_bytes(),
        b"MIGRATING",
        to_id.as_bytes(),
    ])?)
    .map_err(|other| unexpected(source, "CLUSTER SETSLOT MIGRATING", &other))?;
    let mut moved = 0usize;
    loop {
        let count = KEYS_PER_BATCH.to_string();
        let keys = match source.call(&[
            b"CLUSTER",
            b"GETKEYSINSLOT",
            slot_text.as_bytes(),
            count.as_bytes(),
        ])? {
            Value::Array(keys) => keys,
            other => return Err(unexpected(source, "CLUSTER GETKEYSINSLOT", &other)),
        };
        if keys.is_empty() {
            break;
        }
        for key in keys {
            let Value::Text(key) = key else {
                return Err(unexpected(source, "CLUSTER GETKEYSINSLOT", &key));
            };
            move_key(source, target, &key)?;
            moved += 1;
        }
        progress(&format!("slot {slot}: {moved} keys moved"));
    }
    progress(&format!("slot {slot}: done, {moved} keys moved"));
    Ok(moved)
}

/// Moves one key: copies it to the target, then deletes it on the source if it did not
/// change since the copy, else copies again.
fn move_key(source: &mut Link, target: &mut Link, key: &[u8]) -> Result<(), String> {
    let mut copied: Option<Vec<u8>> = None;
    for _ in 0..KEY_ATTEMPTS_MAX {
        // WATCH, DUMP or PTTL of a key the source no longer has answers ASK.
        let watched = source.call(&[b"WATCH", key])?;
        let dumped = source.call(&[b"DUMP", key])?;
        let payload = match (&watched, &dumped) {
            (Value::Text(_), Value::Text(payload)) => Some(payload.clone()),
            (_, Value::Null) => None,
            (Value::Error(message), _) | (_, Value::Error(message)) if is_ask(message) => None,
            (Value::Error(message), _) => {
                return Err(unexpected(source, "WATCH", &Value::Error(message.clone())));
            }
            (_, other) => {
                let step = format!("DUMP {}", String::from_utf8_lossy(key));
                return Err(unexpected(source, &step, other));
            }
        };
        let ttl = match source.call(&[b"PTTL", key])? {
            Value::Integer(ttl) => ttl,
            _ => -2,
        };
        let Some(payload) = payload.filter(|_| ttl != -2) else {
            ok(source.call(&[b"UNWATCH"])?)
                .map_err(|other| unexpected(source, "UNWATCH", &other))?;
            // Gone from the source (deleted, or expired) after an earlier copy: that copy
            // must not outlive it.
            if let Some(copy) = copied {
                forget_copy(target, key, &copy)?;
            }
            return Ok(());
        };
        // -1: no expiry (RESTORE's 0); a key about to expire keeps at least 1 ms.
        let ttl = if ttl == -1 { 0 } else { ttl.max(1) };
        let ttl = ttl.to_string();
        ok(target.call(&[b"ASKING"])?).map_err(|other| unexpected(target, "ASKING", &other))?;
        let restored = target.call(&[b"RESTORE", key, ttl.as_bytes(), &payload, b"REPLACE"])?;
        ok(restored).map_err(|other| unexpected(target, "RESTORE", &other))?;
        copied = Some(payload);
        ok(source.call(&[b"MULTI"])?).map_err(|other| unexpected(source, "MULTI", &other))?;
        let _queued = source.call(&[b"DEL", key])?; // a refusal shows in EXEC's reply
        match source.call(&[b"EXEC"])? {
            Value::Array(replies) if replies == [Value::Integer(1)] => return Ok(()),
            // Null (the key changed), EXECABORT or ASK (it went meanwhile): look again.
            _ => {}
        }
    }
    Err(format!(
        "{}: key {} kept changing during {KEY_ATTEMPTS_MAX} copies; run the command again",
        source.address(),
        String::from_utf8_lossy(key)
    ))
}

/// Deletes the target's copy of `key` if it is still `copy` (a client's write since, which
/// an ASK sent there, stays).
fn forget_copy(target: &mut Link, key: &[u8], copy: &[u8]) -> Result<(), String> {
    ok(target.call(&[b"ASKING"])?).map_err(|other| unexpected(target, "ASKING", &other))?;
    ok(target.call(&[b"WATCH", key])?).map_err(|other| unexpected(target, "WATCH", &other))?;
    ok(target.call(&[b"ASKING"])?).map_err(|other| unexpected(target, "ASKING", &other))?;
    let current = target.call(&[b"DUMP", key])?;
    if current != Value::Text(copy.to_vec()) {
        ok(target.call(&[b"UNWATCH"])?).map_err(|other| unexpected(target, "UNWATCH", &other))?;
        return Ok(());
    }
    // ASKING holds through MULTI up to EXEC.
    ok(target.call(&[b"ASKING"])?).map_err(|other| unexpected(target, "ASKING", &other))?;
    ok(target.call(&[b"MULTI"])?).map_err(|other| unexpected(target, "MULTI", &other))?;
    let _queued = target.call(&[b"DEL", key])?;
    // A null reply: a client wrote the key meanwhile, and its write stays.
    let _executed = target.call(&[b"EXEC"])?;
    Ok(())
}

/// The source's map, read back from `CLUSTER SLOTS`.
fn map_of(link: &mut Link) -> Result<SlotMap, String> {
    let Value::Array(runs) = link.call(&[b"CLUSTER", b"SLOTS"])? else {
        return Err(format!(
            "{}: unexpected CLUSTER SLOTS reply",
            link.address()
        ));
    };
    let mut nodes: Vec<(Node, Vec<(u16, u16)>)> = Vec::new();
    for run in runs {
        let parsed = match run.clone() {
            Value::Array(parts) => match parts.as_slice() {
                [
                    Value::Integer(start),
                    Value::Integer(end),
                    Value::Array(node),
                    ..,
                ] => match node.as_slice() {
                    [Value::Text(host), Value::Integer(port), Value::Text(id), ..] => {
                        Some((*start, *end, host.clone(), *port, id.clone()))
                    }
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        };
        let (start, end, host, port, id) = parsed
            .ok_or_else(|| format!("{}: unexpected CLUSTER SLOTS entry {run:?}", link.address()))?;
        let slot = |value: i64| u16::try_from(value).ok().filter(|slot| *slot < SLOT_COUNT);
        let (Some(start), Some(end), Ok(port)) = (slot(start), slot(end), u16::try_from(port))
        else {
            return Err(format!(
                "{}: CLUSTER SLOTS entry out of range",
                link.address()
            ));
        };
        let id = String::from_utf8_lossy(&id).into_owned();
        match nodes.iter_mut().find(|(node, _)| node.id == id) {
            Some((_, ranges)) => ranges.push((start, end)),
            None => nodes.push((
                Node {
                    id,
                    host: String::from_utf8_lossy(&host).into_owned(),
                    port,
                },
                vec![(start, end)],
            )),
        }
    }
    if nodes.is_empty() {
        return Ok(SlotMap::empty());
    }
    SlotMap::new(nodes)
}

/// `map` with the slots of `ranges` given to the node `to_id` (a node that is left without
/// slots leaves the map).
fn reassigned(map: &SlotMap, ranges: &[(u16, u16)], to_id: &str) -> Result<SlotMap, String> {
    let mut next = map.clone();
    for slot in ranges.iter().flat_map(|&(start, end)| start..=end) {
        if next.owner(slot).is_some_and(|node| node.id != to_id) {
            next = next.with_owner(slot, to_id)?;
        }
    }
    Ok(next)
}

/// Pushes `next` to the target, then the source, then every other node of the map. A
/// source left without slots is told slot by slot (`SETSLOT NODE`): a map that does not
/// name a node is refused by it.
fn push_map(
    next: &SlotMap,
    (source, from_id): (&mut Link, &str),
    (target, _to_id): (&mut Link, &str),
    ranges: &[(u16, u16)],
    progress: &mut dyn FnMut(&str),
) -> Result<(), String> {
    let words = next.to_words();
    let mut args: Vec<&[u8]> = vec![b"CLUSTER", b"SETSLOTMAP"];
    args.extend(words.iter().map(String::as_bytes));
    ok(target.call(&args)?).map_err(|other| unexpected(target, "CLUSTER SETSLOTMAP", &other))?;
    progress(&format!("{}: new slot map", target.address()));
    if next.node_index(from_id).is_some() {
        ok(source.call(&args)?)
            .map_err(|other| unexpected(source, "CLUSTER SETSLOTMAP", &other))?;
    } else {
        let to_id = text(target, &[b"CLUSTER", b"MYID"])?;
        for slot in ranges.iter().flat_map(|&(start, end)| start..=end) {
            let slot = slot.to_string();
            let reply = source.call(&[
                b"CLUSTER",
                b"SETSLOT",
                slot.as_bytes(),
                b"NODE",
                to_id.as_bytes(),
            ])?;
            ok(reply).map_err(|other| unexpected(source, "CLUSTER SETSLOT NODE", &other))?;
        }
    }
    progress(&format!("{}: new slot map", source.address()));
    for node in next.nodes() {
        let address = format!("{}:{}", node.host, node.port);
        if node.id == from_id || address == target.address() || address == source.address() {
            continue;
        }
        let mut link = Link::open(&address)?;
        if node.id == text(&mut link, &[b"CLUSTER", b"MYID"])? {
            ok(link.call(&args)?)
                .map_err(|other| unexpected(&link, "CLUSTER SETSLOTMAP", &other))?;
            progress(&format!("{address}: new slot map"));
        }
    }
    Ok(())
}

/// A text reply, or an error naming the node.
fn text(link: &mut Link, args: &[&[u8]]) -> Result<String, String> {
    match link.call(args)? {
        Value::Text(text) => Ok(String::from_utf8_lossy(&text).into_owned()),
        other => Err(unexpected(
            link,
            &String::from_utf8_lossy(args.join(&b' ').as_slice()),
            &other,
        )),
    }
}

/// Whether an error reply is an `-ASK` (the source no longer has the key).
fn is_ask(message: &str) -> bool {
    message.starts_with("ASK ")
}

/// `Ok` for a `+OK` (or any text) reply; the reply otherwise.
fn ok(reply: Value) -> Result<(), Value> {
    match reply {
        Value::Text(_) => Ok(()),
        other => Err(other),
    }
}

fn unexpected(link: &Link, step: &str, reply: &Value) -> String {
    match reply {
        Value::Error(message) => format!("{}: {step}: {message}", link.address()),
        other => format!("{}: {step}: unexpected reply {other:?}", link.address()),
    }
}
