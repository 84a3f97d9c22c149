//! The HTTP door: HTTP/1.1 on `--http-port` (default 4206, on the same `--bind` addresses;
//! `0` or `off` turns it off). Requests are parsed with `httparse`; keep-alive and
//! pipelining work as in RESP: every request in the input is answered, in order, and a
//! write's response waits for its durability like every door's reply.
//!
//! ```text
//!  bytes ─► httparse (line + headers) ─► limits: 414 URL, 431 headers, 413 body, 411 length
//!        ─► auth (a user: Basic or Bearer, 401; INFO for /metrics, /stats, 403) ─► routes::route ─► Db::prepare/apply
//!        ─► response (status, Content-Length, JSON errors) ─► Connection (gated)
//! ```
//!
//! The paths are in [`routes`]; `/metrics` and `/stats` in [`metrics`].
//!
//! Invariants: every response carries `Content-Length`; a request that cannot be framed
//! (malformed, over a limit, a body without a length) is answered and closes the
//! connection, since the next request's start is unknown; a request that can be framed
//! but is wrong (bad path, bad parameter) is answered and the connection stays open.
//! Fault assumptions: a client may send anything, including a body it never finishes
//! (bounded by the limits and `timeout`).

mod metrics;
mod routes;

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use base64::Engine as _;
use floe_core::command::Session;

use super::Worker;
use super::acl::{self, Credentials};
use super::connection::{Connection, Control, Refusal, Step, permitted};
use crate::acl::{Acl, Caller, WRONG_PASSWORD};
use crate::db::Durability;
pub(super) use metrics::Metrics;

/// Headers a request may carry; more gets 431.
const HEADER_COUNT_MAX: usize = 64;

/// Bytes of a request line beyond its target (method, version, spaces, line end).
const REQUEST_LINE_OVERHEAD_SIZE: u64 = 32;

/// One HTTP client's state.
#[derive(Debug)]
pub(super) struct Http {
    /// The database and protocol the command table runs this client's requests in.
    session: Session,
    /// Who the current request runs as (each request carries its own credentials).
    caller: Caller,
    /// `100 Continue` was sent for the request whose body is arriving.
    continued: bool,
    /// Scratch for the command table's reply frame.
    frame: Vec<u8>,
    /// Scratch for the response.
    response: Vec<u8>,
}

/// A framed request: what the routes need.
#[derive(Debug)]
pub(super) struct Request<'r> {
    pub(super) method: &'r str,
    /// The target's path, before any `?` (still percent-encoded).
    pub(super) path: &'r [u8],
    /// The target's query, after `?` (still percent-encoded).
    pub(super) query: &'r [u8],
    pub(super) body: &'r [u8],
}

/// A response, before it is written.
#[derive(Debug)]
pub(super) struct Response {
    pub(super) status: u16,
    pub(super) content_type: &'static str,
    pub(super) body: Vec<u8>,
    /// An extra header line (`Allow: GET` for a 405), without its line end.
    pub(super) header: Option<String>,
    /// What must happen before it may be sent.
    pub(super) durability: Durability,
}

impl Response {
    /// A `status` response with a JSON body.
    pub(super) fn json(status: u16, body: &serde_json::Value) -> Self {
        Self {
            status,
            content_type: "application/json",
            body: body.to_string().into_bytes(),
            header: None,
            durability: Durability::Done,
        }
    }

    /// An error: `{"error": message}`.
    pub(super) fn error(status: u16, message: &str) -> Self {
        Self::json(status, &serde_json::json!({ "error": message }))
    }

    /// A `status` response with a plain text or binary body.
    pub(super) fn bytes(status: u16, content_type: &'static str, body: Vec<u8>) -> Self {
        Self {
            status,
            content_type,
            body,
            header: None,
            durability: Durability::Done,
        }
    }

    /// Gates the response on a write's durability.
    pub(super) fn after(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }
}

impl Http {
    pub(super) fn new(id: u64, acl: &Acl) -> Self {
        Self {
            session: Session::new(id),
            caller: Caller::new(acl),
            continued: false,
            frame: Vec::new(),
            response: Vec::new(),
        }
    }

