//! `trmctl deadletters list|retry|drop`: deliveries that failed for good, and second chances.

use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use super::Context;
use crate::cli::DeadlettersCommand;
use crate::output::cell;
use crate::store::Delivery;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeadLetter<'a> {
    delivery_id: &'a str,
    integration: &'a str,
    provider_delivery_id: &'a str,
    received_at: &'a str,
    attempts: u32,
    last_error: Option<&'a str>,
}

impl<'a> From<&'a Delivery> for DeadLetter<'a> {
    fn from(d: &'a Delivery) -> Self {
        DeadLetter {
            delivery_id: &d.delivery_id,
            integration: &d.integration,
            provider_delivery_id: &d.provider_delivery_id,
            received_at: &d.received_at,
            attempts: d.attempts,
            last_error: d.last_error.as_deref(),
        }
    }
}

pub fn run(ctx: &Context, command: DeadlettersCommand) -> Result<ExitCode> {
    let config = ctx.config()?;
    let mut store = ctx.store(&config)?;
    match command {
        DeadlettersCommand::List => {
            let dead = store.dead_letters()?;
            let rows: Vec<DeadLetter> = dead.iter().map(DeadLetter::from).collect();
            if ctx.out.json {
                ctx.out.json(&rows)?;
            } else if rows.is_empty() {
                ctx.out.text("No dead letters.")?;
            } else {
                let table: Vec<Vec<String>> = rows
                    .iter()
                    .map(|d| {
                        vec![
                            d.delivery_id.to_string(),
                            d.integration.to_string(),
                            d.received_at.to_string(),
                            d.attempts.to_string(),
                            cell(d.last_error),
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
