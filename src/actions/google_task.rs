//! `google-task`: creates a Google Task whose notes end with the marker
//! `trmctl-event:{eventId}`. Before creating, the task list is searched for the marker, so a
//! task created just before a crash (or whose answer was lost) is found and recorded instead
//! of created again.

use anyhow::{Context, Result, bail};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use super::config::{ActionConfig, render};
use crate::event::Event;
use crate::poll::http::{Cost, Http};

/// The marker that ties a task to the event that caused it.
pub fn marker(event: &Event) -> String {
    format!("trmctl-event:{}", event.event_id)
}

pub struct GoogleTask {
    pub http: Http,
    pub client: reqwest::Client,
}

impl GoogleTask {
    /// Creates the task (or finds the one created earlier); returns its id.
    pub async fn create(&self, cfg: &ActionConfig, event: &Event) -> Result<String> {
        let marker = marker(event);
        let list = format!(
            "{}/tasks/v1/lists/{}/tasks",
            cfg.base(),
            urlencoding(&cfg.tasklist)
        );
        if let Some(id) = self.find(&list, &marker).await? {
            tracing::info!(action = %cfg.name, task = %id, "the task was created before; recording it");
            return Ok(id);
        }
        let title = render(cfg.title.as_deref().unwrap_or_default(), event, false);
        let notes = match cfg.notes.as_deref() {
            Some(t) => format!("{}\n\n{marker}", render(t, event, false)),
            None => marker.clone(),
        };
        let mut request = self
            .client
            .post(&list)
            .timeout(cfg.timeout)
            .json(&json!({"title": title, "notes": notes}));
        if let Some((name, value)) = self.http.auth_header().await? {
            request = request.header(name, value);
        }
        let response = request.send().await.context("POST the task")?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("creating the task answered {status}");
        }
        body.get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .context("the created task has no `id`")
    }

    /// The id of the task whose notes carry the marker, paging through the whole list.
    async fn find(&self, list: &str, marker: &str) -> Result<Option<String>> {
        let mut page: Option<String> = None;
        loop {
            let mut query = vec![
                ("showCompleted", "true".to_string()),
                ("showHidden", "true".to_string()),
                ("maxResults", "100".to_string()),
            ];
            if let Some(token) = &page {
                query.push(("pageToken", token.clone()));
            }
            let reply = self
                .http
                .get(list, &query, HeaderMap::new(), Cost::Free, &[])
                .await?;
            let body = reply.json.unwrap_or(Value::Null);
            let items = body.get("items").and_then(Value::as_array);
            for task in items.into_iter().flatten() {
                let notes = task
                    .get("notes")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if notes.contains(marker)
                    && let Some(id) = task.get("id").and_then(Value::as_str)
                {
                    return Ok(Some(id.to_string()));
                }
            }
            match body.get("nextPageToken").and_then(Value::as_str) {
                Some(token) if !token.is_empty() => page = Some(token.to_string()),
                _ => return Ok(None),
            }
        }
    }
}

/// Percent-encodes a path segment.
fn urlencoding(segment: &str) -> String {
    let mut out = String::new();
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'@') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