    /// Frames, checks and runs the request at the start of `input`.
    pub(super) fn step(
        &mut self,
        connection: &mut Connection,
        input: &[u8],
        worker: &mut Worker,
    ) -> Step {
        let limits = &worker.admin.limits;
        let header_size_max = limits.http_header_size_max.load(Ordering::Relaxed);
        let url_size_max = limits.http_url_size_max.load(Ordering::Relaxed);
        let body_size_max = limits.bulk_size_max.load(Ordering::Relaxed);
        let mut headers = [httparse::EMPTY_HEADER; HEADER_COUNT_MAX];
        let mut request = httparse::Request::new(&mut headers);
        let header_size = match request.parse(input) {
            Ok(httparse::Status::Complete(size)) => size,
            Ok(httparse::Status::Partial) => {
                let line_done = input.contains(&b'\n');
                if !line_done && input.len() as u64 > url_size_max + REQUEST_LINE_OVERHEAD_SIZE {
                    return self.fail(connection, worker, 414, "the URL is too long");
                }
                if input.len() as u64 > header_size_max {
                    return self.fail(connection, worker, 431, "the request headers are too large");
                }
                return Step::Incomplete;
            }
            Err(httparse::Error::TooManyHeaders) => {
                return self.fail(connection, worker, 431, "too many request headers");
            }
            Err(error) => {
                let message = format!("malformed request: {error}");
                return self.fail(connection, worker, 400, &message);
            }
        };
        let target = request.path.unwrap_or("/").as_bytes();
        if target.len() as u64 > url_size_max {
            return self.fail(connection, worker, 414, "the URL is too long");
        }
        if header_size as u64 > header_size_max {
            return self.fail(connection, worker, 431, "the request headers are too large");
        }
        let framing = match Framing::read(&request) {
            Ok(framing) => framing,
            Err((status, message)) => return self.fail(connection, worker, status, message),
        };
        if framing.body_size > body_size_max {
            let message =
                format!("the body is larger than proto-max-bulk-len ({body_size_max} bytes)");
            return self.fail(connection, worker, 413, &message);
        }
        let body_size = usize::try_from(framing.body_size).unwrap_or(usize::MAX);
        let Some(body) = input.get(header_size..header_size.saturating_add(body_size)) else {
            if framing.expect_continue && !self.continued {
                self.continued = true;
                connection.queue_reply(b"HTTP/1.1 100 Continue\r\n\r\n");
            }
            return Step::Incomplete;
        };
        self.continued = false;
        connection.last_active = std::time::Instant::now();
        let (path, query) = match target.iter().position(|byte| *byte == b'?') {
            Some(mark) => (&target[..mark], &target[mark + 1..]),
            None => (target, &b""[..]),
        };
        let parsed = Request {
            method: request.method.unwrap_or("GET"),
            path,
            query,
            body,
        };
        let response = match authorize(self, connection, &framing, &parsed, worker) {
            Ok(()) => routes::route(self, &parsed, worker),
            Err(response) => response,
        };
        self.queue(connection, worker, response, framing.close);
        let control = if framing.close {
            Control::CloseAfterFlush
        } else {
            Control::Continue
        };
        Step::Ran {
            consumed: header_size + body_size,
            control,
        }
    }

    /// Answers a request that cannot be framed (or breaks a limit) and closes.
    fn fail(
        &mut self,
        connection: &mut Connection,
        worker: &mut Worker,
        status: u16,
        message: &str,
    ) -> Step {
        self.queue(connection, worker, Response::error(status, message), true);
        Step::Ran {
            consumed: 0,
            control: Control::CloseAfterFlush,
        }
    }

    /// Writes `response` and queues it, gated on its durability.
    fn queue(
        &mut self,
        connection: &mut Connection,
        worker: &mut Worker,
        response: Response,
        close: bool,
    ) {
        self.response.clear();
        write_response(&mut self.response, &response, close);
        let bytes = std::mem::take(&mut self.response);
        connection.queue_gated(&bytes, response.durability, worker);
        self.response = bytes;
    }
}

/// What the headers say about the body and the connection.
#[derive(Debug, Default)]
struct Framing {
    body_size: u64,
    /// Close after this response (`Connection: close`, or HTTP/1.0 without keep-alive).
    close: bool,
    expect_continue: bool,
    /// The `Authorization` header's value.
    authorization: Option<Vec<u8>>,
}

impl Framing {
    fn read(request: &httparse::Request<'_, '_>) -> Result<Self, (u16, &'static str)> {
        let mut framing = Self {
            close: request.version == Some(0),
            ..Self::default()
        };
        let mut length_seen = false;
        for header in request.headers.iter() {
            let name = header.name;
            let value = header.value;
            if name.eq_ignore_ascii_case("content-length") {
                let length = std::str::from_utf8(value)
                    .ok()
                    .filter(|text| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|text| text.parse::<u64>().ok())
                    .ok_or((400, "Content-Length is not a number"))?;
                if length_seen && length != framing.body_size {
                    return Err((400, "conflicting Content-Length headers"));
                }
                length_seen = true;
                framing.body_size = length;
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err((
                    411,
                    "chunked bodies are not supported: send the body with Content-Length",
                ));
            } else if name.eq_ignore_ascii_case("connection") {
                for token in value.split(|byte| *byte == b',') {
                    let token = token.trim_ascii();
                    if token.eq_ignore_ascii_case(b"close") {
                        framing.close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        framing.close = false;
                    }
                }
            } else if name.eq_ignore_ascii_case("expect") {
                framing.expect_continue = value.trim_ascii().eq_ignore_ascii_case(b"100-continue");
            } else if name.eq_ignore_ascii_case("authorization") {
                framing.authorization = Some(value.to_vec());
            }
        }
        Ok(framing)
    }
}

