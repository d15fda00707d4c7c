//! The `[[sinks]]` tables of the config: where events go next, which of them, and how hard to
//! retry.
//!
//! Kept next to the sinks rather than in `config.rs` so that a sink's settings, its
//! validation and the code that acts on them read together; `config.rs` only holds the list.
//! Like the rest of the config, a table is strict (`deny_unknown_fields`) and every
//! cross-reference problem is reported with its key path (`sinks[0].url: …`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::config::{AccountConfig, IntegrationConfig, Problem, check_url, retry_problems};
use crate::event::EventType;
use crate::secrets::SecretRef;

/// How a sink sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkKind {
    /// POST the event JSON, signed with Standard Webhooks headers.
    Http,
    /// Run a program with the event JSON on stdin.
    Command,
}

impl SinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SinkKind::Http => "http",
            SinkKind::Command => "command",
        }
    }
}

/// One `[[sinks]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    /// Names the sink in commands, logs and its keyring entry (`sinks.NAME/secret`).
    pub name: String,
    pub kind: SinkKind,
    /// `http`: where events are POSTed.
    #[serde(default)]
    pub url: Option<String>,
    /// `http`: the Standard Webhooks signing secret (`whsec_…`), as a reference.
    #[serde(default)]
    pub secret: Option<SecretRef>,
    /// `command`: the program and its arguments (no shell).
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// How long one request or one run of the command may take.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Only events of these types (camelCase); all when absent.
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    /// Only events of these integrations (or accounts, for `reauthRequired`); all when absent.
    #[serde(default)]
    pub integrations: Option<Vec<String>>,
    /// Failed attempts at one event before it goes to the sink's dead letters.
    #[serde(default = "crate::retry::default_max_attempts")]
    pub max_attempts: u32,
    /// Retries back off exponentially from `retry_base`, with full jitter, capped at `retry_max`.
    #[serde(default = "crate::retry::default_base", with = "humantime_serde")]
    pub retry_base: Duration,
    #[serde(default = "crate::retry::default_max", with = "humantime_serde")]
    pub retry_max: Duration,
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

impl SinkConfig {
    /// The owner of the sink's secret: its keyring entry is `sinks.NAME/secret`. The dot keeps
    /// it apart from integration names, which cannot hold one.
    pub fn secret_owner(&self) -> String {
        format!("sinks.{}", self.name)
    }

    /// The keys set in this table that its kind does not take.
    fn foreign_keys(&self) -> Vec<&'static str> {
        let mut keys = Vec::new();
        if self.kind != SinkKind::Http {
            if self.url.is_some() {
                keys.push("url");
            }
            if self.secret.is_some() {
                keys.push("secret");
            }
        }
        if self.kind != SinkKind::Command && self.command.is_some() {
            keys.push("command");
        }
        keys
    }
}

/// Checks every sink and returns its problems, each named by key path.
pub fn validate(
    sinks: &[SinkConfig],
    integrations: &BTreeMap<String, IntegrationConfig>,
    accounts: &BTreeMap<String, AccountConfig>,
) -> Vec<Problem> {
    let mut problems = crate::config::name_problems("sinks", sinks.iter().map(|x| x.name.as_str()));
    for (i, sink) in sinks.iter().enumerate() {
        let key = |k: &str| format!("sinks[{i}].{k}");
        validate_kind(sink, &key, &mut problems);
        validate_filters(sink, integrations, accounts, &key, &mut problems);
        problems.extend(retry_problems(
            &key,
            Some(sink.max_attempts),
            sink.retry_base,
            sink.retry_max,
        ));
    }
    problems
}

fn validate_kind(sink: &SinkConfig, key: &dyn Fn(&str) -> String, problems: &mut Vec<Problem>) {
    for foreign in sink.foreign_keys() {
        problems.push(Problem::new(
            key(foreign),
            format!("not a key of kind `{}`", sink.kind.as_str()),
        ));
    }
    match sink.kind {
        SinkKind::Http => {
            match &sink.url {
                None => problems.push(Problem::new(key("url"), "kind `http` needs `url`")),
                Some(url) => {
                    if let Err(why) = check_url(url) {
                        problems.push(Problem::new(key("url"), why));
                    }
                }
            }
            if sink.secret.is_none() {
                problems.push(Problem::new(
                    key("secret"),
                    "kind `http` needs `secret` (a Standard Webhooks `whsec_` key, by reference)",
                ));
            }
        }
        SinkKind::Command => match &sink.command {
            None => problems.push(Problem::new(
                key("command"),
                "kind `command` needs `command` (the program and its arguments)",
            )),
            Some(argv) if argv.first().is_none_or(|program| program.is_empty()) => problems.push(
                Problem::new(key("command"), "the first entry names the program to run"),
            ),
            Some(_) => {}
        },
    }
    if sink.timeout.is_zero() {
        problems.push(Problem::new(key("timeout"), "must be longer than zero"));
    }
}

