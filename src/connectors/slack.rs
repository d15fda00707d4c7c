//! Slack Events API → `slackMessagePosted` for messages, `externalEventReceived` for other
//! event types, which keep Slack's whole `event` object (a reaction's name and item, a new
//! channel's name: fields no two types share). An edit or deletion of a message is one of the
//! others: its fields describe the earlier message (its `ts` and metadata, so trmctl still
//! knows its own). Messages posted by bots carry `botId`, so loop prevention can recognise
//! them. Slack's notice that it is rate limiting the app (`app_rate_limited`, which has no
//! inner event) becomes an `externalEventReceived` too.

use serde_json::{Value, json};

use super::{
    Incoming, SchemaError, base_event, checked_str, checked_unix_time, optional_str, required_str,
    subject, unix_time,
};
use crate::event::{Event, EventType};

/// The outer type of Slack's notice that the app's events are being rate limited.
const RATE_LIMITED: &str = "app_rate_limited";
/// Message subtypes about an earlier message (an edit, as when a link unfurls; a deletion; a
/// reply count): not a new post, so not `slackMessagePosted`.
const ABOUT_EARLIER: [&str; 3] = ["message_changed", "message_deleted", "message_replied"];

/// Slack's id of a delivery: its `event_id`; for `app_rate_limited`, which has none, the
/// workspace and the minute the limiting began, which Slack's retries of it repeat.
pub fn delivery_id(body: &Value) -> Result<String, SchemaError> {
    if body.get("type").and_then(Value::as_str) != Some(RATE_LIMITED) {
        return required_str(body, "/event_id").map(str::to_string);
    }
    let team = required_str(body, "/team_id")?;
    let minute = body
        .get("minute_rate_limited")
        .and_then(Value::as_i64)
        .ok_or_else(|| SchemaError("field `/minute_rate_limited` is not a whole number".into()))?;
    Ok(format!("{RATE_LIMITED}:{team}:{minute}"))
}

pub fn events(incoming: &Incoming) -> Result<Event, SchemaError> {
    let body = incoming.body;
    if body.get("type").and_then(Value::as_str) == Some(RATE_LIMITED) {
        return rate_limited(incoming);
    }
    let event_id = required_str(body, "/event_id")?;
    let inner_type = required_str(body, "/event/type")?;
    let is_message = inner_type == "message";
    // Other event types give `subtype`, `channel`, `user` other meanings (`channel_created`'s
    // channel is an object): only a message's fields are held to a message's types.
    let read = |pointer: &str| {
        if is_message || inner_type == "app_mention" {
            checked_str(body, pointer)
        } else {
            Ok(optional_str(body, pointer))
        }
    };
    let subtype = read("/event/subtype")?;
    let about_earlier = is_message && subtype.is_some_and(|s| ABOUT_EARLIER.contains(&s));
    let is_post = matches!(inner_type, "message" | "app_mention") && !about_earlier;
    // The message the fields describe: for an edit, the earlier message as it now reads; for a
    // deletion, as it read before.
    let earlier = ["/event/message", "/event/previous_message"]
        .into_iter()
        .find(|pointer| body.pointer(pointer).is_some_and(|m| !m.is_null()))
        .filter(|_| about_earlier);
    let message_at = earlier.unwrap_or("/event");
    let message = |name: &str| read(&format!("{message_at}/{name}"));
    let ts = match earlier {
        None if about_earlier => read("/event/deleted_ts")?,
        _ => message("ts")?,
    };
    let team = checked_str(body, "/team_id")?;
    let channel = read("/event/channel")?;
    let (event_type, dedupe_key) = match (is_post, channel, ts) {
        // A message is its channel and `ts`: one event of the `message` and the `app_mention`
        // (two `event_id`s) Slack sends for a message that mentions the app.
        (true, Some(channel), Some(ts)) => (
            EventType::SlackMessagePosted,
            format!("slack:{}:{channel}:{ts}", team.unwrap_or_default()),
        ),
        (true, ..) => (EventType::SlackMessagePosted, format!("slack:{event_id}")),
        (false, ..) => (
            EventType::ExternalEventReceived,
            format!("slack:{event_id}"),
        ),
    };
    let mut event = base_event(
        incoming,
        event_type,
        "slack",
        dedupe_key,
        checked_unix_time(body, "/event_time", false)?,
    );
    event.external_id = Some(event_id.to_string());
    let text = message("text")?;
    event.subject = Some(match (is_post, text) {
        (true, Some(text)) => subject(text),
        _ => subtype
            .filter(|_| about_earlier)
            .unwrap_or(inner_type)
            .to_string(),
    });
    event.data = json!({
        // A post is one event whichever of `message` and `app_mention` came first.
        "type": if is_post { "message" } else { inner_type },
        "subtype": subtype,
        "team": team,
        "channel": channel,
        "user": message("user")?,
        "botId": message("bot_id")?,
        "text": text,
        "ts": ts,
        "threadTs": message("thread_ts")?,
    });
    // Messages an app posted with metadata carry it back, so trmctl knows its own.
    if let Some(metadata) = body.pointer(&format!("{message_at}/metadata")) {
        event.data["metadata"] = metadata.clone();
    }
    if !is_post && let Some(inner) = body.get("event") {
        event.data["event"] = inner.clone();
    }
    Ok(event)
}

