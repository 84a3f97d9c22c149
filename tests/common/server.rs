//! A RESP server process for end-to-end tests, `floe serve` or a real `redis-server`, and a
//! raw RESP client to talk to it byte for byte.
//!
//! [`Server`] starts the process on a free loopback port, waits (bounded) until its log says
//! it is ready and the port accepts a connection, keeps its stdout and stderr in a log file in
//! a scratch directory, and stops it by PID on drop: SIGTERM, then SIGKILL if it has not
//! exited within a bound. The port is found by binding port 0 and closing the socket; if
//! another process takes it in between, the server fails to listen and is started again on a
//! new port (a few times).
//!
//! [`Client`] sends commands as RESP arrays and reads back exactly one complete reply as raw
//! bytes. Its framer ([`reply_size`]) is total over RESP2 and RESP3: it never panics, it
//! says `Incomplete` until a whole reply is buffered, and it names the first byte that no
//! reply type explains.

use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// The line both servers print once they listen (redis capitalises it; compared ignoring case).
const READY_LINE: &str = "ready to accept connections";
/// How long a server may take to start listening before the test gives up on it.
const START_WAIT_MAX: Duration = Duration::from_secs(30);
/// How long a server may take to exit after SIGTERM before it gets SIGKILL.
const STOP_WAIT_MAX: Duration = Duration::from_secs(10);
/// How many ports to try when another process takes the free port first.
const START_ATTEMPTS_MAX: u32 = 5;
/// How long a client waits for one reply before the test fails.
pub const REPLY_WAIT_MAX: Duration = Duration::from_secs(30);
/// Nesting bound of the framer, far above anything a server under test sends.
const REPLY_DEPTH_MAX: usize = 64;

/// Which server a test talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `floe serve`, the binary cargo built for these tests, with its default event loop
    /// (`--io auto`: io_uring where the kernel allows it).
    Floe,
    /// `floe serve --io epoll`: the other event loop, which must pass the same tests.
    FloeEpoll,
    /// The system's `redis-server` (installed by `.ci/install-deps`).
    Redis,
}

impl Target {
    /// Starts a fresh server of this kind with default options (`--persistence off` for floe).
    pub fn start(self) -> Server {
        match self {
            Target::Floe => Server::floe(&["--persistence", "off"]),
            Target::FloeEpoll => Server::floe(&["--persistence", "off", "--io", "epoll"]),
            Target::Redis => Server::redis(),
        }
    }

    /// Starts a fresh server of this kind: floe with `--persistence off` and `args` (on
    /// its epoll loop for [`Target::FloeEpoll`]); Redis with its defaults (`args` are
    /// floe's options).
    pub fn start_with(self, args: &[&str]) -> Server {
        let mut all = vec!["--persistence", "off"];
        all.extend_from_slice(args);
        match self {
            Target::Floe => Server::floe(&all),
            Target::FloeEpoll => {
                all.extend(["--io", "epoll"]);
                Server::floe(&all)
            }
            Target::Redis => Server::redis(),
        }
    }

    /// Starts floe on this event loop with its HTTP and Pizzaria doors on free ports, with
    /// `args` added (persistence stays on unless `args` turn it off).
    ///
    /// # Panics
    ///
    /// For [`Target::Redis`], which has no such doors.
    pub fn start_doors(self, args: &[&str]) -> Server {
        let mut all: Vec<&str> = args.to_vec();
        match self {
            Target::Floe => {}
            Target::FloeEpoll => all.extend(["--io", "epoll"]),
            Target::Redis => panic!("redis has no HTTP or Pizzaria door"),
        }
        Server::floe_doors(&all)
    }

    /// The name used in reports and scratch directories.
    pub fn name(self) -> &'static str {
        match self {
            Target::Floe => "floe",
            Target::FloeEpoll => "floe-epoll",
            Target::Redis => "redis",
        }
    }
}

/// A running server process; stopped (SIGTERM, then SIGKILL) on drop.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// The loopback port it listens on.
    pub port: u16,
    /// floe's HTTP door's port (0: off, the harness's default).
    pub http_port: u16,
    /// floe's Pizzaria door's port (0: off).
    pub pizzaria_port: u16,
    /// `floe` or `redis`, for messages.
    pub name: &'static str,
    /// Its stdout and stderr, together.
    pub log: PathBuf,
    /// Its scratch directory (the log and, for floe, `--dir` live here).
    pub dir: PathBuf,
}

