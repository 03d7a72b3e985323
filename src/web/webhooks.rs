//! Webhook receivers. Signatures are checked on the raw bytes before anything is parsed; a
//! request gets 200 only after its events are committed. Malformed JSON is 400 and a bad or
//! missing signature 401, both storing nothing; a valid payload with unknown fields or events is
//! acknowledged and ignored, so upstream does not retry it forever.

use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::clock;
use crate::ingest::writer::Delivery;
use crate::ingest::{kapso, meta};
use crate::signing;
use crate::web::query::VerifyQuery;

/// The headers the receivers read. axum's `HeaderMap` extractor copies the whole map for
/// every request; this takes only these values, which share the request's bytes.
pub struct WebhookHeaders {
    meta_signature: Option<HeaderValue>,
    kapso_signature: Option<HeaderValue>,
    kapso_event: Option<HeaderValue>,
    idempotency_key: Option<HeaderValue>,
}

impl<S: Send + Sync> FromRequestParts<S> for WebhookHeaders {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let h = &parts.headers;
        Ok(WebhookHeaders {
            meta_signature: h.get("x-hub-signature-256").cloned(),
            kapso_signature: h.get("x-webhook-signature").cloned(),
            kapso_event: h.get("x-webhook-event").cloned(),
            idempotency_key: h.get("x-idempotency-key").cloned(),
        })
    }
}

fn text(v: &Option<HeaderValue>) -> Option<&str> {
    v.as_ref().and_then(|v| v.to_str().ok())
}

/// `GET /webhooks/meta`: Meta's subscription handshake.
pub async fn meta_verify(State(state): State<AppState>, Query(q): Query<VerifyQuery>) -> Response {
    let Some(cfg) = &state.config.webhooks.meta else {
        return (
            StatusCode::NOT_FOUND,
            "Meta webhooks are not configured ([webhooks.meta])",
        )
            .into_response();
    };
    let token_ok = q.verify_token.as_deref().is_some_and(|t| {
        // Compare through HMAC so the comparison is constant-time.
        let expected = signing::sign(b"verify", cfg.verify_token.expose().as_bytes());
        signing::verify(b"verify", t.as_bytes(), &expected)
    });
    match (q.mode.as_deref(), q.challenge) {
        (Some("subscribe"), Some(challenge)) if token_ok => challenge.into_response(),
        _ => {
            tracing::warn!("Meta webhook verification refused: wrong mode or verify token");
            (StatusCode::FORBIDDEN, "verification failed").into_response()
        }
    }
}

/// `POST /webhooks/meta`.
pub async fn meta_receive(
    State(state): State<AppState>,
    headers: WebhookHeaders,
    body: Bytes,
) -> Response {
    let Some(key) = &state.meta_key else {
        return (
            StatusCode::NOT_FOUND,
            "Meta webhooks are not configured ([webhooks.meta])",
        )
            .into_response();
    };
    let signed = text(&headers.meta_signature)
        .and_then(|s| s.strip_prefix("sha256="))
        .is_some_and(|sig| key.verify(&body, sig));
    if !signed {
        return reject(
            &state,
            "meta",
            StatusCode::UNAUTHORIZED,
            "missing or invalid X-Hub-Signature-256",
        );
    }
    let now = clock::now().timestamp();
    let Ok(parsed) = meta::parse_bytes(&body, now) else {
        return reject(
            &state,
            "meta",
            StatusCode::BAD_REQUEST,
            "body is not valid JSON",
        );
    };
    commit(&state, "meta", parsed, None, now).await
}

/// `POST /webhooks/kapso`.
pub async fn kapso_receive(
    State(state): State<AppState>,
    headers: WebhookHeaders,
    body: Bytes,
) -> Response {
    let Some(key) = &state.kapso_key else {
        return (
            StatusCode::NOT_FOUND,
            "Kapso webhooks are not configured ([webhooks.kapso])",
        )
            .into_response();
    };
    let signed = text(&headers.kapso_signature).is_some_and(|sig| key.verify(&body, sig));
    if !signed {
        return reject(
            &state,
            "kapso",
            StatusCode::UNAUTHORIZED,
            "missing or invalid X-Webhook-Signature",
        );
    }
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return reject(
            &state,
            "kapso",
            StatusCode::BAD_REQUEST,
            "body is not valid JSON",
        );
    };
    let now = clock::now().timestamp();
    let event = text(&headers.kapso_event).unwrap_or("");
    let parsed = kapso::parse(event, &json, now);
    let key = text(&headers.idempotency_key)
        .filter(|k| !k.is_empty())
        .map(|k| format!("kapso:{k}"));
    commit(&state, "kapso", parsed, key, now).await
}

fn reject(state: &AppState, source: &str, status: StatusCode, why: &'static str) -> Response {
    let outcome = if status == StatusCode::UNAUTHORIZED {
        "bad_signature"
    } else {
        "malformed"
    };
    state.metrics.inc(
        "templar_webhook_requests_total",
        &[("source", source), ("outcome", outcome)],
    );
    tracing::warn!(source, "webhook rejected: {why}");
    (status, why).into_response()
}

async fn commit(
    state: &AppState,
    source: &str,
    parsed: meta::Parsed,
    key: Option<String>,
    now: i64,
) -> Response {
    for what in &parsed.ignored {
        // `what` may quote upstream text (an unknown status or event): an excerpt only.
        tracing::info!(
            source,
            "webhook: ignored {}",
            crate::text::excerpt(what, 60)
        );
    }
    if parsed.events.is_empty() {
        state.metrics.inc(
            "templar_webhook_requests_total",
            &[("source", source), ("outcome", "ignored")],
        );
        return (StatusCode::OK, "ok").into_response();
    }
    match state
        .writer
        .submit(Delivery {
            events: parsed.events,
            key,
            now,
        })
        .await
    {
        Ok(o) => {
            // Static label strings: this runs for every webhook.
            let meta = source == "meta";
            let request = match (meta, o.duplicate) {
                (true, false) => r#"source="meta",outcome="accepted""#,
                (true, true) => r#"source="meta",outcome="duplicate""#,
                (false, false) => r#"source="kapso",outcome="accepted""#,
                (false, true) => r#"source="kapso",outcome="duplicate""#,
            };
            let kinds = if meta {
                [
                    r#"source="meta",kind="template""#,
                    r#"source="meta",kind="status""#,
                    r#"source="meta",kind="inbound""#,
                ]
            } else {
                [
                    r#"source="kapso",kind="template""#,
                    r#"source="kapso",kind="status""#,
                    r#"source="kapso",kind="inbound""#,
                ]
            };
            state.metrics.add_many(&[
                ("templar_webhook_requests_total", request.into(), 1.0),
                (
                    "templar_webhook_events_total",
                    kinds[0].into(),
                    o.template_events.into(),
                ),
                (
                    "templar_webhook_events_total",
                    kinds[1].into(),
                    o.statuses.into(),
                ),
                (
                    "templar_webhook_events_total",
                    kinds[2].into(),
                    o.inbound.into(),
                ),
            ]);
            (StatusCode::OK, "ok").into_response()
        }
        Err(e) => {
            state.metrics.inc(
                "templar_webhook_requests_total",
                &[("source", source), ("outcome", "error")],
            );
            tracing::error!(source, "webhook not stored: {e}");
            // Not acknowledged: upstream retries, and nothing is lost.
            (StatusCode::INTERNAL_SERVER_ERROR, "not stored; retry").into_response()
        }
    }
}
