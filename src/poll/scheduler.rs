//! The scheduler of `trmctl serve`: due polls on a steady tick, Gmail watch renewals, and
//! immediate polls when a Gmail Pub/Sub notification says an account's mailbox changed.
//!
//! A tick that comes while polls still run is skipped (`MissedTickBehavior::Skip`). Failed
//! integrations back off by their `nextSyncTime` (set with capped, jittered backoff after
//! each failure), and an account that needs re-authorization is not polled until it has it;
//! neither is polled on a notification, nor is a disabled integration.

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
            Some(name) = triggers.recv() => match pollable_now(&poller, &name) {
                Ok(true) => vec![name],
                Ok(false) => {
                    tracing::info!(integration = %name, "a mailbox changed, but its integration is not polled now (disabled, awaiting re-authorization or backing off)");
                    continue;
                }
                Err(e) => {
                    tracing::error!(integration = %name, error = %format!("{e:#}"), "reading the integration's state failed");
                    continue;
                }
            },
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
                    requests = report.requests, durationMs = report.duration_ms, "polled"
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

/// Whether a notification may poll `name` now (see [`crate::store::Store::pollable_now`]).
fn pollable_now(poller: &Poller, name: &str) -> anyhow::Result<bool> {
    let store = crate::paths::open_store(poller.config())?;
    store.pollable_now(name, &crate::event::format_time(&crate::event::now()))
}

/// The `gmail` integrations a Gmail notification on a Pub/Sub integration polls at once: those
/// of every account whose `email` is the notification's mailbox (one topic may serve several),
/// else, when there are none, those of the Pub/Sub integration's own account.
pub fn gmail_integrations_of(
    config: &crate::config::Config,
    pubsub_integration: &str,
    mailbox: &str,
) -> Vec<String> {
    let gmail_of = |account: &str| -> Vec<String> {
        config
            .integrations
            .iter()
            .filter(|(_, i)| {
                i.kind == crate::config::Kind::Gmail && i.account.as_deref() == Some(account)
            })
            .map(|(name, _)| name.clone())
            .collect()
    };
    let by_mailbox: Vec<String> = config
        .accounts
        .iter()
        .filter(|(_, a)| {
            a.email
                .as_deref()
                .is_some_and(|email| email.eq_ignore_ascii_case(mailbox))
        })
        .flat_map(|(name, _)| gmail_of(name))
        .collect();
    if !by_mailbox.is_empty() {
        return by_mailbox;
    }
    config
        .integrations
        .get(pubsub_integration)
        .and_then(|i| i.account.as_deref())
        .map(gmail_of)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Config;

    #[test]
    fn a_gmail_notification_polls_the_mailbox_it_names() {
        let account = |name: &str, email: &str| {
            format!(
                "[accounts.{name}]\nprovider = \"google\"\nemail = \"{email}\"\nclient_id = \"c\"\n\
                 client_secret = \"env:S\"\n\n[integrations.{name}-mail]\nkind = \"gmail\"\n\
                 account = \"{name}\"\n\n"
            )
        };
        let text = format!(
            "[accounts.a-calendar]\nprovider = \"google\"\nemail = \"cofounder@example.com\"\n\
             client_id = \"c\"\nclient_secret = \"env:S\"\n\n{}{}[integrations.push]\nkind = \"google-pubsub\"\naccount = \"founder\"\n\
             token = \"env:T\"\n",
            account("founder", "founder@example.com"),
            account("cofounder", "cofounder@example.com"),
        );
        let config = Config::parse(&text, Path::new("/etc/trmctl.toml")).unwrap();
        let polled = |mailbox| super::gmail_integrations_of(&config, "push", mailbox);
        assert_eq!(polled("CoFounder@example.com"), ["cofounder-mail"]);
        assert_eq!(polled("founder@example.com"), ["founder-mail"]);
        assert_eq!(
            polled("someone@else.com"),
            ["founder-mail"],
            "a mailbox no account names: the integration's own account"
        );
        assert!(super::gmail_integrations_of(&config, "nothing", "x@y.z").is_empty());
    }
}
