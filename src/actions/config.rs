//! The `[[actions]]` tables of the config: what trmctl creates elsewhere on an event type, and
//! the small templates over the event's fields that fill it in.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::config::{AccountConfig, IntegrationConfig, Problem, check_url, retry_problems};
use crate::event::{Event, EventType};
use crate::secrets::SecretRef;

/// What an action creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    /// A Google Task (Tasks API).
    GoogleTask,
    /// A Slack message (`chat.postMessage`).
    SlackMessage,
    /// A POST to an HTTP endpoint.
    Http,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::GoogleTask => "google-task",
            ActionKind::SlackMessage => "slack-message",
            ActionKind::Http => "http",
        }
    }
}

/// One `[[actions]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionConfig {
    pub name: String,
    /// The event type (camelCase) that triggers the action.
    pub on: String,
    /// Only events of these integrations; all when absent.
    #[serde(default)]
    pub integrations: Option<Vec<String>>,
    pub kind: ActionKind,
    /// `google-task`: the Google account whose tasks are written.
    #[serde(default)]
    pub account: Option<String>,
    /// `google-task`: the task list id.
    #[serde(default = "default_tasklist")]
    pub tasklist: String,
    /// `google-task`: templates of the task's title and notes.
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    /// `google-task` and `slack-message`: the API's base URL.
    #[serde(default)]
    pub base_url: Option<String>,
    /// `slack-message`: the bot token, as a reference.
    #[serde(default)]
    pub token: Option<SecretRef>,
    /// `slack-message`: the channel id and the text template.
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    /// `http`: where the body is POSTed, and the body's template (JSON).
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    /// How long one request may take.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Failed attempts at one event before the action gives up on it and moves on.
    #[serde(default = "crate::retry::default_max_attempts")]
    pub max_attempts: u32,
    #[serde(default = "crate::retry::default_base", with = "humantime_serde")]
    pub retry_base: Duration,
    #[serde(default = "crate::retry::default_max", with = "humantime_serde")]
    pub retry_max: Duration,
}

fn default_tasklist() -> String {
    "@default".into()
}
fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

impl ActionConfig {
    /// The owner of the action's secret: its keyring entry is `actions.NAME/token`.
    pub fn secret_owner(&self) -> String {
        format!("actions.{}", self.name)
    }

    /// The base URL, or the kind's default.
    pub fn base(&self) -> &str {
        let default = match self.kind {
            ActionKind::GoogleTask => "https://tasks.googleapis.com",
            ActionKind::SlackMessage => "https://slack.com",
            ActionKind::Http => "",
        };
        self.base_url
            .as_deref()
            .unwrap_or(default)
            .trim_end_matches('/')
    }

    fn keys_of_kind(&self) -> Vec<(&'static str, bool, ActionKind)> {
        use ActionKind::*;
        vec![
            ("account", self.account.is_some(), GoogleTask),
            ("title", self.title.is_some(), GoogleTask),
            ("notes", self.notes.is_some(), GoogleTask),
            ("tasklist", self.tasklist != "@default", GoogleTask),
            ("token", self.token.is_some(), SlackMessage),
            ("channel", self.channel.is_some(), SlackMessage),
            ("text", self.text.is_some(), SlackMessage),
            ("url", self.url.is_some(), Http),
            ("body", self.body.is_some(), Http),
        ]
    }
}

/// The placeholders of a template, in order, with where each sits: `{` followed by letters,
/// digits, `_` and `.` up to `}`. Any other brace is literal (a JSON body's own braces).
fn placeholders(template: &str) -> Vec<(usize, usize, &str)> {
    let mut found = Vec::new();
    let bytes = template.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'{' {
            let name_len = template[i + 1..]
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.'))
                .count();
            let end = i + 1 + name_len;
            if name_len > 0 && bytes.get(end) == Some(&b'}') {
                found.push((i, end + 1, &template[i + 1..end]));
                i = end + 1;
                continue;
            }
        }
        i += 1;
    }
    found
}

