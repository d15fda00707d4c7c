//! The configuration file (SPEC §3): what exists, where secrets live, how often to poll.
//!
//! Reading is strict: `deny_unknown_fields` makes a typo an error naming the key and its line
//! (every bad key at once, see [`read`]),
//! durations and sizes are human strings, and secrets are references only. After parsing,
//! [`Config::validate`] collects every cross-reference problem at once so `trmctl config check`
//! can print them all.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use bytesize::ByteSize;
use serde::Deserialize;

pub use read::{Unreadable, read, read_rest};

use crate::error::{Code, Exit};
use crate::rules::RuleSet;
use crate::secrets::{SecretRef, SecretRefs};
use crate::webhooks::signature::{Algorithm, Encoding};

mod read;

/// The whole configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub store: StoreConfig,
    pub server: ServerConfig,
    pub worker: WorkerConfig,
    pub poll: PollConfig,
    pub accounts: BTreeMap<String, AccountConfig>,
    pub integrations: BTreeMap<String, IntegrationConfig>,
    pub rules: Vec<RuleConfig>,
    /// Where events go next (`[[sinks]]`).
    pub sinks: Vec<crate::sinks::config::SinkConfig>,
    /// What trmctl creates elsewhere on an event type (`[[actions]]`).
    pub actions: Vec<crate::actions::config::ActionConfig>,
    /// The rules compiled by [`Config::validate`].
    #[serde(skip)]
    pub ruleset: RuleSet,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// The SQLite database; else `$TRMCTL_DB`, else the XDG data directory.
    pub path: Option<PathBuf>,
    /// How long a write waits for another process's write before failing.
    #[serde(with = "humantime_serde")]
    pub busy_timeout: Duration,
    /// How long a processed webhook delivery (its body and headers) is kept after it arrived;
    /// its events are kept for good.
    #[serde(with = "humantime_serde")]
    pub keep_deliveries: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: None,
            busy_timeout: Duration::from_secs(10),
            keep_deliveries: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    pub max_body_bytes: ByteSize,
    pub admin_token: Option<SecretRef>,
    /// The public base URL in front of the server (HubSpot signs the full URL).
    pub public_url: Option<String>,
    /// PEM certificate chain and key: serve HTTPS instead of HTTP.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Longest a client may take to send its headers.
    #[serde(with = "humantime_serde")]
    pub header_timeout: Duration,
    /// Longest a whole request may take, body included.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// How long a shutdown waits for requests in flight.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 8787)),
            max_body_bytes: ByteSize::mib(1),
            admin_token: None,
            public_url: None,
            tls_cert: None,
            tls_key: None,
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(20),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerConfig {
    pub concurrency: usize,
    pub max_attempts: u32,
    #[serde(with = "humantime_serde")]
    pub retry_base: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_max: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            concurrency: 4,
            max_attempts: crate::retry::default_max_attempts(),
            retry_base: crate::retry::default_base(),
            retry_max: crate::retry::default_max(),
        }
    }
}

/// How polls talk to providers.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PollConfig {
    /// One request may take this long (connect included).
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Retries of one request on 429, rate-limit 403s, 5xx and timeouts.
    pub max_retries: u32,
    /// Exponential backoff with full jitter between retries, capped at retry_max.
    #[serde(with = "humantime_serde")]
    pub retry_base: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_max: Duration,
    /// Consecutive failed polls before an integration's status becomes `error`.
    pub error_threshold: u32,
}

impl Default for PollConfig {
    fn default() -> Self {
        PollConfig {
            timeout: Duration::from_secs(60),
            max_retries: 5,
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
            error_threshold: 3,
        }
    }
}

/// An authorized identity at a provider.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    pub provider: Provider,
    pub email: Option<String>,
    pub client_id: String,
    #[serde(default = "keyring")]
    pub client_secret: SecretRef,
    pub refresh_token: Option<SecretRef>,
    pub auth_url: Option<String>,
    pub token_url: Option<String>,
    pub revoke_url: Option<String>,
    #[serde(default)]
    pub quota: QuotaConfig,
}

fn keyring() -> SecretRef {
    SecretRef::Keyring
}

/// The keyring key of an account's refresh token: `<account>/refresh_token`.
pub const REFRESH_TOKEN: &str = "refresh_token";

impl AccountConfig {
    /// Where the refresh token is kept: the configured reference, else the keyring.
    pub fn refresh_source(&self) -> SecretRef {
        self.refresh_token.clone().unwrap_or(SecretRef::Keyring)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Google,
}

/// Per-user budgets per minute; defaults are Google's published limits.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuotaConfig {
    pub gmail_units: u32,
    pub sheets_reads: u32,
    pub drive_queries: u32,
    pub calendar_queries: u32,
}

impl Default for QuotaConfig {
    fn default() -> Self {
        QuotaConfig {
            gmail_units: 6000,
            sheets_reads: 60,
            drive_queries: 12000,
            calendar_queries: 600,
        }
    }
}

