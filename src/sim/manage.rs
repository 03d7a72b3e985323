//! The simulator's write side: `POST /{phone_number_id}/messages` (templates checked like
//! Meta checks them, free-form text refused with 131047 outside the 24-hour window), template
//! create, edit and delete on both Meta's and Kapso's paths (customers writing in are in
//! [`super::inbound`]).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use rand::Rng;
use serde_json::{json, Value};

use super::routes::{
    api, credential, graph_error, ok, unauthorized, waba_index, Answer, GraphQuery, Q,
};
use super::traffic::{day_start, SimMessage};
use super::{catalog, checks, Sim, SimTemplate, Via, World};

const WINDOW: i64 = 24 * 3600;

pub(super) fn bad(code: i64, message: &str) -> Answer {
    graph_error(StatusCode::BAD_REQUEST, code, message, "OAuthException")
}

pub(super) fn waba_of_number(w: &World, pnid: &str) -> Option<usize> {
    w.wabas
        .iter()
        .position(|x| x.phone_numbers.iter().any(|p| p.0 == pnid))
}

pub(super) fn authorized(w: &World, headers: &HeaderMap, via: Via, waba: usize) -> bool {
    w.wabas[waba].via == via
        && credential(headers, via).as_deref() == Some(w.wabas[waba].credential.as_str())
}

pub(super) fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Checks a template send's components against the template, as Meta does.
fn check_template(t: &SimTemplate, sent: &Value) -> Result<(), Answer> {
    checks::template_send(&t.components, &t.parameter_format, sent).map_err(|e| bad(132000, &e))
}

/// Whether `s` has the shape of a business-scoped user id (`US.123...`).
fn is_user_id(s: &str) -> bool {
    s.split_once('.').is_some_and(|(cc, id)| {
        cc.len() == 2
            && cc.chars().all(|c| c.is_ascii_uppercase())
            && !id.is_empty()
            && id.chars().all(|c| c.is_ascii_alphanumeric())
    })
}

fn send(w: &mut World, via: Via, pnid: &str, headers: &HeaderMap, body: &Value) -> Answer {
    let Some(wi) = waba_of_number(w, pnid) else {
        return bad(
            100,
            &format!("(#100) Unsupported post request. Object with ID '{pnid}' does not exist"),
        );
    };
    if !authorized(w, headers, via, wi) {
        return unauthorized(w, via);
    }
    if body.get("messaging_product").and_then(Value::as_str) != Some("whatsapp") {
        return bad(100, "(#100) The parameter messaging_product is required.");
    }
    // `to` takes a phone number, `recipient` a business-scoped user id; `to` wins.
    let (to, wa_id) = match (
        body.get("to").and_then(Value::as_str),
        body.get("recipient").and_then(Value::as_str),
    ) {
        (Some(to), _) => (to, digits(to)),
        (None, Some(r)) if is_user_id(r) => (r, r.to_string()),
        (None, Some(_)) => return bad(100, "(#100) Invalid parameter: recipient"),
        (None, None) => ("", String::new()),
    };
    if wa_id.len() < 7 && !is_user_id(&wa_id) {
        return bad(100, "(#100) Invalid parameter: to");
    }
    let now = w.now();
    let mut template = None;
    match body.get("type").and_then(Value::as_str).unwrap_or("text") {
        "text" => {
            let last = w.inbound.get(&(pnid.to_string(), wa_id.clone())).copied();
            if last.is_none_or(|at| now >= at + WINDOW) {
                w.stats.refused_sends += 1;
                return bad(
                    131047,
                    "(#131047) Re-engagement message: more than 24 hours have passed since the recipient last replied to the sender number.",
                );
            }
        }
        "template" => {
            let t = &body["template"];
            let name = t.get("name").and_then(Value::as_str).unwrap_or("");
            let lang = t
                .pointer("/language/code")
                .and_then(Value::as_str)
                .unwrap_or("");
            let found = w.by_waba[wi].iter().copied().find(|&i| {
                let x = &w.templates[i];
                !x.deleted && x.name == name && x.language == lang
            });
            let Some(i) = found else {
                w.stats.refused_sends += 1;
                return bad(
                    132001,
                    "(#132001) Template name does not exist in the translation",
                );
            };
            let refusal = match w.templates[i].status.as_str() {
                "APPROVED" => check_template(&w.templates[i], t).err(),
                "PAUSED" => Some(bad(132015, "(#132015) Template is Paused")),
                "DISABLED" => Some(bad(132016, "(#132016) Template is Disabled")),
                _ => Some(bad(
                    132001,
                    "(#132001) Template name does not exist in the translation",
                )),
            };
            if let Some(r) = refusal {
                w.stats.refused_sends += 1;
                return r;
            }
            template = Some(i);
        }
        other => {
            return bad(
                131051,
                &format!("(#131051) Unsupported message type {other}"),
            )
        }
    }
    let wamid = format!("wamid.SEND{:016X}", w.rng.random::<u64>());
    w.stats.sends += 1;
    if let Some(ti) = template {
        let delivered = now + w.rng.random_range(1..20);
        let m = SimMessage {
            wamid: wamid.clone(),
            waba: wi,
            phone_number_id: pnid.to_string(),
            template: ti,
            recipient: wa_id.clone(),
            sent_at: now,
            delivered_at: Some(delivered),
            read_at: None,
            failed_at: None,
            error: None,
            clicked_at: None,
        };
        let day = w.analytics.entry((ti, day_start(now))).or_default();
        day.sent += 1;
        day.delivered += 1;
        w.messages.push(m.clone());
        w.announce(wi, &[m]);
    }
    let mut message = json!({"id": wamid});
    if template.is_some() {
        message["message_status"] = json!("accepted");
    }
    let contact = if is_user_id(&wa_id) {
        json!({"input": to, "user_id": wa_id})
    } else {
        json!({"input": to, "wa_id": wa_id})
    };
    ok(json!({"messaging_product": "whatsapp",
              "contacts": [contact],
              "messages": [message]}))
}

