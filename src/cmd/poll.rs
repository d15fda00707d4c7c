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
    let config = Arc::new(ctx.config_required()?);
    let mut store = ctx.store(&config)?;
    let selected = select(&config, &mut store, names, due)?;
    drop(store);
    let progress = std::io::stderr().is_terminal() && !ctx.out.json && !ctx.global.quiet;
    let poller = Arc::new(Poller::new(config, progress)?);
    let poll = move |name: String| {
        let poller = poller.clone();
        async move { poller.poll(&name, full).await }
    };
    let reports = ctx.runtime()?.block_on(poll_all(selected, poll));
    if ctx.out.json {
        crate::output::unless_closed(ctx.out.json(&reports))?;
    }
    if reports.is_empty() && ctx.global.verbose > 0 {
        let why = if due {
            "nothing is due"
        } else {
            "nothing to poll"
        };
        crate::output::note(why);
    }
    for report in &reports {
        match &report.error {
            // A run that finds another polling is silent unless the integration was named.
            Some(error) if report.status != "locked" || !names.is_empty() => {
                crate::output::note(&format!("{}: {}: {error}", report.name, report.status))
            }
            _ if ctx.global.verbose > 0 => crate::output::note(&format!(
                "{}: {} ({} items, {} events, {} requests, {} ms)",
                report.name,
                report.status,
                report.items_fetched,
                report.events_created,
                report.requests,
                report.duration_ms
            )),
            _ => {}
        }
    }
    match exit_code(&reports, !names.is_empty()) {
        None => Ok(ExitCode::SUCCESS),
        Some(code) => Ok(ExitCode::from(code as u8)),
    }
}

/// Polls every integration with `poll`, a few at a time; reports come back in name order.
async fn poll_all<F, Fut>(names: Vec<String>, poll: F) -> Vec<Report>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Report> + Send + 'static,
{
    let permits = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    let mut names_by_task = std::collections::HashMap::new();
    for name in names {
        let (permits, polled) = (permits.clone(), poll(name.clone()));
        let task = tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            polled.await
        });
        names_by_task.insert(task.id(), name);
    }
    let mut reports = Vec::new();
    while let Some(done) = tasks.join_next_with_id().await {
        match done {
            Ok((_, report)) => reports.push(report),
            // A bug, but still this integration's failure: it counts in the exit code.
            Err(e) => {
                let name = names_by_task.remove(&e.id()).unwrap_or_default();
                tracing::error!(integration = %name, error = %e, "a poll task panicked");
                reports.push(Report::crashed(name, format!("the poll stopped: {e}")));
            }
        }
    }
    reports.sort_by(|a, b| a.name.cmp(&b.name));
    reports
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;

    #[tokio::test]
    async fn a_poll_that_panics_is_reported_as_failed() {
        let names = vec!["b-crashes".to_string(), "a-fine".to_string()];
        let reports = poll_all(names, |name| async move {
            assert!(name != "b-crashes", "a bug in a connector");
            Report::new(name)
        })
        .await;
        let statuses: Vec<_> = reports
            .iter()
            .map(|r| (r.name.as_str(), r.status))
            .collect();
        assert_eq!(statuses, [("a-fine", "ok"), ("b-crashes", "failed")]);
        let error = reports[1].error.as_deref().unwrap();
        assert!(error.starts_with("the poll stopped"), "{error}");
        assert!(matches!(exit_code(&reports, true), Some(Code::Partial)));
    }
}
