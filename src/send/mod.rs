//! Sending: the 24-hour customer-service window, template sends checked locally before they
//! leave (exists, APPROVED, parameters fit), free-form text refused when the window is closed,
//! upstream errors explained, and every sent message recorded so its delivery shows up in the
//! analytics. The CLI (`templar send`, `templar window`), `POST /api/send` and the dashboard's
//! Send test form all come through [`send`].

pub mod params;

use serde::Serialize;
use serde_json::{json, Value};

use crate::config::{AccountConfig, Config};
use crate::db::models::accounts;
use crate::db::models::templates::{self as tpl, ListQuery, TemplateRow};
use crate::db::models::usage::{self, NewMessage};
use crate::db::Db;
use crate::ingest::OPAQUE_PREFIX;
use crate::sources::{digits, Graph};
use params::ParamError;

mod window;
pub use window::*;

mod refusal;
pub use refusal::*;

/// What to send.
#[derive(Debug, Clone)]
pub enum Content {
    Template {
        name: String,
        language: Option<String>,
        /// `VALUE` or `KEY=VALUE`, as given.
        params: Vec<String>,
    },
    Text(String),
}

/// A send, as the CLI, the API and the form describe it.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub account: String,
    pub to: String,
    /// The phone number id to send from; the account's first when absent.
    pub from: Option<String>,
    pub content: Content,
    /// Send free-form text even when the window looks closed.
    pub force: bool,
}

/// A sent message.
#[derive(Debug, Clone, Serialize)]
pub struct Sent {
    pub message_id: String,
    /// `accepted`, `held_for_quality_assessment` or `paused` for templates.
    pub message_status: Option<String>,
    pub account: String,
    pub from: String,
    pub to: String,
    pub wa_id: Option<String>,
    /// `name (language)` for template sends.
    pub template: Option<String>,
    pub template_id: Option<String>,
}

/// A phone number as WhatsApp ids write it: digits only, 7 to 15 of them; or a business-scoped
/// user id (BSUID: a country code, a dot and letters or digits, e.g. `US.13491208655302741918`),
/// which Meta gives for users who show a username instead of their number.
pub fn normalize_number(raw: &str) -> Result<String, SendError> {
    let raw = raw.trim();
    if let Some(bsuid) = crate::domain::bsuid(raw) {
        return Ok(bsuid);
    }
    let d = digits(raw);
    let junk = raw
        .chars()
        .any(|c| !(c.is_ascii_digit() || " +-().".contains(c)));
    if junk || !(7..=15).contains(&d.len()) {
        return Err(SendError::new(
            ErrorKind::Invalid,
            format!(
                "`{raw}` is not a phone number or a business-scoped user id: give the number in \
                 international format, country code first (e.g. +15551234567), or the user id \
                 as Meta sent it (e.g. US.13491208655302741918)"
            ),
        ));
    }
    Ok(d)
}

/// The addressing of a send: `to` for a phone number, `recipient` for a business-scoped user
/// id (Meta's rule; `to` would win if both were given).
fn address(body: &mut Value, to: &str) {
    let key = if crate::domain::bsuid(to).is_some() {
        "recipient"
    } else {
        "to"
    };
    body[key] = json!(to);
}

fn account<'a>(config: &'a Config, name: &str) -> Result<&'a AccountConfig, SendError> {
    config
        .account(name)
        .map_err(|e| SendError::new(ErrorKind::Invalid, e.to_string()))
}

/// The phone number to send from: the asked one (which must be the account's), else the first.
async fn sender(
    manage: &Graph,
    account: &AccountConfig,
    from: Option<&str>,
) -> Result<String, SendError> {
    let numbers = manage.phone_numbers().await.map_err(upstream_error)?;
    match from {
        Some(f) if numbers.iter().any(|n| n == f) => Ok(f.to_string()),
        Some(f) => Err(SendError::new(
            ErrorKind::Invalid,
            format!(
                "{f} is not one of account {}'s phone numbers ({})",
                account.name,
                if numbers.is_empty() {
                    "none".into()
                } else {
                    numbers.join(", ")
                }
            ),
        )),
        None => numbers.into_iter().next().ok_or_else(|| {
            SendError::new(
                ErrorKind::Invalid,
                format!(
                    "account {} has no phone number to send from: list phone_number_ids in its \
                     [[account]] section",
                    account.name
                ),
            )
        }),
    }
}

/// The account's template called `name`: the one language given, or the only one there is.
fn pick_template(
    rows: Vec<TemplateRow>,
    name: &str,
    language: Option<&str>,
    account: &str,
) -> Result<TemplateRow, SendError> {
    let all: Vec<TemplateRow> = rows.into_iter().filter(|r| r.name == name).collect();
    if all.is_empty() {
        return Err(SendError::new(
            ErrorKind::Invalid,
            format!(
                "account {account} has no template named `{name}` (as of the last sync; run \
                 `templar sync --account {account}` if it is new)"
            ),
        ));
    }
    let languages: Vec<String> = all.iter().map(|r| r.language.clone()).collect();
    let mut chosen: Vec<TemplateRow> = match language {
        Some(l) => all
            .into_iter()
            .filter(|r| r.language.eq_ignore_ascii_case(l))
            .collect(),
        None => all,
    };
    match (chosen.pop(), chosen.is_empty()) {
        (Some(one), true) => Ok(one),
        (None, _) => Err(SendError::new(
            ErrorKind::Invalid,
            format!(
                "`{name}` has no {} version; it exists in {}",
                language.unwrap_or(""),
                languages.join(", ")
            ),
        )),
        (Some(_), false) => Err(SendError::new(
            ErrorKind::Invalid,
            format!(
                "`{name}` exists in {}: pass --language",
                languages.join(", ")
            ),
        )),
    }
}

