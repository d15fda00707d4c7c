//! `trmctl deadletters list|retry|drop`: deliveries that failed for good, and second chances.

use std::process::ExitCode;

use anyhow::Result;

use super::Context;
use crate::cli::DeadlettersCommand;
use crate::output::cell;

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
