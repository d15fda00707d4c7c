//! Test helpers shared by the scheme tests: the published vectors, header maps, and an
//! independent signer built directly on the `hmac` crate (not on the code under test).

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::Value;

use super::{Rejection, Request, Scheme, Verified, verify};

/// The default tolerance of SPEC §6.
pub const TOLERANCE: Duration = Duration::from_secs(300);
/// URL used when a scheme does not sign it.
pub const URL: &str = "https://hooks.example.com/hooks/test";
/// A fixed "now" for generated cases.
pub const NOW: i64 = 1_700_000_000;

const VECTORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/vectors/webhook-signatures.json"
));

/// The published vectors of one scheme (`standardWebhooks`, `github`, `slack`).
pub fn vectors(scheme: &str) -> Vec<Value> {
    let all: Value = serde_json::from_str(VECTORS).expect("vectors file is JSON");
    let list = all[scheme].as_array().expect("scheme has a vector list");
    assert!(!list.is_empty(), "no vectors for {scheme}");
    list.clone()
}

/// A string field of a vector.
pub fn field<'v>(vector: &'v Value, key: &str) -> &'v str {
    vector[key]
        .as_str()
        .unwrap_or_else(|| panic!("vector field {key}"))
}

pub fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(name, value)| {
            (
                HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                HeaderValue::from_str(value).expect("header value"),
            )
        })
        .collect()
}

/// `headers` with one header's value replaced by bytes that are not UTF-8.
pub fn with_non_utf8(mut headers: HeaderMap, name: &'static str) -> HeaderMap {
    let value = HeaderValue::from_bytes(b"\xff\xfe").expect("opaque header value");
    headers.insert(name, value);
    headers
}

/// `headers` with one header removed.
pub fn without(mut headers: HeaderMap, name: &str) -> HeaderMap {
    assert!(
        headers.remove(name).is_some(),
        "{name} was not there to remove"
    );
    headers
}

/// `headers` with one header's value replaced.
pub fn replaced(mut headers: HeaderMap, name: &'static str, value: &str) -> HeaderMap {
    headers.insert(name, HeaderValue::from_str(value).expect("header value"));
    headers
}

pub fn sign_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

pub fn sign_sha1(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key).expect("any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

pub fn sign_sha512(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<sha2::Sha512>::new_from_slice(key).expect("any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn secrets(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Runs `verify` on a POST to [`URL`].
pub fn check(
    scheme: &Scheme,
    secrets: &[&str],
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<Verified, Rejection> {
    let req = Request {
        method: "POST",
        url: URL,
        headers,
        body,
        now,
    };
    verify(scheme, &self::secrets(secrets), TOLERANCE, &req)
}

/// Asserts a rejection, and that its message echoes no signature or secret.
pub fn assert_rejected(
    result: Result<Verified, Rejection>,
    expected: Rejection,
    never_shown: &[&str],
) {
    let rejection = result.expect_err("request must be rejected");
    let message = rejection.to_string();
    for value in never_shown.iter().filter(|v| v.len() > 3) {
        assert!(!message.contains(*value), "{message:?} leaks {value:?}");
    }
    assert_eq!(rejection, expected);
}

pub fn missing(header: &str) -> Rejection {
    Rejection::MissingHeader(header.to_owned())
}
