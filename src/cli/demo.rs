//! `templar demo`: the built-in simulator plus a live templar against it, no credentials.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use crate::clock;
use crate::config::Config;
use crate::sim::{Sim, SimOptions};
use crate::sync::{run_once, SyncContext, SyncMode, SyncOptions};

/// Flags of `templar demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Address for templar's HTTP server.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: String,
    /// Where the demo keeps its config and database (recreated on every start).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Simulated hours that pass per real minute (reviews conclude, templates get paused).
    #[arg(long, default_value_t = 60.0, value_name = "H")]
    pub speed: f64,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("templar-demo"));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for f in ["templar.db", "templar.db-wal", "templar.db-shm"] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {} (pass --listen ADDR)", args.listen))?;
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    // The simulator posts its webhooks to this templar, as Meta and Kapso would.
    let opts = SimOptions {
        accounts: 6,
        templates: 150,
        webhook_url: Some(format!("http://{}", listener.local_addr()?)),
        ..SimOptions::default()
    };
    let started = clock::now().timestamp() - HISTORY_HOURS * 3600;
    let sim = Sim::start(opts, sim_listener, started).await?;
    let config_path = dir.join("templar.toml");
    // Faster schedules than a real deployment, so the demo visibly moves.
    let toml = sim
        .config_toml()
        .replace(
            "listen = \"127.0.0.1:8080\"",
            &format!("listen = \"{}\"", listener.local_addr()?),
        )
        .replace(
            "schedule = \"*/15 * * * *\"",
            "schedule = \"0 */5 * * * *\"",
        )
        .replace(
            "pending_schedule = \"*/2 * * * *\"",
            "pending_schedule = \"*/20 * * * * *\"",
        )
        .replace(
            "usage_schedule = \"5 * * * *\"",
            "usage_schedule = \"30 * * * * *\"",
        )
        // A channel the Notifications page fills: the simulator stands in for a team's chat.
        + &format!(
            "\n[[notify]]\nname = \"demo-chat\"\nkind = \"webhook\"\nurl = \"{}/_sim/notifications\"\n\
             secret = \"demo-secret\"\nevents = [\"approved\", \"rejected\", \"paused\", \"disabled\", \
             \"quality_down\", \"category_changed\", \"content_changed\", \"delivery_anomaly\", \
             \"number_quality_down\", \"messaging_limit_changed\", \"sync_failing\"]\n",
            sim.url()
        );
    std::fs::write(&config_path, toml)
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    let config = Config::load(&config_path, &crate::config::process_env)?;

    eprintln!("simulator listening on {}", sim.url());
    let db = super::open_db(&config)?;
    let ctx = SyncContext {
        db,
        config: std::sync::Arc::new(config.clone()),
        client: crate::sources::http_client(),
        metrics: Default::default(),
    };
    // Serve first, so the webhooks of the replayed days below have somewhere to go.
    let server = tokio::spawn(super::serve::serve(
        config.clone(),
        listener,
        super::serve::shutdown_signal(),
    ));
    let opts = SyncOptions {
        mode: SyncMode::Full,
        account: None,
        dry_run: false,
    };
    // The first sync happens when the replayed history starts, so every template's history
    // reads forwards: first seen, then reviewed, approved, paused.
    let first = chrono::DateTime::from_timestamp(started, 0).unwrap_or_else(clock::now);
    let report = run_once(&ctx, &opts, first).await?;
    say_raw!("{}", super::sync::render(&report))?;
    eprintln!("replaying {HISTORY_HOURS} simulated hours of reviews and traffic...");
    sim.advance((HISTORY_HOURS - 6) * 3600);
    // In the last hours Meta starts holding back one marketing template's messages (131049):
    // the overview's delivery anomalies show it.
    surge(&sim);
    // Meta moves a utility template to marketing, and announces the same for another: the
    // overview and their pages say what each does to the monthly cost.
    recategorise(&sim);
    sim.advance(6 * 3600);
    // Give the simulator's webhook sender a moment, then pull analytics, history, template
    // groups and number health, and look for anomalies at once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    crate::usage::run(&ctx, None, clock::now()).await;
    // The replay's webhooks take a few seconds to arrive; look for anomalies once they have
    // (the scheduler looks every 10 minutes).
    let db = ctx.db.clone();
    tokio::spawn(async move {
        for wait in [10, 20] {
            tokio::time::sleep(Duration::from_secs(wait)).await;
            if let Err(e) = crate::jobs::anomalies::check(&db, clock::now().timestamp()).await {
                tracing::warn!("delivery anomaly check failed: {e}");
            }
        }
    });
    // Someone edits a template in WhatsApp Manager (a second content version), and Meta flags
    // a phone number (the next usage pull sees its rating fall).
    let http = reqwest::Client::new();
    if let Some((id, text)) = edit_of(&sim) {
        let _ = http
            .post(format!("{}/_sim/templates/{id}/body", sim.url()))
            .json(&serde_json::json!({"text": text}))
            .send()
            .await;
    }
    if let Some(pnid) = config
        .accounts
        .first()
        .and_then(|a| a.phone_number_ids.first())
    {
        let _ = http
            .post(format!("{}/_sim/numbers/{pnid}", sim.url()))
            .json(&serde_json::json!({"quality_rating": "YELLOW", "event": "FLAGGED"}))
            .send()
            .await;
    }

    // Then simulated time runs fast until it reaches the present, and with the clock after.
    let sim_clock = sim.clone();
    let speed = args.speed.max(0.0);
    let control = format!("{}/_sim/templates", sim.url());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        tick.tick().await;
        let client = reqwest::Client::new();
        let mut beat = 0u64;
        loop {
            tick.tick().await;
            let behind = clock::now().timestamp() - sim_clock.world().now();
            let step = ((speed * 3600.0 / 12.0) as i64).min(behind.max(5));
            let changed = sim_clock.advance(step);
            tracing::debug!("simulated time advanced {step} s; {changed} templates changed");
            // Caught up with the present: Meta keeps reviewing and pausing, one change every
            // 20 seconds, so a newcomer watching sees something happen.
            beat += 1;
            if behind < 60 && beat.is_multiple_of(4) {
                if let Some((id, status)) = next_change(&sim_clock, beat) {
                    let _ = client
                        .post(format!("{control}/{id}/status"))
                        .json(&serde_json::json!({"status": status}))
                        .send()
                        .await;
                }
            }
        }
    });

    say!(
        "\ntemplar demo is running at http://{}\n\
         its config: {}\n\
         try:  templar --config {} templates list --status PENDING\n\
         \x20     templar --config {} templates library --search order\n\
         \x20     templar --config {} templates show {} --account {}\n\
         \x20     templar --config {} send --account {} --to +15550001234 --text 'Hi'   \
         (refused: the customer never wrote, so only templates go through)\n\
         Simulated time runs at up to {speed} hours per minute until it reaches the present; \
         pending templates get reviewed as it passes. Ctrl-C stops.",
        config.listen,
        config_path.display(),
        config_path.display(),
        config_path.display(),
        config_path.display(),
        sim.world()
            .templates
            .first()
            .map(|t| t.name.clone())
            .unwrap_or_default(),
        config
            .accounts
            .first()
            .map(|a| a.name.clone())
            .unwrap_or_default(),
        config_path.display(),
        config
            .accounts
            .first()
            .map(|a| a.name.clone())
            .unwrap_or_default(),
    )?;
    server.await??;
    Ok(ExitCode::SUCCESS)
}

