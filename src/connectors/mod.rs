//! Connectors: for each kind of source, how its items become base events (SPEC §2).
//!
//! Polling connectors fetch pages and commit each with its cursor ([`poll`]). Webhook
//! connectors turn one stored delivery into events. They are pure: the same delivery
//! always gives the same dedupe keys, so processing it twice (after a crash, a retry or a
//! re-delivery) never makes a second event. A payload that does not match the provider's
//! schema is a [`SchemaError`] naming the field: retrying cannot fix it, so it goes straight
//! to the dead letters.

mod generic;
mod github;
mod gmail;
mod google_calendar;
mod google_drive;
mod google_sheets;
mod http_poll;
mod hubspot;
mod pubsub;
mod slack;
mod stripe;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::config::Kind;
use crate::event::{Event, EventType};

pub use hubspot::delivery_id as hubspot_delivery_id;
pub use slack::delivery_id as slack_delivery_id;

/// A stored delivery, as a connector reads it.
pub struct Incoming<'a> {
    pub integration: &'a str,
    pub provider_delivery_id: &'a str,
    pub received_at: DateTime<Utc>,
    /// Lower-case header names.
    pub headers: &'a BTreeMap<String, String>,
    pub body: &'a Value,
}

/// A payload that does not match the provider's documented shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SchemaError(pub String);

/// A delivery whose payload does not all match the provider's shape: why, and the events
/// its parts that do match make (the other events of a batch), so that one bad element does
/// not take its neighbours with it.
#[derive(Debug)]
pub struct Unmatched {
    pub error: SchemaError,
    pub made: Vec<Event>,
}

impl From<SchemaError> for Unmatched {
    fn from(error: SchemaError) -> Unmatched {
        Unmatched {
            error,
            made: Vec::new(),
        }
    }
}

/// The base events of one webhook delivery.
pub fn from_delivery(kind: Kind, incoming: &Incoming) -> Result<Vec<Event>, Unmatched> {
    let made = made_from_delivery(kind, incoming);
    let events = match &made {
        Ok(events) => events,
        Err(unmatched) => &unmatched.made,
    };
    for event in events {
        crate::event::check_depth(&event.data).map_err(SchemaError)?;
    }
    made
}

fn made_from_delivery(kind: Kind, incoming: &Incoming) -> Result<Vec<Event>, Unmatched> {
    let one = |event: Result<Event, SchemaError>| Ok(vec![event?]);
    match kind {
        Kind::Github => one(github::events(incoming)),
        Kind::Stripe => one(stripe::events(incoming)),
        Kind::Slack => one(slack::events(incoming)),
        Kind::Hubspot => hubspot::events(incoming),
        Kind::GooglePubsub => one(pubsub::events(incoming)),
        Kind::Webhook => one(generic::events(incoming)),
        other => Err(SchemaError(format!("kind `{other}` does not receive webhooks")).into()),
    }
}

/// One poll of a polling integration: fetch pages, commit each with its cursor.
pub async fn poll(kind: Kind, ctx: &mut crate::poll::context::Context<'_>) -> anyhow::Result<()> {
    match kind {
        Kind::HttpPoll => http_poll::poll(ctx).await,
        Kind::GoogleSheets => google_sheets::poll(ctx).await,
        Kind::GoogleDrive => google_drive::poll(ctx).await,
        Kind::GoogleCalendar => google_calendar::poll(ctx).await,
        Kind::Gmail => gmail::poll(ctx).await,
        other => Err(anyhow::anyhow!(
            "the `{other}` connector does not poll in this build"
        )),
    }
}

/// Whether `trmctl poll --full` keeps this stored cursor instead of starting over. Drive has
/// no listing to start over from (a fresh start token means changes from now on): dropping a
/// readable page token would lose every change still behind it, so only a corrupt one goes.
pub fn full_keeps_cursor(kind: Kind, cursor: Option<&str>) -> bool {
    kind == Kind::GoogleDrive && cursor.is_some_and(google_drive::readable_cursor)
}

/// A new base event for a delivery, received when the delivery was.
fn base_event(
    incoming: &Incoming,
    event_type: EventType,
    source_system: &str,
    dedupe_key: String,
    occurred_at: Option<DateTime<Utc>>,
) -> Event {
    let mut event = Event::new(
        event_type,
        incoming.integration,
        source_system,
        dedupe_key,
        occurred_at.unwrap_or(incoming.received_at),
    );
    event.received_at = incoming.received_at;
    event
}

/// The field at a JSON pointer (array items by index). `None` when it, or a field on its
/// way, is absent or null; an error naming the first field on the way that is not an object
/// (nor an array, where the next segment is an index).
fn field<'v>(value: &'v Value, pointer: &str) -> Result<Option<&'v Value>, SchemaError> {
    let mut current = value;
    let mut path = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        let next = match (current, segment.parse::<usize>()) {
            (Value::Object(fields), _) => fields.get(&segment),
            (Value::Array(items), Ok(index)) => items.get(index),
            _ if path.is_empty() => {
                return Err(SchemaError(format!(
                    "expected a JSON object, found {}",
                    json_type(current)
                )));
            }
            _ => return Err(SchemaError(format!("field `{path}` is not an object"))),
        };
        match next {
            None | Some(Value::Null) => return Ok(None),
            Some(next) => current = next,
        }
        path = format!("{path}/{segment}");
    }
    Ok(Some(current))
}

