//! Workers: inbox → parse → transform → rules → events, one transaction per delivery.
//!
//! A delivery whose events could be made when it arrived is normally processed by the inbox
//! writer, in the transaction that stores it ([`Processing::store_at_once`]); the workers take
//! everything else: those whose first try failed, retries, and what a crash left pending.
//! A dispatcher thread finds due deliveries and hands them to `concurrency` worker threads,
//! each with its own database connection. A worker takes what is queued, up to a batch, and
//! processes it in one transaction, each delivery inside its own savepoint: a delivery's events
//! and its `done` mark commit together, a failing delivery rolls back alone, and a burst costs
//! one commit instead of one per delivery. Event dedupe keys come from the delivery itself, so
//! a delivery processed twice still makes its events once. A failure is retried
//! with exponential backoff and full jitter; after `max_attempts`, or at once for a payload that
//! does not match the provider's schema, the delivery becomes a dead letter (with the events of
//! the elements of a batch that do match: they commit with the dead-letter mark).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use crate::config::{Config, Kind};
use crate::connectors::{self, Incoming, Unmatched};
use crate::event::Event;
use crate::metrics::Metrics;
use crate::store::{
    Delivery, NewDelivery, Store, due_attempts, fail_delivery, finish_delivery, record_event,
};

/// How often the dispatcher looks for due retries when nothing wakes it.
const IDLE_POLL: Duration = Duration::from_millis(200);
/// The least time between two looks: under load, deliveries gather into bigger batches
/// instead of each commit of the inbox costing a query.
const DISPATCH_SPACING: Duration = Duration::from_millis(10);
/// How often processed deliveries past `store.keep_deliveries` are deleted, and how many at a
/// time at most.
const PRUNE_EVERY: Duration = Duration::from_secs(600);
const PRUNE_SHARE: usize = 500;
/// The most deliveries one worker transaction takes.
const BATCH: usize = 64;
/// The first pause after a worker transaction, or the dispatcher's look for due deliveries,
/// failed; it doubles with each failure in a row up to the cap (see [`crate::retry::Pause`]).
const FAILURE_PAUSE: Duration = Duration::from_millis(100);
const MAX_FAILURE_PAUSE: Duration = Duration::from_secs(2);

/// The running workers.
pub struct Workers {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

/// Why an attempt failed.
#[derive(Debug)]
enum Failure {
    /// Retrying cannot help: a dead letter at once.
    Permanent(String),
    /// Worth another attempt later.
    Transient(String),
}

/// What processing a delivery needs besides the store: shared by the workers and the inbox
/// writer, which both store events and report what they did.
pub struct Processing {
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    /// Integrations to poll at once (a Gmail Pub/Sub notification arrived).
    pub poll_now: tokio::sync::mpsc::Sender<String>,
}

/// What workers share.
struct Shared {
    processing: Arc<Processing>,
    stop: Arc<AtomicBool>,
    in_flight: Mutex<HashSet<String>>,
}

impl Workers {
    /// Starts the dispatcher and the worker threads. `wake` is signalled when the inbox stores
    /// something new.
    pub fn start(db: &Path, processing: Arc<Processing>, wake: Receiver<()>) -> Result<Workers> {
        let concurrency = processing.config.worker.concurrency.max(1);
        let busy = processing.config.store.busy_timeout;
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            processing,
            stop: stop.clone(),
            in_flight: Mutex::new(HashSet::new()),
        });
        let (work, queue) = sync_channel::<Delivery>(BATCH * 2);
        let queue = Arc::new(Mutex::new(queue));
        let mut threads = Vec::new();
        for n in 0..concurrency {
            // FULL like every connection: sinks send what a worker commits, so it must not be
            // undone by a power cut and made again under another event id.
            let store = Store::open_with(db, busy)?;
            let shared = shared.clone();
            let queue = queue.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("worker-{n}"))
                    .spawn(move || work_loop(store, &shared, &queue))
                    .context("starting a worker")?,
            );
        }
        let store = Store::open_with(db, busy)?;
        threads.push(
            std::thread::Builder::new()
                .name("dispatcher".into())
                .spawn(move || dispatch_loop(store, &shared, work, wake))
                .context("starting the dispatcher")?,
        );
        Ok(Workers { stop, threads })
    }

    /// Whether every thread is still running (for `/readyz`).
    pub fn running(&self) -> bool {
        self.threads.iter().all(|t| !t.is_finished())
    }

    /// Stops taking work, lets each worker finish its current delivery, and waits. Deliveries
    /// not yet started stay pending in the inbox for the next run.
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