/// The connector an integration uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Gmail,
    GoogleSheets,
    GoogleDrive,
    GoogleCalendar,
    HttpPoll,
    Github,
    Stripe,
    Slack,
    Hubspot,
    GooglePubsub,
    Webhook,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Gmail => "gmail",
            Kind::GoogleSheets => "google-sheets",
            Kind::GoogleDrive => "google-drive",
            Kind::GoogleCalendar => "google-calendar",
            Kind::HttpPoll => "http-poll",
            Kind::Github => "github",
            Kind::Stripe => "stripe",
            Kind::Slack => "slack",
            Kind::Hubspot => "hubspot",
            Kind::GooglePubsub => "google-pubsub",
            Kind::Webhook => "webhook",
        }
    }

    /// Kinds that fetch on a schedule (`trmctl poll`).
    pub fn is_polling(self) -> bool {
        matches!(
            self,
            Kind::Gmail
                | Kind::GoogleSheets
                | Kind::GoogleDrive
                | Kind::GoogleCalendar
                | Kind::HttpPoll
        )
    }

    /// Kinds that read a Google account's data.
    pub fn is_google(self) -> bool {
        matches!(
            self,
            Kind::Gmail | Kind::GoogleSheets | Kind::GoogleDrive | Kind::GoogleCalendar
        )
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The signature scheme of a `kind = "webhook"` integration (SPEC §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    StandardWebhooks,
    Github,
    Stripe,
    Slack,
    Hubspot,
    Hmac,
}

/// How `http-poll` authenticates.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum HttpAuth {
    Bearer {
        token: SecretRef,
    },
    Header {
        name: String,
        value: SecretRef,
    },
    Basic {
        username: String,
        password: SecretRef,
    },
}

/// Declares [`IntegrationConfig`] as one flat table, so serde reports an unknown key with its
/// exact line, and records which kinds take each key so validation can name a key that does
/// not belong to its integration's kind.
macro_rules! integration_config {
    ($($(#[$doc:meta])* $field:ident: $ty:ty => [$($kind:ident),+],)*) => {
        /// One `[integrations.NAME]` table.
        #[derive(Debug, Clone, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct IntegrationConfig {
            pub kind: Kind,
            $($(#[$doc])* #[serde(default)] pub $field: Option<$ty>,)*
        }

        impl IntegrationConfig {
            /// Every key an integration table may hold.
            pub const KEYS: &'static [&'static str] = &["kind", $(stringify!($field)),*];

            /// The keys set in this table that its kind does not take.
            fn foreign_keys(&self) -> Vec<&'static str> {
                let mut keys = Vec::new();
                $(if self.$field.is_some() && ![$(Kind::$kind),+].contains(&self.kind) {
                    keys.push(stringify!($field));
                })*
                keys
            }
        }
    };
}

integration_config! {
    /// The account whose tokens a Google connector uses.
    account: String => [Gmail, GoogleSheets, GoogleDrive, GoogleCalendar, GooglePubsub],
    /// How often to poll.
    #[serde(with = "humantime_serde::option")]
    interval: Duration => [Gmail, GoogleSheets, GoogleDrive, GoogleCalendar, HttpPoll],
    /// Replaces the scheme and host of every Google endpoint (tests, proxies).
    base_url: String => [Gmail, GoogleSheets, GoogleDrive, GoogleCalendar],
    /// Gmail search query.
    query: String => [Gmail],
    spreadsheet_id: String => [GoogleSheets],
    range: String => [GoogleSheets],
    key_column: String => [GoogleSheets],
    folder_id: String => [GoogleDrive],
    calendar_id: String => [GoogleCalendar],
    url: String => [HttpPoll],
    auth: HttpAuth => [HttpPoll],
    items: String => [HttpPoll],
    id: String => [HttpPoll],
    updated_at: String => [HttpPoll],
    cursor_param: String => [HttpPoll],
    /// JSON pointer to the next page's URL in a page (else the `Link` header is followed).
    next_page: String => [HttpPoll],
    #[serde(with = "humantime_serde::option")]
    overlap: Duration => [HttpPoll],
    /// Webhook signing secrets; several may be active at once (rotation).
    secret: SecretRefs => [Github, Stripe, Slack, Hubspot, Webhook],
    scheme: Scheme => [Webhook],
    /// Deliveries accepted per second before answering 429 (bursts up to twice that).
    rate_limit: u32 => [Github, Stripe, Slack, Hubspot, GooglePubsub, Webhook],
    /// Accepted clock skew for signed timestamps.
    #[serde(with = "humantime_serde::option")]
    tolerance: Duration => [Stripe, Slack, Hubspot, Webhook],
    header: String => [Webhook],
    algorithm: String => [Webhook],
    encoding: String => [Webhook],
    prefix: String => [Webhook],
    timestamp_header: String => [Webhook],
    id_header: String => [Webhook],
    id_pointer: String => [Webhook],
    /// Expected `aud` of Pub/Sub push tokens.
    audience: String => [GooglePubsub],
    /// Expected `email` of the Pub/Sub push service account.
    service_account: String => [GooglePubsub],
    jwks_url: String => [GooglePubsub],
    /// A shared token in the push URL's query, instead of OIDC.
    token: SecretRef => [GooglePubsub],
    /// The Pub/Sub topic Gmail publishes the account's mailbox changes to (`users.watch`).
    topic: String => [GooglePubsub],
}

/// One `[[rules]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Optional name, shown in errors and in derived events.
    pub name: Option<String>,
    /// The integration whose events the rule reads, or `"*"`.
    pub integration: String,
    /// Field name → regex; every one must match.
    #[serde(rename = "match")]
    pub matches: BTreeMap<String, String>,
    /// The ontology event type to emit.
    pub emit: String,
}