/// What kind of JSON value this is, for error messages.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads a required string field, or names it in the error.
fn required_str<'v>(value: &'v Value, pointer: &str) -> Result<&'v str, SchemaError> {
    match field(value, pointer)? {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(_) => Err(SchemaError(format!(
            "field `{pointer}` is not a non-empty string"
        ))),
        None => Err(SchemaError(format!("field `{pointer}` is missing"))),
    }
}

/// An id a provider sends as a whole number or a non-empty string, as text. No other number
/// is an id: a fraction, or a whole number too big for 64 bits (which JSON parsing rounds, so
/// two different ids could read the same).
pub fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// Reads an optional id field strictly (see [`id_text`]): absent or null is `None`, any other
/// value that is not an id is a schema error naming the field.
fn checked_id(value: &Value, pointer: &str) -> Result<Option<String>, SchemaError> {
    field(value, pointer)?
        .map(|id| {
            id_text(id).ok_or_else(|| {
                SchemaError(format!(
                    "field `{pointer}` is not a whole number or a non-empty string"
                ))
            })
        })
        .transpose()
}

/// Reads an optional string field leniently: a field of another type reads as absent. For
/// fields whose type differs between a provider's event types.
fn optional_str<'v>(value: &'v Value, pointer: &str) -> Option<&'v str> {
    value.pointer(pointer).and_then(Value::as_str)
}

/// Reads an optional string field strictly: absent or null is `None`, but a field of another
/// type, or a field on its way that is not an object, is a schema error naming it.
fn checked_str<'v>(value: &'v Value, pointer: &str) -> Result<Option<&'v str>, SchemaError> {
    match field(value, pointer)? {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(SchemaError(format!("field `{pointer}` is not a string"))),
    }
}

/// Reads an optional time in Unix seconds (milliseconds with `millis`) strictly: absent or
/// null is `None`; anything but a whole number in years 1 to 9999 is a schema error.
fn checked_unix_time(
    value: &Value,
    pointer: &str,
    millis: bool,
) -> Result<Option<DateTime<Utc>>, SchemaError> {
    field(value, pointer)?
        .map(|time| {
            unix_time(Some(time), millis).ok_or_else(|| {
                let unit = if millis { "milliseconds" } else { "seconds" };
                SchemaError(format!(
                    "field `{pointer}` is not a Unix time in {unit} (years 1 to 9999)"
                ))
            })
        })
        .transpose()
}

/// The most pages one poll follows: a server whose next pages never end cannot keep a poll
/// (and its lock) going for ever. Far above any real listing (5 million items at 50 a page):
/// http-poll's cursor moves only at a listing's end, so a listing cut short by this would be
/// read again, and cut short again, at every poll.
const MAX_PAGES: usize = 100_000;

/// The page tokens one listing has asked with. A provider that hands back a token it gave
/// before (a bug, or a cycle) would otherwise have the poll read the same pages for ever.
#[derive(Default)]
struct PageTokens(std::collections::HashSet<String>);

impl PageTokens {
    /// Records the token the next request of `listing` asks with; an error when the listing
    /// asked with it before, or has had [`MAX_PAGES`] pages.
    fn ask(&mut self, listing: &str, token: Option<&String>) -> anyhow::Result<()> {
        let Some(token) = token else {
            return Ok(());
        };
        if self.0.len() >= MAX_PAGES || !self.0.insert(token.clone()) {
            anyhow::bail!(
                "{listing} handed back a page token it had given before, or gave more than \
                 {MAX_PAGES} pages; the pages read are stored"
            );
        }
        Ok(())
    }
}

/// A page or sync token: absent, null and empty all mean none.
fn page_token(value: &Value, field: &str) -> Option<String> {
    value
        .get(field)
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

/// A list field Google leaves out when the list is empty: absent or null is empty.
fn optional_array<'v>(value: &'v Value, field: &str) -> Result<&'v [Value], SchemaError> {
    match value.get(field) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(SchemaError(format!("field `{field}` is not an array"))),
    }
}

/// Unix seconds (or milliseconds with `millis`) as a time, when in range (years 1 to 9999).
fn unix_time(value: Option<&Value>, millis: bool) -> Option<DateTime<Utc>> {
    let n = value?.as_i64()?;
    let time = if millis {
        DateTime::from_timestamp_millis(n)
            .map(|t| DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t))
    } else {
        DateTime::from_timestamp(n, 0)
    };
    time.and_then(crate::event::storable)
}

/// Drive's and Calendar's host when `base_url` is not set.
const GOOGLEAPIS: &str = "https://www.googleapis.com";

