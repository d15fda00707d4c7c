//! `google-task`: creates a Google Task whose notes end with the marker line
//! `trmctl-event:{eventId} trmctl-action:{action}`. Before creating, the task list is searched
//! for the marker, so a task created just before a crash (or whose answer was lost) is found
//! and recorded instead of created again.
//!
//! Updates: a task follows its source item (the causing event's integration and `externalId`).
//! A later version of the same email, row or record (a `sheetRowUpdated` after the
//! `sheetRowAdded` of that row) updates the task instead of creating another, last write wins
//! with a version check: the task is read (`GET`, its `etag` and `updated`); if someone changed
//! it after trmctl's last write and later than the event occurred, the remote edit wins and the
//! conflict is logged; otherwise it is `PATCH`ed with `If-Match: {etag}`. A `412` (someone wrote
//! in between) is logged and the read-compare-patch tried once more, then the event is skipped.
//! The notes keep the marker of the event that created the task, so loop prevention still
//! works. (If trmctl dies between a `PATCH` and recording it, the retry sees its own write as a
//! remote edit and skips: the task already holds that version.)

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, IF_MATCH};
use serde_json::{Value, json};

use super::config::{ActionConfig, render};
use crate::event::Event;
use crate::poll::http::{Cost, Http};
use crate::store::ActionVersion;

/// The marker that ties a task to the event that caused it and the action that made it (two
/// actions on one event each make their own task).
fn marker(action: &str, event_id: &str) -> String {
    format!("trmctl-event:{event_id} trmctl-action:{action}")
}

/// A task as trmctl wrote (or read) it: its id, `etag` and `updated`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub id: String,
    pub etag: Option<String>,
    pub updated: Option<String>,
}

impl Written {
    fn from_json(task: &Value) -> Option<Written> {
        let text = |key: &str| task.get(key).and_then(Value::as_str).map(str::to_string);
        Some(Written {
            id: text("id")?,
            etag: text("etag"),
            updated: text("updated"),
        })
    }
}

/// What an update did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// The task was patched; its new version.
    Patched(Written),
    /// Not written: the remote edit won, the task is gone, or the etag race was lost twice.
    Skipped,
}

