//! One delivery step of one sink: read its state, send the next event, record what came of it.
//!
//! A step runs under the sink's lock file, so `trmctl serve` and a cron `trmctl sinks flush`
//! never send to one sink at once (which would break the order and send events twice), and
//! interleave event by event instead of waiting for each other's whole backlog. The outcome
//! is recorded from the cursor the step read, so a step that lost a race changes nothing.

use std::fs::File;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use super::{Outcome, Sink, SinkConfig, filter};
use crate::store::{Retry, SinkState, Store, StoredEvent};

/// The longest wait a `Retry-After` may ask for; a longer one is cut to this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60 * 60);

/// What one step of a sink did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The next event was delivered.
    Delivered,
    /// An attempt failed; it was recorded (as a retry, a dead letter, or the sink disabled).
    Failed(String),
    /// The next attempt is not due yet.
    Waiting {
        until: DateTime<Utc>,
        last_error: Option<String>,
    },
    /// Nothing pending.
    Idle,
    /// The sink is disabled, for this reason.
    Disabled(String),
    /// Another process is sending to this sink right now.
    Busy,
}

/// The event a sink sends next, read under the sink's lock (held until it is recorded).
pub struct Pending {
    _lock: File,
    state: SinkState,
    event: StoredEvent,
}

/// What a sink does next: send an event, or nothing for now.
pub enum Next {
    Send(Box<Pending>),
    Done(Step),
}

/// Finds what a sink does next. `wait` waits for the sink's lock; otherwise a held lock is
/// [`Step::Busy`].
pub async fn next(store: &mut Store, cfg: &SinkConfig, wait: bool) -> Result<Next> {
    let Some(lock) = lock(store.path(), &cfg.name, wait).await? else {
        return Ok(Next::Done(Step::Busy));
    };
    let name = &cfg.name;
    let state = store
        .sink_state(name)?
        .with_context(|| format!("sink {name} has no stored state"))?;
    if state.disabled {
        let reason = state.disabled_reason.unwrap_or_else(|| "disabled".into());
        return Ok(Next::Done(Step::Disabled(reason)));
    }
    if let Some(until) = state.next_attempt_at.filter(|at| *at > Utc::now()) {
        let last_error = state.last_error;
        return Ok(Next::Done(Step::Waiting { until, last_error }));
    }
    match store.next_for_sink(name, state.last_seq, filter(cfg))? {
        None => Ok(Next::Done(Step::Idle)),
        Some(event) => Ok(Next::Send(Box::new(Pending {
            _lock: lock,
            state,
            event,
        }))),
    }
}

/// Sends the pending event once and records what came of it.
pub async fn deliver(store: &mut Store, sink: &Sink, pending: Box<Pending>) -> Result<Step> {
    let outcome = sink.send(&pending.event.event).await;
    record(store, sink, &pending.state, &pending.event, outcome)
}

/// Takes one step of a sink: [`next`], then [`deliver`].
pub async fn step(store: &mut Store, sink: &Sink, wait: bool) -> Result<Step> {
    match next(store, &sink.cfg, wait).await? {
        Next::Send(pending) => deliver(store, sink, pending).await,
        Next::Done(step) => Ok(step),
    }
}

/// The sink's lock file, taken; `None` when not waiting and another process holds it.
async fn lock(db: &Path, name: &str, wait: bool) -> Result<Option<File>> {
    let file = crate::paths::lock_file(db, &format!("sink-{name}"))?;
    if wait {
        let file = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
            .await?
            .context("locking the sink's lock")?;
        return Ok(Some(file));
    }
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e).context("locking the sink's lock"),
    }
}

