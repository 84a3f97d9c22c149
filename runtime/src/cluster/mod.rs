//! Cluster mode (`--cluster-enabled`): Redis Cluster's slot protocol over a static slot
//! map, so cluster clients (redis-rs, redis-py's `RedisCluster`, ...) route keys to the
//! node that serves them.
//!
//! ```text
//!  request with keys ─► Cluster::check ─► slots differ        ─► -CROSSSLOT ...
//!                                      ├► no node serves it   ─► -CLUSTERDOWN Hash slot not served
//!                                      ├► another node does   ─► -MOVED <slot> <host>:<port>
//!                                      └► this node does      ─► runs here
//! ```
//!
//! No gossip and no consensus: the map ([`map::SlotMap`]) is configuration an operator
//! pushes to every node (`floe cluster create`, which sends `CLUSTER SETSLOTMAP`), as
//! Dragonfly's managed mode does. A node keeps its id (generated once) and the last map
//! pushed to it in `cluster.conf` in the data directory, written whole to a temporary file,
//! fsynced and renamed, so a restart finds either the old file or the new one. A pushed
//! map must cover every slot exactly once; `CLUSTER SETSLOT` adds a slot's migration state
//! (MIGRATING / IMPORTING, kept in the same file), which `floe cluster move-slots`
//! ([`migrate`]) sets while it moves the slot's keys, and routing then answers `-ASK` and
//! `-TRYAGAIN` as Redis does. No replicas yet.
//!
//! Fault assumptions: `cluster.conf` may be missing (a new node: it gets a fresh id) or
//! damaged by hand (start fails, naming the line).

pub mod commands;
pub mod manage;
pub mod map;
pub mod migrate;

use std::cell::RefCell;
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use floe_core::command::{Arguments, lookup};
use floe_core::slot::key_slot;
use floe_core::store::parse_integer;

use map::{Migration, NODE_ID_SIZE, SlotMap};

/// Numbers [`Cluster`]s for [`MAP_CACHE`].
static INSTANCE_NEXT: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Per thread: the map a [`Cluster`] (by instance) had at a version.
    static MAP_CACHE: RefCell<Option<(u64, u64, Arc<SlotMap>)>> = const { RefCell::new(None) };
}

/// The file in the data directory that keeps the node's id and map.
pub const FILE_NAME: &str = "cluster.conf";

/// Why a request is not run on this node, in Redis's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The keys of one request (or one transaction) are in different slots.
    CrossSlot,
    /// Another node serves the keys' slot.
    Moved {
        /// The keys' slot.
        slot: u16,
        /// The serving node's host.
        host: String,
        /// The serving node's port.
        port: u16,
    },
    /// No node serves the slot (no map was pushed yet).
    Down,
    /// The slot is migrating from here and none of the keys is here any more: ask the
    /// target (`ASKING`, then the command).
    Ask {
        /// The keys' slot.
        slot: u16,
        /// The target node's host.
        host: String,
        /// The target node's port.
        port: u16,
    },
    /// The slot is migrating (or importing) and only some of the keys are here: a
    /// multi-key command must wait for the migration of the slot.
    TryAgain,
}

impl Refusal {
    /// The error reply's text, exactly as Redis words it.
    #[must_use]
    pub fn reply_text(&self) -> String {
        match self {
            Self::CrossSlot => "CROSSSLOT Keys in request don't hash to the same slot".to_owned(),
            Self::Moved { slot, host, port } => format!("MOVED {slot} {host}:{port}"),
            Self::Down => "CLUSTERDOWN Hash slot not served".to_owned(),
            Self::Ask { slot, host, port } => format!("ASK {slot} {host}:{port}"),
            Self::TryAgain => "TRYAGAIN Multiple keys request during rehashing of slot".to_owned(),
        }
    }
}

/// One node's cluster state: its id and the slot map it was given.
#[derive(Debug)]
pub struct Cluster {
    id: String,
    /// This node's own RESP port (CLUSTER NODES names it before a map arrives).
    port: u16,
    /// The current map, replaced whole (never changed in place).
    map: RwLock<Arc<SlotMap>>,
    /// Bumped after each replacement. A worker thread keeps the map it last read
    /// ([`MAP_CACHE`]) until this moves, so the request path reads one shared word and
    /// writes none (a read lock or an `Arc` clone per request would bounce a cache line
    /// between the workers).
    version: AtomicU64,
    /// This state's number, told apart in [`MAP_CACHE`] (tests run several in a process).
    instance: u64,
    /// `cluster.conf`, or `None` when persistence is off (nothing survives a restart).
    path: Option<PathBuf>,
}

