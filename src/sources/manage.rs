//! Calls that change things upstream, on Meta's Graph API or Kapso's proxy (same bodies, other
//! paths and authentication): sending messages, creating, editing and deleting templates, and
//! Kapso's conversation record of when a customer last wrote.

use reqwest::{Method, Url};
use serde::Deserialize;
use serde_json::Value;

use super::http::{Auth, RetryPolicy, Upstream};
use super::{ListFilter, Source, SourceError, TemplateSource};
use crate::config::{AccountConfig, SyncConfig};
use crate::domain::{RemoteTemplate, SourceKind};

/// One account's write access.
pub struct Manage {
    kind: SourceKind,
    base: String,
    version: String,
    upstream: Upstream,
    /// The same account's read side, for listings and discovery.
    pub source: Source,
    account: AccountConfig,
}

/// What a send returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// The `wamid`.
    pub message_id: String,
    /// `accepted`, `held_for_quality_assessment` or `paused` for templates; absent for text.
    pub message_status: Option<String>,
    /// The WhatsApp id the number resolved to (may differ from the input).
    pub wa_id: Option<String>,
}

/// What a template creation returned.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Created {
    pub id: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
}

impl Manage {
    /// For a configured account.
    pub fn for_account(
        account: &AccountConfig,
        sync: &SyncConfig,
        client: reqwest::Client,
    ) -> Self {
        let auth = match account.source {
            SourceKind::Meta => Auth::Bearer(account.credential.clone()),
            SourceKind::Kapso => Auth::ApiKey(account.credential.clone()),
        };
        Manage {
            kind: account.source,
            base: account.base_url.clone(),
            version: account.graph_version.clone(),
            upstream: Upstream::new(client.clone(), auth, RetryPolicy::from(sync)),
            source: Source::for_account(account, sync, client),
            account: account.clone(),
        }
    }

    fn url(&self, path: &str) -> Result<Url, SourceError> {
        let url = match self.kind {
            SourceKind::Meta => format!("{}/{}/{}", self.base, self.version, path),
            SourceKind::Kapso => format!("{}/meta/whatsapp/{}/{}", self.base, self.version, path),
        };
        Url::parse(&url).map_err(|e| SourceError::Shape(format!("bad URL: {e}")))
    }

    /// The account's phone numbers: the configured ones, else (Kapso) the discovered ones.
    pub async fn phone_numbers(&self) -> Result<Vec<String>, SourceError> {
        match &self.source {
            Source::Kapso(k) => k.phone_numbers().await,
            Source::Meta(_) => Ok(self.account.phone_number_ids.clone()),
        }
    }

    /// The WABA templates are created in: the configured one, else the single discovered one.
    pub async fn waba(&self) -> Result<String, SourceError> {
        let wabas = self.source.wabas().await?;
        match wabas.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(SourceError::Shape(format!(
                "account {} has no WABA; set waba_id",
                self.account.name
            ))),
            many => Err(SourceError::Shape(format!(
                "account {} covers {} WABAs ({}); set waba_id to choose one",
                self.account.name,
                many.len(),
                many.join(", ")
            ))),
        }
    }

    /// Every live template of `waba`, straight from upstream.
    pub async fn list_all(&self, waba: &str) -> Result<Vec<RemoteTemplate>, SourceError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .source
                .list_page(waba, &ListFilter::default(), after.as_deref())
                .await?;
            out.extend(page.templates);
            match page.next {
                Some(n) => after = Some(n),
                None => return Ok(out),
            }
        }
    }

    /// `POST /{phone_number_id}/messages`.
    pub async fn send(&self, phone_number_id: &str, body: &Value) -> Result<Accepted, SourceError> {
        let url = self.url(&format!("{phone_number_id}/messages"))?;
        let v = self.upstream.call(Method::POST, url, Some(body)).await?;
        let first = v.pointer("/messages/0");
        let message_id = first
            .and_then(|m| m.get("id"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                SourceError::Unknown(format!(
                    "upstream answered without a message id; the message may have been sent: {}",
                    truncate(&v.to_string(), 200)
                ))
            })?
            .to_string();
        Ok(Accepted {
            message_id,
            message_status: first
                .and_then(|m| m.get("message_status"))
                .and_then(Value::as_str)
                .map(str::to_string),
            wa_id: v
                .pointer("/contacts/0/wa_id")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }

    /// `POST /{waba}/message_templates`.
    pub async fn create_template(&self, waba: &str, def: &Value) -> Result<Created, SourceError> {
        let url = self.url(&format!("{waba}/message_templates"))?;
        let v = self.upstream.call(Method::POST, url, Some(def)).await?;
        let id = crate::ingest::id_of(v.get("id").unwrap_or(&Value::Null)).ok_or_else(|| {
            SourceError::Unknown(format!(
                "upstream answered without a template id; it may have been created: {}",
                truncate(&v.to_string(), 200)
            ))
        })?;
        Ok(Created {
            id,
            status: v.get("status").and_then(Value::as_str).map(str::to_string),
            category: v
                .get("category")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }

    /// Edits a template: Meta's `POST /{template_id}`, Kapso's
    /// `POST /{waba}/message_templates?hsm_id={id}`.
    pub async fn edit_template(
        &self,
        waba: &str,
        id: &str,
        body: &Value,
    ) -> Result<(), SourceError> {
        let url = match self.kind {
            SourceKind::Meta => self.url(id)?,
            SourceKind::Kapso => {
                let mut u = self.url(&format!("{waba}/message_templates"))?;
                u.query_pairs_mut().append_pair("hsm_id", id);
                u
            }
        };
        self.upstream.call(Method::POST, url, Some(body)).await?;
        Ok(())
    }

    /// `DELETE /{waba}/message_templates?name=…&hsm_id=…`: this language only.
    pub async fn delete_template(
        &self,
        waba: &str,
        name: &str,
        id: &str,
    ) -> Result<(), SourceError> {
        let mut url = self.url(&format!("{waba}/message_templates"))?;
        url.query_pairs_mut()
            .append_pair("name", name)
            .append_pair("hsm_id", id);
        self.upstream.call(Method::DELETE, url, None).await?;
        Ok(())
    }

    /// When the customer last wrote, from Kapso's conversation record (`None` for Meta, which
    /// keeps no such record: there templar's own webhook data is all there is).
    pub async fn last_inbound(
        &self,
        phone_number_id: &str,
        wa_id: &str,
    ) -> Result<Option<i64>, SourceError> {
        if self.kind != SourceKind::Kapso {
            return Ok(None);
        }
        let mut url = self.url(&format!("{phone_number_id}/conversations"))?;
        url.query_pairs_mut()
            .append_pair("phone_number", wa_id)
            .append_pair("limit", "20");
        let v = self.upstream.get_json(url).await?;
        let latest = v
            .get("data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|c| {
                c.get("phone_number")
                    .and_then(Value::as_str)
                    .is_some_and(|p| digits(p) == wa_id)
            })
            .filter_map(|c| c.pointer("/kapso/last_inbound_at").and_then(Value::as_str))
            .filter_map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp())
            .max();
        Ok(latest)
    }
}

/// The digits of a phone number: `+1 (555) 010-2030` becomes `15550102030`.
pub fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

fn truncate(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
