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
        metrics: metrics.clone(),
    };
    jobs::period_totals::refresh(&db).await;
    let notifier = Notifier {
        db: db.clone(),
        config: config.clone(),
        client,
        metrics: metrics.clone(),
    };
    let jobs = {
        let (ctx, notifier) = (ctx.clone(), notifier.clone());
        tokio::spawn(jobs::leader::lead(
            db.clone(),
            metrics.clone(),
            stop_rx.clone(),
            move |stop| jobs::run(ctx.clone(), notifier.clone(), stop),
        ))
    };
    let notify = tokio::spawn(notifier.run(stop_rx));
    let resolver = Arc::new(Resolver::from_config(&config));
    let writer = Writer::start(db.clone(), resolver);
    let app = web::router(AppState::new(db, config.clone(), writer, metrics, ctx));
    tracing::info!("templar listening on http://{}", listener.local_addr()?);
    warn_about_file_limit(config.server.max_connections);
    let limits = config.server.clone();
    let deadline = accept(listener, app, &limits, shutdown).await;
    let _ = stop_tx.send(true);
    // Jobs and deliveries stop at the signal; what they committed stays. One deadline for all.
    let rest = async {
        let _ = jobs.await;
        let _ = notify.await;
    };
    if tokio::time::timeout_at(deadline, rest).await.is_err() {
        tracing::warn!("scheduled jobs did not stop in time; exiting anyway");
    }
    tracing::info!("templar stopped");
    Ok(())
}

/// Serves connections until `shutdown`: at most `max_connections` at once (more wait in the
/// listen queue), each request's headers within `header_timeout` (which also closes idle
/// keep-alive connections). On `shutdown` it stops accepting, lets in-flight requests finish
/// (a webhook is answered only after its commit) for up to `shutdown_timeout`, then drops the
/// connections still open: slow clients never hold the exit.
async fn accept(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    limits: &crate::config::ServerConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> tokio::time::Instant {
    use hyper::server::conn::http1;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;

    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let (closing, closed) = watch::channel(false);
    let mut conns = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, most likely: wait rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let stream = WriteDeadline::new(stream, limits.request_timeout);
        let service = TowerToHyperService::new(app.clone());
        let mut close = closed.clone();
        let header_timeout = limits.header_timeout;
        conns.spawn(async move {
            let _permit = permit;
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = close.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
        while conns.try_join_next().is_some() {}
    }
    drop(listener);
    let deadline = tokio::time::Instant::now() + limits.shutdown_timeout;
    let _ = closing.send(true);
    let open = conns.len();
    let drained = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout_at(deadline, drained).await.is_err() {
        tracing::warn!(
            "{} of {open} connections still open after {} s; closing them",
            conns.len(),
            limits.shutdown_timeout.as_secs_f64()
        );
        conns.abort_all();
    }
    deadline
}

/// A connection whose writes must make progress within `limit`: a client that stops reading
/// its answer is dropped rather than holding its connection slot, and whatever its response
/// holds (an export's database connection), for ever.
struct WriteDeadline<IO> {
    io: IO,
    limit: std::time::Duration,
    stalled: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl<IO> WriteDeadline<IO> {
    fn new(io: IO, limit: std::time::Duration) -> Self {
        WriteDeadline {
            io,
            limit,
            stalled: None,
        }
    }

    /// Turns a pending write into an error once it has been pending for `limit`.
    fn watch<T>(
        &mut self,
        cx: &mut std::task::Context<'_>,
        polled: std::task::Poll<std::io::Result<T>>,
    ) -> std::task::Poll<std::io::Result<T>> {
        use std::future::Future;
        use std::task::Poll;
        match polled {
            Poll::Ready(r) => {
                self.stalled = None;
                Poll::Ready(r)
            }
            Poll::Pending => {
                let limit = self.limit;
                let sleep = self
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the client stopped reading",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<IO: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for WriteDeadline<IO> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<IO: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for WriteDeadline<IO> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let polled = std::pin::Pin::new(&mut self.io).poll_write(cx, buf);
        self.watch(cx, polled)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let polled = std::pin::Pin::new(&mut self.io).poll_flush(cx);
        self.watch(cx, polled)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Warns when `server.max_connections` would run into the process's open-file limit (each
/// connection is a file descriptor; SQLite, logs and upstream calls need some too): past it,
/// accepting fails, and so does everything else that opens a file.
fn warn_about_file_limit(max_connections: usize) {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse::<usize>().ok())
        });
    if let Some(soft) = soft.filter(|s| max_connections + 128 > *s) {
        tracing::warn!(
            "server.max_connections is {max_connections} but this process may open only {soft} \
             files (ulimit -n): raise the limit (systemd: LimitNOFILE=) or lower \
             max_connections to {}",
            soft.saturating_sub(128)
        );
    }
}
