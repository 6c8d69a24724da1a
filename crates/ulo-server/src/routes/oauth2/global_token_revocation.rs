//! `POST /oauth2/v1/global-token-revocation`: ulo as the receiver of a Global Token Revocation
//! request. A caller with an API token holding `ulo.universalLogout.manage` (or an unrestricted
//! SUPER_ADMIN token), or a registered upstream identity provider presenting a signed
//! `global-token-revocation+jwt`, asks ulo to log a user out everywhere.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use ulo_core::auth::hash_token;
use ulo_core::context::{Authority, Context};
use ulo_core::log::Client;
use ulo_core::logout::upstream::{self, MANAGE_SCOPE, SubjectError};
use ulo_core::throttle::Verdict;
use ulo_core::user::{AdminRole, UserStatus};
use ulo_jose::{VerifyOptions, typ, verify_with_jwks};

use super::ErrorBody;
use crate::openapi::{responses, schema};
use crate::state::AppState;

/// The path, also the `aud` an upstream provider's JWT must carry (with the issuer before it).
pub const PATH: &str = "/oauth2/v1/global-token-revocation";

fn error(status: StatusCode, code: &str, description: impl Into<String>) -> Response {
    let mut resp = (
        status,
        Json(ErrorBody {
            error: code,
            error_description: &description.into(),
        }),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
    }
    resp
}

/// Why a caller was not accepted: the answer, and for a refused credential (not a failure on
/// ulo's side) the reason, which counts against the caller's address.
struct Rejected {
    response: Response,
    refusal: Option<String>,
}

fn unauthorized(description: &str) -> Rejected {
    Rejected {
        response: error(StatusCode::UNAUTHORIZED, "invalid_token", description),
        refusal: Some(description.to_string()),
    }
}

fn internal(e: impl Into<crate::error::ApiError>) -> Rejected {
    Rejected {
        response: e.into().into_response(),
        refusal: None,
    }
}

/// Counts a refused caller against its address and records it (the first of a window on its
/// own, the rest as one counted event); past the limit the answer becomes 429.
async fn refused(state: &AppState, client: &Client, rejected: Rejected) -> Response {
    let Some(reason) = rejected.refusal else {
        return rejected.response;
    };
    let ip = client
        .ip_address
        .as_deref()
        .and_then(|a| a.parse::<std::net::IpAddr>().ok());
    let now = state.clock.now();
    let (verdict, closed) = state.gtr_refusals.refuse(ip, &reason, now);
    if let Err(e) = ulo_core::throttle::record_refusal(
        state.store.as_ref(),
        state.clock.as_ref(),
        PATH,
        client,
        &reason,
        verdict,
        closed.as_ref(),
    )
    .await
    {
        tracing::warn!(error = %e, "could not record a refused Global Token Revocation request");
    }
    match verdict {
        Verdict::Throttled(wait) => {
            let secs = ulo_core::throttle::retry_after_secs(wait);
            let mut resp = error(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                format!(
                    "too many refused requests from this address; retry in {secs} s (a valid credential is still accepted)"
                ),
            );
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
        Verdict::RecordFirst | Verdict::Counted => rejected.response,
    }
}

/// Who is calling, as a context allowed to log users out.
async fn caller(
    state: &AppState,
    headers: &HeaderMap,
    client: Client,
) -> Result<Context, Rejected> {
    let Some(raw) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(unauthorized(
            "send Authorization: Bearer <API token or upstream identity provider JWT>",
        ));
    };
    let Some((scheme, credential)) = raw.trim().split_once(' ') else {
        return Err(unauthorized("malformed Authorization header"));
    };
    let credential = credential.trim();
    if !(scheme.eq_ignore_ascii_case("Bearer") || scheme.eq_ignore_ascii_case("SSWS"))
        || credential.is_empty()
    {
        return Err(unauthorized("use the Bearer scheme"));
    }
    if credential.split('.').count() == 3 {
        return idp_caller(state, client, credential).await;
    }
    let store = state.store.as_ref();
    let found = async {
        let mut tx = store.read().await?;
        let Some(token) = tx.find_api_token(&hash_token(credential)).await? else {
            return Ok(None);
        };
        let user = tx.get_user(token.user_id).await?;
        let roles = tx.list_roles(token.user_id).await?;
        Ok::<_, ulo_core::store::StoreError>(user.map(|u| (token, u, roles)))
    }
    .await
    .map_err(internal)?;
    let Some((token, user, roles)) = found else {
        return Err(unauthorized("the token is unknown or revoked"));
    };
    if user.status != UserStatus::Active {
        return Err(unauthorized("the token's owner is not active"));
    }
    let scoped = token
        .scopes
        .as_ref()
        .is_some_and(|s| s.iter().any(|s| s == MANAGE_SCOPE));
    let unrestricted_admin = token.scopes.is_none();
    if !(scoped || unrestricted_admin) || !roles.contains(&AdminRole::SuperAdmin) {
        let why =
            format!("the token needs the {MANAGE_SCOPE} scope and an owner holding SUPER_ADMIN");
        return Err(Rejected {
            response: error(StatusCode::FORBIDDEN, "insufficient_scope", why.clone()),
            refusal: Some(why),
        });
    }
    let mut ctx = Context::admin(&user, roles, None, None);
    ctx.client = client;
    if !unrestricted_admin {
        // A token limited to logging users out must not be able to lock the admins out.
        ctx.authority = Authority::LogoutOnly;
    }
    Ok(ctx)
}

