//! Why a send was refused, in words a person can act on, and what to send instead.

use serde::Serialize;
use serde_json::Value;

use super::*;
use crate::db::models::templates::{self as tpl, ListQuery, TemplateRow};
use crate::db::Db;
use crate::domain::errors;
use crate::sources::SourceError;

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
    /// Approved templates not listed in `templates` (it keeps the first [`SUGGESTED`]).
    #[serde(skip_serializing_if = "is_zero")]
    pub more_templates: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Approved templates listed in a refusal at most; the rest are counted.
pub const SUGGESTED: usize = 15;

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
            if self.more_templates > 0 {
                write!(
                    f,
                    "\n  ... and {} more (`templar templates list --status APPROVED --account ...`)",
                    self.more_templates
                )?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for SendError {}

impl SendError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        SendError {
            kind,
            message: message.into(),
            code: None,
            templates: Vec::new(),
            more_templates: 0,
        }
    }

    pub(crate) fn internal(e: impl std::fmt::Display) -> Self {
        SendError::new(ErrorKind::Internal, format!("database: {e}"))
    }
}

pub(crate) fn upstream_error(e: SourceError) -> SendError {
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
                more_templates: 0,
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
pub(crate) async fn suggestions(
    db: &Db,
    account: &str,
    language: Option<&str>,
) -> Result<(Vec<Suggestion>, usize), SendError> {
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
    let more = out.len().saturating_sub(SUGGESTED);
    out.truncate(SUGGESTED);
    Ok((out, more))
}
