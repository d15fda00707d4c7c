//! Sinks over real HTTP on loopback: a receiver app that verifies every Standard Webhooks
//! signature and records what it stored, against `trmctl sinks flush` and `trmctl serve`;
//! and `command` sinks running real programs.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use trmctl::event::{Event, EventType};
use trmctl::store::PollOutcome;
use trmctl::webhooks::signature::{self, Scheme};

use crate::server::{Server, eventually, github_request, signal};
use crate::util::{CONFIG, Sandbox, json};

/// The sinks' signing secret (a published Standard Webhooks test key).
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// How the receiver answers one request.
#[derive(Debug, Clone, Copy)]
enum Reply {
    Ok,
    Status(u16),
    /// 429 with `Retry-After: 1`.
    Throttle,
    /// Stores the event, then answers 500: the answer is "lost".
    StoreThenFail,
    /// Answers 200 once the test calls `release.notify_one()`.
    Held,
}

/// What the receiver saw.
#[derive(Default)]
struct Seen {
    plan: VecDeque<Reply>,
    /// Stored `webhook-id`s, in arrival order, each once (dedupe by `webhook-id`).
    stored: Vec<String>,
    /// Stored bodies, as parsed JSON, in the same order.
    bodies: Vec<Value>,
    /// Every verified request's `webhook-id` and arrival time.
    requests: Vec<(String, Instant)>,
    /// Requests whose `webhook-id` was already stored.
    duplicates: usize,
    /// Requests that failed signature verification.
    bad_signatures: usize,
    /// Lets a `Reply::Held` request answer.
    release: Arc<tokio::sync::Notify>,
}

