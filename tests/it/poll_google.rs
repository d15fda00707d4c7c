//! `google-sheets`, `google-drive` and `google-calendar` polls through the real binary, against
//! one local server speaking the documented JSON of Drive `files.get` and `changes`, Sheets
//! `values.get` and Calendar `events.list`, with the local authorization server as the token
//! endpoint. The server counts every request and can be told to fail: a status once, a
//! truncated page, a rejected or expired token.

use std::collections::HashMap;
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use trmctl::event::{Event, EventType};
use trmctl::store::EventFilter;

use crate::oauth::{AuthServer, CLIENT_SECRET};
use crate::util::Sandbox;

const REFRESH: &str = "1//poll-google-refresh";
const SHEET_ID: &str = "1AbC-sheet";
const RANGE: &str = "'Project List'!A1:E";
/// A real-looking calendar id: `#` and `@` must reach the server inside one path segment.
const CALENDAR_ID: &str = "en.team#ops@group.v.calendar.google.com";
/// Items per page, small so a few items take several pages.
const PAGE: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    SheetFile,
    SheetValues,
    DriveStart,
    DriveChanges,
    Calendar,
}

enum Fault {
    Status(u16, Value),
    /// A `200` whose JSON is cut off.
    Malformed,
}

struct Google {
    requests: Vec<(Api, HashMap<String, String>)>,
    /// (api, matching requests to let through first, fault)
    faults: Vec<(Api, usize, Fault)>,
    sheet_version: u64,
    sheet: Vec<Vec<String>>,
    /// Drive's change log; a page token is an index into it.
    changes: Vec<Value>,
    /// Page tokens below this are refused with `drive_reject`.
    drive_valid_from: usize,
    drive_reject: (u16, Value),
    /// Calendar events with the sequence number of their last change, in id order.
    calendar: Vec<(u64, Value)>,
    calendar_seq: u64,
    /// Sync tokens below this answer `410 Gone`.
    calendar_valid_from: u64,
}

type Shared = Arc<Mutex<Google>>;

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn google_error(code: u16, reason: &str, message: &str, location: Option<&str>) -> Value {
    let mut error = json!({ "domain": "global", "reason": reason, "message": message });
    if let Some(location) = location {
        error["locationType"] = json!("parameter");
        error["location"] = json!(location);
    }
    json!({ "error": { "errors": [error], "code": code, "message": message } })
}

fn respond(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).unwrap(), Json(body)).into_response()
}

impl Google {
    fn new() -> Google {
        Google {
            requests: Vec::new(),
            faults: Vec::new(),
            sheet_version: 1,
            sheet: Vec::new(),
            changes: Vec::new(),
            drive_valid_from: 0,
            drive_reject: (400, Value::Null),
            calendar: Vec::new(),
            calendar_seq: 0,
            calendar_valid_from: 0,
        }
    }

    fn set_sheet(&mut self, rows: &[&[&str]]) {
        self.sheet_version += 1;
        self.sheet = rows
            .iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
    }

    fn drive_file(&mut self, id: &str, created: DateTime<Utc>, folder: &str, trashed: bool) {
        self.changes.push(json!({
            "kind": "drive#change", "changeType": "file", "fileId": id, "removed": false,
            "time": stamp(Utc::now()),
            "file": {
                "kind": "drive#file", "id": id, "name": format!("{id}.docx"),
                "mimeType": "application/vnd.google-apps.document",
                "createdTime": stamp(created), "modifiedTime": stamp(Utc::now()),
                "parents": [folder], "trashed": trashed,
                "webViewLink": format!("https://docs.google.com/document/d/{id}/edit"),
            }
        }));
    }

    fn calendar_event(&mut self, id: &str, summary: &str, status: &str) {
        self.calendar_seq += 1;
        let updated = DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z").unwrap()
            + chrono::Duration::seconds(self.calendar_seq as i64);
        // A deleted event is sent as little more than its id (Events resource: `etag`, `id`,
        // `status`); the etag changes with each change.
        let event = if status == "cancelled" {
            json!({ "kind": "calendar#event", "etag": format!("\"{}\"", self.calendar_seq),
                    "id": id, "status": "cancelled" })
        } else {
            json!({
                "kind": "calendar#event", "id": id, "status": status, "summary": summary,
                "htmlLink": format!("https://www.google.com/calendar/event?eid={id}"),
                "created": "2026-11-01T09:00:00.000Z", "updated": stamp(updated.with_timezone(&Utc)),
                "start": { "dateTime": "2026-12-01T09:00:00+01:00", "timeZone": "Europe/Berlin" },
                "end": { "dateTime": "2026-12-01T09:30:00+01:00", "timeZone": "Europe/Berlin" },
                "organizer": { "email": "founder@example.com", "self": true },
                "attendees": [{ "email": "founder@example.com" }, { "email": "ops@example.com" }],
            })
        };
        let seq = self.calendar_seq;
        match self.calendar.iter_mut().find(|(_, e)| e["id"] == id) {
            Some(slot) => *slot = (seq, event),
            None => {
                self.calendar.push((seq, event));
                self.calendar
                    .sort_by(|a, b| a.1["id"].as_str().cmp(&b.1["id"].as_str()));
            }
        }
    }

    fn count(&self, api: Api) -> usize {
        self.requests.iter().filter(|(a, _)| *a == api).count()
    }
}