impl Server {
    /// Starts `floe serve --port P --bind 127.0.0.1 --dir <scratch>/data --http-port off
    /// <args>`; `args` may carry its own `--dir`, `--bind` or `--http-port`, which then
    /// replaces the default one. (The HTTP door is off unless asked for: its default port,
    /// 4206, would be shared by every test server.)
    pub fn floe(args: &[&str]) -> Self {
        Self::floe_with_doors(args, false)
    }

    /// As [`Server::floe`], with the HTTP and Pizzaria doors on free loopback ports
    /// ([`Server::http_port`], [`Server::pizzaria_port`]).
    pub fn floe_doors(args: &[&str]) -> Self {
        Self::floe_with_doors(args, true)
    }

    fn floe_with_doors(args: &[&str], doors: bool) -> Self {
        let dir = server_scratch("floe");
        let data = dir.join("data");
        let own_dir = args.contains(&"--dir");
        let own_bind = args.contains(&"--bind");
        let own_http = args.contains(&"--http-port");
        let door_ports = std::cell::Cell::new((0, 0));
        let mut server = Self::start("floe", dir, |port| {
            let mut command = Command::new(env!("CARGO_BIN_EXE_floe"));
            command.arg("serve");
            command.args(["--port", &port.to_string()]);
            if doors {
                let ports = (free_port(), free_port());
                door_ports.set(ports);
                command.args(["--http-port", &ports.0.to_string()]);
                command.args(["--pizzaria-port", &ports.1.to_string()]);
            } else if !own_http {
                command.args(["--http-port", "off"]);
            }
            if !own_bind {
                command.args(["--bind", "127.0.0.1"]);
            }
            if !own_dir {
                command.arg("--dir").arg(&data);
            }
            command.args(args);
            command
        });
        (server.http_port, server.pizzaria_port) = door_ports.get();
        server
    }

    /// Starts the system's `redis-server` with no persistence, in the foreground.
    ///
    /// # Panics
    ///
    /// When `redis-server` is not installed: the tests that compare with it must fail then,
    /// never pass by skipping.
    pub fn redis() -> Self {
        Self::redis_with(&[])
    }

    /// As [`Server::redis`], with `args` (redis-server's options) added.
    pub fn redis_with(args: &[&str]) -> Self {
        require_redis_binary("redis-server");
        let dir = server_scratch("redis");
        let work = dir.clone();
        Self::start("redis", dir, |port| {
            let mut command = Command::new("redis-server");
            command.args(["--port", &port.to_string(), "--bind", "127.0.0.1"]);
            command.args(["--save", "", "--appendonly", "no", "--daemonize", "no"]);
            command.arg("--dir").arg(&work);
            command.args(args);
            command
        })
    }

    /// Starts the system's `redis-server` in cluster mode (`--cluster-enabled yes`, its
    /// nodes file in the scratch directory), serving no slot until told to.
    pub fn redis_cluster() -> Self {
        require_redis_binary("redis-server");
        let dir = server_scratch("redis-cluster");
        let work = dir.clone();
        Self::start("redis", dir, |port| {
            let mut command = Command::new("redis-server");
            command.args(["--port", &port.to_string(), "--bind", "127.0.0.1"]);
            command.args(["--save", "", "--appendonly", "no", "--daemonize", "no"]);
            command.args(["--cluster-enabled", "yes"]);
            command
                .arg("--cluster-config-file")
                .arg(work.join("nodes.conf"));
            command.arg("--dir").arg(&work);
            command
        })
    }

