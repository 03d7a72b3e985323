//! `/export.csv` and `/export.json`: exactly what a dashboard page shows (the same filters and
//! period), streamed as it is written.

use std::io::Write;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

use super::error::WebError;
use super::AppState;
use crate::export::{self, By, Format, Sink};
use crate::web::query::ExportQuery;

/// Sends what is written as body chunks; blocks while the client is slower than the database.
struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 64 * 1024 {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            let chunk = Bytes::from(std::mem::take(&mut self.buf));
            self.tx
                .blocking_send(Ok(chunk))
                .map_err(|_| std::io::Error::other("client went away"))?;
        }
        Ok(())
    }
}

fn query(state: &AppState, q: &ExportQuery) -> Result<export::Query, WebError> {
    let (period, _) = super::pages::period(&q.page)?;
    let by = match q.by() {
        None | Some("template") => By::Template,
        Some("day") => By::Day,
        Some("week") => By::Week,
        Some("month") => By::Month,
        Some(other) => {
            return Err(WebError::BadRequest(format!(
                "`by={other}`: use day, week, month or template"
            )))
        }
    };
    if let Some(a) = q.page.account() {
        if state.config.account(a).is_err() {
            return Err(WebError::NotFound(format!("No account named {a}.")));
        }
    }
    Ok(export::Query {
        period,
        by,
        filter: q.page.list_query(),
        template_id: q.template_id(),
        template_name: None,
    })
}

async fn stream(state: AppState, q: ExportQuery, format: Format) -> Result<Response, WebError> {
    let query = query(&state, &q)?;
    let name = format!(
        "templar-usage-{}-{}.{}",
        query.period.from_s(),
        query.period.to_s(),
        format.ext()
    );
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let db = state.db.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = match db.conn() {
            Ok(c) => c,
            Err(e) => {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
                return;
            }
        };
        let w = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::new(),
        };
        let result = Sink::new(format, export::USAGE_HEADER, w)
            .map_err(export::ExportError::from)
            .and_then(|mut sink| {
                export::usage_rows(&mut conn, &query, &mut sink, &mut |_, _| {})?;
                Ok(sink.finish()?)
            });
        if let Err(e) = result {
            tracing::error!("export failed: {e}");
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let body = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    let mime = match format {
        Format::Csv => "text/csv; charset=utf-8",
        _ => "application/json",
    };
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

pub async fn csv(
    State(state): State<AppState>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, WebError> {
    stream(state, q, Format::Csv).await
}

pub async fn json(
    State(state): State<AppState>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, WebError> {
    stream(state, q, Format::Json).await
}