/// Fills a template: `{subject}`, `{eventType}`, `{integration}`, `{eventId}` and
/// `{data.FIELD}` (a dotted path into the event's data). With `json`, values are escaped to
/// sit inside a JSON string. A missing value is empty.
pub fn render(template: &str, event: &Event, json: bool) -> String {
    let mut out = String::with_capacity(template.len());
    let mut from = 0;
    for (start, end, name) in placeholders(template) {
        out.push_str(&template[from..start]);
        match value(name, event) {
            Some(v) if json => {
                let quoted = serde_json::Value::String(v).to_string();
                out.push_str(&quoted[1..quoted.len() - 1]);
            }
            Some(v) => out.push_str(&v),
            None => out.push_str(&template[start..end]),
        }
        from = end;
    }
    out.push_str(&template[from..]);
    out
}

/// A placeholder's value; `None` when it is not a known placeholder.
fn value(name: &str, event: &Event) -> Option<String> {
    Some(match name {
        "subject" => event.subject.clone().unwrap_or_default(),
        "eventType" => event.event_type.as_str().to_string(),
        "integration" => event.integration.clone(),
        "eventId" => event.event_id.to_string(),
        _ => {
            let path = name.strip_prefix("data.")?;
            let mut v = &event.data;
            for part in path.split('.') {
                v = v.get(part).unwrap_or(&serde_json::Value::Null);
            }
            match v {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            }
        }
    })
}

/// The placeholders of a template that are not known ones.
fn unknown_placeholders(template: &str) -> Vec<String> {
    placeholders(template)
        .into_iter()
        .filter(|(_, _, name)| {
            let known = matches!(*name, "subject" | "eventType" | "integration" | "eventId")
                || name
                    .strip_prefix("data.")
                    .is_some_and(|p| !p.split('.').any(str::is_empty));
            !known
        })
        .map(|(_, _, name)| name.to_string())
        .collect()
}

