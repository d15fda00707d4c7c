//! The actions' outbox: per action, a cursor into the event stream, and what each action
//! created for which event (`action_records`), so a retry never creates an object twice and
//! an object that comes back through a poll or a webhook is recognised as trmctl's own.

use anyhow::{Context, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Store, StoredEvent, insert_event};
use crate::event::Event;

/// One action's stored state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionState {
    pub name: String,
    /// Every event up to this one was acted on, skipped or given up on.
    pub last_seq: i64,
    /// Attempts at the next event (each counted before it is made).
    pub attempts: u32,
    /// Of those, the ones that got no answer about it (or were made while the account awaited
    /// re-authorization): they never count towards `max_attempts`.
    pub unanswered: u32,
    /// Of those, the ones without an answer since the last answered failure, leaving out the
    /// waits for re-authorization: an outage of the far end, which is given up on after
    /// [`crate::retry::MAX_UNANSWERED`].
    pub unanswered_in_a_row: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// An event an action gave up on after `max_attempts`.
#[derive(Debug, Clone)]
pub struct GaveUp {
    pub event_id: String,
    pub attempts: u32,
    pub error: String,
}

/// What an action created for one event.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionRecord {
    pub action: String,
    pub event_id: String,
    pub kind: String,
    pub external_id: String,
}

/// What an action last wrote to an object that follows a source item (a Google Task kept up to
/// date with later versions of the same email, row or record).
#[derive(Debug, Clone, PartialEq)]
pub struct ActionVersion {
    pub action: String,
    /// The causing event's integration.
    pub integration: String,
    /// The causing event's `externalId`.
    pub source_id: String,
    /// The object's id (a task id).
    pub external_id: String,
    /// The event that created the object (whose marker its notes keep).
    pub first_event_id: String,
    /// The object's etag after trmctl's last write.
    pub etag: Option<String>,
    /// The object's `updated` time after trmctl's last write, as the provider wrote it.
    pub remote_updated: Option<String>,
    /// `occurredAt` of the event last written.
    pub occurred_at: DateTime<Utc>,
}

use super::outbox::{next_attempt, now_stamp};

/// How far back a newly configured action acts: on the events of the last hour (those the
/// user likely added it for), not on the whole history, which would post a message or create
/// a task for every matching event ever stored.
const NEW_ACTION_LOOKBACK: std::time::Duration = std::time::Duration::from_secs(3600);

