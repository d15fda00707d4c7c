//! What the server knows about each webhook integration: how to authenticate its requests,
//! how fast it may send, and where its provider puts the delivery id.
//!
//! Built once at start-up from the config. Secrets are resolved here; an integration whose
//! secret cannot be read answers `503` (the provider retries later) instead of stopping the
//! whole server.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::pubsub::{self, AuthError, JwksCache, OidcExpectations};
use super::signature::{self, Algorithm, Encoding, HmacSpec, Scheme};
use crate::config::{IntegrationConfig, Kind, Scheme as SchemeName};
use crate::secrets::SecretRefs;

/// Default accepted clock skew for signed timestamps.
const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);
/// Default deliveries per second per integration, and how far a burst may exceed it.
const DEFAULT_RATE: NonZeroU32 = NonZeroU32::new(100).unwrap();
const BURST_FACTOR: NonZeroU32 = NonZeroU32::new(2).unwrap();
/// Where Google publishes the keys that sign Pub/Sub push tokens.
pub const GOOGLE_JWKS_URL: &str = "https://www.googleapis.com/oauth2/v3/certs";

/// How an integration's requests are authenticated.
enum Auth {
    Signature {
        scheme: Scheme,
        secrets: Vec<String>,
        tolerance: Duration,
    },
    PubsubOidc {
        expect: OidcExpectations,
        /// Shared with the hook this one replaces on a reload, when fetched from the same URL.
        jwks: Arc<JwksCache>,
    },
    PubsubToken(String),
}

/// Where the provider's delivery id comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum IdSource {
    /// A header the signature scheme reads (`webhook-id`, `X-GitHub-Delivery`, `id_header`).
    Header,
    /// A JSON pointer into the body (Stripe `/id`, `id_pointer`).
    Body(String),
    /// Slack's `event_id`, or what stands for it in a body without one.
    Slack,
    /// Pub/Sub's `message.messageId`.
    PubsubMessage,
    /// HubSpot's batch: a hash of its events' keys, else of the body.
    Hubspot,
    /// No id: a hash of the body.
    Hash,
}

/// A refused request: the status and a short reason for the JSON body.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub reason: String,
}

impl Refusal {
    pub fn new(status: StatusCode, reason: impl Into<String>) -> Refusal {
        Refusal {
            status,
            reason: reason.into(),
        }
    }
}

/// One webhook integration, ready to receive.
pub struct Hook {
    pub kind: Kind,
    /// The signature scheme; `None` for Pub/Sub, authenticated otherwise.
    scheme: Option<SchemeName>,
    auth: Result<Auth, String>,
    id_source: IdSource,
    /// Shared with the hook a reload replaces, when its quota is the same.
    limiter: Arc<DefaultDirectRateLimiter>,
    quota: Quota,
    /// Lower-case names of the headers worth keeping with a delivery.
    kept_headers: Vec<String>,
}

/// Headers the connectors read. Signature and auth headers are never kept.
const KEPT_HEADERS: &[&str] = &[
    "content-type",
    "user-agent",
    "x-github-event",
    "x-github-delivery",
    "x-github-hook-id",
    "x-slack-retry-num",
    "x-slack-retry-reason",
    "webhook-id",
    "webhook-timestamp",
    "svix-id",
    "svix-timestamp",
    "x-hubspot-request-timestamp",
];

impl Hook {
    /// Builds the runtime of one webhook integration; `None` for polling kinds.
    pub fn new(name: &str, cfg: &IntegrationConfig, client: &reqwest::Client) -> Option<Hook> {
        let scheme_name = match cfg.kind {
            Kind::Github => SchemeName::Github,
            Kind::Stripe => SchemeName::Stripe,
            Kind::Slack => SchemeName::Slack,
            Kind::Hubspot => SchemeName::Hubspot,
            Kind::Webhook => cfg.scheme.unwrap_or(SchemeName::StandardWebhooks),
            Kind::GooglePubsub => {
                return Some(Hook::assemble(
                    cfg,
                    pubsub_auth(name, cfg, client),
                    IdSource::PubsubMessage,
                    None,
                ));
            }
            _ => return None,
        };
        let id_source = match (&cfg.id_pointer, scheme_name) {
            (Some(pointer), _) => IdSource::Body(pointer.clone()),
            (None, SchemeName::Stripe) => IdSource::Body("/id".into()),
            (None, SchemeName::Slack) => IdSource::Slack,
            (None, SchemeName::Hubspot) => IdSource::Hubspot,
            (None, SchemeName::Hmac) if cfg.id_header.is_none() => IdSource::Hash,
            (None, _) => IdSource::Header,
        };
        let auth = signature_auth(name, cfg, scheme_name);
        Some(Hook::assemble(cfg, auth, id_source, Some(scheme_name)))
    }

