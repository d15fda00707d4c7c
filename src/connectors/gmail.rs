//! `gmail`: messages matching the integration's `query`, one `emailReceived` event each.
//!
//! Full sync: `users.getProfile` first, so its `historyId` is recorded before any message is
//! listed (a message arriving during the sync is then caught by the next incremental run),
//! then `users.messages.list?q=QUERY`, page by page, each message fetched with
//! `messages.get?format=metadata` (a few at once) and each page committed with the cursor
//! `{phase: "full", historyId, pageToken: NEXT}`, so a crash resumes at the next page; the
//! last page turns the cursor `incremental`. Incremental: `users.history.list` from the
//! cursor's `historyId` (`historyTypes=messageAdded`), the added messages fetched the same
//! way; the last page stores the response's `historyId`. A `404` (history too old) starts a
//! full re-sync; its repeats are no-ops because a message's dedupe key is
//! `gmail:EMAIL:MESSAGE_ID`. A message deleted between the list and the get (`404`) is
//! skipped.
//!
//! The query and `history.list`: history cannot be searched, so each added message is checked
//! against `query` after it is fetched. A query made only of label terms (`in:inbox`,
//! `-category:promotions`, `is:unread`, `in:sent`, `is:starred`, `is:important`, …) is
//! evaluated locally on the message's `labelIds`, at no extra cost. Any other query
//! (`from:`, `subject:`, words, `OR`, parentheses, …) is asked of Gmail itself: one
//! `messages.list?q=(QUERY) after:A before:B` over the time span of the page's added messages
//! (by `internalDate`), keeping only the added messages it returns. Either way, like
//! `messages.list`, spam and trash are left out unless the query names them. Labels are read
//! when the message is fetched: a message archived before the poll does not match
//! `in:inbox`, and one that gains a matching label later is not picked up (only additions are
//! followed).

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use anyhow::{Context as _, Result, anyhow};
use chrono::{DateTime, Utc};
use reqwest::Url;
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{PageTokens, SchemaError, page_token, required_str, subject, unix_time};
use crate::event::{Event, EventType, now};
use crate::poll::context::Context;
use crate::poll::http::{Cost, Http};

const DEFAULT_BASE: &str = "https://gmail.googleapis.com";
/// Messages fetched at once within a page.
const CONCURRENCY: usize = 8;
/// Largest page `messages.list` and `history.list` allow.
const PAGE_SIZE: &str = "500";
/// Quota units (Gmail API reference).
const GET_UNITS: u32 = 5;
const LIST_UNITS: u32 = 5;
const HISTORY_UNITS: u32 = 2;
const PROFILE_UNITS: u32 = 1;
/// Slack on each side of the `after:`/`before:` window of a query check.
const WINDOW_SLACK_SECS: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Phase {
    Full,
    Incremental,
}

/// The stored cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cursor {
    /// Full: the profile's history id taken before the sync; incremental: where history
    /// continues.
    history_id: String,
    phase: Phase,
    /// The next page of the list (full) or of the history (incremental).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page_token: Option<String>,
    /// The mailbox's address (from the profile), the middle of every dedupe key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
}

pub async fn poll(ctx: &mut Context<'_>) -> Result<()> {
    let gmail = Gmail::new(ctx)?;
    match load_cursor(ctx)? {
        None => full_sync(ctx, &gmail, None).await,
        Some(cursor) if cursor.phase == Phase::Full => full_sync(ctx, &gmail, Some(cursor)).await,
        Some(cursor) => {
            if incremental(ctx, &gmail, cursor).await? == History::Gone {
                tracing::warn!(
                    integration = ctx.name,
                    "the stored historyId is too old for Gmail's history: syncing in full"
                );
                full_sync(ctx, &gmail, None).await?;
            }
            Ok(())
        }
    }
}

fn load_cursor(ctx: &Context<'_>) -> Result<Option<Cursor>> {
    let cursor: Option<Cursor> = ctx.cursor()?;
    if let Some(cursor) = &cursor
        && cursor.history_id.parse::<u64>().is_err()
    {
        let why = format!("historyId `{}` is not a number", cursor.history_id);
        return Err(crate::poll::context::corrupt_cursor(ctx.name, &why));
    }
    Ok(cursor)
}

