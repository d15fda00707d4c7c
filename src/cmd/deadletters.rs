//! `trmctl deadletters list|retry|drop`: deliveries that failed for good, and second chances.
//! `trmctl sinks|actions deadletters list|drop`: the events a sink or an action gave up on.

use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use super::Context;
use crate::cli::{DeadlettersCommand, GaveUpCommand};
use crate::output::cell;
use crate::store::Follower;

pub fn run(ctx: &Context, command: DeadlettersCommand) -> Result<ExitCode> {
    let config = ctx.config()?;
    let mut store = ctx.store(&config)?;
    match command {
        DeadlettersCommand::List => {
            let header = [
                "DELIVERY ID",
                "INTEGRATION",
                "RECEIVED",
                "ATTEMPTS",
                "LAST ERROR",
            ];
            list(ctx, &store.dead_letters()?, &header, |d| {
                vec![
                    d.delivery_id.clone(),
                    d.integration.clone(),
                    d.received_at.clone(),
                    d.attempts.to_string(),
                    cell(d.last_error.as_deref()),
                ]
            })
        }
        DeadlettersCommand::Retry { ids, all } => {
            let which = if all { None } else { Some(ids.as_slice()) };
            let done = store.retry_dead(which, chrono::Utc::now())?;
            changed(ctx, "deliveryIds", &done, "Requeued {n} dead letter{s}")
        }
        DeadlettersCommand::Drop { ids } => {
            let done = store.drop_dead(&ids)?;
            changed(ctx, "deliveryIds", &done, "Dropped {n} dead letter{s}")
        }
    }
}

/// `trmctl sinks|actions deadletters`: list, or forget once dealt with.
pub fn gave_up(ctx: &Context, follower: Follower, command: GaveUpCommand) -> Result<ExitCode> {
    let config = ctx.config()?;
    let mut store = ctx.store(&config)?;
    match command {
        GaveUpCommand::List => {
            let header = [
                follower.header(),
                "EVENT ID",
                "FAILED",
                "ATTEMPTS",
                "LAST ERROR",
            ];
            list(ctx, &store.gave_up_on(follower)?, &header, |d| {
                vec![
                    d.name.clone(),
                    d.event_id.clone(),
                    d.failed_at.clone(),
                    d.attempts.to_string(),
                    cell(Some(d.last_error.as_str())),
                ]
            })
        }
        GaveUpCommand::Drop { event_ids, all } => {
            let which = if all {
                None
            } else {
                Some(event_ids.as_slice())
            };
            let dropped = store.forget_gave_up(follower, which)?;
            let text = "Dropped the dead letters of {n} event{s}";
            changed(ctx, "eventIds", &dropped, text)
        }
    }
}

/// The rows as JSON, or a table, or a line saying there are none.
fn list<T: Serialize>(
    ctx: &Context,
    rows: &[T],
    header: &[&str],
    cells: impl Fn(&T) -> Vec<String>,
) -> Result<ExitCode> {
    if ctx.out.json {
        ctx.out.json(&rows)?;
    } else if rows.is_empty() {
        ctx.out.text("No dead letters.")?;
    } else {
        let table: Vec<Vec<String>> = rows.iter().map(cells).collect();
        ctx.out.table(header, &table)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// What changed: `{key: ids}` as JSON, else `text` with `{n}` the count and `{s}` its plural.
fn changed(ctx: &Context, key: &str, ids: &[String], text: &str) -> Result<ExitCode> {
    if ctx.out.json {
        ctx.out.json(&serde_json::json!({ key: ids }))?;
    } else {
        let plural = if ids.len() == 1 { "" } else { "s" };
        let line = text
            .replace("{n}", &ids.len().to_string())
            .replace("{s}", plural);
        ctx.out.text(&line)?;
    }
    Ok(ExitCode::SUCCESS)
}
