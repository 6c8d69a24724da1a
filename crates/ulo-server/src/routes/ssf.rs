//! The Shared Signals (SSF 1.0) transmitter's HTTP side: discovery
//! (`/.well-known/ssf-configuration`), stream management, status, subjects, verification and
//! RFC 8936 polling under `/ssf`, each authenticated by the app receiver's Bearer credential;
//! and `POST /api/v1/apps/{id}/ssf-credentials`, where an admin issues that credential.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use ulo_core::app::App;
use ulo_core::ssf::{self, StreamInput, StreamStatus, Transmitter};

use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::{responses, schema};

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(configuration))
        .routes(routes!(read, create, update, replace, remove))
        .routes(routes!(status, set_status))
        .routes(routes!(add_subject))
        .routes(routes!(remove_subject))
        .routes(routes!(verify))
        .routes(routes!(poll))
        .routes(routes!(issue_credential))
}

fn transmitter(state: &AppState) -> Transmitter<'_> {
    Transmitter {
        store: state.store.as_ref(),
        clock: state.clock.as_ref(),
        sealer: state.sealer.as_ref(),
        issuer: state.issuer(),
        outbound: state.config.outbound,
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

#[utoipa::path(
    get,
    path = "/.well-known/ssf-configuration",
    operation_id = "ssfConfiguration",
    tag = "Shared Signals",
    summary = "Shared Signals transmitter metadata (SSF 1.0 §7)",
    responses(
        (status = 200, description = "Transmitter configuration.", body = schema::SsfConfiguration, content_type = "application/json"),
    ),
)]
async fn configuration(State(state): State<AppState>) -> Json<Configuration> {
    let iss = state.issuer();
    Json(Configuration {
        spec_version: "1_0",
        issuer: iss.to_string(),
        jwks_uri: format!("{iss}/oauth2/v1/keys"),
        delivery_methods_supported: [ssf::PUSH, ssf::POLL],
        configuration_endpoint: format!("{iss}/ssf/streams"),
        status_endpoint: format!("{iss}/ssf/status"),
        add_subject_endpoint: format!("{iss}/ssf/subjects:add"),
        remove_subject_endpoint: format!("{iss}/ssf/subjects:remove"),
        verification_endpoint: format!("{iss}/ssf/verify"),
        authorization_schemes: [AuthorizationScheme {
            spec_urn: "urn:ietf:rfc:6750",
        }],
        default_subjects: "ALL",
    })
}

