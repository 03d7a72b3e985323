//! Template changes Meta tells of by webhook besides status and quality: a content edit
//! (`message_template_components_update`) and a category change (`template_category_update`,
//! announced a day ahead or done).

use serde_json::{json, Value};

use super::{Webhook, World};

impl World {
    /// Queues Meta's `message_template_components_update` for template `idx`: its texts as
    /// they read now (no examples; the header only when it is text).
    pub(super) fn announce_components(&mut self, idx: usize) {
        let t = &self.templates[idx];
        let id: u64 = t.id.parse().unwrap_or(0);
        let mut v = json!({"message_template_id": id, "message_template_name": t.name,
                           "message_template_language": t.language});
        for c in t.components.as_array().into_iter().flatten() {
            let text = c.get("text").cloned().unwrap_or(Value::Null);
            match c.get("type").and_then(Value::as_str).unwrap_or("") {
                "BODY" => v["message_template_element"] = text,
                "HEADER" if c.get("format").and_then(Value::as_str) == Some("TEXT") => {
                    v["message_template_title"] = text
                }
                "FOOTER" => v["message_template_footer"] = text,
                "BUTTONS" => {
                    let buttons: Vec<Value> = c["buttons"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|b| {
                            let mut x = json!({"message_template_button_type": b["type"],
                                               "message_template_button_text": b["text"]});
                            if let Some(u) = b.get("url") {
                                x["message_template_button_url"] = u.clone();
                            }
                            if let Some(p) = b.get("phone_number") {
                                x["message_template_button_phone_number"] = p.clone();
                            }
                            x
                        })
                        .collect();
                    v["message_template_buttons"] = json!(buttons);
                }
                _ => {}
            }
        }
        let body = json!({"object": "whatsapp_business_account",
                          "entry": [{"id": self.wabas[t.waba].id, "time": self.now(),
                                     "changes": [{"field": "message_template_components_update", "value": v}]}]});
        self.outbox.push(Webhook::meta(body));
    }

    /// Meta moves template `idx` to `category`, announced (it takes effect in a day; the
    /// listing's `correct_category` says so until then) or done (the listing's category
    /// changes, `previous_category` keeps the old one), and says so by webhook. Returns whether
    /// anything changed.
    pub fn recategorise(&mut self, idx: usize, category: &str, announce: bool) -> bool {
        let now = self.now();
        let t = &mut self.templates[idx];
        if t.category == category {
            return false;
        }
        let id: u64 = t.id.parse().unwrap_or(0);
        let mut v = json!({"message_template_id": id, "message_template_name": t.name,
                           "message_template_language": t.language.replace('_', "-")});
        if announce {
            v["new_category"] = json!(t.category);
            v["correct_category"] = json!(category);
            v["category_update_timestamp"] = json!(now + 86_400);
            t.correct_category = Some(category.to_string());
        } else {
            v["previous_category"] = json!(t.category);
            v["new_category"] = json!(category);
            t.previous_category = Some(std::mem::replace(&mut t.category, category.to_string()));
            t.correct_category = None;
        }
        let body = json!({"object": "whatsapp_business_account",
                          "entry": [{"id": self.wabas[t.waba].id, "time": now,
                                     "changes": [{"field": "template_category_update", "value": v}]}]});
        self.outbox.push(Webhook::meta(body));
        true
    }
}
