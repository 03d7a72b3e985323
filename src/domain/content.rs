//! A template's content as people read it (header, body, footer, buttons and their examples):
//! what makes two contents the same version, the content after Meta's
//! `message_template_components_update` webhook, and the word-level difference between two.

use serde::Serialize;
use serde_json::{json, Value};

/// One readable part of a template: `Body`, `Header`, `Button 1 (URL)`, `Body example`...
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Part {
    pub label: String,
    pub text: String,
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The example values of a component as one line (`Ada, 1234`), whatever shape Meta used.
fn example_line(example: &Value) -> String {
    let mut out = Vec::new();
    let mut walk = vec![example];
    while let Some(v) = walk.pop() {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Number(n) => out.push(n.to_string()),
            Value::Array(a) => walk.extend(a.iter().rev()),
            Value::Object(o) => walk.extend(o.values().rev()),
            _ => {}
        }
    }
    out.join(", ")
}

/// The parts of a components array, in the order a reader meets them. Examples are parts too
/// (`Body example`): an edit of the examples alone is a new version.
pub fn parts(components: &Value) -> Vec<Part> {
    let mut out = Vec::new();
    let mut push = |label: String, text: String| {
        if !text.trim().is_empty() {
            out.push(Part { label, text });
        }
    };
    for c in components.as_array().into_iter().flatten() {
        let kind = str_of(c, "type").to_ascii_uppercase();
        let name = match kind.as_str() {
            "HEADER" => "Header",
            "BODY" => "Body",
            "FOOTER" => "Footer",
            "BUTTONS" => "Buttons",
            _ => "Other",
        };
        let format = str_of(c, "format").to_ascii_uppercase();
        let media = kind == "HEADER" && !matches!(format.as_str(), "" | "TEXT");
        if kind == "HEADER" {
            let text = match format.as_str() {
                "" | "TEXT" => str_of(c, "text").to_string(),
                media => format!("[{media}]"),
            };
            push(name.into(), text);
        } else if kind == "BUTTONS" {
            for (i, b) in c
                .get("buttons")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let target = [str_of(b, "url"), str_of(b, "phone_number")]
                    .into_iter()
                    .filter(|t| !t.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
                let text = [str_of(b, "text"), &target]
                    .into_iter()
                    .filter(|t| !t.is_empty())
                    .collect::<Vec<_>>()
                    .join(" → ");
                let label = format!(
                    "Button {} ({})",
                    i + 1,
                    str_of(b, "type").to_ascii_uppercase()
                );
                push(label.clone(), text);
                if let Some(e) = b.get("example") {
                    push(format!("{label} example"), example_line(e));
                }
            }
        } else {
            push(name.into(), str_of(c, "text").to_string());
        }
        // A media header's example is an upload handle, which Meta's listing returns as a
        // signed link that changes: not part of what the template reads like.
        if let Some(e) = c.get("example").filter(|_| !media) {
            push(format!("{name} example"), example_line(e));
        }
    }
    out
}

/// Whether the text holds no content at all (`[]`, empty, not JSON): not a version.
pub fn is_empty(components: &str) -> bool {
    serde_json::from_str::<Value>(components).map_or(true, |v| parts(&v).is_empty())
}

/// Whether two stored components arrays read the same, examples included.
pub fn same(a: &str, b: &str) -> bool {
    parse_parts(a) == parse_parts(b)
}

/// Whether two components arrays read the same apart from their examples: what a components
/// webhook can tell (it carries no examples).
pub fn same_texts(a: &str, b: &str) -> bool {
    let texts = |s: &str| {
        parse_parts(s)
            .into_iter()
            .filter(|p| !p.label.ends_with(" example"))
            .collect::<Vec<_>>()
    };
    texts(a) == texts(b)
}

fn parse_parts(s: &str) -> Vec<Part> {
    serde_json::from_str::<Value>(s)
        .map(|v| parts(&v))
        .unwrap_or_default()
}

/// What `message_template_components_update` says a template reads like now. Each field is
/// `None` when the webhook left it out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ComponentsUpdate {
    pub header: Option<String>,
    pub body: Option<String>,
    pub footer: Option<String>,
    /// (type, text, url or phone number).
    pub buttons: Option<Vec<(String, String, Option<String>)>>,
}