    fn assemble(
        cfg: &IntegrationConfig,
        auth: Result<Auth, String>,
        id_source: IdSource,
        scheme: Option<SchemeName>,
    ) -> Hook {
        let rate = cfg
            .rate_limit
            .and_then(NonZeroU32::new)
            .unwrap_or(DEFAULT_RATE);
        let burst = rate.saturating_mul(BURST_FACTOR);
        let quota = Quota::per_second(rate).allow_burst(burst);
        let mut kept_headers: Vec<String> = KEPT_HEADERS.iter().map(|h| h.to_string()).collect();
        kept_headers.extend(
            [&cfg.id_header, &cfg.timestamp_header]
                .into_iter()
                .flatten()
                .map(|h| h.to_ascii_lowercase()),
        );
        Hook {
            kind: cfg.kind,
            scheme,
            auth,
            id_source,
            limiter: Arc::new(RateLimiter::direct(quota)),
            quota,
            kept_headers,
        }
    }

    /// Takes over what `running`, the hook a reload replaces, has learnt: the Pub/Sub keys it
    /// fetched, when this hook fetches from the same URL (a reload then neither fetches them
    /// again nor, while Google's endpoint is unreachable, answers 503 for want of them), and
    /// its rate limiter, when the limit is the same (a reload is no fresh burst for senders).
    pub fn carry_over(&mut self, running: &Hook) {
        if self.quota == running.quota {
            self.limiter = running.limiter.clone();
        }
        if let (Ok(Auth::PubsubOidc { jwks, .. }), Ok(Auth::PubsubOidc { jwks: known, .. })) =
            (&mut self.auth, &running.auth)
            && known.same_url(jwks)
        {
            *jwks = known.clone();
        }
    }

    /// Why this integration cannot authenticate requests (an unreadable secret), if it cannot.
    pub fn setup_problem(&self) -> Option<&str> {
        self.auth.as_ref().err().map(String::as_str)
    }

    /// Whether a signed `{"type": "url_verification"}` body is Slack's set-up challenge.
    pub fn answers_url_verification(&self) -> bool {
        self.scheme == Some(SchemeName::Slack)
    }

    /// Removes what of the payload is a credential, so it is never stored nor in an event;
    /// whether anything was. Slack puts the app's verification token (deprecated, but still
    /// accepted where an app checks it) in every Events API payload.
    pub fn drop_credentials(&self, body: &mut Value) -> bool {
        self.scheme == Some(SchemeName::Slack)
            && body
                .as_object_mut()
                .is_some_and(|fields| fields.remove("token").is_some())
    }

    /// Whether the body may come as a form: GitHub sends one (the JSON in its `payload` field,
    /// the form signed as sent) when a webhook's content type is left at its default,
    /// `application/x-www-form-urlencoded`; so does anything that signs as GitHub does.
    pub fn takes_form(&self) -> bool {
        self.scheme == Some(SchemeName::Github)
    }

