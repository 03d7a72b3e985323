//! `/templates` (filter, search, sort, paginate; usage over the period) and `/templates/{id}`
//! (the template as the customer sees it, its history, and how it performs).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse};
use axum::Json;
use diesel::prelude::*;
use serde::Serialize;

use super::{layout, Layout};
use crate::clock;
use crate::db::models::products;
use crate::db::models::templates::{self as tpl, Brief, Sort};
use crate::domain::errors;
use crate::domain::pause::Pause;
use crate::report::{self, Breakdown, Scope, Totals};
use crate::views::{EventView, TemplateView};
use crate::web::error::{ApiError, WebError};
use crate::web::fmt::{self, Show};
use crate::web::query::{encode, PageQuery};
use crate::web::AppState;

/// Rows per page.
pub const PAGE: i64 = 50;

/// One row of the list.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    #[serde(flatten)]
    pub template: Brief,
    pub usage: Totals,
    #[serde(skip)]
    pub changed: String,
}

/// The list.
#[derive(Debug, Clone, Serialize, Template)]
#[template(path = "templates.html")]
pub struct List {
    pub layout: Layout,
    pub lines: Vec<Line>,
    pub total: i64,
    pub page: i64,
    pub pages: i64,
    pub sort: String,
    pub dir: String,
    pub filters: BTreeMap<String, String>,
    #[serde(skip)]
    pub accounts: Vec<String>,
}

/// The list behind `/templates`, `/api/templates` and the list export.
pub fn list(
    conn: &mut SqliteConnection,
    state: &AppState,
    layout: Layout,
    q: &PageQuery,
) -> Result<List, WebError> {
    let f = q.list_query();
    let sort = q.sort.as_deref().unwrap_or("name").to_string();
    let desc = q.dir.as_deref() == Some("desc");
    let asked = q
        .page
        .as_deref()
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(1)
        .max(1);
    // Past the last page (a bookmark after templates went away): the last page instead.
    let last = ((tpl::count(conn, &f)? + PAGE - 1) / PAGE).max(1);
    let page = asked.min(last);
    let by_sql = match sort.as_str() {
        "name" => Some(Sort::Name),
        "language" => Some(Sort::Language),
        "category" => Some(Sort::Category),
        "status" => Some(Sort::Status),
        "quality" => Some(Sort::Quality),
        "account" => Some(Sort::Account),
        "changed" => Some(Sort::Changed),
        "sent" | "delivery" | "read" | "failed" => None,
        other => return Err(WebError::BadRequest(format!("cannot sort by `{other}`"))),
    };
    let (briefs, total, usage) = match by_sql {
        // The usual case: one page from SQL, usage for that page only.
        Some(s) => {
            let (briefs, total) = tpl::page(conn, &f, s, desc, PAGE, (page - 1) * PAGE)?;
            let scope = Scope {
                template_rows: Some(briefs.iter().map(|b| b.row).collect()),
                ..Default::default()
            };
            let usage = report::per_template(conn, &scope, &layout.period)?;
            (briefs, total, usage)
        }
        // Sorting by a figure needs every matching template's figures.
        None => {
            let mut all = tpl::briefs(conn, &f)?;
            let scope = Scope {
                account: f.account.clone(),
                ..Default::default()
            };
            let usage = report::per_template(conn, &scope, &layout.period)?;
            let key = |b: &Brief| -> f64 {
                let u = usage.get(&b.row).copied().unwrap_or_default();
                match sort.as_str() {
                    "sent" => u.sent as f64,
                    "delivery" => u.delivery_rate().unwrap_or(-1.0),
                    "read" => u.read_rate().unwrap_or(-1.0),
                    _ => u.failure_rate().unwrap_or(-1.0),
                }
            };
            all.sort_by(|x, y| key(x).total_cmp(&key(y)));
            if desc {
                all.reverse();
            }
            let total = all.len() as i64;
            let briefs: Vec<Brief> = all
                .into_iter()
                .skip(((page - 1) * PAGE) as usize)
                .take(PAGE as usize)
                .collect();
            (briefs, total, usage)
        }
    };
    let now = clock::now().timestamp();
    let lines = briefs
        .into_iter()
        .map(|b| {
            let usage = usage.get(&b.row).copied().unwrap_or_default();
            Line {
                changed: fmt::ago(now, b.last_changed_at),
                template: b,
                usage,
            }
        })
        .collect();
    Ok(List {
        layout,
        lines,
        total,
        page,
        pages: ((total + PAGE - 1) / PAGE).max(1),
        sort,
        dir: if desc { "desc".into() } else { "asc".into() },
        filters: q.filters(),
        accounts: state
            .config
            .accounts
            .iter()
            .map(|a| a.name.clone())
            .collect(),
    })
}

impl List {
    fn filter(&self, k: &str) -> String {
        self.filters.get(k).cloned().unwrap_or_default()
    }

