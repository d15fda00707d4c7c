//! `trmctl serve`'s HTTP surface (SPEC §5): webhooks in, health, registry and metrics out.
//!
//! A webhook request is refused as early and cheaply as possible (unknown integration, rate,
//! size, content type, signature, JSON) and answered `202` only after the inbox has it on
//! disk. Every refusal says why in a short JSON body that never echoes a secret.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::hooks::{Hook, Refusal};
use super::inbox::Inbox;
use super::signature;
use crate::config::Config;
use crate::connectors::{self, Incoming};
use crate::metrics::{Exposition, Metrics};
use crate::store::{Enqueued, NewDelivery, Store};
use crate::worker::{Processing, Workers};

/// How often the server re-reads which integrations are disabled.
const REGISTRY_REFRESH: Duration = Duration::from_secs(2);

/// What every handler shares.
struct App {
    config: Arc<Config>,
    /// The webhook verifiers; swapped whole when a reload rebuilds them.
    hooks: RwLock<Arc<Hooks>>,
    disabled: RwLock<HashSet<String>>,
    inbox: Inbox,
    metrics: Arc<Metrics>,
    /// A connection for the admin endpoints; webhooks never wait on it.
    reader: Mutex<Store>,
    workers: Mutex<Option<Workers>>,
    draining: AtomicBool,
    /// Refusals are logged through it (see [`LogSampler`]).
    refusals: LogSampler,
    /// `Some` when admin endpoints need a token (bound off loopback).
    admin_token: Option<Option<String>>,
    scheme: &'static str,
}

type Hooks = HashMap<String, Hook>;

impl App {
    fn hooks(&self) -> Arc<Hooks> {
        self.hooks.read().map_or_else(
            |poisoned| poisoned.into_inner().clone(),
            |hooks| hooks.clone(),
        )
    }
}

/// Runs the server on `listener` until `shutdown` is cancelled, then drains and returns.
/// Each config that arrives on `reloads` (read again on SIGHUP) renews the webhook verifiers;
/// see [`reload`].
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
    reloads: tokio::sync::mpsc::Receiver<Result<Config>>,
) -> Result<()> {
    let config = Arc::new(config);
    // Secrets first: a token that cannot be read stops serve before anything has started.
    let admin_token = admin_token(&config)?;
    // The certificate too: a bad path fails before any sink or poll has begun.
    let tls = load_tls(&config).await?;
    let hooks = build_hooks(&config)?;
    let db = crate::paths::database(&config)?;
    let busy = config.store.busy_timeout;
    let mut reader = Store::open_with(&db, busy)?;
    crate::registry::sync(&config, &mut reader)?;
    let metrics = Arc::new(Metrics::default());
    let (wake, woken) = std::sync::mpsc::channel();
    let (poll_now, triggers) = tokio::sync::mpsc::channel(64);
    let processing = Arc::new(Processing {
        config: config.clone(),
        metrics: metrics.clone(),
        poll_now,
    });
    let (inbox, writer) = Inbox::start(&db, busy, processing.clone(), wake)?;
    let workers = Workers::start(&db, processing, woken)?;
    let poller = Arc::new(crate::poll::Poller::new(config.clone(), false)?);
    let scheduler = tokio::spawn(crate::poll::scheduler::run(
        poller,
        metrics.clone(),
        shutdown.clone(),
        triggers,
    ));
    let sinks = tokio::spawn(crate::sinks::run(
        config.clone(),
        db.clone(),
        shutdown.clone(),
    ));
    let actions = tokio::spawn(crate::actions::run(
        config.clone(),
        db.clone(),
        shutdown.clone(),
    ));
    let app = Arc::new(App {
        hooks: RwLock::new(Arc::new(hooks)),
        disabled: RwLock::new(HashSet::new()),
        inbox,
        metrics,
        reader: Mutex::new(reader),
        workers: Mutex::new(Some(workers)),
        draining: AtomicBool::new(false),
        refusals: LogSampler::default(),
        admin_token,
        scheme: if config.server.tls_cert.is_some() {
            "https"
        } else {
            "http"
        },
        config: config.clone(),
    });
    refresh_disabled(&app)?;
    let refresher = tokio::spawn(keep_registry_fresh(app.clone(), shutdown.clone()));
    let reloader = tokio::spawn(apply_reloads(app.clone(), reloads));

    let address = listener.local_addr()?;
    let handle = axum_server::Handle::new();
    let server = serve(router(app.clone()), listener, tls, &config, handle.clone())?;
    let server = tokio::spawn(server);
    tracing::info!("listening on {}://{address}", app.scheme);
    notify_systemd(&[sd_notify::NotifyState::Ready]);

    shutdown.cancelled().await;
    // No reload from here on: it would tell systemd READY after STOPPING.
    reloader.abort();
    // Draining before the log line: whoever reads "shutting down" finds new requests refused.
    app.draining.store(true, Ordering::SeqCst);
    tracing::info!("shutting down: finishing requests in flight");
    notify_systemd(&[sd_notify::NotifyState::Stopping]);
    // One deadline for the whole drain: the server, polls, sinks and actions stop together.
    let deadline = tokio::time::Instant::now() + config.server.shutdown_timeout;
    handle.graceful_shutdown(Some(config.server.shutdown_timeout));
    server.await.context("server task")?.context("serving")?;
    refresher.abort();
    // A poll in progress commits page by page: cutting it off loses nothing.
    if tokio::time::timeout_at(deadline, scheduler).await.is_err() {
        tracing::warn!(
            "a poll was still running at shutdown; its next run resumes from the cursor"
        );
    }
    // A send in flight finishes and is recorded; one cut off here is sent again next start.
    if tokio::time::timeout_at(deadline, sinks).await.is_err() {
        tracing::warn!("a sink was still sending at shutdown; the event is sent again next start");
    }
    // An action cut off here runs again next start; its record or marker keeps it from
    // creating its object twice.
    if tokio::time::timeout_at(deadline, actions).await.is_err() {
        tracing::warn!("an action was still running at shutdown; it resumes next start");
    }
    let workers = app.workers.lock().ok().and_then(|mut w| w.take());
    drop(app);
    tokio::task::spawn_blocking(move || {
        if let Some(workers) = workers {
            workers.stop();
        }
        let _ = writer.join();
    })
    .await?;
    tracing::info!("stopped");
    Ok(())
}

