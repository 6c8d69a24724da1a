//! System Log events: the append-only record of every action, Okta-shaped.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::clock::serde_rfc3339;
use crate::context::Context;
use crate::ids::EventId;

pub mod catalogue;

pub use catalogue::EventType;

/// How serious an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    /// Diagnostic detail.
    Debug,
    /// Normal operation.
    Info,
    /// Something needs attention.
    Warn,
    /// Something failed.
    Error,
}

/// Who did it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    /// Id of the user, or `system`.
    pub id: String,
    /// `User`, `SystemPrincipal`, `PublicClientApp`…
    #[serde(rename = "type")]
    pub actor_type: String,
    /// Login or other readable id.
    pub alternate_id: String,
    /// Name to show.
    pub display_name: String,
}

impl Actor {
    /// ulo itself (jobs, policies, bootstrap).
    pub fn system() -> Self {
        Actor {
            id: "system".into(),
            actor_type: "SystemPrincipal".into(),
            alternate_id: "system@ulo".into(),
            display_name: "ulo".into(),
        }
    }
}

/// The user agent that made the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserAgent {
    /// The raw `User-Agent` header.
    pub raw_user_agent: String,
}

/// Where the request came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Client {
    /// Client IP address.
    pub ip_address: Option<String>,
    /// User agent.
    pub user_agent: Option<UserAgent>,
    /// The ulo client the action came through, when not the API: `ulo-admin-console` for the
    /// admin console (Okta's `client.id` names its admin app the same way).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// The result of the action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// SUCCESS, FAILURE, SKIPPED, ALLOW, DENY, CHALLENGE, UNKNOWN.
    pub result: String,
    /// Why, when not plain success.
    pub reason: Option<String>,
}

impl Outcome {
    /// Plain success.
    pub fn success() -> Self {
        Outcome {
            result: "SUCCESS".into(),
            reason: None,
        }
    }

    /// Failure with a reason.
    pub fn failure(reason: impl Into<String>) -> Self {
        Outcome {
            result: "FAILURE".into(),
            reason: Some(reason.into()),
        }
    }
}

/// What the action was done to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// Id of the object.
    pub id: String,
    /// `User`, `UserGroup`, `AppInstance`, `ApiToken`…
    #[serde(rename = "type")]
    pub target_type: String,
    /// Readable id.
    pub alternate_id: String,
    /// Name to show.
    pub display_name: String,
}

impl Target {
    /// A target of `target_type`.
    pub fn new(
        target_type: &str,
        id: impl ToString,
        alternate_id: impl Into<String>,
        display_name: impl Into<String>,
    ) -> Self {
        Target {
            id: id.to_string(),
            target_type: target_type.into(),
            alternate_id: alternate_id.into(),
            display_name: display_name.into(),
        }
    }

    /// A user target.
    pub fn user(u: &crate::user::User) -> Self {
        let name = format!("{} {}", u.profile.first_name, u.profile.last_name);
        Self::new(
            "User",
            u.id,
            u.profile.login.clone(),
            name.trim().to_string(),
        )
    }

    /// A group target.
    pub fn group(g: &crate::group::Group) -> Self {
        Self::new(
            "UserGroup",
            g.id,
            g.profile.name.clone(),
            g.profile.name.clone(),
        )
    }

    /// An app target.
    pub fn app(a: &crate::app::App) -> Self {
        Self::new("AppInstance", a.id, a.label.clone(), a.label.clone())
    }
}

/// Correlates the events of one action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transaction {
    /// Shared by every event of the action.
    pub id: String,
    /// `WEB` for API calls, `JOB` for background work.
    #[serde(rename = "type")]
    pub transaction_type: String,
}

/// Extra data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DebugContext {
    /// Free-form key/values (never secrets).
    pub debug_data: Map<String, Value>,
}

/// One System Log event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEvent {
    /// Unique, time-ordered id.
    pub uuid: EventId,
    /// When it happened.
    #[serde(with = "serde_rfc3339")]
    pub published: OffsetDateTime,
    /// Dotted type, e.g. `user.lifecycle.create`.
    pub event_type: String,
    /// Schema version.
    pub version: String,
    /// Severity.
    pub severity: Severity,
    /// One readable sentence.
    pub display_message: String,
    /// Who.
    pub actor: Actor,
    /// From where.
    pub client: Client,
    /// Result.
    pub outcome: Outcome,
    /// To what.
    pub target: Vec<Target>,
    /// Correlation.
    pub transaction: Transaction,
    /// Extra data.
    pub debug_context: DebugContext,
}

impl LogEvent {
    /// Starts an event of `event_type` done in `ctx` at `now`, with SUCCESS outcome and INFO severity.
    pub fn build(
        ctx: &Context,
        event_type: EventType,
        now: OffsetDateTime,
        message: impl Into<String>,
    ) -> EventBuilder {
        EventBuilder(LogEvent {
            uuid: EventId::new(),
            published: now,
            event_type: event_type.to_string(),
            version: "0".into(),
            severity: Severity::Info,
            display_message: message.into(),
            actor: ctx.actor.clone(),
            client: ctx.client.clone(),
            outcome: Outcome::success(),
            target: Vec::new(),
            transaction: ctx.transaction.clone(),
            debug_context: DebugContext::default(),
        })
    }
}

/// Fills in an event.
#[derive(Debug)]
pub struct EventBuilder(LogEvent);

impl EventBuilder {
    /// Adds a target.
    pub fn target(mut self, t: Target) -> Self {
        self.0.target.push(t);
        self
    }

    /// Sets the outcome.
    pub fn outcome(mut self, o: Outcome) -> Self {
        if o.result == "FAILURE" && self.0.severity == Severity::Info {
            self.0.severity = Severity::Warn;
        }
        self.0.outcome = o;
        self
    }

    /// Sets the severity.
    pub fn severity(mut self, s: Severity) -> Self {
        self.0.severity = s;
        self
    }

    /// Adds a debug datum.
    pub fn debug(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0
            .debug_context
            .debug_data
            .insert(key.to_string(), value.into());
        self
    }

    /// The finished event.
    pub fn finish(self) -> LogEvent {
        self.0
    }
}

/// Which way to sort System Log results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// Oldest first.
    #[default]
    Ascending,
    /// Newest first.
    Descending,
}

/// A System Log query, already validated.
#[derive(Debug, Clone)]
pub struct EventQuery {
    /// Inclusive lower bound.
    pub since: Option<OffsetDateTime>,
    /// Exclusive upper bound.
    pub until: Option<OffsetDateTime>,
    /// Continue after this event (keyset cursor: its `published` and `uuid`).
    pub after: Option<(OffsetDateTime, EventId)>,
    /// Filter over event fields.
    pub filter: Option<crate::filter::Filter>,
    /// Keywords, all of which must appear.
    pub keywords: Vec<String>,
    /// Sort order.
    pub sort: SortOrder,
    /// At most this many.
    pub limit: u32,
}
