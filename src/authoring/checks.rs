//! The checks of a definition's components, as Meta makes them: header, body, footer, buttons,
//! placeholders and their examples.

use serde_json::{Map, Value};

use super::*;
use crate::send::params::placeholders;

pub(crate) fn check_components(c: &mut Checker<'_>, comps: &[Value], named: bool, category: &str) {
    let mut seen: Vec<String> = Vec::new();
    for (i, comp) in comps.iter().enumerate() {
        let here = format!("/components/{i}");
        let Some(o) = comp.as_object() else {
            c.at(&here, "each component is an object with a `type`");
            continue;
        };
        let kind = str_of(o, "type").unwrap_or_default().to_ascii_uppercase();
        if seen.contains(&kind) {
            c.at(
                &format!("{here}/type"),
                format!("a second {kind}; a template has at most one"),
            );
            continue;
        }
        seen.push(kind.clone());
        match kind.as_str() {
            "HEADER" => check_header(c, &here, o, named),
            "BODY" => check_body(c, &here, o, named, category),
            "FOOTER" => check_footer(c, &here, o, category),
            "BUTTONS" => check_buttons(c, &here, o),
            "" => c.at(
                &here,
                "the component has no `type` (HEADER, BODY, FOOTER or BUTTONS)",
            ),
            other => c.at(
                &format!("{here}/type"),
                format!("`{other}` is not a component type: use HEADER, BODY, FOOTER or BUTTONS"),
            ),
        }
    }
    if !seen.iter().any(|k| k == "BODY") {
        c.at(
            "/components",
            "there is no BODY component; every template needs one",
        );
    }
}

/// Checks a text's placeholders against the parameter format; returns them.
pub(crate) fn check_placeholders(
    c: &mut Checker<'_>,
    at: &str,
    text: &str,
    named: bool,
) -> Vec<String> {
    let found = placeholders(text);
    let numeric: Vec<&String> = found
        .iter()
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty())
        .collect();
    if named {
        if let Some(p) = numeric.first() {
            c.at(at, format!("{{{{{p}}}}} is positional but parameter_format is NAMED; use names like {{{{first_name}}}}"));
        }
        for p in &found {
            if !numeric.contains(&p) && !valid_name(p) {
                c.at(at, format!("{{{{{p}}}}} is not a valid parameter name: lower-case letters, digits and underscores"));
            }
        }
    } else {
        if let Some(p) = found.iter().find(|p| !numeric.contains(p)) {
            c.at(at, format!(
                "{{{{{p}}}}} is named but parameter_format is POSITIONAL (the default); set \"parameter_format\": \"NAMED\" or use {{{{1}}}}, {{{{2}}}}, ..."
            ));
        } else {
            let mut nums: Vec<u32> = numeric.iter().filter_map(|p| p.parse().ok()).collect();
            nums.sort_unstable();
            for (i, n) in nums.iter().enumerate() {
                let want = i as u32 + 1;
                if *n != want {
                    c.at(at, format!(
                        "placeholders must be numbered {{{{1}}}}, {{{{2}}}}, ... without gaps; {{{{{n}}}}} is where {{{{{want}}}}} should be"
                    ));
                    break;
                }
            }
        }
    }
    found
}

/// Checks `example.<field>` for positional (`[[..]]` or `[..]`) or named examples.
pub(crate) fn check_examples(
    c: &mut Checker<'_>,
    here: &str,
    o: &Map<String, Value>,
    found: &[String],
    named: bool,
    part: &str,
) {
    if found.is_empty() {
        return;
    }
    if named {
        let field = format!("{part}_text_named_params");
        let at = format!("{here}/example/{field}");
        let Some(list) = o
            .get("example")
            .and_then(|e| e.get(&field))
            .and_then(Value::as_array)
        else {
            c.at(
                here,
                format!(
                "example.{field} is missing: Meta's review needs a sample for every parameter ({})",
                found.join(", ")
            ),
            );
            return;
        };
        for p in found {
            let has = list.iter().any(|e| {
                e.get("param_name").and_then(Value::as_str) == Some(p.as_str())
                    && e.get("example")
                        .and_then(Value::as_str)
                        .is_some_and(|x| !x.trim().is_empty())
            });
            if !has {
                c.at(&at, format!("no example for {{{{{p}}}}}"));
            }
        }
        for (i, e) in list.iter().enumerate() {
            if let Some(n) = e.get("param_name").and_then(Value::as_str) {
                if !found.iter().any(|p| p == n) {
                    c.at(
                        &format!("{at}/{i}"),
                        format!("an example for {{{{{n}}}}}, which the text does not use"),
                    );
                }
            }
        }
    } else {
        let field = format!("{part}_text");
        let at = format!("{here}/example/{field}");
        let values = o.get("example").and_then(|e| e.get(&field)).and_then(|v| {
            // BODY takes [[..]], HEADER takes [..].
            match v.as_array()?.first() {
                Some(Value::Array(inner)) => Some(inner.clone()),
                _ => v.as_array().cloned(),
            }
        });
        match values {
            None => c.at(
                here,
                format!(
                    "example.{field} is missing: Meta's review needs a sample for {}",
                    if found.len() == 1 {
                        "its parameter".to_string()
                    } else {
                        format!("each of its {} parameters", found.len())
                    }
                ),
            ),
            Some(v) if v.len() != found.len() => c.at(
                &at,
                format!(
                    "{} example{} for {} parameter{}",
                    v.len(),
                    if v.len() == 1 { "" } else { "s" },
                    found.len(),
                    if found.len() == 1 { "" } else { "s" }
                ),
            ),
            Some(v) => {
                if v.iter()
                    .any(|x| x.as_str().is_none_or(|s| s.trim().is_empty()))
                {
                    c.at(&at, "every example must be non-empty text");
                }
            }
        }
    }
}

