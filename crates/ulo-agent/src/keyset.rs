//! Key rollover: the agent runs only commands signed by the ulo keys it pins, so when ulo's keys
//! are rotated it must learn the new ones without trusting the network. It reports the kids it
//! pins on each poll; when they differ from ulo's, the answer carries ulo's current JWKS in a JWT
//! (`typ: ulo-keyset+jwt`, `aud` = this device, `iat`, `exp`) signed by a key the agent already
//! pins. Only such a keyset, no older than the last one applied, replaces the pinned keys (new
//! keys added, retired ones dropped); anything else is ignored and logged.

use serde_json::{Value, json};
use ulo_jose::{KeyRing, VerifyOptions, verify_with_jwks};

use crate::state::{Enrolled, StateDir};

/// The `typ` of a keyset JWT.
pub const KEYSET_TYP: &str = "ulo-keyset+jwt";

/// A keyset that verified against the pinned keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyset {
    /// ulo's keys, to pin.
    pub jwks: Value,
    /// When ulo issued it (`iat`).
    pub issued_at: i64,
}

/// The kids of a JWKS.
pub fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k["kid"].as_str().map(str::to_string))
        .collect()
}

/// Verifies a keyset JWT against the keys `enrolled` pins, at `now_unix`.
pub fn verify(enrolled: &Enrolled, token: &str, now_unix: i64) -> Result<Keyset, String> {
    let (_, claims) = verify_with_jwks(
        token,
        &enrolled.jwks,
        &VerifyOptions {
            expected_typ: Some(KEYSET_TYP),
            issuer: Some(&enrolled.issuer),
            audience: Some(&enrolled.device_id),
            leeway_secs: 300,
            now_unix: Some(now_unix),
        },
    )
    .map_err(|e| format!("the keyset does not verify against the ulo keys this agent pins: {e}"))?;
    let (Some(issued_at), Some(_)) = (claims["iat"].as_i64(), claims["exp"].as_i64()) else {
        return Err("the keyset has no iat or exp".into());
    };
    if let Some(last) = enrolled.keyset_issued_at
        && issued_at < last
    {
        return Err(format!(
            "the keyset was issued at {issued_at}, before the one applied last ({last})"
        ));
    }
    let keys = claims["jwks"]["keys"]
        .as_array()
        .filter(|k| !k.is_empty())
        .cloned()
        .ok_or("the keyset holds no keys")?;
    // The same checks as a published key set: kids, no private members, no duplicates.
    KeyRing::new(Vec::new(), keys.clone()).map_err(|e| format!("the keyset is unusable: {e}"))?;
    Ok(Keyset {
        jwks: json!({"keys": keys}),
        issued_at,
    })
}

/// Applies a keyset ulo sent: pinned (saved first) only when it verifies against the pinned
/// keys; otherwise ignored and logged. Answers whether the pinned keys changed.
pub fn apply(state: &StateDir, pinned: &mut Enrolled, token: &str, now_unix: i64) -> bool {
    let keyset = match verify(pinned, token, now_unix) {
        Ok(k) => k,
        Err(why) => {
            state.log(&format!("key rollover ignored: {why}"));
            return false;
        }
    };
    let before = kids(&pinned.jwks);
    let after = kids(&keyset.jwks);
    let mut next = pinned.clone();
    next.jwks = keyset.jwks;
    next.keyset_issued_at = Some(keyset.issued_at);
    if let Err(e) = state.save_enrolled(&next) {
        state.log(&format!("key rollover not applied: {e}"));
        return false;
    }
    let added: Vec<&String> = after.iter().filter(|k| !before.contains(k)).collect();
    let dropped: Vec<&String> = before.iter().filter(|k| !after.contains(k)).collect();
    state.log(&format!(
        "pinned ulo keys updated: added {added:?}, dropped {dropped:?}"
    ));
    *pinned = next;
    true
}

#[cfg(test)]
mod tests {
    use ulo_jose::{KeyAlg, SigningKey, generate_key};

    use super::*;

