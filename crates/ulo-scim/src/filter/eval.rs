//! In-memory evaluation of a filter against a SCIM JSON document.

use serde_json::{Number, Value};

use super::{AttrPath, CORE_SCHEMA_PREFIX, CompareOp, Filter, FilterValue};

/// Evaluates a filter against a JSON document, with the same semantics as the SQL compiler:
/// strings compare case-insensitively (ASCII) for `eq ne co sw ew` and byte-wise for `gt ge lt le`;
/// literals only match JSON values of their own type; an array on the path matches if any element
/// matches, while `pr` and `eq null` look at an array itself; `ne` is `not eq` (so a missing attribute
/// is "not equal"); `eq null` means "no non-null value"; `pr` means not null, `""`, `[]` or `{}`.
pub fn matches(filter: &Filter, doc: &Value) -> bool {
    matches_with(filter, doc, &|_| false)
}

/// [`matches`], with string comparisons exact (case-sensitive) for the attributes `case_exact`
/// names — SCIM's `caseExact` attributes such as `id` and `externalId` (RFC 7643 §2.2).
pub fn matches_with(filter: &Filter, doc: &Value, case_exact: &dyn Fn(&AttrPath) -> bool) -> bool {
    match filter {
        Filter::And(a, b) => matches_with(a, doc, case_exact) && matches_with(b, doc, case_exact),
        Filter::Or(a, b) => matches_with(a, doc, case_exact) || matches_with(b, doc, case_exact),
        Filter::Not(inner) => !matches_with(inner, doc, case_exact),
        Filter::Present(path) => values_at(doc, path).into_iter().any(is_present),
        Filter::Compare { path, op, value } => compare_matches(doc, path, *op, value, case_exact(path)),
        Filter::ValuePath { attr, filter } => values_at(doc, attr).into_iter().any(|v| {
            matches!(v, Value::Array(items) if items.iter().any(|item| matches_with(filter, item, case_exact)))
        }),
    }
}

/// The object keys an attribute path addresses in a SCIM JSON document: attributes of core schemas
/// sit at the top level, extension attributes under their schema URN.
fn json_keys(path: &AttrPath) -> Vec<&str> {
    let mut keys = Vec::with_capacity(path.segments.len() + 1);
    if let Some(uri) = &path.uri {
        let is_core = uri.len() >= CORE_SCHEMA_PREFIX.len()
            && uri[..CORE_SCHEMA_PREFIX.len()].eq_ignore_ascii_case(CORE_SCHEMA_PREFIX);
        if !is_core {
            keys.push(uri.as_str());
        }
    }
    keys.extend(path.segments.iter().map(String::as_str));
    keys
}

/// The values at `path`, fanning out over arrays met on the way (the last value is not fanned out).
fn values_at<'v>(doc: &'v Value, path: &AttrPath) -> Vec<&'v Value> {
    let mut current = vec![doc];
    for key in json_keys(path) {
        let mut next = Vec::new();
        for value in current {
            match value {
                Value::Object(map) => next.extend(map.get(key)),
                Value::Array(items) => next.extend(
                    items
                        .iter()
                        .filter_map(|item| item.as_object().and_then(|map| map.get(key))),
                ),
                _ => {}
            }
        }
        current = next;
    }
    current
}

/// `pr`: not null, not an empty string, array or object.
fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

fn compare_matches(
    doc: &Value,
    path: &AttrPath,
    op: CompareOp,
    literal: &FilterValue,
    exact: bool,
) -> bool {
    match (op, literal) {
        (CompareOp::Ne, _) => !compare_matches(doc, path, CompareOp::Eq, literal, exact),
        (CompareOp::Eq, FilterValue::Null) => values_at(doc, path).iter().all(|v| v.is_null()),
        _ => values_at(doc, path).into_iter().any(|value| match value {
            Value::Array(items) => items
                .iter()
                .any(|item| compare_value(item, op, literal, exact)),
            other => compare_value(other, op, literal, exact),
        }),
    }
}

fn compare_value(value: &Value, op: CompareOp, literal: &FilterValue, exact: bool) -> bool {
    match (value, literal) {
        (Value::String(s), FilterValue::String(lit)) if exact => compare_str_exact(s, op, lit),
        (Value::String(s), FilterValue::String(lit)) => compare_str(s, op, lit),
        (Value::Number(n), FilterValue::Number(lit)) => order_holds(op, compare_numbers(n, lit)),
        (Value::Bool(b), FilterValue::Bool(lit)) => op == CompareOp::Eq && b == lit,
        _ => false,
    }
}

fn compare_str_exact(value: &str, op: CompareOp, literal: &str) -> bool {
    match op {
        CompareOp::Eq => value == literal,
        CompareOp::Ne => value != literal,
        CompareOp::Co => value.contains(literal),
        CompareOp::Sw => value.starts_with(literal),
        CompareOp::Ew => value.ends_with(literal),
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
            order_holds(op, Some(value.cmp(literal)))
        }
    }
}

fn compare_str(value: &str, op: CompareOp, literal: &str) -> bool {
    let lower = || (value.to_ascii_lowercase(), literal.to_ascii_lowercase());
    match op {
        CompareOp::Eq => value.eq_ignore_ascii_case(literal),
        CompareOp::Ne => !value.eq_ignore_ascii_case(literal),
        CompareOp::Co => {
            let (v, l) = lower();
            v.contains(&l)
        }
        CompareOp::Sw => {
            let (v, l) = lower();
            v.starts_with(&l)
        }
        CompareOp::Ew => {
            let (v, l) = lower();
            v.ends_with(&l)
        }
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
            order_holds(op, Some(value.cmp(literal)))
        }
    }
}

fn compare_numbers(a: &Number, b: &Number) -> Option<std::cmp::Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

fn order_holds(op: CompareOp, ordering: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let Some(ordering) = ordering else {
        return false;
    };
    match op {
        CompareOp::Eq => ordering == Equal,
        CompareOp::Ne => ordering != Equal,
        CompareOp::Gt => ordering == Greater,
        CompareOp::Ge => ordering != Less,
        CompareOp::Lt => ordering == Less,
        CompareOp::Le => ordering != Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}
