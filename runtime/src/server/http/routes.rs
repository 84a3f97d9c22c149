//! The HTTP door's paths, each a command of the table (or a group of them) and a response.
//!
//! | path | command | success | else |
//! | --- | --- | --- | --- |
//! | `GET /put?key=value` (OrchidDB) | SET | 200 `OK` | 400 |
//! | `GET /get/{key}` (OrchidDB) | GET | 200 the value | 404 |
//! | `GET /delete/{key}` (OrchidDB) | DEL | 200 `OK` | 404 |
//! | `GET /kv/{key}?db=N` | GET | 200 the value | 404 |
//! | `PUT /kv/{key}?ttl=S&db=N` (value: the body) | SET [EX] | 204 | 400 |
//! | `DELETE /kv/{key}?db=N` | DEL | 204 | 404 |
//! | `GET /kv?prefix=p&cursor=c&count=n&db=N` | SCAN MATCH p* | 200 JSON page | 400 |
//! | `POST /batch?db=N` (a JSON array) | MULTI block | 200 JSON results | 400 |
//! | `GET /metrics`, `/health`, `/stats` | | see [`super::metrics`] | 503 |
//!
//! Keys in paths and query values are percent-decoded strictly (a `%` not followed by two
//! hex digits is a 400), so any byte string is a key; `+` is a plus sign, not a space.
//! A key listing gives keys in the same form (bytes outside printable ASCII, and `%`, `/`,
//! `?`, `#`, space and `"`, percent-encoded), so each can be put back into a URL.
//!
//! Invariants: a batch is checked whole before anything runs (a bad operation is a 400
//! and changes nothing), then runs as one MULTI block: one hold of the store lock, one log
//! group, recovered all or nothing. An operation the store refuses while the group runs
//! (out of memory under `noeviction`) fails alone, as in Redis's EXEC: its result says so.

use floe_core::codec::resp::Frame;
use floe_core::constants::DATABASE_COUNT;
use percent_encoding::{AsciiSet, CONTROLS, percent_decode, percent_encode};
use serde_json::{Value, json};

use super::{Http, Request, Response, metrics};
use crate::server::Worker;
use crate::server::connection::{ReplyFrames, execute, execute_group, permitted, prefix_pattern};

/// Operations a batch may hold.
const BATCH_OPERATION_COUNT_MAX: usize = 10_000;

/// Keys a listing page may ask for (`count`; a page may hold a few more, as SCAN's).
const LIST_COUNT_MAX: u64 = 10_000;

/// SCAN steps one listing request runs at most before it answers with the cursor so far.
const LIST_SCAN_STEPS_MAX: usize = 2048;

/// Bytes percent-encoded in key listings: controls, non-ASCII (always), and the characters
/// that would end or change a URL's path.
const KEY_ENCODE_SET: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'?');

/// Runs the request's path.
pub(super) fn route(http: &mut Http, request: &Request<'_>, worker: &mut Worker) -> Response {
    http.session.db = 0;
    let method = request.method;
    let path = request.path;
    let allowed = |allow: &str| {
        let mut response = Response::error(405, &format!("{method} is not allowed here"));
        response.header = Some(format!("Allow: {allow}"));
        response
    };
    let result = if let Some(key) = path.strip_prefix(b"/kv/") {
        match method {
            "GET" | "PUT" | "DELETE" => kv(http, request, key, worker),
            _ => Ok(allowed("GET, PUT, DELETE")),
        }
    } else if path == b"/kv" {
        match method {
            "GET" => list(http, request, worker),
            _ => Ok(allowed("GET")),
        }
    } else if path == b"/batch" {
        match method {
            "POST" => batch(http, request, worker),
            _ => Ok(allowed("POST")),
        }
    } else if path == b"/put" || path.starts_with(b"/get/") || path.starts_with(b"/delete/") {
        match method {
            "GET" => orchid(http, request, worker),
            _ => Ok(allowed("GET")),
        }
    } else if matches!(path, b"/" | b"/metrics" | b"/health" | b"/stats") {
        match method {
            "GET" => Ok(metrics::route(path, worker)),
            _ => Ok(allowed("GET")),
        }
    } else {
        Ok(Response::error(
            404,
            "no such path: try /kv/{key}, /kv?prefix=, /batch, /metrics, /health, /stats or /",
        ))
    };
    result.unwrap_or_else(|message| Response::error(400, &message))
}

