//! The `scim.push` job: makes one user's account in one app's SCIM server match what ulo wants
//! (RFC 7644 create, PATCH, deactivate). Each attempt reads the current user, app and link, so a
//! retry pushes the latest state and a repeated push changes nothing.

use std::sync::Arc;
use std::time::Duration as StdDuration;
use ulo_core::log::catalogue as events;

use async_trait::async_trait;
use serde_json::{Value, json};
use time::OffsetDateTime;
use ulo_core::app::{App, OutboundPolicy};
use ulo_core::context::Context;
use ulo_core::directory::Sealer;
use ulo_core::job::{Job, JobResult};
use ulo_core::log::{LogEvent, Outcome, Target};
use ulo_core::provisioning::{Desired, LinkState, PUSH_JOB, PushPayload, scim_token_purpose};
use ulo_core::store::{Store, StoreError, StoreTx};
use ulo_core::user::User;

use crate::http;
use crate::{Attempt, Finished, JobKind, Ran};

/// The job kind.
pub const KIND: &str = PUSH_JOB;

const SCIM_JSON: &str = "application/scim+json";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const PUSH_EVENT: ulo_core::log::EventType = events::app::PROVISION_PUSH;
const DEACTIVATE_EVENT: ulo_core::log::EventType = events::app::PROVISION_DEACTIVATE;

/// What one attempt did, for `record` to write down.
#[derive(Debug, Clone, Default)]
pub struct Pushed {
    /// `create`, `update` or `deactivate`; `None` when nothing needed pushing.
    operation: Option<&'static str>,
    /// What was wanted when the attempt ran.
    desired: Option<Desired>,
    /// HTTP status of the last request.
    status: Option<u16>,
    /// The id the app holds the user under after the attempt (`None`: unchanged).
    remote_id: Option<String>,
    /// The app forgot the user (404 on deactivation): drop the stale id.
    forget_remote: bool,
}

/// Pushes users to apps' SCIM servers.
pub struct ScimPush {
    client: reqwest::Client,
    policy: OutboundPolicy,
    store: Arc<dyn Store>,
    sealer: Arc<dyn Sealer>,
}

impl ScimPush {
    /// A pusher with a per-request `timeout`.
    pub fn new(
        policy: OutboundPolicy,
        timeout: StdDuration,
        store: Arc<dyn Store>,
        sealer: Arc<dyn Sealer>,
    ) -> Result<Self, String> {
        Ok(ScimPush {
            client: http::client(policy, timeout)?,
            policy,
            store,
            sealer,
        })
    }

