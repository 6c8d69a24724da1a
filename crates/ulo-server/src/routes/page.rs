//! Server-rendered HTML for the browser pages (sign-in, account): one layout, escaping, and the
//! headers every such page carries. No JavaScript.

use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1b1f24}\
label{display:block;margin:.8rem 0 .2rem}input[type=text],input[type=password]{width:100%;padding:.5rem;box-sizing:border-box}\
button{margin-top:1rem;padding:.5rem 1.2rem}.error{color:#a40e26}.note{color:#57606a}code{word-break:break-all}";

/// A whole page: `body` is trusted HTML (build it with [`escape`]).
pub fn render(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} · ulo</title><style>{STYLE}</style></head>\
<body><main><h1>{title}</h1>\n{body}\n</main></body></html>\n",
        title = escape(title),
    );
    // No `form-action`: browsers apply it to every redirect after a form post too, and the
    // sign-in form's post ends, through the authorization endpoint, at an app's redirect URI
    // on another origin (Chromium blocked that navigation). With no scripts and every dynamic
    // text escaped, no page of ours carries a form it did not write.
    let mut resp = html_response(
        status,
        html,
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    );
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// An HTML answer that is never cached or framed and sends no referrer to other sites, under the
/// Content-Security-Policy `csp`.
pub fn html_response(status: StatusCode, html: String, csp: &'static str) -> Response {
    let mut resp = (status, html).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Pages carry one-time secrets (pending sign-ins, TOTP secrets): never cache or frame them.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // `same-origin`, not `no-referrer`: under `no-referrer` browsers send `Origin: null` on
    // our own form posts, which the CSRF check must refuse. Other sites still get no referrer.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    resp
}

/// A paragraph of (escaped) text with a CSS class.
pub fn para(class: &str, text: &str) -> String {
    format!("<p class=\"{}\">{}</p>", escape(class), escape(text))
}

/// A 303 to `location` (a path on this server).
pub fn see_other(location: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Whether `target` may be redirected to after sign-in: a path on this server only (no scheme,
/// no `//host`, no backslash that browsers read as a slash, nothing but visible ASCII, which is
/// what a percent-encoded URL holds and what a `Location` header can carry).
pub fn is_local_path(target: &str) -> bool {
    target.starts_with('/')
        && !target.starts_with("//")
        && !target.contains('\\')
        && target.bytes().all(|b| b.is_ascii_graphic())
        && target.len() <= 2048
}

/// The fields of an `application/x-www-form-urlencoded` body, first value of each name.
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The percent-encoded form of `s` for a query value.
pub fn query_value(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Where a browser request came from.
pub struct ClientInfo {
    /// Client IP.
    pub ip: Option<IpAddr>,
    /// Raw `User-Agent`.
    pub user_agent: Option<String>,
}

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientInfo {
            ip: crate::auth::client_ip(parts),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(
            escape("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn only_local_paths_are_return_targets() {
        for ok in [
            "/",
            "/oauth2/v1/authorize?client_id=a&x=%2F%2Fevil",
            "/login/done",
        ] {
            assert!(is_local_path(ok), "{ok}");
        }
        for bad in [
            "//evil.example.com",
            "https://evil.example.com/",
            "/\\evil.example.com",
            "\\\\evil.example.com",
            "evil.example.com",
            "",
            "/a\nLocation: x",
            "/\tx",
            "javascript:alert(1)",
            "/caf\u{e9}",
            "/a b",
        ] {
            assert!(!is_local_path(bad), "{bad}");
        }
    }
}