    fn key() -> (KeyRing, Value) {
        let k = generate_key(KeyAlg::ES256).unwrap();
        let key =
            SigningKey::from_pkcs8_der(k.kid.clone(), KeyAlg::ES256, &k.private_pkcs8_der).unwrap();
        let jwk = k.public_jwk.clone();
        (KeyRing::new(vec![key], vec![k.public_jwk]).unwrap(), jwk)
    }

    fn enrolled(pinned: &Value) -> Enrolled {
        Enrolled {
            server: "http://ulo".into(),
            issuer: "http://ulo".into(),
            agent_api: "http://ulo/api/v1/agent".into(),
            device_id: "dev-1".into(),
            certificate: String::new(),
            ca_certificate: String::new(),
            jwks: json!({"keys": [pinned]}),
            keyset_issued_at: None,
        }
    }

    fn keyset(signer: &KeyRing, aud: &str, iat: i64, keys: &[&Value]) -> String {
        let claims = json!({"iss": "http://ulo", "aud": aud, "iat": iat, "exp": iat + 300,
                            "jwks": {"keys": keys}});
        signer.sign(KeyAlg::ES256, KEYSET_TYP, &claims).unwrap()
    }

    #[test]
    fn pins_a_keyset_signed_by_a_pinned_key_and_ignores_any_other() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(dir.path()).unwrap();
        let (old, old_jwk) = key();
        let (new, new_jwk) = key();
        let (foreign, _) = key();
        let mut pinned = enrolled(&old_jwk);
        state.save_enrolled(&pinned).unwrap();

        // Signed by a key this agent never pinned: ignored, logged, nothing saved.
        let forged = keyset(&foreign, "dev-1", 1000, &[&new_jwk]);
        assert!(!apply(&state, &mut pinned, &forged, 1000));
        assert_eq!(kids(&pinned.jwks), kids(&enrolled(&old_jwk).jwks));
        assert_eq!(state.enrolled().unwrap().unwrap(), pinned);
        let log = std::fs::read_to_string(dir.path().join("agent.log")).unwrap();
        assert!(log.contains("key rollover ignored"), "{log}");
        // For another device, or with the wrong typ: ignored.
        assert!(verify(&pinned, &keyset(&old, "dev-2", 1000, &[&new_jwk]), 1000).is_err());
        let claims = json!({"iss": "http://ulo", "aud": "dev-1", "iat": 1000, "exp": 1300,
                            "jwks": {"keys": [&new_jwk]}});
        let wrong_typ = old.sign(KeyAlg::ES256, "JWT", &claims).unwrap();
        assert!(verify(&pinned, &wrong_typ, 1000).is_err());
        // Expired: ignored.
        assert!(verify(&pinned, &keyset(&old, "dev-1", 1000, &[&new_jwk]), 2000).is_err());
        // Private key material: ignored.
        let mut leaky = new_jwk.clone();
        leaky["d"] = json!("AAAA");
        let err = verify(&pinned, &keyset(&old, "dev-1", 1000, &[&leaky]), 1000).unwrap_err();
        assert!(err.contains("unusable"), "{err}");

        // Signed by the pinned key: the new set is pinned (the old key dropped) and saved.
        let rollover = keyset(&old, "dev-1", 1000, &[&new_jwk, &old_jwk]);
        assert!(apply(&state, &mut pinned, &rollover, 1000));
        assert_eq!(kids(&pinned.jwks).len(), 2);
        let retire = keyset(&old, "dev-1", 1100, &[&new_jwk]);
        assert!(apply(&state, &mut pinned, &retire, 1100));
        assert_eq!(pinned.jwks, json!({"keys": [&new_jwk]}));
        assert_eq!(pinned.keyset_issued_at, Some(1100));
        assert_eq!(state.enrolled().unwrap().unwrap(), pinned);
        // The retired key can no longer vouch; an older keyset is not replayed.
        assert!(!apply(
            &state,
            &mut pinned,
            &keyset(&old, "dev-1", 1200, &[&old_jwk]),
            1200
        ));
        let stale = keyset(&new, "dev-1", 1050, &[&new_jwk, &old_jwk]);
        let err = verify(&pinned, &stale, 1200).unwrap_err();
        assert!(err.contains("before the one applied last"), "{err}");
        assert_eq!(pinned.jwks, json!({"keys": [&new_jwk]}));
    }
}
