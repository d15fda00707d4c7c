//! `trmctl secret set|rm|list`: API keys and webhook secrets in the OS keyring. Values come
//! from stdin or a hidden prompt, never from arguments (argv is visible to every user).

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use serde::Serialize;

use super::Context;
use crate::cli::SecretCommand;
use crate::config::Config;
use crate::error::Exit;
use crate::secrets::{entry_name, keyring, valid_entry_name};

pub fn run(ctx: &Context, command: SecretCommand) -> Result<ExitCode> {
    let config = ctx.config()?;
    match command {
        SecretCommand::Set { name } => set(ctx, &config, &name),
        SecretCommand::Rm { name } => rm(ctx, &config, &name),
        SecretCommand::List => list(ctx, &config),
    }
}

fn check_name(name: &str) -> Result<()> {
    if valid_entry_name(name) {
        Ok(())
    } else {
        Err(Exit::usage(format!(
            "`{name}` is not a secret name: use <integration-or-account>/<key>, e.g. github-repo/secret"
        ))
        .into())
    }
}

fn set(ctx: &Context, config: &Config, name: &str) -> Result<ExitCode> {
    check_name(name)?;
    // The store first: a database that cannot be opened fails the command before the keyring
    // has changed.
    let mut store = ctx.store(config)?;
    let value = read_value(name)?;
    keyring::set(name, &value)?;
    store.remember_secret(name)?;
    warn_if_read_elsewhere(config, name);
    if ctx.out.json {
        ctx.out.json(&serde_json::json!({ "name": name, "location": format!("keyring ({}/{name})", keyring::SERVICE) }))?;
    } else {
        ctx.out.text(&format!("Stored {name} in the keyring"))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Warns when the config key this entry is named after reads its secret from elsewhere
/// (`env:`, `file:`…): the entry is stored, but nothing will read it.
fn warn_if_read_elsewhere(config: &Config, name: &str) {
    let references = config.secret_references();
    let read_here = references
        .iter()
        .any(|(owner, key, _, r)| r.keyring_entry(owner, key).as_deref() == Some(name));
    if read_here {
        return;
    }
    for (owner, key, used_by, reference) in &references {
        if entry_name(owner, key) == name {
            crate::output::note(&format!(
                "warning: {used_by} reads {reference}, not the keyring: set it to \"keyring\" to use this secret"
            ));
        }
    }
}

/// The secret from a hidden prompt on a terminal, else all of stdin (one trailing newline
/// dropped).
fn read_value(name: &str) -> Result<String> {
    let mut value = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("Secret for {name}: ")).context("reading the secret")?
    } else {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the secret from stdin")?;
        text
    };
    if value.ends_with('\n') {
        value.pop();
        if value.ends_with('\r') {
            value.pop();
        }
    }
    if value.is_empty() {
        bail!(Exit::usage("the secret is empty; nothing was stored"));
    }
    Ok(value)
}

fn rm(ctx: &Context, config: &Config, name: &str) -> Result<ExitCode> {
    check_name(name)?;
    let mut store = ctx.store(config)?;
    let existed = keyring::delete(name)?;
    store.forget_secret(name)?;
    if !existed {
        return Err(anyhow::anyhow!("no secret `{name}` in the keyring"));
    }
    if ctx.out.json {
        ctx.out
            .json(&serde_json::json!({ "name": name, "deleted": true }))?;
    } else {
        ctx.out.text(&format!("Deleted {name} from the keyring"))?;
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    name: String,
    location: String,
    /// The config key that refers to it, if any.
    used_by: Option<String>,
    /// Whether it can be read right now.
    present: bool,
    /// Why that could not be told (the keyring unreachable, say); the other rows still show.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Row {
    fn new(name: String, location: String, used_by: Option<String>, present: Result<bool>) -> Row {
        let (present, error) = match present {
            Ok(present) => (present, None),
            Err(e) => (false, Some(format!("{e:#}"))),
        };
        Row {
            name,
            location,
            used_by,
            present,
            error,
        }
    }
}

/// The `secret list` report: JSON, or a table of the secrets.
fn print_rows(ctx: &Context, rows: &[Row]) -> std::io::Result<()> {
    if ctx.out.json {
        ctx.out.json(rows)
    } else if rows.is_empty() {
        ctx.out
            .text("No secrets: the config refers to none, and none were set.")
    } else {
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    r.location.clone(),
                    r.used_by.clone().unwrap_or_else(|| "-".into()),
                    match (&r.error, r.present) {
                        (Some(_), _) => "unknown (see below)".into(),
                        (None, true) => "yes".into(),
                        (None, false) => "missing".into(),
                    },
                ]
            })
            .collect();
        ctx.out
            .table(&["NAME", "KEPT IN", "USED BY", "PRESENT"], &table)
    }
}

fn list(ctx: &Context, config: &Config) -> Result<ExitCode> {
    let mut rows: Vec<Row> = config
        .secret_references()
        .into_iter()
        .map(|(owner, key, used_by, reference)| {
            Row::new(
                reference
                    .keyring_entry(&owner, &key)
                    .unwrap_or_else(|| entry_name(&owner, &key)),
                reference.location(&owner, &key),
                Some(used_by),
                reference.is_present(&owner, &key),
            )
        })
        .collect();
    for name in ctx.store(config)?.secret_names()? {
        if !rows
            .iter()
            .any(|r| r.name == name && r.location.starts_with("keyring"))
        {
            let present = keyring::get(&name).map(|secret| secret.is_some());
            let location = format!("keyring ({}/{name})", keyring::SERVICE);
            rows.push(Row::new(name, location, None, present));
        }
    }
    crate::output::unless_closed(print_rows(ctx, &rows))?;
    // Every row is shown; one whose presence could not be told fails the run, as `ls` does
    // with a directory it cannot read.
    let unknown: Vec<String> = rows
        .iter()
        .filter_map(|r| Some(format!("{}: {}", r.name, r.error.as_deref()?)))
        .collect();
    if !unknown.is_empty() {
        let message = format!(
            "cannot tell whether these are there: {}",
            unknown.join("; ")
        );
        return Err(
            crate::error::Exit::new(crate::error::Code::Failure, message)
                .after_report()
                .into(),
        );
    }
    Ok(ExitCode::SUCCESS)
}
