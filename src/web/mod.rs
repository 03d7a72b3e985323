//! The HTTP server of `templar serve`: the dashboard (askama pages with JSON mirrors under
//! `/api/`), webhook receivers, health, metrics.

mod auth;
pub mod cache;
pub mod charts;
mod error;
mod export;
pub mod flash;
pub mod fmt;
mod guard;
mod metrics;
pub mod pages;
pub mod query;
mod send;
mod webhooks;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::config::Config;
use crate::db::Db;
use crate::ingest::writer::Writer;
use crate::metrics::Metrics;
use crate::sync::SyncContext;

/// Largest webhook body accepted (Meta batches up to 1,000 updates in one request).
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// What handlers share, in one allocation: axum clones the state for every request (for each
/// layer and the handler), and this makes each clone one reference count rather than a dozen.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The contents of [`AppState`].
pub struct Shared {
    pub db: Db,
    pub config: Arc<Config>,
    pub writer: Writer,
    pub metrics: Metrics,
    /// For Sync now.
    pub sync: SyncContext,
    /// Signs CSRF tokens; random per process.
    pub csrf_key: Arc<String>,
    /// Built dashboard pages, until the data changes.
    pub pages: cache::PageCache,
    /// `[webhooks.meta] app_secret` and `[webhooks.kapso] secret`, keyed once.
    pub meta_key: Option<crate::signing::Key>,
    pub kapso_key: Option<crate::signing::Key>,
    /// The host names this server answers to.
    pub hosts: guard::Hosts,
    /// What a form did, for the page it returns to.
    pub flashes: flash::Flashes,
}

impl AppState {
    /// Everything `serve` shares with its handlers.
    pub fn new(
        db: Db,
        config: Arc<Config>,
        writer: Writer,
        metrics: Metrics,
        sync: SyncContext,
    ) -> Self {
        use rand::Rng;
        let fresh: [u8; 32] = rand::rng().random();
        // Shared through the database, so a form one replica rendered is accepted by another.
        let csrf_key = db
            .conn()
            .map_err(|e| e.to_string())
            .and_then(|mut c| {
                crate::db::models::instance_keys::get_or_create(&mut c, "csrf", &hex::encode(fresh))
                    .map_err(|e| e.to_string())
            })
            .unwrap_or_else(|e| {
                tracing::warn!("CSRF key not shared with other replicas: {e}");
                hex::encode(fresh)
            });
        use crate::signing::Key;
        let hooks = &config.webhooks;
        AppState(Arc::new(Shared {
            // Without a watcher connection the dashboard still works, uncached.
            pages: cache::PageCache::new(
                Some(&db),
                config.server.page_cache_bytes,
                config.server.page_builds,
            ),
            meta_key: hooks
                .meta
                .as_ref()
                .map(|m| Key::new(m.app_secret.expose().as_bytes())),
            kapso_key: hooks
                .kapso
                .as_ref()
                .map(|k| Key::new(k.secret.expose().as_bytes())),
            hosts: guard::Hosts::from_config(&config),
            db,
            config,
            writer,
            metrics,
            sync,
            csrf_key: Arc::new(csrf_key),
            flashes: flash::Flashes::default(),
        }))
    }
}

/// The stylesheet, embedded in the binary (no CDN: the dashboard works offline).
const CSS: &str = include_str!("../../templates/assets/app.css");

/// A short hash of the stylesheet: pages link `/assets/app.css?v=<hash>`, so browsers may
/// cache it forever and still get a changed one at once.
pub fn asset_version() -> &'static str {
    static V: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    V.get_or_init(|| {
        let both = format!("{CSS}{LIVE_JS}");
        crate::signing::sign(b"asset", both.as_bytes())[..12].to_string()
    })
}

/// The application's routes.
pub fn router(state: AppState) -> Router {
    // Pages and their JSON mirrors: built once per data change (see `cache`).
    let cached = Router::new()
        .route("/", get(pages::overview::page))
        .route("/templates", get(pages::templates::page))
        .route("/templates/{id}", get(pages::templates::show))
        .route("/analytics", get(pages::analytics::page))
        .route("/accounts/{name}", get(pages::accounts::page))
        .route("/notifications", get(pages::notifications::page))
        .route("/api/notifications", get(pages::notifications::api))
        .route("/api/overview", get(pages::overview::api))
        .route("/api/templates", get(pages::templates::api))
        .route("/api/templates/{id}", get(pages::templates::show_api))
        .route(
            "/api/templates/{id}/versions",
            get(pages::templates::versions_api),
        )
        .route("/api/analytics", get(pages::analytics::api))
        .route("/api/accounts/{name}", get(pages::accounts::api))
        .route_layer(middleware::from_fn_with_state(state.clone(), cache::layer));
    let dashboard = Router::new()
        .merge(cached)
        .route("/sync", post(pages::sync::run).get(pages::sync::get))
        .route("/templates/{id}/send", post(send::form).get(send::back))
        .route("/api/send", post(send::api))
        .route("/api/changes", get(pages::changes))
        .route("/metrics", get(metrics::metrics))
        .route("/export.csv", get(export::csv))
        .route("/export.json", get(export::json))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_login,
        ));
    Router::new()
        .merge(dashboard)
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/assets/app.css", get(css))
        .route("/assets/live.js", get(live_js))
        .route("/healthz", get(healthz))
        .route("/livez", get(|| async { "ok" }))
        .route(
            "/webhooks/meta",
            get(webhooks::meta_verify).post(webhooks::meta_receive),
        )
        .route("/webhooks/kapso", post(webhooks::kapso_receive))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::deadline,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), guard::layer))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}

/// Counts requests and their time per route (the matched pattern, so ids do not explode the
/// label set).
async fn track(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    let class = format!("{}xx", resp.status().as_u16() / 100);
    let m = &state.metrics;
    m.inc(
        "templar_http_requests_total",
        &[("route", &route), ("status", &class)],
    );
    let seconds = started.elapsed().as_secs_f64();
    m.observe(
        "templar_http_request_seconds",
        &[("route", &route)],
        seconds,
    );
    if let Some(source) = route.strip_prefix("/webhooks/") {
        m.observe(
            "templar_webhook_request_seconds",
            &[("source", source)],
            seconds,
        );
    }
    resp
}

/// The script that says "N new changes" on an open page (the page works without it).
const LIVE_JS: &str = include_str!("../../templates/assets/live.js");

async fn live_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        LIVE_JS,
    )
        .into_response()
}

async fn css() -> Response {
    // Cache-busted by `?v=<version>` in the pages.
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        CSS,
    )
        .into_response()
}

/// 200 with `{"status":"ok"}` when the database answers, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> Response {
    use diesel::RunQueryDsl;
    let db = state
        .db
        .run(|c| diesel::sql_query("SELECT 1").execute(c))
        .await;
    match db {
        Ok(_) => Json(json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
            "leader": state.metrics.is_leader(),
        }))
        .into_response(),
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
