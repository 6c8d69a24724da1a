//! ulo-receiver: what a Rust web app embeds to become *logout-enabled*.
//!
//! It accepts ulo's Universal Logout request (the IETF Global Token Revocation draft as
//! Okta uses it): a `POST` with `Content-Type: application/json`, a body
//! `{"sub_id": {...}}` (the older key `subject` is accepted too) holding an RFC 9493
//! subject identifier of format `email` or `iss_sub`, and an
//! `Authorization: Bearer <JWT>` header whose JWT has `typ: global-token-revocation+jwt`,
//! an asymmetric `alg`, a `kid` from ulo's JWKS, and the claims `iss` (ulo's issuer),
//! `sub` (this app's client id), `aud` (this exact endpoint URL), `jti`, `iat`, `exp`
//! (at most 5 minutes after `iat`) and optionally `nbf`.
//!
//! Answers:
//!
//! | status | when |
//! |---|---|
//! | 204 | the hook logged the user out (or began to) |
//! | 400 | malformed body, wrong content type, unsupported subject format |
//! | 401 | missing or invalid token (signature, alg, typ, iss, aud, time claims, unknown kid, lifetime over 5 minutes) **and replayed `jti`** |
//! | 403 | valid token whose `sub` is not this app's client id |
//! | 404 | the hook does not know the user |
//! | 422 | the hook could not log the user out |
//! | 503 | ulo's JWKS could not be fetched, or the replay store is full or unavailable |
//!
//! A replayed `jti` is answered 401 `invalid_token`: a replayed token is no longer a
//! valid credential. `jti`s are remembered until the token's `exp` plus the leeway, by
//! default in memory; an app that restarts or runs several processes should share a
//! [`ReplayStore`] ([`Receiver::with_replay_store`]). Errors are JSON `{"error": ..., "error_description": ...}`; 401
//! answers also carry `WWW-Authenticate: Bearer error="invalid_token"`.
//!
//! # OIDC Back-Channel Logout
//!
//! When [`ReceiverConfig::backchannel_path`] is set, [`router`] also serves OpenID Connect
//! Back-Channel Logout 1.0 at that path: a `POST` with
//! `Content-Type: application/x-www-form-urlencoded` and a body `logout_token=<JWT>`. The
//! logout token must have `typ: logout+jwt`, an asymmetric `alg` and a `kid` from ulo's
//! JWKS (the same cache as above), and the claims `iss` (ulo's issuer), `aud` (this app's
//! client id, alone or in an array), integer `iat` and `exp`, a `jti` not seen before,
//! `events` holding the member `http://schemas.openid.net/event/backchannel-logout` whose
//! value is a JSON object, `sub` and/or `sid`, and no `nonce`. The hook's
//! [`LogoutHook::backchannel_logout`] is then called with the `sub`/`sid`.
//!
//! | status | when |
//! |---|---|
//! | 200 | the hook ended the sessions, or knows none to end (`Cache-Control: no-store`) |
//! | 400 | `invalid_request`: any invalid request or logout token (including a replayed `jti`), or the hook failed |
//! | 503 | ulo's JWKS could not be fetched, or the replay store is full or unavailable |
//!
//! # Example
//!
//! ```no_run
//! use ulo_receiver::{HookOutcome, LogoutHook, ReceiverConfig, Subject, router};
//!
//! struct MyApp;
//!
//! #[async_trait::async_trait]
//! impl LogoutHook for MyApp {
//!     async fn logout(&self, subject: &Subject) -> HookOutcome {
//!         match subject {
//!             Subject::Email { email } => { /* end sessions, revoke tokens */ HookOutcome::Done }
//!             Subject::IssSub { .. } => HookOutcome::UnknownUser,
//!         }
//!     }
//! }
//!
//! # async fn run() {
//! let config = ReceiverConfig::new(
//!     "https://ulo.example.com",                      // ulo issuer
//!     "https://app.example.com/global-logout",        // this endpoint's exact URL (aud)
//!     "0oa-my-client-id",                             // this app's client id (sub)
//!     "https://ulo.example.com/oauth2/v1/keys",       // ulo's JWKS
//! );
//! let app = axum::Router::new().merge(router(config, MyApp)); // serves POST /global-logout
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```

#![warn(missing_docs)]

mod claims;
mod config;
mod error;
mod hook;
mod receiver;
mod replay;
mod routes;

pub use claims::{BACKCHANNEL_LOGOUT_EVENT, parse_subject};
pub use config::{Clock, ReceiverConfig};
pub use error::ReceiverError;
pub use hook::{BackchannelLogout, HookOutcome, LogoutHook, LogoutRequest, Subject};
pub use receiver::Receiver;
pub use replay::{MemoryReplayStore, ReplayStore, ReplayStoreError};
pub use routes::{backchannel_handler, handler, receiver_router, router};

/// Largest request body accepted, in bytes (a subject identifier is tiny).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Longest allowed token lifetime (`exp - iat`), in seconds, per the protocol.
pub const MAX_TOKEN_LIFETIME_SECS: i64 = 300;
