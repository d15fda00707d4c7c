//! `google-sheets`: a range of a spreadsheet as rows keyed by `key_column` (SPEC §7).
//!
//! A poll first asks Drive for the spreadsheet's `version` (one cheap request); when it is the
//! version of the last read, nothing changed and the poll ends there. Otherwise it reads the
//! range, takes the first row as headers, and keys every other row by the value in the
//! `key_column` header: never by row position, since rows get inserted, sorted, moved and
//! deleted. Each row's content hash is compared with the one stored in the cursor, giving
//! `sheetRowAdded`, `sheetRowUpdated` and `sheetRowRemoved`; a moved row hashes the same and
//! makes no event. The events and the new cursor are committed in one transaction.
//!
//! Memory: the Sheets API returns a range in one response, and telling a removed row from an
//! unchanged one needs every key of the last read, so the cursor holds one short hash per row.
//! That is inherent to diffing a sheet; it is a few dozen bytes a row, not the rows themselves.
//!
//! Dedupe keys carry the content hash (`sheets:{id}:{key}:{hash}`, `…:removed:{hash}`), so
//! re-reading a sheet (a crash before the commit) never makes an event twice. A row edited
//! back to content it had before (a status set to `open`, `done`, then `open` again), or
//! removed and re-added, is a change too: its key then gets the occurrence, `…:{hash}:2`, the
//! first number no stored event has. And since `poll --full` forgets the cursor but not the
//! events, a row it reads as added is compared with the row's latest event: the same content
//! is no change.

use std::collections::{BTreeMap, HashSet};

use anyhow::{Context as _, Result, anyhow};
use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{GOOGLEAPIS, api_url, rfc3339_seconds as parse_time};
use super::{SchemaError, optional_array, subject};
use crate::event::{Event, EventType, now};
use crate::poll::context::Context;
use crate::poll::http::{Cost, Http};

/// The Sheets API's host when `base_url` is not set.
const SHEETS_HOST: &str = "https://sheets.googleapis.com";

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cursor {
    /// The spreadsheet's Drive `version` at the last read (`None` when Drive could not say).
    #[serde(default)]
    version: Option<String>,
    /// The spreadsheet, range and key column the hashes belong to: after a config change they
    /// are not compared (that would report every row as removed and added). A cursor written
    /// before the spreadsheet was recorded has none, and is taken as the configured one.
    #[serde(default)]
    spreadsheet: Option<String>,
    #[serde(default)]
    range: Option<String>,
    #[serde(default)]
    key_column: Option<String>,
    /// Row key → content hash.
    #[serde(default)]
    rows: BTreeMap<String, String>,
}

impl Cursor {
    /// Whether the hashes are of this spreadsheet, range and key column.
    fn describes(&self, spreadsheet: &str, range: &str, key_column: &str) -> bool {
        self.spreadsheet.as_deref().is_none_or(|s| s == spreadsheet)
            && self.range.as_deref() == Some(range)
            && self.key_column.as_deref() == Some(key_column)
    }
}