/// Records an outcome: the cursor moves past a delivered or dead-lettered event, a failure
/// waits its backoff, a throttle waits as asked, no answer (or a throttle that does not say
/// for how long) waits its own backoff without using up an attempt, a 410 disables the sink.
fn record(
    store: &mut Store,
    sink: &Sink,
    state: &SinkState,
    event: &StoredEvent,
    outcome: Outcome,
) -> Result<Step> {
    let (name, event_id, from) = (sink.name(), event.event.event_id, state.last_seq);
    match outcome {
        Outcome::Delivered => {
            store.sink_delivered(name, from, event.seq)?;
            tracing::debug!(sink = name, eventId = %event_id, seq = event.seq, "event delivered");
            Ok(Step::Delivered)
        }
        Outcome::Gone(error) => {
            let retry = retry_in((state.attempts, 0), Duration::ZERO, &error);
            store.sink_retry(name, from, retry)?;
            store.set_sink_disabled(name, Some(&error))?;
            tracing::warn!(sink = name, eventId = %event_id, error = %error,
                "the receiver is gone: sink disabled (re-enable with `trmctl sinks enable {name}`)");
            Ok(Step::Failed(error))
        }
        // Told to wait, but not for how long: paced, and in the end given up on, like no answer.
        Outcome::Throttled {
            error,
            retry_after: None,
        } => failed(store, sink, state, event, error, false),
        Outcome::Throttled {
            error,
            retry_after: Some(asked),
        } => {
            let delay = asked.max(sink.cfg.retry_base).min(MAX_RETRY_AFTER);
            store.sink_retry(name, from, retry_in((state.attempts, 0), delay, &error))?;
            tracing::info!(sink = name, eventId = %event_id, delayMs = delay.as_millis() as u64, error = %error,
                "the receiver asked to wait; not counted as a failed attempt");
            Ok(Step::Failed(error))
        }
        Outcome::Failed(error) => failed(store, sink, state, event, error, true),
        Outcome::Unanswered(error) => failed(store, sink, state, event, error, false),
    }
}

/// A failed attempt, answered or not: retried after a backoff, or a dead letter once
/// [`crate::retry::verdict`] gives up (after `max_attempts` answered failures, or a long run
/// of unanswered ones).
fn failed(
    store: &mut Store,
    sink: &Sink,
    state: &SinkState,
    event: &StoredEvent,
    error: String,
    got_answer: bool,
) -> Result<Step> {
    use crate::retry::{Verdict, verdict};
    let (name, event_id) = (sink.name(), event.event.event_id);
    let tries = (
        state.attempts + u32::from(got_answer),
        crate::retry::unanswered_run(state.unanswered, got_answer, false),
    );
    let (answered, unanswered) = tries;
    match verdict(tries, got_answer, false, sink.cfg.max_attempts) {
        Verdict::GiveUp => {
            let error = if got_answer {
                error
            } else {
                format!("{error} (no answer {unanswered} times in a row)")
            };
            let attempts = state.attempts + 1;
            store.sink_dead_letter(name, state.last_seq, event, attempts, &error)?;
            tracing::warn!(sink = name, eventId = %event_id, seq = event.seq, attempts, error = %error,
                "giving up on the event after max_attempts: it is in the sink's dead letters; moving on to the next event");
            Ok(Step::Failed(error))
        }
        Verdict::Retry(attempt) => {
            let delay = backoff(&sink.cfg, attempt);
            store.sink_retry(name, state.last_seq, retry_in(tries, delay, &error))?;
            if got_answer {
                tracing::warn!(sink = name, eventId = %event_id, attempts = answered, delayMs = delay.as_millis() as u64, error = %error,
                    "sending an event failed; retrying later");
            } else {
                tracing::warn!(sink = name, eventId = %event_id, unanswered, delayMs = delay.as_millis() as u64, error = %error,
                    "no answer from the receiver; retrying until it answers (not counted towards max_attempts)");
            }
            Ok(Step::Failed(error))
        }
    }
}

/// A retry after `delay`, with the counts of failed and of unanswered attempts.
fn retry_in((attempts, unanswered): (u32, u32), delay: Duration, error: &str) -> Retry<'_> {
    Retry {
        attempts,
        unanswered,
        next_attempt_at: crate::event::after(delay),
        error,
    }
}

fn backoff(cfg: &SinkConfig, attempt: u32) -> Duration {
    crate::retry::full_jitter(cfg.retry_base, cfg.retry_max, attempt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_held_lock_is_busy_unless_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let held = lock(&db, "s", false).await.unwrap();
        assert!(held.is_some());
        assert!(lock(&db, "s", false).await.unwrap().is_none());
        drop(held);
        assert!(lock(&db, "s", true).await.unwrap().is_some());
    }
}
