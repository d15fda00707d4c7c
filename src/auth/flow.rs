//! The authorization code flow with PKCE (S256) and a loopback redirect (RFC 8252).
//!
//! trmctl listens on `127.0.0.1` on a random port, opens the browser at Google's consent page,
//! and waits for the redirect carrying the code. On a machine without a browser
//! (`--no-browser`), the user opens the URL elsewhere; the browser there fails to reach
//! 127.0.0.1 and shows an error page whose address the user pastes here. Either way the
//! `state` must match before the code is exchanged, with the PKCE verifier, for tokens.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use axum::extract::{Query, State};
use axum::response::Html;
use chrono::{DateTime, Utc};
use oauth2::{AuthorizationCode, CsrfToken, PkceCodeChallenge, Scope, TokenResponse as _};
use std::collections::HashMap;
use tokio::sync::mpsc;

use super::{GoogleClient, TokenResponse, http_client, id_token_email, with_redirect};

/// How long trmctl waits for the user to finish in the browser.
const WAIT: Duration = Duration::from_secs(5 * 60);

/// What a completed authorization yields.
pub struct Authorization {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
    /// Space-separated, as granted.
    pub scopes: String,
    pub email: Option<String>,
}

/// Runs the whole flow and returns the tokens. `open_browser` is false with `--no-browser`.
pub async fn authorize(
    client: GoogleClient,
    scopes: &[String],
    open_browser: bool,
) -> Result<Authorization> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("listening on 127.0.0.1 for the redirect")?;
    let redirect = format!("http://127.0.0.1:{}/", listener.local_addr()?.port());
    let client = with_redirect(client, &redirect)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(scopes.iter().cloned().map(Scope::new))
        .set_pkce_challenge(challenge)
        .add_extra_param("access_type", "offline")
        .add_extra_param("prompt", "consent")
        .url();

    let (tx, mut rx) = mpsc::channel::<Result<HashMap<String, String>>>(4);
    let server = tokio::spawn(serve_redirect(listener, tx.clone()));
    crate::output::note(&format!("Authorize trmctl in your browser:\n\n  {url}\n"));
    if open_browser {
        if webbrowser::open(url.as_str()).is_err() {
            crate::output::note("(could not open a browser: open the address above yourself)");
        }
    } else {
        crate::output::note(
            "Open it on any machine. If the browser then shows an error page at 127.0.0.1,\n\
             copy that page's whole address and paste it here:",
        );
        read_pasted_redirect(tx);
    }
    let params = tokio::time::timeout(WAIT, rx.recv())
        .await
        .map_err(|_| {
            anyhow!(
                "no authorization arrived within {} minutes",
                WAIT.as_secs() / 60
            )
        })?
        .ok_or_else(|| anyhow!("the redirect listener stopped"))??;
    server.abort();
    let code = check_redirect(&params, state.secret())?;
    let response = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http_client()?)
        .await
        .map_err(|e| anyhow!("exchanging the authorization code failed: {}", describe(&e)))?;
    authorization(&response, scopes)
}

/// The code from the redirect's parameters, once `state` matches and no error came back.
fn check_redirect(params: &HashMap<String, String>, expected_state: &str) -> Result<String> {
    if let Some(error) = params.get("error") {
        bail!("the authorization was refused: {error}");
    }
    let state = params.get("state").map(String::as_str).unwrap_or_default();
    if !crate::secrets::same_secret(state, expected_state) {
        bail!(
            "the redirect's `state` does not match this authorization (a stale or forged redirect)"
        );
    }
    params
        .get("code")
        .filter(|c| !c.is_empty())
        .cloned()
        .context("the redirect carries no authorization code")
}

fn authorization(response: &TokenResponse, requested: &[String]) -> Result<Authorization> {
    let refresh_token = response.refresh_token().map(|t| t.secret().clone()).context(
        "Google returned no refresh token; remove trmctl at https://myaccount.google.com/permissions and authorize again",
    )?;
    let lifetime = response.expires_in().unwrap_or(Duration::from_secs(3600));
    let scopes = match response.scopes() {
        Some(granted) => granted
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(" "),
        None => requested.join(" "),
    };
    Ok(Authorization {
        access_token: response.access_token().secret().clone(),
        refresh_token,
        expires_at: crate::event::after(lifetime),
        scopes,
        email: response
            .extra_fields()
            .id_token
            .as_deref()
            .and_then(id_token_email),
    })
}

/// Describes a token request error without echoing a token or code.
pub fn describe<RE: std::error::Error + 'static>(
    error: &oauth2::RequestTokenError<RE, oauth2::basic::BasicErrorResponse>,
) -> String {
    match error {
        oauth2::RequestTokenError::ServerResponse(response) => {
            let mut text = response.error().to_string();
            if let Some(description) = response.error_description() {
                text.push_str(&format!(" ({})", without_credentials(description)));
            }
            text
        }
        oauth2::RequestTokenError::Request(e) => format!("request failed: {e}"),
        oauth2::RequestTokenError::Parse(e, _) => format!("unreadable response: {e}"),
        oauth2::RequestTokenError::Other(e) => e.clone(),
    }
}