    fn sort_link(&self, col: &str) -> String {
        let dir = if self.sort == col && self.dir == "asc" {
            "desc"
        } else {
            "asc"
        };
        self.link(&[("sort", col), ("dir", dir)], 1)
    }

    fn sort_mark(&self, col: &str) -> &'static str {
        match (self.sort == col, self.dir.as_str()) {
            (true, "asc") => " ▲",
            (true, _) => " ▼",
            _ => "",
        }
    }

    fn page_link(&self, page: i64) -> String {
        self.link(&[("sort", &self.sort), ("dir", &self.dir)], page)
    }

    fn link(&self, extra: &[(&str, &str)], page: i64) -> String {
        let page = page.to_string();
        let pairs = self.filters.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let pairs = pairs
            .chain(extra.iter().copied())
            .chain([("page", page.as_str())]);
        format!("?{}&{}", encode(pairs), self.layout.period_query())
    }

    fn export_query(&self) -> String {
        let filters = encode(self.filters.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        match filters.as_str() {
            "" => self.layout.period_query(),
            _ => format!("{filters}&{}", self.layout.period_query()),
        }
    }

    fn sclass(&self, s: &str) -> &'static str {
        fmt::status_class(s)
    }

    fn qclass(&self, q: &str) -> &'static str {
        fmt::quality_class(q)
    }
}

pub async fn page(
    State(state): State<AppState>,
    Query(q): Query<PageQuery>,
) -> Result<impl IntoResponse, WebError> {
    let layout = layout(&state, "Templates", "templates", &q)?;
    let st = state.clone();
    let list = state
        .db
        .run(move |c| Ok(list(c, &st, layout, &q)))
        .await??;
    Ok(Html(list.render()?))
}

pub async fn api(
    State(state): State<AppState>,
    Query(q): Query<PageQuery>,
) -> Result<Json<List>, ApiError> {
    let layout = layout(&state, "Templates", "templates", &q)?;
    let st = state.clone();
    Ok(Json(
        state
            .db
            .run(move |c| Ok(list(c, &st, layout, &q)))
            .await??,
    ))
}

// ---- one template ---------------------------------------------------------------------------

mod bubble;
pub use bubble::{bubble, pieces, Bubble, Piece};

/// A failure code with what it means.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub code: i32,
    pub count: i64,
    pub meaning: String,
    pub action: &'static str,
}

/// A field of the Send test form.
#[derive(Debug, Clone, Serialize)]
pub struct SendSlot {
    pub label: String,
    pub example: String,
}

/// The template page.
#[derive(Debug, Clone, Serialize, Template)]
#[template(path = "template.html")]
pub struct Detail {
    pub layout: Layout,
    /// The currency costs are in, or why there is none.
    pub currency: String,
    pub template: TemplateView,
    pub events: Vec<EventView>,
    pub bubble: Bubble,
    pub time_to_approval: Option<String>,
    /// Where a PAUSED template stands on the pause ladder (the overview and notifications say
    /// the same).
    pub paused: Option<String>,
    /// Meta's reason and recommendation for a REJECTED template (as the overview shows them).
    pub rejection: Option<String>,
    /// How long a template under review has waited, and since when.
    pub waiting: Option<String>,
    pub usage: Breakdown,
    /// Meta's figures split by product (Cloud API, Marketing Messages API), with unique URL
    /// clicks.
    pub products: Vec<products::ProductFigures>,
    /// Meta's clicks per button over the period, where Meta names the button.
    pub buttons: Vec<crate::db::models::buttons::ButtonClicks>,
    pub daily: Vec<(String, Totals)>,
    pub failures: Vec<Failure>,
    /// The parameters the Send test form asks for.
    #[serde(skip)]
    pub send_slots: Vec<SendSlot>,
    #[serde(skip)]
    pub chart: String,
    #[serde(skip)]
    pub funnel: String,
}

impl Detail {
    fn sclass(&self, s: &str) -> &'static str {
        fmt::status_class(s)
    }

    fn qclass(&self, q: &str) -> &'static str {
        fmt::quality_class(q)
    }

    fn int(&self, n: &i64) -> String {
        fmt::int(*n)
    }

    fn product(&self, p: &str) -> &'static str {
        match p {
            "CLOUD_API" => "Cloud API",
            "MARKETING_MESSAGES_API_FOR_WHATSAPP" => "Marketing Messages API",
            _ => "another product",
        }
    }

    /// A stored RFC 3339 time in the dashboard's one format.
    fn human(&self, rfc3339: &str) -> String {
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .map(|t| fmt::when(t.timestamp()))
            .unwrap_or_else(|_| rfc3339.to_string())
    }

    fn history(&self, field: &str) -> Vec<&EventView> {
        self.events.iter().filter(|e| e.field == field).collect()
    }

    fn at(&self, e: &EventView) -> String {
        chrono::DateTime::parse_from_rfc3339(&e.at)
            .map(|t| fmt::when(t.timestamp()))
            .unwrap_or_else(|_| e.at.clone())
    }
}