pub async fn poll(ctx: &mut Context<'_>) -> Result<()> {
    let cfg = ctx.cfg;
    let id = cfg
        .spreadsheet_id
        .as_deref()
        .context("a google-sheets integration needs `spreadsheet_id`")?;
    let range = cfg
        .range
        .as_deref()
        .context("a google-sheets integration needs `range`")?;
    let key_column = cfg
        .key_column
        .as_deref()
        .context("a google-sheets integration needs `key_column`")?;
    let previous = ctx
        .cursor::<Cursor>()?
        .filter(|c| c.describes(id, range, key_column));

    // The version is read before the values: if the sheet changes in between, the stored
    // version is older than the rows read, and the next poll reads again (and finds nothing
    // new) instead of missing the change.
    let (version, modified) = file_version(
        ctx.http,
        cfg.base_url.as_deref(),
        ctx.name,
        cfg.account.as_deref(),
        id,
    )
    .await?;
    if let (Some(version), Some(previous)) = (&version, &previous)
        && previous.version.as_ref() == Some(version)
    {
        return Ok(());
    }

    let url = api_url(
        cfg.base_url.as_deref(),
        SHEETS_HOST,
        &["v4", "spreadsheets", id, "values", range],
    )?;
    let reply = ctx
        .http
        .get(
            url.as_str(),
            &[("majorDimension", "ROWS".to_string())],
            HeaderMap::new(),
            Cost::SheetsReads(1),
            &[],
        )
        .await?;
    let body = reply
        .json
        .ok_or_else(|| anyhow!("GET /v4/spreadsheets/…/values answered an empty body"))?;
    let old = previous.map(|p| p.rows).unwrap_or_default();
    let diff = diff(
        ctx.name,
        id,
        key_column,
        &body,
        &old,
        modified.unwrap_or_else(now),
    )?;
    let events = settle(ctx.store, ctx.name, id, diff.events)?;
    let cursor = Cursor {
        version,
        spreadsheet: Some(id.to_string()),
        range: Some(range.to_string()),
        key_column: Some(key_column.to_string()),
        rows: diff.rows,
    };
    ctx.commit(events, &serde_json::to_value(&cursor)?, diff.items)
}

/// Gives each change the dedupe key of its occurrence, and drops a row "added" with the content
/// of its latest event (see the module comment).
fn settle(
    store: &crate::store::Store,
    integration: &str,
    spreadsheet: &str,
    events: Vec<Event>,
) -> Result<Vec<Event>> {
    let mut settled = Vec::with_capacity(events.len());
    for mut event in events {
        let row = event.external_id.clone().unwrap_or_default();
        let prefix = format!("sheets:{spreadsheet}:{row}:");
        if event.event_type == EventType::SheetRowAdded {
            let change = event.dedupe_key.strip_prefix(&prefix).and_then(change_of);
            // By external id too: row `X:removed`'s keys start like row `X`'s removals.
            let latest = store
                .latest_item_key(integration, &row, &prefix)?
                .and_then(|key| key.strip_prefix(&prefix).and_then(change_of));
            if latest.is_some() && latest == change {
                continue;
            }
        }
        event.dedupe_key = unused_key(store, integration, &event.dedupe_key)?;
        settled.push(event);
    }
    Ok(settled)
}

/// `key`, or `key:2`, `key:3`, … : the first no stored event has.
fn unused_key(store: &crate::store::Store, integration: &str, key: &str) -> Result<String> {
    if !store.has_dedupe_key(integration, key)? {
        return Ok(key.to_string());
    }
    let mut occurrence = 2u32;
    loop {
        let numbered = format!("{key}:{occurrence}");
        if !store.has_dedupe_key(integration, &numbered)? {
            return Ok(numbered);
        }
        occurrence = occurrence.saturating_add(1);
    }
}

/// The change a row's dedupe key names after `sheets:{id}:{row}:` — `{hash}` or
/// `removed:{hash}`, without an occurrence number; `None` for anything else (the key of another
/// row whose own key starts with this row's key and a colon).
fn change_of(rest: &str) -> Option<String> {
    let mut parts = rest.split(':');
    let first = parts.next()?;
    let (removed, hash) = match first {
        "removed" => (true, parts.next()?),
        hash => (false, hash),
    };
    let numbered = parts.next().is_none_or(|n| n.parse::<u32>().is_ok());
    let is_hash = hash.len() == 32 && hash.bytes().all(|b| b.is_ascii_hexdigit());
    (numbered && is_hash && parts.next().is_none()).then(|| {
        if removed {
            format!("removed:{hash}")
        } else {
            hash.to_string()
        }
    })
}

