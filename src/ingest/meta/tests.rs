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
        IngestEvent::Inbound { from, replied_to: Some(r), is_button: true, at: 3, .. } if from.as_deref() == Some("155") && r == "wamid.A"));
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
        event: status,
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

#[test]
fn a_sender_with_only_a_business_scoped_user_id_is_kept() {
    let p = parse_bytes(
        br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"5"},"contacts":[{"user_id":"US.13491208655302741918","profile":{"name":"A"}}],"messages":[{"from_user_id":"US.13491208655302741918","id":"wamid.B","timestamp":"9","type":"text"}],"statuses":[{"id":"wamid.C","status":"read","timestamp":"9","recipient_user_id":"US.1"}]}}]}]}"#,
        7,
    )
    .unwrap();
    assert!(p.ignored.is_empty(), "{:?}", p.ignored);
    let IngestEvent::Status(s) = &p.events[0] else {
        panic!("{:?}", p.events)
    };
    assert_eq!(s.recipient, "US.1");
    assert!(matches!(&p.events[1],
        IngestEvent::Inbound { from: None, user_id: Some(u), .. } if u == "US.13491208655302741918"));
    // Both ids, the number from `contacts[]`: both kept, so they can be linked.
    let both = parse_bytes(
        br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"5"},"contacts":[{"wa_id":"155","user_id":"US.7"}],"messages":[{"from_user_id":"US.7","id":"wamid.D","timestamp":"9","type":"text"}]}}]}]}"#,
        7,
    )
    .unwrap();
    assert!(matches!(&both.events[0],
        IngestEvent::Inbound { from: Some(f), user_id: Some(u), .. } if f == "155" && u == "US.7"));
}
