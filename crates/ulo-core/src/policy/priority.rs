//! Rule order, like Okta: placing a rule at a taken priority moves it and the rules after it
//! down one; custom rules are numbered 1, 2, … without gaps; the default rule stays last (99).

use super::model::{DEFAULT_PRIORITY, PolicyRule};
use crate::ids::PolicyRuleId;

/// The most custom rules a policy holds (their priorities stay below the default rule's).
pub const MAX_RULES: usize = (DEFAULT_PRIORITY - 1) as usize;

/// Places `id` (already in `rules`) at `priority` (1-based; past the end = last) and renumbers
/// the custom rules 1..n in order.
pub(super) fn place(rules: &mut [PolicyRule], id: PolicyRuleId, priority: Option<u32>) {
    let mut custom: Vec<PolicyRule> = rules.iter().filter(|r| !r.system).cloned().collect();
    custom.sort_by_key(|r| (r.priority, r.created));
    let Some(at) = custom.iter().position(|r| r.id == id) else {
        return;
    };
    let moving = custom.remove(at);
    let index = match priority {
        Some(p) => (p.max(1) as usize - 1).min(custom.len()),
        None => custom.len(),
    };
    custom.insert(index, moving);
    for (i, r) in custom.iter().enumerate() {
        if let Some(slot) = rules.iter_mut().find(|x| x.id == r.id) {
            slot.priority = i as u32 + 1;
        }
    }
    rules.sort_by_key(|r| (r.system, r.priority));
}

/// Renumbers the custom rules 1..n in their current order (after a delete).
pub(super) fn renumber(rules: &mut [PolicyRule]) {
    rules.sort_by_key(|r| (r.system, r.priority));
    for (i, r) in rules.iter_mut().filter(|r| !r.system).enumerate() {
        r.priority = i as u32 + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::model::*;
    use time::OffsetDateTime;

    fn rule(name: &str, priority: u32, system: bool) -> PolicyRule {
        PolicyRule {
            id: PolicyRuleId::new(),
            rule_type: "ENTITY_RISK".into(),
            name: name.into(),
            priority,
            status: RuleStatus::Active,
            mode: RuleMode::Enforce,
            system,
            conditions: RuleConditions::default(),
            actions: RuleActions::default(),
            created: OffsetDateTime::UNIX_EPOCH,
            last_updated: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn inserting_at_a_taken_priority_shifts_the_others_down() {
        let mut rules = vec![
            rule("a", 1, false),
            rule("b", 2, false),
            rule("d", 99, true),
        ];
        let mut c = rule("c", 1, false);
        c.priority = 1000;
        let id = c.id;
        rules.push(c);
        place(&mut rules, id, Some(1));
        let names: Vec<(&str, u32)> = rules
            .iter()
            .map(|r| (r.name.as_str(), r.priority))
            .collect();
        assert_eq!(names, vec![("c", 1), ("a", 2), ("b", 3), ("d", 99)]);
        place(&mut rules, id, Some(50));
        let names: Vec<(&str, u32)> = rules
            .iter()
            .map(|r| (r.name.as_str(), r.priority))
            .collect();
        assert_eq!(names, vec![("a", 1), ("b", 2), ("c", 3), ("d", 99)]);
        rules.retain(|r| r.name != "a");
        renumber(&mut rules);
        let names: Vec<(&str, u32)> = rules
            .iter()
            .map(|r| (r.name.as_str(), r.priority))
            .collect();
        assert_eq!(names, vec![("b", 1), ("c", 2), ("d", 99)]);
    }
}
