//! `trmctl poll [NAME…] [--due] [--full]`: one run of the polling integrations. Silent on
//! success (cron mails whatever a job prints); `-v` prints a line per integration, `--json`
//! a report per integration; failures are always said, on stderr.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;

use super::Context;
use crate::poll::{Poller, Report, exit_code, select};

/// Integrations polled at once.
const CONCURRENCY: usize = 4;

pub fn run(ctx: &Context, names: &[String], due: bool, full: bool) -> Result<ExitCode> {
    let config = Arc::new(ctx.config()?);
    let mut store = ctx.store(&config)?;
    let selected = select(&config, &mut store, names, due)?;
    drop(store);
    let progress = std::io::stderr().is_terminal() && !ctx.out.json && !ctx.global.quiet;
    let poller = Arc::new(Poller::new(config, progress)?);
    let reports = ctx.runtime()?.block_on(poll_all(poller, selected, full));
    if ctx.out.json {
        ctx.out.json(&reports)?;
    }
    for report in &reports {
        match &report.error {
            Some(error) if report.status != "locked" => {
                eprintln!("{}: {}: {error}", report.name, report.status)
            }
            _ if ctx.global.verbose > 0 => eprintln!(
                "{}: {} ({} items, {} events, {} requests, {} ms)",
                report.name,
                report.status,
                report.items_fetched,
                report.events_created,
                report.requests,
                report.duration_ms
            ),
            _ => {}
        }
    }
    match exit_code(&reports, !names.is_empty()) {
        None => Ok(ExitCode::SUCCESS),
        Some(code) => Ok(ExitCode::from(code as u8)),
    }
}

/// Polls every integration, a few at a time; reports come back in name order.
async fn poll_all(poller: Arc<Poller>, names: Vec<String>, full: bool) -> Vec<Report> {
    let permits = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for name in names {
        let (poller, permits) = (poller.clone(), permits.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            poller.poll(&name, full).await
        });
    }
    let mut reports = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(report) => reports.push(report),
            Err(e) => tracing::error!(error = %e, "a poll task panicked"),
        }
    }
    reports.sort_by(|a, b| a.name.cmp(&b.name));
    reports
}
