//! The generic `hmac` scheme.
//!
//! Providers without a dedicated scheme mostly sign the body (sometimes `{timestamp}.{body}`)
//! with an HMAC and put it in a header, differing only in header names, hash, text encoding
//! and prefix. [`HmacSpec`] describes those differences so such providers need config, not code.
//! The `github` scheme is one fixed instance of it.

use std::borrow::Cow;
use std::time::Duration;

use super::{
    Encoding, HmacSpec, Rejection, Request, Verified, any_secret, check_unix_seconds, decode,
    hmac_matches, required_header,
};

pub(super) fn verify(
    spec: &HmacSpec,
    secrets: &[String],
    tolerance: Duration,
    req: &Request,
) -> Result<Verified, Rejection> {
    let received = received_signature(spec, req)?;
    let delivery_id = delivery_id(spec, req);
    let content = signed_content(spec, tolerance, req)?;
    any_secret(secrets, |secret| {
        hmac_matches(spec.algorithm, secret.as_bytes(), &content, &received)
    })?;
    Ok(Verified { delivery_id })
}

/// The signature bytes: the configured prefix must be there, the rest must decode.
fn received_signature(spec: &HmacSpec, req: &Request) -> Result<Vec<u8>, Rejection> {
    let header = spec.header.as_str();
    let encoded = required_header(req.headers, header)?
        .strip_prefix(spec.prefix.as_str())
        .ok_or_else(|| Rejection::malformed(header, "missing signature prefix"))?;
    decode(spec.encoding, encoded).ok_or_else(|| {
        Rejection::malformed(
            header,
            match spec.encoding {
                Encoding::Hex => "signature is not hex",
                Encoding::Base64 => "signature is not base64",
            },
        )
    })
}

/// The id header's value. The id is not signed, so a missing or non-UTF-8 one is not a
/// signature problem: it is left out, and the caller answers a malformed request (`400`).
fn delivery_id(spec: &HmacSpec, req: &Request) -> Option<String> {
    let value = req.headers.get(spec.id_header.as_deref()?)?;
    crate::webhooks::header_text(value).map(str::to_owned)
}

