//! The one HTTP client polls use: timeouts, gzip, retries with backoff, quota budgets, and
//! credentials.
//!
//! A request is retried on `429`, on `403` with reason `rateLimitExceeded` or
//! `userRateLimitExceeded`, on `5xx`, and on timeouts and connection errors, with exponential
//! backoff and full jitter, honouring `Retry-After`. A Google request first takes its cost from
//! the account's per-minute budget (governor), so a quota is never exceeded. A `401` gets one
//! token refresh; a second `401` is the re-authorization path (exit 4).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER};
use serde_json::Value;

use crate::auth::tokens;
use crate::config::{Config, PollConfig};
use crate::error::{Code, Exit};
use crate::store::Store;

/// How a request authenticates.
pub enum Credentials {
    None,
    /// A Google account's access token, refreshed as needed.
    Google {
        account: String,
        token: Arc<TokenCache>,
    },
    /// A fixed header (bearer token, API key, basic auth), resolved from a secret.
    Header(HeaderValue, reqwest::header::HeaderName),
}

/// An account's access token as this process last got it, shared by every poll of the
/// process, so an account is refreshed once per run, not once per integration (with a
/// refresh token read from `env:`/`file:`, nothing else caches the access token).
#[derive(Default)]
pub struct TokenCache(tokio::sync::Mutex<Option<(String, std::time::Instant)>>);

impl TokenCache {
    /// Google's access tokens live an hour; reuse one for half of that.
    const REUSE: Duration = Duration::from_secs(30 * 60);
}

/// Which per-minute budget a Google request draws from, and how much.
#[derive(Debug, Clone, Copy)]
pub enum Cost {
    Free,
    GmailUnits(u32),
    SheetsReads(u32),
    DriveQueries(u32),
    CalendarQueries(u32),
}

/// Quota units of Gmail's `users.watch`, its dearest request.
pub const WATCH_UNITS: u32 = 100;

/// An answer: the status, headers and JSON body (`None` for an empty body, such as a 304).
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Option<Value>,
}

/// Budgets per account and API, shared by every poll of a process.
#[derive(Default)]
pub struct Quotas {
    limiters: Mutex<HashMap<(String, &'static str), Arc<DefaultDirectRateLimiter>>>,
}

impl Quotas {
    fn limiter(
        &self,
        account: &str,
        api: &'static str,
        per_minute: u32,
        largest: u32,
    ) -> Arc<DefaultDirectRateLimiter> {
        let mut limiters = self.limiters.lock().unwrap_or_else(|p| p.into_inner());
        limiters
            .entry((account.to_string(), api))
            .or_insert_with(|| Arc::new(RateLimiter::direct(per_minute_quota(per_minute, largest))))
            .clone()
    }
}

/// At most `per_minute` units in any 60 seconds: a burst of about a second's worth, but never
/// less than the API's dearest request (`largest`, or a request could never pass), then one
/// unit per period. A minute then holds the burst and `60 s / period - 1` more, hence the
/// period below, rounded up. (`Quota::per_minute(n)` bursts `n` and refills `n` more within
/// the same minute: up to twice the budget.)
fn per_minute_quota(per_minute: u32, largest: u32) -> Quota {
    let budget = per_minute.max(1);
    let burst = (budget / 60).clamp(largest.clamp(1, budget), budget);
    let period = Duration::from_nanos(60_000_000_000u64.div_ceil(u64::from(budget - burst + 1)));
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(period)
        .unwrap_or(Quota::per_minute(burst))
        .allow_burst(burst)
}

/// The client of one integration's poll.
pub struct Http {
    client: reqwest::Client,
    settings: PollConfig,
    credentials: Credentials,
    config: Arc<Config>,
    quotas: Arc<Quotas>,
    db: std::path::PathBuf,
    requests: AtomicU64,
}

impl Http {
    pub fn new(
        client: reqwest::Client,
        config: Arc<Config>,
        quotas: Arc<Quotas>,
        db: std::path::PathBuf,
        credentials: Credentials,
    ) -> Http {
        Http {
            client,
            settings: config.poll.clone(),
            credentials,
            config,
            quotas,
            db,
            requests: AtomicU64::new(0),
        }
    }

    /// Requests sent so far, retries included.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// GETs a JSON resource. Statuses in `handled` are returned for the caller to act on
    /// (`304`, `404`, `410`, …); other failures are retried or become errors. A `2xx` whose
    /// body is not JSON (a truncated page) is an error, so nothing of it is stored.
    pub async fn get(
        &self,
        url: &str,
        query: &[(&str, String)],
        headers: HeaderMap,
        cost: Cost,
        handled: &[u16],
    ) -> Result<Reply> {
        self.send(
            reqwest::Method::GET,
            url,
            query,
            headers,
            None,
            cost,
            handled,
        )
        .await
    }

