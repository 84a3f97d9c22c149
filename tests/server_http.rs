//! The HTTP door of `floe serve`, driven by `ureq` (an HTTP client nobody here wrote) for
//! the paths, and by raw TCP for what a client library would refuse to send (malformed
//! requests, oversized lines and headers, pipelining). Data written through HTTP is read
//! through RESP with the `redis` crate, and the other way round. Every check runs on both
//! event loops (io_uring and epoll).

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::server::{Server, Target};
use redis::Commands;

common::server::against_floe_loops!(
    orchid_paths,
    rest_keys_values_ttl_and_databases_cross_doors,
    prefix_listing_pages_with_a_cursor,
    prefix_listing_from_the_index_with_and_without_it,
    batch_runs_all_or_nothing,
    errors_have_their_status_and_json,
    limits_close_only_the_offender,
    pipelined_requests_are_answered_in_order,
    metrics_health_and_stats,
    password_needs_basic_or_bearer,
    acknowledged_write_survives_sigkill,
);

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build(),
    )
}

fn url(server: &Server, path: &str) -> String {
    format!("http://127.0.0.1:{}{path}", server.http_port)
}

fn redis(server: &Server) -> redis::Connection {
    redis::Client::open(server.url(""))
        .expect("a valid URL")
        .get_connection()
        .expect("connect over RESP")
}

/// Status and body of a GET.
fn get(agent: &ureq::Agent, url: &str) -> (u16, Vec<u8>) {
    let mut response = agent.get(url).call().expect("GET");
    let status = response.status().as_u16();
    (status, response.body_mut().read_to_vec().expect("the body"))
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|error| panic!("not JSON ({error}): {}", String::from_utf8_lossy(body)))
}

/// OrchidDB's `/put?key=value`, `/get/key`, `/delete/key`, with the statuses and
/// Content-Length its own server got wrong.
fn orchid_paths(target: Target) {
    let server = target.start_doors(&["--persistence", "off"]);
    let agent = agent();
    let mut response = agent
        .get(url(&server, "/put?key2=baz"))
        .call()
        .expect("put");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.body_mut().read_to_string().expect("body"), "OK");
    let mut response = agent.get(url(&server, "/get/key2")).call().expect("get");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response
            .headers()
            .get("content-length")
            .map(|v| v.as_bytes()),
        Some(b"3".as_slice())
    );
    assert_eq!(response.body_mut().read_to_string().expect("body"), "baz");
    assert_eq!(get(&agent, &url(&server, "/delete/key2")).0, 200);
    let (status, body) = get(&agent, &url(&server, "/get/key2"));
    assert_eq!(status, 404);
    assert_eq!(json(&body)["error"], "no such key");
    assert_eq!(get(&agent, &url(&server, "/delete/key2")).0, 404);
    assert_eq!(get(&agent, &url(&server, "/put?a=1&b=2")).0, 400);
}

