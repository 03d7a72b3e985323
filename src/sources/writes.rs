//! What templar changes upstream: messages sent, templates created, edited and deleted. None
//! of these is retried blindly: a lost answer is reported as "may have taken effect".

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use super::client::Graph;
use super::SourceError;

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

impl Graph {
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
                    crate::text::excerpt(&v.to_string(), 200)
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
                crate::text::excerpt(&v.to_string(), 200)
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
        let (path, query) = self.dialect.edit_path(waba, id);
        let mut url = self.url(&path)?;
        if let Some((k, v)) = query {
            url.query_pairs_mut().append_pair(k, &v);
        }
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
}

/// The digits of a phone number: `+1 (555) 010-2030` becomes `15550102030`.
pub fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}
