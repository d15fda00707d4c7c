//! `trmctl serve` on the wire: Pub/Sub pushes authenticated by OIDC tokens checked against a
//! JWKS served by the test, HTTPS with a certificate made for the test, and the header and body
//! timeouts that keep a slow client from holding a connection.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::server::*;
use crate::util::{Sandbox, closed_port};

const AUDIENCE: &str = "https://hooks.example.com/hooks/oidc";
const SERVICE_ACCOUNT: &str = "push@proj.iam.gserviceaccount.com";

/// Fixed test-only RSA keys (the ones `src/webhooks/pubsub.rs` tests use; they protect nothing).
const KEY_1: &str = include_str!("../fixtures/pubsub-test-key-1.pem");
const KEY_2: &str = include_str!("../fixtures/pubsub-test-key-2.pem");

// ---- helpers --------------------------------------------------------------------------------

fn events(sandbox: &Sandbox, integration: &str) -> Vec<trmctl::event::Event> {
    sandbox.events(Some(integration))
}

/// Rows in the durable inbox, whatever their state.
fn deliveries(sandbox: &Sandbox) -> i64 {
    rusqlite::Connection::open(sandbox.db_path())
        .unwrap()
        .query_row("SELECT count(*) FROM deliveries", [], |row| row.get(0))
        .unwrap()
}

