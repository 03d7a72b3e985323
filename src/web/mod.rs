//! The HTTP server of `templar serve`: health and, as it grows, the dashboard, JSON API and
//! webhook receivers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::db::Db;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
}

/// The application's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
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
