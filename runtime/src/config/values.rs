//! Reading and showing setting values: sizes (`64mb`, Redis's `64.00M`), switches,
//! policies, addresses, ports and numbers, each with the error text a bad value gets.

use std::net::IpAddr;
use std::path::PathBuf;

use floe_core::storage::policy::EvictionPolicy;

use super::ServerIo;
use crate::db::PrefixIndexMode;
use crate::io::Backend;
use crate::log::FsyncPolicy;

/// A size in Redis's short form: `64.00M`, `1.50G`, `512B`.
#[must_use]
pub fn human(size: u64) -> String {
    // NOTE: display only; the precision lost above 2^53 bytes does not matter.
    #[expect(clippy::cast_precision_loss, reason = "a rounded display value")]
    let value = size as f64;
    for (unit, scale) in [
        ("T", 1u64 << 40),
        ("G", 1 << 30),
        ("M", 1 << 20),
        ("K", 1 << 10),
    ] {
        if size >= scale {
            #[expect(clippy::cast_precision_loss, reason = "a rounded display value")]
            let scaled = value / scale as f64;
            return format!("{scaled:.2}{unit}");
        }
    }
    format!("{size}B")
}

pub(super) fn show_path(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|path| path.display().to_string())
        .unwrap_or_default()
}

/// A file's path; empty: none.
pub(super) fn parse_path(text: &str) -> Result<Option<PathBuf>, String> {
    Ok((!text.is_empty()).then(|| PathBuf::from(text)))
}

pub(super) fn yes_no(on: bool) -> String {
    if on { "yes" } else { "no" }.to_owned()
}

pub(super) fn join(addresses: &[IpAddr]) -> String {
    let texts: Vec<String> = addresses.iter().map(ToString::to_string).collect();
    texts.join(" ")
}

/// Parses a size as Redis's configuration does: a byte count with an optional unit, `k`
/// (1000), `kb` (1024), `m`, `mb`, `g`, `gb`, `t`, `tb` (case-insensitive): `64mb`, `1gb`,
/// `1048576`.
///
/// # Errors
/// A message saying what is accepted.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let lowered = text.trim().to_ascii_lowercase();
    let split = lowered
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lowered.len());
    let (digits, unit) = lowered.split_at(split);
    let multiplier: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1 << 10,
        "m" => 1000 * 1000,
        "mb" => 1 << 20,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1 << 30,
        "t" => 1000 * 1000 * 1000 * 1000,
        "tb" => 1 << 40,
        _ => return Err(size_error(text)),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|count| count.checked_mul(multiplier))
        .ok_or_else(|| size_error(text))
}

pub(super) fn size_error(text: &str) -> String {
    format!(
        "`{text}` is not a size: expected a number of bytes with an optional unit, k/kb, m/mb, \
         g/gb or t/tb (as in Redis: 64mb, 1gb, 1048576)"
    )
}

pub(super) fn at_least(size: u64, least: u64) -> Result<u64, String> {
    if size >= least {
        Ok(size)
    } else {
        Err(format!("{size} is below the least allowed, {least} bytes"))
    }
}

/// Parses `on`/`off` (also `yes`/`no`, `true`/`false`, as Redis's booleans).
///
/// # Errors
/// A message saying what is accepted.
pub fn parse_switch(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "on" | "yes" | "true" => Ok(true),
        "off" | "no" | "false" => Ok(false),
        _ => Err(format!(
            "`{text}` is not a switch: expected `yes` or `no` (`on` or `off`)"
        )),
    }
}

/// `prefix-index`: `auto`, or a switch (`yes` builds it at start, `no` never).
pub(super) fn parse_prefix_index(text: &str) -> Result<PrefixIndexMode, String> {
    if text.eq_ignore_ascii_case("auto") {
        return Ok(PrefixIndexMode::OnDemand);
    }
    match parse_switch(text) {
        Ok(true) => Ok(PrefixIndexMode::On),
        Ok(false) => Ok(PrefixIndexMode::Off),
        Err(_) => Err(format!("`{text}` is not `auto`, `yes` or `no`")),
    }
}

/// `prefix-index` as CONFIG GET shows it.
pub fn show_prefix_index(mode: PrefixIndexMode) -> &'static str {
    match mode {
        PrefixIndexMode::On => "yes",
        PrefixIndexMode::Off => "no",
        PrefixIndexMode::OnDemand => "auto",
    }
}