    /// POSTs a JSON body, with the same retries and credentials as [`Http::get`].
    pub async fn post(&self, url: &str, body: &Value, cost: Cost) -> Result<Reply> {
        self.send(
            reqwest::Method::POST,
            url,
            &[],
            HeaderMap::new(),
            Some(body),
            cost,
            &[],
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        query: &[(&str, String)],
        headers: HeaderMap,
        body: Option<&Value>,
        cost: Cost,
        handled: &[u16],
    ) -> Result<Reply> {
        let verb = method.as_str().to_string();
        let mut refreshed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.spend(cost).await;
            let mut request = self
                .client
                .request(method.clone(), url)
                .query(query)
                .headers(headers.clone());
            if let Some(body) = body {
                request = request.json(body);
            }
            let token = self.authorization().await?;
            if let Some((name, value)) = &token {
                request = request.header(name, value);
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let retry_in = match request.send().await {
                Err(e) => {
                    let why = if e.is_timeout() {
                        "timed out".to_string()
                    } else {
                        format!("failed: {}", without_url(&e))
                    };
                    Some((None, format!("{verb} {} {why}", shown_url(url))))
                }
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() {
                        return reply(url, response).await;
                    }
                    if status == StatusCode::UNAUTHORIZED
                        && matches!(self.credentials, Credentials::Google { .. })
                    {
                        if refreshed {
                            return Err(
                                self.reauth("the provider refused a freshly refreshed token (401)")
                            );
                        }
                        refreshed = true;
                        self.replace_token(token.map(|(_, v)| v)).await?;
                        continue;
                    }
                    let retry_after = parse_retry_after(response.headers());
                    let headers = response.headers().clone();
                    let body = read_up_to(response, ERROR_BODY_BYTES)
                        .await
                        .map(|(body, _)| String::from_utf8_lossy(&body).into_owned())
                        .unwrap_or_default();
                    // A status the caller handles is its to act on, unless it is a rate limit
                    // (a 403 can be either), which is retried like any other.
                    if handled.contains(&status.as_u16()) && !retryable(status, &body) {
                        let json = serde_json::from_str(&body).ok();
                        return Ok(Reply {
                            status,
                            headers,
                            json,
                        });
                    }
                    if let Some(to) = redirect_target(url, status, &headers) {
                        return Err(anyhow!(
                            "{verb} {} answered {status}, a redirect to {to}: redirects to \
                             another site are not followed with the integration's credentials; \
                             if that is where the API now is, put that address in the config",
                            shown_url(url),
                        ));
                    }
                    if !retryable(status, &body) {
                        return Err(anyhow!(
                            "{verb} {} answered {status}: {}",
                            shown_url(url),
                            snippet(&body, token.as_ref().map(|(_, value)| value))
                        ));
                    }
                    Some((
                        retry_after,
                        format!("{verb} {} answered {status}", shown_url(url)),
                    ))
                }
            };
            let Some((retry_after, why)) = retry_in else {
                continue;
            };
            // Retried for want of an answer (5xx, 429, timeouts, connections): an Unanswered,
            // which the actions on Google Tasks do not count against the event.
            if attempt > self.settings.max_retries {
                let why = format!("{why}; gave up after {attempt} attempts");
                return Err(crate::retry::Unanswered(why).into());
            }
            // A wait longer than retry_max is not sat out here: a cron run would hold its lock
            // (and `serve` a poll) for it. The next run tries again, no sooner than asked.
            if let Some(wait) = retry_after.filter(|wait| *wait > self.settings.retry_max) {
                return Err(crate::retry::Unanswered(format!(
                    "{why}; it asks to wait {}, longer than [poll] retry_max ({}): the next run \
                     tries again",
                    humantime::format_duration(wait),
                    humantime::format_duration(self.settings.retry_max)
                ))
                .into());
            }
            let delay = retry_after.unwrap_or_else(|| {
                crate::retry::full_jitter(
                    self.settings.retry_base,
                    self.settings.retry_max,
                    attempt,
                )
            });
            tracing::info!(
                attempt,
                delayMs = delay.as_millis() as u64,
                "{why}; retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// Waits until the account's budget has room for this request.
    async fn spend(&self, cost: Cost) {
        let Credentials::Google { account, .. } = &self.credentials else {
            return;
        };
        let Some(quota) = self.config.accounts.get(account).map(|a| &a.quota) else {
            return;
        };
        // Each API's budget, and its dearest request (every other API's requests cost 1).
        let (api, per_minute, largest, units) = match cost {
            Cost::Free => return,
            Cost::GmailUnits(n) => ("gmail", quota.gmail_units, WATCH_UNITS, n),
            Cost::SheetsReads(n) => ("sheets", quota.sheets_reads, 1, n),
            Cost::DriveQueries(n) => ("drive", quota.drive_queries, 1, n),
            Cost::CalendarQueries(n) => ("calendar", quota.calendar_queries, 1, n),
        };
        let limiter = self.quotas.limiter(account, api, per_minute, largest);
        let units = NonZeroU32::new(units.min(per_minute.max(1))).unwrap_or(NonZeroU32::MIN);
        if limiter.until_n_ready(units).await.is_err() {
            tracing::warn!(account, api, "a request costs more than the whole budget");
        }
    }

    /// The credentials' header, for a request sent outside this client's retries (an
    /// action's create, which must not be repeated blindly after a lost answer).
    pub async fn auth_header(&self) -> Result<Option<(reqwest::header::HeaderName, HeaderValue)>> {
        self.authorization().await
    }

    async fn authorization(&self) -> Result<Option<(reqwest::header::HeaderName, HeaderValue)>> {
        match &self.credentials {
            Credentials::None => Ok(None),
            Credentials::Header(value, name) => Ok(Some((name.clone(), value.clone()))),
            Credentials::Google { account, token } => {
                // Held across the refresh: concurrent polls of one account wait for it.
                let mut cached = token.0.lock().await;
                let access = match cached
                    .as_ref()
                    .filter(|(_, at)| at.elapsed() < TokenCache::REUSE)
                {
                    Some((access, _)) => access.clone(),
                    None => {
                        let mut store = Store::open_with(&self.db, self.config.store.busy_timeout)?;
                        let access =
                            tokens::access_token(&self.config, &mut store, account).await?;
                        *cached = Some((access.clone(), std::time::Instant::now()));
                        access
                    }
                };
                let value = HeaderValue::from_str(&format!("Bearer {access}"))
                    .context("the access token is not a header value")?;
                Ok(Some((AUTHORIZATION, value)))
            }
        }
    }

    async fn replace_token(&self, rejected: Option<HeaderValue>) -> Result<()> {
        let Credentials::Google { account, token } = &self.credentials else {
            return Ok(());
        };
        let rejected = rejected
            .and_then(|v| {
                v.to_str()
                    .ok()
                    .map(|v| v.trim_start_matches("Bearer ").to_string())
            })
            .unwrap_or_default();
        let mut cached = token.0.lock().await;
        // Requests in flight together meet the same refusal: the first one replaces the token,
        // the others take its replacement.
        if cached
            .as_ref()
            .is_some_and(|(access, _)| *access != rejected)
        {
            return Ok(());
        }
        let mut store = Store::open_with(&self.db, self.config.store.busy_timeout)?;
        let fresh = tokens::replace_rejected(&self.config, &mut store, account, &rejected).await?;
        *cached = Some((fresh, std::time::Instant::now()));
        Ok(())
    }

    /// The exit-4 error for a Google account the provider no longer takes tokens of. The
    /// account is marked as needing re-authorization, as for a refused refresh token, so that
    /// `trmctl auth status` says so and `trmctl auth google` sets its integrations going again.
    fn reauth(&self, why: &str) -> anyhow::Error {
        match &self.credentials {
            Credentials::Google { account, .. } => {
                let source = tokens::refresh_source_of(&self.config, account);
                let marked = Store::open_with(&self.db, self.config.store.busy_timeout).and_then(
                    |mut store| match self.config.accounts.get(account) {
                        Some(cfg) => tokens::record_reauth(&mut store, account, cfg),
                        None => Ok(()),
                    },
                );
                if let Err(e) = marked {
                    tracing::error!(account = %account, error = %format!("{e:#}"), "marking the account as needing re-authorization failed");
                }
                tokens::reauth_error(account, why, &source).into()
            }
            _ => Exit::new(Code::Failure, why.to_string()).into(),
        }
    }
}

async fn reply(url: &str, response: reqwest::Response) -> Result<Reply> {
    let status = response.status();
    let headers = response.headers().clone();
    // A declared length over the limit needs no reading to be refused.
    let declared_over = response
        .content_length()
        .is_some_and(|n| n > MAX_ANSWER_BYTES as u64);
    let (bytes, more) = if declared_over {
        (Vec::new(), true)
    } else {
        read_up_to(response, MAX_ANSWER_BYTES)
            .await
            .with_context(|| format!("GET {}", shown_url(url)))?
    };
    if more {
        anyhow::bail!(
            "GET {} answered more than the {} MiB trmctl reads of one answer; ask for less \
             at a time (a smaller page size, or a narrower sheet range)",
            shown_url(url),
            MAX_ANSWER_BYTES >> 20
        );
    }
    let json = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "GET {} answered {status} with a malformed JSON body",
                shown_url(url)
            )
        })?)
    };
    Ok(Reply {
        status,
        headers,
        json,
    })
}

