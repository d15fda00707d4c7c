//! Polling agents (SPEC §4 `poll`, §7): one run of every due or named integration.
//!
//! Each integration is polled under its own lock file, so two overlapping cron runs never poll
//! one integration at once: the second skips it. A connector commits each page's events with
//! the cursor that follows them, so a failure leaves the cursor where the stored events end.
//! Afterwards the registry records the sync times and error count; repeated failures turn the
//! integration's status to `error` with an `integrationFailed` event.

pub mod context;
pub mod http;
pub mod scheduler;
pub mod watch;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use futures_util::FutureExt;
use indicatif::ProgressBar;
use rand::Rng;
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use serde::Serialize;

use crate::config::{Config, HttpAuth, IntegrationConfig};
use crate::error::{Code, Exit};
use crate::event::format_time;
use crate::store::{PollOutcome, Store};
use context::Context;
use http::{Credentials, Http, Quotas};

/// Polling interval when the config gives none.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// How one integration's poll went (`trmctl poll --json`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub name: String,
    /// `ok`, `failed`, `reauthRequired` or `locked`.
    pub status: &'static str,
    pub items_fetched: u64,
    pub events_created: u64,
    pub requests: u64,
    pub duration_ms: u64,
    pub error: Option<String>,
}

impl Report {
    /// A poll that has not done anything yet: `ok`, all zero.
    pub fn new(name: String) -> Report {
        Report {
            name,
            status: "ok",
            items_fetched: 0,
            events_created: 0,
            requests: 0,
            duration_ms: 0,
            error: None,
        }
    }

    /// The report of a poll that ended without one (its task panicked).
    pub fn crashed(name: String, error: String) -> Report {
        Report {
            status: "failed",
            error: Some(error),
            ..Report::new(name)
        }
    }
}

/// Runs polls; shared by `trmctl poll` and the scheduler of `trmctl serve`.
pub struct Poller {
    config: Arc<Config>,
    db: PathBuf,
    client: reqwest::Client,
    quotas: Arc<Quotas>,
    /// Access tokens by account.
    tokens: std::sync::Mutex<std::collections::HashMap<String, Arc<http::TokenCache>>>,
    /// Show progress bars (a terminal, no `--json`, no `-q`).
    progress: bool,
}

impl Poller {
    pub fn new(config: Arc<Config>, progress: bool) -> Result<Poller> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(config.poll.timeout)
            .gzip(true)
            .redirect(same_origin_redirects())
            .user_agent(concat!("trmctl/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the HTTP client")?;
        Ok(Poller {
            db: crate::paths::database(&config)?,
            config,
            client,
            quotas: Arc::new(Quotas::default()),
            tokens: Default::default(),
            progress,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Credentials of a Google account, sharing one access token across this process's polls.
    pub fn google(&self, account: &str) -> Credentials {
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        let token = tokens.entry(account.to_string()).or_default().clone();
        Credentials::Google {
            account: account.to_string(),
            token,
        }
    }

    /// An HTTP client for requests outside a poll (watch renewals).
    pub fn http(&self, credentials: Credentials) -> Http {
        Http::new(
            self.client.clone(),
            self.config.clone(),
            self.quotas.clone(),
            self.db.clone(),
            credentials,
        )
    }

    /// Polls one integration, under its lock.
    pub async fn poll(&self, name: &str, full: bool) -> Report {
        let started = Instant::now();
        let mut report = Report::new(name.to_string());
        let _lock = match try_lock(&self.db, name) {
            Ok(Some(lock)) => lock,
            Ok(None) => {
                report.status = "locked";
                report.error = Some("another run is polling it".into());
                return report;
            }
            Err(e) => return failed(report, &e, started),
        };
        let result = unwound(self.run(name, full, &mut report)).await;
        report.duration_ms = started.elapsed().as_millis() as u64;
        // What was stored stays stored; a run whose outcome could not be recorded still failed.
        let recorded = self
            .record(name, &result)
            .context("recording the poll's outcome");
        match result.and(recorded) {
            Ok(()) => report,
            Err(e) => failed(report, &e, started),
        }
    }

    async fn run(&self, name: &str, full: bool, report: &mut Report) -> Result<()> {
        let cfg = self.config.integration(name)?;
        let mut store = Store::open_with(&self.db, self.config.store.busy_timeout)?;
        if full {
            let stored = store.cursor_text(name)?;
            if crate::connectors::full_keeps_cursor(cfg.kind, stored.as_deref()) {
                tracing::info!(
                    integration = name,
                    "Drive has no full listing: --full polls on from the stored page token"
                );
            } else {
                store.clear_cursor(name)?;
            }
        }
        let http = Http::new(
            self.client.clone(),
            self.config.clone(),
            self.quotas.clone(),
            self.db.clone(),
            credentials(self, name, cfg)?,
        );
        let progress = if self.progress {
            progress_bar(name)
        } else {
            ProgressBar::hidden()
        };
        let mut ctx = Context {
            name,
            cfg,
            http: &http,
            store: &mut store,
            rules: &self.config.ruleset,
            items: 0,
            events: 0,
            pages: 0,
            progress: progress.clone(),
        };
        let result = crate::connectors::poll(cfg.kind, &mut ctx).await;
        report.items_fetched = ctx.items;
        report.events_created = ctx.events;
        report.requests = http.requests();
        progress.finish_and_clear();
        result
    }

    /// Registry upkeep after a poll.
    fn record(&self, name: &str, result: &Result<()>) -> Result<()> {
        let mut store = Store::open_with(&self.db, self.config.store.busy_timeout)?;
        let interval = self
            .config
            .integration(name)?
            .interval
            .unwrap_or(DEFAULT_INTERVAL);
        let row = store
            .integration_rows()?
            .into_iter()
            .find(|r| r.name == name);
        let errors = row.map_or(0, |r| r.error_count);
        let message = result
            .as_ref()
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        let (outcome, wait) = match result {
            Ok(()) => (PollOutcome::Succeeded, interval),
            Err(e) if crate::error::needs_reauth(e) => {
                (PollOutcome::ReauthRequired { error: &message }, interval)
            }
            Err(_) => (
                PollOutcome::Failed {
                    error: &message,
                    threshold: self.config.poll.error_threshold,
                },
                // Back off after failures, but never wait longer than the interval.
                Duration::from_secs(30u64 << errors.clamp(0, 10)).min(interval),
            ),
        };
        let next = crate::event::after(jittered(wait));
        store.record_poll(name, outcome, &format_time(&next))
    }
}

/// Up to a tenth more, so integrations with one interval spread out.
fn jittered(wait: Duration) -> Duration {
    let millis = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
    let extra = rand::thread_rng().gen_range(0..=millis / 10);
    wait.saturating_add(Duration::from_millis(extra))
}

fn failed(mut report: Report, error: &anyhow::Error, started: Instant) -> Report {
    report.status = if crate::error::needs_reauth(error) {
        "reauthRequired"
    } else {
        "failed"
    };
    report.error = Some(format!("{error:#}"));
    report.duration_ms = started.elapsed().as_millis() as u64;
    report
}

/// The exclusive lock of one integration's polls, or `None` when another run holds it.
fn try_lock(db: &Path, name: &str) -> Result<Option<File>> {
    let file = crate::paths::lock_file(db, &format!("poll-{name}"))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).context("locking the integration's poll lock")
        }
    }
}

