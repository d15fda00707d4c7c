//! `trmctl poll` against a local JSON API (`http-poll`): conditional requests, the cursor
//! parameter with overlap, retries, malformed pages, locks, `--due`, exit codes and registry
//! upkeep.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::server::eventually;
use crate::util::Sandbox;

#[derive(Clone, Copy, Debug)]
pub enum Fault {
    Status(u16),
    RetryAfter(u64),
    Malformed,
    Slow(u64),
    /// Answers only once the test calls `release.notify_one()`.
    Held,
    /// A page past trmctl's 32 MiB limit.
    Huge,
    /// A 401 whose body repeats the credential it refused.
    EchoCredential,
}

#[derive(Default)]
pub struct Api {
    pub items: Vec<Value>,
    pub requests: usize,
    pub faults: VecDeque<Fault>,
    /// The cursor parameter of the last listing's first page.
    pub last_since: Option<String>,
    pub bearer: Option<String>,
    /// Lets a `Fault::Held` request answer.
    pub release: Arc<tokio::sync::Notify>,
    /// Items per page; the pages after the first are linked to, by a `Link` header.
    pub per_page: Option<usize>,
    /// Links the next page from the body's `/next` instead.
    pub next_in_body: bool,
    /// What the next page's link starts with (default: nothing, a link relative to the page).
    pub next_origin: String,
}

#[derive(Clone)]
pub struct Crm {
    pub addr: SocketAddr,
    pub api: Arc<Mutex<Api>>,
}

impl Crm {
    pub async fn start() -> Crm {
        let api = Arc::new(Mutex::new(Api::default()));
        let app = axum::Router::new()
            .route("/contacts", get(contacts))
            .with_state(api.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Crm { addr, api }
    }

    pub fn api(&self) -> std::sync::MutexGuard<'_, Api> {
        self.api.lock().unwrap()
    }

    pub fn add(&self, id: u64, name: &str, updated: &str) {
        let mut api = self.api();
        api.items.retain(|i| i["id"] != id);
        api.items
            .push(json!({"id": id, "name": name, "updatedAt": updated}));
    }

    pub fn integration(&self, name: &str) -> String {
        format!(
            "[integrations.{name}]\nkind = \"http-poll\"\nurl = \"http://{}/contacts\"\n\
             auth = {{ type = \"bearer\", token = \"env:T_CRM_TOKEN\" }}\nitems = \"/data\"\nid = \"/id\"\n\
             updated_at = \"/updatedAt\"\ncursor_param = \"modified_since\"\noverlap = \"1m\"\ninterval = \"1s\"\n",
            self.addr
        )
    }
}

