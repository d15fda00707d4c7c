//! The `gmail` connector through `trmctl poll`, against a local server speaking the Gmail
//! API's JSON (profile, messages.list, messages.get metadata, history.list) and the local
//! authorization server: full sync over pages, one request when idle, incremental history,
//! history too old, faults (5xx, 429 with Retry-After, malformed pages, a message without an
//! id), kill -9 mid-sync, a corrupt cursor, search queries, and the `--json` report.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use trmctl::event::{Event, EventType};
use trmctl::store::EventFilter;

use crate::oauth::{AuthServer, CLIENT_SECRET, EMAIL};
use crate::util::Sandbox;

const REFRESH: &str = "1//refresh-gmail-test";
/// `internalDate` of message number 0, in milliseconds.
const EPOCH_MS: i64 = 1_764_000_000_000;

// ---------------------------------------------------------------------------------------------
// The fake Gmail API.

#[derive(Clone, Debug)]
struct Msg {
    id: String,
    labels: Vec<String>,
    from: String,
    subject: String,
    internal_ms: i64,
    history_id: u64,
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    Status(u16),
    /// `429` with `Retry-After: N` seconds.
    RetryAfter(u64),
    /// `200` with a body cut in the middle.
    Malformed,
    /// messages.get: a message without its `id`.
    NoId,
}

/// What a request meets first: an answer (401, an injected fault) or the handler.
enum Gate {
    Answer(Response),
    Go(Option<Fault>),
}

