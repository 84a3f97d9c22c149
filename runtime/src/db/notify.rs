//! Keyspace notifications on the Db's side (`notify-keyspace-events`): which classes are
//! on, the events one operation collects under its shard locks, and the publisher the
//! server installs to send them once the locks are released.
//!
//! ```text
//!  Db::run ─► ShardLog (events on: the flags, read once) ◄─ floe-core: Event per change
//!          └► after the run, locks released: Notify::publish(events) ─► the server's
//!             publisher: PUBLISH on __keyspace@<db>__:<key> and __keyevent@<db>__:<event>
//! ```
//!
//! Cost with the setting off: one atomic load per operation, one branch per record.
//! The flags are Redis's letters; [`parse_flags`] and [`format_flags`] read and write them
//! exactly as Redis 7.0 does (`KEA` reads back as `AKE`).

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, RwLock};

use floe_core::codec::record::Record;
use floe_core::store::LogSink;
use floe_core::store::event::{
    CLASS_EVICTED, CLASS_EXPIRED, CLASS_GENERIC, CLASS_HASH, CLASS_LIST, CLASS_SET, CLASS_STRING,
    CLASS_ZSET, Event,
};

/// `K`: publish on `__keyspace@<db>__:<key>`.
pub const NOTIFY_KEYSPACE: u16 = 1 << 0;
/// `E`: publish on `__keyevent@<db>__:<event>`.
pub const NOTIFY_KEYEVENT: u16 = 1 << 1;
/// `t`: stream commands (floe has no streams: accepted, never produced).
pub const NOTIFY_STREAM: u16 = 1 << 10;
/// `m`: key misses (accepted, not produced by floe).
pub const NOTIFY_KEY_MISS: u16 = 1 << 11;
/// `d`: module events (floe has no modules: accepted, never produced).
pub const NOTIFY_MODULE: u16 = 1 << 12;
/// `n`: new keys (accepted, not produced by floe).
pub const NOTIFY_NEW: u16 = 1 << 13;
/// `A`: every class but `m` and `n`, as in Redis.
pub const NOTIFY_ALL: u16 = CLASS_GENERIC
    | CLASS_STRING
    | CLASS_LIST
    | CLASS_SET
    | CLASS_HASH
    | CLASS_ZSET
    | CLASS_EXPIRED
    | CLASS_EVICTED
    | NOTIFY_STREAM
    | NOTIFY_MODULE;

/// Each class letter and its flag, in the order Redis writes them.
const CLASS_LETTERS: [(char, u16); 11] = [
    ('g', CLASS_GENERIC),
    ('$', CLASS_STRING),
    ('l', CLASS_LIST),
    ('s', CLASS_SET),
    ('h', CLASS_HASH),
    ('z', CLASS_ZSET),
    ('x', CLASS_EXPIRED),
    ('e', CLASS_EVICTED),
    ('t', NOTIFY_STREAM),
    ('d', NOTIFY_MODULE),
    ('n', NOTIFY_NEW),
];

/// Reads `notify-keyspace-events` as Redis does: any mix of the letters, repeats allowed,
/// empty for off.
///
/// # Errors
/// Redis's message, for any other character.
pub fn parse_flags(text: &str) -> Result<u16, String> {
    text.chars().try_fold(0, |flags, letter| {
        let flag = match letter {
            'A' => NOTIFY_ALL,
            'K' => NOTIFY_KEYSPACE,
            'E' => NOTIFY_KEYEVENT,
            'm' => NOTIFY_KEY_MISS,
            _ => CLASS_LETTERS
                .iter()
                .find(|(candidate, _)| *candidate == letter)
                .map(|(_, flag)| *flag)
                .ok_or_else(|| {
                    "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".to_owned()
                })?,
        };
        Ok(flags | flag)
    })
}

/// The canonical text of `flags`, as Redis's CONFIG GET shows it: `A` for every class of
/// `A` (and then no other class letter, `n` included, as Redis prints it), else the class
/// letters; then `K`, `E`, `m`.
#[must_use]
pub fn format_flags(flags: u16) -> String {
    let mut text = String::new();
    if flags & NOTIFY_ALL == NOTIFY_ALL {
        text.push('A');
    } else {
        for (letter, flag) in CLASS_LETTERS {
            if flags & flag != 0 {
                text.push(letter);
            }
        }
    }
    for (letter, flag) in [
        ('K', NOTIFY_KEYSPACE),
        ('E', NOTIFY_KEYEVENT),
        ('m', NOTIFY_KEY_MISS),
    ] {
        if flags & flag != 0 {
            text.push(letter);
        }
    }
    text
}

/// Whether `flags` would publish anything floe produces: a channel kind and a class.
fn publishes(flags: u16) -> bool {
    flags & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT) != 0 && flags & NOTIFY_ALL != 0
}

/// Table slots [`super::Db::expire_for_events`] examines per shard per call.
pub const EXPIRE_TICK_SLOTS: usize = 1 << 16;

/// One event, owned, for the publisher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEvent {
    /// Redis's event name (`set`, `expired`, ...).
    pub name: &'static str,
    /// The key's database.
    pub db: u8,
    /// The key.
    pub key: Vec<u8>,
}

/// What the server installs to send events: given them, in order, and the flags they were
/// collected under (which channels: `K`, `E`).
pub type Publisher = dyn Fn(&[KeyEvent], u16) + Send + Sync;

