//! HubSpot webhooks → one `crmRecordChanged` per event in the batch HubSpot sends.

use serde_json::{Value, json};

use super::{Incoming, SchemaError, base_event, optional_str, unix_time};
use crate::event::{Event, EventType};

pub fn events(incoming: &Incoming) -> Result<Vec<Event>, SchemaError> {
    let items = incoming
        .body
        .as_array()
        .ok_or_else(|| SchemaError("the body is not a JSON array of events".into()))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| event(incoming, i, item))
        .collect()
}

fn event(incoming: &Incoming, index: usize, item: &Value) -> Result<Event, SchemaError> {
    let field = |name: &str| format!("field `/{index}/{name}`");
    let event_id = item
        .get("eventId")
        .filter(|v| v.is_i64() || v.is_string())
        .ok_or_else(|| SchemaError(format!("{} is missing", field("eventId"))))?;
    let event_id = event_id
        .as_str()
        .map_or_else(|| event_id.to_string(), str::to_string);
    let kind = optional_str(item, "/subscriptionType")
        .ok_or_else(|| SchemaError(format!("{} is missing", field("subscriptionType"))))?;
    let object_id = item
        .get("objectId")
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string));
    let mut event = base_event(
        incoming,
        EventType::CrmRecordChanged,
        "hubspot",
        format!("hubspot:{event_id}"),
        unix_time(item.get("occurredAt"), true),
    );
    event.external_id = object_id.clone();
    event.subject = Some(match &object_id {
        Some(id) => format!("{kind} {id}"),
        None => kind.to_string(),
    });
    event.data = json!({
        "subscriptionType": kind,
        "objectId": object_id,
        "portalId": item.get("portalId"),
        "propertyName": item.get("propertyName"),
        "propertyValue": item.get("propertyValue"),
        "changeSource": item.get("changeSource"),
        "eventId": event_id,
    });
    Ok(event)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::config::Kind;
    use crate::connectors::test_support::run;

    #[test]
    fn a_batch_gives_one_event_each() {
        let body = json!([
            {"eventId": 1, "subscriptionType": "contact.creation", "objectId": 101, "occurredAt": 1700000000123i64, "portalId": 9},
            {"eventId": 2, "subscriptionType": "deal.propertyChange", "objectId": 202, "propertyName": "dealstage", "propertyValue": "won"}
        ]);
        let events = run(Kind::Hubspot, &[], body).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].dedupe_key, "hubspot:1");
        assert_eq!(events[0].occurred_at.timestamp(), 1700000000);
        assert_eq!(events[1].data["propertyValue"], "won");
        assert_eq!(
            events[1].subject.as_deref(),
            Some("deal.propertyChange 202")
        );
    }

    #[test]
    fn bad_item_names_its_index() {
        let err = run(
            Kind::Hubspot,
            &[],
            json!([{"eventId": 1, "subscriptionType": "x"}, {"eventId": 2}]),
        )
        .unwrap_err();
        assert_eq!(err.0, "field `/1/subscriptionType` is missing");
    }
}
