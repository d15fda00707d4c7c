//! The `http` sink: POSTs each event's JSON (the shape of `events show --json`) signed with
//! Standard Webhooks headers, so TRM-OS core (or any receiver built on a Standard Webhooks
//! library) can verify it came from us and drop a repeat by its `webhook-id`, the event id.
//!
//! `2xx` is delivered. `410 Gone` disables the sink. `429`, and `503` with `Retry-After`, are
//! the receiver asking us to wait. Anything else, a redirect included (the client does not
//! follow them: a signed event should not wander to another host), is a failed attempt.

use std::fmt;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;

use super::{Outcome, SinkConfig, tail};
use crate::event::Event;
use crate::webhooks::signature::sign_standard_webhooks;

/// How long connecting may take, within the sink's `timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of an error answer read for `last_error`.
const ERROR_BODY_BYTES: usize = 2048;

/// The client every `http` sink shares: no redirects, a connect timeout, our user agent.
pub fn client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("trmctl/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the sinks' HTTP client")
}

/// A ready `http` sink.
pub struct HttpSink {
    client: reqwest::Client,
    url: reqwest::Url,
    /// The `whsec_` signing secret.
    secret: String,
    timeout: Duration,
}

impl fmt::Debug for HttpSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSink")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HttpSink {
    /// Reads the sink's secret and checks that it can sign.
    pub fn new(cfg: &SinkConfig, client: &reqwest::Client) -> Result<HttpSink> {
        let owner = cfg.secret_owner();
        let (Some(url), Some(secret)) = (&cfg.url, &cfg.secret) else {
            bail!("sink {} needs `url` and `secret`", cfg.name);
        };
        let url = reqwest::Url::parse(url)
            .with_context(|| format!("sink {}: `url` is not a valid URL", cfg.name))?;
        let secret = secret.resolve(&owner, "secret")?;
        if sign_standard_webhooks(&secret, "check", 0, b"").is_none() {
            bail!(
                "secret `{owner}/secret` is not a Standard Webhooks signing key \
                 (`whsec_` followed by base64)"
            );
        }
        Ok(HttpSink {
            client: client.clone(),
            url,
            secret,
            timeout: cfg.timeout,
        })
    }

    /// One signed POST of one event.
    pub async fn send(&self, event: &Event) -> Outcome {
        let body = match serde_json::to_vec(event) {
            Ok(body) => body,
            Err(e) => return Outcome::Failed(format!("the event does not serialize: {e}")),
        };
        let id = event.event_id.to_string();
        let timestamp = chrono::Utc::now().timestamp();
        let Some(signature) = sign_standard_webhooks(&self.secret, &id, timestamp, &body) else {
            return Outcome::Failed("the signing secret is not a `whsec_` key".into());
        };
        let request = self
            .client
            .post(self.url.clone())
            .timeout(self.timeout)
            .header(CONTENT_TYPE, "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body);
        match request.send().await {
            Ok(response) => answer(response).await,
            Err(e) => Outcome::Unanswered(describe(&e, self.timeout)),
        }
    }
}

/// What the receiver's answer means for the event.
async fn answer(response: reqwest::Response) -> Outcome {
    let status = response.status();
    if status.is_success() {
        return Outcome::Delivered;
    }
    let retry_after = crate::poll::http::parse_retry_after(response.headers());
    let has_retry_after = response
        .headers()
        .contains_key(reqwest::header::RETRY_AFTER);
    let body = error_body(response).await;
    let error = if body.is_empty() {
        format!("the receiver answered {status}")
    } else {
        format!("the receiver answered {status}: {body}")
    };
    match status {
        StatusCode::GONE => Outcome::Gone(error),
        StatusCode::TOO_MANY_REQUESTS => Outcome::Throttled { error, retry_after },
        StatusCode::SERVICE_UNAVAILABLE if has_retry_after => {
            Outcome::Throttled { error, retry_after }
        }
        s if crate::retry::gateway_unanswered(s) => Outcome::Unanswered(error),
        s if s.is_redirection() => Outcome::Failed(format!(
            "{error} (redirects are not followed: set `url` to the final address)"
        )),
        _ => Outcome::Failed(error),
    }
}

/// The start of an error answer, on one line (read up to a few KiB, never the whole body).
async fn error_body(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < ERROR_BODY_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(ERROR_BODY_BYTES);
    tail(&String::from_utf8_lossy(&bytes))
}

/// A transport error with its causes, without the URL (it may carry credentials).
fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!(
            "no answer within {} (the sink's timeout)",
            humantime::format_duration(timeout)
        );
    }
    let mut text = "sending failed".to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    tail(&text)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;

    fn sink_with_secret(value: &str) -> Result<HttpSink> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, value).unwrap();
        let text = format!(
            "[[sinks]]\nname = \"core\"\nkind = \"http\"\nurl = \"http://127.0.0.1:9/x\"\n\
             secret = \"file:{}\"\n",
            file.display()
        );
        let config = Config::parse(&text, Path::new("t.toml")).unwrap();
        HttpSink::new(&config.sinks[0], &client().unwrap())
    }

    #[tokio::test]
    async fn a_gateway_saying_the_receiver_is_down_is_no_answer_and_a_500_is_one() {
        let reply = |status: u16, retry_after: Option<&str>| {
            let mut reply = axum::http::Response::builder().status(status);
            if let Some(after) = retry_after {
                reply = reply.header("retry-after", after);
            }
            reqwest::Response::from(reply.body("down").unwrap())
        };
        for status in [502, 503, 504] {
            let outcome = answer(reply(status, None)).await;
            assert!(
                matches!(outcome, Outcome::Unanswered(_)),
                "{status}: {outcome:?}"
            );
        }
        let throttled = answer(reply(503, Some("5"))).await;
        assert!(
            matches!(throttled, Outcome::Throttled { .. }),
            "{throttled:?}"
        );
        for status in [400, 401, 500] {
            let outcome = answer(reply(status, None)).await;
            assert!(
                matches!(outcome, Outcome::Failed(_)),
                "{status}: {outcome:?}"
            );
        }
    }

    #[test]
    fn a_secret_that_cannot_sign_is_refused_without_echo() {
        assert!(sink_with_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
        let err = format!("{:#}", sink_with_secret("not a key: hunter2!").unwrap_err());
        assert!(
            err.contains("`sinks.core/secret` is not a Standard Webhooks signing key"),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
        let debug = format!(
            "{:?}",
            sink_with_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        );
        assert!(!debug.contains("MfKQ9r8"), "{debug}");
    }
}
