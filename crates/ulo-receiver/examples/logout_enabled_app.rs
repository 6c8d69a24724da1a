//! A small logout-enabled app: in-memory sessions per user, ended by ulo.
//!
//! It mounts the ulo receiver at `/global-token-revocation` (Universal Logout, the Global
//! Token Revocation draft) and at `/backchannel-logout` (OIDC Back-Channel Logout 1.0).
//! Both end the sessions of the user ulo names.
//!
//! # Run
//!
//! ```text
//! ULO_ISSUER=https://ulo.example.com \
//! APP_CLIENT_ID=0oa-my-client-id \
//! APP_URL=http://127.0.0.1:8080 \
//! cargo run -p ulo-receiver --example logout_enabled_app
//! ```
//!
//! `ULO_ISSUER` is ulo's issuer (its JWKS is read from `$ULO_ISSUER/oauth2/v1/keys`),
//! `APP_CLIENT_ID` the client id ulo gave this app, and `APP_URL` the app's public base
//! URL (the server listens on its host and port; the Universal Logout token's `aud` must
//! be exactly `$APP_URL/global-token-revocation`).
//!
//! # Register it in ulo
//!
//! Create (or replace) the app with its logout settings, using an admin API token:
//!
//! ```text
//! curl -X POST "$ULO_ISSUER/api/v1/apps" \
//!   -H "Authorization: SSWS $ULO_API_TOKEN" -H "Content-Type: application/json" \
//!   -d '{
//!     "label": "Logout-enabled demo",
//!     "type": "oidc",
//!     "oidc": {"redirectUris": ["http://127.0.0.1:8080/callback"]},
//!     "logout": {
//!       "enabled": true,
//!       "protocol": "global-token-revocation",
//!       "endpoint": "http://127.0.0.1:8080/global-token-revocation",
//!       "subjectFormat": "email"
//!     }
//!   }'
//! ```
//!
//! The answer holds the app's client id (`oidc.clientId`): start this example with it as `APP_CLIENT_ID`.
//! For OIDC Back-Channel Logout instead, send `"protocol": "oidc-backchannel"` and
//! `"endpoint": "http://127.0.0.1:8080/backchannel-logout"`.
//!
//! # Try it
//!
//! `POST /login` with `{"email": "ada@example.com", "sub": "<ulo user id>", "sid": "<ulo sid>"}`
//! (`sub`/`sid` optional) opens a session; `GET /sessions` lists them. A Universal Logout
//! for `ada@example.com`, or a back-channel logout naming her `sub` or the `sid`, ends them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use ulo_receiver::{BackchannelLogout, HookOutcome, LogoutHook, ReceiverConfig, Subject};

/// One signed-in session of this app.
#[derive(Debug, Clone)]
struct Session {
    id: u64,
    /// The user's id at ulo (the ID token's `sub`), when known.
    ulo_sub: Option<String>,
    /// The ulo session the sign-in came from (the ID token's `sid`), when known.
    ulo_sid: Option<String>,
}

/// Sessions per user email.
#[derive(Default)]
struct Sessions {
    by_email: Mutex<HashMap<String, Vec<Session>>>,
    next_id: Mutex<u64>,
}

impl Sessions {
    fn open(&self, email: String, ulo_sub: Option<String>, ulo_sid: Option<String>) -> u64 {
        let id = {
            let mut next = self.next_id.lock().unwrap_or_else(|e| e.into_inner());
            *next += 1;
            *next
        };
        self.lock().entry(email).or_default().push(Session {
            id,
            ulo_sub,
            ulo_sid,
        });
        id
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Session>>> {
        self.by_email.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends every session of `email`; `false` if the user had none.
    fn end_user(&self, email: &str) -> bool {
        self.lock().remove(email).is_some()
    }

    /// Ends the sessions matching `sub` (all of that user's) or `sid` (that ulo session);
    /// returns how many ended.
    fn end_matching(&self, sub: Option<&str>, sid: Option<&str>) -> usize {
        let mut by_email = self.lock();
        let mut ended = 0;
        for sessions in by_email.values_mut() {
            let before = sessions.len();
            if let Some(sub) = sub
                && sessions.iter().any(|s| s.ulo_sub.as_deref() == Some(sub))
            {
                // A `sub` logs the user out everywhere in this app.
                sessions.clear();
            } else if let Some(sid) = sid {
                sessions.retain(|s| s.ulo_sid.as_deref() != Some(sid));
            }
            ended += before - sessions.len();
        }
        by_email.retain(|_, sessions| !sessions.is_empty());
        ended
    }
}

/// The logout hook: ends sessions in the shared store.
struct EndSessions(Arc<Sessions>);

#[async_trait::async_trait]
impl LogoutHook for EndSessions {
    async fn logout(&self, subject: &Subject) -> HookOutcome {
        match subject {
            Subject::Email { email } if self.0.end_user(email) => HookOutcome::Done,
            // This demo has no SCIM-linked ids, so `iss_sub` users are unknown.
            Subject::Email { .. } | Subject::IssSub { .. } => HookOutcome::UnknownUser,
        }
    }

    async fn backchannel_logout(&self, logout: &BackchannelLogout) -> HookOutcome {
        match self
            .0
            .end_matching(logout.sub.as_deref(), logout.sid.as_deref())
        {
            0 => HookOutcome::UnknownUser,
            _ => HookOutcome::Done,
        }
    }
}

#[derive(Deserialize)]
struct Login {
    email: String,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    sid: Option<String>,
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        eprintln!("{name} must be set (see the top of examples/logout_enabled_app.rs)");
        std::process::exit(2)
    })
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let issuer = env("ULO_ISSUER").trim_end_matches('/').to_owned();
    let client_id = env("APP_CLIENT_ID");
    let app_url = env("APP_URL").trim_end_matches('/').to_owned();

    let sessions = Arc::new(Sessions::default());
    let config = ReceiverConfig::new(
        issuer.clone(),
        format!("{app_url}/global-token-revocation"),
        client_id,
        format!("{issuer}/oauth2/v1/keys"),
    )
    .with_backchannel_path("/backchannel-logout");
    let receiver = ulo_receiver::router(config, EndSessions(sessions.clone()));

    let login_store = sessions.clone();
    let list_store = sessions;
    let app = Router::new()
        .route(
            "/login",
            post(move |Json(login): Json<Login>| {
                let store = login_store.clone();
                async move {
                    let id = store.open(login.email, login.sub, login.sid);
                    Json(json!({ "session": id }))
                }
            }),
        )
        .route(
            "/sessions",
            get(move || {
                let store = list_store.clone();
                async move {
                    let by_email = store.lock();
                    let listed: serde_json::Map<String, Value> = by_email
                        .iter()
                        .map(|(email, sessions)| {
                            let ids: Vec<u64> = sessions.iter().map(|s| s.id).collect();
                            (email.clone(), json!(ids))
                        })
                        .collect();
                    Json(Value::Object(listed))
                }
            }),
        )
        .merge(receiver);

    let authority = app_url
        .split_once("://")
        .map_or(app_url.as_str(), |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    let bind = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    println!("logout-enabled app on {app_url} (listening on {bind})");
    axum::serve(listener, app)
        .await
        .map_err(|e| format!("server error: {e}"))?;
    Ok(())
}
