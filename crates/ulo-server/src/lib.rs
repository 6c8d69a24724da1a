//! ulo's HTTP server: admin API, discovery, System Log, and the wiring that runs it.

pub mod agent_auth;
pub mod agent_keyset;
pub mod app;
pub mod auth;
pub mod bootstrap;
pub mod client_addr;
pub mod clock;
pub mod console;
pub mod cors;
pub mod credentials;
pub mod csrf;
pub mod device_ca;
pub mod error;
pub mod extract;
pub mod keys;
pub mod openapi;
pub mod password;
pub mod routes;
pub mod sealer;
pub mod security_events;
pub mod session_cookie;
pub mod state;
pub mod threat_list;

use std::any::Any;
use std::net::SocketAddr;

use axum::Router;
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub use state::{AppState, ServerConfig};

/// The whole router: the documented routes (`routes::documented`), SCIM, and JSON answers for
/// unknown paths and methods.
pub fn router(state: AppState) -> Router {
    let routes::Documented { cors, plain } = routes::documented();
    let (cors, _) = cors.split_for_parts();
    let (plain, _) = plain.split_for_parts();
    Router::new()
        .nest(console::BASE, console::router(state.clone()))
        .merge(plain)
        .merge(
            cors
                // Set before the layer so the layer wraps it: a preflight (OPTIONS, which no
                // route serves) reaches the CORS layer instead of the router-wide 405.
                .method_not_allowed_fallback(routes::meta::method_not_allowed)
                .layer(cors::layer(state.clone())),
        )
        .fallback(routes::meta::not_found)
        .method_not_allowed_fallback(routes::meta::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            client_addr::resolve,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(1024 * 1024))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    error::ApiError::internal("handler panicked").into_response()
}

/// How many connections may wait to be accepted. Thousands of device agents reconnect at
/// once (after a restart, or when their long-polls end together); with the default 1,024 the
/// kernel drops the rest of the burst and those agents time out. The kernel caps it at
/// `net.core.somaxconn`.
const LISTEN_BACKLOG: u32 = 8192;

/// Listens on `addr` (`host:port`) with a backlog for agent bursts.
pub async fn bind(addr: &str) -> std::io::Result<tokio::net::TcpListener> {
    let mut last = None;
    for a in tokio::net::lookup_host(addr).await? {
        let socket = if a.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        #[cfg(unix)]
        socket.set_reuseaddr(true)?;
        match socket.bind(a).and_then(|()| socket.listen(LISTEN_BACKLOG)) {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{addr} resolves to no address"),
        )
    }))
}

/// Serves `router` on `listener` until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
