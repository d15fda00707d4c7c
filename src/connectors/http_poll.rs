//! `http-poll`: any JSON API, fetched cheaply and exactly.
//!
//! Conditional requests (`If-None-Match`, `If-Modified-Since`) make an unchanged resource one
//! `304`. With `cursor_param`, each request asks only for items changed since the last one
//! seen, minus an `overlap` window (clocks and commit orders differ), for RFC 3339 times and
//! Unix seconds or milliseconds alike; the overlap's repeats are dropped because an item's
//! dedupe key is its id and its change time. A listing of several pages is followed to its
//! end, by the body's `next_page` link or the `Link` header's `rel="next"`, on the same site
//! only, and unconditionally: a validator speaks for one page. The cursor never goes past the
//! API's own clock (its `Date`): one item stamped in the future by a bad clock would otherwise
//! hold every later request above the changes made meanwhile.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use reqwest::header::{
    DATE, ETAG, HeaderMap, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LINK,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{MAX_PAGES, SchemaError, id_text, rfc3339_seconds, subject};
use crate::event::{Event, EventType, now};
use crate::poll::context::Context;
use crate::poll::http::{Cost, shown_url};

/// Default overlap window for `cursor_param`.
const DEFAULT_OVERLAP: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cursor {
    etag: Option<String>,
    last_modified: Option<String>,
    /// The latest change time seen.
    since: Option<String>,
}

pub async fn poll(ctx: &mut Context<'_>) -> anyhow::Result<()> {
    let cfg = ctx.cfg;
    let url = cfg.url.clone().unwrap_or_default();
    let cursor: Cursor = ctx.cursor()?.unwrap_or_default();
    let mut query = Vec::new();
    if let (Some(param), Some(since)) = (&cfg.cursor_param, &cursor.since) {
        query.push((
            param.as_str(),
            overlap_start(since, cfg.overlap.unwrap_or(DEFAULT_OVERLAP)),
        ));
    }
    let first = ctx
        .http
        .get(&url, &query, conditional(&cursor), Cost::Free, &[304])
        .await?;
    if first.status.as_u16() == 304 {
        return Ok(());
    }
    let api_now = api_clock(&first.headers);
    let mut next = Cursor {
        etag: header(&first.headers, ETAG),
        last_modified: header(&first.headers, LAST_MODIFIED),
        since: cursor.since.clone(),
    };
    let (mut page, mut page_url) = (first, url.clone());
    let mut visited = std::collections::HashSet::from([url.clone()]);
    loop {
        let body = page.json.ok_or_else(|| {
            anyhow::anyhow!("GET {} answered an empty body", shown_url(&page_url))
        })?;
        let (events, latest) = page_events(ctx.name, cfg, &body, next.since.take())?;
        next.since = latest;
        let count = events.len() as u64;
        let Some(following) = next_page(
            cfg.next_page.as_deref(),
            &url,
            &page_url,
            &page.headers,
            &body,
        )?
        else {
            next.since = next.since.map(|latest| not_after(latest, api_now));
            if visited.len() > 1 || cfg.next_page.is_some() {
                // A validator speaks for the first page only: an unchanged first page would
                // answer 304 over a change on a later one (or on a second page to come).
                (next.etag, next.last_modified) = (None, None);
            }
            return ctx.commit(events, &serde_json::to_value(&next)?, count);
        };
        // Each page is stored as it comes; the cursor moves only with the last one, so a poll
        // cut short between pages asks again from where it began (repeats make no events).
        ctx.commit(events, &serde_json::to_value(&cursor)?, count)?;
        if visited.contains(&following) || visited.len() >= MAX_PAGES {
            anyhow::bail!(
                "{} has more than {MAX_PAGES} pages or links back to one already read; \
                 what was read is stored, the cursor did not move",
                shown_url(&url)
            );
        }
        page = ctx
            .http
            .get(&following, &[], HeaderMap::new(), Cost::Free, &[])
            .await?;
        visited.insert(following.clone());
        page_url = following;
    }
}