pub(super) async fn meta_send(
    State(sim): State<Sim>,
    Path((_ver, pnid)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let r = api(&sim, Via::Meta, |w| {
        send(w, Via::Meta, &pnid, &headers, &body)
    })
    .await;
    sim.flush();
    r
}

pub(super) async fn kapso_send(
    State(sim): State<Sim>,
    Path((_ver, pnid)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let r = api(&sim, Via::Kapso, |w| {
        send(w, Via::Kapso, &pnid, &headers, &body)
    })
    .await;
    sim.flush();
    r
}

fn create(w: &mut World, via: Via, waba: &str, headers: &HeaderMap, body: &Value) -> Answer {
    let Some(wi) = waba_index(w, waba) else {
        return bad(
            100,
            &format!("(#100) Object with ID '{waba}' does not exist"),
        );
    };
    if !authorized(w, headers, via, wi) {
        return unauthorized(w, via);
    }
    let name = body.get("name").and_then(Value::as_str).unwrap_or("");
    let language = body.get("language").and_then(Value::as_str).unwrap_or("");
    let category = body
        .get("category")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_uppercase();
    let library = body.get("library_template_name").and_then(Value::as_str);
    let components = match library.map(|n| super::library::components(n, body)) {
        Some(Ok(c)) => c,
        Some(Err(m)) => return bad(100, &m),
        None => body.get("components").cloned().unwrap_or(Value::Null),
    };
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return bad(
            100,
            "(#100) Invalid parameter: name must be lower case letters, digits and underscores",
        );
    }
    if language.is_empty()
        || !matches!(
            category.as_str(),
            "MARKETING" | "UTILITY" | "AUTHENTICATION"
        )
        || !components.is_array()
    {
        return bad(100, "(#100) Invalid parameter");
    }
    let exists = w.by_waba[wi].iter().any(|&i| {
        let t = &w.templates[i];
        !t.deleted && t.name == name && t.language == language
    });
    if exists {
        return bad(
            100,
            &format!("(#100) Invalid parameter: Content in {language} already exists for {name}"),
        );
    }
    let k = w.by_waba[wi].len();
    let now = w.clock;
    let mut t = catalog::template(&mut w.rng, wi, k, now);
    t.name = name.to_string();
    t.language = language.to_string();
    t.category = category.clone();
    t.previous_category = None;
    t.status = "PENDING".into();
    t.quality = "UNKNOWN".into();
    t.rejected_reason = None;
    t.pauses = 0;
    t.parameter_format = body
        .get("parameter_format")
        .and_then(Value::as_str)
        .unwrap_or("POSITIONAL")
        .to_ascii_uppercase();
    set_components(&mut t, components);
    // Library templates are approved as they are.
    if library.is_some() {
        t.status = "APPROVED".into();
    } else {
        t.review = Some((now + w.rng.random_range(3600..24 * 3600), "APPROVED".into()));
    }
    let status = t.status.clone();
    let id = t.id.clone();
    let idx = w.templates.len();
    w.by_id.insert(id.clone(), idx);
    w.by_waba[wi].push(idx);
    w.templates.push(t);
    w.stats.templates_created += 1;
    ok(json!({"id": id, "status": status, "category": category}))
}

pub(super) fn set_components(t: &mut SimTemplate, components: Value) {
    t.components_raw = serde_json::value::to_raw_value(&components)
        .unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned());
    t.components = components;
}

