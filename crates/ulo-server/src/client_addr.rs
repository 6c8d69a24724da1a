//! Who is calling: the client address every part of the server uses (throttles, sign-in, the
//! System Log's `client.ipAddress`, session influence), resolved once per request.
//!
//! The TCP peer is the client unless it lies in `ULO_TRUSTED_PROXIES`; only then is
//! `X-Forwarded-For` believed, and the client is the right-most address of the chain that is
//! not itself a trusted proxy ([`ulo_core::network::client_address`]). A request that carries
//! the session cookie is then compared with the context its session began in.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// The resolved client address, in the request's extensions (read it with
/// [`crate::auth::client_ip`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The header proxies append the client's address to.
const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// Middleware: resolves the client address into [`ClientAddr`], then notes a session cookie's
/// use for session influence.
pub async fn resolve(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(peer) = peer {
        let forwarded: Vec<&str> = req
            .headers()
            .get_all(X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let ip = ulo_core::network::client_address(peer, &forwarded, &state.config.trusted_proxies);
        req.extensions_mut().insert(ClientAddr(ip));
        if crate::session_cookie::secret(req.headers()).is_some() {
            let ua = req
                .headers()
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok());
            // Never in the way of the request: a failure to compare is logged, not answered.
            if let Err(e) = crate::session_cookie::observe_use(&state, req.headers(), ip, ua).await
            {
                tracing::warn!(error = %e, "could not compare a session's use with its beginning");
            }
        }
    }
    next.run(req).await
}
