//! `POST /sync`: the Sync now button, for one account or all; CSRF-protected. It answers with a
//! redirect back to the page it was pressed on, which then lists what changed, with links.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use crate::clock;
use crate::sync::{run_once, SyncError, SyncMode, SyncOptions, SyncReport};
use crate::web::auth::csrf_ok;
use crate::web::error::WebError;
use crate::web::flash::{self, Flash, FlashItem};
use crate::web::AppState;

/// Changes listed one by one at most; the rest are counted.
const LISTED: usize = 50;

#[derive(Deserialize)]
pub struct SyncForm {
    #[serde(default)]
    account: String,
    #[serde(default)]
    csrf: String,
    /// The page to return to (a path on this site).
    back: Option<String>,
}

pub async fn run(
    State(state): State<AppState>,
    Form(f): Form<SyncForm>,
) -> Result<Response, WebError> {
    if !csrf_ok(&state, &f.csrf) {
        return Err(WebError::BadRequest(
            "The form expired or did not come from this dashboard; reload the page and try again."
                .into(),
        ));
    }
    let account = Some(f.account.trim().to_string()).filter(|a| !a.is_empty());
    if let Some(a) = &account {
        if state.config.account(a).is_err() {
            return Err(WebError::NotFound(format!("No account named {a}.")));
        }
    }
    let opts = SyncOptions {
        mode: SyncMode::Full,
        account,
        dry_run: false,
    };
    let message = match run_once(&state.sync, &opts, clock::now()).await {
        Ok(report) => summary(&report),
        Err(SyncError::AlreadyRunning(_)) => Flash {
            tone: "warn",
            title: "Another sync is running right now; its changes will show here shortly.".into(),
            items: Vec::new(),
        },
        Err(e) => return Err(WebError::Internal(e.to_string())),
    };
    let back = flash::local_path(f.back.as_deref());
    Ok(flash::redirect(&back, &state.flashes.put(message)))
}

/// `GET /sync` (an old bookmark, a reloaded result): the overview.
pub async fn get() -> Response {
    Redirect::to("/").into_response()
}

/// What the run did, per account, then each change with a link to its template.
fn summary(report: &SyncReport) -> Flash {
    let failed = report.accounts.iter().filter(|a| a.error.is_some()).count();
    let changes: usize = report.accounts.iter().map(|a| a.changes.len()).sum();
    let who = match report.accounts.as_slice() {
        [one] => one.account.clone(),
        all => format!("{} accounts", all.len()),
    };
    let title = match (failed, changes) {
        (0, 0) => format!("Synced {who}: nothing changed"),
        (0, 1) => format!("Synced {who}: 1 change"),
        (0, n) => format!("Synced {who}: {n} changes"),
        (f, _) => format!("Synced {who}: {f} failed"),
    };
    let mut items: Vec<FlashItem> = report
        .accounts
        .iter()
        .map(|a| FlashItem {
            text: match &a.error {
                Some(e) => format!("{}: failed: {e}", a.account),
                None => format!(
                    "{}: {}, {} seen, {} new, {} changed, {} removed",
                    a.account, a.outcome, a.seen, a.created, a.changed, a.removed
                ),
            },
            href: Some(format!("/accounts/{}", a.account)),
        })
        .collect();
    let all = report
        .accounts
        .iter()
        .flat_map(|a| a.changes.iter().map(move |c| (a, c)));
    for (a, c) in all.take(LISTED) {
        items.push(FlashItem {
            text: format!(
                "{} · {} ({}): {} {} → {}",
                a.account,
                c.template,
                c.language,
                c.field,
                c.from.as_deref().unwrap_or("(new)"),
                c.to
            ),
            href: (!c.id.is_empty()).then(|| format!("/templates/{}", c.id)),
        });
    }
    if changes > LISTED {
        items.push(FlashItem {
            text: format!("… and {} more changes", changes - LISTED),
            href: Some("/templates?sort=changed&dir=desc".into()),
        });
    }
    Flash {
        tone: if failed > 0 { "bad" } else { "ok" },
        title,
        items,
    }
}
