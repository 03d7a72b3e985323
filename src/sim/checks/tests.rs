use super::*;
use serde_json::json;

fn template() -> Value {
    json!([
        {"type": "HEADER", "format": "IMAGE"},
        {"type": "BODY", "text": "Hi {{1}}, order {{2}} ships {{1}}"},
        {"type": "BUTTONS", "buttons": [
            {"type": "QUICK_REPLY", "text": "Stop"},
            {"type": "URL", "url": "https://x.example/{{1}}"}
        ]}
    ])
}

#[test]
fn each_component_gets_its_own_count() {
    let ok = json!({"components": [
        {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://x"}}]},
        {"type": "body", "parameters": [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}]},
        {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "x"}]}
    ]});
    assert_eq!(template_send(&template(), "POSITIONAL", &ok), Ok(()));
    // The same four parameters, but the button's sent in the body: Meta refuses it.
    let moved = json!({"components": [
        {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://x"}}]},
        {"type": "body", "parameters": [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}, {"type": "text", "text": "x"}]}
    ]});
    assert!(template_send(&template(), "POSITIONAL", &moved).is_err());
    let wrong_index = json!({"components": [
        {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://x"}}]},
        {"type": "body", "parameters": [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}]},
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "x"}]}
    ]});
    assert!(template_send(&template(), "POSITIONAL", &wrong_index).is_err());
}

#[test]
fn named_templates_need_each_name() {
    let t = json!([{"type": "BODY", "text": "Hi {{first_name}}"}]);
    let named = json!({"components": [{"type": "body", "parameters": [
        {"type": "text", "parameter_name": "first_name", "text": "Ana"}]}]});
    let unnamed = json!({"components": [{"type": "body", "parameters": [
        {"type": "text", "text": "Ana"}]}]});
    assert_eq!(template_send(&t, "NAMED", &named), Ok(()));
    assert_eq!(
        template_send(&t, "NAMED", &unnamed),
        Err("(#132000) Parameter name first_name is missing".into())
    );
    assert!(template_send(&t, "NAMED", &json!({})).is_err());
}
