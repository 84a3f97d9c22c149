//! The Pizzaria door of `floe serve` (PizzaKV's `\r`-delimited protocol), over raw TCP:
//! the exact replies of the seed's README, 1,000 requests pipelined in one write answered
//! in order, values holding `|`, data shared with RESP, the line limit and the password.
//! Every check runs on both event loops (io_uring and epoll).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::server::{Server, Target};
use redis::Commands;

common::server::against_floe_loops!(
    replies_are_the_seeds,
    a_thousand_pipelined_requests_in_one_write,
    data_is_shared_with_resp,
    an_endless_line_is_refused_and_closed,
    password_needs_auth_first,
    reads_a_prefix_from_the_index_with_and_without_it,
);

/// A raw Pizzaria connection.
struct Pizzaria {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Pizzaria {
    fn connect(server: &Server) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", server.pizzaria_port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        Self {
            stream,
            buffer: Vec::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// Reads until `size` bytes arrived; returns them.
    fn read_exactly(&mut self, size: usize) -> Vec<u8> {
        let mut chunk = [0_u8; 65536];
        while self.buffer.len() < size {
            let count = self.stream.read(&mut chunk).expect("read");
            assert!(
                count > 0,
                "closed after {:?}",
                String::from_utf8_lossy(&self.buffer)
            );
            self.buffer.extend_from_slice(&chunk[..count]);
        }
        self.buffer.drain(..size).collect()
    }

    /// Sends `request` and reads exactly `expected.len()` bytes back.
    fn exchange(&mut self, request: &[u8], expected: &[u8]) {
        self.send(request);
        let received = self.read_exactly(expected.len());
        assert_eq!(
            String::from_utf8_lossy(&received),
            String::from_utf8_lossy(expected),
            "reply to {:?}",
            String::from_utf8_lossy(request)
        );
    }
}

/// `write`, `read`, `delete`, `keys`, `reads`, `status` and what is not a request.
fn replies_are_the_seeds(target: Target) {
    let server = target.start_doors(&["--persistence", "off"]);
    let mut client = Pizzaria::connect(&server);
    client.exchange(b"status\r", b"success\r");
    client.exchange(b"keys\r", b"\r");
    client.exchange(b"write pizza|margherita\r", b"success\r");
    client.exchange(b"read pizza\r", b"margherita\r");
    client.exchange(b"write pie|a|b|c\r", b"success\r");
    client.exchange(b"read pie\r", b"a|b|c\r");
    client.exchange(b"read nothing\r", b"error\r");
    client.send(b"reads pi\r");
    let mut values = client.read_exactly(b"margherita\ra|b|c\r".len());
    values.sort_unstable();
    let mut expected = b"margherita\ra|b|c\r".to_vec();
    expected.sort_unstable();
    assert_eq!(values, expected);
    client.exchange(b"reads zz\r", b"\r");
    client.exchange(b"delete pie\r", b"success\r");
    client.exchange(b"delete pie\r", b"error\r");
    client.exchange(b"keys\r", b"pizza\r");
    client.exchange(b"write nobar\r", b"error\r");
    client.exchange(b"write |empty-key\r", b"error\r");
    client.exchange(b"bake pizza\r", b"error\r");
    client.exchange(b"status\r", b"success\r");
}

/// 1,000 requests in one write: 1,000 replies, in order.
fn a_thousand_pipelined_requests_in_one_write(target: Target) {
    let server = target.start_doors(&["--appendfsync", "always"]);
    let mut client = Pizzaria::connect(&server);
    let mut requests = Vec::new();
    let mut expected = Vec::new();
    for index in 0..500 {
        requests.extend_from_slice(format!("write k{index}|v{index}|x\r").as_bytes());
        expected.extend_from_slice(b"success\r");
        requests.extend_from_slice(format!("read k{index}\r").as_bytes());
        expected.extend_from_slice(format!("v{index}|x\r").as_bytes());
    }
    client.exchange(&requests, &expected);
}

/// What Pizzaria writes RESP reads, and the other way round.
fn data_is_shared_with_resp(target: Target) {
    let server = target.start_doors(&["--persistence", "off"]);
    let mut client = Pizzaria::connect(&server);
    let mut con = redis::Client::open(server.url(""))
        .expect("URL")
        .get_connection()
        .expect("connect over RESP");
    client.exchange(b"write crust|thin\r", b"success\r");
    let crust: String = con.get("crust").expect("GET");
    assert_eq!(crust, "thin");
    let () = con.set("sauce", "tomato|basil").expect("SET");
    client.exchange(b"read sauce\r", b"tomato|basil\r");
    client.exchange(b"delete crust\r", b"success\r");
    let crust: Option<String> = con.get("crust").expect("GET");
    assert_eq!(crust, None);
    // Lines ended by \r\n work too: the \n starts the next line and is skipped.
    client.exchange(b"read sauce\r\nstatus\r\n", b"tomato|basil\rsuccess\r");
}

/// A line longer than proto-max-bulk-len plus the overhead gets `error` and a close; other
/// clients keep being served.
fn an_endless_line_is_refused_and_closed(target: Target) {
    let server = target.start_doors(&["--persistence", "off", "--proto-max-bulk-len", "1mb"]);
    let mut bystander = Pizzaria::connect(&server);
    bystander.exchange(b"write steady|on\r", b"success\r");
    let mut offender = Pizzaria::connect(&server);
    let line = vec![b'a'; 2 << 20];
    // The server may close before it read everything: ignore a failed send.
    let _sent = offender.stream.write_all(&line);
    let started = Instant::now();
    let mut received = Vec::new();
    let mut chunk = [0_u8; 1024];
    loop {
        match offender.stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(count) => received.extend_from_slice(&chunk[..count]),
        }
        assert!(started.elapsed() < Duration::from_secs(30), "never closed");
    }
    assert_eq!(received, b"error\r");
    bystander.exchange(b"read steady\r", b"on\r");
}