    /// Takes one token from the rate limiter, or says how long to wait.
    pub fn check_rate(&self) -> Result<(), Duration> {
        self.limiter.check().map_err(|not_until| {
            not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ))
        })
    }

    /// The `503` of an integration that cannot check signatures: known at start, so a request
    /// can be refused before its body is read.
    pub fn ready(&self) -> Result<(), Refusal> {
        self.auth().map(|_| ())
    }

    /// How requests are authenticated, or [`Hook::ready`]'s refusal.
    fn auth(&self) -> Result<&Auth, Refusal> {
        // The reason (which variable or file is missing) is in the server's log, not here:
        // the caller is not known to be the provider yet.
        self.auth.as_ref().map_err(|_| {
            Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "this integration cannot check signatures yet: its secret is not available",
            )
        })
    }

    /// Authenticates a request; returns the delivery id a header carried, if any.
    pub async fn authenticate(
        &self,
        req: &signature::Request<'_>,
        query_token: Option<&str>,
    ) -> Result<Option<String>, Refusal> {
        match self.auth()? {
            Auth::Signature {
                scheme,
                secrets,
                tolerance,
            } => signature::verify(scheme, secrets, *tolerance, req)
                .map(|v| v.delivery_id)
                .map_err(|r| Refusal::new(StatusCode::UNAUTHORIZED, r.to_string())),
            Auth::PubsubOidc { expect, jwks } => {
                let token = super::bearer(req.headers).ok_or_else(|| {
                    Refusal::new(StatusCode::UNAUTHORIZED, "missing bearer token")
                })?;
                jwks.verify(token, expect, req.now)
                    .await
                    .map(|_| None)
                    .map_err(auth_refusal)
            }
            Auth::PubsubToken(expected) => pubsub::verify_shared_token(query_token, expected)
                .map(|()| None)
                .map_err(auth_refusal),
        }
    }

    /// The provider's id of this delivery: the key of dedupe at the inbox.
    pub fn provider_delivery_id(
        &self,
        header_id: Option<String>,
        body: &Value,
        raw: &[u8],
    ) -> Result<String, Refusal> {
        let bad = |why: String| Refusal::new(StatusCode::BAD_REQUEST, why);
        match &self.id_source {
            IdSource::Header => header_id
                .filter(|id| !id.is_empty())
                .ok_or_else(|| bad("the delivery id header is missing, empty or not UTF-8".into())),
            IdSource::Body(pointer) => body
                .pointer(pointer)
                .and_then(crate::connectors::id_text)
                .ok_or_else(|| {
                    bad(format!(
                        "field `{pointer}` (the delivery id) is missing, or not a whole number \
                         or a non-empty string"
                    ))
                }),
            IdSource::Slack => crate::connectors::slack_delivery_id(body)
                .map_err(|e| bad(format!("{e} (the delivery id)"))),
            IdSource::PubsubMessage => pubsub::parse_envelope(raw)
                .map(|e| e.message_id)
                .map_err(bad),
            IdSource::Hubspot => {
                Ok(crate::connectors::hubspot_delivery_id(body).unwrap_or_else(|| body_hash(raw)))
            }
            IdSource::Hash => Ok(body_hash(raw)),
        }
    }

    /// The headers kept with a delivery, by lower-case name.
    pub fn kept_headers(&self, headers: &HeaderMap) -> BTreeMap<String, String> {
        self.kept_headers
            .iter()
            .filter_map(|name| {
                let value = super::header_text(headers.get(name.as_str())?)?;
                Some((name.clone(), value.to_string()))
            })
            .collect()
    }
}

/// The delivery id of a body that has none of its own.
fn body_hash(raw: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(raw)))
}

fn auth_refusal(error: AuthError) -> Refusal {
    match error {
        AuthError::Unauthorized(why) => Refusal::new(StatusCode::UNAUTHORIZED, why),
        AuthError::Unavailable(why) => Refusal::new(StatusCode::SERVICE_UNAVAILABLE, why),
    }
}

/// The integration's secrets that can be used: read, and for standard-webhooks a key. One that
/// cannot is logged and left out while another can sign, so a rotation whose old keyring entry
/// went first keeps the integration up; with none, the integration cannot authenticate.
fn usable_secrets(
    name: &str,
    refs: Option<&SecretRefs>,
    scheme: &Scheme,
) -> Result<Vec<String>, String> {
    let refs = refs.ok_or_else(|| format!("integration {name} has no secret"))?;
    let (mut usable, mut problems) = (Vec::new(), Vec::new());
    for secret_ref in &refs.0 {
        let secret = secret_ref
            .resolve(name, "secret")
            .map_err(|e| format!("{e:#}"))
            .and_then(|secret| {
                if *scheme == Scheme::StandardWebhooks {
                    signature::usable_standard_webhooks_secret(&secret)
                        .map_err(|why| format!("a secret of integration {name} {why}"))?;
                }
                Ok(secret)
            });
        match secret {
            Ok(secret) => usable.push(secret),
            Err(problem) => problems.push(problem),
        }
    }
    if usable.is_empty() {
        return Err(problems.join("; "));
    }
    for problem in problems {
        tracing::error!(integration = name, error = %problem, "a webhook secret cannot be used; checking signatures with the others");
    }
    Ok(usable)
}

