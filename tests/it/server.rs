//! A `trmctl serve` process for tests: started on a free loopback port, stopped with SIGTERM
//! or killed with SIGKILL, and signing helpers that speak each provider's scheme.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::util::Sandbox;

/// The secrets the serve tests configure, passed to the server as environment variables.
pub const SECRETS: &[(&str, &str)] = &[
    ("T_GH", "gh-secret"),
    ("T_STD", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    ("T_STRIPE", "whsec_stripe_test"),
    ("T_SLACK", "slack-signing-secret"),
    ("T_HUBSPOT", "hubspot-client-secret"),
    ("T_HMAC", "partner-secret"),
    ("T_PUSH", "push-token-123"),
];

pub fn secret(name: &str) -> &'static str {
    SECRETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| *s)
        .unwrap()
}

/// A config with one integration per scheme, a small body limit and a fast retry schedule.
pub fn config(extra: &str) -> String {
    format!(
        r#"
[server]
bind = "127.0.0.1:0"
max_body_bytes = "4KiB"
shutdown_timeout = "10s"

[worker]
concurrency = 2
max_attempts = 3
retry_base = "10ms"
retry_max = "40ms"

[integrations.gh]
kind = "github"
secret = ["env:T_OLD_UNUSED_IS_FINE", "env:T_GH"]

[integrations.std]
kind = "webhook"
scheme = "standard-webhooks"
secret = "env:T_STD"

[integrations.stripe]
kind = "stripe"
secret = "env:T_STRIPE"

[integrations.slack]
kind = "slack"
secret = "env:T_SLACK"

[integrations.hubspot]
kind = "hubspot"
secret = "env:T_HUBSPOT"

[integrations.partner]
kind = "webhook"
scheme = "hmac"
secret = "env:T_HMAC"
header = "X-Partner-Signature"
algorithm = "sha256"
encoding = "base64"
timestamp_header = "X-Partner-Timestamp"
id_pointer = "/id"

[integrations.push]
kind = "google-pubsub"
token = "env:T_PUSH"

[integrations.slow]
kind = "github"
secret = "env:T_GH"
rate_limit = 1

[integrations.broken]
kind = "github"
secret = "env:T_NEVER_SET"

[[rules]]
integration = "gh"
match = {{ subject = "(?i)opened" }}
emit = "taskRequested"
{extra}"#
    )
}

pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// `http`, or `https` when the config sets `tls_cert`/`tls_key`.
    pub scheme: &'static str,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `trmctl serve` in the sandbox and waits until it listens.
    pub fn start(sandbox: &Sandbox) -> Server {
        Server::start_with_env(sandbox, &[])
    }

    /// Starts `trmctl serve` with extra environment variables.
    pub fn start_with_env(sandbox: &Sandbox, env: &[(&str, &str)]) -> Server {
        Server::start_under(sandbox, env, &[])
    }

    /// Starts `trmctl serve` under a wrapper command (`prlimit --nofile=…`), if any.
    pub fn start_under(sandbox: &Sandbox, env: &[(&str, &str)], wrapper: &[&str]) -> Server {
        Server::launch(sandbox, env, wrapper, "text")
    }

    /// Starts `trmctl serve` logging JSON lines.
    pub fn start_with_json_logs(sandbox: &Sandbox) -> Server {
        Server::launch(sandbox, &[], &[], "json")
    }

    fn launch(
        sandbox: &Sandbox,
        env: &[(&str, &str)],
        wrapper: &[&str],
        log_format: &str,
    ) -> Server {
        let trmctl = assert_cmd::cargo::cargo_bin("trmctl");
        let mut cmd = match wrapper.split_first() {
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args).arg(&trmctl);
                cmd
            }
            None => Command::new(&trmctl),
        };
        cmd.envs(env.iter().copied());
        cmd.args(["-v", "--log-format", log_format, "serve"])
            .current_dir(sandbox.dir.path())
            .env("HOME", sandbox.dir.path())
            .env("XDG_CONFIG_HOME", sandbox.dir.path().join("config"))
            .env("XDG_DATA_HOME", sandbox.dir.path().join("data"))
            .env("T_OLD_UNUSED_IS_FINE", "an-old-secret")
            .env_remove("T_NEVER_SET")
            .env_remove("TRMCTL_CONFIG")
            .env_remove("TRMCTL_DB")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (name, value) in SECRETS {
            cmd.env(name, value);
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let listening = ["http", "https"].into_iter().find_map(|scheme| {
                    let (_, addr) = line.split_once(&format!("listening on {scheme}://"))?;
                    let addr = addr.split(['"', ' ']).next().unwrap_or_default();
                    Some((scheme, addr.trim().parse::<SocketAddr>().unwrap()))
                });
                if let Some(listening) = listening {
                    let _ = tx.send(listening);
                }
                lines.lock().unwrap().push(line);
            }
        });
        let (scheme, addr) = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(listening) => listening,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "trmctl serve did not start:\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
        };
        Server {
            child,
            addr,
            scheme,
            log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(mut self) -> ExitStatus {
        signal(self.child.id(), "TERM");
        wait(&mut self.child)
    }

    /// The exit status, once a signal already sent has stopped it.
    pub fn exited(mut self) -> ExitStatus {
        wait(&mut self.child)
    }

    /// SIGKILL: a crash.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait(child: &mut Child) -> ExitStatus {
    for _ in 0..300 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("trmctl serve did not exit within 30 s");
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// `X-Hub-Signature-256` for a body.
pub fn github_signature(body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(hmac_sha256(secret("T_GH").as_bytes(), &[body]))
    )
}

