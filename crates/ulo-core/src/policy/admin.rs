//! The Entity Risk Policy as admins read and change it, and its dry run.

use super::evaluate::{first_match, logout_request};
use super::model::{ActionKind, EntityRiskPolicy, PolicyRule, RuleInput, RuleStatus, Simulation};
use super::priority::{MAX_RULES, place, renumber};
use super::{RuleMode, stored, validate::validate};
use crate::clock::Clock;
use crate::context::{Context, require_read, require_write};
use crate::directory::load_user;
use crate::error::DomainError;
use crate::ids::{GroupId, PolicyId, PolicyRuleId};
use crate::log::catalogue as events;
use crate::log::{LogEvent, Target};
use crate::logout::{Deadlines, Logouts};
use crate::risk::{DetectionType, RiskLevel};
use crate::store::{Store, StoreTx};

/// Why the default rule cannot change.
const DEFAULT_RULE_FIXED: &str = "The default rule cannot be changed, deactivated or deleted";

/// The Entity Risk Policy, as admins read and change it.
pub struct Policies<'a> {
    /// Where everything is kept.
    pub store: &'a dyn Store,
    /// What time it is.
    pub clock: &'a dyn Clock,
    /// Deadlines of the logout a simulation previews.
    pub deadlines: Deadlines,
}

/// Refuses a credential that may only log people out (policy is configuration).
fn require_config(ctx: &Context) -> Result<(), DomainError> {
    require_write(ctx)?;
    if ctx.authority != crate::context::Authority::Full {
        return Err(DomainError::Forbidden(
            "You do not have permission to perform the requested action: this credential cannot change policies".into(),
        ));
    }
    Ok(())
}

