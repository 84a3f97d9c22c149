//! Pub/sub end to end with the `redis` crate and raw RESP: subscribers and publishers on
//! different connections (floe runs four workers, so they spread over them), channel and
//! pattern subscriptions, PUBLISH's receiver counts and per-publisher order, PUBSUB
//! CHANNELS / NUMSUB / NUMPAT and INFO's counts, unsubscribing, RESP3 push messages, a subscriber that never
//! reads (closed at the pub/sub output limit while another one receives everything), and
//! a closed connection's subscriptions disappearing, and ACL channel permissions.
//!
//! Each check runs against Redis (which proves its expectations) and against floe on each
//! of its event loops (io_uring and epoll).

mod common;

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::server::{Client, Server, Target};
use redis::{Commands, PushKind, Value};

common::server::against_both!(
    messages_reach_every_subscriber_in_order,
    unsubscribe_and_introspection,
    resp3_push_messages,
    slow_subscriber_is_closed_others_keep_receiving,
    closed_connection_drops_its_subscriptions,
    subscribed_mode_errors,
    acl_channel_permissions,
    no_message_after_subscriptions_end,
    publish_inside_multi,
);

/// Workers floe runs with here, so that clients land on different ones.
const WORKER_COUNT: &str = "4";

/// How long a check waits for the server to catch up (a close, a count) before failing.
const SETTLE_MAX: Duration = Duration::from_secs(30);

/// The pub/sub output limit the slow-subscriber check sets.
const PUBSUB_LIMIT: &str = "4mb";

/// Starts `target` (floe with several workers and `extra` options).
fn start(target: Target, extra: &[&str]) -> Server {
    let mut args = vec!["--workers", WORKER_COUNT];
    args.extend_from_slice(extra);
    target.start_with(&args)
}

fn connect(server: &Server, suffix: &str) -> redis::Connection {
    let connection = redis::Client::open(server.url(suffix))
        .expect("a valid URL")
        .get_connection()
        .unwrap_or_else(|error| panic!("connect to {}: {error}", server.name));
    connection
        .set_read_timeout(Some(SETTLE_MAX))
        .expect("set the read timeout");
    connection
}

