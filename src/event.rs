//! The TRM-OS event (SPEC §2): what every source turns into and every sink receives.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Declares [`EventType`] with its camelCase names, the one place those names are written.
macro_rules! event_types {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// Every event type of SPEC §2.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventType {
            $($(#[$doc])* $variant,)*
        }

        impl EventType {
            /// Every type, in the order of SPEC §2.
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)*];

            /// The camelCase name, as stored and printed.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $name,)*
                }
            }
        }
    };
}

event_types! {
    /// Base: one per source item.
    EmailReceived = "emailReceived",
    SheetRowAdded = "sheetRowAdded",
    SheetRowUpdated = "sheetRowUpdated",
    SheetRowRemoved = "sheetRowRemoved",
    DriveFileAdded = "driveFileAdded",
    DriveFileUpdated = "driveFileUpdated",
    CalendarEventChanged = "calendarEventChanged",
    SlackMessagePosted = "slackMessagePosted",
    GithubEventReceived = "githubEventReceived",
    StripeEventReceived = "stripeEventReceived",
    CrmRecordChanged = "crmRecordChanged",
    ExternalEventReceived = "externalEventReceived",
    /// Ontology: derived by rules.
    PotentialTensionDetected = "potentialTensionDetected",
    RecognitionDetected = "recognitionDetected",
    WinRecorded = "winRecorded",
    KnowledgeSnippetFound = "knowledgeSnippetFound",
    TaskRequested = "taskRequested",
    /// Internal.
    ExternalTaskCreated = "externalTaskCreated",
    IntegrationFailed = "integrationFailed",
    ReauthRequired = "reauthRequired",
}

impl EventType {
    /// Parses the camelCase name.
    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL.iter().copied().find(|t| t.as_str() == name)
    }

    /// Whether a rule may emit this type.
    pub fn is_ontology(self) -> bool {
        use EventType::*;
        matches!(
            self,
            PotentialTensionDetected
                | RecognitionDetected
                | WinRecorded
                | KnowledgeSnippetFound
                | TaskRequested
        )
    }
}

impl Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        EventType::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown event type `{name}`")))
    }
}

impl clap::ValueEnum for EventType {
    fn value_variants<'a>() -> &'a [Self] {
        EventType::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One TRM-OS event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub event_id: Uuid,
    pub event_type: EventType,
    pub integration: String,
    pub source_system: String,
    pub external_id: Option<String>,
    pub dedupe_key: String,
    #[serde(with = "rfc3339")]
    pub occurred_at: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub received_at: DateTime<Utc>,
    pub subject: Option<String>,
    pub data: serde_json::Value,
    pub derived_from: Option<Uuid>,
}

impl Event {
    /// A new base event with a fresh UUIDv7, received now. An occurrence time RFC 3339
    /// cannot carry (see [`storable`]) becomes the receive time.
    pub fn new(
        event_type: EventType,
        integration: &str,
        source_system: &str,
        dedupe_key: String,
        occurred_at: DateTime<Utc>,
    ) -> Event {
        let received_at = now();
        Event {
            event_id: Uuid::now_v7(),
            event_type,
            integration: integration.to_string(),
            source_system: source_system.to_string(),
            external_id: None,
            dedupe_key,
            occurred_at: storable(occurred_at).unwrap_or(received_at),
            received_at,
            subject: None,
            data: serde_json::Value::Object(Default::default()),
            derived_from: None,
        }
    }
}

/// The deepest nesting of arrays and objects an event's `data` may have. serde_json, like most
/// JSON readers, reads at most 128 levels, and `data` travels inside envelopes (`--json`
/// output, sink deliveries) that add their own: a deeper event would be stored and then fail
/// every read of events after it.
pub const MAX_DEPTH: usize = 100;

/// Refuses `data` that nests deeper than [`MAX_DEPTH`], saying so.
pub fn check_depth(data: &serde_json::Value) -> Result<(), String> {
    if deeper_than(data, MAX_DEPTH) {
        return Err(format!(
            "the payload nests arrays and objects deeper than {MAX_DEPTH} levels"
        ));
    }
    Ok(())
}

/// Whether `value` nests arrays and objects deeper than `limit` levels.
fn deeper_than(value: &serde_json::Value, limit: usize) -> bool {
    use serde_json::Value;
    // Reached only with `limit` above zero.
    let below = |child: &Value| deeper_than(child, limit - 1);
    match value {
        Value::Array(items) => limit == 0 || items.iter().any(below),
        Value::Object(fields) => limit == 0 || fields.values().any(below),
        _ => false,
    }
}

/// `time` if its four-digit year is 0001 to 9999. A provider's year -1 or 10000 would be
/// written with a sign (`-0001-…`, `+10000-…`), which no RFC 3339 reader parses back, and one
/// such stored event would stop every read of events.
pub fn storable(time: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (1..=9999)
        .contains(&chrono::Datelike::year(&time))
        .then_some(time)
}

/// The current time at the precision events carry (whole seconds, UTC).
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
}

