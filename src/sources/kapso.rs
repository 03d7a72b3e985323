//! Kapso.ai: templates through its Meta proxy (`/meta/whatsapp/{ver}/{waba}/message_templates`)
//! and WABA discovery through its Platform API (`/platform/v1/whatsapp/phone_numbers`), both
//! authenticated with `X-API-Key`.

use std::collections::BTreeSet;

use reqwest::Url;
use serde::Deserialize;

use super::graph::{self, PagingStyle};
use super::http::Upstream;
use super::{ListFilter, SourceError, TemplatePage, TemplateSource};
use crate::config::AccountConfig;
use crate::domain::RemoteTemplate;

/// A Kapso account.
pub struct KapsoSource {
    base: String,
    version: String,
    waba_id: Option<String>,
    phone_number_ids: Vec<String>,
    page_size: u32,
    upstream: Upstream,
}

#[derive(Deserialize)]
struct PhoneNumbers {
    data: Vec<PhoneNumber>,
    #[serde(default)]
    meta: Option<PageMeta>,
}

#[derive(Deserialize)]
struct PhoneNumber {
    #[serde(default)]
    phone_number_id: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    business_account_id: Option<String>,
}

#[derive(Deserialize)]
struct PageMeta {
    #[serde(default)]
    total_pages: Option<u32>,
}

impl KapsoSource {
    /// Builds the source for a Kapso account.
    pub fn new(account: &AccountConfig, page_size: u32, upstream: Upstream) -> Self {
        KapsoSource {
            base: account.base_url.clone(),
            version: account.graph_version.clone(),
            waba_id: account.waba_id.clone(),
            phone_number_ids: account.phone_number_ids.clone(),
            page_size,
            upstream,
        }
    }

    fn proxy_url(&self, path: &str) -> Result<Url, SourceError> {
        Url::parse(&format!(
            "{}/meta/whatsapp/{}/{}",
            self.base, self.version, path
        ))
        .map_err(|e| SourceError::Shape(format!("bad URL: {e}")))
    }

    /// The WABAs behind this project's phone numbers (restricted to the configured numbers,
    /// if any), from the Platform API's page-numbered listing.
    async fn discover(&self) -> Result<Vec<String>, SourceError> {
        Ok(self
            .numbers()
            .await?
            .into_iter()
            .map(|(_, w)| w)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect())
    }

    /// The phone numbers to pull message history for: the configured ones, else all of the
    /// project's.
    pub async fn phone_numbers(&self) -> Result<Vec<String>, SourceError> {
        if !self.phone_number_ids.is_empty() {
            return Ok(self.phone_number_ids.clone());
        }
        Ok(self.numbers().await?.into_iter().map(|(p, _)| p).collect())
    }

    /// One page of a phone number's outbound messages created at or after `since`.
    pub async fn message_page(
        &self,
        phone_number_id: &str,
        since: i64,
        after: Option<&str>,
    ) -> Result<(Vec<serde_json::Value>, Option<String>), SourceError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            data: Vec<serde_json::Value>,
            #[serde(default)]
            paging: Option<serde_json::Value>,
        }
        let mut url = self.proxy_url(&format!("{phone_number_id}/messages"))?;
        url.query_pairs_mut()
            .append_pair("direction", "outbound")
            .append_pair("fields", "kapso(default)")
            .append_pair("limit", "100")
            .append_pair("since", &crate::clock::rfc3339(since));
        if let Some(a) = after {
            url.query_pairs_mut().append_pair("after", a);
        }
        let page: Page = self.upstream.get(url).await?;
        let next = page
            .paging
            .as_ref()
            .and_then(|p| p.pointer("/cursors/after"))
            .and_then(|a| a.as_str())
            .filter(|a| !a.is_empty() && Some(*a) != after && !page.data.is_empty())
            .map(str::to_string);
        Ok((page.data, next))
    }

    /// (phone_number_id, WABA) of the project's numbers, restricted to the configured ones.
    pub async fn numbers(&self) -> Result<Vec<(String, String)>, SourceError> {
        let mut found = Vec::new();
        let mut page = 1u32;
        loop {
            let mut url = Url::parse(&format!("{}/platform/v1/whatsapp/phone_numbers", self.base))
                .map_err(|e| SourceError::Shape(format!("bad URL: {e}")))?;
            url.query_pairs_mut()
                .append_pair("page", &page.to_string())
                .append_pair("per_page", "100");
            let body = self.upstream.get_json(url).await?;
            let numbers: PhoneNumbers = serde_json::from_value(body)
                .map_err(|e| SourceError::Shape(format!("phone numbers: {e}")))?;
            let empty = numbers.data.is_empty();
            for n in numbers.data {
                let pnid = n.phone_number_id.or(n.id).unwrap_or_default();
                if !self.phone_number_ids.is_empty() && !self.phone_number_ids.contains(&pnid) {
                    continue;
                }
                if let Some(w) = n.business_account_id.filter(|w| !w.is_empty()) {
                    found.push((pnid, w));
                }
            }
            let total = numbers.meta.and_then(|m| m.total_pages).unwrap_or(1);
            if empty || page >= total {
                break;
            }
            page += 1;
        }
        Ok(found)
    }
}

impl TemplateSource for KapsoSource {
    async fn wabas(&self) -> Result<Vec<String>, SourceError> {
        match &self.waba_id {
            Some(w) => Ok(vec![w.clone()]),
            None => self.discover().await,
        }
    }

    async fn list_page(
        &self,
        waba: &str,
        filter: &ListFilter,
        after: Option<&str>,
    ) -> Result<TemplatePage, SourceError> {
        let url = self.proxy_url(&format!("{waba}/message_templates"))?;
        let style = PagingStyle::AfterCursor;
        graph::fetch_page(
            &self.upstream,
            url,
            waba,
            self.page_size,
            filter,
            after,
            style,
        )
        .await
    }

    async fn get_template(
        &self,
        waba: &str,
        id: &str,
    ) -> Result<Option<RemoteTemplate>, SourceError> {
        let url = self.proxy_url(&format!("{waba}/message_templates/{id}"))?;
        graph::fetch_template(&self.upstream, url, waba).await
    }

    fn requests(&self) -> u32 {
        self.upstream.requests()
    }
}
