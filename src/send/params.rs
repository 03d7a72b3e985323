//! A template's parameters: which ones its components expect (header, body, buttons), binding
//! what the user passed to them, and the `components` array of a send request. The checks here
//! are the ones Meta would otherwise answer with 132000 (count), 132012 (format) and 132018
//! (text it refuses in a parameter).

use serde_json::{json, Value};

/// Where a parameter goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Header,
    Body,
    /// A button, by its index in the BUTTONS component.
    Button(usize),
}

/// What a parameter carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// `image`, `video` or `document`: a link or a media id.
    Media(String),
    /// A URL button's suffix.
    UrlSuffix,
    /// A copy-code button's code.
    CouponCode,
}

/// One parameter the template expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub part: Part,
    /// How `--param KEY=VALUE` names it: the placeholder's name (`first_name`), its number in
    /// the body (`1`), `header.1`, `header` for a media header, `button.N` for a button.
    pub key: String,
    /// Named placeholders only: the `parameter_name` sent.
    pub name: Option<String>,
    pub kind: Kind,
    /// The example the template was submitted with, if any.
    pub example: Option<String>,
}

impl Slot {
    /// How messages name it: `{{1}}`, `{{first_name}}`, `header image`, `button 0 (URL)`.
    pub fn label(&self) -> String {
        match (&self.part, &self.kind) {
            (Part::Header, Kind::Media(m)) => format!("header {m} (link or media id)"),
            (Part::Header, _) => format!("header {{{{{}}}}}", self.placeholder()),
            (Part::Body, _) => format!("{{{{{}}}}}", self.placeholder()),
            (Part::Button(i), Kind::CouponCode) => format!("button {i} (coupon code)"),
            (Part::Button(i), _) => format!("button {i} (URL suffix)"),
        }
    }

    fn placeholder(&self) -> &str {
        self.name
            .as_deref()
            .unwrap_or_else(|| self.key.trim_start_matches("header."))
    }
}

