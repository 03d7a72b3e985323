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
use crate::domain::errors;
use crate::ingest::OPAQUE_PREFIX;
use crate::sources::SourceError;
use crate::sources::{digits, Graph};
use params::ParamError;

/// How long after a customer's last message free-form messages may be sent.
pub const WINDOW_SECS: i64 = 24 * 3600;

/// The state of one customer's 24-hour window.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Window {
    pub account: String,
    pub phone_number_id: String,
    pub to: String,
    pub open: bool,
    /// Unix time of the customer's last message, if one was ever seen.
    pub last_inbound_at: Option<i64>,
    /// Where that came from: `webhooks` (templar's own record) or `kapso` (its conversations).
    pub seen_by: Option<String>,
    /// Unix time the window closes (or closed).
    pub closes_at: Option<i64>,
    /// Set when Kapso's conversation record could not be read; the answer then rests on
    /// templar's own record.
    pub warning: Option<String>,
}

impl Window {
    /// A sentence for people.
    pub fn describe(&self, now: i64) -> String {
        let Some(last) = self.last_inbound_at else {
            return format!(
                "closed: no message from {} to {} has been seen, so only an approved template \
                 can reach them",
                self.to, self.phone_number_id
            );
        };
        let closes = last + WINDOW_SECS;
        if self.open {
            format!(
                "open: last message from {} at {} ({} ago); the window closes at {} (in {})",
                self.to,
                crate::clock::human(last),
                span(now - last),
                crate::clock::human(closes),
                span(closes - now)
            )
        } else {
            format!(
                "closed: last message from {} at {} ({} ago); the window closed at {}, so only \
                 an approved template can reach them",
                self.to,
                crate::clock::human(last),
                span(now - last),
                crate::clock::human(closes)
            )
        }
    }
}

/// `3h 20m`, `2d 4h`, `45s`.
pub fn span(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

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

/// An approved template to use instead of free-form text.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Suggestion {
    pub name: String,
    pub language: String,
    pub category: String,
    pub parameters: String,
}

/// Why a send did not happen (or may not have).
#[derive(Debug, Clone, Serialize)]
pub struct SendError {
    pub kind: ErrorKind,
    pub message: String,
    /// The upstream error code, when upstream refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// Approved templates to use instead, when the window is closed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<Suggestion>,
}

/// The kinds of [`SendError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request itself is wrong: unknown account or template, bad number, parameters
    /// that do not fit.
    Invalid,
    /// Refused before sending: the template is not APPROVED.
    NotApproved,
    /// Refused before sending (free-form text) or by upstream (131047): the window is closed.
    WindowClosed,
    /// Upstream refused it.
    Upstream,
    /// Upstream kept refusing for rate after the retries.
    RateLimited,
    /// The request timed out or its answer was lost: it may have been sent.
    Uncertain,
    /// templar's own failure (database).
    Internal,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if !self.templates.is_empty() {
            f.write_str("\napproved templates you can send instead:")?;
            for t in &self.templates {
                write!(
                    f,
                    "\n  {} ({}, {}): {}",
                    t.name, t.language, t.category, t.parameters
                )?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for SendError {}

impl SendError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        SendError {
            kind,
            message: message.into(),
            code: None,
            templates: Vec::new(),
        }
    }

    fn internal(e: impl std::fmt::Display) -> Self {
        SendError::new(ErrorKind::Internal, format!("database: {e}"))
    }
}

fn upstream_error(e: SourceError) -> SendError {
    match e {
        SourceError::Upstream(u) | SourceError::Auth(u) => {
            let kind = if u.code == Some(131047) {
                ErrorKind::WindowClosed
            } else {
                ErrorKind::Upstream
            };
            let message = match u.code.and_then(errors::sentence) {
                Some(why) => format!("upstream refused the message: {why}\n  ({u})"),
                None => format!("upstream refused the message: {u}"),
            };
            SendError {
                kind,
                message,
                code: u.code,
                templates: Vec::new(),
            }
        }
        SourceError::RateLimited { message, .. } => SendError::new(
            ErrorKind::RateLimited,
            format!("upstream kept refusing for rate; nothing was sent: {message}"),
        ),
        SourceError::Unknown(m) => SendError::new(
            ErrorKind::Uncertain,
            format!("{m}. Check the dashboard or the recipient before sending again"),
        ),
        SourceError::Transient(m) => {
            SendError::new(ErrorKind::Upstream, format!("nothing was sent: {m}"))
        }
        SourceError::Shape(m) => SendError::new(ErrorKind::Invalid, m),
    }
}

/// A phone number as WhatsApp ids write it: digits only, 7 to 15 of them.
pub fn normalize_number(raw: &str) -> Result<String, SendError> {
    let d = digits(raw);
    let junk = raw
        .chars()
        .any(|c| !(c.is_ascii_digit() || " +-().".contains(c)));
    if junk || !(7..=15).contains(&d.len()) {
        return Err(SendError::new(
            ErrorKind::Invalid,
            format!(
                "`{raw}` is not a phone number: give it in international format, country code \
                 first, e.g. +15551234567"
            ),
        ));
    }
    Ok(d)
}

fn account<'a>(config: &'a Config, name: &str) -> Result<&'a AccountConfig, SendError> {
    config
        .account(name)
        .map_err(|e| SendError::new(ErrorKind::Invalid, e.message))
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

