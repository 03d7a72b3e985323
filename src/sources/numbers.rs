//! What templar reads about phone numbers: each number's health (`GET /{phone_number_id}`),
//! through Meta directly or Kapso's proxy alike.

use super::client::Graph;
use super::SourceError;
use crate::domain::number::{self, NumberHealth};

/// The fields asked for, as Meta names them.
pub const NUMBER_FIELDS: &str = "id,display_phone_number,verified_name,quality_rating,name_status,throughput,whatsapp_business_manager_messaging_limit";

impl Graph {
    /// One number's quality rating, name review, throughput and the portfolio's limit.
    pub async fn number_health(&self, pnid: &str) -> Result<NumberHealth, SourceError> {
        let mut url = self.url(pnid)?;
        url.query_pairs_mut().append_pair("fields", NUMBER_FIELDS);
        let v = self.upstream.get_json(url).await?;
        number::from_graph(&v)
            .ok_or_else(|| SourceError::Shape(format!("phone number {pnid}: no id")))
    }
}
