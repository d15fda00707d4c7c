//! `trmctl auth` and `trmctl secret` against a local authorization server and the real Secret
//! Service of the test session (tests/run.sh): the browser flow with PKCE, refresh, the
//! concurrent-refresh lock, invalid_grant, revoke, export/import, and that no secret leaks.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::oauth::{AuthServer, CLIENT_SECRET, EMAIL};
use crate::util::{Sandbox, json};

/// Keyring entries are shared by every test in the session: each test uses its own names.
fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}

fn trmctl(sandbox: &Sandbox) -> Command {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "the keyring tests need a Secret Service: run them with `bash tests/run.sh`"
    );
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("trmctl"));
    cmd.current_dir(sandbox.dir.path())
        .env("XDG_CONFIG_HOME", sandbox.dir.path().join("config"))
        .env("XDG_DATA_HOME", sandbox.dir.path().join("data"))
        .env("T_CLIENT_SECRET", CLIENT_SECRET)
        .env("NO_COLOR", "1")
        .env_remove("TRMCTL_CONFIG")
        .env_remove("TRMCTL_DB")
        .env_remove("RUST_LOG");
    cmd
}

/// Runs `cmd` with `input` on its stdin; its output.
fn fed(mut cmd: Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn run(sandbox: &Sandbox, args: &[&str]) -> Output {
    trmctl(sandbox)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn secret_tool_lookup(name: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", "trmctl", "username", name])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Starts `auth google --no-browser` and returns it with the authorization URL it printed.
fn start_authorization(sandbox: &Sandbox, account: &str) -> (Child, String) {
    let mut child = trmctl(sandbox)
        .args(["-vv", "auth", "google", account, "--no-browser"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        let mut log = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent && line.trim_start().starts_with("http://") {
                let _ = tx.send(line.trim().to_string());
                sent = true;
            }
            log.push_str(&line);
            log.push('\n');
        }
        let _ = tx.send(log);
    });
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("auth google printed no URL");
    (child, url)
}

/// Plays the browser: follows the authorization URL to the consent redirect, and returns the
/// redirect address (trmctl's loopback listener).
async fn consent(url: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client.get(url).send().await.unwrap();
    assert_eq!(
        response.status(),
        302,
        "the authorization server refused: {}",
        response.text().await.unwrap_or_default()
    );
    response.headers()["location"].to_str().unwrap().to_string()
}

/// Authorizes `account` through the loopback redirect.
async fn authorize(sandbox: &Sandbox, account: &str) {
    let (mut child, url) = start_authorization(sandbox, account);
    let redirect = consent(&url).await;
    // A stray request to the bare address (a prefetch, a reload) ends nothing.
    let bare = redirect.split('?').next().unwrap();
    assert_eq!(reqwest::get(bare).await.unwrap().status(), 404);
    let page = reqwest::get(&redirect).await.unwrap();
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("You can close this tab")
    );
    let out = wait(&mut child);
    assert!(
        out.status.success(),
        "auth google failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn wait(child: &mut Child) -> Output {
    for _ in 0..300 {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        std::io::Read::read_to_string(&mut stdout, &mut out).unwrap();
    }
    let status = child.wait().unwrap();
    Output {
        status,
        stdout: out.into_bytes(),
        stderr: Vec::new(),
    }
}

fn setup(server: &AuthServer, account: &str) -> Sandbox {
    let config = format!(
        "{}\n[integrations.{account}-mail]\nkind = \"gmail\"\naccount = \"{account}\"\n",
        server.account_config(account)
    );
    Sandbox::with_config(&config)
}

#[tokio::test(flavor = "multi_thread")]
async fn browser_flow_with_pkce_stores_tokens_in_the_keyring_only() {
    let server = AuthServer::start().await;
    let account = unique("acct");
    let sandbox = setup(&server, &account);
    authorize(&sandbox, &account).await;

    let request = server.books().auth_requests[0].clone();
    assert_eq!(request["code_challenge_method"], "S256");
    assert!(
        request["scope"].contains("gmail.readonly"),
        "scopes follow the integrations"
    );
    assert!(!request["scope"].contains("spreadsheets"));
    let refresh = server.books().refresh_tokens[0].clone();
    let access = server.books().issued_access_tokens[0].clone();
    assert_eq!(
        secret_tool_lookup(&format!("{account}/refresh_token")).as_deref(),
        Some(refresh.as_str())
    );

    let list = json(&run(&sandbox, &["auth", "list", "--json"]));
    assert_eq!(list[0]["status"], "active");
    assert_eq!(list[0]["email"], EMAIL);
    assert!(
        list[0]["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "gmail.readonly")
    );
    assert!(
        list[0]["secretLocation"]
            .as_str()
            .unwrap()
            .starts_with("keyring")
    );
    assert!(
        run(&sandbox, &["auth", "status", &account])
            .status
            .success()
    );

    // The cached access token is fresh: no refresh request.
    let token = run(&sandbox, &["auth", "token", &account]);
    assert!(token.status.success());
    assert_eq!(String::from_utf8_lossy(&token.stdout).trim(), access);
    assert_eq!(server.books().refresh_requests, 0);
    // With --json, a usage error that names no token: secrets never go into --json output.
    let refused = run(&sandbox, &["--json", "auth", "token", &account]);
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(crate::util::json(&refused)["exitCode"], 2);

    // No token in the database, in -vv logs or in --json output.
    let logs = run(&sandbox, &["-vv", "--json", "auth", "list"]);
    let database = std::fs::read(sandbox.db_path()).unwrap();
    let wal = std::fs::read(sandbox.db_path().with_extension("db-wal")).unwrap_or_default();
    for secret in [refresh.as_str(), access.as_str(), CLIENT_SECRET] {
        for (what, bytes) in [
            ("database", &database),
            ("wal", &wal),
            ("stdout", &logs.stdout),
            ("stderr", &logs.stderr),
            ("auth token --json", &refused.stdout),
        ] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{what} holds a secret"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_browser_accepts_the_pasted_redirect_address() {
    let server = AuthServer::start().await;
    let account = unique("paste");
    let sandbox = setup(&server, &account);
    let (mut child, url) = start_authorization(&sandbox, &account);
    let redirect = consent(&url).await;
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "not an address").unwrap();
    writeln!(stdin, "{redirect}").unwrap();
    let out = wait(&mut child);
    assert!(out.status.success());
    assert!(secret_tool_lookup(&format!("{account}/refresh_token")).is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_state_is_refused() {
    let server = AuthServer::start().await;
    let account = unique("forged");
    let sandbox = setup(&server, &account);
    let (mut child, url) = start_authorization(&sandbox, &account);
    let redirect = consent(&url).await;
    let forged = regex::Regex::new("state=[^&]+")
        .unwrap()
        .replace(&redirect, "state=forged")
        .into_owned();
    let _ = reqwest::get(&forged).await.unwrap();
    let out = wait(&mut child);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        server.books().token_requests,
        0,
        "no code exchange after a bad state"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn expiring_tokens_refresh_once_for_two_concurrent_processes() {
    let server = AuthServer::start().await;
    server.books().expires_in = 60; // under the 5-minute margin: stale at once
    let account = unique("refresh");
    let sandbox = setup(&server, &account);
    authorize(&sandbox, &account).await;
    server.books().refresh_delay = Duration::from_millis(500);
    server.books().expires_in = 3600;
    let spawn = || {
        trmctl(&sandbox)
            .args(["auth", "token", &account])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(
        a.status.success() && b.status.success(),
        "{}",
        String::from_utf8_lossy(&b.stderr)
    );
    assert_eq!(
        server.books().refresh_requests,
        1,
        "one refresh for two processes"
    );
    assert_eq!(a.stdout, b.stdout, "both print the refreshed token");
    assert!(String::from_utf8_lossy(&a.stdout).contains("refreshed-1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_authorization_saved_while_a_refresh_fails_is_not_marked_for_reauthorization() {
    let server = AuthServer::start().await;
    server.books().expires_in = 60; // stale at once: every `auth token` refreshes
    let account = unique("race");
    let sandbox = setup(&server, &account);
    authorize(&sandbox, &account).await;
    let mut document = json(&run(&sandbox, &["auth", "export", &account]));
    // Google drops the stored refresh token, slowly; the user brings a new one meanwhile.
    let old = server.books().refresh_tokens[0].clone();
    server.books().revoked.push(old);
    server
        .books()
        .refresh_tokens
        .push("1//fresh-from-laptop".into());
    document["refreshToken"] = "1//fresh-from-laptop".into();
    server.books().refresh_delay = Duration::from_millis(1500);
    let refresh = trmctl(&sandbox)
        .args(["auth", "token", &account])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    crate::server::eventually("the refresh has begun", || {
        server.books().refreshes_begun == 1
    })
    .await;
    let mut import = trmctl(&sandbox);
    import.args(["auth", "import", &account]);
    assert!(
        fed(import, document.to_string().as_bytes())
            .status
            .success()
    );
    let refresh = refresh.wait_with_output().unwrap();
    assert_eq!(refresh.status.code(), Some(4), "the old token was refused");

    server.books().refresh_delay = Duration::ZERO;
    let status = run(&sandbox, &["auth", "status", &account]);
    assert_eq!(
        status.status.code(),
        Some(0),
        "the new authorization stands: {}",
        String::from_utf8_lossy(&status.stdout)
    );
    assert!(run(&sandbox, &["auth", "token", &account]).status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_grant_is_final_exit_4_and_a_reauth_event() {
    let server = AuthServer::start().await;
    server.books().expires_in = 60;
    let account = unique("dead");
    let sandbox = setup(&server, &account);
    authorize(&sandbox, &account).await;
    let refresh = server.books().refresh_tokens[0].clone();
    server.books().revoked.push(refresh); // Google now refuses it

    let out = run(&sandbox, &["auth", "token", &account]);
    assert_eq!(out.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("trmctl auth google {account}")),
        "{stderr}"
    );
    assert!(
        stderr.contains("Testing"),
        "names the usual cause: {stderr}"
    );
    assert_eq!(
        run(&sandbox, &["auth", "status", &account]).status.code(),
        Some(4)
    );
    let events = json(&run(
        &sandbox,
        &["events", "list", "--type", "reauthRequired", "--json"],
    ));
    assert_eq!(events.as_array().unwrap().len(), 1);
    // No retry loop: the next run does not even ask.
    let before = server.books().refresh_requests;
    assert_eq!(
        run(&sandbox, &["auth", "token", &account]).status.code(),
        Some(4)
    );
    assert_eq!(server.books().refresh_requests, before);
    let events = json(&run(
        &sandbox,
        &["events", "list", "--type", "reauthRequired", "--json"],
    ));
    assert_eq!(
        events.as_array().unwrap().len(),
        1,
        "one event per transition"
    );
    // Re-authorizing makes it active again.
    authorize(&sandbox, &account).await;
    assert!(
        run(&sandbox, &["auth", "status", &account])
            .status
            .success()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn revoke_asks_the_provider_and_deletes_local_tokens() {
    let server = AuthServer::start().await;
    let account = unique("revoke");
    let sandbox = setup(&server, &account);
    authorize(&sandbox, &account).await;
    let refresh = server.books().refresh_tokens[0].clone();
    let out = run(&sandbox, &["--json", "auth", "revoke", &account]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        json(&out),
        serde_json::json!({"account": account, "revoked": true})
    );
    assert_eq!(server.books().revoked, vec![refresh]);
    assert!(secret_tool_lookup(&format!("{account}/refresh_token")).is_none());
    assert!(secret_tool_lookup(&format!("{account}/access_token")).is_none());
    let list = json(&run(&sandbox, &["auth", "list", "--json"]));
    assert_eq!(list[0]["status"], "notAuthorized");
    assert_eq!(run(&sandbox, &["auth", "status"]).status.code(), Some(4));
    // With --json, one document on stdout (the accounts), the reason on stderr.
    let status = run(&sandbox, &["auth", "status", "--json"]);
    assert_eq!(status.status.code(), Some(4));
    assert_eq!(json(&status)[0]["status"], "notAuthorized");
    assert!(String::from_utf8_lossy(&status.stderr).contains("needs authorization"));
}

#[tokio::test(flavor = "multi_thread")]
async fn import_of_a_bare_token_refuses_it_without_repeating_it() {
    let server = AuthServer::start().await;
    let name = unique("bare");
    let sandbox = setup(&server, &name);
    // `auth export … | jq .refreshToken` without `-r`: a JSON string, not the document.
    let mut import = trmctl(&sandbox);
    import.args(["--json", "auth", "import", &name]);
    let out = fed(import, b"\"1//0gREFRESH-TOKEN-SECRET\"\n");
    assert_eq!(out.status.code(), Some(2));
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        printed.contains("not an `auth export` document"),
        "{printed}"
    );
    assert!(!printed.contains("REFRESH-TOKEN-SECRET"), "{printed}");
    assert_eq!(secret_tool_lookup(&format!("{name}/refresh_token")), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn import_refuses_an_empty_token_or_another_providers_document() {
    let server = AuthServer::start().await;
    let name = unique("empty");
    let sandbox = setup(&server, &name);
    for (document, why) in [
        (
            r#"{"account":"x","provider":"google","email":null,"scopes":"","refreshToken":" "}"#,
            "refreshToken is empty",
        ),
        (
            r#"{"account":"x","provider":"github","email":null,"scopes":"","refreshToken":"1//t"}"#,
            "of a `github` account",
        ),
    ] {
        let mut import = trmctl(&sandbox);
        import.args(["auth", "import", &name]);
        let out = fed(import, document.as_bytes());
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains(why));
        assert_eq!(secret_tool_lookup(&format!("{name}/refresh_token")), None);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn export_and_import_move_an_authorization() {
    let server = AuthServer::start().await;
    let laptop = unique("laptop");
    let sandbox = setup(&server, &laptop);
    authorize(&sandbox, &laptop).await;
    let exported = run(&sandbox, &["auth", "export", &laptop]);
    assert!(exported.status.success());
    let document = json(&exported);
    assert_eq!(
        document["refreshToken"],
        server.books().refresh_tokens[0].as_str()
    );

    let headless = unique("server");
    let other = setup(&server, &headless);
    let mut import = trmctl(&other);
    import.args(["--json", "auth", "import", &headless]);
    let imported = fed(import, &exported.stdout);
    assert!(imported.status.success());
    assert_eq!(
        json(&imported),
        serde_json::json!({"account": headless, "importedFrom": laptop})
    );
    assert_eq!(
        secret_tool_lookup(&format!("{headless}/refresh_token")).as_deref(),
        document["refreshToken"].as_str()
    );
    // The imported account refreshes with the moved token.
    let token = run(&other, &["auth", "token", &headless]);
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    assert_eq!(server.books().refresh_requests, 1);
}

/// A sandbox with one GitHub integration of a unique name whose `secret` is `secret` (TOML):
/// the sandbox, the integration and the keyring entry its secret is named after.
fn github_hook(secret: &str) -> (Sandbox, String, String) {
    let integration = unique("hook");
    let sandbox = Sandbox::with_config(&format!(
        "[integrations.{integration}]\nkind = \"github\"\nsecret = {secret}\n"
    ));
    let name = format!("{integration}/secret");
    (sandbox, integration, name)
}

/// `trmctl -vv secret set NAME` with `value` on stdin.
fn secret_set(sandbox: &Sandbox, name: &str, value: &str) -> Output {
    let mut set = trmctl(sandbox);
    set.args(["-vv", "secret", "set", name]);
    fed(set, format!("{value}\n").as_bytes())
}

#[tokio::test(flavor = "multi_thread")]
async fn secret_set_warns_when_the_config_reads_that_key_elsewhere() {
    let (sandbox, integration, name) = github_hook(r#""env:T_GH_ELSEWHERE""#);
    let set = secret_set(&sandbox, &name, "stored-but-not-read");
    assert!(set.status.success(), "stored all the same");
    let stderr = String::from_utf8_lossy(&set.stderr);
    assert!(
        stderr.contains(&format!(
            "warning: integrations.{integration}.secret reads env:T_GH_ELSEWHERE, not the keyring"
        )),
        "{stderr}"
    );
    assert!(run(&sandbox, &["secret", "rm", &name]).status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn secret_set_reaches_the_keyring_and_nothing_else() {
    // The second secret of a rotation sits in an entry of its own.
    let (sandbox, integration, name) = github_hook(r#"["keyring", "keyring:secret-old"]"#);
    let value = "s3cr3t-value-that-must-not-leak";
    let set = secret_set(&sandbox, &name, value);
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    assert_eq!(
        secret_tool_lookup(&name).as_deref(),
        Some(value),
        "found by secret-tool"
    );

    let list = run(&sandbox, &["-vv", "secret", "list", "--json"]);
    let rows = json(&list);
    assert_eq!(rows[0]["name"], name.as_str());
    assert_eq!(rows[0]["present"], true);
    assert!(rows[0]["location"].as_str().unwrap().starts_with("keyring"));
    let old = format!("{integration}/secret-old");
    assert_eq!(rows[1]["name"], old.as_str());
    assert_eq!(rows[1]["present"], false, "not set yet");
    let database = std::fs::read(sandbox.db_path()).unwrap();
    for (what, bytes) in [
        ("database", &database),
        ("list stdout", &list.stdout),
        ("list stderr", &list.stderr),
        ("set stderr", &set.stderr),
    ] {
        assert!(
            !bytes.windows(value.len()).any(|w| w == value.as_bytes()),
            "{what} holds the secret"
        );
    }
    // The webhook integration resolves it: config check and serve see the keyring.
    let rm = run(&sandbox, &["secret", "rm", &name, "--json"]);
    assert!(rm.status.success());
    assert_eq!(
        json(&rm),
        serde_json::json!({ "name": name, "deleted": true })
    );
    assert!(secret_tool_lookup(&name).is_none());
    assert_eq!(
        run(&sandbox, &["secret", "rm", &name]).status.code(),
        Some(1)
    );
    assert_eq!(
        run(&sandbox, &["secret", "set", "no-slash"]).status.code(),
        Some(2)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn secret_set_and_rm_change_no_keyring_entry_when_the_store_cannot_open() {
    let (sandbox, _integration, name) = github_hook(r#""keyring""#);
    let with_bad_db = |args: &[&str], stdin: &str| {
        let mut cmd = trmctl(&sandbox);
        cmd.args(args).env("TRMCTL_DB", "relative.db");
        fed(cmd, stdin.as_bytes())
    };
    assert_eq!(
        with_bad_db(&["secret", "set", &name], "value\n")
            .status
            .code(),
        Some(2)
    );
    assert_eq!(secret_tool_lookup(&name), None, "nothing stored");
    assert!(secret_set(&sandbox, &name, "kept").status.success());
    assert_eq!(
        with_bad_db(&["secret", "rm", &name], "").status.code(),
        Some(2)
    );
    assert_eq!(
        secret_tool_lookup(&name).as_deref(),
        Some("kept"),
        "nothing deleted"
    );
    assert!(run(&sandbox, &["secret", "rm", &name]).status.success());
}

#[test]
fn secret_list_without_a_keyring_is_an_error_not_every_entry_missing() {
    let sandbox = Sandbox::with_config(
        "[integrations.gh]\nkind = \"github\"\nsecret = \"keyring\"\n\
         [integrations.hub]\nkind = \"hubspot\"\nsecret = \"env:T_HUB\"\n",
    );
    let out = trmctl(&sandbox)
        .args(["secret", "list"])
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .env("T_HUB", "hub-secret")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("keyring") && stderr.contains("gh/secret"),
        "{stderr}"
    );
    assert!(!stdout.contains("missing"), "{stdout}");
    // The rows the keyring is not needed for still show.
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("hub/secret") && l.ends_with("yes")),
        "{stdout}"
    );
    assert!(stdout.contains("unknown"), "{stdout}");
}

#[test]
fn a_keyring_that_never_answers_is_a_clear_error_not_a_hang() {
    let sandbox = Sandbox::with_config("");
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("bus");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    // Accept and never answer, like a wedged session bus.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let started = std::time::Instant::now();
    let mut child = trmctl(&sandbox)
        .args(["secret", "set", "x/secret"])
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", socket.display()),
        )
        .env("TRMCTL_KEYRING_TIMEOUT", "1s")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"value\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("did not answer within 1s"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}
