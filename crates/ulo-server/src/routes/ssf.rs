//! The Shared Signals (SSF 1.0) transmitter's HTTP side: discovery
//! (`/.well-known/ssf-configuration`), stream management, status, subjects, verification and
//! RFC 8936 polling under `/ssf`, each authenticated by the app receiver's Bearer credential;
//! and `POST /api/v1/apps/{id}/ssf-credentials`, where an admin issues that credential.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use ulo_core::app::App;
use ulo_core::ssf::{self, StreamInput, StreamStatus, Transmitter};

use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/ssf-configuration", get(configuration))
        .route(
            "/ssf/streams",
            get(read)
                .post(create)
                .patch(update)
                .put(replace)
                .delete(remove),
        )
        .route("/ssf/status", get(status).post(set_status))
        .route("/ssf/subjects:add", post(add_subject))
        .route("/ssf/subjects:remove", post(remove_subject))
        .route("/ssf/verify", post(verify))
        .route("/ssf/poll/{stream_id}", post(poll))
        .route("/api/v1/apps/{id}/ssf-credentials", post(issue_credential))
}

fn transmitter(state: &AppState) -> Transmitter<'_> {
    Transmitter {
        store: state.0.store.as_ref(),
        clock: state.0.clock.as_ref(),
        sealer: state.0.sealer.as_ref(),
        issuer: state.issuer(),
        outbound: state.0.config.outbound,
    }
}

/// The app whose receiver credential came with the request.
pub struct Receiver(App);

impl FromRequestParts<AppState> for Receiver {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let unauthorized = || {
            let mut resp = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "E0000011",
                "Invalid token provided: use the Shared Signals receiver credential ulo issued for this app (Authorization: Bearer …)",
            )
            .into_response();
            // RFC 6750: the challenge names the scheme the receiver must use.
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"ulo-ssf\""),
            );
            resp
        };
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(unauthorized)?;
        match transmitter(state)
            .authenticate(token)
            .await
            .map_err(|e| ApiError::from(e).into_response())?
        {
            Some(app) => Ok(Receiver(app)),
            None => Err(unauthorized()),
        }
    }
}