type ServeFuture = std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send>>;

/// The TLS config of `tls_cert` and `tls_key`, if set. HTTP/1.1 only (see [`serve`]), so ALPN
/// offers no h2 either.
async fn load_tls(config: &Config) -> Result<Option<axum_server::tls_rustls::RustlsConfig>> {
    let (Some(cert), Some(key)) = (&config.server.tls_cert, &config.server.tls_key) else {
        return Ok(None);
    };
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
        .await
        .with_context(|| {
            format!(
                "loading TLS certificate {} and key {}",
                cert.display(),
                key.display()
            )
        })?;
    let mut only_http1 = (*tls.get_inner()).clone();
    only_http1.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(axum_server::tls_rustls::RustlsConfig::from_config(
        Arc::new(only_http1),
    )))
}

/// Binds the router to the listener, over TLS when given. HTTP/1.1 only: providers send
/// webhooks over HTTP/1.1, and hyper's header-read timeout, which keeps a slow or silent
/// client from holding a connection, starts at accept only in HTTP/1-only mode.
fn serve(
    router: Router,
    listener: TcpListener,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
    config: &Config,
    handle: axum_server::Handle<std::net::SocketAddr>,
) -> Result<ServeFuture> {
    listener.set_nonblocking(true)?;
    let service = router.into_make_service();
    // axum-server backs off and keeps accepting; without this, running out of file
    // descriptors would leave no trace of its own in the log.
    let sampler = Arc::new(LogSampler::default());
    let on_accept_error = move |_: Option<&std::net::SocketAddr>, e: &std::io::Error| {
        if let Some(unlogged) = sampler.admit("accept", "error") {
            tracing::error!(error = %e, likeThisUnlogged = unlogged, "accepting a connection failed");
        }
    };
    let stalled_writes = WriteTimeout(config.server.request_timeout);
    let mut server = axum_server::from_tcp(listener)?
        .http1_only()
        .accept_error_handler(on_accept_error)
        .handle(handle);
    server
        .http_builder()
        .http1()
        .header_read_timeout(config.server.header_timeout);
    Ok(match tls {
        Some(tls) => {
            let tls = axum_server::tls_rustls::RustlsAcceptor::new(tls).acceptor(stalled_writes);
            Box::pin(server.acceptor(tls).serve(service))
        }
        None => Box::pin(server.acceptor(stalled_writes).serve(service)),
    })
}

