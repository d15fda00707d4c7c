//! Sinks: where events go next (SPEC §1, the last step of the data path).
//!
//! Each `[[sinks]]` entry receives the stored events that pass its filters, one at a time, in
//! `seq` order, exactly once from our side: the outbox in the store keeps a cursor per sink
//! that moves only after an event was delivered or given up on. This module holds what every
//! sink shares — the outcome of one send, the transport per kind (`http.rs`, `command.rs`), the
//! view `sinks list` and `status` print; `deliver.rs` turns an outcome into the next state and
//! `run.rs` drives the sinks inside `trmctl serve` and for `trmctl sinks flush`.

pub mod command;
pub mod config;
mod deliver;
pub mod http;
mod run;

use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

pub use config::{SinkConfig, SinkKind};
pub use deliver::{Next, Pending, Step, deliver, next, step};
pub use run::{FlushReport, flush, run};

use crate::config::Config;
use crate::event::Event;
use crate::store::{SinkFilter, Store};

/// The most of a receiver's answer or a command's stderr kept in `last_error`.
const ERROR_TAIL: usize = 500;

/// What one attempt at sending one event came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver has it.
    Delivered,
    /// The receiver answered it with a failure; worth another attempt later, counted towards
    /// `max_attempts`.
    Failed(String),
    /// No answer about it: the receiver is down or unreachable, or a gateway in front of it
    /// said so (502, 503, 504). Retried until it answers, never counted towards `max_attempts`:
    /// a receiver down for an hour gets every event once it is back.
    Unanswered(String),
    /// The receiver asked us to wait (429, or 503 with `Retry-After`): not a failed attempt.
    Throttled {
        error: String,
        retry_after: Option<Duration>,
    },
    /// The receiver is gone for good (410): the sink is disabled until re-enabled.
    Gone(String),
}

/// How a sink sends, by kind.
enum Transport {
    Http(http::HttpSink),
    Command(command::CommandSink),
}

/// A configured sink, ready to send (its secret read).
pub struct Sink {
    pub cfg: SinkConfig,
    transport: Transport,
}

impl Sink {
    /// Prepares a sink. Fails when its secret cannot be read or is not a `whsec_` key; the
    /// error names the secret's entry, never its value. A command sink's program does not get
    /// the environment variables in `hidden_env`.
    pub fn new(cfg: &SinkConfig, client: &reqwest::Client, hidden_env: &[String]) -> Result<Sink> {
        let transport = match cfg.kind {
            SinkKind::Http => Transport::Http(http::HttpSink::new(cfg, client)?),
            SinkKind::Command => Transport::Command(command::CommandSink::new(cfg, hidden_env)?),
        };
        Ok(Sink {
            cfg: cfg.clone(),
            transport,
        })
    }

    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    /// One attempt at one event.
    pub async fn send(&self, event: &Event) -> Outcome {
        match &self.transport {
            Transport::Http(http) => http.send(event).await,
            Transport::Command(command) => command.send(event).await,
        }
    }
}

/// The filters of a sink, as the store applies them.
pub fn filter(cfg: &SinkConfig) -> SinkFilter<'_> {
    SinkFilter {
        event_types: cfg.event_types.as_deref(),
        integrations: cfg.integrations.as_deref(),
    }
}

/// One sink as `sinks list --json` and `status --json` show it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub name: String,
    pub kind: &'static str,
    /// `active` or `disabled`.
    pub status: &'static str,
    /// Every event up to this `seq` was delivered or dead-lettered.
    pub last_seq: i64,
    /// Events waiting for this sink.
    pub pending: i64,
    pub dead_letters: i64,
    /// Failed attempts at the next event.
    pub attempts: u32,
    /// Attempts in a row at the next event that got no answer (the receiver down).
    pub unanswered: u32,
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
    pub disabled_reason: Option<String>,
}

impl Entry {
    /// Disabled, or gave up on some events.
    pub fn needs_attention(&self) -> bool {
        self.status == "disabled" || self.dead_letters > 0
    }
}

/// Every configured sink with its state, in config order.
pub fn entries(config: &Config, store: &mut Store) -> Result<Vec<Entry>> {
    store.sync_sinks(config.sinks.iter().map(|s| s.name.as_str()))?;
    let mut entries = Vec::with_capacity(config.sinks.len());
    for cfg in &config.sinks {
        let state = store.sink_state(&cfg.name)?.unwrap_or_default();
        entries.push(Entry {
            name: cfg.name.clone(),
            kind: cfg.kind.as_str(),
            status: if state.disabled { "disabled" } else { "active" },
            last_seq: state.last_seq,
            pending: store.sink_pending(state.last_seq, filter(cfg))?,
            dead_letters: store.sink_dead_letter_count(&cfg.name)?,
            attempts: state.attempts,
            unanswered: state.unanswered,
            next_attempt_at: state.next_attempt_at.map(|t| crate::event::format_time(&t)),
            last_error: state.last_error,
            disabled_reason: state.disabled_reason,
        });
    }
    Ok(entries)
}

/// The last `ERROR_TAIL` characters of a text, on one line.
fn tail(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let count = line.chars().count();
    if count <= ERROR_TAIL {
        return line;
    }
    let skip = count - ERROR_TAIL;
    format!("…{}", line.chars().skip(skip).collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_are_one_short_line() {
        assert_eq!(tail("  a\n b\tc \n"), "a b c");
        let long = "x".repeat(ERROR_TAIL * 3);
        let cut = tail(&format!("start {long} end"));
        assert!(cut.starts_with('…') && cut.ends_with(" end"));
        assert_eq!(cut.chars().count(), ERROR_TAIL + 1);
    }
}
