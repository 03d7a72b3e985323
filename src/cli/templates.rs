//! `templar templates list|show`: the stored catalogue, as a table or JSON.

use std::process::ExitCode;

use anyhow::Context;

use super::UsageError;
use crate::clock;
use crate::config::Config;
use crate::db::models::templates::{self as tpl, ListQuery};
use crate::views::{self, EventView, TemplateDetail, TemplateView};

mod files;
pub use files::*;
mod library;
pub use library::LibraryArgs;

/// `templar templates ...`
#[derive(clap::Subcommand, Debug)]
pub enum TemplatesCommand {
    /// List templates (deleted ones only with `--status DELETED`).
    List(ListArgs),
    /// Show one template's current state and its full history.
    Show(ShowArgs),
    /// Check a definition file (the JSON body of Meta's create call) for what Meta's review
    /// rejects on format, then submit it; or create one from Meta's Template Library with
    /// --from-library. The new template shows up at once (PENDING, or APPROVED from the library).
    Create(CreateArgs),
    /// Search Meta's Template Library: pre-written templates Meta approves as they are.
    Library(LibraryArgs),
    /// Keep a folder of definitions (*.json) in step with one or more accounts: create what
    /// is missing, edit what differs where Meta allows it, report the rest.
    #[command(after_help = "\
Each file holds one definition: {\"name\", \"language\", \"category\", \"parameter_format\", \
\"components\"}, as Meta's POST /{waba}/message_templates takes it. Templates are matched by name \
and language. Meta allows edits only of APPROVED, REJECTED and PAUSED templates, and a category \
change only on REJECTED ones; other differences are reported, not edited. Examples are not \
compared (Meta rewrites media handles).

Exit status: 0 in step (or planned); 1 a step failed upstream; 2 a definition is invalid \
(nothing is sent then).")]
    Apply(ApplyArgs),
}

/// Filters of `templates list`.
#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// Only this account.
    #[arg(long, value_name = "A")]
    pub account: Option<String>,
    /// Only this status (APPROVED, PENDING, REJECTED, PAUSED, DISABLED, ..., or DELETED).
    #[arg(long, value_name = "S")]
    pub status: Option<String>,
    /// Only this category (MARKETING, UTILITY, AUTHENTICATION).
    #[arg(long, value_name = "C")]
    pub category: Option<String>,
    /// Only this language code (e.g. en_US).
    #[arg(long, value_name = "L")]
    pub language: Option<String>,
    /// Only this quality (GREEN, YELLOW, RED, UNKNOWN).
    #[arg(long, value_name = "Q")]
    pub quality: Option<String>,
    /// Only names containing this text.
    #[arg(long, value_name = "SUBSTR")]
    pub name: Option<String>,
    /// One JSON array on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `templates show`.
#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// The template's name.
    pub name: String,
    /// Its language, when the name exists in several.
    #[arg(long, value_name = "L")]
    pub language: Option<String>,
    /// Its account, when the name exists in several.
    #[arg(long, value_name = "A")]
    pub account: Option<String>,
    /// Also every content version, newest first, with the words that changed.
    #[arg(long)]
    pub versions: bool,
    /// One JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(config: Config, cmd: TemplatesCommand) -> anyhow::Result<ExitCode> {
    let cmd = match cmd {
        TemplatesCommand::Create(args) => return create(config, args).await,
        TemplatesCommand::Apply(args) => return apply(config, args).await,
        TemplatesCommand::Library(args) => return library::library(config, args).await,
        other => other,
    };
    if let TemplatesCommand::List(ListArgs {
        account: Some(a), ..
    })
    | TemplatesCommand::Show(ShowArgs {
        account: Some(a), ..
    }) = &cmd
    {
        config.account(a)?;
    }
    let db = super::open_db(&config)?;
    match cmd {
        TemplatesCommand::List(args) => {
            let deleted = args
                .status
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("DELETED"));
            let q = ListQuery {
                account: args.account,
                status: args.status.filter(|_| !deleted),
                category: args.category,
                language: args.language,
                quality: args.quality,
                name_contains: args.name,
                include_deleted: deleted,
                only_deleted: deleted,
                group: None,
            };
            let rows = db.run(move |c| tpl::list(c, &q)).await?;
            let views: Vec<TemplateView> = rows
                .into_iter()
                .filter(|(r, _, _)| !deleted || r.deleted_at.is_some())
                .map(|(r, a, s)| TemplateView::new(r, a, s))
                .collect();
            if args.json {
                say!("{}", serde_json::to_string_pretty(&views)?)?;
            } else {
                say_raw!("{}", table(&views))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        TemplatesCommand::Create(_) | TemplatesCommand::Apply(_) | TemplatesCommand::Library(_) => {
            unreachable!("handled above")
        }
        TemplatesCommand::Show(args) => {
            let q = ListQuery {
                account: args.account.clone(),
                language: args.language.clone(),
                include_deleted: true,
                ..Default::default()
            };
            let name = args.name.clone();
            let found = db
                .run(move |c| {
                    let all = tpl::list(c, &q)?;
                    let names: std::collections::BTreeSet<String> =
                        all.iter().map(|(r, _, _)| r.name.clone()).collect();
                    let rows: Vec<_> = all.into_iter().filter(|(r, _, _)| r.name == name).collect();
                    if rows.len() != 1 {
                        let names: Vec<&str> = names.iter().map(String::as_str).collect();
                        let hint = crate::text::closest(&name, &names).map(str::to_string);
                        return Ok(Err((rows, hint)));
                    }
                    let (row, account, source) = rows.into_iter().next().ok_or(diesel::NotFound)?;
                    let events = tpl::events_of(c, row.id)?;
                    let versions = crate::db::models::versions::of(c, row.id)?;
                    Ok(Ok((row, account, source, events, versions)))
                })
                .await?;
            let (row, account, source, events, versions) = match found {
                Ok(one) => one,
                Err((rows, hint)) if rows.is_empty() => {
                    let hint = hint
                        .map(|h| format!("; did you mean `{h}`?"))
                        .unwrap_or_default();
                    anyhow::bail!("no template named `{}`{}{hint}", args.name, scope(&args))
                }
                Err((rows, _)) => {
                    let options: Vec<String> = rows
                        .iter()
                        .map(|(r, a, _)| format!("language `{}` in {a}", r.language))
                        .collect();
                    return Err(UsageError(format!(
                        "`{}` exists {} times ({}); pass --language and/or --account",
                        args.name,
                        rows.len(),
                        options.join(", ")
                    ))
                    .into());
                }
            };
            let detail = TemplateDetail {
                template: TemplateView::new(row, account, source),
                events: events.into_iter().map(EventView::from).collect(),
                versions: args.versions.then(|| views::versions::views(&versions)),
            };
            if args.json {
                say!(
                    "{}",
                    serde_json::to_string_pretty(&detail).context("encoding JSON")?
                )?;
            } else {
                say_raw!("{}", show(&detail))?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn scope(args: &ShowArgs) -> String {
    match (&args.language, &args.account) {
        (Some(l), Some(a)) => format!(" in {l} for account {a}"),
        (Some(l), None) => format!(" in {l}"),
        (None, Some(a)) => format!(" in account {a}"),
        (None, None) => String::new(),
    }
}

/// An aligned table, one template per line.
pub fn table(views: &[TemplateView]) -> String {
    if views.is_empty() {
        return "no templates match\n".into();
    }
    let headers = [
        "ACCOUNT",
        "NAME",
        "LANGUAGE",
        "CATEGORY",
        "STATUS",
        "QUALITY",
        "LAST CHANGE",
    ];
    let rows: Vec<[String; 7]> = views
        .iter()
        .map(|v| {
            [
                v.account.clone(),
                v.name.clone(),
                v.language.clone(),
                v.category.clone(),
                if v.deleted_at.is_some() {
                    format!("DELETED ({})", v.status)
                } else {
                    v.status.clone()
                },
                v.quality.clone().unwrap_or_else(|| "-".into()),
                v.last_changed_at
                    .replace('T', " ")
                    .trim_end_matches('Z')
                    .to_string(),
            ]
        })
        .collect();
    let mut widths = headers.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = cells
            .iter()
            .zip(widths.iter())
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ");
        s.truncate(s.trim_end().len());
        s.push('\n');
        s
    };
    let mut out = line(&headers.map(String::from));
    for r in &rows {
        out.push_str(&line(r));
    }
    out.push_str(&format!("{} templates\n", views.len()));
    out
}

/// The human view of one template and its history.
pub fn show(d: &TemplateDetail) -> String {
    let t = &d.template;
    let mut out = format!("{}\n", t.name);
    let mut line = |label: &str, value: String| out.push_str(&format!("  {label:<11}{value}\n"));
    line("language", t.language.clone());
    line("id", format!("{} (Meta's template id)", t.id));
    line(
        "account",
        format!("{} ({}, WABA {})", t.account, t.source, t.waba_id),
    );
    line(
        "status",
        format!(
            "{}{}",
            t.status,
            match (&t.deleted_at, &t.rejected_reason) {
                (Some(at), _) => format!("  (deleted upstream {})", human(at)),
                (None, Some(r)) => format!("  (reason: {r})"),
                _ => String::new(),
            }
        ),
    );
    line(
        "category",
        format!(
            "{}{}",
            t.category,
            t.previous_category
                .as_ref()
                .map(|p| format!("  (was {p})"))
                .unwrap_or_default()
        ),
    );
    line("quality", t.quality.clone().unwrap_or_else(|| "-".into()));
    if let Some(f) = &t.parameter_format {
        line("parameters", f.to_lowercase());
    }
    line("first seen", human(&t.first_seen_at));
    out.push_str("content:\n");
    for c in t.components.as_array().into_iter().flatten() {
        out.push_str(&component(c));
    }
    out.push_str("history:\n");
    for e in &d.events {
        out.push_str(&format!(
            "  {}  {:8} {:>10} -> {:<10} via {}{}\n",
            human(&e.at),
            e.field,
            e.from.as_deref().unwrap_or("(new)"),
            e.to,
            e.source,
            e.reason
                .as_ref()
                .map(|r| format!("  ({r})"))
                .unwrap_or_default()
        ));
    }
    if let Some(versions) = &d.versions {
        out.push_str(&versions_text(versions));
    }
    out
}

/// Each version: when and by whom it was seen, then its parts (the first) or the words that
/// changed from the one before, `[-removed-]` and `{+added+}` as `git diff --word-diff` writes.
fn versions_text(versions: &[views::versions::VersionView]) -> String {
    let mut out = format!("versions ({}, newest first):\n", versions.len());
    // Labels such as `Button 1 (URL) example` are long: every text starts after the longest.
    let w = versions
        .iter()
        .flat_map(|v| {
            let parts = v.parts.iter().map(|p| p.label.len());
            parts.chain(v.changes.iter().map(|c| c.label.len()))
        })
        .max()
        .unwrap_or(0)
        + 2;
    for v in versions {
        out.push_str(&format!(
            "  v{}  seen {} via {}\n",
            v.version,
            human(&v.seen_at),
            v.source
        ));
        if v.changes.is_empty() {
            for p in &v.parts {
                out.push_str(&format!("    {:<w$}{}\n", p.label, p.text));
            }
        }
        for c in &v.changes {
            let words: String = c
                .words
                .iter()
                .map(|w| match w.kind {
                    "added" => format!("{{+{}+}}", w.text),
                    "removed" => format!("[-{}-]", w.text),
                    _ => w.text.clone(),
                })
                .collect();
            out.push_str(&format!("    {:<w$}{words}\n", c.label));
        }
    }
    out
}

/// One time format for the CLI: `2026-12-01 16:40 UTC`.
fn human(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| clock::human(t.timestamp()))
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// One component as a line: its type (and format), its text, and its buttons.
fn component(c: &serde_json::Value) -> String {
    let kind = c["type"].as_str().unwrap_or("?");
    let label = match c["format"].as_str() {
        Some(f) => format!("{kind} ({f})"),
        None => kind.to_string(),
    };
    let text = match c["buttons"].as_array() {
        Some(buttons) => buttons
            .iter()
            .map(|b| {
                let target = b["url"].as_str().or(b["phone_number"].as_str());
                format!(
                    "[{}] {}{}",
                    b["type"].as_str().unwrap_or("?"),
                    b["text"].as_str().unwrap_or(""),
                    target.map(|t| format!(" -> {t}")).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join(" | "),
        None => c["text"].as_str().unwrap_or("(media)").to_string(),
    };
    format!("  {label:<15}{text}\n")
}
