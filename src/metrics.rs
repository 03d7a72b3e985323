//! Counters for `/metrics` (Prometheus text format). A handful of labelled counters behind one
//! mutex: cheap next to the work they count, and no extra dependency.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

type Key = (&'static str, Cow<'static, str>);

/// The process's counters; cheap to clone.
#[derive(Clone, Default)]
pub struct Metrics {
    counters: Arc<Mutex<BTreeMap<Key, f64>>>,
}

/// Help text for each metric name.
const HELP: &[(&str, &str)] = &[
    (
        "templar_webhook_requests_total",
        "Webhook requests by source and outcome.",
    ),
    (
        "templar_webhook_events_total",
        "Events applied from webhooks by source and kind.",
    ),
    (
        "templar_sync_runs_total",
        "Sync runs by account and outcome.",
    ),
    (
        "templar_notifications_total",
        "Notification deliveries by channel and outcome.",
    ),
    (
        "templar_http_requests_total",
        "HTTP requests by route and status class.",
    ),
    (
        "templar_http_request_seconds_sum",
        "Total seconds spent answering HTTP requests, by route.",
    ),
];

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

    /// The current value of a counter (for tests).
    pub fn get(&self, name: &'static str, labels: &[(&str, &str)]) -> f64 {
        let c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        c.get(&(name, Cow::Owned(label_key(labels))))
            .copied()
            .unwrap_or(0.0)
    }

    /// Renders every counter in Prometheus text format.
    pub fn render(&self) -> String {
        let c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        let mut last = "";
        for ((name, labels), value) in c.iter() {
            if *name != last {
                let help = HELP.iter().find(|(n, _)| n == name).map_or("", |(_, h)| h);
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
                last = name;
            }
            let _ = if labels.is_empty() {
                writeln!(out, "{name} {value}")
            } else {
                writeln!(out, "{name}{{{labels}}} {value}")
            };
        }
        out
    }
}
