//! `trmctl integrations`: the registry's table, JSON fields and switch (SPEC §8).

use predicates::prelude::*;

use crate::util::{CONFIG, Sandbox, json};

const FIELDS: [&str; 11] = [
    "name",
    "kind",
    "status",
    "lastSyncTime",
    "nextSyncTime",
    "lastSuccessTime",
    "errorCount",
    "lastError",
    "eventsTotal",
    "deliveriesPending",
    "deadLetters",
];

#[test]
fn list_json_has_the_spec_fields() {
    let sandbox = Sandbox::with_config(CONFIG);
    let out = sandbox
        .cmd()
        .args(["integrations", "list", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let list = json(&out);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    for entry in list {
        let keys: Vec<&str> = entry
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = FIELDS.to_vec();
        expected.sort();
        let mut keys = keys.clone();
        keys.sort();
        assert_eq!(keys, expected);
        assert_eq!(entry["status"], "active");
    }
    assert_eq!(list[0]["name"], "founder-gmail");
    assert_eq!(list[0]["kind"], "gmail");
}

#[test]
fn table_is_aligned() {
    let sandbox = Sandbox::with_config(CONFIG);
    let out = sandbox
        .cmd()
        .args(["integrations", "list"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    let at = |header: &str, line: &str, word: &str| {
        let column = lines[0].find(header).unwrap();
        assert!(
            line[column..].starts_with(word),
            "`{word}` not under {header}:\n{text}"
        );
    };
    at("KIND", lines[1], "gmail");
    at("KIND", lines[2], "github");
    at("STATUS", lines[1], "active");
    at("EVENTS", lines[2], "0");
}

#[test]
fn disable_and_enable_persist() {
    let sandbox = Sandbox::with_config(CONFIG);
    sandbox
        .cmd()
        .args(["integrations", "disable", "founder-gmail"])
        .assert()
        .success();
    let out = sandbox
        .cmd()
        .args(["integrations", "show", "founder-gmail", "--json"])
        .output()
        .unwrap();
    assert_eq!(json(&out)["status"], "disabled");
    // Polling it by name says so instead of doing nothing.
    sandbox
        .cmd()
        .args(["poll", "founder-gmail"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "founder-gmail is disabled; `trmctl integrations enable founder-gmail`",
        ));
    let out = sandbox
        .cmd()
        .args(["integrations", "enable", "founder-gmail", "--json"])
        .output()
        .unwrap();
    assert_eq!(json(&out)["status"], "active");
    sandbox
        .cmd()
        .args(["integrations", "enable", "ghost"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "configured: founder-gmail, github-repo",
        ));
}