/// The target of the `rel="next"` link of a `Link` header (RFC 8288):
/// `<uri-reference>; param=value; …, <…>; …`. The `parse_link_header` crate was not used: it
/// parses each target as an absolute URI, and fails the whole header on a relative one such
/// as `?page=2`, which RFC 8288 allows.
fn link_to_next(header: &str) -> Option<String> {
    let mut rest = header;
    while let Some(open) = rest.find('<') {
        let close = open + rest[open..].find('>')?;
        let target = &rest[open + 1..close];
        let params_end = rest[close..]
            .find('<')
            .map_or(rest.len(), |next| close + next);
        let is_next = rest[close + 1..params_end].split(';').any(|param| {
            let (name, value) = param.split_once('=').unwrap_or((param, ""));
            name.trim().eq_ignore_ascii_case("rel")
                && value
                    .trim()
                    .trim_end_matches(',')
                    .trim()
                    .trim_matches('"')
                    .split_ascii_whitespace()
                    .any(|rel| rel.eq_ignore_ascii_case("next"))
        });
        if is_next {
            return Some(target.to_string());
        }
        rest = &rest[params_end..];
    }
    None
}

/// The time by the API's clock (its `Date`), else by ours.
fn api_clock(headers: &HeaderMap) -> DateTime<Utc> {
    header(headers, DATE)
        .and_then(|date| DateTime::parse_from_rfc2822(&date).ok())
        .map_or_else(Utc::now, |date| date.with_timezone(&Utc))
}

/// The conditional request headers of the stored validators.
fn conditional(cursor: &Cursor) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let valid = |v: &Option<String>| v.as_deref().and_then(|v| HeaderValue::from_str(v).ok());
    if let Some(etag) = valid(&cursor.etag) {
        headers.insert(IF_NONE_MATCH, etag);
    }
    if let Some(modified) = valid(&cursor.last_modified) {
        headers.insert(IF_MODIFIED_SINCE, modified);
    }
    headers
}

/// A page's events, and the latest change time seen so far (`latest` before this page).
fn page_events(
    integration: &str,
    cfg: &crate::config::IntegrationConfig,
    body: &Value,
    mut latest: Option<String>,
) -> Result<(Vec<Event>, Option<String>), SchemaError> {
    let items_at = cfg.items.as_deref().unwrap_or("");
    let items = body
        .pointer(items_at)
        .and_then(Value::as_array)
        .ok_or_else(|| SchemaError(format!("field `{items_at}` (items) is not an array")))?;
    let mut events = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let event = item_event(
            integration,
            cfg.id.as_deref().unwrap_or(""),
            cfg.updated_at.as_deref(),
            index,
            item,
        )?;
        if let Some(changed) = event.data.get("updatedAt").and_then(Value::as_str)
            && latest.as_deref().is_none_or(|l| later(changed, l))
        {
            latest = Some(changed.to_string());
        }
        events.push(event);
    }
    Ok((events, latest))
}

/// The URL of the page after `page_url`: the body's `next_page` field when configured, else
/// the `Link` header's `rel="next"`; relative links resolve against the page. A link off
/// `url`'s site (see [`crate::poll::same_site`]) is an error: the request would carry the
/// credentials there.
fn next_page(
    next_at: Option<&str>,
    url: &str,
    page_url: &str,
    headers: &HeaderMap,
    body: &Value,
) -> anyhow::Result<Option<String>> {
    let link = match next_at {
        Some(at) => match body.pointer(at) {
            None | Some(Value::Null) => None,
            Some(Value::String(link)) if link.is_empty() => None,
            Some(Value::String(link)) => Some(link.clone()),
            Some(_) => {
                return Err(SchemaError(format!(
                    "field `{at}` (the next page) is not a URL string"
                ))
                .into());
            }
        },
        // Each `Link` field, as a server may send one per link. One that is not text could
        // hold the next link: the listing would end early, and the cursor move past its rest.
        None => {
            let mut next = None;
            for links in headers.get_all(LINK) {
                let links = links.to_str().map_err(|_| {
                    anyhow::anyhow!("a Link header of {} is not text", shown_url(page_url))
                })?;
                next = next.or_else(|| link_to_next(links));
            }
            next
        }
    };
    let Some(link) = link else { return Ok(None) };
    let next = reqwest::Url::parse(page_url)
        .and_then(|page| page.join(&link))
        .map_err(|e| {
            anyhow::anyhow!(
                "the next page link of {} is not a URL: {e}",
                shown_url(page_url)
            )
        })?;
    let first = reqwest::Url::parse(url);
    if !first.is_ok_and(|first| crate::poll::same_site(&first, &next)) {
        anyhow::bail!(
            "the next page of {} is on another site ({}); its credentials are not sent there",
            shown_url(url),
            next.origin().ascii_serialization()
        );
    }
    Ok(Some(next.to_string()))
}