fn dispatch_loop(store: Store, shared: &Shared, work: SyncSender<Delivery>, wake: Receiver<()>) {
    let mut pause = failure_pause();
    let keep = shared.processing.config.store.keep_deliveries;
    let mut next_prune = Instant::now();
    while !shared.stop.load(Ordering::SeqCst) {
        let looked = Instant::now();
        if looked >= next_prune {
            next_prune = looked + prune(&store, keep);
        }
        let due = match store.due_deliveries(Utc::now(), BATCH * 2) {
            Ok(due) => {
                pause.succeeded();
                due
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "reading due deliveries failed");
                std::thread::sleep(pause.failed());
                continue;
            }
        };
        let mut sent = 0;
        for delivery in due {
            if !lock(&shared.in_flight).insert(delivery.delivery_id.clone()) {
                continue;
            }
            if work.send(delivery).is_err() {
                return;
            }
            sent += 1;
        }
        if sent == 0 {
            match wake.recv_timeout(IDLE_POLL) {
                Ok(()) => while wake.try_recv().is_ok() {},
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => std::thread::sleep(IDLE_POLL),
            }
        }
        std::thread::sleep(DISPATCH_SPACING.saturating_sub(looked.elapsed()));
    }
}

/// Deletes a share of the processed deliveries older than `keep` (see [`Store::prune_done`]);
/// how long until the next share. Small shares keep the dispatcher, and the inbox writer
/// waiting for the write lock, from stalling on a large backlog.
fn prune(store: &Store, keep: Duration) -> Duration {
    let before = chrono::Duration::from_std(keep)
        .ok()
        .and_then(|keep| Utc::now().checked_sub_signed(keep));
    let Some(before) = before else {
        return PRUNE_EVERY; // kept longer than the calendar goes back: nothing is old enough
    };
    match store.prune_done(before, PRUNE_SHARE) {
        Ok(pruned) if pruned == PRUNE_SHARE => {
            tracing::debug!(pruned, "deleted processed deliveries; more to go");
            Duration::from_millis(100)
        }
        Ok(pruned) => {
            if pruned > 0 {
                tracing::info!(
                    pruned,
                    "deleted processed deliveries older than store.keep_deliveries"
                );
            }
            PRUNE_EVERY
        }
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "deleting old processed deliveries failed");
            PRUNE_EVERY
        }
    }
}

fn work_loop(mut store: Store, shared: &Shared, queue: &Mutex<Receiver<Delivery>>) {
    let mut pause = failure_pause();
    loop {
        let batch = {
            let queue = lock(queue);
            let Ok(first) = queue.recv() else { return };
            let mut batch = vec![first];
            while batch.len() < BATCH {
                match queue.try_recv() {
                    Ok(delivery) => batch.push(delivery),
                    Err(_) => break,
                }
            }
            batch
        };
        if shared.stop.load(Ordering::SeqCst) || attempt(&mut store, shared, &batch) {
            pause.succeeded();
        } else {
            std::thread::sleep(pause.failed());
        }
        let mut in_flight = lock(&shared.in_flight);
        for delivery in &batch {
            in_flight.remove(&delivery.delivery_id);
        }
    }
}

fn failure_pause() -> crate::retry::Pause {
    crate::retry::Pause::new(FAILURE_PAUSE, MAX_FAILURE_PAUSE)
}

/// A poisoned lock only means another worker panicked; the set itself is still sound.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What one attempt at one delivery came to.
struct Attempt<'d> {
    delivery: &'d Delivery,
    attempts: u32,
    outcome: &'static str,
    result: Result<Processed, Failure>,
}

/// What processing a delivery stored.
pub struct Processed {
    events: usize,
    /// A Gmail notification: the mailbox (its email address) that changed.
    changed_mailbox: Option<String>,
}

