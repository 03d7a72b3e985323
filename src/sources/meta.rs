//! Meta's Graph API: `GET /{ver}/{waba}/message_templates` and `GET /{ver}/{template_id}`,
//! authenticated with a Bearer token.

use reqwest::Url;

use super::graph::{self, PagingStyle};
use super::http::Upstream;
use super::{ListFilter, SourceError, TemplatePage, TemplateSource};
use crate::config::AccountConfig;
use crate::domain::RemoteTemplate;

/// A Meta account.
pub struct MetaSource {
    base: String,
    version: String,
    waba_id: String,
    page_size: u32,
    upstream: Upstream,
}

impl MetaSource {
    /// Builds the source; `account.waba_id` is required for Meta (config validation checks).
    pub fn new(account: &AccountConfig, page_size: u32, upstream: Upstream) -> Self {
        MetaSource {
            base: account.base_url.clone(),
            version: account.graph_version.clone(),
            waba_id: account.waba_id.clone().unwrap_or_default(),
            page_size,
            upstream,
        }
    }

    fn url(&self, path: &str) -> Result<Url, SourceError> {
        Url::parse(&format!("{}/{}/{}", self.base, self.version, path))
            .map_err(|e| SourceError::Shape(format!("bad URL: {e}")))
    }
}

impl TemplateSource for MetaSource {
    async fn wabas(&self) -> Result<Vec<String>, SourceError> {
        Ok(vec![self.waba_id.clone()])
    }

    async fn list_page(
        &self,
        waba: &str,
        filter: &ListFilter,
        after: Option<&str>,
    ) -> Result<TemplatePage, SourceError> {
        let url = self.url(&format!("{waba}/message_templates"))?;
        let style = PagingStyle::NextLink;
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
        let mut url = self.url(id)?;
        url.query_pairs_mut()
            .append_pair("fields", graph::TEMPLATE_FIELDS);
        match self.upstream.get_json(url).await {
            Ok(v) => graph::parse_template(waba, v)
                .map(Some)
                .map_err(SourceError::Shape),
            Err(SourceError::Upstream(e)) if e.status == 404 || e.code == Some(100) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn requests(&self) -> u32 {
        self.upstream.requests()
    }
}
