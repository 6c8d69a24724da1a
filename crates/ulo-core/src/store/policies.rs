//! Policies (the Entity Risk Policy, one per org) and their ordered rules.
//!
//! Rule priorities are unique within a policy. Changing the order is done under
//! [`PoliciesTx::lock_policy`]: the caller reads the rules, computes the new order and writes
//! it with [`PoliciesTx::set_rule_priorities`], so concurrent changes cannot interleave.

use super::StoreError;
use crate::ids::{PolicyId, PolicyRuleId};
use crate::policy::{EntityRiskPolicy, PolicyRule};
use async_trait::async_trait;
use time::OffsetDateTime;

/// What a read handle or a transaction can read of this area.
#[async_trait]
pub trait PoliciesRead: Send {
    /// The policies of `policy_type` (e.g. `ENTITY_RISK`) with their rules in priority order.
    async fn list_policies(
        &mut self,
        policy_type: &str,
    ) -> Result<Vec<EntityRiskPolicy>, StoreError>;
    /// A policy by id, with its rules in priority order.
    async fn get_policy(&mut self, id: PolicyId) -> Result<Option<EntityRiskPolicy>, StoreError>;
}

/// What a transaction can change in this area (a part of [`StoreTx`](super::StoreTx)).
#[async_trait]
pub trait PoliciesTx: PoliciesRead {
    /// Stores a new policy (its row only, not its rules) unless one of its type exists: true
    /// when stored. Concurrent callers on any node: exactly one stores it.
    async fn insert_policy(&mut self, policy: &EntityRiskPolicy) -> Result<bool, StoreError>;
    /// Locks the policy's row until the transaction ends (PostgreSQL `FOR UPDATE`; SQLite's
    /// single writer serializes anyway); false when there is no such policy.
    async fn lock_policy(&mut self, id: PolicyId) -> Result<bool, StoreError>;
    /// Sets when the policy last changed.
    async fn touch_policy(&mut self, id: PolicyId, now: OffsetDateTime) -> Result<(), StoreError>;
    /// Stores a new rule of `policy`; [`StoreError::Unique`] when its priority is taken.
    async fn insert_policy_rule(
        &mut self,
        policy: PolicyId,
        rule: &PolicyRule,
    ) -> Result<(), StoreError>;
    /// Replaces a rule's fields except its priority; false when there is no such rule.
    async fn update_policy_rule(
        &mut self,
        policy: PolicyId,
        rule: &PolicyRule,
    ) -> Result<bool, StoreError>;
    /// Deletes a rule; false when there was none.
    async fn delete_policy_rule(
        &mut self,
        policy: PolicyId,
        rule: PolicyRuleId,
    ) -> Result<bool, StoreError>;
    /// Gives rules of `policy` new priorities at once (a permutation of their places: no two
    /// rules end up sharing one, whatever order the rows are written in).
    async fn set_rule_priorities(
        &mut self,
        policy: PolicyId,
        priorities: &[(PolicyRuleId, u32)],
    ) -> Result<(), StoreError>;
}
