//! Actions (`[[actions]]`): on an event type, create something elsewhere — a Google Task, a
//! Slack message, a call to an HTTP endpoint — from a template over the event's fields.
//!
//! Like a sink, an action follows the event stream with a cursor in the store and handles one
//! event at a time, under a lock file, so `trmctl serve` and `trmctl actions flush` never act
//! on one event at once. What an action created is recorded against the causing event
//! (`action_records`) together with an `externalTaskCreated` event, in one transaction, so a
//! retry never creates it twice. A crash (or a failed write) between creating and recording is
//! covered by looking before creating: a Google Task carries a marker in its notes, looked up
//! before every create; a Slack message carries metadata, looked up when an attempt was
//! already counted (each attempt is counted in the store before it is made). Both name the
//! action, so two actions on one event each make their own object.
//!
//! A Google Task follows its source item: a later version of the same email, row or record
//! (same integration and `externalId` as the event that created it) updates the task instead
//! of creating another, last write wins with an etag check (see `google_task`). What trmctl
//! last wrote is kept per source item (`action_versions`); an update stores no new event.
//!
//! Loop prevention: an event that is trmctl's own object coming back (a Slack message with
//! trmctl's metadata, a task with the marker, an external id in `action_records`; an HTTP
//! answer's short id only with its cause's event id beside it), or one derived from such an
//! event, triggers no action.

pub mod config;
mod google_task;
mod http;
mod slack;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use chrono::Utc;
use serde::Serialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub use config::{ActionConfig, ActionKind};
pub use slack::METADATA_TYPE;

use crate::config::Config;
use crate::event::{Event, EventType};
use crate::store::{ActionRecord, ActionState, ActionVersion, GaveUp, Store, StoredEvent};

/// How often an idle action looks again without being woken.
const TICK: Duration = Duration::from_secs(1);
/// How long an action that cannot be prepared (a missing token) waits before trying again.
const SETUP_RETRY: Duration = Duration::from_secs(30);

/// How an action creates.
enum Transport {
    GoogleTask(google_task::GoogleTask),
    Slack(slack::SlackMessage),
    Http(http::HttpCall),
}

/// A configured action, ready to create (its token read).
pub struct Action {
    pub cfg: ActionConfig,
    transport: Transport,
}

impl Action {
    pub fn new(cfg: &ActionConfig, config: &Arc<Config>) -> Result<Action> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("trmctl/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the actions' HTTP client")?;
        let transport = match cfg.kind {
            ActionKind::GoogleTask => {
                let account = cfg.account.as_deref().unwrap_or_default();
                let poller = crate::poll::Poller::new(config.clone(), false)?;
                let http = poller.http(poller.google(account));
                Transport::GoogleTask(google_task::GoogleTask { http, client })
            }
            ActionKind::SlackMessage => {
                let token = cfg
                    .token
                    .as_ref()
                    .with_context(|| format!("action {} needs `token`", cfg.name))?
                    .resolve(&cfg.secret_owner(), "token")?;
                Transport::Slack(slack::SlackMessage { client, token })
            }
            ActionKind::Http => Transport::Http(http::HttpCall { client }),
        };
        Ok(Action {
            cfg: cfg.clone(),
            transport,
        })
    }

    /// Creates the object for one event; its external id, and for an object that follows its
    /// source item, what to record of the version written. `retry`: an earlier attempt failed,
    /// perhaps after the object was made.
    async fn create(&self, event: &Event, retry: bool) -> Result<(String, Option<ActionVersion>)> {
        match &self.transport {
            Transport::GoogleTask(t) => {
                let task = t.create(&self.cfg, event).await?;
                let version = self.version(event, &event.event_id.to_string(), task.clone());
                Ok((task.id, version))
            }
            Transport::Slack(t) => Ok((t.create(&self.cfg, event, retry).await?, None)),
            Transport::Http(t) => Ok((t.create(&self.cfg, event).await?, None)),
        }
    }

    /// Updates the object that follows the event's source item; the version written, or None
    /// when it was not written (a conflict the remote side won, logged).
    async fn update(&self, event: &Event, last: &ActionVersion) -> Result<Option<ActionVersion>> {
        let Transport::GoogleTask(t) = &self.transport else {
            return Ok(None);
        };
        Ok(match t.update(&self.cfg, event, last).await? {
            google_task::Update::Patched(task) => self.version(event, &last.first_event_id, task),
            google_task::Update::Skipped => None,
        })
    }

    /// The version record of a task written for an event with a source `externalId`.
    fn version(
        &self,
        event: &Event,
        first_event_id: &str,
        task: google_task::Written,
    ) -> Option<ActionVersion> {
        Some(ActionVersion {
            action: self.cfg.name.clone(),
            integration: event.integration.clone(),
            source_id: event.external_id.clone()?,
            external_id: task.id,
            first_event_id: first_event_id.to_string(),
            etag: task.etag,
            remote_updated: task.updated,
            occurred_at: event.occurred_at,
        })
    }

    /// What the action last wrote for the event's source item, if it keeps one up to date.
    fn last_version(&self, store: &Store, event: &Event) -> Result<Option<ActionVersion>> {
        if self.cfg.kind != ActionKind::GoogleTask {
            return Ok(None);
        }
        let Some(source_id) = event.external_id.as_deref() else {
            return Ok(None);
        };
        store.action_version(&self.cfg.name, &event.integration, source_id)
    }
}

