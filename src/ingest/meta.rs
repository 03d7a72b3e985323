//! Meta's webhook payloads (`object: whatsapp_business_account`): message statuses and inbound
//! messages (`messages`), and the template fields `message_template_status_update`,
//! `message_template_quality_update` and `template_category_update`.

use serde_json::Value;

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
                | "template_category_update" => match template(field, &waba, value, time) {
                    Some(ev) => out.events.push(IngestEvent::Template(ev)),
                    None => out
                        .ignored
                        .push(format!("{field} without template id, name or value")),
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
                status: text(v, "event")?.to_ascii_uppercase(),
                category: text(v, "message_template_category"),
                reason: text(v, "reason").filter(|r| r != "NONE"),
                detail: (!detail.is_empty()).then_some(Value::Object(detail)),
            }
        }
        "message_template_quality_update" => TemplateChangeKind::Quality {
            new: text(v, "new_quality_score")?.to_ascii_uppercase(),
        },
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
            recipient: text(s, "recipient_id").unwrap_or_default(),
            status,
            at: s.get("timestamp").and_then(int_of).unwrap_or(now),
            error_code: error.and_then(|e| e.get("code")).and_then(int_of),
            error_title: error.and_then(|e| text(e, "title").or_else(|| text(e, "message"))),
            category: s
                .pointer("/pricing/category")
                .and_then(Value::as_str)
                .map(str::to_string),
            template,
            origin: "webhook",
        }));
    }
    for m in v
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(from) = text(m, "from") else {
            out.ignored.push("inbound message without sender".into());
            continue;
        };
        let kind = m.get("type").and_then(Value::as_str).unwrap_or("");
        out.events.push(IngestEvent::Inbound {
            phone_number_id: pnid.clone(),
            from,
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
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn odd_shapes_give_what_they_can_and_never_panic() {
        let p = |b: &str| parse_bytes(b.as_bytes(), 7).unwrap();
        let mixed = p(
            r#"{"object":"whatsapp_business_account","entry":[{"id":1,"time":5,"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":5},"statuses":[{"id":"wamid.\u0041","status":"failed","timestamp":1700000000,"errors":[{"code":"131047","message":"Re-engagement"}]},{"id":"","status":"sent"},{"id":"w","status":"played"}],"messages":[{"from":"155","timestamp":"3","type":"button","context":{"id":"wamid.A"}},{"type":"text"}],"errors":null}}]}]}"#,
        );
        let IngestEvent::Status(s) = &mixed.events[0] else {
            panic!("{:?}", mixed.events)
        };
        assert_eq!(
            (s.wamid.as_str(), s.phone_number_id.as_str()),
            ("wamid.A", "5")
        );
        assert_eq!((s.status, s.error_code), (Delivery::Failed, Some(131047)));
        assert!(matches!(&mixed.events[1],
            IngestEvent::Inbound { from, replied_to: Some(r), is_button: true, at: 3, .. } if from == "155" && r == "wamid.A"));
        assert_eq!(mixed.events.len(), 2);
        assert_eq!(
            mixed.ignored,
            [
                "status without id or status",
                "status played",
                "inbound message without sender",
                "system-level errors"
            ]
        );
        // Times that are not integers fall back to `now`; an id too large for i64 is kept.
        let odd = p(
            r#"{"object":"whatsapp_business_account","entry":[{"id":"18446744073709551615","time":true,"changes":[{"field":"messages","value":{"statuses":[{"id":"w","status":"read","timestamp":1.5,"errors":[]},{"id":"v","status":"sent","timestamp":{"a":[1]}},{"id":"u","status":"sent","timestamp":" 12 "}]}}]}]}"#,
        );
        assert_eq!(odd.events.len(), 3);
        for e in &odd.events {
            let IngestEvent::Status(s) = e else { panic!() };
            assert_eq!(s.waba_id.as_deref(), Some("18446744073709551615"));
        }
        for b in [
            r#"{"object":"page","entry":[]}"#,
            r#"{"object":"whatsapp_business_account","entry":{"id":"1"}}"#,
            r#"{"object":"whatsapp_business_account","entry":[{"id":1.5,"changes":[]}]}"#,
            r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"statuses":{"id":"w"}}}]}]}"#,
            r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"statuses":[{"id":5,"status":"sent"}]}}]}]}"#,
            r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages"}]}]}"#,
        ] {
            assert!(p(b).events.is_empty(), "{b}");
        }
        assert!(parse_bytes(b"{not json", 7).is_err());
    }

    #[test]
    fn parses_template_status_with_integer_id() {
        let body = json!({"entry":[{"id":"102290129340398","time":1751247548,"changes":[{"value":{
            "event":"REJECTED","message_template_id":1689556908129832u64,"message_template_name":"order_confirmation",
            "message_template_language":"en-US","reason":"INVALID_FORMAT","message_template_category":"UTILITY",
            "rejection_info":{"reason":"params adjacent","recommendation":"separate them"}},
            "field":"message_template_status_update"}]}],"object":"whatsapp_business_account"});
        let p = parse(&body, 0);
        let IngestEvent::Template(t) = &p.events[0] else {
            panic!("{p:?}")
        };
        assert_eq!(t.template_id, "1689556908129832");
        assert_eq!(t.language, "en_US");
        let TemplateChangeKind::Status {
            status,
            reason,
            detail,
            ..
        } = &t.kind
        else {
            panic!()
        };
        assert_eq!(status, "REJECTED");
        assert_eq!(reason.as_deref(), Some("INVALID_FORMAT"));
        assert_eq!(
            detail.as_ref().unwrap()["rejection_info"]["recommendation"],
            "separate them"
        );
    }

    #[test]
    fn failed_status_keeps_the_error_code() {
        let body = json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
            "messaging_product":"whatsapp","metadata":{"display_phone_number":"1","phone_number_id":"106"},
            "statuses":[{"id":"wamid.X","status":"failed","timestamp":"1751142888","recipient_id":"165",
              "errors":[{"code":131047,"title":"Re-engagement message"}]}]}}]}]});
        let p = parse(&body, 0);
        let IngestEvent::Status(s) = &p.events[0] else {
            panic!()
        };
        assert_eq!(s.status, Delivery::Failed);
        assert_eq!(s.error_code, Some(131047));
        assert_eq!(s.at, 1751142888);
    }

    #[test]
    fn unknown_fields_are_ignored_not_errors() {
        let body = json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"account_alerts","value":{}}]}]});
        let p = parse(&body, 0);
        assert!(p.events.is_empty());
        assert_eq!(p.ignored, vec!["field account_alerts"]);
    }

    #[test]
    fn category_update_announced_and_done() {
        let announced = json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"template_category_update","value":{
            "message_template_id":1,"message_template_name":"w","message_template_language":"en","new_category":"UTILITY",
            "correct_category":"MARKETING","category_update_timestamp":1746169200}}]}]});
        let IngestEvent::Template(t) = &parse(&announced, 0).events[0] else {
            panic!()
        };
        assert_eq!(
            t.kind,
            TemplateChangeKind::Category {
                new: "MARKETING".into(),
                correct: Some("MARKETING".into()),
                effective_at: Some(1746169200)
            }
        );
    }
}