/// Wraps each accepted connection so that a write making no progress for its duration fails,
/// which closes the connection. hyper's timers do not run while a response waits to be
/// written, so a client that sends requests and never reads the answers would otherwise hold
/// its connection (and the responses queued for it) for ever.
#[derive(Clone, Copy)]
struct WriteTimeout(Duration);

impl<S> axum_server::accept::Accept<tokio::net::TcpStream, S> for WriteTimeout {
    type Stream = std::pin::Pin<Box<tokio_io_timeout::TimeoutStream<tokio::net::TcpStream>>>;
    type Service = S;
    type Future = std::future::Ready<std::io::Result<(Self::Stream, S)>>;

    fn accept(&self, stream: tokio::net::TcpStream, service: S) -> Self::Future {
        let mut stream = tokio_io_timeout::TimeoutStream::new(stream);
        stream.set_write_timeout(Some(self.0));
        std::future::ready(Ok((Box::pin(stream), service)))
    }
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route(
            "/hooks/{integration}",
            post(receive).fallback(method_not_allowed),
        )
        .route(
            "/healthz",
            get(|| async { Json(json!({"status": "ok"})) }).fallback(get_only),
        )
        .route("/readyz", get(readyz).fallback(get_only))
        .route("/registry", get(registry).fallback(get_only))
        .route("/registry/{name}", get(registry_entry).fallback(get_only))
        .route("/metrics", get(metrics).fallback(get_only))
        .fallback(|| async { refusal(StatusCode::NOT_FOUND, "no such endpoint") })
        .with_state(app)
}

use axum::Json;

fn refusal(status: StatusCode, reason: &str) -> Response {
    (status, Json(json!({ "error": reason }))).into_response()
}

async fn method_not_allowed() -> Response {
    not_allowed("POST", "webhooks are delivered with POST")
}

/// The 405 of the endpoints that are only read.
async fn get_only() -> Response {
    not_allowed("GET,HEAD", "this endpoint is only read, with GET")
}

fn not_allowed(allow: &'static str, reason: &str) -> Response {
    let mut response = refusal(StatusCode::METHOD_NOT_ALLOWED, reason);
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// What a webhook request came to.
struct Accepted {
    status: StatusCode,
    body: Value,
    delivery_id: Option<String>,
    outcome: &'static str,
}

async fn receive(
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<BTreeMap<String, String>>, QueryRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    // A name that is not UTF-8 names no integration: the usual JSON 404.
    let name = path.map(|Path(name)| name).unwrap_or_default();
    // A query that does not decode carries no token.
    let query = query.map(|Query(query)| query).unwrap_or_default();
    let body_read = AtomicBool::new(false);
    let accepted = accept(
        &app,
        &name,
        &uri,
        query.get("token").map(String::as_str),
        &headers,
        body,
        &body_read,
    );
    // A delivery whose reply is lost to the timeout may still be stored; the provider's retry
    // is then a duplicate, never a second event.
    let result = tokio::time::timeout(app.config.server.request_timeout, accepted)
        .await
        .unwrap_or_else(|_| Err(timed_out(body_read.load(Ordering::SeqCst))));
    let label = if app.hooks().contains_key(&name) {
        name.as_str()
    } else {
        "unknown"
    };
    let (response, outcome, delivery_id) = match result {
        Ok(a) => (
            (a.status, Json(a.body)).into_response(),
            a.outcome,
            a.delivery_id,
        ),
        Err((refused, outcome)) => {
            let mut response = refusal(refused.status, &refused.reason);
            if let Some(retry) = refused.retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry));
            }
            (response, outcome, None)
        }
    };
    app.metrics.delivery(label, outcome);
    let status = response.status();
    // Every delivery taken gets its line; refusals at most one a second of each kind.
    let unlogged = if status.is_success() {
        Some(0)
    } else {
        app.refusals.admit(label, outcome)
    };
    if let Some(unlogged) = unlogged {
        tracing::info!(
            integration = label,
            deliveryId = delivery_id.as_deref().unwrap_or("-"),
            outcome,
            status = status.as_u16(),
            latencyMs = started.elapsed().as_secs_f64() * 1000.0,
            likeThisUnlogged = unlogged,
            "webhook"
        );
    }
    response
}