/// `webhook-signature` for Standard Webhooks.
pub fn standard_signature(id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = STANDARD
        .decode(secret("T_STD").trim_start_matches("whsec_"))
        .unwrap();
    let signed = hmac_sha256(
        &key,
        &[
            id.as_bytes(),
            b".",
            timestamp.to_string().as_bytes(),
            b".",
            body,
        ],
    );
    format!("v1,{}", STANDARD.encode(signed))
}

/// `Stripe-Signature`.
pub fn stripe_signature(timestamp: i64, body: &[u8]) -> String {
    let signed = hmac_sha256(
        secret("T_STRIPE").as_bytes(),
        &[timestamp.to_string().as_bytes(), b".", body],
    );
    format!("t={timestamp},v1={}", hex::encode(signed))
}

/// `X-Slack-Signature`.
pub fn slack_signature(timestamp: i64, body: &[u8]) -> String {
    let signed = hmac_sha256(
        secret("T_SLACK").as_bytes(),
        &[b"v0:", timestamp.to_string().as_bytes(), b":", body],
    );
    format!("v0={}", hex::encode(signed))
}

/// `X-HubSpot-Signature-v3` over method, URL, body and a timestamp in milliseconds.
pub fn hubspot_signature(url: &str, body: &[u8], millis: i64) -> String {
    let signed = hmac_sha256(
        secret("T_HUBSPOT").as_bytes(),
        &[b"POST", url.as_bytes(), body, millis.to_string().as_bytes()],
    );
    STANDARD.encode(signed)
}

/// The generic HMAC scheme as configured for `partner`: base64 over `timestamp.body`.
pub fn partner_signature(timestamp: i64, body: &[u8]) -> String {
    STANDARD.encode(hmac_sha256(
        secret("T_HMAC").as_bytes(),
        &[timestamp.to_string().as_bytes(), b".", body],
    ))
}

/// A signed GitHub delivery.
pub fn github_request(
    client: &reqwest::Client,
    server: &Server,
    integration: &str,
    delivery: &str,
    body: &str,
) -> reqwest::RequestBuilder {
    github_request_with(
        client,
        server,
        integration,
        delivery,
        body,
        &github_signature(body.as_bytes()),
        "application/json",
    )
}

/// A GitHub delivery with the given signature header and content type.
pub fn github_request_with(
    client: &reqwest::Client,
    server: &Server,
    integration: &str,
    delivery: &str,
    body: &str,
    signature: &str,
    content_type: &str,
) -> reqwest::RequestBuilder {
    client
        .post(server.url(&format!("/hooks/{integration}")))
        .header("Content-Type", content_type)
        .header("X-GitHub-Event", "issues")
        .header("X-GitHub-Delivery", delivery)
        .header("X-Hub-Signature-256", signature)
        .body(body.to_string())
}

/// Polls until `check` holds, for at most 20 s.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {what}");
}
