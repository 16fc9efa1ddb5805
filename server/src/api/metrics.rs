//! Prometheus text metrics: request counts and latency histograms per route, index lag.

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    total: u64,
}

/// Per-route request counters and histograms.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
}

impl Metrics {
    pub fn observe(&self, route: &str, status: u16, took: Duration) {
        *self
            .requests
            .lock()
            .entry((route.to_string(), status))
            .or_default() += 1;
        let secs = took.as_secs_f64();
        let mut lat = self.latency.lock();
        let h = lat.entry(route.to_string()).or_insert_with(|| Histogram {
            counts: vec![0; BUCKETS.len()],
            ..Default::default()
        });
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                h.counts[i] += 1;
            }
        }
        h.sum += secs;
        h.total += 1;
    }

    pub fn render(&self, status: &indexer::Status, stats: &search_core::EngineStats) -> String {
        let mut out = String::new();
        out.push_str("# HELP http_requests_total HTTP requests by route and status.\n# TYPE http_requests_total counter\n");
        for ((route, code), n) in self.requests.lock().iter() {
            let _ = writeln!(
                out,
                "http_requests_total{{route=\"{route}\",status=\"{code}\"}} {n}"
            );
        }
        out.push_str("# HELP http_request_duration_seconds Request latency by route.\n# TYPE http_request_duration_seconds histogram\n");
        for (route, h) in self.latency.lock().iter() {
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.total
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.total
            );
        }
        let gauges = [
            (
                "index_documents",
                "Documents in the current snapshot.",
                stats.documents as f64,
            ),
            (
                "index_documents_without_vector",
                "Documents indexed lexically only.",
                stats.without_vector as f64,
            ),
            (
                "index_text_segments",
                "Segments of the text index.",
                stats.text_segments as f64,
            ),
            (
                "index_applied_change",
                "Last applied change-log sequence.",
                stats.applied_seq as f64,
            ),
            (
                "index_pending_changes",
                "Change-log entries not yet applied.",
                status.pending_changes.load(Ordering::Relaxed) as f64,
            ),
            (
                "index_lag_seconds",
                "Age of the newest applied change when it was applied.",
                status.lag_ms.load(Ordering::Relaxed) as f64 / 1000.0,
            ),
            (
                "index_last_batch_seconds",
                "Duration of the last applied batch.",
                status.last_batch_ms.load(Ordering::Relaxed) as f64 / 1000.0,
            ),
            (
                "index_ready",
                "1 once the index is loaded.",
                if status.ready.load(Ordering::Relaxed) {
                    1.0
                } else {
                    0.0
                },
            ),
        ];
        for (name, help, v) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        let counters = [
            (
                "index_batches_total",
                status.batches.load(Ordering::Relaxed),
            ),
            (
                "index_changes_applied_total",
                status.changes_applied.load(Ordering::Relaxed),
            ),
            (
                "index_embedded_total",
                status.embedded.load(Ordering::Relaxed),
            ),
            (
                "index_embedding_cache_hits_total",
                status.embed_cache_hits.load(Ordering::Relaxed),
            ),
        ];
        for (name, v) in counters {
            let _ = writeln!(out, "# TYPE {name} counter\n{name} {v}");
        }
        out
    }
}
