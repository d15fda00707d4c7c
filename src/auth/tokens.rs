//! Access tokens that refresh themselves, safely across processes.
//!
//! A token is refreshed when it has under five minutes left. Refreshing takes an exclusive
//! lock file per account and re-reads the cached token first, so two processes (a cron poll
//! and `trmctl serve`) never refresh one account at the same moment: the second finds the
//! first's fresh token. `invalid_grant` is final: the account becomes `reauthRequired`, one
//! `reauthRequired` event is recorded, and the error exits 4 naming the fix. There is no retry
//! loop on a dead token, and a `reauthRequired` account makes no token request at all.

use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, Utc};
use oauth2::basic::BasicErrorResponseType;
use oauth2::{RefreshToken, RequestTokenError, TokenResponse as _};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{ACCESS_TOKEN, REFRESH_TOKEN, client, http_client};
use crate::config::{AccountConfig, Config};
use crate::error::{Code, Exit};
use crate::event::{Event, EventType, format_time, now};
use crate::secrets::{SecretRef, keyring};
use crate::store::{Store, mark_reauth, record_event};

/// A token with this little time left is refreshed.
const MARGIN: chrono::Duration = chrono::Duration::minutes(5);

/// The cached access token, kept in the keyring beside the refresh token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cached {
    token: String,
    expires_at: DateTime<Utc>,
}

impl Cached {
    fn fresh(&self) -> bool {
        self.expires_at - Utc::now() > MARGIN
    }
}

/// [`AccountConfig::refresh_source`] of the account named `name`; the keyring for one not configured.
pub fn refresh_source_of(config: &Config, name: &str) -> SecretRef {
    super::account(config, name).map_or(SecretRef::Keyring, AccountConfig::refresh_source)
}

/// A fresh access token for the account.
pub async fn access_token(config: &Config, store: &mut Store, name: &str) -> Result<String> {
    token(config, store, name, None).await
}

/// A new access token after the provider answered 401 to `rejected`: refreshed now, unless
/// another process already replaced it.
pub async fn replace_rejected(
    config: &Config,
    store: &mut Store,
    name: &str,
    rejected: &str,
) -> Result<String> {
    token(config, store, name, Some(rejected)).await
}

async fn token(
    config: &Config,
    store: &mut Store,
    name: &str,
    rejected: Option<&str>,
) -> Result<String> {
    let usable = |c: &Cached| c.fresh() && Some(c.token.as_str()) != rejected;
    let account = super::account(config, name)?;
    let source = account.refresh_source();
    // With the token in the keyring only `trmctl auth google` can fix it: don't ask Google
    // again. A token read from a file or the environment may have been replaced: try it.
    if source == SecretRef::Keyring
        && store
            .account(name)?
            .is_some_and(|a| a.status == "reauthRequired")
    {
        return Err(reauth_error(
            name,
            "it was marked so after Google refused its refresh token",
            &source,
        )
        .into());
    }
    let cached = source == SecretRef::Keyring;
    if cached && let Some(token) = read_cache(name)?.filter(usable) {
        return Ok(token.token);
    }
    let _lock = lock_account(store.path(), name).await?;
    if cached && let Some(token) = read_cache(name)?.filter(usable) {
        tracing::debug!(account = name, "another process refreshed the token");
        return Ok(token.token);
    }
    let refresh_token = source.resolve(name, REFRESH_TOKEN).map_err(|e| {
        Exit::new(
            Code::Reauth,
            format!(
                "account {name} is not authorized ({e:#}). {}",
                reauth_fix(name, &source)
            ),
        )
    })?;
    let client_secret = account.client_secret.resolve(name, "client_secret")?;
    tracing::info!(account = name, "refreshing the access token");
    let response = client(account, client_secret)?
        .exchange_refresh_token(&RefreshToken::new(refresh_token))
        .request_async(&http_client()?)
        .await;
    let response = match response {
        Ok(response) => response,
        Err(RequestTokenError::ServerResponse(r))
            if *r.error() == BasicErrorResponseType::InvalidGrant =>
        {
            record_reauth(store, name, account)?;
            return Err(reauth_error(
                name,
                "Google refused its refresh token (invalid_grant)",
                &source,
            )
            .into());
        }
        Err(e) => {
            return Err(anyhow!(
                "refreshing the token of account {name} failed: {}",
                super::flow::describe(&e)
            ));
        }
    };
    let lifetime = response
        .expires_in()
        .unwrap_or(std::time::Duration::from_secs(3600));
    let fresh = Cached {
        token: response.access_token().secret().clone(),
        expires_at: crate::event::after(lifetime),
    };
    if cached {
        // A rotated refresh token first: the old one is dead now, and it is the one write
        // whose loss would need the user; the access token is only a cache.
        if let Some(rotated) = response.refresh_token() {
            keyring::set(
                &crate::secrets::entry_name(name, REFRESH_TOKEN),
                rotated.secret(),
            )?;
        }
        keyring::set(
            &crate::secrets::entry_name(name, ACCESS_TOKEN),
            &serde_json::to_string(&fresh)?,
        )?;
    } else if response.refresh_token().is_some() {
        tracing::warn!(
            account = name,
            "the provider rotated the refresh token, but it is read from {} (which trmctl \
             cannot write): store the new one there, or use \"keyring\"",
            source
        );
    }
    store.record_refresh(
        name,
        &format_time(&fresh.expires_at),
        &source.location(name, REFRESH_TOKEN),
    )?;
    Ok(fresh.token)
}

