//! `GET /metrics`: this process's counters and histograms, then gauges read from the database
//! at scrape time (right for CLI runs and across replicas). The list is in the README.

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::clock;
use crate::db::models::gauges::{self, Gauges};
use crate::domain::{Category, Quality, TemplateStatus};
use crate::metrics::Exposition;

pub(super) async fn metrics(State(state): State<AppState>) -> Response {
    let mut out = Exposition::default();
    state.metrics.render(&mut out);
    out.header(
        "templar_build_info",
        "gauge",
        "Always 1; the version of templar answering.",
    );
    out.sample(
        "templar_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1.0,
    );
    out.header(
        "templar_leader",
        "gauge",
        "1 on the replica that runs the scheduled jobs (sync, usage, reports, retention), else 0.",
    );
    out.sample(
        "templar_leader",
        &[],
        f64::from(u8::from(state.metrics.is_leader())),
    );
    out.header(
        "templar_page_cache_bytes",
        "gauge",
        "Bytes of built dashboard pages kept.",
    );
    out.sample("templar_page_cache_bytes", &[], state.pages.bytes() as f64);
    let up = match state.db.run(gauges::read).await {
        Ok(g) => {
            let accounts: Vec<&str> = state
                .config
                .accounts
                .iter()
                .map(|a| a.name.as_str())
                .collect();
            database_gauges(
                &mut out,
                &g,
                &accounts,
                &state.config,
                clock::now().timestamp(),
            );
            1.0
        }
        Err(e) => {
            tracing::error!("metrics: cannot read the database: {e}");
            0.0
        }
    };
    out.header(
        "templar_database_up",
        "gauge",
        "1 when this scrape could read the database (the gauges below it are then present).",
    );
    out.sample("templar_database_up", &[], up);
    (
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        out.finish(),
    )
        .into_response()
}

/// Template counts, per-account freshness, the outbox and sync runs. Known statuses, qualities
/// and categories are written for every configured account even at zero, so an alert on
/// `> 0` has a series to watch from the start.
fn database_gauges(
    out: &mut Exposition,
    g: &Gauges,
    accounts: &[&str],
    config: &crate::config::Config,
    now: i64,
) {
    // Accounts removed from the config keep their rows; their gauges would never move again.
    let configured = |name: &str| accounts.contains(&name);
    let by = |pick: fn(&gauges::TemplateGroup) -> &str, known: &[&str]| {
        let mut counts = std::collections::BTreeMap::<(String, String), i64>::new();
        for a in accounts {
            for k in known {
                counts.insert(((*a).to_string(), (*k).to_string()), 0);
            }
        }
        for t in g.templates.iter().filter(|t| configured(&t.account)) {
            *counts
                .entry((t.account.clone(), pick(t).to_string()))
                .or_default() += t.n;
        }
        counts
    };
    let live_statuses: Vec<&str> = TemplateStatus::KNOWN
        .iter()
        .copied()
        .filter(|s| *s != "DELETED")
        .collect();
    for (name, label, help, counts) in [
        (
            "templar_templates",
            "status",
            "Templates (not deleted) by account and review status.",
            by(|t| &t.status, &live_statuses),
        ),
        (
            "templar_templates_by_quality",
            "quality",
            "Templates (not deleted) by account and Meta's quality rating.",
            by(|t| &t.quality, Quality::KNOWN),
        ),
        (
            "templar_templates_by_category",
            "category",
            "Templates (not deleted) by account and category.",
            by(|t| &t.category, Category::KNOWN),
        ),
    ] {
        out.header(name, "gauge", help);
        for ((account, value), n) in counts {
            out.sample(name, &[("account", &account), (label, &value)], n as f64);
        }
    }
    account_gauges(out, g, accounts, now);
    outbox_gauges(out, g, config, now);
}

/// Seconds since `at`; +Inf for never (an alert on "older than" then fires for "never" too).
fn age(at: Option<i64>, now: i64) -> f64 {
    at.map_or(f64::INFINITY, |t| (now - t).max(0) as f64)
}

fn account_gauges(out: &mut Exposition, g: &Gauges, configured: &[&str], now: i64) {
    type Pick = fn(&gauges::AccountHealth, i64) -> f64;
    let families: [(&str, &str, Pick); 4] = [
        (
            "templar_oldest_pending_template_age_seconds",
            "How long the longest-waiting template under review (PENDING or IN_APPEAL) has waited; 0 with none.",
            |a, now| a.pending_since.map_or(0.0, |t| (now - t).max(0) as f64),
        ),
        (
            "templar_full_sync_age_seconds",
            "Seconds since the account's last successful full sync (+Inf: never).",
            |a, now| age(a.last_full_sync, now),
        ),
        (
            "templar_usage_pull_age_seconds",
            "Seconds since the account's last successful usage pull (+Inf: never).",
            |a, now| age(a.last_usage_pull, now),
        ),
        (
            "templar_sync_consecutive_failures",
            "Failed full syncs of the account since its last successful one.",
            |a, _| a.failures_in_a_row as f64,
        ),
    ];
    for (name, help, pick) in families {
        out.header(name, "gauge", help);
        for a in g
            .accounts
            .iter()
            .filter(|a| configured.contains(&a.account.as_str()))
        {
            out.sample(name, &[("account", &a.account)], pick(a, now));
        }
    }
}

fn outbox_gauges(out: &mut Exposition, g: &Gauges, config: &crate::config::Config, now: i64) {
    let mut channels: Vec<&str> = config.notify.iter().map(|c| c.name.as_str()).collect();
    for o in &g.outbox {
        if !channels.contains(&o.channel.as_str()) {
            channels.push(&o.channel);
        }
    }
    let find = |c: &str| g.outbox.iter().find(|o| o.channel == c);
    type Pick = fn(Option<&gauges::Outbox>, i64) -> f64;
    let families: [(&str, &str, Pick); 3] = [
        (
            "templar_notifications_pending",
            "Notifications queued and not yet delivered, by channel.",
            |o, _| o.map_or(0.0, |o| o.pending as f64),
        ),
        (
            "templar_notifications_dead",
            "Notifications that used up their attempts (kept until retention), by channel.",
            |o, _| o.map_or(0.0, |o| o.dead as f64),
        ),
        (
            "templar_notifications_oldest_pending_age_seconds",
            "Age of the oldest notification still waiting, by channel; 0 with none.",
            |o, now| {
                o.and_then(|o| o.oldest_pending)
                    .map_or(0.0, |t| (now - t).max(0) as f64)
            },
        ),
    ];
    for (name, help, pick) in families {
        out.header(name, "gauge", help);
        for c in &channels {
            out.sample(name, &[("channel", c)], pick(find(c), now));
        }
    }
}