/// One problem found in a config, named by its key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

impl Problem {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Where the config comes from.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    /// Named by `--config` or `$TRMCTL_CONFIG`: then it must exist.
    pub explicit: bool,
}

impl Config {
    /// Reads, parses and validates the config. A missing file at the default path is an empty
    /// config (so `trmctl init` and `trmctl status` work on a fresh machine).
    pub fn load(source: &Source) -> anyhow::Result<Config> {
        let text = match std::fs::read_to_string(&source.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !source.explicit => {
                tracing::debug!(path = %source.path.display(), "no config file; using defaults");
                return Ok(Config::default());
            }
            Err(e) => {
                return Err(Exit::usage(format!(
                    "cannot read config {}: {e}",
                    source.path.display()
                ))
                .into());
            }
        };
        Config::parse(&text, &source.path)
    }

    /// Every secret reference in the config: (owner, key, config key, reference).
    pub fn secret_references(&self) -> Vec<(String, String, String, SecretRef)> {
        let mut refs = Vec::new();
        let mut add = |owner: &str, key: &str, path: String, r: &SecretRef| {
            refs.push((owner.to_string(), key.to_string(), path, r.clone()));
        };
        if let Some(r) = &self.server.admin_token {
            add("server", "admin_token", "server.admin_token".into(), r);
        }
        for (name, account) in &self.accounts {
            add(
                name,
                "client_secret",
                format!("accounts.{name}.client_secret"),
                &account.client_secret,
            );
            add(
                name,
                REFRESH_TOKEN,
                format!("accounts.{name}.refresh_token"),
                &account.refresh_source(),
            );
        }
        for (name, integration) in &self.integrations {
            for r in integration.secret.iter().flat_map(|s| s.0.iter()) {
                add(name, "secret", format!("integrations.{name}.secret"), r);
            }
            if let Some(r) = &integration.token {
                add(name, "token", format!("integrations.{name}.token"), r);
            }
            if let Some(auth) = &integration.auth {
                let (key, r) = match auth {
                    crate::config::HttpAuth::Bearer { token } => ("token", token),
                    crate::config::HttpAuth::Header { value, .. } => ("value", value),
                    crate::config::HttpAuth::Basic { password, .. } => ("password", password),
                };
                add(name, key, format!("integrations.{name}.auth.{key}"), r);
            }
        }
        for (i, action) in self.actions.iter().enumerate() {
            if let Some(r) = &action.token {
                add(
                    &action.secret_owner(),
                    "token",
                    format!("actions[{i}].token"),
                    r,
                );
            }
        }
        for (i, sink) in self.sinks.iter().enumerate() {
            if let Some(r) = &sink.secret {
                add(
                    &sink.secret_owner(),
                    "secret",
                    format!("sinks[{i}].secret"),
                    r,
                );
            }
        }
        refs
    }