/// The body, or `{timestamp}.{body}` after checking the timestamp when one is configured.
fn signed_content<'r>(
    spec: &HmacSpec,
    tolerance: Duration,
    req: &Request<'r>,
) -> Result<Cow<'r, [u8]>, Rejection> {
    let Some(header) = spec.timestamp_header.as_deref() else {
        return Ok(Cow::Borrowed(req.body));
    };
    let timestamp = required_header(req.headers, header)?;
    check_unix_seconds(header, timestamp, req.now, tolerance)?;
    Ok(Cow::Owned([timestamp.as_bytes(), b".", req.body].concat()))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::*;
    use super::super::{Algorithm, Scheme};
    use super::*;

    const SECRET: &str = "generic-secret-1";
    const OTHER_SECRET: &str = "generic-secret-2";
    const SIG: &str = "X-Signature";
    const TS: &str = "X-Timestamp";
    const ID: &str = "X-Delivery";
    const DELIVERY_ID: &str = "dlv-0001";
    const BODY: &[u8] = br#"{"event":"order.created","id":99}"#;

    /// A spec with every option set: prefix, timestamp and id headers.
    fn full_spec() -> HmacSpec {
        HmacSpec {
            header: SIG.into(),
            algorithm: Algorithm::Sha256,
            encoding: Encoding::Hex,
            prefix: "sha256=".into(),
            timestamp_header: Some(TS.into()),
            id_header: Some(ID.into()),
        }
    }

    fn bare_spec(algorithm: Algorithm, encoding: Encoding) -> HmacSpec {
        HmacSpec {
            header: SIG.into(),
            algorithm,
            encoding,
            prefix: String::new(),
            timestamp_header: None,
            id_header: None,
        }
    }

    fn sign(spec: &HmacSpec, secret: &str, content: &[u8]) -> String {
        let key = secret.as_bytes();
        let raw = match spec.algorithm {
            Algorithm::Sha1 => sign_sha1(key, content),
            Algorithm::Sha256 => sign_sha256(key, content),
            Algorithm::Sha512 => sign_sha512(key, content),
        };
        let encoded = match spec.encoding {
            Encoding::Hex => hex::encode(raw),
            Encoding::Base64 => b64(&raw),
        };
        format!("{}{encoded}", spec.prefix)
    }

    /// Headers of a request signed under `full_spec` at `timestamp`.
    fn signed(secret: &str, timestamp: i64) -> HeaderMap {
        let content = [format!("{timestamp}.").as_bytes(), BODY].concat();
        with_signature(timestamp, &sign(&full_spec(), secret, &content))
    }

    fn with_signature(timestamp: i64, signature: &str) -> HeaderMap {
        headers(&[
            (SIG, signature),
            (TS, &timestamp.to_string()),
            (ID, DELIVERY_ID),
        ])
    }

    fn run(
        spec: &HmacSpec,
        secrets: &[&str],
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Verified, Rejection> {
        check(&Scheme::Hmac(spec.clone()), secrets, headers, body, NOW)
    }

    #[test]
    fn every_algorithm_and_encoding_verifies_the_body() {
        for algorithm in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
            for encoding in [Encoding::Hex, Encoding::Base64] {
                let spec = bare_spec(algorithm, encoding);
                let headers = headers(&[(SIG, &sign(&spec, SECRET, BODY))]);
                let verified = run(&spec, &[SECRET], &headers, BODY);
                assert_eq!(
                    verified,
                    Ok(Verified::default()),
                    "{algorithm:?} {encoding:?}"
                );
                assert_eq!(
                    run(&spec, &[SECRET], &headers, b"{}"),
                    Err(Rejection::Mismatch)
                );
            }
        }
    }

    #[test]
    fn algorithms_are_not_interchangeable() {
        let sha512 = bare_spec(Algorithm::Sha512, Encoding::Hex);
        let sha256 = bare_spec(Algorithm::Sha256, Encoding::Hex);
        let headers = headers(&[(SIG, &sign(&sha256, SECRET, BODY))]);
        assert_eq!(
            run(&sha512, &[SECRET], &headers, BODY),
            Err(Rejection::Mismatch)
        );
    }

    #[test]
    fn valid_with_timestamp_yields_the_delivery_id() {
        let verified = run(&full_spec(), &[SECRET], &signed(SECRET, NOW), BODY).expect("valid");
        assert_eq!(verified.delivery_id.as_deref(), Some(DELIVERY_ID));
    }

    #[test]
    fn timestamp_is_part_of_the_signed_content() {
        let headers = replaced(signed(SECRET, NOW), TS, &(NOW - 1).to_string());
        assert_eq!(
            run(&full_spec(), &[SECRET], &headers, BODY),
            Err(Rejection::Mismatch)
        );
    }

    #[test]
    fn empty_signature_fails() {
        for encoding in [Encoding::Hex, Encoding::Base64] {
            let spec = HmacSpec {
                encoding,
                ..full_spec()
            };
            let headers = with_signature(NOW, "sha256=");
            assert_rejected(
                run(&spec, &[SECRET], &headers, BODY),
                Rejection::Mismatch,
                &[SECRET],
            );
        }
    }

    #[test]
    fn truncated_and_wrong_length_signatures_fail() {
        let valid = signed(SECRET, NOW)[SIG].to_str().expect("ascii").to_owned();
        let long = format!("{valid}00");
        for bad in [&valid[..9], &valid[..39], &valid[..valid.len() - 2], &long] {
            let headers = with_signature(NOW, bad);
            assert_rejected(
                run(&full_spec(), &[SECRET], &headers, BODY),
                Rejection::Mismatch,
                &[&valid],
            );
        }
    }

    #[test]
    fn bad_encoding_is_malformed() {
        let hex = full_spec();
        let base64 = HmacSpec {
            encoding: Encoding::Base64,
            ..full_spec()
        };
        let cases = [
            (&hex, "sha256=abc", "signature is not hex"),
            (&base64, "sha256=a!b", "signature is not base64"),
        ];
        for (spec, value, reason) in cases {
            let result = run(spec, &[SECRET], &with_signature(NOW, value), BODY);
            assert_eq!(result, Err(Rejection::Malformed(SIG.into(), reason)));
        }
    }

    #[test]
    fn configured_prefix_must_be_present() {
        let valid = signed(SECRET, NOW)[SIG].to_str().expect("ascii").to_owned();
        let bare = valid.trim_start_matches("sha256=");
        let expected = Rejection::Malformed(SIG.into(), "missing signature prefix");
        let result = run(&full_spec(), &[SECRET], &with_signature(NOW, bare), BODY);
        assert_rejected(result, expected, &[bare]);
    }

    #[test]
    fn wrong_secret_fails() {
        assert_eq!(
            run(&full_spec(), &[SECRET], &signed(OTHER_SECRET, NOW), BODY),
            Err(Rejection::Mismatch)
        );
    }

    #[test]
    fn changed_payload_fails() {
        assert_eq!(
            run(&full_spec(), &[SECRET], &signed(SECRET, NOW), b"{}"),
            Err(Rejection::Mismatch)
        );
    }

    #[test]
    fn stale_timestamp_fails() {
        assert_eq!(
            run(&full_spec(), &[SECRET], &signed(SECRET, NOW - 301), BODY),
            Err(Rejection::Stale)
        );
        assert!(run(&full_spec(), &[SECRET], &signed(SECRET, NOW - 300), BODY).is_ok());
    }

    #[test]
    fn future_timestamp_fails() {
        assert_eq!(
            run(&full_spec(), &[SECRET], &signed(SECRET, NOW + 301), BODY),
            Err(Rejection::Stale)
        );
    }

    #[test]
    fn missing_headers_fail() {
        for name in [SIG, TS] {
            let headers = without(signed(SECRET, NOW), name);
            assert_eq!(
                run(&full_spec(), &[SECRET], &headers, BODY),
                Err(missing(name))
            );
        }
        // The id is not signed: without a usable one the request verifies, and the caller
        // answers 400.
        for headers in [
            without(signed(SECRET, NOW), ID),
            with_non_utf8(signed(SECRET, NOW), ID),
        ] {
            let verified = run(&full_spec(), &[SECRET], &headers, BODY);
            assert_eq!(verified.map(|v| v.delivery_id), Ok(None));
        }
    }

    #[test]
    fn non_utf8_signed_header_is_malformed() {
        for name in [SIG, TS] {
            let headers = with_non_utf8(signed(SECRET, NOW), name);
            let expected = Rejection::Malformed(name.into(), "not valid UTF-8");
            assert_eq!(run(&full_spec(), &[SECRET], &headers, BODY), Err(expected));
        }
    }

    #[test]
    fn rotation_second_secret_matches() {
        assert!(
            run(
                &full_spec(),
                &[OTHER_SECRET, SECRET],
                &signed(SECRET, NOW),
                BODY
            )
            .is_ok()
        );
    }
}
