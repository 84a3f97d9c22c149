//! Pub/sub: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, their UNSUBSCRIBEs, PUBLISH, SPUBLISH and
//! PUBSUB, for RESP clients on every worker.
//!
//! ```text
//!  PUBLISH (any worker) ─► registry (read lock): channel → mailboxes, patterns → mailboxes
//!                          └► each subscriber's Mailbox: the message, encoded in the
//!                             subscriber's protocol, appended under its own mutex; the
//!                             mailbox put on its worker's ready list, the worker woken
//!  owning worker, each loop pass ─► Worker::deliver: every ready mailbox drained into its
//!                                   connection's output, behind what is already queued
//! ```
//!
//! Invariants: a subscriber is in the registry from its first subscription until it has
//! none, or closes, or RESETs; one publisher's messages reach each subscriber in publish
//! order (a publish appends to every mailbox before it returns); a publisher never waits
//! for a subscriber: a mailbox (and a connection's queued output) over
//! `client-output-buffer-limit-pubsub` drops the message, and the subscriber is closed
//! through the CLIENT KILL path, with one log line. A message is appended behind replies
//! already queued on the connection, held ones included, so a subscriber never sees a
//! message before the reply to a command it sent earlier; an (UN)SUBSCRIBE or RESET moves
//! its mailbox's messages ahead of its reply while it holds the registry's write lock, so
//! no message follows the reply that ends a subscription. Messages are not durable (as in
//! Redis). A publisher that is itself a subscriber gets its own message straight into its
//! reply, before PUBLISH's count, as Redis sends it. PUBLISH and PUBSUB also run inside
//! MULTI ([`run_queued`]).
//!
//! Floe has no cluster, so the shard commands (SSUBSCRIBE, SPUBLISH, PUBSUB SHARDCHANNELS,
//! SHARDNUMSUB) work on their own set of channels, as a standalone Redis does.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use floe_core::codec::resp::{Protocol, ReplyWriter};
use floe_core::glob::glob_match;

use super::Worker;
use super::clients::{ClientInfo, Clients};
use crate::acl::User;
use crate::admin::Admin;
use crate::db::{KeyEvent, NOTIFY_KEYEVENT, NOTIFY_KEYSPACE};

/// Which kind of subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// SUBSCRIBE: one channel by name.
    Channel,
    /// PSUBSCRIBE: every channel a glob pattern matches.
    Pattern,
    /// SSUBSCRIBE: a shard channel by name (SPUBLISH reaches only these).
    Shard,
}

impl Kind {
    /// The reply words of a subscription and its end.
    fn words(self) -> (&'static [u8], &'static [u8]) {
        match self {
            Self::Channel => (b"subscribe", b"unsubscribe"),
            Self::Pattern => (b"psubscribe", b"punsubscribe"),
            Self::Shard => (b"ssubscribe", b"sunsubscribe"),
        }
    }
}

/// One subscribed client's queue of encoded messages, drained by its worker.
#[derive(Debug)]
pub(super) struct Mailbox {
    info: Arc<ClientInfo>,
    /// The connection's index in its worker's table.
    token: usize,
    /// Message frames not yet moved to the connection.
    queue: Mutex<Vec<u8>>,
    /// On its worker's ready list (set and cleared under `queue`'s lock).
    ready: AtomicBool,
    /// Over the limit: takes no more messages; the client is being closed.
    over: AtomicBool,
}

/// A client's subscriptions.
#[derive(Debug)]
struct Subscriber {
    mailbox: Arc<Mailbox>,
    channels: BTreeSet<Vec<u8>>,
    patterns: BTreeSet<Vec<u8>>,
    shard_channels: BTreeSet<Vec<u8>>,
}

impl Subscriber {
    fn set(&mut self, kind: Kind) -> &mut BTreeSet<Vec<u8>> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard_channels,
        }
    }

    /// The count a (P)SUBSCRIBE reply carries: channels and patterns (Redis counts shard
    /// channels apart).
    fn count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Channel | Kind::Pattern => self.channels.len() + self.patterns.len(),
            Kind::Shard => self.shard_channels.len(),
        }
    }

    fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.patterns.is_empty() && self.shard_channels.is_empty()
    }
}

/// Name (channel or pattern) → its subscribers' mailboxes, by client id.
type Members = HashMap<Vec<u8>, BTreeMap<u64, Arc<Mailbox>>>;

