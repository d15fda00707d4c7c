//! `trmctl auth google|list|status|token|revoke|export|import`: Google accounts.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow, bail};
use serde::{Deserialize, Serialize};

use super::Context;
use crate::auth::{self, REFRESH_TOKEN, flow, tokens};
use crate::cli::AuthCommand;
use crate::config::Config;
use crate::error::{Code, Exit};
use crate::event::{format_time, now};
use crate::output::cell;
use crate::secrets::{SecretRef, entry_name};
use crate::store::{AccountRow, Store};

pub fn run(ctx: &Context, command: AuthCommand) -> Result<ExitCode> {
    let config = ctx.config()?;
    let mut store = ctx.store(&config)?;
    match command {
        AuthCommand::Google {
            account,
            scopes,
            no_browser,
        } => {
            let account = pick_account(&config, account)?;
            google(ctx, &config, &mut store, &account, &scopes, no_browser)
        }
        AuthCommand::List => status(ctx, &config, &store, None, false),
        AuthCommand::Status { account } => status(ctx, &config, &store, account.as_deref(), true),
        AuthCommand::Token { account } => {
            if ctx.out.json {
                // A secret never goes into `--json` output (SPEC §10), and the bare token is
                // no JSON document: refused before anything is refreshed.
                return Err(Exit::usage(
                    "`auth token` prints the access token alone, for `$(trmctl auth token …)`; \
                     it has no --json form (secrets never go into --json output)",
                )
                .into());
            }
            let token = ctx
                .runtime()?
                .block_on(tokens::access_token(&config, &mut store, &account))?;
            ctx.out.text(&token)?;
            Ok(ExitCode::SUCCESS)
        }
        AuthCommand::Revoke { account } => revoke(ctx, &config, &mut store, &account),
        AuthCommand::Export { account } => export(ctx, &config, &store, &account),
        AuthCommand::Import { account } => import(ctx, &config, &mut store, &account),
    }
}

/// The named account, or the only one configured.
fn pick_account(config: &Config, name: Option<String>) -> Result<String> {
    if let Some(name) = name {
        auth::account(config, &name)?;
        return Ok(name);
    }
    let mut names = config.accounts.keys();
    match (names.next(), names.next()) {
        (Some(only), None) => Ok(only.clone()),
        (None, _) => {
            Err(Exit::usage("no accounts in the config: add an [accounts.NAME] table").into())
        }
        _ => Err(Exit::usage("several accounts are configured: name one").into()),
    }
}

/// The integrations that use an account.
fn integrations_of(config: &Config, account: &str) -> Vec<String> {
    config
        .integrations
        .iter()
        .filter(|(_, i)| i.account.as_deref() == Some(account))
        .map(|(name, _)| name.clone())
        .collect()
}

/// The refresh token must be trmctl's to write: a keyring entry, not an env/file reference.
fn require_keyring(config: &Config, name: &str) -> Result<()> {
    match auth::account(config, name)?.refresh_source() {
        SecretRef::Keyring => Ok(()),
        other => Err(Exit::usage(format!(
            "account {name} reads its refresh token from {other}, so trmctl cannot store a new one here: \
             authorize on a machine with a keyring and move it with `trmctl auth export {name}`"
        ))
        .into()),
    }
}