/// At most one log line a second of each kind, with how many like it went unlogged since.
/// Refused requests cost a sender nothing (no signature needed), and a line for each would
/// flood the journal (`/metrics` counts every one); so do failed accepts while the process is
/// out of file descriptors.
#[derive(Default)]
struct LogSampler(Mutex<HashMap<SampledKind, (Instant, u64)>>);

/// What is logged: an integration (or `unknown`) and an outcome, or `accept` and `error`.
type SampledKind = (String, &'static str);

impl LogSampler {
    /// `Some(unlogged since the last line)` when this refusal is to be logged.
    fn admit(&self, label: &str, outcome: &'static str) -> Option<u64> {
        self.admit_at(label, outcome, Instant::now())
    }

    fn admit_at(&self, label: &str, outcome: &'static str, now: Instant) -> Option<u64> {
        let mut last = self.0.lock().unwrap_or_else(|p| p.into_inner());
        // Keys are bounded: configured names (or "unknown") times a fixed set of outcomes.
        match last.get_mut(&(label.to_string(), outcome)) {
            Some((at, unlogged)) if now.duration_since(*at) < Duration::from_secs(1) => {
                *unlogged += 1;
                None
            }
            Some((at, unlogged)) => {
                *at = now;
                Some(std::mem::take(unlogged))
            }
            None => {
                last.insert((label.to_string(), outcome), (now, 0));
                Some(0)
            }
        }
    }
}

/// A refusal with the outcome label it is counted under.
struct Refused {
    status: StatusCode,
    reason: String,
    retry_after: Option<u64>,
}

impl From<Refusal> for Refused {
    fn from(r: Refusal) -> Refused {
        Refused {
            status: r.status,
            reason: r.reason,
            retry_after: None,
        }
    }
}

fn refuse(
    status: StatusCode,
    reason: impl Into<String>,
    outcome: &'static str,
) -> (Refused, &'static str) {
    (
        Refused {
            status,
            reason: reason.into(),
            retry_after: None,
        },
        outcome,
    )
}

/// A hook's refusal, with the outcome it is counted as.
fn refused_by_hook(refusal: Refusal) -> (Refused, &'static str) {
    let outcome = match refusal.status {
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::BAD_REQUEST => "malformed",
        _ => "unavailable",
    };
    (Refused::from(refusal), outcome)
}

/// The answer to a request cut off by `request_timeout`: the client's fault (`408`) while its
/// body was still coming in, the server's (`503`, retry later) once it was all there.
fn timed_out(body_read: bool) -> (Refused, &'static str) {
    if body_read {
        refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the delivery was not stored within request_timeout; retry later",
            "unavailable",
        )
    } else {
        refuse(
            StatusCode::REQUEST_TIMEOUT,
            "the request took longer than request_timeout",
            "timeout",
        )
    }
}

