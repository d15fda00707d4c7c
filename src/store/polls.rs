//! Polling state: cursors, committed with the events of each page, and the registry's sync
//! times and error counts.

use anyhow::Result;
use rusqlite::{OptionalExtension, params};
use serde_json::{Value, json};

use super::{Store, record_event};
use crate::event::{Event, EventType, format_time, now};
use crate::rules::RuleSet;

/// How a poll ended, for the registry.
pub enum PollOutcome<'a> {
    Succeeded,
    Failed { error: &'a str, threshold: u32 },
    ReauthRequired { error: &'a str },
}

impl Store {
    /// The stored cursor of an integration, as stored (it may not even be JSON).
    pub fn cursor_text(&self, integration: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT cursor FROM cursors WHERE integration = ?1",
                [integration],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The stored cursor of an integration.
    pub fn cursor(&self, integration: &str) -> Result<Option<Value>> {
        match self.cursor_text(integration)? {
            None => Ok(None),
            Some(text) => Ok(Some(serde_json::from_str(&text).map_err(|e| {
                anyhow::anyhow!("the stored cursor of {integration} is corrupt ({e}); run `trmctl poll --full {integration}`")
            })?)),
        }
    }

    /// Stores a page's events and moves the cursor past them, in one transaction: a crash
    /// leaves either both or neither. Returns the number of events stored (duplicates are not).
    pub fn commit_page(
        &mut self,
        integration: &str,
        events: Vec<Event>,
        cursor: &Value,
        rules: &RuleSet,
    ) -> Result<usize> {
        self.transaction(|tx| {
            let mut stored = 0;
            for event in events {
                stored += record_event(tx, event, rules)?.len();
            }
            tx.execute(
                "INSERT INTO cursors (integration, cursor, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (integration) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
                params![integration, cursor.to_string(), format_time(&now())],
            )?;
            Ok(stored)
        })
    }

    /// Forgets a cursor (`--full`, or a provider that rejected it).
    pub fn clear_cursor(&mut self, integration: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM cursors WHERE integration = ?1", [integration])?;
        Ok(())
    }

    /// After a new authorization: integrations stopped for re-authorization run again, now.
    pub fn reactivate(&mut self, names: &[String]) -> Result<()> {
        self.transaction(|tx| {
            for name in names {
                tx.execute(
                    "UPDATE integrations SET status = 'active', error_count = 0, last_error = NULL, next_sync_time = NULL
                     WHERE name = ?1 AND status = 'reauthRequired'",
                    [name],
                )?;
            }
            Ok(())
        })
    }

    /// Enabled integrations whose next sync time has come (or that never synced).
    pub fn due_integrations(&self, at: &str) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT name FROM integrations
             WHERE enabled = 1 AND status <> 'reauthRequired' AND (next_sync_time IS NULL OR next_sync_time <= ?1)
             ORDER BY name",
        )?;
        let rows = stmt.query_map([at], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Whether an integration may be polled at once, on a Gmail notification: it is enabled,
    /// its account needs no re-authorization, and it is not failing with its next try still to
    /// come (a healthy one's next sync time is only its interval, which a notification beats).
    pub fn pollable_now(&self, name: &str, at: &str) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM integrations
                 WHERE name = ?1 AND enabled = 1 AND status <> 'reauthRequired'
                   AND (error_count = 0 OR next_sync_time IS NULL OR next_sync_time <= ?2)",
                params![name, at],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Records how a poll ended. A failure that reaches the threshold turns the integration's
    /// status to `error` and records one `integrationFailed` event for that change.
    pub fn record_poll(
        &mut self,
        integration: &str,
        outcome: PollOutcome,
        next_sync: &str,
    ) -> Result<()> {
        let at = now();
        let stamp = format_time(&at);
        self.transaction(|tx| {
            match outcome {
                PollOutcome::Succeeded => {
                    tx.execute(
                        "UPDATE integrations SET status = 'active', error_count = 0, last_error = NULL,
                             last_sync_time = ?2, last_success_time = ?2, next_sync_time = ?3
                         WHERE name = ?1",
                        params![integration, stamp, next_sync],
                    )?;
                }
                PollOutcome::ReauthRequired { error } => {
                    tx.execute(
                        "UPDATE integrations SET status = 'reauthRequired', error_count = error_count + 1,
                             last_error = ?2, last_sync_time = ?3, next_sync_time = ?4
                         WHERE name = ?1",
                        params![integration, error, stamp, next_sync],
                    )?;
                }
                PollOutcome::Failed { error, threshold } => {
                    let (count, status): (i64, String) = tx.query_row(
                        "UPDATE integrations SET error_count = error_count + 1, last_error = ?2,
                             last_sync_time = ?3, next_sync_time = ?4
                         WHERE name = ?1 RETURNING error_count, status",
                        params![integration, error, stamp, next_sync],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )?;
                    if count >= i64::from(threshold) && status == "active" {
                        tx.execute("UPDATE integrations SET status = 'error' WHERE name = ?1", [integration])?;
                        let mut event = Event::new(
                            EventType::IntegrationFailed,
                            integration,
                            "trmctl",
                            format!("integrationFailed:{integration}:{stamp}"),
                            at,
                        );
                        event.subject = Some(format!("{integration} failed {count} times in a row"));
                        event.data = json!({ "integration": integration, "errorCount": count, "lastError": error });
                        record_event(tx, event, &RuleSet::default())?;
                    }
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_enabled_authorized_integrations_not_backing_off_are_pollable_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let (now, later) = ("2026-12-04T10:00:00.000Z", "2026-12-04T10:05:00.000Z");
        for (name, enabled, status, errors) in [
            ("healthy", 1, "active", 0),
            ("off", 0, "active", 0),
            ("reauth", 1, "reauthRequired", 0),
            ("failing", 1, "error", 3),
        ] {
            store
                .conn
                .execute(
                    "INSERT INTO integrations (name, kind, enabled, status, error_count, next_sync_time)
                     VALUES (?1, 'gmail', ?2, ?3, ?4, ?5)",
                    params![name, enabled, status, errors, later],
                )
                .unwrap();
        }
        let pollable = |name: &str, at: &str| store.pollable_now(name, at).unwrap();
        assert!(
            pollable("healthy", now),
            "a notification beats the interval"
        );
        assert!(!pollable("off", now));
        assert!(!pollable("reauth", now));
        assert!(!pollable("failing", now), "its backoff holds");
        assert!(pollable("failing", later));
        assert!(!pollable("unknown", now));
    }
}
