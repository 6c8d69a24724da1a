//! Scopes ulo grants: the OpenID Connect ones.

/// `openid`: an ID token is issued.
pub const OPENID: &str = "openid";
/// `profile`: name claims.
pub const PROFILE: &str = "profile";
/// `email`: email claims.
pub const EMAIL: &str = "email";
/// `offline_access`: a refresh token is issued.
pub const OFFLINE_ACCESS: &str = "offline_access";

/// Every scope ulo knows, in the order they are written back.
pub const SUPPORTED: [&str; 4] = [OPENID, PROFILE, EMAIL, OFFLINE_ACCESS];

/// A validated set of scopes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes(Vec<&'static str>);

impl Scopes {
    /// Parses a space-separated scope string; unknown scopes are named in the error.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        for s in raw.split(' ').filter(|s| !s.is_empty()) {
            let Some(known) = SUPPORTED.iter().find(|k| **k == s) else {
                return Err(format!(
                    "unknown scope {s:?}; supported: {}",
                    SUPPORTED.join(" ")
                ));
            };
            if !out.contains(known) {
                out.push(*known);
            }
        }
        out.sort_by_key(|s| SUPPORTED.iter().position(|k| k == s));
        Ok(Scopes(out))
    }

    /// Whether `scope` is included.
    pub fn has(&self, scope: &str) -> bool {
        self.0.contains(&scope)
    }

    /// Whether every scope of `self` is in `other`.
    pub fn is_subset_of(&self, other: &Scopes) -> bool {
        self.0.iter().all(|s| other.has(s))
    }

    /// Whether no scope is included.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The space-separated form.
    pub fn to_wire(&self) -> String {
        self.0.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_order() {
        let s = Scopes::parse("email  openid email").expect("valid");
        assert_eq!(s.to_wire(), "openid email");
        assert!(s.has(OPENID));
        assert!(Scopes::parse("openid admin").is_err());
        let narrow = Scopes::parse("openid").expect("valid");
        assert!(narrow.is_subset_of(&s));
        assert!(!s.is_subset_of(&narrow));
    }
}
