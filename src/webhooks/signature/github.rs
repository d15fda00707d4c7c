//! The `github` scheme.
//!
//! GitHub signs the raw body with HMAC-SHA256 keyed by the secret's bytes and sends it as
//! `X-Hub-Signature-256: sha256=<hex>`, with the delivery id in `X-GitHub-Delivery`. That is
//! exactly one configuration of the generic `hmac` scheme, so this module only fixes the
//! configuration. GitHub sends no timestamp: deduplication by delivery id is the only replay
//! defence.

use super::{Algorithm, Encoding, HmacSpec, Rejection, Request, Verified};

const SIGNATURE: &str = "X-Hub-Signature-256";
const DELIVERY: &str = "X-GitHub-Delivery";

pub(super) fn verify(secrets: &[String], req: &Request) -> Result<Verified, Rejection> {
    // No timestamp header, so the tolerance is never consulted.
    super::hmac::verify(&spec(), secrets, std::time::Duration::ZERO, req)
}

fn spec() -> HmacSpec {
    HmacSpec {
        header: SIGNATURE.to_owned(),
        algorithm: Algorithm::Sha256,
        encoding: Encoding::Hex,
        prefix: "sha256=".to_owned(),
        timestamp_header: None,
        id_header: Some(DELIVERY.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::*;
    use super::super::{Rejection, Scheme, Verified};
    use super::*;

    const SECRET: &str = "gh-webhook-secret-1";
    const OTHER_SECRET: &str = "gh-webhook-secret-2";
    const DELIVERY_ID: &str = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
    const BODY: &[u8] = br#"{"action":"opened","number":7}"#;

    fn signature(secret: &str, body: &[u8]) -> String {
        format!(
            "sha256={}",
            hex::encode(sign_sha256(secret.as_bytes(), body))
        )
    }

    fn request_headers(signature: &str) -> HeaderMap {
        headers(&[(SIGNATURE, signature), (DELIVERY, DELIVERY_ID)])
    }

    fn run(secrets: &[&str], headers: &HeaderMap, body: &[u8]) -> Result<Verified, Rejection> {
        check(&Scheme::Github, secrets, headers, body, NOW)
    }

    #[test]
    fn published_vectors() {
        for vector in vectors("github") {
            let name = field(&vector, "name");
            let headers = headers(&[
                (field(&vector, "header"), field(&vector, "signature")),
                (DELIVERY, DELIVERY_ID),
            ]);
            let body = field(&vector, "payload").as_bytes();
            let result = check(
                &Scheme::Github,
                &[field(&vector, "secret")],
                &headers,
                body,
                NOW,
            );
            assert_eq!(
                result.is_ok(),
                vector["valid"].as_bool().expect("valid"),
                "{name}"
            );
        }
    }

    #[test]
    fn valid_yields_the_delivery_id() {
        let verified = run(&[SECRET], &request_headers(&signature(SECRET, BODY)), BODY);
        assert_eq!(
            verified.expect("valid").delivery_id.as_deref(),
            Some(DELIVERY_ID)
        );
    }

    #[test]
    fn empty_signature_fails() {
        let headers = request_headers("sha256=");
        assert_rejected(
            run(&[SECRET], &headers, BODY),
            Rejection::Mismatch,
            &[SECRET],
        );
    }

    #[test]
    fn truncated_signature_fails() {
        let valid = signature(SECRET, BODY);
        for len in [9, 39, valid.len() - 2] {
            let headers = request_headers(&valid[..len]);
            assert_rejected(
                run(&[SECRET], &headers, BODY),
                Rejection::Mismatch,
                &[&valid],
            );
        }
    }

    #[test]
    fn wrong_length_fails() {
        let long = format!("{}00", signature(SECRET, BODY));
        assert_rejected(
            run(&[SECRET], &request_headers(&long), BODY),
            Rejection::Mismatch,
            &[&long],
        );
    }

    #[test]
    fn odd_or_non_hex_signature_is_malformed() {
        let valid = signature(SECRET, BODY);
        for bad in [&valid[..valid.len() - 1], "sha256=zz"] {
            let expected = Rejection::Malformed(SIGNATURE.into(), "signature is not hex");
            assert_rejected(
                run(&[SECRET], &request_headers(bad), BODY),
                expected,
                &[bad],
            );
        }
    }

    #[test]
    fn missing_prefix_is_malformed() {
        let bare = hex::encode(sign_sha256(SECRET.as_bytes(), BODY));
        let sha1 = format!("sha1={bare}");
        for bad in [bare.as_str(), sha1.as_str()] {
            let expected = Rejection::Malformed(SIGNATURE.into(), "missing signature prefix");
            assert_rejected(
                run(&[SECRET], &request_headers(bad), BODY),
                expected,
                &[&bare],
            );
        }
    }

    #[test]
    fn wrong_secret_fails() {
        let headers = request_headers(&signature(OTHER_SECRET, BODY));
        assert_eq!(run(&[SECRET], &headers, BODY), Err(Rejection::Mismatch));
    }

    #[test]
    fn changed_payload_fails() {
        let headers = request_headers(&signature(SECRET, BODY));
        assert_eq!(run(&[SECRET], &headers, b"{}"), Err(Rejection::Mismatch));
    }

    #[test]
    fn no_timestamp_so_any_clock_passes() {
        let headers = request_headers(&signature(SECRET, BODY));
        for now in [0, NOW, i64::MAX] {
            assert!(check(&Scheme::Github, &[SECRET], &headers, BODY, now).is_ok());
        }
    }

    #[test]
    fn missing_signature_fails_and_missing_delivery_id_is_left_to_the_caller() {
        let signed = request_headers(&signature(SECRET, BODY));
        let headers = without(signed.clone(), SIGNATURE);
        assert_eq!(run(&[SECRET], &headers, BODY), Err(missing(SIGNATURE)));
        // The id is not signed: a signed request without a usable one is malformed (400), not
        // forged (401).
        for headers in [
            without(signed.clone(), DELIVERY),
            with_non_utf8(signed, DELIVERY),
        ] {
            assert_eq!(
                run(&[SECRET], &headers, BODY).map(|v| v.delivery_id),
                Ok(None)
            );
        }
    }

    #[test]
    fn non_utf8_signature_is_malformed() {
        let signed = request_headers(&signature(SECRET, BODY));
        let headers = with_non_utf8(signed, SIGNATURE);
        let expected = Rejection::Malformed(SIGNATURE.into(), "not valid UTF-8");
        assert_eq!(run(&[SECRET], &headers, BODY), Err(expected));
    }

    #[test]
    fn rotation_second_secret_matches() {
        let headers = request_headers(&signature(SECRET, BODY));
        assert!(run(&[OTHER_SECRET, SECRET], &headers, BODY).is_ok());
    }
}
