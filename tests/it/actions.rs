//! Actions over real HTTP on loopback: a fake Google Tasks API (with the local OAuth server for
//! the token) against `trmctl actions flush`, and a fake Slack Web API against `trmctl serve`,
//! with the posted message delivered back through the signed Slack webhook. The fake Tasks API
//! also reads one task and patches it with an `If-Match` etag check, for the updates of a task
//! that follows its source item.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use trmctl::config::Config;
use trmctl::event::{Event, EventType, now};
use trmctl::store::{EventFilter, Store};

use crate::oauth::{AuthServer, CLIENT_SECRET};
use crate::server::{Server, config as server_config, eventually, slack_signature};
use crate::util::{Sandbox, closed_port};

const REFRESH: &str = "1//actions-refresh";

/// One task at the fake Tasks API.
#[derive(Clone, Debug)]
struct FakeTask {
    id: String,
    title: String,
    notes: String,
    etag: String,
    updated: DateTime<Utc>,
}

impl FakeTask {
    fn json(&self) -> Value {
        json!({"id": self.id, "title": self.title, "notes": self.notes, "etag": self.etag,
               "updated": self.updated.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)})
    }

    /// A write: a new etag and `updated`.
    fn touch(&mut self, updated: DateTime<Utc>) {
        let n: u32 = self
            .etag
            .trim_matches('"')
            .trim_start_matches('e')
            .parse()
            .unwrap();
        self.etag = format!("\"e{}\"", n + 1);
        self.updated = updated;
    }
}

/// The fake Tasks API's state.
#[derive(Default)]
struct Tasks {
    items: Vec<FakeTask>,
    creates: usize,
    /// PATCHes that were applied.
    patches: usize,
    /// PATCHes answered 412 (their `If-Match` was not the task's etag).
    precondition_failed: usize,
    /// Someone else writes the task right before the next PATCH arrives (an etag race).
    race_next_patch: bool,
    lists: usize,
    /// Store the next created task, then answer 500 (the answer is "lost", as in a crash).
    lose_next_answer: bool,
    /// Store the next created task, then hold the answer (so the test can kill trmctl).
    hang_next_answer: bool,
    unauthorized: usize,
    /// Answer this many creates `503` (nothing created), as a gateway with Tasks down does.
    unavailable_creates: usize,
}

type SharedTasks = Arc<Mutex<Tasks>>;

fn bearer_ok(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer ya29."))
}

async fn list_tasks(
    State(tasks): State<SharedTasks>,
    headers: HeaderMap,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let mut tasks = tasks.lock().unwrap();
    if !bearer_ok(&headers) {
        tasks.unauthorized += 1;
        return StatusCode::UNAUTHORIZED.into_response();
    }
    tasks.lists += 1;
    assert_eq!(q.get("showHidden").map(String::as_str), Some("true"));
    // One task a page, to exercise paging.
    let page: usize = q.get("pageToken").map_or(0, |p| p.parse().unwrap());
    let items: Vec<Value> = tasks
        .items
        .iter()
        .skip(page)
        .take(1)
        .map(FakeTask::json)
        .collect();
    let mut body = json!({ "items": items });
    if page + 1 < tasks.items.len() {
        body["nextPageToken"] = json!((page + 1).to_string());
    }
    Json(body).into_response()
}

