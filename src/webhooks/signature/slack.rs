//! The `slack` scheme.
//!
//! Slack signs `v0:{timestamp}:{body}` with HMAC-SHA256 keyed by the app's signing secret and
//! sends `X-Slack-Signature: v0=<hex>` with the timestamp (seconds) in
//! `X-Slack-Request-Timestamp`. The event id lives in the body, so the caller reads it.

use std::time::Duration;

use super::{
    Algorithm, Encoding, Rejection, Request, Verified, any_secret, check_unix_seconds, decode,
    hmac_matches, required_header,
};

const SIGNATURE: &str = "X-Slack-Signature";
const TIMESTAMP: &str = "X-Slack-Request-Timestamp";
const VERSION: &str = "v0";

pub(super) fn verify(
    secrets: &[String],
    tolerance: Duration,
    req: &Request,
) -> Result<Verified, Rejection> {
    let timestamp = required_header(req.headers, TIMESTAMP)?;
    let received = received_signature(required_header(req.headers, SIGNATURE)?)?;
    check_unix_seconds(TIMESTAMP, timestamp, req.now, tolerance)?;
    let content = [
        VERSION.as_bytes(),
        b":",
        timestamp.as_bytes(),
        b":",
        req.body,
    ]
    .concat();
    any_secret(secrets, |secret| {
        hmac_matches(Algorithm::Sha256, secret.as_bytes(), &content, &received)
    })?;
    Ok(Verified::default())
}

/// The bytes of `v0=<hex>`.
fn received_signature(value: &str) -> Result<Vec<u8>, Rejection> {
    let hex = value
        .strip_prefix(VERSION)
        .and_then(|rest| rest.strip_prefix('='))
        .ok_or_else(|| Rejection::malformed(SIGNATURE, "expected v0=<hex>"))?;
    decode(Encoding::Hex, hex)
        .ok_or_else(|| Rejection::malformed(SIGNATURE, "signature is not hex"))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::*;
    use super::super::{Scheme, Verified};
    use super::*;

    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const OTHER_SECRET: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
    const BODY: &[u8] = b"token=abc&team_id=T1&command=%2Fdeploy&text=prod";

    fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
        let content = [format!("v0:{timestamp}:").as_bytes(), body].concat();
        format!(
            "v0={}",
            hex::encode(sign_sha256(secret.as_bytes(), &content))
        )
    }

    fn request_headers(timestamp: i64, signature: &str) -> HeaderMap {
        headers(&[(TIMESTAMP, &timestamp.to_string()), (SIGNATURE, signature)])
    }

    fn signed(secret: &str, timestamp: i64) -> HeaderMap {
        request_headers(timestamp, &signature(secret, timestamp, BODY))
    }

    fn run(secrets: &[&str], headers: &HeaderMap, body: &[u8]) -> Result<Verified, Rejection> {
        check(&Scheme::Slack, secrets, headers, body, NOW)
    }

    #[test]
    fn published_vectors() {
        for vector in vectors("slack") {
            let name = field(&vector, "name");
            let timestamp = vector["timestamp"].as_i64().expect("timestamp");
            let headers = request_headers(timestamp, field(&vector, "signature"));
            let body = field(&vector, "payload").as_bytes();
            let secrets = [field(&vector, "secret")];
            let result = check(&Scheme::Slack, &secrets, &headers, body, timestamp);
            assert_eq!(
                result.is_ok(),
                vector["valid"].as_bool().expect("valid"),
                "{name}"
            );
        }
    }

    #[test]
    fn valid_has_no_delivery_id() {
        let verified = run(&[SECRET], &signed(SECRET, NOW), BODY).expect("valid");
        assert_eq!(verified.delivery_id, None);
    }

    #[test]
    fn empty_signature_fails() {
        let headers = request_headers(NOW, "v0=");
        assert_rejected(
            run(&[SECRET], &headers, BODY),
            Rejection::Mismatch,
            &[SECRET],
        );
    }

    #[test]
    fn truncated_and_wrong_length_signatures_fail() {
        let valid = signature(SECRET, NOW, BODY);
        let long = format!("{valid}abcd");
        for bad in [&valid[..5], &valid[..35], &valid[..valid.len() - 2], &long] {
            let headers = request_headers(NOW, bad);
            assert_rejected(
                run(&[SECRET], &headers, BODY),
                Rejection::Mismatch,
                &[&valid],
            );
        }
    }

    #[test]
    fn bad_prefix_or_hex_is_malformed() {
        let valid = signature(SECRET, NOW, BODY);
        let v1 = valid.replacen("v0=", "v1=", 1);
        for bad in [&valid[3..], v1.as_str(), "v0", "v0=xyz!"] {
            let result = run(&[SECRET], &request_headers(NOW, bad), BODY);
            assert!(
                matches!(result, Err(Rejection::Malformed(ref h, _)) if h == SIGNATURE),
                "{bad}"
            );
        }
    }

    #[test]
    fn wrong_secret_fails() {
        assert_eq!(
            run(&[SECRET], &signed(OTHER_SECRET, NOW), BODY),
            Err(Rejection::Mismatch)
        );
    }

    #[test]
    fn changed_payload_fails() {
        assert_eq!(
            run(&[SECRET], &signed(SECRET, NOW), b"token=abc"),
            Err(Rejection::Mismatch)
        );
    }

    #[test]
    fn changed_timestamp_fails() {
        let headers = replaced(signed(SECRET, NOW), TIMESTAMP, &(NOW + 1).to_string());
        assert_eq!(run(&[SECRET], &headers, BODY), Err(Rejection::Mismatch));
    }

    #[test]
    fn stale_timestamp_fails() {
        assert_eq!(
            run(&[SECRET], &signed(SECRET, NOW - 301), BODY),
            Err(Rejection::Stale)
        );
        assert!(run(&[SECRET], &signed(SECRET, NOW - 300), BODY).is_ok());
    }

    #[test]
    fn future_timestamp_fails() {
        assert_eq!(
            run(&[SECRET], &signed(SECRET, NOW + 301), BODY),
            Err(Rejection::Stale)
        );
        assert!(run(&[SECRET], &signed(SECRET, NOW + 300), BODY).is_ok());
    }

    #[test]
    fn missing_headers_fail() {
        for name in [SIGNATURE, TIMESTAMP] {
            let headers = without(signed(SECRET, NOW), name);
            assert_eq!(run(&[SECRET], &headers, BODY), Err(missing(name)));
        }
    }

    #[test]
    fn non_utf8_header_is_malformed() {
        for name in [SIGNATURE, TIMESTAMP] {
            let headers = with_non_utf8(signed(SECRET, NOW), name);
            let expected = Rejection::Malformed(name.into(), "not valid UTF-8");
            assert_eq!(run(&[SECRET], &headers, BODY), Err(expected));
        }
    }

    #[test]
    fn rotation_second_secret_matches() {
        assert!(run(&[OTHER_SECRET, SECRET], &signed(SECRET, NOW), BODY).is_ok());
    }
}