    async fn attempt(&self, payload: &PushPayload, pushed: &mut Pushed) -> Attempt {
        let loaded = async {
            let mut tx = self.store.read().await?;
            let user = tx.get_user(payload.user_id).await?;
            let app = tx.get_app(payload.app_id).await?;
            let link = tx
                .get_app_user_link(payload.app_id, payload.user_id)
                .await?;
            Ok::<_, StoreError>((user, app, link))
        }
        .await;
        let (user, app, link) = match loaded {
            Ok((Some(u), Some(a), Some(l))) => (u, a, l),
            // The user, app or link is gone (deleted): nothing left to push.
            Ok(_) => return Attempt::Done,
            Err(e) => return retry(format!("reading the link: {e}")),
        };
        let Some(prov) = &app.provisioning else {
            return fail(format!("app {:?} has no provisioning part", app.label));
        };
        pushed.desired = Some(link.desired);
        let token = match &app.secrets.scim_token_sealed {
            None => None,
            Some(sealed) => match self.sealer.open(sealed, &scim_token_purpose(app.id)) {
                Ok(t) => Some(String::from_utf8_lossy(&t).into_owned()),
                Err(e) => return fail(format!("the app's SCIM token cannot be opened: {e}")),
            },
        };
        let target = Endpoint {
            base: prov.scim.base_url.trim_end_matches('/').to_string(),
            token,
        };
        match (link.desired, link.remote_id) {
            (Desired::Inactive, None) => Attempt::Done,
            (Desired::Inactive, Some(id)) => {
                pushed.operation = Some("deactivate");
                let body = json!({"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "value": {"active": false}}]});
                let (status, attempt, _) = self.send(&target, "PATCH", &id, Some(&body)).await;
                pushed.status = status;
                if status == Some(404) {
                    // Gone from the app: as deactivated as it gets.
                    pushed.forget_remote = true;
                    return Attempt::Done;
                }
                attempt
            }
            (Desired::Active, Some(id)) => {
                pushed.operation = Some("update");
                let (status, attempt, _) = self
                    .send(&target, "PATCH", &id, Some(&patch_body(&user)))
                    .await;
                pushed.status = status;
                if status == Some(404) {
                    // The app lost the user: create them again.
                    pushed.operation = Some("create");
                    return self.create(&target, &user, pushed).await;
                }
                attempt
            }
            (Desired::Active, None) => {
                pushed.operation = Some("create");
                self.create(&target, &user, pushed).await
            }
        }
    }

    /// `POST /Users`; on a uniqueness conflict, adopts the user the app already has.
    async fn create(&self, target: &Endpoint, user: &User, pushed: &mut Pushed) -> Attempt {
        let (status, attempt, body) = self.send(target, "POST", "", Some(&user_body(user))).await;
        pushed.status = status;
        if status == Some(409) {
            let filters = [
                format!("externalId eq \"{}\"", user.id),
                format!("userName eq \"{}\"", scim_escape(&user.profile.login)),
            ];
            for filter in filters {
                let (status, attempt, body) = self.search(target, &filter).await;
                pushed.status = status;
                if attempt != Attempt::Done {
                    return attempt;
                }
                let found = body["Resources"]
                    .as_array()
                    .and_then(|r| r.first())
                    .and_then(|r| r["id"].as_str())
                    .map(str::to_string);
                if let Some(id) = found {
                    pushed.remote_id = Some(id.clone());
                    pushed.operation = Some("update");
                    // Adopted: bring it up to date and active.
                    let (status, attempt, _) = self
                        .send(target, "PATCH", &id, Some(&patch_body(user)))
                        .await;
                    pushed.status = status;
                    return attempt;
                }
            }
            return fail("the app reports the user exists (409) but no search finds it".into());
        }
        if attempt != Attempt::Done {
            return attempt;
        }
        match body["id"].as_str() {
            Some(id) if !id.is_empty() => {
                pushed.remote_id = Some(id.to_string());
                Attempt::Done
            }
            _ => fail("the app created the user but answered no id".into()),
        }
    }

    async fn search(&self, target: &Endpoint, filter: &str) -> (Option<u16>, Attempt, Value) {
        let url = format!("{}/Users", target.base);
        let url = match http::check_url(&self.policy, &url) {
            Ok(u) => u,
            Err(e) => return (None, fail(e), Value::Null),
        };
        let req = self.client.get(url).query(&[("filter", filter)]);
        self.finish(target, req).await
    }

    /// Sends one request to `{base}/Users[/{id}]`.
    async fn send(
        &self,
        target: &Endpoint,
        method: &str,
        id: &str,
        body: Option<&Value>,
    ) -> (Option<u16>, Attempt, Value) {
        let url = if id.is_empty() {
            format!("{}/Users", target.base)
        } else {
            format!("{}/Users/{}", target.base, percent_segment(id))
        };
        let url = match http::check_url(&self.policy, &url) {
            Ok(u) => u,
            Err(e) => return (None, fail(e), Value::Null),
        };
        let method = match method {
            "POST" => reqwest::Method::POST,
            _ => reqwest::Method::PATCH,
        };
        let mut req = self.client.request(method, url);
        if let Some(b) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, SCIM_JSON)
                .body(b.to_string());
        }
        self.finish(target, req).await
    }

    async fn finish(
        &self,
        target: &Endpoint,
        mut req: reqwest::RequestBuilder,
    ) -> (Option<u16>, Attempt, Value) {
        req = req.header(reqwest::header::ACCEPT, SCIM_JSON);
        if let Some(t) = &target.token {
            req = req.bearer_auth(t);
        }
        let answer = http::send(&self.policy, req).await;
        let body = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
        (answer.status, answer.attempt, body)
    }
}

/// Where to push, and with which credential.
struct Endpoint {
    base: String,
    token: Option<String>,
}

fn fail(error: String) -> Attempt {
    Attempt::Fail { error }
}

fn retry(error: String) -> Attempt {
    Attempt::Retry {
        error,
        retry_after: None,
    }
}

/// Escapes a value for a quoted SCIM filter string.
fn scim_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Percent-encodes an id the app chose, for use as one path segment.
fn percent_segment(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn name(user: &User) -> Value {
    let p = &user.profile;
    json!({
        "givenName": p.first_name,
        "familyName": p.last_name,
        "formatted": format!("{} {}", p.first_name, p.last_name).trim(),
    })
}

fn emails(user: &User) -> Value {
    json!([{"value": user.profile.email, "type": "work", "primary": true}])
}

/// The SCIM User a create sends.
fn user_body(user: &User) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": user.profile.login,
        "externalId": user.id.to_string(),
        "name": name(user),
        "emails": emails(user),
        "active": true,
    })
}

/// The PatchOp that brings an existing account up to date and active.
fn patch_body(user: &User) -> Value {
    json!({
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "replace", "value": {
            "userName": user.profile.login,
            "externalId": user.id.to_string(),
            "name": name(user),
            "emails": emails(user),
            "active": true,
        }}],
    })
}

