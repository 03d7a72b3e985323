//! Meta's Template Library: `GET /message_template_library` (filters: search, topic, usecase,
//! industry, language, name), pre-written templates a business creates with
//! `library_template_name` and its button inputs.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::Graph;
use super::SourceError;

/// What to look for; empty fields are left out.
#[derive(Debug, Clone, Default)]
pub struct LibraryQuery {
    pub search: Option<String>,
    pub topic: Option<String>,
    pub usecase: Option<String>,
    pub industry: Option<String>,
    pub language: Option<String>,
    pub name: Option<String>,
}

/// A button of a library template.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct LibraryButton {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

/// A library template, with the fields Meta names.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct LibraryTemplate {
    pub name: String,
    #[serde(default)]
    pub language: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub topic: Option<String>,
    #[serde(default)]
    pub usecase: Option<String>,
    #[serde(default)]
    pub industry: Vec<String>,
    #[serde(default)]
    pub header: Option<String>,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub body_params: Vec<String>,
    #[serde(default)]
    pub buttons: Vec<LibraryButton>,
}

impl LibraryTemplate {
    /// The button types that need an input when creating from it (URL, PHONE_NUMBER).
    pub fn needs_inputs(&self) -> Vec<&str> {
        self.buttons
            .iter()
            .map(|b| b.kind.as_str())
            .filter(|k| matches!(*k, "URL" | "PHONE_NUMBER"))
            .collect()
    }
}

impl Graph {
    /// Library templates matching `q`, every page. [I] The list comes as Graph's
    /// `{data, paging}`; a single object is read as a list of one.
    pub async fn library(&self, q: &LibraryQuery) -> Result<Vec<LibraryTemplate>, SourceError> {
        let pages = self
            .pages("the template library", |after| {
                let mut url = self.url("message_template_library")?;
                let mut pairs = url.query_pairs_mut();
                for (k, v) in [
                    ("search", &q.search),
                    ("topic", &q.topic),
                    ("usecase", &q.usecase),
                    ("industry", &q.industry),
                    ("language", &q.language),
                    ("name", &q.name),
                ] {
                    if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                        pairs.append_pair(k, v);
                    }
                }
                if let Some(a) = after {
                    pairs.append_pair("after", a);
                }
                drop(pairs);
                Ok(url)
            })
            .await?;
        let mut out = Vec::new();
        for body in pages {
            let items: Vec<Value> = match body.get("data") {
                Some(Value::Array(a)) => a.clone(),
                _ if body.get("name").is_some() => vec![body.clone()],
                _ => return Err(SourceError::Shape("template library: no data".into())),
            };
            for item in items {
                match serde_json::from_value::<LibraryTemplate>(item) {
                    Ok(t) => out.push(t),
                    Err(e) => tracing::warn!("a library template did not read: {e}"),
                }
            }
        }
        Ok(out)
    }
}
