//! Slack Events API → `slackMessagePosted` for messages, `externalEventReceived` for other
//! event types, which keep Slack's whole `event` object (a reaction's name and item, a new
//! channel's name: fields no two types share). Messages posted by bots carry `botId`, so loop
//! prevention can recognise them.

use serde_json::json;

use super::{Incoming, SchemaError, base_event, optional_str, required_str, subject, unix_time};
use crate::event::{Event, EventType};

pub fn events(incoming: &Incoming) -> Result<Event, SchemaError> {
    let body = incoming.body;
    let event_id = required_str(body, "/event_id")?;
    let inner_type = required_str(body, "/event/type")?;
    let is_message = matches!(inner_type, "message" | "app_mention");
    let event_type = if is_message {
        EventType::SlackMessagePosted
    } else {
        EventType::ExternalEventReceived
    };
    let mut event = base_event(
        incoming,
        event_type,
        "slack",
        format!("slack:{event_id}"),
        unix_time(body.get("event_time"), false),
    );
    event.external_id = Some(event_id.to_string());
    let text = optional_str(body, "/event/text");
    event.subject = Some(match (is_message, text) {
        (true, Some(text)) => subject(text),
        _ => inner_type.to_string(),
    });
    event.data = json!({
        "type": inner_type,
        "subtype": optional_str(body, "/event/subtype"),
        "team": optional_str(body, "/team_id"),
        "channel": optional_str(body, "/event/channel"),
        "user": optional_str(body, "/event/user"),
        "botId": optional_str(body, "/event/bot_id"),
        "text": text,
        "ts": optional_str(body, "/event/ts"),
        "threadTs": optional_str(body, "/event/thread_ts"),
    });
    // Messages an app posted with metadata carry it back, so trmctl knows its own.
    if let Some(metadata) = body.pointer("/event/metadata") {
        event.data["metadata"] = metadata.clone();
    }
    if !is_message && let Some(inner) = body.get("event") {
        event.data["event"] = inner.clone();
    }
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
        assert_eq!(e.dedupe_key, "slack:Ev1");
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
    fn missing_event_names_the_field() {
        let err = run(Kind::Slack, &[], json!({"event_id": "Ev1"})).unwrap_err();
        assert_eq!(err.0, "field `/event/type` is missing");
    }
}
