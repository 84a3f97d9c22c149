//! `floe cluster create` and `floe cluster show`: the operator's side of the slot map.
//!
//! `create host:port ...` asks each node its id (`CLUSTER MYID`), splits the 16,384 slots
//! evenly in the order the nodes were given (as `redis-cli --cluster create` does), and
//! pushes the whole map to every node with `CLUSTER SETSLOTMAP`; a node refuses a map that
//! has gaps or overlaps or does not name it. `show host:port` prints a node's
//! `CLUSTER NODES`.
//!
//! A small blocking RESP client over one TCP connection per node: each request waits for
//! its one reply (read with floe-core's frame parser, so a malformed reply is an error,
//! never a panic). Connections time out after [`TIMEOUT`].

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::time::Duration;

use floe_core::codec::resp::{Frame, Limits};

use super::map::{Node, SlotMap, even_split};

/// How long a node may take to connect or answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// One reply of a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Value {
    Text(Vec<u8>),
    Integer(i64),
    Error(String),
    Array(Vec<Value>),
    Null,
}

/// `floe cluster create`: the report to print, one line per node.
///
/// # Errors
/// A message naming the node that could not be reached or refused the map.
pub fn create(addresses: &[String]) -> Result<String, String> {
    if addresses.is_empty() {
        return Err("give at least one node as host:port".to_owned());
    }
    let shares = even_split(addresses.len());
    if shares.len() != addresses.len() {
        return Err(format!(
            "{} nodes: a cluster has at most 16384 (one slot each)",
            addresses.len()
        ));
    }
    let mut nodes = Vec::with_capacity(addresses.len());
    for (address, share) in addresses.iter().zip(&shares) {
        let (host, port) = split_address(address)?;
        let id = match request(address, &[b"CLUSTER", b"MYID"])? {
            Value::Text(id) => String::from_utf8_lossy(&id).into_owned(),
            Value::Error(text) => return Err(format!("{address}: {text}")),
            other => {
                return Err(format!(
                    "{address}: unexpected CLUSTER MYID reply {other:?}"
                ));
            }
        };
        nodes.push((Node { id, host, port }, vec![*share]));
    }
    let map = SlotMap::new(nodes)?;
    let words = map.to_words();
    let mut args: Vec<&[u8]> = vec![b"CLUSTER", b"SETSLOTMAP"];
    args.extend(words.iter().map(String::as_bytes));
    let mut report = String::new();
    for (index, (address, node)) in addresses.iter().zip(map.nodes()).enumerate() {
        match request(address, &args)? {
            Value::Text(_) => {}
            Value::Error(text) => return Err(format!("{address}: {text}")),
            other => return Err(format!("{address}: unexpected reply {other:?}")),
        }
        report.push_str(&format!(
            "{address} {} slots {}\n",
            node.id,
            map.ranges_text(index, ",")
        ));
    }
    report.push_str(&format!(
        "OK: {} nodes serve all 16384 slots\n",
        map.nodes().len()
    ));
    Ok(report)
}

/// `floe cluster show`: the node's `CLUSTER NODES` text.
///
/// # Errors
/// A message naming the node that could not be reached or answered with an error.
pub fn show(address: &str) -> Result<String, String> {
    match request(address, &[b"CLUSTER", b"NODES"])? {
        Value::Text(text) => Ok(String::from_utf8_lossy(&text).into_owned()),
        Value::Error(text) => Err(format!("{address}: {text}")),
        other => Err(format!("{address}: unexpected reply {other:?}")),
    }
}

/// `host:port` (or `[v6]:port`) into its parts.
pub(super) fn split_address(address: &str) -> Result<(String, u16), String> {
    let refused = || format!("`{address}` is not host:port (for example 127.0.0.1:7000)");
    let (host, port) = address.rsplit_once(':').ok_or_else(refused)?;
    let host = host
        .strip_prefix('[')
        .and_then(|host| host.strip_suffix(']'))
        .unwrap_or(host);
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|port| *port > 0)
        .ok_or_else(refused)?;
    if host.is_empty() {
        return Err(refused());
    }
    Ok((host.to_owned(), port))
}

/// Sends one command to `address` and reads its reply.
fn request(address: &str, args: &[&[u8]]) -> Result<Value, String> {
    Link::open(address)?.call(args)
}

/// One connection to a node, kept across commands (WATCH and MULTI belong to it).
pub(super) struct Link {
    address: String,
    stream: TcpStream,
}

