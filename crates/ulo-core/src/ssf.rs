//! Shared Signals (SSF 1.0) transmitter: one event stream per app, managed by the app's receiver
//! with a credential ulo issues for that app; CAEP `session-revoked` on Universal Logout,
//! `credential-change` on password change, and verification events, pushed (RFC 8935) or
//! queued for polling (RFC 8936).

use crate::log::catalogue as events;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::app::{App, LogoutProtocol};
use crate::auth::{hash_token, new_token_secret};
use crate::clock::{Clock, serde_rfc3339};
use crate::context::{Context, require_write};
use crate::directory::Sealer;
use crate::error::DomainError;
use crate::ids::{AppId, JobId};
use crate::job::NewJob;
use crate::log::{LogEvent, Target};
use crate::store::{Store, StoreError, StoreTx};
use crate::user::{User, str_enum};

/// RFC 8935 push delivery.
pub const PUSH: &str = "urn:ietf:rfc:8935";
/// RFC 8936 poll delivery.
pub const POLL: &str = "urn:ietf:rfc:8936";
/// CAEP session revoked.
pub const SESSION_REVOKED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
/// CAEP credential change.
pub const CREDENTIAL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";
/// SSF stream verification.
pub const VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";
/// What ulo can send.
pub const EVENTS_SUPPORTED: [&str; 3] = [SESSION_REVOKED, CREDENTIAL_CHANGE, VERIFICATION];
/// The job kind that sends one event on a stream (verification, credential change).
pub const EVENT_JOB: &str = "ssf.event";
/// How long events on a stream are retried.
pub const EVENT_DEADLINE: Duration = Duration::hours(24);

/// Whether a stream delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamStatus {
    /// Events are delivered.
    Enabled,
    /// Events are held and delivered when enabled again.
    Paused,
    /// Events are not delivered.
    Disabled,
}
str_enum!(StreamStatus { Enabled => "enabled", Paused => "paused", Disabled => "disabled" });

/// How a stream delivers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamDelivery {
    /// [`PUSH`] or [`POLL`].
    pub method: String,
    /// Push: the receiver's URL. Poll: ulo's URL the receiver polls.
    pub endpoint_url: Option<String>,
    /// Push: the `Authorization` header value to send, sealed at rest.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub authorization_header_sealed: Option<String>,
}

/// An app's event stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SsfStream {
    /// Id.
    pub stream_id: String,
    /// The app whose receiver owns it.
    pub app_id: AppId,
    /// Audience of its SETs: the app's OIDC client id (or the app id).
    pub aud: String,
    /// What the receiver asked for.
    pub events_requested: Vec<String>,
    /// Delivery.
    pub delivery: StreamDelivery,
    /// Free text.
    pub description: Option<String>,
    /// Whether it delivers.
    pub status: StreamStatus,
    /// Why it has that status.
    pub status_reason: Option<String>,
    /// Created.
    #[serde(with = "serde_rfc3339")]
    pub created: OffsetDateTime,
    /// Last changed.
    #[serde(with = "serde_rfc3339")]
    pub updated: OffsetDateTime,
}

impl SsfStream {
    /// The events this stream carries: requested and supported.
    pub fn events_delivered(&self) -> Vec<String> {
        self.events_requested
            .iter()
            .filter(|e| EVENTS_SUPPORTED.contains(&e.as_str()))
            .cloned()
            .collect()
    }

    /// Whether `event` goes out on this stream (verification always does).
    pub fn carries(&self, event: &str) -> bool {
        event == VERIFICATION || self.events_delivered().iter().any(|e| e == event)
    }
}

/// A credential an app's receiver uses to manage its stream and poll (Bearer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SsfCredential {
    /// Id.
    pub id: String,
    /// The app.
    pub app_id: AppId,
    /// First characters of the token.
    pub token_prefix: String,
    /// Created.
    #[serde(with = "serde_rfc3339")]
    pub created: OffsetDateTime,
    /// SHA-256 hex of the token.
    #[serde(skip)]
    pub token_hash: String,
}

/// The purpose binding of a stream's sealed push credential.
pub fn push_auth_purpose(app: AppId) -> String {
    format!("ssf-push-authorization:{app}")
}

/// The payload of an [`EVENT_JOB`]: one event for one app's stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventPayload {
    /// The app.
    pub app_id: AppId,
    /// Event type URI.
    pub event_type: String,
    /// The event's members.
    pub event: Value,
    /// RFC 9493 subject (`None` for a verification event, whose subject is the stream).
    pub sub_id: Option<Value>,
}

