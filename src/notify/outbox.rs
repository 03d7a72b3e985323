//! Fills the outbox: reads new rows of `template_events` and `sync_runs` (by each channel's
//! cursor), decides which are worth telling someone, and queues one delivery per matching
//! channel, all in one transaction with the cursors' move. Templates seen for the first time never notify (that would
//! be a storm on the first sync); only changes do.

use crate::db::Conn;
use diesel::prelude::*;

use super::{Change, Payload, TemplateRef};
use crate::clock;
use crate::config::{Config, NotifyConfig};
use crate::db::models::notifications as out;
use crate::db::models::templates::{self as tpl, Event, TemplateRow};
use crate::db::models::{events, sync_runs};
use crate::domain::pause::{Pause, STRIKES};
use crate::domain::rejection::RejectionInfo;
use crate::domain::Quality;

mod cursors;
mod health;
use cursors::Cursors;
pub use health::anomaly_payload;

/// Consecutive failed runs that make an account's sync "failing".
pub const FAILING_AFTER: u32 = 3;

/// When no cursor exists yet, changes older than this are history, not news.
const FIRST_LOOK_BACK: i64 = 3600;

/// The notification kind of a template event, if it is one.
pub fn classify(e: &Event) -> Option<&'static str> {
    let old = e.old_value.as_deref()?;
    match e.field.as_str() {
        "status" => Some(match e.new_value.as_str() {
            "APPROVED" => "approved",
            "REJECTED" => "rejected",
            "PAUSED" if crate::domain::pause::is_new_pause(Some(old)) => "paused",
            "DISABLED" => "disabled",
            "DELETED" => return None,
            _ if old == "DELETED" => return None,
            _ => "status_changed",
        }),
        "quality" => {
            let rank = |q: &str| Quality::parse(q).rank();
            match (rank(old), rank(&e.new_value)) {
                (Some(a), Some(b)) if b < a => Some("quality_down"),
                (Some(a), Some(b)) if b > a => Some("quality_up"),
                _ => None,
            }
        }
        "category" => Some("category_changed"),
        "content" => Some("content_changed"),
        _ => None,
    }
}

/// Whether a channel wants this kind of event about this account and template.
pub fn wants(ch: &NotifyConfig, kind: &str, account: Option<&str>, template: Option<&str>) -> bool {
    ch.events.iter().any(|e| e == kind)
        && (ch.accounts.is_empty() || account.is_some_and(|a| ch.accounts.iter().any(|x| x == a)))
        && match (&ch.templates, template) {
            (Some(p), Some(name)) => p.matches(name),
            (Some(_), None) => kind.starts_with("sync") || kind == "digest",
            (None, _) => true,
        }
}

fn price_note(from: &str, to: &str) -> &'static str {
    match (from, to) {
        ("UTILITY" | "AUTHENTICATION", "MARKETING") => {
            " Marketing messages cost several times more than utility ones in most markets."
        }
        ("MARKETING", "UTILITY") => " Utility messages are billed at the lower utility rate.",
        _ => "",
    }
}

