//! Walking an account's listing: every page fetched, each reconciled through the ledger while the
//! next is on its way.

use std::collections::HashSet;
use std::sync::Arc;

use super::*;
use crate::db::models::accounts;
use crate::db::models::templates as tpl;
use crate::db::{Db, DbError};
use crate::domain::{EventSource, RemoteTemplate, TemplateStatus};
use crate::ledger::{apply, plan};
use crate::sources::{Graph, ListFilter};

/// What a batch write needs to know about its account and run.
#[derive(Clone)]
pub(crate) struct AccountKey {
    pub(crate) name: String,
    pub(crate) source: &'static str,
    pub(crate) now: i64,
    pub(crate) dry_run: bool,
}

pub(crate) type BatchTask = tokio::task::JoinHandle<Result<AccountReport, DbError>>;

/// Fetches every page (or, in pending mode, the templates under review), reconciling each page
/// while the next one is on its way. Returns the ids seen.
pub(crate) async fn walk(
    ctx: &SyncContext,
    source: &Graph,
    key: &AccountKey,
    mode: SyncMode,
    report: &mut AccountReport,
) -> Result<HashSet<String>, String> {
    let mut seen = HashSet::new();
    let mut inflight: Option<BatchTask> = None;
    let fetched = walk_pages(ctx, source, key, mode, report, &mut seen, &mut inflight).await;
    // Whatever happened upstream, what was already fetched is committed and counted.
    if let Some(task) = inflight.take() {
        merge(report, task).await?;
    }
    fetched.map_err(|e| e.to_string())?;
    report.seen = seen.len() as u32;
    Ok(seen)
}

pub(crate) async fn merge(report: &mut AccountReport, task: BatchTask) -> Result<(), String> {
    let part = task
        .await
        .map_err(|_| "a database task failed".to_string())?
        .map_err(|e| e.to_string())?;
    report.created += part.created;
    report.changed += part.changed;
    report.events += part.events;
    report.changes.extend(part.changes);
    Ok(())
}

pub(crate) async fn walk_pages(
    ctx: &SyncContext,
    source: &Graph,
    key: &AccountKey,
    mode: SyncMode,
    report: &mut AccountReport,
    seen: &mut HashSet<String>,
    inflight: &mut Option<BatchTask>,
) -> Result<(), String> {
    let wabas = source.wabas().await.map_err(|e| e.to_string())?;
    if wabas.is_empty() {
        return Err(
            "no WhatsApp Business Account found: set `waba_id`, or check the account's \
                    phone numbers"
                .into(),
        );
    }
    report.wabas = wabas.clone();
    let filter = match mode {
        SyncMode::Full => ListFilter::default(),
        SyncMode::Pending => ListFilter {
            statuses: vec!["PENDING".into(), "IN_APPEAL".into()],
        },
    };
    let mut read = 0usize;
    for waba in &wabas {
        let mut after: Option<String> = None;
        let mut followed = HashSet::new();
        let mut linked = false;
        loop {
            let page = source
                .list_page(waba, &filter, after.as_deref(), linked)
                .await
                .map_err(|e| e.to_string())?;
            linked |= page.linked;
            report.pages += 1;
            report.skipped += page.malformed.len() as u32 + page.unidentified;
            report.unidentified += page.unidentified;
            read += page.templates.len();
            seen.extend(page.malformed);
            seen.extend(page.templates.iter().map(|t| t.id.clone()));
            submit(ctx, key, report, inflight, page.templates).await?;
            match page.next {
                Some(next) if !followed.insert(next.clone()) => {
                    return Err(format!(
                        "the template listing of WABA {waba} cannot be completed: its cursor came \
                         back to a page already read (after {} pages); nothing was marked deleted",
                        followed.len() + 1
                    ));
                }
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }
    if read == 0 && report.skipped > 0 {
        return Err(format!(
            "none of the {} template records upstream returned could be read (see the log for \
             why); nothing was marked deleted",
            report.skipped
        ));
    }
    if mode == SyncMode::Pending {
        // Templates that left review are no longer in the filtered listing: look each one up.
        let name = key.name.clone();
        let under_review: Vec<(String, String)> = ctx
            .db
            .run(move |conn| {
                let Some(id) = accounts::find_id(conn, &name)? else {
                    return Ok(vec![]);
                };
                Ok(tpl::for_account(conn, id)?
                    .into_iter()
                    .filter(|t| t.deleted_at.is_none())
                    .filter(|t| TemplateStatus::parse(&t.status).is_under_review())
                    .map(|t| (t.waba_id, t.template_id))
                    .collect())
            })
            .await
            .map_err(|e| e.to_string())?;
        let mut found = Vec::new();
        let missing: Vec<_> = under_review
            .into_iter()
            .filter(|(_, id)| !seen.contains(id))
            .collect();
        for (waba, id) in missing {
            if let Some(t) = source
                .get_template(&waba, &id)
                .await
                .map_err(|e| e.to_string())?
            {
                seen.insert(t.id.clone());
                found.push(t);
            }
        }
        submit(ctx, key, report, inflight, found).await?;
    }
    Ok(())
}

/// Starts reconciling a batch, after collecting the one before it: one write in flight.
pub(crate) async fn submit(
    ctx: &SyncContext,
    key: &AccountKey,
    report: &mut AccountReport,
    inflight: &mut Option<BatchTask>,
    templates: Vec<RemoteTemplate>,
) -> Result<(), String> {
    let task = tokio::spawn(reconcile_batch(ctx.db.clone(), key.clone(), templates));
    match inflight.replace(task) {
        Some(previous) => merge(report, previous).await,
        None => Ok(()),
    }
}

/// Reconciles one batch of fetched templates. Plans on a read first, and takes the write lock
/// only when something changed (then plans again inside the transaction, so a concurrent
/// webhook cannot be overwritten by a stale plan).
pub(crate) async fn reconcile_batch(
    db: Db,
    key: AccountKey,
    templates: Vec<RemoteTemplate>,
) -> Result<AccountReport, DbError> {
    if templates.is_empty() {
        return Ok(AccountReport::default());
    }
    let templates = Arc::new(templates);
    let (name, fetched) = (key.name.clone(), templates.clone());
    let now = key.now;
    let planned = db
        .run(move |conn| {
            let rows = match accounts::find_id(conn, &name)? {
                Some(id) => tpl::by_template_ids(conn, id, fetched.iter().map(|t| t.id.as_str()))?,
                None => vec![],
            };
            Ok(plan(&rows, &fetched, now))
        })
        .await?;
    if planned.is_empty() || key.dry_run {
        let mut r = AccountReport::default();
        tally(&planned, &mut r);
        return Ok(r);
    }
    db.write(move |conn| {
        let id = accounts::ensure(conn, &key.name, key.source, now)?;
        let rows = tpl::by_template_ids(conn, id, templates.iter().map(|t| t.id.as_str()))?;
        let plan = plan(&rows, &templates, now);
        apply(conn, id, &plan, now, EventSource::Sync)?;
        let mut r = AccountReport::default();
        tally(&plan, &mut r);
        Ok(r)
    })
    .await
}
