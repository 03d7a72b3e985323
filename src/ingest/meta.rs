//! Meta's webhook payloads (`object: whatsapp_business_account`): message statuses and inbound
//! messages (`messages`), and the template fields `message_template_status_update`,
//! `message_template_quality_update`, `template_category_update`,
//! `message_template_components_update`, and the number field `phone_number_quality_update`.

use serde_json::Value;

use crate::domain::content::ComponentsUpdate;

use super::{
    id_of, int_of, normalize_language, Delivery, IngestEvent, MessageStatus, TemplateChange,
    TemplateChangeKind, TemplateHint,
};

/// What a payload held: the events, and what was acknowledged but ignored (logged by the caller).
#[derive(Debug, Default)]
pub struct Parsed {
    pub events: Vec<IngestEvent>,
    pub ignored: Vec<String>,
}

/// Parses a webhook body; `Err` when it is not JSON at all. One path for every payload: a
/// typed, borrowed second path for statuses was retired with the benchmark ratio it served
/// (docs/benchmarks.md gives ingest with this one).
pub fn parse_bytes(body: &[u8], now: i64) -> Result<Parsed, serde_json::Error> {
    let json: Value = serde_json::from_slice(body)?;
    Ok(parse(&json, now))
}

/// Turns a Meta payload into events. `now` stands in for times the payload leaves out.
pub fn parse(body: &Value, now: i64) -> Parsed {
    let mut out = Parsed::default();
    if body.get("object").and_then(Value::as_str) != Some("whatsapp_business_account") {
        out.ignored.push(format!(
            "object {}",
            body.get("object").unwrap_or(&Value::Null)
        ));
        return out;
    }
    for entry in body
        .get("entry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let waba = entry.get("id").and_then(id_of).unwrap_or_default();
        let time = entry.get("time").and_then(int_of).unwrap_or(now);
        for change in entry
            .get("changes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let field = change.get("field").and_then(Value::as_str).unwrap_or("");
            let value = change.get("value").unwrap_or(&Value::Null);
            match field {
                "messages" => messages(&mut out, &waba, value, now),
                "message_template_status_update"
                | "message_template_quality_update"
                | "template_category_update"
                | "message_template_components_update" => match template(field, &waba, value, time)
                {
                    Some(ev) => out.events.push(IngestEvent::Template(ev)),
                    None => out
                        .ignored
                        .push(format!("{field} without template id, name or value")),
                },
                "phone_number_quality_update" => match number(&waba, value) {
                    Some(ev) => out.events.push(ev),
                    None => out
                        .ignored
                        .push("phone_number_quality_update without number or event".into()),
                },
                other => out.ignored.push(format!("field {other}")),
            }
        }
    }
    out
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn template(field: &str, waba: &str, v: &Value, at: i64) -> Option<TemplateChange> {
    let template_id = v.get("message_template_id").and_then(id_of)?;
    let name = text(v, "message_template_name").unwrap_or_default();
    let language = normalize_language(&text(v, "message_template_language").unwrap_or_default());
    let kind = match field {
        "message_template_status_update" => {
            let mut detail = serde_json::Map::new();
            for key in ["rejection_info", "other_info", "disable_info"] {
                if let Some(x) = v.get(key).filter(|x| !x.is_null()) {
                    detail.insert(key.into(), x.clone());
                }
            }
            TemplateChangeKind::Status {
                event: text(v, "event")?.to_ascii_uppercase(),
                category: text(v, "message_template_category"),
                reason: text(v, "reason").filter(|r| r != "NONE"),
                detail: (!detail.is_empty()).then_some(Value::Object(detail)),
            }
        }
        "message_template_quality_update" => TemplateChangeKind::Quality {
            new: text(v, "new_quality_score")?.to_ascii_uppercase(),
        },
        "message_template_components_update" => TemplateChangeKind::Components(components(v)?),
        _ => {
            let effective_at = v.get("category_update_timestamp").and_then(int_of);
            match (text(v, "correct_category"), effective_at) {
                (Some(correct), Some(at)) => TemplateChangeKind::Category {
                    new: correct.clone(),
                    correct: Some(correct),
                    effective_at: Some(at),
                },
                _ => TemplateChangeKind::Category {
                    new: text(v, "new_category")?,
                    correct: None,
                    effective_at: None,
                },
            }
        }
    };
    Some(TemplateChange {
        waba_id: waba.to_string(),
        template_id,
        name,
        language,
        at,
        kind,
    })
}

/// A `phone_number_quality_update`. The limit is the portfolio's
/// (`max_daily_conversations_per_business`), else `current_limit` (removed in 2026).
fn number(waba: &str, v: &Value) -> Option<IngestEvent> {
    Some(IngestEvent::Number {
        waba_id: waba.to_string(),
        display_phone_number: text(v, "display_phone_number")?,
        event: text(v, "event")?.to_ascii_uppercase(),
        limit: text(v, "max_daily_conversations_per_business")
            .or_else(|| text(v, "current_limit"))
            .map(|l| l.to_ascii_uppercase()),
    })
}

/// The texts of `message_template_components_update`; `None` when it names none.
fn components(v: &Value) -> Option<ComponentsUpdate> {
    let buttons = v
        .get("message_template_buttons")
        .and_then(Value::as_array)
        .map(|bs| {
            bs.iter()
                .map(|b| {
                    let kind = text(b, "message_template_button_type").unwrap_or_default();
                    let target = text(b, "message_template_button_url")
                        .or_else(|| text(b, "message_template_button_phone_number"));
                    let label = text(b, "message_template_button_text").unwrap_or_default();
                    (kind.to_ascii_uppercase(), label, target)
                })
                .collect()
        });
    let u = ComponentsUpdate {
        header: text(v, "message_template_title"),
        body: text(v, "message_template_element"),
        footer: text(v, "message_template_footer"),
        buttons,
    };
    (u != ComponentsUpdate::default()).then_some(u)
}

fn messages(out: &mut Parsed, waba: &str, v: &Value, now: i64) {
    let pnid = v
        .pointer("/metadata/phone_number_id")
        .and_then(id_of)
        .unwrap_or_default();
    for s in v
        .get("statuses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(wamid), Some(status)) = (text(s, "id"), s.get("status").and_then(Value::as_str))
        else {
            out.ignored.push("status without id or status".into());
            continue;
        };
        let Some(status) = Delivery::parse(status) else {
            out.ignored.push(format!("status {status}"));
            continue;
        };
        let error = s.pointer("/errors/0");
        let template = TemplateHint::from_opaque(text(s, "biz_opaque_callback_data").as_deref());
        out.events.push(IngestEvent::Status(MessageStatus {
            wamid,
            phone_number_id: pnid.clone(),
            waba_id: Some(waba.to_string()).filter(|w| !w.is_empty()),
            recipient: text(s, "recipient_id")
                .or_else(|| text(s, "recipient_user_id"))
                .unwrap_or_default(),
            status,
            at: s.get("timestamp").and_then(int_of).unwrap_or(now),
            error_code: error.and_then(|e| e.get("code")).and_then(int_of),
            error_title: error.and_then(|e| text(e, "title").or_else(|| text(e, "message"))),
            category: crate::pricing::charged_category(s.get("pricing")),
            template,
            origin: "webhook",
        }));
    }
    let contacts: Vec<&Value> = v
        .get("contacts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    for m in v
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        // Since 2026 a sender may come with a business-scoped user id and no phone number;
        // `contacts[]` names the same customer with both where Meta has both.
        let (from, user_id) = (text(m, "from"), text(m, "from_user_id"));
        let contact = contacts.iter().copied().find(|c| {
            (from.is_some() && text(c, "wa_id") == from)
                || (user_id.is_some() && text(c, "user_id") == user_id)
        });
        let contact = contact.or(match contacts.as_slice() {
            [only] => Some(*only),
            _ => None,
        });
        let from = from.or_else(|| contact.and_then(|c| text(c, "wa_id")));
        let user_id = user_id.or_else(|| contact.and_then(|c| text(c, "user_id")));
        if from.is_none() && user_id.is_none() {
            out.ignored.push("inbound message without sender".into());
            continue;
        }
        let kind = m.get("type").and_then(Value::as_str).unwrap_or("");
        out.events.push(IngestEvent::Inbound {
            phone_number_id: pnid.clone(),
            from,
            user_id,
            at: m.get("timestamp").and_then(int_of).unwrap_or(now),
            replied_to: m
                .pointer("/context/id")
                .and_then(Value::as_str)
                .map(str::to_string),
            is_button: kind == "button" || kind == "interactive",
        });
    }
    if v.get("errors").is_some() {
        out.ignored.push("system-level errors".into());
    }
}

#[cfg(test)]
mod tests;