#[async_trait]
impl JobKind for ScimPush {
    const KIND: &'static str = KIND;
    type Queue = dyn Store;
    type Payload = PushPayload;
    type Outcome = Pushed;

    async fn run(&self, _job: &Job, payload: &PushPayload) -> Ran<Pushed> {
        let mut pushed = Pushed::default();
        let attempt = self.attempt(payload, &mut pushed).await;
        Ran::new(attempt, pushed)
    }

    async fn record(
        &self,
        tx: &mut (dyn StoreTx + 'static),
        finished: &[Finished<'_, Self>],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        for f in finished {
            record_push(tx, f, now).await?;
        }
        Ok(())
    }
}

/// Writes what one push did: the link's state, and a System Log event for each push tried.
async fn record_push(
    tx: &mut dyn StoreTx,
    f: &Finished<'_, ScimPush>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let (job, payload, pushed, attempt, result) =
        (f.job, f.payload, f.outcome, f.attempt, f.result);
    let Some(mut link) = tx
        .get_app_user_link(payload.app_id, payload.user_id)
        .await?
    else {
        return Ok(());
    };
    // What this attempt aimed at: the link's wish when it ran (or now, if it never ran).
    let desired = pushed.desired.unwrap_or(link.desired);
    if let Some(id) = &pushed.remote_id {
        link.remote_id = Some(id.clone());
    }
    if pushed.forget_remote {
        link.remote_id = None;
    }
    if let Some(s) = pushed.status {
        link.last_status = Some(i64::from(s));
    }
    let error = match attempt {
        Attempt::Done => None,
        Attempt::Retry { error, .. } | Attempt::Fail { error } => Some(error.clone()),
    };
    // A newer change re-queued the link: leave it PENDING for the push that follows.
    let superseded = link.desired != desired;
    match (&error, result) {
        (None, _) => {
            link.last_error = None;
            link.last_synced = Some(now);
            if !superseded {
                link.state = match desired {
                    Desired::Active => LinkState::Synced,
                    Desired::Inactive => LinkState::Deactivated,
                };
            }
        }
        (Some(e), JobResult::Dead { .. }) => {
            link.last_error = Some(e.clone());
            if !superseded {
                link.state = LinkState::Error;
            }
        }
        (Some(e), _) => {
            link.last_error = Some(e.clone());
            link.state = LinkState::Pending;
        }
    }
    link.updated = now;
    tx.put_app_user_link(&link).await?;

    let Some(operation) = pushed.operation.or(match (&error, desired) {
        // Never reached the far side (e.g. deadline passed before running): still one event.
        (Some(_), Desired::Active) => Some("update"),
        (Some(_), Desired::Inactive) => Some("deactivate"),
        (None, _) => None,
    }) else {
        return Ok(());
    };
    let user = tx.get_user(payload.user_id).await?;
    let app = tx.get_app(payload.app_id).await?;
    let event_type = if operation == "deactivate" {
        DEACTIVATE_EVENT
    } else {
        PUSH_EVENT
    };
    let ctx = Context::system("JOB");
    let login = user.as_ref().map(|u| u.profile.login.clone());
    let label = app.as_ref().map(|a| a.label.clone());
    let message = format!(
        "{} user {} in application {}",
        match operation {
            "create" => "Provision",
            "deactivate" => "Deactivate",
            _ => "Update",
        },
        login.as_deref().unwrap_or("?"),
        label.as_deref().unwrap_or("?"),
    );
    let mut ev =
        LogEvent::build(&ctx, event_type, now, message)
            .target(user.as_ref().map(Target::user).unwrap_or_else(|| {
                Target::new("User", payload.user_id, String::new(), String::new())
            }))
            .target(app.as_ref().map(app_target).unwrap_or_else(|| {
                Target::new("AppInstance", payload.app_id, String::new(), String::new())
            }))
            .debug("operation", operation)
            .debug("attempt", job.attempts)
            .debug("jobId", job.id.to_string());
    if let Some(s) = pushed.status {
        ev = ev.debug("httpStatus", s);
    }
    if let Some(id) = &link.remote_id {
        ev = ev.debug("remoteId", id.clone());
    }
    if let Some(e) = &error {
        ev = ev
            .outcome(Outcome::failure(e.clone()))
            .debug("willRetry", matches!(result, JobResult::Retry { .. }));
    }
    tx.append_event(&ev.finish()).await
}

fn app_target(a: &App) -> Target {
    Target::app(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_filters_are_escaped() {
        assert_eq!(percent_segment("a b/c"), "a%20b%2Fc");
        assert_eq!(percent_segment("2819c223-7f76"), "2819c223-7f76");
        assert_eq!(scim_escape(r#"a"b\c"#), r#"a\"b\\c"#);
    }
}