/// The moment `delay` from now, at most the last second of year 9999: a delay no calendar
/// holds (a config's `"1000000y"`, a token's absurd `expires_in`) means "not before the far
/// future" instead of an overflow, and stays a four-digit year so stored times still sort.
pub fn after(delay: std::time::Duration) -> DateTime<Utc> {
    let far_future = DateTime::from_timestamp(253_402_300_799, 0).expect("9999-12-31 is a time");
    chrono::TimeDelta::from_std(delay)
        .ok()
        .and_then(|delay| Utc::now().checked_add_signed(delay))
        .map_or(far_future, |at| at.min(far_future))
}

/// Formats a time as RFC 3339 UTC with a `Z`, the one format stored and printed.
pub fn format_time(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Serde for RFC 3339 UTC times in the stored and printed format.
pub mod rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_time(time))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_occurrence_time_rfc_3339_cannot_carry_becomes_now() {
        let year_zero = DateTime::parse_from_rfc3339("0001-01-01T00:00:00+01:00")
            .unwrap()
            .with_timezone(&Utc);
        let e = Event::new(
            EventType::ExternalEventReceived,
            "x",
            "x",
            "k".into(),
            year_zero,
        );
        let text = format_time(&e.occurred_at);
        assert!(DateTime::parse_from_rfc3339(&text).is_ok(), "{text}");
        assert_eq!(e.occurred_at, e.received_at);
    }

    #[test]
    fn serializes_camel_case_with_utc_times() {
        let at = DateTime::parse_from_rfc3339("2026-11-24T10:00:00+02:00")
            .unwrap()
            .with_timezone(&Utc);
        let mut event = Event::new(
            EventType::EmailReceived,
            "founder-gmail",
            "gmail",
            "gmail:a@b:1".into(),
            at,
        );
        event.external_id = Some("1".into());
        let json = serde_json::to_value(&event).unwrap();
        for key in [
            "eventId",
            "eventType",
            "integration",
            "sourceSystem",
            "externalId",
            "dedupeKey",
            "occurredAt",
            "receivedAt",
            "subject",
            "data",
            "derivedFrom",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        assert_eq!(json["eventType"], "emailReceived");
        assert_eq!(json["occurredAt"], "2026-11-24T08:00:00Z");
        assert_eq!(event.event_id.get_version_num(), 7);
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn after_saturates_at_the_year_9999() {
        let soon = after(std::time::Duration::from_secs(60));
        assert!(soon > Utc::now() && soon <= Utc::now() + chrono::TimeDelta::seconds(61));
        for absurd in [
            std::time::Duration::from_secs(1_000_000 * 365 * 86_400),
            std::time::Duration::MAX,
        ] {
            assert_eq!(format_time(&after(absurd)), "9999-12-31T23:59:59Z");
        }
    }

    #[test]
    fn depth_counts_nested_arrays_and_objects() {
        let nested = |levels: usize| -> serde_json::Value {
            serde_json::from_str(&format!("{}{}", "[".repeat(levels), "]".repeat(levels))).unwrap()
        };
        assert!(!deeper_than(&serde_json::json!(1), 0));
        assert!(deeper_than(&serde_json::json!({}), 0));
        assert!(!deeper_than(&serde_json::json!({"a": [1, {"b": 2}]}), 3));
        assert!(deeper_than(&serde_json::json!({"a": [1, {"b": 2}]}), 2));
        assert!(!deeper_than(&nested(MAX_DEPTH), MAX_DEPTH));
        assert!(deeper_than(&nested(MAX_DEPTH + 1), MAX_DEPTH));
    }

    #[test]
    fn type_names_round_trip() {
        assert_eq!(
            EventType::PotentialTensionDetected.as_str(),
            "potentialTensionDetected"
        );
        assert_eq!(
            EventType::parse("sheetRowAdded"),
            Some(EventType::SheetRowAdded)
        );
        assert_eq!(EventType::parse("nope"), None);
        assert!(EventType::WinRecorded.is_ontology());
        assert!(!EventType::EmailReceived.is_ontology());
    }
}