async fn idp_caller(state: &AppState, client: Client, jwt: &str) -> Result<Context, Rejected> {
    // Which provider: the unverified `iss` only picks the keys; everything is verified below.
    let iss = jwt
        .split('.')
        .nth(1)
        .and_then(|p| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|raw| serde_json::from_slice::<Value>(&raw).ok())
        .and_then(|c| c.get("iss").and_then(Value::as_str).map(str::to_string));
    let Some(iss) = iss else {
        return Err(unauthorized("the JWT has no iss"));
    };
    let idp = upstream::idp_by_issuer(state.store.as_ref(), &iss)
        .await
        .map_err(internal)?
        .ok_or_else(|| unauthorized("the JWT's issuer is not a registered identity provider"))?;
    let audience = format!("{}{PATH}", state.issuer());
    let now = state.clock.now();
    let opts = VerifyOptions {
        expected_typ: Some(typ::GLOBAL_TOKEN_REVOCATION),
        issuer: Some(&idp.issuer),
        audience: Some(&audience),
        leeway_secs: 60,
        now_unix: Some(now.unix_timestamp()),
    };
    let (_, claims) = verify_with_jwks(jwt, &idp.jwks, &opts)
        .map_err(|e| unauthorized(&format!("the JWT is not valid: {e}")))?;
    let (Some(iat), Some(exp)) = (claims["iat"].as_i64(), claims["exp"].as_i64()) else {
        return Err(unauthorized("the JWT needs iat and exp"));
    };
    if exp - iat > 300 {
        return Err(unauthorized(
            "the JWT may live at most 5 minutes (exp - iat ≤ 300)",
        ));
    }
    let Some(jti) = claims["jti"].as_str().filter(|j| !j.is_empty()) else {
        return Err(unauthorized("the JWT needs a jti"));
    };
    let expires = time::OffsetDateTime::from_unix_timestamp(exp + 60).unwrap_or(now);
    let fresh = upstream::remember_idp_jti(state.store.as_ref(), &idp, jti, expires, now)
        .await
        .map_err(internal)?;
    if !fresh {
        return Err(unauthorized("the JWT was already used (replayed jti)"));
    }
    Ok(upstream::idp_context(&idp, client))
}

