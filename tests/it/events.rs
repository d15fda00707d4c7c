//! `trmctl events`: filters, show, tail and NDJSON.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use trmctl::event::EventType;

use crate::util::{CONFIG, Sandbox, json};

fn sandbox_with_events() -> (Sandbox, Vec<trmctl::event::Event>) {
    let sandbox = Sandbox::with_config(CONFIG);
    let events = sandbox.add_events(&[
        ("founder-gmail", EventType::EmailReceived, "m1", "hello"),
        ("github-repo", EventType::GithubEventReceived, "d1", "push"),
        ("founder-gmail", EventType::EmailReceived, "m2", "urgent"),
    ]);
    (sandbox, events)
}

fn list(sandbox: &Sandbox, args: &[&str]) -> Vec<serde_json::Value> {
    list_in(sandbox, args, "UTC")
}

/// `events list --json ARGS` with `TZ` set to `zone`.
fn list_in(sandbox: &Sandbox, args: &[&str], zone: &str) -> Vec<serde_json::Value> {
    let out = sandbox
        .cmd()
        .args(["events", "list", "--json"])
        .args(args)
        .env("TZ", zone)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out).as_array().unwrap().clone()
}

#[test]
fn since_a_midnight_the_clocks_skipped_is_the_moment_they_jumped() {
    // America/Santiago skips 2026-09-06 00:00-01:00: 01:00 -03 is 04:00 UTC.
    let sandbox = Sandbox::with_config(CONFIG);
    let at = |time: &str, key: &str| {
        let time = chrono::DateTime::parse_from_rfc3339(time).unwrap().to_utc();
        let mut event = trmctl::event::Event::new(
            EventType::EmailReceived,
            "founder-gmail",
            "test",
            key.into(),
            time,
        );
        event.received_at = time;
        event
    };
    let events = [
        at("2026-09-06T03:59:59Z", "before"),
        at("2026-09-06T04:00:00Z", "after"),
    ];
    sandbox
        .store()
        .transaction(|tx| {
            for event in &events {
                trmctl::store::insert_event(tx, event)?;
            }
            Ok(())
        })
        .unwrap();
    let listed = list_in(&sandbox, &["--since", "2026-09-06"], "America/Santiago");
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["dedupeKey"], "after");
}

#[test]
fn list_filters_by_integration_type_since_and_limit() {
    let (sandbox, _) = sandbox_with_events();
    let all = list(&sandbox, &[]);
    let subjects: Vec<_> = all.iter().map(|e| e["subject"].as_str().unwrap()).collect();
    assert_eq!(subjects, ["urgent", "push", "hello"], "newest first");
    assert_eq!(list(&sandbox, &["--integration", "founder-gmail"]).len(), 2);
    let typed = list(&sandbox, &["--type", "githubEventReceived"]);
    assert_eq!(typed.len(), 1);
    assert_eq!(typed[0]["eventType"], "githubEventReceived");
    assert_eq!(list(&sandbox, &["--limit", "1"]).len(), 1);
    assert_eq!(list(&sandbox, &["--since", "1h"]).len(), 3);
    assert!(list(&sandbox, &["--since", "2999-01-01T00:00:00Z"]).is_empty());
    // Further back than a calendar goes: a usage error, not a panic.
    let out = sandbox
        .cmd()
        .args(["--json", "events", "list", "--since", "300000y"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        json(&out)["error"]
            .as_str()
            .unwrap()
            .contains("too far back")
    );
    let event = &all[0];
    for key in [
        "eventId",
        "eventType",
        "integration",
        "sourceSystem",
        "externalId",
        "dedupeKey",
        "occurredAt",
        "receivedAt",
        "subject",
        "data",
        "derivedFrom",
    ] {
        assert!(event.get(key).is_some(), "missing {key}");
    }
    let text = sandbox.cmd().args(["events", "list"]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.starts_with("EVENT ID"));
    assert_eq!(text.lines().count(), 4);
}

#[test]
fn show_by_id_and_prefix() {
    let (sandbox, events) = sandbox_with_events();
    let id = events[1].event_id.to_string();
    let out = sandbox
        .cmd()
        .args(["events", "show", "--json", &id])
        .output()
        .unwrap();
    assert_eq!(json(&out)["eventId"], id.as_str());
    // The shortest prefix no other event shares works; a shared one is refused.
    let ids: Vec<String> = events.iter().map(|e| e.event_id.to_string()).collect();
    let unique = (8..=36)
        .map(|n| &id[..n])
        .find(|p| ids.iter().filter(|other| other.starts_with(p)).count() == 1)
        .unwrap();
    let out = sandbox
        .cmd()
        .args(["events", "show", unique])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("githubEventReceived"));
    if ids.iter().all(|other| other.starts_with(&id[..8])) {
        sandbox
            .cmd()
            .args(["events", "show", &id[..8]])
            .assert()
            .code(2)
            .stderr(predicates::str::contains("several events"));
    }
    sandbox
        .cmd()
        .args(["events", "show", "01234567-89ab-7def-8123-456789abcdef"])
        .assert()
        .code(1);
    sandbox
        .cmd()
        .args(["events", "show", "not-hex!"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("is not an event id"));
    // A row the store cannot read is a failure (1) with its cause, not a usage error.
    sandbox
        .store()
        .transaction(|tx| {
            tx.execute(
                "UPDATE events SET occurred_at = '-0001-12-31T00:01:00Z' WHERE event_id = ?1",
                [&id],
            )?;
            Ok(())
        })
        .unwrap();
    sandbox
        .cmd()
        .args(["events", "show", &id])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("reading stored event"))
        .stderr(predicates::str::contains("occurred"));
}

#[test]
fn tail_prints_ndjson_oldest_first() {
    let (sandbox, _) = sandbox_with_events();
    let out = sandbox
        .cmd()
        .args(["events", "tail", "--json", "-n", "2"])
        .output()
        .unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["subject"], "push");
    assert_eq!(lines[1]["subject"], "urgent");
}

#[test]
fn tail_follow_streams_new_events() {
    let (sandbox, _) = sandbox_with_events();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("trmctl"))
        .args(["events", "tail", "--follow", "--json", "-n", "0"])
        .env("XDG_CONFIG_HOME", sandbox.dir.path().join("config"))
        .env("XDG_DATA_HOME", sandbox.dir.path().join("data"))
        .env_remove("TRMCTL_CONFIG")
        .env_remove("TRMCTL_DB")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    // Keep adding until the follower, which may still be starting, sees one.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        tx.send(line).unwrap();
    });
    let mut n = 0;
    let line = loop {
        sandbox.add_events(&[(
            "github-repo",
            EventType::GithubEventReceived,
            &format!("new{n}"),
            "late",
        )]);
        n += 1;
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) {
            break line;
        }
        assert!(Instant::now() < deadline, "tail --follow printed nothing");
    };
    child.kill().unwrap();
    child.wait().unwrap();
    let event: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["subject"], "late");
    assert!(event["dedupeKey"].as_str().unwrap().starts_with("new"));
}

#[test]
fn tail_follow_stops_when_the_database_is_replaced() {
    let (sandbox, _) = sandbox_with_events();
    let mut child = sandbox
        .std_cmd()
        .args(["events", "tail", "--follow", "-n", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Its backlog printed: it has the database open and follows it.
    assert!(!crate::util::first_line(&mut child).is_empty());
    // A restore: another file put in its place.
    let db = sandbox.db_path();
    std::fs::copy(&db, db.with_extension("copy")).unwrap();
    std::fs::rename(db.with_extension("copy"), &db).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "tail --follow went on with the old file"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("deleted or replaced"), "{stderr}");
}
