//! `templar export`: usage per template and day/week/month/period, or per message, as CSV, JSON
//! or JSON lines, to a file or stdout.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use super::UsageError;
use crate::config::Config;
use crate::db::models::templates::ListQuery;
use crate::export::{self, By, Format, Query, Sink};
use crate::report::Period;

/// Flags of `templar export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// First day (ISO 8601, UTC), e.g. 2026-11-01. Default: 30 days before --to.
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Last day, included (ISO 8601, UTC). Default: today.
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// File format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
    /// One row per template and day, ISO week, month, or the whole period.
    #[arg(long, value_enum, default_value = "day")]
    pub by: By,
    /// Only this account.
    #[arg(long, value_name = "A")]
    pub account: Option<String>,
    /// Only templates with this name.
    #[arg(long, value_name = "NAME")]
    pub template: Option<String>,
    /// One row per message instead (wamid, template, recipient, status times, error). Recipient
    /// numbers are personal data: see --hash-recipients.
    #[arg(long)]
    pub messages: bool,
    /// With --messages: replace each recipient by its HMAC-SHA256, keyed by $TEMPLAR_HASH_KEY
    /// (stable across exports) or a random key (stable within this export only).
    #[arg(long, requires = "messages")]
    pub hash_recipients: bool,
    /// Write to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub async fn run(config: Config, args: ExportArgs) -> anyhow::Result<ExitCode> {
    if let Some(a) = &args.account {
        config.account(a)?;
    }
    let today = crate::clock::now().date_naive();
    let period =
        Period::parse(None, args.from.as_deref(), args.to.as_deref(), today).map_err(UsageError)?;
    let db = super::open_db(&config)?;
    let q = Query {
        period,
        by: args.by,
        filter: ListQuery {
            account: args.account.clone(),
            ..Default::default()
        },
        template_id: None,
        template_name: args.template.clone(),
    };
    let key: Option<Vec<u8>> =
        args.hash_recipients
            .then(|| match std::env::var("TEMPLAR_HASH_KEY") {
                Ok(k) if !k.is_empty() => k.into_bytes(),
                _ => {
                    use rand::Rng;
                    rand::rng().random::<[u8; 32]>().to_vec()
                }
            });
    let out = args.out.clone();
    let (format, messages) = (args.format, args.messages);
    let result = db
        .run(move |conn| {
            let w: Box<dyn Write> = match &out {
                Some(p) => match std::fs::File::create(p) {
                    Ok(f) => Box::new(std::io::BufWriter::new(f)),
                    Err(e) => {
                        return Ok(Err(export::ExportError::Usage(format!(
                            "cannot write {}: {e}",
                            p.display()
                        ))))
                    }
                },
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let show = std::io::stderr().is_terminal();
            let mut progress = |n: usize, total: Option<usize>| {
                if show && (n % 50_000 < 5000 || total == Some(n)) {
                    match total {
                        Some(t) if t > 0 => {
                            let done = n * 30 / t;
                            eprint!(
                                "\r[{}{}] {:>3}% {n}/{t} rows",
                                "#".repeat(done),
                                " ".repeat(30 - done.min(30)),
                                n * 100 / t
                            );
                        }
                        _ => eprint!("\r{n} rows"),
                    }
                }
            };
            let header = if messages {
                export::MESSAGE_HEADER
            } else {
                export::USAGE_HEADER
            };
            let mut sink = match Sink::new(format, header, w) {
                Ok(s) => s,
                Err(e) => return Ok(Err(e.into())),
            };
            let written = if messages {
                export::message_rows(conn, &q, key.as_deref(), &mut sink, &mut progress)
            } else {
                export::usage_rows(conn, &q, &mut sink, &mut progress)
            };
            Ok(written.and_then(|_| sink.finish().map_err(Into::into)))
        })
        .await?;
    match result {
        Ok(n) => {
            if std::io::stderr().is_terminal() {
                eprintln!();
            }
            if let Some(p) = &args.out {
                eprintln!("wrote {n} rows to {}", p.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(export::ExportError::Usage(m)) => Err(UsageError(m).into()),
        Err(e) => Err(e.into()),
    }
}