/// One attempt at each delivery of a batch, in one transaction, with every outcome recorded;
/// false when the transaction failed and nothing was recorded.
fn attempt(store: &mut Store, shared: &Shared, batch: &[Delivery]) -> bool {
    let started = Instant::now();
    let processing = &shared.processing;
    let settings = &processing.config.worker;
    // Parse and transform before taking the write lock, so the inbox waits for it as little
    // as possible.
    let prepared: Vec<_> = batch
        .iter()
        .map(|delivery| (delivery, transform_caught(&processing.config, delivery)))
        .collect();
    let committed = store.transaction(|tx| {
        let mut attempts = Vec::with_capacity(batch.len());
        for (delivery, transformed) in prepared {
            // The dispatcher's copy may predate another attempt: trust only the row as it is.
            let Some(previous) = due_attempts(tx, &delivery.delivery_id, Utc::now())? else {
                continue;
            };
            let id = &delivery.delivery_id;
            let result = match transformed {
                (events, None) => processing.store(tx, id, events, true)?,
                // What of the payload matched is kept; the delivery fails with the rest.
                (events, Some(failure)) => {
                    processing.store(tx, id, events, false)?.and(Err(failure))
                }
            };
            let attempts_made = previous.saturating_add(1);
            let outcome = match &result {
                Ok(_) => "done",
                Err(Failure::Permanent(_)) => "dead",
                Err(Failure::Transient(_)) if attempts_made >= settings.max_attempts => "dead",
                Err(Failure::Transient(_)) => "retry",
            };
            if let Err(Failure::Permanent(error) | Failure::Transient(error)) = &result {
                let delay = crate::retry::full_jitter(
                    settings.retry_base,
                    settings.retry_max,
                    attempts_made,
                );
                let next = crate::event::after(delay);
                fail_delivery(tx, &delivery.delivery_id, error, next, outcome == "dead")?;
            }
            attempts.push(Attempt {
                delivery,
                attempts: attempts_made,
                outcome,
                result,
            });
        }
        Ok(attempts)
    });
    let attempts = match committed {
        Ok(attempts) => attempts,
        Err(e) => {
            // Nothing was recorded: the deliveries stay pending, with their attempts, for later.
            tracing::error!(batch = batch.len(), error = %format!("{e:#}"), "a worker transaction failed");
            return false;
        }
    };
    let seconds = started.elapsed().as_secs_f64() / attempts.len().max(1) as f64;
    for a in attempts {
        processing.report(
            &a.delivery.integration,
            &a.delivery.delivery_id,
            a.attempts,
            a.outcome,
            &a.result,
            seconds,
        );
    }
    true
}

impl Processing {
    /// Stores a delivery's events (with what the rules derive) and, if `done`, marks it done,
    /// inside a savepoint of the caller's transaction: on failure nothing of it is left, and
    /// the transaction goes on. The outer `Err` is the transaction's own failure.
    fn store(
        &self,
        tx: &rusqlite::Connection,
        delivery_id: &str,
        events: Vec<Event>,
        done: bool,
    ) -> Result<Result<Processed, Failure>> {
        tx.execute_batch("SAVEPOINT delivery")?;
        let stored = self.store_events(tx, delivery_id, events, done);
        tx.execute_batch(if stored.is_ok() {
            "RELEASE delivery"
        } else {
            "ROLLBACK TO delivery; RELEASE delivery"
        })?;
        Ok(stored)
    }

    /// Processes a delivery just stored in `tx` with the events made from it on arrival:
    /// its events and its `done` mark commit with it. `None` when that failed: nothing of the
    /// try is kept and the delivery stays pending, for the workers to make the attempt again
    /// and record how it fails. Report with [`Processing::processed_at_once`] once committed.
    pub fn store_at_once(
        &self,
        tx: &rusqlite::Connection,
        delivery: &NewDelivery,
        events: Vec<Event>,
    ) -> Result<Option<Processed>> {
        Ok(self.store(tx, &delivery.delivery_id, events, true)?.ok())
    }

    /// Counts, logs and follows up a delivery [`Processing::store_at_once`] processed.
    pub fn processed_at_once(&self, delivery: &NewDelivery, processed: Processed, seconds: f64) {
        let (integration, id) = (&delivery.integration, &delivery.delivery_id);
        self.report(integration, id, 1, "done", &Ok(processed), seconds);
    }

