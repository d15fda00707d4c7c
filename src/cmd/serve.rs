//! `trmctl serve`: the daemon. Binds, runs until SIGTERM or Ctrl-C, drains, exits 0.

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use tokio_util::sync::CancellationToken;

use super::Context;

pub fn run(ctx: &Context) -> Result<ExitCode> {
    let config = ctx.config_required()?;
    ctx.runtime()?.block_on(async {
        let bind = config.server.bind;
        let listener =
            std::net::TcpListener::bind(bind).with_context(|| format!("binding {bind}"))?;
        let shutdown = CancellationToken::new();
        tokio::spawn(stop_on_signal(shutdown.clone()));
        crate::webhooks::server::run(config, listener, shutdown).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Cancels `shutdown` on the first SIGTERM or SIGINT.
async fn stop_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM");
                    let _ = ctrl_c.await;
                    shutdown.cancel();
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    shutdown.cancel();
}