fn signature_auth(name: &str, cfg: &IntegrationConfig, scheme: SchemeName) -> Result<Auth, String> {
    let scheme = match scheme {
        SchemeName::StandardWebhooks => Scheme::StandardWebhooks,
        SchemeName::Github => Scheme::Github,
        SchemeName::Stripe => Scheme::Stripe,
        SchemeName::Slack => Scheme::Slack,
        SchemeName::Hubspot => Scheme::Hubspot,
        SchemeName::Hmac => Scheme::Hmac(HmacSpec {
            header: cfg.header.clone().unwrap_or_default(),
            algorithm: Algorithm::from_str(cfg.algorithm.as_deref().unwrap_or("sha256"))
                .map_err(|e| e.to_string())?,
            encoding: Encoding::from_str(cfg.encoding.as_deref().unwrap_or("hex"))
                .map_err(|e| e.to_string())?,
            prefix: cfg.prefix.clone().unwrap_or_default(),
            timestamp_header: cfg.timestamp_header.clone(),
            id_header: cfg.id_header.clone(),
        }),
    };
    let secrets = usable_secrets(name, cfg.secret.as_ref(), &scheme)?;
    Ok(Auth::Signature {
        scheme,
        secrets,
        tolerance: cfg.tolerance.unwrap_or(DEFAULT_TOLERANCE),
    })
}

fn pubsub_auth(
    name: &str,
    cfg: &IntegrationConfig,
    client: &reqwest::Client,
) -> Result<Auth, String> {
    if let Some(token) = &cfg.token {
        let token = token.resolve(name, "token").map_err(|e| format!("{e:#}"))?;
        return Ok(Auth::PubsubToken(token));
    }
    let audience = cfg
        .audience
        .clone()
        .ok_or_else(|| format!("integration {name} needs `audience` or `token`"))?;
    let service_account = cfg
        .service_account
        .clone()
        .ok_or_else(|| format!("integration {name} needs `service_account`"))?;
    let url = cfg
        .jwks_url
        .clone()
        .unwrap_or_else(|| GOOGLE_JWKS_URL.to_string());
    Ok(Auth::PubsubOidc {
        expect: OidcExpectations {
            audience,
            service_account,
        },
        jwks: Arc::new(JwksCache::new(client.clone(), url)),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use axum::http::HeaderValue;

    use super::*;
    use crate::config::Config;

    #[test]
    fn kept_headers_keep_utf8_values_and_never_a_signature() {
        let config = Config::parse(
            "[integrations.gh]\nkind = \"github\"\nsecret = \"env:GH_SECRET\"\n",
            Path::new("test.toml"),
        )
        .unwrap();
        let hook = Hook::new("gh", &config.integrations["gh"], &reqwest::Client::new()).unwrap();
        let mut headers = HeaderMap::new();
        let event = HeaderValue::from_bytes("café".as_bytes()).unwrap();
        headers.insert("x-github-event", event);
        headers.insert("x-hub-signature-256", HeaderValue::from_static("sha256=00"));
        let kept = hook.kept_headers(&headers);
        assert_eq!(kept.get("x-github-event").map(String::as_str), Some("café"));
        assert!(!kept.contains_key("x-hub-signature-256"), "{kept:?}");
    }

    #[test]
    fn a_reload_keeps_the_rate_limiters_state_unless_the_limit_changed() {
        let hook = |rate: u32| {
            let text = format!(
                "[integrations.gh]\nkind = \"github\"\nsecret = \"env:GH_SECRET\"\nrate_limit = {rate}\n"
            );
            let config = Config::parse(&text, Path::new("test.toml")).unwrap();
            Hook::new("gh", &config.integrations["gh"], &reqwest::Client::new()).unwrap()
        };
        let running = hook(1);
        while running.check_rate().is_ok() {}
        let mut same = hook(1);
        same.carry_over(&running);
        assert!(
            same.check_rate().is_err(),
            "the burst is not handed out again"
        );
        let mut raised = hook(5);
        raised.carry_over(&running);
        assert!(raised.check_rate().is_ok(), "a new limit starts afresh");
    }
}
