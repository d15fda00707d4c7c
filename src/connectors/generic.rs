//! Generic webhooks (`webhook` kind: Standard Webhooks or HMAC) → `externalEventReceived`,
//! keyed by the provider's delivery id.
//!
//! A Standard Webhooks payload (`{type, timestamp, data}`) gives its `type` as the subject and
//! its `timestamp` as the time it happened.

use serde_json::json;

use super::{Incoming, SchemaError, base_event, optional_str, rfc3339_seconds};
use crate::event::{Event, EventType};

pub fn events(incoming: &Incoming) -> Result<Event, SchemaError> {
    let body = incoming.body;
    let mut event = base_event(
        incoming,
        EventType::ExternalEventReceived,
        "webhook",
        format!("webhook:{}", incoming.provider_delivery_id),
        rfc3339_seconds(optional_str(body, "/timestamp")),
    );
    event.external_id = Some(incoming.provider_delivery_id.to_string());
    event.subject = optional_str(body, "/type").map(str::to_string);
    event.data = json!({ "payload": body });
    Ok(event)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::config::Kind;
    use crate::connectors::test_support::run;

    #[test]
    fn standard_webhooks_payload() {
        let body = json!({"type": "user.created", "timestamp": "2022-11-03T20:26:10.344522Z", "data": {"id": 1}});
        let e = &run(Kind::Webhook, &[], body).unwrap()[0];
        assert_eq!(e.subject.as_deref(), Some("user.created"));
        assert_eq!(
            crate::event::format_time(&e.occurred_at),
            "2022-11-03T20:26:10Z"
        );
        assert_eq!(e.dedupe_key, "webhook:pd-1");
        assert_eq!(e.data["payload"]["data"]["id"], 1);
    }
}
