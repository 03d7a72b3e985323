//! The HTTP server of `templar serve`: health, metrics, webhook receivers and, as it grows, the
//! dashboard and JSON API.

mod webhooks;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::config::Config;
use crate::db::Db;
use crate::ingest::writer::Writer;
use crate::metrics::Metrics;

/// Largest webhook body accepted (Meta batches up to 1,000 updates in one request).
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub writer: Writer,
    pub metrics: Metrics,
}

/// The application's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/livez", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route(
            "/webhooks/meta",
            get(webhooks::meta_verify).post(webhooks::meta_receive),
        )
        .route("/webhooks/kapso", post(webhooks::kapso_receive))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// 200 with `{"status":"ok"}` when the database answers, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> Response {
    use diesel::RunQueryDsl;
    let db = state
        .db
        .run(|c| diesel::sql_query("SELECT 1").execute(c))
        .await;
    match db {
        Ok(_) => {
            Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")})).into_response()
        }
        Err(e) => {
            tracing::error!("health check failed: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "database": "error"})),
            )
                .into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [("content-type", "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