/// Records a request, checks its token, and applies a pending fault.
fn begin(
    google: &Shared,
    api: Api,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Option<Response> {
    let mut g = google.lock().unwrap();
    g.requests.push((api, query.clone()));
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !bearer.starts_with("Bearer ya29.") {
        return Some(respond(
            401,
            google_error(401, "authError", "Invalid Credentials", None),
        ));
    }
    let at = g.faults.iter().position(|(a, _, _)| *a == api)?;
    if g.faults[at].1 > 0 {
        g.faults[at].1 -= 1;
        return None;
    }
    Some(match g.faults.remove(at).2 {
        Fault::Status(status, body) => respond(status, body),
        Fault::Malformed => (
            [(header::CONTENT_TYPE, "application/json; charset=UTF-8")],
            "{\"items\": [{\"id\": \"trunc",
        )
            .into_response(),
    })
}

async fn drive_file(
    State(google): State<Shared>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(response) = begin(&google, Api::SheetFile, &headers, &query) {
        return response;
    }
    let g = google.lock().unwrap();
    if id != SHEET_ID {
        return respond(404, google_error(404, "notFound", "File not found.", None));
    }
    if query.get("fields").map(String::as_str) != Some("version,modifiedTime") {
        return respond(
            400,
            google_error(400, "invalid", "Invalid field selection", None),
        );
    }
    Json(json!({ "version": g.sheet_version.to_string(), "modifiedTime": stamp(Utc::now()) }))
        .into_response()
}

async fn sheet_values(
    State(google): State<Shared>,
    Path((id, range)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(response) = begin(&google, Api::SheetValues, &headers, &query) {
        return response;
    }
    let g = google.lock().unwrap();
    if id != SHEET_ID || range != RANGE {
        return respond(
            400,
            google_error(
                400,
                "badRequest",
                &format!("Unable to parse range: {range}"),
                None,
            ),
        );
    }
    // Like Sheets: trailing empty cells are left out.
    let values: Vec<Vec<String>> = g
        .sheet
        .iter()
        .map(|row| {
            let mut row = row.clone();
            while row.last().is_some_and(|c| c.is_empty()) {
                row.pop();
            }
            row
        })
        .collect();
    Json(json!({ "range": "'Project List'!A1:E100", "majorDimension": "ROWS", "values": values }))
        .into_response()
}

async fn drive_start(
    State(google): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(response) = begin(&google, Api::DriveStart, &headers, &query) {
        return response;
    }
    assert_eq!(
        query.get("supportsAllDrives").map(String::as_str),
        Some("true")
    );
    let g = google.lock().unwrap();
    Json(json!({ "kind": "drive#startPageToken", "startPageToken": g.changes.len().to_string() }))
        .into_response()
}

async fn drive_changes(
    State(google): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(response) = begin(&google, Api::DriveChanges, &headers, &query) {
        return response;
    }
    let g = google.lock().unwrap();
    let fields = query.get("fields").cloned().unwrap_or_default();
    let yes = |param: &str| query.get(param).map(String::as_str) == Some("true");
    if !yes("includeRemoved")
        // `docs` follows a folder, which may be in a shared drive.
        || !yes("includeItemsFromAllDrives")
        || !yes("supportsAllDrives")
        || query.get("spaces").map(String::as_str) != Some("drive")
        || !fields.contains("newStartPageToken")
        || !fields.contains("file(id,name,mimeType,modifiedTime,createdTime,parents")
    {
        return respond(400, google_error(400, "invalid", "Invalid Value", None));
    }
    let token = query.get("pageToken").and_then(|t| t.parse::<usize>().ok());
    let Some(token) = token.filter(|t| *t >= g.drive_valid_from && *t <= g.changes.len()) else {
        let (status, body) = g.drive_reject.clone();
        return respond(status, body);
    };
    let end = (token + PAGE).min(g.changes.len());
    let mut body = json!({ "kind": "drive#changeList", "changes": g.changes[token..end] });
    if end < g.changes.len() {
        body["nextPageToken"] = json!(end.to_string());
    } else {
        body["newStartPageToken"] = json!(g.changes.len().to_string());
    }
    Json(body).into_response()
}

async fn calendar_events(
    State(google): State<Shared>,
    Path(calendar): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(response) = begin(&google, Api::Calendar, &headers, &query) {
        return response;
    }
    let g = google.lock().unwrap();
    if calendar != CALENDAR_ID {
        return respond(404, google_error(404, "notFound", "Not Found", None));
    }
    if query.get("showDeleted").map(String::as_str) != Some("true")
        || query.get("maxResults").map(String::as_str) != Some("250")
        || query.contains_key("singleEvents")
    {
        return respond(400, google_error(400, "invalid", "Invalid Value", None));
    }
    let since = match query.get("syncToken") {
        None => None,
        Some(token) => {
            let n: u64 = token.trim_start_matches('s').parse().unwrap_or(0);
            if n < g.calendar_valid_from {
                return respond(
                    410,
                    google_error(
                        410,
                        "fullSyncRequired",
                        "Sync token is no longer valid, a full sync is required.",
                        None,
                    ),
                );
            }
            Some(n)
        }
    };
    let offset: usize = query
        .get("pageToken")
        .map_or(0, |p| p.trim_start_matches('p').parse().unwrap_or(0));
    let items: Vec<&Value> = g
        .calendar
        .iter()
        .filter(|(seq, _)| since.is_none_or(|n| *seq > n))
        .map(|(_, e)| e)
        .collect();
    let end = (offset + PAGE).min(items.len());
    let mut body = json!({
        "kind": "calendar#events", "summary": "Team", "timeZone": "Europe/Berlin",
        "items": items[offset.min(end)..end],
    });
    if end < items.len() {
        body["nextPageToken"] = json!(format!("p{end}"));
    } else {
        body["nextSyncToken"] = json!(format!("s{}", g.calendar_seq));
    }
    Json(body).into_response()
}

struct Env {
    google: Shared,
    _auth: AuthServer,
    sandbox: Sandbox,
}

impl Env {
    async fn start(integrations: &[&str]) -> Env {
        let google: Shared = Arc::new(Mutex::new(Google::new()));
        let app = Router::new()
            .route("/drive/v3/files/{id}", get(drive_file))
            .route("/drive/v3/changes/startPageToken", get(drive_start))
            .route("/drive/v3/changes", get(drive_changes))
            .route("/v4/spreadsheets/{id}/values/{range}", get(sheet_values))
            .route(
                "/calendar/v3/calendars/{calendar}/events",
                get(calendar_events),
            )
            .with_state(google.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        let auth = AuthServer::start().await;
        auth.books().refresh_tokens.push(REFRESH.to_string());
        let mut config = format!(
            "{}refresh_token = \"env:T_REFRESH\"\n\n[poll]\nretry_base = \"10ms\"\n\
             retry_max = \"50ms\"\ntimeout = \"10s\"\n",
            auth.account_config("founder")
        );
        for name in integrations {
            let table = match *name {
                "plan" => format!(
                    "kind = \"google-sheets\"\nspreadsheet_id = \"{SHEET_ID}\"\n\
                     range = \"{RANGE}\"\nkey_column = \"Project ID\"\n"
                ),
                "docs" => "kind = \"google-drive\"\nfolder_id = \"folder-1\"\n".to_string(),
                "team" => format!("kind = \"google-calendar\"\ncalendar_id = \"{CALENDAR_ID}\"\n"),
                other => panic!("no integration {other}"),
            };
            config.push_str(&format!(
                "\n[integrations.{name}]\n{table}account = \"founder\"\nbase_url = \"{base}\"\n"
            ));
        }
        Env {
            google,
            _auth: auth,
            sandbox: Sandbox::with_config(&config),
        }
    }

    fn google(&self) -> MutexGuard<'_, Google> {
        self.google.lock().unwrap()
    }

    /// Runs `trmctl --json poll ARGS…` (stdin closed) and returns its output and the reports.
    async fn poll(&self, args: &[&str]) -> (Output, Vec<Value>) {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("trmctl"));
        cmd.current_dir(self.sandbox.dir.path())
            .env("HOME", self.sandbox.dir.path())
            .env("XDG_CONFIG_HOME", self.sandbox.dir.path().join("config"))
            .env("XDG_DATA_HOME", self.sandbox.dir.path().join("data"))
            .env("T_CLIENT_SECRET", CLIENT_SECRET)
            .env("T_REFRESH", REFRESH)
            .env("NO_COLOR", "1")
            .env_remove("TRMCTL_CONFIG")
            .env_remove("TRMCTL_DB")
            .env_remove("RUST_LOG")
            .args(["--json", "poll"])
            .args(args)
            .stdin(Stdio::null());
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        let reports = serde_json::from_slice::<Value>(&out.stdout)
            .unwrap_or_else(|e| {
                panic!(
                    "poll printed no JSON ({e}): {}\n{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                )
            })
            .as_array()
            .unwrap()
            .clone();
        (out, reports)
    }

    /// Polls one integration that must succeed; returns its report.
    async fn poll_ok(&self, name: &str) -> Value {
        let (out, reports) = self.poll(&[name]).await;
        assert!(
            out.status.success() && reports[0]["status"] == "ok",
            "poll {name} failed: {reports:?}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        reports[0].clone()
    }

    /// Polls one integration that must fail with exit 1; returns its report.
    async fn poll_failed(&self, name: &str) -> Value {
        let (out, reports) = self.poll(&[name]).await;
        assert_eq!(out.status.code(), Some(1), "{reports:?}");
        assert_eq!(reports[0]["status"], "failed");
        reports[0].clone()
    }

    /// The integration's events, oldest first.
    fn events(&self, integration: &str) -> Vec<Event> {
        let mut events: Vec<Event> = self
            .sandbox
            .store()
            .list_events(&EventFilter {
                integration: Some(integration.to_string()),
                limit: 100_000,
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|s| s.event)
            .collect();
        events.reverse();
        events
    }

    /// Events of the integration stored after the first `skip`.
    fn new_events(&self, integration: &str, skip: usize) -> Vec<Event> {
        self.events(integration).into_iter().skip(skip).collect()
    }
}

/// (type, externalId) of events, for compact comparisons.
fn kinds(events: &[Event]) -> Vec<(EventType, String)> {
    let mut kinds: Vec<_> = events
        .iter()
        .map(|e| (e.event_type, e.external_id.clone().unwrap_or_default()))
        .collect();
    kinds.sort_by(|a, b| a.1.cmp(&b.1));
    kinds
}

fn requests(report: &Value) -> u64 {
    report["requests"].as_u64().unwrap()
}

const HEADER: &[&str] = &["Project ID", "Name", "Owner", "Status"];

#[tokio::test(flavor = "multi_thread")]
async fn a_sheet_with_rows_it_skips_polls_silently() {
    let env = Env::start(&["plan"]).await;
    env.google().set_sheet(&[
        HEADER,
        &["P1", "Alpha", "ann", ""],
        &["", "Totals", "", ""],
        &["P1", "Alpha again", "bob", ""],
    ]);
    let (out, reports) = env.poll(&["plan"]).await;
    assert!(out.status.success(), "{reports:?}");
    // Cron mails whatever a poll prints: a poll that worked says nothing without -v.
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(env.events("plan").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn sheets_rows_by_key_column_with_a_one_request_idle_poll() {
    let env = Env::start(&["plan"]).await;
    env.google().set_sheet(&[
        HEADER,
        &["P1", "Alpha", "ann", "open"],
        &["P2", "Beta", "bob", "open"],
        &["P3", "Gamma", "cy", ""],
        &["", "No key", "x", "open"],
        &["", "", "", ""],
    ]);

    // First sync: every keyed row is added; the row without a key is skipped.
    let report = env.poll_ok("plan").await;
    assert_eq!(requests(&report), 2);
    let events = env.events("plan");
    assert_eq!(
        kinds(&events),
        [
            (EventType::SheetRowAdded, "P1".into()),
            (EventType::SheetRowAdded, "P2".into()),
            (EventType::SheetRowAdded, "P3".into()),
        ]
    );
    let p1 = events
        .iter()
        .find(|e| e.external_id.as_deref() == Some("P1"))
        .unwrap();
    assert_eq!(
        p1.data,
        json!({"Project ID": "P1", "Name": "Alpha", "Owner": "ann", "Status": "open", "rowKey": "P1"})
    );
    assert_eq!(p1.source_system, "google-sheets");
    assert!(p1.dedupe_key.starts_with(&format!("sheets:{SHEET_ID}:P1:")));
    let p3 = events
        .iter()
        .find(|e| e.external_id.as_deref() == Some("P3"))
        .unwrap();
    assert_eq!(
        p3.data["Status"], "",
        "a trailing empty cell is an empty field"
    );

    // Unchanged: Drive's version answers alone.
    let report = env.poll_ok("plan").await;
    assert_eq!(
        (requests(&report), report["eventsCreated"].as_u64()),
        (1, Some(0))
    );
    assert_eq!(env.google().count(Api::SheetValues), 1);
    assert_eq!(env.google().count(Api::SheetFile), 2);

    // One row edited, one deleted, one added, and the others moved.
    env.google().set_sheet(&[
        HEADER,
        &["P4", "Delta", "dee", "new"],
        &["P3", "Gamma", "cy", ""],
        &["P1", "Alpha", "ann", "blocked"],
    ]);
    let report = env.poll_ok("plan").await;
    assert_eq!(requests(&report), 2);
    let new = env.new_events("plan", 3);
    assert_eq!(
        kinds(&new),
        [
            (EventType::SheetRowUpdated, "P1".into()),
            (EventType::SheetRowRemoved, "P2".into()),
            (EventType::SheetRowAdded, "P4".into()),
        ]
    );
    let updated = new
        .iter()
        .find(|e| e.event_type == EventType::SheetRowUpdated)
        .unwrap();
    assert_eq!(updated.data["Status"], "blocked");
    let removed = new
        .iter()
        .find(|e| e.event_type == EventType::SheetRowRemoved)
        .unwrap();
    assert!(
        removed
            .dedupe_key
            .starts_with(&format!("sheets:{SHEET_ID}:P2:removed:"))
    );
    assert_eq!(removed.data["rowKey"], "P2");

    // Rows moved to other positions (a sort): a new version, but no event.
    env.google().set_sheet(&[
        HEADER,
        &["P1", "Alpha", "ann", "blocked"],
        &["P3", "Gamma", "cy", ""],
        &["P4", "Delta", "dee", "new"],
    ]);
    let report = env.poll_ok("plan").await;
    assert_eq!(
        (requests(&report), report["eventsCreated"].as_u64()),
        (2, Some(0))
    );
    assert_eq!(env.events("plan").len(), 6);

    // A 500, then success: retried within the poll.
    env.google().set_sheet(&[
        HEADER,
        &["P1", "Alpha", "ann", "blocked"],
        &["P3", "Gamma", "cy", ""],
        &["P4", "Delta", "dee", "started"],
    ]);
    env.google().faults.push((
        Api::SheetValues,
        0,
        Fault::Status(
            500,
            google_error(500, "backendError", "Backend Error", None),
        ),
    ));
    let report = env.poll_ok("plan").await;
    assert_eq!(requests(&report), 3);
    assert_eq!(
        kinds(&env.new_events("plan", 6)),
        [(EventType::SheetRowUpdated, "P4".into())]
    );

    // A truncated answer: exit 1, nothing stored; the next poll has it all, once.
    env.google().set_sheet(&[
        HEADER,
        &["P1", "Alpha", "ann", "blocked"],
        &["P3", "Gamma", "cy", "done"],
        &["P4", "Delta", "dee", "started"],
        &["P5", "Epsilon", "eve", "new"],
    ]);
    env.google()
        .faults
        .push((Api::SheetValues, 0, Fault::Malformed));
    let report = env.poll_failed("plan").await;
    assert!(
        report["error"].as_str().unwrap().contains("malformed JSON"),
        "{report}"
    );
    assert_eq!(env.events("plan").len(), 7);
    env.poll_ok("plan").await;
    assert_eq!(
        kinds(&env.new_events("plan", 7)),
        [
            (EventType::SheetRowUpdated, "P3".into()),
            (EventType::SheetRowAdded, "P5".into()),
        ]
    );
    let report = env.poll_ok("plan").await;
    assert_eq!(
        (requests(&report), report["eventsCreated"].as_u64()),
        (1, Some(0))
    );

    // The key column renamed away: an error naming it, and nothing changes.
    env.google().set_sheet(&[
        &["ID", "Name", "Owner", "Status"],
        &["P1", "Alpha", "ann", "blocked"],
    ]);
    let report = env.poll_failed("plan").await;
    assert!(
        report["error"].as_str().unwrap().contains("`Project ID`"),
        "{report}"
    );
    assert_eq!(env.events("plan").len(), 9);

    // An account without a Drive scope: Drive says 403, the range is read every time.
    env.google().set_sheet(&[
        HEADER,
        &["P1", "Alpha", "ann", "blocked"],
        &["P3", "Gamma", "cy", "done"],
        &["P4", "Delta", "dee", "started"],
        &["P5", "Epsilon", "eve", "started"],
    ]);
    env.google().faults.push((
        Api::SheetFile,
        0,
        Fault::Status(
            403,
            google_error(
                403,
                "insufficientPermissions",
                "Request had insufficient authentication scopes.",
                None,
            ),
        ),
    ));
    let report = env.poll_ok("plan").await;
    assert_eq!(requests(&report), 2);
    assert_eq!(
        kinds(&env.new_events("plan", 9)),
        [(EventType::SheetRowUpdated, "P5".into())]
    );

    // Each dedupe key once.
    let events = env.events("plan");
    let mut keys: Vec<_> = events.iter().map(|e| e.dedupe_key.clone()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), events.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_row_edited_back_or_re_added_is_a_change_and_a_full_poll_is_not() {
    let env = Env::start(&["plan"]).await;
    let open: &[&str] = &["P1", "Alpha", "ann", "open"];
    let done: &[&str] = &["P1", "Alpha", "ann", "done"];
    let steps: [(&[&[&str]], EventType); 6] = [
        (&[HEADER, open], EventType::SheetRowAdded),
        (&[HEADER, done], EventType::SheetRowUpdated),
        (&[HEADER, open], EventType::SheetRowUpdated),
        (&[HEADER], EventType::SheetRowRemoved),
        (&[HEADER, open], EventType::SheetRowAdded),
        (&[HEADER], EventType::SheetRowRemoved),
    ];
    for (n, (sheet, kind)) in steps.into_iter().enumerate() {
        env.google().set_sheet(sheet);
        env.poll_ok("plan").await;
        assert_eq!(
            kinds(&env.new_events("plan", n)),
            [(kind, "P1".into())],
            "step {n}"
        );
    }
    // The same content again gets the next occurrence; every key is its own.
    let keys: Vec<String> = env
        .events("plan")
        .into_iter()
        .map(|e| e.dedupe_key)
        .collect();
    assert!(keys[2].ends_with(":2") && keys[4].ends_with(":3") && keys[5].ends_with(":2"));
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), keys.len(), "{keys:?}");

    // `--full` forgets the cursor, not the events: rows as they were make no event.
    env.google().set_sheet(&[HEADER, open]);
    env.poll_ok("plan").await;
    assert_eq!(env.events("plan").len(), 7);
    let (out, _) = env.poll(&["--full", "plan"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(env.events("plan").len(), 7, "nothing changed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_row_whose_key_extends_another_rows_key_stays_its_own_row() {
    let env = Env::start(&["plan"]).await;
    // `P1:removed`'s keys start like the keys of `P1`'s removals.
    env.google().set_sheet(&[
        HEADER,
        &["P1", "Alpha", "ann", "open"],
        &["P1:removed", "Beta", "bob", "open"],
    ]);
    env.poll_ok("plan").await;
    assert_eq!(env.events("plan").len(), 2);
    let (out, _) = env.poll(&["--full", "plan"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(env.events("plan").len(), 2, "unchanged rows make no event");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drive_file_restored_from_the_trash_is_a_change_even_with_its_old_modified_time() {
    let env = Env::start(&["docs"]).await;
    env.poll_ok("docs").await; // the start page token
    let change = |trashed: bool, time: &str| {
        json!({"kind": "drive#change", "changeType": "file", "fileId": "f1", "removed": false,
               "time": time, "file": {
                   "kind": "drive#file", "id": "f1", "name": "Plan.docx",
                   "mimeType": "application/vnd.google-apps.document",
                   "createdTime": "2025-01-01T00:00:00.000Z",
                   "modifiedTime": "2025-06-01T00:00:00.000Z",
                   "parents": ["folder-1"], "trashed": trashed }})
    };
    // Edited, trashed, restored, viewed (a change Drive logs that changes nothing of ours), then
    // trashed and restored again: the modified time never moves.
    for (n, (trashed, time)) in [
        (false, "2026-11-24T10:00:00.000Z"),
        (true, "2026-11-24T10:01:00.000Z"),
        (false, "2026-11-24T10:02:00.000Z"),
        (false, "2026-11-24T10:03:00.000Z"),
        (true, "2026-11-24T10:04:00.000Z"),
        (false, "2026-11-24T10:05:00.000Z"),
    ]
    .into_iter()
    .enumerate()
    {
        env.google().changes.push(change(trashed, time));
        // Each one on its own poll but the last two, which share a page.
        if n != 4 {
            env.poll_ok("docs").await;
        }
    }
    let keys: Vec<String> = env
        .events("docs")
        .into_iter()
        .map(|e| e.dedupe_key)
        .collect();
    assert_eq!(
        keys,
        [
            "drive:f1:2025-06-01T00:00:00.000Z",
            "drive:f1:trashed:2026-11-24T10:01:00.000Z",
            "drive:f1:restored:2026-11-24T10:02:00.000Z",
            "drive:f1:trashed:2026-11-24T10:04:00.000Z",
            "drive:f1:restored:2026-11-24T10:05:00.000Z",
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_refused_even_fresh_marks_the_account_for_re_authorization() {
    let env = Env::start(&["docs"]).await;
    let refused = || {
        Fault::Status(
            401,
            google_error(401, "authError", "Invalid Credentials", None),
        )
    };
    env.google().faults.push((Api::DriveStart, 0, refused()));
    env.google().faults.push((Api::DriveStart, 0, refused()));
    let (out, reports) = env.poll(&["docs"]).await;
    assert_eq!(out.status.code(), Some(4), "{reports:?}");
    // As for a refused refresh token: the account says so, and one event tells the sinks.
    let status = env.sandbox.cmd().args(["auth", "status"]).output().unwrap();
    assert_eq!(
        status.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
    let reauths = env
        .sandbox
        .events(None)
        .into_iter()
        .filter(|e| e.event_type == EventType::ReauthRequired);
    assert_eq!(reauths.count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn poll_full_on_drive_keeps_the_changes_behind_its_page_token() {
    let env = Env::start(&["docs"]).await;
    env.poll_ok("docs").await; // the start page token
    env.google()
        .drive_file("pending", Utc::now(), "folder-1", false);
    let (out, reports) = env.poll(&["--full", "docs"]).await;
    assert!(out.status.success(), "{reports:?}");
    assert_eq!(
        env.events("docs").len(),
        1,
        "the change made before --full is stored"
    );

    // A corrupt cursor still starts over.
    env.sandbox
        .store()
        .transaction(|tx| {
            tx.execute(
                "UPDATE cursors SET cursor = '{\"nope\": 1}' WHERE integration = 'docs'",
                [],
            )?;
            Ok(())
        })
        .unwrap();
    assert!(
        !env.poll(&["docs"]).await.0.status.success(),
        "corrupt without --full"
    );
    let (out, reports) = env.poll(&["--full", "docs"]).await;
    assert!(out.status.success(), "{reports:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_token_handed_back_again_ends_the_poll_instead_of_looping() {
    let env = Env::start(&["docs"]).await;
    env.poll_ok("docs").await;
    let start = env.google().changes.len().to_string();
    // Drive answers every page with the token it was asked with (a thousand times, then it
    // would behave): a poll that followed it would go on reading the same page.
    for _ in 0..1000 {
        let page = json!({"kind": "drive#changeList", "changes": [], "nextPageToken": start});
        env.google()
            .faults
            .push((Api::DriveChanges, 0, Fault::Status(200, page)));
    }
    let report = env.poll_failed("docs").await;
    let error = report["error"].as_str().unwrap();
    assert!(
        error.contains("changes.list handed back a page token it had given before"),
        "{error}"
    );
    assert_eq!(env.google().count(Api::DriveChanges), 1, "asked once");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_leaving_the_folder_is_a_change_and_coming_back_another() {
    let env = Env::start(&["docs"]).await;
    env.poll_ok("docs").await; // the start token
    let old = Utc::now() - chrono::Duration::days(400);
    env.google().drive_file("plan", old, "folder-1", false);
    env.google().drive_file("elsewhere", old, "folder-2", false);
    env.poll_ok("docs").await;
    assert_eq!(
        kinds(&env.events("docs")),
        [(EventType::DriveFileUpdated, "plan".into())]
    );

    // Moved out, then back in unchanged; a file never in the folder, deleted: nothing.
    env.google().drive_file("plan", old, "folder-2", false);
    env.poll_ok("docs").await;
    env.google().drive_file("plan", old, "folder-1", false);
    let deleted = |id: &str| {
        json!({"kind": "drive#change", "changeType": "file", "fileId": id,
                                     "removed": true, "time": stamp(Utc::now())})
    };
    env.google().changes.push(deleted("elsewhere"));
    env.poll_ok("docs").await;
    // Then deleted for good from the folder.
    env.google().changes.push(deleted("plan"));
    env.poll_ok("docs").await;

    let events = env.events("docs");
    let keys: Vec<String> = events
        .iter()
        .map(|e| e.dedupe_key.split(':').nth(2).unwrap_or("").to_string())
        .collect();
    assert_eq!(events.len(), 4, "{keys:?}");
    assert!(
        keys[1] == "left" && keys[2] == "restored" && keys[3] == "left",
        "{keys:?}"
    );
    assert_eq!(events[1].data["leftFolder"], "folder-1");
    assert_eq!(events[1].data["removed"], false);
    assert_eq!(events[3].data["removed"], true);
    assert!(
        events
            .iter()
            .all(|e| e.external_id.as_deref() == Some("plan"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn drive_changes_follow_page_tokens_in_one_folder() {
    let env = Env::start(&["docs"]).await;
    let old = Utc::now() - chrono::Duration::days(400);
    env.google().drive_file("before", old, "folder-1", false);

    // First run: only the start page token, no events.
    let report = env.poll_ok("docs").await;
    assert_eq!(requests(&report), 1);
    assert_eq!(env.google().count(Api::DriveStart), 1);
    assert!(env.events("docs").is_empty());

    {
        let mut g = env.google();
        g.drive_file("new-doc", Utc::now(), "folder-1", false);
        g.drive_file("old-doc", old, "folder-1", false);
        g.drive_file("elsewhere", Utc::now(), "folder-2", false);
        g.drive_file("binned", old, "folder-1", true);
        g.changes.push(
            json!({"kind": "drive#change", "changeType": "file", "fileId": "gone",
                              "removed": true, "time": stamp(Utc::now())}),
        );
    }
    let report = env.poll_ok("docs").await;
    assert_eq!(requests(&report), 3, "five changes in pages of two");
    assert_eq!(report["itemsFetched"], 5);
    let events = env.events("docs");
    assert_eq!(
        kinds(&events),
        [
            (EventType::DriveFileUpdated, "binned".into()),
            (EventType::DriveFileAdded, "new-doc".into()),
            (EventType::DriveFileUpdated, "old-doc".into()),
        ]
    );
    let added = events
        .iter()
        .find(|e| e.event_type == EventType::DriveFileAdded)
        .unwrap();
    let modified = added.data["modifiedTime"].as_str().unwrap();
    assert_eq!(added.dedupe_key, format!("drive:new-doc:{modified}"));
    assert_eq!(added.subject.as_deref(), Some("new-doc.docx"));
    assert_eq!(added.data["parents"], json!(["folder-1"]));
    let binned = events
        .iter()
        .find(|e| e.external_id.as_deref() == Some("binned"))
        .unwrap();
    assert_eq!(
        (
            binned.data["trashed"].clone(),
            binned.data["removed"].clone()
        ),
        (json!(true), json!(true))
    );

    // Unchanged: one request.
    let report = env.poll_ok("docs").await;
    assert_eq!(
        (requests(&report), report["eventsCreated"].as_u64()),
        (1, Some(0))
    );

    // A file created in an earlier window, changed now: updated, not added.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    env.poll_ok("docs").await;
    let created = DateTime::parse_from_rfc3339(added.data["createdTime"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc);
    env.google()
        .drive_file("new-doc", created, "folder-1", false);
    let report = env.poll_ok("docs").await;
    assert_eq!(requests(&report), 1);
    assert_eq!(
        kinds(&env.new_events("docs", 3)),
        [(EventType::DriveFileUpdated, "new-doc".into())]
    );

    // Drive rejects the stored page token (400 naming pageToken, then 404): a new start token,
    // and on from there. The change made in between is lost: Drive has no way to list it.
    for (status, location) in [(400, Some("pageToken")), (404, None)] {
        {
            let mut g = env.google();
            g.drive_file(&format!("lost-{status}"), Utc::now(), "folder-1", false);
            g.drive_valid_from = g.changes.len();
            g.drive_reject = (
                status,
                google_error(
                    status,
                    if status == 400 { "invalid" } else { "notFound" },
                    "Invalid Value",
                    location,
                ),
            );
        }
        let starts = env.google().count(Api::DriveStart);
        let report = env.poll_ok("docs").await;
        assert_eq!(requests(&report), 3, "rejected list, start token, list");
        assert_eq!(env.google().count(Api::DriveStart), starts + 1);
        env.google()
            .drive_file(&format!("after-{status}"), Utc::now(), "folder-1", false);
        env.poll_ok("docs").await;
    }
    assert_eq!(
        kinds(&env.new_events("docs", 4)),
        [
            (EventType::DriveFileAdded, "after-400".into()),
            (EventType::DriveFileAdded, "after-404".into()),
        ]
    );

    // A 400 that is not about the token is an error, not a reset.
    env.google().faults.push((
        Api::DriveChanges,
        0,
        Fault::Status(
            400,
            google_error(400, "invalid", "Invalid field selection", Some("fields")),
        ),
    ));
    let starts = env.google().count(Api::DriveStart);
    env.poll_failed("docs").await;
    assert_eq!(env.google().count(Api::DriveStart), starts);

    // A 500, then success.
    env.google()
        .drive_file("retried", Utc::now(), "folder-1", false);
    env.google().faults.push((
        Api::DriveChanges,
        0,
        Fault::Status(
            500,
            google_error(500, "backendError", "Backend Error", None),
        ),
    ));
    let report = env.poll_ok("docs").await;
    assert_eq!(requests(&report), 2);
    assert_eq!(
        kinds(&env.new_events("docs", 6)),
        [(EventType::DriveFileAdded, "retried".into())]
    );

    // Page 2 of 2 is cut off: page 1 is stored, nothing of page 2; the next poll has the rest.
    {
        let mut g = env.google();
        for id in ["p-a", "p-b", "p-c"] {
            g.drive_file(id, Utc::now(), "folder-1", false);
        }
        g.faults.push((Api::DriveChanges, 1, Fault::Malformed));
    }
    env.poll_failed("docs").await;
    assert_eq!(
        kinds(&env.new_events("docs", 7)),
        [
            (EventType::DriveFileAdded, "p-a".into()),
            (EventType::DriveFileAdded, "p-b".into())
        ]
    );
    env.poll_ok("docs").await;
    assert_eq!(
        kinds(&env.new_events("docs", 9)),
        [(EventType::DriveFileAdded, "p-c".into())]
    );
    let report = env.poll_ok("docs").await;
    assert_eq!(
        (requests(&report), report["eventsCreated"].as_u64()),
        (1, Some(0))
    );
    let events = env.events("docs");
    assert_eq!(events.len(), 10);
    assert!(
        events
            .iter()
            .all(|e| !e.external_id.as_deref().unwrap().starts_with("lost"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_calendar_event_cancelled_restored_and_cancelled_again_is_three_changes() {
    let env = Env::start(&["team"]).await;
    for (n, status) in ["confirmed", "cancelled", "confirmed", "cancelled"]
        .into_iter()
        .enumerate()
    {
        env.google().calendar_event("e1", "Standup", status);
        env.poll_ok("team").await;
        assert_eq!(env.events("team").len(), n + 1, "after {status}");
    }
    let keys: Vec<String> = env
        .events("team")
        .into_iter()
        .map(|e| e.dedupe_key)
        .collect();
    assert!(keys[1].contains(":cancelled:") && keys[3].contains(":cancelled:"));
    assert_ne!(keys[1], keys[3]);
    // The sync token expires: the full re-sync lists the cancelled event again, no new event.
    {
        let mut g = env.google();
        g.calendar_valid_from = g.calendar_seq + 1;
    }
    let report = env.poll_ok("team").await;
    assert_eq!(report["eventsCreated"], 0, "{report}");
    assert_eq!(env.events("team").len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn calendar_sync_tokens_and_a_full_resync_on_410() {
    let env = Env::start(&["team"]).await;
    {
        let mut g = env.google();
        g.calendar_event("e1", "Standup", "confirmed");
        g.calendar_event("e2", "Board meeting", "confirmed");
        g.calendar_event("e3", "Old offsite", "cancelled");
    }

    // Full sync in two pages.
    let report = env.poll_ok("team").await;
    assert_eq!(requests(&report), 2);
    let events = env.events("team");
    assert_eq!(
        kinds(&events),
        [
            (EventType::CalendarEventChanged, "e1".into()),
            (EventType::CalendarEventChanged, "e2".into()),
            (EventType::CalendarEventChanged, "e3".into()),
        ]
    );
    let e1 = &events
        .iter()
        .find(|e| e.external_id.as_deref() == Some("e1"))
        .unwrap();
    assert_eq!(
        e1.dedupe_key,
        format!("calendar:{CALENDAR_ID}:e1:2026-11-24T10:00:01.000Z")
    );
    assert_eq!(e1.subject.as_deref(), Some("Standup"));
    for (key, value) in [
        ("summary", json!("Standup")),
        ("status", json!("confirmed")),
        (
            "start",
            json!({"dateTime": "2026-12-01T09:00:00+01:00", "timeZone": "Europe/Berlin"}),
        ),
        (
            "end",
            json!({"dateTime": "2026-12-01T09:30:00+01:00", "timeZone": "Europe/Berlin"}),
        ),
        (
            "organizer",
            json!({"email": "founder@example.com", "self": true}),
        ),
        ("attendeesCount", json!(2)),
        (
            "htmlLink",
            json!("https://www.google.com/calendar/event?eid=e1"),
        ),
    ] {
        assert_eq!(e1.data[key], value, "{key}");
    }
    assert!(!env.google().requests[0].1.contains_key("syncToken"));

    // Unchanged: one request with the sync token.
    let report = env.poll_ok("team").await;
    assert_eq!(
        (requests(&report), report["eventsCreated"].as_u64()),
        (1, Some(0))
    );
    assert_eq!(env.google().requests.last().unwrap().1["syncToken"], "s3");

    // Changes: one edited, one cancelled, one new.
    {
        let mut g = env.google();
        g.calendar_event("e1", "Standup (moved)", "confirmed");
        g.calendar_event("e2", "", "cancelled");
        g.calendar_event("e4", "Hiring sync", "tentative");
    }
    let report = env.poll_ok("team").await;
    assert_eq!(requests(&report), 2);
    let new = env.new_events("team", 3);
    assert_eq!(
        kinds(&new),
        [
            (EventType::CalendarEventChanged, "e1".into()),
            (EventType::CalendarEventChanged, "e2".into()),
            (EventType::CalendarEventChanged, "e4".into()),
        ]
    );
    assert_eq!(new[1].data["status"], "cancelled");

    // The sync token expires (410 Gone): a full re-sync, and only the real change is new.
    {
        let mut g = env.google();
        g.calendar_valid_from = g.calendar_seq + 1;
        g.calendar_event("e4", "Hiring sync", "confirmed");
    }
    let report = env.poll_ok("team").await;
    assert_eq!(requests(&report), 3, "410, then the full list in two pages");
    assert_eq!(
        kinds(&env.new_events("team", 6)),
        [(EventType::CalendarEventChanged, "e4".into())]
    );
    let report = env.poll_ok("team").await;
    assert_eq!(
        (requests(&report), report["eventsCreated"].as_u64()),
        (1, Some(0))
    );

    // A 500, then success.
    env.google().calendar_event("e1", "Standup", "confirmed");
    env.google().faults.push((
        Api::Calendar,
        0,
        Fault::Status(
            503,
            google_error(503, "backendError", "Backend Error", None),
        ),
    ));
    let report = env.poll_ok("team").await;
    assert_eq!(requests(&report), 2);
    assert_eq!(
        kinds(&env.new_events("team", 7)),
        [(EventType::CalendarEventChanged, "e1".into())]
    );

    // Page 2 cut off: page 1 is stored, then the next poll has the rest, once.
    {
        let mut g = env.google();
        g.calendar_event("e1", "Standup 2", "confirmed");
        g.calendar_event("e3", "Offsite", "confirmed");
        g.calendar_event("e4", "Hiring", "confirmed");
        g.faults.push((Api::Calendar, 1, Fault::Malformed));
    }
    env.poll_failed("team").await;
    assert_eq!(
        kinds(&env.new_events("team", 8)),
        [
            (EventType::CalendarEventChanged, "e1".into()),
            (EventType::CalendarEventChanged, "e3".into())
        ]
    );
    env.poll_ok("team").await;
    assert_eq!(
        kinds(&env.new_events("team", 10)),
        [(EventType::CalendarEventChanged, "e4".into())]
    );
    let report = env.poll_ok("team").await;
    assert_eq!(
        (requests(&report), report["eventsCreated"].as_u64()),
        (1, Some(0))
    );
    assert_eq!(env.events("team").len(), 11);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_run_of_all_three_is_three_requests() {
    let env = Env::start(&["docs", "plan", "team"]).await;
    {
        let mut g = env.google();
        g.set_sheet(&[HEADER, &["P1", "Alpha", "ann", "open"]]);
        g.calendar_event("e1", "Standup", "confirmed");
    }
    let (out, reports) = env.poll(&[]).await;
    assert!(out.status.success(), "{reports:?}");
    let names: Vec<_> = reports
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["docs", "plan", "team"]);
    assert!(reports.iter().all(|r| r["status"] == "ok"), "{reports:?}");

    let before = env.google().requests.len();
    let refreshes = env._auth.books().refresh_requests;
    let (out, reports) = env.poll(&[]).await;
    assert!(out.status.success());
    assert!(reports.iter().all(|r| r["status"] == "ok"), "{reports:?}");
    let total: u64 = reports.iter().map(requests).sum();
    assert_eq!(total, 3, "{reports:?}");
    assert_eq!(
        env._auth.books().refresh_requests - refreshes,
        1,
        "one account, one token refresh per run, however many integrations"
    );
    assert_eq!(env.google().requests.len() - before, 3);
    assert_eq!(
        reports
            .iter()
            .map(|r| r["eventsCreated"].as_u64().unwrap())
            .sum::<u64>(),
        0
    );
}
