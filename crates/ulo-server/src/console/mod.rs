//! The admin console at `/admin`: server-rendered pages (askama templates under
//! `templates/console/`), htmx for partial updates and server-sent events, a stylesheet, all
//! embedded in the binary; nothing is fetched from another host. Each page calls the same domain
//! operations as the admin API (no second implementation) with a console [`Context`], so the
//! System Log records the same events with `client.id` = `ulo-admin-console`.
//!
//! Every page module adds its routes in [`router`]; [`session`] signs admins in and out and
//! guards every change (a live console session, the browser's word on where the request came
//! from, and the csrf token bound to the console cookie).
//!
//! [`Context`]: ulo_core::context::Context

pub mod apps;
pub mod dashboard;
pub mod devices;
pub mod features;
pub mod groups;
pub mod logouts;
pub mod people;
pub mod person;
pub mod person_actions;
pub mod policy;
pub mod render;
pub mod security;
pub mod session;
pub mod system_log;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use render::{ConsoleError, ConsoleResult, Shell, page};
pub use session::Console;

use crate::state::AppState;

/// Where the console lives.
pub const BASE: &str = "/admin";

/// The console's routes (mounted at [`BASE`]), guarded by the console's CSRF check.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/assets/{name}", get(asset))
        .merge(session::router())
        .merge(dashboard::router())
        .merge(people::router())
        .merge(person::router())
        .merge(person_actions::router())
        .merge(groups::router())
        .merge(logouts::router())
        .merge(policy::router())
        .merge(security::router())
        .merge(system_log::router())
        .merge(apps::router())
        .merge(devices::router())
        .merge(features::router())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state, session::guard))
}

async fn not_found(console: Option<Console>) -> Response {
    let shell = match &console {
        Some(c) => c.shell("Not found", render::Section::None),
        None => Shell::bare("Not found"),
    };
    ConsoleError::new(
        StatusCode::NOT_FOUND,
        "There is no such page in the console. Use the navigation to find what you were looking for.",
    )
    .page(shell)
}

/// The embedded files: htmx (0BSD), its server-sent events extension, the stylesheet and the
/// console's own few lines of script.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/console/htmx.min.js"),
    ),
    (
        "htmx-sse.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/console/htmx-sse.js"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/console/console.js"),
    ),
    (
        "console.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/console/console.css"),
    ),
];

async fn asset(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let Some((_, mime, body)) = ASSETS.iter().find(|(n, _, _)| *n == name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let mut resp = (StatusCode::OK, *body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}
