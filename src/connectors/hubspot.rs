//! HubSpot webhooks → one `crmRecordChanged` per event in the batch HubSpot sends.
//!
//! HubSpot's `eventId` is not unique on its own (one app receives every installed portal's
//! events), so an event is keyed by its portal, subscription and `eventId`. A batch has no id
//! of its own, and each retry raises the `attemptNumber` of its events, so the body changes
//! from one attempt to the next: the delivery id is a hash of the batch's event keys instead.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{
    Incoming, SchemaError, Unmatched, base_event, checked_id, checked_unix_time, id_text,
    required_str,
};
use crate::event::{Event, EventType};

/// The field HubSpot raises on each retry of the same event.
const ATTEMPT: &str = "attemptNumber";

/// HubSpot's id of a delivery, the same on every attempt: a hash of its events' keys. `None`
/// when the body is not a batch of events; its hash stands in, and the worker names the field.
pub fn delivery_id(body: &Value) -> Option<String> {
    let keys: Vec<String> = body
        .as_array()?
        .iter()
        .map(event_key)
        .collect::<Option<_>>()?;
    Some(format!(
        "hubspot:{}",
        hex::encode(Sha256::digest(keys.join("\n")))
    ))
}

/// `portalId:subscriptionId:eventId` of one event of a batch; `None` without an `eventId`.
fn event_key(item: &Value) -> Option<String> {
    let part = |name: &str| item.get(name).and_then(id_text);
    Some(format!(
        "{}:{}:{}",
        part("portalId").unwrap_or_default(),
        part("subscriptionId").unwrap_or_default(),
        part("eventId")?
    ))
}

/// One event per element of the batch; the elements that match HubSpot's shape make theirs
/// even when others do not (the error names the first of those, and says how many there are).
pub fn events(incoming: &Incoming) -> Result<Vec<Event>, Unmatched> {
    let items = incoming
        .body
        .as_array()
        .ok_or_else(|| SchemaError("the body is not a JSON array of events".into()))?;
    let (mut made, mut first, mut count) = (Vec::with_capacity(items.len()), None, 0);
    for (i, item) in items.iter().enumerate() {
        match event(incoming, i, item) {
            Ok(event) => made.push(event),
            Err(SchemaError(why)) => {
                first.get_or_insert(why);
                count += 1;
            }
        }
    }
    let Some(first) = first else {
        return Ok(made);
    };
    let error = match (items.len(), count) {
        (1, _) => first,
        (all, 1) => format!("{first} (1 of the batch's {all} events does not match)"),
        (all, bad) => format!("{first} ({bad} of the batch's {all} events do not match)"),
    };
    Err(Unmatched {
        error: SchemaError(error),
        made,
    })
}

