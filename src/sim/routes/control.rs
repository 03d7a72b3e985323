//! The simulator's control API under `/_sim/`: state, stats, time, faults, forced statuses, corrupt
//! and removed templates.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::super::{Faults, Sim, Via};
use super::*;

// ---- control API ---------------------------------------------------------------------------

pub(crate) async fn state(State(sim): State<Sim>) -> Json<Value> {
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

pub(crate) async fn stats(State(sim): State<Sim>) -> Json<Value> {
    Json(json!(sim.world().stats))
}

#[derive(Deserialize)]
pub(crate) struct Advance {
    #[serde(default)]
    pub(crate) hours: f64,
}

pub(crate) async fn advance(State(sim): State<Sim>, Json(a): Json<Advance>) -> Response {
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

pub(crate) async fn set_faults(State(sim): State<Sim>, Json(f): Json<Faults>) -> Json<Value> {
    let mut w = sim.world();
    w.faults = f;
    Json(json!(w.faults))
}

#[derive(Deserialize)]
pub(crate) struct ForceStatus {
    pub(crate) status: String,
    #[serde(default)]
    pub(crate) reason: Option<String>,
}

pub(crate) async fn force_status(
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

/// How `/_sim/templates/{id}/corrupt` breaks a record.
#[derive(Deserialize)]
pub(crate) struct Corrupt {
    /// Whether the broken record still carries a readable id (default true).
    #[serde(default = "yes")]
    keep_id: bool,
}

fn yes() -> bool {
    true
}

/// A status-update event to send, as Meta would.
#[derive(Deserialize)]
pub(crate) struct SendEvent {
    event: String,
    /// `other_info.title`: FIRST_PAUSE, SECOND_PAUSE, RATE_LIMITING_PAUSE, UNPAUSE.
    #[serde(default)]
    title: Option<String>,
}

/// `POST /_sim/templates/{id}/event`: Meta sends this status-update event (any value, known or
/// not) and the template's status moves as Meta's listing would show it.
pub(crate) async fn send_event(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    Json(e): Json<SendEvent>,
) -> Response {
    let body = {
        let mut w = sim.world();
        let Some(&i) = w.by_id.get(&id) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        w.template_event(i, &e.event.to_ascii_uppercase(), e.title.as_deref());
        let now = w.now();
        template_json(&w.templates[i], None, now)
    };
    sim.flush();
    Json(body).into_response()
}

pub(crate) async fn corrupt(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    how: Option<Json<Corrupt>>,
) -> Response {
    let keep_id = how.is_none_or(|Json(h)| h.keep_id);
    let mut w = sim.world();
    match w.by_id.get(&id).copied() {
        Some(i) => {
            w.templates[i].corrupt = Some(keep_id);
            StatusCode::NO_CONTENT.into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub(crate) async fn remove(State(sim): State<Sim>, Path(id): Path<String>) -> Response {
    let mut w = sim.world();
    match w.by_id.get(&id).copied() {
        Some(i) => {
            w.templates[i].deleted = true;
            StatusCode::NO_CONTENT.into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// How `/_sim/templates/{id}/body` edits a template.
#[derive(Deserialize)]
pub(crate) struct EditBody {
    text: String,
    /// Whether Meta sends `message_template_components_update` (default true); without it,
    /// only a sync sees the edit.
    #[serde(default = "yes")]
    webhook: bool,
}

/// `POST /_sim/templates/{id}/body`: the template's body text changes (an edit made in
/// WhatsApp Manager), announced by a components webhook unless told otherwise.
pub(crate) async fn edit_body(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    Json(e): Json<EditBody>,
) -> Response {
    let body = {
        let mut w = sim.world();
        let Some(&i) = w.by_id.get(&id) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let mut comps = w.templates[i].components.clone();
        for c in comps.as_array_mut().into_iter().flatten() {
            if c.get("type").and_then(Value::as_str) == Some("BODY") {
                c["text"] = json!(e.text);
            }
        }
        super::super::manage::set_components(&mut w.templates[i], comps);
        if e.webhook {
            w.announce_components(i);
        }
        let now = w.now();
        template_json(&w.templates[i], None, now)
    };
    sim.flush();
    Json(body).into_response()
}

/// A surge of one error code for `/_sim/templates/{id}/failures`, or readers who stop reading.
#[derive(Deserialize)]
pub(crate) struct Surge {
    #[serde(default)]
    code: i64,
    /// The share of the template's messages that fail with it from now on (0 ends it).
    #[serde(default)]
    share: f64,
    /// The share of its delivered messages read from now on (the usual 62 % when absent).
    reads: Option<f64>,
}

/// `POST /_sim/templates/{id}/failures`: from now on `share` of this template's messages fail
/// with `code` (as when Meta's per-user marketing limit starts holding them back), and
/// `reads` of the delivered ones are read, when given.
pub(crate) async fn surge(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    Json(s): Json<Surge>,
) -> Response {
    let mut w = sim.world();
    let Some(&i) = w.by_id.get(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    w.templates[i].surge = (s.share > 0.0).then_some((s.code, s.share));
    w.templates[i].reads = s.reads;
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /_sim/numbers/{id}`: a phone number's quality or its portfolio's limit moves; with
/// `event`, Meta's `phone_number_quality_update` webhook goes out.
pub(crate) async fn change_number(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    Json(c): Json<crate::sim::numbers::NumberChange>,
) -> Response {
    let changed = sim.world().change_number(&id, c);
    if !changed {
        return StatusCode::NOT_FOUND.into_response();
    }
    sim.flush();
    StatusCode::NO_CONTENT.into_response()
}

/// A category change for `/_sim/templates/{id}/category`.
#[derive(Deserialize)]
pub(crate) struct Recategorise {
    category: String,
    /// Announce it (takes effect in a day) rather than make it.
    #[serde(default)]
    announce: bool,
}

/// `POST /_sim/templates/{id}/category`: Meta re-categorises a template, or announces that it
/// will; `template_category_update` goes out either way.
pub(crate) async fn recategorise(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    Json(r): Json<Recategorise>,
) -> Response {
    {
        let mut w = sim.world();
        let Some(&i) = w.by_id.get(&id) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        if !w.recategorise(i, &r.category.to_ascii_uppercase(), r.announce) {
            return StatusCode::CONFLICT.into_response();
        }
    }
    sim.flush();
    StatusCode::NO_CONTENT.into_response()
}
