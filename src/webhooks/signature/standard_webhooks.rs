//! The `standard-webhooks` scheme (Standard Webhooks, also Svix).
//!
//! Many providers sign with this open specification, so one implementation covers them all:
//! `webhook-signature` lists `version,base64` pairs over `{id}.{timestamp}.{body}`; `v1` is
//! HMAC-SHA256 keyed by a `whsec_` secret, `v1a` is ed25519 checked against a `whpk_` public key.
//! Any one matching pair passes and unknown versions are ignored, which lets senders rotate keys
//! and add algorithms without breaking receivers.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, VerifyingKey};

use super::{
    Algorithm, Encoding, Rejection, Request, Verified, any_secret, check_unix_seconds, decode,
    hmac_matches, mac, required_header,
};

/// The id, timestamp and signature headers: the specification's names, then Svix's own, which
/// senders built on Svix (Clerk, Resend…) send instead. A request uses one set or the other.
const HEADER_SETS: [[&str; 3]; 2] = [
    [ID, TIMESTAMP, SIGNATURE],
    ["svix-id", "svix-timestamp", "svix-signature"],
];
const ID: &str = "webhook-id";
const TIMESTAMP: &str = "webhook-timestamp";
const SIGNATURE: &str = "webhook-signature";

/// Prefix of a symmetric (v1) secret: the rest is the base64 HMAC key.
const SECRET_PREFIX: &str = "whsec_";
/// Prefix of an asymmetric (v1a) secret: the rest is a base64 ed25519 public key.
const PUBLIC_KEY_PREFIX: &str = "whpk_";

pub(super) fn verify(
    secrets: &[String],
    tolerance: Duration,
    req: &Request,
) -> Result<Verified, Rejection> {
    let [id_name, timestamp_name, signature_name] = HEADER_SETS
        .into_iter()
        .find(|[id, ..]| req.headers.contains_key(*id))
        .unwrap_or(HEADER_SETS[0]);
    let id = required_header(req.headers, id_name)?;
    let timestamp = required_header(req.headers, timestamp_name)?;
    let signatures = parse_signatures(required_header(req.headers, signature_name)?);
    check_unix_seconds(timestamp_name, timestamp, req.now, tolerance)?;
    let content = [id.as_bytes(), b".", timestamp.as_bytes(), b".", req.body].concat();
    any_secret(secrets, |secret| {
        secret_matches(secret, &content, &signatures)
    })?;
    Ok(Verified {
        delivery_id: Some(id.to_owned()),
    })
}

/// `(version, base64 signature)` pairs; entries without a comma are ignored like unknown versions.
fn parse_signatures(header: &str) -> Vec<(&str, &str)> {
    header
        .split(' ')
        .filter_map(|entry| entry.split_once(','))
        .collect()
}

/// The decoded signatures of one version; undecodable ones are skipped (they cannot match).
fn signatures_of<'s>(
    signatures: &'s [(&str, &str)],
    version: &'s str,
) -> impl Iterator<Item = Vec<u8>> + 's {
    signatures
        .iter()
        .filter(move |(v, _)| *v == version)
        .filter_map(|(_, signature)| decode(Encoding::Base64, signature))
}

/// A `whpk_` secret only checks v1a signatures; any other secret only checks v1.
fn secret_matches(secret: &str, content: &[u8], signatures: &[(&str, &str)]) -> bool {
    match secret.strip_prefix(PUBLIC_KEY_PREFIX) {
        Some(public_key) => ed25519_matches(public_key, content, signatures),
        None => hmac_v1_matches(secret, content, signatures),
    }
}

fn hmac_v1_matches(secret: &str, content: &[u8], signatures: &[(&str, &str)]) -> bool {
    let Some(key) = v1_key(secret) else {
        return false;
    };
    signatures_of(signatures, "v1")
        .any(|signature| hmac_matches(Algorithm::Sha256, &key, content, &signature))
}

/// The HMAC key of a `whsec_` secret (the prefix is optional): its base64 part, decoded.
fn v1_key(secret: &str) -> Option<Vec<u8>> {
    let encoded_key = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    decode(Encoding::Base64, encoded_key)
}

