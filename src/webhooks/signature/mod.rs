//! Webhook signature verification (SPEC §6).
//!
//! Every inbound webhook is authenticated here before anything is stored. The checks are pure
//! functions of the request, the configured secrets and a clock passed in by the caller, so they
//! can be tested against providers' published vectors without a server. This module holds the
//! shared vocabulary (request, scheme, outcome), the dispatch to one file per scheme, and the
//! primitives every scheme relies on: header reading, timestamp tolerance, HMAC and a
//! length-checked constant-time comparison.

mod github;
mod hmac;
mod hubspot;
mod slack;
mod standard_webhooks;
mod stripe;
#[cfg(test)]
mod test_support;

pub use standard_webhooks::{
    sign as sign_standard_webhooks, usable_secret as usable_standard_webhooks_secret,
};

use std::str::FromStr;
use std::time::Duration;

use ::hmac::{Hmac, Mac};
use axum::http::HeaderMap;
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use subtle::ConstantTimeEq;

/// The parts of an inbound HTTP request a signature can cover.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// HTTP method, e.g. `"POST"`.
    pub method: &'a str,
    /// Full public URL of the request (HubSpot v3 signs it).
    pub url: &'a str,
    pub headers: &'a HeaderMap,
    /// The raw body, exactly as received.
    pub body: &'a [u8],
    /// Current Unix time in seconds.
    pub now: i64,
}

/// Config of one scheme, built by the caller from the integration's config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    StandardWebhooks,
    Github,
    Stripe,
    Slack,
    Hubspot,
    Hmac(HmacSpec),
}

/// The generic `hmac` scheme: where the signature is and how it is computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HmacSpec {
    /// Header carrying the signature.
    pub header: String,
    pub algorithm: Algorithm,
    pub encoding: Encoding,
    /// Stripped before decoding (e.g. `"sha256="`); `""` means none. Required when set.
    pub prefix: String,
    /// When set: the signed content is `"{timestamp}.{body}"`, Unix seconds, tolerance-checked.
    pub timestamp_header: Option<String>,
    /// Header carrying the provider's delivery id (JSON-pointer ids are handled by the caller).
    pub id_header: Option<String>,
}

/// Hash function of an HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha512,
}

/// Text encoding of a signature in a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Hex,
    Base64,
}

/// A config value naming no known algorithm or encoding.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown {kind} {name:?}")]
pub struct UnknownName {
    pub kind: &'static str,
    pub name: String,
}

impl FromStr for Algorithm {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "sha1" => Ok(Self::Sha1),
            "sha256" => Ok(Self::Sha256),
            "sha512" => Ok(Self::Sha512),
            _ => Err(UnknownName {
                kind: "algorithm",
                name: name.to_owned(),
            }),
        }
    }
}

impl FromStr for Encoding {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "hex" => Ok(Self::Hex),
            "base64" => Ok(Self::Base64),
            _ => Err(UnknownName {
                kind: "encoding",
                name: name.to_owned(),
            }),
        }
    }
}

/// What a passing check yields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verified {
    /// The provider's delivery id, when the scheme carries one in a header.
    pub delivery_id: Option<String>,
}

/// Why a request was refused. Shown to the client and logged, so it names headers and gives
/// short fixed reasons only: never a secret or a signature value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Rejection {
    #[error("missing header {0}")]
    MissingHeader(String),
    #[error("malformed header {0}: {1}")]
    Malformed(String, &'static str),
    #[error("timestamp outside the tolerance")]
    Stale,
    #[error("signature does not match")]
    Mismatch,
}

impl Rejection {
    fn malformed(header: &str, reason: &'static str) -> Self {
        Self::Malformed(header.to_owned(), reason)
    }
}

/// Verifies a request against any of the active secrets (rotation: any one passing is enough).
pub fn verify(
    scheme: &Scheme,
    secrets: &[String],
    tolerance: Duration,
    req: &Request,
) -> Result<Verified, Rejection> {
    match scheme {
        Scheme::StandardWebhooks => standard_webhooks::verify(secrets, tolerance, req),
        Scheme::Github => github::verify(secrets, req),
        Scheme::Stripe => stripe::verify(secrets, tolerance, req),
        Scheme::Slack => slack::verify(secrets, tolerance, req),
        Scheme::Hubspot => hubspot::verify(secrets, tolerance, req),
        Scheme::Hmac(spec) => hmac::verify(spec, secrets, tolerance, req),
    }
}