/// `/kv/{key}`: GET, PUT (the body is the value; `ttl` in seconds) and DELETE.
fn kv(
    http: &mut Http,
    request: &Request<'_>,
    key: &[u8],
    worker: &mut Worker,
) -> Result<Response, String> {
    let key = decode(key)?;
    let mut ttl = None;
    for (name, value) in query(request.query)? {
        match name.as_slice() {
            b"db" => http.session.db = database(&value)?,
            b"ttl" if request.method == "PUT" => ttl = Some(seconds(&value)?),
            _ => return Err(unknown_parameter(&name)),
        }
    }
    Ok(match request.method {
        "GET" => get(http, &key, worker, "application/octet-stream"),
        "PUT" => {
            let mut args: Vec<&[u8]> = vec![b"SET", &key, request.body];
            let ttl_text = ttl.map(|seconds: u64| seconds.to_string());
            if let Some(text) = &ttl_text {
                args.extend([b"EX".as_slice(), text.as_bytes()]);
            }
            write(
                http,
                &args,
                worker,
                Response::bytes(204, "text/plain", Vec::new()),
            )
        }
        _ => delete(
            http,
            &key,
            worker,
            Response::bytes(204, "text/plain", Vec::new()),
        ),
    })
}

/// OrchidDB's `/put?key=value`, `/get/{key}`, `/delete/{key}` (plain text answers).
fn orchid(http: &mut Http, request: &Request<'_>, worker: &mut Worker) -> Result<Response, String> {
    let ok = || Response::bytes(200, "text/plain", b"OK".to_vec());
    if let Some(key) = request.path.strip_prefix(b"/get/") {
        return Ok(get(http, &decode(key)?, worker, "text/plain"));
    }
    if let Some(key) = request.path.strip_prefix(b"/delete/") {
        return Ok(delete(http, &decode(key)?, worker, ok()));
    }
    let pairs = query(request.query)?;
    let [(key, value)] = pairs.as_slice() else {
        return Err("/put takes one key=value pair: /put?mykey=myvalue".to_owned());
    };
    Ok(write(http, &[b"SET", key, value], worker, ok()))
}

/// GET `key`: its value, or 404.
fn get(http: &mut Http, key: &[u8], worker: &mut Worker, content_type: &'static str) -> Response {
    http.frame.clear();
    let durability = execute(
        worker,
        &mut http.caller,
        &mut http.session,
        &[b"GET", key],
        &mut http.frame,
    );
    match ReplyFrames::new(&http.frame).next() {
        Some(Frame::Bulk(value)) => Response::bytes(200, content_type, value.to_vec()),
        Some(Frame::Error(text)) => store_error(text),
        _ => Response::error(404, "no such key"),
    }
    .after(durability)
}

/// A write (`args`); `success` once it is durable, or the store's error.
fn write(http: &mut Http, args: &[&[u8]], worker: &mut Worker, success: Response) -> Response {
    http.frame.clear();
    let durability = execute(
        worker,
        &mut http.caller,
        &mut http.session,
        args,
        &mut http.frame,
    );
    match ReplyFrames::new(&http.frame).next() {
        Some(Frame::Error(text)) => store_error(text),
        _ => success,
    }
    .after(durability)
}

/// DEL `key`: `success` once durable, 404 when there was no such key.
fn delete(http: &mut Http, key: &[u8], worker: &mut Worker, success: Response) -> Response {
    http.frame.clear();
    let durability = execute(
        worker,
        &mut http.caller,
        &mut http.session,
        &[b"DEL", key],
        &mut http.frame,
    );
    match ReplyFrames::new(&http.frame).next() {
        Some(Frame::Integer(1..)) => success,
        Some(Frame::Error(text)) => store_error(text),
        _ => Response::error(404, "no such key"),
    }
    .after(durability)
}

/// The response to an error reply of the store: 503 when writes are refused (the log
/// failed), 403 when the user may not run it (NOPERM), else 400.
fn store_error(text: &[u8]) -> Response {
    let text = String::from_utf8_lossy(text);
    let status = if text.starts_with("NOPERM") {
        403
    } else if text.starts_with("MISCONF") || text.contains("shutting down") {
        503
    } else {
        400
    };
    Response::error(status, &text)
}

