//! The durable inbox with group commit.
//!
//! Request handlers hand their verified delivery to one writer thread and wait. The writer
//! takes everything queued at that moment, stores it in one transaction with
//! `synchronous=FULL` (one fsync for the lot), and only then answers each handler, which only
//! then answers `202`. Under load the batches grow by themselves, so throughput does not
//! collapse to one fsync per request.

use std::path::Path;
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;

use anyhow::{Context, Result, anyhow};
use tokio::sync::{mpsc, oneshot};

use crate::store::{Enqueued, NewDelivery, Store};

/// The most deliveries one transaction takes.
const MAX_BATCH: usize = 1024;

struct Job {
    delivery: NewDelivery,
    reply: oneshot::Sender<Result<Enqueued, String>>,
}

/// The handle request handlers store deliveries through.
#[derive(Clone)]
pub struct Inbox {
    jobs: mpsc::Sender<Job>,
}

impl Inbox {
    /// Starts the writer thread on its own connection to the database. `stored` is signalled
    /// after each commit that stored something new, to wake the workers.
    pub fn start(
        db: &Path,
        busy: std::time::Duration,
        stored: std_mpsc::Sender<()>,
    ) -> Result<(Inbox, JoinHandle<()>)> {
        let mut store = Store::open_with(db, busy)?;
        let (jobs, mut queue) = mpsc::channel::<Job>(MAX_BATCH * 4);
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
                    commit(&mut store, batch, &stored);
                }
            })
            .context("starting the inbox writer")?;
        Ok((Inbox { jobs }, writer))
    }

    /// Stores a delivery durably; returns once it is on disk.
    pub async fn store(&self, delivery: NewDelivery) -> Result<Enqueued> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { delivery, reply })
            .await
            .map_err(|_| anyhow!("the inbox writer has stopped"))?;
        answer
            .await
            .map_err(|_| anyhow!("the inbox writer has stopped"))?
            .map_err(|e| anyhow!(e))
    }
}

/// Stores one batch and answers every job in it.
fn commit(store: &mut Store, batch: Vec<Job>, stored: &std_mpsc::Sender<()>) {
    let deliveries: Vec<&NewDelivery> = batch.iter().map(|job| &job.delivery).collect();
    match store.enqueue_batch(&deliveries) {
        Ok(results) => {
            if results.iter().any(|r| matches!(r, Enqueued::New(_))) {
                let _ = stored.send(());
            }
            for (job, result) in batch.into_iter().zip(results) {
                let _ = job.reply.send(Ok(result));
            }
        }
        Err(e) => {
            let message = format!("storing deliveries failed: {e:#}");
            tracing::error!(error = %message, batch = deliveries.len(), "inbox commit failed");
            for job in batch {
                let _ = job.reply.send(Err(message.clone()));
            }
        }
    }
}
