//! `templar migrate`: apply (or, for recovery, revert) the embedded migrations.

use std::process::ExitCode;

use crate::config::Config;
use crate::db::Db;

/// Flags of `templar migrate`.
#[derive(clap::Args, Debug)]
pub struct MigrateArgs {
    /// Revert every migration instead, deleting all templar data in the database.
    #[arg(long, requires = "yes")]
    pub revert_all: bool,
    /// Confirm `--revert-all`.
    #[arg(long)]
    pub yes: bool,
}

pub fn run(config: Config, args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let db = Db::open_without_migrating(&config.database)?;
    if args.revert_all {
        let reverted = db.revert_all()?;
        say!(
            "reverted {} migrations in {}",
            reverted.len(),
            config.database
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let applied = db.migrate()?;
    if applied.is_empty() {
        say!("{} is up to date", config.database)?;
    } else {
        for v in &applied {
            say!("applied {v}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
