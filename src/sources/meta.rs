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

/// One template's figures for one day, from `template_analytics`.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyticsPoint {
    pub template_id: String,
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    pub clicked: i64,
    pub cost: f64,
}

#[derive(serde::Deserialize)]
struct AnalyticsBody {
    #[serde(default)]
    data: Vec<AnalyticsSeries>,
}

#[derive(serde::Deserialize)]
struct AnalyticsSeries {
    #[serde(default)]
    data_points: Vec<WirePoint>,
}

#[derive(serde::Deserialize)]
struct WirePoint {
    template_id: serde_json::Value,
    start: i64,
    #[serde(default)]
    sent: i64,
    #[serde(default)]
    delivered: i64,
    #[serde(default)]
    read: i64,
    #[serde(default)]
    clicked: Vec<WireCount>,
    #[serde(default)]
    cost: Vec<WireCost>,
}

#[derive(serde::Deserialize)]
struct WireCount {
    #[serde(default)]
    count: i64,
}

#[derive(serde::Deserialize)]
struct WireCost {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    value: f64,
}

/// Meta refuses more template ids than this in one `template_analytics` call.
pub const ANALYTICS_MAX_IDS: usize = 10;

impl MetaSource {
    /// The WABA's currency (Meta reports cost in it).
    pub async fn currency(&self, waba: &str) -> Result<Option<String>, SourceError> {
        let mut url = self.url(waba)?;
        url.query_pairs_mut().append_pair("fields", "currency");
        let v = self.upstream.get_json(url).await?;
        Ok(v.get("currency")
            .and_then(|c| c.as_str())
            .map(str::to_string))
    }

    /// Daily figures for up to ten templates between two `YYYY-MM-DD` days (end exclusive).
    pub async fn template_analytics(
        &self,
        waba: &str,
        ids: &[String],
        start: &str,
        end: &str,
    ) -> Result<Vec<AnalyticsPoint>, SourceError> {
        if ids.is_empty() || ids.len() > ANALYTICS_MAX_IDS {
            return Err(SourceError::Shape(format!(
                "{} template ids; 1 to 10 per call",
                ids.len()
            )));
        }
        let mut url = self.url(&format!("{waba}/template_analytics"))?;
        url.query_pairs_mut()
            .append_pair("start", start)
            .append_pair("end", end)
            .append_pair("granularity", "DAILY")
            .append_pair(
                "metric_types",
                r#"["SENT","DELIVERED","READ","CLICKED","COST"]"#,
            )
            .append_pair("template_ids", &format!("[{}]", ids.join(",")));
        let body: AnalyticsBody = self.upstream.get(url).await?;
        Ok(body
            .data
            .into_iter()
            .flat_map(|s| s.data_points)
            .map(|p| AnalyticsPoint {
                template_id: crate::ingest::id_of(&p.template_id).unwrap_or_default(),
                day: crate::ingest::day_of(p.start),
                sent: p.sent,
                delivered: p.delivered,
                read: p.read,
                clicked: p.clicked.iter().map(|c| c.count).sum(),
                cost: p
                    .cost
                    .iter()
                    .filter(|c| c.kind == "amount_spent")
                    .map(|c| c.value)
                    .sum(),
            })
            .collect())
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
        let url = self.url(id)?;
        graph::fetch_template(&self.upstream, url, waba).await
    }

    fn requests(&self) -> u32 {
        self.upstream.requests()
    }
}