/// Polls `probe` until it returns `true`, failing after [`SETTLE_MAX`] with `what`.
fn settle(what: &str, mut probe: impl FnMut() -> bool) {
    let started = Instant::now();
    while !probe() {
        assert!(
            started.elapsed() < SETTLE_MAX,
            "{what}: not within {SETTLE_MAX:?}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

fn numsub(connection: &mut redis::Connection, channel: &str) -> i64 {
    let reply: (String, i64) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(channel)
        .query(connection)
        .expect("PUBSUB NUMSUB");
    reply.1
}

/// Eight subscribers (channel and pattern), one publisher: every PUBLISH counts every
/// receiver, and each subscriber gets every message, in publish order.
fn messages_reach_every_subscriber_in_order(target: Target) {
    let server = start(target, &[]);
    const MESSAGE_COUNT: usize = 200;
    let mut receivers = Vec::new();
    for index in 0..8 {
        let mut connection = connect(&server, "");
        let (ready_sender, ready) = mpsc::channel();
        let handle = thread::spawn(move || {
            let mut pubsub = connection.as_pubsub();
            let pattern = index % 2 == 1;
            if pattern {
                pubsub.psubscribe("news.*").expect("PSUBSCRIBE");
            } else {
                pubsub.subscribe("news.sport").expect("SUBSCRIBE");
            }
            ready_sender.send(()).expect("tell the test");
            let mut payloads = Vec::new();
            while payloads.len() < MESSAGE_COUNT {
                let message = pubsub.get_message().expect("a message");
                assert_eq!(message.get_channel_name(), "news.sport");
                if pattern {
                    let matched: String = message.get_pattern().expect("a pattern");
                    assert_eq!(matched, "news.*");
                }
                payloads.push(message.get_payload::<String>().expect("a payload"));
            }
            payloads
        });
        ready.recv().expect("the subscriber is ready");
        receivers.push(handle);
    }
    let mut publisher = connect(&server, "");
    let nobody: i64 = publisher.publish("weather", "rain").expect("PUBLISH");
    assert_eq!(nobody, 0, "no subscriber of `weather`");
    for number in 0..MESSAGE_COUNT {
        let count: i64 = publisher
            .publish("news.sport", format!("m{number}"))
            .expect("PUBLISH");
        assert_eq!(count, 8, "4 channel + 4 pattern subscribers");
    }
    let expected: Vec<String> = (0..MESSAGE_COUNT)
        .map(|number| format!("m{number}"))
        .collect();
    for handle in receivers {
        assert_eq!(handle.join().expect("a subscriber thread"), expected);
    }
}

/// PUBSUB CHANNELS / NUMSUB / NUMPAT follow subscribes and unsubscribes; UNSUBSCRIBE with
/// no channel ends every subscription; a PUBLISH after it reaches nobody.
fn unsubscribe_and_introspection(target: Target) {
    let server = start(target, &[]);
    let mut subscriber = Client::connect(server.port);
    let mut admin = connect(&server, "");
    assert_eq!(
        subscriber.command(&[b"SUBSCRIBE", b"alpha"]),
        b"*3\r\n$9\r\nsubscribe\r\n$5\r\nalpha\r\n:1\r\n"
    );
    assert_eq!(
        subscriber.command(&[b"SUBSCRIBE", b"beta"]),
        b"*3\r\n$9\r\nsubscribe\r\n$4\r\nbeta\r\n:2\r\n"
    );
    assert_eq!(
        subscriber.command(&[b"PSUBSCRIBE", b"al*"]),
        b"*3\r\n$10\r\npsubscribe\r\n$3\r\nal*\r\n:3\r\n"
    );
    let mut channels: Vec<String> = redis::cmd("PUBSUB")
        .arg("CHANNELS")
        .query(&mut admin)
        .expect("PUBSUB CHANNELS");
    channels.sort();
    assert_eq!(channels, ["alpha", "beta"]);
    let matching: Vec<String> = redis::cmd("PUBSUB")
        .arg("CHANNELS")
        .arg("b*")
        .query(&mut admin)
        .expect("PUBSUB CHANNELS b*");
    assert_eq!(matching, ["beta"]);
    let counts: Vec<Value> = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg("alpha")
        .arg("nothing")
        .query(&mut admin)
        .expect("PUBSUB NUMSUB");
    assert_eq!(
        counts,
        [
            Value::BulkString(b"alpha".to_vec()),
            Value::Int(1),
            Value::BulkString(b"nothing".to_vec()),
            Value::Int(0),
        ]
    );
    let numpat: i64 = redis::cmd("PUBSUB")
        .arg("NUMPAT")
        .query(&mut admin)
        .expect("PUBSUB NUMPAT");
    assert_eq!(numpat, 1);
    let info = stats(&mut admin);
    assert!(
        info.contains("pubsub_channels:2\r\n") && info.contains("pubsub_patterns:1\r\n"),
        "{info}"
    );
    let count: i64 = admin.publish("alpha", "one").expect("PUBLISH");
    assert_eq!(count, 2, "the channel and the pattern");
    assert_eq!(
        subscriber.reply(),
        b"*3\r\n$7\r\nmessage\r\n$5\r\nalpha\r\n$3\r\none\r\n"
    );
    assert_eq!(
        subscriber.reply(),
        b"*4\r\n$8\r\npmessage\r\n$3\r\nal*\r\n$5\r\nalpha\r\n$3\r\none\r\n"
    );
    // One channel by name, then every channel (one reply per channel, in any order).
    assert_eq!(
        subscriber.command(&[b"UNSUBSCRIBE", b"beta"]),
        b"*3\r\n$11\r\nunsubscribe\r\n$4\r\nbeta\r\n:2\r\n"
    );
    assert_eq!(
        subscriber.command(&[b"UNSUBSCRIBE"]),
        b"*3\r\n$11\r\nunsubscribe\r\n$5\r\nalpha\r\n:1\r\n"
    );
    assert_eq!(
        subscriber.command(&[b"PUNSUBSCRIBE"]),
        b"*3\r\n$12\r\npunsubscribe\r\n$3\r\nal*\r\n:0\r\n"
    );
    assert_eq!(
        subscriber.command(&[b"UNSUBSCRIBE"]),
        b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n",
        "no subscription left"
    );
    // Out of subscribed mode: any command runs again.
    assert_eq!(subscriber.command(&[b"PING"]), b"+PONG\r\n");
    let count: i64 = admin.publish("alpha", "two").expect("PUBLISH");
    assert_eq!(count, 0);
    assert_eq!(numsub(&mut admin, "alpha"), 0);
    let numpat: i64 = redis::cmd("PUBSUB")
        .arg("NUMPAT")
        .query(&mut admin)
        .expect("PUBSUB NUMPAT");
    assert_eq!(numpat, 0);
    let info = stats(&mut admin);
    assert!(
        info.contains("pubsub_channels:0\r\n") && info.contains("pubsub_patterns:0\r\n"),
        "{info}"
    );
}

/// INFO's stats section.
fn stats(connection: &mut redis::Connection) -> String {
    redis::cmd("INFO")
        .arg("stats")
        .query(connection)
        .expect("INFO stats")
}

/// A RESP3 client gets messages as push frames and may run any command while subscribed.
fn resp3_push_messages(target: Target) {
    let server = start(target, &[]);
    let mut subscriber = connect(&server, "?protocol=resp3");
    let (sender, pushes) = mpsc::channel();
    subscriber.set_push_sender(sender);
    subscriber.subscribe_resp3("events").expect("SUBSCRIBE");
    subscriber.psubscribe_resp3("ev*").expect("PSUBSCRIBE");
    // A normal command in subscribed mode (refused over RESP2).
    let () = subscriber
        .set("key", "value")
        .expect("SET while subscribed");
    let mut publisher = connect(&server, "");
    let count: i64 = publisher.publish("events", "hello").expect("PUBLISH");
    assert_eq!(count, 2);
    // Messages published before a request arrives come before its reply.
    let value: String = subscriber.get("key").expect("GET while subscribed");
    assert_eq!(value, "value");
    let mut kinds = Vec::new();
    while let Ok(push) = pushes.try_recv() {
        kinds.push((push.kind.clone(), push.data));
    }
    let messages: Vec<&(PushKind, Vec<Value>)> = kinds
        .iter()
        .filter(|(kind, _)| matches!(kind, PushKind::Message | PushKind::PMessage))
        .collect();
    assert_eq!(
        messages,
        [
            &(
                PushKind::Message,
                vec![
                    Value::BulkString(b"events".to_vec()),
                    Value::BulkString(b"hello".to_vec()),
                ]
            ),
            &(
                PushKind::PMessage,
                vec![
                    Value::BulkString(b"ev*".to_vec()),
                    Value::BulkString(b"events".to_vec()),
                    Value::BulkString(b"hello".to_vec()),
                ]
            ),
        ],
        "all pushes: {kinds:?}"
    );
    // The raw bytes of a push, and PUBLISH to itself: the message comes before the count.
    let mut raw = Client::connect(server.port);
    raw.command(&[b"HELLO", b"3"]);
    assert_eq!(
        raw.command(&[b"SUBSCRIBE", b"self"]),
        b">3\r\n$9\r\nsubscribe\r\n$4\r\nself\r\n:1\r\n"
    );
    assert_eq!(
        raw.command(&[b"PUBLISH", b"self", b"me"]),
        b">3\r\n$7\r\nmessage\r\n$4\r\nself\r\n$2\r\nme\r\n"
    );
    assert_eq!(raw.reply(), b":1\r\n");
    assert_eq!(raw.command(&[b"PING"]), b"+PONG\r\n");
}

/// A subscriber that never reads is closed once its queued output passes the pub/sub
/// limit; the publisher is never blocked, and a subscriber that reads gets every message.
fn slow_subscriber_is_closed_others_keep_receiving(target: Target) {
    let server = start(
        target,
        &["--client-output-buffer-limit-pubsub", PUBSUB_LIMIT],
    );
    let mut publisher = connect(&server, "");
    if target == Target::Redis {
        let () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("client-output-buffer-limit")
            .arg(format!("pubsub {PUBSUB_LIMIT} 0 0"))
            .query(&mut publisher)
            .expect("CONFIG SET");
    }
    // 32 MiB in all: past the kernel's socket buffers and the limit, several times over.
    const MESSAGE_COUNT: usize = 8 * 1024;
    const BATCH_COUNT: usize = 32;
    let payload = "x".repeat(4096);
    let mut slow = Client::connect(server.port);
    assert_eq!(
        slow.command(&[b"SUBSCRIBE", b"firehose"]),
        b"*3\r\n$9\r\nsubscribe\r\n$8\r\nfirehose\r\n:1\r\n"
    );
    // The reader reports each message's number; the publisher waits for it after each
    // batch, so the reader is never more than a batch behind (whatever the scheduling),
    // while the slow subscriber falls further behind with every batch.
    let mut fast = connect(&server, "");
    let (number_sender, numbers) = mpsc::channel();
    let reader = thread::spawn(move || {
        let mut pubsub = fast.as_pubsub();
        pubsub.subscribe("firehose").expect("SUBSCRIBE");
        number_sender.send(usize::MAX).expect("tell the test");
        for _ in 0..MESSAGE_COUNT {
            let message = pubsub.get_message().expect("a message");
            let payload = message.get_payload_bytes();
            let end = payload.iter().position(|byte| *byte == b' ');
            let number: usize = std::str::from_utf8(&payload[..end.expect("a number")])
                .expect("text")
                .parse()
                .expect("a number");
            number_sender.send(number).expect("tell the test");
        }
    });
    assert_eq!(
        numbers.recv_timeout(SETTLE_MAX),
        Ok(usize::MAX),
        "subscribed"
    );
    let mut first_counts = Vec::new();
    for batch in 0..MESSAGE_COUNT / BATCH_COUNT {
        let mut pipe = redis::pipe();
        for index in 0..BATCH_COUNT {
            let number = batch * BATCH_COUNT + index;
            pipe.publish("firehose", format!("{number} {payload}"));
        }
        let counts: Vec<i64> = pipe.query(&mut publisher).expect("PUBLISH batch");
        first_counts.push(counts[0]);
        assert!(
            counts.iter().all(|count| (1..=2).contains(count)),
            "{counts:?}"
        );
        for index in 0..BATCH_COUNT {
            let number = batch * BATCH_COUNT + index;
            assert_eq!(
                numbers.recv_timeout(SETTLE_MAX),
                Ok(number),
                "in publish order"
            );
        }
    }
    assert_eq!(first_counts[0], 2, "both subscribers at first");
    assert_eq!(
        first_counts.last(),
        Some(&1),
        "the slow one was closed: {first_counts:?}"
    );
    reader.join().expect("the fast subscriber");
    settle("the slow subscriber is closed", || {
        numsub(&mut publisher, "firehose") == 0
    });
    // Its connection ends (after whatever the kernel had buffered).
    slow.read_until_closed(SETTLE_MAX);
    let count: i64 = publisher.publish("firehose", "after").expect("PUBLISH");
    assert_eq!(count, 0);
    if target != Target::Redis {
        assert!(
            server
                .log_text()
                .contains("passed client-output-buffer-limit-pubsub"),
            "the log says why: {}",
            server.log_text()
        );
    }
}

/// Closing a connection drops its subscriptions: NUMSUB and NUMPAT go back to 0, and a
/// PUBLISH reaches nobody.
fn closed_connection_drops_its_subscriptions(target: Target) {
    let server = start(target, &[]);
    let mut admin = connect(&server, "");
    let mut subscriber = Client::connect(server.port);
    subscriber.command(&[b"SUBSCRIBE", b"gone"]);
    subscriber.command(&[b"PSUBSCRIBE", b"go*"]);
    subscriber.command(&[b"SSUBSCRIBE", b"shard"]);
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(&mut admin)
        .expect("CLIENT LIST");
    assert!(
        list.contains("flags=P") && list.contains("sub=1 psub=1 ssub=1"),
        "{list}"
    );
    assert_eq!(numsub(&mut admin, "gone"), 1);
    drop(subscriber);
    settle("the closed subscriber's channels are gone", || {
        numsub(&mut admin, "gone") == 0
    });
    settle("its pattern is gone", || {
        let numpat: i64 = redis::cmd("PUBSUB")
            .arg("NUMPAT")
            .query(&mut admin)
            .expect("PUBSUB NUMPAT");
        numpat == 0
    });
    let shard: Vec<String> = redis::cmd("PUBSUB")
        .arg("SHARDCHANNELS")
        .query(&mut admin)
        .expect("PUBSUB SHARDCHANNELS");
    assert!(shard.is_empty(), "{shard:?}");
    let count: i64 = admin.publish("gone", "anyone?").expect("PUBLISH");
    assert_eq!(count, 0);
}

/// RESP2 subscribed mode: other commands get Redis's error, PING a `pong` array, RESET
/// leaves subscribed mode; PUBSUB's and the commands' own errors; the pub/sub limit's
/// setting refuses a bad value.
fn subscribed_mode_errors(target: Target) {
    let server = start(target, &[]);
    let mut client = Client::connect(server.port);
    assert_eq!(
        client.command(&[b"PUBSUB", b"NOPE"]),
        b"-ERR unknown subcommand 'NOPE'. Try PUBSUB HELP.\r\n"
    );
    assert_eq!(
        client.command(&[b"PUBSUB", b"NUMPAT", b"x"]),
        b"-ERR wrong number of arguments for 'pubsub|numpat' command\r\n"
    );
    assert_eq!(
        client.command(&[b"PUBSUB", b"CHANNELS", b"a", b"b"]),
        b"-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB \
          HELP.\r\n"
    );
    assert_eq!(
        client.command(&[b"PUBLISH", b"a"]),
        b"-ERR wrong number of arguments for 'publish' command\r\n"
    );
    assert_eq!(
        client.command(&[b"SUBSCRIBE"]),
        b"-ERR wrong number of arguments for 'subscribe' command\r\n"
    );
    client.command(&[b"SUBSCRIBE", b"room"]);
    assert_eq!(
        client.command(&[b"GET", b"k"]),
        b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / \
          RESET are allowed in this context\r\n"
    );
    assert_eq!(
        client.command(&[b"PUBSUB", b"NUMSUB", b"room"]),
        b"-ERR Can't execute 'pubsub|numsub': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / \
          QUIT / RESET are allowed in this context\r\n"
    );
    assert_eq!(
        client.command(&[b"MULTI"]),
        b"-ERR Can't execute 'multi': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / \
          RESET are allowed in this context\r\n"
    );
    assert_eq!(
        client.command(&[b"PING"]),
        b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    );
    assert_eq!(
        client.command(&[b"PING", b"hi"]),
        b"*2\r\n$4\r\npong\r\n$2\r\nhi\r\n"
    );
    assert_eq!(client.command(&[b"RESET"]), b"+RESET\r\n");
    assert_eq!(client.command(&[b"GET", b"k"]), b"$-1\r\n");
    assert_eq!(
        client.command(&[b"PUBSUB", b"NUMSUB", b"room"]),
        b"*2\r\n$4\r\nroom\r\n:0\r\n",
        "RESET ended the subscription"
    );
    if target != Target::Redis {
        let reply = client.command(&[
            b"CONFIG",
            b"SET",
            b"client-output-buffer-limit-pubsub",
            b"12",
        ]);
        assert!(
            reply.starts_with(b"-ERR") && reply.windows(4).any(|window| window == b"1024"),
            "{}",
            String::from_utf8_lossy(&reply)
        );
        assert_eq!(
            client.command(&[
                b"CONFIG",
                b"SET",
                b"client-output-buffer-limit-pubsub",
                b"8mb",
            ]),
            b"+OK\r\n"
        );
    }
}

/// ACL `&pattern` rules: PUBLISH and SUBSCRIBE need a channel a pattern matches,
/// PSUBSCRIBE a pattern the user has literally; a denial changes nothing. (Redis 7.0, the
/// one installed here, words NOPERM differently from 7.2, whose text floe answers.)
fn acl_channel_permissions(target: Target) {
    let server = start(target, &[]);
    let mut client = Client::connect(server.port);
    assert_eq!(
        client.command(&[
            b"ACL",
            b"SETUSER",
            b"reader",
            b"on",
            b"nopass",
            b"~*",
            b"+@all",
            b"resetchannels",
            b"&news.*",
        ]),
        b"+OK\r\n"
    );
    assert_eq!(client.command(&[b"AUTH", b"reader", b"x"]), b"+OK\r\n");
    let denied = |reply: Vec<u8>| {
        assert!(
            reply.starts_with(b"-NOPERM "),
            "{}",
            String::from_utf8_lossy(&reply)
        );
        if target != Target::Redis {
            assert_eq!(reply, b"-NOPERM No permissions to access a channel\r\n");
        }
    };
    assert_eq!(client.command(&[b"PUBLISH", b"news.a", b"m"]), b":0\r\n");
    denied(client.command(&[b"PUBLISH", b"other", b"m"]));
    denied(client.command(&[b"SPUBLISH", b"other", b"m"]));
    denied(client.command(&[b"SUBSCRIBE", b"news.b", b"other"]));
    denied(client.command(&[b"PSUBSCRIBE", b"news.a*"]));
    denied(client.command(&[b"SSUBSCRIBE", b"other"]));
    assert_eq!(
        client.command(&[b"PUBSUB", b"NUMSUB", b"news.b"]),
        b"*2\r\n$6\r\nnews.b\r\n:0\r\n",
        "the refused SUBSCRIBE subscribed to nothing"
    );
    assert_eq!(
        client.command(&[b"PSUBSCRIBE", b"news.*"]),
        b"*3\r\n$10\r\npsubscribe\r\n$6\r\nnews.*\r\n:1\r\n"
    );
    // In subscribed mode a command the user may not run gets NOPERM, as Redis checks
    // permissions first; one it may run gets the subscribed-mode error.
    let mut admin = Client::connect(server.port);
    assert_eq!(
        admin.command(&[b"ACL", b"SETUSER", b"reader", b"-get"]),
        b"+OK\r\n"
    );
    let reply = client.command(&[b"GET", b"k"]);
    assert!(
        reply.starts_with(b"-NOPERM "),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    let reply = client.command(&[b"STRLEN", b"k"]);
    assert!(
        reply.starts_with(b"-ERR Can't execute 'strlen'"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
}

/// While a publisher keeps publishing, a RESP2 subscriber ends its subscriptions (by
/// UNSUBSCRIBE, or by RESET): every message before that reply, none after it, so the
/// connection is a normal one again at once (a stray message would be read as the next
/// command's reply).
fn no_message_after_subscriptions_end(target: Target) {
    let server = start(target, &[]);
    let mut publisher = connect(&server, "");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let publishing = {
        let stop = std::sync::Arc::clone(&stop);
        thread::spawn(move || {
            let mut count = 0_u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _receivers: i64 = publisher.publish("busy", count).expect("PUBLISH");
                count += 1;
            }
            count
        })
    };
    for round in 0..20 {
        let mut subscriber = Client::connect(server.port);
        subscriber.command(&[b"SUBSCRIBE", b"busy"]);
        // Let some messages queue up (not a timing assertion: any number will do).
        let first = subscriber.reply();
        assert!(first.starts_with(b"*3\r\n$7\r\nmessage\r\n"), "{first:?}");
        let by_reset = round % 2 == 1;
        let (command, last): (&[u8], &[u8]) = if by_reset {
            (b"RESET", b"+RESET\r\n")
        } else {
            (
                b"UNSUBSCRIBE",
                b"*3\r\n$11\r\nunsubscribe\r\n$4\r\nbusy\r\n:0\r\n",
            )
        };
        subscriber.send(&common::server::encode_command(&[command]));
        loop {
            let frame = subscriber.reply();
            if frame == last {
                break;
            }
            assert!(
                frame.starts_with(b"*3\r\n$7\r\nmessage\r\n$4\r\nbusy\r\n"),
                "round {round}: {}",
                String::from_utf8_lossy(&frame)
            );
        }
        assert_eq!(
            subscriber.command(&[b"PING"]),
            b"+PONG\r\n",
            "round {round}"
        );
        assert_eq!(
            subscriber.command(&[b"GET", b"busy"]),
            b"$-1\r\n",
            "round {round}"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(publishing.join().expect("the publisher") > 0);
}

/// PUBLISH queued in MULTI runs at EXEC, with the block's writes, and reaches a subscriber
/// on another connection; SUBSCRIBE is the one pub/sub command floe refuses there.
fn publish_inside_multi(target: Target) {
    let server = start(target, &[]);
    let mut subscriber = Client::connect(server.port);
    subscriber.command(&[b"SUBSCRIBE", b"invalidate"]);
    let mut publisher = connect(&server, "");
    let ((), receivers): ((), i64) = redis::pipe()
        .atomic()
        .set("user:1", "new")
        .publish("invalidate", "user:1")
        .query(&mut publisher)
        .expect("MULTI SET PUBLISH EXEC");
    assert_eq!(receivers, 1);
    assert_eq!(
        subscriber.reply(),
        b"*3\r\n$7\r\nmessage\r\n$10\r\ninvalidate\r\n$6\r\nuser:1\r\n"
    );
    let value: String = publisher.get("user:1").expect("GET");
    assert_eq!(value, "new");
}

/// A pub/sub limit that cannot work stops the start with the setting's name and why.
#[test]
fn bad_pubsub_limit_refuses_to_start() {
    for (value, why) in [
        ("10", "10 is below the least allowed, 1024 bytes"),
        ("lots", "`lots` is not a size"),
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_floe"))
            .args(["serve", "--persistence", "off", "--http-port", "off"])
            .args(["--port", &common::server::free_port().to_string()])
            .args(["--client-output-buffer-limit-pubsub", value])
            .output()
            .expect("run floe");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{value}: {stderr}");
        assert!(
            stderr.contains(&format!("--client-output-buffer-limit-pubsub: {why}")),
            "{value}: {stderr}"
        );
    }
}
