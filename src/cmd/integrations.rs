//! `trmctl integrations list|show|enable|disable`: the registry (SPEC §8).

use std::process::ExitCode;

use anyhow::Result;

use super::Context;
use crate::cli::IntegrationsCommand;
use crate::config::Config;
use crate::output::cell;
use crate::registry::{self, Entry};
use crate::store::Store;

pub fn run(ctx: &Context, command: IntegrationsCommand) -> Result<ExitCode> {
    match command {
        IntegrationsCommand::List => list(ctx),
        IntegrationsCommand::Show { name } => show(ctx, &name),
        IntegrationsCommand::Enable { name } => switch(ctx, &name, true),
        IntegrationsCommand::Disable { name } => switch(ctx, &name, false),
    }
}

fn list(ctx: &Context) -> Result<ExitCode> {
    let config = ctx.config()?;
    let entries = registry::entries(&config, &mut ctx.store(&config)?)?;
    if ctx.out.json {
        ctx.out.json(&entries)?;
        return Ok(ExitCode::SUCCESS);
    }
    if entries.is_empty() {
        ctx.out
            .text("No integrations configured. Add [integrations.NAME] tables to the config.")?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.name.clone(),
                e.kind.clone(),
                ctx.out.status_word(e.status.as_str()),
                cell(e.last_sync_time.as_deref()),
                cell(e.next_sync_time.as_deref()),
                cell(e.last_success_time.as_deref()),
                e.error_count.to_string(),
                e.events_total.to_string(),
                e.deliveries_pending.to_string(),
                e.dead_letters.to_string(),
                cell(e.last_error.as_deref()),
            ]
        })
        .collect();
    ctx.out.table(
        &[
            "NAME",
            "KIND",
            "STATUS",
            "LAST SYNC",
            "NEXT SYNC",
            "LAST SUCCESS",
            "ERRORS",
            "EVENTS",
            "PENDING",
            "DEAD",
            "LAST ERROR",
        ],
        &rows,
    )?;
    Ok(ExitCode::SUCCESS)
}

fn show(ctx: &Context, name: &str) -> Result<ExitCode> {
    let config = ctx.config()?;
    let entry = find(&config, &mut ctx.store(&config)?, name)?;
    print_entry(ctx, &entry)?;
    Ok(ExitCode::SUCCESS)
}

fn switch(ctx: &Context, name: &str, enabled: bool) -> Result<ExitCode> {
    let config = ctx.config()?;
    config.integration(name)?;
    let mut store = ctx.store(&config)?;
    registry::sync(&config, &mut store)?;
    store.set_enabled(name, enabled)?;
    tracing::info!(integration = name, enabled, "registry switch changed");
    let entry = find(&config, &mut store, name)?;
    if ctx.out.json {
        ctx.out.json(&entry)?;
    } else {
        let verb = if enabled { "Enabled" } else { "Disabled" };
        ctx.out.text(&format!("{verb} {name}"))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One configured integration as the registry shows it.
fn find(config: &Config, store: &mut Store, name: &str) -> Result<Entry> {
    config.integration(name)?;
    let entries = registry::entries(config, store)?;
    entries.into_iter().find(|e| e.name == name).ok_or_else(|| {
        anyhow::anyhow!("integration `{name}` is configured but not in the registry")
    })
}

fn print_entry(ctx: &Context, e: &Entry) -> Result<()> {
    if ctx.out.json {
        ctx.out.json(e)?;
        return Ok(());
    }
    let rows = vec![
        vec!["name".into(), e.name.clone()],
        vec!["kind".into(), e.kind.clone()],
        vec!["status".into(), ctx.out.status_word(e.status.as_str())],
        vec!["last sync".into(), cell(e.last_sync_time.as_deref())],
        vec!["next sync".into(), cell(e.next_sync_time.as_deref())],
        vec!["last success".into(), cell(e.last_success_time.as_deref())],
        vec!["errors in a row".into(), e.error_count.to_string()],
        vec!["last error".into(), cell(e.last_error.as_deref())],
        vec!["events".into(), e.events_total.to_string()],
        vec![
            "deliveries pending".into(),
            e.deliveries_pending.to_string(),
        ],
        vec!["dead letters".into(), e.dead_letters.to_string()],
    ];
    let lines: Vec<String> = rows
        .iter()
        .map(|r| format!("{:<20}{}", format!("{}:", r[0]), r[1]))
        .collect();
    ctx.out.text(&lines.join("\n"))?;
    Ok(())
}
