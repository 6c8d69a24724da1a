//! The vault's audit log: event building, the JSON form the API answers, and the filter
//! (SCIM filter syntax over that JSON form, e.g. `jti eq "…" and type sw "account."`).

use serde_json::{Value, json};
use time::OffsetDateTime;
use ulo_core::clock::rfc3339;
use ulo_core::filter::{self, AttrPath, CompareOp, Filter, FilterValue};

use crate::error::VaultError;
use crate::model::{
    Account, Actor, AuditEvent, AuditTarget, EventColumn, ManagedApp, Person, new_id,
};
use crate::store::EventCondition;

/// Attributes a filter may name (`detail.*` reaches into the details).
const FILTERABLE: &[&str] = &[
    "id",
    "published",
    "type",
    "actor.type",
    "actor.id",
    "actor.displayName",
    "target.type",
    "target.id",
    "target.displayName",
    "jti",
    "outcome",
    "reason",
];

/// Starts an event of `event_type` by `actor` at `now`.
pub fn event(event_type: &str, actor: &Actor, now: OffsetDateTime) -> AuditEvent {
    AuditEvent {
        id: new_id(),
        published: now,
        event_type: event_type.into(),
        actor: actor.clone(),
        target: None,
        jti: None,
        outcome: "SUCCESS".into(),
        reason: None,
        detail: json!({}),
    }
}

impl AuditEvent {
    /// About `target`.
    pub fn target(mut self, target: AuditTarget) -> Self {
        self.target = Some(target);
        self
    }

    /// Part of the Universal Logout request `jti`.
    pub fn jti(mut self, jti: Option<&str>) -> Self {
        self.jti = jti.map(str::to_string);
        self
    }

    /// It failed, because of `reason`.
    pub fn failure(mut self, reason: impl Into<String>) -> Self {
        self.outcome = "FAILURE".into();
        self.reason = Some(reason.into());
        self
    }

    /// Adds the detail `key` (never a secret).
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        if let Value::Object(m) = &mut self.detail {
            m.insert(key.into(), value.into());
        }
        self
    }

    /// The JSON form the API answers and filters run over.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "published": rfc3339(self.published),
            "type": self.event_type,
            "actor": self.actor,
            "target": self.target,
            "jti": self.jti,
            "outcome": self.outcome,
            "reason": self.reason,
            "detail": self.detail,
        })
    }
}

/// The audit target for a person.
pub fn person_target(p: &Person) -> AuditTarget {
    AuditTarget {
        kind: "person".into(),
        id: p.id.clone(),
        display_name: p.user_name.clone(),
    }
}

/// The audit target for an account (named `username @ app`).
pub fn account_target(a: &Account, app: Option<&ManagedApp>) -> AuditTarget {
    AuditTarget {
        kind: "account".into(),
        id: a.id.clone(),
        display_name: match app {
            Some(app) => format!("{} @ {}", a.username, app.name),
            None => a.username.clone(),
        },
    }
}

/// The audit target for a managed app.
pub fn app_target(a: &ManagedApp) -> AuditTarget {
    AuditTarget {
        kind: "app".into(),
        id: a.id.clone(),
        display_name: a.name.clone(),
    }
}

/// A parsed, checked audit filter.
#[derive(Debug, Clone)]
pub struct AuditFilter(Filter);

impl AuditFilter {
    /// Parses `input`; a syntax error or an unknown attribute is a 400 naming the problem.
    pub fn parse(input: &str) -> Result<Self, VaultError> {
        let f = filter::parse(input)
            .map_err(|e| VaultError::invalid(format!("invalid filter: {e}")))?;
        check_paths(&f)?;
        Ok(AuditFilter(f))
    }

    /// Whether `event` matches.
    pub fn matches(&self, event: &AuditEvent) -> bool {
        filter::matches(&self.0, &event.to_json())
    }

    /// What the store can check in SQL: a condition every matching event satisfies (string
    /// equality on a column, under `and`/`or`; the rest of the filter becomes "any event").
    pub fn condition(&self) -> EventCondition {
        condition(&self.0, 0)
    }
}

/// The column an attribute path names.
fn event_column(p: &AttrPath) -> Option<EventColumn> {
    if p.uri.is_some() {
        return None;
    }
    Some(match path_name(p).as_str() {
        "id" => EventColumn::Id,
        "type" => EventColumn::Type,
        "actor.type" => EventColumn::ActorType,
        "actor.id" => EventColumn::ActorId,
        "actor.displayName" => EventColumn::ActorName,
        "target.type" => EventColumn::TargetType,
        "target.id" => EventColumn::TargetId,
        "target.displayName" => EventColumn::TargetName,
        "jti" => EventColumn::Jti,
        "outcome" => EventColumn::Outcome,
        "reason" => EventColumn::Reason,
        _ => return None,
    })
}

