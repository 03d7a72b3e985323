//! `templar serve`: the scheduled jobs, the notifier and the HTTP server in one process.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::watch;

use crate::config::Config;
use crate::ingest::apply::Resolver;
use crate::ingest::writer::Writer;
use crate::jobs;
use crate::metrics::Metrics;
use crate::notify::worker::Notifier;
use crate::sync::SyncContext;
use crate::web::{self, AppState};

pub async fn run(config: Config) -> anyhow::Result<ExitCode> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (`listen` in the config)",
                config.listen
            )
        })?;
    serve(config, listener, shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Runs everything on `listener` until `shutdown` resolves.
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let db = super::open_db(&config)?;
    let config = Arc::new(config);
    let (stop_tx, stop_rx) = watch::channel(false);
    let client = crate::sources::http_client();
    let metrics = Metrics::default();
    let ctx = SyncContext {
        db: db.clone(),
        config: config.clone(),
        client: client.clone(),
    };
    jobs::period_totals::refresh(&db).await;
    let notifier = Notifier {
        db: db.clone(),
        config: config.clone(),
        client,
        metrics: metrics.clone(),
    };
    let jobs = tokio::spawn(jobs::run(ctx.clone(), notifier.clone(), stop_rx.clone()));
    let notify = tokio::spawn(notifier.run(stop_rx));
    let resolver = Arc::new(Resolver::from_config(&config));
    let writer = Writer::start(db.clone(), config.database.clone(), resolver);
    let app = web::router(AppState::new(db, config.clone(), writer, metrics, ctx));
    tracing::info!("templar listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        })
        .await?;
    let _ = jobs.await;
    let _ = notify.await;
    tracing::info!("templar stopped");
    Ok(())
}
