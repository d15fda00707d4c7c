//! The webhook inbox: deliveries stored before the `202`, claimed by workers, finished in the
//! same transaction as their events, retried with backoff, or parked as dead letters.

use anyhow::Result;
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::Store;

/// A verified delivery, about to be stored.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub delivery_id: String,
    pub integration: String,
    pub provider_delivery_id: String,
    pub received_at: DateTime<Utc>,
    pub content_type: String,
    /// JSON object of the headers the transforms read; never signature or auth headers.
    pub headers: String,
    pub body: Vec<u8>,
}

/// What storing a delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enqueued {
    /// Stored; the new delivery id.
    New(String),
    /// The provider sent this delivery before; the first delivery id.
    Duplicate(String),
}

/// A stored delivery, as workers see it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub delivery_id: String,
    pub integration: String,
    pub provider_delivery_id: String,
    pub received_at: String,
    pub content_type: String,
    pub headers: String,
    pub body: Vec<u8>,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// A dead letter as `deadletters list` shows it: without the body, so thousands of large ones
/// are listed without loading them.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    pub delivery_id: String,
    pub integration: String,
    pub provider_delivery_id: String,
    pub received_at: String,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// Retry times are kept to the millisecond, in one fixed format so they compare as text.
fn stamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

const COLUMNS: &str = "delivery_id, integration, provider_delivery_id, received_at, content_type, \
    headers, body, attempts, last_error";

fn from_row(row: &rusqlite::Row) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        delivery_id: row.get(0)?,
        integration: row.get(1)?,
        provider_delivery_id: row.get(2)?,
        received_at: row.get(3)?,
        content_type: row.get(4)?,
        headers: row.get(5)?,
        body: row.get(6)?,
        attempts: row.get(7)?,
        last_error: row.get(8)?,
    })
}

/// Stores a delivery unless the provider's delivery id is already stored for the integration.
pub fn enqueue(conn: &Connection, d: &NewDelivery) -> Result<Enqueued> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO deliveries (delivery_id, integration, provider_delivery_id, received_at,
                 content_type, headers, body, next_attempt_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (integration, provider_delivery_id) DO NOTHING",
        )?
        .execute(params![
            d.delivery_id,
            d.integration,
            d.provider_delivery_id,
            crate::event::format_time(&d.received_at),
            d.content_type,
            d.headers,
            d.body,
            stamp(d.received_at),
        ])?;
    if inserted == 1 {
        return Ok(Enqueued::New(d.delivery_id.clone()));
    }
    let first: String = conn
        .prepare_cached(
            "SELECT delivery_id FROM deliveries WHERE integration = ?1 AND provider_delivery_id = ?2",
        )?
        .query_row(params![d.integration, d.provider_delivery_id], |r| r.get(0))?;
    Ok(Enqueued::Duplicate(first))
}

/// Marks a delivery processed, in the transaction that stored its events. Returns false when
/// it was no longer pending (dropped or finished meanwhile).
pub fn finish(conn: &Connection, delivery_id: &str) -> Result<bool> {
    let changed = conn
        .prepare_cached(
            "UPDATE deliveries SET state = 'done', attempts = attempts + 1, last_error = NULL
             WHERE delivery_id = ?1 AND state = 'pending'",
        )?
        .execute([delivery_id])?;
    Ok(changed == 1)
}

/// The attempts made so far on a delivery that is still pending and due, or `None` when it
/// is not (finished, dead, dropped, or attempted by another worker since it was listed).
pub fn due_attempts(
    conn: &Connection,
    delivery_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<u32>> {
    Ok(conn
        .prepare_cached(
            "SELECT attempts FROM deliveries
             WHERE delivery_id = ?1 AND state = 'pending' AND next_attempt_at <= ?2",
        )?
        .query_row(params![delivery_id, stamp(now)], |r| r.get(0))
        .optional()?)
}

/// Records a failed attempt: retried at `next_attempt_at`, or a dead letter when `dead`.
pub fn fail(
    conn: &Connection,
    delivery_id: &str,
    error: &str,
    next_attempt_at: DateTime<Utc>,
    dead: bool,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE deliveries
         SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3,
             state = CASE WHEN ?4 THEN 'dead' ELSE 'pending' END
         WHERE delivery_id = ?1 AND state = 'pending'",
    )?
    .execute(params![delivery_id, error, stamp(next_attempt_at), dead])?;
    Ok(())
}

