//! Log lines on stderr, by tracing: `-q`/`-v`/`-vv` pick the level, `RUST_LOG` overrides it,
//! `--log-format json` is for journald and log shippers.
//!
//! Lines are written by a background thread through a buffer, so a request handler never
//! waits on stderr: `serve` logs a line per delivery, and a write per line under stderr's lock
//! would cost the ingest path more than verifying the signature. The buffer is flushed
//! whenever the thread has nothing more queued, and when the returned guard is dropped.
//!
//! When stderr is not read (a paused terminal, a stuck pipe) the queue fills: the daemon then
//! drops lines and counts them (`/metrics`) rather than stop answering; a command waits, as
//! it has nothing more urgent to do than say what it did.

use std::io::BufWriter;
use std::sync::OnceLock;

use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::cli::{GlobalArgs, LogFormat};

/// Installs the global subscriber. Logs go to stderr so stdout stays data. A daemon logs at
/// info by default (one line per delivery, for the journal); commands at warn. Keep the guard
/// until the last line is logged: dropping it writes out what is still buffered.
#[must_use = "dropping the guard flushes and stops logging"]
pub fn init(global: &GlobalArgs, color: bool, daemon: bool) -> WorkerGuard {
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) if daemon => "info",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => EnvFilter::new(spec),
        _ => EnvFilter::new(format!("trmctl={level},warn")),
    };
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(daemon)
        .thread_name("log-writer")
        .finish(BufWriter::new(std::io::stderr()));
    let _ = DROPPED.set(writer.error_counter());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match global.log_format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.with_ansi(color).with_target(false).init(),
    }
    guard
}

static DROPPED: OnceLock<ErrorCounter> = OnceLock::new();

/// Log lines dropped so far because stderr was not read fast enough (daemon only).
pub fn dropped_lines() -> usize {
    DROPPED.get().map_or(0, ErrorCounter::dropped_lines)
}