/// Takes one delivery; `body_read` is set once the whole body is in.
async fn accept(
    app: &App,
    name: &str,
    uri: &Uri,
    query_token: Option<&str>,
    headers: &HeaderMap,
    body: Body,
    body_read: &AtomicBool,
) -> Result<Accepted, (Refused, &'static str)> {
    if app.draining.load(Ordering::SeqCst) {
        return Err(refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting down",
            "unavailable",
        ));
    }
    let hooks = app.hooks();
    let hook = hooks
        .get(name)
        .filter(|_| {
            !app.disabled
                .read()
                .map(|d| d.contains(name))
                .unwrap_or(false)
        })
        .ok_or_else(|| {
            refuse(
                StatusCode::NOT_FOUND,
                "no such integration, or it is disabled",
                "not_found",
            )
        })?;
    hook.ready().map_err(refused_by_hook)?;
    let max = usize::try_from(app.config.server.max_body_bytes.as_u64()).unwrap_or(usize::MAX);
    let format = check_content_type(headers, hook.takes_form())?;
    let body = read_body(body, max).await?;
    body_read.store(true, Ordering::SeqCst);
    let url = full_url(app, headers, uri);
    let request = signature::Request {
        method: "POST",
        url: &url,
        headers,
        body: &body,
        now: chrono::Utc::now().timestamp(),
    };
    let header_id = hook
        .authenticate(&request, query_token)
        .await
        .map_err(refused_by_hook)?;
    // Counted only once authenticated, so unsigned traffic cannot use up the provider's share.
    if let Err(wait) = hook.check_rate() {
        let (mut refused, outcome) = refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "over the integration's rate limit",
            "rate_limited",
        );
        refused.retry_after = Some(wait.as_secs_f64().ceil().max(1.0) as u64);
        return Err((refused, outcome));
    }
    let payload = match format {
        BodyFormat::Json => body.clone(),
        BodyFormat::Form => form_payload(&body)?,
    };
    let mut json: Value = serde_json::from_slice(&payload).map_err(|e| {
        refuse(
            StatusCode::BAD_REQUEST,
            format!("the body is not valid JSON: {e}"),
            "malformed",
        )
    })?;
    if hook.answers_url_verification()
        && json.get("type").and_then(Value::as_str) == Some("url_verification")
    {
        let challenge = json.get("challenge").cloned().unwrap_or(Value::Null);
        return Ok(Accepted {
            status: StatusCode::OK,
            body: json!({ "challenge": challenge }),
            delivery_id: None,
            outcome: "challenge",
        });
    }
    let provider_delivery_id = hook
        .provider_delivery_id(header_id, &json, &body)
        .map_err(|r| (Refused::from(r), "malformed"))?;
    let kept_body = if hook.drop_credentials(&mut json) {
        serde_json::to_vec(&json).map_err(|e| {
            refuse(
                StatusCode::BAD_REQUEST,
                format!("the body cannot be stored: {e}"),
                "malformed",
            )
        })?
    } else {
        payload.to_vec()
    };
    let received_at = crate::event::now();
    let kept_headers = hook.kept_headers(headers);
    let events = made_at_once(|| {
        connectors::from_delivery(
            hook.kind,
            &Incoming {
                integration: name,
                provider_delivery_id: &provider_delivery_id,
                received_at,
                headers: &kept_headers,
                body: &json,
            },
        )
    });
    let delivery = NewDelivery {
        delivery_id: Uuid::now_v7().to_string(),
        integration: name.to_string(),
        provider_delivery_id,
        received_at,
        // What is stored: a form's payload is stored without the form around it.
        content_type: match format {
            BodyFormat::Json => headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string(),
            BodyFormat::Form => "application/json".into(),
        },
        headers: serde_json::to_string(&kept_headers).unwrap_or_else(|_| "{}".into()),
        body: kept_body,
    };
    match app.inbox.store(delivery, events).await {
        Ok(Enqueued::New(id)) => Ok(Accepted {
            status: StatusCode::ACCEPTED,
            body: json!({ "deliveryId": id }),
            delivery_id: Some(id),
            outcome: "accepted",
        }),
        Ok(Enqueued::Duplicate(id)) => Ok(Accepted {
            status: StatusCode::OK,
            body: json!({ "deliveryId": id, "duplicate": true }),
            delivery_id: Some(id),
            outcome: "duplicate",
        }),
        Err(e) => {
            tracing::error!(integration = name, error = %format!("{e:#}"), "storing a delivery failed");
            Err(refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "the store is unavailable; retry later",
                "unavailable",
            ))
        }
    }
}

/// How a delivery's JSON is sent.
enum BodyFormat {
    /// The body is the JSON.
    Json,
    /// A form whose `payload` field is the JSON (GitHub's default).
    Form,
}

/// A delivery's events, made on the request's thread so the inbox writer only has to store
/// them. `None` when they cannot be made, even by a connector's panic: the delivery is stored
/// anyway and left to the workers, which retry and make it a dead letter that says why.
fn made_at_once<E>(
    make: impl FnOnce() -> Result<Vec<crate::event::Event>, E>,
) -> Option<Vec<crate::event::Event>> {
    crate::worker::caught(make).ok()?.ok()
}

