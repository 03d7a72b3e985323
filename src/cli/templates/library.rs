//! `templates library` (Meta's Template Library, searched) and `templates create
//! --from-library` (a template made from a library one, checked here before it is sent).

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{json, Value};

use crate::authoring::{self, Definition};
use crate::config::{AccountConfig, Config};
use crate::sources::library::{LibraryQuery, LibraryTemplate};
use crate::sources::{http_client, Graph};

/// Filters of `templates library`.
#[derive(clap::Args, Debug)]
pub struct LibraryArgs {
    /// The account whose credentials ask (default: the first configured).
    #[arg(long, value_name = "A")]
    pub account: Option<String>,
    /// Words in the name or text.
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    /// A topic, e.g. ORDER_MANAGEMENT, PAYMENTS, ACCOUNT_UPDATE.
    #[arg(long, value_name = "T")]
    pub topic: Option<String>,
    /// A use case, e.g. DELIVERY_UPDATE, LOW_BALANCE_WARNING.
    #[arg(long, value_name = "U")]
    pub usecase: Option<String>,
    /// An industry: E_COMMERCE or FINANCIAL_SERVICES.
    #[arg(long, value_name = "I")]
    pub industry: Option<String>,
    /// A language code, e.g. en_US.
    #[arg(long, value_name = "L")]
    pub language: Option<String>,
    /// One JSON array on stdout (the fields Meta names).
    #[arg(long)]
    pub json: bool,
}

/// The `templates create` arguments for a template made from the library.
#[derive(clap::Args, Debug, Default)]
pub struct FromLibrary {
    /// Create from this library template (see `templates library`) instead of a file.
    #[arg(long, value_name = "LIBRARY_NAME")]
    pub from_library: Option<String>,
    /// The new template's name (default: the library template's).
    #[arg(long, value_name = "NAME", requires = "from_library")]
    pub name: Option<String>,
    /// Its language (default: the library template's).
    #[arg(long, value_name = "L", requires = "from_library")]
    pub language: Option<String>,
    /// The address of the URL button (https; may end in {{1}} for a per-message suffix).
    #[arg(long, value_name = "URL", requires = "from_library")]
    pub button_url: Option<String>,
    /// The number of the call button, e.g. +15551234567.
    #[arg(long, value_name = "PHONE", requires = "from_library")]
    pub button_phone: Option<String>,
}

fn source(config: &Config, account: Option<&str>) -> anyhow::Result<Graph> {
    let account = match account {
        Some(a) => config.account(a)?,
        None => config
            .accounts
            .first()
            .ok_or_else(|| anyhow::anyhow!("no account configured"))?,
    };
    Ok(Graph::for_account(account, &config.sync, http_client()))
}

