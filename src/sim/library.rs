//! Meta's Template Library as the simulator serves it: `GET /message_template_library` with its
//! filters, and creating a template from a library one (`library_template_name` and
//! `library_template_button_inputs`), approved at once as Meta approves library templates.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Value};

use super::routes::{api, credential, ok, unauthorized, Answer, Q};
use super::{Sim, Via, World};

/// (name, category, topic, usecase, industry, header, body, body params, buttons).
type Entry = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

const LIBRARY: &[Entry] = &[
    (
        "delivery_update_1",
        "UTILITY",
        "ORDER_MANAGEMENT",
        "DELIVERY_UPDATE",
        "E_COMMERCE",
        Some("Your order is on its way"),
        "Hi {{1}}, order {{2}} ships today and arrives by {{3}}.",
        &["Jim", "#12345", "Friday"],
        &[("URL", "Track package")],
    ),
    (
        "order_confirmation_1",
        "UTILITY",
        "ORDER_MANAGEMENT",
        "ORDER_CONFIRMATION",
        "E_COMMERCE",
        None,
        "Thank you, {{1}}! We received order {{2}}.",
        &["Jim", "#12345"],
        &[("URL", "View order")],
    ),
    (
        "payment_reminder_1",
        "UTILITY",
        "PAYMENTS",
        "PAYMENT_REMINDER",
        "FINANCIAL_SERVICES",
        Some("Payment due"),
        "Hi {{1}}, your payment of {{2}} is due on {{3}}.",
        &["Jim", "$20", "June 1"],
        &[("PHONE_NUMBER", "Call us")],
    ),
    (
        "low_balance_warning_1",
        "UTILITY",
        "PAYMENTS",
        "LOW_BALANCE_WARNING",
        "FINANCIAL_SERVICES",
        Some("Your account balance is low"),
        "Hi {{1}}, your balance is {{2}}.",
        &["Jim", "$5"],
        &[("URL", "Make a deposit"), ("PHONE_NUMBER", "Call us")],
    ),
    (
        "feedback_survey_1",
        "UTILITY",
        "CUSTOMER_FEEDBACK",
        "FEEDBACK_SURVEY",
        "E_COMMERCE",
        None,
        "Hi {{1}}, how was your order? Tell us in one minute.",
        &["Jim"],
        &[("QUICK_REPLY", "Great"), ("QUICK_REPLY", "Not great")],
    ),
    (
        "account_update_1",
        "UTILITY",
        "ACCOUNT_UPDATE",
        "ACCOUNT_UPDATE",
        "FINANCIAL_SERVICES",
        None,
        "Hi {{1}}, your account details were updated on {{2}}.",
        &["Jim", "June 1"],
        &[],
    ),
];

fn entry_json(e: &Entry, i: usize) -> Value {
    let (name, category, topic, usecase, industry, header, body, params, buttons) = *e;
    let buttons: Vec<Value> = buttons
        .iter()
        .map(|(kind, text)| match *kind {
            "URL" => json!({"type": kind, "text": text, "url": "https://www.example.com/"}),
            "PHONE_NUMBER" => json!({"type": kind, "text": text, "phone_number": "+18005551234"}),
            _ => json!({"type": kind, "text": text}),
        })
        .collect();
    let mut v = json!({"id": format!("71470133454189{i:02}"), "name": name, "language": "en_US",
        "category": category, "topic": topic, "usecase": usecase, "industry": [industry],
        "body": body, "body_params": params, "body_param_types": vec!["TEXT"; params.len()],
        "buttons": buttons});
    if let Some(h) = header {
        v["header"] = json!(h);
    }
    v
}

fn library(w: &mut World, q: &super::routes::GraphQuery, headers: &HeaderMap, via: Via) -> Answer {
    let key = credential(headers, via);
    if !w.wabas.iter().any(|x| Some(&x.credential) == key.as_ref()) {
        return unauthorized(w, via);
    }
    let want = |k: &str, v: &str| q.get(k).is_none_or(|x| x.eq_ignore_ascii_case(v));
    let search = q.get("search").map(|s| s.to_lowercase());
    let data: Vec<Value> = LIBRARY
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            want("name", e.0)
                && want("topic", e.2)
                && want("usecase", e.3)
                && want("industry", e.4)
                && want("language", "en_US")
                && search.as_ref().is_none_or(|s| {
                    e.0.contains(s.as_str()) || e.6.to_lowercase().contains(s.as_str())
                })
        })
        .map(|(i, e)| entry_json(e, i))
        .collect();
    ok(json!({"data": data, "paging": {"cursors": {}}}))
}

pub(super) async fn meta_library(
    State(sim): State<Sim>,
    Query(q): Q,
    headers: HeaderMap,
) -> Response {
    api(&sim, Via::Meta, |w| library(w, &q, &headers, Via::Meta)).await
}

pub(super) async fn kapso_library(
    State(sim): State<Sim>,
    Query(q): Q,
    headers: HeaderMap,
) -> Response {
    api(&sim, Via::Kapso, |w| library(w, &q, &headers, Via::Kapso)).await
}

/// The components of a template created from library template `name`: its texts, with the
/// caller's button inputs. Meta's checks: the template exists, and every URL and phone number
/// button has an input of its type.
pub(super) fn components(name: &str, body: &Value) -> Result<Value, String> {
    let e = LIBRARY.iter().find(|e| e.0 == name).ok_or_else(|| {
        format!("(#100) Invalid parameter: library template {name} does not exist")
    })?;
    let inputs: Vec<&Value> = body
        .get("library_template_button_inputs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let mut buttons = Vec::new();
    for (kind, text) in e.8.iter().copied() {
        let input = inputs
            .iter()
            .find(|i| i.get("type").and_then(Value::as_str) == Some(kind));
        match (kind, input) {
            ("URL", Some(i)) => {
                let url = i.pointer("/url/base_url").and_then(Value::as_str).unwrap_or("");
                if !url.starts_with("https://") {
                    return Err("(#100) Invalid parameter: a URL button needs url.base_url (https)".into());
                }
                buttons.push(json!({"type": "URL", "text": text, "url": url}));
            }
            ("PHONE_NUMBER", Some(i)) => {
                let phone = i.get("phone_number").and_then(Value::as_str).unwrap_or("");
                buttons.push(json!({"type": "PHONE_NUMBER", "text": text, "phone_number": phone}));
            }
            ("URL" | "PHONE_NUMBER", None) => {
                return Err(format!(
                    "(#100) Invalid parameter: library_template_button_inputs is required: {name} has a {kind} button"
                ))
            }
            _ => buttons.push(json!({"type": kind, "text": text})),
        }
    }
    let mut comps = Vec::new();
    if let Some(h) = e.5 {
        comps.push(json!({"type": "HEADER", "format": "TEXT", "text": h}));
    }
    comps.push(json!({"type": "BODY", "text": e.6, "example": {"body_text": [e.7]}}));
    if !buttons.is_empty() {
        comps.push(json!({"type": "BUTTONS", "buttons": buttons}));
    }
    Ok(Value::Array(comps))
}
