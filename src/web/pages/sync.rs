//! `POST /sync`: the Sync now button, for one account or all; CSRF-protected.

use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse};
use axum::Form;
use serde::Deserialize;

use super::Layout;
use crate::clock;
use crate::sync::{run_once, SyncError, SyncMode, SyncOptions, SyncReport};
use crate::web::auth::csrf_ok;
use crate::web::error::WebError;
use crate::web::AppState;

#[derive(Deserialize)]
pub struct SyncForm {
    #[serde(default)]
    account: String,
    #[serde(default)]
    csrf: String,
}

/// The result page.
#[derive(Template)]
#[template(path = "sync.html")]
pub struct SyncPage {
    pub layout: Layout,
    pub report: Option<SyncReport>,
    pub busy: bool,
}

pub async fn run(
    State(state): State<AppState>,
    Form(f): Form<SyncForm>,
) -> Result<impl IntoResponse, WebError> {
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
    let layout = super::layout(&state, "Sync", "overview", &Default::default())?;
    let opts = SyncOptions {
        mode: SyncMode::Full,
        account,
        dry_run: false,
    };
    let (report, busy) = match run_once(&state.sync, &opts, clock::now()).await {
        Ok(r) => (Some(r), false),
        Err(SyncError::AlreadyRunning(_)) => (None, true),
        Err(e) => return Err(WebError::Internal(e.to_string())),
    };
    Ok(Html(
        SyncPage {
            layout,
            report,
            busy,
        }
        .render()?,
    ))
}
