//! `/api/v1/users/{id}/factors/totp`: an admin enrolls, activates, shows and removes a user's
//! TOTP factor.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use ulo_core::clock::rfc3339;
use ulo_core::signin::{TotpFactor, TotpStatus};

use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::{responses, schema};

const FACTOR_TYPE: &str = "token:software:totp";

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(show, enroll, remove))
        .routes(routes!(verify))
}

/// A user's TOTP factor as the API shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FactorBody {
    factor_type: &'static str,
    provider: &'static str,
    user_id: String,
    status: TotpStatus,
    activated: Option<String>,
    /// The shared secret, shown to the enrolling admin only (stored sealed).
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    /// The `otpauth://` URI of the secret, shown with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    otpauth_uri: Option<String>,
}

impl FactorBody {
    fn new(user_id: String, status: TotpStatus, activated: Option<time::OffsetDateTime>) -> Self {
        FactorBody {
            factor_type: FACTOR_TYPE,
            provider: "ULO",
            user_id,
            status,
            activated: activated.map(rfc3339),
            secret: None,
            otpauth_uri: None,
        }
    }
}

/// A user's factor as the domain reports it.
fn factor_of(f: &TotpFactor) -> FactorBody {
    FactorBody::new(f.user.id.to_string(), f.status, f.activated)
}

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/factors/totp",
    operation_id = "getTotpFactor",
    tag = "Factors",
    summary = "Show a user's TOTP factor",
    description = "Status only (NOT_SETUP, PENDING_ACTIVATION, ACTIVE), never the secret. Any admin role.",
    params(
        ("id" = String, Path, description = "The user's id or login."),
    ),
    responses(
        (status = 200, description = "The factor.", body = schema::TotpFactor, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn show(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<FactorBody>> {
    let f = crate::credentials::sign_in(&state)
        .totp_factor(&admin.ctx, &id)
        .await?;
    Ok(Json(factor_of(&f)))
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/factors/totp",
    operation_id = "enrollTotpFactor",
    tag = "Factors",
    summary = "Enroll a TOTP factor",
    description = "Issues a new secret (sealed at rest), PENDING_ACTIVATION until a code activates it; replaces a pending one. 409 when a factor is active (remove it first). Needs SUPER_ADMIN.",
    params(
        ("id" = String, Path, description = "The user's id or login."),
    ),
    responses(
        (status = 200, description = "The pending factor with its secret and otpauth URI, shown this once.", body = schema::TotpFactor, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn enroll(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<FactorBody>> {
    let (user, secret) = crate::credentials::sign_in(&state)
        .enroll_totp(&admin.ctx, &id, false)
        .await?;
    let (base32, uri) = crate::credentials::enrollment(&state, &secret, &user.profile.login)
        .map_err(ApiError::internal)?;
    let mut factor = FactorBody::new(user.id.to_string(), TotpStatus::PendingActivation, None);
    // Shown to the enrolling admin only now; stored sealed.
    factor.secret = Some(base32);
    factor.otpauth_uri = Some(uri);
    Ok(Json(factor))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct VerifyBody {
    pass_code: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/factors/totp/verify",
    operation_id = "activateTotpFactor",
    tag = "Factors",
    summary = "Activate a pending TOTP factor with a code",
    description = "403 E0000068 when the code does not match (logged as user.mfa.factor.activate FAILURE); 409 when nothing is pending. Needs SUPER_ADMIN.",
    params(
        ("id" = String, Path, description = "The user's id or login."),
    ),
    request_body(content = schema::VerifyFactorRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The active factor.", body = schema::TotpFactor, content_type = "application/json"),
        (status = 400, response = responses::BadRequest),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
        (status = 415, response = responses::UnsupportedMediaType),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn verify(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<VerifyBody>,
) -> ApiResult<Json<FactorBody>> {
    let sign_in = crate::credentials::sign_in(&state);
    if !sign_in
        .activate_totp(&admin.ctx, &id, &body.pass_code)
        .await?
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "E0000068",
            "Invalid Passcode/Answer: the code does not match, is outside its time window, or was already used",
        ));
    }
    let f = sign_in.totp_factor(&admin.ctx, &id).await?;
    Ok(Json(factor_of(&f)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}/factors/totp",
    operation_id = "removeTotpFactor",
    tag = "Factors",
    summary = "Remove a user's TOTP factor",
    description = "Sign-in stops asking for a code. 404 when there is none. Needs SUPER_ADMIN.",
    params(
        ("id" = String, Path, description = "The user's id or login."),
    ),
    responses(
        (status = 204, description = "Done; no body."),
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
    crate::credentials::sign_in(&state)
        .remove_totp(&admin.ctx, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
