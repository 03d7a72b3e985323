//! The dashboard's pages. Each page is one view model that renders both as HTML (askama) and as
//! its JSON mirror under `/api/`, so the two cannot disagree. Pages read the daily roll-up and
//! indexed tables only.

pub mod accounts;
pub mod analytics;
pub mod notifications;
pub mod overview;
pub mod sync;
pub mod templates;

use chrono::NaiveDate;
use serde::Serialize;

use super::error::WebError;
use super::query::PageQuery;
use crate::clock;
use crate::report::Period;

/// What every page's frame needs.
#[derive(Debug, Clone, Serialize)]
pub struct Layout {
    pub title: String,
    /// Which tab is active.
    pub nav: &'static str,
    pub period: Period,
    /// `7`, `30` or `90` when a preset is in use.
    pub preset: Option<u32>,
    /// The current query string without the period (for period links).
    #[serde(skip)]
    pub keep: String,
    /// The same, as pairs: hidden fields of the period form, so Apply keeps them.
    #[serde(skip)]
    pub kept: Vec<(String, String)>,
    #[serde(skip)]
    pub csrf: String,
    #[serde(skip)]
    pub version: &'static str,
    /// Cache-buster of the stylesheet.
    #[serde(skip)]
    pub asset: &'static str,
    /// Whether logging out makes sense.
    #[serde(skip)]
    pub login: bool,
    pub generated_at: String,
    /// What the form that led here did, shown once.
    #[serde(skip)]
    pub flash: Option<crate::web::flash::Flash>,
    /// Where the page asks whether changes came in since it was built (overview, template).
    #[serde(skip)]
    pub live: Option<String>,
}

impl Layout {
    /// Whether the period is the preset of `days` days.
    pub fn is_preset(&self, days: &u32) -> bool {
        self.preset == Some(*days)
    }

    /// A link to this page for another preset period.
    pub fn period_link(&self, days: &u32) -> String {
        if self.keep.is_empty() {
            format!("?days={days}")
        } else {
            format!("?{}&days={days}", self.keep)
        }
    }

    /// The period as hidden form fields (`days`, or `from` and `to`), so a filter form keeps
    /// a custom period exactly.
    pub fn period_fields(&self) -> Vec<(&'static str, String)> {
        match self.preset {
            Some(d) => vec![("days", d.to_string())],
            None => vec![("from", self.period.from_s()), ("to", self.period.to_s())],
        }
    }

    /// The period as query parameters (for links to other pages and exports).
    pub fn period_query(&self) -> String {
        match self.preset {
            Some(d) => format!("days={d}"),
            None => format!("from={}&to={}", self.period.from_s(), self.period.to_s()),
        }
    }
}

impl Layout {
    /// The frame of a page that has no state of its own (an error page): the last 30 days.
    pub fn plain(title: impl Into<String>) -> Layout {
        Layout {
            title: title.into(),
            nav: "",
            period: Period::last(today(), 30),
            preset: Some(30),
            keep: String::new(),
            kept: Vec::new(),
            csrf: String::new(),
            version: env!("CARGO_PKG_VERSION"),
            asset: super::asset_version(),
            login: false,
            generated_at: clock::human(clock::now().timestamp()),
            flash: None,
            live: None,
        }
    }
}

/// The UTC day of `now`.
/// `GET /api/changes?since=N[&template=ID]`: how many changes were recorded after event `N`
/// (of one template, or of all): what an open page's "N new changes — reload" asks.
#[derive(serde::Deserialize)]
pub struct ChangesQuery {
    since: i32,
    template: Option<String>,
}

pub async fn changes(
    axum::extract::State(state): axum::extract::State<super::AppState>,
    axum::extract::Query(q): axum::extract::Query<ChangesQuery>,
) -> Result<axum::Json<serde_json::Value>, super::error::ApiError> {
    use crate::db::models::events;
    let (new, newest) = state
        .db
        .run(move |c| {
            Ok((
                events::count_after(c, q.since, q.template.as_deref())?,
                events::newest_id(c)?,
            ))
        })
        .await?;
    Ok(axum::Json(
        serde_json::json!({"new": new, "newest": newest}),
    ))
}

/// The address an open page polls for changes after `newest`.
pub fn live_url(newest: i32, template: Option<&str>) -> String {
    match template {
        Some(t) => format!(
            "/api/changes?since={newest}&template={}",
            crate::web::query::encode_value(t)
        ),
        None => format!("/api/changes?since={newest}"),
    }
}

pub fn today() -> NaiveDate {
    clock::now().date_naive()
}

/// Reads the period from a page's query; a bad one is a 400 with the reason.
pub fn period(q: &PageQuery) -> Result<(Period, Option<u32>), WebError> {
    let (days, from, to) = q.period();
    let p = Period::parse(days, from, to, today()).map_err(WebError::BadRequest)?;
    let preset = match (from.filter(|s| !s.is_empty()), days) {
        (Some(_), _) => None,
        (None, Some(d)) => d.parse().ok(),
        (None, None) => Some(30),
    };
    Ok((p, preset))
}

/// Builds the frame of a page.
pub fn layout(
    state: &super::AppState,
    title: impl Into<String>,
    nav: &'static str,
    q: &PageQuery,
) -> Result<Layout, WebError> {
    let (period, preset) = period(q)?;
    let keep = q.keep();
    let kept = q.kept();
    Ok(Layout {
        title: title.into(),
        nav,
        period,
        preset,
        keep,
        kept,
        csrf: super::auth::csrf_token(state),
        version: env!("CARGO_PKG_VERSION"),
        asset: super::asset_version(),
        login: state.config.dashboard.token.is_some(),
        generated_at: clock::human(clock::now().timestamp()),
        flash: q.flash.as_deref().and_then(|id| state.flashes.take(id)),
        live: None,
    })
}