async fn contacts(
    State(api): State<Arc<Mutex<Api>>>,
    headers: HeaderMap,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let (fault, release) = {
        let mut api = api.lock().unwrap();
        api.requests += 1;
        if !q.contains_key("page") {
            api.last_since = q.get("modified_since").cloned();
        }
        api.bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        (api.faults.pop_front(), api.release.clone())
    };
    match fault {
        Some(Fault::Status(code)) => return StatusCode::from_u16(code).unwrap().into_response(),
        Some(Fault::RetryAfter(secs)) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, secs.to_string())],
            )
                .into_response();
        }
        Some(Fault::Malformed) => {
            return (
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"data": [{"id": 1, "#,
            )
                .into_response();
        }
        Some(Fault::Slow(ms)) => tokio::time::sleep(Duration::from_millis(ms)).await,
        Some(Fault::Held) => release.notified().await,
        Some(Fault::Huge) => {
            let page = format!(r#"{{"data": [], "pad": "{}"}}"#, "x".repeat(33 << 20));
            return ([(header::CONTENT_TYPE, "application/json")], page).into_response();
        }
        Some(Fault::EchoCredential) => {
            let sent = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let body = json!({"error": "invalid credentials", "received": sent});
            return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
        }
        None => {}
    }
    let api = api.lock().unwrap();
    let since = q.get("modified_since").cloned().unwrap_or_default();
    let items: Vec<&Value> = api
        .items
        .iter()
        .filter(|i| i["updatedAt"].as_str().unwrap_or("") >= since.as_str())
        .collect();
    let page: usize = q.get("page").map_or(1, |p| p.parse().unwrap());
    let per_page = api.per_page.unwrap_or(usize::MAX);
    let shown: Vec<&Value> = items
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .copied()
        .collect();
    let more = items.len() > page.saturating_mul(per_page);
    let next = more.then(|| {
        format!(
            "{}/contacts?page={}&modified_since={since}",
            api.next_origin,
            page + 1
        )
    });
    let mut body = json!({ "data": shown });
    // The ETag of what this page shows, as a server computes it: a page that did not change
    // is a 304, whatever changed on the others.
    let etag = format!("\"{:016x}\"", {
        let mut hasher = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(&body.to_string(), &mut hasher);
        std::hash::Hasher::finish(&hasher)
    });
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut headers = HeaderMap::new();
    headers.insert(header::ETAG, etag.parse().unwrap());
    match next {
        Some(next) if api.next_in_body => body["next"] = json!(next),
        Some(next) => {
            let link = format!("<{next}>; rel=\"next\", </contacts?page=1>; rel=\"first\"");
            headers.insert(header::LINK, link.parse().unwrap());
        }
        None => {}
    }
    (headers, axum::Json(body)).into_response()
}

const POLL: &str = "[poll]\nretry_base = \"10ms\"\nretry_max = \"50ms\"\ntimeout = \"10s\"\nmax_retries = 3\nerror_threshold = 2\n";

fn poll(sandbox: &Sandbox, args: &[&str]) -> Output {
    sandbox
        .cmd()
        .arg("poll")
        .args(args)
        .env("T_CRM_TOKEN", "crm-token-value")
        .output()
        .unwrap()
}

fn reports(out: &Output) -> Vec<Value> {
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn event_keys(sandbox: &Sandbox) -> Vec<String> {
    let out = sandbox
        .cmd()
        .args(["events", "list", "--json", "--limit", "1000"])
        .output()
        .unwrap();
    let mut keys: Vec<String> = serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["eventType"] == "externalEventReceived")
        .map(|e| e["dedupeKey"].as_str().unwrap().to_string())
        .collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_become_events_once_and_an_idle_poll_is_one_request() {
    let crm = Crm::start().await;
    crm.add(1, "Acme", "2026-11-24T10:00:00Z");
    crm.add(2, "Globex", "2026-11-24T10:05:00Z");
    let sandbox = Sandbox::with_config(&format!("{POLL}{}", crm.integration("crm")));
    let out = poll(&sandbox, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "silent on success"
    );
    assert_eq!(crm.api().bearer.as_deref(), Some("Bearer crm-token-value"));
    assert_eq!(event_keys(&sandbox).len(), 2);

    // Nothing changed: one conditional request, a 304, no event.
    let before = crm.api().requests;
    let out = poll(&sandbox, &["--json"]);
    let report = &reports(&out)[0];
    assert_eq!(report["status"], "ok");
    assert_eq!(report["requests"], 1);
    assert_eq!(report["eventsCreated"], 0);
    for key in [
        "name",
        "status",
        "itemsFetched",
        "eventsCreated",
        "requests",
        "durationMs",
        "error",
    ] {
        assert!(report.get(key).is_some(), "missing {key}");
    }
    assert_eq!(crm.api().requests, before + 1);

    // One item changes: the request asks from the last change minus the overlap, and the
    // overlap's repeats make no second event.
    crm.add(2, "Globex Corp", "2026-11-24T10:06:00Z");
    let out = poll(&sandbox, &["-v"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("crm: ok"),
        "-v prints a line"
    );
    assert_eq!(
        crm.api().last_since.as_deref(),
        Some("2026-11-24T10:04:00Z")
    );
    assert_eq!(
        event_keys(&sandbox),
        [
            "1:2026-11-24T10:00:00Z",
            "2:2026-11-24T10:05:00Z",
            "2:2026-11-24T10:06:00Z"
        ]
    );

    // --full ignores the cursor but makes no duplicates.
    poll(&sandbox, &["--full"]);
    assert_eq!(event_keys(&sandbox).len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_time_in_the_future_never_holds_the_cursor_past_now() {
    let crm = Crm::start().await;
    // A bogus clock upstream: an item changed "in 2099".
    crm.add(1, "Acme", "2099-01-01T00:00:00Z");
    crm.add(2, "Globex", "2026-11-24T10:00:00Z");
    let sandbox = Sandbox::with_config(&format!("{POLL}{}", crm.integration("crm")));
    assert!(poll(&sandbox, &[]).status.success());
    assert_eq!(event_keys(&sandbox).len(), 2);

    // What changes now is still asked for: the cursor stopped at the API's own clock.
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    crm.add(3, "Initech", &now);
    let out = poll(&sandbox, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let since = crm.api().last_since.clone().unwrap();
    assert!(
        since.as_str() <= now.as_str(),
        "asked from {since}, after {now}"
    );
    assert_eq!(
        event_keys(&sandbox),
        [
            "1:2099-01-01T00:00:00Z".to_string(),
            "2:2026-11-24T10:00:00Z".to_string(),
            format!("3:{now}"),
        ],
        "the new change made its event, the future one no second"
    );
}

/// Five contacts changed a minute apart, from 10:01 to 10:05.
fn five_contacts(crm: &Crm) {
    for n in 1..=5 {
        crm.add(
            n,
            &format!("Contact {n}"),
            &format!("2026-11-24T10:0{n}:00Z"),
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_is_read_and_the_cursor_moves_with_the_last() {
    let crm = Crm::start().await;
    five_contacts(&crm);
    crm.api().per_page = Some(2);
    let sandbox = Sandbox::with_config(&format!("{POLL}{}", crm.integration("crm")));
    let report = &reports(&poll(&sandbox, &["--json"]))[0];
    assert_eq!(report["status"], "ok", "{report}");
    assert_eq!(report["requests"], 3, "three pages of two");
    assert_eq!(report["itemsFetched"], 5);
    assert_eq!(event_keys(&sandbox).len(), 5);

    // The cursor is the latest change of all the pages, not of the first.
    crm.add(6, "Contact 6", "2026-11-24T10:06:00Z");
    let report = &reports(&poll(&sandbox, &["--json"]))[0];
    assert_eq!(
        crm.api().last_since.as_deref(),
        Some("2026-11-24T10:04:00Z")
    );
    assert_eq!(report["eventsCreated"], 1, "{report}");
    assert_eq!(event_keys(&sandbox).len(), 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unchanged_first_page_does_not_hide_a_change_on_a_later_one() {
    let crm = Crm::start().await;
    five_contacts(&crm);
    crm.api().per_page = Some(2);
    // No cursor parameter: every poll lists everything, and its first page stays the same.
    let integration = crm
        .integration("crm")
        .replace("cursor_param = \"modified_since\"\n", "");
    let sandbox = Sandbox::with_config(&format!("{POLL}{integration}"));
    assert!(poll(&sandbox, &[]).status.success());
    crm.add(5, "Contact 5, renamed", "2026-11-24T10:07:00Z");
    let report = &reports(&poll(&sandbox, &["--json"]))[0];
    assert_eq!(report["eventsCreated"], 1, "{report}");
    assert_eq!(event_keys(&sandbox).len(), 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poll_cut_short_between_pages_keeps_its_pages_and_not_the_cursor() {
    let crm = Crm::start().await;
    five_contacts(&crm);
    crm.add(1, "Contact 1", "2026-11-24T10:09:00Z"); // the latest change is on the last page
    {
        let mut api = crm.api();
        api.per_page = Some(2);
        // The first page answers; the second fails past every retry (max_retries = 3).
        api.faults = [Fault::Slow(0)]
            .into_iter()
            .chain([Fault::Status(500); 4])
            .collect();
    }
    let sandbox = Sandbox::with_config(&format!("{POLL}{}", crm.integration("crm")));
    let out = poll(&sandbox, &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(event_keys(&sandbox).len(), 2, "the first page is stored");

    // The next poll starts where the cut one began: every page again, no second event.
    let report = &reports(&poll(&sandbox, &["--json"]))[0];
    assert_eq!(report["status"], "ok", "{report}");
    assert_eq!(crm.api().last_since, None, "asked from the start");
    assert_eq!(report["eventsCreated"], 3);
    assert_eq!(event_keys(&sandbox).len(), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_next_page_link_in_the_body_is_followed_on_the_same_site_only() {
    let crm = Crm::start().await;
    five_contacts(&crm);
    {
        let mut api = crm.api();
        api.per_page = Some(3);
        api.next_in_body = true;
    }
    let config = format!("{POLL}{}next_page = \"/next\"\n", crm.integration("crm"));
    let sandbox = Sandbox::with_config(&config);
    let report = &reports(&poll(&sandbox, &["--json"]))[0];
    assert_eq!(report["requests"], 2, "{report}");
    assert_eq!(event_keys(&sandbox).len(), 5);

    // The same server under another name is another site: the token is not sent there.
    crm.add(6, "Contact 6", "2026-11-24T10:06:00Z");
    crm.api().next_origin = format!("http://localhost:{}", crm.addr.port());
    crm.api().per_page = Some(1);
    let requests = crm.api().requests;
    let out = poll(&sandbox, &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    let error = reports(&out)[0]["error"].as_str().unwrap().to_string();
    assert!(error.contains("another site (http://localhost:"), "{error}");
    assert_eq!(crm.api().requests, requests + 1, "no request went there");
}

#[tokio::test(flavor = "multi_thread")]
async fn transient_failures_are_retried_and_a_malformed_page_moves_nothing() {
    let crm = Crm::start().await;
    crm.add(1, "Acme", "2026-11-24T10:00:00Z");
    let sandbox = Sandbox::with_config(&format!("{POLL}{}", crm.integration("crm")));
    crm.api()
        .faults
        .extend([Fault::Status(500), Fault::Status(503)]);
    let out = poll(&sandbox, &["--json"]);
    assert!(out.status.success());
    assert_eq!(reports(&out)[0]["requests"], 3);

    crm.add(2, "Globex", "2026-11-24T10:05:00Z");
    // A wait within retry_max is sat out; a longer one ends the run, no retry sooner.
    sandbox.write_config(
        &format!("{POLL}{}", crm.integration("crm"))
            .replace("retry_max = \"50ms\"", "retry_max = \"3s\""),
    );
    crm.api().faults.push_back(Fault::RetryAfter(1));
    let started = std::time::Instant::now();
    assert!(poll(&sandbox, &[]).status.success());
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After is honoured"
    );
    assert_eq!(event_keys(&sandbox).len(), 2);
    crm.add(3, "Hooli", "2026-11-24T10:06:00Z");
    crm.api().faults.push_back(Fault::RetryAfter(120));
    let requests = crm.api().requests;
    let out = poll(&sandbox, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("asks to wait 2m, longer than [poll] retry_max (3s)"),
        "{stderr}"
    );
    assert_eq!(
        crm.api().requests,
        requests + 1,
        "not retried sooner than asked"
    );
    assert!(poll(&sandbox, &[]).status.success());
    assert_eq!(event_keys(&sandbox).len(), 3);
    sandbox.write_config(&format!("{POLL}{}", crm.integration("crm")));

    // A malformed page: exit 1, the error said on stderr, nothing stored, cursor kept.
    crm.add(4, "Initech", "2026-11-24T10:07:00Z");
    crm.api().faults.push_back(Fault::Malformed);
    let out = poll(&sandbox, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("malformed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(event_keys(&sandbox).len(), 3);
    // A timeout, retried until the attempts run out, is a failure too (each answer would come
    // long after the 1 s timeout, however slow the machine).
    sandbox.write_config(
        &format!("{POLL}{}", crm.integration("crm"))
            .replace("timeout = \"10s\"", "timeout = \"1s\""),
    );
    crm.api().faults.extend([Fault::Slow(60_000); 4]);
    assert_eq!(poll(&sandbox, &[]).status.code(), Some(1));
    sandbox.write_config(&format!("{POLL}{}", crm.integration("crm")));
    // The next good poll brings everything, once.
    assert!(poll(&sandbox, &[]).status.success());
    assert_eq!(event_keys(&sandbox).len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_page_and_an_echoed_credential_stay_out() {
    let crm = Crm::start().await;
    crm.add(1, "Acme", "2026-11-24T10:00:00Z");
    let sandbox = Sandbox::with_config(
        &format!("{POLL}{}", crm.integration("crm"))
            .replace("timeout = \"10s\"", "timeout = \"20s\""),
    );
    crm.api().faults.push_back(Fault::Huge);
    let out = poll(&sandbox, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("more than the 32 MiB"), "{stderr}");
    assert!(event_keys(&sandbox).is_empty());

    crm.api().faults.push_back(Fault::EchoCredential);
    let out = poll(&sandbox, &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        shown.contains("invalid credentials") && shown.contains("[redacted]"),
        "{shown}"
    );
    let registry = sandbox
        .json(&["integrations", "list", "--json"])
        .to_string();
    for text in [&shown, &registry] {
        assert!(!text.contains("crm-token-value"), "{text}");
    }
    // Then a good poll stores the item, once.
    assert!(poll(&sandbox, &[]).status.success());
    assert_eq!(event_keys(&sandbox).len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poll_whose_outcome_cannot_be_recorded_fails() {
    let crm = Crm::start().await;
    crm.add(1, "Acme", "2026-11-24T10:00:00Z");
    let sandbox = Sandbox::with_config(&format!("{POLL}{}", crm.integration("crm")));
    assert!(poll(&sandbox, &[]).status.success());
    crm.add(2, "Globex", "2026-11-24T10:05:00Z");
    // As if the disk filled up between storing the page and recording the run.
    sandbox
        .store()
        .transaction(|tx| {
            tx.execute_batch(
                "CREATE TRIGGER full BEFORE UPDATE OF last_sync_time ON integrations
                 BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
            )?;
            Ok(())
        })
        .unwrap();
    let out = poll(&sandbox, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("recording the poll's outcome"), "{stderr}");
    assert_eq!(
        event_keys(&sandbox).len(),
        2,
        "what was stored stays stored"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_failures_turn_the_status_to_error_then_back() {
    let crm = Crm::start().await;
    let sandbox = Sandbox::with_config(&format!("{POLL}{}", crm.integration("crm")));
    for _ in 0..2 {
        crm.api().faults.extend([Fault::Status(404)]);
        assert_eq!(poll(&sandbox, &[]).status.code(), Some(1));
    }
    let entry = sandbox.json(&["integrations", "show", "crm", "--json"]);
    assert_eq!(entry["status"], "error");
    assert_eq!(entry["errorCount"], 2);
    assert!(entry["lastError"].as_str().unwrap().contains("404"));
    let failed = sandbox
        .cmd()
        .args(["events", "list", "--type", "integrationFailed", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&failed.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let status = sandbox.cmd().args(["status", "--json"]).output().unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&status.stdout).unwrap()["integrations"][0]["name"],
        "crm"
    );

    assert!(poll(&sandbox, &[]).status.success());
    let entry = sandbox.json(&["integrations", "show", "crm", "--json"]);
    assert_eq!(entry["status"], "active");
    assert_eq!(entry["errorCount"], 0);
    assert!(entry["lastSuccessTime"].is_string() && entry["nextSyncTime"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn partial_failure_exits_3_and_due_skips_what_is_not_due() {
    let good = Crm::start().await;
    let bad = Crm::start().await;
    // An interval no slow machine outlasts between two runs; its passing is written below.
    let config = format!(
        "{POLL}{}{}",
        good.integration("good"),
        bad.integration("bad")
    )
    .replace("interval = \"1s\"", "interval = \"1h\"");
    let sandbox = Sandbox::with_config(&config);
    bad.api().faults.extend([Fault::Status(400)]);
    assert_eq!(poll(&sandbox, &[]).status.code(), Some(3));
    // Both ran: with --due, neither is due yet (the failed one backs off 30 s)...
    let out = poll(&sandbox, &["--due", "--json"]);
    assert!(
        reports(&out).is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = poll(&sandbox, &["--due", "-v"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing is due"));
    // ...until the next sync time passes.
    let past = trmctl::event::format_time(&(chrono::Utc::now() - chrono::Duration::seconds(1)));
    rusqlite::Connection::open(sandbox.db_path())
        .unwrap()
        .execute("UPDATE integrations SET next_sync_time = ?1", [past])
        .unwrap();
    let out = poll(&sandbox, &["--due", "--json"]);
    let names: Vec<Value> = reports(&out).iter().map(|r| r["name"].clone()).collect();
    assert!(names.contains(&json!("good")), "{names:?}");
    // A webhook integration cannot be polled; an unknown one is a usage error.
    assert_eq!(poll(&sandbox, &["nope"]).status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_runs_never_poll_one_integration_at_once() {
    let crm = Crm::start().await;
    crm.add(1, "Acme", "2026-11-24T10:00:00Z");
    let sandbox = Sandbox::with_config(
        &format!("{POLL}{}", crm.integration("crm"))
            .replace("timeout = \"10s\"", "timeout = \"60s\""),
    );
    // The first run's request is answered only after the second run is over, however long
    // either takes to start.
    crm.api().faults.push_back(Fault::Held);
    let first = sandbox
        .std_cmd()
        .args(["poll", "crm"])
        .env("T_CRM_TOKEN", "crm-token-value")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    eventually("the first run is inside its request", || {
        crm.api().requests > 0
    })
    .await;
    let second = poll(&sandbox, &["crm", "--json"]);
    crm.api().release.notify_one();
    assert_eq!(second.status.code(), Some(5), "named and locked");
    assert_eq!(reports(&second)[0]["status"], "locked");
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("crm: locked"),
        "a named integration says why it was not polled"
    );
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success());
    assert_eq!(crm.api().requests, 1, "only the first run asked");
    assert_eq!(event_keys(&sandbox).len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_refresh_token_exits_4_and_stops_the_polls_until_reauthorized() {
    // The authorization server knows no refresh token: it answers invalid_grant.
    let auth = crate::oauth::AuthServer::start().await;
    let sandbox = Sandbox::new();
    let refresh = sandbox.dir.path().join("refresh");
    std::fs::write(&refresh, "1//revoked-long-ago").unwrap();
    let account = auth.account_config("acc");
    sandbox.write_config(&format!(
        "{POLL}{account}refresh_token = \"file:{}\"\n\
         [integrations.mail]\nkind = \"gmail\"\naccount = \"acc\"\nbase_url = \"http://127.0.0.1:9\"\n",
        refresh.display()
    ));
    let run = |args: &[&str]| {
        sandbox
            .cmd()
            .arg("poll")
            .args(args)
            .env("T_CLIENT_SECRET", crate::oauth::CLIENT_SECRET)
            .output()
            .unwrap()
    };
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("read from file:{}", refresh.display()))
            && stderr.contains("trmctl auth export acc")
            && stderr.contains("run `trmctl poll` once"),
        "the fix for a token kept in a file: {stderr}"
    );
    let show = sandbox
        .cmd()
        .args(["integrations", "show", "mail", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&show.stdout).unwrap()["status"],
        "reauthRequired"
    );
    let events = sandbox
        .cmd()
        .args(["events", "list", "--type", "reauthRequired", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&events.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // `status` says so, with the exit code of re-authorization.
    let status = sandbox.cmd().args(["status", "--json"]).output().unwrap();
    assert_eq!(status.status.code(), Some(4));
    assert_eq!(
        crate::util::json(&status)["accountsNeedingReauth"],
        json!(["acc"])
    );
    // Not due while it waits for the user: no token request, no retry loop.
    let before = auth.books().refresh_requests;
    let out = run(&["--due", "--json"]);
    assert!(out.status.success());
    assert!(reports(&out).is_empty());
    assert_eq!(auth.books().refresh_requests, before);
    // A headless user replaces the token file; naming the integration tries it again.
    std::fs::write(&refresh, "1//replaced").unwrap();
    auth.books().refresh_tokens.push("1//replaced".into());
    let out = run(&["mail"]);
    assert_ne!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(auth.books().refresh_requests, before + 1);
    // The account was authorized elsewhere; the refresh that worked is what trmctl knows of it.
    let status = sandbox
        .cmd()
        .args(["auth", "status", "acc", "--json"])
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(0));
    let status = crate::util::json(&status);
    assert_eq!(status[0]["status"], "active", "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_key_follows_redirects_within_its_site_only() {
    // Another site, which must never see the key.
    let seen_elsewhere = Arc::new(Mutex::new(Vec::<Option<String>>::new()));
    let seen = seen_elsewhere.clone();
    let elsewhere = axum::Router::new().fallback(move |headers: HeaderMap| {
        let seen = seen.clone();
        async move {
            let key = headers
                .get("x-api-key")
                .map(|v| v.to_str().unwrap().to_string());
            seen.lock().unwrap().push(key);
            axum::Json(json!({"data": []}))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let elsewhere_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, elsewhere).await.unwrap() });
    // The API: one address moved within the site, one moved to the other site.
    let away = format!("http://{elsewhere_addr}/contacts?page=1");
    let api = axum::Router::new()
        .route(
            "/moved",
            get(|| async { axum::response::Redirect::temporary("/contacts") }),
        )
        .route(
            "/away",
            get(move || async move { axum::response::Redirect::temporary(&away) }),
        )
        .route(
            "/contacts",
            get(|headers: HeaderMap| async move {
                assert_eq!(headers["x-api-key"], "crm-token-value");
                axum::Json(json!({"data": [{"id": 1, "updatedAt": "2026-01-01T00:00:00Z"}]}))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, api).await.unwrap() });
    let integration = |name: &str, path: &str| {
        format!(
            "[integrations.{name}]\nkind = \"http-poll\"\nurl = \"http://{addr}{path}\"\n\
             auth = {{ type = \"header\", name = \"X-Api-Key\", value = \"env:T_CRM_TOKEN\" }}\n\
             items = \"/data\"\nid = \"/id\"\nupdated_at = \"/updatedAt\"\n"
        )
    };
    let sandbox = Sandbox::with_config(&format!(
        "{POLL}{}{}",
        integration("moved", "/moved"),
        integration("away", "/away")
    ));

    let out = poll(&sandbox, &["moved", "away", "--json"]);
    assert_eq!(out.status.code(), Some(3), "one ran, one failed");
    let reports = reports(&out);
    let (away, moved) = (&reports[0], &reports[1]);
    assert_eq!(moved["status"], "ok", "{moved}");
    assert_eq!(moved["eventsCreated"], 1);
    assert_eq!(away["status"], "failed");
    let error = away["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("a redirect to http://{elsewhere_addr}/contacts:")),
        "{error}"
    );
    assert!(
        !error.contains("page=1"),
        "shown without its query: {error}"
    );
    assert!(
        seen_elsewhere.lock().unwrap().is_empty(),
        "the other site was never asked"
    );
}
