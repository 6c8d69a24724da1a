//! A SET whose signature verified with its provider's keys: its claims checked (RFC 8417,
//! RFC 8935), its `jti` remembered, its subject resolved (RFC 9493), and
//! `security.events.provider.receive_event` logged with the detections its events map to — all
//! in one transaction, committed before the 202.

use serde::Serialize;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::{MappedDetection, Provider, ProviderStatus, events, map_event};
use crate::context::{Authority, Context};
use crate::error::DomainError;
use crate::ids::UserId;
use crate::log::catalogue as catalogue_events;
use crate::log::{Actor, Client, LogEvent, Outcome, Target};
use crate::logout::upstream::{SubjectError, resolve};
use crate::store::Store;
use crate::user::AdminRole;

/// An RFC 8935 §2.3 error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SetErrorCode {
    /// The request or the SET is malformed.
    InvalidRequest,
    /// The key or algorithm the SET is signed with is not acceptable.
    InvalidKey,
    /// The SET's issuer is not an active registered provider.
    InvalidIssuer,
    /// The SET is not meant for ulo.
    InvalidAudience,
    /// The signature does not verify.
    AuthenticationFailed,
}

impl SetErrorCode {
    /// The `err` value.
    pub fn as_str(self) -> &'static str {
        match self {
            SetErrorCode::InvalidRequest => "invalid_request",
            SetErrorCode::InvalidKey => "invalid_key",
            SetErrorCode::InvalidIssuer => "invalid_issuer",
            SetErrorCode::InvalidAudience => "invalid_audience",
            SetErrorCode::AuthenticationFailed => "authentication_failed",
        }
    }
}

/// Why a SET was refused: the RFC 8935 error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetError {
    /// `err`.
    pub code: SetErrorCode,
    /// `description`, for the provider's operators.
    pub description: String,
}

impl SetError {
    /// A refusal with `code`.
    pub fn new(code: SetErrorCode, description: impl Into<String>) -> Self {
        SetError {
            code,
            description: description.into(),
        }
    }

    fn request(description: impl Into<String>) -> Self {
        Self::new(SetErrorCode::InvalidRequest, description)
    }
}

/// How old and how early a SET's `iat` may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntakeSettings {
    /// A SET issued longer ago is refused (`invalid_request`); its `jti` is remembered this long.
    pub max_age: Duration,
    /// A SET issued later than now plus this is refused.
    pub future_skew: Duration,
}

impl Default for IntakeSettings {
    /// 30 minutes old at most (a provider's retries fit), 60 seconds of clock skew.
    fn default() -> Self {
        IntakeSettings {
            max_age: Duration::minutes(30),
            future_skew: Duration::seconds(60),
        }
    }
}

/// What became of an accepted SET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Its `jti`.
    pub jti: String,
    /// It was seen before: nothing was done again.
    pub replayed: bool,
    /// The user its subject names (`None`: not found, or a replay).
    pub user: Option<UserId>,
    /// The detections its events map to (empty for a replay or an unknown subject).
    pub detections: Vec<MappedDetection>,
}

/// The intake over a store.
pub struct Intake<'a> {
    /// Storage.
    pub store: &'a dyn Store,
    /// ulo's issuer: the `aud` SETs must carry.
    pub issuer: &'a str,
    /// The `iat` window.
    pub settings: IntakeSettings,
    /// How detections count and how long the logouts they start may take.
    pub risk: crate::risk::RiskSettings,
    /// Session influence, which Okta's `ip-change` events feed.
    pub session_influence: crate::session_influence::Settings,
}

/// The System Log actor of a provider.
pub fn provider_actor(p: &Provider) -> Actor {
    Actor {
        id: p.id.clone(),
        actor_type: "SecurityEventsProvider".into(),
        alternate_id: p.issuer.clone(),
        display_name: p.name.clone(),
    }
}

/// The context a provider's SET is handled in: it may lead to logouts, nothing else.
pub fn provider_context(p: &Provider, client: Client) -> Context {
    let mut ctx = Context::system("WEB");
    ctx.actor = provider_actor(p);
    ctx.client = client;
    ctx.roles = vec![AdminRole::SuperAdmin];
    ctx.authority = Authority::LogoutOnly;
    ctx
}

