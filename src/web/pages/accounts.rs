//! `/accounts/{name}`: sync runs, analytics state, webhook and message activity, and Sync now.

use crate::db::Conn;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse};
use axum::Json;
use serde::Serialize;

use super::{layout, Layout};
use crate::clock;
use crate::db::models::{accounts, events, sync_runs, usage};

use crate::report::{self, Scope, Totals};
use crate::web::error::{ApiError, WebError};
use crate::web::fmt::{self, Show};
use crate::web::query::PageQuery;
use crate::web::AppState;

/// A sync run as shown.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub kind: String,
    pub started: String,
    pub seconds: i64,
    pub pages: i32,
    pub seen: i32,
    pub created: i32,
    pub changed: i32,
    pub removed: i32,
    pub skipped: i32,
    pub error: Option<String>,
    /// Quiet pending checks this row stands for.
    pub repeats: i32,
}

/// The account page.
#[derive(Debug, Clone, Serialize, Template)]
#[template(path = "account.html")]
pub struct Account {
    pub layout: Layout,
    pub name: String,
    pub source: String,
    pub waba_id: Option<String>,
    pub phone_number_ids: Vec<String>,
    pub runs: Vec<Run>,
    pub analytics: Option<String>,
    pub analytics_message: Option<String>,
    pub webhook_events_7d: i64,
    pub totals: Totals,
    /// Which runs are listed (`full`, `pending`, `failed`, `all`).
    pub runs_filter: String,
    /// (badge class, words): never synced is not ok.
    pub health: (String, String),
    /// The analytics state in words, with what to do.
    pub analytics_words: String,
    /// The currency costs are in, or why there is none.
    pub currency: String,
    /// Each number's health as Meta names its fields, with the latest changes.
    pub phone_numbers: Vec<crate::db::models::numbers::NumberRow>,
    /// The business portfolio's messaging limit, named as in Meta's `phone_number_quality_update`
    /// webhook.
    #[serde(rename = "max_daily_conversations_per_business")]
    pub messaging_limit: Option<String>,
    pub number_history: Vec<crate::db::models::numbers::NumberEvent>,
    /// Template groups with their size and Meta's group analytics over the period.
    pub template_groups: Vec<crate::db::models::groups::GroupView>,
    #[serde(skip)]
    pub chart: String,
}

fn build(
    conn: &mut Conn,
    state: &AppState,
    layout: Layout,
    name: &str,
    filter: &str,
) -> Result<Account, WebError> {
    let run_filter = match filter {
        "pending" => sync_runs::RunFilter::Pending,
        "failed" => sync_runs::RunFilter::Failed,
        "all" => sync_runs::RunFilter::All,
        "full" => sync_runs::RunFilter::Full,
        other => {
            return Err(WebError::BadRequest(format!(
                "runs={other}: choose full, pending, failed or all"
            )))
        }
    };
    let cfg = state
        .config
        .account(name)
        .map_err(|_| WebError::NotFound(format!("No account named {name}.")))?;
    let id = accounts::find_id(conn, name)?;
    let (mut runs, mut analytics, mut analytics_message, mut hooks) = (Vec::new(), None, None, 0);
    let (mut phone_numbers, mut messaging_limit, mut number_history) =
        (Vec::new(), None, Vec::new());
    let mut template_groups = Vec::new();
    if let Some(id) = id {
        template_groups = crate::db::models::groups::of_account(
            conn,
            id,
            &layout.period.from_s(),
            &layout.period.to_s(),
        )?;
        (phone_numbers, messaging_limit, number_history) =
            crate::db::models::numbers::of_account(conn, id, 20)?;
        runs = sync_runs::recent_filtered(conn, id, run_filter, 30)?
            .into_iter()
            .map(|r| Run {
                kind: r.kind,
                started: fmt::when(r.started_at),
                seconds: r.finished_at - r.started_at,
                pages: r.pages,
                seen: r.seen,
                created: r.created,
                changed: r.changed,
                removed: r.removed,
                skipped: r.skipped,
                error: r.error,
                repeats: r.repeats,
            })
            .collect();
        if let Some((s, m, _)) = usage::analytics_state(conn, id)? {
            analytics = Some(s);
            analytics_message = m;
        }
        let week = clock::now().timestamp() - 7 * 86_400;
        hooks = events::webhook_count_since(conn, id, week)?;
    }
    let scope = Scope {
        account: Some(name.to_string()),
        ..Default::default()
    };
    let daily = report::daily(conn, &scope, &layout.period)?;
    let totals = daily.iter().fold(Totals::default(), |mut acc, (_, x)| {
        acc.add(x);
        acc
    });
    let currency =
        crate::web::fmt::currency(&crate::db::models::usage::currencies(conn)?, Some(&[name]));
    let last_success = sync_runs::last_full_success(conn, &[name.to_string()])?;
    Ok(Account {
        currency,
        runs_filter: filter.to_string(),
        health: health(last_success, runs.first()),
        analytics_words: fmt::analytics(cfg.source.as_str(), analytics.as_deref()),
        chart: super::overview::daily_chart(&daily),
        layout,
        name: name.to_string(),
        source: cfg.source.as_str().into(),
        waba_id: cfg.waba_id.clone(),
        phone_number_ids: cfg.phone_number_ids.clone(),
        runs,
        analytics,
        analytics_message,
        webhook_events_7d: hooks,
        totals,
        phone_numbers,
        messaging_limit,
        number_history,
        template_groups,
    })
}

async fn load(state: &AppState, name: String, q: PageQuery) -> Result<Account, WebError> {
    let layout = layout(state, format!("Account {name}"), "accounts", &q)?;
    let st = state.clone();
    let filter = q.runs.clone().unwrap_or_else(|| "full".into());
    state
        .db
        .run(move |c| Ok(build(c, &st, layout, &name, &filter)))
        .await?
}

pub async fn page(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<impl IntoResponse, WebError> {
    Ok(Html(load(&state, name, q).await?.render()?))
}

pub async fn api(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Account>, ApiError> {
    Ok(Json(load(&state, name, q).await?))
}

/// The account's sync health in words: never synced is not ok, and a failing last run says so
/// whatever came before.
fn health(last_success: Option<i64>, newest: Option<&Run>) -> (String, String) {
    match (newest.and_then(|r| r.error.as_ref()), last_success) {
        (Some(_), _) => ("bad".into(), "the last sync failed (below)".into()),
        (None, None) => (
            "warn".into(),
            "never synced: press Sync now or wait for sync.schedule".into(),
        ),
        (None, Some(at)) => (
            "ok".into(),
            format!("last successful full sync {}", fmt::when(at)),
        ),
    }
}

impl Account {
    fn qclass(&self, q: &str) -> &'static str {
        fmt::quality_class(q)
    }

    fn int(&self, n: &i64) -> String {
        fmt::int(*n)
    }

    fn when(&self, at: &i64) -> String {
        fmt::when(*at)
    }

    fn limit(&self, l: &str) -> String {
        crate::domain::number::limit_words(l)
    }

    /// The run filters, with whether each is the one shown.
    fn filters(&self) -> Vec<(&'static str, &'static str, bool)> {
        [
            ("full", "Full syncs and failures"),
            ("pending", "Pending checks"),
            ("failed", "Failed"),
            ("all", "All"),
        ]
        .into_iter()
        .map(|(k, label)| (k, label, k == self.runs_filter))
        .collect()
    }
}
