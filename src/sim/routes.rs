//! The simulator's HTTP surface: Meta's Graph paths, Kapso's proxy and Platform paths (same
//! shapes, paging, auth and error envelopes as the references describe), and `/_sim/` control.

use std::time::Duration;

use axum::extract::Query;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{analytics, manage, Fault, Sim, Via, World};

mod listing;
pub(crate) use listing::*;

mod control;
pub(crate) use control::*;

pub fn router(sim: Sim) -> Router {
    Router::new()
        .route("/_sim/state", get(state))
        .route("/_sim/stats", get(stats))
        .route("/_sim/advance", post(advance))
        .route("/_sim/faults", post(set_faults))
        .route("/_sim/templates/{id}/status", post(force_status))
        .route("/_sim/templates/{id}/corrupt", post(corrupt))
        .route("/_sim/templates/{id}/event", post(send_event))
        .route("/_sim/templates/{id}/body", post(control::edit_body))
        .route("/_sim/templates/{id}/failures", post(control::surge))
        .route("/_sim/templates/{id}/category", post(control::recategorise))
        .route("/_sim/templates/{id}", delete(remove))
        .route("/_sim/inbound", post(super::inbound::inbound))
        .route("/_sim/numbers/{id}", post(control::change_number))
        // A stand-in for a team's chat: `templar demo` sends its notifications here.
        .route("/_sim/notifications", post(|| async { "ok" }))
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
            "/{ver}/message_template_library",
            get(super::library::meta_library),
        )
        .route(
            "/meta/whatsapp/{ver}/message_template_library",
            get(super::library::kapso_library),
        )
        .route(
            "/{ver}/{waba}/template_groups",
            get(super::groups::meta_groups),
        )
        .route(
            "/meta/whatsapp/{ver}/{waba}/template_groups",
            get(super::groups::kapso_groups),
        )
        .route(
            "/{ver}/{waba}/template_group_analytics",
            get(super::groups::group_analytics),
        )
        .route(
            "/meta/whatsapp/{ver}/{pnid}/conversations",
            get(super::inbound::kapso_conversations),
        )
        .route(
            "/{ver}/{waba}/template_analytics",
            get(analytics::template_analytics),
        )
        .route(
            "/meta/whatsapp/{ver}/{pnid}/messages",
            get(analytics::kapso_messages).post(manage::kapso_send),
        )
        .route("/meta/whatsapp/{ver}/{node}", get(kapso_node))
        .route("/{ver}/{node}", get(meta_node).post(manage::meta_edit))
        .with_state(sim)
}

/// The query parameters the simulated Graph and Kapso endpoints read; others are ignored, as
/// Graph ignores parameters it does not know.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct GraphQuery {
    pub fields: Option<String>,
    pub limit: Option<String>,
    pub after: Option<String>,
    pub status: Option<String>,
    pub category: Option<String>,
    pub language: Option<String>,
    pub name: Option<String>,
    pub hsm_id: Option<String>,
    pub phone_number: Option<String>,
    pub template_ids: Option<String>,
    pub template_group_ids: Option<String>,
    pub granularity: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub direction: Option<String>,
    pub product_type: Option<String>,
    pub search: Option<String>,
    pub topic: Option<String>,
    pub usecase: Option<String>,
    pub industry: Option<String>,
}

impl GraphQuery {
    /// A parameter by its wire name, for the checks that treat several alike.
    pub fn get(&self, key: &str) -> Option<&String> {
        match key {
            "fields" => self.fields.as_ref(),
            "limit" => self.limit.as_ref(),
            "after" => self.after.as_ref(),
            "status" => self.status.as_ref(),
            "category" => self.category.as_ref(),
            "language" => self.language.as_ref(),
            "name" => self.name.as_ref(),
            "hsm_id" => self.hsm_id.as_ref(),
            "phone_number" => self.phone_number.as_ref(),
            "template_ids" => self.template_ids.as_ref(),
            "template_group_ids" => self.template_group_ids.as_ref(),
            "granularity" => self.granularity.as_ref(),
            "start" => self.start.as_ref(),
            "end" => self.end.as_ref(),
            "since" => self.since.as_ref(),
            "until" => self.until.as_ref(),
            "direction" => self.direction.as_ref(),
            "product_type" => self.product_type.as_ref(),
            "search" => self.search.as_ref(),
            "topic" => self.topic.as_ref(),
            "usecase" => self.usecase.as_ref(),
            "industry" => self.industry.as_ref(),
            _ => None,
        }
    }
}

pub(super) type Q = Query<GraphQuery>;

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
        Some(Fault::RetryAfterZero) => return rate_limit(Some("0"), 0),
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

pub(super) fn waba_index(w: &World, waba: &str) -> Option<usize> {
    w.wabas.iter().position(|x| x.id == waba)
}