fn item_event(
    integration: &str,
    id_at: &str,
    updated_at: Option<&str>,
    index: usize,
    item: &Value,
) -> Result<Event, SchemaError> {
    // Only whole numbers of 64 bits: a bigger one is rounded when read, and two items whose
    // ids round alike would be one.
    let found = item.pointer(id_at);
    let id = found.and_then(id_text).ok_or_else(|| {
        let what = if found.is_some() {
            "is not a whole number or a non-empty string"
        } else {
            "is missing"
        };
        SchemaError(format!("item {index}: field `{id_at}` (the id) {what}"))
    })?;
    let changed = updated_at
        .and_then(|p| item.pointer(p))
        .filter(|v| !v.is_null())
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string));
    let version = match &changed {
        Some(changed) => changed.clone(),
        None => hex::encode(Sha256::digest(item.to_string().as_bytes())),
    };
    let occurred = rfc3339_seconds(changed.as_deref()).unwrap_or_else(now);
    let mut event = Event::new(
        EventType::ExternalEventReceived,
        integration,
        "http-poll",
        format!("{id}:{version}"),
        occurred,
    );
    event.external_id = Some(id.clone());
    event.subject = Some(subject(
        ["/name", "/title", "/subject", "/email"]
            .iter()
            .find_map(|p| item.pointer(p).and_then(Value::as_str))
            .unwrap_or(&id),
    ));
    event.data = json!({ "id": id, "updatedAt": changed, "item": item });
    Ok(event)
}

/// Whether change time `a` is later than `b`: as times when both parse, as numbers when both
/// are numbers, else as text. A time is later than what is not one, so one odd value
/// (`"unknown"`) cannot hold the cursor above every real time.
fn later(a: &str, b: &str) -> bool {
    let time = |t: &str| DateTime::parse_from_rfc3339(t).ok();
    let number = |n: &str| n.parse::<f64>().ok().filter(|n| n.is_finite());
    match ((time(a), time(b)), (number(a), number(b))) {
        ((Some(a), Some(b)), _) => a > b,
        ((Some(_), None), _) => true,
        ((None, Some(_)), _) => false,
        (_, (Some(a), Some(b))) => a > b,
        _ => a > b,
    }
}

/// `since`, or `now` if `since` is a time later than it. Said at info, not warn: the item
/// comes back on every poll, and cron would mail the same line each time.
fn not_after(since: String, now: DateTime<Utc>) -> String {
    match DateTime::parse_from_rfc3339(&since) {
        Ok(time) if time > now => {
            let now = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            tracing::info!(
                changed = %since,
                cursor = %now,
                "an item's change time is later than the API's clock; the cursor stays at the clock"
            );
            now
        }
        _ => since,
    }
}

/// The cursor parameter's value: the latest change seen, minus the overlap, in the same form.
/// A whole number that reads as Unix time goes back too: in milliseconds from 10^12 up, in
/// seconds from 10^9 (going back further than needed only re-reads repeats, which make no
/// event). Anything else, or an overlap reaching past the calendar, passes as it is.
fn overlap_start(since: &str, overlap: std::time::Duration) -> String {
    if let Ok(number) = since.parse::<u64>() {
        let back = match number {
            n if n >= 1_000_000_000_000 => u64::try_from(overlap.as_millis()).unwrap_or(u64::MAX),
            n if n >= 1_000_000_000 => overlap.as_secs(),
            _ => 0,
        };
        return number.saturating_sub(back).to_string();
    }
    DateTime::parse_from_rfc3339(since)
        .ok()
        .zip(ChronoDuration::from_std(overlap).ok())
        .and_then(|(t, overlap)| t.with_timezone(&Utc).checked_sub_signed(overlap))
        .map_or_else(
            || since.to_string(),
            |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        )
}

