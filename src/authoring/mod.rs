//! Templates as files: a definition is the JSON body of Meta's
//! `POST /{waba}/message_templates` (name, language, category, parameter_format, components),
//! checked here for what Meta's review rejects on format before it is submitted, with errors
//! that name the line and column. [`plan`] keeps a folder of them in step with accounts.

pub mod plan;
pub mod spans;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::send::params::placeholders;
use spans::Spans;

/// A definition that passed every check.
#[derive(Debug, Clone)]
pub struct Definition {
    pub file: PathBuf,
    pub name: String,
    pub language: String,
    /// Upper case.
    pub category: String,
    /// `NAMED` or `POSITIONAL`.
    pub parameter_format: String,
    pub components: Value,
    /// The body to submit.
    pub body: Value,
}

/// One problem in a definition file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    /// Where in the document, e.g. `components[1].text`.
    pub path: String,
    pub message: String,
}

/// Everything wrong with one file.
#[derive(Debug, Clone)]
pub struct Invalid {
    pub file: PathBuf,
    pub problems: Vec<Problem>,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(
                f,
                "{}:{}:{}: {}{}",
                self.file.display(),
                p.line,
                p.column,
                if p.path.is_empty() {
                    String::new()
                } else {
                    format!("{}: ", p.path)
                },
                p.message
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for Invalid {}

const FIELDS: &[&str] = &[
    "name",
    "language",
    "category",
    "parameter_format",
    "components",
    "allow_category_change",
    "sub_category",
    "message_send_ttl_seconds",
    "cta_url_link_tracking_opted_out",
];
const CATEGORIES: &[&str] = &["MARKETING", "UTILITY", "AUTHENTICATION"];
const BUTTON_TYPES: &[&str] = &[
    "QUICK_REPLY",
    "URL",
    "PHONE_NUMBER",
    "COPY_CODE",
    "OTP",
    "FLOW",
    "CATALOG",
    "MPM",
    "VOICE_CALL",
    "SPM",
];

/// Limits from Meta's template documentation.
const NAME_MAX: usize = 512;
const HEADER_MAX: usize = 60;
const BODY_MAX: usize = 1024;
const FOOTER_MAX: usize = 60;
const BUTTON_TEXT_MAX: usize = 25;
const URL_MAX: usize = 2000;
const BUTTONS_MAX: usize = 10;

struct Checker<'a> {
    spans: &'a Spans,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn at(&mut self, pointer: &str, message: impl Into<String>) {
        let (line, column) = self.spans.find(pointer);
        self.problems.push(Problem {
            line,
            column,
            path: readable(pointer),
            message: message.into(),
        });
    }
}

/// `/components/1/text` as `components[1].text`.
fn readable(pointer: &str) -> String {
    let mut out = String::new();
    for part in pointer.split('/').skip(1) {
        if part.bytes().all(|b| b.is_ascii_digit()) && !part.is_empty() {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&part.replace("~1", "/").replace("~0", "~"));
        }
    }
    out
}

