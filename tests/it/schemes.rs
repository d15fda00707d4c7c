//! Every webhook verification scheme of SPEC §6 over real HTTP against `trmctl serve`, as one
//! table: standard-webhooks `v1` (HMAC) and `v1a` (ed25519), github, stripe, slack, hubspot v3
//! and the generic `hmac` scheme with a timestamp. For each scheme:
//!
//! - a valid delivery answers `202` with a `deliveryId`, and its repeat `200` with the same id;
//! - an empty, a truncated and a wrong-secret signature, a stale and a future timestamp (where
//!   the scheme has one), and each required header left out answer `401` with a JSON error
//!   that does not contain the secret (SPEC §5) — but for GitHub's unsigned delivery id header,
//!   whose absence is a `400` (see [`refusal_status`]);
//! - where one header may carry several signatures, one wrong and one right is accepted;
//! - nothing refused is stored: each integration ends with as many events as it answered `202`.
//!
//! The published vectors (`vectors/webhook-signatures.json`) go through HTTP too.
//! Google Pub/Sub is covered in `transport.rs`.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::server::{Server, config, eventually, hmac_sha256, now, secret};
use crate::util::Sandbox;

/// A `whsec_` key other than the configured one: it signs full-length, wrong signatures.
const WRONG_WHSEC: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
/// The wrong secret of every other HMAC scheme.
const WRONG_SECRET: &str = "a-secret-nobody-configured";
/// Seeds of the ed25519 key the `std-ed25519` integration trusts, and of a stranger's key.
const RIGHT_SEED: [u8; 32] = [7; 32];
const WRONG_SEED: [u8; 32] = [8; 32];
/// The variable the `std-ed25519` integration reads its `whpk_` public key from.
const PUBLIC_KEY_ENV: &str = "T_STD_ED25519";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    StandardV1,
    StandardV1a,
    Github,
    Stripe,
    Slack,
    Hubspot,
    Hmac,
}

/// Which key signs: the one the integration is configured with, or another of the same shape.
#[derive(Debug, Clone, Copy)]
enum Key {
    Right,
    Wrong,
}

impl Scheme {
    const ALL: [Scheme; 7] = [
        Scheme::StandardV1,
        Scheme::StandardV1a,
        Scheme::Github,
        Scheme::Stripe,
        Scheme::Slack,
        Scheme::Hubspot,
        Scheme::Hmac,
    ];