/// The `{{…}}` placeholders of a text, in order of appearance, each once.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let inner = after[..end].trim().to_string();
        if !out.contains(&inner) {
            out.push(inner);
        }
        rest = &after[end + 2..];
    }
    out
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The parameters a template's components expect, in the order positional values fill them:
/// header, body, then buttons.
pub fn slots(components: &Value) -> Vec<Slot> {
    let mut out = Vec::new();
    let comps = components.as_array().map(Vec::as_slice).unwrap_or_default();
    let of_type = |t: &str| {
        comps.iter().find(|c| {
            c.get("type")
                .and_then(Value::as_str)
                .is_some_and(|x| x.eq_ignore_ascii_case(t))
        })
    };
    if let Some(h) = of_type("HEADER") {
        let format = h
            .get("format")
            .and_then(Value::as_str)
            .unwrap_or("TEXT")
            .to_ascii_uppercase();
        match format.as_str() {
            "TEXT" => {
                let text = h.get("text").and_then(Value::as_str).unwrap_or("");
                for (i, p) in placeholders(text).into_iter().enumerate() {
                    let named = !is_number(&p);
                    let example = if named {
                        named_example(h, "header_text_named_params", &p)
                    } else {
                        h.pointer(&format!("/example/header_text/{i}"))
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    };
                    out.push(Slot {
                        part: Part::Header,
                        key: if named {
                            p.clone()
                        } else {
                            format!("header.{p}")
                        },
                        name: named.then_some(p),
                        kind: Kind::Text,
                        example,
                    });
                }
            }
            "IMAGE" | "VIDEO" | "DOCUMENT" => out.push(Slot {
                part: Part::Header,
                key: "header".into(),
                name: None,
                kind: Kind::Media(format.to_ascii_lowercase()),
                example: h
                    .pointer("/example/header_handle/0")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            }),
            _ => {}
        }
    }
    if let Some(b) = of_type("BODY") {
        let text = b.get("text").and_then(Value::as_str).unwrap_or("");
        let mut found = placeholders(text);
        if found.iter().all(|p| is_number(p)) {
            found.sort_by_key(|p| p.parse::<u32>().unwrap_or(u32::MAX));
        }
        for p in found {
            let named = !is_number(&p);
            let example = if named {
                named_example(b, "body_text_named_params", &p)
            } else {
                let i = p.parse::<usize>().unwrap_or(1).saturating_sub(1);
                b.pointer(&format!("/example/body_text/0/{i}"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            out.push(Slot {
                part: Part::Body,
                key: p.clone(),
                name: named.then_some(p),
                kind: Kind::Text,
                example,
            });
        }
    }
    if let Some(bs) = of_type("BUTTONS")
        .and_then(|b| b.get("buttons"))
        .and_then(Value::as_array)
    {
        for (i, button) in bs.iter().enumerate() {
            let kind = button
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_uppercase();
            let url = button.get("url").and_then(Value::as_str).unwrap_or("");
            let slot = match kind.as_str() {
                "URL" | "OTP" if url.contains("{{") => Some(Kind::UrlSuffix),
                "COPY_CODE" => Some(Kind::CouponCode),
                "OTP" => button
                    .get("otp_type")
                    .and_then(Value::as_str)
                    .filter(|t| t.eq_ignore_ascii_case("COPY_CODE"))
                    .map(|_| Kind::UrlSuffix),
                _ => None,
            };
            if let Some(kind) = slot {
                out.push(Slot {
                    part: Part::Button(i),
                    key: format!("button.{i}"),
                    name: None,
                    kind,
                    example: button
                        .pointer("/example/0")
                        .or_else(|| button.get("example"))
                        .and_then(Value::as_str)
                        .map(str::to_string),
                });
            }
        }
    }
    out
}

fn named_example(component: &Value, field: &str, name: &str) -> Option<String> {
    component
        .pointer(&format!("/example/{field}"))?
        .as_array()?
        .iter()
        .find(|e| e.get("param_name").and_then(Value::as_str) == Some(name))?
        .get("example")?
        .as_str()
        .map(str::to_string)
}

/// A list of slots for messages: `{{1}}, {{2}}, button 0 (URL suffix)`.
pub fn describe(slots: &[Slot]) -> String {
    if slots.is_empty() {
        return "no parameters".into();
    }
    slots.iter().map(Slot::label).collect::<Vec<_>>().join(", ")
}

/// Why the given parameters do not fit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParamError(pub String);

/// Binds `given` (`VALUE` or `KEY=VALUE`) to `slots`: keyed values first, then plain values
/// in order. Named placeholders must be given by name. An authentication template's code
/// button, when not given, takes the body's code.
pub fn bind(
    slots: &[Slot],
    given: &[String],
    named_format: bool,
    authentication: bool,
) -> Result<Vec<String>, ParamError> {
    let mut values: Vec<Option<String>> = vec![None; slots.len()];
    let mut plain = Vec::new();
    for g in given {
        let keyed = g.split_once('=').and_then(|(k, v)| {
            let k = k.trim();
            slots
                .iter()
                .position(|s| s.key == k)
                .map(|i| (i, k, v))
                .or_else(|| {
                    // In a NAMED template, `word=value` is meant as a name.
                    let looks_named = !k.is_empty()
                        && k.bytes().all(|b| {
                            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.'
                        });
                    (named_format && looks_named).then_some((usize::MAX, k, v))
                })
        });
        match keyed {
            Some((usize::MAX, k, _)) => {
                return Err(ParamError(format!(
                    "the template has no parameter `{k}`; it expects {}",
                    keys(slots)
                )))
            }
            Some((i, k, v)) => {
                if values[i].is_some() {
                    return Err(ParamError(format!("parameter `{k}` is given twice")));
                }
                values[i] = Some(v.to_string());
            }
            None => plain.push(g.clone()),
        }
    }
    let mut plain = plain.into_iter();
    for (i, s) in slots.iter().enumerate() {
        if values[i].is_some() || s.name.is_some() {
            continue;
        }
        if let Some(v) = plain.next() {
            values[i] = Some(v);
        }
    }
    let extra: Vec<String> = plain.collect();
    if !extra.is_empty() {
        let named_open: Vec<&Slot> = slots
            .iter()
            .zip(&values)
            .filter(|(s, v)| s.name.is_some() && v.is_none())
            .map(|(s, _)| s)
            .collect();
        if !named_open.is_empty() {
            return Err(ParamError(format!(
                "this template's parameters are NAMED: pass them as --param NAME=VALUE ({})",
                named_open
                    .iter()
                    .map(|s| format!("{}=…", s.key))
                    .collect::<Vec<_>>()
                    .join(" ")
            )));
        }
        return Err(ParamError(format!(
            "{} parameter{} given but the template takes {} ({}); upstream would refuse it \
             with 132000",
            given.len(),
            if given.len() == 1 { "" } else { "s" },
            slots.len(),
            describe(slots)
        )));
    }
    if authentication {
        let code = slots
            .iter()
            .zip(&values)
            .find(|(s, _)| s.part == Part::Body)
            .and_then(|(_, v)| v.clone());
        for (s, v) in slots.iter().zip(values.iter_mut()) {
            if matches!(s.part, Part::Button(_)) && v.is_none() {
                v.clone_from(&code);
            }
        }
    }
    let missing: Vec<String> = slots
        .iter()
        .zip(&values)
        .filter(|(_, v)| v.is_none())
        .map(|(s, _)| s.label())
        .collect();
    if !missing.is_empty() {
        return Err(ParamError(format!(
            "missing {} of {} parameter{}: {} (expects {}); upstream would refuse it with 132000",
            missing.len(),
            slots.len(),
            if slots.len() == 1 { "" } else { "s" },
            missing.join(", "),
            keys(slots)
        )));
    }
    let values: Vec<String> = values.into_iter().flatten().collect();
    for (s, v) in slots.iter().zip(&values) {
        check_text(s, v)?;
    }
    Ok(values)
}

fn keys(slots: &[Slot]) -> String {
    slots
        .iter()
        .map(|s| match &s.name {
            Some(n) => format!("{n}=…"),
            None => s.label(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What Meta refuses inside a text parameter (132018).
fn check_text(slot: &Slot, v: &str) -> Result<(), ParamError> {
    if v.trim().is_empty() {
        return Err(ParamError(format!("{} is empty", slot.label())));
    }
    if slot.kind == Kind::Text && slot.part == Part::Body {
        if v.contains(['\n', '\t']) {
            return Err(ParamError(format!(
                "{} contains a newline or tab, which WhatsApp refuses in parameters (132018)",
                slot.label()
            )));
        }
        if v.contains("     ") {
            return Err(ParamError(format!(
                "{} contains more than four spaces in a row, which WhatsApp refuses (132018)",
                slot.label()
            )));
        }
    }
    if slot.part == Part::Header && slot.kind == Kind::Text && v.chars().count() > 60 {
        return Err(ParamError(format!(
            "{} is {} characters; a header holds at most 60",
            slot.label(),
            v.chars().count()
        )));
    }
    Ok(())
}

/// The `components` of a send request for bound values.
pub fn components(slots: &[Slot], values: &[String]) -> Value {
    let mut header = Vec::new();
    let mut body = Vec::new();
    let mut buttons = Vec::new();
    for (s, v) in slots.iter().zip(values) {
        let mut p = match &s.kind {
            Kind::Text => json!({"type": "text", "text": v}),
            Kind::Media(m) => {
                let media = if v.starts_with("http://") || v.starts_with("https://") {
                    json!({"link": v})
                } else {
                    json!({"id": v})
                };
                json!({"type": m, m.as_str(): media})
            }
            Kind::UrlSuffix => json!({"type": "text", "text": v}),
            Kind::CouponCode => json!({"type": "coupon_code", "coupon_code": v}),
        };
        if let Some(n) = &s.name {
            p["parameter_name"] = json!(n);
        }
        match s.part {
            Part::Header => header.push(p),
            Part::Body => body.push(p),
            Part::Button(i) => buttons.push(json!({
                "type": "button",
                "sub_type": if s.kind == Kind::CouponCode { "copy_code" } else { "url" },
                "index": i.to_string(),
                "parameters": [p],
            })),
        }
    }
    let mut out = Vec::new();
    if !header.is_empty() {
        out.push(json!({"type": "header", "parameters": header}));
    }
    if !body.is_empty() {
        out.push(json!({"type": "body", "parameters": body}));
    }
    out.extend(buttons);
    Value::Array(out)
}

#[cfg(test)]
mod tests;