/// Builds the payload of a template event.
pub fn template_payload(
    config: &Config,
    kind: &str,
    e: &Event,
    t: &TemplateRow,
    account: &str,
    pause: Option<Pause>,
    impact: Option<String>,
) -> Payload {
    let detail: serde_json::Value = e
        .detail
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or_default();
    let who = format!("{} ({}) on {account}", t.name, t.language);
    let mut p = Payload {
        id: format!("event:{}", e.id),
        event: kind.to_string(),
        occurred_at: clock::rfc3339(e.at),
        account: Some(account.to_string()),
        template: Some(TemplateRef {
            id: t.template_id.clone(),
            name: t.name.clone(),
            language: t.language.clone(),
            category: t.category.clone(),
            status: t.status.clone(),
            quality: t.quality.clone(),
        }),
        change: Some(Change {
            field: e.field.clone(),
            from: e.old_value.clone(),
            to: e.new_value.clone(),
            reason: e.reason.clone(),
        }),
        url: format!("{}/templates/{}", config.public_url, t.template_id),
        ..Default::default()
    };
    let old = e.old_value.clone().unwrap_or_default();
    match kind {
        "approved" => {
            p.title = format!("Approved: {who}");
            p.text = if old == "PAUSED" {
                format!("{} is no longer paused and can be sent again.", t.name)
            } else {
                format!(
                    "{} was approved by Meta (it was {old}) and is ready to send.",
                    t.name
                )
            };
        }
        "rejected" => {
            let reason = e.reason.clone().unwrap_or_else(|| "no reason given".into());
            let info = RejectionInfo::from_value(Some(&detail));
            p.recommendation = info.recommendation;
            let why = info.reason.map(|r| format!(" {r}")).unwrap_or_default();
            p.title = format!("Rejected: {who}");
            p.text = format!(
                "Meta rejected {} ({reason}).{why}{} Fix it and resubmit, or appeal in WhatsApp Manager.",
                t.name,
                p.recommendation.as_ref().map(|r| format!(" Meta recommends: {r}.")).unwrap_or_default()
            );
        }
        "paused" => match pause.unwrap_or_else(|| Pause::nth(1, e.at)) {
            Pause::Strike {
                strike,
                hours,
                resumes_at,
            } => {
                p.strike = Some(strike);
                p.resumes_at = Some(clock::rfc3339(resumes_at));
                p.title = format!("Paused (strike {strike} of {STRIKES}): {who}");
                p.text = format!(
                    "{} was paused for low quality. It should resume around {} ({hours} h). \
                     A third pause disables it: review the content and who receives it before sending more.",
                    t.name,
                    clock::human(resumes_at),
                );
            }
            Pause::RateLimiting => {
                p.title = format!("Paused for rate limiting: {who}");
                p.text = format!(
                    "Meta paused {} for rate limiting. This is not a quality strike; it resumes when Meta lifts the limit.",
                    t.name
                );
            }
        },
        "disabled" => {
            p.title = format!("Disabled: {who}");
            p.text = format!(
                "{} was disabled and can no longer be sent{}. Create a new template with improved content.",
                t.name,
                detail.pointer("/disable_info/disable_date").map(|d| format!(" (since {d})")).unwrap_or_default()
            );
        }
        "quality_down" | "quality_up" => {
            let dir = if kind == "quality_down" {
                "dropped"
            } else {
                "rose"
            };
            p.title = format!("Quality {dir} {old} → {}: {who}", e.new_value);
            p.text = if kind == "quality_down" {
                format!(
                    "Customers are blocking or reporting {}. At RED Meta may pause it: check who you send it to and how often.",
                    t.name
                )
            } else {
                format!(
                    "{} is doing better: quality is {} now.",
                    t.name, e.new_value
                )
            };
        }
        "category_changed" => {
            let announced = detail.get("announced").and_then(|a| a.as_bool()) == Some(true);
            let note = match &impact {
                Some(i) => format!(" Cost: {i}."),
                None => price_note(&old, &e.new_value).to_string(),
            };
            p.cost_change = impact;
            if announced {
                let at = detail
                    .get("effective_at")
                    .and_then(|a| a.as_i64())
                    .unwrap_or(e.at);
                p.effective_at = Some(clock::rfc3339(at));
                p.title = format!("Category change announced {old} → {}: {who}", e.new_value);
                p.text = format!(
                    "Meta will re-categorise {} on {}.{note}",
                    t.name,
                    clock::human(at)
                );
            } else {
                p.title = format!("Category changed {old} → {}: {who}", e.new_value);
                p.text = format!("{} is now {}.{note}", t.name, e.new_value);
            }
        }
        "content_changed" => {
            p.title = format!("Content edited ({old} → {}): {who}", e.new_value);
            p.text = format!(
                "The content of {} changed ({}). Its page shows the words that changed and which version was live each day.",
                t.name,
                e.reason.as_deref().unwrap_or("edited")
            );
        }
        _ => {
            p.title = format!("Status {old} → {}: {who}", e.new_value);
            p.text = format!("{} changed status from {old} to {}.", t.name, e.new_value);
        }
    }
    p
}

