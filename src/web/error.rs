//! The one error type of web handlers: it renders the error page in the dashboard's layout (or
//! JSON under `/api/`) with the right status, and logs internal errors once, here. Unknown
//! paths and methods come here too ([`not_found`], [`method_not_allowed`]).

use askama::Template;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};

/// What went wrong in a handler.
#[derive(Debug)]
pub enum WebError {
    NotFound(String),
    MethodNotAllowed(String),
    BadRequest(String),
    Internal(String),
}

impl From<crate::db::DbError> for WebError {
    fn from(e: crate::db::DbError) -> Self {
        WebError::Internal(e.to_string())
    }
}

impl From<diesel::result::Error> for WebError {
    fn from(e: diesel::result::Error) -> Self {
        WebError::Internal(e.to_string())
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        WebError::Internal(e.to_string())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: crate::web::pages::Layout,
    status: u16,
    message: &'a str,
}

impl WebError {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            WebError::NotFound(m) => (StatusCode::NOT_FOUND, "Not found", m.clone()),
            WebError::MethodNotAllowed(m) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "Method not allowed",
                m.clone(),
            ),
            WebError::BadRequest(m) => (StatusCode::BAD_REQUEST, "Bad request", m.clone()),
            WebError::Internal(m) => {
                tracing::error!("web request failed: {m}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The error was logged.".into(),
                )
            }
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, title, message) = self.parts();
        let page = ErrorPage {
            layout: crate::web::pages::Layout::plain(title),
            status: status.as_u16(),
            message: &message,
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, message).into_response(),
        }
    }
}

/// The same error for JSON clients.
pub struct ApiError(pub WebError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, title, message) = self.0.parts();
        (
            status,
            axum::Json(serde_json::json!({"error": title, "message": message})),
        )
            .into_response()
    }
}

impl<E: Into<WebError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

fn is_api(uri: &Uri) -> bool {
    uri.path().starts_with("/api/")
}

fn render(uri: &Uri, e: WebError) -> Response {
    if is_api(uri) {
        ApiError(e).into_response()
    } else {
        e.into_response()
    }
}

/// The answer to a path templar does not serve.
pub async fn not_found(uri: Uri) -> Response {
    let message = format!("There is no page at {}.", uri.path());
    render(&uri, WebError::NotFound(message))
}

/// The answer to a known path asked with a method it does not take (a bookmarked form target).
pub async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let message = format!("{} does not take {method} requests.", uri.path());
    render(&uri, WebError::MethodNotAllowed(message))
}
