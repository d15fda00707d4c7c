//! The `hubspot` scheme (signature v3).
//!
//! HubSpot signs `{method}{uri}{body}{timestamp}` with HMAC-SHA256 keyed by the app's client
//! secret, base64 in `X-HubSpot-Signature-v3`, timestamp in MILLISECONDS in
//! `X-HubSpot-Request-Timestamp`. The URI is the full public URL (a daemon behind a proxy must be
//! told it), with a fixed set of percent-encoded characters decoded first, as HubSpot does before
//! signing. No delivery id header exists.

use std::time::Duration;

use super::{
    Algorithm, Encoding, Rejection, Request, Verified, any_secret, check_freshness, decode,
    hmac_matches, parse_timestamp, required_header,
};

const SIGNATURE: &str = "X-HubSpot-Signature-v3";
const TIMESTAMP: &str = "X-HubSpot-Request-Timestamp";

/// The percent-encodings HubSpot decodes in the URI before signing.
const DECODED: [(&str, char); 12] = [
    ("3A", ':'),
    ("2F", '/'),
    ("3F", '?'),
    ("40", '@'),
    ("21", '!'),
    ("24", '$'),
    ("27", '\''),
    ("28", '('),
    ("29", ')'),
    ("2A", '*'),
    ("2C", ','),
    ("3B", ';'),
];

pub(super) fn verify(
    secrets: &[String],
    tolerance: Duration,
    req: &Request,
) -> Result<Verified, Rejection> {
    let signature = required_header(req.headers, SIGNATURE)?;
    let timestamp = required_header(req.headers, TIMESTAMP)?;
    let received = decode(Encoding::Base64, signature)
        .ok_or_else(|| Rejection::malformed(SIGNATURE, "signature is not base64"))?;
    check_millis(timestamp, req.now, tolerance)?;
    let uri = decode_uri(req.url);
    let content = [
        req.method.as_bytes(),
        uri.as_bytes(),
        req.body,
        timestamp.as_bytes(),
    ]
    .concat();
    any_secret(secrets, |secret| {
        hmac_matches(Algorithm::Sha256, secret.as_bytes(), &content, &received)
    })?;
    Ok(Verified::default())
}

/// The timestamp is in milliseconds, so `now` and the tolerance are converted to match.
fn check_millis(timestamp: &str, now_secs: i64, tolerance: Duration) -> Result<(), Rejection> {
    let tolerance_ms = u64::try_from(tolerance.as_millis()).unwrap_or(u64::MAX);
    let timestamp_ms = parse_timestamp(TIMESTAMP, timestamp)?;
    check_freshness(timestamp_ms, now_secs.saturating_mul(1000), tolerance_ms)
}