/// `/kv/{key}`: binary-safe percent-encoded keys, the body as the value, `ttl`, `db`; what
/// HTTP writes RESP reads, and the other way round.
fn rest_keys_values_ttl_and_databases_cross_doors(target: Target) {
    let server = target.start_doors(&["--persistence", "off"]);
    let agent = agent();
    let mut con = redis(&server);
    let value = b"line one\r\nline two \x00\xff".to_vec();
    let response = agent
        .put(url(&server, "/kv/a%2Fb%00c%20d"))
        .send(&value[..])
        .expect("PUT");
    assert_eq!(response.status().as_u16(), 204);
    let through_resp: Vec<u8> = con.get(b"a/b\x00c d".as_slice()).expect("GET over RESP");
    assert_eq!(through_resp, value);

    let () = con.set("from-resp", "hello").expect("SET over RESP");
    assert_eq!(
        get(&agent, &url(&server, "/kv/from-resp")),
        (200, b"hello".to_vec())
    );

    let response = agent
        .put(url(&server, "/kv/session?ttl=100"))
        .send("token")
        .expect("PUT with ttl");
    assert_eq!(response.status().as_u16(), 204);
    let ttl: i64 = con.ttl("session").expect("TTL");
    assert!((1..=100).contains(&ttl), "ttl={ttl}");

    let response = agent
        .put(url(&server, "/kv/in-three?db=3"))
        .send("three")
        .expect("PUT db 3");
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(get(&agent, &url(&server, "/kv/in-three")).0, 404);
    assert_eq!(
        get(&agent, &url(&server, "/kv/in-three?db=3")),
        (200, b"three".to_vec())
    );
    let () = redis::cmd("SELECT")
        .arg(3)
        .query(&mut con)
        .expect("SELECT 3");
    let in_three: String = con.get("in-three").expect("GET in db 3");
    assert_eq!(in_three, "three");

    let response = agent
        .delete(url(&server, "/kv/from-resp"))
        .call()
        .expect("DELETE");
    assert_eq!(response.status().as_u16(), 204);
    let response = agent
        .delete(url(&server, "/kv/from-resp"))
        .call()
        .expect("DELETE again");
    assert_eq!(response.status().as_u16(), 404);
    let () = redis::cmd("SELECT")
        .arg(0)
        .query(&mut con)
        .expect("SELECT 0");
    let gone: Option<String> = con.get("from-resp").expect("GET deleted");
    assert_eq!(gone, None);
    assert_eq!(get(&agent, &url(&server, "/kv/x?db=16")).0, 400);
    assert_eq!(get(&agent, &url(&server, "/kv/x?nope=1")).0, 400);
}

/// `/kv?prefix=&cursor=&count=` pages through exactly the keys with the prefix.
fn prefix_listing_pages_with_a_cursor(target: Target) {
    let server = target.start_doors(&["--persistence", "off"]);
    let agent = agent();
    let mut con = redis(&server);
    let mut expected = BTreeSet::new();
    for index in 0..25 {
        let key = format!("user:{index}");
        let () = con.set(&key, index).expect("SET");
        expected.insert(key);
        let () = con.set(format!("other:{index}"), index).expect("SET");
    }
    let () = con.set("user*literal", 1).expect("SET");
    let mut found = BTreeSet::new();
    let mut cursor = "0".to_owned();
    for page in 0.. {
        assert!(page < 1000, "the listing never ended");
        let (status, body) = get(
            &agent,
            &url(
                &server,
                &format!("/kv?prefix=user%3A&count=10&cursor={cursor}"),
            ),
        );
        assert_eq!(status, 200);
        let body = json(&body);
        for key in body["keys"].as_array().expect("keys") {
            found.insert(key.as_str().expect("a string").to_owned());
        }
        cursor = body["cursor"].as_str().expect("cursor").to_owned();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(found, expected);
    let (_, body) = get(&agent, &url(&server, "/kv?prefix=user*"));
    assert_eq!(json(&body)["keys"], serde_json::json!(["user*literal"]));
    assert_eq!(get(&agent, &url(&server, "/kv?cursor=x")).0, 400);
}

/// POST /batch: one result per operation; an operation that fails the check makes the
/// whole batch change nothing.
fn batch_runs_all_or_nothing(target: Target) {
    let server = target.start_doors(&[]);
    let agent = agent();
    let mut con = redis(&server);
    let () = con.set("old", "value").expect("SET");
    let post = |body: &str| {
        let mut response = agent
            .post(url(&server, "/batch"))
            .header("Content-Type", "application/json")
            .send(body)
            .expect("POST /batch");
        let status = response.status().as_u16();
        (
            status,
            json(&response.body_mut().read_to_vec().expect("body")),
        )
    };
    let (status, body) = post(
        r#"[{"op":"set","key":"a","value":"1"},{"op":"get","key":"a"},
            {"op":"get","key":"missing"},{"op":"delete","key":"old"},
            {"op":"set","key":"t","value":"x","ttl":50}]"#,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["results"],
        serde_json::json!([
            {"ok": true}, {"value": "1"}, {"value": null}, {"deleted": true}, {"ok": true}
        ])
    );
    let ttl: i64 = con.ttl("t").expect("TTL");
    assert!((1..=50).contains(&ttl), "ttl={ttl}");

    let (status, body) = post(
        r#"[{"op":"set","key":"b","value":"2"},{"op":"delete","key":"a"},
            {"op":"set","key":"c"}]"#,
    );
    assert_eq!(status, 400);
    let message = body["error"].as_str().expect("an error");
    assert!(message.contains("operation 2"), "{message}");
    let b: Option<String> = con.get("b").expect("GET b");
    assert_eq!(b, None, "a refused batch changed nothing");
    let a: Option<String> = con.get("a").expect("GET a");
    assert_eq!(a.as_deref(), Some("1"));
    assert_eq!(post("{\"op\":\"get\"}").0, 400);
    assert_eq!(post("[{\"op\":").0, 400);
    assert_eq!(post("[\"\\ud800\"]").0, 400);
}

