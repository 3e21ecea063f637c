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
        let _ = writeln!(
            out,
            "# HELP ward_event_connections Live WebSocket event connections."
        );
        let _ = writeln!(out, "# TYPE ward_event_connections gauge");
        let _ = writeln!(out, "ward_event_connections {}", events.connections());
        let _ = writeln!(
            out,
            "# HELP ward_event_offers_total Events offered to a connection's queue (one per recipient connection)."
        );
        let _ = writeln!(out, "# TYPE ward_event_offers_total counter");
        let _ = writeln!(out, "ward_event_offers_total {}", events.offers());
        let _ = writeln!(
            out,
            "# HELP ward_event_connections_dropped_total Event connections closed for a full queue."
        );
        let _ = writeln!(out, "# TYPE ward_event_connections_dropped_total counter");
        let _ = writeln!(
            out,
            "ward_event_connections_dropped_total {}",
            events.dropped()
        );
        let connections = &self.connections;
        let _ = writeln!(
            out,
            "# HELP ward_connections_max The connection cap (max_connections, or derived from the open-file limit)."
        );
        let _ = writeln!(out, "# TYPE ward_connections_max gauge");
        let _ = writeln!(
            out,
            "ward_connections_max {}",
            connections.cap.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP ward_connections_open Connections holding a slot, WebSockets included."
        );
        let _ = writeln!(out, "# TYPE ward_connections_open gauge");
        let _ = writeln!(
            out,
            "ward_connections_open {}",
            connections.open.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP ward_connections_refused_total Connections past the cap (answered 503 over_capacity, /healthz served, or closed)."
        );
        let _ = writeln!(out, "# TYPE ward_connections_refused_total counter");
        let _ = writeln!(
            out,
            "ward_connections_refused_total {}",
            connections.refused.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP ward_messages_stored Encrypted messages stored."
        );
        let _ = writeln!(out, "# TYPE ward_messages_stored gauge");
        let _ = writeln!(out, "ward_messages_stored {messages}");
        let _ = writeln!(
            out,
            "# HELP ward_attachment_bytes_uploaded_total Encrypted attachment bytes received in parts."
        );
        let _ = writeln!(out, "# TYPE ward_attachment_bytes_uploaded_total counter");
        let _ = writeln!(
            out,
            "ward_attachment_bytes_uploaded_total {}",
            self.attachments.bytes_uploaded.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP ward_attachment_parts_stored_total Attachment parts stored (retries included)."
        );
        let _ = writeln!(out, "# TYPE ward_attachment_parts_stored_total counter");
        let _ = writeln!(
            out,
            "ward_attachment_parts_stored_total {}",
            self.attachments.parts_stored.load(Ordering::Relaxed)
        );
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