/// `GET /kv?prefix=p&cursor=c&count=n`: one SCAN page of the keys starting with `prefix`.
fn list(http: &mut Http, request: &Request<'_>, worker: &mut Worker) -> Result<Response, String> {
    let mut prefix = Vec::new();
    let mut cursor = b"0".to_vec();
    let mut count = b"100".to_vec();
    for (name, value) in query(request.query)? {
        match name.as_slice() {
            b"db" => http.session.db = database(&value)?,
            b"prefix" => prefix = value,
            b"cursor" => {
                number(&value, u64::MAX).map_err(|_| "cursor: expected a number".to_owned())?;
                cursor = value;
            }
            b"count" => {
                number(&value, LIST_COUNT_MAX)
                    .ok()
                    .filter(|count| *count > 0)
                    .ok_or_else(|| {
                        format!("count: expected a number from 1 to {LIST_COUNT_MAX}")
                    })?;
                count = value;
            }
            _ => return Err(unknown_parameter(&name)),
        }
    }
    let wanted = usize::try_from(number(&count, LIST_COUNT_MAX).unwrap_or(1)).unwrap_or(1);
    let pattern = prefix_pattern(&prefix);
    let mut keys: Vec<String> = Vec::new();
    // With the prefix index on (the default), the first SCAN answers the whole listing
    // from the index (up to SCAN_INDEX_KEYS_MAX keys, cursor 0 back). Otherwise SCAN
    // steps until the page is full or the scan is done: a step visits a few table slots
    // under the store lock, and most hold no matching key, so one SCAN alone would mostly
    // answer empty pages.
    for _ in 0..LIST_SCAN_STEPS_MAX {
        http.frame.clear();
        let args: [&[u8]; 6] = [b"SCAN", &cursor, b"MATCH", &pattern, b"COUNT", &count];
        let _read = execute(
            worker,
            &mut http.caller,
            &mut http.session,
            &args,
            &mut http.frame,
        );
        let mut frames = ReplyFrames::new(&http.frame);
        let (Some(Frame::Array(2)), Some(Frame::Bulk(next))) = (frames.next(), frames.next())
        else {
            return Ok(Response::error(
                500,
                "SCAN answered with an unexpected reply",
            ));
        };
        cursor = next.to_vec();
        keys.extend(frames.filter_map(|frame| match frame {
            Frame::Bulk(key) => Some(percent_encode(key, KEY_ENCODE_SET).to_string()),
            _ => None,
        }));
        if cursor == b"0" || keys.len() >= wanted {
            break;
        }
    }
    let cursor = String::from_utf8_lossy(&cursor).into_owned();
    Ok(Response::json(
        200,
        &json!({ "cursor": cursor, "keys": keys }),
    ))
}

/// One checked operation of a batch.
#[derive(Debug)]
enum Operation {
    Get,
    Set,
    Delete,
}

