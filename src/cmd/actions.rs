//! `trmctl actions flush`: runs pending events through the `[[actions]]` once, for cron setups
//! without `trmctl serve`: silent on success, a line per failing action on stderr, a report
//! per action with `--json`, exit 1 when an action failed. `trmctl actions deadletters`: the
//! events the actions gave up on, listed and, once dealt with, forgotten.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;

use super::Context;
use crate::cli::ActionsCommand;
use crate::error::Exit;
use crate::store::Follower;

pub fn run(ctx: &Context, command: ActionsCommand) -> Result<ExitCode> {
    match command {
        ActionsCommand::Flush { names } => flush(ctx, &names),
        ActionsCommand::Deadletters(command) => {
            super::deadletters::gave_up(ctx, Follower::Action, command)
        }
    }
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
        crate::output::unless_closed(ctx.out.json(&reports))?;
    }
    for report in &reports {
        if let Some(error) = &report.error {
            crate::output::note(&format!("{}: {error}", report.name));
        } else if ctx.global.verbose > 0 {
            crate::output::note(&format!(
                "{}: {} created, {} updated, {} skipped, {} pending",
                report.name, report.created, report.updated, report.skipped, report.pending
            ));
        }
    }
    let code = if reports.iter().any(|r| r.reauth) {
        crate::error::Code::Reauth
    } else if reports.iter().any(|r| r.failed > 0 || r.error.is_some()) {
        crate::error::Code::Failure
    } else {
        return Ok(ExitCode::SUCCESS);
    };
    Ok(ExitCode::from(code as u8))
}
