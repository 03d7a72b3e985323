//! `/metrics` in Prometheus text format: this process's counters and histograms (requests,
//! webhooks, page builds, sync runs, deliveries), kept under one mutex each: cheap next to the
//! work they count, and no extra dependency. Gauges read from the database at scrape time live
//! in `web/metrics.rs`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

type Key = (&'static str, Cow<'static, str>);

/// Latency of one request or one page build, in seconds.
const FAST: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Work that takes seconds to minutes: a sync run, a notification's way out.
const SLOW: &[f64] = &[
    0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0,
];

/// Every metric this process counts: name, type, help, and the buckets of a histogram.
const FAMILIES: &[(&str, Kind, &str)] = &[
    (
        "templar_webhook_requests_total",
        Kind::Counter,
        "Webhook requests by source and outcome.",
    ),
    (
        "templar_webhook_events_total",
        Kind::Counter,
        "Events applied from webhooks by source and kind.",
    ),
    (
        "templar_sync_runs_total",
        Kind::Counter,
        "This process's sync runs by account and outcome (ok, partial, failed).",
    ),
    (
        "templar_notifications_total",
        Kind::Counter,
        "Notification deliveries by channel and outcome.",
    ),
    (
        "templar_http_requests_total",
        Kind::Counter,
        "HTTP requests by route and status class.",
    ),
    (
        "templar_http_request_seconds",
        Kind::Histogram(FAST),
        "Time to answer an HTTP request, by route.",
    ),
    (
        "templar_webhook_request_seconds",
        Kind::Histogram(FAST),
        "Time to answer a webhook (committed before the 200), by source.",
    ),
    (
        "templar_page_build_seconds",
        Kind::Histogram(FAST),
        "Time to build a dashboard page that was not cached, by page.",
    ),
    (
        "templar_sync_run_seconds",
        Kind::Histogram(SLOW),
        "Duration of this process's sync runs, by account and mode (full or pending).",
    ),
    (
        "templar_notification_delivery_seconds",
        Kind::Histogram(SLOW),
        "From a notification queued to delivered, by channel.",
    ),
];

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Counter,
    Histogram(&'static [f64]),
}

fn family(name: &str) -> Option<&'static (&'static str, Kind, &'static str)> {
    FAMILIES.iter().find(|(n, _, _)| *n == name)
}

/// One histogram's series: cumulative only when rendered.
#[derive(Clone, Default)]
struct Histogram {
    buckets: Vec<u64>,
    count: u64,
    sum: f64,
}

/// The process's counters and histograms, and whether it leads; cheap to clone.
#[derive(Clone, Default)]
pub struct Metrics {
    counters: Arc<Mutex<BTreeMap<Key, f64>>>,
    histograms: Arc<Mutex<BTreeMap<Key, Histogram>>>,
    leader: Arc<std::sync::atomic::AtomicBool>,
}

