//! Policies (the Entity Risk Policy) and their ordered rules.
//!
//! `policies_methods!` implements `PoliciesRead` and `PoliciesTx` for a backend's transaction.

/// Implements `PoliciesRead` and `PoliciesTx` for `$tx` (with a `tx` field).
macro_rules! policies_methods {
    ($tx:ident, $dialect:expr) => {
        impl $tx {
            /// The policies `cond` (on `p`, with `$1`) selects, with their rules, in one query.
            async fn policies_where(&mut self, cond: &str, arg: String) -> Result<Vec<ulo_core::policy::EntityRiskPolicy>, StoreError> {
                let sql = format!(
                    "SELECT {}, {} FROM policies p LEFT JOIN policy_rules r ON r.policy_id = p.id WHERE {cond} \
                     ORDER BY p.priority, p.id, r.priority, r.id",
                    crate::tx::policies::POLICY_COLS_P,
                    crate::tx::policies::RULE_COLS_R
                );
                let rows: Vec<crate::tx::policies::PolicyRuleRow> = sqlx::query_as(AssertSqlSafe(sql.as_str()))
                    .bind(arg)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                crate::tx::policies::group(rows)
            }
        }

        #[async_trait::async_trait]
        impl ulo_core::store::PoliciesRead for $tx {
            async fn list_policies(&mut self, policy_type: &str) -> Result<Vec<ulo_core::policy::EntityRiskPolicy>, StoreError> {
                self.policies_where("p.type=$1", policy_type.to_string()).await
            }

            async fn get_policy(&mut self, id: ulo_core::ids::PolicyId) -> Result<Option<ulo_core::policy::EntityRiskPolicy>, StoreError> {
                Ok(self.policies_where("p.id=$1", id.to_string()).await?.into_iter().next())
            }
        }

        #[async_trait::async_trait]
        impl ulo_core::store::PoliciesTx for $tx {
            async fn insert_policy(&mut self, p: &ulo_core::policy::EntityRiskPolicy) -> Result<bool, StoreError> {
                // No conflict target: a taken type (or id) means the policy exists; on PostgreSQL
                // a concurrent insert of the same type waits for the first and then does nothing.
                let r = sqlx::query("INSERT INTO policies (id, type, name, status, priority, system, created, last_updated) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT DO NOTHING")
                    .bind(p.id.to_string())
                    .bind(p.policy_type.clone())
                    .bind(p.name.clone())
                    .bind(p.status.clone())
                    .bind(crate::tx::policies::priority(p.priority)?)
                    .bind(p.system)
                    .bind(to_millis(p.created))
                    .bind(to_millis(p.last_updated))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn lock_policy(&mut self, id: ulo_core::ids::PolicyId) -> Result<bool, StoreError> {
                let lock = if $dialect == crate::filter_sql::Dialect::Postgres { " FOR UPDATE" } else { "" };
                let sql = format!("SELECT id FROM policies WHERE id=$1{lock}");
                let row: Option<(String,)> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(id.to_string()).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                Ok(row.is_some())
            }

            async fn touch_policy(&mut self, id: ulo_core::ids::PolicyId, now: OffsetDateTime) -> Result<(), StoreError> {
                sqlx::query("UPDATE policies SET last_updated=$2 WHERE id=$1")
                    .bind(id.to_string())
                    .bind(to_millis(now))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn insert_policy_rule(&mut self, policy: ulo_core::ids::PolicyId, r: &ulo_core::policy::PolicyRule) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO policy_rules (id, policy_id, type, name, priority, status, mode, system, conditions, actions, created, last_updated) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)")
                    .bind(r.id.to_string())
                    .bind(policy.to_string())
                    .bind(r.rule_type.clone())
                    .bind(r.name.clone())
                    .bind(crate::tx::policies::priority(r.priority)?)
                    .bind(r.status.as_str())
                    .bind(r.mode.as_str())
                    .bind(r.system)
                    .bind(crate::tx::policies::doc(&r.conditions)?)
                    .bind(crate::tx::policies::doc(&r.actions)?)
                    .bind(to_millis(r.created))
                    .bind(to_millis(r.last_updated))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn update_policy_rule(&mut self, policy: ulo_core::ids::PolicyId, r: &ulo_core::policy::PolicyRule) -> Result<bool, StoreError> {
                let done = sqlx::query("UPDATE policy_rules SET type=$3, name=$4, status=$5, mode=$6, system=$7, conditions=$8, actions=$9, last_updated=$10 WHERE policy_id=$1 AND id=$2")
                    .bind(policy.to_string())
                    .bind(r.id.to_string())
                    .bind(r.rule_type.clone())
                    .bind(r.name.clone())
                    .bind(r.status.as_str())
                    .bind(r.mode.as_str())
                    .bind(r.system)
                    .bind(crate::tx::policies::doc(&r.conditions)?)
                    .bind(crate::tx::policies::doc(&r.actions)?)
                    .bind(to_millis(r.last_updated))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_policy_rule(&mut self, policy: ulo_core::ids::PolicyId, rule: ulo_core::ids::PolicyRuleId) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM policy_rules WHERE policy_id=$1 AND id=$2")
                    .bind(policy.to_string())
                    .bind(rule.to_string())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn set_rule_priorities(&mut self, policy: ulo_core::ids::PolicyId, priorities: &[(ulo_core::ids::PolicyRuleId, u32)]) -> Result<(), StoreError> {
                // Two passes keep (policy, priority) unique after every row: first each rule to
                // the negative of its new place (no rule holds a negative one), then to its place.
                for negate in [true, false] {
                    for (rule, p) in priorities {
                        let p = crate::tx::policies::priority(*p)?;
                        sqlx::query("UPDATE policy_rules SET priority=$3 WHERE policy_id=$1 AND id=$2")
                            .bind(policy.to_string())
                            .bind(rule.to_string())
                            .bind(if negate { -p } else { p })
                            .execute(&mut *self.tx)
                            .await
                            .map_err(db_err)?;
                    }
                }
                Ok(())
            }
        }
    };
}

pub(crate) use policies_methods;

use ulo_core::clock::from_millis;
use ulo_core::policy::{EntityRiskPolicy, PolicyRule};
use ulo_core::store::StoreError;

use crate::rows::parse;

/// The columns a [`PolicyRow`] reads, from `policies p`.
pub(crate) const POLICY_COLS_P: &str =
    "p.id, p.type, p.name, p.status, p.priority, p.system, p.created, p.last_updated";

/// The columns a [`RuleRow`] reads, from `policy_rules r` (prefixed, and NULL without a rule).
pub(crate) const RULE_COLS_R: &str = "r.id AS r_id, r.type AS r_type, r.name AS r_name, \
     r.priority AS r_priority, r.status AS r_status, r.mode AS r_mode, r.system AS r_system, \
     r.conditions AS r_conditions, r.actions AS r_actions, r.created AS r_created, \
     r.last_updated AS r_last_updated";

/// A stored policy, without its rules.
#[derive(sqlx::FromRow)]
pub(crate) struct PolicyRow {
    pub(crate) id: String,
    #[sqlx(rename = "type")]
    policy_type: String,
    name: String,
    status: String,
    priority: i32,
    system: bool,
    created: i64,
    last_updated: i64,
}

impl PolicyRow {
    /// The policy with `rules`.
    pub(crate) fn into_policy(
        self,
        rules: Vec<PolicyRule>,
    ) -> Result<EntityRiskPolicy, StoreError> {
        Ok(EntityRiskPolicy {
            id: parse("policy id", &self.id)?,
            policy_type: self.policy_type,
            name: self.name,
            status: self.status,
            priority: unsigned(self.priority)?,
            system: self.system,
            created: from_millis(self.created),
            last_updated: from_millis(self.last_updated),
            rules,
        })
    }
}

/// A policy row joined with one of its rules (none: a policy without rules).
#[derive(sqlx::FromRow)]
pub(crate) struct PolicyRuleRow {
    #[sqlx(flatten)]
    policy: PolicyRow,
    #[sqlx(flatten)]
    rule: RuleRow,
}

/// The policies of joined rows (ordered by policy), each with its rules in the rows' order.
pub(crate) fn group(rows: Vec<PolicyRuleRow>) -> Result<Vec<EntityRiskPolicy>, StoreError> {
    let mut out: Vec<(PolicyRow, Vec<PolicyRule>)> = Vec::new();
    for row in rows {
        if out.last().is_none_or(|(p, _)| p.id != row.policy.id) {
            out.push((row.policy, Vec::new()));
        }
        if let (Some((_, rules)), Some(rule)) = (out.last_mut(), row.rule.into_rule()?) {
            rules.push(rule);
        }
    }
    out.into_iter()
        .map(|(p, rules)| p.into_policy(rules))
        .collect()
}

/// A stored rule, from a LEFT JOIN (every column NULL when the policy has no rule).
#[derive(sqlx::FromRow)]
pub(crate) struct RuleRow {
    r_id: Option<String>,
    r_type: Option<String>,
    r_name: Option<String>,
    r_priority: Option<i32>,
    r_status: Option<String>,
    r_mode: Option<String>,
    r_system: Option<bool>,
    r_conditions: Option<String>,
    r_actions: Option<String>,
    r_created: Option<i64>,
    r_last_updated: Option<i64>,
}

impl RuleRow {
    /// The rule; `None` for the NULL columns of a policy without rules.
    fn into_rule(self) -> Result<Option<PolicyRule>, StoreError> {
        let Some(id) = self.r_id else {
            return Ok(None);
        };
        let missing = |c: &str| StoreError::Corrupt(format!("policy rule {id}: no {c}"));
        Ok(Some(PolicyRule {
            id: parse("policy rule id", &id)?,
            rule_type: self.r_type.ok_or_else(|| missing("type"))?,
            name: self.r_name.ok_or_else(|| missing("name"))?,
            priority: unsigned(self.r_priority.ok_or_else(|| missing("priority"))?)?,
            status: parse(
                "rule status",
                &self.r_status.ok_or_else(|| missing("status"))?,
            )?,
            mode: parse("rule mode", &self.r_mode.ok_or_else(|| missing("mode"))?)?,
            system: self.r_system.ok_or_else(|| missing("system"))?,
            conditions: serde_json::from_str(
                &self.r_conditions.ok_or_else(|| missing("conditions"))?,
            )
            .map_err(|e| StoreError::Corrupt(format!("rule conditions: {e}")))?,
            actions: serde_json::from_str(&self.r_actions.ok_or_else(|| missing("actions"))?)
                .map_err(|e| StoreError::Corrupt(format!("rule actions: {e}")))?,
            created: from_millis(self.r_created.ok_or_else(|| missing("created"))?),
            last_updated: from_millis(self.r_last_updated.ok_or_else(|| missing("last_updated"))?),
        }))
    }
}

/// A priority as stored.
pub(crate) fn priority(p: u32) -> Result<i32, StoreError> {
    i32::try_from(p).map_err(|_| StoreError::Invalid(format!("priority {p} is too large")))
}

/// A stored priority, which is never negative once a change committed.
fn unsigned(p: i32) -> Result<u32, StoreError> {
    u32::try_from(p).map_err(|_| StoreError::Corrupt(format!("priority {p}")))
}

/// A rule's conditions or actions as a JSON document.
pub(crate) fn doc<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(e.to_string()))
}
