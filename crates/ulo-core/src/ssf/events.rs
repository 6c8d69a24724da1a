//! Events ulo sends on a stream: enqueued in the transaction of what caused them.

use super::{CREDENTIAL_CHANGE, EVENT_DEADLINE, EVENT_JOB, EventPayload, SsfCredential};
use crate::log::catalogue as events;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::app::LogoutProtocol;
use crate::auth::{hash_token, new_token_secret};
use crate::clock::Clock;
use crate::context::{Context, require_write};
use crate::error::DomainError;
use crate::ids::{AppId, JobId};
use crate::job::NewJob;
use crate::log::{LogEvent, Target};
use crate::store::{Store, StoreError, StoreTx};
use crate::user::User;
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
