//! The overview's "Needs attention": each list capped, with the true count behind it and why
//! each template is there (Meta's rejection reason and recommendation, the pause ladder).

use crate::db::Conn;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::models::attention::{self, AttentionRow};
use crate::db::models::templates as tpl;
use crate::domain::pause::Pause;
use crate::domain::rejection::RejectionInfo;
use crate::web::fmt;

/// A template that needs a look, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Attention {
    pub id: String,
    pub account: String,
    pub name: String,
    pub language: String,
    pub status: String,
    pub quality: Option<String>,
    pub why: String,
    pub since: String,
}

/// True totals behind the capped attention lists.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AttentionCounts {
    pub pending: i64,
    pub rejected: i64,
    pub paused: i64,
    pub disabled: i64,
    pub quality: i64,
    pub category: i64,
    pub anomalies: i64,
}

/// The attention lists and their true counts.
pub struct Lists {
    pub pending: Vec<Attention>,
    pub rejected: Vec<Attention>,
    pub paused: Vec<Attention>,
    pub disabled: Vec<Attention>,
    pub quality: Vec<Attention>,
    pub category: Vec<Attention>,
    pub anomalies: Vec<Attention>,
    pub counts: AttentionCounts,
}

pub fn build(conn: &mut Conn, now: i64) -> QueryResult<Lists> {
    // Attention lists: indexed by status, each capped.
    let list = attention::with_status;
    let mut pending: Vec<Attention> = list(conn, &["PENDING", "IN_APPEAL"], 200)?
        .iter()
        .map(|r| {
            item(
                r,
                format!("waiting {}", fmt::span(now - r.first_seen_at)),
                fmt::when(r.first_seen_at),
            )
        })
        .collect();
    pending.sort_by(|x, y| x.since.cmp(&y.since));
    pending.truncate(10);
    let rejected = rejected(conn)?;
    let paused = paused(conn)?;
    let disabled: Vec<Attention> = list(conn, &["DISABLED"], 10)?
        .iter()
        .map(|r| {
            item(
                r,
                "can no longer be sent".into(),
                fmt::when(r.last_changed_at),
            )
        })
        .collect();
    let quality_rows = attention::quality_down(conn, 10)?;
    let quality = quality_rows
        .iter()
        .map(|r| {
            let q = r.quality.clone().unwrap_or_default();
            let why = if q == "RED" {
                "quality RED: may be paused".to_string()
            } else {
                "quality YELLOW".to_string()
            };
            item(r, why, fmt::when(r.last_changed_at))
        })
        .collect();
    let week_ago = now - 7 * 86_400;
    let attention_counts = AttentionCounts {
        pending: attention::count_with_status(conn, &["PENDING", "IN_APPEAL"])?,
        rejected: attention::count_with_status(conn, &["REJECTED"])?,
        paused: attention::count_with_status(conn, &["PAUSED"])?,
        disabled: attention::count_with_status(conn, &["DISABLED"])?,
        quality: attention::count_quality_down(conn)?,
        category: attention::count_category_changes(conn, week_ago)?,
        anomalies: 0,
    };
    let category = category(conn, week_ago, now)?;
    let (anomalies, anomaly_count) = anomalies(conn, now - 86_400)?;
    let attention_counts = AttentionCounts {
        anomalies: anomaly_count,
        ..attention_counts
    };
    Ok(Lists {
        pending,
        rejected,
        paused,
        disabled,
        quality,
        category,
        anomalies,
        counts: attention_counts,
    })
}

/// Delivery anomalies found since `since`, newest first, and how many in all.
fn anomalies(conn: &mut Conn, since: i64) -> QueryResult<(Vec<Attention>, i64)> {
    let (found, n) = crate::db::models::anomalies::recent(conn, since, 10)?;
    let mut out = Vec::new();
    for a in &found {
        if let Some(r) = attention::one(conn, a.template_row)? {
            let (what, of) = crate::domain::anomaly::subject(&a.kind, a.error_code);
            let (recent, before) = (a.recent_rate * 100.0, a.baseline_rate * 100.0);
            let why = match of {
                "delivered" => format!(
                    "{what}: {recent:.1} % of deliveries read in 6 h ({} sends), {before:.1} % the week before",
                    a.recent_sent
                ),
                _ => format!(
                    "{what}: {recent:.1} % of {} sends in 6 h, {before:.1} % the week before",
                    a.recent_sent
                ),
            };
            out.push(item(&r, why, fmt::when(a.detected_at)));
        }
    }
    Ok((out, n))
}

fn item(r: &AttentionRow, why: String, since: String) -> Attention {
    Attention {
        id: r.template_id.clone(),
        account: r.account.clone(),
        name: r.name.clone(),
        language: r.language.clone(),
        status: r.status.clone(),
        quality: r.quality.clone(),
        why,
        since,
    }
}

/// Rejected templates with Meta's reason and recommendation (the template page says the same).
fn rejected(conn: &mut Conn) -> QueryResult<Vec<Attention>> {
    let mut out = Vec::new();
    for r in &attention::with_status(conn, &["REJECTED"], 10)? {
        let detail = tpl::last_rejection_detail(conn, r.row_id)?;
        let rec = RejectionInfo::from_detail(detail.as_deref()).recommendation;
        let reason = r
            .rejected_reason
            .clone()
            .unwrap_or_else(|| "no reason given".into());
        let why = match rec {
            Some(rec) => format!("{reason}; Meta recommends: {rec}"),
            None => reason,
        };
        out.push(item(r, why, fmt::when(r.last_changed_at)));
    }
    Ok(out)
}

/// Paused templates with where they stand on the pause ladder.
fn paused(conn: &mut Conn) -> QueryResult<Vec<Attention>> {
    let mut out = Vec::new();
    for r in &attention::with_status(conn, &["PAUSED"], 10)? {
        let pauses = tpl::pauses(conn, r.row_id, None)?;
        let pause = Pause::latest(
            pauses
                .iter()
                .map(|(at, from, d)| (*at, from.as_deref(), d.as_deref())),
        )
        .unwrap_or_else(|| Pause::nth(1, r.last_changed_at));
        out.push(item(r, fmt::pause(&pause), fmt::when(r.last_changed_at)));
    }
    Ok(out)
}

/// Category changes since `since`, announced or done, with what each does to the template's
/// monthly cost.
fn category(conn: &mut Conn, since: i64, now: i64) -> QueryResult<Vec<Attention>> {
    let mut out = Vec::new();
    let today = chrono::DateTime::from_timestamp(now, 0)
        .unwrap_or_default()
        .date_naive();
    for c in attention::category_changes(conn, since, 10)? {
        if let Some(r) = attention::one(conn, c.row_id)? {
            let from = c.from.unwrap_or_default();
            let cost =
                crate::db::models::countries::category_impact(conn, c.row_id, &from, &c.to, today)?;
            let why = format!(
                "{from} → {}{}{}",
                c.to,
                c.reason.map(|x| format!(" ({x})")).unwrap_or_default(),
                cost.map(|x| format!("; cost {x}")).unwrap_or_default()
            );
            out.push(item(&r, why, fmt::when(c.at)));
        }
    }
    Ok(out)
}
