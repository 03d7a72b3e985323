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

/// Parses a webhook body: the common payloads (message statuses and inbound messages) through
/// borrowed, typed structs without building a `serde_json::Value` tree; anything else, or
/// anything shaped unexpectedly, through [`parse`]. Both give the same events (tested).
/// `Err` when the body is not JSON at all.
pub fn parse_bytes(body: &[u8], now: i64) -> Result<Parsed, serde_json::Error> {
    if let Some(p) = fast::parse(body, now) {
        return Ok(p);
    }
    let json: Value = serde_json::from_slice(body)?;
    Ok(parse(&json, now))
}

/// The typed path of [`parse_bytes`] alone (for tests): `None` where it defers to [`parse`].
pub fn parse_typed(body: &[u8], now: i64) -> Option<Parsed> {
    fast::parse(body, now)
}

/// The typed path of [`parse_bytes`]. `None` means "use the general path", never an error.
mod fast {
    use std::borrow::Cow;

    use serde::de::IgnoredAny;
    use serde::Deserialize;
    use serde_json::value::RawValue;
    use serde_json::Value;

    use super::{messages_event_parts, template, Parsed};

    /// A scalar Meta sends as a number or a string.
    enum Scalar<'a> {
        Int(i64),
        UInt(u64),
        Str(Cow<'a, str>),
        Other,
    }