/// What the history said.
#[derive(Debug, PartialEq, Eq)]
enum History {
    Done,
    /// `404`: the start is older than the history Gmail keeps.
    Gone,
}

/// The requests of one poll.
struct Gmail<'a> {
    http: &'a Http,
    integration: &'a str,
    base: Url,
    query: String,
    filter: Filter,
    /// The dedupe keys' middle when the profile gives no address.
    account: String,
}

impl<'a> Gmail<'a> {
    fn new(ctx: &Context<'a>) -> Result<Gmail<'a>> {
        let cfg = ctx.cfg;
        let base = cfg.base_url.as_deref().unwrap_or(DEFAULT_BASE);
        let base = Url::parse(base).with_context(|| format!("`base_url` `{base}` is not a URL"))?;
        if base.cannot_be_a_base() {
            anyhow::bail!("`base_url` `{base}` cannot be a base URL");
        }
        let query = cfg.query.clone().unwrap_or_default().trim().to_string();
        Ok(Gmail {
            http: ctx.http,
            integration: ctx.name,
            base,
            filter: Filter::parse(&query),
            query,
            account: cfg.account.clone().unwrap_or_else(|| ctx.name.to_string()),
        })
    }

    /// `BASE/gmail/v1/users/me/…`, each segment escaped.
    fn url(&self, segments: &[&str]) -> String {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .extend(["gmail", "v1", "users", "me"])
                .extend(segments);
        }
        url.set_query(None);
        url.into()
    }

    async fn get(
        &self,
        url: &str,
        query: &[(&str, String)],
        units: u32,
        handled: &[u16],
    ) -> Result<(u16, Value)> {
        let reply = self
            .http
            .get(
                url,
                query,
                HeaderMap::new(),
                Cost::GmailUnits(units),
                handled,
            )
            .await?;
        let status = reply.status.as_u16();
        if handled.contains(&status) {
            return Ok((status, reply.json.unwrap_or(Value::Null)));
        }
        let json = reply
            .json
            .ok_or_else(|| anyhow!("GET {} answered {status} with an empty body", path(url)))?;
        if !json.is_object() {
            return Err(
                SchemaError(format!("GET {}: the body is not a JSON object", path(url))).into(),
            );
        }
        Ok((status, json))
    }

    /// `users.getProfile`: the current history id and the mailbox's address.
    async fn profile(&self) -> Result<(String, Option<String>)> {
        let url = self.url(&["profile"]);
        let (_, body) = self.get(&url, &[], PROFILE_UNITS, &[]).await?;
        let history_id = history_id(&body, "/historyId")
            .map_err(|e| SchemaError(format!("users.getProfile: {e}")))?;
        let email = body
            .get("emailAddress")
            .and_then(Value::as_str)
            .filter(|e| !e.is_empty())
            .map(str::to_string);
        Ok((history_id, email))
    }

    /// The dedupe keys' middle.
    fn key<'c>(&'c self, cursor: &'c Cursor) -> &'c str {
        cursor.email.as_deref().unwrap_or(&self.account)
    }

