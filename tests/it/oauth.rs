//! A local authorization server speaking Google's OAuth 2.0 endpoints: it checks the PKCE
//! verifier against the challenge and the redirect URI, issues, refreshes and revokes tokens,
//! and counts every request so tests can prove what trmctl sent.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Form, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "test-client.apps.googleusercontent.com";
pub const CLIENT_SECRET: &str = "test-client-secret-value";
pub const EMAIL: &str = "founder@example.com";

#[derive(Default)]
pub struct Books {
    /// code → (challenge, redirect_uri, scope)
    codes: HashMap<String, (String, String, String)>,
    pub refresh_tokens: Vec<String>,
    pub revoked: Vec<String>,
    pub issued_access_tokens: Vec<String>,
    pub refresh_requests: usize,
    pub token_requests: usize,
    pub auth_requests: Vec<HashMap<String, String>>,
    /// Lifetime of issued access tokens.
    pub expires_in: u64,
    /// How long a refresh takes (to make concurrent refreshes overlap).
    pub refresh_delay: Duration,
    /// Refresh requests begun (counted before `refresh_delay`).
    pub refreshes_begun: usize,
}

#[derive(Clone)]
pub struct AuthServer {
    pub addr: SocketAddr,
    pub books: Arc<Mutex<Books>>,
}

impl AuthServer {
    pub async fn start() -> AuthServer {
        let books = Arc::new(Mutex::new(Books {
            expires_in: 3600,
            ..Default::default()
        }));
        let app = Router::new()
            .route("/auth", get(authorize))
            .route("/token", post(token))
            .route("/revoke", post(revoke))
            .with_state(books.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        AuthServer { addr, books }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The `[accounts.NAME]` table pointing at this server.
    pub fn account_config(&self, name: &str) -> String {
        format!(
            "[accounts.{name}]\nprovider = \"google\"\nemail = \"{EMAIL}\"\nclient_id = \"{CLIENT_ID}\"\n\
             client_secret = \"env:T_CLIENT_SECRET\"\nauth_url = \"{}\"\ntoken_url = \"{}\"\nrevoke_url = \"{}\"\n",
            self.url("/auth"),
            self.url("/token"),
            self.url("/revoke")
        )
    }

    pub fn books(&self) -> std::sync::MutexGuard<'_, Books> {
        self.books.lock().unwrap()
    }
}

fn error(status: StatusCode, code: &str) -> Response {
    (status, Json(json!({ "error": code }))).into_response()
}

/// The consent page: approve at once by redirecting back with a code.
async fn authorize(
    State(books): State<Arc<Mutex<Books>>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut books = books.lock().unwrap();
    books.auth_requests.push(q.clone());
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("client_id") != CLIENT_ID
        || get("response_type") != "code"
        || get("code_challenge_method") != "S256"
        || get("access_type") != "offline"
        || get("prompt") != "consent"
        || !get("redirect_uri").starts_with("http://127.0.0.1:")
    {
        return error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    let code = format!("code-{}", books.codes.len() + 1);
    books.codes.insert(
        code.clone(),
        (get("code_challenge"), get("redirect_uri"), get("scope")),
    );
    let location = format!(
        "{}?code={code}&state={}&scope={}",
        get("redirect_uri"),
        get("state"),
        get("scope")
    );
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

fn id_token() -> String {
    let claims =
        URL_SAFE_NO_PAD.encode(json!({ "email": EMAIL, "email_verified": true }).to_string());
    format!("eyJhbGciOiJSUzI1NiJ9.{claims}.signature")
}

async fn token(
    State(books): State<Arc<Mutex<Books>>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    if get("client_id") != CLIENT_ID || get("client_secret") != CLIENT_SECRET {
        return error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    match get("grant_type").as_str() {
        "authorization_code" => {
            let mut books = books.lock().unwrap();
            books.token_requests += 1;
            let Some((challenge, redirect, scope)) = books.codes.remove(&get("code")) else {
                return error(StatusCode::BAD_REQUEST, "invalid_grant");
            };
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(get("code_verifier").as_bytes()));
            if computed != challenge || redirect != get("redirect_uri") {
                return error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            let n = books.issued_access_tokens.len() + 1;
            let access = format!("ya29.access-{n}");
            let refresh = format!("1//refresh-{n}");
            books.issued_access_tokens.push(access.clone());
            books.refresh_tokens.push(refresh.clone());
            Json(json!({
                "access_token": access, "expires_in": books.expires_in, "refresh_token": refresh,
                "scope": scope, "token_type": "Bearer", "id_token": id_token(),
            }))
            .into_response()
        }
        "refresh_token" => {
            let delay = {
                let mut books = books.lock().unwrap();
                books.refreshes_begun += 1;
                books.refresh_delay
            };
            tokio::time::sleep(delay).await;
            let mut books = books.lock().unwrap();
            books.refresh_requests += 1;
            let refresh = get("refresh_token");
            if !books.refresh_tokens.contains(&refresh) || books.revoked.contains(&refresh) {
                return error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            let access = format!("ya29.refreshed-{}", books.refresh_requests);
            books.issued_access_tokens.push(access.clone());
            Json(json!({ "access_token": access, "expires_in": books.expires_in, "token_type": "Bearer" })).into_response()
        }
        _ => error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    }
}

async fn revoke(
    State(books): State<Arc<Mutex<Books>>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut books = books.lock().unwrap();
    match form.get("token") {
        Some(token) => {
            books.revoked.push(token.clone());
            StatusCode::OK.into_response()
        }
        None => error(StatusCode::BAD_REQUEST, "invalid_request"),
    }
}
