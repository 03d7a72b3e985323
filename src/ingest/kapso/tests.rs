use super::*;
use serde_json::json;

#[test]
fn failed_message_with_statuses() {
    let body = json!({"message":{"id":"wamid.789","timestamp":"1730093200","type":"template",
      "template":{"name":"order_update","language":{"code":"en_US"}},
      "kapso":{"direction":"outbound","status":"failed","statuses":[
        {"id":"wamid.789","status":"sent","timestamp":"1730093100","recipient_id":"15551234567"},
        {"id":"wamid.789","status":"failed","timestamp":"1730093200","recipient_id":"15551234567",
         "errors":[{"code":131047,"title":"Re-engagement message"}]}]}},
      "conversation":{"id":"c","phone_number":"+15551234567","phone_number_id":"123"},"phone_number_id":"123"});
    let p = parse("whatsapp.message.failed", &body, 0);
    let IngestEvent::Status(s) = &p.events[0] else {
        panic!("{p:?}")
    };
    assert_eq!(s.error_code, Some(131047));
    assert_eq!(s.recipient, "15551234567");
    assert_eq!(
        s.template,
        TemplateHint::NameLanguage("order_update".into(), "en_US".into())
    );
}

#[test]
fn batches_and_unknown_events() {
    let one = json!({"message":{"id":"w1","from":"155","timestamp":"10","type":"text"},"phone_number_id":"1"});
    let body = json!({"type":"whatsapp.message.received","batch":true,"data":[one.clone(), one]});
    assert_eq!(parse("whatsapp.message.received", &body, 0).events.len(), 2);
    let p = parse("whatsapp.conversation.created", &json!({}), 0);
    assert!(p.events.is_empty() && p.ignored.len() == 1);
}
