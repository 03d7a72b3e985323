//! Simulated traffic: approved templates get sent every simulated hour; messages are delivered,
//! read, clicked or fail like real ones; every step is rolled into Meta-style analytics and
//! queued as a signed webhook in the format of the WABA's source.

use std::collections::HashMap;

use rand::Rng;
use serde_json::{json, Value};

use super::{SimTemplate, Via, World};
use crate::signing;

/// A simulated outbound message.
#[derive(Debug, Clone)]
pub struct SimMessage {
    pub wamid: String,
    pub waba: usize,
    pub phone_number_id: String,
    pub template: usize,
    pub recipient: String,
    /// Unix times.
    pub sent_at: i64,
    pub delivered_at: Option<i64>,
    pub read_at: Option<i64>,
    pub failed_at: Option<i64>,
    pub error: Option<(i64, &'static str)>,
    pub clicked_at: Option<i64>,
}

/// Meta-style analytics of one template and day.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DayStats {
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    pub clicked: i64,
    pub cost: f64,
}

/// A webhook waiting to be posted.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub via: Via,
    /// Kapso's `X-Webhook-Event`.
    pub event: Option<String>,
    pub body: Vec<u8>,
}

impl Webhook {
    pub(super) fn meta(body: Value) -> Self {
        Webhook {
            via: Via::Meta,
            event: None,
            body: body.to_string().into_bytes(),
        }
    }

    /// The path under templar's base URL.
    pub fn path(&self) -> &'static str {
        match self.via {
            Via::Meta => "/webhooks/meta",
            Via::Kapso => "/webhooks/kapso",
        }
    }

    /// The headers a real sender would attach, signatures included.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self.via {
            Via::Meta => vec![(
                "x-hub-signature-256",
                format!(
                    "sha256={}",
                    signing::sign(super::META_APP_SECRET.as_bytes(), &self.body)
                ),
            )],
            Via::Kapso => vec![
                (
                    "x-webhook-signature",
                    signing::sign(super::KAPSO_WEBHOOK_SECRET.as_bytes(), &self.body),
                ),
                ("x-webhook-event", self.event.clone().unwrap_or_default()),
                (
                    "x-idempotency-key",
                    signing::sign(b"idempotency", &self.body),
                ),
                ("x-webhook-payload-version", "v2".into()),
            ],
        }
    }
}

/// The day a unix time falls on, as its midnight.
pub fn day_start(ts: i64) -> i64 {
    ts - ts.rem_euclid(86_400)
}

const FAILURES: &[(i64, &str)] = &[
    (131047, "Re-engagement message"),
    (
        131049,
        "This message was not delivered to maintain healthy ecosystem engagement.",
    ),
    (131026, "Message undeliverable"),
    (130472, "User's number is part of an experiment"),
];

/// Extra messages an hour for a template whose failures surge.
const SURGE_EXTRA_PER_HOUR: usize = 20;

fn price(category: &str) -> f64 {
    match category {
        "MARKETING" => 0.025,
        "AUTHENTICATION" => 0.0035,
        _ => 0.004,
    }
}

