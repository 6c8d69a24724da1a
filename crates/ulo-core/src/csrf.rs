//! Cross-site request forgery defence for browser forms (ulo's pages and the vault's). A form
//! post is accepted only when (1) what the browser says about where it came from —
//! `Sec-Fetch-Site` and `Origin` — does not name another site, and (2) it carries the form's
//! token, bound to a secret the browser holds in an HttpOnly cookie. (1) is what modern browsers
//! give; (2) also covers browsers that send neither header, and clients that forge nothing
//! because they hold no victim's cookie.
//!
//! Pages must be served under a referrer policy that lets the browser send the real `Origin`
//! on same-origin posts (`same-origin`): under `no-referrer` browsers send `Origin: null`.

use sha2::{Digest, Sha256};

/// Why a form post was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The browser said the post came from another origin.
    #[error("the form was sent from another site")]
    CrossSite,
    /// The form's token is missing or is not the one of this browser and form.
    #[error("the form's token is missing, stale or from another browser")]
    BadToken,
}

/// What the browser said about where a request came from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Provenance<'a> {
    /// The `Sec-Fetch-Site` header.
    pub sec_fetch_site: Option<&'a str>,
    /// The `Origin` header.
    pub origin: Option<&'a str>,
}

impl Provenance<'_> {
    /// Accepts a post the browser says came from `own_origin` (`scheme://host[:port]`), or
    /// about which it says nothing. `same-site` is refused too: a sibling origin (another port,
    /// another subdomain) is another party. `Origin: null` (sandboxed or privacy-hidden origin)
    /// is refused: it cannot be shown to be ours.
    pub fn check(&self, own_origin: &str) -> Result<(), Refusal> {
        if let Some(site) = self.sec_fetch_site {
            // `none`: the person started the request themselves (not reachable from a page).
            if !(site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none")) {
                return Err(Refusal::CrossSite);
            }
        }
        match self.origin {
            Some(origin) if !origin.trim().eq_ignore_ascii_case(own_origin) => {
                Err(Refusal::CrossSite)
            }
            _ => Ok(()),
        }
    }
}

/// The token of form `form` for a browser holding cookie secret `binding`: a hash only the
/// holder of the secret (or the server) can compute, so another site cannot fill it in.
pub fn form_token(binding: &str, form: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"ulo-form-token\0");
    h.update(form.as_bytes());
    h.update(b"\0");
    h.update(binding.as_bytes());
    hex::encode(h.finalize())
}

/// Checks a posted token against the one of `form` for `binding`, in time independent of
/// where they differ.
pub fn check_token(binding: &str, form: &str, posted: Option<&str>) -> Result<(), Refusal> {
    let expected = form_token(binding, form);
    let Some(posted) = posted else {
        return Err(Refusal::BadToken);
    };
    // Both sides hashed again: equal lengths, and the time says nothing about the token.
    let a = Sha256::digest(expected.as_bytes());
    let b = Sha256::digest(posted.as_bytes());
    let diff = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    if diff == 0 && !binding.is_empty() {
        Ok(())
    } else {
        Err(Refusal::BadToken)
    }
}

/// Checks a form post: first where the browser says it came from, then the form's token.
pub fn check_post(
    provenance: &Provenance<'_>,
    own_origin: &str,
    binding: Option<&str>,
    form: &str,
    posted: Option<&str>,
) -> Result<(), Refusal> {
    provenance.check(own_origin)?;
    match binding {
        Some(b) => check_token(b, form, posted),
        None => Err(Refusal::BadToken),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: &str = "https://login.example.com";

    fn p<'a>(site: Option<&'a str>, origin: Option<&'a str>) -> Provenance<'a> {
        Provenance {
            sec_fetch_site: site,
            origin,
        }
    }

    #[test]
    fn same_origin_posts_pass_and_others_are_refused() {
        for ok in [
            p(Some("same-origin"), Some(OWN)),
            p(None, Some("HTTPS://LOGIN.EXAMPLE.COM")),
            p(Some("same-origin"), None),
            p(Some("none"), None),
            p(None, None),
        ] {
            assert_eq!(ok.check(OWN), Ok(()), "{ok:?}");
        }
        for bad in [
            p(Some("cross-site"), Some("https://evil.example")),
            p(Some("same-site"), Some("https://app.example.com")),
            p(Some("same-origin"), Some("null")),
            p(None, Some("null")),
            p(None, Some("https://login.example.com:8443")),
            p(Some("cross-site"), None),
            p(Some("same-origin"), Some("http://login.example.com")),
        ] {
            assert_eq!(bad.check(OWN), Err(Refusal::CrossSite), "{bad:?}");
        }
    }

    #[test]
    fn a_token_is_bound_to_its_browser_and_its_form() {
        let t = form_token("secret-a", "login");
        assert_eq!(check_token("secret-a", "login", Some(&t)), Ok(()));
        assert_eq!(
            check_token("secret-b", "login", Some(&t)),
            Err(Refusal::BadToken)
        );
        assert_eq!(
            check_token("secret-a", "account-totp", Some(&t)),
            Err(Refusal::BadToken)
        );
        assert_eq!(
            check_token("secret-a", "login", None),
            Err(Refusal::BadToken)
        );
        assert_eq!(
            check_token("secret-a", "login", Some("")),
            Err(Refusal::BadToken)
        );
        assert_eq!(
            check_token("", "login", Some(&form_token("", "login"))),
            Err(Refusal::BadToken)
        );
        assert_ne!(t, "secret-a");
    }

    #[test]
    fn a_post_needs_both_checks() {
        let t = form_token("s", "login");
        let same = p(Some("same-origin"), Some(OWN));
        assert_eq!(check_post(&same, OWN, Some("s"), "login", Some(&t)), Ok(()));
        assert_eq!(
            check_post(&same, OWN, None, "login", Some(&t)),
            Err(Refusal::BadToken)
        );
        let cross = p(Some("cross-site"), Some("https://evil.example"));
        assert_eq!(
            check_post(&cross, OWN, Some("s"), "login", Some(&t)),
            Err(Refusal::CrossSite),
            "a valid token does not excuse a cross-site post"
        );
    }
}
