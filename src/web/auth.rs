//! Who may see the dashboard. Bound to a loopback address without a token, it is open (only this
//! machine can reach it). Otherwise a login with `dashboard.token` sets an HttpOnly, SameSite
//! cookie; API clients may send `Authorization: Bearer <token>` instead. State-changing forms
//! carry a CSRF token checked in constant time.

use askama::Template;
use axum::extract::{Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::query::encode_value;
use super::AppState;
use crate::signing;

const COOKIE: &str = "templar_session";

/// The session cookie's value for a token: an HMAC, so the token itself never sits in a cookie.
fn session_value(token: &str) -> String {
    signing::sign(token.as_bytes(), b"templar dashboard session")
}

/// The CSRF token of this process.
pub fn csrf_token(state: &AppState) -> String {
    signing::sign(state.csrf_key.as_bytes(), b"csrf")
}

/// Whether a submitted CSRF token is this process's (constant time).
pub fn csrf_ok(state: &AppState, submitted: &str) -> bool {
    signing::verify(state.csrf_key.as_bytes(), b"csrf", submitted)
}

fn cookie<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether the request carries a login cookie (valid or not): a browser's ambient authority.
pub fn has_session(req: &Request) -> bool {
    cookie(req, COOKIE).is_some()
}

/// Whether the request carries `Authorization: Bearer` with the configured dashboard token
/// (constant time); never true without a token configured.
pub fn valid_bearer(state: &AppState, req: &Request) -> bool {
    let Some(token) = &state.config.dashboard.token else {
        return false;
    };
    let expected = session_value(token.expose());
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| signing::verify(t.as_bytes(), b"templar dashboard session", &expected))
}

/// Lets a request through if no login is needed or it carries a valid session or bearer token.
pub async fn require_login(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(token) = &state.config.dashboard.token else {
        return next.run(req).await;
    };
    const LABEL: &[u8] = b"templar dashboard session";
    let expected = session_value(token.expose());
    // Both checks compare in constant time.
    let by_cookie =
        cookie(&req, COOKIE).is_some_and(|v| signing::verify(token.expose().as_bytes(), LABEL, v));
    let by_bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| signing::verify(t.as_bytes(), LABEL, &expected));
    if by_cookie || by_bearer {
        return next.run(req).await;
    }
    let path = req.uri().path().to_string();
    if path.starts_with("/api/") || path.starts_with("/export") || path == "/metrics" {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"error": "login required"})),
        )
            .into_response();
    }
    Redirect::to(&format!("/login?next={}", encode_value(&path))).into_response()
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    next: String,
    failed: bool,
    version: &'static str,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only a path on this site: a login must not redirect elsewhere (see [`super::flash::local_path`]).
fn safe_next(next: Option<String>) -> String {
    super::flash::local_path(next.as_deref())
}

pub async fn login_form(Query(q): Query<NextQuery>) -> Response {
    let page = LoginPage {
        next: safe_next(q.next),
        failed: false,
        version: env!("CARGO_PKG_VERSION"),
    };
    Html(page.render().unwrap_or_default()).into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
    next: Option<String>,
}

pub async fn login(State(state): State<AppState>, Form(f): Form<LoginForm>) -> Response {
    let next = safe_next(f.next);
    let Some(token) = &state.config.dashboard.token else {
        return Redirect::to(&next).into_response();
    };
    let expected = session_value(token.expose());
    if !signing::verify(f.token.as_bytes(), b"templar dashboard session", &expected) {
        tracing::warn!("dashboard login refused: wrong token");
        let page = LoginPage {
            next,
            failed: true,
            version: env!("CARGO_PKG_VERSION"),
        };
        return (
            StatusCode::UNAUTHORIZED,
            Html(page.render().unwrap_or_default()),
        )
            .into_response();
    }
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000",
        session_value(token.expose())
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
}

pub async fn logout() -> Response {
    let cookie = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response()
}

#[cfg(test)]
mod tests;
