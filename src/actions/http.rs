//! `http`: POSTs a JSON body from a template. Every attempt of one action for one event carries
//! the same `Idempotency-Key`, `{eventId}:{action}`, so an endpoint that honours it acts once
//! even when an answer was lost and the call retried. The external id is the answer's `id`,
//! else that key (never something another item could also be called, such as a status code:
//! an event with that id would look like trmctl's own and trigger nothing).

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::config::{ActionConfig, render};
use crate::event::Event;

pub struct HttpCall {
    pub client: reqwest::Client,
}

impl HttpCall {
    pub async fn create(&self, cfg: &ActionConfig, event: &Event) -> Result<String> {
        let body = render(cfg.body.as_deref().unwrap_or_default(), event, true);
        let url = cfg.url.as_deref().unwrap_or_default();
        let key = format!("{}:{}", event.event_id, cfg.name);
        let response = self
            .client
            .post(url)
            .timeout(cfg.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", &key)
            .body(body)
            .send()
            .await
            // The URL may carry a token; errors are logged and stored.
            .map_err(reqwest::Error::without_url)
            .context("POST the action's URL")?;
        let status = response.status();
        if crate::retry::gateway_unanswered(status) {
            return Err(crate::retry::Unanswered(format!("the endpoint answered {status}")).into());
        }
        if !status.is_success() {
            bail!("the endpoint answered {status}");
        }
        let reply: Value = response.json().await.unwrap_or(Value::Null);
        Ok(match reply.get("id") {
            Some(Value::String(id)) => id.clone(),
            Some(Value::Number(id)) => id.to_string(),
            _ => key,
        })
    }
}