    /// The integration of `config()`, or of `ED25519_INTEGRATION`, that speaks this scheme.
    fn integration(self) -> &'static str {
        match self {
            Scheme::StandardV1 => "std",
            Scheme::StandardV1a => "std-ed25519",
            Scheme::Github => "gh",
            Scheme::Stripe => "stripe",
            Scheme::Slack => "slack",
            Scheme::Hubspot => "hubspot",
            Scheme::Hmac => "partner",
        }
    }

    /// The HMAC secret `key` names; `v1a` has none (it signs with ed25519).
    fn hmac_secret(self, key: Key) -> &'static str {
        let env = match self {
            Scheme::StandardV1 => "T_STD",
            Scheme::Github => "T_GH",
            Scheme::Stripe => "T_STRIPE",
            Scheme::Slack => "T_SLACK",
            Scheme::Hubspot => "T_HUBSPOT",
            Scheme::Hmac => "T_HMAC",
            Scheme::StandardV1a => unreachable!("v1a signs with an ed25519 key"),
        };
        match (key, self) {
            (Key::Right, _) => secret(env),
            (Key::Wrong, Scheme::StandardV1) => WRONG_WHSEC,
            (Key::Wrong, _) => WRONG_SECRET,
        }
    }

    /// What the integration is configured with (for `v1a`, the public key): no answer may hold it.
    fn configured_secret(self) -> String {
        match self {
            Scheme::StandardV1a => public_key(),
            _ => self.hmac_secret(Key::Right).to_string(),
        }
    }

    fn has_timestamp(self) -> bool {
        self != Scheme::Github
    }

    /// Whether one signature header may carry several signatures, any one of which passes.
    fn allows_several(self) -> bool {
        matches!(
            self,
            Scheme::StandardV1 | Scheme::StandardV1a | Scheme::Stripe
        )
    }

    /// The timestamp as the scheme sends and signs it: seconds, or milliseconds for HubSpot.
    fn sent_timestamp(self, seconds: i64) -> String {
        match self {
            Scheme::Hubspot => (seconds * 1000).to_string(),
            _ => seconds.to_string(),
        }
    }

    /// A body the integration's connector turns into one event; it carries the delivery id
    /// where the scheme reads it from the body (HubSpot's id is a hash of the body).
    fn body(self, id: &str) -> String {
        let body = match self {
            Scheme::Stripe => json!({"id": id, "type": "invoice.paid", "created": 1_700_000_000,
                "data": {"object": {"id": "in_1"}}}),
            Scheme::Slack => json!({"type": "event_callback", "event_id": id,
                "event_time": 1_700_000_000, "event": {"type": "message", "text": "hi"}}),
            Scheme::Hubspot => {
                json!([{"eventId": id, "subscriptionType": "contact.creation", "objectId": 5}])
            }
            _ => json!({"id": id, "type": "test.event", "action": "closed"}),
        };
        body.to_string()
    }

    /// The encoded signature of a request, without the scheme's tag (`v1,`, `sha256=`, …).
    fn sign(self, key: Key, url: &str, id: &str, timestamp: i64, body: &str) -> String {
        let (id, body) = (id.as_bytes(), body.as_bytes());
        let sent = self.sent_timestamp(timestamp);
        let ts = sent.as_bytes();
        let mac = |parts: &[&[u8]]| hmac_sha256(self.hmac_secret(key).as_bytes(), parts);
        let standard = [id, b".", ts, b".", body].concat();
        match self {
            Scheme::StandardV1 => {
                let encoded = self.hmac_secret(key).trim_start_matches("whsec_");
                STANDARD.encode(hmac_sha256(
                    &STANDARD.decode(encoded).unwrap(),
                    &[&standard],
                ))
            }
            Scheme::StandardV1a => STANDARD.encode(signing_key(key).sign(&standard).to_bytes()),
            Scheme::Github => hex::encode(mac(&[body])),
            Scheme::Stripe => hex::encode(mac(&[ts, b".", body])),
            Scheme::Slack => hex::encode(mac(&[b"v0:", ts, b":", body])),
            Scheme::Hubspot => STANDARD.encode(mac(&[b"POST", url.as_bytes(), body, ts])),
            Scheme::Hmac => STANDARD.encode(mac(&[ts, b".", body])),
        }
    }

    /// The signature header's value: the attempt's signatures, each with the scheme's tag.
    fn signature_value(self, a: &Attempt) -> String {
        let tagged = |tag: &str, separator: &str| {
            let tagged: Vec<String> = a.signatures.iter().map(|s| format!("{tag}{s}")).collect();
            tagged.join(separator)
        };
        match self {
            Scheme::StandardV1 => tagged("v1,", " "),
            Scheme::StandardV1a => tagged("v1a,", " "),
            Scheme::Github => tagged("sha256=", ""),
            Scheme::Stripe => format!("t={},{}", a.timestamp, tagged("v1=", ",")),
            Scheme::Slack => tagged("v0=", ""),
            Scheme::Hubspot | Scheme::Hmac => tagged("", ""),
        }
    }

    /// Every header the scheme requires, with its value for `a`.
    fn headers(self, a: &Attempt) -> Vec<(&'static str, String)> {
        let (id, ts, signature) = (
            a.id.clone(),
            self.sent_timestamp(a.timestamp),
            self.signature_value(a),
        );
        match self {
            Scheme::StandardV1 | Scheme::StandardV1a => vec![
                ("webhook-id", id),
                ("webhook-timestamp", ts),
                ("webhook-signature", signature),
            ],
            Scheme::Github => vec![
                ("X-Hub-Signature-256", signature),
                ("X-GitHub-Delivery", id),
            ],
            Scheme::Stripe => vec![("Stripe-Signature", signature)],
            Scheme::Slack => vec![
                ("X-Slack-Signature", signature),
                ("X-Slack-Request-Timestamp", ts),
            ],
            Scheme::Hubspot => vec![
                ("X-HubSpot-Signature-v3", signature),
                ("X-HubSpot-Request-Timestamp", ts),
            ],
            Scheme::Hmac => vec![
                ("X-Partner-Signature", signature),
                ("X-Partner-Timestamp", ts),
            ],
        }
    }
}

