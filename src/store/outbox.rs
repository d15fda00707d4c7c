//! The sinks' outbox: per sink, a cursor into the event stream and the state of the next event.
//!
//! Events are never copied into a queue: the next event for a sink is the first stored event
//! after its `last_seq` that passes its filters, so a sink added later sees the whole history
//! and one event goes to many sinks without fan-out rows. Each outcome is one small
//! transaction that moves the cursor only from where the caller read it (compare-and-set), so
//! an event is delivered, dead-lettered or retried, never skipped. This module also carries
//! the in-process signal that events were committed, which wakes `trmctl serve`'s sinks.

use std::cell::Cell;
use std::sync::LazyLock;

use anyhow::{Context, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{OptionalExtension, params};
use tokio::sync::watch;

use super::{Store, StoredEvent};
use crate::event::format_time;

thread_local! {
    /// Set when this thread's open transaction inserted an event.
    static INSERTED: Cell<bool> = const { Cell::new(false) };
}

/// Bumped after every commit that stored an event in this process.
static STORED: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::channel(0).0);

/// A receiver that changes whenever this process commits new events.
pub fn events_stored() -> watch::Receiver<u64> {
    STORED.subscribe()
}

pub(super) fn note_event_inserted() {
    INSERTED.set(true);
}

pub(super) fn transaction_started() {
    INSERTED.set(false);
}

pub(super) fn transaction_committed() {
    if INSERTED.replace(false) {
        STORED.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// Which events a sink takes; `None` lets all through.
#[derive(Debug, Clone, Copy, Default)]
pub struct SinkFilter<'a> {
    pub event_types: Option<&'a [String]>,
    pub integrations: Option<&'a [String]>,
}

impl SinkFilter<'_> {
    /// The filters as JSON arrays, for `json_each` in SQL.
    fn params(&self) -> (Option<String>, Option<String>) {
        let json = |list: Option<&[String]>| list.map(|l| serde_json::json!(l).to_string());
        (json(self.event_types), json(self.integrations))
    }
}

/// `?2` and `?3` are the filters' JSON arrays.
const FILTERED: &str = "(?2 IS NULL OR event_type IN (SELECT value FROM json_each(?2)))
    AND (?3 IS NULL OR integration IN (SELECT value FROM json_each(?3)))";

/// One sink's stored state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SinkState {
    pub name: String,
    /// Every event up to this one was delivered or dead-lettered.
    pub last_seq: i64,
    /// Failed attempts at the next event.
    pub attempts: u32,
    /// Attempts in a row at the next event that got no answer (see [`Store::sink_retry`]).
    pub unanswered: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub disabled: bool,
    pub disabled_reason: Option<String>,
}

/// A failed attempt, to be tried again.
#[derive(Debug, Clone, Copy)]
pub struct Retry<'a> {
    /// Failed attempts at the event so far (this one included, if it was answered).
    pub attempts: u32,
    /// Attempts in a row that got no answer (this one included, if it got none).
    pub unanswered: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub error: &'a str,
}

/// Retry times are kept to the millisecond.
fn stamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A stored next-attempt time of a sink or an action, read back.
pub(super) fn next_attempt(
    text: Option<String>,
    kind: &str,
    name: &str,
) -> Result<Option<DateTime<Utc>>> {
    text.map(|text| DateTime::parse_from_rfc3339(&text).map(|t| t.with_timezone(&Utc)))
        .transpose()
        .with_context(|| format!("reading the next attempt time of {kind} {name}"))
}

pub(super) fn now_stamp() -> String {
    format_time(&Utc::now())
}

