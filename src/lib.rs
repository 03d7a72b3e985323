//! templar keeps WhatsApp message templates in view: it syncs them from Meta's Cloud API and
//! from Kapso into SQLite, keeps their whole status history, and serves it.
//!
//! The binary (`src/main.rs`) is a thin shell over this library, which the tests drive.

pub mod authoring;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod export;
pub mod ingest;
pub mod jobs;
pub mod ledger;
pub mod metrics;
pub mod notify;
pub mod pricing;
pub mod report;
pub mod send;
pub mod signing;
pub mod sim;
pub mod sources;
pub mod sync;
pub mod text;
pub mod usage;
pub mod views;
pub mod web;

#[cfg(test)]
mod fuzz;
