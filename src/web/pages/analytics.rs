//! `/analytics`: delivery and read rates over time, top templates by volume, worst by failure
//! rate, and time to approval (median and p90) by category and language.

use crate::db::Conn;
use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse};
use axum::Json;
use serde::Serialize;

use super::{layout, Layout};
use crate::db::models::{events, templates as tpl};
use crate::report::{self, Scope, Totals};
use crate::web::charts::{lines, Scale, Series};
use crate::web::error::{ApiError, WebError};
use crate::web::fmt::{self, Show};
use crate::web::query::PageQuery;
use crate::web::AppState;

/// A template and its figures.
#[derive(Debug, Clone, Serialize)]
pub struct Ranked {
    pub id: String,
    pub account: String,
    pub name: String,
    pub language: String,
    pub usage: Totals,
}

/// Approval times of a group.
#[derive(Debug, Clone, Serialize)]
pub struct Approval {
    pub group: String,
    pub templates: usize,
    pub median_hours: f64,
    pub p90_hours: f64,
}

/// The analytics page.
#[derive(Debug, Clone, Serialize, Template)]
#[template(path = "analytics.html")]
pub struct Analytics {
    pub layout: Layout,
    pub account: Option<String>,
    pub totals: Totals,
    /// The currency costs are in, or why there is none.
    pub currency: String,
    pub top: Vec<Ranked>,
    pub worst: Vec<Ranked>,
    pub by_category: Vec<Approval>,
    pub by_language: Vec<Approval>,
    #[serde(skip)]
    pub rates_chart: String,
    #[serde(skip)]
    pub volume_chart: String,
    #[serde(skip)]
    pub accounts: Vec<String>,
}

fn quantile(sorted: &[i64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i] as f64 / 3600.0
}

fn approvals(groups: BTreeMap<String, Vec<i64>>) -> Vec<Approval> {
    groups
        .into_iter()
        .map(|(group, mut v)| {
            v.sort();
            Approval {
                group,
                templates: v.len(),
                median_hours: quantile(&v, 0.5),
                p90_hours: quantile(&v, 0.9),
            }
        })
        .collect()
}

fn build(
    conn: &mut Conn,
    state: &AppState,
    layout: Layout,
    account: Option<String>,
) -> Result<Analytics, WebError> {
    let scope = Scope {
        account: account.clone(),
        ..Default::default()
    };
    let daily = report::daily(conn, &scope, &layout.period)?;
    let totals = daily.iter().fold(Totals::default(), |mut acc, (_, x)| {
        acc.add(x);
        acc
    });
    let days: Vec<String> = daily.iter().map(|(d, _)| d.clone()).collect();
    let rates_chart = lines(
        &days,
        &[
            Series {
                label: "delivery rate",
                class: "s2",
                values: daily.iter().map(|(_, x)| x.delivery_rate()).collect(),
            },
            Series {
                label: "read rate",
                class: "s3",
                values: daily.iter().map(|(_, x)| x.read_rate()).collect(),
            },
        ],
        Scale::Rate,
        "No messages sent in this period, so no rates.",
    );
    let volume_chart = super::overview::daily_chart(&daily);

    let per = report::per_template(conn, &scope, &layout.period)?;
    // Rank first, then look up names for the twenty that are shown, not for every template.
    let mut top: Vec<(i32, Totals)> = per.iter().map(|(r, u)| (*r, *u)).collect();
    top.sort_by_key(|(r, u)| (std::cmp::Reverse(u.sent), *r));
    top.truncate(10);
    let mut worst: Vec<(i32, Totals)> = per
        .iter()
        .filter(|(_, u)| u.sent >= 20 && u.failed > 0)
        .map(|(r, u)| (*r, *u))
        .collect();
    worst.sort_by(|(r1, x), (r2, y)| {
        y.failure_rate()
            .unwrap_or(0.0)
            .total_cmp(&x.failure_rate().unwrap_or(0.0))
            .then(r1.cmp(r2))
    });
    worst.truncate(10);
    let shown: Vec<i32> = top.iter().chain(&worst).map(|(r, _)| *r).collect();
    let names: HashMap<i32, tpl::Named> = tpl::names(conn, &shown)?
        .into_iter()
        .map(|n| (n.row_id, n))
        .collect();
    let ranked = |(r, u): &(i32, Totals)| {
        names.get(r).map(|n| Ranked {
            id: n.template_id.clone(),
            account: n.account.clone(),
            name: n.name.clone(),
            language: n.language.clone(),
            usage: *u,
        })
    };
    let top: Vec<Ranked> = top.iter().filter_map(ranked).collect();
    let worst: Vec<Ranked> = worst.iter().filter_map(ranked).collect();

    // Time to approval: from the first PENDING to the first APPROVED after it.
    let evs = events::review_events(conn, account.as_deref())?;
    let (mut by_cat, mut by_lang): (BTreeMap<String, Vec<i64>>, BTreeMap<String, Vec<i64>>) =
        Default::default();
    let mut pending: HashMap<i32, i64> = HashMap::new();
    let mut done: std::collections::HashSet<i32> = Default::default();
    for events::ReviewEvent {
        row_id: row,
        status,
        at,
        category: cat,
        language: lang,
    } in evs
    {
        match status.as_str() {
            "PENDING" => {
                pending.entry(row).or_insert(at);
            }
            _ => {
                if let Some(p) = pending.get(&row) {
                    if done.insert(row) {
                        by_cat.entry(cat).or_default().push(at - p);
                        by_lang.entry(lang).or_default().push(at - p);
                    }
                }
            }
        }
    }
    let known = crate::db::models::usage::currencies(conn)?;
    let currency = match &account {
        Some(a) => crate::web::fmt::currency(&known, Some(&[a.as_str()])),
        None => crate::web::fmt::currency(&known, None),
    };
    Ok(Analytics {
        layout,
        account,
        totals,
        currency,
        top,
        worst,
        by_category: approvals(by_cat),
        by_language: approvals(by_lang),
        rates_chart,
        volume_chart,
        accounts: state
            .config
            .accounts
            .iter()
            .map(|a| a.name.clone())
            .collect(),
    })
}

impl Analytics {
    fn approval_tables(&self) -> Vec<(&'static str, &[Approval])> {
        vec![
            ("Time to approval by category (all time)", &self.by_category),
            ("Time to approval by language (all time)", &self.by_language),
        ]
    }

    fn hours(&self, h: &f64) -> String {
        fmt::span((*h * 3600.0) as i64)
    }
}

async fn load(state: &AppState, q: PageQuery) -> Result<Analytics, WebError> {
    let layout = layout(state, "Analytics", "analytics", &q)?;
    let account = q.account().map(str::to_string);
    if let Some(a) = &account {
        if state.config.account(a).is_err() {
            return Err(WebError::NotFound(format!("No account named {a}.")));
        }
    }
    let st = state.clone();
    state
        .db
        .run(move |c| Ok(build(c, &st, layout, account)))
        .await?
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
) -> Result<Json<Analytics>, ApiError> {
    Ok(Json(load(&state, q).await?))
}