/// `POST /batch`: a JSON array of `{"op": "set", "key": k, "value": v, "ttl": s}`,
/// `{"op": "get", "key": k}`, `{"op": "delete", "key": k}`; all checked, then run as one
/// MULTI block. Answers `{"results": [...]}`, one per operation, in order.
fn batch(http: &mut Http, request: &Request<'_>, worker: &mut Worker) -> Result<Response, String> {
    for (name, value) in query(request.query)? {
        match name.as_slice() {
            b"db" => http.session.db = database(&value)?,
            _ => return Err(unknown_parameter(&name)),
        }
    }
    let body: Value = serde_json::from_slice(request.body)
        .map_err(|error| format!("the body is not JSON: {error}"))?;
    let Value::Array(items) = body else {
        return Err("the body must be a JSON array of operations".to_owned());
    };
    if items.len() > BATCH_OPERATION_COUNT_MAX {
        return Err(format!(
            "a batch holds at most {BATCH_OPERATION_COUNT_MAX} operations; split it"
        ));
    }
    let store = &worker.db.config().store;
    let key_size_max = usize::try_from(store.key_size_max).unwrap_or(usize::MAX);
    let value_size_max = usize::try_from(store.value_size_max).unwrap_or(usize::MAX);
    let mut operations = Vec::with_capacity(items.len());
    let mut queued: Vec<Vec<Vec<u8>>> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let (operation, args) = batch_operation(item, key_size_max, value_size_max)
            .map_err(|message| format!("operation {index}: {message}; nothing was run"))?;
        operations.push(operation);
        queued.push(args);
    }
    for args in &queued {
        let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        if let Err(text) = permitted(worker, &mut http.caller, &http.session, &args) {
            return Ok(Response::error(403, &format!("{text}; nothing was run")));
        }
    }
    http.frame.clear();
    let durability = match execute_group(worker, &mut http.session, &queued, &mut http.frame) {
        Ok(durability) => durability,
        Err(error) => return Ok(Response::error(503, &error.reply_text())),
    };
    let mut frames = ReplyFrames::new(&http.frame);
    let Some(Frame::Array(count)) = frames.next() else {
        return Ok(Response::error(
            500,
            "the batch answered with an unexpected reply",
        ));
    };
    assert!(count == operations.len(), "count={count}");
    let results: Vec<Value> = operations
        .iter()
        .zip(frames)
        .map(|(operation, frame)| match (operation, frame) {
            (_, Frame::Error(text)) => json!({ "error": String::from_utf8_lossy(text) }),
            (Operation::Get, Frame::Bulk(value)) => match std::str::from_utf8(value) {
                Ok(text) => json!({ "value": text }),
                Err(_) => json!({ "error": "the value is not UTF-8: read it with GET /kv/{key}" }),
            },
            (Operation::Get, _) => json!({ "value": null }),
            (Operation::Set, _) => json!({ "ok": true }),
            (Operation::Delete, frame) => json!({ "deleted": frame == Frame::Integer(1) }),
        })
        .collect();
    Ok(Response::json(200, &json!({ "results": results })).after(durability))
}

/// Checks one batch operation; its command's arguments.
fn batch_operation(
    item: &Value,
    key_size_max: usize,
    value_size_max: usize,
) -> Result<(Operation, Vec<Vec<u8>>), String> {
    let Value::Object(fields) = item else {
        return Err(
            "expected an object such as {\"op\": \"set\", \"key\": \"k\", \"value\": \"v\"}"
                .to_owned(),
        );
    };
    let text = |name: &str| match fields.get(name) {
        Some(Value::String(text)) => Ok(Some(text.as_bytes())),
        None => Ok(None),
        Some(_) => Err(format!("`{name}` must be a string")),
    };
    for name in fields.keys() {
        if !matches!(name.as_str(), "op" | "key" | "value" | "ttl") {
            return Err(format!("unknown field `{name}` (op, key, value, ttl)"));
        }
    }
    let op = text("op")?.ok_or("`op` is missing (set, get or delete)")?;
    let key = text("key")?.ok_or("`key` is missing")?;
    if key.len() > key_size_max {
        return Err(format!("the key is longer than {key_size_max} bytes"));
    }
    let value = text("value")?;
    let ttl = match fields.get("ttl") {
        None => None,
        Some(Value::Number(number)) => Some(
            number
                .as_u64()
                .filter(|seconds| (1..=SECONDS_MAX).contains(seconds))
                .ok_or(format!(
                    "`ttl` must be whole seconds from 1 to {SECONDS_MAX}"
                ))?,
        ),
        Some(_) => return Err("`ttl` must be a number of seconds".to_owned()),
    };
    let extra = |what: &str| format!("`{what}` is only for set");
    match op {
        b"set" => {
            let value = value.ok_or("`value` is missing")?;
            if value.len() > value_size_max {
                return Err(format!("the value is longer than {value_size_max} bytes"));
            }
            let mut args = vec![b"SET".to_vec(), key.to_vec(), value.to_vec()];
            if let Some(seconds) = ttl {
                args.extend([b"EX".to_vec(), seconds.to_string().into_bytes()]);
            }
            Ok((Operation::Set, args))
        }
        b"get" | b"delete" | b"del" if value.is_some() => Err(extra("value")),
        b"get" | b"delete" | b"del" if ttl.is_some() => Err(extra("ttl")),
        b"get" => Ok((Operation::Get, vec![b"GET".to_vec(), key.to_vec()])),
        b"delete" | b"del" => Ok((Operation::Delete, vec![b"DEL".to_vec(), key.to_vec()])),
        _ => Err("`op` must be set, get or delete".to_owned()),
    }
}