/// The value of a header that must be present, as text; not UTF-8 is malformed.
fn required_header<'r>(headers: &'r HeaderMap, name: &str) -> Result<&'r str, Rejection> {
    let value = headers
        .get(name)
        .ok_or_else(|| Rejection::MissingHeader(name.to_owned()))?;
    crate::webhooks::header_text(value).ok_or_else(|| Rejection::malformed(name, "not valid UTF-8"))
}

/// A Unix timestamp made of ASCII digits only (no sign, no spaces).
fn parse_timestamp(header: &str, value: &str) -> Result<i64, Rejection> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Rejection::malformed(header, "not a Unix timestamp"));
    }
    value
        .parse()
        .map_err(|_| Rejection::malformed(header, "timestamp out of range"))
}

/// Replay protection: `timestamp` must lie within `tolerance` of `now`, in either direction
/// (all three in the same unit).
fn check_freshness(timestamp: i64, now: i64, tolerance: u64) -> Result<(), Rejection> {
    if timestamp.abs_diff(now) <= tolerance {
        Ok(())
    } else {
        Err(Rejection::Stale)
    }
}

/// Parses a timestamp header in Unix seconds and checks it against the tolerance.
fn check_unix_seconds(
    header: &str,
    value: &str,
    now: i64,
    tolerance: Duration,
) -> Result<(), Rejection> {
    check_freshness(parse_timestamp(header, value)?, now, tolerance.as_secs())
}

/// Passes when `matches` accepts at least one of the secrets.
fn any_secret(secrets: &[String], mut matches: impl FnMut(&str) -> bool) -> Result<(), Rejection> {
    if secrets.iter().any(|secret| matches(secret)) {
        Ok(())
    } else {
        Err(Rejection::Mismatch)
    }
}

/// HMAC of `message` under `key`.
fn mac(algorithm: Algorithm, key: &[u8], message: &[u8]) -> Option<Vec<u8>> {
    match algorithm {
        Algorithm::Sha1 => mac_with::<Hmac<sha1::Sha1>>(key, message),
        Algorithm::Sha256 => mac_with::<Hmac<sha2::Sha256>>(key, message),
        Algorithm::Sha512 => mac_with::<Hmac<sha2::Sha512>>(key, message),
    }
}

fn mac_with<M: Mac + ::hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> Option<Vec<u8>> {
    // HMAC takes keys of any length, so this never fails; no panic path either way.
    let mut mac = <M as Mac>::new_from_slice(key).ok()?;
    mac.update(message);
    Some(mac.finalize().into_bytes().to_vec())
}

/// Whether `received` is the HMAC of `message` under `key`. An empty key matches nothing:
/// anyone can compute an HMAC under it.
fn hmac_matches(algorithm: Algorithm, key: &[u8], message: &[u8], received: &[u8]) -> bool {
    !key.is_empty()
        && mac(algorithm, key, message).is_some_and(|expected| same_bytes(&expected, received))
}

/// Constant-time equality, after an explicit length check so that an empty or truncated
/// signature can never pass.
fn same_bytes(expected: &[u8], received: &[u8]) -> bool {
    !expected.is_empty() && expected.len() == received.len() && bool::from(expected.ct_eq(received))
}