/// Whether an event is (or was derived from) an object trmctl created: it triggers no action.
pub fn is_own(store: &Store, event: &Event) -> Result<bool> {
    if looks_own(store, event)? {
        return Ok(true);
    }
    if let Some(base) = event.derived_from
        && let Some(base) = store.find_event(&base.to_string())?
    {
        return looks_own(store, &base.event);
    }
    Ok(false)
}

fn looks_own(store: &Store, event: &Event) -> Result<bool> {
    if carries_own_marker(event) {
        return Ok(true);
    }
    let data = &event.data;
    let ids = [
        event.external_id.as_deref(),
        data.get("ts").and_then(Value::as_str),
        data.get("id").and_then(Value::as_str),
    ];
    for id in ids.into_iter().flatten() {
        for (kind, cause) in store.creators_of(id)? {
            if created_this(&kind, id, &cause, event) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Whether an event shows, by itself, that trmctl made what it describes: an
/// `externalTaskCreated` record, a Slack message carrying trmctl's metadata, or text, notes or
/// a description with trmctl's marker. The rules derive nothing from such an event either: a
/// Slack post of trmctl's saying "blocked" is not a second tension.
pub fn carries_own_marker(event: &Event) -> bool {
    if event.event_type == EventType::ExternalTaskCreated {
        return true;
    }
    let data = &event.data;
    if data.pointer("/metadata/event_type").and_then(Value::as_str) == Some(METADATA_TYPE) {
        return true;
    }
    ["notes", "description", "text"].iter().any(|field| {
        data.get(field)
            .and_then(Value::as_str)
            .is_some_and(|text| text.contains("trmctl-event:"))
    })
}

/// Whether `event`, which carries the external id `id` of an object an action of `kind` made
/// for the event `cause`, is that object. A Slack `ts` or a Google Task id names one object
/// anywhere, and so does an HTTP endpoint's id of [`DISTINCT_ID`] characters or more. A
/// shorter one may be a number that another item of another system also has (a CRM's contact
/// 17 beside its note 17): only an event that also carries its cause's id (the body's
/// `{eventId}`, echoed back) is taken for the object then.
fn created_this(kind: &str, id: &str, cause: &str, event: &Event) -> bool {
    kind != ActionKind::Http.as_str()
        || id.chars().count() >= DISTINCT_ID
        || event
            .external_id
            .as_deref()
            .is_some_and(|id| id.contains(cause))
        || event.data.to_string().contains(cause)
}

/// How long an HTTP endpoint's id must be to name one object wherever it comes back.
const DISTINCT_ID: usize = 8;

/// What one step of an action did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// An object was created (or found from before a crash) and recorded.
    Created(String),
    /// An object that follows its source item was updated (its external id).
    Updated(String),
    /// The next event needed nothing: trmctl's own object, or already recorded; or an update
    /// was not written (a remote edit won, logged).
    Skipped,
    /// An attempt failed; retried later, or given up on after `max_attempts`. `reauth`: the
    /// account needs re-authorization (the run exits 4).
    Failed { error: String, reauth: bool },
    /// The next attempt is not due yet.
    Waiting,
    /// Nothing pending.
    Idle,
}

/// Takes one step of an action, under its lock file.
pub async fn step(store: &mut Store, action: &Action) -> Result<Step> {
    let cfg = &action.cfg;
    let file = crate::paths::lock_file(store.path(), &format!("action-{}", cfg.name))?;
    let _lock = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
        .await?
        .context("locking the action's lock")?;
    let name = &cfg.name;
    let state = store
        .action_state(name)?
        .with_context(|| format!("action {name} has no stored state"))?;
    if state.next_attempt_at.is_some_and(|at| at > Utc::now()) {
        return Ok(Step::Waiting);
    }
    let from = state.last_seq;
    let Some(StoredEvent { seq, event }) =
        store.next_for_action(from, &cfg.on, cfg.integrations.as_deref())?
    else {
        return Ok(Step::Idle);
    };
    let event_id = event.event_id.to_string();
    if is_own(store, &event)? {
        tracing::debug!(action = %name, eventId = %event_id, "trmctl's own object came back; no action");
        store.action_done(name, from, seq, None, None, None)?;
        return Ok(Step::Skipped);
    }
    if store.action_record(name, &event_id)?.is_some() {
        store.action_done(name, from, seq, None, None, None)?;
        return Ok(Step::Skipped);
    }
    enum Done {
        Created(String, Option<ActionVersion>),
        Updated(Option<ActionVersion>),
    }
    // Attempts counted but never concluded (the process, or its task, died in each) use up
    // the event's attempts too: an event that always crashes its attempt is given up on.
    if state.attempts.saturating_sub(state.unanswered) >= cfg.max_attempts {
        let error = format!(
            "{} attempts ended without an outcome (trmctl stopped or panicked during each)",
            state.attempts
        );
        let gave_up = GaveUp {
            event_id: event_id.clone(),
            attempts: state.attempts,
            error: error.clone(),
        };
        store.action_done(name, from, seq, None, None, Some(&gave_up))?;
        tracing::warn!(action = %name, eventId = %event_id, error = %error, "giving up on the event; moving on");
        return Ok(Step::Failed {
            error,
            reauth: false,
        });
    }
    let attempts = state.attempts + 1;
    store.action_attempting(name, from, attempts)?;
    let done = match action.last_version(store, &event)? {
        Some(last) => action.update(&event, &last).await.map(Done::Updated),
        None => action
            .create(&event, state.attempts > 0)
            .await
            .map(|(id, version)| Done::Created(id, version)),
    };
    match done {
        Ok(Done::Created(external_id, version)) => {
            let record = ActionRecord {
                action: name.clone(),
                event_id: event_id.clone(),
                kind: cfg.kind.as_str().to_string(),
                external_id: external_id.clone(),
            };
            let created = created_event(cfg, &event, &external_id);
            let created = Some((&record, &created));
            store.action_done(name, from, seq, created, version.as_ref(), None)?;
            tracing::info!(action = %name, eventId = %event_id, externalId = %external_id, "action created its object");
            Ok(Step::Created(external_id))
        }
        Ok(Done::Updated(Some(version))) => {
            store.action_done(name, from, seq, None, Some(&version), None)?;
            tracing::info!(action = %name, eventId = %event_id, externalId = %version.external_id,
                "action updated its object");
            Ok(Step::Updated(version.external_id))
        }
        Ok(Done::Updated(None)) => {
            store.action_done(name, from, seq, None, None, None)?;
            Ok(Step::Skipped)
        }
        Err(e) => {
            let error = format!("{e:#}");
            // No answer, or an account awaiting re-authorization: not the event's fault, so
            // it uses up none of its attempts, however long it lasts.
            let reauth = crate::error::needs_reauth(&e);
            let got_answer = !reauth && !crate::retry::unanswered(&e);
            let (unanswered, in_a_row, verdict) =
                tally(&state, attempts, got_answer, reauth, cfg.max_attempts);
            if let crate::retry::Verdict::Retry(attempt) = verdict {
                let at = crate::event::after(backoff(cfg, attempt));
                store.action_retry(name, from, (attempts, unanswered, in_a_row), at, &error)?;
                tracing::warn!(action = %name, eventId = %event_id, attempts, unanswered, error = %error,
                    "the action failed; retrying later");
            } else {
                let gave_up = GaveUp {
                    event_id: event_id.clone(),
                    attempts,
                    error: error.clone(),
                };
                store.action_done(name, from, seq, None, None, Some(&gave_up))?;
                tracing::warn!(action = %name, eventId = %event_id, attempts, error = %error,
                    "giving up on the event after max_attempts; moving on");
            }
            Ok(Step::Failed { error, reauth })
        }
    }
}

/// The counts after one more failed attempt (the `attempts`-th) at the action's next event,
/// and what it comes to (see [`crate::retry::verdict`]): `(unanswered, unanswered_in_a_row,
/// verdict)`. An answered failure ends a run of unanswered ones; a wait for re-authorization
/// neither adds to the run nor ends it, and is paced by every uncounted attempt so far.
fn tally(
    state: &ActionState,
    attempts: u32,
    got_answer: bool,
    reauth: bool,
    max_attempts: u32,
) -> (u32, u32, crate::retry::Verdict) {
    let unanswered = state.unanswered + u32::from(!got_answer);
    let in_a_row = crate::retry::unanswered_run(state.unanswered_in_a_row, got_answer, reauth);
    let answered = attempts.saturating_sub(unanswered);
    let paced_by = if reauth { unanswered } else { in_a_row };
    let verdict = crate::retry::verdict((answered, paced_by), got_answer, reauth, max_attempts);
    (unanswered, in_a_row, verdict)
}

/// The `externalTaskCreated` event that records what an action created.
fn created_event(cfg: &ActionConfig, cause: &Event, external_id: &str) -> Event {
    let mut event = Event::new(
        EventType::ExternalTaskCreated,
        &cause.integration,
        "trmctl",
        format!("action:{}:{}", cfg.name, cause.event_id),
        crate::event::now(),
    );
    event.external_id = Some(external_id.to_string());
    event.subject = cause.subject.clone();
    event.derived_from = Some(cause.event_id);
    event.data = json!({
        "action": cfg.name,
        "kind": cfg.kind.as_str(),
        "externalId": external_id,
    });
    event
}

fn backoff(cfg: &ActionConfig, attempt: u32) -> Duration {
    crate::retry::full_jitter(cfg.retry_base, cfg.retry_max, attempt)
}

/// Runs every configured action until `shutdown` is cancelled (inside `trmctl serve`).
pub async fn run(config: Arc<Config>, db: PathBuf, shutdown: CancellationToken) {
    if config.actions.is_empty() {
        return;
    }
    let synced = crate::supervise::until_ready("actions", &shutdown, || {
        Store::open_with(&db, config.store.busy_timeout)
            .and_then(|mut s| s.sync_actions(config.actions.iter().map(|a| a.name.as_str())))
    })
    .await;
    if synced.is_none() {
        return;
    }
    let actions = config
        .actions
        .iter()
        .map(|cfg| (cfg.name.clone(), cfg.clone()))
        .collect();
    tracing::info!(actions = config.actions.len(), "actions running");
    let stop = shutdown.clone();
    crate::supervise::each("an action", actions, &shutdown, move |cfg| {
        let (config, db, stop) = (config.clone(), db.clone(), stop.clone());
        async move { run_one(cfg, config, db, stop).await }
    })
    .await;
}

async fn run_one(cfg: ActionConfig, config: Arc<Config>, db: PathBuf, shutdown: CancellationToken) {
    let mut stored = crate::store::events_stored();
    let mut ready: Option<(Store, Action)> = None;
    while !shutdown.is_cancelled() {
        let pause = match ready.as_mut() {
            None => match Store::open_with(&db, config.store.busy_timeout)
                .and_then(|store| Ok((store, Action::new(&cfg, &config)?)))
            {
                Ok(pair) => {
                    ready = Some(pair);
                    Duration::ZERO
                }
                Err(e) => {
                    tracing::error!(action = %cfg.name, error = %format!("{e:#}"),
                        "the action cannot run; retrying in 30 s");
                    SETUP_RETRY
                }
            },
            Some((store, action)) => match step(store, action).await {
                Ok(Step::Created(_) | Step::Updated(_) | Step::Skipped | Step::Failed { .. }) => {
                    Duration::ZERO
                }
                Ok(Step::Waiting | Step::Idle) => TICK,
                Err(e) => {
                    tracing::error!(action = %cfg.name, error = %format!("{e:#}"), "an action step failed");
                    TICK
                }
            },
        };
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

/// How one action's flush went (`trmctl actions flush --json`).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlushReport {
    pub name: String,
    /// Objects created (or found and recorded) by this run.
    pub created: u64,
    /// Objects updated by this run (a later version of a task's source item).
    pub updated: u64,
    /// Events that needed nothing (trmctl's own objects, or already recorded), and updates not
    /// written because of a conflict (logged).
    pub skipped: u64,
    /// Failed attempts in this run (an action stops at its first failure).
    pub failed: u64,
    /// Events still waiting for this action.
    pub pending: i64,
    pub error: Option<String>,
    /// The error is an account that needs re-authorization.
    #[serde(skip)]
    pub reauth: bool,
}

/// Runs every pending event through the given actions, each until it has nothing left, fails,
/// or waits for a retry that is not due yet.
pub async fn flush(
    config: &Arc<Config>,
    db: &Path,
    actions: &[ActionConfig],
) -> Result<Vec<FlushReport>> {
    let mut store = Store::open_with(db, config.store.busy_timeout)?;
    store.sync_actions(config.actions.iter().map(|a| a.name.as_str()))?;
    let mut reports = Vec::new();
    for cfg in actions {
        let mut report = FlushReport {
            name: cfg.name.clone(),
            ..Default::default()
        };
        if let Err(e) = flush_one(&mut store, config, cfg, &mut report).await {
            report.error = Some(format!("{e:#}"));
            report.reauth = crate::error::needs_reauth(&e);
        }
        let state = store.action_state(&cfg.name)?.unwrap_or_default();
        report.pending =
            store.action_pending(state.last_seq, &cfg.on, cfg.integrations.as_deref())?;
        reports.push(report);
    }
    Ok(reports)
}

async fn flush_one(
    store: &mut Store,
    config: &Arc<Config>,
    cfg: &ActionConfig,
    report: &mut FlushReport,
) -> Result<()> {
    let mut action = None;
    loop {
        let ready = match &action {
            Some(ready) => ready,
            None => action.insert(Action::new(cfg, config)?),
        };
        match step(store, ready).await? {
            Step::Created(_) => report.created += 1,
            Step::Updated(_) => report.updated += 1,
            Step::Skipped => report.skipped += 1,
            Step::Failed { error, reauth } => {
                report.failed += 1;
                report.error = Some(error);
                report.reauth = reauth;
                return Ok(());
            }
            Step::Waiting => {
                let state = store.action_state(&cfg.name)?.unwrap_or_default();
                let why = state
                    .last_error
                    .unwrap_or_else(|| "an earlier failure".into());
                let at = state
                    .next_attempt_at
                    .map(|t| crate::event::format_time(&t))
                    .unwrap_or_default();
                report.error = Some(format!("next attempt at {at}, after: {why}"));
                return Ok(());
            }
            Step::Idle => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::{MAX_UNANSWERED, Verdict};

    /// Runs `outcomes` (got an answer, awaited re-authorization) through [`tally`] as the
    /// action loop does; the verdict of the last.
    fn after(outcomes: &[(bool, bool)]) -> Verdict {
        let mut state = ActionState {
            name: "a".into(),
            last_seq: 0,
            attempts: 0,
            unanswered: 0,
            unanswered_in_a_row: 0,
            next_attempt_at: None,
            last_error: None,
        };
        let mut verdict = Verdict::Retry(0);
        for &(got_answer, reauth) in outcomes {
            let attempts = state.attempts + 1;
            let (unanswered, in_a_row, v) = tally(&state, attempts, got_answer, reauth, 8);
            (state.attempts, state.unanswered, state.unanswered_in_a_row) =
                (attempts, unanswered, in_a_row);
            verdict = v;
        }
        verdict
    }

    #[test]
    fn only_an_unbroken_outage_gives_up_on_an_event() {
        let silent = (false, false);
        let reauth = (false, true);
        let answered = (true, false);
        let n = MAX_UNANSWERED as usize;
        assert_eq!(after(&vec![silent; n]), Verdict::GiveUp);
        assert!(matches!(after(&vec![silent; n - 1]), Verdict::Retry(_)));
        // A long wait for the user, then one timeout: retried.
        let mut waited = vec![reauth; 500];
        waited.push(silent);
        assert_eq!(after(&waited), Verdict::Retry(1));
        // Timeouts broken by an answered failure start counting again.
        let mut broken = vec![silent; n - 1];
        broken.push(answered);
        broken.extend(vec![silent; n - 1]);
        assert!(matches!(after(&broken), Verdict::Retry(_)));
        // Answered failures still end at max_attempts, whatever came between.
        let mut mixed = vec![reauth; 50];
        mixed.extend([answered; 7]);
        mixed.extend([silent; 10]);
        assert!(matches!(after(&mixed), Verdict::Retry(_)));
        mixed.push(answered);
        assert_eq!(after(&mixed), Verdict::GiveUp);
        // A wait for the user backs off on all the waiting so far.
        assert_eq!(after(&[reauth; 20]), Verdict::Retry(20));
    }

    #[test]
    fn a_short_http_id_names_trmctls_object_only_beside_its_cause() {
        let cause = "0193f1c2-7b35-74e6-b6d5-461448faff10";
        let mut event = Event::new(
            EventType::ExternalEventReceived,
            "crm",
            "http-poll",
            "17:v1".into(),
            crate::event::now(),
        );
        let http = ActionKind::Http.as_str();
        assert!(
            !created_this(http, "17", cause, &event),
            "contact 17 is not note 17"
        );
        assert!(
            created_this(http, "5123456789", cause, &event),
            "a long id is one object"
        );
        assert!(created_this(
            ActionKind::SlackMessage.as_str(),
            "17",
            cause,
            &event
        ));
        event.data = serde_json::json!({ "source": cause });
        assert!(
            created_this(http, "17", cause, &event),
            "the note, echoing its cause"
        );
    }
}
