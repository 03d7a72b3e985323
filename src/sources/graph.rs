//! Graph-shaped template listings, which Meta serves and Kapso's proxy passes through: the wire
//! structs, their mapping into domain types, and cursor paging.

use reqwest::Url;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::http::Upstream;
use super::{ListFilter, SourceError, TemplatePage};
use crate::domain::{Category, Quality, RemoteTemplate, TemplateStatus};

/// The fields asked for on every template.
pub const TEMPLATE_FIELDS: &str = "id,name,language,status,category,previous_category,\
correct_category,sub_category,parameter_format,components,quality_score,rejected_reason";

/// Meta's REST ids are strings; its webhooks send the same ids as integers.
#[derive(Deserialize)]
#[serde(untagged)]
enum WireId {
    Text(String),
    Number(u64),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum WireQuality {
    Object { score: String },
    Text(String),
}

#[derive(Deserialize)]
struct WireTemplate {
    id: WireId,
    name: String,
    language: String,
    status: String,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    previous_category: Option<String>,
    #[serde(default)]
    correct_category: Option<String>,
    #[serde(default)]
    sub_category: Option<String>,
    #[serde(default)]
    parameter_format: Option<String>,
    #[serde(default)]
    components: Option<serde_json::Value>,
    #[serde(default)]
    quality_score: Option<WireQuality>,
    #[serde(default)]
    rejected_reason: Option<String>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// Maps one template object; the error says which field was wrong.
pub fn parse_template(waba: &str, value: serde_json::Value) -> Result<RemoteTemplate, String> {
    map_template(
        waba,
        serde_json::from_value(value).map_err(|e| e.to_string())?,
    )
}

/// Maps one template from its raw JSON text.
fn parse_raw_template(waba: &str, raw: &RawValue) -> Result<RemoteTemplate, String> {
    map_template(
        waba,
        serde_json::from_str(raw.get()).map_err(|e| e.to_string())?,
    )
}

fn map_template(waba: &str, w: WireTemplate) -> Result<RemoteTemplate, String> {
    let id = match w.id {
        WireId::Text(s) if !s.is_empty() => s,
        WireId::Number(n) => n.to_string(),
        WireId::Text(_) => return Err("empty `id`".into()),
    };
    if w.name.is_empty() || w.language.is_empty() || w.status.is_empty() {
        return Err("empty `name`, `language` or `status`".into());
    }
    Ok(RemoteTemplate {
        waba_id: waba.to_string(),
        id,
        name: w.name,
        language: w.language,
        category: Category::parse(w.category.as_deref().unwrap_or("UNKNOWN")),
        previous_category: non_empty(w.previous_category).map(|c| Category::parse(&c)),
        correct_category: non_empty(w.correct_category).map(|c| Category::parse(&c)),
        sub_category: non_empty(w.sub_category),
        status: TemplateStatus::parse(&w.status),
        quality: w.quality_score.map(|q| match q {
            WireQuality::Object { score } | WireQuality::Text(score) => Quality::parse(&score),
        }),
        rejected_reason: non_empty(w.rejected_reason).filter(|r| r != "NONE"),
        parameter_format: non_empty(w.parameter_format),
        components: w
            .components
            .unwrap_or_else(|| serde_json::Value::Array(vec![])),
    })
}

/// Whether more pages follow, by the source's convention.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PagingStyle {
    /// Meta: `paging.next` is present on every page but the last.
    NextLink,
    /// Kapso's proxy: passes Graph's paging through, `next` on every page but the last; a
    /// proxy that sends no `next` is followed by its `after` cursor until an empty page or
    /// `after: null`. `linked`: an earlier page of this listing carried `next`.
    AfterCursor { linked: bool },
}

/// A page whose records stay raw until each is parsed on its own, so one bad record cannot
/// spoil the page.
#[derive(Deserialize)]
pub(crate) struct Page {
    data: Vec<Box<RawValue>>,
    #[serde(default)]
    paging: Option<Paging>,
}

#[derive(Deserialize)]
struct Paging {
    #[serde(default)]
    cursors: Option<Cursors>,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct Cursors {
    #[serde(default)]
    after: Option<String>,
}

/// Fetches one page of the listing at `url` (a `.../message_templates` URL). The next page's
/// URL is built from our own parameters and the `after` cursor rather than by following
/// `paging.next`: Meta's `next` links embed the access token, which must never reach a log.
pub async fn fetch_page(
    upstream: &Upstream,
    url: Url,
    waba: &str,
    page_size: u32,
    filter: &ListFilter,
    after: Option<&str>,
    style: PagingStyle,
) -> Result<TemplatePage, SourceError> {
    let mut url = url;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("fields", TEMPLATE_FIELDS)
            .append_pair("limit", &page_size.to_string());
        if !filter.statuses.is_empty() {
            q.append_pair("status", &filter.statuses.join(","));
        }
        if let Some(a) = after {
            q.append_pair("after", a);
        }
    }
    let page: Page = upstream.get(url).await.map_err(|e| match e {
        SourceError::Shape(m) => SourceError::Shape(format!("template page: {m}")),
        other => other,
    })?;
    read_page(page, waba, after, style)
}

/// Reads one fetched page: each record on its own, then where the listing goes next.
pub(crate) fn read_page(
    page: Page,
    waba: &str,
    after: Option<&str>,
    style: PagingStyle,
) -> Result<TemplatePage, SourceError> {
    let count = page.data.len();
    let mut out = TemplatePage::default();
    for raw in page.data {
        match parse_raw_template(waba, &raw) {
            Ok(t) => out.templates.push(t),
            Err(e) => {
                let id = record_id(&raw);
                let hint = id.clone().unwrap_or_else(|| "?".into());
                tracing::warn!(waba, record = %hint, "skipped a malformed template record: {e}");
                match id {
                    Some(id) => out.malformed.push(id),
                    None => out.unidentified += 1,
                }
            }
        }
    }
    out.linked = page.paging.as_ref().is_some_and(|p| p.next.is_some());
    out.next = next_cursor(page.paging, count, after, style).map_err(|why| {
        SourceError::Shape(format!(
            "the template listing of WABA {waba} cannot be completed: {why}"
        ))
    })?;
    Ok(out)
}

/// The id of a record that did not parse, when it can still be read.
fn record_id(raw: &RawValue) -> Option<String> {
    #[derive(Deserialize)]
    struct JustId {
        id: WireId,
    }
    match serde_json::from_str::<JustId>(raw.get()).ok()?.id {
        WireId::Text(s) if !s.trim().is_empty() => Some(s),
        WireId::Number(n) => Some(n.to_string()),
        WireId::Text(_) => None,
    }
}

/// The cursor of the next page, `None` at the end; an error when upstream says more follow but
/// gives no cursor that moves (following it would repeat a page forever, and stopping would
/// pass an unfinished listing off as complete).
fn next_cursor(
    paging: Option<Paging>,
    count: usize,
    after: Option<&str>,
    style: PagingStyle,
) -> Result<Option<String>, String> {
    let Some(paging) = paging else {
        return Ok(None);
    };
    let next_after = paging
        .cursors
        .and_then(|c| c.after)
        .filter(|a| !a.is_empty());
    let more = match style {
        PagingStyle::NextLink => paging.next.is_some(),
        // [I] A proxy that never sends `next` is followed by its cursor until a page comes
        // back empty; one that does ends, like Graph, on the page without it.
        PagingStyle::AfterCursor { linked } => {
            paging.next.is_some() || (!linked && next_after.is_some() && count > 0)
        }
    };
    match next_after {
        _ if !more => Ok(None),
        None => Err("`paging.next` says more pages follow, but there is no `after` cursor".into()),
        Some(a) if Some(a.as_str()) == after => {
            Err("`paging.next` says more pages follow, but the `after` cursor did not move".into())
        }
        Some(a) => Ok(Some(a)),
    }
}

/// One template by its URL (`{id}` on Meta, `{waba}/message_templates/{id}` through Kapso's
/// proxy); `None` when upstream says it does not exist (404, or Graph error 100).
pub async fn fetch_template(
    upstream: &Upstream,
    mut url: Url,
    waba: &str,
) -> Result<Option<RemoteTemplate>, SourceError> {
    url.query_pairs_mut().append_pair("fields", TEMPLATE_FIELDS);
    match upstream.get_json(url).await {
        Ok(v) => parse_template(waba, v)
            .map(Some)
            .map_err(SourceError::Shape),
        Err(SourceError::Upstream(e)) if e.status == 404 || e.code == Some(100) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_meta_template() {
        let t = parse_template(
            "1",
            json!({"id": "99", "name": "order", "language": "en_US", "status": "APPROVED",
                   "category": "UTILITY", "quality_score": {"score": "GREEN", "date": 1},
                   "rejected_reason": "NONE", "components": [{"type": "BODY", "text": "hi"}]}),
        )
        .unwrap();
        assert_eq!(t.status, TemplateStatus::Approved);
        assert_eq!(t.quality, Some(Quality::Green));
        assert_eq!(t.rejected_reason, None);
    }

    #[test]
    fn integer_ids_and_unknown_statuses_are_accepted() {
        let t = parse_template(
            "1",
            json!({"id": 1689556908129832u64, "name": "x", "language": "en", "status": "FLAGGED"}),
        )
        .unwrap();
        assert_eq!(t.id, "1689556908129832");
        assert_eq!(t.status.as_str(), "FLAGGED");
        assert_eq!(t.category.as_str(), "UNKNOWN");
    }

    fn paging(v: serde_json::Value) -> Option<Paging> {
        Some(serde_json::from_value(v).unwrap())
    }

    #[test]
    fn an_absent_next_ends_a_meta_listing_even_with_an_after_cursor() {
        let p = paging(json!({"cursors": {"before": "A", "after": "B"}}));
        assert_eq!(next_cursor(p, 100, None, PagingStyle::NextLink), Ok(None));
        let p = paging(json!({"cursors": {"after": "B"}, "next": "https://x/?after=B"}));
        assert_eq!(
            next_cursor(p, 100, None, PagingStyle::NextLink),
            Ok(Some("B".into()))
        );
    }

    #[test]
    fn kapso_without_next_links_is_followed_until_an_empty_page_or_a_null_cursor() {
        let unlinked = PagingStyle::AfterCursor { linked: false };
        let p = paging(json!({"cursors": {"before": "A", "after": null}}));
        assert_eq!(next_cursor(p, 100, Some("A"), unlinked), Ok(None));
        // A short page is no proof of the end without `next` links: follow it.
        let p = paging(json!({"cursors": {"after": "B"}}));
        assert_eq!(
            next_cursor(p, 40, Some("A"), unlinked),
            Ok(Some("B".into()))
        );
        let p = paging(json!({"cursors": {"after": "C"}}));
        assert_eq!(next_cursor(p, 0, Some("B"), unlinked), Ok(None));
        // A proxy that sent `next` before ends, like Graph, on the page without it.
        let linked = PagingStyle::AfterCursor { linked: true };
        let p = paging(json!({"cursors": {"after": "B"}}));
        assert_eq!(next_cursor(p, 100, Some("A"), linked), Ok(None));
    }

    #[test]
    fn more_pages_without_a_moving_cursor_is_an_error_not_the_end() {
        for style in [
            PagingStyle::NextLink,
            PagingStyle::AfterCursor { linked: false },
        ] {
            let stuck = paging(json!({"cursors": {"after": "A"}, "next": "https://x"}));
            let err = next_cursor(stuck, 100, Some("A"), style).unwrap_err();
            assert!(err.contains("did not move"), "{err}");
            let none = paging(json!({"cursors": {"after": null}, "next": "https://x"}));
            let err = next_cursor(none, 100, Some("A"), style).unwrap_err();
            assert!(err.contains("no `after` cursor"), "{err}");
        }
    }

    #[test]
    fn malformed_record_is_an_error() {
        assert!(parse_template("1", json!({"id": "1", "name": 5})).is_err());
        assert!(parse_template("1", json!({"id": "1", "name": "x", "language": "en"})).is_err());
    }
}
