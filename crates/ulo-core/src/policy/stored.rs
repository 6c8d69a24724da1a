//! Where the Entity Risk Policy is kept: the store's `policies` area (`PoliciesRead` /
//! `PoliciesTx`), one policy row and one row per rule. Its creation on first start also brings
//! over what the interim version kept as settings documents (the policy, users' detections).

use time::OffsetDateTime;

use super::model::{
    DEFAULT_PRIORITY, EntityRiskPolicy, PolicyRule, RuleActions, RuleConditions, RuleMode,
    RuleStatus,
};
use crate::error::DomainError;
use crate::ids::{PolicyId, PolicyRuleId};
use crate::store::{Store, StoreError, StoreRead, StoreTx};

/// The one policy type ulo has.
pub(super) const ENTITY_RISK: &str = "ENTITY_RISK";

/// The settings key the interim version kept the whole policy under.
const LEGACY_KEY: &str = "policy.entity_risk";

/// The Entity Risk Policy with its rules in priority order, when it was created.
pub(super) async fn load(tx: &mut dyn StoreRead) -> Result<Option<EntityRiskPolicy>, DomainError> {
    Ok(tx.list_policies(ENTITY_RISK).await?.into_iter().next())
}

/// The policy `id` (any string: one that is not an id finds nothing).
pub(super) async fn load_by_id(
    tx: &mut dyn StoreRead,
    id: &str,
) -> Result<Option<EntityRiskPolicy>, DomainError> {
    match id.parse::<PolicyId>() {
        Ok(id) => Ok(tx.get_policy(id).await?),
        Err(_) => Ok(None),
    }
}

/// Writes the priorities that differ between `before` and `after` (the same rules, reordered).
pub(super) async fn save_order(
    tx: &mut dyn StoreTx,
    policy: PolicyId,
    before: &[PolicyRule],
    after: &[PolicyRule],
) -> Result<(), DomainError> {
    let changed: Vec<(PolicyRuleId, u32)> = after
        .iter()
        .filter(|r| {
            before
                .iter()
                .any(|b| b.id == r.id && b.priority != r.priority)
        })
        .map(|r| (r.id, r.priority))
        .collect();
    if !changed.is_empty() {
        tx.set_rule_priorities(policy, &changed).await?;
    }
    Ok(())
}

/// A new policy with its default rule (priority 99, log only).
fn fresh(now: OffsetDateTime) -> EntityRiskPolicy {
    EntityRiskPolicy {
        id: PolicyId::new(),
        policy_type: ENTITY_RISK.into(),
        name: "Entity Risk Policy".into(),
        status: "ACTIVE".into(),
        priority: 1,
        system: true,
        created: now,
        last_updated: now,
        rules: vec![PolicyRule {
            id: PolicyRuleId::new(),
            rule_type: ENTITY_RISK.into(),
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

/// Stores `policy` and its rules unless a policy of its type exists; true when stored.
async fn insert(tx: &mut dyn StoreTx, policy: &EntityRiskPolicy) -> Result<bool, DomainError> {
    if !tx.insert_policy(policy).await? {
        return Ok(false);
    }
    for rule in &policy.rules {
        tx.insert_policy_rule(policy.id, rule).await?;
    }
    Ok(true)
}

/// The policy, created in `tx` (with its default rule) when missing. Of nodes creating it at
/// once, one stores it and the others read it.
pub(super) async fn ensure_in(
    tx: &mut dyn StoreTx,
    now: OffsetDateTime,
) -> Result<EntityRiskPolicy, DomainError> {
    if let Some(p) = load(tx).await? {
        return Ok(p);
    }
    let p = fresh(now);
    if insert(tx, &p).await? {
        return Ok(p);
    }
    load(tx).await?.ok_or_else(|| {
        StoreError::Unavailable("the Entity Risk Policy was stored and then not found".into())
            .into()
    })
}

/// Brings over the interim version's policy document, if there is one, and deletes it. The
/// delete comes first: of two nodes starting at once, only the one whose delete found the
/// document imports it.
async fn import_legacy(tx: &mut dyn StoreTx) -> Result<(), DomainError> {
    let Some(doc) = tx.get_setting(LEGACY_KEY).await? else {
        return Ok(());
    };
    if !tx.delete_setting(LEGACY_KEY).await? {
        return Ok(());
    }
    let mut policy: EntityRiskPolicy = serde_json::from_value(doc)
        .map_err(|e| StoreError::Corrupt(format!("Entity Risk Policy document: {e}")))?;
    // Custom rules 1..n and the default rule last, whatever the document held.
    super::priority::renumber(&mut policy.rules);
    insert(tx, &policy).await?;
    Ok(())
}

/// Creates the Entity Risk Policy with its default rule unless it exists (run on every start;
/// idempotent, also when several nodes start at once), first importing, in the same
/// transaction, what an interim version kept as settings documents (the policy and users'
/// detections), which are then deleted. Answers the policy.
pub async fn ensure(
    store: &dyn Store,
    now: OffsetDateTime,
) -> Result<EntityRiskPolicy, DomainError> {
    let mut tx = store.begin().await?;
    import_legacy(tx.as_mut()).await?;
    crate::risk::import_legacy(tx.as_mut(), now).await?;
    let p = ensure_in(tx.as_mut(), now).await?;
    tx.commit().await?;
    Ok(p)
}