/// The extra integration for `v1a`: `config()` has none.
const ED25519_INTEGRATION: &str = r#"
[integrations.std-ed25519]
kind = "webhook"
scheme = "standard-webhooks"
secret = "env:T_STD_ED25519"
"#;

fn signing_key(key: Key) -> SigningKey {
    SigningKey::from_bytes(match key {
        Key::Right => &RIGHT_SEED,
        Key::Wrong => &WRONG_SEED,
    })
}

/// The `whpk_` public key of the right ed25519 key.
fn public_key() -> String {
    let key = signing_key(Key::Right).verifying_key();
    format!("whpk_{}", STANDARD.encode(key.to_bytes()))
}

/// The status a refused attempt must get: `401`, but for one case.
fn refusal_status(attempt: &Attempt) -> StatusCode {
    match attempt.without {
        // GitHub does not sign its delivery id, so a signed request without
        // `X-GitHub-Delivery` is malformed (400), not forged (SPEC §5's 401 is for signatures).
        Some("X-GitHub-Delivery") => StatusCode::BAD_REQUEST,
        _ => StatusCode::UNAUTHORIZED,
    }
}

/// One request to a scheme's integration.
#[derive(Clone)]
struct Attempt {
    /// Names the case and is its delivery id, so that no case is a duplicate of another.
    id: String,
    timestamp: i64,
    body: String,
    /// Encoded signatures, without the scheme's tag.
    signatures: Vec<String>,
    /// A required header left out.
    without: Option<&'static str>,
}

/// What an attempt must get.
enum Expected {
    /// `202` with a `deliveryId`.
    Accepted,
    /// `200` with this `deliveryId`.
    DuplicateOf(Value),
    /// This status (`401` but for one case) with a JSON error that does not hold the secret.
    Refused(StatusCode),
}

struct Answer {
    status: StatusCode,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    /// Why this answer is not `expected`, if it is not.
    fn problem(&self, expected: &Expected, secret: &str) -> Option<String> {
        let json = self.json();
        let id = &json["deliveryId"];
        let wrong = match expected {
            Expected::Accepted => self.status != StatusCode::ACCEPTED || !id.is_string(),
            Expected::DuplicateOf(first) => self.status != StatusCode::OK || id != first,
            Expected::Refused(status) => {
                let message = json["error"].as_str().unwrap_or_default();
                self.status != *status || message.is_empty() || self.text.contains(secret)
            }
        };
        wrong.then(|| self.to_string())
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "answered {} {}", self.status.as_u16(), self.text)
    }
}

/// A running server and a client for it.
struct Harness {
    sandbox: Sandbox,
    server: Server,
    client: reqwest::Client,
}

impl Harness {
    fn start() -> Harness {
        let sandbox = Sandbox::with_config(&config(ED25519_INTEGRATION));
        let server = Server::start_with_env(&sandbox, &[(PUBLIC_KEY_ENV, &public_key())]);
        Harness {
            sandbox,
            server,
            client: reqwest::Client::new(),
        }
    }

    fn url(&self, scheme: Scheme) -> String {
        self.server.url(&format!("/hooks/{}", scheme.integration()))
    }

    /// A request with id `id`, signed at `timestamp` by each of `keys`.
    fn attempt(&self, scheme: Scheme, id: &str, timestamp: i64, keys: &[Key]) -> Attempt {
        let body = scheme.body(id);
        let url = self.url(scheme);
        Attempt {
            id: id.to_string(),
            timestamp,
            signatures: keys
                .iter()
                .map(|key| scheme.sign(*key, &url, id, timestamp, &body))
                .collect(),
            body,
            without: None,
        }
    }

    /// Each request the scheme must refuse.
    fn refused(&self, scheme: Scheme, t: i64) -> Vec<Attempt> {
        let signed = |id: &str, t: i64| self.attempt(scheme, id, t, &[Key::Right]);
        let mut truncated = signed("truncated-signature", t);
        let half = truncated.signatures[0].len() / 2;
        truncated.signatures[0].truncate(half);
        let mut cases = vec![
            Attempt {
                signatures: vec![String::new()],
                ..signed("empty-signature", t)
            },
            truncated,
            self.attempt(scheme, "wrong-secret", t, &[Key::Wrong]),
        ];
        if scheme.has_timestamp() {
            cases.push(signed("stale-timestamp", t - 3600));
            cases.push(signed("future-timestamp", t + 3600));
        }
        for (name, _) in scheme.headers(&signed("valid", t)) {
            cases.push(Attempt {
                without: Some(name),
                ..signed(&format!("without-{name}"), t)
            });
        }
        cases
    }

