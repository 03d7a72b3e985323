//! The simulator's Graph listings and look-ups: template pages with cursors and field selection,
//! one template, Kapso's phone numbers.

use std::collections::HashSet;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::super::{CursorFault, Sim, SimTemplate, Via, World};
use super::*;

pub(crate) fn encode_cursor(offset: usize) -> String {
    hex::encode(format!("sim:{offset}"))
}

pub(crate) fn decode_cursor(c: &str) -> Option<usize> {
    String::from_utf8(hex::decode(c).ok()?)
        .ok()?
        .strip_prefix("sim:")?
        .parse()
        .ok()
}

/// A template as Graph serializes it, borrowing from the world; `None` fields were not asked
/// for.
#[derive(Serialize)]
pub(crate) struct WireTemplate<'a> {
    pub(crate) id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) language: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) category: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) previous_category: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) correct_category: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sub_category: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) parameter_format: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) components: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) quality_score: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) rejected_reason: Option<&'a str>,
}

/// A listed record: well-formed, or deliberately broken by `/_sim/templates/{id}/corrupt`.
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum Record<'a> {
    Good(Box<WireTemplate<'a>>),
    Corrupt(Value),
}

pub(crate) fn record<'a>(
    t: &'a SimTemplate,
    fields: Option<&HashSet<String>>,
    now: i64,
) -> Record<'a> {
    match t.corrupt {
        // A field that changed type upstream.
        Some(true) => return Record::Corrupt(json!({"id": t.id, "name": 12345, "status": null})),
        Some(false) => return Record::Corrupt(json!({"id": {"value": t.id}, "name": t.name})),
        None => {}
    }
    let want = |f: &str| fields.is_none_or(|s| s.contains(f));
    let pick = |f: &str, v: &'a str| want(f).then_some(v);
    Record::Good(Box::new(WireTemplate {
        id: &t.id,
        name: pick("name", &t.name),
        language: pick("language", &t.language),
        status: pick("status", &t.status),
        category: pick("category", &t.category),
        previous_category: t
            .previous_category
            .as_deref()
            .filter(|_| want("previous_category")),
        correct_category: t
            .correct_category
            .as_deref()
            .filter(|_| want("correct_category")),
        sub_category: (t.category == "MARKETING" && want("sub_category")).then_some("CUSTOM"),
        parameter_format: pick("parameter_format", &t.parameter_format),
        components: want("components").then_some(&*t.components_raw),
        quality_score: want("quality_score").then(|| json!({"score": t.quality, "date": now})),
        rejected_reason: pick(
            "rejected_reason",
            t.rejected_reason.as_deref().unwrap_or("NONE"),
        ),
    }))
}

pub(crate) fn template_json(t: &SimTemplate, fields: Option<&HashSet<String>>, now: i64) -> Value {
    serde_json::to_value(record(t, fields, now)).unwrap_or(Value::Null)
}

pub(crate) fn fields_of(q: &GraphQuery) -> Option<HashSet<String>> {
    q.get("fields")
        .map(|f| f.split(',').map(|s| s.trim().to_string()).collect())
}

pub(crate) fn list(
    w: &mut World,
    waba: &str,
    q: &GraphQuery,
    headers: &HeaderMap,
    via: Via,
    host: &str,
) -> Answer {
    let Some(wi) = waba_index(w, waba) else {
        return if credential(headers, via).is_none() {
            unauthorized(w, via)
        } else {
            no_object(waba)
        };
    };
    if credential(headers, via).as_deref() != Some(w.wabas[wi].credential.as_str()) {
        return unauthorized(w, via);
    }
    let (default, max) = match via {
        Via::Meta => (25, 1000),
        Via::Kapso => (20, 100),
    };
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => default,
        Some(Ok(l)) if l >= 1 => l.min(max),
        Some(_) => {
            return graph_error(
                StatusCode::BAD_REQUEST,
                100,
                "(#100) Param limit must be a positive integer",
                "OAuthException",
            )
        }
    };
    w.stats.max_limit = w.stats.max_limit.max(limit as u64);
    let offset = match q.get("after") {
        None => 0,
        Some(c) => match decode_cursor(c) {
            Some(o) => o,
            None => {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    100,
                    "(#100) Invalid after cursor",
                    "OAuthException",
                )
            }
        },
    };
    let upper = |k: &str| {
        q.get(k).map(|v| {
            v.split(',')
                .map(|s| s.trim().to_ascii_uppercase())
                .collect::<HashSet<_>>()
        })
    };
    let (statuses, categories) = (upper("status"), upper("category"));
    let languages = q.get("language").map(|v| {
        v.split(',')
            .map(|s| s.trim().to_string())
            .collect::<HashSet<_>>()
    });
    let name = q.get("name");
    let fields = fields_of(q);
    let now = w.now();
    let matching: Vec<&SimTemplate> = w.by_waba[wi]
        .iter()
        .map(|&i| &w.templates[i])
        .filter(|t| !t.deleted)
        .filter(|t| statuses.as_ref().is_none_or(|s| s.contains(&t.status)))
        .filter(|t| categories.as_ref().is_none_or(|s| s.contains(&t.category)))
        .filter(|t| languages.as_ref().is_none_or(|s| s.contains(&t.language)))
        .filter(|t| name.is_none_or(|n| &t.name == n))
        .collect();
    let end = (offset + limit).min(matching.len());
    let page: Vec<Record> = matching
        .get(offset.min(end)..end)
        .unwrap_or(&[])
        .iter()
        .map(|t| record(t, fields.as_ref(), now))
        .collect();
    let more = end < matching.len();
    let after = match w.faults.cursor {
        Some(CursorFault::Stuck) if offset > 0 => offset,
        Some(CursorFault::Cycle) if offset >= 2 * limit => limit,
        _ => end,
    };
    // Graph's paging, which Kapso's proxy passes through: both cursors on every page, `next` on
    // every page but the last.
    let mut paging =
        json!({"cursors": {"before": encode_cursor(offset), "after": encode_cursor(after)}});
    if more {
        let mut next = match via {
            // Like Meta, the next link carries the access token.
            Via::Meta => format!(
                "http://{host}/v26.0/{waba}/message_templates?access_token={}&limit={limit}&after={}",
                w.wabas[wi].credential,
                encode_cursor(after)
            ),
            Via::Kapso => format!(
                "http://{host}/meta/whatsapp/v26.0/{waba}/message_templates?limit={limit}&after={}",
                encode_cursor(after)
            ),
        };
        if let Some(f) = q.get("fields") {
            next.push_str(&format!("&fields={f}"));
        }
        paging["next"] = json!(next);
    }
    #[derive(Serialize)]
    struct PageOut<'a> {
        data: Vec<Record<'a>>,
        paging: Value,
    }
    // Serialized here, borrowing the world, rather than cloned into a `Value` tree.
    Answer {
        status: StatusCode::OK,
        body: Body::Raw(serde_json::to_vec(&PageOut { data: page, paging }).unwrap_or_default()),
    }
}

