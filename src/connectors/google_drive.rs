//! `google-drive`: files added or changed in a Drive (optionally one folder), through Drive's
//! change log (SPEC §7).
//!
//! The first poll only asks `changes.getStartPageToken` and stores the token: there is no
//! history to replay, and listing every file would not say what changed. Later polls follow
//! `changes.list` page by page; each page's events are committed with the `nextPageToken` that
//! follows them, and the last page's `newStartPageToken` becomes the cursor of the next poll.
//!
//! A change is `driveFileAdded` when the file was created after its change window started (the
//! time the stored token was issued, on Google's clock: the `Date` of the answer that gave it),
//! else `driveFileUpdated`. Removals are not skipped: a trashed file is a `driveFileUpdated`
//! with `trashed` and `removed` set, and a file that is gone or no longer shared with the
//! account (a change with `removed: true` and no file) is a `driveFileUpdated` with only
//! `fileId` and `removed: true`, so a consumer indexing the Drive can drop it. With
//! `folder_id`, only files whose `parents` hold that folder count (direct children: Drive has
//! no cheap recursive filter). A file that leaves the folder (moved elsewhere, or gone for
//! good) is a `driveFileUpdated` with `leftFolder` (and `removed`, when gone) if its latest
//! event says it was in the folder: the change itself cannot tell where a file was.
//!
//! Keys: an update is keyed by the file's `modifiedTime` (Drive also logs changes that are no
//! change of ours, such as someone viewing the file), a trashing or removal by the change's
//! time. A file restored from the trash (or shared again) may keep its `modifiedTime`: when the
//! file's latest event says it was gone (or had left the folder), the change is keyed
//! `…:restored:{change time}`. A file leaving the folder is keyed `…:left:{change time}`.

use anyhow::{Result, anyhow, bail};
use chrono::{DateTime, Utc};
use reqwest::header::{DATE, HeaderMap};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{GOOGLEAPIS, PageTokens, SchemaError, api_url, optional_array, page_token};
use super::{rfc3339_seconds as parse_time, subject};
use crate::event::{Event, EventType, format_time, now};
use crate::poll::context::Context;
use crate::poll::http::{Cost, Http, Reply};

/// The file fields a change carries (`changes.list` `fields`).
const FIELDS: &str = "nextPageToken,newStartPageToken,changes(fileId,removed,time,file(id,name,\
                      mimeType,modifiedTime,createdTime,parents,trashed,webViewLink))";

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cursor {
    /// Where the next `changes.list` starts.
    page_token: String,
    /// When the change window of `page_token` started (RFC 3339, Google's clock): files
    /// created since then are new.
    #[serde(default)]
    window_start: Option<String>,
}

/// Whether a stored cursor is a Drive page token this connector can go on from.
pub fn readable_cursor(cursor: &str) -> bool {
    serde_json::from_str::<Cursor>(cursor).is_ok()
}

pub async fn poll(ctx: &mut Context<'_>) -> Result<()> {
    let Some(mut cursor) = ctx.cursor::<Cursor>()? else {
        let fresh = start_token(ctx.http, ctx.cfg.base_url.as_deref()).await?;
        return ctx.commit(Vec::new(), &serde_json::to_value(&fresh)?, 0);
    };
    let url = api_url(
        ctx.cfg.base_url.as_deref(),
        GOOGLEAPIS,
        &["drive", "v3", "changes"],
    )?;
    let folder = ctx.cfg.folder_id.clone();
    let mut renewed = false;
    let mut tokens = PageTokens::default();
    loop {
        tokens.ask("changes.list", Some(&cursor.page_token))?;
        let mut query = vec![
            ("pageToken", cursor.page_token.clone()),
            ("fields", FIELDS.to_string()),
            ("includeRemoved", "true".to_string()),
            ("spaces", "drive".to_string()),
            ("pageSize", "1000".to_string()),
            ("supportsAllDrives", "true".to_string()),
        ];
        // A `folder_id` may be in a shared drive, whose changes come only when asked for;
        // without one, the integration follows the user's own Drive, as it always has.
        if folder.is_some() {
            query.push(("includeItemsFromAllDrives", "true".to_string()));
        }
        let reply = ctx
            .http
            .get(
                url.as_str(),
                &query,
                HeaderMap::new(),
                Cost::DriveQueries(1),
                &[400, 404, 410],
            )
            .await?;
        if !reply.status.is_success() {
            if renewed || !token_rejected(&reply) {
                bail!(
                    "GET /drive/v3/changes answered {}: {}",
                    reply.status,
                    reply.json.map(|j| j.to_string()).unwrap_or_default()
                );
            }
            // Drive forgot the stored token (too old, or revoked). The only way on is a new
            // start token, which lists changes from now: changes made between the last poll
            // and now are lost, as Drive gives no other way to list them.
            tracing::warn!(
                integration = ctx.name,
                status = reply.status.as_u16(),
                "Drive rejected the stored page token; continuing from a new start page token \
                 (changes made since the last poll are lost)"
            );
            cursor = start_token(ctx.http, ctx.cfg.base_url.as_deref()).await?;
            ctx.commit(Vec::new(), &serde_json::to_value(&cursor)?, 0)?;
            renewed = true;
            tokens = PageTokens::default();
            continue;
        }
        let body = reply
            .json
            .as_ref()
            .ok_or_else(|| anyhow!("GET /drive/v3/changes answered an empty body"))?;
        let window = cursor
            .window_start
            .as_deref()
            .and_then(|w| DateTime::parse_from_rfc3339(w).ok())
            .map(|w| w.with_timezone(&Utc));
        let page = parse_page(ctx.name, folder.as_deref(), window, body)?;
        let more = matches!(page.next, Next::Page(_));
        let next = match page.next {
            Next::Page(token) => Cursor {
                page_token: token,
                window_start: cursor.window_start.clone(),
            },
            // The new start token is at the end of the log as of this answer, so its window
            // starts now (even when the token is unchanged: then no file came in between).
            Next::Done(token) => Cursor {
                page_token: token,
                window_start: Some(server_time(&reply)),
            },
        };
        let events = key_restores(ctx.store, ctx.name, page.events)?;
        ctx.commit(events, &serde_json::to_value(&next)?, page.items)?;
        cursor = next;
        if !more {
            return Ok(());
        }
    }
}

