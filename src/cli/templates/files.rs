//! `templates create` and `templates apply`: definition files to upstream.

use std::process::ExitCode;

use anyhow::Context;

use super::super::UsageError;
use crate::authoring::{self, plan, plan::Step};
use crate::clock;
use crate::config::Config;
use crate::sources::http_client;
use crate::sources::Graph;

/// Arguments of `templates create`.
#[derive(clap::Args, Debug)]
pub struct CreateArgs {
    /// The account to create it in.
    #[arg(long, value_name = "A")]
    pub account: String,
    /// The definition file.
    #[arg(
        long,
        value_name = "DEF.json",
        required_unless_present = "from_library",
        conflicts_with = "from_library"
    )]
    pub file: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub library: super::library::FromLibrary,
    /// Check the definition only; send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `templates apply`.
#[derive(clap::Args, Debug)]
pub struct ApplyArgs {
    /// The folder of definitions (searched recursively for *.json).
    pub dir: std::path::PathBuf,
    /// An account to keep in step (repeat for several).
    #[arg(long = "account", value_name = "A", required = true)]
    pub accounts: Vec<String>,
    /// Show the plan; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Delete templates the folder does not have (never without this flag).
    #[arg(long)]
    pub prune: bool,
    /// The plan (and results) as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// A source error as one line for people.
pub(crate) fn upstream(e: &crate::sources::SourceError) -> String {
    match e {
        crate::sources::SourceError::Upstream(u) => format!("upstream refused: {u}"),
        other => other.to_string(),
    }
}

pub(crate) async fn create(config: Config, args: CreateArgs) -> anyhow::Result<ExitCode> {
    let account = config.account(&args.account)?.clone();
    let Some(file) = &args.file else {
        return super::library::create(&config, &account, &args.library, args.dry_run).await;
    };
    let def = match authoring::load(file) {
        Ok(d) => d,
        Err(invalid) => {
            eprintln!("{invalid}");
            eprintln!(
                "{} problem{} in {}; nothing was sent",
                invalid.problems.len(),
                if invalid.problems.len() == 1 { "" } else { "s" },
                file.display()
            );
            return Ok(ExitCode::from(2));
        }
    };
    submit(&config, &account, def, args.dry_run).await
}

/// Sends one checked definition (or, with `dry_run`, says it is valid).
pub(crate) async fn submit(
    config: &Config,
    account: &crate::config::AccountConfig,
    def: authoring::Definition,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    if dry_run {
        say!(
            "{} ({}, {}) is valid; not sent (--dry-run)",
            def.name,
            def.language,
            def.category
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let db = crate::cli::open_db(config)?;
    let manage = Graph::for_account(account, &config.sync, http_client());
    let waba = match manage.waba().await {
        Ok(w) => w,
        Err(e) => anyhow::bail!("account {}: {}", account.name, upstream(&e)),
    };
    let steps = vec![Step::Create {
        name: def.name.clone(),
        language: def.language.clone(),
        file: def.file.display().to_string(),
    }];
    let now = clock::now().timestamp();
    let defs = [def];
    let done = plan::execute(
        &manage,
        &db,
        (&account.name, account.source.as_str()),
        &waba,
        &defs,
        &steps,
        now,
        |_| {},
    )
    .await;
    let Some(d) = done.first() else {
        anyhow::bail!("nothing was done");
    };
    match (&d.error, &d.id) {
        (Some(e), None) => {
            eprintln!("error: {} ({}) was not created: {e}", d.name, d.language);
            Ok(ExitCode::FAILURE)
        }
        (error, id) => {
            say!(
                "created {} ({}) in {} (WABA {waba}): id {}, {}",
                d.name,
                d.language,
                account.name,
                id.as_deref().unwrap_or("?"),
                d.status.as_deref().unwrap_or("PENDING")
            )?;
            if d.status.as_deref() != Some("APPROVED") {
                say!("Meta reviews it now; templar notifies subscribers when it is approved or rejected.")?;
            }
            if let Some(e) = error {
                eprintln!("warning: {e}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub(crate) async fn apply(config: Config, args: ApplyArgs) -> anyhow::Result<ExitCode> {
    let accounts: Vec<crate::config::AccountConfig> = args
        .accounts
        .iter()
        .map(|a| config.account(a).cloned())
        .collect::<Result<_, _>>()?;
    if !args.dir.is_dir() {
        return Err(UsageError(format!("{} is not a folder", args.dir.display())).into());
    }
    let files =
        authoring::files(&args.dir).with_context(|| format!("reading {}", args.dir.display()))?;
    if files.is_empty() {
        return Err(UsageError(format!(
            "{} has no *.json definitions{}",
            args.dir.display(),
            if args.prune {
                "; refusing to prune everything"
            } else {
                ""
            }
        ))
        .into());
    }
    let mut defs = Vec::new();
    let mut invalid = 0;
    for f in &files {
        match authoring::load(f) {
            Ok(d) => defs.push(d),
            Err(e) => {
                eprintln!("{e}");
                invalid += 1;
            }
        }
    }
    let mut seen = std::collections::HashMap::new();
    for d in &defs {
        let key = (d.name.clone(), d.language.to_ascii_lowercase());
        if let Some(other) = seen.insert(key, d.file.clone()) {
            eprintln!(
                "{}: {} ({}) is also defined in {}",
                d.file.display(),
                d.name,
                d.language,
                other.display()
            );
            invalid += 1;
        }
    }
    if invalid > 0 {
        eprintln!("{invalid} invalid definition file(s); nothing was sent");
        return Ok(ExitCode::from(2));
    }
    let db = crate::cli::open_db(&config)?;
    let client = http_client();
    let now = clock::now().timestamp();
    let mut failures = 0;
    let mut report = Vec::new();
    for account in &accounts {
        let manage = Graph::for_account(account, &config.sync, client.clone());
        let listed = match manage.waba().await {
            Ok(w) => manage.list_all(&w).await.map(|l| (w, l)),
            Err(e) => Err(e),
        };
        let (waba, remote) = match listed {
            Ok(x) => x,
            Err(e) => {
                eprintln!(
                    "{}: cannot list its templates: {}",
                    account.name,
                    upstream(&e)
                );
                failures += 1;
                continue;
            }
        };
        let steps = plan::plan(&defs, &remote, args.prune);
        if !args.json {
            say!(
                "{} (WABA {waba}){}:",
                account.name,
                if args.dry_run { ", dry run" } else { "" }
            )?;
            say_raw!("{}", plan::render(&steps))?;
        }
        let done = if args.dry_run {
            Vec::new()
        } else {
            plan::execute(
                &manage,
                &db,
                (&account.name, account.source.as_str()),
                &waba,
                &defs,
                &steps,
                now,
                // Each step as it finishes: a long apply is never silent.
                |d: &plan::Done| {
                    if args.json {
                        return;
                    }
                    // The apply goes on whatever happens to stdout: it is changing upstream.
                    let _ = match &d.error {
                        None => say!(
                            "    {} {} ({}){}",
                            d.action,
                            d.name,
                            d.language,
                            d.status
                                .as_ref()
                                .map(|s| format!(": now {s}"))
                                .unwrap_or_default()
                        ),
                        Some(e) => say!(
                            "    FAILED to {} {} ({}): {e}",
                            d.action,
                            d.name,
                            d.language
                        ),
                    };
                },
            )
            .await
        };
        failures += done.iter().filter(|d| d.error.is_some()).count();
        report.push(serde_json::json!({"account": account.name, "waba_id": waba,
                                       "dry_run": args.dry_run, "steps": steps, "done": done}));
    }
    if args.json {
        say!("{}", serde_json::to_string_pretty(&report)?)?;
    } else if args.dry_run {
        say!("dry run: nothing was changed")?;
    }
    Ok(if failures > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
