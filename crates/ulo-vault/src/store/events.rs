//! Audit-log queries in SQL: a [`EventCondition`] becomes a `WHERE` clause over the indexed
//! columns, so a filtered read of a large log touches only the rows that can match.

use super::EventCondition;
use crate::model::EventColumn;

/// Most values one condition binds; a larger condition is not pushed down (it still filters
/// correctly, in memory).
const MAX_BINDS: usize = 200;

/// The column holding `c`.
fn column(c: EventColumn) -> &'static str {
    match c {
        EventColumn::Id => "id",
        EventColumn::Type => "event_type",
        EventColumn::ActorType => "actor_type",
        EventColumn::ActorId => "actor_id",
        EventColumn::ActorName => "actor_name",
        EventColumn::TargetType => "target_type",
        EventColumn::TargetId => "target_id",
        EventColumn::TargetName => "target_name",
        EventColumn::Jti => "jti",
        EventColumn::Outcome => "outcome",
        EventColumn::Reason => "reason",
    }
}

/// `SELECT … WHERE id > $1 AND <condition> ORDER BY id LIMIT $2` and the condition's values
/// (bound from `$3` on). Only column names from [`column`] reach the SQL text.
pub(crate) fn select_sql(condition: &EventCondition, select: &str) -> (String, Vec<String>) {
    let mut binds = Vec::new();
    let mut clause = String::new();
    write(condition, &mut clause, &mut binds);
    if binds.len() > MAX_BINDS {
        binds.clear();
        clause = "1=1".into();
    }
    (
        format!("{select} WHERE id > $1 AND ({clause}) ORDER BY id LIMIT $2"),
        binds,
    )
}

fn write(c: &EventCondition, sql: &mut String, binds: &mut Vec<String>) {
    match c {
        EventCondition::True => sql.push_str("1=1"),
        // LOWER on both sides: the filter compares strings ignoring ASCII case, and LOWER
        // folds at least that on SQLite and PostgreSQL. The (LOWER(col), id) indexes serve it.
        EventCondition::Eq(col, value) => {
            binds.push(value.clone());
            sql.push_str(&format!(
                "LOWER({}) = LOWER(${})",
                column(*col),
                binds.len() + 2
            ));
        }
        EventCondition::And(parts) | EventCondition::Or(parts) => {
            let joiner = if matches!(c, EventCondition::And(_)) {
                " AND "
            } else {
                " OR "
            };
            if parts.is_empty() {
                sql.push_str("1=1");
                return;
            }
            sql.push('(');
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    sql.push_str(joiner);
                }
                write(p, sql, binds);
            }
            sql.push(')');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_become_bound_sql() {
        let c = EventCondition::And(vec![
            EventCondition::Eq(EventColumn::Jti, "j-1".into()),
            EventCondition::Or(vec![
                EventCondition::Eq(EventColumn::Type, "a".into()),
                EventCondition::Eq(EventColumn::TargetId, "it's".into()),
            ]),
        ]);
        let (sql, binds) = select_sql(&c, "SELECT id FROM audit_events");
        assert_eq!(
            sql,
            "SELECT id FROM audit_events WHERE id > $1 AND ((LOWER(jti) = LOWER($3) AND \
             (LOWER(event_type) = LOWER($4) OR LOWER(target_id) = LOWER($5)))) ORDER BY id LIMIT $2"
        );
        assert_eq!(binds, ["j-1", "a", "it's"]);
        let (sql, binds) = select_sql(&EventCondition::True, "SELECT id FROM audit_events");
        assert!(sql.contains("AND (1=1)"), "{sql}");
        assert!(binds.is_empty());
        let huge = EventCondition::Or(
            (0..=MAX_BINDS)
                .map(|i| EventCondition::Eq(EventColumn::Jti, i.to_string()))
                .collect(),
        );
        let (sql, binds) = select_sql(&huge, "SELECT id FROM audit_events");
        assert!(sql.contains("AND (1=1)") && binds.is_empty(), "{sql}");
    }
}
