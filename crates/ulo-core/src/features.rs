//! Early-access features (Settings → Features): flags an admin turns on, off by default.

use crate::log::catalogue as events;
use serde::Serialize;

use crate::clock::Clock;
use crate::context::{Context, require_read, require_write};
use crate::error::DomainError;
use crate::log::{LogEvent, Target};
use crate::store::{Store, StoreError, StoreRead, StoreTx};

/// A feature ulo knows.
struct Known {
    id: &'static str,
    name: &'static str,
    description: &'static str,
}

const KNOWN: &[Known] = &[Known {
    id: crate::device::FEATURE,
    name: "Device Logout",
    description: "Sign people out of their enrolled computers (the desktop-mfa app's Logout setting must be on too)",
}];

/// A feature and whether it is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Feature {
    /// Stable id, used in the API path.
    pub id: &'static str,
    /// Name to show.
    pub name: &'static str,
    /// What it does.
    pub description: &'static str,
    /// `EA` (early access).
    pub stage: &'static str,
    /// `ENABLED` or `DISABLED`.
    pub status: &'static str,
}

fn setting_key(id: &str) -> String {
    format!("feature.{id}")
}

/// Whether feature `id` is on.
pub async fn is_enabled(tx: &mut dyn StoreRead, id: &str) -> Result<bool, StoreError> {
    Ok(tx
        .get_setting(&setting_key(id))
        .await?
        .and_then(|v| v.as_bool())
        .unwrap_or(false))
}

/// Refuses (403) while feature `id` is off, saying how to turn it on.
pub async fn require(tx: &mut dyn StoreTx, id: &str) -> Result<(), DomainError> {
    if is_enabled(tx, id).await? {
        return Ok(());
    }
    let name = KNOWN.iter().find(|k| k.id == id).map_or(id, |k| k.name);
    Err(DomainError::Forbidden(format!(
        "{name} is an early-access feature and it is off: an admin enables it with POST /api/v1/features/{id}/enable (Settings → Features)"
    )))
}

async fn describe(tx: &mut dyn StoreRead, k: &Known) -> Result<Feature, StoreError> {
    let on = is_enabled(tx, k.id).await?;
    Ok(Feature {
        id: k.id,
        name: k.name,
        description: k.description,
        stage: "EA",
        status: if on { "ENABLED" } else { "DISABLED" },
    })
}

/// Every feature and its state. Needs an admin role.
pub async fn list(store: &dyn Store, ctx: &Context) -> Result<Vec<Feature>, DomainError> {
    require_read(ctx)?;
    let mut tx = store.read().await?;
    let mut out = Vec::new();
    for k in KNOWN {
        out.push(describe(tx.as_mut(), k).await?);
    }
    Ok(out)
}

/// Turns feature `id` on or off (`system.feature.enable` / `.disable`). Needs SUPER_ADMIN.
pub async fn set(
    store: &dyn Store,
    clock: &dyn Clock,
    ctx: &Context,
    id: &str,
    enabled: bool,
) -> Result<Feature, DomainError> {
    require_write(ctx)?;
    let known = KNOWN
        .iter()
        .find(|k| k.id == id)
        .ok_or_else(|| DomainError::not_found("feature", id))?;
    let mut tx = store.begin().await?;
    let now = clock.now();
    if is_enabled(tx.as_mut(), id).await? != enabled {
        tx.put_setting(&setting_key(id), &serde_json::json!(enabled), now)
            .await?;
        let (event, verb) = if enabled {
            (events::system::FEATURE_ENABLE, "Enable")
        } else {
            (events::system::FEATURE_DISABLE, "Disable")
        };
        let ev = LogEvent::build(ctx, event, now, format!("{verb} feature {}", known.name))
            .target(Target::new("Feature", known.id, known.id, known.name))
            .finish();
        tx.append_event(&ev).await?;
    }
    let feature = describe(tx.as_mut(), known).await?;
    tx.commit().await?;
    Ok(feature)
}
