//! `slack-message`: posts with `chat.postMessage` as the bot, tagging the message with
//! metadata (`event_type = "trmctl_action"`) so that it is recognised when Slack sends it back.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::config::{ActionConfig, render};
use crate::event::Event;

/// The metadata event type of messages trmctl posts.
pub const METADATA_TYPE: &str = "trmctl_action";

pub struct SlackMessage {
    pub client: reqwest::Client,
    pub token: String,
}

impl SlackMessage {
    /// Posts the message; returns its `ts`.
    pub async fn create(&self, cfg: &ActionConfig, event: &Event) -> Result<String> {
        let body = json!({
            "channel": cfg.channel,
            "text": render(cfg.text.as_deref().unwrap_or_default(), event, false),
            "metadata": {
                "event_type": METADATA_TYPE,
                "event_payload": {"eventId": event.event_id.to_string(), "action": cfg.name},
            },
        });
        let response = self
            .client
            .post(format!("{}/api/chat.postMessage", cfg.base()))
            .bearer_auth(&self.token)
            .timeout(cfg.timeout)
            .json(&body)
            .send()
            .await
            .context("POST chat.postMessage")?;
        let status = response.status();
        if !status.is_success() {
            bail!("chat.postMessage answered {status}");
        }
        let reply: Value = response
            .json()
            .await
            .context("chat.postMessage answered no JSON")?;
        if reply.get("ok").and_then(Value::as_bool) != Some(true) {
            let error = reply
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            bail!("chat.postMessage failed: {error}");
        }
        reply
            .get("ts")
            .and_then(Value::as_str)
            .map(str::to_string)
            .context("chat.postMessage answered no `ts`")
    }
}