/// The checked parts of a SET.
struct Checked {
    jti: String,
    iat: OffsetDateTime,
    /// (event type, event body) of the accepted event types, in the SET's order.
    accepted: Vec<(String, Value)>,
    ignored: Vec<String>,
    detections: Vec<MappedDetection>,
    /// The new addresses of `ip-change` events (session influence compares them).
    ip_changes: Vec<std::net::IpAddr>,
    subject: Value,
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

impl Intake<'_> {
    /// The provider `iss` names, when registered and active; the unverified `iss` only picks the
    /// keys the signature is then verified with.
    pub async fn provider(&self, iss: &str) -> Result<Result<Provider, SetError>, DomainError> {
        let found = self
            .store
            .read()
            .await?
            .find_security_events_provider(iss)
            .await?;
        Ok(match found {
            None => Err(SetError::new(
                SetErrorCode::InvalidIssuer,
                "iss is not a registered security events provider",
            )),
            Some(p) if p.status != ProviderStatus::Active => Err(SetError::new(
                SetErrorCode::InvalidIssuer,
                "the security events provider is not active",
            )),
            Some(p) => Ok(p),
        })
    }

    fn check(
        &self,
        provider: &Provider,
        claims: &Value,
        now: OffsetDateTime,
    ) -> Result<Checked, SetError> {
        if claims.get("iss").and_then(Value::as_str) != Some(provider.issuer.as_str()) {
            return Err(SetError::new(
                SetErrorCode::InvalidIssuer,
                "iss does not match the provider whose keys signed the SET",
            ));
        }
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => same_url(a, self.issuer),
            Some(Value::Array(a)) => a
                .iter()
                .any(|a| a.as_str().is_some_and(|a| same_url(a, self.issuer))),
            _ => false,
        };
        if !aud_ok {
            return Err(SetError::new(
                SetErrorCode::InvalidAudience,
                format!("aud must be ulo's issuer {}", self.issuer),
            ));
        }
        let iat = claims
            .get("iat")
            .and_then(Value::as_i64)
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
            .ok_or_else(|| SetError::request("iat: required, in seconds since the epoch"))?;
        if iat > now + self.settings.future_skew {
            return Err(SetError::request("iat: the SET is issued in the future"));
        }
        if iat < now - self.settings.max_age {
            return Err(SetError::request(format!(
                "iat: the SET is older than {} seconds",
                self.settings.max_age.whole_seconds()
            )));
        }
        if let Some(exp) = claims.get("exp") {
            match exp.as_i64() {
                Some(e) if e > now.unix_timestamp() => {}
                _ => return Err(SetError::request("exp: the SET has expired")),
            }
        }
        let jti = claims
            .get("jti")
            .and_then(Value::as_str)
            .filter(|j| !j.is_empty() && j.len() <= 256)
            .ok_or_else(|| SetError::request("jti: required, 1 to 256 characters"))?
            .to_string();
        let Some(evs) = claims.get("events").and_then(Value::as_object) else {
            return Err(SetError::request(
                "events: required, an object of event type URIs",
            ));
        };
        if evs.is_empty() {
            return Err(SetError::request("events: holds no event"));
        }
        let (mut accepted, mut ignored, mut detections) = (Vec::new(), Vec::new(), Vec::new());
        let mut ip_changes = Vec::new();
        for (t, body) in evs {
            if !body.is_object() {
                return Err(SetError::request(format!("events: {t} must be an object")));
            }
            if !events::ACCEPTED.contains(&t.as_str()) {
                ignored.push(t.clone());
                continue;
            }
            detections.extend(map_event(t, body).map_err(SetError::request)?);
            if t == events::IP_CHANGE {
                ip_changes
                    .push(super::mapping::ip_change_address(body).map_err(SetError::request)?);
            }
            accepted.push((t.clone(), body.clone()));
        }
        if accepted.is_empty() {
            return Err(SetError::request(format!(
                "events: none of {ignored:?} is an event type ulo accepts"
            )));
        }
        // SSF 1.0 puts the subject in sub_id; older CAEP SETs in each event's `subject`.
        let subject = claims
            .get("sub_id")
            .or_else(|| accepted.iter().find_map(|(_, b)| b.get("subject")))
            .cloned()
            .ok_or_else(|| {
                SetError::request("sub_id: required (an RFC 9493 subject identifier)")
            })?;
        Ok(Checked {
            jti,
            iat,
            accepted,
            ignored,
            detections,
            ip_changes,
            subject,
        })
    }

    /// Handles a SET from `provider` whose signature verified: `Ok(Err(_))` refuses it (400),
    /// `Ok(Ok(_))` accepted it (202) with everything it caused committed.
    pub async fn accept(
        &self,
        provider: &Provider,
        claims: &Value,
        client: Client,
        now: OffsetDateTime,
    ) -> Result<Result<Accepted, SetError>, DomainError> {
        let c = match self.check(provider, claims, now) {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        // RFC 9493 `complex`: the user is what ulo acts on.
        let user_subject = match c.subject.get("format").and_then(Value::as_str) {
            Some("complex") => match c.subject.get("user") {
                Some(u) => u.clone(),
                None => {
                    return Ok(Err(SetError::request(
                        "sub_id: a complex subject needs a user",
                    )));
                }
            },
            _ => c.subject.clone(),
        };
        let mut tx = self.store.begin().await?;
        let found = match resolve(tx.as_mut(), self.issuer, &user_subject).await? {
            Ok(u) => Some(u),
            Err(SubjectError::Unknown) => None,
            Err(SubjectError::Invalid(m)) => return Ok(Err(SetError::request(m))),
        };
        let expires =
            c.iat + self.settings.max_age + self.settings.future_skew + Duration::minutes(1);
        let fresh = tx
            .remember_jti(&format!("set:{}", provider.id), &c.jti, expires, now)
            .await?;
        if !fresh {
            // A provider's retry of a SET already handled: nothing happens twice.
            return Ok(Ok(Accepted {
                jti: c.jti,
                replayed: true,
                user: None,
                detections: Vec::new(),
            }));
        }
        let ctx = provider_context(provider, client);
        let types: Vec<&str> = c.accepted.iter().map(|(t, _)| t.as_str()).collect();
        let detections = if found.is_some() {
            c.detections
        } else {
            Vec::new()
        };
        let mut ev = LogEvent::build(
            &ctx,
            catalogue_events::security_events::RECEIVE_EVENT,
            now,
            format!("Received a security event from {}", provider.name),
        )
        .target(super::providers::provider_target(provider))
        .debug("issuer", provider.issuer.clone())
        .debug("jti", c.jti.clone())
        .debug("eventTypes", json!(types))
        .debug("subject", c.subject.clone())
        .debug("detections", json!(detections));
        if !c.ignored.is_empty() {
            ev = ev.debug("ignoredEventTypes", json!(c.ignored));
        }
        ev = match &found {
            Some(u) => ev.target(Target::user(u)),
            None => ev.outcome(Outcome {
                result: "SKIPPED".into(),
                reason: Some("subject not found".into()),
            }),
        };
        tx.append_event(&ev.finish()).await?;
        // Each detection, the level it makes, the policy's answer and any logout it starts
        // commit with the SET's receipt: one transaction, one trace.
        if let Some(user) = &found {
            for d in &detections {
                let input = crate::risk::DetectionInput {
                    detection_type: d.detection_type,
                    level: d.level,
                    reasons: d.reasons.clone(),
                    issuer: Some(provider.issuer.clone()),
                };
                crate::risk::detect_in(tx.as_mut(), &ctx, user, input, &self.risk, now).await?;
            }
            for address in &c.ip_changes {
                crate::session_influence::ip_changed_in(
                    tx.as_mut(),
                    &ctx,
                    user,
                    *address,
                    &self.session_influence,
                    &self.risk,
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(Ok(Accepted {
            jti: c.jti,
            replayed: false,
            user: found.map(|u| u.id),
            detections,
        }))
    }
}
