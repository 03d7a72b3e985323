//! Notifications of an account's health rather than a template's state: delivery anomalies
//! and phone number events (quality falls, flags, the portfolio's messaging limit), each read
//! from its own table by cursor like template events.

use crate::db::Conn;
use diesel::prelude::*;

use super::{out, wants, Change, Cursors, Payload, FIRST_LOOK_BACK};
use crate::clock;
use crate::config::{Config, NotifyConfig};
use crate::db::models::{anomalies, numbers};

/// The payload of a delivery anomaly: what failed, against what, what it means, what to do.
pub fn anomaly_payload(config: &Config, a: &anomalies::Anomaly) -> Payload {
    use crate::domain::anomaly::{BASELINE_DAYS, RECENT_HOURS};
    let pct = |r: f64| format!("{:.1} %", r * 100.0);
    let who = format!("{} ({}) on {}", a.name, a.language, a.account);
    let (subject, _) = crate::domain::anomaly::subject(&a.kind, a.error_code);
    let title = format!("Delivery anomaly, {subject}: {who}");
    let (what, info) = match (a.kind.as_str(), a.error_code) {
        (_, Some(code)) => {
            let info = crate::domain::errors::explain(code.into());
            (format!("failed with {code} ({})", info.meaning), info)
        }
        ("read_rate", None) => (
            "were read (of those delivered)".to_string(),
            crate::domain::errors::ErrorInfo {
                meaning: "reads fell",
                action: "Compare the template's content versions and the days they went live \
                         with the read rate: an edit, a new audience or a send at an odd hour \
                         usually explains it. Low reads come before a quality drop.",
            },
        ),
        _ => (
            "failed".to_string(),
            crate::domain::errors::ErrorInfo {
                meaning: "failures jumped",
                action: "Open the template's failures by error code to see which codes rose.",
            },
        ),
    };
    let read = match (a.kind.as_str(), a.recent_read_rate, a.baseline_read_rate) {
        ("read_rate", ..) => String::new(),
        (_, Some(r), Some(b)) => format!(" Read rate {} ({} before).", pct(r), pct(b)),
        _ => String::new(),
    };

    Payload {
        id: format!("anomaly:{}", a.id),
        event: "delivery_anomaly".into(),
        occurred_at: clock::rfc3339(a.detected_at),
        account: Some(a.account.clone()),
        change: Some(Change {
            field: a.kind.clone(),
            from: Some(format!("{:.4}", a.baseline_rate)),
            to: format!("{:.4}", a.recent_rate),
            reason: a.error_code.map(|c| c.to_string()),
        }),
        recommendation: Some(info.action.to_string()),
        url: format!("{}/templates/{}", config.public_url, a.template_id),
        title,
        text: format!(
            "In the last {RECENT_HOURS} hours {} of {} sends of {} {what}, against {} over the {BASELINE_DAYS} days before.{read} What to do: {}",
            pct(a.recent_rate),
            a.recent_sent,
            a.name,
            pct(a.baseline_rate),
            info.action
        ),
        ..Default::default()
    }
}

pub(super) fn expand_anomalies(conn: &mut Conn, config: &Config, now: i64) -> QueryResult<usize> {
    let cursors = Cursors::load(conn, "delivery_anomalies", config, |c| {
        anomalies::last_id_before(c, now - FIRST_LOOK_BACK)
    })?;
    let start = cursors.start();
    let found = anomalies::after(conn, start, 1000)?;
    let mut queued = 0;
    let mut last = start;
    for a in &found {
        last = a.id;
        let channels: Vec<&NotifyConfig> = config
            .notify
            .iter()
            .filter(|c| cursors.new_to(&c.name, a.id))
            .filter(|c| wants(c, "delivery_anomaly", Some(&a.account), Some(&a.name)))
            .collect();
        if channels.is_empty() {
            continue;
        }
        let payload = anomaly_payload(config, a);
        let json = serde_json::to_string(&payload).unwrap_or_default();
        for ch in channels {
            queued += usize::from(out::enqueue(
                conn,
                &payload.id,
                &ch.name,
                "delivery_anomaly",
                &json,
                now,
            )?);
        }
    }
    cursors.advance(conn, last)?;
    Ok(queued)
}

/// The payload of a number event worth telling: a quality fall or flag, or a new limit.
fn number_payload(
    config: &Config,
    kind: &str,
    e: &numbers::NumberEvent,
    account: &str,
    shown: &str,
) -> Payload {
    use crate::domain::number::limit_words;
    let (title, text) = match (kind, e.field.as_str()) {
        ("messaging_limit_changed", _) => (
            format!("Messaging limit changed: {account}"),
            format!(
                "The business portfolio of {account} can now start conversations with {} (was {}). The limit is shared by every number of the portfolio.",
                limit_words(&e.new_value),
                e.old_value.as_deref().map(limit_words).unwrap_or_default()
            ),
        ),
        (_, "event") => (
            format!("Number {} {}: {account}", shown, e.new_value.to_lowercase()),
            format!(
                "Meta reports {} for {shown}: its quality is low. Customers are blocking or reporting its messages; send fewer marketing messages from it and check who receives them, or its limits may drop.",
                e.new_value
            ),
        ),
        _ => (
            format!(
                "Number quality {} → {}: {shown} on {account}",
                e.old_value.as_deref().unwrap_or("-"),
                e.new_value
            ),
            format!(
                "The quality rating of {shown} fell to {}. Customers are blocking or reporting its messages; at RED Meta may lower the portfolio's messaging limit.",
                e.new_value
            ),
        ),
    };
    Payload {
        id: format!("number:{}", e.id),
        event: kind.into(),
        occurred_at: clock::rfc3339(e.at),
        account: Some(account.to_string()),
        change: Some(Change {
            field: e.field.clone(),
            from: e.old_value.clone(),
            to: e.new_value.clone(),
            reason: None,
        }),
        url: format!("{}/accounts/{account}", config.public_url),
        title,
        text,
        ..Default::default()
    }
}

pub(super) fn expand_numbers(conn: &mut Conn, config: &Config, now: i64) -> QueryResult<usize> {
    let cursors = Cursors::load(conn, "number_events", config, |c| {
        numbers::last_id_before(c, now - FIRST_LOOK_BACK)
    })?;
    let start = cursors.start();
    let rows = numbers::after(conn, start, 1000)?;
    let mut queued = 0;
    let mut last = start;
    for (e, account) in &rows {
        last = e.id;
        let kind = crate::domain::number::classify(&e.field, e.old_value.as_deref(), &e.new_value);
        let Some(kind) = kind else { continue };
        let channels: Vec<&NotifyConfig> = config
            .notify
            .iter()
            .filter(|c| cursors.new_to(&c.name, e.id) && wants(c, kind, Some(account), None))
            .collect();
        if channels.is_empty() {
            continue;
        }
        let shown = numbers::display_of(conn, e.account_id, &e.phone_number_id)?;
        let payload = number_payload(config, kind, e, account, &shown);
        let json = serde_json::to_string(&payload).unwrap_or_default();
        for ch in channels {
            queued += usize::from(out::enqueue(conn, &payload.id, &ch.name, kind, &json, now)?);
        }
    }
    cursors.advance(conn, last)?;
    Ok(queued)
}
