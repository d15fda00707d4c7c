//! `trmctl deadletters list|retry|drop`: deliveries that failed for good, and second chances.
//! `trmctl sinks|actions deadletters list|drop`: the events a sink or an action gave up on.

use std::process::ExitCode;

use anyhow::Result;

use super::Context;
use crate::cli::{DeadlettersCommand, GaveUpCommand};
use crate::output::cell;
use crate::store::Follower;

pub fn run(ctx: &Context, command: DeadlettersCommand) -> Result<ExitCode> {
    let config = ctx.config()?;
    let mut store = ctx.store(&config)?;
    match command {
        DeadlettersCommand::List => {
            let rows = store.dead_letters()?;
            if ctx.out.json {
                ctx.out.json(&rows)?;
            } else if rows.is_empty() {
                ctx.out.text("No dead letters.")?;
            } else {
                let table: Vec<Vec<String>> = rows
                    .iter()
                    .map(|d| {
                        vec![
                            d.delivery_id.clone(),
                            d.integration.clone(),
                            d.received_at.clone(),
                            d.attempts.to_string(),
                            cell(d.last_error.as_deref()),
                        ]
                    })
                    .collect();
                ctx.out.table(
                    &[
                        "DELIVERY ID",
                        "INTEGRATION",
                        "RECEIVED",
                        "ATTEMPTS",
                        "LAST ERROR",
                    ],
                    &table,
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        DeadlettersCommand::Retry { ids, all } => {
            let which = if all { None } else { Some(ids.as_slice()) };
            let done = store.retry_dead(which, chrono::Utc::now())?;
            report(ctx, "Requeued", &done)
        }
        DeadlettersCommand::Drop { ids } => {
            let done = store.drop_dead(&ids)?;
            report(ctx, "Dropped", &done)
        }
    }
}

/// Prints what changed.
fn report(ctx: &Context, verb: &str, done: &[String]) -> Result<ExitCode> {
    if ctx.out.json {
        ctx.out.json(&serde_json::json!({ "deliveryIds": done }))?;
    } else {
        ctx.out.text(&format!(
            "{verb} {} dead letter{}",
            done.len(),
            if done.len() == 1 { "" } else { "s" }
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `trmctl sinks|actions deadletters`: list, or forget once dealt with.
pub fn gave_up(ctx: &Context, follower: Follower, command: GaveUpCommand) -> Result<ExitCode> {
    let config = ctx.config()?;
    let mut store = ctx.store(&config)?;
    match command {
        GaveUpCommand::List => {
            let rows = store.gave_up_on(follower)?;
            if ctx.out.json {
                ctx.out.json(&rows)?;
            } else if rows.is_empty() {
                ctx.out.text("No dead letters.")?;
            } else {
                let table: Vec<Vec<String>> = rows
                    .iter()
                    .map(|d| {
                        vec![
                            d.name.clone(),
                            d.event_id.clone(),
                            d.failed_at.clone(),
                            d.attempts.to_string(),
                            cell(Some(d.last_error.as_str())),
                        ]
                    })
                    .collect();
                let who = match follower {
                    Follower::Sink => "SINK",
                    Follower::Action => "ACTION",
                };
                let header = [who, "EVENT ID", "FAILED", "ATTEMPTS", "LAST ERROR"];
                ctx.out.table(&header, &table)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        GaveUpCommand::Drop { event_ids, all } => {
            let which = if all {
                None
            } else {
                Some(event_ids.as_slice())
            };
            let dropped = store.forget_gave_up(follower, which)?;
            if ctx.out.json {
                ctx.out.json(&serde_json::json!({ "eventIds": dropped }))?;
            } else {
                let n = dropped.len();
                let s = if n == 1 { "" } else { "s" };
                ctx.out
                    .text(&format!("Dropped the dead letters of {n} event{s}"))?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