struct Receiver {
    addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(plan: &[Reply]) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Receiver::start_on(listener, plan)
    }

    fn start_on(listener: tokio::net::TcpListener, plan: &[Reply]) -> Receiver {
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Seen {
            plan: plan.iter().copied().collect(),
            ..Default::default()
        }));
        let app = axum::Router::new()
            .route("/events", axum::routing::post(receive))
            .with_state(seen.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { addr, seen, task }
    }

    fn url(&self) -> String {
        format!("http://{}/events", self.addr)
    }

    fn stored(&self) -> Vec<String> {
        self.seen.lock().unwrap().stored.clone()
    }

    fn requests(&self) -> usize {
        self.seen.lock().unwrap().requests.len()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State(seen): State<Arc<Mutex<Seen>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = signature::Request {
        method: "POST",
        url: "",
        headers: &headers,
        body: &body,
        now: chrono::Utc::now().timestamp(),
    };
    let verified = signature::verify(
        &Scheme::StandardWebhooks,
        &[SECRET.to_string()],
        Duration::from_secs(300),
        &request,
    );
    let Ok(verified) = verified else {
        seen.lock().unwrap().bad_signatures += 1;
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let id = verified.delivery_id.unwrap_or_default();
    let (reply, release) = {
        let mut seen = seen.lock().unwrap();
        seen.requests.push((id.clone(), Instant::now()));
        let reply = seen.plan.pop_front().unwrap_or(Reply::Ok);
        (reply, seen.release.clone())
    };
    if let Reply::Held = reply {
        release.notified().await;
    }
    if matches!(reply, Reply::Ok | Reply::Held | Reply::StoreThenFail) {
        let mut seen = seen.lock().unwrap();
        if seen.stored.contains(&id) {
            seen.duplicates += 1;
        } else {
            seen.stored.push(id);
            seen.bodies.push(serde_json::from_slice(&body).unwrap());
        }
    }
    match reply {
        Reply::Ok | Reply::Held => StatusCode::OK.into_response(),
        Reply::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Reply::Throttle => {
            (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")]).into_response()
        }
        Reply::StoreThenFail => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// An `http` sink with a millisecond retry schedule, and any extra keys.
fn http_sink(name: &str, url: &str, extra: &str) -> String {
    format!(
        "\n[[sinks]]\nname = \"{name}\"\nkind = \"http\"\nurl = \"{url}\"\n\
         secret = \"env:SINK_SECRET\"\nretry_base = \"10ms\"\nretry_max = \"50ms\"\n\
         max_attempts = 20\n{extra}"
    )
}

/// A `command` sink with a millisecond retry schedule, and any extra keys.
fn command_sink(name: &str, argv: &[&str], extra: &str) -> String {
    let argv = serde_json::to_string(argv).unwrap();
    format!(
        "\n[[sinks]]\nname = \"{name}\"\nkind = \"command\"\ncommand = {argv}\n\
         retry_base = \"1ms\"\nretry_max = \"5ms\"\n{extra}"
    )
}

/// Runs `trmctl` off the async threads (the receiver runs on them).
async fn trmctl(sandbox: &Sandbox, args: &[&str]) -> Output {
    let mut cmd = sandbox.std_cmd();
    cmd.env("SINK_SECRET", SECRET)
        .env("GITHUB_SECRET", "gh-secret-for-the-webhooks")
        .env("CREDENTIALS_DIRECTORY", "/run/credentials/trmctl.service")
        .env("PLAIN_VAR", "plain")
        .args(args);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

/// `sinks flush --json [NAME…]`: the exit code and the reports.
async fn flush(sandbox: &Sandbox, names: &[&str]) -> (i32, Vec<Value>) {
    let mut args = vec!["--json", "sinks", "flush"];
    args.extend(names);
    let out = trmctl(sandbox, &args).await;
    let code = out.status.code().unwrap();
    let reports = json(&out).as_array().unwrap().clone();
    (code, reports)
}

/// Flushes until a run exits 0; returns how many runs it took.
async fn flush_until_delivered(sandbox: &Sandbox) -> usize {
    for run in 1..=300 {
        if flush(sandbox, &[]).await.0 == 0 {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the sinks never delivered everything");
}

async fn list(sandbox: &Sandbox) -> Vec<Value> {
    let out = trmctl(sandbox, &["--json", "sinks", "list"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out).as_array().unwrap().clone()
}

/// `status --json`, with the config's account authorized: only the sinks can need attention.
async fn status_json(sandbox: &Sandbox) -> Value {
    if sandbox.store().account("founder").unwrap().is_none() {
        sandbox.mark_authorized("founder");
    }
    let out = trmctl(sandbox, &["--json", "status"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out)
}

fn ids(events: &[Event]) -> Vec<String> {
    events.iter().map(|e| e.event_id.to_string()).collect()
}

fn some_events(sandbox: &Sandbox, count: usize) -> Vec<Event> {
    let batch = uuid::Uuid::now_v7();
    let keys: Vec<String> = (0..count).map(|i| format!("{batch}-{i}")).collect();
    let rows: Vec<_> = keys
        .iter()
        .map(|k| {
            (
                "founder-gmail",
                EventType::EmailReceived,
                k.as_str(),
                "hello",
            )
        })
        .collect();
    sandbox.add_events(&rows)
}

#[tokio::test(flavor = "multi_thread")]
async fn flush_sends_every_event_once_in_order_signed_and_filtered() {
    let all = Receiver::start(&[]).await;
    let some = Receiver::start(&[]).await;
    let filters = "event_types = [\"emailReceived\", \"winRecorded\"]\n\
                   integrations = [\"founder-gmail\"]\n";
    let sandbox = Sandbox::with_config(&format!(
        "{CONFIG}{}{}",
        http_sink("all", &all.url(), ""),
        http_sink("some", &some.url(), filters)
    ));
    let events = sandbox.add_events(&[
        ("founder-gmail", EventType::EmailReceived, "m1", "hello"),
        ("github-repo", EventType::GithubEventReceived, "d1", "push"),
        ("founder-gmail", EventType::WinRecorded, "w1", "won"),
        ("github-repo", EventType::WinRecorded, "w2", "won too"),
        ("founder-gmail", EventType::SheetRowAdded, "r1", "row"),
        ("founder-gmail", EventType::EmailReceived, "m2", "again"),
    ]);

    let (code, reports) = flush(&sandbox, &[]).await;
    assert_eq!(code, 0, "{reports:?}");
    assert_eq!(reports[0]["name"], "all");
    assert_eq!(reports[0]["delivered"], 6);
    assert_eq!(reports[0]["pending"], 0);
    assert_eq!(reports[0]["failed"], 0);
    assert_eq!(reports[0]["error"], Value::Null);
    assert_eq!(reports[1]["delivered"], 3);
    assert_eq!(all.stored(), ids(&events), "every event, in seq order");
    let wanted = [&events[0], &events[2], &events[5]];
    let wanted: Vec<String> = wanted.iter().map(|e| e.event_id.to_string()).collect();
    assert_eq!(some.stored(), wanted, "only the filtered events");
    for receiver in [&all, &some] {
        let seen = receiver.seen.lock().unwrap();
        assert_eq!((seen.bad_signatures, seen.duplicates), (0, 0));
    }

    // The body is the event as `events show --json` prints it.
    let id = events[0].event_id.to_string();
    let shown = json(&trmctl(&sandbox, &["--json", "events", "show", &id]).await);
    assert_eq!(all.seen.lock().unwrap().bodies[0], shown);

    // Nothing pending: nothing sent. New events: only those.
    let (code, reports) = flush(&sandbox, &[]).await;
    assert_eq!((code, reports[0]["delivered"].as_u64()), (0, Some(0)));
    assert_eq!(all.requests(), 6);
    let more = some_events(&sandbox, 2);
    assert_eq!(flush(&sandbox, &["all"]).await.0, 0);
    assert_eq!(all.stored()[6..], ids(&more));
    let listed = list(&sandbox).await;
    assert_eq!(listed[0]["lastSeq"], 8);
    assert_eq!(listed[0]["pending"], 0);
    assert_eq!(listed[1]["pending"], 2, "flush named only `all`");
    assert_eq!(listed[1]["status"], "active");
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_throttling_and_a_lost_answer_still_deliver_each_event_once_in_order() {
    let receiver = Receiver::start(&[
        Reply::Status(500),
        Reply::Status(503),
        Reply::StoreThenFail,
        Reply::Ok,
        Reply::Throttle,
        Reply::Ok,
        Reply::Status(502),
    ])
    .await;
    let sandbox = Sandbox::with_config(&format!(
        "{CONFIG}{}",
        http_sink("core", &receiver.url(), "")
    ));
    let events = some_events(&sandbox, 5);

    let (code, reports) = flush(&sandbox, &[]).await;
    assert_eq!(code, 1, "a failed attempt fails the run");
    assert_eq!(reports[0]["failed"], 1);
    assert_eq!(reports[0]["pending"], 5);
    assert!(
        reports[0]["error"].as_str().unwrap().contains("500"),
        "{reports:?}"
    );
    flush_until_delivered(&sandbox).await;

    assert_eq!(receiver.stored(), ids(&events), "each once, in order");
    {
        let seen = receiver.seen.lock().unwrap();
        assert_eq!(seen.bad_signatures, 0);
        let requests: Vec<&str> = seen.requests.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(
            requests[2], requests[3],
            "the retry after a lost answer carries the same webhook-id"
        );
        assert_eq!(seen.duplicates, 1, "which is how the receiver drops it");
        let throttled_at = seen.requests[4].1;
        let retried_at = seen.requests[5].1;
        assert_eq!(requests[4], requests[5]);
        assert!(
            retried_at - throttled_at >= Duration::from_millis(950),
            "Retry-After: 1 is honoured ({:?})",
            retried_at - throttled_at
        );
    }
    let listed = list(&sandbox).await;
    assert_eq!(listed[0]["deadLetters"], 0);
    assert_eq!(
        listed[0]["lastError"],
        Value::Null,
        "cleared by the last success"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_that_is_down_gets_everything_once_it_is_back() {
    let reserved = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = reserved.local_addr().unwrap();
    drop(reserved);
    let url = format!("http://{addr}/events");
    // Two attempts at most: an outage longer than that still gives up on nothing.
    let sink = http_sink("core", &url, "").replace("max_attempts = 20", "max_attempts = 2");
    let sandbox = Sandbox::with_config(&format!("{CONFIG}{sink}"));
    let events = some_events(&sandbox, 3);

    for tried in 1..=4u64 {
        let (code, reports) = flush(&sandbox, &[]).await;
        assert_eq!(code, 1);
        assert_eq!(
            (
                reports[0]["delivered"].as_u64(),
                reports[0]["pending"].as_u64()
            ),
            (Some(0), Some(3))
        );
        let error = reports[0]["error"].as_str().unwrap();
        assert!(error.contains("refused"), "{error}");
        assert!(!error.contains(&url), "no URL in errors: {error}");
        let listed = list(&sandbox).await;
        assert_eq!(
            (
                listed[0]["attempts"].as_u64(),
                listed[0]["unanswered"].as_u64()
            ),
            (Some(0), Some(tried))
        );
        assert_eq!(listed[0]["deadLetters"], 0, "an outage uses up no attempt");
        tokio::time::sleep(Duration::from_millis(60)).await; // past retry_max
    }

    let receiver = Receiver::start_on(tokio::net::TcpListener::bind(addr).await.unwrap(), &[]);
    flush_until_delivered(&sandbox).await;
    assert_eq!(receiver.stored(), ids(&events));
    assert_eq!(receiver.seen.lock().unwrap().duplicates, 0);
    assert_eq!(list(&sandbox).await[0]["unanswered"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_throttle_that_says_not_for_how_long_backs_off_like_no_answer() {
    let receiver = Receiver::start(&[Reply::Status(429), Reply::Status(429)]).await;
    let sink =
        http_sink("core", &receiver.url(), "").replace("max_attempts = 20", "max_attempts = 1");
    let sandbox = Sandbox::with_config(&format!("{CONFIG}{sink}"));
    let events = some_events(&sandbox, 1);
    for tried in 1..=2u64 {
        assert_eq!(flush(&sandbox, &[]).await.0, 1);
        let listed = list(&sandbox).await;
        assert_eq!(
            (
                listed[0]["attempts"].as_u64(),
                listed[0]["unanswered"].as_u64()
            ),
            (Some(0), Some(tried)),
            "counted in the run that paces the retries, not as an attempt"
        );
        tokio::time::sleep(Duration::from_millis(60)).await; // past retry_max
    }
    flush_until_delivered(&sandbox).await;
    assert_eq!(receiver.stored(), ids(&events));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_never_answered_for_half_a_day_is_given_up_on_after_all() {
    let url = format!("http://127.0.0.1:{}/events", crate::util::closed_port());
    let sandbox = Sandbox::with_config(&format!("{CONFIG}{}", http_sink("core", &url, "")));
    some_events(&sandbox, 2);
    flush(&sandbox, &[]).await;
    // As if the receiver had not answered 95 times already.
    sandbox
        .store()
        .transaction(|tx| {
            Ok(tx.execute(
                "UPDATE sinks SET unanswered = 95, next_attempt_at = NULL",
                [],
            )?)
        })
        .unwrap();
    let (code, reports) = flush(&sandbox, &[]).await;
    assert_eq!(code, 1);
    assert_eq!(reports[0]["pending"], 1, "moved on to the next event");
    let listed = list(&sandbox).await;
    assert_eq!(listed[0]["deadLetters"], 1);
    assert_eq!(
        listed[0]["unanswered"], 0,
        "the next event starts its own count"
    );
    let dead = sandbox.json(&["sinks", "deadletters", "list", "--json"]);
    let error = dead[0]["lastError"].as_str().unwrap();
    assert!(error.contains("no answer 96 times in a row"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sink_without_its_secret_fails_the_run_but_uses_up_no_attempt() {
    let receiver = Receiver::start(&[]).await;
    let sink = http_sink("core", &receiver.url(), "")
        .replace("env:SINK_SECRET", "env:SINK_SECRET_NEVER_SET");
    let sandbox = Sandbox::with_config(&format!("{CONFIG}{sink}"));
    assert_eq!(
        flush(&sandbox, &[]).await.0,
        0,
        "nothing to send needs no secret"
    );
    some_events(&sandbox, 1);
    let (code, reports) = flush(&sandbox, &[]).await;
    assert_eq!(code, 1);
    assert_eq!(reports[0]["failed"], 0);
    assert_eq!(reports[0]["pending"], 1);
    let error = reports[0]["error"].as_str().unwrap();
    assert!(
        error.contains("sinks.core/secret") && error.contains("SINK_SECRET_NEVER_SET"),
        "{error}"
    );
    let listed = list(&sandbox).await;
    assert_eq!(listed[0]["attempts"], 0);
    assert_eq!(listed[0]["lastError"].as_str(), Some(error));
    assert_eq!(receiver.requests(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn gone_disables_the_sink_until_it_is_enabled_again() {
    let receiver = Receiver::start(&[Reply::Status(410)]).await;
    let sandbox = Sandbox::with_config(&format!(
        "{CONFIG}{}",
        http_sink("core", &receiver.url(), "")
    ));
    let events = some_events(&sandbox, 2);

    let (code, reports) = flush(&sandbox, &[]).await;
    assert_eq!(code, 1);
    assert_eq!(reports[0]["disabled"], true);
    let status = status_json(&sandbox).await;
    assert_eq!(status["ok"], false);
    let sink = &status["sinks"][0];
    assert_eq!(sink["name"], "core");
    assert_eq!(sink["status"], "disabled");
    assert_eq!(sink["pending"], 2);
    assert!(
        sink["disabledReason"].as_str().unwrap().contains("410"),
        "{sink}"
    );
    let text = trmctl(&sandbox, &["status"]).await;
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("sink core is disabled") && text.contains("trmctl sinks enable core"),
        "{text}"
    );

    // A disabled sink is skipped (status says so); named, it fails the run.
    let (code, reports) = flush(&sandbox, &[]).await;
    assert_eq!((code, &reports[0]["disabled"]), (0, &Value::Bool(true)));
    assert_eq!(flush(&sandbox, &["core"]).await.0, 1);
    assert_eq!(receiver.requests(), 1, "nothing is sent to a disabled sink");

    let out = trmctl(&sandbox, &["sinks", "enable", "core"]).await;
    assert!(out.status.success());
    assert_eq!(list(&sandbox).await[0]["status"], "active");
    assert_eq!(flush(&sandbox, &[]).await.0, 0);
    assert_eq!(receiver.stored(), ids(&events));
    assert_eq!(status_json(&sandbox).await["ok"], true);
    let out = trmctl(&sandbox, &["sinks", "enable", "nope"]).await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown sink is a usage error"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_sink_gets_the_event_json_on_stdin() {
    let sandbox = Sandbox::new();
    let out = sandbox.dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    // It also writes what it sees of two variables: one the config reads a secret from
    // (`env:GITHUB_SECRET`), one it does not.
    let script = format!(
        "cat > '{0}'/\"$TRMCTL_EVENT_ID\".json && echo \"$TRMCTL_EVENT_TYPE\" >> '{0}'/types \
         && echo \"[${{GITHUB_SECRET:-}}][${{CREDENTIALS_DIRECTORY:-}}][${{PLAIN_VAR:-}}]\" > '{0}'/env",
        out.display()
    );
    sandbox.write_config(&format!(
        "{CONFIG}{}",
        command_sink("script", &["sh", "-c", &script], "")
    ));
    let events = sandbox.add_events(&[
        ("founder-gmail", EventType::EmailReceived, "m1", "hello"),
        ("github-repo", EventType::GithubEventReceived, "d1", "push"),
    ]);
    let (code, reports) = flush(&sandbox, &[]).await;
    assert_eq!(code, 0, "{reports:?}");
    assert_eq!(reports[0]["delivered"], 2);
    for event in &events {
        let written = std::fs::read(out.join(format!("{}.json", event.event_id))).unwrap();
        let received: Event = serde_json::from_slice(&written).unwrap();
        assert_eq!(&received, event);
    }
    let types = std::fs::read_to_string(out.join("types")).unwrap();
    assert_eq!(types, "emailReceived\ngithubEventReceived\n");
    let env = std::fs::read_to_string(out.join("env")).unwrap();
    assert_eq!(
        env, "[][][plain]\n",
        "the secrets' variables are not passed on"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_that_times_out_is_killed_and_retried() {
    let sandbox = Sandbox::new();
    let script = sandbox.dir.path().join("slow-once.sh");
    std::fs::write(
        &script,
        "if [ ! -e \"$0.slept\" ]; then touch \"$0.slept\"; exec sleep 60; fi\ncat > \"$0.got\"\n",
    )
    .unwrap();
    let script = script.to_str().unwrap();
    sandbox.write_config(&format!(
        "{CONFIG}{}",
        command_sink("slow", &["sh", script], "timeout = \"500ms\"\n")
    ));
    let events = some_events(&sandbox, 1);

    let started = Instant::now();
    let (code, reports) = flush(&sandbox, &[]).await;
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "killed at the timeout, not after `sleep 60`"
    );
    assert_eq!((code, reports[0]["failed"].as_u64()), (1, Some(1)));
    let error = reports[0]["error"].as_str().unwrap();
    assert!(
        error.contains("ran longer than 500ms and was killed"),
        "{error}"
    );
    // The retry need not start `sh` within 500 ms on a loaded machine.
    sandbox.write_config(&format!(
        "{CONFIG}{}",
        command_sink("slow", &["sh", script], "timeout = \"30s\"\n")
    ));
    flush_until_delivered(&sandbox).await;
    let got: Event =
        serde_json::from_slice(&std::fs::read(format!("{script}.got")).unwrap()).unwrap();
    assert_eq!(got, events[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_command_is_retried_then_dead_lettered_and_the_sink_moves_on() {
    let sandbox = Sandbox::with_config(&format!(
        "{CONFIG}{}",
        command_sink("broken", &["false"], "max_attempts = 3\n")
    ));
    let events = some_events(&sandbox, 2);
    let mut logs = String::new();
    for run in 1..=6 {
        tokio::time::sleep(Duration::from_millis(30)).await;
        let out = trmctl(&sandbox, &["--json", "sinks", "flush"]).await;
        assert_eq!(out.status.code(), Some(1), "run {run}");
        let report = &json(&out)[0];
        assert_eq!(report["failed"], 1, "run {run}: one attempt a run");
        let pending = if run < 3 {
            2
        } else if run < 6 {
            1
        } else {
            0
        };
        assert_eq!(report["pending"], pending, "run {run}");
        assert!(
            report["error"]
                .as_str()
                .unwrap()
                .contains("`false` exited with status 1")
        );
        logs.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(
        logs.matches("it is in the sink's dead letters; moving on")
            .count(),
        2,
        "{logs}"
    );

    let listed = list(&sandbox).await;
    assert_eq!(listed[0]["deadLetters"], 2);
    assert_eq!(listed[0]["pending"], 0);
    assert_eq!(listed[0]["lastSeq"], 2);
    let dead = sandbox.json(&["sinks", "deadletters", "list", "--json"]);
    let dead: Vec<String> = dead
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["name"], "broken");
            d["eventId"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(dead, ids(&events));
    let status = status_json(&sandbox).await;
    assert_eq!(status["ok"], false);
    assert_eq!(status["sinks"][0]["deadLetters"], 2);
    assert_eq!(flush(&sandbox, &[]).await.0, 0, "nothing left to send");
    // Dealt with: forgotten, and status is ok again.
    let dropped = sandbox.json(&["sinks", "deadletters", "drop", "--all", "--json"]);
    assert_eq!(dropped["eventIds"].as_array().unwrap().len(), 2);
    assert_eq!(status_json(&sandbox).await["ok"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn internal_events_flow_through_sinks_like_any_other() {
    let receiver = Receiver::start(&[]).await;
    let filters = "event_types = [\"integrationFailed\", \"reauthRequired\"]\n\
                   integrations = [\"founder-gmail\", \"founder\"]\n";
    let sandbox = Sandbox::with_config(&format!(
        "{CONFIG}{}",
        http_sink("alerts", &receiver.url(), filters)
    ));
    some_events(&sandbox, 1);
    let mut store = sandbox.store();
    store.sync_registry([("founder-gmail", "gmail")]).unwrap();
    let failed = PollOutcome::Failed {
        error: "HTTP 500 from Gmail",
        threshold: 1,
    };
    store
        .record_poll("founder-gmail", failed, "2999-01-01T00:00:00Z")
        .unwrap();
    drop(store);
    sandbox.add_events(&[(
        "founder",
        EventType::ReauthRequired,
        "reauth-1",
        "re-authorize",
    )]);

    assert_eq!(flush(&sandbox, &[]).await.0, 0);
    let bodies = receiver.seen.lock().unwrap().bodies.clone();
    let types: Vec<&str> = bodies
        .iter()
        .map(|b| b["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["integrationFailed", "reauthRequired"]);
    assert_eq!(bodies[0]["integration"], "founder-gmail");
    assert_eq!(bodies[0]["data"]["lastError"], "HTTP 500 from Gmail");
}

/// `trmctl serve` with an HTTP sink `core` to a receiver answering `replies`, after one signed
/// GitHub delivery (which the rules turn into two events) was accepted.
async fn serve_one_delivery(replies: &[Reply]) -> (Receiver, Sandbox, Server) {
    let receiver = Receiver::start(replies).await;
    let sink = http_sink("core", &receiver.url(), "").replace("env:SINK_SECRET", "env:T_STD");
    let sandbox = Sandbox::with_config(&crate::server::config(&sink));
    let server = Server::start(&sandbox);
    let payload = r#"{"action":"opened","repository":{"full_name":"acme/app"}}"#;
    let response = github_request(
        &reqwest::Client::new(),
        &server,
        "gh",
        "delivery-1",
        payload,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::ACCEPTED);
    (receiver, sandbox, server)
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_sends_a_webhook_delivery_on_to_an_http_sink() {
    let (receiver, sandbox, server) = serve_one_delivery(&[Reply::Status(500)]).await;
    eventually("the event and its derived event reach the sink", || {
        receiver.stored().len() == 2
    })
    .await;
    let bodies = receiver.seen.lock().unwrap().bodies.clone();
    assert_eq!(bodies[0]["eventType"], "githubEventReceived");
    assert_eq!(bodies[1]["eventType"], "taskRequested");
    assert_eq!(bodies[1]["derivedFrom"], bodies[0]["eventId"]);
    assert_eq!(
        receiver.seen.lock().unwrap().requests.len(),
        3,
        "one retry after the 500"
    );
    assert_eq!(server.terminate().code(), Some(0));
    let listed = list(&sandbox).await;
    assert_eq!(
        (listed[0]["pending"].as_u64(), listed[0]["lastSeq"].as_u64()),
        (Some(0), Some(2))
    );
}

#[test]
fn config_check_names_each_sink_problem_by_key() {
    let sandbox = Sandbox::with_config(&format!(
        "{CONFIG}\n[[sinks]]\nname = \"core\"\nkind = \"http\"\n\
         event_types = [\"emailSent\"]\nintegrations = [\"nope\"]\n"
    ));
    let out = sandbox.cmd().args(["config", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for key in [
        "sinks[0].url",
        "sinks[0].secret",
        "sinks[0].event_types",
        "sinks[0].integrations",
    ] {
        assert!(text.contains(&format!("{key}: ")), "{key} in {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_finishes_a_send_in_flight_on_shutdown_and_resumes_after_a_restart() {
    let (receiver, sandbox, server) = serve_one_delivery(&[Reply::Held]).await;
    eventually("the first event is being sent", || receiver.requests() == 1).await;
    // Its answer comes only once serve is shutting down, however slow the machine.
    signal(server.pid(), "TERM");
    eventually("serve begins to shut down", || {
        server.log_text().contains("shutting down")
    })
    .await;
    receiver.seen.lock().unwrap().release.notify_one();
    assert_eq!(server.exited().code(), Some(0));
    assert_eq!(receiver.stored().len(), 1, "the send in flight finished");
    let listed = list(&sandbox).await;
    assert_eq!(
        (listed[0]["lastSeq"].as_u64(), listed[0]["pending"].as_u64()),
        (Some(1), Some(1)),
        "recorded as delivered; the next event waits for the next start"
    );

    let server = Server::start(&sandbox);
    eventually("the second event after the restart", || {
        receiver.stored().len() == 2
    })
    .await;
    assert_eq!(server.terminate().code(), Some(0));
    assert_eq!(receiver.seen.lock().unwrap().duplicates, 0);
}
