//! Log lines on stderr, by tracing: `-q`/`-v`/`-vv` pick the level, `RUST_LOG` overrides it,
//! `--log-format json` is for journald and log shippers.

use tracing_subscriber::EnvFilter;

use crate::cli::{GlobalArgs, LogFormat};

/// Installs the global subscriber. Logs go to stderr so stdout stays data. A daemon logs at
/// info by default (one line per delivery, for the journal); commands at warn.
pub fn init(global: &GlobalArgs, color: bool, daemon: bool) {
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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match global.log_format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.with_ansi(color).with_target(false).init(),
    }
}
