//! `templar sync`: reconcile now and print what happened per account.

use std::process::ExitCode;
use std::sync::Arc;

use crate::clock;
use crate::config::Config;
use crate::sync::{run_once, SyncContext, SyncMode, SyncOptions, SyncReport};

/// Flags of `templar sync`.
#[derive(clap::Args, Debug)]
pub struct SyncArgs {
    /// Only this account (a `name` from the config).
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
    /// Show what would change, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Only check templates still under review (what `sync.pending_schedule` runs).
    #[arg(long)]
    pub pending: bool,
    /// Pull usage instead: Meta's template analytics and Kapso's message history (what
    /// `sync.usage_schedule` runs).
    #[arg(long, conflicts_with_all = ["pending", "dry_run"])]
    pub usage: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(config: Config, args: SyncArgs) -> anyhow::Result<ExitCode> {
    let db = super::open_db(&config)?;
    let ctx = SyncContext {
        db,
        config: Arc::new(config),
        client: crate::sources::http_client(),
        metrics: Default::default(),
    };
    if args.usage {
        return usage(&ctx, &args).await;
    }
    let opts = SyncOptions {
        mode: if args.pending {
            SyncMode::Pending
        } else {
            SyncMode::Full
        },
        account: args.account,
        dry_run: args.dry_run,
    };
    let report = run_once(&ctx, &opts, clock::now()).await?;
    if args.json {
        say!("{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        say_raw!("{}", render(&report))?;
    }
    Ok(if report.failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The human summary: one line per account, then the changes.
pub fn render(report: &SyncReport) -> String {
    let mut out = String::new();
    if report.dry_run {
        out.push_str("dry run: nothing was written\n");
    }
    let width = report
        .accounts
        .iter()
        .map(|a| a.account.len())
        .max()
        .unwrap_or(7)
        .max(7);
    for a in &report.accounts {
        let secs = a.duration_ms as f64 / 1000.0;
        match &a.error {
            None => out.push_str(&format!(
                "{:width$}  {:5}  {:7} {:>3} pages  {:>5} seen  {:>4} new  {:>4} changed  {:>4} removed{}  {:.1}s\n",
                a.account,
                a.source,
                a.outcome,
                a.pages,
                a.seen,
                a.created,
                a.changed,
                a.removed,
                if a.skipped > 0 { format!("  {} malformed skipped", a.skipped) } else { String::new() },
                secs,
            )),
            Some(e) => out.push_str(&format!(
                "{:width$}  {:5}  FAILED  after {} pages, {:.1}s: {e}\n",
                a.account, a.source, a.pages, secs
            )),
        }
    }
    let changes: Vec<_> = report
        .accounts
        .iter()
        .flat_map(|a| a.changes.iter().map(move |c| (a, c)))
        .collect();
    if !changes.is_empty() {
        out.push_str(if report.dry_run {
            "\nwould change:\n"
        } else {
            "\nchanges:\n"
        });
        for (a, c) in changes.iter().take(200) {
            out.push_str(&format!(
                "  {} {} ({}): {} {} -> {}\n",
                a.account,
                c.template,
                c.language,
                c.field,
                c.from.as_deref().unwrap_or("-"),
                c.to
            ));
        }
        if changes.len() > 200 {
            out.push_str(&format!("  ... and {} more\n", changes.len() - 200));
        }
    }
    let failed = report.accounts.iter().filter(|a| a.error.is_some()).count();
    if failed > 0 {
        out.push_str(&format!(
            "\n{failed} of {} accounts failed\n",
            report.accounts.len()
        ));
    }
    out
}

async fn usage(ctx: &SyncContext, args: &SyncArgs) -> anyhow::Result<ExitCode> {
    if let Some(a) = &args.account {
        ctx.config.account(a)?;
    }
    let reports = crate::usage::run(ctx, args.account.as_deref(), clock::now()).await;
    if args.json {
        say!("{}", serde_json::to_string_pretty(&reports)?)?;
    } else {
        let width = reports
            .iter()
            .map(|r| r.account.len())
            .max()
            .unwrap_or(7)
            .max(7);
        for r in &reports {
            let what = match &r.analytics {
                Some(state) => format!(
                    "analytics {state}, {} template-days updated",
                    r.days_updated
                ),
                None => format!("{} messages from history", r.messages),
            };
            match &r.error {
                None => say!("{:width$}  {:5}  ok      {what}", r.account, r.source)?,
                Some(e) => say!("{:width$}  {:5}  FAILED  {what}: {e}", r.account, r.source)?,
            }
        }
    }
    let failed = reports.iter().any(|r| r.error.is_some());
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