impl World {
    /// Sends this hour's messages for every WABA, starting at unix time `hour`.
    pub(super) fn traffic(&mut self, hour: i64) {
        let mut approved: HashMap<usize, Vec<usize>> = HashMap::new();
        for (i, t) in self.templates.iter().enumerate() {
            if t.status == "APPROVED" && !t.deleted {
                approved.entry(t.waba).or_default().push(i);
            }
        }
        for w in 0..self.wabas.len() {
            let Some(candidates) = approved.get(&w).filter(|c| !c.is_empty()) else {
                continue;
            };
            let count = self
                .rng
                .random_range(self.messages_per_hour / 2..=self.messages_per_hour);
            let mut statuses = Vec::new();
            for _ in 0..count {
                let t = candidates[self.rng.random_range(0..candidates.len())];
                let m = self.message(w, t, hour);
                statuses.push(m.clone());
                self.messages.push(m);
            }
            // A template whose failures surge is also one that is sent a lot (a campaign).
            let surging: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|&t| self.templates[t].surge.is_some())
                .collect();
            for t in surging {
                for _ in 0..SURGE_EXTRA_PER_HOUR {
                    let m = self.message(w, t, hour);
                    statuses.push(m.clone());
                    self.messages.push(m);
                }
            }
            self.announce(w, &statuses);
        }
    }

    fn message(&mut self, waba: usize, template: usize, hour: i64) -> SimMessage {
        let numbers = &self.wabas[waba].phone_numbers;
        let pnid = numbers[self.rng.random_range(0..numbers.len())].0.clone();
        let sent_at = hour + self.rng.random_range(0..3600);
        let mut m = SimMessage {
            wamid: format!("wamid.SIM{:016X}", self.rng.random::<u64>()),
            waba,
            phone_number_id: pnid,
            template,
            recipient: recipient(self.rng.random_range(0..10_000_000)),
            sent_at,
            delivered_at: None,
            read_at: None,
            failed_at: None,
            error: None,
            clicked_at: None,
        };
        if self.rng.random_bool(0.04) {
            m.failed_at = Some(sent_at + self.rng.random_range(1..30));
            m.error = Some(FAILURES[self.rng.random_range(0..FAILURES.len())]);
        } else if self.rng.random_bool(0.95) {
            let delivered = sent_at + self.rng.random_range(1..90);
            m.delivered_at = Some(delivered);
            let reads = self.templates[template].reads.unwrap_or(0.62);
            if self.rng.random_bool(reads.clamp(0.0, 1.0)) {
                let read = delivered + self.rng.random_range(5..5400);
                m.read_at = Some(read);
                let has_buttons = self.templates[template]
                    .components
                    .to_string()
                    .contains("QUICK_REPLY");
                if has_buttons && self.rng.random_bool(0.15) {
                    let at = read + self.rng.random_range(2..300);
                    m.clicked_at = Some(at);
                    // A button reply is a message from the customer: it opens the window.
                    let (pnid, from) = (m.phone_number_id.clone(), m.recipient.clone());
                    self.record_inbound(&pnid, &from, at);
                }
            }
        }
        if let Some((code, share)) = self.templates[template].surge {
            if self.rng.random_bool(share.clamp(0.0, 1.0)) {
                let title = FAILURES
                    .iter()
                    .find(|f| f.0 == code)
                    .map_or("Failed", |f| f.1);
                m.delivered_at = None;
                m.read_at = None;
                m.clicked_at = None;
                m.failed_at = Some(sent_at + 5);
                m.error = Some((code, title));
            }
        }
        let t = &self.templates[template];
        let day = self
            .analytics
            .entry((template, day_start(sent_at)))
            .or_default();
        day.sent += 1;
        day.delivered += i64::from(m.delivered_at.is_some());
        day.read += i64::from(m.read_at.is_some());
        day.clicked += i64::from(m.clicked_at.is_some());
        if m.delivered_at.is_some() {
            day.cost += price(&t.category);
        }
        m
    }

    /// Queues the webhooks for a WABA's new messages: Meta batches statuses in one payload;
    /// Kapso posts one event per status.
    pub(super) fn announce(&mut self, waba: usize, messages: &[SimMessage]) {
        let w = &self.wabas[waba];
        match w.via {
            Via::Meta => {
                let mut by_number: HashMap<&str, (Vec<Value>, Vec<Value>)> = HashMap::new();
                for m in messages {
                    let entry = by_number.entry(&m.phone_number_id).or_default();
                    let t = &self.templates[m.template];
                    for (status, at) in steps(m) {
                        let mut s = json!({"id": m.wamid, "status": status, "timestamp": at.to_string(),
                                           "recipient_id": m.recipient,
                                           "biz_opaque_callback_data": format!("templar:{}", t.id)});
                        if status == "sent" {
                            s["pricing"] = json!({"billable": true, "pricing_model": "PMP", "type": "regular",
                                                  "category": t.category.to_ascii_lowercase()});
                        }
                        if let (Some((code, title)), "failed") = (m.error, status) {
                            s["errors"] = json!([{"code": code, "title": title, "message": title}]);
                        }
                        entry.0.push(s);
                    }
                    if let Some(at) = m.clicked_at {
                        entry.1.push(json!({"from": m.recipient, "id": format!("wamid.IN{}", m.wamid), "timestamp": at.to_string(),
                                            "type": "button", "context": {"from": "15550000000", "id": m.wamid},
                                            "button": {"text": "Yes", "payload": "yes"}}));
                    }
                }
                for (pnid, (statuses, inbound)) in by_number {
                    let mut value = json!({"messaging_product": "whatsapp",
                                           "metadata": {"display_phone_number": "15550000000", "phone_number_id": pnid},
                                           "statuses": statuses});
                    if !inbound.is_empty() {
                        value["messages"] = json!(inbound);
                        value["contacts"] = json!([]);
                    }
                    let body = json!({"object": "whatsapp_business_account",
                                      "entry": [{"id": w.id, "changes": [{"field": "messages", "value": value}]}]});
                    self.outbox.push(Webhook::meta(body));
                }
            }
            Via::Kapso => {
                for m in messages {
                    let t = &self.templates[m.template];
                    let mut seen = Vec::new();
                    for (status, at) in steps(m) {
                        let mut raw = json!({"id": m.wamid, "status": status, "timestamp": at.to_string(), "recipient_id": m.recipient});
                        if let (Some((code, title)), "failed") = (m.error, status) {
                            raw["errors"] = json!([{"code": code, "title": title}]);
                        }
                        seen.push(raw);
                        let body = json!({
                            "message": {"id": m.wamid, "timestamp": m.sent_at.to_string(), "type": "template", "to": m.recipient,
                                        "template": {"name": t.name, "language": {"code": t.language}},
                                        "kapso": {"direction": "outbound", "status": status, "processing_status": "completed",
                                                  "origin": "cloud_api", "statuses": seen}},
                            "conversation": {"id": format!("conv-{}", m.recipient), "phone_number": format!("+{}", m.recipient),
                                             "status": "active", "phone_number_id": m.phone_number_id},
                            "is_new_conversation": false,
                            "phone_number_id": m.phone_number_id});
                        self.outbox.push(Webhook {
                            via: Via::Kapso,
                            event: Some(format!("whatsapp.message.{status}")),
                            body: body.to_string().into_bytes(),
                        });
                    }
                    if let Some(at) = m.clicked_at {
                        let body = json!({"message": {"id": format!("wamid.IN{}", m.wamid), "from": m.recipient, "timestamp": at.to_string(),
                                                      "type": "button", "context": {"id": m.wamid},
                                                      "kapso": {"direction": "inbound", "status": "received"}},
                                          "conversation": {"phone_number": format!("+{}", m.recipient), "phone_number_id": m.phone_number_id},
                                          "phone_number_id": m.phone_number_id});
                        self.outbox.push(Webhook {
                            via: Via::Kapso,
                            event: Some("whatsapp.message.received".into()),
                            body: body.to_string().into_bytes(),
                        });
                    }
                }
            }
        }
    }

    /// Notes that `from` (a phone number) wrote to `pnid` at `at`: their 24-hour window opens,
    /// whether they are then addressed by number or by business-scoped user id.
    pub(super) fn record_inbound(&mut self, pnid: &str, from: &str, at: i64) {
        for key in [from.to_string(), user_id_of(from)] {
            let slot = self.inbound.entry((pnid.to_string(), key)).or_insert(at);
            *slot = (*slot).max(at);
        }
    }

    /// Queues the webhook of a customer's text message, in the WABA's source's format.
    pub(super) fn announce_inbound(
        &mut self,
        waba: usize,
        pnid: &str,
        from: &str,
        at: i64,
        text: &str,
        hide_phone: bool,
    ) {
        let w = &self.wabas[waba];
        let wamid = format!("wamid.IN{:016X}", self.rng.random::<u64>());
        // Since 2026 every sender has a business-scoped user id; one who shows a username may
        // come without a phone number.
        let user_id = user_id_of(from);
        let phone = (!hide_phone).then_some(from);
        match w.via {
            Via::Meta => {
                let mut contact = json!({"user_id": user_id, "profile": {"name": "Customer"}});
                let mut message = json!({"from_user_id": user_id, "id": wamid,
                                         "timestamp": at.to_string(), "type": "text", "text": {"body": text}});
                if let Some(p) = phone {
                    contact["wa_id"] = json!(p);
                    message["from"] = json!(p);
                }
                let value = json!({"messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "15550000000", "phone_number_id": pnid},
                    "contacts": [contact],
                    "messages": [message]});
                let body = json!({"object": "whatsapp_business_account",
                                  "entry": [{"id": w.id, "changes": [{"field": "messages", "value": value}]}]});
                self.outbox.push(Webhook::meta(body));
            }
            Via::Kapso => {
                let mut body = json!({"message": {"id": wamid, "timestamp": at.to_string(),
                                              "type": "text", "text": {"body": text},
                                              "kapso": {"direction": "inbound", "status": "received"}},
                                  "conversation": {"business_scoped_user_id": user_id, "phone_number_id": pnid},
                                  "phone_number_id": pnid});
                if let Some(p) = phone {
                    body["message"]["from"] = json!(p);
                    body["conversation"]["phone_number"] = json!(format!("+{p}"));
                }
                self.outbox.push(Webhook {
                    via: Via::Kapso,
                    event: Some("whatsapp.message.received".into()),
                    body: body.to_string().into_bytes(),
                });
            }
        }
    }

    /// Meta sends a status-update `event` for template `idx`, moving its status the way Meta's
    /// listing then shows it (the simulator's own reading of Meta's reference): REINSTATED is
    /// APPROVED again, UNARCHIVED returns to the status before archiving, FLAGGED, LOCKED and
    /// unknown events leave it.
    pub fn template_event(&mut self, idx: usize, event: &str, title: Option<&str>) {
        let now = self.clock;
        let t = &mut self.templates[idx];
        let next = match event {
            "REINSTATED" => Some("APPROVED".to_string()),
            "UNARCHIVED" => Some(t.archived_from.take().unwrap_or_else(|| "APPROVED".into())),
            "APPROVED" | "ARCHIVED" | "DELETED" | "DISABLED" | "IN_APPEAL" | "LIMIT_EXCEEDED"
            | "PAUSED" | "PENDING" | "PENDING_DELETION" | "REJECTED" => Some(event.to_string()),
            _ => None,
        };
        if let Some(next) = next {
            if next == "ARCHIVED" && t.status != "ARCHIVED" {
                t.archived_from = Some(t.status.clone());
            }
            if next == "PAUSED" && title != Some("RATE_LIMITING_PAUSE") {
                t.pauses += 1;
                t.paused_at = Some(now);
            }
            t.status = next;
        }
        let t = &self.templates[idx];
        let id: u64 = t.id.parse().unwrap_or(0);
        let value = status_update(t, id, &t.language.replace('_', "-"), event, title);
        let body = json!({"object": "whatsapp_business_account",
                          "entry": [{"id": self.wabas[t.waba].id, "time": self.now(),
                                     "changes": [{"field": "message_template_status_update", "value": value}]}]});
        self.outbox.push(Webhook::meta(body));
    }

    /// Queues Meta's template webhook for a change of template `idx`.
    pub(super) fn announce_template(
        &mut self,
        idx: usize,
        field: &str,
        previous_quality: Option<&str>,
    ) {
        let t = &self.templates[idx];
        let w = &self.wabas[t.waba];
        let id: u64 = t.id.parse().unwrap_or(0);
        let language = t.language.replace('_', "-");
        let value = match field {
            "message_template_quality_update" => json!({
                "previous_quality_score": previous_quality.unwrap_or("UNKNOWN"), "new_quality_score": t.quality,
                "message_template_id": id, "message_template_name": t.name, "message_template_language": language}),
            _ => {
                let title = match t.status.as_str() {
                    "PAUSED" if t.pauses <= 1 => Some("FIRST_PAUSE"),
                    "PAUSED" => Some("SECOND_PAUSE"),
                    _ => None,
                };
                status_update(t, id, &language, &t.status, title)
            }
        };
        let body = json!({"object": "whatsapp_business_account",
                          "entry": [{"id": w.id, "time": self.now(), "changes": [{"field": field, "value": value}]}]});
        self.outbox.push(Webhook::meta(body));
    }
}