    /// Starts the command `build(port)` makes, on a fresh free port per attempt, and waits
    /// until it is ready.
    fn start(name: &'static str, dir: PathBuf, build: impl Fn(u16) -> Command) -> Self {
        let log = dir.join(format!("{name}.log"));
        for attempt in 1..=START_ATTEMPTS_MAX {
            let port = free_port();
            let log_file = fs::File::create(&log).expect("create the server log");
            let child = build(port)
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().expect("clone the log file handle"))
                .stderr(log_file)
                .spawn()
                .unwrap_or_else(|error| panic!("start {name}: {error}"));
            let mut server = Server {
                child,
                port,
                http_port: 0,
                pizzaria_port: 0,
                name,
                log: log.clone(),
                dir: dir.clone(),
            };
            match server.wait_ready() {
                Ok(()) => return server,
                Err(text) if attempt < START_ATTEMPTS_MAX && port_taken(&text) => {
                    // Someone took the port between our probe and the server's bind: retry.
                    drop(server);
                }
                Err(text) => panic!(
                    "{name} did not become ready on port {port} (attempt {attempt}); \
                     its log {}:\n{text}",
                    log.display()
                ),
            }
        }
        unreachable!("every attempt either returns or panics");
    }

    /// Polls until the log says ready and the port accepts a connection; `Err(log text)` if
    /// the process exits or the bound passes first.
    fn wait_ready(&mut self) -> Result<(), String> {
        let started = Instant::now();
        loop {
            let text = fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(status) = self.child.try_wait().expect("poll the server process") {
                return Err(format!("{text}\n[process exited: {status}]"));
            }
            let ready = text.to_ascii_lowercase().contains(READY_LINE);
            if ready && TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if started.elapsed() > START_WAIT_MAX {
                return Err(format!(
                    "{text}\n[not ready after {START_WAIT_MAX:?}: no line containing \
                     {READY_LINE:?}, or the port refused connections]"
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// A new raw RESP client connected to this server.
    pub fn client(&self) -> Client {
        Client::connect(self.port)
    }

    /// `redis://127.0.0.1:PORT/` plus `suffix` (e.g. `?protocol=resp3`), for client crates.
    pub fn url(&self, suffix: &str) -> String {
        format!("redis://127.0.0.1:{}/{suffix}", self.port)
    }

    /// What the server has logged so far.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, then reap: the process gets no chance to flush anything.
    pub fn kill(&mut self) {
        // An error means it has already exited; the wait below reaps it either way.
        let _killed = self.child.kill();
        self.child.wait().expect("reap the killed server");
    }

    /// SIGTERM, then waits (bounded) for the exit; returns how it exited.
    pub fn terminate(&mut self) -> ExitStatus {
        self.sigterm();
        self.wait_exit()
    }

    /// Sends SIGTERM and returns at once.
    pub fn sigterm(&self) {
        let termed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill -TERM");
        assert!(termed.success(), "kill -TERM {} failed", self.child.id());
    }

    /// Waits (bounded by the stop bound) for the process to exit on its own (SHUTDOWN);
    /// panics with its log if it does not.
    pub fn wait_exit(&mut self) -> ExitStatus {
        self.wait_exit_within(STOP_WAIT_MAX)
    }

    /// Waits at most `bound` for the process to exit; panics with its log if it does not.
    pub fn wait_exit_within(&mut self, bound: Duration) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the server process") {
                return status;
            }
            assert!(
                started.elapsed() < bound,
                "{} did not exit within {bound:?}; its log:\n{}",
                self.name,
                self.log_text()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// A size field of /proc/PID/status in KiB: `VmRSS` (resident), `VmData` (heap and
    /// anonymous mappings, reserved or not).
    pub fn status_kib(&self, field: &str) -> u64 {
        let path = format!("/proc/{}/status", self.child.id());
        let status = fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} line in {path}:\n{status}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // `kill` rather than libc: the tests stay free of unsafe code (as tests/cli.rs does).
        let termed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        if termed.is_ok_and(|status| status.success()) {
            let started = Instant::now();
            while started.elapsed() < STOP_WAIT_MAX {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
        // It ignored SIGTERM for too long, or `kill` failed: SIGKILL and reap. Errors here
        // mean it has already gone, which is what we want.
        let _killed = self.child.kill();
        let _reaped = self.child.wait();
    }
}

/// Panics with the install hint when `binary` (a redis program) is not on PATH.
pub fn require_redis_binary(binary: &str) {
    require_binary(
        binary,
        "these tests compare floe with a real Redis: run `.ci/install-deps` (as root) to \
         install redis-server and redis-tools",
    );
}

/// Panics with `hint` when `binary --version` does not run.
pub fn require_binary(binary: &str, hint: &str) {
    let found = Command::new(binary)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    assert!(found, "`{binary}` is not installed; {hint}");
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind a free loopback port");
    listener.local_addr().expect("the bound address").port()
}

/// A free loopback port below the kernel's ephemeral range, for a server that must come
/// back on the same port after it was killed. Ports from [`free_port`] (a bind to port 0)
/// come from that range, so while this server is down no other test's server can take its
/// port; another test picking this range too starts elsewhere in it.
pub fn fixed_port() -> u16 {
    let ephemeral_low = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    let low = 10_000_u16.min(ephemeral_low / 2);
    let span = ephemeral_low - low;
    static PICKED: AtomicU32 = AtomicU32::new(0);
    let nonce = std::process::id() ^ PICKED.fetch_add(7919, Ordering::Relaxed);
    let start = u16::try_from(nonce % u32::from(span)).unwrap_or(0);
    (0..span)
        .map(|step| low + (start + step) % span)
        .find(|&port| TcpListener::bind(("127.0.0.1", port)).is_ok())
        .expect("a free loopback port below the ephemeral range")
}

/// Whether a server's log says its port was already in use.
fn port_taken(log: &str) -> bool {
    let log = log.to_ascii_lowercase();
    log.contains("address already in use") || log.contains("addrinuse")
}

/// A fresh scratch directory for one server of this test process.
fn server_scratch(name: &str) -> PathBuf {
    static SERVER_COUNT: AtomicU32 = AtomicU32::new(0);
    let count = SERVER_COUNT.fetch_add(1, Ordering::Relaxed);
    super::scratch(&format!("server-{name}-{}-{count}", std::process::id()))
}

/// A raw RESP connection: what is sent and received are bytes, never interpreted except to
/// find where one reply ends.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    /// Bytes read but not yet returned (a pipelined reply's successors).
    buffer: Vec<u8>,
}

impl Client {
    /// Connects to `127.0.0.1:port` with a read timeout of [`REPLY_WAIT_MAX`].
    pub fn connect(port: u16) -> Self {
        Self::connect_to(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    /// Connects to `address` with a read timeout of [`REPLY_WAIT_MAX`].
    pub fn connect_to(address: SocketAddr) -> Self {
        let stream = TcpStream::connect(address)
            .unwrap_or_else(|error| panic!("connect to {address}: {error}"));
        stream
            .set_read_timeout(Some(REPLY_WAIT_MAX))
            .expect("set the read timeout");
        stream.set_nodelay(true).expect("set TCP_NODELAY");
        Self {
            stream,
            buffer: Vec::new(),
        }
    }

    /// Sends raw bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send to the server");
    }

    /// Sends raw bytes; `false` if the server closed first (a client it refuses mid-send).
    pub fn try_send(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).is_ok()
    }

    /// Sends one command as a RESP array of bulk strings and returns its raw reply.
    pub fn command(&mut self, arguments: &[&[u8]]) -> Vec<u8> {
        self.send(&encode_command(arguments));
        self.reply()
    }

    /// Reads exactly one complete reply, raw; panics on a timeout, a closed connection or
    /// bytes that are not RESP, showing what was read.
    pub fn reply(&mut self) -> Vec<u8> {
        self.try_reply()
            .unwrap_or_else(|message| panic!("{message}"))
    }

    /// Sends one command and reads its reply; `Err` says why there is none (the server
    /// closed or died: what a writer racing a SIGKILL expects).
    pub fn try_command(&mut self, arguments: &[&[u8]]) -> Result<Vec<u8>, String> {
        self.stream
            .write_all(&encode_command(arguments))
            .map_err(|error| format!("send: {error}"))?;
        self.try_reply()
    }

    /// Reads exactly one complete reply, raw, or says why it could not.
    pub fn try_reply(&mut self) -> Result<Vec<u8>, String> {
        let mut chunk = [0_u8; 16 * 1024];
        loop {
            match reply_size(&self.buffer) {
                Ok(Some(size)) => return Ok(self.buffer.drain(..size).collect()),
                Ok(None) => {}
                Err(error) => {
                    return Err(format!(
                        "the server sent bytes that are not RESP ({error}): {}",
                        escape(&self.buffer[..self.buffer.len().min(400)])
                    ));
                }
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    return Err(format!(
                        "the server closed the connection in the middle of a reply; read so \
                         far: {}",
                        escape(&self.buffer[..self.buffer.len().min(400)])
                    ));
                }
                Ok(count) => self.buffer.extend_from_slice(&chunk[..count]),
                Err(error) => {
                    return Err(format!(
                        "no complete reply within the read timeout ({error}); read so far: {}",
                        escape(&self.buffer[..self.buffer.len().min(400)])
                    ));
                }
            }
        }
    }

    /// Reads until the server closes the connection (EOF or a reset) and returns what came
    /// before; panics if it is still open after `bound`.
    pub fn read_until_closed(&mut self, bound: Duration) -> Vec<u8> {
        let started = Instant::now();
        let mut received = std::mem::take(&mut self.buffer);
        let mut chunk = [0_u8; 64 * 1024];
        self.stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("set the read timeout");
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return received,
                Ok(count) => received.extend_from_slice(&chunk[..count]),
                Err(error)
                    if matches!(
                        error.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                // A reset is a close too (the server closed with our bytes unread).
                Err(_) => return received,
            }
            assert!(
                started.elapsed() < bound,
                "the server kept the connection open for {bound:?}; read {} bytes: {}",
                received.len(),
                escape(&received[..received.len().min(400)])
            );
        }
    }

    /// Shuts down the write half: the server sees end of input, and may still reply.
    pub fn shutdown_write(&mut self) {
        self.stream
            .shutdown(Shutdown::Write)
            .expect("shut down the write half");
    }

    /// Sends `bytes` one byte per write (TCP_NODELAY is on, so each is its own segment as
    /// far as the sender can make it).
    pub fn send_bytewise(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.stream
                .write_all(std::slice::from_ref(byte))
                .expect("send one byte");
            self.stream.flush().expect("flush");
        }
    }

    /// Closes the write half and returns everything the server sends until it closes.
    pub fn close_and_drain(mut self) -> Vec<u8> {
        // An error means the peer has already gone; the read below then ends at once.
        let _shut = self.stream.shutdown(Shutdown::Write);
        let mut rest = std::mem::take(&mut self.buffer);
        let _read = self.stream.read_to_end(&mut rest);
        rest
    }
}

/// One command as a RESP array of bulk strings.
pub fn encode_command(arguments: &[&[u8]]) -> Vec<u8> {
    let mut bytes = format!("*{}\r\n", arguments.len()).into_bytes();
    for argument in arguments {
        bytes.extend_from_slice(format!("${}\r\n", argument.len()).as_bytes());
        bytes.extend_from_slice(argument);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes
}

/// Why bytes are not a RESP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// A byte at `offset` that starts no reply type.
    UnknownType { offset: usize, byte: u8 },
    /// A length or count that is not a decimal integer >= -1.
    BadLength { offset: usize },
    /// A bulk payload not followed by CRLF.
    MissingCrlf { offset: usize },
    /// Aggregates nested deeper than the framer's bound.
    TooDeep { offset: usize },
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::UnknownType { offset, byte } => {
                write!(
                    formatter,
                    "unknown type byte 0x{byte:02x} at offset {offset}"
                )
            }
            FrameError::BadLength { offset } => write!(formatter, "bad length at {offset}"),
            FrameError::MissingCrlf { offset } => {
                write!(formatter, "no CRLF after the payload at {offset}")
            }
            FrameError::TooDeep { offset } => write!(formatter, "nested too deep at {offset}"),
        }
    }
}