/// Everything the lock guards.
#[derive(Debug, Default)]
struct Registry {
    channels: Members,
    patterns: Members,
    shard_channels: Members,
    subscribers: HashMap<u64, Subscriber>,
}

impl Registry {
    fn members(&mut self, kind: Kind) -> &mut Members {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard_channels,
        }
    }

    /// Client `id`'s subscriptions of `kind`, by name.
    fn names(&mut self, id: u64, kind: Kind) -> Vec<Vec<u8>> {
        self.subscribers
            .get_mut(&id)
            .map(|subscriber| subscriber.set(kind).iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Removes `name` of `kind` from client `id`'s subscriptions (nothing if it had not).
    fn remove(&mut self, id: u64, kind: Kind, name: &[u8]) {
        let Some(subscriber) = self.subscribers.get_mut(&id) else {
            return;
        };
        if !subscriber.set(kind).remove(name) {
            return;
        }
        let members = self.members(kind);
        if let Some(mailboxes) = members.get_mut(name) {
            mailboxes.remove(&id);
            if mailboxes.is_empty() {
                members.remove(name);
            }
        }
    }
}

/// Every subscription of every worker's clients.
#[derive(Debug)]
pub(super) struct PubSub {
    registry: RwLock<Registry>,
    /// Where INFO reads the counts of channels, patterns and shard channels.
    admin: Arc<Admin>,
    /// Per worker: the mailboxes with messages to move to their connections.
    ready: Vec<Mutex<Vec<Arc<Mailbox>>>>,
}

impl PubSub {
    pub(super) fn new(worker_count: usize, admin: Arc<Admin>) -> Self {
        Self {
            registry: RwLock::new(Registry::default()),
            admin,
            ready: (0..worker_count).map(|_| Mutex::new(Vec::new())).collect(),
        }
    }

    /// SUBSCRIBE, PSUBSCRIBE or SSUBSCRIBE of `names` for the client `info` (its
    /// connection `token`): one reply frame per name in `protocol`, with the client's
    /// count after it, behind the messages still in its mailbox.
    pub(super) fn subscribe(
        &self,
        (info, token): (&Arc<ClientInfo>, usize),
        kind: Kind,
        names: &[&[u8]],
        protocol: Protocol,
        reply: &mut Vec<u8>,
    ) {
        let mut registry = write(&self.registry);
        take_pending(&registry, info.id, reply);
        let reply = &mut ReplyWriter::new(reply, protocol);
        let subscriber = registry
            .subscribers
            .entry(info.id)
            .or_insert_with(|| Subscriber {
                mailbox: Arc::new(Mailbox {
                    info: Arc::clone(info),
                    token,
                    queue: Mutex::new(Vec::new()),
                    ready: AtomicBool::new(false),
                    over: AtomicBool::new(false),
                }),
                channels: BTreeSet::new(),
                patterns: BTreeSet::new(),
                shard_channels: BTreeSet::new(),
            });
        let mailbox = Arc::clone(&subscriber.mailbox);
        let mut added = Vec::new();
        for name in names {
            if subscriber.set(kind).insert(name.to_vec()) {
                added.push(*name);
            }
            write_event(reply, kind.words().0, Some(name), subscriber.count(kind));
        }
        let members = registry.members(kind);
        for name in added {
            members
                .entry(name.to_vec())
                .or_default()
                .insert(info.id, Arc::clone(&mailbox));
        }
        publish_counts(&registry, info);
        self.count_names(&registry);
    }

    /// UNSUBSCRIBE, PUNSUBSCRIBE or SUNSUBSCRIBE of `names` (none: every one of `kind`)
    /// for client `info`: one reply frame per name in `protocol`, or one with a null name
    /// when the client had none, behind the messages still in its mailbox (so no message
    /// follows the reply that ends the last subscription).
    pub(super) fn unsubscribe(
        &self,
        info: &Arc<ClientInfo>,
        kind: Kind,
        names: &[&[u8]],
        protocol: Protocol,
        reply: &mut Vec<u8>,
    ) {
        let mut registry = write(&self.registry);
        take_pending(&registry, info.id, reply);
        let reply = &mut ReplyWriter::new(reply, protocol);
        let all: Vec<Vec<u8>>;
        let names: Vec<&[u8]> = if names.is_empty() {
            all = registry.names(info.id, kind);
            all.iter().map(Vec::as_slice).collect()
        } else {
            names.to_vec()
        };
        if names.is_empty() {
            let count = registry
                .subscribers
                .get(&info.id)
                .map_or(0, |subscriber| subscriber.count(kind));
            write_event(reply, kind.words().1, None, count);
        }
        for name in names {
            registry.remove(info.id, kind, name);
            let count = registry
                .subscribers
                .get(&info.id)
                .map_or(0, |subscriber| subscriber.count(kind));
            write_event(reply, kind.words().1, Some(name), count);
        }
        if registry
            .subscribers
            .get(&info.id)
            .is_some_and(Subscriber::is_empty)
        {
            registry.subscribers.remove(&info.id);
        }
        publish_counts(&registry, info);
        self.count_names(&registry);
    }

    /// Drops every subscription of client `info` (it closed, or RESET), without replies;
    /// returns the messages still in its mailbox, which were published before (RESET
    /// sends them ahead of its reply, as Redis would have).
    pub(super) fn forget(&self, info: &ClientInfo) -> Vec<u8> {
        let mut pending = Vec::new();
        if info.subscription_count() == 0 {
            return pending;
        }
        let mut registry = write(&self.registry);
        take_pending(&registry, info.id, &mut pending);
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            for name in registry.names(info.id, kind) {
                registry.remove(info.id, kind, &name);
            }
        }
        registry.subscribers.remove(&info.id);
        info.set_subscription_counts(0, 0, 0);
        self.count_names(&registry);
        pending
    }

    /// Publishes the counts of names with a subscriber for INFO.
    fn count_names(&self, registry: &Registry) {
        let counts = [
            registry.channels.len(),
            registry.patterns.len(),
            registry.shard_channels.len(),
        ];
        for (slot, count) in self.admin.pubsub_counts.iter().zip(counts) {
            slot.store(count as u64, Ordering::Relaxed);
        }
    }

    /// PUBLISH (`shard`: SPUBLISH) of `message` on `channel` by client `publisher`:
    /// queues it for every subscriber and returns how many there were. The publisher's
    /// own copy (when it is a subscriber) goes to `own` at once. A mailbox past
    /// `limit` bytes drops it, and its client is closed.
    pub(super) fn publish(
        &self,
        clients: &Clients,
        publisher: u64,
        (channel, message): (&[u8], &[u8]),
        shard: bool,
        limit: u64,
        own: &mut Vec<u8>,
    ) -> usize {
        let registry = read(&self.registry);
        let mut count = 0;
        let direct = if shard {
            &registry.shard_channels
        } else {
            &registry.channels
        };
        let word: &[u8] = if shard { b"smessage" } else { b"message" };
        for mailbox in direct.get(channel).into_iter().flat_map(BTreeMap::values) {
            count += 1;
            self.deliver(clients, mailbox, publisher, limit, own, |writer| {
                writer.push_header(3);
                writer.bulk(word);
                writer.bulk(channel);
                writer.bulk(message);
            });
        }
        if shard {
            return count;
        }
        for (pattern, mailboxes) in &registry.patterns {
            if !glob_match(pattern, channel) {
                continue;
            }
            for mailbox in mailboxes.values() {
                count += 1;
                self.deliver(clients, mailbox, publisher, limit, own, |writer| {
                    writer.push_header(4);
                    writer.bulk(b"pmessage");
                    writer.bulk(pattern);
                    writer.bulk(channel);
                    writer.bulk(message);
                });
            }
        }
        count
    }

    /// Appends one message, written by `frame` in the subscriber's protocol, to its
    /// mailbox (or to `own` for the publisher itself), and wakes its worker.
    fn deliver(
        &self,
        clients: &Clients,
        mailbox: &Arc<Mailbox>,
        publisher: u64,
        limit: u64,
        own: &mut Vec<u8>,
        frame: impl FnOnce(&mut ReplyWriter<'_, Vec<u8>>),
    ) {
        let protocol = match mailbox.info.resp.load(Ordering::Relaxed) {
            3 => Protocol::Resp3,
            _ => Protocol::Resp2,
        };
        if mailbox.info.id == publisher {
            frame(&mut ReplyWriter::new(own, protocol));
            return;
        }
        if mailbox.over.load(Ordering::Relaxed) {
            return;
        }
        let mut queue = lock(&mailbox.queue);
        frame(&mut ReplyWriter::new(&mut *queue, protocol));
        if queue.len() as u64 > limit {
            // The worker has not even moved the messages to the connection: drop them
            // all, the client is closed anyway.
            queue.clear();
            drop(queue);
            self.overflow(clients, mailbox, limit);
            return;
        }
        let newly_ready = !mailbox.ready.swap(true, Ordering::AcqRel);
        drop(queue);
        if newly_ready && let Some(ready) = self.ready.get(mailbox.info.worker) {
            lock(ready).push(Arc::clone(mailbox));
            clients.wake(mailbox.info.worker);
        }
    }

    /// Closes a subscriber whose queued output passed `limit`, once, with a log line.
    pub(super) fn overflow(&self, clients: &Clients, mailbox: &Mailbox, limit: u64) {
        if mailbox.over.swap(true, Ordering::AcqRel) {
            return;
        }
        tracing::warn!(
            "client id={} addr={} closed: its pub/sub output passed \
             client-output-buffer-limit-pubsub ({limit} bytes); it reads too slowly",
            mailbox.info.id,
            mailbox.info.addr
        );
        clients.close_soon(&mailbox.info);
    }

    /// Closes the connections logged in as `user` with a channel, pattern or shard
    /// channel it may no longer use (after ACL SETUSER), each on its worker's next turn
    /// as CLIENT KILL does, except `caller`'s: returns whether it is one (it closes once
    /// its reply is out).
    pub(super) fn close_denied(&self, clients: &Clients, user: &User, caller: u64) -> bool {
        let registry = read(&self.registry);
        let mut caller_closes = false;
        for (id, subscriber) in &registry.subscribers {
            if !subscriber.mailbox.info.user_is(user.name()) {
                continue;
            }
            let denied = subscriber
                .channels
                .iter()
                .chain(&subscriber.shard_channels)
                .any(|channel| !user.may_use_channel(channel, false))
                || subscriber
                    .patterns
                    .iter()
                    .any(|pattern| !user.may_use_channel(pattern, true));
            if !denied {
                continue;
            }
            if *id == caller {
                caller_closes = true;
            } else {
                clients.close_soon(&subscriber.mailbox.info);
            }
        }
        caller_closes
    }

    /// Worker `worker`'s mailboxes with messages, each emptied into `target(token, info,
    /// bytes)`.
    pub(super) fn take_ready(
        &self,
        worker: usize,
        mut target: impl FnMut(&Mailbox, usize, &ClientInfo, &[u8]),
    ) {
        let Some(ready) = self.ready.get(worker) else {
            return;
        };
        let mailboxes = std::mem::take(&mut *lock(ready));
        for mailbox in mailboxes {
            let bytes = {
                let mut queue = lock(&mailbox.queue);
                mailbox.ready.store(false, Ordering::Release);
                std::mem::take(&mut *queue)
            };
            if !bytes.is_empty() {
                target(&mailbox, mailbox.token, &mailbox.info, &bytes);
            }
        }
    }

    /// PUBSUB CHANNELS / SHARDCHANNELS: the channels with a subscriber, those matching
    /// `pattern` only when given.
    pub(super) fn channels(&self, shard: bool, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        let registry = read(&self.registry);
        let members = if shard {
            &registry.shard_channels
        } else {
            &registry.channels
        };
        let mut names: Vec<Vec<u8>> = members
            .keys()
            .filter(|name| pattern.is_none_or(|pattern| glob_match(pattern, name)))
            .cloned()
            .collect();
        names.sort();
        names
    }

    /// PUBSUB NUMSUB / SHARDNUMSUB: the subscriber count of `channel`.
    pub(super) fn subscriber_count(&self, shard: bool, channel: &[u8]) -> usize {
        let registry = read(&self.registry);
        let members = if shard {
            &registry.shard_channels
        } else {
            &registry.channels
        };
        members.get(channel).map_or(0, BTreeMap::len)
    }

    /// PUBSUB NUMPAT: patterns with a subscriber.
    pub(super) fn pattern_count(&self) -> usize {
        read(&self.registry).patterns.len()
    }
}

/// PUBSUB HELP's lines, as Redis 7 prints them.
const HELP: [&str; 14] = [
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

/// Runs one pub/sub command for the RESP client `info` (its connection `token`), whose
/// arity the command table checked (argument 0 says which command), writing every reply
/// frame it makes to `reply` in `protocol`.
pub(super) fn run(
    worker: &Worker,
    (info, token): (&Arc<ClientInfo>, usize),
    protocol: Protocol,
    args: &[&[u8]],
    reply: &mut Vec<u8>,
) {
    let pubsub = &worker.shared.pubsub;
    let name = args
        .first()
        .copied()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let rest = args.get(1..).unwrap_or_default();
    let kind = match name.as_slice() {
        b"subscribe" | b"unsubscribe" => Kind::Channel,
        b"psubscribe" | b"punsubscribe" => Kind::Pattern,
        b"ssubscribe" | b"sunsubscribe" => Kind::Shard,
        b"publish" | b"spublish" => {
            // The publisher's own copy goes before the count, as Redis sends it.
            let mut count = Vec::new();
            publish(worker, info.id, args, protocol, (&mut count, reply));
            reply.append(&mut count);
            return;
        }
        _ => {
            introspect(pubsub, rest, &mut ReplyWriter::new(reply, protocol));
            return;
        }
    };
    if name.ends_with(b"unsubscribe") {
        pubsub.unsubscribe(info, kind, rest, protocol, reply);
    } else {
        pubsub.subscribe((info, token), kind, rest, protocol, reply);
    }
}

/// PUBLISH or SPUBLISH (`args`, whose arity the table checked) by client `publisher`: the
/// receiver count to `reply` and the publisher's own copy, if it is a subscriber, to `own`,
/// in `protocol`.
fn publish(
    worker: &Worker,
    publisher: u64,
    args: &[&[u8]],
    protocol: Protocol,
    (reply, own): (&mut Vec<u8>, &mut Vec<u8>),
) {
    let name = args.first().copied().unwrap_or_default();
    let channel = args.get(1).copied().unwrap_or_default();
    let message = args.get(2).copied().unwrap_or_default();
    let limit = worker
        .admin
        .limits
        .pubsub_output_buffer_size_max
        .load(Ordering::Relaxed);
    let count = worker.shared.pubsub.publish(
        &worker.shared.clients,
        publisher,
        (channel, message),
        name.eq_ignore_ascii_case(b"spublish"),
        limit,
        own,
    );
    ReplyWriter::new(reply, protocol).integer(i64::try_from(count).unwrap_or(i64::MAX));
}

/// Publishes keyspace events (collected under `flags`, see `db/notify.rs`) as Redis does:
/// each on `__keyspace@<db>__:<key>` with the event's name when `K` is on, and on
/// `__keyevent@<db>__:<name>` with the key when `E` is on. No client publishes them, so
/// every subscriber, the writer included, gets them through its mailbox.
pub(super) fn publish_keyspace_events(
    pubsub: &PubSub,
    clients: &Clients,
    limit: u64,
    (events, flags): (&[KeyEvent], u16),
) {
    let mut channel = Vec::new();
    let mut own = Vec::new();
    for event in events {
        if flags & NOTIFY_KEYSPACE != 0 {
            channel.clear();
            channel.extend_from_slice(format!("__keyspace@{}__:", event.db).as_bytes());
            channel.extend_from_slice(&event.key);
            let message = event.name.as_bytes();
            pubsub.publish(
                clients,
                NO_CLIENT,
                (&channel, message),
                false,
                limit,
                &mut own,
            );
        }
        if flags & NOTIFY_KEYEVENT != 0 {
            channel.clear();
            channel
                .extend_from_slice(format!("__keyevent@{}__:{}", event.db, event.name).as_bytes());
            pubsub.publish(
                clients,
                NO_CLIENT,
                (&channel, &event.key),
                false,
                limit,
                &mut own,
            );
        }
    }
}

/// The publisher id of keyspace events: no client has it.
const NO_CLIENT: u64 = u64::MAX;

/// A pub/sub command queued in MULTI, run by EXEC under the shard locks: PUBLISH,
/// SPUBLISH and PUBSUB write their one reply frame to `reply` (the publisher's own copy
/// of a message to `own`, sent after EXEC's reply) and return `true`; the (UN)SUBSCRIBEs
/// return `false` (refused inside MULTI in floe).
pub(super) fn run_queued(
    worker: &Worker,
    publisher: u64,
    args: &[&[u8]],
    protocol: Protocol,
    (reply, own): (&mut Vec<u8>, &mut Vec<u8>),
) -> bool {
    let name = args.first().copied().unwrap_or_default();
    if name.eq_ignore_ascii_case(b"publish") || name.eq_ignore_ascii_case(b"spublish") {
        publish(worker, publisher, args, protocol, (reply, own));
        return true;
    }
    if name.eq_ignore_ascii_case(b"pubsub") {
        let rest = args.get(1..).unwrap_or_default();
        introspect(
            &worker.shared.pubsub,
            rest,
            &mut ReplyWriter::new(reply, protocol),
        );
        return true;
    }
    false
}

/// The error Redis gives a PUBSUB queued in MULTI before it runs (an unknown subcommand,
/// or a wrong argument count for NUMPAT or HELP), which fails the transaction; `None` for
/// every other command.
pub(super) fn queue_error(args: &[&[u8]]) -> Option<String> {
    let name = args.first().copied().unwrap_or_default();
    if !name.eq_ignore_ascii_case(b"pubsub") {
        return None;
    }
    subcommand_error(args.get(1..).unwrap_or_default())
}

/// PUBSUB's errors that Redis finds from its command table, before the subcommand runs
/// (`args`: the subcommand and its arguments).
fn subcommand_error(args: &[&[u8]]) -> Option<String> {
    let sub = args.first().copied().unwrap_or_default();
    let lowered = sub.to_ascii_lowercase();
    match lowered.as_slice() {
        b"channels" | b"shardchannels" | b"numsub" | b"shardnumsub" => None,
        b"numpat" | b"help" if args.len() == 1 => None,
        b"numpat" | b"help" => Some(format!(
            "ERR wrong number of arguments for 'pubsub|{}' command",
            String::from_utf8_lossy(&lowered)
        )),
        _ => Some(format!(
            "ERR unknown subcommand '{}'. Try PUBSUB HELP.",
            String::from_utf8_lossy(sub)
        )),
    }
}

/// PUBSUB CHANNELS | NUMSUB | NUMPAT | SHARDCHANNELS | SHARDNUMSUB | HELP (`args`: the
/// subcommand and its arguments), with Redis's error texts.
fn introspect(pubsub: &PubSub, args: &[&[u8]], reply: &mut ReplyWriter<'_, Vec<u8>>) {
    if let Some(text) = subcommand_error(args) {
        reply.error(text.as_bytes());
        return;
    }
    let sub = args.first().copied().unwrap_or_default();
    let rest = args.get(1..).unwrap_or_default();
    let lowered = sub.to_ascii_lowercase();
    let count = |count: usize| i64::try_from(count).unwrap_or(i64::MAX);
    match lowered.as_slice() {
        b"channels" | b"shardchannels" if rest.len() <= 1 => {
            let names = pubsub.channels(lowered == b"shardchannels", rest.first().copied());
            reply.array_header(names.len());
            for name in &names {
                reply.bulk(name);
            }
        }
        b"channels" | b"shardchannels" => {
            let text = format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
                String::from_utf8_lossy(sub)
            );
            reply.error(text.as_bytes());
        }
        b"numsub" | b"shardnumsub" => {
            reply.array_header(rest.len() * 2);
            for channel in rest {
                reply.bulk(channel);
                reply.integer(count(
                    pubsub.subscriber_count(lowered == b"shardnumsub", channel),
                ));
            }
        }
        b"numpat" => reply.integer(count(pubsub.pattern_count())),
        _ => {
            reply.array_header(HELP.len());
            for line in HELP {
                reply.simple(line.as_bytes());
            }
        }
    }
}

/// Moves the messages in client `id`'s mailbox to `target`. Under the registry's write
/// lock no publisher can add one meanwhile, so a reply written after them follows every
/// message published before it. (The mailbox may stay on its worker's ready list, empty;
/// draining it then finds nothing.)
fn take_pending(registry: &Registry, id: u64, target: &mut Vec<u8>) {
    if let Some(subscriber) = registry.subscribers.get(&id) {
        target.append(&mut lock(&subscriber.mailbox.queue));
    }
}

/// One (un)subscribe reply frame: a push of the word, the name (null: none), the count.
fn write_event(
    reply: &mut ReplyWriter<'_, Vec<u8>>,
    word: &[u8],
    name: Option<&[u8]>,
    count: usize,
) {
    reply.push_header(3);
    reply.bulk(word);
    match name {
        Some(name) => reply.bulk(name),
        None => reply.null(),
    }
    reply.integer(i64::try_from(count).unwrap_or(i64::MAX));
}

/// Copies client `info`'s subscription counts to its [`ClientInfo`] (CLIENT LIST, the
/// RESP2 subscribed-mode check).
fn publish_counts(registry: &Registry, info: &ClientInfo) {
    let (channels, patterns, shard_channels) =
        registry
            .subscribers
            .get(&info.id)
            .map_or((0, 0, 0), |subscriber| {
                (
                    subscriber.channels.len(),
                    subscriber.patterns.len(),
                    subscriber.shard_channels.len(),
                )
            });
    info.set_subscription_counts(channels, patterns, shard_channels);
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}