/// Reads new log rows and queues what channels want. Returns the deliveries queued.
pub fn expand(conn: &mut Conn, config: &Config, now: i64) -> QueryResult<usize> {
    let mut queued = 0;
    let cursors = Cursors::load(conn, "template_events", config, |c| {
        events::last_id_before(c, now - FIRST_LOOK_BACK)
    })?;
    let start = cursors.start();
    let rows = events::after(conn, start, 1000)?;
    let mut last = start;
    for events::Seen {
        event: e,
        template: t,
        account,
    } in &rows
    {
        last = e.id;
        let Some(kind) = classify(e) else { continue };
        let channels: Vec<&NotifyConfig> = config
            .notify
            .iter()
            .filter(|c| cursors.new_to(&c.name, e.id))
            .filter(|c| wants(c, kind, Some(account), Some(&t.name)))
            .collect();
        if channels.is_empty() {
            continue;
        }
        let pause = if kind == "paused" {
            let pauses = tpl::pauses(conn, t.id, Some(e.id))?;
            Pause::latest(
                pauses
                    .iter()
                    .map(|(at, from, d)| (*at, from.as_deref(), d.as_deref())),
            )
        } else {
            None
        };
        let impact = match (kind, e.old_value.as_deref()) {
            ("category_changed", Some(from)) => {
                let today = chrono::DateTime::from_timestamp(now, 0)
                    .unwrap_or_default()
                    .date_naive();
                crate::db::models::countries::category_impact(
                    conn,
                    t.id,
                    from,
                    &e.new_value,
                    today,
                )?
            }
            _ => None,
        };
        let payload = template_payload(config, kind, e, t, account, pause, impact);
        let json = serde_json::to_string(&payload).unwrap_or_default();
        for ch in channels {
            queued += usize::from(out::enqueue(conn, &payload.id, &ch.name, kind, &json, now)?);
        }
    }
    cursors.advance(conn, last)?;
    queued += expand_sync(conn, config, now)?;
    queued += health::expand_anomalies(conn, config, now)?;
    queued += health::expand_numbers(conn, config, now)?;
    Ok(queued)
}

fn expand_sync(conn: &mut Conn, config: &Config, now: i64) -> QueryResult<usize> {
    let cursors = Cursors::load(conn, "sync_runs", config, |c| {
        sync_runs::last_id_before(c, now - FIRST_LOOK_BACK)
    })?;
    let start = cursors.start();
    let runs = sync_runs::after(conn, start, 1000)?;
    let mut queued = 0;
    let mut last = start;
    for sync_runs::RunOutcome {
        id,
        account_id,
        error,
        account,
        finished_at: at,
    } in &runs
    {
        last = *id;
        // Failures in a row up to this run, and up to the one before.
        let n = i64::from(FAILING_AFTER) + 1;
        let history = sync_runs::errors_up_to(conn, *account_id, *id, n)?;
        let streak = |h: &[Option<String>]| h.iter().take_while(|e| e.is_some()).count() as u32;
        let (now_streak, before) = (streak(&history), streak(history.get(1..).unwrap_or(&[])));
        let kind = match error {
            Some(_) if now_streak == FAILING_AFTER => "sync_failing",
            None if before >= FAILING_AFTER => "sync_recovered",
            _ => continue,
        };
        let (title, text) = match kind {
            "sync_failing" => (
                format!("Sync failing: {account}"),
                format!(
                    "The last {FAILING_AFTER} syncs of {account} failed. Template statuses may be stale. Last error: {}",
                    error.as_deref().unwrap_or("")
                ),
            ),
            _ => (format!("Sync recovered: {account}"), format!("{account} syncs again after {before} failed runs.")),
        };
        let payload = Payload {
            id: format!("sync:{id}"),
            event: kind.into(),
            occurred_at: clock::rfc3339(*at),
            account: Some(account.clone()),
            error: error.clone(),
            failures: Some(if kind == "sync_failing" {
                now_streak
            } else {
                before
            }),
            url: format!("{}/accounts/{account}", config.public_url),
            title,
            text,
            ..Default::default()
        };
        let json = serde_json::to_string(&payload).unwrap_or_default();
        for ch in config
            .notify
            .iter()
            .filter(|c| cursors.new_to(&c.name, *id) && wants(c, kind, Some(account), None))
        {
            queued += usize::from(out::enqueue(conn, &payload.id, &ch.name, kind, &json, now)?);
        }
    }
    cursors.advance(conn, last)?;
    Ok(queued)
}