/// The size in bytes of the one complete reply at the start of `bytes`; `Ok(None)` when more
/// bytes are needed. Covers RESP2 (`+ - : $ *`) and RESP3 (`_ , # ! = ( % ~ > |`); an
/// attribute (`|`) is framed together with the reply it annotates.
pub fn reply_size(bytes: &[u8]) -> Result<Option<usize>, FrameError> {
    frame_at(bytes, 0, 0)
}

/// Frames one reply starting at `offset`; returns the offset just past it.
fn frame_at(bytes: &[u8], offset: usize, depth: usize) -> Result<Option<usize>, FrameError> {
    if depth > REPLY_DEPTH_MAX {
        return Err(FrameError::TooDeep { offset });
    }
    let Some(&kind) = bytes.get(offset) else {
        return Ok(None);
    };
    let Some(line_end) = find_crlf(bytes, offset + 1) else {
        return Ok(None);
    };
    let line = &bytes[offset + 1..line_end];
    let after_line = line_end + 2;
    match kind {
        // One line: simple string, error, integer, null, double, boolean, big number.
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => Ok(Some(after_line)),
        // Length-prefixed payload: bulk string, blob error, verbatim string.
        b'$' | b'!' | b'=' => {
            let length = parse_length(line, offset)?;
            let Ok(size) = usize::try_from(length) else {
                return Ok(Some(after_line)); // `$-1`: the RESP2 null bulk
            };
            // Saturating: a hostile length near u64::MAX is just a payload still to come.
            let payload_end = after_line.saturating_add(size);
            if bytes.len() < payload_end.saturating_add(2) {
                return Ok(None);
            }
            if &bytes[payload_end..payload_end + 2] != b"\r\n" {
                return Err(FrameError::MissingCrlf {
                    offset: payload_end,
                });
            }
            Ok(Some(payload_end + 2))
        }
        // Aggregates: array, set, push (n elements); map, attribute (n pairs).
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let count = parse_length(line, offset)?;
            let Ok(count) = usize::try_from(count) else {
                return Ok(Some(after_line)); // `*-1`: the RESP2 null array
            };
            let elements = if matches!(kind, b'%' | b'|') {
                count.saturating_mul(2)
            } else {
                count
            };
            let mut cursor = after_line;
            for _ in 0..elements {
                match frame_at(bytes, cursor, depth + 1)? {
                    Some(next) => cursor = next,
                    None => return Ok(None),
                }
            }
            if kind == b'|' {
                // An attribute precedes the reply it describes: frame that one too.
                return frame_at(bytes, cursor, depth + 1);
            }
            Ok(Some(cursor))
        }
        byte => Err(FrameError::UnknownType { offset, byte }),
    }
}

