//! The simulator's HTTP surface: Meta's Graph paths, Kapso's proxy and Platform paths (same
//! shapes, paging, auth and error envelopes as the references describe), and `/_sim/` control.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::{analytics, manage, Fault, Faults, Sim, SimTemplate, Via, World};

pub fn router(sim: Sim) -> Router {
    Router::new()
        .route("/_sim/state", get(state))
        .route("/_sim/stats", get(stats))
        .route("/_sim/advance", post(advance))
        .route("/_sim/faults", post(set_faults))
        .route("/_sim/templates/{id}/status", post(force_status))
        .route("/_sim/templates/{id}/corrupt", post(corrupt))
        .route("/_sim/templates/{id}", delete(remove))
        .route("/_sim/inbound", post(manage::inbound))
        .route(
            "/platform/v1/whatsapp/phone_numbers",
            get(kapso_phone_numbers),
        )
        .route(
            "/meta/whatsapp/{ver}/{waba}/message_templates",
            get(kapso_list)
                .post(manage::kapso_create_or_edit)
                .delete(manage::kapso_delete),
        )
        .route(
            "/meta/whatsapp/{ver}/{waba}/message_templates/{id}",
            get(kapso_get),
        )
        .route(
            "/{ver}/{waba}/message_templates",
            get(meta_list)
                .post(manage::meta_create)
                .delete(manage::meta_delete),
        )
        .route("/{ver}/{pnid}/messages", post(manage::meta_send))
        .route(
            "/meta/whatsapp/{ver}/{pnid}/conversations",
            get(manage::kapso_conversations),
        )
        .route(
            "/{ver}/{waba}/template_analytics",
            get(analytics::template_analytics),
        )
        .route(
            "/meta/whatsapp/{ver}/{pnid}/messages",
            get(analytics::kapso_messages).post(manage::kapso_send),
        )
        .route("/{ver}/{node}", get(meta_node).post(manage::meta_edit))
        .with_state(sim)
}

pub(super) type Q = Query<HashMap<String, String>>;

/// A JSON answer before faults and latency are applied.
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) body: Body,
}

pub(super) enum Body {
    Json(Value),
    Raw(Vec<u8>),
}

pub(super) fn ok(body: Value) -> Answer {
    Answer {
        status: StatusCode::OK,
        body: Body::Json(body),
    }
}

pub(super) fn graph_error(status: StatusCode, code: i64, message: &str, kind: &str) -> Answer {
    Answer {
        status,
        body: Body::Json(
            json!({"error": {"message": message, "type": kind, "code": code,
                               "fbtrace_id": "AbCdEfGhIjKlMnOpQrStUv"}}),
        ),
    }
}

pub(super) fn unauthorized(w: &mut World, via: Via) -> Answer {
    w.stats.unauthorized += 1;
    match via {
        Via::Meta => graph_error(
            StatusCode::UNAUTHORIZED,
            190,
            "Invalid OAuth access token - Cannot parse access token",
            "OAuthException",
        ),
        Via::Kapso => Answer {
            status: StatusCode::UNAUTHORIZED,
            body: Body::Json(json!({"error": "Invalid API key"})),
        },
    }
}

fn no_object(id: &str) -> Answer {
    graph_error(
        StatusCode::BAD_REQUEST,
        100,
        &format!("Unsupported get request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."),
        "GraphMethodException",
    )
}

/// The credential a request carries for `via`: Bearer for Meta, `X-API-Key` for Kapso.
pub(super) fn credential(headers: &HeaderMap, via: Via) -> Option<String> {
    match via {
        Via::Meta => headers
            .get("authorization")?
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")
            .map(str::to_string),
        Via::Kapso => headers.get("x-api-key")?.to_str().ok().map(str::to_string),
    }
}