/// The stored components with a components webhook applied: the texts it names replace the
/// stored ones; examples and media headers stay (the webhook does not carry them). A webhook
/// with a body describes the whole template: a text header, footer or buttons it leaves out
/// were removed.
pub fn apply_update(stored: &Value, u: &ComponentsUpdate) -> Value {
    let mut comps: Vec<Value> = stored.as_array().cloned().unwrap_or_default();
    if u.body.is_some() {
        comps.retain(|c| {
            let kind = str_of(c, "type").to_ascii_uppercase();
            let text_header = kind == "HEADER"
                && matches!(
                    str_of(c, "format").to_ascii_uppercase().as_str(),
                    "" | "TEXT"
                );
            !((text_header && u.header.is_none())
                || (kind == "FOOTER" && u.footer.is_none())
                || (kind == "BUTTONS" && u.buttons.is_none()))
        });
    }
    let find = |comps: &mut Vec<Value>, kind: &str| {
        comps
            .iter()
            .position(|c| str_of(c, "type").eq_ignore_ascii_case(kind))
    };
    let set_text = |comps: &mut Vec<Value>, kind: &str, text: &Option<String>| {
        let Some(text) = text else { return };
        match find(comps, kind) {
            Some(i) => {
                let is_media = kind == "HEADER"
                    && !matches!(
                        str_of(&comps[i], "format").to_ascii_uppercase().as_str(),
                        "" | "TEXT"
                    );
                if !is_media {
                    comps[i]["text"] = json!(text);
                }
            }
            None => {
                let mut c = json!({"type": kind, "text": text});
                if kind == "HEADER" {
                    c["format"] = json!("TEXT");
                }
                let at = match kind {
                    "HEADER" => 0,
                    "BODY" => find(comps, "HEADER").map_or(0, |h| h + 1),
                    _ => find(comps, "BUTTONS").unwrap_or(comps.len()),
                };
                comps.insert(at, c);
            }
        }
    };
    set_text(&mut comps, "HEADER", &u.header);
    set_text(&mut comps, "BODY", &u.body);
    set_text(&mut comps, "FOOTER", &u.footer);
    if let Some(buttons) = &u.buttons {
        let old: Vec<Value> = find(&mut comps, "BUTTONS")
            .and_then(|i| comps[i].get("buttons").and_then(Value::as_array).cloned())
            .unwrap_or_default();
        let new: Vec<Value> = buttons
            .iter()
            .enumerate()
            .map(|(i, (kind, text, target))| {
                let mut b = old.get(i).cloned().unwrap_or_else(|| json!({}));
                b["type"] = json!(kind);
                b["text"] = json!(text);
                match (kind.as_str(), target) {
                    ("PHONE_NUMBER", Some(t)) => b["phone_number"] = json!(t),
                    (_, Some(t)) => b["url"] = json!(t),
                    _ => {}
                }
                b
            })
            .collect();
        match find(&mut comps, "BUTTONS") {
            Some(i) if new.is_empty() => {
                comps.remove(i);
            }
            Some(i) => comps[i]["buttons"] = json!(new),
            None if !new.is_empty() => comps.push(json!({"type": "BUTTONS", "buttons": new})),
            None => {}
        }
    }
    Value::Array(comps)
}

/// One run of words in a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Words {
    /// `same`, `added` or `removed`.
    pub kind: &'static str,
    pub text: String,
}

/// The difference of one part between two versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartDiff {
    pub label: String,
    pub words: Vec<Words>,
}

/// The parts that differ between two components arrays, word by word; parts that read the
/// same are left out.
pub fn diff(old: &str, new: &str) -> Vec<PartDiff> {
    let (old, new) = (parse_parts(old), parse_parts(new));
    let mut labels: Vec<&str> = new.iter().map(|p| p.label.as_str()).collect();
    for p in &old {
        if !labels.contains(&p.label.as_str()) {
            labels.push(&p.label);
        }
    }
    let text = |parts: &[Part], label: &str| {
        parts
            .iter()
            .find(|p| p.label == label)
            .map(|p| p.text.clone())
            .unwrap_or_default()
    };
    labels
        .into_iter()
        .filter_map(|label| {
            let (a, b) = (text(&old, label), text(&new, label));
            (a != b).then(|| PartDiff {
                label: label.to_string(),
                words: words(&a, &b),
            })
        })
        .collect()
}

