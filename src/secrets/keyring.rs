//! The OS keyring (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows).
//!
//! Every call runs with a deadline: a locked keyring under cron, or a session bus that never
//! answers, gives a clear error instead of a hang. Every write is read back once to prove it
//! stuck. Entries are `service = "trmctl"`, `username = "<owner>/<key>"`, so
//! `secret-tool lookup service trmctl username github-repo/secret` finds them.

use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};

/// The keyring service every trmctl entry is filed under.
pub const SERVICE: &str = "trmctl";

/// How long one keyring call may take; `$TRMCTL_KEYRING_TIMEOUT` (a duration) overrides it.
fn deadline() -> Duration {
    std::env::var("TRMCTL_KEYRING_TIMEOUT")
        .ok()
        .and_then(|text| humantime::parse_duration(&text).ok())
        .unwrap_or(Duration::from_secs(10))
}

/// Runs one keyring operation on its own thread and waits at most the deadline for it.
fn with_deadline<T: Send + 'static>(
    name: &str,
    what: &str,
    op: impl FnOnce() -> keyring::Result<T> + Send + 'static,
) -> Result<keyring::Result<T>> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("keyring".into())
        .spawn(move || {
            let _ = tx.send(op());
        })?;
    let limit = deadline();
    rx.recv_timeout(limit).map_err(|_| {
        anyhow!(
            "the keyring did not answer within {} while {what} `{name}`: is it locked, or is no \
             Secret Service running? Unattended runs (cron, systemd) should use \"env:NAME\", \
             \"file:/path\" or \"credential:NAME\" references instead",
            humantime::format_duration(limit)
        )
    })
}

fn entry(name: &str) -> keyring::Result<keyring::Entry> {
    keyring::Entry::new(SERVICE, name)
}

fn explain(name: &str, what: &str, error: keyring::Error) -> anyhow::Error {
    match error {
        keyring::Error::NoDefaultStore
        | keyring::Error::PlatformFailure(_)
        | keyring::Error::NoStorageAccess(_) => anyhow!(
            "keyring: {what} `{name}` failed: no OS keyring is reachable here ({error}). Start or \
             unlock one (a Secret Service such as GNOME Keyring), or name the secret with \
             \"env:NAME\", \"file:/path\" or \"credential:NAME\" in the config"
        ),
        other => anyhow!("keyring: {what} `{name}` failed: {other}"),
    }
}

/// Reads an entry; `None` when it does not exist.
pub fn get(name: &str) -> Result<Option<String>> {
    let owned = name.to_string();
    match with_deadline(name, "reading", move || entry(&owned)?.get_password())? {
        Ok(value) => Ok(Some(value)),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(explain(name, "reading", e)),
    }
}

/// Writes an entry, then reads it back once to prove it stuck.
pub fn set(name: &str, value: &str) -> Result<()> {
    let (owned, secret) = (name.to_string(), value.to_string());
    with_deadline(name, "writing", move || {
        entry(&owned)?.set_password(&secret)
    })?
    .map_err(|e| explain(name, "writing", e))?;
    match get(name)? {
        Some(stored) if stored == value => Ok(()),
        _ => bail!("keyring: `{name}` did not read back as written; nothing can rely on it"),
    }
}

/// Deletes an entry; returns false when there was none.
pub fn delete(name: &str) -> Result<bool> {
    let owned = name.to_string();
    match with_deadline(name, "deleting", move || entry(&owned)?.delete_credential())? {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(explain(name, "deleting", e)),
    }
}