    /// `messages.get?format=metadata` of each id, a few at once, in order; deleted ones
    /// (`404`) are left out.
    async fn messages(&self, ids: &[String]) -> Result<Vec<Value>> {
        let query: Vec<(&str, String)> = [
            ("format", "metadata"),
            ("metadataHeaders", "From"),
            ("metadataHeaders", "To"),
            ("metadataHeaders", "Subject"),
            ("metadataHeaders", "Date"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
        let query = &query;
        let jobs: Vec<Job<'_, Option<Value>>> = ids
            .iter()
            .map(|id| {
                let job: Job<'_, Option<Value>> = Box::pin(async move {
                    let url = self.url(&["messages", id]);
                    let (status, body) = self.get(&url, query, GET_UNITS, &[404]).await?;
                    if status == 404 {
                        tracing::debug!(
                            integration = self.integration,
                            id,
                            "message deleted since it was listed"
                        );
                        return Ok(None);
                    }
                    required_str(&body, "/id").map_err(|e| {
                        SchemaError(format!("users.messages.get of message {id}: {e}"))
                    })?;
                    Ok(Some(body))
                });
                job
            })
            .collect();
        Ok(bounded(jobs, CONCURRENCY)
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    /// The ids among `messages` that Gmail's search finds for the query (see the module
    /// comment): `messages.list` over their time span, kept to those ids.
    async fn search(&self, messages: &[&Value]) -> Result<HashSet<String>> {
        let mut wanted: HashSet<&str> = HashSet::new();
        let mut found = HashSet::new();
        let (mut first, mut last) = (i64::MAX, i64::MIN);
        for message in messages {
            let Some(id) = message.get("id").and_then(Value::as_str) else {
                continue;
            };
            match internal_millis(message) {
                Some(ms) => {
                    first = first.min(ms.div_euclid(1000));
                    last = last.max(ms.div_euclid(1000));
                    wanted.insert(id);
                }
                // Gmail always sends `internalDate`; without one the message cannot be placed
                // in a window, so it is kept rather than lost.
                None => {
                    found.insert(id.to_string());
                }
            }
        }
        if wanted.is_empty() {
            return Ok(found);
        }
        let q = format!(
            "({}) after:{} before:{}",
            self.query,
            first - WINDOW_SLACK_SECS,
            last + WINDOW_SLACK_SECS + 1
        );
        let url = self.url(&["messages"]);
        let mut token: Option<String> = None;
        let mut tokens = PageTokens::default();
        loop {
            tokens.ask("users.messages.list", token.as_ref())?;
            let mut query = vec![("q", q.clone()), ("maxResults", PAGE_SIZE.to_string())];
            if let Some(token) = &token {
                query.push(("pageToken", token.clone()));
            }
            let (_, body) = self.get(&url, &query, LIST_UNITS, &[]).await?;
            for id in listed_ids(&body)? {
                if wanted.remove(id.as_str()) {
                    found.insert(id);
                }
            }
            token = page_token(&body, "nextPageToken");
            if token.is_none() || wanted.is_empty() {
                return Ok(found);
            }
        }
    }
}

/// Full sync from the start, or resumed at a stored page.
async fn full_sync(ctx: &mut Context<'_>, gmail: &Gmail<'_>, resume: Option<Cursor>) -> Result<()> {
    let mut cursor = match resume {
        Some(cursor) => cursor,
        None => {
            let (history_id, email) = gmail.profile().await?;
            Cursor {
                history_id,
                phase: Phase::Full,
                page_token: None,
                email,
            }
        }
    };
    let url = gmail.url(&["messages"]);
    let mut restarted = false;
    let mut tokens = PageTokens::default();
    loop {
        tokens.ask("users.messages.list", cursor.page_token.as_ref())?;
        let mut query = vec![("maxResults", PAGE_SIZE.to_string())];
        if !gmail.query.is_empty() {
            query.push(("q", gmail.query.clone()));
        }
        if let Some(token) = &cursor.page_token {
            query.push(("pageToken", token.clone()));
        }
        // A stored page token Gmail no longer accepts: list again from the start (what was
        // stored stays stored; its repeats are no-ops).
        let handled: &[u16] = if cursor.page_token.is_some() && !restarted {
            &[400]
        } else {
            &[]
        };
        let (status, body) = gmail.get(&url, &query, LIST_UNITS, handled).await?;
        if status == 400 {
            tracing::info!(
                integration = ctx.name,
                "Gmail refused the stored page token: listing from the start"
            );
            cursor.page_token = None;
            restarted = true;
            tokens = PageTokens::default();
            continue;
        }
        let ids = listed_ids(&body)?;
        let next = page_token(&body, "nextPageToken");
        let messages = gmail.messages(&ids).await?;
        let fetched = messages.len() as u64;
        let key = gmail.key(&cursor).to_string();
        // `messages.list` applied the query already.
        let events = messages
            .iter()
            .map(|m| message_event(ctx.name, &key, m))
            .collect::<Result<Vec<_>, _>>()?;
        drop(messages);
        cursor.phase = if next.is_some() {
            Phase::Full
        } else {
            Phase::Incremental
        };
        cursor.page_token = next;
        ctx.commit(events, &serde_json::to_value(&cursor)?, fetched)?;
        if cursor.page_token.is_none() {
            return Ok(());
        }
    }
}

/// Incremental sync through `history.list`.
async fn incremental(ctx: &mut Context<'_>, gmail: &Gmail<'_>, stored: Cursor) -> Result<History> {
    let url = gmail.url(&["history"]);
    let mut cursor = stored.clone();
    let mut committed = stored;
    let mut restarted = false;
    let mut tokens = PageTokens::default();
    loop {
        tokens.ask("users.history.list", cursor.page_token.as_ref())?;
        let mut query = vec![
            ("startHistoryId", cursor.history_id.clone()),
            ("historyTypes", "messageAdded".to_string()),
            ("maxResults", PAGE_SIZE.to_string()),
        ];
        if let Some(token) = &cursor.page_token {
            query.push(("pageToken", token.clone()));
        }
        // A stored page token Gmail no longer accepts: page again from `startHistoryId`, as a
        // full sync does with its listing.
        let handled: &[u16] = if cursor.page_token.is_some() && !restarted {
            &[400, 404]
        } else {
            &[404]
        };
        let (status, body) = gmail.get(&url, &query, HISTORY_UNITS, handled).await?;
        if status == 404 {
            return Ok(History::Gone);
        }
        if status == 400 {
            tracing::info!(
                integration = ctx.name,
                "Gmail refused the stored history page token: paging from the stored historyId"
            );
            cursor.page_token = None;
            restarted = true;
            tokens = PageTokens::default();
            continue;
        }
        let ids = added_ids(&body)?;
        let next = page_token(&body, "nextPageToken");
        let messages = gmail.messages(&ids).await?;
        let fetched = messages.len() as u64;
        let key = gmail.key(&cursor).to_string();
        // Every fetched message must be well-formed, matching or not.
        let mut pairs = messages
            .into_iter()
            .map(|m| message_event(ctx.name, &key, &m).map(|e| (m, e)))
            .collect::<Result<Vec<_>, _>>()?;
        match &gmail.filter {
            Filter::Labels(labels) => pairs.retain(|(m, _)| labels.matches(m)),
            Filter::Search { spam_trash } => {
                let labels = LabelFilter {
                    terms: Vec::new(),
                    spam_trash: *spam_trash,
                };
                pairs.retain(|(m, _)| labels.matches(m));
                if !pairs.is_empty() {
                    let candidates: Vec<&Value> = pairs.iter().map(|(m, _)| m).collect();
                    let found = gmail.search(&candidates).await?;
                    pairs.retain(|(_, e)| {
                        e.external_id.as_ref().is_some_and(|id| found.contains(id))
                    });
                }
            }
        }
        let events: Vec<Event> = pairs.into_iter().map(|(_, e)| e).collect();
        match next {
            Some(token) => cursor.page_token = Some(token),
            None => {
                cursor.page_token = None;
                cursor.history_id = match body.get("historyId") {
                    Some(_) => history_id(&body, "/historyId")
                        .map_err(|e| SchemaError(format!("users.history.list: {e}")))?,
                    None => latest_record(&body).unwrap_or(cursor.history_id),
                };
            }
        }
        if !events.is_empty() || fetched > 0 || cursor != committed {
            ctx.commit(events, &serde_json::to_value(&cursor)?, fetched)?;
            committed = cursor.clone();
        }
        if cursor.page_token.is_none() {
            return Ok(History::Done);
        }
    }
}

/// A history id (Gmail sends a string holding a uint64; a number is taken too).
fn history_id(body: &Value, pointer: &str) -> Result<String, SchemaError> {
    match body.pointer(pointer) {
        Some(Value::String(s)) if s.parse::<u64>().is_ok() => Ok(s.clone()),
        Some(Value::Number(n)) if n.is_u64() => Ok(n.to_string()),
        Some(_) => Err(SchemaError(format!(
            "field `{pointer}` is not a history id"
        ))),
        None => Err(SchemaError(format!("field `{pointer}` is missing"))),
    }
}

/// The largest history record id of a page.
fn latest_record(body: &Value) -> Option<String> {
    body.get("history")?
        .as_array()?
        .iter()
        .filter_map(|r| history_id(r, "/id").ok())
        .max_by_key(|id| id.parse::<u64>().unwrap_or(0))
}

/// The ids of a `messages.list` page (`messages` is absent when there are none).
fn listed_ids(body: &Value) -> Result<Vec<String>, SchemaError> {
    let Some(messages) = body.get("messages") else {
        return Ok(Vec::new());
    };
    let messages = messages.as_array().ok_or_else(|| {
        SchemaError("users.messages.list: field `/messages` is not an array".into())
    })?;
    messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            required_str(m, "/id")
                .map(str::to_string)
                .map_err(|e| SchemaError(format!("users.messages.list: `/messages/{i}`: {e}")))
        })
        .collect()
}

