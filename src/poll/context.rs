//! What a connector works with during one poll, and how it commits a page.
//!
//! Kept apart from the poll runner (`poll/mod.rs`), which calls the connectors: connectors
//! depend on this, not on the runner.

use anyhow::Result;
use indicatif::ProgressBar;

use super::http::Http;
use crate::config::IntegrationConfig;
use crate::rules::RuleSet;
use crate::store::Store;

/// What a connector works with during one poll.
pub struct Context<'a> {
    pub name: &'a str,
    pub cfg: &'a IntegrationConfig,
    pub http: &'a Http,
    pub store: &'a mut Store,
    pub rules: &'a RuleSet,
    /// Items fetched, events stored and pages committed so far.
    pub items: u64,
    pub events: u64,
    pub pages: u64,
    pub progress: ProgressBar,
}

impl Context<'_> {
    /// The stored cursor, read as the connector's type; a cursor that does not read is an
    /// error naming the fix, never a panic or a silent restart.
    pub fn cursor<T: serde::de::DeserializeOwned>(&self) -> Result<Option<T>> {
        match self.store.cursor(self.name)? {
            None => Ok(None),
            Some(value) => serde_json::from_value(value)
                .map(Some)
                .map_err(|e| corrupt_cursor(self.name, &e.to_string())),
        }
    }

    /// Commits a page: its events and the cursor after them, in one transaction.
    pub fn commit(
        &mut self,
        events: Vec<crate::event::Event>,
        cursor: &serde_json::Value,
        items: u64,
    ) -> Result<()> {
        let stored = self
            .store
            .commit_page(self.name, events, cursor, self.rules)?;
        self.items += items;
        self.events += stored as u64;
        self.pages += 1;
        self.progress.inc(items);
        self.progress
            .set_message(format!("{} pages, {} events", self.pages, self.events));
        Ok(())
    }
}

/// The error for a stored cursor that cannot be used.
pub fn corrupt_cursor(name: &str, why: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "the stored cursor of {name} is corrupt ({why}); run `trmctl poll --full {name}`"
    )
}
