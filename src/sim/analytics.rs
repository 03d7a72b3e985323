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

pub(super) fn parse_day(v: &str) -> Option<i64> {
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

pub(super) fn list_param(v: &str) -> Vec<String> {
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
    // Without `product_type`, Meta answers for the Cloud API only. Here a third of each
    // marketing template's sends (rounded down) went through the Marketing Messages API.
    let marketing_api = match q.get("product_type").map(String::as_str) {
        None | Some("CLOUD_API") => false,
        Some("MARKETING_MESSAGES_API_FOR_WHATSAPP") => true,
        Some(other) => return bad(&format!("Param product_type `{other}` is not valid")),
    };
    let share = |n: i64, marketing: bool| match (marketing, marketing_api) {
        (false, false) => n,
        (false, true) => 0,
        (true, true) => n / 3,
        (true, false) => n - n / 3,
    };
    let mut points = Vec::new();
    for id in &ids {
        let Some(&idx) = w.by_id.get(id) else {
            continue;
        };
        if w.templates[idx].waba != wi {
            continue;
        }
        let marketing = w.templates[idx].category == "MARKETING";
        // Clicks go to the template's first button, named as it reads (Meta's `button_content`).
        let (kind, button) = first_button(&w.templates[idx].components);
        if marketing_api && !marketing {
            continue;
        }
        let mut day = start;
        while day < end.max(start + 1) {
            if let Some(s) = w.analytics.get(&(idx, day)) {
                let part = |n: i64| share(n, marketing);
                let clicked = part(s.clicked);
                let cost = if s.sent > 0 {
                    s.cost * part(s.sent) as f64 / s.sent as f64
                } else {
                    0.0
                };
                let delivered = part(s.delivered);
                points.push(json!({
                    "template_id": id, "start": day, "end": day + 86_400,
                    "sent": part(s.sent), "delivered": delivered, "read": part(s.read),
                    // Totals and distinct clickers are separate types; never to be added.
                    "clicked": clicks(&kind, &button, clicked),
                    "cost": [{"type": "amount_spent", "value": (cost * 10_000.0).round() / 10_000.0},
                             {"type": "cost_per_delivered", "value": if delivered > 0 { cost / delivered as f64 } else { 0.0 }}]
                }));
            }
            day += 86_400;
        }
    }
    // Graph's paging, a page of at most ANALYTICS_PAGE points.
    let offset = match q.get("after").map(|c| decode_cursor(c)) {
        None => 0,
        Some(Some(o)) => o,
        Some(None) => return bad("Invalid after cursor"),
    };
    let end_at = (offset + ANALYTICS_PAGE).min(points.len());
    let page: Vec<Value> = points
        .get(offset.min(end_at)..end_at)
        .unwrap_or(&[])
        .to_vec();
    let product = if marketing_api {
        "marketing_messages_api_for_whatsapp"
    } else {
        "cloud_api"
    };
    let mut paging =
        json!({"cursors": {"before": encode_cursor(offset), "after": encode_cursor(end_at)}});
    if end_at < points.len() {
        paging["next"] = json!(format!(
            "https://graph.facebook.com/v26.0/{waba}/template_analytics?after={}",
            encode_cursor(end_at)
        ));
    }
    ok(
        json!({"data": [{"granularity": "DAILY", "product_type": product, "data_points": page}],
              "paging": paging}),
    )
}

/// Data points per `template_analytics` page.
const ANALYTICS_PAGE: usize = 20;

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

/// Meta's `clicked` entries: the total, and for a URL button the distinct clickers too.
fn clicks(kind: &str, button: &str, clicked: i64) -> Value {
    let mut out = vec![json!({"type": kind, "button_content": button, "count": clicked})];
    if kind == "url_button" {
        out.push(
            json!({"type": "unique_url_button", "button_content": button,
                        "count": clicked - clicked / 3}),
        );
    }
    Value::Array(out)
}

/// The click type and text of a template's first button (`url_button "Open"` without one).
fn first_button(components: &Value) -> (String, String) {
    let first = components
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["buttons"].as_array())
        .flatten()
        .next();
    match first {
        Some(b) => {
            let kind = match b["type"].as_str() {
                Some("QUICK_REPLY") => "quick_reply_button",
                _ => "url_button",
            };
            (
                kind.to_string(),
                b["text"].as_str().unwrap_or("Open").to_string(),
            )
        }
        None => ("url_button".into(), "Open".into()),
    }
}
