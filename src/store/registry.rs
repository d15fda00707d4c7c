//! The registry's runtime state (SPEC §8): one row per configured integration, with the
//! enabled switch, sync times and error counts, plus the counts `status` summarises.

use anyhow::Result;
use rusqlite::params;

use super::Store;

/// One integration's stored state and counts.
#[derive(Debug, Clone, Default)]
pub struct IntegrationRow {
    pub name: String,
    pub kind: String,
    pub enabled: bool,
    pub status: String,
    pub last_sync_time: Option<String>,
    pub next_sync_time: Option<String>,
    pub last_success_time: Option<String>,
    pub error_count: i64,
    pub last_error: Option<String>,
    pub events_total: i64,
    pub deliveries_pending: i64,
    pub dead_letters: i64,
}

impl Store {
    /// Makes the stored registry match the config: a row for each configured integration
    /// (new ones start enabled and active). Rows of integrations no longer configured stay,
    /// with their events, in case the user puts them back.
    pub fn sync_registry<'a>(
        &mut self,
        integrations: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<()> {
        let integrations: Vec<(&str, &str)> = integrations.into_iter().collect();
        let known = "SELECT 1 FROM integrations WHERE name = ?1 AND kind = ?2";
        if self.all_exist(known, integrations.iter().map(|(n, k)| [n, k]))? {
            return Ok(());
        }
        self.transaction(|tx| {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO integrations (name, kind) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET kind = excluded.kind WHERE kind <> excluded.kind",
            )?;
            for (name, kind) in integrations {
                upsert.execute(params![name, kind])?;
            }
            Ok(())
        })
    }

    /// Every stored integration with its counts, by name.
    pub fn integration_rows(&self) -> Result<Vec<IntegrationRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT i.name, i.kind, i.enabled, i.status, i.last_sync_time, i.next_sync_time,
                    i.last_success_time, i.error_count, i.last_error,
                    (SELECT count(*) FROM events e WHERE e.integration = i.name),
                    (SELECT count(*) FROM deliveries d WHERE d.integration = i.name AND d.state = 'pending'),
                    (SELECT count(*) FROM deliveries d WHERE d.integration = i.name AND d.state = 'dead')
             FROM integrations i ORDER BY i.name",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(IntegrationRow {
                name: row.get(0)?,
                kind: row.get(1)?,
                enabled: row.get(2)?,
                status: row.get(3)?,
                last_sync_time: row.get(4)?,
                next_sync_time: row.get(5)?,
                last_success_time: row.get(6)?,
                error_count: row.get(7)?,
                last_error: row.get(8)?,
                events_total: row.get(9)?,
                deliveries_pending: row.get(10)?,
                dead_letters: row.get(11)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Flips the enabled switch; returns false when no such integration is stored.
    pub fn set_enabled(&mut self, name: &str, enabled: bool) -> Result<bool> {
        let changed = self.conn.execute(
            "UPDATE integrations SET enabled = ?2 WHERE name = ?1",
            params![name, enabled],
        )?;
        Ok(changed == 1)
    }

    /// How many webhook deliveries are dead letters.
    pub fn dead_letter_count(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM deliveries WHERE state = 'dead'",
            [],
            |r| r.get(0),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_keeps_switch_and_updates_kind() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        store
            .sync_registry([("a", "gmail"), ("b", "github")])
            .unwrap();
        assert!(store.set_enabled("a", false).unwrap());
        assert!(!store.set_enabled("nope", false).unwrap());
        store.sync_registry([("a", "google-drive")]).unwrap();
        let rows = store.integration_rows().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].name, "a");
        assert_eq!(rows[0].kind, "google-drive");
        assert!(!rows[0].enabled);
        assert!(rows[1].enabled);
        assert_eq!(rows[1].status, "active");
    }
}
