//! Generic webhook: the [`Payload`] as JSON, signed so receivers can verify it came from us.
//!
//! Headers: `X-Templar-Event` (the event name), `X-Templar-Delivery` (this delivery),
//! `X-Templar-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`.

use super::http_result;
use crate::config::Secret;
use crate::notify::Payload;
use crate::signing;

pub async fn send(
    client: &reqwest::Client,
    url: &Secret,
    secret: &Secret,
    payload: &Payload,
    delivery: &str,
) -> Result<(), String> {
    let body = serde_json::to_vec(payload).map_err(|e| e.to_string())?;
    let sig = signing::sign(secret.expose().as_bytes(), &body);
    let resp = client
        .post(url.expose())
        .header("content-type", "application/json")
        .header("x-templar-event", &payload.event)
        .header("x-templar-delivery", delivery)
        .header("x-templar-signature", format!("sha256={sig}"))
        .body(body)
        .send()
        .await;
    http_result(resp).await
}
