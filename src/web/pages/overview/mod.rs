//! `/`: per account, templates by status and sync health; what needs attention now; the latest
//! events; totals for the last 7 and 30 days and the chosen period.

use crate::db::Conn;
use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse};
use axum::Json;
use diesel::prelude::*;
use serde::Serialize;

mod lists;

pub use lists::{Attention, AttentionCounts};

use super::{layout, Layout};
use crate::clock;
use crate::db::models::attention;
use crate::db::models::sync_runs::{self, SyncRun};
use crate::db::models::{accounts, usage};
use crate::report::{self, Period, Scope, Totals};
use crate::web::error::{ApiError, WebError};
use crate::web::fmt;
use crate::web::query::PageQuery;
use crate::web::AppState;

/// One account's card.
#[derive(Debug, Clone, Serialize)]
pub struct AccountCard {
    pub name: String,
    pub source: String,
    pub statuses: Vec<(String, i64)>,
    pub total: i64,
    pub last_success: Option<String>,
    pub data_age: Option<String>,
    pub failures_in_a_row: u32,
    pub last_error: Option<String>,
    /// Records the latest run could not read, when it succeeded otherwise.
    pub partial: Option<i32>,
    pub analytics: Option<String>,
}

/// One history entry in the feed.
#[derive(Debug, Clone, Serialize)]
pub struct FeedItem {
    pub at: String,
    pub ago: String,
    pub id: String,
    pub account: String,
    pub name: String,
    pub language: String,
    pub field: String,
    pub from: Option<String>,
    pub to: String,
    pub source: String,
}

/// The overview.
#[derive(Debug, Clone, Serialize, Template)]
#[template(path = "overview.html")]
pub struct Overview {
    pub layout: Layout,
    pub accounts: Vec<AccountCard>,
    pub pending: Vec<Attention>,
    pub rejected: Vec<Attention>,
    pub paused: Vec<Attention>,
    pub disabled: Vec<Attention>,
    pub quality: Vec<Attention>,
    pub category: Vec<Attention>,
    /// Delivery anomalies of the last 24 hours.
    pub anomalies: Vec<Attention>,
    pub feed: Vec<FeedItem>,
    pub last7: Totals,
    pub last30: Totals,
    pub period_totals: Totals,
    /// The period of the same length just before the chosen one, for the changes shown.
    pub previous_totals: Totals,
    /// How many templates each attention list holds in all (the lists show the first 10).
    pub attention_counts: AttentionCounts,
    /// The currency costs are in (`USD`), or why there is none.
    pub currency: String,
    #[serde(skip)]
    pub chart: String,
}

/// One KPI of the strip: label, value, and the change against the previous period.
pub struct Kpi {
    pub label: &'static str,
    pub value: String,
    pub change: Option<String>,
}

fn build(conn: &mut Conn, state: &AppState, mut layout: Layout, now: i64) -> QueryResult<Overview> {
    layout.live = Some(super::live_url(
        crate::db::models::events::newest_id(conn)?,
        None,
    ));
    let today = layout.period.to;
    let cards = account_cards(conn, state, now)?;
    let lists = lists::build(conn, now)?;

    let feed_rows = attention::feed(conn, 20)?;
    let feed = feed_rows
        .into_iter()
        .map(|f| FeedItem {
            at: fmt::when(f.at),
            ago: fmt::ago(now, f.at),
            id: f.template_id,
            account: f.account,
            name: f.name,
            language: f.language,
            field: f.field,
            from: f.from,
            to: f.to,
            source: f.source,
        })
        .collect();

    // One daily aggregate over the widest window needed; the 7- and 30-day totals and the
    // period's chart are cut from it rather than scanned for again.
    let all = Scope::default();
    let last30 = Period::last(today, 30);
    let previous = layout.period.previous();
    let wide = Period {
        from: layout.period.from.min(last30.from).min(previous.from),
        to: layout.period.to.max(today),
    };
    let days = report::daily(conn, &all, &wide)?;
    let sum = |p: &Period| {
        let (from, to) = (p.from_s(), p.to_s());
        days.iter().filter(|(d, _)| *d >= from && *d <= to).fold(
            Totals::default(),
            |mut acc, (_, t)| {
                acc.add(t);
                acc
            },
        )
    };
    let last7 = sum(&Period::last(today, 7));
    let last30 = sum(&last30);
    let (pf, pt) = (layout.period.from_s(), layout.period.to_s());
    let series: Vec<(String, Totals)> = days
        .iter()
        .filter(|(d, _)| *d >= pf && *d <= pt)
        .cloned()
        .collect();
    let period_totals = sum(&layout.period);
    let previous_totals = sum(&previous);
    let currency = fmt::currency(&usage::currencies(conn)?, None);
    let chart = daily_chart(&series);
    Ok(Overview {
        layout,
        accounts: cards,
        pending: lists.pending,
        rejected: lists.rejected,
        paused: lists.paused,
        disabled: lists.disabled,
        quality: lists.quality,
        category: lists.category,
        anomalies: lists.anomalies,
        feed,
        last7,
        last30,
        period_totals,
        previous_totals,
        attention_counts: lists.counts,
        currency,
        chart,
    })
}

