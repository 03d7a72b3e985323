//! Templates as files: a definition is the JSON body of Meta's
//! `POST /{waba}/message_templates` (name, language, category, parameter_format, components),
//! checked here for what Meta's review rejects on format before it is submitted, with errors
//! that name the line and column. [`plan`] keeps a folder of them in step with accounts.

pub mod plan;
pub mod spans;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use spans::Spans;

mod checks;
use checks::*;

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

pub(crate) fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

pub(crate) fn valid_language(s: &str) -> bool {
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
mod tests;
