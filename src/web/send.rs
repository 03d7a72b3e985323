//! Sending over HTTP: `POST /api/send` for scripts (the dashboard token as a Bearer token is
//! required, even on loopback: a send is not something a page should do by accident) and the
//! template page's Send test form (logged in, CSRF-protected). Both go through
//! [`crate::send::send`], so they check exactly what the CLI checks.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::csrf_ok;
use super::error::WebError;
use super::flash::{self, Flash, FlashItem};
use super::pages::{layout, Layout};
use super::query::SendForm;
use super::AppState;
use crate::clock;
use crate::db::models::templates as tpl;
use crate::send::{self, params, Content, ErrorKind, SendError, SendRequest};
use crate::signing;

/// The JSON body of `POST /api/send`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSend {
    account: String,
    to: String,
    #[serde(default)]
    template: Option<String>,
    #[serde(default)]
    language: Option<String>,
    /// `["Ana", "A-1"]`, or `{"first_name": "Ana"}` for named parameters.
    #[serde(default)]
    params: Option<Value>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    force: bool,
    #[serde(default)]
    from: Option<String>,
}

fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::NotApproved | ErrorKind::WindowClosed => StatusCode::CONFLICT,
        ErrorKind::Upstream => StatusCode::BAD_GATEWAY,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Uncertain => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"kind": "invalid", "message": message}))).into_response()
}

/// `["a", "b"]` or `{"k": "v"}` as `--param` strings.
fn param_list(v: Option<Value>) -> Result<Vec<String>, String> {
    let text = |x: &Value| match x {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!("a parameter must be text, not {other}")),
    };
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a.iter().map(text).collect(),
        Some(Value::Object(o)) => o
            .iter()
            .map(|(k, v)| Ok(format!("{k}={}", text(v)?)))
            .collect(),
        Some(_) => Err("`params` is a list of values or an object of names to values".into()),
    }
}

pub async fn api(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(token) = &state.config.dashboard.token else {
        return refuse(
            StatusCode::FORBIDDEN,
            "sending over HTTP needs a dashboard token: set [dashboard] token, then send it as \
             Authorization: Bearer <token>",
        );
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let expected = signing::sign(token.expose().as_bytes(), b"templar api send");
    if !bearer.is_some_and(|b| signing::verify(b.as_bytes(), b"templar api send", &expected)) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "POST /api/send takes the dashboard token as Authorization: Bearer <token>",
        );
    }
    let req: ApiSend = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("bad JSON body: {e}")),
    };
    let content = match (req.template, req.text) {
        (Some(name), None) => match param_list(req.params) {
            Ok(params) => Content::Template {
                name,
                language: req.language,
                params,
            },
            Err(m) => return refuse(StatusCode::BAD_REQUEST, &m),
        },
        (None, Some(text)) => Content::Text(text),
        _ => return refuse(StatusCode::BAD_REQUEST, "give either `template` or `text`"),
    };
    let sreq = SendRequest {
        account: req.account,
        to: req.to,
        from: req.from,
        content,
        force: req.force,
    };
    let now = clock::now().timestamp();
    match send::send(
        &state.config,
        &state.db,
        state.sync.client.clone(),
        &sreq,
        now,
    )
    .await
    {
        Ok(sent) => (StatusCode::OK, Json(sent)).into_response(),
        Err(e) => (status_of(e.kind), Json(e)).into_response(),
    }
}

/// `GET /templates/{id}/send` (a period chip on the refused-send page, a reload): the template's
/// page, with the same query.
pub async fn back(Path(id): Path<String>, uri: axum::http::Uri) -> Response {
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    axum::response::Redirect::to(&format!(
        "/templates/{}{query}",
        super::query::encode_value(&id)
    ))
    .into_response()
}

/// The Send test form again, with what was typed and why it was not sent.
#[derive(Template)]
#[template(path = "send.html")]
pub struct SendPage {
    pub layout: Layout,
    pub template_id: String,
    pub template_name: String,
    pub to: String,
    /// (label, field name, value typed, example) per parameter.
    pub fields: Vec<(String, String, String, String)>,
    pub error: SendError,
}

/// `POST /templates/{id}/send`: fields `csrf`, `to`, and `p0`, `p1`, … in the order of the
/// template's parameters. Sent: back to the template's page, which says so. Not sent: the form
/// again, filled in, with the reason.
pub async fn form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<SendForm>,
) -> Result<Response, WebError> {
    if !csrf_ok(&state, &f.csrf) {
        return Err(WebError::BadRequest(
            "The form expired or did not come from this dashboard; reload the page and try again."
                .into(),
        ));
    }
    let tid = id.clone();
    let found: Option<(String, String, String, String)> = state
        .db
        .run(move |c| {
            Ok(tpl::with_account(c, &tid)?
                .filter(|t| t.row.deleted_at.is_none())
                .map(|t| (t.account, t.row.name, t.row.language, t.row.components)))
        })
        .await?;
    let Some((account, name, language, components)) = found else {
        return Err(WebError::NotFound(format!("No template with id {id}.")));
    };
    let comps: Value = serde_json::from_str(&components).unwrap_or(Value::Null);
    let slots = params::slots(&comps);
    let given: Vec<String> = slots
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let v = f.param(i)?;
            (!v.is_empty()).then(|| format!("{}={v}", s.key))
        })
        .collect();
    let req = SendRequest {
        account,
        to: f.to.clone(),
        from: None,
        content: Content::Template {
            name: name.clone(),
            language: Some(language.clone()),
            params: given,
        },
        force: false,
    };
    let now = clock::now().timestamp();
    let result = send::send(
        &state.config,
        &state.db,
        state.sync.client.clone(),
        &req,
        now,
    )
    .await;
    match result {
        Ok(sent) => {
            let status = sent.message_status.as_deref();
            let mut items = vec![FlashItem {
                text: format!("Message id {}", sent.message_id),
                href: None,
            }];
            if let Some(note) = send::status_note(status) {
                items.push(FlashItem {
                    text: note.to_string(),
                    href: None,
                });
            }
            items.push(FlashItem {
                text: "Delivery and reads show up here as the status webhooks arrive.".into(),
                href: None,
            });
            let message = Flash {
                tone: "ok",
                title: format!(
                    "Sent to {} from {} ({})",
                    sent.to,
                    sent.from,
                    status.unwrap_or("accepted")
                ),
                items,
            };
            let back = format!("/templates/{id}");
            Ok(flash::redirect(&back, &state.flashes.put(message)))
        }
        Err(error) => {
            let fields = slots
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    (
                        s.label(),
                        format!("p{i}"),
                        f.param(i).unwrap_or_default().to_string(),
                        s.example.clone().unwrap_or_default(),
                    )
                })
                .collect();
            let page = SendPage {
                layout: layout(&state, "Send test", "templates", &Default::default())?,
                template_id: id,
                template_name: format!("{name} ({language})"),
                to: f.to.clone(),
                fields,
                error,
            };
            Ok((status_of(page.error.kind), Html(page.render()?)).into_response())
        }
    }
}
