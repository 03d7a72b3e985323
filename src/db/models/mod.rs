//! Model functions: synchronous, on `&mut Conn`, returning `QueryResult`, so they are
//! unit-tested on a scratch database and called from async code through [`crate::db::Db`].

pub mod accounts;
pub mod anomalies;
pub mod attention;
pub mod buttons;
pub mod countries;
pub mod events;
pub mod gauges;
pub mod groups;
pub mod instance_keys;
pub mod job_runs;
pub mod messages;
pub mod notifications;
pub mod numbers;
pub mod products;
pub mod retention;
pub mod stats;
pub mod sync_runs;
pub mod templates;
pub mod usage;
pub mod versions;