/// The handler.
#[utoipa::path(
    post,
    path = "/oauth2/v1/global-token-revocation",
    operation_id = "globalTokenRevocation",
    tag = "Universal Logout",
    summary = "Global Token Revocation: log a user out of ulo and every app",
    description = "ulo as the receiver of a Global Token Revocation request (draft-parecki-oauth-global-token-revocation, the protocol of Okta's Universal Logout): an upstream identity provider or tool names a user, and ulo runs a Universal Logout of them with reason UPSTREAM (scope ALL_APPS: sessions, OAuth tokens and every logout-enabled app; API tokens only when the caller is a SUPER_ADMIN with an unrestricted token: for a scoped token or an identity provider the receipt's API_TOKENS target is SKIPPED, so such a credential cannot lock the admins out; the last working SUPER_ADMIN token is never revoked, its target FAILED with lastHttpStatus 409). The caller authenticates with `Authorization: Bearer` and either an API token limited to the scope ulo.universalLogout.manage or an unrestricted admin token (the owner must hold SUPER_ADMIN either way), or a JWT signed by a registered upstream identity provider (see /api/v1/idps): header typ global-token-revocation+jwt; iss the provider's issuer; aud this endpoint's URL (issuer + /oauth2/v1/global-token-revocation); iat and exp with exp - iat at most 300 s; a jti used only once. Errors are OAuth-style: {\"error\", \"error_description\"}. Refused callers are counted per source address: after 10 refusals in a minute the address's further refusals answer 429 with Retry-After (a valid credential is still served), and the System Log records the first refusal of each minute and then one counted security.request.blocked event per address and minute.",
    request_body(content = schema::GlobalTokenRevocationRequest, content_type = "application/json"),
    responses(
        (status = 204, description = "The logout started; no body. Location names its receipt.", headers(("Location" = String, description = "/api/v1/logouts/{id}, the receipt (read it with an admin token)."))),
        (status = 400, description = "invalid_request: the body is not an application/json object, has no sub_id, or sub_id is malformed or of an unsupported format.", body = schema::GlobalTokenRevocationError, content_type = "application/json"),
        (status = 401, description = "invalid_token: no Authorization header, an unknown or revoked API token, an inactive owner, or a JWT that is not valid (unregistered issuer, bad signature, typ, aud or exp, exp - iat over 300 s, no jti, or a replayed jti).", body = schema::GlobalTokenRevocationError, content_type = "application/json", headers(("WWW-Authenticate" = String, description = "Bearer error=\"invalid_token\""))),
        (status = 403, description = "insufficient_scope: the API token is limited to other scopes, or its owner does not hold SUPER_ADMIN.", body = schema::GlobalTokenRevocationError, content_type = "application/json"),
        (status = 404, description = "unknown_subject: no user matches sub_id (an email two users share names nobody).", body = schema::GlobalTokenRevocationError, content_type = "application/json"),
        (status = 413, description = "The body is over 1 MiB.", body = String, content_type = "text/plain"),
        (status = 429, description = "too_many_requests: more than 10 refused requests from this address in the current minute; see Retry-After. A request with a valid credential is still served.", body = schema::GlobalTokenRevocationError, content_type = "application/json", headers(("Retry-After" = i64, description = "Seconds until the address's window ends."))),
        responses::ServerErrors,
    ),
    security(("GlobalTokenRevocation" = [])),
)]
pub async fn revoke(
    State(state): State<AppState>,
    super::RequestClient(client): super::RequestClient,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // A refused caller counts against its address; a valid credential is never throttled.
    let ctx = match caller(&state, &headers, client.clone()).await {
        Ok(c) => c,
        Err(rejected) => return refused(&state, &client, rejected).await,
    };
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    if !json_type {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be application/json",
        );
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be a JSON object {\"sub_id\": {...}}",
        );
    };
    // The older draft named the member `subject`.
    let Some(sub_id) = body.get("sub_id").or_else(|| body.get("subject")) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body needs sub_id",
        );
    };
    match upstream::revoke(
        state.store.as_ref(),
        state.clock.as_ref(),
        &ctx,
        state.issuer(),
        sub_id,
        state.config.logout_deadlines(),
    )
    .await
    {
        Ok(Ok(logout)) => {
            state.receipt_changed(logout.id);
            let mut resp = StatusCode::NO_CONTENT.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/logouts/{}", logout.id)) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            resp
        }
        Ok(Err(SubjectError::Invalid(m))) => error(StatusCode::BAD_REQUEST, "invalid_request", m),
        Ok(Err(SubjectError::Unknown)) => error(
            StatusCode::NOT_FOUND,
            "unknown_subject",
            "no user matches sub_id",
        ),
        Err(e) => crate::error::ApiError::from(e).into_response(),
    }
}
