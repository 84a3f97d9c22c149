//! The cluster commands: `CLUSTER MYID | INFO | SLOTS | SHARDS | NODES | KEYSLOT |
//! COUNTKEYSINSLOT | GETKEYSINSLOT | SETSLOTMAP`, and `READONLY`, `READWRITE`, `ASKING`,
//! with Redis 7's reply shapes and error texts.
//!
//! `CLUSTER SETSLOTMAP <id> <host> <port> <ranges> [...]` is floe's own: it replaces the
//! whole map (see [`super::map`]) and is what `floe cluster create` sends to every node.
//! `COUNTKEYSINSLOT` and `GETKEYSINSLOT` walk every key, of every type (floe keeps no
//! per-slot index): O(keys), under the store's locks, like KEYS.
//!
//! Without cluster mode every one of them answers Redis's
//! `ERR This instance has cluster support disabled`.

use floe_core::codec::resp::{ReplySink, ReplyWriter};
use floe_core::slot::{SLOT_COUNT, key_slot};

use super::Cluster;
use super::map::{Migration, SlotMap};
use crate::db::Db;

/// `CLUSTER HELP`: the subcommands floe answers.
const HELP: [&str; 12] = [
    "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "COUNTKEYSINSLOT <slot>: the number of keys in <slot> (walks every key).",
    "GETKEYSINSLOT <slot> <count>: up to <count> key names in <slot> (walks every key).",
    "INFO: information about the cluster.",
    "KEYSLOT <key>: the hash slot of <key>.",
    "MYID: this node's id.",
    "NODES: the cluster's nodes, as Redis's nodes.conf lines.",
    "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>): set \
     hash slot state.",
    "SETSLOTMAP <id> <host> <port> <ranges> [...]: (floe) replace the whole slot map.",
    "SHARDS: the cluster's shards: their slots and nodes.",
    "SLOTS: the slot ranges and the node serving each.",
    "HELP: this text.",
];

/// Runs one cluster command (`args[0]` is CLUSTER, READONLY, READWRITE or ASKING).
pub fn run<S: ReplySink + ?Sized>(
    cluster: Option<&Cluster>,
    db: &Db,
    args: &[&[u8]],
    reply: &mut ReplyWriter<'_, S>,
) {
    let Some(cluster) = cluster else {
        reply.error(b"ERR This instance has cluster support disabled");
        return;
    };
    let name = args.first().copied().unwrap_or_default();
    if !name.eq_ignore_ascii_case(b"cluster") {
        // READONLY, READWRITE, ASKING: accepted; with no replicas and no migration they
        // change nothing.
        reply.simple(b"OK");
        return;
    }
    let sub = args
        .get(1)
        .copied()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let count = args.len();
    let arity_ok = match sub.as_slice() {
        b"myid" | b"info" | b"slots" | b"shards" | b"nodes" | b"help" => count == 2,
        b"keyslot" | b"countkeysinslot" => count == 3,
        b"getkeysinslot" => count == 4,
        b"setslotmap" => count >= 6,
        b"setslot" => count >= 4,
        _ => {
            let text = format!(
                "ERR unknown subcommand '{}'. Try CLUSTER HELP.",
                String::from_utf8_lossy(args.get(1).copied().unwrap_or_default())
            );
            reply.error(text.as_bytes());
            return;
        }
    };
    if !arity_ok {
        let text = format!(
            "ERR wrong number of arguments for 'cluster|{}' command",
            String::from_utf8_lossy(&sub)
        );
        reply.error(text.as_bytes());
        return;
    }
    let arg = |index: usize| args.get(index).copied().unwrap_or_default();
    match sub.as_slice() {
        b"help" => {
            reply.array_header(HELP.len());
            for line in HELP {
                reply.simple(line.as_bytes());
            }
        }
        b"myid" => reply.bulk(cluster.id().as_bytes()),
        b"keyslot" => reply.integer(i64::from(key_slot(arg(2)))),
        b"info" => reply.verbatim(*b"txt", info_text(cluster).as_bytes()),
        b"nodes" => reply.verbatim(*b"txt", nodes_text(cluster).as_bytes()),
        b"slots" => slots(cluster, reply),
        b"shards" => shards(cluster, reply),
        b"countkeysinslot" => match parse_slot(arg(2)) {
            Ok(slot) => {
                let mut found = 0_i64;
                db.keys_with(|key| {
                    if key_slot(key) == slot {
                        found += 1;
                    }
                });
                reply.integer(found);
            }
            Err(text) => reply.error(text),
        },
        b"getkeysinslot" => get_keys_in_slot(db, arg(2), arg(3), reply),
        b"setslot" => match set_slot(cluster, db, args) {
            Ok(()) => reply.simple(b"OK"),
            Err(message) => reply.error(format!("ERR {message}").as_bytes()),
        },
        _ => match SlotMap::parse(args.get(2..).unwrap_or_default())
            .and_then(|map| cluster.set_map(map))
        {
            Ok(()) => reply.simple(b"OK"),
            Err(message) => reply.error(format!("ERR {message}").as_bytes()),
        },
    }
}