/// The key a subject is remembered under (RFC 9493 identifiers compared by value).
pub fn subject_key(sub_id: &Value) -> Result<String, String> {
    let format = sub_id["format"].as_str().ok_or("subject: needs a format")?;
    let field = |k: &str| {
        sub_id[k]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or(format!("subject: format {format} needs {k}"))
    };
    Ok(match format {
        "email" => format!("email:{}", field("email")?.to_lowercase()),
        "iss_sub" => format!("iss_sub:{}|{}", field("iss")?, field("sub")?),
        "opaque" => format!("opaque:{}", field("id")?),
        other => return Err(format!("subject: format {other:?} is not supported")),
    })
}

/// What a receiver sends to create or replace a stream.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamInput {
    /// Events wanted.
    #[serde(default)]
    pub events_requested: Vec<String>,
    /// Delivery.
    pub delivery: Option<DeliveryInput>,
    /// Free text.
    pub description: Option<String>,
    /// Read-only; must match when given.
    pub stream_id: Option<String>,
    /// Read-only, ignored.
    pub iss: Option<Value>,
    /// Read-only, ignored.
    pub aud: Option<Value>,
    /// Read-only, ignored.
    pub events_supported: Option<Value>,
    /// Read-only, ignored.
    pub events_delivered: Option<Value>,
    /// Read-only, ignored.
    pub min_verification_interval: Option<Value>,
}

/// Delivery as a receiver asks for it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryInput {
    /// [`PUSH`] or [`POLL`].
    pub method: String,
    /// Push: where to send.
    pub endpoint_url: Option<String>,
    /// Push: the `Authorization` header to send.
    pub authorization_header: Option<String>,
}

/// Stream management over a store, for one app's receiver.
pub struct Transmitter<'a> {
    /// Storage.
    pub store: &'a dyn Store,
    /// Time.
    pub clock: &'a dyn Clock,
    /// Seals push credentials.
    pub sealer: &'a dyn Sealer,
    /// ulo's issuer (poll URLs are under it).
    pub issuer: &'a str,
    /// Outbound URL rules for push endpoints.
    pub outbound: crate::app::OutboundPolicy,
}

fn not_found() -> DomainError {
    DomainError::not_found("stream", "of this receiver")
}

/// `app`'s stream when `stream_id` names it; 404 otherwise (another receiver's stream is
/// indistinguishable from none).
async fn owned_stream(
    tx: &mut dyn StoreTx,
    app: &App,
    stream_id: &str,
) -> Result<SsfStream, DomainError> {
    match tx.get_ssf_stream(app.id).await? {
        Some(s) if s.stream_id == stream_id => Ok(s),
        _ => Err(not_found()),
    }
}

