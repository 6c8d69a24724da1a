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
