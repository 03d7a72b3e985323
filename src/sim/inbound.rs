//! Customers writing in: `/_sim/inbound` (a message that opens the 24-hour window, and its
//! webhook) and Kapso's conversation record of them.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::manage::{authorized, bad, digits, waba_of_number};
use super::routes::{api, ok, unauthorized, Q};
use super::{Sim, Via};

/// Kapso's `GET /{phone_number_id}/conversations`, filtered by `phone_number`.
pub(super) async fn kapso_conversations(
    State(sim): State<Sim>,
    Path((_ver, pnid)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Response {
    api(&sim, Via::Kapso, |w| {
        let Some(wi) = waba_of_number(w, &pnid) else {
            return bad(100, &format!("(#100) Object with ID '{pnid}' does not exist"));
        };
        if !authorized(w, &headers, Via::Kapso, wi) {
            return unauthorized(w, Via::Kapso);
        }
        let wanted = q.get("phone_number").map(|p| digits(p));
        let data: Vec<Value> = w
            .inbound
            .iter()
            .filter(|((p, n), _)| *p == pnid && wanted.as_ref().is_none_or(|x| x == n))
            .map(|((_, n), at)| {
                let at = crate::clock::rfc3339(*at);
                json!({"id": format!("conv-{n}"), "phone_number": format!("+{n}"), "status": "active",
                       "phone_number_id": pnid, "last_active_at": at,
                       "kapso": {"last_inbound_at": at, "contact_name": null}})
            })
            .collect();
        ok(json!({"data": data, "paging": {"cursors": {"before": null, "after": null}}}))
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct Inbound {
    phone_number_id: String,
    from: String,
    #[serde(default)]
    hours_ago: f64,
    #[serde(default)]
    text: Option<String>,
    /// The customer shows a username: the webhook carries their business-scoped user id only.
    #[serde(default)]
    hide_phone: bool,
}

/// `POST /_sim/inbound`: a customer writes to one of the numbers (opening its window), and the
/// message webhook goes out.
pub(super) async fn inbound(State(sim): State<Sim>, Json(m): Json<Inbound>) -> Response {
    {
        let mut w = sim.world();
        let Some(wi) = waba_of_number(&w, &m.phone_number_id) else {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({"error": "no such phone_number_id"})),
            )
                .into_response();
        };
        let from = digits(&m.from);
        let at = w.now() - (m.hours_ago * 3600.0) as i64;
        w.record_inbound(&m.phone_number_id, &from, at);
        let text = m
            .text
            .unwrap_or_else(|| "Hi, I have a question about my order".into());
        w.announce_inbound(wi, &m.phone_number_id, &from, at, &text, m.hide_phone);
    }
    sim.flush();
    Json(json!({"ok": true, "user_id": super::user_id_of(&digits(&m.from))})).into_response()
}
