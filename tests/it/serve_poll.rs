//! `trmctl serve` runs polls too: due integrations on its schedule, the Gmail watch of a
//! Pub/Sub integration kept renewed, and an immediate Gmail poll when a notification arrives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::oauth::{AuthServer, CLIENT_SECRET};
use crate::server::{Server, config, eventually, secret};
use crate::util::Sandbox;

#[derive(Default)]
struct Gmail {
    calls: HashMap<&'static str, usize>,
    watch_bodies: Vec<Value>,
}

type Shared = Arc<Mutex<Gmail>>;

fn count(gmail: &Shared, endpoint: &'static str) -> usize {
    gmail
        .lock()
        .unwrap()
        .calls
        .get(endpoint)
        .copied()
        .unwrap_or(0)
}

/// A mailbox empty at the full sync; its history then holds one new message, `m-1`: enough to
/// see which requests serve makes, and when.
async fn fake_gmail() -> (String, Shared) {
    let gmail: Shared = Default::default();
    let hit = |gmail: &Shared, endpoint: &'static str| {
        *gmail.lock().unwrap().calls.entry(endpoint).or_default() += 1
    };
    let app = axum::Router::new()
        .route(
            "/gmail/v1/users/me/profile",
            get(move |State(g): State<Shared>| async move {
                hit(&g, "profile");
                Json(json!({"emailAddress": "founder@example.com", "historyId": "100", "messagesTotal": 0}))
            }),
        )
        .route(
            "/gmail/v1/users/me/messages",
            get(move |State(g): State<Shared>| async move {
                hit(&g, "list");
                Json(json!({"resultSizeEstimate": 0}))
            }),
        )
        .route(
            "/gmail/v1/users/me/history",
            get(move |State(g): State<Shared>| async move {
                hit(&g, "history");
                let added = json!({"message": {"id": "m-1", "threadId": "t-1", "labelIds": ["INBOX"]}});
                Json(json!({
                    "historyId": "101",
                    "history": [{"id": "101", "messages": [{"id": "m-1", "threadId": "t-1"}], "messagesAdded": [added]}],
                }))
            }),
        )
        .route(
            "/gmail/v1/users/me/messages/m-1",
            get(move |State(g): State<Shared>| async move {
                hit(&g, "get");
                Json(json!({
                    "id": "m-1", "threadId": "t-1", "labelIds": ["INBOX"], "snippet": "hello",
                    "historyId": "101", "internalDate": "1764000000000",
                    "payload": {"headers": [
                        {"name": "From", "value": "client@example.com"},
                        {"name": "Subject", "value": "Hello"},
                    ]},
                }))
            }),
        )
        .route(
            "/gmail/v1/users/me/watch",
            post(move |State(g): State<Shared>, Json(body): Json<Value>| async move {
                hit(&g, "watch");
                if body["topicName"] == "projects/p/topics/hanging" {
                    tokio::time::sleep(std::time::Duration::from_secs(600)).await;
                }
                let missing = body["topicName"] == "projects/p/topics/missing";
                g.lock().unwrap().watch_bodies.push(body);
                if missing {
                    let error = json!({"error": {"code": 404, "message": "Resource not found", "status": "NOT_FOUND"}});
                    return (axum::http::StatusCode::NOT_FOUND, Json(error));
                }
                let expiration = chrono::Utc::now().timestamp_millis() + 7 * 24 * 3600 * 1000;
                (axum::http::StatusCode::OK, Json(json!({"historyId": "100", "expiration": expiration.to_string()})))
            }),
        )
        .with_state(gmail.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, gmail)
}

/// Posts a Pub/Sub push `envelope` to the Gmail push hook; the answer's status.
async fn push(server: &Server, envelope: &Value) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(server.url(&format!("/hooks/gmail-push?token={}", secret("T_PUSH"))))
        .json(envelope)
        .send()
        .await
        .unwrap()
        .status()
}

/// A Pub/Sub push saying the mailbox `founder@example.com` changed.
fn gmail_notification(message_id: &str) -> Value {
    let data = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        br#"{"emailAddress":"founder@example.com","historyId":101}"#,
    );
    json!({"message": {"data": data, "messageId": message_id}, "subscription": "projects/p/subscriptions/s"})
}