impl Store {
    /// A state row for each configured sink; new ones start before the first event. Rows of
    /// sinks no longer configured stay, with their cursor, in case the user puts them back.
    pub fn sync_sinks<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) -> Result<()> {
        self.add_cursor_rows("sinks", names, None)
    }

    /// Adds a row for each name missing from a consumer's cursor table (`sinks`, `actions`):
    /// a new consumer starts before the first event, or with `after`, past every event
    /// received before that time.
    pub(super) fn add_cursor_rows<'a>(
        &mut self,
        table: &'static str,
        names: impl IntoIterator<Item = &'a str>,
        after: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let names: Vec<&str> = names.into_iter().collect();
        let known = format!("SELECT 1 FROM {table} WHERE name = ?1");
        if self.all_exist(&known, names.iter().map(|n| [n]))? {
            return Ok(());
        }
        let at = now_stamp();
        // Just before the first event received since then: `seq` is the order events were
        // stored in, not received in (a retried old delivery is stored late), so every one
        // received since is after it. With none, past them all.
        let sql = format!(
            "INSERT INTO {table} (name, last_seq, updated_at)
             VALUES (?1, coalesce((SELECT min(seq) - 1 FROM events WHERE received_at >= ?3),
                                  (SELECT max(seq) FROM events), 0), ?2)
             ON CONFLICT (name) DO NOTHING"
        );
        // Times compare as text in the stored format; before year 1 nothing is.
        let after = after.map_or_else(|| "0000".to_string(), |t| format_time(&t));
        self.transaction(|tx| {
            let mut insert = tx.prepare_cached(&sql)?;
            for name in names {
                insert.execute(params![name, at, after])?;
            }
            Ok(())
        })
    }

    /// A sink's state, if it has a row.
    pub fn sink_state(&self, name: &str) -> Result<Option<SinkState>> {
        let row = self
            .conn
            .query_row(
                "SELECT name, last_seq, attempts, next_attempt_at, last_error, disabled, disabled_reason,
                     unanswered
                 FROM sinks WHERE name = ?1",
                [name],
                |r| {
                    Ok((
                        SinkState {
                            name: r.get(0)?,
                            last_seq: r.get(1)?,
                            attempts: r.get(2)?,
                            next_attempt_at: None,
                            last_error: r.get(4)?,
                            disabled: r.get(5)?,
                            disabled_reason: r.get(6)?,
                            unanswered: r.get(7)?,
                        },
                        r.get::<_, Option<String>>(3)?,
                    ))
                },
            )
            .optional()?;
        let Some((mut state, next)) = row else {
            return Ok(None);
        };
        state.next_attempt_at = next_attempt(next, "sink", name)?;
        Ok(Some(state))
    }

    /// The first event after `after` that passes the filter. When none does, the cursor moves
    /// to the newest event seen in the same snapshot, so later calls do not scan the events
    /// filtered out again (events commit in `seq` order, so none can appear behind it).
    pub fn next_for_sink(
        &self,
        name: &str,
        after: i64,
        filter: SinkFilter,
    ) -> Result<Option<StoredEvent>> {
        let (types, integrations) = filter.params();
        let (newest, next): (Option<i64>, Option<i64>) = self.conn.query_row(
            &format!(
                "SELECT (SELECT max(seq) FROM events),
                        (SELECT seq FROM events WHERE seq > ?1 AND {FILTERED} ORDER BY seq LIMIT 1)"
            ),
            params![after, types, integrations],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        match (next, newest) {
            (Some(seq), _) => Ok(self.events_after(seq - 1, 1)?.pop()),
            (None, Some(newest)) if newest > after => {
                self.conn.execute(
                    "UPDATE sinks SET last_seq = ?3, attempts = 0, unanswered = 0,
                         next_attempt_at = NULL
                     WHERE name = ?1 AND last_seq = ?2",
                    params![name, after, newest],
                )?;
                Ok(None)
            }
            (None, _) => Ok(None),
        }
    }

    /// How many events after `after` pass the filter.
    pub fn sink_pending(&self, after: i64, filter: SinkFilter) -> Result<i64> {
        let (types, integrations) = filter.params();
        let count = self.conn.query_row(
            &format!("SELECT count(*) FROM events WHERE seq > ?1 AND {FILTERED}"),
            params![after, types, integrations],
            |r| r.get(0),
        )?;
        Ok(count)
    }

    /// Moves the cursor past a delivered event and clears the failure state. False when the
    /// cursor was no longer at `from` (nothing changed).
    pub fn sink_delivered(&self, name: &str, from: i64, seq: i64) -> Result<bool> {
        let changed = self.conn.execute(
            "UPDATE sinks SET last_seq = ?3, attempts = 0, unanswered = 0, next_attempt_at = NULL,
                 last_error = NULL, updated_at = ?4
             WHERE name = ?1 AND last_seq = ?2",
            params![name, from, seq, now_stamp()],
        )?;
        Ok(changed == 1)
    }

    /// Records a failed attempt at the event after `from`, or with `retry.unanswered` above
    /// zero, one that got no answer about it (the receiver down, or a gateway's 502, 503 or
    /// 504): the cursor stays, and such attempts leave the count of failed ones as it was, so
    /// an outage, however long, never gives up on an event.
    pub fn sink_retry(&self, name: &str, from: i64, retry: Retry) -> Result<bool> {
        let changed = self.conn.execute(
            "UPDATE sinks SET attempts = ?3, unanswered = ?7, next_attempt_at = ?4, last_error = ?5,
                 updated_at = ?6
             WHERE name = ?1 AND last_seq = ?2",
            params![
                name,
                from,
                retry.attempts,
                stamp(retry.next_attempt_at),
                retry.error,
                now_stamp(),
                retry.unanswered
            ],
        )?;
        Ok(changed == 1)
    }

    /// Gives up on an event: it goes to the sink's dead letters and the cursor moves past it,
    /// in one transaction.
    pub fn sink_dead_letter(
        &mut self,
        name: &str,
        from: i64,
        event: &StoredEvent,
        attempts: u32,
        error: &str,
    ) -> Result<bool> {
        let at = now_stamp();
        self.transaction(|tx| {
            let moved = tx.execute(
                "UPDATE sinks SET last_seq = ?3, attempts = 0, unanswered = 0, next_attempt_at = NULL,
                     last_error = ?4, updated_at = ?5
                 WHERE name = ?1 AND last_seq = ?2",
                params![name, from, event.seq, error, at],
            )?;
            if moved == 1 {
                tx.execute(
                    "INSERT INTO sink_dead_letters (sink, seq, event_id, attempts, last_error, failed_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![name, event.seq, event.event.event_id.to_string(), attempts, error, at],
                )?;
            }
            Ok(moved == 1)
        })
    }

    /// Disables a sink with a reason, or (`None`) enables it with fresh attempt counts.
    /// False when no such sink is stored.
    pub fn set_sink_disabled(&self, name: &str, reason: Option<&str>) -> Result<bool> {
        let changed = self.conn.execute(
            "UPDATE sinks SET disabled = ?2, disabled_reason = ?3, updated_at = ?4,
                 attempts = CASE WHEN ?2 THEN attempts ELSE 0 END,
                 unanswered = CASE WHEN ?2 THEN unanswered ELSE 0 END,
                 next_attempt_at = CASE WHEN ?2 THEN next_attempt_at ELSE NULL END
             WHERE name = ?1",
            params![name, reason.is_some(), reason, now_stamp()],
        )?;
        Ok(changed == 1)
    }

    /// Records why a sink cannot send at all (its secret is missing, say), without counting
    /// an attempt at any event.
    pub fn set_sink_error(&self, name: &str, error: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE sinks SET last_error = ?2, updated_at = ?3 WHERE name = ?1",
            params![name, error, now_stamp()],
        )?;
        Ok(())
    }

    /// How many dead letters a sink has.
    pub fn sink_dead_letter_count(&self, name: &str) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM sink_dead_letters WHERE sink = ?1",
            [name],
            |r| r.get(0),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, EventType, now};
    use crate::store::insert_event;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        store.sync_sinks(["s"]).unwrap();
        (dir, store)
    }

    fn add(store: &mut Store, events: &[(&str, EventType)]) {
        store
            .transaction(|tx| {
                for (i, (integration, t)) in events.iter().enumerate() {
                    let key = format!("{integration}:{}:{i}", uuid::Uuid::now_v7());
                    insert_event(tx, &Event::new(*t, integration, "test", key, now()))?;
                }
                Ok(())
            })
            .unwrap();
    }

    fn state(store: &Store) -> SinkState {
        store.sink_state("s").unwrap().unwrap()
    }

    #[test]
    fn a_new_sink_starts_at_the_first_event_and_a_new_action_at_the_last_hour() {
        let (_dir, mut store) = store();
        let at = |hours_ago: i64, key: &str| {
            let mut event = Event::new(EventType::EmailReceived, "a", "test", key.into(), now());
            event.received_at = Utc::now() - chrono::Duration::hours(hours_ago);
            event
        };
        store
            .transaction(|tx| {
                for (hours_ago, key) in [(48, "old"), (2, "older"), (0, "recent"), (72, "late")] {
                    insert_event(tx, &at(hours_ago, key))?;
                }
                Ok(())
            })
            .unwrap();
        store.sync_sinks(["new-sink"]).unwrap();
        store.sync_actions(["new-action"]).unwrap();
        assert_eq!(store.sink_state("new-sink").unwrap().unwrap().last_seq, 0);
        let action = store.action_state("new-action").unwrap().unwrap();
        // Past the first two, older than an hour; the last one is old too, but was stored after
        // a recent one (an old delivery retried): it comes along rather than the recent one
        // being skipped.
        assert_eq!(action.last_seq, 2, "past the two events older than an hour");
        // Known ones keep their place.
        store.sync_sinks(["new-sink"]).unwrap();
        store.sync_actions(["new-action"]).unwrap();
        assert_eq!(
            store.action_state("new-action").unwrap().unwrap().last_seq,
            2
        );
    }

    #[test]
    fn next_event_follows_the_cursor_and_the_filters() {
        let (_dir, mut store) = store();
        add(
            &mut store,
            &[
                ("a", EventType::EmailReceived),
                ("b", EventType::EmailReceived),
                ("a", EventType::WinRecorded),
                ("a", EventType::EmailReceived),
            ],
        );
        let types = vec!["emailReceived".to_string()];
        let only_a = vec!["a".to_string()];
        let filter = SinkFilter {
            event_types: Some(&types),
            integrations: Some(&only_a),
        };
        assert_eq!(store.sink_pending(0, filter).unwrap(), 2);
        let first = store.next_for_sink("s", 0, filter).unwrap().unwrap();
        assert_eq!(first.seq, 1);
        assert!(store.sink_delivered("s", 0, first.seq).unwrap());
        assert!(
            !store.sink_delivered("s", 0, first.seq).unwrap(),
            "compare-and-set"
        );
        let second = store.next_for_sink("s", 1, filter).unwrap().unwrap();
        assert_eq!(second.seq, 4, "b's event and the win are filtered out");
        assert!(store.sink_delivered("s", 1, 4).unwrap());
        assert!(store.next_for_sink("s", 4, filter).unwrap().is_none());
        assert_eq!(store.sink_pending(4, SinkFilter::default()).unwrap(), 0);
    }

    #[test]
    fn nothing_matching_moves_the_cursor_to_the_newest_event() {
        let (_dir, mut store) = store();
        add(&mut store, &[("a", EventType::EmailReceived); 3]);
        let types = vec!["winRecorded".to_string()];
        let filter = SinkFilter {
            event_types: Some(&types),
            integrations: None,
        };
        let outage = Retry {
            attempts: 1,
            unanswered: 90,
            next_attempt_at: Utc::now(),
            error: "no answer",
        };
        store.sink_retry("s", 0, outage).unwrap();
        assert!(store.next_for_sink("s", 0, filter).unwrap().is_none());
        let s = state(&store);
        assert_eq!(
            (s.last_seq, s.attempts, s.unanswered),
            (3, 0, 0),
            "the counts of the event skipped do not carry over"
        );
        add(&mut store, &[("a", EventType::WinRecorded)]);
        assert_eq!(store.next_for_sink("s", 3, filter).unwrap().unwrap().seq, 4);
    }

    #[test]
    fn retries_then_dead_letter_moves_on() {
        let (_dir, mut store) = store();
        add(&mut store, &[("a", EventType::EmailReceived); 2]);
        let event = store
            .next_for_sink("s", 0, SinkFilter::default())
            .unwrap()
            .unwrap();
        let at = Utc::now() + chrono::Duration::seconds(5);
        let retry = Retry {
            attempts: 1,
            unanswered: 0,
            next_attempt_at: at,
            error: "HTTP 500",
        };
        assert!(store.sink_retry("s", 0, retry).unwrap());
        let s = state(&store);
        assert_eq!((s.last_seq, s.attempts), (0, 1));
        assert_eq!(s.last_error.as_deref(), Some("HTTP 500"));
        assert_eq!(
            s.next_attempt_at.unwrap().timestamp_millis(),
            at.timestamp_millis()
        );
        assert!(
            store
                .sink_dead_letter("s", 0, &event, 2, "HTTP 500")
                .unwrap()
        );
        assert!(!store.sink_dead_letter("s", 0, &event, 2, "again").unwrap());
        let s = state(&store);
        assert_eq!((s.last_seq, s.attempts, s.next_attempt_at), (1, 0, None));
        let dead = store.gave_up_on(crate::store::Follower::Sink).unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].event_id, event.event.event_id.to_string());
        assert_eq!(store.sink_dead_letter_count("s").unwrap(), 1);
        assert_eq!(
            store
                .next_for_sink("s", 1, SinkFilter::default())
                .unwrap()
                .unwrap()
                .seq,
            2
        );
    }

    #[test]
    fn disable_keeps_state_and_enable_resets_attempts() {
        let (_dir, store) = store();
        let retry = Retry {
            attempts: 3,
            unanswered: 40,
            next_attempt_at: Utc::now(),
            error: "x",
        };
        store.sink_retry("s", 0, retry).unwrap();
        assert!(store.set_sink_disabled("s", Some("410 Gone")).unwrap());
        let s = state(&store);
        assert!(s.disabled);
        assert_eq!((s.attempts, s.unanswered), (3, 40));
        assert_eq!(s.disabled_reason.as_deref(), Some("410 Gone"));
        assert!(store.set_sink_disabled("s", None).unwrap());
        let s = state(&store);
        assert!(!s.disabled);
        assert_eq!((s.attempts, s.unanswered, s.next_attempt_at), (0, 0, None));
        assert!(!store.set_sink_disabled("nope", None).unwrap());
    }

    #[test]
    fn committed_events_signal_the_watchers() {
        let (_dir, mut store) = store();
        let mut stored = events_stored();
        stored.mark_unchanged();
        add(&mut store, &[("a", EventType::EmailReceived)]);
        assert!(stored.has_changed().unwrap());
    }
}
