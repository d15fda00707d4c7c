//! GitHub webhooks → `githubEventReceived`, with the event name (`X-GitHub-Event`) and action.

use serde_json::json;

use super::{Incoming, SchemaError, base_event, checked_str};
use crate::event::{Event, EventType};

pub fn events(incoming: &Incoming) -> Result<Event, SchemaError> {
    let name = match incoming.headers.get("x-github-event") {
        Some(name) if !name.is_empty() => name,
        Some(_) => return Err(SchemaError("header `X-GitHub-Event` is empty".into())),
        None => return Err(SchemaError("header `X-GitHub-Event` is missing".into())),
    };
    let body = incoming.body;
    if !body.is_object() {
        return Err(SchemaError("the body is not a JSON object".into()));
    }
    // Organisation and app events carry no repository; one that is there must be GitHub's.
    let action = checked_str(body, "/action")?;
    let repository = checked_str(body, "/repository/full_name")?;
    let sender = checked_str(body, "/sender/login")?;
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
        "sender": sender,
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
        let err = run(Kind::Github, &[("x-github-event", "")], json!({})).unwrap_err();
        assert_eq!(err.0, "header `X-GitHub-Event` is empty");
    }

    #[test]
    fn an_organisation_event_has_no_repository() {
        let body = json!({"action": "member_added", "organization": {"login": "acme"}});
        let events = run(Kind::Github, &[("x-github-event", "organization")], body).unwrap();
        assert_eq!(
            events[0].subject.as_deref(),
            Some("organization.member_added")
        );
        assert_eq!(events[0].data["repository"], serde_json::Value::Null);
    }

    #[test]
    fn fields_of_the_wrong_type_are_named() {
        for (body, why) in [
            (
                json!({"repository": 5}),
                "field `/repository` is not an object",
            ),
            (
                json!({"repository": [{"full_name": "acme/app"}]}),
                "field `/repository` is not an object",
            ),
            (
                json!({"repository": {"full_name": 5}}),
                "field `/repository/full_name` is not a string",
            ),
            (
                json!({"action": ["opened"]}),
                "field `/action` is not a string",
            ),
            (json!({"sender": "bob"}), "field `/sender` is not an object"),
        ] {
            let err = run(Kind::Github, &[("x-github-event", "issues")], body).unwrap_err();
            assert_eq!(err.0, why);
        }
    }
}
