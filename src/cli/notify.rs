//! `templar notify test|status`: try a channel now; see what was delivered, what waits, what died.

use std::process::ExitCode;

use crate::clock;
use crate::config::Config;
use crate::db::models::notifications as out;
use crate::notify::{channels, Change, Payload, TemplateRef};

/// `templar notify ...`
#[derive(clap::Subcommand, Debug)]
pub enum NotifyCommand {
    /// Send a sample "approved" notification through every channel (or one) now, and report.
    Test {
        /// Only this channel (a `[[notify]]` name).
        #[arg(long, value_name = "NAME")]
        channel: Option<String>,
    },
    /// Recent deliveries, and the pending and dead ones.
    Status {
        /// One JSON document on stdout.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(config: Config, cmd: NotifyCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        NotifyCommand::Test { channel } => test(&config, channel.as_deref()).await,
        NotifyCommand::Status { json } => status(&config, json).await,
    }
}

async fn test(config: &Config, only: Option<&str>) -> anyhow::Result<ExitCode> {
    let channels: Vec<_> = config
        .notify
        .iter()
        .filter(|c| only.is_none_or(|o| o == c.name))
        .collect();
    if channels.is_empty() {
        let known: Vec<&str> = config.notify.iter().map(|c| c.name.as_str()).collect();
        return Err(super::UsageError(match only {
            Some(o) => format!("no channel named `{o}`; configured: {}", known.join(", ")),
            None => "no [[notify]] channels are configured".into(),
        })
        .into());
    }
    let now = clock::now().timestamp();
    let sample = Payload {
        id: format!("test:{now}"),
        event: "test".into(),
        occurred_at: clock::rfc3339(now),
        account: config.accounts.first().map(|a| a.name.clone()),
        template: Some(TemplateRef {
            id: "0".into(),
            name: "order_confirmation".into(),
            language: "en_US".into(),
            category: "UTILITY".into(),
            status: "APPROVED".into(),
            quality: Some("GREEN".into()),
        }),
        change: Some(Change {
            field: "status".into(),
            from: Some("PENDING".into()),
            to: "APPROVED".into(),
            reason: None,
        }),
        url: config.public_url.clone(),
        title: "Test from templar: order_confirmation (en_US) approved".into(),
        text:
            "This is a test notification. Real ones say what happened to a template and what to do."
                .into(),
        ..Default::default()
    };
    let client = crate::sources::http_client();
    let mut failed = 0;
    for ch in channels {
        match channels::send(ch, &sample, "test", &client).await {
            Ok(()) => say!("{:12} {:7}  delivered", ch.name, ch.kind.as_str())?,
            Err(e) => {
                failed += 1;
                say!("{:12} {:7}  FAILED: {e}", ch.name, ch.kind.as_str())?;
            }
        }
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn status(config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let db = super::open_db(config)?;
    let (recent, (pending, delivered, dead)) = db
        .run(|c| Ok((out::recent(c, 30)?, out::counts(c)?)))
        .await?;
    if json {
        let doc = serde_json::json!({"pending": pending, "delivered": delivered, "dead": dead, "recent": recent});
        say!("{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    if config.notify.is_empty() {
        say!(
            "no notification channels are configured: add a [[notify]] table to {} \
             (README, Notifications); nothing is queued meanwhile",
            config
                .path
                .as_deref()
                .map_or("the config".into(), |p| p.display().to_string())
        )?;
        if recent.is_empty() {
            return Ok(ExitCode::SUCCESS);
        }
    }
    say!("{pending} pending, {delivered} delivered, {dead} dead")?;
    for n in &recent {
        let state = match (n.delivered_at, n.dead_at) {
            (Some(at), _) => format!("delivered {}", clock::human(at)),
            (None, Some(at)) => format!("DEAD {} after {} attempts", clock::human(at), n.attempts),
            (None, None) => format!(
                "pending, attempt {} at {}",
                n.attempts + 1,
                clock::human(n.next_attempt_at)
            ),
        };
        let title = serde_json::from_str::<Payload>(&n.payload)
            .map(|p| p.title)
            .unwrap_or_default();
        say!("  {:10} {:16} {state}  {title}", n.channel, n.kind)?;
        if let (None, Some(e)) = (n.delivered_at, &n.last_error) {
            say!("  {:10} {:16} last error: {e}", "", "")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