pub(crate) fn host(headers: &HeaderMap) -> String {
    headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string()
}

pub(crate) async fn meta_list(
    State(sim): State<Sim>,
    Path((_ver, waba)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Response {
    let h = host(&headers);
    api(&sim, Via::Meta, |w| {
        list(w, &waba, &q, &headers, Via::Meta, &h)
    })
    .await
}

pub(crate) async fn kapso_list(
    State(sim): State<Sim>,
    Path((_ver, waba)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Response {
    let h = host(&headers);
    api(&sim, Via::Kapso, |w| {
        list(w, &waba, &q, &headers, Via::Kapso, &h)
    })
    .await
}

pub(crate) fn get_one(
    w: &mut World,
    waba: Option<&str>,
    id: &str,
    q: &GraphQuery,
    headers: &HeaderMap,
    via: Via,
) -> Answer {
    if let Some((wi, _)) = w.number(id) {
        if credential(headers, via).as_deref() != Some(w.wabas[wi].credential.as_str())
            || waba.is_some()
        {
            return unauthorized(w, via);
        }
        return match w.number_json(id, q.fields.as_deref()) {
            Some(v) => ok(v),
            None => no_object(id),
        };
    }
    let Some(&i) = w.by_id.get(id) else {
        // Meta's /{node}: a WABA id answers with the account itself.
        if let (Via::Meta, None, Some(wi)) = (via, waba, waba_index(w, id)) {
            if credential(headers, via).as_deref() != Some(w.wabas[wi].credential.as_str()) {
                return unauthorized(w, via);
            }
            return ok(
                json!({"id": id, "name": w.wabas[wi].name, "currency": "USD", "timezone_id": "1"}),
            );
        }
        return no_object(id);
    };
    let t = &w.templates[i];
    if credential(headers, via).as_deref() != Some(w.wabas[t.waba].credential.as_str()) {
        return unauthorized(w, via);
    }
    if t.deleted || waba.is_some_and(|x| x != w.wabas[t.waba].id) {
        return no_object(id);
    }
    ok(template_json(t, fields_of(q).as_ref(), w.now()))
}

pub(crate) async fn meta_node(
    State(sim): State<Sim>,
    Path((_ver, node)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Response {
    api(&sim, Via::Meta, |w| {
        get_one(w, None, &node, &q, &headers, Via::Meta)
    })
    .await
}

/// Kapso's proxy of Meta's `/{node}` (a phone number's health).
pub(crate) async fn kapso_node(
    State(sim): State<Sim>,
    Path((_ver, node)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Response {
    api(&sim, Via::Kapso, |w| {
        get_one(w, None, &node, &q, &headers, Via::Kapso)
    })
    .await
}

pub(crate) async fn kapso_get(
    State(sim): State<Sim>,
    Path((_ver, waba, id)): Path<(String, String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Response {
    api(&sim, Via::Kapso, |w| {
        get_one(w, Some(&waba), &id, &q, &headers, Via::Kapso)
    })
    .await
}

pub(crate) async fn kapso_phone_numbers(
    State(sim): State<Sim>,
    Query(q): Q,
    headers: HeaderMap,
) -> Response {
    api(&sim, Via::Kapso, |w| {
        let key = credential(&headers, Via::Kapso);
        let mine: Vec<Value> = w
            .wabas
            .iter()
            .filter(|x| x.via == Via::Kapso && Some(&x.credential) == key.as_ref())
            .flat_map(|x| {
                x.phone_numbers.iter().map(move |(id, display)| {
                    json!({"id": id, "phone_number_id": id, "business_account_id": x.id,
                           "name": x.name, "display_phone_number": display, "status": "CONNECTED",
                           "quality_rating": "GREEN", "verified_name": x.name})
                })
            })
            .collect();
        if mine.is_empty() {
            return unauthorized(w, Via::Kapso);
        }
        let per_page = q
            .get("per_page")
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(20)
            .clamp(1, 100);
        let page = q
            .get("page")
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        let total_pages = mine.len().div_ceil(per_page);
        let data: Vec<Value> = mine
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .cloned()
            .collect();
        ok(
            json!({"data": data, "meta": {"page": page, "per_page": per_page,
                                          "total_pages": total_pages, "total_count": mine.len()}}),
        )
    })
    .await
}