    /// By hand rather than `#[serde(untagged)]`, which buffers the value and builds (and
    /// formats) an error for every variant it rules out: a few percent of the server's CPU
    /// under webhook load.
    impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<'a>(std::marker::PhantomData<&'a ()>);
            impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
                type Value = Scalar<'a>;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a number or a string")
                }
                fn visit_i64<E>(self, v: i64) -> Result<Scalar<'a>, E> {
                    Ok(Scalar::Int(v))
                }
                fn visit_u64<E>(self, v: u64) -> Result<Scalar<'a>, E> {
                    Ok(i64::try_from(v).map_or(Scalar::UInt(v), Scalar::Int))
                }
                fn visit_f64<E>(self, _: f64) -> Result<Scalar<'a>, E> {
                    Ok(Scalar::Other)
                }
                fn visit_bool<E>(self, _: bool) -> Result<Scalar<'a>, E> {
                    Ok(Scalar::Other)
                }
                fn visit_unit<E>(self) -> Result<Scalar<'a>, E> {
                    Ok(Scalar::Other)
                }
                fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Scalar<'a>, E> {
                    Ok(Scalar::Str(Cow::Borrowed(v)))
                }
                fn visit_str<E>(self, v: &str) -> Result<Scalar<'a>, E> {
                    Ok(Scalar::Str(Cow::Owned(v.to_string())))
                }
                fn visit_seq<A: serde::de::SeqAccess<'de>>(
                    self,
                    mut seq: A,
                ) -> Result<Scalar<'a>, A::Error> {
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    Ok(Scalar::Other)
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Scalar<'a>, A::Error> {
                    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                    Ok(Scalar::Other)
                }
            }
            d.deserialize_any(V(std::marker::PhantomData))
        }
    }

    impl Scalar<'_> {
        /// As `int_of`.
        fn int(&self) -> Option<i64> {
            match self {
                Scalar::Int(i) => Some(*i),
                Scalar::Str(s) => s.trim().parse().ok(),
                _ => None,
            }
        }

        /// As `id_of`; `Err` for a value the typed path does not mirror exactly.
        fn id(&self) -> Result<Option<String>, ()> {
            match self {
                Scalar::Int(i) => Ok(Some(i.to_string())),
                Scalar::UInt(u) => Ok(Some(u.to_string())),
                Scalar::Str(s) if !s.is_empty() => Ok(Some(s.to_string())),
                Scalar::Str(_) => Ok(None),
                Scalar::Other => Err(()),
            }
        }
    }

    /// Whether a key was there at all (even as `null`).
    #[derive(Default)]
    pub(super) struct Present(pub(super) bool);

    impl<'de> Deserialize<'de> for Present {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            IgnoredAny::deserialize(d)?;
            Ok(Present(true))
        }
    }

    #[derive(Deserialize)]
    struct Body<'a> {
        #[serde(borrow)]
        object: Option<Cow<'a, str>>,
        #[serde(default, borrow)]
        entry: Vec<Entry<'a>>,
    }

    #[derive(Deserialize)]
    struct Entry<'a> {
        #[serde(default, borrow)]
        id: Option<Scalar<'a>>,
        #[serde(default, borrow)]
        time: Option<Scalar<'a>>,
        #[serde(default, borrow)]
        changes: Vec<Change<'a>>,
    }

    #[derive(Deserialize)]
    struct Change<'a> {
        #[serde(default, borrow)]
        field: Option<Cow<'a, str>>,
        #[serde(default, borrow)]
        value: Option<&'a RawValue>,
    }

    #[derive(Deserialize)]
    pub(super) struct Messages<'a> {
        #[serde(default, borrow)]
        metadata: Option<Metadata<'a>>,
        #[serde(default, borrow)]
        pub(super) statuses: Vec<Status<'a>>,
        #[serde(default, borrow)]
        pub(super) messages: Vec<Inbound<'a>>,
        #[serde(default)]
        pub(super) errors: Present,
    }

    #[derive(Deserialize)]
    struct Metadata<'a> {
        #[serde(default, borrow)]
        phone_number_id: Option<Scalar<'a>>,
    }

    #[derive(Deserialize)]
    pub(super) struct Status<'a> {
        #[serde(default, borrow)]
        pub(super) id: Option<Cow<'a, str>>,
        #[serde(default, borrow)]
        pub(super) status: Option<Cow<'a, str>>,
        #[serde(default, borrow)]
        timestamp: Option<Scalar<'a>>,
        #[serde(default, borrow)]
        pub(super) recipient_id: Option<Cow<'a, str>>,
        #[serde(default, borrow)]
        pub(super) biz_opaque_callback_data: Option<Cow<'a, str>>,
        #[serde(default, borrow)]
        errors: Option<Vec<WireError<'a>>>,
        #[serde(default, borrow)]
        pricing: Option<Pricing<'a>>,
    }

    #[derive(Deserialize)]
    struct WireError<'a> {
        #[serde(default, borrow)]
        code: Option<Scalar<'a>>,
        #[serde(default, borrow)]
        title: Option<Cow<'a, str>>,
        #[serde(default, borrow)]
        message: Option<Cow<'a, str>>,
    }

    #[derive(Deserialize)]
    struct Pricing<'a> {
        #[serde(default, borrow)]
        category: Option<Cow<'a, str>>,
    }

    #[derive(Deserialize)]
    pub(super) struct Inbound<'a> {
        #[serde(default, borrow)]
        pub(super) from: Option<Cow<'a, str>>,
        #[serde(default, borrow)]
        timestamp: Option<Scalar<'a>>,
        #[serde(default, borrow, rename = "type")]
        pub(super) kind: Option<Cow<'a, str>>,
        #[serde(default, borrow)]
        context: Option<Context<'a>>,
    }

    #[derive(Deserialize)]
    struct Context<'a> {
        #[serde(default, borrow)]
        id: Option<Cow<'a, str>>,
    }

    impl Status<'_> {
        pub(super) fn at(&self, now: i64) -> i64 {
            self.timestamp.as_ref().and_then(Scalar::int).unwrap_or(now)
        }
        pub(super) fn error_code(&self) -> Option<i64> {
            self.errors.as_ref()?.first()?.code.as_ref()?.int()
        }
        pub(super) fn error_title(&self) -> Option<String> {
            let e = self.errors.as_ref()?.first()?;
            nonempty(&e.title).or_else(|| nonempty(&e.message))
        }
        pub(super) fn category(&self) -> Option<String> {
            self.pricing
                .as_ref()?
                .category
                .as_ref()
                .map(|c| c.to_string())
        }
    }

    impl Inbound<'_> {
        pub(super) fn at(&self, now: i64) -> i64 {
            self.timestamp.as_ref().and_then(Scalar::int).unwrap_or(now)
        }
        pub(super) fn replied_to(&self) -> Option<String> {
            self.context.as_ref()?.id.as_ref().map(|c| c.to_string())
        }
    }

    /// `text()`: a non-empty string.
    pub(super) fn nonempty(s: &Option<Cow<'_, str>>) -> Option<String> {
        s.as_ref().filter(|s| !s.is_empty()).map(|s| s.to_string())
    }

    pub(super) fn parse(body: &[u8], now: i64) -> Option<Parsed> {
        let b: Body<'_> = serde_json::from_slice(body).ok()?;
        if b.object.as_deref() != Some("whatsapp_business_account") {
            return None;
        }
        let mut out = Parsed::default();
        for entry in &b.entry {
            let waba = match &entry.id {
                Some(id) => id.id().ok()?.unwrap_or_default(),
                None => String::new(),
            };
            let time = entry.time.as_ref().and_then(Scalar::int).unwrap_or(now);
            for change in &entry.changes {
                let field = change.field.as_deref().unwrap_or("");
                match field {
                    "messages" => {
                        let m: Messages<'_> = match change.value {
                            Some(v) => serde_json::from_str(v.get()).ok()?,
                            None => return None,
                        };
                        let pnid =
                            match m.metadata.as_ref().and_then(|x| x.phone_number_id.as_ref()) {
                                Some(id) => id.id().ok()?.unwrap_or_default(),
                                None => String::new(),
                            };
                        messages_event_parts(&mut out, &waba, &pnid, &m, now);
                    }
                    "message_template_status_update"
                    | "message_template_quality_update"
                    | "template_category_update" => {
                        let v: Value = match change.value {
                            Some(v) => serde_json::from_str(v.get()).ok()?,
                            None => Value::Null,
                        };
                        match template(field, &waba, &v, time) {
                            Some(ev) => out.events.push(super::IngestEvent::Template(ev)),
                            None => out
                                .ignored
                                .push(format!("{field} without template id, name or value")),
                        }
                    }
                    other => out.ignored.push(format!("field {other}")),
                }
            }
        }
        Some(out)
    }
}