fn header(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_goes_back_and_keeps_the_form() {
        assert_eq!(
            overlap_start("2026-11-24T10:05:00Z", std::time::Duration::from_secs(300)),
            "2026-11-24T10:00:00Z"
        );
        let minute = std::time::Duration::from_secs(60);
        assert_eq!(
            overlap_start("12345", minute),
            "12345",
            "a counter, not a time"
        );
        assert_eq!(
            overlap_start("1764000000", minute),
            "1763999940",
            "Unix seconds"
        );
        assert_eq!(
            overlap_start("1764000000000", minute),
            "1763999940000",
            "Unix ms"
        );
        // An overlap longer than the calendar goes back: no panic.
        let forever = std::time::Duration::from_secs(300_000 * 365 * 86_400);
        assert_eq!(
            overlap_start("2026-11-24T10:05:00Z", forever),
            "2026-11-24T10:05:00Z"
        );
    }

    #[test]
    fn the_next_page_comes_from_the_body_or_the_link_header() {
        let (url, page) = (
            "https://crm.test/api/contacts",
            "https://crm.test/api/contacts?p=1",
        );
        let mut headers = HeaderMap::new();
        let next = |at, headers: &HeaderMap, body: &Value| next_page(at, url, page, headers, body);
        assert_eq!(next(None, &headers, &json!({})).unwrap(), None);
        headers.insert(
            LINK,
            HeaderValue::from_static(r#"<?p=3>; rel="last", <contacts?p=2>; rel="next""#),
        );
        assert_eq!(
            next(None, &headers, &json!({})).unwrap().as_deref(),
            Some("https://crm.test/api/contacts?p=2"),
            "relative to the page"
        );
        let body = json!({"paging": {"next": "https://crm.test/api/contacts?after=x"}});
        assert_eq!(
            next(Some("/paging/next"), &headers, &body)
                .unwrap()
                .as_deref(),
            Some("https://crm.test/api/contacts?after=x"),
            "the body's link, when configured, over the header"
        );
        for last in [
            json!({}),
            json!({"paging": {"next": null}}),
            json!({"paging": {"next": ""}}),
        ] {
            assert_eq!(
                next(Some("/paging/next"), &headers, &last).unwrap(),
                None,
                "{last}"
            );
        }
        let err = next(
            Some("/paging/next"),
            &headers,
            &json!({"paging": {"next": 2}}),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("`/paging/next` (the next page)"),
            "{err}"
        );
        let elsewhere = json!({"next": "https://evil.test/api/contacts?p=2"});
        let err = next(Some("/next"), &headers, &elsewhere).unwrap_err();
        assert!(
            err.to_string().contains("another site (https://evil.test)"),
            "{err}"
        );
    }

    #[test]
    fn a_link_header_that_is_not_text_fails_the_page() {
        let mut headers = HeaderMap::new();
        headers.append(
            LINK,
            HeaderValue::from_bytes(b"<\xff>; rel=\"next\"").unwrap(),
        );
        let next = next_by_link(&headers);
        assert!(next.unwrap_err().to_string().contains("is not text"));
    }

    /// The next page of `https://a.test/x` by its Link headers.
    fn next_by_link(headers: &HeaderMap) -> anyhow::Result<Option<String>> {
        let page = "https://a.test/x";
        next_page(None, page, page, headers, &json!({}))
    }

    #[test]
    fn the_next_link_may_be_in_any_link_field() {
        let mut headers = HeaderMap::new();
        headers.append(LINK, HeaderValue::from_static(r#"</x?p=1>; rel="first""#));
        headers.append(LINK, HeaderValue::from_static(r#"</x?p=2>; rel="next""#));
        let next = next_by_link(&headers);
        assert_eq!(next.unwrap().as_deref(), Some("https://a.test/x?p=2"));
    }

    #[test]
    fn a_link_header_gives_its_next_target() {
        let cases = [
            (
                r#"<https://a.test/x?p=2>; rel="next""#,
                Some("https://a.test/x?p=2"),
            ),
            (r#"<?p=1>; rel="prev", <?p=3>; rel=next"#, Some("?p=3")),
            (
                r#"</x?p=9>; rel="last"; title="a, b", </x?p=2>; REL="prefetch next""#,
                Some("/x?p=2"),
            ),
            (r#"<?p=1>; rel="prev""#, None),
            ("", None),
            ("<unclosed; rel=next", None),
        ];
        for (header, next) in cases {
            assert_eq!(link_to_next(header).as_deref(), next, "{header}");
        }
    }

    #[test]
    fn the_cursor_stops_at_the_clock() {
        let now = DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let at = |since: &str| not_after(since.to_string(), now);
        assert_eq!(at("2099-01-01T00:00:00Z"), "2026-12-04T10:00:00Z");
        assert_eq!(at("2026-12-04T09:00:00+00:00"), "2026-12-04T09:00:00+00:00");
        assert_eq!(at("4102444800"), "4102444800", "not a time: as it is");
    }

    #[test]
    fn items_key_on_id_and_change_time() {
        let item = json!({"id": 7, "name": "Acme", "updatedAt": "2026-11-24T10:00:00Z"});
        let e = item_event("crm", "/id", Some("/updatedAt"), 0, &item).unwrap();
        assert_eq!(e.dedupe_key, "7:2026-11-24T10:00:00Z");
        assert_eq!(e.subject.as_deref(), Some("Acme"));
        let err = item_event("crm", "/id", None, 3, &json!({"name": "x"})).unwrap_err();
        assert!(err.0.contains("item 3") && err.0.contains("is missing"));
        for id in [
            json!(true),
            json!(1.5),
            json!(""),
            json!(18446744073709551616.0),
        ] {
            let err = item_event("crm", "/id", None, 4, &json!({ "id": id })).unwrap_err();
            assert!(
                err.0
                    .contains("is not a whole number or a non-empty string"),
                "{}",
                err.0
            );
        }
        let big: Value = serde_json::from_str(r#"{"id": 18446744073709551615}"#).unwrap();
        let e = item_event("crm", "/id", None, 0, &big).unwrap();
        assert_eq!(e.external_id.as_deref(), Some("18446744073709551615"));
        assert!(later("2026-11-24T10:00:01Z", "2026-11-24T10:00:00Z"));
    }

    #[test]
    fn an_odd_change_time_never_holds_the_cursor_above_real_ones() {
        assert!(later("2026-11-24T10:00:00Z", "null"));
        assert!(later("2026-11-24T10:00:00Z", "not a time"));
        assert!(!later("not a time", "2026-11-24T10:00:00Z"));
        assert!(later("10", "9"), "numbers compare as numbers");
        assert!(later("b", "a"));
        // A null change time is no change time: the item is versioned by its content.
        let item = json!({"id": "x", "updatedAt": null});
        let e = item_event("crm", "/id", Some("/updatedAt"), 0, &item).unwrap();
        assert_eq!(e.data["updatedAt"], Value::Null);
        assert!(!e.dedupe_key.ends_with(":null"), "{}", e.dedupe_key);
    }

    #[test]
    fn a_change_time_outside_years_1_to_9999_is_not_an_occurrence_time() {
        let item = json!({"id": "x", "updatedAt": "0000-01-01T00:00:00+23:59"});
        let e = item_event("crm", "/id", Some("/updatedAt"), 0, &item).unwrap();
        assert!(crate::event::storable(e.occurred_at).is_some());
        assert!(
            (Utc::now() - e.occurred_at).num_seconds().abs() < 60,
            "now instead"
        );
    }
}