    /// Counts, logs and follows up one attempt at a delivery.
    fn report(
        &self,
        integration: &str,
        delivery_id: &str,
        attempts: u32,
        outcome: &str,
        result: &Result<Processed, Failure>,
        seconds: f64,
    ) {
        self.metrics.processed(integration, outcome, seconds);
        match result {
            Ok(processed) => {
                tracing::debug!(
                    integration,
                    deliveryId = delivery_id,
                    outcome,
                    events = processed.events,
                    "delivery processed"
                );
                if let Some(mailbox) = &processed.changed_mailbox {
                    for gmail in crate::poll::scheduler::gmail_integrations_of(
                        &self.config,
                        integration,
                        mailbox,
                    ) {
                        // A full queue already holds a poll that will see this change.
                        let _ = self.poll_now.try_send(gmail);
                    }
                }
            }
            Err(Failure::Permanent(error) | Failure::Transient(error)) => tracing::warn!(
                integration, deliveryId = delivery_id, outcome, attempts, error = %error, "delivery failed"
            ),
        }
    }

    fn store_events(
        &self,
        tx: &rusqlite::Connection,
        delivery_id: &str,
        events: Vec<Event>,
        done: bool,
    ) -> Result<Processed, Failure> {
        let transient = |e: anyhow::Error| Failure::Transient(format!("{e:#}"));
        let changed_mailbox = events.iter().find_map(|e| {
            e.data
                .pointer("/gmail/emailAddress")
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
        });
        let mut stored = 0;
        for event in events {
            stored += record_event(tx, event, &self.config.ruleset)
                .map_err(transient)?
                .len();
        }
        if done {
            finish_delivery(tx, delivery_id).map_err(transient)?;
        }
        Ok(Processed {
            events: stored,
            changed_mailbox,
        })
    }
}

/// A delivery's base events, parsed and transformed (no store access), and why not all of
/// them could be made if they could not: the events of the parts of a batch that match the
/// provider's schema come with the failure of the rest.
fn transform(config: &Config, delivery: &Delivery) -> (Vec<Event>, Option<Failure>) {
    let stored = match Stored::read(config, delivery) {
        Ok(stored) => stored,
        Err(failure) => return (Vec::new(), Some(failure)),
    };
    let incoming = Incoming {
        integration: &delivery.integration,
        provider_delivery_id: &delivery.provider_delivery_id,
        received_at: stored.received_at,
        headers: &stored.headers,
        body: &stored.body,
    };
    match connectors::from_delivery(stored.kind, &incoming) {
        Ok(events) => (events, None),
        Err(Unmatched { error, made }) => {
            let why = format!("payload does not match the {} schema: {error}", stored.kind);
            (made, Some(Failure::Permanent(why)))
        }
    }
}

/// [`transform`], with a panic (a connector's bug, met on some payload) made a permanent
/// failure: the delivery becomes a dead letter that says so, instead of taking its worker
/// thread down and leaving its batch undispatched until a restart.
fn transform_caught(config: &Config, delivery: &Delivery) -> (Vec<Event>, Option<Failure>) {
    caught(|| transform(config, delivery))
        .unwrap_or_else(|why| (Vec::new(), Some(Failure::Permanent(why))))
}

/// What `f` returns, or what its panic said.
pub fn caught<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|panic| panic_message("processing", panic.as_ref()))
}

/// What a panic in `doing` said, as an error message that says what it is.
pub fn panic_message(doing: &str, panic: &(dyn std::any::Any + Send)) -> String {
    let said = match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(text), _) => text.to_string(),
        (_, Some(text)) => text.clone(),
        _ => "no message".to_string(),
    };
    format!("{doing} panicked (a bug in trmctl, please report it): {said}")
}

/// A stored delivery read back for its connector.
struct Stored {
    kind: Kind,
    body: serde_json::Value,
    headers: BTreeMap<String, String>,
    received_at: DateTime<Utc>,
}