impl Cluster {
    /// Opens the cluster state kept in `dir` (creating the directory and a new id when
    /// there is none); with `persist` false, a fresh id and an empty map that live in
    /// memory only.
    ///
    /// # Errors
    /// A message naming the file and what is wrong with it.
    pub fn open(dir: &Path, port: u16, persist: bool) -> Result<Self, String> {
        if !persist {
            return Ok(Self {
                id: new_id()?,
                port,
                map: RwLock::new(Arc::new(SlotMap::empty())),
                version: AtomicU64::new(0),
                instance: INSTANCE_NEXT.fetch_add(1, Ordering::Relaxed),
                path: None,
            });
        }
        let path = dir.join(FILE_NAME);
        let (id, map) = match std::fs::read_to_string(&path) {
            Ok(text) => parse_file(&text)
                .map_err(|message| format!("{}: {message}; fix or remove it", path.display()))?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let id = new_id()?;
                std::fs::create_dir_all(dir)
                    .map_err(|error| format!("cannot create `{}`: {error}", dir.display()))?;
                write_file(&path, &id, &SlotMap::empty())?;
                (id, SlotMap::empty())
            }
            Err(error) => return Err(format!("cannot read `{}`: {error}", path.display())),
        };
        Ok(Self {
            id,
            port,
            map: RwLock::new(Arc::new(map)),
            version: AtomicU64::new(0),
            instance: INSTANCE_NEXT.fetch_add(1, Ordering::Relaxed),
            path: Some(path),
        })
    }

    /// This node's id (`CLUSTER MYID`).
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// This node's RESP port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The current map.
    #[must_use]
    pub fn map(&self) -> Arc<SlotMap> {
        Arc::clone(&self.map.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Calls `read` with the current map, as this thread last saw it if the version has
    /// not moved since (see [`Cluster::version`]).
    fn with_map<R>(&self, read: impl FnOnce(&SlotMap) -> R) -> R {
        let version = self.version.load(Ordering::Acquire);
        MAP_CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            let fresh = matches!(
                &*cache,
                Some((instance, seen, _)) if *instance == self.instance && *seen == version
            );
            if !fresh {
                *cache = Some((self.instance, version, self.map()));
            }
            match &*cache {
                Some((_, _, map)) => read(map),
                None => unreachable!("the cache was filled above"),
            }
        })
    }

    /// Replaces the map with `map` once it is on disk.
    ///
    /// # Errors
    /// When the map does not name this node, or the file cannot be written (the old map
    /// stays).
    pub fn set_map(&self, map: SlotMap) -> Result<(), String> {
        if !map.nodes().iter().any(|node| node.id == self.id) {
            return Err(format!(
                "slot map refused: it does not name this node ({}); CLUSTER MYID gives each \
                 node's id",
                self.id
            ));
        }
        let mut current = self.map.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(path) = &self.path {
            write_file(path, &self.id, &map)?;
        }
        *current = Arc::new(map);
        // After the store: a thread that sees the new version reads the new map.
        self.version.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// Replaces the map with `change(current map)` once it is on disk (`CLUSTER SETSLOT`).
    /// The change runs under the map's lock, so two changes never lose one another.
    ///
    /// # Errors
    /// What `change` refuses, or the file cannot be written (the old map stays).
    pub fn update_map(
        &self,
        change: impl FnOnce(&SlotMap) -> Result<SlotMap, String>,
    ) -> Result<(), String> {
        let mut current = self.map.write().unwrap_or_else(PoisonError::into_inner);
        let map = change(&current)?;
        if let Some(path) = &self.path {
            write_file(path, &self.id, &map)?;
        }
        *current = Arc::new(map);
        self.version.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// Whether a slot is migrating or importing here: then routing depends on which keys
    /// exist, and the door checks again under the store's locks.
    #[must_use]
    pub fn has_migrations(&self) -> bool {
        self.with_map(SlotMap::has_migrations)
    }

    /// Why the request `args` cannot run on this node, as the error reply's text: its keys
    /// (by the command table's key specification) are in different slots or a slot this
    /// node does not serve, or it names a database other than 0 (cluster mode has one).
    /// `None`: it runs here. Unknown commands and wrong arities are left to the table.
    /// `asking`: the connection sent ASKING just before; `exists` says whether a key is
    /// here (asked only for a migrating or importing slot).
    #[must_use]
    pub fn refusal<A: Arguments + ?Sized>(
        &self,
        args: &A,
        asking: bool,
        exists: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Option<String> {
        let spec = lookup(args.get(0)?).filter(|spec| spec.accepts(args.count()))?;
        let keys = || {
            spec.key_indexes_of(args)
                .filter_map(|index| args.get(index))
        };
        if let Err(refusal) = self.route(keys, asking, exists) {
            return Some(refusal.reply_text());
        }
        let is = |index: usize, word: &str| {
            args.get(index)
                .is_some_and(|arg| arg.eq_ignore_ascii_case(word.as_bytes()))
        };
        let other_db = |index: usize| {
            args.get(index)
                .and_then(parse_integer)
                .is_some_and(|db| db != 0)
        };
        match spec.name() {
            "select" if other_db(1) => Some("ERR SELECT is not allowed in cluster mode".into()),
            "move" => Some("ERR MOVE is not allowed in cluster mode".into()),
            "swapdb" => Some("ERR SWAPDB is not allowed in cluster mode".into()),
            "copy" if (3..args.count()).any(|index| is(index, "db") && other_db(index + 1)) => {
                Some("ERR Copying to another database is not allowed in cluster mode".into())
            }
            _ => None,
        }
    }

    /// As [`Cluster::refusal`] for `EXEC`: the keys of every queued command must share one
    /// slot this node serves (Redis's CROSSSLOT across a transaction).
    #[must_use]
    pub fn refusal_of_transaction(
        &self,
        queued: &[Vec<Vec<u8>>],
        asking: bool,
        exists: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Option<String> {
        let mut keys: Vec<&[u8]> = Vec::new();
        for command in queued {
            let args: Vec<&[u8]> = command.iter().map(Vec::as_slice).collect();
            let Some(spec) = args
                .first()
                .and_then(|name| lookup(name))
                .filter(|spec| spec.accepts(args.len()))
            else {
                continue;
            };
            keys.extend(
                spec.key_indexes_of(args.as_slice())
                    .filter_map(|index| command.get(index).map(Vec::as_slice)),
            );
        }
        self.route(|| keys.iter().copied(), asking, exists)
            .err()
            .map(|refusal| refusal.reply_text())
    }

    /// Whether a request (or a transaction) with `keys` runs here.
    ///
    /// # Errors
    /// The [`Refusal`] to answer with.
    pub fn check<'k>(
        &self,
        keys: impl IntoIterator<Item = &'k [u8]> + Clone,
    ) -> Result<(), Refusal> {
        self.route(|| keys.clone(), false, &mut |_| true)
    }

    /// As [`Cluster::check`], with Redis's rules for a slot being migrated: on the source
    /// (`MIGRATING`) the command runs if all its keys are here, else `ASK` when none is,
    /// `TRYAGAIN` when some are; on the target (`IMPORTING`) it runs only after ASKING
    /// (`TRYAGAIN` for several keys not all here), else `MOVED` to the owner.
    ///
    /// # Errors
    /// The [`Refusal`] to answer with.
    pub fn route<'k, I: IntoIterator<Item = &'k [u8]>>(
        &self,
        keys: impl Fn() -> I,
        asking: bool,
        exists: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), Refusal> {
        let mut slot = None;
        for key in keys() {
            let this = key_slot(key);
            match slot {
                None => slot = Some(this),
                Some(first) if first != this => return Err(Refusal::CrossSlot),
                Some(_) => {}
            }
        }
        let Some(slot) = slot else {
            return Ok(());
        };
        let count = |exists: &mut dyn FnMut(&[u8]) -> bool| {
            let (mut present, mut missing) = (0usize, 0usize);
            for key in keys() {
                if exists(key) {
                    present += 1;
                } else {
                    missing += 1;
                }
            }
            (present, missing)
        };
        self.with_map(|map| match map.owner(slot) {
            None => Err(Refusal::Down),
            Some(node) if node.id == self.id => {
                let Some(target) = map.migrating_to(slot) else {
                    return Ok(());
                };
                match count(exists) {
                    (_, 0) => Ok(()),
                    (0, _) => Err(Refusal::Ask {
                        slot,
                        host: target.host.clone(),
                        port: target.port,
                    }),
                    _ => Err(Refusal::TryAgain),
                }
            }
            Some(_) if asking && map.is_importing(slot) => match count(exists) {
                (present, missing) if missing > 0 && present + missing > 1 => {
                    Err(Refusal::TryAgain)
                }
                _ => Ok(()),
            },
            Some(node) => Err(Refusal::Moved {
                slot,
                host: node.host.clone(),
                port: node.port,
            }),
        })
    }
}

/// A new node id: 40 random hex digits from the operating system.
fn new_id() -> Result<String, String> {
    let mut bytes = [0u8; NODE_ID_SIZE / 2];
    File::open("/dev/urandom")
        .and_then(|mut file| file.read_exact(&mut bytes))
        .map_err(|error| format!("cannot read /dev/urandom for a node id: {error}"))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Reads `cluster.conf`: `myid <id>`, then `node <id> <host> <port> <ranges>` lines.
fn parse_file(text: &str) -> Result<(String, SlotMap), String> {
    let mut id = None;
    let mut words: Vec<&[u8]> = Vec::new();
    let mut migrations = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        match (parts.next(), parts.clone().count()) {
            (Some("myid"), 1) => {
                let value = parts.next().unwrap_or_default();
                let valid = value.len() == NODE_ID_SIZE
                    && value
                        .bytes()
                        .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
                if !valid {
                    return Err(format!("line {}: `{value}` is not a node id", index + 1));
                }
                id = Some(value.to_owned());
            }
            (Some("node"), 4) => words.extend(parts.map(str::as_bytes)),
            (Some(kind @ ("migrating" | "importing")), 2) => {
                let slot = parts.next().and_then(|slot| slot.parse::<u16>().ok());
                let id = parts.next().unwrap_or_default().to_owned();
                let Some(slot) = slot.filter(|slot| *slot < floe_core::slot::SLOT_COUNT) else {
                    return Err(format!("line {}: not a slot", index + 1));
                };
                let state = if kind == "migrating" {
                    Migration::Migrating
                } else {
                    Migration::Importing
                };
                migrations.push((slot, state, id));
            }
            _ => {
                return Err(format!(
                    "line {}: expected `myid <id>`, `node <id> <host> <port> <ranges>` or \
                     `migrating|importing <slot> <id>`",
                    index + 1
                ));
            }
        }
    }
    let id = id.ok_or("no `myid` line")?;
    let mut map = if words.is_empty() {
        SlotMap::empty()
    } else {
        SlotMap::parse(&words)?
    };
    for (slot, state, node) in migrations {
        if map.node_index(&node).is_none() {
            return Err(format!(
                "slot {slot} migrates with node {node}, not in the map"
            ));
        }
        map.set_migration(slot, Some((state, node)));
    }
    Ok((id, map))
}

/// Writes `cluster.conf` whole: a temporary file, fsync, rename over the old one, fsync
/// of the directory; so a crash leaves the old file or the new one.
fn write_file(path: &Path, id: &str, map: &SlotMap) -> Result<(), String> {
    let mut text = String::from(
        "# floe cluster state: this node's id and the slot map pushed to it (CLUSTER \
         SETSLOTMAP).\n# Written by floe; edit only while floe is stopped.\n",
    );
    text.push_str(&format!("myid {id}\n"));
    for group in map.to_words().chunks(4) {
        text.push_str(&format!("node {}\n", group.join(" ")));
    }
    for (slot, state, node) in map.migrations() {
        let kind = match state {
            Migration::Migrating => "migrating",
            Migration::Importing => "importing",
        };
        text.push_str(&format!("{kind} {slot} {node}\n"));
    }
    let temporary = path.with_extension("conf.tmp");
    let failed = |error: std::io::Error| format!("cannot write `{}`: {error}", path.display());
    let mut file = File::create(&temporary).map_err(failed)?;
    file.write_all(text.as_bytes()).map_err(failed)?;
    file.sync_all().map_err(failed)?;
    drop(file);
    std::fs::rename(&temporary, path).map_err(failed)?;
    if let Some(dir) = path.parent() {
        File::open(dir)
            .and_then(|dir| dir.sync_all())
            .map_err(failed)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use map::Node;

    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("floe-cluster-{name}-{}", std::process::id()));
        let _removed = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn the_id_and_map_survive_a_reopen() {
        let dir = dir("reopen");
        let cluster = Cluster::open(&dir, 7000, true).expect("opens");
        let id = cluster.id().to_owned();
        assert_eq!(id.len(), NODE_ID_SIZE);
        assert_eq!(cluster.check([b"foo".as_slice()]), Err(Refusal::Down));
        let other = "f".repeat(NODE_ID_SIZE);
        let map = SlotMap::new(vec![
            (
                Node {
                    id: id.clone(),
                    host: "127.0.0.1".to_owned(),
                    port: 7000,
                },
                vec![(0, 8191)],
            ),
            (
                Node {
                    id: other.clone(),
                    host: "127.0.0.1".to_owned(),
                    port: 7001,
                },
                vec![(8192, 16383)],
            ),
        ])
        .expect("valid");
        cluster.set_map(map.clone()).expect("set");
        // This thread read the empty map above: the new version makes it read again.
        assert_eq!(cluster.check([b"bar".as_slice()]), Ok(()));
        let other_thread = std::thread::scope(|scope| {
            scope
                .spawn(|| cluster.check([b"bar".as_slice()]))
                .join()
                .expect("the thread")
        });
        assert_eq!(other_thread, Ok(()));
        drop(cluster);
        let reopened = Cluster::open(&dir, 7000, true).expect("reopens");
        assert_eq!(reopened.id(), id);
        assert_eq!(*reopened.map(), map);
        // foo is slot 12182, served by the other node; bar is 5061, here.
        assert_eq!(
            reopened.check([b"foo".as_slice()]),
            Err(Refusal::Moved {
                slot: 12182,
                host: "127.0.0.1".to_owned(),
                port: 7001
            })
        );
        assert_eq!(reopened.check([b"bar".as_slice()]), Ok(()));
        assert_eq!(
            reopened.check([b"bar".as_slice(), b"foo"]),
            Err(Refusal::CrossSlot)
        );
        assert_eq!(reopened.check([b"{bar}1".as_slice(), b"{bar}2"]), Ok(()));
        assert_eq!(reopened.check([]), Ok(()));
        // Keys counted by an argument (ZUNIONSTORE's numkeys) are keys too.
        let zunionstore: [&[u8]; 5] = [b"ZUNIONSTORE", b"bar", b"2", b"{bar}1", b"foo"];
        assert_eq!(
            reopened
                .refusal(&zunionstore, false, &mut |_| true)
                .as_deref(),
            Some("CROSSSLOT Keys in request don't hash to the same slot")
        );
        let zunionstore: [&[u8]; 5] = [b"ZUNIONSTORE", b"bar", b"2", b"{bar}1", b"{bar}2"];
        assert_eq!(reopened.refusal(&zunionstore, false, &mut |_| true), None);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn a_map_without_this_node_or_a_damaged_file_is_refused() {
        let dir = dir("refused");
        let cluster = Cluster::open(&dir, 7000, true).expect("opens");
        let map = SlotMap::new(vec![(
            Node {
                id: "e".repeat(NODE_ID_SIZE),
                host: "h".to_owned(),
                port: 1,
            },
            vec![(0, 16383)],
        )])
        .expect("valid");
        let refused = cluster.set_map(map).expect_err("not this node");
        assert!(refused.contains("does not name this node"), "{refused}");
        assert!(cluster.map().is_empty());
        drop(cluster);
        std::fs::write(dir.join(FILE_NAME), "myid 123\n").expect("write");
        let refused = Cluster::open(&dir, 7000, true).expect_err("bad id");
        assert!(refused.contains("line 1"), "{refused}");
        std::fs::write(dir.join(FILE_NAME), "hello\n").expect("write");
        assert!(Cluster::open(&dir, 7000, true).is_err());
        std::fs::write(dir.join(FILE_NAME), "# nothing\n").expect("write");
        assert!(Cluster::open(&dir, 7000, true).is_err());
        // Migration lines: a slot out of range, or a node the map does not name.
        let id = "a".repeat(NODE_ID_SIZE);
        let head = format!("myid {id}\nnode {id} 127.0.0.1 7000 0-16383\n");
        std::fs::write(dir.join(FILE_NAME), format!("{head}migrating 16384 {id}\n"))
            .expect("write");
        let refused = Cluster::open(&dir, 7000, true).expect_err("bad slot");
        assert!(refused.contains("line 3: not a slot"), "{refused}");
        let stranger = "b".repeat(NODE_ID_SIZE);
        std::fs::write(
            dir.join(FILE_NAME),
            format!("{head}importing 5 {stranger}\n"),
        )
        .expect("write");
        let refused = Cluster::open(&dir, 7000, true).expect_err("unknown node");
        assert!(refused.contains("not in the map"), "{refused}");
        std::fs::write(dir.join(FILE_NAME), format!("{head}migrating 5 {id}\n")).expect("write");
        let reopened = Cluster::open(&dir, 7000, true).expect("a migrating slot");
        assert!(reopened.has_migrations());
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn refusals_read_as_redis_writes_them() {
        assert_eq!(
            Refusal::CrossSlot.reply_text(),
            "CROSSSLOT Keys in request don't hash to the same slot"
        );
        assert_eq!(
            Refusal::Down.reply_text(),
            "CLUSTERDOWN Hash slot not served"
        );
        let moved = Refusal::Moved {
            slot: 3999,
            host: "127.0.0.1".to_owned(),
            port: 6381,
        };
        assert_eq!(moved.reply_text(), "MOVED 3999 127.0.0.1:6381");
    }
}