    /// The environment variables the config reads secrets from (`env:` references): programs
    /// trmctl runs (command sinks) do not inherit them.
    pub fn secret_env_vars(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .secret_references()
            .into_iter()
            .filter_map(|(.., reference)| match reference {
                SecretRef::Env(name) => Some(name),
                _ => None,
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Parses and validates config text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> anyhow::Result<Config> {
        let mut config = Config::from_toml(text, path)?;
        let problems = config.validate();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(invalid(path, &problems).into())
        }
    }

    /// Parses config text without validating it; a syntax error is a usage error naming the
    /// line, unknown keys and bad values are every one of them, each with its key and line.
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, Exit> {
        read::read(text).map_err(|unreadable| unreadable.into_exit(path))
    }

    /// Checks what serde cannot: cross-references, kind-specific keys, rule regexes. Compiles
    /// the rules on the way. Returns every problem found.
    pub fn validate(&mut self) -> Vec<Problem> {
        let mut problems = Vec::new();
        // cron runs in $HOME and systemd in /: a relative path would name different files.
        for (key, path) in [
            ("store.path", &self.store.path),
            ("server.tls_cert", &self.server.tls_cert),
            ("server.tls_key", &self.server.tls_key),
        ] {
            if path.as_ref().is_some_and(|p| !p.is_absolute()) {
                problems.push(Problem::new(
                    key,
                    "must be an absolute path (a relative one depends on where trmctl runs)",
                ));
            }
        }
        if self.server.tls_cert.is_some() != self.server.tls_key.is_some() {
            problems.push(Problem::new(
                "server.tls_cert",
                "`tls_cert` and `tls_key` go together",
            ));
        }
        problems.extend(self.limit_problems());
        if let Some(Err(why)) = self.server.public_url.as_deref().map(check_url) {
            problems.push(Problem::new("server.public_url", why));
        }
        for (name, account) in &self.accounts {
            // The name is part of keyring entries and lock file names.
            if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
                problems.push(Problem::new(
                    format!("accounts.{name}"),
                    "an account name cannot be empty, `.` or `..`, nor hold `/`: it names \
                     keyring entries and lock files",
                ));
            }
            if account.client_id.trim().is_empty() {
                problems.push(Problem::new(
                    format!("accounts.{name}.client_id"),
                    "is empty: the OAuth client's id, from the Google Cloud console",
                ));
            }
            let urls = [
                ("auth_url", &account.auth_url),
                ("token_url", &account.token_url),
                ("revoke_url", &account.revoke_url),
            ];
            for (key, url) in urls {
                if let Some(Err(why)) = url.as_deref().map(private_url) {
                    problems.push(Problem::new(format!("accounts.{name}.{key}"), why));
                }
            }
        }
        for (name, account) in &self.accounts {
            if let Some(SecretRef::KeyringNamed(_)) = account.refresh_token {
                problems.push(Problem::new(
                    format!("accounts.{name}.refresh_token"),
                    "trmctl keeps the refresh token in the keyring entry it writes: use \
                     \"keyring\", or env:, file: or credential: for one kept elsewhere",
                ));
            }
        }
        for (name, integration) in &self.integrations {
            validate_integration(name, integration, &self.accounts, &mut problems);
        }
        match RuleSet::compile(&self.rules, &self.integrations) {
            Ok(ruleset) => self.ruleset = ruleset,
            Err(rule_problems) => problems.extend(rule_problems),
        }
        problems.extend(crate::sinks::config::validate(
            &self.sinks,
            &self.integrations,
            &self.accounts,
        ));
        problems.extend(crate::actions::config::validate(
            &self.actions,
            &self.integrations,
            &self.accounts,
        ));
        problems
    }

    /// Numbers that parse but cannot work: a zero timeout times everything out, zero attempts
    /// never try, a retry floor above its ceiling, more workers than file handles.
    fn limit_problems(&self) -> Vec<Problem> {
        let (server, worker, poll) = (&self.server, &self.worker, &self.poll);
        let longer_than_zero = || "must be longer than zero".to_string();
        let checks = [
            (
                server.max_body_bytes.as_u64() == 0,
                "server.max_body_bytes",
                "must be more than zero bytes".to_string(),
            ),
            (
                server.header_timeout.is_zero(),
                "server.header_timeout",
                longer_than_zero(),
            ),
            (
                server.request_timeout.is_zero(),
                "server.request_timeout",
                longer_than_zero(),
            ),
            (
                !(1..=MAX_WORKERS).contains(&worker.concurrency),
                "worker.concurrency",
                format!("must be 1 to {MAX_WORKERS} (each worker holds a database connection)"),
            ),
            (poll.timeout.is_zero(), "poll.timeout", longer_than_zero()),
            (
                poll.max_retries > MAX_RETRIES,
                "poll.max_retries",
                format!("must be at most {MAX_RETRIES}"),
            ),
            (
                poll.error_threshold == 0,
                "poll.error_threshold",
                "must be at least 1".to_string(),
            ),
        ];
        let mut problems: Vec<Problem> = checks
            .into_iter()
            .filter(|(wrong, _, _)| *wrong)
            .map(|(_, key, why)| Problem::new(key, why))
            .collect();
        let worker_key = |k: &str| format!("worker.{k}");
        let poll_key = |k: &str| format!("poll.{k}");
        problems.extend(retry_problems(
            &worker_key,
            Some(worker.max_attempts),
            worker.retry_base,
            worker.retry_max,
        ));
        problems.extend(retry_problems(
            &poll_key,
            None,
            poll.retry_base,
            poll.retry_max,
        ));
        problems
    }

    /// The integration of that name, or a usage error listing the configured ones.
    pub fn integration(&self, name: &str) -> anyhow::Result<&IntegrationConfig> {
        self.integrations.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.integrations.keys().map(String::as_str).collect();
            let hint = if known.is_empty() {
                "no integrations are configured".to_string()
            } else {
                format!("configured: {}", known.join(", "))
            };
            Exit::usage(format!("no integration named `{name}` ({hint})")).into()
        })
    }
}

impl Unreadable {
    /// The usage error (exit 2) that says what is wrong in the config at `path`.
    pub fn into_exit(self, path: &Path) -> Exit {
        match self {
            Unreadable::Syntax(message) => {
                Exit::usage(format!("invalid config {}{message}", path.display()))
            }
            Unreadable::Problems(problems) => invalid(path, &problems),
        }
    }
}