/// Deeper nesting is not pushed down (the filter still applies, in memory).
const MAX_CONDITION_DEPTH: usize = 16;

fn condition(f: &Filter, depth: usize) -> EventCondition {
    if depth > MAX_CONDITION_DEPTH {
        return EventCondition::True;
    }
    match f {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: FilterValue::String(s),
        } => event_column(path).map_or(EventCondition::True, |c| EventCondition::Eq(c, s.clone())),
        Filter::And(a, b) => {
            let mut parts = Vec::new();
            for side in [condition(a, depth + 1), condition(b, depth + 1)] {
                match side {
                    EventCondition::True => {}
                    EventCondition::And(inner) => parts.extend(inner),
                    other => parts.push(other),
                }
            }
            match parts.len() {
                0 => EventCondition::True,
                1 => parts.remove(0),
                _ => EventCondition::And(parts),
            }
        }
        Filter::Or(a, b) => {
            let mut parts = Vec::new();
            for side in [condition(a, depth + 1), condition(b, depth + 1)] {
                match side {
                    // One side admits any event, so the disjunction does too.
                    EventCondition::True => return EventCondition::True,
                    EventCondition::Or(inner) => parts.extend(inner),
                    other => parts.push(other),
                }
            }
            EventCondition::Or(parts)
        }
        // `not`, `pr`, other operators, non-string values and `detail.*`: any event may match.
        _ => EventCondition::True,
    }
}

fn path_name(p: &AttrPath) -> String {
    p.segments.join(".")
}

fn check_path(p: &AttrPath) -> Result<(), VaultError> {
    let name = path_name(p);
    if p.uri.is_some() {
        return Err(VaultError::invalid(format!(
            "invalid filter: audit events have no schema URN attributes ({name})"
        )));
    }
    if FILTERABLE.contains(&name.as_str()) || name.starts_with("detail.") {
        return Ok(());
    }
    Err(VaultError::invalid(format!(
        "invalid filter: unknown attribute {name:?}; use one of {}, or detail.<name>",
        FILTERABLE.join(", ")
    )))
}

fn check_paths(f: &Filter) -> Result<(), VaultError> {
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => {
            check_paths(a)?;
            check_paths(b)
        }
        Filter::Not(a) => check_paths(a),
        Filter::Compare { path, .. } | Filter::Present(path) => check_path(path),
        Filter::ValuePath { attr, .. } => Err(VaultError::invalid(format!(
            "invalid filter: {} is not multi-valued; [..] filters do not apply",
            path_name(attr)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_match_and_bad_ones_say_why() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let e = event("account.rotate", &Actor::system(), now)
            .jti(Some("abc-1"))
            .detail("attempt", 2);
        let f = AuditFilter::parse(r#"jti eq "abc-1" and type sw "account.""#).unwrap();
        assert!(f.matches(&e));
        assert!(!AuditFilter::parse(r#"jti eq "other""#).unwrap().matches(&e));
        assert!(
            AuditFilter::parse("detail.attempt ge 2")
                .unwrap()
                .matches(&e)
        );
        assert!(
            AuditFilter::parse(r#"actor.type eq "system""#)
                .unwrap()
                .matches(&e)
        );
        let err = AuditFilter::parse(r#"colour eq "red""#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown attribute \"colour\""), "{err}");
        let err = AuditFilter::parse(r#"jti eq"#).unwrap_err().to_string();
        assert!(err.starts_with("invalid filter"), "{err}");
    }

    fn condition_of(f: &str) -> EventCondition {
        AuditFilter::parse(f).unwrap().condition()
    }

    #[test]
    fn filters_push_down_the_equalities_every_match_satisfies() {
        use EventCondition::*;
        let jti = |v: &str| Eq(EventColumn::Jti, v.into());
        assert_eq!(condition_of(r#"jti eq "J1""#), jti("J1"));
        assert_eq!(
            condition_of(r#"jti eq "a" and type sw "account." and target.id eq "t""#),
            And(vec![jti("a"), Eq(EventColumn::TargetId, "t".into())])
        );
        assert_eq!(
            condition_of(r#"jti eq "a" or (jti eq "b" or actor.displayName eq "Ada")"#),
            Or(vec![
                jti("a"),
                jti("b"),
                Eq(EventColumn::ActorName, "Ada".into())
            ])
        );
        // Whatever SQL cannot decide admits every event; the filter then decides.
        for f in [
            r#"jti eq "a" or detail.attempt ge 2"#,
            r#"not (jti eq "a")"#,
            r#"jti ne "a""#,
            "jti pr",
            "jti eq null",
            r#"published gt "2020-01-01T00:00:00Z""#,
        ] {
            assert_eq!(condition_of(f), True, "{f}");
        }
    }
}
