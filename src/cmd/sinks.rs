//! `trmctl sinks list|flush|enable|disable|deadletters`: where events go next. `flush` is for
//! cron setups without `trmctl serve`: silent on success, a line per failing sink on stderr, a
//! report per sink with `--json`, exit 1 when a sink failed.

use std::process::ExitCode;

use anyhow::Result;

use super::Context;
use crate::cli::SinksCommand;
use crate::config::Config;
use crate::error::Exit;
use crate::output::cell;
use crate::sinks::{self, Entry, FlushReport, SinkConfig};

pub fn run(ctx: &Context, command: SinksCommand) -> Result<ExitCode> {
    match command {
        SinksCommand::List => list(ctx),
        SinksCommand::Flush { names } => flush(ctx, &names),
        SinksCommand::Enable { name } => switch(ctx, &name, true),
        SinksCommand::Disable { name } => switch(ctx, &name, false),
        SinksCommand::Deadletters(command) => {
            super::deadletters::gave_up(ctx, crate::store::Follower::Sink, command)
        }
    }
}

fn list(ctx: &Context) -> Result<ExitCode> {
    let config = ctx.config()?;
    let entries = sinks::entries(&config, &mut ctx.store(&config)?)?;
    if ctx.out.json {
        ctx.out.json(&entries)?;
    } else if entries.is_empty() {
        ctx.out
            .text("No sinks configured. Add [[sinks]] tables to the config.")?;
    } else {
        let rows: Vec<Vec<String>> = entries.iter().map(|e| row(ctx, e)).collect();
        ctx.out.table(
            &[
                "NAME",
                "KIND",
                "STATUS",
                "LAST SEQ",
                "PENDING",
                "DEAD",
                "LAST ERROR",
            ],
            &rows,
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn row(ctx: &Context, e: &Entry) -> Vec<String> {
    let error = e.disabled_reason.as_deref().or(e.last_error.as_deref());
    vec![
        e.name.clone(),
        e.kind.to_string(),
        ctx.out.status_word(e.status),
        e.last_seq.to_string(),
        e.pending.to_string(),
        e.dead_letters.to_string(),
        cell(error),
    ]
}

fn flush(ctx: &Context, names: &[String]) -> Result<ExitCode> {
    let config = ctx.config()?;
    let selected = select(&config, names)?;
    let db = crate::paths::database(&config)?;
    let reports = if selected.is_empty() {
        Vec::new()
    } else {
        ctx.runtime()?
            .block_on(sinks::flush(&config, &db, &selected))?
    };
    if ctx.out.json {
        crate::output::unless_closed(ctx.out.json(&reports))?;
    }
    let named = !names.is_empty();
    for report in &reports {
        if failed(report, named) {
            let error = report.error.as_deref().unwrap_or("failed");
            crate::output::note(&format!("{}: {error}", report.name));
        } else if ctx.global.verbose > 0 {
            let state = if report.disabled { "disabled, " } else { "" };
            crate::output::note(&format!(
                "{}: {state}{} delivered, {} pending",
                report.name, report.delivered, report.pending
            ));
        }
    }
    if reports.iter().any(|r| failed(r, named)) {
        Ok(ExitCode::from(crate::error::Code::Failure as u8))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

/// A sink failed when an attempt failed or it could not send; a disabled sink only when it
/// was named (otherwise it is skipped, and `trmctl status` shows it).
fn failed(report: &FlushReport, named: bool) -> bool {
    report.failed > 0 || (report.error.is_some() && (named || !report.disabled))
}

/// The named sinks in config order, or all; an unknown name is a usage error.
fn select(config: &Config, names: &[String]) -> Result<Vec<SinkConfig>> {
    for name in names {
        sink(config, name)?;
    }
    Ok(config
        .sinks
        .iter()
        .filter(|s| names.is_empty() || names.contains(&s.name))
        .cloned()
        .collect())
}

/// The configured sink of that name, or a usage error listing the configured ones.
fn sink<'c>(config: &'c Config, name: &str) -> Result<&'c SinkConfig> {
    config.sinks.iter().find(|s| s.name == name).ok_or_else(|| {
        let known: Vec<&str> = config.sinks.iter().map(|s| s.name.as_str()).collect();
        let hint = if known.is_empty() {
            "no sinks are configured".to_string()
        } else {
            format!("configured: {}", known.join(", "))
        };
        Exit::usage(format!("no sink named `{name}` ({hint})")).into()
    })
}

fn switch(ctx: &Context, name: &str, enabled: bool) -> Result<ExitCode> {
    let config = ctx.config()?;
    sink(&config, name)?;
    let mut store = ctx.store(&config)?;
    store.sync_sinks(config.sinks.iter().map(|s| s.name.as_str()))?;
    let reason = (!enabled).then_some("disabled with `trmctl sinks disable`");
    store.set_sink_disabled(name, reason)?;
    tracing::info!(sink = name, enabled, "sink switch changed");
    let entries = sinks::entries(&config, &mut store)?;
    let entry = entries.iter().find(|e| e.name == name);
    if ctx.out.json {
        ctx.out.json(&entry)?;
    } else {
        let verb = if enabled { "Enabled" } else { "Disabled" };
        let pending = entry.map_or(0, |e| e.pending);
        ctx.out
            .text(&format!("{verb} sink {name} ({pending} events pending)"))?;
    }
    Ok(ExitCode::SUCCESS)
}
