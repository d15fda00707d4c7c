//! The integration registry (SPEC §8): the config says which integrations exist, the database
//! holds their runtime state. This joins the two into what `integrations list`, `status` and
//! `GET /registry` show.

use anyhow::Result;
use serde::Serialize;

use crate::config::Config;
use crate::store::{IntegrationRow, Store};

/// The status values of SPEC §8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    Active,
    Disabled,
    Error,
    ReauthRequired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Disabled => "disabled",
            Status::Error => "error",
            Status::ReauthRequired => "reauthRequired",
        }
    }

    /// Whether `trmctl status` should point at it.
    pub fn needs_attention(self) -> bool {
        matches!(self, Status::Error | Status::ReauthRequired)
    }
}

/// One integration as the registry shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub name: String,
    pub kind: String,
    pub status: Status,
    pub last_sync_time: Option<String>,
    pub next_sync_time: Option<String>,
    pub last_success_time: Option<String>,
    pub error_count: i64,
    pub last_error: Option<String>,
    pub events_total: i64,
    pub deliveries_pending: i64,
    pub dead_letters: i64,
}

impl From<IntegrationRow> for Entry {
    fn from(row: IntegrationRow) -> Entry {
        let status = match (row.enabled, row.status.as_str()) {
            (false, _) => Status::Disabled,
            (true, "error") => Status::Error,
            (true, "reauthRequired") => Status::ReauthRequired,
            (true, _) => Status::Active,
        };
        Entry {
            name: row.name,
            kind: row.kind,
            status,
            last_sync_time: row.last_sync_time,
            next_sync_time: row.next_sync_time,
            last_success_time: row.last_success_time,
            error_count: row.error_count,
            last_error: row.last_error,
            events_total: row.events_total,
            deliveries_pending: row.deliveries_pending,
            dead_letters: row.dead_letters,
        }
    }
}

/// Brings the stored registry in line with the config.
pub fn sync(config: &Config, store: &mut Store) -> Result<()> {
    store.sync_registry(
        config
            .integrations
            .iter()
            .map(|(name, integration)| (name.as_str(), integration.kind.as_str())),
    )
}

/// The configured integrations with their runtime state, by name.
pub fn entries(config: &Config, store: &mut Store) -> Result<Vec<Entry>> {
    sync(config, store)?;
    Ok(store
        .integration_rows()?
        .into_iter()
        .filter(|row| config.integrations.contains_key(&row.name))
        .map(Entry::from)
        .collect())
}