fn str_of<'v>(o: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
    o.get(key).and_then(Value::as_str)
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn valid_language(s: &str) -> bool {
    let (lang, region) = match s.split_once('_') {
        Some((l, r)) => (l, Some(r)),
        None => (s, None),
    };
    (2..=3).contains(&lang.len())
        && lang.bytes().all(|b| b.is_ascii_lowercase())
        && region.is_none_or(|r| {
            (2..=4).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

/// Reads and checks one definition file.
pub fn load(path: &Path) -> Result<Definition, Invalid> {
    let text = std::fs::read_to_string(path).map_err(|e| Invalid {
        file: path.to_path_buf(),
        problems: vec![Problem {
            line: 1,
            column: 1,
            path: String::new(),
            message: format!("cannot read it: {e}"),
        }],
    })?;
    parse(&text, path)
}

/// Checks a definition's text; `file` only names it in errors.
pub fn parse(text: &str, file: &Path) -> Result<Definition, Invalid> {
    let invalid = |problems| Invalid {
        file: file.to_path_buf(),
        problems,
    };
    let value: Value = serde_json::from_str(text).map_err(|e| {
        invalid(vec![Problem {
            line: e.line().max(1),
            column: e.column().max(1),
            path: String::new(),
            message: format!("not valid JSON: {e}"),
        }])
    })?;
    let spans = Spans::of(text);
    let mut c = Checker {
        spans: &spans,
        problems: Vec::new(),
    };
    let Some(obj) = value.as_object() else {
        c.at(
            "",
            "a definition is one JSON object (the body of Meta's create-template call)",
        );
        return Err(invalid(c.problems));
    };
    for key in obj.keys() {
        if !FIELDS.contains(&key.as_str()) {
            c.at(
                &format!("/{key}"),
                format!(
                    "unknown field `{key}`; a definition has {}",
                    FIELDS.join(", ")
                ),
            );
        }
    }
    let name = str_of(obj, "name").unwrap_or_default().to_string();
    match obj.get("name") {
        None => c.at("", "`name` is missing"),
        Some(Value::String(n)) if !valid_name(n) => c.at(
            "/name",
            format!(
                "`{n}` is not a valid name: use lower-case letters, digits and underscores only"
            ),
        ),
        Some(Value::String(n)) if n.len() > NAME_MAX => c.at(
            "/name",
            format!("the name is {} characters; at most {NAME_MAX}", n.len()),
        ),
        Some(Value::String(_)) => {}
        Some(_) => c.at("/name", "`name` must be a string"),
    }
    let language = str_of(obj, "language").unwrap_or_default().to_string();
    match obj.get("language") {
        None => c.at("", "`language` is missing (e.g. \"en_US\")"),
        Some(Value::String(l)) if !valid_language(l) => c.at(
            "/language",
            format!("`{l}` is not a language code like en, en_US or pt_BR"),
        ),
        Some(Value::String(_)) => {}
        Some(_) => c.at("/language", "`language` must be a string"),
    }
    let category = str_of(obj, "category")
        .unwrap_or_default()
        .to_ascii_uppercase();
    match obj.get("category") {
        None => c.at(
            "",
            "`category` is missing (MARKETING, UTILITY or AUTHENTICATION)",
        ),
        Some(Value::String(_)) if !CATEGORIES.contains(&category.as_str()) => c.at(
            "/category",
            format!("`{category}` is not a category: use MARKETING, UTILITY or AUTHENTICATION"),
        ),
        Some(Value::String(_)) => {}
        Some(_) => c.at("/category", "`category` must be a string"),
    }
    let format = str_of(obj, "parameter_format")
        .unwrap_or("POSITIONAL")
        .to_ascii_uppercase();
    if obj.contains_key("parameter_format") && !matches!(format.as_str(), "NAMED" | "POSITIONAL") {
        c.at(
            "/parameter_format",
            "`parameter_format` is NAMED or POSITIONAL",
        );
    }
    let named = format == "NAMED";
    match obj.get("components") {
        None => c.at("", "`components` is missing: at least a BODY"),
        Some(Value::Array(comps)) => check_components(&mut c, comps, named, &category),
        Some(_) => c.at("/components", "`components` must be an array"),
    }
    if !c.problems.is_empty() {
        c.problems.sort_by_key(|p| (p.line, p.column));
        return Err(invalid(c.problems));
    }
    let mut body = value.clone();
    body["category"] = Value::String(category.clone());
    body["parameter_format"] = Value::String(format.clone());
    Ok(Definition {
        file: file.to_path_buf(),
        name,
        language,
        category,
        parameter_format: format,
        components: value.get("components").cloned().unwrap_or(Value::Null),
        body,
    })
}

fn check_components(c: &mut Checker<'_>, comps: &[Value], named: bool, category: &str) {
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
fn check_placeholders(c: &mut Checker<'_>, at: &str, text: &str, named: bool) -> Vec<String> {
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
fn check_examples(
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

fn check_header(c: &mut Checker<'_>, here: &str, o: &Map<String, Value>, named: bool) {
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

fn check_body(
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

fn check_footer(c: &mut Checker<'_>, here: &str, o: &Map<String, Value>, category: &str) {
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

fn check_buttons(c: &mut Checker<'_>, here: &str, o: &Map<String, Value>) {
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

/// The `*.json` files of a folder (and its subfolders), sorted.
pub fn files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let p = entry?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
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
        let e = check(r#"{"name": "a", "language": "en", "category": "MARKETING", "parameter_format": "NAMED",
            "components": [{"type": "BODY", "text": "Hi {{1}} and {{name}} today",
              "example": {"body_text_named_params": [{"param_name": "name", "example": "Ana"}]}}]}"#)
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
}
