//! The scheduler of `trmctl serve`: due polls on a steady tick, Gmail watch renewals, and
//! immediate polls when a Gmail Pub/Sub notification says an account's mailbox changed.
//!
//! Polls run side by side, a few at a time, so one long poll (a mailbox's first sync, a
//! request backing off) holds up neither the others nor the notifications. An integration is
//! never polled twice at once: one notified while its poll runs is polled again once that
//! poll is over, so a change the running poll had already passed is not missed. Failed
//! integrations back off by their `nextSyncTime` (set with capped, jittered backoff after
//! each failure), and an account that needs re-authorization is not polled until it has it;
//! neither is polled on a notification, nor is a disabled integration.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{Poller, select};
use crate::metrics::Metrics;

/// How often the scheduler looks for due integrations.
const TICK: Duration = Duration::from_secs(15);
/// How often it checks the Gmail watches (each is renewed a day before it lapses).
const WATCH_CHECK: Duration = Duration::from_secs(60 * 60);
/// How many polls run at once.
const CONCURRENT_POLLS: usize = 4;

/// Runs until `shutdown`, then waits for the polls in progress. `triggers` carries
/// integration names to poll at once; every poll is counted in `metrics`.
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
    let mut polls = Polls::default();
    // Renewals run beside the loop: a Gmail or token endpoint that hangs holds up neither the
    // polls nor the notifications nor shutdown.
    let mut renewal: Option<tokio::task::JoinHandle<()>> = None;
    loop {
        let names = tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(done) = polls.running.join_next_with_id() => {
                polls.finished(done, &metrics);
                Vec::new()
            }
            _ = watches.tick() => {
                if renewal.as_ref().is_none_or(|r| r.is_finished()) {
                    renewal = Some(tokio::spawn(renew_watches(poller.clone())));
                }
                continue;
            }
            _ = tick.tick() => match due(&poller) {
                Ok(names) => polls.not_yet_wanted(names),
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
        polls.wanted.extend(names);
        polls.start_what_can(&poller, &metrics);
    }
    if let Some(renewal) = renewal {
        renewal.abort();
    }
    while polls.running.join_next().await.is_some() {}
}

async fn renew_watches(poller: Arc<Poller>) {
    if let Err(e) = super::watch::renew_due(&poller).await {
        tracing::warn!(error = %format!("{e:#}"), "renewing Gmail watches failed; retrying within the hour");
    }
}

/// The polls in progress, and those waiting for a turn.
#[derive(Default)]
struct Polls {
    running: JoinSet<()>,
    /// The integration each running task polls: those being polled now.
    tasks: HashMap<tokio::task::Id, String>,
    /// Integrations to poll once they are not busy and there is room, oldest first.
    wanted: Vec<String>,
}

impl Polls {
    /// Whether `name` is being polled now.
    fn busy(&self, name: &str) -> bool {
        self.tasks.values().any(|polled| polled == name)
    }

    /// The due integrations to add to `wanted`. One being polled now is left to the next
    /// tick, which sees what that poll recorded (a notification's poll waits its turn
    /// instead); one waiting for its turn already is not wanted twice, which would poll it
    /// again the moment its first poll ended.
    fn not_yet_wanted(&self, due: Vec<String>) -> Vec<String> {
        due.into_iter()
            .filter(|n| !self.busy(n) && !self.wanted.contains(n))
            .collect()
    }

    /// A poll task ended: its integration may be polled again. One that panicked (a bug) is
    /// a failed poll, logged and counted, not an integration left busy for good.
    fn finished(
        &mut self,
        done: Result<(tokio::task::Id, ()), tokio::task::JoinError>,
        metrics: &Metrics,
    ) {
        let id = match &done {
            Ok((id, ())) => *id,
            Err(e) => e.id(),
        };
        let Some(name) = self.tasks.remove(&id) else {
            return;
        };
        if let Err(e) = done {
            tracing::error!(integration = %name, error = %e, "a poll task panicked");
            metrics.poll(&name, false, 0);
        }
    }

    /// Starts the wanted polls whose integration is not busy, while there is room.
    fn start_what_can(&mut self, poller: &Arc<Poller>, metrics: &Arc<Metrics>) {
        let mut waiting = Vec::new();
        for name in std::mem::take(&mut self.wanted) {
            if waiting.contains(&name) {
                continue; // wanted twice: once is enough
            }
            if self.busy(&name) || self.tasks.len() >= CONCURRENT_POLLS {
                waiting.push(name);
                continue;
            }
            let (poller, metrics, polled) = (poller.clone(), metrics.clone(), name.clone());
            let task = self.running.spawn(async move {
                poll_once(&poller, &metrics, &polled).await;
            });
            self.tasks.insert(task.id(), name);
        }
        self.wanted = waiting;
    }
}

/// One poll, counted and logged.
async fn poll_once(poller: &Poller, metrics: &Metrics, name: &str) {
    let report = poller.poll(name, false).await;
    metrics.poll(name, report.error.is_none(), report.events_created);
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

    use super::*;
    use crate::config::Config;

    #[tokio::test]
    async fn a_poll_that_panics_frees_its_integration_and_counts_as_failed() {
        let (mut polls, metrics) = (Polls::default(), Metrics::default());
        let task = polls.running.spawn(async { panic!("a connector bug") });
        polls.tasks.insert(task.id(), "crm".into());
        let done = polls.running.join_next_with_id().await.unwrap();
        polls.finished(done, &metrics);
        assert!(!polls.busy("crm") && polls.tasks.is_empty());
        let text = metrics.encode(crate::metrics::Exposition::PrometheusText);
        assert!(
            text.contains(r#"trmctl_poll_runs_total{integration="crm",outcome="error"} 1"#),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_due_integration_waiting_its_turn_is_not_queued_again() {
        let mut polls = Polls::default();
        let task = polls.running.spawn(std::future::pending());
        polls.tasks.insert(task.id(), "busy".into());
        polls.wanted.push("waiting".into());
        let due = ["busy", "waiting", "new"].map(String::from).to_vec();
        assert_eq!(polls.not_yet_wanted(due), ["new"]);
        polls.running.abort_all();
    }

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
