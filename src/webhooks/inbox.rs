//! The durable inbox with group commit.
//!
//! Request handlers hand their verified delivery to one writer thread and wait. The writer
//! takes everything queued at that moment, stores it in one transaction with
//! `synchronous=FULL` (one fsync for the lot), and only then answers each handler, which only
//! then answers `202`. Under load the batches grow by themselves, so throughput does not
//! collapse to one fsync per request.
//!
//! A delivery arrives with the events the request handler made from it. The writer stores
//! those in the same transaction, with the delivery marked done: one commit instead of a
//! second by a worker, and the events exist when the `202` goes out. A delivery without
//! events, or whose events could not be stored, stays pending and wakes the workers.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use tokio::sync::{mpsc, oneshot};

use crate::event::Event;
use crate::store::{Enqueued, NewDelivery, Store, enqueue};
use crate::worker::Processing;

/// The most deliveries one transaction takes.
const MAX_BATCH: usize = 1024;

struct Job {
    delivery: NewDelivery,
    /// The delivery's events, when the handler could make them.
    events: Option<Vec<Event>>,
    reply: oneshot::Sender<Result<Enqueued, String>>,
}

/// The handle request handlers store deliveries through.
#[derive(Clone)]
pub struct Inbox {
    jobs: mpsc::Sender<Job>,
    /// Whether the last commit failed, until one succeeds (for `/readyz`: a full disk still
    /// gives the write lock that readiness checks for).
    failing: Arc<AtomicBool>,
}

impl Inbox {
    /// Starts the writer thread on its own connection to the database. `pending` is signalled
    /// after each commit that left a new delivery pending, to wake the workers.
    pub fn start(
        db: &Path,
        busy: std::time::Duration,
        processing: Arc<Processing>,
        pending: std_mpsc::Sender<()>,
    ) -> Result<(Inbox, JoinHandle<()>)> {
        let mut store = Store::open_with(db, busy)?;
        let (jobs, mut queue) = mpsc::channel::<Job>(MAX_BATCH * 4);
        let failing = Arc::new(AtomicBool::new(false));
        let last_failed = failing.clone();
        let writer = std::thread::Builder::new()
            .name("inbox-writer".into())
            .spawn(move || {
                while let Some(first) = queue.blocking_recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match queue.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    let failed = commit(&mut store, batch, &processing, &pending);
                    last_failed.store(failed, Ordering::SeqCst);
                }
            })
            .context("starting the inbox writer")?;
        Ok((Inbox { jobs, failing }, writer))
    }

    /// Whether the writer thread still takes deliveries (it stops only if it panicked).
    pub fn running(&self) -> bool {
        !self.jobs.is_closed()
    }

    /// Whether the last commit failed, with no commit succeeding since.
    pub fn failing(&self) -> bool {
        self.failing.load(Ordering::SeqCst)
    }

    /// A write got through another way (`/readyz` proved one): the store works again.
    pub fn recovered(&self) {
        self.failing.store(false, Ordering::SeqCst);
    }

    /// Stores a delivery durably, with its events if given; returns once it is on disk.
    pub async fn store(
        &self,
        delivery: NewDelivery,
        events: Option<Vec<Event>>,
    ) -> Result<Enqueued> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job {
                delivery,
                events,
                reply,
            })
            .await
            .map_err(|_| anyhow!("the inbox writer has stopped"))?;
        answer
            .await
            .map_err(|_| anyhow!("the inbox writer has stopped"))?
            .map_err(|e| anyhow!(e))
    }
}