/// How an integration's requests authenticate; Google accounts use the poller's shared token.
fn credentials(poller: &Poller, name: &str, cfg: &IntegrationConfig) -> Result<Credentials> {
    if cfg.kind.is_google() {
        let account = cfg
            .account
            .as_deref()
            .context("a Google integration needs `account`")?;
        return Ok(poller.google(account));
    }
    let Some(auth) = &cfg.auth else {
        return Ok(Credentials::None);
    };
    let (header, value) = match auth {
        HttpAuth::Bearer { token } => (
            AUTHORIZATION,
            format!("Bearer {}", token.resolve(name, "token")?),
        ),
        HttpAuth::Header {
            name: header,
            value,
        } => (
            HeaderName::from_bytes(header.as_bytes())
                .with_context(|| format!("`{header}` is not a header name"))?,
            value.resolve(name, "value")?,
        ),
        HttpAuth::Basic { username, password } => {
            use base64::Engine;
            let pair = format!("{username}:{}", password.resolve(name, "password")?);
            (
                AUTHORIZATION,
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ),
            )
        }
    };
    let mut value =
        HeaderValue::from_str(&value).context("the credential is not a valid header value")?;
    value.set_sensitive(true);
    Ok(Credentials::Header(value, header))
}

fn progress_bar(name: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {prefix}: {pos} items ({per_sec}) {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.set_prefix(name.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The polling integrations to run: the named ones (each must exist and poll), else every
/// enabled one, and with `due` only those whose next sync time has come.
pub fn select(
    config: &Config,
    store: &mut Store,
    names: &[String],
    due: bool,
) -> Result<Vec<String>> {
    crate::registry::sync(config, store)?;
    let rows = store.integration_rows()?;
    let due_now: Vec<String> = if due {
        store.due_integrations(&format_time(&crate::event::now()))?
    } else {
        Vec::new()
    };
    if !names.is_empty() {
        for name in names {
            let cfg = config.integration(name)?;
            if !cfg.kind.is_polling() {
                return Err(Exit::usage(format!(
                    "{name} is a `{}` integration: it receives webhooks and is not polled",
                    cfg.kind
                ))
                .into());
            }
            if rows.iter().any(|r| &r.name == name && !r.enabled) {
                return Err(Exit::usage(format!(
                    "{name} is disabled; `trmctl integrations enable {name}` to poll it again"
                ))
                .into());
            }
        }
    }
    Ok(config
        .integrations
        .iter()
        .filter(|(name, cfg)| cfg.kind.is_polling() && (names.is_empty() || names.contains(name)))
        .filter(|(name, _)| rows.iter().any(|r| &r.name == *name && r.enabled))
        .filter(|(name, _)| !due || due_now.contains(name))
        .map(|(name, _)| name.clone())
        .collect())
}

/// Redirects are followed (at most 10) only within the site first asked: its origin, or the
/// same host moved from `http` to `https`. reqwest drops `Authorization` on a redirect
/// elsewhere, but not an API key in a header of its own (`auth = { type = "header" }`), which
/// would go to whatever site an answer names, in plain HTTP too. A redirect elsewhere is
/// answered as the 3xx it is.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let within = attempt
            .previous()
            .first()
            .is_some_and(|first| same_site(first, attempt.url()));
        if !within {
            attempt.stop()
        } else if attempt.previous().len() > 10 {
            attempt.error("more than 10 redirects")
        } else {
            attempt.follow()
        }
    })
}