/// The largest answer a poll reads (after gzip): a page is held whole while it is parsed, so
/// an API that ignores the page size must not take all the memory.
const MAX_ANSWER_BYTES: usize = 32 << 20;

/// How much of a failed answer is read: its start goes into the error.
const ERROR_BODY_BYTES: usize = 64 << 10;

/// At most `limit` bytes of a response's body, and whether it held more (left unread).
async fn read_up_to(mut response: reqwest::Response, limit: usize) -> Result<(Vec<u8>, bool)> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| anyhow!("the body was cut off: {}", without_url(&e)))?
    {
        let room = limit - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// Whether a failed status is worth another attempt.
fn retryable(status: StatusCode, body: &str) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
        || (status == StatusCode::FORBIDDEN
            && (body.contains("rateLimitExceeded") || body.contains("userRateLimitExceeded")))
}

/// `Retry-After` in seconds or as an HTTP date.
pub fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate_parse(text)?;
    at.duration_since(std::time::SystemTime::now()).ok()
}

fn httpdate_parse(text: &str) -> Option<std::time::SystemTime> {
    chrono::DateTime::parse_from_rfc2822(text)
        .ok()
        .map(std::time::SystemTime::from)
}

/// A URL as errors and logs show it: without its query (which may carry an API key) and
/// without user or password.
/// Where a redirect that was not followed (one to another site, see the poll client's
/// redirect policy) points, shown without its query; `None` for any other answer.
fn redirect_target(url: &str, status: StatusCode, headers: &HeaderMap) -> Option<String> {
    let location = headers.get(reqwest::header::LOCATION)?;
    if !status.is_redirection() {
        return None;
    }
    let target = std::str::from_utf8(location.as_bytes())
        .ok()
        .and_then(|to| reqwest::Url::parse(url).ok()?.join(to).ok());
    Some(target.map_or_else(
        || "an address that does not parse".to_string(),
        |to| shown_url(to.as_str()),
    ))
}