impl Transmitter<'_> {
    /// The app a receiver's bearer token belongs to; `None` when the token is unknown.
    pub async fn authenticate(&self, token: &str) -> Result<Option<App>, DomainError> {
        let mut tx = self.store.read().await?;
        let Some(c) = tx.find_ssf_credential(&hash_token(token)).await? else {
            return Ok(None);
        };
        Ok(tx.get_app(c.app_id).await?)
    }

    fn build(
        &self,
        app: &App,
        input: StreamInput,
        existing: Option<&SsfStream>,
        now: OffsetDateTime,
    ) -> Result<SsfStream, DomainError> {
        let mut p = crate::error::Problems::default();
        if let (Some(given), Some(s)) = (&input.stream_id, existing) {
            p.check(
                given != &s.stream_id,
                "stream_id: does not match the stream",
            );
        }
        for e in &input.events_requested {
            p.check(
                url::Url::parse(e).is_err(),
                format!("events_requested: {e:?} is not an event type URI"),
            );
        }
        let delivery = match input.delivery {
            None => match existing {
                Some(s) => s.delivery.clone(),
                None => StreamDelivery {
                    method: POLL.into(),
                    endpoint_url: None,
                    authorization_header_sealed: None,
                },
            },
            Some(d) if d.method == PUSH => {
                match &d.endpoint_url {
                    None => p.add("delivery.endpoint_url: push delivery needs the receiver's URL"),
                    Some(u) => {
                        if let Err(e) = self.outbound.check_url("delivery.endpoint_url", u) {
                            p.add(e);
                        }
                    }
                }
                let sealed = match &d.authorization_header {
                    Some(h) => Some(
                        self.sealer
                            .seal(h.as_bytes(), &push_auth_purpose(app.id))
                            .map_err(|e| DomainError::invalid("sealing failed", e))?,
                    ),
                    None => None,
                };
                StreamDelivery {
                    method: PUSH.into(),
                    endpoint_url: d.endpoint_url,
                    authorization_header_sealed: sealed,
                }
            }
            Some(d) if d.method == POLL => {
                p.check(
                    d.endpoint_url.is_some(),
                    "delivery.endpoint_url: the transmitter chooses the poll URL; leave it out",
                );
                p.check(
                    d.authorization_header.is_some(),
                    "delivery.authorization_header: only for push delivery",
                );
                StreamDelivery {
                    method: POLL.into(),
                    endpoint_url: None,
                    authorization_header_sealed: None,
                }
            }
            Some(d) => {
                p.add(format!(
                    "delivery.method: {:?} is not supported (use {PUSH} or {POLL})",
                    d.method
                ));
                StreamDelivery {
                    method: d.method,
                    endpoint_url: None,
                    authorization_header_sealed: None,
                }
            }
        };
        p.check(
            input
                .description
                .as_ref()
                .is_some_and(|d| d.chars().count() > 1000),
            "description: at most 1,000 characters",
        );
        p.finish("The stream configuration is not valid")?;
        let stream_id = existing
            .map(|s| s.stream_id.clone())
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        let mut delivery = delivery;
        if delivery.method == POLL {
            delivery.endpoint_url = Some(format!("{}/ssf/poll/{stream_id}", self.issuer));
        }
        Ok(SsfStream {
            stream_id,
            app_id: app.id,
            aud: app
                .oidc
                .as_ref()
                .map(|o| o.client_id.clone())
                .unwrap_or_else(|| app.id.to_string()),
            events_requested: input.events_requested,
            delivery,
            description: input.description,
            status: existing.map(|s| s.status).unwrap_or(StreamStatus::Enabled),
            status_reason: existing.and_then(|s| s.status_reason.clone()),
            created: existing.map(|s| s.created).unwrap_or(now),
            updated: now,
        })
    }

    fn event(
        &self,
        app: &App,
        event_type: crate::log::EventType,
        stream: &SsfStream,
        now: OffsetDateTime,
    ) -> LogEvent {
        let ctx = Context::system("SSF");
        LogEvent::build(
            &ctx,
            event_type,
            now,
            format!("SSF stream of {}", app.label),
        )
        .target(Target::app(app))
        .debug("streamId", stream.stream_id.clone())
        .debug("deliveryMethod", stream.delivery.method.clone())
        .debug("status", stream.status.as_str())
        .finish()
    }

    /// Creates the app's stream (one per app).
    pub async fn create(&self, app: &App, input: StreamInput) -> Result<SsfStream, DomainError> {
        let mut tx = self.store.begin().await?;
        if tx.get_ssf_stream(app.id).await?.is_some() {
            return Err(DomainError::Conflict(
                "This receiver already has a stream; update or delete it".into(),
            ));
        }
        let now = self.clock.now();
        let stream = self.build(app, input, None, now)?;
        tx.put_ssf_stream(&stream).await?;
        tx.append_event(&self.event(app, events::ssf::STREAM_CREATE, &stream, now))
            .await?;
        tx.commit().await?;
        Ok(stream)
    }

    /// The app's stream, checked against `stream_id` when given.
    pub async fn get(&self, app: &App, stream_id: Option<&str>) -> Result<SsfStream, DomainError> {
        let mut tx = self.store.read().await?;
        let s = tx.get_ssf_stream(app.id).await?.ok_or_else(not_found)?;
        match stream_id {
            Some(id) if id != s.stream_id => Err(not_found()),
            _ => Ok(s),
        }
    }

    /// Replaces (PUT) or updates (PATCH: only the members given) the stream.
    pub async fn change(
        &self,
        app: &App,
        body: Value,
        replace: bool,
    ) -> Result<SsfStream, DomainError> {
        let mut tx = self.store.begin().await?;
        let existing = tx.get_ssf_stream(app.id).await?.ok_or_else(not_found)?;
        let Value::Object(given) = body else {
            return Err(DomainError::invalid(
                "bad body",
                "the body must be a JSON object",
            ));
        };
        if given.get("stream_id").and_then(Value::as_str) != Some(existing.stream_id.as_str()) {
            return Err(not_found());
        }
        let mut merged = given.clone();
        if !replace {
            if !merged.contains_key("events_requested") {
                merged.insert("events_requested".into(), json!(existing.events_requested));
            }
            if !merged.contains_key("description") {
                merged.insert("description".into(), json!(existing.description));
            }
        }
        let input: StreamInput = serde_json::from_value(Value::Object(merged)).map_err(|e| {
            DomainError::invalid("The stream configuration is not valid", e.to_string())
        })?;
        let now = self.clock.now();
        let stream = self.build(app, input, Some(&existing), now)?;
        tx.put_ssf_stream(&stream).await?;
        tx.append_event(&self.event(app, events::ssf::STREAM_UPDATE, &stream, now))
            .await?;
        tx.commit().await?;
        Ok(stream)
    }

    /// Deletes the stream and what it queued.
    pub async fn delete(&self, app: &App, stream_id: &str) -> Result<(), DomainError> {
        let mut tx = self.store.begin().await?;
        let s = owned_stream(tx.as_mut(), app, stream_id).await?;
        tx.delete_ssf_stream(app.id).await?;
        let now = self.clock.now();
        tx.append_event(&self.event(app, events::ssf::STREAM_DELETE, &s, now))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets the stream's status.
    pub async fn set_status(
        &self,
        app: &App,
        stream_id: &str,
        status: StreamStatus,
        reason: Option<String>,
    ) -> Result<SsfStream, DomainError> {
        let mut tx = self.store.begin().await?;
        let mut s = owned_stream(tx.as_mut(), app, stream_id).await?;
        let now = self.clock.now();
        s.status = status;
        s.status_reason = reason;
        s.updated = now;
        tx.put_ssf_stream(&s).await?;
        tx.append_event(&self.event(app, events::ssf::STREAM_STATUS, &s, now))
            .await?;
        tx.commit().await?;
        Ok(s)
    }

    /// Includes (`add`) or excludes a subject from the stream's events.
    pub async fn subject(
        &self,
        app: &App,
        stream_id: &str,
        subject: &Value,
        add: bool,
    ) -> Result<(), DomainError> {
        let key = subject_key(subject).map_err(|e| DomainError::invalid("Invalid subject", e))?;
        let mut tx = self.store.begin().await?;
        owned_stream(tx.as_mut(), app, stream_id).await?;
        tx.put_ssf_subject(app.id, &key, add).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Queues a verification event carrying `state`.
    pub async fn verify(
        &self,
        app: &App,
        stream_id: &str,
        state: Option<String>,
    ) -> Result<(), DomainError> {
        let mut tx = self.store.begin().await?;
        owned_stream(tx.as_mut(), app, stream_id).await?;
        let mut event = json!({});
        if let Some(state) = state {
            event["state"] = json!(state);
        }
        let now = self.clock.now();
        enqueue_event(tx.as_mut(), app.id, VERIFICATION, event, None, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// RFC 8936: acknowledges `ack`, records `set_errs`, and answers up to `max` queued SETs
    /// (jti → SET) and whether more are waiting. Acknowledged SETs that carried a logout complete
    /// that logout's target; answers the logouts that changed too.
    pub async fn poll(
        &self,
        app: &App,
        stream_id: &str,
        ack: &[String],
        set_errs: &serde_json::Map<String, Value>,
        max: u32,
    ) -> Result<PollAnswer, DomainError> {
        let mut tx = self.store.begin().await?;
        let s = tx.get_ssf_stream(app.id).await?.ok_or_else(not_found)?;
        if s.stream_id != stream_id || s.delivery.method != POLL {
            return Err(not_found());
        }
        let now = self.clock.now();
        let mut changed = Vec::new();
        let answered = ack
            .iter()
            .map(|j| (j, None))
            .chain(set_errs.iter().map(|(j, e)| (j, Some(e))));
        for (jti, err) in answered {
            let Some(delivery) = tx.ack_ssf_set(app.id, jti).await? else {
                continue;
            };
            let Some(delivery) = delivery else { continue };
            let Ok(d) = serde_json::from_value::<crate::logout::Delivery>(delivery) else {
                continue;
            };
            let outcome = crate::logout::DeliveryOutcome {
                attempt: 1,
                status: if err.is_some() {
                    crate::logout::TargetStatus::Failed
                } else {
                    crate::logout::TargetStatus::Succeeded
                },
                http_status: None,
                error: err.map(|e| {
                    format!(
                        "the receiver reported {}: {}",
                        e["err"].as_str().unwrap_or("an error"),
                        e["description"].as_str().unwrap_or("")
                    )
                }),
            };
            if crate::logout::record_delivery(tx.as_mut(), &d, &outcome, now)
                .await?
                .is_some()
            {
                changed.push(d.logout_id);
            }
        }
        let mut sets = tx.poll_ssf_sets(app.id, max.saturating_add(1)).await?;
        let more = sets.len() > max as usize;
        sets.truncate(max as usize);
        tx.commit().await?;
        Ok(PollAnswer {
            sets,
            more_available: more,
            changed,
        })
    }
}

/// What a poll answers.
#[derive(Debug, Clone)]
pub struct PollAnswer {
    /// (jti, SET) pairs.
    pub sets: Vec<(String, String)>,
    /// Whether more SETs wait.
    pub more_available: bool,
    /// Logouts whose receipts changed through acknowledgements.
    pub changed: Vec<crate::ids::LogoutId>,
}

/// Enqueues one event for one app's stream.
pub async fn enqueue_event(
    tx: &mut dyn StoreTx,
    app: AppId,
    event_type: &str,
    event: Value,
    sub_id: Option<Value>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let payload = EventPayload {
        app_id: app,
        event_type: event_type.into(),
        event,
        sub_id,
    };
    let job = NewJob {
        id: JobId::new(),
        kind: EVENT_JOB.into(),
        payload: serde_json::to_value(&payload).map_err(|e| StoreError::Invalid(e.to_string()))?,
        run_at: now,
        deadline: now + EVENT_DEADLINE,
    };
    tx.enqueue_job(&job).await
}

/// CAEP `credential-change` to every SSF app of `user` whose stream asked for it.
pub async fn credential_changed(
    tx: &mut dyn StoreTx,
    user: &User,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    for link in tx.list_user_app_links(user.id).await? {
        let app = &link.app;
        if !app.logout.enabled || app.logout.protocol != Some(LogoutProtocol::Ssf) {
            continue;
        }
        let Some(stream) = tx.get_ssf_stream(app.id).await? else {
            continue;
        };
        if !stream.carries(CREDENTIAL_CHANGE) {
            continue;
        }
        let email = if user.profile.email.is_empty() {
            &user.profile.login
        } else {
            &user.profile.email
        };
        let event = json!({
            "event_timestamp": now.unix_timestamp(),
            "credential_type": "password",
            "change_type": "update",
            "initiating_entity": "admin",
        });
        let sub = json!({"format": "email", "email": email});
        enqueue_event(tx, app.id, CREDENTIAL_CHANGE, event, Some(sub), now).await?;
    }
    Ok(())
}

/// Issues a receiver credential for an app's SSF stream (shown once). Needs SUPER_ADMIN.
pub async fn create_credential(
    store: &dyn Store,
    clock: &dyn Clock,
    ctx: &Context,
    app_key: &str,
) -> Result<(SsfCredential, String), DomainError> {
    require_write(ctx)?;
    let app_id: AppId = app_key
        .parse()
        .map_err(|_| DomainError::not_found("app", app_key))?;
    let mut tx = store.begin().await?;
    let app = tx
        .get_app(app_id)
        .await?
        .ok_or_else(|| DomainError::not_found("app", app_key))?;
    let secret = new_token_secret();
    let now = clock.now();
    let cred = SsfCredential {
        id: uuid::Uuid::now_v7().to_string(),
        app_id,
        token_prefix: secret.chars().take(8).collect(),
        created: now,
        token_hash: hash_token(&secret),
    };
    tx.insert_ssf_credential(&cred).await?;
    let ev = LogEvent::build(
        ctx,
        events::ssf::CREDENTIAL_CREATE,
        now,
        format!(
            "Issue a Shared Signals receiver credential for {}",
            app.label
        ),
    )
    .target(Target::app(&app))
    .debug("credentialId", cred.id.clone())
    .finish();
    tx.append_event(&ev).await?;
    tx.commit().await?;
    Ok((cred, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_keys() {
        assert_eq!(
            subject_key(&json!({"format": "email", "email": "A@Example.com"})).unwrap(),
            "email:a@example.com"
        );
        assert_eq!(
            subject_key(&json!({"format": "iss_sub", "iss": "https://u", "sub": "1"})).unwrap(),
            "iss_sub:https://u|1"
        );
        assert!(subject_key(&json!({"format": "phone_number"})).is_err());
        assert!(subject_key(&json!({"format": "email"})).is_err());
        assert!(subject_key(&json!({})).is_err());
    }
}