/// Drive's `version` and `modifiedTime` of the spreadsheet. An account authorized without a
/// Drive scope gets a 403 here: the poll then reads the range every time, and says how to
/// get the one-request check back.
async fn file_version(
    http: &Http,
    base: Option<&str>,
    integration: &str,
    account: Option<&str>,
    id: &str,
) -> Result<(Option<String>, Option<DateTime<Utc>>)> {
    let url = api_url(base, GOOGLEAPIS, &["drive", "v3", "files", id])?;
    let query = [
        ("fields", "version,modifiedTime".to_string()),
        ("supportsAllDrives", "true".to_string()),
    ];
    let reply = match http
        .get(
            url.as_str(),
            &query,
            HeaderMap::new(),
            Cost::DriveQueries(1),
            &[],
        )
        .await
    {
        Ok(reply) => reply,
        Err(e)
            if format!("{e:#}")
                .to_ascii_lowercase()
                .contains("insufficient") =>
        {
            tracing::info!(
                integration,
                "Drive refused the version check (the account has no Drive scope): reading the \
                 whole range every poll; `trmctl auth google {} --scopes sheets,drive-metadata` \
                 makes an unchanged sheet one request",
                account.unwrap_or("ACCOUNT")
            );
            return Ok((None, None));
        }
        Err(e) => return Err(e),
    };
    let body = reply.json.unwrap_or(Value::Null);
    // `version` is an int64, which Google's JSON writes as a string.
    let version = match body.get("version") {
        Some(Value::String(v)) if !v.is_empty() => v.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(SchemaError("field `version` of the Drive file is missing".into()).into()),
    };
    let modified = parse_time(body.get("modifiedTime").and_then(Value::as_str));
    Ok((Some(version), modified))
}

struct Diff {
    events: Vec<Event>,
    /// Row key → content hash, for the next cursor.
    rows: BTreeMap<String, String>,
    /// Data rows read.
    items: u64,
}

/// Compares the rows of a `values` answer with the previous hashes.
fn diff(
    integration: &str,
    spreadsheet: &str,
    key_column: &str,
    body: &Value,
    old: &BTreeMap<String, String>,
    at: DateTime<Utc>,
) -> Result<Diff, SchemaError> {
    // Google leaves `values` out of an empty range.
    let rows = optional_array(body, "values")?;
    let cells = |index: usize, row: &Value| -> Result<Vec<Value>, SchemaError> {
        row.as_array()
            .cloned()
            .ok_or_else(|| SchemaError(format!("field `values[{index}]` is not an array")))
    };
    let headers = match rows.first() {
        Some(row) => column_names(&cells(0, row)?),
        None => Vec::new(),
    };
    // An empty range (cleared of everything, its header row too) holds no rows: each row seen
    // before is removed, and there is no header row to look for the key column in yet.
    let key_at = headers
        .iter()
        .position(|h| h.trim() == key_column.trim())
        .or(rows.is_empty().then_some(0))
        .ok_or_else(|| {
            SchemaError(format!(
                "the key column `{key_column}` is not among the headers of the range (first row: {})",
                if headers.is_empty() {
                    "empty".to_string()
                } else {
                    headers.join(", ")
                }
            ))
        })?;

    let mut events = Vec::new();
    let mut hashes = BTreeMap::new();
    let mut seen = HashSet::new();
    let mut items = 0;
    for (index, row) in rows.iter().enumerate().skip(1) {
        let row = cells(index, row)?;
        if row.iter().all(is_empty) {
            continue;
        }
        items += 1;
        let key = row.get(key_at).map(text).unwrap_or_default();
        let key = key.trim();
        if key.is_empty() {
            tracing::info!(
                integration,
                row = index + 1,
                "a row without a value in `{key_column}` is skipped"
            );
            continue;
        }
        if !seen.insert(key.to_string()) {
            tracing::info!(
                integration,
                row = index + 1,
                "`{key_column}` {key} appears twice; only its first row counts"
            );
            continue;
        }
        let mut data = Map::new();
        let mut content = BTreeMap::new();
        for (column, value) in row.iter().enumerate() {
            let name = match headers.get(column) {
                Some(name) => name.clone(),
                None => format!("column {}", column + 1),
            };
            if !is_empty(value) {
                content.insert(name.clone(), value.clone());
            }
            data.insert(name, value.clone());
        }
        for name in headers.iter().skip(row.len()) {
            data.insert(name.clone(), Value::String(String::new()));
        }
        let hash = content_hash(&content);
        let event_type = match old.get(key) {
            None => Some(EventType::SheetRowAdded),
            Some(previous) if *previous != hash => Some(EventType::SheetRowUpdated),
            Some(_) => None,
        };
        if let Some(event_type) = event_type {
            data.insert("rowKey".into(), Value::String(key.to_string()));
            let verb = if event_type == EventType::SheetRowAdded {
                "added"
            } else {
                "updated"
            };
            events.push(row_event(
                integration,
                event_type,
                format!("sheets:{spreadsheet}:{key}:{hash}"),
                key,
                &format!("{key_column} {key} {verb}"),
                Value::Object(data),
                at,
            ));
        }
        hashes.insert(key.to_string(), hash);
    }
    for (key, previous) in old {
        if !hashes.contains_key(key) {
            // Only the hash of a removed row is known, not its cells.
            let mut data = Map::new();
            data.insert("rowKey".into(), Value::String(key.clone()));
            events.push(row_event(
                integration,
                EventType::SheetRowRemoved,
                format!("sheets:{spreadsheet}:{key}:removed:{previous}"),
                key,
                &format!("{key_column} {key} removed"),
                Value::Object(data),
                at,
            ));
        }
    }
    Ok(Diff {
        events,
        rows: hashes,
        items,
    })
}

