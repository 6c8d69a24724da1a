//! The System Log side of [`Refusals`](super::Refusals): the first refusal of a window on its
//! own, the rest as one counted event per address and window.

use crate::log::catalogue as events;
use serde_json::json;

use super::{RefusalSummary, Verdict};
use crate::clock::{Clock, rfc3339};
use crate::context::Context;
use crate::log::{Actor, Client, LogEvent, Outcome};
use crate::store::{Store, StoreError};

/// The actor of a request nobody could be identified for.
fn anonymous() -> Actor {
    Actor {
        id: "anonymous".into(),
        actor_type: "PublicClientApp".into(),
        alternate_id: "anonymous".into(),
        display_name: "Unidentified caller".into(),
    }
}

fn context(client: Client) -> Context {
    let mut ctx = Context::system("WEB");
    ctx.actor = anonymous();
    ctx.roles = Vec::new();
    ctx.client = client;
    ctx
}

/// The event for the first refusal from `client` at `endpoint` in its window.
pub fn first_refusal_event(
    clock: &dyn Clock,
    endpoint: &str,
    client: &Client,
    reason: &str,
) -> LogEvent {
    LogEvent::build(
        &context(client.clone()),
        events::system::REQUEST_BLOCKED,
        clock.now(),
        format!("Refused a request to {endpoint}"),
    )
    .outcome(Outcome::failure(super::short_reason(reason)))
    .debug("endpoint", endpoint)
    .debug("refusals", 1)
    .finish()
}

/// The counted event for one address's further refusals at `endpoint` in one window.
pub fn summary_event(clock: &dyn Clock, endpoint: &str, s: &RefusalSummary) -> LogEvent {
    let client = Client {
        ip_address: Some(s.address.to_string()),
        user_agent: None,
        id: None,
    };
    LogEvent::build(
        &context(client),
        events::system::REQUEST_BLOCKED,
        clock.now(),
        format!(
            "Refused {} more requests to {endpoint} from one address ({} answered 429)",
            s.refused, s.throttled
        ),
    )
    .outcome(Outcome::failure(s.last_reason.clone()))
    .debug("endpoint", endpoint)
    .debug("refusals", s.refused)
    .debug("throttled", s.throttled)
    .debug("windowStart", rfc3339(s.window_start))
    .debug("windowEnd", rfc3339(s.window_end))
    .debug("summary", json!(true))
    .finish()
}

/// Writes what a refusal's [`Verdict`] and a closed window call for, in one transaction.
pub async fn record_refusal(
    store: &dyn Store,
    clock: &dyn Clock,
    endpoint: &str,
    client: &Client,
    reason: &str,
    verdict: Verdict,
    closed: Option<&RefusalSummary>,
) -> Result<(), StoreError> {
    let mut events = Vec::new();
    if verdict == Verdict::RecordFirst {
        events.push(first_refusal_event(clock, endpoint, client, reason));
    }
    if let Some(s) = closed {
        events.push(summary_event(clock, endpoint, s));
    }
    append(store, &events).await
}

/// Writes the summaries of closed windows (the periodic sweep and shutdown).
pub async fn record_summaries(
    store: &dyn Store,
    clock: &dyn Clock,
    endpoint: &str,
    summaries: &[RefusalSummary],
) -> Result<(), StoreError> {
    let events: Vec<LogEvent> = summaries
        .iter()
        .map(|s| summary_event(clock, endpoint, s))
        .collect();
    append(store, &events).await
}

async fn append(store: &dyn Store, events: &[LogEvent]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut tx = store.begin().await?;
    for e in events {
        tx.append_event(e).await?;
    }
    tx.commit().await
}