/// Checks every action and returns its problems, each named by key path.
pub fn validate(
    actions: &[ActionConfig],
    integrations: &BTreeMap<String, IntegrationConfig>,
    accounts: &BTreeMap<String, AccountConfig>,
) -> Vec<Problem> {
    let mut problems =
        crate::config::name_problems("actions", actions.iter().map(|x| x.name.as_str()));
    for (i, action) in actions.iter().enumerate() {
        let key = |k: &str| format!("actions[{i}].{k}");
        match EventType::parse(&action.on) {
            None => problems.push(Problem::new(
                key("on"),
                format!(
                    "unknown event type `{}` (camelCase, as in `events list --type`)",
                    action.on
                ),
            )),
            Some(EventType::ExternalTaskCreated) => problems.push(Problem::new(
                key("on"),
                "an action cannot run on `externalTaskCreated` (it would feed itself)",
            )),
            Some(_) => {}
        }
        if let Some(list) = &action.integrations {
            if list.is_empty() {
                problems.push(Problem::new(
                    key("integrations"),
                    "an empty list lets no event through; leave the key out to act on all",
                ));
            }
            for name in list {
                if !integrations.contains_key(name) {
                    problems.push(Problem::new(
                        key("integrations"),
                        format!("no integration named `{name}`"),
                    ));
                }
            }
        }
        for (k, set, kind) in action.keys_of_kind() {
            if set && kind != action.kind {
                problems.push(Problem::new(
                    key(k),
                    format!("not a key of kind `{}`", action.kind.as_str()),
                ));
            }
        }
        let need = |problems: &mut Vec<Problem>, k: &str, set: bool| {
            if !set {
                problems.push(Problem::new(
                    key(k),
                    format!("kind `{}` needs `{k}`", action.kind.as_str()),
                ));
            }
        };
        match action.kind {
            ActionKind::GoogleTask => {
                need(&mut problems, "account", action.account.is_some());
                need(&mut problems, "title", action.title.is_some());
                if let Some(account) = &action.account
                    && !accounts.contains_key(account)
                {
                    problems.push(Problem::new(
                        key("account"),
                        format!("no account named `{account}` in [accounts]"),
                    ));
                }
            }
            ActionKind::SlackMessage => {
                need(&mut problems, "token", action.token.is_some());
                need(&mut problems, "channel", action.channel.is_some());
                need(&mut problems, "text", action.text.is_some());
            }
            ActionKind::Http => {
                need(&mut problems, "url", action.url.is_some());
                need(&mut problems, "body", action.body.is_some());
                if let Some(Err(why)) = action.url.as_deref().map(check_url) {
                    problems.push(Problem::new(key("url"), why));
                }
            }
        }
        if action.kind != ActionKind::Http
            && let Some(Err(why)) = action.base_url.as_deref().map(check_url)
        {
            problems.push(Problem::new(key("base_url"), why));
        }
        if action.kind == ActionKind::Http && action.base_url.is_some() {
            problems.push(Problem::new(key("base_url"), "not a key of kind `http`"));
        }
        let templates = [
            ("title", &action.title),
            ("notes", &action.notes),
            ("text", &action.text),
            ("body", &action.body),
        ];
        for (k, template) in templates {
            let Some(template) = template else { continue };
            for name in unknown_placeholders(template) {
                problems.push(Problem::new(
                    key(k),
                    format!(
                        "unknown placeholder `{{{name}}}` (use {{subject}}, {{eventType}}, \
                         {{integration}}, {{eventId}} or {{data.FIELD}})"
                    ),
                ));
            }
        }
        if action.timeout.is_zero() {
            problems.push(Problem::new(key("timeout"), "must be longer than zero"));
        }
        problems.extend(retry_problems(
            &key,
            Some(action.max_attempts),
            action.retry_base,
            action.retry_max,
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::now;

    #[test]
    fn templates_fill_known_placeholders() {
        let mut event = Event::new(
            EventType::PotentialTensionDetected,
            "gh",
            "t",
            "k".into(),
            now(),
        );
        event.subject = Some("we are \"blocked\"".into());
        event.data = serde_json::json!({"rule": "r1", "n": {"x": 3}});
        let text = render(
            "{eventType} {subject} {data.rule} {data.n.x} {data.none}.",
            &event,
            false,
        );
        assert_eq!(text, "potentialTensionDetected we are \"blocked\" r1 3 .");
        let json = render("{\"s\": \"{subject}\"}", &event, true);
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed["s"], "we are \"blocked\"");
        assert_eq!(
            unknown_placeholders("{\"a\": 1} {subject} {nope} {data.} {data.a}"),
            ["nope", "data."]
        );
    }
}

#[cfg(test)]
mod example_tests {
    use std::path::Path;

    use crate::config::Config;

    #[test]
    fn example_config_documents_every_action_key() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
        let text = std::fs::read_to_string(&path).expect("config.example.toml");
        let mut config = Config::from_toml(&text, &path).expect("the example parses");
        let problems = config.validate();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(config.actions.len(), 3);
        let part = &text[text.find("[[actions]]").expect("an [[actions]] table")..];
        let keys = [
            "name",
            "on",
            "integrations",
            "kind",
            "account",
            "tasklist",
            "title",
            "notes",
            "base_url",
            "token",
            "channel",
            "text",
            "url",
            "body",
            "timeout",
            "max_attempts",
            "retry_base",
            "retry_max",
        ];
        for key in keys {
            assert!(
                part.lines().any(|l| l
                    .trim_start_matches(['#', ' '])
                    .starts_with(&format!("{key} ="))),
                "config.example.toml does not show action key `{key}`"
            );
        }
    }

    #[test]
    fn problems_name_their_keys() {
        let text = "[[actions]]\nname = \"a\"\non = \"nope\"\nkind = \"slack-message\"\n\
                    channel = \"C1\"\ntext = \"{subjekt}\"\naccount = \"x\"\n";
        let mut config = Config::from_toml(text, Path::new("t.toml")).unwrap();
        let problems: Vec<String> = config
            .validate()
            .into_iter()
            .map(|p| format!("{}: {}", p.key, p.message))
            .collect();
        let has = |s: &str| problems.iter().any(|p| p.starts_with(s));
        assert!(
            has("actions[0].on: unknown event type `nope`"),
            "{problems:?}"
        );
        assert!(
            has("actions[0].text: unknown placeholder `{subjekt}`"),
            "{problems:?}"
        );
        assert!(
            has("actions[0].token: kind `slack-message` needs `token`"),
            "{problems:?}"
        );
        assert!(has("actions[0].account: not a key of kind"), "{problems:?}");
    }
}
