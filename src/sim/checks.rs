//! What Meta checks of a template send, written for the simulator alone: per component, the
//! number of parameters the template's placeholders call for, and for a NAMED template each
//! placeholder's `parameter_name`. It shares no code with templar's own parameter binder, so a
//! bug there shows up as a refused send in the tests.

use serde_json::Value;

/// The distinct `{{…}}` placeholders of a text, in order of first appearance.
fn placeholders(text: &str) -> Vec<&str> {
    let mut found: Vec<&str> = Vec::new();
    for piece in text.split("{{").skip(1) {
        if let Some((inner, _)) = piece.split_once("}}") {
            let inner = inner.trim();
            if !found.contains(&inner) {
                found.push(inner);
            }
        }
    }
    found
}

/// One component of a send that must carry parameters.
#[derive(Debug, PartialEq)]
struct Expected<'a> {
    /// `header`, `body` or `button`.
    kind: &'static str,
    /// A button's index.
    index: Option<usize>,
    /// The placeholders (for a media header, its format).
    names: Vec<&'a str>,
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn expected(components: &Value) -> Vec<Expected<'_>> {
    let mut out = Vec::new();
    for c in components.as_array().into_iter().flatten() {
        match text(c, "type").to_ascii_uppercase().as_str() {
            "HEADER" => {
                let format = text(c, "format");
                let names = match format.to_ascii_uppercase().as_str() {
                    "" | "TEXT" => placeholders(text(c, "text")),
                    "IMAGE" | "VIDEO" | "DOCUMENT" => vec![format],
                    _ => vec![],
                };
                out.push(Expected {
                    kind: "header",
                    index: None,
                    names,
                });
            }
            "BODY" => out.push(Expected {
                kind: "body",
                index: None,
                names: placeholders(text(c, "text")),
            }),
            "BUTTONS" => {
                let buttons = c.get("buttons").and_then(Value::as_array);
                for (i, b) in buttons.into_iter().flatten().enumerate() {
                    let kind = text(b, "type").to_ascii_uppercase();
                    let takes_one = match kind.as_str() {
                        "URL" => text(b, "url").contains("{{"),
                        "COPY_CODE" => true,
                        "OTP" => {
                            text(b, "url").contains("{{")
                                || text(b, "otp_type").eq_ignore_ascii_case("COPY_CODE")
                        }
                        _ => false,
                    };
                    if takes_one {
                        out.push(Expected {
                            kind: "button",
                            index: Some(i),
                            names: vec!["1"],
                        });
                    }
                }
            }
            _ => {}
        }
    }
    out.retain(|e| !e.names.is_empty());
    out
}

/// The parameters a send gives the component of `kind` (and `index`, for a button).
fn given<'a>(sent: &'a Value, kind: &str, index: Option<usize>) -> Vec<&'a Value> {
    let same_index = |c: &Value| match (index, c.get("index")) {
        (None, _) => true,
        (Some(i), Some(Value::String(s))) => s.parse::<usize>().ok() == Some(i),
        (Some(i), Some(Value::Number(n))) => n.as_u64() == Some(i as u64),
        _ => false,
    };
    sent.get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| text(c, "type").eq_ignore_ascii_case(kind) && same_index(c))
        .flat_map(|c| {
            c.get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .collect()
}

/// Checks a send's components against the template as Meta does; the error text on refusal
/// (code 132000).
pub fn template_send(
    components: &Value,
    parameter_format: &str,
    sent: &Value,
) -> Result<(), String> {
    let wants = expected(components);
    let total_given = given(sent, "header", None).len()
        + given(sent, "body", None).len()
        + given(sent, "button", None).len();
    let total_wanted: usize = wants.iter().map(|e| e.names.len()).sum();
    if total_given != total_wanted {
        return Err(format!(
            "(#132000) Number of parameters does not match the expected number of params \
             (expected {total_wanted}, got {total_given})"
        ));
    }
    for e in &wants {
        let got = given(sent, e.kind, e.index);
        if got.len() != e.names.len() {
            return Err(format!(
                "(#132000) Number of parameters does not match the expected number of params \
                 ({}: expected {}, got {})",
                e.kind,
                e.names.len(),
                got.len()
            ));
        }
        if parameter_format.eq_ignore_ascii_case("NAMED") && e.kind == "body" {
            for name in &e.names {
                let found = got
                    .iter()
                    .any(|g| g.get("parameter_name").and_then(Value::as_str) == Some(name));
                if !found {
                    return Err(format!("(#132000) Parameter name {name} is missing"));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