/// Renders labels as Prometheus writes them: `a="b",c="d"`.
pub fn label_key(labels: &[(&str, &str)]) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect::<Vec<_>>()
        .join(",")
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Adds `by` to the counter `name` with `labels` (`[("source", "meta"), ...]`).
    pub fn add(&self, name: &'static str, labels: &[(&str, &str)], by: f64) {
        self.add_many(&[(name, Cow::Owned(label_key(labels)), by)]);
    }

    /// Adds one.
    pub fn inc(&self, name: &'static str, labels: &[(&str, &str)]) {
        self.add(name, labels, 1.0);
    }

    /// Adds to several counters under one lock. Label keys come rendered (`a="b",c="d"`), so a
    /// hot path can pass static strings and allocate nothing.
    pub fn add_many(&self, entries: &[(&'static str, Cow<'static, str>, f64)]) {
        let mut c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        for (name, labels, by) in entries {
            let key = (*name, labels.clone());
            *c.entry(key).or_insert(0.0) += by;
        }
    }

    /// Records one observation (seconds) in the histogram `name`.
    pub fn observe(&self, name: &'static str, labels: &[(&str, &str)], value: f64) {
        let Some((_, Kind::Histogram(bounds), _)) = family(name) else {
            debug_assert!(false, "{name} is not a histogram");
            return;
        };
        let mut h = self.histograms.lock().unwrap_or_else(|p| p.into_inner());
        let entry = h.entry((name, Cow::Owned(label_key(labels)))).or_default();
        if entry.buckets.is_empty() {
            entry.buckets = vec![0; bounds.len()];
        }
        if let Some(i) = bounds.iter().position(|b| value <= *b) {
            entry.buckets[i] += 1;
        }
        entry.count += 1;
        entry.sum += value;
    }

    /// Records whether this replica runs the scheduled jobs (`jobs::leader`).
    pub fn set_leader(&self, leads: bool) {
        self.leader
            .store(leads, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether this replica runs the scheduled jobs (`/healthz`, `templar_leader`).
    pub fn is_leader(&self) -> bool {
        self.leader.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The current value of a counter (for tests).
    pub fn get(&self, name: &'static str, labels: &[(&str, &str)]) -> f64 {
        let c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        c.get(&(name, Cow::Owned(label_key(labels))))
            .copied()
            .unwrap_or(0.0)
    }

    /// Renders every counter and histogram in Prometheus text format.
    pub fn render(&self, out: &mut Exposition) {
        {
            let c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
            for ((name, labels), value) in c.iter() {
                out.family(name);
                out.sample_raw(name, labels, *value);
            }
        }
        let h = self.histograms.lock().unwrap_or_else(|p| p.into_inner());
        for ((name, labels), hist) in h.iter() {
            let Some((_, Kind::Histogram(bounds), _)) = family(name) else {
                continue;
            };
            out.family(name);
            let sep = if labels.is_empty() { "" } else { "," };
            let mut cumulative = 0;
            for (bound, n) in bounds.iter().zip(&hist.buckets) {
                cumulative += n;
                let le = format!("{labels}{sep}le=\"{bound}\"");
                out.sample_raw(&format!("{name}_bucket"), &le, cumulative as f64);
            }
            let le = format!("{labels}{sep}le=\"+Inf\"");
            out.sample_raw(&format!("{name}_bucket"), &le, hist.count as f64);
            out.sample_raw(&format!("{name}_sum"), labels, hist.sum);
            out.sample_raw(&format!("{name}_count"), labels, hist.count as f64);
        }
    }
}

/// A Prometheus text exposition being written: each family's `# HELP` and `# TYPE` once,
/// before its first sample.
#[derive(Default)]
pub struct Exposition {
    text: String,
    last: String,
}

impl Exposition {
    /// Starts the family `name` (one of [`FAMILIES`]) unless it is the current one.
    fn family(&mut self, name: &str) {
        if let Some((n, kind, help)) = family(name) {
            let kind = match kind {
                Kind::Counter => "counter",
                Kind::Histogram(_) => "histogram",
            };
            self.header(n, kind, help);
        }
    }

    /// Starts a family by hand (gauges read at scrape time).
    pub fn header(&mut self, name: &str, kind: &str, help: &str) {
        if self.last != name {
            let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
            self.last = name.to_string();
        }
    }

    /// One sample of the current family.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.sample_raw(name, &label_key(labels), value);
    }

    fn sample_raw(&mut self, name: &str, labels: &str, value: f64) {
        let value = if value.is_infinite() && value > 0.0 {
            "+Inf".to_string()
        } else {
            value.to_string()
        };
        let _ = if labels.is_empty() {
            writeln!(self.text, "{name} {value}")
        } else {
            writeln!(self.text, "{name}{{{labels}}} {value}")
        };
    }

    pub fn finish(self) -> String {
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_render_cumulative_buckets_sum_and_count() {
        let m = Metrics::default();
        for v in [0.003, 0.003, 0.2, 100.0] {
            m.observe("templar_page_build_seconds", &[("page", "overview")], v);
        }
        let mut out = Exposition::default();
        m.render(&mut out);
        let text = out.finish();
        let line = |prefix: &str| {
            text.lines()
                .find(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("{prefix} in {text}"))
                .rsplit(' ')
                .next()
                .unwrap_or_default()
                .to_string()
        };
        let b = "templar_page_build_seconds_bucket{page=\"overview\",le=";
        assert_eq!(line(&format!("{b}\"0.001\"}}")), "0");
        assert_eq!(line(&format!("{b}\"0.005\"}}")), "2");
        assert_eq!(line(&format!("{b}\"0.25\"}}")), "3");
        assert_eq!(line(&format!("{b}\"30\"}}")), "3");
        assert_eq!(line(&format!("{b}\"+Inf\"}}")), "4");
        assert_eq!(line("templar_page_build_seconds_count"), "4");
        assert_eq!(
            text.matches("# TYPE templar_page_build_seconds histogram")
                .count(),
            1
        );
    }
}
