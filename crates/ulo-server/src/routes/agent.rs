//! The device agent protocol: enrollment with a one-time token and a CSR, then signed polls
//! (with a long-poll `wait` answered the moment a command is issued) and acknowledgements.

use std::time::Duration as StdDuration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ulo_core::clock::rfc3339;
use ulo_core::device::{self, AgentReport, DeviceCommand, Enrollment};
use ulo_core::ids::{DeviceCommandId, DeviceId};
use ulo_core::log::{Client, UserAgent};
use ulo_jose::KeyAlg;

use crate::agent_auth::{AGENT_API, Agent, COMMAND_TYP};
use crate::agent_keyset;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::{responses, schema};

/// The longest a poll may wait for a command.
const MAX_WAIT: u64 = 60;
/// The poll interval agents are told to use when not told otherwise (the seed's 15 minutes).
const POLL_INTERVAL: u64 = 900;

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(enroll))
        .routes(routes!(poll))
        .routes(routes!(ack))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EnrollBody {
    token: String,
    csr: String,
    platform: String,
    os_version: String,
    hostname: String,
    agent_version: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/agent/enroll",
    operation_id = "enrollDevice",
    tag = "Device Logout",
    summary = "Enroll a device (agent)",
    description = "Public: the one-time enrollment token authenticates. Refused with 401 when the token is unknown, used or expired, 403 when the Device Logout feature is off or the agent is older than ULO_DEVICE_MIN_AGENT_VERSION (the message names the minimum), 400 for a CSR that is not a valid P-256 PKCS#10 request. ulo's device CA certifies the CSR's key; the answer carries ulo's signing keys for the agent to pin.",
    request_body(content = schema::DeviceEnrollmentRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Enrolled.", body = schema::DeviceEnrollment, content_type = "application/json"),
        (status = 400, response = responses::BadRequest),
        (status = 415, response = responses::UnsupportedMediaType),
        responses::AdminErrors,
    ),
)]
async fn enroll(
    State(state): State<AppState>,
    from: crate::routes::page::ClientInfo,
    headers: HeaderMap,
    ApiJson(b): ApiJson<EnrollBody>,
) -> ApiResult<Response> {
    let client = Client {
        ip_address: from.ip.map(|ip| ip.to_string()),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|raw| UserAgent {
                raw_user_agent: raw.to_string(),
            }),
        id: None,
    };
    let req = Enrollment {
        token: b.token,
        csr: b.csr,
        platform: b.platform,
        os_version: b.os_version,
        hostname: b.hostname,
        agent_version: b.agent_version,
    };
    let d = device::enroll(
        state.store.as_ref(),
        state.clock.as_ref(),
        state.device_ca.as_ref(),
        &state.config.device,
        client,
        &req,
    )
    .await?;
    let enrolled = Enrolled {
        device_id: d.id,
        certificate: d.certificate.pem,
        ca_certificate: state.device_ca.ca_certificate_pem(),
        issuer: state.issuer().to_string(),
        agent_api: format!("{}{AGENT_API}", state.issuer()),
        jwks: state.keys().jwks(),
        poll_interval_seconds: POLL_INTERVAL,
    };
    Ok((StatusCode::CREATED, Json(enrolled)).into_response())
}

/// What an enrolled agent needs: its certificate, the CA, where to poll and whose keys to trust.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Enrolled {
    device_id: DeviceId,
    certificate: String,
    ca_certificate: String,
    issuer: String,
    agent_api: String,
    /// Pinned by the agent: the only keys it accepts commands from (ulo's JWKS document).
    jwks: Value,
    poll_interval_seconds: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PollParams {
    wait: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PollBody {
    console_user: Option<String>,
    os_version: Option<String>,
    hostname: Option<String>,
    agent_version: Option<String>,
    /// The kids of the ulo keys the agent pins (key rollover).
    pinned_kids: Option<Vec<String>>,
}

/// The claims of a signed command, what the agent verifies against the keys it pinned.
#[derive(Serialize)]
struct CommandClaims<'a> {
    iss: &'a str,
    aud: String,
    sub: String,
    jti: String,
    iat: i64,
    exp: i64,
    cmd: &'static str,
    login: &'a str,
    #[serde(rename = "userLogin")]
    user_login: &'a str,
    #[serde(rename = "logoutId")]
    logout_id: String,
}

/// A command as the agent gets it: signed.
#[derive(Serialize)]
struct SignedCommand {
    id: DeviceCommandId,
    #[serde(rename = "type")]
    kind: &'static str,
    token: String,
}

fn signed(state: &AppState, c: &DeviceCommand) -> ApiResult<SignedCommand> {
    let claims = CommandClaims {
        iss: state.issuer(),
        aud: c.device_id.to_string(),
        sub: c.user_id.to_string(),
        jti: c.id.to_string(),
        iat: state.clock.now().unix_timestamp(),
        exp: c.expires.unix_timestamp(),
        cmd: c.command_type.as_str(),
        login: &c.os_login,
        user_login: &c.user_login,
        logout_id: c.logout_id.to_string(),
    };
    let token = state
        .keys()
        .sign(KeyAlg::ES256, COMMAND_TYP, &claims)
        .map_err(ApiError::internal)?;
    Ok(SignedCommand {
        id: c.id,
        kind: c.command_type.as_str(),
        token,
    })
}

/// What a poll is answered for: the device and the ulo keys its agent pins.
struct Poller<'a> {
    device: DeviceId,
    pinned: Option<&'a [String]>,
}

