//! Events: insert with dedupe on `(integration, dedupeKey)`, and the queries behind
//! `trmctl events`.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use uuid::Uuid;

use super::Store;
use crate::error::Exit;
use crate::event::{Event, EventType, format_time};
use crate::rules::RuleSet;

/// An event with its local arrival number (the order `events tail` follows).
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub seq: i64,
    pub event: Event,
}

/// The filters of `trmctl events list`.
#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    pub integration: Option<String>,
    pub event_type: Option<EventType>,
    pub since: Option<DateTime<Utc>>,
    pub limit: usize,
}

const COLUMNS: &str = "seq, event_id, event_type, integration, source_system, external_id, \
    dedupe_key, occurred_at, received_at, subject, data, derived_from";

/// Inserts an event unless `(integration, dedupe_key)` is already stored. Returns whether it
/// was inserted.
pub fn insert_event(conn: &Connection, event: &Event) -> Result<bool> {
    crate::event::check_depth(&event.data)
        .map_err(|why| anyhow::anyhow!("event {}: {why}", event.dedupe_key))?;
    let inserted = conn
        .prepare_cached(
            "INSERT INTO events (event_id, event_type, integration, source_system, external_id,
                 dedupe_key, occurred_at, received_at, subject, data, derived_from)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (integration, dedupe_key) DO NOTHING",
        )?
        .execute(params![
            event.event_id.to_string(),
            event.event_type.as_str(),
            event.integration,
            event.source_system,
            event.external_id,
            event.dedupe_key,
            format_time(&event.occurred_at),
            format_time(&event.received_at),
            event.subject,
            event.data.to_string(),
            event.derived_from.map(|id| id.to_string()),
        ])
        .with_context(|| format!("storing event {}", event.dedupe_key))?;
    if inserted == 1 {
        super::outbox::note_event_inserted();
    }
    Ok(inserted == 1)
}

/// Stores a base event and, if it is new, the events the rules derive from it, all in the
/// caller's transaction. Returns the events stored (none for a duplicate).
pub fn record_event(conn: &Connection, base: Event, rules: &RuleSet) -> Result<Vec<Event>> {
    if !insert_event(conn, &base)? {
        return Ok(Vec::new());
    }
    let mut stored = vec![base];
    for derived in rules.derive(&stored[0]) {
        if insert_event(conn, &derived)? {
            stored.push(derived);
        }
    }
    Ok(stored)
}

impl Store {
    /// Events matching the filter, newest first.
    pub fn list_events(&self, filter: &EventFilter) -> Result<Vec<StoredEvent>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM events
             WHERE (?1 IS NULL OR integration = ?1)
               AND (?2 IS NULL OR event_type = ?2)
               AND (?3 IS NULL OR received_at >= ?3)
             ORDER BY seq DESC LIMIT ?4"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![
                filter.integration,
                filter.event_type.map(|t| t.as_str()),
                filter.since.as_ref().map(format_time),
                i64::try_from(filter.limit).unwrap_or(i64::MAX),
            ],
            from_row,
        )?;
        collect(rows)
    }

    /// Events stored after `seq`, oldest first.
    pub fn events_after(&self, seq: i64, limit: usize) -> Result<Vec<StoredEvent>> {
        let sql = format!("SELECT {COLUMNS} FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![seq, i64::try_from(limit).unwrap_or(i64::MAX)],
            from_row,
        )?;
        collect(rows)
    }

    /// The last `count` events, oldest first.
    pub fn last_events(&self, count: usize) -> Result<Vec<StoredEvent>> {
        let mut events = self.list_events(&EventFilter {
            limit: count,
            ..Default::default()
        })?;
        events.reverse();
        Ok(events)
    }

    /// The dedupe key of one item's newest base event (by `externalId`, not derived by a rule)
    /// that starts with `prefix`.
    pub fn latest_item_key(
        &self,
        integration: &str,
        external_id: &str,
        prefix: &str,
    ) -> Result<Option<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT dedupe_key FROM events
             WHERE integration = ?1 AND dedupe_key >= ?2 AND dedupe_key < ?3 AND external_id = ?4
                 AND derived_from IS NULL
             ORDER BY seq DESC LIMIT 1",
        )?;
        let upper = format!("{prefix}\u{10FFFF}");
        Ok(stmt
            .query_row(params![integration, prefix, upper, external_id], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Whether the integration has an event with this dedupe key.
    pub fn has_dedupe_key(&self, integration: &str, key: &str) -> Result<bool> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM events WHERE integration = ?1 AND dedupe_key = ?2")?;
        Ok(stmt.exists(params![integration, key])?)
    }

    /// One event by its id or by a unique prefix of at least 8 characters.
    pub fn find_event(&self, id: &str) -> Result<Option<StoredEvent>> {
        if let Ok(uuid) = Uuid::parse_str(id) {
            let sql = format!("SELECT {COLUMNS} FROM events WHERE event_id = ?1");
            return self
                .conn
                .query_row(&sql, [uuid.to_string()], from_row)
                .optional()?
                .transpose();
        }
        let prefix = id.to_ascii_lowercase();
        if prefix.len() < 8 || !prefix.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(Exit::usage(format!(
                "`{id}` is not an event id (a UUID, or at least its first 8 characters)"
            ))
            .into());
        }
        let sql =
            format!("SELECT {COLUMNS} FROM events WHERE event_id >= ?1 AND event_id < ?2 LIMIT 2");
        let upper = format!("{prefix}\u{10FFFF}");
        let mut stmt = self.conn.prepare(&sql)?;
        let mut found = collect(stmt.query_map(params![prefix, upper], from_row)?)?;
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop()),
            _ => Err(Exit::usage(format!(
                "`{id}` matches several events; give more of the id"
            ))
            .into()),
        }
    }
}

