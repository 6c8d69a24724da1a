//! `/api/v1/users/{id}/factors/totp`: an admin enrolls, activates, shows and removes a user's
//! TOTP factor.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use ulo_core::clock::rfc3339;
use ulo_core::signin::{TotpFactor, TotpStatus};

use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

const FACTOR_TYPE: &str = "token:software:totp";

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/users/{id}/factors/totp",
            get(show).post(enroll).delete(remove),
        )
        .route("/api/v1/users/{id}/factors/totp/verify", post(verify))
}

fn factor_json(
    user_id: &str,
    status: TotpStatus,
    activated: Option<time::OffsetDateTime>,
) -> Value {
    json!({
        "factorType": FACTOR_TYPE,
        "provider": "ULO",
        "userId": user_id,
        "status": status,
        "activated": activated.map(rfc3339),
    })
}

/// The JSON of a user's factor as the domain reports it.
fn factor_of(f: &TotpFactor) -> Value {
    factor_json(&f.user.id.to_string(), f.status, f.activated)
}

async fn show(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let f = crate::credentials::sign_in(&state)
        .totp_factor(&admin.ctx, &id)
        .await?;
    Ok(Json(factor_of(&f)))
}

async fn enroll(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let (user, secret) = crate::credentials::sign_in(&state)
        .enroll_totp(&admin.ctx, &id, false)
        .await?;
    let (base32, uri) = crate::credentials::enrollment(&state, &secret, &user.profile.login)
        .map_err(ApiError::internal)?;
    let mut v = factor_json(&user.id.to_string(), TotpStatus::PendingActivation, None);
    if let Some(o) = v.as_object_mut() {
        // Shown to the enrolling admin only now; stored sealed.
        o.insert("secret".into(), json!(base32));
        o.insert("otpauthUri".into(), json!(uri));
    }
    Ok(Json(v))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct VerifyBody {
    pass_code: String,
}

async fn verify(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<VerifyBody>,
) -> ApiResult<Json<Value>> {
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