/// `CLUSTER SETSLOT <slot> MIGRATING <id> | IMPORTING <id> | STABLE | NODE <id>`, with
/// Redis's checks and errors (without the `ERR`); the new state is on disk before `Ok`.
fn set_slot(cluster: &Cluster, db: &Db, args: &[&[u8]]) -> Result<(), String> {
    let slot = floe_core::store::parse_integer(args.get(2).copied().unwrap_or_default())
        .and_then(|slot| u16::try_from(slot).ok())
        .filter(|slot| *slot < SLOT_COUNT)
        .ok_or("Invalid or out of range slot")?;
    let action = args
        .get(3)
        .copied()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let node = String::from_utf8_lossy(args.get(4).copied().unwrap_or_default()).into_owned();
    let me = cluster.id().to_owned();
    // Counted before the map's lock is taken: the request path takes the map's lock under
    // the store's locks, so the two are never taken in the other order.
    let mut keys_in_slot = 0usize;
    if action == b"node" {
        db.keys_with(|key| {
            keys_in_slot += usize::from(key_slot(key) == slot);
        });
    }
    cluster.update_map(|map| {
        let mut next = map.clone();
        let owner = map.owner(slot).map(|owner| owner.id.clone());
        let known = map.node_index(&node).is_some();
        match (action.as_slice(), args.len()) {
            (b"migrating", 5) => {
                if owner.as_deref() != Some(me.as_str()) {
                    return Err(format!("I'm not the owner of hash slot {slot}"));
                }
                if !known {
                    return Err(format!("I don't know about node {node}"));
                }
                next.set_migration(slot, Some((Migration::Migrating, node.clone())));
            }
            (b"importing", 5) => {
                if owner.as_deref() == Some(me.as_str()) {
                    return Err(format!("I'm already the owner of hash slot {slot}"));
                }
                if !known {
                    return Err(format!("I don't know about node {node}"));
                }
                next.set_migration(slot, Some((Migration::Importing, node.clone())));
            }
            (b"stable", 4) => next.set_migration(slot, None),
            (b"node", 5) => {
                if !known {
                    return Err(format!("Unknown node {node}"));
                }
                if owner.as_deref() == Some(me.as_str()) && node != me && keys_in_slot != 0 {
                    return Err(format!(
                        "Can't assign hashslot {slot} to a different node while I still hold \
                         keys for this hash slot."
                    ));
                }
                next = map.with_owner(slot, &node)?;
            }
            _ => {
                return Err(
                    "Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP"
                        .to_owned(),
                );
            }
        }
        Ok(next)
    })
}

/// A slot argument, as Redis's `getSlotOrReply` reads it.
fn parse_slot(text: &[u8]) -> Result<u16, &'static [u8]> {
    let value = floe_core::store::parse_integer(text)
        .ok_or(b"ERR value is not an integer or out of range".as_slice())?;
    u16::try_from(value)
        .ok()
        .filter(|slot| *slot < SLOT_COUNT)
        .ok_or(b"ERR Invalid slot".as_slice())
}

fn get_keys_in_slot<S: ReplySink + ?Sized>(
    db: &Db,
    slot: &[u8],
    count: &[u8],
    reply: &mut ReplyWriter<'_, S>,
) {
    let integer_error = b"ERR value is not an integer or out of range";
    let (Some(slot), Some(count)) = (
        floe_core::store::parse_integer(slot),
        floe_core::store::parse_integer(count),
    ) else {
        reply.error(integer_error);
        return;
    };
    let slot = u16::try_from(slot).ok().filter(|slot| *slot < SLOT_COUNT);
    let (Some(slot), Ok(count)) = (slot, usize::try_from(count)) else {
        reply.error(b"ERR Invalid slot or number of keys");
        return;
    };
    let mut keys = Vec::new();
    db.keys_with(|key| {
        if keys.len() < count && key_slot(key) == slot {
            keys.push(key.to_vec());
        }
    });
    reply.array_header(keys.len());
    for key in &keys {
        reply.bulk(key);
    }
}

