//! The one upstream client: Meta's Graph API, reached directly or through Kapso's proxy, for
//! every call templar makes (templates listed, fetched, created, edited and deleted; messages
//! sent; analytics, message history and conversations read). How the two sources differ lives
//! in [`super::dialect`]; the calls here are written once.

use std::collections::BTreeSet;

use reqwest::Url;
use serde::Deserialize;

use super::dialect::Dialect;
use super::graph;
use super::http::{RetryPolicy, Upstream};
use super::{ListFilter, SourceError, TemplatePage};
use crate::config::{AccountConfig, SyncConfig};
use crate::domain::RemoteTemplate;

/// An account's upstream.
pub struct Graph {
    pub(super) dialect: Dialect,
    pub(super) account: AccountConfig,
    page_size: u32,
    pub(super) upstream: Upstream,
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

impl Graph {
    /// The client of a configured account.
    pub fn for_account(
        account: &AccountConfig,
        sync: &SyncConfig,
        client: reqwest::Client,
    ) -> Self {
        let dialect = Dialect(account.source);
        let auth = dialect.auth(account.credential.clone());
        Graph {
            dialect,
            account: account.clone(),
            page_size: sync.page_size,
            upstream: Upstream::new(client, auth, RetryPolicy::from(sync)),
        }
    }

    /// A Graph URL under this source's root.
    pub(super) fn url(&self, path: &str) -> Result<Url, SourceError> {
        let root = self
            .dialect
            .graph_root(&self.account.base_url, &self.account.graph_version);
        Url::parse(&format!("{root}/{path}"))
            .map_err(|e| SourceError::Shape(format!("bad URL: {e}")))
    }

    /// Every page of a Graph list: `url(after)` builds a page's address (`None` for the first).
    /// More pages follow while `paging.next` is present; a cursor that comes back is an error
    /// naming `what`.
    pub(super) async fn pages(
        &self,
        what: &str,
        url: impl Fn(Option<&str>) -> Result<Url, SourceError>,
    ) -> Result<Vec<serde_json::Value>, SourceError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        loop {
            let body = self.upstream.get_json(url(after.as_deref())?).await?;
            let next = body.pointer("/paging/next").is_some();
            let cursor = body
                .pointer("/paging/cursors/after")
                .and_then(serde_json::Value::as_str)
                .map(str::to_string);
            out.push(body);
            match cursor.filter(|_| next) {
                Some(c) if seen.insert(c.clone()) => after = Some(c),
                Some(_) => {
                    return Err(SourceError::Shape(format!(
                        "{what}: the paging cursor came back to a page already read"
                    )))
                }
                None => return Ok(out),
            }
        }
    }

    /// HTTP requests made so far.
    pub fn requests(&self) -> u32 {
        self.upstream.requests()
    }

    /// The WABAs this account covers: the configured one, else those of its phone numbers.
    pub async fn wabas(&self) -> Result<Vec<String>, SourceError> {
        match (&self.account.waba_id, self.dialect.discovers_numbers()) {
            (Some(w), _) => Ok(vec![w.clone()]),
            (None, true) => Ok(self
                .numbers()
                .await?
                .into_iter()
                .map(|(_, w)| w)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()),
            (None, false) => Ok(vec![]),
        }
    }

    /// The account's one WABA; an error naming the choice when it has none or several.
    pub async fn waba(&self) -> Result<String, SourceError> {
        let wabas = self.wabas().await?;
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

    /// The account's phone number ids: the configured ones, else (Kapso) those it has.
    pub async fn phone_numbers(&self) -> Result<Vec<String>, SourceError> {
        if !self.account.phone_number_ids.is_empty() || !self.dialect.discovers_numbers() {
            return Ok(self.account.phone_number_ids.clone());
        }
        Ok(self.numbers().await?.into_iter().map(|(p, _)| p).collect())
    }

    /// (phone number id, WABA) of every number Kapso's Platform API lists for this key,
    /// limited to the configured numbers when there are any.
    async fn numbers(&self) -> Result<Vec<(String, String)>, SourceError> {
        let configured = &self.account.phone_number_ids;
        let mut found = Vec::new();
        let mut page = 1u32;
        loop {
            let mut url = Url::parse(&format!(
                "{}/platform/v1/whatsapp/phone_numbers",
                self.account.base_url
            ))
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
                if !configured.is_empty() && !configured.contains(&pnid) {
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

    /// One page of the templates of `waba` matching `filter`: the first when `after` is
    /// `None`, else the one after that cursor. `linked`: an earlier page of this listing
    /// carried a `next` link ([`TemplatePage::linked`]).
    pub async fn list_page(
        &self,
        waba: &str,
        filter: &ListFilter,
        after: Option<&str>,
        linked: bool,
    ) -> Result<TemplatePage, SourceError> {
        let url = self.url(&format!("{waba}/message_templates"))?;
        let style = self.dialect.paging(linked);
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

    /// Every template of `waba`, all pages.
    pub async fn list_all(&self, waba: &str) -> Result<Vec<RemoteTemplate>, SourceError> {
        let mut out = Vec::new();
        let (mut after, mut linked) = (None::<String>, false);
        loop {
            let page = self
                .list_page(waba, &ListFilter::default(), after.as_deref(), linked)
                .await?;
            linked |= page.linked;
            out.extend(page.templates);
            match page.next {
                Some(n) => after = Some(n),
                None => return Ok(out),
            }
        }
    }

    /// One template by id; `Ok(None)` when upstream says it does not exist.
    pub async fn get_template(
        &self,
        waba: &str,
        id: &str,
    ) -> Result<Option<RemoteTemplate>, SourceError> {
        let url = self.url(&self.dialect.template_path(waba, id))?;
        graph::fetch_template(&self.upstream, url, waba).await
    }
}