/// A token endpoint's own words with the values of any credential parameters they repeat
/// taken out: an endpoint (a proxy, a misconfigured `token_url`) that echoes the request
/// would otherwise put the client secret or refresh token into an error message.
fn without_credentials(description: &str) -> String {
    static CREDENTIAL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"(?i)\b((?:client_secret|refresh_token|access_token|code_verifier|code|assertion)"?\s*[=:]\s*"?)[^&\s",}]+"#,
        )
        .expect("a valid pattern")
    });
    CREDENTIAL
        .replace_all(description, "${1}[redacted]")
        .into_owned()
}

/// Answers the browser's redirect on the loopback listener and passes its parameters on.
async fn serve_redirect(
    listener: tokio::net::TcpListener,
    tx: mpsc::Sender<Result<HashMap<String, String>>>,
) {
    async fn land(
        State(tx): State<mpsc::Sender<Result<HashMap<String, String>>>>,
        Query(params): Query<HashMap<String, String>>,
    ) -> (axum::http::StatusCode, Html<&'static str>) {
        if !is_redirect(&params) {
            // A stray request (a prefetch, a reload of the bare address) ends nothing.
            return (
                axum::http::StatusCode::NOT_FOUND,
                Html(
                    "<!doctype html><title>trmctl</title><p>trmctl is waiting for the authorization.</p>",
                ),
            );
        }
        let _ = tx.send(Ok(params)).await;
        (
            axum::http::StatusCode::OK,
            Html(
                "<!doctype html><title>trmctl</title><p>trmctl received the authorization. You can close this tab.</p>",
            ),
        )
    }
    let app = axum::Router::new()
        .route("/", axum::routing::get(land))
        .with_state(tx.clone());
    if let Err(e) = axum::serve(listener, app).await {
        let _ = tx
            .send(Err(anyhow!("the redirect listener failed: {e}")))
            .await;
    }
}

/// Whether a request to the redirect address is the provider's redirect: it carries a `code`
/// or an `error`.
fn is_redirect(params: &HashMap<String, String>) -> bool {
    params.contains_key("code") || params.contains_key("error")
}

/// Reads a pasted redirect address from stdin, on its own thread (stdin blocks).
fn read_pasted_redirect(tx: mpsc::Sender<Result<HashMap<String, String>>>) {
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { return };
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let params = oauth2::url::Url::parse(line)
                .map(|url| url.query_pairs().into_owned().collect::<HashMap<_, _>>());
            match params {
                Ok(params) if is_redirect(&params) => {
                    let _ = tx.blocking_send(Ok(params));
                    return;
                }
                Ok(_) => crate::output::note(
                    "That address carries no authorization (no `code=`): paste the address the \
                     browser was sent to after you allowed access.",
                ),
                Err(_) => crate::output::note(
                    "That is not an address: paste the whole address of the error page.",
                ),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_echoed_request_loses_its_credentials() {
        let echoed = "bad request: grant_type=refresh_token&client_id=abc.apps\
            &client_secret=CLIENTSECRETXYZ&refresh_token=1%2F%2Fsecret-token";
        let shown = without_credentials(echoed);
        assert!(
            !shown.contains("CLIENTSECRETXYZ") && !shown.contains("secret-token"),
            "{shown}"
        );
        assert!(
            shown.contains("client_id=abc.apps"),
            "the rest stays: {shown}"
        );
        let json = r#"{"client_secret": "CLIENTSECRETXYZ", "code":"4/abc"}"#;
        let shown = without_credentials(json);
        assert!(
            !shown.contains("CLIENTSECRETXYZ") && !shown.contains("4/abc"),
            "{shown}"
        );
        assert_eq!(without_credentials("error_code=7"), "error_code=7");
        assert_eq!(
            without_credentials("Token has been expired or revoked."),
            "Token has been expired or revoked."
        );
    }

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn state_must_match_and_errors_are_reported() {
        assert_eq!(
            check_redirect(&params(&[("code", "c"), ("state", "s1")]), "s1").unwrap(),
            "c"
        );
        assert!(check_redirect(&params(&[("code", "c"), ("state", "s2")]), "s1").is_err());
        assert!(check_redirect(&params(&[("code", "c")]), "s1").is_err());
        let refused = check_redirect(
            &params(&[("error", "access_denied"), ("state", "s1")]),
            "s1",
        )
        .unwrap_err();
        assert!(refused.to_string().contains("access_denied"));
        assert!(check_redirect(&params(&[("state", "s1")]), "s1").is_err());
    }

    #[test]
    fn only_a_code_or_an_error_is_the_redirect() {
        assert!(is_redirect(&params(&[("code", "c"), ("state", "s")])));
        assert!(is_redirect(&params(&[("error", "access_denied")])));
        assert!(!is_redirect(&params(&[])), "the bare address");
        assert!(!is_redirect(&params(&[("state", "s")])));
    }
}
