//! `GET /metrics` (Prometheus text format, through the `prometheus-client` crate),
//! `GET /health`, `GET /stats` (JSON) and `GET /`, the live status page (`status.html`,
//! which draws `/stats` over the last five minutes).
//!
//! Every figure comes from where INFO reads it (the doors' counters in [`Admin`], the
//! Db's statistics), read at scrape time by one [`Collector`]: nothing is counted twice.
//!
//! | metric | type | INFO's name |
//! | --- | --- | --- |
//! | `floe_commands_total{command}` | counter | `cmdstat_<command>` calls |
//! | `floe_commands_failed_total{command}` | counter | `cmdstat_<command>` failed_calls |
//! | `floe_command_duration_seconds{command}` | histogram | LATENCY HISTOGRAM |
//! | `floe_keyspace_hits_total`, `floe_keyspace_misses_total` | counter | `keyspace_hits`, `keyspace_misses` |
//! | `floe_evicted_keys_total`, `floe_expired_keys_total` | counter | `evicted_keys`, `expired_keys` |
//! | `floe_memory_used_bytes`, `floe_memory_limit_bytes` | gauge | `used_memory` (item memory only), `floe_memory_limit` |
//! | `floe_prefix_index_bytes` | gauge | `prefix_index_bytes` |
//! | `floe_keys{db}` | gauge | `db<N>:keys` |
//! | `floe_connected_clients` | gauge | `connected_clients` |
//! | `floe_connections_received_total` | counter | `total_connections_received` |
//! | `floe_log_written_bytes_total` | counter | `floe_log_bytes` |
//! | `floe_log_syncs_total` | counter | `floe_log_syncs` |
//! | `floe_auth_failures_total` | counter | `acl_access_denied_auth` |
//! | `floe_recovery_seconds` | gauge | `floe_recovery_ms` |

use std::sync::Arc;
use std::sync::atomic::Ordering;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use serde_json::{Map, Value, json};

use super::Response;
use crate::admin::{Admin, LATENCY_BUCKET_COUNT, info_text};
use crate::server::Worker;

/// The `/metrics` registry.
#[derive(Debug)]
pub(in crate::server) struct Metrics {
    registry: Registry,
}

impl Metrics {
    pub(in crate::server) fn new(admin: &Arc<Admin>) -> Self {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(AdminCollector {
            admin: Arc::clone(admin),
        }));
        Self { registry }
    }

    /// The text exposition of every metric.
    fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// Answers `/metrics`, `/health` or `/stats`.
/// The live status page (`GET /`): one self-contained file that draws `/stats` over time.
const STATUS_PAGE: &str = include_str!("status.html");

pub(super) fn route(path: &[u8], worker: &Worker) -> Response {
    match path {
        b"/" => Response::bytes(
            200,
            "text/html; charset=utf-8",
            STATUS_PAGE.as_bytes().to_vec(),
        ),
        b"/metrics" => match worker.shared.metrics.encode() {
            Ok(text) => Response::bytes(
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                text.into_bytes(),
            ),
            Err(_) => Response::error(500, "the metrics could not be encoded"),
        },
        b"/health" => match worker.db.write_refusal() {
            None => Response::json(200, &json!({ "status": "ok" })),
            Some(reason) => {
                Response::json(503, &json!({ "status": "writes refused", "error": reason }))
            }
        },
        _ => Response::json(200, &stats(&worker.admin)),
    }
}

/// INFO's sections as JSON: `{"server": {"redis_version": "7.2.0", ...}, ...}`; a value
/// that is a whole number is a JSON number. Plus `latency`: every command's latency
/// histogram summed (`histogram_usec[n]` counts calls under `bucket_upper_usec[n]` µs,
/// cumulative since start), from which the status page draws p99 per second.
fn stats(admin: &Admin) -> Value {
    let text = info_text(admin, &[b"everything"]);
    let mut sections = Map::new();
    let mut section = String::new();
    for line in text.lines() {
        if let Some(title) = line.strip_prefix("# ") {
            section = title.to_ascii_lowercase();
            sections.insert(section.clone(), Value::Object(Map::new()));
        } else if let Some((name, value)) = line.split_once(':')
            && let Some(Value::Object(fields)) = sections.get_mut(&section)
        {
            let value = value
                .parse::<i64>()
                .map_or_else(|_| Value::String(value.to_owned()), Value::from);
            fields.insert(name.to_owned(), value);
        }
    }
    let mut histogram = [0_u64; LATENCY_BUCKET_COUNT];
    for command in admin.command_totals() {
        for (sum, count) in histogram.iter_mut().zip(command.latency) {
            *sum += count;
        }
    }
    let bounds: Vec<u64> = (0..LATENCY_BUCKET_COUNT)
        .map(|bucket| 1_u64 << bucket)
        .collect();
    sections.insert(
        "latency".to_owned(),
        json!({ "histogram_usec": histogram.to_vec(), "bucket_upper_usec": bounds }),
    );
    Value::Object(sections)
}

/// Reads INFO's sources at each scrape.
#[derive(Debug)]
struct AdminCollector {
    admin: Arc<Admin>,
}