/// Per configured account: templates by status, sync health, analytics state.
fn account_cards(conn: &mut Conn, state: &AppState, now: i64) -> QueryResult<Vec<AccountCard>> {
    let mut cards = Vec::new();
    for acc in &state.config.accounts {
        let id = accounts::find_id(conn, &acc.name)?;
        let (mut statuses, mut total, mut runs, mut analytics) =
            (Vec::new(), 0, Vec::<SyncRun>::new(), None);
        if let Some(id) = id {
            let counts = attention::status_counts(conn, id)?;
            total = counts.iter().map(|c| c.1).sum();
            statuses = counts;
            statuses.sort_by_key(|x| std::cmp::Reverse(x.1));
            runs = sync_runs::recent(conn, id, 50)?;
            analytics = usage::analytics_state(conn, id)?.map(|s| s.0);
        }
        let last_success = runs
            .iter()
            .find(|r| r.error.is_none() && r.kind == "full")
            .map(|r| r.finished_at);
        cards.push(AccountCard {
            name: acc.name.clone(),
            source: acc.source.as_str().into(),
            statuses,
            total,
            last_success: last_success.map(fmt::when),
            data_age: last_success.map(|s| fmt::ago(now, s)),
            failures_in_a_row: runs.iter().take_while(|r| r.error.is_some()).count() as u32,
            last_error: runs.first().and_then(|r| r.error.clone()),
            // The latest full run says it: a pending check reads too little to clear it.
            partial: runs
                .iter()
                .find(|r| r.kind == "full")
                .filter(|r| r.error.is_none() && r.skipped > 0)
                .map(|r| r.skipped),
            analytics,
        });
    }
    Ok(cards)
}

/// Sent, delivered, read and failed per day, with its legend; a sentence on a quiet period.
pub fn daily_chart(series: &[(String, Totals)]) -> String {
    marked_chart(series, &[])
}

/// [`daily_chart`] with labelled marks on days (a template's content versions).
pub fn marked_chart(series: &[(String, Totals)], marks: &[(usize, String)]) -> String {
    use crate::web::charts::{marked, Scale, Series};
    let days: Vec<String> = series.iter().map(|(d, _)| d.clone()).collect();
    let pick = |f: fn(&Totals) -> i64| {
        series
            .iter()
            .map(|(_, t)| Some(f(t) as f64))
            .collect::<Vec<_>>()
    };
    marked(
        &days,
        &[
            Series {
                label: "sent",
                class: "s1",
                values: pick(|t| t.sent),
            },
            Series {
                label: "delivered",
                class: "s2",
                values: pick(|t| t.delivered),
            },
            Series {
                label: "read",
                class: "s3",
                values: pick(|t| t.read),
            },
            Series {
                label: "failed",
                class: "s4",
                values: pick(|t| t.failed),
            },
        ],
        Scale::Count,
        "No messages in this period.",
        marks,
    )
}

async fn load(state: &AppState, q: PageQuery) -> Result<Overview, WebError> {
    let layout = layout(state, "Overview", "overview", &q)?;
    let st = state.clone();
    let now = clock::now().timestamp();
    Ok(state.db.run(move |c| build(c, &st, layout, now)).await?)
}

pub async fn page(
    State(state): State<AppState>,
    Query(q): Query<PageQuery>,
) -> Result<impl IntoResponse, WebError> {
    Ok(Html(load(&state, q).await?.render()?))
}