pub fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.set_query(None);
            parsed.set_fragment(None);
            parsed.to_string()
        }
        Err(_) => "(a URL that does not parse)".to_string(),
    }
}

fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), &shown_url(url.as_str()));
    }
    text
}

/// The start of an error body, on one line, without control characters or the credential the
/// request carried (an API may echo the header it refused).
fn snippet(body: &str, credential: Option<&HeaderValue>) -> String {
    // One line, and no control characters: a terminal would run an escape sequence.
    let mut line: String = body
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(char::is_control, "\u{fffd}");
    for secret in credential.map(secrets_in).unwrap_or_default() {
        line = line.replace(&secret, "[redacted]");
    }
    match line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// The texts an answer could echo of a credential header, longest first: the whole value, its
/// words long enough to be a key (`Bearer` and `Basic` stay), a Basic header's decoded
/// `user:password` and password, and each of those as JSON may escape it (`\/`).
fn secrets_in(credential: &HeaderValue) -> Vec<String> {
    use base64::Engine as _;
    let value = String::from_utf8_lossy(credential.as_bytes())
        .trim()
        .to_string();
    let mut secrets = vec![value.clone()];
    secrets.extend(
        value
            .split_whitespace()
            .filter(|w| w.len() >= 8)
            .map(str::to_string),
    );
    if let Some(encoded) = value.strip_prefix("Basic ")
        && let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim())
    {
        let pair = String::from_utf8_lossy(&decoded).into_owned();
        if let Some((_, password)) = pair.split_once(':').filter(|(_, p)| p.len() >= 4) {
            secrets.push(password.to_string());
        }
        secrets.push(pair);
    }
    let escaped: Vec<String> = secrets
        .iter()
        .filter(|s| s.contains('/'))
        .map(|s| s.replace('/', "\\/"))
        .collect();
    secrets.extend(escaped);
    secrets.retain(|s| !s.is_empty());
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_snippets_leave_out_the_credential_the_provider_echoes() {
        let bearer = HeaderValue::from_static("Bearer CRM-TOPSECRET-TOKEN");
        let body = r#"{"error": "invalid credentials", "received": "Bearer CRM-TOPSECRET-TOKEN"}"#;
        let shown = snippet(body, Some(&bearer));
        assert_eq!(
            shown,
            r#"{"error": "invalid credentials", "received": "[redacted]"}"#
        );
        let shown = snippet(r#"{"token": "CRM-TOPSECRET-TOKEN"}"#, Some(&bearer));
        assert!(!shown.contains("TOPSECRET"), "{shown}");
        let key = HeaderValue::from_static("k-0123456789");
        assert_eq!(
            snippet("bad key k-0123456789", Some(&key)),
            "bad key [redacted]"
        );
        assert_eq!(snippet("not  found\n", None), "not found");
        assert_eq!(snippet("\u{1b}[31mred", None), "\u{fffd}[31mred");
        // Escaped as some JSON encoders do, and a Basic header's decoded parts.
        let slashed = HeaderValue::from_static("Bearer ab/cd+ef/gh==");
        assert_eq!(
            snippet(r#"{"got": "ab\/cd+ef\/gh=="}"#, Some(&slashed)),
            r#"{"got": "[redacted]"}"#
        );
        // "me:hunter22"
        let basic = HeaderValue::from_static("Basic bWU6aHVudGVyMjI=");
        let shown = snippet("user me:hunter22 refused; password hunter22", Some(&basic));
        assert!(!shown.contains("hunter22"), "{shown}");
    }

    #[test]
    fn urls_are_shown_without_credentials_or_query() {
        assert_eq!(
            shown_url("https://user:pw@api.example.com/v1/items?api_key=k#x"),
            "https://api.example.com/v1/items"
        );
        assert_eq!(
            shown_url("https://key@api.example.com/"),
            "https://api.example.com/"
        );
        assert_eq!(shown_url("not a url"), "(a URL that does not parse)");
    }

    #[test]
    fn a_quota_never_lets_more_than_its_budget_through_in_any_minute() {
        use governor::clock::FakeRelativeClock;
        // (budget, largest request, the requests' cost)
        let cases = [
            (1, 1, 1),
            (3, 1, 1),
            (60, 1, 1),
            (600, 1, 1),
            (12000, 1, 1),
            (6000, WATCH_UNITS, 5),
            (6000, WATCH_UNITS, WATCH_UNITS),
            (3000, WATCH_UNITS, WATCH_UNITS),
            (50, WATCH_UNITS, 50),
        ];
        for (budget, largest, cost) in cases {
            let clock = FakeRelativeClock::default();
            let quota = per_minute_quota(budget, largest);
            let limiter = RateLimiter::direct_with_clock(quota, clock.clone());
            let units = NonZeroU32::new(cost).unwrap();
            // Take every request the moment it is allowed, for three minutes, in 1 ms steps;
            // the dearest request always fits.
            let mut taken_at = Vec::new();
            for step in 0..180_000u64 {
                while limiter.check_n(units).expect("fits the burst").is_ok() {
                    taken_at.extend(std::iter::repeat_n(step, cost as usize));
                }
                clock.advance(Duration::from_millis(1));
            }
            // Any window of 60 s (60,000 steps) holds at most the budget…
            let (mut most, mut start) = (0, 0);
            for (end, &at) in taken_at.iter().enumerate() {
                while taken_at[start] + 60_000 <= at {
                    start += 1;
                }
                most = most.max(end + 1 - start);
            }
            assert!(
                most <= budget as usize,
                "{budget}/{cost}: {most} in a minute"
            );
            // …and a realistic budget is used: three minutes give nearly three budgets.
            if budget >= 600 {
                let used = taken_at.len() as u32;
                assert!(
                    used >= 3 * budget * 9 / 10,
                    "{budget}/{cost}: {used} in three minutes"
                );
            }
        }
    }

    #[test]
    fn retry_rules() {
        assert!(retryable(StatusCode::TOO_MANY_REQUESTS, ""));
        assert!(retryable(StatusCode::BAD_GATEWAY, ""));
        assert!(retryable(
            StatusCode::FORBIDDEN,
            r#"{"error":{"errors":[{"reason":"userRateLimitExceeded"}]}}"#
        ));
        assert!(!retryable(
            StatusCode::FORBIDDEN,
            r#"{"error":{"errors":[{"reason":"forbidden"}]}}"#
        ));
        assert!(!retryable(StatusCode::NOT_FOUND, ""));
    }

    #[test]
    fn retry_after_in_seconds_or_a_date() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(parse_retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(
            parse_retry_after(&headers),
            None,
            "a date in the past means now"
        );
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(parse_retry_after(&headers), None);
    }
}