/// With requirepass, requests before `auth <password>` get `error`.
fn password_needs_auth_first(target: Target) {
    let server = target.start_doors(&["--persistence", "off", "--requirepass", "pw"]);
    let mut client = Pizzaria::connect(&server);
    client.exchange(b"write k|v\r", b"error\r");
    client.exchange(b"auth wrong\r", b"error\r");
    client.exchange(b"auth pw\r", b"success\r");
    client.exchange(b"write k|v\r", b"success\r");
    client.exchange(b"read k\r", b"v\r");
}

/// `reads prefix` over thousands of keys in four shards lists the values of exactly the
/// keys with the prefix, with the prefix index (the default) and with `--prefix-index no`;
/// a prefix holding a glob byte is taken literally.
fn reads_a_prefix_from_the_index_with_and_without_it(target: Target) {
    for switch in ["yes", "no"] {
        let server = target.start_doors(&[
            "--persistence",
            "off",
            "--shards",
            "4",
            "--prefix-index",
            switch,
        ]);
        let mut client = Pizzaria::connect(&server);
        let mut requests = Vec::new();
        for index in 0..2000 {
            requests.extend_from_slice(format!("write user:{index}|v{index}\r").as_bytes());
            requests.extend_from_slice(format!("write other:{index}|o{index}\r").as_bytes());
        }
        requests.extend_from_slice(b"write us*r:1|star\r");
        client.exchange(&requests, &b"success\r".repeat(4001));
        let mut expected: Vec<String> = (0..2000)
            .map(|index| format!("user:{index}"))
            .filter(|key| key.starts_with("user:12"))
            .map(|key| format!("v{}", &key[5..]))
            .collect();
        expected.sort();
        let reply_size: usize = expected.iter().map(|value| value.len() + 1).sum();
        client.send(b"reads user:12\r");
        let reply = client.read_exactly(reply_size);
        let mut values: Vec<String> = String::from_utf8(reply)
            .expect("UTF-8")
            .split_terminator('\r')
            .map(str::to_owned)
            .collect();
        values.sort();
        assert_eq!(values, expected, "prefix-index {switch}");
        client.exchange(b"reads us*\r", b"star\r");
        client.exchange(b"reads nothing\r", b"\r");
    }
}
