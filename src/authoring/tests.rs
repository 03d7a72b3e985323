use super::*;

fn check(text: &str) -> Result<Definition, Invalid> {
    parse(text, Path::new("t.json"))
}

#[test]
fn a_good_definition_passes() {
    let d = check(
        r#"{"name": "order_update", "language": "en_US", "category": "utility",
        "components": [{"type": "BODY", "text": "Hi {{1}}, order {{2}} shipped.",
                        "example": {"body_text": [["Ana", "A-1"]]}}]}"#,
    )
    .unwrap();
    assert_eq!(d.category, "UTILITY");
    assert_eq!(d.body["parameter_format"], "POSITIONAL");
}

#[test]
fn errors_name_line_column_and_path() {
    let text = "{\n  \"name\": \"Order Update\",\n  \"language\": \"en_US\",\n  \"category\": \"UTILITY\",\n  \"components\": [\n    {\"type\": \"BODY\",\n     \"text\": \"Hi {{1}}, order {{3}} shipped.\"}\n  ]\n}\n";
    let e = check(text).unwrap_err();
    let shown = e.to_string();
    assert!(
        shown.contains("t.json:2:11: name: `Order Update` is not a valid name"),
        "{shown}"
    );
    assert!(
        shown.contains("t.json:7:14: components[0].text: placeholders must be numbered"),
        "{shown}"
    );
    assert!(shown.contains("example.body_text is missing"), "{shown}");
}

#[test]
fn named_and_positional_must_not_mix() {
    let e = check(
        r#"{"name": "a", "language": "en", "category": "MARKETING", "parameter_format": "NAMED",
        "components": [{"type": "BODY", "text": "Hi {{1}} and {{name}} today",
          "example": {"body_text_named_params": [{"param_name": "name", "example": "Ana"}]}}]}"#,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("{{1}} is positional but parameter_format is NAMED"),
        "{e}"
    );
}

#[test]
fn button_rules() {
    let e = check(r#"{"name": "a", "language": "en", "category": "MARKETING",
        "components": [{"type": "BODY", "text": "Hello there"},
          {"type": "BUTTONS", "buttons": [
            {"type": "QUICK_REPLY", "text": "Yes"},
            {"type": "URL", "text": "Open the shop right now please", "url": "https://x.example/{{1}}/p"},
            {"type": "QUICK_REPLY", "text": "No"}]}]}"#)
    .unwrap_err();
    let s = e.to_string();
    assert!(s.contains("button text is 30 characters"), "{s}");
    assert!(s.contains("parameter must come at its end"), "{s}");
    assert!(s.contains("needs an `example`"), "{s}");
    assert!(s.contains("grouped together"), "{s}");
}

#[test]
fn syntax_errors_keep_serde_position() {
    let e = check("{\n  \"name\": \"a\",\n  \"language\" \"en\"\n}").unwrap_err();
    assert_eq!(e.problems[0].line, 3);
    assert!(e.to_string().starts_with("t.json:3:"), "{e}");
}
