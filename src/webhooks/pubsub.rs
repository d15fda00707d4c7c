//! Google Cloud Pub/Sub push deliveries (SPEC §6, scheme `google-pubsub`).
//!
//! Pub/Sub does not sign push bodies with a shared secret the way the other webhook providers
//! do. A push is authenticated either by the RS256 OIDC token Google puts in
//! `Authorization: Bearer …` (checked against Google's published JWKS) or, for subscriptions set
//! up that way, by a shared token carried in the push URL's query. This module parses the push
//! envelope (and the Gmail notification it may carry), verifies both kinds of credential, and
//! keeps the JWKS cached so that verifying a delivery normally costs no network round trip.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::{Mutex, RwLock};

/// Where Google publishes the keys that sign its OIDC tokens.
pub const DEFAULT_JWKS_URL: &str = "https://www.googleapis.com/oauth2/v3/certs";

/// The `iss` values Google uses for the tokens it mints.
const GOOGLE_ISSUERS: [&str; 2] = ["accounts.google.com", "https://accounts.google.com"];
/// Clock skew tolerated on `exp`.
const EXP_LEEWAY_SECS: i64 = 60;
/// Cache lifetime when the JWKS response carries no `Cache-Control: max-age`.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(3600);
/// Minimum spacing of refetches caused by tokens naming a key id we do not know.
const UNKNOWN_KID_REFETCH_INTERVAL: Duration = Duration::from_secs(60);
/// After a failed fetch, no new attempt is made for this long (stale keys keep serving).
const FAILURE_BACKOFF: Duration = Duration::from_secs(10);
/// Upper bound on one JWKS fetch, so a hung endpoint cannot hold the refresh lock forever.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// A JWKS document is a few kilobytes; anything much larger is not one.
const MAX_JWKS_BYTES: usize = 256 * 1024;
/// What a request is told when no keys could be fetched (the reason goes to the log).
const KEYS_UNAVAILABLE: &str = "Google's signing keys could not be fetched; retry later";

const LENIENT_PADDING: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT_PADDING);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT_PADDING);

// ---------------------------------------------------------------------------------------------
// Envelope
// ---------------------------------------------------------------------------------------------

/// One Pub/Sub push delivery, as decoded from the request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Pub/Sub's message id: the dedupe key.
    pub message_id: String,
    pub publish_time: Option<String>,
    /// The message payload, base64-decoded (empty when the message carried none).
    pub data: Vec<u8>,
    pub attributes: BTreeMap<String, String>,
    /// `projects/…/subscriptions/…`
    pub subscription: String,
}

/// Parses a push body. Errors name the missing or malformed field.
pub fn parse_envelope(body: &[u8]) -> Result<Envelope, String> {
    let root: Value =
        serde_json::from_slice(body).map_err(|e| format!("body is not valid JSON: {e}"))?;
    let message = root
        .get("message")
        .filter(|m| !m.is_null())
        .ok_or("message is missing")?;
    if !message.is_object() {
        return Err("message is not an object".into());
    }
    let message_id = match optional_str(message, "messageId", "message.messageId")? {
        Some(id) => Some(id),
        None => optional_str(message, "message_id", "message.message_id")?,
    };
    Ok(Envelope {
        message_id: non_empty(message_id, "message.messageId")?,
        publish_time: optional_str(message, "publishTime", "message.publishTime")?
            .map(str::to_owned),
        data: message_data(message)?,
        attributes: attributes(message)?,
        subscription: non_empty(
            optional_str(&root, "subscription", "subscription")?,
            "subscription",
        )?,
    })
}

/// `obj[key]` as a string; absent or `null` is `None`, any other type an error naming `field`.
fn optional_str<'a>(obj: &'a Value, key: &str, field: &str) -> Result<Option<&'a str>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{field} is not a string")),
    }
}

fn non_empty(value: Option<&str>, field: &str) -> Result<String, String> {
    match value {
        None => Err(format!("{field} is missing")),
        Some(v) if v.trim().is_empty() => Err(format!("{field} is empty")),
        Some(v) => Ok(v.to_owned()),
    }
}

fn message_data(message: &Value) -> Result<Vec<u8>, String> {
    match optional_str(message, "data", "message.data")? {
        None => Ok(Vec::new()),
        Some(text) => decode_base64(text).ok_or_else(|| "message.data is not valid base64".into()),
    }
}

/// Pub/Sub sends the standard alphabet with padding; Gmail's docs speak of base64url. Take both.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    STANDARD_LENIENT
        .decode(text)
        .or_else(|_| URL_SAFE_LENIENT.decode(text))
        .ok()
}

fn attributes(message: &Value) -> Result<BTreeMap<String, String>, String> {
    let map = match message.get("attributes") {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map,
        Some(_) => return Err("message.attributes is not an object".into()),
    };
    map.iter()
        .map(|(key, value)| match value {
            Value::String(s) => Ok((key.clone(), s.clone())),
            _ => Err(format!("message.attributes.{key} is not a string")),
        })
        .collect()
}

/// The payload Gmail publishes when a watched mailbox changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GmailNotification {
    pub email_address: String,
    pub history_id: u64,
}