/// JSON: `application/json` or `application/*+json`, with any parameters; with `form`, also
/// `application/x-www-form-urlencoded`.
fn check_content_type(
    headers: &HeaderMap,
    form: bool,
) -> Result<BodyFormat, (Refused, &'static str)> {
    let value = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if json {
        Ok(BodyFormat::Json)
    } else if form && essence == "application/x-www-form-urlencoded" {
        Ok(BodyFormat::Form)
    } else {
        let expected = if form {
            "expected Content-Type: application/json or application/x-www-form-urlencoded"
        } else {
            "expected Content-Type: application/json"
        };
        Err(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            expected,
            "unsupported_type",
        ))
    }
}

/// The `payload` field of a form, the one field GitHub's form has.
fn form_payload(body: &[u8]) -> Result<Bytes, (Refused, &'static str)> {
    form_urlencoded::parse(body)
        .find(|(name, _)| name == "payload")
        .map(|(_, payload)| Bytes::from(payload.into_owned()))
        .ok_or_else(|| {
            refuse(
                StatusCode::BAD_REQUEST,
                "the form has no `payload` field",
                "malformed",
            )
        })
}

/// Reads the body, stopping at `max` bytes: a larger body is refused without being read whole.
async fn read_body(body: Body, max: usize) -> Result<Bytes, (Refused, &'static str)> {
    let too_large = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over {max} bytes"),
            "too_large",
        )
    };
    // A declared length over the limit is refused at once, not after waiting for the body.
    if axum::body::HttpBody::size_hint(&body).lower() > max as u64 {
        return Err(too_large());
    }
    match axum::body::to_bytes(body, max).await {
        Ok(bytes) => Ok(bytes),
        Err(e) => {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(err) = source {
                if err.is::<http_body_util::LengthLimitError>() {
                    return Err(too_large());
                }
                source = err.source();
            }
            Err(refuse(
                StatusCode::BAD_REQUEST,
                "the body could not be read",
                "malformed",
            ))
        }
    }
}

/// The URL the provider called: `public_url` when set (behind a proxy), else from `Host`.
fn full_url(app: &App, headers: &HeaderMap, uri: &Uri) -> String {
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    match &app.config.server.public_url {
        Some(base) => format!("{}{path}", base.trim_end_matches('/')),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            format!("{}://{host}{path}", app.scheme)
        }
    }
}

/// Applies each config read again on SIGHUP, one at a time.
async fn apply_reloads(app: Arc<App>, mut reloads: tokio::sync::mpsc::Receiver<Result<Config>>) {
    while let Some(config) = reloads.recv().await {
        // systemd (`Type=notify-reload`) takes RELOADING=1 only with the monotonic time.
        let mut reloading = vec![sd_notify::NotifyState::Reloading];
        reloading.extend(sd_notify::NotifyState::monotonic_usec_now().ok());
        notify_systemd(&reloading);
        let app = app.clone();
        match tokio::task::spawn_blocking(move || reload(&app, config)).await {
            Ok(Ok(note)) => tracing::info!("reloaded: {note}"),
            Ok(Err(e)) => {
                tracing::error!(error = %format!("{e:#}"), "reload refused; serving as before")
            }
            Err(e) => tracing::error!(error = %e, "reload failed; serving as before"),
        }
        notify_systemd(&[sd_notify::NotifyState::Ready]);
    }
}

/// Renews the webhook verifiers from `config`, read again: secrets (a rotation, a fixed
/// keyring entry), schemes, ids and rate limits. Nothing changes when the config does not
/// load, when an integration that checks signatures could no longer (its one secret is
/// unreadable), or when it adds, removes or re-kinds an integration: the inbox, the workers, polls,
/// sinks and actions run on the config they started with, so those need a restart, as does
/// every setting outside the integrations' webhook keys.
fn reload(app: &App, config: Result<Config>) -> Result<&'static str> {
    let config = config?;
    let kinds = |c: &Config| -> Vec<(String, crate::config::Kind)> {
        c.integrations
            .iter()
            .map(|(n, i)| (n.clone(), i.kind))
            .collect()
    };
    if kinds(&config) != kinds(&app.config) {
        anyhow::bail!(
            "integrations were added, removed or changed kind; restart `trmctl serve` to apply that"
        );
    }
    let mut hooks = build_hooks(&config)?;
    let running = app.hooks();
    for (name, hook) in &mut hooks {
        if let Some(known) = running.get(name) {
            hook.carry_over(known);
        }
        let was_ready = running
            .get(name)
            .is_some_and(|h| h.setup_problem().is_none());
        if let (true, Some(problem)) = (was_ready, hook.setup_problem()) {
            anyhow::bail!("integration {name} could no longer check signatures: {problem}");
        }
    }
    *app.hooks.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(hooks);
    Ok("webhook secrets, schemes, ids and rate limits; other settings apply at the next restart")
}