fn event(incoming: &Incoming, index: usize, item: &Value) -> Result<Event, SchemaError> {
    let at = |name: &str| format!("/{index}/{name}");
    let body = incoming.body;
    // The key's parts are read leniently for the delivery id, strictly here.
    for name in ["portalId", "subscriptionId", "eventId"] {
        checked_id(body, &at(name))?;
    }
    let key = event_key(item)
        .ok_or_else(|| SchemaError(format!("field `{}` is missing", at("eventId"))))?;
    let kind = required_str(body, &at("subscriptionType"))?;
    let object_id = checked_id(body, &at("objectId"))?;
    let mut event = base_event(
        incoming,
        EventType::CrmRecordChanged,
        "hubspot",
        format!("hubspot:{key}"),
        checked_unix_time(body, &at("occurredAt"), true)?,
    );
    event.external_id = object_id.clone();
    event.subject = Some(match &object_id {
        Some(id) => format!("{kind} {id}"),
        None => kind.to_string(),
    });
    // Every field of the event is kept (a merge's object ids, an association's two ends), but
    // the attempt number, which says nothing about the change.
    let mut data = item.clone();
    if let Some(fields) = data.as_object_mut() {
        fields.remove(ATTEMPT);
    }
    data["objectId"] = json!(object_id);
    event.data = data;
    Ok(event)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::config::Kind;
    use crate::connectors::test_support::{run, run_batch};

    #[test]
    fn a_batch_gives_one_event_each() {
        let body = json!([
            {"eventId": 1, "subscriptionType": "contact.creation", "objectId": 101, "occurredAt": 1700000000123i64, "portalId": 9},
            {"eventId": 2, "subscriptionType": "deal.propertyChange", "objectId": 202, "propertyName": "dealstage", "propertyValue": "won"}
        ]);
        let events = run(Kind::Hubspot, &[], body).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].dedupe_key, "hubspot:9::1");
        assert_eq!(events[1].dedupe_key, "hubspot:::2");
        assert_eq!(events[0].occurred_at.timestamp(), 1700000000);
        assert_eq!(events[1].data["propertyValue"], "won");
        assert_eq!(
            events[1].subject.as_deref(),
            Some("deal.propertyChange 202")
        );
    }

    #[test]
    fn an_event_is_keyed_by_portal_subscription_and_event_id() {
        // HubSpot's documented payload; eventId alone repeats across portals.
        let item = json!({"eventId": 100, "subscriptionId": 1234, "portalId": 12345678, "appId": 98765,
            "occurredAt": 1711234567890i64, "subscriptionType": "contact.propertyChange", "attemptNumber": 0,
            "objectId": 123, "propertyName": "lifecyclestage", "propertyValue": "marketingqualifiedlead",
            "changeSource": "CRM", "sourceId": "userId:12345"});
        let mut other_portal = item.clone();
        other_portal["portalId"] = json!(99);
        let events = run(Kind::Hubspot, &[], json!([item, other_portal])).unwrap();
        assert_eq!(events[0].dedupe_key, "hubspot:12345678:1234:100");
        assert_eq!(events[1].dedupe_key, "hubspot:99:1234:100");
        assert_eq!(
            events[0].data["sourceId"], "userId:12345",
            "every field is kept"
        );
        assert_eq!(events[0].data["objectId"], "123");
        assert!(events[0].data.get("attemptNumber").is_none());
    }

    #[test]
    fn a_retry_has_the_delivery_id_of_the_first_attempt() {
        let attempt = |n: u32| {
            json!([{"eventId": 7, "subscriptionId": 3, "portalId": 5, "subscriptionType": "deal.creation",
                "objectId": 1, "attemptNumber": n}])
        };
        let first = super::delivery_id(&attempt(0)).unwrap();
        assert_eq!(super::delivery_id(&attempt(1)), Some(first.clone()));
        assert!(first.starts_with("hubspot:"));
        let mut other = attempt(0);
        other[0]["eventId"] = json!(8);
        assert_ne!(super::delivery_id(&other), Some(first));
        assert_eq!(super::delivery_id(&json!({"eventId": 7})), None);
        assert_eq!(
            super::delivery_id(&json!([{"subscriptionType": "x"}])),
            None
        );
    }

    #[test]
    fn an_association_change_keeps_both_ends() {
        let body = json!([{"eventId": 1, "subscriptionType": "contact.associationChange", "fromObjectId": 11,
            "toObjectId": 22, "associationType": "CONTACT_TO_COMPANY", "associationRemoved": false}]);
        let e = &run(Kind::Hubspot, &[], body).unwrap()[0];
        assert_eq!(e.subject.as_deref(), Some("contact.associationChange"));
        assert_eq!(e.data["fromObjectId"], 11);
        assert_eq!(e.data["toObjectId"], 22);
        assert_eq!(e.data["associationType"], "CONTACT_TO_COMPANY");
    }

    #[test]
    fn bad_item_names_its_index() {
        let err = run(
            Kind::Hubspot,
            &[],
            json!([{"eventId": 1, "subscriptionType": "x"}, {"eventId": 2}]),
        )
        .unwrap_err();
        assert_eq!(
            err.0,
            "field `/1/subscriptionType` is missing (1 of the batch's 2 events does not match)"
        );
    }

    #[test]
    fn the_good_events_of_a_batch_are_made_beside_its_bad_ones() {
        let good = |id: u32| json!({"eventId": id, "subscriptionType": "contact.creation", "objectId": id});
        let body = json!([good(1), {"eventId": 2}, good(3), {"eventId": 4}]);
        let unmatched = run_batch(Kind::Hubspot, &[], body).unwrap_err();
        assert_eq!(
            unmatched.error.0,
            "field `/1/subscriptionType` is missing (2 of the batch's 4 events do not match)"
        );
        let made: Vec<_> = unmatched
            .made
            .iter()
            .map(|e| e.dedupe_key.as_str())
            .collect();
        assert_eq!(made, ["hubspot:::1", "hubspot:::3"]);
    }

    #[test]
    fn wrong_typed_fields_are_named_as_such() {
        let with = |name: &str, value: serde_json::Value| {
            let mut item =
                json!({"eventId": 1, "subscriptionType": "contact.creation", "objectId": 5});
            item[name] = value;
            run(Kind::Hubspot, &[], json!([item])).unwrap_err().0
        };
        assert_eq!(
            with("subscriptionType", json!(7)),
            "field `/0/subscriptionType` is not a non-empty string"
        );
        for id in [json!(true), json!(""), json!({}), json!(1.5)] {
            assert_eq!(
                with("eventId", id),
                "field `/0/eventId` is not a whole number or a non-empty string"
            );
        }
        assert_eq!(
            with("objectId", json!({"a": 1})),
            "field `/0/objectId` is not a whole number or a non-empty string"
        );
        assert_eq!(
            with("occurredAt", json!("yesterday")),
            "field `/0/occurredAt` is not a Unix time in milliseconds (years 1 to 9999)"
        );
        let err = run(Kind::Hubspot, &[], json!([1])).unwrap_err();
        assert_eq!(err.0, "field `/0` is not an object");
    }

    #[test]
    fn event_ids_too_big_for_64_bits_are_no_ids() {
        // JSON parsing rounds them: two different ids would read the same and one be lost.
        let item = |id: &str| {
            serde_json::from_str::<serde_json::Value>(&format!(
                r#"[{{"eventId": {id}, "subscriptionType": "contact.creation"}}]"#
            ))
            .unwrap()
        };
        let (a, b) = (
            item("123456789012345678901234567890"),
            item("123456789012345678901234567891"),
        );
        assert_eq!(super::delivery_id(&a), None, "the body's hash stands in");
        assert_eq!(super::delivery_id(&b), None);
        let err = run(Kind::Hubspot, &[], a).unwrap_err();
        assert_eq!(
            err.0,
            "field `/0/eventId` is not a whole number or a non-empty string"
        );
        let biggest = item(&u64::MAX.to_string());
        assert_eq!(
            run(Kind::Hubspot, &[], biggest).unwrap()[0].dedupe_key,
            format!("hubspot:::{}", u64::MAX)
        );
    }
}
