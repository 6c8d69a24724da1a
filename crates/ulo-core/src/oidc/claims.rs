//! Claims about a person, by scope (OIDC Core §5.4), for ID tokens and userinfo.

use serde_json::{Map, Value, json};

use super::scope::{EMAIL, PROFILE, Scopes};
use crate::user::User;

/// Adds the `profile` and `email` claims `scopes` allow.
pub(crate) fn add_user_claims(user: &User, scopes: &Scopes, out: &mut Map<String, Value>) {
    let p = &user.profile;
    if scopes.has(PROFILE) {
        let full = format!("{} {}", p.first_name, p.last_name);
        let name = p
            .display_name
            .clone()
            .unwrap_or_else(|| full.trim().to_string());
        out.insert("name".into(), json!(name));
        out.insert("given_name".into(), json!(p.first_name));
        out.insert("family_name".into(), json!(p.last_name));
        out.insert("preferred_username".into(), json!(p.login));
        if let Some(n) = &p.nick_name {
            out.insert("nickname".into(), json!(n));
        }
        if let Some(l) = &p.locale {
            out.insert("locale".into(), json!(l));
        }
        if let Some(z) = &p.timezone {
            out.insert("zoneinfo".into(), json!(z));
        }
        out.insert(
            "updated_at".into(),
            json!(user.last_updated.unix_timestamp()),
        );
    }
    if scopes.has(EMAIL) {
        out.insert("email".into(), json!(p.email));
        // The directory is admin- or HR-provisioned: it vouches for the address.
        out.insert("email_verified".into(), json!(true));
    }
}