    async fn send(&self, scheme: Scheme, a: &Attempt) -> Answer {
        let mut request = self
            .client
            .post(self.url(scheme))
            .header("Content-Type", "application/json")
            .body(a.body.clone());
        if scheme == Scheme::Github {
            // Not a signature header: the connector needs it to make the event.
            request = request.header("X-GitHub-Event", "issues");
        }
        for (name, value) in scheme.headers(a) {
            if a.without != Some(name) {
                request = request.header(name, value);
            }
        }
        let response = request.send().await.unwrap();
        Answer {
            status: response.status(),
            text: response.text().await.unwrap(),
        }
    }

    /// Runs every case of one scheme; returns how many there were and one line per failure.
    async fn check(&self, scheme: Scheme) -> (usize, Vec<String>) {
        let t = now();
        let valid = self.attempt(scheme, "valid", t, &[Key::Right]);
        let first = self.send(scheme, &valid).await;
        let again = self.send(scheme, &valid).await;
        let repeat = Expected::DuplicateOf(first.json()["deliveryId"].clone());
        let mut answers = vec![
            (valid.clone(), Expected::Accepted, first),
            (valid, repeat, again),
        ];
        if scheme.allows_several() {
            let mixed = self.attempt(scheme, "one-wrong-one-right", t, &[Key::Wrong, Key::Right]);
            let answer = self.send(scheme, &mixed).await;
            answers.push((mixed, Expected::Accepted, answer));
        }
        for attempt in self.refused(scheme, t) {
            let answer = self.send(scheme, &attempt).await;
            let expected = Expected::Refused(refusal_status(&attempt));
            answers.push((attempt, expected, answer));
        }

        let secret = scheme.configured_secret();
        let mut problems: Vec<String> = answers
            .iter()
            .filter_map(|(attempt, expected, answer)| {
                let problem = answer.problem(expected, &secret)?;
                Some(format!("{scheme:?} {}: {problem}", attempt.id))
            })
            .collect();
        let accepted = answers
            .iter()
            .filter(|(_, _, answer)| answer.status == StatusCode::ACCEPTED)
            .count();
        if let Some(problem) = self.stored_problem(scheme, accepted).await {
            problems.push(problem);
        }
        (answers.len(), problems)
    }

    /// Whether the integration holds exactly one event per `202`.
    async fn stored_problem(&self, scheme: Scheme, accepted: usize) -> Option<String> {
        let events = || self.sandbox.events(Some(scheme.integration())).len();
        eventually(&format!("{scheme:?}: an event per 202"), || {
            events() >= accepted
        })
        .await;
        let stored = events();
        (stored != accepted)
            .then(|| format!("{scheme:?}: {stored} events stored for {accepted} answers 202"))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_scheme_accepts_valid_signatures_and_refuses_each_kind_of_invalid_one() {
    let harness = Harness::start();
    let mut cases = 0;
    let mut problems = Vec::new();
    for scheme in Scheme::ALL {
        let (count, failed) = harness.check(scheme).await;
        cases += count;
        problems.extend(failed);
    }
    assert!(
        problems.is_empty(),
        "{} of {cases} checks failed:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

const VECTORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/vectors/webhook-signatures.json"
));

/// The schemes the published vectors cover, each checked by an integration of its own that
/// trusts every secret of its vectors.
#[derive(Debug, Clone, Copy)]
enum VectorSet {
    Standard,
    Github,
    Slack,
}

impl VectorSet {
    const ALL: [VectorSet; 3] = [VectorSet::Standard, VectorSet::Github, VectorSet::Slack];

    fn key(self) -> &'static str {
        match self {
            VectorSet::Standard => "standardWebhooks",
            VectorSet::Github => "github",
            VectorSet::Slack => "slack",
        }
    }

    fn integration(self) -> String {
        format!("vectors-{}", self.key().to_lowercase())
    }

    /// The integration's `[integrations.…]` table, trusting every secret of the set's vectors.
    fn config(self) -> String {
        let refs: Vec<String> = (0..self.secrets().len())
            .map(|i| format!("\"env:{}\"", self.secret_env(i)))
            .collect();
        let (name, settings, refs) = (self.integration(), self.settings(), refs.join(", "));
        format!("\n[integrations.{name}]\n{settings}\nsecret = [{refs}]\n")
    }

    /// The variable holding the set's secret number `i`.
    fn secret_env(self, i: usize) -> String {
        format!("T_VECTOR_{}_{i}", self.key().to_uppercase())
    }

    /// The integration's settings but the secret. The vectors' timestamps are years old: a
    /// century of tolerance lets them pass the clock and be judged on their signature.
    fn settings(self) -> &'static str {
        match self {
            VectorSet::Standard => {
                "kind = \"webhook\"\nscheme = \"standard-webhooks\"\ntolerance = \"100years\""
            }
            VectorSet::Github => "kind = \"github\"",
            VectorSet::Slack => "kind = \"slack\"\ntolerance = \"100years\"",
        }
    }

