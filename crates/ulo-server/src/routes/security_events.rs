//! Security events providers (ulo as a Shared Signals receiver, Okta's paths): the registry
//! under `/api/v1/security-events-providers`, and the intake
//! `POST /security/api/v1/security-events` where providers push SETs (RFC 8935).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use ulo_core::clock::rfc3339;
use ulo_core::security_events::{NewProvider, PROVIDER_TYPE, Provider, ProviderStatus};
use ulo_core::throttle::Verdict;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Admin;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath};
use crate::openapi::responses;
use crate::security_events::{SetRefusal, verify_set};
use crate::state::AppState;

/// The intake's path.
pub const INTAKE_PATH: &str = "/security/api/v1/security-events";

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update, remove))
        .routes(routes!(activate))
        .routes(routes!(deactivate))
        .routes(routes!(receive))
}

/// A provider's settings as answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderSettingsView {
    /// The `iss` of its SETs (read from the SSF configuration when registered by `wellKnownUrl`).
    issuer: String,
    /// Where its public keys are (the SSF configuration's `jwks_uri` when registered by
    /// `wellKnownUrl`).
    #[schema(format = "uri")]
    jwks_url: String,
    /// Its SSF configuration, when registered by it.
    #[serde(rename = "wellKnownUrl", skip_serializing_if = "Option::is_none")]
    #[schema(format = "uri")]
    well_known_url: Option<String>,
}

/// A security events provider.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderView {
    #[schema(format = "uuid")]
    id: String,
    name: String,
    /// Always `security_events_provider`.
    #[serde(rename = "type")]
    provider_type: String,
    /// `ACTIVE` (its SETs are accepted) or `INACTIVE`.
    status: String,
    settings: ProviderSettingsView,
    /// RFC 3339 UTC timestamp with milliseconds.
    #[schema(format = "date-time")]
    created: String,
    /// RFC 3339 UTC timestamp with milliseconds.
    #[schema(format = "date-time")]
    last_updated: String,
}

impl From<Provider> for ProviderView {
    fn from(p: Provider) -> Self {
        ProviderView {
            id: p.id,
            name: p.name,
            provider_type: PROVIDER_TYPE.into(),
            status: p.status.as_str().into(),
            settings: ProviderSettingsView {
                issuer: p.issuer,
                jwks_url: p.jwks_url,
                well_known_url: p.well_known_url,
            },
            created: rfc3339(p.created),
            last_updated: rfc3339(p.last_updated),
        }
    }
}

/// What registers or replaces a provider: `settings` holds `issuer` and `jwks_url`, or
/// `wellKnownUrl` alone.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderRequest {
    /// 1 to 255 characters.
    name: String,
    /// `security_events_provider` (may be left out).
    #[serde(rename = "type")]
    provider_type: Option<String>,
    settings: ProviderRequestSettings,
}

/// `{"issuer", "jwks_url"}` or `{"wellKnownUrl"}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderRequestSettings {
    /// The `iss` of the provider's SETs (unique among providers).
    issuer: Option<String>,
    /// Its JWKS URL: https (plain http only to loopback when the operator allows it).
    #[schema(format = "uri")]
    jwks_url: Option<String>,
    /// Its SSF configuration URL; ulo reads `issuer` and `jwks_uri` from it.
    #[serde(rename = "wellKnownUrl")]
    #[schema(format = "uri")]
    well_known_url: Option<String>,
}