/// Checks, sends and records one message.
pub async fn send(
    config: &Config,
    db: &Db,
    client: reqwest::Client,
    req: &SendRequest,
    now: i64,
) -> Result<Sent, SendError> {
    let account = account(config, &req.account)?;
    let to = normalize_number(&req.to)?;
    let manage = Graph::for_account(account, &config.sync, client);
    let mut template: Option<TemplateRow> = None;
    let body = match &req.content {
        Content::Text(text) => {
            if text.trim().is_empty() {
                return Err(SendError::new(ErrorKind::Invalid, "the text is empty"));
            }
            if text.chars().count() > 4096 {
                return Err(SendError::new(
                    ErrorKind::Invalid,
                    format!(
                        "the text is {} characters; WhatsApp takes at most 4096",
                        text.chars().count()
                    ),
                ));
            }
            let mut body = json!({"messaging_product": "whatsapp", "recipient_type": "individual",
                   "type": "text", "text": {"preview_url": false, "body": text}});
            address(&mut body, &to);
            body
        }
        Content::Template {
            name,
            language,
            params: given,
        } => {
            let q = ListQuery {
                account: Some(account.name.clone()),
                name_contains: Some(name.clone()),
                ..Default::default()
            };
            let rows = db
                .run(move |c| tpl::list(c, &q))
                .await
                .map_err(SendError::internal)?;
            let t = pick_template(
                rows.into_iter().map(|(r, _, _)| r).collect(),
                name,
                language.as_deref(),
                &account.name,
            )?;
            if let Some(why) = not_sendable(&t) {
                return Err(SendError::new(ErrorKind::NotApproved, why));
            }
            let comps: Value = serde_json::from_str(&t.components).unwrap_or(Value::Null);
            let slots = params::slots(&comps);
            let named = t.parameter_format.as_deref() == Some("NAMED");
            let values = params::bind(&slots, given, named, t.category == "AUTHENTICATION")
                .map_err(|ParamError(m)| {
                    SendError::new(
                        ErrorKind::Invalid,
                        format!("`{}` ({}): {m}", t.name, t.language),
                    )
                })?;
            let mut tmpl = json!({"name": t.name, "language": {"code": t.language, "policy": "deterministic"}});
            let components = params::components(&slots, &values);
            if components.as_array().is_some_and(|c| !c.is_empty()) {
                tmpl["components"] = components;
            }
            let mut body = json!({"messaging_product": "whatsapp", "recipient_type": "individual",
                              "type": "template", "template": tmpl,
                              "biz_opaque_callback_data": format!("{OPAQUE_PREFIX}{}", t.template_id)});
            address(&mut body, &to);
            template = Some(t);
            body
        }
    };
    let from = sender(&manage, account, req.from.as_deref()).await?;
    if let Content::Text(_) = &req.content {
        let w = window_on(db, &manage, account, &from, &to, now).await?;
        if !w.open && !req.force {
            let mut e = SendError::new(
                ErrorKind::WindowClosed,
                format!(
                    "not sent, the 24-hour window is {}.\nA free-form message would fail \
                     upstream with 131047; send a template instead, or pass --force to try anyway",
                    w.describe(now)
                ),
            );
            (e.templates, e.more_templates) = suggestions(db, &account.name, None).await?;
            return Err(e);
        }
    }
    let accepted = match manage.send(&from, &body).await {
        Ok(a) => a,
        Err(e) => {
            let mut err = upstream_error(e);
            if err.kind == ErrorKind::WindowClosed {
                let lang = template.as_ref().map(|t| t.language.clone());
                (err.templates, err.more_templates) =
                    suggestions(db, &account.name, lang.as_deref())
                        .await
                        .unwrap_or_default();
            }
            return Err(err);
        }
    };
    let recipient = accepted.wa_id.clone().unwrap_or_else(|| to.clone());
    let record = NewMessage {
        wamid: accepted.message_id.clone(),
        account_id: None,
        phone_number_id: from.clone(),
        template_row: template.as_ref().map(|t| t.id),
        recipient,
        category: None,
        day: crate::ingest::day_of(now),
        sent_at: None,
        delivered_at: None,
        read_at: None,
        failed_at: None,
        clicked_at: None,
        error_code: None,
        error_title: None,
        origin: "send".into(),
        created_at: now,
        template_ref: None,
    };
    let name = account.name.clone();
    // A failure to record is reported but does not undo the send: it went out.
    if let Err(e) = db
        .write(move |c| {
            let mut record = record;
            record.account_id = accounts::find_id(c, &name)?;
            usage::insert_if_new(c, &record)
        })
        .await
    {
        tracing::error!("sent {} but could not record it: {e}", accepted.message_id);
    }
    Ok(Sent {
        message_id: accepted.message_id,
        message_status: accepted.message_status,
        account: account.name.clone(),
        from,
        to,
        wa_id: accepted.wa_id,
        template: template
            .as_ref()
            .map(|t| format!("{} ({})", t.name, t.language)),
        template_id: template.map(|t| t.template_id),
    })
}

/// What `message_status` means, when it is not plain `accepted`.
pub fn status_note(status: Option<&str>) -> Option<&'static str> {
    match status? {
        "held_for_quality_assessment" => Some(
            "Meta is holding it while it assesses the template's quality (pacing); it is \
             delivered or dropped with error 135000 later",
        ),
        "paused" => Some("the template's sends are paused"),
        _ => None,
    }
}
