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
    /// `reported` (Meta's template analytics), `estimated` (any part from the rate card), or
    /// empty when there is no cost.
    pub cost_source: String,
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
    "cost_source",
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

/// Whether a CSV cell would be read as a formula by a spreadsheet (OWASP's list: `=`, `+`,
/// `-`, `@`, tab, carriage return).
fn is_formula(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// A cell a spreadsheet will show as text: a formula-like value gets a leading `'`.
fn defuse(cell: &str) -> String {
    if is_formula(cell) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

/// A row whose text cells may hold what upstream sent (template names, categories, error
/// titles): in CSV they must not run as formulas. JSON stays exact.
pub trait CsvSafe: Sized {
    /// The row with its formula-like text cells defused; `None` when none is (the usual case,
    /// which costs no copy).
    fn defused(&self) -> Option<Self>;
}

/// Implements [`CsvSafe`] for a row type over its text fields.
macro_rules! csv_safe {
    ($row:ty: $($field:ident),+) => {
        impl CsvSafe for $row {
            fn defused(&self) -> Option<Self> {
                if !($(is_formula(&self.$field))||+) {
                    return None;
                }
                let mut row = self.clone();
                $(row.$field = defuse(&row.$field);)+
                Some(row)
            }
        }
    };
}

csv_safe!(UsageRow: account, template, template_id, language, category, currency, source, cost_source);
csv_safe!(MessageRow: wamid, account, template, template_id, language, category, recipient, error_title);

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
    pub fn row<T: Serialize + CsvSafe>(&mut self, r: &T) -> std::io::Result<()> {
        self.rows += 1;
        match (self.format, &mut self.csv, &mut self.out) {
            (Format::Csv, Some(c), _) => match r.defused() {
                Some(safe) => c.serialize(&safe),
                None => c.serialize(r),
            }
            .map_err(std::io::Error::other),
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
    #[error("writing the export")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_like_cells_are_defused_in_csv_only() {
        let row = MessageRow {
            wamid: "wamid.1".into(),
            account: "acme".into(),
            template: "=HYPERLINK(\"http://evil\",\"x\")".into(),
            template_id: "1".into(),
            language: "en".into(),
            category: "+cmd|' /C calc'!A0".into(),
            recipient: "155".into(),
            day: "2026-12-01".into(),
            sent_at: String::new(),
            delivered_at: String::new(),
            read_at: String::new(),
            failed_at: String::new(),
            clicked_at: String::new(),
            error_code: None,
            error_title: "@SUM(1)".into(),
        };
        let write = |format| {
            let mut out = Vec::new();
            let mut sink = Sink::new(format, MESSAGE_HEADER, &mut out).unwrap();
            sink.row(&row).unwrap();
            sink.finish().unwrap();
            String::from_utf8(out).unwrap()
        };
        let csv = write(Format::Csv);
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let cells: Vec<String> = reader
            .records()
            .next()
            .unwrap()
            .unwrap()
            .iter()
            .map(str::to_string)
            .collect();
        assert_eq!(cells[2], "'=HYPERLINK(\"http://evil\",\"x\")");
        assert_eq!(cells[5], "'+cmd|' /C calc'!A0");
        assert_eq!(cells[14], "'@SUM(1)");
        assert_eq!(cells[1], "acme", "ordinary cells are untouched");
        let json: serde_json::Value = serde_json::from_str(&write(Format::Json)).unwrap();
        assert_eq!(
            json[0]["template"],
            row.template.as_str(),
            "JSON stays exact"
        );
    }
}
