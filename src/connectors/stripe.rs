//! Stripe webhooks → `stripeEventReceived`, typed by the Stripe event's `type`.

use serde_json::json;

use super::{Incoming, SchemaError, base_event, required_str, unix_time};
use crate::event::{Event, EventType};

pub fn events(incoming: &Incoming) -> Result<Event, SchemaError> {
    let body = incoming.body;
    let id = required_str(body, "/id")?;
    let kind = required_str(body, "/type")?;
    let created = body.get("created");
    if !created.is_some_and(|c| c.is_i64()) {
        return Err(SchemaError("field `/created` is not a Unix time".into()));
    }
    let object = body
        .pointer("/data/object")
        .filter(|o| o.is_object())
        .ok_or_else(|| SchemaError("field `/data/object` is missing".into()))?;
    let mut event = base_event(
        incoming,
        EventType::StripeEventReceived,
        "stripe",
        format!("stripe:{id}"),
        unix_time(created, false),
    );
    event.external_id = Some(id.to_string());
    event.subject = Some(kind.to_string());
    event.data = json!({
        "type": kind,
        "livemode": body.get("livemode"),
        "objectId": object.get("id"),
        "object": object,
    });
    Ok(event)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::config::Kind;
    use crate::connectors::test_support::run;

    #[test]
    fn invoice_paid() {
        let body = json!({"id": "evt_1", "type": "invoice.paid", "created": 1700000000, "livemode": false,
            "data": {"object": {"id": "in_1", "object": "invoice"}}});
        let e = &run(Kind::Stripe, &[], body).unwrap()[0];
        assert_eq!(e.subject.as_deref(), Some("invoice.paid"));
        assert_eq!(e.dedupe_key, "stripe:evt_1");
        assert_eq!(e.occurred_at.timestamp(), 1700000000);
        assert_eq!(e.data["objectId"], "in_1");
    }

    #[test]
    fn schema_errors_name_the_field() {
        let err = run(Kind::Stripe, &[], json!({"id": "evt_1", "created": 1})).unwrap_err();
        assert_eq!(err.0, "field `/type` is missing");
        let err = run(
            Kind::Stripe,
            &[],
            json!({"id": "evt_1", "type": "x", "created": "soon"}),
        )
        .unwrap_err();
        assert!(err.0.contains("/created"));
    }
}
