//! The scheduler of `trmctl serve`: due polls on a steady tick, Gmail watch renewals, and
//! immediate polls when a Gmail Pub/Sub notification says an account's mailbox changed.
//!
//! A tick that comes while polls still run is skipped (`MissedTickBehavior::Skip`). Failed
//! integrations back off by their `nextSyncTime` (set with capped, jittered backoff after
//! each failure), and an account that needs re-authorization is not polled until it has it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Poller, select};
use crate::metrics::Metrics;

/// How often the scheduler looks for due integrations.
const TICK: Duration = Duration::from_secs(15);
/// How often it checks the Gmail watches (each is renewed a day before it lapses).
const WATCH_CHECK: Duration = Duration::from_secs(60 * 60);

/// Runs until `shutdown`. `triggers` carries integration names to poll at once; every poll is
/// counted in `metrics`.
pub async fn run(
    poller: Arc<Poller>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    mut triggers: mpsc::Receiver<String>,
) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut watches = tokio::time::interval(WATCH_CHECK);
    watches.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let names = tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = watches.tick() => {
                if let Err(e) = super::watch::renew_due(&poller).await {
                    tracing::warn!(error = %format!("{e:#}"), "renewing Gmail watches failed; retrying within the hour");
                }
                continue;
            }
            _ = tick.tick() => match due(&poller) {
                Ok(names) => names,
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "finding due polls failed");
                    continue;
                }
            },
            Some(name) = triggers.recv() => vec![name],
        };
        for name in names {
            if shutdown.is_cancelled() {
                return;
            }
            let report = poller.poll(&name, false).await;
            metrics.poll(&name, report.error.is_none(), report.events_created);
            match &report.error {
                Some(error) => {
                    tracing::warn!(integration = %name, status = report.status, error = %error, "poll failed")
                }
                None => tracing::info!(
                    integration = %name, items = report.items_fetched, events = report.events_created,
                    requests = report.requests, duration_ms = report.duration_ms, "polled"
                ),
            }
        }
    }
}

fn due(poller: &Poller) -> anyhow::Result<Vec<String>> {
    let config = poller.config();
    let mut store = crate::paths::open_store(config)?;
    select(config, &mut store, &[], true)
}

/// The `gmail` integrations of the account a Pub/Sub integration belongs to: a Gmail
/// notification on it polls them at once.
pub fn gmail_integrations_of(
    config: &crate::config::Config,
    pubsub_integration: &str,
) -> Vec<String> {
    let Some(account) = config
        .integrations
        .get(pubsub_integration)
        .and_then(|i| i.account.as_deref())
    else {
        return Vec::new();
    };
    config
        .integrations
        .iter()
        .filter(|(_, i)| {
            i.kind == crate::config::Kind::Gmail && i.account.as_deref() == Some(account)
        })
        .map(|(name, _)| name.clone())
        .collect()
}
