//! The command-line tree, and nothing else: `main`, the completions and the man pages are all
//! generated from it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::event::EventType;

/// Connects your tools (Gmail, Sheets, Drive, Calendar, Slack, GitHub, Stripe, CRMs, any JSON
/// API) to TRM-OS as a local, durable stream of events.
#[derive(Debug, Parser)]
#[command(
    name = "trmctl",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Print machine-readable JSON on stdout
    #[arg(long, global = true)]
    pub json: bool,

    /// Print only errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print more: -v for info, -vv for debug (RUST_LOG wins)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// When to use colours (NO_COLOR is honoured)
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,

    /// Format of log lines on stderr
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT")]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented config and create the database
    Init,
    /// Inspect the configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The integration registry
    #[command(subcommand)]
    Integrations(IntegrationsCommand),
    /// Inspect stored events
    #[command(subcommand)]
    Events(EventsCommand),
    /// Authorize accounts and manage their tokens
    #[command(subcommand)]
    Auth(AuthCommand),
    /// API keys and webhook secrets in the OS keyring
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Poll integrations once (for cron and systemd timers); silent on success
    Poll {
        /// Only these integrations [default: every enabled polling integration]
        names: Vec<String>,
        /// Only integrations whose next sync time has come
        #[arg(long)]
        due: bool,
        /// Ignore the stored cursors: sync from scratch (no event is made twice)
        #[arg(long)]
        full: bool,
    },
    /// Receive webhooks and process them into events (runs until SIGTERM or Ctrl-C; SIGHUP
    /// renews the webhook secrets from the config)
    Serve,
    /// Deliveries that failed for good
    #[command(subcommand)]
    Deadletters(DeadlettersCommand),
    /// Where events go next: HTTP endpoints and local commands ([[sinks]] in the config)
    #[command(subcommand)]
    Sinks(SinksCommand),
    /// What trmctl creates elsewhere on an event type: Google Tasks, Slack messages, HTTP calls ([[actions]] in the config)
    #[command(subcommand)]
    Actions(ActionsCommand),
    /// What needs attention: failing integrations, dead letters, accounts to re-authorize
    Status,
    /// Print shell completions
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Authorize a Google account (OAuth 2.0 with PKCE, in your browser)
    Google {
        /// The account, as named in the config (optional when there is only one)
        account: Option<String>,
        /// Scopes to ask for (read-only, but `tasks`) [default: what the account's integrations and actions need]
        #[arg(
            long,
            value_delimiter = ',',
            value_name = "gmail,sheets,drive,drive-metadata,calendar,tasks"
        )]
        scopes: Vec<String>,
        /// Print the address instead of opening a browser, and accept the redirect address pasted on stdin
        #[arg(long)]
        no_browser: bool,
    },
    /// Accounts, scopes, token expiry and status
    List,
    /// Like list; exits 4 when an account needs (re-)authorization
    Status {
        /// Only this account
        account: Option<String>,
    },
    /// Print a fresh access token (refreshing it if needed), for scripts; no --json form
    Token { account: String },
    /// Revoke the authorization at Google and delete the local tokens
    Revoke { account: String },
    /// Write an authorization to stdout, to move it to a headless machine (pipe it, e.g. over ssh)
    Export { account: String },
    /// Read an authorization written by `auth export` from stdin
    Import { account: String },
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Store a secret in the keyring, read from stdin or a hidden prompt (never from arguments)
    Set {
        /// `<integration-or-account>/<key>`, e.g. github-repo/secret or founder/client_secret
        name: String,
    },
    /// Delete a secret from the keyring
    Rm { name: String },
    /// Every secret the config refers to, and where it is kept (never its value)
    List,
}

#[derive(Debug, Subcommand)]
pub enum DeadlettersCommand {
    /// List dead letters with their last error
    List,
    /// Put dead letters back in the queue; `trmctl serve` processes them again
    #[command(group = clap::ArgGroup::new("which").required(true))]
    Retry {
        /// Delivery ids
        #[arg(group = "which")]
        ids: Vec<String>,
        /// Every dead letter
        #[arg(long, group = "which")]
        all: bool,
    },
    /// Delete dead letters
    Drop {
        /// Delivery ids
        #[arg(required = true)]
        ids: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SinksCommand {
    /// Sinks with their status, cursor, pending events, dead letters and last error
    List,
    /// Send every pending event once (for cron); exit 1 if a sink failed
    Flush {
        /// Only these sinks [default: every sink]
        names: Vec<String>,
    },
    /// Re-enable a sink (after a 410 Gone, or `sinks disable`); its events resume in order
    Enable {
        /// Sink name
        name: String,
    },
    /// Stop sending to a sink; its events wait, in order, until `sinks enable`
    Disable {
        /// Sink name
        name: String,
    },
    /// Events the sinks gave up on after max_attempts
    #[command(subcommand)]
    Deadletters(GaveUpCommand),
}

#[derive(Debug, Subcommand)]
pub enum ActionsCommand {
    /// Run every pending event through the actions once (for cron); exit 1 if an action failed
    Flush {
        /// Only these actions [default: every action]
        names: Vec<String>,
    },
    /// Events the actions gave up on after max_attempts
    #[command(subcommand)]
    Deadletters(GaveUpCommand),
}

/// The events sinks or actions gave up on after `max_attempts`.
#[derive(Debug, Subcommand)]
pub enum GaveUpCommand {
    /// List them with their last error
    List,
    /// Forget them (once dealt with), so `trmctl status` no longer counts them
    #[command(group = clap::ArgGroup::new("which").required(true))]
    Drop {
        /// Event ids (what every sink, or every action, gave up on for them)
        #[arg(group = "which")]
        event_ids: Vec<String>,
        /// Every one
        #[arg(long, group = "which")]
        all: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the config and print every problem (exit 2 if any)
    Check,
}

#[derive(Debug, Subcommand)]
pub enum IntegrationsCommand {
    /// List integrations with their status
    List,
    /// Show one integration
    Show {
        /// Integration name
        name: String,
    },
    /// Enable an integration
    Enable {
        /// Integration name
        name: String,
    },
    /// Disable an integration (its webhooks answer 404, polls skip it)
    Disable {
        /// Integration name
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// List events, newest first
    List(ListArgs),
    /// Show one event
    Show {
        /// Event id, or its first 8 or more characters
        id: String,
    },
    /// Print the latest events, oldest first (NDJSON with --json)
    Tail {
        /// How many of the latest events to print first
        #[arg(short = 'n', long, default_value_t = 10)]
        lines: usize,
        /// Keep printing events as they are stored
        #[arg(short, long)]
        follow: bool,
    },
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only events of this integration
    #[arg(long, value_name = "NAME")]
    pub integration: Option<String>,
    /// Only events of this type
    #[arg(long = "type", value_name = "TYPE", value_enum)]
    pub event_type: Option<EventType>,
    /// Only events received since TIME (2026-01-01, 2026-01-01T10:00 local time, RFC 3339, or
    /// a duration ago such as 2h)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// At most this many events
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}
