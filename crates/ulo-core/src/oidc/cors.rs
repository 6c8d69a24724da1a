//! Which web origins may call the provider's client-facing endpoints from a browser (CORS):
//! the origins of the redirect URIs registered for active OIDC apps. A browser-based public
//! client (a single-page app doing code + PKCE) lives on the origin it redirects back to, so
//! registering the redirect URI is what lets it exchange its code — nothing else is opened.

use crate::app::AppStatus;
use crate::store::{Page, Store, StoreError};

/// Apps read per store round trip while looking for an origin.
const PAGE_SIZE: u32 = 200;

/// The web origin (`scheme://host[:port]`, RFC 6454 ASCII serialization) of an `http(s)` URL;
/// `None` for anything else (custom schemes of native apps have no web origin to allow).
pub fn origin_of(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let origin = url.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// Whether `origin` (an `Origin` request header) is the origin of a redirect URI registered for
/// an active OIDC app. Looked up on every call, so an app registered a moment ago is allowed at
/// once and a deactivated one no longer is. `null` and anything that is not exactly an origin
/// in its serialized form are never allowed.
pub async fn is_registered_origin(store: &dyn Store, origin: &str) -> Result<bool, StoreError> {
    if origin_of(origin).as_deref() != Some(origin) {
        return Ok(false);
    }
    let mut tx = store.read().await?;
    let mut page = Page {
        after: None,
        limit: PAGE_SIZE,
    };
    loop {
        let apps = tx.list_apps(None, &page).await?;
        let found = apps.iter().any(|app| {
            app.status == AppStatus::Active
                && app.oidc.as_ref().is_some_and(|oidc| {
                    oidc.redirect_uris
                        .iter()
                        .any(|u| origin_of(u).as_deref() == Some(origin))
                })
        });
        if found {
            return Ok(true);
        }
        match apps.last() {
            Some(last) if apps.len() == PAGE_SIZE as usize => {
                page.after = Some(last.id.to_string());
            }
            _ => return Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_of_redirect_uris() {
        assert_eq!(
            origin_of("https://app.example.com/callback?x=1").as_deref(),
            Some("https://app.example.com")
        );
        assert_eq!(
            origin_of("https://app.example.com:443/cb").as_deref(),
            Some("https://app.example.com"),
            "the default port is not part of the serialized origin"
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080/cb").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            origin_of("HTTPS://App.Example.COM/cb").as_deref(),
            Some("https://app.example.com")
        );
        assert_eq!(origin_of("com.example.app:/oauth"), None);
        assert_eq!(origin_of("null"), None);
        assert_eq!(origin_of("not a url"), None);
    }
}
