//! `[[report]]`: a usage export written on a schedule, optionally announced on a channel.

use std::path::{Path, PathBuf};

use super::accounts::AccountConfig;
use super::notify::NotifyConfig;
use super::raw::RawReport;
use super::schedule::CronSchedule;
use super::ConfigError;

/// One `[[report]]`: a usage export on a schedule.
#[derive(Debug, Clone)]
pub struct ReportConfig {
    pub schedule: CronSchedule,
    pub format: crate::export::Format,
    pub by: crate::export::By,
    /// Days covered, ending yesterday.
    pub days: u32,
    pub account: Option<String>,
    /// A `[[notify]]` channel to announce it through.
    pub notify: Option<String>,
    /// Where the files go.
    pub dir: PathBuf,
}

pub(super) fn validate(
    raw: Vec<RawReport>,
    accounts: &[AccountConfig],
    notify: &[NotifyConfig],
    base_dir: &Path,
) -> Result<Vec<ReportConfig>, ConfigError> {
    let mut out = Vec::new();
    for (i, r) in raw.into_iter().enumerate() {
        out.push(report(i, r, accounts, notify, base_dir)?);
    }
    Ok(out)
}

fn report(
    i: usize,
    r: RawReport,
    accounts: &[AccountConfig],
    notify: &[NotifyConfig],
    base_dir: &Path,
) -> Result<ReportConfig, ConfigError> {
    let key = |k: &str| format!("report[{i}].{k}");
    let schedule = CronSchedule::parse(r.schedule.as_deref().unwrap_or(""))
        .map_err(|m| ConfigError::new(key("schedule"), m))?;
    let format = match r.format.as_deref().unwrap_or("csv") {
        "csv" => crate::export::Format::Csv,
        "json" => crate::export::Format::Json,
        "jsonl" => crate::export::Format::Jsonl,
        other => {
            return Err(ConfigError::new(
                key("format"),
                format!("`{other}`: use csv, json or jsonl"),
            ))
        }
    };
    let by = match r.by.as_deref().unwrap_or("day") {
        "day" => crate::export::By::Day,
        "week" => crate::export::By::Week,
        "month" => crate::export::By::Month,
        "template" => crate::export::By::Template,
        other => {
            return Err(ConfigError::new(
                key("by"),
                format!("`{other}`: use day, week, month or template"),
            ))
        }
    };
    if let Some(a) = &r.account {
        if !accounts.iter().any(|x| &x.name == a) {
            return Err(ConfigError::new(
                key("account"),
                format!("no account named `{a}`"),
            ));
        }
    }
    if let Some(n) = &r.notify {
        if !notify.iter().any(|c| &c.name == n) {
            return Err(ConfigError::new(
                key("notify"),
                format!("no [[notify]] channel named `{n}`"),
            ));
        }
    }
    let dir = PathBuf::from(r.dir.unwrap_or_else(|| "reports".into()));
    let days = r.days.unwrap_or(7);
    if !(1..=366).contains(&days) {
        return Err(ConfigError::new(key("days"), "must be between 1 and 366"));
    }
    Ok(ReportConfig {
        schedule,
        format,
        by,
        days,
        account: r.account,
        notify: r.notify,
        dir: if dir.is_relative() {
            base_dir.join(dir)
        } else {
            dir
        },
    })
}
