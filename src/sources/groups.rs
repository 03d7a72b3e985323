//! Template groups: `GET /{waba}/template_groups` (Meta and Kapso's proxy) and Meta's
//! `template_group_analytics`, at most [`GROUP_ANALYTICS_MAX_IDS`] group ids a call.

use serde_json::Value;

use super::client::Graph;
use super::SourceError;

/// Meta refuses more group ids than this in one `template_group_analytics` call.
pub const GROUP_ANALYTICS_MAX_IDS: usize = 10;

/// A group and the ids of its templates.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateGroup {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub template_ids: Vec<String>,
}

/// One group's figures for one day.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupPoint {
    pub group_id: String,
    pub day: String,
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    pub clicked: i64,
    pub cost: f64,
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A group as Graph returns it. [I] Its templates come as the edge
/// `whatsapp_business_templates` (`{data: [{id}]}`) or, as some answers show, a plain array.
pub fn parse_group(v: &Value) -> Option<TemplateGroup> {
    let templates = v.get("whatsapp_business_templates");
    let list = templates
        .and_then(|t| t.get("data"))
        .or(templates)
        .and_then(Value::as_array);
    Some(TemplateGroup {
        id: v.get("id").and_then(id_text)?,
        name: v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        description: v
            .get("description")
            .and_then(Value::as_str)
            .filter(|d| !d.is_empty())
            .map(str::to_string),
        template_ids: list
            .into_iter()
            .flatten()
            .filter_map(|t| t.get("id").and_then(id_text).or_else(|| id_text(t)))
            .collect(),
    })
}

/// The sum of `[{type, count|value}]` entries of the given types.
fn sum(v: Option<&Value>, types: &[&str], key: &str) -> f64 {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|x| {
            x.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| types.contains(&t))
        })
        .filter_map(|x| x.get(key).and_then(Value::as_f64))
        .sum()
}

impl Graph {
    /// Every template group of `waba`, every page.
    pub async fn template_groups(&self, waba: &str) -> Result<Vec<TemplateGroup>, SourceError> {
        let what = format!("template groups of WABA {waba}");
        let pages = self
            .pages(&what, |after| {
                let mut url = self.url(&format!("{waba}/template_groups"))?;
                url.query_pairs_mut()
                    .append_pair("fields", "id,name,description,whatsapp_business_templates");
                if let Some(a) = after {
                    url.query_pairs_mut().append_pair("after", a);
                }
                Ok(url)
            })
            .await?;
        let mut out = Vec::new();
        for body in &pages {
            let data = body
                .get("data")
                .and_then(Value::as_array)
                .ok_or_else(|| SourceError::Shape(format!("{what}: no data")))?;
            out.extend(data.iter().filter_map(parse_group));
        }
        Ok(out)
    }

    /// Daily figures of up to ten groups between two `YYYY-MM-DD` days (end exclusive).
    pub async fn template_group_analytics(
        &self,
        waba: &str,
        ids: &[String],
        start: &str,
        end: &str,
    ) -> Result<Vec<GroupPoint>, SourceError> {
        if ids.is_empty() || ids.len() > GROUP_ANALYTICS_MAX_IDS {
            return Err(SourceError::Shape(format!(
                "{} group ids; 1 to 10 per call",
                ids.len()
            )));
        }
        let mut url = self.url(&format!("{waba}/template_group_analytics"))?;
        url.query_pairs_mut()
            .append_pair("start", start)
            .append_pair("end", end)
            .append_pair("granularity", "DAILY")
            .append_pair(
                "metric_types",
                r#"["SENT","DELIVERED","READ","CLICKED","COST"]"#,
            )
            .append_pair("template_group_ids", &format!("[{}]", ids.join(",")));
        let body = self.upstream.get_json(url).await?;
        let mut out = Vec::new();
        for series in body
            .get("data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for p in series
                .get("data_points")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let (Some(group_id), Some(start)) = (
                    p.get("template_group_id").and_then(id_text),
                    p.get("start").and_then(Value::as_i64),
                ) else {
                    continue;
                };
                let int = |k: &str| p.get(k).and_then(Value::as_i64).unwrap_or(0);
                out.push(GroupPoint {
                    group_id,
                    day: crate::clock::day(start),
                    sent: int("sent"),
                    delivered: int("delivered"),
                    read: int("read"),
                    clicked: sum(
                        p.get("clicked"),
                        &["url_button", "quick_reply_button"],
                        "count",
                    ) as i64,
                    cost: sum(p.get("cost"), &["amount_spent"], "value"),
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_reads_its_templates_from_the_edge_or_an_array() {
        let edge = serde_json::json!({"id": "9020555671393375", "name": "Orders",
            "whatsapp_business_templates": {"data": [{"id": "1"}, {"id": 2}]}});
        assert_eq!(parse_group(&edge).unwrap().template_ids, ["1", "2"]);
        let plain = serde_json::json!({"id": 5, "name": "P", "whatsapp_business_templates": ["7"]});
        let g = parse_group(&plain).unwrap();
        assert_eq!(
            (g.id.as_str(), g.template_ids.as_slice()),
            ("5", &["7".to_string()][..])
        );
        assert_eq!(parse_group(&serde_json::json!({"name": "no id"})), None);
    }
}
