//! Usage endpoints of the simulator: Meta's `template_analytics` (at most 10 ids, DAILY, 90-day
//! lookback, error 200007 where insights are off) and Kapso's message history.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::routes::{
    api, credential, decode_cursor, encode_cursor, graph_error, ok, unauthorized, waba_index,
    Answer, GraphQuery, Q,
};
use super::traffic::{day_start, steps};
use super::{Sim, Via, World};

/// WABAs with this index modulo 5 have not enabled template insights.
pub const INSIGHTS_OFF_EVERY: usize = 5;

fn parse_day(v: &str) -> Option<i64> {
    if let Ok(ts) = v.parse::<i64>() {
        return Some(day_start(ts));
    }
    chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .map(|d| {
            d.and_hms_opt(0, 0, 0)
                .map_or(0, |t| t.and_utc().timestamp())
        })
}

fn list_param(v: &str) -> Vec<String> {
    v.trim_matches(['[', ']'])
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

pub async fn template_analytics(
    State(sim): State<Sim>,
    Path((_ver, waba)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Response {
    api(&sim, Via::Meta, |w| analytics(w, &waba, &q, &headers)).await
}

fn analytics(w: &mut World, waba: &str, q: &GraphQuery, headers: &HeaderMap) -> Answer {
    let Some(wi) = waba_index(w, waba) else {
        return unauthorized(w, Via::Meta);
    };
    if credential(headers, Via::Meta).as_deref() != Some(w.wabas[wi].credential.as_str()) {
        return unauthorized(w, Via::Meta);
    }
    let bad = |m: &str| {
        graph_error(
            StatusCode::BAD_REQUEST,
            100,
            &format!("(#100) {m}"),
            "OAuthException",
        )
    };
    let ids = q
        .get("template_ids")
        .map(|v| list_param(v))
        .unwrap_or_default();
    w.stats.max_template_ids = w.stats.max_template_ids.max(ids.len() as u64);
    if ids.is_empty() || ids.len() > 10 {
        return bad("Param template_ids must be an array of 1 to 10 template ids");
    }
    if q.get("granularity").map(String::as_str) != Some("DAILY") {
        return bad("Param granularity must be DAILY");
    }
    let (Some(start), Some(end)) = (
        q.get("start").and_then(|v| parse_day(v)),
        q.get("end").and_then(|v| parse_day(v)),
    ) else {
        return bad("Params start and end are required (unix time or YYYY-MM-DD)");
    };
    if start < day_start(w.now()) - 90 * 86_400 {
        return bad("start must be within the last 90 days");
    }
    if wi % INSIGHTS_OFF_EVERY == INSIGHTS_OFF_EVERY - 1 {
        return graph_error(
            StatusCode::BAD_REQUEST,
            200007,
            "(#200007) Template analytics is not enabled for this WhatsApp Business Account",
            "OAuthException",
        );
    }
    let mut points = Vec::new();
    for id in &ids {
        let Some(&idx) = w.by_id.get(id) else {
            continue;
        };
        if w.templates[idx].waba != wi {
            continue;
        }
        let mut day = start;
        while day < end.max(start + 1) {
            if let Some(s) = w.analytics.get(&(idx, day)) {
                points.push(json!({
                    "template_id": id, "start": day, "end": day + 86_400,
                    "sent": s.sent, "delivered": s.delivered, "read": s.read,
                    "clicked": [{"type": "quick_reply_button", "button_content": "Yes", "count": s.clicked}],
                    "cost": [{"type": "amount_spent", "value": (s.cost * 10_000.0).round() / 10_000.0},
                             {"type": "cost_per_delivered", "value": if s.delivered > 0 { s.cost / s.delivered as f64 } else { 0.0 }}]
                }));
            }
            day += 86_400;
        }
    }
    ok(
        json!({"data": [{"granularity": "DAILY", "product_type": "cloud_api", "data_points": points}],
              "paging": {"cursors": {"before": "MAZDZD", "after": "MjQZD"}}}),
    )
}

pub async fn kapso_messages(
    State(sim): State<Sim>,
    Path((_ver, pnid)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Response {
    api(&sim, Via::Kapso, |w| history(w, &pnid, &q, &headers)).await
}

fn history(w: &mut World, pnid: &str, q: &GraphQuery, headers: &HeaderMap) -> Answer {
    let Some(wi) = w
        .wabas
        .iter()
        .position(|x| x.via == Via::Kapso && x.phone_numbers.iter().any(|p| p.0 == pnid))
    else {
        return unauthorized(w, Via::Kapso);
    };
    if credential(headers, Via::Kapso).as_deref() != Some(w.wabas[wi].credential.as_str()) {
        return unauthorized(w, Via::Kapso);
    }
    let time = |k: &str| {
        q.get(k).and_then(|v| {
            v.parse::<i64>().ok().or_else(|| {
                chrono::DateTime::parse_from_rfc3339(v)
                    .ok()
                    .map(|t| t.timestamp())
            })
        })
    };
    let (since, until) = (
        time("since").unwrap_or(i64::MIN),
        time("until").unwrap_or(i64::MAX),
    );
    if q.get("direction").is_some_and(|d| d != "outbound") {
        return ok(json!({"data": [], "paging": {"cursors": {"before": null, "after": null}}}));
    }
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(20)
        .clamp(1, 100);
    let offset = match q.get("after") {
        None => 0,
        Some(c) => match decode_cursor(c) {
            Some(o) => o,
            None => {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    100,
                    "Invalid after cursor",
                    "OAuthException",
                )
            }
        },
    };
    let matching: Vec<&super::SimMessage> = w
        .messages
        .iter()
        .filter(|m| m.phone_number_id == pnid && m.sent_at >= since && m.sent_at < until)
        .collect();
    let end = (offset + limit).min(matching.len());
    let data: Vec<Value> = matching[offset.min(end)..end]
        .iter()
        .map(|m| {
            let t = &w.templates[m.template];
            let statuses: Vec<Value> = steps(m)
                .into_iter()
                .map(|(s, at)| json!({"id": m.wamid, "status": s, "timestamp": at.to_string(), "recipient_id": m.recipient}))
                .collect();
            let status = steps(m).last().map_or("sent", |s| s.0);
            json!({"id": m.wamid, "timestamp": m.sent_at.to_string(), "type": "template", "to": m.recipient,
                   "template": {"name": t.name, "language": {"code": t.language}},
                   "kapso": {"direction": "outbound", "status": status, "processing_status": "completed",
                             "statuses": statuses}})
        })
        .collect();
    let more = end < matching.len();
    ok(
        json!({"data": data, "paging": {"cursors": {"before": encode_cursor(offset),
                                                   "after": if more { json!(encode_cursor(end)) } else { Value::Null }}}}),
    )
}
