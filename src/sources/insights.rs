//! What templar reads about usage: Meta's template analytics and the WABA's currency, Kapso's
//! message history, and (Kapso) a customer's conversations for the 24-hour window.

use serde::Deserialize;
use serde_json::Value;

use super::client::Graph;
use super::writes::digits;
use super::SourceError;

/// One template's figures for one day, from `template_analytics`.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyticsPoint {
    pub template_id: String,
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    /// Every button click (`url_button`, `quick_reply_button`, ...).
    pub clicked: i64,
    /// Distinct people who clicked a URL button (`unique_url_button`), not part of `clicked`.
    pub unique_clicked: i64,
    pub cost: f64,
    /// The product the sends went through, as asked ([`ANALYTICS_PRODUCTS`]).
    pub product: &'static str,
    /// Clicks per (type, button text), where Meta names the button.
    pub buttons: Vec<(String, String, i64)>,
}

/// The products whose template sends Meta reports apart: without `product_type`,
/// `template_analytics` answers for the Cloud API only. [I] The second value's spelling
/// (Meta's generated SDK says `MARKETING_MESSAGES_LITE_API`).
pub const ANALYTICS_PRODUCTS: [&str; 2] = ["CLOUD_API", "MARKETING_MESSAGES_API_FOR_WHATSAPP"];

#[derive(serde::Deserialize)]
pub(crate) struct AnalyticsBody {
    #[serde(default)]
    data: Vec<AnalyticsSeries>,
    #[serde(default)]
    paging: Option<AnalyticsPaging>,
}

#[derive(serde::Deserialize)]
pub(crate) struct AnalyticsPaging {
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    cursors: Option<AnalyticsCursors>,
}

#[derive(serde::Deserialize)]
struct AnalyticsCursors {
    #[serde(default)]
    after: Option<String>,
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
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    count: i64,
    /// The button's text, e.g. "Track order".
    #[serde(default)]
    button_content: Option<String>,
}

/// Clicks per (type, button text), for the entries that name their button.
fn per_button(counts: &[WireCount]) -> Vec<(String, String, i64)> {
    counts
        .iter()
        .filter_map(|c| {
            let button = c.button_content.as_deref()?.trim();
            (!button.is_empty())
                .then(|| (c.kind.clone(), crate::text::excerpt(button, 80), c.count))
        })
        .collect()
}

/// (total clicks, unique URL clicks): Meta reports distinct clickers as their own types
/// (`unique_url_button`), which must not be added to the total.
fn clicks(counts: &[WireCount]) -> (i64, i64) {
    counts.iter().fold((0, 0), |(total, unique), c| {
        if c.kind.starts_with("unique_") {
            (total, unique + c.count)
        } else {
            (total + c.count, unique)
        }
    })
}

#[derive(serde::Deserialize)]
struct WireCost {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    value: f64,
}

/// One analytics page's points and its paging.
pub(crate) fn read_analytics(
    body: AnalyticsBody,
    product: &'static str,
) -> (Vec<AnalyticsPoint>, Option<AnalyticsPaging>) {
    let points = body
        .data
        .into_iter()
        .flat_map(|s| s.data_points)
        .map(|p| {
            let (clicked, unique_clicked) = clicks(&p.clicked);
            let buttons = per_button(&p.clicked);
            AnalyticsPoint {
                buttons,
                template_id: crate::ingest::id_of(&p.template_id).unwrap_or_default(),
                day: crate::ingest::day_of(p.start),
                sent: p.sent,
                delivered: p.delivered,
                read: p.read,
                clicked,
                unique_clicked,
                cost: p
                    .cost
                    .iter()
                    .filter(|c| c.kind == "amount_spent")
                    .map(|c| c.value)
                    .sum(),
                product,
            }
        })
        .collect();
    (points, body.paging)
}

/// Meta refuses more template ids than this in one `template_analytics` call.
pub const ANALYTICS_MAX_IDS: usize = 10;

impl Graph {
    /// The WABA's currency (Meta reports cost in it).
    pub async fn currency(&self, waba: &str) -> Result<Option<String>, SourceError> {
        let mut url = self.url(waba)?;
        url.query_pairs_mut().append_pair("fields", "currency");
        let v = self.upstream.get_json(url).await?;
        Ok(v.get("currency")
            .and_then(|c| c.as_str())
            .map(str::to_string))
    }

    /// Daily figures for up to ten templates between two `YYYY-MM-DD` days (end exclusive),
    /// for one of [`ANALYTICS_PRODUCTS`], every page.
    pub async fn template_analytics(
        &self,
        waba: &str,
        ids: &[String],
        start: &str,
        end: &str,
        product: &'static str,
    ) -> Result<Vec<AnalyticsPoint>, SourceError> {
        if ids.is_empty() || ids.len() > ANALYTICS_MAX_IDS {
            return Err(SourceError::Shape(format!(
                "{} template ids; 1 to 10 per call",
                ids.len()
            )));
        }
        let mut points = Vec::new();
        let mut after: Option<String> = None;
        let mut followed = std::collections::HashSet::new();
        loop {
            let mut url = self.url(&format!("{waba}/template_analytics"))?;
            url.query_pairs_mut()
                .append_pair("start", start)
                .append_pair("end", end)
                .append_pair("granularity", "DAILY")
                .append_pair("product_type", product)
                .append_pair(
                    "metric_types",
                    r#"["SENT","DELIVERED","READ","CLICKED","COST"]"#,
                )
                .append_pair("template_ids", &format!("[{}]", ids.join(",")));
            if let Some(a) = &after {
                url.query_pairs_mut().append_pair("after", a);
            }
            let body: AnalyticsBody = self.upstream.get(url).await?;
            let (page, paging) = read_analytics(body, product);
            points.extend(page);
            // Graph's rule: more pages while `paging.next` is present.
            let paging = paging.filter(|p| p.next.is_some());
            let Some(next) = paging.and_then(|p| p.cursors).and_then(|c| c.after) else {
                return Ok(points);
            };
            if !followed.insert(next.clone()) {
                return Err(SourceError::Shape(format!(
                    "template analytics of WABA {waba}: the paging cursor came back to a page already read"
                )));
            }
            after = Some(next);
        }
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
        let mut url = self.url(&format!("{phone_number_id}/messages"))?;
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

    /// When the customer last wrote, from Kapso's conversation record (`None` for Meta, which
    /// keeps no such record: there templar's own webhook data is all there is).
    pub async fn last_inbound(
        &self,
        phone_number_id: &str,
        wa_id: &str,
    ) -> Result<Option<i64>, SourceError> {
        // Kapso's conversations are looked up by phone number; a business-scoped user id
        // relies on templar's own record.
        if !self.dialect.keeps_conversations() || crate::domain::bsuid(wa_id).is_some() {
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
