//! The few HTML pages the provider shows: errors it must not redirect, the account chooser
//! and consent questions, the logout confirmation and the signed-out page. Every dynamic text
//! is escaped.

use axum::http::StatusCode;
use axum::response::Response;
use ulo_core::oidc::{Params, Question, QuestionKind};

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

/// What a scope lets the app do, in the person's words.
fn scope_text(scope: &str) -> &str {
    match scope {
        "openid" => "know who you are (your ulo account id)",
        "profile" => "see your name and profile",
        "email" => "see your email address",
        "offline_access" => "keep access while you are not using it",
        other => other,
    }
}

/// The account chooser (`prompt=select_account`) or the consent question (`prompt=consent`).
/// Going on posts the authorize request back (`path`) without the answered value.
pub(super) fn question(q: &Question, path: &str) -> Response {
    let hidden: String = q
        .proceed
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(k),
                escape(v)
            )
        })
        .collect();
    let app = escape(&q.app_label);
    let login = escape(&q.login);
    let (title, body) = match q.kind {
        QuestionKind::SelectAccount => {
            let back = format!("{path}?{}", Params::encode(&q.sign_in));
            let other = format!(
                "/login?{}",
                Params::encode(&[("return_to".to_string(), back)])
            );
            (
                "Choose an account",
                format!(
                    "<p>{app} asks which account to sign in with.</p>\
                     <form method=\"post\" action=\"{path}\">{hidden}\
                     <button type=\"submit\">Continue as {login}</button></form>\
                     <p><a href=\"{}\">Use another account</a></p>",
                    escape(&other)
                ),
            )
        }
        QuestionKind::Consent => {
            let asks: String = q
                .scopes
                .iter()
                .map(|s| format!("<li>{}</li>", escape(scope_text(s))))
                .collect();
            let decline = if q.decline.is_empty() {
                String::new()
            } else {
                format!("<p><a href=\"{}\">Deny</a></p>", escape(&q.decline))
            };
            (
                "Allow access?",
                format!(
                    "<p>{app} asks to:</p><ul>{asks}</ul>\
                     <p class=\"muted\">Signed in as {login}.</p>\
                     <form method=\"post\" action=\"{path}\">{hidden}\
                     <button type=\"submit\">Allow</button></form>{decline}"
                ),
            )
        }
    };
    render(StatusCode::OK, title, &body)
}