/// Who the request runs as. `/health` needs no one. `Authorization: Basic` logs in as
/// its user (an empty user name is `default`) and `Bearer <token>` as the user whose
/// password the token is; without the header the request runs as `default` when that
/// user needs no password, and is refused with 401 otherwise. `/metrics` and `/stats`
/// need permission to run INFO (403 otherwise); each path's commands are checked as
/// they run.
fn authorize(
    http: &mut Http,
    connection: &Connection,
    framing: &Framing,
    request: &Request<'_>,
    worker: &Worker,
) -> Result<(), Response> {
    let unauthorized = |message: &str| {
        let mut response = Response::error(401, message);
        response.header = Some("WWW-Authenticate: Basic realm=\"floe\"".to_owned());
        response
    };
    if request.path == b"/health" {
        return Ok(());
    }
    let acl = &worker.admin.acl;
    http.caller = match &framing.authorization {
        Some(value) => {
            let credentials = credentials(value)
                .ok_or_else(|| unauthorized("malformed Authorization: use Basic or Bearer"))?;
            acl::http_login(connection, worker, credentials)
                .ok_or_else(|| unauthorized(WRONG_PASSWORD))?
        }
        None => {
            let mut caller = Caller::new(acl);
            if !caller.authenticated(acl) {
                return Err(unauthorized(
                    "authentication required: send Authorization: Basic <user:password> or \
                     Bearer <password>",
                ));
            }
            caller
        }
    };
    connection.info.set_user(http.caller.name());
    if matches!(request.path, b"/metrics" | b"/stats") {
        let args: [&[u8]; 1] = [b"INFO"];
        if let Err(text) = permitted(worker, &mut http.caller, &http.session, &args) {
            return Err(Response::error(403, &text));
        }
    }
    Ok(())
}

/// The credentials of a `Bearer <token>` or `Basic <base64 user:password>` value.
fn credentials(value: &[u8]) -> Option<Credentials> {
    let value = value.trim_ascii();
    let space = value.iter().position(|byte| *byte == b' ')?;
    let (scheme, rest) = (&value[..space], value[space + 1..].trim_ascii());
    if scheme.eq_ignore_ascii_case(b"bearer") {
        return Some(Credentials::Bearer(rest.to_vec()));
    }
    if scheme.eq_ignore_ascii_case(b"basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let colon = decoded.iter().position(|byte| *byte == b':')?;
        let user = match &decoded[..colon] {
            b"" => b"default".to_vec(),
            user => user.to_vec(),
        };
        return Some(Credentials::Basic {
            user,
            password: decoded[colon + 1..].to_vec(),
        });
    }
    None
}

/// The reason phrase of the statuses floe sends.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

/// Writes a whole response: status line, headers (always `Content-Length`), body.
fn write_response(target: &mut Vec<u8>, response: &Response, close: bool) {
    let mut head = String::with_capacity(128);
    // Writing to a String cannot fail.
    let _ = write!(
        head,
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
        response.status,
        reason(response.status),
        response.content_type,
        response.body.len(),
    );
    if let Some(header) = &response.header {
        head.push_str(header);
        head.push_str("\r\n");
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    target.extend_from_slice(head.as_bytes());
    target.extend_from_slice(&response.body);
}

/// The HTTP response to a write the log failed before it settled: 503, with the reason.
pub(super) fn error_reply(target: &mut Vec<u8>, text: &str) {
    write_response(target, &Response::error(503, text), false);
}

/// The HTTP response to a client past `client-query-buffer-limit`: 413, then close.
pub(super) fn too_large_reply(target: &mut Vec<u8>, text: &str) {
    write_response(target, &Response::error(413, text), true);
}

/// What a refused HTTP client is told before it is closed.
pub(super) fn refusal_reply(target: &mut Vec<u8>, reason: Refusal) {
    let response = match reason {
        Refusal::MaxClients => Response::error(503, "max number of clients reached"),
        Refusal::Protected => Response::error(
            403,
            "floe is in protected mode: with no requirepass, only loopback clients are served; \
             set requirepass, or restart with --protected-mode no",
        ),
    };
    write_response(target, &response, true);
}