/// The demo's next story beat: a template under review gets its verdict (mostly approved), or
/// every third beat an approved one is paused for low quality.
fn next_change(sim: &Sim, beat: u64) -> Option<(String, &'static str)> {
    let world = sim.world();
    let pick = |status: &str| {
        let matching: Vec<&String> = world
            .templates
            .iter()
            .filter(|t| t.status == status)
            .map(|t| &t.id)
            .collect();
        (!matching.is_empty()).then(|| matching[(beat as usize * 7) % matching.len()].clone())
    };
    if !beat.is_multiple_of(3) {
        if let Some(id) = pick("PENDING") {
            return Some((
                id,
                if beat.is_multiple_of(5) {
                    "REJECTED"
                } else {
                    "APPROVED"
                },
            ));
        }
    }
    pick("APPROVED").map(|id| (id, "PAUSED"))
}

/// Sets a surge of 131049 failures on one approved marketing template.
fn surge(sim: &Sim) {
    let mut world = sim.world();
    if let Some(t) = world
        .templates
        .iter_mut()
        .find(|t| t.status == "APPROVED" && t.category == "MARKETING")
    {
        t.surge = Some((131049, 0.35));
    }
}

/// Re-categorises the first approved utility template as marketing and announces the same
/// for the second.
fn recategorise(sim: &Sim) {
    let mut world = sim.world();
    let utility: Vec<usize> = world
        .templates
        .iter()
        .enumerate()
        .filter(|(_, t)| t.status == "APPROVED" && t.category == "UTILITY")
        .map(|(i, _)| i)
        .take(2)
        .collect();
    for (i, announce) in utility.into_iter().zip([false, true]) {
        world.recategorise(i, "MARKETING", announce);
    }
}

/// An approved template and its body with a sentence added: the demo's edit.
fn edit_of(sim: &Sim) -> Option<(String, String)> {
    let world = sim.world();
    world
        .templates
        .iter()
        .filter(|t| t.status == "APPROVED")
        .nth(3)
        .and_then(|t| {
            let body = t
                .components
                .as_array()?
                .iter()
                .find(|c| c["type"] == "BODY")?;
            let text = body["text"].as_str()?;
            Some((t.id.clone(), format!("{text} Reply STOP to opt out.")))
        })
}

/// Simulated history replayed when the demo starts.
const HISTORY_HOURS: i64 = 72;