fn words(a: &str, b: &str) -> Vec<Words> {
    let d = similar::TextDiff::from_words(a, b);
    let mut out: Vec<Words> = Vec::new();
    for change in d.iter_all_changes() {
        let kind = match change.tag() {
            similar::ChangeTag::Equal => "same",
            similar::ChangeTag::Insert => "added",
            similar::ChangeTag::Delete => "removed",
        };
        match out.last_mut() {
            Some(last) if last.kind == kind => last.text.push_str(change.value()),
            _ => out.push(Words {
                kind,
                text: change.value().to_string(),
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> String {
        json!([{"type": "BODY", "text": text, "example": {"body_text": [["Ada"]]}}]).to_string()
    }

    #[test]
    fn key_order_and_extra_fields_do_not_make_a_version() {
        let a = r#"[{"type":"BODY","text":"Hi {{1}}"}]"#;
        let b = r#"[{"text":"Hi {{1}}","type":"body","id":"x"}]"#;
        assert!(same(a, b));
        assert!(!same(a, r#"[{"type":"BODY","text":"Hello {{1}}"}]"#));
        assert!(is_empty("[]") && is_empty("not json") && !is_empty(a));
    }

    #[test]
    fn a_media_handle_and_letter_case_are_no_edit() {
        let sent = json!([{"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1h"]}},
                          {"type": "BODY", "text": "Hi"},
                          {"type": "BUTTONS", "buttons": [{"type": "url", "text": "Go", "url": "https://a"}]}]);
        let listed = json!([{"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["https://scontent.example/x.jpg?sig=1"]}},
                            {"type": "BODY", "text": "Hi"},
                            {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Go", "url": "https://a"}]}]);
        assert!(same(&sent.to_string(), &listed.to_string()));
    }

    #[test]
    fn examples_count_for_versions_but_not_for_texts() {
        let a = body("Hi {{1}}");
        let b = json!([{"type": "BODY", "text": "Hi {{1}}", "example": {"body_text": [["Bob"]]}}])
            .to_string();
        assert!(!same(&a, &b));
        assert!(same_texts(&a, &b));
    }

    #[test]
    fn a_components_webhook_replaces_texts_and_keeps_examples_and_media() {
        let stored = json!([
            {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["h"]}},
            {"type": "BODY", "text": "Old body", "example": {"body_text": [["Ada"]]}},
            {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Open", "url": "https://a/{{1}}", "example": ["https://a/1"]}]}
        ]);
        let u = ComponentsUpdate {
            header: Some("ignored for media".into()),
            body: Some("New body".into()),
            footer: Some("Reply STOP".into()),
            buttons: Some(vec![(
                "URL".into(),
                "Track".into(),
                Some("https://a/{{1}}".into()),
            )]),
        };
        let after = apply_update(&stored, &u);
        let p = parts(&after);
        let get = |l: &str| p.iter().find(|x| x.label == l).map(|x| x.text.as_str());
        assert_eq!(get("Header"), Some("[IMAGE]"));
        assert_eq!(get("Body"), Some("New body"));
        assert_eq!(get("Body example"), Some("Ada"));
        assert_eq!(get("Footer"), Some("Reply STOP"));
        assert_eq!(get("Button 1 (URL)"), Some("Track → https://a/{{1}}"));
        assert_eq!(get("Button 1 (URL) example"), Some("https://a/1"));
        // The footer goes before the buttons, as Meta orders components.
        assert_eq!(after[2]["type"], "FOOTER");
    }

    #[test]
    fn a_full_webhook_without_a_footer_removed_it() {
        let stored = json!([{"type": "BODY", "text": "Hi"}, {"type": "FOOTER", "text": "Bye"}]);
        let u = ComponentsUpdate {
            body: Some("Hello".into()),
            ..Default::default()
        };
        let after = apply_update(&stored, &u);
        assert_eq!(after, json!([{"type": "BODY", "text": "Hello"}]));
    }

    #[test]
    fn the_diff_names_the_words_that_changed() {
        let d = diff(
            &body("Your order ships today"),
            &body("Your order ships tomorrow"),
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].label, "Body");
        let removed: Vec<&str> = d[0]
            .words
            .iter()
            .filter(|w| w.kind == "removed")
            .map(|w| w.text.as_str())
            .collect();
        let added: Vec<&str> = d[0]
            .words
            .iter()
            .filter(|w| w.kind == "added")
            .map(|w| w.text.as_str())
            .collect();
        assert_eq!((removed, added), (vec!["today"], vec!["tomorrow"]));
    }
}
