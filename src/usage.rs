//! Usage pulls on `sync.usage_schedule`: Meta's `template_analytics` for Meta accounts (stored
//! with origin `meta`), and Kapso's message history for Kapso accounts (merged into `messages`
//! through the same code as webhooks, so nothing is counted twice).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Days, Utc};
use serde::Serialize;

use crate::config::AccountConfig;
use crate::db::models::accounts;
use crate::db::models::buttons::ButtonClicks;
use crate::db::models::{job_runs, products, usage};
use crate::domain::SourceKind;
use crate::ingest::apply::{self, Resolver};
use crate::ingest::{kapso, IngestEvent};
use crate::sources::insights::ANALYTICS_PRODUCTS;
use crate::sources::{AnalyticsPoint, Graph, SourceError, ANALYTICS_MAX_IDS};
use crate::sync::SyncContext;

/// What a usage pull did for one account.
#[derive(Debug, Clone, Serialize, Default)]
pub struct UsageReport {
    pub account: String,
    pub source: String,
    /// Meta accounts: `ok`, `not_enabled`, `unavailable` or `error`.
    pub analytics: Option<String>,
    /// Template-days whose Meta figures changed.
    pub days_updated: u32,
    /// Messages read from Kapso's history.
    pub messages: u32,
    /// Phone numbers whose health was read, and why that failed (it does not fail the pull).
    pub numbers: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numbers_error: Option<String>,
    /// Template groups listed, and why that failed (it does not fail the pull).
    pub groups: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups_error: Option<String>,
    pub requests: u32,
    pub error: Option<String>,
}

