//! Prometheus text exposition (format 0.0.4) of request counts, latencies and batch sizes.
//! Written by hand: three metric families do not justify a registry crate and its locking
//! scheme, and the format is a few lines.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Latency buckets, seconds.
const LATENCY: [f64; 14] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0];
/// Samples per forward pass.
const BATCH: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

#[derive(Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    n: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], v: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; bounds.len()];
        }
        for (c, b) in self.counts.iter_mut().zip(bounds) {
            if v <= *b {
                *c += 1;
            }
        }
        self.sum += v;
        self.n += 1;
    }

    fn write(&self, out: &mut String, name: &str, labels: &str, bounds: &[f64]) {
        let sep = if labels.is_empty() { "" } else { "," };
        let zeros = vec![0; bounds.len()];
        let counts = if self.counts.is_empty() { &zeros } else { &self.counts };
        for (c, b) in counts.iter().zip(bounds) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {c}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", self.n);
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.n);
    }
}

#[derive(Default)]
struct State {
    /// (model, route, status) → count.
    requests: BTreeMap<(String, String, u16), u64>,
    /// route → latency histogram.
    latency: BTreeMap<String, Histogram>,
    batches: Histogram,
    rejected: u64,
}

/// The server's counters.
#[derive(Default)]
pub struct Metrics {
    state: Mutex<State>,
}

impl Metrics {
    /// A finished request: `model` is empty for routes without one.
    pub fn request(&self, model: &str, route: &str, status: u16, took: Duration) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *s.requests.entry((model.to_string(), route.to_string(), status)).or_default() += 1;
        s.latency.entry(route.to_string()).or_default().observe(&LATENCY, took.as_secs_f64());
        if status == 503 {
            s.rejected += 1;
        }
    }

    /// Samples in one forward pass.
    pub fn batch(&self, samples: usize) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).batches.observe(&BATCH, samples as f64);
    }

    pub fn render(&self) -> String {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        out.push_str("# HELP aekit_requests_total HTTP requests answered, by model, route and status.\n# TYPE aekit_requests_total counter\n");
        for ((m, r, st), c) in &s.requests {
            let _ = writeln!(out, "aekit_requests_total{{model=\"{}\",route=\"{}\",status=\"{st}\"}} {c}", escape(m), escape(r));
        }
        out.push_str("# HELP aekit_request_duration_seconds Time from the request's arrival to its answer.\n# TYPE aekit_request_duration_seconds histogram\n");
        for (r, h) in &s.latency {
            h.write(&mut out, "aekit_request_duration_seconds", &format!("route=\"{}\"", escape(r)), &LATENCY);
        }
        out.push_str("# HELP aekit_batch_samples Samples per forward pass (several requests when batched).\n# TYPE aekit_batch_samples histogram\n");
        s.batches.write(&mut out, "aekit_batch_samples", "", &BATCH);
        out.push_str("# HELP aekit_rejected_total Requests refused with 503 because a queue was full.\n# TYPE aekit_rejected_total counter\n");
        let _ = writeln!(out, "aekit_rejected_total {}", s.rejected);
        out
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
