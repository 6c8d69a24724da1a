//! Commands from ulo are JWTs (`typ: ulo-device-command+jwt`) the agent verifies against the
//! ulo keys it pinned at enrollment: `iss` = ulo, `aud` = this device, not expired, `jti` =
//! the command id. Anything else is not run.

use serde_json::Value;
use ulo_jose::{VerifyOptions, verify_with_jwks};

use crate::state::Enrolled;

/// The `typ` of a signed command.
pub const COMMAND_TYP: &str = "ulo-device-command+jwt";

/// A verified SIGN_OUT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignOut {
    /// The command id.
    pub id: String,
    /// The account to sign out on this machine.
    pub login: String,
    /// The person's ulo login.
    pub user_login: String,
}

/// Verifies a command handed out as `{id, type, token}` at `now_unix`.
pub fn verify(enrolled: &Enrolled, command: &Value, now_unix: i64) -> Result<SignOut, String> {
    let id = command["id"].as_str().ok_or("the command has no id")?;
    let token = command["token"]
        .as_str()
        .ok_or("the command has no token")?;
    let (_, claims) = verify_with_jwks(
        token,
        &enrolled.jwks,
        &VerifyOptions {
            expected_typ: Some(COMMAND_TYP),
            issuer: Some(&enrolled.issuer),
            audience: Some(&enrolled.device_id),
            leeway_secs: 300,
            now_unix: Some(now_unix),
        },
    )
    .map_err(|e| {
        format!(
            "the command's signature does not verify against the ulo keys pinned at enrollment: {e}"
        )
    })?;
    if claims["jti"].as_str() != Some(id) {
        return Err("the command's jti is not its id".into());
    }
    if claims["exp"].as_i64().is_none() {
        return Err("the command has no exp".into());
    }
    if claims["cmd"].as_str() != Some("SIGN_OUT") {
        return Err(format!("unknown command {}", claims["cmd"]));
    }
    let login = claims["login"]
        .as_str()
        .filter(|l| !l.is_empty())
        .ok_or("the command names no account")?;
    Ok(SignOut {
        id: id.to_string(),
        login: login.to_string(),
        user_login: claims["userLogin"].as_str().unwrap_or_default().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use ulo_jose::{KeyAlg, KeyRing, SigningKey, generate_key};

    use super::*;

    fn ring() -> (KeyRing, Value) {
        let k = generate_key(KeyAlg::ES256).unwrap();
        let key =
            SigningKey::from_pkcs8_der(k.kid.clone(), KeyAlg::ES256, &k.private_pkcs8_der).unwrap();
        let jwks = json!({"keys": [k.public_jwk.clone()]});
        (KeyRing::new(vec![key], vec![k.public_jwk]).unwrap(), jwks)
    }

    fn enrolled(jwks: Value) -> Enrolled {
        Enrolled {
            server: "http://ulo".into(),
            issuer: "http://ulo".into(),
            agent_api: "http://ulo/api/v1/agent".into(),
            device_id: "dev-1".into(),
            certificate: String::new(),
            ca_certificate: String::new(),
            jwks,
            keyset_issued_at: None,
        }
    }

    fn command(ring: &KeyRing, aud: &str, exp: i64) -> Value {
        let claims = json!({"iss": "http://ulo", "aud": aud, "sub": "u", "jti": "c-1", "iat": 1000,
                            "exp": exp, "cmd": "SIGN_OUT", "login": "ada", "userLogin": "ada@example.com"});
        let token = ring.sign(KeyAlg::ES256, COMMAND_TYP, &claims).unwrap();
        json!({"id": "c-1", "type": "SIGN_OUT", "token": token})
    }

    #[test]
    fn runs_only_commands_signed_by_the_pinned_keys_for_this_device() {
        let (ulo, pinned) = ring();
        let (other, _) = ring();
        let e = enrolled(pinned);
        let ok = verify(&e, &command(&ulo, "dev-1", 2000), 1500).unwrap();
        assert_eq!(ok.login, "ada");
        let forged = verify(&e, &command(&other, "dev-1", 2000), 1500).unwrap_err();
        assert!(forged.contains("pinned at enrollment"), "{forged}");
        assert!(
            verify(&e, &command(&ulo, "dev-2", 2000), 1500).is_err(),
            "another device's"
        );
        assert!(
            verify(&e, &command(&ulo, "dev-1", 2000), 3000).is_err(),
            "expired"
        );
    }
}
