//! `/templates/{id}` and its API: the template as the customer sees it, its history, its
//! content versions, and how it performs.

use crate::db::Conn;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse};
use axum::Json;
use serde::Serialize;

use super::super::{layout, Layout};
use super::{bubble, Bubble};
use crate::clock;
use crate::db::models::products;
use crate::db::models::templates as tpl;
use crate::domain::errors;
use crate::domain::pause::Pause;
use crate::report::{self, Breakdown, Scope, Totals};
use crate::views::versions;
use crate::views::{EventView, TemplateView};
use crate::web::error::{ApiError, WebError};
use crate::web::fmt::{self, Show};
use crate::web::query::PageQuery;
use crate::web::AppState;

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
    /// A category change announced or done: what it does to the monthly cost.
    pub category_cost: Option<String>,
    /// The template group it is in: (id, name).
    pub group: Option<(String, String)>,
    pub usage: Breakdown,
    /// Meta's figures split by product (Cloud API, Marketing Messages API), with unique URL
    /// clicks.
    pub products: Vec<products::ProductFigures>,
    /// Meta's clicks per button over the period, where Meta names the button.
    pub buttons: Vec<crate::db::models::buttons::ButtonClicks>,
    pub daily: Vec<(String, Totals)>,
    /// Content versions, newest first, and which was live on the period's days.
    pub versions: Vec<versions::VersionView>,
    pub live: Vec<versions::LiveSpan>,
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

fn detail(conn: &mut Conn, mut layout: Layout, id: &str) -> Result<Detail, WebError> {
    layout.live = Some(crate::web::pages::live_url(
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
    let group = crate::db::models::groups::of_template(conn, row.account_id, &row.template_id)?;
    let today = clock::now().date_naive();
    let category_cost = match (&row.correct_category, &row.previous_category) {
        (Some(to), _) if *to != row.category => {
            let c = crate::db::models::countries::category_impact(
                conn,
                row.id,
                &row.category,
                to,
                today,
            )?;
            c.map(|c| format!("moving to {to}: {c}"))
        }
        (_, Some(from)) if *from != row.category => {
            let c = crate::db::models::countries::category_impact(
                conn,
                row.id,
                from,
                &row.category,
                today,
            )?;
            c.map(|c| format!("{from} → {}: {c}", row.category))
        }
        _ => None,
    };
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
    let stored = crate::db::models::versions::of(conn, row.id)?;
    let days: Vec<String> = daily.iter().map(|(d, _)| d.clone()).collect();
    let live = versions::live_on(&stored, &days);
    let chart = crate::web::pages::overview::marked_chart(&daily, &versions::marks(&live));
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
        category_cost,
        group,
        usage,
        products,
        buttons,
        daily,
        live: versions::spans(&days, &live),
        versions: versions::views(&stored),
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

/// `GET /api/templates/{id}/versions`: every content version, newest first, with what changed.
pub async fn versions_api(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<versions::VersionView>>, ApiError> {
    let views = state
        .db
        .run(move |c| {
            let Some(t) = tpl::with_account(c, &id)? else {
                return Ok(Err(WebError::NotFound(format!(
                    "No template with id {id}."
                ))));
            };
            Ok(Ok(versions::views(&crate::db::models::versions::of(
                c, t.row.id,
            )?)))
        })
        .await??;
    Ok(Json(views))
}
