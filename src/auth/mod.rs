//! Google OAuth 2.0 for accounts (SPEC §4 `auth`, §7 "Accounts, tokens and secrets"): the
//! authorization code flow with PKCE, and access tokens that refresh themselves.
//!
//! Tokens never touch the database: the refresh token and the cached access token live in the
//! keyring (or, on a headless machine, the refresh token comes from an `env:`/`file:`/
//! `credential:` reference). The database keeps the account's email, scopes, expiry and status.

pub mod flow;
pub mod tokens;

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, ClientId, ClientSecret, EndpointNotSet, EndpointSet, ExtraTokenFields,
    RedirectUrl, StandardRevocableToken, StandardTokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use crate::config::{AccountConfig, Config, Kind};

pub const GOOGLE_AUTH_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
pub const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
pub const GOOGLE_REVOKE_URL: &str = "https://oauth2.googleapis.com/revoke";

/// The keyring keys of an account's tokens: `<account>/refresh_token`, `<account>/access_token`.
pub use crate::config::REFRESH_TOKEN;
pub const ACCESS_TOKEN: &str = "access_token";

/// Google's token response carries an OpenID `id_token`, which names the account's email.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IdTokenField {
    pub id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenField {}

pub type TokenResponse = StandardTokenResponse<IdTokenField, BasicTokenType>;

/// An OAuth client with the authorization and token endpoints set (revocation is [`revoke`]).
pub type GoogleClient = oauth2::Client<
    BasicErrorResponse,
    TokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// The OAuth client of an account; `client_secret` already resolved.
pub fn client(account: &AccountConfig, client_secret: String) -> Result<GoogleClient> {
    let url =
        |over: &Option<String>, default: &str| over.clone().unwrap_or_else(|| default.to_string());
    Ok(
        oauth2::Client::new(ClientId::new(account.client_id.clone()))
            .set_client_secret(ClientSecret::new(client_secret))
            .set_auth_type(AuthType::RequestBody)
            .set_auth_uri(
                AuthUrl::new(url(&account.auth_url, GOOGLE_AUTH_URL)).context("auth_url")?,
            )
            .set_token_uri(
                TokenUrl::new(url(&account.token_url, GOOGLE_TOKEN_URL)).context("token_url")?,
            ),
    )
}

/// The client with the loopback redirect of one authorization.
pub fn with_redirect(client: GoogleClient, redirect: &str) -> Result<GoogleClient> {
    Ok(client.set_redirect_uri(RedirectUrl::new(redirect.to_string()).context("redirect URL")?))
}

/// The HTTP client for token requests: it never follows redirects (a redirect from a token
/// endpoint is an attack or a misconfiguration, and would carry the code or token elsewhere).
pub fn http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .build()
        .context("building the HTTP client")
}

/// Revokes a token at the account's revocation endpoint (RFC 7009, as Google implements it).
/// The token travels only over HTTPS, or to a loopback address (tests, local proxies).
pub async fn revoke(account: &AccountConfig, token: &str) -> Result<()> {
    let url = account
        .revoke_url
        .clone()
        .unwrap_or_else(|| GOOGLE_REVOKE_URL.to_string());
    let parsed =
        crate::config::private_url(&url).map_err(|why| anyhow::anyhow!("revoke_url {why}"))?;
    let response = http_client()?
        .post(parsed)
        .form(&[("token", token)])
        .send()
        .await
        .context("calling the revocation endpoint")?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let error = body
        .get("error")
        .and_then(|e| e.as_str())
        .unwrap_or("no error code");
    Err(anyhow::anyhow!(
        "the revocation endpoint answered {status}: {error}"
    ))
}

/// Read-only scopes by short name (`--scopes gmail,sheets,drive,calendar`).
const SCOPES: &[(&str, &str)] = &[
    ("gmail", "https://www.googleapis.com/auth/gmail.readonly"),
    (
        "sheets",
        "https://www.googleapis.com/auth/spreadsheets.readonly",
    ),
    ("drive", "https://www.googleapis.com/auth/drive.readonly"),
    (
        "drive-metadata",
        "https://www.googleapis.com/auth/drive.metadata.readonly",
    ),
    (
        "calendar",
        "https://www.googleapis.com/auth/calendar.readonly",
    ),
    // Read-write: `google-task` actions create tasks.
    ("tasks", "https://www.googleapis.com/auth/tasks"),
];

/// Always asked for: who the account is (the `id_token`'s email).
const IDENTITY: [&str; 2] = ["openid", "email"];