/// Pulls usage for every account (or one), concurrently up to `sync.concurrency`.
pub async fn run(ctx: &SyncContext, only: Option<&str>, now: DateTime<Utc>) -> Vec<UsageReport> {
    let selected: Vec<AccountConfig> = ctx
        .config
        .accounts
        .iter()
        .filter(|a| only.is_none_or(|o| o == a.name))
        .cloned()
        .collect();
    let permits = Arc::new(tokio::sync::Semaphore::new(
        ctx.config.sync.concurrency.max(1),
    ));
    let mut tasks = tokio::task::JoinSet::new();
    let mut by_task = std::collections::HashMap::new();
    for (i, account) in selected.iter().enumerate() {
        let (ctx, permits, account) = (ctx.clone(), permits.clone(), account.clone());
        let task = tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (i, pull(&ctx, &account, now).await)
        });
        by_task.insert(task.id(), i);
    }
    let mut out = Vec::new();
    while let Some(joined) = tasks.join_next_with_id().await {
        match joined {
            Ok((_, r)) => out.push(r),
            // One account's panic is that account's failed pull, not the end of the others'.
            Err(e) => {
                let i = by_task[&e.id()];
                let account = &selected[i];
                tracing::error!(account = %account.name, "usage pull stopped on an internal error: {e}");
                out.push((
                    i,
                    UsageReport {
                        account: account.name.clone(),
                        source: account.source.as_str().into(),
                        error: Some("the pull stopped on an internal error".into()),
                        ..Default::default()
                    },
                ));
            }
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

async fn pull(ctx: &SyncContext, account: &AccountConfig, now: DateTime<Utc>) -> UsageReport {
    let mut report = UsageReport {
        account: account.name.clone(),
        source: account.source.as_str().into(),
        ..Default::default()
    };
    let source = Graph::for_account(account, &ctx.config.sync, ctx.client.clone());
    let name = account.name.clone();
    let account_id = match ctx.db.run(move |c| accounts::find_id(c, &name)).await {
        Ok(Some(id)) => id,
        Ok(None) => {
            report.error = Some("not synced yet: run `templar sync` first".into());
            return report;
        }
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
    };
    // Meta reports analytics for its accounts; Kapso keeps each message's history instead.
    let result = match account.source {
        SourceKind::Meta => analytics(ctx, &source, account_id, now, &mut report).await,
        SourceKind::Kapso => history(ctx, &source, account, account_id, now, &mut report).await,
    };
    // After a failed pull (a rate limit among the reasons) no more calls are made this time.
    if result.is_ok() {
        let analytics_ok = report.analytics.as_deref() == Some("ok");
        if let Err(e) = groups(ctx, &source, account_id, now, analytics_ok, &mut report).await {
            tracing::warn!(account = %account.name, "template groups of {} not read: {e}", account.name);
            report.groups_error = Some(e.to_string());
        }
        if let Err(e) = numbers(ctx, &source, account_id, now, &mut report).await {
            tracing::warn!(account = %account.name, "phone number health of {} not read: {e}", account.name);
            report.numbers_error = Some(e.to_string());
        }
    }
    report.requests = source.requests();
    match result {
        Err(e) => {
            tracing::warn!(account = %account.name, "usage pull of {} failed: {e}", account.name);
            report.error = Some(e);
        }
        Ok(()) => {
            // Per account, for `/metrics` (seconds since the last successful usage pull).
            let (job, at) = (job_runs::usage_job(&account.name), now.timestamp());
            if let Err(e) = ctx
                .db
                .write(move |c| job_runs::succeeded(c, &job, at))
                .await
            {
                tracing::warn!(account = %account.name, "could not record the usage pull: {e}");
            }
        }
    }
    report
}

/// Lists the account's template groups (replacing what was kept) and, where template
/// analytics work, pulls their daily figures ten groups a call.
async fn groups(
    ctx: &SyncContext,
    source: &Graph,
    account_id: i32,
    now: DateTime<Utc>,
    analytics: bool,
    report: &mut UsageReport,
) -> Result<(), SourceError> {
    use crate::sources::groups::GROUP_ANALYTICS_MAX_IDS;
    let today = now.date_naive();
    let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    let start = day(today.checked_sub_days(Days::new(29)).unwrap_or(today));
    let end = day(today.checked_add_days(Days::new(1)).unwrap_or(today));
    let transient = |e: crate::db::DbError| SourceError::Transient(e.to_string());
    let mut all = Vec::new();
    let mut points = Vec::new();
    // Every listing must be read before any is replaced (a partial list would drop groups);
    // a failed analytics call keeps the lists and what figures came.
    let mut analytics_error = None;
    for waba in source.wabas().await? {
        let groups = source.template_groups(&waba).await?;
        let ids: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
        for chunk in ids.chunks(GROUP_ANALYTICS_MAX_IDS) {
            if !analytics || analytics_error.is_some() {
                break;
            }
            match source
                .template_group_analytics(&waba, chunk, &start, &end)
                .await
            {
                Ok(p) => points.extend(p),
                Err(e) => analytics_error = Some(e),
            }
        }
        all.extend(groups);
    }
    report.groups = all.len() as u32;
    let at = now.timestamp();
    ctx.db
        .write(move |c| {
            crate::db::models::groups::replace(c, account_id, &all, at)?;
            crate::db::models::groups::store_points(c, account_id, &points)
        })
        .await
        .map_err(transient)?;
    analytics_error.map_or(Ok(()), Err)
}

/// Reads each phone number's health and keeps what changed.
async fn numbers(
    ctx: &SyncContext,
    source: &Graph,
    account_id: i32,
    now: DateTime<Utc>,
    report: &mut UsageReport,
) -> Result<(), SourceError> {
    // One number that cannot be read (removed, say) does not hide the others.
    let mut failed = Vec::new();
    for pnid in source.phone_numbers().await? {
        let health = match source.number_health(&pnid).await {
            Ok(h) => h,
            Err(e) => {
                failed.push(format!("{pnid}: {e}"));
                continue;
            }
        };
        let at = now.timestamp();
        ctx.db
            .write(move |c| crate::db::models::numbers::record(c, account_id, &health, at, "sync"))
            .await
            .map_err(|e| SourceError::Transient(e.to_string()))?;
        report.numbers += 1;
    }
    match failed.is_empty() {
        true => Ok(()),
        false => Err(SourceError::Transient(failed.join("; "))),
    }
}

async fn analytics(
    ctx: &SyncContext,
    meta: &Graph,
    account_id: i32,
    now: DateTime<Utc>,
    report: &mut UsageReport,
) -> Result<(), String> {
    let (targets, pulled_before) = ctx
        .db
        .run(move |c| {
            let rows = usage::sendable_templates(c, account_id)?;
            Ok((rows, usage::has_meta_figures(c, account_id)?))
        })
        .await
        .map_err(|e| e.to_string())?;
    // Meta keeps 90 days; reads and clicks keep accruing for 7 days after a send.
    let today = now.date_naive();
    let back = if pulled_before { 7 } else { 89 };
    let start = today
        .checked_sub_days(Days::new(back))
        .unwrap_or(today)
        .format("%Y-%m-%d")
        .to_string();
    let end = today
        .checked_add_days(Days::new(1))
        .unwrap_or(today)
        .format("%Y-%m-%d")
        .to_string();
    let mut by_waba: BTreeMap<String, Vec<(i32, String)>> = BTreeMap::new();
    for (row, waba, id) in targets {
        by_waba.entry(waba).or_default().push((row, id));
    }
    let mut state = ("ok", None::<String>);
    'outer: for (waba, templates) in &by_waba {
        for chunk in templates.chunks(ANALYTICS_MAX_IDS) {
            let ids: Vec<String> = chunk.iter().map(|(_, id)| id.clone()).collect();
            let mut points = Vec::new();
            for product in ANALYTICS_PRODUCTS {
                match meta
                    .template_analytics(waba, &ids, &start, &end, product)
                    .await
                {
                    Ok(p) => points.extend(p),
                    Err(SourceError::Upstream(e)) if e.code == Some(200007) => {
                        state = ("not_enabled", Some(e.message.clone()));
                        break 'outer;
                    }
                    Err(SourceError::Upstream(e)) if e.code == Some(200005) => {
                        state = ("unavailable", Some(e.message.clone()));
                        break 'outer;
                    }
                    // A WABA that cannot use the Marketing Messages API still has Cloud API
                    // figures; the account's analytics state says what is missing.
                    Err(SourceError::Upstream(e)) if product != ANALYTICS_PRODUCTS[0] => {
                        tracing::warn!(waba, "no {product} analytics: {e}");
                        state.1 = Some(format!(
                            "Meta refused the {product} figures ({}); Cloud API figures only",
                            e.message
                        ));
                    }
                    Err(e) => {
                        state = ("error", Some(e.to_string()));
                        break 'outer;
                    }
                }
            }
            let rows: BTreeMap<String, i32> =
                chunk.iter().map(|(r, id)| (id.clone(), *r)).collect();
            let changed = ctx
                .db
                .write(move |c| store_points(c, &rows, points))
                .await
                .map_err(|e| e.to_string())?;
            report.days_updated += changed;
        }
    }
    let (s, m) = state.clone();
    let ts = now.timestamp();
    let currency = match (state.0, by_waba.keys().next()) {
        ("ok", Some(w)) => meta.currency(w).await.ok().flatten(),
        _ => None,
    };
    ctx.db
        .write(move |c| {
            usage::set_analytics_state(c, account_id, s, m.as_deref(), ts)?;
            match currency {
                Some(cur) => usage::set_currency(c, account_id, &cur),
                None => Ok(()),
            }
        })
        .await
        .map_err(|e| e.to_string())?;
    report.analytics = Some(state.0.into());
    match state {
        ("error", Some(m)) => Err(m),
        _ => Ok(()),
    }
}

/// Stores one chunk's analytics: per template-day, the sum over products as Meta's figures
/// (what the roll-ups read) and the split per product. Returns the template-days that changed.
fn store_points(
    c: &mut crate::db::Conn,
    rows: &BTreeMap<String, i32>,
    points: Vec<AnalyticsPoint>,
) -> diesel::QueryResult<u32> {
    let mut days: BTreeMap<(i32, String), Vec<products::ProductFigures>> = BTreeMap::new();
    // Per template-day, clicks per (type, button), summed over products.
    let mut buttons: BTreeMap<(i32, String), BTreeMap<(String, String), i64>> = BTreeMap::new();
    for p in points {
        let Some(&row) = rows.get(&p.template_id) else {
            continue;
        };
        let per_day = buttons.entry((row, p.day.clone())).or_default();
        for (kind, button, n) in &p.buttons {
            *per_day.entry((kind.clone(), button.clone())).or_default() += n;
        }
        days.entry((row, p.day))
            .or_default()
            .push(products::ProductFigures {
                product: p.product.to_string(),
                sent: p.sent,
                delivered: p.delivered,
                read: p.read,
                clicked: p.clicked,
                unique_clicked: p.unique_clicked,
                cost: p.cost,
            });
    }
    let mut n = 0;
    for ((row, day), split) in days {
        let counts = usage::Counts {
            sent: split.iter().map(|f| f.sent).sum(),
            delivered: split.iter().map(|f| f.delivered).sum(),
            read: split.iter().map(|f| f.read).sum(),
            clicked: split.iter().map(|f| f.clicked).sum(),
            failed: 0,
        };
        let cost = split.iter().map(|f| f.cost).sum();
        n += u32::from(usage::set_meta(c, row, &day, counts, cost)?);
        products::set(c, row, &day, &split)?;
        let clicks: Vec<ButtonClicks> = buttons
            .remove(&(row, day.clone()))
            .unwrap_or_default()
            .into_iter()
            .map(|((kind, button), clicks)| ButtonClicks {
                kind,
                button,
                clicks,
            })
            .collect();
        crate::db::models::buttons::set(c, row, &day, &clicks)?;
    }
    Ok(n)
}

async fn history(
    ctx: &SyncContext,
    source: &Graph,
    account: &AccountConfig,
    account_id: i32,
    now: DateTime<Utc>,
    report: &mut UsageReport,
) -> Result<(), String> {
    debug_assert_eq!(account.source, SourceKind::Kapso);
    let numbers = source.phone_numbers().await.map_err(|e| e.to_string())?;
    let ts = now.timestamp();
    for pnid in numbers {
        let p = pnid.clone();
        let mark = ctx
            .db
            .run(move |c| usage::history_since(c, account_id, &p))
            .await
            .map_err(|e| e.to_string())?;
        // Re-read an hour before the mark: statuses of recent messages may have moved on.
        let since = mark.map_or(ts - 7 * 86_400, |m| m - 3600);
        let resolver = Arc::new(Resolver::default().with_phone(&pnid, &account.name, "kapso"));
        let mut after: Option<String> = None;
        let mut newest = mark.unwrap_or(since);
        loop {
            let (items, next) = source
                .message_page(&pnid, since, after.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            let mut events: Vec<IngestEvent> = Vec::new();
            for item in &items {
                if let Some(created) = item.get("timestamp").and_then(crate::ingest::int_of) {
                    newest = newest.max(created);
                }
                let status = item
                    .pointer("/kapso/status")
                    .and_then(|s| s.as_str())
                    .unwrap_or("sent");
                let wrapped = serde_json::json!({"message": item, "phone_number_id": pnid});
                for mut ev in
                    kapso::parse(&format!("whatsapp.message.{status}"), &wrapped, ts).events
                {
                    if let IngestEvent::Status(s) = &mut ev {
                        s.origin = "history";
                    }
                    events.push(ev);
                }
            }
            report.messages += items.len() as u32;
            let r = resolver.clone();
            ctx.db
                .write(move |c| apply::apply(c, &r, &events, None, ts))
                .await
                .map_err(|e| e.to_string())?;
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        let p = pnid.clone();
        ctx.db
            .write(move |c| usage::set_history_since(c, account_id, &p, newest, ts))
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