/// The transmitter's configuration (SSF 1.0 §7.1).
#[derive(Serialize)]
struct Configuration {
    spec_version: &'static str,
    issuer: String,
    jwks_uri: String,
    delivery_methods_supported: [&'static str; 2],
    configuration_endpoint: String,
    status_endpoint: String,
    add_subject_endpoint: String,
    remove_subject_endpoint: String,
    verification_endpoint: String,
    authorization_schemes: [AuthorizationScheme; 1],
    default_subjects: &'static str,
}

/// An authorization scheme the transmitter takes.
#[derive(Serialize)]
struct AuthorizationScheme {
    spec_urn: &'static str,
}

/// A stream's configuration as SSF 1.0 §8.1.1 shows it (never the push credential).
#[derive(Serialize)]
struct StreamBody {
    stream_id: String,
    iss: String,
    aud: String,
    events_supported: [&'static str; 3],
    events_requested: Vec<String>,
    events_delivered: Vec<String>,
    delivery: DeliveryBody,
    description: Option<String>,
}

/// How a stream delivers.
#[derive(Serialize)]
struct DeliveryBody {
    method: String,
    endpoint_url: Option<String>,
}

impl StreamBody {
    fn new(issuer: &str, s: ssf::SsfStream) -> Self {
        StreamBody {
            events_delivered: s.events_delivered(),
            stream_id: s.stream_id,
            iss: issuer.to_string(),
            aud: s.aud,
            events_supported: ssf::EVENTS_SUPPORTED,
            events_requested: s.events_requested,
            delivery: DeliveryBody {
                method: s.delivery.method,
                endpoint_url: s.delivery.endpoint_url,
            },
            description: s.description,
        }
    }
}

/// A stream's status (SSF 1.0 §8.1.2).
#[derive(Serialize)]
struct StatusAnswer {
    stream_id: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl From<ssf::SsfStream> for StatusAnswer {
    fn from(s: ssf::SsfStream) -> Self {
        StatusAnswer {
            status: s.status.as_str(),
            stream_id: s.stream_id,
            reason: s.status_reason,
        }
    }
}

/// A poll's answer (RFC 8936 §2.4): the SETs by jti.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PollAnswerBody {
    sets: BTreeMap<String, String>,
    more_available: bool,
}

/// `GET /ssf/streams` answers one stream with stream_id, and a list without.
#[derive(Serialize)]
#[serde(untagged)]
enum ReadAnswer {
    One(Box<StreamBody>),
    All(Vec<StreamBody>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamParams {
    stream_id: Option<String>,
}

#[utoipa::path(
    post,
    path = "/ssf/streams",
    operation_id = "ssfCreateStream",
    tag = "Shared Signals",
    summary = "Create the receiver's stream",
    description = "SSF 1.0 §8.1.1.1. One stream per app: 409 when the receiver already has one. The transmitter chooses stream_id (400 when sent). Push delivery (urn:ietf:rfc:8935) needs endpoint_url, which must obey ulo's outbound URL rules; poll delivery (urn:ietf:rfc:8936) answers ulo's poll URL in endpoint_url.",
    request_body(content = schema::SsfStreamCreateRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Created.", body = schema::SsfStream, content_type = "application/json"),
        (status = 409, response = responses::Conflict),
        responses::JsonBodyErrors,
        responses::ReceiverErrors,
    ),
    security(("SsfReceiver" = [])),
)]
async fn create(
    State(state): State<AppState>,
    Receiver(app): Receiver,
    ApiJson(input): ApiJson<StreamInput>,
) -> ApiResult<(StatusCode, Json<StreamBody>)> {
    if input.stream_id.is_some() {
        return Err(ApiError::bad_request(
            "stream_id is chosen by the transmitter",
            vec!["stream_id: leave it out when creating a stream".into()],
        ));
    }
    let s = transmitter(&state).create(&app, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(StreamBody::new(state.issuer(), s)),
    ))
}

#[utoipa::path(
    get,
    path = "/ssf/streams",
    operation_id = "ssfReadStream",
    tag = "Shared Signals",
    summary = "Read the receiver's stream configuration",
    description = "SSF 1.0 §8.1.1.2. With stream_id: that stream (404 when it is not this receiver's). Without: every stream of this receiver, as an array (empty or one).",
    params(
        ("stream_id" = Option<String>, Query, description = "The stream to read.", pattern = "^[^\\u0000]*$"),
    ),
    responses(
        (status = 200, description = "The stream, or the receiver's streams.", body = schema::SsfReadStreamResponse, content_type = "application/json"),
        (status = 400, response = responses::BadRequest),
        (status = 404, response = responses::NotFound),
        responses::ReceiverErrors,
    ),
    security(("SsfReceiver" = [])),
)]
async fn read(
    State(state): State<AppState>,
    Receiver(app): Receiver,
    ApiQuery(p): ApiQuery<StreamParams>,
) -> ApiResult<Json<ReadAnswer>> {
    let t = transmitter(&state);
    let iss = state.issuer();
    match p.stream_id {
        Some(id) => {
            let s = t.get(&app, Some(&id)).await?;
            Ok(Json(ReadAnswer::One(Box::new(StreamBody::new(iss, s)))))
        }
        // Without stream_id: every stream of this receiver (none or one).
        None => match t.get(&app, None).await {
            Ok(s) => Ok(Json(ReadAnswer::All(vec![StreamBody::new(iss, s)]))),
            Err(ulo_core::error::DomainError::NotFound { .. }) => Ok(Json(ReadAnswer::All(vec![]))),
            Err(e) => Err(e.into()),
        },
    }
}