async fn configuration(State(state): State<AppState>) -> Json<Value> {
    let iss = state.issuer();
    Json(json!({
        "spec_version": "1_0",
        "issuer": iss,
        "jwks_uri": format!("{iss}/oauth2/v1/keys"),
        "delivery_methods_supported": [ssf::PUSH, ssf::POLL],
        "configuration_endpoint": format!("{iss}/ssf/streams"),
        "status_endpoint": format!("{iss}/ssf/status"),
        "add_subject_endpoint": format!("{iss}/ssf/subjects:add"),
        "remove_subject_endpoint": format!("{iss}/ssf/subjects:remove"),
        "verification_endpoint": format!("{iss}/ssf/verify"),
        "authorization_schemes": [{"spec_urn": "urn:ietf:rfc:6750"}],
        "default_subjects": "ALL",
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamParams {
    stream_id: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    Receiver(app): Receiver,
    ApiJson(input): ApiJson<StreamInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    if input.stream_id.is_some() {
        return Err(ApiError::bad_request(
            "stream_id is chosen by the transmitter",
            vec!["stream_id: leave it out when creating a stream".into()],
        ));
    }
    let s = transmitter(&state).create(&app, input).await?;
    Ok((StatusCode::CREATED, Json(s.config_json(state.issuer()))))
}

async fn read(
    State(state): State<AppState>,
    Receiver(app): Receiver,
    ApiQuery(p): ApiQuery<StreamParams>,
) -> ApiResult<Json<Value>> {
    let t = transmitter(&state);
    match p.stream_id {
        Some(id) => Ok(Json(
            t.get(&app, Some(&id)).await?.config_json(state.issuer()),
        )),
        // Without stream_id: every stream of this receiver (none or one).
        None => match t.get(&app, None).await {
            Ok(s) => Ok(Json(json!([s.config_json(state.issuer())]))),
            Err(ulo_core::error::DomainError::NotFound { .. }) => Ok(Json(json!([]))),
            Err(e) => Err(e.into()),
        },
    }
}

async fn update(
    State(state): State<AppState>,
    Receiver(app): Receiver,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let s = transmitter(&state).change(&app, body, false).await?;
    Ok(Json(s.config_json(state.issuer())))
}

async fn replace(
    State(state): State<AppState>,
    Receiver(app): Receiver,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let s = transmitter(&state).change(&app, body, true).await?;
    Ok(Json(s.config_json(state.issuer())))
}

async fn remove(
    State(state): State<AppState>,
    Receiver(app): Receiver,
    ApiQuery(p): ApiQuery<StreamParams>,
) -> ApiResult<StatusCode> {
    let Some(id) = p.stream_id else {
        return Err(ApiError::bad_request(
            "stream_id is required",
            vec!["stream_id: name the stream to delete".into()],
        ));
    };
    transmitter(&state).delete(&app, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn status_json(s: &ssf::SsfStream) -> Value {
    let mut v = json!({"stream_id": s.stream_id, "status": s.status.as_str()});
    if let Some(r) = &s.status_reason {
        v["reason"] = json!(r);
    }
    v
}

async fn status(
    State(state): State<AppState>,
    Receiver(app): Receiver,
    ApiQuery(p): ApiQuery<StreamParams>,
) -> ApiResult<Json<Value>> {
    let s = transmitter(&state)
        .get(&app, p.stream_id.as_deref())
        .await?;
    Ok(Json(status_json(&s)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    stream_id: String,
    status: StreamStatus,
    reason: Option<String>,
}

async fn set_status(
    State(state): State<AppState>,
    Receiver(app): Receiver,
    ApiJson(b): ApiJson<StatusBody>,
) -> ApiResult<Json<Value>> {
    let s = transmitter(&state)
        .set_status(&app, &b.stream_id, b.status, b.reason)
        .await?;
    Ok(Json(status_json(&s)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubjectBody {
    stream_id: String,
    subject: Value,
    #[allow(dead_code)]
    verified: Option<bool>,
}

async fn add_subject(
    State(state): State<AppState>,
    Receiver(app): Receiver,
    ApiJson(b): ApiJson<SubjectBody>,
) -> ApiResult<StatusCode> {
    transmitter(&state)
        .subject(&app, &b.stream_id, &b.subject, true)
        .await?;
    Ok(StatusCode::OK)
}

async fn remove_subject(
    State(state): State<AppState>,
    Receiver(app): Receiver,
    ApiJson(b): ApiJson<SubjectBody>,
) -> ApiResult<StatusCode> {
    transmitter(&state)
        .subject(&app, &b.stream_id, &b.subject, false)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyBody {
    stream_id: String,
    state: Option<String>,
}

async fn verify(
    State(state): State<AppState>,
    Receiver(app): Receiver,
    ApiJson(b): ApiJson<VerifyBody>,
) -> ApiResult<StatusCode> {
    transmitter(&state)
        .verify(&app, &b.stream_id, b.state)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PollBody {
    max_events: Option<u32>,
    return_immediately: Option<bool>,
    #[serde(default)]
    ack: Vec<String>,
    #[serde(default)]
    set_errs: Map<String, Value>,
}

/// RFC 8936 poll: acknowledges, then answers queued SETs. Without `returnImmediately` it waits
/// (long poll, up to 10 s) for a SET to arrive when none is queued.
async fn poll(
    State(state): State<AppState>,
    Receiver(app): Receiver,
    ApiPath(stream_id): ApiPath<String>,
    ApiJson(b): ApiJson<PollBody>,
) -> ApiResult<Json<Value>> {
    let max = b.max_events.unwrap_or(100).min(1000);
    let t = transmitter(&state);
    let mut answer = t.poll(&app, &stream_id, &b.ack, &b.set_errs, max).await?;
    for id in &answer.changed {
        state.receipt_changed(*id);
    }
    let wait = !b.return_immediately.unwrap_or(false) && max > 0;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut stop = state.0.shutdown.clone();
    while wait && answer.sets.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(200)) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        answer = t.poll(&app, &stream_id, &[], &Map::new(), max).await?;
    }
    let sets: Map<String, Value> = answer
        .sets
        .into_iter()
        .map(|(jti, set)| (jti, Value::String(set)))
        .collect();
    Ok(Json(
        json!({"sets": sets, "moreAvailable": answer.more_available}),
    ))
}

async fn issue_credential(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (cred, secret) = ssf::create_credential(
        state.0.store.as_ref(),
        state.0.clock.as_ref(),
        &admin.ctx,
        &id,
    )
    .await?;
    let mut v = serde_json::to_value(&cred).unwrap_or(Value::Null);
    v["token"] = json!(secret);
    v["configuration"] = json!(format!("{}/.well-known/ssf-configuration", state.issuer()));
    Ok((StatusCode::CREATED, Json(v)))
}