fn validate_filters(
    sink: &SinkConfig,
    integrations: &BTreeMap<String, IntegrationConfig>,
    accounts: &BTreeMap<String, AccountConfig>,
    key: &dyn Fn(&str) -> String,
    problems: &mut Vec<Problem>,
) {
    let empty = "an empty list lets no event through; leave the key out to send all";
    if let Some(types) = &sink.event_types {
        if types.is_empty() {
            problems.push(Problem::new(key("event_types"), empty));
        }
        for name in types {
            if EventType::parse(name).is_none() {
                problems.push(Problem::new(
                    key("event_types"),
                    format!("unknown event type `{name}` (camelCase, as in `events list --type`)"),
                ));
            }
        }
    }
    if let Some(names) = &sink.integrations {
        if names.is_empty() {
            problems.push(Problem::new(key("integrations"), empty));
        }
        for name in names {
            if !integrations.contains_key(name) && !accounts.contains_key(name) {
                problems.push(Problem::new(
                    key("integrations"),
                    format!("no integration (or account) named `{name}`"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;

    fn problems(text: &str) -> Vec<String> {
        let mut config = Config::from_toml(text, Path::new("t.toml")).expect("parses");
        config.validate().iter().map(|p| p.to_string()).collect()
    }

    /// The field names serde knows for [`SinkConfig`]: every key a sink table may hold.
    fn keys() -> &'static [&'static str] {
        struct Fields(&'static [&'static str]);
        impl<'de> serde::Deserializer<'de> for &mut Fields {
            type Error = serde::de::value::Error;
            fn deserialize_any<V: serde::de::Visitor<'de>>(
                self,
                _: V,
            ) -> Result<V::Value, Self::Error> {
                Err(serde::de::Error::custom("only structs"))
            }
            fn deserialize_struct<V: serde::de::Visitor<'de>>(
                self,
                _: &'static str,
                fields: &'static [&'static str],
                _: V,
            ) -> Result<V::Value, Self::Error> {
                self.0 = fields;
                Err(serde::de::Error::custom("fields recorded"))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
                byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
                enum identifier ignored_any
            }
        }
        let mut fields = Fields(&[]);
        let _ = SinkConfig::deserialize(&mut fields);
        fields.0
    }

    #[test]
    fn defaults_and_a_valid_pair_of_sinks() {
        let text = r#"
            [[sinks]]
            name = "core"
            kind = "http"
            url = "https://trm-os.example.com/api/events"
            secret = "env:CORE_SECRET"

            [[sinks]]
            name = "notify"
            kind = "command"
            command = ["notify-send", "trmctl"]
            event_types = ["integrationFailed", "reauthRequired"]
        "#;
        assert_eq!(problems(text), Vec::<String>::new());
        let config = Config::from_toml(text, Path::new("t.toml")).expect("parses");
        let core = &config.sinks[0];
        assert_eq!(core.max_attempts, 8);
        assert_eq!(core.retry_base, Duration::from_secs(2));
        assert_eq!(core.retry_max, Duration::from_secs(900));
        assert_eq!(core.timeout, Duration::from_secs(30));
        assert_eq!(core.secret_owner(), "sinks.core");
    }

    #[test]
    fn every_problem_names_its_key() {
        let found = problems(
            r#"
            [integrations.hook]
            kind = "github"
            secret = "env:X"

            [[sinks]]
            name = "bad name"
            kind = "http"
            url = "ftp://example.com/x"
            command = ["x"]
            event_types = ["emailReceived", "emailSent"]
            integrations = ["hook", "nope"]
            max_attempts = 0
            retry_base = "1m"
            retry_max = "1s"

            [[sinks]]
            name = "bad name"
            kind = "command"
            secret = "env:Y"
            command = []
            timeout = "0s"
            event_types = []
            "#,
        );
        let expected = [
            "sinks[0].name: a name may hold only letters, digits, `-` and `_`",
            "sinks[0].command: not a key of kind `http`",
            "sinks[0].url: the URL must start with http:// or https://",
            "sinks[0].secret: kind `http` needs `secret`",
            "sinks[0].event_types: unknown event type `emailSent`",
            "sinks[0].integrations: no integration (or account) named `nope`",
            "sinks[0].max_attempts: must be at least 1",
            "sinks[0].retry_max: must be at least `retry_base`",
            "sinks[1].name: `bad name` is already the name of sinks[0]",
            "sinks[1].secret: not a key of kind `command`",
            "sinks[1].command: the first entry names the program to run",
            "sinks[1].timeout: must be longer than zero",
            "sinks[1].event_types: an empty list lets no event through",
        ];
        for want in expected {
            assert!(
                found.iter().any(|p| p.starts_with(want)),
                "missing {want:?} in {found:#?}"
            );
        }
    }

    #[test]
    fn unknown_key_and_missing_name_are_errors_with_a_line() {
        let err = Config::from_toml(
            "[[sinks]]\nname = \"a\"\nkind = \"http\"\nurll = \"x\"\n",
            Path::new("t.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("line 4") && err.contains("urll"), "{err}");
        let err = Config::from_toml("[[sinks]]\nkind = \"command\"\n", Path::new("t.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("name"), "{err}");
        let err = Config::from_toml(
            "[[sinks]]\nname = \"a\"\nkind = \"http\"\nsecret = \"whsec_abc\"\n",
            Path::new("t.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            !err.contains("whsec_abc"),
            "a literal secret is not echoed: {err}"
        );
    }

    #[test]
    fn example_config_documents_every_sink_key() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
        let text = std::fs::read_to_string(&path).expect("config.example.toml");
        let config = Config::parse(&text, &path).expect("the example is valid");
        assert!(!config.sinks.is_empty(), "the example shows sinks");
        let keys = keys();
        assert!(
            keys.contains(&"retry_max") && keys.contains(&"name"),
            "{keys:?}"
        );
        let sinks_part = &text[text.find("[[sinks]]").expect("a [[sinks]] table")..];
        for key in keys {
            let documented = sinks_part.lines().any(|line| {
                let line = line.trim_start_matches(['#', ' ']);
                line.starts_with(&format!("{key} ="))
            });
            assert!(
                documented,
                "config.example.toml does not show sink key `{key}`"
            );
        }
    }
}