#[utoipa::path(
    patch,
    path = "/ssf/streams",
    operation_id = "ssfUpdateStream",
    tag = "Shared Signals",
    summary = "Update the receiver's stream",
    description = "SSF 1.0 §8.1.1.3: only the members sent change (events_requested and description are kept when left out). 404 when stream_id is not this receiver's stream.",
    request_body(content = schema::SsfStreamUpdateRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The stream as it is now.", body = schema::SsfStream, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::JsonBodyErrors,
        responses::ReceiverErrors,
    ),
    security(("SsfReceiver" = [])),
)]
async fn update(
    State(state): State<AppState>,
    Receiver(app): Receiver,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<StreamBody>> {
    let s = transmitter(&state).change(&app, body, false).await?;
    Ok(Json(StreamBody::new(state.issuer(), s)))
}

#[utoipa::path(
    put,
    path = "/ssf/streams",
    operation_id = "ssfReplaceStream",
    tag = "Shared Signals",
    summary = "Replace the receiver's stream",
    description = "SSF 1.0 §8.1.1.4: members left out take their defaults. 404 when stream_id is not this receiver's stream.",
    request_body(content = schema::SsfStreamUpdateRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The stream as it is now.", body = schema::SsfStream, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::JsonBodyErrors,
        responses::ReceiverErrors,
    ),
    security(("SsfReceiver" = [])),
)]
async fn replace(
    State(state): State<AppState>,
    Receiver(app): Receiver,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<StreamBody>> {
    let s = transmitter(&state).change(&app, body, true).await?;
    Ok(Json(StreamBody::new(state.issuer(), s)))
}

#[utoipa::path(
    delete,
    path = "/ssf/streams",
    operation_id = "ssfDeleteStream",
    tag = "Shared Signals",
    summary = "Delete the receiver's stream",
    description = "SSF 1.0 §8.1.1.5: the stream and the events it queued. 400 without stream_id; 404 when it is not this receiver's stream.",
    params(
        ("stream_id" = String, Query, description = "The stream to delete.", pattern = "^[^\\u0000]*$"),
    ),
    responses(
        (status = 204, description = "Deleted; no body."),
        (status = 400, response = responses::BadRequest),
        (status = 404, response = responses::NotFound),
        responses::ReceiverErrors,
    ),
    security(("SsfReceiver" = [])),
)]
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

#[utoipa::path(
    get,
    path = "/ssf/status",
    operation_id = "ssfReadStatus",
    tag = "Shared Signals",
    summary = "Read the stream's status",
    description = "SSF 1.0 §8.1.2.1. Without stream_id: the receiver's stream. 404 when there is none, or stream_id is not this receiver's.",
    params(
        ("stream_id" = Option<String>, Query, description = "The stream.", pattern = "^[^\\u0000]*$"),
    ),
    responses(
        (status = 200, description = "The status.", body = schema::SsfStreamStatus, content_type = "application/json"),
        (status = 400, response = responses::BadRequest),
        (status = 404, response = responses::NotFound),
        responses::ReceiverErrors,
    ),
    security(("SsfReceiver" = [])),
)]
async fn status(
    State(state): State<AppState>,
    Receiver(app): Receiver,
    ApiQuery(p): ApiQuery<StreamParams>,
) -> ApiResult<Json<StatusAnswer>> {
    let s = transmitter(&state)
        .get(&app, p.stream_id.as_deref())
        .await?;
    Ok(Json(s.into()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    stream_id: String,
    status: StreamStatus,
    reason: Option<String>,
}

#[utoipa::path(
    post,
    path = "/ssf/status",
    operation_id = "ssfUpdateStatus",
    tag = "Shared Signals",
    summary = "Enable, pause or disable the stream",
    description = "SSF 1.0 §8.1.2.2. Paused: events are held and delivered when enabled again; disabled: events are not delivered. 404 when stream_id is not this receiver's stream.",
    request_body(content = schema::SsfStatusRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The status as it is now.", body = schema::SsfStreamStatus, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::JsonBodyErrors,
        responses::ReceiverErrors,
    ),
    security(("SsfReceiver" = [])),
)]
async fn set_status(
    State(state): State<AppState>,
    Receiver(app): Receiver,
    ApiJson(b): ApiJson<StatusBody>,
) -> ApiResult<Json<StatusAnswer>> {
    let s = transmitter(&state)
        .set_status(&app, &b.stream_id, b.status, b.reason)
        .await?;
    Ok(Json(s.into()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubjectBody {
    stream_id: String,
    subject: Value,
    #[allow(dead_code)]
    verified: Option<bool>,
}

#[utoipa::path(
    post,
    path = "/ssf/subjects:add",
    operation_id = "ssfAddSubject",
    tag = "Shared Signals",
    summary = "Include a subject in the stream",
    description = "SSF 1.0 §8.1.3.1. The stream's default_subjects is ALL; adding a subject undoes an earlier removal. 400 for a subject whose format is not email, iss_sub or opaque, or that lacks its members; 404 when stream_id is not this receiver's stream.",
    request_body(content = schema::SsfSubjectRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Added; no body."),
        (status = 404, response = responses::NotFound),
        responses::JsonBodyErrors,
        responses::ReceiverErrors,
    ),
    security(("SsfReceiver" = [])),
)]
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

#[utoipa::path(
    post,
    path = "/ssf/subjects:remove",
    operation_id = "ssfRemoveSubject",
    tag = "Shared Signals",
    summary = "Exclude a subject from the stream",
    description = "SSF 1.0 §8.1.3.2: no events about this subject go out on the stream. 400 for a malformed subject; 404 when stream_id is not this receiver's stream.",
    request_body(content = schema::SsfSubjectRequest, content_type = "application/json"),
    responses(
        (status = 204, description = "Removed; no body."),
        (status = 404, response = responses::NotFound),
        responses::JsonBodyErrors,
        responses::ReceiverErrors,
    ),
    security(("SsfReceiver" = [])),
)]
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