fn edit(
    w: &mut World,
    via: Via,
    waba: Option<&str>,
    id: &str,
    headers: &HeaderMap,
    body: &Value,
) -> Answer {
    let Some(&i) = w.by_id.get(id) else {
        return bad(100, &format!("(#100) Object with ID '{id}' does not exist"));
    };
    let wi = w.templates[i].waba;
    if !authorized(w, headers, via, wi) {
        return unauthorized(w, via);
    }
    if w.templates[i].deleted || waba.is_some_and(|x| x != w.wabas[wi].id) {
        return bad(100, &format!("(#100) Object with ID '{id}' does not exist"));
    }
    let status = w.templates[i].status.clone();
    if !matches!(status.as_str(), "APPROVED" | "REJECTED" | "PAUSED") {
        return bad(
            100,
            &format!("(#100) Invalid parameter: a template can't be edited while it is {status}"),
        );
    }
    if let Some(c) = body.get("category").and_then(Value::as_str) {
        if status != "REJECTED" && !c.eq_ignore_ascii_case(&w.templates[i].category) {
            return bad(
                100,
                "(#100) Invalid parameter: the category of an approved template can't be changed",
            );
        }
        w.templates[i].category = c.to_ascii_uppercase();
    }
    if let Some(c) = body.get("components").filter(|c| c.is_array()) {
        let changed = w.templates[i].components != *c;
        set_components(&mut w.templates[i], c.clone());
        if changed {
            w.announce_components(i);
        }
    }
    let at = w.clock + w.rng.random_range(3600..24 * 3600);
    let t = &mut w.templates[i];
    t.status = "PENDING".into();
    t.rejected_reason = None;
    t.review = Some((at, "APPROVED".into()));
    w.stats.templates_edited += 1;
    ok(json!({"success": true}))
}

fn remove(w: &mut World, via: Via, waba: &str, q: &GraphQuery, headers: &HeaderMap) -> Answer {
    let Some(wi) = waba_index(w, waba) else {
        return bad(
            100,
            &format!("(#100) Object with ID '{waba}' does not exist"),
        );
    };
    if !authorized(w, headers, via, wi) {
        return unauthorized(w, via);
    }
    let Some(name) = q.get("name") else {
        return bad(100, "(#100) The parameter name is required");
    };
    let hsm = q.get("hsm_id");
    let targets: Vec<usize> = w.by_waba[wi]
        .iter()
        .copied()
        .filter(|&i| {
            let t = &w.templates[i];
            !t.deleted && &t.name == name && hsm.is_none_or(|h| &t.id == h)
        })
        .collect();
    if targets.is_empty() {
        return bad(
            100,
            &format!("(#100) Message template \"{name}\" not found"),
        );
    }
    if targets.iter().any(|&i| w.templates[i].status == "DISABLED") {
        return bad(
            100,
            "(#100) Invalid parameter: disabled templates can't be deleted",
        );
    }
    for i in targets {
        w.templates[i].deleted = true;
    }
    w.stats.templates_deleted += 1;
    ok(json!({"success": true}))
}

pub(super) async fn meta_create(
    State(sim): State<Sim>,
    Path((_ver, waba)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    api(&sim, Via::Meta, |w| {
        create(w, Via::Meta, &waba, &headers, &body)
    })
    .await
}

pub(super) async fn meta_edit(
    State(sim): State<Sim>,
    Path((_ver, id)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    api(&sim, Via::Meta, |w| {
        edit(w, Via::Meta, None, &id, &headers, &body)
    })
    .await
}

pub(super) async fn meta_delete(
    State(sim): State<Sim>,
    Path((_ver, waba)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Response {
    api(&sim, Via::Meta, |w| {
        remove(w, Via::Meta, &waba, &q, &headers)
    })
    .await
}

/// Kapso creates with a plain POST and edits with `?hsm_id=`.
pub(super) async fn kapso_create_or_edit(
    State(sim): State<Sim>,
    Path((_ver, waba)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    api(&sim, Via::Kapso, |w| match q.get("hsm_id") {
        Some(id) => edit(w, Via::Kapso, Some(&waba), id, &headers, &body),
        None => create(w, Via::Kapso, &waba, &headers, &body),
    })
    .await
}

pub(super) async fn kapso_delete(
    State(sim): State<Sim>,
    Path((_ver, waba)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
) -> Response {
    api(&sim, Via::Kapso, |w| {
        remove(w, Via::Kapso, &waba, &q, &headers)
    })
    .await
}