impl Store {
    /// A state row for each configured action; a new one starts at the events received in the
    /// last hour ([`NEW_ACTION_LOOKBACK`]).
    pub fn sync_actions<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) -> Result<()> {
        let recent = Utc::now() - chrono::Duration::from_std(NEW_ACTION_LOOKBACK)?;
        self.add_cursor_rows("actions", names, Some(recent))
    }

    /// An action's state, if it has a row.
    pub fn action_state(&self, name: &str) -> Result<Option<ActionState>> {
        let row = self
            .conn
            .query_row(
                "SELECT name, last_seq, attempts, next_attempt_at, last_error, unanswered,
                     unanswered_in_a_row
                 FROM actions WHERE name = ?1",
                [name],
                |r| {
                    Ok((
                        ActionState {
                            name: r.get(0)?,
                            last_seq: r.get(1)?,
                            attempts: r.get(2)?,
                            next_attempt_at: None,
                            last_error: r.get(4)?,
                            unanswered: r.get(5)?,
                            unanswered_in_a_row: r.get(6)?,
                        },
                        r.get::<_, Option<String>>(3)?,
                    ))
                },
            )
            .optional()?;
        let Some((mut state, next)) = row else {
            return Ok(None);
        };
        state.next_attempt_at = next_attempt(next, "action", name)?;
        Ok(Some(state))
    }

    /// The first event of type `on` after `after` (of one of `integrations`, when given).
    pub fn next_for_action(
        &self,
        after: i64,
        on: &str,
        integrations: Option<&[String]>,
    ) -> Result<Option<StoredEvent>> {
        let integrations = integrations.map(|l| serde_json::json!(l).to_string());
        let next: Option<i64> = self.conn.query_row(
            "SELECT (SELECT seq FROM events WHERE seq > ?1 AND event_type = ?2
                 AND (?3 IS NULL OR integration IN (SELECT value FROM json_each(?3)))
                 ORDER BY seq LIMIT 1)",
            params![after, on, integrations],
            |r| r.get(0),
        )?;
        match next {
            Some(seq) => Ok(self.events_after(seq - 1, 1)?.pop()),
            None => Ok(None),
        }
    }

    /// How many events wait for an action.
    pub fn action_pending(
        &self,
        after: i64,
        on: &str,
        integrations: Option<&[String]>,
    ) -> Result<i64> {
        let integrations = integrations.map(|l| serde_json::json!(l).to_string());
        Ok(self.conn.query_row(
            "SELECT count(*) FROM events WHERE seq > ?1 AND event_type = ?2
                 AND (?3 IS NULL OR integration IN (SELECT value FROM json_each(?3)))",
            params![after, on, integrations],
            |r| r.get(0),
        )?)
    }

    /// The external id an action stored for an event, if it created something for it.
    pub fn action_record(&self, action: &str, event_id: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT external_id FROM action_records WHERE action = ?1 AND event_id = ?2",
                params![action, event_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// What an action last wrote for a source item (integration, the source's `externalId`).
    pub fn action_version(
        &self,
        action: &str,
        integration: &str,
        source_id: &str,
    ) -> Result<Option<ActionVersion>> {
        let row = self
            .conn
            .query_row(
                "SELECT external_id, first_event_id, etag, remote_updated, occurred_at
                 FROM action_versions WHERE action = ?1 AND integration = ?2 AND source_id = ?3",
                params![action, integration, source_id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                },
            )
            .optional()?;
        let Some((external_id, first_event_id, etag, remote_updated, occurred_at)) = row else {
            return Ok(None);
        };
        let occurred_at = DateTime::parse_from_rfc3339(&occurred_at)
            .map(|t| t.with_timezone(&Utc))
            .with_context(|| format!("reading the version time of action {action}"))?;
        Ok(Some(ActionVersion {
            action: action.to_string(),
            integration: integration.to_string(),
            source_id: source_id.to_string(),
            external_id,
            first_event_id,
            etag,
            remote_updated,
            occurred_at,
        }))
    }

    /// The kind of action and the causing event of each object recorded under this external
    /// id.
    pub fn creators_of(&self, external_id: &str) -> Result<Vec<(String, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT kind, event_id FROM action_records WHERE external_id = ?1 LIMIT 16",
        )?;
        let rows = stmt.query_map([external_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every record of an action, in creation order.
    pub fn action_records(&self, action: &str) -> Result<Vec<ActionRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT action, event_id, kind, external_id FROM action_records
             WHERE action = ?1 ORDER BY created_at, rowid",
        )?;
        let rows = stmt.query_map([action], |r| {
            Ok(ActionRecord {
                action: r.get(0)?,
                event_id: r.get(1)?,
                kind: r.get(2)?,
                external_id: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Moves the cursor past an event; with `created`, also records what the action created
    /// and stores its `externalTaskCreated` event; with `version`, records what it last wrote
    /// for the source item; with `gave_up`, records the event as a dead letter; all in one
    /// transaction. False when the cursor was no longer at `from` (nothing changed).
    pub fn action_done(
        &mut self,
        name: &str,
        from: i64,
        seq: i64,
        created: Option<(&ActionRecord, &Event)>,
        version: Option<&ActionVersion>,
        gave_up: Option<&GaveUp>,
    ) -> Result<bool> {
        let at = now_stamp();
        self.transaction(|tx| {
            let error = gave_up.map(|g| g.error.as_str());
            let moved = tx.execute(
                "UPDATE actions SET last_seq = ?3, attempts = 0, unanswered = 0,
                     unanswered_in_a_row = 0, next_attempt_at = NULL, last_error = ?4, updated_at = ?5
                 WHERE name = ?1 AND last_seq = ?2",
                params![name, from, seq, error, at],
            )?;
            if moved == 1
                && let Some(g) = gave_up
            {
                tx.execute(
                    "INSERT INTO action_dead_letters (action, seq, event_id, attempts, last_error, failed_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                    params![name, seq, g.event_id, g.attempts, g.error, at],
                )?;
            }
            if moved == 1
                && let Some((record, event)) = created
            {
                tx.execute(
                    "INSERT INTO action_records (action, event_id, kind, external_id, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                    params![
                        record.action,
                        record.event_id,
                        record.kind,
                        record.external_id,
                        at
                    ],
                )?;
                insert_event(tx, event)?;
            }
            if moved == 1
                && let Some(v) = version
            {
                tx.execute(
                    "INSERT INTO action_versions (action, integration, source_id, external_id,
                         first_event_id, etag, remote_updated, occurred_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT (action, integration, source_id) DO UPDATE SET
                         external_id = excluded.external_id, etag = excluded.etag,
                         remote_updated = excluded.remote_updated,
                         occurred_at = excluded.occurred_at, updated_at = excluded.updated_at",
                    params![
                        v.action,
                        v.integration,
                        v.source_id,
                        v.external_id,
                        v.first_event_id,
                        v.etag,
                        v.remote_updated,
                        v.occurred_at.to_rfc3339_opts(SecondsFormat::Millis, true),
                        at
                    ],
                )?;
            }
            Ok(moved == 1)
        })
    }

    /// Counts an attempt before it is made: should it reach the provider and trmctl die (or
    /// fail to record it), the next step sees `attempts > 0` and looks for the object first.
    pub fn action_attempting(&self, name: &str, from: i64, attempts: u32) -> Result<()> {
        self.conn.execute(
            "UPDATE actions SET attempts = ?3, updated_at = ?4 WHERE name = ?1 AND last_seq = ?2",
            params![name, from, attempts, now_stamp()],
        )?;
        Ok(())
    }

    /// Records a failed attempt at the event after `from` with the counts of [`ActionState`];
    /// the cursor stays.
    pub fn action_retry(
        &self,
        name: &str,
        from: i64,
        (attempts, unanswered, in_a_row): (u32, u32, u32),
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<bool> {
        let changed = self.conn.execute(
            "UPDATE actions SET attempts = ?3, unanswered = ?7, unanswered_in_a_row = ?8,
                 next_attempt_at = ?4, last_error = ?5, updated_at = ?6
             WHERE name = ?1 AND last_seq = ?2",
            params![
                name,
                from,
                attempts,
                next_attempt_at.to_rfc3339_opts(SecondsFormat::Millis, true),
                error,
                now_stamp(),
                unanswered,
                in_a_row
            ],
        )?;
        Ok(changed == 1)
    }
}