fn detail(conn: &mut SqliteConnection, mut layout: Layout, id: &str) -> Result<Detail, WebError> {
    layout.live = Some(super::live_url(
        crate::db::models::events::newest_id(conn)?,
        Some(id),
    ));
    let Some(tpl::WithAccount {
        row,
        account,
        source,
    }) = tpl::with_account(conn, id)?
    else {
        return Err(WebError::NotFound(format!("No template with id {id}.")));
    };
    let events = tpl::events_of(conn, row.id)?;
    let pending_at = events
        .iter()
        .find(|e| e.field == "status" && (e.new_value == "PENDING" || e.new_value == "IN_APPEAL"))
        .map(|e| e.at);
    let approved_at = events
        .iter()
        .find(|e| {
            e.field == "status"
                && e.new_value == "APPROVED"
                && pending_at.is_some_and(|p| e.at >= p)
        })
        .map(|e| e.at);
    let time_to_approval = match (pending_at, approved_at) {
        (Some(p), Some(a)) => Some(fmt::span(a - p)),
        _ => None,
    };
    let paused = match row.status.as_str() {
        "PAUSED" => {
            let pauses = tpl::pauses(conn, row.id, None)?;
            Pause::latest(
                pauses
                    .iter()
                    .map(|(at, from, d)| (*at, from.as_deref(), d.as_deref())),
            )
            .map(|p| fmt::pause(&p))
        }
        _ => None,
    };
    let rejection = match row.status.as_str() {
        "REJECTED" => {
            let detail = tpl::last_rejection_detail(conn, row.id)?;
            let rec = crate::domain::rejection::RejectionInfo::from_detail(detail.as_deref())
                .recommendation;
            let reason = row
                .rejected_reason
                .clone()
                .unwrap_or_else(|| "no reason given".into());
            Some(match rec {
                Some(rec) => format!("{reason}; Meta recommends: {rec}"),
                None => reason,
            })
        }
        _ => None,
    };
    let waiting = matches!(row.status.as_str(), "PENDING" | "IN_APPEAL").then(|| {
        let since = events
            .iter()
            .rev()
            .find(|e| e.field == "status")
            .map_or(row.first_seen_at, |e| e.at);
        let now = clock::now().timestamp();
        format!("{} (since {})", fmt::span(now - since), fmt::when(since))
    });
    let scope = Scope {
        template_row: Some(row.id),
        ..Default::default()
    };
    let usage = report::totals(conn, &scope, &layout.period)?;
    let daily = report::daily(conn, &scope, &layout.period)?;
    let products = products::between(conn, row.id, &layout.period.from_s(), &layout.period.to_s())?;
    let buttons = crate::db::models::buttons::between(
        conn,
        row.id,
        &layout.period.from_s(),
        &layout.period.to_s(),
    )?;
    let failures = report::failures(conn, row.id, &layout.period)?
        .into_iter()
        .map(|(code, count)| {
            let info = errors::explain(code.into());
            Failure {
                code,
                count,
                meaning: info.headline(),
                action: info.action,
            }
        })
        .collect();
    let c = usage.combined;
    let funnel = crate::web::charts::funnel(&[
        ("sent", c.sent),
        ("delivered", c.delivered),
        ("read", c.read),
    ]);
    let chart = super::overview::daily_chart(&daily);
    let comps: serde_json::Value = serde_json::from_str(&row.components).unwrap_or_default();
    let send_slots = crate::send::params::slots(&comps)
        .into_iter()
        .map(|s| SendSlot {
            label: s.label(),
            example: s.example.clone().unwrap_or_default(),
        })
        .collect();
    let currency = fmt::currency(
        &crate::db::models::usage::currencies(conn)?,
        Some(&[account.as_str()]),
    );
    let view = TemplateView::new(row, account, source);
    Ok(Detail {
        currency,
        send_slots,
        bubble: bubble(&view.components),
        layout,
        template: view,
        events: events.into_iter().map(EventView::from).collect(),
        time_to_approval,
        paused,
        rejection,
        waiting,
        usage,
        products,
        buttons,
        daily,
        failures,
        chart,
        funnel,
    })
}

pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<impl IntoResponse, WebError> {
    let layout = layout(&state, "Template", "templates", &q)?;
    let d = state.db.run(move |c| Ok(detail(c, layout, &id))).await??;
    Ok(Html(d.render()?))
}

pub async fn show_api(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Detail>, ApiError> {
    let layout = layout(&state, "Template", "templates", &q)?;
    Ok(Json(
        state.db.run(move |c| Ok(detail(c, layout, &id))).await??,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_split_out() {
        let p = pieces("Hi {{1}}, your order {{order_id}} is ready.");
        let marks: Vec<bool> = p.iter().map(|x| x.placeholder).collect();
        assert_eq!(marks, [false, true, false, true, false]);
        assert_eq!(p[1].text, "{{1}}");
    }
}
