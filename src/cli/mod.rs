//! The command line: one clap subcommand per file; doc comments are the `--help` text.

/// `println!` that returns the write's error instead of panicking, so a closed pipe
/// (`templar export | head`) ends the command quietly (see [`exit_code`]).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

/// `print!` that returns the write's error (see [`say`]).
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)
    }};
}

mod db;
mod demo;
mod export;
mod logging;
mod migrate;
mod notify;
mod send;
pub mod serve;
mod simulate;
mod sync;
mod templates;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, ConfigError, UnknownAccount};
use crate::db::Db;

/// Watches your WhatsApp message templates on Meta's Cloud API and Kapso: syncs them into
/// SQLite with their whole status history, and tells you what changed.
///
/// Start with `templar demo` (no account needed). Configuration comes from `--config FILE`,
/// else $TEMPLAR_CONFIG, else ./templar.toml. Logs go to stderr (filter with RUST_LOG);
/// results go to stdout. Exit status: 0 success, 1 a failed operation, 2 bad usage or config.
#[derive(Parser, Debug)]
#[command(name = "templar", version, max_term_width = 100)]
pub struct Cli {
    /// Config file (default: $TEMPLAR_CONFIG, else ./templar.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start the built-in simulator and a live templar against it; no account or token needed.
    Demo(demo::DemoArgs),
    /// Run the scheduled jobs and the HTTP server on `listen` until SIGTERM or Ctrl-C.
    ///
    /// Jobs: full sync (`sync.schedule`), pending checks (`sync.pending_schedule`), usage pulls
    /// (`sync.usage_schedule`), `[[report]]`s, digests, period totals and retention; an
    /// overdue full sync or usage pull runs at start.
    ///
    /// HTTP: the dashboard (`/`, `/templates`, `/analytics`, `/accounts/NAME`) and its JSON
    /// under `/api/` (plus `POST /api/send`), exports (`/export.csv`, `/export.json`), webhooks
    /// from Meta and Kapso (`/webhooks/meta`, `/webhooks/kapso`), `/metrics` (Prometheus),
    /// `/healthz` (database reachable) and `/livez`. Logs go to stderr (`log_format`).
    Serve,
    /// Reconcile templates with Meta and Kapso now and print a summary per account.
    ///
    /// Exit status 1 if any account failed; the others are still synced.
    Sync(sync::SyncArgs),
    /// List and inspect stored templates; create them from files and keep a folder of
    /// definitions in step with accounts.
    #[command(subcommand)]
    Templates(templates::TemplatesCommand),
    /// Send an approved template (checked locally first: it exists, is APPROVED, and the
    /// parameters fit), or free-form text inside the customer's 24-hour window.
    Send(send::SendArgs),
    /// Is the customer's 24-hour window open? Their last message, and when it closes.
    Window(send::WindowArgs),
    /// Export usage (per template and day, week, month or period) or messages as CSV, JSON or
    /// JSON lines.
    Export(export::ExportArgs),
    /// Try notification channels, and see what was delivered, what waits and what died.
    #[command(subcommand)]
    Notify(notify::NotifyCommand),
    /// Back up or check the database, also while `serve` runs.
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Apply database migrations (they also run on every start).
    Migrate(migrate::MigrateArgs),
    /// Serve a seeded fake of Meta's and Kapso's APIs on a local port, for trying templar,
    /// tests and benchmarks.
    Simulate(simulate::SimulateArgs),
}

/// The log level when `RUST_LOG` is not set: info for long-running commands, warnings only
/// for quick ones whose output is their result.
fn default_level(command: &Command) -> &'static str {
    match command {
        Command::Templates(_)
        | Command::Migrate(_)
        | Command::Db(_)
        | Command::Notify(_)
        | Command::Export(_)
        | Command::Send(_)
        | Command::Window(_)
        | Command::Sync(_) => "warn",
        _ => "info",
    }
}

/// Runs the parsed command. Logging starts once the config says how to write it.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let level = default_level(&cli.command);
    let flag = cli.config.as_deref();
    let load = || -> anyhow::Result<Config> {
        let config = Config::locate_and_load(flag)?;
        logging::init(level, config.log_format);
        if let Some(card) = &config.rate_card {
            crate::pricing::install(card.clone());
        }
        Ok(config)
    };
    match cli.command {
        Command::Demo(args) => {
            logging::init(level, logging::from_env()?);
            demo::run(args).await
        }
        Command::Simulate(args) => {
            logging::init(level, logging::from_env()?);
            simulate::run(args).await
        }
        Command::Serve => serve::run(load()?).await,
        Command::Sync(args) => sync::run(load()?, args).await,
        Command::Templates(cmd) => templates::run(load()?, cmd).await,
        Command::Send(args) => send::send(load()?, args).await,
        Command::Window(args) => send::window(load()?, args).await,
        Command::Migrate(args) => migrate::run(load()?, args),
        Command::Db(cmd) => db::run(load()?, cmd),
        Command::Notify(cmd) => notify::run(load()?, cmd).await,
        Command::Export(args) => export::run(load()?, args).await,
    }
}

/// Opens the configured database, running migrations.
pub(crate) fn open_db(config: &Config) -> anyhow::Result<Db> {
    Ok(Db::open(&config.database)?)
}

/// Whether the command stopped because whoever read its output went away (`| head`): not an
/// error to report.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Usage and config errors exit 2; everything else 1.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    let unknown_account = e.downcast_ref::<UnknownAccount>().is_some()
        || matches!(
            e.downcast_ref::<crate::sync::SyncError>(),
            Some(crate::sync::SyncError::UnknownAccount(_))
        );
    if unknown_account
        || e.downcast_ref::<ConfigError>().is_some()
        || e.downcast_ref::<UsageError>().is_some()
    {
        2
    } else {
        1
    }
}

/// Bad usage that clap cannot see (an unknown account, an ambiguous name).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }
}