/// Counts the request, applies latency and faults, and renders `f`'s answer.
pub(super) async fn api(sim: &Sim, via: Via, f: impl FnOnce(&mut World) -> Answer) -> Response {
    let (fault, latency) = {
        let mut w = sim.world();
        w.stats.requests += 1;
        match via {
            Via::Meta => w.stats.meta_requests += 1,
            Via::Kapso => w.stats.kapso_requests += 1,
        }
        (w.next_fault(), w.latency)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let usage = |pct: u32, regain: u64| {
        json!({"102290129340398": [{"type": "whatsapp_business_management", "call_count": pct,
                                     "total_cputime": pct / 2, "total_time": pct / 2,
                                     "estimated_time_to_regain_access": regain}]})
        .to_string()
    };
    let rate_limit = |retry_after: Option<&'static str>, regain: u64| {
        let body = json!({"error": {"message": "(#80007) There have been too many calls to this WhatsApp Business account.",
                                    "type": "OAuthException", "code": 80007, "error_subcode": 2446079,
                                    "is_transient": true, "fbtrace_id": "AbCdEf"}});
        let mut r = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
        if let Some(after) = retry_after {
            r.headers_mut()
                .insert("retry-after", HeaderValue::from_static(after));
        }
        if let Ok(v) = HeaderValue::from_str(&usage(100, regain)) {
            r.headers_mut().insert("x-business-use-case-usage", v);
        }
        r
    };
    match fault {
        Some(Fault::RateLimit) => return rate_limit(Some("1"), 0),
        Some(Fault::RetryAfterInfinite) => return rate_limit(Some("inf"), 0),
        Some(Fault::RetryAfterHuge) => return rate_limit(Some("1e20"), 0),
        Some(Fault::RegainHuge) => return rate_limit(None, 1 << 62),
        Some(Fault::ServerError) => {
            let body = json!({"error": {"message": "An unexpected error has occurred. Please retry your request later.",
                                        "type": "OAuthException", "code": 2, "is_transient": true,
                                        "fbtrace_id": "AbCdEf"}});
            return (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response();
        }
        Some(Fault::PairRate) => {
            let body = json!({"error": {"message": "(#131056) (Business Account, Consumer Account) pair rate limit hit",
                                        "type": "OAuthException", "code": 131056,
                                        "error_data": {"messaging_product": "whatsapp",
                                                       "details": "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time."},
                                        "fbtrace_id": "AbCdEf"}});
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
        Some(Fault::Throughput) => {
            let body = json!({"error": {"message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429,
                                        "error_data": {"messaging_product": "whatsapp",
                                                       "details": "Cloud API message throughput has been reached."},
                                        "fbtrace_id": "AbCdEf"}});
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
        Some(Fault::Timeout) => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        _ => {}
    }
    let answer = f(&mut sim.world());
    let mut bytes = match answer.body {
        Body::Json(v) => serde_json::to_vec(&v).unwrap_or_default(),
        Body::Raw(b) => b,
    };
    if fault == Some(Fault::Truncated) {
        bytes.truncate(bytes.len() / 2);
    }
    let mut r = (answer.status, bytes).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    if via == Via::Meta {
        if let Ok(v) = HeaderValue::from_str(&usage(7, 0)) {
            r.headers_mut().insert("x-business-use-case-usage", v);
        }
    }
    r
}

pub(super) fn encode_cursor(offset: usize) -> String {
    hex::encode(format!("sim:{offset}"))
}

pub(super) fn decode_cursor(c: &str) -> Option<usize> {
    String::from_utf8(hex::decode(c).ok()?)
        .ok()?
        .strip_prefix("sim:")?
        .parse()
        .ok()
}

/// A template as Graph serializes it, borrowing from the world; `None` fields were not asked
/// for.
#[derive(Serialize)]
struct WireTemplate<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_category: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    correct_category: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub_category: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameter_format: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    components: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quality_score: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rejected_reason: Option<&'a str>,
}

/// A listed record: well-formed, or deliberately broken by `/_sim/templates/{id}/corrupt`.
#[derive(Serialize)]
#[serde(untagged)]
enum Record<'a> {
    Good(Box<WireTemplate<'a>>),
    Corrupt(Value),
}

fn record<'a>(t: &'a SimTemplate, fields: Option<&HashSet<String>>, now: i64) -> Record<'a> {
    if t.corrupt {
        return Record::Corrupt(json!({"id": t.id, "name": 12345, "status": null}));
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

fn template_json(t: &SimTemplate, fields: Option<&HashSet<String>>, now: i64) -> Value {
    serde_json::to_value(record(t, fields, now)).unwrap_or(Value::Null)
}

fn fields_of(q: &HashMap<String, String>) -> Option<HashSet<String>> {
    q.get("fields")
        .map(|f| f.split(',').map(|s| s.trim().to_string()).collect())
}

pub(super) fn waba_index(w: &World, waba: &str) -> Option<usize> {
    w.wabas.iter().position(|x| x.id == waba)
}

fn list(
    w: &mut World,
    waba: &str,
    q: &HashMap<String, String>,
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
    let paging = match via {
        Via::Meta => {
            let mut p =
                json!({"cursors": {"before": encode_cursor(offset), "after": encode_cursor(end)}});
            if more {
                // Like Meta, the next link carries the access token.
                let token = &w.wabas[wi].credential;
                let mut next = format!("http://{host}/v24.0/{waba}/message_templates?access_token={token}&limit={limit}&after={}", encode_cursor(end));
                if let Some(f) = q.get("fields") {
                    next.push_str(&format!("&fields={f}"));
                }
                p["next"] = json!(next);
            }
            p
        }
        Via::Kapso => json!({"cursors": {"before": encode_cursor(offset),
                                         "after": if more { json!(encode_cursor(end)) } else { Value::Null }}}),
    };
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

fn host(headers: &HeaderMap) -> String {
    headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string()
}

async fn meta_list(
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

async fn kapso_list(
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

fn get_one(
    w: &mut World,
    waba: Option<&str>,
    id: &str,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
    via: Via,
) -> Answer {
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

async fn meta_node(
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

async fn kapso_get(
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

async fn kapso_phone_numbers(State(sim): State<Sim>, Query(q): Q, headers: HeaderMap) -> Response {
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

// ---- control API ---------------------------------------------------------------------------

async fn state(State(sim): State<Sim>) -> Json<Value> {
    let w = sim.world();
    let templates: Vec<Value> = w
        .templates
        .iter()
        .filter(|t| !t.deleted)
        .map(|t| {
            json!({"id": t.id, "waba_id": w.wabas[t.waba].id, "name": t.name, "language": t.language,
                   "category": t.category, "status": t.status, "quality": t.quality,
                   "rejected_reason": t.rejected_reason, "parameter_format": t.parameter_format,
                   "components": t.components})
        })
        .collect();
    let wabas: Vec<Value> = w
        .wabas
        .iter()
        .map(|x| json!({"id": x.id, "name": x.name, "source": if x.via == Via::Meta { "meta" } else { "kapso" },
                        "phone_number_ids": x.phone_numbers.iter().map(|p| p.0.clone()).collect::<Vec<_>>()}))
        .collect();
    Json(json!({"now": w.now(), "wabas": wabas, "templates": templates}))
}

async fn stats(State(sim): State<Sim>) -> Json<Value> {
    Json(json!(sim.world().stats))
}

#[derive(Deserialize)]
struct Advance {
    #[serde(default)]
    hours: f64,
}

async fn advance(State(sim): State<Sim>, Json(a): Json<Advance>) -> Response {
    if !(0.0..=24.0 * 365.0).contains(&a.hours) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "hours must be between 0 and 8760"})),
        )
            .into_response();
    }
    let changed = sim.advance((a.hours * 3600.0) as i64);
    let w = sim.world();
    Json(json!({"now": w.now(), "changed": changed, "messages": w.messages.len()})).into_response()
}

async fn set_faults(State(sim): State<Sim>, Json(f): Json<Faults>) -> Json<Value> {
    let mut w = sim.world();
    w.faults = f;
    Json(json!(w.faults))
}

#[derive(Deserialize)]
struct ForceStatus {
    status: String,
    #[serde(default)]
    reason: Option<String>,
}

async fn force_status(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    Json(f): Json<ForceStatus>,
) -> Response {
    let body = {
        let mut w = sim.world();
        let Some(&i) = w.by_id.get(&id) else {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({"error": format!("no template {id}")})),
            )
                .into_response();
        };
        w.set_status(i, &f.status.to_ascii_uppercase(), f.reason);
        let now = w.now();
        template_json(&w.templates[i], None, now)
    };
    // Sends the status webhook when a webhook URL is set.
    sim.flush();
    Json(body).into_response()
}

async fn corrupt(State(sim): State<Sim>, Path(id): Path<String>) -> Response {
    let mut w = sim.world();
    match w.by_id.get(&id).copied() {
        Some(i) => {
            w.templates[i].corrupt = true;
            StatusCode::NO_CONTENT.into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn remove(State(sim): State<Sim>, Path(id): Path<String>) -> Response {
    let mut w = sim.world();
    match w.by_id.get(&id).copied() {
        Some(i) => {
            w.templates[i].deleted = true;
            StatusCode::NO_CONTENT.into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
