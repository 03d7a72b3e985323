//! Template groups as Meta serves them: `GET /{waba}/template_groups` (Meta and Kapso's proxy)
//! and `GET /{waba}/template_group_analytics` (at most 10 group ids a call, DAILY). Each WABA
//! has two groups: every third of its templates in "Order updates", the next third in
//! "Promotions"; the rest are in none (a template is in at most one group). A test may give
//! a WABA more (`template_groups`): with n groups, every (n+1)-th template joins each.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::routes::{
    api, credential, graph_error, ok, unauthorized, waba_index, Answer, GraphQuery, Q,
};
use super::{Sim, Via, World};

const GROUPS: [(&str, &str); 2] = [
    ("Order updates", "Everything after a purchase"),
    ("Promotions", "Seasonal offers"),
];

impl World {
    /// The groups of WABA `wi`: (id, name, description, template indices).
    pub fn groups(&self, wi: usize) -> Vec<(String, String, String, Vec<usize>)> {
        let n = self.wabas[wi].template_groups.min(99);
        (0..n)
            .map(|g| {
                let (name, desc) = match GROUPS.get(g) {
                    Some((name, desc)) => (name.to_string(), desc.to_string()),
                    None => (format!("Campaign {g}"), "A seasonal campaign".to_string()),
                };
                let members = self.by_waba[wi]
                    .iter()
                    .enumerate()
                    .filter(|(pos, i)| pos % (n + 1) == g && !self.templates[**i].deleted)
                    .map(|(_, i)| *i)
                    .collect();
                (
                    format!("{}", 9_020_000_000_000u64 + wi as u64 * 100 + g as u64),
                    name,
                    desc,
                    members,
                )
            })
            .collect()
    }
}

fn authorized_waba(
    w: &mut World,
    waba: &str,
    headers: &HeaderMap,
    via: Via,
) -> Result<usize, Answer> {
    let Some(wi) = waba_index(w, waba) else {
        return Err(unauthorized(w, via));
    };
    if credential(headers, via).as_deref() != Some(w.wabas[wi].credential.as_str()) {
        return Err(unauthorized(w, via));
    }
    Ok(wi)
}

fn list(w: &mut World, waba: &str, headers: &HeaderMap, via: Via) -> Answer {
    let wi = match authorized_waba(w, waba, headers, via) {
        Ok(wi) => wi,
        Err(a) => return a,
    };
    let data: Vec<Value> = w
        .groups(wi)
        .into_iter()
        .map(|(id, name, description, members)| {
            let templates: Vec<Value> = members
                .iter()
                .map(|i| json!({"id": w.templates[*i].id, "name": w.templates[*i].name}))
                .collect();
            json!({"id": id, "name": name, "description": description,
                   "whatsapp_business_templates": {"data": templates}})
        })
        .collect();
    ok(json!({"data": data, "paging": {"cursors": {"before": "MA", "after": "MQ"}}}))
}

pub(super) async fn meta_groups(
    State(sim): State<Sim>,
    Path((_ver, waba)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    api(&sim, Via::Meta, |w| list(w, &waba, &headers, Via::Meta)).await
}

pub(super) async fn kapso_groups(
    State(sim): State<Sim>,
    Path((_ver, waba)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    api(&sim, Via::Kapso, |w| list(w, &waba, &headers, Via::Kapso)).await
}

pub(super) async fn group_analytics(
    State(sim): State<Sim>,
    Path((_ver, waba)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Response {
    api(&sim, Via::Meta, |w| analytics(w, &waba, &q, &headers)).await
}

fn analytics(w: &mut World, waba: &str, q: &GraphQuery, headers: &HeaderMap) -> Answer {
    let wi = match authorized_waba(w, waba, headers, Via::Meta) {
        Ok(wi) => wi,
        Err(a) => return a,
    };
    let bad = |m: &str| {
        graph_error(
            StatusCode::BAD_REQUEST,
            100,
            &format!("(#100) {m}"),
            "OAuthException",
        )
    };
    let ids: Vec<String> = q
        .get("template_group_ids")
        .map(|v| super::analytics::list_param(v))
        .unwrap_or_default();
    if ids.is_empty() || ids.len() > 10 {
        return bad("Param template_group_ids must be an array of 1 to 10 template group ids");
    }
    if !q
        .get("granularity")
        .is_some_and(|g| g.eq_ignore_ascii_case("DAILY"))
    {
        return bad("Param granularity must be DAILY");
    }
    let (Some(start), Some(end)) = (
        q.get("start").and_then(|v| super::analytics::parse_day(v)),
        q.get("end").and_then(|v| super::analytics::parse_day(v)),
    ) else {
        return bad("Params start and end are required (unix time or YYYY-MM-DD)");
    };
    let mut points = Vec::new();
    for (id, _, _, members) in w.groups(wi).into_iter().filter(|g| ids.contains(&g.0)) {
        let mut day = start;
        while day < end.max(start + 1) {
            let (mut sent, mut delivered, mut read, mut clicked, mut cost) = (0, 0, 0, 0, 0.0);
            for i in &members {
                if let Some(s) = w.analytics.get(&(*i, day)) {
                    sent += s.sent;
                    delivered += s.delivered;
                    read += s.read;
                    clicked += s.clicked;
                    cost += s.cost;
                }
            }
            if sent > 0 {
                points.push(json!({"template_group_id": id, "start": day, "end": day + 86_400,
                    "sent": sent, "delivered": delivered, "read": read,
                    "clicked": [{"type": "url_button", "count": clicked}],
                    "cost": [{"type": "amount_spent", "value": (cost * 10_000.0).round() / 10_000.0}]}));
            }
            day += 86_400;
        }
    }
    ok(
        json!({"data": [{"granularity": "DAILY", "data_points": points}], "paging": {"cursors": {}}}),
    )
}
