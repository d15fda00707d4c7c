//! Events a sink or an action gave up on after `max_attempts` (`sink_dead_letters`,
//! `action_dead_letters`): listed, summed up for `trmctl status`, and forgotten once dealt
//! with. The follower moved on past them; they are a record, not a queue.

use anyhow::Result;
use rusqlite::params;
use serde::Serialize;

use super::Store;

/// What follows the event stream and can give up on an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follower {
    Sink,
    Action,
}

impl Follower {
    /// The table, and its column naming the sink or action.
    fn table(self) -> (&'static str, &'static str) {
        match self {
            Follower::Sink => ("sink_dead_letters", "sink"),
            Follower::Action => ("action_dead_letters", "action"),
        }
    }

    /// `sinks` or `actions`, as in the commands.
    pub fn command(self) -> &'static str {
        match self {
            Follower::Sink => "sinks",
            Follower::Action => "actions",
        }
    }

    /// `SINK` or `ACTION`, a table's column header.
    pub fn header(self) -> &'static str {
        match self {
            Follower::Sink => "SINK",
            Follower::Action => "ACTION",
        }
    }
}

/// One event a sink or action gave up on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GaveUpOn {
    /// The sink or action.
    pub name: String,
    pub seq: i64,
    pub event_id: String,
    pub attempts: u32,
    pub last_error: String,
    pub failed_at: String,
}

/// How many events one sink or action gave up on, and the error of the latest.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GaveUpCount {
    pub name: String,
    pub dead_letters: i64,
    pub last_error: Option<String>,
}

impl Store {
    /// Every event the sinks (or actions) gave up on, oldest first.
    pub fn gave_up_on(&self, follower: Follower) -> Result<Vec<GaveUpOn>> {
        let (table, column) = follower.table();
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {column}, seq, event_id, attempts, last_error, failed_at FROM {table}
             ORDER BY failed_at, {column}, seq"
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok(GaveUpOn {
                name: r.get(0)?,
                seq: r.get(1)?,
                event_id: r.get(2)?,
                attempts: r.get(3)?,
                last_error: r.get(4)?,
                failed_at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The ones among `names` that gave up on any event, for `status`.
    pub fn gave_up_counts(&self, follower: Follower, names: &[&str]) -> Result<Vec<GaveUpCount>> {
        let (table, column) = follower.table();
        let mut stmt = self.conn.prepare(&format!(
            "SELECT count(*), (SELECT last_error FROM {table} WHERE {column} = ?1
                               ORDER BY seq DESC LIMIT 1)
             FROM {table} WHERE {column} = ?1"
        ))?;
        let mut found = Vec::new();
        for name in names {
            let (dead_letters, last_error) =
                stmt.query_row([name], |r| Ok((r.get(0)?, r.get(1)?)))?;
            if dead_letters > 0 {
                found.push(GaveUpCount {
                    name: name.to_string(),
                    dead_letters,
                    last_error,
                });
            }
        }
        Ok(found)
    }

    /// Forgets what was given up on these events (by any sink, or any action), or on all with
    /// `None`; the event ids forgotten. With an id that has none, nothing changes and the
    /// error names it (exit 2).
    pub fn forget_gave_up(
        &mut self,
        follower: Follower,
        event_ids: Option<&[String]>,
    ) -> Result<Vec<String>> {
        let (table, _) = follower.table();
        self.transaction(|tx| {
            let Some(ids) = event_ids else {
                let mut stmt = tx.prepare(&format!("DELETE FROM {table} RETURNING event_id"))?;
                let mut forgotten: Vec<String> = stmt
                    .query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                forgotten.sort();
                forgotten.dedup();
                return Ok(forgotten);
            };
            let mut delete = tx.prepare(&format!("DELETE FROM {table} WHERE event_id = ?1"))?;
            let listed = format!(
                "no dead letters for: {{}} (nothing changed; `trmctl {} deadletters list` shows \
                 them)",
                follower.command()
            );
            super::change_each(
                ids.to_vec(),
                |id| Ok(delete.execute(params![id])? > 0),
                &listed,
            )
        })
    }
}
