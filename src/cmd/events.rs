//! `trmctl events list|show|tail`: reading the event stream.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::Context;
use crate::cli::{EventsCommand, ListArgs};
use crate::error::Exit;
use crate::event::{Event, format_time};
use crate::output::cell;
use crate::store::{EventFilter, Store, StoredEvent};

/// How often `tail --follow` looks for new events.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(250);

pub fn run(ctx: &Context, command: EventsCommand) -> Result<ExitCode> {
    let config = ctx.config()?;
    let store = ctx.store(&config)?;
    match command {
        EventsCommand::List(args) => list(ctx, &store, args),
        EventsCommand::Show { id } => show(ctx, &store, &id),
        EventsCommand::Tail { lines, follow } => tail(ctx, &store, lines, follow),
    }?;
    Ok(ExitCode::SUCCESS)
}

fn list(ctx: &Context, store: &Store, args: ListArgs) -> Result<()> {
    let filter = EventFilter {
        integration: args.integration,
        event_type: args.event_type,
        since: args.since.as_deref().map(parse_since).transpose()?,
        limit: args.limit,
    };
    let events: Vec<Event> = store
        .list_events(&filter)?
        .into_iter()
        .map(|s| s.event)
        .collect();
    if ctx.out.json {
        ctx.out.json(&events)?;
    } else if events.is_empty() {
        ctx.out.text("No events.")?;
    } else {
        let rows: Vec<Vec<String>> = events.iter().map(row).collect();
        ctx.out.table(
            &["EVENT ID", "TYPE", "INTEGRATION", "OCCURRED", "SUBJECT"],
            &rows,
        )?;
    }
    Ok(())
}

fn row(event: &Event) -> Vec<String> {
    vec![
        event.event_id.to_string(),
        event.event_type.to_string(),
        event.integration.clone(),
        format_time(&event.occurred_at),
        cell(event.subject.as_deref()),
    ]
}

fn show(ctx: &Context, store: &Store, id: &str) -> Result<()> {
    let stored = store
        .find_event(id)?
        .ok_or_else(|| anyhow::anyhow!("no event with id `{id}`"))?;
    let event = stored.event;
    if ctx.out.json {
        ctx.out.json(&event)?;
        return Ok(());
    }
    let mut text = String::new();
    let mut line = |key: &str, value: String| text.push_str(&format!("{key:<14}{value}\n"));
    line("eventId", event.event_id.to_string());
    line("eventType", event.event_type.to_string());
    line("integration", event.integration.clone());
    line("sourceSystem", event.source_system.clone());
    line("externalId", cell(event.external_id.as_deref()));
    line("dedupeKey", event.dedupe_key.clone());
    line("occurredAt", format_time(&event.occurred_at));
    line("receivedAt", format_time(&event.received_at));
    line("subject", cell(event.subject.as_deref()));
    line(
        "derivedFrom",
        cell(event.derived_from.map(|id| id.to_string()).as_deref()),
    );
    text.push_str("data:\n");
    text.push_str(&serde_json::to_string_pretty(&event.data)?);
    ctx.out.text(&text)?;
    Ok(())
}

fn tail(ctx: &Context, store: &Store, lines: usize, follow: bool) -> Result<()> {
    // One read gives both the backlog and where following starts: an event stored between
    // two reads would be neither printed nor followed.
    let mut backlog = store.last_events(lines.max(1))?;
    let mut last_seq = backlog.last().map_or(0, |s| s.seq);
    if lines == 0 {
        backlog.clear();
    }
    print_tail(ctx, backlog)?;
    if !follow {
        return Ok(());
    }
    loop {
        let batch = store.events_after(last_seq, 1000)?;
        match batch.last() {
            None => {
                // A database deleted or restored over would be followed in silence for ever.
                store.check_in_place()?;
                std::thread::sleep(FOLLOW_INTERVAL)
            }
            Some(last) => {
                last_seq = last.seq;
                print_tail(ctx, batch)?;
            }
        }
    }
}

/// One line per event: NDJSON with `--json`, else time, type, integration and subject.
fn print_tail(ctx: &Context, batch: Vec<StoredEvent>) -> Result<()> {
    for StoredEvent { event: e, .. } in batch {
        if ctx.out.json {
            ctx.out.ndjson(&e)?;
        } else {
            ctx.out.text(&format!(
                "{}  {}  {}  {}",
                format_time(&e.received_at),
                e.event_type,
                e.integration,
                cell(e.subject.as_deref())
            ))?;
        }
    }
    Ok(())
}

/// `--since`: an RFC 3339 time; a date or a date and time without a zone (`2026-01-01`,
/// `2026-01-01T10:00`, `2026-01-01 10:00:00`), in the local time zone, as `date` reads them;
/// or a duration ago (`90m`, `2h`, `3days`).
fn parse_since(text: &str) -> Result<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    if let Some(local) = local_time(text) {
        return Ok(local);
    }
    let ago = humantime::parse_duration(text).map_err(|_| {
        Exit::usage(format!(
            "--since `{text}`: expected a time (2026-01-01, 2026-01-01T10:00, RFC 3339) or a \
             duration such as 2h"
        ))
    })?;
    chrono::Duration::from_std(ago)
        .ok()
        .and_then(|ago| Utc::now().checked_sub_signed(ago))
        .ok_or_else(|| Exit::usage(format!("--since `{text}` is too far back")).into())
}

/// A date (midnight) or a date and time without a zone, in the local time zone.
fn local_time(text: &str) -> Option<DateTime<Utc>> {
    use chrono::{NaiveDate, NaiveDateTime, TimeZone};
    let naive = [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(0, 0, 0)
    })?;
    // An ambiguous time (clocks turned back) is the earlier reading; chrono reads one the
    // clocks skipped as the moment they jumped (tested in tests/it/events.rs).
    chrono::Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use chrono::{Local, TimeZone};

    use super::*;

    #[test]
    fn since_takes_dates_and_zoneless_times_as_local_ones() {
        let local = |y, mo, d, h, mi| {
            let t = Local
                .with_ymd_and_hms(y, mo, d, h, mi, 0)
                .earliest()
                .unwrap();
            t.with_timezone(&Utc)
        };
        assert_eq!(parse_since("2026-01-01").unwrap(), local(2026, 1, 1, 0, 0));
        assert_eq!(
            parse_since("2026-01-01T10:30").unwrap(),
            local(2026, 1, 1, 10, 30)
        );
        assert_eq!(
            parse_since("2026-01-01 10:30:00").unwrap(),
            local(2026, 1, 1, 10, 30)
        );
        let utc = Utc.with_ymd_and_hms(2026, 1, 1, 10, 0, 0).unwrap();
        assert_eq!(parse_since("2026-01-01T10:00:00Z").unwrap(), utc);
        assert!(parse_since("2h").unwrap() < Utc::now());
        assert!(parse_since("2026-13-01").is_err());
    }
}