impl Stored {
    fn read(config: &Config, delivery: &Delivery) -> Result<Stored, Failure> {
        let integration = config
            .integrations
            .get(&delivery.integration)
            .ok_or_else(|| {
                Failure::Transient(format!(
                    "integration {} is no longer configured",
                    delivery.integration
                ))
            })?;
        let body = serde_json::from_slice(&delivery.body)
            .map_err(|e| Failure::Permanent(format!("the body is not JSON: {e}")))?;
        let headers = serde_json::from_str(&delivery.headers)
            .map_err(|e| Failure::Permanent(format!("stored headers are unreadable: {e}")))?;
        let received_at = DateTime::parse_from_rfc3339(&delivery.received_at)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| Failure::Permanent(format!("stored receive time is unreadable: {e}")))?;
        Ok(Stored {
            kind: integration.kind,
            body,
            headers,
            received_at,
        })
    }
}

#[cfg(test)]
impl Processing {
    /// Processing for one `github` integration named `gh`, with fresh metrics.
    pub fn for_tests() -> Processing {
        let config = Config::parse(
            "[integrations.gh]\nkind = \"github\"\nsecret = \"env:GH_SECRET\"\n",
            Path::new("test.toml"),
        )
        .expect("a valid config");
        Processing {
            config: Arc::new(config),
            metrics: Arc::new(Metrics::default()),
            poll_now: tokio::sync::mpsc::channel(1).0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventType;
    use crate::store::{EventFilter, enqueue};
    use uuid::Uuid;

    fn delivery() -> NewDelivery {
        NewDelivery {
            delivery_id: Uuid::now_v7().to_string(),
            integration: "gh".into(),
            provider_delivery_id: "p1".into(),
            received_at: crate::event::now(),
            content_type: "application/json".into(),
            headers: "{}".into(),
            body: b"{}".to_vec(),
        }
    }

    fn event() -> Event {
        let now = crate::event::now();
        Event::new(
            EventType::GithubEventReceived,
            "gh",
            "github",
            "github:p1".into(),
            now,
        )
    }

    /// Stores `delivery` as the inbox writer does, processing it at once; whether it was.
    fn store_at_once(store: &mut Store, delivery: &NewDelivery) -> bool {
        let processing = Processing::for_tests();
        store
            .transaction(|tx| {
                enqueue(tx, delivery)?;
                Ok(processing
                    .store_at_once(tx, delivery, vec![event()])?
                    .is_some())
            })
            .unwrap()
    }

    fn all_events() -> EventFilter {
        EventFilter {
            limit: 100,
            ..EventFilter::default()
        }
    }

    fn state(store: &Store, delivery: &NewDelivery) -> (String, u32) {
        let (stored, state) = store.delivery(&delivery.delivery_id).unwrap().unwrap();
        (state, stored.attempts)
    }

    #[test]
    fn a_panic_in_processing_is_a_failure_that_says_what_it_said() {
        assert_eq!(caught(|| 7), Ok(7));
        let payload: Vec<u32> = Vec::new();
        let why = caught(|| payload[3]).unwrap_err();
        assert!(
            why.starts_with(
                "processing panicked (a bug in trmctl, please report it): index out of bounds"
            ),
            "{why}"
        );
        let id = 42;
        let why = caught(|| -> u32 { panic!("no field {id}") }).unwrap_err();
        assert!(why.ends_with(": no field 42"), "{why}");
    }

    #[test]
    fn a_delivery_processed_at_once_commits_done_with_its_events() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let delivery = delivery();
        assert!(store_at_once(&mut store, &delivery));
        assert_eq!(state(&store, &delivery), ("done".into(), 1));
        let events = store.list_events(&all_events()).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event.dedupe_key, "github:p1");
    }

    #[test]
    fn a_failed_try_at_once_keeps_the_delivery_pending_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        store
            .transaction(|tx| {
                tx.execute_batch(
                    "CREATE TRIGGER refuse BEFORE INSERT ON events
                     BEGIN SELECT RAISE(ABORT, 'no room for events'); END;",
                )?;
                Ok(())
            })
            .unwrap();
        let delivery = delivery();
        assert!(!store_at_once(&mut store, &delivery));
        assert_eq!(
            state(&store, &delivery),
            ("pending".into(), 0),
            "stored, untouched, for the workers"
        );
        assert!(store.list_events(&all_events()).unwrap().is_empty());
        assert_eq!(store.due_deliveries(Utc::now(), 10).unwrap().len(), 1);
    }
}