async fn create_task(
    State(tasks): State<SharedTasks>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let (task, hang) = {
        let mut tasks = tasks.lock().unwrap();
        if !bearer_ok(&headers) {
            tasks.unauthorized += 1;
            return StatusCode::UNAUTHORIZED.into_response();
        }
        if tasks.unavailable_creates > 0 {
            tasks.unavailable_creates -= 1;
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        tasks.creates += 1;
        let id = format!("task-{}", tasks.items.len() + 1);
        let task = FakeTask {
            id,
            title: body["title"].as_str().unwrap_or_default().to_string(),
            notes: body["notes"].as_str().unwrap_or_default().to_string(),
            etag: "\"e1\"".into(),
            updated: Utc::now(),
        };
        tasks.items.push(task.clone());
        if std::mem::take(&mut tasks.lose_next_answer) {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        (task, std::mem::take(&mut tasks.hang_next_answer))
    };
    if hang {
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    Json(task.json()).into_response()
}

async fn get_task(
    State(tasks): State<SharedTasks>,
    headers: HeaderMap,
    UrlPath((_list, id)): UrlPath<(String, String)>,
) -> Response {
    let mut tasks = tasks.lock().unwrap();
    if !bearer_ok(&headers) {
        tasks.unauthorized += 1;
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match tasks.items.iter().find(|t| t.id == id) {
        Some(task) => Json(task.json()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn patch_task(
    State(tasks): State<SharedTasks>,
    headers: HeaderMap,
    UrlPath((_list, id)): UrlPath<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let mut tasks = tasks.lock().unwrap();
    if !bearer_ok(&headers) {
        tasks.unauthorized += 1;
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let race = std::mem::take(&mut tasks.race_next_patch);
    let Some(task) = tasks.items.iter_mut().find(|t| t.id == id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if race {
        // Another writer got there first: a new etag (its `updated` is older than the event).
        let updated = task.updated;
        task.touch(updated);
    }
    let if_match = headers.get("if-match").and_then(|v| v.to_str().ok());
    if if_match != Some(task.etag.as_str()) {
        tasks.precondition_failed += 1;
        return StatusCode::PRECONDITION_FAILED.into_response();
    }
    if let Some(title) = body["title"].as_str() {
        task.title = title.to_string();
    }
    if let Some(notes) = body["notes"].as_str() {
        task.notes = notes.to_string();
    }
    task.touch(Utc::now());
    let answer = task.json();
    tasks.patches += 1;
    Json(answer).into_response()
}

async fn start_tasks() -> (String, SharedTasks) {
    let tasks: SharedTasks = Arc::default();
    let app = axum::Router::new()
        .route(
            "/tasks/v1/lists/{list}/tasks",
            get(list_tasks).post(create_task),
        )
        .route(
            "/tasks/v1/lists/{list}/tasks/{task}",
            get(get_task).patch(patch_task),
        )
        .with_state(tasks.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, tasks)
}

/// Stores a base event through the config's rules, as the worker does.
/// Poll settings that keep the token refreshes of a test quick.
const FAST_POLL: &str = "retry_base = \"10ms\"\nretry_max = \"50ms\"\ntimeout = \"5s\"\n";

/// Starts the fake Tasks API and an auth server (kept running to refresh the account's
/// token), and writes a config with a GitHub integration `gh`, a rule turning a "blocked"
/// subject into `potentialTensionDetected`, and a `google-task` action `todo` on it; `poll`
/// and `action` are further keys of the `[poll]` and `[[actions]]` tables.
async fn task_setup(poll: &str, action: &str) -> (SharedTasks, AuthServer, String, Sandbox) {
    let (base, tasks) = start_tasks().await;
    let auth = AuthServer::start().await;
    auth.books().refresh_tokens.push(REFRESH.to_string());
    let text = format!(
        "{}refresh_token = \"env:T_REFRESH\"\n\n[poll]\n{poll}\n\
         [integrations.gh]\nkind = \"github\"\nsecret = \"env:T_GH\"\n\n\
         [[rules]]\nintegration = \"gh\"\nmatch = {{ subject = \"(?i)blocked\" }}\nemit = \"potentialTensionDetected\"\n\n\
         [[actions]]\nname = \"todo\"\non = \"potentialTensionDetected\"\nkind = \"google-task\"\n\
         account = \"founder\"\ntitle = \"Tension: {{subject}}\"\nbase_url = \"{base}\"\n{action}",
        auth.account_config("founder")
    );
    let sandbox = Sandbox::with_config(&text);
    (tasks, auth, text, sandbox)
}

/// A GitHub event with `subject`, stored through the config's rules; what was stored.
fn record(sandbox: &Sandbox, text: &str, key: &str, subject: &str) -> Vec<Event> {
    through_rules(sandbox, text, github_event(key, subject, now()))
}

fn github_event(key: &str, subject: &str, occurred_at: DateTime<Utc>) -> Event {
    let mut event = Event::new(
        EventType::GithubEventReceived,
        "gh",
        "github",
        key.into(),
        occurred_at,
    );
    event.subject = Some(subject.into());
    event
}

fn through_rules(sandbox: &Sandbox, text: &str, base: Event) -> Vec<Event> {
    let mut config = Config::from_toml(text, Path::new("t.toml")).unwrap();
    assert!(config.validate().is_empty());
    sandbox
        .store()
        .transaction(|tx| trmctl::store::record_event(tx, base, &config.ruleset))
        .unwrap()
}

/// The JSON report of a run that must have succeeded (its stderr shown if it did not).
fn ok(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    crate::util::json(out)
}

fn flush(sandbox: &Sandbox) -> std::process::Output {
    sandbox
        .cmd()
        .args(["--json", "actions", "flush"])
        .env("T_CLIENT_SECRET", CLIENT_SECRET)
        .env("T_REFRESH", REFRESH)
        .env("T_GH", "gh-secret")
        .output()
        .unwrap()
}

fn events_of(store: &Store, event_type: &str) -> Vec<Event> {
    store
        .list_events(&EventFilter {
            limit: 1000,
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|s| s.event)
        .filter(|e| e.event_type.as_str() == event_type)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn tasks_unavailable_to_a_create_uses_up_no_attempt() {
    let (tasks, _auth, text, sandbox) = task_setup(
        FAST_POLL,
        "max_attempts = 1\nretry_base = \"10ms\"\nretry_max = \"20ms\"\n",
    )
    .await;
    tasks.lock().unwrap().unavailable_creates = 2;
    record(&sandbox, &text, "d-503", "we are blocked");
    for _ in 0..2 {
        assert_eq!(flush(&sandbox).status.code(), Some(1));
        std::thread::sleep(Duration::from_millis(30)); // past retry_max
    }
    ok(&flush(&sandbox));
    assert_eq!(
        tasks.lock().unwrap().items.len(),
        1,
        "created once Tasks was back"
    );
    let gave_up = sandbox
        .store()
        .gave_up_on(trmctl::store::Follower::Action)
        .unwrap();
    assert!(gave_up.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_awaiting_re_authorization_makes_the_action_wait_not_give_up() {
    let (tasks, auth, text, sandbox) = task_setup(
        FAST_POLL,
        "max_attempts = 1\nretry_base = \"10ms\"\nretry_max = \"20ms\"\n",
    )
    .await;
    auth.books().refresh_tokens.clear(); // Google no longer takes the refresh token
    record(&sandbox, &text, "d-reauth", "we are blocked");
    for _ in 0..2 {
        let out = flush(&sandbox);
        assert_eq!(
            out.status.code(),
            Some(4),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(30)); // past retry_max
    }
    let state = sandbox.store().action_state("todo").unwrap().unwrap();
    assert_eq!(
        (state.attempts, state.unanswered),
        (2, 2),
        "no attempt used up"
    );
    assert!(tasks.lock().unwrap().items.is_empty());
    let gave_up = sandbox
        .store()
        .gave_up_on(trmctl::store::Follower::Action)
        .unwrap();
    assert!(gave_up.is_empty(), "the event waits for the account");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_google_task_is_created_once_even_when_its_answer_is_lost() {
    let (tasks, _auth, text, sandbox) = task_setup(
        FAST_POLL,
        "notes = \"From {integration} ({data.rule})\"\nretry_base = \"10ms\"\nretry_max = \"20ms\"\n",
    )
    .await;

    // A rule emits potentialTensionDetected; the action creates exactly one task, with the marker.
    let stored = record(&sandbox, &text, "d1", "we are blocked on the API");
    assert_eq!(stored.len(), 2, "the rule fired");
    let tension = stored[1].clone();
    assert_eq!(tension.event_type, EventType::PotentialTensionDetected);
    let report = ok(&flush(&sandbox));
    assert_eq!(report[0]["created"], 1, "{report}");
    {
        let tasks = tasks.lock().unwrap();
        assert_eq!(tasks.items.len(), 1);
        let FakeTask {
            id, title, notes, ..
        } = &tasks.items[0];
        assert_eq!(id, "task-1");
        assert_eq!(title, "Tension: we are blocked on the API");
        assert!(notes.starts_with("From gh ("), "{notes}");
        assert!(
            notes.ends_with(&format!(
                "trmctl-event:{} trmctl-action:todo",
                tension.event_id
            )),
            "{notes}"
        );
    }
    let store = sandbox.store();
    assert_eq!(
        store
            .action_record("todo", &tension.event_id.to_string())
            .unwrap()
            .as_deref(),
        Some("task-1")
    );
    let created = events_of(&store, "externalTaskCreated");
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].derived_from, Some(tension.event_id));
    assert_eq!(
        created[0].data,
        json!({"action": "todo", "kind": "google-task", "externalId": "task-1"})
    );
    drop(store);

    // The second task is created at the fake but its answer is lost (as if trmctl was killed
    // before recording it): the run fails, nothing is recorded.
    tasks.lock().unwrap().lose_next_answer = true;
    let second = record(&sandbox, &text, "d2", "blocked again")[1].clone();
    let out = flush(&sandbox);
    assert!(!out.status.success());
    assert_eq!(crate::util::json(&out)[0]["failed"], 1);
    assert_eq!(tasks.lock().unwrap().items.len(), 2);
    let event_id = second.event_id.to_string();
    assert_eq!(
        sandbox.store().action_record("todo", &event_id).unwrap(),
        None
    );

    // After the backoff, the next run finds the task by its marker and records it instead of
    // creating a second one.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let creates_before = tasks.lock().unwrap().creates;
    assert_eq!(ok(&flush(&sandbox))[0]["created"], 1);
    assert_eq!(
        tasks.lock().unwrap().creates,
        creates_before,
        "no second POST"
    );
    assert_eq!(tasks.lock().unwrap().items.len(), 2);
    assert_eq!(
        sandbox
            .store()
            .action_record("todo", &event_id)
            .unwrap()
            .as_deref(),
        Some("task-2")
    );

    // Nothing is pending; another run creates nothing.
    let out = flush(&sandbox);
    assert!(out.status.success());
    let report = crate::util::json(&out);
    assert_eq!(
        (report[0]["created"].as_u64(), report[0]["pending"].as_i64()),
        (Some(0), Some(0))
    );
    assert_eq!(tasks.lock().unwrap().items.len(), 2);
    assert_eq!(events_of(&sandbox.store(), "externalTaskCreated").len(), 2);
    assert_eq!(tasks.lock().unwrap().unauthorized, 0);
}

/// Stores one version of a source item (same `externalId` each time) through the rules.
fn record_version(
    sandbox: &Sandbox,
    text: &str,
    key: &str,
    source: &str,
    subject: &str,
    occurred_at: DateTime<Utc>,
) -> Vec<Event> {
    let mut base = github_event(key, subject, occurred_at);
    base.external_id = Some(source.into());
    through_rules(sandbox, text, base)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_later_version_of_the_source_item_updates_its_task_last_write_wins() {
    let (tasks, _auth, text, sandbox) = task_setup(
        FAST_POLL,
        "notes = \"From {integration}\"\nretry_base = \"10ms\"\nretry_max = \"20ms\"\n",
    )
    .await;

    // (a) The first version of row-1 creates a task; the second updates it: one task, one PATCH.
    let first = record_version(&sandbox, &text, "r1v1", "row-1", "blocked v1", now())[1].clone();
    let report = ok(&flush(&sandbox));
    assert_eq!(report[0]["created"], 1, "{report}");
    record_version(&sandbox, &text, "r1v2", "row-1", "blocked v2", now());
    let report = ok(&flush(&sandbox));
    assert_eq!(
        (&report[0]["created"], &report[0]["updated"]),
        (&json!(0), &json!(1)),
        "{report}"
    );
    {
        let tasks = tasks.lock().unwrap();
        assert_eq!((tasks.items.len(), tasks.creates, tasks.patches), (1, 1, 1));
        let task = &tasks.items[0];
        assert_eq!(task.title, "Tension: blocked v2");
        assert_eq!(task.etag, "\"e2\"");
        assert!(
            task.notes.ends_with(&format!(
                "trmctl-event:{} trmctl-action:todo",
                first.event_id
            )),
            "the first event's marker stays: {}",
            task.notes
        );
    }
    let store = sandbox.store();
    assert_eq!(events_of(&store, "externalTaskCreated").len(), 1);
    assert_eq!(store.action_records("todo").unwrap().len(), 1);
    let version = store
        .action_version("todo", "gh", "row-1")
        .unwrap()
        .unwrap();
    assert_eq!(
        (version.external_id.as_str(), version.etag.as_deref()),
        ("task-1", Some("\"e2\""))
    );
    assert_eq!(version.first_event_id, first.event_id.to_string());
    drop(store);

    // (b) Someone edits the task by hand; a version of the row that occurred before that edit
    // (a late poll) does not overwrite it: no PATCH, the conflict is logged.
    {
        let mut tasks = tasks.lock().unwrap();
        let task = &mut tasks.items[0];
        task.title = "Edited by hand".into();
        task.touch(Utc::now());
    }
    let old = now() - TimeDelta::hours(1);
    record_version(&sandbox, &text, "r1v3", "row-1", "blocked v3", old);
    let out = flush(&sandbox);
    let report = ok(&out);
    assert_eq!(
        (&report[0]["updated"], &report[0]["skipped"]),
        (&json!(0), &json!(1)),
        "{report}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("conflict") && stderr.contains("task-1"),
        "{stderr}"
    );
    assert!(!stderr.contains("ya29."), "no token in the log: {stderr}");
    {
        let tasks = tasks.lock().unwrap();
        assert_eq!((tasks.patches, tasks.items.len()), (1, 1));
        assert_eq!(
            tasks.items[0].title, "Edited by hand",
            "the remote edit won"
        );
    }

    // (c) An etag race: another write lands between the read and the PATCH, which answers
    // 412; the read-compare-patch is tried again with the new etag and succeeds.
    record_version(&sandbox, &text, "r2v1", "row-2", "blocked row 2", now());
    ok(&flush(&sandbox));
    tasks.lock().unwrap().race_next_patch = true;
    record_version(&sandbox, &text, "r2v2", "row-2", "blocked row 2, v2", now());
    let out = flush(&sandbox);
    let report = ok(&out);
    assert_eq!(report[0]["updated"], 1, "{report}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("412"),
        "the race is logged"
    );
    {
        let tasks = tasks.lock().unwrap();
        assert_eq!(
            (tasks.items.len(), tasks.patches, tasks.precondition_failed),
            (2, 2, 1)
        );
        let task = &tasks.items[1];
        assert_eq!(task.title, "Tension: blocked row 2, v2");
        // Created as e1, e2 by the racing write, e3 by trmctl's retried PATCH.
        assert_eq!(task.etag, "\"e3\"");
        assert_eq!(tasks.unauthorized, 0);
    }
    let version = sandbox
        .store()
        .action_version("todo", "gh", "row-2")
        .unwrap()
        .unwrap();
    assert_eq!(version.etag.as_deref(), Some("\"e3\""));
    assert_eq!(events_of(&sandbox.store(), "externalTaskCreated").len(), 2);
}

/// What the fake Slack Web API saw.
#[derive(Default)]
struct Slack {
    posts: Vec<Value>,
    /// Each post's `ts`: the time it was posted, as Slack's are, made unique by its number.
    ts: Vec<String>,
    /// Messages others post in the channel after the bot's, each with its own `ts`.
    others: usize,
    /// Store the next post but answer 500, as if the answer were lost.
    lose_next_answer: bool,
    /// Store the next post of this action, then hold the answer (so the test can kill trmctl).
    hang_action: Option<String>,
    history_reads: usize,
}

impl Slack {
    /// The `ts` of each post the action made.
    fn posts_of(&self, action: &str) -> Vec<String> {
        (0..self.posts.len())
            .filter(|&i| self.posts[i]["metadata"]["event_payload"]["action"] == action)
            .map(|i| self.ts[i].clone())
            .collect()
    }
}

/// A fake Slack Web API (`chat.postMessage`, `conversations.history`) on a loopback port.
async fn start_slack() -> (String, Arc<Mutex<Slack>>) {
    let slack: Arc<Mutex<Slack>> = Arc::default();
    let app = axum::Router::new()
        .route("/api/chat.postMessage", post(post_message))
        .route("/api/conversations.history", get(history))
        .with_state(slack.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, slack)
}

/// A GitHub integration `gh`, a rule turning a "blocked" subject into
/// `potentialTensionDetected`, and a `slack-message` action on it per name, all to `C1`.
fn slack_config(base: &str, actions: &[&str]) -> String {
    let mut text = "[integrations.gh]\nkind = \"github\"\nsecret = \"env:T_GH\"\n\
         [[rules]]\nintegration = \"gh\"\nmatch = { subject = \"(?i)blocked\" }\nemit = \"potentialTensionDetected\"\n"
        .to_string();
    for name in actions {
        text += &format!(
            "[[actions]]\nname = \"{name}\"\non = \"potentialTensionDetected\"\nkind = \"slack-message\"\n\
             token = \"env:T_BOT\"\nchannel = \"C1\"\ntext = \"Tension: {{subject}}\"\nbase_url = \"{base}\"\n\
             retry_base = \"10ms\"\nretry_max = \"20ms\"\ntimeout = \"90s\"\n"
        );
    }
    text
}

/// `trmctl actions flush` with the Slack test's secrets, not yet run.
fn slack_flush(sandbox: &Sandbox) -> std::process::Command {
    let mut cmd = sandbox.std_cmd();
    cmd.args(["--json", "actions", "flush"])
        .env("T_BOT", "xoxb-test")
        .env("T_GH", "gh-secret");
    cmd
}

async fn post_message(
    State(slack): State<Arc<Mutex<Slack>>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer xoxb-test") {
        return Json(json!({"ok": false, "error": "invalid_auth"})).into_response();
    }
    let (ts, hang) = {
        let mut slack = slack.lock().unwrap();
        let action = body["metadata"]["event_payload"]["action"].clone();
        slack.posts.push(body);
        let ts = format!(
            "{}.{:06}",
            chrono::Utc::now().timestamp(),
            slack.posts.len()
        );
        slack.ts.push(ts);
        if std::mem::take(&mut slack.lose_next_answer) {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        let hang = slack.hang_action.as_deref().is_some_and(|a| action == a);
        if hang {
            slack.hang_action = None;
        }
        (slack.ts.last().unwrap().clone(), hang)
    };
    if hang {
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    Json(json!({"ok": true, "channel": "C1", "ts": ts})).into_response()
}

/// `conversations.history`: the channel's messages from `oldest` on, newest first, `limit` a
/// page (Slack's default 100), paged by `cursor`: the bot's posts with their metadata, and
/// after them `others` messages of people.
async fn history(
    State(slack): State<Arc<Mutex<Slack>>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut slack = slack.lock().unwrap();
    slack.history_reads += 1;
    let oldest: f64 = q.get("oldest").map_or(0.0, |o| o.parse().unwrap());
    let mut messages: Vec<Value> = (0..slack.posts.len())
        .map(|i| json!({"type": "message", "ts": slack.ts[i], "text": slack.posts[i]["text"], "metadata": slack.posts[i]["metadata"]}))
        .collect();
    let now = chrono::Utc::now().timestamp();
    messages.extend((0..slack.others).map(|i| json!({"type": "message", "user": "U2", "ts": format!("{now}.{:06}", 500_000 + i), "text": "chatter"})));
    messages.retain(|m| m["ts"].as_str().unwrap().parse::<f64>().unwrap() >= oldest);
    messages.reverse();
    let limit: usize = q.get("limit").map_or(100, |l| l.parse().unwrap());
    let from: usize = q.get("cursor").map_or(0, |c| c.parse().unwrap());
    let page: Vec<Value> = messages.iter().skip(from).take(limit).cloned().collect();
    let next = if from + limit < messages.len() {
        (from + limit).to_string()
    } else {
        String::new()
    };
    Json(
        json!({"ok": true, "messages": page, "has_more": !next.is_empty(),
                "response_metadata": {"next_cursor": next}}),
    )
    .into_response()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slack_post_whose_answer_was_lost_is_found_not_posted_again() {
    let (base, slack) = start_slack().await;
    slack.lock().unwrap().lose_next_answer = true;
    let text = slack_config(&base, &["notify"]);
    let sandbox = Sandbox::with_config(&text);
    record(&sandbox, &text, "d-lost", "we are blocked");
    let flush = || slack_flush(&sandbox).output().unwrap();
    assert_eq!(
        flush().status.code(),
        Some(1),
        "the lost answer fails the first attempt"
    );
    assert_eq!(
        slack.lock().unwrap().posts.len(),
        1,
        "but the message was posted"
    );
    std::thread::sleep(Duration::from_millis(100));
    let second = flush();
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(
        slack.lock().unwrap().posts.len(),
        1,
        "the retry found the post instead of posting again"
    );
    assert_eq!(slack.lock().unwrap().history_reads, 1);
    let records = sandbox.store().action_records("notify").unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].external_id, slack.lock().unwrap().ts[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_slack_post_is_found_behind_a_busy_channels_later_messages() {
    let (base, slack) = start_slack().await;
    slack.lock().unwrap().lose_next_answer = true;
    let text = slack_config(&base, &["notify"]);
    let sandbox = Sandbox::with_config(&text);
    record(&sandbox, &text, "d-busy", "we are blocked");
    assert_eq!(
        slack_flush(&sandbox).output().unwrap().status.code(),
        Some(1)
    );
    // The channel moves on: 450 messages after the bot's, more than one page of history.
    slack.lock().unwrap().others = 450;
    std::thread::sleep(Duration::from_millis(100));
    let retry = slack_flush(&sandbox).output().unwrap();
    assert!(
        retry.status.success(),
        "{}",
        String::from_utf8_lossy(&retry.stderr)
    );
    let slack = slack.lock().unwrap();
    assert_eq!(
        slack.posts.len(),
        1,
        "found three pages back, not posted again"
    );
    assert_eq!(slack.history_reads, 3);
    let records = sandbox.store().action_records("notify").unwrap();
    assert_eq!(records[0].external_id, slack.ts[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_trmctl_posted_coming_back_triggers_no_action() {
    let (base, slack) = start_slack().await;

    let sandbox = Sandbox::with_config(&server_config(&format!(
        r#"
[[rules]]
integration = "slack"
match = {{ subject = "(?i)blocked" }}
emit = "potentialTensionDetected"

[[actions]]
name = "echo"
on = "potentialTensionDetected"
integrations = ["slack"]
kind = "slack-message"
token = "env:T_BOT"
channel = "C1"
text = "Tension spotted: {{subject}}"
base_url = "{base}"
retry_base = "10ms"
retry_max = "20ms"
"#
    )));
    let server = Server::start_with_env(&sandbox, &[("T_BOT", "xoxb-test")]);
    let client = reqwest::Client::new();
    let send = |body: String| {
        let t = crate::server::now();
        client
            .post(server.url("/hooks/slack"))
            .header("X-Slack-Request-Timestamp", t.to_string())
            .header("X-Slack-Signature", slack_signature(t, body.as_bytes()))
            .header("Content-Type", "application/json")
            .body(body)
    };

    // A person's message matches the rule: the action posts once.
    let message = json!({"type": "event_callback", "event_id": "Ev1", "event_time": 1700000000,
        "event": {"type": "message", "channel": "C1", "user": "U1", "text": "we are blocked", "ts": "1700000000.000001"}});
    let status = send(message.to_string()).send().await.unwrap().status();
    assert_eq!(status, StatusCode::ACCEPTED);
    eventually("the action posted", || {
        !slack.lock().unwrap().posts.is_empty()
    })
    .await;
    let posted = slack.lock().unwrap().posts[0].clone();
    assert_eq!(posted["channel"], "C1");
    assert_eq!(posted["text"], "Tension spotted: we are blocked");
    assert_eq!(posted["metadata"]["event_type"], "trmctl_action");

    // Slack delivers the bot's own message back, with its bot_id and metadata. Its text matches
    // the rule too, but it is trmctl's own: no tension is derived from it, and no second post.
    let echo = json!({"type": "event_callback", "event_id": "Ev2", "event_time": 1700000100,
        "event": {"type": "message", "channel": "C1", "bot_id": "B1", "text": posted["text"],
                  "ts": slack.lock().unwrap().ts[0], "metadata": posted["metadata"]}});
    let status = send(echo.to_string()).send().await.unwrap().status();
    assert_eq!(status, StatusCode::ACCEPTED);
    let store = sandbox.store();
    eventually("the echo is stored", || {
        events_of(&store, "slackMessagePosted").len() == 2
    })
    .await;
    assert_eq!(events_of(&store, "potentialTensionDetected").len(), 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(slack.lock().unwrap().posts.len(), 1, "no second post");
    let records = store.action_records("echo").unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].external_id, slack.lock().unwrap().ts[0]);
    assert_eq!(events_of(&store, "externalTaskCreated").len(), 1);
    server.terminate();
}

/// What the fake HTTP endpoint was sent: (Idempotency-Key, body).
type Calls = Arc<Mutex<Vec<(String, Value)>>>;

#[tokio::test(flavor = "multi_thread")]
async fn an_http_action_calls_with_one_idempotency_key_per_event_and_action() {
    let seen: Calls = Arc::default();
    let app = axum::Router::new()
        .route(
            "/tasks",
            post(
                |State(seen): State<Calls>,
                 headers: HeaderMap,
                 Json(body): Json<Value>| async move {
                    let key = headers
                        .get("idempotency-key")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    let mut seen = seen.lock().unwrap();
                    seen.push((key, body));
                    // The first call answers an id, the next ones none.
                    Json(if seen.len() == 1 { json!({"id": "ext-42"}) } else { json!({"ok": true}) })
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let text = format!(
        "[integrations.gh]\nkind = \"github\"\nsecret = \"env:T_GH\"\n\
         [[rules]]\nintegration = \"gh\"\nmatch = {{ subject = \"(?i)blocked\" }}\nemit = \"potentialTensionDetected\"\n\
         [[actions]]\nname = \"hook\"\non = \"potentialTensionDetected\"\nkind = \"http\"\n\
         url = \"{base}/tasks\"\nbody = '{{\"title\": \"{{subject}}\"}}'\n"
    );
    let sandbox = Sandbox::with_config(&text);
    let first = record(&sandbox, &text, "d-http", "we are blocked")[1].event_id;
    let second = record(&sandbox, &text, "d-http-2", "still blocked")[1].event_id;
    ok(&flush(&sandbox));
    let calls = seen.lock().unwrap().clone();
    let keys: Vec<_> = calls.iter().map(|(key, _)| key.clone()).collect();
    assert_eq!(keys, [format!("{first}:hook"), format!("{second}:hook")]);
    assert_eq!(calls[0].1["title"], "we are blocked");
    // The answer's id, else the key: never the status, which other items could be called.
    let records = sandbox.store().action_records("hook").unwrap();
    let ids: Vec<_> = records.iter().map(|r| r.external_id.clone()).collect();
    assert_eq!(ids, ["ext-42".to_string(), format!("{second}:hook")]);

    // Another item that happens to have the id `ext-42` is not trmctl's object: it acts. The
    // object itself, coming back with its cause's id (the body's `{eventId}`), does not.
    let mut namesake = github_event("d-namesake", "blocked elsewhere", now());
    namesake.external_id = Some("ext-42".into());
    through_rules(&sandbox, &text, namesake);
    let mut echo = github_event("d-echo", "blocked: the object came back", now());
    echo.external_id = Some("ext-42".into());
    echo.data = json!({ "source": first.to_string() });
    through_rules(&sandbox, &text, echo);
    ok(&flush(&sandbox));
    let calls = seen.lock().unwrap().clone();
    let titles: Vec<_> = calls
        .iter()
        .map(|(_, body)| body["title"].clone())
        .collect();
    assert_eq!(
        titles,
        ["we are blocked", "still blocked", "blocked elsewhere"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_task_actions_on_one_event_make_a_task_each() {
    // The second action's name is a prefix of the first's: its marker must not match the
    // first one's task.
    let (tasks, _auth, text, sandbox) = task_setup(FAST_POLL, "").await;
    let base = text
        .split("base_url = \"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let text = format!(
        "{text}\n[[actions]]\nname = \"tod\"\non = \"potentialTensionDetected\"\n\
         kind = \"google-task\"\naccount = \"founder\"\ntitle = \"Review: {{subject}}\"\nbase_url = \"{base}\"\n"
    );
    sandbox.write_config(&text);
    let tension = record(&sandbox, &text, "d-two", "we are blocked")[1].event_id;
    ok(&flush(&sandbox));
    let tasks = tasks.lock().unwrap();
    let mut titles: Vec<_> = tasks.items.iter().map(|t| t.title.as_str()).collect();
    titles.sort();
    assert_eq!(
        titles,
        ["Review: we are blocked", "Tension: we are blocked"]
    );
    let store = sandbox.store();
    let recorded = |action: &str| store.action_record(action, &tension.to_string()).unwrap();
    assert_ne!(
        recorded("todo"),
        recorded("tod"),
        "each recorded its own task"
    );
}

/// An HTTP action `hook` on tensions from `gh`, calling `http://ADDR/calls`, one attempt.
fn hook_config(addr: std::net::SocketAddr) -> String {
    format!(
        "[integrations.gh]\nkind = \"github\"\nsecret = \"env:T_GH\"\n\
         [[rules]]\nintegration = \"gh\"\nmatch = {{ subject = \"(?i)blocked\" }}\nemit = \"potentialTensionDetected\"\n\
         [[actions]]\nname = \"hook\"\non = \"potentialTensionDetected\"\nkind = \"http\"\n\
         url = \"http://{addr}/calls\"\nbody = '{{\"title\": \"{{subject}}\"}}'\n\
         max_attempts = 1\nretry_base = \"10ms\"\nretry_max = \"20ms\"\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_stops_while_an_actions_flush_holds_the_actions_lock() {
    // An endpoint that takes calls and never answers them.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let (called, mut calls) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
            let _ = called.send(()).await;
        }
    });
    let text = server_config(&format!(
        "[[rules]]\nintegration = \"gh\"\nmatch = {{ subject = \"(?i)blocked\" }}\n\
         emit = \"potentialTensionDetected\"\n\
         [[actions]]\nname = \"hook\"\non = \"potentialTensionDetected\"\nkind = \"http\"\n\
         url = \"http://{addr}/calls\"\nbody = '{{\"title\": \"{{subject}}\"}}'\ntimeout = \"120s\"\n"
    ));
    let sandbox = Sandbox::with_config(&text);
    record(&sandbox, &text, "d-held", "we are blocked");
    let mut flush = sandbox
        .std_cmd()
        .args(["actions", "flush"])
        .env("T_GH", "gh-secret")
        .spawn()
        .unwrap();
    calls
        .recv()
        .await
        .expect("the flush is in its call, holding the lock");
    let server = Server::start(&sandbox);
    eventually("serve is up", || {
        server.log_text().contains("actions running")
    })
    .await;
    // Its action waits for the lock; SIGTERM must still end the process once the drain is over.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(server.terminate().code(), Some(0));
    flush.kill().unwrap();
    flush.wait().unwrap();
}

/// An HTTP action at a closed port, its state for the next event set by `counts` (an SQL
/// `SET` list for the `actions` row), then one flush: what it gave up on.
fn given_up_after(counts: &str) -> Vec<trmctl::store::GaveUpOn> {
    let addr = format!("127.0.0.1:{}", closed_port()).parse().unwrap();
    let text = hook_config(addr);
    let sandbox = Sandbox::with_config(&text);
    record(&sandbox, &text, "d-event", "we are blocked");
    assert_eq!(flush(&sandbox).status.code(), Some(1));
    sandbox
        .store()
        .transaction(|tx| {
            let sql = format!("UPDATE actions SET {counts}, next_attempt_at = NULL");
            Ok(tx.execute(&sql, [])?)
        })
        .unwrap();
    assert_eq!(flush(&sandbox).status.code(), Some(1));
    sandbox
        .store()
        .gave_up_on(trmctl::store::Follower::Action)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_never_answered_for_half_a_day_is_given_up_on_after_all() {
    // As if the endpoint had not answered 95 times already.
    let gave_up = given_up_after("attempts = 95, unanswered = 95, unanswered_in_a_row = 95");
    assert_eq!(gave_up.len(), 1, "given up on after all");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_whose_attempts_never_conclude_is_given_up_on() {
    // As if the one attempt allowed had been counted and trmctl had died in it.
    let gave_up = given_up_after("attempts = 1, unanswered = 0");
    assert_eq!(gave_up.len(), 1);
    assert!(
        gave_up[0].last_error.contains("ended without an outcome"),
        "{}",
        gave_up[0].last_error
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_that_is_down_uses_up_no_attempt_and_gets_the_call_once_back() {
    let reserved = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = reserved.local_addr().unwrap();
    drop(reserved);
    let text = hook_config(addr);
    let sandbox = Sandbox::with_config(&text);
    record(&sandbox, &text, "d-down", "we are blocked");
    for _ in 0..3 {
        assert_eq!(
            flush(&sandbox).status.code(),
            Some(1),
            "the endpoint is down"
        );
        std::thread::sleep(Duration::from_millis(30)); // past retry_max
    }
    let state = sandbox.store().action_state("hook").unwrap().unwrap();
    assert_eq!((state.attempts, state.unanswered), (3, 3));
    assert!(
        sandbox
            .store()
            .gave_up_on(trmctl::store::Follower::Action)
            .unwrap()
            .is_empty()
    );

    let seen: Calls = Arc::default();
    let app = axum::Router::new()
        .route(
            "/calls",
            post(
                |State(seen): State<Calls>, Json(body): Json<Value>| async move {
                    seen.lock().unwrap().push((String::new(), body));
                    Json(json!({"id": "call-1"}))
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let out = tokio::task::spawn_blocking(move || flush(&sandbox))
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "called once, once it is back"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_http_action_that_cannot_connect_never_shows_its_url() {
    // A webhook URL with a token in it, the usual way to authenticate such calls.
    let text = format!(
        "[integrations.gh]\nkind = \"github\"\nsecret = \"env:T_GH\"\n\
         [[rules]]\nintegration = \"gh\"\nmatch = {{ subject = \"(?i)blocked\" }}\nemit = \"potentialTensionDetected\"\n\
         [[actions]]\nname = \"hook\"\non = \"potentialTensionDetected\"\nkind = \"http\"\n\
         url = \"http://127.0.0.1:{}/hooks?token=s3cr3t-in-url\"\nbody = '{{}}'\n",
        closed_port()
    );
    let sandbox = Sandbox::with_config(&text);
    record(&sandbox, &text, "d-url", "we are blocked");
    let out = sandbox
        .cmd()
        .args(["--json", "-v", "actions", "flush"])
        .env("T_GH", "gh-secret")
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(printed.contains("POST the action's URL"), "{printed}");
    assert!(!printed.contains("s3cr3t-in-url"), "{printed}");
    let state = sandbox.store().action_state("hook").unwrap().unwrap();
    let stored = state.last_error.unwrap();
    assert!(!stored.contains("s3cr3t-in-url"), "{stored}");
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_between_creating_a_task_and_recording_it_creates_no_second_task() {
    let (tasks, _auth, text, sandbox) =
        task_setup("timeout = \"90s\"\n", "timeout = \"90s\"\n").await;
    let stored = record(&sandbox, &text, "d-kill", "we are blocked");
    let tension = stored[1].event_id.to_string();
    tasks.lock().unwrap().hang_next_answer = true;
    let mut first = sandbox
        .std_cmd()
        .args(["actions", "flush"])
        .env("T_CLIENT_SECRET", CLIENT_SECRET)
        .env("T_REFRESH", REFRESH)
        .env("T_GH", "gh-secret")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    eventually("the task is created at the provider", || {
        tasks.lock().unwrap().creates == 1
    })
    .await;
    first.kill().unwrap(); // SIGKILL: nothing after the create ran
    first.wait().unwrap();
    assert!(
        sandbox
            .store()
            .action_record("todo", &tension)
            .unwrap()
            .is_none(),
        "not recorded"
    );

    ok(&flush(&sandbox));
    let tasks = tasks.lock().unwrap();
    assert_eq!(tasks.creates, 1, "the marker was found: no second task");
    assert_eq!(tasks.items.len(), 1);
    assert_eq!(
        sandbox
            .store()
            .action_record("todo", &tension)
            .unwrap()
            .as_deref(),
        Some("task-1")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_between_posting_and_recording_posts_no_second_message() {
    // Two actions post the same event to one channel: each must find its own post, not the
    // other's.
    let (base, slack) = start_slack().await;
    slack.lock().unwrap().hang_action = Some("notify".into());
    let text = slack_config(&base, &["notify", "echo"]);
    let sandbox = Sandbox::with_config(&text);
    record(&sandbox, &text, "d-kill", "we are blocked");
    let mut first = slack_flush(&sandbox)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    eventually("notify posts", || {
        !slack.lock().unwrap().posts_of("notify").is_empty()
    })
    .await;
    first.kill().unwrap(); // SIGKILL: the post is not recorded
    first.wait().unwrap();

    let out = slack_flush(&sandbox).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let slack = slack.lock().unwrap();
    let (notify, echo) = (slack.posts_of("notify"), slack.posts_of("echo"));
    assert_eq!(
        notify.len(),
        1,
        "the retry found the post: no second message"
    );
    assert_eq!(echo.len(), 1);
    let store = sandbox.store();
    for (action, posted) in [("notify", &notify), ("echo", &echo)] {
        let records = store.action_records(action).unwrap();
        assert_eq!(records.len(), 1, "{action}");
        assert_eq!(
            &records[0].external_id, &posted[0],
            "{action} recorded its own post"
        );
    }
}

#[test]
fn secret_list_shows_an_actions_token() {
    let sandbox = Sandbox::with_config(&slack_config("http://127.0.0.1:9", &["notify"]));
    let rows = sandbox.json(&["secret", "list", "--json"]);
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "actions.notify/token")
        .unwrap_or_else(|| panic!("no row for the action's token: {rows}"));
    assert_eq!(row["location"], "env:T_BOT");
    assert_eq!(row["usedBy"], "actions[0].token");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_action_that_gives_up_leaves_a_dead_letter_that_status_shows_until_dropped() {
    let (base, slack) = start_slack().await;
    let text =
        slack_config(&base, &["notify"]).replace("retry_base", "max_attempts = 1\nretry_base");
    let sandbox = Sandbox::with_config(&text);
    let tension = record(&sandbox, &text, "d-refused", "we are blocked")[1].event_id;
    // Slack refuses the token: the one attempt fails and the action moves on.
    let out = slack_flush(&sandbox)
        .env("T_BOT", "xoxb-revoked")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(slack.lock().unwrap().posts.is_empty());
    let status = sandbox.cmd().args(["status", "--json"]).output().unwrap();
    assert_eq!(status.status.code(), Some(0), "not a re-authorization");
    let status = crate::util::json(&status);
    assert_eq!(status["ok"], false);
    assert_eq!(status["actions"][0]["name"], "notify");
    assert_eq!(status["actions"][0]["deadLetters"], 1);
    let error = status["actions"][0]["lastError"].as_str().unwrap();
    assert!(error.contains("invalid_auth"), "{error}");
    let text = sandbox.cmd().arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("action notify gave up on 1 event"), "{text}");

    // Listed with the event; dropped once dealt with (an unknown id changes nothing).
    let listed = sandbox.json(&["actions", "deadletters", "list", "--json"]);
    assert_eq!(listed[0]["name"], "notify");
    assert_eq!(listed[0]["eventId"], tension.to_string());
    sandbox
        .cmd()
        .args([
            "actions",
            "deadletters",
            "drop",
            &tension.to_string(),
            "typo",
            "typo",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no dead letters for: typo ("));
    assert_eq!(
        sandbox.json(&["actions", "deadletters", "list", "--json"]),
        listed
    );
    let dropped = sandbox.json(&["actions", "deadletters", "drop", "--all", "--json"]);
    assert_eq!(dropped["eventIds"], json!([tension.to_string()]));
    assert_eq!(sandbox.json(&["status", "--json"])["ok"], true);
}
