//! `slack-message`: posts with `chat.postMessage` as the bot, tagging the message with
//! metadata (`event_type = "trmctl_action"`, the event id in its payload) so that it is
//! recognised when Slack sends it back. A retry (any attempt after the first was counted, even
//! one cut short by a crash) first looks for that tag in the channel's history since the event
//! arrived (`conversations.history`, which needs the bot's `channels:history` scope), so a
//! post whose answer was lost is recorded, not posted twice.

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

    /// The `ts` of the message tagged with this event's id and this action's name, looked for
    /// in the channel's history since shortly before the event arrived (no attempt can have
    /// posted before), page by page.
    async fn find_posted(&self, cfg: &ActionConfig, event: &Event) -> Result<Option<String>> {
        let channel = cfg.channel.as_deref().unwrap_or_default();
        let oldest = (event.received_at.timestamp() - CLOCK_SKEW_SECS).to_string();
        let mut cursor = String::new();
        for _ in 0..HISTORY_PAGES {
            let mut query = vec![
                ("channel", channel),
                ("limit", "200"),
                ("include_all_metadata", "true"),
                ("oldest", &oldest),
            ];
            if !cursor.is_empty() {
                query.push(("cursor", &cursor));
            }
            let reply = self.history_page(cfg, &query).await?;
            if let Some(ts) = tagged(&reply, event, &cfg.name) {
                return Ok(Some(ts));
            }
            match reply
                .pointer("/response_metadata/next_cursor")
                .and_then(Value::as_str)
            {
                Some(next) if !next.is_empty() => cursor = next.to_string(),
                _ => return Ok(None),
            }
        }
        bail!(
            "could not tell whether an earlier attempt posted: more than {} messages in {channel} \
             since the event arrived",
            HISTORY_PAGES * 200
        )
    }

    async fn history_page(&self, cfg: &ActionConfig, query: &[(&str, &str)]) -> Result<Value> {
        let response = self
            .client
            .get(format!("{}/api/conversations.history", cfg.base()))
            .bearer_auth(&self.token)
            .timeout(cfg.timeout)
            .query(query)
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
        Ok(reply)
    }
}

/// How long before the event's arrival a post is looked for: Slack's clock and this one differ.
const CLOCK_SKEW_SECS: i64 = 300;

/// The most pages of history (200 messages each) looked through for an earlier post.
const HISTORY_PAGES: usize = 50;

/// The `ts` of the message on a history page tagged with this event's id and action's name.
fn tagged(page: &Value, event: &Event, action: &str) -> Option<String> {
    let id = event.event_id.to_string();
    page.get("messages")?
        .as_array()?
        .iter()
        .find(|m| {
            let tag = |key: &str| {
                m.pointer(&format!("/metadata/event_payload/{key}"))
                    .and_then(Value::as_str)
            };
            m.pointer("/metadata/event_type").and_then(Value::as_str) == Some(METADATA_TYPE)
                && tag("eventId") == Some(id.as_str())
                && tag("action") == Some(action)
        })
        .and_then(|m| m.get("ts")?.as_str())
        .map(str::to_string)
}