/// Reads Gmail's `{"emailAddress":…,"historyId":…}` (historyId as a number or a string).
pub fn gmail_notification(data: &[u8]) -> Option<GmailNotification> {
    let value: Value = serde_json::from_slice(data).ok()?;
    let email_address = value.get("emailAddress")?.as_str()?.trim();
    if email_address.is_empty() {
        return None;
    }
    Some(GmailNotification {
        email_address: email_address.to_owned(),
        history_id: history_id(value.get("historyId")?)?,
    })
}

fn history_id(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Authentication: common
// ---------------------------------------------------------------------------------------------

/// Why a push was not accepted. Reasons are short and never contain the credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Bad or missing credential: answer 401.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The keys needed to check the credential could not be obtained: answer 503.
    #[error("verification keys unavailable: {0}")]
    Unavailable(String),
}

fn unauthorized(reason: &str) -> AuthError {
    AuthError::Unauthorized(reason.to_owned())
}

/// Checks the `?token=` of the push URL (already percent-decoded) against the configured one.
pub fn verify_shared_token(query_token: Option<&str>, expected: &str) -> Result<(), AuthError> {
    if expected.is_empty() {
        return Err(unauthorized("no shared token configured"));
    }
    let given = query_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unauthorized("missing token"))?;
    if !crate::secrets::same_secret(given, expected) {
        return Err(unauthorized("wrong token"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Authentication: OIDC token
// ---------------------------------------------------------------------------------------------

/// What an integration expects of the OIDC tokens on its pushes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcExpectations {
    /// The `aud` configured on the push subscription (by default the push endpoint URL).
    pub audience: String,
    /// The service account the subscription pushes as (the token's `email`). Required: any
    /// Google service account can mint a token for any audience.
    pub service_account: String,
}

/// The verified claims of a Google OIDC token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    /// The audience that matched the expectation.
    pub aud: String,
    pub email: String,
    pub email_verified: bool,
    pub exp: i64,
    pub sub: Option<String>,
}

#[derive(Deserialize)]
struct RawClaims {
    iss: Option<String>,
    aud: Option<OneOrMany>,
    email: Option<String>,
    email_verified: Option<Flag>,
    exp: Option<serde_json::Number>,
    sub: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn contains(&self, wanted: &str) -> bool {
        match self {
            OneOrMany::One(aud) => aud == wanted,
            OneOrMany::Many(auds) => auds.iter().any(|aud| aud == wanted),
        }
    }
}

/// `email_verified` is a boolean in Google's tokens; some issuers send the string "true".
#[derive(Deserialize)]
#[serde(untagged)]
enum Flag {
    Bool(bool),
    Text(String),
}

impl Flag {
    fn is_true(&self) -> bool {
        match self {
            Flag::Bool(b) => *b,
            Flag::Text(s) => s.eq_ignore_ascii_case("true"),
        }
    }
}

/// The `kid` of a token whose header declares RS256; anything else is refused up front.
fn rs256_kid(token: &str) -> Result<String, AuthError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| unauthorized("malformed token"))?;
    if header.alg != Algorithm::RS256 {
        return Err(unauthorized("token algorithm is not RS256"));
    }
    header
        .kid
        .filter(|kid| !kid.is_empty())
        .ok_or_else(|| unauthorized("token names no key id"))
}

/// Signature (and algorithm) only: the claims are checked by [`check_claims`] against `now`.
fn verify_signature(token: &str, key: &DecodingKey) -> Result<RawClaims, AuthError> {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<RawClaims>(token, key, &validation)
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => unauthorized("bad signature"),
            ErrorKind::InvalidAlgorithm => unauthorized("token algorithm is not RS256"),
            ErrorKind::Json(_) => unauthorized("malformed claims"),
            _ => unauthorized("malformed token"),
        })
}

fn check_claims(raw: RawClaims, expect: &OidcExpectations, now: i64) -> Result<Claims, AuthError> {
    if expect.audience.is_empty() {
        return Err(unauthorized("no audience configured"));
    }
    let iss = raw.iss.ok_or_else(|| unauthorized("iss claim missing"))?;
    if !GOOGLE_ISSUERS.contains(&iss.as_str()) {
        return Err(unauthorized("wrong issuer"));
    }
    if !raw.aud.is_some_and(|aud| aud.contains(&expect.audience)) {
        return Err(unauthorized("wrong audience"));
    }
    let exp = raw
        .exp
        .as_ref()
        .and_then(seconds)
        .ok_or_else(|| unauthorized("exp claim missing"))?;
    if now > exp.saturating_add(EXP_LEEWAY_SECS) {
        return Err(unauthorized("token expired"));
    }
    let email = check_email(raw.email, &expect.service_account)?;
    if !raw.email_verified.is_some_and(|flag| flag.is_true()) {
        return Err(unauthorized("email not verified"));
    }
    Ok(Claims {
        iss,
        aud: expect.audience.clone(),
        email,
        email_verified: true,
        exp,
        sub: raw.sub,
    })
}

/// A NumericDate: integer seconds, or a float (truncated).
fn seconds(n: &serde_json::Number) -> Option<i64> {
    n.as_i64()
        .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
}

