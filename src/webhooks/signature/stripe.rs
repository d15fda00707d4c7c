//! The `stripe` scheme.
//!
//! Stripe packs its timestamp and signatures into one header,
//! `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`, and signs `{t}.{body}` with HMAC-SHA256
//! keyed by the whole `whsec_…` string (not base64-decoded, unlike Standard Webhooks). Several
//! `v1` entries appear while Stripe rolls a secret; any one matching passes. The event id is in
//! the body, so the caller reads it.

use std::time::Duration;

use super::{
    Algorithm, Encoding, Rejection, Request, Verified, any_secret, check_unix_seconds, decode,
    hmac_matches, required_header,
};

const HEADER: &str = "Stripe-Signature";

/// The parts of a `Stripe-Signature` header this scheme uses.
struct Parsed<'h> {
    timestamp: &'h str,
    /// Decodable `v1` signatures; undecodable ones are dropped (they cannot match).
    signatures: Vec<Vec<u8>>,
}

pub(super) fn verify(
    secrets: &[String],
    tolerance: Duration,
    req: &Request,
) -> Result<Verified, Rejection> {
    let parsed = parse(required_header(req.headers, HEADER)?)?;
    check_unix_seconds(HEADER, parsed.timestamp, req.now, tolerance)?;
    let content = [parsed.timestamp.as_bytes(), b".", req.body].concat();
    any_secret(secrets, |secret| {
        parsed.signatures.iter().any(|signature| {
            hmac_matches(Algorithm::Sha256, secret.as_bytes(), &content, signature)
        })
    })?;
    Ok(Verified::default())
}

/// Reads `t` (exactly once) and every `v1`; `v0` and unknown keys are ignored.
fn parse(header: &str) -> Result<Parsed<'_>, Rejection> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    let mut has_v1 = false;
    for (key, value) in header
        .split(',')
        .filter_map(|item| item.trim().split_once('='))
    {
        match key {
            "t" if timestamp.is_some() => {
                return Err(Rejection::malformed(HEADER, "more than one timestamp"));
            }
            "t" => timestamp = Some(value),
            "v1" => {
                has_v1 = true;
                signatures.extend(decode(Encoding::Hex, value));
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or_else(|| Rejection::malformed(HEADER, "no timestamp"))?;
    if !has_v1 {
        return Err(Rejection::malformed(HEADER, "no v1 signature"));
    }
    Ok(Parsed {
        timestamp,
        signatures,
    })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::*;
    use super::super::{Scheme, Verified};
    use super::*;

    const SECRET: &str = "whsec_test_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH";
    const OTHER_SECRET: &str = "whsec_test_Qm9ndXNTZWNyZXRGb3JSb3RhdGlvbg";
    const BODY: &[u8] = br#"{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","type":"charge.succeeded"}"#;

    fn v1(secret: &str, timestamp: i64, body: &[u8]) -> String {
        let content = [format!("{timestamp}.").as_bytes(), body].concat();
        hex::encode(sign_sha256(secret.as_bytes(), &content))
    }

    fn header_with(value: &str) -> HeaderMap {
        headers(&[(HEADER, value)])
    }

    fn signed(secret: &str, timestamp: i64) -> HeaderMap {
        header_with(&format!("t={timestamp},v1={}", v1(secret, timestamp, BODY)))
    }

    fn run(secrets: &[&str], headers: &HeaderMap, body: &[u8]) -> Result<Verified, Rejection> {
        check(&Scheme::Stripe, secrets, headers, body, NOW)
    }

    #[test]
    fn valid_has_no_delivery_id() {
        let verified = run(&[SECRET], &signed(SECRET, NOW), BODY).expect("valid");
        assert_eq!(verified.delivery_id, None);
    }

    #[test]
    fn key_is_the_whole_secret_string() {
        // Signing with the base64-decoded part (the Standard Webhooks way) must not verify.
        let decoded = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            OTHER_SECRET.trim_start_matches("whsec_test_"),
        )
        .expect("base64");
        let content = [format!("{NOW}.").as_bytes(), BODY].concat();
        let sig = hex::encode(sign_sha256(&decoded, &content));
        let headers = header_with(&format!("t={NOW},v1={sig}"));
        assert_eq!(
            run(&[OTHER_SECRET], &headers, BODY),
            Err(Rejection::Mismatch)
        );
    }

    #[test]
    fn any_v1_may_match_and_v0_is_ignored() {
        let valid = v1(SECRET, NOW, BODY);
        let wrong = v1(OTHER_SECRET, NOW, BODY);
        let value = format!("t={NOW},v1={wrong},v1=zz,v1={valid},v0={wrong}");
        assert!(run(&[SECRET], &header_with(&value), BODY).is_ok());
        let only_v0 = format!("t={NOW},v0={valid}");
        let expected = Rejection::Malformed(HEADER.into(), "no v1 signature");
        assert_rejected(
            run(&[SECRET], &header_with(&only_v0), BODY),
            expected,
            &[&valid],
        );
    }

    #[test]
    fn spaces_after_commas_are_tolerated() {
        let value = format!("t={NOW}, v1={}", v1(SECRET, NOW, BODY));
        assert!(run(&[SECRET], &header_with(&value), BODY).is_ok());
    }

    #[test]
    fn empty_signature_fails() {
        let headers = header_with(&format!("t={NOW},v1="));
        assert_rejected(
            run(&[SECRET], &headers, BODY),
            Rejection::Mismatch,
            &[SECRET],
        );
    }

    #[test]
    fn truncated_and_wrong_length_signatures_fail() {
        let valid = v1(SECRET, NOW, BODY);
        let long = format!("{valid}00");
        for bad in [&valid[..2], &valid[..32], &valid[..valid.len() - 1], &long] {
            let headers = header_with(&format!("t={NOW},v1={bad}"));
            assert_rejected(
                run(&[SECRET], &headers, BODY),
                Rejection::Mismatch,
                &[&valid],
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
            run(&[SECRET], &signed(SECRET, NOW), b"{}"),
            Err(Rejection::Mismatch)
        );
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
    }

    #[test]
    fn missing_header_fails() {
        let headers = without(signed(SECRET, NOW), HEADER);
        assert_eq!(run(&[SECRET], &headers, BODY), Err(missing(HEADER)));
    }

    #[test]
    fn missing_or_doubled_timestamp_is_malformed() {
        let sig = v1(SECRET, NOW, BODY);
        let cases = [
            (format!("v1={sig}"), "no timestamp"),
            (format!("t=,v1={sig}"), "not a Unix timestamp"),
            (
                format!("t={NOW},t={NOW},v1={sig}"),
                "more than one timestamp",
            ),
            (String::new(), "no timestamp"),
        ];
        for (value, reason) in cases {
            let expected = Rejection::Malformed(HEADER.into(), reason);
            assert_rejected(
                run(&[SECRET], &header_with(&value), BODY),
                expected,
                &[&sig],
            );
        }
    }

    #[test]
    fn non_utf8_header_is_malformed() {
        let headers = with_non_utf8(signed(SECRET, NOW), HEADER);
        let expected = Rejection::Malformed(HEADER.into(), "not valid UTF-8");
        assert_eq!(run(&[SECRET], &headers, BODY), Err(expected));
    }

    #[test]
    fn rotation_second_secret_matches() {
        assert!(run(&[OTHER_SECRET, SECRET], &signed(SECRET, NOW), BODY).is_ok());
    }
}
