//! Rules (SPEC §3 `[[rules]]`): configuration that classifies base events into ontology events.
//!
//! A rule names an integration (or `"*"`), a set of `field = regex` matches that must all hold,
//! and the ontology event type to emit. Regexes compile when the config loads, so a bad one is
//! a config error naming its rule, never a surprise at run time.
//!
//! A match key reads a field of the base event: `subject`, `eventType`, `externalId` or
//! `sourceSystem`; a key starting with `/` is a JSON pointer into `data`; any other key is a
//! top-level field of `data` (`from` for an email). Strings, numbers and booleans match as text.

use std::collections::BTreeMap;

use regex::Regex;
use uuid::Uuid;

use crate::config::{IntegrationConfig, Problem, RuleConfig};
use crate::event::{Event, EventType};

/// The compiled rules of a config.
#[derive(Debug, Default, Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
struct Rule {
    label: String,
    integration: Option<String>,
    matches: Vec<(String, Regex)>,
    emit: EventType,
}

impl RuleSet {
    /// Compiles every rule; on failure, returns a problem per bad rule field.
    pub fn compile(
        configs: &[RuleConfig],
        integrations: &BTreeMap<String, IntegrationConfig>,
    ) -> Result<RuleSet, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut rules = Vec::new();
        for (index, config) in configs.iter().enumerate() {
            let label = match &config.name {
                Some(name) => format!("rules[{index}] ({name})"),
                None => format!("rules[{index}]"),
            };
            let integration = match config.integration.as_str() {
                "*" => None,
                name if integrations.contains_key(name) => Some(name.to_string()),
                name => {
                    problems.push(Problem::new(
                        format!("{label}.integration"),
                        format!("no integration named `{name}` (or use \"*\")"),
                    ));
                    None
                }
            };
            let emit = match EventType::parse(&config.emit) {
                Some(t) if t.is_ontology() => Some(t),
                _ => {
                    problems.push(Problem::new(
                        format!("{label}.emit"),
                        format!(
                            "`{}` is not an ontology event type (potentialTensionDetected, \
                             recognitionDetected, winRecorded, knowledgeSnippetFound, taskRequested)",
                            config.emit
                        ),
                    ));
                    None
                }
            };
            if config.matches.is_empty() {
                problems.push(Problem::new(
                    format!("{label}.match"),
                    "needs at least one `field = \"regex\"`",
                ));
            }
            let mut matches = Vec::new();
            for (field, pattern) in &config.matches {
                match Regex::new(pattern) {
                    Ok(regex) => matches.push((field.clone(), regex)),
                    Err(e) => problems.push(Problem::new(
                        format!("{label}.match.{field}"),
                        format!("invalid regex: {}", one_line(&e.to_string())),
                    )),
                }
            }
            if let Some(emit) = emit {
                rules.push(Rule {
                    label,
                    integration,
                    matches,
                    emit,
                });
            }
        }
        if problems.is_empty() {
            Ok(RuleSet { rules })
        } else {
            Err(problems)
        }
    }

    /// The ontology events the rules derive from a base event, at most one per emitted type.
    /// Derived events are never fed back into the rules, nor is trmctl's own output coming
    /// back (see [`crate::actions::carries_own_marker`]).
    pub fn derive(&self, base: &Event) -> Vec<Event> {
        if base.derived_from.is_some()
            || base.event_type.is_ontology()
            || crate::actions::carries_own_marker(base)
        {
            return Vec::new();
        }
        let mut derived: Vec<Event> = Vec::new();
        for rule in &self.rules {
            if !rule.applies(base) || derived.iter().any(|d| d.event_type == rule.emit) {
                continue;
            }
            let mut event = base.clone();
            event.event_id = Uuid::now_v7();
            event.event_type = rule.emit;
            event.dedupe_key = format!("{}#{}", base.dedupe_key, rule.emit);
            event.derived_from = Some(base.event_id);
            if let serde_json::Value::Object(map) = &mut event.data {
                map.insert("rule".into(), rule.label.clone().into());
            }
            derived.push(event);
        }
        derived
    }
}

impl Rule {
    fn applies(&self, event: &Event) -> bool {
        if let Some(name) = &self.integration
            && name != &event.integration
        {
            return false;
        }
        self.matches.iter().all(|(field, regex)| {
            field_text(event, field).is_some_and(|text| regex.is_match(&text))
        })
    }
}

/// The text a match key reads from an event, if the field exists and is scalar.
fn field_text(event: &Event, field: &str) -> Option<String> {
    match field {
        "subject" => event.subject.clone(),
        "eventType" => Some(event.event_type.as_str().to_string()),
        "externalId" => event.external_id.clone(),
        "sourceSystem" => Some(event.source_system.clone()),
        pointer if pointer.starts_with('/') => scalar_text(event.data.pointer(pointer)?),
        key => scalar_text(event.data.get(key)?),
    }
}