/// Answers a poll: the commands (signed), the server's time for the agent's clock, and ulo's
/// current keys when the agent pins others (signed by one it pins).
fn answer(
    state: &AppState,
    poller: &Poller<'_>,
    commands: &[DeviceCommand],
) -> ApiResult<Json<PollAnswer>> {
    let commands = commands
        .iter()
        .map(|c| signed(state, c))
        .collect::<ApiResult<_>>()?;
    // Computed as the answer goes out, so commands signed by a just-rotated key come with it.
    let keyset = match poller.pinned {
        Some(pinned) => agent_keyset::keyset_for(state, poller.device, pinned)?,
        None => None,
    };
    Ok(Json(PollAnswer {
        commands,
        server_time: rfc3339(state.clock.now()),
        poll_interval_seconds: POLL_INTERVAL,
        keyset,
    }))
}

/// A poll's answer.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PollAnswer {
    commands: Vec<SignedCommand>,
    /// For the agent's clock.
    server_time: String,
    poll_interval_seconds: u64,
    /// ulo's current keys, signed by one the agent pins (when it pins others).
    #[serde(skip_serializing_if = "Option::is_none")]
    keyset: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/agent/poll",
    operation_id = "pollDeviceCommands",
    tag = "Device Logout",
    summary = "Poll for commands (agent)",
    description = "The agent reports its machine (console user, versions) and gets its commands, each a JWT signed by ulo (`typ: ulo-device-command+jwt`, `iss` ulo, `aud` the device id, `sub` the user id, `jti` the command id, `exp`, `cmd` SIGN_OUT, `login` the account to sign out) to verify against the keys pinned at enrollment. With `wait`, an empty answer is held up to that many seconds and sent the moment a command is issued (across processes on PostgreSQL). When the agent reports pinning other keys than ulo publishes (after `ulo keys rotate` or `retire`), the answer also carries `keyset`, ulo's current keys signed by a key the agent pins.",
    params(
        ("wait" = Option<i64>, Query, description = "Seconds to wait for a command, 0 to 60 (default 0).", minimum = 0, maximum = 60),
    ),
    request_body(content = schema::AgentPollRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The commands to run now (often none).", body = schema::AgentPollResponse, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
        (status = 400, response = responses::BadRequest),
        (status = 415, response = responses::UnsupportedMediaType),
    ),
    security(("DeviceAgent" = [])),
)]
async fn poll(
    State(state): State<AppState>,
    agent: Agent,
    ApiQuery(p): ApiQuery<PollParams>,
    ApiJson(b): ApiJson<PollBody>,
) -> ApiResult<Json<PollAnswer>> {
    let wait = p.wait.unwrap_or(0);
    if wait > MAX_WAIT {
        return Err(ApiError::bad_request(
            "Invalid poll",
            vec![format!("wait: at most {MAX_WAIT} seconds")],
        ));
    }
    if let Some(pinned) = &b.pinned_kids {
        agent_keyset::validate_pinned(pinned)?;
    }
    let poller = Poller {
        device: agent.call.device,
        pinned: b.pinned_kids.as_deref(),
    };
    let store = state.store.as_ref();
    let clock = state.clock.as_ref();
    // Watch before reading, so a command issued in between wakes the wait below.
    let mut watch = store.watch_device(agent.call.device).await;
    let report = AgentReport {
        console_user: b.console_user,
        os_version: b.os_version,
        hostname: b.hostname,
        agent_version: b.agent_version,
    };
    let polled = device::poll(store, clock, &state.config.device, &agent.call, &report).await?;
    if !polled.commands.is_empty() || wait == 0 {
        return answer(&state, &poller, &polled.commands);
    }
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(wait);
    let mut stop = state.shutdown.clone();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return answer(&state, &poller, &[]);
        }
        let woken = tokio::select! {
            w = watch.wait(left) => w,
            _ = stop.wait_for(|s| *s) => return answer(&state, &poller, &[]),
        };
        if !woken {
            return answer(&state, &poller, &[]);
        }
        let commands = device::take_pending(store, clock, agent.call.device).await?;
        if !commands.is_empty() {
            return answer(&state, &poller, &commands);
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum AckResult {
    Success,
    Failure,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AckBody {
    result: AckResult,
    detail: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/agent/commands/{id}/ack",
    operation_id = "acknowledgeDeviceCommand",
    tag = "Device Logout",
    summary = "Acknowledge a command (agent)",
    description = "The command's outcome: its DEVICE target becomes SUCCEEDED or FAILED (with the detail) and device.desktop_mfa.device_logout.completed is logged. Repeating the same answer is harmless; another answer, or one to an expired command, is 409.",
    params(
        ("id" = String, Path, description = "The command's id.", format = "uuid"),
    ),
    request_body(content = schema::AcknowledgeDeviceCommandRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Recorded.", body = schema::AcknowledgeDeviceCommandResponse, content_type = "application/json"),
        (status = 404, response = responses::NotFound),
        responses::AdminErrors,
        (status = 400, response = responses::BadRequest),
        (status = 415, response = responses::UnsupportedMediaType),
        (status = 409, response = responses::Conflict),
    ),
    security(("DeviceAgent" = [])),
)]
async fn ack(
    State(state): State<AppState>,
    agent: Agent,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<AckBody>,
) -> ApiResult<Json<AckAnswer>> {
    let cid: DeviceCommandId = id
        .parse()
        .map_err(|_| ApiError::not_found(format!("Not found: device command {id}")))?;
    let (c, logout) = device::ack(
        state.store.as_ref(),
        state.clock.as_ref(),
        &agent.call,
        cid,
        matches!(b.result, AckResult::Success),
        b.detail,
    )
    .await?;
    if let Some(l) = logout {
        state.receipt_changed(l.id);
    }
    Ok(Json(AckAnswer {
        id: c.id,
        status: c.status.as_str(),
    }))
}

/// An acknowledged command.
#[derive(Serialize)]
struct AckAnswer {
    id: DeviceCommandId,
    status: &'static str,
}
