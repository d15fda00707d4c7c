//! Google Cloud Pub/Sub pushes → `externalEventReceived`, with the message data decoded. A
//! Gmail notification (`{emailAddress, historyId}`) is recognised and its fields kept: the
//! worker then polls that mailbox's `gmail` integrations at once.

use serde_json::{Value, json};

use super::{Incoming, SchemaError, base_event, rfc3339_seconds};
use crate::event::{Event, EventType};
use crate::webhooks::pubsub::{gmail_notification, parse_envelope};

pub fn events(incoming: &Incoming) -> Result<Event, SchemaError> {
    let raw = serde_json::to_vec(incoming.body).map_err(|e| SchemaError(e.to_string()))?;
    let envelope = parse_envelope(&raw).map_err(SchemaError)?;
    let occurred_at = rfc3339_seconds(envelope.publish_time.as_deref());
    let mut event = base_event(
        incoming,
        EventType::ExternalEventReceived,
        "google-pubsub",
        format!("google-pubsub:{}", envelope.message_id),
        occurred_at,
    );
    event.external_id = Some(envelope.message_id.clone());
    let message = serde_json::from_slice::<Value>(&envelope.data)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&envelope.data).into_owned()));
    let gmail = gmail_notification(&envelope.data);
    event.subject = Some(match &gmail {
        Some(g) => format!(
            "Gmail change for {} (historyId {})",
            g.email_address, g.history_id
        ),
        None => envelope
            .subscription
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string(),
    });
    event.data = json!({
        "subscription": envelope.subscription,
        "messageId": envelope.message_id,
        "attributes": envelope.attributes,
        "message": message,
        "gmail": gmail.map(|g| json!({ "emailAddress": g.email_address, "historyId": g.history_id })),
    });
    Ok(event)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::config::Kind;
    use crate::connectors::test_support::run;

    #[test]
    fn gmail_notification_is_decoded() {
        // base64 of {"emailAddress":"a@b.com","historyId":123}
        let body = json!({"message": {"data": "eyJlbWFpbEFkZHJlc3MiOiJhQGIuY29tIiwiaGlzdG9yeUlkIjoxMjN9",
            "messageId": "m-1", "publishTime": "2026-11-24T10:00:00.123Z"}, "subscription": "projects/p/subscriptions/gmail"});
        let e = &run(Kind::GooglePubsub, &[], body).unwrap()[0];
        assert_eq!(e.dedupe_key, "google-pubsub:m-1");
        assert_eq!(e.data["gmail"]["historyId"], 123);
        assert_eq!(e.data["message"]["emailAddress"], "a@b.com");
        assert_eq!(
            crate::event::format_time(&e.occurred_at),
            "2026-11-24T10:00:00Z"
        );
    }

    #[test]
    fn missing_message_id_names_the_field() {
        let err = run(
            Kind::GooglePubsub,
            &[],
            json!({"message": {"data": ""}, "subscription": "s"}),
        )
        .unwrap_err();
        assert!(err.0.contains("messageId"), "{}", err.0);
    }
}
