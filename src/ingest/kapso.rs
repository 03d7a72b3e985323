//! Kapso's webhook payloads: `whatsapp.message.sent|delivered|read|failed|received`, single or
//! batched (`{"batch": true, "data": [...]}`). The event name comes in `X-Webhook-Event`.

use serde_json::Value;

use super::meta::Parsed;
use super::{id_of, int_of, Delivery, IngestEvent, MessageStatus, TemplateHint};

/// Turns a Kapso payload into events.
pub fn parse(event: &str, body: &Value, now: i64) -> Parsed {
    let mut out = Parsed::default();
    let batched = body.get("batch").and_then(Value::as_bool) == Some(true);
    let event = body
        .get("type")
        .and_then(Value::as_str)
        .filter(|_| batched)
        .unwrap_or(event);
    let items: Vec<&Value> = if batched {
        body.get("data")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    } else {
        vec![body]
    };
    for item in items {
        one(&mut out, event, item, now);
    }
    out
}

fn text(v: &Value, path: &str) -> Option<String> {
    v.pointer(path)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The customer's business-scoped user id: the message's `{side}_user_id`, else the v2
/// payloads' `business_scoped_user_id` on the message or the conversation.
fn user_id(m: &Value, side: &str, p: &Value) -> Option<String> {
    text(m, &format!("/{side}_user_id"))
        .or_else(|| text(m, "/business_scoped_user_id"))
        .or_else(|| text(p, "/conversation/business_scoped_user_id"))
}

fn one(out: &mut Parsed, event: &str, p: &Value, now: i64) {
    let pnid = p
        .get("phone_number_id")
        .and_then(id_of)
        .or_else(|| p.pointer("/conversation/phone_number_id").and_then(id_of))
        .unwrap_or_default();
    let m = p.get("message").unwrap_or(&Value::Null);
    let at = m.get("timestamp").and_then(int_of).unwrap_or(now);
    let customer =
        text(p, "/conversation/phone_number").map(|n| n.trim_start_matches('+').to_string());
    match event.strip_prefix("whatsapp.message.") {
        Some("received") => {
            let from = text(m, "/from").or(customer);
            let user_id = user_id(m, "from", p);
            if from.is_none() && user_id.is_none() {
                out.ignored.push("received message without sender".into());
                return;
            }
            let kind = m.get("type").and_then(Value::as_str).unwrap_or("");
            out.events.push(IngestEvent::Inbound {
                phone_number_id: pnid,
                from,
                user_id,
                at,
                replied_to: text(m, "/context/id"),
                is_button: kind == "button" || kind == "interactive",
            });
        }
        Some(status) => {
            let (Some(status), Some(wamid)) = (Delivery::parse(status), text(m, "/id")) else {
                out.ignored.push(format!("{event} without a message id"));
                return;
            };
            let wanted = match status {
                Delivery::Sent => "sent",
                Delivery::Delivered => "delivered",
                Delivery::Read => "read",
                Delivery::Failed => "failed",
            };
            // Kapso attaches Meta's raw status events; the matching one has the exact time and,
            // on failure, the error.
            let raw = m
                .pointer("/kapso/statuses")
                .and_then(Value::as_array)
                .and_then(|a| {
                    a.iter()
                        .rev()
                        .find(|s| s.get("status").and_then(Value::as_str) == Some(wanted))
                });
            let error = raw
                .and_then(|r| r.pointer("/errors/0"))
                .or_else(|| m.pointer("/kapso/error"));
            let template = match (
                text(m, "/template/name").or_else(|| text(m, "/kapso/message_type_data/name")),
                text(m, "/template/language/code")
                    .or_else(|| text(m, "/kapso/message_type_data/language/code")),
            ) {
                (Some(name), Some(lang)) => TemplateHint::NameLanguage(name, lang),
                _ => TemplateHint::Unknown,
            };
            out.events.push(IngestEvent::Status(MessageStatus {
                wamid,
                phone_number_id: pnid,
                waba_id: None,
                recipient: text(m, "/to")
                    .or(customer)
                    .or_else(|| user_id(m, "to", p))
                    .unwrap_or_default(),
                status,
                at: raw
                    .and_then(|r| r.get("timestamp"))
                    .and_then(int_of)
                    .unwrap_or(at),
                error_code: error.and_then(|e| e.get("code")).and_then(int_of),
                error_title: error.and_then(|e| text(e, "/title").or_else(|| text(e, "/message"))),
                category: crate::pricing::charged_category(raw.and_then(|r| r.get("pricing"))),
                template,
                origin: "webhook",
            }));
        }
        None => out.ignored.push(format!("event {event}")),
    }
}

#[cfg(test)]
mod tests;