/// Signs an outgoing message exactly as [`verify`] checks one: `v1,<base64>` of HMAC-SHA256
/// over `{id}.{timestamp}.{body}`, keyed by the `whsec_` secret. `None` when the secret is not
/// such a key (an empty or undecodable key, or a `whpk_` public key, which cannot sign).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    if secret.starts_with(PUBLIC_KEY_PREFIX) {
        return None;
    }
    let key = v1_key(secret).filter(|key| !key.is_empty())?;
    let content = [
        id.as_bytes(),
        b".",
        timestamp.to_string().as_bytes(),
        b".",
        body,
    ]
    .concat();
    let signature = mac(Algorithm::Sha256, &key, &content)?;
    Some(format!("v1,{}", STANDARD.encode(signature)))
}

fn ed25519_matches(public_key: &str, content: &[u8], signatures: &[(&str, &str)]) -> bool {
    let Some(key) = verifying_key(public_key) else {
        return false;
    };
    signatures_of(signatures, "v1a").any(|signature| {
        Signature::from_slice(&signature)
            .is_ok_and(|signature| key.verify_strict(content, &signature).is_ok())
    })
}

/// Whether a configured secret can check anything: a `whpk_` ed25519 public key, or a `whsec_`
/// key whose base64 part decodes to a non-empty key. The error names the form, never the value.
pub fn usable_secret(secret: &str) -> Result<(), &'static str> {
    let usable = match secret.strip_prefix(PUBLIC_KEY_PREFIX) {
        Some(public_key) => verifying_key(public_key).is_some(),
        None => v1_key(secret).is_some_and(|key| !key.is_empty()),
    };
    usable
        .then_some(())
        .ok_or("is neither a whsec_ key (base64 after the prefix) nor a whpk_ ed25519 public key")
}