/// The URL of a Google endpoint: `base_url` (tests, proxies) or Google's host, then Google's
/// path, each segment percent-encoded (a sheet range such as `'Q1 plan'!A1:H` or a calendar
/// id with `#` stays one segment).
fn api_url(base: Option<&str>, default: &str, segments: &[&str]) -> anyhow::Result<reqwest::Url> {
    use anyhow::Context as _;
    let base = base.unwrap_or(default);
    let mut url =
        reqwest::Url::parse(base).with_context(|| format!("`base_url` {base} is not a URL"))?;
    url.set_query(None);
    url.set_fragment(None);
    url.path_segments_mut()
        .map_err(|()| anyhow::anyhow!("`base_url` {base} cannot take a path"))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

/// The newest dedupe key of each item of a page: made earlier on the page, else stored. For
/// connectors that key a change by what came before it (a restore after a trashing).
struct LatestKeys<'a> {
    store: &'a crate::store::Store,
    integration: &'a str,
    on_page: std::collections::HashMap<String, String>,
}

impl<'a> LatestKeys<'a> {
    fn new(store: &'a crate::store::Store, integration: &'a str) -> Self {
        LatestKeys {
            store,
            integration,
            on_page: Default::default(),
        }
    }

    /// What follows `prefix` in the newest key of `item`.
    fn after(&self, item: &str, prefix: &str) -> anyhow::Result<Option<String>> {
        let key = match self.on_page.get(item) {
            Some(key) => Some(key.clone()),
            None => self.store.latest_item_key(self.integration, item, prefix)?,
        };
        Ok(key.and_then(|key| key.strip_prefix(prefix).map(str::to_string)))
    }

    /// The page made this key for `item`.
    fn made(&mut self, item: &str, key: &str) {
        self.on_page.insert(item.to_string(), key.to_string());
    }
}

/// An RFC 3339 time as UTC, in the whole seconds events carry, when its UTC year is 1 to 9999.
fn rfc3339_seconds(text: Option<&str>) -> Option<DateTime<Utc>> {
    let time = DateTime::parse_from_rfc3339(text?)
        .ok()?
        .with_timezone(&Utc);
    DateTime::from_timestamp(time.timestamp(), 0).and_then(crate::event::storable)
}

/// A one-line subject of at most 120 characters.
fn subject(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    match line.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_string(),
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// Runs a connector on a JSON body with the given headers.
    pub fn run(
        kind: Kind,
        headers: &[(&str, &str)],
        body: Value,
    ) -> Result<Vec<Event>, SchemaError> {
        run_batch(kind, headers, body).map_err(|unmatched| unmatched.error)
    }

    /// [`run`], with the events a batch made beside its error.
    pub fn run_batch(
        kind: Kind,
        headers: &[(&str, &str)],
        body: Value,
    ) -> Result<Vec<Event>, Unmatched> {
        let headers: BTreeMap<String, String> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let incoming = Incoming {
            integration: "hook",
            provider_delivery_id: "pd-1",
            received_at: crate::event::now(),
            headers: &headers,
            body: &body,
        };
        from_delivery(kind, &incoming)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_token_asked_with_twice_is_refused() {
        let mut tokens = PageTokens::default();
        let (a, b) = ("a".to_string(), "b".to_string());
        tokens.ask("x.list", None).unwrap();
        tokens.ask("x.list", Some(&a)).unwrap();
        tokens.ask("x.list", Some(&b)).unwrap();
        tokens.ask("x.list", None).unwrap();
        let err = tokens.ask("x.list", Some(&a)).unwrap_err();
        assert!(err.to_string().starts_with("x.list handed back"), "{err}");
    }

    #[test]
    fn provider_times_outside_years_1_to_9999_are_no_times() {
        use serde_json::json;
        assert!(super::unix_time(Some(&json!(-99_999_999_999i64)), false).is_none());
        assert!(super::unix_time(Some(&json!(253_402_300_800i64)), false).is_none());
        assert!(super::unix_time(Some(&json!(1_764_000_000)), false).is_some());
        assert!(super::rfc3339_seconds(Some("0000-01-01T00:00:00+23:59")).is_none());
        assert!(super::rfc3339_seconds(Some("9999-12-31T23:59:59-01:00")).is_none());
        assert!(super::rfc3339_seconds(Some("2026-11-24T10:00:00+02:00")).is_some());
    }

    #[test]
    fn subject_is_one_short_line() {
        assert_eq!(super::subject("hello\nworld"), "hello");
        let long = "x".repeat(200);
        assert_eq!(super::subject(&long).chars().count(), 121);
    }

    #[test]
    fn empty_tokens_and_left_out_lists_read_as_none_and_empty() {
        let body = serde_json::json!({"a": "t1", "b": "", "c": null, "items": [1], "bad": {}});
        assert_eq!(super::page_token(&body, "a").as_deref(), Some("t1"));
        for field in ["b", "c", "missing"] {
            assert_eq!(super::page_token(&body, field), None);
        }
        for field in ["c", "missing"] {
            assert!(super::optional_array(&body, field).unwrap().is_empty());
        }
        assert_eq!(super::optional_array(&body, "items").unwrap().len(), 1);
        assert_eq!(
            super::optional_array(&body, "bad").unwrap_err().0,
            "field `bad` is not an array"
        );
    }
}