/// Stores one batch and answers every job in it; whether that failed.
fn commit(
    store: &mut Store,
    mut batch: Vec<Job>,
    processing: &Processing,
    pending: &std_mpsc::Sender<()>,
) -> bool {
    let started = Instant::now();
    let stored = store.transaction(|tx| {
        let mut stored = Vec::with_capacity(batch.len());
        for job in &mut batch {
            let enqueued = enqueue(tx, &job.delivery)?;
            let processed = match (&enqueued, job.events.take()) {
                (Enqueued::New(_), Some(events)) => {
                    processing.store_at_once(tx, &job.delivery, events)?
                }
                _ => None,
            };
            stored.push((enqueued, processed));
        }
        Ok(stored)
    });
    // Committed to a file that was deleted or replaced: as good as not stored.
    let stored = stored.and_then(|stored| store.check_in_place().map(|()| stored));
    match stored {
        Ok(stored) => {
            let seconds = started.elapsed().as_secs_f64() / batch.len() as f64;
            processing
                .metrics
                .inbox_commit_deliveries
                .observe(batch.len() as f64);
            let mut left_pending = false;
            for (job, (enqueued, processed)) in batch.into_iter().zip(stored) {
                left_pending |= processed.is_none() && matches!(enqueued, Enqueued::New(_));
                let _ = job.reply.send(Ok(enqueued));
                if let Some(processed) = processed {
                    processing.processed_at_once(&job.delivery, processed, seconds);
                }
            }
            if left_pending {
                let _ = pending.send(());
            }
            false
        }
        Err(e) => {
            let message = format!("storing deliveries failed: {e:#}");
            tracing::error!(error = %message, batch = batch.len(), "inbox commit failed");
            for job in batch {
                let _ = job.reply.send(Err(message.clone()));
            }
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::metrics::Metrics;

    fn delivery(n: usize) -> NewDelivery {
        NewDelivery {
            delivery_id: uuid::Uuid::now_v7().to_string(),
            integration: "gh".into(),
            provider_delivery_id: format!("p{n}"),
            received_at: crate::event::now(),
            content_type: "application/json".into(),
            headers: "{}".into(),
            body: b"{}".to_vec(),
        }
    }

    /// The commits so far and the deliveries they stored, as `/metrics` shows them.
    fn commits(metrics: &Metrics) -> (String, String) {
        let text = metrics.encode(crate::metrics::Exposition::OpenMetrics);
        let value = |name: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
                .unwrap_or_else(|| panic!("no {name} in\n{text}"))
                .to_string()
        };
        (
            value("trmctl_inbox_commit_deliveries_count"),
            value("trmctl_inbox_commit_deliveries_sum"),
        )
    }

    /// Jobs waiting in the writer's queue.
    fn queued(inbox: &Inbox) -> usize {
        inbox.jobs.max_capacity() - inbox.jobs.capacity()
    }

    async fn until(what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn an_inbox_whose_writer_is_gone_is_not_running() {
        let (jobs, queue) = mpsc::channel(1);
        let inbox = Inbox {
            jobs,
            failing: Arc::default(),
        };
        assert!(inbox.running());
        drop(queue);
        assert!(!inbox.running());
        let refused = inbox.store(delivery(0), None).await.unwrap_err();
        assert_eq!(refused.to_string(), "the inbox writer has stopped");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deliveries_waiting_together_share_one_commit() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let processing = Arc::new(Processing::for_tests());
        let (wake, _woken) = std_mpsc::channel();
        let (inbox, writer) =
            Inbox::start(&db, Duration::from_secs(10), processing.clone(), wake).unwrap();
        // Another connection holds the write lock: the writer's first commit waits for it, and
        // everything sent meanwhile queues behind that commit.
        let blocker = rusqlite::Connection::open(&db).unwrap();
        blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
        let send = |n: usize| {
            let inbox = inbox.clone();
            tokio::spawn(async move { inbox.store(delivery(n), None).await })
        };
        let mut stores = vec![send(0)];
        until("the writer takes the first delivery", || {
            queued(&inbox) == 0
        })
        .await;
        // …and, back to back with taking it, finds nothing more queued and starts its commit.
        tokio::time::sleep(Duration::from_millis(200)).await;
        stores.extend((1..50).map(send));
        until("49 deliveries wait", || queued(&inbox) == 49).await;
        blocker.execute_batch("ROLLBACK").unwrap();

        for store in stores {
            let stored = store.await.unwrap().unwrap();
            assert!(matches!(stored, Enqueued::New(_)), "{stored:?}");
        }
        assert_eq!(
            commits(&processing.metrics),
            ("2".to_string(), "50.0".to_string()),
            "one commit for the first delivery, one for the 49 that waited behind it"
        );
        drop(inbox);
        writer.join().unwrap();
    }
}