/// The problems of a retry policy, under `key(name)`: no attempt at all (`max_attempts`, when
/// it has one), a zero floor (backoff from zero retries in a hot loop), a ceiling below it.
pub fn retry_problems(
    key: &dyn Fn(&str) -> String,
    max_attempts: Option<u32>,
    base: Duration,
    max: Duration,
) -> Vec<Problem> {
    [
        (
            max_attempts == Some(0),
            "max_attempts",
            "must be at least 1",
        ),
        (base.is_zero(), "retry_base", "must be longer than zero"),
        (max < base, "retry_max", "must be at least `retry_base`"),
    ]
    .into_iter()
    .filter(|(wrong, _, _)| *wrong)
    .map(|(_, name, why)| Problem::new(key(name), why))
    .collect()
}

/// The most `[worker] concurrency` allows.
const MAX_WORKERS: usize = 64;

/// The most `[poll] max_retries` allows: more only holds a cron run (and its lock) for hours.
const MAX_RETRIES: u32 = 100;

/// The error for a config with validation problems: every problem on its own line.
pub fn invalid(path: &Path, problems: &[Problem]) -> Exit {
    let mut message = format!(
        "config {} has {} problem{}:",
        path.display(),
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for problem in problems {
        message.push_str(&format!("\n  {problem}"));
    }
    Exit::new(Code::Usage, message)
}

fn validate_integration(
    name: &str,
    cfg: &IntegrationConfig,
    accounts: &BTreeMap<String, AccountConfig>,
    problems: &mut Vec<Problem>,
) {
    let key = |k: &str| format!("integrations.{name}.{k}");
    if !valid_name(name) {
        problems.push(Problem::new(format!("integrations.{name}"), NAME_RULE));
    }
    for foreign in cfg.foreign_keys() {
        problems.push(Problem::new(
            key(foreign),
            format!("not a key of kind `{}`", cfg.kind),
        ));
    }
    let mut require = |field: &str, present: bool| {
        if !present {
            problems.push(Problem::new(
                key(field),
                format!("kind `{}` needs `{field}`", cfg.kind),
            ));
        }
    };
    match cfg.kind {
        Kind::GoogleSheets => {
            require("spreadsheet_id", cfg.spreadsheet_id.is_some());
            require("range", cfg.range.is_some());
            require("key_column", cfg.key_column.is_some());
        }
        Kind::HttpPoll => {
            require("url", cfg.url.is_some());
            require("items", cfg.items.is_some());
            require("id", cfg.id.is_some());
            // The cursor is the latest change time seen: without one, the parameter is never sent.
            if cfg.cursor_param.is_some() && cfg.updated_at.is_none() {
                problems.push(Problem::new(
                    key("cursor_param"),
                    "needs `updated_at`, the field whose latest value it sends",
                ));
            }
        }
        Kind::Github | Kind::Stripe | Kind::Slack | Kind::Hubspot => {
            require("secret", cfg.secret.is_some())
        }
        Kind::Webhook => {
            require("scheme", cfg.scheme.is_some());
            require("secret", cfg.secret.is_some());
            if cfg.scheme == Some(Scheme::Hmac) {
                require("header", cfg.header.is_some());
            }
        }
        Kind::GooglePubsub => {
            if cfg.audience.is_none() && cfg.token.is_none() {
                problems.push(Problem::new(
                    key("audience"),
                    "kind `google-pubsub` needs `audience` (OIDC push) or `token`",
                ));
            }
            // Both would be a user believing pushes are checked against Google's keys while
            // only the token is.
            if cfg.audience.is_some() && cfg.token.is_some() {
                problems.push(Problem::new(
                    key("token"),
                    "set `audience` (OIDC push, checked against Google's keys) or `token` (a \
                     shared token in the push URL), not both",
                ));
            }
            // Any Google service account can mint a token for any audience: without the
            // expected `email`, anyone with a Google Cloud project could push.
            if cfg.token.is_none() && cfg.audience.is_some() && cfg.service_account.is_none() {
                problems.push(Problem::new(
                    key("service_account"),
                    "OIDC push needs `service_account`, the email the push tokens must carry",
                ));
            }
        }
        Kind::Gmail | Kind::GoogleDrive | Kind::GoogleCalendar => {}
    }
    for (field, url) in [
        ("url", &cfg.url),
        ("base_url", &cfg.base_url),
        ("jwks_url", &cfg.jwks_url),
    ] {
        if let Some(Err(why)) = url.as_deref().map(check_url) {
            problems.push(Problem::new(key(field), why));
        }
    }
    for (field, pointer) in [
        ("items", &cfg.items),
        ("id", &cfg.id),
        ("updated_at", &cfg.updated_at),
        ("id_pointer", &cfg.id_pointer),
    ] {
        if let Some(p) = pointer
            && !p.is_empty()
            && !p.starts_with('/')
        {
            problems.push(Problem::new(key(field), "a JSON pointer starts with `/`"));
        }
    }
    if cfg.rate_limit == Some(0) {
        problems.push(Problem::new(key("rate_limit"), "must be at least 1"));
    }
    if let Some(name) = &cfg.algorithm
        && let Err(e) = Algorithm::from_str(name)
    {
        problems.push(Problem::new(key("algorithm"), e.to_string()));
    }
    if let Some(name) = &cfg.encoding
        && let Err(e) = Encoding::from_str(name)
    {
        problems.push(Problem::new(key("encoding"), e.to_string()));
    }
    if cfg.interval == Some(Duration::ZERO) {
        problems.push(Problem::new(key("interval"), "must be longer than zero"));
    }
    if cfg.kind.is_google() || cfg.kind == Kind::GooglePubsub && cfg.account.is_some() {
        match &cfg.account {
            None => problems.push(Problem::new(
                key("account"),
                format!("kind `{}` needs `account`", cfg.kind),
            )),
            Some(account) if !accounts.contains_key(account) => problems.push(Problem::new(
                key("account"),
                format!("no account named `{account}` (add [accounts.{account}])"),
            )),
            Some(_) => {}
        }
    }
}

/// Problems with the names of a list of named entries (`sinks`, `actions`): each plain, none
/// twice.
pub fn name_problems<'a>(section: &str, names: impl Iterator<Item = &'a str>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, name) in names.enumerate() {
        let key = format!("{section}[{i}].name");
        if !valid_name(name) {
            problems.push(Problem::new(&key, NAME_RULE));
        }
        if let Some(first) = seen.insert(name, i) {
            problems.push(Problem::new(
                key,
                format!("`{name}` is already the name of {section}[{first}]"),
            ));
        }
    }
    problems
}