/// A sandbox whose config has the account `acc` (its secrets in files, so `serve` reads them
/// without the keyring), its `gmail` integration `mail` on `base`, its Pub/Sub push
/// integration `gmail-push`, and `extra`. The auth server must live as long as the test.
async fn gmail_sandbox(base: &str, extra: &str) -> (AuthServer, Sandbox) {
    let auth = AuthServer::start().await;
    auth.books().refresh_tokens.push("1//serve-refresh".into());
    let sandbox = Sandbox::new();
    let secrets = sandbox.dir.path().join("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::write(secrets.join("refresh"), "1//serve-refresh").unwrap();
    std::fs::write(secrets.join("client"), CLIENT_SECRET).unwrap();
    let account = auth.account_config("acc").replace(
        "client_secret = \"env:T_CLIENT_SECRET\"",
        &format!(
            "client_secret = \"file:{}\"",
            secrets.join("client").display()
        ),
    );
    let text = format!(
        "\n{account}refresh_token = \"file:{}\"\n\n\
         [integrations.mail]\nkind = \"gmail\"\naccount = \"acc\"\nbase_url = \"{base}\"\ninterval = \"1h\"\n\n\
         [integrations.gmail-push]\nkind = \"google-pubsub\"\naccount = \"acc\"\ntoken = \"env:T_PUSH\"\n\
         topic = \"projects/p/topics/gmail\"\n{extra}",
        secrets.join("refresh").display()
    );
    sandbox.write_config(&config(&text));
    (auth, sandbox)
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_polls_due_integrations_renews_the_watch_and_polls_on_notification() {
    let (base, gmail) = fake_gmail().await;
    let gone = "\n[integrations.a-gone-push]\nkind = \"google-pubsub\"\naccount = \"acc\"\n\
                token = \"env:T_PUSH\"\ntopic = \"projects/p/topics/missing\"\n";
    let (_auth, sandbox) = gmail_sandbox(&base, gone).await;
    let server = Server::start(&sandbox);

    // The due poll runs at start: a full sync of the (empty) mailbox.
    eventually("the first poll", || {
        count(&gmail, "profile") == 1 && count(&gmail, "list") == 1
    })
    .await;
    // The watch of a topic Gmail refuses (renewed first: names are in order) fails alone.
    eventually("the watch renewals", || count(&gmail, "watch") == 2).await;
    let topics: Vec<Value> = gmail
        .lock()
        .unwrap()
        .watch_bodies
        .iter()
        .map(|b| b["topicName"].clone())
        .collect();
    assert_eq!(
        topics,
        ["projects/p/topics/missing", "projects/p/topics/gmail"]
    );
    eventually("the failure in the log", || {
        server
            .log_text()
            .contains("renewing the Gmail watch of a-gone-push")
    })
    .await;
    let entry = sandbox.json(&["integrations", "show", "mail", "--json"]);
    assert_eq!(entry["status"], "active");
    assert!(entry["lastSuccessTime"].is_string());

    // A Gmail notification polls the account's mailbox at once (interval 1h: not the schedule).
    let envelope = gmail_notification("n-1");
    assert_eq!(push(&server, &envelope).await, 202);
    eventually("an incremental poll after the notification", || {
        count(&gmail, "history") == 1
    })
    .await;
    // Both polls are in /metrics once reported (the report follows the poll's last request).
    let metrics_url = server.url("/metrics");
    let mut metrics = String::new();
    for _ in 0..400 {
        metrics = reqwest::get(&metrics_url)
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains(r#"trmctl_poll_runs_total{integration="mail",outcome="ok"} 2"#) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        metrics.contains(r#"trmctl_poll_runs_total{integration="mail",outcome="ok"} 2"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"trmctl_poll_events_total{integration="mail"} 1"#),
        "the notification's poll stored m-1: {metrics}"
    );
    // A disabled integration is not polled, not even on a notification.
    sandbox
        .cmd()
        .args(["integrations", "disable", "mail"])
        .assert()
        .success();
    assert_eq!(push(&server, &gmail_notification("n-2")).await, 202);
    eventually(
        "the notification for a disabled integration is passed over",
        || server.log_text().contains("not polled now"),
    )
    .await;
    assert_eq!(count(&gmail, "history"), 1);
    assert_eq!(server.terminate().code(), Some(0));
    assert_eq!(
        count(&gmail, "watch"),
        2,
        "a fresh watch is not renewed again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_watch_renewal_holds_up_neither_polls_nor_notifications() {
    let (base, gmail) = fake_gmail().await;
    let hanging = "\n[integrations.a-hanging-push]\nkind = \"google-pubsub\"\naccount = \"acc\"\n\
                   token = \"env:T_PUSH\"\ntopic = \"projects/p/topics/hanging\"\n";
    let (_auth, sandbox) = gmail_sandbox(&base, hanging).await;
    let server = Server::start(&sandbox);
    eventually("the renewal is hanging", || count(&gmail, "watch") == 1).await;
    eventually("the first poll all the same", || count(&gmail, "list") == 1).await;
    assert_eq!(push(&server, &gmail_notification("n-1")).await, 202);
    eventually("the notification's poll all the same", || {
        count(&gmail, "history") == 1
    })
    .await;
    assert_eq!(server.terminate().code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_poll_holds_up_neither_other_polls_nor_notifications() {
    let (base, gmail) = fake_gmail().await;
    let crm = crate::poll::Crm::start().await;
    crm.add(1, "Acme", "2026-11-24T10:00:00Z");
    // The CRM's first answer waits until the test releases it.
    crm.api().faults.push_back(crate::poll::Fault::Held);
    let release = crm.api().release.clone();
    let (_auth, sandbox) = gmail_sandbox(&base, &crm.integration("crm")).await;
    let server = Server::start_with_env(&sandbox, &[("T_CRM_TOKEN", "crm-token")]);
    eventually("the CRM poll is under way", || crm.api().requests == 1).await;
    eventually("the mailbox's first poll, beside it", || {
        count(&gmail, "list") == 1
    })
    .await;

    let envelope = gmail_notification("n-1");
    assert_eq!(push(&server, &envelope).await, 202);
    eventually("the notification's poll, beside it", || {
        count(&gmail, "history") == 1
    })
    .await;
    assert_eq!(
        sandbox.events(Some("crm")).len(),
        0,
        "the CRM poll still waits"
    );

    release.notify_one();
    eventually("the CRM poll ends", || {
        sandbox.events(Some("crm")).len() == 1
    })
    .await;
    assert_eq!(server.terminate().code(), Some(0));
}
