//! `google-calendar`: events of one calendar, through Calendar's sync tokens (SPEC §7).
//!
//! The first poll is a full sync: `events.list` without a sync token, page by page, and the
//! last page's `nextSyncToken` is kept. Later polls send it and get only the events changed
//! since (cancelled ones included), again page by page. Recurring events stay as Google
//! returns them (no `singleEvents`): a series is one item, and an edited occurrence is an item
//! of its own. Each page's events are committed with a cursor saying where the next request
//! starts (`pageToken`, within the sync token's listing), so a crash or a failed request
//! resumes at the first page not stored. `410 Gone` (sync token or page token expired) starts
//! a full sync again; the dedupe key (`calendar:{calendarId}:{eventId}:{updated}`) keeps the
//! events already stored from being stored twice.

use anyhow::{Result, anyhow, bail};
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{GOOGLEAPIS, PageTokens, api_url, rfc3339_seconds as parse_time};
use super::{SchemaError, optional_array, page_token, subject};
use crate::event::{Event, EventType, now};
use crate::poll::context::Context;
use crate::poll::http::Cost;

/// The calendar polled when `calendar_id` is not set.
const DEFAULT_CALENDAR: &str = "primary";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cursor {
    /// The `nextSyncToken` of the last complete listing; `None` during a full sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sync_token: Option<String>,
    /// The next page of the listing in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page_token: Option<String>,
}

pub async fn poll(ctx: &mut Context<'_>) -> Result<()> {
    let calendar = ctx
        .cfg
        .calendar_id
        .clone()
        .unwrap_or_else(|| DEFAULT_CALENDAR.to_string());
    let url = api_url(
        ctx.cfg.base_url.as_deref(),
        GOOGLEAPIS,
        &["calendar", "v3", "calendars", &calendar, "events"],
    )?;
    let mut cursor = ctx.cursor::<Cursor>()?.unwrap_or_default();
    let mut resynced = false;
    let mut tokens = PageTokens::default();
    loop {
        tokens.ask("events.list", cursor.page_token.as_ref())?;
        let mut query = vec![
            ("showDeleted", "true".to_string()),
            ("maxResults", "250".to_string()),
        ];
        if let Some(token) = &cursor.sync_token {
            query.push(("syncToken", token.clone()));
        }
        if let Some(token) = &cursor.page_token {
            query.push(("pageToken", token.clone()));
        }
        let reply = ctx
            .http
            .get(
                url.as_str(),
                &query,
                HeaderMap::new(),
                Cost::CalendarQueries(1),
                &[410],
            )
            .await?;
        if reply.status.as_u16() == 410 {
            if resynced || cursor == Cursor::default() {
                bail!("GET /calendar/v3/…/events answered 410 Gone to a full sync");
            }
            tracing::warn!(
                integration = ctx.name,
                "Calendar expired the sync token (410 Gone); syncing the calendar in full \
                 (events already stored are not stored again)"
            );
            ctx.store.clear_cursor(ctx.name)?;
            cursor = Cursor::default();
            resynced = true;
            tokens = PageTokens::default();
            continue;
        }
        let body = reply
            .json
            .ok_or_else(|| anyhow!("GET /calendar/v3/…/events answered an empty body"))?;
        let (events, items, next) = parse_page(ctx.name, &calendar, &cursor, &body)?;
        let events = without_repeated_cancellations(ctx.store, ctx.name, &calendar, events)?;
        let more = next.page_token.is_some();
        if next != cursor || !events.is_empty() {
            ctx.commit(events, &serde_json::to_value(&next)?, items)?;
        } else {
            ctx.items += items;
        }
        cursor = next;
        if !more {
            return Ok(());
        }
    }
}

/// Drops a cancellation of an event whose latest event (stored, or earlier on the page) is a
/// cancellation already: a full re-sync lists cancelled events again, and a cancellation
/// stored before cancellations carried their etag has another key. A cancellation after a
/// restore is a change: the restore's event came in between.
fn without_repeated_cancellations(
    store: &crate::store::Store,
    integration: &str,
    calendar: &str,
    events: Vec<Event>,
) -> Result<Vec<Event>> {
    let mut latest = super::LatestKeys::new(store, integration);
    let mut kept = Vec::with_capacity(events.len());
    for event in events {
        let id = event.external_id.clone().unwrap_or_default();
        let prefix = format!("calendar:{calendar}:{id}:");
        // Only a cancellation can repeat one: only then is the store asked.
        let repeated = event.data["status"] == "cancelled"
            && latest
                .after(&id, &prefix)?
                .is_some_and(|rest| rest.starts_with("cancelled"));
        if repeated {
            continue;
        }
        latest.made(&id, &event.dedupe_key);
        kept.push(event);
    }
    Ok(kept)
}