impl super::Db {
    /// Sets `notify-keyspace-events` (flags from [`parse_flags`]); 0 turns events off.
    pub fn set_keyspace_events(&self, flags: u16) {
        let inner = &*self.inner;
        let keep = inner.notify.set_flags(flags);
        for shard in &inner.shards {
            super::lock(shard)
                .store
                .with(|store| store.set_events(keep));
        }
    }

    /// With `expired` events on, an active-expiry step of [`EXPIRE_TICK_SLOTS`] slots on
    /// every shard nobody holds, publishing what expired: a door calls it about once a
    /// second, so keys expire (and say so) on an idle server too, where otherwise writes
    /// drive active expiry. Nothing on a replica, which expires only what its primary
    /// sends, nor with the events off.
    pub fn expire_for_events(&self) {
        let inner = &*self.inner;
        let mut events = inner.notify.events();
        if !events.wanted() || events.flags & CLASS_EXPIRED == 0 || self.read_only() {
            return;
        }
        let now = inner.clock.now_ms();
        for shard in &inner.shards {
            // A shard a snapshot still has to walk is left as the cut saw it.
            if let Ok(mut shard) = shard.try_lock()
                && !shard.snapshot_pending
            {
                shard.store.with(|store| {
                    store.expire_step(now, EXPIRE_TICK_SLOTS);
                    store.take_expired(&mut events);
                });
            }
        }
        inner.notify.publish(&events);
    }

    /// Installs what sends events (the server's pub/sub); none: events are dropped.
    pub fn set_keyspace_publisher(&self, publisher: Arc<Publisher>) {
        self.inner.notify.set_publisher(publisher);
    }
}

/// The Db's notification state.
#[derive(Default)]
pub(super) struct Notify {
    flags: AtomicU16,
    publisher: RwLock<Option<Arc<Publisher>>>,
}

impl std::fmt::Debug for Notify {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Notify")
            .field("flags", &self.flags.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Notify {
    /// A fresh collector for one operation, with the flags now.
    pub(super) fn events(&self) -> Events {
        Events {
            flags: self.flags.load(Ordering::Relaxed),
            list: Vec::new(),
        }
    }

    /// Sets the flags; returns whether the stores should keep what they expire.
    pub(super) fn set_flags(&self, flags: u16) -> bool {
        self.flags.store(flags, Ordering::Relaxed);
        publishes(flags)
    }

    pub(super) fn set_publisher(&self, publisher: Arc<Publisher>) {
        *self
            .publisher
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(publisher);
    }

    /// Sends what `events` collected (call with no shard lock held).
    pub(super) fn publish(&self, events: &Events) {
        if events.list.is_empty() {
            return;
        }
        let publisher = self
            .publisher
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Some(publisher) = publisher {
            publisher(&events.list, events.flags);
        }
    }
}

/// The events of one operation, kept while its locks are held. A log sink that takes no
/// records (for store work outside a command: an active-expiry step on another shard).
#[derive(Debug)]
pub(crate) struct Events {
    flags: u16,
    list: Vec<KeyEvent>,
}

impl Events {
    pub(super) fn wanted(&self) -> bool {
        publishes(self.flags)
    }

    pub(super) fn push(&mut self, event: &Event<'_>) {
        if self.flags & event.class != 0 {
            self.list.push(KeyEvent {
                name: event.name,
                db: event.db,
                key: event.key.to_vec(),
            });
        }
    }
}

impl LogSink for Events {
    fn record(&mut self, _record: Record<'_>) {}

    fn events(&self) -> bool {
        self.wanted()
    }

    fn event(&mut self, event: Event<'_>) {
        self.push(&event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_and_print_as_redis_does() {
        // Pairs checked against redis-server 7.0.15.
        for (text, shown) in [
            ("KEA", "AKE"),
            ("Kg$lshzxet", "g$lshzxetK"),
            ("Kg$lshzxetd", "AK"),
            ("KEAmn", "AKEm"),
            ("Eg", "gE"),
            ("xK", "xK"),
            ("m", "m"),
            ("n", "n"),
            ("gg", "g"),
            ("", ""),
        ] {
            let flags = parse_flags(text).expect(text);
            assert_eq!(format_flags(flags), shown, "{text}");
        }
    }

    #[test]
    fn a_bad_letter_is_refused() {
        for text in ["KEb", "a", "K E", "k"] {
            assert_eq!(
                parse_flags(text),
                Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".to_owned()),
                "{text}"
            );
        }
    }

    #[test]
    fn only_a_channel_kind_and_a_class_publish() {
        assert!(!publishes(parse_flags("KE").expect("KE")));
        assert!(!publishes(parse_flags("A").expect("A")));
        assert!(!publishes(parse_flags("Km").expect("Km")));
        assert!(publishes(parse_flags("Kx").expect("Kx")));
        assert!(publishes(parse_flags("Eg").expect("Eg")));
    }

    #[test]
    fn events_keep_only_their_classes() {
        let mut events = Events {
            flags: parse_flags("Kx").expect("Kx"),
            list: Vec::new(),
        };
        events.event(Event::evicted(0, b"a"));
        events.event(Event::expired(1, b"b"));
        assert_eq!(
            events.list,
            [KeyEvent {
                name: "expired",
                db: 1,
                key: b"b".to_vec()
            }]
        );
    }
}