fn parse_time(text: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A write Google did not take. A gateway's `502`/`503`/`504` or a rate limit's `429` says
/// nothing about the task, so it uses up none of the event's attempts (a `503` to a create
/// that went through anyway is found by its marker on the retry).
fn write_refused(what: &str, status: StatusCode) -> anyhow::Error {
    let message = format!("{what} answered {status}");
    if crate::retry::gateway_unanswered(status) || status == StatusCode::TOO_MANY_REQUESTS {
        crate::retry::Unanswered(message).into()
    } else {
        anyhow!(message)
    }
}

pub struct GoogleTask {
    pub http: Http,
    pub client: reqwest::Client,
}

impl GoogleTask {
    /// Creates the task (or finds the one created earlier).
    pub async fn create(&self, cfg: &ActionConfig, event: &Event) -> Result<Written> {
        let marker = marker(&cfg.name, &event.event_id.to_string());
        let list = format!(
            "{}/tasks/v1/lists/{}/tasks",
            cfg.base(),
            urlencoding(&cfg.tasklist)
        );
        if let Some(task) = self.find(&list, &marker).await? {
            tracing::info!(action = %cfg.name, task = %task.id, "the task was created before; recording it");
            return Ok(task);
        }
        let mut request = self
            .client
            .post(&list)
            .timeout(cfg.timeout)
            .json(&body(cfg, event, &marker));
        if let Some((name, value)) = self.http.auth_header().await? {
            request = request.header(name, value);
        }
        let response = request.send().await.context("POST the task")?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(write_refused("creating the task", status));
        }
        Written::from_json(&body).context("the created task has no `id`")
    }

    /// Updates the task that follows the event's source item, last write wins: see the
    /// module's comment.
    pub async fn update(
        &self,
        cfg: &ActionConfig,
        event: &Event,
        version: &ActionVersion,
    ) -> Result<Update> {
        let url = format!(
            "{}/tasks/v1/lists/{}/tasks/{}",
            cfg.base(),
            urlencoding(&cfg.tasklist),
            urlencoding(&version.external_id)
        );
        let task = &version.external_id;
        let body = body(cfg, event, &marker(&cfg.name, &version.first_event_id));
        for attempt in 1..=2 {
            let reply = self
                .http
                .get(&url, &[], HeaderMap::new(), Cost::Free, &[404, 410])
                .await?;
            if matches!(reply.status.as_u16(), 404 | 410) {
                tracing::warn!(action = %cfg.name, task = %task,
                    "the task is gone (deleted remotely); not updating it");
                return Ok(Update::Skipped);
            }
            let remote = reply
                .json
                .as_ref()
                .and_then(Written::from_json)
                .context("the task read has no `id`")?;
            let remote_at = parse_time(remote.updated.as_deref());
            let ours_at = parse_time(version.remote_updated.as_deref());
            let changed_remotely = match (remote_at, ours_at) {
                (Some(remote_at), Some(ours_at)) => remote_at > ours_at,
                _ => remote.etag.is_some() && remote.etag != version.etag,
            };
            if changed_remotely && remote_at.is_some_and(|at| at > event.occurred_at) {
                tracing::warn!(action = %cfg.name, task = %task,
                    remoteUpdated = remote.updated.as_deref().unwrap_or_default(),
                    ourLastWrite = version.remote_updated.as_deref().unwrap_or_default(),
                    eventOccurredAt = %crate::event::format_time(&event.occurred_at),
                    "conflict: the task was edited remotely after the event occurred; \
                     the remote edit wins, not updating");
                return Ok(Update::Skipped);
            }
            let mut request = self.client.patch(&url).timeout(cfg.timeout).json(&body);
            if let Some(etag) = &remote.etag {
                request = request.header(IF_MATCH, etag);
            }
            if let Some((name, value)) = self.http.auth_header().await? {
                request = request.header(name, value);
            }
            let response = request.send().await.context("PATCH the task")?;
            let status = response.status();
            if status == StatusCode::PRECONDITION_FAILED {
                tracing::warn!(action = %cfg.name, task = %task, attempt,
                    remoteUpdated = remote.updated.as_deref().unwrap_or_default(),
                    eventOccurredAt = %crate::event::format_time(&event.occurred_at),
                    "conflict: the task changed between reading and patching it (412)");
                continue;
            }
            let answer: Value = response.json().await.unwrap_or(Value::Null);
            if !status.is_success() {
                return Err(write_refused("updating the task", status));
            }
            let written = Written::from_json(&answer).unwrap_or(Written {
                id: task.clone(),
                etag: None,
                updated: None,
            });
            return Ok(Update::Patched(written));
        }
        tracing::warn!(action = %cfg.name, task = %task,
            "giving up on updating the task after a second conflict (412); skipping the event");
        Ok(Update::Skipped)
    }

    /// The task whose notes carry the marker on a line of its own, paging through the list.
    async fn find(&self, list: &str, marker: &str) -> Result<Option<Written>> {
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
                // A whole line: action `tod`'s marker is a prefix of action `todo`'s.
                if notes.lines().any(|line| line.trim() == marker)
                    && let Some(found) = Written::from_json(task)
                {
                    return Ok(Some(found));
                }
            }
            match body.get("nextPageToken").and_then(Value::as_str) {
                Some(token) if !token.is_empty() => page = Some(token.to_string()),
                _ => return Ok(None),
            }
        }
    }
}

/// The task's title and notes for an event; the notes end with `marker`.
fn body(cfg: &ActionConfig, event: &Event, marker: &str) -> Value {
    let title = render(cfg.title.as_deref().unwrap_or_default(), event, false);
    let notes = match cfg.notes.as_deref() {
        Some(t) => format!("{}\n\n{marker}", render(t, event, false)),
        None => marker.to_string(),
    };
    json!({"title": title, "notes": notes})
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