/// The ids of the messages a `history.list` page adds, each once, in order.
fn added_ids(body: &Value) -> Result<Vec<String>, SchemaError> {
    let Some(history) = body.get("history") else {
        return Ok(Vec::new());
    };
    let history = history.as_array().ok_or_else(|| {
        SchemaError("users.history.list: field `/history` is not an array".into())
    })?;
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    for (i, record) in history.iter().enumerate() {
        let Some(added) = record.get("messagesAdded") else {
            continue;
        };
        let added = added.as_array().ok_or_else(|| {
            SchemaError(format!(
                "users.history.list: field `/history/{i}/messagesAdded` is not an array"
            ))
        })?;
        for (j, entry) in added.iter().enumerate() {
            let id = required_str(entry, "/message/id").map_err(|e| {
                SchemaError(format!(
                    "users.history.list: `/history/{i}/messagesAdded/{j}`: {e}"
                ))
            })?;
            if seen.insert(id.to_string()) {
                ids.push(id.to_string());
            }
        }
    }
    Ok(ids)
}

/// The `emailReceived` event of a `format=metadata` message.
fn message_event(integration: &str, account: &str, message: &Value) -> Result<Event, SchemaError> {
    let id = required_str(message, "/id")
        .map_err(|e| SchemaError(format!("users.messages.get: {e}")))?;
    let header = |name: &str| -> Option<&str> {
        message
            .pointer("/payload/headers")?
            .as_array()?
            .iter()
            .find(|h| {
                h.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })?
            .get("value")?
            .as_str()
    };
    let subject_header = header("Subject");
    let date = header("Date");
    let occurred = internal_millis(message)
        .and_then(|ms| unix_time(Some(&json!(ms)), true))
        .or_else(|| {
            date.and_then(|d| DateTime::parse_from_rfc2822(d.trim()).ok())
                .map(|t| t.with_timezone(&Utc))
                .and_then(|t| DateTime::from_timestamp(t.timestamp(), 0))
        })
        .unwrap_or_else(now);
    let mut event = Event::new(
        EventType::EmailReceived,
        integration,
        "gmail",
        format!("gmail:{account}:{id}"),
        occurred,
    );
    event.external_id = Some(id.to_string());
    event.subject = subject_header.map(subject).filter(|s| !s.is_empty());
    event.data = json!({
        "from": header("From"),
        "to": header("To"),
        "subject": subject_header,
        "date": date,
        "snippet": message.get("snippet").and_then(Value::as_str).map(unescape_html),
        "labelIds": message.get("labelIds").cloned().unwrap_or_else(|| json!([])),
        "threadId": message.get("threadId"),
        "historyId": message.get("historyId"),
    });
    Ok(event)
}

