//! The ledger: the one place that turns "this is the template's state now, seen by X at T" into
//! the append-only history in `template_events`. Whoever saw it (a full sync, a pending check, a
//! webhook, `templates create` / `apply`), the rules for what counts as a change live here once:
//!
//! - [`rules`]: which fields changed between what is stored and what was seen, and why;
//! - [`listing`]: a source's listing (or one template's look-up) reconciled into inserts,
//!   updates and deletion marks, each with its events ([`Plan`], [`plan`], [`deletions`],
//!   [`apply`], [`record_one`]);
//! - [`webhook`]: a single-field change a webhook reports ([`record_webhook`]);
//! - [`versions`]: content versions, whoever saw the content ([`versions::observe`]).
//!
//! Nothing outside this module inserts into `template_events` or `template_versions`.

pub mod listing;
pub mod rules;
pub mod versions;
pub mod webhook;

pub use listing::{apply, deletions, plan, record_one, ChangeLine, Plan};
pub use rules::{field_changes, FieldChange};
pub use webhook::{record_webhook, TemplateChange, TemplateChangeKind};

#[cfg(test)]
mod tests;