/// The largest `ttl` in seconds (a hundred years; Redis's own bound is far above).
const SECONDS_MAX: u64 = 100 * 365 * 24 * 3600;

/// `ttl`: whole seconds, at least 1.
fn seconds(text: &[u8]) -> Result<u64, String> {
    number(text, SECONDS_MAX)
        .ok()
        .filter(|seconds| *seconds > 0)
        .ok_or_else(|| format!("ttl: expected whole seconds from 1 to {SECONDS_MAX}"))
}

/// `db`: a database number below 16.
fn database(text: &[u8]) -> Result<u8, String> {
    number(text, u64::from(DATABASE_COUNT) - 1)
        .ok()
        .and_then(|db| u8::try_from(db).ok())
        .ok_or_else(|| format!("db: expected a database from 0 to {}", DATABASE_COUNT - 1))
}

/// A decimal number up to `most`.
fn number(text: &[u8], most: u64) -> Result<u64, ()> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return Err(());
    }
    std::str::from_utf8(text)
        .ok()
        .and_then(|text| text.parse::<u64>().ok())
        .filter(|number| *number <= most)
        .ok_or(())
}

fn unknown_parameter(name: &[u8]) -> String {
    format!("unknown parameter `{}`", String::from_utf8_lossy(name))
}

/// A decoded query parameter: its name and value.
type Parameter = (Vec<u8>, Vec<u8>);

/// The query's `name=value` pairs, decoded (a pair without `=` has an empty value).
fn query(text: &[u8]) -> Result<Vec<Parameter>, String> {
    text.split(|byte| *byte == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|byte| *byte == b'=') {
                Some(equals) => (&pair[..equals], &pair[equals + 1..]),
                None => (pair, &b""[..]),
            };
            Ok((decode(name)?, decode(value)?))
        })
        .collect()
}

/// Percent-decodes `text`, refusing a `%` not followed by two hex digits.
fn decode(text: &[u8]) -> Result<Vec<u8>, String> {
    for (index, _) in text.iter().enumerate().filter(|(_, byte)| **byte == b'%') {
        let digits = text.get(index + 1..index + 3);
        if !digits.is_some_and(|digits| digits.iter().all(u8::is_ascii_hexdigit)) {
            return Err(format!(
                "invalid percent-encoding at byte {index}: `%` must be followed by two hex \
                 digits (write `%25` for `%`)"
            ));
        }
    }
    Ok(percent_decode(text).collect())
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_is_strict_and_binary_safe() {
        assert_eq!(decode(b"a%00b%FF%2f").unwrap(), b"a\x00b\xff/");
        assert_eq!(decode(b"a+b").unwrap(), b"a+b");
        assert!(decode(b"100%").is_err());
        assert!(decode(b"%zz").is_err());
        assert!(decode(b"%4").is_err());
    }

    #[test]
    fn queries_split_on_ampersand_then_the_first_equals() {
        let pairs = query(b"a=1&b=x%3Dy=z&flag").unwrap();
        assert_eq!(
            pairs,
            [
                (b"a".to_vec(), b"1".to_vec()),
                (b"b".to_vec(), b"x=y=z".to_vec()),
                (b"flag".to_vec(), Vec::new()),
            ]
        );
    }

    #[test]
    fn batch_operations_are_checked_before_anything_runs() {
        let check = |text: &str| batch_operation(&serde_json::from_str(text).unwrap(), 10, 10);
        assert!(check(r#"{"op":"set","key":"k","value":"v","ttl":5}"#).is_ok());
        assert!(check(r#"{"op":"set","key":"k"}"#).is_err());
        assert!(check(r#"{"op":"get","key":"k","value":"v"}"#).is_err());
        assert!(check(r#"{"op":"set","key":"k","value":"0123456789x"}"#).is_err());
        assert!(check(r#"{"op":"nope","key":"k"}"#).is_err());
        assert!(check(r#"{"op":"set","key":"k","value":"v","ttl":0}"#).is_err());
        assert!(check(r#"[1]"#).is_err());
    }
}
