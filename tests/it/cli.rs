//! CLI conventions (SPEC §4): exit codes, config errors, stdout vs stderr, closed pipes.

use std::process::Stdio;

use predicates::prelude::*;
use trmctl::event::EventType;

use crate::util::{CONFIG, Sandbox, json};

#[test]
fn init_writes_a_valid_config_and_a_private_database() {
    let sandbox = Sandbox::new();
    sandbox
        .cmd()
        .arg("init")
        .assert()
        .success()
        .stdout(predicate::str::contains("Next:"));
    assert!(sandbox.config_path().exists());
    assert!(sandbox.db_path().exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(sandbox.db_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    sandbox.cmd().args(["config", "check"]).assert().success();
    // A second init keeps the user's config.
    sandbox.write_config("# mine\n");
    let out = sandbox.cmd().args(["init", "--json"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(json(&out)["configCreated"], false);
    assert_eq!(
        std::fs::read_to_string(sandbox.config_path()).unwrap(),
        "# mine\n"
    );
}

#[test]
fn config_check_lists_every_problem_and_exits_2() {
    let sandbox = Sandbox::with_config(
        r#"
[integrations.mail]
kind = "gmail"
account = "ghost"

[[rules]]
integration = "nowhere"
match = { subject = "(" }
emit = "potentialTensionDetected"
"#,
    );
    sandbox
        .cmd()
        .args(["config", "check"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "integrations.mail.account: no account named `ghost`",
        ))
        .stderr(predicate::str::contains(
            "rules[0].integration: no integration named `nowhere`",
        ))
        .stderr(predicate::str::contains(
            "rules[0].match.subject: invalid regex",
        ));
    let report = invalid_config_report(&sandbox);
    assert_eq!(report["problems"].as_array().unwrap().len(), 3);
}

/// The keys of a `config check --json` report's problems, in order.
fn problem_keys(report: &serde_json::Value) -> Vec<&str> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect()
}

/// `config check --json` of a config with problems: exit 2 and the report.
fn invalid_config_report(sandbox: &Sandbox) -> serde_json::Value {
    let out = sandbox
        .cmd()
        .args(["config", "check", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    assert_eq!(report["valid"], false);
    report
}

#[test]
fn config_check_lists_every_unknown_key_and_bad_value_as_json_too() {
    let sandbox = Sandbox::with_config(
        "[server]\nbnd = 1\n[worker]\nretry_base = \"2 parsecs\"\n[integrations.gh]\nkind = \"github\"\nsecrt = \"x\"\n",
    );
    let report = invalid_config_report(&sandbox);
    let keys = problem_keys(&report);
    // The rest is checked too: the misspelt key leaves the integration without its secret.
    assert_eq!(
        keys,
        [
            "server.bnd",
            "worker.retry_base",
            "integrations.gh.secrt",
            "integrations.gh.secret"
        ]
    );
    assert!(
        report["problems"][1]["message"]
            .as_str()
            .unwrap()
            .ends_with("(line 4, column 14)")
    );
}

#[test]
fn config_check_shows_bad_keys_and_what_is_wrong_with_the_rest_in_one_run() {
    let sandbox = Sandbox::with_config(
        "[worker]\nretry_base = \"soon\"\nconcurrency = 0\n\
         [integrations.mail]\nkind = \"gmail\"\naccount = \"ghost\"\n",
    );
    let report = invalid_config_report(&sandbox);
    let keys = problem_keys(&report);
    assert_eq!(
        keys,
        [
            "worker.retry_base",
            "worker.concurrency",
            "integrations.mail.account"
        ],
        "{report}"
    );
}

#[test]
fn unknown_key_is_a_usage_error_with_its_line() {
    let sandbox = Sandbox::with_config("[server]\nbind = \"127.0.0.1:9\"\nbnd = 1\n");
    sandbox
        .cmd()
        .args(["integrations", "list"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 3").and(predicate::str::contains("bnd")));
}

#[test]
fn bad_duration_is_a_usage_error_with_its_line() {
    let sandbox = Sandbox::with_config("[worker]\nmax_attempts = 3\nretry_max = \"soon\"\n");
    sandbox
        .cmd()
        .args(["config", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 3"));
}

#[test]
fn missing_explicit_config_is_exit_2_and_json_reports_it() {
    let sandbox = Sandbox::new();
    let out = sandbox
        .cmd()
        .args(["--config", "nope.toml", "--json", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    assert_eq!(report["exitCode"], 2);
    assert!(report["error"].as_str().unwrap().contains("nope.toml"));
}

#[test]
fn poll_and_serve_without_any_config_say_so_and_exit_2() {
    // As cron would run them with another $HOME: nothing to poll is not a success.
    let sandbox = Sandbox::new();
    for command in ["poll", "serve"] {
        sandbox.cmd().arg(command).assert().code(2).stderr(
            predicate::str::contains("no config at").and(predicate::str::contains("trmctl init")),
        );
    }
    // Commands that only look still work on a fresh machine.
    sandbox.cmd().arg("status").assert().success();
}

#[test]
fn a_failed_init_leaves_nothing_behind() {
    let sandbox = Sandbox::new();
    let out = sandbox
        .cmd()
        .args(["init", "--json"])
        .env("TRMCTL_DB", "relative.db")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(json(&out)["error"].as_str().unwrap().contains("$TRMCTL_DB"));
    assert!(!sandbox.config_path().exists(), "no config left");
}

#[cfg(unix)]
#[test]
fn init_takes_a_config_path_that_is_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let sandbox = Sandbox::new();
    let name = std::ffi::OsStr::from_bytes(b"bad\xff.toml");
    let path = sandbox.dir.path().join(name);
    let out = sandbox
        .cmd()
        .arg("--config")
        .arg(&path)
        .args(["init", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    assert_eq!(report["configCreated"], true);
    assert!(
        report["config"]
            .as_str()
            .unwrap()
            .ends_with("bad\u{fffd}.toml")
    );
    assert!(path.exists());
}

#[test]
fn usage_errors_exit_2() {
    let sandbox = Sandbox::new();
    sandbox.cmd().arg("frobnicate").assert().code(2);
    sandbox
        .cmd()
        .args(["events", "list", "--type", "nope"])
        .assert()
        .code(2);
    sandbox
        .cmd()
        .args(["events", "list", "--since", "yesterdayish"])
        .assert()
        .code(2);
    sandbox
        .cmd()
        .args(["integrations", "show", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no integration named `nope`"));
}

#[test]
fn color_governs_clap_help_and_errors_too() {
    let sandbox = Sandbox::new();
    let escape = predicate::str::contains("\x1b[");
    for (args, colored) in [
        (&["--color", "always", "frobnicate"][..], true),
        (&["--color=always", "frobnicate"], true),
        (&["frobnicate"], false),
        (&["--color", "never", "frobnicate"], false),
    ] {
        let out = sandbox
            .cmd()
            .args(args)
            .env_remove("NO_COLOR")
            .assert()
            .code(2);
        if colored {
            out.stderr(escape.clone());
        } else {
            out.stderr(escape.clone().not());
        }
    }
    sandbox
        .cmd()
        .args(["--color", "always", "--help"])
        .assert()
        .success()
        .stdout(escape);
}

#[test]
fn a_relative_database_path_is_refused() {
    let sandbox = Sandbox::new();
    sandbox
        .cmd()
        .args(["events", "list"])
        .env("TRMCTL_DB", "trmctl.db")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "$TRMCTL_DB must be an absolute path",
        ));
    assert!(
        !sandbox.dir.path().join("trmctl.db").exists(),
        "nothing created"
    );
}

#[test]
fn with_json_a_refused_command_line_is_reported_in_json_too() {
    let sandbox = Sandbox::new();
    for args in [
        &["--json", "events", "list", "--limit", "abc"][..],
        &["events", "list", "--json", "--type", "nope"],
        &["--json", "frobnicate"],
        &["--json", "deadletters", "retry"],
    ] {
        let out = sandbox.cmd().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let report = json(&out);
        assert_eq!(report["exitCode"], 2, "{args:?}");
        let error = report["error"].as_str().unwrap();
        assert!(!error.is_empty() && !error.starts_with("error:"), "{error}");
        assert!(!error.ends_with(':'), "says what, not only that: {error}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with("error: "),
            "clap's message stays on stderr: {stderr}"
        );
    }
    // Help is not a failure: no JSON, exit 0.
    let out = sandbox.cmd().args(["--json", "--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage:"));
}

#[test]
fn a_headless_account_with_its_token_configured_needs_nobody_yet() {
    let sandbox = Sandbox::with_config(&CONFIG.replace(
        "[accounts.founder]\n",
        "[accounts.founder]\nrefresh_token = \"env:T_FOUNDER_REFRESH\"\n",
    ));
    let out = sandbox
        .cmd()
        .args(["auth", "status", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out)[0]["status"], "configured");
    sandbox.cmd().arg("status").assert().success();
    // Once refused, it does need someone, and is told how to fix that kind of account.
    sandbox.mark_account("founder", "reauthRequired");
    sandbox
        .cmd()
        .arg("status")
        .assert()
        .code(4)
        .stdout(predicate::str::contains(
            "Its refresh token is read from env:T_FOUNDER_REFRESH",
        ));
}

#[test]
fn status_is_quiet_when_all_is_well_and_json_has_camel_case() {
    let sandbox = Sandbox::with_config(CONFIG);
    // Never authorized: the user has something to do, as `auth status` says too.
    sandbox
        .cmd()
        .arg("status")
        .assert()
        .code(4)
        .stdout(predicate::str::contains(
            "account founder needs authorization. Run `trmctl auth google founder`",
        ));
    sandbox.mark_authorized("founder");
    // A row left by an account since removed from the config asks nothing of anyone.
    sandbox.mark_account("gone", "reauthRequired");
    sandbox
        .cmd()
        .arg("status")
        .assert()
        .success()
        .stdout(predicate::str::contains("nothing needs attention"));
    let out = sandbox.cmd().args(["status", "--json"]).output().unwrap();
    let report = json(&out);
    assert_eq!(report["ok"], true);
    assert_eq!(report["integrationsTotal"], 2);
    assert_eq!(report["deadLetters"], 0);
    assert!(
        report["accountsNeedingReauth"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn logs_go_to_stderr_and_verbosity_is_honoured() {
    let sandbox = Sandbox::with_config(CONFIG);
    let out = sandbox
        .cmd()
        .args(["-v", "integrations", "disable", "github-repo"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Disabled github-repo\n"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("registry switch changed"));
    let out = sandbox
        .cmd()
        .args([
            "-v",
            "--log-format",
            "json",
            "integrations",
            "enable",
            "github-repo",
        ])
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stderr);
    let log: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    assert_eq!(log["integration"], "github-repo");
    let quiet = sandbox
        .cmd()
        .args(["-q", "integrations", "enable", "github-repo"])
        .env("RUST_LOG", "trmctl=info")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&quiet.stderr).contains("registry switch changed"),
        "RUST_LOG wins over -q"
    );
}

#[test]
fn closed_pipe_exits_quietly() {
    let sandbox = Sandbox::with_config(CONFIG);
    let events: Vec<(String, String)> = (0..3000)
        .map(|i| {
            (
                format!("k{i}"),
                format!("subject number {i} {}", "x".repeat(80)),
            )
        })
        .collect();
    let rows: Vec<_> = events
        .iter()
        .map(|(k, s)| {
            (
                "founder-gmail",
                EventType::EmailReceived,
                k.as_str(),
                s.as_str(),
            )
        })
        .collect();
    sandbox.add_events(&rows);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("trmctl"))
        .args(["events", "list", "--limit", "5000"])
        .env("XDG_CONFIG_HOME", sandbox.dir.path().join("config"))
        .env("XDG_DATA_HOME", sandbox.dir.path().join("data"))
        .env_remove("TRMCTL_CONFIG")
        .env_remove("TRMCTL_DB")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first = crate::util::first_line(&mut child);
    assert!(first.starts_with("EVENT ID"));
    // The reader is dropped here: `| head -1`.
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "no error, no panic"
    );
}

#[test]
fn completions_into_a_closed_pipe_exit_quietly() {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("trmctl"))
        .args(["completions", "zsh"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader is gone before anything is written
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

/// The exit code of `trmctl ARGS` whose reader is gone before anything is written, as with
/// `trmctl status | grep -q reauth` once grep has its match.
fn code_into_a_closed_pipe(sandbox: &Sandbox, args: &[&str]) -> Option<i32> {
    let mut child = sandbox
        .std_cmd()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.status.code()
}

#[test]
fn a_report_into_a_closed_pipe_still_ends_with_the_code_it_gives() {
    let sandbox = Sandbox::with_config(CONFIG);
    // Never authorized: `status` says someone must sign in, reader or not.
    assert_eq!(code_into_a_closed_pipe(&sandbox, &["status"]), Some(4));
    assert_eq!(
        code_into_a_closed_pipe(&sandbox, &["--json", "status"]),
        Some(4)
    );
    assert_eq!(
        code_into_a_closed_pipe(&sandbox, &["--json", "auth", "status"]),
        Some(4)
    );
    // A poll that failed, its `| logger` gone: cron still hears of the failure.
    let api = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = api.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut conn, _) = api.accept().unwrap();
        let _ = conn.read(&mut [0; 4096]);
        let _ = conn.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
    });
    sandbox.write_config(&format!(
        "{CONFIG}\n[integrations.down]\nkind = \"http-poll\"\n\
         url = \"http://{addr}/items\"\nitems = \"/data\"\nid = \"/id\"\n"
    ));
    assert_eq!(
        code_into_a_closed_pipe(&sandbox, &["--json", "poll", "down"]),
        Some(1)
    );
    sandbox.write_config(&format!(
        "{CONFIG}\n[integrations.broken]\nkind = \"nonsense\"\n"
    ));
    assert_eq!(
        code_into_a_closed_pipe(&sandbox, &["--json", "config", "check"]),
        Some(2),
        "an invalid config is never reported valid by a closed pipe"
    );
}

#[test]
fn an_empty_trmctl_config_is_unset_and_a_set_one_must_exist() {
    let sandbox = Sandbox::with_config(CONFIG);
    // `Environment=TRMCTL_CONFIG=` in a unit: the default config, found.
    sandbox
        .cmd()
        .args(["config", "check"])
        .env("TRMCTL_CONFIG", "")
        .assert()
        .success();
    sandbox
        .cmd()
        .args(["config", "check"])
        .env("TRMCTL_CONFIG", sandbox.dir.path().join("nowhere.toml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nowhere.toml"));
}

#[test]
fn json_has_its_document_for_a_missing_subcommand_and_a_config_that_is_not_toml() {
    let sandbox = Sandbox::with_config(CONFIG);
    let out = sandbox.cmd().args(["--json", "events"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["exitCode"], 2);
    assert!(json(&out)["error"].as_str().unwrap().contains("subcommand"));

    // The report's shape whatever is wrong: a syntax error, or no config to read at all.
    let invalid = || {
        let out = sandbox
            .cmd()
            .args(["config", "check", "--json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let report = json(&out);
        assert_eq!(report["valid"], false, "{report}");
        assert_eq!(report["problems"][0]["key"], "config");
        (report["problems"][0]["message"].to_string(), out.stderr)
    };
    sandbox.write_config("[server\nbind = 1\n");
    let (_, stderr) = invalid();
    assert!(
        String::from_utf8_lossy(&stderr).contains("line 1"),
        "the problem on stderr too"
    );
    std::fs::remove_file(sandbox.config_path()).unwrap();
    let (message, _) = invalid();
    assert!(message.contains("cannot read config"), "{message}");
}

#[test]
fn reading_commands_do_not_wait_for_the_write_lock() {
    let sandbox = Sandbox::with_config(&format!("[store]\nbusy_timeout = \"100ms\"\n{CONFIG}"));
    sandbox.mark_authorized("founder");
    sandbox.cmd().arg("status").assert().success();
    // `serve` in the middle of a write, holding the lock past the busy timeout.
    let writer = rusqlite::Connection::open(sandbox.db_path()).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    sandbox.cmd().arg("status").assert().success();
    sandbox
        .cmd()
        .args(["integrations", "list"])
        .assert()
        .success();
    sandbox.cmd().args(["sinks", "list"]).assert().success();
    writer.execute_batch("ROLLBACK").unwrap();
}

#[test]
fn a_closed_stderr_changes_the_exit_code_of_nothing() {
    let sandbox = Sandbox::with_config(CONFIG);
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader); // whoever read stderr is gone
    let status = sandbox
        .std_cmd()
        .args(["events", "list", "--since", "nope"])
        .stderr(writer)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2), "a usage error, not a panic");
}
