//! The writers of exports: CSV (with OWASP's formula guard, see Sink::row), JSON and JSON lines,
//! row types and their headers.

use std::io::Write;

use serde::Serialize;

/// The file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Json,
    Jsonl,
}

impl Format {
    /// The file extension.
    pub fn ext(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
        }
    }
}

/// One usage row.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UsageRow {
    pub account: String,
    pub template: String,
    pub template_id: String,
    pub language: String,
    pub category: String,
    /// `2026-11-25`, `2026-W48`, `2026-11`, or `2026-11-01..2026-11-30`.
    pub period: String,
    pub period_start: String,
    pub period_end: String,
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    pub clicked: i64,
    pub failed: i64,
    pub delivery_rate: Option<f64>,
    pub read_rate: Option<f64>,
    pub cost: f64,
    pub currency: String,
    /// `meta` (Meta's template analytics), `observed` (webhooks and history) or `mixed`.
    pub source: String,
}

/// The CSV header of usage rows (written even when there are no rows).
pub const USAGE_HEADER: &[&str] = &[
    "account",
    "template",
    "template_id",
    "language",
    "category",
    "period",
    "period_start",
    "period_end",
    "sent",
    "delivered",
    "read",
    "clicked",
    "failed",
    "delivery_rate",
    "read_rate",
    "cost",
    "currency",
    "source",
];

/// One message row.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MessageRow {
    pub wamid: String,
    pub account: String,
    pub template: String,
    pub template_id: String,
    pub language: String,
    pub category: String,
    /// The customer's number, or its HMAC-SHA256 with `--hash-recipients`.
    pub recipient: String,
    pub day: String,
    pub sent_at: String,
    pub delivered_at: String,
    pub read_at: String,
    pub failed_at: String,
    pub clicked_at: String,
    pub error_code: Option<i32>,
    pub error_title: String,
}

/// The CSV header of message rows.
pub const MESSAGE_HEADER: &[&str] = &[
    "wamid",
    "account",
    "template",
    "template_id",
    "language",
    "category",
    "recipient",
    "day",
    "sent_at",
    "delivered_at",
    "read_at",
    "failed_at",
    "clicked_at",
    "error_code",
    "error_title",
];

/// Writes rows in a format, as they come.
pub struct Sink<W: Write> {
    format: Format,
    csv: Option<csv::Writer<W>>,
    out: Option<W>,
    rows: usize,
}

impl<W: Write> Sink<W> {
    /// Starts a file; CSV gets its header now, so an empty export is still a valid file.
    pub fn new(format: Format, header: &[&str], w: W) -> std::io::Result<Self> {
        let mut s = Sink {
            format,
            csv: None,
            out: None,
            rows: 0,
        };
        match format {
            Format::Csv => {
                let mut c = csv::WriterBuilder::new().has_headers(false).from_writer(w);
                c.write_record(header)?;
                s.csv = Some(c);
            }
            Format::Json => {
                let mut w = w;
                w.write_all(b"[")?;
                s.out = Some(w);
            }
            Format::Jsonl => s.out = Some(w),
        }
        Ok(s)
    }

    /// Writes one row.
    pub fn row<T: Serialize>(&mut self, r: &T) -> std::io::Result<()> {
        self.rows += 1;
        match (self.format, &mut self.csv, &mut self.out) {
            (Format::Csv, Some(c), _) => c.serialize(r).map_err(std::io::Error::other),
            (Format::Json, _, Some(w)) => {
                w.write_all(if self.rows == 1 { b"\n" } else { b",\n" })?;
                serde_json::to_writer(&mut *w, r)?;
                Ok(())
            }
            (_, _, Some(w)) => {
                serde_json::to_writer(&mut *w, r)?;
                w.write_all(b"\n")
            }
            _ => Ok(()),
        }
    }

    /// Ends the file; returns the rows written.
    pub fn finish(self) -> std::io::Result<usize> {
        match (self.format, self.csv, self.out) {
            (Format::Csv, Some(mut c), _) => c.flush()?,
            (Format::Json, _, Some(mut w)) => {
                w.write_all(if self.rows == 0 { b"]\n" } else { b"\n]\n" })?;
                w.flush()?;
            }
            (_, _, Some(mut w)) => w.flush()?,
            _ => {}
        }
        Ok(self.rows)
    }
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Usage(String),
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
    #[error("writing: {0}")]
    Io(#[from] std::io::Error),
}
