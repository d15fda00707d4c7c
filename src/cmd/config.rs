//! `trmctl config check`: every problem in the config, each with its key.

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use serde::Serialize;

use super::Context;
use crate::cli::ConfigCommand;
use crate::config::{Config, Problem, invalid};
use crate::error::Exit;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    path: String,
    valid: bool,
    problems: Vec<ProblemJson>,
}

#[derive(Serialize)]
struct ProblemJson {
    key: String,
    message: String,
}

pub fn run(ctx: &Context, command: ConfigCommand) -> Result<ExitCode> {
    match command {
        ConfigCommand::Check => check(ctx),
    }
}

fn check(ctx: &Context) -> Result<ExitCode> {
    let source = ctx.config_source()?;
    let path = source.path.display().to_string();
    // Keys serde refuses come first; the rest of the config, without them, is checked too,
    // so one run shows every problem. A check of the rest that trips over a key taken out is
    // not a second problem.
    let read = std::fs::read_to_string(&source.path)
        .map_err(|e| Exit::usage(format!("cannot read config {path}: {e}")))
        .and_then(|text| {
            crate::config::read_rest::<Config>(&text).map_err(|e| e.into_exit(&source.path))
        });
    let (config, mut problems) = match read {
        Ok(read) => read,
        // With --json, the report's shape whatever is wrong, so `jq .valid` always has an
        // answer.
        Err(exit) if ctx.out.json => (None, vec![Problem::new("config", exit.message.clone())]),
        Err(exit) => return Err(exit.into()),
    };
    let unreadable: Vec<String> = problems.iter().map(|p| p.key.clone()).collect();
    let config = config.map(|mut config| {
        let under = |key: &str, bad: &str| key == bad || key.starts_with(&format!("{bad}."));
        problems.extend(
            config
                .validate()
                .into_iter()
                .filter(|p| !unreadable.iter().any(|bad| under(&p.key, bad))),
        );
        config
    });
    if ctx.out.json {
        let printed = ctx.out.json(&Report {
            path,
            valid: problems.is_empty(),
            problems: problems
                .iter()
                .map(|p| ProblemJson {
                    key: p.key.clone(),
                    message: p.message.clone(),
                })
                .collect(),
        });
        crate::output::unless_closed(printed)?;
        if problems.is_empty() {
            return Ok(ExitCode::SUCCESS);
        }
        // The problems on stderr too, for whoever reads the terminal beside the pipe.
        return Err(invalid(&source.path, &problems).after_report().into());
    }
    report_text(ctx, &source.path, config.as_ref(), &problems)
}

fn report_text(
    ctx: &Context,
    path: &std::path::Path,
    config: Option<&Config>,
    problems: &[Problem],
) -> Result<ExitCode> {
    let Some(config) = config.filter(|_| problems.is_empty()) else {
        return Err(invalid(path, problems).into());
    };
    ctx.out
        .text(&format!(
            "{} is valid: {} integration{}, {} account{}, {} rule{}",
            path.display(),
            config.integrations.len(),
            plural(config.integrations.len()),
            config.accounts.len(),
            plural(config.accounts.len()),
            config.rules.len(),
            plural(config.rules.len()),
        ))
        .context("printing the report")?;
    Ok(ExitCode::SUCCESS)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