type RowResult = Result<StoredEvent>;

fn collect(rows: impl Iterator<Item = rusqlite::Result<RowResult>>) -> Result<Vec<StoredEvent>> {
    rows.map(|row| row?).collect()
}

/// Reads one row; a row that does not parse is an error naming the event, not a panic.
fn from_row(row: &Row) -> rusqlite::Result<RowResult> {
    let seq: i64 = row.get(0)?;
    let event_id: String = row.get(1)?;
    let event_type: String = row.get(2)?;
    let occurred_at: String = row.get(7)?;
    let received_at: String = row.get(8)?;
    let data: String = row.get(10)?;
    let derived_from: Option<String> = row.get(11)?;
    let integration: String = row.get(3)?;
    let source_system: String = row.get(4)?;
    let external_id: Option<String> = row.get(5)?;
    let dedupe_key: String = row.get(6)?;
    let subject: Option<String> = row.get(9)?;
    Ok((|| {
        let parse_time = |field: &str, text: &str| -> Result<DateTime<Utc>> {
            let time = DateTime::parse_from_rfc3339(text)
                .with_context(|| format!("{field} `{text}` is not an RFC 3339 time"))?;
            Ok(time.with_timezone(&Utc))
        };
        let event = Event {
            event_id: Uuid::parse_str(&event_id)?,
            event_type: EventType::parse(&event_type)
                .with_context(|| format!("unknown event type `{event_type}`"))?,
            integration,
            source_system,
            external_id,
            dedupe_key,
            occurred_at: parse_time("occurredAt", &occurred_at)?,
            received_at: parse_time("receivedAt", &received_at)?,
            subject,
            data: serde_json::from_str(&data)?,
            derived_from: derived_from.as_deref().map(Uuid::parse_str).transpose()?,
        };
        Ok::<_, anyhow::Error>(StoredEvent { seq, event })
    })()
    .with_context(|| format!("reading stored event {event_id}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::now;

    fn event(integration: &str, key: &str, event_type: EventType) -> Event {
        Event::new(event_type, integration, "test", key.to_string(), now())
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn an_event_too_deep_to_read_back_is_refused() {
        let (_dir, mut store) = store();
        let mut deep = event("a", "deep", EventType::ExternalEventReceived);
        deep.data =
            serde_json::from_str(&format!("{}{}", "[".repeat(110), "]".repeat(110))).unwrap();
        let err = store.transaction(|tx| insert_event(tx, &deep)).unwrap_err();
        assert!(
            format!("{err:#}").contains("event deep: the payload nests"),
            "{err:#}"
        );
        assert!(store.last_events(10).unwrap().is_empty());
    }

    #[test]
    fn dedupe_is_per_integration() {
        let (_dir, mut store) = store();
        store
            .transaction(|tx| {
                assert!(insert_event(
                    tx,
                    &event("a", "k1", EventType::EmailReceived)
                )?);
                assert!(!insert_event(
                    tx,
                    &event("a", "k1", EventType::EmailReceived)
                )?);
                assert!(insert_event(
                    tx,
                    &event("b", "k1", EventType::EmailReceived)
                )?);
                Ok(())
            })
            .unwrap();
        assert_eq!(
            store
                .list_events(&EventFilter {
                    limit: 10,
                    ..Default::default()
                })
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn filters_and_order() {
        let (_dir, mut store) = store();
        store
            .transaction(|tx| {
                insert_event(tx, &event("a", "1", EventType::EmailReceived))?;
                insert_event(tx, &event("b", "2", EventType::GithubEventReceived))?;
                insert_event(tx, &event("a", "3", EventType::GithubEventReceived))?;
                Ok(())
            })
            .unwrap();
        let all = store
            .list_events(&EventFilter {
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        let keys: Vec<_> = all.iter().map(|e| e.event.dedupe_key.as_str()).collect();
        assert_eq!(keys, ["3", "2", "1"], "newest first");
        let only_a = store
            .list_events(&EventFilter {
                integration: Some("a".into()),
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(only_a.len(), 2);
        let typed = store
            .list_events(&EventFilter {
                integration: Some("a".into()),
                event_type: Some(EventType::GithubEventReceived),
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(typed.len(), 1);
        let future = store
            .list_events(&EventFilter {
                since: Some(now() + chrono::Duration::hours(1)),
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert!(future.is_empty());
        let limited = store
            .list_events(&EventFilter {
                limit: 1,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(limited[0].event.dedupe_key, "3");
        let after = store.events_after(all[2].seq, 10).unwrap();
        assert_eq!(after.len(), 2);
        assert_eq!(after[0].event.dedupe_key, "2");
    }

    #[test]
    fn find_by_id_or_prefix() {
        let (_dir, mut store) = store();
        let e = event("a", "1", EventType::EmailReceived);
        store.transaction(|tx| insert_event(tx, &e)).unwrap();
        let id = e.event_id.to_string();
        assert_eq!(store.find_event(&id).unwrap().unwrap().event, e);
        assert_eq!(store.find_event(&id[..13]).unwrap().unwrap().event, e);
        assert!(store.find_event("ffffffff").unwrap().is_none());
        assert!(store.find_event("abc").is_err());
    }
}
