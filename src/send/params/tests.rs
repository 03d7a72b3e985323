use super::*;

fn positional() -> Value {
    json!([
        {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
        {"type": "BODY", "text": "Hi {{1}}, your order {{2}} ships {{3}}.",
         "example": {"body_text": [["Maria", "A-1", "today"]]}},
        {"type": "BUTTONS", "buttons": [
            {"type": "QUICK_REPLY", "text": "Thanks"},
            {"type": "URL", "text": "Track", "url": "https://x.example/t/{{1}}"}]}
    ])
}

#[test]
fn positional_values_fill_header_body_then_buttons() {
    let s = slots(&positional());
    assert_eq!(
        describe(&s),
        "header {{1}}, {{1}}, {{2}}, {{3}}, button 1 (URL suffix)"
    );
    assert_eq!(s[1].example.as_deref(), Some("Maria"));
    let given: Vec<String> = ["A-1", "Maria", "A-1", "today", "a1"]
        .map(String::from)
        .into();
    let v = bind(&s, &given, false, false).unwrap();
    let c = components(&s, &v);
    assert_eq!(c[0]["parameters"][0]["text"], "A-1");
    assert_eq!(c[1]["parameters"][2]["text"], "today");
    assert_eq!(c[2]["index"], "1");
    assert_eq!(c[2]["sub_type"], "url");
}

#[test]
fn wrong_counts_name_what_is_missing_or_extra() {
    let s = slots(&positional());
    let e = bind(&s, &["x".into(), "y".into()], false, false).unwrap_err();
    assert!(e.0.contains("missing 3 of 5 parameters"), "{e}");
    assert!(e.0.contains("{{2}}, {{3}}, button 1"), "{e}");
    let six: Vec<String> = (0..6).map(|i| i.to_string()).collect();
    let e = bind(&s, &six, false, false).unwrap_err();
    assert!(
        e.0.contains("6 parameters given but the template takes 5"),
        "{e}"
    );
}

#[test]
fn named_parameters_by_name_only() {
    let comps = json!([{"type": "BODY", "text": "Hi {{first_name}}, ref {{reference}}",
        "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Maria"}]}}]);
    let s = slots(&comps);
    assert_eq!(s[0].example.as_deref(), Some("Maria"));
    let v = bind(
        &s,
        &["reference=R-9".into(), "first_name=Ana".into()],
        true,
        false,
    )
    .unwrap();
    assert_eq!(v, vec!["Ana", "R-9"]);
    let c = components(&s, &v);
    assert_eq!(c[0]["parameters"][0]["parameter_name"], "first_name");
    let e = bind(&s, &["Ana".into(), "R-9".into()], true, false).unwrap_err();
    assert!(e.0.contains("NAMED"), "{e}");
    let e = bind(&s, &["firstname=Ana".into()], true, false).unwrap_err();
    assert!(e.0.contains("no parameter `firstname`"), "{e}");
}

#[test]
fn refuses_what_whatsapp_refuses_in_text() {
    let s = slots(&positional());
    let given: Vec<String> = ["h", "two\nlines", "b", "c", "d"].map(String::from).into();
    let e = bind(&s, &given, false, false).unwrap_err();
    assert!(e.0.contains("newline"), "{e}");
}

#[test]
fn authentication_code_fills_its_button() {
    let comps = json!([
        {"type": "BODY", "text": "{{1}} is your code."},
        {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Copy", "url": "https://w.example/otp{{1}}"}]}
    ]);
    let s = slots(&comps);
    let v = bind(&s, &["482913".into()], false, true).unwrap();
    assert_eq!(v, vec!["482913", "482913"]);
}

#[test]
fn media_header_takes_a_link_or_an_id() {
    let comps = json!([{"type": "HEADER", "format": "IMAGE"}, {"type": "BODY", "text": "Hi"}]);
    let s = slots(&comps);
    let c = components(&s, &["https://cdn.example/a.png".into()]);
    assert_eq!(
        c[0]["parameters"][0]["image"]["link"],
        "https://cdn.example/a.png"
    );
    let c = components(&s, &["123456".into()]);
    assert_eq!(c[0]["parameters"][0]["image"]["id"], "123456");
}
