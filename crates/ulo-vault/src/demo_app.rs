//! `ulo vault demo-app`: a small managed app with its own username/password sign-in, and the
//! vault's HTTP connector at `POST /connector` (set-password, end-sessions) authenticated by a
//! shared secret. It keeps everything in memory: it exists to make rotation observable.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::cookie;
use crate::clock::Clock;
use crate::connector::{self, Action, SIGNATURE_HEADER, TIMESTAMP_HEADER, WINDOW_SECS};
use crate::secret;

/// The demo app's session cookie.
pub const COOKIE: &str = "demo_session";

/// The demo app's state.
pub struct DemoApp {
    connector_secret: String,
    clock: Arc<dyn Clock>,
    /// username → SHA-256 of its password.
    accounts: Mutex<HashMap<String, String>>,
    /// session secret hash → username.
    sessions: Mutex<HashMap<String, String>>,
    /// Connector signatures already used → until when they are remembered (Unix seconds).
    seen: Mutex<HashMap<String, i64>>,
}

impl DemoApp {
    /// An app whose connector takes requests signed with `connector_secret`, starting with
    /// `accounts` (username, password).
    pub fn new(
        connector_secret: impl Into<String>,
        accounts: impl IntoIterator<Item = (String, String)>,
        clock: Arc<dyn Clock>,
    ) -> Arc<Self> {
        Arc::new(DemoApp {
            connector_secret: connector_secret.into(),
            clock,
            accounts: Mutex::new(
                accounts
                    .into_iter()
                    .map(|(u, p)| (u, secret::hash(&p)))
                    .collect(),
            ),
            sessions: Mutex::new(HashMap::new()),
            seen: Mutex::new(HashMap::new()),
        })
    }

    /// The live sessions of `username`.
    pub fn sessions_of(&self, username: &str) -> usize {
        lock(&self.sessions)
            .values()
            .filter(|u| *u == username)
            .count()
    }

    fn check_password(&self, username: &str, password: &str) -> bool {
        lock(&self.accounts)
            .get(username)
            .is_some_and(|h| secret::equal(h, &secret::hash(password)))
    }

    fn username_of(&self, headers: &HeaderMap) -> Option<String> {
        let value = cookie(headers, COOKIE)?;
        lock(&self.sessions).get(&secret::hash(value)).cloned()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The demo app's routes.
pub fn router(app: Arc<DemoApp>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/connector", post(connector_endpoint))
        .with_state(app)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn home(State(app): State<Arc<DemoApp>>, headers: HeaderMap) -> Html<String> {
    let body = match app.username_of(&headers) {
        Some(u) => format!(
            "<p>Signed in as <strong>{}</strong>.</p><form method=\"post\" action=\"/logout\"><button>Sign out</button></form>",
            esc(&u)
        ),
        None => "<form method=\"post\" action=\"/login\">\
                 <p><label>Username <input name=\"username\" autocomplete=\"username\"></label></p>\
                 <p><label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\"></label></p>\
                 <p><button>Sign in</button></p></form>"
            .into(),
    };
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Demo app</title></head>\
         <body style=\"font-family:system-ui;max-width:30rem;margin:2rem auto\"><h1>Demo app</h1>{body}</body></html>"
    ))
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

async fn login(State(app): State<Arc<DemoApp>>, Form(f): Form<LoginForm>) -> Response {
    if !app.check_password(&f.username, &f.password) {
        return (
            StatusCode::UNAUTHORIZED,
            Html("<p>Wrong username or password. <a href=\"/\">Try again</a></p>".to_string()),
        )
            .into_response();
    }
    let Ok(value) = secret::new_secret() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    lock(&app.sessions).insert(secret::hash(&value), f.username.clone());
    tracing::info!(username = %f.username, "demo app: signed in");
    let mut resp = Redirect::to("/").into_response();
    if let Ok(v) =
        HeaderValue::from_str(&format!("{COOKIE}={value}; HttpOnly; SameSite=Lax; Path=/"))
    {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

async fn logout(State(app): State<Arc<DemoApp>>, headers: HeaderMap) -> Redirect {
    if let Some(value) = cookie(&headers, COOKIE) {
        lock(&app.sessions).remove(&secret::hash(value));
    }
    Redirect::to("/")
}

async fn me(State(app): State<Arc<DemoApp>>, headers: HeaderMap) -> Response {
    match app.username_of(&headers) {
        Some(u) => Json(json!({"username": u})).into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "not signed in"})),
        )
            .into_response(),
    }
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

async fn connector_endpoint(
    State(app): State<Arc<DemoApp>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let now = app.clock.now().unix_timestamp();
    let signature = header(SIGNATURE_HEADER);
    if let Err(e) = connector::verify(
        &app.connector_secret,
        header(TIMESTAMP_HEADER),
        signature,
        &body,
        now,
    ) {
        tracing::warn!(error = %e, "demo app: connector request refused");
        return refuse(StatusCode::UNAUTHORIZED, e.to_string());
    }
    {
        // A signature is good once: remember it as long as its timestamp is acceptable.
        let mut seen = lock(&app.seen);
        seen.retain(|_, until| *until >= now);
        let sig = signature.unwrap_or_default().to_string();
        if seen.contains_key(&sig) {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "this request was already received (replay)",
            );
        }
        seen.insert(sig, now + 2 * WINDOW_SECS);
    }
    let action: Action = match serde_json::from_slice(&body) {
        Ok(a) => a,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("invalid request: {e}")),
    };
    match action {
        Action::SetPassword { username, password } => {
            if password.is_empty() {
                return refuse(StatusCode::BAD_REQUEST, "password must not be empty");
            }
            let mut accounts = lock(&app.accounts);
            let Some(h) = accounts.get_mut(&username) else {
                return refuse(StatusCode::NOT_FOUND, format!("no account {username:?}"));
            };
            *h = secret::hash(&password);
            tracing::info!(%username, "demo app: password set by the vault");
            StatusCode::NO_CONTENT.into_response()
        }
        Action::EndSessions { username } => {
            if !lock(&app.accounts).contains_key(&username) {
                return refuse(StatusCode::NOT_FOUND, format!("no account {username:?}"));
            }
            let mut sessions = lock(&app.sessions);
            let before = sessions.len();
            sessions.retain(|_, u| *u != username);
            let ended = before - sessions.len();
            tracing::info!(%username, ended, "demo app: sessions ended by the vault");
            Json(json!({"ended": ended})).into_response()
        }
    }
}

/// A running demo app.
pub struct DemoServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its base URL.
    pub url: String,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl DemoServer {
    /// Serves `app` on `listener`.
    pub fn start(app: Arc<DemoApp>, listener: tokio::net::TcpListener) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, router(app)).with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|s| *s).await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "demo app server failed");
            }
        });
        Ok(DemoServer {
            addr,
            url: format!("http://{addr}"),
            stop,
            task,
        })
    }

    /// Stops serving (its port is free afterwards).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}