/// The window of `to` on `from` (the account's first number when absent): templar's own record
/// of inbound messages, and for Kapso accounts its conversation record too (the later wins).
pub async fn window(
    config: &Config,
    db: &Db,
    client: reqwest::Client,
    account_name: &str,
    to: &str,
    from: Option<&str>,
    now: i64,
) -> Result<Window, SendError> {
    let account = account(config, account_name)?;
    let to = normalize_number(to)?;
    let manage = Graph::for_account(account, &config.sync, client);
    let pnid = sender(&manage, account, from).await?;
    window_on(db, &manage, account, &pnid, &to, now).await
}

async fn window_on(
    db: &Db,
    manage: &Graph,
    account: &AccountConfig,
    pnid: &str,
    to: &str,
    now: i64,
) -> Result<Window, SendError> {
    let (p, t) = (pnid.to_string(), to.to_string());
    let local = db
        .run(move |c| usage::last_inbound(c, &p, &t))
        .await
        .map_err(SendError::internal)?;
    let (remote, warning) = match manage.last_inbound(pnid, to).await {
        Ok(r) => (r, None),
        Err(e) => (
            None,
            Some(format!(
                "Kapso's conversation record could not be read ({e}); using templar's own"
            )),
        ),
    };
    let (last, seen_by) = match (local, remote) {
        (Some(l), Some(r)) if r > l => (Some(r), Some("kapso")),
        (Some(l), _) => (Some(l), Some("webhooks")),
        (None, Some(r)) => (Some(r), Some("kapso")),
        (None, None) => (None, None),
    };
    Ok(Window {
        account: account.name.clone(),
        phone_number_id: pnid.to_string(),
        to: to.to_string(),
        open: last.is_some_and(|l| now < l + WINDOW_SECS),
        last_inbound_at: last,
        seen_by: seen_by.map(str::to_string),
        closes_at: last.map(|l| l + WINDOW_SECS),
        warning,
    })
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

/// Why a template with this status cannot be sent, if it cannot.
pub fn not_sendable(t: &TemplateRow) -> Option<String> {
    let what = format!("`{}` ({})", t.name, t.language);
    if t.deleted_at.is_some() {
        return Some(format!("{what} was deleted upstream"));
    }
    Some(match t.status.as_str() {
        "APPROVED" => return None,
        "PENDING" => format!("{what} is still in review (PENDING); upstream would refuse it with 132001. templar notifies you when it is approved"),
        "IN_APPEAL" => format!("{what} is in appeal after a rejection; it cannot be sent until approved"),
        "REJECTED" => format!(
            "{what} was rejected{}; edit it and submit it again (`templar templates apply`)",
            t.rejected_reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default()
        ),
        "PAUSED" => format!("{what} is PAUSED for low quality; upstream would refuse it with 132015. Meta resumes it after 3 or 6 hours, or unpause it in WhatsApp Manager"),
        "DISABLED" => format!("{what} is DISABLED after repeated low quality; upstream would refuse it with 132016. Create a new template instead"),
        "ARCHIVED" => format!("{what} is ARCHIVED after a year unused; unarchive it in WhatsApp Manager first"),
        "PENDING_DELETION" => format!("{what} is being deleted"),
        "LIMIT_EXCEEDED" => format!("{what} is over the account's template limit (LIMIT_EXCEEDED)"),
        other => format!("{what} is {other}, not APPROVED; only approved templates can be sent"),
    })
}

/// Approved templates of an account (in a language, if given), for a closed window.
async fn suggestions(
    db: &Db,
    account: &str,
    language: Option<&str>,
) -> Result<Vec<Suggestion>, SendError> {
    let q = ListQuery {
        account: Some(account.to_string()),
        status: Some("APPROVED".into()),
        language: language.map(str::to_string),
        ..Default::default()
    };
    let rows = db
        .run(move |c| tpl::list(c, &q))
        .await
        .map_err(SendError::internal)?;
    let mut out: Vec<Suggestion> = rows
        .into_iter()
        .map(|(r, _, _)| {
            let comps: Value = serde_json::from_str(&r.components).unwrap_or(Value::Null);
            Suggestion {
                parameters: params::describe(&params::slots(&comps)),
                name: r.name,
                language: r.language,
                category: r.category,
            }
        })
        .collect();
    // Utility first: it is what re-opens a conversation about an order, at the lower price.
    out.sort_by(|a, b| {
        (a.category != "UTILITY", &a.name, &a.language).cmp(&(
            b.category != "UTILITY",
            &b.name,
            &b.language,
        ))
    });
    out.truncate(15);
    Ok(out)
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
            json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
                   "type": "text", "text": {"preview_url": false, "body": text}})
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
            let body = json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
                              "type": "template", "template": tmpl,
                              "biz_opaque_callback_data": format!("{OPAQUE_PREFIX}{}", t.template_id)});
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
            e.templates = suggestions(db, &account.name, None).await?;
            return Err(e);
        }
    }
    let accepted = match manage.send(&from, &body).await {
        Ok(a) => a,
        Err(e) => {
            let mut err = upstream_error(e);
            if err.kind == ErrorKind::WindowClosed {
                let lang = template.as_ref().map(|t| t.language.clone());
                err.templates = suggestions(db, &account.name, lang.as_deref())
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