/// `changes.getStartPageToken`: a cursor at the present end of the change log.
async fn start_token(http: &Http, base: Option<&str>) -> Result<Cursor> {
    let url = api_url(
        base,
        GOOGLEAPIS,
        &["drive", "v3", "changes", "startPageToken"],
    )?;
    let reply = http
        .get(
            url.as_str(),
            &[("supportsAllDrives", "true".to_string())],
            HeaderMap::new(),
            Cost::DriveQueries(1),
            &[],
        )
        .await?;
    let token = reply
        .json
        .as_ref()
        .and_then(|j| j.get("startPageToken"))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| SchemaError("field `startPageToken` is missing".into()))?;
    Ok(Cursor {
        page_token: token.to_string(),
        window_start: Some(server_time(&reply)),
    })
}

/// Whether a `4xx` of `changes.list` means the page token is no longer valid. A `400` counts
/// only when it names `pageToken`: any other bad request is a bug that a new token would only
/// hide (losing changes on every poll).
fn token_rejected(reply: &Reply) -> bool {
    match reply.status.as_u16() {
        404 | 410 => true,
        400 => reply
            .json
            .as_ref()
            .is_some_and(|j| j.to_string().contains("pageToken")),
        _ => false,
    }
}

/// The time of an answer on Google's clock (`Date`), else ours.
fn server_time(reply: &Reply) -> String {
    let date = reply
        .headers
        .get(DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(|d| DateTime::parse_from_rfc2822(d).ok())
        .map(|d| d.with_timezone(&Utc));
    format_time(&date.unwrap_or_else(now))
}

enum Next {
    Page(String),
    Done(String),
}

struct Page {
    /// Each event with the time of its change.
    events: Vec<(Event, String)>,
    items: u64,
    next: Next,
}

fn parse_page(
    integration: &str,
    folder: Option<&str>,
    window: Option<DateTime<Utc>>,
    body: &Value,
) -> Result<Page, SchemaError> {
    let next = match (
        page_token(body, "nextPageToken"),
        page_token(body, "newStartPageToken"),
    ) {
        (Some(page), _) => Next::Page(page),
        (None, Some(start)) => Next::Done(start),
        (None, None) => {
            return Err(SchemaError(
                "the changes page has neither `nextPageToken` nor `newStartPageToken`".into(),
            ));
        }
    };
    let changes = optional_array(body, "changes")?;
    let mut events = Vec::new();
    for (index, change) in changes.iter().enumerate() {
        if let Some(event) = change_event(integration, folder, window, index, change)? {
            let time = change.get("time").and_then(Value::as_str).unwrap_or("");
            events.push((event, time.to_string()));
        }
    }
    Ok(Page {
        events,
        items: changes.len() as u64,
        next,
    })
}

/// Gives a file that comes back (its latest event, stored or earlier on this page, says it
/// was trashed, removed or out of the folder) the key of its restoring change, and keeps a
/// change out of the folder only for a file whose latest event had it in (see the module
/// comment).
fn key_restores(
    store: &crate::store::Store,
    integration: &str,
    changes: Vec<(Event, String)>,
) -> Result<Vec<Event>> {
    let mut latest = super::LatestKeys::new(store, integration);
    let mut events = Vec::with_capacity(changes.len());
    for (mut event, time) in changes {
        let file = event.external_id.clone().unwrap_or_default();
        let prefix = format!("drive:{file}:");
        let gone = |rest: &str| {
            ["trashed:", "removed:", "left:"]
                .iter()
                .any(|g| rest.starts_with(g))
        };
        if event.data.get("leftFolder").is_some() {
            let was_in = latest
                .after(&file, &prefix)?
                .is_some_and(|rest| !rest.starts_with("left:") && !rest.starts_with("removed:"));
            if !was_in {
                continue;
            }
            latest.made(&file, &event.dedupe_key);
            events.push(event);
            continue;
        }
        // Only a file that is there now can come back: only then is the store asked.
        let back = event.data["removed"] != true
            && latest
                .after(&file, &prefix)?
                .is_some_and(|rest| gone(&rest));
        if back {
            event.dedupe_key = format!("{prefix}restored:{time}");
        }
        latest.made(&file, &event.dedupe_key);
        events.push(event);
    }
    Ok(events)
}

/// A change that takes a file out of the folder (moved elsewhere, or `removed` for good): an
/// event only if the file was in it, which [`key_restores`] settles from its latest event.
fn left_folder(
    integration: &str,
    folder: &str,
    file_id: &str,
    change: &Value,
    removed: bool,
) -> Event {
    let time = change.get("time").and_then(Value::as_str).unwrap_or("");
    let mut event = Event::new(
        EventType::DriveFileUpdated,
        integration,
        "google-drive",
        format!("drive:{file_id}:left:{time}"),
        parse_time(Some(time)).unwrap_or_else(now),
    );
    event.external_id = Some(file_id.to_string());
    event.subject = Some(subject(&format!("{file_id} left the folder")));
    event.data = json!({ "fileId": file_id, "leftFolder": folder, "removed": removed });
    event
}

/// The event of one change, or `None` for one that does not concern a file of ours.
fn change_event(
    integration: &str,
    folder: Option<&str>,
    window: Option<DateTime<Utc>>,
    index: usize,
    change: &Value,
) -> Result<Option<Event>, SchemaError> {
    if !change.is_object() {
        return Err(SchemaError(format!("changes[{index}] is not an object")));
    }
    // Changes of a shared drive itself carry no file id.
    let Some(file_id) = change.get("fileId").and_then(Value::as_str) else {
        return Ok(None);
    };
    let time = parse_time(change.get("time").and_then(Value::as_str));
    let file = change.get("file").filter(|f| f.is_object());
    let removed = change.get("removed").and_then(Value::as_bool) == Some(true);
    let Some(file) = file.filter(|_| !removed) else {
        if !removed {
            return Ok(None);
        }
        if let Some(folder) = folder {
            return Ok(Some(left_folder(
                integration,
                folder,
                file_id,
                change,
                true,
            )));
        }
        let mut event = Event::new(
            EventType::DriveFileUpdated,
            integration,
            "google-drive",
            format!(
                "drive:{file_id}:removed:{}",
                change.get("time").and_then(Value::as_str).unwrap_or("")
            ),
            time.unwrap_or_else(now),
        );
        event.external_id = Some(file_id.to_string());
        event.subject = Some(subject(&format!("{file_id} removed")));
        event.data = json!({ "fileId": file_id, "removed": true });
        return Ok(Some(event));
    };
    if let Some(folder) = folder {
        let inside = file
            .get("parents")
            .and_then(Value::as_array)
            .is_some_and(|p| p.iter().any(|p| p.as_str() == Some(folder)));
        if !inside {
            return Ok(Some(left_folder(
                integration,
                folder,
                file_id,
                change,
                false,
            )));
        }
    }
    let text = |field: &str| file.get(field).and_then(Value::as_str);
    let modified = text("modifiedTime").ok_or_else(|| {
        SchemaError(format!(
            "field `changes[{index}].file.modifiedTime` is missing"
        ))
    })?;
    let trashed = file.get("trashed").and_then(Value::as_bool) == Some(true);
    let created = parse_time(text("createdTime"));
    let added = !trashed && matches!((created, window), (Some(c), Some(w)) if c >= w);
    let (event_type, dedupe_key) = if trashed {
        // Trashing need not change `modifiedTime`: key on the change's time instead.
        (
            EventType::DriveFileUpdated,
            format!(
                "drive:{file_id}:trashed:{}",
                change
                    .get("time")
                    .and_then(Value::as_str)
                    .unwrap_or(modified)
            ),
        )
    } else if added {
        (
            EventType::DriveFileAdded,
            format!("drive:{file_id}:{modified}"),
        )
    } else {
        (
            EventType::DriveFileUpdated,
            format!("drive:{file_id}:{modified}"),
        )
    };
    let occurred = if trashed { time } else { None }
        .or_else(|| parse_time(Some(modified)))
        .unwrap_or_else(now);
    let mut event = Event::new(
        event_type,
        integration,
        "google-drive",
        dedupe_key,
        occurred,
    );
    let name = text("name").unwrap_or(file_id);
    event.external_id = Some(file_id.to_string());
    event.subject = Some(subject(&if trashed {
        format!("{name} (trashed)")
    } else {
        name.to_string()
    }));
    event.data = json!({
        "fileId": file_id,
        "name": text("name"),
        "mimeType": text("mimeType"),
        "createdTime": text("createdTime"),
        "modifiedTime": modified,
        "parents": file.get("parents").cloned().unwrap_or(json!([])),
        "webViewLink": text("webViewLink"),
        "trashed": trashed,
        "removed": trashed,
    });
    Ok(Some(event))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Option<DateTime<Utc>> {
        Some(
            DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc),
        )
    }

    fn change(created: &str, parents: &[&str], trashed: bool) -> Value {
        json!({
            "fileId": "f1", "removed": false, "time": "2026-11-24T10:00:05.000Z",
            "file": {
                "id": "f1", "name": "Plan", "mimeType": "text/plain", "trashed": trashed,
                "createdTime": created, "modifiedTime": "2026-11-24T10:00:04.000Z",
                "parents": parents, "webViewLink": "https://drive.google.com/f1"
            }
        })
    }

    #[test]
    fn created_in_the_window_is_added_else_updated() {
        let window = at("2026-11-24T10:00:00Z");
        let new = change("2026-11-24T10:00:01.500Z", &["root"], false);
        let e = change_event("d", None, window, 0, &new).unwrap().unwrap();
        assert_eq!(e.event_type, EventType::DriveFileAdded);
        assert_eq!(e.dedupe_key, "drive:f1:2026-11-24T10:00:04.000Z");
        let old = change("2026-01-01T00:00:00Z", &["root"], false);
        let e = change_event("d", None, window, 0, &old).unwrap().unwrap();
        assert_eq!(e.event_type, EventType::DriveFileUpdated);
        assert_eq!(e.data["name"], "Plan");
    }

    #[test]
    fn folder_filter_trash_and_removals() {
        let window = at("2026-11-24T10:00:00Z");
        // Out of the folder: a candidate, kept only for a file that was in it (key_restores).
        let elsewhere = change("2026-01-01T00:00:00Z", &["other"], false);
        let e = change_event("d", Some("mine"), window, 0, &elsewhere)
            .unwrap()
            .unwrap();
        assert_eq!(
            (e.data["leftFolder"].as_str(), e.data["removed"].as_bool()),
            (Some("mine"), Some(false))
        );
        let trashed = change("2026-11-24T10:00:01Z", &["mine"], true);
        let e = change_event("d", Some("mine"), window, 0, &trashed)
            .unwrap()
            .unwrap();
        assert_eq!(e.event_type, EventType::DriveFileUpdated);
        assert_eq!(e.data["removed"], true);
        let gone = json!({"fileId": "f2", "removed": true, "time": "2026-11-24T10:00:09Z"});
        let e = change_event("d", None, window, 0, &gone).unwrap().unwrap();
        assert_eq!(e.dedupe_key, "drive:f2:removed:2026-11-24T10:00:09Z");
        let e = change_event("d", Some("mine"), window, 0, &gone)
            .unwrap()
            .unwrap();
        assert_eq!(e.dedupe_key, "drive:f2:left:2026-11-24T10:00:09Z");
        assert_eq!(e.data["removed"], true);
    }

    #[test]
    fn a_page_needs_a_token() {
        let err = parse_page("d", None, None, &json!({"changes": []}))
            .err()
            .unwrap();
        assert!(err.0.contains("newStartPageToken"));
        let page = parse_page("d", None, None, &json!({"newStartPageToken": "9"})).unwrap();
        assert!(matches!(page.next, Next::Done(t) if t == "9"));
    }

    #[test]
    fn urls_keep_google_paths_and_encode_segments() {
        let url = api_url(
            Some("http://127.0.0.1:9/"),
            GOOGLEAPIS,
            &["v4", "spreadsheets", "x", "values", "'Q1 plan'!A1:H"],
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/v4/spreadsheets/x/values/'Q1%20plan'!A1:H"
        );
        let url = api_url(
            None,
            GOOGLEAPIS,
            &["calendar", "v3", "calendars", "a#b@x/y"],
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://www.googleapis.com/calendar/v3/calendars/a%23b@x%2Fy"
        );
    }
}
