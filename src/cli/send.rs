//! `templar send` and `templar window`: send a template (checked locally first) or free-form
//! text (only inside the 24-hour window unless forced), and look a customer's window up.

use std::process::ExitCode;

use crate::clock;
use crate::config::Config;
use crate::send::{self, Content, ErrorKind, SendError, SendRequest};
use crate::sources::http_client;

/// Arguments of `templar send`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Parameters fill the template's placeholders: plain values go in order (header, body, then \
buttons), KEY=VALUE names one: a NAMED template's placeholder (first_name=Ana), `header.1`, \
`header` (a media link or id) or `button.N` (the N-th button's URL suffix or code).

Examples:
  templar send --account acme --to +15551234567 --template order_update --param Ana --param A-1
  templar send --account acme --to +15551234567 --template welcome --param first_name=Ana
  templar send --account acme --to +15551234567 --text 'Your order shipped'

Exit status: 0 sent; 1 refused (template not approved, window closed, upstream error); 2 bad \
input (unknown account or template, parameters that do not fit).")]
pub struct SendArgs {
    /// The account to send from.
    #[arg(long, value_name = "A")]
    pub account: String,
    /// The customer's number, international format (+15551234567).
    #[arg(long, value_name = "NUMBER")]
    pub to: String,
    /// The approved template to send.
    #[arg(
        long,
        value_name = "NAME",
        conflicts_with = "text",
        required_unless_present = "text"
    )]
    pub template: Option<String>,
    /// The template's language, when it exists in several.
    #[arg(long, value_name = "L", requires = "template")]
    pub language: Option<String>,
    /// A template parameter: VALUE, or KEY=VALUE (repeat for each).
    #[arg(long = "param", value_name = "V", requires = "template")]
    pub params: Vec<String>,
    /// Free-form text instead of a template: only inside the customer's 24-hour window.
    #[arg(long, value_name = "TEXT")]
    pub text: Option<String>,
    /// Send the text even though the window looks closed.
    #[arg(long, requires = "text")]
    pub force: bool,
    /// The phone number id to send from (default: the account's first).
    #[arg(long, value_name = "PHONE_NUMBER_ID")]
    pub from: Option<String>,
    /// Print the result (or the error) as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `templar window`.
#[derive(clap::Args, Debug)]
pub struct WindowArgs {
    /// The account.
    #[arg(long, value_name = "A")]
    pub account: String,
    /// The customer's number.
    #[arg(long, value_name = "NUMBER")]
    pub to: String,
    /// The business phone number id (default: the account's first).
    #[arg(long, value_name = "PHONE_NUMBER_ID")]
    pub from: Option<String>,
    /// One JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

fn code_of(e: &SendError) -> ExitCode {
    match e.kind {
        ErrorKind::Invalid => ExitCode::from(2),
        _ => ExitCode::FAILURE,
    }
}

pub async fn send(config: Config, args: SendArgs) -> anyhow::Result<ExitCode> {
    let db = super::open_db(&config)?;
    let content = match (args.template, args.text) {
        (Some(name), _) => Content::Template {
            name,
            language: args.language,
            params: args.params,
        },
        (None, Some(text)) => Content::Text(text),
        (None, None) => {
            return Err(super::UsageError("give --template NAME or --text TEXT".into()).into())
        }
    };
    let req = SendRequest {
        account: args.account,
        to: args.to,
        from: args.from,
        content,
        force: args.force,
    };
    let now = clock::now().timestamp();
    match send::send(&config, &db, http_client(), &req, now).await {
        Ok(sent) => {
            if args.json {
                say!("{}", serde_json::to_string_pretty(&sent)?)?;
            } else {
                let what = sent.template.as_deref().unwrap_or("text message");
                say!(
                    "sent {what} to {} from {}\nmessage id  {}\nstatus      {}",
                    sent.wa_id.as_deref().unwrap_or(&sent.to),
                    sent.from,
                    sent.message_id,
                    sent.message_status.as_deref().unwrap_or("accepted")
                )?;
                if let Some(note) = send::status_note(sent.message_status.as_deref()) {
                    say!("            {note}")?;
                }
                say!("Delivery and reads show up in the dashboard as the status webhooks arrive.")?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if args.json {
                say!("{}", serde_json::to_string_pretty(&e)?)?;
            } else {
                eprintln!("error: {e}");
            }
            Ok(code_of(&e))
        }
    }
}

pub async fn window(config: Config, args: WindowArgs) -> anyhow::Result<ExitCode> {
    let db = super::open_db(&config)?;
    let now = clock::now().timestamp();
    match send::window(
        &config,
        &db,
        http_client(),
        &args.account,
        &args.to,
        args.from.as_deref(),
        now,
    )
    .await
    {
        Ok(w) => {
            if let Some(warn) = &w.warning {
                eprintln!("warning: {warn}");
            }
            if args.json {
                say!("{}", serde_json::to_string_pretty(&w)?)?;
            } else {
                say!("{}", w.describe(now))?;
                if let Some(by) = &w.seen_by {
                    say!("(last message as seen by {by})")?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(code_of(&e))
        }
    }
}
