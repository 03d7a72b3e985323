//! Delivery to one channel. Each returns a short error a person can act on; none retries (the
//! outbox does).

mod email;
mod slack;
mod webhook;

use std::time::Duration;

use super::Payload;
use crate::config::{NotifyConfig, NotifyKind};

/// Longest a single delivery may take.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// Delivers `payload` through `channel`. `delivery` identifies this delivery (for receivers'
/// logs); `payload.id` identifies the event (for their dedupe).
pub async fn send(
    channel: &NotifyConfig,
    payload: &Payload,
    delivery: &str,
    client: &reqwest::Client,
) -> Result<(), String> {
    let sent = match &channel.kind {
        NotifyKind::Webhook { url, secret } => {
            tokio::time::timeout(
                TIMEOUT,
                webhook::send(client, url, secret, payload, delivery),
            )
            .await
        }
        NotifyKind::Slack { url } => {
            tokio::time::timeout(TIMEOUT, slack::send(client, url, payload)).await
        }
        NotifyKind::Email(cfg) => {
            tokio::time::timeout(TIMEOUT, email::send(cfg, payload, delivery)).await
        }
    };
    sent.unwrap_or_else(|_| Err(format!("no answer within {} s", TIMEOUT.as_secs())))
}

/// Reads an HTTP answer: 2xx is delivered; anything else is an error with a little of the body.
async fn http_result(resp: Result<reqwest::Response, reqwest::Error>) -> Result<(), String> {
    match resp {
        Err(e) => Err(format!("request failed: {}", e.without_url())),
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => {
            let status = r.status();
            let body = r.text().await.unwrap_or_default();
            let body: String = body.chars().take(200).collect();
            Err(format!("HTTP {status}: {}", body.trim()))
        }
    }
}
