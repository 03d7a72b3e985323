//! Scheduled usage reports (`[[report]]`): a file per run and, when the report names a channel,
//! an announcement through it.

use std::sync::Arc;

use crate::db::Conn;
use chrono::NaiveDate;
use tokio::sync::watch;

use crate::clock;
use crate::config::{Config, ReportConfig};
use crate::db::models::templates::ListQuery;
use crate::db::Db;
use crate::export::{summary, usage_rows, ExportError, Query, Sink, USAGE_HEADER};
use crate::report::Period;

/// Runs each `[[report]]` on its schedule until `shutdown`.
pub async fn run(db: Db, config: Arc<Config>, shutdown: watch::Receiver<bool>) {
    let mut tasks = Vec::new();
    for (i, r) in config.reports.iter().enumerate() {
        let (db, config, r, stop) = (db.clone(), config.clone(), r.clone(), shutdown.clone());
        tracing::info!(schedule = %r.schedule.expr, "report {i} scheduled");
        tasks.push(tokio::spawn(async move {
            super::every(r.schedule.clone(), false, stop, || async {
                let (config, r) = (config.clone(), r.clone());
                let now = clock::now();
                let done = db
                    .write(move |c| Ok(write(c, &config, &r, now.date_naive(), now.timestamp())))
                    .await;
                match done {
                    Ok(Ok(path)) => tracing::info!("report written to {}", path.display()),
                    Ok(Err(e)) => tracing::error!("report {i} failed: {e}"),
                    Err(e) => tracing::error!("report {i} failed: {e}"),
                }
            })
            .await;
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// Writes a scheduled report's file and, if it names a channel, queues its announcement.
/// Returns the file written.
pub fn write(
    conn: &mut Conn,
    config: &Config,
    r: &ReportConfig,
    today: NaiveDate,
    now: i64,
) -> Result<std::path::PathBuf, ExportError> {
    let to = today.pred_opt().unwrap_or(today);
    let period = Period::last(to, r.days);
    let q = Query {
        period,
        by: r.by,
        filter: ListQuery {
            account: r.account.clone(),
            ..Default::default()
        },
        template_id: None,
        template_name: None,
    };
    std::fs::create_dir_all(&r.dir)?;
    let scope = r
        .account
        .clone()
        .map(|a| format!("-{a}"))
        .unwrap_or_default();
    let path = r.dir.join(format!(
        "templar-usage{scope}-{}-{}.{}",
        period.from_s(),
        period.to_s(),
        r.format.ext()
    ));
    let file = std::io::BufWriter::new(std::fs::File::create(&path)?);
    let mut sink = Sink::new(r.format, USAGE_HEADER, file)?;
    let rows = usage_rows(conn, &q, &mut sink, &mut |_, _| {})?;
    sink.finish()?;
    if let Some(channel) = &r.notify {
        let t = summary(conn, &q)?;
        let by = format!("{:?}", r.by).to_lowercase();
        let mut link = format!(
            "{}/export.csv?by={by}&from={}&to={}",
            config.public_url,
            period.from_s(),
            period.to_s()
        );
        if let Some(a) = &r.account {
            link.push_str(&format!("&account={a}"));
        }
        let payload = crate::notify::Payload {
            id: format!("report:{}:{}", path.display(), period.to_s()),
            event: "report".into(),
            occurred_at: clock::rfc3339(now),
            account: r.account.clone(),
            url: link,
            title: format!("Usage report {} to {}", period.from_s(), period.to_s()),
            text: format!(
                "{} sent, {} delivered ({}), {} read, {} failed; {rows} rows in {}.",
                t.sent,
                t.delivered,
                t.delivery_rate()
                    .map_or("—".into(), |x| format!("{:.1} %", x * 100.0)),
                t.read,
                t.failed,
                path.display()
            ),
            file: Some(path.display().to_string()),
            ..Default::default()
        };
        let json = serde_json::to_string(&payload).unwrap_or_default();
        crate::db::models::notifications::enqueue(
            conn,
            &payload.id,
            channel,
            "report",
            &json,
            now,
        )?;
    }
    Ok(path)
}