/// The index of the next `\r\n` at or after `from`.
fn find_crlf(bytes: &[u8], from: usize) -> Option<usize> {
    let tail = bytes.get(from..)?;
    tail.windows(2)
        .position(|pair| pair == b"\r\n")
        .map(|index| from + index)
}

/// A length or count: a decimal integer, -1 for null.
fn parse_length(line: &[u8], offset: usize) -> Result<i64, FrameError> {
    let text = std::str::from_utf8(line).map_err(|_| FrameError::BadLength { offset })?;
    match text.parse::<i64>() {
        Ok(length) if length >= -1 => Ok(length),
        _ => Err(FrameError::BadLength { offset }),
    }
}

/// Bytes as a quoted, printable string: `\r`, `\n`, `\t`, `\"`, `\\`, and `\xHH` for every
/// other byte outside printable ASCII; `|` too, so the text fits a Markdown table cell.
pub fn escape(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() + 2);
    text.push('"');
    for &byte in bytes {
        match byte {
            b'\r' => text.push_str("\\r"),
            b'\n' => text.push_str("\\n"),
            b'\t' => text.push_str("\\t"),
            b'"' => text.push_str("\\\""),
            b'\\' => text.push_str("\\\\"),
            b'|' => text.push_str("\\x7c"),
            b' '..=b'~' => text.push(char::from(byte)),
            _ => text.push_str(&format!("\\x{byte:02x}")),
        }
    }
    text.push('"');
    text
}