/// Parses an eviction policy by Redis's `maxmemory-policy` names, plus `fifo` and `sieve`.
///
/// # Errors
/// A message listing the names.
pub fn parse_policy(text: &str) -> Result<EvictionPolicy, String> {
    EvictionPolicy::from_name(text.as_bytes()).ok_or_else(|| {
        let names: Vec<&str> = EvictionPolicy::ALL.iter().map(|p| p.name()).collect();
        format!(
            "unknown eviction policy `{text}`: expected one of {}",
            names.join(", ")
        )
    })
}

/// Parses a key count: a whole number, at least 1.
///
/// # Errors
/// A message saying what is accepted.
pub fn parse_key_count(text: &str) -> Result<u64, String> {
    match text.trim().replace('_', "").parse::<u64>() {
        Ok(count) if count > 0 => Ok(count),
        _ => Err(format!(
            "`{text}` is not a key count: expected a whole number of keys, at least 1"
        )),
    }
}

pub(super) fn parse_fsync(text: &str) -> Result<FsyncPolicy, String> {
    text.parse::<FsyncPolicy>()
        .map_err(|_| format!("`{text}` is not an fsync policy: expected always, everysec or no"))
}

pub(super) fn parse_backend(text: &str) -> Result<Backend, String> {
    text.parse::<Backend>()
        .map_err(|_| format!("`{text}` is not an I/O backend: expected auto, uring or blocking"))
}

pub(super) fn parse_server_io(text: &str) -> Result<ServerIo, String> {
    match text.to_ascii_lowercase().as_str() {
        "auto" => Ok(ServerIo::Auto),
        "uring" | "io_uring" => Ok(ServerIo::Uring),
        "epoll" => Ok(ServerIo::Epoll),
        _ => Err(format!(
            "`{text}` is not an event loop: expected auto, uring or epoll"
        )),
    }
}

pub(super) fn parse_bind(text: &str) -> Result<Vec<IpAddr>, String> {
    let addresses: Result<Vec<IpAddr>, String> = text
        .split_whitespace()
        .map(|word| {
            let word = word.strip_prefix('-').unwrap_or(word);
            if word.eq_ignore_ascii_case("localhost") {
                return Ok(IpAddr::from([127, 0, 0, 1]));
            }
            word.parse::<IpAddr>().map_err(|_| {
                format!("`{word}` is not an IP address (e.g. 127.0.0.1, ::1, 0.0.0.0)")
            })
        })
        .collect();
    let addresses = addresses?;
    if addresses.is_empty() {
        return Err("expected at least one address (e.g. 127.0.0.1)".to_owned());
    }
    Ok(addresses)
}

/// A door's port: 1 to 65535, or `0`/`off` for a door that does not listen.
pub(super) fn parse_door_port(text: &str) -> Result<u16, String> {
    if text.trim().eq_ignore_ascii_case("off") {
        return Ok(0);
    }
    parse_number(text, 0, u64::from(u16::MAX))
        .map(|port| u16::try_from(port).unwrap_or(u16::MAX))
        .map_err(|message| format!("{message} (0 or `off`: the door does not listen)"))
}

/// `host port`, or empty for none.
pub(super) fn parse_replicaof(text: &str) -> Result<Option<(String, u16)>, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        [] => Ok(None),
        [no, one] if no.eq_ignore_ascii_case("no") && one.eq_ignore_ascii_case("one") => Ok(None),
        [host, port] => match port.parse::<u16>() {
            Ok(port) if port > 0 => Ok(Some(((*host).to_owned(), port))),
            _ => Err(format!("`{port}` is not a port (1 to 65535)")),
        },
        _ => Err(format!("`{text}` is not `host port`")),
    }
}

/// `replica-announce-ip`: an IP address, or empty for none.
pub(super) fn parse_announce_ip(text: &str) -> Result<Option<std::net::IpAddr>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| {
        format!("`{text}` is not an IP address (like 203.0.113.7 or 2001:db8::7), or empty")
    })
}

pub(super) fn parse_number(text: &str, least: u64, most: u64) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(number) if (least..=most).contains(&number) => Ok(number),
        _ => Err(format!(
            "`{text}` is not a whole number from {least} to {most}"
        )),
    }
}

/// `list-max-listpack-size`: Redis's range (an `int`); the store clamps it as Redis's
/// quicklist does (below -5 is -5, above 32768 elements is 32768).
pub(super) fn parse_list_size(text: &str) -> Result<i64, String> {
    match text.trim().parse::<i64>() {
        Ok(size) if i32::try_from(size).is_ok() => Ok(size),
        _ => Err(format!(
            "`{text}` is not a whole number that fits in 32 bits"
        )),
    }
}

pub(super) fn parse_signed(text: &str) -> Result<i64, String> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| format!("`{text}` is not a whole number"))
}