fn check_email(email: Option<String>, service_account: &str) -> Result<String, AuthError> {
    let email = email
        .filter(|e| !e.is_empty())
        .ok_or_else(|| unauthorized("email claim missing"))?;
    if email.eq_ignore_ascii_case(service_account) {
        Ok(email)
    } else {
        Err(unauthorized("wrong service account"))
    }
}

// ---------------------------------------------------------------------------------------------
// JWKS cache
// ---------------------------------------------------------------------------------------------

/// One fetched JWKS: the usable RS256 keys by `kid`.
struct KeySet {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Instant,
    max_age: Duration,
}

impl KeySet {
    fn is_fresh(&self) -> bool {
        self.fetched_at.elapsed() <= self.max_age
    }

    fn has_fresh(&self, kid: &str) -> bool {
        self.is_fresh() && self.keys.contains_key(kid)
    }
}

/// When fetches were attempted; guarded by the refresh lock.
#[derive(Default)]
struct FetchLog {
    /// The last fetch attempt of any kind.
    last_attempt: Option<Instant>,
    last_failure: Option<Instant>,
}

/// Google's signing keys, fetched on demand and shared by every request (wrap it in an `Arc`).
///
/// Keys are refetched when older than the response's `Cache-Control: max-age` (one hour when
/// absent), or when a token names an unknown `kid` — but only when the last fetch is at least a
/// minute old, so random key ids cannot make us hammer the endpoint. One fetch runs at a time. When a fetch
/// fails, the keys already held keep serving.
pub struct JwksCache {
    client: reqwest::Client,
    url: String,
    keys: RwLock<Option<Arc<KeySet>>>,
    refresh: Mutex<FetchLog>,
}

impl fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksCache")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct JwksDocument {
    keys: Vec<JwkEntry>,
}

#[derive(Deserialize)]
struct JwkEntry {
    kid: Option<String>,
    kty: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

impl JwksCache {
    pub fn new(client: reqwest::Client, url: String) -> Self {
        JwksCache {
            client,
            url,
            keys: RwLock::new(None),
            refresh: Mutex::new(FetchLog::default()),
        }
    }

    /// Whether both fetch their keys from the same URL.
    pub fn same_url(&self, other: &JwksCache) -> bool {
        self.url == other.url
    }

    /// Verifies a Google OIDC token (the bearer token of a push) and returns its claims.
    pub async fn verify(
        &self,
        bearer_token: &str,
        expect: &OidcExpectations,
        now: i64,
    ) -> Result<Claims, AuthError> {
        let kid = rs256_kid(bearer_token)?;
        let key_set = self.keys_for(&kid).await?;
        let key = key_set
            .keys
            .get(&kid)
            .ok_or_else(|| unauthorized("unknown signing key"))?;
        let raw = verify_signature(bearer_token, key)?;
        check_claims(raw, expect, now)
    }

    async fn current(&self) -> Option<Arc<KeySet>> {
        self.keys.read().await.clone()
    }

    /// The key set to look `kid` up in, refreshing it first when that is warranted.
    async fn keys_for(&self, kid: &str) -> Result<Arc<KeySet>, AuthError> {
        match self.current().await {
            Some(set) if set.has_fresh(kid) => Ok(set),
            _ => self.refresh(kid).await,
        }
    }

    async fn refresh(&self, kid: &str) -> Result<Arc<KeySet>, AuthError> {
        let mut log = self.refresh.lock().await;
        // Another request may have refreshed while this one waited for the lock.
        let current = self.current().await;
        if let Some(set) = current.as_ref().filter(|set| set.has_fresh(kid)) {
            return Ok(set.clone());
        }
        if !may_fetch(current.as_deref(), &log) {
            return current
                .ok_or_else(|| AuthError::Unavailable("no keys yet; retrying later".into()));
        }
        log.last_attempt = Some(Instant::now());
        match self.fetch().await {
            Ok(set) => Ok(self.store(set).await),
            Err(reason) => {
                log.last_failure = Some(Instant::now());
                tracing::warn!(url = %self.url, %reason, "JWKS fetch failed");
                // The caller is not authenticated yet: the URL and the error are for the log.
                current.ok_or_else(|| AuthError::Unavailable(KEYS_UNAVAILABLE.into()))
            }
        }
    }