pub async fn api(
    State(state): State<AppState>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Overview>, ApiError> {
    Ok(Json(load(&state, q).await?))
}

/// Statuses as (status, count, css class), for the cards.
pub fn status_badges(statuses: &[(String, i64)]) -> Vec<(String, i64, &'static str)> {
    let mut m: BTreeMap<String, i64> = BTreeMap::new();
    for (s, n) in statuses {
        *m.entry(s.clone()).or_default() += n;
    }
    let mut v: Vec<_> = m
        .into_iter()
        .map(|(s, n)| {
            let c = fmt::status_class(&s);
            (s, n, c)
        })
        .collect();
    // One order on every row, so the same status is in the same place for every account.
    v.sort_by_key(|(s, _, _)| (status_rank(s), s.clone()));
    v
}

/// The badge order: what can be sent, what waits, what went wrong, what is gone.
fn status_rank(status: &str) -> usize {
    const ORDER: [&str; 9] = [
        "APPROVED",
        "PENDING",
        "IN_APPEAL",
        "REJECTED",
        "PAUSED",
        "DISABLED",
        "LIMIT_EXCEEDED",
        "PENDING_DELETION",
        "ARCHIVED",
    ];
    ORDER
        .iter()
        .position(|s| *s == status)
        .unwrap_or(ORDER.len())
}

impl Overview {
    fn badges(&self, card: &AccountCard) -> Vec<(String, i64, &'static str)> {
        status_badges(&card.statuses)
    }

    /// Each attention list: title, how many in all, the first few, and where to see them all.
    fn sections(&self) -> Vec<(&'static str, i64, &[Attention], String)> {
        let c = &self.attention_counts;
        let period = self.layout.period_query();
        let all = |filter: &str| format!("/templates?{filter}&{period}");
        vec![
            (
                "Pending longest",
                c.pending,
                &self.pending,
                all("status=PENDING"),
            ),
            (
                "Rejected",
                c.rejected,
                &self.rejected,
                all("status=REJECTED"),
            ),
            ("Paused", c.paused, &self.paused, all("status=PAUSED")),
            (
                "Disabled",
                c.disabled,
                &self.disabled,
                all("status=DISABLED"),
            ),
            (
                "Quality YELLOW or RED",
                c.quality,
                &self.quality,
                all("quality=YELLOW%2CRED"),
            ),
            (
                "Category changes (7 days)",
                c.category,
                &self.category,
                all("sort=changed&dir=desc"),
            ),
            (
                "Delivery anomalies (24 h)",
                c.anomalies,
                &self.anomalies,
                String::new(),
            ),
        ]
    }

    fn previous_days(&self) -> i64 {
        (self.layout.period.to - self.layout.period.from).num_days() + 1
    }

    /// The period's figures with their change against the previous period of the same length.
    fn kpis(&self) -> Vec<Kpi> {
        let (t, p) = (&self.period_totals, &self.previous_totals);
        let count = |label, now: i64, before: i64| Kpi {
            label,
            value: fmt::int(now),
            change: fmt::change(now as f64, before as f64),
        };
        vec![
            count("Sent", t.sent, p.sent),
            count("Delivered", t.delivered, p.delivered),
            count("Read", t.read, p.read),
            count("Failed", t.failed, p.failed),
            Kpi {
                label: "Delivery rate",
                value: fmt::pct(t.delivery_rate()),
                change: fmt::change_pp(t.delivery_rate(), p.delivery_rate()),
            },
            Kpi {
                label: "Read rate",
                value: fmt::pct(t.read_rate()),
                change: fmt::change_pp(t.read_rate(), p.read_rate()),
            },
            Kpi {
                label: "Cost",
                value: format!(
                    "{} {}",
                    fmt::money(t.cost),
                    fmt::Show::cost_label(t, &self.currency)
                ),
                change: fmt::change(t.cost, p.cost),
            },
        ]
    }

    fn analytics(&self, a: &AccountCard) -> String {
        fmt::analytics(&a.source, a.analytics.as_deref())
    }

    fn sclass(&self, s: &str) -> &'static str {
        fmt::status_class(s)
    }

    fn qclass(&self, q: &str) -> &'static str {
        fmt::quality_class(q)
    }
}