/// Saves a new authorization's tokens: the refresh token and the access token to the keyring.
pub fn save_tokens(
    name: &str,
    refresh_token: &str,
    access_token: &str,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    keyring::set(
        &crate::secrets::entry_name(name, REFRESH_TOKEN),
        refresh_token,
    )?;
    let cache = Cached {
        token: access_token.to_string(),
        expires_at,
    };
    keyring::set(
        &crate::secrets::entry_name(name, ACCESS_TOKEN),
        &serde_json::to_string(&cache)?,
    )
}

/// Deletes an account's tokens from the keyring.
pub fn delete_tokens(name: &str) -> Result<()> {
    keyring::delete(&crate::secrets::entry_name(name, ACCESS_TOKEN))?;
    keyring::delete(&crate::secrets::entry_name(name, REFRESH_TOKEN))?;
    Ok(())
}

fn read_cache(name: &str) -> Result<Option<Cached>> {
    let Some(text) = keyring::get(&crate::secrets::entry_name(name, ACCESS_TOKEN))? else {
        return Ok(None);
    };
    // An unreadable cache is only a cache: refresh.
    Ok(serde_json::from_str(&text).ok())
}

/// Takes the account's refresh lock, waiting for another process that holds it.
async fn lock_account(db: &Path, name: &str) -> Result<File> {
    let (db, name) = (db.to_path_buf(), name.to_string());
    tokio::task::spawn_blocking(move || hold_account(&db, &name)).await?
}

/// Takes the account's refresh lock, waiting for it. A new authorization is saved under it, so
/// that a refresh in flight with the old refresh token finishes first: otherwise Google's
/// `invalid_grant` to the old token would mark the new authorization `reauthRequired`.
pub fn hold_account(db: &Path, name: &str) -> Result<File> {
    let file = crate::paths::lock_file(db, &format!("account-{name}"))?;
    file.lock().context("locking the account's refresh lock")?;
    Ok(file)
}

/// Marks the account `reauthRequired` and records one `reauthRequired` event for the change.
pub fn record_reauth(store: &mut Store, name: &str, account: &AccountConfig) -> Result<()> {
    store.transaction(|tx| {
        if mark_reauth(tx, name)? {
            let at = now();
            let mut event = Event::new(
                EventType::ReauthRequired,
                name,
                "trmctl",
                format!("reauthRequired:{name}:{}", format_time(&at)),
                at,
            );
            event.subject = Some(format!("account {name} needs re-authorization"));
            event.data = json!({
                "account": name,
                "email": account.email,
                "fix": reauth_fix(name, &account.refresh_source()),
            });
            record_event(tx, event, &Default::default())?;
        }
        Ok(())
    })
}

/// The exit-4 error for an account that needs the user: what happened, the fix, the usual cause.
pub fn reauth_error(name: &str, why: &str, source: &SecretRef) -> Exit {
    Exit::new(
        Code::Reauth,
        format!(
            "account {name} needs re-authorization: {why}. {}. \
             The usual cause: an OAuth app in \"Testing\" status gets refresh tokens that expire \
             after 7 days; publish the app to Production in the Google Cloud console.",
            reauth_fix(name, source)
        ),
    )
}

/// What the user runs: `auth google` writes a keyring token; a token read from elsewhere is
/// replaced there (scheduled polls of its integrations wait until one succeeds again).
pub fn reauth_fix(name: &str, source: &SecretRef) -> String {
    match source {
        SecretRef::Keyring => format!("Run `trmctl auth google {name}`"),
        other => format!(
            "Its refresh token is read from {other}: authorize on a machine with a keyring \
             (`trmctl auth google {name}`, then `trmctl auth export {name}`), put the new token \
             there, and run `trmctl poll` once"
        ),
    }
}
