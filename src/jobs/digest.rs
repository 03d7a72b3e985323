//! Each notification channel's daily digest (`digest` in its `[[notify]]`), queued in the
//! outbox like any other notification.

use tokio::sync::watch;

use crate::clock;
use crate::notify::worker::Notifier;

/// Queues each channel's digest on its schedule until `shutdown`.
pub async fn run(notifier: Notifier, shutdown: watch::Receiver<bool>) {
    let mut tasks = tokio::task::JoinSet::new();
    for ch in notifier.config.notify.iter() {
        let Some(schedule) = ch.digest.clone() else {
            continue;
        };
        let (notifier, ch, stop) = (notifier.clone(), ch.clone(), shutdown.clone());
        tasks.spawn(async move {
            super::every(schedule, false, stop, || async {
                if let Err(e) = notifier.queue_digest(&ch, clock::now()).await {
                    tracing::warn!(channel = %ch.name, "digest not queued: {e}");
                }
            })
            .await;
        });
    }
    while tasks.join_next().await.is_some() {}
}