/// Decodes the percent-encodings of [`DECODED`] (hex digits in either case); everything else
/// is kept as sent.
fn decode_uri(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some((head, tail)) = rest.split_once('%') {
        out.push_str(head);
        match tail.get(..2).and_then(decoded_char) {
            Some(c) => {
                out.push(c);
                rest = tail.get(2..).unwrap_or_default();
            }
            None => {
                out.push('%');
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

fn decoded_char(code: &str) -> Option<char> {
    DECODED
        .iter()
        .find(|(encoded, _)| encoded.eq_ignore_ascii_case(code))
        .map(|(_, c)| *c)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::*;
    use super::super::{Scheme, Verified};
    use super::*;

    const SECRET: &str = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
    const OTHER_SECRET: &str = "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz";
    const BODY: &[u8] = br#"[{"eventId":1,"subscriptionType":"contact.creation","objectId":123}]"#;
    const NOW_MS: i64 = NOW * 1000;

    /// Signs as HubSpot does, given the URI after its decoding step.
    fn signature(secret: &str, method: &str, uri: &str, body: &[u8], timestamp_ms: i64) -> String {
        let timestamp = timestamp_ms.to_string();
        let content = [
            method.as_bytes(),
            uri.as_bytes(),
            body,
            timestamp.as_bytes(),
        ]
        .concat();
        b64(&sign_sha256(secret.as_bytes(), &content))
    }

    fn request_headers(timestamp_ms: i64, signature: &str) -> HeaderMap {
        headers(&[
            (SIGNATURE, signature),
            (TIMESTAMP, &timestamp_ms.to_string()),
        ])
    }

    fn signed(secret: &str, timestamp_ms: i64) -> HeaderMap {
        request_headers(
            timestamp_ms,
            &signature(secret, "POST", URL, BODY, timestamp_ms),
        )
    }

    fn run(secrets: &[&str], headers: &HeaderMap, body: &[u8]) -> Result<Verified, Rejection> {
        check(&Scheme::Hubspot, secrets, headers, body, NOW)
    }

    fn run_at(url: &str, method: &str, headers: &HeaderMap) -> Result<Verified, Rejection> {
        let req = Request {
            method,
            url,
            headers,
            body: BODY,
            now: NOW,
        };
        super::super::verify(&Scheme::Hubspot, &secrets(&[SECRET]), TOLERANCE, &req)
    }

    #[test]
    fn valid_has_no_delivery_id() {
        let verified = run(&[SECRET], &signed(SECRET, NOW_MS), BODY).expect("valid");
        assert_eq!(verified.delivery_id, None);
    }

    #[test]
    fn method_and_url_are_signed() {
        let headers = signed(SECRET, NOW_MS);
        assert!(run_at(URL, "POST", &headers).is_ok());
        assert_eq!(run_at(URL, "PUT", &headers), Err(Rejection::Mismatch));
        let other = "https://hooks.example.com/hooks/other";
        assert_eq!(run_at(other, "POST", &headers), Err(Rejection::Mismatch));
    }

    #[test]
    fn listed_percent_encodings_are_decoded_before_signing() {
        let sent = "https://hooks.example.com/hooks/hs%3Aa%2Fb%3Fc%40d%21e%24f%27g%28h%29i%2Aj%2Ck%3Bl?q=%3a%20x%25";
        let signed_uri = "https://hooks.example.com/hooks/hs:a/b?c@d!e$f'g(h)i*j,k;l?q=:%20x%25";
        assert_eq!(decode_uri(sent), signed_uri);
        let sig = signature(SECRET, "POST", signed_uri, BODY, NOW_MS);
        assert!(run_at(sent, "POST", &request_headers(NOW_MS, &sig)).is_ok());
    }

    #[test]
    fn uri_decoding_never_panics_on_odd_input() {
        for url in ["%", "%3", "a%", "%%3A", "%é9", "é%3Aé", "%3A%"] {
            let _ = decode_uri(url);
        }
        assert_eq!(decode_uri("%%3A%3"), "%:%3");
        assert_eq!(decode_uri("%é%2f"), "%é/");
    }

    #[test]
    fn empty_signature_fails() {
        let headers = request_headers(NOW_MS, "");
        assert_rejected(
            run(&[SECRET], &headers, BODY),
            Rejection::Mismatch,
            &[SECRET],
        );
    }

    #[test]
    fn truncated_and_wrong_length_signatures_fail() {
        let valid = signature(SECRET, "POST", URL, BODY, NOW_MS);
        assert_eq!(valid.len(), 44, "32 bytes, one padding character");
        let long = format!("{}AAAA", &valid[..40]); // 33 bytes
        for bad in [&valid[..4], &valid[..20], &valid[..40], &long] {
            let headers = request_headers(NOW_MS, bad);
            assert_rejected(
                run(&[SECRET], &headers, BODY),
                Rejection::Mismatch,
                &[&valid],
            );
        }
    }

    #[test]
    fn non_base64_signature_is_malformed() {
        let expected = Rejection::Malformed(SIGNATURE.into(), "signature is not base64");
        let headers = request_headers(NOW_MS, "not base64!");
        assert_rejected(run(&[SECRET], &headers, BODY), expected, &["not base64!"]);
    }

    #[test]
    fn wrong_secret_fails() {
        assert_eq!(
            run(&[SECRET], &signed(OTHER_SECRET, NOW_MS), BODY),
            Err(Rejection::Mismatch)
        );
    }

    #[test]
    fn changed_payload_fails() {
        assert_eq!(
            run(&[SECRET], &signed(SECRET, NOW_MS), b"[]"),
            Err(Rejection::Mismatch)
        );
    }

    #[test]
    fn stale_timestamp_fails_in_milliseconds() {
        let stale = NOW_MS - 300_001;
        assert_eq!(
            run(&[SECRET], &signed(SECRET, stale), BODY),
            Err(Rejection::Stale)
        );
        assert!(run(&[SECRET], &signed(SECRET, NOW_MS - 300_000), BODY).is_ok());
    }

    #[test]
    fn future_timestamp_fails() {
        let future = NOW_MS + 300_001;
        assert_eq!(
            run(&[SECRET], &signed(SECRET, future), BODY),
            Err(Rejection::Stale)
        );
    }

    #[test]
    fn timestamp_in_seconds_is_stale() {
        assert_eq!(
            run(&[SECRET], &signed(SECRET, NOW), BODY),
            Err(Rejection::Stale)
        );
    }

    #[test]
    fn missing_headers_fail() {
        for name in [SIGNATURE, TIMESTAMP] {
            let headers = without(signed(SECRET, NOW_MS), name);
            assert_eq!(run(&[SECRET], &headers, BODY), Err(missing(name)));
        }
    }

    #[test]
    fn non_utf8_header_is_malformed() {
        for name in [SIGNATURE, TIMESTAMP] {
            let headers = with_non_utf8(signed(SECRET, NOW_MS), name);
            let expected = Rejection::Malformed(name.into(), "not valid UTF-8");
            assert_eq!(run(&[SECRET], &headers, BODY), Err(expected));
        }
    }

    #[test]
    fn rotation_second_secret_matches() {
        assert!(run(&[OTHER_SECRET, SECRET], &signed(SECRET, NOW_MS), BODY).is_ok());
    }
}