impl Store {
    /// Deletes up to `limit` processed (`done`) deliveries received before `before`; returns how
    /// many. Their events stay, and the events' dedupe keys keep a provider's late retry of one
    /// from making a second event: only its answer changes, `202` with a new deliveryId instead
    /// of `200`. Dead letters and pending deliveries are never pruned. Delivery ids are UUIDv7,
    /// so the primary key orders them by arrival: no index on `received_at` is needed, nor
    /// paid for on every insert.
    pub fn prune_done(&self, before: DateTime<Utc>, limit: usize) -> Result<usize> {
        let millis = u128::try_from(before.timestamp_millis()).unwrap_or(0);
        let first_kept = uuid::Uuid::from_u128(millis << 80).hyphenated().to_string();
        Ok(self
            .conn
            .prepare_cached(
                "DELETE FROM deliveries WHERE rowid IN (
                 SELECT rowid FROM deliveries
                 WHERE delivery_id < ?1 AND state = 'done' LIMIT ?2)",
            )?
            .execute(params![first_kept, limit as i64])?)
    }

    /// Pending deliveries whose next attempt is due, oldest first.
    pub fn due_deliveries(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM deliveries WHERE state = 'pending' AND next_attempt_at <= ?1
             ORDER BY next_attempt_at, rowid LIMIT ?2"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![stamp(now), limit as i64], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The number of pending deliveries (the queue depth).
    pub fn pending_count(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM deliveries WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )?)
    }

    /// Every dead letter, oldest first.
    pub fn dead_letters(&self) -> Result<Vec<DeadLetter>> {
        let mut stmt = self.conn.prepare(
            "SELECT delivery_id, integration, provider_delivery_id, received_at, attempts, last_error
             FROM deliveries WHERE state = 'dead' ORDER BY received_at, rowid",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(DeadLetter {
                delivery_id: row.get(0)?,
                integration: row.get(1)?,
                provider_delivery_id: row.get(2)?,
                received_at: row.get(3)?,
                attempts: row.get(4)?,
                last_error: row.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One delivery by id, whatever its state.
    pub fn delivery(&self, delivery_id: &str) -> Result<Option<(Delivery, String)>> {
        let sql = format!("SELECT {COLUMNS}, state FROM deliveries WHERE delivery_id = ?1");
        Ok(self
            .conn
            .query_row(&sql, [delivery_id], |row| Ok((from_row(row)?, row.get(9)?)))
            .optional()?)
    }

    /// Puts dead letters back in the queue, due now, with a fresh attempt count. `None` means
    /// all of them. Returns the ids requeued; with an id that is not a dead letter, nothing
    /// changes and the error names it (exit 2).
    pub fn retry_dead(
        &mut self,
        ids: Option<&[String]>,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>> {
        self.change_dead(ids, |tx, id| {
            Ok(tx.execute(
                "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?2
                 WHERE delivery_id = ?1 AND state = 'dead'",
                params![id, stamp(now)],
            )? == 1)
        })
    }

    /// Deletes dead letters. Returns the ids deleted; with an id that is not a dead letter,
    /// nothing changes and the error names it (exit 2).
    pub fn drop_dead(&mut self, ids: &[String]) -> Result<Vec<String>> {
        self.change_dead(Some(ids), |tx, id| {
            Ok(tx.execute(
                "DELETE FROM deliveries WHERE delivery_id = ?1 AND state = 'dead'",
                [id],
            )? == 1)
        })
    }

    fn change_dead(
        &mut self,
        ids: Option<&[String]>,
        change: impl Fn(&Connection, &str) -> Result<bool>,
    ) -> Result<Vec<String>> {
        self.transaction(|tx| {
            // Read in this transaction, `--all` cannot race a `drop`.
            let ids = match ids {
                Some(ids) => ids.to_vec(),
                None => all_dead(tx)?,
            };
            let listed =
                "not dead letters: {} (nothing changed; `trmctl deadletters list` shows them)";
            super::change_each(ids, |id| change(tx, id), listed)
        })
    }
}

/// The ids of every dead letter, read in the caller's transaction (`retry --all`).
fn all_dead(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT delivery_id FROM deliveries WHERE state = 'dead' ORDER BY received_at, rowid",
    )?;
    let ids = stmt.query_map([], |r| r.get(0))?;
    Ok(ids.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_done_deliveries_older_than_the_cut_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let made_at = |when: &str, n: u16| {
            let t = time(when);
            let ts = uuid::Timestamp::from_unix(uuid::NoContext, t.timestamp() as u64, n.into());
            uuid::Uuid::new_v7(ts).to_string()
        };
        let rows = [
            (made_at("2026-10-01T00:00:00Z", 1), "done"),
            (made_at("2026-10-01T00:00:00Z", 2), "dead"),
            (made_at("2026-10-01T00:00:00Z", 3), "pending"),
            (made_at("2026-11-20T00:00:00Z", 4), "done"),
        ];
        store
            .transaction(|tx| {
                for (id, state) in &rows {
                    tx.execute(
                        "INSERT INTO deliveries (delivery_id, integration, provider_delivery_id,
                             received_at, content_type, headers, body, state, next_attempt_at)
                         VALUES (?1, 'gh', ?1, '', 'application/json', '{}', x'7b7d', ?2, '')",
                        params![id, state],
                    )?;
                }
                Ok(())
            })
            .unwrap();
        let cut = time("2026-11-01T00:00:00Z");
        assert_eq!(store.prune_done(cut, 100).unwrap(), 1);
        assert_eq!(store.prune_done(cut, 100).unwrap(), 0);
        for (id, state) in &rows[1..] {
            assert!(store.delivery(id).unwrap().is_some(), "{state} stays");
        }
        assert!(store.delivery(&rows[0].0).unwrap().is_none());
    }

    fn time(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn delivery(id: &str, provider_id: &str) -> NewDelivery {
        NewDelivery {
            delivery_id: id.into(),
            integration: "hook".into(),
            provider_delivery_id: provider_id.into(),
            received_at: time("2026-11-24T10:00:00Z"),
            content_type: "application/json".into(),
            headers: "{}".into(),
            body: b"{}".to_vec(),
        }
    }

    /// Stores a batch in one transaction, as the inbox writer does.
    fn enqueue_batch(store: &mut Store, batch: &[NewDelivery]) -> Vec<Enqueued> {
        store
            .transaction(|tx| batch.iter().map(|d| enqueue(tx, d)).collect())
            .unwrap()
    }

    #[test]
    fn duplicates_answer_with_the_first_id_even_within_a_batch() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let out = enqueue_batch(
            &mut store,
            &[
                delivery("d1", "p1"),
                delivery("d2", "p1"),
                delivery("d3", "p2"),
            ],
        );
        assert_eq!(
            out,
            [
                Enqueued::New("d1".into()),
                Enqueued::Duplicate("d1".into()),
                Enqueued::New("d3".into())
            ]
        );
        let out = enqueue_batch(&mut store, &[delivery("d4", "p2")]);
        assert_eq!(out, [Enqueued::Duplicate("d3".into())]);
        assert_eq!(store.pending_count().unwrap(), 2);
    }

    #[test]
    fn failures_retry_then_die_and_come_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        enqueue_batch(&mut store, &[delivery("d1", "p1")]);
        let now = time("2026-11-24T10:00:00Z");
        assert_eq!(store.due_deliveries(now, 10).unwrap().len(), 1);
        store
            .transaction(|tx| fail(tx, "d1", "boom", time("2026-11-24T10:05:00Z"), false))
            .unwrap();
        assert!(
            store.due_deliveries(now, 10).unwrap().is_empty(),
            "not due until the backoff ends"
        );
        store
            .transaction(|tx| fail(tx, "d1", "boom again", now, true))
            .unwrap();
        let dead = store.dead_letters().unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].attempts, 2);
        assert_eq!(dead[0].last_error.as_deref(), Some("boom again"));
        assert_eq!(store.retry_dead(None, now).unwrap(), ["d1"]);
        assert_eq!(store.due_deliveries(now, 10).unwrap()[0].attempts, 0);
        store
            .transaction(|tx| fail(tx, "d1", "x", now, true))
            .unwrap();
        // One id that is not a dead letter: nothing is dropped.
        let err = store.drop_dead(&["d1".into(), "nope".into()]).unwrap_err();
        assert!(err.to_string().contains("not dead letters: nope"), "{err}");
        assert!(store.delivery("d1").unwrap().is_some());
        // Named twice, or in capitals, it is still one id.
        assert_eq!(
            store.drop_dead(&["d1".into(), "D1".into()]).unwrap(),
            ["d1"]
        );
        assert!(store.delivery("d1").unwrap().is_none());
    }
}