async fn answer(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `[server]` of the base config with `keys` added.
fn config_with_server_keys(keys: &str) -> String {
    let anchor = "shutdown_timeout = \"10s\"\n";
    let base = config("");
    assert!(
        base.contains(anchor),
        "the base config changed its [server]"
    );
    base.replace(anchor, &format!("{anchor}{keys}\n"))
}

// ---- Pub/Sub OIDC ---------------------------------------------------------------------------

fn jwk(pem: &str, kid: &str) -> Value {
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    serde_json::to_value(jwk).unwrap()
}

/// A JWKS endpoint publishing KEY_1 as `k1`, on a loopback port; counts its requests.
struct Jwks {
    url: String,
    hits: Arc<AtomicUsize>,
}

async fn serve_jwks() -> Jwks {
    let hits = Arc::new(AtomicUsize::new(0));
    let document = json!({ "keys": [jwk(KEY_1, "k1")] });
    let counter = hits.clone();
    let app = Router::new().route(
        "/certs",
        get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let document = document.clone();
            async move {
                (
                    [("cache-control", "public, max-age=3600")],
                    axum::Json(document),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/certs", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Jwks { url, hits }
}

/// The claims of a token Google would mint for the push subscription.
fn claims() -> Value {
    let now = now();
    json!({
        "iss": "https://accounts.google.com",
        "aud": AUDIENCE,
        "azp": "108020202020202020202",
        "email": SERVICE_ACCOUNT,
        "email_verified": true,
        "sub": "108020202020202020202",
        "iat": now - 10,
        "exp": now + 3590,
    })
}

fn claims_with(field: &str, value: Value) -> Value {
    let mut claims = claims();
    claims[field] = value;
    claims
}

fn sign(pem: &str, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

/// A push envelope as Pub/Sub sends it.
fn push_body(message_id: &str) -> String {
    let data = STANDARD.encode(br#"{"emailAddress":"founder@example.com","historyId":4242}"#);
    json!({
        "message": {
            "data": data,
            "messageId": message_id,
            "message_id": message_id,
            "publishTime": "2026-01-02T03:04:05.678Z",
            "publish_time": "2026-01-02T03:04:05.678Z",
            "attributes": { "origin": "transport-test" },
        },
        "subscription": "projects/proj/subscriptions/trmctl-push",
    })
    .to_string()
}

fn push(
    client: &reqwest::Client,
    server: &Server,
    integration: &str,
    message_id: &str,
    token: Option<&str>,
) -> reqwest::RequestBuilder {
    let request = client
        .post(server.url(&format!("/hooks/{integration}")))
        .header("Content-Type", "application/json")
        .body(push_body(message_id));
    match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pubsub_push_is_authenticated_by_its_oidc_token_against_the_jwks() {
    let jwks = serve_jwks().await;
    let sandbox = Sandbox::with_config(&config(&format!(
        r#"
[integrations.oidc]
kind = "google-pubsub"
audience = "{AUDIENCE}"
service_account = "{SERVICE_ACCOUNT}"
jwks_url = "{url}"

[integrations.oidc-down]
kind = "google-pubsub"
audience = "{AUDIENCE}"
service_account = "{SERVICE_ACCOUNT}"
jwks_url = "http://127.0.0.1:{port}/certs"
"#,
        url = jwks.url,
        port = closed_port(),
    )));
    let server = Server::start(&sandbox);
    let client = reqwest::Client::new();
    let valid = sign(KEY_1, "k1", &claims());

    // A valid token: stored (202), and the same messageId again is a duplicate (200).
    let (status, first) = answer(
        push(&client, &server, "oidc", "msg-1", Some(&valid))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    let id = first["deliveryId"].as_str().unwrap().to_string();
    let (status, again) = answer(
        push(&client, &server, "oidc", "msg-1", Some(&valid))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the same messageId is a duplicate");
    assert_eq!(again["deliveryId"], id.as_str());
    eventually("the push becomes an event", || {
        !events(&sandbox, "oidc").is_empty()
    })
    .await;

    // Refusals: each a 401 that says why.
    let refused = [
        (
            "wrong audience",
            Some(sign(
                KEY_1,
                "k1",
                &claims_with("aud", json!("https://elsewhere.example.com/push")),
            )),
            "audience",
        ),
        (
            "expired",
            Some(sign(KEY_1, "k1", &claims_with("exp", json!(now() - 3600)))),
            "expired",
        ),
        (
            "signed by another key under the published kid",
            Some(sign(KEY_2, "k1", &claims())),
            "signature",
        ),
        (
            "signed by a key the JWKS does not publish",
            Some(sign(KEY_2, "k2", &claims())),
            "key",
        ),
        (
            "another service account",
            Some(sign(
                KEY_1,
                "k1",
                &claims_with("email", json!("intruder@evil.iam.gserviceaccount.com")),
            )),
            "service account",
        ),
        ("no Authorization header", None, "bearer"),
    ];
    for (n, (case, token, reason)) in refused.iter().enumerate() {
        let (status, why) = answer(
            push(
                &client,
                &server,
                "oidc",
                &format!("msg-bad-{n}"),
                token.as_deref(),
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}: {why}");
        let why = why["error"].as_str().unwrap_or_default();
        assert!(why.contains(reason), "{case}: {why:?} lacks {reason:?}");
    }

    // Keys that cannot be fetched: 503, so Pub/Sub retries later.
    let (status, why) = answer(
        push(&client, &server, "oidc-down", "msg-down", Some(&valid))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{why}");
    assert!(why["error"].is_string());

    // Exactly one event, for the one accepted push; the refused ones stored nothing.
    let stored = events(&sandbox, "oidc");
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].event_type.as_str(), "externalEventReceived");
    assert_eq!(stored[0].external_id.as_deref(), Some("msg-1"));
    assert!(events(&sandbox, "oidc-down").is_empty());
    assert_eq!(deliveries(&sandbox), 1);
    assert!(
        jwks.hits.load(Ordering::SeqCst) >= 1,
        "the keys came from the configured jwks_url"
    );
    // A reload (SIGHUP) keeps the keys fetched from an unchanged jwks_url.
    let fetched = jwks.hits.load(Ordering::SeqCst);
    signal(server.pid(), "HUP");
    eventually("the reload", || server.log_text().contains("reloaded:")).await;
    let (status, why) = answer(
        push(&client, &server, "oidc", "msg-after-reload", Some(&valid))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{why}");
    assert_eq!(jwks.hits.load(Ordering::SeqCst), fetched, "no second fetch");

    let log = server.log_text();
    assert!(!log.contains(&valid), "log leaks a token");
    assert_eq!(server.terminate().code(), Some(0));
}

// ---- TLS ------------------------------------------------------------------------------------

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// A self-signed certificate for `localhost` and 127.0.0.1, written as PEM into `dir`; returns
/// the certificate's PEM and the paths of the certificate and key.
fn self_signed(dir: &Path) -> (String, std::path::PathBuf, std::path::PathBuf) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    let cert = pem("CERTIFICATE", certified.cert.der());
    let key = pem("PRIVATE KEY", &certified.signing_key.serialize_der());
    let (cert_path, key_path) = (dir.join("tls-cert.pem"), dir.join("tls-key.pem"));
    std::fs::write(&cert_path, &cert).unwrap();
    std::fs::write(&key_path, key).unwrap();
    (cert, cert_path, key_path)
}

#[test]
fn a_certificate_that_cannot_be_loaded_stops_serve_before_anything_runs() {
    let sandbox = Sandbox::new();
    let missing = sandbox.dir.path().join("no-such-cert.pem");
    sandbox.write_config(&format!(
        "{}\n[[sinks]]\nname = \"core\"\nkind = \"http\"\nurl = \"http://127.0.0.1:{}/e\"\n\
         secret = \"env:T_SINK\"\n",
        config_with_server_keys(&format!(
            "tls_cert = \"{0}\"\ntls_key = \"{0}\"",
            missing.display()
        )),
        closed_port()
    ));
    let out = sandbox.cmd().args(["-v", "serve"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("loading TLS certificate"), "{stderr}");
    assert!(!stderr.contains("sinks running"), "nothing began: {stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_serves_health_and_webhooks_over_https() {
    let sandbox = Sandbox::new();
    let (cert, cert_path, key_path) = self_signed(sandbox.dir.path());
    sandbox.write_config(&config_with_server_keys(&format!(
        "tls_cert = \"{}\"\ntls_key = \"{}\"",
        cert_path.display(),
        key_path.display()
    )));
    let server = Server::start(&sandbox);
    assert_eq!(server.scheme, "https");
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert.as_bytes()).unwrap())
        .resolve("localhost", server.addr)
        .build()
        .unwrap();

    // By IP and by name: the certificate covers both.
    let health = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.version(), reqwest::Version::HTTP_11);
    let by_name = format!("https://localhost:{}/healthz", server.addr.port());
    assert_eq!(
        client.get(by_name).send().await.unwrap().status(),
        StatusCode::OK
    );

    // A signed GitHub delivery over HTTPS is stored and processed.
    let payload = r#"{"action":"opened","repository":{"full_name":"acme/app"}}"#;
    let (status, accepted) = answer(
        github_request(&client, &server, "gh", "tls-delivery-1", payload)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert!(accepted["deliveryId"].is_string());
    eventually("the delivery becomes events", || {
        events(&sandbox, "gh").len() == 2
    })
    .await;

    // It is really TLS with that certificate: a client that does not trust it fails, and so
    // does plain HTTP on the same port.
    let untrusting = reqwest::Client::new();
    assert!(untrusting.get(server.url("/healthz")).send().await.is_err());
    let plain = format!("http://{}/healthz", server.addr);
    let plain = tokio::time::timeout(Duration::from_secs(10), untrusting.get(plain).send())
        .await
        .expect("plain HTTP to the TLS port is answered or closed, not left hanging");
    assert!(
        plain.is_err() || !plain.unwrap().status().is_success(),
        "plain HTTP must not be served on the TLS port"
    );
    assert_eq!(server.terminate().code(), Some(0));
}

// ---- slow clients ---------------------------------------------------------------------------

/// What became of a raw connection the test stopped writing to.
#[derive(Debug)]
struct Ended {
    /// Whatever the server sent before it closed (a `408`, say), possibly nothing.
    received: Vec<u8>,
    /// From the connection's start until the server closed it.
    after: Duration,
}

/// Reads until the server closes the connection (EOF or reset); `None` after `limit`.
async fn until_closed(stream: &mut TcpStream, started: Instant, limit: Duration) -> Option<Ended> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let read_all = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(limit, read_all).await.ok()?;
    Some(Ended {
        received,
        after: started.elapsed(),
    })
}

/// Only a part of the request headers, then nothing.
async fn stalled(addr: SocketAddr) -> (TcpStream, Instant) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /hooks/gh HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: applic")
        .await
        .unwrap();
    (stream, started)
}

/// The answer's status line, if the server sent one before closing.
fn status_line(received: &[u8]) -> String {
    String::from_utf8_lossy(received)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_headers_are_cut_off_by_header_timeout() {
    // Long enough for the normal requests below to send their headers on a loaded machine.
    let sandbox = Sandbox::with_config(&config_with_server_keys("header_timeout = \"2s\""));
    let server = Server::start(&sandbox);

    // One client stalls mid-headers; another drips a header byte every 100 ms (slowloris),
    // which never lets a per-read timer expire.
    let (mut stall, stall_started) = stalled(server.addr).await;
    let drip_started = Instant::now();
    let drip = TcpStream::connect(server.addr).await.unwrap();
    let (mut drip_read, mut drip_write) = drip.into_split();
    let dripping = tokio::spawn(async move {
        let head = b"POST /hooks/gh HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ";
        drip_write.write_all(head).await?;
        for _ in 0..200 {
            drip_write.write_all(b"a").await?;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok::<_, std::io::Error>(())
    });

    // Meanwhile, a normal request on a new connection is served.
    let client = reqwest::Client::new();
    let (status, accepted) = answer(
        github_request(&client, &server, "gh", "while-stalled", r#"{"action":"x"}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");

    let limit = Duration::from_secs(10);
    let ended = until_closed(&mut stall, stall_started, limit)
        .await
        .expect("a client stalled in its headers is disconnected within 10 s");
    assert!(
        ended.after >= Duration::from_millis(1500),
        "closed by the header timeout, not at once: {ended:?}"
    );
    let line = status_line(&ended.received);
    assert!(
        ended.received.is_empty() || line.contains(" 408"),
        "nothing or a 408 before closing, got {line:?}"
    );

    let mut buf = [0u8; 4096];
    let drip_ended = tokio::time::timeout(limit, async {
        loop {
            match drip_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        drip_ended.is_ok(),
        "a client dripping its headers is disconnected within 10 s"
    );
    let elapsed = drip_started.elapsed();
    assert!(elapsed >= Duration::from_millis(1500), "{elapsed:?}");
    dripping.abort();

    // And the server still serves new connections afterwards.
    let (status, _) = answer(
        github_request(&client, &server, "gh", "after-stalled", r#"{"action":"y"}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(server.terminate().code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_body_is_cut_off_by_request_timeout_and_stores_nothing() {
    // Long enough for the complete request below to be stored on a loaded machine.
    let sandbox = Sandbox::with_config(&config_with_server_keys("request_timeout = \"3s\""));
    let server = Server::start(&sandbox);

    // Full headers announcing 100 bytes, correctly signed for those 100 bytes; only 10 sent.
    let body = format!(r#"{{"action":"opened","pad":"{}"}}"#, "x".repeat(72));
    assert_eq!(body.len(), 100);
    let head = format!(
        "POST /hooks/gh HTTP/1.1\r\n\
         Host: {addr}\r\n\
         Content-Type: application/json\r\n\
         Content-Length: 100\r\n\
         X-GitHub-Event: issues\r\n\
         X-GitHub-Delivery: slow-body\r\n\
         X-Hub-Signature-256: {signature}\r\n\
         \r\n",
        addr = server.addr,
        signature = github_signature(body.as_bytes()),
    );
    let started = Instant::now();
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..10]).await.unwrap();

    let ended = until_closed(&mut stream, started, Duration::from_secs(10))
        .await
        .expect("a request whose body stalls is ended within 10 s");
    let line = status_line(&ended.received);
    assert!(
        line.contains(" 408") || ended.received.is_empty(),
        "408 or a closed connection, got {:?}",
        String::from_utf8_lossy(&ended.received)
    );
    assert!(
        ended.after >= Duration::from_millis(2500),
        "ended by the request timeout, not at once: {ended:?}"
    );

    // Nothing was stored: no delivery, no event, and the same delivery sent whole is new (202).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(deliveries(&sandbox), 0);
    assert!(events(&sandbox, "gh").is_empty());
    let client = reqwest::Client::new();
    let (status, accepted) = answer(
        github_request(&client, &server, "gh", "slow-body", &body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "the complete retry is not a duplicate: {accepted}"
    );
    assert_eq!(server.terminate().code(), Some(0));
}

// ---- known server bugs ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn silent_connection_is_cut_off_by_header_timeout() {
    let sandbox = Sandbox::with_config(&config_with_server_keys("header_timeout = \"500ms\""));
    let server = Server::start(&sandbox);
    let started = Instant::now();
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let ended = until_closed(&mut silent, started, Duration::from_secs(10)).await;
    assert!(
        ended.is_some(),
        "a client that connects and sends nothing is disconnected within 10 s"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn request_timeout_answer_says_why_in_json() {
    let sandbox = Sandbox::with_config(&config_with_server_keys("request_timeout = \"1s\""));
    let server = Server::start(&sandbox);
    let started = Instant::now();
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(
            b"POST /hooks/gh HTTP/1.1\r\nHost: 127.0.0.1\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":",
        )
        .await
        .unwrap();
    let ended = until_closed(&mut stream, started, Duration::from_secs(10))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&ended.received).to_string();
    assert!(status_line(&ended.received).contains(" 408"), "{text}");
    let (_, body) = text.split_once("\r\n\r\n").unwrap_or_default();
    let why: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    assert!(why["error"].is_string(), "no JSON reason: {text:?}");
}