    async fn store(&self, set: KeySet) -> Arc<KeySet> {
        let set = Arc::new(set);
        *self.keys.write().await = Some(set.clone());
        set
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        let response = self
            .client
            .get(&self.url)
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .map_err(|e| format!("JWKS request failed: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("JWKS endpoint answered {status}"));
        }
        let max_age = cache_max_age(response.headers()).unwrap_or(DEFAULT_MAX_AGE);
        let body = read_limited(response, MAX_JWKS_BYTES).await?;
        let keys = parse_jwks(&body)?;
        Ok(KeySet {
            keys,
            fetched_at: Instant::now(),
            max_age,
        })
    }

    /// Test hook: pretend the last fetch attempt happened `by` earlier than it did.
    #[cfg(test)]
    async fn backdate_last_fetch(&self, by: Duration) {
        let mut log = self.refresh.lock().await;
        log.last_attempt = log.last_attempt.and_then(|at| at.checked_sub(by));
    }
}

/// Whether a fetch may start now, given what is cached and when fetches last happened.
///
/// A fresh cache that lacks the wanted `kid` is refetched only if the last fetch is a minute
/// old: a key id missing from a JWKS fetched moments ago is almost surely bogus (Google
/// publishes keys well before signing with them).
fn may_fetch(current: Option<&KeySet>, log: &FetchLog) -> bool {
    if within(log.last_failure, FAILURE_BACKOFF) {
        return false;
    }
    match current {
        Some(set) if set.is_fresh() => !within(log.last_attempt, UNKNOWN_KID_REFETCH_INTERVAL),
        _ => true,
    }
}

fn within(at: Option<Instant>, window: Duration) -> bool {
    at.is_some_and(|at| at.elapsed() < window)
}

/// The `max-age` directive of the `Cache-Control` header(s), if any.
fn cache_max_age(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|directive| directive.trim().split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("max-age"))
        .and_then(|(_, secs)| secs.trim().trim_matches('"').parse().ok())
        .map(Duration::from_secs)
}

async fn read_limited(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("JWKS read failed: {e}"))?
    {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err("JWKS response too large".into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The RS256 signing keys of a JWKS document; other keys are skipped.
fn parse_jwks(body: &[u8]) -> Result<HashMap<String, DecodingKey>, String> {
    let document: JwksDocument =
        serde_json::from_slice(body).map_err(|e| format!("JWKS is not valid: {e}"))?;
    let keys: HashMap<_, _> = document.keys.iter().filter_map(rs256_key).collect();
    if keys.is_empty() {
        return Err("JWKS holds no usable RS256 key".into());
    }
    Ok(keys)
}

fn rs256_key(entry: &JwkEntry) -> Option<(String, DecodingKey)> {
    let kid = entry.kid.as_deref().filter(|kid| !kid.is_empty())?;
    let usable = entry.kty.as_deref() == Some("RSA")
        && entry.alg.as_deref().is_none_or(|alg| alg == "RS256")
        && entry.usage.as_deref().is_none_or(|usage| usage == "sig");
    if !usable {
        return None;
    }
    let key = DecodingKey::from_rsa_components(entry.n.as_deref()?, entry.e.as_deref()?).ok()?;
    Some((kid.to_owned(), key))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use axum::Json;
    use axum::Router;
    use axum::extract::State;
    use axum::http::{HeaderValue, StatusCode};
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;
    use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    use super::*;

    const NOW: i64 = 1_700_000_000;
    const AUDIENCE: &str = "https://hooks.example.com/hooks/gmail-push";
    const SERVICE_ACCOUNT: &str = "pusher@project.iam.gserviceaccount.com";

    /// Fixed test-only RSA keys (generated with `openssl genpkey`; they protect nothing).
    const KEY_1: &str = include_str!("../../tests/fixtures/pubsub-test-key-1.pem");
    const KEY_2: &str = include_str!("../../tests/fixtures/pubsub-test-key-2.pem");

    // ---- helpers --------------------------------------------------------------------------

    #[derive(Clone)]
    struct ServerState {
        hits: Arc<AtomicUsize>,
        failing: Arc<AtomicBool>,
        jwks: Arc<std::sync::Mutex<Value>>,
        cache_control: &'static str,
    }

    struct JwksServer {
        url: String,
        state: ServerState,
    }

    impl JwksServer {
        fn hits(&self) -> usize {
            self.state.hits.load(Ordering::SeqCst)
        }

        fn set_jwks(&self, jwks: Value) {
            *self.state.jwks.lock().unwrap() = jwks;
        }

        fn set_failing(&self, failing: bool) {
            self.state.failing.store(failing, Ordering::SeqCst);
        }

        fn cache(&self) -> JwksCache {
            JwksCache::new(reqwest::Client::new(), self.url.clone())
        }
    }

    async fn serve_jwks(State(state): State<ServerState>) -> Response {
        state.hits.fetch_add(1, Ordering::SeqCst);
        if state.failing.load(Ordering::SeqCst) {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        let body = state.jwks.lock().unwrap().clone();
        let cache_control = HeaderValue::from_static(state.cache_control);
        ([(header::CACHE_CONTROL, cache_control)], Json(body)).into_response()
    }

    async fn start_server(jwks: Value, cache_control: &'static str) -> JwksServer {
        let state = ServerState {
            hits: Arc::new(AtomicUsize::new(0)),
            failing: Arc::new(AtomicBool::new(false)),
            jwks: Arc::new(std::sync::Mutex::new(jwks)),
            cache_control,
        };
        let app = Router::new()
            .route("/certs", get(serve_jwks))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/certs", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        JwksServer { url, state }
    }

    /// A server publishing KEY_1 as `k1`, cacheable for an hour.
    async fn google() -> JwksServer {
        start_server(
            jwks(&[(KEY_1, "k1")]),
            "public, max-age=3600, must-revalidate",
        )
        .await
    }

    fn jwk(pem: &str, kid: &str) -> Value {
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        serde_json::to_value(jwk).unwrap()
    }

    fn jwks(keys: &[(&str, &str)]) -> Value {
        json!({ "keys": keys.iter().map(|(pem, kid)| jwk(pem, kid)).collect::<Vec<_>>() })
    }

    fn claims() -> Value {
        json!({
            "iss": "https://accounts.google.com",
            "aud": AUDIENCE,
            "azp": "1234567890",
            "email": SERVICE_ACCOUNT,
            "email_verified": true,
            "iat": NOW - 10,
            "exp": NOW + 3590,
            "sub": "1234567890",
        })
    }

    fn claims_with(field: &str, value: Value) -> Value {
        let mut claims = claims();
        claims[field] = value;
        claims
    }

    fn sign(pem: &str, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
        jsonwebtoken::encode(&header, claims, &key).unwrap()
    }

    fn expect() -> OidcExpectations {
        OidcExpectations {
            audience: AUDIENCE.to_owned(),
            service_account: SERVICE_ACCOUNT.to_owned(),
        }
    }

    /// Asserts a 401 whose reason contains `reason_part` and does not leak the token.
    fn assert_unauthorized(result: Result<Claims, AuthError>, token: &str, reason_part: &str) {
        match result {
            Err(AuthError::Unauthorized(reason)) => {
                assert!(
                    reason.contains(reason_part),
                    "reason {reason:?} lacks {reason_part:?}"
                );
                assert!(
                    token.len() < 8 || !reason.contains(token),
                    "reason leaks the token"
                );
            }
            other => panic!("expected Unauthorized({reason_part}), got {other:?}"),
        }
    }

    fn b64url(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    // ---- OIDC -----------------------------------------------------------------------------

    #[tokio::test]
    async fn valid_token_is_accepted() {
        let server = google().await;
        let cache = server.cache();
        let token = sign(KEY_1, "k1", &claims());
        let claims = cache.verify(&token, &expect(), NOW).await.unwrap();
        assert_eq!(claims.email, SERVICE_ACCOUNT);
        assert_eq!(claims.aud, AUDIENCE);
        assert_eq!(claims.exp, NOW + 3590);
        assert_eq!(claims.iss, "https://accounts.google.com");
        assert!(claims.email_verified);
        assert_eq!(server.hits(), 1);
    }

    #[tokio::test]
    async fn both_google_issuers_and_audience_lists_are_accepted() {
        let server = google().await;
        let cache = server.cache();
        let bare = sign(
            KEY_1,
            "k1",
            &claims_with("iss", json!("accounts.google.com")),
        );
        assert!(cache.verify(&bare, &expect(), NOW).await.is_ok());
        let listed = sign(KEY_1, "k1", &claims_with("aud", json!(["other", AUDIENCE])));
        assert!(cache.verify(&listed, &expect(), NOW).await.is_ok());
    }

    #[tokio::test]
    async fn wrong_audience_is_rejected() {
        let server = google().await;
        let cache = server.cache();
        let token = sign(
            KEY_1,
            "k1",
            &claims_with("aud", json!("https://elsewhere.example")),
        );
        assert_unauthorized(
            cache.verify(&token, &expect(), NOW).await,
            &token,
            "audience",
        );
        let missing = sign(KEY_1, "k1", &claims_with("aud", Value::Null));
        assert_unauthorized(
            cache.verify(&missing, &expect(), NOW).await,
            &missing,
            "audience",
        );
    }

    #[tokio::test]
    async fn wrong_email_is_rejected() {
        let server = google().await;
        let cache = server.cache();
        let token = sign(
            KEY_1,
            "k1",
            &claims_with("email", json!("intruder@evil.example")),
        );
        assert_unauthorized(
            cache.verify(&token, &expect(), NOW).await,
            &token,
            "service account",
        );
        let missing = sign(KEY_1, "k1", &claims_with("email", Value::Null));
        assert_unauthorized(
            cache.verify(&missing, &expect(), NOW).await,
            &missing,
            "email",
        );
    }

    #[tokio::test]
    async fn unverified_email_is_rejected() {
        let server = google().await;
        let cache = server.cache();
        for flag in [json!(false), json!("false"), Value::Null] {
            let token = sign(KEY_1, "k1", &claims_with("email_verified", flag));
            assert_unauthorized(
                cache.verify(&token, &expect(), NOW).await,
                &token,
                "not verified",
            );
        }
        let text_true = sign(KEY_1, "k1", &claims_with("email_verified", json!("true")));
        assert!(cache.verify(&text_true, &expect(), NOW).await.is_ok());
    }

    #[tokio::test]
    async fn expired_token_is_rejected_beyond_the_leeway() {
        let server = google().await;
        let cache = server.cache();
        let token = sign(KEY_1, "k1", &claims_with("exp", json!(NOW - 61)));
        assert_unauthorized(
            cache.verify(&token, &expect(), NOW).await,
            &token,
            "expired",
        );
        let skewed = sign(KEY_1, "k1", &claims_with("exp", json!(NOW - 30)));
        assert!(cache.verify(&skewed, &expect(), NOW).await.is_ok());
        let missing = sign(KEY_1, "k1", &claims_with("exp", Value::Null));
        assert_unauthorized(
            cache.verify(&missing, &expect(), NOW).await,
            &missing,
            "exp",
        );
    }

    #[tokio::test]
    async fn wrong_issuer_is_rejected() {
        let server = google().await;
        let cache = server.cache();
        let token = sign(
            KEY_1,
            "k1",
            &claims_with("iss", json!("https://evil.example")),
        );
        assert_unauthorized(cache.verify(&token, &expect(), NOW).await, &token, "issuer");
    }

    #[tokio::test]
    async fn token_signed_by_another_key_is_rejected() {
        let server = google().await;
        let cache = server.cache();
        let token = sign(KEY_2, "k1", &claims());
        assert_unauthorized(
            cache.verify(&token, &expect(), NOW).await,
            &token,
            "signature",
        );
        // Tampered payload under a genuine signature.
        let genuine = sign(KEY_1, "k1", &claims());
        let parts: Vec<&str> = genuine.split('.').collect();
        let forged_claims = claims_with("email", json!("intruder@evil.example"));
        let forged_payload = b64url(forged_claims.to_string().as_bytes());
        let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_unauthorized(
            cache.verify(&forged, &expect(), NOW).await,
            &forged,
            "signature",
        );
    }

    #[tokio::test]
    async fn unknown_kid_refetches_at_most_once_a_minute() {
        let server = google().await;
        let cache = server.cache();
        let first = sign(KEY_1, "k1", &claims());
        assert!(cache.verify(&first, &expect(), NOW).await.is_ok());
        assert_eq!(server.hits(), 1);

        // Google rotates: k2 appears. Moments after a fetch, an unknown kid is not worth one.
        server.set_jwks(jwks(&[(KEY_1, "k1"), (KEY_2, "k2")]));
        let rotated = sign(KEY_2, "k2", &claims());
        assert_unauthorized(
            cache.verify(&rotated, &expect(), NOW).await,
            &rotated,
            "unknown",
        );
        assert_eq!(server.hits(), 1);

        // A minute on, the unknown kid makes us refetch exactly once.
        cache
            .backdate_last_fetch(UNKNOWN_KID_REFETCH_INTERVAL)
            .await;
        assert!(cache.verify(&rotated, &expect(), NOW).await.is_ok());
        assert_eq!(server.hits(), 2);
        assert!(cache.verify(&rotated, &expect(), NOW).await.is_ok());
        assert_eq!(server.hits(), 2);

        // Unknown kids within the minute: rejected without touching the server.
        for kid in ["k3", "random-1", "random-2"] {
            let token = sign(KEY_2, kid, &claims());
            assert_unauthorized(
                cache.verify(&token, &expect(), NOW).await,
                &token,
                "unknown",
            );
        }
        assert_eq!(server.hits(), 2);

        // A minute later an unknown kid may trigger one more fetch.
        cache
            .backdate_last_fetch(UNKNOWN_KID_REFETCH_INTERVAL)
            .await;
        let token = sign(KEY_2, "k4", &claims());
        assert_unauthorized(
            cache.verify(&token, &expect(), NOW).await,
            &token,
            "unknown",
        );
        assert_eq!(server.hits(), 3);
    }

    #[tokio::test]
    async fn unknown_kid_on_first_use_fetches_once() {
        let server = google().await;
        let cache = server.cache();
        let token = sign(KEY_2, "nope", &claims());
        assert_unauthorized(
            cache.verify(&token, &expect(), NOW).await,
            &token,
            "unknown",
        );
        assert_unauthorized(
            cache.verify(&token, &expect(), NOW).await,
            &token,
            "unknown",
        );
        assert_eq!(server.hits(), 1);
    }

    #[tokio::test]
    async fn non_rs256_tokens_are_rejected() {
        let server = google().await;
        let cache = server.cache();
        // Key-confusion attempt: HS256 keyed with the public key's bytes.
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k1".into());
        let public = jwk(KEY_1, "k1").to_string();
        let hs256 = jsonwebtoken::encode(
            &header,
            &claims(),
            &EncodingKey::from_secret(public.as_bytes()),
        )
        .unwrap();
        assert_unauthorized(cache.verify(&hs256, &expect(), NOW).await, &hs256, "RS256");

        let none_header = b64url(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#);
        let payload = b64url(claims().to_string().as_bytes());
        let unsigned = format!("{none_header}.{payload}.");
        assert!(matches!(
            cache.verify(&unsigned, &expect(), NOW).await,
            Err(AuthError::Unauthorized(_))
        ));

        // RS512 under a real RSA key: still not RS256.
        let mut rs512 = Header::new(Algorithm::RS512);
        rs512.kid = Some("k1".into());
        let key = EncodingKey::from_rsa_pem(KEY_1.as_bytes()).unwrap();
        let rs512 = jsonwebtoken::encode(&rs512, &claims(), &key).unwrap();
        assert_unauthorized(cache.verify(&rs512, &expect(), NOW).await, &rs512, "RS256");
        assert_eq!(server.hits(), 0, "header checks come before any fetch");
    }

    #[tokio::test]
    async fn garbage_tokens_are_rejected() {
        let server = google().await;
        let cache = server.cache();
        let good = sign(KEY_1, "k1", &claims());
        let head = good.split('.').next().unwrap().to_owned();
        let garbage = [
            String::new(),
            "garbage".into(),
            "a.b.c".into(),
            "..".into(),
            format!("{head}.!!!.???"),
            format!("{head}.{}.sig", b64url(b"not json")),
            format!("{}.{}.x", b64url(br#"{"alg":"RS256"}"#), b64url(b"{}")),
        ];
        for token in &garbage {
            let result = cache.verify(token, &expect(), NOW).await;
            assert!(
                matches!(result, Err(AuthError::Unauthorized(_))),
                "{token:?}: {result:?}"
            );
        }
    }

    #[tokio::test]
    async fn cached_keys_are_reused() {
        let server = google().await;
        let cache = server.cache();
        let token = sign(KEY_1, "k1", &claims());
        for _ in 0..25 {
            assert!(cache.verify(&token, &expect(), NOW).await.is_ok());
        }
        assert_eq!(server.hits(), 1);
    }

    #[tokio::test]
    async fn concurrent_first_requests_fetch_once() {
        let server = google().await;
        let cache = Arc::new(server.cache());
        let token = Arc::new(sign(KEY_1, "k1", &claims()));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let (cache, token) = (cache.clone(), token.clone());
            tasks.spawn(async move { cache.verify(&token, &expect(), NOW).await });
        }
        while let Some(result) = tasks.join_next().await {
            assert!(result.unwrap().is_ok());
        }
        assert_eq!(server.hits(), 1);
    }

    #[tokio::test]
    async fn expired_cache_is_refetched() {
        let server = start_server(jwks(&[(KEY_1, "k1")]), "max-age=0").await;
        let cache = server.cache();
        let token = sign(KEY_1, "k1", &claims());
        assert!(cache.verify(&token, &expect(), NOW).await.is_ok());
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(cache.verify(&token, &expect(), NOW).await.is_ok());
        assert_eq!(server.hits(), 2);
    }

    #[tokio::test]
    async fn stale_keys_keep_serving_while_the_endpoint_fails() {
        let server = start_server(jwks(&[(KEY_1, "k1")]), "max-age=0").await;
        let cache = server.cache();
        let token = sign(KEY_1, "k1", &claims());
        assert!(cache.verify(&token, &expect(), NOW).await.is_ok());
        server.set_failing(true);
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(cache.verify(&token, &expect(), NOW).await.is_ok());
        assert_eq!(server.hits(), 2);
        // Within the failure backoff no new attempt is made.
        assert!(cache.verify(&token, &expect(), NOW).await.is_ok());
        assert_eq!(server.hits(), 2);
    }

    #[tokio::test]
    async fn unreachable_jwks_with_empty_cache_is_unavailable() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/certs", listener.local_addr().unwrap());
        drop(listener);
        let cache = JwksCache::new(reqwest::Client::new(), url);
        let token = sign(KEY_1, "k1", &claims());
        let result = cache.verify(&token, &expect(), NOW).await;
        // What a caller not yet authenticated is told names neither the URL nor the error.
        assert!(
            matches!(&result, Err(AuthError::Unavailable(why)) if why == KEYS_UNAVAILABLE),
            "{result:?}"
        );
        // Still unavailable (not 401) during the backoff.
        let result = cache.verify(&token, &expect(), NOW).await;
        assert!(
            matches!(result, Err(AuthError::Unavailable(_))),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn failing_jwks_endpoint_with_empty_cache_is_unavailable() {
        let server = google().await;
        server.set_failing(true);
        let cache = server.cache();
        let token = sign(KEY_1, "k1", &claims());
        let result = cache.verify(&token, &expect(), NOW).await;
        assert!(
            matches!(result, Err(AuthError::Unavailable(_))),
            "{result:?}"
        );
        assert_eq!(server.hits(), 1);
    }

    #[test]
    fn jwks_parsing_skips_unusable_keys() {
        let mut doc = jwks(&[(KEY_1, "k1"), (KEY_2, "k2")]);
        doc["keys"][1]["alg"] = json!("RS512");
        doc["keys"]
            .as_array_mut()
            .unwrap()
            .push(json!({"kty": "EC", "kid": "e1", "crv": "P-256"}));
        let keys = parse_jwks(doc.to_string().as_bytes()).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), ["k1"]);
        assert!(parse_jwks(br#"{"keys":[]}"#).is_err());
        assert!(parse_jwks(b"<html>").is_err());
    }

    #[test]
    fn cache_control_max_age_is_read() {
        let mut headers = HeaderMap::new();
        assert_eq!(cache_max_age(&headers), None);
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=19845, must-revalidate, no-transform"),
        );
        assert_eq!(cache_max_age(&headers), Some(Duration::from_secs(19845)));
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("MAX-AGE=\"60\""),
        );
        assert_eq!(cache_max_age(&headers), Some(Duration::from_secs(60)));
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("max-age=soon"),
        );
        assert_eq!(cache_max_age(&headers), None);
    }

    // ---- shared token ---------------------------------------------------------------------

    #[test]
    fn shared_token_must_match_exactly() {
        let expected = "s3cr3t-token-value";
        assert_eq!(verify_shared_token(Some(expected), expected), Ok(()));
        for given in [
            Some("wrong-token-value!"),
            Some("s3cr3t"),
            Some("s3cr3t-token-value-and-more"),
            Some(""),
            None,
        ] {
            let result = verify_shared_token(given, expected);
            match result {
                Err(AuthError::Unauthorized(reason)) => assert!(!reason.contains(expected)),
                other => panic!("{given:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn shared_token_requires_a_configured_token() {
        assert!(matches!(
            verify_shared_token(Some(""), ""),
            Err(AuthError::Unauthorized(_))
        ));
        assert!(matches!(
            verify_shared_token(None, ""),
            Err(AuthError::Unauthorized(_))
        ));
    }

    // ---- envelope -------------------------------------------------------------------------

    fn push_body(message: Value) -> Vec<u8> {
        json!({
            "message": message,
            "subscription": "projects/acme/subscriptions/gmail-push",
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn envelope_is_parsed() {
        let body = push_body(json!({
            "data": "aGVsbG8gd29ybGQ=",
            "messageId": "136969346945",
            "message_id": "136969346945",
            "publishTime": "2024-05-01T12:00:00.123Z",
            "publish_time": "2024-05-01T12:00:00.123Z",
            "attributes": { "origin": "test", "kind": "demo" },
        }));
        let envelope = parse_envelope(&body).unwrap();
        assert_eq!(envelope.message_id, "136969346945");
        assert_eq!(
            envelope.publish_time.as_deref(),
            Some("2024-05-01T12:00:00.123Z")
        );
        assert_eq!(envelope.data, b"hello world");
        assert_eq!(
            envelope.attributes.get("origin").map(String::as_str),
            Some("test")
        );
        assert_eq!(envelope.attributes.len(), 2);
        assert_eq!(
            envelope.subscription,
            "projects/acme/subscriptions/gmail-push"
        );
    }

    #[test]
    fn envelope_accepts_snake_case_id_url_safe_data_and_no_data() {
        let body = push_body(json!({ "message_id": "42", "data": "-_8" }));
        let envelope = parse_envelope(&body).unwrap();
        assert_eq!(envelope.message_id, "42");
        assert_eq!(envelope.data, [0xfb, 0xff]);
        assert!(envelope.attributes.is_empty());
        assert_eq!(envelope.publish_time, None);
        let empty = parse_envelope(&push_body(json!({ "messageId": "43" }))).unwrap();
        assert!(empty.data.is_empty());
    }

    #[test]
    fn envelope_errors_name_the_field() {
        let cases: [(Vec<u8>, &str); 9] = [
            (
                push_body(json!({ "data": "aGk=" })),
                "message.messageId is missing",
            ),
            (
                push_body(json!({ "messageId": "" })),
                "message.messageId is empty",
            ),
            (
                push_body(json!({ "messageId": 7 })),
                "message.messageId is not a string",
            ),
            (
                push_body(json!({ "messageId": "1", "data": "not base64!!" })),
                "message.data",
            ),
            (
                push_body(json!({ "messageId": "1", "attributes": { "n": 1 } })),
                "message.attributes.n",
            ),
            (
                push_body(json!({ "messageId": "1", "attributes": [] })),
                "message.attributes",
            ),
            (
                br#"{"subscription":"projects/a/subscriptions/b"}"#.to_vec(),
                "message is missing",
            ),
            (
                br#"{"message":{"messageId":"1"}}"#.to_vec(),
                "subscription is missing",
            ),
            (b"not json".to_vec(), "not valid JSON"),
        ];
        for (body, wanted) in cases {
            let error = parse_envelope(&body).unwrap_err();
            assert!(error.contains(wanted), "{error:?} lacks {wanted:?}");
        }
    }

    #[test]
    fn gmail_notification_is_read() {
        let numeric = br#"{"emailAddress":"user@example.com","historyId":9876543210}"#;
        let text = br#"{"emailAddress":"user@example.com","historyId":"9876543210"}"#;
        for data in [&numeric[..], &text[..]] {
            let note = gmail_notification(data).unwrap();
            assert_eq!(note.email_address, "user@example.com");
            assert_eq!(note.history_id, 9_876_543_210);
        }
        assert_eq!(gmail_notification(br#"{"emailAddress":"u@e.com"}"#), None);
        assert_eq!(
            gmail_notification(br#"{"emailAddress":"u@e.com","historyId":"x"}"#),
            None
        );
        assert_eq!(
            gmail_notification(br#"{"emailAddress":"","historyId":1}"#),
            None
        );
        assert_eq!(gmail_notification(b"\xff"), None);
    }

    #[test]
    fn gmail_notification_through_the_envelope() {
        let inner = br#"{"emailAddress":"user@example.com","historyId":1234}"#;
        let standard = base64::engine::general_purpose::STANDARD.encode(inner);
        let body = push_body(json!({ "messageId": "1", "data": standard }));
        let note = gmail_notification(&parse_envelope(&body).unwrap().data).unwrap();
        assert_eq!(note.history_id, 1234);
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(inner);
        let body = push_body(json!({ "messageId": "1", "data": url_safe }));
        assert!(gmail_notification(&parse_envelope(&body).unwrap().data).is_some());
    }
}
