//! `trmctl serve` over real HTTP: every status code of SPEC §5 and every signature scheme.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use trmctl::store::EventFilter;

use crate::server::*;
use crate::util::Sandbox;

fn events(sandbox: &Sandbox, integration: &str) -> Vec<trmctl::event::Event> {
    sandbox.events(Some(integration))
}

async fn body(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn github_delivery_is_accepted_deduplicated_and_processed_with_rules() {
    let sandbox = Sandbox::with_config(&config(""));
    let server = Server::start(&sandbox);
    let client = reqwest::Client::new();
    let payload = r#"{"action":"opened","repository":{"full_name":"acme/app"}}"#;
    let (status, first) = body(
        github_request(&client, &server, "gh", "delivery-1", payload)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let id = first["deliveryId"].as_str().unwrap().to_string();
    assert_eq!(
        events(&sandbox, "gh").len(),
        2,
        "the delivery's events (base and derived) are stored with it, before the 202"
    );
    let (status, again) = body(
        github_request(&client, &server, "gh", "delivery-1", payload)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "a repeat delivery is a duplicate");
    assert_eq!(again["deliveryId"], id.as_str());
    let events = events(&sandbox, "gh");
    assert_eq!(events.len(), 2, "a duplicate makes no event");
    let base = events.iter().find(|e| e.derived_from.is_none()).unwrap();
    assert_eq!(base.event_type.as_str(), "githubEventReceived");
    assert_eq!(base.data["event"], "issues");
    assert_eq!(base.data["action"], "opened");
    let derived = events.iter().find(|e| e.derived_from.is_some()).unwrap();
    assert_eq!(derived.event_type.as_str(), "taskRequested");
    assert_eq!(derived.derived_from, Some(base.event_id));
    // Log lines reach stderr from a background writer: the duplicate's may still be on its way.
    eventually("the duplicate is logged", || {
        server.log_text().contains("outcome=\"duplicate\"")
    })
    .await;
    assert_eq!(server.terminate().code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_github_form_delivery_is_its_payload_signed_as_sent() {
    // GitHub's default content type: the JSON is the form's `payload` field.
    let sandbox = Sandbox::with_config(&config(
        "\n[integrations.gh-like]\nkind = \"webhook\"\nscheme = \"github\"\nsecret = \"env:T_GH\"\n",
    ));
    let server = Server::start(&sandbox);
    let client = reqwest::Client::new();
    let payload = r#"{"action":"opened","repository":{"full_name":"acme/app & co"}}"#;
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", payload)
        .finish();
    let form_type = "application/x-www-form-urlencoded";
    let send = |delivery: &'static str, sent: String, signature: String| {
        let request = github_request_with(
            &client, &server, "gh", delivery, &sent, &signature, form_type,
        );
        async move { body(request.send().await.unwrap()).await }
    };
    let (status, accepted) = send("form-1", form.clone(), github_signature(form.as_bytes())).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let stored = events(&sandbox, "gh");
    let base = stored.iter().find(|e| e.derived_from.is_none()).unwrap();
    assert_eq!(base.data["repository"], "acme/app & co");
    assert_eq!(base.data["action"], "opened");
    // Signed over the form as sent, not over the JSON inside it.
    let (status, _) = send("form-2", form.clone(), github_signature(payload.as_bytes())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let other = "zen=hi".to_string();
    let (status, why) = send("form-3", other.clone(), github_signature(other.as_bytes())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(why["error"], "the form has no `payload` field");
    // So does a generic webhook signed as GitHub signs.
    let signature = github_signature(form.as_bytes());
    let request = github_request_with(
        &client, &server, "gh-like", "form-4", &form, &signature, form_type,
    );
    let (status, accepted) = body(request.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let like = events(&sandbox, "gh-like");
    assert_eq!(like[0].data["payload"]["action"], "opened");
    // Only GitHub's scheme takes forms.
    let (status, why) = body(
        client
            .post(server.url("/hooks/stripe"))
            .header("Content-Type", form_type)
            .body(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(why["error"], "expected Content-Type: application/json");
    assert_eq!(server.terminate().code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_have_their_status_codes_and_say_why() {
    let sandbox = Sandbox::with_config(&config(""));
    let server = Server::start(&sandbox);
    let client = reqwest::Client::new();
    let ok = r#"{"action":"opened"}"#;
    let send = |req: reqwest::RequestBuilder| async move { body(req.send().await.unwrap()).await };

    // 401: a wrong signature, a missing one.
    let (status, why) = send(github_request_with(
        &client,
        &server,
        "gh",
        "d-401",
        ok,
        "sha256=00",
        "application/json",
    ))
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(why["error"].as_str().unwrap().contains("signature"));
    let (status, _) = send(
        client
            .post(server.url("/hooks/gh"))
            .header("Content-Type", "application/json")
            .header("X-GitHub-Delivery", "d")
            .body(ok),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // 404: unknown integration; a polling integration has no hook either.
    let (status, _) = send(github_request(&client, &server, "nope", "d-404", ok)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // …and so does a name that is not UTF-8, with the same JSON answer.
    let (status, why) = send(github_request(&client, &server, "%FF", "d-404", ok)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        why["error"]
            .as_str()
            .unwrap()
            .contains("no such integration")
    );
    // 405: wrong method.
    let response = client.get(server.url("/hooks/gh")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "POST");
    // …on every endpoint, with a JSON reason.
    for path in [
        "/healthz",
        "/readyz",
        "/registry",
        "/registry/gh",
        "/metrics",
    ] {
        let response = client.post(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(response.headers()["allow"], "GET,HEAD", "{path}");
        let why: serde_json::Value = response.json().await.unwrap();
        assert!(why["error"].as_str().unwrap().contains("GET"), "{path}");
    }
    // 413: over max_body_bytes (4 KiB), with and without a Content-Length.
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(5000));
    let (status, _) = send(github_request(&client, &server, "gh", "d-413", &big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // A declared length over the limit is refused before any body is sent.
    {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
        write!(
            stream,
            "POST /hooks/gh HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             X-GitHub-Event: issues\r\nX-GitHub-Delivery: d-huge\r\nX-Hub-Signature-256: sha256=00\r\n\
             Content-Length: 99999999999999\r\n\r\n{{"
        )
        .unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"HTTP/1.1 413");
    }
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..10).map(|_| Ok(vec![b' '; 1000])).collect();
    let streamed = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let (status, _) = send(
        client
            .post(server.url("/hooks/gh"))
            .header("Content-Type", "application/json")
            .header("X-GitHub-Event", "issues")
            .header("X-GitHub-Delivery", "d-chunked")
            .header("X-Hub-Signature-256", "sha256=00")
            .body(streamed),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // 415: not JSON.
    let (status, _) = send(github_request_with(
        &client,
        &server,
        "gh",
        "d-415",
        ok,
        &github_signature(ok.as_bytes()),
        "text/plain",
    ))
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // 400: signed, but not JSON.
    let broken = r#"{"action": "#;
    let (status, why) = send(github_request(&client, &server, "gh", "d-400", broken)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(why["error"].as_str().unwrap().contains("JSON"));
    // 400: signed, but without the (unsigned) delivery id header, or with one not text.
    let not_text = reqwest::header::HeaderValue::from_bytes(b"d-\xff").unwrap();
    for id in [None, Some(not_text)] {
        let mut request = client
            .post(server.url("/hooks/gh"))
            .header("Content-Type", "application/json")
            .header("X-GitHub-Event", "issues")
            .header("X-Hub-Signature-256", github_signature(ok.as_bytes()))
            .body(ok);
        if let Some(id) = id {
            request = request.header("X-GitHub-Delivery", id);
        }
        let (status, why) = send(request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let why = why["error"].as_str().unwrap();
        assert!(
            why.contains("delivery id header is missing, empty or not UTF-8"),
            "{why}"
        );
    }
    // 429: over the rate limit (1/s, burst 2), with Retry-After. Unsigned requests are
    // refused before they count, so they cannot use up the provider's share.
    for n in 0..5 {
        let forged = github_request_with(
            &client,
            &server,
            "slow",
            &format!("forged-{n}"),
            ok,
            "sha256=00",
            "application/json",
        );
        assert_eq!(send(forged).await.0, StatusCode::UNAUTHORIZED);
    }
    let mut limited = None;
    for n in 0..5 {
        let response = github_request(&client, &server, "slow", &format!("slow-{n}"), ok)
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(n >= 2, "the burst of 2 was used up by unsigned requests");
            limited = Some(response);
            break;
        }
    }
    let limited = limited.expect("the rate limit answers 429");
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry));
    // 503: an integration whose secret cannot be read.
    let (status, why) = send(github_request(&client, &server, "broken", "d-503", ok)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let why = why["error"].as_str().unwrap();
    assert!(why.contains("secret is not available"), "{why}");
    assert!(
        !why.contains("T_NEVER_SET"),
        "where the secret lives is for the log: {why}"
    );
    assert!(server.log_text().contains("T_NEVER_SET is not set"));
    // Refusals store nothing: only the deliveries `slow` accepted before its limit are there.
    let stored = sandbox
        .store()
        .list_events(&EventFilter {
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert!(
        stored.iter().all(|e| e.event.integration == "slow"),
        "only accepted deliveries make events"
    );
    // Logs never carry a secret or a signature value.
    let log = server.log_text();
    for (_, secret) in SECRETS {
        assert!(!log.contains(secret), "log leaks a secret");
    }
    assert!(
        !log.contains(&github_signature(ok.as_bytes())),
        "log leaks a signature"
    );
    assert_eq!(server.terminate().code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_generic_webhook_on_slacks_scheme_answers_the_url_verification() {
    let sandbox = Sandbox::with_config(&config(
        "[integrations.slackish]\nkind = \"webhook\"\nscheme = \"slack\"\nsecret = \"env:T_SLACK\"\n",
    ));
    let server = Server::start(&sandbox);
    let challenge = r#"{"type":"url_verification","challenge":"c-9","token":"x"}"#;
    let t = now();
    let response = reqwest::Client::new()
        .post(server.url("/hooks/slackish"))
        .header("Content-Type", "application/json")
        .header("X-Slack-Request-Timestamp", t.to_string())
        .header(
            "X-Slack-Signature",
            slack_signature(t, challenge.as_bytes()),
        )
        .body(challenge)
        .send()
        .await
        .unwrap();
    assert_eq!(
        body(response).await,
        (StatusCode::OK, json!({"challenge": "c-9"}))
    );
    assert!(events(&sandbox, "slackish").is_empty());
}

/// Posts a body signed with Slack's scheme to `/hooks/{integration}`.
async fn post_slack(server: &Server, integration: &str, body: &str) -> (StatusCode, Value) {
    let t = now();
    let response = reqwest::Client::new()
        .post(server.url(&format!("/hooks/{integration}")))
        .header("Content-Type", "application/json")
        .header("X-Slack-Request-Timestamp", t.to_string())
        .header("X-Slack-Signature", slack_signature(t, body.as_bytes()))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    self::body(response).await
}

#[tokio::test(flavor = "multi_thread")]
async fn slacks_verification_token_is_never_stored() {
    let sandbox = Sandbox::with_config(&config(
        "[integrations.slackish]\nkind = \"webhook\"\nscheme = \"slack\"\nsecret = \"env:T_SLACK\"\n",
    ));
    let server = Server::start(&sandbox);
    let token = "LegacyVerificationToken42";
    for (integration, event_id) in [("slack", "Ev1"), ("slackish", "Ev2")] {
        let delivery = json!({"token": token, "type": "event_callback", "event_id": event_id,
            "team_id": "T1", "event": {"type": "reaction_added", "reaction": "tada"}});
        let (status, _) = post_slack(&server, integration, &delivery.to_string()).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{integration}");
        let events = events(&sandbox, integration);
        assert_eq!(events.len(), 1, "{integration}");
        let data = events[0].data.to_string();
        assert!(data.contains("tada") && !data.contains(token), "{data}");
    }
    assert_eq!(server.terminate().code(), Some(0));
    let conn = rusqlite::Connection::open(sandbox.db_path()).unwrap();
    let bodies: Vec<Vec<u8>> = conn
        .prepare("SELECT body FROM deliveries ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(bodies.len(), 2);
    for body in bodies {
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert!(body.get("token").is_none(), "{body}");
        assert_eq!(
            body["event"]["reaction"], "tada",
            "the rest is kept: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn slacks_app_rate_limited_notice_is_stored_once() {
    let sandbox = Sandbox::with_config(&config(""));
    let server = Server::start(&sandbox);
    // Slack's documented payload: no `event_id`, no inner event.
    let notice = r#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","type":"app_rate_limited","team_id":"T123456","minute_rate_limited":1518467820,"api_app_id":"A123456"}"#;
    let (status, first) = post_slack(&server, "slack", notice).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    let (status, again) = post_slack(&server, "slack", notice).await;
    assert_eq!(status, StatusCode::OK, "Slack's retry of it is a duplicate");
    assert_eq!(again["deliveryId"], first["deliveryId"]);
    let events = events(&sandbox, "slack");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].subject.as_deref(), Some("app_rate_limited"));
    assert_eq!(events[0].data["team"], "T123456");

    let broken = r#"{"type":"app_rate_limited","team_id":"T123456"}"#;
    let (status, why) = post_slack(&server, "slack", broken).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        why["error"]
            .as_str()
            .unwrap()
            .contains("`/minute_rate_limited`"),
        "{why}"
    );
    assert_eq!(server.terminate().code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_secret_is_a_setup_problem_not_a_key_anyone_can_sign_with() {
    let sandbox = Sandbox::with_config(&config(
        "[integrations.blank]\nkind = \"github\"\nsecret = \"env:T_BLANK\"\n\
         [integrations.bare]\nkind = \"webhook\"\nscheme = \"standard-webhooks\"\nsecret = \"env:T_BARE\"\n",
    ));
    // `whsec_` alone is a standard-webhooks secret whose key is empty.
    let server = Server::start_with_env(&sandbox, &[("T_BLANK", ""), ("T_BARE", "whsec_")]);
    let body = r#"{"action":"opened"}"#;
    let forged = format!(
        "sha256={}",
        hex::encode(hmac_sha256(b"", &[body.as_bytes()]))
    );
    let client = reqwest::Client::new();
    let github = github_request_with(
        &client,
        &server,
        "blank",
        "d-forged",
        body,
        &forged,
        "application/json",
    );
    let t = now();
    let content = format!("msg_1.{t}.{body}");
    let forged = format!(
        "v1,{}",
        STANDARD.encode(hmac_sha256(b"", &[content.as_bytes()]))
    );
    let standard = client
        .post(server.url("/hooks/bare"))
        .header("Content-Type", "application/json")
        .header("webhook-id", "msg_1")
        .header("webhook-timestamp", t.to_string())
        .header("webhook-signature", forged)
        .body(body);
    for (request, logged) in [
        (github, "secret `blank/secret` is empty (env:T_BLANK)"),
        (
            standard,
            "a secret of integration bare is neither a whsec_ key",
        ),
    ] {
        let status = request.send().await.unwrap().status();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{logged}");
        assert!(server.log_text().contains(logged), "{}", server.log_text());
    }
    // Known before the body is read: refused without waiting for it or measuring it.
    let oversized = "x".repeat(64 * 1024);
    let status = github_request_with(
        &client,
        &server,
        "blank",
        "d-big",
        &oversized,
        "sha256=00",
        "text/plain",
    )
    .send()
    .await
    .unwrap()
    .status();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(events(&sandbox, "blank").is_empty() && events(&sandbox, "bare").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_that_cannot_be_read_leaves_the_others_of_its_list_signing() {
    let sandbox = Sandbox::with_config(&config(
        "[integrations.half]\nkind = \"github\"\nsecret = [\"env:T_NEVER_SET\", \"env:T_GH\"]\n",
    ));
    let server = Server::start(&sandbox);
    let client = reqwest::Client::new();
    let response = github_request(&client, &server, "half", "d-half", r#"{"action":"opened"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let log = server.log_text();
    assert!(
        log.contains("checking signatures with the others") && log.contains("T_NEVER_SET"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn disabled_integration_answers_404_until_enabled() {
    let sandbox = Sandbox::with_config(&config(""));
    let server = Server::start(&sandbox);
    sandbox
        .cmd()
        .args(["integrations", "disable", "gh"])
        .assert()
        .success();
    let client = reqwest::Client::new();
    let payload = r#"{"action":"x"}"#;
    // serve re-reads the registry every 2 s: give it up to 30 s, as a loaded machine may need.
    let mut status = StatusCode::ACCEPTED;
    for _ in 0..300 {
        status = github_request(&client, &server, "gh", "d-off", payload)
            .send()
            .await
            .unwrap()
            .status();
        if status == StatusCode::NOT_FOUND {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, StatusCode::NOT_FOUND);
    sandbox
        .cmd()
        .args(["integrations", "enable", "gh"])
        .assert()
        .success();
    eventually("re-enabled", || true).await;
    let mut accepted = false;
    for n in 0..300 {
        let s = github_request(&client, &server, "gh", &format!("d-on-{n}"), payload)
            .send()
            .await
            .unwrap()
            .status();
        if s == StatusCode::ACCEPTED {
            accepted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(accepted);
}

#[tokio::test(flavor = "multi_thread")]
async fn store_failure_answers_503_and_stores_nothing() {
    let sandbox = Sandbox::with_config(&config("\n[store]\nbusy_timeout = \"200ms\"\n"));
    let server = Server::start(&sandbox);
    let client = reqwest::Client::new();
    let blocker = rusqlite::Connection::open(sandbox.db_path()).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let response = github_request(&client, &server, "gh", "d-locked", r#"{"a":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let ready = client.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    blocker.execute_batch("ROLLBACK").unwrap();
    let response = github_request(&client, &server, "gh", "d-locked", r#"{"a":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::ACCEPTED,
        "the retry is not a duplicate: nothing was stored"
    );
}

#[test]
fn a_client_that_never_reads_its_answers_is_cut_off() {
    use std::io::Write;
    let sandbox = Sandbox::with_config(
        &config("").replace("[server]\n", "[server]\nrequest_timeout = \"500ms\"\n"),
    );
    let server = Server::start(&sandbox);
    let url = reqwest::Url::parse(&server.url("/")).unwrap();
    let mut client =
        std::net::TcpStream::connect((url.host_str().unwrap(), url.port().unwrap())).unwrap();
    client
        .set_write_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    // Requests pipelined without reading a single answer: the answers fill the socket's
    // buffers, the server's writes stall, and then so do these.
    let requests = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".repeat(10_000);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let closed = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the server still holds the connection of a client that stopped reading"
        );
        match client.write(requests.as_bytes()) {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => break e,
        }
    };
    assert!(
        matches!(
            closed.kind(),
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
        ),
        "{closed}"
    );
    assert_eq!(server.terminate().code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_slower_than_request_timeout_answers_503_and_the_retry_is_a_duplicate() {
    let config = config("\n[store]\nbusy_timeout = \"20s\"\n")
        .replace("[server]\n", "[server]\nrequest_timeout = \"500ms\"\n");
    let sandbox = Sandbox::with_config(&config);
    let server = Server::start(&sandbox);
    let client = reqwest::Client::new();
    let blocker = rusqlite::Connection::open(sandbox.db_path()).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let response = github_request(&client, &server, "gh", "d-slow", r#"{"a":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "the client sent everything: the wait is the server's, not a client timeout (408)"
    );
    let why: Value = response.json().await.unwrap();
    assert_eq!(
        why["error"],
        "the delivery was not stored within request_timeout; retry later"
    );
    // The writer was still waiting for the lock: it stores the delivery once it gets it.
    blocker.execute_batch("ROLLBACK").unwrap();
    let mut retry = None;
    for _ in 0..100 {
        let response = github_request(&client, &server, "gh", "d-slow", r#"{"a":1}"#)
            .send()
            .await
            .unwrap();
        if response.status() != StatusCode::SERVICE_UNAVAILABLE {
            retry = Some(response.status());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        retry,
        Some(StatusCode::OK),
        "stored late, so the retry is a duplicate"
    );
    let store = sandbox.store();
    assert_eq!(
        store
            .list_events(&EventFilter {
                limit: 100,
                ..Default::default()
            })
            .unwrap()
            .iter()
            .filter(|e| e.event.integration == "gh")
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_scheme_accepts_valid_and_refuses_invalid() {
    let sandbox = Sandbox::with_config(&config(""));
    let server = Server::start(&sandbox);
    let client = reqwest::Client::new();
    let post = |name: &str| {
        client
            .post(server.url(&format!("/hooks/{name}")))
            .header("Content-Type", "application/json")
    };
    let t = now();

    // Standard Webhooks: valid, then stale.
    let payload = r#"{"type":"user.created","timestamp":"2026-01-01T00:00:00Z","data":{"id":7}}"#;
    let std = |id: &str, ts: i64, sig: String| {
        post("std")
            .header("webhook-id", id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", sig)
            .body(payload)
    };
    assert_eq!(
        std(
            "msg_1",
            t,
            standard_signature("msg_1", t, payload.as_bytes())
        )
        .send()
        .await
        .unwrap()
        .status(),
        StatusCode::ACCEPTED
    );
    let old = t - 3600;
    assert_eq!(
        std(
            "msg_2",
            old,
            standard_signature("msg_2", old, payload.as_bytes())
        )
        .send()
        .await
        .unwrap()
        .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        std("msg_3", t, "v1,".into()).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    // No `tolerance` configured: five minutes either way.
    for (id, skew, expected) in [
        ("msg_4", -290, StatusCode::ACCEPTED),
        ("msg_5", -310, StatusCode::UNAUTHORIZED),
        ("msg_6", 290, StatusCode::ACCEPTED),
        ("msg_7", 310, StatusCode::UNAUTHORIZED),
    ] {
        let ts = now() + skew;
        let sig = standard_signature(id, ts, payload.as_bytes());
        let status = std(id, ts, sig).send().await.unwrap().status();
        assert_eq!(status, expected, "{skew} s off");
    }

    // Stripe: the event id is the delivery id.
    let payload = r#"{"id":"evt_1","type":"invoice.paid","created":1700000000,"data":{"object":{"id":"in_1"}}}"#;
    let stripe = |sig: String| post("stripe").header("Stripe-Signature", sig).body(payload);
    assert_eq!(
        stripe(stripe_signature(t, payload.as_bytes()))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        stripe(stripe_signature(t, payload.as_bytes()))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        stripe(stripe_signature(t + 3600, payload.as_bytes()))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );

    // Signed, but without the id the provider puts in the body: malformed.
    let no_id = r#"{"type":"invoice.paid","created":1700000000,"data":{"object":{}}}"#;
    let response = post("stripe")
        .header("Stripe-Signature", stripe_signature(t, no_id.as_bytes()))
        .body(no_id)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let why = response.json::<Value>().await.unwrap();
    assert!(why["error"].as_str().unwrap().contains("`/id`"), "{why}");

    // Slack: url_verification is answered with its challenge; messages are stored.
    let challenge = r#"{"type":"url_verification","challenge":"c-123","token":"x"}"#;
    let slack = |body: &'static str, ts: i64, sig: String| {
        post("slack")
            .header("X-Slack-Request-Timestamp", ts.to_string())
            .header("X-Slack-Signature", sig)
            .body(body)
    };
    let response = slack(challenge, t, slack_signature(t, challenge.as_bytes()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap()["challenge"],
        "c-123"
    );
    assert_eq!(
        slack(challenge, t, "v0=00".into())
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let message = r#"{"type":"event_callback","event_id":"Ev1","event_time":1700000000,"event":{"type":"message","text":"hi","channel":"C1"}}"#;
    assert_eq!(
        slack(message, t, slack_signature(t, message.as_bytes()))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::ACCEPTED
    );

    // HubSpot v3 signs the URL it called. A retry raises `attemptNumber`, so its body differs,
    // yet it is the same delivery.
    let attempt = |n: u32| {
        format!(
            r#"[{{"eventId":1,"subscriptionId":2,"portalId":3,"subscriptionType":"contact.creation","objectId":5,"attemptNumber":{n}}}]"#
        )
    };
    let url = server.url("/hooks/hubspot");
    let ms = t * 1000;
    let hubspot = |payload: String, sig: String| {
        post("hubspot")
            .header("X-HubSpot-Signature-v3", sig)
            .header("X-HubSpot-Request-Timestamp", ms.to_string())
            .body(payload)
    };
    let first = attempt(0);
    let response = hubspot(first.clone(), hubspot_signature(&url, first.as_bytes(), ms))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let delivery_id = response.json::<Value>().await.unwrap()["deliveryId"].clone();
    let retry = attempt(1);
    let response = hubspot(retry.clone(), hubspot_signature(&url, retry.as_bytes(), ms))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "a retry is a duplicate");
    assert_eq!(
        response.json::<Value>().await.unwrap()["deliveryId"],
        delivery_id
    );
    let wrong_url = hubspot_signature("https://elsewhere/hooks/hubspot", first.as_bytes(), ms);
    assert_eq!(
        hubspot(first, wrong_url).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    // Generic HMAC with a timestamp and an id pointer.
    let payload = r#"{"id":"p-1","kind":"deal"}"#;
    let partner = |sig: String, ts: i64| {
        post("partner")
            .header("X-Partner-Signature", sig)
            .header("X-Partner-Timestamp", ts.to_string())
            .body(payload)
    };
    assert_eq!(
        partner(partner_signature(t, payload.as_bytes()), t)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        partner(partner_signature(t, b"other"), t)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        partner(partner_signature(t, payload.as_bytes()), t)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    // Pub/Sub with a shared token; messageId is the delivery id.
    let envelope = json!({"message": {"data": "eyJlbWFpbEFkZHJlc3MiOiJhQGIuY29tIiwiaGlzdG9yeUlkIjoxMjN9", "messageId": "m-1", "publishTime": "2026-11-24T10:00:00Z"}, "subscription": "projects/p/subscriptions/s"}).to_string();
    let push = |token: &str| {
        client
            .post(server.url(&format!("/hooks/push?token={token}")))
            .header("Content-Type", "application/json")
            .body(envelope.clone())
    };
    assert_eq!(
        push(secret("T_PUSH")).send().await.unwrap().status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        push("wrong").send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        push(secret("T_PUSH")).send().await.unwrap().status(),
        StatusCode::OK
    );

    for (integration, count) in [
        ("std", 3),
        ("stripe", 1),
        ("slack", 1),
        ("hubspot", 1),
        ("partner", 1),
        ("push", 1),
    ] {
        eventually(&format!("{integration} events"), || {
            events(&sandbox, integration).len() == count
        })
        .await;
    }
    assert_eq!(
        events(&sandbox, "stripe")[0].event_type.as_str(),
        "stripeEventReceived"
    );
    assert_eq!(
        events(&sandbox, "slack")[0].event_type.as_str(),
        "slackMessagePosted"
    );
    assert_eq!(
        events(&sandbox, "hubspot")[0].event_type.as_str(),
        "crmRecordChanged"
    );
    assert_eq!(
        events(&sandbox, "std")[0].subject.as_deref(),
        Some("user.created")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn generic_hmac_takes_the_delivery_id_from_id_header_else_the_body_hash() {
    let hmac = |name: &str, id_header: &str| {
        format!(
            "\n[integrations.{name}]\nkind = \"webhook\"\nscheme = \"hmac\"\n\
             secret = \"env:T_HMAC\"\nheader = \"X-Sig\"\nalgorithm = \"sha256\"\n\
             encoding = \"hex\"\n{id_header}"
        )
    };
    let extra = hmac("by-header", "id_header = \"X-Delivery\"\n") + &hmac("by-hash", "");
    let sandbox = Sandbox::with_config(&config(&extra));
    let server = Server::start(&sandbox);
    let client = reqwest::Client::new();
    let send = |integration: &str, id: Option<&str>, payload: &'static str| {
        let sig = hex::encode(hmac_sha256(
            secret("T_HMAC").as_bytes(),
            &[payload.as_bytes()],
        ));
        let mut request = client
            .post(server.url(&format!("/hooks/{integration}")))
            .header("Content-Type", "application/json")
            .header("X-Sig", sig)
            .body(payload);
        if let Some(id) = id {
            request = request.header("X-Delivery", id);
        }
        async move { body(request.send().await.unwrap()).await }
    };
    let a = r#"{"n":1}"#;
    let (status, first) = send("by-header", Some("d-1"), a).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        send("by-header", Some("d-2"), a).await.0,
        StatusCode::ACCEPTED,
        "the same body under another id is another delivery"
    );
    let (status, repeat) = send("by-header", Some("d-1"), r#"{"n":2}"#).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the id, not the body, says it is a repeat"
    );
    assert_eq!(repeat["deliveryId"], first["deliveryId"]);
    let (status, refused) = send("by-header", None, a).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        refused["error"].as_str().unwrap().contains("delivery id"),
        "{refused}"
    );

    let (status, first) = send("by-hash", None, a).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, repeat) = send("by-hash", None, a).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(repeat["deliveryId"], first["deliveryId"]);
    assert_eq!(
        send("by-hash", None, r#"{"n":2}"#).await.0,
        StatusCode::ACCEPTED
    );

    let keys = |integration| {
        let mut keys: Vec<String> = events(&sandbox, integration)
            .into_iter()
            .map(|e| e.dedupe_key)
            .collect();
        keys.sort();
        keys
    };
    assert_eq!(keys("by-header"), ["webhook:d-1", "webhook:d-2"]);
    let hashed = keys("by-hash");
    assert_eq!(hashed.len(), 2);
    assert!(
        hashed.iter().all(|k| k.starts_with("webhook:sha256:")),
        "{hashed:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn json_log_lines_have_camel_case_keys_and_no_secrets() {
    let sandbox = Sandbox::with_config(&config(""));
    let server = Server::start_with_json_logs(&sandbox);
    let client = reqwest::Client::new();
    let payload = r#"{"action":"opened","repository":{"full_name":"acme/app"}}"#;
    let accepted = github_request(&client, &server, "gh", "d-json", payload)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    let refused = github_request_with(
        &client,
        &server,
        "gh",
        "d-bad",
        payload,
        "sha256=00",
        "application/json",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let log = server.log.clone();
    assert_eq!(server.terminate().code(), Some(0));
    let lines: Vec<Value> = log
        .lock()
        .unwrap()
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    for line in &lines {
        for key in line.as_object().unwrap().keys() {
            assert!(!key.contains('_'), "`{key}` is not camelCase: {line}");
        }
        assert!(!line.to_string().contains(secret("T_GH")), "{line}");
    }
    let webhook = |outcome: &str| {
        lines
            .iter()
            .find(|l| l["message"] == "webhook" && l["outcome"] == outcome)
            .unwrap_or_else(|| panic!("no {outcome} line in {lines:?}"))
    };
    let accepted = webhook("accepted");
    assert_eq!(accepted["integration"], "gh");
    assert!(accepted["deliveryId"].is_string(), "{accepted}");
    assert!(accepted["latencyMs"].is_number(), "{accepted}");
    assert_eq!(webhook("unauthorized")["status"], 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn health_registry_and_metrics() {
    let sandbox = Sandbox::with_config(&config(""));
    let server = Server::start(&sandbox);
    let client = reqwest::Client::new();
    for path in ["/healthz", "/readyz"] {
        let status = client.get(server.url(path)).send().await.unwrap().status();
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    github_request(&client, &server, "gh", "m-1", r#"{"action":"closed"}"#)
        .send()
        .await
        .unwrap();
    let registry: Value = client
        .get(server.url("/registry"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cli = sandbox.json(&["integrations", "list", "--json"]);
    let names = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(&registry),
        names(&cli),
        "same shape as integrations list --json"
    );
    let one: Value = client
        .get(server.url("/registry/gh"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["kind"], "github");
    for missing in ["/registry/nope", "/registry/%FF"] {
        let response = client.get(server.url(missing)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{missing}");
        let why: Value = response.json().await.unwrap();
        assert_eq!(why["error"], "no such integration", "{missing}");
    }
    // No Accept (curl): the Prometheus text format.
    let response = client.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let metrics = response.text().await.unwrap();
    assert!(
        metrics
            .contains(r#"trmctl_webhook_deliveries_total{integration="gh",outcome="accepted"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("# TYPE trmctl_webhook_deliveries_total counter\n"));
    assert!(!metrics.contains("# EOF"), "{metrics}");
    assert!(metrics.contains("trmctl_queue_depth"));
    assert!(metrics.contains("trmctl_dead_letters"));
    assert!(metrics.contains("trmctl_worker_seconds"));
    assert!(metrics.contains("trmctl_log_lines_dropped 0"), "{metrics}");
    assert!(
        metrics.contains("trmctl_inbox_commit_deliveries_sum 1.0"),
        "the one delivery's commit: {metrics}"
    );
    // Prometheus asks for OpenMetrics first, and gets it.
    let response = client
        .get(server.url("/metrics"))
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let openmetrics = response.text().await.unwrap();
    assert!(openmetrics.contains("# TYPE trmctl_webhook_deliveries counter\n"));
    assert!(openmetrics.ends_with("# EOF\n"), "{openmetrics}");
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_endpoints_need_the_token_off_loopback() {
    let text = config("").replace(
        "bind = \"127.0.0.1:0\"",
        "bind = \"0.0.0.0:0\"\nadmin_token = \"env:T_GH\"",
    );
    let sandbox = Sandbox::with_config(&text);
    let server = Server::start(&sandbox);
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{}/registry", server.addr.port());
    let refused = client.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.headers()["www-authenticate"],
        r#"Bearer realm="trmctl""#
    );
    let authorized = client
        .get(&url)
        .bearer_auth(secret("T_GH"))
        .send()
        .await
        .unwrap();
    assert_eq!(authorized.status(), StatusCode::OK);
    // The scheme is case-insensitive (RFC 9110 §11.1).
    let lower = client
        .get(&url)
        .header("authorization", format!("bearer {}", secret("T_GH")))
        .send()
        .await
        .unwrap();
    assert_eq!(lower.status(), StatusCode::OK);
    let entry = format!("{url}/gh");
    assert_eq!(
        client.get(&entry).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let entry = client
        .get(&entry)
        .bearer_auth(secret("T_GH"))
        .send()
        .await
        .unwrap();
    assert_eq!(entry.status(), StatusCode::OK);
    assert_eq!(entry.json::<Value>().await.unwrap()["name"], "gh");
    let metrics = format!("http://127.0.0.1:{}/metrics", server.addr.port());
    assert_eq!(
        client
            .get(&metrics)
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let health = format!("http://127.0.0.1:{}/healthz", server.addr.port());
    assert_eq!(
        client.get(&health).send().await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn out_of_file_descriptors_serve_says_so_and_recovers() {
    let sandbox = Sandbox::with_config(&config(""));
    let server = Server::start_under(&sandbox, &[], &["prlimit", "--nofile=48:48", "--"]);
    // Idle connections until accepting fails for want of descriptors.
    let mut held = Vec::new();
    for _ in 0..80 {
        match std::net::TcpStream::connect(server.addr) {
            Ok(stream) => held.push(stream),
            Err(_) => break,
        }
    }
    eventually("the failed accepts are logged", || {
        server.log_text().contains("accepting a connection failed")
    })
    .await;
    drop(held);
    eventually("serve answers again", || {
        std::net::TcpStream::connect(server.addr).is_ok_and(|mut s| {
            use std::io::{Read, Write};
            let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(2)));
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .is_ok()
                && {
                    let mut answer = String::new();
                    let _ = s.read_to_string(&mut answer);
                    answer.starts_with("HTTP/1.1 200")
                }
        })
    })
    .await;
}

#[test]
fn an_unreadable_admin_token_stops_serve_before_anything_starts() {
    let text = config("").replace(
        "bind = \"127.0.0.1:0\"",
        "bind = \"0.0.0.0:0\"\nadmin_token = \"env:T_NEVER_SET\"",
    );
    let sandbox = Sandbox::with_config(&text);
    let output = sandbox
        .cmd()
        .arg("serve")
        .env_remove("T_NEVER_SET")
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("admin_token") && stderr.contains("T_NEVER_SET"),
        "{stderr}"
    );
    assert!(
        !sandbox.db_path().exists(),
        "nothing was started, not even the database"
    );
}