/// One `redis`, one `floe` (io_uring) and one `floe_epoll` test per check, in a module named
/// after the check: both of floe's event loops must pass what Redis passes. The caller has
/// `Target` in scope.
#[allow(unused_macros, reason = "only the client suites use it")]
macro_rules! against_both {
    ($($check:ident),* $(,)?) => {
        $(
            mod $check {
                #[test]
                fn redis() {
                    super::$check(super::Target::Redis);
                }

                #[test]
                fn floe() {
                    super::$check(super::Target::Floe);
                }

                #[test]
                fn floe_epoll() {
                    super::$check(super::Target::FloeEpoll);
                }
            }
        )*
    };
}
#[allow(unused_imports, reason = "only the client suites use it")]
pub(crate) use against_both;

/// One `floe` (io_uring) and one `floe_epoll` test per check, in a module named after the
/// check, for what only floe has (its HTTP and Pizzaria doors). The caller has `Target`
/// in scope.
#[allow(unused_macros, reason = "only the door suites use it")]
macro_rules! against_floe_loops {
    ($($check:ident),* $(,)?) => {
        $(
            mod $check {
                #[test]
                fn floe() {
                    super::$check(super::Target::Floe);
                }

                #[test]
                fn floe_epoll() {
                    super::$check(super::Target::FloeEpoll);
                }
            }
        )*
    };
}
#[allow(unused_imports, reason = "only the door suites use it")]
pub(crate) use against_floe_loops;