#[derive(Default)]
struct Mail {
    messages: Vec<Msg>,
    /// messageAdded records: (history id, message id).
    history: Vec<(u64, String)>,
    history_id: u64,
    /// `startHistoryId` below this answers 404.
    oldest_history: u64,
    page_size: usize,
    history_page_size: usize,
    get_delay: Duration,
    /// Listed, but deleted before they are fetched.
    vanished: HashSet<String>,
    /// (endpoint, request number since the last reset, fault)
    faults: Vec<(&'static str, usize, Fault)>,
    /// Requests per endpoint since the last reset.
    counts: HashMap<&'static str, usize>,
    /// (endpoint, detail, status, when)
    log: Vec<(&'static str, String, u16, Instant)>,
    /// `q` of every messages.list.
    queries: Vec<Option<String>>,
    /// An access token messages.get refuses (`401`), though the other endpoints take it.
    refused_by_get: Option<String>,
    /// On this messages.list request (number since the last reset), add this message.
    add_on_list: Option<(usize, String)>,
    next_number: i64,
}

impl Mail {
    fn add(&mut self, id: &str, labels: &[&str], from: &str) {
        self.history_id += 1;
        let number = self.next_number;
        self.next_number += 1;
        self.messages.push(Msg {
            id: id.to_string(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            from: from.to_string(),
            subject: format!("Subject of {id}"),
            internal_ms: EPOCH_MS + number * 60_000,
            history_id: self.history_id,
        });
        self.history.push((self.history_id, id.to_string()));
        // Other changes (labels read, drafts) move the history on too.
        self.history_id += 2;
    }

    /// Counts the request and answers with an injected fault, if one is due.
    fn begin(&mut self, endpoint: &'static str, headers: &HeaderMap) -> Gate {
        let n = {
            let count = self.counts.entry(endpoint).or_default();
            *count += 1;
            *count
        };
        let authorized = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Bearer ya29."));
        let refused = endpoint == "get"
            && self.refused_by_get.as_deref().is_some_and(|token| {
                headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    == Some(&format!("Bearer {token}"))
            });
        if !authorized || refused {
            return Gate::Answer(google_error(
                StatusCode::UNAUTHORIZED,
                "Invalid Credentials",
            ));
        }
        let Some(at) = self
            .faults
            .iter()
            .position(|(e, at, _)| *e == endpoint && *at == n)
        else {
            return Gate::Go(None);
        };
        let (_, _, fault) = self.faults.remove(at);
        match fault {
            Fault::Status(status) => Gate::Answer(google_error(
                StatusCode::from_u16(status).unwrap(),
                "Backend Error",
            )),
            Fault::RetryAfter(seconds) => Gate::Answer((
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, seconds.to_string())],
                axum::Json(json!({"error": {"code": 429, "message": "Too many concurrent requests for user", "status": "RESOURCE_EXHAUSTED"}})),
            )
                .into_response()),
            Fault::Malformed => Gate::Answer((
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"messages": [{"id": "m0001", "threadId": "t1"}, {"id": "m00"#,
            )
                .into_response()),
            Fault::NoId => Gate::Go(Some(Fault::NoId)),
        }
    }

    fn record(&mut self, endpoint: &'static str, detail: String, status: u16, at: Instant) {
        self.log.push((endpoint, detail, status, at));
    }
}

fn google_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": status.as_u16(), "message": message, "errors": [{"reason": "backendError", "message": message}]}})),
    )
        .into_response()
}

/// The fake's evaluation of the search terms the tests use.
fn search_matches(q: &str, m: &Msg) -> bool {
    let has = |l: &str| m.labels.iter().any(|x| x == l);
    if has("SPAM") || has("TRASH") {
        return false;
    }
    q.split_whitespace().all(|raw| {
        let term = raw.trim_matches(|c| c == '(' || c == ')');
        let (negated, term) = match term.strip_prefix('-') {
            Some(t) => (true, t),
            None => (false, term),
        };
        let ok = match term.split_once(':') {
            Some(("in", "inbox")) => has("INBOX"),
            Some(("category", "promotions")) => has("CATEGORY_PROMOTIONS"),
            Some(("from", who)) => m.from.contains(who),
            Some(("after", t)) => m.internal_ms / 1000 > t.parse::<i64>().unwrap(),
            Some(("before", t)) => m.internal_ms / 1000 < t.parse::<i64>().unwrap(),
            _ => panic!("the fake Gmail cannot evaluate `{term}`"),
        };
        ok != negated
    })
}

type Shared = Arc<Mutex<Mail>>;

#[derive(Clone)]
struct FakeGmail {
    addr: SocketAddr,
    mail: Shared,
}

impl FakeGmail {
    async fn start() -> FakeGmail {
        let mail = Arc::new(Mutex::new(Mail {
            history_id: 1000,
            page_size: 5,
            history_page_size: 100,
            ..Default::default()
        }));
        let app = Router::new()
            .route("/gmail/v1/users/me/profile", get(profile))
            .route("/gmail/v1/users/me/messages", get(list))
            .route("/gmail/v1/users/me/messages/{id}", get(message))
            .route("/gmail/v1/users/me/history", get(history))
            .with_state(mail.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeGmail { addr, mail }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn mail(&self) -> MutexGuard<'_, Mail> {
        self.mail.lock().unwrap()
    }

    fn count(&self, endpoint: &str) -> usize {
        self.mail().counts.get(endpoint).copied().unwrap_or(0)
    }

    /// Requests per endpoint since the last reset: (profile, list, get, history).
    fn counts(&self) -> (usize, usize, usize, usize) {
        (
            self.count("profile"),
            self.count("list"),
            self.count("get"),
            self.count("history"),
        )
    }

    fn reset(&self) {
        let mut mail = self.mail();
        mail.counts.clear();
        mail.log.clear();
        mail.queries.clear();
    }
}

async fn profile(State(mail): State<Shared>, headers: HeaderMap) -> Response {
    let mut mail = mail.lock().unwrap();
    if let Gate::Answer(r) = mail.begin("profile", &headers) {
        return r;
    }
    axum::Json(json!({
        "emailAddress": EMAIL,
        "messagesTotal": mail.messages.len(),
        "threadsTotal": mail.messages.len(),
        "historyId": mail.history_id.to_string(),
    }))
    .into_response()
}

async fn list(
    State(mail): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut mail = mail.lock().unwrap();
    if let Gate::Answer(r) = mail.begin("list", &headers) {
        return r;
    }
    mail.queries.push(q.get("q").cloned());
    let n = mail.counts["list"];
    if let Some((_, id)) = mail.add_on_list.clone().filter(|(at, _)| *at == n) {
        mail.add(&id, &["INBOX"], "late@example.com");
    }
    let max: usize = q
        .get("maxResults")
        .and_then(|m| m.parse().ok())
        .unwrap_or(100);
    let size = max.min(mail.page_size);
    let offset: usize = match q.get("pageToken") {
        Some(token) => match token.parse() {
            Ok(offset) => offset,
            Err(_) => return google_error(StatusCode::BAD_REQUEST, "Invalid pageToken"),
        },
        None => 0,
    };
    // Newest first, as Gmail lists.
    let matching: Vec<&Msg> = mail
        .messages
        .iter()
        .rev()
        .filter(|m| search_matches(q.get("q").map_or("", String::as_str), m))
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(size)
        .map(|m| json!({"id": m.id, "threadId": format!("t-{}", m.id)}))
        .collect();
    let mut body = json!({"resultSizeEstimate": matching.len()});
    if !page.is_empty() {
        body["messages"] = Value::Array(page);
    }
    if offset + size < matching.len() {
        body["nextPageToken"] = json!((offset + size).to_string());
    }
    mail.record("list", format!("{offset}"), 200, Instant::now());
    axum::Json(body).into_response()
}

async fn message(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let (delay, fault) = {
        let mut mail = shared.lock().unwrap();
        let fault = mail.begin("get", &headers);
        let status = match &fault {
            Gate::Answer(r) => r.status().as_u16(),
            Gate::Go(_) => 200,
        };
        mail.record("get", id.clone(), status, Instant::now());
        match fault {
            Gate::Answer(r) => return r,
            Gate::Go(f) => (mail.get_delay, f),
        }
    };
    tokio::time::sleep(delay).await;
    let wanted: HashSet<&str> = q
        .iter()
        .filter(|(k, _)| k == "metadataHeaders")
        .map(|(_, v)| v.as_str())
        .collect();
    if !q.iter().any(|(k, v)| k == "format" && v == "metadata")
        || wanted != HashSet::from(["From", "To", "Subject", "Date"])
    {
        return google_error(
            StatusCode::BAD_REQUEST,
            "expected format=metadata with four headers",
        );
    }
    let mail = shared.lock().unwrap();
    let Some(m) = mail
        .messages
        .iter()
        .find(|m| m.id == id && !mail.vanished.contains(&m.id))
    else {
        return google_error(StatusCode::NOT_FOUND, "Requested entity was not found.");
    };
    let mut body = json!({
        "id": m.id,
        "threadId": format!("t-{}", m.id),
        "labelIds": m.labels,
        "snippet": format!("Hi, it&#39;s {}", m.id),
        "historyId": m.history_id.to_string(),
        "internalDate": m.internal_ms.to_string(),
        "sizeEstimate": 2048,
        "payload": {
            "partId": "",
            "mimeType": "multipart/alternative",
            "filename": "",
            "headers": [
                {"name": "From", "value": m.from},
                {"name": "To", "value": EMAIL},
                {"name": "Subject", "value": m.subject},
                {"name": "Date", "value": "Mon, 24 Nov 2025 16:00:00 +0000"},
            ],
        },
    });
    if matches!(fault, Some(Fault::NoId)) {
        body.as_object_mut().unwrap().remove("id");
    }
    axum::Json(body).into_response()
}

async fn history(
    State(mail): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut mail = mail.lock().unwrap();
    if let Gate::Answer(r) = mail.begin("history", &headers) {
        return r;
    }
    if q.get("historyTypes").map(String::as_str) != Some("messageAdded") {
        return google_error(StatusCode::BAD_REQUEST, "historyTypes");
    }
    let Some(start) = q.get("startHistoryId").and_then(|s| s.parse::<u64>().ok()) else {
        return google_error(StatusCode::BAD_REQUEST, "startHistoryId");
    };
    if start < mail.oldest_history {
        return google_error(StatusCode::NOT_FOUND, "Requested entity was not found.");
    }
    let offset: usize = match q.get("pageToken").map(|t| t.parse()) {
        None => 0,
        Some(Ok(offset)) => offset,
        Some(Err(_)) => return google_error(StatusCode::BAD_REQUEST, "Invalid pageToken"),
    };
    let records: Vec<&(u64, String)> = mail.history.iter().filter(|(h, _)| *h > start).collect();
    let page: Vec<Value> = records
        .iter()
        .skip(offset)
        .take(mail.history_page_size)
        .map(|(h, id)| {
            let labels = mail
                .messages
                .iter()
                .find(|m| &m.id == id)
                .map(|m| m.labels.clone())
                .unwrap_or_default();
            json!({
                "id": h.to_string(),
                "messages": [{"id": id, "threadId": format!("t-{id}")}],
                "messagesAdded": [{"message": {"id": id, "threadId": format!("t-{id}"), "labelIds": labels}}],
            })
        })
        .collect();
    let mut body = json!({"historyId": mail.history_id.to_string()});
    if !page.is_empty() {
        body["history"] = Value::Array(page);
    }
    if offset + mail.history_page_size < records.len() {
        body["nextPageToken"] = json!((offset + mail.history_page_size).to_string());
    }
    mail.record("history", format!("{start}+{offset}"), 200, Instant::now());
    axum::Json(body).into_response()
}

// ---------------------------------------------------------------------------------------------
// The sandbox running `trmctl poll` against both servers.

struct Fixture {
    _auth: AuthServer,
    gmail: FakeGmail,
    sandbox: Sandbox,
}

impl Fixture {
    async fn new(query: Option<&str>) -> Fixture {
        let auth = AuthServer::start().await;
        auth.books().refresh_tokens.push(REFRESH.to_string());
        let gmail = FakeGmail::start().await;
        let mut config = auth.account_config("founder");
        config.push_str("refresh_token = \"env:T_REFRESH\"\n\n");
        config.push_str("[poll]\nretry_base = \"10ms\"\nretry_max = \"1s\"\ntimeout = \"10s\"\n\n");
        config.push_str(&format!(
            "[integrations.mail]\nkind = \"gmail\"\naccount = \"founder\"\nbase_url = \"{}\"\n",
            gmail.url()
        ));
        if let Some(query) = query {
            config.push_str(&format!("query = \"{query}\"\n"));
        }
        Fixture {
            _auth: auth,
            gmail,
            sandbox: Sandbox::with_config(&config),
        }
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let dir = self.sandbox.dir.path();
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_trmctl"));
        cmd.current_dir(dir)
            .env("HOME", dir)
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_DATA_HOME", dir.join("data"))
            .env("T_CLIENT_SECRET", CLIENT_SECRET)
            .env("T_REFRESH", REFRESH)
            .env("NO_COLOR", "1")
            .env_remove("TRMCTL_CONFIG")
            .env_remove("TRMCTL_DB")
            .env_remove("RUST_LOG")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    async fn poll(&self, args: &[&str]) -> Output {
        let mut all = vec!["poll"];
        all.extend_from_slice(args);
        self.command(&all).output().await.unwrap()
    }

    /// A poll that must succeed silently.
    async fn poll_ok(&self) {
        let out = self.poll(&[]).await;
        assert!(out.status.success(), "poll failed: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "", "silent on success");
        assert_eq!(text(&out.stderr), "", "silent on success");
    }

    fn events(&self) -> Vec<Event> {
        self.sandbox
            .store()
            .list_events(&EventFilter {
                integration: Some("mail".into()),
                event_type: Some(EventType::EmailReceived),
                limit: 100_000,
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|s| s.event)
            .collect()
    }

    fn cursor(&self) -> Value {
        self.sandbox
            .store()
            .cursor("mail")
            .unwrap()
            .expect("a cursor")
    }

    /// Every message of `ids` is exactly one event, and there are no others.
    fn assert_each_once(&self, ids: &[String]) {
        let mut found: BTreeMap<String, usize> = BTreeMap::new();
        for event in self.events() {
            *found.entry(event.dedupe_key).or_default() += 1;
        }
        let wanted: BTreeMap<String, usize> = ids
            .iter()
            .map(|id| (format!("gmail:{EMAIL}:{id}"), 1))
            .collect();
        assert_eq!(found, wanted);
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ids(prefix: &str, range: std::ops::RangeInclusive<usize>) -> Vec<String> {
    range.map(|n| format!("{prefix}{n:03}")).collect()
}

fn add_inbox(gmail: &FakeGmail, ids: &[String]) {
    let mut mail = gmail.mail();
    for id in ids {
        mail.add(id, &["INBOX", "UNREAD"], "Ada <ada@example.com>");
    }
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", text(&out.stdout)))
}

// ---------------------------------------------------------------------------------------------
// Cases.

#[tokio::test(flavor = "multi_thread")]
async fn full_sync_then_one_request_when_idle_then_only_new_messages() {
    let f = Fixture::new(Some("in:inbox -category:promotions")).await;
    let inbox = ids("m", 1..=21);
    {
        let mut mail = f.gmail.mail();
        mail.history_page_size = 2;
        for (n, id) in inbox.iter().enumerate() {
            mail.add(id, &["INBOX", "UNREAD"], "Ada <ada@example.com>");
            match n {
                3 => mail.add(
                    "p001",
                    &["INBOX", "CATEGORY_PROMOTIONS"],
                    "shop@example.com",
                ),
                8 => mail.add("s001", &["SENT"], EMAIL),
                12 => mail.add("x001", &["INBOX", "SPAM"], "spam@example.com"),
                15 => mail.add(
                    "p002",
                    &["INBOX", "CATEGORY_PROMOTIONS"],
                    "shop@example.com",
                ),
                _ => {}
            }
        }
        // Listed, then deleted before it is fetched: skipped, not an error.
        mail.vanished.insert("m007".into());
    }
    f.poll_ok().await;
    let stored: Vec<String> = inbox.iter().filter(|id| *id != "m007").cloned().collect();
    f.assert_each_once(&stored);
    // getProfile, 5 pages of 5 (21 matches), and every listed message.
    assert_eq!(f.gmail.counts(), (1, 5, 21, 0));
    {
        let mail = f.gmail.mail();
        assert!(
            mail.queries
                .iter()
                .all(|q| q.as_deref() == Some("in:inbox -category:promotions"))
        );
    }
    let history_id = f.gmail.mail().history_id;
    assert_eq!(
        f.cursor(),
        json!({"historyId": history_id.to_string(), "phase": "incremental", "email": EMAIL})
    );
    let event = f
        .events()
        .into_iter()
        .find(|e| e.external_id.as_deref() == Some("m003"))
        .unwrap();
    assert_eq!(event.source_system, "gmail");
    assert_eq!(event.integration, "mail");
    assert_eq!(event.subject.as_deref(), Some("Subject of m003"));
    assert_eq!(event.occurred_at.timestamp_millis(), EPOCH_MS + 2 * 60_000);
    assert_eq!(event.data["from"], "Ada <ada@example.com>");
    assert_eq!(event.data["to"], EMAIL);
    assert_eq!(event.data["subject"], "Subject of m003");
    assert_eq!(event.data["date"], "Mon, 24 Nov 2025 16:00:00 +0000");
    assert_eq!(event.data["snippet"], "Hi, it's m003");
    assert_eq!(event.data["labelIds"], json!(["INBOX", "UNREAD"]));
    assert_eq!(event.data["threadId"], "t-m003");
    assert!(
        event.data["historyId"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );

    // Nothing new: exactly one request, history.list, and no events.
    f.gmail.reset();
    let out = f.poll(&["--json"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = &json_of(&out)[0];
    assert_eq!(report["requests"], 1);
    assert_eq!(report["eventsCreated"], 0);
    assert_eq!(f.gmail.counts(), (0, 0, 0, 1));
    assert_eq!(f.events().len(), stored.len());

    // New mail: only the added messages that match the query become events.
    f.gmail.reset();
    {
        let mut mail = f.gmail.mail();
        mail.add("n001", &["INBOX", "UNREAD"], "Bob <bob@example.com>");
        mail.add(
            "p003",
            &["INBOX", "CATEGORY_PROMOTIONS"],
            "shop@example.com",
        );
        mail.add("s002", &["SENT"], EMAIL);
        mail.add("n002", &["INBOX"], "Cy <cy@example.com>");
        mail.add("n003", &["INBOX"], "Di <di@example.com>");
        mail.vanished.insert("n003".into());
    }
    f.poll_ok().await;
    let mut now_stored = stored.clone();
    now_stored.extend(["n001".to_string(), "n002".to_string()]);
    f.assert_each_once(&now_stored);
    // Five records, two per page: three history pages; five gets; no list, no profile.
    assert_eq!(f.gmail.counts(), (0, 0, 5, 3));
    let history_id = f.gmail.mail().history_id;
    assert_eq!(f.cursor()["historyId"], history_id.to_string());
    assert_eq!(f.cursor()["phase"], "incremental");

    f.gmail.reset();
    f.poll_ok().await;
    assert_eq!(f.gmail.counts(), (0, 0, 0, 1));
    f.assert_each_once(&now_stored);
}

#[tokio::test(flavor = "multi_thread")]
async fn history_too_old_resyncs_in_full_without_duplicates() {
    let f = Fixture::new(None).await;
    let first = ids("m", 1..=12);
    add_inbox(&f.gmail, &first);
    f.poll_ok().await;
    f.assert_each_once(&first);

    let more = ids("m", 13..=15);
    add_inbox(&f.gmail, &more);
    {
        let mut mail = f.gmail.mail();
        mail.oldest_history = mail.history_id;
    }
    f.gmail.reset();
    let out = f.poll(&["--json"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = &json_of(&out)[0];
    assert_eq!(
        report["eventsCreated"], 3,
        "the re-sync's repeats are no-ops"
    );
    // history 404, then getProfile, 3 pages of 5, 15 gets.
    assert_eq!(f.gmail.counts(), (1, 3, 15, 1));
    let all: Vec<String> = first.iter().chain(&more).cloned().collect();
    f.assert_each_once(&all);
    assert_eq!(f.cursor()["phase"], "incremental");

    f.gmail.reset();
    f.poll_ok().await;
    assert_eq!(f.gmail.counts(), (0, 0, 0, 1));
    f.assert_each_once(&all);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_arriving_during_the_full_sync_is_caught_by_the_next_run() {
    let f = Fixture::new(None).await;
    let first = ids("m", 1..=12);
    add_inbox(&f.gmail, &first);
    // Arrives while page 2 is listed: it lands on page 1 (newest first), already read.
    f.gmail.mail().add_on_list = Some((2, "late".into()));
    f.poll_ok().await;
    f.assert_each_once(&first);

    f.gmail.reset();
    f.poll_ok().await;
    let mut all = first.clone();
    all.push("late".into());
    f.assert_each_once(&all);
    assert_eq!(f.gmail.counts(), (0, 0, 1, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_are_retried_or_fail_without_moving_the_cursor() {
    let f = Fixture::new(None).await;
    let all = ids("m", 1..=15);
    add_inbox(&f.gmail, &all);
    {
        let mut mail = f.gmail.mail();
        mail.faults.push(("list", 1, Fault::Status(500)));
        mail.faults.push(("get", 2, Fault::RetryAfter(1)));
        // Page 2 (the 3rd list request, after the 500 and page 1) is cut off.
        mail.faults.push(("list", 3, Fault::Malformed));
    }
    let out = f.poll(&[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("mail"), "{stderr}");
    assert!(stderr.contains("malformed"), "{stderr}");
    assert!(stderr.contains("/gmail/v1/users/me/messages"), "{stderr}");
    assert_eq!(text(&out.stdout), "");
    // Page 1 is stored, and the cursor points at page 2.
    let page1: Vec<String> = all[10..].iter().rev().cloned().collect();
    f.assert_each_once(&page1);
    let cursor = f.cursor();
    assert_eq!(cursor["phase"], "full");
    assert_eq!(cursor["pageToken"], "5");
    // The 429 was retried after its Retry-After.
    {
        let mail = f.gmail.mail();
        let (_, id, _, refused) = mail
            .log
            .iter()
            .find(|(e, _, status, _)| *e == "get" && *status == 429)
            .cloned()
            .expect("a 429");
        let retried = mail
            .log
            .iter()
            .find(|(e, i, status, at)| *e == "get" && *i == id && *status == 200 && *at > refused)
            .expect("the 429 was retried")
            .3;
        assert!(
            retried.duration_since(refused) >= Duration::from_secs(1),
            "retried after {:?}",
            retried.duration_since(refused)
        );
    }

    // A message without its id: a schema error naming the field; nothing of the page stored.
    f.gmail.reset();
    f.gmail.mail().faults.push(("get", 3, Fault::NoId));
    let out = f.poll(&[]).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("`/id`"), "{stderr}");
    f.assert_each_once(&page1);
    assert_eq!(f.cursor(), cursor);
    assert_eq!(
        f.gmail.count("profile"),
        0,
        "a full sync resumes at its page"
    );

    // Then a clean run: every message exactly once, the rest fetched from page 2 on.
    f.gmail.reset();
    f.poll_ok().await;
    f.assert_each_once(&all);
    assert_eq!(f.gmail.counts(), (0, 2, 10, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_access_token_refused_to_requests_in_flight_together_is_refreshed_once() {
    let f = Fixture::new(None).await;
    let all = ids("m", 1..=8);
    add_inbox(&f.gmail, &all);
    // Gmail fetches up to eight messages at once: all those sent with the run's first access
    // token are refused it.
    f.gmail.mail().refused_by_get = Some("ya29.refreshed-1".into());
    f.poll_ok().await;
    f.assert_each_once(&all);
    assert_eq!(
        f._auth.books().refresh_requests,
        2,
        "the run's first token, then one replacement for all the requests refused"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_mid_full_sync_then_every_message_is_one_event() {
    let f = Fixture::new(None).await;
    let all = ids("m", 1..=60);
    add_inbox(&f.gmail, &all);
    {
        let mut mail = f.gmail.mail();
        mail.page_size = 10;
        mail.get_delay = Duration::from_millis(100);
    }
    let mut child = f.command(&["poll"]).spawn().unwrap();
    let db = f.sandbox.db_path();
    let started = Instant::now();
    let stored_at_kill = loop {
        let stored = count_events(&db);
        if stored > 0 {
            break stored;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no page was committed"
        );
        assert!(child.try_wait().unwrap().is_none(), "poll ended early");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    child.start_kill().unwrap();
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), None, "killed by a signal");
    assert!(
        stored_at_kill < 60,
        "killed mid-sync ({stored_at_kill} stored)"
    );
    assert_eq!(f.cursor()["phase"], "full");

    f.gmail.reset();
    f.gmail.mail().get_delay = Duration::ZERO;
    f.poll_ok().await;
    f.assert_each_once(&all);
    let (profile, _, gets, _) = f.gmail.counts();
    assert_eq!(profile, 0, "resumed, not restarted");
    assert!(gets < 60, "resumed at the stored page ({gets} gets)");
    assert_eq!(f.cursor()["phase"], "incremental");
}

/// Events stored so far, read while another process writes.
fn count_events(db: &std::path::Path) -> i64 {
    if !db.exists() {
        return 0;
    }
    let Ok(conn) =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return 0;
    };
    conn.query_row(
        "SELECT count(*) FROM events WHERE integration = 'mail'",
        [],
        |r| r.get(0),
    )
    .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn json_report_and_silence() {
    let f = Fixture::new(None).await;
    let first = ids("m", 1..=7);
    add_inbox(&f.gmail, &first);
    let out = f.poll(&["--json"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    let reports = json_of(&out);
    assert_eq!(reports.as_array().unwrap().len(), 1);
    let report = reports[0].as_object().unwrap();
    let keys: HashSet<&str> = report.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        HashSet::from([
            "name",
            "status",
            "itemsFetched",
            "eventsCreated",
            "requests",
            "durationMs",
            "error"
        ])
    );
    assert_eq!(report["name"], "mail");
    assert_eq!(report["status"], "ok");
    assert_eq!(report["itemsFetched"], 7);
    assert_eq!(report["eventsCreated"], 7);
    // getProfile, two list pages, seven gets.
    assert_eq!(report["requests"], 10);
    assert!(report["durationMs"].is_u64());
    assert_eq!(report["error"], Value::Null);

    add_inbox(&f.gmail, &["m008".to_string()]);
    f.poll_ok().await;
    f.assert_each_once(&ids("m", 1..=8));

    // A failure is reported in the JSON too.
    f.gmail.reset();
    f.gmail
        .mail()
        .faults
        .push(("history", 1, Fault::Status(400)));
    let out = f.poll(&["--json"]).await;
    assert_eq!(out.status.code(), Some(1));
    let report = &json_of(&out)[0];
    assert_eq!(report["status"], "failed");
    assert!(
        report["error"].as_str().unwrap().contains("400"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_cursor_names_the_fix_and_full_recovers() {
    let f = Fixture::new(None).await;
    let first = ids("m", 1..=4);
    add_inbox(&f.gmail, &first);
    f.poll_ok().await;
    let conn = rusqlite::Connection::open(f.sandbox.db_path()).unwrap();
    for broken in [
        r#"{"phase": "sideways", "historyId": "5"}"#,
        r#"{"phase": "incremental", "historyId": "not-a-number"}"#,
        r#"{"phase": "incremental", "histor"#,
    ] {
        conn.execute(
            "UPDATE cursors SET cursor = ?1 WHERE integration = 'mail'",
            [broken],
        )
        .unwrap();
        f.gmail.reset();
        let out = f.poll(&[]).await;
        assert_eq!(out.status.code(), Some(1), "{broken}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("corrupt"), "{stderr}");
        assert!(stderr.contains("trmctl poll --full mail"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(f.gmail.counts(), (0, 0, 0, 0), "nothing asked of Gmail");
    }
    drop(conn);
    f.gmail.reset();
    let out = f.poll(&["--full", "mail"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(f.gmail.counts(), (1, 1, 4, 0));
    f.assert_each_once(&first);
    assert_eq!(f.cursor()["phase"], "incremental");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_history_page_token_gmail_refuses_pages_again_from_the_history_id() {
    let f = Fixture::new(None).await;
    let first = ids("m", 1..=3);
    add_inbox(&f.gmail, &first);
    f.poll_ok().await;
    let later = ids("n", 1..=2);
    add_inbox(&f.gmail, &later);
    // As if a run died mid-way through history pages and Gmail then forgot the token.
    let mut cursor = f.cursor();
    cursor["pageToken"] = json!("expired-token");
    let conn = rusqlite::Connection::open(f.sandbox.db_path()).unwrap();
    conn.execute(
        "UPDATE cursors SET cursor = ?1 WHERE integration = 'mail'",
        [cursor.to_string()],
    )
    .unwrap();
    f.gmail.reset();
    f.poll_ok().await;
    f.assert_each_once(&[first, later].concat());
    assert!(f.cursor().get("pageToken").is_none_or(Value::is_null));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_search_query_is_confirmed_by_messages_list_for_new_mail() {
    let f = Fixture::new(Some("from:boss@bigclient.com")).await;
    {
        let mut mail = f.gmail.mail();
        mail.add("b001", &["INBOX"], "Boss <boss@bigclient.com>");
        mail.add("o001", &["INBOX"], "Other <other@example.com>");
        mail.add("b002", &["INBOX"], "Boss <boss@bigclient.com>");
    }
    f.poll_ok().await;
    f.assert_each_once(&["b001".into(), "b002".into()]);
    assert_eq!(f.gmail.counts(), (1, 1, 2, 0));

    f.gmail.reset();
    {
        let mut mail = f.gmail.mail();
        mail.add("b003", &["INBOX"], "Boss <boss@bigclient.com>");
        mail.add("o002", &["INBOX"], "Other <other@example.com>");
        mail.add("b004", &["SPAM"], "Boss <boss@bigclient.com>");
    }
    f.poll_ok().await;
    f.assert_each_once(&["b001".into(), "b002".into(), "b003".into()]);
    // One history page, three gets, one search over their time span.
    assert_eq!(f.gmail.counts(), (0, 1, 3, 1));
    let q = f.gmail.mail().queries[0].clone().unwrap();
    assert!(
        q.starts_with("(from:boss@bigclient.com) after:") && q.contains(" before:"),
        "{q}"
    );
}