/// Sends raw bytes on a new connection and returns everything until the server closes
/// (or `bound` passes).
fn raw(server: &Server, request: &[u8]) -> (TcpStream, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", server.http_port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    // A server that answers before reading everything may reset: ignore send errors.
    let _sent = stream.write_all(request);
    let mut received = Vec::new();
    let mut chunk = [0_u8; 65536];
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(count) => received.extend_from_slice(&chunk[..count]),
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                if !received.is_empty() {
                    break;
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::TimedOut => {
                if !received.is_empty() {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    (stream, received)
}

fn status_of(response: &[u8]) -> u16 {
    let text = String::from_utf8_lossy(response);
    text.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"))
}

/// 404 for an unknown path, 405 with Allow, 400 for invalid percent-encoding, all as JSON
/// with the connection kept open; 400 and a close for a request that is not HTTP.
fn errors_have_their_status_and_json(target: Target) {
    let server = target.start_doors(&["--persistence", "off"]);
    let agent = agent();
    let (status, body) = get(&agent, &url(&server, "/nope"));
    assert_eq!(status, 404);
    assert!(json(&body)["error"].is_string());
    let response = agent.post(url(&server, "/kv/k")).send("x").expect("POST");
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(
        response.headers().get("allow").map(|v| v.as_bytes()),
        Some(b"GET, PUT, DELETE".as_slice())
    );
    let (status, body) = get(&agent, &url(&server, "/kv/100%25%zz"));
    assert_eq!(status, 400);
    assert!(
        json(&body)["error"]
            .as_str()
            .expect("a message")
            .contains("percent-encoding")
    );
    let (_, received) = raw(&server, b"NOT HTTP AT ALL\r\n\r\n");
    assert_eq!(status_of(&received), 400);
    let text = String::from_utf8_lossy(&received);
    assert!(text.contains("Connection: close"), "{text}");
    let (_, received) = raw(
        &server,
        b"PUT /kv/k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
    );
    assert_eq!(status_of(&received), 411);
}

/// 414 for a long URL, 431 for large headers, 413 for a body over proto-max-bulk-len:
/// each closes that connection while another client keeps being served.
fn limits_close_only_the_offender(target: Target) {
    let server = target.start_doors(&[
        "--persistence",
        "off",
        "--proto-max-bulk-len",
        "1mb",
        "--http-max-url-size",
        "1kb",
        "--http-max-header-size",
        "4kb",
    ]);
    let agent = agent();
    let bystander = agent
        .put(url(&server, "/kv/steady"))
        .send("on")
        .expect("PUT");
    assert_eq!(bystander.status().as_u16(), 204);
    let long = format!("GET /kv/{} HTTP/1.1\r\n\r\n", "k".repeat(2000));
    assert_eq!(status_of(&raw(&server, long.as_bytes()).1), 414);
    let unfinished_long = format!("GET /kv/{}", "k".repeat(5000));
    assert_eq!(status_of(&raw(&server, unfinished_long.as_bytes()).1), 414);
    let big_header = format!("GET /kv/a HTTP/1.1\r\nX-Big: {}\r\n\r\n", "v".repeat(5000));
    assert_eq!(status_of(&raw(&server, big_header.as_bytes()).1), 431);
    let (_, received) = raw(
        &server,
        b"PUT /kv/big HTTP/1.1\r\nContent-Length: 2097152\r\n\r\npartial",
    );
    assert_eq!(status_of(&received), 413);
    assert_eq!(
        get(&agent, &url(&server, "/kv/steady")),
        (200, b"on".to_vec())
    );
    assert_eq!(get(&agent, &url(&server, "/kv/big")).0, 404);
}

/// Keep-alive and pipelining: requests sent in one write are answered in order, each with
/// its Content-Length, on one connection.
fn pipelined_requests_are_answered_in_order(target: Target) {
    let server = target.start_doors(&["--appendfsync", "always"]);
    let mut pipeline = Vec::new();
    for index in 0..50 {
        let body = format!("v{index}");
        pipeline.extend_from_slice(
            format!(
                "PUT /kv/p{index} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
        pipeline.extend_from_slice(format!("GET /kv/p{index} HTTP/1.1\r\n\r\n").as_bytes());
    }
    pipeline.extend_from_slice(b"GET /kv/p7 HTTP/1.1\r\nConnection: close\r\n\r\n");
    let mut stream = TcpStream::connect(("127.0.0.1", server.http_port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream.write_all(&pipeline).expect("send");
    let mut received = Vec::new();
    stream
        .read_to_end(&mut received)
        .expect("read to the close");
    let text = String::from_utf8_lossy(&received).into_owned();
    let mut expected = String::new();
    for index in 0..50 {
        let body = format!("v{index}");
        expected.push_str(
            "HTTP/1.1 204 No Content\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n",
        );
        expected.push_str(&format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: \
             {}\r\n\r\n{body}",
            body.len()
        ));
    }
    expected.push_str(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 2\r\n\
         Connection: close\r\n\r\nv7",
    );
    assert_eq!(text, expected);
}

/// /metrics parses as Prometheus text and carries INFO's figures; /health and /stats.
fn metrics_health_and_stats(target: Target) {
    let server = target.start_doors(&["--persistence", "off"]);
    let agent = agent();
    let mut con = redis(&server);
    let () = con.set("k", "v").expect("SET");
    let _: Option<String> = con.get("k").expect("GET hit");
    let _: Option<String> = con.get("missing").expect("GET miss");
    assert_eq!(get(&agent, &url(&server, "/kv/k")).0, 200);
    let (status, body) = get(&agent, &url(&server, "/metrics"));
    assert_eq!(status, 200);
    let text = String::from_utf8(body).expect("UTF-8");
    let value = |series: &str| -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
            .parse()
            .expect("a number")
    };
    assert_eq!(value("floe_commands_total{command=\"set\"}"), 1.0);
    assert_eq!(value("floe_commands_total{command=\"get\"}"), 3.0);
    assert_eq!(value("floe_keyspace_hits_total"), 2.0);
    assert_eq!(value("floe_keyspace_misses_total"), 1.0);
    assert_eq!(value("floe_keys{db=\"0\"}"), 1.0);
    assert_eq!(
        value("floe_command_duration_seconds_count{command=\"get\"}"),
        3.0
    );
    assert!(value("floe_memory_limit_bytes") > 0.0);
    assert!(value("floe_connected_clients") >= 1.0);
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let (_, number) = line.rsplit_once(' ').expect("name value");
        assert!(number.parse::<f64>().is_ok(), "not a sample: {line}");
    }
    let (status, body) = get(&agent, &url(&server, "/health"));
    assert_eq!((status, json(&body)["status"].clone()), (200, "ok".into()));
    let (status, body) = get(&agent, &url(&server, "/stats"));
    assert_eq!(status, 200);
    let stats = json(&body);
    assert_eq!(stats["stats"]["keyspace_hits"], 2);
    assert_eq!(stats["keyspace"]["db0"], "keys=1");
}

/// With requirepass: 401 without credentials or with a wrong one (counted), 200 with
/// Bearer or Basic; /health stays open.
fn password_needs_basic_or_bearer(target: Target) {
    let server = target.start_doors(&["--persistence", "off", "--requirepass", "s3cret"]);
    let agent = agent();
    let response = agent.get(url(&server, "/kv/k")).call().expect("GET");
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    let response = agent
        .get(url(&server, "/kv/k"))
        .header("Authorization", "Bearer wrong")
        .call()
        .expect("GET");
    assert_eq!(response.status().as_u16(), 401);
    let response = agent
        .put(url(&server, "/kv/k"))
        .header("Authorization", "Bearer s3cret")
        .send("v")
        .expect("PUT");
    assert_eq!(response.status().as_u16(), 204);
    // "default:s3cret" in base64: Basic names a user (requirepass is `default`'s).
    let mut response = agent
        .get(url(&server, "/kv/k"))
        .header("Authorization", "Basic ZGVmYXVsdDpzM2NyZXQ=")
        .call()
        .expect("GET");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.body_mut().read_to_string().expect("body"), "v");
    assert_eq!(get(&agent, &url(&server, "/health")).0, 200);
    let mut response = agent
        .get(url(&server, "/metrics"))
        .header("Authorization", "Bearer s3cret")
        .call()
        .expect("GET");
    let text = response.body_mut().read_to_string().expect("body");
    assert!(text.contains("floe_auth_failures_total 1\n"), "{text}");
}

/// Under `--appendfsync always`, a write HTTP acknowledged is on disk: it survives SIGKILL.
fn acknowledged_write_survives_sigkill(target: Target) {
    let mut server = target.start_doors(&["--appendfsync", "always"]);
    let agent = agent();
    for index in 0..20 {
        let response = agent
            .put(url(&server, &format!("/kv/durable{index}")))
            .send(format!("value{index}"))
            .expect("PUT");
        assert_eq!(response.status().as_u16(), 204);
    }
    server.kill();
    let data = server.dir.join("data");
    let data = data.to_str().expect("a UTF-8 path");
    let restarted = target.start_doors(&["--dir", data]);
    for index in 0..20 {
        assert_eq!(
            get(&agent, &url(&restarted, &format!("/kv/durable{index}"))),
            (200, format!("value{index}").into_bytes())
        );
    }
}

/// `/kv?prefix=` over thousands of keys in four shards, with the prefix index (one page,
/// cursor 0, because SCAN from cursor 0 answers whole from the index), with `--prefix-index
/// no` (pages of a table walk) and with `auto`, the default (the first listing builds the
/// index and is answered from it): the same keys every way, and INFO reports the index's
/// memory only when it is on (for `auto`, not before the first listing).
fn prefix_listing_from_the_index_with_and_without_it(target: Target) {
    let index_bytes = |con: &mut redis::Connection| {
        let info: String = redis::cmd("INFO").arg("memory").query(con).expect("INFO");
        info.lines()
            .find_map(|line| line.strip_prefix("prefix_index_bytes:"))
            .expect("prefix_index_bytes in INFO")
            .trim()
            .parse::<u64>()
            .expect("a number")
    };
    for (switch, expect_one_page) in [("yes", true), ("no", false), ("auto", true)] {
        let server = target.start_doors(&[
            "--persistence",
            "off",
            "--shards",
            "4",
            "--prefix-index",
            switch,
        ]);
        let agent = agent();
        let mut con = redis(&server);
        let mut expected = BTreeSet::new();
        for index in 0..3000 {
            let key = format!("user:{index}");
            if key.starts_with("user:12") {
                expected.insert(key.clone());
            }
            let () = con.set(&key, index).expect("SET");
            let () = con.set(format!("order:{index}"), index).expect("SET");
        }
        let built_at_start = switch == "yes";
        assert_eq!(
            index_bytes(&mut con) > 0,
            built_at_start,
            "{switch} before a search"
        );
        let mut found = BTreeSet::new();
        let mut cursor = "0".to_owned();
        let mut page_count = 0;
        loop {
            page_count += 1;
            assert!(page_count < 10_000, "the listing never ended");
            let path = format!("/kv?prefix=user%3A12&count=5&cursor={cursor}");
            let (status, body) = get(&agent, &url(&server, &path));
            assert_eq!(status, 200);
            let body = json(&body);
            for key in body["keys"].as_array().expect("keys") {
                found.insert(key.as_str().expect("a string").to_owned());
            }
            cursor = body["cursor"].as_str().expect("cursor").to_owned();
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(found.len(), 111, "user:12, user:120..129, user:1200..1299");
        assert_eq!(found, expected, "prefix-index {switch}");
        if expect_one_page {
            assert_eq!(page_count, 1, "the index answers in one page");
        }
        let bytes = index_bytes(&mut con);
        assert_eq!(bytes > 0, expect_one_page, "prefix_index_bytes:{bytes}");
    }
}