/// `templates library`.
pub(crate) async fn library(config: Config, args: LibraryArgs) -> anyhow::Result<ExitCode> {
    let graph = source(&config, args.account.as_deref())?;
    let q = LibraryQuery {
        search: args.search,
        topic: args.topic,
        usecase: args.usecase,
        industry: args.industry,
        language: args.language,
        name: None,
    };
    let found = graph
        .library(&q)
        .await
        .map_err(|e| anyhow::anyhow!("the template library: {}", super::upstream(&e)))?;
    if args.json {
        say!("{}", serde_json::to_string_pretty(&found)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    if found.is_empty() {
        say!("no library templates match")?;
        return Ok(ExitCode::SUCCESS);
    }
    for t in &found {
        let buttons: Vec<String> = t
            .buttons
            .iter()
            .map(|b| format!("[{}] {}", b.kind, b.text))
            .collect();
        say!(
            "{}  {}  {}  {} / {}\n  {}{}\n",
            t.name,
            t.language,
            t.category,
            t.topic.as_deref().unwrap_or("-"),
            t.usecase.as_deref().unwrap_or("-"),
            crate::text::excerpt(&t.body, 120),
            if buttons.is_empty() {
                String::new()
            } else {
                format!("\n  {}", buttons.join("  "))
            }
        )?;
    }
    say!(
        "{} library templates. Create one with: templar templates create --account A --from-library NAME",
        found.len()
    )?;
    Ok(ExitCode::SUCCESS)
}

/// What is wrong with a library request, before anything is sent.
fn problems(t: &LibraryTemplate, name: &str, language: &str, f: &FromLibrary) -> Vec<String> {
    let mut out = Vec::new();
    if !authoring::valid_name(name) || name.len() > 512 {
        out.push(format!(
            "--name `{name}`: use lower-case letters, digits and underscores only"
        ));
    }
    if !authoring::valid_language(language) {
        out.push(format!(
            "--language `{language}` is not a language code like en_US"
        ));
    }
    let needs = t.needs_inputs();
    match (&f.button_url, needs.contains(&"URL")) {
        (None, true) => out.push(format!(
            "{} has a URL button: give its address with --button-url https://…",
            t.name
        )),
        (Some(_), false) => out.push(format!(
            "{} has no URL button; leave out --button-url",
            t.name
        )),
        (Some(u), true)
            if !u.starts_with("https://") || u.len() > 2000 || u.contains(char::is_whitespace) =>
        {
            out.push(format!(
                "--button-url `{u}` is not an https address (at most 2,000 characters, no spaces)"
            ))
        }
        _ => {}
    }
    match (&f.button_phone, needs.contains(&"PHONE_NUMBER")) {
        (None, true) => out.push(format!(
            "{} has a call button: give its number with --button-phone +…",
            t.name
        )),
        (Some(_), false) => out.push(format!(
            "{} has no call button; leave out --button-phone",
            t.name
        )),
        (Some(p), true) => {
            let digits = crate::sources::digits(p);
            if !(7..=15).contains(&digits.len())
                || !p
                    .trim_start_matches('+')
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
            {
                out.push(format!(
                    "--button-phone `{p}` is not a phone number like +15551234567"
                ));
            }
        }
        _ => {}
    }
    out
}

/// `templates create --from-library NAME`.
pub(crate) async fn create(
    config: &Config,
    account: &AccountConfig,
    f: &FromLibrary,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let Some(wanted) = f.from_library.as_deref() else {
        anyhow::bail!("give --file DEF.json or --from-library NAME");
    };
    let graph = Graph::for_account(account, &config.sync, http_client());
    let q = LibraryQuery {
        name: Some(wanted.to_string()),
        language: f.language.clone(),
        ..Default::default()
    };
    let err = |e: crate::sources::SourceError| {
        anyhow::anyhow!("the template library: {}", super::upstream(&e))
    };
    let found = graph.library(&q).await.map_err(err)?;
    let Some(t) = found.into_iter().find(|t| t.name == wanted) else {
        let all = graph.library(&LibraryQuery::default()).await.map_err(err)?;
        let names: Vec<&str> = all.iter().map(|t| t.name.as_str()).collect();
        let hint = crate::text::closest(wanted, &names)
            .map(|c| format!("; did you mean `{c}`?"))
            .unwrap_or_default();
        eprintln!(
            "error: no library template named `{wanted}`{}{hint} (see `templar templates library`)",
            f.language
                .as_ref()
                .map(|l| format!(" in {l}"))
                .unwrap_or_default()
        );
        return Ok(ExitCode::from(2));
    };
    let name = f.name.clone().unwrap_or_else(|| t.name.clone());
    let language = f.language.clone().unwrap_or_else(|| t.language.clone());
    let bad = problems(&t, &name, &language, f);
    if !bad.is_empty() {
        for p in &bad {
            eprintln!("error: {p}");
        }
        eprintln!(
            "{} problem{}; nothing was sent",
            bad.len(),
            if bad.len() == 1 { "" } else { "s" }
        );
        return Ok(ExitCode::from(2));
    }
    let mut inputs = Vec::new();
    if let Some(u) = &f.button_url {
        let mut url = json!({"base_url": u});
        // A per-message suffix needs an example of a full address.
        if u.contains("{{1}}") {
            url["url_suffix_example"] = json!(u.replace("{{1}}", "example"));
        }
        inputs.push(json!({"type": "URL", "url": url}));
    }
    if let Some(p) = &f.button_phone {
        inputs.push(json!({"type": "PHONE_NUMBER", "phone_number": p}));
    }
    let mut body = json!({"name": name, "language": language, "category": t.category,
                          "library_template_name": t.name});
    if !inputs.is_empty() {
        body["library_template_button_inputs"] = Value::Array(inputs);
    }
    let def = Definition {
        file: PathBuf::from(format!("library:{}", t.name)),
        name,
        language,
        category: t.category.to_ascii_uppercase(),
        parameter_format: "POSITIONAL".into(),
        // The content comes from the library: the next sync records it as version 1.
        components: Value::Null,
        body,
    };
    super::submit(config, account, def, dry_run).await
}
