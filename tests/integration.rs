//! The one integration-test binary: every test talks to the built-in simulator on 127.0.0.1.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failed unwrap is a failed test"
)]

#[path = "common/mod.rs"]
mod common;

mod integration {
    mod anomalies;
    mod browser;
    mod cli;
    mod costs;
    mod dashboard;
    mod export;
    mod groups;
    mod hardening;
    mod library;
    mod migrations;
    mod notify;
    mod numbers;
    mod operations;
    mod replicas;
    mod send;
    mod sync;
    mod template_events;
    mod truth;
    mod usage;
    mod versions;
    mod webhooks;
}