/// An RFC 8935 §2.3 error.
#[derive(Debug, Serialize, ToSchema)]
pub struct SetErrorBody {
    /// `invalid_request`, `invalid_key`, `invalid_issuer`, `invalid_audience`,
    /// `authentication_failed` (or `too_many_requests` with 429).
    err: String,
    /// What was wrong.
    description: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/security-events-providers",
    operation_id = "createSecurityEventsProvider",
    tag = "Security events providers",
    summary = "Register a security events provider",
    description = "SUPER_ADMIN with an unrestricted token. `settings` is `{\"issuer\", \"jwks_url\"}` or `{\"wellKnownUrl\"}` (ulo then reads the provider's SSF configuration for its issuer and jwks_uri, now). URLs must be https (plain http only to loopback addresses when the operator sets ULO_OUTBOUND_ALLOW_HTTP_LOOPBACK=1). 400 names the field: a missing or bad URL, both forms at once, an SSF configuration that cannot be read, or an issuer another provider has. The provider starts ACTIVE. Logged as security.events.provider.create.",
    request_body(content = ProviderRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Registered.", body = ProviderView, content_type = "application/json"),
        responses::JsonBodyErrors,
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<NewProvider>,
) -> ApiResult<(StatusCode, Json<ProviderView>)> {
    let p = state.providers().create(&admin.ctx, body).await?;
    Ok((StatusCode::CREATED, Json(p.into())))
}

#[utoipa::path(
    get,
    path = "/api/v1/security-events-providers",
    operation_id = "listSecurityEventsProviders",
    tag = "Security events providers",
    summary = "List security events providers",
    description = "Every registered provider, oldest first (not paged). Any admin role.",
    responses(
        (status = 200, description = "The providers.", body = Vec<ProviderView>, content_type = "application/json"),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn list(State(state): State<AppState>, admin: Admin) -> ApiResult<Json<Vec<ProviderView>>> {
    let ps = state.providers().list(&admin.ctx).await?;
    Ok(Json(ps.into_iter().map(Into::into).collect()))
}

#[utoipa::path(
    get,
    path = "/api/v1/security-events-providers/{id}",
    operation_id = "getSecurityEventsProvider",
    tag = "Security events providers",
    summary = "Read a security events provider",
    description = "Any admin role.",
    params(("id" = String, Path, description = "The provider's id; an unknown id answers 404.", format = "uuid")),
    responses(
        (status = 200, description = "The provider.", body = ProviderView, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn get(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ProviderView>> {
    Ok(Json(state.providers().get(&admin.ctx, &id).await?.into()))
}

#[utoipa::path(
    put,
    path = "/api/v1/security-events-providers/{id}",
    operation_id = "replaceSecurityEventsProvider",
    tag = "Security events providers",
    summary = "Replace a security events provider",
    description = "SUPER_ADMIN with an unrestricted token. Replaces the name and settings (validated as on create); the status stays. Logged as security.events.provider.update.",
    params(("id" = String, Path, description = "The provider's id; an unknown id answers 404.", format = "uuid")),
    request_body(content = ProviderRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Replaced.", body = ProviderView, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::JsonBodyErrors,
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn update(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NewProvider>,
) -> ApiResult<Json<ProviderView>> {
    let p = state.providers().update(&admin.ctx, &id, body).await?;
    state.remote_jwks.forget(&p.id);
    Ok(Json(p.into()))
}

#[utoipa::path(
    delete,
    path = "/api/v1/security-events-providers/{id}",
    operation_id = "deleteSecurityEventsProvider",
    tag = "Security events providers",
    summary = "Remove a security events provider",
    description = "SUPER_ADMIN with an unrestricted token; its SETs are refused (invalid_issuer) from then on. Logged as security.events.provider.delete.",
    params(("id" = String, Path, description = "The provider's id; an unknown id answers 404.", format = "uuid")),
    responses(
        (status = 204, description = "Removed; no body."),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn remove(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.providers().delete(&admin.ctx, &id).await?;
    state.remote_jwks.forget(&id);
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/security-events-providers/{id}/lifecycle/activate",
    operation_id = "activateSecurityEventsProvider",
    tag = "Security events providers",
    summary = "Activate a security events provider",
    description = "SUPER_ADMIN with an unrestricted token; its SETs are accepted again. Logged as security.events.provider.activate (nothing happens for an active one).",
    params(("id" = String, Path, description = "The provider's id; an unknown id answers 404.", format = "uuid")),
    responses(
        (status = 200, description = "The provider, ACTIVE.", body = ProviderView, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn activate(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ProviderView>> {
    let p = state
        .providers()
        .set_status(&admin.ctx, &id, ProviderStatus::Active)
        .await?;
    Ok(Json(p.into()))
}

#[utoipa::path(
    post,
    path = "/api/v1/security-events-providers/{id}/lifecycle/deactivate",
    operation_id = "deactivateSecurityEventsProvider",
    tag = "Security events providers",
    summary = "Deactivate a security events provider",
    description = "SUPER_ADMIN with an unrestricted token; its SETs are refused (invalid_issuer) until it is activated. Logged as security.events.provider.deactivate.",
    params(("id" = String, Path, description = "The provider's id; an unknown id answers 404.", format = "uuid")),
    responses(
        (status = 200, description = "The provider, INACTIVE.", body = ProviderView, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn deactivate(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ProviderView>> {
    let p = state
        .providers()
        .set_status(&admin.ctx, &id, ProviderStatus::Inactive)
        .await?;
    Ok(Json(p.into()))
}

fn set_error(status: StatusCode, err: &str, description: &str) -> Response {
    (
        status,
        Json(SetErrorBody {
            err: err.into(),
            description: description.into(),
        }),
    )
        .into_response()
}

/// Counts a refused SET against its sender's address and records it (the first of a window on
/// its own, the rest as one counted event); past the limit the answer becomes 429.
async fn refused(state: &AppState, client: &ulo_core::log::Client, r: SetRefusal) -> Response {
    let answer = set_error(StatusCode::BAD_REQUEST, r.code.as_str(), &r.description);
    if !r.counts {
        return answer;
    }
    let ip = client
        .ip_address
        .as_deref()
        .and_then(|a| a.parse::<std::net::IpAddr>().ok());
    let now = state.clock.now();
    let reason = format!("{}: {}", r.code.as_str(), r.description);
    let (verdict, closed) = state.set_refusals.refuse(ip, &reason, now);
    if let Err(e) = ulo_core::throttle::record_refusal(
        state.store.as_ref(),
        state.clock.as_ref(),
        INTAKE_PATH,
        client,
        &reason,
        verdict,
        closed.as_ref(),
    )
    .await
    {
        tracing::warn!(error = %e, "could not record a refused SET");
    }
    match verdict {
        Verdict::Throttled(wait) => {
            let secs = ulo_core::throttle::retry_after_secs(wait);
            let mut resp = set_error(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                &format!(
                    "too many refused SETs from this address; retry in {secs} s (a valid SET is still accepted)"
                ),
            );
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
        Verdict::RecordFirst | Verdict::Counted => answer,
    }
}

/// The intake.
#[utoipa::path(
    post,
    path = "/security/api/v1/security-events",
    operation_id = "receiveSecurityEvent",
    tag = "Security events providers",
    summary = "Receive a Security Event Token from a provider (RFC 8935 push)",
    description = "A registered, ACTIVE security events provider pushes one SET (RFC 8417) as the body, with Content-Type application/secevent+jwt. The SET authenticates itself: header typ secevent+jwt; alg RS256, ES256, PS256 or EdDSA (none and HMAC are refused, whatever the key) with a kid from the provider's JWKS (an unknown kid fetches the JWKS again, at most once per provider a minute by default: ULO_SECURITY_EVENTS_JWKS_MIN_REFETCH_SECONDS; fetches time out after 5 s by default: ULO_SECURITY_EVENTS_FETCH_TIMEOUT_SECONDS); iss the provider's issuer; aud ulo's issuer; iat at most 30 minutes old and at most 60 s ahead by default (the operator configures both: ULO_SECURITY_EVENTS_MAX_AGE_SECONDS, ULO_SECURITY_EVENTS_FUTURE_SKEW_SECONDS); a jti; events with at least one accepted type (CAEP session-revoked, device-compliance-change, risk-level-change, credential-change; RISC credential-compromise, account-disabled, identifier-changed; Okta user-risk-change, device-risk-change, ip-change; other types are ignored); the subject in sub_id (or in the events' subject) as an RFC 9493 identifier: email, iss_sub, opaque, or complex with a user. 202 when accepted: logged as security.events.provider.receive_event (debugData: issuer, jti, eventTypes, subject, detections) in one transaction before the answer. A replayed jti answers 202 and does nothing again. A subject that names nobody answers 202 too (the event is logged with outcome SKIPPED, reason \"subject not found\"), so the answer never tells which users exist. Refusals answer 400 with an RFC 8935 body {\"err\", \"description\"}: invalid_request (wrong content type, typ, iat, jti, events or subject), invalid_key (a forbidden alg, an unknown kid, keys that cannot be fetched), invalid_issuer (unregistered or inactive provider), invalid_audience, authentication_failed (the signature does not verify). Refusals are counted per source address: past 10 in a minute (configurable: ULO_SECURITY_EVENTS_REFUSAL_LIMIT) the address's further refusals answer 429 with Retry-After (a valid SET is still accepted), recorded as security.request.blocked.",
    request_body(content = String, content_type = "application/secevent+jwt", description = "The SET, a compact JWS."),
    responses(
        (status = 202, description = "Accepted (or a replay of an accepted SET); no body."),
        (status = 400, description = "Refused: an RFC 8935 error.", body = SetErrorBody, content_type = "application/json"),
        (status = 413, description = "The body is over 1 MiB.", body = String, content_type = "text/plain"),
        (status = 429, description = "too_many_requests: more than 10 (ULO_SECURITY_EVENTS_REFUSAL_LIMIT) refused SETs from this address in the current minute; see Retry-After.", body = SetErrorBody, content_type = "application/json", headers(("Retry-After" = i64, description = "Seconds until the address's window ends."))),
        responses::ServerErrors,
    ),
)]
async fn receive(
    State(state): State<AppState>,
    super::oauth2::RequestClient(client): super::oauth2::RequestClient,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let claims = match verify_set(&state, &headers, &body).await {
        Ok(v) => v,
        Err(Ok(r)) => return refused(&state, &client, r).await,
        Err(Err(e)) => return e.into_response(),
    };
    let (provider, claims) = claims;
    match state
        .intake()
        .accept(&provider, &claims, client.clone(), state.clock.now())
        .await
    {
        Ok(Ok(accepted)) => {
            if !accepted.detections.is_empty() {
                // The risk domain records these once it lands; until then they are in the
                // receive_event's debugData and here.
                tracing::info!(
                    issuer = %provider.issuer,
                    jti = %accepted.jti,
                    detections = %serde_json::json!(accepted.detections),
                    "security event mapped to risk detections"
                );
            }
            StatusCode::ACCEPTED.into_response()
        }
        Ok(Err(e)) => {
            refused(
                &state,
                &client,
                SetRefusal {
                    code: e.code,
                    description: e.description,
                    counts: true,
                },
            )
            .await
        }
        Err(e) => crate::error::ApiError::from(e).into_response(),
    }
}