    fn vectors(self) -> Vec<Value> {
        let all: Value = serde_json::from_str(VECTORS).unwrap();
        all[self.key()].as_array().unwrap().clone()
    }

    /// The distinct secrets (or `whpk_` public keys) of the set's vectors.
    fn secrets(self) -> Vec<String> {
        let mut secrets: Vec<String> = self
            .vectors()
            .iter()
            .filter_map(|v| v.get("secret").or_else(|| v.get("publicKey")))
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        secrets.sort();
        secrets.dedup();
        secrets
    }

    /// The request headers of vector number `n`.
    fn headers(self, v: &Value, n: usize) -> Vec<(&'static str, String)> {
        let field = |name: &str| v[name].as_str().unwrap().to_string();
        let timestamp = || v["timestamp"].to_string();
        match self {
            VectorSet::Standard => vec![
                ("webhook-id", field("id")),
                ("webhook-timestamp", timestamp()),
                ("webhook-signature", field("signature")),
            ],
            VectorSet::Github => vec![
                ("X-Hub-Signature-256", field("signature")),
                ("X-GitHub-Delivery", format!("vector-{n}")),
                ("X-GitHub-Event", "ping".into()),
            ],
            VectorSet::Slack => vec![
                ("X-Slack-Request-Timestamp", timestamp()),
                ("X-Slack-Signature", field("signature")),
            ],
        }
    }
}

/// A valid vector passes verification: `202`, `200` for a repeated id, or `400` when its
/// payload is not JSON (refused after the signature check); an invalid one gets `401`.
#[tokio::test(flavor = "multi_thread")]
async fn published_vectors_verify_over_http() {
    let extra: String = VectorSet::ALL.map(VectorSet::config).concat();
    let env: Vec<(String, String)> = VectorSet::ALL
        .into_iter()
        .flat_map(|set| {
            let secrets = set.secrets().into_iter().enumerate();
            secrets.map(move |(i, secret)| (set.secret_env(i), secret))
        })
        .collect();
    let sandbox = Sandbox::with_config(&config(&extra));
    let env: Vec<(&str, &str)> = env.iter().map(|(n, s)| (n.as_str(), s.as_str())).collect();
    let server = Server::start_with_env(&sandbox, &env);
    let client = reqwest::Client::new();

    let mut problems = Vec::new();
    for set in VectorSet::ALL {
        for (n, vector) in set.vectors().iter().enumerate() {
            let payload = vector["payload"].as_str().unwrap();
            let mut request = client
                .post(server.url(&format!("/hooks/{}", set.integration())))
                .header("Content-Type", "application/json")
                .body(payload.to_string());
            for (name, value) in set.headers(vector, n) {
                request = request.header(name, value);
            }
            let status = request.send().await.unwrap().status();
            let right = match (
                vector["valid"] == true,
                serde_json::from_str::<Value>(payload),
            ) {
                (false, _) => status == StatusCode::UNAUTHORIZED,
                (true, Ok(_)) => status.is_success(),
                (true, Err(_)) => status == StatusCode::BAD_REQUEST,
            };
            if !right {
                problems.push(format!("{set:?} {}: answered {status}", vector["name"]));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
