//! `trmctl actions flush`: runs pending events through the `[[actions]]` once, for cron setups
//! without `trmctl serve`: silent on success, a line per failing action on stderr, a report
//! per action with `--json`, exit 1 when an action failed. `trmctl actions deadletters`: the
//! events the actions gave up on, listed and, once dealt with, forgotten.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;

use super::Context;
use crate::cli::{ActionDeadlettersCommand, ActionsCommand};
use crate::error::Exit;
use crate::output::cell;

pub fn run(ctx: &Context, command: ActionsCommand) -> Result<ExitCode> {
    match command {
        ActionsCommand::Flush { names } => flush(ctx, &names),
        ActionsCommand::Deadletters(command) => deadletters(ctx, command),
    }
}

fn deadletters(ctx: &Context, command: ActionDeadlettersCommand) -> Result<ExitCode> {
    let config = ctx.config()?;
    let mut store = ctx.store(&config)?;
    match command {
        ActionDeadlettersCommand::List => {
            let rows = store.action_dead_letter_list()?;
            if ctx.out.json {
                ctx.out.json(&rows)?;
            } else if rows.is_empty() {
                ctx.out.text("No action dead letters.")?;
            } else {
                let table: Vec<Vec<String>> = rows
                    .iter()
                    .map(|d| {
                        vec![
                            d.action.clone(),
                            d.event_id.clone(),
                            d.failed_at.clone(),
                            d.attempts.to_string(),
                            cell(Some(d.last_error.as_str())),
                        ]
                    })
                    .collect();
                ctx.out.table(
                    &["ACTION", "EVENT ID", "FAILED", "ATTEMPTS", "LAST ERROR"],
                    &table,
                )?;
            }
        }
        ActionDeadlettersCommand::Drop { event_ids, all } => {
            let which = if all {
                None
            } else {
                Some(event_ids.as_slice())
            };
            let dropped = store.drop_action_dead_letters(which)?;
            if ctx.out.json {
                ctx.out.json(&serde_json::json!({ "eventIds": dropped }))?;
            } else {
                let n = dropped.len();
                let s = if n == 1 { "" } else { "s" };
                ctx.out
                    .text(&format!("Dropped the dead letters of {n} event{s}"))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn flush(ctx: &Context, names: &[String]) -> Result<ExitCode> {
    let config = Arc::new(ctx.config()?);
    for name in names {
        if !config.actions.iter().any(|a| &a.name == name) {
            let known: Vec<&str> = config.actions.iter().map(|a| a.name.as_str()).collect();
            let hint = if known.is_empty() {
                "no actions are configured".to_string()
            } else {
                format!("configured: {}", known.join(", "))
            };
            return Err(Exit::usage(format!("no action named `{name}` ({hint})")).into());
        }
    }
    let selected: Vec<_> = config
        .actions
        .iter()
        .filter(|a| names.is_empty() || names.contains(&a.name))
        .cloned()
        .collect();
    let db = crate::paths::database(&config)?;
    let reports = if selected.is_empty() {
        Vec::new()
    } else {
        ctx.runtime()?
            .block_on(crate::actions::flush(&config, &db, &selected))?
    };
    if ctx.out.json {
        ctx.out.json(&reports)?;
    }
    for report in &reports {
        if let Some(error) = &report.error {
            eprintln!("{}: {error}", report.name);
        } else if ctx.global.verbose > 0 {
            eprintln!(
                "{}: {} created, {} updated, {} skipped, {} pending",
                report.name, report.created, report.updated, report.skipped, report.pending
            );
        }
    }
    if reports.iter().any(|r| r.failed > 0 || r.error.is_some()) {
        Ok(ExitCode::from(crate::error::Code::Failure as u8))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}