fn google(
    ctx: &Context,
    config: &Config,
    store: &mut Store,
    name: &str,
    scopes: &[String],
    no_browser: bool,
) -> Result<ExitCode> {
    require_keyring(config, name)?;
    let account = auth::account(config, name)?;
    let scopes = auth::scopes(config, name, scopes).map_err(|e| Exit::usage(e.to_string()))?;
    let client = auth::client(
        account,
        account.client_secret.resolve(name, "client_secret")?,
    )?;
    let done = ctx
        .runtime()?
        .block_on(flow::authorize(client, &scopes, !no_browser))?;
    let _refreshes_wait = tokens::hold_account(store.path(), name)?;
    tokens::save_tokens(
        name,
        &done.refresh_token,
        &done.access_token,
        done.expires_at,
    )?;
    let row = AccountRow {
        name: name.to_string(),
        provider: "google".into(),
        email: done.email.clone().or_else(|| account.email.clone()),
        scopes: done.scopes.clone(),
        token_expires_at: Some(format_time(&done.expires_at)),
        status: "active".into(),
        secret_location: Some(SecretRef::Keyring.location(name, REFRESH_TOKEN)),
        updated_at: format_time(&now()),
    };
    store.save_account(&row)?;
    store.reactivate(&integrations_of(config, name))?;
    store.remember_secret(&entry_name(name, REFRESH_TOKEN))?;
    store.remember_secret(&entry_name(name, auth::ACCESS_TOKEN))?;
    if let (Some(expected), Some(got)) = (&account.email, &done.email)
        && !expected.eq_ignore_ascii_case(got)
    {
        tracing::warn!("account {name} is configured as {expected} but was authorized as {got}");
    }
    let summary = Summary::new(config, name, Some(&row));
    if ctx.out.json {
        ctx.out.json(&summary)?;
    } else {
        ctx.out.text(&format!(
            "Authorized {name} ({}) for {}",
            summary.email.as_deref().unwrap_or("unknown email"),
            summary.scopes.join(", ")
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One account as `auth list` shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    name: String,
    provider: String,
    email: Option<String>,
    /// `active`, `reauthRequired`, `notAuthorized`, or `configured`: a refresh token read from
    /// elsewhere than the keyring (`env:`, `file:`, `credential:`), not used yet.
    status: String,
    scopes: Vec<String>,
    token_expires_at: Option<String>,
    secret_location: String,
}

impl Summary {
    fn new(config: &Config, name: &str, row: Option<&AccountRow>) -> Summary {
        let account = config.accounts.get(name);
        let location = account
            .map(|a| a.refresh_source().location(name, REFRESH_TOKEN))
            .unwrap_or_default();
        Summary {
            name: name.to_string(),
            provider: "google".into(),
            email: row
                .and_then(|r| r.email.clone())
                .or_else(|| account.and_then(|a| a.email.clone())),
            status: match (row, account) {
                (Some(row), _) => row.status.clone(),
                (None, Some(a)) if a.refresh_source() != SecretRef::Keyring => "configured".into(),
                (None, _) => "notAuthorized".into(),
            },
            scopes: row
                .map(|r| r.scopes.split_whitespace().map(short_scope).collect())
                .unwrap_or_default(),
            token_expires_at: row.and_then(|r| r.token_expires_at.clone()),
            secret_location: location,
        }
    }
}

impl Summary {
    fn needs_user(&self) -> bool {
        !matches!(self.status.as_str(), "active" | "configured")
    }
}

/// `https://www.googleapis.com/auth/gmail.readonly` → `gmail.readonly`.
fn short_scope(scope: &str) -> String {
    scope.rsplit('/').next().unwrap_or(scope).to_string()
}

/// The configured accounts (or only `only`), as `auth list` shows them.
fn summaries(config: &Config, store: &Store, only: Option<&str>) -> Result<Vec<Summary>> {
    config
        .accounts
        .keys()
        .filter(|name| only.is_none_or(|o| o == name.as_str()))
        .map(|name| Ok(Summary::new(config, name, store.account(name)?.as_ref())))
        .collect()
}

/// The configured accounts that need the user: never authorized, or refused since (what
/// `auth status` exits 4 for, and `trmctl status` too).
pub(super) fn needing_user(config: &Config, store: &Store) -> Result<Vec<String>> {
    let summaries = summaries(config, store, None)?;
    Ok(summaries
        .into_iter()
        .filter(Summary::needs_user)
        .map(|s| s.name)
        .collect())
}

fn status(
    ctx: &Context,
    config: &Config,
    store: &Store,
    only: Option<&str>,
    exit_on_reauth: bool,
) -> Result<ExitCode> {
    if let Some(name) = only {
        auth::account(config, name)?;
    }
    let summaries = summaries(config, store, only)?;
    crate::output::unless_closed(print_summaries(ctx, &summaries))?;
    let needs: Vec<&str> = summaries
        .iter()
        .filter(|s| s.needs_user())
        .map(|s| s.name.as_str())
        .collect();
    if exit_on_reauth && !needs.is_empty() {
        let fixes: Vec<String> = needs
            .iter()
            .map(|n| {
                let source = tokens::refresh_source_of(config, n);
                format!("{n}: {}", tokens::reauth_fix(n, &source))
            })
            .collect();
        let message = format!("needs authorization: {}", fixes.join("; "));
        // The list above is the report: with --json, stdout holds that one document.
        return Err(Exit::new(Code::Reauth, message).after_report().into());
    }
    Ok(ExitCode::SUCCESS)
}

/// The `auth status` report: JSON, or a table of the accounts.
fn print_summaries(ctx: &Context, summaries: &[Summary]) -> std::io::Result<()> {
    if ctx.out.json {
        ctx.out.json(summaries)
    } else if summaries.is_empty() {
        ctx.out.text("No accounts configured.")
    } else {
        let rows: Vec<Vec<String>> = summaries
            .iter()
            .map(|s| {
                vec![
                    s.name.clone(),
                    cell(s.email.as_deref()),
                    ctx.out.status_word(&s.status),
                    if s.scopes.is_empty() {
                        "-".into()
                    } else {
                        s.scopes.join(",")
                    },
                    cell(s.token_expires_at.as_deref()),
                    s.secret_location.clone(),
                ]
            })
            .collect();
        ctx.out.table(
            &[
                "ACCOUNT",
                "EMAIL",
                "STATUS",
                "SCOPES",
                "TOKEN EXPIRES",
                "REFRESH TOKEN IN",
            ],
            &rows,
        )
    }
}

fn revoke(ctx: &Context, config: &Config, store: &mut Store, name: &str) -> Result<ExitCode> {
    let account = auth::account(config, name)?;
    let source = account.refresh_source();
    let refresh = source
        .resolve(name, REFRESH_TOKEN)
        .map_err(|e| anyhow!("account {name} has no refresh token to revoke ({e:#})"))?;
    let revoked = ctx.runtime()?.block_on(auth::revoke(account, &refresh));
    match revoked {
        Ok(()) => {}
        // Already revoked or expired at Google: nothing left to revoke there.
        Err(e) if e.to_string().contains("invalid_token") => {}
        Err(e) => return Err(e.context("the local tokens were kept, so you can retry")),
    }
    if source == SecretRef::Keyring {
        tokens::delete_tokens(name)?;
        store.forget_secret(&entry_name(name, REFRESH_TOKEN))?;
        store.forget_secret(&entry_name(name, auth::ACCESS_TOKEN))?;
    }
    store.delete_account(name)?;
    if ctx.out.json {
        ctx.out
            .json(&serde_json::json!({ "account": name, "revoked": true }))?;
    } else {
        ctx.out.text(&format!(
            "Revoked {name} at Google and deleted its local tokens"
        ))?;
    }
    if source != SecretRef::Keyring {
        tracing::warn!("the refresh token of {name} still sits in {source}: delete it there");
    }
    Ok(ExitCode::SUCCESS)
}

/// What `auth export` writes and `auth import` reads.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Exported {
    account: String,
    provider: String,
    email: Option<String>,
    scopes: String,
    refresh_token: String,
}

fn export(ctx: &Context, config: &Config, store: &Store, name: &str) -> Result<ExitCode> {
    if std::io::stdout().is_terminal() {
        bail!(Exit::usage(format!(
            "auth export writes a refresh token: pipe it, e.g. `trmctl auth export {name} | ssh server trmctl auth import {name}`"
        )));
    }
    let account = auth::account(config, name)?;
    let row = store.account(name)?.ok_or_else(|| {
        Exit::new(
            Code::Reauth,
            format!("account {name} is not authorized: run `trmctl auth google {name}`"),
        )
    })?;
    let exported = Exported {
        account: name.to_string(),
        provider: "google".into(),
        email: row.email,
        scopes: row.scopes,
        refresh_token: account.refresh_source().resolve(name, REFRESH_TOKEN)?,
    };
    // One compact line, for `| ssh server trmctl auth import`.
    ctx.out.ndjson(&exported)?;
    Ok(ExitCode::SUCCESS)
}

fn import(ctx: &Context, config: &Config, store: &mut Store, name: &str) -> Result<ExitCode> {
    require_keyring(config, name)?;
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("reading the authorization from stdin")?;
    let exported: Exported = serde_json::from_str(text.trim()).map_err(|e| {
        // serde quotes the text it refused: a refresh token piped in without `jq -r`.
        let why = crate::config::without_values(&e.to_string());
        Exit::usage(format!("stdin is not an `auth export` document: {why}"))
    })?;
    // Only Google accounts exist, and `auth export` writes only them.
    if exported.provider != "google" {
        bail!(Exit::usage(format!(
            "the document is of a `{}` account; {name} is a Google account; nothing was imported",
            exported.provider
        )));
    }
    if exported.refresh_token.trim().is_empty() {
        bail!(Exit::usage(
            "the document's refreshToken is empty; nothing was imported"
        ));
    }
    let _refreshes_wait = tokens::hold_account(store.path(), name)?;
    crate::secrets::keyring::set(&entry_name(name, REFRESH_TOKEN), &exported.refresh_token)?;
    crate::secrets::keyring::delete(&entry_name(name, auth::ACCESS_TOKEN))?;
    store.save_account(&AccountRow {
        name: name.to_string(),
        provider: exported.provider,
        email: exported.email,
        scopes: exported.scopes,
        token_expires_at: None,
        status: "active".into(),
        secret_location: Some(SecretRef::Keyring.location(name, REFRESH_TOKEN)),
        updated_at: format_time(&now()),
    })?;
    store.reactivate(&integrations_of(config, name))?;
    store.remember_secret(&entry_name(name, REFRESH_TOKEN))?;
    if ctx.out.json {
        let imported = serde_json::json!({ "account": name, "importedFrom": exported.account });
        ctx.out.json(&imported)?;
    } else {
        ctx.out.text(&format!(
            "Imported the authorization of {name} (from account {})",
            exported.account
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
