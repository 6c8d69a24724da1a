//! The few HTML pages the provider shows: errors it must not redirect, the logout
//! confirmation and the signed-out page. Every dynamic text is escaped.

use axum::http::StatusCode;
use axum::response::Response;

pub(super) use crate::routes::page::escape;
use crate::routes::page::html_response;

/// A page: `title` (text) and `body` (HTML the caller escaped).
pub(super) fn render(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} · ulo</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}}\
         h1{{font-size:1.4rem}}p{{line-height:1.5}}.muted{{color:#666;font-size:.9rem}}\
         button{{font-size:1rem;padding:.5rem 1.2rem}}</style></head>\
         <body><h1>{t}</h1>{body}</body></html>\n",
        t = escape(title),
    );
    html_response(
        status,
        html,
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    )
}

/// An error the person sees because sending them back to the app would not be safe.
pub(super) fn error(status: StatusCode, code: &str, description: &str) -> Response {
    render(
        status,
        "Sign-in could not continue",
        &format!(
            "<p>{}</p><p class=\"muted\">Error: <code>{}</code>. If this keeps happening, tell the team that runs the app.</p>",
            escape(description),
            escape(code)
        ),
    )
}