/// The events of one page and the cursor after it.
fn parse_page(
    integration: &str,
    calendar: &str,
    cursor: &Cursor,
    body: &Value,
) -> Result<(Vec<Event>, u64, Cursor), SchemaError> {
    let next = match (
        page_token(body, "nextPageToken"),
        page_token(body, "nextSyncToken"),
    ) {
        (Some(page), _) => Cursor {
            sync_token: cursor.sync_token.clone(),
            page_token: Some(page),
        },
        (None, Some(sync)) => Cursor {
            sync_token: Some(sync),
            page_token: None,
        },
        (None, None) => {
            return Err(SchemaError(
                "the events page has neither `nextPageToken` nor `nextSyncToken`".into(),
            ));
        }
    };
    let items = optional_array(body, "items")?;
    let events = items
        .iter()
        .enumerate()
        .map(|(index, item)| item_event(integration, calendar, index, item))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((events, items.len() as u64, next))
}

fn item_event(
    integration: &str,
    calendar: &str,
    index: usize,
    item: &Value,
) -> Result<Event, SchemaError> {
    let text = |field: &str| item.get(field).and_then(Value::as_str);
    let id = text("id")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| SchemaError(format!("field `items[{index}].id` is missing")))?;
    let status = text("status");
    // A cancelled event in an incremental sync may carry nothing but its id, status and etag;
    // the etag tells one cancellation from the next (cancelled, restored, cancelled again).
    let version = match (text("updated"), status, text("etag")) {
        (Some(updated), _, _) => updated.to_string(),
        (None, Some("cancelled"), Some(etag)) => format!("cancelled:{}", etag.trim_matches('"')),
        (None, Some("cancelled"), None) => "cancelled".to_string(),
        _ => {
            return Err(SchemaError(format!(
                "field `items[{index}].updated` is missing"
            )));
        }
    };
    let mut event = Event::new(
        EventType::CalendarEventChanged,
        integration,
        "google-calendar",
        format!("calendar:{calendar}:{id}:{version}"),
        parse_time(text("updated")).unwrap_or_else(now),
    );
    let title = text("summary").unwrap_or("(no title)");
    event.external_id = Some(id.to_string());
    event.subject = Some(subject(&if status == Some("cancelled") {
        format!("Cancelled: {title}")
    } else {
        title.to_string()
    }));
    event.data = json!({
        "eventId": id,
        "calendarId": calendar,
        "summary": text("summary"),
        "status": status,
        "start": item.get("start"),
        "end": item.get("end"),
        "organizer": item.get("organizer"),
        "attendeesCount": item.get("attendees").and_then(Value::as_array).map_or(0, Vec::len),
        "htmlLink": text("htmlLink"),
        "updated": text("updated"),
        "recurringEventId": text("recurringEventId"),
        // Which occurrence of a recurring event this instance is: all that a cancelled one
        // carries besides its id.
        "originalStartTime": item.get("originalStartTime"),
    });
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_key_on_id_and_update_time() {
        let body = json!({
            "nextSyncToken": "s2",
            "items": [
                {"id": "e1", "status": "confirmed", "summary": "Standup",
                 "updated": "2026-11-24T10:00:00.123Z", "htmlLink": "https://x/e1",
                 "start": {"dateTime": "2026-11-25T09:00:00Z"}, "end": {"dateTime": "2026-11-25T09:15:00Z"},
                 "organizer": {"email": "a@x.com"}, "attendees": [{"email": "a@x.com"}, {"email": "b@x.com"}]},
                {"id": "e2", "status": "cancelled"},
                {"kind": "calendar#event", "etag": "\"3181161784712000\"", "id": "e3", "status": "cancelled"}
            ]
        });
        let (events, items, next) =
            parse_page("cal", "primary", &Cursor::default(), &body).unwrap();
        assert_eq!(items, 3);
        assert_eq!(
            next,
            Cursor {
                sync_token: Some("s2".into()),
                page_token: None
            }
        );
        assert_eq!(
            events[0].dedupe_key,
            "calendar:primary:e1:2026-11-24T10:00:00.123Z"
        );
        assert_eq!(events[0].data["attendeesCount"], 2);
        assert_eq!(events[1].dedupe_key, "calendar:primary:e2:cancelled");
        assert_eq!(events[1].subject.as_deref(), Some("Cancelled: (no title)"));
        // With its etag, a later cancellation of the same event has a key of its own.
        assert_eq!(
            events[2].dedupe_key,
            "calendar:primary:e3:cancelled:3181161784712000"
        );
    }

    #[test]
    fn a_page_keeps_the_sync_token_it_pages_through() {
        let cursor = Cursor {
            sync_token: Some("s1".into()),
            page_token: None,
        };
        let (_, _, next) = parse_page(
            "cal",
            "primary",
            &cursor,
            &json!({"nextPageToken": "p2", "items": []}),
        )
        .unwrap();
        assert_eq!(
            next,
            Cursor {
                sync_token: Some("s1".into()),
                page_token: Some("p2".into())
            }
        );
        assert!(parse_page("cal", "primary", &cursor, &json!({"items": []})).is_err());
    }
}
