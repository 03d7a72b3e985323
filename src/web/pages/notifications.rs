//! `/notifications`: every delivery of every channel, its state and last error, newest first;
//! the channels as configured. What `templar notify status` prints, in the browser.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::{layout, Layout};
use crate::db::models::notifications::{self as out, DeliveryState};
use crate::notify::Payload;
use crate::web::error::{ApiError, WebError};
use crate::web::fmt;
use crate::web::query::PageQuery;
use crate::web::AppState;

/// Deliveries listed at most.
const LISTED: i64 = 200;

/// One configured channel.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelLine {
    pub name: String,
    pub kind: String,
    /// The events it is told about.
    pub events: String,
}

/// One delivery as shown.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub id: i32,
    pub queued: String,
    pub channel: String,
    pub event: String,
    pub title: String,
    /// `delivered`, `pending` or `dead`.
    pub state: &'static str,
    /// When it was delivered or died, or when the next attempt is due.
    pub detail: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    /// The dashboard page the notification points to.
    pub url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Template)]
#[template(path = "notifications.html")]
pub struct Notifications {
    pub layout: Layout,
    pub channels: Vec<ChannelLine>,
    pub pending: i64,
    pub delivered: i64,
    pub dead: i64,
    /// `all`, `pending`, `delivered` or `dead`.
    pub state: String,
    pub deliveries: Vec<Delivery>,
}

impl Notifications {
    fn filters(&self) -> Vec<(&'static str, String, bool)> {
        [
            (
                "all",
                format!("All {}", self.pending + self.delivered + self.dead),
            ),
            ("pending", format!("Pending {}", self.pending)),
            ("delivered", format!("Delivered {}", self.delivered)),
            ("dead", format!("Dead {}", self.dead)),
        ]
        .into_iter()
        .map(|(k, label)| {
            let on = k == self.state;
            (k, label, on)
        })
        .collect()
    }

    fn sclass(&self, state: &str) -> &'static str {
        match state {
            "delivered" => "ok",
            "dead" => "bad",
            _ => "wait",
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StateQuery {
    state: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

async fn load(state: &AppState, q: StateQuery) -> Result<Notifications, WebError> {
    let layout = layout(state, "Notifications", "notifications", &q.page)?;
    let wanted = q.state.unwrap_or_else(|| "all".into());
    let filter = match wanted.as_str() {
        "all" => None,
        "pending" => Some(DeliveryState::Pending),
        "delivered" => Some(DeliveryState::Delivered),
        "dead" => Some(DeliveryState::Dead),
        other => {
            return Err(WebError::BadRequest(format!(
                "state={other}: choose all, pending, delivered or dead"
            )))
        }
    };
    let (rows, (pending, delivered, dead)) = state
        .db
        .run(move |c| Ok((out::recent_in(c, filter, LISTED)?, out::counts(c)?)))
        .await?;
    let deliveries = rows
        .into_iter()
        .map(|n| {
            let payload = serde_json::from_str::<Payload>(&n.payload).ok();
            let (state, detail) = match (n.delivered_at, n.dead_at) {
                (Some(at), _) => ("delivered", fmt::when(at)),
                (None, Some(at)) => ("dead", fmt::when(at)),
                (None, None) => (
                    "pending",
                    format!(
                        "attempt {} due {}",
                        n.attempts + 1,
                        fmt::when(n.next_attempt_at)
                    ),
                ),
            };
            Delivery {
                id: n.id,
                queued: fmt::when(n.created_at),
                channel: n.channel,
                event: n.kind,
                title: payload
                    .as_ref()
                    .map(|p| p.title.clone())
                    .unwrap_or_default(),
                state,
                detail,
                attempts: n.attempts,
                last_error: n.last_error,
                url: payload.and_then(|p| {
                    // Links to this dashboard, as a path (the notification carries public_url).
                    p.url
                        .find("/templates/")
                        .or_else(|| p.url.find("/accounts/"))
                        .map(|i| p.url[i..].to_string())
                }),
            }
        })
        .collect();
    let channels = state
        .config
        .notify
        .iter()
        .map(|c| ChannelLine {
            name: c.name.clone(),
            kind: c.kind.as_str().to_string(),
            events: c.events.join(", "),
        })
        .collect();
    Ok(Notifications {
        layout,
        channels,
        pending,
        delivered,
        dead,
        state: wanted,
        deliveries,
    })
}

pub async fn page(
    State(state): State<AppState>,
    Query(q): Query<StateQuery>,
) -> Result<impl IntoResponse, WebError> {
    Ok(Html(load(&state, q).await?.render()?))
}

pub async fn api(
    State(state): State<AppState>,
    Query(q): Query<StateQuery>,
) -> Result<Json<Notifications>, ApiError> {
    Ok(Json(load(&state, q).await?))
}