/// `internalDate`: milliseconds since the epoch, as a string (or a number).
fn internal_millis(message: &Value) -> Option<i64> {
    match message.get("internalDate")? {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// Gmail's snippets are HTML-escaped (`&#39;`, `&amp;`, …).
fn unescape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.find(';').filter(|&end| end <= 10).and_then(|end| {
            let name = &rest[1..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => match name.strip_prefix('#') {
                    Some(hex) if hex.starts_with(['x', 'X']) => u32::from_str_radix(&hex[1..], 16)
                        .ok()
                        .and_then(char::from_u32),
                    Some(dec) => dec.parse().ok().and_then(char::from_u32),
                    None => None,
                },
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// How added messages are matched against `query` (see the module comment).
#[derive(Debug, PartialEq, Eq)]
enum Filter {
    Labels(LabelFilter),
    /// Gmail's search decides; `spam_trash` when the query reaches into spam or trash, which
    /// the label pre-filter must then keep.
    Search {
        spam_trash: bool,
    },
}

/// Label terms, all of which must hold.
#[derive(Debug, Default, PartialEq, Eq)]
struct LabelFilter {
    /// `(label id, wanted)`.
    terms: Vec<(&'static str, bool)>,
    /// The query names spam or trash (`in:spam`, `in:trash`, `in:anywhere`).
    spam_trash: bool,
}

impl Filter {
    fn parse(query: &str) -> Filter {
        // Whatever decides, spam and trash are in when a (not negated) term names them.
        let spam_trash = query.split_whitespace().any(|term| {
            let term = term.to_ascii_lowercase();
            term == "in:anywhere" || matches!(label_of(&term), Some("SPAM" | "TRASH"))
        });
        let mut labels = LabelFilter {
            terms: Vec::new(),
            spam_trash,
        };
        for term in query.split_whitespace() {
            let (negated, term) = match term.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, term),
            };
            let term = term.to_ascii_lowercase();
            if term == "in:anywhere" && !negated {
                continue;
            }
            let Some(label) = label_of(&term) else {
                return Filter::Search { spam_trash };
            };
            labels.terms.push(match term.as_str() {
                // `is:read` is "not UNREAD".
                "is:read" => (label, negated),
                _ => (label, !negated),
            });
        }
        Filter::Labels(labels)
    }
}

/// The system label a search term tests, for the terms that test only a label.
fn label_of(term: &str) -> Option<&'static str> {
    Some(match term {
        "in:inbox" => "INBOX",
        "in:sent" | "is:sent" => "SENT",
        "in:draft" | "in:drafts" | "is:draft" => "DRAFT",
        "in:spam" | "is:spam" => "SPAM",
        "in:trash" | "is:trash" => "TRASH",
        "in:starred" | "is:starred" => "STARRED",
        "is:unread" | "is:read" => "UNREAD",
        "in:important" | "is:important" => "IMPORTANT",
        "in:chats" | "is:chat" => "CHAT",
        "category:primary" | "category:personal" => "CATEGORY_PERSONAL",
        "category:social" => "CATEGORY_SOCIAL",
        "category:promotions" => "CATEGORY_PROMOTIONS",
        "category:updates" => "CATEGORY_UPDATES",
        "category:forums" => "CATEGORY_FORUMS",
        _ => return None,
    })
}

impl LabelFilter {
    fn matches(&self, message: &Value) -> bool {
        let labels: Vec<&str> = message
            .get("labelIds")
            .and_then(Value::as_array)
            .map(|l| l.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let has = |label: &str| labels.contains(&label);
        if !self.spam_trash && (has("SPAM") || has("TRASH")) {
            return false;
        }
        self.terms
            .iter()
            .all(|(label, wanted)| has(label) == *wanted)
    }
}

/// The URL without its query, for messages.
fn path(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

type Job<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// Runs the jobs in this task with at most `limit` in flight and returns their outputs in
/// order. The first error is returned at once and drops the jobs still running.
async fn bounded<T: Send>(jobs: Vec<Job<'_, T>>, limit: usize) -> Result<Vec<T>> {
    let mut outputs: Vec<Option<T>> = (0..jobs.len()).map(|_| None).collect();
    let mut waiting = jobs.into_iter().enumerate();
    let mut running: Vec<(usize, Job<'_, T>)> = Vec::with_capacity(limit);
    std::future::poll_fn(|cx| {
        loop {
            while running.len() < limit.max(1) {
                match waiting.next() {
                    Some(job) => running.push(job),
                    None => break,
                }
            }
            if running.is_empty() {
                return Poll::Ready(Ok(()));
            }
            let before = running.len();
            let mut failure = None;
            running.retain_mut(|(index, job)| match job.as_mut().poll(cx) {
                Poll::Pending => true,
                Poll::Ready(Ok(output)) => {
                    outputs[*index] = Some(output);
                    false
                }
                Poll::Ready(Err(e)) => {
                    failure.get_or_insert(e);
                    false
                }
            });
            if let Some(e) = failure {
                return Poll::Ready(Err(e));
            }
            if running.len() == before {
                return Poll::Pending;
            }
        }
    })
    .await?;
    Ok(outputs.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(labels: &[&str]) -> Value {
        json!({"id": "m1", "labelIds": labels})
    }

    #[test]
    fn label_queries_are_checked_locally() {
        let Filter::Labels(f) = Filter::parse("in:inbox -category:promotions") else {
            panic!("a label query");
        };
        assert!(f.matches(&message(&["INBOX", "UNREAD"])));
        assert!(!f.matches(&message(&["INBOX", "CATEGORY_PROMOTIONS"])));
        assert!(!f.matches(&message(&["SENT"])));
        assert!(!f.matches(&message(&["INBOX", "SPAM"])), "spam is left out");
        let Filter::Labels(read) = Filter::parse("IS:READ") else {
            panic!()
        };
        assert!(read.matches(&message(&["INBOX"])));
        assert!(!read.matches(&message(&["UNREAD"])));
        let Filter::Labels(spam) = Filter::parse("in:spam") else {
            panic!()
        };
        assert!(spam.matches(&message(&["SPAM"])));
        assert_eq!(Filter::parse(""), Filter::Labels(LabelFilter::default()));
    }

    #[test]
    fn other_queries_go_to_search() {
        for q in [
            "from:boss@x.com",
            "in:inbox OR in:sent",
            "(in:inbox)",
            "urgent",
            "label:work",
        ] {
            let spam_trash = false;
            assert_eq!(Filter::parse(q), Filter::Search { spam_trash }, "{q}");
        }
        // Spam and trash stay in when the query reaches into them, whatever else it says.
        for q in [
            "in:anywhere from:boss@x.com",
            "from:boss@x.com IN:SPAM",
            "is:trash urgent",
        ] {
            let spam_trash = true;
            assert_eq!(Filter::parse(q), Filter::Search { spam_trash }, "{q}");
        }
    }

    #[test]
    fn events_from_metadata() {
        let m = json!({
            "id": "18c2f", "threadId": "t1", "labelIds": ["INBOX"], "snippet": "it&#39;s &amp; ok",
            "historyId": "991", "internalDate": "1764000000123",
            "payload": {"headers": [
                {"name": "from", "value": "A <a@x.com>"},
                {"name": "Subject", "value": "Hello\nthere"},
            ]},
        });
        let e = message_event("mail", "me@x.com", &m).unwrap();
        assert_eq!(e.dedupe_key, "gmail:me@x.com:18c2f");
        assert_eq!(e.external_id.as_deref(), Some("18c2f"));
        assert_eq!(e.subject.as_deref(), Some("Hello"));
        assert_eq!(e.occurred_at.timestamp(), 1_764_000_000);
        assert_eq!(e.data["from"], "A <a@x.com>");
        assert_eq!(e.data["to"], Value::Null);
        assert_eq!(e.data["snippet"], "it's & ok");
        assert_eq!(e.data["historyId"], "991");
        let err = message_event("mail", "me", &json!({"threadId": "t"})).unwrap_err();
        assert!(err.0.contains("`/id`"), "{err}");
    }

    #[test]
    fn cursors_round_trip() {
        let c = Cursor {
            history_id: "5".into(),
            phase: Phase::Full,
            page_token: Some("p".into()),
            email: None,
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(
            v,
            json!({"historyId": "5", "phase": "full", "pageToken": "p"})
        );
        assert_eq!(serde_json::from_value::<Cursor>(v).unwrap(), c);
    }

    #[test]
    fn history_pages_give_each_added_message_once() {
        let body = json!({"history": [
            {"id": "7", "messagesAdded": [{"message": {"id": "a"}}, {"message": {"id": "b"}}]},
            {"id": "9", "messages": [{"id": "c"}]},
            {"id": "8", "messagesAdded": [{"message": {"id": "a"}}]},
        ], "historyId": "10"});
        assert_eq!(added_ids(&body).unwrap(), ["a", "b"]);
        assert_eq!(latest_record(&body).as_deref(), Some("9"));
        let bad = json!({"history": [{"id": "7", "messagesAdded": [{"message": {}}]}]});
        assert!(added_ids(&bad).unwrap_err().0.contains("/message/id"));
    }

    #[test]
    fn snippets_are_unescaped() {
        assert_eq!(
            unescape_html("a &lt;b&gt; &#x41; &bogus; & c"),
            "a <b> A &bogus; & c"
        );
    }

    #[tokio::test]
    async fn bounded_keeps_order_and_limit() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let live = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let jobs: Vec<Job<'_, usize>> = (0..20)
            .map(|i| {
                let (live, peak) = (&live, &peak);
                let job: Job<'_, usize> = Box::pin(async move {
                    let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis((20 - i) as u64)).await;
                    live.fetch_sub(1, Ordering::SeqCst);
                    Ok(i)
                });
                job
            })
            .collect();
        let out = bounded(jobs, 4).await.unwrap();
        assert_eq!(out, (0..20).collect::<Vec<_>>());
        assert_eq!(peak.load(Ordering::SeqCst), 4);
    }
}