#[utoipa::path(
    post,
    path = "/ssf/verify",
    operation_id = "ssfVerify",
    tag = "Shared Signals",
    summary = "Ask for a verification event",
    description = "SSF 1.0 §8.1.4.2: queues a verification SET carrying state on the stream (pushed, or answered by the next poll). 404 when stream_id is not this receiver's stream.",
    request_body(content = schema::SsfVerifyRequest, content_type = "application/json"),
    responses(
        (status = 204, description = "Queued; no body."),
        (status = 404, response = responses::NotFound),
        responses::JsonBodyErrors,
        responses::ReceiverErrors,
    ),
    security(("SsfReceiver" = [])),
)]
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
#[utoipa::path(
    post,
    path = "/ssf/poll/{stream_id}",
    operation_id = "ssfPoll",
    tag = "Shared Signals",
    summary = "Poll for SETs (RFC 8936)",
    description = "Acknowledges the SETs in ack (an acknowledged SET that carried a logout completes that app's target in the receipt), records setErrs (the target fails), then answers up to maxEvents queued SETs. Unless returnImmediately is true it waits up to 10 s for a SET when none is queued (long poll). 404 when stream_id is not this receiver's stream.",
    params(
        ("stream_id" = String, Path, description = "The receiver's poll stream (its endpoint_url)."),
    ),
    request_body(content = schema::SsfPollRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The SETs, by jti.", body = schema::SsfPollResponse, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::JsonBodyErrors,
        responses::ReceiverErrors,
    ),
    security(("SsfReceiver" = [])),
)]
async fn poll(
    State(state): State<AppState>,
    Receiver(app): Receiver,
    ApiPath(stream_id): ApiPath<String>,
    ApiJson(b): ApiJson<PollBody>,
) -> ApiResult<Json<PollAnswerBody>> {
    let max = b.max_events.unwrap_or(100).min(1000);
    let t = transmitter(&state);
    let mut answer = t.poll(&app, &stream_id, &b.ack, &b.set_errs, max).await?;
    for id in &answer.changed {
        state.receipt_changed(*id);
    }
    let wait = !b.return_immediately.unwrap_or(false) && max > 0;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut stop = state.shutdown.clone();
    while wait && answer.sets.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(200)) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        answer = t.poll(&app, &stream_id, &[], &Map::new(), max).await?;
    }
    Ok(Json(PollAnswerBody {
        sets: answer.sets.into_iter().collect(),
        more_available: answer.more_available,
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/apps/{id}/ssf-credentials",
    operation_id = "createSsfCredential",
    tag = "Shared Signals",
    summary = "Issue a Shared Signals receiver credential for an app",
    description = "Needs SUPER_ADMIN. The app's receiver presents the token as `Authorization: Bearer <token>` on /ssf (stream management, status, subjects, verification, polling); it is shown only once. Logged as security.events.credential.create.",
    params(
        ("id" = String, Path, description = "The app's id; anything not a UUID answers 404.", format = "uuid"),
    ),
    responses(
        (status = 201, description = "Created; includes token.", body = schema::SsfCredential, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
    ),
    security(("SSWS" = [])),
)]
async fn issue_credential(
    State(state): State<AppState>,
    admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<impl Serialize>)> {
    let (credential, token) =
        ssf::create_credential(state.store.as_ref(), state.clock.as_ref(), &admin.ctx, &id).await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedCredential {
            credential,
            token,
            configuration: format!("{}/.well-known/ssf-configuration", state.issuer()),
        }),
    ))
}

/// A receiver credential just issued: its secret, shown once, and where the receiver starts.
#[derive(Serialize)]
struct IssuedCredential<T> {
    #[serde(flatten)]
    credential: T,
    token: String,
    configuration: String,
}
