//! Authenticating device agents: every call carries `Authorization: Bearer <JWT>` signed by the
//! device key ulo certified at enrollment (`typ: ulo-agent+jwt`, `kid` = device id, `aud` =
//! the agent API, `htm`/`htu` = this request's method and path, `jti`, `iat`, `exp` at most
//! 60 s later). The signature is checked here; the device's status and the `jti` (once only)
//! are checked by the domain.
//!
//! A device's key never changes (enrolling again makes a new device), so each process keeps the
//! keys it has read ([`DeviceKeys`]): a poll's only read is then the domain's, of the device's
//! status and open commands together. A revocation is seen there, on every node.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use time::Duration;
use ulo_core::device::{AgentCall, Device};
use ulo_core::ids::DeviceId;
use ulo_jose::{PublicKey, VerifyOptions, verify_with_key};

use crate::error::ApiError;
use crate::state::AppState;

/// The `typ` of an agent request JWT.
pub const AGENT_TYP: &str = "ulo-agent+jwt";
/// The `typ` of a signed device command.
pub const COMMAND_TYP: &str = "ulo-device-command+jwt";
/// The path under the issuer that agent requests are addressed to (their `aud`).
pub const AGENT_API: &str = "/api/v1/agent";
/// The longest an agent request JWT may live.
const MAX_LIFE: i64 = 60;
/// Clock difference tolerated between agent and server (agents also correct for the server's
/// `Date`).
const LEEWAY: u64 = 60;

/// An agent request whose signature verified.
pub struct Agent {
    /// The call, for the domain's replay and status checks.
    pub call: AgentCall,
}

/// The most device keys a process keeps; past it the cache starts over (each key is then read
/// once more).
const MAX_KEYS: usize = 200_000;

/// Device keys this process has read, by device id.
#[derive(Default)]
pub struct DeviceKeys(Mutex<HashMap<DeviceId, Arc<PublicKey>>>);

impl DeviceKeys {
    fn get(&self, id: DeviceId) -> Option<Arc<PublicKey>> {
        self.0.lock().ok()?.get(&id).cloned()
    }

    fn put(&self, id: DeviceId, key: Arc<PublicKey>) {
        if let Ok(mut keys) = self.0.lock() {
            if keys.len() >= MAX_KEYS {
                keys.clear();
            }
            keys.insert(id, key);
        }
    }
}

fn refuse(why: impl std::fmt::Display) -> ApiError {
    ApiError::unauthorized(format!("Agent request refused: {why}"))
}

/// The device key as a JWK, from its P-256 point.
fn device_jwk(device: &Device) -> Result<Value, ApiError> {
    let point = URL_SAFE_NO_PAD
        .decode(&device.public_key)
        .map_err(|_| ApiError::internal("stored device key is not base64url"))?;
    if point.len() != 65 || point[0] != 4 {
        return Err(ApiError::internal("stored device key is not a P-256 point"));
    }
    Ok(json!({
        "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig",
        "kid": device.id.to_string(),
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
    }))
}

impl FromRequestParts<AppState> for Agent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                refuse("send Authorization: Bearer <JWT signed by the device key> (ulo agent does)")
            })?;
        let header = ulo_jose::jsonwebtoken::decode_header(token)
            .map_err(|e| refuse(format!("malformed JWT: {e}")))?;
        let device_id: DeviceId = header
            .kid
            .as_deref()
            .and_then(|k| k.parse().ok())
            .ok_or_else(|| refuse("the JWT header's kid must be the device id"))?;
        let key = match state.device_keys.get(device_id) {
            Some(key) => key,
            None => {
                // Unknown (401) and revoked (403) devices are refused here, before any signature
                // work; a known key's device is checked by the domain on each call.
                let device = {
                    let mut tx = state.store.read().await.map_err(ApiError::from)?;
                    ulo_core::device::active_device(tx.as_mut(), device_id).await?
                };
                let key = Arc::new(
                    PublicKey::from_jwk(&device_jwk(&device)?).map_err(ApiError::internal)?,
                );
                state.device_keys.put(device_id, key.clone());
                key
            }
        };
        let now = state.clock.now();
        let audience = format!("{}{AGENT_API}", state.issuer());
        let device_id_text = device_id.to_string();
        let (_, claims) = verify_with_key(
            token,
            &key,
            &VerifyOptions {
                expected_typ: Some(AGENT_TYP),
                issuer: Some(&device_id_text),
                audience: Some(&audience),
                leeway_secs: LEEWAY,
                now_unix: Some(now.unix_timestamp()),
            },
        )
        .map_err(|e| refuse(format!("the signature or claims do not verify: {e}")))?;
        let num = |k: &str| claims.get(k).and_then(Value::as_i64);
        let (Some(iat), Some(exp)) = (num("iat"), num("exp")) else {
            return Err(refuse("iat and exp are required"));
        };
        if exp <= iat || exp - iat > MAX_LIFE {
            return Err(refuse(format!(
                "exp must be after iat and at most {MAX_LIFE} s later"
            )));
        }
        let jti = claims
            .get("jti")
            .and_then(Value::as_str)
            .filter(|j| (16..=128).contains(&j.len()))
            .ok_or_else(|| refuse("jti (16 to 128 characters) is required"))?;
        let htm = claims.get("htm").and_then(Value::as_str);
        let htu = claims.get("htu").and_then(Value::as_str);
        if htm != Some(parts.method.as_str()) || htu != Some(parts.uri.path()) {
            return Err(refuse(format!(
                "htm/htu must name this request ({} {})",
                parts.method,
                parts.uri.path()
            )));
        }
        let expires = time::OffsetDateTime::from_unix_timestamp(exp)
            .map_err(|_| refuse("exp out of range"))?
            + Duration::seconds(LEEWAY as i64);
        Ok(Agent {
            call: AgentCall {
                device: device_id,
                jti: jti.to_string(),
                expires,
            },
        })
    }
}
