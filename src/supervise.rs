//! Keeps the background loops of `trmctl serve` (sinks, actions) going through failures that
//! pass: a database busy at start, a bug met on one event. Without it, one such failure would
//! end a loop for the life of the process, while `/healthz` still said all was well.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How long to wait before setting up again, or restarting a task that panicked.
pub const RETRY: Duration = Duration::from_secs(30);

/// What `setup` gives once it succeeds, trying again every [`RETRY`] and logging why not;
/// `None` when `shutdown` comes first.
pub async fn until_ready<T>(
    what: &str,
    shutdown: &CancellationToken,
    mut setup: impl FnMut() -> anyhow::Result<T>,
) -> Option<T> {
    loop {
        match setup() {
            Ok(ready) => return Some(ready),
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "{what} cannot start; retrying in 30 s")
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            _ = tokio::time::sleep(RETRY) => {}
        }
    }
}

/// Runs `task(item)` for each item until `shutdown`, each restarted [`RETRY`] after it
/// panics (logged with the item's name), and returns once all have ended.
pub async fn each<C, F, Fut>(
    what: &str,
    items: Vec<(String, C)>,
    shutdown: &CancellationToken,
    task: F,
) where
    C: Clone + Send + 'static,
    F: Fn(C) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    let mut names = std::collections::HashMap::new();
    for (name, item) in items {
        let id = tasks.spawn(task(item.clone())).id();
        names.insert(id, (name, item));
    }
    while let Some(ended) = tasks.join_next_with_id().await {
        let id = ended.as_ref().map_or_else(|e| e.id(), |(id, ())| *id);
        let Some((name, item)) = names.remove(&id) else {
            continue;
        };
        let Err(e) = ended else { continue };
        if !e.is_panic() || shutdown.is_cancelled() {
            continue;
        }
        tracing::error!(name = %name, error = %e, "{what} panicked (a bug in trmctl, please report it); restarting it in 30 s");
        let (shutdown, again) = (shutdown.clone(), task(item.clone()));
        let id = tasks
            .spawn(async move {
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    _ = tokio::time::sleep(RETRY) => again.await,
                }
            })
            .id();
        names.insert(id, (name, item));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(start_paused = true)]
    async fn setup_is_tried_again_until_it_works() {
        let tries = AtomicUsize::new(0);
        let ready = until_ready("x", &CancellationToken::new(), || {
            match tries.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => anyhow::bail!("busy"),
                _ => Ok("up"),
            }
        })
        .await;
        assert_eq!((ready, tries.load(Ordering::SeqCst)), (Some("up"), 3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_that_panics_is_restarted_and_the_others_go_on() {
        let runs = Arc::new(AtomicUsize::new(0));
        let shutdown = CancellationToken::new();
        let items = vec![
            ("a".to_string(), runs.clone()),
            ("b".to_string(), runs.clone()),
        ];
        let stop = shutdown.clone();
        each("a loop", items, &shutdown, move |runs: Arc<AtomicUsize>| {
            let stop = stop.clone();
            async move {
                // The first two runs (one of each) end at once; the first panics. Its restart
                // is the third run, which stops everything.
                match runs.fetch_add(1, Ordering::SeqCst) {
                    0 => panic!("a bug met on one event"),
                    1 => {}
                    _ => stop.cancel(),
                }
            }
        })
        .await;
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }
}