fn scalar_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use serde_json::json;

    fn config(text: &str) -> Result<Config, String> {
        Config::parse(text, std::path::Path::new("t.toml")).map_err(|e| format!("{e:#}"))
    }

    const INTEGRATIONS: &str = "[accounts.f]\nprovider = \"google\"\nclient_id = \"c\"\n\
        [integrations.mail]\nkind = \"gmail\"\naccount = \"f\"\n\
        [integrations.other]\nkind = \"github\"\nsecret = \"env:S\"\n";

    fn email(integration: &str, subject: &str, from: &str) -> Event {
        let mut event = Event::new(
            EventType::EmailReceived,
            integration,
            "gmail",
            format!("gmail:f:{subject}"),
            crate::event::now(),
        );
        event.subject = Some(subject.into());
        event.data = json!({ "from": from, "labels": { "count": 3 } });
        event
    }

    #[test]
    fn trmctls_own_post_coming_back_derives_nothing() {
        let cfg = config(&format!(
            "{INTEGRATIONS}[[rules]]\nintegration = \"*\"\nmatch = {{ text = \"(?i)blocked\" }}\n\
             emit = \"potentialTensionDetected\"\n"
        ))
        .unwrap();
        let mut post = Event::new(
            EventType::SlackMessagePosted,
            "other",
            "slack",
            "slack:T1:C1:1.2".into(),
            crate::event::now(),
        );
        post.data = json!({ "text": "Tension: we are blocked" });
        assert_eq!(cfg.ruleset.derive(&post).len(), 1, "a person's post");
        post.data["metadata"] = json!({ "event_type": crate::actions::METADATA_TYPE });
        assert!(cfg.ruleset.derive(&post).is_empty(), "trmctl's own post");
    }

    #[test]
    fn all_matches_must_hold() {
        let cfg = config(&format!(
            "{INTEGRATIONS}[[rules]]\nintegration = \"mail\"\n\
             match = {{ subject = \"(?i)urgent|blocked\", from = \"@bigclient\\\\.com$\" }}\n\
             emit = \"potentialTensionDetected\"\n"
        ))
        .unwrap();
        let hit = email("mail", "URGENT: renewal", "ceo@bigclient.com");
        let derived = cfg.ruleset.derive(&hit);
        assert_eq!(derived.len(), 1);
        let d = &derived[0];
        assert_eq!(d.event_type, EventType::PotentialTensionDetected);
        assert_eq!(d.derived_from, Some(hit.event_id));
        assert_ne!(d.event_id, hit.event_id);
        assert_ne!(d.dedupe_key, hit.dedupe_key);
        assert_eq!(d.integration, "mail");

        assert!(
            cfg.ruleset
                .derive(&email("mail", "URGENT", "x@small.com"))
                .is_empty()
        );
        assert!(
            cfg.ruleset
                .derive(&email("mail", "hello", "ceo@bigclient.com"))
                .is_empty()
        );
        assert!(
            cfg.ruleset
                .derive(&email("other", "urgent", "ceo@bigclient.com"))
                .is_empty()
        );
    }

    #[test]
    fn wildcard_pointer_and_no_feedback() {
        let cfg = config(&format!(
            "{INTEGRATIONS}[[rules]]\nname = \"many labels\"\nintegration = \"*\"\n\
             match = {{ \"/labels/count\" = \"^3$\" }}\nemit = \"winRecorded\"\n"
        ))
        .unwrap();
        let derived = cfg.ruleset.derive(&email("other", "x", "y"));
        assert_eq!(derived.len(), 1);
        assert_eq!(derived[0].data["rule"], "rules[0] (many labels)");
        assert!(
            cfg.ruleset.derive(&derived[0]).is_empty(),
            "derived events are final"
        );
    }

    #[test]
    fn bad_regex_unknown_integration_and_bad_emit_name_the_rule() {
        let err = config(&format!(
            "{INTEGRATIONS}[[rules]]\nname = \"tension\"\nintegration = \"mail\"\n\
             match = {{ subject = \"(unclosed\" }}\nemit = \"potentialTensionDetected\"\n\
             [[rules]]\nintegration = \"ghost\"\nmatch = {{ subject = \"x\" }}\nemit = \"emailReceived\"\n"
        ))
        .unwrap_err();
        assert!(
            err.contains("rules[0] (tension).match.subject: invalid regex"),
            "{err}"
        );
        assert!(
            err.contains("rules[1].integration: no integration named `ghost`"),
            "{err}"
        );
        assert!(
            err.contains("rules[1].emit: `emailReceived` is not an ontology"),
            "{err}"
        );
    }
}
