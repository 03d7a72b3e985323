//! `templar simulate`: serve the fake Meta and Kapso APIs until interrupted.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use crate::clock;
use crate::sim::{Sim, SimOptions};

/// Flags of `templar simulate`.
#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:4010", value_name = "ADDR")]
    pub listen: String,
    /// Simulated WABAs, reached alternately through the `meta` and the `kapso` source.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub accounts: usize,
    /// Templates per WABA.
    #[arg(long, default_value_t = 120, value_name = "N")]
    pub templates: usize,
    /// Seed: the same seed gives the same catalogue and the same events.
    #[arg(long, default_value_t = 42, value_name = "S")]
    pub seed: u64,
    /// Delay added to every API response.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub latency_ms: u64,
    /// Share of API requests (0..1) answered with a fault: 429, 500, a timeout or a
    /// truncated body.
    #[arg(long, default_value_t = 0.0, value_name = "F")]
    pub fault_rate: f64,
    /// templar's base URL: signed webhooks (template changes, message statuses) are POSTed to
    /// URL/webhooks/meta and URL/webhooks/kapso as simulated time passes.
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
    /// Most messages each WABA sends per simulated hour.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub messages_per_hour: u32,
    /// Write a complete templar config pointing at this simulator to FILE.
    #[arg(long, value_name = "FILE")]
    pub write_config: Option<PathBuf>,
}

impl SimulateArgs {
    /// Checks the numbers; a bad one is a usage error (exit 2).
    pub fn options(&self) -> Result<SimOptions, super::UsageError> {
        if !(0.0..=1.0).contains(&self.fault_rate) {
            return Err(super::UsageError(
                "--fault-rate must be between 0 and 1".into(),
            ));
        }
        if self.accounts == 0 || self.accounts > 1000 {
            return Err(super::UsageError(
                "--accounts must be between 1 and 1000".into(),
            ));
        }
        if self.templates > 100_000 {
            return Err(super::UsageError(
                "--templates must be at most 100000".into(),
            ));
        }
        Ok(SimOptions {
            accounts: self.accounts,
            templates: self.templates,
            seed: self.seed,
            latency: Duration::from_millis(self.latency_ms),
            fault_rate: self.fault_rate,
            webhook_url: self.webhook_url.clone(),
            messages_per_hour: self.messages_per_hour,
        })
    }
}

pub async fn run(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let opts = args.options()?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let sim = Sim::start(opts, listener, clock::now().timestamp()).await?;
    say!("simulator listening on {}", sim.url())?;
    if let Some(path) = &args.write_config {
        sim.write_config(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        say!(
            "wrote {}: run `templar --config {} sync`",
            path.display(),
            path.display()
        )?;
    }
    tokio::signal::ctrl_c().await?;
    Ok(ExitCode::SUCCESS)
}