impl AdminCollector {
    /// One unlabelled counter or gauge.
    fn single(
        encoder: &mut DescriptorEncoder<'_>,
        name: &str,
        help: &str,
        kind: MetricType,
        value: u64,
    ) -> Result<(), std::fmt::Error> {
        let mut metric = encoder.encode_descriptor(name, help, None, kind)?;
        if kind == MetricType::Counter {
            metric.encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(&value, None)
        } else {
            metric.encode_gauge(&value)
        }
    }
}

impl Collector for AdminCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let admin = &*self.admin;
        let commands = admin.command_totals();
        {
            let mut calls = encoder.encode_descriptor(
                "floe_commands",
                "Commands run, by name, on every door",
                None,
                MetricType::Counter,
            )?;
            for command in &commands {
                let labels = [("command", command.name)];
                calls
                    .encode_family(&labels)?
                    .encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(
                        &command.calls,
                        None,
                    )?;
            }
        }
        {
            let mut failed = encoder.encode_descriptor(
                "floe_commands_failed",
                "Commands that replied with an error, by name",
                None,
                MetricType::Counter,
            )?;
            for command in &commands {
                let labels = [("command", command.name)];
                failed
                    .encode_family(&labels)?
                    .encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(
                        &command.failed,
                        None,
                    )?;
            }
        }
        {
            let mut latency = encoder.encode_descriptor(
                "floe_command_duration_seconds",
                "How long commands took to run under the store lock, by name",
                None,
                MetricType::Histogram,
            )?;
            for command in &commands {
                let buckets: Vec<(f64, u64)> = command
                    .latency
                    .iter()
                    .enumerate()
                    .map(|(index, count)| {
                        let bound = if index + 1 == LATENCY_BUCKET_COUNT {
                            f64::INFINITY
                        } else {
                            f64::from(1_u32 << index) / 1e6
                        };
                        (bound, *count)
                    })
                    .collect();
                // NOTE: a sum in seconds; microsecond counts far below 2^53 stay exact.
                #[expect(clippy::cast_precision_loss, reason = "a float sum, as Prometheus")]
                let sum = command.micros as f64 / 1e6;
                let labels = [("command", command.name)];
                latency
                    .encode_family(&labels)?
                    .encode_histogram::<prometheus_client::encoding::NoLabelSet>(
                        sum,
                        command.calls,
                        &buckets,
                        None,
                    )?;
            }
        }
        let stats = admin.db().stats();
        let store = &stats.store;
        let doors = admin.door_totals();
        let counters = [
            (
                "floe_keyspace_hits",
                "Reads that found a live key",
                store.hits,
            ),
            (
                "floe_keyspace_misses",
                "Reads that found nothing",
                store.misses,
            ),
            (
                "floe_evicted_keys",
                "Keys removed by the eviction policy",
                store.evicted,
            ),
            (
                "floe_expired_keys",
                "Keys removed because their expiry passed",
                store.expired,
            ),
            (
                "floe_connections_received",
                "Connections accepted, on every door",
                doors.connection_count,
            ),
            (
                "floe_auth_failures",
                "Authentications refused (a wrong password on any door)",
                doors.auth_failed_count,
            ),
            (
                "floe_log_written_bytes",
                "Bytes written to the log",
                stats.log.map_or(0, |log| log.byte_count),
            ),
            (
                "floe_log_syncs",
                "fdatasyncs of the log",
                stats.log.map_or(0, |log| log.sync_count),
            ),
        ];
        for (name, help, value) in counters {
            Self::single(&mut encoder, name, help, MetricType::Counter, value)?;
        }
        let gauges = [
            (
                "floe_memory_used_bytes",
                "Item memory in use: the table plus appended segment bytes",
                store.memory_used_size,
            ),
            (
                "floe_prefix_index_bytes",
                "Heap bytes of the prefix index (outside item memory; 0 when off)",
                store.prefix_index_size,
            ),
            (
                "floe_memory_limit_bytes",
                "Item memory the store may ever use",
                store.memory_limit_size,
            ),
            (
                "floe_connected_clients",
                "Clients connected now, on every door",
                admin.clients.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, value) in gauges {
            Self::single(&mut encoder, name, help, MetricType::Gauge, value)?;
        }
        {
            let mut keys = encoder.encode_descriptor(
                "floe_keys",
                "Keys stored, by database",
                None,
                MetricType::Gauge,
            )?;
            for (index, count) in admin.db().db_sizes().iter().enumerate() {
                let db = index.to_string();
                let labels = [("db", db.as_str())];
                keys.encode_family(&labels)?
                    .encode_gauge(&u64::try_from(*count).unwrap_or(u64::MAX))?;
            }
        }
        if let Some(report) = admin.db().recovery() {
            let mut recovery = encoder.encode_descriptor(
                "floe_recovery_seconds",
                "How long recovery took at start",
                None,
                MetricType::Gauge,
            )?;
            recovery.encode_gauge(&report.duration.as_secs_f64())?;
        }
        Ok(())
    }
}