impl Link {
    /// Connects to `address` (`host:port`).
    ///
    /// # Errors
    /// A message naming the node that could not be reached.
    pub(super) fn open(address: &str) -> Result<Self, String> {
        let failed = |error: std::io::Error| format!("{address}: {error}");
        let target = address
            .to_socket_addrs()
            .map_err(failed)?
            .next()
            .ok_or_else(|| format!("{address}: no address"))?;
        let stream = TcpStream::connect_timeout(&target, TIMEOUT).map_err(failed)?;
        stream.set_read_timeout(Some(TIMEOUT)).map_err(failed)?;
        stream.set_write_timeout(Some(TIMEOUT)).map_err(failed)?;
        Ok(Self {
            address: address.to_owned(),
            stream,
        })
    }

    /// The node's address, as given.
    pub(super) fn address(&self) -> &str {
        &self.address
    }

    /// Sends one command and reads its one reply.
    ///
    /// # Errors
    /// A message naming the node when it cannot be reached or its reply does not parse.
    pub(super) fn call(&mut self, args: &[&[u8]]) -> Result<Value, String> {
        let address = self.address.as_str();
        let stream = &mut self.stream;
        let failed = |error: std::io::Error| format!("{address}: {error}");
        let mut bytes = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            bytes.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            bytes.extend_from_slice(arg);
            bytes.extend_from_slice(b"\r\n");
        }
        stream.write_all(&bytes).map_err(failed)?;
        let limits = Limits::DEFAULT;
        let mut input = Vec::new();
        let mut buffer = [0u8; 16 << 10];
        loop {
            match Frame::check(&input, &limits) {
                Ok(_) => break,
                Err(error) if error.is_incomplete() => {}
                Err(error) => {
                    return Err(format!("{address}: malformed reply ({})", error.message()));
                }
            }
            let read = stream.read(&mut buffer).map_err(failed)?;
            if read == 0 {
                return Err(format!("{address}: closed the connection before replying"));
            }
            input.extend_from_slice(buffer.get(..read).unwrap_or_default());
        }
        let mut position = 0;
        decode(&input, &mut position, &limits).map_err(|message| format!("{address}: {message}"))
    }
}

/// Reads the checked frame at `position` (recursion depth bounded by the limits' depth).
fn decode(input: &[u8], position: &mut usize, limits: &Limits) -> Result<Value, String> {
    let rest = input.get(*position..).unwrap_or_default();
    let (frame, size) =
        Frame::parse_head(rest, limits).map_err(|error| error.message().to_string())?;
    *position += size;
    let children = |count: usize, position: &mut usize| {
        (0..count)
            .map(|_| decode(input, position, limits))
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(match frame {
        Frame::Simple(text) | Frame::Bulk(text) => Value::Text(text.to_vec()),
        Frame::Verbatim { text, .. } => Value::Text(text.to_vec()),
        Frame::Error(text) | Frame::BulkError(text) => {
            Value::Error(String::from_utf8_lossy(text).into_owned())
        }
        Frame::Integer(value) => Value::Integer(value),
        Frame::Array(count) | Frame::Set(count) | Frame::Push(count) => {
            Value::Array(children(count, position)?)
        }
        Frame::Map(count) => Value::Array(children(count.saturating_mul(2), position)?),
        _ => Value::Null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_split_or_are_refused() {
        assert_eq!(
            split_address("127.0.0.1:7000"),
            Ok(("127.0.0.1".to_owned(), 7000))
        );
        assert_eq!(split_address("[::1]:7000"), Ok(("::1".to_owned(), 7000)));
        assert!(split_address("127.0.0.1").is_err());
        assert!(split_address(":7000").is_err());
        assert!(split_address("h:0").is_err());
        assert!(split_address("h:x").is_err());
        assert!(create(&[]).is_err());
    }

    #[test]
    fn replies_decode() {
        let input = b"*3\r\n$3\r\nabc\r\n:5\r\n-ERR no\r\n";
        let mut position = 0;
        let value = decode(input, &mut position, &Limits::DEFAULT).expect("decodes");
        assert_eq!(
            value,
            Value::Array(vec![
                Value::Text(b"abc".to_vec()),
                Value::Integer(5),
                Value::Error("ERR no".to_owned())
            ])
        );
        assert_eq!(position, input.len());
    }
}
