//! The template as the customer sees it: Meta's components read into a message bubble, with
//! its placeholders marked.

use serde::Serialize;

/// A piece of body text: literal text, or a `{{placeholder}}`.
#[derive(Debug, Clone, Serialize)]
pub struct Piece {
    pub text: String,
    pub placeholder: bool,
}

/// The template as the customer sees it.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Bubble {
    pub header: Option<String>,
    pub media: Option<String>,
    pub body: Vec<Piece>,
    pub footer: Option<String>,
    pub buttons: Vec<String>,
}

/// Splits text at `{{...}}` placeholders.
pub fn pieces(text: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        if start > 0 {
            out.push(Piece {
                text: rest[..start].to_string(),
                placeholder: false,
            });
        }
        out.push(Piece {
            text: rest[start..start + len + 2].to_string(),
            placeholder: true,
        });
        rest = &rest[start + len + 2..];
    }
    if !rest.is_empty() {
        out.push(Piece {
            text: rest.to_string(),
            placeholder: false,
        });
    }
    out
}

/// Reads Meta's components into a bubble.
pub fn bubble(components: &serde_json::Value) -> Bubble {
    let mut b = Bubble::default();
    for c in components.as_array().into_iter().flatten() {
        let text = c.get("text").and_then(|t| t.as_str()).map(str::to_string);
        match c.get("type").and_then(|t| t.as_str()).unwrap_or("") {
            "HEADER" => match c.get("format").and_then(|f| f.as_str()) {
                Some("TEXT") | None => b.header = text,
                Some(other) => b.media = Some(other.to_ascii_lowercase()),
            },
            "BODY" => b.body = pieces(&text.unwrap_or_default()),
            "FOOTER" => b.footer = text,
            "BUTTONS" => {
                for btn in c
                    .get("buttons")
                    .and_then(|x| x.as_array())
                    .into_iter()
                    .flatten()
                {
                    if let Some(t) = btn.get("text").and_then(|t| t.as_str()) {
                        b.buttons.push(t.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    b
}