fn info_text(cluster: &Cluster) -> String {
    let map = cluster.map();
    let (state, assigned) = if map.is_empty() {
        ("fail", 0)
    } else {
        ("ok", SLOT_COUNT)
    };
    let known = map.nodes().len().max(1);
    let size = map.nodes().len();
    format!(
        "cluster_state:{state}\r\ncluster_slots_assigned:{assigned}\r\n\
         cluster_slots_ok:{assigned}\r\ncluster_slots_pfail:0\r\ncluster_slots_fail:0\r\n\
         cluster_known_nodes:{known}\r\ncluster_size:{size}\r\ncluster_current_epoch:0\r\n\
         cluster_my_epoch:0\r\ncluster_stats_messages_sent:0\r\n\
         cluster_stats_messages_received:0\r\ntotal_cluster_links_buffer_limit_exceeded:0\r\n"
    )
}

/// `CLUSTER NODES`: one line per node, as Redis writes them; the bus port is shown as 0
/// (floe has no cluster bus).
fn nodes_text(cluster: &Cluster) -> String {
    let map = cluster.map();
    if map.is_empty() {
        return format!(
            "{} :{}@0 myself,master - 0 0 0 connected\n",
            cluster.id(),
            cluster.port()
        );
    }
    let mut text = String::new();
    for (index, node) in map.nodes().iter().enumerate() {
        let flags = if node.id == cluster.id() {
            "myself,master"
        } else {
            "master"
        };
        let mut slots = map.ranges_text(index, " ");
        if node.id == cluster.id() {
            // Redis shows this node's migrations after its slots.
            for (slot, state, other) in map.migrations() {
                let arrow = match state {
                    Migration::Migrating => "->-",
                    Migration::Importing => "-<-",
                };
                slots.push_str(&format!(" [{slot}{arrow}{other}]"));
            }
        }
        text.push_str(&format!(
            "{} {}:{}@0 {flags} - 0 0 0 connected {slots}\n",
            node.id, node.host, node.port,
        ));
    }
    text
}

/// `CLUSTER SLOTS`: `[start, end, [host, port, id, {}]]` per run of slots.
fn slots<S: ReplySink + ?Sized>(cluster: &Cluster, reply: &mut ReplyWriter<'_, S>) {
    let map = cluster.map();
    reply.array_header(map.ranges().len());
    for range in map.ranges() {
        let Some(node) = map.nodes().get(range.node) else {
            unreachable!("a range's node is in the map");
        };
        reply.array_header(3);
        reply.integer(i64::from(range.start));
        reply.integer(i64::from(range.end));
        reply.array_header(4);
        reply.bulk(node.host.as_bytes());
        reply.integer(i64::from(node.port));
        reply.bulk(node.id.as_bytes());
        reply.map_header(0);
    }
}

/// `CLUSTER SHARDS`: per node (each is a shard of one primary), its slots and itself.
fn shards<S: ReplySink + ?Sized>(cluster: &Cluster, reply: &mut ReplyWriter<'_, S>) {
    let map = cluster.map();
    reply.array_header(map.nodes().len());
    for (index, node) in map.nodes().iter().enumerate() {
        let ranges: Vec<_> = map
            .ranges()
            .iter()
            .filter(|range| range.node == index)
            .collect();
        reply.map_header(2);
        reply.bulk(b"slots");
        reply.array_header(ranges.len() * 2);
        for range in ranges {
            reply.integer(i64::from(range.start));
            reply.integer(i64::from(range.end));
        }
        reply.bulk(b"nodes");
        reply.array_header(1);
        reply.map_header(7);
        reply.bulk(b"id");
        reply.bulk(node.id.as_bytes());
        reply.bulk(b"port");
        reply.integer(i64::from(node.port));
        reply.bulk(b"ip");
        reply.bulk(node.host.as_bytes());
        reply.bulk(b"endpoint");
        reply.bulk(node.host.as_bytes());
        reply.bulk(b"role");
        reply.bulk(b"master");
        reply.bulk(b"replication-offset");
        reply.integer(0);
        reply.bulk(b"health");
        reply.bulk(b"online");
    }
}