impl Policies<'_> {
    /// The policies of `policy_type` (only ENTITY_RISK exists). Needs an admin role.
    pub async fn list(
        &self,
        ctx: &Context,
        policy_type: &str,
    ) -> Result<Vec<EntityRiskPolicy>, DomainError> {
        require_read(ctx)?;
        if policy_type != "ENTITY_RISK" {
            return Err(DomainError::invalid(
                "Unknown policy type",
                format!("type: {policy_type:?} is not a policy type ulo has; use ENTITY_RISK"),
            ));
        }
        let mut tx = self.store.read().await?;
        Ok(tx.list_policies(policy_type).await?)
    }

    /// The policy by id. Needs an admin role.
    pub async fn get(&self, ctx: &Context, id: &str) -> Result<EntityRiskPolicy, DomainError> {
        require_read(ctx)?;
        let mut tx = self.store.read().await?;
        stored::load_by_id(tx.as_mut(), id)
            .await?
            .ok_or_else(|| DomainError::not_found("policy", id))
    }

    /// One rule. Needs an admin role.
    pub async fn get_rule(
        &self,
        ctx: &Context,
        id: &str,
        rule: &str,
    ) -> Result<PolicyRule, DomainError> {
        self.get(ctx, id)
            .await?
            .rules
            .into_iter()
            .find(|r| r.id.to_string() == rule)
            .ok_or_else(|| DomainError::not_found("policy rule", rule))
    }

    /// Opens a transaction on the policy `id` for a change, its row locked so that changes
    /// (and their priority shifts) never interleave. Needs SUPER_ADMIN and a full credential.
    async fn change(
        &self,
        ctx: &Context,
        id: &str,
    ) -> Result<(Box<dyn StoreTx>, EntityRiskPolicy), DomainError> {
        require_config(ctx)?;
        let mut tx = self.store.begin().await?;
        let not_found = || DomainError::not_found("policy", id);
        let pid = id.parse::<PolicyId>().map_err(|_| not_found())?;
        if !tx.lock_policy(pid).await? {
            return Err(not_found());
        }
        let policy = tx.get_policy(pid).await?.ok_or_else(not_found)?;
        Ok((tx, policy))
    }

    /// Records that the policy changed, logs `what` about `rule` and commits.
    async fn finish(
        &self,
        ctx: &Context,
        mut tx: Box<dyn StoreTx>,
        policy: EntityRiskPolicy,
        rule: &PolicyRule,
        what: &str,
    ) -> Result<(), DomainError> {
        let now = self.clock.now();
        tx.touch_policy(policy.id, now).await?;
        let ev = LogEvent::build(
            ctx,
            events::risk::POLICY_RULE_UPDATE,
            now,
            format!("Entity Risk Policy rule {:?} {what}", rule.name),
        )
        .target(Target::new("PolicyRule", rule.id, &rule.name, &rule.name))
        .debug("policy", policy.id.to_string())
        .debug("rule", rule.id.to_string())
        .debug("change", what)
        .debug("priority", rule.priority)
        .debug("status", rule.status.as_str())
        .finish();
        tx.append_event(&ev).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a rule at its priority (the others shift down). Needs SUPER_ADMIN.
    pub async fn create_rule(
        &self,
        ctx: &Context,
        id: &str,
        input: RuleInput,
    ) -> Result<PolicyRule, DomainError> {
        let (mut tx, mut policy) = self.change(ctx, id).await?;
        validate(tx.as_mut(), &input).await?;
        if policy.rules.iter().filter(|r| !r.system).count() >= MAX_RULES {
            return Err(DomainError::InvalidState(format!(
                "The Entity Risk Policy holds at most {MAX_RULES} rules"
            )));
        }
        let now = self.clock.now();
        let rule = PolicyRule {
            id: PolicyRuleId::new(),
            rule_type: "ENTITY_RISK".into(),
            name: input.name,
            priority: u32::MAX,
            status: input.status.unwrap_or(RuleStatus::Active),
            mode: input.mode.unwrap_or(RuleMode::Enforce),
            system: false,
            conditions: input.conditions,
            actions: input.actions,
            created: now,
            last_updated: now,
        };
        let rid = rule.id;
        let before = policy.rules.clone();
        policy.rules.push(rule);
        place(&mut policy.rules, rid, input.priority);
        let rule = find(&policy, rid)?;
        // The others make room first; then the new rule takes its place.
        stored::save_order(tx.as_mut(), policy.id, &before, &policy.rules).await?;
        tx.insert_policy_rule(policy.id, &rule).await?;
        self.finish(ctx, tx, policy, &rule, "created").await?;
        Ok(rule)
    }

    /// Replaces a rule (its priority moves the others). The default rule refuses. Needs
    /// SUPER_ADMIN.
    pub async fn replace_rule(
        &self,
        ctx: &Context,
        id: &str,
        rule_id: &str,
        input: RuleInput,
    ) -> Result<PolicyRule, DomainError> {
        let (mut tx, mut policy) = self.change(ctx, id).await?;
        let rid = custom_rule(&policy, rule_id)?;
        validate(tx.as_mut(), &input).await?;
        let now = self.clock.now();
        let before = policy.rules.clone();
        if let Some(r) = policy.rules.iter_mut().find(|r| r.id == rid) {
            r.name = input.name;
            r.status = input.status.unwrap_or(r.status);
            r.mode = input.mode.unwrap_or(r.mode);
            r.conditions = input.conditions;
            r.actions = input.actions;
            r.last_updated = now;
        }
        if input.priority.is_some() {
            place(&mut policy.rules, rid, input.priority);
        }
        let rule = find(&policy, rid)?;
        tx.update_policy_rule(policy.id, &rule).await?;
        stored::save_order(tx.as_mut(), policy.id, &before, &policy.rules).await?;
        self.finish(ctx, tx, policy, &rule, "changed").await?;
        Ok(rule)
    }

    /// Deletes a rule (the ones after it move up). The default rule refuses. Needs SUPER_ADMIN.
    pub async fn delete_rule(
        &self,
        ctx: &Context,
        id: &str,
        rule_id: &str,
    ) -> Result<(), DomainError> {
        let (mut tx, mut policy) = self.change(ctx, id).await?;
        let rid = custom_rule(&policy, rule_id)?;
        let rule = find(&policy, rid)?;
        tx.delete_policy_rule(policy.id, rid).await?;
        let before = policy.rules.clone();
        policy.rules.retain(|r| r.id != rid);
        renumber(&mut policy.rules);
        stored::save_order(tx.as_mut(), policy.id, &before, &policy.rules).await?;
        self.finish(ctx, tx, policy, &rule, "deleted").await
    }

    /// Activates or deactivates a rule. The default rule refuses. Needs SUPER_ADMIN.
    pub async fn set_status(
        &self,
        ctx: &Context,
        id: &str,
        rule_id: &str,
        status: RuleStatus,
    ) -> Result<PolicyRule, DomainError> {
        let (mut tx, mut policy) = self.change(ctx, id).await?;
        let rid = custom_rule(&policy, rule_id)?;
        let now = self.clock.now();
        if let Some(r) = policy.rules.iter_mut().find(|r| r.id == rid) {
            r.status = status;
            r.last_updated = now;
        }
        let rule = find(&policy, rid)?;
        tx.update_policy_rule(policy.id, &rule).await?;
        let what = match status {
            RuleStatus::Active => "activated",
            RuleStatus::Inactive => "deactivated",
        };
        self.finish(ctx, tx, policy, &rule, what).await?;
        Ok(rule)
    }

    /// Which rule a `detection` at `level` for the user `user_key` would match, and the logout
    /// its TERMINATE_ALL_SESSIONS would start (a dry-run receipt); changes nothing. Needs
    /// SUPER_ADMIN, like a logout preview (it reveals which apps the user reaches).
    pub async fn simulate(
        &self,
        ctx: &Context,
        id: &str,
        user_key: &str,
        detection: DetectionType,
        level: RiskLevel,
    ) -> Result<Simulation, DomainError> {
        require_write(ctx)?;
        let policy = self.get(ctx, id).await?;
        let mut tx = self.store.read().await?;
        let user = load_user(tx.as_mut(), user_key).await?;
        let groups: Vec<GroupId> = tx
            .list_user_groups(user.id)
            .await?
            .into_iter()
            .map(|g| g.id)
            .collect();
        drop(tx);
        let rule = first_match(&policy, user.id, &groups, detection, level)
            .cloned()
            .ok_or_else(|| {
                DomainError::InvalidState("No rule matches (the default rule is missing)".into())
            })?;
        let mut logout = None;
        if rule.mode == RuleMode::Enforce
            && let Some(action) = rule
                .actions
                .entity_risk
                .actions
                .iter()
                .find(|a| a.action == ActionKind::TerminateAllSessions)
        {
            let request = logout_request(&rule, action)?;
            let logouts = Logouts {
                store: self.store,
                clock: self.clock,
                deadlines: self.deadlines,
            };
            logout = Some(logouts.preview(ctx, &user.id.to_string(), &request).await?);
        }
        Ok(Simulation { rule, logout })
    }
}

/// A rule of `policy` by id.
fn find(policy: &EntityRiskPolicy, id: PolicyRuleId) -> Result<PolicyRule, DomainError> {
    policy
        .rules
        .iter()
        .find(|r| r.id == id)
        .cloned()
        .ok_or_else(|| DomainError::not_found("policy rule", id))
}

/// The id of a rule an admin may change: it exists and is not the default rule.
fn custom_rule(policy: &EntityRiskPolicy, rule: &str) -> Result<PolicyRuleId, DomainError> {
    let r = policy
        .rules
        .iter()
        .find(|r| r.id.to_string() == rule)
        .ok_or_else(|| DomainError::not_found("policy rule", rule))?;
    if r.system {
        return Err(DomainError::InvalidState(DEFAULT_RULE_FIXED.into()));
    }
    Ok(r.id)
}