fn verifying_key(encoded: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = decode(Encoding::Base64, encoded)?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;
    use ed25519_dalek::{Signer, SigningKey};

    use super::super::Scheme;
    use super::super::test_support::*;
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const OTHER_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const MSG_ID: &str = "msg_2b9VZ7xRvJ3kq8Yd";
    const BODY: &[u8] = br#"{"type":"invoice.paid","amount":4200}"#;

    fn content(id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
        [format!("{id}.{timestamp}.").as_bytes(), body].concat()
    }

    /// `v1,<base64>` for a `whsec_` secret.
    fn v1(secret: &str, timestamp: i64, body: &[u8]) -> String {
        let key = b64_decode(secret.trim_start_matches(SECRET_PREFIX));
        format!(
            "v1,{}",
            b64(&sign_sha256(&key, &content(MSG_ID, timestamp, body)))
        )
    }

    fn b64_decode(text: &str) -> Vec<u8> {
        decode(Encoding::Base64, text).expect("test key is base64")
    }

    fn request_headers(timestamp: i64, signature: &str) -> HeaderMap {
        headers(&[
            (ID, MSG_ID),
            (TIMESTAMP, &timestamp.to_string()),
            (SIGNATURE, signature),
        ])
    }

    fn run(secrets: &[&str], headers: &HeaderMap, body: &[u8]) -> Result<Verified, Rejection> {
        check(&Scheme::StandardWebhooks, secrets, headers, body, NOW)
    }

    /// The vector's ed25519 key pair: the seed signs, the `whpk_` key verifies.
    fn vector_key_pair() -> (SigningKey, String) {
        let vector = vectors("standardWebhooks")
            .into_iter()
            .find(|v| v.get("signingKeySeedBase64").is_some())
            .expect("an ed25519 vector");
        let seed: [u8; 32] = b64_decode(field(&vector, "signingKeySeedBase64"))
            .try_into()
            .expect("32-byte seed");
        (
            SigningKey::from_bytes(&seed),
            field(&vector, "publicKey").to_owned(),
        )
    }

    fn v1a(key: &SigningKey, timestamp: i64, body: &[u8]) -> String {
        let signature = key.sign(&content(MSG_ID, timestamp, body));
        format!("v1a,{}", b64(&signature.to_bytes()))
    }

    #[test]
    fn only_secrets_that_can_check_something_are_usable() {
        assert_eq!(usable_secret(SECRET), Ok(()));
        assert_eq!(usable_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), Ok(()));
        assert_eq!(usable_secret(&vector_key_pair().1), Ok(()));
        for bad in ["whsec_", "", "whsec_!!!", "whpk_", "whpk_AAAA"] {
            let why = usable_secret(bad).unwrap_err();
            assert!(why.contains("neither"), "{bad}: {why}");
        }
    }

    #[test]
    fn svix_header_names_are_read_too() {
        let signature = v1(SECRET, NOW, BODY);
        let svix = headers(&[
            ("svix-id", MSG_ID),
            ("svix-timestamp", &NOW.to_string()),
            ("svix-signature", &signature),
        ]);
        assert_eq!(
            run(&[SECRET], &svix, BODY).unwrap().delivery_id.as_deref(),
            Some(MSG_ID)
        );
        let mixed = headers(&[
            ("svix-id", MSG_ID),
            (TIMESTAMP, &NOW.to_string()),
            ("svix-signature", &signature),
        ]);
        assert_eq!(
            run(&[SECRET], &mixed, BODY),
            Err(Rejection::MissingHeader("svix-timestamp".into()))
        );
        assert_eq!(
            run(&[SECRET], &HeaderMap::new(), BODY),
            Err(Rejection::MissingHeader(ID.into()))
        );
    }

    #[test]
    fn published_vectors() {
        for vector in vectors("standardWebhooks") {
            let name = field(&vector, "name");
            let secret = vector.get("secret").or_else(|| vector.get("publicKey"));
            let secret = secret
                .and_then(|s| s.as_str())
                .expect("secret or public key");
            let timestamp = vector["timestamp"].as_i64().expect("timestamp");
            let headers = headers(&[
                (ID, field(&vector, "id")),
                (TIMESTAMP, &timestamp.to_string()),
                (SIGNATURE, field(&vector, "signature")),
            ]);
            let body = field(&vector, "payload").as_bytes();
            let result = check(
                &Scheme::StandardWebhooks,
                &[secret],
                &headers,
                body,
                timestamp,
            );
            let expected = vector["valid"].as_bool().expect("valid");
            assert_eq!(result.is_ok(), expected, "{name}: {result:?}");
            if !expected {
                assert_eq!(result, Err(Rejection::Mismatch), "{name}");
            }
        }
    }

    #[test]
    fn sign_reproduces_the_published_v1_vectors() {
        for vector in vectors("standardWebhooks") {
            let (Some(secret), true) = (vector.get("secret"), vector["valid"] == true) else {
                continue;
            };
            let secret = secret.as_str().expect("secret");
            let timestamp = vector["timestamp"].as_i64().expect("timestamp");
            let body = field(&vector, "payload").as_bytes();
            let signed = sign(secret, field(&vector, "id"), timestamp, body).expect("a v1 key");
            let published = field(&vector, "signature");
            let signed_is_published = published.split(' ').any(|s| s == signed);
            assert!(signed_is_published, "{}: {signed}", field(&vector, "name"));
        }
    }

    #[test]
    fn signed_messages_verify_and_bad_keys_do_not_sign() {
        let signature = sign(SECRET, MSG_ID, NOW, BODY).expect("a v1 key");
        let verified = run(&[SECRET], &request_headers(NOW, &signature), BODY);
        assert_eq!(
            verified.expect("valid").delivery_id.as_deref(),
            Some(MSG_ID)
        );
        assert_eq!(sign("whsec_***", MSG_ID, NOW, BODY), None);
        assert_eq!(sign("whsec_", MSG_ID, NOW, BODY), None);
        let (_, public) = vector_key_pair();
        assert_eq!(sign(&public, MSG_ID, NOW, BODY), None);
    }

    #[test]
    fn valid_v1_yields_the_message_id() {
        let headers = request_headers(NOW, &v1(SECRET, NOW, BODY));
        let verified = run(&[SECRET], &headers, BODY).expect("valid");
        assert_eq!(verified.delivery_id.as_deref(), Some(MSG_ID));
    }

    #[test]
    fn secret_without_prefix_is_the_base64_key() {
        let headers = request_headers(NOW, &v1(SECRET, NOW, BODY));
        let bare = SECRET.trim_start_matches(SECRET_PREFIX);
        assert!(run(&[bare], &headers, BODY).is_ok());
    }

    #[test]
    fn padding_is_optional_in_signatures() {
        let signature = v1(SECRET, NOW, BODY);
        let unpadded = signature.trim_end_matches('=');
        assert_ne!(unpadded, signature);
        assert!(run(&[SECRET], &request_headers(NOW, unpadded), BODY).is_ok());
    }

    #[test]
    fn empty_signature_fails() {
        for empty in ["v1,", "v1a,", "", " "] {
            let headers = request_headers(NOW, empty);
            assert_rejected(
                run(&[SECRET], &headers, BODY),
                Rejection::Mismatch,
                &[SECRET],
            );
        }
    }

    #[test]
    fn truncated_signature_fails() {
        let signature = v1(SECRET, NOW, BODY);
        for len in [4, 12, 20, signature.len() - 4] {
            let headers = request_headers(NOW, &signature[..len]);
            assert_rejected(
                run(&[SECRET], &headers, BODY),
                Rejection::Mismatch,
                &[&signature],
            );
        }
    }

    #[test]
    fn wrong_length_and_garbage_fail() {
        let long = format!("{}AAAA", v1(SECRET, NOW, BODY));
        for bad in [
            long.as_str(),
            "v1,!!!!",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE",
        ] {
            let headers = request_headers(NOW, bad);
            assert_rejected(run(&[SECRET], &headers, BODY), Rejection::Mismatch, &[bad]);
        }
    }

    #[test]
    fn wrong_secret_fails() {
        let headers = request_headers(NOW, &v1(OTHER_SECRET, NOW, BODY));
        assert_rejected(
            run(&[SECRET], &headers, BODY),
            Rejection::Mismatch,
            &[SECRET],
        );
    }

    #[test]
    fn undecodable_secret_fails_without_panic() {
        let headers = request_headers(NOW, &v1(SECRET, NOW, BODY));
        assert_eq!(
            run(&["whsec_***"], &headers, BODY),
            Err(Rejection::Mismatch)
        );
        assert_eq!(
            run(&["whpk_AAAA"], &headers, BODY),
            Err(Rejection::Mismatch)
        );
    }

    #[test]
    fn changed_payload_fails() {
        let headers = request_headers(NOW, &v1(SECRET, NOW, BODY));
        assert_eq!(run(&[SECRET], &headers, b"{}"), Err(Rejection::Mismatch));
    }

    #[test]
    fn changed_id_fails() {
        let headers = replaced(
            request_headers(NOW, &v1(SECRET, NOW, BODY)),
            ID,
            "msg_other",
        );
        assert_eq!(run(&[SECRET], &headers, BODY), Err(Rejection::Mismatch));
    }

    #[test]
    fn stale_timestamp_fails() {
        let then = NOW - 301;
        let headers = request_headers(then, &v1(SECRET, then, BODY));
        assert_eq!(run(&[SECRET], &headers, BODY), Err(Rejection::Stale));
        let edge = NOW - 300;
        assert!(
            run(
                &[SECRET],
                &request_headers(edge, &v1(SECRET, edge, BODY)),
                BODY
            )
            .is_ok()
        );
    }

    #[test]
    fn future_timestamp_fails() {
        let later = NOW + 301;
        let headers = request_headers(later, &v1(SECRET, later, BODY));
        assert_eq!(run(&[SECRET], &headers, BODY), Err(Rejection::Stale));
    }

    #[test]
    fn malformed_timestamp_fails() {
        let headers = replaced(
            request_headers(NOW, &v1(SECRET, NOW, BODY)),
            TIMESTAMP,
            "soon",
        );
        let expected = Rejection::Malformed(TIMESTAMP.into(), "not a Unix timestamp");
        assert_eq!(run(&[SECRET], &headers, BODY), Err(expected));
    }

    #[test]
    fn missing_headers_fail() {
        let signed = request_headers(NOW, &v1(SECRET, NOW, BODY));
        for name in [ID, TIMESTAMP, SIGNATURE] {
            let headers = without(signed.clone(), name);
            assert_eq!(run(&[SECRET], &headers, BODY), Err(missing(name)));
        }
    }

    #[test]
    fn non_utf8_header_is_malformed() {
        let signed = request_headers(NOW, &v1(SECRET, NOW, BODY));
        for name in [ID, TIMESTAMP, SIGNATURE] {
            let headers = with_non_utf8(signed.clone(), name);
            let expected = Rejection::Malformed(name.into(), "not valid UTF-8");
            assert_eq!(run(&[SECRET], &headers, BODY), Err(expected));
        }
    }

    #[test]
    fn rotation_second_secret_matches() {
        let headers = request_headers(NOW, &v1(SECRET, NOW, BODY));
        assert!(run(&[OTHER_SECRET, SECRET], &headers, BODY).is_ok());
    }

    #[test]
    fn unknown_versions_are_ignored_next_to_a_valid_v1() {
        let valid = v1(SECRET, NOW, BODY);
        let list = format!("v2,AAAA v0,{0} nocomma v1a,{0} {valid} v9,xyz", &valid[3..]);
        assert!(run(&[SECRET], &request_headers(NOW, &list), BODY).is_ok());
        let only_unknown = format!("v2,{}", &valid[3..]);
        assert_eq!(
            run(&[SECRET], &request_headers(NOW, &only_unknown), BODY),
            Err(Rejection::Mismatch)
        );
    }

    #[test]
    fn v1a_verifies_with_the_public_key() {
        let (signing, public) = vector_key_pair();
        let headers = request_headers(NOW, &v1a(&signing, NOW, BODY));
        assert!(run(&[&public], &headers, BODY).is_ok());
        assert_eq!(run(&[&public], &headers, b"{}"), Err(Rejection::Mismatch));
    }

    #[test]
    fn v1a_empty_truncated_and_wrong_length_fail() {
        let (signing, public) = vector_key_pair();
        let signature = v1a(&signing, NOW, BODY);
        let long = format!("{signature}AAAA");
        for bad in [
            "v1a,",
            &signature[..30],
            &signature[..signature.len() - 4],
            &long,
        ] {
            let headers = request_headers(NOW, bad);
            assert_eq!(
                run(&[&public], &headers, BODY),
                Err(Rejection::Mismatch),
                "{bad}"
            );
        }
    }

    #[test]
    fn keys_are_used_only_for_their_version() {
        let (signing, public) = vector_key_pair();
        // An HMAC keyed by the public key bytes, labelled v1, must not pass with a whpk_ secret.
        let public_bytes = b64_decode(public.trim_start_matches(PUBLIC_KEY_PREFIX));
        let forged = b64(&sign_sha256(&public_bytes, &content(MSG_ID, NOW, BODY)));
        let headers = request_headers(NOW, &format!("v1,{forged}"));
        assert_eq!(run(&[&public], &headers, BODY), Err(Rejection::Mismatch));
        // An ed25519 signature does not pass with a whsec_ secret, nor a v1 with a whpk_ key.
        let headers = request_headers(NOW, &v1a(&signing, NOW, BODY));
        assert_eq!(run(&[SECRET], &headers, BODY), Err(Rejection::Mismatch));
        let headers = request_headers(NOW, &v1(SECRET, NOW, BODY));
        assert_eq!(run(&[&public], &headers, BODY), Err(Rejection::Mismatch));
    }

    #[test]
    fn rotation_mixes_symmetric_and_asymmetric_secrets() {
        let (signing, public) = vector_key_pair();
        let headers = request_headers(NOW, &v1a(&signing, NOW, BODY));
        assert!(run(&[SECRET, &public], &headers, BODY).is_ok());
    }
}