/// [`messages`] for the typed path: the same events from the same fields.
fn messages_event_parts(
    out: &mut Parsed,
    waba: &str,
    pnid: &str,
    m: &fast::Messages<'_>,
    now: i64,
) {
    for s in &m.statuses {
        let (Some(wamid), Some(status)) = (fast::nonempty(&s.id), s.status.as_deref()) else {
            out.ignored.push("status without id or status".into());
            continue;
        };
        let Some(status) = Delivery::parse(status) else {
            out.ignored.push(format!("status {status}"));
            continue;
        };
        let template = TemplateHint::from_opaque(s.biz_opaque_callback_data.as_deref());
        out.events.push(IngestEvent::Status(MessageStatus {
            wamid,
            phone_number_id: pnid.to_string(),
            waba_id: Some(waba.to_string()).filter(|w| !w.is_empty()),
            recipient: fast::nonempty(&s.recipient_id).unwrap_or_default(),
            status,
            at: s.at(now),
            error_code: s.error_code(),
            error_title: s.error_title(),
            category: s.category(),
            template,
            origin: "webhook",
        }));
    }
    for i in &m.messages {
        let Some(from) = fast::nonempty(&i.from) else {
            out.ignored.push("inbound message without sender".into());
            continue;
        };
        let kind = i.kind.as_deref().unwrap_or("");
        out.events.push(IngestEvent::Inbound {
            phone_number_id: pnid.to_string(),
            from,
            at: i.at(now),
            replied_to: i.replied_to(),
            is_button: kind == "button" || kind == "interactive",
        });
    }
    if m.errors.0 {
        out.ignored.push("system-level errors".into());
    }
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

    /// The typed path gives what the general one gives, or defers to it.
    fn same(body: &str) -> bool {
        let general = parse(&serde_json::from_str(body).unwrap(), 7);
        let both = parse_bytes(body.as_bytes(), 7).unwrap();
        assert_eq!(both.events, general.events, "{body}");
        assert_eq!(both.ignored, general.ignored, "{body}");
        match parse_typed(body.as_bytes(), 7) {
            Some(t) => {
                assert_eq!(t.events, general.events, "{body}");
                true
            }
            None => false,
        }
    }

    #[test]
    fn typed_and_general_paths_agree() {
        let typed = [
            r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"5"},"statuses":[{"id":"wamid.A","status":"delivered","timestamp":"1700000000","recipient_id":"155","biz_opaque_callback_data":"templar:99","pricing":{"category":"utility"}}]}}]}]}"#,
            r#"{"object":"whatsapp_business_account","entry":[{"id":1,"time":5,"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":5},"statuses":[{"id":"wamid.\u0041","status":"failed","timestamp":1700000000,"errors":[{"code":"131047","message":"Re-engagement"}]},{"id":"","status":"sent"},{"id":"w","status":"played"}],"messages":[{"from":"155","timestamp":"3","type":"button","context":{"id":"wamid.A"}},{"type":"text"}],"errors":null}}]}]}"#,
            r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"statuses","value":{}},{"field":"message_template_status_update","value":{"event":"APPROVED","message_template_id":12,"message_template_name":"a","message_template_language":"en-US","reason":"NONE"}}]}]}"#,
            r#"{"object":"whatsapp_business_account","entry":[{"id":"18446744073709551615","changes":[{"field":"messages","value":{"statuses":[{"id":"w","status":"read","timestamp":1.5,"errors":[]}]}}]}]}"#,
            r#"{"object":"whatsapp_business_account","entry":[{"id":"1","time":true,"changes":[{"field":"messages","value":{"statuses":[{"id":"w","status":"sent","timestamp":{"a":[1,{"b":null}]}},{"id":"v","status":"sent","timestamp":[1,2]},{"id":"u","status":"sent","timestamp":" 12 "}]}}]}]}"#,
        ];
        for b in typed {
            assert!(same(b), "typed path expected for {b}");
        }
        let deferred = [
            r#"{"object":"page","entry":[]}"#,
            r#"{"object":"whatsapp_business_account","entry":{"id":"1"}}"#,
            r#"{"object":"whatsapp_business_account","entry":[{"id":1.5,"changes":[]}]}"#,
            r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"statuses":{"id":"w"}}}]}]}"#,
            r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"statuses":[{"id":5,"status":"sent"}]}}]}]}"#,
            r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages"}]}]}"#,
            r#"{"object":"whatsapp_business_account","object":"whatsapp_business_account","entry":[]}"#,
        ];
        for b in deferred {
            assert!(!same(b), "general path expected for {b}");
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
