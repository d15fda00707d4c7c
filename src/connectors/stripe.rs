//! Stripe webhooks → `stripeEventReceived`, typed by the Stripe event's `type`.
//!
//! Two shapes arrive: snapshot events (API v1: `created` in Unix seconds, the object itself in
//! `data.object`) and thin events (`object: "v2.core.event"`: `created` in RFC 3339, only a
//! reference to the object in `related_object`). For a Connect platform, the connected account
//! an event is about (`account`, or a thin event's `context`) is kept.

use serde_json::{Value, json};

use super::{
    Incoming, SchemaError, base_event, checked_unix_time, field, optional_str, required_str,
    rfc3339_seconds,
};
use crate::event::{Event, EventType};

/// The `object` of a thin event.
const THIN_EVENT: &str = "v2.core.event";

pub fn events(incoming: &Incoming) -> Result<Event, SchemaError> {
    let body = incoming.body;
    let id = required_str(body, "/id")?;
    let kind = required_str(body, "/type")?;
    let (occurred_at, data) = if optional_str(body, "/object") == Some(THIN_EVENT) {
        let created = rfc3339_seconds(optional_str(body, "/created"))
            .ok_or_else(|| SchemaError("field `/created` is not an RFC 3339 time".into()))?;
        (created, thin_data(body, kind)?)
    } else {
        let created = checked_unix_time(body, "/created", false)?
            .ok_or_else(|| SchemaError("field `/created` is missing".into()))?;
        (created, snapshot_data(body, kind)?)
    };
    let mut event = base_event(
        incoming,
        EventType::StripeEventReceived,
        "stripe",
        format!("stripe:{id}"),
        Some(occurred_at),
    );
    event.external_id = Some(id.to_string());
    event.subject = Some(kind.to_string());
    event.data = data;
    Ok(event)
}

fn snapshot_data(body: &Value, kind: &str) -> Result<Value, SchemaError> {
    let object = match field(body, "/data/object")? {
        Some(object) if object.is_object() => object,
        Some(_) => return Err(SchemaError("field `/data/object` is not an object".into())),
        None => return Err(SchemaError("field `/data/object` is missing".into())),
    };
    Ok(json!({
        "type": kind,
        "livemode": body.get("livemode"),
        "account": body.get("account"),
        "objectId": object.get("id"),
        "object": object,
        "previousAttributes": body.pointer("/data/previous_attributes"),
    }))
}

fn thin_data(body: &Value, kind: &str) -> Result<Value, SchemaError> {
    let related = match body.get("related_object") {
        None | Some(Value::Null) => None,
        Some(related @ Value::Object(_)) => Some(related),
        Some(_) => {
            return Err(SchemaError(
                "field `/related_object` is not an object".into(),
            ));
        }
    };
    Ok(json!({
        "type": kind,
        "livemode": body.get("livemode"),
        "account": body.get("context"),
        "objectId": related.and_then(|r| r.get("id")),
        "relatedObject": related,
        "details": body.get("data"),
    }))
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
    fn a_connect_event_keeps_its_account_and_previous_attributes() {
        let body = json!({"id": "evt_2", "type": "customer.updated", "created": 1700000000, "livemode": true,
            "account": "acct_1", "data": {"object": {"id": "cus_1", "email": "new@x.com"},
            "previous_attributes": {"email": "old@x.com"}}});
        let e = &run(Kind::Stripe, &[], body).unwrap()[0];
        assert_eq!(e.data["account"], "acct_1");
        assert_eq!(e.data["previousAttributes"]["email"], "old@x.com");
    }

    #[test]
    fn thin_event() {
        // Stripe's documented thin event.
        let body = json!({"id": "evt_test_65R9Ijk8dLN1z7CB2z8", "object": "v2.core.event",
            "type": "v1.billing.meter.error_report_triggered", "livemode": false,
            "created": "2024-09-17T06:20:52.246Z", "context": "acct_123",
            "related_object": {"id": "mtr_test_61R9IjkHD1ka5g1Zv41", "type": "billing.meter",
                "url": "/v1/billing/meters/mtr_test_61R9IjkHD1ka5g1Zv41"}});
        let e = &run(Kind::Stripe, &[], body).unwrap()[0];
        assert_eq!(e.dedupe_key, "stripe:evt_test_65R9Ijk8dLN1z7CB2z8");
        assert_eq!(e.occurred_at.to_rfc3339(), "2024-09-17T06:20:52+00:00");
        assert_eq!(e.data["objectId"], "mtr_test_61R9IjkHD1ka5g1Zv41");
        assert_eq!(e.data["relatedObject"]["type"], "billing.meter");
        assert_eq!(e.data["account"], "acct_123");

        let no_object = json!({"id": "evt_3", "object": "v2.core.event", "type": "v2.core.event_destination.ping",
            "created": "2024-09-17T06:20:52Z"});
        let e = &run(Kind::Stripe, &[], no_object).unwrap()[0];
        assert!(e.data["objectId"].is_null());
        let unix =
            json!({"id": "evt_4", "object": "v2.core.event", "type": "x", "created": 1700000000});
        assert_eq!(
            run(Kind::Stripe, &[], unix).unwrap_err().0,
            "field `/created` is not an RFC 3339 time"
        );
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
        let err = run(
            Kind::Stripe,
            &[],
            json!({"id": "evt_1", "type": "x", "created": 1, "data": {"object": [1]}}),
        )
        .unwrap_err();
        assert_eq!(err.0, "field `/data/object` is not an object");
        let err = run(Kind::Stripe, &[], json!({"id": "evt_1", "type": "x"})).unwrap_err();
        assert_eq!(err.0, "field `/created` is missing");
    }
}
