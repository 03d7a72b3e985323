//! Phone number health as Meta serves it: `GET /{phone_number_id}` with the fields asked for,
//! and the `phone_number_quality_update` webhook when a test or the demo moves a number.

use serde::Deserialize;
use serde_json::{json, Value};

use super::{Via, Webhook, World};

/// A number's health; every number starts GREEN, APPROVED, STANDARD, in a TIER_2K portfolio.
#[derive(Debug, Clone, Deserialize)]
pub struct SimNumber {
    pub quality_rating: String,
    pub name_status: String,
    pub throughput: String,
    pub messaging_limit: String,
}

impl Default for SimNumber {
    fn default() -> Self {
        SimNumber {
            quality_rating: "GREEN".into(),
            name_status: "APPROVED".into(),
            throughput: "STANDARD".into(),
            messaging_limit: "TIER_2K".into(),
        }
    }
}

/// A change a test asks for (`POST /_sim/numbers/{id}`); `event` sends Meta's webhook.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NumberChange {
    pub quality_rating: Option<String>,
    pub messaging_limit: Option<String>,
    pub event: Option<String>,
}

impl World {
    /// (WABA index, display number) of a phone number id.
    pub fn number(&self, pnid: &str) -> Option<(usize, String)> {
        self.wabas.iter().enumerate().find_map(|(i, w)| {
            w.phone_numbers
                .iter()
                .find(|(id, _)| id == pnid)
                .map(|(_, d)| (i, d.clone()))
        })
    }

    /// `GET /{phone_number_id}`: the fields asked for (Meta's defaults without `fields`).
    pub fn number_json(&self, pnid: &str, fields: Option<&str>) -> Option<Value> {
        let (wi, display) = self.number(pnid)?;
        let n = self.numbers.get(pnid).cloned().unwrap_or_default();
        let all = json!({
            "id": pnid, "display_phone_number": display, "verified_name": self.wabas[wi].name,
            "quality_rating": n.quality_rating, "name_status": n.name_status,
            "throughput": {"level": n.throughput},
            "whatsapp_business_manager_messaging_limit": n.messaging_limit,
            "code_verification_status": "VERIFIED", "platform_type": "CLOUD_API"});
        let wanted = fields.unwrap_or("id,display_phone_number,verified_name,quality_rating");
        let mut out = serde_json::Map::new();
        for f in wanted.split(',').map(str::trim) {
            if let Some(v) = all.get(f) {
                out.insert(f.to_string(), v.clone());
            }
        }
        out.insert("id".into(), json!(pnid));
        Some(Value::Object(out))
    }

    /// Moves a number; with an `event`, Meta's `phone_number_quality_update` goes out (the
    /// portfolio's limit in `max_daily_conversations_per_business`).
    pub fn change_number(&mut self, pnid: &str, c: NumberChange) -> bool {
        let Some((wi, display)) = self.number(pnid) else {
            return false;
        };
        let n = self.numbers.entry(pnid.to_string()).or_default();
        if let Some(q) = c.quality_rating {
            n.quality_rating = q;
        }
        if let Some(l) = c.messaging_limit {
            n.messaging_limit = l;
        }
        let limit = n.messaging_limit.clone();
        if let Some(event) = c.event {
            let value = json!({"display_phone_number": display, "event": event,
                               "max_daily_conversations_per_business": limit});
            let body = json!({"object": "whatsapp_business_account",
                              "entry": [{"id": self.wabas[wi].id, "time": self.now(),
                                         "changes": [{"field": "phone_number_quality_update", "value": value}]}]});
            self.outbox.push(Webhook {
                via: Via::Meta,
                event: None,
                body: body.to_string().into_bytes(),
            });
        }
        true
    }
}