/// A poll's outcome with a panic in it (a connector's bug, met on some answer) made its error:
/// the integration's failed poll, recorded and backed off like any other, not the end of the
/// other integrations' polls.
async fn unwound(poll: impl Future<Output = Result<()>>) -> Result<()> {
    std::panic::AssertUnwindSafe(poll)
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| {
            Err(anyhow::anyhow!(crate::worker::panic_message(
                "the poll",
                panic.as_ref()
            )))
        })
}

/// Whether `next` is on the site of `first`, so that `first`'s credentials may go there: the
/// same origin, or `first`'s host on its default port moved to `https` on its default port.
/// Redirects and http-poll's next-page links both keep to it.
pub fn same_site(first: &reqwest::Url, next: &reqwest::Url) -> bool {
    first.origin() == next.origin()
        || (first.scheme() == "http"
            && next.scheme() == "https"
            && first.host() == next.host()
            && first.port().is_none()
            && next.port().is_none())
}

/// The process exit code for a run: 4 if an account needs re-authorization, 3 if some failed
/// and some succeeded, 1 if all failed, 5 if an integration the user named was skipped because
/// another run holds it. Unnamed runs (cron's `poll --due`) skip locked ones silently: the other
/// run is doing the work.
pub fn exit_code(reports: &[Report], named: bool) -> Option<Code> {
    let count = |status: &str| reports.iter().filter(|r| r.status == status).count();
    if count("reauthRequired") > 0 {
        Some(Code::Reauth)
    } else if count("failed") > 0 && count("ok") > 0 {
        Some(Code::Partial)
    } else if count("failed") > 0 {
        Some(Code::Failure)
    } else if named && count("locked") > 0 {
        Some(Code::Locked)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(status: &'static str) -> Report {
        Report {
            status,
            ..Report::new("x".into())
        }
    }

    #[test]
    fn jitter_adds_up_to_a_tenth_and_never_overflows() {
        let wait = Duration::from_secs(600);
        for _ in 0..100 {
            let jittered = jittered(wait);
            assert!(jittered >= wait && jittered <= wait + Duration::from_secs(60));
        }
        assert_eq!(jittered(Duration::MAX), Duration::MAX);
    }

    #[test]
    fn exit_codes() {
        assert_eq!(exit_code(&[report("ok"), report("ok")], false), None);
        assert_eq!(
            exit_code(&[report("ok"), report("failed")], false),
            Some(Code::Partial)
        );
        assert_eq!(exit_code(&[report("failed")], false), Some(Code::Failure));
        assert_eq!(
            exit_code(
                &[report("ok"), report("reauthRequired"), report("failed")],
                false
            ),
            Some(Code::Reauth)
        );
        assert_eq!(exit_code(&[report("locked")], true), Some(Code::Locked));
        assert_eq!(
            exit_code(&[report("locked")], false),
            None,
            "unnamed locked ones are just skipped"
        );
        assert_eq!(
            exit_code(&[report("locked"), report("ok")], true),
            Some(Code::Locked),
            "a named one that was skipped is said, even when the others ran"
        );
        assert_eq!(
            exit_code(&[report("locked"), report("failed")], true),
            Some(Code::Failure),
            "a failure outranks a skip"
        );
    }

    #[test]
    fn redirects_stay_on_the_site() {
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        let first = url("http://api.example.com/v1/items");
        assert!(same_site(&first, &url("http://api.example.com/v2/items")));
        assert!(
            same_site(&first, &url("https://api.example.com/v1/items")),
            "an upgrade"
        );
        assert!(!same_site(&first, &url("http://other.example.com/v1")));
        assert!(!same_site(&first, &url("https://api.example.com:8443/v1")));
        let secure = url("https://api.example.com/v1");
        assert!(
            !same_site(&secure, &url("http://api.example.com/v1")),
            "no downgrade"
        );
    }

    #[tokio::test]
    async fn a_poll_that_panics_is_a_failed_poll() {
        let err = unwound(async { panic!("index out of bounds") })
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("the poll panicked (a bug in trmctl, please report it): index out"),
            "{text}"
        );
        assert!(unwound(async { Ok(()) }).await.is_ok());
    }

    #[test]
    fn a_held_lock_is_reported_not_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let first = try_lock(&db, "a").unwrap();
        assert!(first.is_some());
        assert!(try_lock(&db, "a").unwrap().is_none());
        assert!(try_lock(&db, "b").unwrap().is_some());
        drop(first);
        assert!(try_lock(&db, "a").unwrap().is_some());
    }
}
