//! Where sinks run: a background task per sink inside `trmctl serve`, and one pass over the
//! pending events for `trmctl sinks flush` (cron setups).
//!
//! In `serve`, a sink wakes when this process commits events, when its next retry is due, or
//! every second (events stored by another process, `sinks enable` from the command line).
//! Shutdown is only looked at between steps, so a send in flight finishes and is recorded; if
//! the process dies mid-send, the cursor has not moved and the event is sent again, with the
//! same `webhook-id`, on the next start.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use chrono::Utc;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::{Next, Sink, SinkConfig, Step, deliver, filter, http, next};
use crate::config::Config;
use crate::store::Store;

/// How often an idle sink looks again without being woken.
const TICK: Duration = Duration::from_secs(1);
/// How long a sink whose secret or store cannot be read waits before trying again.
const SETUP_RETRY: Duration = Duration::from_secs(30);

/// Runs every configured sink until `shutdown` is cancelled.
pub async fn run(config: Arc<Config>, db: PathBuf, shutdown: CancellationToken) {
    if config.sinks.is_empty() {
        return;
    }
    // Until they can start, events stay pending.
    let Some(client) =
        crate::supervise::until_ready("sinks", &shutdown, || prepare(&config, &db)).await
    else {
        return;
    };
    let hidden_env: Arc<[String]> = config.secret_env_vars().into();
    let workers = config
        .sinks
        .iter()
        .map(|cfg| {
            let worker = SinkWorker {
                cfg: cfg.clone(),
                client: client.clone(),
                hidden_env: hidden_env.clone(),
                db: db.clone(),
                busy: config.store.busy_timeout,
            };
            (cfg.name.clone(), Arc::new(worker))
        })
        .collect();
    tracing::info!(sinks = config.sinks.len(), "sinks running");
    let stop = shutdown.clone();
    crate::supervise::each("a sink", workers, &shutdown, move |worker| {
        let stop = stop.clone();
        async move { worker.run(stop).await }
    })
    .await;
}

/// The shared HTTP client, after making sure every sink has a state row.
fn prepare(config: &Config, db: &Path) -> Result<reqwest::Client> {
    let mut store = Store::open_with(db, config.store.busy_timeout)?;
    store.sync_sinks(config.sinks.iter().map(|s| s.name.as_str()))?;
    http::client()
}

/// One sink's background task in `serve`.
struct SinkWorker {
    cfg: SinkConfig,
    client: reqwest::Client,
    /// Environment variables a command sink's program does not get.
    hidden_env: Arc<[String]>,
    db: PathBuf,
    busy: Duration,
}