/// The value of a `message_template_status_update` for `event`, with Meta's `other_info`
/// when a title is given.
pub(super) fn status_update(
    t: &SimTemplate,
    id: u64,
    language: &str,
    event: &str,
    title: Option<&str>,
) -> Value {
    let mut v = json!({"event": event, "message_template_id": id, "message_template_name": t.name,
                       "message_template_language": language,
                       "reason": t.rejected_reason.clone().unwrap_or_else(|| "NONE".into()),
                       "message_template_category": t.category});
    if event == "REJECTED" {
        v["rejection_info"] = json!({"reason": "The template's content does not match its category.",
                                     "recommendation": "Change the category or remove promotional wording."});
    }
    if let Some(title) = title {
        let description = match title {
            "RATE_LIMITING_PAUSE" => "Paused because of rate limiting.",
            "UNPAUSE" => "The template is no longer paused.",
            _ => "Paused because of low quality.",
        };
        v["other_info"] = json!({"title": title, "description": description});
    }
    v
}

/// A customer's number from one draw: most in the US, some in India, Brazil, Germany and the
/// UK, so costs differ by market as Meta's do.
fn recipient(n: u32) -> String {
    let prefix = match n % 10 {
        0..=5 => "1555",
        6 => "9198",
        7 => "5511",
        8 => "49151",
        _ => "447700",
    };
    format!("{prefix}{n:07}")
}

/// A message's statuses in order, with their times.
pub fn steps(m: &SimMessage) -> Vec<(&'static str, i64)> {
    let mut out = vec![("sent", m.sent_at)];
    if let Some(at) = m.delivered_at {
        out.push(("delivered", at));
    }
    if let Some(at) = m.read_at {
        out.push(("read", at));
    }
    if let Some(at) = m.failed_at {
        out.push(("failed", at));
    }
    out
}

/// The business-scoped user id the simulator gives the customer with phone number `phone`
/// (digits): stable, and the same for every WABA, as for one business portfolio.
pub fn user_id_of(phone: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in phone.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("US.{}", h % 10_000_000_000_000_000_000)
}
