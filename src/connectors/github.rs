//! GitHub webhooks → `githubEventReceived`, with the event name (`X-GitHub-Event`) and action.

use serde_json::json;

use super::{Incoming, SchemaError, base_event, optional_str};
use crate::event::{Event, EventType};

pub fn events(incoming: &Incoming) -> Result<Event, SchemaError> {
    let name = incoming
        .headers
        .get("x-github-event")
        .ok_or_else(|| SchemaError("header `X-GitHub-Event` is missing".into()))?;
    let body = incoming.body;
    if !body.is_object() {
        return Err(SchemaError("the body is not a JSON object".into()));
    }
    let action = optional_str(body, "/action");
    let repository = optional_str(body, "/repository/full_name");
    let mut event = base_event(
        incoming,
        EventType::GithubEventReceived,
        "github",
        format!("github:{}", incoming.provider_delivery_id),
        None,
    );
    event.external_id = Some(incoming.provider_delivery_id.to_string());
    let what = match action {
        Some(action) => format!("{name}.{action}"),
        None => name.clone(),
    };
    event.subject = Some(match repository {
        Some(repo) => format!("{what} on {repo}"),
        None => what,
    });
    event.data = json!({
        "event": name,
        "action": action,
        "repository": repository,
        "sender": optional_str(body, "/sender/login"),
        "payload": body,
    });
    Ok(event)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::config::Kind;
    use crate::connectors::test_support::run;

    #[test]
    fn issue_opened() {
        let body = json!({"action": "opened", "repository": {"full_name": "acme/app"}, "sender": {"login": "bob"}});
        let events = run(Kind::Github, &[("x-github-event", "issues")], body).unwrap();
        let e = &events[0];
        assert_eq!(e.subject.as_deref(), Some("issues.opened on acme/app"));
        assert_eq!(e.data["action"], "opened");
        assert_eq!(e.data["sender"], "bob");
        assert_eq!(e.dedupe_key, "github:pd-1");
    }

    #[test]
    fn missing_event_header_names_it() {
        let err = run(Kind::Github, &[], json!({})).unwrap_err();
        assert!(err.0.contains("X-GitHub-Event"));
    }
}
