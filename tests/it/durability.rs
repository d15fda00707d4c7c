//! What must never be lost: dead letters and their retry, graceful shutdown with requests in
//! flight, and a `kill -9` under load (SPEC §10).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use trmctl::store::{NewDelivery, enqueue};

use crate::server::*;
use crate::util::Sandbox;

fn all_events(sandbox: &Sandbox) -> Vec<trmctl::event::Event> {
    sandbox.events(None)
}

fn dead_letters(sandbox: &Sandbox) -> serde_json::Value {
    let out = sandbox
        .cmd()
        .args(["deadletters", "list", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_retry_into_dead_letters_and_come_back_with_retry() {
    // A delivery stored by an earlier run for an integration since removed from the config:
    // every attempt fails until the user puts it back.
    let sandbox = Sandbox::with_config(&config(""));
    let delivery = NewDelivery {
        delivery_id: "0193f1c2-0000-7000-8000-000000000001".into(),
        integration: "gone".into(),
        provider_delivery_id: "gh-gone-1".into(),
        received_at: trmctl::event::now(),
        content_type: "application/json".into(),
        headers: r#"{"x-github-event":"push"}"#.into(),
        body: br#"{"ref":"main"}"#.to_vec(),
    };
    let second = NewDelivery {
        delivery_id: "0193f1c2-0000-7000-8000-000000000002".into(),
        provider_delivery_id: "gh-gone-2".into(),
        ..delivery.clone()
    };
    sandbox
        .store()
        .transaction(|tx| {
            enqueue(tx, &delivery)?;
            enqueue(tx, &second)
        })
        .unwrap();
    let server = Server::start(&sandbox);
    eventually("three attempts each, then dead letters", || {
        dead_letters(&sandbox).as_array().unwrap().len() == 2
    })
    .await;
    assert_eq!(server.terminate().code(), Some(0));
    let dead = dead_letters(&sandbox);
    assert_eq!(dead[0]["deliveryId"], delivery.delivery_id.as_str());
    assert_eq!(dead[0]["attempts"], 3);
    assert!(
        dead[0]["lastError"]
            .as_str()
            .unwrap()
            .contains("no longer configured")
    );
    let status = sandbox.cmd().args(["status", "--json"]).output().unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["deadLetters"], 2);

    sandbox.write_config(&config(
        "\n[integrations.gone]\nkind = \"github\"\nsecret = \"env:T_GH\"\n",
    ));
    sandbox
        .cmd()
        .args(["deadletters", "retry", "nope"])
        .assert()
        .code(2);
    sandbox
        .cmd()
        .args(["deadletters", "retry", &delivery.delivery_id])
        .assert()
        .success();
    let left = dead_letters(&sandbox);
    assert_eq!(left.as_array().unwrap().len(), 1, "{left}");
    assert_eq!(left[0]["deliveryId"], second.delivery_id.as_str());
    sandbox
        .cmd()
        .args(["deadletters", "retry", "--all"])
        .assert()
        .success();
    let server = Server::start(&sandbox);
    eventually("the retried deliveries become events", || {
        let events = all_events(&sandbox);
        ["github:gh-gone-1", "github:gh-gone-2"]
            .iter()
            .all(|key| events.iter().any(|e| e.dedupe_key == *key))
    })
    .await;
    assert!(dead_letters(&sandbox).as_array().unwrap().is_empty());
    assert_eq!(server.terminate().code(), Some(0));
}

/// Sends a delivery that must be answered `202` and then become the one dead letter; the
/// dead letters then.
async fn accepted_then_dead(
    sandbox: &Sandbox,
    request: reqwest::RequestBuilder,
) -> serde_json::Value {
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    eventually("a dead letter", || {
        dead_letters(sandbox).as_array().unwrap().len() == 1
    })
    .await;
    dead_letters(sandbox)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payload_off_schema_is_a_dead_letter_at_once_and_can_be_dropped() {
    let sandbox = Sandbox::with_config(&config(""));
    let server = Server::start(&sandbox);
    let client = reqwest::Client::new();
    // Stripe events need `type`; this one is signed but lacks it.
    let payload = r#"{"id":"evt_bad","created":1700000000,"data":{"object":{}}}"#;
    let request = client
        .post(server.url("/hooks/stripe"))
        .header("Content-Type", "application/json")
        .header(
            "Stripe-Signature",
            stripe_signature(now(), payload.as_bytes()),
        )
        .body(payload);
    let dead = accepted_then_dead(&sandbox, request).await;
    assert_eq!(dead[0]["attempts"], 1, "retrying cannot fix a schema error");
    assert!(
        dead[0]["lastError"]
            .as_str()
            .unwrap()
            .contains("field `/type` is missing")
    );
    let id = dead[0]["deliveryId"].as_str().unwrap().to_string();
    // One id that is not a dead letter: nothing is dropped, and --json prints one document.
    let out = sandbox
        .cmd()
        .args(["deadletters", "drop", "--json", &id, "typo"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("not dead letters: typo")
    );
    assert_eq!(dead_letters(&sandbox).as_array().unwrap().len(), 1);
    sandbox
        .cmd()
        .args(["deadletters", "drop", &id.to_uppercase()])
        .assert()
        .success();
    assert!(dead_letters(&sandbox).as_array().unwrap().is_empty());
    assert!(all_events(&sandbox).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payload_nested_too_deep_is_a_dead_letter_not_an_unreadable_event() {
    let sandbox = Sandbox::with_config(&config(""));
    let server = Server::start(&sandbox);
    let client = reqwest::Client::new();
    // Valid JSON that serde_json reads (127 levels), but one level deeper once inside an event.
    let payload = format!("{}{}", "[".repeat(127), "]".repeat(127));
    let timestamp = now();
    let request = client
        .post(server.url("/hooks/std"))
        .header("Content-Type", "application/json")
        .header("webhook-id", "msg_deep")
        .header("webhook-timestamp", timestamp.to_string())
        .header(
            "webhook-signature",
            standard_signature("msg_deep", timestamp, payload.as_bytes()),
        )
        .body(payload);
    let dead = accepted_then_dead(&sandbox, request).await;
    assert_eq!(dead[0]["attempts"], 1, "retrying cannot fix it");
    let error = dead[0]["lastError"].as_str().unwrap();
    assert!(error.contains("deeper than 100 levels"), "{error}");
    // Every event stays readable, and the next delivery is an event as usual.
    let response = github_request(&client, &server, "gh", "after-deep", r#"{"action":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    eventually("the next event", || all_events(&sandbox).len() == 1).await;
    sandbox.cmd().args(["events", "list"]).assert().success();
    assert_eq!(server.terminate().code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_good_events_of_a_hubspot_batch_outlive_a_bad_one() {
    let sandbox = Sandbox::with_config(&config(""));
    let server = Server::start(&sandbox);
    // HubSpot got its 202 and will not send the batch again: the contact created in it must
    // not be lost with the element that lacks `subscriptionType`.
    let payload = r#"[{"eventId":1,"subscriptionType":"contact.creation","objectId":5},{"eventId":2,"objectId":6}]"#;
    let (url, millis) = (server.url("/hooks/hubspot"), now() * 1000);
    let request = reqwest::Client::new()
        .post(&url)
        .header("Content-Type", "application/json")
        .header(
            "X-HubSpot-Signature-v3",
            hubspot_signature(&url, payload.as_bytes(), millis),
        )
        .header("X-HubSpot-Request-Timestamp", millis.to_string())
        .body(payload);
    let dead = accepted_then_dead(&sandbox, request).await;
    let base_events = || {
        let base = all_events(&sandbox)
            .into_iter()
            .filter(|e| e.derived_from.is_none());
        base.map(|e| e.external_id).collect::<Vec<_>>()
    };
    assert_eq!(base_events(), [Some("5".to_string())]);
    let error = dead[0]["lastError"].clone();
    assert!(
        error.as_str().unwrap().contains(
            "field `/1/subscriptionType` is missing (1 of the batch's 2 events does not match)"
        ),
        "{error}"
    );

    // Retried, the bad element fails again; the good one is not made twice.
    sandbox
        .cmd()
        .args(["deadletters", "retry", "--all"])
        .assert()
        .success();
    eventually("a dead letter again", || {
        dead_letters(&sandbox)[0]["attempts"] == 1 && sandbox.store().pending_count().unwrap() == 0
    })
    .await;
    assert_eq!(server.terminate().code(), Some(0));
    assert_eq!(base_events(), [Some("5".to_string())]);
}

/// Waits until serve has read everything written so far on `stream`, a loopback connection to
/// it: every byte acknowledged to the client, none left unread on the server's side (Linux shows
/// both in /proc/net/tcp, as `tx_queue` of the one socket and `rx_queue` of the other).
fn wait_until_read(stream: &TcpStream) {
    let hex = |addr: SocketAddr| match addr.ip() {
        IpAddr::V4(ip) => format!(
            "{:08X}:{:04X}",
            u32::from_ne_bytes(ip.octets()),
            addr.port()
        ),
        IpAddr::V6(_) => unreachable!("serve binds 127.0.0.1"),
    };
    let (client, server) = (
        hex(stream.local_addr().unwrap()),
        hex(stream.peer_addr().unwrap()),
    );
    // (bytes not yet acknowledged, bytes not yet read) of the socket `local` → `remote`.
    let queues = |local: &str, remote: &str| -> Option<(u64, u64)> {
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
        table.lines().skip(1).find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.get(1) != Some(&local) || fields.get(2) != Some(&remote) {
                return None;
            }
            let (tx, rx) = fields.get(4)?.split_once(':')?;
            Some((
                u64::from_str_radix(tx, 16).ok()?,
                u64::from_str_radix(rx, 16).ok()?,
            ))
        })
    };
    for _ in 0..300 {
        let delivered = queues(&client, &server).is_some_and(|(unacked, _)| unacked == 0);
        if delivered && queues(&server, &client).is_some_and(|(_, unread)| unread == 0) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("serve did not read the connection's bytes within 30 s");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_whose_head_arrives_after_sigterm_is_answered_503_and_readyz_too() {
    let sandbox = Sandbox::with_config(&config(""));
    let server = Server::start(&sandbox);
    let body = r#"{"action":"opened"}"#;
    let signature = github_signature(body.as_bytes());
    let mut stream = TcpStream::connect(server.addr).unwrap();
    let head = format!(
        "POST /hooks/gh HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nX-GitHub-Event: issues\r\n\
         X-GitHub-Delivery: late-1\r\nX-Hub-Signature-256: {signature}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        server.addr,
        body.len()
    );
    // The connection is open and the request begun, but not yet handled, when SIGTERM comes;
    // so is a readiness probe's.
    stream.write_all(&head.as_bytes()[..20]).unwrap();
    wait_until_read(&stream);
    let mut probe = TcpStream::connect(server.addr).unwrap();
    let ready = format!(
        "GET /readyz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    probe.write_all(&ready.as_bytes()[..10]).unwrap();
    wait_until_read(&probe);
    signal(server.pid(), "TERM");
    eventually("the server begins to shut down", || {
        server.log_text().contains("shutting down")
    })
    .await;
    probe.write_all(&ready.as_bytes()[10..]).unwrap();
    let mut answer = String::new();
    probe
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    probe.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 503"),
        "not ready while draining: {answer}"
    );
    stream.write_all(&head.as_bytes()[20..]).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut response = String::new();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    assert!(
        response.ends_with(r#"{"error":"shutting down"}"#),
        "{response}"
    );
    assert_eq!(server.exited().code(), Some(0));
    assert!(all_events(&sandbox).is_empty(), "refused, so not stored");
}

/// A signed GitHub delivery whose handler is reading its body: the head sent with
/// `Expect: 100-continue`, the `100 Continue` read (the handler asked for the body), and the
/// first `sent` bytes of `body` written.
fn begin_in_flight(server: &Server, delivery: &str, body: &str, sent: usize) -> TcpStream {
    let signature = github_signature(body.as_bytes());
    let mut stream = TcpStream::connect(server.addr).unwrap();
    let head = format!(
        "POST /hooks/gh HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nX-GitHub-Event: issues\r\n\
         X-GitHub-Delivery: {delivery}\r\nX-Hub-Signature-256: {signature}\r\nContent-Length: {}\r\nConnection: close\r\n\
         Expect: 100-continue\r\n\r\n",
        server.addr,
        body.len()
    );
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(&body.as_bytes()[..sent]).unwrap();
    stream
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_finishes_requests_in_flight_and_exits_0() {
    let sandbox = Sandbox::with_config(&config(""));
    let server = Server::start(&sandbox);
    let body = r#"{"action":"opened","slow":true}"#;
    // The handler has asked for the body: the request is in flight when SIGTERM comes.
    let mut stream = begin_in_flight(&server, "in-flight-1", body, 10);
    signal(server.pid(), "TERM");
    eventually("the server begins to shut down", || {
        server.log_text().contains("shutting down")
    })
    .await;
    stream.write_all(&body.as_bytes()[10..]).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 202"), "{response}");
    assert_eq!(server.exited().code(), Some(0));
    // Stored before the 202: after a restart (if the worker had not got to it) it is one event.
    let server = Server::start(&sandbox);
    eventually("one event for the in-flight delivery", || {
        all_events(&sandbox)
            .iter()
            .filter(|e| e.dedupe_key == "github:in-flight-1")
            .count()
            == 1
    })
    .await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_sigterm_stops_a_drain_that_waits_on_a_stalled_request() {
    // The drain would wait a minute for the stalled request: longer than `terminate` waits.
    let sandbox = Sandbox::with_config(
        &config("").replace("shutdown_timeout = \"10s\"", "shutdown_timeout = \"60s\""),
    );
    let server = Server::start(&sandbox);
    // Part of the body, and the rest never comes.
    let _stream = begin_in_flight(&server, "stalled-1", r#"{"action":"opened"}"#, 5);
    signal(server.pid(), "TERM");
    eventually("the server begins to shut down", || {
        server.log_text().contains("shutting down")
    })
    .await;
    let status = server.terminate();
    assert_eq!(status.code(), Some(1), "stopped, not drained: {status:?}");
    assert!(
        all_events(&sandbox).is_empty(),
        "the stalled delivery was never acknowledged"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_run_beside_serve_does_not_take_its_deliveries_away() {
    // Closing any descriptor of a file drops every POSIX lock the process holds on it,
    // SQLite's included. A serve that did so could not stop another process from taking the
    // WAL as its own and removing it on close: 202s given after that were lost to a kill -9.
    let sandbox = Sandbox::with_config(&config(""));
    let server = Server::start(&sandbox);
    let client = reqwest::Client::new();
    let send = |id: &'static str| {
        github_request(&client, &server, "gh", id, r#"{"action":"opened"}"#).send()
    };
    assert_eq!(
        send("beside-0").await.unwrap().status(),
        StatusCode::ACCEPTED
    );
    // Another process reads the database and closes it: Python's sqlite3, as a user's script
    // or the `sqlite3` shell would (their SQLite removes the WAL on close when it finds no
    // other process holding the database).
    let read = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys\n\
             c = sqlite3.connect(sys.argv[1])\n\
             print(c.execute('SELECT count(*) FROM deliveries').fetchone()[0])\n\
             c.close()",
        ])
        .arg(sandbox.db_path())
        .output()
        .unwrap();
    assert!(read.status.success(), "{read:?}");
    assert_eq!(String::from_utf8_lossy(&read.stdout).trim(), "1");
    for id in ["beside-1", "beside-2", "beside-3"] {
        assert_eq!(send(id).await.unwrap().status(), StatusCode::ACCEPTED);
    }
    server.kill();
    let keys: Vec<String> = all_events(&sandbox)
        .into_iter()
        .filter(|e| e.derived_from.is_none())
        .map(|e| e.dedupe_key)
        .collect();
    for id in ["beside-0", "beside-1", "beside-2", "beside-3"] {
        assert!(
            keys.contains(&format!("github:{id}")),
            "{id} got a 202 but is gone: {keys:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_deleted_under_serve_gets_no_more_202s() {
    let sandbox = Sandbox::with_config(&config(""));
    let server = Server::start(&sandbox);
    let client = reqwest::Client::new();
    let send = |id: &'static str| {
        github_request(&client, &server, "gh", id, r#"{"action":"opened"}"#).send()
    };
    assert_eq!(send("gone-0").await.unwrap().status(), StatusCode::ACCEPTED);
    for suffix in ["", "-wal", "-shm"] {
        let mut file = sandbox.db_path().into_os_string();
        file.push(suffix);
        std::fs::remove_file(file).unwrap();
    }
    // Stored in a file no one will read again: refused, so the provider sends it again.
    let response = send("gone-1").await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let ready = client.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    eventually("the log says why", || {
        server.log_text().contains("deleted or replaced")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_under_load_loses_no_acknowledged_delivery() {
    let sandbox = Sandbox::with_config(&config("").replace(
        "[integrations.gh]",
        "[integrations.gh]\nrate_limit = 100000",
    ));
    let server = Server::start(&sandbox);
    let client = reqwest::Client::new();
    let acked = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut senders = Vec::new();
    for task in 0..16 {
        let client = client.clone();
        let acked = acked.clone();
        let url = server.url("/hooks/gh");
        senders.push(tokio::spawn(async move {
            for n in 0.. {
                let id = format!("crash-{task}-{n}");
                let body = format!(r#"{{"action":"opened","n":{n},"task":{task}}}"#);
                let sent = client
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .header("X-GitHub-Event", "issues")
                    .header("X-GitHub-Delivery", &id)
                    .header("X-Hub-Signature-256", github_signature(body.as_bytes()))
                    .body(body)
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == StatusCode::ACCEPTED => acked.lock().unwrap().push(id),
                    Ok(r) => panic!("unexpected {}", r.status()),
                    Err(_) => return, // the server died
                }
            }
        }));
    }
    // Mid-load: once enough are acknowledged, however slow the machine, with all 16 senders
    // still sending.
    eventually("the load runs", || acked.lock().unwrap().len() > 200).await;
    server.kill();
    for sender in senders {
        sender.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();

    let server = Server::start(&sandbox);
    eventually("the inbox drains", || {
        sandbox.store().pending_count().unwrap() == 0
    })
    .await;
    assert_eq!(server.terminate().code(), Some(0));
    let events = all_events(&sandbox);
    let mut per_key: HashMap<&str, usize> = HashMap::new();
    for e in events.iter().filter(|e| e.derived_from.is_none()) {
        *per_key.entry(e.dedupe_key.as_str()).or_default() += 1;
    }
    for id in &acked {
        assert_eq!(
            per_key.get(format!("github:{id}").as_str()),
            Some(&1),
            "delivery {id} got a 202"
        );
    }
    assert!(per_key.values().all(|&n| n == 1), "no event twice");
    let derived = events.iter().filter(|e| e.derived_from.is_some()).count();
    assert_eq!(
        derived,
        per_key.len(),
        "each base event derived its rule event once"
    );
}

#[test]
fn systemd_hears_ready_and_stopping() {
    let sandbox = Sandbox::with_config(&config(""));
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let server = Server::start_with_env(
        &sandbox,
        &[("NOTIFY_SOCKET", socket_path.to_str().unwrap())],
    );
    let mut buf = [0u8; 256];
    let n = socket.recv(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("READY=1"));
    assert_eq!(server.terminate().code(), Some(0));
    let n = socket.recv(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("STOPPING=1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_renews_the_webhook_secrets_and_keeps_serving_through_a_config_it_cannot_apply() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    std::fs::write(&old, "the-old-secret").unwrap();
    std::fs::write(&new, "the-new-secret").unwrap();
    let file = |path: &std::path::Path| format!("\"file:{}\"", path.display());
    let with_secret = |secret: &str| {
        format!(
            "[server]\nbind = \"127.0.0.1:0\"\n\n[integrations.gh]\nkind = \"github\"\nsecret = {secret}\n"
        )
    };
    let sandbox = Sandbox::with_config(&with_secret(&file(&old)));
    let socket_path = dir.path().join("notify");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let said = || {
        let mut buf = [0u8; 256];
        let n = socket.recv(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).to_string()
    };
    let server = Server::start_with_env(
        &sandbox,
        &[("NOTIFY_SOCKET", socket_path.to_str().unwrap())],
    );
    assert!(said().contains("READY=1"));
    let client = reqwest::Client::new();
    let send = |secret: &str, delivery: &str, integration: &str| {
        let body = format!(r#"{{"action":"opened","n":"{delivery}"}}"#);
        let signature = format!(
            "sha256={}",
            hex::encode(hmac_sha256(secret.as_bytes(), &[body.as_bytes()]))
        );
        github_request_with(
            &client,
            &server,
            integration,
            delivery,
            &body,
            &signature,
            "application/json",
        )
        .send()
    };
    let reload = || {
        signal(server.pid(), "HUP");
        let reloading = said();
        assert!(
            reloading.contains("RELOADING=1") && reloading.contains("MONOTONIC_USEC="),
            "{reloading}"
        );
        assert!(said().contains("READY=1"));
    };
    assert_eq!(
        send("the-new-secret", "d-1", "gh").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    // A rotation: the new secret beside the old, then SIGHUP. Both sign now; no restart.
    sandbox.write_config(&with_secret(&format!("[{}, {}]", file(&new), file(&old))));
    reload();
    assert_eq!(
        send("the-new-secret", "d-2", "gh").await.unwrap().status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        send("the-old-secret", "d-3", "gh").await.unwrap().status(),
        StatusCode::ACCEPTED
    );

    // Nor does one that would leave an integration unable to check signatures.
    let missing = dir.path().join("missing");
    sandbox.write_config(&with_secret(&file(&missing)));
    reload();
    eventually("the refusal in the log", || {
        server
            .log_text()
            .contains("integration gh could no longer check signatures")
    })
    .await;
    assert_eq!(
        send("the-new-secret", "d-7", "gh").await.unwrap().status(),
        StatusCode::ACCEPTED
    );

    // A config that does not load changes nothing, and says why.
    sandbox.write_config("[integrations.gh]\nkind = \"github\"\nsecret = 5\n");
    reload();
    eventually("the refusal in the log", || {
        server
            .log_text()
            .contains("reload refused; serving as before")
    })
    .await;
    assert_eq!(
        send("the-new-secret", "d-4", "gh").await.unwrap().status(),
        StatusCode::ACCEPTED
    );

    // Nor does one with another integration: only a restart starts its workers and polls.
    let more = format!(
        "{}\n[integrations.more]\nkind = \"github\"\nsecret = {}\n",
        with_secret(&file(&new)),
        file(&new)
    );
    sandbox.write_config(&more);
    reload();
    eventually("the restart it needs in the log", || {
        server
            .log_text()
            .contains("restart `trmctl serve` to apply that")
    })
    .await;
    assert_eq!(
        send("the-new-secret", "d-5", "more")
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send("the-old-secret", "d-6", "gh").await.unwrap().status(),
        StatusCode::ACCEPTED
    );
    for secret in ["the-old-secret", "the-new-secret"] {
        assert!(!server.log_text().contains(secret), "a secret in the log");
    }
    assert_eq!(server.terminate().code(), Some(0));
    assert_eq!(
        sandbox.events(Some("gh")).len(),
        5,
        "d-2, d-3, d-7, d-4 and d-6"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_processed_delivery_past_keep_deliveries_is_deleted_and_its_late_retry_makes_no_event() {
    let sandbox = Sandbox::with_config(&config(""));
    let client = reqwest::Client::new();
    let payload = r#"{"action":"closed"}"#;
    let server = Server::start(&sandbox);
    let first = github_request(&client, &server, "gh", "d-late", payload)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    assert_eq!(server.terminate().code(), Some(0));
    assert_eq!(sandbox.events(Some("gh")).len(), 1);

    // Make it 40 days old (its id tells its arrival), as if serve had run since.
    let old = chrono::Utc::now() - chrono::Duration::days(40);
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, old.timestamp() as u64, 0);
    let old_id = uuid::Uuid::new_v7(ts).to_string();
    let moved = sandbox
        .store()
        .transaction(|tx| {
            Ok(tx.execute(
                "UPDATE deliveries SET delivery_id = ?1 WHERE provider_delivery_id = 'd-late'",
                [&old_id],
            )?)
        })
        .unwrap();
    assert_eq!(moved, 1);

    let server = Server::start(&sandbox);
    eventually("the old delivery is deleted", || {
        sandbox.store().delivery(&old_id).unwrap().is_none()
    })
    .await;
    // The provider's late retry is a new delivery now, processed, and still no second event.
    let late = github_request(&client, &server, "gh", "d-late", payload)
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), StatusCode::ACCEPTED);
    let late: serde_json::Value = late.json().await.unwrap();
    let late_id = late["deliveryId"].as_str().unwrap().to_string();
    eventually("the deletion is logged", || {
        server
            .log_text()
            .contains("deleted processed deliveries older than store.keep_deliveries")
    })
    .await;
    assert_eq!(server.terminate().code(), Some(0));
    let (_, state) = sandbox.store().delivery(&late_id).unwrap().unwrap();
    assert_eq!(state, "done");
    assert_eq!(sandbox.events(Some("gh")).len(), 1, "no second event");
}
