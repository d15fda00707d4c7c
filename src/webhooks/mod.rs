//! Webhook receivers (SPEC §5–6): signature verification, the HTTP server, the durable inbox.

use axum::http::{HeaderMap, HeaderValue, header};

pub mod hooks;
pub mod inbox;
pub mod pubsub;
pub mod server;
pub mod signature;

/// A provider's header value as text, or `None` if it is not UTF-8. Every header a delivery is
/// judged or kept by is read so (`to_str` would refuse anything not ASCII).
pub fn header_text(value: &HeaderValue) -> Option<&str> {
    std::str::from_utf8(value.as_bytes()).ok()
}

/// The token of an `Authorization: Bearer <token>` header, the scheme matched
/// case-insensitively (RFC 9110 §11.1): Pub/Sub's OIDC token and the admin token both come so.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_is_extracted() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
            headers
        };
        assert_eq!(bearer(&with("Bearer abc.def.ghi")), Some("abc.def.ghi"));
        assert_eq!(bearer(&with("bearer xyz")), Some("xyz"));
        assert_eq!(bearer(&with("BEARER  xyz ")), Some("xyz"));
        assert_eq!(bearer(&with("Basic dXNlcjpwYXNz")), None);
        assert_eq!(bearer(&with("Bearer ")), None);
        assert_eq!(bearer(&with("Bearer")), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }
}
