//! `trmctl status`: one screen of what needs attention.

use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use super::Context;
use crate::error::Code;
use crate::registry::{self, Entry};
use crate::store::{Follower, GaveUpCount};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    /// True when nothing needs attention.
    ok: bool,
    integrations_total: usize,
    /// Integrations in `error` or `reauthRequired`.
    integrations: Vec<Entry>,
    dead_letters: i64,
    /// Configured accounts never authorized, or whose authorization was refused since.
    accounts_needing_reauth: Vec<String>,
    /// What to do about each of them, for the text.
    #[serde(skip)]
    reauth_fixes: Vec<String>,
    /// Sinks that are disabled or have dead letters.
    sinks: Vec<crate::sinks::Entry>,
    /// Actions that gave up on events.
    actions: Vec<GaveUpCount>,
}

pub fn run(ctx: &Context) -> Result<ExitCode> {
    let config = ctx.config()?;
    let mut store = ctx.store(&config)?;
    let entries = registry::entries(&config, &mut store)?;
    let dead_letters = store.dead_letter_count()?;
    // As `auth status` sees them; a row left by an account no longer configured is not one.
    let accounts_needing_reauth = super::auth::needing_user(&config, &store)?;
    let sinks: Vec<crate::sinks::Entry> = crate::sinks::entries(&config, &mut store)?
        .into_iter()
        .filter(|s| s.needs_attention())
        .collect();
    let names: Vec<&str> = config.actions.iter().map(|a| a.name.as_str()).collect();
    let actions = store.gave_up_counts(Follower::Action, &names)?;
    let total = entries.len();
    let attention: Vec<Entry> = entries
        .into_iter()
        .filter(|e| e.status.needs_attention())
        .collect();
    let report = Report {
        ok: attention.is_empty()
            && dead_letters == 0
            && accounts_needing_reauth.is_empty()
            && sinks.is_empty()
            && actions.is_empty(),
        integrations_total: total,
        integrations: attention,
        dead_letters,
        reauth_fixes: accounts_needing_reauth
            .iter()
            .map(|name| {
                let source = crate::auth::tokens::refresh_source_of(&config, name);
                crate::auth::tokens::reauth_fix(name, &source)
            })
            .collect(),
        accounts_needing_reauth,
        sinks,
        actions,
    };
    let printed = if ctx.out.json {
        ctx.out.json(&report)
    } else {
        ctx.out.text(&render(ctx, &report))
    };
    crate::output::unless_closed(printed)?;
    // As `auth status`: monitoring can tell "someone must sign in again" from the exit code.
    if report.accounts_needing_reauth.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(Code::Reauth as u8))
    }
}

fn render(ctx: &Context, r: &Report) -> String {
    let mut lines = Vec::new();
    if r.ok {
        lines.push(format!(
            "{} {} integration{} configured, nothing needs attention.",
            ctx.out.status_word("ok"),
            r.integrations_total,
            if r.integrations_total == 1 { "" } else { "s" }
        ));
        return lines.join("\n");
    }
    for e in &r.integrations {
        let why = e.last_error.as_deref().unwrap_or("no error recorded");
        lines.push(format!(
            "integration {} is {} ({} failure{} in a row): {why}",
            e.name,
            ctx.out.status_word(e.status.as_str()),
            e.error_count,
            if e.error_count == 1 { "" } else { "s" }
        ));
    }
    if r.dead_letters > 0 {
        lines.push(format!(
            "{} dead letter{}",
            r.dead_letters,
            if r.dead_letters == 1 { "" } else { "s" }
        ));
    }
    for (account, fix) in r.accounts_needing_reauth.iter().zip(&r.reauth_fixes) {
        lines.push(format!("account {account} needs authorization. {fix}"));
    }
    for sink in &r.sinks {
        lines.extend(sink_lines(ctx, sink));
    }
    for action in &r.actions {
        lines.push(format!(
            "action {} gave up on {} event{} (`trmctl actions deadletters list`), the latest: {}",
            action.name,
            action.dead_letters,
            if action.dead_letters == 1 { "" } else { "s" },
            action.last_error.as_deref().unwrap_or("no error recorded")
        ));
    }
    lines.join("\n")
}

fn sink_lines(ctx: &Context, s: &crate::sinks::Entry) -> Vec<String> {
    let mut lines = Vec::new();
    if s.status == "disabled" {
        let why = s.disabled_reason.as_deref().unwrap_or("no reason recorded");
        lines.push(format!(
            "sink {} is {} ({} events pending): {why}; re-enable with `trmctl sinks enable {}`",
            s.name,
            ctx.out.status_word(s.status),
            s.pending,
            s.name
        ));
    }
    if s.dead_letters > 0 {
        lines.push(format!(
            "sink {} gave up on {} event{} (`trmctl sinks deadletters list`)",
            s.name,
            s.dead_letters,
            if s.dead_letters == 1 { "" } else { "s" }
        ));
    }
    lines
}
