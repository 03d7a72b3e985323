//! `/templates` (filter, search, sort, paginate; usage over the period) and `/templates/{id}`
//! ([`detail`]: the template as the customer sees it, its history, its versions, and how it
//! performs).

use crate::db::Conn;
use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse};
use axum::Json;
use serde::Serialize;

use super::{layout, Layout};
use crate::clock;
use crate::db::models::templates::{self as tpl, Brief, Sort};
use crate::report::{self, Scope, Totals};
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
    /// The name of the template group filtered on (`group=`).
    pub group_name: Option<String>,
    #[serde(skip)]
    pub accounts: Vec<String>,
}

/// The list behind `/templates`, `/api/templates` and the list export.
pub fn list(
    conn: &mut Conn,
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
    let group_name = match &f.group {
        Some(g) => Some(
            crate::db::models::groups::name(conn, g)?
                .ok_or_else(|| WebError::NotFound(format!("No template group {g}.")))?,
        ),
        None => None,
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
        group_name,
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

mod detail;
pub use detail::{show, show_api, versions_api, Detail, Failure, SendSlot};

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
