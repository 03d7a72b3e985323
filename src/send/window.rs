//! The 24-hour customer-service window: when a customer last wrote, and what may be sent.

use serde::Serialize;

use super::*;
use crate::config::{AccountConfig, Config};
use crate::db::models::usage::{self};
use crate::db::Db;
use crate::sources::Graph;

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

pub(crate) async fn window_on(
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
