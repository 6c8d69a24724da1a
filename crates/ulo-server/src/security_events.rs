//! The HTTP side of ulo as a Shared Signals receiver: fetching providers' keys and SSF
//! configurations ([`ulo_jose::RemoteJwks`]), and verifying a pushed SET's header and signature
//! before ulo-core checks its claims ([`ulo_core::security_events::Intake`]).

use std::time::Duration;

use async_trait::async_trait;
use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use ulo_core::security_events::{Discovery, Provider, SetErrorCode, SsfConfiguration};
use ulo_jose::{JoseError, RemoteJwks, VerifyOptions, typ};

use crate::error::ApiError;
use crate::state::AppState;

/// How providers' keys are fetched and SETs judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecurityEventsSettings {
    /// A provider's keys are fetched again (for an unknown `kid`) at most once per this.
    pub jwks_min_refetch: Duration,
    /// How long fetching keys or a configuration may take.
    pub fetch_timeout: Duration,
    /// How old and how early a SET's `iat` may be.
    pub intake: ulo_core::security_events::IntakeSettings,
    /// Refused SETs per address and minute before 429.
    pub refusal_limit: u32,
}

impl Default for SecurityEventsSettings {
    fn default() -> Self {
        SecurityEventsSettings {
            jwks_min_refetch: Duration::from_secs(60),
            fetch_timeout: Duration::from_secs(5),
            intake: Default::default(),
            refusal_limit: 10,
        }
    }
}

/// The algorithms a SET may be signed with.
const ALGORITHMS: [&str; 4] = ["RS256", "ES256", "PS256", "EdDSA"];

/// Providers' keys ([`RemoteJwks`], which it dereferences to); also reads SSF configurations
/// with the same HTTP client.
pub struct ProviderKeys(pub RemoteJwks);

impl std::ops::Deref for ProviderKeys {
    type Target = RemoteJwks;

    fn deref(&self) -> &RemoteJwks {
        &self.0
    }
}

#[async_trait]
impl Discovery for ProviderKeys {
    async fn ssf_configuration(&self, url: &str) -> Result<SsfConfiguration, String> {
        let conf = self.0.fetch_json(url).await.map_err(|e| e.to_string())?;
        let member = |k: &str| {
            conf.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .ok_or_else(|| format!("the configuration has no {k}"))
        };
        Ok(SsfConfiguration {
            issuer: member("issuer")?,
            jwks_uri: member("jwks_uri")?,
        })
    }
}

/// A refused SET: its RFC 8935 code, and whether it counts against the sender's address.
#[derive(Debug, Clone)]
pub struct SetRefusal {
    /// `err`.
    pub code: SetErrorCode,
    /// `description`.
    pub description: String,
    /// Whether it counts towards the address's refusal limit (not when ulo could not fetch keys).
    pub counts: bool,
}

fn refuse(code: SetErrorCode, description: impl Into<String>) -> SetRefusal {
    SetRefusal {
        code,
        description: description.into(),
        counts: true,
    }
}

fn segment(token: &str, n: usize) -> Option<Value> {
    let raw = URL_SAFE_NO_PAD.decode(token.split('.').nth(n)?).ok()?;
    serde_json::from_slice::<Value>(&raw)
        .ok()
        .filter(Value::is_object)
}

fn jose_refusal(e: JoseError) -> SetRefusal {
    let code = match &e {
        JoseError::BadSignature => SetErrorCode::AuthenticationFailed,
        JoseError::UnsupportedAlg(_)
        | JoseError::UnknownKid(_)
        | JoseError::MissingKid(_)
        | JoseError::InvalidKey(_) => SetErrorCode::InvalidKey,
        JoseError::Fetch(_) => {
            return SetRefusal {
                code: SetErrorCode::InvalidKey,
                description: format!("the provider's keys are not available: {e}"),
                counts: false,
            };
        }
        _ => SetErrorCode::InvalidRequest,
    };
    refuse(code, e.to_string())
}

/// Checks the request and the SET's header, finds its provider by the unverified `iss`, and
/// verifies the signature with the provider's keys. `Err(Ok(_))` refuses the SET; `Err(Err(_))`
/// is a failure on ulo's side.
pub async fn verify_set(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Provider, Value), Result<SetRefusal, ApiError>> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if media.as_deref() != Some("application/secevent+jwt") {
        return Err(Ok(refuse(
            SetErrorCode::InvalidRequest,
            "Content-Type must be application/secevent+jwt",
        )));
    }
    let token = std::str::from_utf8(body).map(str::trim).unwrap_or("");
    let (Some(head), Some(claims)) = (segment(token, 0), segment(token, 1)) else {
        return Err(Ok(refuse(
            SetErrorCode::InvalidRequest,
            "the body must be a SET: a compact JWS with a JSON header and claims",
        )));
    };
    let t = head.get("typ").and_then(Value::as_str).unwrap_or("");
    let t = t.strip_prefix("application/").unwrap_or(t);
    if !t.eq_ignore_ascii_case(typ::SECEVENT) {
        return Err(Ok(refuse(
            SetErrorCode::InvalidRequest,
            "the header's typ must be secevent+jwt",
        )));
    }
    let alg = head.get("alg").and_then(Value::as_str).unwrap_or("");
    if !ALGORITHMS.contains(&alg) {
        return Err(Ok(refuse(
            SetErrorCode::InvalidKey,
            format!("alg {alg:?} is not accepted (use RS256, ES256, PS256 or EdDSA)"),
        )));
    }
    let Some(iss) = claims.get("iss").and_then(Value::as_str) else {
        return Err(Ok(refuse(
            SetErrorCode::InvalidIssuer,
            "the SET has no iss",
        )));
    };
    let provider = match state.intake().provider(iss).await {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return Err(Ok(refuse(e.code, e.description))),
        Err(e) => return Err(Err(e.into())),
    };
    let now = state.clock.now();
    let opts = VerifyOptions {
        expected_typ: Some(typ::SECEVENT),
        issuer: None,
        audience: None,
        leeway_secs: 60,
        now_unix: Some(now.unix_timestamp()),
    };
    let (_, claims) = state
        .remote_jwks
        .verify(&provider.id, &provider.jwks_url, token, &opts)
        .await
        .map_err(|e| Ok::<_, ApiError>(jose_refusal(e)))?;
    Ok((provider, claims))
}
