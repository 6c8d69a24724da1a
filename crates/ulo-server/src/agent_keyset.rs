//! Key rollover for device agents. An agent pins ulo's signing keys at enrollment and runs only
//! commands they signed, so after `ulo keys rotate` it would refuse every command. It reports
//! the kids it pins on each poll; when they differ from what ulo publishes, the answer carries
//! ulo's current JWKS in a JWT (`typ: ulo-keyset+jwt`, `aud` = the device, valid 5 minutes)
//! signed by a key the agent already pins, which it verifies before pinning the new set. Trust
//! moves from key to key; the network is never trusted.

use serde::Serialize;
use serde_json::Value;
use ulo_core::ids::DeviceId;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The `typ` of a keyset JWT.
pub const KEYSET_TYP: &str = "ulo-keyset+jwt";
/// How long a keyset JWT is valid.
const LIFE: i64 = 300;
/// The most kids an agent may report.
pub const MAX_PINNED: usize = 100;

#[derive(Serialize)]
struct KeysetClaims<'a> {
    iss: &'a str,
    aud: String,
    iat: i64,
    exp: i64,
    jwks: &'a Value,
}

/// Checks the kids an agent reports pinning.
pub fn validate_pinned(pinned: &[String]) -> ApiResult<()> {
    if pinned.len() > MAX_PINNED || pinned.iter().any(|k| k.is_empty() || k.len() > 200) {
        return Err(ApiError::bad_request(
            "Invalid poll",
            vec![format!(
                "pinnedKids: at most {MAX_PINNED} key ids of 1 to 200 characters"
            )],
        ));
    }
    Ok(())
}

/// The keyset JWT for a device that pins `pinned`: `None` when it pins exactly ulo's published
/// keys, or when none of the keys it pins can vouch any more (all retired: it must enroll
/// again, which is logged).
pub fn keyset_for(
    state: &AppState,
    device: DeviceId,
    pinned: &[String],
) -> ApiResult<Option<String>> {
    let ring = state.keys();
    let jwks = ring.jwks_ref();
    let published: Vec<&str> = jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    let same =
        published.len() == pinned.len() && published.iter().all(|k| pinned.iter().any(|p| p == k));
    if same {
        return Ok(None);
    }
    let Some(signer) = ring
        .signing_kids()
        .find(|k| pinned.iter().any(|p| p == k))
        .map(str::to_string)
    else {
        tracing::warn!(
            device = %device,
            "device agent pins none of ulo's signing keys still held (all retired): it cannot trust new keys and must enroll again"
        );
        return Ok(None);
    };
    let iat = state.clock.now().unix_timestamp();
    let claims = KeysetClaims {
        iss: state.issuer(),
        aud: device.to_string(),
        iat,
        exp: iat + LIFE,
        jwks,
    };
    ring.sign_as(&signer, KEYSET_TYP, &claims)
        .map(Some)
        .map_err(ApiError::internal)
}
