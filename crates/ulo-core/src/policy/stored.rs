//! Where the Entity Risk Policy is kept. INTERIM: the `policy` storage area (trait pair, both
//! backends, migration 0018) is not built yet; the policy and its rules live as one JSON
//! document in the settings table, changed whole in one transaction.

use time::OffsetDateTime;

use super::model::{
    DEFAULT_PRIORITY, EntityRiskPolicy, PolicyRule, RuleActions, RuleConditions, RuleMode,
    RuleStatus,
};
use crate::error::DomainError;
use crate::ids::{PolicyId, PolicyRuleId};
use crate::store::{Store, StoreError, StoreRead, StoreTx};

const KEY: &str = "policy.entity_risk";

/// The policy, when it was created.
pub(super) async fn load(tx: &mut dyn StoreRead) -> Result<Option<EntityRiskPolicy>, DomainError> {
    match tx.get_setting(KEY).await? {
        None => Ok(None),
        Some(v) => Ok(Some(serde_json::from_value(v).map_err(|e| {
            StoreError::Corrupt(format!("Entity Risk Policy: {e}"))
        })?)),
    }
}

/// Stores the policy.
pub(super) async fn save(
    tx: &mut dyn StoreTx,
    policy: &EntityRiskPolicy,
    now: OffsetDateTime,
) -> Result<(), DomainError> {
    let value = serde_json::to_value(policy)
        .map_err(|e| StoreError::Invalid(format!("Entity Risk Policy: {e}")))?;
    tx.put_setting(KEY, &value, now).await?;
    Ok(())
}

/// A new policy with its default rule (priority 99, log only).
fn fresh(now: OffsetDateTime) -> EntityRiskPolicy {
    EntityRiskPolicy {
        id: PolicyId::new(),
        policy_type: "ENTITY_RISK".into(),
        name: "Entity Risk Policy".into(),
        status: "ACTIVE".into(),
        priority: 1,
        system: true,
        created: now,
        last_updated: now,
        rules: vec![PolicyRule {
            id: PolicyRuleId::new(),
            rule_type: "ENTITY_RISK".into(),
            name: "Default Rule".into(),
            priority: DEFAULT_PRIORITY,
            status: RuleStatus::Active,
            mode: RuleMode::Enforce,
            system: true,
            conditions: RuleConditions::default(),
            actions: RuleActions::default(),
            created: now,
            last_updated: now,
        }],
    }
}

/// The policy, created in `tx` (with its default rule) when missing.
pub(super) async fn ensure_in(
    tx: &mut dyn StoreTx,
    now: OffsetDateTime,
) -> Result<EntityRiskPolicy, DomainError> {
    if let Some(p) = load(tx).await? {
        return Ok(p);
    }
    let p = fresh(now);
    save(tx, &p, now).await?;
    Ok(p)
}

/// Creates the Entity Risk Policy with its default rule unless it exists (run on every start;
/// idempotent). Answers the policy.
pub async fn ensure(
    store: &dyn Store,
    now: OffsetDateTime,
) -> Result<EntityRiskPolicy, DomainError> {
    let mut tx = store.begin().await?;
    let p = ensure_in(tx.as_mut(), now).await?;
    tx.commit().await?;
    Ok(p)
}
