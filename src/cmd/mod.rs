//! One module per subcommand, each with a `run`; this file dispatches to them and holds what
//! they share: the parsed global flags, the config and the store.

mod actions;
mod auth;
mod completions;
mod config;
mod deadletters;
mod events;
mod init;
mod integrations;
mod poll;
mod secret;
mod serve;
mod sinks;
mod status;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::config::{Config, Source};
use crate::output::Output;
use crate::store::Store;

/// What every command gets: the global flags and the output printer.
pub struct Context {
    pub global: GlobalArgs,
    pub out: Output,
}

impl Context {
    /// Where the config is read from.
    pub fn config_source(&self) -> Result<Source> {
        crate::paths::config_source(self.global.config.clone())
    }

    /// Loads and validates the config.
    pub fn config(&self) -> Result<Config> {
        Config::load(&self.config_source()?)
    }

    /// Loads the config of a command that does nothing without one (`poll`, `serve`): a
    /// missing file at the default path is an error, not an empty config, so cron running
    /// with another `$HOME` says so instead of polling nothing, successfully, for ever.
    pub fn config_required(&self) -> Result<Config> {
        let source = self.config_source()?;
        if !source.explicit && !source.path.exists() {
            return Err(crate::error::Exit::usage(format!(
                "no config at {}: `trmctl init` writes one there, or name one with --config or \
                 $TRMCTL_CONFIG",
                source.path.display()
            ))
            .into());
        }
        Config::load(&source)
    }

    /// A runtime for the commands that talk HTTP.
    pub fn runtime(&self) -> Result<tokio::runtime::Runtime> {
        use anyhow::Context as _;
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")
    }

    /// Opens the database the config names.
    pub fn store(&self, config: &Config) -> Result<Store> {
        crate::paths::open_store(config)
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let out = Output::new(cli.global.json, cli.global.color);
    let ctx = Context {
        global: cli.global,
        out,
    };
    match cli.command {
        Command::Init => init::run(&ctx),
        Command::Config(command) => config::run(&ctx, command),
        Command::Integrations(command) => integrations::run(&ctx, command),
        Command::Events(command) => events::run(&ctx, command),
        Command::Auth(command) => auth::run(&ctx, command),
        Command::Secret(command) => secret::run(&ctx, command),
        Command::Poll { names, due, full } => poll::run(&ctx, &names, due, full),
        Command::Serve => serve::run(&ctx),
        Command::Deadletters(command) => deadletters::run(&ctx, command),
        Command::Sinks(command) => sinks::run(&ctx, command),
        Command::Actions(command) => actions::run(&ctx, command),
        Command::Status => status::run(&ctx),
        Command::Completions { shell } => completions::run(shell),
    }
}