fn build_hooks(config: &Config) -> Result<Hooks> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("building the HTTP client")?;
    let mut hooks = HashMap::new();
    for (name, cfg) in &config.integrations {
        if let Some(hook) = Hook::new(name, cfg, &client) {
            if let Some(problem) = hook.setup_problem() {
                tracing::error!(integration = %name, error = %problem, "webhook cannot authenticate; answering 503 until the secret is fixed and serve reloaded (SIGHUP) or restarted");
            }
            hooks.insert(name.clone(), hook);
        }
    }
    Ok(hooks)
}

/// The admin token: `None` when bound on loopback (no token needed), `Some(None)` when one is
/// needed but not configured (admin endpoints refuse), `Some(Some(token))` otherwise.
fn admin_token(config: &Config) -> Result<Option<Option<String>>> {
    if config.server.bind.ip().is_loopback() {
        return Ok(None);
    }
    let token = config
        .server
        .admin_token
        .as_ref()
        .map(|r| r.resolve("server", "admin_token"))
        .transpose()?;
    Ok(Some(token))
}

/// The refusal for an admin request without the right token, if it needs one.
fn admin_refusal(app: &App, headers: &HeaderMap) -> Option<Response> {
    let expected = app.admin_token.as_ref()?;
    let Some(expected) = expected else {
        return Some(admin_unauthorized(
            "set server.admin_token to use this endpoint off loopback",
        ));
    };
    let given = super::bearer(headers).unwrap_or_default();
    (!crate::secrets::same_secret(given, expected))
        .then(|| admin_unauthorized("admin token required"))
}

/// A `401` that names the scheme the admin endpoints take, as RFC 9110 asks of every `401`.
fn admin_unauthorized(reason: &str) -> Response {
    let mut response = refusal(StatusCode::UNAUTHORIZED, reason);
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(r#"Bearer realm="trmctl""#),
    );
    response
}

/// Runs a store read off the async threads.
async fn with_reader<T: Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&mut Store, &Config) -> Result<T> + Send + 'static,
) -> Result<T> {
    let app = app.clone();
    tokio::task::spawn_blocking(move || {
        let mut store = app
            .reader
            .lock()
            .map_err(|_| anyhow::anyhow!("reader lock poisoned"))?;
        f(&mut store, &app.config)
    })
    .await?
}

