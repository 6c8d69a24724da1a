//! Client families: what kind of client a `User-Agent` names, coarsely enough that a browser
//! update never looks like another client ("Chrome on macOS", "Firefox on Windows", "curl").
//!
//! Hand-written on purpose: session influence compares families only, so the version-level
//! precision (and the regex engine and rule file) of a full user-agent parser buys nothing here.

/// The family of the client behind `user_agent`: browser family and OS family for browsers,
/// the first product name for other clients (`curl`, `python-requests`, `ulo-agent`), and
/// `unknown client` without a user agent.
pub fn client_family(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.map(str::trim).filter(|u| !u.is_empty()) else {
        return "unknown client".into();
    };
    if !ua.starts_with("Mozilla/") {
        let product = ua
            .split([' ', '/', '('])
            .next()
            .unwrap_or(ua)
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(40)
            .collect::<String>();
        return if product.is_empty() {
            "unknown client".into()
        } else {
            product
        };
    }
    let browser = browser_family(ua);
    match os_family(ua) {
        Some(os) => format!("{browser} on {os}"),
        None => browser.to_string(),
    }
}

fn browser_family(ua: &str) -> &'static str {
    let has = |s: &str| ua.contains(s);
    if has("Edg/") || has("EdgA/") || has("EdgiOS/") || has("Edge/") {
        "Edge"
    } else if has("OPR/") || has("Opera") {
        "Opera"
    } else if has("SamsungBrowser/") {
        "Samsung Internet"
    } else if has("Firefox/") || has("FxiOS/") {
        "Firefox"
    } else if has("Chrome/") || has("CriOS/") || has("Chromium/") {
        "Chrome"
    } else if has("Safari/") {
        "Safari"
    } else if has("Trident/") || has("MSIE ") {
        "Internet Explorer"
    } else {
        "Other browser"
    }
}

fn os_family(ua: &str) -> Option<&'static str> {
    let has = |s: &str| ua.contains(s);
    Some(if has("iPhone") || has("iPad") || has("iPod") {
        "iOS"
    } else if has("Android") {
        "Android"
    } else if has("Windows") {
        "Windows"
    } else if has("CrOS") {
        "ChromeOS"
    } else if has("Macintosh") || has("Mac OS X") {
        "macOS"
    } else if has("Linux") || has("X11") {
        "Linux"
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::client_family;

    #[test]
    fn families() {
        for (ua, family) in [
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "Chrome on macOS",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
                "Firefox on Linux",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari on iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
                "Chrome on Linux",
            ),
            ("curl/8.5.0", "curl"),
            ("python-requests/2.32.3", "python-requests"),
            ("ulo-agent/0.1.0 (linux)", "ulo-agent"),
            ("", "unknown client"),
        ] {
            assert_eq!(client_family(Some(ua)), family, "{ua}");
        }
        assert_eq!(client_family(None), "unknown client");
        // A browser update keeps the family.
        assert_eq!(
            client_family(Some(
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0 Safari/537.36"
            )),
            "Chrome on macOS"
        );
    }
}