/// The scopes to request: the named ones, else the least the account's integrations need.
pub fn scopes(config: &Config, account: &str, names: &[String]) -> Result<Vec<String>> {
    let mut wanted: BTreeSet<&str> = BTreeSet::new();
    if names.is_empty() {
        for integration in config
            .integrations
            .values()
            .filter(|i| i.account.as_deref() == Some(account))
        {
            let names: &[&str] = match integration.kind {
                Kind::Gmail => &["gmail"],
                // The sheet's Drive version is what makes an unchanged poll one request.
                Kind::GoogleSheets => &["sheets", "drive-metadata"],
                Kind::GoogleDrive => &["drive-metadata"],
                Kind::GoogleCalendar => &["calendar"],
                _ => continue,
            };
            wanted.extend(names);
        }
        let creates_tasks = config.actions.iter().any(|a| {
            a.kind == crate::actions::ActionKind::GoogleTask
                && a.account.as_deref() == Some(account)
        });
        if creates_tasks {
            wanted.insert("tasks");
        }
    } else {
        for name in names {
            if !SCOPES.iter().any(|(n, _)| n == name) {
                let known: Vec<&str> = SCOPES.iter().map(|(n, _)| *n).collect();
                bail!("unknown scope `{name}` (known: {})", known.join(", "));
            }
            wanted.insert(name);
        }
    }
    let mut scopes: Vec<String> = IDENTITY.iter().map(|s| s.to_string()).collect();
    scopes.extend(
        SCOPES
            .iter()
            .filter(|(n, _)| wanted.contains(n))
            .map(|(_, url)| url.to_string()),
    );
    Ok(scopes)
}

/// The email in an `id_token` from the token endpoint. The token came straight from the
/// provider over the token request, so its claims are read without checking the signature.
pub fn id_token_email(id_token: &str) -> Option<String> {
    use base64::Engine;
    let payload = id_token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("email")?.as_str().map(str::to_string)
}

/// The account's config, or a usage error naming the configured ones.
pub fn account<'c>(config: &'c Config, name: &str) -> Result<&'c AccountConfig> {
    config.accounts.get(name).ok_or_else(|| {
        let known: Vec<&str> = config.accounts.keys().map(String::as_str).collect();
        crate::error::Exit::usage(format!(
            "no account named `{name}` in the config ({})",
            if known.is_empty() {
                "add an [accounts.NAME] table".to_string()
            } else {
                format!("configured: {}", known.join(", "))
            }
        ))
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_follow_the_integrations_or_the_flag() {
        let config = Config::parse(
            "[accounts.f]\nprovider = \"google\"\nclient_id = \"c\"\n\
             [integrations.m]\nkind = \"gmail\"\naccount = \"f\"\n\
             [integrations.d]\nkind = \"google-drive\"\naccount = \"f\"\n",
            std::path::Path::new("t"),
        )
        .unwrap();
        let derived = scopes(&config, "f", &[]).unwrap();
        assert!(derived.contains(&"https://www.googleapis.com/auth/gmail.readonly".to_string()));
        assert!(
            derived
                .contains(&"https://www.googleapis.com/auth/drive.metadata.readonly".to_string())
        );
        assert!(!derived.iter().any(|s| s.contains("spreadsheets")));
        let sheets = Config::parse(
            "[accounts.f]\nprovider = \"google\"\nclient_id = \"c\"\n\
             [integrations.s]\nkind = \"google-sheets\"\naccount = \"f\"\nspreadsheet_id = \"x\"\n\
             range = \"A:B\"\nkey_column = \"id\"\n",
            std::path::Path::new("t"),
        )
        .unwrap();
        let derived = scopes(&sheets, "f", &[]).unwrap();
        assert!(derived.iter().any(|s| s.ends_with("spreadsheets.readonly")));
        assert!(
            derived
                .iter()
                .any(|s| s.ends_with("drive.metadata.readonly")),
            "the version check reads Drive"
        );
        let named = scopes(&config, "f", &["sheets".into()]).unwrap();
        assert_eq!(named.len(), 3);
        assert!(scopes(&config, "f", &["mail".into()]).is_err());
    }

    #[test]
    fn email_from_id_token() {
        use base64::Engine;
        let claims =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"email":"a@b.com"}"#);
        assert_eq!(
            id_token_email(&format!("h.{claims}.s")).as_deref(),
            Some("a@b.com")
        );
        assert_eq!(id_token_email("garbage"), None);
    }
}