fn row_event(
    integration: &str,
    event_type: EventType,
    dedupe_key: String,
    key: &str,
    summary: &str,
    data: Value,
    at: DateTime<Utc>,
) -> Event {
    let mut event = Event::new(event_type, integration, "google-sheets", dedupe_key, at);
    event.external_id = Some(key.to_string());
    event.subject = Some(subject(summary));
    event.data = data;
    event
}

/// The content hash of a row: SHA-256 of its non-empty cells as a JSON object keyed by header,
/// in header order-independent form, cut to 128 bits. Keyed by header rather than position, a
/// column moved or an empty column inserted changes no row; a cell edited or cleared does, and
/// so does a header renamed. Columns named by their place (a blank or repeated header, cells
/// past the last header) change their name when a column is inserted before them.
fn content_hash(content: &BTreeMap<String, Value>) -> String {
    let json = serde_json::to_string(content).unwrap_or_default();
    hex::encode(&Sha256::digest(json.as_bytes())[..16])
}

/// Header names, made unique and non-empty so every cell has a field of its own.
fn column_names(header: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(header.len());
    for (index, cell) in header.iter().enumerate() {
        let name = text(cell).trim().to_string();
        let name = if name.is_empty() {
            format!("column {}", index + 1)
        } else if names.contains(&name) {
            format!("{name} ({})", index + 1)
        } else {
            name
        };
        names.push(name);
    }
    names
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// A cell as text (formatted values are strings; unformatted ones may be numbers or booleans).
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_cursor_belongs_to_its_spreadsheet_range_and_key_column() {
        let cursor = Cursor {
            spreadsheet: Some("sheet-1".into()),
            range: Some("Plan!A1:D".into()),
            key_column: Some("ID".into()),
            ..Cursor::default()
        };
        assert!(cursor.describes("sheet-1", "Plan!A1:D", "ID"));
        assert!(!cursor.describes("a-copy", "Plan!A1:D", "ID"));
        assert!(!cursor.describes("sheet-1", "Plan!A1:E", "ID"));
        assert!(!cursor.describes("sheet-1", "Plan!A1:D", "Name"));
        let older = Cursor {
            spreadsheet: None,
            ..cursor
        };
        assert!(older.describes("sheet-1", "Plan!A1:D", "ID"));
    }

    fn run(values: Value, old: &BTreeMap<String, String>) -> Diff {
        diff(
            "s",
            "sheet1",
            "ID",
            &json!({ "values": values }),
            old,
            now(),
        )
        .unwrap()
    }

    #[test]
    fn a_range_cleared_of_everything_removes_every_row() {
        let first = run(
            json!([["ID", "Name"], ["a", "Alpha"], ["b", "Beta"]]),
            &BTreeMap::new(),
        );
        // Google leaves `values` out of an empty range.
        let cleared = diff("s", "sheet1", "ID", &json!({}), &first.rows, now()).unwrap();
        let removed: Vec<_> = cleared
            .events
            .iter()
            .map(|e| (e.event_type, e.external_id.clone().unwrap_or_default()))
            .collect();
        assert_eq!(
            removed,
            [
                (EventType::SheetRowRemoved, "a".to_string()),
                (EventType::SheetRowRemoved, "b".to_string())
            ]
        );
        assert!(cleared.rows.is_empty());
        // Polled again while still empty (another tab changed the file's version): no rows.
        let again = diff("s", "sheet1", "ID", &json!({}), &cleared.rows, now()).unwrap();
        assert!(again.events.is_empty() && again.rows.is_empty());
        // Rows without the key column among the headers still say what is wrong.
        let err = diff(
            "s",
            "sheet1",
            "ID",
            &json!({"values": [["Name"], ["x"]]}),
            &BTreeMap::new(),
            now(),
        )
        .err();
        assert!(err.is_some_and(|e| e.0.contains("first row: Name")));
    }

    #[test]
    fn rows_are_keyed_by_the_key_column_not_position() {
        let first = run(
            json!([
                ["Name", "ID"],
                ["Alpha", "a"],
                ["Beta", "b"],
                ["", ""],
                ["Nokey"]
            ]),
            &BTreeMap::new(),
        );
        assert_eq!(first.events.len(), 2);
        assert!(
            first
                .events
                .iter()
                .all(|e| e.event_type == EventType::SheetRowAdded)
        );
        assert_eq!(
            first.events[0].data,
            json!({"Name": "Alpha", "ID": "a", "rowKey": "a"})
        );
        assert_eq!(first.items, 3, "the blank row is not an item");

        let moved = run(
            json!([["ID", "Name"], ["b", "Beta"], ["a", "Alpha", ""]]),
            &first.rows,
        );
        assert!(
            moved.events.is_empty(),
            "moved rows and columns are no change"
        );

        let changed = run(
            json!([["Name", "ID"], ["Gamma", "c"], ["Alpha 2", "a"]]),
            &first.rows,
        );
        let kinds: Vec<_> = changed
            .events
            .iter()
            .map(|e| (e.event_type, e.external_id.clone().unwrap()))
            .collect();
        assert_eq!(
            kinds,
            [
                (EventType::SheetRowAdded, "c".to_string()),
                (EventType::SheetRowUpdated, "a".to_string()),
                (EventType::SheetRowRemoved, "b".to_string()),
            ]
        );
        assert!(
            changed.events[2]
                .dedupe_key
                .starts_with("sheets:sheet1:b:removed:")
        );
    }

    #[test]
    fn a_key_names_its_change_without_the_occurrence() {
        let hash = "0123456789abcdef0123456789abcdef";
        assert_eq!(change_of(hash).as_deref(), Some(hash));
        assert_eq!(change_of(&format!("{hash}:3")).as_deref(), Some(hash));
        let removed = format!("removed:{hash}");
        assert_eq!(change_of(&removed), Some(removed.clone()));
        assert_eq!(change_of(&format!("{removed}:2")), Some(removed));
        // The keys of row `a:b` start like those of row `a`.
        assert_eq!(change_of(&format!("b:{hash}")), None);
        assert_eq!(change_of(&format!("{hash}:x")), None);
        assert_eq!(change_of("short"), None);
    }

    #[test]
    fn a_missing_key_column_is_named() {
        let err = diff(
            "s",
            "x",
            "Project ID",
            &json!({"values": [["Name"], ["a"]]}),
            &BTreeMap::new(),
            now(),
        )
        .err()
        .unwrap();
        assert!(err.0.contains("`Project ID`"), "{}", err.0);
    }

    #[test]
    fn headers_are_unique_and_named() {
        assert_eq!(
            column_names(&[json!("A"), json!(""), json!("A")]),
            ["A", "column 2", "A (3)"]
        );
    }
}
