//! Prometheus text metrics: requests by route and status, latencies, open
//! and refused connections, live event connections and their fan-out,
//! messages stored, attachment bytes and parts uploaded. Counts only, never
//! content.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// Latency buckets in seconds.
const BUCKETS: [f64; 9] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Debug, Default)]
struct Series {
    count: u64,
    sum_seconds: f64,
    buckets: [u64; BUCKETS.len()],
}

/// (method, route template, status).
type Key = (String, String, u16);

/// Request counters, by [`Key`], and attachment upload counters.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    requests: Arc<Mutex<BTreeMap<Key, Series>>>,
    attachments: Arc<AttachmentCounters>,
    connections: Arc<ConnectionCounters>,
    push: Arc<PushCounters>,
}

/// Web Push counters ([`crate::push`]).
#[derive(Debug, Default)]
pub struct PushCounters {
    sent: AtomicU64,
    failed: AtomicU64,
    removed: AtomicU64,
    dropped: AtomicU64,
}

impl PushCounters {
    /// A push the service accepted.
    pub fn sent(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }

    /// A push given up on (refused, or still failing after its retries).
    pub fn failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }

    /// A subscription removed because its service answered 404 or 410.
    pub fn removed(&self) {
        self.removed.fetch_add(1, Ordering::Relaxed);
    }

    /// A job dropped because the push queue was full.
    pub fn dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// Kept by the accept loop ([`crate::server`]).
#[derive(Debug, Default)]
pub(crate) struct ConnectionCounters {
    /// The connection cap in force.
    pub(crate) cap: AtomicU64,
    /// Connections holding a slot (WebSockets included).
    pub(crate) open: AtomicU64,
    /// Connections answered 503 `over_capacity` (or closed) at the cap.
    pub(crate) refused: AtomicU64,
}

#[derive(Debug, Default)]
struct AttachmentCounters {
    bytes_uploaded: AtomicU64,
    parts_stored: AtomicU64,
}

impl Metrics {
    /// Counts one attachment part of `bytes` bytes stored (a retry counts again).
    pub fn part_stored(&self, bytes: u64) {
        self.attachments
            .bytes_uploaded
            .fetch_add(bytes, Ordering::Relaxed);
        self.attachments
            .parts_stored
            .fetch_add(1, Ordering::Relaxed);
    }

    /// The Web Push counters.
    pub fn push(&self) -> &PushCounters {
        &self.push
    }

    pub(crate) fn connections(&self) -> &Arc<ConnectionCounters> {
        &self.connections
    }

    fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let Ok(mut requests) = self.requests.lock() else {
            return;
        };
        let series = requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default();
        series.count += 1;
        series.sum_seconds += seconds;
        for (bucket, bound) in series.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
    }

    /// The exposition text.
    pub fn render(&self, events: &crate::events::LocalIndex, messages: i64) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP ward_http_requests_total HTTP requests by route template and status."
        );
        let _ = writeln!(out, "# TYPE ward_http_requests_total counter");
        let _ = writeln!(
            out,
            "# HELP ward_http_request_duration_seconds HTTP request latency."
        );
        let _ = writeln!(out, "# TYPE ward_http_request_duration_seconds histogram");
        if let Ok(requests) = self.requests.lock() {
            for ((method, route, status), series) in requests.iter() {
                let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
                let _ = writeln!(out, "ward_http_requests_total{{{labels}}} {}", series.count);
                for (bound, count) in BUCKETS.iter().zip(series.buckets) {
                    let _ = writeln!(
                        out,
                        "ward_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                    );
                }
                let _ = writeln!(
                    out,
                    "ward_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                    series.count
                );
                let _ = writeln!(
                    out,
                    "ward_http_request_duration_seconds_sum{{{labels}}} {}",
                    series.sum_seconds
                );
                let _ = writeln!(
                    out,
                    "ward_http_request_duration_seconds_count{{{labels}}} {}",
                    series.count
                );
            }
        }
        single(
            &mut out,
            "ward_event_connections",
            "gauge",
            "Live WebSocket event connections.",
            events.connections(),
        );
        single(
            &mut out,
            "ward_event_offers_total",
            "counter",
            "Events offered to a connection's queue (one per recipient connection).",
            events.offers(),
        );
        single(
            &mut out,
            "ward_event_connections_dropped_total",
            "counter",
            "Event connections closed for a full queue.",
            events.dropped(),
        );
        let connections = &self.connections;
        single(
            &mut out,
            "ward_connections_max",
            "gauge",
            "The connection cap (max_connections, or derived from the open-file limit).",
            connections.cap.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "ward_connections_open",
            "gauge",
            "Connections holding a slot, WebSockets included.",
            connections.open.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "ward_connections_refused_total",
            "counter",
            "Connections past the cap (answered 503 over_capacity, /healthz served, or closed).",
            connections.refused.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "ward_messages_stored",
            "gauge",
            "Encrypted messages stored.",
            messages,
        );
        single(
            &mut out,
            "ward_attachment_bytes_uploaded_total",
            "counter",
            "Encrypted attachment bytes received in parts.",
            self.attachments.bytes_uploaded.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "ward_attachment_parts_stored_total",
            "counter",
            "Attachment parts stored (retries included).",
            self.attachments.parts_stored.load(Ordering::Relaxed),
        );
        for (name, help, value) in [
            (
                "ward_push_sent_total",
                "Web Push requests the push service accepted.",
                &self.push.sent,
            ),
            (
                "ward_push_failed_total",
                "Web Pushes given up on (refused, or failing after their retries).",
                &self.push.failed,
            ),
            (
                "ward_push_subscriptions_removed_total",
                "Push subscriptions removed because their service answered 404 or 410.",
                &self.push.removed,
            ),
            (
                "ward_push_dropped_total",
                "Pushes dropped because the push queue was full.",
                &self.push.dropped,
            ),
        ] {
            single(
                &mut out,
                name,
                "counter",
                help,
                value.load(Ordering::Relaxed),
            );
        }
        out
    }
}

/// Middleware: times every request and records it under its route
/// template (never the concrete path, which holds ids).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.record(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// Writes one metric without labels: its `# HELP` and `# TYPE` lines and
/// its value.
fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    let _ = writeln!(out, "{name} {value}");
}