/// An absolute `http` or `https` URL with no password in it; the reason it is not one
/// otherwise, without echoing it (a URL may carry credentials). Errors and logs show the URLs
/// trmctl calls, so a password belongs in a secret reference, not in the URL.
pub fn check_url(url: &str) -> Result<(), &'static str> {
    checked_url(url).map(drop)
}

/// [`check_url`]'s checks, and the URL they passed, parsed.
fn checked_url(url: &str) -> Result<reqwest::Url, &'static str> {
    let parsed = reqwest::Url::parse(url).map_err(|_| "not a valid absolute URL")?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("the URL must start with http:// or https://");
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host");
    }
    if parsed.password().is_some() {
        return Err(
            "the URL holds a password, which errors and logs would show; keep credentials \
             in the keys that take secret references",
        );
    }
    Ok(parsed)
}

/// [`check_url`], for a URL that carries a client secret, a code or a token: HTTPS only, or
/// plain HTTP to a loopback address (tests, a local proxy). The URL, parsed.
pub fn private_url(url: &str) -> Result<reqwest::Url, &'static str> {
    let parsed = checked_url(url)?;
    let loopback = match parsed.host() {
        Some(oauth2::url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(oauth2::url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(oauth2::url::Host::Domain(host)) => host == "localhost",
        None => false,
    };
    if parsed.scheme() != "https" && !loopback {
        return Err(
            "must be https: it carries credentials (plain http only to a loopback address)",
        );
    }
    Ok(parsed)
}

/// Integration names appear in URLs and keyring entries: keep them plain.
/// What [`valid_name`] asks of a name.
const NAME_RULE: &str = "a name may hold only letters, digits, `-` and `_`";

pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A serde message without the value it quotes: `invalid type: string "Bearer sk_live_…",
/// expected …` would echo a secret pasted under the wrong key (`auth = "Bearer …"`).
pub fn without_values(message: &str) -> String {
    static VALUE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"(invalid (?:type|value|length): [a-z ]+?|unknown variant) (?:"(?:[^"\\]|\\.)*"|`[^`]*`)"#,
        )
        .expect("a valid regex")
    });
    VALUE.replace_all(message, "$1").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("test.toml")).map_err(|e| format!("{e:#}"))
    }

    #[test]
    fn empty_config_has_defaults() {
        let config = parse("").unwrap();
        assert_eq!(config.server.bind.port(), 8787);
        assert_eq!(config.server.max_body_bytes, ByteSize::mib(1));
        assert_eq!(config.worker.retry_max, Duration::from_secs(900));
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let err = parse("[server]\nbind = \"127.0.0.1:1\"\nmax_body = \"1MiB\"\n").unwrap_err();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("max_body"), "{err}");
        let err =
            parse("[integrations.a]\nkind = \"gmail\"\naccount = \"x\"\nquerry = \"in:inbox\"\n")
                .unwrap_err();
        assert!(err.contains("line 4") && err.contains("querry"), "{err}");
    }

    #[test]
    fn bad_duration_and_size_name_the_line() {
        let err = parse("[worker]\nretry_base = \"2 parsecs\"\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        let err = parse("[server]\nmax_body_bytes = \"lots\"\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn dangling_account_and_foreign_keys_are_all_reported() {
        let err = parse(
            "[integrations.mail]\nkind = \"gmail\"\naccount = \"nobody\"\n\
             [integrations.hook]\nkind = \"github\"\nquery = \"x\"\n",
        )
        .unwrap_err();
        assert!(
            err.contains("integrations.mail.account: no account named `nobody`"),
            "{err}"
        );
        assert!(
            err.contains("integrations.hook.query: not a key of kind `github`"),
            "{err}"
        );
        assert!(
            err.contains("integrations.hook.secret: kind `github` needs `secret`"),
            "{err}"
        );
        assert!(err.contains("3 problems"), "{err}");
    }

    #[test]
    fn numbers_that_cannot_work_are_problems() {
        let err = parse(
            "[server]\nmax_body_bytes = \"0B\"\nrequest_timeout = \"0s\"\npublic_url = \"nope\"\n\
             header_timeout = \"0s\"\n\
             [worker]\nconcurrency = 100000\nmax_attempts = 0\nretry_base = \"2m\"\nretry_max = \"1m\"\n\
             [poll]\ntimeout = \"0s\"\nmax_retries = 4294967295\nretry_base = \"0s\"\nerror_threshold = 0\n\
             [accounts.a]\nprovider = \"google\"\nclient_id = \"x\"\ntoken_url = \"nope\"\n",
        )
        .unwrap_err();
        for key in [
            "server.max_body_bytes:",
            "server.request_timeout: must be longer than zero",
            "server.public_url: not a valid absolute URL",
            "worker.concurrency: must be 1 to 64",
            "worker.max_attempts: must be at least 1",
            "worker.retry_max: must be at least `retry_base`",
            "server.header_timeout: must be longer than zero",
            "poll.retry_base: must be longer than zero",
            "poll.timeout: must be longer than zero",
            "poll.max_retries: must be at most 100",
            "poll.error_threshold: must be at least 1",
            "accounts.a.token_url: not a valid absolute URL",
        ] {
            assert!(err.contains(key), "{key} in {err}");
        }
        assert!(parse("").is_ok(), "the defaults are fine");
    }

    #[test]
    fn an_account_name_is_one_that_keyring_entries_and_lock_files_can_carry() {
        let err = parse("[accounts.a]\nprovider = \"google\"\nclient_id = \" \"\n").unwrap_err();
        assert!(err.contains("accounts.a.client_id: is empty"), "{err}");
        let account = |name: &str| {
            parse(&format!(
                "[accounts.\"{name}\"]\nprovider = \"google\"\nclient_id = \"x\"\n"
            ))
        };
        for name in ["a/b c", "../../x", "", ".."] {
            let err = account(name).unwrap_err();
            assert!(
                err.contains(&format!("accounts.{name}: an account name cannot")),
                "{err}"
            );
        }
        assert!(
            account("founder.work").is_ok(),
            "names that worked before still do"
        );
        assert!(
            parse("[accounts.founder-2_b]\nprovider = \"google\"\nclient_id = \"x\"\n").is_ok()
        );
    }

    #[test]
    fn an_account_url_is_https_or_loopback() {
        let account = |key: &str, url: &str| {
            parse(&format!(
                "[accounts.a]\nprovider = \"google\"\nclient_id = \"x\"\n{key} = \"{url}\"\n"
            ))
        };
        for key in ["auth_url", "token_url", "revoke_url"] {
            let err = account(key, "http://oauth.example.com/x").unwrap_err();
            assert!(
                err.contains(&format!("accounts.a.{key}: must be https")),
                "{err}"
            );
            for fine in [
                "https://oauth.example.com/x",
                "http://127.0.0.1:9/x",
                "http://[::1]:9/x",
                "http://localhost/x",
            ] {
                assert!(account(key, fine).is_ok(), "{key} = {fine}");
            }
        }
    }

    #[test]
    fn a_password_in_a_url_is_refused_without_echoing_it() {
        let err = parse(
            "[integrations.crm]\nkind = \"http-poll\"\nurl = \"https://me:hunter22@api.x/v1\"\n\
             items = \"/items\"\nid = \"/id\"\n",
        )
        .unwrap_err();
        assert!(
            err.contains("integrations.crm.url: the URL holds a password"),
            "{err}"
        );
        assert!(!err.contains("hunter22"), "{err}");
        let err =
            parse("[integrations.g]\nkind = \"gmail\"\naccount = \"a\"\nbase_url = \"ftp://x\"\n")
                .unwrap_err();
        assert!(
            err.contains("integrations.g.base_url: the URL must start with http"),
            "{err}"
        );
    }

    #[test]
    fn an_http_poll_cursor_needs_the_change_time_it_is_made_of() {
        let poll = "[integrations.crm]\nkind = \"http-poll\"\nurl = \"https://x\"\n\
                    items = \"/items\"\nid = \"/id\"\ncursor_param = \"since\"\n";
        let err = parse(poll).unwrap_err();
        assert!(
            err.contains("integrations.crm.cursor_param: needs `updated_at`"),
            "{err}"
        );
        assert!(parse(&format!("{poll}updated_at = \"/updatedAt\"\n")).is_ok());
    }

    #[test]
    fn a_value_under_the_wrong_key_is_not_echoed() {
        let poll = "[integrations.crm]\nkind = \"http-poll\"\nurl = \"https://x\"\n";
        let err = parse(&format!("{poll}auth = \"Bearer sk_live_abc\"\n")).unwrap_err();
        assert!(
            err.contains("line 4") && err.contains("invalid type: string"),
            "{err}"
        );
        assert!(!err.contains("sk_live_abc"), "{err}");
        let err = parse("[accounts.a]\nclient_id = \"x\"\nclient_secret = 123456\n").unwrap_err();
        assert!(err.contains("invalid type: integer"), "{err}");
        assert!(!err.contains("123456"), "{err}");
        let err = parse("[integrations.h]\nkind = \"ghp_pasted_token\"\n").unwrap_err();
        assert!(
            err.contains("unknown variant, expected one of `gmail`"),
            "{err}"
        );
        assert!(!err.contains("ghp_pasted_token"), "{err}");
        assert_eq!(
            without_values(r#"invalid value: string "a \"quoted\" one", expected x"#),
            "invalid value: string, expected x"
        );
    }

    #[test]
    fn paths_must_be_absolute() {
        let err = parse(
            "[store]\npath = \"trmctl.db\"\n[server]\ntls_cert = \"c.pem\"\ntls_key = \"/k.pem\"\n",
        )
        .unwrap_err();
        assert!(
            err.contains("store.path: must be an absolute path"),
            "{err}"
        );
        assert!(
            err.contains("server.tls_cert: must be an absolute path"),
            "{err}"
        );
        assert!(!err.contains("server.tls_key"), "{err}");
        parse("[store]\npath = \"/var/lib/trmctl/trmctl.db\"\n").unwrap();
    }

    #[test]
    fn literal_secret_is_an_error() {
        let err = parse("[integrations.h]\nkind = \"github\"\nsecret = \"hunter2\"\n").unwrap_err();
        assert!(err.contains("never written in the config"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn example_config_is_valid_and_documents_every_integration_key() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let config = Config::parse(&text, &path).unwrap();
        assert!(!config.rules.is_empty());
        for key in IntegrationConfig::KEYS {
            let documented = text.lines().any(|line| {
                let line = line.trim_start_matches(['#', ' ']);
                line.starts_with(&format!("{key} =")) || line.contains(&format!("{{ {key} ="))
            });
            assert!(documented, "config.example.toml does not show `{key}`");
        }
    }

    #[test]
    fn oidc_push_needs_the_service_account() {
        let push = "[integrations.p]\nkind = \"google-pubsub\"\n";
        let err = parse(&format!("{push}audience = \"https://h/hooks/p\"\n")).unwrap_err();
        assert!(
            err.contains("integrations.p.service_account: OIDC push needs `service_account`"),
            "{err}"
        );
        parse(&format!(
            "{push}audience = \"https://h/hooks/p\"\nservice_account = \"a@p.iam.gserviceaccount.com\"\n"
        ))
        .unwrap();
        parse(&format!("{push}token = \"env:PUSH_TOKEN\"\n")).unwrap();
    }

    #[test]
    fn pubsub_push_takes_an_audience_or_a_token_not_both() {
        let err = parse(
            "[integrations.p]\nkind = \"google-pubsub\"\naudience = \"https://h/hooks/p\"\n\
             service_account = \"a@p.iam.gserviceaccount.com\"\ntoken = \"env:PUSH_TOKEN\"\n",
        )
        .unwrap_err();
        assert!(
            err.contains("integrations.p.token: set `audience`") && err.contains("not both"),
            "{err}"
        );
    }

    #[test]
    fn rotation_takes_several_secrets() {
        let config =
            parse("[integrations.h]\nkind = \"github\"\nsecret = [\"env:NEW\", \"env:OLD\"]\n")
                .unwrap();
        assert_eq!(config.integrations["h"].secret.as_ref().unwrap().0.len(), 2);
    }

    #[test]
    fn rotation_in_the_keyring_names_the_second_entry() {
        let config = parse(
            "[integrations.h]\nkind = \"github\"\nsecret = [\"keyring\", \"keyring:secret-old\"]\n",
        )
        .unwrap();
        let entries: Vec<_> = config.integrations["h"]
            .secret
            .as_ref()
            .unwrap()
            .0
            .iter()
            .map(|r| r.keyring_entry("h", "secret").unwrap())
            .collect();
        assert_eq!(entries, ["h/secret", "h/secret-old"]);
        let err =
            parse("[integrations.h]\nkind = \"github\"\nsecret = [\"keyring\", \"keyring\"]\n")
                .unwrap_err()
                .to_string();
        assert!(err.contains("`keyring` is listed twice"), "{err}");
        assert!(err.contains("keyring:KEY"), "{err}");
        let err = parse(
            "[accounts.a]\nprovider = \"google\"\nclient_id = \"c\"\nrefresh_token = \"keyring:x\"\n",
        )
        .unwrap_err();
        assert!(err.contains("accounts.a.refresh_token"), "{err}");
    }
}
