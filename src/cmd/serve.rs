//! `trmctl serve`: the daemon. Binds, runs until SIGTERM or Ctrl-C, drains, exits 0. SIGHUP
//! reads the config again, for the server to renew its webhook verifiers.

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Context;
use crate::config::{Config, Source};

pub fn run(ctx: &Context) -> Result<ExitCode> {
    let config = ctx.config_required()?;
    let source = ctx.config_source()?;
    let runtime = ctx.runtime()?;
    let served = runtime.block_on(async {
        let bind = config.server.bind;
        let listener =
            std::net::TcpListener::bind(bind).with_context(|| format!("binding {bind}"))?;
        // A daemon that could not hear SIGTERM could only be killed: refuse to start instead.
        let signals = Signals::listen().context("listening for SIGTERM and SIGINT")?;
        let shutdown = CancellationToken::new();
        tokio::spawn(stop_on_signal(signals, shutdown.clone()));
        let reloads = reload_on_hangup(source).context("listening for SIGHUP")?;
        crate::webhooks::server::run(config, listener, shutdown, reloads).await
    });
    // The drain is over. A blocking task still waiting (an action's lock that a `trmctl
    // actions flush` holds) holds up nothing more: what was acknowledged is on disk.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    served?;
    Ok(ExitCode::SUCCESS)
}

/// Cancels `shutdown` on the first SIGTERM or SIGINT. A second one stops the process at once,
/// as Ctrl-C twice does elsewhere: nothing is lost by it, since every acknowledged delivery is
/// on disk and unfinished work resumes at the next start, as after a crash.
async fn stop_on_signal(mut signals: Signals, shutdown: CancellationToken) {
    signals.next().await;
    shutdown.cancel();
    signals.next().await;
    // Straight to stderr: exit skips the flush of buffered log lines.
    crate::output::note("error: stopped by a second signal before the drain was over");
    std::process::exit(1);
}

/// The config, read again on each SIGHUP (listened for before the server starts, so that an
/// early one cannot end the process, as SIGHUP does by default).
fn reload_on_hangup(source: Source) -> std::io::Result<mpsc::Receiver<Result<Config>>> {
    let (reloads, received) = mpsc::channel(1);
    #[cfg(unix)]
    {
        let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                tracing::info!(path = %source.path.display(), "SIGHUP: reading the config again");
                // A file read: off the async threads, which serve webhooks meanwhile.
                let source = source.clone();
                let config = tokio::task::spawn_blocking(move || Config::load(&source))
                    .await
                    .unwrap_or_else(|e| Err(anyhow::anyhow!("reading the config stopped: {e}")));
                if reloads.send(config).await.is_err() {
                    return;
                }
            }
        });
    }
    #[cfg(not(unix))]
    drop((source, reloads));
    Ok(received)
}

/// SIGTERM and SIGINT, listened for once so that none is missed between two waits.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn listen() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