pub(crate) fn check_header(c: &mut Checker<'_>, here: &str, o: &Map<String, Value>, named: bool) {
    let format = str_of(o, "format").unwrap_or_default().to_ascii_uppercase();
    match format.as_str() {
        "TEXT" => {
            let Some(text) = str_of(o, "text") else {
                c.at(here, "a TEXT header needs `text`");
                return;
            };
            let at = format!("{here}/text");
            if text.chars().count() > HEADER_MAX {
                c.at(
                    &at,
                    format!(
                        "the header is {} characters; at most {HEADER_MAX}",
                        text.chars().count()
                    ),
                );
            }
            let found = check_placeholders(c, &at, text, named);
            if found.len() > 1 {
                c.at(&at, "a header takes at most one parameter");
            }
            check_examples(c, here, o, &found, named, "header");
        }
        "IMAGE" | "VIDEO" | "DOCUMENT" => {
            let has = o
                .get("example")
                .and_then(|e| e.get("header_handle"))
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty());
            if !has {
                c.at(here, format!(
                    "a {format} header needs example.header_handle: a sample uploaded with Meta's resumable upload API"
                ));
            }
        }
        "LOCATION" => {}
        "" => c.at(
            here,
            "the header has no `format` (TEXT, IMAGE, VIDEO, DOCUMENT or LOCATION)",
        ),
        other => c.at(
            &format!("{here}/format"),
            format!(
                "`{other}` is not a header format: use TEXT, IMAGE, VIDEO, DOCUMENT or LOCATION"
            ),
        ),
    }
}

pub(crate) fn check_body(
    c: &mut Checker<'_>,
    here: &str,
    o: &Map<String, Value>,
    named: bool,
    category: &str,
) {
    let Some(text) = str_of(o, "text") else {
        // Authentication templates may use Meta's preset text instead.
        if category != "AUTHENTICATION" {
            c.at(here, "the BODY needs `text`");
        }
        return;
    };
    let at = format!("{here}/text");
    if text.trim().is_empty() {
        c.at(&at, "the body is empty");
        return;
    }
    if text.chars().count() > BODY_MAX {
        c.at(
            &at,
            format!(
                "the body is {} characters; at most {BODY_MAX}",
                text.chars().count()
            ),
        );
    }
    let found = check_placeholders(c, &at, text, named);
    let trimmed = text.trim();
    if !found.is_empty() && (trimmed.starts_with("{{") || trimmed.ends_with("}}")) {
        c.at(&at, "the body starts or ends with a parameter, which Meta's review rejects; put text before and after it");
    }
    check_examples(c, here, o, &found, named, "body");
}

pub(crate) fn check_footer(
    c: &mut Checker<'_>,
    here: &str,
    o: &Map<String, Value>,
    category: &str,
) {
    let Some(text) = str_of(o, "text") else {
        if category != "AUTHENTICATION" {
            c.at(here, "the FOOTER needs `text`");
        }
        return;
    };
    let at = format!("{here}/text");
    if text.chars().count() > FOOTER_MAX {
        c.at(
            &at,
            format!(
                "the footer is {} characters; at most {FOOTER_MAX}",
                text.chars().count()
            ),
        );
    }
    if !placeholders(text).is_empty() {
        c.at(&at, "a footer cannot have parameters");
    }
}