/// `app_rate_limited`: Slack is holding back the app's events for a workspace.
fn rate_limited(incoming: &Incoming) -> Result<Event, SchemaError> {
    let body = incoming.body;
    let id = delivery_id(body)?;
    let mut event = base_event(
        incoming,
        EventType::ExternalEventReceived,
        "slack",
        format!("slack:{id}"),
        unix_time(body.get("minute_rate_limited"), false),
    );
    event.external_id = Some(id);
    event.subject = Some(RATE_LIMITED.to_string());
    event.data = json!({
        "type": RATE_LIMITED,
        "team": optional_str(body, "/team_id"),
        "apiAppId": optional_str(body, "/api_app_id"),
        "minuteRateLimited": body.get("minute_rate_limited"),
    });
    Ok(event)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::config::Kind;
    use crate::connectors::test_support::run;
    use crate::event::EventType;

    #[test]
    fn message_and_other_events() {
        let body = json!({"type": "event_callback", "event_id": "Ev1", "event_time": 1700000000, "team_id": "T1",
            "event": {"type": "message", "channel": "C1", "user": "U1", "text": "we are blocked", "ts": "1.2"}});
        let e = &run(Kind::Slack, &[], body).unwrap()[0];
        assert_eq!(e.event_type, EventType::SlackMessagePosted);
        assert_eq!(e.subject.as_deref(), Some("we are blocked"));
        assert_eq!(e.data["channel"], "C1");
        assert_eq!(
            e.dedupe_key, "slack:T1:C1:1.2",
            "a message is keyed by where and when"
        );
        assert!(
            e.data.get("event").is_none(),
            "a message is in the fields above"
        );
        let body = json!({"event_id": "Ev2", "event": {"type": "reaction_added", "user": "U1",
            "reaction": "tada", "item": {"type": "message", "channel": "C1", "ts": "1.2"}}});
        let e = &run(Kind::Slack, &[], body).unwrap()[0];
        assert_eq!(e.event_type, EventType::ExternalEventReceived);
        assert_eq!(e.data["event"]["reaction"], "tada", "nothing of it is lost");
        assert_eq!(e.data["event"]["item"]["channel"], "C1");
    }

    #[test]
    fn app_rate_limited_has_no_inner_event() {
        // Slack's documented payload, whole.
        let body = json!({"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "type": "app_rate_limited",
            "team_id": "T123456", "minute_rate_limited": 1518467820, "api_app_id": "A123456"});
        assert_eq!(
            super::delivery_id(&body).unwrap(),
            "app_rate_limited:T123456:1518467820"
        );
        let e = &run(Kind::Slack, &[], body).unwrap()[0];
        assert_eq!(e.event_type, EventType::ExternalEventReceived);
        assert_eq!(e.dedupe_key, "slack:app_rate_limited:T123456:1518467820");
        assert_eq!(e.subject.as_deref(), Some("app_rate_limited"));
        assert_eq!(e.occurred_at.to_rfc3339(), "2018-02-12T20:37:00+00:00");
        assert_eq!(e.data["team"], "T123456");
        assert_eq!(e.data["apiAppId"], "A123456");
        assert!(e.data.get("token").is_none(), "{}", e.data);

        let no_minute = json!({"type": "app_rate_limited", "team_id": "T1"});
        assert_eq!(
            super::delivery_id(&no_minute).unwrap_err().0,
            "field `/minute_rate_limited` is not a whole number"
        );
        let no_id = json!({"type": "event_callback", "event": {"type": "message"}});
        assert_eq!(
            super::delivery_id(&no_id).unwrap_err().0,
            "field `/event_id` is missing"
        );
    }

    #[test]
    fn an_edit_or_deletion_is_not_a_new_post() {
        // Slack's documented message_changed, here an unfurl of a message trmctl posted.
        let body = json!({"event_id": "Ev3", "event": {"type": "message", "subtype": "message_changed",
            "hidden": true, "channel": "C1", "ts": "1358878755.000001",
            "message": {"type": "message", "user": "U1", "bot_id": "B1", "text": "Hello, world!",
                "ts": "1355517523.000005", "metadata": {"event_type": "trmctl_action"},
                "edited": {"user": "U1", "ts": "1358878755.000001"}}}});
        let e = &run(Kind::Slack, &[], body).unwrap()[0];
        assert_eq!(e.event_type, EventType::ExternalEventReceived);
        assert_eq!(e.subject.as_deref(), Some("message_changed"));
        assert_eq!(e.data["ts"], "1355517523.000005", "the edited message's ts");
        assert_eq!(e.data["text"], "Hello, world!");
        assert_eq!(e.data["botId"], "B1");
        assert_eq!(e.data["metadata"]["event_type"], "trmctl_action");
        assert_eq!(
            e.data["event"]["message"]["edited"]["ts"],
            "1358878755.000001"
        );

        let deleted = json!({"type": "message", "subtype": "message_deleted", "hidden": true,
            "channel": "C1", "ts": "1358878755.000001", "deleted_ts": "1358878749.000002"});
        let e = &run(
            Kind::Slack,
            &[],
            json!({"event_id": "Ev4", "event": deleted.clone()}),
        )
        .unwrap()[0];
        assert_eq!(e.event_type, EventType::ExternalEventReceived);
        assert_eq!(e.subject.as_deref(), Some("message_deleted"));
        assert_eq!(
            e.data["ts"], "1358878749.000002",
            "the deleted message's ts"
        );
        let mut with_previous = deleted;
        with_previous["previous_message"] = json!({"type": "message", "bot_id": "B1", "text": "hi",
            "ts": "1358878749.000002", "metadata": {"event_type": "trmctl_action"}});
        let e = &run(
            Kind::Slack,
            &[],
            json!({"event_id": "Ev6", "event": with_previous}),
        )
        .unwrap()[0];
        assert_eq!(e.data["ts"], "1358878749.000002");
        assert_eq!(e.data["text"], "hi");
        assert_eq!(e.data["metadata"]["event_type"], "trmctl_action");

        let body = json!({"event_id": "Ev5", "event": {"type": "message", "subtype": "bot_message",
            "bot_id": "B2", "text": "deploy done", "ts": "2.0"}});
        let e = &run(Kind::Slack, &[], body).unwrap()[0];
        assert_eq!(
            e.event_type,
            EventType::SlackMessagePosted,
            "a bot's post is a post"
        );
        assert_eq!(e.data["botId"], "B2");
    }

    #[test]
    fn a_mention_and_its_message_are_one_event() {
        let event = |event_id: &str, inner_type: &str| {
            json!({"event_id": event_id, "team_id": "T1", "event": {"type": inner_type, "channel": "C1",
                "user": "U1", "text": "<@U0APP> we are blocked", "ts": "1.5"}})
        };
        let message = &run(Kind::Slack, &[], event("Ev1", "message")).unwrap()[0];
        let mention = &run(Kind::Slack, &[], event("Ev2", "app_mention")).unwrap()[0];
        assert_eq!(mention.event_type, EventType::SlackMessagePosted);
        assert_eq!(message.dedupe_key, mention.dedupe_key);
        assert_eq!(
            message.data, mention.data,
            "whichever arrives first, the same event"
        );
        let no_ts = json!({"event_id": "Ev3", "event": {"type": "message", "text": "hi"}});
        assert_eq!(
            run(Kind::Slack, &[], no_ts).unwrap()[0].dedupe_key,
            "slack:Ev3"
        );
    }

    #[test]
    fn missing_event_names_the_field() {
        let err = run(Kind::Slack, &[], json!({"event_id": "Ev1"})).unwrap_err();
        assert_eq!(err.0, "field `/event/type` is missing");
        let err = run(Kind::Slack, &[], json!({"event_id": "Ev1", "event": [{}]})).unwrap_err();
        assert_eq!(err.0, "field `/event` is not an object");
    }

    #[test]
    fn a_message_with_wrong_typed_fields_is_a_schema_error() {
        // Read as absent, these would key two events of one message by their event_ids.
        let message = |field: &str, value: serde_json::Value| {
            let mut event = json!({"type": "message", "channel": "C1", "user": "U1", "text": "hi", "ts": "1.5"});
            event[field] = value;
            run(Kind::Slack, &[], json!({"event_id": "Ev1", "event": event}))
                .unwrap_err()
                .0
        };
        assert_eq!(
            message("channel", json!(["C1"])),
            "field `/event/channel` is not a string"
        );
        assert_eq!(
            message("ts", json!(1.5)),
            "field `/event/ts` is not a string"
        );
        assert_eq!(
            message("text", json!({})),
            "field `/event/text` is not a string"
        );
        let err = run(Kind::Slack, &[], json!({"event_id": "Ev1", "event": "x"})).unwrap_err();
        assert_eq!(err.0, "field `/event` is not an object");
        let err = run(
            Kind::Slack,
            &[],
            json!({"event_id": "Ev1", "event_time": "now", "event": {"type": "message"}}),
        )
        .unwrap_err();
        assert_eq!(
            err.0,
            "field `/event_time` is not a Unix time in seconds (years 1 to 9999)"
        );
    }

    #[test]
    fn other_event_types_keep_fields_of_their_own_types() {
        // channel_created's `channel` and user_change's `user` are objects.
        let body = json!({"event_id": "Ev7", "event": {"type": "channel_created",
            "channel": {"id": "C9", "name": "fundraising", "creator": "U1"}}});
        let e = &run(Kind::Slack, &[], body).unwrap()[0];
        assert_eq!(e.event_type, EventType::ExternalEventReceived);
        assert_eq!(e.data["event"]["channel"]["name"], "fundraising");
        let body =
            json!({"event_id": "Ev8", "event": {"type": "user_change", "user": {"id": "U1"}}});
        assert_eq!(
            run(Kind::Slack, &[], body).unwrap()[0].data["event"]["user"]["id"],
            "U1"
        );
    }
}