async fn readyz(State(app): State<Arc<App>>) -> Response {
    // A load balancer stops sending here while the server drains.
    if app.draining.load(Ordering::SeqCst) {
        return refusal(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    let workers = app
        .workers
        .lock()
        .map(|w| w.as_ref().is_some_and(Workers::running))
        .unwrap_or(false);
    // After a failed commit, only a write that reaches the disk proves the store works again.
    let failing = app.inbox.failing();
    let writable = with_reader(&app, move |store, _| {
        if failing {
            store.check_commit()
        } else {
            store.check_writable()
        }
    })
    .await;
    if failing && writable.is_ok() {
        app.inbox.recovered();
    }
    match (app.inbox.running(), workers, writable) {
        (true, true, Ok(())) => Json(json!({"status": "ready"})).into_response(),
        (false, _, _) => refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "the inbox writer has stopped",
        ),
        (_, false, _) => refusal(StatusCode::SERVICE_UNAVAILABLE, "workers are not running"),
        (_, _, Err(_)) => refusal(StatusCode::SERVICE_UNAVAILABLE, "the store is not writable"),
    }
}

async fn registry(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Some(response) = admin_refusal(&app, &headers) {
        return response;
    }
    match with_reader(&app, |store, config| {
        crate::registry::entries(config, store)
    })
    .await
    {
        Ok(entries) => Json(entries).into_response(),
        Err(_) => refusal(StatusCode::SERVICE_UNAVAILABLE, "the store is unavailable"),
    }
}

async fn registry_entry(
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    // A name that is not UTF-8 names no integration: the usual JSON 404.
    let name = path.map(|Path(name)| name).unwrap_or_default();
    if let Some(response) = admin_refusal(&app, &headers) {
        return response;
    }
    match with_reader(&app, |store, config| {
        crate::registry::entries(config, store)
    })
    .await
    {
        Ok(entries) => match entries.into_iter().find(|e| e.name == name) {
            Some(entry) => Json(entry).into_response(),
            None => refusal(StatusCode::NOT_FOUND, "no such integration"),
        },
        Err(_) => refusal(StatusCode::SERVICE_UNAVAILABLE, "the store is unavailable"),
    }
}

async fn metrics(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Some(response) = admin_refusal(&app, &headers) {
        return response;
    }
    let counts = with_reader(&app, |store, _| {
        Ok((store.pending_count()?, store.dead_letter_count()?))
    })
    .await;
    if let Ok((pending, dead)) = counts {
        app.metrics.queue_depth.set(pending);
        app.metrics.dead_letters.set(dead);
    }
    let dropped = crate::logging::dropped_lines();
    app.metrics
        .log_lines_dropped
        .set(i64::try_from(dropped).unwrap_or(i64::MAX));
    let format = Exposition::negotiate(
        headers
            .get(header::ACCEPT)
            .and_then(|accept| accept.to_str().ok()),
    );
    (
        [(header::CONTENT_TYPE, format.content_type())],
        app.metrics.encode(format),
    )
        .into_response()
}

fn refresh_disabled(app: &App) -> Result<()> {
    let rows = app
        .reader
        .lock()
        .map_err(|_| anyhow::anyhow!("reader lock poisoned"))?
        .integration_rows()?;
    let disabled = rows
        .into_iter()
        .filter(|r| !r.enabled)
        .map(|r| r.name)
        .collect();
    if let Ok(mut current) = app.disabled.write() {
        *current = disabled;
    }
    Ok(())
}

/// `trmctl integrations disable` runs in another process: pick its switch up.
async fn keep_registry_fresh(app: Arc<App>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(REGISTRY_REFRESH);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let app = app.clone();
        let refreshed = tokio::task::spawn_blocking(move || refresh_disabled(&app)).await;
        if let Ok(Err(e)) = refreshed {
            tracing::warn!(error = %format!("{e:#}"), "refreshing the registry failed");
        }
    }
}

fn notify_systemd(states: &[sd_notify::NotifyState]) {
    if std::env::var_os("NOTIFY_SOCKET").is_some()
        && let Err(e) = sd_notify::notify(states)
    {
        tracing::warn!(error = %e, "sd_notify failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connector_that_panics_leaves_the_delivery_to_the_workers() {
        let made = made_at_once::<()>(|| panic!("a connector bug"));
        assert!(
            made.is_none(),
            "stored without events, not lost with the request"
        );
        assert!(made_at_once::<()>(|| Err(())).is_none());
        assert_eq!(
            made_at_once::<()>(|| Ok(Vec::new())).map(|e| e.len()),
            Some(0)
        );
    }

    #[test]
    fn refusals_are_logged_once_a_second_per_kind_with_the_count_left_out() {
        let log = LogSampler::default();
        let start = Instant::now();
        assert_eq!(log.admit_at("gh", "unauthorized", start), Some(0));
        assert_eq!(log.admit_at("gh", "unauthorized", start), None);
        assert_eq!(log.admit_at("gh", "unauthorized", start), None);
        // Another kind, or another integration, has its own second.
        assert_eq!(log.admit_at("gh", "not_found", start), Some(0));
        assert_eq!(log.admit_at("unknown", "unauthorized", start), Some(0));
        let later = start + Duration::from_millis(1500);
        assert_eq!(log.admit_at("gh", "unauthorized", later), Some(2));
        assert_eq!(log.admit_at("gh", "unauthorized", later), None);
    }
}