pub(crate) fn check_buttons(c: &mut Checker<'_>, here: &str, o: &Map<String, Value>) {
    let Some(buttons) = o.get("buttons").and_then(Value::as_array) else {
        c.at(here, "BUTTONS needs a `buttons` array");
        return;
    };
    let at_list = format!("{here}/buttons");
    if buttons.is_empty() || buttons.len() > BUTTONS_MAX {
        c.at(
            &at_list,
            format!(
                "{} buttons; a template has 1 to {BUTTONS_MAX}",
                buttons.len()
            ),
        );
    }
    let mut kinds: Vec<String> = Vec::new();
    for (i, b) in buttons.iter().enumerate() {
        let bh = format!("{at_list}/{i}");
        let kind = b
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_uppercase();
        if !BUTTON_TYPES.contains(&kind.as_str()) {
            c.at(
                &bh,
                format!(
                    "`{kind}` is not a button type: use {}",
                    BUTTON_TYPES.join(", ")
                ),
            );
            continue;
        }
        let text = b.get("text").and_then(Value::as_str);
        let needs_text = !matches!(
            kind.as_str(),
            "COPY_CODE" | "OTP" | "CATALOG" | "MPM" | "SPM"
        );
        match text {
            None if needs_text => c.at(&bh, "the button needs `text`"),
            Some(t) if t.chars().count() > BUTTON_TEXT_MAX => c.at(
                &format!("{bh}/text"),
                format!(
                    "button text is {} characters; at most {BUTTON_TEXT_MAX}",
                    t.chars().count()
                ),
            ),
            Some(t) if !placeholders(t).is_empty() => {
                c.at(&format!("{bh}/text"), "button text cannot have parameters")
            }
            _ => {}
        }
        match kind.as_str() {
            "URL" => match b.get("url").and_then(Value::as_str) {
                None => c.at(&bh, "a URL button needs `url`"),
                Some(url) => {
                    let ua = format!("{bh}/url");
                    if !(url.starts_with("https://") || url.starts_with("http://")) {
                        c.at(&ua, "the URL must start with https:// (or http://)");
                    }
                    if url.chars().count() > URL_MAX {
                        c.at(
                            &ua,
                            format!(
                                "the URL is {} characters; at most {URL_MAX}",
                                url.chars().count()
                            ),
                        );
                    }
                    let found = placeholders(url);
                    if found.len() > 1 || found.first().is_some_and(|p| p != "1") {
                        c.at(&ua, "a URL takes at most one parameter, {{1}}");
                    } else if !found.is_empty() {
                        if !url.trim_end().ends_with("{{1}}") {
                            c.at(&ua, "the URL's parameter must come at its end");
                        }
                        let has_example = b
                            .get("example")
                            .and_then(|e| e.as_array().and_then(|a| a.first()).or(Some(e)))
                            .and_then(Value::as_str)
                            .is_some_and(|e| !e.trim().is_empty());
                        if !has_example {
                            c.at(&bh, "a URL with {{1}} needs an `example`: the full URL with a sample filled in");
                        }
                    }
                }
            },
            "PHONE_NUMBER" => match b.get("phone_number").and_then(Value::as_str) {
                None => c.at(&bh, "a PHONE_NUMBER button needs `phone_number`"),
                Some(p) if p.chars().count() > 20 => c.at(
                    &format!("{bh}/phone_number"),
                    "a phone number has at most 20 characters",
                ),
                _ => {}
            },
            "COPY_CODE" => {
                let ok = b.get("example").is_some_and(|e| {
                    e.as_str().is_some_and(|s| !s.is_empty())
                        || e.as_array().is_some_and(|a| !a.is_empty())
                });
                if !ok {
                    c.at(&bh, "a COPY_CODE button needs an `example` code");
                }
            }
            _ => {}
        }
        kinds.push(kind);
    }
    let count = |k: &str| kinds.iter().filter(|x| x.as_str() == k).count();
    if count("URL") > 2 {
        c.at(&at_list, "at most 2 URL buttons");
    }
    if count("PHONE_NUMBER") > 1 {
        c.at(&at_list, "at most 1 PHONE_NUMBER button");
    }
    if count("COPY_CODE") > 1 {
        c.at(&at_list, "at most 1 COPY_CODE button");
    }
    // Quick replies must sit together, before or after the other buttons.
    let groups = kinds
        .windows(2)
        .filter(|w| (w[0] == "QUICK_REPLY") != (w[1] == "QUICK_REPLY"))
        .count();
    if groups > 1 {
        c.at(
            &at_list,
            "quick-reply buttons must be grouped together, before or after the other buttons",
        );
    }
}