impl SinkWorker {
    async fn run(&self, shutdown: CancellationToken) {
        let mut stored = crate::store::events_stored();
        let Some(mut store) = self.open_store(&shutdown).await else {
            return;
        };
        let mut sink = None;
        while !shutdown.is_cancelled() {
            let pause = self.turn(&mut store, &mut sink).await;
            if pause.is_zero() {
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = stored.changed() => {}
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// The sink's own connection, retried until it opens or the daemon stops.
    async fn open_store(&self, shutdown: &CancellationToken) -> Option<Store> {
        loop {
            match Store::open_with(&self.db, self.busy) {
                Ok(store) => return Some(store),
                Err(e) => tracing::error!(sink = %self.cfg.name, error = %format!("{e:#}"),
                    "the sink cannot open the database; retrying in 30 s"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => return None,
                _ = tokio::time::sleep(SETUP_RETRY) => {}
            }
        }
    }

    /// One step; returns how long to pause before the next. The sink is prepared (its secret
    /// read) only once there is something to send.
    async fn turn(&self, store: &mut Store, sink: &mut Option<Sink>) -> Duration {
        let name = &self.cfg.name;
        let pending = match next(store, &self.cfg, false).await {
            Ok(Next::Send(pending)) => pending,
            Ok(Next::Done(step)) => return pause_after(&step),
            Err(e) => {
                tracing::error!(sink = %name, error = %format!("{e:#}"), "reading the sink's next event failed");
                return TICK;
            }
        };
        let ready = match sink.take() {
            Some(ready) => ready,
            None => match Sink::new(&self.cfg, &self.client, &self.hidden_env) {
                Ok(ready) => ready,
                Err(e) => {
                    let error = format!("{e:#}");
                    tracing::error!(sink = %name, error = %error, "the sink cannot send; retrying in 30 s");
                    let _ = store.set_sink_error(name, &error);
                    return SETUP_RETRY;
                }
            },
        };
        let pause = match deliver(store, &ready, pending).await {
            Ok(step) => pause_after(&step),
            Err(e) => {
                tracing::error!(sink = %name, error = %format!("{e:#}"), "recording a send failed");
                TICK
            }
        };
        *sink = Some(ready);
        pause
    }
}

/// How long to wait after a step: not at all while there is work, until a retry is due, or a
/// tick.
fn pause_after(step: &Step) -> Duration {
    match step {
        Step::Delivered | Step::Failed(_) => Duration::ZERO,
        Step::Waiting { until, .. } => (*until - Utc::now()).to_std().unwrap_or_default().min(TICK),
        Step::Idle | Step::Disabled(_) | Step::Busy => TICK,
    }
}

/// How one sink's flush went (`trmctl sinks flush --json`).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlushReport {
    pub name: String,
    /// Events delivered by this run.
    pub delivered: u64,
    /// Failed attempts in this run (0 or 1: a sink stops at its first failure).
    pub failed: u64,
    /// Events still waiting for this sink.
    pub pending: i64,
    pub disabled: bool,
    pub error: Option<String>,
}

/// Sends everything pending to the given sinks, each until it has nothing left, fails, or
/// waits for a retry that is not due yet. Sinks run side by side; reports come in config order.
pub async fn flush(config: &Config, db: &Path, sinks: &[SinkConfig]) -> Result<Vec<FlushReport>> {
    let mut store = Store::open_with(db, config.store.busy_timeout)?;
    store.sync_sinks(config.sinks.iter().map(|s| s.name.as_str()))?;
    drop(store);
    let client = http::client()?;
    let hidden_env: Arc<[String]> = config.secret_env_vars().into();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, cfg) in sinks.iter().enumerate() {
        let (cfg, client, db) = (cfg.clone(), client.clone(), db.to_path_buf());
        let (busy, hidden_env) = (config.store.busy_timeout, hidden_env.clone());
        tasks.spawn(async move { (i, flush_one(&cfg, &client, &hidden_env, &db, busy).await) });
    }
    let mut reports = Vec::with_capacity(sinks.len());
    while let Some(done) = tasks.join_next().await {
        reports.push(done.context("a sink's flush panicked")?);
    }
    reports.sort_by_key(|(i, _)| *i);
    Ok(reports.into_iter().map(|(_, report)| report).collect())
}

async fn flush_one(
    cfg: &SinkConfig,
    client: &reqwest::Client,
    hidden_env: &[String],
    db: &Path,
    busy: Duration,
) -> FlushReport {
    let mut report = FlushReport {
        name: cfg.name.clone(),
        ..Default::default()
    };
    let result = async {
        let mut store = Store::open_with(db, busy)?;
        let outcome = send_pending(&mut store, cfg, client, hidden_env, &mut report).await;
        let state = store.sink_state(&cfg.name)?.unwrap_or_default();
        report.disabled = state.disabled;
        report.pending = store.sink_pending(state.last_seq, filter(cfg))?;
        outcome
    }
    .await;
    if let Err(e) = result {
        report.error = Some(format!("{e:#}"));
    }
    report
}

/// Steps a sink until it has nothing to send now, counting what happened in the report. The
/// sink is prepared (its secret read) only once there is something to send.
async fn send_pending(
    store: &mut Store,
    cfg: &SinkConfig,
    client: &reqwest::Client,
    hidden_env: &[String],
    report: &mut FlushReport,
) -> Result<()> {
    let mut sink = None;
    loop {
        let pending = match next(store, cfg, true).await? {
            Next::Send(pending) => pending,
            Next::Done(step) => {
                count(report, step, &cfg.name);
                return Ok(());
            }
        };
        let ready = match sink.take() {
            Some(ready) => ready,
            None => Sink::new(cfg, client, hidden_env).inspect_err(|e| {
                let _ = store.set_sink_error(&cfg.name, &format!("{e:#}"));
            })?,
        };
        let step = deliver(store, &ready, pending).await?;
        sink = Some(ready);
        if !count(report, step, &cfg.name) {
            return Ok(());
        }
    }
}

/// Counts a step in the report; false when the sink stops for this run.
fn count(report: &mut FlushReport, step: Step, name: &str) -> bool {
    match step {
        Step::Delivered => {
            report.delivered += 1;
            return true;
        }
        Step::Failed(error) => {
            report.failed += 1;
            report.error = Some(error);
        }
        Step::Waiting { until, last_error } => {
            let why = last_error.unwrap_or_else(|| "an earlier failure".into());
            let at = crate::event::format_time(&until);
            report.error = Some(format!("next attempt at {at}, after: {why}"));
        }
        Step::Disabled(reason) => {
            report.error = Some(format!(
                "disabled ({reason}); re-enable with `trmctl sinks enable {name}`"
            ));
        }
        Step::Idle | Step::Busy => {}
    }
    false
}