/// Standard base64 that accepts the padding or its absence.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes a signature or key; `None` when the text is not valid in that encoding.
fn decode(encoding: Encoding, text: &str) -> Option<Vec<u8>> {
    match encoding {
        Encoding::Hex => hex::decode(text).ok(),
        Encoding::Base64 => BASE64.decode(text).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{NOW, b64, check, headers, sign_sha256};
    use super::*;

    #[test]
    fn algorithm_and_encoding_names_parse() {
        assert_eq!("sha1".parse(), Ok(Algorithm::Sha1));
        assert_eq!("sha256".parse(), Ok(Algorithm::Sha256));
        assert_eq!("sha512".parse(), Ok(Algorithm::Sha512));
        assert_eq!("hex".parse(), Ok(Encoding::Hex));
        assert_eq!("base64".parse(), Ok(Encoding::Base64));
        assert!("md5".parse::<Algorithm>().is_err());
        assert!("base32".parse::<Encoding>().is_err());
    }

    #[test]
    fn comparison_rejects_empty_and_different_lengths() {
        assert!(same_bytes(b"abc", b"abc"));
        assert!(!same_bytes(b"abc", b"abd"));
        assert!(!same_bytes(b"abc", b"ab"));
        assert!(!same_bytes(b"abc", b""));
        assert!(!same_bytes(b"", b""));
    }

    #[test]
    fn freshness_is_checked_in_both_directions() {
        assert_eq!(check_freshness(1000, 1300, 300), Ok(()));
        assert_eq!(check_freshness(1300, 1000, 300), Ok(()));
        assert_eq!(check_freshness(1000, 1301, 300), Err(Rejection::Stale));
        assert_eq!(check_freshness(1301, 1000, 300), Err(Rejection::Stale));
        assert_eq!(check_freshness(i64::MAX, i64::MIN, u64::MAX), Ok(()));
    }

    #[test]
    fn timestamps_must_be_plain_digits() {
        assert_eq!(parse_timestamp("t", "1614265330"), Ok(1614265330));
        for bad in ["", "-5", "+5", " 5", "5.0", "abc", "99999999999999999999"] {
            assert!(
                matches!(parse_timestamp("t", bad), Err(Rejection::Malformed(..))),
                "{bad}"
            );
        }
    }

    #[test]
    fn base64_padding_is_optional() {
        assert_eq!(decode(Encoding::Base64, "YWI="), Some(b"ab".to_vec()));
        assert_eq!(decode(Encoding::Base64, "YWI"), Some(b"ab".to_vec()));
        assert_eq!(decode(Encoding::Base64, "Y!"), None);
        assert_eq!(decode(Encoding::Hex, "zz"), None);
    }

    #[test]
    fn no_secrets_never_verifies() {
        let headers = headers(&[
            ("X-Hub-Signature-256", "sha256="),
            ("X-GitHub-Delivery", "d"),
        ]);
        assert_eq!(
            check(&Scheme::Github, &[], &headers, b"", 0),
            Err(Rejection::Mismatch)
        );
    }

    #[test]
    fn an_empty_key_verifies_nothing() {
        let body = b"{}";
        let forged = format!("sha256={}", hex::encode(sign_sha256(b"", body)));
        let github = headers(&[
            ("X-Hub-Signature-256", forged.as_str()),
            ("X-GitHub-Delivery", "d"),
        ]);
        assert_eq!(
            check(&Scheme::Github, &[""], &github, body, NOW),
            Err(Rejection::Mismatch)
        );
        // `whsec_` alone decodes to an empty key.
        let content = format!("msg_1.{NOW}.{{}}");
        let forged = format!("v1,{}", b64(&sign_sha256(b"", content.as_bytes())));
        let standard = headers(&[
            ("webhook-id", "msg_1"),
            ("webhook-timestamp", &NOW.to_string()),
            ("webhook-signature", &forged),
        ]);
        assert_eq!(
            check(&Scheme::StandardWebhooks, &["whsec_"], &standard, body, NOW),
            Err(Rejection::Mismatch)
        );
    }

    #[test]
    fn rejection_messages_name_headers_only() {
        let messages = [
            Rejection::MissingHeader("webhook-id".into()).to_string(),
            Rejection::malformed("Stripe-Signature", "no timestamp").to_string(),
            Rejection::Stale.to_string(),
            Rejection::Mismatch.to_string(),
        ];
        assert_eq!(
            messages,
            [
                "missing header webhook-id",
                "malformed header Stripe-Signature: no timestamp",
                "timestamp outside the tolerance",
                "signature does not match",
            ]
        );
    }
}
