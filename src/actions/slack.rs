//! `slack-message`: posts with `chat.postMessage` as the bot, tagging the message with
//! metadata (`event_type = "trmctl_action"`, the event id in its payload) so that it is
//! recognised when Slack sends it back. A retry (any attempt after the first was counted, even
//! one cut short by a crash) first looks for that tag in the channel's recent history
//! (`conversations.history`, which needs the bot's `channels:history` scope), so a post whose
//! answer was lost is recorded, not posted twice.

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
    /// Posts the message, or on a retry finds the one an earlier attempt posted; its `ts`.
    pub async fn create(&self, cfg: &ActionConfig, event: &Event, retry: bool) -> Result<String> {
        if retry && let Some(ts) = self.find_posted(cfg, event).await? {
            return Ok(ts);
        }
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
        if crate::retry::gateway_unanswered(status) {
            return Err(
                crate::retry::Unanswered(format!("chat.postMessage answered {status}")).into(),
            );
        }
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

    /// The `ts` of a message in the channel's recent history tagged with this event's id and
    /// this action's name.
    async fn find_posted(&self, cfg: &ActionConfig, event: &Event) -> Result<Option<String>> {
        let channel = cfg.channel.as_deref().unwrap_or_default();
        let response = self
            .client
            .get(format!("{}/api/conversations.history", cfg.base()))
            .bearer_auth(&self.token)
            .timeout(cfg.timeout)
            .query(&[
                ("channel", channel),
                ("limit", "200"),
                ("include_all_metadata", "true"),
            ])
            .send()
            .await
            .context("GET conversations.history")?;
        let reply: Value = response
            .json()
            .await
            .context("conversations.history answered no JSON")?;
        if reply.get("ok").and_then(Value::as_bool) != Some(true) {
            let error = reply
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            bail!("conversations.history failed: {error}");
        }
        let id = event.event_id.to_string();
        let messages = reply
            .get("messages")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        Ok(messages
            .iter()
            .find(|m| {
                let tag = |key: &str| {
                    m.pointer(&format!("/metadata/event_payload/{key}"))
                        .and_then(Value::as_str)
                };
                m.pointer("/metadata/event_type").and_then(Value::as_str) == Some(METADATA_TYPE)
                    && tag("eventId") == Some(id.as_str())
                    && tag("action") == Some(cfg.name.as_str())
            })
            .and_then(|m| m.get("ts").and_then(Value::as_str))
            .map(str::to_string))
    }
}
