//! The typed query strings and forms of the dashboard's handlers. Every field is text as sent
//! (empty means absent) and each handler reads it through a method that says what it means, so
//! a page keeps every other piece of state in its links without a map of whatever was sent.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::db::models::templates::ListQuery;

/// What the dashboard's pages share: the period, the template filters, the list's order and
/// page. Unknown parameters are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PageQuery {
    pub days: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub account: Option<String>,
    pub status: Option<String>,
    pub category: Option<String>,
    pub language: Option<String>,
    pub quality: Option<String>,
    /// A substring of the template's name.
    pub q: Option<String>,
    /// A template group's id (Meta's).
    pub group: Option<String>,
    pub sort: Option<String>,
    pub dir: Option<String>,
    pub page: Option<String>,
    /// Which sync runs the account page lists: `full` (and failures; the default), `pending`,
    /// `failed` or `all`.
    pub runs: Option<String>,
    /// A message left by the form that led here (`web/flash.rs`).
    pub flash: Option<String>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl PageQuery {
    /// `days`, `from` and `to`, as given.
    pub fn period(&self) -> (Option<&str>, Option<&str>, Option<&str>) {
        (
            self.days.as_deref(),
            self.from.as_deref(),
            self.to.as_deref(),
        )
    }

    /// The account filter, if any.
    pub fn account(&self) -> Option<&str> {
        given(&self.account)
    }

    /// The template filters, by name, as a user set them (empty ones left out).
    pub fn filters(&self) -> BTreeMap<String, String> {
        [
            ("account", &self.account),
            ("status", &self.status),
            ("category", &self.category),
            ("language", &self.language),
            ("quality", &self.quality),
            ("q", &self.q),
            ("group", &self.group),
        ]
        .into_iter()
        .filter_map(|(k, v)| given(v).map(|v| (k.to_string(), v.to_string())))
        .collect()
    }

    /// The filters as a database query; `status=DELETED` asks for deleted templates.
    pub fn list_query(&self) -> ListQuery {
        let get = |v: &Option<String>| given(v).map(str::to_string);
        let deleted = given(&self.status).is_some_and(|s| s.eq_ignore_ascii_case("DELETED"));
        ListQuery {
            account: get(&self.account),
            status: get(&self.status).filter(|_| !deleted),
            category: get(&self.category),
            language: get(&self.language),
            quality: get(&self.quality),
            // Template names are short; a longer search is cut rather than handed to LIKE.
            name_contains: get(&self.q).map(|q| q.chars().take(200).collect()),
            include_deleted: deleted,
            only_deleted: deleted,
            group: get(&self.group),
        }
    }

    /// Everything but the period and the page, encoded for a link to this page with another
    /// period.
    pub fn keep(&self) -> String {
        let pairs = self.kept();
        encode(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// Everything but the period and the page, as pairs (hidden fields of the period form).
    pub fn kept(&self) -> Vec<(String, String)> {
        let mut pairs = self.filters();
        for (k, v) in [
            ("sort", &self.sort),
            ("dir", &self.dir),
            ("runs", &self.runs),
        ] {
            if let Some(v) = given(v) {
                pairs.insert(k.to_string(), v.to_string());
            }
        }
        pairs.into_iter().collect()
    }
}

/// `/export.csv` and `/export.json`: a page's filters and period, plus what to export.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ExportQuery {
    #[serde(flatten)]
    pub page: PageQuery,
    /// `day`, `week`, `month` or `template` (the default).
    pub by: Option<String>,
    pub template_id: Option<String>,
}

impl ExportQuery {
    /// `by`, if given.
    pub fn by(&self) -> Option<&str> {
        given(&self.by)
    }

    /// One template by Meta's id, if asked for.
    pub fn template_id(&self) -> Option<String> {
        given(&self.template_id).map(str::to_string)
    }
}

/// Meta's subscription handshake (`GET /webhooks/meta`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct VerifyQuery {
    #[serde(rename = "hub.mode")]
    pub mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    pub verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    pub challenge: Option<String>,
}

/// The Send test form: the CSRF token, the recipient, and `p0`, `p1`, … in the order of the
/// template's parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SendForm {
    pub csrf: String,
    pub to: String,
    #[serde(flatten)]
    pub params: BTreeMap<String, String>,
}

impl SendForm {
    /// The `i`-th parameter, trimmed, if the form has it.
    pub fn param(&self, i: usize) -> Option<String> {
        self.params
            .get(&format!("p{i}"))
            .map(|v| v.trim().to_string())
    }
}

/// `key=value&…`, percent-encoded as a form would be.
pub fn encode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// One value percent-encoded for a query string or a path's query.
pub fn encode_value(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

#[cfg(test)]
mod tests;
